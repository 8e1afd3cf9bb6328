#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "baseline.h"
#include "event.h"
#include "jsonl.h"
#include "store.h"
#include "ts.h"
#include "util.h"

/*
 * In memory every part is its own jv with one reference, so that an update changes it in
 * place: a nested jv_object_set on a shared value would copy the whole table each time.
 */
enum {
	B_FREQ, B_ACTORS, B_SOURCES, B_ROLES, B_RECIPIENTS, B_IPS, B_UAS, B_REL, B_MAX, B_DAILY,
	B_FIRST, B_STATE, B_ACTTOT, B_NPARTS
};

static const char *list_names[] = {
	[B_ACTORS] = "actors", [B_SOURCES] = "sources", [B_RECIPIENTS] = "recipients",
	[B_IPS] = "ips", [B_UAS] = "user_agents",
};

typedef struct baseline_parts {
	jv p[B_NPARTS];
	/* B_ACTTOT: per actor [targets, events] over the relationships, kept up to date so
	 * that asking about an actor does not walk them all; derived, never saved */
	jv rest;	/* top-level members we do not use, kept as they were */
	jv known_rest;	/* the same inside known_entities */
	double events;
	int earlier;	/* read from a file of the earlier implementation */
} parts;

static parts *
P(const baseline *b)
{
	return b->p;
}

void
baseline_init(baseline *b, int window_days)
{
	parts *p = xcalloc(1, sizeof *p);

	for (int i = 0; i < B_NPARTS; i++)
		p->p[i] = jv_object();
	p->rest = jv_object();
	p->known_rest = jv_object();
	b->p = p;
	b->window_days = window_days > 0 ? window_days : 30;
}

void
baseline_free(baseline *b)
{
	parts *p = P(b);

	if (!p)
		return;
	for (int i = 0; i < B_NPARTS; i++)
		jv_free(p->p[i]);
	jv_free(p->rest);
	jv_free(p->known_rest);
	free(p);
	b->p = NULL;
}

/* take a member out of an object (so that it has one reference), to change it in place */
static jv
take(jv *obj, const char *key)
{
	jv v = jv_object_get(jv_copy(*obj), jv_string(key));

	if (jv_is_valid(v))
		*obj = jv_object_set(*obj, jv_string(key), jv_null());
	return v;
}

static void
add(jv *obj, const char *key, double by)
{
	jv v = jv_object_get(jv_copy(*obj), jv_string(key));
	double n = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;

	jv_free(v);
	if (n + by <= 0)
		*obj = jv_object_delete(*obj, jv_string(key));
	else
		*obj = jv_object_set(*obj, jv_string(key), jv_number(n + by));
}

static jv
as_set(jv list)
{
	jv set = jv_object();

	if (jv_get_kind(list) == JV_KIND_ARRAY)
		jv_array_foreach(list, i, x) {
			(void)i;
			if (jv_get_kind(x) == JV_KIND_STRING)
				set = jv_object_set(set, x, jv_true());
			else
				jv_free(x);
		}
	jv_free(list);
	return set;
}

/* a baseline of the earlier implementation has its markers in keys as well as in values */
static jv
unwrap_keys(jv v)
{
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		jv o = jv_object();

		jv_object_foreach(v, k, x)
			o = jv_object_set(o, event_unwrap(k), unwrap_keys(x));
		jv_free(v);
		return o;
	}
	return event_unwrap(v);
}

static void
tally(parts *p, const char *actor, double targets, double events)
{
	jv t = take(&p->p[B_ACTTOT], actor);
	double n = 0, c = 0;

	if (jv_get_kind(t) == JV_KIND_ARRAY) {
		n = jsonl_number(jv_array_get(jv_copy(t), 0), 0);
		c = jsonl_number(jv_array_get(jv_copy(t), 1), 0);
	}
	jv_free(t);
	p->p[B_ACTTOT] = jv_object_set(p->p[B_ACTTOT], jv_string(actor),
	    JV_ARRAY(jv_number(n + targets), jv_number(c + events)));
}

