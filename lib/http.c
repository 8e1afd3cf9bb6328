/*
 * http: requests to the services mallcop watches, over libcurl.
 *
 * One easy handle per request: no state is shared between requests, so a connector may keep
 * several clients (one per service host) without surprises.  TLS verification is libcurl's
 * default and is never relaxed; CURL_CA_BUNDLE / SSL_CERT_FILE only choose the trust anchors.
 *
 * MALLCOP_HTTP_FAST=1 in the environment divides every retry wait by 1000 (the budget of
 * max_wait_s is still counted in real seconds), so the retry tests run in milliseconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "http.h"
#include "human.h"
#include "jsonl.h"
#include "util.h"

#ifndef MALLCOP_VERSION
#define MALLCOP_VERSION "dev"
#endif

enum {
	BODY_MAX = 256 << 20,	/* a response larger than this is an attack or a bug */
	TEXT_MAX = 200,		/* bytes of a non-JSON error body quoted in a message */
};

typedef struct {
	char *p;
	size_t len, cap;
	int toobig;
} buf;

static const char *
whoof(const http_client *c)
{
	return c->who && *c->who ? c->who : "http";
}

static int
is_loopback(const char *host)
{
	return strcasecmp(host, "127.0.0.1") == 0 || strcasecmp(host, "localhost") == 0 ||
	    strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
}

static void
parts_free(char *scheme, char *host, char *port)
{
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
}

/* scheme, host and port (the default one filled in) of an absolute URL; -1 when it is not one */
static int
url_parts(const char *url, char **scheme, char **host, char **port)
{
	CURLU *u = curl_url();
	int rc = -1;

	*scheme = *host = *port = NULL;
	if (!u)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		rc = 0;
	curl_url_cleanup(u);
	if (rc < 0) {
		parts_free(*scheme, *host, *port);
		*scheme = *host = *port = NULL;
	}
	return rc;
}

static int allow_private_dflt;
static char *bare_host(const char *host);
static void secret_header(const char *h);

void
http_allow_private(int yes)
{
	allow_private_dflt = yes;
}

/* an authority curl would take with a default filled in: "host:" (port 80), "user@host" */
static int
odd_authority(const char *url)
{
	const char *a = strstr(url, "://"), *end;

	if (!a)
		return 0;
	a += 3;
	end = a + strcspn(a, "/?#");
	return end == a || end[-1] == ':' || memchr(a, '@', (size_t)(end - a)) != NULL;
}

int
http_init(http_client *c, const char *who, const char *base, char **err)
{
	char *scheme, *host, *port;
	int ok;

	memset(c, 0, sizeof *c);
	c->who = who;
	*err = NULL;
	if (!base || url_parts(base, &scheme, &host, &port) < 0) {
		*err = xasprintf("%s: not a URL: '%s'", whoof(c), base ? base : "");
		return -1;
	}
	ok = strcasecmp(scheme, "https") == 0 ||
	    (strcasecmp(scheme, "http") == 0 && is_loopback(host));
	if (!ok)
		*err = xasprintf("%s: refusing base URL %s://%s: only https://, or http:// to "
		    "127.0.0.1, localhost or [::1]", whoof(c), scheme, host);
	else if (odd_authority(base) && (ok = 0) == 0)
		*err = xasprintf("%s: not a URL: '%s' (an empty port, a user name or no host: "
		    "write https://HOST[:PORT]/PATH)", whoof(c), base);
	c->loopback_base = is_loopback(host);
	parts_free(scheme, host, port);
	if (!ok)
		return -1;
	c->allow_private = allow_private_dflt;
	c->base = xstrdup(base);
	c->timeout_s = 30;
	c->max_tries = 5;
	c->max_wait_s = 120;
	return 0;
}

void
http_free(http_client *c)
{
	for (size_t i = 0; i < c->nheaders; i++)
		free(c->headers[i]);
	free(c->headers);
	free(c->base);
	c->headers = NULL;
	c->base = NULL;
	c->nheaders = 0;
}

int
http_header(http_client *c, const char *fmt, ...)
{
	va_list ap;

	c->headers = xrealloc(c->headers, (c->nheaders + 1) * sizeof *c->headers);
	va_start(ap, fmt);
	c->headers[c->nheaders] = xvasprintf(fmt, ap);
	va_end(ap);
	secret_header(c->headers[c->nheaders++]);
	return 0;
}

