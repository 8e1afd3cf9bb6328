#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "detect.h"
#include "event.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

#define DET(n) extern const det_ops det_##n;
DET(auth_failure_burst) DET(container_probing) DET(financial_anomaly) DET(git_oops)
DET(injection_probe) DET(log_format_drift) DET(malicious_skill) DET(new_actor)
DET(new_external_access) DET(openclaw_config_drift) DET(priv_escalation)
DET(unusual_resource_access) DET(unusual_timing) DET(volume_anomaly)
#undef DET

const det_ops *const det_builtin[] = {
	&det_auth_failure_burst, &det_container_probing, &det_financial_anomaly, &det_git_oops,
	&det_injection_probe, &det_log_format_drift, &det_malicious_skill, &det_new_actor,
	&det_new_external_access, &det_openclaw_config_drift, &det_priv_escalation,
	&det_unusual_resource_access, &det_unusual_timing, &det_volume_anomaly,
};
const size_t det_nbuiltin = sizeof det_builtin / sizeof *det_builtin;

typedef struct running {
	const det_ops *ops;
	void *state;
} running;

struct det_ctx {
	baseline *b;
	const char *root;
	int64_t now;
	int learning;
	running *dets;
	size_t ndets;
	jv all;		/* every finding: the stored ones, then the new ones */
	jv byfp;	/* "DETECTOR\\tFINGERPRINT" of open findings -> index in all */
	jv touched;	/* index -> true for findings made or changed in this pass */
	size_t stored;	/* how many of all were stored before */
	jv fetched;	/* "DETECTOR\tFINGERPRINT" -> true: stored, found through the lookup */
	det_lookup_fn lookup;
	void *lookup_arg;
	const det_event *cur;
	int cur_learning;
	int retro;
};

static const char *
sev_ok(const char *s)
{
	return !strcmp(s, "info") || !strcmp(s, "warn") || !strcmp(s, "critical") ? s : NULL;
}

static int
sev_rank(const char *s)
{
	return !strcmp(s, "critical") ? 2 : !strcmp(s, "warn") ? 1 : 0;
}

static char *
fpkey(const char *detector, const char *fp)
{
	return xasprintf("%s\t%s", detector, fp);
}

int
det_enabled(jv conf)
{
	jv e = jsonl_get(jv_copy(conf), "enabled");
	int on = !(jv_get_kind(e) == JV_KIND_FALSE || (jv_get_kind(e) == JV_KIND_STRING &&
	    (!strcmp(jv_string_value(e), "no") || !strcmp(jv_string_value(e), "off") ||
	    !strcmp(jv_string_value(e), "false"))));

	jv_free(e);
	return on;
}

char *
det_settings(const char *detector, jv conf, const det_setting *table)
{
	char *msg = NULL;

	jv_object_foreach(conf, k, v) {
		const char *key = jv_string_value(k);
		const det_setting *s = table;

		while (s->key && strcmp(s->key, key))
			s++;
		if (msg) {
			;
		} else if (!s->key) {
			char *known = xstrdup("");

			for (const det_setting *t = table; t->key; t++) {
				char *more = xasprintf("%s%s%s", known, *known ? ", " : "", t->key);

				free(known);
				known = more;
			}
			msg = xasprintf("detectors.%s.%s: unknown setting (%s%s%s)", detector, key,
			    *known ? "known: " : "it has none", known, "");
			free(known);
		} else {
			double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : s->min - 1;

			if (d < s->min || d > s->max || (s->whole && d != (double)(long long)d)) {
				if (s->hint)
					msg = xasprintf("detectors.%s.%s: expected %s", detector, key,
					    s->hint);
				else
					msg = xasprintf("detectors.%s.%s: expected a %s of at least %g",
					    detector, key, s->whole ? "whole number" : "number", s->min);
			} else {
				*s->value = d;
			}
		}
		jv_free(k);
		jv_free(v);
	}
	jv_free(conf);
	return msg;
}

char *
det_string_list(const char *detector, const char *key, jv v, const char *list,
    const char *item)
{
	if (jv_get_kind(v) != JV_KIND_ARRAY)
		return xasprintf("detectors.%s.%s: expected %s", detector, key, list);
	jv_array_foreach(v, i, s) {
		int ok = jv_get_kind(s) == JV_KIND_STRING && *jv_string_value(s);

		jv_free(s);
		if (!ok)
			return xasprintf("detectors.%s.%s[%d]: expected %s", detector, key, i, item);
	}
	return NULL;
}