int
baseline_load(baseline *b, const char *path, int window_days, char **err)
{
	size_t len;
	char *text = store_read(path, &len, err);
	parts *p;
	jv v, known;

	baseline_init(b, window_days);
	if (!text)
		return *err ? -1 : 0;
	v = jsonl_parse(text, len);
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		free(text);
		*err = xasprintf("'%s' is not a baseline (a JSON object); restore it from git or "
		    "delete it to learn again", path);
		return -1;
	}
	if (strstr(text, "[USER_DATA_"))
		v = unwrap_keys(v);
	free(text);
	p = P(b);
	/* ours always has them; the earlier implementation's never */
	p->earlier = !jv_object_has(jv_copy(v), jv_string("detector_state")) &&
	    !jv_object_has(jv_copy(v), jv_string("daily"));
	{
		static const struct { int part; const char *key; } top[] = {
			{B_FREQ, "frequency_tables"}, {B_REL, "relationships"}, {B_MAX, "maxima"},
			{B_DAILY, "daily"}, {B_FIRST, "first_seen"}, {B_STATE, "detector_state"},
		};

		for (size_t i = 0; i < sizeof top / sizeof *top; i++) {
			jv x = take(&v, top[i].key);

			v = jv_object_delete(v, jv_string(top[i].key));
			if (jv_get_kind(x) == JV_KIND_OBJECT) {
				jv_free(p->p[top[i].part]);
				p->p[top[i].part] = x;
			} else {
				jv_free(x);
			}
		}
	}
	known = take(&v, "known_entities");
	v = jv_object_delete(v, jv_string("known_entities"));
	if (jv_get_kind(known) == JV_KIND_OBJECT) {
		for (int i = 0; i < B_NPARTS; i++) {
			jv x;

			if (i >= (int)(sizeof list_names / sizeof *list_names) || !list_names[i])
				continue;
			x = take(&known, list_names[i]);
			known = jv_object_delete(known, jv_string(list_names[i]));
			jv_free(p->p[i]);
			p->p[i] = as_set(x);
		}
		{
			jv roles = take(&known, "actor_roles");

			known = jv_object_delete(known, jv_string("actor_roles"));
			if (jv_get_kind(roles) == JV_KIND_OBJECT)
				jv_object_foreach(roles, k, x)
					p->p[B_ROLES] = jv_object_set(p->p[B_ROLES], k, as_set(x));
			jv_free(roles);
		}
		jv_free(p->known_rest);
		p->known_rest = known;
	} else {
		jv_free(known);
	}
	jv_object_foreach(p->p[B_REL], k, r) {
		const char *s = jv_string_value(k), *colon = strchr(s, ':');

		if (colon) {
			char *actor = strndup(s, (size_t)(colon - s));

			tally(p, actor, 1, jsonl_number(jsonl_get(jv_copy(r), "count"), 0));
			free(actor);
		}
		jv_free(k);
		jv_free(r);
	}
	/* a baseline of the earlier implementation has learned its sources already */
	if (jv_object_length(jv_copy(p->p[B_FIRST])) == 0)
		jv_object_foreach(p->p[B_SOURCES], k, x) {
			p->p[B_FIRST] = jv_object_set(p->p[B_FIRST], k, jv_string("1970-01-01T00:00:01Z"));
			jv_free(x);
		}
	{
		jv n = take(&v, "events");

		v = jv_object_delete(v, jv_string("events"));
		p->events = jv_get_kind(n) == JV_KIND_NUMBER ? jv_number_value(n) : 0;
		jv_free(n);
	}
	jv_free(p->rest);
	p->rest = v;
	return 0;
}

static jv
sorted(jv set)
{
	return jv_keys(set);	/* jv_keys sorts */
}

