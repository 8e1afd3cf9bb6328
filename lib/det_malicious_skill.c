/* malicious-skill: an AI-agent skill installed or changed whose instructions fetch and run code */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detect.h"
#include "util.h"

#define NAME "malicious-skill"

static const char *const skill_types[] = {
	"skill_installed", "skill_modified", "skill_install", "skill_update", "skill_updated",
	NULL
};
/* the author of the ClawHavoc skills */
static const char *const default_authors[] = {"hightower6eu", NULL};

/* ERE over the skill's text, line by line; .flags adds REG_ICASE where case does not matter */
#define SH "(sudo[[:blank:]]+)?(ba|z|da)?sh([^[:alnum:]_]|$)"
static const struct rule {
	const char *name, *description, *re;
	int flags;
} rules[] = {
	{"encoded-payload", "decodes a payload or pipes a download straight into a shell",
	    "base64[[:blank:]]+(-d|--decode)([^[:alnum:]]|$)|echo[^|]*[|][[:blank:]]*" SH
	    "|(curl|wget)[^|]*[|][[:blank:]]*" SH "|wget.*&&.*chmod", REG_ICASE},
	{"quarantine-bypass", "strips the macOS quarantine flag or turns Gatekeeper off",
	    "xattr([[:blank:]]+-[[:alpha:]]+)*[[:blank:]]+-[[:alpha:]]*[dc]|"
	    "com[.]apple[.]quarantine|spctl[[:blank:]]+--master-disable", REG_ICASE},
	{"external-binary", "downloads a program and runs it",
	    "(curl|wget).*[.](exe|bin|dmg|pkg|sh)([^[:alnum:]]|$).*&&.*"
	    "(chmod|(ba|z)?sh([^[:alnum:]_]|$)|[.]/)", REG_ICASE},
	{"password-protected-archive", "unpacks a password-protected archive, which hides its "
	    "content from scanners",
	    "(unzip|UNZIP).*[[:blank:]]-P|7za?[[:blank:]].*[[:blank:]]-p|tar.*--passphrase", 0},
	{"exfil-url", "talks to a request-capture or tunnel service used to exfiltrate data",
	    "(^|[^[:alnum:].-])([[:alnum:]-]+[.])*(ngrok(-free)?[.](io|app|dev)|webhook[.]site|"
	    "interact[.]sh|interactsh[.]com|oast[.](pro|live|site|online|fun|me)|pipedream[.]net|"
	    "burpcollaborator[.]net|requestbin[.](com|net)|requestcatcher[.]com)", REG_ICASE},
};
#undef SH
enum { NRULES = sizeof rules / sizeof *rules, BLOB_MIN = 64, EXCERPT = 120 };

typedef struct state {
	regex_t re[NRULES];
	jv authors;	/* lower case -> true */
} state;

static void
stop(void *st)
{
	state *s = st;

	for (int i = 0; i < NRULES; i++)
		regfree(&s->re[i]);
	jv_free(s->authors);
	free(s);
}

