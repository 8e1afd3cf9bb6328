/* mallcop-connector-container-logs: Azure Container Apps console logs, through Log Analytics */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cli.h"
#include "event.h"
#include "http.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-connector-container-logs [--cursor TIME | --since TIME]";

#define LOOKBACK (3600 * TS_SECOND)
/*
 * A line reaches Log Analytics some minutes after its TimeGenerated: a run that resumes from a
 * cursor asks again for this much before it, so a late line is not skipped for good
 * (mallcop-scan skips the ids it already has)
 */
#define OVERLAP (10 * 60 * TS_SECOND)
#define API_VERSION "2024-03-01"
enum { PAGE_DEFAULT = 5000, PAGE_MAX = 100000 };

/* what one run shares between the apps */
typedef struct run {
	http_client arm, logs;
	const char *sub, *rg;
	char *base, *logs_url, *workspace;	/* workspace: configured, else looked up */
	jv workspaces;		/* {environment id: workspace id}: asked once per run */
	const char *ask, *until;	/* the window, as KQL datetimes */
	long page;
	size_t max_line;	/* a longer line is cut to fit max_event_bytes */
	size_t events, untimed, cut;
	int64_t newest;
	const char *client;
} run;

/* one app's drain: where it is and what the last row was */
typedef struct drain {
	const char *app, *rg;
	char *prev;		/* the key of the last row emitted, to number identical rows */
	unsigned dup;
} drain;

/* a name Azure gives a container app or a resource group: nothing to quote in a URL path */
static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 90 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.()") == n && s[0] != '.';
}

/* s as a KQL string literal: "..." with \ and " escaped, control characters as \uXXXX */
static char *
kql_quote(const char *s)
{
	size_t n = strlen(s), at = 0;
	char *out = xmalloc(6 * n + 3);

	out[at++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[at++] = '\\';
			out[at++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			at += (size_t)sprintf(out + at, "\\u%04x", c);
		} else {
			out[at++] = (char)c;
		}
	}
	out[at++] = '"';
	out[at] = 0;
	return out;
}

/* the service's failure in words of what to check */
static void
failed_app(const run *r, const drain *d, const char *what, const http_response *resp)
{
	const char *why = resp->error ? resp->error : "request failed";

	if (resp->status == 401 || resp->status == 403)
		warnf("container-logs: app '%s': %s: access refused: the service principal "
		    "AZURE_CLIENT_ID '%s' needs the Reader role on the container app and its "
		    "environment, and Log Analytics Reader on the workspace (%s)", d->app, what,
		    r->client, why);
	else if (resp->status == 404)
		warnf("container-logs: app '%s': %s: not found: check the app's name, "
		    "resource_group '%s' and subscription_id '%s' (%s)", d->app, what, d->rg, r->sub,
		    why);
	else
		warnf("container-logs: app '%s': %s: %s", d->app, what, why);
}

/* GET an ARM resource's JSON: an object, or jv_invalid() after saying why */
static jv
arm_get(run *r, const drain *d, const char *path, const char *what)
{
	char *url = xasprintf("%s%s?api-version=" API_VERSION, r->base, path), *err = NULL;
	http_response resp = {0};
	jv j = jv_invalid();

	if (http_request(&r->arm, "GET", url, NULL, NULL, &resp)) {
		failed_app(r, d, what, &resp);
	} else if (jv_get_kind(j = http_json(&resp, &err)) != JV_KIND_OBJECT) {
		warnf("container-logs: app '%s': %s: %s", d->app, what, err ? err :
		    "the response is not a JSON object");
		jv_free(j);
		j = jv_invalid();
	}
	free(err);
	http_response_free(&resp);
	free(url);
	return j;
}

/* o.a.b.c as a string, or NULL; valid as long as o */
static const char *
path_str(jv o, const char *const *keys)
{
	const char *s = NULL;
	jv v = jv_copy(o);

	for (; *keys; keys++)
		v = jsonl_get(v, *keys);
	if (jv_get_kind(v) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(v)))
		s = jv_string_value(v);
	jv_free(v);	/* o still holds it */
	return s;
}

/* an ARM resource id: "/subscriptions/..." with nothing that could leave the path */
static int
resource_id_ok(const char *s)
{
	return s[0] == '/' && !strstr(s, "..") && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./()") == strlen(s);
}

