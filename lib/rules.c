#define _GNU_SOURCE
#include <errno.h>
#include <glob.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jq.h>

#include "jsonl.h"
#include "rules.h"
#include "store.h"
#include "ts.h"
#include "util.h"
#include "yamljv.h"

enum kind { COUNT, NEWVALUE, VOLUME, REGEX, JQ };
static const char *kinds[] = {"count_threshold", "new_value", "volume_ratio", "regex_match", "jq"};

typedef struct rule {
	char *name, *type, *severity, *memkey;
	enum kind kind;
	jv group_by;	/* field paths */
	char *field;
	double threshold, ratio;
	int64_t window;
	jv filter;	/* volume_ratio: {field path: value} */
	regex_t re;
	int has_re;
	jq_state *jq;
	jv mem;		/* what the rule remembers across runs */
} rule;

typedef struct ruleset {
	rule *r;
	size_t n;
} ruleset;

/* a field of an event by path: "actor", "metadata.ip", "raw.userIdentity.arn" */
static jv
field(jv ev, const char *path)
{
	char *p = xstrdup(path), *save = NULL;
	jv v = jv_copy(ev);

	for (char *k = strtok_r(p, ".", &save); k; k = strtok_r(NULL, ".", &save))
		v = jsonl_get(v, k);
	free(p);
	return v;
}

/* a value as text: strings as they are, anything else as JSON; "" when absent */
static char *
text(jv v)
{
	char *s;

	if (jv_get_kind(v) == JV_KIND_STRING) {
		s = xstrdup(jv_string_value(v));
	} else if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL) {
		s = xstrdup("");
	} else {
		jv d = jv_dump_string(jv_copy(v), 0);

		s = xstrdup(jv_string_value(d));
		jv_free(d);
	}
	jv_free(v);
	return s;
}

static char *
group_key(const rule *r, jv ev)
{
	char *key = xstrdup("");

	jv_array_foreach(r->group_by, i, f) {
		char *v = text(field(ev, jv_string_value(f))), *k;

		k = xasprintf("%s%s%s", key, i ? ", " : "", v);
		free(key);
		free(v);
		key = k;
		jv_free(f);
	}
	return key;
}

static void
day_of(int64_t us, char buf[16])
{
	time_t t = (time_t)(us / TS_SECOND);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
}

static jv
obj(jv v)
{
	if (jv_get_kind(v) == JV_KIND_OBJECT)
		return v;
	jv_free(v);
	return jv_object();
}

/* count_threshold: the events of each group within the window, kept across runs */
static void
on_count(det_ctx *c, rule *r, const det_event *e)
{
	char *key = group_key(r, e->ev);
	jv win = jsonl_get(jv_copy(r->mem), key), kept = jv_array(), ids = jv_array();

	if (jv_get_kind(win) != JV_KIND_ARRAY) {
		jv_free(win);
		win = jv_array();
	}
	win = jv_array_append(win, JV_ARRAY(jv_number((double)e->us), jv_string(e->id)));
	jv_array_foreach(win, i, x) {
		(void)i;
		if (e->us - (int64_t)jv_number_value(jv_array_get(jv_copy(x), 0)) <= r->window) {
			ids = jv_array_append(ids, jv_array_get(jv_copy(x), 1));
			kept = jv_array_append(kept, x);
		} else {
			jv_free(x);
		}
	}
	jv_free(win);
	if (jv_array_length(jv_copy(kept)) >= r->threshold) {
		jv meta = jv_object_set(jv_object(), jv_string("group"), jv_string(key));

		meta = jv_object_set(meta, jv_string("count"), jv_number(jv_array_length(jv_copy(kept))));
		det_finding(c, r->name, r->severity, key, ids, meta, "%s: %d events from %s within "
		    "%d min", r->name, jv_array_length(jv_copy(kept)), key,
		    (int)(r->window / (60 * TS_SECOND)));
	} else {
		jv_free(ids);
	}
	r->mem = jv_object_set(r->mem, jv_string(key), kept);
	free(key);
}

