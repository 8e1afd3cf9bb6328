/* mallcop-connector-supabase: a Supabase project's auth audit log and its configuration changes */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "cli.h"
#include "event.h"
#include "http.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-connector-supabase [--cursor CURSOR | --since TIME]";

enum { PAGE = 1000, MAX_PAGES = 100000 };

/* the version of the configuration state in the cursor */
#define STATE_TAG "cfg1:"
/* one item of the state: 6 hex digits of its name, 6 of its value */
enum { KEYHEX = 6, ITEMHEX = 12 };

/* Supabase Auth's actions (reference 4.7); any other keeps its own name as the type */
static const struct kind {
	const char *action, *type;
} kinds[] = {
	{"login", "auth_success"},
	{"user_signedup", "user_created"},
	{"user_confirmation_requested", "user_created"},
	{"logout", "auth_logout"},
	{"token_refreshed", "token_refresh"},
	{"token_revoked", "token_refresh"},
	{"user_recovery_requested", "password_recovery"},
	{"user_invited", "user_invited"},
	{"user_deleted", "user_deleted"},
	{"user_updated", "config_change"},
	{"mfa_challenge_verified", "mfa_verified"},
	{NULL, NULL},
};

static const struct severity {
	const char *type, *severity;
} severities[] = {
	{"auth_failure", "warn"},
	{"user_deleted", "warn"},
	{"password_recovery", "warn"},
	{"secret_change", "critical"},
	{"api_key_change", "critical"},
	{"config_change", "warn"},
	{NULL, "info"},
};

/* the parts of the project's configuration that the Management API shows */
static const struct section {
	const char *name;	/* in events and in the state */
	const char *path;	/* after /v1/projects/REF */
	const char *type;	/* the event type of a change */
	const char *idkey;	/* a list's items: the field naming each (NULL: an object's keys) */
} sections[] = {
	{"auth_config", "/config/auth", "config_change", NULL},
	{"postgrest_config", "/postgrest", "config_change", NULL},
	{"secrets", "/secrets", "secret_change", "name"},
	{"api_keys", "/api-keys", "api_key_change", "name"},
};
enum { NSECTIONS = sizeof sections / sizeof *sections };

typedef struct run {
	const char *ref;
	char *after_ts;		/* the keyset of the last row read: created_at as the API wrote it */
	char *after_id;		/* and its id; NULL with after_ts of an earlier cursor: rows after it */
	int64_t after_us;
	size_t events, untimed;
} run;

static const char *
severity_of(const char *type)
{
	const struct severity *s;

	for (s = severities; s->type && !streq(s->type, type); s++)
		;
	return s->severity;
}

/* a uuid as PostgREST prints it, or the like: nothing that could change the filter */
static int
id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 && strspn(s, "0123456789abcdefABCDEF-") == n;
}

/* the row's payload: an object, or JSON text of one; {} otherwise */
static jv
payload(jv row)
{
	jv p = jv_object_get(jv_copy(row), jv_string("payload"));

	if (jv_get_kind(p) == JV_KIND_STRING) {
		jv q = jsonl_parse(jv_string_value(p), strlen(jv_string_value(p)));

		jv_free(p);
		p = q;
	}
	if (jv_get_kind(p) != JV_KIND_OBJECT) {
		jv_free(p);
		p = jv_object();
	}
	return p;
}

static int
truthy(jv o, const char *key)
{
	jv v = jsonl_get(jv_copy(o), key);
	jv_kind k = jv_get_kind(v);
	int yes = k != JV_KIND_INVALID && k != JV_KIND_NULL && k != JV_KIND_FALSE &&
	    !(k == JV_KIND_STRING && !*jv_string_value(v));

	jv_free(v);
	return yes;
}

