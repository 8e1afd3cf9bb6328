/* ts: ISO 8601 timestamps (microseconds since the epoch, always written in UTC) and windows */
#ifndef MALLCOP_TS_H
#define MALLCOP_TS_H
#include <stdint.h>
#include <jv.h>

#define TS_BUFSZ 40
#define TS_SECOND INT64_C(1000000)

/* "2026-03-05T14:30:00Z", "+02:00"/"+0200" offsets, a fraction, or no zone (taken as UTC) */
int ts_parse(const char *s, int64_t *us);
/* a string as above, or a number of epoch seconds (milliseconds when it is that large) */
int ts_from_jv(jv v, int64_t *us);
/* "2026-03-05T14:30:00Z", with ".ffffff" only when there is a fraction */
char *ts_format(int64_t us, char buf[TS_BUFSZ]);
/* "30m", "24h", "7d", "2w", "45s" into microseconds */
int ts_window(const char *s, int64_t *us);
/* the clock; MALLCOP_NOW (an ISO time) fixes it, for tests and replaying a deployment */
int64_t ts_now(void);
/* year*100+month of a time, for the monthly event files */
int ts_month(int64_t us);
#endif
