/* parser: an app's container-log templates, over Oniguruma with a backtracking limit */
#define _GNU_SOURCE
#include <ctype.h>
#include <oniguruma.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "jsonl.h"
#include "parser.h"
#include "store.h"
#include "ts.h"
#include "util.h"
#include "yamljv.h"

enum {
	SAMPLE_LINES = 10,	/* unmatched lines a summary carries, for a person or heal */
	SAMPLE_BYTES = 500,	/* of each */
};

/* a piece of a mapped value: literal text, or the text a named group captured */
typedef struct part {
	char *text;		/* the literal, or the group's name */
	size_t len;
	int group;
} part;

typedef struct field {
	part *parts;
	size_t n;
	int placeholders;
} field;

typedef struct tmpl {
	char *name;
	OnigRegex re;
	int noise;
	field type, actor, action, target, severity;
	char **mkeys;
	field *mvals;
	size_t nmeta;
	size_t count, limited;
	int warned;
} tmpl;

struct parser {
	char *app, *path;
	tmpl *t;
	size_t nt;
	double threshold;
	int noise_summary;
	OnigRegion *region;
	OnigMatchParam *mp;
	size_t total, events, noise, unmatched, limited;
	jv sample;
	char *warning;
};

static const char *const classes[] = {"routine", "operational", "error", "security", "unknown",
    NULL};
static const char *const severities[] = {"info", "warn", "critical", NULL};

static int
one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (streq(s, *set))
			return 1;
	return 0;
}

/* "apps/web/parser.yaml:12" for a key path */
static char *
where(const char *path, jv lines, const char *key)
{
	jv l = jv_object_get(jv_copy(lines), jv_string(key));
	char *s = jv_get_kind(l) == JV_KIND_NUMBER
	    ? xasprintf("%s:%d", path, (int)jv_number_value(l)) : xstrdup(path);

	jv_free(l);
	return s;
}

static void
field_free(field *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->parts[i].text);
	free(f->parts);
	memset(f, 0, sizeof *f);
}

static void
tmpl_free(tmpl *t)
{
	free(t->name);
	if (t->re)
		onig_free(t->re);
	field_free(&t->type);
	field_free(&t->actor);
	field_free(&t->action);
	field_free(&t->target);
	field_free(&t->severity);
	for (size_t i = 0; i < t->nmeta; i++) {
		free(t->mkeys[i]);
		field_free(&t->mvals[i]);
	}
	free(t->mkeys);
	free(t->mvals);
}

void
parser_free(parser *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nt; i++)
		tmpl_free(&p->t[i]);
	free(p->t);
	if (p->region)
		onig_region_free(p->region, 1);
	if (p->mp)
		onig_free_match_param(p->mp);
	jv_free(p->sample);
	free(p->warning);
	free(p->app);
	free(p->path);
	free(p);
}

const char *
parser_app(const parser *p)
{
	return p->app;
}

static void
add_part(field *f, const char *s, size_t len, int group)
{
	f->parts = xrealloc(f->parts, (f->n + 1) * sizeof *f->parts);
	f->parts[f->n].text = xmalloc(len + 1);
	memcpy(f->parts[f->n].text, s, len);
	f->parts[f->n].text[len] = 0;
	f->parts[f->n].len = len;
	f->parts[f->n].group = group;
	f->n++;
	f->placeholders += group;
}

/*
 * s cut into literals and {name} placeholders, each name a group of re; -1 and *bad the first
 * name that is not one (malloc'd). Braces around anything else are literal text.
 */
static int
compile_field(field *f, const char *s, OnigRegex re, char **bad)
{
	const char *lit = s, *p = s;

	while ((p = strchr(p, '{'))) {
		const char *q = p + 1;
		int *nums;

		if (!(isalpha((unsigned char)*q) || *q == '_')) {
			p++;
			continue;
		}
		while (isalnum((unsigned char)*q) || *q == '_')
			q++;
		if (*q != '}') {
			p++;
			continue;
		}
		if (onig_name_to_group_numbers(re, (const OnigUChar *)p + 1, (const OnigUChar *)q,
		    &nums) <= 0) {
			*bad = xasprintf("%.*s", (int)(q - p - 1), p + 1);
			return -1;
		}
		if (p > lit)
			add_part(f, lit, (size_t)(p - lit), 0);
		add_part(f, p + 1, (size_t)(q - p - 1), 1);
		lit = p = q + 1;
	}
	if (*lit)
		add_part(f, lit, strlen(lit), 0);
	return 0;
}