static void
on_new_value(det_ctx *c, rule *r, const det_event *e)
{
	static const struct { const char *field, *list; } lists[] = {
		{"actor", "actors"}, {"source", "sources"}, {"metadata.ip", "ips"},
		{"metadata.ip_address", "ips"}, {"metadata.user_agent", "user_agents"},
	};
	char *v = text(field(e->ev, r->field));
	const char *list = NULL;
	int known;

	if (!*v) {
		free(v);
		return;
	}
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
		if (!strcmp(r->field, lists[i].field))
			list = lists[i].list;
	known = list ? baseline_known(det_baseline(c), list, v)
	    : jv_object_has(jv_copy(r->mem), jv_string(v));
	if (!list)
		r->mem = jv_object_set(r->mem, jv_string(v), jv_true());
	if (!known)
		det_event_finding(c, e, r->name, r->severity, v,
		    jv_object_set(jv_object(), jv_string(r->field), jv_string(v)),
		    "%s: new %s value: %s", r->name, r->field, v);
	free(v);
}

static void
on_volume(det_ctx *c, rule *r, const det_event *e)
{
	char d[16];
	double today, sum = 0;
	int days = 0;

	jv_object_foreach(r->filter, k, want) {
		char *have = text(field(e->ev, jv_string_value(k))), *w = text(want);
		int ok = !strcmp(have, w);

		free(have);
		free(w);
		jv_free(k);
		if (!ok)
			return;
	}
	day_of(e->us, d);
	{
		jv n = jsonl_get(jv_copy(r->mem), d);

		today = (jv_get_kind(n) == JV_KIND_NUMBER ? jv_number_value(n) : 0) + 1;
		jv_free(n);
	}
	r->mem = jv_object_set(r->mem, jv_string(d), jv_number(today));
	jv_object_foreach(r->mem, k, n) {
		if (strcmp(jv_string_value(k), d) < 0) {
			sum += jv_number_value(n);
			days++;
		}
		jv_free(k);
		jv_free(n);
	}
	if (days && today > r->ratio * (sum / days)) {
		jv meta = jv_object_set(jv_object(), jv_string("count"), jv_number(today));

		meta = jv_object_set(meta, jv_string("daily_mean"), jv_number(sum / days));
		det_event_finding(c, e, r->name, r->severity, d, meta, "%s: %.0f events on %s "
		    "(%.1fx the daily mean of %.1f)", r->name, today, d, today / (sum / days),
		    sum / days);
	}
}

static void
on_regex(det_ctx *c, rule *r, const det_event *e)
{
	char *v = text(field(e->ev, r->field));

	if (*v && regexec(&r->re, v, 0, NULL, 0) == 0) {
		char *key = jv_array_length(jv_copy(r->group_by)) ? group_key(r, e->ev) : xstrdup(v);

		det_event_finding(c, e, r->name, r->severity, key,
		    jv_object_set(jv_object(), jv_string(r->field), jv_string(v)),
		    "%s: matched %s=%.200s", r->name, r->field, v);
		free(key);
	}
	free(v);
}

static void
on_jq(det_ctx *c, rule *r, const det_event *e)
{
	int fired = 0;
	jv out;

	jq_start(r->jq, jv_copy(e->ev), 0);
	while (jv_is_valid(out = jq_next(r->jq))) {
		fired |= jv_get_kind(out) == JV_KIND_TRUE;
		jv_free(out);
	}
	jv_free(out);	/* the end, or an error: an error is no match */
	if (fired) {
		char *key = jv_array_length(jv_copy(r->group_by)) ? group_key(r, e->ev)
		    : xstrdup(e->id);

		det_event_finding(c, e, r->name, r->severity, key, jv_object(), "%s: %s by %s",
		    r->name, e->type, e->actor);
		free(key);
	}
}

