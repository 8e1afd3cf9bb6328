/* jsonl: reading lines (long, malformed, blank, torn) and writing them */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "t.h"

/* a temporary file holding text, positioned at its start */
static FILE *
file_with(const char *text, size_t n)
{
	FILE *f = tmpfile();

	if (!f || fwrite(text, 1, n, f) != n) {
		printf("Bail out! cannot write a temporary file\n");
		exit(1);
	}
	rewind(f);
	return f;
}

/* the integer v[key], -1 when it is not there; v is consumed */
static int
num(jv v, const char *key)
{
	jv x = jsonl_get(v, key);
	int n = jv_get_kind(x) == JV_KIND_NUMBER ? (int)jv_number_value(x) : -1;

	jv_free(x);
	return n;
}

static void
test_long_line(void)
{
	size_t big = 1 << 20;
	char *text = malloc(big + 32);
	FILE *f;
	jsonl r;
	jv v;
	size_t n;

	n = (size_t)sprintf(text, "{\"k\":\"");
	memset(text + n, 'a', big);
	n += big;
	n += (size_t)sprintf(text + n, "\"}\n{\"n\":2}\n");
	f = file_with(text, n);
	jsonl_init(&r, f, "big");
	ok(jsonl_next(&r, &v) == 1, "a line of 1 MB is read");
	{
		jv k = jsonl_get(v, "k");

		ok(jv_get_kind(k) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(k)) == (int)big,
		    "its string has all 1048576 bytes");
		jv_free(k);
	}
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 2, "the line after it is read too");
	ok(jsonl_next(&r, &v) == 0, "then the end");
	ok(r.skipped == 0 && r.lineno == 2, "nothing skipped, two lines");
	ok(r.bytes == n, "bytes is the whole file");
	jsonl_done(&r);
	fclose(f);
	free(text);
}

static void
test_malformed(void)
{
	static const char text[] = "{\"n\":1}\nnot json\n{\"n\":2\n{\"n\":3}{\"n\":4}\n{\"n\":5}\n";
	FILE *f = file_with(text, sizeof text - 1);
	jsonl r;
	jv v;

	jsonl_init(&r, f, "bad");
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 1, "the line before the bad ones");
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 5, "three malformed lines are passed over");
	ok(r.lineno == 5, "the line number counts the skipped lines");
	ok(jsonl_next(&r, &v) == 0, "then the end");
	ok(r.skipped == 3, "the malformed lines are counted: %zu", r.skipped);
	jsonl_done(&r);
	fclose(f);

	/* quiet: counted all the same */
	f = file_with("x\ny\nz\nw\nv\n{}\n", 13);
	jsonl_init(&r, f, "quiet");
	r.quiet = 1;
	ok(jsonl_next(&r, &v) == 1 && jv_get_kind(v) == JV_KIND_OBJECT, "quiet: the object");
	jv_free(v);
	ok(r.skipped == 5, "quiet: five lines counted");
	jsonl_done(&r);
	fclose(f);
}

static void
test_blank(void)
{
	static const char text[] = "\n  \n\t\r\n{\"n\":1}\r\n\n[1,2]\n42\n";
	FILE *f = file_with(text, sizeof text - 1);
	jsonl r;
	jv v;

	jsonl_init(&r, f, "blank");
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 1, "blank lines and a CRLF line");
	ok(jsonl_next(&r, &v) == 1 && jv_get_kind(v) == JV_KIND_ARRAY, "an array is a value");
	jv_free(v);
	ok(jsonl_next(&r, &v) == 1 && jv_get_kind(v) == JV_KIND_NUMBER, "so is a number");
	jv_free(v);
	ok(jsonl_next(&r, &v) == 0, "then the end");
	ok(r.skipped == 0, "blank lines are not counted as malformed");
	jsonl_done(&r);
	fclose(f);
}

/* {"k":"aaa..."} of n bytes with its newline */
static size_t
put_line(char *at, size_t n)
{
	size_t h = (size_t)sprintf(at, "{\"k\":\"");

	memset(at + h, 'a', n - h - 3);
	memcpy(at + n - 3, "\"}\n", 3);
	return n;
}

