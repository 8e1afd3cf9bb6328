/* event: ids, source names, normalization of both record shapes, rejections, legacy markers */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "t.h"
#include "ts.h"

#define INGESTED (INT64_C(1772800000) * TS_SECOND)	/* 2026-03-06T12:26:40Z */

/* the compact JSON of v (consumed), malloc'd */
static char *
dump(jv v)
{
	jv s = jv_dump_string(v, 0);
	char *r = strdup(jv_string_value(s));

	jv_free(s);
	return r;
}

/* normalize the JSON text rec; the stored event as JSON, or "REJECTED: reason" */
static char *
norm(const char *rec, const char *source)
{
	const char *why = NULL;
	jv out = jv_null();
	char *r;

	if (event_normalize(jv_parse(rec), source, INGESTED, &out, &why)) {
		if (asprintf(&r, "REJECTED: %s", why ? why : "(no reason)") < 0)
			r = NULL;
		return r;
	}
	return dump(out);
}

/* the field of the normalized record as compact JSON */
static char *
norm_field(const char *rec, const char *source, const char *field)
{
	const char *why = NULL;
	jv out = jv_null();

	if (event_normalize(jv_parse(rec), source, INGESTED, &out, &why))
		return strdup("REJECTED");
	return dump(jv_object_get(out, jv_string(field)));
}

static void
test_id(void)
{
	char buf[EVENT_IDSZ];

	/* printf 'github:abc' | sha256sum: 3dc1fc01a5b89af0cf7dff976270c809... */
	is_str(event_id("github", "abc", buf), "evt_3dc1fc01a5b89af0cf7d",
	    "event_id is evt_ and 20 hex of sha256(source:key)");
	ok(strlen(buf) == 24, "24 characters");
	/* printf 'github:goid-1' | sha256sum */
	is_str(event_id("github", "goid-1", buf), "evt_16d635bdd1a8f580bdc6", "another key");
	ok(strcmp(event_id("gitlab", "abc", buf), "evt_3dc1fc01a5b89af0cf7d") != 0,
	    "the source is part of the hash");
}

static void
test_source_ok(void)
{
	char long63[64], long64[65];

	memset(long63, 'a', 63);
	long63[63] = 0;
	memset(long64, 'a', 64);
	long64[64] = 0;
	ok(event_source_ok("github"), "github");
	ok(event_source_ok("aws-cloudtrail"), "aws-cloudtrail");
	ok(event_source_ok("a.b_c-d9"), "dots, underscores, dashes and digits");
	ok(event_source_ok("9lives"), "a leading digit");
	ok(event_source_ok(long63), "63 characters");
	ok(!event_source_ok(long64), "64 characters are refused");
	ok(!event_source_ok(""), "the empty name is refused");
	ok(!event_source_ok("-x"), "a leading dash is refused");
	ok(!event_source_ok(".hidden"), "a leading dot is refused");
	ok(!event_source_ok("../etc"), "a path is refused");
	ok(!event_source_ok("a/b"), "a slash is refused");
	ok(!event_source_ok("a b"), "a space is refused");
	ok(!event_source_ok("café"), "non-ASCII is refused");
}