static void
rules_event(det_ctx *c, void *state, const det_event *e)
{
	ruleset *rs = state;

	for (size_t i = 0; i < rs->n; i++) {
		rule *r = &rs->r[i];

		if (strcmp(r->type, "*") && strcmp(r->type, e->type))
			continue;
		/* a second look must not count what the rule already counted */
		if (det_in_retrospective(c) && r->kind != REGEX && r->kind != JQ)
			continue;
		switch (r->kind) {
		case COUNT: on_count(c, r, e); break;
		case NEWVALUE: on_new_value(c, r, e); break;
		case VOLUME: on_volume(c, r, e); break;
		case REGEX: on_regex(c, r, e); break;
		case JQ: on_jq(c, r, e); break;
		}
	}
}

static void
rules_finish(det_ctx *c, void *state)
{
	ruleset *rs = state;

	for (size_t i = 0; i < rs->n; i++) {
		rule *r = &rs->r[i];

		if (r->kind == VOLUME) {	/* the days the mean is taken over: 30 */
			jv days = jv_keys(jv_copy(r->mem));
			int n = jv_array_length(jv_copy(days));

			for (int k = 0; k + 31 < n; k++)
				r->mem = jv_object_delete(r->mem, jv_array_get(jv_copy(days), k));
			jv_free(days);
		}
		det_remember(c, r->memkey, jv_copy(r->mem));
	}
}

static void
rules_stop(void *state)
{
	ruleset *rs = state;

	for (size_t i = 0; i < rs->n; i++) {
		rule *r = &rs->r[i];

		free(r->name), free(r->type), free(r->severity), free(r->field), free(r->memkey);
		jv_free(r->group_by), jv_free(r->filter), jv_free(r->mem);
		if (r->has_re)
			regfree(&r->re);
		if (r->jq)
			jq_teardown(&r->jq);
	}
	free(rs->r);
	free(rs);
}

static const det_ops rules_ops = {
	.name = "rules",
	.what = "declarative rules of apps/APP/detectors.yaml",
	.event = rules_event,
	.finish = rules_finish,
	.stop = rules_stop,
};

typedef struct loading {
	const char *path;
	jv lines;
	char *err;
	char *jqerr;
} loading;

static int
bad(loading *l, int idx, const char *name, const char *key, const char *want)
{
	char *k = xasprintf("detectors[%d]%s%s", idx, *key ? "." : "", key);
	jv line = jsonl_get(jv_copy(l->lines), k);

	if (jv_get_kind(line) != JV_KIND_NUMBER) {
		char *k2 = xasprintf("detectors[%d]", idx);

		jv_free(line);
		line = jsonl_get(jv_copy(l->lines), k2);
		free(k2);
	}
	if (!l->err)
		l->err = name ? xasprintf("%s:%d: rule '%s': %s: expected %s", l->path,
		    jv_get_kind(line) == JV_KIND_NUMBER ? (int)jv_number_value(line) : 1, name, key,
		    want) : xasprintf("%s:%d: detectors[%d]: expected %s", l->path,
		    jv_get_kind(line) == JV_KIND_NUMBER ? (int)jv_number_value(line) : 1, idx, want);
	jv_free(line);
	free(k);
	return -1;
}

static const char *
str(jv o, const char *key)
{
	jv v = jsonl_get(jv_copy(o), key);
	const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;

	jv_free(v);	/* o holds it */
	return s;
}

static double
number(jv o, const char *key, double dflt)
{
	jv v = jsonl_get(jv_copy(o), key);
	double n = !jv_is_valid(v) ? dflt : jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v)
	    : -1;

	jv_free(v);
	return n;
}

static void
jq_error(void *data, jv msg)
{
	loading *l = data;
	jv s = jv_get_kind(msg) == JV_KIND_STRING ? msg : jv_dump_string(msg, 0);

	if (!l->jqerr)
		l->jqerr = xstrdup(jv_string_value(s));
	jv_free(s);
}

static void
jq_quiet(void *data, jv msg)
{
	(void)data;
	jv_free(msg);
}

