/*
 * auth: request signing and tokens for the services mallcop watches, on OpenSSL.
 *
 * SigV4 follows AWS's "Create a signed AWS API request": the canonical request, the string to
 * sign, the HMAC-SHA256 key chain "AWS4"+secret over date, region, service, "aws4_request".
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth.h"
#include "util.h"

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
	hex(md, 32, out);
}

static void
hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &len);
}

/* RFC 3986 percent-encoding of every byte but the unreserved ones (and '/' when keep_slash) */
static void
pct_encode(FILE *f, const char *s, size_t n, int keep_slash)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
		    (keep_slash && c == '/'))
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

static char *
pct_encoded(const char *s, size_t n, int keep_slash)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		die(EXIT_WORK, "open_memstream:");
	pct_encode(f, s, n, keep_slash);
	fclose(f);
	return out;
}

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* a query component as the service will read it: %XX decoded, then encoded canonically */
static char *
query_part(const char *s, size_t n)
{
	char *raw = xmalloc(n + 1), *out;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
			raw[k++] = (char)(hexval((unsigned char)s[i + 1]) * 16 +
			    hexval((unsigned char)s[i + 2]));
			i += 2;
		} else
			raw[k++] = s[i];
	}
	out = pct_encoded(raw, k, 0);
	free(raw);
	return out;
}

struct pair {
	char *name, *value;
	size_t order;	/* repeated headers keep their order */
};

static int
pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* the canonical query string of "a=1&b=2" */
static char *
canonical_query(const char *q)
{
	struct pair *p = NULL;
	size_t n = 0, len;
	char *out = NULL;
	FILE *f;

	while (q && *q) {
		size_t seg = strcspn(q, "&"), eq = strcspn(q, "=");

		if (seg > 0) {
			p = xrealloc(p, (n + 1) * sizeof *p);
			if (eq < seg) {
				p[n].name = query_part(q, eq);
				p[n].value = query_part(q + eq + 1, seg - eq - 1);
			} else {
				p[n].name = query_part(q, seg);
				p[n].value = xstrdup("");
			}
			n++;
		}
		q += seg;
		if (*q == '&')
			q++;
	}
	if (n)
		qsort(p, n, sizeof *p, pair_cmp);
	if (!(f = open_memstream(&out, &len)))
		die(EXIT_WORK, "open_memstream:");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%s=%s", i ? "&" : "", p[i].name, p[i].value);
		free(p[i].name);
		free(p[i].value);
	}
	fclose(f);
	free(p);
	return out;
}

/* "Name:  a   b " -> {"name", "a b"}; 0 when the line has no colon */
static int
header_pair(const char *line, struct pair *p)
{
	const char *colon = strchr(line, ':'), *v;
	size_t k = 0;

	if (!colon || colon == line)
		return 0;
	p->name = xmalloc((size_t)(colon - line) + 1);
	for (const char *s = line; s < colon; s++)
		p->name[k++] = (char)tolower((unsigned char)*s);
	while (k > 0 && isspace((unsigned char)p->name[k - 1]))
		k--;
	p->name[k] = '\0';
	v = colon + 1;
	p->value = xmalloc(strlen(v) + 1);
	k = 0;
	for (; *v; v++) {
		if (isspace((unsigned char)*v)) {
			if (k > 0 && p->value[k - 1] != ' ')
				p->value[k++] = ' ';
		} else
			p->value[k++] = *v;
	}
	while (k > 0 && p->value[k - 1] == ' ')
		k--;
	p->value[k] = '\0';
	return 1;
}

static int
name_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static size_t
add_pair(struct pair *h, size_t n, const char *name, const char *value)
{
	h[n] = (struct pair){ xstrdup(name), xstrdup(value), n };
	return n + 1;
}

/* scheme://host[:port]/path?query#frag -> host[:port], path, query (all allocated) */
static int
split_url(const char *url, char **host, char **path, char **query)
{
	const char *p = strstr(url, "://"), *h, *end;
	size_t hl, pl;

	if (!p)
		return -1;
	h = p + 3;
	hl = strcspn(h, "/?#");
	if (hl == 0)
		return -1;
	end = h + hl;
	pl = strcspn(end, "?#");
	*host = strndup(h, hl);
	*path = pl ? strndup(end, pl) : xstrdup("/");
	end += pl;
	*query = *end == '?' ? strndup(end + 1, strcspn(end + 1, "#")) : xstrdup("");
	if (!*host || !*path || !*query)
		die(EXIT_WORK, "strndup:");
	return 0;
}

