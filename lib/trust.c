#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sshsig.h"
#include "store.h"
#include "trust.h"
#include "ts.h"
#include "util.h"
#include "yamljv.h"

typedef struct tkey {
	char *identity, *key, *file;
	int line, anchor;
	const char *source;
} tkey;

typedef struct tend {
	char *endorser, *identity, *level, *scope, *reason, *file;
	int64_t expires;
} tend;

typedef struct trev {
	char *revoker, *identity, *key, *reason, *revoked_at, *file;
} trev;

struct trust {
	tkey *keys;	/* anchors first (built-in, then the trust dir's), then the keyring */
	size_t nkeys;
	tend *ends;	/* in file-name order, then in file order */
	size_t nends;
	trev *revs;
	size_t nrevs;
	jv problems;
};

int
trust_identity_ok(const char *id)
{
	const unsigned char *p = (const unsigned char *)id;

	if (!id || !*id)
		return 0;
	for (; *p; p++)
		/* C0, space, DEL, and C1 controls as UTF-8 (C2 80..C2 9F) */
		if (*p <= ' ' || *p == 0x7f || (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return 0;
	return 1;
}

static void
problem(trust *t, const char *file, char *msg)
{
	jv p = jv_object_set(jv_object(), jv_string("file"), jv_string(file));

	t->problems = jv_array_append(t->problems, jv_object_set(p, jv_string("error"),
	    jv_string(msg)));
	free(msg);
}

static const tkey *
key_entry(const trust *t, const char *identity)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (streq(t->keys[i].identity, identity))
			return &t->keys[i];
	return NULL;
}

static int
is_anchor(const trust *t, const char *identity)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (t->keys[i].anchor && streq(t->keys[i].identity, identity))
			return 1;
	return 0;
}

const char *
trust_key(const trust *t, const char *identity)
{
	const tkey *k = key_entry(t, identity);

	return k ? k->key : NULL;
}

int
trust_revoked(const trust *t, const char *identity)
{
	const char *key = trust_key(t, identity);

	for (size_t i = 0; i < t->nrevs; i++)
		if ((t->revs[i].identity && streq(t->revs[i].identity, identity)) ||
		    (t->revs[i].key && key && streq(t->revs[i].key, key)))
			return 1;
	return 0;
}

static const trev *
revocation(const trust *t, const char *identity)
{
	const char *key = trust_key(t, identity);

	for (size_t i = 0; i < t->nrevs; i++)
		if ((t->revs[i].identity && streq(t->revs[i].identity, identity)) ||
		    (t->revs[i].key && key && streq(t->revs[i].key, key)))
			return &t->revs[i];
	return NULL;
}

/* "KEYTYPE BASE64" of a key line, or NULL and *err */
static char *
normal_key(const char *line, char **err)
{
	char *type = NULL, *b64 = NULL, *k;

	if (sshsig_pubkey_parse(line, &type, &b64, NULL, err))
		return NULL;
	k = xasprintf("%s %s", type, b64);
	free(type);
	free(b64);
	return k;
}

/* an anchors or keyring file: "IDENTITY KEYTYPE BASE64 [...]" lines */
static int
load_keys(trust *t, const char *path, int anchor, const char *source, int must, char **err)
{
	size_t len;
	char *text = store_read(path, &len, err);
	int line = 0;

	if (!text) {
		if (*err)
			return -1;
		if (must)
			problem(t, path, xstrdup("the built-in anchors file is missing"));
		return 0;
	}
	if (memchr(text, 0, len))
		problem(t, path, xstrdup("a NUL byte: the file is not a list of keys"));
	for (char *ln = text, *nl; ln < text + len && *ln; ln = nl) {
		char *f[3], *kerr = NULL, *key, *p = ln;
		const tkey *had;
		int n = 0;

		nl = strchr(ln, '\n');
		nl = nl ? nl + 1 : ln + strlen(ln);
		line++;
		if (nl > ln && nl[-1] == '\n')
			nl[-1] = 0;
		while (n < 3) {
			p += strspn(p, " \t\r\f\v");
			if (!*p)
				break;
			f[n++] = p;
			p += strcspn(p, " \t\r\f\v");
			if (*p)
				*p++ = 0;
		}
		if (n == 0 || f[0][0] == '#')
			continue;
		if (n < 3) {
			problem(t, path, xasprintf("line %d: expected IDENTITY KEYTYPE BASE64", line));
			continue;
		}
		if (!trust_identity_ok(f[0])) {
			problem(t, path, xasprintf("line %d: the identity has a control character",
			    line));
			continue;
		}
		p = xasprintf("%s %s", f[1], f[2]);
		key = normal_key(p, &kerr);
		free(p);
		if (!key) {
			problem(t, path, xasprintf("line %d: %s: %s", line, f[0], kerr));
			free(kerr);
			continue;
		}
		if ((had = key_entry(t, f[0])) && !streq(had->key, key)) {
			problem(t, path, xasprintf("line %d: '%s' already has another key (%s line "
			    "%d); this line is left out", line, f[0], had->file, had->line));
			free(key);
			continue;
		}
		if (had && had->anchor == anchor) {
			free(key);
			continue;
		}
		t->keys = xrealloc(t->keys, (t->nkeys + 1) * sizeof *t->keys);
		t->keys[t->nkeys++] = (tkey){xstrdup(f[0]), key, xstrdup(path), line, anchor,
		    source};
	}
	free(text);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the names in dir ending in ext, sorted; -1 and *err when it is there but cannot be read */
static int
names(const char *dir, const char *ext, char ***out, size_t *n, char **err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t el = strlen(ext);

	*out = NULL;
	*n = 0;
	if (!d) {
		if (errno == ENOENT)
			return 0;
		*err = xasprintf("cannot read '%s': %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l > el && !strcmp(e->d_name + l - el, ext) && e->d_name[0] != '.') {
			*out = xrealloc(*out, (*n + 1) * sizeof **out);
			(*out)[(*n)++] = xstrdup(e->d_name);
		}
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof **out, by_name);
	return 0;
}

static void
names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static const char *
str(jv o, const char *key)
{
	jv v;
	const char *s;

	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return NULL;
	v = jv_object_get(jv_copy(o), jv_string(key));
	s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
	/* o holds a reference, so the string outlives v */
	jv_free(v);
	return s;
}

/* an expiry as written ("2027-01-01T00:00:00+00:00", a bare date taken as midnight UTC) */
static int
expiry(const char *s, int64_t *us)
{
	char buf[32];

	if (!s)
		return -1;
	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
		snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
		s = buf;
	}
	return ts_parse(s, us);
}

