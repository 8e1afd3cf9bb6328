/* mallcop-connector-github: a GitHub organization's audit log, oldest entries first */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
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
    "usage: mallcop-connector-github [--cursor TIME | --since TIME]";

#define OVERLAP (15 * 60 * TS_SECOND)

static const char token_hint[] =
    "check GITHUB_TOKEN: it needs the read:audit_log scope (or an org owner's token)";
static const char app_hint[] =
    "check the GitHub App: it needs the organization permission Administration (read)";
static const char *cred_hint = token_hint;

/* first match wins: an exact action, or a prefix ending in '.' */
static const struct kind {
	const char *action, *type, *severity;
} kinds[] = {
	{"org.add_outside_collaborator", "collaborator_added", "warn"},
	{"repo.add_member", "collaborator_added", "warn"},
	{"org.add_member", "member_added", "warn"},
	{"team.add_member", "member_added", "info"},
	{"org.remove_outside_collaborator", "collaborator_removed", "info"},
	{"repo.remove_member", "collaborator_removed", "info"},
	{"org.remove_member", "member_removed", "info"},
	{"team.remove_member", "member_removed", "info"},
	{"org.update_member", "permission_change", "warn"},
	{"repo.update_member", "permission_change", "warn"},
	{"team.update_repository_permission", "permission_change", "warn"},
	{"git.push", "push", "info"},
	{"repo.create", "repo_created", "info"},
	{"repo.destroy", "repo_deleted", "warn"},
	{"repo.access", "repo_visibility_change", "critical"},
	{"protected_branch.", "branch_protection_change", "warn"},
	{"oauth_authorization.create", "token_created", "warn"},
	{"oauth_authorization.destroy", "token_revoked", "info"},
	{"oauth_authorization.", "token_activity", "info"},
	{"personal_access_token.access_granted", "token_created", "warn"},
	{"personal_access_token.request_created", "token_requested", "info"},
	{"personal_access_token.access_revoked", "token_revoked", "info"},
	{"personal_access_token.credential_revoked", "token_revoked", "info"},
	{"personal_access_token.", "token_activity", "info"},
	{"org.", "admin_action", "warn"},
	{NULL, "github_audit", "info"},
};

static const struct kind *
classify(const char *action)
{
	const struct kind *k;

	for (k = kinds; k->action; k++) {
		size_t n = strlen(k->action);

		if (k->action[n - 1] == '.' ? !strncmp(action, k->action, n)
		    : streq(action, k->action))
			break;
	}
	return k;
}

typedef struct run {
	const char *org;
	int64_t newest;		/* the newest @timestamp emitted, in microseconds; -1 = none */
	size_t events, untimed;
} run;

/* one audit-log entry (consumed) as an event on stdout */
static void
emit(run *r, jv e)
{
	const char *action, *actor, *target, *docid, *ip;
	const struct kind *k;
	char *key = NULL;
	jv ts, m, loc, ev;
	int64_t us;

	if (jv_get_kind(e) != JV_KIND_OBJECT) {
		jsonl_put(stdout, e);	/* for mallcop-scan to reject and count, as below */
		r->untimed++;
		return;
	}
	ts = jv_object_get(jv_copy(e), jv_string("@timestamp"));
	if (jv_get_kind(ts) != JV_KIND_NUMBER) {
		jv_free(ts);
		ts = jv_object_get(jv_copy(e), jv_string("created_at"));
	}
	/* epoch milliseconds */
	if (jv_get_kind(ts) != JV_KIND_NUMBER || ts_from_epoch(jv_number_value(ts), 1000, &us)) {
		/* out as it came, for mallcop-scan to reject with its reason and count */
		jv rec = jv_object_set(jv_object(), jv_string("raw"), e);

		if (jv_get_kind(ts) == JV_KIND_NUMBER)
			rec = jv_object_set(rec, jv_string("timestamp"), ts);
		else
			jv_free(ts);
		jsonl_put(stdout, rec);
		r->untimed++;
		return;
	}
	jv_free(ts);

	action = event_field(e, "action");
	actor = event_field(e, "actor");
	target = event_field(e, "repo");
	if (!target)
		target = event_field(e, "user");
	if (!target)
		target = event_field(e, "team");
	k = classify(action ? action : "");
	docid = event_field(e, "_document_id");
	if (!docid)	/* never seen from GitHub; still a stable key for the same entry */
		key = xasprintf("%s:%lld:%s", action ? action : "", (long long)us,
		    actor ? actor : "");

	m = jv_object();
	m = jv_object_set(m, jv_string("org"), jv_string(event_field(e, "org") ? event_field(e, "org") : r->org));
	m = event_meta(m, "repo", event_field(e, "repo"));
	m = event_meta(m, "user", event_field(e, "user"));
	m = event_meta(m, "team", event_field(e, "team"));
	m = event_meta(m, "permission_level", event_field(e, "permission"));
	if (streq(action ? action : "", "org.add_outside_collaborator"))
		m = event_meta(m, "member_type", "outside");
	ip = event_field(e, "actor_ip");
	m = event_meta(m, "actor_ip", ip);
	m = event_meta(m, "ip", ip);	/* the key the IP-based detectors read */
	loc = jv_object_get(jv_copy(e), jv_string("actor_location"));
	if (jv_get_kind(loc) == JV_KIND_OBJECT)
		m = event_meta(m, "country", event_field(loc, "country_code"));
	m = event_meta(m, "user_agent", event_field(e, "user_agent"));
	if (!strcmp(k->type, "github_audit"))
		m = jv_object_set(m, jv_string("action_detail"), jv_string(action ? action : ""));

	jv_free(loc);
	ev = event_make("github", docid ? docid : key, us, k->type, actor, action,
	    target ? target : r->org, k->severity, m, e);
	free(key);
	jsonl_put(stdout, ev);
	r->events++;
	if (us > r->newest)
		r->newest = us;
}

