/* cfg: loading mallcop.yaml, dotted paths, ${VAR} references, integer settings */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "t.h"

static char dir[] = "/tmp/test_cfg.XXXXXX";
static char *path;

static void
write_config(const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) == EOF || fclose(f)) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

static int
has(const char *s, const char *part)
{
	return s && strstr(s, part);
}

/* load text as mallcop.yaml; the error, or NULL when it loaded (then *c is left loaded) */
static char *
load(cfg *c, const char *text)
{
	char *err = NULL;

	write_config(text);
	if (cfg_load(c, dir, &err) == 0)
		return NULL;
	cfg_free(c);
	return err ? err : strdup("(failed without a message)");
}

static void
test_load_errors(void)
{
	cfg c;
	char *err = NULL, *want;

	unlink(path);
	ok(cfg_load(&c, dir, &err) == -1, "a missing mallcop.yaml fails");
	want = NULL;
	if (asprintf(&want, "cannot read '%s': no such file", path) < 0)
		want = NULL;
	ok(has(err, want), "the message names the file (%s)", err ? err : "none");
	ok(has(err, "mallcop init") && has(err, "--dir"), "and says what to do");
	free(want);
	free(err);
	cfg_free(&c);

	err = load(&c, "connectors:\n  demo:\n    type: [file\n  other: 1\n");
	want = NULL;
	if (asprintf(&want, "%s:", path) < 0)
		want = NULL;
	ok(err && !strncmp(err, want, strlen(want)) && err[strlen(want)] >= '1' &&
	    err[strlen(want)] <= '9', "bad YAML is named file:line (%s)", err ? err : "loaded");
	free(err);

	err = load(&c, "a: 1\nb: x\na: 2\n");
	free(want);
	want = NULL;
	if (asprintf(&want, "%s:3: duplicate key 'a'", path) < 0)
		want = NULL;
	ok(has(err, want), "a duplicate key is named file:3 (%s)", err ? err : "loaded");
	free(err);

	err = load(&c, "- connectors\n- baseline\n");
	free(want);
	want = NULL;
	if (asprintf(&want, "%s:1: the document must be a mapping", path) < 0)
		want = NULL;
	ok(has(err, want), "a sequence document is refused (%s)", err ? err : "loaded");
	free(err);
	err = load(&c, "just text\n");
	ok(has(err, want), "a scalar document is refused (%s)", err ? err : "loaded");
	free(err);
	free(want);

	unlink(path);
	mkdir(path, 0755);
	err = NULL;
	ok(cfg_load(&c, dir, &err) == -1 && has(err, "Is a directory"),
	    "a directory in the way: the system's reason (%s)", err ? err : "loaded");
	free(err);
	cfg_free(&c);
	rmdir(path);

	err = load(&c, "");
	ok(err == NULL, "an empty file loads");
	if (err) {
		free(err);
	} else {
		ok(jv_get_kind(c.root) == JV_KIND_OBJECT && jv_object_length(jv_copy(c.root)) == 0,
		    "as an empty mapping");
		cfg_free(&c);
	}
}

/* for programs that also work without mallcop.yaml: absent is fine, malformed is not */
static void
test_optional(void)
{
	cfg c;
	char *err = NULL, *want = NULL;
	int days = 0;

	unlink(path);
	ok(cfg_load_optional(&c, dir, &err) == 1 && !err &&
	    jv_get_kind(c.root) == JV_KIND_OBJECT, "cfg_load_optional: no file, an empty document");
	cfg_free(&c);
	ok(cfg_check(dir, &days, &err) == 0 && days == 30 && !err,
	    "cfg_check: no file is sound, the default window");
	write_config("connectors: {}\nbaseline: {window_days: 7}\n");
	ok(cfg_check(dir, &days, &err) == 0 && days == 7, "cfg_check: the window of the file");
	write_config("connectors: {}\nbaseline:\n  window_days: 0\n");
	if (asprintf(&want, "%s:3: baseline.window_days: expected a whole number", path) < 0)
		want = NULL;
	ok(cfg_check(dir, NULL, &err) == -1 && has(err, want),
	    "cfg_check: a window out of range names file:line and key (%s)", err ? err : "none");
	free(err);
	free(want);
	err = want = NULL;
	write_config("# the connectors\nconnectors: [github]\n");
	if (asprintf(&want, "%s:2: connectors: expected a mapping", path) < 0)
		want = NULL;
	ok(cfg_check(dir, NULL, &err) == -1 && has(err, want),
	    "cfg_check: connectors that are not a mapping (%s)", err ? err : "none");
	free(err);
	free(want);
	err = NULL;
	write_config("connectors:\n  a: {type: file\n");
	ok(cfg_check(dir, NULL, &err) == -1 && has(err, "mallcop.yaml:"),
	    "cfg_check: bad YAML (%s)", err ? err : "none");
	free(err);
	err = NULL;
	unlink(path);
	mkdir(path, 0755);
	ok(cfg_check(dir, NULL, &err) == -1 && has(err, "Is a directory"),
	    "cfg_check: a file that cannot be read is not an absent one (%s)", err ? err : "none");
	free(err);
	rmdir(path);
}