/* one row of auth.audit_log_entries (consumed) as an event */
static void
emit_row(run *r, jv row, int64_t us)
{
	jv p = payload(row), traits = jv_object_get(jv_copy(p), jv_string("traits")), m;
	const char *action = event_field(p, "action"), *actor, *ip, *id, *type;
	const struct kind *k;
	char *key = NULL;

	if (jv_get_kind(traits) != JV_KIND_OBJECT) {
		jv_free(traits);
		traits = jv_object();
	}
	if (!action)
		action = event_field(row, "action");
	for (k = kinds; k->action && !streq(k->action, action ? action : ""); k++)
		;
	if (action && streq(action, "login") && truthy(traits, "error"))
		type = "auth_failure";
	else
		type = k->type ? k->type : action ? action : "auth_event";
	actor = event_field(traits, "email");
	if (!actor)
		actor = event_field(p, "actor_username");
	if (!actor)
		actor = event_field(p, "actor_id");
	if (!actor)
		actor = event_field(traits, "user_id");
	ip = event_field(row, "ip_address");
	if (!ip)
		ip = event_field(traits, "ip");
	m = jv_object();
	m = jv_object_set(m, jv_string("project_ref"), jv_string(r->ref));
	m = event_meta(m, "ip_address", ip);
	m = event_meta(m, "ip", ip);	/* the key the IP-based detectors read */
	m = event_meta(m, "auth_action", action);
	m = event_meta(m, "log_type", event_field(p, "log_type"));
	m = event_meta(m, "provider", event_field(traits, "provider"));
	id = event_field(row, "id");
	if (!id)
		key = xasprintf("%s:%s:%s", event_field(row, "created_at"), action ? action : "",
		    actor ? actor : "");
	jsonl_put(stdout, event_make("supabase", id ? id : key, us, type, actor, action, r->ref,
	    severity_of(type), m, jv_copy(row)));
	r->events++;
	free(key);
	jv_free(traits);
	jv_free(p);
	jv_free(row);
}

/* what went wrong with one request, and what to check */
static void
report(const http_response *resp, const char *hint)
{
	const char *why = resp->error ? resp->error : "supabase: request failed";

	if (resp->status == 401 || resp->status == 403 || resp->status == 404)
		warnf("%s; %s", why, hint);
	else
		warnf("%s", why);
}

/* GET url as JSON: 0, or -1 after saying why */
static int
get_json(http_client *c, const char *url, const char *hint, jv *out)
{
	http_response resp;
	char *err = NULL;

	*out = jv_invalid();
	if (http_request(c, "GET", url, NULL, NULL, &resp)) {
		report(&resp, hint);
		http_response_free(&resp);
		return -1;
	}
	*out = http_json(&resp, &err);
	http_response_free(&resp);
	if (err) {
		warnf("%s", err);
		free(err);
		jv_free(*out);
		*out = jv_invalid();
		return -1;
	}
	return 0;
}

static char *
esc(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *out;

	if (!e)
		die(EXIT_WORK, "out of memory");
	out = xstrdup(e);
	curl_free(e);
	return out;
}

/* the filter of the rows after the keyset (or at and after since), percent-encoded */
static char *
filter(const run *r, int64_t since)
{
	char t[TS_BUFSZ], *q, *e, *out;

	if (!r->after_ts) {
		e = esc(ts_format(since, t));
		out = xasprintf("created_at=gte.%s", e);
	} else if (!r->after_id) {
		e = esc(r->after_ts);
		out = xasprintf("created_at=gt.%s", e);
	} else {
		/* a row at the very same time with a greater id is after it: ties are neither
		 * lost nor read twice */
		q = xasprintf("(created_at.gt.\"%s\",and(created_at.eq.\"%s\",id.gt.\"%s\"))",
		    r->after_ts, r->after_ts, r->after_id);
		e = esc(q);
		out = xasprintf("or=%s", e);
		free(q);
	}
	free(e);
	return out;
}

/* the row is at or before the keyset: a server that ignored the filter; not emitted again */
static int
not_after(const run *r, int64_t us, const char *id)
{
	if (!r->after_ts)
		return 0;
	if (us != r->after_us)
		return us < r->after_us;
	return !r->after_id || !id || strcmp(id, r->after_id) <= 0;
}