det_ctx *
det_open(baseline *b, const char *root, jv conf, jv findings, int learning, char **err)
{
	det_ctx *c = xcalloc(1, sizeof *c);

	c->b = b;
	c->root = root;
	c->now = ts_now();
	c->learning = learning;
	c->all = jv_array();
	c->byfp = jv_object();
	c->touched = jv_object();
	c->fetched = jv_object();
	if (jv_get_kind(conf) != JV_KIND_OBJECT) {
		jv_free(conf);
		conf = jv_object();
	}
	jv_array_foreach(findings, i, f) {
		(void)i;
		if (jv_get_kind(f) != JV_KIND_OBJECT) {
			jv_free(f);
			continue;
		}
		if (!strcmp(event_str(f, "status"), "open") && *event_str(f, "fingerprint")) {
			char *k = fpkey(event_str(f, "detector"), event_str(f, "fingerprint"));

			c->byfp = jv_object_set(c->byfp, jv_string(k),
			    jv_number(jv_array_length(jv_copy(c->all))));
			free(k);
		}
		c->all = jv_array_append(c->all, f);
	}
	jv_free(findings);
	c->stored = (size_t)jv_array_length(jv_copy(c->all));

	for (size_t i = 0; i < det_nbuiltin; i++) {
		const det_ops *o = det_builtin[i];
		jv dc;
		void *st;

		if (!o || !o->name)	/* a weak reference to a detector not built in */
			continue;
		dc = jsonl_get(jv_copy(conf), o->name);
		if (jv_get_kind(dc) == JV_KIND_NULL || !jv_is_valid(dc)) {
			jv_free(dc);
			dc = jv_object();
		}
		if (jv_get_kind(dc) != JV_KIND_OBJECT) {
			*err = xasprintf("detectors.%s: expected a mapping of settings", o->name);
			jv_free(dc);
			goto fail;
		}
		if (!det_enabled(dc)) {
			jv_free(dc);
			continue;
		}
		dc = jv_object_delete(dc, jv_string("enabled"));
		*err = NULL;
		st = o->start ? o->start(c, dc, err) : NULL;
		if (*err)
			goto fail;
		det_add(c, o, st);
	}
	jv_free(conf);
	return c;
fail:
	jv_free(conf);
	{
		jv all, ch, sum;
		size_t m, n;

		det_close(c, &all, &ch, &m, &n, &sum);
		jv_free(all), jv_free(ch), jv_free(sum);
	}
	return NULL;
}

int
det_add(det_ctx *c, const det_ops *ops, void *state)
{
	c->dets = xrealloc(c->dets, (c->ndets + 1) * sizeof *c->dets);
	c->dets[c->ndets].ops = ops;
	c->dets[c->ndets++].state = state;
	return 0;
}

const baseline *
det_baseline(det_ctx *c)
{
	return c->b;
}

int64_t
det_now(det_ctx *c)
{
	return c->now;
}

const char *
det_root(det_ctx *c)
{
	return c->root;
}

const char *
det_meta_str(const det_event *e, const char *key)
{
	jv v = jv_object_get(jv_copy(e->meta), jv_string(key));
	const char *s = "";

	/* e->meta holds what we point into; numbers are printed into a small ring */
	if (jv_get_kind(v) == JV_KIND_STRING) {
		s = jv_string_value(v);
	} else if (jv_get_kind(v) == JV_KIND_NUMBER || jv_get_kind(v) == JV_KIND_TRUE ||
	    jv_get_kind(v) == JV_KIND_FALSE) {
		static char ring[8][64];
		static int at;
		char *buf = ring[at++ % 8];

		if (jv_get_kind(v) == JV_KIND_NUMBER)
			snprintf(buf, 64, "%.17g", jv_number_value(v));
		else
			snprintf(buf, 64, "%s", jv_get_kind(v) == JV_KIND_TRUE ? "true" : "false");
		s = buf;
	}
	jv_free(v);
	return s;
}

static char *
new_id(void)
{
	unsigned char r[8];
	char hex[17];

	if (RAND_bytes(r, sizeof r) != 1)
		die(EXIT_WORK, "no random bytes for a finding id");
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	return xasprintf("fnd_%s", hex);
}

