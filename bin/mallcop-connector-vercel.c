/* mallcop-connector-vercel: a Vercel account's deployments and its team's activity log */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "event.h"
#include "http.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-connector-vercel [--cursor TIME | --since TIME]";

#define MS (TS_SECOND / 1000)

enum { PAGE = 100, MAX_PAGES = 10000 };

/* the team audit log's actions (reference 4.5); any other keeps its own name, type vercel_audit */
static const struct kind {
	const char *action, *type, *severity;
} kinds[] = {
	{"project.created", "project_change", "info"},
	{"project.removed", "project_change", "info"},
	{"project.updated", "project_change", "info"},
	{"deployment.created", "deployment", "info"},
	{"member.added", "member_change", "warn"},
	{"member.removed", "member_change", "warn"},
	{"member.role-updated", "member_change", "warn"},
	{"domain.added", "domain_change", "info"},
	{"domain.removed", "domain_change", "info"},
	{"env.created", "env_change", "warn"},
	{"env.removed", "env_change", "warn"},
	{"env.updated", "env_change", "warn"},
	{"integration.installed", "integration_change", "info"},
	{"integration.removed", "integration_change", "info"},
	{"team.updated", "team_change", "info"},
	{"access-token.created", "security_change", "warn"},
	{"access-token.deleted", "security_change", "warn"},
	{NULL, "vercel_audit", "info"},
};

typedef struct run {
	const char *team;
	int64_t newest;		/* the newest time emitted, in microseconds; -1 = none */
	size_t events, untimed;
} run;

/* one list of the API: where it is, under which key its items come, how each becomes an event */
typedef struct list {
	const char *path;	/* "/v6/deployments" */
	const char *key;	/* "deployments" */
	const char *id;		/* the item's own id: "uid" */
	void (*emit)(run *, jv, int64_t);
} list;

/* o[key] of an object inside e: creator.username */
static const char *
sub(jv e, const char *obj, const char *key, jv *hold)
{
	*hold = jv_object_get(jv_copy(e), jv_string(obj));
	return event_field(*hold, key);
}

/* the item's time (created, else createdAt: epoch milliseconds) in microseconds; -1 when none */
static int64_t
item_time(jv e)
{
	static const char *const keys[] = {"created", "createdAt", NULL};
	int64_t us = -1;

	for (const char *const *k = keys; us < 0 && *k; k++) {
		jv t = jv_object_get(jv_copy(e), jv_string(*k));

		if (jv_get_kind(t) != JV_KIND_NUMBER || ts_from_epoch(jv_number_value(t), 1000, &us))
			us = -1;
		jv_free(t);
	}
	return us;
}

static void
put(run *r, jv ev, int64_t us)
{
	jsonl_put(stdout, ev);
	r->events++;
	if (us > r->newest)
		r->newest = us;
}

/* one deployment (consumed) as an event */
static void
emit_deployment(run *r, jv d, int64_t us)
{
	const char *uid = event_field(d, "uid"), *target = event_field(d, "name"), *actor;
	char *key;
	jv creator, m;

	actor = sub(d, "creator", "username", &creator);
	if (!actor)
		actor = event_field(creator, "email");
	if (!target)
		target = event_field(d, "url");
	m = jv_object();
	m = event_meta(m, "state", event_field(d, "state") ? event_field(d, "state")
	    : event_field(d, "readyState"));
	m = event_meta(m, "target", event_field(d, "target"));
	m = event_meta(m, "project_id", event_field(d, "projectId"));
	m = event_meta(m, "url", event_field(d, "url"));
	m = event_meta(m, "deploy_source", event_field(d, "source"));
	m = event_meta(m, "team_id", r->team);
	key = uid ? xasprintf("deployment:%s", uid)
	    : xasprintf("deployment:%lld:%s", (long long)us, target ? target : "");
	put(r, event_make("vercel", key, us, "deployment", actor, "deployment.created", target,
	    "info", m, jv_copy(d)), us);
	free(key);
	jv_free(creator);
	jv_free(d);
}