int
baseline_save(const baseline *b, const char *path, char **err)
{
	parts *p = P(b);
	jv known = jv_copy(p->known_rest), roles = jv_object(), out, text;
	int r;

	for (int i = 0; i < (int)(sizeof list_names / sizeof *list_names); i++)
		if (list_names[i])
			known = jv_object_set(known, jv_string(list_names[i]),
			    sorted(jv_copy(p->p[i])));
	jv_object_foreach(p->p[B_ROLES], k, x)
		roles = jv_object_set(roles, k, sorted(x));
	known = jv_object_set(known, jv_string("actor_roles"), roles);
	out = jv_copy(p->rest);
	out = jv_object_set(out, jv_string("frequency_tables"), jv_copy(p->p[B_FREQ]));
	out = jv_object_set(out, jv_string("known_entities"), known);
	out = jv_object_set(out, jv_string("relationships"), jv_copy(p->p[B_REL]));
	if (!jv_object_has(jv_copy(out), jv_string("actor_context")))
		out = jv_object_set(out, jv_string("actor_context"), jv_object());
	out = jv_object_set(out, jv_string("maxima"), jv_copy(p->p[B_MAX]));
	out = jv_object_set(out, jv_string("daily"), jv_copy(p->p[B_DAILY]));
	out = jv_object_set(out, jv_string("first_seen"), jv_copy(p->p[B_FIRST]));
	out = jv_object_set(out, jv_string("detector_state"), jv_copy(p->p[B_STATE]));
	out = jv_object_set(out, jv_string("events"), jv_number(p->events));
	text = jv_dump_string(out, 0);
	r = store_replace(path, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)),
	    err);
	jv_free(text);
	return r;
}

static void
day_of(int64_t us, char buf[16])
{
	time_t t = (time_t)(us / TS_SECOND);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
}

char *
baseline_time_key(const char *source, const char *type, const char *actor, int64_t us)
{
	time_t t = (time_t)(us / TS_SECOND);
	struct tm tm;

	gmtime_r(&t, &tm);
	return xasprintf("%s:%s:%s:%d:%d", source, type, actor, (tm.tm_wday + 6) % 7,
	    tm.tm_hour / BASELINE_HOUR_BUCKET * BASELINE_HOUR_BUCKET);
}

/* the first three segments of a path-like target: "/subscriptions/x/resourceGroups" */
static char *
target_prefix(const char *target)
{
	const char *p = target;

	for (int seg = 0; seg < 3 && p; seg++) {
		p = strchr(p, '/');
		if (p && seg < 2)
			p++;
	}
	return p ? strndup(target, (size_t)(p - target)) : xstrdup(target);
}

static const char *
meta_str(jv ev, const char *key, char buf[64])
{
	jv m = jsonl_get(jsonl_get(jv_copy(ev), "metadata"), key);
	const char *s = "";

	if (jv_get_kind(m) == JV_KIND_STRING)
		s = jv_string_value(m);	/* ev holds the string */
	else if (jv_get_kind(m) == JV_KIND_NUMBER) {
		snprintf(buf, 64, "%.17g", jv_number_value(m));
		s = buf;
	}
	jv_free(m);
	return s;
}

static int
is_one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

static const char *const grant_types[] = {
	"role_assignment", "collaborator_added", "permission_change", "admin_action",
	"member_added", "iam_change", NULL,
};
static const char *const money_types[] = {
	"transaction", "transfer", "payment", "withdrawal", NULL,
};

static void
count(parts *p, jv *day, const char *key)
{
	add(&p->p[B_FREQ], key, 1);
	add(day, key, 1);
}