/* the rows of a page (borrowed) after the keyset as events; how many moved the keyset */
static size_t
take(run *r, jv rows)
{
	size_t fresh = 0;

	jv_array_foreach(rows, i, row) {
		const char *ts = event_field(row, "created_at"), *id = event_field(row, "id");
		int64_t us;

		(void)i;
		if (!ts || ts_parse(ts, &us) || (id && !id_ok(id))) {
			r->untimed++;
			jv_free(row);
			continue;
		}
		if (not_after(r, us, id)) {
			jv_free(row);
			continue;
		}
		if (id) {	/* the keyset moves to the last row that has one */
			free(r->after_ts);
			free(r->after_id);
			r->after_ts = xstrdup(ts);
			r->after_id = xstrdup(id);
			r->after_us = us;
			fresh++;
		}
		emit_row(r, row, us);
	}
	return fresh;
}

/*
 * Every row after the cursor (or at and after since), oldest first, ordered by (created_at,
 * id), a page of PAGE rows after the last row of the page before, to an empty page. 0 when
 * every page came.
 */
static int
fetch_auth(run *r, http_client *c, const char *table, int64_t since)
{
	static const char hint[] = "check SUPABASE_SERVICE_ROLE_KEY (the project's service_role "
	    "key) and that the auth schema is exposed to the API (Settings, API, Exposed "
	    "schemas), or name a view of auth.audit_log_entries in audit_table";

	for (int pages = 0; pages < MAX_PAGES; pages++) {
		char *f = filter(r, since), *url;
		size_t fresh = 0;
		jv rows;

		url = xasprintf("/rest/v1/%s?select=*&order=created_at.asc,id.asc&limit=%d&%s",
		    table, PAGE, f);
		free(f);
		if (get_json(c, url, hint, &rows)) {
			free(url);
			return -1;
		}
		free(url);
		if (jv_get_kind(rows) != JV_KIND_ARRAY) {
			warnf("supabase: GET /rest/v1/%s: the response is not a list of rows", table);
			jv_free(rows);
			return -1;
		}
		if (jv_array_length(jv_copy(rows)) == 0) {
			jv_free(rows);
			return 0;
		}
		fresh = take(r, rows);
		jv_free(rows);
		if (!fresh) {
			warnf("supabase: GET /rest/v1/%s: a page without a new row that has an id and "
			    "a created_at: the log cannot be read past it", table);
			return -1;
		}
	}
	warnf("supabase: GET /rest/v1/%s: more than %d pages: stopping", table, MAX_PAGES);
	return -1;
}

