/* mallcop-connector-openclaw: an OpenClaw installation's skills and configuration, as changes */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"
#include "event.h"
#include "human.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"
#include "yamljv.h"

static const char usage[] =
    "usage: mallcop-connector-openclaw [--cursor STATE | --since TIME]";

#define SOURCE "openclaw"
#define REDACTED "[REDACTED]"

enum {
	CONTENT_MAX = 64 << 10,	/* of a SKILL.md in its event (all of it is hashed) */
	CONFIG_MAX = 4 << 20,	/* an openclaw.json over this is hashed, not parsed */
	REDACTED_LIST_MAX = 100,
	TOKEN_MIN = 32,		/* a bare string this long that looks like a key is one */
	/*
	 * skills watched at the most: the state of more would make a cursor, and the checkpoints
	 * file every connector shares, larger than mallcop.yaml(5) lets a file be
	 */
	SKILLS_MAX = 10000,
};

typedef struct run {
	char *home;		/* as configured, expanded: what events and messages name */
	char *real;		/* its real path: nothing outside it is read */
	const char *root;	/* the real path of the tree being read: the home or a workspace */
	const char *where;	/* its name in messages */
	int64_t now;
	size_t max;		/* max_event_bytes: a longer event is cut down to fit */
	double gen;		/* this run's number, part of every id (see main) */
	jv old, skills;		/* key -> hash: the cursor's and this run's */
	jv managed;		/* the names of the home's own skills, -> true */
	size_t events;
	size_t nskills;		/* skills seen */
	int failed;
} run;

/* ---- reading files ------------------------------------------------------------------ */

/* path made safe for a diagnostic (a skill name may hold a newline or an escape), malloc'd */
static char *
shown(const char *path)
{
	return human_safe(path);
}

/*
 * Where path leads: 1 inside the tree being read (*real its real path, malloc'd), 0 outside
 * (*real the target), -1 when it cannot be resolved (errno: ELOOP for a loop, ENOENT, EACCES)
 */
static int
resolve(const run *r, const char *path, char **real)
{
	size_t n = strlen(r->root);

	if (!(*real = realpath(path, NULL)))
		return -1;
	return !strncmp(*real, r->root, n) && ((*real)[n] == '/' || (*real)[n] == 0);
}

typedef struct content {
	char hash[65];
	char *text;		/* the first keep bytes */
	size_t len, size;	/* of text, of the whole file */
	const char *why;	/* not read: why (a link out of the home, not a regular file) */
} content;

static void
hex(const unsigned char *md, unsigned n, char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < n && i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = 0;
}

static void
hash_text(const char *s, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL);
	hex(md, mdlen, out);
}

/*
 * The file at path (already resolved inside the home): its SHA-256 over every byte, and its
 * first keep bytes. Not a regular file (a FIFO would block, a device never end): c->why, 0.
 * -1 with errno when it cannot be read.
 */
static int
read_whole(const char *path, size_t keep, content *c)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC), err;
	EVP_MD_CTX *md;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	char buf[65536];
	struct stat st;
	ssize_t n;

	memset(c, 0, sizeof *c);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		c->why = "not a regular file";
		hash_text("not a regular file", 18, c->hash);
		return 0;
	}
	md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		die(EXIT_WORK, "cannot start SHA-256 (OpenSSL)");
	c->text = xmalloc(keep + 1);
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			EVP_MD_CTX_free(md);
			close(fd);
			free(c->text);
			c->text = NULL;
			errno = err;
			return -1;
		}
		EVP_DigestUpdate(md, buf, (size_t)n);
		if (c->len < keep) {
			size_t k = keep - c->len < (size_t)n ? keep - c->len : (size_t)n;

			memcpy(c->text + c->len, buf, k);
			c->len += k;
		}
		c->size += (size_t)n;
	}
	c->text[c->len] = 0;
	EVP_DigestFinal_ex(md, d, &dlen);
	EVP_MD_CTX_free(md);
	close(fd);
	hex(d, dlen, c->hash);
	return 0;
}

/*
 * The file at path, never read when it leads out of the home (a link to ~/.ssh/id_ed25519 is
 * recorded as that link, its target unread). 0 and *c; -1 after a warning when it cannot be
 * read (a loop, no permission): the run fails.
 */
static int
read_inside(run *r, const char *path, size_t keep, content *c)
{
	char *real = NULL, *s;
	int in = resolve(r, path, &real);

	memset(c, 0, sizeof *c);
	if (in == 0) {
		char *link = xasprintf("link:%s", real);

		hash_text(link, strlen(link), c->hash);
		c->why = streq(r->where, "workspace") ? "a symbolic link out of the workspace" :
		    "a symbolic link out of the OpenClaw home";
		s = shown(path);
		free(link);
		link = shown(real);
		warnf("'%s' leads out of the %s (to '%s'): not read", s, r->where, link);
		free(link);
		free(s);
		free(real);
		return 0;
	}
	if (in < 0 || read_whole(real, keep, c)) {
		s = shown(path);
		warnf("cannot read '%s':", s);
		free(s);
		free(real);
		r->failed = 1;
		return -1;
	}
	if (c->why) {
		s = shown(path);
		warnf("'%s' is not a regular file: not read", s);
		free(s);
	}
	free(real);
	return 0;
}

/* ---- secrets ------------------------------------------------------------------------ */

/*
 * A token with a known prefix at s (not in the middle of a word): its length, else 0. jwt: a
 * JWT counts (in a skill's text it does not: a base64 blob of JSON starts the same way, and
 * malicious-skill must see the blob)
 */
