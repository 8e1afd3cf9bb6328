/* mallcop-connector-m365: Microsoft 365 audit records from the Office 365 Management Activity API */
#define _GNU_SOURCE
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
    "usage: mallcop-connector-m365 [--cursor TIME | --since TIME]";

#define HOUR (3600 * TS_SECOND)
#define DAY (24 * HOUR)

/* the API keeps content for 7 days and lists at most 24 hours per request */
enum { KEEP_DAYS = 7, MAX_TYPES = 5 };

/* the documented content types; the first four are the default */
static const char *const content_types[MAX_TYPES] = {
	"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General",
	"DLP.All",
};

static const char *const forwarding[] = {
	"New-InboxRule", "Set-InboxRule", "Set-Mailbox", "UpdateInboxRules", NULL,
};
static const char *const sharing[] = {
	"SharingSet", "SharingInvitationCreated", "AnonymousLinkCreated", "CompanyLinkCreated",
	NULL,
};

typedef struct run {
	const char *tenant, *client, *idvar, *secretvar;
	const char *ct;		/* the content type being read */
	http_client api;
	int64_t newest;		/* the newest CreationTime emitted, in microseconds; -1 = none */
	size_t events, untimed;
} run;

static int
in(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (streq(s, *list))
			return 1;
	return 0;
}

/* o[key] as a number when o is an object and it is one (or a numeric string), else dflt */
static double
num(jv o, const char *key, double dflt)
{
	double d = dflt;
	char *end;
	jv v;

	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return dflt;
	v = jv_object_get(jv_copy(o), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_NUMBER) {
		d = jv_number_value(v);
	} else if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v)) {
		d = strtod(jv_string_value(v), &end);
		if (*end)
			d = dflt;
	}
	jv_free(v);
	return d;
}

/* the Value of the item of rec's ExtendedProperties named name, malloc'd, or NULL */
static char *
xprop(jv rec, const char *name)
{
	jv xp = jv_object_get(jv_copy(rec), jv_string("ExtendedProperties"));
	char *out = NULL;

	if (jv_get_kind(xp) == JV_KIND_ARRAY) {
		jv_array_foreach(xp, i, p) {
			const char *n = event_field(p, "Name"), *v = event_field(p, "Value");

			(void)i;
			if (!out && n && v && streq(n, name))
				out = xstrdup(v);
			jv_free(p);
		}
	}
	jv_free(xp);
	return out;
}

/* rec[list] has an object whose field f contains want (where name, its "Name" is name) */
static int
has_item(jv rec, const char *list, const char *name, const char *f, const char *want)
{
	jv l = jv_object_get(jv_copy(rec), jv_string(list));
	int yes = 0;

	if (jv_get_kind(l) == JV_KIND_ARRAY) {
		jv_array_foreach(l, i, o) {
			const char *n = event_field(o, "Name"), *v = event_field(o, f);

			(void)i;
			if ((!name || (n && streq(n, name))) && v && strstr(v, want))
				yes = 1;
			jv_free(o);
		}
	}
	jv_free(l);
	return yes;
}

/*
 * A new user who is a guest. Not "a Target of Type 5" as the earlier implementation had it:
 * Type 5 is a user principal name, which every added user has; a guest's has "#EXT#".
 */
static int
guest(jv rec)
{
	return has_item(rec, "ExtendedProperties", "additionalDetails", "Value", "Guest") ||
	    has_item(rec, "ModifiedProperties", "UserType", "NewValue", "Guest") ||
	    has_item(rec, "Target", NULL, "ID", "#EXT#");
}

