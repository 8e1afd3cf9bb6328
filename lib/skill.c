/* skill: signed directories of domain knowledge the actors load */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "human.h"
#include "plugin.h"
#include "skill.h"
#include "sshsig.h"
#include "store.h"
#include "trust.h"
#include "ts.h"
#include "util.h"
#include "yamljv.h"

enum { SIG_MAX = 64 << 10, DESCRIPTION_MAX = 512, SKILLS_MAX = 1024 };

int
skill_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > SKILL_NAME_MAX || strstr(s, ".."))
		return 0;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/*
 * A file of a skill, refused by its size before it is read: NULL and *err; NULL and *err NULL
 * when absent and absent_ok. shown names it in messages.
 */
static char *
read_capped(const char *path, const char *shown, size_t max, int absent_ok, size_t *len,
    char **err)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	*err = NULL;
	if (fd < 0) {
		if (errno != ENOENT || !absent_ok)
			*err = xasprintf("cannot read '%s': %s", shown, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st)) {
		*err = xasprintf("cannot read '%s': %s", shown, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = xasprintf("'%s' is not a regular file", shown);
		close(fd);
		return NULL;
	}
	if ((uintmax_t)st.st_size > max) {
		*err = xasprintf("'%s' is %jd bytes, more than the %zu a skill's file may hold",
		    shown, (intmax_t)st.st_size, max);
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 2);
	while ((r = read(fd, buf + n, (size_t)st.st_size + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = xasprintf("cannot read '%s': %s", shown, strerror(errno));
			break;
		}
		n += (size_t)r;
		if (n > (size_t)st.st_size) {
			*err = xasprintf("'%s' changed while it was read", shown);
			break;
		}
	}
	close(fd);
	if (*err) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/* 1 when s holds a control character other than newline and tab */
static int
has_control(const char *s, int lines_ok)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < ' ' || *p == 0x7f) && !(lines_ok && (*p == '\n' || *p == '\t')))
			return 1;
	return 0;
}

/*
 * Text of a front matter value: strings as they are, numbers as libjq writes them, NULL for
 * absent, empty, null and false (the earlier implementation's "falsy"); anything else sets
 * *bad and, first, *err
 */
static char *
field(jv fm, const char *key, const char *path, int *bad, char **err)
{
	jv v = jv_object_get(jv_copy(fm), jv_string(key));
	jv_kind k = jv_get_kind(v);
	const char *why = NULL;
	char *s = NULL;

	if (k == JV_KIND_STRING) {
		if (jv_string_length_bytes(jv_copy(v)) != (int)strlen(jv_string_value(v)))
			why = "holds a NUL character";
		else if (has_control(jv_string_value(v), streq(key, "description")))
			why = "holds a control character";
		else if (*jv_string_value(v))
			s = xstrdup(jv_string_value(v));
	} else if (k == JV_KIND_NUMBER) {
		jv t = jv_dump_string(jv_copy(v), 0);

		s = xstrdup(jv_string_value(t));
		jv_free(t);
	} else if (k != JV_KIND_INVALID && k != JV_KIND_NULL && k != JV_KIND_FALSE) {
		why = "is not a string";
	}
	jv_free(v);
	if (why) {
		if (!*bad)
			*err = xasprintf("'%s': %s: %s", path, key, why);
		*bad = 1;
	}
	return s;
}

/* SKILL.md's text (len bytes) as the earlier implementation split it: front matter, body */
static int
manifest_parse(const char *text, size_t len, const char *path, skill_def *s, char **body,
    char **err)
{
	const char *rest, *close, *b, *end = text + len;
	char *yerr = NULL, *safe;
	int bad = 0;
	jv fm;

	memset(s, 0, sizeof *s);
	*err = NULL;
	if (len < 3 || memcmp(text, "---", 3)) {
		*err = xasprintf("'%s' has no front matter: it must begin with a '---' line, "
		    "then name: and description: in YAML, then a '---' line", path);
		return -1;
	}
	rest = text + 3;
	if (rest < end && *rest == '\n')
		rest++;
	close = memmem(rest, (size_t)(end - rest), "\n---", 4);
	if (!close) {
		*err = xasprintf("'%s' has no front matter: no '---' line closes it", path);
		return -1;
	}
	fm = yamljv_parse(rest, (size_t)(close - rest), NULL, &yerr);
	if (!jv_is_valid(fm)) {
		long line = strtol(yerr ? yerr : "", NULL, 10);
		const char *msg = yerr && strchr(yerr, ':') ? strchr(yerr, ':') + 2 : "not YAML";

		*err = xasprintf("'%s' line %ld: the front matter is not YAML: %s", path,
		    line + (rest > text + 3), msg);
		free(yerr);
		jv_free(fm);
		return -1;
	}
	if (jv_get_kind(fm) != JV_KIND_OBJECT) {
		*err = xasprintf("'%s': the front matter is not a mapping of keys", path);
		jv_free(fm);
		return -1;
	}
	s->name = field(fm, "name", path, &bad, err);
	s->description = field(fm, "description", path, &bad, err);
	s->version = field(fm, "version", path, &bad, err);
	s->author = field(fm, "author", path, &bad, err);
	s->parent = field(fm, "parent", path, &bad, err);
	s->tools = field(fm, "tools", path, &bad, err);
	jv_free(fm);
	if (!bad && !s->name)
		*err = xasprintf("'%s': the front matter has no name:", path);
	else if (!bad && !s->description)
		*err = xasprintf("'%s': the front matter has no description:", path);
	else if (!bad && !skill_name_ok(s->name)) {
		safe = human_safe(s->name);
		*err = xasprintf("'%s': name '%s' is not a skill name: lower-case letters, digits, "
		    "'.', '_' and '-', beginning with a letter or digit, no '..'", path, safe);
		free(safe);
	} else if (!bad && s->parent && !skill_name_ok(s->parent)) {
		safe = human_safe(s->parent);
		*err = xasprintf("'%s': parent '%s' is not a skill name", path, safe);
		free(safe);
	}
	if (*err) {
		skill_def_free(s);
		return -1;
	}
	if (body) {
		b = close + 4;
		if (b < end && *b == '\n')
			b++;
		*body = xmalloc((size_t)(end - b) + 1);
		memcpy(*body, b, (size_t)(end - b));
		(*body)[end - b] = 0;
	}
	return 0;
}

