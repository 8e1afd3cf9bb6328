/* mallcop-connector-azure: the Azure Activity Log of the configured subscriptions */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "cli.h"
#include "event.h"
#include "http.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-connector-azure [--cursor TIME | --since TIME]";

/* the Activity Log keeps 90 days; asking from earlier is refused by the service */
#define RETENTION (90 * 24 * 3600 * TS_SECOND)
#define LOOKBACK (7 * 24 * 3600 * TS_SECOND)
/*
 * A record reaches the Activity Log some minutes after its eventTimestamp: a run that resumes
 * from a cursor asks again for this much before it, so a late record is not skipped for good
 * (mallcop-scan skips the ids it already has)
 */
#define OVERLAP (15 * 60 * TS_SECOND)

/* first match wins: a resource type (or operation) at a '/' boundary, case-insensitive */
static const struct kind {
	const char *prefix, *type;
} kinds[] = {
	{"Microsoft.Authorization/roleAssignments", "role_assignment"},
	{"Microsoft.Authorization/roleDefinitions", "role_assignment"},
	{"Microsoft.App", "container_access"},		/* Container Apps */
	{"Microsoft.ContainerApp", "container_access"},	/* the earlier implementation's name */
	{"Microsoft.Security", "defender_alert"},
	{NULL, NULL},
};

typedef struct run {
	const char *sub;
	int64_t from;		/* records before this were not asked for */
	int64_t newest;		/* the newest eventTimestamp emitted, in microseconds; -1 = none */
	size_t events, untimed;
} run;

static int
under(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return !strncasecmp(s, prefix, n) && (s[n] == 0 || s[n] == '/');
}

/* o[key].value, or o[key] when that is a string itself (status, category, resourceType) */
static const char *
value_of(jv o, const char *key)
{
	const char *s = event_field(o, key);
	jv v;

	if (s)
		return s;
	v = jv_object_get(jv_copy(o), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_OBJECT)
		s = event_field(v, "value");
	jv_free(v);	/* o still holds it: s stays valid as long as o */
	return s;
}

static int
contains_ci(const char *s, const char *word)
{
	return s && strcasestr(s, word) != NULL;
}

static const char *
classify(const char *rtype, const char *op, const char *category)
{
	const char *what = rtype ? rtype : op ? op : "";
	const struct kind *k;

	for (k = kinds; k->prefix; k++)
		if (under(what, k->prefix))
			return k->type;
	if (category && !strcasecmp(category, "Security"))
		return "defender_alert";
	if (contains_ci(op, "login") || contains_ci(op, "signin"))
		return "login";
	return "resource_modified";
}

static const char *
severity(const char *level)
{
	if (!level)
		return "info";
	if (!strcasecmp(level, "Warning"))
		return "warn";
	if (!strcasecmp(level, "Error") || !strcasecmp(level, "Critical"))
		return "critical";
	return "info";
}

/* where the call came from: the token's ipaddr claim, else the HTTP request's client */
static const char *
caller_ip(jv e)
{
	const char *ip = NULL;
	jv o = jv_object_get(jv_copy(e), jv_string("claims"));

	if (jv_get_kind(o) == JV_KIND_OBJECT)
		ip = event_field(o, "ipaddr");
	jv_free(o);
	if (ip)
		return ip;
	o = jv_object_get(jv_copy(e), jv_string("httpRequest"));
	if (jv_get_kind(o) == JV_KIND_OBJECT)
		ip = event_field(o, "clientIpAddress");
	jv_free(o);
	return ip;
}

/* the built-in roles, by the id that ends a role definition's path */
static const struct role {
	const char *id, *name;
} roles[] = {
	{"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"},
	{"b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"},
	{"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"},
	{"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator"},
	{"f58310d9-a9f6-439a-9e8d-f62e7b41a168", "Role Based Access Control Administrator"},
	{"9980e02c-c2be-4d73-94e8-173b1dc7cf3c", "Virtual Machine Contributor"},
	{"ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor"},
	{NULL, NULL},
};