/*
 * A signed YAML file: its document, an object whose field who names a signer the web holds
 * a key for (an anchor when anchor_only), when its signature by that key verifies. jv_null()
 * when it is left out (the problem listed), jv_invalid() and *err when it cannot be read.
 */
static jv
signed_doc(trust *t, const char *path, const char *ns, const char *who, int anchor_only,
    char **err)
{
	char *sigpath = xasprintf("%s.sig", path), *text, *sig = NULL, *perr = NULL, *verr = NULL;
	size_t len, siglen;
	const char *signer, *key;
	jv doc = jv_null();

	if (!(text = store_read(path, &len, err))) {
		if (*err)
			doc = jv_invalid();
		goto out;
	}
	if (!(sig = store_read(sigpath, &siglen, err))) {
		if (*err)
			doc = jv_invalid();
		else
			problem(t, path, xasprintf("unsigned: there is no '%s'", sigpath));
		goto out;
	}
	doc = yamljv_parse(text, len, NULL, &perr);
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		problem(t, path, perr ? xasprintf("line %s", perr) : xstrdup("not a YAML mapping"));
		goto left_out;
	}
	signer = str(doc, who);
	if (!signer || !trust_identity_ok(signer)) {
		problem(t, path, xasprintf("'%s' is missing or not an identity", who));
		goto left_out;
	}
	if (!(key = trust_key(t, signer))) {
		problem(t, path, xasprintf("signed by '%s', who is neither an anchor nor in the "
		    "keyring", signer));
		goto left_out;
	}
	if (anchor_only && !is_anchor(t, signer)) {
		problem(t, path, xasprintf("signed by '%s', who is not an anchor: only an "
		    "anchor's revocations count", signer));
		goto left_out;
	}
	if (sshsig_verify(sig, siglen, text, len, ns, key, &verr)) {
		problem(t, path, xasprintf("the signature of '%s' does not verify (%s): the file "
		    "was changed after signing, or signed with another key", signer, verr));
		goto left_out;
	}
	goto out;
left_out:
	jv_free(doc);
	doc = jv_null();
out:
	free(perr);
	free(verr);
	free(text);
	free(sig);
	free(sigpath);
	return doc;
}

/* one entry of a signed file, by signer: kept in t, or a problem listed */
typedef void (*entry_fn)(trust *t, const char *path, const char *signer, int i, jv e);

static void
endorsement(trust *t, const char *path, const char *endorser, int i, jv e)
{
	const char *id = str(e, "identity"), *level = str(e, "trust_level");
	const char *scope = str(e, "scope"), *reason = str(e, "reason");
	int64_t exp;

	if (!id || !trust_identity_ok(id))
		problem(t, path, xasprintf("endorsements[%d]: 'identity' is missing or not an "
		    "identity", i));
	else if (!level || (!streq(level, "full") && !streq(level, "author")))
		problem(t, path, xasprintf("endorsements[%d]: 'trust_level' is not full or author",
		    i));
	else if (!scope || !*scope)
		problem(t, path, xasprintf("endorsements[%d]: 'scope' is missing", i));
	else if (expiry(str(e, "expires"), &exp))
		problem(t, path, xasprintf("endorsements[%d]: 'expires' is missing or not a time",
		    i));
	else {
		t->ends = xrealloc(t->ends, (t->nends + 1) * sizeof *t->ends);
		t->ends[t->nends++] = (tend){xstrdup(endorser), xstrdup(id), xstrdup(level),
		    xstrdup(scope), xstrdup(reason ? reason : ""), xstrdup(path), exp};
	}
}