static void
test_our_shape(void)
{
	char *s;

	s = norm("{\"raw\":{\"x\":1},\"metadata\":{\"k\":1},\"severity\":\"warn\",\"target\":\"t\","
	    "\"action\":\"a\",\"actor\":\"alice\",\"event_type\":\"push\",\"source\":\"github\","
	    "\"timestamp\":\"2026-03-05T16:30:00+02:00\",\"id\":\"evt_0123456789ab\"}", "file");
	is_str(s, "{\"id\":\"evt_0123456789ab\",\"timestamp\":\"2026-03-05T14:30:00Z\","
	    "\"ingested_at\":\"2026-03-06T12:26:40Z\",\"source\":\"github\",\"event_type\":\"push\","
	    "\"actor\":\"alice\",\"action\":\"a\",\"target\":\"t\",\"severity\":\"warn\","
	    "\"metadata\":{\"k\":1},\"raw\":{\"x\":1}}",
	    "our shape: fields in order, timestamp in UTC, ingested_at set, a 12-hex id kept");
	free(s);

	s = norm("{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"login\",\"actor\":\"bob\"}",
	    "file");
	ok(s && strstr(s, "\"source\":\"file\",\"event_type\":\"login\",\"actor\":\"bob\","
	    "\"action\":\"\",\"target\":\"\",\"severity\":\"info\",\"metadata\":{},\"raw\":{}}"),
	    "defaults: the connector's source, empty action and target, info, {} (%s)", s);
	free(s);
	s = norm_field("{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"login\","
	    "\"actor\":\"bob\"}", "file", "id");
	ok(s && !strncmp(s, "\"evt_", 5) && strlen(s) == 26 &&
	    strspn(s + 5, "0123456789abcdef") == 20, "a record without id gets evt_ and 20 hex (%s)",
	    s);
	free(s);
	{
		char *a = norm_field("{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\","
		    "\"actor\":\"a\",\"n\":1}", "file", "id");
		char *b = norm_field("{\"n\":1,\"actor\":\"a\",\"event_type\":\"x\","
		    "\"timestamp\":\"2026-03-05T14:30:00Z\"}", "file", "id");
		char *c = norm_field("{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\","
		    "\"actor\":\"a\",\"n\":2}", "file", "id");

		ok(a && b && !strcmp(a, b), "the id of a record without one is deterministic, "
		    "whatever the key order (%s, %s)", a, b);
		ok(a && c && strcmp(a, c), "and differs for a different record");
		free(a), free(b), free(c);
	}

	s = norm_field("{\"id\":\"has space\",\"timestamp\":\"2026-03-05T14:30:00Z\","
	    "\"event_type\":\"x\",\"actor\":\"a\"}", "file", "id");
	ok(s && !strncmp(s, "\"evt_", 5) && strlen(s) == 26, "an id with a space is replaced (%s)",
	    s);
	free(s);
	s = norm_field("{\"id\":\"../../x\",\"timestamp\":\"2026-03-05T14:30:00Z\","
	    "\"event_type\":\"x\",\"actor\":\"a\"}", "file", "id");
	ok(s && !strncmp(s, "\"evt_", 5), "an id with a slash is replaced (%s)", s);
	free(s);

	s = norm_field("{\"timestamp\":1772721000,\"event_type\":\"x\",\"actor\":\"a\"}", "file",
	    "timestamp");
	is_str(s, "\"2026-03-05T14:30:00Z\"", "epoch seconds become an ISO time");
	free(s);
	s = norm_field("{\"timestamp\":1772721000250,\"event_type\":\"x\",\"actor\":\"a\"}", "file",
	    "timestamp");
	is_str(s, "\"2026-03-05T14:30:00.250000Z\"", "epoch milliseconds too");
	free(s);
	s = norm_field("{\"timestamp\":\"2026-03-05T06:30:00.5-0800\",\"event_type\":\"x\","
	    "\"actor\":\"a\"}", "file", "timestamp");
	is_str(s, "\"2026-03-05T14:30:00.500000Z\"", "-0800 with a fraction becomes UTC");
	free(s);
	s = norm_field("{\"timestamp\":\"2026-03-05T14:30:00\",\"event_type\":\"x\","
	    "\"actor\":\"a\"}", "file", "timestamp");
	is_str(s, "\"2026-03-05T14:30:00Z\"", "a naive time is taken as UTC");
	free(s);
	s = norm_field("{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\","
	    "\"actor\":42}", "file", "actor");
	is_str(s, "\"42\"", "a numeric actor becomes text");
	free(s);
	s = norm_field("{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\","
	    "\"actor\":\"a\",\"metadata\":null,\"raw\":null}", "file", "metadata");
	is_str(s, "{}", "null metadata becomes {}");
	free(s);
}