void
baseline_learn(baseline *b, jv ev, const char *source, const char *type, const char *actor,
    const char *action, const char *target, int64_t us)
{
	parts *p = P(b);
	char d[16], buf[64], *k;
	jv day;

	p->events++;
	/* learning starts at a source's first event */
	{
		jv f = jv_object_get(jv_copy(p->p[B_FIRST]), jv_string(source));
		int64_t first;

		if (jv_get_kind(f) != JV_KIND_STRING || ts_parse(jv_string_value(f), &first) ||
		    us < first) {
			char t[TS_BUFSZ];

			p->p[B_FIRST] = jv_object_set(p->p[B_FIRST], jv_string(source),
			    jv_string(ts_format(us, t)));
		}
		jv_free(f);
	}
	p->p[B_SOURCES] = jv_object_set(p->p[B_SOURCES], jv_string(source), jv_true());
	if (*actor)
		p->p[B_ACTORS] = jv_object_set(p->p[B_ACTORS], jv_string(actor), jv_true());

	/* frequencies, within the window only: an old event adds nothing to them */
	if (us >= ts_now() - (int64_t)b->window_days * 86400 * TS_SECOND) {
		day_of(us, d);
		day = take(&p->p[B_DAILY], d);
		if (jv_get_kind(day) != JV_KIND_OBJECT) {
			jv_free(day);
			day = jv_object();
		}
		k = xasprintf("%s:%s", source, type);
		count(p, &day, k);
		free(k);
		k = xasprintf("%s:%s:%s", source, type, actor);
		count(p, &day, k);
		free(k);
		k = baseline_time_key(source, type, actor, us);
		count(p, &day, k);
		free(k);
		/* the actor's own profile, whatever the source: "*:*:ACTOR[:WEEKDAY:BUCKET]" */
		if (*actor) {
			k = xasprintf("*:*:%s", actor);
			count(p, &day, k);
			free(k);
			k = baseline_time_key("*", "*", actor, us);
			count(p, &day, k);
			free(k);
		}
		{
			char *pre = target_prefix(target);

			k = xasprintf("%s:%s:%s:%s:%s", source, type, actor, action, pre);
			count(p, &day, k);
			free(k);
			free(pre);
		}
		p->p[B_DAILY] = jv_object_set(p->p[B_DAILY], jv_string(d), day);
	}

	if (is_one_of(type, grant_types)) {
		const char *role = meta_str(ev, "role_name", buf);
		jv set;

		if (!*role)
			role = meta_str(ev, "permission_level", buf);
		if (!*role)
			role = meta_str(ev, "role", buf);
		if (!*role)
			role = type;
		set = take(&p->p[B_ROLES], actor);
		if (jv_get_kind(set) != JV_KIND_OBJECT) {
			jv_free(set);
			set = jv_object();
		}
		set = jv_object_set(set, jv_string(role), jv_true());
		p->p[B_ROLES] = jv_object_set(p->p[B_ROLES], jv_string(actor), set);
	}
	if (is_one_of(type, money_types) && *target) {
		const char *amount = meta_str(ev, "amount", buf);
		char *end;
		double a = strtod(amount, &end);

		p->p[B_RECIPIENTS] = jv_object_set(p->p[B_RECIPIENTS], jv_string(target), jv_true());
		if (*amount && !*end) {
			k = xasprintf("amount_max:%s", source);
			if (a > baseline_max(b, k))
				p->p[B_MAX] = jv_object_set(p->p[B_MAX], jv_string(k), jv_number(a));
			free(k);
		}
	}
	{
		static const char *ipkeys[] = {"ip", "ip_address", "source_ip", NULL};

		for (int i = 0; ipkeys[i]; i++) {
			const char *ip = meta_str(ev, ipkeys[i], buf);

			if (*ip) {
				p->p[B_IPS] = jv_object_set(p->p[B_IPS], jv_string(ip), jv_true());
				break;
			}
		}
		{
			const char *ua = meta_str(ev, "user_agent", buf);

			if (*ua)
				p->p[B_UAS] = jv_object_set(p->p[B_UAS], jv_string(ua), jv_true());
		}
	}
	if (*actor && *target) {
		char t[TS_BUFSZ];
		jv r;

		k = xasprintf("%s:%s", actor, target);
		r = take(&p->p[B_REL], k);
		ts_format(us, t);
		tally(p, actor, jv_get_kind(r) == JV_KIND_OBJECT ? 0 : 1, 1);
		if (jv_get_kind(r) != JV_KIND_OBJECT) {
			jv_free(r);
			r = jv_object_set(jv_object(), jv_string("count"), jv_number(0));
			r = jv_object_set(r, jv_string("first_seen"), jv_string(t));
			r = jv_object_set(r, jv_string("last_seen"), jv_string(t));
		}
		{
			jv c = jv_object_get(jv_copy(r), jv_string("count"));
			jv last = jv_object_get(jv_copy(r), jv_string("last_seen"));
			int64_t lu = 0;

			r = jv_object_set(r, jv_string("count"),
			    jv_number((jv_get_kind(c) == JV_KIND_NUMBER ? jv_number_value(c) : 0) + 1));
			if (jv_get_kind(last) != JV_KIND_STRING ||
			    ts_parse(jv_string_value(last), &lu) || us > lu)
				r = jv_object_set(r, jv_string("last_seen"), jv_string(t));
			jv_free(c);
			jv_free(last);
		}
		p->p[B_REL] = jv_object_set(p->p[B_REL], jv_string(k), r);
		free(k);
	}
}