static size_t
token_at(const char *s, const char *start, int jwt)
{
	static const struct {
		const char *prefix, *chars;
		size_t min;
	} kinds[] = {
		{"sk-", "-_", 20}, {"sk_live_", "", 16}, {"sk_test_", "", 16}, {"rk_live_", "", 16},
		{"AKIA", "", 16}, {"ASIA", "", 16}, {"ghp_", "", 30}, {"gho_", "", 30},
		{"ghu_", "", 30}, {"ghs_", "", 30}, {"ghr_", "", 30}, {"github_pat_", "_", 20},
		{"glpat-", "-_", 20}, {"xoxb-", "-", 10}, {"xoxp-", "-", 10}, {"xoxa-", "-", 10},
		{"xoxs-", "-", 10}, {"xapp-", "-", 10}, {"AIza", "-_", 30}, {"hf_", "", 30},
		{"npm_", "", 30}, {"eyJ", "-_.", 30},
	};

	if (s > start && (isalnum((unsigned char)s[-1]) || s[-1] == '_' || s[-1] == '-'))
		return 0;
	if (!strncmp(s, "-----BEGIN ", 11)) {
		/* a PEM block whose BEGIN or END label says PRIVATE KEY, to its END line's end */
		const char *hend = strstr(s + 11, "-----"), *end = strstr(s + 11, "-----END ");
		const char *eend = end ? strstr(end + 9, "-----") : NULL;

		if ((hend && memmem(s, (size_t)(hend - s), "PRIVATE KEY", 11)) ||
		    (eend && memmem(end, (size_t)(eend - end), "PRIVATE KEY", 11)))
			return eend ? (size_t)(eend + 5 - s) : strlen(s);
		return 0;
	}
	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		size_t p = strlen(kinds[k].prefix), n = p;

		if (strncmp(s, kinds[k].prefix, p) || (!jwt && streq(kinds[k].prefix, "eyJ")))
			continue;
		while (s[n] && (isalnum((unsigned char)s[n]) || strchr(kinds[k].chars, s[n])))
			n++;
		if (n - p >= kinds[k].min)
			return n;
	}
	return 0;
}

/* "scheme://user:password@host": the length of user:password, else 0 */
static size_t
userinfo_at(const char *s, const char *start)
{
	const char *at, *colon;
	size_t n;

	if (s - start < 3 || strncmp(s - 3, "://", 3))
		return 0;
	/* up to the host: a space ends no password (a JSON dump would show it as \t, not end it) */
	n = strcspn(s, "/?#@\"'");
	at = s[n] == '@' ? s + n : NULL;
	colon = at ? memchr(s, ':', n) : NULL;
	return colon && colon + 1 < at ? n : 0;
}

/*
 * n bytes of s as a JSON string with every token of a known shape, every password in a URL and
 * every NUL (which mallcop-scan refuses, so that one NUL would hide the whole event) replaced;
 * *found counts the secrets
 */
static jv
scrub(const char *s, size_t n, int jwt, size_t *found)
{
	/* first the NULs, so that what follows one is searched as the string it is part of */
	char *buf = xmalloc(n * 3 + 1), *out;
	size_t len = 0, o = 0, k;
	jv v;

	for (size_t i = 0; i < n; i++)
		if (s[i]) {
			buf[len++] = s[i];
		} else {
			memcpy(buf + len, "\xef\xbf\xbd", 3);	/* U+FFFD */
			len += 3;
		}
	buf[len] = 0;
	/* a match is 3 bytes or more ("a:b" of a URL), its stand-in 10: never 4 times longer */
	out = xmalloc(len * 4 + 1);
	for (size_t i = 0; i < len;) {
		if ((k = token_at(buf + i, buf, jwt)) || (k = userinfo_at(buf + i, buf))) {
			memcpy(out + o, REDACTED, sizeof REDACTED - 1);
			o += sizeof REDACTED - 1;
			i += k;
			(*found)++;
		} else {
			out[o++] = buf[i++];
		}
	}
	v = jv_string_sized(out, (int)o);
	free(buf);
	free(out);
	return v;
}

/*
 * A string that is nothing but a key: a known shape, or one long word of letters and digits
 * with a random-looking run in it (a model name like meta-llama/Llama-3.3-70B-Instruct is
 * words between separators, not a key)
 */
static int
key_shaped(const char *s)
{
	size_t n = strlen(s), run = 0, longest = 0;
	int alpha = 0, digit = 0;

	if (n && token_at(s, s, 1) == n)
		return 1;
	if (n < TOKEN_MIN || *s == '/' || *s == '.')
		return 0;
	for (const char *p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("+/=_-.", *p))
			return 0;
		run = isalnum((unsigned char)*p) ? run + 1 : 0;
		longest = run > longest ? run : longest;
		alpha |= isalpha((unsigned char)*p) != 0;
		digit |= isdigit((unsigned char)*p) != 0;
	}
	return alpha && digit && longest >= TOKEN_MIN / 2;
}

