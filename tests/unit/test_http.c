/* http: requests, retries, error messages and pagination against tests/mock/serve.py */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "t.h"

#define MOCK_ROOT "/tmp/test_http.XXXXXX"
#include "mock.h"

#define TOKEN "s3cr3t-t0ken-4242"

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}


/* a client of the mock, with a secret, failing fast */
static void
client(http_client *c)
{
	char *err;

	if (http_init(c, "test", base, &err) < 0) {
		printf("# http_init: %s\n", err);
		free(err);
		exit(1);
	}
	c->max_tries = 5;
	http_header(c, "Authorization: Bearer %s", TOKEN);
	http_header(c, "Accept: application/json");
}

static void
t_ok(http_client *c)
{
	http_response r;
	char *err;
	jv j;

	ok(http_request(c, "GET", "/ok?page=1", NULL, NULL, &r) == 0, "200 is success");
	ok(r.status == 200 && r.error == NULL, "status 200, no error");
	j = http_json(&r, &err);
	ok(jv_get_kind(j) == JV_KIND_OBJECT && err == NULL, "the body parses as JSON");
	ok(jv_number_value(jv_array_get(jv_object_get(jv_copy(j), jv_string("items")), 1)) == 2,
	    "the body's content comes through");
	jv_free(j);
	j = jv_object_get(jv_copy(r.headers), jv_string("x-custom"));
	is_str(jv_get_kind(j) == JV_KIND_STRING ? jv_string_value(j) : "", "Yes",
	    "headers are captured under lower-case names");
	jv_free(j);
	ok(count(slurp(at("log.jsonl")), "\"authorization\": \"Bearer " TOKEN "\"") == 1,
	    "the Authorization header is sent");
	ok(count(slurp(at("log.jsonl")), "\"query\": \"page=1\"") == 1, "the query string is sent");
	http_response_free(&r);
}

static void
t_link(http_client *c)
{
	http_response r;
	char *next;

	http_request(c, "GET", "/ok", NULL, NULL, &r);
	next = http_link_next(&r);
	is_str(next, "https://api.github.com/orgs/x/audit-log?after=abc%2C1&per_page=100",
	    "the rel=\"next\" URL of two Link headers");
	free(next);
	http_response_free(&r);

	r.headers = jv_object_set(jv_object(), jv_string("link"), jv_string(
	    "<https://h/last>; rel=\"last\", <https://h/p?a=1,2>; title=\"a, b; c\"; REL=\"prev next\""));
	next = http_link_next(&r);
	is_str(next, "https://h/p?a=1,2", "rel lists, quoted commas and semicolons, case");
	free(next);
	jv_free(r.headers);
	r.headers = jv_object_set(jv_object(), jv_string("link"),
	    jv_string("<https://h/first>; rel=\"first\", <https://h/prev>; rel=prev"));
	ok(http_link_next(&r) == NULL, "no next link on the last page");
	jv_free(r.headers);
	r.headers = jv_object();
	ok(http_link_next(&r) == NULL, "no Link header, no next link");
	jv_free(r.headers);
}

static void
t_errors(http_client *c)
{
	http_response r;

	ok(http_request(c, "GET", "/secret?token=qs-abc", NULL, NULL, &r) == -1, "401 fails");
	ok(r.status == 401, "the status is kept");
	is_str(r.error, "test: GET /secret: HTTP 401: Bad credentials",
	    "who, method, path without query, status and the service's message");
	ok(r.error && !strstr(r.error, TOKEN), "the token is not in the message");
	ok(count(slurp(at("log.jsonl")), "/secret") == 1, "a 401 is not retried");
	http_response_free(&r);

	http_request(c, "GET", "/echo", NULL, NULL, &r);
	ok(r.status == 403 && r.error && !strstr(r.error, TOKEN) && strstr(r.error, "HTTP 403"),
	    "a token the service echoes back is scrubbed: %s", r.error ? r.error : "");
	http_response_free(&r);

	http_request(c, "GET", "/azure", NULL, NULL, &r);
	is_str(r.error, "test: GET /azure: HTTP 403: The client 'x' does not have authorization",
	    "Azure's error.message");
	http_response_free(&r);
	http_request(c, "POST", "/oauth", "grant_type=client_credentials",
	    "application/x-www-form-urlencoded", &r);
	is_str(r.error, "test: POST /oauth: HTTP 400: invalid_client: AADSTS7000215: bad secret",
	    "OAuth error and error_description");
	ok(count(slurp(at("log.jsonl")), "\"body\": \"grant_type=client_credentials\"") == 1 &&
	    count(slurp(at("log.jsonl")), "application/x-www-form-urlencoded") == 1,
	    "a POST sends its body and content type");
	http_response_free(&r);
	http_request(c, "GET", "/aws", NULL, NULL, &r);
	is_str(r.error, "test: GET /aws: HTTP 400: Rate exceeded", "AWS's Message");
	http_response_free(&r);
	http_request(c, "GET", "/html", NULL, NULL, &r);
	ok(r.error && strstr(r.error, "HTTP 404: <h1>") && !strchr(r.error, '\033') &&
	    !strchr(r.error, '\n') && strlen(r.error) < 260,
	    "a text body: its start, without control characters: %s", r.error ? r.error : "");
	http_response_free(&r);
}

