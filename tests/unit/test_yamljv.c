/* yamljv: YAML into jv (types, line map, errors, aliases) and back out */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "util.h"
#include "yamljv.h"

/* 1 when yaml parses to the value of the JSON text want */
static int
yaml_is(const char *yaml, const char *want)
{
	char *err = NULL;
	jv v = yamljv_parse(yaml, strlen(yaml), NULL, &err);
	jv w = jv_parse(want);
	int same;

	if (!jv_is_valid(v)) {
		printf("#   error: %s\n", err ? err : "(none)");
		free(err);
		jv_free(v);
		jv_free(w);
		return 0;
	}
	same = jv_equal(jv_copy(v), jv_copy(w));
	if (!same) {
		jv s = jv_dump_string(v, 0);

		printf("#   got %s, want %s\n", jv_string_value(s), want);
		jv_free(s);
	} else {
		jv_free(v);
	}
	jv_free(w);
	return same;
}

/* the error of a YAML text that must not parse; NULL when it parsed */
static char *
yaml_err(const char *yaml)
{
	char *err = NULL;
	jv v = yamljv_parse(yaml, strlen(yaml), NULL, &err);

	if (jv_is_valid(v)) {
		jv_free(v);
		free(err);
		return NULL;
	}
	jv_free(v);
	return err;
}

static int
starts(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

static void
test_structures(void)
{
	ok(yaml_is("a: 1\nb: x\n", "{\"a\":1,\"b\":\"x\"}"), "a mapping");
	ok(yaml_is("- 1\n- two\n- [3]\n", "[1,\"two\",[3]]"), "a sequence");
	ok(yaml_is("top:\n  inner:\n    - a: 1\n      b: 2\n    - c\n",
	    "{\"top\":{\"inner\":[{\"a\":1,\"b\":2},\"c\"]}}"), "nested block style");
	ok(yaml_is("{a: [1, 2], b: {c: d}, e: []}", "{\"a\":[1,2],\"b\":{\"c\":\"d\"},\"e\":[]}"),
	    "flow style");
	ok(yaml_is("", "null"), "an empty document is null");
	ok(yaml_is("# only a comment\n", "null"), "a document of comments is null");
	ok(yaml_is("a: 1\n---\nb: 2\n", "{\"a\":1}"), "the first document of several");
	ok(yaml_is("a: 1 # note\n", "{\"a\":1}"), "a comment after a value");
	ok(yaml_is("a: |\n  one\n  two\nb: >\n  folded\n  text\n",
	    "{\"a\":\"one\\ntwo\\n\",\"b\":\"folded text\\n\"}"), "literal and folded blocks");
}

static void
test_scalars(void)
{
	ok(yaml_is("[null, ~, Null, NULL, ]", "[null,null,null,null]"), "null spellings");
	ok(yaml_is("a:\n", "{\"a\":null}"), "an empty value is null");
	ok(yaml_is("[true, false, True, FALSE]", "[true,false,true,false]"), "booleans");
	ok(yaml_is("[yes, no, on, off, y, n]", "[\"yes\",\"no\",\"on\",\"off\",\"y\",\"n\"]"),
	    "yes/no/on/off stay strings (YAML 1.2)");
	ok(yaml_is("[0, 42, -7, +3, 3.5, -0.25, 1e3, .5]", "[0,42,-7,3,3.5,-0.25,1000,0.5]"),
	    "numbers");
	ok(yaml_is("[\"123\", '456', \"true\", 'null', \"\"]",
	    "[\"123\",\"456\",\"true\",\"null\",\"\"]"), "quoted scalars stay strings");
	ok(yaml_is("[0.1.0, 1.2.3-rc1, 2026-11-26, 12:30, 1_000, 0x1F, 1e, -, .]",
	    "[\"0.1.0\",\"1.2.3-rc1\",\"2026-11-26\",\"12:30\",\"1_000\",\"0x1F\",\"1e\",\"-\",\".\"]"),
	    "version numbers, dates and other near-numbers stay strings");
	ok(yaml_is("[!!str 123, !!str true]", "[\"123\",\"true\"]"), "a !!str tag keeps a string");
	ok(yaml_is("v: café ☕\n", "{\"v\":\"café ☕\"}"), "UTF-8 text");
	ok(yaml_is("\"${HOME}\": \"a\\tb\"\n", "{\"${HOME}\":\"a\\tb\"}"), "escapes in double quotes");
}

static void
test_lines(void)
{
	static const char text[] =
	    "# deployment\n"
	    "connectors:\n"
	    "  demo:\n"
	    "    type: file\n"
	    "    paths:\n"
	    "      - events/a.jsonl\n"
	    "\n"
	    "      - events/b.jsonl\n"
	    "baseline: {window_days: 30}\n";
	char *err = NULL;
	jv lines = jv_null();
	jv v = yamljv_parse(text, sizeof text - 1, &lines, &err);
	struct {
		const char *path;
		int line;
	} want[] = {
		{"connectors", 2}, {"connectors.demo", 3}, {"connectors.demo.type", 4},
		{"connectors.demo.paths", 5}, {"connectors.demo.paths[0]", 6},
		{"connectors.demo.paths[1]", 8}, {"baseline", 9}, {"baseline.window_days", 9},
	};

	ok(jv_is_valid(v) && err == NULL, "the document parses");
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		jv l = jv_object_get(jv_copy(lines), jv_string(want[i].path));

		ok(jv_get_kind(l) == JV_KIND_NUMBER && (int)jv_number_value(l) == want[i].line,
		    "%s is on line %d", want[i].path, want[i].line);
		jv_free(l);
	}
	jv_free(lines);
	jv_free(v);
}