/* a reference to a secret held elsewhere: ${VAR}, $VAR, env:VAR */
static int
reference(const char *s)
{
	size_t n = strlen(s), k;

	if (n > 3 && s[0] == '$' && s[1] == '{' && s[n - 1] == '}')
		return (k = strspn(s + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_")) == n - 3;
	if (n > 1 && s[0] == '$')
		return strspn(s + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n - 1;
	if (n > 4 && !strncmp(s, "env:", 4))
		return strspn(s + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_") == n - 4;
	return 0;
}

enum { PLAIN, AUTH, SECRET };

/* one word of a name, lower case, is one of words */
static int
has_word(const char *name, const char *const *words)
{
	char w[64];
	size_t n = 0;

	for (const char *p = name;; p++) {
		int boundary = !*p || !isalnum((unsigned char)*p) ||
		    (p > name && isupper((unsigned char)*p) && islower((unsigned char)p[-1]));

		if (boundary && n) {
			w[n] = 0;
			for (int i = 0; words[i]; i++)
				if (streq(w, words[i]))
					return 1;
			n = 0;
		}
		if (!*p)
			return 0;
		if (isalnum((unsigned char)*p) && n < sizeof w - 1)
			w[n++] = (char)tolower((unsigned char)*p);
	}
}

/*
 * What a key's name says of its value: SECRET (api_key, token, password, ...: its value and
 * everything under it), AUTH (auth, authorization: a string there is a secret, a mapping
 * there is settings, each judged by its own name), or PLAIN. Names of amounts and switches
 * (max_tokens, tokenLimit, auth_mode) are PLAIN; their values are still judged by shape.
 */
static int
key_class(const char *name)
{
	static const char *const secret[] = {"apikey", "token", "secret", "password", "passwd",
	    "passphrase", "credential", "privatekey", "accesskey", "cookie", "signingkey",
	    "sessionkey", "webhook", "bearer", NULL};
	static const char *const plain[] = {"max", "min", "limit", "count", "ttl", "timeout",
	    "expiry", "expires", "expiration", "length", "size", "budget", "enabled", "mode",
	    "type", "path", "file", "dir", "env", "header", "provider", "required", "model", NULL};
	static const char *const author[] = {"author", "authors", "authored", NULL};
	char *l = xmalloc(strlen(name) + 1), *o = l;
	int c = PLAIN;

	for (const char *p = name; *p; p++)
		if (isalnum((unsigned char)*p))
			*o++ = (char)tolower((unsigned char)*p);
	*o = 0;
	if (has_word(name, plain))
		goto out;
	for (int i = 0; secret[i]; i++)
		if (strstr(l, secret[i]))
			c = SECRET;
	if (streq(l, "pat") || streq(l, "key") || (o - l > 3 && !strcmp(o - 3, "key")))
		c = SECRET;
	if (c == PLAIN && strstr(l, "auth") && !has_word(name, author))
		c = AUTH;
out:
	free(l);
	return c;
}

typedef struct redaction {
	size_t found;		/* secrets in plain text (not references, not empty) */
	jv paths;		/* where values were replaced */
	size_t keys;		/* keys that were keys themselves */
} redaction;

static void
redacted(redaction *rd, const char *path)
{
	if (jv_array_length(jv_copy(rd->paths)) < REDACTED_LIST_MAX)
		rd->paths = jv_array_append(rd->paths, jv_string(path));
	rd->found++;
}

/*
 * v (consumed) with every secret replaced by "[REDACTED]": by the name of its key (under =
 * the class of the key it is under) and by its own shape; path names where it is
 */
static jv
redact(jv v, int under, const char *path, redaction *rd)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING: {
		const char *s = jv_string_value(v);
		size_t n = (size_t)jv_string_length_bytes(jv_copy(v)), found = 0;
		jv out;

		if (*s && !reference(s) && (under != PLAIN || key_shaped(s))) {
			jv_free(v);
			redacted(rd, path);
			return jv_string(REDACTED);
		}
		out = scrub(s, n, 1, &found);
		if (found)
			redacted(rd, path);
		jv_free(v);
		return out;
	}
	case JV_KIND_NUMBER:
		if (under == PLAIN)
			return v;
		jv_free(v);
		redacted(rd, path);
		return jv_string(REDACTED);
	case JV_KIND_ARRAY: {
		jv out = jv_array();

		jv_array_foreach(v, i, x) {
			char *p = xasprintf("%s[%d]", path, i);

			out = jv_array_append(out, redact(x, under, p, rd));
			free(p);
		}
		jv_free(v);
		return out;
	}
	case JV_KIND_OBJECT: {
		jv out = jv_object();

		jv_object_foreach(v, k, x) {
			size_t n = (size_t)jv_string_length_bytes(jv_copy(k)), found = 0;
			int c = key_class(jv_string_value(k));
			jv key = scrub(jv_string_value(k), n, 1, &found);
			char *p;

			if (found || key_shaped(jv_string_value(k))) {
				/* the key itself is a secret: it goes, a numbered stand-in comes */
				char *name = xasprintf(REDACTED "%zu", ++rd->keys);

				jv_free(key);
				key = jv_string(name);
				free(name);
				rd->found++;
			}
			p = *path ? xasprintf("%s.%s", path, jv_string_value(key))
			    : xstrdup(jv_string_value(key));
			/* under a secret everything is secret; auth is a section, not a secret */
			if (under == SECRET)
				c = SECRET;
			else if (c == AUTH && jv_get_kind(x) == JV_KIND_OBJECT)
				c = PLAIN;
			x = redact(x, c, p, rd);
			out = jv_object_set(out, key, x);
			free(p);
			jv_free(k);
		}
		jv_free(v);
		return out;
	}
	default:
		return v;
	}
}

/* ---- events ------------------------------------------------------------------------- */

/* ev (consumed) to stdout, its id from what changed and this run's number */
static void
put(run *r, jv ev)
{
	if (jsonl_put(stdout, ev))
		r->failed = 1;
	r->events++;
}

/* the length of ev printed, with room for the ingested_at mallcop-scan adds */
static int
fits(const run *r, jv ev)
{
	jv d = jv_dump_string(jv_copy(ev), 0);
	size_t n = (size_t)jv_string_length_bytes(jv_copy(d));

	jv_free(d);
	return n + 64 <= r->max;
}

static char *
id_key(const run *r, const char *type, const char *key, const char *hash)
{
	return xasprintf("%s:%s:%s:%.0f", type, key, hash, r->gen);
}

/* the front matter of a SKILL.md (already scrubbed): {name, description, version, author} */
static jv
front_matter(const char *text, char **err)
{
	const char *p = text, *start, *end = NULL;
	jv fm, out = jv_object();
	size_t n;

	*err = NULL;
	if (strncmp(p, "---", 3) || (p[3] != '\n' && strncmp(p + 3, "\r\n", 2)))
		return out;
	start = strchr(p, '\n') + 1;
	for (p = start; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		n = strcspn(p, "\n");
		while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 3 && !strncmp(p, "---", 3)) {
			end = p;
			break;
		}
	}
	if (!end) {
		*err = xstrdup("the front matter has no closing '---'");
		return out;
	}
	fm = yamljv_parse(start, (size_t)(end - start), NULL, err);
	if (jv_get_kind(fm) != JV_KIND_OBJECT) {
		if (!*err && jv_is_valid(fm))
			*err = xstrdup("the front matter is not a mapping");
		jv_free(fm);
		return out;
	}
	static const char *const keys[] = {"name", "description", "version", "author", NULL};
	for (int i = 0; keys[i]; i++) {
		jv v = jv_object_get(jv_copy(fm), jv_string(keys[i]));

		if (jv_get_kind(v) == JV_KIND_NUMBER)
			v = jv_dump_string(v, 0);
		if (jv_get_kind(v) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(v)) > 0)
			out = jv_object_set(out, jv_string(keys[i]), v);
		else
			jv_free(v);
	}
	jv_free(fm);
	return out;
}