static void
test_go_shape(void)
{
	static const char rec[] =
	    "{\"id\":\"goid-1\",\"source\":\"github\",\"type\":\"repo.push\",\"actor\":\"bob\","
	    "\"timestamp\":\"2026-03-05T16:30:00+02:00\",\"org\":\"acme\","
	    "\"payload\":{\"action\":\"push\",\"repo\":\"acme/site\",\"ref\":\"main\"}}";
	char *s = norm(rec, "file"), *raw;

	is_str(s, "{\"id\":\"evt_16d635bdd1a8f580bdc6\",\"timestamp\":\"2026-03-05T14:30:00Z\","
	    "\"ingested_at\":\"2026-03-06T12:26:40Z\",\"source\":\"github\","
	    "\"event_type\":\"repo.push\",\"actor\":\"bob\",\"action\":\"push\","
	    "\"target\":\"acme/site\",\"severity\":\"info\","
	    "\"metadata\":{\"action\":\"push\",\"repo\":\"acme/site\",\"ref\":\"main\",\"org\":\"acme\"},"
	    "\"raw\":" "{\"id\":\"goid-1\",\"source\":\"github\",\"type\":\"repo.push\",\"actor\":\"bob\","
	    "\"timestamp\":\"2026-03-05T16:30:00+02:00\",\"org\":\"acme\","
	    "\"payload\":{\"action\":\"push\",\"repo\":\"acme/site\",\"ref\":\"main\"}}}",
	    "Go shape: type -> event_type, payload + org -> metadata, raw = the record, "
	    "id = event_id(source, id)");
	free(s);

	raw = norm_field("{\"id\":\"g1\",\"type\":\"login\",\"actor\":\"carol\","
	    "\"timestamp\":\"2026-03-05T14:30:00Z\",\"payload\":\"text\"}", "file", "id");
	/* printf 'file:g1' | sha256sum: 4659132061c76a9f4806... */
	is_str(raw, "\"evt_4659132061c76a9f4806\"",
	    "Go shape without a source: the connector's name is hashed with the id");
	free(raw);
	s = norm("{\"id\":\"g1\",\"type\":\"login\",\"actor\":\"carol\","
	    "\"timestamp\":\"2026-03-05T14:30:00Z\",\"payload\":\"text\"}", "file");
	ok(s && strstr(s, "\"action\":\"login\",\"target\":\"\",\"severity\":\"info\","
	    "\"metadata\":{}"), "a payload that is not an object: action is the type, metadata {} "
	    "(%s)", s);
	free(s);
	s = norm_field("{\"id\":7,\"source\":\"github\",\"type\":\"t\",\"actor\":\"a\","
	    "\"timestamp\":\"2026-03-05T14:30:00Z\"}", "file", "id");
	{
		char buf[EVENT_IDSZ], want[EVENT_IDSZ + 2];

		snprintf(want, sizeof want, "\"%s\"", event_id("github", "7", buf));
		is_str(s, want, "a numeric Go id is hashed as its text");
	}
	free(s);
	s = norm_field("{\"id\":\"x\",\"event_type\":\"e\",\"type\":\"t\",\"actor\":\"a\","
	    "\"timestamp\":\"2026-03-05T14:30:00Z\"}", "file", "event_type");
	is_str(s, "\"e\"", "a record with event_type is ours even when it also has type");
	free(s);
}

