/* ts: parsing, printing, windows, months and the clock */
#define _GNU_SOURCE
#include <stdlib.h>
#include <time.h>

#include "t.h"
#include "ts.h"

#define T0 INT64_C(1772721000)	/* 2026-03-05T14:30:00Z */

#define is_i64(got, want, ...) do { \
	long long g64_ = (long long)(got), w64_ = (long long)(want); \
	ok(g64_ == w64_, __VA_ARGS__); \
	if (g64_ != w64_) \
		printf("#   got %lld, want %lld\n", g64_, w64_); \
} while (0)

/* the time s parses to, or -1 when it is refused */
static int64_t
parsed(const char *s)
{
	int64_t us = -1;

	return ts_parse(s, &us) == 0 ? us : -1;
}

static int
refused(const char *s)
{
	int64_t us = 12345;

	return ts_parse(s, &us) == -1 && us == 12345;
}

static int64_t
window(const char *s)
{
	int64_t us = -1;

	return ts_window(s, &us) == 0 ? us : -1;
}

static void
test_parse(void)
{
	is_i64(parsed("2026-03-05T14:30:00Z"), T0 * TS_SECOND, "Z is UTC");
	is_i64(parsed("2026-03-05t14:30:00z"), T0 * TS_SECOND, "lower-case t and z");
	is_i64(parsed("2026-03-05T14:30:00+00:00"), T0 * TS_SECOND, "+00:00, the earlier store");
	is_i64(parsed("2026-03-05T16:30:00+02:00"), T0 * TS_SECOND, "+02:00 is two hours ahead");
	is_i64(parsed("2026-03-05T20:00:00+0530"), T0 * TS_SECOND, "+0530 without a colon");
	is_i64(parsed("2026-03-05T06:30:00-0800"), T0 * TS_SECOND, "-0800 is eight hours behind");
	is_i64(parsed("2026-03-06T00:30:00+10:00"), T0 * TS_SECOND, "an offset crossing midnight");
	is_i64(parsed("2026-03-05T14:30:00.5Z"), T0 * TS_SECOND + 500000, ".5 is half a second");
	is_i64(parsed("2026-03-05T14:30:00.123456Z"), T0 * TS_SECOND + 123456, "microseconds");
	is_i64(parsed("2026-03-05T14:30:00.123456789Z"), T0 * TS_SECOND + 123456,
	    "nanoseconds are cut to microseconds");
	is_i64(parsed("2026-03-05T14:30:00,25Z"), T0 * TS_SECOND + 250000, "a decimal comma");
	is_i64(parsed("2026-03-05T16:30:00.000001+02:00"), T0 * TS_SECOND + 1,
	    "a fraction with an offset");
	is_i64(parsed("2026-03-05T14:30:00"), T0 * TS_SECOND, "no zone is taken as UTC");
	is_i64(parsed("2026-03-05 14:30:00"), T0 * TS_SECOND, "a space instead of T");
	is_i64(parsed("2026-03-05T14:30Z"), T0 * TS_SECOND, "no seconds");
	is_i64(parsed("2026-03-05"), (T0 - 14 * 3600 - 30 * 60) * TS_SECOND, "a date alone");
	is_i64(parsed("2024-02-29T00:00:00Z"), INT64_C(1709164800) * TS_SECOND,
	    "29 February of a leap year");

	ok(refused("2026-02-30T00:00:00Z"), "30 February is refused");
	ok(refused("2025-02-29"), "29 February of a common year is refused");
	ok(refused("2026-04-31T00:00:00Z"), "31 April is refused");
	ok(refused("2026-13-01T00:00:00Z"), "month 13 is refused");
	ok(refused("2026-00-10T00:00:00Z"), "month 0 is refused");
	ok(refused("2026-03-00T00:00:00Z"), "day 0 is refused");
	ok(refused("2026-03-05T24:00:00Z"), "hour 24 is refused");
	ok(refused("2026-03-05T14:60:00Z"), "minute 60 is refused");
	ok(refused("2026-03-05T14:30:00+24:00"), "an offset of 24 hours is refused");
	ok(refused("garbage"), "garbage is refused");
	ok(refused(""), "an empty string is refused");
	ok(refused(NULL), "NULL is refused");
	ok(refused("2026-3-5"), "single-digit month and day are refused");
	ok(refused("2026-03-05T14:30:00Zjunk"), "text after the zone is refused");
	ok(refused("2026-03-05T14:30:00 "), "a trailing space is refused");
	ok(refused("2026-03-05T14:30:00."), "a point without digits is refused");
	ok(refused("2026-03-05T14:30:00+2"), "a one-digit offset is refused");
	ok(refused("2026-03-05T14:30:00+02:"), "an offset ending in a colon is refused");
	ok(refused("2026-03-05T14"), "an hour without minutes is refused");
	ok(refused("1772721000"), "epoch seconds are not an ISO time");

	/* times before 1970 and after 9999 cannot be stored: refused, never wrapped */
	is_i64(parsed("1970-01-01T00:00:00Z"), 0, "the epoch is the first time");
	is_i64(parsed("9999-12-31T23:59:59.999999Z"), TS_MAX, "the last microsecond of 9999");
	ok(refused("1969-12-31T23:59:59Z"), "a time in 1969 is refused");
	ok(refused("0000-01-01T00:00:00Z"), "year 0 is refused");
	ok(refused("1970-01-01T00:30:00+01:00"), "an offset that carries 1970 back into 1969");
	ok(refused("9999-12-31T23:30:00-01:00"), "an offset that carries 9999 into 10000");
}