/* the key of a skill in the cursor: its name, or '/' and its bytes in hex when they are not
 * UTF-8 (a name never holds '/', and two such names must not become one) */
static char *
skill_key(const char *name)
{
	jv v = jv_string(name);
	int same = streq(jv_string_value(v), name);
	char *k;

	jv_free(v);
	if (same)
		return xstrdup(name);
	k = xmalloc(2 * strlen(name) + 2);
	k[0] = '/';
	for (size_t i = 0; name[i]; i++)
		sprintf(k + 1 + 2 * i, "%02x", (unsigned char)name[i]);
	return k;
}

/* o[key] (o borrowed), or dflt (consumed) when o has none */
static jv
or(jv o, const char *key, jv dflt)
{
	jv v = jsonl_get(jv_copy(o), key);

	if (jv_is_valid(v)) {
		jv_free(dflt);
		return v;
	}
	return dflt;
}

/* what an installed or modified skill is, with keep bytes of its text */
static jv
skill_meta(const run *r, const char *name, const char *path, const content *c, size_t keep,
    const char *previous, jv extra)
{
	size_t found = 0;
	jv text = c->why ? jv_string("") : scrub(c->text, keep, 0, &found), fm, m;
	char *ferr = NULL;

	fm = front_matter(jv_string_value(text), &ferr);
	m = jv_object_set(jv_object(), jv_string("skill_name"), or(fm, "name", jv_string(name)));
	m = jv_object_set(m, jv_string("skill_dir"), jv_string(name));
	m = jv_object_set(m, jv_string("skill_description"), or(fm, "description", jv_null()));
	m = jv_object_set(m, jv_string("skill_version"), or(fm, "version", jv_string("0.0.0")));
	m = jv_object_set(m, jv_string("skill_author"), or(fm, "author", jv_null()));
	m = jv_object_set(m, jv_string("skill_content"), text);
	if (keep < c->size && !c->why)
		m = jv_object_set(m, jv_string("skill_content_truncated"), jv_true());
	m = jv_object_set(m, jv_string("skill_hash"), jv_string(c->hash));
	m = jv_object_set(m, jv_string("skill_size"), jv_number((double)c->size));
	m = jv_object_set(m, jv_string("skill_path"), jv_string(path));
	m = jv_object_set(m, jv_string("openclaw_home"), jv_string(r->home));
	if (previous)
		m = jv_object_set(m, jv_string("previous_hash"), jv_string(previous));
	if (c->why)
		m = jv_object_set(m, jv_string("skill_warning"), jv_string(c->why));
	if (ferr)
		m = jv_object_set(m, jv_string("skill_front_matter_error"), jv_string(ferr));
	if (found)
		m = jv_object_set(m, jv_string("secrets_redacted"), jv_number((double)found));
	free(ferr);
	jv_free(fm);
	return jv_object_merge(m, extra);
}