static void
test_rejections(void)
{
	static const struct {
		const char *rec, *source, *reason;
	} bad[] = {
		{"[1,2]", "file", "not a JSON object"},
		{"\"text\"", "file", "not a JSON object"},
		{"null", "file", "not a JSON object"},
		{"{\"event_type\":\"x\",\"actor\":\"a\"}", "file", "missing timestamp"},
		{"{\"timestamp\":\"yesterday\",\"event_type\":\"x\",\"actor\":\"a\"}", "file",
		    "timestamp is not an ISO 8601 time"},
		{"{\"timestamp\":\"2026-02-30T00:00:00Z\",\"event_type\":\"x\",\"actor\":\"a\"}", "file",
		    "timestamp is not an ISO 8601 time"},
		{"{\"timestamp\":null,\"event_type\":\"x\",\"actor\":\"a\"}", "file",
		    "timestamp is not an ISO 8601 time"},
		{"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"actor\":\"a\"}", "file", "missing event_type"},
		{"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"\",\"actor\":\"a\"}", "file",
		    "missing event_type"},
		{"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\"}", "file",
		    "missing actor"},
		{"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\",\"actor\":\"a\","
		    "\"severity\":\"high\"}", "file", "severity is not info, warn or critical"},
		{"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\",\"actor\":\"a\","
		    "\"source\":\"../etc\"}", "file", "source is not a valid name"},
		{"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\",\"actor\":\"a\"}",
		    "bad/name", "source is not a valid name"},
		{"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\",\"actor\":\"a\","
		    "\"metadata\":[1]}", "file", "metadata is not an object"},
		{"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\",\"actor\":\"a\","
		    "\"metadata\":\"k=v\"}", "file", "metadata is not an object"},
		{"{\"id\":\"g\",\"type\":\"t\",\"actor\":\"a\"}", "file", "missing timestamp"},
		{"{\"id\":\"g\",\"type\":\"t\",\"actor\":\"a\",\"timestamp\":\"soon\"}", "file",
		    "timestamp is not an ISO 8601 time"},
		{"{\"timestamp\":1e20,\"event_type\":\"x\",\"actor\":\"a\"}", "file",
		    "timestamp is not an ISO 8601 time from 1970 to 9999"},
		{"{\"timestamp\":-1e20,\"event_type\":\"x\",\"actor\":\"a\"}", "file",
		    "timestamp is not an ISO 8601 time from 1970 to 9999"},
		{"{\"timestamp\":\"1969-12-31T23:59:59Z\",\"event_type\":\"x\",\"actor\":\"a\"}",
		    "file", "timestamp is not an ISO 8601 time from 1970 to 9999"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *s = norm(bad[i].rec, bad[i].source), want[128];

		snprintf(want, sizeof want, "REJECTED: %s", bad[i].reason);
		ok(s && !strncmp(s, want, strlen(want)), "rejected: %s (%s)", bad[i].reason,
		    s ? s : "null");
		free(s);
	}
}

/* a NUL anywhere, keys included, refuses the record: C would read "alice\0-mallory" as alice */
static void
test_nul(void)
{
	static const char *bad[] = {
		"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\","
		    "\"actor\":\"alice-acme\\u0000-mallory\"}",
		"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\",\"actor\":\"a\","
		    "\"metadata\":{\"ip\":\"192.0.2.1\\u0000\"}}",
		"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\",\"actor\":\"a\","
		    "\"raw\":{\"list\":[[\"deep\",{\"k\":\"\\u0000\"}]]}}",
		"{\"timestamp\":\"2026-03-05T14:30:00Z\",\"event_type\":\"x\",\"actor\":\"a\","
		    "\"metadata\":{\"a\\u0000b\":1}}",
		"{\"timestamp\":\"2026-03-05T14:30:00Z\\u0000junk\",\"event_type\":\"x\","
		    "\"actor\":\"a\"}",
		"{\"id\":\"g\",\"type\":\"t\",\"actor\":\"bob\\u0000\","
		    "\"timestamp\":\"2026-03-05T14:30:00Z\"}",
		"{\"id\":\"g\",\"type\":\"t\",\"actor\":\"bob\",\"timestamp\":\"2026-03-05T14:30:00Z\","
		    "\"payload\":{\"target\":\"x\\u0000y\"}}",
	};
	jv v;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *s = norm(bad[i], "file");

		is_str(s, "REJECTED: " EVENT_HAS_NUL, "a NUL refuses record %zu", i);
		free(s);
	}
	v = jv_parse("{\"a\":[1,\"x\",{\"b\":null}],\"c\":\"\\u0001\"}");
	ok(!event_has_nul(v), "no NUL: control characters are not NULs");
	jv_free(v);
	v = jv_parse("[\"x\",[{\"\":\"a\\u0000\"}]]");
	ok(event_has_nul(v), "a NUL in a string deep in arrays and objects");
	jv_free(v);
	v = jv_string_sized("ab\0c", 4);
	ok(event_has_nul(v), "a NUL in the middle of a string");
	jv_free(v);
	ok(!event_has_nul(jv_number(0)), "a number holds no NUL");
}