static void
test_format(void)
{
	char buf[TS_BUFSZ];
	static const char *canon[] = {
		"2026-03-05T14:30:00Z", "2026-03-05T14:30:00.500000Z",
		"2026-03-05T14:30:00.000001Z", "1970-01-01T00:00:00Z", "2024-02-29T23:59:59.999999Z",
		NULL,
	};

	is_str(ts_format(T0 * TS_SECOND, buf), "2026-03-05T14:30:00Z", "whole seconds: no fraction");
	is_str(ts_format(T0 * TS_SECOND + 1500000, buf), "2026-03-05T14:30:01.500000Z",
	    "a fraction is printed with six digits");
	is_str(ts_format(T0 * TS_SECOND + 7, buf), "2026-03-05T14:30:00.000007Z",
	    "leading zeros of the fraction are kept");
	is_str(ts_format(-1, buf), "1969-12-31T23:59:59.999999Z", "a microsecond before the epoch");
	is_str(ts_format(parsed("2026-03-05T06:30:00-0800"), buf), "2026-03-05T14:30:00Z",
	    "an offset is written as UTC");
	for (int i = 0; canon[i]; i++)
		is_str(ts_format(parsed(canon[i]), buf), canon[i], "round trip of %s", canon[i]);
	is_str(ts_format(parsed("2026-03-05T14:30:00.123456+00:00"), buf),
	    "2026-03-05T14:30:00.123456Z", "the earlier store's +00:00 comes back as Z");
}

static void
test_window(void)
{
	is_i64(window("30m"), 30 * 60 * TS_SECOND, "30m");
	is_i64(window("24h"), 24 * 3600 * TS_SECOND, "24h");
	is_i64(window("7d"), 7 * 86400 * TS_SECOND, "7d");
	is_i64(window("2w"), 14 * 86400 * TS_SECOND, "2w");
	is_i64(window("45s"), 45 * TS_SECOND, "45s");
	is_i64(window("0h"), 0, "0h is an empty window");
	ok(window("5x") == -1, "5x is refused");
	ok(window("") == -1, "an empty window is refused");
	ok(window("h") == -1, "a unit without a number is refused");
	ok(window("5") == -1, "a number without a unit is refused");
	ok(window("-5m") == -1, "a negative window is refused");
	ok(window("5mm") == -1, "5mm is refused");
	ok(window("5 m") == -1, "5 m is refused");
	ok(window(" 5m") == -1, "a leading space is refused");
	ok(window("99999999999999999999w") == -1, "a window that overflows is refused");
	ok(window(NULL) == -1, "NULL is refused");
}