/* one entry of the team's activity log (consumed) as an event */
static void
emit_activity(run *r, jv e, int64_t us)
{
	const char *action = event_field(e, "action"), *id = event_field(e, "id"), *actor, *target;
	const struct kind *k;
	char *key;
	jv user, entity, m;

	if (!action)	/* the activity API's own name for it */
		action = event_field(e, "type");
	for (k = kinds; k->action && !streq(k->action, action ? action : ""); k++)
		;
	actor = sub(e, "user", "username", &user);
	if (!actor)
		actor = event_field(user, "email");
	if (!actor)
		actor = event_field(e, "userId");
	if (!actor)
		actor = event_field(e, "principalId");
	target = sub(e, "entity", "name", &entity);
	if (!target)
		target = event_field(e, "entityId");
	m = jv_object();
	m = event_meta(m, "entity_type", event_field(entity, "type"));
	m = event_meta(m, "entity_id", event_field(e, "entityId") ? event_field(e, "entityId")
	    : event_field(entity, "id"));
	m = event_meta(m, "text", event_field(e, "text"));
	m = event_meta(m, "team_id", r->team);
	key = id ? xasprintf("activity:%s", id) : xasprintf("activity:%lld:%s:%s", (long long)us,
	    action ? action : "", actor ? actor : "");
	put(r, event_make("vercel", key, us, k->type, actor, action, target, k->severity, m,
	    jv_copy(e)), us);
	free(key);
	jv_free(user);
	jv_free(entity);
	jv_free(e);
}

static const list deployments = {"/v6/deployments", "deployments", "uid", emit_deployment};
static const list activity = {"/v3/events", "events", "id", emit_activity};

/* what went wrong with one request, and what to check */
static void
report(const run *r, const http_response *resp)
{
	const char *why = resp->error ? resp->error : "vercel: request failed";

	if (resp->status == 401 || resp->status == 403)
		warnf("%s; check VERCEL_TOKEN: a token of a member of the team%s%s%s, with its "
		    "scope including that team", why, r->team ? " '" : "", r->team ? r->team : "",
		    r->team ? "'" : "");
	else if (resp->status == 404 && r->team)
		warnf("%s; check the team id '%s' (team_id or VERCEL_TEAM_ID): the team's id "
		    "(team_...) or slug, readable by this token", why, r->team);
	else
		warnf("%s", why);
}

/* the ids (as keys) of the items of a page at its oldest time: asked again by the next page */
static jv
at_time(jv items, const char *idkey, int64_t us)
{
	jv ids = jv_object();

	jv_array_foreach(items, i, e) {
		const char *id = event_field(e, idkey);

		(void)i;
		if (id && item_time(e) == us)
			ids = jv_object_set(ids, jv_string(id), jv_true());
		jv_free(e);
	}
	jv_free(items);
	return ids;
}

static int
seen(jv ids, jv e, const char *idkey)
{
	const char *id = event_field(e, idkey);

	return id && jv_object_has(jv_copy(ids), jv_string(id));
}

/*
 * The items of a page (borrowed) as events, but those of bound (borrowed: the ids already
 * read at the time the page was asked until); how many were new, and the oldest time of them
 */
static size_t
take(run *r, const list *l, jv items, jv bound, int64_t *oldest)
{
	size_t fresh = 0;

	jv_array_foreach(items, i, e) {
		int64_t us;

		(void)i;
		if (jv_get_kind(e) != JV_KIND_OBJECT || (us = item_time(e)) < 0) {
			r->untimed++;
			jv_free(e);
			continue;
		}
		if (seen(bound, e, l->id)) {
			jv_free(e);
			continue;
		}
		fresh++;
		if (*oldest < 0 || us < *oldest)
			*oldest = us;
		l->emit(r, e, us);
	}
	return fresh;
}

/*
 * Every item of the list created at or after since, newest first, page after page back to
 * since: each next page is asked "until" the oldest time of the one before (pagination.next
 * where the API gives it), and the items of that very millisecond, asked again, are skipped.
 * 0 when every page came.
 */
