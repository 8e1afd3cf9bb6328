/* unusual-resource-access: an established actor touching a target it has never touched */
#include <stdlib.h>

#include "detect.h"
#include "util.h"

typedef struct state {
	double min_events;	/* the actor's relationship count before its targets are a pattern */
	/*
	 * {actor: [events, targets]} as the baseline holds them, kept up to date as events go by:
	 * baseline_actor_targets() scans every relationship, once per actor is all it can afford
	 */
	jv actors;
} state;

static void *
start(det_ctx *c, jv conf, char **err)
{
	(void)c;
	double min_events = 5;
	char *msg = NULL;

	jv_object_foreach(conf, k, v) {
		const char *key = jv_string_value(k);
		if (streq(key, "min_events")) {
			double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;
			if (d < 1 || d > 1e9 || d != (long long)d)
				msg = xasprintf("detectors.unusual-resource-access.min_events: "
				    "expected a whole number of at least 1");
			min_events = d;
		} else
			msg = xasprintf("detectors.unusual-resource-access.%s: unknown setting "
			    "(known: min_events)", key);
		jv_free(k);
		jv_free(v);
		if (msg)
			break;
	}
	jv_free(conf);
	if (msg) {
		*err = msg;
		return NULL;
	}
	state *s = xmalloc(sizeof *s);
	s->min_events = min_events;
	s->actors = jv_object();
	return s;
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	state *s = st;
	const baseline *b = det_baseline(c);

	if (!*e->actor || !*e->target)
		return;	/* the baseline keeps no relationship for it either */
	int known = baseline_relation(b, e->actor, e->target) > 0;
	jv had = jv_object_get(jv_copy(s->actors), jv_string(e->actor));
	double total;
	int ntargets;
	if (jv_get_kind(had) == JV_KIND_ARRAY) {
		jv t = jv_array_get(jv_copy(had), 0), n = jv_array_get(jv_copy(had), 1);
		total = jv_number_value(t);
		ntargets = (int)jv_number_value(n);
		jv_free(t);
		jv_free(n);
	} else
		total = baseline_actor_targets(b, e->actor, &ntargets);
	jv_free(had);
	/* what baseline_learn is about to add */
	s->actors = jv_object_set(s->actors, jv_string(e->actor),
	    JV_ARRAY(jv_number(total + 1), jv_number(ntargets + !known)));
	if (known || ntargets < 1 || total < s->min_events)
		return;

	char *fp = xasprintf("%s->%s", e->actor, e->target);
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("actor"), jv_string(e->actor));
	meta = jv_object_set(meta, jv_string("target"), jv_string(e->target));
	meta = jv_object_set(meta, jv_string("source"), jv_string(e->source));
	meta = jv_object_set(meta, jv_string("event_type"), jv_string(e->type));
	meta = jv_object_set(meta, jv_string("known_targets_count"), jv_number(ntargets));
	meta = jv_object_set(meta, jv_string("actor_event_count"), jv_number(total));
	det_event_finding(c, e, "unusual-resource-access", "warn", fp, meta,
	    "Unusual resource access: %s -> %s (%s %s), new among its %d known targets",
	    e->actor, e->target, e->source, e->type, ntargets);
	free(fp);
}

static void
stop(void *st)
{
	state *s = st;

	jv_free(s->actors);
	free(s);
}

const det_ops det_unusual_resource_access = {
	.name = "unusual-resource-access",
	.what = "an established actor touching a resource it has never touched",
	.start = start,
	.event = event,
	.stop = stop,
};