/* the loader's state: the file, its line numbers, the first error */
typedef struct loader {
	const char *path;
	jv lines;
	char *err;
} loader;

static void
fail(loader *l, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *msg, *at;

	if (l->err)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	at = where(l->path, l->lines, key);
	l->err = xasprintf("%s: %s", at, msg);
	free(at);
	free(msg);
}

/* t[key] as a string (a number or boolean printed), or NULL when absent; exit on other kinds */
static char *
scalar(loader *l, jv o, const char *key, const char *path)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	char *s = NULL;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		s = xstrdup(jv_string_value(v));
		break;
	case JV_KIND_NUMBER:
	case JV_KIND_TRUE:
	case JV_KIND_FALSE: {
		jv d = jv_dump_string(jv_copy(v), 0);

		s = xstrdup(jv_string_value(d));
		jv_free(d);
		break;
	}
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		break;
	default:
		fail(l, path, "%s: expected a string", path);
	}
	jv_free(v);
	return s;
}

/* one mapped value: its text (dflt when absent) compiled against t's pattern */
static void
mapped(loader *l, tmpl *t, field *f, jv map, const char *key, const char *dflt,
    const char *path)
{
	char *kp = xasprintf("%s.%s", path, key), *s = scalar(l, map, key, kp), *bad = NULL;

	if (!s)
		s = xstrdup(dflt);
	if (compile_field(f, s, t->re, &bad)) {
		fail(l, kp, "%s: {%s} names no group of the pattern of template '%s': name a group "
		    "(?P<%s>...) in its pattern, or take {%s} out", kp, bad, t->name, bad, bad);
		free(bad);
	}
	free(s);
	free(kp);
}

static void
load_mapping(loader *l, tmpl *t, jv o, const char *path, const char *app)
{
	char *mp = xasprintf("%s.event_mapping", path), *sev;
	jv map = jv_object_get(jv_copy(o), jv_string("event_mapping"));

	if (jv_get_kind(map) == JV_KIND_NULL || !jv_is_valid(map)) {
		jv_free(map);
		map = jv_object();
	} else if (jv_get_kind(map) != JV_KIND_OBJECT) {
		fail(l, mp, "%s: expected a mapping (event_type:, actor:, action:, target:, "
		    "severity:, metadata:)", mp);
		jv_free(map);
		map = jv_object();
	}
	mapped(l, t, &t->type, map, "event_type", t->name, mp);
	mapped(l, t, &t->actor, map, "actor", app, mp);
	mapped(l, t, &t->action, map, "action", t->name, mp);
	mapped(l, t, &t->target, map, "target", app, mp);
	mapped(l, t, &t->severity, map, "severity", "info", mp);
	if (!l->err && !t->severity.placeholders && (sev = scalar(l, map, "severity", mp))) {
		if (!one_of(sev, severities)) {
			char *kp = xasprintf("%s.severity", mp);

			fail(l, kp, "%s: '%s' is not a severity: use info, warn or critical", kp, sev);
			free(kp);
		}
		free(sev);
	}
	jv meta = jv_object_get(jv_copy(map), jv_string("metadata"));
	char *metap = xasprintf("%s.metadata", mp);

	if (jv_get_kind(meta) == JV_KIND_OBJECT) {
		jv_object_foreach(meta, k, v) {
			size_t i = t->nmeta++;

			t->mkeys = xrealloc(t->mkeys, t->nmeta * sizeof *t->mkeys);
			t->mvals = xrealloc(t->mvals, t->nmeta * sizeof *t->mvals);
			t->mkeys[i] = xstrdup(jv_string_value(k));
			memset(&t->mvals[i], 0, sizeof t->mvals[i]);
			mapped(l, t, &t->mvals[i], meta, jv_string_value(k), "", metap);
			jv_free(k);
			jv_free(v);
		}
		jv_free(meta);
	} else {
		if (jv_is_valid(meta) && jv_get_kind(meta) != JV_KIND_NULL)
			fail(l, metap, "%s: expected a mapping of names to values like \"{ip}\"",
			    metap);
		jv_free(meta);
	}
	free(metap);
	jv_free(map);
	free(mp);
}