/* o[key], else o[lower-case first letter of key]: the request body's two spellings */
static const char *
either_case(jv o, const char *key)
{
	char low[64];
	const char *s = event_field(o, key);

	if (s || strlen(key) >= sizeof low)
		return s;
	strcpy(low, key);
	low[0] = (char)(low[0] - 'A' + 'a');
	return event_field(o, low);
}

/*
 * what a role assignment's request body (properties.requestbody, a JSON string) grants, to m:
 * role_definition_id, role_name for a built-in role, principal_id and principal_type
 */
static jv
assignment_meta(jv m, jv e)
{
	jv props = jv_object_get(jv_copy(e), jv_string("properties")), body = jv_invalid(), p;
	const char *text, *rd, *id;
	const struct role *r;

	if ((text = event_field(props, "requestbody")))
		body = jsonl_parse(text, strlen(text));
	p = jv_get_kind(body) == JV_KIND_OBJECT
	    ? jv_object_get(jv_copy(body), jv_string("Properties")) : jv_invalid();
	if (jv_get_kind(p) != JV_KIND_OBJECT && jv_get_kind(body) == JV_KIND_OBJECT) {
		jv_free(p);
		p = jv_object_get(jv_copy(body), jv_string("properties"));
	}
	if ((rd = either_case(p, "RoleDefinitionId"))) {
		id = strrchr(rd, '/') ? strrchr(rd, '/') + 1 : rd;
		m = event_meta(m, "role_definition_id", id);
		for (r = roles; r->id; r++)
			if (!strcasecmp(r->id, id))
				m = event_meta(m, "role_name", r->name);
	}
	m = event_meta(m, "principal_id", either_case(p, "PrincipalId"));
	m = event_meta(m, "principal_type", either_case(p, "PrincipalType"));
	jv_free(p);
	jv_free(body);
	jv_free(props);
	return m;
}

/* one Activity Log record (consumed) as an event on stdout */
static void
emit(run *r, jv e)
{
	const char *when, *op, *rtype, *key, *caller, *type;
	char *made = NULL;
	int64_t us;
	jv m, ev;

	if (jv_get_kind(e) != JV_KIND_OBJECT || !(when = event_field(e, "eventTimestamp")) ||
	    ts_parse(when, &us)) {
		jv_free(e);
		r->untimed++;
		return;
	}
	if (us < r->from) {	/* outside the window asked for */
		jv_free(e);
		return;
	}
	op = value_of(e, "operationName");
	rtype = value_of(e, "resourceType");
	caller = event_field(e, "caller");
	key = event_field(e, "eventDataId");
	if (!key)
		key = event_field(e, "id");	/* .../events/{eventDataId}/ticks/{ticks} */
	if (!key)
		key = made = xasprintf("%s:%s:%s:%s", when, event_field(e, "operationId") ?
		    event_field(e, "operationId") : "", op ? op : "", caller ? caller : "");

	m = jv_object();
	m = jv_object_set(m, jv_string("subscription_id"), jv_string(
	    event_field(e, "subscriptionId") ? event_field(e, "subscriptionId") : r->sub));
	m = event_meta(m, "resource_group", event_field(e, "resourceGroupName"));
	m = event_meta(m, "correlation_id", event_field(e, "correlationId"));
	m = event_meta(m, "status", value_of(e, "status"));
	m = event_meta(m, "category", value_of(e, "category"));
	m = event_meta(m, "ip", caller_ip(e));
	type = classify(rtype, op, value_of(e, "category"));
	if (streq(type, "role_assignment"))
		m = assignment_meta(m, e);

	ev = event_make("azure", key, us, type, caller, op, event_field(e, "resourceId"),
	    severity(event_field(e, "level")), m, e);
	free(made);
	jsonl_put(stdout, ev);
	r->events++;
	if (us > r->newest)
		r->newest = us;
}