/* first rule that applies (reference 4.4) */
static void
classify(jv rec, const char **type, const char **sev)
{
	const char *op = event_field(rec, "Operation"), *wl = event_field(rec, "Workload");
	const char *rs = event_field(rec, "ResultStatus");
	double rt = num(rec, "RecordType", 0);

	if (!op)
		op = "";
	if (!wl)
		wl = "";
	*sev = "warn";
	if (rt == 11 || rt == 33 || streq(op, "DlpRuleMatch")) {
		*type = "dlp_alert";
	} else if (streq(wl, "AzureActiveDirectory")) {
		if (streq(op, "UserLoggedIn"))
			*type = rs && (!strcasecmp(rs, "success") || !strcasecmp(rs, "succeeded"))
			    ? "sign_in_success" : "sign_in_failure";
		else if (streq(op, "UserLoginFailed"))
			*type = "sign_in_failure";
		else if (streq(op, "Consent to application."))
			*type = "oauth_consent";
		else if (streq(op, "Add user.") && guest(rec))
			*type = "guest_invited";
		else
			*type = "admin_action";
		if (!strncmp(*type, "sign_in_", 8))
			*sev = "info";
	} else if (streq(wl, "Exchange")) {
		if (in(op, forwarding)) {
			*type = "mail_forwarding_rule";
		} else {
			*type = "mailbox_access";
			*sev = "info";
		}
	} else if (streq(wl, "SharePoint") || streq(wl, "OneDrive")) {
		if (in(op, sharing)) {
			*type = "sharepoint_sharing";
		} else {
			*type = "sharepoint_activity";
			*sev = "info";
		}
	} else {
		*type = "admin_action";
	}
}

/* the address alone: Exchange writes "[2001:db8::1]:443" and "192.0.2.1:443"; malloc'd */
static char *
bare_ip(const char *s)
{
	const char *c = strchr(s, ':'), *e;

	if (*s == '[' && (e = strchr(s, ']')))
		return xasprintf("%.*s", (int)(e - s - 1), s + 1);
	if (c && c == strrchr(s, ':') && strchr(s, '.'))
		return xasprintf("%.*s", (int)(c - s), s);
	return xstrdup(s);
}

/* one audit record (consumed) as an event on stdout */
static void
emit(run *r, jv rec)
{
	const char *type, *sev, *ct, *id, *ip, *ua;
	char *key = NULL, *bare = NULL, *xua = NULL;
	int64_t us;
	jv m, ev;

	ct = event_field(rec, "CreationTime");
	if (!ct || ts_parse(ct, &us)) {	/* a time without a zone is UTC, as the schema says */
		jv_free(rec);
		r->untimed++;
		return;
	}
	classify(rec, &type, &sev);
	id = event_field(rec, "Id");
	if (!id)	/* Id is mandatory in the schema; still a stable key for the same record */
		key = xasprintf("%s:%s:%s:%s", ct, event_field(rec, "Operation") ?
		    event_field(rec, "Operation") : "", event_field(rec, "UserId") ?
		    event_field(rec, "UserId") : "", event_field(rec, "ObjectId") ?
		    event_field(rec, "ObjectId") : "");

	m = jv_object();
	m = event_meta(m, "workload", event_field(rec, "Workload"));
	m = jv_object_set(m, jv_string("record_type"), jv_number((int)num(rec, "RecordType", 0)));
	m = event_meta(m, "organization_id", event_field(rec, "OrganizationId"));
	m = event_meta(m, "result_status", event_field(rec, "ResultStatus"));
	ip = event_field(rec, "ClientIP");
	if (!ip)
		ip = event_field(rec, "ClientIPAddress");
	if (!ip)
		ip = event_field(rec, "ActorIpAddress");
	if (ip)
		bare = bare_ip(ip);
	m = event_meta(m, "ip", bare);	/* the key the IP-based detectors read */
	m = event_meta(m, "ip_address", ip);
	ua = event_field(rec, "UserAgent");
	if (!ua)
		ua = xua = xprop(rec, "UserAgent");
	m = event_meta(m, "user_agent", ua);
	m = event_meta(m, "content_type", r->ct);
	/* who a file was shared with: inside the company or not (new-external-access reads it) */
	if (in(event_field(rec, "Operation") ? event_field(rec, "Operation") : "", sharing)) {
		const char *op = event_field(rec, "Operation"), *to = event_field(rec,
		    "TargetUserOrGroupType");

		m = event_meta(m, "sharing_type", streq(op, "CompanyLinkCreated") ? "internal"
		    : streq(op, "AnonymousLinkCreated") ? "anyone" : to && streq(to, "Member")
		    ? "internal" : to && (streq(to, "Guest") || streq(to, "Partner")) ? "external"
		    : NULL);
	}

	ev = event_make("m365", id ? id : key, us, type, event_field(rec, "UserId"),
	    event_field(rec, "Operation"), event_field(rec, "ObjectId"), sev, m, rec);
	jsonl_put(stdout, ev);
	free(key);
	free(bare);
	free(xua);
	r->events++;
	if (us > r->newest)
		r->newest = us;
}