char *
auth_sigv4(const char *method, const char *url, const char *const *headers, const char *body,
    size_t body_len, const char *region, const char *service, const char *access_key,
    const char *secret_key, const char *session_token, const char *amz_date,
    char ***out_headers)
{
	char *host, *path, *query, *uri, *cq, *creq = NULL, *signed_h = NULL, *sts, *key, *auth;
	char payload[65], creq_hash[65], sig[65], date[9];
	unsigned char k[32];
	struct pair *h = NULL;
	size_t nh = 0, len, extra = 0;
	int have_host = 0, have_date = 0, s3 = service && strcmp(service, "s3") == 0;
	FILE *f, *g;

	if (out_headers)
		*out_headers = NULL;
	if (!amz_date || strlen(amz_date) < 8 || split_url(url, &host, &path, &query) < 0)
		return NULL;
	memcpy(date, amz_date, 8);
	date[8] = '\0';
	sha256_hex(body ? body : "", body ? body_len : 0, payload);

	for (size_t i = 0; headers && headers[i]; i++) {
		h = xrealloc(h, (nh + 1) * sizeof *h);
		if (!header_pair(headers[i], &h[nh]))
			continue;
		h[nh].order = nh;
		have_host |= strcmp(h[nh].name, "host") == 0;
		have_date |= strcmp(h[nh].name, "x-amz-date") == 0;
		nh++;
	}
	h = xrealloc(h, (nh + 4) * sizeof *h);
	if (!have_host)
		nh = add_pair(h, nh, "host", host);
	if (!have_date)
		nh = add_pair(h, nh, "x-amz-date", amz_date);
	if (session_token)
		nh = add_pair(h, nh, "x-amz-security-token", session_token);
	if (s3)
		nh = add_pair(h, nh, "x-amz-content-sha256", payload);
	qsort(h, nh, sizeof *h, name_cmp);

	uri = pct_encoded(path, strlen(path), 1);
	cq = canonical_query(query);
	if (!(f = open_memstream(&creq, &len)) || !(g = open_memstream(&signed_h, &len)))
		die(EXIT_WORK, "open_memstream:");
	fprintf(f, "%s\n%s\n%s\n", method, uri, cq);
	for (size_t i = 0; i < nh; i++) {
		/* a repeated header signs as one, its values joined by commas in order */
		if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
			fprintf(f, ",%s", h[i].value);
			continue;
		}
		fprintf(f, "%s%s:%s", i ? "\n" : "", h[i].name, h[i].value);
		fprintf(g, "%s%s", i ? ";" : "", h[i].name);
	}
	fclose(g);
	fprintf(f, "\n\n%s\n%s", signed_h, payload);
	fclose(f);
	sha256_hex(creq, strlen(creq), creq_hash);
	sts = xasprintf("AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date, region,
	    service, creq_hash);

	key = xasprintf("AWS4%s", secret_key);
	hmac(key, strlen(key), date, k);
	hmac(k, 32, region, k);
	hmac(k, 32, service, k);
	hmac(k, 32, "aws4_request", k);
	hmac(k, 32, sts, k);
	hex(k, 32, sig);
	OPENSSL_cleanse(key, strlen(key));
	OPENSSL_cleanse(k, sizeof k);

	auth = xasprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
	    "Signature=%s", access_key, date, region, service, signed_h, sig);
	if (out_headers) {
		char **o = xcalloc(4, sizeof *o);

		if (!have_date)
			o[extra++] = xasprintf("X-Amz-Date: %s", amz_date);
		if (session_token)
			o[extra++] = xasprintf("X-Amz-Security-Token: %s", session_token);
		if (s3)
			o[extra++] = xasprintf("X-Amz-Content-Sha256: %s", payload);
		*out_headers = o;
	}
	for (size_t i = 0; i < nh; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
	free(key);
	free(sts);
	free(creq);
	free(signed_h);
	free(cq);
	free(uri);
	free(host);
	free(path);
	free(query);
	return auth;
}