/* the Log Analytics workspace that receives the app's logs: app -> environment -> workspace */
static const char *
workspace_of(run *r, const drain *d)
{
	static const char *const env_key[] = {"properties", "environmentId", NULL};
	static const char *const ws_key[] = {"properties", "appLogsConfiguration",
		"logAnalyticsConfiguration", "customerId", NULL};
	char *path;
	const char *env, *ws, *out = NULL;
	jv app, e, cached;

	if (r->workspace)
		return r->workspace;
	path = xasprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.App/"
	    "containerApps/%s", r->sub, d->rg, d->app);
	app = arm_get(r, d, path, "the container app");
	free(path);
	if (!jv_is_valid(app))
		return NULL;
	if (!(env = path_str(app, env_key)) || !resource_id_ok(env)) {
		warnf("container-logs: app '%s': the container app names no managed environment "
		    "(properties.environmentId)", d->app);
		jv_free(app);
		return NULL;
	}
	cached = jv_object_get(jv_copy(r->workspaces), jv_string(env));
	if (jv_get_kind(cached) == JV_KIND_STRING) {
		jv_free(cached);
		cached = jv_object_get(jv_copy(r->workspaces), jv_string(env));
		out = jv_string_value(cached);	/* r->workspaces holds it */
		jv_free(cached);
		jv_free(app);
		return out;
	}
	jv_free(cached);
	e = arm_get(r, d, env, "its managed environment");
	if (jv_is_valid(e)) {
		ws = path_str(e, ws_key);
		if (!ws || strspn(ws, "0123456789abcdefABCDEF-") != strlen(ws))
			warnf("container-logs: app '%s': its environment sends no logs to Log "
			    "Analytics (no appLogsConfiguration.logAnalyticsConfiguration.customerId): "
			    "set the environment's logs destination to a workspace, or workspace_id",
			    d->app);
		else {
			r->workspaces = jv_object_set(r->workspaces, jv_string(env), jv_string(ws));
			cached = jv_object_get(jv_copy(r->workspaces), jv_string(env));
			out = jv_string_value(cached);
			jv_free(cached);
		}
	}
	jv_free(e);
	jv_free(app);
	return out;
}

/* the column of each name in a table: -1 when it has none */
typedef struct cols {
	int time, log, app, container, stream, revision;
} cols;

static int
col_index(jv columns, const char *name)
{
	int at = -1;

	jv_array_foreach(columns, i, c) {
		const char *n = event_field(c, "name");

		if (at < 0 && n && streq(n, name))
			at = i;
		jv_free(c);
	}
	return at;
}

/* row[i] as a string, or NULL; valid as long as row */
static const char *
cell(jv row, int i)
{
	const char *s = NULL;
	jv v;

	if (i < 0 || i >= jv_array_length(jv_copy(row)))
		return NULL;
	v = jv_array_get(jv_copy(row), i);
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);	/* row still holds it */
	return s;
}