void
http_response_free(http_response *r)
{
	free(r->body);
	free(r->error);
	jv_free(r->headers);
	memset(r, 0, sizeof *r);
	r->headers = jv_invalid();
}

/* a header that carries no secret; any other header's value is one (secret_add) */
static int
public_header(const char *h)
{
	static const char *const names[] = { "accept", "content-type", "user-agent",
		"x-github-api-version", "x-amz-target", "x-amz-date", "x-amz-content-sha256",
		"anthropic-version", "anthropic-beta", "x-mallcop-timestamp", "expect" };
	size_t n = strcspn(h, ":");

	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strlen(names[i]) == n && strncasecmp(h, names[i], n) == 0)
			return 1;
	return 0;
}

/* the value of a header, and the parts a service may echo alone: "Bearer TOKEN", "Signature=" */
static void
secret_header(const char *h)
{
	const char *v = strchr(h, ':'), *p;
	char *sig;

	if (!v || public_header(h))
		return;
	v += 1 + strspn(v + 1, " \t");
	secret_add(v);
	if ((p = strpbrk(v, " \t")) != NULL)
		secret_add(p + strspn(p, " \t"));
	if ((p = strstr(v, "Signature=")) != NULL) {
		sig = xstrdup(p + 10);
		sig[strcspn(sig, ", ")] = '\0';
		secret_add(sig);
		free(sig);
	}
}

/* the service's own words: a JSON body's message, else the start of the body made safe */
static char *
service_text(const char *body, size_t len)
{
	jv j, m;
	char *s = NULL, *cut;
	size_t n;

	if (!body || len == 0)
		return NULL;
	j = jsonl_parse(body, len);
	if (jv_get_kind(j) == JV_KIND_OBJECT) {
		static const char *const keys[] = { "message", "error", "Message", "errorMessage" };

		for (size_t i = 0; !s && i < sizeof keys / sizeof *keys; i++) {
			m = jv_object_get(jv_copy(j), jv_string(keys[i]));
			if (jv_get_kind(m) == JV_KIND_OBJECT) {	/* Azure: {"error":{"code","message"}} */
				jv inner = jv_object_get(jv_copy(m), jv_string("message"));

				jv_free(m);
				m = inner;
			}
			if (jv_get_kind(m) == JV_KIND_STRING) {
				jv d = jv_object_get(jv_copy(j), jv_string("error_description"));

				if (strcmp(keys[i], "error") == 0 && jv_get_kind(d) == JV_KIND_STRING)
					s = xasprintf("%s: %s", jv_string_value(m), jv_string_value(d));
				else
					s = xstrdup(jv_string_value(m));
				jv_free(d);
			}
			jv_free(m);
		}
	}
	jv_free(j);
	if (!s) {
		n = len < TEXT_MAX ? len : TEXT_MAX;
		while (n > 0 && n < len && ((unsigned char)body[n] & 0xc0) == 0x80)
			n--;	/* not in the middle of a UTF-8 sequence */
		s = xmalloc(n + 1);
		memcpy(s, body, n);
		s[n] = '\0';
	}
	/* a whitespace-only or NUL-led body says nothing */
	for (cut = s; *cut && isspace((unsigned char)*cut); cut++)
		;
	if (!*cut) {
		free(s);
		return NULL;
	}
	cut = human_safe(s);
	free(s);
	return cut;
}

/* the path of a URL, without query string or fragment */
static char *
url_path(const char *url)
{
	CURLU *u = curl_url();
	char *p = NULL, *s;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &p, 0) == CURLUE_OK) {
		s = xstrdup(p);
		curl_free(p);
	} else {
		s = xstrdup("?");
	}
	curl_url_cleanup(u);
	return s;
}

/* "host" or "host:port" of a URL, for messages about a URL whose path is a secret */
static char *
url_host(const char *url)
{
	char *scheme, *host, *port, *s;

	if (url_parts(url, &scheme, &host, &port) < 0)
		return xstrdup("?");
	s = strcmp(port, strcasecmp(scheme, "https") == 0 ? "443" : "80") == 0 ? xstrdup(host) :
	    xasprintf("%s:%s", host, port);
	parts_free(scheme, host, port);
	return s;
}

/* ---- the guard: which addresses a request may reach ---- */