static void
revoked(trust *t, const char *path, const char *revoker, int i, jv e)
{
	const char *id = str(e, "identity"), *k = str(e, "key");
	const char *reason = str(e, "reason"), *at = str(e, "revoked_at");
	char *key = NULL, *kerr = NULL;

	if (!id == !k)
		problem(t, path, xasprintf("revoked[%d]: give one of 'identity' and 'key'", i));
	else if (id && !trust_identity_ok(id))
		problem(t, path, xasprintf("revoked[%d]: 'identity' is not an identity", i));
	else if (k && !(key = normal_key(k, &kerr)))
		problem(t, path, xasprintf("revoked[%d]: 'key': %s", i, kerr));
	else {
		t->revs = xrealloc(t->revs, (t->nrevs + 1) * sizeof *t->revs);
		t->revs[t->nrevs++] = (trev){xstrdup(revoker), id ? xstrdup(id) : NULL, key,
		    xstrdup(reason ? reason : ""), xstrdup(at ? at : ""), xstrdup(path)};
	}
	free(kerr);
}

/* every dir/sub/NAME.ext that verifies, each entry of its list given to fn */
static int
load_signed(trust *t, const char *dir, const char *sub, const char *ext, const char *ns,
    const char *who, int anchor_only, const char *list, entry_fn fn, char **err)
{
	char *d = xasprintf("%s/%s", dir, sub), **files;
	size_t n;
	int r = names(d, ext, &files, &n, err);

	for (size_t f = 0; !r && f < n; f++) {
		char *path = xasprintf("%s/%s", d, files[f]);
		jv doc = signed_doc(t, path, ns, who, anchor_only, err), v;

		if (!jv_is_valid(doc))
			r = -1;
		if (jv_get_kind(doc) == JV_KIND_OBJECT) {
			char *signer = xstrdup(str(doc, who));

			v = jv_object_get(doc, jv_string(list));
			if (jv_get_kind(v) != JV_KIND_ARRAY)
				problem(t, path, xasprintf("'%s' is not a list", list));
			else
				jv_array_foreach(v, i, e) {
					fn(t, path, signer, i, e);
					jv_free(e);
				}
			jv_free(v);
			free(signer);
		} else {
			jv_free(doc);
		}
		free(path);
	}
	names_free(files, n);
	free(d);
	return r;
}

trust *
trust_load(const char *dir, const char *builtin, char **err)
{
	trust *t = xcalloc(1, sizeof *t);
	char *anchors = xasprintf("%s/anchors", dir), *keyring = xasprintf("%s/keyring", dir);
	int r;

	*err = NULL;
	t->problems = jv_array();
	r = (builtin && load_keys(t, builtin, 1, "built-in", 1, err)) ||
	    load_keys(t, anchors, 1, "trust-dir", 0, err) ||
	    load_keys(t, keyring, 0, "keyring", 0, err) ||
	    load_signed(t, dir, "endorsements", ".endorse", TRUST_NS_ENDORSE, "endorser", 0,
	    "endorsements", endorsement, err) ||
	    load_signed(t, dir, "revocations", ".revoke", TRUST_NS_REVOKE, "revoker", 1,
	    "revoked", revoked, err);
	free(anchors);
	free(keyring);
	if (r) {
		trust_free(t);
		return NULL;
	}
	return t;
}

void
trust_free(trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nkeys; i++) {
		free(t->keys[i].identity);
		free(t->keys[i].key);
		free(t->keys[i].file);
	}
	for (size_t i = 0; i < t->nends; i++) {
		tend *e = &t->ends[i];

		free(e->endorser);
		free(e->identity);
		free(e->level);
		free(e->scope);
		free(e->reason);
		free(e->file);
	}
	for (size_t i = 0; i < t->nrevs; i++) {
		trev *v = &t->revs[i];

		free(v->revoker);
		free(v->identity);
		free(v->key);
		free(v->reason);
		free(v->revoked_at);
		free(v->file);
	}
	free(t->keys);
	free(t->ends);
	free(t->revs);
	jv_free(t->problems);
	free(t);
}

jv
trust_problems(const trust *t)
{
	return jv_copy(t->problems);
}

/* the breadth-first search from the anchors */
typedef struct node {
	const char *id;
	long parent;	/* index in the queue, -1 for an anchor */
	int full;	/* reached by a "full" endorsement (or an anchor): it may endorse */
} node;

typedef struct search {
	const trust *t;
	const char *skill;
	int64_t now;
	node *q;
	size_t n;
	int budget;	/* reasons left to give, so that a dense web cannot make why endless */
} search;