void
baseline_slide(baseline *b, int64_t now)
{
	parts *p = P(b);
	char cut[16];
	jv days = jv_keys(jv_copy(p->p[B_DAILY]));

	day_of(now - (int64_t)b->window_days * 86400 * TS_SECOND, cut);
	jv_array_foreach(days, i, d) {
		(void)i;
		if (strcmp(jv_string_value(d), cut) < 0) {
			jv day = jv_object_get(jv_copy(p->p[B_DAILY]), jv_copy(d));

			if (jv_get_kind(day) == JV_KIND_OBJECT)
				jv_object_foreach(day, k, n) {
					add(&p->p[B_FREQ], jv_string_value(k), -jv_number_value(n));
					jv_free(k);
					jv_free(n);
				}
			jv_free(day);
			p->p[B_DAILY] = jv_object_delete(p->p[B_DAILY], jv_copy(d));
		}
		jv_free(d);
	}
	jv_free(days);
}

int
baseline_empty(const baseline *b)
{
	jv f = P(b)->p[B_FREQ];

	/* jv_object_length walks the whole table: the first slot says as much */
	return !jv_object_iter_valid(f, jv_object_iter(f));
}

static double
num(jv obj, const char *key)
{
	jv v = jv_object_get(obj, jv_string(key));
	double n = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;

	jv_free(v);
	return n;
}

double
baseline_freq(const baseline *b, const char *key)
{
	return num(jv_copy(P(b)->p[B_FREQ]), key);
}

double
baseline_day(const baseline *b, const char *key, int64_t us)
{
	char d[16];
	jv day;

	day_of(us, d);
	day = jv_object_get(jv_copy(P(b)->p[B_DAILY]), jv_string(d));
	if (jv_get_kind(day) != JV_KIND_OBJECT) {
		jv_free(day);
		return 0;
	}
	return num(day, key);
}

int
baseline_days(const baseline *b)
{
	return jv_object_length(jv_copy(P(b)->p[B_DAILY]));
}

int
baseline_known(const baseline *b, const char *list, const char *value)
{
	for (int i = 0; i < (int)(sizeof list_names / sizeof *list_names); i++)
		if (list_names[i] && !strcmp(list_names[i], list))
			return jv_object_has(jv_copy(P(b)->p[i]), jv_string(value));
	return 0;
}

int
baseline_role_known(const baseline *b, const char *actor, const char *role)
{
	jv set = jv_object_get(jv_copy(P(b)->p[B_ROLES]), jv_string(actor));
	int r = jv_get_kind(set) == JV_KIND_OBJECT && jv_object_has(jv_copy(set), jv_string(role));

	jv_free(set);
	return r;
}

double
baseline_relation(const baseline *b, const char *actor, const char *target)
{
	char *k = xasprintf("%s:%s", actor, target);
	jv r = jv_object_get(jv_copy(P(b)->p[B_REL]), jv_string(k));
	double n = jv_get_kind(r) == JV_KIND_OBJECT ? num(jv_copy(r), "count") : 0;

	jv_free(r);
	free(k);
	return n;
}

double
baseline_actor_targets(const baseline *b, const char *actor, int *ntargets)
{
	jv t = jv_object_get(jv_copy(P(b)->p[B_ACTTOT]), jv_string(actor));
	double total = 0;
	int n = 0;

	if (jv_get_kind(t) == JV_KIND_ARRAY) {
		n = (int)jsonl_int(jv_array_get(jv_copy(t), 0), 0, INT_MAX, 0);
		total = jsonl_number(jv_array_get(jv_copy(t), 1), 0);
	}
	jv_free(t);
	if (ntargets)
		*ntargets = n;
	return total;
}

double
baseline_max(const baseline *b, const char *key)
{
	jv v = jv_object_get(jv_copy(P(b)->p[B_MAX]), jv_string(key));
	double n = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;

	jv_free(v);
	return n;
}