/* 1 when path (resolved) is dir or below it */
static int
inside(const char *real, const char *top)
{
	size_t n = strlen(top);

	return !strncmp(real, top, n) && (real[n] == '/' || real[n] == 0 || streq(top, "/"));
}

/* the whole file is read (it is hashed and signed), with the link checks of the blob */
static char *
skill_file(const char *dir, const char *rel, size_t max, int absent_ok, size_t *len,
    char **err)
{
	char *path = xasprintf("%s/%s", dir, rel), *top = realpath(dir, NULL), *real, *text;
	struct stat st;

	*err = NULL;
	if (!top) {
		*err = xasprintf("cannot read '%s': %s", dir, strerror(errno));
		free(path);
		return NULL;
	}
	if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		real = realpath(path, NULL);
		if (!real || !inside(real, top)) {
			*err = xasprintf(real ? "'%s' is a symbolic link leading outside the skill "
			    "directory" : "'%s' is a symbolic link to nothing", path);
			free(real);
			free(top);
			free(path);
			return NULL;
		}
		free(real);
	}
	text = read_capped(path, path, max, absent_ok, len, err);
	free(top);
	free(path);
	return text;
}

int
skill_manifest(const char *dir, skill_def *s, char **body, char **err)
{
	char *path = xasprintf("%s/SKILL.md", dir), *text;
	size_t len;
	int r;

	memset(s, 0, sizeof *s);
	text = skill_file(dir, "SKILL.md", SKILL_MAX_FILE, 0, &len, err);
	if (!text) {
		free(path);
		return -1;
	}
	r = manifest_parse(text, len, path, s, body, err);
	if (!r)
		s->dir = xstrdup(dir);
	free(text);
	free(path);
	return r;
}

void
skill_def_free(skill_def *s)
{
	free(s->name);
	free(s->description);
	free(s->version);
	free(s->author);
	free(s->parent);
	free(s->tools);
	free(s->dir);
	memset(s, 0, sizeof *s);
}

/* the signed content being gathered */
typedef struct walk {
	char *top;		/* the skill directory, resolved */
	char *b;
	size_t len, files;
	long md;		/* where SKILL.md's bytes begin in b, -1 before it */
	size_t mdlen;
	char *err;
} walk;