static long
reached(const search *s, const char *id, int full)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->q[i].id, id) && (!full || s->q[i].full))
			return (long)i;
	return -1;
}

static void
push(search *s, const char *id, long parent, int full)
{
	s->q = xrealloc(s->q, (s->n + 1) * sizeof *s->q);
	s->q[s->n++] = (node){id, parent, full};
}

/*
 * fnmatch without escapes, as the earlier implementation matched; "[^" there is a set holding
 * a caret, and here a negation, which would match more: a scope with it matches nothing
 */
static int
in_scope(const tend *e, const char *skill)
{
	return !strstr(e->scope, "[^") && fnmatch(e->scope, skill, FNM_NOESCAPE) == 0;
}

static jv
path_to(const search *s, long i, const char *last)
{
	jv p = last ? jv_array_append(jv_array(), jv_string(last)) : jv_array();

	for (; i >= 0; i = s->q[i].parent)
		p = jv_array_concat(jv_array_append(jv_array(), jv_string(s->q[i].id)), p);
	return p;
}

/* 1 and *path when target is reached; the queue holds everything reached either way */
static int
bfs(search *s, const char *target, jv *path)
{
	const trust *t = s->t;

	for (size_t i = 0; i < t->nkeys; i++)
		if (t->keys[i].anchor && reached(s, t->keys[i].identity, 0) < 0 &&
		    !trust_revoked(t, t->keys[i].identity))
			push(s, t->keys[i].identity, -1, 1);
	*path = jv_null();
	if (reached(s, target, 1) >= 0) {
		*path = path_to(s, reached(s, target, 1), NULL);
		return 1;
	}
	for (size_t h = 0; h < s->n; h++) {
		if (!s->q[h].full)
			continue;
		for (size_t i = 0; i < t->nends; i++) {
			const tend *e = &t->ends[i];
			int full = streq(e->level, "full");

			if (!streq(e->endorser, s->q[h].id) || e->expires <= s->now ||
			    !in_scope(e, s->skill) || trust_revoked(t, e->identity))
				continue;
			if (streq(e->identity, target)) {
				*path = path_to(s, (long)h, target);
				return 1;
			}
			if (reached(s, e->identity, full) < 0)
				push(s, e->identity, (long)h, full);
		}
	}
	return 0;
}

static void
join(char **out, char *reason)
{
	char *j;

	if (!*out) {
		*out = reason;
		return;
	}
	j = xasprintf("%s; %s", *out, reason);
	free(*out);
	free(reason);
	*out = j;
}

/* why n, not reached by a "full" path, has none: each endorsement of it, and why it fails */
/* seen: n and the identities it is explained for (depth of them, at most 8) */
static char *
why_not(search *s, const char *n, const char **seen, int depth)
{
	const trust *t = s->t;
	const trev *rv = revocation(t, n);
	char *out = NULL, ts[TS_BUFSZ];
	long a;

	if (rv && rv->identity)
		return xasprintf("'%s' is revoked (%s, by '%s')", n, rv->file, rv->revoker);
	if (rv)
		return xasprintf("'%s' is revoked: its key is (%s, by '%s')", n, rv->file,
		    rv->revoker);
	seen[depth] = n;
	for (size_t i = 0; i < t->nends; i++) {
		const tend *e = &t->ends[i];
		int cycle = 0;

		if (!streq(e->identity, n))
			continue;
		if (s->budget-- <= 0) {
			join(&out, xstrdup("..."));
			break;
		}
		for (int k = 0; k <= depth; k++)
			cycle |= streq(seen[k], e->endorser);
		if (e->expires <= s->now)
			join(&out, xasprintf("the endorsement of '%s' by '%s' (%s) expired on %s", n,
			    e->endorser, e->file, ts_format(e->expires, ts)));
		else if (!in_scope(e, s->skill))
			join(&out, xasprintf("the endorsement of '%s' by '%s' (%s) has scope '%s', "
			    "which does not match '%s'", n, e->endorser, e->file, e->scope, s->skill));
		else if (trust_revoked(t, e->endorser))
			join(&out, xasprintf("'%s', who endorses '%s', is revoked (%s)", e->endorser,
			    n, revocation(t, e->endorser)->file));
		else if (reached(s, e->endorser, 1) >= 0)
			join(&out, xasprintf("the endorsement of '%s' by '%s' (%s) is not usable", n,
			    e->endorser, e->file));
		else if ((a = reached(s, e->endorser, 0)) >= 0)
			join(&out, xasprintf("'%s' has level author (endorsed by '%s'), so it cannot "
			    "endorse '%s'", e->endorser, s->q[s->q[a].parent].id, n));
		else if (cycle)
			join(&out, xasprintf("'%s' endorses '%s': a cycle that reaches no anchor",
			    e->endorser, n));
		else if (depth >= 8)
			join(&out, xasprintf("'%s' endorses '%s' but has no trust path", e->endorser,
			    n));
		else {
			char *sub = why_not(s, e->endorser, seen, depth + 1);

			join(&out, xasprintf("'%s' endorses '%s' but has no trust path (%s)",
			    e->endorser, n, sub));
			free(sub);
		}
	}
	return out ? out : xasprintf("no one endorses '%s'", n);
}