int64_t
baseline_first_seen(const baseline *b, const char *source)
{
	jv f = jv_object_get(jv_copy(P(b)->p[B_FIRST]), jv_string(source));
	int64_t us = 0;

	if (jv_get_kind(f) == JV_KIND_STRING && ts_parse(jv_string_value(f), &us))
		us = 0;
	jv_free(f);
	return us;
}

int
baseline_learning(const baseline *b, const char *source, int64_t us)
{
	int64_t first = baseline_first_seen(b, source);

	return !first || us < first + (int64_t)BASELINE_LEARNING_DAYS * 86400 * TS_SECOND;
}

jv
baseline_state(const baseline *b, const char *detector)
{
	jv v = jv_object_get(jv_copy(P(b)->p[B_STATE]), jv_string(detector));

	if (!jv_is_valid(v)) {
		jv_free(v);
		return jv_null();
	}
	return v;
}

void
baseline_set_state(baseline *b, const char *detector, jv v)
{
	P(b)->p[B_STATE] = jv_object_set(P(b)->p[B_STATE], jv_string(detector), v);
}

jv
baseline_sources(const baseline *b)
{
	return jv_keys(jv_copy(P(b)->p[B_SOURCES]));
}

jv
baseline_stats(const baseline *b)
{
	jv s = jv_object();

	s = jv_object_set(s, jv_string("known_actor_count"),
	    jv_number(jv_object_length(jv_copy(P(b)->p[B_ACTORS]))));
	s = jv_object_set(s, jv_string("frequency_table_entries"),
	    jv_number(jv_object_length(jv_copy(P(b)->p[B_FREQ]))));
	s = jv_object_set(s, jv_string("known_sources"), baseline_sources(b));
	return jv_object_set(s, jv_string("events"), jv_number(P(b)->events));
}

jv
baseline_actor(const baseline *b, const char *actor)
{
	parts *p = P(b);
	size_t l = strlen(actor);
	jv freq = jv_object(), hours = jv_object(), targets = jv_object(), r = jv_object();
	jv roles = jv_object_get(jv_copy(p->p[B_ROLES]), jv_string(actor));
	jv first = jv_null(), last = jv_null();
	double events = 0;

	/* keys are SRC:TYPE:ACTOR[:...]: the actor is the third part */
	jv_object_foreach(p->p[B_FREQ], k, n) {
		const char *s = jv_string_value(k), *a = strchr(s, ':');

		a = a ? strchr(a + 1, ':') : NULL;
		if (a && !strncmp(a + 1, actor, l) && (a[1 + l] == ':' || !a[1 + l])) {
			const char *rest = a + 1 + l;
			int wd, hb;

			/* "*:*:ACTOR..." sums the others again: listed, not counted twice */
			if (!strncmp(s, "*:*:", 4))
				;
			else if (!*rest)
				events += jv_number_value(n);
			else if (sscanf(rest, ":%d:%d", &wd, &hb) == 2 && !strchr(rest + 1, '/')) {
				char key[16];
				jv have;

				snprintf(key, sizeof key, "%d:%d", wd, hb);
				have = jv_object_get(jv_copy(hours), jv_string(key));
				hours = jv_object_set(hours, jv_string(key), jv_number(jv_number_value(n) +
				    (jv_get_kind(have) == JV_KIND_NUMBER ? jv_number_value(have) : 0)));
				jv_free(have);
			}
			freq = jv_object_set(freq, k, n);
		} else {
			jv_free(k);
			jv_free(n);
		}
	}
	jv_object_foreach(p->p[B_REL], k, v) {
		const char *s = jv_string_value(k);

		if (!strncmp(s, actor, l) && s[l] == ':') {
			jv f = jv_object_get(jv_copy(v), jv_string("first_seen"));
			jv la = jv_object_get(jv_copy(v), jv_string("last_seen"));

			if (jv_get_kind(f) == JV_KIND_STRING && (jv_get_kind(first) != JV_KIND_STRING ||
			    strcmp(jv_string_value(f), jv_string_value(first)) < 0)) {
				jv_free(first);
				first = jv_copy(f);
			}
			if (jv_get_kind(la) == JV_KIND_STRING && (jv_get_kind(last) != JV_KIND_STRING ||
			    strcmp(jv_string_value(la), jv_string_value(last)) > 0)) {
				jv_free(last);
				last = jv_copy(la);
			}
			jv_free(f);
			jv_free(la);
			targets = jv_object_set(targets, jv_string(s + l + 1), v);
		} else {
			jv_free(v);
		}
		jv_free(k);
	}
	r = jv_object_set(r, jv_string("actor"), jv_string(actor));
	r = jv_object_set(r, jv_string("known"),
	    jv_bool(jv_object_has(jv_copy(p->p[B_ACTORS]), jv_string(actor))));
	r = jv_object_set(r, jv_string("events"), jv_number(events));
	r = jv_object_set(r, jv_string("first_seen"), first);
	r = jv_object_set(r, jv_string("last_seen"), last);
	r = jv_object_set(r, jv_string("frequencies"), freq);
	r = jv_object_set(r, jv_string("hours"), hours);
	r = jv_object_set(r, jv_string("targets"), targets);
	r = jv_object_set(r, jv_string("roles"),
	    jv_get_kind(roles) == JV_KIND_OBJECT ? jv_keys(roles) : (jv_free(roles), jv_array()));
	return r;
}

