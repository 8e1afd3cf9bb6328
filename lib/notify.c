/*
 * notify: the notifier programs' common part.
 *
 * A notifier reads findings, checks where they go and sends one message. What comes from
 * outside (titles, annotations) is cleaned once here (notify_clean) and escaped by each
 * format; a webhook URL is a credential, so it never appears in a message, and the address it
 * resolves to is checked and pinned for the request, so a second DNS answer cannot move it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cli.h"
#include "http.h"
#include "human.h"
#include "notify.h"
#include "util.h"

enum { INPUT_MAX = NOTIFY_INPUT_MAX };

static const char *const groups[NOTIFY_SEVS] = { "CRITICAL", "WARN", "INFO", "OTHER" };

const char *
notify_group_name(int group)
{
	return group >= 0 && group < NOTIFY_SEVS ? groups[group] : "OTHER";
}

/* ---- text ---- */

/* bytes of a character that never reaches a message: C1 controls, bidi and invisible marks */
static size_t
hidden_char(const unsigned char *p)
{
	if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	if (p[0] == 0xd8 && p[1] == 0x9c)	/* U+061C arabic letter mark */
		return 2;
	if (p[0] == 0xe2 && p[1] == 0x80 && ((p[2] >= 0x8b && p[2] <= 0x8f) ||
	    (p[2] >= 0xaa && p[2] <= 0xae)))
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
		return 3;
	return 0;
}

/* past an escape sequence starting at p (ESC or the C1 CSI) */
static const char *
skip_escape(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	int csi = 0, osc = 0;

	if (u[0] == 0xc2) {	/* U+009B, the one-character CSI */
		csi = 1;
		u += 2;
	} else if (u[1] == '[') {
		csi = 1;
		u += 2;
	} else if (u[1] == ']' || u[1] == 'P' || u[1] == '_' || u[1] == '^') {
		osc = 1;	/* OSC, DCS, APC, PM: up to BEL or ST */
		u += 2;
	} else {
		return (const char *)u + (u[1] ? 2 : 1);
	}
	if (csi) {
		while (*u >= 0x20 && *u <= 0x3f)
			u++;
		if (*u >= 0x40 && *u <= 0x7e)
			u++;
		return (const char *)u;
	}
	while (osc && *u && *u != 0x07 && !(*u == 0x1b && u[1] == '\\'))
		u++;
	if (*u == 0x07)
		u++;
	else if (*u == 0x1b)
		u += 2;
	return (const char *)u;
}