static int
load_rule(loading *l, int idx, jv rj, rule *r, const char *app)
{
	const char *name = str(rj, "name"), *type = str(rj, "event_type"), *sev, *k;
	jv cond = jsonl_get(jv_copy(rj), "condition"), g;
	int rc = -1;

	memset(r, 0, sizeof *r);
	r->group_by = jv_array();
	r->filter = jv_object();
	r->mem = jv_object();
	if (jv_get_kind(rj) != JV_KIND_OBJECT) {
		jv_free(cond);
		return bad(l, idx, NULL, "rule", "a mapping with name, event_type, severity and "
		    "condition");
	}
	if (!name || !*name)
		goto out_name;
	if (!type)
		type = "*";
	sev = str(rj, "severity");
	if (!sev || (strcmp(sev, "info") && strcmp(sev, "warn") && strcmp(sev, "critical"))) {
		bad(l, idx, name, "severity", "info, warn or critical");
		goto out;
	}
	if (jv_get_kind(cond) != JV_KIND_OBJECT) {
		bad(l, idx, name, "condition", "a mapping with a type");
		goto out;
	}
	k = str(cond, "type");
	r->kind = COUNT;
	while (k && r->kind <= JQ && strcmp(k, kinds[r->kind]))
		r->kind++;
	if (!k || r->kind > JQ) {
		bad(l, idx, name, "condition.type", "count_threshold, new_value, volume_ratio, "
		    "regex_match or jq");
		goto out;
	}
	r->name = xstrdup(name);
	r->type = xstrdup(type);
	r->severity = xstrdup(sev);
	r->memkey = xasprintf("rule:%s:%s", app, name);
	g = jsonl_get(jv_copy(cond), "group_by");
	if (jv_get_kind(g) == JV_KIND_STRING)
		g = JV_ARRAY(g);
	if (jv_get_kind(g) == JV_KIND_ARRAY) {
		jv_free(r->group_by);
		r->group_by = g;
	} else if (jv_is_valid(g)) {
		jv_free(g);
		bad(l, idx, name, "condition.group_by", "a field or a list of fields");
		goto out;
	} else {
		jv_free(g);
		if (r->kind == COUNT)
			r->group_by = jv_array_append(r->group_by, jv_string("actor"));
	}
	switch (r->kind) {
	case COUNT:
		r->threshold = number(cond, "threshold", -1);
		r->window = (int64_t)(number(cond, "window_minutes", 60) * 60 * TS_SECOND);
		if (r->threshold < 1) {
			bad(l, idx, name, "condition.threshold", "a number of events, 1 or more");
			goto out;
		}
		if (r->window <= 0) {
			bad(l, idx, name, "condition.window_minutes", "a number of minutes");
			goto out;
		}
		break;
	case NEWVALUE:
	case REGEX:
		if (!str(cond, "field")) {
			bad(l, idx, name, "condition.field", "a field such as actor or metadata.ip");
			goto out;
		}
		r->field = xstrdup(str(cond, "field"));
		if (r->kind == REGEX) {
			const char *pat = str(cond, "pattern");
			char msg[200];
			int e;

			if (!pat) {
				bad(l, idx, name, "condition.pattern", "a regular expression");
				goto out;
			}
			if ((e = regcomp(&r->re, pat, REG_EXTENDED | REG_NOSUB))) {
				regerror(e, &r->re, msg, sizeof msg);
				char *w = xasprintf("a POSIX extended regular expression (%s)", msg);

				bad(l, idx, name, "condition.pattern", w);
				free(w);
				goto out;
			}
			r->has_re = 1;
		}
		break;
	case VOLUME:
		r->ratio = number(cond, "ratio", -1);
		if (r->ratio <= 0) {
			bad(l, idx, name, "condition.ratio", "a ratio above 0, like 3");
			goto out;
		}
		{
			jv f = jsonl_get(jv_copy(cond), "filter");

			if (jv_get_kind(f) == JV_KIND_OBJECT) {
				jv_free(r->filter);
				r->filter = f;
			} else if (jv_is_valid(f) && jv_get_kind(f) != JV_KIND_NULL) {
				jv_free(f);
				bad(l, idx, name, "condition.filter", "a mapping of field: value");
				goto out;
			} else {
				jv_free(f);
			}
		}
		break;
	case JQ: {
		const char *ex = str(cond, "expression");

		if (!ex) {
			bad(l, idx, name, "condition.expression", "a jq expression");
			goto out;
		}
		if (!(r->jq = jq_init()))
			die(EXIT_WORK, "out of memory");
		jq_set_error_cb(r->jq, jq_error, l);
		if (!jq_compile(r->jq, ex)) {
			char *w = xasprintf("a jq expression that compiles (%s)",
			    l->jqerr ? l->jqerr : "jq cannot compile it");

			bad(l, idx, name, "condition.expression", w);
			free(w);
			goto out;
		}
		/* l is gone once loading is over; errors at run time come back from jq_next */
		jq_set_error_cb(r->jq, jq_quiet, NULL);
		break;
	}
	}
	rc = 0;
	goto out;
out_name:
	bad(l, idx, name, "name", "the rule's name");
out:
	jv_free(cond);
	return rc;
}