static void
skill_event(run *r, const char *type, const char *name, const char *key, const char *path,
    const content *c, const char *previous, jv extra)
{
	char *id = id_key(r, type, key, c->hash);

	for (size_t keep = c->len;; keep /= 2) {
		jv m = skill_meta(r, name, path, c, keep, previous, jv_copy(extra)), raw, ev;

		raw = jv_object_set(jv_object(), jv_string("skill_name"),
		    jsonl_get(jv_copy(m), "skill_name"));
		raw = jv_object_set(raw, jv_string("event_type"), jv_string(type));
		raw = jv_object_set(raw, jv_string("skill_hash"), jv_string(c->hash));
		ev = event_make(SOURCE, id, r->now, type, "filesystem", type, name, "info", m, raw);
		/* the event must fit max_event_bytes: less of the text until it does */
		if (keep == 0 || fits(r, ev)) {
			put(r, ev);
			break;
		}
		jv_free(ev);
	}
	jv_free(extra);
	free(id);
}

/*
 * The skills of one directory: the home's own (managed), or a workspace's, whose keys in the
 * cursor are "workspace:PATH/NAME" (never a name, which holds no '/', nor the hex form of one,
 * which starts with '/')
 */
typedef struct group {
	const char *dir;	/* its skills/ */
	const char *workspace;	/* NULL for the home's own */
	char *prefix;		/* of its keys */
} group;

/* what a group adds to its skills' events */
static jv
group_meta(const run *r, const group *g, const char *name)
{
	jv m = jv_object_set(jv_object(), jv_string("skill_source"),
	    jv_string(g->workspace ? "workspace" : "managed"));

	if (g->workspace) {
		m = jv_object_set(m, jv_string("workspace"), jv_string(g->workspace));
		/* a workspace skill takes the place of the installed one of its name */
		if (jv_object_has(jv_copy(r->managed), jv_string(name)))
			m = jv_object_set(m, jv_string("override_type"),
			    jv_string("workspace_overrides_managed"));
	}
	return m;
}

/* one entry of skills/: a skill when it is a directory (or a link to one) with a SKILL.md */
static void
skill(run *r, const group *g, const char *name)
{
	const char *dir = g->dir;
	char *path = xasprintf("%s/%s", dir, name), *md = xasprintf("%s/SKILL.md", path);
	char *bare = skill_key(name), *key = xasprintf("%s%s", g->prefix, bare), *real = NULL, *s;
	struct stat st;
	content c = {0};
	jv old = jsonl_get(jv_copy(r->old), key);
	int in;

	if (lstat(path, &st))
		goto out;	/* gone since the listing */
	in = resolve(r, path, &real);
	if (in < 0 && errno == ENOENT) {
		goto out;	/* a dangling link: no skill */
	} else if (in < 0) {
		s = shown(path);
		warnf("cannot read '%s':", s);
		free(s);
		r->failed = 1;
		goto keep;
	} else if (in == 0) {
		read_inside(r, path, 0, &c);	/* recorded as the link it is */
	} else if (stat(real, &st) || !S_ISDIR(st.st_mode)) {
		goto out;	/* a file beside the skills */
	} else if (lstat(md, &st)) {
		if (errno == ENOENT)
			goto out;	/* a directory that is not a skill */
		s = shown(md);
		warnf("cannot read '%s':", s);
		free(s);
		r->failed = 1;
		goto keep;
	} else if (r->nskills++ == SKILLS_MAX) {
		s = shown(path);
		warnf("more than %d skills: '%s' and those after it are not read (remove the skills "
		    "not in use)", SKILLS_MAX, s);
		free(s);
		r->failed = 1;
		goto keep;
	} else if (r->nskills > SKILLS_MAX) {
		goto keep;
	} else if (read_inside(r, md, CONTENT_MAX, &c)) {
		goto keep;
	}
	r->skills = jv_object_set(r->skills, jv_string(key), jv_string(c.hash));
	if (!g->workspace)
		r->managed = jv_object_set(r->managed, jv_string(name), jv_true());
	if (jv_get_kind(old) != JV_KIND_STRING)
		skill_event(r, "skill_installed", name, key, md, &c, NULL, group_meta(r, g, name));
	else if (!streq(jv_string_value(old), c.hash))
		skill_event(r, "skill_modified", name, key, md, &c, jv_string_value(old),
		    group_meta(r, g, name));
	goto out;
keep:
	/* unread is not removed: what the cursor knew of it stays */
	if (jv_get_kind(old) == JV_KIND_STRING)
		r->skills = jv_object_set(r->skills, jv_string(key), jv_copy(old));
	if (!g->workspace)
		r->managed = jv_object_set(r->managed, jv_string(name), jv_true());
out:
	free(bare);
	jv_free(old);
	free(c.text);
	free(real);
	free(key);
	free(md);
	free(path);
}

