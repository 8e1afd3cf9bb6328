/* container-probing: requests to a container app that probe it for a way in */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "ts.h"
#include "util.h"

#define NAME "container-probing"

static const char *const methods[] = {
	"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", NULL
};
/* ERE, ignoring case, over the request path as sent and percent-decoded */
static const char traversal[] = "[.][.]([/\\]|%2f|%5c|$)|%2e%2e|%2e[.]|[.]%2e";
static const struct attack {
	const char *name, *re;
} attacks[] = {
	{"sql_union_select", "union[[:space:]]+(all[[:space:]]+)?select"},
	{"sql_drop_table", ";[[:space:]]*drop[[:space:]]+table"},
	{"xml_entity", "<!entity"},
	{"xml_cdata", "<![[]cdata[[]"},
	{"etc_passwd", "/etc/(passwd|shadow)"},
	{"proc_self", "/proc/self"},
	{"dotenv", "[.]env([^[:alnum:]_]|$)"},
	{"wordpress", "wp-admin|wp-login"},
	{"spring_actuator", "/actuator/"},
	{"git_dir", "[.]git/"},
	{"trace", "trace[[:space:]]+/"},
	{"jndi_lookup", "[$][{]jndi:"},
	{"script_tag", "<script"},
};
enum { NATTACK = sizeof attacks / sizeof *attacks };

typedef struct state {
	double ratio, min_daily;
	regex_t traversal, attack[NATTACK];
	jv rated;	/* "ACTOR\tDAY" already reported in this pass */
} state;

static void
stop(void *st)
{
	state *s = st;

	regfree(&s->traversal);
	for (int i = 0; i < NATTACK; i++)
		regfree(&s->attack[i]);
	jv_free(s->rated);
	free(s);
}

/* v borrowed */
static void *
start(det_ctx *c, jv conf, char **err)
{
	(void)c;
	state *s = xcalloc(1, sizeof *s);
	char *msg = NULL;

	s->ratio = 3;
	s->min_daily = 5;
	s->rated = jv_object();
	if (regcomp(&s->traversal, traversal, REG_EXTENDED | REG_ICASE | REG_NOSUB))
		die(EXIT_WORK, NAME ": bad pattern");
	for (int i = 0; i < NATTACK; i++)
		if (regcomp(&s->attack[i], attacks[i].re, REG_EXTENDED | REG_ICASE | REG_NOSUB))
			die(EXIT_WORK, NAME ": bad pattern %s", attacks[i].name);
	{
		const det_setting table[] = {
			{"ratio", &s->ratio, 1, 1e9, 0, NULL},
			{"min_daily", &s->min_daily, 1, 1e9, 0, NULL},
			{NULL, NULL, 0, 0, 0, NULL},
		};

		msg = det_settings(NAME, conf, table);
	}
	if (msg) {
		*err = msg;
		stop(s);
		return NULL;
	}
	return s;
}

static const char *
first_meta(const det_event *e, const char *const *keys)
{
	for (; *keys; keys++) {
		const char *v = det_meta_str(e, *keys);
		if (*v)
			return v;
	}
	return "";
}

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* s with %XX sequences decoded and '+' as a space (malloc'd) */
static char *
decode(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s; s++)
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2]) &&
		    (s[1] != '0' || s[2] != '0')) {
			*o++ = (char)(hexval((unsigned char)s[1]) * 16 +
			    hexval((unsigned char)s[2]));
			s += 2;
		} else
			*o++ = *s == '+' ? ' ' : *s;
	*o = 0;
	return out;
}

static int
matches(const regex_t *re, const char *path, const char *decoded)
{
	return !regexec(re, path, 0, NULL, 0) || !regexec(re, decoded, 0, NULL, 0);
}