static void
test_max_bytes(void)
{
	size_t max = 0;
	char *err = NULL;

	unsetenv("MALLCOP_MAX_EVENT_BYTES");
	ok(event_max_bytes(NULL, &max, &err) == 0 && max == 1048576, "the default is 1 MiB");
	setenv("MALLCOP_MAX_EVENT_BYTES", "4096", 1);
	ok(event_max_bytes(NULL, &max, &err) == 0 && max == 4096,
	    "MALLCOP_MAX_EVENT_BYTES, from mallcop-scan");
	setenv("MALLCOP_MAX_EVENT_BYTES", "12", 1);
	ok(event_max_bytes(NULL, &max, &err) == -1 && err && strstr(err, "1024"),
	    "a limit under 1 KiB is refused: %s", err ? err : "");
	free(err);
	err = NULL;
	setenv("MALLCOP_MAX_EVENT_BYTES", "lots", 1);
	ok(event_max_bytes(NULL, &max, &err) == -1 && err, "a limit that is no number is refused");
	free(err);
	unsetenv("MALLCOP_MAX_EVENT_BYTES");
}

static void
test_unwrap(void)
{
	jv v = jv_parse("{\"id\":\"evt_7acaa7aa8648\","
	    "\"actor\":\"[USER_DATA_BEGIN]admin@acme-corp.dev[USER_DATA_END]\","
	    "\"metadata\":{\"list\":[\"[USER_DATA_BEGIN]x[USER_DATA_END]\",5,"
	    "{\"deep\":\"[USER_DATA_BEGIN]y[USER_DATA_END]\"}],\"n\":null,\"b\":true},"
	    "\"odd\":\"a[USER_DATA_END]b[USER_DATA_BEGIN]c\","
	    "\"twice\":\"[USER_DATA_BEGIN][USER_DATA_BEGIN]z[USER_DATA_END][USER_DATA_END]\","
	    "\"near\":\"[USER_DATA_X] stays\",\"plain\":\"untouched\"}");
	char *s = dump(event_unwrap(v));

	is_str(s, "{\"id\":\"evt_7acaa7aa8648\",\"actor\":\"admin@acme-corp.dev\","
	    "\"metadata\":{\"list\":[\"x\",5,{\"deep\":\"y\"}],\"n\":null,\"b\":true},"
	    "\"odd\":\"abc\",\"twice\":\"z\",\"near\":\"[USER_DATA_X] stays\",\"plain\":\"untouched\"}",
	    "event_unwrap removes the markers in every string, recursively");
	free(s);
	s = dump(event_unwrap(jv_string("[USER_DATA_BEGIN][USER_DATA_END]")));
	is_str(s, "\"\"", "a wrapped empty string");
	free(s);
	s = dump(event_unwrap(jv_number(3)));
	is_str(s, "3", "a number is left alone");
	free(s);
}

static void
test_accessors(void)
{
	jv e = jv_parse("{\"actor\":\"alice\",\"n\":1,\"timestamp\":\"2026-03-05T14:30:00Z\"}");
	int64_t us = 0;

	is_str(event_str(e, "actor"), "alice", "event_str of a string");
	is_str(event_str(e, "n"), "", "event_str of a number is empty");
	is_str(event_str(e, "missing"), "", "event_str of a missing field is empty");
	ok(event_time(e, &us) == 0 && us == INT64_C(1772721000) * TS_SECOND, "event_time");
	jv_free(e);
	e = jv_parse("{\"timestamp\":\"later\"}");
	ok(event_time(e, &us) == -1, "event_time of a bad time");
	jv_free(e);
}

#define LINE_REST ",\"source\":\"github\",\"event_type\":\"push\",\"actor\":\"alice\"," \
	"\"action\":\"\",\"target\":\"r\",\"severity\":\"warn\",\"metadata\":{}," \
	"\"raw\":{\"n\":[1,\"\\u0001\"]}}"

