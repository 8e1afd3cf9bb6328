/* injection-probe: text in an event written to steer the LLM that reads it, or an SQL injection */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "util.h"

/* ERE, matched ignoring case; the first eight are the earlier implementation's */
static const struct pattern {
	const char *name, *re;
} patterns[] = {
	{"ignore_previous", "ignore[[:space:]]+(all[[:space:]]+)?(the[[:space:]]+)?"
	    "(previous|prior|above|earlier)[[:space:]]+(instructions|rules|prompts|context)"},
	{"disregard_instructions", "disregard[[:space:]]+((your|all|any|the)[[:space:]]+)*"
	    "((previous|prior|above)[[:space:]]+)?(instructions|rules|prompts|directives)"},
	{"forget_instructions", "forget[[:space:]]+((your|all|any|the)[[:space:]]+)*"
	    "(instructions|rules|prompts|previous)"},
	{"role_play", "you[[:space:]]+are[[:space:]]+(a|an|now|my)[[:space:]]+"},
	{"system_override", "[[](system|admin|root)[]]"},
	{"new_instructions", "(new|real|actual|true)[[:space:]]+instructions[[:space:]]*:"},
	{"do_not_follow", "do[[:space:]]+not[[:space:]]+follow[[:space:]]+((your|the|any)"
	    "[[:space:]]+)?(previous|original|initial)"},
	{"prompt_termination", "</?(system|prompt)>|```[[:space:]]*system"},
	{"system_prompt", "system[[:space:]]+prompt"},
	{"mark_resolved", "mark[[:space:]]+(this|the)[[:space:]]+(finding|alert)[[:space:]]+as"
	    "[[:space:]]+(resolved|benign|false[[:space:]]+positive)"},
	{"chat_template", "<[|](im_start|im_end|system|endoftext)[|]>"},
	{"begin_system", "begin[[:space:]]+system"},
	{"sql_tautology", "(^|[^[:alnum:]_])or[[:space:]]+['\"]?1['\"]?[[:space:]]*=[[:space:]]*"
	    "['\"]?1([^[:alnum:]_]|$)"},
	{"sql_union_select", "union(([[:space:]]|%20|[+])+all)?([[:space:]]|%20|[+])+select"
	    "([^[:alnum:]_]|$)"},
	{"sql_drop_table", ";[[:space:]]*drop[[:space:]]+table"},
	/* a quote closing a string, then a comment dropping the rest of the query */
	{"sql_comment", "'[[:space:]]*(--([[:space:]]|$)|/[*])"},
};
enum { NPAT = sizeof patterns / sizeof *patterns };

typedef struct state {
	regex_t any;		/* all of them at once: most strings match none */
	regex_t re[NPAT];
} state;

static void
stop(void *st)
{
	state *s = st;

	regfree(&s->any);
	for (int i = 0; i < NPAT; i++)
		regfree(&s->re[i]);
	free(s);
}

static void *
start(det_ctx *c, jv conf, char **err)
{
	static const det_setting none[] = {{NULL, NULL, 0, 0, 0, NULL}};

	(void)c;
	if ((*err = det_settings("injection-probe", conf, none)))
		return NULL;

	state *s = xcalloc(1, sizeof *s);
	size_t len = 0;
	for (int i = 0; i < NPAT; i++)
		len += strlen(patterns[i].re) + 3;
	char *all = xmalloc(len + 1), *p = all;
	for (int i = 0; i < NPAT; i++) {
		if (regcomp(&s->re[i], patterns[i].re, REG_EXTENDED | REG_ICASE | REG_NOSUB))
			die(EXIT_WORK, "injection-probe: bad pattern %s", patterns[i].name);
		p += sprintf(p, "%s(%s)", i ? "|" : "", patterns[i].re);
	}
	if (regcomp(&s->any, all, REG_EXTENDED | REG_ICASE | REG_NOSUB))
		die(EXIT_WORK, "injection-probe: bad pattern");
	free(all);
	return s;
}

typedef struct walk {
	const state *s;
	unsigned long hit;	/* bit i: patterns[i] matched somewhere */
	char path[512];		/* the JSON path of the string being looked at */
	char *first;		/* the path of the first string that matched */
} walk;

static void
scan(walk *w, const char *str)
{
	/* every pattern needs a separator or a bracket of some kind: ids, times and names
	 * (most strings of an event) have none and need no regex */
	if (!strpbrk(str, " \t\r\n\v\f<[`'\";+%"))
		return;
	if (regexec(&w->s->any, str, 0, NULL, 0))
		return;
	for (int i = 0; i < NPAT; i++)
		if (!(w->hit & 1UL << i) && !regexec(&w->s->re[i], str, 0, NULL, 0))
			w->hit |= 1UL << i;
	if (!w->first && w->hit)
		w->first = xstrdup(w->path);
}

static void walk_value(walk *w, jv v);

/* walk v (borrowed) with SEG appended to the path */
static void
walk_in(walk *w, jv v, const char *seg)
{
	size_t at = strlen(w->path);

	snprintf(w->path + at, sizeof w->path - at, "%s", seg);
	walk_value(w, v);
	w->path[at] = 0;
}

static void
walk_value(walk *w, jv v)
{
	char seg[96];

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		scan(w, jv_string_value(v));
		break;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, k, x) {
			const char *key = jv_string_value(k);
			size_t n = strspn(key, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
			if (*key && !key[n] && n < sizeof seg - 2)
				snprintf(seg, sizeof seg, ".%s", key);
			else {
				jv q = jv_dump_string(jv_copy(k), 0);
				snprintf(seg, sizeof seg, "[%s]", jv_string_value(q));
				jv_free(q);
			}
			walk_in(w, x, seg);
			jv_free(k);
			jv_free(x);
		}
		break;
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, x) {
			snprintf(seg, sizeof seg, "[%d]", i);
			walk_in(w, x, seg);
			jv_free(x);
		}
		break;
	default:
		break;
	}
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	walk w = {.s = st};
	static const char *const top[] = {"actor", "action", "target", "metadata", "raw"};

	for (size_t i = 0; i < sizeof top / sizeof *top; i++) {
		jv v = jv_object_get(jv_copy(e->ev), jv_string(top[i]));
		snprintf(w.path, sizeof w.path, "%s", top[i]);
		walk_value(&w, v);
		jv_free(v);
	}
	if (!w.hit)
		return;

	jv names = jv_array();
	for (int i = 0; i < NPAT; i++)
		if (w.hit & 1UL << i)
			names = jv_array_append(names, jv_string(patterns[i].name));
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("matched_patterns"), names);
	meta = jv_object_set(meta, jv_string("field"), jv_string(w.first));
	meta = jv_object_set(meta, jv_string("event_source"), jv_string(e->source));
	det_event_finding(c, e, "injection-probe", "warn", e->id, meta,
	    "Injection probe detected in event %s (%s)", e->id, w.first);
	free(w.first);
}

const det_ops det_injection_probe = {
	.name = "injection-probe",
	.what = "text in any field of an event aimed at the LLM that reads it, or SQL injection",
	.start = start,
	.event = event,
	.stop = stop,
};
