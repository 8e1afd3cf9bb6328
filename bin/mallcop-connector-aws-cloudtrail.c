/* mallcop-connector-aws-cloudtrail: CloudTrail LookupEvents over the configured regions */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "cli.h"
#include "event.h"
#include "http.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-connector-aws-cloudtrail [--cursor VALUE | --since TIME]";

static const char cred_hint[] =
    "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE): the credential needs "
    "the cloudtrail:LookupEvents permission";

static const char target_hdr[] =
    "X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

#define CT_JSON "application/x-amz-json-1.1"
#define MAX_THROTTLED 5
/* CloudTrail delivers a record minutes after its EventTime: a cursor is read again from this
 * much before it, and the store skips the ids it already holds */
#define OVERLAP (15 * 60 * TS_SECOND)

typedef struct run {
	const char *region;
	int64_t newest;		/* the newest EventTime emitted, in microseconds; -1 = none */
	size_t events, untimed;
} run;

static int
prefixed(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static const char *const denied_codes[] = {
	"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
	"Client.UnauthorizedAccess", "Client.UnauthorizedOperation", NULL,
};

/* the event type and severity of one record */
static void
classify(const char *name, const char *source, const char *result, const char *error_code,
    const char **type, const char **severity)
{
	const char *const *d;

	*severity = "info";
	if (streq(name, "ConsoleLogin")) {
		if (result && streq(result, "Failure")) {
			*type = "login_failure";
			*severity = "warn";
		} else {
			*type = "console_login";
		}
	} else if (prefixed(name, "AssumeRole")) {
		*type = "assume_role";
	} else if (streq(name, "StopLogging") || streq(name, "DeleteTrail")) {
		*type = "cloudtrail_stop";
		*severity = "critical";
	} else if (prefixed(name, "AuthorizeSecurityGroup") ||
	    prefixed(name, "RevokeSecurityGroup")) {
		*type = "security_group_change";
		*severity = "warn";
	} else if (streq(name, "PutBucketPolicy") || streq(name, "PutBucketAcl") ||
	    streq(name, "DeleteBucketPolicy")) {
		*type = "s3_policy_change";
		*severity = "warn";
	} else if (source && streq(source, "iam.amazonaws.com") &&
	    (prefixed(name, "Create") || prefixed(name, "Attach") || prefixed(name, "Detach") ||
	    prefixed(name, "Put") || prefixed(name, "Delete") || prefixed(name, "Update") ||
	    prefixed(name, "Add") || prefixed(name, "Remove"))) {
		*type = "iam_change";
		*severity = "warn";
	} else {
		*type = "api_call";
	}
	if (error_code)
		for (d = denied_codes; *d; d++)
			if (streq(error_code, *d))
				*severity = "warn";
}

/* the most telling name among the request parameters */
static const char *
param_target(jv rp)
{
	static const char *const keys[] = {
		"userName", "roleName", "groupName", "policyArn", "policyName", "bucketName",
		"groupId", "trailName", "name", "accessKeyId", "instanceId", "functionName",
		"roleArn", NULL,
	};
	const char *const *k;
	const char *s;

	for (k = keys; *k; k++)
		if ((s = event_field(rp, *k)))
			return s;
	return NULL;
}

/* one record of Events[] (consumed) as an event on stdout */
static void
emit(run *r, jv e)
{
	const char *name, *source, *actor, *target, *eid, *result = NULL, *error_code, *type, *sev;
	char *key = NULL, *actor_buf = NULL;
	jv ts, ce, ui, rp, re, res, first, m, ev;
	int64_t us;

	if (jv_get_kind(e) != JV_KIND_OBJECT) {
		jv_free(e);
		r->untimed++;
		return;
	}
	ts = jv_object_get(jv_copy(e), jv_string("EventTime"));
	if (!jv_is_valid(ts) || jv_get_kind(ts) == JV_KIND_NULL) {
		jv_free(ts);
		ts = jv_object_get(jv_copy(e), jv_string("eventTime"));
	}
	if (ts_from_jv(ts, &us)) {
		jv_free(e);
		r->untimed++;
		return;
	}
	/* the inner record, a JSON string: an object in raw when it parses */
	ce = jv_object_get(jv_copy(e), jv_string("CloudTrailEvent"));
	if (jv_get_kind(ce) == JV_KIND_STRING) {
		jv p = jsonl_parse(jv_string_value(ce), strlen(jv_string_value(ce)));

		jv_free(ce);
		if (jv_get_kind(p) == JV_KIND_OBJECT) {
			ce = p;
			e = jv_object_set(e, jv_string("CloudTrailEvent"), jv_copy(ce));
		} else {
			jv_free(p);
			ce = jv_object();
		}
	} else if (jv_get_kind(ce) != JV_KIND_OBJECT) {
		jv_free(ce);
		ce = jv_object();
	}
	ui = jv_object_get(jv_copy(ce), jv_string("userIdentity"));
	rp = jv_object_get(jv_copy(ce), jv_string("requestParameters"));
	re = jv_object_get(jv_copy(ce), jv_string("responseElements"));
	res = jv_object_get(jv_copy(e), jv_string("Resources"));
	first = jv_get_kind(res) == JV_KIND_ARRAY && jv_array_length(jv_copy(res)) > 0
	    ? jv_array_get(jv_copy(res), 0) : jv_null();

	name = event_field(e, "EventName");
	if (!name)
		name = event_field(ce, "eventName");
	if (!name)
		name = "";
	source = event_field(e, "EventSource");
	if (!source)
		source = event_field(ce, "eventSource");
	error_code = event_field(ce, "errorCode");
	if (streq(name, "ConsoleLogin"))
		result = event_field(re, "ConsoleLogin");
	classify(name, source, result, error_code, &type, &sev);

	actor = event_field(e, "Username");
	if (!actor)
		actor = event_field(ui, "userName");
	if (!actor && event_field(ui, "arn")) {
		const char *arn = event_field(ui, "arn"), *slash = strrchr(arn, '/');

		actor_buf = xstrdup(slash && slash[1] ? slash + 1 : arn);
		actor = actor_buf;
	}
	target = event_field(first, "ResourceName");
	if (!target)
		target = param_target(rp);

	eid = event_field(e, "EventId");
	if (!eid)
		eid = event_field(ce, "eventID");
	if (!eid)	/* never seen from AWS; still a stable key for the same record */
		key = xasprintf("%s:%lld:%s", name, (long long)us, actor ? actor : "");

	m = jv_object();
	m = event_meta(m, "region", event_field(ce, "awsRegion") ? event_field(ce, "awsRegion") : r->region);
	m = event_meta(m, "event_source", source);
	m = event_meta(m, "ip", event_field(ce, "sourceIPAddress"));
	m = event_meta(m, "user_agent", event_field(ce, "userAgent"));
	m = event_meta(m, "error_code", error_code);
	m = event_meta(m, "error_message", event_field(ce, "errorMessage"));
	m = event_meta(m, "result", result);
	m = event_meta(m, "account_id", event_field(ce, "recipientAccountId"));
	m = event_meta(m, "identity_type", event_field(ui, "type"));
	m = event_meta(m, "arn", event_field(ui, "arn"));

	ev = event_make("aws-cloudtrail", eid ? eid : key, us, type, actor, name, target, sev, m,
	    jv_copy(e));
	jv_free(ui);
	jv_free(rp);
	jv_free(re);
	jv_free(res);
	jv_free(first);
	jv_free(ce);
	free(key);
	free(actor_buf);
	jv_free(e);
	jsonl_put(stdout, ev);
	r->events++;
	if (us > r->newest)
		r->newest = us;
}

/* the error of a failed response: its __type (after any '#') and message */
static void
aws_error(const http_response *resp, char **type, char **msg)
{
	jv v = resp->body ? jsonl_parse(resp->body, resp->len) : jv_invalid();
	const char *ty = event_field(v, "__type"), *mg = event_field(v, "message");

	if (!mg)
		mg = event_field(v, "Message");
	if (ty && strchr(ty, '#'))
		ty = strchr(ty, '#') + 1;
	*type = ty ? xstrdup(ty) : NULL;
	*msg = mg ? xstrdup(mg) : NULL;
	jv_free(v);
}

/* one signed LookupEvents request; 0 with resp filled, or -1 (resp filled as far as it came) */
static int
lookup(const char *base, const char *region, const char *ak, const char *sk, const char *tok,
    const char *body, http_response *resp, char **err)
{
	const char *sign[] = {"Content-Type: " CT_JSON, target_hdr, NULL};
	char amz[20], *url, *authz, **extra = NULL;
	time_t now = time(NULL);
	struct tm tm;
	http_client c;
	size_t i;
	int rc;

	gmtime_r(&now, &tm);
	strftime(amz, sizeof amz, "%Y%m%dT%H%M%SZ", &tm);
	url = xasprintf("%s/", base);
	authz = auth_sigv4("POST", url, sign, body, strlen(body), region, "cloudtrail", ak, sk,
	    tok, amz, &extra);
	if (!authz) {
		*err = xasprintf("aws-cloudtrail: %s: cannot sign a request to '%s'", region, base);
		free(url);
		return -1;
	}
	if (http_init(&c, "aws-cloudtrail", base, err)) {
		free(url);
		free(authz);
		auth_headers_free(extra);
		return -1;
	}
	http_header(&c, "%s", target_hdr);
	for (i = 0; extra && extra[i]; i++)
		http_header(&c, "%s", extra[i]);
	http_header(&c, "Authorization: %s", authz);
	rc = http_request(&c, "POST", url, body, CT_JSON, resp);
	http_free(&c);
	free(url);
	free(authz);
	auth_headers_free(extra);
	return rc;
}

/* every page of one region from since on; 0 when all of them came */
static int
fetch(run *r, const char *base, const char *ak, const char *sk, const char *tok, int64_t since,
    int *requests)
{
	char *next = NULL;
	int failed = 0, throttled = 0;
	int64_t end = ts_now() / TS_SECOND;

	for (;;) {
		http_response resp = {0};
		char *err = NULL, *body, *ty, *msg, *more;
		jv req, page, evs;
		int repeated;

		req = jv_object();
		req = jv_object_set(req, jv_string("StartTime"), jv_number((double)(since / TS_SECOND)));
		req = jv_object_set(req, jv_string("EndTime"), jv_number((double)end));
		req = jv_object_set(req, jv_string("MaxResults"), jv_number(50));
		if (next)
			req = jv_object_set(req, jv_string("NextToken"), jv_string(next));
		req = jv_dump_string(req, 0);
		body = xstrdup(jv_string_value(req));
		jv_free(req);
		/* LookupEvents allows 2 requests per second per region */
		if ((*requests)++ > 0)
			http_nap(500);
		if (lookup(base, r->region, ak, sk, tok, body, &resp, &err)) {
			free(body);
			if (err) {
				warnf("%s", err);
				free(err);
				http_response_free(&resp);
				failed = 1;
				break;
			}
			aws_error(&resp, &ty, &msg);
			if (ty && streq(ty, "ThrottlingException") && throttled < MAX_THROTTLED) {
				throttled++;
				free(ty);
				free(msg);
				http_response_free(&resp);
				http_nap(1000L << throttled);
				continue;
			}
			if (resp.status == 401 || resp.status == 403 || (ty &&
			    (streq(ty, "UnrecognizedClientException") ||
			    streq(ty, "InvalidSignatureException") || prefixed(ty, "AccessDenied") ||
			    streq(ty, "InvalidClientTokenId") || streq(ty, "ExpiredTokenException"))))
				warnf("aws-cloudtrail: %s: HTTP %ld: %s%s%s: %s", r->region, resp.status,
				    ty ? ty : "denied", msg ? ": " : "", msg ? msg : "", cred_hint);
			else if (ty || msg)
				warnf("aws-cloudtrail: %s: LookupEvents failed (HTTP %ld): %s%s%s",
				    r->region, resp.status, ty ? ty : "", ty && msg ? ": " : "",
				    msg ? msg : "");
			else
				warnf("aws-cloudtrail: %s: %s", r->region,
				    resp.error ? resp.error : "LookupEvents failed");
			free(ty);
			free(msg);
			http_response_free(&resp);
			failed = 1;
			break;
		}
		free(body);
		throttled = 0;
		page = http_json(&resp, &err);
		if (!jv_is_valid(page) || jv_get_kind(page) != JV_KIND_OBJECT) {
			warnf("aws-cloudtrail: %s: %s", r->region, err ? err :
			    "the LookupEvents response is not a JSON object");
			free(err);
			jv_free(page);
			http_response_free(&resp);
			failed = 1;
			break;
		}
		http_response_free(&resp);
		evs = jv_object_get(jv_copy(page), jv_string("Events"));
		if (jv_get_kind(evs) == JV_KIND_ARRAY) {
			jv_array_foreach(evs, i, e) {
				(void)i;
				emit(r, e);
			}
		} else if (jv_get_kind(evs) != JV_KIND_NULL && jv_is_valid(evs)) {
			warnf("aws-cloudtrail: %s: Events in the LookupEvents response is not a list",
			    r->region);
			jv_free(evs);
			jv_free(page);
			failed = 1;
			break;
		}
		jv_free(evs);
		more = http_next_token(page, "NextToken", next, &repeated);
		jv_free(page);
		free(next);
		next = more;
		if (repeated) {
			warnf("aws-cloudtrail: %s: NextToken repeats the page just read: stopping",
			    r->region);
			failed = 1;
		}
		if (!next || repeated)
			break;
	}
	free(next);
	return failed ? -1 : 0;
}

/* a region name: lower-case letters, digits and '-' */
static int
region_ok(const char *s)
{
	if (!*s || strlen(s) > 40)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

int
main(int argc, char **argv)
{
	const char *dflt_region = getenv("AWS_DEFAULT_REGION"), *given = NULL;
	int64_t since = -1, us;
	jv cfg, jregions, cur = jv_object(), out;
	char t[TS_BUFSZ], *err = NULL, *ak = NULL, *sk = NULL, *tok = NULL, *endpoint = NULL;
	size_t nregions, i, total = 0, untimed = 0;
	int failed = 0, requests;

	setargv0(argv[0]);
	cfg = cli_connector(argc, argv, usage, &given, &since);
	if (given) {
		jv v = jv_parse(given);

		if (jv_get_kind(v) == JV_KIND_OBJECT) {
			jv_free(cur);
			cur = v;
		} else {
			jv_free(v);
			if (ts_parse(given, &since)) {
				warnf("--cursor '%s' is not a cursor this connector wrote: starting 7 "
				    "days back (mallcop-scan skips events it already has)", given);
				since = -1;
			}
		}
	}
	if (!dflt_region || !*dflt_region)
		dflt_region = getenv("AWS_REGION");
	if (!dflt_region || !*dflt_region)
		dflt_region = "us-east-1";
	jregions = jsonl_get(jv_copy(cfg), "regions");
	if (jv_get_kind(jregions) == JV_KIND_STRING)
		jregions = jv_array_append(jv_array(), jregions);
	if (!jv_is_valid(jregions) || jv_get_kind(jregions) == JV_KIND_NULL) {
		jv_free(jregions);
		jregions = jsonl_get(jv_copy(cfg), "region");
		jregions = jv_get_kind(jregions) == JV_KIND_STRING
		    ? jv_array_append(jv_array(), jregions)
		    : (jv_free(jregions), jv_array_append(jv_array(), jv_string(dflt_region)));
	}
	if (jv_get_kind(jregions) != JV_KIND_ARRAY || jv_array_length(jv_copy(jregions)) == 0)
		die(EXIT_USAGE, "regions: must be a list of AWS region names");
	nregions = (size_t)jv_array_length(jv_copy(jregions));
	for (i = 0; i < nregions; i++) {
		jv r = jv_array_get(jv_copy(jregions), (int)i);

		if (jv_get_kind(r) != JV_KIND_STRING || !region_ok(jv_string_value(r)))
			die(EXIT_USAGE, "regions: '%s' is not an AWS region name",
			    jv_get_kind(r) == JV_KIND_STRING ? jv_string_value(r) : "?");
		jv_free(r);
	}
	endpoint = cli_url(cfg, "endpoint", NULL, "aws-cloudtrail");

	if (auth_aws_credentials(&ak, &sk, &tok, &err))
		die(EXIT_WORK, "%s (%s)", err ? err : "no AWS credentials", cred_hint);
	if (since < 0)
		since = ts_now() - 7 * 24 * 3600 * TS_SECOND;

	out = jv_object();
	requests = 0;
	for (i = 0; i < nregions; i++) {
		jv jr = jv_array_get(jv_copy(jregions), (int)i), jc;
		run r = {.region = jv_string_value(jr), .newest = -1};
		int64_t from = since, ask = given && !ts_parse(given, &us) ? since - OVERLAP : since;
		char *base;

		jc = jsonl_get(jv_copy(cur), r.region);
		if (jv_get_kind(jc) == JV_KIND_STRING && !ts_parse(jv_string_value(jc), &us)) {
			from = us;
			ask = us - OVERLAP;
		}
		base = endpoint ? xstrdup(endpoint)
		    : xasprintf("https://cloudtrail.%s.amazonaws.com", r.region);
		requests = 0;	/* the limit is per region */
		if (fetch(&r, base, ak, sk, tok, ask, &requests))
			failed = 1;
		total += r.events;
		untimed += r.untimed;
		if (r.newest >= from)
			out = jv_object_set(out, jv_string(r.region),
			    jv_string(ts_format(r.newest - r.newest % TS_SECOND, t)));
		else if (jv_get_kind(jc) == JV_KIND_STRING)
			out = jv_object_set(out, jv_string(r.region), jv_copy(jc));
		else
			out = jv_object_set(out, jv_string(r.region),
			    jv_string(ts_format(from - from % TS_SECOND, t)));
		jv_free(jc);
		jv_free(jr);
		free(base);
	}
	out = jv_dump_string(out, 0);
	failed = cli_connector_end(failed, total, untimed, jv_string_value(out));
	jv_free(out);
	if (sk)
		memset(sk, 0, strlen(sk));
	free(ak);
	free(sk);
	free(tok);
	free(endpoint);
	jv_free(cur);
	jv_free(jregions);
	jv_free(cfg);
	return failed;
}