static int
fetch(run *r, http_client *c, const list *l, int64_t since)
{
	long long since_ms = since / MS, until = -1;
	jv bound = jv_object();
	int rc = -1, pages;

	for (pages = 0; pages < MAX_PAGES; pages++) {
		char *url, *team = r->team ? curl_easy_escape(NULL, r->team, 0) : NULL, *err;
		char ubuf[32] = "";
		http_response resp;
		jv body, items, pg, next;
		int64_t oldest = -1;
		size_t fresh = 0;

		if (until >= 0)
			snprintf(ubuf, sizeof ubuf, "&until=%lld", until);
		url = xasprintf("%s?since=%lld&limit=%d%s%s%s", l->path, since_ms, PAGE, ubuf,
		    team ? "&teamId=" : "", team ? team : "");
		curl_free(team);
		if (http_request(c, "GET", url, NULL, NULL, &resp)) {
			report(r, &resp);
			http_response_free(&resp);
			free(url);
			break;
		}
		free(url);
		body = http_json(&resp, &err);
		http_response_free(&resp);
		if (err) {
			warnf("%s", err);
			free(err);
			jv_free(body);
			break;
		}
		items = jsonl_get(jv_copy(body), l->key);
		if (jv_get_kind(items) != JV_KIND_ARRAY) {
			warnf("vercel: GET %s: the response has no '%s' list", l->path, l->key);
			jv_free(items);
			jv_free(body);
			break;
		}
		fresh = take(r, l, items, bound, &oldest);
		pg = jsonl_get(jv_copy(body), "pagination");
		next = jsonl_get(jv_copy(pg), "next");
		jv_free(body);
		/* the end: nothing new, or the API says there is no next page */
		if (!fresh || (jv_get_kind(pg) == JV_KIND_OBJECT &&
		    jv_get_kind(next) != JV_KIND_NUMBER) || oldest < since) {
			rc = 0;
		} else {
			long long u = jv_get_kind(next) == JV_KIND_NUMBER ? (long long)
			    jv_number_value(next) : oldest / MS;

			if (until >= 0 && u > until) {
				warnf("vercel: GET %s: the next page would go forward in time "
				    "(until=%lld after until=%lld): stopping", l->path, u, until);
			} else {
				jv more = at_time(jv_copy(items), l->id, (int64_t)u * MS);

				/* the same millisecond again: keep what was already skipped there */
				if (u == until) {
					jv_object_foreach(bound, k, v) {
						more = jv_object_set(more, k, v);
					}
				}
				jv_free(bound);
				bound = more;
				until = u;
				jv_free(items);
				jv_free(pg);
				jv_free(next);
				continue;
			}
		}
		jv_free(items);
		jv_free(pg);
		jv_free(next);
		break;
	}
	if (pages == MAX_PAGES)
		warnf("vercel: GET %s: more than %d pages: stopping", l->path, MAX_PAGES);
	jv_free(bound);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *token = getenv("VERCEL_TOKEN"), *given = NULL, *cursor = NULL;
	run r = {.newest = -1};
	int64_t since = -1;
	http_client c;
	char t[TS_BUFSZ], *err = NULL, *base;
	jv cfg, team;
	int failed;

	setargv0(argv[0]);
	cfg = cli_connector(argc, argv, usage, &given, &since);
	if (given && ts_parse(given, &since)) {
		warnf("vercel: --cursor '%s' is not a time this connector wrote: starting 7 days "
		    "back (mallcop-scan skips events it already has)", given);
		since = -1;
	} else if (given) {
		cursor = given;
	}
	team = jsonl_get(jv_copy(cfg), "team_id");
	if (jv_get_kind(team) == JV_KIND_STRING && *jv_string_value(team))
		r.team = jv_string_value(team);
	else if (jv_get_kind(team) != JV_KIND_INVALID && jv_get_kind(team) != JV_KIND_NULL &&
	    jv_get_kind(team) != JV_KIND_STRING)
		die(EXIT_USAGE, "team_id: must be the team's id (team_...) or slug");
	else if (getenv("VERCEL_TEAM_ID") && *getenv("VERCEL_TEAM_ID"))
		r.team = getenv("VERCEL_TEAM_ID");
	/* an id (team_...) or slug: a source name's characters, nothing that changes the URL */
	if (r.team && !event_source_ok(r.team))
		die(EXIT_USAGE, "team_id '%s' is not a Vercel team id or slug", r.team);
	base = cli_url(cfg, "base_url", "https://api.vercel.com", "vercel");
	if (!token || !*token)
		die(EXIT_WORK, "vercel: VERCEL_TOKEN is not set: set it to a Vercel access token "
		    "(Account Settings, Tokens) scoped to the team to watch");
	if (since < 0)
		since = ts_now() - 7 * 24 * 3600 * TS_SECOND;
	since -= since % MS;

	if (http_init(&c, "vercel", base, &err))
		die(EXIT_USAGE, "base_url: %s", err ? err : "not usable");
	http_header(&c, "Authorization: Bearer %s", token);
	http_header(&c, "Accept: application/json");
	failed = fetch(&r, &c, &deployments, since) != 0;
	/* the activity log is a team's: a personal account has only its deployments */
	if (!failed && r.team)
		failed = fetch(&r, &c, &activity, since) != 0;
	http_free(&c);
	if (r.newest >= since)
		cursor = ts_format(r.newest, t);
	else if (!cursor)
		cursor = ts_format(since, t);
	failed = cli_connector_end(failed, r.events, r.untimed, cursor);
	free(base);
	jv_free(team);
	jv_free(cfg);
	return failed;
}