static int
page_cb(jv page, void *arg)
{
	run *r = arg;
	jv v;

	v = jv_get_kind(page) == JV_KIND_OBJECT
	    ? jv_object_get(jv_copy(page), jv_string("value")) : jv_invalid();
	if (jv_get_kind(v) != JV_KIND_ARRAY) {
		warnf("azure: subscription '%s': the response is not a list of Activity Log "
		    "records (no \"value\" list)", r->sub);
		jv_free(v);
		jv_free(page);
		return -1;
	}
	jv_array_foreach(v, i, e) {
		(void)i;
		emit(r, e);
	}
	jv_free(v);
	jv_free(page);
	return 0;
}

/* the failure of one page: what to check, in the service's own words */
static void
page_failed(const run *r, const http_response *resp, const char *tenant, const char *client)
{
	const char *why = resp->error ? resp->error : "request failed";

	if (resp->status == 401 || resp->status == 403)
		warnf("azure: subscription '%s': access refused: check AZURE_CLIENT_ID '%s': the "
		    "service principal needs the Reader role (or "
		    "Microsoft.Insights/eventtypes/values/read) on the subscription (%s)",
		    r->sub, client, why);
	else if (resp->status == 404)
		warnf("azure: subscription '%s' not found, or not visible to client '%s' of "
		    "tenant '%s' (%s)", r->sub, client, tenant, why);
	else
		warnf("azure: subscription '%s': %s", r->sub, why);
}

/* every page of one subscription from r->from to end; 0 when all of them came */
static int
fetch(run *r, http_client *c, const char *base, int64_t end, const char *tenant,
    const char *client)
{
	char t1[TS_BUFSZ], t2[TS_BUFSZ], *filter, *q, *url;
	http_response fail;
	int rc;

	filter = xasprintf("eventTimestamp ge '%s' and eventTimestamp le '%s'",
	    ts_format(r->from, t1), ts_format(end, t2));
	if (!(q = curl_easy_escape(NULL, filter, 0)))
		die(EXIT_WORK, "out of memory");
	url = xasprintf("%s/subscriptions/%s/providers/Microsoft.Insights/eventtypes/management/"
	    "values?api-version=2015-04-01&$filter=%s", base, r->sub, q);
	curl_free(q);
	free(filter);
	rc = http_get_pages(c, url, HTTP_NEXT_BODY, "nextLink", page_cb, r, &fail);
	if (rc && fail.status >= 400)
		page_failed(r, &fail, tenant, client);
	else if (rc && fail.error)
		warnf("azure: subscription '%s': %s", r->sub, fail.error);
	http_response_free(&fail);
	free(url);
	return rc;
}

/* a subscription id: hex digits and '-' (a GUID), so it cannot change the path */
static int
sub_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	return strspn(s, "0123456789abcdefABCDEF-") == n;
}

/* subscription_ids (a list or one string), else subscription_id, else AZURE_SUBSCRIPTION_ID */
static jv
subscriptions(jv cfg)
{
	jv subs = jsonl_get(jv_copy(cfg), "subscription_ids");
	const char *env = getenv("AZURE_SUBSCRIPTION_ID");

	if (jv_get_kind(subs) == JV_KIND_STRING)
		subs = jv_array_append(jv_array(), subs);
	if (!jv_is_valid(subs) || jv_get_kind(subs) == JV_KIND_NULL) {
		jv_free(subs);
		subs = jsonl_get(jv_copy(cfg), "subscription_id");
		if (jv_get_kind(subs) == JV_KIND_STRING)
			subs = jv_array_append(jv_array(), subs);
	}
	if ((!jv_is_valid(subs) || jv_get_kind(subs) == JV_KIND_NULL) && env && *env) {
		jv_free(subs);
		subs = jv_array_append(jv_array(), jv_string(env));
	}
	if (!jv_is_valid(subs) || jv_get_kind(subs) == JV_KIND_NULL)
		die(EXIT_USAGE, "no subscription: set 'subscription_ids:' in the connector's "
		    "configuration (or AZURE_SUBSCRIPTION_ID)");
	if (jv_get_kind(subs) != JV_KIND_ARRAY || jv_array_length(jv_copy(subs)) == 0)
		die(EXIT_USAGE, "subscription_ids: must be a list of subscription ids");
	jv_array_foreach(subs, i, s) {
		(void)i;
		if (jv_get_kind(s) != JV_KIND_STRING || !sub_ok(jv_string_value(s)))
			die(EXIT_USAGE, "subscription_ids: '%s' is not a subscription id (a GUID)",
			    jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : "?");
		jv_free(s);
	}
	return subs;
}