/* 12 hex digits: 6 of SHA-256 over section and name, 6 over section, name and value */
static void
item_hash(const char *section, const char *name, const char *value, char out[ITEMHEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n;
	char *s;

	s = xasprintf("%s%c%s", section, 0, name);
	EVP_Digest(s, strlen(section) + 1 + strlen(name), d, &n, EVP_sha256(), NULL);
	for (int i = 0; i < KEYHEX / 2; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	free(s);
	s = xasprintf("%s%c%s%c%s", section, 0, name, 0, value);
	EVP_Digest(s, strlen(section) + strlen(name) + strlen(value) + 2, d, &n, EVP_sha256(),
	    NULL);
	for (int i = 0; i < (ITEMHEX - KEYHEX) / 2; i++) {
		out[KEYHEX + 2 * i] = hex[d[i] >> 4];
		out[KEYHEX + 2 * i + 1] = hex[d[i] & 15];
	}
	out[ITEMHEX] = 0;
	free(s);
}

/* the section's items as {name: value-as-JSON-text}; jv_invalid() after saying why */
static jv
items_of(const struct section *s, jv body, const char *url)
{
	jv items = jv_object();

	if (!s->idkey) {
		if (jv_get_kind(body) != JV_KIND_OBJECT) {
			warnf("supabase: GET %s: the response is not an object of settings", url);
			jv_free(body);
			jv_free(items);
			return jv_invalid();
		}
		jv_object_foreach(body, k, v) {
			items = jv_object_set(items, k, jv_dump_string(v, JV_PRINT_SORTED));
		}
		jv_free(body);
		return items;
	}
	if (jv_get_kind(body) != JV_KIND_ARRAY) {
		warnf("supabase: GET %s: the response is not a list", url);
		jv_free(body);
		jv_free(items);
		return jv_invalid();
	}
	jv_array_foreach(body, i, v) {
		const char *name = event_field(v, s->idkey);

		(void)i;
		if (name)
			items = jv_object_set(items, jv_string(name),
			    jv_dump_string(jv_copy(v), JV_PRINT_SORTED));
		jv_free(v);
	}
	jv_free(body);
	return items;
}

/* the state of one section in an earlier cursor: its ITEMHEX-digit items, or NULL */
static const char *
old_state(const char *state, const char *name, size_t *len)
{
	size_t n = strlen(name);

	for (const char *p = state; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == '=') {
			*len = strcspn(p + n + 1, ";");
			return p + n + 1;
		}
	return NULL;
}

/* one change of the configuration as an event; it happened since the last run: now */
static void
emit_change(run *r, const struct section *s, const char *name, const char *change,
    const char *was, const char *now_hash, int64_t now)
{
	char *action = xasprintf("%s.%s", s->name, change), *key;
	jv m = jv_object(), raw;

	m = jv_object_set(m, jv_string("project_ref"), jv_string(r->ref));
	m = jv_object_set(m, jv_string("section"), jv_string(s->name));
	m = event_meta(m, "setting", name);
	m = jv_object_set(m, jv_string("change"), jv_string(change));
	/* never the value: a setting can be a secret (smtp_pass, an API key) */
	raw = jv_copy(m);
	key = xasprintf("config:%s:%.*s:%s:%s", s->name, KEYHEX, now_hash ? now_hash : was,
	    was ? was : "-", now_hash ? now_hash : "-");
	jsonl_put(stdout, event_make("supabase", key, now, s->type, "management-api", action,
	    r->ref, severity_of(s->type), m, raw));
	r->events++;
	free(action);
	free(key);
}

/*
 * Each section's settings now, against the state of the last run: an event for each setting
 * added, changed or removed (a removed one's name is not kept: "setting" is then absent). The
 * first run only records the state. *state the new one; 0 when every section came.
 */
static int
fetch_config(run *r, http_client *c, const char *prev, char **state)
{
	static const char hint[] = "check SUPABASE_ACCESS_TOKEN (a personal access token of a "
	    "member of the project's organization) and SUPABASE_PROJECT_REF";
	int64_t now = ts_now();
	char *out = xstrdup(STATE_TAG);

	for (size_t i = 0; i < NSECTIONS; i++) {
		const struct section *s = &sections[i];
		char *url = xasprintf("/v1/projects/%s%s", r->ref, s->path), *mine, *t;
		size_t wlen = 0;
		/* a section the last state lacks (or the first run): its state is only recorded */
		const char *was = prev ? old_state(prev, s->name, &wlen) : NULL;
		jv body, items;

		if (get_json(c, url, hint, &body)) {
			free(url);
			free(out);
			return -1;
		}
		items = items_of(s, body, url);
		free(url);
		if (!jv_is_valid(items)) {
			free(out);
			return -1;
		}
		mine = xstrdup("");
		jv_object_foreach(items, k, v) {
			char h[ITEMHEX + 1];
			const char *old = NULL;

			item_hash(s->name, jv_string_value(k), jv_string_value(v), h);
			for (size_t o = 0; was && o + ITEMHEX <= wlen; o += ITEMHEX)
				if (!strncmp(was + o, h, KEYHEX))
					old = was + o;
			if (was && !old) {
				emit_change(r, s, jv_string_value(k), "added", NULL, h, now);
			} else if (was && strncmp(old, h, ITEMHEX)) {
				char o[ITEMHEX + 1];

				memcpy(o, old, ITEMHEX);
				o[ITEMHEX] = 0;
				emit_change(r, s, jv_string_value(k), "changed", o, h, now);
			}
			t = xasprintf("%s%s", mine, h);
			free(mine);
			mine = t;
			jv_free(k);
			jv_free(v);
		}
		/* what the last run had and this one has not: removed */
		for (size_t o = 0; was && o + ITEMHEX <= wlen; o += ITEMHEX) {
			char old[ITEMHEX + 1];
			int found = 0;

			for (size_t n = 0; !found && n + ITEMHEX <= strlen(mine); n += ITEMHEX)
				found = !strncmp(mine + n, was + o, KEYHEX);
			memcpy(old, was + o, ITEMHEX);
			old[ITEMHEX] = 0;
			if (!found)
				emit_change(r, s, NULL, "removed", old, NULL, now);
		}
		jv_free(items);
		t = xasprintf("%s%s%s=%s", out, i ? ";" : "", s->name, mine);
		free(out);
		free(mine);
		out = t;
	}
	*state = out;
	return 0;
}

/* a project ref: lower-case letters and digits */
static int
ref_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* a string setting, else the variable, else NULL */
static const char *
setting(jv cfg, const char *key, const char *var, jv *hold)
{
	*hold = jsonl_get(jv_copy(cfg), key);
	if (jv_get_kind(*hold) == JV_KIND_STRING && *jv_string_value(*hold))
		return jv_string_value(*hold);
	if (jv_get_kind(*hold) != JV_KIND_INVALID && jv_get_kind(*hold) != JV_KIND_NULL &&
	    jv_get_kind(*hold) != JV_KIND_STRING)
		die(EXIT_USAGE, "%s: must be a string", key);
	return getenv(var) && *getenv(var) ? getenv(var) : NULL;
}

/* the table setting: schema.table or table, letters, digits and '_' */
static void
table_setting(jv cfg, char **profile, char **table)
{
	jv hold;
	const char *t = setting(cfg, "audit_table", "", &hold), *dot;

	if (!t)
		t = "auth.audit_log_entries";
	if (strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") !=
	    strlen(t) || t[0] == '.' || t[strlen(t) - 1] == '.' ||
	    ((dot = strchr(t, '.')) && strchr(dot + 1, '.')))
		die(EXIT_USAGE, "audit_table '%s': must be a table or view, as schema.name or name",
		    t);
	dot = strchr(t, '.');
	*profile = dot ? xasprintf("%.*s", (int)(dot - t), t) : NULL;
	*table = xstrdup(dot ? dot + 1 : t);
	jv_free(hold);
}

/*
 * The cursor: "AUTH|STATE". AUTH is the created_at of the last row read, as the API wrote it,
 * and ",ID" its id; STATE the configuration's ("cfg1:SECTION=ITEMS;..."). The earlier
 * implementation's "TIME|TIME" reads as rows after that time and no state.
 */
static void
parse_cursor(run *r, const char *given, char **state)
{
	const char *bar = strchr(given, '|'), *comma;
	char *auth = bar ? xasprintf("%.*s", (int)(bar - given), given) : xstrdup(given);

	*state = bar && !strncmp(bar + 1, STATE_TAG, strlen(STATE_TAG))
	    ? xstrdup(bar + 1 + strlen(STATE_TAG)) : NULL;
	if (*auth) {
		if ((comma = strchr(auth, ','))) {
			r->after_id = xstrdup(comma + 1);
			auth[comma - auth] = 0;
		}
		if (ts_parse(auth, &r->after_us) || (r->after_id && !id_ok(r->after_id)) ||
		    strpbrk(auth, "\"(),")) {
			warnf("supabase: --cursor '%s' is not a cursor this connector wrote: "
			    "starting 7 days back (mallcop-scan skips events it already has)", given);
			free(r->after_id);
			r->after_id = NULL;
		} else {
			r->after_ts = auth;
			auth = NULL;
		}
	}
	free(auth);
}

int
main(int argc, char **argv)
{
	const char *given = NULL, *key, *token, *ref;
	run r = {0};
	int64_t since = -1;
	http_client db, mgmt;
	char *err = NULL, *url, *base, *mbase, *profile, *table, *prev = NULL, *state = NULL;
	char *cursor, t[TS_BUFSZ];
	jv cfg, hold_url, hold_ref, urlcfg;
	int failed;

	setargv0(argv[0]);
	cfg = cli_connector(argc, argv, usage, &given, &since);
	if (given)
		parse_cursor(&r, given, &prev);
	table_setting(cfg, &profile, &table);
	ref = setting(cfg, "project_ref", "SUPABASE_PROJECT_REF", &hold_ref);
	if (ref && !ref_ok(ref))
		die(EXIT_USAGE, "project_ref '%s' is not a Supabase project ref (lower-case letters "
		    "and digits)", ref);
	url = (char *)setting(cfg, "project_url", "SUPABASE_PROJECT_URL", &hold_url);
	if (!url && !ref)
		die(EXIT_USAGE, "no project: set project_url (or SUPABASE_PROJECT_URL) to "
		    "https://REF.supabase.co, or project_ref (or SUPABASE_PROJECT_REF)");
	/* the URL checked as every URL setting is, wherever it came from */
	url = url ? xstrdup(url) : xasprintf("https://%s.supabase.co", ref);
	urlcfg = jv_object_set(jv_object(), jv_string("project_url"), jv_string(url));
	free(url);
	base = cli_url(urlcfg, "project_url", NULL, "supabase");
	jv_free(urlcfg);
	mbase = cli_url(cfg, "management_url", "https://api.supabase.com", "supabase");
	if (!ref) {	/* https://REF.supabase.co */
		const char *h = strstr(base, "://") + 3;
		size_t n = strcspn(h, ".:/");
		char *guess = xasprintf("%.*s", (int)n, h);

		if (!ref_ok(guess) || !strstr(h, ".supabase.co"))
			die(EXIT_USAGE, "project_ref: set it (or SUPABASE_PROJECT_REF): the project "
			    "URL '%s' does not name it", base);
		jv_free(hold_ref);
		hold_ref = jv_string(guess);
		ref = jv_string_value(hold_ref);
		free(guess);
	}
	r.ref = ref;
	key = getenv("SUPABASE_SERVICE_ROLE_KEY");
	token = getenv("SUPABASE_ACCESS_TOKEN");
	if (!key || !*key)
		die(EXIT_WORK, "supabase: SUPABASE_SERVICE_ROLE_KEY is not set: set it to the "
		    "project's service_role key (Settings, API)");
	if (since < 0)
		since = ts_now() - 7 * 24 * 3600 * TS_SECOND;

	if (http_init(&db, "supabase", base, &err))
		die(EXIT_USAGE, "project_url: %s", err ? err : "not usable");
	http_header(&db, "apikey: %s", key);
	http_header(&db, "Authorization: Bearer %s", key);
	http_header(&db, "Accept: application/json");
	if (profile)
		http_header(&db, "Accept-Profile: %s", profile);
	failed = fetch_auth(&r, &db, table, since) != 0;
	http_free(&db);

	if (!failed && token && *token) {
		if (http_init(&mgmt, "supabase", mbase, &err))
			die(EXIT_USAGE, "management_url: %s", err ? err : "not usable");
		http_header(&mgmt, "Authorization: Bearer %s", token);
		http_header(&mgmt, "Accept: application/json");
		failed = fetch_config(&r, &mgmt, prev, &state) != 0;
		http_free(&mgmt);
	} else if (given && strchr(given, '|')) {	/* kept for when a token comes */
		state = xstrdup(strchr(given, '|') + 1);
	}
	if (r.after_ts)
		cursor = xasprintf("%s%s%s|%s", r.after_ts, r.after_id ? "," : "",
		    r.after_id ? r.after_id : "", state ? state : "");
	else	/* nothing read yet: from since on, next time too */
		cursor = xasprintf("%s|%s", ts_format(since, t), state ? state : "");
	failed = cli_connector_end(failed, r.events, r.untimed, cursor);
	free(cursor);
	free(state);
	free(prev);
	free(r.after_ts);
	free(r.after_id);
	free(base);
	free(mbase);
	free(profile);
	free(table);
	jv_free(hold_url);
	jv_free(hold_ref);
	jv_free(cfg);
	return failed;
}