static void
t_retries(http_client *c)
{
	http_response r;
	double t0;

	t0 = now_s();
	ok(http_request(c, "GET", "/limited", NULL, NULL, &r) == 0 && r.status == 200,
	    "429 with Retry-After: 1, then 200, succeeds");
	ok(now_s() - t0 < 0.5, "MALLCOP_HTTP_FAST makes the wait short");
	ok(count(slurp(at("log.jsonl")), "\"/limited\"") == 2, "two requests");
	http_response_free(&r);

	ok(http_request(c, "GET", "/flaky", NULL, NULL, &r) == 0 && r.status == 200,
	    "500 three times, then 200, succeeds");
	ok(count(slurp(at("log.jsonl")), "\"/flaky\"") == 4, "four requests");
	http_response_free(&r);

	c->max_tries = 3;
	ok(http_request(c, "GET", "/down", NULL, NULL, &r) == -1 && r.status == 503,
	    "503 until max_tries fails");
	ok(count(slurp(at("log.jsonl")), "\"/down\"") == 3, "max_tries requests");
	ok(r.error && strstr(r.error, "test: GET /down: HTTP 503: maintenance") &&
	    strstr(r.error, "kept answering 429/5xx") && strstr(r.error, "3 tries"),
	    "the message says the service kept failing: %s", r.error ? r.error : "");
	http_response_free(&r);
	c->max_tries = 5;

	t0 = now_s();
	ok(http_request(c, "GET", "/hour", NULL, NULL, &r) == -1 &&
	    count(slurp(at("log.jsonl")), "\"/hour\"") == 1 && now_s() - t0 < 0.5,
	    "a Retry-After beyond max_wait_s fails at once");
	ok(r.error && strstr(r.error, "HTTP 429") && strstr(r.error, "kept answering 429/5xx") &&
	    strstr(r.error, "120 s"), "saying so: %s", r.error ? r.error : "");
	http_response_free(&r);

	t0 = now_s();
	ok(http_request(c, "GET", "/reset", NULL, NULL, &r) == 0, "403 with the rate limit "
	    "exhausted, then 200, succeeds");
	ok(now_s() - t0 >= 0.05, "after waiting for x-ratelimit-reset (100 s / 1000)");
	http_response_free(&r);

	t0 = now_s();
	ok(http_request(c, "GET", "/dated", NULL, NULL, &r) == 0, "429 with an HTTP-date "
	    "Retry-After, then 200, succeeds");
	ok(now_s() - t0 >= 0.03, "after waiting until that date (60 s / 1000)");
	http_response_free(&r);

	unsetenv("MALLCOP_HTTP_FAST");
	t0 = now_s();
	ok(http_request(c, "GET", "/slowly", NULL, NULL, &r) == 0 && now_s() - t0 >= 0.9,
	    "without MALLCOP_HTTP_FAST, Retry-After: 1 waits a second");
	http_response_free(&r);
	setenv("MALLCOP_HTTP_FAST", "1", 1);
}

static void
t_json(http_client *c)
{
	http_response r;
	char *err;
	jv j;

	ok(http_request(c, "GET", "/bad?x=1", NULL, NULL, &r) == 0, "a 200 with a bad body");
	j = http_json(&r, &err);
	ok(!jv_is_valid(j), "is not JSON");
	ok(err && strncmp(err, "test: GET /bad: HTTP 200: malformed JSON", 40) == 0,
	    "the error names the request: %s", err ? err : "");
	jv_free(j);
	free(err);
	http_response_free(&r);
}