void
auth_headers_free(char **headers)
{
	for (size_t i = 0; headers && headers[i]; i++)
		free(headers[i]);
	free(headers);
}

static char *
trimmed(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* the keys of one [profile] of an INI credentials file */
static int
credentials_file(const char *path, const char *profile, char **access, char **secret,
    char **token, char **err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *s, *eq;
	size_t cap = 0;
	int in = 0;

	if (!f) {
		*err = xasprintf("no AWS credentials: AWS_ACCESS_KEY_ID is not set and '%s' cannot be "
		    "read", path);
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		s = trimmed(line);
		if (*s == '#' || *s == ';' || *s == '\0')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (end)
				*end = '\0';
			in = strcmp(trimmed(s + 1), profile) == 0;
			continue;
		}
		if (!in || !(eq = strchr(s, '=')))
			continue;
		*eq = '\0';
		char *k = trimmed(s), *v = trimmed(eq + 1), **slot = NULL;

		if (strcasecmp(k, "aws_access_key_id") == 0)
			slot = access;
		else if (strcasecmp(k, "aws_secret_access_key") == 0)
			slot = secret;
		else if (strcasecmp(k, "aws_session_token") == 0)
			slot = token;
		if (slot) {
			free(*slot);
			*slot = xstrdup(v);
		}
	}
	free(line);
	fclose(f);
	if (!*access || !*secret) {
		*err = xasprintf("no AWS credentials: profile '%s' of '%s' has no %s", profile, path,
		    !*access ? "aws_access_key_id" : "aws_secret_access_key");
		free(*access);
		free(*secret);
		free(*token);
		*access = *secret = *token = NULL;
		return -1;
	}
	return 0;
}

int
auth_aws_credentials(char **access, char **secret, char **token, char **err)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tk = getenv("AWS_SESSION_TOKEN"), *profile = getenv("AWS_PROFILE");
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
	char *path;
	int rc;

	*access = *secret = *token = NULL;
	*err = NULL;
	if (ak && *ak && sk && *sk) {
		*access = xstrdup(ak);
		*secret = xstrdup(sk);
		*token = tk && *tk ? xstrdup(tk) : NULL;
		rc = 0;
	} else {
		if (!profile || !*profile)
			profile = "default";
		if (file && *file)
			path = xstrdup(file);
		else
			path = xasprintf("%s/.aws/credentials", home ? home : "");
		rc = credentials_file(path, profile, access, secret, token, err);
		free(path);
	}
	secret_add(*secret);
	secret_add(*token);
	return rc;
}

/* tokens of the client credentials grant, per (login base, tenant, client, scope) */
struct ms_cached {
	char *key, *token;
	time_t until;
	struct ms_cached *next;
};
static struct ms_cached *ms_cache;

static time_t
mono_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

