/* unusual-timing: an established actor active in a time slot it has never used, nor the ones beside */
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "util.h"

static const char *const weekdays[] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
};

typedef struct state {
	double min_history;	/* events of the actor (any source) before it is judged */
} state;

static void *
start(det_ctx *c, jv conf, char **err)
{
	double min_history = 20;
	const det_setting table[] = {
		{"min_history", &min_history, 1, 1e9, 1, NULL},
		{NULL, NULL, 0, 0, 0, NULL},
	};

	(void)c;
	if ((*err = det_settings("unusual-timing", conf, table)))
		return NULL;
	state *s = xmalloc(sizeof *s);
	s->min_history = min_history;
	return s;
}

/* the count of the time slot at hour bucket of the key's weekday (prefix: the key before it) */
static double
slot(const baseline *b, const char *prefix, int plen, int weekday, int bucket)
{
	if (bucket < 0 || bucket >= 24)
		return 0;
	char *key = xasprintf("%.*s:%d:%d", plen, prefix, weekday, bucket);
	double n = baseline_freq(b, key);
	free(key);
	return n;
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	const state *s = st;
	const baseline *b = det_baseline(c);

	/* the actor's profile over every source and type: "*:*:ACTOR" */
	char *agg = xasprintf("*:*:%s", e->actor);
	double history = baseline_freq(b, agg);
	free(agg);
	/*
	 * Too little history to have a pattern (an empty baseline has none at all): a new actor
	 * is new-actor's to report.
	 */
	if (history < s->min_history)
		return;

	/* the key ends ":WEEKDAY:BUCKET"; the actor before it may hold colons of its own */
	char *key = baseline_time_key("*", "*", e->actor, e->us);
	char *pb = strrchr(key, ':');
	char *pw = pb ? pb : key;
	while (pw > key && pw[-1] != ':')
		pw--;
	int weekday = atoi(pw), bucket = pb ? atoi(pb + 1) : 0, plen = (int)(pw - key) - 1;
	if (pw == key || weekday < 0 || weekday > 6 ||
	    slot(b, key, plen, weekday, bucket) > 0 ||
	    slot(b, key, plen, weekday, bucket - BASELINE_HOUR_BUCKET) > 0 ||
	    slot(b, key, plen, weekday, bucket + BASELINE_HOUR_BUCKET) > 0) {
		free(key);
		return;
	}
	free(key);

	char *fp = xasprintf("%s:%d:%d", e->actor, weekday, bucket);
	char *hours = xasprintf("%02d:00-%02d:00", bucket, bucket + BASELINE_HOUR_BUCKET);
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("actor"), jv_string(e->actor));
	meta = jv_object_set(meta, jv_string("source"), jv_string(e->source));
	meta = jv_object_set(meta, jv_string("event_type"), jv_string(e->type));
	meta = jv_object_set(meta, jv_string("weekday"), jv_string(weekdays[weekday]));
	meta = jv_object_set(meta, jv_string("hours_utc"), jv_string(hours));
	meta = jv_object_set(meta, jv_string("history_count"), jv_number(history));
	det_event_finding(c, e, "unusual-timing", "warn", fp, meta,
	    "Unusual timing: %s active %s %s UTC (%s %s%s%s), outside its usual hours", e->actor,
	    weekdays[weekday], hours, e->source, e->type, *e->target ? " on " : "", e->target);
	free(hours);
	free(fp);
}

static void
stop(void *st)
{
	free(st);
}

const det_ops det_unusual_timing = {
	.name = "unusual-timing",
	.what = "an established actor active at an hour and weekday it never uses",
	.start = start,
	.event = event,
	.stop = stop,
};