static void
test_from_jv(void)
{
	int64_t us = -1;

	ok(ts_from_jv(jv_number(1772721000), &us) == 0 && us == T0 * TS_SECOND,
	    "epoch seconds");
	ok(ts_from_jv(jv_number(1772721000.25), &us) == 0 && us == T0 * TS_SECOND + 250000,
	    "epoch seconds with a fraction");
	ok(ts_from_jv(jv_number(1772721000123.0), &us) == 0 && us == T0 * TS_SECOND + 123000,
	    "epoch milliseconds, as GitHub sends");
	ok(ts_from_jv(jv_string("2026-03-05T16:30:00+02:00"), &us) == 0 && us == T0 * TS_SECOND,
	    "an ISO string");
	us = 5;
	ok(ts_from_jv(jv_string("yesterday"), &us) == -1 && us == 5, "a string that is no time");
	ok(ts_from_jv(jv_number(-1), &us) == -1, "a negative number");
	ok(ts_from_jv(jv_null(), &us) == -1, "null");
	ok(ts_from_jv(jv_invalid(), &us) == -1, "an absent value");
	ok(ts_from_jv(jv_true(), &us) == -1, "a boolean");
	ok(ts_from_jv(jv_array(), &us) == -1, "an array");
	us = 5;
	ok(ts_from_jv(jv_number(1e20), &us) == -1 && us == 5, "1e20 is past 9999, refused");
	ok(ts_from_jv(jv_number(-1e20), &us) == -1 && us == 5, "-1e20 is refused");
}

static void
test_from_epoch(void)
{
	int64_t us = 5;

	ok(ts_from_epoch(1772721000123.0, 1000, &us) == 0 && us == T0 * TS_SECOND + 123000,
	    "milliseconds");
	ok(ts_from_epoch(1772721000, 1, &us) == 0 && us == T0 * TS_SECOND, "seconds");
	ok(ts_from_epoch(0, 1000, &us) == 0 && us == 0, "the epoch");
	ok(ts_from_epoch(253402300799999.0, 1000, &us) == 0 && us > TS_MAX - TS_SECOND &&
	    us <= TS_MAX, "the last millisecond of 9999");
	us = 5;
	ok(ts_from_epoch(253402300800000.0, 1000, &us) == -1 && us == 5, "10000-01-01 is refused");
	ok(ts_from_epoch(1e20, 1000, &us) == -1 && us == 5, "1e20 milliseconds are refused");
	ok(ts_from_epoch(-1e20, 1000, &us) == -1 && us == 5, "-1e20 milliseconds are refused");
	ok(ts_from_epoch(-1, 1000, &us) == -1 && us == 5, "before 1970 is refused");
	ok(ts_from_epoch(0.0 / 0.0, 1000, &us) == -1 && us == 5, "NaN is refused");
	ok(ts_from_epoch(1.0 / 0.0, 1, &us) == -1 && us == 5, "infinity is refused");
}

static void
test_month(void)
{
	ok(ts_month(T0 * TS_SECOND) == 202603, "March 2026");
	ok(ts_month(parsed("2026-12-31T23:59:59.999999Z")) == 202612,
	    "the last microsecond of December");
	ok(ts_month(parsed("2027-01-01T00:00:00Z")) == 202701, "the first second of January");
	ok(ts_month(parsed("2026-04-01T01:00:00+02:00")) == 202603,
	    "the month is the month in UTC");
	ok(ts_month(0) == 197001, "the epoch");
	ok(ts_month(-1) == 196912, "a microsecond before the epoch");
}

static void
test_now(void)
{
	int64_t real = (int64_t)time(NULL) * TS_SECOND, now;

	unsetenv("MALLCOP_NOW");
	now = ts_now();
	ok(now >= real - 5 * TS_SECOND && now <= real + 5 * TS_SECOND, "the clock without MALLCOP_NOW");
	setenv("MALLCOP_NOW", "2026-03-05T16:30:00+02:00", 1);
	is_i64(ts_now(), T0 * TS_SECOND, "MALLCOP_NOW fixes the clock");
	setenv("MALLCOP_NOW", "2020-01-01T00:00:00.5Z", 1);
	is_i64(ts_now(), parsed("2020-01-01T00:00:00.5Z"), "MALLCOP_NOW with a fraction");
	setenv("MALLCOP_NOW", "", 1);
	now = ts_now();
	ok(now >= real - 5 * TS_SECOND && now <= real + 5 * TS_SECOND,
	    "an empty MALLCOP_NOW is the real clock");
	unsetenv("MALLCOP_NOW");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* TAP lines survive a sanitizer exit */
	test_parse();
	test_format();
	test_window();
	test_from_jv();
	test_from_epoch();
	test_month();
	test_now();
	return t_done();
}
