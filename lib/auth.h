/* auth: AWS Signature Version 4, Microsoft identity platform tokens, GitHub App JWTs (OpenSSL) */
#ifndef MALLCOP_AUTH_H
#define MALLCOP_AUTH_H
#include <stddef.h>
#include "http.h"

/*
 * The value of the Authorization header for one request, or NULL when the URL cannot be parsed.
 * headers: "Name: value", NULL-terminated, the ones the request will carry (host and x-amz-date
 * are added when absent). *out_headers: the headers the caller must send as well ("X-Amz-Date",
 * "X-Amz-Security-Token" with a session token, "X-Amz-Content-Sha256" for s3), NULL-terminated,
 * freed with auth_headers_free. amz_date: YYYYMMDDTHHMMSSZ.
 */
char *auth_sigv4(const char *method, const char *url, const char *const *headers,
    const char *body, size_t body_len, const char *region, const char *service,
    const char *access_key, const char *secret_key, const char *session_token,
    const char *amz_date, char ***out_headers);
void auth_headers_free(char **headers);

/*
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), else the profile AWS_PROFILE
 * ("default") of AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials). *token may be NULL.
 * 0, or -1 with *err set.
 */
int auth_aws_credentials(char **access, char **secret, char **token, char **err);

/*
 * An access token of the client credentials grant from login (https://login.microsoftonline.com),
 * kept in memory until 60 s before it expires. NULL with *err set (naming the tenant and the
 * token endpoint, never the secret) on failure; *denied is set when the service refused the
 * credentials (HTTP 400, 401, 403), not when it failed or answered something else than a token.
 */
char *auth_ms_token(http_client *login, const char *tenant, const char *client_id,
    const char *client_secret, const char *scope, int *denied, char **err);

/* an Azure service principal, from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET */
typedef struct auth_azure {
	const char *tenant, *client, *secret;
} auth_azure;
/* the three variables; exit 1 naming the one that is not set, for who ("azure") */
void auth_azure_env(auth_azure *a, const char *who);
/*
 * Its token for scope, from login, sent as "Authorization: Bearer" by api from now on. 0, or
 * -1 after a message naming what to check (never the secret).
 */
int auth_azure_bearer(http_client *login, const auth_azure *a, const char *scope,
    http_client *api, const char *who);

/* a GitHub App JWT (RS256, iat now-60, exp now+540), or NULL with *err set */
char *auth_github_jwt(const char *app_id, const char *pem_private_key, long now, char **err);

/*
 * A GitHub App installation access token from api (the REST API's base, no headers of its
 * own): the app's JWT, the installation's id (installation_id NULL or "": looked up from org,
 * GET /orgs/ORG/installation), then POST /app/installations/ID/access_tokens. NULL with *err
 * set (naming the app, the installation and the permission to check; never the key or a token)
 * on failure; *status the HTTP status of the failed request (0 when none).
 */
char *auth_github_app_token(http_client *api, const char *app_id, const char *pem_private_key,
    const char *installation_id, const char *org, long *status, char **err);
#endif
