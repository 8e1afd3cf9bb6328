/* openclaw-config-drift: an OpenClaw configuration change that opens the agent gateway up */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "util.h"

#define NAME "openclaw-config-drift"

/* the value at a dotted path inside v (consumed); invalid on any step that is not an object */
static jv
at(jv v, const char *path)
{
	char *p = xstrdup(path), *save = NULL;

	for (char *k = strtok_r(p, ".", &save); k && jv_is_valid(v);
	    k = strtok_r(NULL, ".", &save))
		if (jv_get_kind(v) == JV_KIND_OBJECT)
			v = jv_object_get(v, jv_string(k));
		else {
			jv_free(v);
			v = jv_invalid();
		}
	free(p);
	return v;
}

/* what a person means by "set": true, a number but 0, a non-empty string, list or mapping */
static int
truthy(jv v)
{
	int r;

	switch (jv_get_kind(v)) {
	case JV_KIND_TRUE:
		r = 1;
		break;
	case JV_KIND_NUMBER:
		r = jv_number_value(v) != 0;
		break;
	case JV_KIND_STRING:
		r = *jv_string_value(v) && !streq(jv_string_value(v), "false") &&
		    !streq(jv_string_value(v), "0");
		break;
	case JV_KIND_ARRAY:
		r = jv_array_length(jv_copy(v)) > 0;
		break;
	case JV_KIND_OBJECT:
		r = jv_object_length(jv_copy(v)) > 0;
		break;
	default:
		r = 0;
	}
	jv_free(v);
	return r;
}

static void
raise_rule(det_ctx *c, const det_event *e, const char *sev, const char *rule,
    const char *description, const char *what)
{
	jv meta = jv_object();

	meta = jv_object_set(meta, jv_string("rule"), jv_string(rule));
	meta = jv_object_set(meta, jv_string("description"), jv_string(description));
	meta = jv_object_set(meta, jv_string("path"), jv_string(e->target));
	det_event_finding(c, e, NAME, sev, rule, meta, NAME " [%s]: %s", rule, what);
}

static void
config_changed(det_ctx *c, const det_event *e)
{
	jv conf = jv_object_get(jv_copy(e->meta), jv_string("config"));

	if (jv_get_kind(conf) != JV_KIND_OBJECT) {
		jv_free(conf);
		conf = jv_object();
	}
	jv enabled = at(jv_copy(conf), "gateway.auth.enabled");
	jv mode = at(jv_copy(conf), "gateway.auth.mode");
	if (jv_get_kind(enabled) == JV_KIND_FALSE ||
	    (jv_get_kind(mode) == JV_KIND_STRING && streq(jv_string_value(mode), "none")))
		raise_rule(c, e, "critical", "auth-disabled", "The gateway accepts connections "
		    "without authentication: anyone who reaches it can drive the agent.",
		    "gateway authentication is disabled");
	jv_free(enabled);
	jv_free(mode);

	if (truthy(at(jv_copy(e->ev), "raw.secrets_found")) ||
	    truthy(jv_object_get(jv_copy(e->meta), jv_string("secrets_found"))))
		raise_rule(c, e, "warn", "plaintext-secrets", "The configuration file holds API "
		    "keys or tokens in plain text, readable by every skill and anyone with the "
		    "file.",
		    "API keys stored in plaintext");

	jv mdns = at(jv_copy(conf), "gateway.mdns.enabled");
	if (jv_get_kind(mdns) == JV_KIND_TRUE)
		raise_rule(c, e, "warn", "mdns-enabled", "The gateway announces itself with mDNS, "
		    "so every device on the local network can find it.",
		    "mDNS broadcasting gateway presence on LAN");
	jv_free(mdns);

	if (truthy(at(jv_copy(conf), "gateway.guestMode.tools")))
		raise_rule(c, e, "warn", "guest-mode-tools", "Guest mode gives unauthenticated "
		    "users tools, which can act on the host.",
		    "dangerous tools accessible in guest mode");
	jv_free(conf);
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	(void)st;
	if (!streq(e->source, "openclaw"))
		return;
	if (streq(e->type, "config_changed"))
		config_changed(c, e);

	const char *o = det_meta_str(e, "override_type");
	const char *kind = streq(o, "workspace_overrides_managed") ? "managed" :
	    streq(o, "workspace_overrides_bundled") ? "bundled" : NULL;
	if (kind) {
		char *what = xasprintf("workspace skill overriding %s skill", kind);
		raise_rule(c, e, "warn", "shadow-skill-override", "A skill in the workspace takes "
		    "the place of an installed one of the same name, a way to slip in changed "
		    "behaviour unnoticed.", what);
		free(what);
	}
}

static void *
start(det_ctx *c, jv conf, char **err)
{
	static const det_setting none[] = {{NULL, NULL, 0, 0, 0, NULL}};

	(void)c;
	*err = det_settings(NAME, conf, none);
	return NULL;	/* no state: *err says whether it started */
}

const det_ops det_openclaw_config_drift = {
	.name = NAME,
	.what = "an OpenClaw configuration that disables gateway authentication, exposes it or "
	    "its tools, or keeps secrets in plain text",
	.start = start,
	.event = event,
};