/* a loopback base reaches its own host by name; a secret path stays out of the messages */
static void
t_pin(void)
{
	http_client c;
	http_response r;
	char *err, url[256];
	const char *port = strrchr(base, ':') + 1;

	snprintf(url, sizeof url, "http://localhost:%s", port);
	http_init(&c, "test", url, &err);
	c.max_tries = 1;
	ok(http_request(&c, "GET", "/ok", NULL, NULL, &r) == 0,
	    "localhost, given as the base, is checked, pinned and reached");
	http_response_free(&r);
	c.secret_path = 1;
	ok(http_request(&c, "GET", "/hooks/T0/B0/xyzzy-secret", NULL, NULL, &r) == -1 &&
	    r.error && !strstr(r.error, "xyzzy") && strstr(r.error, "GET localhost:") &&
	    strstr(r.error, "HTTP 404"), "secret_path: the message names the host, not the path: %s",
	    r.error ? r.error : "");
	http_response_free(&r);
	http_free(&c);
}

/* link-local and metadata addresses are never asked, whatever their spelling */
static void
t_guard(void)
{
	static const char *const never[] = { "https://169.254.169.254/latest/meta-data",
		"https://0xa9fea9fe/", "https://2852039166/", "https://169.254.43518/",
		"https://[::ffff:169.254.169.254]/", "https://[fe80::1]/", "https://[fd00:ec2::254]/",
		"https://0251.0376.0251.0376/" };
	static const char *const priv[] = { "https://10.0.0.1/", "https://[fd00::1]/",
		"https://192.168.1.1:8443/", "https://0.0.0.0/" };
	static const struct {
		const char *ip, *why;
	} kinds[] = {
		{ "169.254.169.254", "link-local" }, { "fd00:ec2::254", "metadata" },
		{ "100.100.100.200", "metadata" }, { "fe80::1", "link-local" },
		{ "10.0.0.1", "private" }, { "fd00::1", "unique-local" }, { "8.8.8.8", NULL },
	};
	http_client c;
	http_response r;
	char *err;

	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
		const char *got = http_addr_kind(kinds[i].ip);

		ok(kinds[i].why ? got && strcmp(got, kinds[i].why) == 0 : got == NULL, "%s is %s",
		    kinds[i].ip, kinds[i].why ? kinds[i].why : "public");
	}
	ok(http_addr_refused("169.254.169.254", 1, 1) && http_addr_refused("fe80::1", 1, 1),
	    "link-local is refused even with allow_private");
	ok(!http_addr_refused("10.0.0.1", 1, 0) && http_addr_refused("10.0.0.1", 0, 1),
	    "private only with allow_private");
	ok(!http_addr_refused("127.0.0.1", 0, 1) && http_addr_refused("127.0.0.1", 0, 0),
	    "loopback with allow_private or a loopback base");
	for (size_t i = 0; i < sizeof never / sizeof *never; i++) {
		http_allow_private(1);
		if (http_init(&c, "test", never[i], &err) < 0) {
			ok(0, "%s: %s", never[i], err);
			free(err);
			continue;
		}
		http_allow_private(0);
		c.max_tries = 1;
		c.timeout_s = 2;
		ok(http_request(&c, "GET", "/x", NULL, NULL, &r) == -1 && r.status == 0 && r.error &&
		    strstr(r.error, "refusing") && strstr(r.error, "never allowed"),
		    "%s is refused before connecting, even with allow_private: %s", never[i],
		    r.error ? r.error : "");
		http_response_free(&r);
		http_free(&c);
	}
	for (size_t i = 0; i < sizeof priv / sizeof *priv; i++) {
		http_init(&c, "test", priv[i], &err);
		c.max_tries = 1;
		ok(http_request(&c, "GET", "/x", NULL, NULL, &r) == -1 && r.status == 0 && r.error &&
		    strstr(r.error, "refusing") && strstr(r.error, "allow_private"),
		    "%s is refused without allow_private, naming it: %s", priv[i],
		    r.error ? r.error : "");
		http_response_free(&r);
		http_free(&c);
	}
	/* an empty port or a user name is not taken for port 80 or a login */
	ok(http_init(&c, "test", "http://127.0.0.1:/v1", &err) == -1 && err &&
	    strstr(err, "empty port"), "an empty port is refused: %s", err ? err : "");
	free(err);
	ok(http_init(&c, "test", "https://user@example.com/v1", &err) == -1, "a user name too");
	free(err);
}