static void
load_template(loader *l, parser *p, tmpl *t, jv o, size_t i)
{
	char *path = xasprintf("templates[%zu]", i), *kp, *pat, *cls;
	OnigErrorInfo einfo;
	int rc;
	jv noise;

	if (jv_get_kind(o) != JV_KIND_OBJECT) {
		fail(l, path, "%s: expected a mapping with name:, pattern: and event_mapping:",
		    path);
		free(path);
		return;
	}
	kp = xasprintf("%s.name", path);
	t->name = scalar(l, o, "name", kp);
	if (!l->err && (!t->name || !*t->name))
		fail(l, path, "%s: a template needs a name: add 'name: NAME'", path);
	free(kp);
	kp = xasprintf("%s.pattern", path);
	pat = scalar(l, o, "pattern", kp);
	if (!l->err && (!pat || !*pat))
		fail(l, path, "%s: template '%s' has no pattern: add 'pattern: REGEX' (named groups "
		    "(?P<name>...) feed the event mapping)", path, t->name);
	if (!l->err) {
		rc = onig_new(&t->re, (const OnigUChar *)pat, (const OnigUChar *)pat + strlen(pat),
		    ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_PYTHON, &einfo);
		if (rc != ONIG_NORMAL) {
			OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];

			onig_error_code_to_str(msg, rc, &einfo);
			t->re = NULL;
			fail(l, kp, "%s: template '%s' has an invalid pattern: %s; fix the regular "
			    "expression (Python syntax, named groups as (?P<name>...))", kp, t->name,
			    (char *)msg);
		}
	}
	free(pat);
	free(kp);
	kp = xasprintf("%s.classification", path);
	if (!l->err && (cls = scalar(l, o, "classification", kp))) {
		if (!one_of(cls, classes))
			fail(l, kp, "%s: '%s' is not a classification: use routine, operational, "
			    "error, security or unknown", kp, cls);
		free(cls);
	}
	free(kp);
	kp = xasprintf("%s.noise_filter", path);
	noise = jv_object_get(jv_copy(o), jv_string("noise_filter"));
	if (jv_get_kind(noise) == JV_KIND_TRUE)
		t->noise = 1;
	else if (jv_is_valid(noise) && jv_get_kind(noise) != JV_KIND_FALSE &&
	    jv_get_kind(noise) != JV_KIND_NULL)
		fail(l, kp, "%s: expected true or false", kp);
	jv_free(noise);
	free(kp);
	if (!l->err)
		load_mapping(l, t, o, path, p->app);
	free(path);
}

static void
load_settings(loader *l, parser *p, jv doc)
{
	jv v = jv_object_get(jv_copy(doc), jv_string("app"));

	if (jv_get_kind(v) == JV_KIND_STRING && !streq(jv_string_value(v), p->app))
		fail(l, "app", "app: '%s' is not the app this file is for ('%s'): write 'app: %s'",
		    jv_string_value(v), p->app, p->app);
	jv_free(v);
	v = jv_object_get(jv_copy(doc), jv_string("unmatched_threshold"));
	if (jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= 0 &&
	    jv_number_value(v) <= 1)
		p->threshold = jv_number_value(v);
	else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL)
		fail(l, "unmatched_threshold", "unmatched_threshold: expected a share of lines "
		    "from 0 to 1, like 0.3");
	jv_free(v);
	v = jv_object_get(jv_copy(doc), jv_string("noise_summary"));
	if (jv_get_kind(v) == JV_KIND_FALSE)
		p->noise_summary = 0;
	else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_TRUE &&
	    jv_get_kind(v) != JV_KIND_NULL)
		fail(l, "noise_summary", "noise_summary: expected true or false");
	jv_free(v);
}

static void
onig_once(void)
{
	static int done;
	OnigEncoding enc[] = {ONIG_ENCODING_UTF8};

	if (!done) {
		onig_initialize(enc, 1);
		done = 1;
	}
}

