/* unusual-resource-access: an established actor touching a target it has never touched */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "util.h"

typedef struct state {
	double min_events;	/* the actor's relationship count before its targets are a pattern */
	jv actors;	/* {actor: {resource class: true}}, remembered across runs */
} state;

static void *
start(det_ctx *c, jv conf, char **err)
{
	double min_events = 5;
	const det_setting table[] = {
		{"min_events", &min_events, 1, 1e9, 1, NULL},
		{NULL, NULL, 0, 0, 0, NULL},
	};

	if ((*err = det_settings("unusual-resource-access", conf, table)))
		return NULL;
	state *s = xmalloc(sizeof *s);
	s->min_events = min_events;
	s->actors = det_memory(c, "unusual-resource-access");
	if (jv_get_kind(s->actors) != JV_KIND_OBJECT) {
		jv_free(s->actors);
		s->actors = jv_object();
	}
	return s;
}

/*
 * The kind of thing a target is, without the part that changes every day: a bucket rather than
 * its objects, a SharePoint site rather than its files, an Azure resource type rather than one
 * deployment, a snapshot series rather than tonight's snapshot.
 */
static char *
resource_class(const char *t)
{
	char *c, *p, *out, *o;
	int keep;

	if (strstr(t, "://")) {			/* scheme://host/a/b */
		const char *q = strstr(t, "://") + 3;

		for (keep = 0; *q && keep < 3; q++)
			keep += *q == '/';
		c = strndup(t, (size_t)(q - t) - (keep == 3));
	} else if (!strncmp(t, "arn:", 4)) {	/* arn:aws:s3:::bucket/key */
		c = strndup(t, strcspn(t, "/"));
	} else if (*t == '/') {			/* /subscriptions/.../TYPE/NAME: drop NAME */
		c = xstrdup(t);
		if ((p = strrchr(c, '/')) && p != c && strchr(c + 1, '/') != p)
			*p = 0;
	} else {
		c = xstrdup(t);
	}
	if (!c)
		die(EXIT_WORK, "out of memory");
	/* runs of digits and hex with a digit in them (dates, ids, hashes) are all alike */
	out = o = xmalloc(strlen(c) + 1);
	for (p = c; *p;) {
		size_t n = strspn(p, "0123456789abcdefABCDEF-_");
		size_t d = strcspn(p, "0123456789");

		if (n >= 4 && d < n) {
			*o++ = '#';
			p += n;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
	free(c);
	return out;
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	state *s = st;
	const baseline *b = det_baseline(c);
	jv mine;
	int ntargets, nclasses, known;
	double total;
	char *cls;

	if (!*e->actor || !*e->target)
		return;
	cls = resource_class(e->target);
	mine = jv_object_get(jv_copy(s->actors), jv_string(e->actor));
	if (jv_get_kind(mine) != JV_KIND_OBJECT) {
		/* first met here: what the baseline's relationships say it has touched */
		jv targets = baseline_targets(b, e->actor);

		jv_free(mine);
		mine = jv_object();
		jv_object_foreach(targets, k, v) {
			char *tc = resource_class(jv_string_value(k));

			mine = jv_object_set(mine, jv_string(tc), jv_true());
			free(tc);
			jv_free(k);
			jv_free(v);
		}
		jv_free(targets);
		s->actors = jv_object_set(s->actors, jv_string(e->actor), jv_copy(mine));
	}
	nclasses = jv_object_length(jv_copy(mine));
	known = jv_object_has(jv_copy(mine), jv_string(cls));
	if (!known)
		s->actors = jv_object_set(s->actors, jv_string(e->actor),
		    jv_object_set(jv_copy(mine), jv_string(cls), jv_true()));
	jv_free(mine);
	total = baseline_actor_targets(b, e->actor, &ntargets);
	/* an actor with too little history, or none of its kinds of things yet, is learning */
	if (known || nclasses < 1 || total < s->min_events ||
	    baseline_relation(b, e->actor, e->target) > 0) {
		free(cls);
		return;
	}
	char *fp = xasprintf("%s->%s", e->actor, cls);
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("actor"), jv_string(e->actor));
	meta = jv_object_set(meta, jv_string("target"), jv_string(e->target));
	meta = jv_object_set(meta, jv_string("resource_class"), jv_string(cls));
	meta = jv_object_set(meta, jv_string("source"), jv_string(e->source));
	meta = jv_object_set(meta, jv_string("event_type"), jv_string(e->type));
	meta = jv_object_set(meta, jv_string("known_classes_count"), jv_number(nclasses));
	meta = jv_object_set(meta, jv_string("actor_event_count"), jv_number(total));
	det_event_finding(c, e, "unusual-resource-access", "warn", fp, meta,
	    "Unusual resource access: %s -> %s (%s %s), a kind of resource it never touched "
	    "(%d known)", e->actor, e->target, e->source, e->type, nclasses);
	free(fp);
	free(cls);
}

static void
finish(det_ctx *c, void *st)
{
	state *s = st;

	if (!det_in_retrospective(c))
		det_remember(c, "unusual-resource-access", jv_copy(s->actors));
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
	.finish = finish,
	.stop = stop,
};