/* one finding per kind of probe (and method or pattern), actor and app */
static void
probe(det_ctx *c, const det_event *e, const char *reason, const char *detail, const char *key,
    const char *value, const char *title)
{
	char *fp = xasprintf("%s:%s:%s:%s", reason, detail, e->actor, e->target);
	jv meta = jv_object();

	meta = jv_object_set(meta, jv_string("reason"), jv_string(reason));
	meta = jv_object_set(meta, jv_string(key), jv_string(value));
	if (streq(reason, "attack_pattern"))
		meta = jv_object_set(meta, jv_string("pattern"), jv_string(detail));
	meta = jv_object_set(meta, jv_string("actor"), jv_string(e->actor));
	meta = jv_object_set(meta, jv_string("target"), jv_string(e->target));
	det_event_finding(c, e, NAME, "warn", fp, meta, "%s: %s on %s", title, value, e->target);
	free(fp);
}

/* more requests from the actor today than ratio times its usual day */
static void
rate(det_ctx *c, state *s, const det_event *e)
{
	const baseline *b = det_baseline(c);
	char *key = xasprintf("%s:http_request:%s", e->source, e->actor);
	double today = baseline_day(b, key, e->us), total = baseline_freq(b, key);
	int days = baseline_days(b) - (today > 0);
	double mean = (total - today) / (days > 1 ? days : 1);
	free(key);

	today++;	/* this request */
	if (mean < s->min_daily || today <= s->ratio * mean)
		return;
	char t[TS_BUFSZ];
	ts_format(e->us, t);
	t[10] = 0;
	char *fp = xasprintf("rate:%s:%s", e->actor, t);
	if (!jv_object_has(jv_copy(s->rated), jv_string(fp))) {
		s->rated = jv_object_set(s->rated, jv_string(fp), jv_true());
		jv meta = jv_object();
		meta = jv_object_set(meta, jv_string("reason"), jv_string("rate_anomaly"));
		meta = jv_object_set(meta, jv_string("actor"), jv_string(e->actor));
		meta = jv_object_set(meta, jv_string("target"), jv_string(e->target));
		meta = jv_object_set(meta, jv_string("day"), jv_string(t));
		meta = jv_object_set(meta, jv_string("current_count"), jv_number(today));
		meta = jv_object_set(meta, jv_string("baseline_daily_mean"), jv_number(mean));
		det_event_finding(c, e, NAME, "warn", fp, meta,
		    "Request rate anomaly: %s to %s (%.0f requests on %s vs a daily mean of %.1f)",
		    e->actor, e->target, today, t, mean);
	}
	free(fp);
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	static const char *const method_keys[] = {"method", "http_method", NULL};
	static const char *const path_keys[] = {"path", "url", "uri", "request_uri", NULL};
	state *s = st;

	if (!streq(e->source, "container-logs") && !streq(e->source, "container_logs"))
		return;
	if (streq(e->type, "parser_summary") || streq(e->type, "noise_summary"))
		return;

	const char *method = first_meta(e, method_keys);
	if (*method) {
		char *up = xstrdup(method);
		for (char *p = up; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		int i;
		for (i = 0; methods[i] && !streq(methods[i], up); i++)
			;
		if (!methods[i])
			probe(c, e, "unusual_method", up, "method", up, "Unusual HTTP method");
		free(up);
	}

	const char *path = first_meta(e, path_keys);
	if (*path) {
		char *dec = decode(path);
		if (matches(&s->traversal, path, dec))
			probe(c, e, "path_traversal", "", "path", path, "Path traversal attempt");
		for (int i = 0; i < NATTACK; i++)
			if (matches(&s->attack[i], path, dec)) {
				probe(c, e, "attack_pattern", attacks[i].name, "path", path,
				    "Attack pattern in path");
				break;
			}
		free(dec);
	}

	if (streq(e->type, "http_request"))
		rate(c, s, e);
}

const det_ops det_container_probing = {
	.name = NAME,
	.what = "requests to a container app with unusual methods, path traversal, known "
	    "attack paths, or far more requests than usual",
	.start = start,
	.event = event,
	.stop = stop,
};