/* percent-encoding of a query value (RFC 3986 unreserved characters kept) */
static char *
qescape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(strlen(s) * 3 + 1), *o = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c)) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = 0;
	return out;
}

/* an organization login: letters, digits, '-' (and '_' '.' of enterprise servers) */
static int
org_ok(const char *s)
{
	if (!*s || strlen(s) > 100)
		return 0;
	for (; *s; s++)
		if (!strchr("-_.", *s) && !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

/* the failure of one page: what to check, in the service's own words */
static void
page_failed(const run *r, const http_response *resp)
{
	const char *why = resp->error ? resp->error : "request failed";

	if (resp->status == 401 || resp->status == 403)
		warnf("%s (%s)", cred_hint, why);
	else if (resp->status == 404)
		warnf("organization '%s' not found, or its audit log is not available to this "
		    "token (the audit log API needs GitHub Enterprise Cloud) (%s)", r->org, why);
	else
		warnf("%s", why);
}

static int
page_cb(jv page, void *arg)
{
	run *r = arg;

	if (jv_get_kind(page) != JV_KIND_ARRAY) {
		warnf("github: GET /orgs/%s/audit-log: the response is not a list of audit-log "
		    "entries", r->org);
		jv_free(page);
		return -1;
	}
	jv_array_foreach(page, i, e) {
		(void)i;
		emit(r, e);
	}
	jv_free(page);
	return 0;
}

/* every page from since on; 0 when all of them came */
static int
fetch(run *r, http_client *c, const char *base, const char *include, int64_t since)
{
	char t[TS_BUFSZ], *phrase, *q, *url;
	http_response fail;
	int rc;

	/* whole seconds: asking from a little earlier only repeats ids the store skips */
	ts_format(since - since % TS_SECOND, t);
	phrase = xasprintf("created:>=%s", t);
	q = qescape(phrase);
	url = xasprintf("%s/orgs/%s/audit-log?per_page=100&order=asc&phrase=%s%s%s", base, r->org,
	    q, include ? "&include=" : "", include ? include : "");
	free(phrase);
	free(q);
	rc = http_get_pages(c, url, HTTP_NEXT_LINK, NULL, page_cb, r, &fail);
	if (rc && fail.status >= 400)
		page_failed(r, &fail);
	else if (rc && fail.error)
		warnf("%s", fail.error);
	http_response_free(&fail);
	free(url);
	return rc;
}

/* the private key of a GitHub App: the PEM text itself, or the file that holds it */
static char *
app_key(void)
{
	const char *pem = getenv("GITHUB_APP_PRIVATE_KEY"), *file;
	char *text;
	FILE *f;
	size_t n;

	if (pem && *pem)
		return xstrdup(pem);
	file = getenv("GITHUB_APP_PRIVATE_KEY_FILE");
	if (!file || !*file)
		die(EXIT_WORK, "GITHUB_APP_ID is set: set GITHUB_APP_PRIVATE_KEY (the app's PEM "
		    "private key) or GITHUB_APP_PRIVATE_KEY_FILE (its path) as well");
	if (!(f = fopen(file, "r")))
		die(EXIT_WORK, "GITHUB_APP_PRIVATE_KEY_FILE: cannot read '%s':", file);
	text = xmalloc(65536);
	n = fread(text, 1, 65535, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* an installation token of the GitHub App (GITHUB_APP_ID), for the organization */
static char *
app_token(http_client *c, const char *app_id, const char *org, jv cfg)
{
	const char *inst = getenv("GITHUB_INSTALLATION_ID");
	char *pem = app_key(), *tok, *err = NULL, buf[32];
	jv ji = jsonl_get(jv_copy(cfg), "installation_id");
	long status;

	if (jv_get_kind(ji) == JV_KIND_NUMBER) {
		snprintf(buf, sizeof buf, "%.0f", jv_number_value(ji));
		inst = buf;
	} else if (jv_get_kind(ji) == JV_KIND_STRING) {
		snprintf(buf, sizeof buf, "%s", jv_string_value(ji));
		inst = buf;
	}
	jv_free(ji);
	if (inst && inst[strspn(inst, "0123456789")])
		die(EXIT_USAGE, "installation_id '%s': must be the number of the app's "
		    "installation", inst);
	tok = auth_github_app_token(c, app_id, pem, inst, org, &status, &err);
	/* the key is a secret: gone from memory before anything else happens */
	explicit_bzero(pem, strlen(pem));
	free(pem);
	if (!tok)
		die(EXIT_WORK, "%s", err);
	return tok;
}

int
main(int argc, char **argv)
{
	const char *token = getenv("GITHUB_TOKEN"), *app_id = getenv("GITHUB_APP_ID");
	const char *given = NULL;
	const char *cursor = NULL, *include = NULL;
	run r = {.newest = -1};
	int64_t since = -1;
	http_client c;
	char t[TS_BUFSZ], *err = NULL, *base, *app = NULL;
	jv cfg, org, jinc;
	int failed;

	setargv0(argv[0]);
	cfg = cli_connector(argc, argv, usage, &given, &since);
	if (given && ts_parse(given, &since)) {
		/* say, a page cursor of the earlier implementation */
		warnf("--cursor '%s' is not a time this connector wrote: starting 7 days back "
		    "(mallcop-scan skips events it already has)", given);
		since = -1;
	} else if (given) {
		cursor = given;
	}
	org = jsonl_get(jv_copy(cfg), "org");
	jinc = jsonl_get(jv_copy(cfg), "include");
	if (jv_get_kind(org) == JV_KIND_STRING)
		r.org = jv_string_value(org);
	else if (getenv("GITHUB_ORG") && *getenv("GITHUB_ORG"))
		r.org = getenv("GITHUB_ORG");
	else
		die(EXIT_USAGE, "no organization: set 'org:' in the connector's configuration");
	if (!org_ok(r.org))
		die(EXIT_USAGE, "org '%s' is not a GitHub organization name", r.org);
	if (jv_get_kind(jinc) == JV_KIND_STRING) {
		include = jv_string_value(jinc);
		if (!streq(include, "web") && !streq(include, "git") && !streq(include, "all"))
			die(EXIT_USAGE, "include '%s': must be web, git or all", include);
	} else if (jv_get_kind(jinc) != JV_KIND_INVALID && jv_get_kind(jinc) != JV_KIND_NULL) {
		die(EXIT_USAGE, "include: must be web, git or all");
	}
	base = cli_url(cfg, "base_url", "https://api.github.com", "github");

	if (since < 0)
		since = ts_now() - 7 * 24 * 3600 * TS_SECOND;

	if (http_init(&c, "github", base, &err))
		die(EXIT_USAGE, "base_url: %s", err ? err : "not usable");
	if (app_id && *app_id) {
		app = app_token(&c, app_id, r.org, cfg);
		cred_hint = app_hint;
		http_header(&c, "Authorization: Bearer %s", app);
	} else if (token && *token) {
		http_header(&c, "Authorization: Bearer %s", token);
	} else {
		die(EXIT_WORK, "no credentials: set GITHUB_TOKEN (a token with the read:audit_log "
		    "scope, of an organization owner), or GITHUB_APP_ID with "
		    "GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE for a GitHub App");
	}
	http_header(&c, "Accept: application/vnd.github+json");
	http_header(&c, "X-GitHub-Api-Version: 2022-11-28");

	/*
	 * An entry can reach the audit log some minutes after its @timestamp: a run that resumes
	 * from a cursor asks from a little before it, so a late entry is still read (its id is the
	 * same: mallcop-scan stores it once)
	 */
	failed = fetch(&r, &c, base, include, cursor ? since - OVERLAP : since);
	http_free(&c);
	if (r.newest >= since)
		cursor = ts_format(r.newest - r.newest % TS_SECOND, t);
	else if (!cursor)
		cursor = ts_format(since - since % TS_SECOND, t);
	failed = cli_connector_end(failed, r.events, r.untimed, cursor);
	free(base);
	free(app);
	jv_free(cfg);
	jv_free(org);
	jv_free(jinc);
	return failed;
}
