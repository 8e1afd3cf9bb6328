#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "patrol.h"
#include "util.h"
#include "yamljv.h"

/* mallcop-escalate's budget.max_donuts_per_run when mallcop.yaml gives none (mallcop.yaml.5) */
enum { DEFAULT_RUN_DONUTS = 500, NAME_MAX_LEN = 64 };

const char patrol_periods[] =
    "Nm for N of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30; Nh for N of 1, 2, 3, 4, 6, 8, 12; "
    "1d; 1w; Nmo for N of 1, 2, 3, 4, 6, 12 (such as 15m, 1h, 6h, 1d, 1w, 1mo)";

const char *
patrol_name_check(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return "a name is needed";
	if (n > NAME_MAX_LEN)
		return "a name has at most 64 characters";
	if (!isalnum((unsigned char)name[0]) || (name[0] & 0x80))
		return "a name starts with a letter or a digit";
	for (const char *s = name; *s; s++)
		if (!(isalnum((unsigned char)*s) && !(*s & 0x80)) && *s != '-' && *s != '_')
			return "a name holds only letters, digits, '-' and '_'";
	return NULL;
}

/* FNV-1a over the deployment and the name: the same start for the same patrol, every time */
static uint64_t
spread(const char *dir, const char *name)
{
	uint64_t h = 14695981039346656037ULL;

	for (const char *s = dir; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h = (h ^ 0) * 1099511628211ULL;
	for (const char *s = name; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* 1 when n is one of the list (ended by 0) */
static int
one_of(long n, const int *list)
{
	for (; *list; list++)
		if (n == *list)
			return 1;
	return 0;
}

char *
patrol_schedule(const char *every, const char *dir, const char *name, char **err)
{
	static const int mins[] = {1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 0};
	static const int hours[] = {1, 2, 3, 4, 6, 8, 12, 0};
	static const int months[] = {1, 2, 3, 4, 6, 12, 0};
	uint64_t h = spread(dir, name);
	const char *unit = every;
	long n = 0;

	while (isdigit((unsigned char)*unit) && unit - every < 6)
		n = n * 10 + (*unit++ - '0');
	if (unit == every || *every == '0')
		goto bad;
	if (streq(unit, "m") && one_of(n, mins)) {
		if (n == 1)
			return xstrdup("* * * * *");
		return xasprintf("%d-59/%ld * * * *", (int)(h % (uint64_t)n), n);
	}
	if (streq(unit, "h") && one_of(n, hours)) {
		int off = (int)(h % (uint64_t)(n * 60));

		if (n == 1)
			return xasprintf("%d * * * *", off % 60);
		return xasprintf("%d %d-23/%ld * * *", off % 60, off / 60, n);
	}
	if (streq(unit, "d") && n == 1) {
		int off = (int)(h % 1440);

		return xasprintf("%d %d * * *", off % 60, off / 60);
	}
	if (streq(unit, "w") && n == 1) {
		int off = (int)(h % 10080);

		return xasprintf("%d %d * * %d", off % 60, off / 60 % 24, off / 1440);
	}
	if (streq(unit, "mo") && one_of(n, months)) {
		/* the 28th at the latest: every month has one */
		int off = (int)(h % (28 * 1440)), first = (int)(h / (28 * 1440) % (uint64_t)n) + 1;

		if (n == 1)
			return xasprintf("%d %d %d * *", off % 60, off / 60 % 24, off / 1440 + 1);
		if (n == 12)
			return xasprintf("%d %d %d %d *", off % 60, off / 60 % 24, off / 1440 + 1,
			    first);
		return xasprintf("%d %d %d %d-12/%ld *", off % 60, off / 60 % 24, off / 1440 + 1,
		    first, n);
	}
bad:
	*err = xasprintf("period '%s' is not one cron can keep exactly: %s", every,
	    patrol_periods);
	return NULL;
}

/* a message naming the line and the key patrols.NAME[.KEY] */
static char *
bad_key(const cfg *c, const char *name, const char *key, const char *what)
{
	char *path = key ? xasprintf("patrols.%s.%s", name, key) : xasprintf("patrols.%s", name);
	char *where = cfg_where(c, path), *m = xasprintf("%s: %s: %s", where, path, what);

	free(where);
	free(path);
	return m;
}

/* a list of names: a name, or a list of them; invalid when it is neither */
static jv
name_list(jv v)
{
	if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v))
		return jv_array_append(jv_array(), v);
	if (jv_get_kind(v) != JV_KIND_ARRAY) {
		jv_free(v);
		return jv_invalid();
	}
	jv_array_foreach(v, i, x) {
		int ok = jv_get_kind(x) == JV_KIND_STRING && *jv_string_value(x);

		(void)i;
		jv_free(x);
		if (!ok) {
			jv_free(v);
			return jv_invalid();
		}
	}
	return v;
}

/* a boolean of the entry: *out kept when absent; -1 when it is not a boolean */
static int
entry_bool(jv e, const char *key, int *out)
{
	jv v = jsonl_get(jv_copy(e), key);
	jv_kind k = jv_get_kind(v);

	jv_free(v);
	if (k == JV_KIND_INVALID || k == JV_KIND_NULL)
		return 0;
	if (k != JV_KIND_TRUE && k != JV_KIND_FALSE)
		return -1;
	*out = k == JV_KIND_TRUE;
	return 0;
}

/* the entry (borrowed) read into p; NULL or what is wrong with it */
static char *
entry_read(const cfg *c, const char *name, jv e, patrol *p)
{
	static const char *const keys[] = {"every", "budget", "chain", "notify", "research",
		"with_git", "enabled", "connectors", "detectors", NULL};
	static const char *const bools[] = {"research", "with_git", "enabled", NULL};
	int *bool_at[] = {&p->research, &p->with_git, &p->enabled};
	jv v;

	if (jv_get_kind(e) != JV_KIND_OBJECT)
		return bad_key(c, name, NULL, "expected a mapping: {every: 1h, budget: ..., "
		    "chain: [...], notify: [...]}");
	jv_object_foreach(e, k, x) {
		int known = 0;

		for (int i = 0; keys[i]; i++)
			known |= streq(keys[i], jv_string_value(k));
		jv_free(x);
		if (!known) {
			char *m = bad_key(c, name, jv_string_value(k), "not a setting of a patrol "
			    "(every, budget, chain, notify, research, with_git, enabled)");

			jv_free(k);
			return m;
		}
		jv_free(k);
	}
	v = jsonl_get(jv_copy(e), "every");
	if (jv_get_kind(v) != JV_KIND_STRING) {
		jv_free(v);
		return bad_key(c, name, "every", "a period is needed, such as 1h");
	}
	p->every = xstrdup(jv_string_value(v));
	jv_free(v);
	{
		char *err = NULL, *s = patrol_schedule(p->every, "", name, &err);

		if (!s) {
			char *m = bad_key(c, name, "every", err);

			free(err);
			return m;
		}
		free(s);
	}
	v = jsonl_get(jv_copy(e), "budget");
	if (jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= 0 &&
	    jv_number_value(v) <= 100000000 && jv_number_value(v) == (long)jv_number_value(v))
		p->budget = (long)jv_number_value(v);
	else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		jv_free(v);
		return bad_key(c, name, "budget", "a whole number of donuts, 0 or more");
	}
	jv_free(v);
	for (int i = 0; i < 2; i++) {
		const char *key = i ? "notify" : "chain";
		jv *to = i ? &p->notify : &p->chain;

		v = jsonl_get(jv_copy(e), key);
		if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
			continue;
		}
		jv_free(*to);
		*to = name_list(v);
		if (!jv_is_valid(*to)) {
			*to = jv_null();
			return bad_key(c, name, key, i ? "a list of channels, such as "
			    "[notify-slack]" : "a list of actors, such as [triage]");
		}
	}
	for (int i = 0; bools[i]; i++)
		if (entry_bool(e, bools[i], bool_at[i]))
			return bad_key(c, name, bools[i], "true or false");
	/* the earlier implementation's keys: every connector and detector is all this one runs */
	for (int i = 0; i < 2; i++) {
		const char *key = i ? "detectors" : "connectors";

		v = jsonl_get(jv_copy(e), key);
		if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL &&
		    (jv_get_kind(v) != JV_KIND_STRING || !streq(jv_string_value(v), "all"))) {
			jv_free(v);
			return bad_key(c, name, key, "only 'all' is supported: a patrol runs every "
			    "connector and detector; remove the setting");
		}
		jv_free(v);
	}
	return NULL;
}

