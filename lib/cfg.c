#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "store.h"
#include "util.h"
#include "yamljv.h"

int
cfg_load(cfg *c, const char *dir, char **err)
{
	char *path = xasprintf("%s/mallcop.yaml", dir);
	int r = cfg_load_file(c, path, err);

	free(path);
	return r;
}

/* optional: 1 and an empty document when there is no file */
static int
load(cfg *c, const char *path, int optional, char **err)
{
	size_t len;
	char *buf, *yerr;

	c->path = xstrdup(path);
	c->root = jv_null();
	c->lines = jv_object();
	if (!(buf = store_read(c->path, &len, err))) {
		if (*err)
			return -1;
		if (optional) {
			c->root = jv_object();
			return 1;
		}
		*err = xasprintf("cannot read '%s': no such file; run 'mallcop init' or give "
		    "the deployment with --dir", c->path);
		return -1;
	}
	jv_free(c->lines);
	c->root = yamljv_parse(buf, len, &c->lines, &yerr);
	free(buf);
	if (!jv_is_valid(c->root)) {
		*err = xasprintf("%s:%s; fix the YAML syntax at that line", c->path, yerr);
		free(yerr);
		c->lines = jv_object();
		return -1;
	}
	if (jv_get_kind(c->root) == JV_KIND_NULL) {
		jv_free(c->root);
		c->root = jv_object();
	}
	if (jv_get_kind(c->root) != JV_KIND_OBJECT) {
		*err = xasprintf("%s:1: the document must be a mapping of settings "
		    "(connectors:, baseline:, ...)", c->path);
		return -1;
	}
	return 0;
}

int
cfg_load_file(cfg *c, const char *path, char **err)
{
	return load(c, path, 0, err);
}

/* a setting that, when given, must be a mapping */
static int
mapping(const cfg *c, const char *key, const char *what, char **err)
{
	jv v = cfg_get(c, key);
	int bad = jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL &&
	    jv_get_kind(v) != JV_KIND_OBJECT;

	jv_free(v);
	if (bad) {
		char *where = cfg_where(c, key);

		*err = xasprintf("%s: %s: expected a mapping of %s (see mallcop.yaml(5))", where,
		    key, what);
		free(where);
	}
	return bad ? -1 : 0;
}

static int
window_days(const cfg *c, long *days, char **err)
{
	return cfg_int(c, "baseline.window_days", 30, 1, 3650, days, err);
}

int
cfg_load_optional(cfg *c, const char *dir, char **err)
{
	char *path = xasprintf("%s/mallcop.yaml", dir);
	int r = load(c, path, 1, err);
	long w;

	free(path);
	if (r == 0 && (mapping(c, "connectors", "connector names", err) ||
	    mapping(c, "baseline", "baseline settings", err) ||
	    window_days(c, &w, err)))
		r = -1;
	return r;
}

int
cfg_check(const char *dir, int *days, char **err)
{
	cfg c;
	int r = cfg_load_optional(&c, dir, err);
	long w = 30;

	if (r >= 0)
		window_days(&c, &w, err);
	cfg_free(&c);
	if (days)
		*days = (int)w;
	return r < 0 ? -1 : 0;
}

void
cfg_free(cfg *c)
{
	free(c->path);
	jv_free(c->root);
	jv_free(c->lines);
	c->path = NULL;
	c->root = c->lines = jv_null();
}

jv
cfg_get(const cfg *c, const char *path)
{
	jv v = jv_copy(c->root);
	char *p = xstrdup(path), *save = NULL;

	for (char *k = strtok_r(p, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			jv_free(v);
			v = jv_invalid();
			break;
		}
		v = jv_object_get(v, jv_string(k));
	}
	free(p);
	return v;
}

char *
cfg_where(const cfg *c, const char *path)
{
	jv l = jv_object_get(jv_copy(c->lines), jv_string(path));
	char *s = jv_get_kind(l) == JV_KIND_NUMBER
	    ? xasprintf("%s:%d", c->path, (int)jv_number_value(l)) : xstrdup(c->path);

	jv_free(l);
	return s;
}

static int
expand(const cfg *c, const char *s, const char *path, jv *out, jv *names, char **err)
{
	jv r = jv_string("");
	const char *p = s;

	while (*p) {
		const char *d = strstr(p, "${"), *end;
		char *name, *where;
		const char *val;

		if (!d) {
			r = jv_string_append_str(r, p);
			break;
		}
		if (d > p && d[-1] == '$') {	/* "$${" is a literal "${" */
			r = jv_string_append_buf(r, p, (int)(d - p - 1));
			r = jv_string_append_str(r, "${");
			p = d + 2;
			continue;
		}
		r = jv_string_append_buf(r, p, (int)(d - p));
		if (!(end = strchr(d, '}'))) {
			where = cfg_where(c, path);
			*err = xasprintf("%s: %s: unterminated '${' in the value; write ${NAME}",
			    where, path);
			free(where);
			jv_free(r);
			return -1;
		}
		name = strndup(d + 2, (size_t)(end - d - 2));
		if (!name)
			die(EXIT_WORK, "out of memory");
		if (names)
			*names = jv_array_append(*names, jv_string(name));
		if (!(val = getenv(name))) {
			where = cfg_where(c, path);
			*err = xasprintf("%s: %s: environment variable '%s' is not set; export it "
			    "before running mallcop", where, path, name);
			free(where);
			free(name);
			jv_free(r);
			return -1;
		}
		free(name);
		r = jv_string_append_str(r, val);
		p = end + 1;
	}
	*out = r;
	return 0;
}

int
cfg_resolve(const cfg *c, jv v, const char *path, jv *out, jv *names, char **err)
{
	int r = 0;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		r = expand(c, jv_string_value(v), path, out, names, err);
		jv_free(v);
		return r;
	case JV_KIND_OBJECT: {
		jv o = jv_object();

		jv_object_foreach(v, k, x) {
			char *sub = xasprintf("%s.%s", path, jv_string_value(k));
			jv y;

			if (r) {
				jv_free(k);
				jv_free(x);
			} else if ((r = cfg_resolve(c, x, sub, &y, names, err)) == 0) {
				o = jv_object_set(o, k, y);
			} else {
				jv_free(k);
			}
			free(sub);
		}
		jv_free(v);
		if (r) {
			jv_free(o);
			return r;
		}
		*out = o;
		return 0;
	}
	case JV_KIND_ARRAY: {
		jv a = jv_array();

		jv_array_foreach(v, i, x) {
			char *sub = xasprintf("%s[%d]", path, i);
			jv y;

			if (r)
				jv_free(x);
			else if ((r = cfg_resolve(c, x, sub, &y, names, err)) == 0)
				a = jv_array_append(a, y);
			free(sub);
		}
		jv_free(v);
		if (r) {
			jv_free(a);
			return r;
		}
		*out = a;
		return 0;
	}
	default:
		*out = v;
		return 0;
	}
}

int
cfg_int(const cfg *c, const char *path, long dflt, long lo, long hi, long *out, char **err)
{
	jv v = cfg_get(c, path);
	double d;

	*out = dflt;
	if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : (double)lo - 1;
	jv_free(v);
	if (d < lo || d > hi || d != (double)(long)d) {
		char *where = cfg_where(c, path);

		*err = xasprintf("%s: %s: expected a whole number from %ld to %ld", where, path,
		    lo, hi);
		free(where);
		return -1;
	}
	*out = (long)d;
	return 0;
}
