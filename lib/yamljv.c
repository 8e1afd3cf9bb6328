#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <yaml.h>

#include "util.h"
#include "yamljv.h"

/* a key path longer than this is not recorded in the line map, nor extended further */
enum { PATH_MAX_LEN = 1024, LINES_BUDGET = 32 << 20, LINE_COST = 64 };

typedef struct {
	yaml_parser_t p;
	jv anchors;		/* name: [value, values, text] */
	jv lines;
	size_t linecost;	/* bytes the line map holds, about */
	size_t depth, values, text;	/* with every alias expanded */
	char *err;
} ctx;

static int
fail(ctx *c, size_t line, const char *fmt, const char *arg)
{
	if (!c->err) {
		char *m = xasprintf(fmt, arg);

		c->err = xasprintf("%zu: %s", line, m);
		free(m);
	}
	return -1;
}

static int
next(ctx *c, yaml_event_t *e)
{
	if (!yaml_parser_parse(&c->p, e)) {
		size_t line = c->p.problem_mark.line + 1;

		return fail(c, line ? line : c->p.context_mark.line + 1, "%s",
		    c->p.problem ? c->p.problem : "cannot parse YAML");
	}
	return 0;
}

/* a plain scalar's type, as YAML 1.2's core schema reads it */
static jv
scalar(const char *s, size_t n, int plain)
{
	char *end;
	double d;

	if (!plain)
		return jv_string_sized(s, (int)n);
	if (n == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return jv_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return jv_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return jv_false();
	if (strchr("+-.0123456789", s[0]) && strcspn(s, "xXnNiI_: ") == n) {
		d = strtod(s, &end);
		if (end == s + n && end != s)
			return jv_number(d);
	}
	return jv_string_sized(s, (int)n);
}

/* count what a node adds to the document once aliases are expanded */
static int
grow(ctx *c, size_t line, size_t values, size_t text, int alias)
{
	char n[32];

	c->values += values;
	c->text += text;
	if (c->values > YAMLJV_MAX_VALUES) {
		snprintf(n, sizeof n, "%d", YAMLJV_MAX_VALUES);
		return fail(c, line, alias ? "aliases expand the document to more than %s values"
		    : "the document has more than %s values", n);
	}
	if (c->text > YAMLJV_MAX_TEXT) {
		snprintf(n, sizeof n, "%d MiB", YAMLJV_MAX_TEXT >> 20);
		return fail(c, line, alias ? "aliases expand the document to more than %s of text"
		    : "the document has more than %s of text", n);
	}
	return 0;
}

static void
record(ctx *c, const char *path, size_t line)
{
	size_t cost = strlen(path) + LINE_COST;

	if (!jv_is_valid(c->lines) || c->linecost + cost > LINES_BUDGET)
		return;
	c->linecost += cost;
	c->lines = jv_object_set(c->lines, jv_string(path), jv_number(line));
}

/* path.key, or path[i]; NULL when path is (or would become) too long to be of use */
static char *
subpath(const char *path, const char *key, size_t i)
{
	if (!path || strlen(path) + (key ? strlen(key) : 24) + 2 > PATH_MAX_LEN)
		return NULL;
	if (!key)
		return xasprintf("%s[%zu]", path, i);
	return *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
}

static int value(ctx *c, yaml_event_t *e, const char *path, jv *out);

static int
collection(ctx *c, yaml_event_t *first, const char *path, jv *out)
{
	int map = first->type == YAML_MAPPING_START_EVENT;
	yaml_event_type_t end = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
	jv v;
	size_t i = 0;

	if (++c->depth > YAMLJV_MAX_DEPTH) {
		char n[32];

		snprintf(n, sizeof n, "%d", YAMLJV_MAX_DEPTH);
		return fail(c, first->start_mark.line + 1, "collections nested more than %s deep",
		    n);
	}
	v = map ? jv_object() : jv_array();
	for (;;) {
		yaml_event_t e;
		char *sub;
		jv key = jv_null(), item;

		if (next(c, &e))
			goto bad;
		if (e.type == end) {
			yaml_event_delete(&e);
			break;
		}
		if (map) {
			size_t line = e.start_mark.line + 1;

			if (e.type != YAML_SCALAR_EVENT) {
				yaml_event_delete(&e);
				fail(c, line, "%s", "a mapping key must be a plain string");
				goto bad;
			}
			key = jv_string((char *)e.data.scalar.value);
			sub = subpath(path, jv_string_value(key), 0);
			if (jv_object_has(jv_copy(v), jv_copy(key))) {
				fail(c, line, "duplicate key '%.200s'", sub ? sub : jv_string_value(key));
				free(sub);
				jv_free(key);
				yaml_event_delete(&e);
				goto bad;
			}
			if (sub)
				record(c, sub, line);
			yaml_event_delete(&e);
			if (grow(c, line, 1, (size_t)jv_string_length_bytes(jv_copy(key)), 0)) {
				free(sub);
				jv_free(key);
				goto bad;
			}
			if (next(c, &e)) {
				free(sub);
				jv_free(key);
				goto bad;
			}
		} else {
			sub = subpath(path, NULL, i++);
			if (sub)
				record(c, sub, e.start_mark.line + 1);
		}
		if (value(c, &e, sub, &item)) {
			free(sub);
			jv_free(key);
			goto bad;
		}
		free(sub);
		v = map ? jv_object_set(v, key, item) : jv_array_append(v, item);
	}
	c->depth--;
	*out = v;
	return 0;
bad:
	jv_free(v);
	return -1;
}

/* consumes e */
static int
value(ctx *c, yaml_event_t *e, const char *path, jv *out)
{
	const char *anchor = NULL;
	size_t line = e->start_mark.line + 1, values = c->values, text = c->text;
	int r = 0;

	switch (e->type) {
	case YAML_SCALAR_EVENT:
		anchor = (const char *)e->data.scalar.anchor;
		r = grow(c, line, 1, e->data.scalar.length, 0);
		if (r == 0)
			*out = scalar((const char *)e->data.scalar.value, e->data.scalar.length,
			    e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e->data.scalar.tag);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)(e->type == YAML_MAPPING_START_EVENT ?
		    e->data.mapping_start.anchor : e->data.sequence_start.anchor);
		r = grow(c, line, 1, 0, 0);
		if (r == 0)
			r = collection(c, e, path, out);
		break;
	case YAML_ALIAS_EVENT: {
		jv a = jv_object_get(jv_copy(c->anchors),
		    jv_string((const char *)e->data.alias.anchor));

		if (!jv_is_valid(a)) {
			jv_free(a);
			r = fail(c, line, "unknown alias '*%.200s'", (const char *)e->data.alias.anchor);
		} else if ((r = grow(c, line, (size_t)jv_number_value(jv_array_get(jv_copy(a), 1)),
		    (size_t)jv_number_value(jv_array_get(jv_copy(a), 2)), 1)) == 0) {
			*out = jv_array_get(a, 0);
		} else {
			jv_free(a);
		}
		break;
	}
	default:
		r = fail(c, line, "%s", "unexpected YAML structure");
	}
	/* an alias of this anchor weighs what the anchored value added to the document */
	if (r == 0 && anchor)
		c->anchors = jv_object_set(c->anchors, jv_string(anchor),
		    JV_ARRAY(jv_copy(*out), jv_number((double)(c->values - values)),
		    jv_number((double)(c->text - text))));
	yaml_event_delete(e);
	return r;
}