static int
bytewise(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* the skills the cursor knew that are not there any more */
static void
removed(run *r)
{
	jv keys = jv_keys(jv_copy(r->old));

	jv_array_foreach(keys, i, k) {
		(void)i;
		if (!jv_object_has(jv_copy(r->skills), jv_copy(k))) {
			const char *key = jv_string_value(k);
			jv hash = jsonl_get(jv_copy(r->old), key), name = jv_string(key), m;
			char *id;

			const char *ws = strncmp(key, "workspace:", 10) ? NULL : key + 10;

			if (ws) {	/* workspace:PATH/NAME */
				jv_free(name);
				name = jv_string(strrchr(key, '/') + 1);
			}
			if (*jv_string_value(name) == '/') {	/* not UTF-8: shown as its hex */
				jv n = jv_string(jv_string_value(name) + 1);

				jv_free(name);
				name = n;
			}
			m = jv_object_set(jv_object(), jv_string("skill_name"), jv_copy(name));
			if (ws)
				m = jv_object_set(m, jv_string("workspace"), jv_string_sized(ws,
				    (int)(strrchr(key, '/') - ws)));
			m = jv_object_set(m, jv_string("openclaw_home"), jv_string(r->home));
			m = jv_object_set(m, jv_string("previous_hash"), jv_copy(hash));
			id = id_key(r, "skill_removed", key, jv_get_kind(hash) == JV_KIND_STRING ?
			    jv_string_value(hash) : "");
			put(r, event_make(SOURCE, id, r->now, "skill_removed", "filesystem",
			    "skill_removed", jv_string_value(name), "info", m,
			    jv_object_set(jv_object_set(jv_object(), jv_string("skill_name"),
			    jv_copy(name)), jv_string("event_type"), jv_string("skill_removed"))));
			free(id);
			jv_free(hash);
			jv_free(name);
		}
		jv_free(k);
	}
	jv_free(keys);
}

/* the cursor's skills of group g kept as they were: its directory could not be read */
static void
keep_group(run *r, const group *g)
{
	jv_object_foreach(r->old, k, v) {
		int ws = !strncmp(jv_string_value(k), "workspace:", 10);

		if (g->workspace ? !strncmp(jv_string_value(k), g->prefix, strlen(g->prefix)) : !ws) {
			if (!g->workspace)
				r->managed = jv_object_set(r->managed, jv_copy(k), jv_true());
			r->skills = jv_object_set(r->skills, k, v);
		} else {
			jv_free(k);
			jv_free(v);
		}
	}
}

/* the skills of one skills/ directory; one that is not there has none */
static void
skills_in(run *r, const group *g)
{
	const char *dir = g->dir;
	char *real = NULL, *s;
	struct dirent **list = NULL;
	struct stat st;
	int n = -1, in;

	if (lstat(dir, &st) && errno == ENOENT)
		return;	/* no skills directory: no skills */
	in = resolve(r, dir, &real);
	if (in > 0)
		n = scandir(real, &list, NULL, bytewise);
	if (n < 0) {
		s = shown(dir);
		if (in == 0)
			warnf("'%s' leads out of the %s: not read", s, r->where);
		else
			warnf("cannot read '%s':", s);
		free(s);
		r->failed = 1;
		keep_group(r, g);	/* unread: what the cursor knew is kept as it was */
	} else {
		for (int i = 0; i < n; i++) {
			if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, ".."))
				skill(r, g, list[i]->d_name);
			free(list[i]);
		}
		free(list);
	}
	free(real);
}

/* a path from the configuration: ~ expanded, relative to the deployment; malloc'd */
static char *expand(const char *p);

/*
 * The home's skills, then each workspace's (workspace_dirs, else HOME/workspace when it has
 * skills/): a workspace skill of the same name as one of the home's overrides it in OpenClaw
 */
static void
skills(run *r, jv dirs)
{
	group g = {.prefix = xstrdup("")};
	char *dir = xasprintf("%s/skills", r->home);

	r->root = r->real;
	r->where = "OpenClaw home";
	g.dir = dir;
	skills_in(r, &g);
	free(dir);
	free(g.prefix);
	jv_array_foreach(dirs, i, d) {
		char *ws = expand(jv_string_value(d)), *real = realpath(ws, NULL), *s;

		(void)i;
		if (!real) {
			s = shown(ws);
			warnf("workspace_dirs: cannot read '%s':", s);
			free(s);
			r->failed = 1;
			g = (group){.workspace = ws, .prefix = xasprintf("workspace:%s/", ws)};
			keep_group(r, &g);
		} else {
			dir = xasprintf("%s/skills", ws);
			g = (group){.dir = dir, .workspace = ws,
			    .prefix = xasprintf("workspace:%s/", ws)};
			r->root = real;
			r->where = "workspace";
			skills_in(r, &g);
			free(dir);
		}
		free(g.prefix);
		free(real);
		free(ws);
		jv_free(d);
	}
	jv_free(dirs);
	r->root = r->real;
	r->where = "OpenClaw home";
	removed(r);
}

/* ---- openclaw.json ------------------------------------------------------------------ */

/*
 * JSON5 as OpenClaw writes it, as JSON: comments and trailing commas outside strings removed
 * (in place; n the new length). Unquoted keys and single quotes are left for the parser to
 * refuse.
 */