jv
trust_path(const trust *t, const char *identity, const char *skill, time_t now, char **why)
{
	search s = {t, skill ? skill : "*", (int64_t)now * TS_SECOND, NULL, 0, 64};
	const char *seen[9];
	char *reason;
	jv path;

	*why = NULL;
	if (!trust_identity_ok(identity)) {
		*why = xstrdup("an identity has no whitespace or control character");
		return jv_invalid();
	}
	if (bfs(&s, identity, &path)) {
		free(s.q);
		return path;
	}
	jv_free(path);
	if (!s.n)
		reason = xstrdup("there is no anchor that is not revoked");
	else
		reason = why_not(&s, identity, seen, 0);
	*why = reason;
	free(s.q);
	return jv_invalid();
}

static jv
key_list(const trust *t, int anchor)
{
	jv out = jv_array();

	for (size_t i = 0; i < t->nkeys; i++) {
		const tkey *k = &t->keys[i];
		char *fp;
		jv o;

		if (k->anchor != anchor)
			continue;
		fp = sshsig_fingerprint(k->key);
		o = jv_object_set(jv_object(), jv_string("identity"), jv_string(k->identity));
		o = jv_object_set(o, jv_string("key"), jv_string(k->key));
		o = jv_object_set(o, jv_string("fingerprint"), fp ? jv_string(fp) : jv_null());
		if (anchor)
			o = jv_object_set(o, jv_string("source"), jv_string(k->source));
		o = jv_object_set(o, jv_string("file"), jv_string(k->file));
		o = jv_object_set(o, jv_string("line"), jv_number(k->line));
		out = jv_array_append(out, o);
		free(fp);
	}
	return out;
}

jv
trust_list(const trust *t)
{
	jv ends = jv_object(), revs = jv_array(), out;
	char ts[TS_BUFSZ];

	for (size_t i = 0; i < t->nends; i++) {
		const tend *e = &t->ends[i];
		jv o = jv_object_set(jv_object(), jv_string("identity"), jv_string(e->identity));
		jv had = jv_object_get(jv_copy(ends), jv_string(e->endorser));

		o = jv_object_set(o, jv_string("trust_level"), jv_string(e->level));
		o = jv_object_set(o, jv_string("scope"), jv_string(e->scope));
		o = jv_object_set(o, jv_string("reason"), jv_string(e->reason));
		o = jv_object_set(o, jv_string("expires"), jv_string(ts_format(e->expires, ts)));
		o = jv_object_set(o, jv_string("file"), jv_string(e->file));
		if (!jv_is_valid(had)) {
			jv_free(had);
			had = jv_array();
		}
		ends = jv_object_set(ends, jv_string(e->endorser), jv_array_append(had, o));
	}
	for (size_t i = 0; i < t->nrevs; i++) {
		const trev *v = &t->revs[i];
		jv o = jv_object_set(jv_object(), jv_string("revoker"), jv_string(v->revoker));

		if (v->identity)
			o = jv_object_set(o, jv_string("identity"), jv_string(v->identity));
		else
			o = jv_object_set(o, jv_string("key"), jv_string(v->key));
		o = jv_object_set(o, jv_string("reason"), jv_string(v->reason));
		o = jv_object_set(o, jv_string("revoked_at"), jv_string(v->revoked_at));
		revs = jv_array_append(revs, jv_object_set(o, jv_string("file"),
		    jv_string(v->file)));
	}
	out = jv_object_set(jv_object(), jv_string("anchors"), key_list(t, 1));
	out = jv_object_set(out, jv_string("keyring"), key_list(t, 0));
	out = jv_object_set(out, jv_string("endorsements"), ends);
	out = jv_object_set(out, jv_string("revocations"), revs);
	return jv_object_set(out, jv_string("problems"), jv_copy(t->problems));
}

static jv
fail(char *msg)
{
	jv r = jv_invalid_with_msg(jv_string(msg));

	free(msg);
	return r;
}