jv
yamljv_parse(const char *buf, size_t len, jv *lines, char **err)
{
	ctx c = {.anchors = jv_object(), .lines = lines ? jv_object() : jv_invalid()};
	yaml_event_t e;
	jv out = jv_null();
	int ok = 0;

	*err = NULL;
	if (len > YAMLJV_MAX_BYTES) {
		size_t line = 1;

		for (const char *p = buf; (p = memchr(p, '\n', buf + YAMLJV_MAX_BYTES - p)); p++)
			line++;
		jv_free(c.anchors);
		jv_free(c.lines);
		*err = xasprintf("%zu: the document is larger than %d MiB", line,
		    YAMLJV_MAX_BYTES >> 20);
		return jv_invalid();
	}
	yaml_parser_initialize(&c.p);
	yaml_parser_set_input_string(&c.p, (const unsigned char *)buf, len);
	/* stream start, then document start or stream end (an empty file is null) */
	if (next(&c, &e) == 0) {
		yaml_event_delete(&e);
		if (next(&c, &e) == 0) {
			if (e.type == YAML_STREAM_END_EVENT) {
				yaml_event_delete(&e);
				ok = 1;
			} else {
				yaml_event_delete(&e);
				if (next(&c, &e) == 0 && value(&c, &e, "", &out) == 0)
					ok = 1;
			}
		}
	}
	yaml_parser_delete(&c.p);
	jv_free(c.anchors);
	if (!ok) {
		jv_free(out);
		jv_free(c.lines);
		*err = c.err ? c.err : xstrdup("1: cannot parse YAML");
		return jv_invalid();
	}
	if (lines)
		*lines = c.lines;
	else
		jv_free(c.lines);
	return out;
}