int
patrol_get(const cfg *c, const char *name, patrol *p, char **err)
{
	jv all = cfg_get(c, "patrols"), e;

	memset(p, 0, sizeof *p);
	p->chain = jv_null();
	p->notify = jv_null();
	if (!jv_is_valid(all) || jv_get_kind(all) == JV_KIND_NULL) {
		jv_free(all);
		return 1;
	}
	if (jv_get_kind(all) != JV_KIND_OBJECT) {
		char *where = cfg_where(c, "patrols");

		*err = xasprintf("%s: patrols: expected a mapping of patrols by name", where);
		free(where);
		jv_free(all);
		return -1;
	}
	e = jsonl_get(all, name);
	if (!jv_is_valid(e)) {
		jv_free(e);
		return 1;
	}
	p->name = xstrdup(name);
	p->budget = -1;
	p->with_git = 1;
	p->enabled = 1;
	if (patrol_name_check(name))
		*err = bad_key(c, name, NULL, patrol_name_check(name));
	else
		*err = entry_read(c, name, e, p);
	jv_free(e);
	if (*err) {
		patrol_free(p);
		return -1;
	}
	return 0;
}

void
patrol_free(patrol *p)
{
	free(p->name);
	free(p->every);
	jv_free(p->chain);
	jv_free(p->notify);
	memset(p, 0, sizeof *p);
	p->chain = jv_null();
	p->notify = jv_null();
}

