/* ts: ISO 8601 timestamps (microseconds since the epoch, always written in UTC) and windows */
#ifndef MALLCOP_TS_H
#define MALLCOP_TS_H
#include <stdint.h>
#include <jv.h>

#define TS_BUFSZ 40
#define TS_SECOND INT64_C(1000000)
/* the last microsecond of 9999-12-31: later times (and times before 1970) are refused */
#define TS_MAX (INT64_C(253402300800) * TS_SECOND - 1)

/*
 * "2026-03-05T14:30:00Z", "+02:00"/"+0200" offsets, a fraction, or no zone (taken as UTC).
 * Every parser of times refuses (-1) a time outside 1970-01-01 .. 9999-12-31 (UTC).
 */
int ts_parse(const char *s, int64_t *us);
/* a string as above, or a number of epoch seconds (milliseconds when it is that large) */
int ts_from_jv(jv v, int64_t *us);
/*
 * n epoch units (per_second of them in a second: 1 for seconds, 1000 for milliseconds) into
 * microseconds; -1 for NaN, infinities and times outside 1970..9999. Connectors convert the
 * numeric times of an API with it, never with a cast.
 */
int ts_from_epoch(double n, double per_second, int64_t *us);
/* "2026-03-05T14:30:00Z", with ".ffffff" only when there is a fraction */
char *ts_format(int64_t us, char buf[TS_BUFSZ]);
/* "30m", "24h", "7d", "2w", "45s" into microseconds */
int ts_window(const char *s, int64_t *us);
/* the clock; MALLCOP_NOW (an ISO time) fixes it, for tests and replaying a deployment */
int64_t ts_now(void);
/* year*100+month of a time, for the monthly event files */
int ts_month(int64_t us);
#endif