jv
baseline_entity(const baseline *b, const char *entity)
{
	static const struct { int part; const char *as; } lists[] = {
		{B_ACTORS, "actor"}, {B_SOURCES, "source"}, {B_RECIPIENTS, "recipient"},
		{B_IPS, "ip"}, {B_UAS, "user_agent"},
	};
	parts *p = P(b);
	jv as = jv_array(), r;
	size_t l = strlen(entity);
	int target = 0, role = 0;

	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
		if (jv_object_has(jv_copy(p->p[lists[i].part]), jv_string(entity)))
			as = jv_array_append(as, jv_string(lists[i].as));
	jv_object_foreach(p->p[B_REL], k, v) {
		const char *s = jv_string_value(k);
		size_t n = strlen(s);

		if (!target && n > l && !strcmp(s + n - l, entity) && s[n - l - 1] == ':')
			target = 1;
		jv_free(k);
		jv_free(v);
	}
	jv_object_foreach(p->p[B_ROLES], k, set) {
		role |= jv_object_has(jv_copy(set), jv_string(entity));
		jv_free(k);
		jv_free(set);
	}
	if (target)
		as = jv_array_append(as, jv_string("target"));
	if (role)
		as = jv_array_append(as, jv_string("role"));
	r = jv_object_set(jv_object(), jv_string("entity"), jv_string(entity));
	r = jv_object_set(r, jv_string("known"), jv_bool(jv_array_length(jv_copy(as)) > 0));
	return jv_object_set(r, jv_string("as"), as);
}

static char *
ack_key(const char *detector, const char *fingerprint)
{
	return xasprintf("%s\t%s", detector, fingerprint);
}

void
baseline_ack(baseline *b, const char *detector, const char *fingerprint)
{
	jv acked = baseline_state(b, "acked");
	char *k = ack_key(detector, fingerprint), t[TS_BUFSZ];

	if (jv_get_kind(acked) != JV_KIND_OBJECT) {
		jv_free(acked);
		acked = jv_object();
	}
	acked = jv_object_set(acked, jv_string(k), jv_string(ts_format(ts_now(), t)));
	baseline_set_state(b, "acked", acked);
	free(k);
}

int
baseline_acked(const baseline *b, const char *detector, const char *fingerprint)
{
	jv acked = jv_object_get(jv_copy(P(b)->p[B_STATE]), jv_string("acked"));
	char *k = ack_key(detector, fingerprint);
	int r = jv_get_kind(acked) == JV_KIND_OBJECT && jv_object_has(jv_copy(acked), jv_string(k));

	jv_free(acked);
	free(k);
	return r;
}

int
baseline_from_earlier(const baseline *b)
{
	return P(b)->earlier;
}

void
baseline_relearn(baseline *b)
{
	static const int counts[] = {B_FREQ, B_REL, B_MAX, B_DAILY, B_FIRST, B_ACTTOT};
	parts *p = P(b);

	for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
		jv_free(p->p[counts[i]]);
		p->p[counts[i]] = jv_object();
	}
	p->events = 0;
	p->earlier = 0;
}