parser *
parser_load(const char *path, const char *app, char **err)
{
	loader l = {.path = path, .lines = jv_object()};
	char *text, *yerr = NULL;
	size_t len;
	jv doc, ts;
	parser *p;

	*err = NULL;
	onig_once();
	if (!(text = store_read(path, &len, err))) {
		if (!*err)
			*err = xasprintf("cannot read '%s': no such file", path);
		jv_free(l.lines);
		return NULL;
	}
	jv_free(l.lines);
	doc = yamljv_parse(text, len, &l.lines, &yerr);
	free(text);
	if (!jv_is_valid(doc)) {
		*err = xasprintf("%s:%s; fix the YAML syntax at that line", path, yerr);
		free(yerr);
		jv_free(doc);
		return NULL;
	}
	p = xcalloc(1, sizeof *p);
	p->app = xstrdup(app);
	p->path = xstrdup(path);
	p->threshold = 0.3;
	p->noise_summary = 1;
	p->sample = jv_array();
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		l.err = xasprintf("%s:1: expected a mapping with templates: (see mallcop.yaml(5) "
		    "APP PARSERS)", path);
	} else {
		load_settings(&l, p, doc);
		ts = jv_object_get(jv_copy(doc), jv_string("templates"));
		if (jv_get_kind(ts) != JV_KIND_ARRAY || jv_array_length(jv_copy(ts)) == 0) {
			fail(&l, jv_is_valid(ts) ? "templates" : "", "no templates: add 'templates:', "
			    "a list of {name, pattern, event_mapping} (see mallcop.yaml(5) APP "
			    "PARSERS)");
		} else {
			p->t = xcalloc((size_t)jv_array_length(jv_copy(ts)), sizeof *p->t);
			jv_array_foreach(ts, i, o) {
				if (!l.err)
					load_template(&l, p, &p->t[p->nt++], o, (size_t)i);
				jv_free(o);
			}
		}
		jv_free(ts);
	}
	jv_free(doc);
	jv_free(l.lines);
	if (l.err) {
		*err = l.err;
		parser_free(p);
		return NULL;
	}
	p->region = onig_region_new();
	p->mp = onig_new_match_param();
	onig_initialize_match_param(p->mp);
	onig_set_retry_limit_in_match_of_match_param(p->mp, PARSER_RETRY_MATCH);
	onig_set_retry_limit_in_search_of_match_param(p->mp, PARSER_RETRY_SEARCH);
	return p;
}

parser *
parser_load_app(const char *root, const char *app, char **err)
{
	char *path = root ? xasprintf("%s/apps/%s/parser.yaml", root, app)
	    : xasprintf("apps/%s/parser.yaml", app), *text;
	parser *p = NULL;

	*err = NULL;
	/* absent: the app has no parser, its lines are stored as they came */
	if ((text = store_read(path, NULL, err))) {
		free(text);
		p = parser_load(path, app, err);
	}
	free(path);
	return p;
}

/* note, once per template and run, that the search limit stopped it */
static void
limit_hit(parser *p, tmpl *t)
{
	char *msg, *all;

	t->limited++;
	p->limited++;
	if (t->warned)
		return;
	t->warned = 1;
	msg = xasprintf("app '%s': %s: template '%s' was stopped at its backtracking limit "
	    "(catastrophic backtracking: simplify nested repetitions like (a+)+ in its pattern); "
	    "such lines count as unmatched, and after %d of them it is not tried again until the "
	    "next scan", p->app, p->path, t->name, PARSER_GIVE_UP);
	if (p->warning) {
		all = xasprintf("%s\n%s", p->warning, msg);
		free(p->warning);
		free(msg);
		msg = all;
	}
	p->warning = msg;
}

/* 1 when s (n bytes) is well-formed UTF-8, which Oniguruma's UTF-8 searches assume */
static int
utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		unsigned c = s[i];

		k = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 :
		    c >= 0xF0 && c <= 0xF4 ? 3 : 4;
		if (k == 4 || k >= n - i)
			return k == 0;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