/* what went wrong with one request, and for 401/403 what to check */
static void
report(const run *r, const http_response *resp)
{
	const char *why = resp->error ? resp->error : "m365: request failed";

	if (resp->status == 401 || resp->status == 403)
		warnf("%s; check the app registration of client '%s' in tenant '%s': it needs the "
		    "Office 365 Management APIs application permission ActivityFeed.Read (and "
		    "ActivityFeed.ReadDlp for DLP.All), with admin consent", why, r->client,
		    r->tenant);
	else
		warnf("%s", why);
}

/* a URL with PublisherIdentifier, so that throttling is counted against the tenant */
static char *
published(const run *r, const char *url)
{
	if (strstr(url, "PublisherIdentifier="))
		return xstrdup(url);
	return xasprintf("%s%cPublisherIdentifier=%s", url, strchr(url, '?') ? '&' : '?',
	    r->tenant);
}

/* one content blob: its audit records as events; 0 when it came whole */
static int
fetch_blob(run *r, jv blob)
{
	const char *uri = event_field(blob, "contentUri"), *cid = event_field(blob, "contentId");
	http_response resp;
	char *url, *err;
	jv recs;
	int rc = -1;

	if (!cid)
		cid = "?";
	if (!uri) {
		warnf("m365: %s: content '%s' has no contentUri", r->ct, cid);
		return -1;
	}
	/* the token goes with the request: only to the configured base_url's host */
	if (!http_same_host(&r->api, uri)) {
		warnf("m365: %s: refusing to fetch content '%s' from another host than %s",
		    r->ct, cid, r->api.base);
		return -1;
	}
	url = published(r, uri);
	if (http_request(&r->api, "GET", url, NULL, NULL, &resp)) {
		report(r, &resp);
	} else {
		recs = http_json(&resp, &err);
		if (err) {
			warnf("%s", err);
			free(err);
			jv_free(recs);
		} else if (jv_get_kind(recs) != JV_KIND_ARRAY) {
			warnf("m365: %s: content '%s' is not a list of audit records", r->ct, cid);
			jv_free(recs);
		} else {
			jv_array_foreach(recs, i, rec) {
				(void)i;
				if (jv_get_kind(rec) == JV_KIND_OBJECT)
					emit(r, rec);
				else {
					jv_free(rec);
					r->untimed++;
				}
			}
			jv_free(recs);
			rc = 0;
		}
	}
	http_response_free(&resp);
	free(url);
	return rc;
}

static int
list_cb(jv page, void *arg)
{
	run *r = arg;
	int rc = 0;

	if (jv_get_kind(page) != JV_KIND_ARRAY) {
		warnf("m365: %s: the content list is not a list of content blobs", r->ct);
		jv_free(page);
		return -1;
	}
	jv_array_foreach(page, i, blob) {
		(void)i;
		rc = fetch_blob(r, blob);
		jv_free(blob);
		if (rc)
			break;
	}
	jv_free(page);
	return rc;
}

/* every blob that became available in [from, to) (at most 24 hours); 0 when all came */
static int
fetch_slice(run *r, const char *base, int64_t from, int64_t to)
{
	char s[TS_BUFSZ], e[TS_BUFSZ], *url;
	http_response fail;
	int rc;

	url = xasprintf("%s/api/v1.0/%s/activity/feed/subscriptions/content?contentType=%s"
	    "&startTime=%s&endTime=%s&PublisherIdentifier=%s", base, r->tenant, r->ct,
	    ts_format(from, s), ts_format(to, e), r->tenant);
	rc = http_get_pages(&r->api, url, HTTP_NEXT_HEADER, "NextPageUri", list_cb, r, &fail);
	if (rc && fail.status >= 400)
		report(r, &fail);
	else if (rc && fail.error)
		warnf("%s", fail.error);
	http_response_free(&fail);
	free(url);
	return rc;
}