static const char config_text[] =
    "connectors:\n"					/* 1 */
    "  demo:\n"						/* 2 */
    "    type: file\n"					/* 3 */
    "    token: ${T_TOKEN}\n"				/* 4 */
    "    header: \"Bearer ${T_TOKEN}!\"\n"		/* 5 */
    "    both: ${T_A}-${T_B}\n"				/* 6 */
    "    literal: \"$${HOME} and $${T_UNSET}\"\n"	/* 7 */
    "    mixed: \"$${T_A}=${T_A}\"\n"			/* 8 */
    "    paths:\n"						/* 9 */
    "      - ${T_DIR}/a.jsonl\n"				/* 10 */
    "      - {glob: \"${T_DIR}/*.jsonl\", n: 3}\n"	/* 11 */
    "    limit: 5\n"					/* 12 */
    "    on: true\n"					/* 13 */
    "    none:\n"						/* 14 */
    "  broken:\n"						/* 15 */
    "    nested:\n"						/* 16 */
    "      list:\n"						/* 17 */
    "        - fine\n"					/* 18 */
    "        - ${T_UNSET}\n"				/* 19 */
    "  open:\n"						/* 20 */
    "    v: \"${T_A\"\n"					/* 21 */
    "baseline:\n"					/* 22 */
    "  window_days: 30\n"				/* 23 */
    "  text: \"30\"\n"					/* 24 */
    "  frac: 1.5\n"					/* 25 */
    "  big: 100000\n"					/* 26 */
    "  flag: true\n"					/* 27 */
    "  nothing: ~\n"					/* 28 */
    "  huge: 1e30\n";					/* 29 */

static void
test_get(cfg *c)
{
	jv v;
	char *w;

	v = cfg_get(c, "connectors.demo.type");
	ok(jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), "file"),
	    "cfg_get connectors.demo.type");
	jv_free(v);
	v = cfg_get(c, "baseline.window_days");
	ok(jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) == 30, "cfg_get a number");
	jv_free(v);
	v = cfg_get(c, "connectors.demo.paths");
	ok(jv_get_kind(v) == JV_KIND_ARRAY && jv_array_length(jv_copy(v)) == 2, "cfg_get a list");
	jv_free(v);
	v = cfg_get(c, "connectors.nope");
	ok(!jv_is_valid(v), "a missing key is invalid");
	jv_free(v);
	v = cfg_get(c, "connectors.demo.type.deeper");
	ok(!jv_is_valid(v), "a path through a string is invalid");
	jv_free(v);
	v = cfg_get(c, "nope.deeper.still");
	ok(!jv_is_valid(v), "a path through a missing key is invalid");
	jv_free(v);
	v = cfg_get(c, "connectors.demo.none");
	ok(jv_get_kind(v) == JV_KIND_NULL, "an empty value is null, not missing");
	jv_free(v);

	w = cfg_where(c, "connectors.demo.paths[1]");
	ok(w && !strcmp(w + strlen(w) - 3, ":11") && !strncmp(w, path, strlen(path)),
	    "cfg_where names file:line of a list item (%s)", w);
	free(w);
	w = cfg_where(c, "no.such.key");
	is_str(w, path, "cfg_where of an unknown key is the file alone");
	free(w);
}

/* resolve the setting at key; its value as compact JSON, or "ERROR: message" */
static char *
resolved(cfg *c, const char *key, jv *names)
{
	jv out = jv_null();
	char *err = NULL, *s;

	if (cfg_resolve(c, cfg_get(c, key), key, &out, names, &err)) {
		if (asprintf(&s, "ERROR: %s", err ? err : "(no message)") < 0)
			s = NULL;
		free(err);
		return s;
	}
	{
		jv d = jv_dump_string(out, 0);

		s = strdup(jv_string_value(d));
		jv_free(d);
	}
	return s;
}