/* add event ids to a finding, up to the cap; metadata.event_count counts all */
static jv
with_events(jv f, jv ids)
{
	jv have = jsonl_get(jv_copy(f), "event_ids"), meta = jsonl_get(jv_copy(f), "metadata");
	jv set = jv_object();
	double count;

	if (jv_get_kind(have) != JV_KIND_ARRAY) {
		jv_free(have);
		have = jv_array();
	}
	if (jv_get_kind(meta) != JV_KIND_OBJECT) {
		jv_free(meta);
		meta = jv_object();
	}
	{
		jv n = jsonl_get(jv_copy(meta), "event_count");

		count = jv_get_kind(n) == JV_KIND_NUMBER ? jv_number_value(n)
		    : jv_array_length(jv_copy(have));
		jv_free(n);
	}
	jv_array_foreach(have, i, id) {
		(void)i;
		if (jv_get_kind(id) == JV_KIND_STRING)
			set = jv_object_set(set, id, jv_true());
		else
			jv_free(id);
	}
	jv_array_foreach(ids, i, id) {
		(void)i;
		if (jv_get_kind(id) != JV_KIND_STRING || jv_object_has(jv_copy(set), jv_copy(id))) {
			jv_free(id);
			continue;
		}
		set = jv_object_set(set, jv_copy(id), jv_true());
		count++;
		if (jv_array_length(jv_copy(have)) < DET_MAX_EVENT_IDS)
			have = jv_array_append(have, id);
		else
			jv_free(id);
	}
	jv_free(ids);
	jv_free(set);
	meta = jv_object_set(meta, jv_string("event_count"), jv_number(count));
	f = jv_object_set(f, jv_string("event_ids"), have);
	return jv_object_set(f, jv_string("metadata"), meta);
}

void
det_lookup(det_ctx *c, det_lookup_fn fn, void *arg)
{
	c->lookup = fn;
	c->lookup_arg = arg;
}

/* the index in all of the open finding of key k, a number, or jv_invalid() */
static jv
open_finding(det_ctx *c, const char *k, const char *detector, const char *fp)
{
	jv at = jv_object_get(jv_copy(c->byfp), jv_string(k)), f;

	if (jv_is_valid(at) || !c->lookup)
		return at;
	f = c->lookup(c->lookup_arg, detector, fp);
	if (jv_get_kind(f) != JV_KIND_OBJECT) {
		jv_free(f);
		return at;
	}
	jv_free(at);
	at = jv_number(jv_array_length(jv_copy(c->all)));
	c->all = jv_array_append(c->all, f);
	c->byfp = jv_object_set(c->byfp, jv_string(k), jv_copy(at));
	c->fetched = jv_object_set(c->fetched, jv_string(k), jv_true());
	return at;
}

static double
count_of(jv f)
{
	return jsonl_number(jsonl_get(jsonl_get(jv_copy(f), "metadata"), "event_count"), -1);
}