/* a message without the secret, should the service ever echo it */
static char *
without(char *msg, const char *secret)
{
	char *p;
	size_t n = strlen(secret);

	while (n && (p = strstr(msg, secret)) != NULL) {
		memset(p, '*', 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
	return msg;
}

char *
auth_ms_token(http_client *login, const char *tenant, const char *client_id,
    const char *client_secret, const char *scope, int *denied, char **err)
{
	char *key, *body = NULL, *path, *token = NULL, *jerr;
	struct ms_cached *c;
	http_response r;
	size_t len;
	FILE *f;
	jv j, at, exp;
	double secs;

	*err = NULL;
	*denied = 0;
	secret_add(client_secret);
	jerr = pct_encoded(client_secret, strlen(client_secret), 0);	/* as the form sends it */
	secret_add(jerr);
	free(jerr);
	key = xasprintf("%s\n%s\n%s\n%s", login->base, tenant, client_id, scope);
	for (c = ms_cache; c; c = c->next)
		if (strcmp(c->key, key) == 0 && mono_now() < c->until) {
			free(key);
			return xstrdup(c->token);
		}
	if (!(f = open_memstream(&body, &len)))
		die(EXIT_WORK, "open_memstream:");
	fputs("grant_type=client_credentials&client_id=", f);
	pct_encode(f, client_id, strlen(client_id), 0);
	fputs("&client_secret=", f);
	pct_encode(f, client_secret, strlen(client_secret), 0);
	fputs("&scope=", f);
	pct_encode(f, scope, strlen(scope), 0);
	fclose(f);
	path = pct_encoded(tenant, strlen(tenant), 0);
	path = xasprintf("/%s/oauth2/v2.0/token", (jerr = path));
	free(jerr);
	if (http_request(login, "POST", path, body, "application/x-www-form-urlencoded", &r) < 0) {
		*denied = r.status == 400 || r.status == 401 || r.status == 403;
		*err = without(xasprintf("tenant '%s': cannot get a token for client '%s': %s%s",
		    tenant, client_id, r.error, *denied ? "" : r.status >= 500 ?
		    " (the token service failed, not the credentials: try again later)" : ""),
		    client_secret);
		goto out;
	}
	j = http_json(&r, &jerr);
	if (jv_get_kind(j) == JV_KIND_OBJECT) {
		at = jv_object_get(jv_copy(j), jv_string("access_token"));
		exp = jv_object_get(j, jv_string("expires_in"));
	} else {
		jv_free(j);
		at = exp = jv_invalid();
	}
	if (jerr || jv_get_kind(at) != JV_KIND_STRING || !*jv_string_value(at)) {
		/* a captive portal's page, a wrong login_url: say so, the credentials may be right */
		*err = without(xasprintf("tenant '%s': the token endpoint %s%s answered HTTP %ld "
		    "without an access_token for client '%s'%s%s (check login_url: it must be the "
		    "Microsoft identity platform, e.g. https://login.microsoftonline.com)",
		    tenant, login->base, path, r.status, client_id, jerr ? ": " : "",
		    jerr ? jerr : ""), client_secret);
		free(jerr);
	} else {
		token = xstrdup(jv_string_value(at));
		secret_add(token);
		/* v1 endpoints send expires_in as a string */
		secs = jv_get_kind(exp) == JV_KIND_NUMBER ? jv_number_value(exp) :
		    jv_get_kind(exp) == JV_KIND_STRING ? atof(jv_string_value(exp)) : 0;
		if (secs > 60) {
			for (c = ms_cache; c && strcmp(c->key, key) != 0; c = c->next)
				;
			if (!c) {
				c = xcalloc(1, sizeof *c);
				c->key = key;
				key = NULL;
				c->next = ms_cache;
				ms_cache = c;
			}
			free(c->token);
			c->token = xstrdup(token);
			c->until = mono_now() + (time_t)secs - 60;
		}
	}
	jv_free(at);
	jv_free(exp);
out:
	http_response_free(&r);
	free(path);
	OPENSSL_cleanse(body, strlen(body));
	free(body);
	free(key);
	return token;
}

/* base64url without padding (RFC 7515) */
static char *
b64url(const unsigned char *in, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

char *
auth_github_jwt(const char *app_id, const char *pem_private_key, long now, char **err)
{
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	char *h, *p, *input, *sig64, *jwt = NULL, *claims;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	EVP_PKEY *key;
	EVP_MD_CTX *md;
	BIO *bio;
	jv j;

	*err = NULL;
	bio = BIO_new_mem_buf(pem_private_key, -1);
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		*err = xasprintf("GitHub App %s: the private key is not a PEM RSA private key",
		    app_id);
		EVP_PKEY_free(key);
		return NULL;
	}
	/* jv quotes the app id as JSON wants it */
	j = jv_object_set(jv_object(), jv_string("iat"), jv_number((double)(now - 60)));
	j = jv_object_set(j, jv_string("exp"), jv_number((double)(now + 540)));
	j = jv_object_set(j, jv_string("iss"), jv_string(app_id));
	j = jv_dump_string(j, 0);
	claims = xstrdup(jv_string_value(j));
	jv_free(j);
	h = b64url((const unsigned char *)header, strlen(header));
	p = b64url((const unsigned char *)claims, strlen(claims));
	input = xasprintf("%s.%s", h, p);
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) != 1 ||
	    !(sig = OPENSSL_malloc(siglen)) ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) != 1) {
		*err = xasprintf("GitHub App %s: cannot sign with the private key (RS256 needs an RSA "
		    "key)", app_id);
	} else {
		sig64 = b64url(sig, siglen);
		jwt = xasprintf("%s.%s", input, sig64);
		free(sig64);
	}
	OPENSSL_free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	free(input);
	free(h);
	free(p);
	free(claims);
	return jwt;
}