/* the longest prefix of s within n bytes that does not end inside a UTF-8 character */
static size_t
utf8_cut(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* one row (borrowed) as a log_line event on stdout */
static void
emit(run *r, drain *d, const cols *c, jv row)
{
	const char *when = cell(row, c->time), *line = cell(row, c->log);
	const char *container = cell(row, c->container), *stream = cell(row, c->stream);
	char *key;
	size_t len;
	int64_t us;
	jv m, raw;

	if (!when || ts_parse(when, &us)) {
		r->untimed++;
		return;
	}
	if (!line)	/* an empty line says nothing */
		return;
	len = strlen(line);
	key = xasprintf("%s:%s:%s:%s", d->app, container ? container : "", when, line);
	/* the same line twice at the same time from the same container: told apart by number */
	if (d->prev && streq(d->prev, key)) {
		char *n = xasprintf("%s#%u", key, ++d->dup);

		free(key);
		key = n;
	} else {
		free(d->prev);
		d->prev = xstrdup(key);
		d->dup = 0;
	}
	m = jv_object_set(jv_object(), jv_string("app"), jv_string(d->app));
	m = event_meta(m, "container", container);
	m = jv_object_set(m, jv_string("stream"), jv_string(stream ? stream : "stdout"));
	m = event_meta(m, "revision", cell(row, c->revision));
	if (len > r->max_line) {
		m = jv_object_set(m, jv_string("truncated"), jv_true());
		m = jv_object_set(m, jv_string("line_bytes"), jv_number((double)len));
		len = utf8_cut(line, r->max_line);
		r->cut++;
	}
	raw = jv_object_set(jv_object(), jv_string("line"), jv_string_sized(line, (int)len));
	jsonl_put(stdout, event_make("container-logs", key, us, "log_line", d->app, "log",
	    container ? container : d->app, "info", m, raw));
	free(key);
	r->events++;
	if (us > r->newest)
		r->newest = us;
}

static char *
query_text(const run *r, const drain *d, const char *from, long take)
{
	char *name = kql_quote(d->app), *q;

	q = xasprintf("ContainerAppConsoleLogs_CL"
	    " | where ContainerAppName_s == %s"
	    " | where TimeGenerated >= datetime(%s) and TimeGenerated <= datetime(%s)"
	    " | sort by TimeGenerated asc, ContainerName_s asc, Log_s asc"
	    " | take %ld", name, from, r->until, take);
	free(name);
	return q;
}

/* a KQL datetime: the TimeGenerated text of a row, which is put into the next query */
static int
kql_time_ok(const char *s)
{
	int64_t us;

	return strlen(s) < 40 && strspn(s, "0123456789-T:.Z+") == strlen(s) && !ts_parse(s, &us);
}

/* the next page starts later than this one, or at the same time with more rows taken */
static int
moves_on(const char *from, long skip, const char *last, long at_last)
{
	int64_t a, b;

	if (ts_parse(from, &a) || ts_parse(last, &b))
		return 0;
	return b > a || (b == a && (!streq(from, last) || at_last > skip));
}

/*
 * One query: rows from `from`, the first `skip` of them already emitted (rows at `from` the
 * last page ended with). 1 when a full page came (there may be more), 0 at the end, -1 failed.
 * *from and *skip say where the next page starts.
 */
static int
page(run *r, drain *d, const char *ws, char **from, long *skip)
{
	char *q = query_text(r, d, *from, r->page + *skip), *url, *err = NULL;
	http_response resp = {0};
	jv body, tables, t0, columns, rows, perr;
	int rc = -1;
	long n;
	cols c;

	body = jv_object_set(jv_object(), jv_string("query"), jv_string(q));
	free(q);
	body = jv_dump_string(body, 0);
	url = xasprintf("%s/v1/workspaces/%s/query", r->logs_url, ws);
	if (http_request(&r->logs, "POST", url, jv_string_value(body), "application/json",
	    &resp)) {
		failed_app(r, d, "Log Analytics query", &resp);
		goto out;
	}
	jv j = http_json(&resp, &err);

	if (!jv_is_valid(j)) {
		warnf("container-logs: app '%s': Log Analytics query: %s", d->app, err);
		jv_free(j);
		goto out;
	}
	/* a 200 with an error: the rows are partial (a limit was hit); taking them loses the rest */
	perr = jsonl_get(jv_copy(j), "error");
	if (jv_get_kind(perr) == JV_KIND_OBJECT) {
		const char *msg = event_field(perr, "message");

		warnf("container-logs: app '%s': Log Analytics answered with a partial result: %s; "
		    "lower page_size", d->app, msg ? msg : "(no message)");
		jv_free(perr);
		jv_free(j);
		goto out;
	}
	jv_free(perr);
	tables = jsonl_get(j, "tables");
	t0 = jv_get_kind(tables) == JV_KIND_ARRAY && jv_array_length(jv_copy(tables)) > 0
	    ? jv_array_get(jv_copy(tables), 0) : jv_invalid();
	if (jv_get_kind(tables) == JV_KIND_ARRAY && !jv_array_length(jv_copy(tables))) {
		rc = 0;	/* no table: no rows */
		jv_free(tables);
		jv_free(t0);
		goto out;
	}
	columns = jsonl_get(jv_copy(t0), "columns");
	rows = jsonl_get(t0, "rows");
	jv_free(tables);
	if (jv_get_kind(columns) != JV_KIND_ARRAY || jv_get_kind(rows) != JV_KIND_ARRAY) {
		warnf("container-logs: app '%s': Log Analytics query: the response is not a table "
		    "of rows (no \"tables\"[0].columns and .rows)", d->app);
		jv_free(columns);
		jv_free(rows);
		goto out;
	}
	c.time = col_index(columns, "TimeGenerated");
	c.log = col_index(columns, "Log_s");
	c.app = col_index(columns, "ContainerAppName_s");
	c.container = col_index(columns, "ContainerName_s");
	c.stream = col_index(columns, "Stream_s");
	c.revision = col_index(columns, "RevisionName_s");
	jv_free(columns);
	n = jv_array_length(jv_copy(rows));
	if (n && (c.time < 0 || c.log < 0)) {
		warnf("container-logs: app '%s': the query result has no TimeGenerated or Log_s "
		    "column", d->app);
		jv_free(rows);
		goto out;
	}
	const char *last = NULL;
	long at_last = 0;

	jv_array_foreach(rows, i, row) {
		if (jv_get_kind(row) == JV_KIND_ARRAY) {
			const char *t = cell(row, c.time);

			if (i >= *skip)
				emit(r, d, &c, row);
			if (t && kql_time_ok(t)) {
				at_last = last && streq(last, t) ? at_last + 1 : 1;
				last = t;	/* rows holds it */
			}
		} else {
			r->untimed++;
		}
		jv_free(row);
	}
	rc = n >= r->page + *skip ? 1 : 0;
	if (rc && !last) {
		warnf("container-logs: app '%s': a full page without a row time: cannot go on",
		    d->app);
		rc = -1;
	} else if (rc && !moves_on(*from, *skip, last, at_last)) {
		warnf("container-logs: app '%s': Log Analytics answered a page that does not move past "
		    "%s (rows it was not asked for): cannot go on", d->app, *from);
		rc = -1;
	} else if (rc) {
		/* the next query starts at the last row's time, its rows there already taken */
		*skip = at_last;
		free(*from);
		*from = xstrdup(last);
	}
	jv_free(rows);
out:
	free(err);
	http_response_free(&resp);
	free(url);
	jv_free(body);
	return rc;
}

/* every row of one app in the window; 0 when all of them came */
static int
fetch(run *r, jv app)
{
	const char *name = event_field(app, "name"), *ws;
	drain d = {.app = name, .rg = event_field(app, "resource_group")};
	char *from = xstrdup(r->ask);
	long skip = 0;
	int rc;

	if (!d.rg)
		d.rg = r->rg;
	if (!(ws = workspace_of(r, &d))) {
		free(from);
		return -1;
	}
	while ((rc = page(r, &d, ws, &from, &skip)) == 1)
		;
	free(from);
	free(d.prev);
	return rc;
}

/* apps: a list of {name, resource_group?} or names, each a container app's name */
static jv
apps_of(jv cfg)
{
	jv apps = jsonl_get(jv_copy(cfg), "apps"), out = jv_array();

	if (jv_get_kind(apps) != JV_KIND_ARRAY || jv_array_length(jv_copy(apps)) == 0)
		die(EXIT_USAGE, "apps: must be a list of container apps, like "
		    "[{name: web, resource_group: rg-apps}]");
	jv_array_foreach(apps, i, a) {
		jv o = jv_get_kind(a) == JV_KIND_STRING
		    ? jv_object_set(jv_object(), jv_string("name"), jv_copy(a)) : jv_copy(a);
		const char *n = event_field(o, "name"), *rg;
		jv rgv = jsonl_get(jv_copy(o), "resource_group");

		(void)i;
		if (!n || !name_ok(n))
			die(EXIT_USAGE, "apps[%d]: '%s' is not a container app name (letters, digits "
			    "and '-')", i, n ? n : "?");
		if (jv_is_valid(rgv) && jv_get_kind(rgv) != JV_KIND_NULL &&
		    (!(rg = event_field(o, "resource_group")) || !name_ok(rg)))
			die(EXIT_USAGE, "apps[%d].resource_group: not a resource group name", i);
		jv_free(rgv);
		out = jv_array_append(out, o);
		jv_free(a);
	}
	jv_free(apps);
	return out;
}

static char *
setting(jv cfg, const char *key, const char *env)
{
	jv v = jsonl_get(jv_copy(cfg), key);
	char *s = NULL;

	if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v))
		s = xstrdup(jv_string_value(v));
	else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL)
		die(EXIT_USAGE, "%s: must be a string", key);
	else if (env && getenv(env) && *getenv(env))
		s = xstrdup(getenv(env));
	jv_free(v);
	return s;
}