static void
record(det_ctx *c, const char *detector, const char *severity, const char *fp, jv ids,
    jv meta, const char *title)
{
	char *k;

	/* an operator acknowledged this behaviour (mallcop ack): it is known now */
	if (baseline_acked(c->b, detector, fp)) {
		jv_free(ids);
		jv_free(meta);
		return;
	}
	k = fpkey(detector, fp);
	jv at = open_finding(c, k, detector, fp);
	char t[TS_BUFSZ];

	if (c->retro)
		meta = jv_object_set(meta, jv_string("retrospective"), jv_true());
	if (c->cur && c->cur_learning && strcmp(severity, "info")) {
		severity = "info";	/* a source still learning what is normal */
		meta = jv_object_set(meta, jv_string("learning"), jv_true());
	}
	if (jv_get_kind(at) == JV_KIND_NUMBER) {
		int i = (int)jv_number_value(at);
		jv f = jv_array_get(jv_copy(c->all), i), m;
		int raised = sev_rank(severity) > sev_rank(event_str(f, "severity"));
		double before = count_of(f);

		c->all = jv_array_set(c->all, i, jv_null());
		f = with_events(f, ids);
		m = jsonl_get(jv_copy(f), "metadata");
		if (jv_get_kind(m) != JV_KIND_OBJECT) {
			jv_free(m);
			m = jv_object();
		}
		/* what the detector says now (a burst grew, a success followed) is the latest */
		meta = jv_object_delete(jv_object_delete(meta, jv_string("event_count")),
		    jv_string("learning"));
		m = jv_object_merge(m, jv_copy(meta));
		if (raised) {
			/* no longer a learning source's finding: it is what it is now */
			f = jv_object_set(f, jv_string("severity"), jv_string(severity));
			m = jv_object_delete(m, jv_string("learning"));
		}
		if (c->retro)
			m = jv_object_set(m, jv_string("retrospective"), jv_true());
		f = jv_object_set(f, jv_string("metadata"), m);
		if (sev_rank(severity) >= sev_rank(event_str(f, "severity")))
			f = jv_object_set(f, jv_string("title"), jv_string(title));
		/* the same finding again, with nothing new, is no change */
		if (raised || count_of(f) != before)
			c->touched = jv_object_set(c->touched, jv_string(k), jv_number(i));
		c->all = jv_array_set(c->all, i, f);
		jv_free(meta);
	} else {
		char *id = new_id();
		jv f = jv_object();

		f = jv_object_set(f, jv_string("id"), jv_string(id));
		f = jv_object_set(f, jv_string("timestamp"), jv_string(ts_format(c->now, t)));
		f = jv_object_set(f, jv_string("detector"), jv_string(detector));
		f = jv_object_set(f, jv_string("event_ids"), jv_array());
		f = jv_object_set(f, jv_string("title"), jv_string(title));
		f = jv_object_set(f, jv_string("severity"), jv_string(severity));
		f = jv_object_set(f, jv_string("status"), jv_string("open"));
		f = jv_object_set(f, jv_string("annotations"), jv_array());
		f = jv_object_set(f, jv_string("metadata"), meta);
		f = jv_object_set(f, jv_string("fingerprint"), jv_string(fp));
		f = with_events(f, ids);
		c->byfp = jv_object_set(c->byfp, jv_string(k),
		    jv_number(jv_array_length(jv_copy(c->all))));
		c->touched = jv_object_set(c->touched, jv_string(k),
		    jv_number(jv_array_length(jv_copy(c->all))));
		c->all = jv_array_append(c->all, f);
		free(id);
	}
	jv_free(at);
	free(k);
}

size_t
det_finding_count(det_ctx *c, const char *detector, const char *fingerprint, jv ids)
{
	char *k = fpkey(detector, fingerprint);
	jv at = open_finding(c, k, detector, fingerprint), f;
	double n;

	free(k);
	f = jv_get_kind(at) == JV_KIND_NUMBER ?
	    jv_array_get(jv_copy(c->all), (int)jv_number_value(at)) : jv_object();
	jv_free(at);
	f = with_events(f, ids);
	n = count_of(f);
	jv_free(f);
	return n > 0 ? (size_t)n : 0;
}

static void
vfinding(det_ctx *c, const char *detector, const char *severity, const char *fp, jv ids,
    jv meta, const char *fmt, va_list ap)
{
	char *title = xvasprintf(fmt, ap);

	if (!sev_ok(severity))
		severity = "warn";
	if (jv_get_kind(meta) != JV_KIND_OBJECT) {
		jv_free(meta);
		meta = jv_object();
	}
	if (jv_get_kind(ids) != JV_KIND_ARRAY) {
		jv_free(ids);
		ids = jv_array();
	}
	record(c, detector, severity, fp && *fp ? fp : title, ids, meta, title);
	free(title);
}

void
det_finding(det_ctx *c, const char *detector, const char *severity, const char *fingerprint,
    jv event_ids, jv meta, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfinding(c, detector, severity, fingerprint, event_ids, meta, fmt, ap);
	va_end(ap);
}

void
det_event_finding(det_ctx *c, const det_event *e, const char *detector, const char *severity,
    const char *fingerprint, jv meta, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfinding(c, detector, severity, fingerprint, JV_ARRAY(jv_string(e->id)), meta, fmt, ap);
	va_end(ap);
}

void
det_feed(det_ctx *c, jv ev)
{
	det_event e;

	if (jv_get_kind(ev) != JV_KIND_OBJECT) {
		jv_free(ev);
		return;
	}
	e.ev = ev;
	e.id = event_str(ev, "id");
	e.source = event_str(ev, "source");
	e.type = event_str(ev, "event_type");
	e.actor = event_str(ev, "actor");
	e.action = event_str(ev, "action");
	e.target = event_str(ev, "target");
	e.severity = event_str(ev, "severity");
	e.meta = jsonl_get(jv_copy(ev), "metadata");
	if (jv_get_kind(e.meta) != JV_KIND_OBJECT) {
		jv_free(e.meta);
		e.meta = jv_object();
	}
	if (event_time(ev, &e.us))
		e.us = c->now;
	c->cur = &e;
	c->cur_learning = c->learning && !c->retro && baseline_learning(c->b, e.source, e.us);
	for (size_t i = 0; i < c->ndets; i++)
		c->dets[i].ops->event(c, c->dets[i].state, &e);
	c->cur = NULL;
	if (!c->retro)
		baseline_learn(c->b, ev, e.source, e.type, e.actor, e.action, e.target, e.us);
	jv_free(e.meta);
	jv_free(ev);
}