/* a line in the stored form is taken as it is, with what the store needs of it */
static void
test_line(void)
{
	static const char *with = "{\"id\":\"evt_0123456789abcdef0123\","
	    "\"timestamp\":\"2026-03-05T14:30:00.500000Z\",\"ingested_at\":\"x\"" LINE_REST;
	static const char *without = "{\"id\":\"evt_0123456789abcdef0123\","
	    "\"timestamp\":\"2026-03-05T14:30:00.500000Z\"" LINE_REST;
	/* the stored line with one member changed: each is left to event_normalize */
	static const char *other[][2] = {
		{"\"timestamp\":\"2026-03-05T14:30:00.500000Z\"", "\"timestamp\":\"2026-03-05T14:30:00.5Z\""},
		{"\"timestamp\":\"2026-03-05T14:30:00.500000Z\"", "\"timestamp\":\"2026-03-05T14:30:00.000000Z\""},
		{"\"timestamp\":\"2026-03-05T14:30:00.500000Z\"", "\"timestamp\":\"2026-03-05T14:30:60Z\""},
		{"\"timestamp\":\"2026-03-05T14:30:00.500000Z\"", "\"timestamp\":\"2026-02-30T14:30:00Z\""},
		{"\"timestamp\":\"2026-03-05T14:30:00.500000Z\"", "\"timestamp\":\"2026-03-05T14:30:00+00:00\""},
		{"\"timestamp\":\"2026-03-05T14:30:00.500000Z\"", "\"timestamp\":\"1969-12-31T23:59:59Z\""},
		{"\"severity\":\"warn\"", "\"severity\":\"high\""},
		{"\"event_type\":\"push\"", "\"event_type\":\"\""},
		{"\"event_type\":\"push\"", "\"event_type\":7"},
		{"\"actor\":\"alice\"", "\"actor\":null"},
		{"\"metadata\":{}", "\"metadata\":null"},
		{"\"raw\":{\"n\":[1,\"\\u0001\"]}", "\"raw\":null"},
		{"\"source\":\"github\"", "\"source\":\"\""},
		{"\"source\":\"github\"", "\"source\":\"git hub\""},
		{"\"id\":\"evt_0123456789abcdef0123\"", "\"id\":\"evt 1\""},
		{"\"actor\":\"alice\"", "\"actor\":\"al\\u0000ice\""},
		{"\"actor\":\"alice\"", "\"actor\":\"al\\u00e9\""},
		{"\"actor\":\"alice\",", "\"actor\":\"alice\",\"extra\":1,"},
		{"\"action\":\"\",\"target\":\"r\"", "\"target\":\"r\",\"action\":\"\""},
		{"\"metadata\":{}", "\"metadata\":{\"a\":1,\"a\":2}"},
		{"\"metadata\":{}", "\"metadata\": {}"},
	};
	event_line e;
	char line[1024];

	ok(event_line_parse(with, strlen(with), &e) == 1, "a stored event with ingested_at");
	ok(e.idlen == 24 && !memcmp(e.id, "evt_0123456789abcdef0123", 24) &&
	    !strcmp(e.source, "github") && e.month == 202603 &&
	    e.us == INT64_C(1772721000500000), "its id, source, month and time");
	ok(!strncmp(with + e.rest, ",\"source\":", 10) && with[e.head] == ',' &&
	    !strncmp(with + e.head, ",\"ingested_at\"", 14), "what goes around ingested_at");
	ok(event_line_parse(without, strlen(without), &e) == 1 && e.head == e.rest &&
	    !strncmp(without + e.rest, ",\"source\":", 10), "and without it");
	for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
		const char *at = strstr(without, other[i][0]);

		snprintf(line, sizeof line, "%.*s%s%s", (int)(at - without), without, other[i][1],
		    at + strlen(other[i][0]));
		ok(!event_line_parse(line, strlen(line), &e), "not as stored: %s", other[i][1]);
	}
	ok(!event_line_parse(without, strlen(without) - 1, &e), "a line cut short");
	ok(!event_line_parse("{}", 2, &e) && !event_line_parse("", 0, &e), "no members");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* TAP lines survive a sanitizer exit */
	test_id();
	test_source_ok();
	test_our_shape();
	test_go_shape();
	test_rejections();
	test_nul();
	test_max_bytes();
	test_unwrap();
	test_accessors();
	test_line();
	return t_done();
}
