/* priv-escalation: a grant of an elevated role that its actor has not been seen handing out */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "util.h"

static const char *const grant_types[] = {
	"role_assignment", "collaborator_added", "permission_change", "admin_action",
	"member_added", "iam_change", NULL
};
static const char *const default_words[] = {
	"admin", "owner", "write", "contributor", "maintain", "root", NULL
};

typedef struct state {
	jv words;	/* lower-case words that make a role elevated: the defaults, then roles: */
} state;

static int
in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (streq(*list, s))
			return 1;
	return 0;
}

/* word (lower case) occurs in s, ignoring case */
static int
icontains(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s; s++) {
		size_t i = 0;
		while (i < n && tolower((unsigned char)s[i]) == word[i])
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

static int
elevated(const state *s, const det_event *e, const char *role)
{
	if (streq(e->type, "admin_action") || streq(role, "*"))
		return 1;
	jv words = s->words;
	jv_array_foreach(words, i, w) {
		int hit = icontains(role, jv_string_value(w));
		jv_free(w);
		if (hit)
			return 1;
	}
	return 0;
}

/* the granted role, as the baseline keys actor_roles: the first one the event names */
static const char *
role_of(const det_event *e)
{
	static const char *const keys[] = {"role_name", "permission_level", "role", NULL};

	for (const char *const *k = keys; *k; k++) {
		const char *r = det_meta_str(e, *k);
		if (*r)
			return r;
	}
	return e->type;
}

static void *
start(det_ctx *c, jv conf, char **err)
{
	(void)c;
	jv words = jv_array();
	for (const char *const *w = default_words; *w; w++)
		words = jv_array_append(words, jv_string(*w));
	jv_object_foreach(conf, k, v) {
		const char *key = jv_string_value(k);
		int ok = 1;
		if (!streq(key, "roles"))
			*err = xasprintf("detectors.priv-escalation.%s: unknown setting (known: "
			    "roles)", key);
		else if (!(*err = det_string_list("priv-escalation", "roles", v,
		    "a list of role words", "a role word")))
			jv_array_foreach(v, i, w) {
				char *low = xstrdup(jv_string_value(w));

				(void)i;
				for (char *p = low; *p; p++)
					*p = tolower((unsigned char)*p);
				words = jv_array_append(words, jv_string(low));
				free(low);
				jv_free(w);
			}
		ok = *err == NULL;
		jv_free(k);
		jv_free(v);
		if (!ok)
			goto fail;
	}
	jv_free(conf);
	state *s = xmalloc(sizeof *s);
	s->words = words;
	return s;
fail:
	jv_free(conf);
	jv_free(words);
	return NULL;
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	state *s = st;

	if (!in_list(grant_types, e->type))
		return;
	const char *role = role_of(e);
	if (!elevated(s, e, role) || baseline_role_known(det_baseline(c), e->actor, role))
		return;
	char *fp = xasprintf("%s:%s:%s", e->actor, role, e->target);
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("actor"), jv_string(e->actor));
	meta = jv_object_set(meta, jv_string("role"), jv_string(role));
	meta = jv_object_set(meta, jv_string("target"), jv_string(e->target));
	meta = jv_object_set(meta, jv_string("source"), jv_string(e->source));
	meta = jv_object_set(meta, jv_string("event_type"), jv_string(e->type));
	meta = jv_object_set(meta, jv_string("action"), jv_string(e->action));
	det_event_finding(c, e, "priv-escalation", "critical", fp, meta,
	    "Privilege escalation: %s granted %s%s%s (%s %s)", e->actor, role,
	    *e->target ? " on " : "", e->target, e->source, e->type);
	free(fp);
}

static void
stop(void *st)
{
	state *s = st;

	jv_free(s->words);
	free(s);
}

const det_ops det_priv_escalation = {
	.name = "priv-escalation",
	.what = "a grant of an admin, owner, write or other elevated role new for its actor",
	.start = start,
	.event = event,
	.stop = stop,
};