static void
test_errors(void)
{
	char *e;

	e = yaml_err("a: 1\nb: [1, 2\nc: 3\n");
	ok(e && isdigit((unsigned char)e[0]) && strchr(e, ':') &&
	    strspn(e, "0123456789") == (size_t)(strchr(e, ':') - e),
	    "bad YAML: the message starts with the line number (%s)", e ? e : "parsed");
	free(e);
	e = yaml_err("a: 1\n  b: 2\nc: 3\n");
	ok(starts(e, "2:"), "bad indentation: on line 2 (%s)", e ? e : "parsed");
	free(e);
	e = yaml_err("a: \"open\nb: 2\n");
	ok(e && isdigit((unsigned char)e[0]), "an unclosed quote (%s)", e ? e : "parsed");
	free(e);
	e = yaml_err("a: x\nb: 2\na: y\n");
	ok(starts(e, "3: duplicate key 'a'"), "a duplicate key is named with its line (%s)",
	    e ? e : "parsed");
	free(e);
	e = yaml_err("top:\n  k: {x: 1}\n  j: 2\n  k: [1]\n");
	ok(starts(e, "4: duplicate key 'top.k'"), "a nested duplicate key names its path (%s)",
	    e ? e : "parsed");
	free(e);
	e = yaml_err("a: *nowhere\n");
	ok(starts(e, "1:") && e && strstr(e, "nowhere"), "an unknown alias (%s)",
	    e ? e : "parsed");
	free(e);
	e = yaml_err("? [a, b]\n: 1\n");
	ok(starts(e, "1:"), "a key that is not a scalar (%s)", e ? e : "parsed");
	free(e);
	e = yaml_err("a: 1\n\tb: 2\n");
	ok(starts(e, "2:"), "a tab for indentation (%s)", e ? e : "parsed");
	free(e);
}

static void
test_aliases(void)
{
	ok(yaml_is("base: &b {x: 1, y: [2]}\nother: *b\n",
	    "{\"base\":{\"x\":1,\"y\":[2]},\"other\":{\"x\":1,\"y\":[2]}}"), "an alias of a mapping");
	ok(yaml_is("a: &n 5\nb: [*n, *n]\n", "{\"a\":5,\"b\":[5,5]}"), "an alias of a scalar");
	ok(yaml_is("list: &l [a, b]\nagain: *l\n",
	    "{\"list\":[\"a\",\"b\"],\"again\":[\"a\",\"b\"]}"), "an alias of a sequence");
	ok(yaml_is("a: &x 1\nb: &x 2\nc: *x\n", "{\"a\":1,\"b\":2,\"c\":2}"),
	    "a redefined anchor: the latest wins");
}