enum parser_result
parser_match(parser *p, const char *line, size_t n, int *template)
{
	const OnigUChar *s = (const OnigUChar *)line, *end = s + n;
	size_t i;

	for (i = 0; i < n && isspace((unsigned char)line[i]); i++)
		;
	if (i == n)
		return PARSER_BLANK;
	p->total++;
	/* a string from JSON always is; bytes from elsewhere may not be: no template takes them */
	for (i = utf8_ok(s, n) ? 0 : p->nt; i < p->nt; i++) {
		tmpl *t = &p->t[i];
		/* stopped that often, it would stop again: not tried for the rest of the run */
		int r = t->limited >= PARSER_GIVE_UP ? ONIGERR_RETRY_LIMIT_IN_SEARCH_OVER :
		    onig_search_with_param(t->re, s, end, s, end, p->region, ONIG_OPTION_NONE, p->mp);

		if (r >= 0) {
			t->count++;
			*template = (int)i;
			if (t->noise) {
				p->noise++;
				return PARSER_NOISE;
			}
			p->events++;
			return PARSER_EVENT;
		}
		if (r != ONIG_MISMATCH) {
			/* no answer: a later template must not take a line this one may have matched */
			limit_hit(p, t);
			break;
		}
	}
	p->unmatched++;
	if (jv_array_length(jv_copy(p->sample)) < SAMPLE_LINES) {
		size_t k = n < SAMPLE_BYTES ? n : SAMPLE_BYTES;

		while (k < n && k > 0 && ((unsigned char)line[k] & 0xC0) == 0x80)
			k--;	/* not inside a character */
		p->sample = jv_array_append(p->sample, jv_string_sized(line, (int)k));
	}
	return PARSER_UNMATCHED;
}

/* f with its placeholders filled from the last match of t */
static char *
render(parser *p, tmpl *t, const field *f, const char *line)
{
	size_t len = 0, at = 0;
	char *out = NULL;
	int g;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < f->n; i++) {
			const part *pt = &f->parts[i];
			const char *s = pt->text;
			size_t n = pt->len;

			if (pt->group) {
				g = onig_name_to_backref_number(t->re, (const OnigUChar *)pt->text,
				    (const OnigUChar *)pt->text + pt->len, p->region);
				/* an optional group that took no part in the match: empty */
				if (g < 0 || g >= p->region->num_regs ||
				    p->region->beg[g] == ONIG_REGION_NOTPOS) {
					n = 0;
				} else {
					s = line + p->region->beg[g];
					n = (size_t)(p->region->end[g] - p->region->beg[g]);
				}
			}
			if (pass)
				memcpy(out + at, s, n);
			at += n;
		}
		if (!pass) {
			len = at;
			out = xmalloc(len + 1);
			at = 0;
		}
	}
	out[len] = 0;
	return out;
}

/* the time a named group `timestamp` captured, when it is one */
static int
group_time(parser *p, tmpl *t, const char *line, int64_t *us)
{
	static const char name[] = "timestamp";
	int g = onig_name_to_backref_number(t->re, (const OnigUChar *)name,
	    (const OnigUChar *)name + sizeof name - 1, p->region);
	char *s;
	int r;

	if (g < 0 || g >= p->region->num_regs || p->region->beg[g] == ONIG_REGION_NOTPOS)
		return -1;
	s = xasprintf("%.*s", (int)(p->region->end[g] - p->region->beg[g]),
	    line + p->region->beg[g]);
	r = ts_parse(s, us);
	free(s);
	return r;
}

static jv
make_event(parser *p, tmpl *t, jv ev, const char *line)
{
	char *type = render(p, t, &t->type, line), *actor = render(p, t, &t->actor, line);
	char *action = render(p, t, &t->action, line), *target = render(p, t, &t->target, line);
	char *sev = render(p, t, &t->severity, line), *key;
	jv meta = jsonl_get(jv_copy(ev), "metadata"), out;
	int64_t us;

	if (jv_get_kind(meta) != JV_KIND_OBJECT) {
		jv_free(meta);
		meta = jv_object();
	}
	if (group_time(p, t, line, &us) && event_time(ev, &us))
		us = ts_now();
	meta = jv_object_set(meta, jv_string("app"), jv_string(p->app));
	meta = jv_object_set(meta, jv_string("template"), jv_string(t->name));
	for (size_t i = 0; i < t->nmeta; i++) {
		char *v = render(p, t, &t->mvals[i], line);

		meta = jv_object_set(meta, jv_string(t->mkeys[i]), jv_string(v));
		free(v);
	}
	key = xasprintf("parsed:%s", event_str(ev, "id"));
	out = event_make(event_str(ev, "source"), key, us, *type ? type : t->name,
	    *actor ? actor : p->app, action, *target ? target : p->app,
	    one_of(sev, severities) ? sev : "info", meta,
	    jv_object_set(jv_object(), jv_string("line"), jv_string(line)));
	free(key);
	free(type);
	free(actor);
	free(action);
	free(target);
	free(sev);
	return out;
}

