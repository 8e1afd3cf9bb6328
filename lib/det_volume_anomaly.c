/* volume-anomaly: a day with far more events of one source and type than its days usually hold */
#include <stdlib.h>

#include "detect.h"
#include "ts.h"
#include "util.h"

typedef struct state {
	double ratio;		/* today above ratio x the daily mean fires */
	double min_baseline;	/* below this daily mean there is no pattern to break */
	jv raised;		/* fingerprints raised in this pass: {fp: true} */
} state;

static void *
start(det_ctx *c, jv conf, char **err)
{
	double ratio = 3.0, min_baseline = 5;
	const det_setting table[] = {
		{"ratio", &ratio, 1, 1e12, 0, NULL},
		{"min_baseline", &min_baseline, 1, 1e12, 0, NULL},
		{NULL, NULL, 0, 0, 0, NULL},
	};

	(void)c;
	if ((*err = det_settings("volume-anomaly", conf, table)))
		return NULL;
	state *s = xmalloc(sizeof *s);
	s->ratio = ratio;
	s->min_baseline = min_baseline;
	s->raised = jv_object();
	return s;
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	state *s = st;
	const baseline *b = det_baseline(c);
	char day[TS_BUFSZ];

	ts_format(e->us, day);
	day[10] = 0;
	char *fp = xasprintf("%s:%s:%s", e->source, e->type, day);
	if (jv_object_has(jv_copy(s->raised), jv_string(fp))) {
		free(fp);
		return;
	}
	char *key = xasprintf("%s:%s", e->source, e->type);
	double before = baseline_day(b, key, e->us);
	double today = before + 1;
	/*
	 * Only a day that already holds this key can reach ratio x mean (both are at least 1), and
	 * then the window's days include it: the others are one fewer.
	 */
	int others = baseline_days(b) - 1;
	double mean = (baseline_freq(b, key) - before) / (others > 1 ? others : 1);
	free(key);
	if (mean < s->min_baseline || today <= s->ratio * mean) {
		free(fp);
		return;
	}
	s->raised = jv_object_set(s->raised, jv_string(fp), jv_true());

	double ratio = (double)(long long)(today / mean * 10 + 0.5) / 10;
	double shown = (double)(long long)(mean * 10 + 0.5) / 10;
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("source"), jv_string(e->source));
	meta = jv_object_set(meta, jv_string("event_type"), jv_string(e->type));
	meta = jv_object_set(meta, jv_string("day"), jv_string(day));
	meta = jv_object_set(meta, jv_string("current_count"), jv_number(today));
	meta = jv_object_set(meta, jv_string("baseline_mean"), jv_number(shown));
	meta = jv_object_set(meta, jv_string("baseline_days"), jv_number(others));
	meta = jv_object_set(meta, jv_string("ratio"), jv_number(ratio));
	meta = jv_object_set(meta, jv_string("threshold"), jv_number(s->ratio));
	det_event_finding(c, e, "volume-anomaly", "warn", fp, meta,
	    "Volume anomaly: %.0f %s %s events on %s against a daily mean of %.1f (%.1fx)",
	    today, e->source, e->type, day, shown, ratio);
	free(fp);
}

static void
stop(void *st)
{
	state *s = st;

	jv_free(s->raised);
	free(s);
}

const det_ops det_volume_anomaly = {
	.name = "volume-anomaly",
	.what = "a day with several times the usual number of events of one source and type",
	.start = start,
	.event = event,
	.stop = stop,
};