static void
test_resolve(cfg *c)
{
	jv names = jv_array();
	char *s, *want;

	setenv("T_TOKEN", "s3cret", 1);
	setenv("T_A", "one", 1);
	setenv("T_B", "two", 1);
	setenv("T_DIR", "/var/log", 1);
	unsetenv("T_UNSET");

	s = resolved(c, "connectors.demo.token", &names);
	is_str(s, "\"s3cret\"", "${VAR} as the whole value");
	free(s);
	s = resolved(c, "connectors.demo.header", NULL);
	is_str(s, "\"Bearer s3cret!\"", "${VAR} inside a value");
	free(s);
	s = resolved(c, "connectors.demo.both", NULL);
	is_str(s, "\"one-two\"", "two references in one value");
	free(s);
	s = resolved(c, "connectors.demo.literal", NULL);
	is_str(s, "\"${HOME} and ${T_UNSET}\"", "$${ is a literal ${, even of an unset name");
	free(s);
	s = resolved(c, "connectors.demo.mixed", NULL);
	is_str(s, "\"${T_A}=one\"", "a literal and a reference together");
	free(s);
	jv_free(names);

	names = jv_array();
	s = resolved(c, "connectors.demo", &names);
	ok(has(s, "\"token\":\"s3cret\"") && has(s, "\"paths\":[\"/var/log/a.jsonl\","
	    "{\"glob\":\"/var/log/*.jsonl\",\"n\":3}]") && has(s, "\"limit\":5") &&
	    has(s, "\"on\":true") && has(s, "\"none\":null") && has(s, "\"type\":\"file\""),
	    "a whole mapping: nested lists and maps resolved, other types kept (%s)", s);
	free(s);
	{
		jv d = jv_dump_string(jv_copy(names), 0);
		const char *n = jv_string_value(d);

		ok(has(n, "\"T_TOKEN\"") && has(n, "\"T_A\"") && has(n, "\"T_B\"") &&
		    has(n, "\"T_DIR\"") && !has(n, "HOME"),
		    "the variables referenced are collected, not the literal ones (%s)", n);
		jv_free(d);
	}
	jv_free(names);

	s = resolved(c, "connectors.broken", NULL);
	if (asprintf(&want, "ERROR: %s:19: connectors.broken.nested.list[1]: ", path) < 0)
		want = NULL;
	ok(s && want && !strncmp(s, want, strlen(want)),
	    "an unset variable names file:line and the key path (%s)", s);
	ok(has(s, "'T_UNSET'") && has(s, "not set"), "and the variable");
	free(want);
	free(s);

	s = resolved(c, "connectors.open", NULL);
	ok(has(s, "ERROR: ") && has(s, ":21") && has(s, "connectors.open.v") &&
	    has(s, "unterminated"), "an unterminated ${ is an error (%s)", s);
	free(s);

	s = resolved(c, "baseline.window_days", NULL);
	is_str(s, "30", "a number is kept as it is");
	free(s);
}

static void
test_int(cfg *c)
{
	long n = -1;
	char *err = NULL, *want = NULL;

	ok(cfg_int(c, "baseline.window_days", 14, 1, 365, &n, &err) == 0 && n == 30,
	    "cfg_int reads 30");
	n = -1;
	ok(cfg_int(c, "baseline.missing", 14, 1, 365, &n, &err) == 0 && n == 14,
	    "a missing setting is the default");
	n = -1;
	ok(cfg_int(c, "baseline.nothing", 14, 1, 365, &n, &err) == 0 && n == 14,
	    "a null setting is the default");

	if (asprintf(&want, "%s:24: baseline.text: expected a whole number from 1 to 365",
	    path) < 0)
		want = NULL;
	err = NULL;
	ok(cfg_int(c, "baseline.text", 14, 1, 365, &n, &err) == -1 && has(err, want),
	    "a string is refused with file:line and key (%s)", err ? err : "accepted");
	free(err);
	free(want);
	err = NULL;
	ok(cfg_int(c, "baseline.frac", 14, 1, 365, &n, &err) == -1 && has(err, ":25:"),
	    "a fraction is refused (%s)", err ? err : "accepted");
	free(err);
	err = NULL;
	ok(cfg_int(c, "baseline.big", 14, 1, 365, &n, &err) == -1 && has(err, ":26:"),
	    "a number out of range is refused (%s)", err ? err : "accepted");
	free(err);
	err = NULL;
	ok(cfg_int(c, "baseline.flag", 14, 1, 365, &n, &err) == -1 && has(err, ":27:"),
	    "a boolean is refused (%s)", err ? err : "accepted");
	free(err);
	err = NULL;
	ok(cfg_int(c, "baseline.huge", 14, 1, 365, &n, &err) == -1 && has(err, ":29:"),
	    "a number beyond any long is refused (%s)", err ? err : "accepted");
	free(err);
	err = NULL;
	ok(cfg_int(c, "connectors.demo.paths", 14, 1, 365, &n, &err) == -1 &&
	    has(err, ":9:"), "a list is refused (%s)", err ? err : "accepted");
	free(err);
}

int
main(void)
{
	cfg c;
	char *err;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* TAP lines survive a sanitizer exit */
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	if (asprintf(&path, "%s/mallcop.yaml", dir) < 0)
		return 1;
	test_load_errors();
	test_optional();
	err = load(&c, config_text);
	ok(err == NULL, "the test configuration loads (%s)", err ? err : "ok");
	if (err) {
		free(err);
	} else {
		test_get(&c);
		test_resolve(&c);
		test_int(&c);
		cfg_free(&c);
	}
	unlink(path);
	rmdir(dir);
	free(path);
	return t_done();
}