static int
mkdirs(const char *path, char **err)
{
	char *p = xstrdup(path);
	int r = 0;

	for (char *s = p + 1; !r; s++) {
		char c = *s;

		if (c != '/' && c)
			continue;
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST) {
			*err = xasprintf("cannot create '%s': %s", p, strerror(errno));
			r = -1;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return r;
}

/* the trust directory (sub made in it), locked against another writer: the descriptor */
static int
lock_dir(const char *dir, const char *sub, char **err)
{
	char *p = xasprintf("%s/%s", dir, sub);
	int fd = -1;

	if (mkdirs(p, err))
		goto out;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || flock(fd, LOCK_EX)) {
		*err = xasprintf("cannot lock '%s': %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
out:
	free(p);
	return fd;
}

/* "2026-03-15T04:09:44+00:00", as the earlier implementation wrote times */
static char *
iso(int64_t us, char buf[TS_BUFSZ])
{
	time_t s = (time_t)(us / TS_SECOND);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, TS_BUFSZ, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	return buf;
}

jv
trust_add(const char *dir, const char *builtin, int anchor, const char *identity,
    const char *pubfile)
{
	char *type = NULL, *b64 = NULL, *err = NULL, *key, *file, *fp, *old, *text, *line;
	const tkey *k;
	trust *t = NULL;
	size_t len = 0;
	int fd, added = 0;
	jv r;

	if (!trust_identity_ok(identity))
		return fail(xasprintf("'%s' is not an identity: it has whitespace or a control "
		    "character", identity));
	if (sshsig_pubkey_load(pubfile, &type, &b64, NULL, &err))
		return fail(err);
	key = xasprintf("%s %s", type, b64);
	free(type);
	free(b64);
	file = xasprintf("%s/%s", dir, anchor ? "anchors" : "keyring");
	if ((fd = lock_dir(dir, ".", &err)) < 0 || !(t = trust_load(dir, builtin, &err))) {
		r = fail(err);
		goto out;
	}
	if ((k = key_entry(t, identity)) && !streq(k->key, key)) {
		fp = sshsig_fingerprint(k->key);
		r = fail(xasprintf("'%s' already has another key (%s line %d, %s): one identity "
		    "has one key; remove that line first to change it", identity, k->file, k->line,
		    fp ? fp : k->key));
		free(fp);
		goto out;
	}
	if (anchor ? !is_anchor(t, identity) : !k) {
		if (!(old = store_read(file, &len, &err)) && err) {
			r = fail(err);
			goto out;
		}
		/* the file as it is (a NUL in it too), then the new line */
		line = xasprintf("%s%s %s\n", len && old[len - 1] != '\n' ? "\n" : "",
		    identity, key);
		text = xmalloc(len + strlen(line));
		if (len)
			memcpy(text, old, len);
		memcpy(text + len, line, strlen(line));
		added = !store_replace(file, text, len + strlen(line), &err);
		free(old);
		free(line);
		free(text);
		if (!added) {
			r = fail(err);
			goto out;
		}
	}
	fp = sshsig_fingerprint(key);
	r = jv_object_set(jv_object(), jv_string("identity"), jv_string(identity));
	r = jv_object_set(r, jv_string("key"), jv_string(key));
	r = jv_object_set(r, jv_string("fingerprint"), fp ? jv_string(fp) : jv_null());
	r = jv_object_set(r, jv_string("file"), jv_string(file));
	r = jv_object_set(r, jv_string("added"), jv_bool(added));
	free(fp);
out:
	trust_free(t);
	if (fd >= 0)
		close(fd);
	free(key);
	free(file);
	return r;
}

/* the signer named in the comment of keypath's public half */
static char *
key_identity(const char *keypath, char **err)
{
	size_t n = strlen(keypath);
	const char *slash = strrchr(keypath, '/'), *dot = strrchr(keypath, '.');
	char *cand[2] = {NULL, NULL}, *id = NULL;

	if (n > 4 && !strcmp(keypath + n - 4, ".pub"))
		cand[0] = xstrdup(keypath);
	else {
		if (dot && (!slash || dot > slash + 1))
			cand[0] = xasprintf("%.*s.pub", (int)(dot - keypath), keypath);
		cand[1] = xasprintf("%s.pub", keypath);
	}
	*err = NULL;
	for (int i = 0; i < 2 && !id && !*err; i++) {
		char *comment = NULL, *e = NULL;

		if (!cand[i] || access(cand[i], F_OK))
			continue;
		if (sshsig_pubkey_load(cand[i], NULL, NULL, &comment, &e))
			*err = e;
		else if (!comment || !trust_identity_ok(comment))
			*err = xasprintf("the comment of '%s' is not an identity: give --identity",
			    cand[i]);
		else
			id = xstrdup(comment);
		free(comment);
	}
	if (!id && !*err)
		*err = xasprintf("cannot tell who signs: no public key beside '%s' names one in "
		    "its comment; give --identity", keypath);
	free(cand[0]);
	free(cand[1]);
	return id;
}

/* the file name the earlier implementation gave a signer's file: "alice_example_com" */
static char *
stem(const char *who)
{
	char *s = xstrdup(who);

	for (char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-", *p))
			*p = '_';
	return s;
}

typedef struct signed_file {
	const char *sub, *ext, *ns, *who_field, *list_field;
	int anchor_only;
	int (*same)(jv a, jv b);	/* an entry the new one replaces */
} signed_file;

/*
 * Add entry (consumed) to the signer's file of kind f, sign it again with keypath: {signer,
 * file, sig, replaced} or jv_invalid. An existing file is taken only when its signature
 * verifies: what was changed after signing is never signed again.
 */
static jv
signed_update(const signed_file *f, const char *dir, const char *builtin, const char *keypath,
    const char *who, jv entry, int64_t now)
{
	char *err = NULL, *signer = NULL, *name = NULL, *path = NULL, *sigpath = NULL;
	char *old = NULL, *text = NULL, *sig = NULL, *signkey = NULL, ts[TS_BUFSZ];
	size_t oldlen = 0, siglen = 0;
	const char *key;
	trust *t = NULL;
	int fd = -1, replaced = 0;
	jv doc = jv_invalid(), list = jv_array(), r;

	if (!who && !(signer = key_identity(keypath, &err))) {
		r = fail(err);
		goto out;
	}
	if (!who)
		who = signer;
	if (!trust_identity_ok(who)) {
		r = fail(xasprintf("'%s' is not an identity: it has whitespace or a control "
		    "character", who));
		goto out;
	}
	if ((fd = lock_dir(dir, f->sub, &err)) < 0 || !(t = trust_load(dir, builtin, &err))) {
		r = fail(err);
		goto out;
	}
	if (!(key = trust_key(t, who))) {
		r = fail(xasprintf("'%s' is neither an anchor nor in the keyring of '%s': add its "
		    "public key first (mallcop trust add-key %s KEY.pub)", who, dir, who));
		goto out;
	}
	if (f->anchor_only && !is_anchor(t, who)) {
		r = fail(xasprintf("'%s' is not an anchor: only an anchor's revocations count",
		    who));
		goto out;
	}
	if (trust_revoked(t, who)) {
		r = fail(xasprintf("'%s' is revoked (%s)", who, revocation(t, who)->file));
		goto out;
	}
	name = stem(who);
	/* the signer's file; another's that has the same name makes it NAME_2 and so on */
	for (int n = 1; n <= 100 && !jv_is_valid(doc); n++) {
		char *perr = NULL, *verr = NULL, *osig = NULL;
		const char *owner;

		free(path);
		free(sigpath);
		free(old);
		path = n == 1 ? xasprintf("%s/%s/%s%s", dir, f->sub, name, f->ext) :
		    xasprintf("%s/%s/%s_%d%s", dir, f->sub, name, n, f->ext);
		sigpath = xasprintf("%s.sig", path);
		if (!(old = store_read(path, &oldlen, &err))) {
			if (err) {
				r = fail(err);
				goto out;
			}
			doc = jv_object();
			break;
		}
		doc = yamljv_parse(old, oldlen, NULL, &perr);
		if (jv_get_kind(doc) != JV_KIND_OBJECT) {
			r = fail(xasprintf("'%s' is not a YAML mapping (%s): fix it or remove it",
			    path, perr ? perr : "not a mapping"));
			free(perr);
			goto out;
		}
		free(perr);
		if (!(owner = str(doc, f->who_field)) || !streq(owner, who)) {
			jv_free(doc);
			doc = jv_invalid();
			continue;
		}
		if (!(osig = store_read(sigpath, &siglen, &err)) ||
		    sshsig_verify(osig, siglen, old, oldlen, f->ns, key, &verr)) {
			r = fail(xasprintf("'%s' does not verify (%s): it was changed after signing; "
			    "it is not signed again: restore it or remove it", path,
			    err ? err : verr ? verr : "no signature"));
			free(osig);
			free(verr);
			goto out;
		}
		free(osig);
		jv_free(list);
		list = jv_object_get(jv_copy(doc), jv_string(f->list_field));
		if (jv_get_kind(list) != JV_KIND_ARRAY) {
			r = fail(xasprintf("'%s': '%s' is not a list: fix it or remove it", path,
			    f->list_field));
			goto out;
		}
	}
	if (!jv_is_valid(doc)) {
		r = fail(xasprintf("no free file name for '%s' in '%s/%s'", who, dir, f->sub));
		goto out;
	}
	{
		jv kept = jv_array();

		jv_array_foreach(list, i, e) {
			(void)i;
			if (f->same(e, entry)) {
				replaced = 1;
				jv_free(e);
			} else {
				kept = jv_array_append(kept, e);
			}
		}
		jv_free(list);
		list = jv_array_append(kept, jv_copy(entry));
	}
	jv_free(doc);
	doc = jv_object_set(jv_object(), jv_string(f->list_field), list);
	list = jv_invalid();
	doc = jv_object_set(doc, jv_string(f->who_field), jv_string(who));
	doc = jv_object_set(doc, jv_string("signed_at"), jv_string(iso(now, ts)));
	text = yamljv_emit(jv_copy(doc));
	if (!(sig = sshsig_sign(keypath, f->ns, text, strlen(text), &siglen, &signkey, &err))) {
		r = fail(xasprintf("cannot sign with '%s': %s", keypath, err));
		free(err);
		goto out;
	}
	{
		char *got = normal_key(signkey, &err);
		int same = got && streq(got, key);

		free(got);
		free(err);
		err = NULL;
		if (!same) {
			const tkey *k = key_entry(t, who);
			char *fp = sshsig_fingerprint(key);

			r = fail(xasprintf("'%s' is not the key of '%s' (%s line %d holds %s)",
			    keypath, who, k->file, k->line, fp ? fp : key));
			free(fp);
			goto out;
		}
	}
	if (store_replace(path, text, strlen(text), &err)) {
		r = fail(err);
		goto out;
	}
	if (store_replace(sigpath, sig, siglen, &err)) {
		char *e2 = NULL;

		/* put back what was there, so that the old signature still holds */
		if (old ? store_replace(path, old, oldlen, &e2) : unlink(path))
			free(e2);
		r = fail(err);
		goto out;
	}
	r = jv_object_set(jv_object(), jv_string("signer"), jv_string(who));
	r = jv_object_set(r, jv_string("file"), jv_string(path));
	r = jv_object_set(r, jv_string("sig"), jv_string(sigpath));
	r = jv_object_set(r, jv_string("replaced"), jv_bool(replaced));
out:
	jv_free(entry);
	jv_free(doc);
	jv_free(list);
	trust_free(t);
	if (fd >= 0)
		close(fd);
	free(signer);
	free(name);
	free(path);
	free(sigpath);
	free(old);
	free(text);
	free(sig);
	free(signkey);
	return r;
}

static int
same_endorsement(jv a, jv b)
{
	const char *ia = str(a, "identity"), *sa = str(a, "scope");

	return ia && sa && streq(ia, str(b, "identity")) && streq(sa, str(b, "scope"));
}

jv
trust_endorse(const char *dir, const char *builtin, const char *keypath, const char *endorser,
    const char *identity, const char *scope, const char *level, int64_t expires,
    const char *reason, int64_t now)
{
	static const signed_file f = {"endorsements", ".endorse", TRUST_NS_ENDORSE, "endorser",
	    "endorsements", 0, same_endorsement};
	char ts[TS_BUFSZ];
	jv e, r;

	if (!trust_identity_ok(identity))
		return fail(xasprintf("'%s' is not an identity: it has whitespace or a control "
		    "character", identity));
	e = jv_object_set(jv_object(), jv_string("expires"), jv_string(iso(expires, ts)));
	e = jv_object_set(e, jv_string("identity"), jv_string(identity));
	e = jv_object_set(e, jv_string("reason"), jv_string(reason ? reason : ""));
	e = jv_object_set(e, jv_string("scope"), jv_string(scope));
	e = jv_object_set(e, jv_string("trust_level"), jv_string(level));
	r = signed_update(&f, dir, builtin, keypath, endorser, jv_copy(e), now);
	if (!jv_is_valid(r)) {
		jv_free(e);
		return r;
	}
	r = jv_object_set(r, jv_string("endorser"), jv_object_get(jv_copy(r),
	    jv_string("signer")));
	r = jv_object_delete(r, jv_string("signer"));
	r = jv_object_set(r, jv_string("identity"), jv_string(identity));
	r = jv_object_set(r, jv_string("scope"), jv_string(scope));
	r = jv_object_set(r, jv_string("level"), jv_string(level));
	r = jv_object_set(r, jv_string("expires"), jv_object_get(e, jv_string("expires")));
	return r;
}

static int
same_revocation(jv a, jv b)
{
	const char *ia = str(a, "identity"), *ka = str(a, "key");
	const char *ib = str(b, "identity"), *kb = str(b, "key");

	return (ia && ib && streq(ia, ib)) || (ka && kb && streq(ka, kb));
}

jv
trust_revoke(const char *dir, const char *builtin, const char *keypath, const char *revoker,
    const char *identity, const char *pubkey, const char *reason, int64_t now)
{
	static const signed_file f = {"revocations", ".revoke", TRUST_NS_REVOKE, "revoker",
	    "revoked", 1, same_revocation};
	char ts[TS_BUFSZ], *key = NULL, *err = NULL;
	jv e, r;

	if (pubkey && !(key = normal_key(pubkey, &err)))
		return fail(err);
	if (!pubkey && !trust_identity_ok(identity))
		return fail(xasprintf("'%s' is not an identity: it has whitespace or a control "
		    "character", identity));
	e = jv_object_set(jv_object(), jv_string(key ? "key" : "identity"),
	    jv_string(key ? key : identity));
	e = jv_object_set(e, jv_string("reason"), jv_string(reason ? reason : ""));
	e = jv_object_set(e, jv_string("revoked_at"), jv_string(iso(now, ts)));
	r = signed_update(&f, dir, builtin, keypath, revoker, jv_copy(e), now);
	free(key);
	if (!jv_is_valid(r)) {
		jv_free(e);
		return r;
	}
	r = jv_object_set(r, jv_string("revoker"), jv_object_get(jv_copy(r),
	    jv_string("signer")));
	r = jv_object_delete(r, jv_string("signer"));
	return jv_object_merge(r, e);
}