/* over max: skipped and counted without being held whole; the lines after it still read */
static void
test_max(void)
{
	size_t big = 2 << 20, n = 0, max = 1 << 20;
	char *text = malloc(big + 2 * max + 4096), *passed = NULL;
	size_t plen = 0;
	FILE *f, *pass;
	jsonl r;
	jv v;

	n += (size_t)sprintf(text, "{\"n\":1}\n");
	n += put_line(text + n, big);
	n += (size_t)sprintf(text + n, "{\"n\":3}\n");
	n += put_line(text + n, max);
	n += put_line(text + n, max + 1);
	n += (size_t)sprintf(text + n, "{\"n\":6}\n");
	f = file_with(text, n);
	jsonl_init(&r, f, "max");
	r.quiet = 1;
	r.max = max;
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 1, "max: the line before");
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 3, "max: a line of 2 MiB is passed over");
	ok(r.cap <= max + 1, "max: never held whole (buffer of %zu bytes)", r.cap);
	ok(jsonl_next(&r, &v) == 1 && jv_get_kind(v) == JV_KIND_OBJECT,
	    "max: a line of exactly max bytes, newline included, is read");
	jv_free(v);
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 6, "max: one byte more is passed over");
	ok(jsonl_next(&r, &v) == 0, "max: then the end");
	ok(r.oversize == 2 && r.skipped == 0, "max: two lines counted as too long (%zu), none "
	    "as malformed", r.oversize);
	ok(r.lineno == 6 && r.bytes == n, "max: lines and bytes count the skipped ones");
	jsonl_done(&r);

	/* pass: the long line goes on as it came, the others are read */
	rewind(f);
	pass = open_memstream(&passed, &plen);
	jsonl_init(&r, f, "pass");
	r.quiet = 1;
	r.max = max;
	r.pass = pass;
	while (jsonl_next(&r, &v))
		jv_free(v);
	fclose(pass);
	ok(r.oversize == 2 && plen == big + max + 1 && !memcmp(passed, text + 8, big) &&
	    !memcmp(passed + big, text + 8 + big + 8 + max, max + 1),
	    "pass: both long lines copied whole (%zu bytes)", plen);
	jsonl_done(&r);
	free(passed);
	fclose(f);

	/* tail: a long line still being written is left for next time */
	n = (size_t)sprintf(text, "{\"n\":1}\n");
	n += put_line(text + n, big) - 1;
	f = file_with(text, n);
	jsonl_init(&r, f, "tail");
	r.quiet = 1;
	r.tail = 1;
	r.max = max;
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 1 && jsonl_next(&r, &v) == 0,
	    "tail: a long last line without newline is not taken");
	ok(r.bytes == 8 && r.oversize == 0, "tail: nor counted (bytes %zu)", r.bytes);
	jsonl_done(&r);
	fclose(f);
	free(text);
}

static void
test_tail(void)
{
	static const char text[] = "{\"n\":1}\n{\"n\":2}";
	FILE *f = file_with(text, sizeof text - 1);
	jsonl r;
	jv v;

	jsonl_init(&r, f, "tail");
	r.tail = 1;
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 1, "tail: the complete line");
	ok(jsonl_next(&r, &v) == 0, "tail: a last line without newline is left");
	ok(r.bytes == 8, "tail: bytes stops after the last newline (%zu)", r.bytes);
	ok(r.skipped == 0, "tail: the partial line is not malformed");
	jsonl_done(&r);

	rewind(f);
	jsonl_init(&r, f, "notail");
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 1, "no tail: the first line");
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 2, "no tail: the last line is read");
	ok(r.bytes == sizeof text - 1, "no tail: bytes is the whole file");
	jsonl_done(&r);
	fclose(f);

	f = file_with("{\"n\":1}\n{\"n\":", strlen("{\"n\":1}\n{\"n\":"));
	jsonl_init(&r, f, "torn");
	ok(jsonl_next(&r, &v) == 1 && num(v, "n") == 1 && jsonl_next(&r, &v) == 0,
	    "no tail: a torn last line is not a value");
	ok(r.skipped == 1, "no tail: it is counted as malformed");
	jsonl_done(&r);
	fclose(f);
}