static void
t_hosts(void)
{
	http_client c;
	http_response r;
	char *err, url[256];

	ok(http_init(&c, "test", "http://example.com/api", &err) == -1, "http:// to a remote "
	    "host is refused");
	ok(err && strstr(err, "example.com"), "naming the host: %s", err ? err : "");
	free(err);
	ok(http_init(&c, "test", "ftp://127.0.0.1/", &err) == -1, "ftp:// is refused");
	free(err);
	ok(http_init(&c, "test", "https://api.github.com", &err) == 0, "https:// is accepted");
	ok(http_same_host(&c, "https://api.github.com/orgs/x?page=2"), "same host");
	ok(http_same_host(&c, "https://api.github.com:443/x"), "the default port written out");
	ok(!http_same_host(&c, "https://evil.example/orgs/x"), "another host is refused");
	ok(!http_same_host(&c, "http://api.github.com/orgs/x"), "another scheme is refused");
	ok(!http_same_host(&c, "https://api.github.com:8443/x"), "another port is refused");
	ok(!http_same_host(&c, "https://api.github.com.evil.example/x"), "a suffix is refused");
	ok(!http_same_host(&c, "https://api.github.com@evil.example/x"), "userinfo tricks too");
	http_free(&c);
	ok(http_init(&c, "test", "http://[::1]:8080", &err) == 0, "http://[::1] is accepted");
	http_free(&c);
	ok(http_init(&c, "test", base, &err) == 0, "http://127.0.0.1:PORT is accepted");
	ok(http_request(&c, "GET", "https://evil.example/x", NULL, NULL, &r) == -1 &&
	    r.error && strstr(r.error, "another host"), "a request to another host is refused");
	http_response_free(&r);
	snprintf(url, sizeof url, "%s/ok", base);
	ok(http_request(&c, "GET", url, NULL, NULL, &r) == 0, "an absolute URL on the base host");
	http_response_free(&r);
	http_free(&c);

	snprintf(url, sizeof url, "%s/api/v3/", base);
	http_init(&c, "test", url, &err);
	ok(http_request(&c, "GET", "/ok", NULL, NULL, &r) == 0 &&
	    count(slurp(at("log.jsonl")), "\"/api/v3/ok\"") == 1, "a path continues the base's path");
	http_response_free(&r);
	http_free(&c);

	http_init(&c, "test", "http://127.0.0.1:1", &err);
	c.max_tries = 2;
	ok(http_request(&c, "GET", "/x?y=z", NULL, NULL, &r) == -1 && r.status == 0,
	    "a refused connection fails with status 0");
	ok(r.error && strncmp(r.error, "test: GET /x: ", 14) == 0 && strstr(r.error, "2 tries"),
	    "naming the request, after retrying: %s", r.error ? r.error : "");
	http_response_free(&r);
	http_free(&c);
}

/* pages: sums the items of each page (an array, or an object's "value") */
static int
add_page(jv page, void *arg)
{
	double *sum = arg;
	jv items = jv_get_kind(page) == JV_KIND_OBJECT ?
	    jv_object_get(jv_copy(page), jv_string("value")) : jv_copy(page);

	jv_free(page);
	if (jv_get_kind(items) != JV_KIND_ARRAY) {
		jv_free(items);
		return -1;
	}
	jv_array_foreach(items, i, x) {
		(void)i;
		*sum = *sum * 10 + jv_number_value(x);
		jv_free(x);
	}
	jv_free(items);
	return 0;
}