/* a rule's name is its findings' detector: two rules of one name would mix them */
static int
unique(loading *l, ruleset *rs, int idx)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->r[i].name, rs->r[rs->n].name))
			return bad(l, idx, rs->r[rs->n].name, "name", "a name no other rule has");
	return 0;
}

int
rules_load(det_ctx *c, const char *root, char **err)
{
	char *pat = xasprintf("%s/apps/*/detectors.yaml", root);
	ruleset *rs = xcalloc(1, sizeof *rs);
	glob_t g;
	int rc = 0;

	*err = NULL;
	if (glob(pat, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc && !rc; i++) {
			loading l = {.path = g.gl_pathv[i]};
			char *textbuf, *yerr = NULL, *app;
			size_t len;
			jv doc, list;

			if (!(textbuf = store_slurp(l.path, &len))) {
				*err = xasprintf("cannot read '%s': %s", l.path, strerror(errno));
				rc = -1;
				break;
			}
			doc = yamljv_parse(textbuf, len, &l.lines, &yerr);
			free(textbuf);
			if (!jv_is_valid(doc)) {
				*err = xasprintf("%s:%s", l.path, yerr);
				free(yerr);
				rc = -1;
				break;
			}
			list = jsonl_get(jv_copy(doc), "detectors");
			app = xstrdup(l.path + strlen(root) + 6);
			app[strcspn(app, "/")] = 0;
			if ((jv_get_kind(doc) != JV_KIND_OBJECT && jv_get_kind(doc) != JV_KIND_NULL) ||
			    (jv_is_valid(list) && jv_get_kind(list) != JV_KIND_ARRAY &&
			    jv_get_kind(list) != JV_KIND_NULL)) {
				*err = xasprintf("%s:1: detectors: expected a list of rules", l.path);
				rc = -1;
			} else if (jv_get_kind(list) == JV_KIND_ARRAY) {
				jv_array_foreach(list, k, rj) {
					if (!rc) {
						rs->r = xrealloc(rs->r, (rs->n + 1) * sizeof *rs->r);
						if (load_rule(&l, k, rj, &rs->r[rs->n], app) ||
						    unique(&l, rs, k)) {
							rc = -1;
							*err = l.err;
							l.err = NULL;
						} else {
							jv m = det_memory(c, rs->r[rs->n].memkey);

							jv_free(rs->r[rs->n].mem);
							rs->r[rs->n].mem = obj(m);
						}
						rs->n++;
					}
					jv_free(rj);
				}
			}
			free(l.err);
			free(l.jqerr);
			free(app);
			jv_free(list);
			jv_free(doc);
			jv_free(l.lines);
		}
		globfree(&g);
	}
	free(pat);
	if (rc || !rs->n) {
		rules_stop(rs);
		return rc;
	}
	return det_add(c, &rules_ops, rs);
}