static jv
lower(const char *s)
{
	char *l = xstrdup(s);

	for (char *p = l; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	jv v = jv_string(l);
	free(l);
	return v;
}

static void *
start(det_ctx *c, jv conf, char **err)
{
	(void)c;
	state *s = xcalloc(1, sizeof *s);
	char *msg = NULL;

	for (int i = 0; i < NRULES; i++)
		if (regcomp(&s->re[i], rules[i].re, REG_EXTENDED | REG_NEWLINE | rules[i].flags))
			die(EXIT_WORK, NAME ": bad pattern %s", rules[i].name);
	s->authors = jv_object();
	for (const char *const *a = default_authors; *a; a++)
		s->authors = jv_object_set(s->authors, jv_string(*a), jv_true());
	jv_object_foreach(conf, k, v) {
		if (msg)
			;
		else if (!streq(jv_string_value(k), "authors"))
			msg = xasprintf("detectors." NAME ".%s: unknown setting (known: authors)",
			    jv_string_value(k));
		else if (!(msg = det_string_list(NAME, "authors", v, "a list of author names",
		    "an author name")))
			jv_array_foreach(v, i, a) {
				(void)i;
				s->authors = jv_object_set(s->authors, lower(jv_string_value(a)),
				    jv_true());
				jv_free(a);
			}
		jv_free(k);
		jv_free(v);
	}
	jv_free(conf);
	if (msg) {
		*err = msg;
		stop(s);
		return NULL;
	}
	return s;
}

/* up to EXCERPT bytes of s, cut at a character boundary, "…" when cut */
static jv
excerpt(const char *s, size_t n)
{
	if (n <= EXCERPT)
		return jv_string_sized(s, (int)n);
	while (n > EXCERPT || (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80))
		n--;
	return jv_string_append_str(jv_string_sized(s, (int)n), "…");
}

/* a base64 run of BLOB_MIN characters or more that is not a hex digest or a plain word */
static int
blob(const char *s, regmatch_t *m)
{
	for (const char *p = s; *p;) {
		size_t n = 0;
		int up = 0, low = 0, digit = 0, hex = 1;
		while (isalnum((unsigned char)p[n]) || p[n] == '+' || p[n] == '/') {
			up |= isupper((unsigned char)p[n]);
			low |= islower((unsigned char)p[n]);
			digit |= isdigit((unsigned char)p[n]);
			hex &= isxdigit((unsigned char)p[n]) != 0;
			n++;
		}
		if (n >= BLOB_MIN && up && low && digit && !hex) {
			m->rm_so = p - s;
			m->rm_eo = m->rm_so + (regoff_t)n;
			return 1;
		}
		p += n ? n : 1;
	}
	return 0;
}

/* a string at metadata.FIELD, else raw.FIELD: the value and its name */
static const char *
field(const det_event *e, const char *key, int which, const char **name)
{
	jv where = which ? jv_object_get(jv_copy(e->ev), jv_string("raw")) : jv_copy(e->meta);
	jv v = jv_get_kind(where) == JV_KIND_OBJECT ?
	    jv_object_get(jv_copy(where), jv_string(key)) : jv_invalid();
	const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;

	/* e->ev holds the string */
	jv_free(v);
	jv_free(where);
	*name = which ? "raw" : "metadata";
	return s;
}

static void
raise_rule(det_ctx *c, const det_event *e, const char *rule, const char *description,
    const char *where, const char *key, jv match)
{
	const char *skill = det_meta_str(e, "skill_name");

	if (!*skill)
		skill = e->target;
	char *fp = xasprintf("%s:%s", rule, skill), *matched = xasprintf("%s.%s", where, key);
	jv meta = jv_object();
	meta = jv_object_set(meta, jv_string("rule"), jv_string(rule));
	meta = jv_object_set(meta, jv_string("description"), jv_string(description));
	meta = jv_object_set(meta, jv_string("skill_name"), jv_string(skill));
	meta = jv_object_set(meta, jv_string("matched_field"), jv_string(matched));
	meta = jv_object_set(meta, jv_string("match"), match);
	det_event_finding(c, e, NAME, "critical", fp, meta, NAME " [%s]: %s", rule, skill);
	free(fp);
	free(matched);
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	const state *s = st;
	const char *where, *text;
	regmatch_t m;
	int i, which;

	for (i = 0; skill_types[i] && !streq(skill_types[i], e->type); i++)
		;
	if (!skill_types[i])
		return;
	for (i = 0; i <= NRULES; i++)
		for (which = 0; which < 2; which++) {
			text = field(e, "skill_content", which, &where);
			if (!text)
				continue;
			int hit = i < NRULES ? !regexec(&s->re[i], text, 1, &m, 0) : blob(text, &m);
			if (!hit)
				continue;
			raise_rule(c, e, i < NRULES ? rules[i].name : "encoded-blob",
			    i < NRULES ? rules[i].description :
			    "carries a long base64 blob, a payload hidden from review",
			    where, "skill_content", excerpt(text + m.rm_so,
			    (size_t)(m.rm_eo - m.rm_so)));
			break;
		}
	for (which = 0; which < 2; which++) {
		text = field(e, "skill_author", which, &where);
		if (!text)
			continue;
		jv l = lower(text);
		int bad = jv_object_has(jv_copy(s->authors), l);
		if (bad) {
			raise_rule(c, e, "known-malicious-author", "published by a known malicious "
			    "author", where, "skill_author", jv_string(text));
			break;
		}
	}
}

const det_ops det_malicious_skill = {
	.name = NAME,
	.what = "an agent skill installed or changed that fetches and runs code, hides a "
	    "payload or comes from a known malicious author",
	.start = start,
	.event = event,
	.stop = stop,
};