static size_t
json5_lite(char *s, size_t n)
{
	size_t o = 0, i = 0;
	char q = 0;

	while (i < n) {
		char c = s[i];

		if (q) {
			s[o++] = c;
			if (c == '\\' && i + 1 < n)
				s[o++] = s[++i];
			else if (c == q)
				q = 0;
			i++;
		} else if (c == '"') {
			q = c;
			s[o++] = s[i++];
		} else if (c == '/' && i + 1 < n && s[i + 1] == '/') {
			while (i < n && s[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			for (i += 2; i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'); i++)
				;
			i += 2;
		} else if (c == ',') {
			size_t j = i + 1;

			while (j < n && strchr(" \t\r\n", s[j]))
				j++;
			if (j >= n || (s[j] != '}' && s[j] != ']'))
				s[o++] = c;
			i++;
		} else {
			s[o++] = s[i++];
		}
	}
	return o;
}

/* openclaw.json, when it changed since old_hash; its hash now (malloc'd: "" when there is
 * none, old_hash when it could not be read) */
static char *
config(run *r, const char *old_hash)
{
	char *path = xasprintf("%s/openclaw.json", r->home), *why = NULL, *id, *s;
	redaction rd = {.paths = jv_array()};
	content c = {0};
	struct stat st;
	size_t in_text = 0;	/* keys of known shapes anywhere in the text, comments too */
	jv conf = jv_object(), m, raw, ev;

	if (lstat(path, &st) && errno == ENOENT) {
		if (*old_hash) {	/* there before, gone now */
			m = jv_object_set(jv_object(), jv_string("config"), jv_object());
			m = jv_object_set(m, jv_string("config_hash"), jv_string(""));
			m = jv_object_set(m, jv_string("previous_hash"), jv_string(old_hash));
			m = jv_object_set(m, jv_string("config_removed"), jv_true());
			m = jv_object_set(m, jv_string("openclaw_home"), jv_string(r->home));
			raw = jv_object_set(jv_object(), jv_string("config_hash"), jv_string(""));
			raw = jv_object_set(raw, jv_string("path"), jv_string(path));
			raw = jv_object_set(raw, jv_string("secrets_found"), jv_false());
			id = id_key(r, "config_changed", "openclaw.json", "");
			put(r, event_make(SOURCE, id, r->now, "config_changed", "filesystem",
			    "config_changed", path, "warn", m, raw));
			free(id);
		}
		goto out;
	}
	if (read_inside(r, path, CONFIG_MAX, &c)) {
		snprintf(c.hash, sizeof c.hash, "%s", old_hash);	/* unread is not changed */
		goto out;
	}
	if (streq(c.hash, old_hash))
		goto out;
	if (c.text)	/* of a file too large to parse, its first CONFIG_MAX bytes */
		jv_free(scrub(c.text, c.len, 1, &in_text));
	if (c.why) {
		why = xasprintf("%s: not read", c.why);
	} else if (c.size > CONFIG_MAX) {
		why = xasprintf("larger than %d MiB: not read (its hash is still watched)",
		    CONFIG_MAX >> 20);
		s = shown(path);
		warnf("'%s' is %s", s, why);
		free(s);
	} else {
		size_t n;
		jv v;

		n = json5_lite(c.text, c.len);
		v = jsonl_parse(c.text, n);

		if (!jv_is_valid(v)) {
			jv msg = jv_invalid_get_msg(v);
			/* libjq's message ends by quoting the text: it is not repeated */
			const char *t = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) :
			    "not JSON";
			int k = (int)strcspn(t, "(\n");

			why = xasprintf("not JSON: %.*s", k > 0 && t[k - 1] == ' ' ? k - 1 : k, t);
			jv_free(msg);
			s = shown(path);
			warnf("'%s' is %s (the change is recorded without its content)", s, why);
			free(s);
		} else {
			jv_free(conf);
			conf = redact(v, PLAIN, "", &rd);
		}
	}
	for (;;) {
		m = jv_object_set(jv_object(), jv_string("config"), conf);
		conf = jv_null();
		m = jv_object_set(m, jv_string("config_hash"), jv_string(c.hash));
		if (*old_hash)
			m = jv_object_set(m, jv_string("previous_hash"), jv_string(old_hash));
		m = jv_object_set(m, jv_string("secrets_found"), jv_bool(rd.found + in_text > 0));
		m = jv_object_set(m, jv_string("redacted_keys"), jv_copy(rd.paths));
		if (why)
			m = jv_object_set(m, jv_string("config_error"), jv_string(why));
		m = jv_object_set(m, jv_string("openclaw_home"), jv_string(r->home));
		raw = jv_object_set(jv_object(), jv_string("config_hash"), jv_string(c.hash));
		raw = jv_object_set(raw, jv_string("path"), jv_string(path));
		raw = jv_object_set(raw, jv_string("secrets_found"), jv_bool(rd.found + in_text > 0));
		id = id_key(r, "config_changed", "openclaw.json", c.hash);
		ev = event_make(SOURCE, id, r->now, "config_changed", "filesystem",
		    "config_changed", path, "warn", m, raw);
		free(id);
		if (fits(r, ev) || why)
			break;
		jv_free(ev);
		why = xstrdup("too large for max_event_bytes once redacted: not included");
		conf = jv_object();
	}
	put(r, ev);
out:
	jv_free(conf);
	jv_free(rd.paths);
	free(why);
	free(c.text);
	free(path);
	return xstrdup(c.hash);
}

/* ---- the home and the cursor -------------------------------------------------------- */

static char *
expand(const char *p)
{
	const char *h = getenv("HOME"), *dir = getenv("MALLCOP_DIR");
	char *out;

	if (p[0] == '~' && (p[1] == '/' || !p[1])) {
		if (!h || !*h)
			die(EXIT_USAGE, "HOME is not set: give '%s' as a whole path in the "
			    "connector's configuration", p);
		out = xasprintf("%s%s", h, p + 1);
	} else if (p[0] != '/' && dir && *dir) {
		out = xasprintf("%s/%s", dir, p);
	} else {
		out = xstrdup(p);
	}
	while (strlen(out) > 1 && out[strlen(out) - 1] == '/')
		out[strlen(out) - 1] = 0;
	return out;
}

/* openclaw_home, else ~/.openclaw */
static char *
home_of(jv cfg)
{
	jv v = jsonl_get(jv_copy(cfg), "openclaw_home");
	char *out;

	if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v))
		out = expand(jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_INVALID || jv_get_kind(v) == JV_KIND_NULL)
		out = expand("~/.openclaw");
	else
		die(EXIT_USAGE, "openclaw_home: must be the path of the OpenClaw home directory");
	jv_free(v);
	return out;
}

