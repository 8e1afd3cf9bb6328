/* log-format-drift: an app's container-log parser that no longer recognizes its log lines */
#include <math.h>
#include <stdlib.h>

#include "detect.h"
#include "util.h"

typedef struct state {
	double threshold;	/* unmatched share of lines above which the parser is stale */
} state;

static void *
start(det_ctx *c, jv conf, char **err)
{
	double threshold = 0.3;
	const det_setting table[] = {
		{"threshold", &threshold, 0, 0.999999, 0,
		    "a share of lines from 0 up to (not including) 1, like 0.3"},
		{NULL, NULL, 0, 0, 0, NULL},
	};

	(void)c;
	if ((*err = det_settings("log-format-drift", conf, table)))
		return NULL;
	state *s = xmalloc(sizeof *s);
	s->threshold = threshold;
	return s;
}

/* a metadata number, also when written as a string: NAN when absent or not a number */
static double
meta_num(const det_event *e, const char *key)
{
	const char *s = det_meta_str(e, key);
	char *end;
	double d = strtod(s, &end);

	return *s && !*end && isfinite(d) ? d : NAN;
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	const state *s = st;

	if (!streq(e->type, "parser_summary") && !streq(e->type, "log_format_drift"))
		return;
	double ratio = meta_num(e, "unmatched_ratio");
	if (isnan(ratio))
		ratio = meta_num(e, "unmatched_percent") / 100;
	if (isnan(ratio) || ratio <= s->threshold)
		return;

	const char *app = det_meta_str(e, "app_name");
	if (!*app)
		app = det_meta_str(e, "app");
	if (!*app)
		app = *e->target ? e->target : "unknown";
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("app_name"), jv_string(app));
	meta = jv_object_set(meta, jv_string("unmatched_ratio"), jv_number(ratio));
	meta = jv_object_set(meta, jv_string("threshold"), jv_number(s->threshold));
	/* a share just over the threshold is not rounded up to look worse, nor 99.9% to 100% */
	det_event_finding(c, e, "log-format-drift", "info", app, meta,
	    "%s parser is stale, %d%% of lines unrecognized. Run `mallcop discover-app %s "
	    "--refresh` to regenerate.", app, (int)(fmin(ratio, 1) * 100), app);
}

static void
stop(void *st)
{
	free(st);
}

const det_ops det_log_format_drift = {
	.name = "log-format-drift",
	.what = "an app's log parser that no longer recognizes a large share of its log lines",
	.start = start,
	.event = event,
	.stop = stop,
};