int
main(int argc, char **argv)
{
	const char *given = NULL;
	auth_azure sp;
	int64_t since = -1, now, newest = -1, ask;
	size_t events = 0, untimed = 0;
	http_client login, api;
	char t[TS_BUFSZ], *err = NULL, *base, *login_url, *scope;
	jv cfg, subs, jscope;
	int failed = 0;

	setargv0(argv[0]);
	cfg = cli_connector(argc, argv, usage, &given, &since);
	if (given && ts_parse(given, &since)) {
		warnf("--cursor '%s' is not a time this connector wrote: starting 7 days back "
		    "(mallcop-scan skips events it already has)", given);
		since = -1;
	}
	subs = subscriptions(cfg);
	base = cli_url(cfg, "base_url", "https://management.azure.com", "azure");
	login_url = cli_url(cfg, "login_url", "https://login.microsoftonline.com", "azure");
	jscope = jsonl_get(jv_copy(cfg), "scope");
	if (jv_get_kind(jscope) == JV_KIND_STRING && *jv_string_value(jscope))
		scope = xstrdup(jv_string_value(jscope));
	else if (!jv_is_valid(jscope) || jv_get_kind(jscope) == JV_KIND_NULL)
		scope = xasprintf("%s/.default", base);
	else
		die(EXIT_USAGE, "scope: must be a string like https://management.azure.com/.default");
	jv_free(jscope);

	auth_azure_env(&sp, "azure");

	now = ts_now();
	now -= now % TS_SECOND;
	if (since < 0)
		since = now - LOOKBACK;
	since -= since % TS_SECOND;	/* again: its second may hold more records, the store skips ids */
	if (since < now - RETENTION) {
		warnf("azure: the Activity Log keeps 90 days: asking from %s",
		    ts_format(now - RETENTION, t));
		since = now - RETENTION;
	}
	if (since > now)	/* the service refuses a window that ends before it starts */
		since = now;
	ask = since;
	if (given && !ts_parse(given, &ask)) {
		ask = since - OVERLAP;
		if (ask < now - RETENTION)
			ask = now - RETENTION;
	}

	if (http_init(&login, "azure", login_url, &err) || http_init(&api, "azure", base, &err))
		die(EXIT_USAGE, "%s", err ? err : "a URL is not usable");
	if (auth_azure_bearer(&login, &sp, scope, &api, "azure")) {
		failed = 1;
	} else {
		jv_array_foreach(subs, i, s) {
			run r = {.sub = jv_string_value(s), .from = ask, .newest = -1};

			(void)i;
			if (fetch(&r, &api, base, now, sp.tenant, sp.client))
				failed = 1;
			events += r.events;
			untimed += r.untimed;
			if (r.newest > newest)
				newest = r.newest;
			jv_free(s);
		}
	}
	http_free(&api);
	http_free(&login);
	failed = cli_connector_end(failed, events, untimed,
	    ts_format(newest >= since ? newest - newest % TS_SECOND : since, t));
	free(base);
	free(login_url);
	free(scope);
	jv_free(subs);
	jv_free(cfg);
	return failed;
}