/* n opening brackets then n closing ones (caller frees) */
static char *
nested(size_t n)
{
	char *s = malloc(2 * n + 1);

	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = 0;
	return s;
}

/* anchors a0..aN, each a list of 9 aliases of the one before; a0 is s */
static char *
laughs(int levels, const char *s)
{
	char *y = xasprintf("a0: &a0 \"%s\"\n", s), *t;

	for (int i = 1; i <= levels; i++) {
		t = xasprintf("%sa%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
		    y, i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
		free(y);
		y = t;
	}
	return y;
}

static void
test_limits(void)
{
	char *y, *e, *big;
	jv lines = jv_null(), v;

	y = nested(YAMLJV_MAX_DEPTH);
	v = yamljv_parse(y, strlen(y), NULL, &e);
	ok(jv_is_valid(v), "256 nested sequences are read (%s)", e ? e : "ok");
	jv_free(v);
	free(e);
	free(y);
	y = nested(YAMLJV_MAX_DEPTH + 1);
	e = yaml_err(y);
	is_str(e, "1: collections nested more than 256 deep", "257 are refused");
	free(e);
	free(y);
	big = malloc(100001);
	memset(big, '[', 100000);
	big[100000] = 0;
	y = xasprintf("a: 1\nb:\n  - %s", big);
	e = yaml_err(y);
	is_str(e, "3: collections nested more than 256 deep", "100,000 open [ are refused");
	free(e);
	free(y);
	free(big);
	big = malloc(400001);
	for (int i = 0; i < 100000; i++)
		memcpy(big + 4 * i, "{a: ", 4);
	big[400000] = 0;
	e = yaml_err(big);
	is_str(e, "1: collections nested more than 256 deep", "and so are 100,000 open {");
	free(e);
	free(big);

	y = laughs(9, "lol");
	e = yaml_err(y);
	is_str(e, "8: aliases expand the document to more than 1000000 values",
	    "a billion laughs is refused at the line where it passes the limit");
	free(e);
	free(y);
	y = laughs(6, "lol");
	v = yamljv_parse(y, strlen(y), NULL, &e);
	ok(jv_is_valid(v), "9^6 values by aliases are read (%s)", e ? e : "ok");
	jv_free(v);
	free(e);
	free(y);
	big = malloc(40001);
	memset(big, 'x', 40000);
	big[40000] = 0;
	y = laughs(3, big);
	e = yaml_err(y);
	is_str(e, "4: aliases expand the document to more than 16 MiB of text",
	    "few aliases of a long string are refused too");
	free(e);
	free(y);
	free(big);
	e = yaml_err("a: &a [x]\nb: &a [*a, *a]\nc: [*a, *a]\n");
	ok(e == NULL, "a redefined anchor weighs what its latest value does");
	free(e);

	big = malloc(YAMLJV_MAX_BYTES + 2);
	memset(big, '\n', YAMLJV_MAX_BYTES + 1);
	big[YAMLJV_MAX_BYTES + 1] = 0;
	e = yaml_err(big);
	ok(starts(e, "8388609: the document is larger than 8 MiB"),
	    "a document over 8 MiB is refused with the line where the limit falls (%s)",
	    e ? e : "parsed");
	free(e);
	big[YAMLJV_MAX_BYTES] = 0;
	e = yaml_err(big);
	ok(e == NULL, "a document of 8 MiB is read");
	free(e);
	free(big);

	/* a long key path would make the line map quadratic: it is left out, the value kept */
	big = malloc(2001);
	memset(big, 'k', 2000);
	big[2000] = 0;
	y = xasprintf("? %s\n: {a: [1, 2], b: 3}\n", big);
	v = yamljv_parse(y, strlen(y), &lines, &e);
	ok(jv_get_kind(v) == JV_KIND_OBJECT && jv_object_length(jv_copy(v)) == 1 &&
	    jv_object_length(jv_copy(lines)) == 0,
	    "keys under a 2000-byte key are read, their paths not recorded (%s)", e ? e : "ok");
	jv_free(v);
	jv_free(lines);
	free(y);
	y = xasprintf("? %s\n: 1\n? %s\n: 2\n", big, big);
	e = yaml_err(y);
	ok(starts(e, "3: duplicate key 'kkkk") && strlen(e) < 300,
	    "a long duplicate key is named, cut short (%.40s...)", e ? e : "parsed");
	free(e);
	free(y);
	free(big);
}

/* emit v, check that it reads back as v, and return the text (or NULL) */
static char *
round_trip(const char *json, const char *what)
{
	jv v = jv_parse(json), back;
	char *text = yamljv_emit(jv_copy(v)), *err = NULL;
	int same;

	back = yamljv_parse(text, strlen(text), NULL, &err);
	same = jv_is_valid(back) && jv_equal(jv_copy(v), jv_copy(back));
	ok(same, "round trip: %s", what);
	if (!same)
		printf("#   emitted:\n%s#   error: %s\n", text, err ? err : "(none)");
	free(err);
	jv_free(back);
	jv_free(v);
	return text;
}

static void
test_emit(void)
{
	char *t;

	t = round_trip("{\"github\":{\"updated_at\":\"2026-03-10T12:00:01.532211Z\","
	    "\"value\":\"2026-03-05T16:00:00Z\"},\"n\":{\"updated_at\":\"x\",\"value\":\"42\"}}",
	    "checkpoints");
	ok(t && strstr(t, "value: '42'"), "a string of digits is quoted");
	free(t);
	t = round_trip("{\"d\":\"2026-11-26\",\"t\":\"true\",\"yl\":\"yes\",\"yu\":\"Yes\",\"o\":\"off\","
	    "\"nl\":\"null\",\"tilde\":\"~\",\"e\":\"\",\"v\":\"0.1.0\",\"f\":\"1e3\","
	    "\"y\":\"short\"}",
	    "strings that look like other types");
	ok(t && strstr(t, "d: '2026-11-26'"), "a date-like string is quoted");
	ok(t && strstr(t, "t: 'true'"), "\"true\" is quoted");
	ok(t && strstr(t, "yl: 'yes'") && strstr(t, "yu: 'Yes'") && strstr(t, "o: 'off'"),
	    "yes/Yes/off are quoted for YAML 1.1 readers");
	ok(t && strstr(t, "nl: 'null'") && strstr(t, "tilde: '~'") && strstr(t, "e: ''"),
	    "null, ~ and the empty string are quoted");
	ok(t && strstr(t, "v: '0.1.0'"), "a version number is quoted");
	ok(t && strstr(t, "'y': short"), "a key that reads as a YAML 1.1 boolean is quoted too");
	free(t);
	t = round_trip("{\"i\":\".inf\",\"m\":\"-.inf\",\"nan\":\".nan\"}", ".inf and .nan");
	ok(t && strstr(t, "i: '.inf'") && strstr(t, "m: '-.inf'") && strstr(t, "nan: '.nan'"),
	    ".inf and .nan (floats in YAML 1.1 and 1.2) are quoted");
	free(t);
	t = round_trip("{\"a\":[1,2.5,-3,true,false,null],\"b\":{\"c\":[]},\"e\":{},"
	    "\"s\":\"line one\\nline two\\n\",\"u\":\"café ☕\",\"colon\":\"a: b\","
	    "\"hash\":\"# not a comment\",\"dash\":\"- x\",\"star\":\"*x\",\"amp\":\"&x\","
	    "\"sp\":\" padded \",\"q\":\"it's \\\"quoted\\\"\",\"ctl\":\"a\\u001bb\\tc\","
	    "\"123\":\"numeric key\",\"json\":\"{\\\"files\\\":{\\\"/a\\\":{\\\"off\\\":12}}}\"}",
	    "every kind of value");
	free(t);
	t = round_trip("[]", "an empty array");
	free(t);
	t = round_trip("\"just a string\"", "a bare string");
	free(t);
	t = round_trip("{\"big\":1234567890123,\"frac\":0.001,\"neg\":-0.5}", "numbers");
	free(t);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* TAP lines survive a sanitizer exit */
	test_structures();
	test_scalars();
	test_lines();
	test_errors();
	test_aliases();
	test_limits();
	test_emit();
	return t_done();
}