static const char *
kind4(const unsigned char *a)
{
	if (a[0] == 0)
		return "unspecified";
	if (a[0] == 127)
		return "loopback";
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
		return "private";
	if (a[0] == 169 && a[1] == 254)
		return "link-local";	/* 169.254.169.254: the metadata services of most clouds */
	if (a[0] == 100 && a[1] == 100 && a[2] == 100 && a[3] == 200)
		return "metadata";	/* Alibaba Cloud's, inside the shared range */
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return "shared (carrier-grade NAT)";
	if (a[0] == 192 && a[1] == 0 && a[2] == 0)
		return "reserved";
	if (a[0] == 198 && (a[1] & 0xfe) == 18)
		return "reserved";
	if (a[0] >= 224)
		return a[0] < 240 ? "multicast" : "reserved";
	return NULL;
}

const char *
http_addr_kind(const char *ip)
{
	unsigned char a[16];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const unsigned char ec2[16] = { 0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0xfe };	/* fd00:ec2::fe */
	static const unsigned char ec2b[16] = { 0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x02, 0x54 };	/* fd00:ec2::254 */

	if (inet_pton(AF_INET, ip, a) == 1)
		return kind4(a);
	if (inet_pton(AF_INET6, ip, a) != 1)
		return "not an address";
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return kind4(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)	/* 6to4 carries an IPv4 address */
		return kind4(a + 2);
	if (memcmp(a, mapped, 10) == 0 && a[10] == 0 && a[11] == 0) {	/* ::/96 */
		if (a[12] == 0 && a[13] == 0 && a[14] == 0)
			return a[15] == 1 ? "loopback" : a[15] == 0 ? "unspecified" : "reserved";
		return kind4(a + 12);	/* IPv4-compatible */
	}
	if (memcmp(a, ec2, 16) == 0 || memcmp(a, ec2b, 16) == 0)
		return "metadata";
	if ((a[0] & 0xfe) == 0xfc)
		return "unique-local";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return "site-local";
	if (a[0] == 0xff)
		return "multicast";
	return NULL;
}

const char *
http_addr_refused(const char *ip, int allow_private, int allow_loopback)
{
	const char *kind = http_addr_kind(ip);

	if (!kind)
		return NULL;
	/* cloud metadata services answer there, with the machine's own credentials */
	if (streq(kind, "link-local") || streq(kind, "metadata") || streq(kind, "not an address"))
		return kind;
	if (allow_private || (allow_loopback && streq(kind, "loopback")))
		return NULL;
	return kind;
}

int
http_resolve(const char *host, const char *port, int allow_private, int allow_loopback,
    char **addrs, char **err)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char addr[INET6_ADDRSTRLEN + 2], *list = NULL, *t, *item;
	const char *why;
	int rc;

	*addrs = NULL;
	*err = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		*err = xasprintf("cannot resolve '%s': %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai && !*err; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL, 0,
		    NI_NUMERICHOST) != 0)
			continue;
		if ((why = http_addr_refused(addr, allow_private, allow_loopback))) {
			const char *fix = streq(why, "link-local") || streq(why, "metadata") ?
			    "where cloud metadata services answer: never allowed" :
			    "set allow_private: true in its settings for a service on your own "
			    "network";

			const char *an = strchr("aeiou", why[0]) ? "an" : "a";

			*err = streq(host, addr) ? xasprintf("refusing '%s': %s %s address (%s)", host,
			    an, why, fix) : xasprintf("refusing '%s': it resolves to %s, %s %s address "
			    "(%s)", host, addr, an, why, fix);
			break;
		}
		item = strchr(addr, ':') ? xasprintf("[%s]", addr) : xstrdup(addr);
		if (!list || !strstr(list, item)) {
			t = xasprintf("%s%s%s", list ? list : "", list ? "," : "", item);
			free(list);
			list = t;
		}
		free(item);
	}
	freeaddrinfo(res);
	if (!*err && !list)
		*err = xasprintf("cannot resolve '%s': no address", host);
	if (*err) {
		free(list);
		return -1;
	}
	*addrs = list;
	return 0;
}

int
http_check_base(const http_client *c, char **err)
{
	char *scheme, *host, *port, *bare, *addrs, *e;
	unsigned char probe[16];
	int rc = 0;

	*err = NULL;
	if (url_parts(c->base, &scheme, &host, &port) < 0)
		return 0;
	bare = bare_host(host);
	if (inet_pton(AF_INET, bare, probe) == 1 || inet_pton(AF_INET6, bare, probe) == 1) {
		if (http_resolve(bare, port, c->allow_private, c->loopback_base, &addrs, &e) < 0) {
			*err = xasprintf("%s: %s", whoof(c), e);
			free(e);
			rc = -1;
		} else {
			free(addrs);
		}
	}
	free(bare);
	parts_free(scheme, host, port);
	return rc;
}

