/* new-external-access: access granted to someone outside the organisation */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "util.h"

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
admin_like(const char *level)
{
	return icontains(level, "admin") || icontains(level, "owner") || streq(level, "*");
}

static int
external(const det_event *e)
{
	if (streq(e->source, "github"))
		/* an outside collaborator; a missing member_type is one */
		return streq(e->type, "collaborator_added") &&
		    !streq(det_meta_str(e, "member_type"), "member");
	if (!streq(e->source, "m365"))
		return 0;
	if (streq(e->type, "guest_invited") || streq(e->type, "oauth_consent"))
		return 1;
	if (streq(e->type, "sharing_change") || streq(e->type, "sharepoint_sharing"))
		/* a company-wide link is shared inside the organisation */
		return !streq(det_meta_str(e, "sharing_type"), "internal") &&
		    !streq(e->action, "CompanyLinkCreated");
	return 0;
}

static void *
start(det_ctx *c, jv conf, char **err)
{
	static const det_setting none[] = {{NULL, NULL, 0, 0, 0, NULL}};

	(void)c;
	*err = det_settings("new-external-access", conf, none);
	return NULL;	/* no state: *err says whether it started */
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	(void)st;
	if (!external(e))
		return;
	const char *level = det_meta_str(e, "permission_level");
	if (!*level)
		level = det_meta_str(e, "role_name");
	const char *grantee = det_meta_str(e, "grantee");
	if (!*grantee)
		grantee = e->actor;
	char *fp = xasprintf("%s:%s:%s", e->type, e->target, grantee);
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("source"), jv_string(e->source));
	meta = jv_object_set(meta, jv_string("event_type"), jv_string(e->type));
	meta = jv_object_set(meta, jv_string("actor"), jv_string(e->actor));
	meta = jv_object_set(meta, jv_string("target"), jv_string(e->target));
	if (*level)
		meta = jv_object_set(meta, jv_string("access"), jv_string(level));
	det_event_finding(c, e, "new-external-access", admin_like(level) ? "critical" : "warn",
	    fp, meta, "External access granted: %s on %s by %s%s%s%s%s", e->type, e->source,
	    e->actor, *e->target ? " to " : "", e->target, *level ? ", access " : "", level);
	free(fp);
}

const det_ops det_new_external_access = {
	.name = "new-external-access",
	.what = "an outside collaborator, guest, app consent or external share granted",
	.start = start,
	.event = event,
};