enum parser_result
parser_line(parser *p, jv ev, jv *out)
{
	jv raw = jv_get_kind(ev) == JV_KIND_OBJECT
	    ? jv_object_get(jv_copy(ev), jv_string("raw")) : jv_invalid();
	jv line = jv_get_kind(raw) == JV_KIND_OBJECT
	    ? jv_object_get(jv_copy(raw), jv_string("line")) : jv_invalid();
	enum parser_result r = PARSER_BLANK;
	int t = -1;

	if (jv_get_kind(line) == JV_KIND_STRING) {
		r = parser_match(p, jv_string_value(line),
		    (size_t)jv_string_length_bytes(jv_copy(line)), &t);
		if (r == PARSER_EVENT)
			*out = make_event(p, &p->t[t], ev, jv_string_value(line));
	}
	jv_free(line);
	jv_free(raw);
	return r;
}

char *
parser_warning(parser *p)
{
	char *w = p->warning;

	p->warning = NULL;
	return w;
}

jv
parser_summaries(parser *p, const char *source, int64_t now, jv list)
{
	char t[TS_BUFSZ], *key;
	double ratio = p->total ? (double)p->unmatched / (double)p->total : 0;
	jv counts = jv_object(), noise = jv_object(), m, limited = jv_object();

	ts_format(now, t);
	for (size_t i = 0; i < p->nt; i++) {
		counts = jv_object_set(counts, jv_string(p->t[i].name),
		    jv_number((double)p->t[i].count));
		if (p->t[i].noise)
			noise = jv_object_set(noise, jv_string(p->t[i].name),
			    jv_number((double)p->t[i].count));
		if (p->t[i].limited)
			limited = jv_object_set(limited, jv_string(p->t[i].name),
			    jv_number((double)p->t[i].limited));
	}
	if (p->noise_summary && p->total) {
		m = jv_object_set(jv_object(), jv_string("app"), jv_string(p->app));
		m = jv_object_set(m, jv_string("template_counts"), jv_copy(noise));
		m = jv_object_set(m, jv_string("unmatched_count"), jv_number((double)p->unmatched));
		m = jv_object_set(m, jv_string("total_lines"), jv_number((double)p->total));
		m = jv_object_set(m, jv_string("format_drift"), jv_bool(ratio > p->threshold));
		key = xasprintf("noise_summary:%s:%s", p->app, t);
		list = jv_array_append(list, event_make(source, key, now, "noise_summary", p->app,
		    "noise_summary", p->app, "info", m, jv_object()));
		free(key);
	}
	jv_free(noise);
	m = jv_object_set(jv_object(), jv_string("app_name"), jv_string(p->app));
	m = jv_object_set(m, jv_string("matched_count"), jv_number((double)(p->events + p->noise)));
	m = jv_object_set(m, jv_string("event_count"), jv_number((double)p->events));
	m = jv_object_set(m, jv_string("noise_count"), jv_number((double)p->noise));
	m = jv_object_set(m, jv_string("unmatched_count"), jv_number((double)p->unmatched));
	m = jv_object_set(m, jv_string("total_count"), jv_number((double)p->total));
	m = jv_object_set(m, jv_string("unmatched_ratio"), jv_number(ratio));
	m = jv_object_set(m, jv_string("unmatched_threshold"), jv_number(p->threshold));
	m = jv_object_set(m, jv_string("format_drift"), jv_bool(ratio > p->threshold));
	m = jv_object_set(m, jv_string("template_counts"), counts);
	m = jv_object_set(m, jv_string("unmatched_sample"), p->sample);
	if (p->limited)
		m = jv_object_set(m, jv_string("limit_hits"), limited);
	else
		jv_free(limited);
	m = jv_object_set(m, jv_string("parser"), jv_string(p->path));
	key = xasprintf("parser_summary:%s:%s", p->app, t);
	list = jv_array_append(list, event_make(source, key, now, "parser_summary", "mallcop",
	    "parse", p->app, "info", m, jv_object()));
	free(key);
	p->sample = jv_array();
	p->total = p->events = p->noise = p->unmatched = p->limited = 0;
	for (size_t i = 0; i < p->nt; i++)
		p->t[i].count = p->t[i].limited = 0;
	return list;
}