/* what one request may connect to: the checked addresses, and the proxy's */
typedef struct guard {
	char *addrs;		/* ",A,[B],": the checked addresses of the URL's host */
	char *proxy;		/* the same for the proxy the environment names, or NULL */
	char refused[INET6_ADDRSTRLEN + 2];	/* set when a connection was refused */
} guard;

static int
listed(const char *list, const char *item)
{
	char *probe;
	int yes;

	if (!list)
		return 0;
	probe = xasprintf(",%s,", item);
	yes = strstr(list, probe) != NULL;
	free(probe);
	return yes;
}

static curl_socket_t
on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *sa)
{
	guard *g = arg;
	char addr[INET6_ADDRSTRLEN], item[INET6_ADDRSTRLEN + 2];

	(void)purpose;
	if (getnameinfo(&sa->addr, sa->addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(addr, sizeof addr, "?");
	snprintf(item, sizeof item, strchr(addr, ':') ? "[%s]" : "%s", addr);
	if (!listed(g->addrs, item) && !listed(g->proxy, item)) {
		snprintf(g->refused, sizeof g->refused, "%s", item);
		return CURL_SOCKET_BAD;
	}
	return socket(sa->family, sa->socktype, sa->protocol);
}

/* the proxy the environment names for scheme, as curl reads it: "host" and "port", or -1 */
static int
env_proxy(const char *scheme, char **host, char **port)
{
	static const char *const https[] = { "https_proxy", "HTTPS_PROXY", "all_proxy",
		"ALL_PROXY", NULL };
	static const char *const http[] = { "http_proxy", "all_proxy", "ALL_PROXY", NULL };
	const char *const *v = strcasecmp(scheme, "https") == 0 ? https : http;
	const char *p = NULL;
	char *url, *s;

	for (; *v && !(p && *p); v++)
		p = getenv(*v);
	if (!p || !*p)
		return -1;
	url = strstr(p, "://") ? xstrdup(p) : xasprintf("http://%s", p);
	if (url_parts(url, &s, host, port) < 0) {
		free(url);
		return -1;
	}
	curl_free(s);
	free(url);
	return 0;
}

/* the host of a URL as getaddrinfo wants it: no brackets, no zone */
static char *
bare_host(const char *host)
{
	size_t n = strlen(host);

	if (host[0] == '[' && n >= 2)
		return xasprintf("%.*s", (int)(n - 2), host + 1);
	return xstrdup(host);
}

/*
 * Check the URL's host before connecting: 0 with g filled and *pin the CURLOPT_RESOLVE entry
 * (NULL for an IP literal, which asks no DNS); -1 and *err.
 */
static int
guard_init(const http_client *c, const char *url, guard *g, char **pin, char **err)
{
	char *scheme, *host, *port, *bare, *addrs, *ph, *pp, *pa, *e;
	unsigned char probe[16];

	memset(g, 0, sizeof *g);
	*pin = NULL;
	if (url_parts(url, &scheme, &host, &port) < 0) {
		*err = xstrdup("not a URL");
		return -1;
	}
	bare = bare_host(host);
	if (http_resolve(bare, port, c->allow_private, c->loopback_base && is_loopback(host),
	    &addrs, err) < 0) {
		free(bare);
		parts_free(scheme, host, port);
		return -1;
	}
	g->addrs = xasprintf(",%s,", addrs);
	if (inet_pton(AF_INET, bare, probe) != 1 && inet_pton(AF_INET6, bare, probe) != 1)
		*pin = xasprintf("%s:%s:%s", host, port, addrs);
	free(addrs);
	/* the proxy is the user's own choice: its addresses may be anything */
	if (!is_loopback(host) && !c->secret_path && env_proxy(scheme, &ph, &pp) == 0) {
		char *pb = bare_host(ph);

		if (http_resolve(pb, pp, 1, 1, &pa, &e) == 0) {
			g->proxy = xasprintf(",%s,", pa);
			free(pa);
		}
		free(e);
		free(pb);
		parts_free(NULL, ph, pp);
	}
	free(bare);
	parts_free(scheme, host, port);
	return 0;
}

static void
guard_free(guard *g)
{
	free(g->addrs);
	free(g->proxy);
	memset(g, 0, sizeof *g);
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	buf *b = arg;

	n *= size;
	if (b->len + n > BODY_MAX) {
		b->toobig = 1;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	jv *h = arg;
	size_t len = size * n, k, vs, ve;
	char name[256];
	jv old, val;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {	/* a new response: keep only the last */
		jv_free(*h);
		*h = jv_object();
		return len;
	}
	for (k = 0; k < len && data[k] != ':'; k++)
		;
	if (k == 0 || k == len || k >= sizeof name)
		return len;
	for (size_t i = 0; i < k; i++)
		name[i] = (char)tolower((unsigned char)data[i]);
	name[k] = '\0';
	for (vs = k + 1; vs < len && (data[vs] == ' ' || data[vs] == '\t'); vs++)
		;
	for (ve = len; ve > vs && isspace((unsigned char)data[ve - 1]); ve--)
		;
	val = jv_string_sized(data + vs, (int)(ve - vs));
	old = jv_object_get(jv_copy(*h), jv_string(name));
	if (jv_get_kind(old) == JV_KIND_STRING)	/* repeated headers are one list (RFC 9110) */
		val = jv_string_concat(jv_string_concat(old, jv_string(", ")), val);
	else
		jv_free(old);
	*h = jv_object_set(*h, jv_string(name), val);
	return len;
}

/* the value of a response header, or NULL; valid while r->headers is */
static const char *
header(const http_response *r, const char *name)
{
	jv v;
	const char *s;

	if (jv_get_kind(r->headers) != JV_KIND_OBJECT)
		return NULL;
	v = jv_object_get(jv_copy(r->headers), jv_string(name));
	if (jv_get_kind(v) != JV_KIND_STRING) {
		jv_free(v);
		return NULL;
	}
	s = jv_string_value(v);
	jv_free(v);	/* r->headers still holds the string */
	return s;
}

static char *
full_url(const http_client *c, const char *url)
{
	size_t n;

	if (strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) == 0)
		return xstrdup(url);
	/* a path continues the base's path: https://ghe.example.com/api/v3 + /orgs/x */
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s", (int)n, c->base, url + strspn(url, "/"));
}

static int
retriable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

/* GitHub answers its rate limits with 403 as well as 429 */
static int
rate_limited(const http_response *r)
{
	const char *rem = header(r, "x-ratelimit-remaining");

	return r->status == 429 || r->status >= 500 ||
	    (r->status == 403 && (header(r, "retry-after") || (rem && strcmp(rem, "0") == 0)));
}

static uint32_t
jitter(void)
{
	uint32_t x;

	if (RAND_bytes((unsigned char *)&x, sizeof x) != 1)
		x = (uint32_t)random();
	return x;
}

/* milliseconds to wait before try number `tries + 1`; r is NULL when no response came */
static int64_t
wait_ms(const http_response *r, int tries)
{
	const char *ra = r ? header(r, "retry-after") : NULL;
	const char *reset = r ? header(r, "x-ratelimit-reset") : NULL;
	const char *rem = r ? header(r, "x-ratelimit-remaining") : NULL;
	int64_t base;
	char *end;

	if (ra) {
		long long s;
		time_t t;

		errno = 0;
		s = strtoll(ra, &end, 10);
		if (end != ra && *end == '\0' && errno == 0)
			return s < 0 ? 0 : s * 1000;
		if ((t = curl_getdate(ra, NULL)) != -1)
			return t > time(NULL) ? (int64_t)(t - time(NULL)) * 1000 : 0;
	}
	if (reset && rem && strcmp(rem, "0") == 0) {
		long long t;

		errno = 0;
		t = strtoll(reset, &end, 10);
		if (end != reset && errno == 0)
			return t > (long long)time(NULL) ? (t - (long long)time(NULL) + 1) * 1000 : 0;
	}
	base = INT64_C(1000) << (tries - 1 < 20 ? tries - 1 : 20);
	return base + (int64_t)(jitter() % (uint64_t)(base / 2 + 1));
}

void
http_nap(int64_t ms)
{
	struct timespec ts;

	if (env_flag("MALLCOP_HTTP_FAST"))
		ms /= 1000;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct curl_slist *
request_headers(const http_client *c, const char *body, const char *content_type)
{
	struct curl_slist *l = NULL, *t;
	char *ct;

	for (size_t i = 0; i < c->nheaders; i++) {
		if (!(t = curl_slist_append(l, c->headers[i])))
			die(EXIT_WORK, "out of memory");
		l = t;
	}
	if (body && content_type) {
		ct = xasprintf("Content-Type: %s", content_type);
		if (!(t = curl_slist_append(l, ct)))
			die(EXIT_WORK, "out of memory");
		l = t;
		free(ct);
	}
	if (!(t = curl_slist_append(l, "Expect:")))	/* no 100-continue round trip */
		die(EXIT_WORK, "out of memory");
	return t;
}

/* one try; CURLE_OK when a response (any status) came */
static CURLcode
perform(const http_client *c, const char *method, const char *url, const char *body,
    struct curl_slist *hdrs, struct curl_slist *pin, guard *g, http_response *r,
    char errbuf[CURL_ERROR_SIZE])
{
	CURL *h = curl_easy_init();
	buf b = { 0 };
	const char *ca = getenv("CURL_CA_BUNDLE");
	char *scheme, *host, *port;
	CURLcode rc;

	if (!h)
		return CURLE_OUT_OF_MEMORY;
	if (!ca || !*ca)
		ca = getenv("SSL_CERT_FILE");
	errbuf[0] = '\0';
	jv_free(r->headers);
	r->headers = jv_object();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s > 0 ? c->timeout_s : 30L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (ca && *ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	if (url_parts(url, &scheme, &host, &port) == 0 && is_loopback(host))
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");	/* a proxy cannot reach our loopback */
	parts_free(scheme, host, port);
	if (pin)
		curl_easy_setopt(h, CURLOPT_RESOLVE, pin);
	if (c->secret_path)	/* a URL that is a credential goes direct, never to a proxy */
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, g);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mallcop/" MALLCOP_VERSION);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (body || strcmp(method, "POST") == 0) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)(body ? strlen(body) : 0));
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		}
	}
	rc = curl_easy_perform(h);
	if (b.toobig) {
		snprintf(errbuf, CURL_ERROR_SIZE, "response larger than %d MiB", BODY_MAX >> 20);
		rc = CURLE_FILESIZE_EXCEEDED;
	}
	r->status = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	free(r->body);
	r->body = b.p ? b.p : xstrdup("");
	r->len = b.len;
	curl_easy_cleanup(h);
	return rc;
}

/*
 * http_json names the request in its errors, but a response has no field for it: the
 * description ("github: GET /orgs/x/audit-log") is kept after the body's terminating NUL.
 * So a response handed to http_json must come from http_request.
 */
static void
remember_request(http_response *r, const char *what)
{
	size_t n = strlen(what);

	r->body = xrealloc(r->body, r->len + 1 + n + 1);
	memcpy(r->body + r->len + 1, what, n + 1);
}

/* "WHO: METHOD PATH: HTTP STATUS: TEXT", or with the transport's failure for a status */
static char *
describe(const http_client *c, const char *what, const http_response *r, CURLcode rc,
    const char *errbuf, const char *why)
{
	char *text, *msg;

	if (rc != CURLE_OK) {
		msg = xasprintf("%s: %s%s%s", what, *errbuf ? errbuf : curl_easy_strerror(rc),
		    why ? " " : "", why ? why : "");
	} else {
		text = service_text(r->body, r->len);
		msg = xasprintf("%s: HTTP %ld%s%s%s%s", what, r->status, text ? ": " : "",
		    text ? text : "", why ? " " : "", why ? why : "");
		free(text);
	}
	(void)c;
	return secret_scrub(msg);
}

int
http_request(http_client *c, const char *method, const char *url, const char *body,
    const char *content_type, http_response *r)
{
	struct curl_slist *hdrs, *pin = NULL;
	char errbuf[CURL_ERROR_SIZE], *full, *path, *what, why[160], *pinned = NULL, *gerr = NULL;
	guard g;
	int tries = 0, max = c->max_tries > 0 ? c->max_tries : 1, status = -1;
	int64_t waited = 0, w, budget = (int64_t)(c->max_wait_s > 0 ? c->max_wait_s : 0) * 1000;
	CURLcode rc;

	memset(r, 0, sizeof *r);
	r->headers = jv_object();
	full = full_url(c, url);
	path = c->secret_path ? url_host(full) : url_path(full);
	what = xasprintf("%s: %s %s", whoof(c), method, path);
	if (!http_same_host(c, full)) {
		/* the credentials go with every request: never to a host the user did not configure */
		r->body = xstrdup("");
		r->error = xasprintf("%s: refusing to send a request to another host than %s",
		    what, c->base);
		goto out;
	}
	if (guard_init(c, full, &g, &pinned, &gerr) < 0) {	/* before any connection */
		r->body = xstrdup("");
		r->error = xasprintf("%s: %s", what, gerr);
		free(gerr);
		goto out;
	}
	hdrs = request_headers(c, body, content_type);
	if (pinned && !(pin = curl_slist_append(NULL, pinned)))
		die(EXIT_WORK, "out of memory");
	free(pinned);
	for (;;) {
		rc = perform(c, method, full, body, hdrs, pin, &g, r, errbuf);
		tries++;
		if (rc == CURLE_OK && r->status >= 200 && r->status < 300) {
			status = 0;
			break;
		}
		/* a service that echoes the request sends our secrets back: they go at once */
		if (r->body && !memchr(r->body, '\0', r->len))
			r->len = strlen(secret_scrub(r->body));
		if (rc != CURLE_OK && g.refused[0]) {	/* DNS moved it: never retried */
			r->error = xasprintf("%s: refusing to connect to %s: not an address the host "
			    "was checked to have", what, g.refused);
			break;
		}
		if (rc == CURLE_OK ? !rate_limited(r) : !retriable_curl(rc)) {
			r->error = describe(c, what, r, rc, errbuf, NULL);
			break;
		}
		if (tries >= max) {
			snprintf(why, sizeof why, "(%s: gave up after %d %s)",
			    rc == CURLE_OK ? "the service kept answering 429/5xx" :
			    "the service kept failing", tries, tries == 1 ? "try" : "tries");
			r->error = describe(c, what, r, rc, errbuf, why);
			break;
		}
		w = wait_ms(rc == CURLE_OK ? r : NULL, tries);
		if (waited + w > budget) {
			snprintf(why, sizeof why, "(%s: waiting %lld s more would pass the limit of "
			    "%ld s, after %d %s)", rc == CURLE_OK ?
			    "the service kept answering 429/5xx" : "the service kept failing",
			    (long long)((w + 999) / 1000), c->max_wait_s, tries,
			    tries == 1 ? "try" : "tries");
			r->error = describe(c, what, r, rc, errbuf, why);
			break;
		}
		http_nap(w);
		waited += w;
	}
	curl_slist_free_all(hdrs);
	curl_slist_free_all(pin);
	guard_free(&g);
out:
	remember_request(r, what);
	free(what);
	free(path);
	free(full);
	return status;
}

jv
http_json(const http_response *r, char **err)
{
	const char *what = r->body ? r->body + r->len + 1 : "http";
	char *safe = NULL;
	jv j, msg;

	*err = NULL;
	if (!r->body) {
		*err = xasprintf("%s: no response", what);
		return jv_invalid();
	}
	j = jsonl_parse(r->body, r->len);
	if (jv_is_valid(j))
		return j;
	msg = jv_invalid_get_msg(j);
	if (jv_get_kind(msg) == JV_KIND_STRING) {
		/* jq quotes the whole input after "(while parsing": megabytes, maybe a secret */
		char *m = xstrdup(jv_string_value(msg)), *cut = strstr(m, " (while parsing");

		if (cut)
			*cut = '\0';
		safe = human_safe(m);
		free(m);
	}
	*err = xasprintf("%s: HTTP %ld: malformed JSON in the response: %s", what, r->status,
	    safe ? safe : "empty body");
	free(safe);
	jv_free(msg);
	return jv_invalid();
}

/* the next link-value of an RFC 8288 Link header: its URI and whether rel has "next" */
static const char *
link_value(const char *p, const char **uri, size_t *urilen, int *next)
{
	*next = 0;
	p += strspn(p, " \t,");
	if (*p != '<')
		return NULL;
	*uri = ++p;
	if (!(p = strchr(p, '>')))
		return NULL;
	*urilen = (size_t)(p - *uri);
	p++;
	while (*p && *p != ',') {	/* ; name = value, value a token or a quoted-string */
		char name[32], val[256];
		size_t n = 0, v = 0;

		p += strspn(p, " \t");
		if (*p != ';')
			return NULL;
		p += 1 + strspn(p + 1, " \t");
		while (*p && !strchr("=;, \t", *p))
			if (n + 1 < sizeof name)
				name[n++] = *p++;
			else
				p++;
		name[n] = '\0';
		p += strspn(p, " \t");
		if (*p == '=') {
			p += 1 + strspn(p + 1, " \t");
			if (*p == '"') {
				for (p++; *p && *p != '"'; p++) {
					if (*p == '\\' && p[1])
						p++;
					if (v + 1 < sizeof val)
						val[v++] = *p;
				}
				if (*p == '"')
					p++;
			} else {
				while (*p && !strchr(";, \t", *p))
					if (v + 1 < sizeof val)
						val[v++] = *p++;
					else
						p++;
			}
		}
		val[v] = '\0';
		p += strspn(p, " \t");
		if (strcasecmp(name, "rel") == 0)	/* rel="next last": a list of types */
			for (char *s = strtok(val, " \t"); s; s = strtok(NULL, " \t"))
				if (strcasecmp(s, "next") == 0)
					*next = 1;
	}
	return p;
}

char *
http_link_next(const http_response *r)
{
	const char *p = header(r, "link"), *uri;
	size_t n;
	int next;

	while (p && *p) {
		if (!(p = link_value(p, &uri, &n, &next)))
			return NULL;
		if (next) {
			char *s = xmalloc(n + 1);

			memcpy(s, uri, n);
			s[n] = '\0';
			return s;
		}
	}
	return NULL;
}

int
http_same_host(const http_client *c, const char *url)
{
	char *s1, *h1, *p1, *s2, *h2, *p2;
	int same = 0;

	if (!c->base || !url || url_parts(c->base, &s1, &h1, &p1) < 0)
		return 0;
	if (url_parts(url, &s2, &h2, &p2) == 0) {
		same = strcasecmp(s1, s2) == 0 && strcasecmp(h1, h2) == 0 && strcmp(p1, p2) == 0;
		parts_free(s2, h2, p2);
	}
	parts_free(s1, h1, p1);
	return same;
}

/* the next URL a page names, or NULL; malloc'd */
static char *
next_url(const http_response *r, jv page, enum http_next style, const char *key)
{
	const char *s = NULL;
	char *out = NULL;
	jv v;

	switch (style) {
	case HTTP_NEXT_LINK:
		return http_link_next(r);
	case HTTP_NEXT_HEADER: {
		char *lower = xstrdup(key);

		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		s = header(r, lower);
		out = s && *s ? xstrdup(s) : NULL;
		free(lower);
		return out;
	}
	case HTTP_NEXT_BODY:
		if (jv_get_kind(page) != JV_KIND_OBJECT)
			return NULL;
		v = jv_object_get(jv_copy(page), jv_string(key));
		if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v))
			out = xstrdup(jv_string_value(v));
		jv_free(v);
		return out;
	}
	return NULL;
}

