/* financial-anomaly: money sent to a recipient never paid before, or more than ever before */
#include <math.h>
#include <stdlib.h>

#include "detect.h"
#include "util.h"

#define NAME "financial-anomaly"

static const char *const money_types[] = {
	"transaction", "transfer", "payment", "withdrawal", NULL
};

typedef struct state {
	double max_ratio;	/* an amount above the largest seen times this is reported */
} state;

static void *
start(det_ctx *c, jv conf, char **err)
{
	double ratio = 1;
	const det_setting table[] = {
		{"max_ratio", &ratio, 1e-9, 1e6, 0, "a number above 0, like 1.5"},
		{NULL, NULL, 0, 0, 0, NULL},
	};

	(void)c;
	if ((*err = det_settings(NAME, conf, table)))
		return NULL;
	state *s = xmalloc(sizeof *s);
	s->max_ratio = ratio;
	return s;
}

/* the source has paid anyone before: a first payment is what it learns from, not news */
static int
has_paid(const baseline *b, const char *source)
{
	char *k = xasprintf("amount_max:%s", source);
	int paid = baseline_max(b, k) >= 0;

	free(k);
	for (int i = 0; !paid && money_types[i]; i++) {
		k = xasprintf("%s:%s", source, money_types[i]);
		paid = baseline_freq(b, k) > 0;
		free(k);
	}
	return paid;
}

static void
amount_check(det_ctx *c, const state *s, const det_event *e)
{
	const char *a = det_meta_str(e, "amount");
	char *end, *key;
	double amount = strtod(a, &end);

	if (!*a || *end || !isfinite(amount))
		return;
	key = xasprintf("amount_max:%s", e->source);
	double max = baseline_max(det_baseline(c), key);
	free(key);
	if (max < 0 || amount <= max * s->max_ratio)
		return;
	char *fp = xasprintf("amount:%s", e->id);
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("type"), jv_string("amount_above_max"));
	meta = jv_object_set(meta, jv_string("amount"), jv_number(amount));
	meta = jv_object_set(meta, jv_string("threshold"), jv_number(max * s->max_ratio));
	meta = jv_object_set(meta, jv_string("historical_max"), jv_number(max));
	meta = jv_object_set(meta, jv_string("recipient"), jv_string(e->target));
	meta = jv_object_set(meta, jv_string("source"), jv_string(e->source));
	det_event_finding(c, e, NAME, "warn", fp, meta,
	    "Amount above historical max: %.15g exceeds %.15g on %s", amount, max * s->max_ratio,
	    e->source);
	free(fp);
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	const state *s = st;
	const baseline *b = det_baseline(c);
	int i;

	for (i = 0; money_types[i] && !streq(money_types[i], e->type); i++)
		;
	if (!money_types[i])
		return;
	amount_check(c, s, e);
	if (!*e->target || baseline_known(b, "recipients", e->target) || !has_paid(b, e->source))
		return;
	char *fp = xasprintf("recipient:%s", e->target);
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("type"), jv_string("new_recipient"));
	meta = jv_object_set(meta, jv_string("recipient"), jv_string(e->target));
	meta = jv_object_set(meta, jv_string("source"), jv_string(e->source));
	meta = jv_object_set(meta, jv_string("actor"), jv_string(e->actor));
	det_event_finding(c, e, NAME, "warn", fp, meta, "New recipient: %s on %s", e->target,
	    e->source);
	free(fp);
}

static void
stop(void *st)
{
	free(st);
}

const det_ops det_financial_anomaly = {
	.name = NAME,
	.what = "a payment or transfer to a recipient never paid before, or above the largest "
	    "amount seen",
	.start = start,
	.event = event,
	.stop = stop,
};
