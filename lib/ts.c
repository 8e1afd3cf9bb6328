#define _DEFAULT_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ts.h"

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
lit(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

int
ts_parse(const char *s, int64_t *us)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	int64_t frac = 0;
	const char *p = s;
	time_t t;

	if (!s || digits(&p, 4, &y) || lit(&p, '-') || digits(&p, 2, &mo) ||
	    lit(&p, '-') || digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || lit(&p, ':') || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
			if (*p == '.' || *p == ',') {
				int n = 0;

				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				for (; isdigit((unsigned char)*p); p++, n++)
					if (n < 6)
						frac = frac * 10 + (*p - '0');
				for (; n < 6; n++)
					frac *= 10;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if (digits(&p, 2, &oh))
				return -1;
			if (*p == ':' && (p++, digits(&p, 2, &om)))
				return -1;
			else if (*p && digits(&p, 2, &om))
				return -1;
		}
	}
	if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || oh > 23 || om > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (tm.tm_mday != d)	/* 2026-02-30 */
		return -1;
	t -= sign * (oh * 3600 + om * 60);
	/* an offset can still carry 1970-01-01 back or 9999-12-31 forward out of the range */
	if (t < 0 || (int64_t)t > TS_MAX / TS_SECOND)
		return -1;
	*us = (int64_t)t * TS_SECOND + frac;
	return 0;
}

int
ts_from_epoch(double n, double per_second, int64_t *us)
{
	/* exact for whole milliseconds: a product, not a quotient */
	double x = n * (1e6 / per_second);

	/* NaN fails both comparisons; the bound is exact as a double */
	if (!(x >= 0 && x < (double)(TS_MAX / TS_SECOND + 1) * 1e6))
		return -1;
	*us = (int64_t)x;
	return 0;
}

int
ts_from_jv(jv v, int64_t *us)
{
	int r = -1;

	if (jv_get_kind(v) == JV_KIND_STRING) {
		r = ts_parse(jv_string_value(v), us);
	} else if (jv_get_kind(v) == JV_KIND_NUMBER) {
		double n = jv_number_value(v);

		/* epoch milliseconds, as GitHub and Vercel send, when it is that large */
		r = ts_from_epoch(n, n > 1e11 ? 1000 : 1, us);
	}
	jv_free(v);
	return r;
}

char *
ts_format(int64_t us, char buf[TS_BUFSZ])
{
	time_t t = (time_t)(us / TS_SECOND);
	int64_t frac = us % TS_SECOND;
	struct tm tm;
	size_t n;

	if (frac < 0) {
		frac += TS_SECOND;
		t--;
	}
	gmtime_r(&t, &tm);
	n = strftime(buf, TS_BUFSZ, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac)
		snprintf(buf + n, TS_BUFSZ - n, ".%06ldZ", (long)frac);
	else
		snprintf(buf + n, TS_BUFSZ - n, "Z");
	return buf;
}

int
ts_window(const char *s, int64_t *us)
{
	char *end;
	long long n;
	int64_t unit;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	n = strtoll(s, &end, 10);
	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	if (end[1] || n > 100LL * 365 * 86400 / unit)
		return -1;
	*us = (int64_t)n * unit * TS_SECOND;
	return 0;
}

int64_t
ts_now(void)
{
	const char *fixed = getenv("MALLCOP_NOW");
	struct timespec tv;
	int64_t us;

	if (fixed && *fixed && ts_parse(fixed, &us) == 0)
		return us;
	clock_gettime(CLOCK_REALTIME, &tv);
	return (int64_t)tv.tv_sec * TS_SECOND + tv.tv_nsec / 1000;
}

int
ts_month(int64_t us)
{
	time_t t = (time_t)(us / TS_SECOND - (us % TS_SECOND < 0));
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
}