char *
notify_clean(const char *s, size_t max)
{
	static const char *const markers[] = { "[USER_DATA_BEGIN]", "[USER_DATA_END]" };
	size_t n = strlen(s), o = 0, k;
	char *out = xmalloc(n + 1);
	const char *p = s;
	int space = 1;	/* no leading space */

	while (*p) {
		const unsigned char c = (unsigned char)*p;

		for (k = 0; k < 2; k++)
			if (strncmp(p, markers[k], strlen(markers[k])) == 0)
				break;
		if (k < 2) {
			p += strlen(markers[k]);
			continue;
		}
		if (c == 0x1b || (c == 0xc2 && (unsigned char)p[1] == 0x9b)) {
			p = skip_escape(p);
			continue;
		}
		if ((k = hidden_char((const unsigned char *)p)) > 0) {
			p += k;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
				goto blank;
			p++;
			continue;
		}
		if (c == ' ')
			goto blank;
		out[o++] = *p++;
		space = 0;
		continue;
blank:
		if (!space)
			out[o++] = ' ';
		space = 1;
		p++;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	if (max >= 4 && o > max) {
		o = max - 3;	/* room for "…" */
		while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
			o--;
		memcpy(out + o, "\xe2\x80\xa6", 4);
	}
	return out;
}

/* s with each byte in set replaced by its entry of reps, or preceded by a backslash */
static char *
escape(const char *s, const char *set, const char *const *reps)
{
	size_t n = 0;
	const char *p, *hit;
	char *out, *o;

	for (p = s; *p; p++)
		n += (hit = strchr(set, *p)) && *p ? (reps ? strlen(reps[hit - set]) : 2) : 1;
	o = out = xmalloc(n + 1);
	for (p = s; *p; p++) {
		if (!(hit = strchr(set, *p))) {
			*o++ = *p;
		} else if (reps) {
			o = stpcpy(o, reps[hit - set]);
		} else {
			*o++ = '\\';
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

char *
notify_escape_slack(const char *s)
{
	static const char *const reps[] = { "&amp;", "&lt;", "&gt;" };

	return escape(s, "&<>", reps);
}

char *
notify_escape_markdown(const char *s)
{
	return escape(s, "\\`*_[]{}<>#~|", NULL);
}

char *
notify_escape_html(const char *s)
{
	static const char *const reps[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };

	return escape(s, "&<>\"'", reps);
}

/* ---- input ---- */

static char *
text_of(jv f, const char *key, size_t max)
{
	jv v = jv_object_get(jv_copy(f), jv_string(key));
	char *s = NULL;

	if (jv_get_kind(v) == JV_KIND_STRING)
		s = notify_clean(jv_string_value(v), max);
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		s = xasprintf("%g", jv_number_value(v));
	jv_free(v);
	return s;
}

static int
group_of(const char *sev)
{
	if (!sev)
		return NOTIFY_OTHER;
	for (int g = 0; g < NOTIFY_OTHER; g++)
		if (strcasecmp(sev, groups[g]) == 0)
			return g;
	return strcasecmp(sev, "warning") == 0 ? NOTIFY_WARN : NOTIFY_OTHER;
}

/* v is an object whose key is a non-empty string (equal to want, unless want is NULL) */
static int
has_string(jv v, const char *key, const char *want)
{
	jv s;
	int yes;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return 0;
	s = jv_object_get(jv_copy(v), jv_string(key));
	yes = jv_get_kind(s) == JV_KIND_STRING && *jv_string_value(s) &&
	    (!want || streq(jv_string_value(s), want));
	jv_free(s);
	return yes;
}

static int
is_digest(jv v)
{
	return has_string(v, "kind", "digest");
}

/* a finding is an object with a non-empty string id */
static int
is_finding(jv f)
{
	return has_string(f, "id", NULL);
}

static void
item_of(notify_item *it, jv f)
{
	jv anns = jv_object_get(jv_copy(f), jv_string("annotations"));

	memset(it, 0, sizeof *it);
	it->id = text_of(f, "id", NOTIFY_WORD_MAX);
	it->title = text_of(f, "title", NOTIFY_TITLE_MAX);
	if (!it->title || !*it->title) {
		free(it->title);
		it->title = xstrdup("(no title)");
	}
	it->severity = text_of(f, "severity", NOTIFY_WORD_MAX);
	it->detector = text_of(f, "detector", NOTIFY_WORD_MAX);
	it->timestamp = text_of(f, "timestamp", NOTIFY_WORD_MAX);
	it->group = group_of(it->severity);
	if (jv_get_kind(anns) == JV_KIND_ARRAY && jv_array_length(jv_copy(anns)) > 0) {
		jv last = jv_array_get(jv_copy(anns), jv_array_length(jv_copy(anns)) - 1);

		if (jv_get_kind(last) == JV_KIND_OBJECT) {
			it->actor = text_of(last, "actor", NOTIFY_WORD_MAX);
			it->content = text_of(last, "content", NOTIFY_TEXT_MAX);
			if (!it->content || !*it->content) {
				free(it->content);
				it->content = text_of(last, "reason", NOTIFY_TEXT_MAX);
			}
			if (it->content && !*it->content) {
				free(it->content);
				it->content = NULL;
			}
		}
		jv_free(last);
	}
	jv_free(anns);
}

/* the items of findings (an array of findings, borrowed), grouped; the summary */
static void
fill(notify_input *in, jv findings)
{
	size_t n = (size_t)jv_array_length(jv_copy(findings)), k = 0;
	notify_item *all = xcalloc(n ? n : 1, sizeof *all);
	char counts[160] = "";
	int groups_seen = 0;

	for (size_t i = 0; i < n; i++) {
		jv f = jv_array_get(jv_copy(findings), (int)i);

		item_of(&all[i], f);
		jv_free(f);
	}
	in->items = xcalloc(n ? n : 1, sizeof *in->items);
	for (int g = 0; g < NOTIFY_SEVS; g++) {
		for (size_t i = 0; i < n; i++)
			if (all[i].group == g)
				in->items[k++] = all[i];
		in->count[g] = 0;
		for (size_t i = 0; i < n; i++)
			in->count[g] += all[i].group == g;
		if (in->count[g]) {
			size_t len = strlen(counts);

			snprintf(counts + len, sizeof counts - len, "%s%zu %s", len ? ", " : "",
			    in->count[g], g == NOTIFY_OTHER ? "other" : groups[g]);
			groups_seen++;
		}
	}
	for (char *p = counts; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	in->n = n;
	free(all);
	if (groups_seen == 1)	/* "(critical)", not "(1 critical)" */
		memmove(counts, strchr(counts, ' ') + 1, strlen(strchr(counts, ' ') + 1) + 1);
	in->summary = xasprintf("mallcop: %zu finding%s (%s)", n, n == 1 ? "" : "s", counts);
}

/* the findings of a value: one finding, a digest, an array; jv_invalid() with *err if none */
static jv
findings_of(jv v, char **err)
{
	jv fs;

	*err = NULL;
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		fs = v;
	} else if (is_digest(v)) {
		fs = jv_object_get(v, jv_string("findings"));
		if (jv_get_kind(fs) == JV_KIND_NULL) {
			jv_free(fs);
			fs = jv_array();
		}
		if (jv_get_kind(fs) != JV_KIND_ARRAY) {
			jv_free(fs);
			*err = xstrdup("the digest's \"findings\" is not a list");
			return jv_invalid();
		}
	} else if (is_finding(v)) {
		fs = jv_array_append(jv_array(), v);
	} else if (jv_get_kind(v) == JV_KIND_OBJECT) {
		jv_free(v);
		*err = xstrdup("not a finding (an object with an \"id\") nor a digest "
		    "({\"kind\": \"digest\", \"findings\": [...]})");
		return jv_invalid();
	} else {
		jv_free(v);
		*err = xstrdup("not a finding (an object with an \"id\") nor a digest");
		return jv_invalid();
	}
	jv_array_foreach(fs, i, f) {
		int good = is_finding(f);

		jv_free(f);
		if (!good) {
			*err = xasprintf("findings[%d] is not a finding (an object with an \"id\")", i);
			jv_free(fs);
			return jv_invalid();
		}
	}
	return fs;
}

static void
input_init(notify_input *in)
{
	memset(in, 0, sizeof *in);
	in->body = jv_null();
}

/* one JSON text holding everything (a finding, a digest, an array): 1, 0 when it is not one */
static int
parse_whole(const char *text, size_t len, notify_input *in, char **err)
{
	jv v = jv_parse_sized(text, (int)len), fs, t;

	if (!jv_is_valid(v)) {
		jv_free(v);
		return 0;
	}
	fs = findings_of(jv_copy(v), err);
	if (!jv_is_valid(fs)) {
		jv_free(fs);
		jv_free(v);
		return -1;
	}
	fill(in, fs);
	if (jv_get_kind(v) == JV_KIND_OBJECT && !is_digest(v)) {
		in->body = jv_object_set(jv_object_set(jv_object(), jv_string("kind"),
		    jv_string("finding")), jv_string("finding"), v);
	} else if (jv_get_kind(v) == JV_KIND_OBJECT) {	/* a digest goes as it came */
		t = jv_object_get(jv_copy(v), jv_string("title"));
		if (jv_get_kind(t) == JV_KIND_STRING)
			in->headline = notify_clean(jv_string_value(t), NOTIFY_TITLE_MAX);
		jv_free(t);
		t = jv_object_get(jv_copy(v), jv_string("note"));
		if (jv_get_kind(t) == JV_KIND_STRING)
			in->note = notify_clean(jv_string_value(t), 4 * NOTIFY_TEXT_MAX);
		jv_free(t);
		in->body = v;
	} else {
		jv_free(v);
		in->body = jv_copy(fs);	/* becomes a digest below */
	}
	jv_free(fs);
	return 1;
}

int
notify_parse(const char *text, size_t len, notify_input *in, char **err)
{
	const char *p = text, *end = text + len, *nl;
	size_t lineno = 0;
	int rc;
	jv fs = jv_array();

	input_init(in);
	*err = NULL;
	if (len > INPUT_MAX) {
		jv_free(fs);
		*err = xasprintf("the input is larger than %d MiB", INPUT_MAX >> 20);
		return -1;
	}
	if ((rc = parse_whole(text, len, in, err)) != 0) {
		jv_free(fs);
		if (rc < 0)
			return -1;
		goto digest;
	}
	/* JSON Lines: each non-blank line one finding */
	for (; p < end; p = nl + 1) {
		jv v;

		lineno++;
		if (!(nl = memchr(p, '\n', (size_t)(end - p))))
			nl = end;
		if (strspn(p, " \t\r") >= (size_t)(nl - p))
			continue;
		v = jv_parse_sized(p, (int)(nl - p));
		if (!jv_is_valid(v)) {
			jv msg = jv_invalid_get_msg(v);
			char *safe = human_safe(jv_get_kind(msg) == JV_KIND_STRING ?
			    jv_string_value(msg) : "not JSON");
			char *cut = strstr(safe, " (while parsing");

			if (cut)
				*cut = '\0';
			*err = xasprintf("stdin line %zu: malformed JSON: %s", lineno, safe);
			free(safe);
			jv_free(msg);
			jv_free(fs);
			return -1;
		}
		if (!is_finding(v)) {
			jv_free(v);
			jv_free(fs);
			*err = xasprintf("stdin line %zu: not a finding (an object with an \"id\")",
			    lineno);
			return -1;
		}
		fs = jv_array_append(fs, v);
	}
	fill(in, fs);
	in->body = fs;
digest:
	if (jv_get_kind(in->body) == JV_KIND_ARRAY)
		in->body = jv_object_set(jv_object_set(jv_object_set(jv_object(),
		    jv_string("kind"), jv_string("digest")), jv_string("title"),
		    jv_string(in->summary)), jv_string("findings"), in->body);
	if (!in->headline || !*in->headline) {
		free(in->headline);
		in->headline = xstrdup(in->summary);
	}
	return in->n == 0 ? 1 : 0;
}

int
notify_read(FILE *f, notify_input *in, char **err)
{
	size_t len = 0, cap = 1 << 16, got;
	char *buf = xmalloc(cap + 1);
	int rc;

	while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len > INPUT_MAX)
			break;
		if (len == cap)
			buf = xrealloc(buf, (cap *= 2) + 1);
	}
	buf[len] = '\0';
	if (ferror(f)) {
		free(buf);
		input_init(in);
		*err = xasprintf("cannot read stdin: %s", strerror(errno));
		return -1;
	}
	if (strspn(buf, " \t\r\n") >= len && memchr(buf, '\0', len) == NULL) {
		free(buf);
		input_init(in);
		*err = NULL;
		return 1;
	}
	rc = notify_parse(buf, len, in, err);
	free(buf);
	return rc;
}

void
notify_input_free(notify_input *in)
{
	for (size_t i = 0; i < in->n; i++) {
		notify_item *it = &in->items[i];

		free(it->id);
		free(it->title);
		free(it->severity);
		free(it->detector);
		free(it->timestamp);
		free(it->actor);
		free(it->content);
	}
	free(in->items);
	free(in->summary);
	free(in->headline);
	free(in->note);
	jv_free(in->body);
	memset(in, 0, sizeof *in);
	in->body = jv_null();
}

/* ---- settings ---- */

int
notify_conf_init(notify_conf *c, const char *channel, char **err)
{
	const char *env = getenv("MALLCOP_NOTIFY_CONFIG");
	jv v, t;

	memset(c, 0, sizeof *c);
	c->channel = channel;
	c->timeout = 30;
	*err = NULL;
	v = env && *env ? jv_parse(env) : jv_object();
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);	/* never quoted: it holds secrets */
		c->cfg = jv_object();
		*err = xstrdup("MALLCOP_NOTIFY_CONFIG is not a JSON object");
		return -1;
	}
	c->cfg = v;
	if (notify_bool(c, "allow_private", 0, &c->allow_private, err) < 0)
		return -1;
	t = jv_object_get(jv_copy(v), jv_string("timeout"));
	if (jv_get_kind(t) == JV_KIND_STRING) {	/* "30" from a YAML value or a variable */
		char *end;
		double d = strtod(jv_string_value(t), &end);
		int bad = *end || end == jv_string_value(t);

		jv_free(t);
		t = bad ? jv_string("bad") : jv_number(d);
	}
	if (jv_get_kind(t) == JV_KIND_NUMBER && jv_number_value(t) >= 1 &&
	    jv_number_value(t) <= 3600)
		c->timeout = (long)jv_number_value(t);
	else if (jv_get_kind(t) != JV_KIND_NULL && jv_get_kind(t) != JV_KIND_INVALID)
		*err = xstrdup("timeout must be a number of seconds from 1 to 3600");
	jv_free(t);
	return *err ? -1 : 0;
}