void
det_retrospective(det_ctx *c, int on)
{
	c->retro = on;
}

int
det_in_retrospective(det_ctx *c)
{
	return c->retro;
}

jv
det_memory(det_ctx *c, const char *name)
{
	return baseline_state(c->b, name);
}

void
det_remember(det_ctx *c, const char *name, jv v)
{
	baseline_set_state(c->b, name, v);
}

int
det_take(det_ctx *c, jv f, const char *detector, char **why)
{
	jv title = jsonl_get(jv_copy(f), "title"), sev = jsonl_get(jv_copy(f), "severity");
	jv ids = jsonl_get(jv_copy(f), "event_ids"), meta = jsonl_get(jv_copy(f), "metadata");
	jv fp = jsonl_get(jv_copy(f), "fingerprint");
	int r = -1;

	*why = NULL;
	if (jv_get_kind(f) != JV_KIND_OBJECT)
		*why = "not a JSON object";
	else if (jv_get_kind(title) != JV_KIND_STRING || !jv_string_length_bytes(jv_copy(title)))
		*why = "no title";
	else if (jv_get_kind(sev) != JV_KIND_STRING || !sev_ok(jv_string_value(sev)))
		*why = "severity is not info, warn or critical";
	else if (jv_is_valid(ids) && jv_get_kind(ids) != JV_KIND_ARRAY)
		*why = "event_ids is not a list";
	if (!*why) {
		det_finding(c, detector, jv_string_value(sev),
		    jv_get_kind(fp) == JV_KIND_STRING ? jv_string_value(fp) : NULL,
		    jv_is_valid(ids) ? jv_copy(ids) : jv_array(),
		    jv_get_kind(meta) == JV_KIND_OBJECT ? jv_copy(meta) : jv_object(), "%s",
		    jv_string_value(title));
		r = 0;
	}
	jv_free(title), jv_free(sev), jv_free(ids), jv_free(meta), jv_free(fp), jv_free(f);
	return r;
}

void
det_close(det_ctx *c, jv *all, jv *changed_list, size_t *made, size_t *changed, jv *summary)
{
	jv order = jv_array();

	for (size_t i = 0; i < c->ndets; i++)
		if (c->dets[i].ops->finish)
			c->dets[i].ops->finish(c, c->dets[i].state);
	for (size_t i = 0; i < c->ndets; i++)
		if (c->dets[i].ops->stop)
			c->dets[i].ops->stop(c->dets[i].state);
	free(c->dets);
	*made = *changed = 0;
	*summary = jv_object();
	*changed_list = jv_array();
	/* in the order they were made, as they are stored */
	jv_object_foreach(c->touched, k, at) {
		int i = (int)jv_number_value(at);

		if ((size_t)i < c->stored || jv_object_has(jv_copy(c->fetched), jv_copy(k)))
			(*changed)++;
		else
			(*made)++;
		order = jv_array_append(order, jv_number(i));
		jv_free(k);
	}
	order = jv_sort(order, jv_copy(order));
	jv_array_foreach(order, j, at) {
		jv f = jv_array_get(jv_copy(c->all), (int)jv_number_value(at));
		jv per = jsonl_get(jv_copy(*summary), event_str(f, "detector"));
		jv n;

		(void)j;
		if (jv_get_kind(per) != JV_KIND_OBJECT) {
			jv_free(per);
			per = jv_object();
		}
		n = jsonl_get(jv_copy(per), event_str(f, "severity"));
		per = jv_object_set(per, jv_string(event_str(f, "severity")),
		    jv_number((jv_get_kind(n) == JV_KIND_NUMBER ? jv_number_value(n) : 0) + 1));
		jv_free(n);
		*summary = jv_object_set(*summary, jv_string(event_str(f, "detector")), per);
		*changed_list = jv_array_append(*changed_list, f);
		jv_free(at);
	}
	jv_free(order);
	*all = c->all;
	jv_free(c->byfp);
	jv_free(c->fetched);
	jv_free(c->touched);
	free(c);
}