jv
patrol_entry(const patrol *p)
{
	jv e = jv_object_set(jv_object(), jv_string("every"), jv_string(p->every));

	if (p->budget >= 0)
		e = jv_object_set(e, jv_string("budget"), jv_number((double)p->budget));
	if (jv_get_kind(p->chain) == JV_KIND_ARRAY)
		e = jv_object_set(e, jv_string("chain"), jv_copy(p->chain));
	if (jv_get_kind(p->notify) == JV_KIND_ARRAY)
		e = jv_object_set(e, jv_string("notify"), jv_copy(p->notify));
	if (p->research)
		e = jv_object_set(e, jv_string("research"), jv_true());
	if (!p->with_git)
		e = jv_object_set(e, jv_string("with_git"), jv_false());
	if (!p->enabled)
		e = jv_object_set(e, jv_string("enabled"), jv_false());
	return e;
}

long
patrol_global_budget(const cfg *c, char **err)
{
	jv legacy = cfg_get(c, "budget.max_tokens_per_run");
	long dflt = DEFAULT_RUN_DONUTS, v;

	/* the earlier key counted tokens; it is read when the new one is absent */
	if (jv_get_kind(legacy) == JV_KIND_NUMBER)
		dflt = (long)(jv_number_value(legacy) / 1000);
	jv_free(legacy);
	if (cfg_int(c, "budget.max_donuts_per_run", dflt, 0, 100000000, &v, err))
		return -1;
	return v;
}

/* root.routing (consumed) with the chain and the channels of every route replaced */
static jv
overlay_routes(jv routing, const patrol *p, int *routed)
{
	jv each = jv_copy(routing);

	*routed = 0;
	if (jv_get_kind(routing) != JV_KIND_OBJECT) {
		jv_free(each);
		return routing;
	}
	jv_object_foreach(each, sev, route) {
		if (jv_get_kind(route) == JV_KIND_STRING)	/* the earlier form: warn: triage */
			route = jv_object_set(jv_object(), jv_string("chain"),
			    jv_array_append(jv_array(), route));
		if (jv_get_kind(route) == JV_KIND_OBJECT) {
			(*routed)++;
			if (jv_get_kind(p->chain) == JV_KIND_ARRAY)
				route = jv_object_set(route, jv_string("chain"), jv_copy(p->chain));
			if (jv_get_kind(p->notify) == JV_KIND_ARRAY)
				route = jv_object_set(route, jv_string("notify"),
				    jv_copy(p->notify));
		}
		routing = jv_object_set(routing, sev, route);
	}
	jv_free(each);
	return routing;
}

