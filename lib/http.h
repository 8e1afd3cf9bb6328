/* http: requests to the services mallcop watches, over libcurl (mallcop.7, NETWORK) */
#ifndef MALLCOP_HTTP_H
#define MALLCOP_HTTP_H
#include <stddef.h>
#include <stdint.h>
#include <jv.h>

typedef struct http_client {
	const char *who;	/* for messages: the connector's name, "github" */
	char *base;		/* the configured base URL: next links may only go to its host */
	long timeout_s;		/* per request, default 30 */
	int max_tries;		/* on 429 and 5xx, default 5 */
	long max_wait_s;	/* all retries of one request together wait at most this, default 120 */
	char **headers;		/* "Name: value" sent with every request (auth goes here) */
	size_t nheaders;
	/*
	 * Every request is guarded (http_resolve): the host's addresses are checked before
	 * connecting and pinned (CURLOPT_RESOLVE), and the address each connection really goes to
	 * must be one of them (or the proxy's), so a second DNS answer cannot move it. Link-local
	 * and metadata addresses are never reached; private, loopback and other non-public ones
	 * only with allow_private (http_init sets it from http_allow_private), loopback also when
	 * the base URL names a loopback host itself (loopback_base).
	 */
	int allow_private;
	int loopback_base;
	int secret_path;	/* the URL's path is a secret: messages name the host, not the path */
} http_client;

typedef struct http_response {
	long status;		/* 0 when no response came */
	char *body;		/* NUL-terminated */
	size_t len;
	jv headers;		/* {lower-case name: value} of the final response */
	char *error;		/* set when the request failed: "github: GET /orgs/x/audit-log: HTTP
				 * 401: Bad credentials" (never a secret, never the query string) */
} http_response;

/*
 * base: an https:// URL, or http:// to a loopback address (tests, local servers); anything else
 * is refused. CURL_CA_BUNDLE / SSL_CERT_FILE are honoured; verification is never off.
 */
int http_init(http_client *c, const char *who, const char *base, char **err);
/* the allow_private of every client http_init makes from now on (a connector's setting) */
void http_allow_private(int yes);
/*
 * The base URL's host, when it is an address itself, checked now (a configuration error rather
 * than a failed request); a name is checked by every request. 0, or -1 and *err.
 */
int http_check_base(const http_client *c, char **err);

/* what makes an address unfit to be asked: "loopback", "private", "link-local", "metadata"...,
 * or NULL (public) */
const char *http_addr_kind(const char *ip);
/* why the guard refuses the address ip (a static string), or NULL when it may be reached */
const char *http_addr_refused(const char *ip, int allow_private, int allow_loopback);
/*
 * Resolve host (getaddrinfo; no brackets around an IPv6 literal) and check every address with
 * http_addr_refused; *addrs "A,[B]" the checked addresses. -1 and *err naming the host, the
 * address and the setting that allows it.
 */
int http_resolve(const char *host, const char *port, int allow_private, int allow_loopback,
    char **addrs, char **err);
void http_free(http_client *c);
int http_header(http_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * One request (method "GET"/"POST"; url absolute, or a path joined to base; body may be NULL)
 * with retries on 429 and 5xx (and connection errors), honouring Retry-After and the
 * rate-limit reset headers, with exponential backoff and jitter, within max_wait_s.
 * Returns 0 when a response with status 2xx came; -1 otherwise with r->error set.
 */
int http_request(http_client *c, const char *method, const char *url, const char *body,
    const char *content_type, http_response *r);
void http_response_free(http_response *r);

/* sleep ms milliseconds (a thousandth of that with MALLCOP_HTTP_FAST=1, for the tests) */
void http_nap(int64_t ms);

/* the body as JSON; an error naming the request when it is not */
jv http_json(const http_response *r, char **err);

/* pagination: the rel="next" URL of a Link header, or NULL */
char *http_link_next(const http_response *r);
/* a next link (from a header or a body) is followed only to the base URL's scheme and host */
int http_same_host(const http_client *c, const char *url);

/* where the next page is named */
enum http_next {
	HTTP_NEXT_LINK,		/* the rel="next" URL of a Link header (GitHub) */
	HTTP_NEXT_BODY,		/* a URL in the body object under key (Azure "nextLink") */
	HTTP_NEXT_HEADER,	/* a URL in the response header key (Office 365 "NextPageUri") */
};

/* one page's JSON (consumed); 0 goes on, anything else stops the paging (fn said why) */
typedef int (*http_page_fn)(jv page, void *arg);

/*
 * GET url and every page after it, each page's JSON to fn. A next URL is followed only to the
 * base URL's scheme, host and port, and never when it repeats the page just read. 0 when every
 * page came. -1 otherwise, with fail->status (0 when no response was the cause) and
 * fail->error: the request's error, "malformed JSON", or the refused link (NULL when fn
 * stopped the paging: fn said why); free it with http_response_free.
 */
int http_get_pages(http_client *c, const char *url, enum http_next style, const char *key,
    http_page_fn fn, void *arg, http_response *fail);

/*
 * The third style: a continuation token in the body (AWS "NextToken"), sent back in the next
 * request's body. body[key] when it is a non-empty string, malloc'd; NULL when there is none.
 * *repeated is set when it equals prev (the service is looping: stop).
 */
char *http_next_token(jv body, const char *key, const char *prev, int *repeated);
#endif