int
http_get_pages(http_client *c, const char *url, enum http_next style, const char *key,
    http_page_fn fn, void *arg, http_response *fail)
{
	char *cur = full_url(c, url), *prev = NULL, *err = NULL, *next, *path;
	int rc = -1;

	memset(fail, 0, sizeof *fail);
	fail->headers = jv_null();
	while (cur) {
		http_response r;
		jv page;

		if (http_request(c, "GET", cur, NULL, NULL, &r)) {
			http_response_free(fail);
			*fail = r;
			goto out;
		}
		page = http_json(&r, &err);
		if (!jv_is_valid(page)) {
			jv_free(page);
			fail->status = r.status;
			fail->error = err;
			http_response_free(&r);
			goto out;
		}
		next = next_url(&r, page, style, key);
		path = xstrdup(r.body + r.len + 1);	/* "who: GET /path" */
		http_response_free(&r);
		if (fn(page, arg)) {	/* fn said why: fail->error stays NULL */
			free(path);
			free(next);
			goto out;
		}
		free(prev);
		prev = cur;
		cur = NULL;
		if (next && !http_same_host(c, next)) {
			fail->error = xasprintf("%s: refusing to follow a next link to another host "
			    "than %s", path, c->base);
			free(next);
		} else if (next && streq(next, prev)) {
			fail->error = xasprintf("%s: the next link repeats the page just read",
			    path);
			free(next);
		} else {
			cur = next;
		}
		free(path);
		if (fail->error)
			goto out;
	}
	rc = 0;
out:
	free(prev);
	free(cur);
	return rc;
}

char *
http_next_token(jv body, const char *key, const char *prev, int *repeated)
{
	char *out = NULL;
	jv v;

	*repeated = 0;
	if (jv_get_kind(body) != JV_KIND_OBJECT)
		return NULL;
	v = jv_object_get(jv_copy(body), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v)) {
		out = xstrdup(jv_string_value(v));
		*repeated = prev && streq(prev, out);
	}
	jv_free(v);
	return out;
}