static void
t_pages(http_client *c)
{
	http_response f;
	double sum = 0;
	char *tok;
	int rep;
	jv b;

	ok(http_get_pages(c, "/az", HTTP_NEXT_BODY, "nextLink", add_page, &sum, &f) == 0 &&
	    sum == 123, "a next link in the body is followed to the last page (%g)", sum);
	http_response_free(&f);
	sum = 0;
	ok(http_get_pages(c, "/o365", HTTP_NEXT_HEADER, "NextPageUri", add_page, &sum, &f) == 0 &&
	    sum == 123, "a next link in a response header is followed (%g)", sum);
	http_response_free(&f);
	sum = 0;
	ok(http_get_pages(c, "/away", HTTP_NEXT_BODY, "nextLink", add_page, &sum, &f) < 0 &&
	    sum == 1 && f.error && strstr(f.error, "refusing to follow a next link"),
	    "a next link to another host is refused after the first page: %s",
	    f.error ? f.error : "");
	http_response_free(&f);
	sum = 0;
	ok(http_get_pages(c, "/loop", HTTP_NEXT_BODY, "nextLink", add_page, &sum, &f) < 0 &&
	    sum == 1 && f.error && strstr(f.error, "repeats the page"),
	    "a next link to the same page stops: %s", f.error ? f.error : "");
	http_response_free(&f);
	ok(http_get_pages(c, "/p500", HTTP_NEXT_BODY, "nextLink", add_page, &sum, &f) < 0 &&
	    f.status == 500 && f.error && strstr(f.error, "HTTP 500: down"),
	    "a failed request: its status and error: %s", f.error ? f.error : "");
	http_response_free(&f);
	ok(http_get_pages(c, "/bad", HTTP_NEXT_BODY, "nextLink", add_page, &sum, &f) < 0 &&
	    f.status == 200 && f.error && strstr(f.error, "malformed JSON"),
	    "a malformed page: %s", f.error ? f.error : "");
	http_response_free(&f);
	ok(http_get_pages(c, "/ok", HTTP_NEXT_BODY, "nextLink", add_page, &sum, &f) < 0 &&
	    f.error == NULL, "a page the caller refuses stops with no error of ours");
	http_response_free(&f);

	b = jv_parse("{\"NextToken\":\"t2\",\"Events\":[]}");
	tok = http_next_token(b, "NextToken", "t1", &rep);
	is_str(tok, "t2", "a continuation token");
	ok(!rep, "a new token is not a repeat");
	free(tok);
	tok = http_next_token(b, "NextToken", "t2", &rep);
	ok(tok && rep, "the same token again is a repeat");
	free(tok);
	jv_free(b);
	b = jv_parse("{\"NextToken\":\"\"}");
	ok(http_next_token(b, "NextToken", NULL, &rep) == NULL, "an empty token ends the paging");
	jv_free(b);
}