void
notify_conf_free(notify_conf *c)
{
	jv_free(c->cfg);
	free(c->url);
	free(c->host);
	free(c->port);
	free(c->pin);
	if (c->secret)
		explicit_bzero(c->secret, strlen(c->secret));
	free(c->secret);
	memset(c, 0, sizeof *c);
	c->cfg = jv_null();
}

int
notify_str(const notify_conf *c, const char *key, const char *env, char **out, char **err)
{
	jv v = jv_object_get(jv_copy(c->cfg), jv_string(key));
	const char *e;

	*out = NULL;
	*err = NULL;
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		if (*jv_string_value(v))
			*out = xstrdup(jv_string_value(v));
		break;
	case JV_KIND_NUMBER:
		*out = xasprintf("%.0f", jv_number_value(v));
		break;
	case JV_KIND_NULL:
	case JV_KIND_INVALID:
		break;
	default:
		*err = xasprintf("%s must be a string", key);
	}
	jv_free(v);
	if (*err)
		return -1;
	if (!*out && env && (e = getenv(env)) && *e)
		*out = xstrdup(e);
	return 0;
}

int
notify_bool(const notify_conf *c, const char *key, int dflt, int *out, char **err)
{
	jv v = jv_object_get(jv_copy(c->cfg), jv_string(key));
	jv_kind k = jv_get_kind(v);

	*err = NULL;
	*out = k == JV_KIND_TRUE ? 1 : k == JV_KIND_FALSE ? 0 : dflt;
	if (k != JV_KIND_TRUE && k != JV_KIND_FALSE && k != JV_KIND_NULL && k != JV_KIND_INVALID)
		*err = xasprintf("%s must be true or false", key);
	jv_free(v);
	return *err ? -1 : 0;
}