/* start the content type's subscription; one already enabled (AF20024) is fine */
static int
start(run *r)
{
	http_response resp;
	char *path, *err;
	int rc = 0;
	jv j, e;

	path = xasprintf("/api/v1.0/%s/activity/feed/subscriptions/start?contentType=%s"
	    "&PublisherIdentifier=%s", r->tenant, r->ct, r->tenant);
	if (http_request(&r->api, "POST", path, NULL, NULL, &resp)) {
		j = http_json(&resp, &err);
		free(err);
		e = jv_get_kind(j) == JV_KIND_OBJECT ? jv_object_get(j, jv_string("error"))
		    : (jv_free(j), jv_invalid());
		if (resp.status != 400 || !event_field(e, "code") ||
		    !streq(event_field(e, "code"), "AF20024")) {
			report(r, &resp);
			rc = -1;
		}
		jv_free(e);
	}
	http_response_free(&resp);
	free(path);
	return rc;
}

/* a tenant id: a GUID or a domain name, nothing that could change the URL's path */
static int
tenant_ok(const char *s)
{
	if (!*s || strlen(s) > 253 || *s == '.' || *s == '-')
		return 0;
	for (; *s; s++)
		if (!strchr("-.", *s) && !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

/* content_types: a list of the documented types; the first four when absent */
static size_t
types_setting(jv cfg, const char **out)
{
	jv v = jsonl_get(jv_copy(cfg), "content_types");
	size_t n = 0, k;

	if (jv_get_kind(v) == JV_KIND_INVALID || jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		for (; n < 4; n++)
			out[n] = content_types[n];
		return n;
	}
	if (jv_get_kind(v) != JV_KIND_ARRAY || jv_array_length(jv_copy(v)) == 0)
		die(EXIT_USAGE, "content_types: must be a list of Audit.AzureActiveDirectory, "
		    "Audit.Exchange, Audit.SharePoint, Audit.General, DLP.All");
	jv_array_foreach(v, i, t) {
		const char *s = jv_get_kind(t) == JV_KIND_STRING ? jv_string_value(t) : "";

		(void)i;
		for (k = 0; k < MAX_TYPES && !streq(s, content_types[k]); k++)
			;
		if (k == MAX_TYPES)
			die(EXIT_USAGE, "content_types: '%s' is not one of Audit.AzureActiveDirectory, "
			    "Audit.Exchange, Audit.SharePoint, Audit.General, DLP.All", s);
		for (size_t j = 0; j <= n; j++)
			if (j == n) {
				out[n++] = content_types[k];
				break;
			} else if (out[j] == content_types[k]) {
				break;
			}
		jv_free(t);
	}
	jv_free(v);
	return n;
}

/* M365_* when any of them is set, else the earlier implementation's ENTRA_* */
static void
credentials(run *r, const char **secret)
{
	static const char *const sets[2][3] = {
		{ "M365_TENANT_ID", "M365_CLIENT_ID", "M365_CLIENT_SECRET" },
		{ "ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET" },
	};
	const char *const *set = sets[0];
	const char *v[3];

	if (!(getenv(set[0]) && *getenv(set[0])) && !(getenv(set[1]) && *getenv(set[1])) &&
	    !(getenv(set[2]) && *getenv(set[2])))
		for (int i = 0; i < 3; i++)
			if (getenv(sets[1][i]) && *getenv(sets[1][i]))
				set = sets[1];
	for (int i = 0; i < 3; i++) {
		v[i] = getenv(set[i]);
		if (!v[i] || !*v[i])
			die(EXIT_WORK, "m365: %s is not set: set M365_TENANT_ID, M365_CLIENT_ID and "
			    "M365_CLIENT_SECRET (or ENTRA_TENANT_ID, ENTRA_CLIENT_ID and "
			    "ENTRA_CLIENT_SECRET) to an app registration with the ActivityFeed.Read "
			    "permission", set[i]);
	}
	if (!tenant_ok(v[0]))
		die(EXIT_WORK, "m365: %s '%s' is not a tenant id (a GUID or a domain name)",
		    set[0], v[0]);
	r->tenant = v[0];
	r->client = v[1];
	r->idvar = set[1];
	r->secretvar = set[2];
	*secret = v[2];
}

int
main(int argc, char **argv)
{
	const char *given = NULL, *secret, *types[MAX_TYPES];
	run r = { .newest = -1 };
	int64_t since = -1, now, oldest, end, from, cur;
	http_client login;
	char t[TS_BUFSZ], t2[TS_BUFSZ], *err = NULL, *base, *loginurl, *scope, *token;
	size_t ntypes;
	int failed = 0, denied;
	jv cfg;

	setargv0(argv[0]);
	cfg = cli_connector(argc, argv, usage, &given, &since);
	if (given && ts_parse(given, &since)) {
		warnf("m365: --cursor '%s' is not a time this connector wrote: starting %d days "
		    "back (mallcop-scan skips events it already has)", given, KEEP_DAYS);
		since = -1;
	}
	ntypes = types_setting(cfg, types);
	base = cli_url(cfg, "base_url", "https://manage.office.com", "m365");
	loginurl = cli_url(cfg, "login_url", "https://login.microsoftonline.com", "m365");
	credentials(&r, &secret);

	/* whole seconds; the API refuses a start older than 7 days: keep a minute's margin */
	now = ts_now();
	now -= now % TS_SECOND;
	oldest = now - KEEP_DAYS * DAY + 60 * TS_SECOND;
	if (since < 0) {
		since = oldest;
	} else {
		since -= since % TS_SECOND;
		if (since < oldest) {
			warnf("m365: %s is older than the %d days the API keeps: asking from %s",
			    ts_format(since, t), KEEP_DAYS, ts_format(oldest, t2));
			since = oldest;
		}
	}
	end = now;

	if (http_init(&login, "m365", loginurl, &err))
		die(EXIT_USAGE, "login_url: %s", err ? err : "not usable");
	if (http_init(&r.api, "m365", base, &err))
		die(EXIT_USAGE, "base_url: %s", err ? err : "not usable");
	scope = xasprintf("%s/.default", base);
	token = auth_ms_token(&login, r.tenant, r.client, secret, scope, &denied, &err);
	if (!token) {
		if (denied)
			warnf("m365: %s; check %s and %s, and that the app registration exists in "
			    "this tenant", err, r.idvar, r.secretvar);
		else
			warnf("m365: %s", err);
		free(err);
		failed = 1;
	} else {
		http_header(&r.api, "Authorization: Bearer %s", token);
		http_header(&r.api, "Accept: application/json");
		free(token);
	}

	for (size_t i = 0; !failed && i < ntypes; i++) {
		r.ct = types[i];
		failed = start(&r) != 0;
	}
	/* slices of at most 24 hours, start inclusive and end exclusive as the API reads them */
	for (size_t i = 0; !failed && i < ntypes; i++) {
		r.ct = types[i];
		for (from = since; !failed && from < end; from += DAY)
			failed = fetch_slice(&r, base, from, from + DAY < end ? from + DAY : end) != 0;
	}
	http_free(&r.api);
	http_free(&login);
	/*
	 * The newest CreationTime emitted, but not earlier than a day before the end: everything
	 * that became available before the end was read, and a day of overlap covers a clock
	 * that differs from Microsoft's; so a quiet tenant's cursor still moves.
	 */
	cur = r.newest - (r.newest % TS_SECOND);
	if (cur < end - DAY)
		cur = end - DAY;
	if (cur < since)
		cur = since;
	failed = cli_connector_end(failed, r.events, r.untimed, ts_format(cur, t));
	free(scope);
	free(base);
	free(loginurl);
	jv_free(cfg);
	return failed;
}