int
main(void)
{
	http_client c;
	char routes[8192];
	char date[64];
	time_t later = time(NULL) + 60;

	setvbuf(stdout, NULL, _IOLBF, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	setenv("MALLCOP_HTTP_FAST", "1", 1);
	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&later));
	snprintf(routes, sizeof routes, "["
	    "{\"method\":\"GET\",\"path\":\"/ok\",\"status\":200,\"body\":{\"items\":[1,2]},"
	    " \"headers\":{\"X-Custom\":\"Yes\",\"Link\":["
	    "  \"<https://api.github.com/orgs/x/audit-log?after=abc%%2C1&per_page=100>; rel=\\\"next\\\"\","
	    "  \"<https://api.github.com/orgs/x/audit-log?before=z>; rel=\\\"last\\\"\"]}},"
	    "{\"method\":\"GET\",\"path\":\"/api/v3/*\",\"status\":200,\"body\":{}},"
	    "{\"method\":\"GET\",\"path\":\"/secret\",\"status\":401,"
	    " \"body\":{\"message\":\"Bad credentials\",\"documentation_url\":\"https://docs\"}},"
	    "{\"method\":\"GET\",\"path\":\"/echo\",\"status\":403,"
	    " \"body\":\"the token " TOKEN " is not valid for Bearer " TOKEN "\"},"
	    "{\"method\":\"GET\",\"path\":\"/azure\",\"status\":403,\"body\":{\"error\":"
	    " {\"code\":\"AuthorizationFailed\",\"message\":\"The client 'x' does not have authorization\"}}},"
	    "{\"method\":\"POST\",\"path\":\"/oauth\",\"status\":400,\"body\":"
	    " {\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: bad secret\"}},"
	    "{\"method\":\"GET\",\"path\":\"/aws\",\"status\":400,\"body\":"
	    " {\"__type\":\"ThrottlingException\",\"Message\":\"Rate exceeded\"}},"
	    "{\"method\":\"GET\",\"path\":\"/html\",\"status\":404,\"body\":"
	    " \"<h1>\\u001b[31mNot\\nFound</h1>%0300d\"},"
	    "{\"method\":\"GET\",\"path\":\"/limited\",\"status\":429,\"times\":1,"
	    " \"headers\":{\"Retry-After\":\"1\"},\"body\":{\"message\":\"slow down\"}},"
	    "{\"method\":\"GET\",\"path\":\"/limited\",\"status\":200,\"body\":[]},"
	    "{\"method\":\"GET\",\"path\":\"/slowly\",\"status\":429,\"times\":1,"
	    " \"headers\":{\"Retry-After\":\"1\"},\"body\":\"\"},"
	    "{\"method\":\"GET\",\"path\":\"/slowly\",\"status\":200,\"body\":[]},"
	    "{\"method\":\"GET\",\"path\":\"/flaky\",\"status\":500,\"times\":3,\"body\":\"oops\"},"
	    "{\"method\":\"GET\",\"path\":\"/flaky\",\"status\":200,\"body\":[]},"
	    "{\"method\":\"GET\",\"path\":\"/down\",\"status\":503,\"body\":{\"message\":\"maintenance\"}},"
	    "{\"method\":\"GET\",\"path\":\"/hour\",\"status\":429,\"headers\":{\"Retry-After\":\"3600\"}},"
	    "{\"method\":\"GET\",\"path\":\"/reset\",\"status\":403,\"times\":1,\"headers\":"
	    " {\"X-RateLimit-Remaining\":\"0\",\"X-RateLimit-Reset\":\"%lld\"},"
	    " \"body\":{\"message\":\"API rate limit exceeded\"}},"
	    "{\"method\":\"GET\",\"path\":\"/reset\",\"status\":200,\"body\":[]},"
	    "{\"method\":\"GET\",\"path\":\"/dated\",\"status\":429,\"times\":1,"
	    " \"headers\":{\"Retry-After\":\"%s\"}},"
	    "{\"method\":\"GET\",\"path\":\"/dated\",\"status\":200,\"body\":[]},"
	    "{\"method\":\"GET\",\"path\":\"/bad\",\"status\":200,\"body\":\"{\\\"items\\\": [1,\"},"
	    "{\"method\":\"GET\",\"path\":\"/az\",\"query\":\"skip=2\",\"status\":200,"
	    " \"body\":{\"value\":[3]}},"
	    "{\"method\":\"GET\",\"path\":\"/az\",\"status\":200,\"body\":{\"value\":[1,2],"
	    " \"nextLink\":\"http://127.0.0.1:{port}/az?skip=2\"}},"
	    "{\"method\":\"GET\",\"path\":\"/o365\",\"query\":\"next=1\",\"status\":200,"
	    " \"body\":[3]},"
	    "{\"method\":\"GET\",\"path\":\"/o365\",\"status\":200,\"body\":[1,2],"
	    " \"headers\":{\"NextPageUri\":\"http://127.0.0.1:{port}/o365?next=1\"}},"
	    "{\"method\":\"GET\",\"path\":\"/away\",\"status\":200,\"body\":{\"value\":[1],"
	    " \"nextLink\":\"http://evil.example:{port}/az\"}},"
	    "{\"method\":\"GET\",\"path\":\"/loop\",\"status\":200,\"body\":{\"value\":[1],"
	    " \"nextLink\":\"http://127.0.0.1:{port}/loop\"}},"
	    "{\"method\":\"GET\",\"path\":\"/p500\",\"status\":500,\"body\":{\"message\":\"down\"}}"
	    "]", 0, (long long)time(NULL) + 99, date);
	if (start_mock(routes) < 0) {
		printf("Bail out! cannot start tests/mock/serve.py\n");
		return 1;
	}
	client(&c);
	t_ok(&c);
	t_link(&c);
	t_errors(&c);
	t_retries(&c);
	t_json(&c);
	t_pages(&c);
	http_free(&c);
	t_hosts();
	t_pin();
	t_guard();
	stop_mock();
	unlink(at("routes.json"));
	unlink(at("log.jsonl"));
	unlink(at("port"));
	rmdir(root);
	curl_global_cleanup();
	return t_done();
}
