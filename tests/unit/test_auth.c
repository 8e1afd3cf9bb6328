/* auth: SigV4 against AWS's published vectors, credentials, Microsoft tokens, GitHub App JWTs */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth.h"
#include "t.h"

#define MOCK_ROOT "/tmp/test_auth.XXXXXX"
#include "mock.h"

#define AK "AKIDEXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DATE "20150830T123600Z"
#define SCOPE "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "


/* one vector of AWS's SigV4 test suite (example.amazonaws.com, us-east-1, service "service") */
static void
vector(const char *name, const char *method, const char *url, const char *const *headers,
    const char *body, const char *want)
{
	char **extra, *auth = auth_sigv4(method, url, headers, body, body ? strlen(body) : 0,
	    "us-east-1", "service", AK, SK, NULL, DATE, &extra);

	is_str(auth, want, "SigV4 test suite: %s", name);
	free(auth);
	auth_headers_free(extra);
}

static void
t_sigv4_suite(void)
{
	static const char *const none[] = { NULL };
	static const char *const form[] = { "Content-Type: application/x-www-form-urlencoded",
	    NULL };
	static const char *const dup[] = { "My-Header1: value2", "my-header1:  value2 ",
	    "MY-HEADER1:value1", NULL };

	vector("get-vanilla", "GET", "https://example.amazonaws.com/", none, NULL,
	    "AWS4-HMAC-SHA256 " SCOPE "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	vector("get-vanilla-query-order-key-case", "GET",
	    "https://example.amazonaws.com/?Param2=value2&Param1=value1", none, NULL,
	    "AWS4-HMAC-SHA256 " SCOPE "SignedHeaders=host;x-amz-date, "
	    "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
	vector("get-vanilla-query-unreserved", "GET", "https://example.amazonaws.com/?"
	    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
	    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", none, NULL,
	    "AWS4-HMAC-SHA256 " SCOPE "SignedHeaders=host;x-amz-date, "
	    "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
	vector("get-unreserved", "GET", "https://example.amazonaws.com/"
	    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", none, NULL,
	    "AWS4-HMAC-SHA256 " SCOPE "SignedHeaders=host;x-amz-date, "
	    "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
	vector("get-utf8", "GET", "https://example.amazonaws.com/\xe1\x88\xb4", none, NULL,
	    "AWS4-HMAC-SHA256 " SCOPE "SignedHeaders=host;x-amz-date, "
	    "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
	vector("get-header-key-duplicate", "GET", "https://example.amazonaws.com/", dup, NULL,
	    "AWS4-HMAC-SHA256 " SCOPE "SignedHeaders=host;my-header1;x-amz-date, "
	    "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
	vector("post-vanilla", "POST", "https://example.amazonaws.com/", none, NULL,
	    "AWS4-HMAC-SHA256 " SCOPE "SignedHeaders=host;x-amz-date, "
	    "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
	vector("post-vanilla-query", "POST", "https://example.amazonaws.com/?Param1=value1", none,
	    NULL, "AWS4-HMAC-SHA256 " SCOPE "SignedHeaders=host;x-amz-date, "
	    "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
	vector("post-x-www-form-urlencoded", "POST", "https://example.amazonaws.com/", form,
	    "Param1=value1", "AWS4-HMAC-SHA256 " SCOPE "SignedHeaders=content-type;host;x-amz-date, "
	    "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

static void
t_sigv4_reference(void)
{
	static const char *const form[] = { "content-type: application/x-www-form-urlencoded",
	    NULL };
	const char *body = "Action=GetCallerIdentity&Version=2011-06-15";
	char **extra, *auth;

	auth = auth_sigv4("POST", "https://sts.us-east-1.amazonaws.com/", form, body, strlen(body),
	    "us-east-1", "sts", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	    NULL, "20260310T120000Z", &extra);
	is_str(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260310/us-east-1/sts/"
	    "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
	    "Signature=1393973f905d2fb13309d2996d8baab003d01e53247927716325cb7ea5311d2e",
	    "the earlier implementation's STS vector");
	ok(extra && extra[0] && strcmp(extra[0], "X-Amz-Date: 20260310T120000Z") == 0 && !extra[1],
	    "X-Amz-Date is the one header to add without a session token");
	free(auth);
	auth_headers_free(extra);
}

static void
t_sigv4_token(void)
{
	static const char *const none[] = { NULL };
	char **extra, *with, *without;

	with = auth_sigv4("GET", "https://example.amazonaws.com/", none, NULL, 0, "us-east-1",
	    "service", AK, SK, "TOKEN/x+y=", DATE, &extra);
	without = auth_sigv4("GET", "https://example.amazonaws.com/", none, NULL, 0, "us-east-1",
	    "service", AK, SK, NULL, DATE, NULL);
	ok(with && strstr(with, "SignedHeaders=host;x-amz-date;x-amz-security-token, "),
	    "a session token is a signed header");
	ok(with && without && strcmp(strstr(with, "Signature="), strstr(without, "Signature=")),
	    "a session token changes the signature");
	ok(extra && extra[0] && extra[1] && !extra[2] &&
	    strcmp(extra[1], "X-Amz-Security-Token: TOKEN/x+y=") == 0,
	    "X-Amz-Security-Token is added to the request");
	free(with);
	free(without);
	auth_headers_free(extra);

	with = auth_sigv4("GET", "https://bucket.s3.amazonaws.com/key", none, NULL, 0, "us-east-1",
	    "s3", AK, SK, NULL, DATE, &extra);
	ok(with && strstr(with, "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "),
	    "s3 signs x-amz-content-sha256");
	ok(extra && extra[1] && strcmp(extra[1], "X-Amz-Content-Sha256: "
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
	    "s3 sends the payload hash");
	free(with);
	auth_headers_free(extra);
	ok(auth_sigv4("GET", "not a url", none, NULL, 0, "us-east-1", "service", AK, SK, NULL,
	    DATE, &extra) == NULL && extra == NULL, "an unparsable URL signs nothing");
}

static void
creds(const char *what, const char *ak, const char *sk, const char *tk)
{
	char *a, *s, *t, *err;
	int rc = auth_aws_credentials(&a, &s, &t, &err);

	ok(rc == 0 && a && s && strcmp(a, ak) == 0 && strcmp(s, sk) == 0 &&
	    (tk ? t && strcmp(t, tk) == 0 : t == NULL), "%s", what);
	if (rc < 0) {
		printf("# %s\n", err);
		free(err);
	}
	free(a);
	free(s);
	free(t);
}

static void
t_credentials(void)
{
	char *a, *s, *t, *err;

	put(at("credentials"), "# comment\n[default]\naws_access_key_id = AKDEFAULT\n"
	    "aws_secret_access_key=SKDEFAULT\n\n[ prod ]\n  aws_access_key_id =AKPROD \n"
	    "aws_secret_access_key = SKPROD\naws_session_token = TKPROD\n[empty]\nregion=x\n");
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SKENV", 1);
	setenv("AWS_SESSION_TOKEN", "TKENV", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", at("credentials"), 1);
	setenv("AWS_PROFILE", "prod", 1);
	creds("the environment's keys come first", "AKENV", "SKENV", "TKENV");
	unsetenv("AWS_SESSION_TOKEN");
	creds("no session token in the environment, none returned", "AKENV", "SKENV", NULL);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	creds("AWS_PROFILE chooses the profile of the credentials file", "AKPROD", "SKPROD",
	    "TKPROD");
	unsetenv("AWS_PROFILE");
	creds("without AWS_PROFILE the default profile", "AKDEFAULT", "SKDEFAULT", NULL);
	setenv("AWS_PROFILE", "empty", 1);
	ok(auth_aws_credentials(&a, &s, &t, &err) == -1 && err && strstr(err, "'empty'") &&
	    !a && !s && !t, "a profile without keys is an error naming it");
	free(err);
	setenv("AWS_PROFILE", "missing", 1);
	ok(auth_aws_credentials(&a, &s, &t, &err) == -1 && err && strstr(err, "'missing'"),
	    "an absent profile is an error naming it");
	free(err);
	setenv("AWS_SHARED_CREDENTIALS_FILE", at("nonesuch"), 1);
	ok(auth_aws_credentials(&a, &s, &t, &err) == -1 && err && strstr(err, "nonesuch"),
	    "an unreadable credentials file is an error naming it");
	free(err);
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

#define MS_SECRET "s3cr3t/+=x"
#define MS_SCOPE "https://graph.microsoft.com/.default"

static void
t_ms_token(void)
{
	http_client c;
	char *tok, *tok2, *err;
	int denied;

	if (start_mock("["
	    "{\"method\": \"POST\", \"path\": \"/contoso/oauth2/v2.0/token\", \"status\": 200,"
	    " \"body\": {\"token_type\": \"Bearer\", \"expires_in\": 3599,"
	    " \"access_token\": \"tok-1\"}},"
	    "{\"method\": \"POST\", \"path\": \"/short/oauth2/v2.0/token\", \"status\": 200,"
	    " \"body\": {\"expires_in\": 30, \"access_token\": \"tok-short\"}},"
	    "{\"method\": \"POST\", \"path\": \"/fabrikam/oauth2/v2.0/token\", \"status\": 401,"
	    " \"body\": {\"error\": \"invalid_client\", \"error_description\":"
	    " \"AADSTS7000215: Invalid client secret provided.\"}},"
	    "{\"method\": \"POST\", \"path\": \"/portal/oauth2/v2.0/token\", \"status\": 200,"
	    " \"headers\": {\"Content-Type\": \"text/html\"},"
	    " \"body\": \"<html><body>Sign in to the hotel wifi</body></html>\"},"
	    "{\"method\": \"POST\", \"path\": \"/list/oauth2/v2.0/token\", \"status\": 200,"
	    " \"body\": []},"
	    "{\"method\": \"POST\", \"path\": \"/number/oauth2/v2.0/token\", \"status\": 200,"
	    " \"body\": {\"access_token\": 5}},"
	    "{\"method\": \"POST\", \"path\": \"/down/oauth2/v2.0/token\", \"status\": 502,"
	    " \"body\": \"bad gateway\"}]") < 0) {
		printf("Bail out! cannot start tests/mock/serve.py\n");
		exit(1);
	}
	if (http_init(&c, "microsoft", base, &err) < 0) {
		printf("Bail out! http_init: %s\n", err);
		exit(1);
	}
	c.max_tries = 1;
	tok = auth_ms_token(&c, "contoso", "app-1", MS_SECRET, MS_SCOPE, &denied, &err);
	is_str(tok, "tok-1", "the access_token of the token endpoint");
	ok(count(slurp(at("log.jsonl")), "\"body\": \"grant_type=client_credentials&client_id=app-1"
	    "&client_secret=s3cr3t%2F%2B%3Dx&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default\"")
	    == 1, "the form body is URL-encoded");
	ok(count(slurp(at("log.jsonl")), "application/x-www-form-urlencoded") == 1,
	    "the form body is sent as application/x-www-form-urlencoded");
	tok2 = auth_ms_token(&c, "contoso", "app-1", MS_SECRET, MS_SCOPE, &denied, &err);
	is_str(tok2, "tok-1", "the second call has the same token");
	ok(count(slurp(at("log.jsonl")), "/contoso/oauth2") == 1,
	    "the token is cached: one request for two calls");
	free(tok);
	free(tok2);
	tok = auth_ms_token(&c, "contoso", "app-1", MS_SECRET, "other/.default", &denied, &err);
	ok(count(slurp(at("log.jsonl")), "/contoso/oauth2") == 2, "another scope, another token");
	free(tok);
	tok = auth_ms_token(&c, "short", "app-1", MS_SECRET, MS_SCOPE, &denied, &err);
	free(tok);
	tok = auth_ms_token(&c, "short", "app-1", MS_SECRET, MS_SCOPE, &denied, &err);
	ok(count(slurp(at("log.jsonl")), "/short/oauth2") == 2,
	    "a token that expires within a minute is not reused");
	free(tok);

	tok = auth_ms_token(&c, "fabrikam", "app-1", MS_SECRET, MS_SCOPE, &denied, &err);
	ok(tok == NULL && err, "a 401 is an error");
	ok(err && strstr(err, "'fabrikam'") && strstr(err, "AADSTS7000215: Invalid client secret "
	    "provided."), "the error names the tenant and the service's error_description");
	ok(err && !strstr(err, "s3cr3t") && !strstr(err, "s3cr3t%2F"), "the error has no secret");
	ok(denied, "a 401 is the credentials refused");
	printf("# %s\n", err ? err : "(null)");
	free(err);

	/* a 200 that is not a token (a captive portal, a wrong login_url): an error, no abort */
	for (const char *const *t = (const char *const[]){ "portal", "list", "number", NULL }; *t;
	    t++) {
		tok = auth_ms_token(&c, *t, "app-1", MS_SECRET, MS_SCOPE, &denied, &err);
		ok(tok == NULL && err && strstr(err, "token endpoint") && strstr(err, "HTTP 200") &&
		    strstr(err, "login_url") && !denied, "a token endpoint's 200 without a token "
		    "(%s) is an error naming the endpoint and login_url", *t);
		printf("# %s\n", err ? err : "(null)");
		free(tok);
		free(err);
	}
	c.max_tries = 2;
	tok = auth_ms_token(&c, "down", "app-1", MS_SECRET, MS_SCOPE, &denied, &err);
	ok(tok == NULL && err && strstr(err, "HTTP 502") && strstr(err, "not the credentials") &&
	    !denied, "repeated 502s: the service failed, not the credentials");
	printf("# %s\n", err ? err : "(null)");
	free(err);
	http_free(&c);
	stop_mock();
}

/* base64url (unpadded) decoded, NUL-terminated; *n its length */
static char *
unb64url(const char *s, size_t len, int *n)
{
	char *in = calloc(1, len + 4), *out = calloc(1, len + 4);

	for (size_t i = 0; i < len; i++)
		in[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (len % 4)
		in[len++] = '=';
	*n = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)in, (int)len);
	while (*n > 0 && len > 0 && in[--len] == '=')
		(*n)--;
	free(in);
	return out;
}

static int
verifies(const char *data, size_t n, const char *sig, int signlen)
{
	FILE *f = fopen(at("data"), "w");
	char *cmd = NULL;
	int rc;

	fwrite(data, 1, n, f);
	fclose(f);
	f = fopen(at("sig"), "w");
	fwrite(sig, 1, (size_t)signlen, f);
	fclose(f);
	if (asprintf(&cmd, "openssl dgst -sha256 -verify '%s' -signature '%s' '%s' >/dev/null 2>&1",
	    at("pub.pem"), at("sig"), at("data")) < 0)
		return 0;
	rc = system(cmd);
	free(cmd);
	return rc == 0;
}

static void
t_github_jwt(void)
{
	static char pem[8192];
	FILE *p = popen("openssl genrsa 2048 2>/dev/null", "r");
	size_t n = p ? fread(pem, 1, sizeof pem - 1, p) : 0;
	char *jwt, *err, *dot1, *dot2, *head, *claims, *sig, *cmd = NULL;
	int hn, cn, sn;
	jv j;

	if (p)
		pclose(p);
	pem[n] = '\0';
	put(at("key.pem"), pem);
	if (n == 0 || asprintf(&cmd, "openssl pkey -in '%s' -pubout -out '%s' 2>/dev/null",
	    at("key.pem"), at("pub.pem")) < 0 || system(cmd) != 0) {
		printf("Bail out! cannot make an RSA key with openssl\n");
		exit(1);
	}
	free(cmd);
	jwt = auth_github_jwt("123456", pem, 1700000000L, &err);
	ok(jwt != NULL, "a JWT from an RSA key");
	if (!jwt) {
		printf("# %s\n", err);
		free(err);
		return;
	}
	dot1 = strchr(jwt, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	ok(dot2 && !strchr(dot2 + 1, '.') && !strchr(jwt, '=') && !strchr(jwt, '+') &&
	    !strchr(jwt, '/'), "three base64url parts without padding");
	if (!dot2) {
		free(jwt);
		return;
	}
	head = unb64url(jwt, (size_t)(dot1 - jwt), &hn);
	claims = unb64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), &cn);
	sig = unb64url(dot2 + 1, strlen(dot2 + 1), &sn);
	is_str(head, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "the header");
	j = jv_parse(claims);
	{
		jv iat = jv_object_get(jv_copy(j), jv_string("iat"));
		jv exp = jv_object_get(jv_copy(j), jv_string("exp"));
		jv iss = jv_object_get(jv_copy(j), jv_string("iss"));

		ok(jv_get_kind(iat) == JV_KIND_NUMBER && jv_number_value(iat) == 1700000000 - 60 &&
		    jv_get_kind(exp) == JV_KIND_NUMBER && jv_number_value(exp) == 1700000000 + 540,
		    "iat is a minute back, exp nine minutes ahead");
		is_str(jv_get_kind(iss) == JV_KIND_STRING ? jv_string_value(iss) : NULL, "123456",
		    "iss is the app id");
		jv_free(iat);
		jv_free(exp);
		jv_free(iss);
	}
	jv_free(j);
	ok(sn == 256 && verifies(jwt, (size_t)(dot2 - jwt), sig, sn),
	    "openssl verifies the RS256 signature with the public key");
	jwt[1] ^= 1;
	ok(!verifies(jwt, (size_t)(dot2 - jwt), sig, sn), "and refuses it over other data");
	free(head);
	free(claims);
	free(sig);
	free(jwt);

	ok(auth_github_jwt("123456", "not a key", 1700000000L, &err) == NULL && err &&
	    strstr(err, "123456"), "a bad key is an error naming the app");
	free(err);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	t_sigv4_suite();
	t_sigv4_reference();
	t_sigv4_token();
	t_credentials();
	t_ms_token();
	t_github_jwt();
	{
		char *cmd = NULL;

		if (asprintf(&cmd, "rm -rf '%s'", root) > 0 && system(cmd) != 0)
			printf("# cannot remove %s\n", root);
		free(cmd);
	}
	return t_done();
}