/* ---- addresses ---- */

const char *
notify_private_reason(const char *ip)
{
	return http_addr_kind(ip);
}

int
notify_resolve(const char *host, const char *port, int allow_private, char **pin, char **err)
{
	unsigned char probe[16];
	char *list;

	*pin = NULL;
	if (http_resolve(host, port, allow_private, 0, &list, err) < 0)
		return -1;
	/* an IP literal asks no DNS: nothing to pin */
	if (inet_pton(AF_INET, host, probe) != 1 && inet_pton(AF_INET6, host, probe) != 1)
		*pin = xasprintf("%s:%s:%s", host, port, list);
	free(list);
	return 0;
}

int
notify_url(notify_conf *c, const char *key, const char *env, char **err)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;
	size_t n;

	if (notify_str(c, key, env, &c->url, err) < 0)
		return -1;
	if (!c->url) {
		*err = xasprintf("no webhook URL: set %s in the channel's settings or %s", key, env);
		return -1;
	}
	if (!(u = curl_url()))
		die(EXIT_WORK, "out of memory");
	/* the URL is a secret: messages name the key, never the value */
	if (curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		*err = xasprintf("%s is not a URL", key);
	} else if (strcasecmp(scheme, "https") != 0) {
		*err = xasprintf("%s must be an https:// URL, not %s://", key, scheme);
	} else {
		n = strlen(host);
		c->host = host[0] == '[' ? xasprintf("%.*s", (int)(n - 2), host + 1) : xstrdup(host);
		c->port = xstrdup(port);
		rc = notify_resolve(c->host, c->port, c->allow_private, &c->pin, err);
		if (rc < 0) {
			char *t = xasprintf("%s: %s", key, *err);

			free(*err);
			*err = t;
		}
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

/* ---- delivery ---- */

char *
notify_dump(jv v)
{
	jv d = jv_dump_string(v, 0);
	char *s = xstrdup(jv_string_value(d));

	jv_free(d);
	return s;
}

char *
notify_signature(const char *secret, const char *timestamp, const char *body)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *msg = xasprintf("%s.%s", timestamp, body), *out;

	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg,
	    strlen(msg), mac, &len))
		die(EXIT_WORK, "HMAC-SHA256 failed");
	free(msg);
	out = xmalloc(7 + 2 * len + 1);
	memcpy(out, "sha256=", 7);
	for (unsigned int i = 0; i < len; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
	return out;
}