typedef struct {
	char *s;
	size_t n;
} sink;

static int
write_sink(void *data, unsigned char *buf, size_t size)
{
	sink *k = data;

	k->s = xrealloc(k->s, k->n + size + 1);
	memcpy(k->s + k->n, buf, size);
	k->n += size;
	k->s[k->n] = 0;
	return 1;
}

static void
emit_scalar(yaml_emitter_t *em, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t e;

	yaml_scalar_event_initialize(&e, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
	    style);
	yaml_emitter_emit(em, &e);
}

static void
emit(yaml_emitter_t *em, jv v)
{
	yaml_event_t e;

	switch (jv_get_kind(v)) {
	case JV_KIND_OBJECT:
		yaml_mapping_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		yaml_emitter_emit(em, &e);
		jv_object_foreach(v, k, x) {
			emit(em, k);
			emit(em, x);
		}
		yaml_mapping_end_event_initialize(&e);
		yaml_emitter_emit(em, &e);
		break;
	case JV_KIND_ARRAY:
		yaml_sequence_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		yaml_emitter_emit(em, &e);
		jv_array_foreach(v, i, x) {
			(void)i;
			emit(em, x);
		}
		yaml_sequence_end_event_initialize(&e);
		yaml_emitter_emit(em, &e);
		break;
	case JV_KIND_STRING: {
		const char *s = jv_string_value(v);
		jv as = scalar(s, strlen(s), 1);

		/* YAML 1.1 readers take 2026-11-26 for a date and yes/no/on/off for booleans */
		int quote = jv_get_kind(as) != JV_KIND_STRING || isdigit((unsigned char)*s) ||
		    !strcasecmp(s, "yes") || !strcasecmp(s, "no") || !strcasecmp(s, "on") ||
		    !strcasecmp(s, "off") || !strcasecmp(s, "y") || !strcasecmp(s, "n") ||
		    !strcasecmp(s, ".inf") || !strcasecmp(s, "-.inf") || !strcasecmp(s, "+.inf") ||
		    !strcasecmp(s, ".nan");

		emit_scalar(em, s, quote ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
		jv_free(as);
		break;
	}
	default: {
		jv t = jv_dump_string(jv_copy(v), 0);

		emit_scalar(em, jv_string_value(t), YAML_PLAIN_SCALAR_STYLE);
		jv_free(t);
	}
	}
	jv_free(v);
}

char *
yamljv_emit(jv v)
{
	yaml_emitter_t em;
	yaml_event_t e;
	sink k = {xstrdup(""), 0};

	yaml_emitter_initialize(&em);
	yaml_emitter_set_output(&em, write_sink, &k);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_stream_start_event_initialize(&e, YAML_UTF8_ENCODING);
	yaml_emitter_emit(&em, &e);
	yaml_document_start_event_initialize(&e, NULL, NULL, NULL, 1);
	yaml_emitter_emit(&em, &e);
	emit(&em, v);
	yaml_document_end_event_initialize(&e, 1);
	yaml_emitter_emit(&em, &e);
	yaml_stream_end_event_initialize(&e);
	yaml_emitter_emit(&em, &e);
	yaml_emitter_delete(&em);
	return k.s;
}