/* workspace_dirs: a path or a list of them; else HOME/workspace when it holds skills/ */
static jv
workspaces_of(jv cfg, const char *home)
{
	jv v = jsonl_get(jv_copy(cfg), "workspace_dirs"), out = jv_array();
	char *dflt;
	struct stat st;

	if (jv_get_kind(v) == JV_KIND_STRING)
		v = jv_array_append(jv_array(), v);
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		jv_array_foreach(v, i, d) {
			(void)i;
			if (jv_get_kind(d) != JV_KIND_STRING || !*jv_string_value(d))
				die(EXIT_USAGE, "workspace_dirs: must be a list of directories");
			out = jv_array_append(out, d);
		}
	} else if (jv_get_kind(v) != JV_KIND_INVALID && jv_get_kind(v) != JV_KIND_NULL) {
		die(EXIT_USAGE, "workspace_dirs: must be a list of directories");
	} else {
		dflt = xasprintf("%s/workspace/skills", home);
		if (lstat(dflt, &st) == 0)
			out = jv_array_append(out, jv_string_fmt("%s/workspace", home));
		free(dflt);
	}
	jv_free(v);
	return out;
}

/*
 * The state a cursor holds: {"version": 1, "run": N, "skills": {KEY: HASH}, "config_hash"};
 * the earlier implementation's {"skill_hashes", "config_hash"} is read too
 */
static jv
state_of(const char *cursor, double *gen, char **config_hash)
{
	jv c = cursor ? jv_parse(cursor) : jv_object(), sk, ch;

	*gen = 0;
	*config_hash = xstrdup("");
	if (jv_get_kind(c) != JV_KIND_OBJECT) {
		warnf("--cursor is not a state this connector wrote: every skill and the "
		    "configuration are reported as new");
		jv_free(c);
		return jv_object();
	}
	*gen = jsonl_num(c, "run", 0);
	if (*gen < 0 || *gen > 1e15)
		*gen = 0;
	*gen = (double)(long long)*gen;
	ch = jsonl_get(jv_copy(c), "config_hash");
	if (jv_get_kind(ch) == JV_KIND_STRING) {
		free(*config_hash);
		*config_hash = xstrdup(jv_string_value(ch));
	}
	jv_free(ch);
	sk = jsonl_get(jv_copy(c), "skills");
	if (jv_get_kind(sk) != JV_KIND_OBJECT) {
		jv_free(sk);
		sk = jsonl_get(jv_copy(c), "skill_hashes");
	}
	jv_free(c);
	if (jv_get_kind(sk) != JV_KIND_OBJECT) {
		jv_free(sk);
		return jv_object();
	}
	/* only strings are hashes: anything else is forgotten, as if never seen */
	jv out = jv_object();
	jv_object_foreach(sk, k, v) {
		if (jv_get_kind(v) == JV_KIND_STRING)
			out = jv_object_set(out, k, v);
		else {
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(sk);
	return out;
}

int
main(int argc, char **argv)
{
	const char *cursor = NULL;
	char *old_config, *config_hash, *err = NULL, *s;
	int64_t since;
	run r = {0};
	struct stat st;
	jv cfg, cur, dirs;
	int rc;

	setargv0(argv[0]);
	cfg = cli_connector(argc, argv, usage, &cursor, &since);
	if (event_max_bytes(NULL, &r.max, &err))
		die(EXIT_USAGE, "%s", err);
	r.home = home_of(cfg);
	dirs = workspaces_of(cfg, r.home);
	jv_free(cfg);
	s = shown(r.home);
	if (stat(r.home, &st))
		die(EXIT_WORK, errno == ENOENT ? "no OpenClaw home at '%s': install OpenClaw, or "
		    "set openclaw_home in the connector's configuration to its directory" :
		    "cannot read the OpenClaw home '%s':", s);
	if (!S_ISDIR(st.st_mode))
		die(EXIT_WORK, "the OpenClaw home '%s' is not a directory: set openclaw_home to "
		    "the directory that holds openclaw.json and skills/", s);
	if (!(r.real = realpath(r.home, NULL)) || access(r.real, R_OK | X_OK))
		die(EXIT_WORK, "cannot read the OpenClaw home '%s': give the user mallcop runs as "
		    "read access to it:", s);
	free(s);

	r.old = state_of(cursor, &r.gen, &old_config);
	/*
	 * ids are made of what changed and this run's number: a run that failed and is run again
	 * repeats its ids (mallcop-scan keeps one of each), while a skill removed and installed
	 * again later is a new event
	 */
	r.gen += 1;
	r.now = ts_now();
	r.now -= r.now % TS_SECOND;
	r.skills = jv_object();
	r.managed = jv_object();
	skills(&r, dirs);
	r.root = r.real;
	r.where = "OpenClaw home";
	config_hash = config(&r, old_config);

	cur = jv_object_set(jv_object(), jv_string("version"), jv_number(1));
	cur = jv_object_set(cur, jv_string("run"), jv_number(r.gen));
	cur = jv_object_set(cur, jv_string("skills"), r.skills);
	cur = jv_object_set(cur, jv_string("config_hash"), jv_string(config_hash));
	free(config_hash);
	cur = jv_dump_string(cur, 0);
	rc = cli_connector_end(r.failed, r.events, 0, jv_string_value(cur));
	jv_free(cur);
	jv_free(r.old);
	jv_free(r.managed);
	free(old_config);
	free(r.home);
	free(r.real);
	return rc;
}