int
patrol_apply(cfg *c, const char *name, char **err)
{
	patrol p;
	int r = patrol_get(c, name, &p, err), routed;
	long cap;
	jv routing;

	if (r > 0)
		*err = xasprintf("%s: no patrol '%s' (see mallcop patrol list)", c->path, name);
	if (r)
		return -1;
	if ((cap = patrol_global_budget(c, err)) < 0) {
		patrol_free(&p);
		return -1;
	}
	if (p.budget >= 0) {
		jv b = jsonl_get(jv_copy(c->root), "budget");
		long donuts = cap > 0 && (p.budget > cap || p.budget == 0) ? cap : p.budget;

		if (jv_get_kind(b) != JV_KIND_OBJECT) {
			jv_free(b);
			b = jv_object();
		}
		b = jv_object_set(b, jv_string("max_donuts_per_run"), jv_number((double)donuts));
		c->root = jv_object_set(c->root, jv_string("budget"), b);
	}
	routing = overlay_routes(jsonl_get(jv_copy(c->root), "routing"), &p, &routed);
	if (!routed && (jv_get_kind(p.chain) == JV_KIND_ARRAY ||
	    jv_get_kind(p.notify) == JV_KIND_ARRAY)) {
		*err = xasprintf("%s: patrol '%s': its chain and notify replace those of the routes "
		    "of routing:, and routing: routes no severity; add routing: to mallcop.yaml",
		    c->path, name);
		jv_free(routing);
		patrol_free(&p);
		return -1;
	}
	if (jv_is_valid(routing))
		c->root = jv_object_set(c->root, jv_string("routing"), routing);
	else
		jv_free(routing);
	patrol_free(&p);
	return 0;
}

/* 1 when the line at s is the top-level key patrols: */
static int
patrols_line(const char *s, const char *end)
{
	if (end - s < 8 || memcmp(s, "patrols", 7))
		return 0;
	s += 7;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s < end && *s == ':' && (s + 1 == end || strchr(" \t\r\n", s[1]));
}

char *
patrol_yaml(const char *text, size_t len, jv root, jv patrols, char **err)
{
	const char *end = text + len, *at = NULL, *stop = NULL, *s;
	char *block, *out, *yerr = NULL;
	int found = 0;
	jv want, got;

	for (s = text; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *next = nl ? nl + 1 : end;

		if (patrols_line(s, next)) {
			found++;
			at = s;
		}
		s = next;
	}
	if (found > 1) {
		*err = xasprintf("mallcop.yaml has the key patrols: more than once; keep one");
		jv_free(patrols);
		return NULL;
	}
	if (at) {
		/* the block: its indented lines, blank lines and comments; those at its end that
		 * are blank or comments at the margin belong to what follows */
		const char *line = memchr(at, '\n', (size_t)(end - at));

		stop = line ? line + 1 : end;
		for (s = stop; s < end;) {
			const char *nl = memchr(s, '\n', (size_t)(end - s)), *next = nl ? nl + 1 : end;
			size_t blank = strspn(s, " \t\r");

			if (s + blank == next || s[blank] == '\n')
				;
			else if (*s == ' ' || *s == '\t')
				stop = next;
			else if (*s != '#')
				break;
			s = next;
		}
	}
	want = jv_object_length(jv_copy(patrols)) ? jv_object_set(jv_copy(root),
	    jv_string("patrols"), jv_copy(patrols)) : jv_object_delete(jv_copy(root),
	    jv_string("patrols"));
	if (jv_object_length(jv_copy(patrols)))
		block = yamljv_emit(jv_object_set(jv_object(), jv_string("patrols"), patrols));
	else {
		jv_free(patrols);
		block = xstrdup("");
	}
	if (at)
		out = xasprintf("%.*s%s%.*s", (int)(at - text), text, block, (int)(end - stop), stop);
	else
		out = xasprintf("%.*s%s%s", (int)len, text, len && text[len - 1] != '\n' ? "\n" : "",
		    block);
	free(block);
	/* what the file says after the change must be what was meant, and nothing else */
	got = yamljv_parse(out, strlen(out), NULL, &yerr);
	if (jv_get_kind(got) == JV_KIND_NULL) {
		jv_free(got);
		got = jv_object();
	}
	if (!jv_is_valid(got) ? (jv_free(got), jv_free(want), 1) : !jv_equal(got, want)) {
		*err = xasprintf("cannot change the patrols: of mallcop.yaml without changing "
		    "other settings (is it written in flow style or under an anchor?); edit it by "
		    "hand");
		free(yerr);
		free(out);
		return NULL;
	}
	return out;
}