static void
test_put(void)
{
	FILE *f = tmpfile(), *ro;
	char buf[256];
	size_t n;
	jv v = jv_parse("{\"a\": [1, 2], \"b\": \"x\\ny\"}");

	ok(jsonl_put(f, v) == 0, "jsonl_put succeeds");
	ok(jsonl_put(f, jv_string("é")) == 0, "a second value");
	rewind(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	is_str(buf, "{\"a\":[1,2],\"b\":\"x\\ny\"}\n\"é\"\n", "compact, one value per line");
	fclose(f);

	ro = fopen("/dev/null", "r");
	ok(ro && jsonl_put(ro, jv_parse("{\"a\":1}")) == -1, "a write error is -1");
	if (ro)
		fclose(ro);
}

static void
test_get(void)
{
	jv v;

	v = jsonl_get(jv_parse("[1,2]"), "a");
	ok(jv_get_kind(v) == JV_KIND_INVALID, "jsonl_get on an array is invalid");
	jv_free(v);
	v = jsonl_get(jv_string("a"), "a");
	ok(jv_get_kind(v) == JV_KIND_INVALID, "jsonl_get on a string is invalid");
	jv_free(v);
	v = jsonl_get(jv_null(), "a");
	ok(jv_get_kind(v) == JV_KIND_INVALID, "jsonl_get on null is invalid");
	jv_free(v);
	v = jsonl_get(jv_invalid(), "a");
	ok(jv_get_kind(v) == JV_KIND_INVALID, "jsonl_get on invalid is invalid");
	jv_free(v);
	v = jsonl_get(jv_parse("{\"b\":1}"), "a");
	ok(jv_get_kind(v) == JV_KIND_INVALID, "a key that is not there is invalid");
	jv_free(v);
	ok(num(jv_parse("{\"a\":7}"), "a") == 7, "a key that is there");
	v = jsonl_get(jv_parse("{\"a\":null}"), "a");
	ok(jv_get_kind(v) == JV_KIND_NULL, "a null member is null, not invalid");
	jv_free(v);
}

static void
test_parse(void)
{
	jv v = jsonl_parse("{\"a\":1}xyz", 7);

	ok(jv_get_kind(v) == JV_KIND_OBJECT, "jsonl_parse reads only n bytes");
	jv_free(v);
	v = jsonl_parse("{\"a\":", 5);
	ok(!jv_is_valid(v), "an incomplete text is invalid");
	jv_free(v);
}

static void
test_int(void)
{
	ok(jsonl_int(jv_number(42.9), 1, 100, 7) == 42, "a number in range is its whole part");
	ok(jsonl_int(jv_number(1e300), 1, 100, 7) == 100, "a huge number is held at the top");
	ok(jsonl_int(jv_number(-1e300), 1, 100, 7) == 1, "a huge negative one at the bottom");
	ok(jsonl_int(jv_number(1e300), INT64_MIN, INT64_MAX, 0) == INT64_MAX,
	    "past int64 is int64's largest, not undefined behaviour");
	ok(jsonl_int(jv_number(-1e300), INT64_MIN, INT64_MAX, 0) == INT64_MIN,
	    "and below it its smallest");
	ok(jsonl_int(jv_number(0.0 / 0.0), 1, 100, 7) == 7, "NaN is the default");
	ok(jsonl_int(jv_string("5"), 1, 100, 7) == 7, "a string is the default");
	ok(jsonl_int(jv_invalid(), 1, 100, 7) == 7, "nothing is the default");
}

/* text jsonl_canonical takes is what libjq prints back; what it turns away libjq still reads */
static void
test_canonical(void)
{
	static const char *in[] = {
		"{}", "[]", "\"\"", "0", "-7", "123456789012345", "true", "false", "null",
		"{\"a\":[1,{\"b\":null}],\"c\":\"d\"}",
		"\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\"",
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\"",	/* e-acute, euro, a G clef */
		"{\"a\":{\"k\":1},\"b\":{\"k\":2}}",		/* the same key in two objects */
	};
	static const char *out[] = {
		"{ }", "{\"a\": 1}", " 1", "1 ", "1.5", "1e3", "-0", "01", "1234567890123456",
		"\"\\/\"", "\"\\u00e9\"", "\"\\u000a\"", "\"\\u001F\"", "\"\\u0000\"", "\"\x7f\"",
		"\"\x01\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc3\"",
		"{\"a\":1,\"a\":2}", "nan", "tru", "[1,]", "{\"a\":1,}", "\"open", "{\"a\"}",
		"[1][2]",
	};
	char deep[80];

	for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
		jv v = jsonl_parse(in[i], strlen(in[i])), d = jv_dump_string(v, 0);

		ok(jsonl_canonical(in[i], strlen(in[i])) && !strcmp(jv_string_value(d), in[i]),
		    "canonical, and libjq prints it back: %s", in[i]);
		jv_free(d);
	}
	for (size_t i = 0; i < sizeof out / sizeof *out; i++)
		ok(!jsonl_canonical(out[i], strlen(out[i])), "not canonical: case %zu", i);
	memset(deep, '[', 33);
	memset(deep + 33, ']', 33);
	ok(!jsonl_canonical(deep, 66), "33 levels of nesting are left to libjq");
	ok(jsonl_canonical(deep + 1, 64), "32 are not");
	{
		static const char two[] = "\"a\",1";

		ok(jsonl_canonical_value(two, two + 5) == two + 3,
		    "jsonl_canonical_value stops at the end of the value");
	}
}

/* jsonl_line then jsonl_value is jsonl_next: blank lines passed over, malformed ones counted */
static void
test_line(void)
{
	static const char text[] = "\n{\"n\":1}\nnot json\n{\"n\":2}";
	FILE *f = file_with(text, sizeof text - 1);
	jsonl r;
	jv v;

	jsonl_init(&r, f, "line");
	r.quiet = 1;
	ok(jsonl_line(&r) == 1 && jsonl_text(&r) == 7 && !memcmp(r.buf, "{\"n\":1}", 7),
	    "the first line that is not blank, its text without the newline");
	ok(jsonl_value(&r, &v) == 1 && num(v, "n") == 1, "and its value");
	ok(jsonl_line(&r) == 1 && jsonl_value(&r, &v) == 0 && r.skipped == 1,
	    "a malformed line: no value, counted");
	ok(jsonl_line(&r) == 1 && jsonl_text(&r) == 7, "a last line without its newline");
	ok(jsonl_line(&r) == 0 && r.lineno == 4, "then the end");
	jsonl_done(&r);
	fclose(f);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* TAP lines survive a sanitizer exit */
	test_long_line();
	test_max();
	test_malformed();
	test_blank();
	test_tail();
	test_put();
	test_get();
	test_parse();
	test_int();
	test_canonical();
	test_line();
	return t_done();
}