int
notify_post(const notify_conf *c, const char *body, char **err)
{
	http_client h;
	http_response r;
	int rc;

	*err = NULL;
	if (http_init(&h, c->channel, c->url, err) < 0)
		return -1;
	h.timeout_s = c->timeout;
	h.allow_private = c->allow_private;	/* http_request checks and pins the address again */
	h.secret_path = 1;
	if (c->secret) {
		char ts[32], *sig;

		snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
		sig = notify_signature(c->secret, ts, body);
		http_header(&h, "X-Mallcop-Timestamp: %s", ts);
		http_header(&h, "X-Mallcop-Signature: %s", sig);
		free(sig);
	}
	rc = http_request(&h, "POST", c->url, body, "application/json", &r);
	if (rc < 0)
		*err = xstrdup(r.error ? r.error : "the request failed");
	http_response_free(&r);
	http_free(&h);
	return rc;
}

/* ---- the program ---- */

static int
configure(notify_conf *c, const notify_channel *ch, char **err)
{
	if (notify_conf_init(c, ch->name, err) < 0)
		return -1;
	if (ch->url_key && notify_url(c, ch->url_key, ch->url_env, err) < 0)
		return -1;
	return ch->check ? ch->check(c, err) : 0;
}

int
notify_main(int argc, char **argv, const notify_channel *ch)
{
	static const struct option opts[] = {
		{"check", no_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	notify_conf c;
	notify_input in;
	int opt, check = 0, human = cli_human(0), rc;
	char *err = NULL, *body;
	jv res;

	setargv0(argv[0]);
	while ((opt = getopt_long(argc, argv, "ch", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			check = 1;
			break;
		case 'h':
			printf("%s\n", ch->usage);
			return fshut(stdout, "stdout") ? EXIT_WORK : 0;
		default:
			fprintf(stderr, "%s\n", ch->usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n%s\n", argv0, argv[optind],
		    ch->usage);
		return EXIT_USAGE;
	}
	input_init(&in);
	if (!check) {
		rc = notify_read(stdin, &in, &err);
		if (rc < 0)
			cli_fail(EXIT_WORK, human, "%s", err);
		if (rc == 1) {
			warnf("nothing to send: the input holds no findings");
			notify_input_free(&in);
			res = jv_object_set(cli_result(), jv_string("channel"), jv_string(ch->name));
			return cli_emit(jv_object_set(res, jv_string("sent"), jv_number(0)));
		}
	}
	if (configure(&c, ch, &err) < 0)
		cli_fail(EXIT_WORK, human, "%s: %s", ch->name, err);
	res = jv_object_set(cli_result(), jv_string("channel"), jv_string(ch->name));
	if (check) {
		notify_conf_free(&c);
		return cli_emit(jv_object_set(res, jv_string("check"), jv_string("ok")));
	}
	if (ch->payload) {
		body = ch->payload(&in);
		rc = notify_post(&c, body, &err);
		free(body);
	} else {
		rc = ch->send(&c, &in, &err);
	}
	notify_conf_free(&c);
	if (rc < 0) {
		jv_free(res);
		notify_input_free(&in);
		cli_fail(EXIT_WORK, human, "%s", err);
	}
	res = jv_object_set(res, jv_string("sent"), jv_number((double)in.n));
	notify_input_free(&in);
	return cli_emit(res);
}