/* the string field key of a response's JSON body, malloc'd, or NULL */
static char *
body_field(const http_response *r, const char *key)
{
	char *jerr = NULL, *out = NULL;
	jv j = http_json(r, &jerr), v = jv_invalid();

	free(jerr);
	if (jv_get_kind(j) == JV_KIND_OBJECT)
		v = jv_object_get(j, jv_string(key));
	else
		jv_free(j);
	if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v))
		out = xstrdup(jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		out = xasprintf("%.0f", jv_number_value(v));
	jv_free(v);
	return out;
}

char *
auth_github_app_token(http_client *api, const char *app_id, const char *pem_private_key,
    const char *installation_id, const char *org, long *status, char **err)
{
	char *jwt, *id = NULL, *path, *token = NULL;
	size_t saved = api->nheaders;
	http_response r;

	*err = NULL;
	*status = 0;
	if (!(jwt = auth_github_jwt(app_id, pem_private_key, (long)time(NULL), err)))
		return NULL;
	http_header(api, "Authorization: Bearer %s", jwt);
	http_header(api, "Accept: application/vnd.github+json");
	http_header(api, "X-GitHub-Api-Version: 2022-11-28");
	if (installation_id && *installation_id) {
		id = xstrdup(installation_id);
	} else {
		path = xasprintf("/orgs/%s/installation", org);
		if (http_request(api, "GET", path, NULL, NULL, &r) < 0) {
			*status = r.status;
			*err = xasprintf("GitHub App %s: %s (%s)", app_id, r.error, r.status == 404 ?
			    "the app is not installed on this organization" : r.status == 401 ?
			    "check GITHUB_APP_ID and the app's private key" : "cannot find the "
			    "app's installation");
		} else if (!(id = body_field(&r, "id"))) {
			*err = xasprintf("GitHub App %s: the installation of '%s' has no id", app_id,
			    org);
		}
		http_response_free(&r);
		free(path);
	}
	if (id) {
		path = xasprintf("/app/installations/%s/access_tokens", id);
		if (http_request(api, "POST", path, "{}", "application/json", &r) < 0) {
			*status = r.status;
			*err = xasprintf("GitHub App %s: installation %s: %s (%s)", app_id, id, r.error,
			    r.status == 401 ? "check GITHUB_APP_ID and the app's private key" :
			    r.status == 404 ? "check GITHUB_INSTALLATION_ID: no such installation of "
			    "this app" : "cannot get an installation token");
		} else if ((token = body_field(&r, "token")) != NULL) {
			secret_add(token);
		} else {
			*err = xasprintf("GitHub App %s: installation %s: the response has no token",
			    app_id, id);
		}
		http_response_free(&r);
		free(path);
		free(id);
	}
	/* the JWT's headers go: the caller adds its own */
	while (api->nheaders > saved)
		free(api->headers[--api->nheaders]);
	free(jwt);
	return token;
}

static const char *
need_env(const char *name, const char *what, const char *who)
{
	const char *v = getenv(name);

	if (!v || !*v)
		die(EXIT_WORK, "%s: %s is not set (%s)", who, name, what);
	return v;
}

void
auth_azure_env(auth_azure *a, const char *who)
{
	a->tenant = need_env("AZURE_TENANT_ID", "the directory (tenant) id of the service "
	    "principal", who);
	a->client = need_env("AZURE_CLIENT_ID", "the application (client) id of the service "
	    "principal", who);
	a->secret = need_env("AZURE_CLIENT_SECRET", "a client secret of that application", who);
}

int
auth_azure_bearer(http_client *login, const auth_azure *a, const char *scope,
    http_client *api, const char *who)
{
	char *err = NULL, *token;
	int denied;

	if (!(token = auth_ms_token(login, a->tenant, a->client, a->secret, scope, &denied,
	    &err))) {
		warnf("%s: %s%s", who, err ? err : "no token", denied ? " (check AZURE_TENANT_ID, "
		    "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET: the secret must be a current client "
		    "secret of that application)" : "");
		free(err);
		return -1;
	}
	http_header(api, "Authorization: Bearer %s", token);
	memset(token, 0, strlen(token));
	free(token);
	return 0;
}