static int
byname(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when name is valid UTF-8 without a control character (the blob's headers are text) */
static int
name_ok(const char *name)
{
	size_t n = strlen(name), outlen;
	int cut;
	char *clean = human_strip(name, n, n, &outlen, &cut);
	int ok = outlen == n && !strpbrk(name, "\n\t");

	free(clean);
	return ok;
}

static int
add_file(walk *w, const char *path, const char *rel)
{
	size_t n, head = strlen(rel) + 9;
	char *text = read_capped(path, path, SKILL_MAX_FILE, 0, &n, &w->err);

	if (!text)
		return -1;
	if (++w->files > SKILL_MAX_FILES || w->len + head + n > SKILL_MAX_TOTAL) {
		w->err = xasprintf(w->files > SKILL_MAX_FILES ? "'%s': a skill holds at most %d "
		    "files" : "'%s': a skill holds at most %d bytes", w->top,
		    w->files > SKILL_MAX_FILES ? SKILL_MAX_FILES : SKILL_MAX_TOTAL);
		free(text);
		return -1;
	}
	w->b = xrealloc(w->b, w->len + head + n + 1);
	memcpy(w->b + w->len, "--- ", 4);
	memcpy(w->b + w->len + 4, rel, head - 9);
	memcpy(w->b + w->len + head - 5, " ---\n", 5);
	if (streq(rel, "SKILL.md")) {
		w->md = (long)(w->len + head);
		w->mdlen = n;
	}
	memcpy(w->b + w->len + head, text, n);
	w->len += head + n;
	w->b[w->len] = 0;
	free(text);
	return 0;
}

/*
 * The entries of one directory in byte order, each directory's content right after it: the
 * order of Python's component-wise path sort ("a/b" < "a-c" < "a.b")
 */
static int
walk_dir(walk *w, const char *dir, const char *rel, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int r = 0;

	if (!d) {
		w->err = xasprintf("cannot read '%s': %s", dir, strerror(errno));
		return -1;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (n >= SKILL_MAX_FILES * 4) {
			w->err = xasprintf("'%s': a skill holds at most %d files", w->top,
			    SKILL_MAX_FILES);
			r = -1;
			break;
		}
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	if (!r && errno) {
		w->err = xasprintf("cannot read '%s': %s", dir, strerror(errno));
		r = -1;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof *names, byname);
	for (size_t i = 0; i < n && !r; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]), *real = NULL;
		char *sub = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		struct stat st;

		if (!name_ok(names[i])) {
			char *safe = human_safe(path);

			w->err = xasprintf("'%s': a file name that is not UTF-8 text without "
			    "control characters", safe);
			free(safe);
			r = -1;
		} else if (lstat(path, &st)) {
			w->err = xasprintf("cannot read '%s': %s", path, strerror(errno));
			r = -1;
		} else if (S_ISLNK(st.st_mode) && (!(real = realpath(path, NULL)) ||
		    !inside(real, w->top))) {
			w->err = xasprintf(real ? "'%s' is a symbolic link leading outside the "
			    "skill directory" : "'%s' is a symbolic link to nothing", path);
			r = -1;
		} else if (S_ISLNK(st.st_mode) && !stat(path, &st) && S_ISDIR(st.st_mode)) {
			/* as the earlier implementation: a link to a directory is not followed */
		} else if (S_ISDIR(st.st_mode)) {
			if (depth >= SKILL_MAX_DEPTH) {
				w->err = xasprintf("'%s': a skill's directories nest at most %d deep",
				    path, SKILL_MAX_DEPTH);
				r = -1;
			} else {
				r = walk_dir(w, path, sub, depth + 1);
			}
		} else if (!(depth == 0 && streq(names[i], "SKILL.md.sig"))) {
			r = add_file(w, path, sub);
		}
		free(real);
		free(sub);
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

static int
blob_walk(const char *dir, walk *w)
{
	memset(w, 0, sizeof *w);
	w->md = -1;
	w->b = xstrdup("");
	if (!(w->top = realpath(dir, NULL))) {
		w->err = xasprintf("cannot read '%s': %s", dir, strerror(errno));
		return -1;
	}
	return walk_dir(w, dir, "", 0);
}

int
skill_blob(const char *dir, char **blob, size_t *len, char **err)
{
	walk w;
	int r = blob_walk(dir, &w);

	free(w.top);
	if (r) {
		free(w.b);
		*err = w.err;
		return -1;
	}
	*blob = w.b;
	*len = w.len;
	return 0;
}

static void
sha256_hex(const void *p, size_t n, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		die(EXIT_WORK, "SHA-256 failed");
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int
skill_hash(const char *dir, char hex[65], char **err)
{
	char *blob;
	size_t len;

	if (skill_blob(dir, &blob, &len, err))
		return -1;
	sha256_hex(blob, len, hex);
	free(blob);
	return 0;
}

char *
skill_sig_read(const char *dir, size_t *len, char **err)
{
	return skill_file(dir, "SKILL.md.sig", SIG_MAX, 1, len, err);
}

/* the signature over blob with pubkey; the message says which directory */
static int
verify_blob(const char *dir, const char *blob, size_t len, const char *pubkey, char **err)
{
	size_t siglen;
	char *why = NULL, *sig = skill_sig_read(dir, &siglen, err);
	int r;

	if (!sig) {
		if (!*err)
			*err = xasprintf("'%s' has no SKILL.md.sig: sign it with 'mallcop skill "
			    "sign'", dir);
		return -1;
	}
	r = sshsig_verify(sig, siglen, blob, len, TRUST_NS_SKILL, pubkey, &why);
	if (r) {
		char *fp = sshsig_fingerprint(pubkey);

		*err = xasprintf("'%s/SKILL.md.sig' does not verify with key %s: %s", dir,
		    fp ? fp : "(not a key)", why ? why : "bad signature");
		free(fp);
	}
	free(why);
	free(sig);
	return r ? -1 : 0;
}

int
skill_verify(const char *dir, const char *pubkey, char **err)
{
	char *blob;
	size_t len;
	int r;

	if (skill_blob(dir, &blob, &len, err))
		return -1;
	r = verify_blob(dir, blob, len, pubkey, err);
	free(blob);
	return r;
}

/* a lock file is small: refused by size before it is read */
jv
skill_lock_read(const char *path, char **err)
{
	size_t n;
	char *yerr = NULL, *text = read_capped(path, path, YAMLJV_MAX_BYTES, 1, &n, err);
	jv doc, skills;

	if (!text)
		return *err ? jv_invalid() : jv_null();
	doc = yamljv_parse(text, n, NULL, &yerr);
	free(text);
	if (!jv_is_valid(doc)) {
		*err = xasprintf("'%s' line %s", path, yerr ? yerr : "?: not YAML");
		free(yerr);
		jv_free(doc);
		return jv_invalid();
	}
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		*err = xasprintf("'%s' is not a skills.lock: not a mapping with skills:", path);
		jv_free(doc);
		return jv_invalid();
	}
	skills = jv_object_get(doc, jv_string("skills"));
	if (!jv_is_valid(skills) || jv_get_kind(skills) == JV_KIND_NULL) {
		jv_free(skills);
		return jv_object();
	}
	if (jv_get_kind(skills) != JV_KIND_OBJECT) {
		*err = xasprintf("'%s': skills: is not a mapping of skill names", path);
		jv_free(skills);
		return jv_invalid();
	}
	jv_object_foreach(skills, k, v) {
		jv h = jv_get_kind(v) == JV_KIND_OBJECT ? jv_object_get(v, jv_string("sha256"))
		    : (jv_free(v), jv_invalid());
		int ok = jv_get_kind(h) == JV_KIND_STRING;

		jv_free(h);
		if (!ok && !*err) {
			char *safe = human_safe(jv_string_value(k));

			*err = xasprintf("'%s': skills.%s has no sha256:", path, safe);
			free(safe);
		}
		jv_free(k);
	}
	if (*err) {
		jv_free(skills);
		return jv_invalid();
	}
	return skills;
}

/* v with the keys of every object in sorted order (jv keeps the order of insertion) */
static jv
sorted(jv v)
{
	jv out, keys;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return v;
	out = jv_object();
	keys = jv_keys(jv_copy(v));
	jv_array_foreach(keys, i, k) {
		(void)i;
		out = jv_object_set(out, jv_copy(k), sorted(jv_object_get(jv_copy(v), k)));
	}
	jv_free(keys);
	jv_free(v);
	return out;
}

int
skill_lock_write(const char *path, jv skills, char **err)
{
	char when[TS_BUFSZ], *at, *text;
	size_t n;
	jv out = jv_object();
	int r;

	ts_format(ts_now(), when);
	n = strlen(when);
	/* the earlier implementation wrote Python's isoformat(): +00:00, not Z */
	at = xasprintf("%.*s+00:00", (int)(n - 1), when);
	if (jv_get_kind(skills) == JV_KIND_OBJECT) {
		jv_object_foreach(skills, k, v) {
			jv e = jv_object();

			if (jv_get_kind(v) != JV_KIND_OBJECT) {
				jv_free(v);
				v = jv_object();
			}
			e = jv_object_set(e, jv_string("author"), jv_null());
			e = jv_object_set(e, jv_string("expires"), jv_null());
			e = jv_object_set(e, jv_string("source"), jv_string("builtin"));
			e = jv_object_set(e, jv_string("trust_chain"), jv_null());
			e = jv_object_set(e, jv_string("verified_at"), jv_string(at));
			out = jv_object_set(out, k, jv_object_merge(e, v));
		}
	}
	jv_free(skills);
	free(at);
	out = jv_object_set(jv_object(), jv_string("skills"), out);
	out = jv_object_set(out, jv_string("version"), jv_number(1));
	text = yamljv_emit(sorted(out));
	r = store_replace(path, text, strlen(text), err);
	free(text);
	return r;
}

/* the skills of one directory: {dir, name, def} or {dir, error}, in order of directory name */
typedef struct found {
	char *dir, *dirname;
	skill_def def;		/* name NULL when broken */
	char *error;
} found;

/* the directory of skill NAME is NAME, or NAME with '_' for '-' (the earlier skills) */
static int
dir_fits(const char *dirname, const char *name)
{
	size_t n = strlen(name);

	if (strlen(dirname) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (dirname[i] != name[i] && !(name[i] == '-' && dirname[i] == '_'))
			return 0;
	return 1;
}

/*
 * The subdirectories of base that hold a SKILL.md, each read (hidden ones and directories
 * without SKILL.md are not skills); -1 and *err when base cannot be read
 */
static int
scan(const char *base, found **out, size_t *count, jv *others, char **err)
{
	DIR *d = opendir(base);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	*out = NULL;
	*count = 0;
	if (!d) {
		*err = xasprintf("cannot read skills directory '%s': %s", base, strerror(errno));
		return -1;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n >= SKILLS_MAX) {
			*err = xasprintf("'%s' holds more than %d entries", base, SKILLS_MAX);
			break;
		}
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	if (!*err && errno)
		*err = xasprintf("cannot read skills directory '%s': %s", base, strerror(errno));
	closedir(d);
	if (names)
		qsort(names, n, sizeof *names, byname);
	for (size_t i = 0; i < n; i++) {
		char *dir = xasprintf("%s/%s", base, names[i]), *md = xasprintf("%s/SKILL.md", dir);
		struct stat st, mst;
		found f = {dir, names[i], {0}, NULL};
		int isdir = !*err && !stat(dir, &st) && S_ISDIR(st.st_mode);

		if (!isdir || (lstat(md, &mst) && errno == ENOENT)) {
			if (isdir && others)
				*others = jv_array_append(*others, jv_string(dir));
			free(dir);
			free(names[i]);
			free(md);
			continue;
		}
		free(md);
		if (skill_manifest(dir, &f.def, NULL, &f.error) == 0 &&
		    !dir_fits(names[i], f.def.name)) {
			f.error = xasprintf("'%s': the directory of skill '%s' must be named '%s' "
			    "(or with '_' for '-')", dir, f.def.name, f.def.name);
			skill_def_free(&f.def);
		}
		*out = xrealloc(*out, (*count + 1) * sizeof **out);
		(*out)[(*count)++] = f;
	}
	free(names);
	if (*err) {
		for (size_t i = 0; i < *count; i++) {
			skill_def_free(&(*out)[i].def);
			free((*out)[i].dir);
			free((*out)[i].dirname);
			free((*out)[i].error);
		}
		free(*out);
		*out = NULL;
		*count = 0;
		return -1;
	}
	return 0;
}

jv
skill_lock_make(const char *base, jv *skipped, char **err)
{
	found *f;
	size_t n;
	jv out = jv_object();

	*skipped = jv_array();
	if (scan(base, &f, &n, skipped, err)) {
		jv_free(out);
		return jv_invalid();
	}
	for (size_t i = 0; i < n; i++) {
		char hex[65];

		if (!*err && f[i].error) {
			*err = f[i].error;
			f[i].error = NULL;
		} else if (!*err && jv_object_has(jv_copy(out), jv_string(f[i].def.name))) {
			*err = xasprintf("'%s': skill '%s' is also in another directory of '%s'",
			    f[i].dir, f[i].def.name, base);
		} else if (!*err && skill_hash(f[i].dir, hex, err) == 0) {
			jv e = jv_object_set(jv_object(), jv_string("sha256"), jv_string(hex));

			e = jv_object_set(e, jv_string("author"), f[i].def.author ?
			    jv_string(f[i].def.author) : jv_null());
			out = jv_object_set(out, jv_string(f[i].def.name), e);
		}
		skill_def_free(&f[i].def);
		free(f[i].dir);
		free(f[i].dirname);
		free(f[i].error);
	}
	free(f);
	if (*err) {
		jv_free(out);
		return jv_invalid();
	}
	return out;
}

/* one skill of a set, checked once */
typedef struct entry {
	found f;
	int base;
	int shadowed;		/* another skill of the same directory has its name */
	int state;		/* 0 not checked, 1 being checked (its parents), 2 checked */
	jv result;
	char *context;		/* when valid: its text and its parents' */
	size_t clen;
} entry;

typedef struct base {
	char *dir;
	const char *source;
	jv lock;		/* the skills map; null: no skills.lock; invalid: see lockerr */
	char *lockerr;
} base;

struct skill_set {
	base bases[3];
	int nbases;
	entry *e;
	size_t n;
	trust *t;
};

static int
add_base(skill_set *ss, const char *dir, const char *source, char **err)
{
	char *real = realpath(dir, NULL), *lock;
	base *b;
	found *f;
	size_t n;

	if (!real) {
		*err = xasprintf("cannot read skills directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < ss->nbases; i++) {
		char *other = realpath(ss->bases[i].dir, NULL);
		int same = other && streq(other, real);

		free(other);
		if (same) {
			free(real);
			return 0;
		}
	}
	free(real);
	if (scan(dir, &f, &n, NULL, err))
		return -1;
	b = &ss->bases[ss->nbases];
	b->dir = xstrdup(dir);
	b->source = source;
	lock = xasprintf("%s/skills.lock", dir);
	b->lock = skill_lock_read(lock, &b->lockerr);
	free(lock);
	for (size_t i = 0; i < n; i++) {
		entry e = {.f = f[i], .base = ss->nbases, .result = jv_null()};

		e.f.def.source = source;
		int taken = 0;

		for (size_t j = 0; f[i].def.name && j < ss->n && !taken; j++)
			if (ss->e[j].f.def.name && streq(ss->e[j].f.def.name, f[i].def.name) &&
			    !ss->e[j].shadowed)
				taken = ss->e[j].base == ss->nbases ? 1 : 2;
		if (taken == 2) {	/* an earlier directory has it: not listed */
			skill_def_free(&f[i].def);
			free(f[i].dir);
			free(f[i].dirname);
			free(f[i].error);
			continue;
		}
		if (taken == 1) {
			e.shadowed = 1;
			e.f.error = xasprintf("'%s': skill '%s' is also in another directory of "
			    "'%s'", f[i].dir, f[i].def.name, dir);
		}
		ss->e = xrealloc(ss->e, (ss->n + 1) * sizeof *ss->e);
		ss->e[ss->n++] = e;
	}
	free(f);
	ss->nbases++;
	return 0;
}

skill_set *
skill_set_open(const char *root, const char *skills_dir, const char *trust_dir, char **err)
{
	skill_set *ss = xcalloc(1, sizeof *ss);
	char *dep = xasprintf("%s/skills", root), *tdir = trust_dir ? xstrdup(trust_dir) :
	    xasprintf("%s/.mallcop/trust", root);
	char *builtin = plugin_share("skills"), *anchors = plugin_share("trust/anchors");
	struct stat st;
	int r = 0;

	*err = NULL;
	if (skills_dir)
		r = add_base(ss, skills_dir, "skills-dir", err);
	if (!r && !stat(dep, &st))
		r = add_base(ss, dep, "deployment", err);
	if (!r && builtin && !stat(builtin, &st))
		r = add_base(ss, builtin, "built-in", err);
	if (!r && !(ss->t = trust_load(tdir, anchors, err)))
		r = -1;
	free(dep);
	free(tdir);
	free(builtin);
	free(anchors);
	if (r) {
		skill_set_close(ss);
		return NULL;
	}
	return ss;
}

void
skill_set_close(skill_set *ss)
{
	if (!ss)
		return;
	for (size_t i = 0; i < ss->n; i++) {
		skill_def_free(&ss->e[i].f.def);
		free(ss->e[i].f.dir);
		free(ss->e[i].f.dirname);
		free(ss->e[i].f.error);
		free(ss->e[i].context);
		jv_free(ss->e[i].result);
	}
	free(ss->e);
	for (int i = 0; i < ss->nbases; i++) {
		free(ss->bases[i].dir);
		free(ss->bases[i].lockerr);
		jv_free(ss->bases[i].lock);
	}
	if (ss->t)
		trust_free(ss->t);
	free(ss);
}

static entry *
find(skill_set *ss, const char *name)
{
	for (size_t i = 0; i < ss->n; i++)
		if (ss->e[i].f.def.name && !ss->e[i].shadowed && streq(ss->e[i].f.def.name, name))
			return &ss->e[i];
	return NULL;
}

static const char *
entry_name(const entry *e)
{
	return e->f.def.name ? e->f.def.name : e->f.dirname;
}

/* refuse e: status and why (consumed) */
static void
refuse(entry *e, const char *status, char *why)
{
	jv r = jv_object_set(jv_object(), jv_string("skill"), jv_string(entry_name(e)));

	r = jv_object_set(r, jv_string("status"), jv_string(status));
	e->result = jv_object_set(r, jv_string("error"), jv_string(why));
	free(why);
}

/* the skills being checked, innermost last: for naming a cycle */
typedef struct chain {
	const entry *e;
	const struct chain *up;
} chain;

static char *
cycle_text(const chain *c, const char *back)
{
	char *s = xstrdup(back), *t;

	for (; c; c = c->up) {
		t = xasprintf("%s -> %s", entry_name(c->e), s);
		free(s);
		s = t;
		if (streq(entry_name(c->e), back))
			break;
	}
	return s;
}

/* lock, signature, trust path: 0, or the entry refused */
static int
check_own(skill_set *ss, entry *e, const char *blob, size_t len, time_t now, jv *path)
{
	const base *b = &ss->bases[e->base];
	const char *name = e->f.def.name, *author = e->f.def.author, *key;
	char hex[65], *why = NULL;
	jv ent, h;

	sha256_hex(blob, len, hex);
	if (jv_get_kind(b->lock) == JV_KIND_NULL) {
		refuse(e, "not-in-lock", xasprintf("no skills.lock in '%s': review the skills "
		    "there, then run 'mallcop skill lock --skills-dir %s'", b->dir, b->dir));
		return -1;
	}
	if (!jv_is_valid(b->lock)) {
		refuse(e, "not-in-lock", xstrdup(b->lockerr));
		return -1;
	}
	ent = jv_object_get(jv_copy(b->lock), jv_string(name));
	h = jv_get_kind(ent) == JV_KIND_OBJECT ? jv_object_get(ent, jv_string("sha256")) :
	    (jv_free(ent), jv_invalid());
	if (jv_get_kind(h) != JV_KIND_STRING || !streq(jv_string_value(h), hex)) {
		refuse(e, "not-in-lock", jv_get_kind(h) != JV_KIND_STRING ?
		    xasprintf("skill '%s' is not in '%s/skills.lock': review it, then run "
		    "'mallcop skill lock'", name, b->dir) :
		    xasprintf("skill '%s' changed since '%s/skills.lock' was written (sha256 %s, "
		    "the lock has %.64s): review the change, then run 'mallcop skill lock'", name,
		    b->dir, hex, jv_string_value(h)));
		jv_free(h);
		return -1;
	}
	jv_free(h);
	if (!author) {
		refuse(e, "untrusted", xasprintf("skill '%s' has no author field in its SKILL.md: "
		    "without it no key can vouch for the skill", name));
		return -1;
	}
	if (!(key = trust_key(ss->t, author))) {
		refuse(e, "untrusted", xasprintf("skill '%s': its author '%s' is neither a trust "
		    "anchor nor in the keyring ('mallcop trust add-key')", name, author));
		return -1;
	}
	if (verify_blob(e->f.dir, blob, len, key, &why)) {
		size_t siglen;
		char *serr = NULL, *sig = skill_sig_read(e->f.dir, &siglen, &serr);

		refuse(e, sig || serr ? "invalid" : "unsigned", sig || serr ? xasprintf("skill "
		    "'%s': the signature check for author '%s' failed: %s", name, author, why) :
		    xasprintf("skill '%s' is unsigned: %s", name, why));
		free(sig);
		free(serr);
		free(why);
		return -1;
	}
	*path = trust_path(ss->t, author, name, now, &why);
	if (!jv_is_valid(*path)) {
		refuse(e, "untrusted", xasprintf("skill '%s': no trust path from an anchor to '%s' "
		    "for this skill: %s", name, author, why ? why : "none"));
		free(why);
		jv_free(*path);
		*path = jv_null();
		return -1;
	}
	return 0;
}

static void
check(skill_set *ss, entry *e, time_t now, const chain *up)
{
	chain here = {e, up};
	walk w;
	skill_def def = {0};
	char *body = NULL, *why = NULL, *md, *text, *cyc;
	jv path = jv_null(), parents = jv_null();
	size_t n;
	int cut = 0;

	if (e->state)
		return;
	e->state = 1;
	if (e->f.error) {
		refuse(e, "broken", xstrdup(e->f.error));
		e->state = 2;
		return;
	}
	if (blob_walk(e->f.dir, &w)) {
		refuse(e, "invalid", w.err);
		free(w.top);
		free(w.b);
		e->state = 2;
		return;
	}
	/* what is checked is what is given: the body comes from the bytes that were hashed */
	md = xasprintf("%s/SKILL.md", e->f.dir);
	if (w.md < 0 || manifest_parse(w.b + w.md, w.mdlen, md, &def, &body, &why) ||
	    !streq(def.name, e->f.def.name) || !streq(def.parent ? def.parent : "",
	    e->f.def.parent ? e->f.def.parent : "") || !streq(def.author ? def.author : "",
	    e->f.def.author ? e->f.def.author : "")) {
		refuse(e, "broken", why ? why : xasprintf("'%s' changed while it was read", md));
		why = NULL;
	} else if (!check_own(ss, e, w.b, w.len, now, &path) && e->f.def.parent) {
		entry *p = find(ss, e->f.def.parent);

		if (!p) {
			refuse(e, "broken", xasprintf("skill '%s': its parent '%s' is not found",
			    e->f.def.name, e->f.def.parent));
		} else if (p->state == 1) {
			cyc = cycle_text(&here, entry_name(p));
			refuse(e, "broken", xasprintf("skill '%s': its parents form a cycle: %s",
			    e->f.def.name, cyc));
			free(cyc);
		} else {
			check(ss, p, now, &here);
			if (!p->context) {
				jv pe = jv_object_get(jv_copy(p->result), jv_string("error"));

				refuse(e, "broken", xasprintf("skill '%s': its parent '%s' is "
				    "refused: %s", e->f.def.name, entry_name(p),
				    jv_get_kind(pe) == JV_KIND_STRING ? jv_string_value(pe) : "?"));
				jv_free(pe);
			}
		}
	}
	if (jv_get_kind(e->result) == JV_KIND_NULL) {
		entry *p = e->f.def.parent ? find(ss, e->f.def.parent) : NULL;
		char *b = body;

		while (*b == '\n')
			b++;
		if (p && p->context && *b)
			text = xasprintf("%s\n%s", p->context, b);
		else
			text = xstrdup(p && p->context ? p->context : b);
		e->context = human_strip(text, strlen(text), SKILL_TEXT_MAX, &n, &cut);
		e->clen = n;
		free(text);
		parents = p ? jv_array_append(jv_object_get(jv_copy(p->result),
		    jv_string("parents")), jv_string(entry_name(p))) : jv_array();
		jv r = jv_object_set(jv_object(), jv_string("skill"), jv_string(e->f.def.name));

		r = jv_object_set(r, jv_string("status"), jv_string("valid"));
		r = jv_object_set(r, jv_string("context"), jv_string_sized(e->context,
		    (int)e->clen));
		if (cut)
			r = jv_object_set(r, jv_string("truncated"), jv_true());
		r = jv_object_set(r, jv_string("verified_by"), jv_string(e->f.def.author));
		r = jv_object_set(r, jv_string("trust_chain"), path);
		e->result = jv_object_set(r, jv_string("parents"), parents);
		path = jv_null();
		parents = jv_null();
	}
	skill_def_free(&def);
	jv_free(path);
	jv_free(parents);
	free(body);
	free(md);
	free(w.top);
	free(w.b);
	e->state = 2;
}

static jv
str_or_null(const char *s)
{
	return s ? jv_string(s) : jv_null();
}

/* a description for a list or a model: one line of text, capped */
static jv
description(const char *s)
{
	size_t n;
	int cut;
	char *t = human_strip(s ? s : "", s ? strlen(s) : 0, DESCRIPTION_MAX, &n, &cut);
	jv v;

	for (char *p = t; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	v = jv_string_sized(t, (int)n);
	free(t);
	return v;
}

jv
skill_set_list(skill_set *ss, time_t now)
{
	jv out = jv_array();

	for (size_t i = 0; i < ss->n; i++) {
		entry *e = &ss->e[i];
		const skill_def *d = &e->f.def;
		jv r = jv_object(), why;

		check(ss, e, now, NULL);
		r = jv_object_set(r, jv_string("name"), jv_string(entry_name(e)));
		r = jv_object_set(r, jv_string("description"), d->description ?
		    description(d->description) : jv_null());
		r = jv_object_set(r, jv_string("version"), str_or_null(d->version));
		r = jv_object_set(r, jv_string("author"), str_or_null(d->author));
		r = jv_object_set(r, jv_string("parent"), str_or_null(d->parent));
		r = jv_object_set(r, jv_string("source"), jv_string(ss->bases[e->base].source));
		r = jv_object_set(r, jv_string("dir"), jv_string(e->f.dir));
		r = jv_object_set(r, jv_string("status"), jv_object_get(jv_copy(e->result),
		    jv_string("status")));
		if (e->context) {
			jv chain = jv_object_get(jv_copy(e->result), jv_string("trust_chain"));
			jv text = jv_string("");

			jv_array_foreach(chain, k, id) {
				text = jv_string_concat(text, k ? jv_string(" -> ") : jv_string(""));
				text = jv_string_concat(text, id);
			}
			why = jv_string_fmt("signed by '%s', trusted through %s", d->author,
			    jv_string_value(text));
			jv_free(text);
			jv_free(chain);
		} else {
			why = jv_object_get(jv_copy(e->result), jv_string("error"));
		}
		out = jv_array_append(out, jv_object_set(r, jv_string("reason"), why));
	}
	return out;
}

jv
skill_set_catalogue(skill_set *ss, time_t now)
{
	jv out = jv_array();

	for (size_t i = 0; i < ss->n; i++) {
		entry *e = &ss->e[i];
		jv r;

		check(ss, e, now, NULL);
		if (!e->context)
			continue;
		r = jv_object_set(jv_object(), jv_string("name"), jv_string(e->f.def.name));
		r = jv_object_set(r, jv_string("description"), description(e->f.def.description));
		out = jv_array_append(out, jv_object_set(r, jv_string("parent"),
		    str_or_null(e->f.def.parent)));
	}
	return out;
}

jv
skill_set_load(skill_set *ss, const char *name, time_t now)
{
	entry *e = skill_name_ok(name) ? find(ss, name) : NULL;
	jv r;

	/* a skill whose SKILL.md cannot be read is known by its directory */
	for (size_t i = 0; !e && skill_name_ok(name) && i < ss->n; i++)
		if (!ss->e[i].f.def.name && dir_fits(ss->e[i].f.dirname, name))
			e = &ss->e[i];

	if (!e) {
		char *safe = human_safe(name ? name : "");

		r = jv_object_set(jv_object(), jv_string("skill"), jv_string(safe));
		r = jv_object_set(r, jv_string("status"), jv_string("not-found"));
		r = jv_object_set(r, jv_string("error"), skill_name_ok(name) ?
		    jv_string_fmt("no skill '%s': the catalogue lists the skills there are", safe) :
		    jv_string_fmt("'%s' is not a skill name", safe));
		free(safe);
		return r;
	}
	check(ss, e, now, NULL);
	return jv_copy(e->result);
}
