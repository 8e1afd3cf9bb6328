/* new-actor: an actor the baseline has never seen, and a principal created that it has never seen */
#include <stdlib.h>

#include "detect.h"
#include "util.h"

static const char *const create_types[] = {
	"user_created", "service_principal_created", "member_added", "user_provisioned", NULL
};

static int
in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (streq(*list, s))
			return 1;
	return 0;
}

static void *
start(det_ctx *c, jv conf, char **err)
{
	static const det_setting none[] = {{NULL, NULL, 0, 0, 0, NULL}};

	(void)c;
	*err = det_settings("new-actor", conf, none);
	return NULL;	/* no state: *err says whether it started */
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	(void)st;
	const baseline *b = det_baseline(c);

	if (*e->actor && !baseline_known(b, "actors", e->actor)) {
		jv meta = jv_object();
		meta = jv_object_set(meta, jv_string("actor"), jv_string(e->actor));
		meta = jv_object_set(meta, jv_string("source"), jv_string(e->source));
		meta = jv_object_set(meta, jv_string("event_type"), jv_string(e->type));
		det_event_finding(c, e, "new-actor", "warn", e->actor, meta,
		    "New actor: %s on %s (%s)", e->actor, e->source, e->type);
	}
	/* the one created, not its creator: it has not acted yet, so it is not among the actors */
	if (in_list(create_types, e->type) && *e->target &&
	    !baseline_known(b, "actors", e->target)) {
		char *fp = xasprintf("principal:%s", e->target);
		jv meta = jv_object();
		meta = jv_object_set(meta, jv_string("principal"), jv_string(e->target));
		meta = jv_object_set(meta, jv_string("actor"), jv_string(e->actor));
		meta = jv_object_set(meta, jv_string("source"), jv_string(e->source));
		meta = jv_object_set(meta, jv_string("event_type"), jv_string(e->type));
		det_event_finding(c, e, "new-actor", "warn", fp, meta,
		    "New principal: %s created by %s on %s (%s)", e->target, e->actor, e->source,
		    e->type);
		free(fp);
	}
}

const det_ops det_new_actor = {
	.name = "new-actor",
	.what = "an actor never seen before, or a new user or service principal created",
	.start = start,
	.event = event,
};