int
main(int argc, char **argv)
{
	const char *given = NULL;
	auth_azure sp;
	int64_t since = -1, now, ask;
	run r = {.newest = -1};
	http_client login;
	char t1[TS_BUFSZ], t2[TS_BUFSZ], *err = NULL, *login_url, *sub, *rg, *arm_scope, *logs_scope;
	size_t max;
	jv cfg, apps, pg;
	int failed = 0;

	setargv0(argv[0]);
	cfg = cli_connector(argc, argv, usage, &given, &since);
	if (given && ts_parse(given, &since)) {
		warnf("--cursor '%s' is not a time this connector wrote: starting an hour back "
		    "(mallcop-scan skips events it already has)", given);
		since = -1;
	}
	apps = apps_of(cfg);
	if (!(sub = setting(cfg, "subscription_id", "AZURE_SUBSCRIPTION_ID")) ||
	    strspn(sub, "0123456789abcdefABCDEF-") != strlen(sub))
		die(EXIT_USAGE, "subscription_id: set it to the subscription of the container apps "
		    "(a GUID), or AZURE_SUBSCRIPTION_ID");
	rg = setting(cfg, "resource_group", NULL);
	if (rg && !name_ok(rg))
		die(EXIT_USAGE, "resource_group: not a resource group name");
	jv_array_foreach(apps, i, a) {
		if (!rg && !event_field(a, "resource_group"))
			die(EXIT_USAGE, "apps[%d]: no resource group: set resource_group for the "
			    "connector or the app", i);
		jv_free(a);
	}
	r.workspace = setting(cfg, "workspace_id", NULL);
	if (r.workspace && strspn(r.workspace, "0123456789abcdefABCDEF-") != strlen(r.workspace))
		die(EXIT_USAGE, "workspace_id: not a Log Analytics workspace id (a GUID)");
	pg = jsonl_get(jv_copy(cfg), "page_size");
	r.page = PAGE_DEFAULT;
	if (jv_get_kind(pg) == JV_KIND_NUMBER && jv_number_value(pg) >= 1 &&
	    jv_number_value(pg) <= PAGE_MAX)
		r.page = (long)jv_number_value(pg);
	else if (jv_is_valid(pg) && jv_get_kind(pg) != JV_KIND_NULL)
		die(EXIT_USAGE, "page_size: must be a number of rows from 1 to %d", PAGE_MAX);
	jv_free(pg);
	if (event_max_bytes(NULL, &max, &err))
		die(EXIT_USAGE, "%s", err);
	/* room for the event around the line, every byte of it escaped at worst */
	r.max_line = max > 16384 ? (max - 8192) / 6 : 1024;
	r.sub = sub;
	r.rg = rg;
	r.base = cli_url(cfg, "base_url", "https://management.azure.com", "container-logs");
	r.logs_url = cli_url(cfg, "logs_url", "https://api.loganalytics.io", "container-logs");
	login_url = cli_url(cfg, "login_url", "https://login.microsoftonline.com",
	    "container-logs");
	r.workspaces = jv_object();

	auth_azure_env(&sp, "container-logs");
	r.client = sp.client;

	now = ts_now();
	now -= now % TS_SECOND;
	if (since < 0)
		since = now - LOOKBACK;
	if (since > now)
		since = now;
	ask = given && !ts_parse(given, &ask) ? since - OVERLAP : since;
	r.ask = ts_format(ask, t1);
	r.until = ts_format(now, t2);

	if (http_init(&login, "container-logs", login_url, &err) ||
	    http_init(&r.arm, "container-logs", r.base, &err) ||
	    http_init(&r.logs, "container-logs", r.logs_url, &err))
		die(EXIT_USAGE, "%s", err ? err : "a URL is not usable");
	arm_scope = xasprintf("%s/.default", r.base);
	logs_scope = xasprintf("%s/.default", r.logs_url);
	/* with workspace_id set, nothing is asked of Azure Resource Manager */
	if ((!r.workspace && auth_azure_bearer(&login, &sp, arm_scope, &r.arm, "container-logs")) ||
	    auth_azure_bearer(&login, &sp, logs_scope, &r.logs, "container-logs")) {
		failed = 1;
	} else {
		/* each app on its own: one failing is named, the others' lines still come */
		jv_array_foreach(apps, i, a) {
			(void)i;
			if (fetch(&r, a))
				failed = 1;
			jv_free(a);
		}
	}
	free(arm_scope);
	free(logs_scope);
	if (r.cut)
		warnf("%zu lines longer than max_event_bytes allows were cut (metadata.truncated)",
		    r.cut);
	http_free(&r.logs);
	http_free(&r.arm);
	http_free(&login);
	failed = cli_connector_end(failed, r.events, r.untimed,
	    ts_format(r.newest >= since ? r.newest - r.newest % TS_SECOND : since, t1));
	free(r.base);
	free(r.logs_url);
	free(r.workspace);
	free(login_url);
	free(sub);
	free(rg);
	jv_free(r.workspaces);
	jv_free(apps);
	jv_free(cfg);
	return failed;
}
