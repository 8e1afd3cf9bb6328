#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "baseline.h"
#include "event.h"
#include "jsonl.h"
#include "store.h"
#include "ts.h"
#include "util.h"

/*
 * In memory every part is its own jv with one reference, so that an update changes it in
 * place: a nested jv_object_set on a shared value would copy the whole table each time.
 */
enum {
	B_ACTORS, B_SOURCES, B_ROLES, B_RECIPIENTS, B_IPS, B_UAS, B_REL, B_MAX,
	B_FIRST, B_STATE, B_ACTTOT, B_NPARTS
};

/*
 * Counts by key, the hot path of learning: open addressing with linear probing, the keys
 * owned by the table. jv only at load and save.
 */
typedef struct cslot {
	char *key;	/* NULL: free */
	uint64_t hash;
	double n;
	size_t seq;	/* when it came in: written in that order, as a jv object keeps it */
} cslot;

typedef struct ctab {
	cslot *slot;
	size_t cap, len;	/* cap a power of two, or 0 */
	size_t seq;
} ctab;

static uint64_t
hash_str(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

/* the slot of key, or the free one where it would go */
static cslot *
ctab_slot(const ctab *t, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (t->cap - 1);

	while (t->slot[i].key && (t->slot[i].hash != h || strcmp(t->slot[i].key, key)))
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

static void
ctab_grow(ctab *t)
{
	cslot *old = t->slot;
	size_t n = t->cap;

	t->cap = n ? n * 2 : 64;
	t->slot = xcalloc(t->cap, sizeof *t->slot);
	for (size_t i = 0; i < n; i++)
		if (old[i].key)
			*ctab_slot(t, old[i].key, old[i].hash) = old[i];
	free(old);
}

static double
ctab_get(const ctab *t, const char *key)
{
	cslot *s;

	if (!t->len)
		return 0;
	s = ctab_slot(t, key, hash_str(key));
	return s->key ? s->n : 0;
}

/* the slot at i leaves: the ones after it move back to where a lookup finds them */
static void
ctab_remove(ctab *t, size_t i)
{
	size_t mask = t->cap - 1, j = i;

	free(t->slot[i].key);
	t->slot[i].key = NULL;
	t->len--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!t->slot[j].key)
			return;
		home = (size_t)t->slot[j].hash & mask;
		/* j stays when its home lies cyclically in (i, j] */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		t->slot[i] = t->slot[j];
		t->slot[j].key = NULL;
		i = j;
	}
}

/* key's count plus by; a count that comes to 0 or less leaves the table */
static void
ctab_add(ctab *t, const char *key, double by)
{
	uint64_t h = hash_str(key);
	cslot *s;

	if ((t->len + 1) * 4 > t->cap * 3)
		ctab_grow(t);
	s = ctab_slot(t, key, h);
	if (!s->key) {
		if (by <= 0)
			return;
		s->key = xstrdup(key);
		s->hash = h;
		s->n = 0;
		s->seq = t->seq++;
		t->len++;
	}
	s->n += by;
	if (s->n <= 0)
		ctab_remove(t, (size_t)(s - t->slot));
}

/* the slot of key in t, made (count 0) when absent: a count 0 stays, meaning "none" */
static cslot *
ctab_at(ctab *t, const char *key, uint64_t h)
{
	cslot *s;

	if ((t->len + 1) * 4 > t->cap * 3)
		ctab_grow(t);
	s = ctab_slot(t, key, h);
	if (!s->key) {
		s->key = xstrdup(key);
		s->hash = h;
		s->n = 0;
		s->seq = t->seq++;
		t->len++;
	}
	return s;
}

/* the slot of key, NULL when absent */
static cslot *
ctab_find(const ctab *t, const char *key, uint64_t h)
{
	cslot *s;

	if (!t->len)
		return NULL;
	s = ctab_slot(t, key, h);
	return s->key ? s : NULL;
}

static void
ctab_free(ctab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slot[i].key);
	free(t->slot);
	memset(t, 0, sizeof *t);
}

/* the numbers of a JSON object (consumed) */
static void
ctab_from(ctab *t, jv obj)
{
	if (jv_get_kind(obj) == JV_KIND_OBJECT)
		jv_object_foreach(obj, k, v) {
			if (jv_get_kind(v) == JV_KIND_NUMBER)
				ctab_add(t, jv_string_value(k), jv_number_value(v));
			jv_free(k);
			jv_free(v);
		}
	jv_free(obj);
}

static int
cmp_slot(const void *a, const void *b)
{
	size_t x = (*(cslot *const *)a)->seq, y = (*(cslot *const *)b)->seq;

	return (x > y) - (x < y);
}

/* a string (valid UTF-8: it came from jv) as JSON */
static void
put_string(FILE *f, const char *s)
{
	/* what needs escaping; the runs between, a write each */
	static const char esc[] = "\"\\\x7f\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"
	    "\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f";

	putc('"', f);
	while (*s) {
		size_t run = strcspn(s, esc);
		unsigned char c;

		fwrite(s, 1, run, f);
		if (!(c = (unsigned char)s[run]))
			break;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else
			fprintf(f, "\\u%04x", c);
		s += run + 1;
	}
	putc('"', f);
}

static void
put_number(FILE *f, double n)
{
	if (n == (double)(long long)n && n < 1e17 && n > -1e17) {
		fprintf(f, "%lld", (long long)n);
	} else {
		jv t = jv_dump_string(jv_number(n), 0);

		fputs(jv_string_value(t), f);
		jv_free(t);
	}
}

/* as a JSON object, its keys in the order they came in */
static void
ctab_put(FILE *f, const ctab *t)
{
	cslot **v = xmalloc((t->len + 1) * sizeof *v);
	size_t n = 0;

	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i].key)
			v[n++] = &t->slot[i];
	qsort(v, n, sizeof *v, cmp_slot);
	putc('{', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			putc(',', f);
		put_string(f, v[i]->key);
		putc(':', f);
		put_number(f, v[i]->n);
	}
	putc('}', f);
	free(v);
}

/* a text made by put(f, arg), malloc'd */
static char *
text_of(void (*put)(FILE *, void *), void *arg, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		die(EXIT_WORK, "open_memstream:");
	put(f, arg);
	if (fclose(f))
		die(EXIT_WORK, "open_memstream:");
	return buf;
}

static void
put_ctab(FILE *f, void *t)
{
	ctab_put(f, t);
}

/*
 * The two big tables, frequency_tables and relationships, in files of the day directory: a
 * base, JSON Lines {"key":K,"value":V} sorted by the JSON text of K, mapped and searched in
 * place, and the deltas of the passes since it was written, the same lines (V null: the key
 * left the table), read whole at load. A pass writes the keys it changed as one more delta;
 * when the deltas come to a quarter of the base (or 8 files) the base is written again,
 * base and deltas merged. Every file is new, under a name made from its content.
 */
typedef struct tfile {
	char *path;	/* NULL: none */
	char *map;	/* its text (NULL when empty) */
	size_t len;
} tfile;

typedef struct table {
	const char *name;	/* "frequency_tables", "relationships" */
	tfile base;
	char *base_name;	/* as baseline.json names it; NULL: none yet */
	size_t base_bytes;	/* of the base as last written */
	char **deltas;	/* names, oldest first */
	size_t ndeltas, delta_bytes;
	int rebase;	/* the next save writes the base (new, migrated, learned again) */
} table;

enum { DELTAS_MAX = 8, DELTAS_FRACTION = 4 };

static void
tfile_close(tfile *f)
{
	if (f->map)
		munmap(f->map, f->len);
	free(f->path);
	memset(f, 0, sizeof *f);
}

static void
table_clear(table *t)
{
	tfile_close(&t->base);
	free(t->base_name);
	t->base_name = NULL;
	t->base_bytes = 0;
	for (size_t i = 0; i < t->ndeltas; i++)
		free(t->deltas[i]);
	free(t->deltas);
	t->deltas = NULL;
	t->ndeltas = t->delta_bytes = 0;
}

static const char table_bad[] = "; restore it, or delete baseline.json and baseline.d/ to "
    "learn again";

/* a file baseline.json names, opened: absent or unreadable is an error, never an empty one */
static int
table_open(const char *path, int *fd, struct stat *st, char **err)
{
	*fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (*fd >= 0 && fstat(*fd, st) == 0 && S_ISREG(st->st_mode))
		return 0;
	if (*fd >= 0) {
		errno = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
		close(*fd);
	}
	*err = xasprintf("cannot read '%s': %s%s", path, strerror(errno), table_bad);
	return -1;
}

static int
tfile_map(tfile *f, const char *path, char **err)
{
	struct stat st;
	int fd;

	if (table_open(path, &fd, &st, err))
		return -1;
	f->path = xstrdup(path);
	f->len = (size_t)st.st_size;
	if (f->len && (f->map = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		*err = xasprintf("cannot read '%s': %s%s", path, strerror(errno), table_bad);
		f->map = NULL;
		close(fd);
		return -1;
	}
	close(fd);
	if (f->len && (f->map[f->len - 1] != '\n' || f->len < 10 ||
	    memcmp(f->map, "{\"key\":\"", 8))) {
		*err = xasprintf("'%s' is not a table of the baseline (JSON Lines of {key, value})%s",
		    path, table_bad);
		return -1;
	}
	return 0;
}

static void __attribute__((noreturn))
tfile_bad(const tfile *f)
{
	die(EXIT_WORK, "'%s' is not a table of the baseline (JSON Lines of {key, value})%s",
	    f->path, table_bad);
}

/* the JSON text of the key of the line at `at` (its length in *elen) */
static const char *
line_key(const tfile *f, size_t at, size_t *elen)
{
	const char *s = f->map + at, *end = f->map + f->len, *k;

	if ((size_t)(end - s) < 8 || memcmp(s, "{\"key\":\"", 8))
		tfile_bad(f);
	for (k = s += 8; s < end && *s != '"' && *s != '\n'; s++)
		if (*s == '\\' && s + 1 < end && s[1] != '\n')
			s++;
	if (s >= end || *s != '"')
		tfile_bad(f);
	*elen = (size_t)(s - k);
	return k;
}

/* the value of the line at `at`, its text up to the line's last '}'; *next: the next line */
static const char *
line_value(const tfile *f, size_t at, size_t *vlen, size_t *next)
{
	size_t elen;
	const char *k = line_key(f, at, &elen), *v = k + elen + 1;
	const char *nl = memchr(v, '\n', (size_t)(f->map + f->len - v));

	if (!nl || nl - v < 11 || memcmp(v, ",\"value\":", 9) || nl[-1] != '}')
		tfile_bad(f);
	*vlen = (size_t)(nl - 1 - (v + 9));
	*next = (size_t)(nl + 1 - f->map);
	return v + 9;
}

static int
esc_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

/* where the first line whose key is at least esc (JSON text) begins */
static size_t
tfile_lower(const tfile *f, const char *esc, size_t elen)
{
	size_t lo = 0, hi = f->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, s = mid, kl, vl, next;
		const char *k;

		while (s > lo && f->map[s - 1] != '\n')
			s--;
		k = line_key(f, s, &kl);
		if (esc_cmp(k, kl, esc, elen) < 0) {
			line_value(f, s, &vl, &next);
			lo = next;
		} else {
			hi = s;
		}
	}
	return lo;
}

/* the value text of key esc, NULL when the base has none */
static const char *
tfile_get(const tfile *f, const char *esc, size_t elen, size_t *vlen)
{
	size_t at, kl, next;
	const char *k;

	if (!f->map)
		return NULL;
	at = tfile_lower(f, esc, elen);
	if (at >= f->len)
		return NULL;
	k = line_key(f, at, &kl);
	return esc_cmp(k, kl, esc, elen) ? NULL : line_value(f, at, vlen, &next);
}

/* a key as JSON text without its quotes (as put_string writes it); s itself when it needs none */
static char *
esc_key(const char *s, size_t *elen)
{
	const char *c;
	char *buf;
	size_t n;
	FILE *f;

	for (c = s; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
			break;
	if (!*c) {
		*elen = (size_t)(c - s);
		return (char *)s;
	}
	if (!(f = open_memstream(&buf, &n)))
		die(EXIT_WORK, "open_memstream:");
	put_string(f, s);
	if (fclose(f))
		die(EXIT_WORK, "open_memstream:");
	memmove(buf, buf + 1, n - 2);
	buf[n - 2] = 0;
	*elen = n - 2;
	return buf;
}

static void
esc_free(char *esc, const char *key)
{
	if (esc != key)
		free(esc);
}

/* the key of a line, as a string (malloc'd) */
static char *
line_raw_key(const tfile *f, size_t at)
{
	size_t elen;
	const char *k = line_key(f, at, &elen);
	char *q;
	jv s;

	if (!memchr(k, '\\', elen))
		return strndup(k, elen);
	q = xasprintf("\"%.*s\"", (int)elen, k);
	s = jsonl_parse(q, strlen(q));
	free(q);
	if (jv_get_kind(s) != JV_KIND_STRING)
		tfile_bad(f);
	q = xstrdup(jv_string_value(s));
	jv_free(s);
	return q;
}

/* a key of the overlay: the keys changed since the base, in the order of the base */
typedef struct okey {
	const char *key;
	char *esc;
	size_t elen;
} okey;

static int
cmp_okey(const void *a, const void *b)
{
	const okey *x = a, *y = b;

	return esc_cmp(x->esc, x->elen, y->esc, y->elen);
}

static void
okeys_free(okey *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		esc_free(v[i].esc, v[i].key);
	free(v);
}

/*
 * Every key of a table in order, base and overlay merged: fn gets the key and, when it comes
 * from the base, the text of its value (val NULL: the overlay holds it). Only the keys that
 * begin with prefix (when given). When whole, a line of the base comes as it is: key NULL, val
 * the line with its newline.
 */
typedef void (*walk_fn)(void *arg, const char *key, const char *val, size_t vlen);

static void
table_walk(const tfile *base, okey *ov, size_t nov, const char *prefix, int whole, walk_fn fn,
    void *arg)
{
	size_t at = 0, i = 0, plen = 0, elen = 0, vlen, next;
	char *pesc = NULL;

	qsort(ov, nov, sizeof *ov, cmp_okey);
	if (prefix) {
		pesc = esc_key(prefix, &plen);
		if (base->map)
			at = tfile_lower(base, pesc, plen);
	}
	for (;;) {
		const char *k = NULL, *v;

		while (i < nov && prefix && strncmp(ov[i].key, prefix, strlen(prefix)))
			i++;
		if (base->map && at < base->len) {
			k = line_key(base, at, &elen);
			if (prefix && (elen < plen || memcmp(k, pesc, plen)))
				k = NULL;
		}
		if (!k && i >= nov)
			break;
		if (k && (i >= nov || esc_cmp(k, elen, ov[i].esc, ov[i].elen) < 0)) {
			v = line_value(base, at, &vlen, &next);
			if (whole) {
				fn(arg, NULL, base->map + at, next - at);
			} else {
				char *raw = line_raw_key(base, at);

				fn(arg, raw, v, vlen);
				free(raw);
			}
			at = next;
			continue;
		}
		if (k && !esc_cmp(k, elen, ov[i].esc, ov[i].elen)) {
			line_value(base, at, &vlen, &next);
			at = next;
		}
		fn(arg, ov[i].key, NULL, 0);
		i++;
	}
	if (pesc)
		esc_free(pesc, prefix);
}

/* JSON Lines {"key":K,"value":V} */
static void
put_line(FILE *f, const char *key, const char *val, size_t vlen)
{
	fputs("{\"key\":", f);
	put_string(f, key);
	fputs(",\"value\":", f);
	fwrite(val, 1, vlen, f);
	fputs("}\n", f);
}

/*
 * One day of the window. Its counts live in a file of the day directory of their own, read
 * when first needed, so that a pass reads and writes the days its events fall on, not all.
 */
typedef struct bday {
	char date[11];	/* YYYY-MM-DD */
	char *file;	/* its file in the day directory, NULL until written there */
	int fd;		/* that file opened at load (-1 when not): a save by another run that
			 * removes it meanwhile cannot take it away */
	ctab t;		/* its counts */
	int loaded;	/* t holds them (else they are in the file) */
	int dirty;	/* changed since read or written */
} bday;

static const char *list_names[] = {
	[B_ACTORS] = "actors", [B_SOURCES] = "sources", [B_RECIPIENTS] = "recipients",
	[B_IPS] = "ips", [B_UAS] = "user_agents",
};

typedef struct baseline_parts {
	jv p[B_NPARTS];
	/* frequency_tables: the base file, what its deltas changed (fold), what this pass
	 * changed (fnew); a count 0 there: the key left the table */
	table ft;
	ctab fold, fnew;
	double fentries;	/* how many keys it has */
	/* relationships: the same, B_REL what this pass changed */
	table rt;
	jv rel_old;
	/* B_ACTTOT: per actor [targets, events] over the relationships, made when first asked
	 * for and kept up to date; derived, never saved */
	jv rest;	/* top-level members we do not use, kept as they were */
	jv known_rest;	/* the same inside known_entities */
	double events;
	int earlier;	/* read from a file of the earlier implementation */
	bday *days;	/* sorted by date */
	size_t ndays, daycap;
	char *dir;	/* the day directory the files of days[] are in; NULL when none */
	int dirty;	/* changed since loaded or saved (the days have their own flag) */
	/* first_seen of the sources asked about, parsed (0: none); B_FIRST holds the text */
	struct seen {
		char *source;
		int64_t first;
	} *seen;
	size_t nseen;
	char *key;	/* the key being counted */
	size_t keycap;
} parts;

static void days_drop(parts *p, size_t n);

static void
seen_clear(parts *p)
{
	for (size_t i = 0; i < p->nseen; i++)
		free(p->seen[i].source);
	free(p->seen);
	p->seen = NULL;
	p->nseen = 0;
}

/* where a source's first_seen is kept parsed: read from B_FIRST the first time it is asked */
static int64_t *
seen_slot(parts *p, const char *source)
{
	jv f;
	struct seen *s;

	for (size_t i = 0; i < p->nseen; i++)
		if (!strcmp(p->seen[i].source, source))
			return &p->seen[i].first;
	p->seen = xrealloc(p->seen, (p->nseen + 1) * sizeof *p->seen);
	s = &p->seen[p->nseen++];
	s->source = xstrdup(source);
	s->first = 0;
	f = jv_object_get(jv_copy(p->p[B_FIRST]), jv_string(source));
	if (jv_get_kind(f) != JV_KIND_STRING || ts_parse(jv_string_value(f), &s->first))
		s->first = 0;
	jv_free(f);
	return &s->first;
}

/* the segments joined by ':' into the key buffer of the pass (valid until the next call) */
static const char *
key_of(parts *p, int n, ...)
{
	size_t len = 0;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *s = va_arg(ap, const char *);
		size_t sl = strlen(s);

		if (len + sl + 2 > p->keycap) {
			p->keycap = (len + sl + 2) * 2;
			p->key = xrealloc(p->key, p->keycap);
		}
		if (i)
			p->key[len++] = ':';
		memcpy(p->key + len, s, sl);
		len += sl;
	}
	va_end(ap);
	p->key[len] = 0;
	return p->key;
}

static parts *
P(const baseline *b)
{
	return b->p;
}

void
baseline_init(baseline *b, int window_days)
{
	parts *p = xcalloc(1, sizeof *p);

	for (int i = 0; i < B_NPARTS; i++)
		p->p[i] = jv_object();
	p->rest = jv_object();
	p->known_rest = jv_object();
	p->rel_old = jv_object();
	p->ft.name = "frequency_tables";
	p->rt.name = "relationships";
	b->p = p;
	b->window_days = window_days > 0 ? window_days : 30;
}

void
baseline_free(baseline *b)
{
	parts *p = P(b);

	if (!p)
		return;
	for (int i = 0; i < B_NPARTS; i++)
		jv_free(p->p[i]);
	jv_free(p->rest);
	jv_free(p->known_rest);
	days_drop(p, p->ndays);
	free(p->days);
	free(p->dir);
	ctab_free(&p->fold);
	ctab_free(&p->fnew);
	table_clear(&p->ft);
	table_clear(&p->rt);
	jv_free(p->rel_old);
	seen_clear(p);
	free(p->key);
	free(p);
	b->p = NULL;
}

/* take a member out of an object (so that it has one reference), to change it in place */
static jv
take(jv *obj, const char *key)
{
	jv v = jv_object_get(jv_copy(*obj), jv_string(key));

	if (jv_is_valid(v))
		*obj = jv_object_set(*obj, jv_string(key), jv_null());
	return v;
}

static jv
as_set(jv list)
{
	jv set = jv_object();

	if (jv_get_kind(list) == JV_KIND_ARRAY)
		jv_array_foreach(list, i, x) {
			(void)i;
			if (jv_get_kind(x) == JV_KIND_STRING)
				set = jv_object_set(set, x, jv_true());
			else
				jv_free(x);
		}
	jv_free(list);
	return set;
}

/* a baseline of the earlier implementation has its markers in keys as well as in values */
static jv
unwrap_keys(jv v)
{
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		jv o = jv_object();

		jv_object_foreach(v, k, x)
			o = jv_object_set(o, event_unwrap(k), unwrap_keys(x));
		jv_free(v);
		return o;
	}
	return event_unwrap(v);
}

/* an actor's [targets, events] when they are known already: kept up to date */
static void
tally(parts *p, const char *actor, double targets, double events)
{
	jv t = take(&p->p[B_ACTTOT], actor);

	if (jv_get_kind(t) != JV_KIND_ARRAY) {
		jv_free(t);
		p->p[B_ACTTOT] = jv_object_delete(p->p[B_ACTTOT], jv_string(actor));
		return;
	}
	p->p[B_ACTTOT] = jv_object_set(p->p[B_ACTTOT], jv_string(actor),
	    JV_ARRAY(jv_number(jsonl_number(jv_array_get(jv_copy(t), 0), 0) + targets),
	    jv_number(jsonl_number(jv_array_get(jv_copy(t), 1), 0) + events)));
	jv_free(t);
}

/* the count of a frequency key in the base file */
static double
freq_base(const parts *p, const char *key)
{
	size_t elen, vlen;
	char *esc;
	const char *v;
	double n = 0;

	if (!p->ft.base.map)
		return 0;
	esc = esc_key(key, &elen);
	if ((v = tfile_get(&p->ft.base, esc, elen, &vlen))) {
		char *end;

		n = strtod(v, &end);
		if (end != v + vlen)
			tfile_bad(&p->ft.base);
	}
	esc_free(esc, key);
	return n;
}

static double
freq_get(const parts *p, const char *key)
{
	uint64_t h = hash_str(key);
	cslot *s;

	if ((s = ctab_find(&p->fnew, key, h)) || (s = ctab_find(&p->fold, key, h)))
		return s->n;
	return freq_base(p, key);
}

/* key's count plus by; a count that comes to 0 or less leaves the table */
static void
freq_add(parts *p, const char *key, double by)
{
	uint64_t h = hash_str(key);
	cslot *s = ctab_find(&p->fnew, key, h);
	double old, n;

	if (s) {
		old = s->n;
	} else {
		cslot *o = ctab_find(&p->fold, key, h);

		old = o ? o->n : freq_base(p, key);
	}
	n = old + by > 0 ? old + by : 0;
	if (old <= 0 && n <= 0)
		return;
	p->fentries += (old <= 0 && n > 0) - (old > 0 && n <= 0);
	if (!s)
		s = ctab_at(&p->fnew, key, h);
	s->n = n;
}

/* the relationship of key (a copy): this pass's, the deltas', the base's; invalid when none */
static jv
rel_get(const parts *p, const char *key)
{
	jv r = jv_object_get(jv_copy(p->p[B_REL]), jv_string(key));
	size_t elen, vlen;
	const char *v;
	char *esc;

	if (jv_is_valid(r))
		return r;
	jv_free(r);
	r = jv_object_get(jv_copy(p->rel_old), jv_string(key));
	if (jv_is_valid(r) || !p->rt.base.map)
		return r;
	jv_free(r);
	esc = esc_key(key, &elen);
	v = tfile_get(&p->rt.base, esc, elen, &vlen);
	r = v ? jsonl_parse(v, vlen) : jv_invalid();
	esc_free(esc, key);
	if (v && !jv_is_valid(r))
		tfile_bad(&p->rt.base);
	return r;
}

/* the keys of the overlay of frequencies: fold's and fnew's, once each */
static okey *
freq_okeys(const parts *p, size_t *n)
{
	okey *v = xmalloc((p->fold.len + p->fnew.len + 1) * sizeof *v);

	*n = 0;
	for (size_t i = 0; i < p->fnew.cap; i++)
		if (p->fnew.slot[i].key)
			v[(*n)++].key = p->fnew.slot[i].key;
	for (size_t i = 0; i < p->fold.cap; i++)
		if (p->fold.slot[i].key &&
		    !ctab_find(&p->fnew, p->fold.slot[i].key, p->fold.slot[i].hash))
			v[(*n)++].key = p->fold.slot[i].key;
	for (size_t i = 0; i < *n; i++)
		v[i].esc = esc_key(v[i].key, &v[i].elen);
	return v;
}

/*
 * the keys of the overlay of relationships that begin with prefix (when given); they point
 * into the objects, which stay
 */
static okey *
rel_okeys(const parts *p, const char *prefix, size_t *n)
{
	size_t cap = (size_t)jv_object_length(jv_copy(p->p[B_REL])) +
	    (size_t)jv_object_length(jv_copy(p->rel_old)) + 1, pl = prefix ? strlen(prefix) : 0;
	okey *v = xmalloc(cap * sizeof *v);

	*n = 0;
	jv_object_foreach(p->p[B_REL], k, x) {
		if (!pl || !strncmp(jv_string_value(k), prefix, pl))
			v[(*n)++].key = jv_string_value(k);	/* p->p[B_REL] holds it */
		jv_free(k);
		jv_free(x);
	}
	jv_object_foreach(p->rel_old, k, x) {
		if ((!pl || !strncmp(jv_string_value(k), prefix, pl)) &&
		    !jv_object_has(jv_copy(p->p[B_REL]), jv_copy(k)))
			v[(*n)++].key = jv_string_value(k);
		jv_free(k);
		jv_free(x);
	}
	for (size_t i = 0; i < *n; i++)
		v[i].esc = esc_key(v[i].key, &v[i].elen);
	return v;
}

/* fn(arg, key, n) for every frequency (count above 0), in order of the keys */
typedef void (*freq_fn)(void *arg, const char *key, double n);
struct freq_walk { const parts *p; freq_fn fn; void *arg; };

static void
freq_step(void *arg, const char *key, const char *val, size_t vlen)
{
	struct freq_walk *w = arg;
	double n;

	if (val) {
		char *end;

		n = strtod(val, &end);
		if (end != val + vlen)
			tfile_bad(&w->p->ft.base);
	} else {
		n = freq_get(w->p, key);
	}
	if (n > 0)
		w->fn(w->arg, key, n);
}

static void
freq_each(const parts *p, freq_fn fn, void *arg)
{
	struct freq_walk w = {p, fn, arg};
	size_t n;
	okey *ov = freq_okeys(p, &n);

	table_walk(&p->ft.base, ov, n, NULL, 0, freq_step, &w);
	okeys_free(ov, n);
}

/* fn(arg, key, relationship (consumed)) for every relationship whose key begins with prefix */
typedef void (*rel_fn)(void *arg, const char *key, jv r);
struct rel_walk { const parts *p; rel_fn fn; void *arg; };

static void
rel_step(void *arg, const char *key, const char *val, size_t vlen)
{
	struct rel_walk *w = arg;
	jv r;

	if (val) {
		r = jsonl_parse(val, vlen);
		if (!jv_is_valid(r))
			tfile_bad(&w->p->rt.base);
	} else {
		r = rel_get(w->p, key);
	}
	if (jv_get_kind(r) == JV_KIND_NULL || !jv_is_valid(r))
		jv_free(r);
	else
		w->fn(w->arg, key, r);
}

static void
rel_each(const parts *p, const char *prefix, rel_fn fn, void *arg)
{
	struct rel_walk w = {p, fn, arg};
	size_t n;
	okey *ov = rel_okeys(p, prefix, &n);

	table_walk(&p->rt.base, ov, n, prefix, 0, rel_step, &w);
	okeys_free(ov, n);
}

/* the days before index n leave: their files are no longer named once saved */
static void
days_drop(parts *p, size_t n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n; i++) {
		if (p->days[i].fd >= 0)
			close(p->days[i].fd);
		free(p->days[i].file);
		ctab_free(&p->days[i].t);
	}
	memmove(p->days, p->days + n, (p->ndays - n) * sizeof *p->days);
	p->ndays -= n;
}

/* s begins with YYYY-MM-DD */
static int
is_date_prefix(const char *s)
{
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

static int
is_date(const char *s)
{
	return is_date_prefix(s) && !s[10];
}

/* the day of date, else NULL, or a new one (empty, to be written) when create */
static bday *
day_find(parts *p, const char *date, int create)
{
	size_t lo = 0, hi = p->ndays;
	bday *d;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(p->days[mid].date, date);

		if (!c)
			return &p->days[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!create)
		return NULL;
	if (p->ndays == p->daycap)
		p->days = xrealloc(p->days, (p->daycap = p->daycap ? p->daycap * 2 : 32) *
		    sizeof *p->days);
	memmove(p->days + lo + 1, p->days + lo, (p->ndays - lo) * sizeof *p->days);
	p->ndays++;
	d = &p->days[lo];
	memset(d, 0, sizeof *d);
	snprintf(d->date, sizeof d->date, "%s", date);
	d->fd = -1;
	d->loaded = 1;
	d->dirty = 1;
	p->dirty = 1;
	return d;
}

/* the file of a day directory */
static char *
day_path(const parts *p, const char *file)
{
	return xasprintf("%s/%s", p->dir, file);
}

static char *
read_fd(int fd, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	ssize_t r;

	do {
		if (cap - n < 65536)
			buf = xrealloc(buf, cap = cap ? cap * 2 : 65536);
		r = read(fd, buf + n, cap - n - 1);
		if (r > 0)
			n += (size_t)r;
	} while (r > 0 || (r < 0 && errno == EINTR));
	if (r < 0) {
		int e = errno;

		free(buf);
		errno = e;
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/*
 * A day's counts, read from its file the first time. A file baseline.json names that cannot
 * be read now is no empty day: what was learned would be lost at the next save, and what the
 * detectors say without it would be wrong, so the program stops before it writes anything.
 */
static ctab *
day_counts(parts *p, bday *d)
{
	char *path, *text;
	size_t len;
	jv v;

	if (d->loaded)
		return &d->t;
	path = day_path(p, d->file);
	if (d->fd < 0 && (d->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		die(EXIT_WORK, "cannot read '%s': %s; restore it, or delete baseline.json and its "
		    "days to learn again", path, strerror(errno));
	if (!(text = read_fd(d->fd, &len)))
		die(EXIT_WORK, "cannot read '%s': %s; restore it, or delete baseline.json and its "
		    "days to learn again", path, strerror(errno));
	close(d->fd);
	d->fd = -1;
	v = jsonl_parse(text, len);
	free(text);
	if (jv_get_kind(v) != JV_KIND_OBJECT)
		die(EXIT_WORK, "'%s' is not a day of the baseline (a JSON object); restore it, or "
		    "delete baseline.json and its days to learn again", path);
	free(path);
	ctab_from(&d->t, v);
	d->loaded = 1;
	return &d->t;
}

/* the day directory of a baseline file: PATH without ".json", with ".d" */
static char *
day_dir(const char *path)
{
	size_t l = strlen(path);

	if (l > 5 && !strcmp(path + l - 5, ".json"))
		l -= 5;
	return xasprintf("%.*s.d", (int)l, path);
}

/* a day file baseline.json names must be there, a file we can read */
static int
day_check(parts *p, bday *d, int keep_open, char **err)
{
	char *path = day_path(p, d->file);
	struct stat st;
	int bad;

	if (keep_open) {
		d->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		bad = d->fd < 0 || fstat(d->fd, &st);
	} else {
		bad = stat(path, &st) != 0;
	}
	if (!bad && !S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		bad = 1;
	}
	if (bad)
		*err = xasprintf("cannot read '%s': %s; restore it, or delete baseline.json and "
		    "its days to learn again", path, strerror(errno));
	free(path);
	return bad ? -1 : 0;
}

/* the newest days are opened at load; older ones (a window may hold 3650) when first read */
enum { DAYS_OPEN = 64 };

/*
 * The days: inline in "daily" (a file written before the days had files of their own; they
 * are written to files at the next save), or named in "daily_files", read when needed.
 */
static int
load_days(parts *p, jv daily, jv files, const char *path, char **err)
{
	int r = 0;

	if (jv_get_kind(daily) == JV_KIND_OBJECT)
		jv_object_foreach(daily, k, t) {
			if (is_date(jv_string_value(k))) {
				bday *d = day_find(p, jv_string_value(k), 1);

				ctab_from(&d->t, jv_copy(t));
			}
			jv_free(k);
			jv_free(t);
		}
	jv_free(daily);
	if (jv_get_kind(files) == JV_KIND_OBJECT)
		jv_object_foreach(files, k, f) {
			const char *date = jv_string_value(k), *name = "";
			bday *d;

			if (jv_get_kind(f) == JV_KIND_STRING)
				name = jv_string_value(f);
			if (!r && (!is_date(date) || !*name || *name == '.' || strchr(name, '/'))) {
				*err = xasprintf("'%s': daily_files.%s: not the name of a file "
				    "in '%s'; restore it from git or delete it to learn again", path,
				    date, p->dir);
				r = -1;
			} else if (!r) {
				d = day_find(p, date, 1);
				ctab_free(&d->t);
				d->loaded = 0;
				free(d->file);
				d->file = xstrdup(name);
				d->dirty = 0;
			}
			jv_free(k);
			jv_free(f);
		}
	jv_free(files);
	/* the newest are the ones a pass reads */
	for (size_t i = p->ndays; !r && i-- > 0;)
		if (p->days[i].file)
			r = day_check(p, &p->days[i], p->ndays - i <= DAYS_OPEN, err);
	return r;
}

static void
load_known(parts *p, jv known)
{
	if (jv_get_kind(known) != JV_KIND_OBJECT) {
		jv_free(known);
		return;
	}
	for (int i = 0; i < (int)(sizeof list_names / sizeof *list_names); i++) {
		jv x;

		if (!list_names[i])
			continue;
		x = take(&known, list_names[i]);
		known = jv_object_delete(known, jv_string(list_names[i]));
		jv_free(p->p[i]);
		p->p[i] = as_set(x);
	}
	{
		jv roles = take(&known, "actor_roles");

		known = jv_object_delete(known, jv_string("actor_roles"));
		if (jv_get_kind(roles) == JV_KIND_OBJECT)
			jv_object_foreach(roles, k, x)
				p->p[B_ROLES] = jv_object_set(p->p[B_ROLES], k, as_set(x));
		jv_free(roles);
	}
	jv_free(p->known_rest);
	p->known_rest = known;
}

/* a member taken out of v (so that it has one reference), deleted there */
static jv
take_out(jv *v, const char *key)
{
	jv x = take(v, key);

	*v = jv_object_delete(*v, jv_string(key));
	return x;
}

/* a file name baseline.json gives for one in the day directory */
static int
is_file_name(jv name)
{
	const char *s;

	if (jv_get_kind(name) != JV_KIND_STRING)
		return 0;
	s = jv_string_value(name);
	return *s && *s != '.' && !strchr(s, '/');
}

static void
add_name(table *t, const char *name)
{
	t->deltas = xrealloc(t->deltas, (t->ndeltas + 1) * sizeof *t->deltas);
	t->deltas[t->ndeltas++] = xstrdup(name);
}

/* a delta of t, read into its overlay: a later delta wins over an earlier one */
static int
delta_read(parts *p, table *t, const char *name, char **err)
{
	char *path = day_path(p, name), *text, *s;
	size_t len, line = 0;
	struct stat st;
	int fd;

	if (table_open(path, &fd, &st, err)) {
		free(path);
		return -1;
	}
	text = read_fd(fd, &len);
	close(fd);
	if (!text) {
		*err = xasprintf("cannot read '%s': %s%s", path, strerror(errno), table_bad);
		free(path);
		return -1;
	}
	for (s = text; s < text + len; line++) {
		char *nl = memchr(s, '\n', (size_t)(text + len - s));
		jv e = nl ? jsonl_parse(s, (size_t)(nl - s)) : jv_invalid();
		jv k = jsonl_get(jv_copy(e), "key"), v = jsonl_get(e, "value");
		jv_kind vk = jv_get_kind(v);

		if (jv_get_kind(k) != JV_KIND_STRING || (t == &p->ft ? vk != JV_KIND_NUMBER &&
		    vk != JV_KIND_NULL : vk != JV_KIND_OBJECT && vk != JV_KIND_NULL)) {
			*err = xasprintf("'%s': line %zu: not a change of the baseline's %s (JSON "
			    "{key, value})%s", path, line + 1, t->name, table_bad);
			jv_free(k);
			jv_free(v);
			free(text);
			free(path);
			return -1;
		}
		if (t == &p->ft) {
			const char *key = jv_string_value(k);

			ctab_at(&p->fold, key, hash_str(key))->n =
			    vk == JV_KIND_NUMBER ? jv_number_value(v) : 0;
			jv_free(v);
			jv_free(k);
		} else {
			p->rel_old = jv_object_set(p->rel_old, k, v);
		}
		s = nl + 1;
	}
	t->delta_bytes += len;
	add_name(t, name);
	free(text);
	free(path);
	return 0;
}

/* "frequency_files" or "relationship_files": {base, deltas: [names]} */
static int
table_load(parts *p, table *t, jv desc, const char *path, char **err)
{
	jv base = jsonl_get(jv_copy(desc), "base"), deltas = jsonl_get(jv_copy(desc), "deltas");
	int r = 0;

	if (!is_file_name(base) || jv_get_kind(deltas) != JV_KIND_ARRAY) {
		r = -1;
	} else {
		jv_array_foreach(deltas, i, d) {
			(void)i;
			r |= is_file_name(d) ? 0 : -1;
			jv_free(d);
		}
	}
	if (r) {
		*err = xasprintf("'%s': %s: not the names of files in '%s'; restore it from git or "
		    "delete it to learn again", path, t == &p->ft ? "frequency_files" :
		    "relationship_files", p->dir);
	} else {
		char *bp = day_path(p, jv_string_value(base));

		r = tfile_map(&t->base, bp, err);
		free(bp);
		t->base_name = xstrdup(jv_string_value(base));
		t->base_bytes = t->base.len;
		jv_array_foreach(deltas, i, d) {
			(void)i;
			if (!r)
				r = delta_read(p, t, jv_string_value(d), err);
			jv_free(d);
		}
	}
	if (!r && t == &p->ft) {
		jv n = jsonl_get(jv_copy(desc), "entries");

		p->fentries = jsonl_number(n, 0);
	}
	jv_free(base);
	jv_free(deltas);
	jv_free(desc);
	return r;
}

/* the tables: in their files, or (a file written before they had files) inline */
static int
load_tables(parts *p, jv *v, const char *path, char **err)
{
	jv freq = take_out(v, "frequency_tables"), rel = take_out(v, "relationships");
	jv ff = take_out(v, "frequency_files"), rf = take_out(v, "relationship_files");
	int r = 0;

	if (jv_get_kind(ff) != JV_KIND_INVALID) {
		r = table_load(p, &p->ft, ff, path, err);
	} else {
		jv_free(ff);
		if (jv_get_kind(freq) == JV_KIND_OBJECT)
			jv_object_foreach(freq, k, n) {
				const char *key = jv_string_value(k);

				if (jv_get_kind(n) == JV_KIND_NUMBER && jv_number_value(n) > 0) {
					ctab_at(&p->fold, key, hash_str(key))->n += jv_number_value(n);
					p->fentries++;
				}
				jv_free(k);
				jv_free(n);
			}
		p->ft.rebase = 1;
	}
	if (!r && jv_get_kind(rf) != JV_KIND_INVALID) {
		r = table_load(p, &p->rt, rf, path, err);
	} else {
		jv_free(rf);
		if (!r && jv_get_kind(rel) == JV_KIND_OBJECT) {
			jv_free(p->rel_old);
			p->rel_old = jv_copy(rel);
		}
		p->rt.rebase = 1;
	}
	jv_free(freq);
	jv_free(rel);
	return r;
}

int
baseline_load(baseline *b, const char *path, int window_days, char **err)
{
	static const struct { int part; const char *key; } top[] = {
		{B_MAX, "maxima"},
		{B_FIRST, "first_seen"}, {B_STATE, "detector_state"},
	};
	size_t len;
	char *text = store_read(path, &len, err);
	parts *p;
	jv v;
	int unwrapped;

	baseline_init(b, window_days);
	p = P(b);
	p->dir = day_dir(path);
	p->dirty = 1;	/* no file yet: the first save writes one */
	if (!text)
		return *err ? -1 : 0;
	v = jsonl_parse(text, len);
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		free(text);
		*err = xasprintf("'%s' is not a baseline (a JSON object); restore it from git or "
		    "delete it to learn again", path);
		return -1;
	}
	if ((unwrapped = strstr(text, "[USER_DATA_") != NULL))
		v = unwrap_keys(v);
	free(text);
	/* ours always has them; the earlier implementation's never */
	p->earlier = !jv_object_has(jv_copy(v), jv_string("detector_state")) &&
	    !jv_object_has(jv_copy(v), jv_string("daily")) &&
	    !jv_object_has(jv_copy(v), jv_string("daily_files"));
	if (load_tables(p, &v, path, err)) {
		jv_free(v);
		return -1;
	}
	for (size_t i = 0; i < sizeof top / sizeof *top; i++) {
		jv x = take_out(&v, top[i].key);

		if (jv_get_kind(x) == JV_KIND_OBJECT) {
			jv_free(p->p[top[i].part]);
			p->p[top[i].part] = x;
		} else {
			jv_free(x);
		}
	}
	if (load_days(p, take_out(&v, "daily"), take_out(&v, "daily_files"), path, err)) {
		jv_free(v);
		return -1;
	}
	load_known(p, take_out(&v, "known_entities"));
	/* a baseline of the earlier implementation has learned its sources already */
	if (jv_object_length(jv_copy(p->p[B_FIRST])) == 0)
		jv_object_foreach(p->p[B_SOURCES], k, x) {
			p->p[B_FIRST] = jv_object_set(p->p[B_FIRST], k, jv_string("1970-01-01T00:00:01Z"));
			jv_free(x);
		}
	{
		jv n = take_out(&v, "events");

		p->events = jv_get_kind(n) == JV_KIND_NUMBER ? jv_number_value(n) : 0;
		jv_free(n);
	}
	/* saved again only when something changes, or to bring it to this form */
	p->dirty = unwrapped || p->earlier || p->ft.rebase || p->rt.rebase ||
	    !jv_object_has(jv_copy(v), jv_string("actor_context"));
	for (size_t i = 0; i < p->ndays; i++)
		p->dirty |= p->days[i].dirty;
	jv_free(p->rest);
	p->rest = v;
	return 0;
}

static jv
sorted(jv set)
{
	return jv_keys(set);	/* jv_keys sorts */
}

/* everything but the tables and the days */
static jv
baseline_json(parts *p)
{
	jv known = jv_copy(p->known_rest), roles = jv_object(), out;

	for (int i = 0; i < (int)(sizeof list_names / sizeof *list_names); i++)
		if (list_names[i])
			known = jv_object_set(known, jv_string(list_names[i]),
			    sorted(jv_copy(p->p[i])));
	jv_object_foreach(p->p[B_ROLES], k, x)
		roles = jv_object_set(roles, k, sorted(x));
	known = jv_object_set(known, jv_string("actor_roles"), roles);
	out = jv_copy(p->rest);
	out = jv_object_set(out, jv_string("known_entities"), known);
	if (!jv_object_has(jv_copy(out), jv_string("actor_context")))
		out = jv_object_set(out, jv_string("actor_context"), jv_object());
	out = jv_object_set(out, jv_string("maxima"), jv_copy(p->p[B_MAX]));
	out = jv_object_set(out, jv_string("first_seen"), jv_copy(p->p[B_FIRST]));
	out = jv_object_set(out, jv_string("detector_state"), jv_copy(p->p[B_STATE]));
	return jv_object_set(out, jv_string("events"), jv_number(p->events));
}

/* a day's file is named by its content: one that changed gets a new name */
static char *
day_file_name(const char *date, const char *text)
{
	return xasprintf("%s.%016llx.json", date, (unsigned long long)hash_str(text));
}

static int
make_dir(const char *dir, char **err)
{
	if (mkdir(dir, 0755) == 0) {
		char *parent = xasprintf("%s/..", dir);
		int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
		free(parent);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	*err = xasprintf("cannot create '%s': %s", dir, strerror(errno));
	return -1;
}

static int
is_table_file(const char *name)
{
	return !strncmp(name, "frequency_tables.", 17) || !strncmp(name, "relationships.", 14);
}

/*
 * Files of the day directory that the new baseline.json does not name (named: a set): the
 * days it no longer holds, tables merged into a new base, earlier versions, what a crash left
 */
static void
remove_unnamed(const char *dir, jv named)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d) {
		jv_free(named);
		return;
	}
	while ((de = readdir(d)))
		if (((is_date_prefix(de->d_name) && de->d_name[10] == '.') ||
		    is_table_file(de->d_name)) &&
		    !jv_object_has(jv_copy(named), jv_string(de->d_name)))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	jv_free(named);
}

/* the days as one object {"YYYY-MM-DD": {key: n}}, every one read */
static void
put_days(FILE *f, void *arg)
{
	parts *p = arg;

	putc('{', f);
	for (size_t i = 0; i < p->ndays; i++) {
		if (i)
			putc(',', f);
		put_string(f, p->days[i].date);
		putc(':', f);
		ctab_put(f, day_counts(p, &p->days[i]));
	}
	putc('}', f);
}

/* a table as one JSON object, or as the lines of a base file */
struct put_walk { FILE *f; int lines, n; };

static void
put_freq(void *arg, const char *key, double n)
{
	struct put_walk *w = arg;

	if (w->lines) {
		char num[64];
		FILE *m = fmemopen(num, sizeof num, "w");

		put_number(m, n);
		fclose(m);
		put_line(w->f, key, num, strlen(num));
		return;
	}
	if (w->n++)
		putc(',', w->f);
	put_string(w->f, key);
	putc(':', w->f);
	put_number(w->f, n);
}

static void
put_rel(void *arg, const char *key, jv r)
{
	struct put_walk *w = arg;
	jv t = jv_dump_string(r, 0);

	if (w->lines) {
		put_line(w->f, key, jv_string_value(t), (size_t)jv_string_length_bytes(jv_copy(t)));
	} else {
		if (w->n++)
			putc(',', w->f);
		put_string(w->f, key);
		putc(':', w->f);
		fputs(jv_string_value(t), w->f);
	}
	jv_free(t);
}

struct put_table { parts *p; int freq, lines; FILE *f; int n; };

/* a line of the new base: the old base's as it was, or the overlay's (none when it left) */
static void
put_base_line(void *arg, const char *key, const char *line, size_t len)
{
	struct put_table *t = arg;

	if (!key)
		fwrite(line, 1, len, t->f);
	else if (t->freq)
		freq_step(&(struct freq_walk){t->p, put_freq, &(struct put_walk){t->f, 1, 0}},
		    key, NULL, 0);
	else
		rel_step(&(struct rel_walk){t->p, put_rel, &(struct put_walk){t->f, 1, 0}},
		    key, NULL, 0);
}

/* a member of the table as one object: the base's value text as it is */
static void
put_member(void *arg, const char *key, const char *val, size_t vlen)
{
	struct put_table *t = arg;
	struct put_walk w = {t->f, 0, t->n};

	if (val) {
		if (t->n++)
			putc(',', t->f);
		put_string(t->f, key);
		putc(':', t->f);
		fwrite(val, 1, vlen, t->f);
		return;
	}
	if (t->freq)
		freq_step(&(struct freq_walk){t->p, put_freq, &w}, key, NULL, 0);
	else
		rel_step(&(struct rel_walk){t->p, put_rel, &w}, key, NULL, 0);
	t->n = w.n;
}

static void
put_table(FILE *f, void *arg)
{
	struct put_table *t = arg;
	okey *ov;
	size_t n;

	ov = t->freq ? freq_okeys(t->p, &n) : rel_okeys(t->p, NULL, &n);
	t->f = f;
	if (t->lines) {
		table_walk(t->freq ? &t->p->ft.base : &t->p->rt.base, ov, n, NULL, 1,
		    put_base_line, t);
	} else {
		putc('{', f);
		table_walk(t->freq ? &t->p->ft.base : &t->p->rt.base, ov, n, NULL, 0,
		    put_member, t);
		putc('}', f);
	}
	okeys_free(ov, n);
}

/* what this pass changed, as the lines of a delta (a key that left: null) */
static void
put_delta(FILE *f, void *arg)
{
	struct put_table *t = arg;
	parts *p = t->p;
	okey *v;
	size_t n = 0;

	if (t->freq) {
		v = xmalloc((p->fnew.len + 1) * sizeof *v);
		for (size_t i = 0; i < p->fnew.cap; i++)
			if (p->fnew.slot[i].key)
				v[n++].key = p->fnew.slot[i].key;
	} else {
		v = xmalloc(((size_t)jv_object_length(jv_copy(p->p[B_REL])) + 1) * sizeof *v);
		jv_object_foreach(p->p[B_REL], k, x) {
			v[n++].key = jv_string_value(k);	/* p->p[B_REL] holds it */
			jv_free(k);
			jv_free(x);
		}
	}
	for (size_t i = 0; i < n; i++)
		v[i].esc = esc_key(v[i].key, &v[i].elen);
	qsort(v, n, sizeof *v, cmp_okey);
	for (size_t i = 0; i < n; i++) {
		if (t->freq) {
			double c = freq_get(p, v[i].key);

			if (c > 0)
				put_freq(&(struct put_walk){f, 1, 0}, v[i].key, c);
			else
				put_line(f, v[i].key, "null", 4);
		} else {
			put_rel(&(struct put_walk){f, 1, 0}, v[i].key, rel_get(p, v[i].key));
		}
	}
	okeys_free(v, n);
}

/* baseline.json: the rest v (consumed) with the members of JSON text put first */
static int
write_baseline(const char *path, jv v, const char *const *keys, char *const *texts, size_t n,
    char **err)
{
	jv rest = jv_dump_string(v, 0);
	const char *r = jv_string_value(rest);
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	int res;

	if (!f)
		die(EXIT_WORK, "open_memstream:");
	putc('{', f);
	for (size_t i = 0; i < n; i++) {
		put_string(f, keys[i]);
		putc(':', f);
		fputs(texts[i], f);
		if (i + 1 < n || r[1] != '}')
			putc(',', f);
	}
	fputs(r + 1, f);
	if (fclose(f))
		die(EXIT_WORK, "open_memstream:");
	res = store_replace(path, buf, len, err);
	free(buf);
	jv_free(rest);
	return res;
}

/* a copy that holds its days and tables itself, as the custom detectors get it */
static int
save_whole(parts *p, const char *path, char **err)
{
	static const char *const keys[] = {"frequency_tables", "relationships", "daily"};
	struct put_table ft = {p, 1, 0, NULL, 0}, rt = {p, 0, 0, NULL, 0};
	size_t len;
	char *texts[] = {text_of(put_table, &ft, &len), text_of(put_table, &rt, &len),
	    text_of(put_days, p, &len)};
	int r = write_baseline(path, baseline_json(p), keys, texts, 3, err);

	for (int i = 0; i < 3; i++)
		free(texts[i]);
	return r;
}

/* what a save writes of a table: a new base, or a delta; names malloc'd, NULL when none */
typedef struct tsave {
	char *base, *delta;
	size_t bytes;
} tsave;

static int
table_changed(const parts *p, const table *t)
{
	return t == &p->ft ? p->fnew.len > 0 : jv_object_length(jv_copy(p->p[B_REL])) > 0;
}

/*
 * The changes of this pass as a delta, or base and deltas merged into a new base when the
 * deltas have grown (or there is no base yet, or the directory is another)
 */
static int
table_write(parts *p, table *t, const char *dir, int moved, tsave *s, char **err)
{
	struct put_table pt = {p, t == &p->ft, 1, NULL, 0};
	size_t len;
	char *text, *fp;
	int compact, r;

	memset(s, 0, sizeof *s);
	if (!table_changed(p, t) && !t->rebase && !moved && t->base_name)
		return 0;
	compact = t->rebase || moved || !t->base_name || t->ndeltas >= DELTAS_MAX;
	text = compact ? NULL : text_of(put_delta, &pt, &len);
	if (!compact)
		compact = (t->delta_bytes + len) * DELTAS_FRACTION > t->base_bytes;
	if (compact) {
		free(text);
		text = text_of(put_table, &pt, &len);
		s->base = xasprintf("%s.%016llx.jsonl", t->name,
		    (unsigned long long)hash_str(text));
	} else {
		s->delta = xasprintf("%s.delta.%016llx.jsonl", t->name,
		    (unsigned long long)hash_str(text));
	}
	s->bytes = len;
	fp = xasprintf("%s/%s", dir, s->base ? s->base : s->delta);
	r = store_replace(fp, text, len, err);
	free(fp);
	free(text);
	if (r) {
		free(s->base);
		free(s->delta);
		memset(s, 0, sizeof *s);
	}
	return r;
}

/* {base, deltas} as baseline.json names them after the save s; every name into named */
static jv
table_desc(const parts *p, const table *t, const tsave *s, jv *named)
{
	jv d = jv_object(), deltas = jv_array();
	const char *base = s->base ? s->base : t->base_name;

	*named = jv_object_set(*named, jv_string(base), jv_true());
	for (size_t i = 0; !s->base && i < t->ndeltas; i++) {
		deltas = jv_array_append(deltas, jv_string(t->deltas[i]));
		*named = jv_object_set(*named, jv_string(t->deltas[i]), jv_true());
	}
	if (s->delta) {
		deltas = jv_array_append(deltas, jv_string(s->delta));
		*named = jv_object_set(*named, jv_string(s->delta), jv_true());
	}
	d = jv_object_set(d, jv_string("base"), jv_string(base));
	d = jv_object_set(d, jv_string("deltas"), deltas);
	if (t == &p->ft)
		d = jv_object_set(d, jv_string("entries"), jv_number(p->fentries));
	return d;
}

/* saved: what this pass changed joins what the deltas changed, under the new names */
static void
table_saved(parts *p, table *t, tsave *s)
{
	if (t == &p->ft) {
		for (size_t i = 0; i < p->fnew.cap; i++)
			if (p->fnew.slot[i].key)
				ctab_at(&p->fold, p->fnew.slot[i].key, p->fnew.slot[i].hash)->n =
				    p->fnew.slot[i].n;
		ctab_free(&p->fnew);
	} else {
		p->rel_old = jv_object_merge(p->rel_old, p->p[B_REL]);
		p->p[B_REL] = jv_object();
	}
	if (s->base) {
		for (size_t i = 0; i < t->ndeltas; i++)
			free(t->deltas[i]);
		t->ndeltas = t->delta_bytes = 0;
		free(t->base_name);
		t->base_name = s->base;
		t->base_bytes = s->bytes;
	} else if (s->delta) {
		add_name(t, s->delta);
		free(s->delta);
		t->delta_bytes += s->bytes;
	}
	t->rebase = 0;
}

/*
 * The days and the tables in files of their own, copy on write: the days that changed and
 * the tables' changes go to new files (each synced, and the directory), then baseline.json,
 * which names them, replaces the old one: that rename is the moment the save happens. The
 * files it no longer names are removed after it.
 */
int
baseline_save(const baseline *b, const char *path, char **err)
{
	parts *p = P(b);
	char *dir, **names;
	int moved, changed = p->dirty, r = 0;
	jv files, named;
	tsave fs = {0}, rs = {0};
	size_t l = strlen(path);

	if (l <= 5 || strcmp(path + l - 5, ".json"))
		return save_whole(p, path, err);
	named = jv_object();
	dir = day_dir(path);
	moved = !p->dir || strcmp(p->dir, dir);
	for (size_t i = 0; i < p->ndays; i++)
		changed |= p->days[i].dirty;
	changed |= table_changed(p, &p->ft) || table_changed(p, &p->rt);
	if (!changed && !moved) {
		free(dir);
		jv_free(named);
		return 0;
	}
	if (make_dir(dir, err)) {
		free(dir);
		jv_free(named);
		return -1;
	}
	names = xcalloc(p->ndays + 1, sizeof *names);
	files = jv_object();
	for (size_t i = 0; i < p->ndays && !r; i++) {
		bday *d = &p->days[i];

		if (moved || d->dirty || !d->file) {
			size_t len;
			char *text = text_of(put_ctab, day_counts(p, d), &len);

			names[i] = day_file_name(d->date, text);
			if (moved || !d->file || strcmp(names[i], d->file)) {
				char *fp = xasprintf("%s/%s", dir, names[i]);

				r = store_replace(fp, text, len, err);
				free(fp);
			}
			free(text);
		} else {
			names[i] = xstrdup(d->file);
		}
		files = jv_object_set(files, jv_string(d->date), jv_string(names[i]));
		named = jv_object_set(named, jv_string(names[i]), jv_true());
	}
	if (!r)
		r = table_write(p, &p->ft, dir, moved, &fs, err);
	if (!r)
		r = table_write(p, &p->rt, dir, moved, &rs, err);
	if (!r) {
		jv v = jv_object_set(baseline_json(p), jv_string("daily_files"), files);

		v = jv_object_set(v, jv_string("frequency_files"),
		    table_desc(p, &p->ft, &fs, &named));
		v = jv_object_set(v, jv_string("relationship_files"),
		    table_desc(p, &p->rt, &rs, &named));
		r = write_baseline(path, v, NULL, NULL, 0, err);
	} else {
		jv_free(files);
	}
	if (r) {
		for (size_t i = 0; i < p->ndays; i++)
			free(names[i]);
		free(names);
		free(dir);
		free(fs.base);
		free(fs.delta);
		free(rs.base);
		free(rs.delta);
		jv_free(named);
		return -1;
	}
	for (size_t i = 0; i < p->ndays; i++) {
		free(p->days[i].file);
		p->days[i].file = names[i];
		p->days[i].dirty = 0;
	}
	free(names);
	table_saved(p, &p->ft, &fs);
	table_saved(p, &p->rt, &rs);
	free(p->dir);
	p->dir = dir;
	p->dirty = 0;
	remove_unnamed(dir, named);
	return 0;
}

static void
day_of(int64_t us, char buf[16])
{
	time_t t = (time_t)(us / TS_SECOND);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
}

char *
baseline_time_key(const char *source, const char *type, const char *actor, int64_t us)
{
	time_t t = (time_t)(us / TS_SECOND);
	struct tm tm;

	gmtime_r(&t, &tm);
	return xasprintf("%s:%s:%s:%d:%d", source, type, actor, (tm.tm_wday + 6) % 7,
	    tm.tm_hour / BASELINE_HOUR_BUCKET * BASELINE_HOUR_BUCKET);
}

/* the first three segments of a path-like target: "/subscriptions/x/resourceGroups" */
static char *
target_prefix(const char *target)
{
	const char *p = target;

	for (int seg = 0; seg < 3 && p; seg++) {
		p = strchr(p, '/');
		if (p && seg < 2)
			p++;
	}
	return p ? strndup(target, (size_t)(p - target)) : xstrdup(target);
}

static const char *
meta_str(jv ev, const char *key, char buf[64])
{
	jv m = jsonl_get(jsonl_get(jv_copy(ev), "metadata"), key);
	const char *s = "";

	if (jv_get_kind(m) == JV_KIND_STRING)
		s = jv_string_value(m);	/* ev holds the string */
	else if (jv_get_kind(m) == JV_KIND_NUMBER) {
		snprintf(buf, 64, "%.17g", jv_number_value(m));
		s = buf;
	}
	jv_free(m);
	return s;
}

static int
is_one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

static const char *const grant_types[] = {
	"role_assignment", "collaborator_added", "permission_change", "admin_action",
	"member_added", "iam_change", NULL,
};
static const char *const money_types[] = {
	"transaction", "transfer", "payment", "withdrawal", NULL,
};

static void
count(parts *p, ctab *day, const char *key)
{
	freq_add(p, key, 1);
	ctab_add(day, key, 1);
}

/* learning starts at a source's first event */
static void
learn_first_seen(parts *p, const char *source, int64_t us)
{
	int64_t *first = seen_slot(p, source);
	char t[TS_BUFSZ];

	if (*first && us >= *first)
		return;
	p->p[B_FIRST] = jv_object_set(p->p[B_FIRST], jv_string(source), jv_string(ts_format(us, t)));
	*first = us;
}

/* the frequencies of the event's day: what it is, who did it, when in the week, to what */
static void
learn_frequencies(parts *p, const char *source, const char *type, const char *actor,
    const char *action, const char *target, int64_t us)
{
	time_t t = (time_t)(us / TS_SECOND);
	struct tm tm;
	char d[16], wd[8], hb[8], *pre;
	bday *bd;
	ctab *day;

	gmtime_r(&t, &tm);
	strftime(d, sizeof d, "%Y-%m-%d", &tm);
	snprintf(wd, sizeof wd, "%u", (unsigned)(tm.tm_wday + 6) % 7);
	snprintf(hb, sizeof hb, "%u", (unsigned)tm.tm_hour % 24 / BASELINE_HOUR_BUCKET *
	    BASELINE_HOUR_BUCKET);
	bd = day_find(p, d, 1);
	day = day_counts(p, bd);
	bd->dirty = 1;
	count(p, day, key_of(p, 2, source, type));
	count(p, day, key_of(p, 3, source, type, actor));
	/* as baseline_time_key makes it */
	count(p, day, key_of(p, 5, source, type, actor, wd, hb));
	/* the actor's own profile, whatever the source: "*:*:ACTOR[:WEEKDAY:BUCKET]" */
	if (*actor) {
		count(p, day, key_of(p, 3, "*", "*", actor));
		count(p, day, key_of(p, 5, "*", "*", actor, wd, hb));
	}
	pre = target_prefix(target);
	count(p, day, key_of(p, 5, source, type, actor, action, pre));
	free(pre);
}

/* the roles an actor has been granted */
static void
learn_role(parts *p, jv ev, const char *type, const char *actor)
{
	char buf[64];
	const char *role = meta_str(ev, "role_name", buf);
	jv set;

	if (!*role)
		role = meta_str(ev, "permission_level", buf);
	if (!*role)
		role = meta_str(ev, "role", buf);
	if (!*role)
		role = type;
	set = take(&p->p[B_ROLES], actor);
	if (jv_get_kind(set) != JV_KIND_OBJECT) {
		jv_free(set);
		set = jv_object();
	}
	set = jv_object_set(set, jv_string(role), jv_true());
	p->p[B_ROLES] = jv_object_set(p->p[B_ROLES], jv_string(actor), set);
}

/* who money went to, and the largest amount a source has moved */
static void
learn_payment(baseline *b, jv ev, const char *source, const char *target)
{
	parts *p = P(b);
	char buf[64], *end, *k;
	const char *amount = meta_str(ev, "amount", buf);
	double a = strtod(amount, &end);

	p->p[B_RECIPIENTS] = jv_object_set(p->p[B_RECIPIENTS], jv_string(target), jv_true());
	if (*amount && !*end) {
		k = xasprintf("amount_max:%s", source);
		if (a > baseline_max(b, k))
			p->p[B_MAX] = jv_object_set(p->p[B_MAX], jv_string(k), jv_number(a));
		free(k);
	}
}

/* the address and the user agent it came from */
static void
learn_client(parts *p, jv ev)
{
	static const char *ipkeys[] = {"ip", "ip_address", "source_ip", NULL};
	char buf[64];
	const char *ua;

	for (int i = 0; ipkeys[i]; i++) {
		const char *ip = meta_str(ev, ipkeys[i], buf);

		if (*ip) {
			p->p[B_IPS] = jv_object_set(p->p[B_IPS], jv_string(ip), jv_true());
			break;
		}
	}
	ua = meta_str(ev, "user_agent", buf);
	if (*ua)
		p->p[B_UAS] = jv_object_set(p->p[B_UAS], jv_string(ua), jv_true());
}

/* actor and target: how often, since when, until when */
static void
learn_relationship(parts *p, const char *actor, const char *target, int64_t us)
{
	char t[TS_BUFSZ], *k = xasprintf("%s:%s", actor, target);
	jv r = take(&p->p[B_REL], k), c, last;
	int64_t lu = 0;

	if (!jv_is_valid(r)) {
		jv_free(r);
		r = rel_get(p, k);
	}
	ts_format(us, t);
	tally(p, actor, jv_get_kind(r) == JV_KIND_OBJECT ? 0 : 1, 1);
	if (jv_get_kind(r) != JV_KIND_OBJECT) {
		jv_free(r);
		r = jv_object_set(jv_object(), jv_string("count"), jv_number(0));
		r = jv_object_set(r, jv_string("first_seen"), jv_string(t));
		r = jv_object_set(r, jv_string("last_seen"), jv_string(t));
	}
	c = jv_object_get(jv_copy(r), jv_string("count"));
	last = jv_object_get(jv_copy(r), jv_string("last_seen"));
	r = jv_object_set(r, jv_string("count"),
	    jv_number((jv_get_kind(c) == JV_KIND_NUMBER ? jv_number_value(c) : 0) + 1));
	if (jv_get_kind(last) != JV_KIND_STRING || ts_parse(jv_string_value(last), &lu) || us > lu)
		r = jv_object_set(r, jv_string("last_seen"), jv_string(t));
	jv_free(c);
	jv_free(last);
	p->p[B_REL] = jv_object_set(p->p[B_REL], jv_string(k), r);
	free(k);
}

void
baseline_learn(baseline *b, jv ev, const char *source, const char *type, const char *actor,
    const char *action, const char *target, int64_t us)
{
	parts *p = P(b);

	p->events++;
	p->dirty = 1;
	learn_first_seen(p, source, us);
	p->p[B_SOURCES] = jv_object_set(p->p[B_SOURCES], jv_string(source), jv_true());
	if (*actor)
		p->p[B_ACTORS] = jv_object_set(p->p[B_ACTORS], jv_string(actor), jv_true());
	/* frequencies, within the window only: an old event adds nothing to them */
	if (us >= ts_now() - (int64_t)b->window_days * 86400 * TS_SECOND)
		learn_frequencies(p, source, type, actor, action, target, us);
	if (is_one_of(type, grant_types))
		learn_role(p, ev, type, actor);
	if (is_one_of(type, money_types) && *target)
		learn_payment(b, ev, source, target);
	learn_client(p, ev);
	if (*actor && *target)
		learn_relationship(p, actor, target, us);
}

void
baseline_slide(baseline *b, int64_t now)
{
	parts *p = P(b);
	char cut[16];
	size_t n = 0;

	day_of(now - (int64_t)b->window_days * 86400 * TS_SECOND, cut);
	for (; n < p->ndays && strcmp(p->days[n].date, cut) < 0; n++) {
		ctab *day = day_counts(p, &p->days[n]);

		for (size_t i = 0; i < day->cap; i++)
			if (day->slot[i].key)
				freq_add(p, day->slot[i].key, -day->slot[i].n);
	}
	if (n) {
		days_drop(p, n);
		p->dirty = 1;
	}
}

int
baseline_empty(const baseline *b)
{
	return P(b)->fentries <= 0;
}

static double
num(jv obj, const char *key)
{
	jv v = jv_object_get(obj, jv_string(key));
	double n = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;

	jv_free(v);
	return n;
}

double
baseline_freq(const baseline *b, const char *key)
{
	return freq_get(P(b), key);
}

double
baseline_day(const baseline *b, const char *key, int64_t us)
{
	char d[16];
	bday *day;

	day_of(us, d);
	day = day_find(P(b), d, 0);
	return day ? ctab_get(day_counts(P(b), day), key) : 0;
}

int
baseline_days(const baseline *b)
{
	return (int)P(b)->ndays;
}

int
baseline_known(const baseline *b, const char *list, const char *value)
{
	for (int i = 0; i < (int)(sizeof list_names / sizeof *list_names); i++)
		if (list_names[i] && !strcmp(list_names[i], list))
			return jv_object_has(jv_copy(P(b)->p[i]), jv_string(value));
	return 0;
}

int
baseline_role_known(const baseline *b, const char *actor, const char *role)
{
	jv set = jv_object_get(jv_copy(P(b)->p[B_ROLES]), jv_string(actor));
	int r = jv_get_kind(set) == JV_KIND_OBJECT && jv_object_has(jv_copy(set), jv_string(role));

	jv_free(set);
	return r;
}

double
baseline_relation(const baseline *b, const char *actor, const char *target)
{
	char *k = xasprintf("%s:%s", actor, target);
	jv r = rel_get(P(b), k);
	double n = jv_get_kind(r) == JV_KIND_OBJECT ? num(jv_copy(r), "count") : 0;

	jv_free(r);
	free(k);
	return n;
}

struct count_walk { const parts *p; double t[2]; };

/* a relationship's count, read from the text of the base without making it a value */
static void
add_target(void *arg, const char *key, const char *val, size_t vlen)
{
	struct count_walk *w = arg;
	double n = 0;

	if (val) {
		const char *c = memmem(val, vlen, "\"count\":", 8);

		n = c ? strtod(c + 8, NULL) : 0;
	} else {
		jv r = rel_get(w->p, key);

		if (jv_get_kind(r) == JV_KIND_NULL || !jv_is_valid(r)) {
			jv_free(r);
			return;
		}
		n = jsonl_number(jsonl_get(r, "count"), 0);
	}
	w->t[0]++;
	w->t[1] += n;
}

double
baseline_actor_targets(const baseline *b, const char *actor, int *ntargets)
{
	parts *p = P(b);
	jv t = jv_object_get(jv_copy(p->p[B_ACTTOT]), jv_string(actor));
	double total = 0;
	int n = 0;

	if (jv_get_kind(t) != JV_KIND_ARRAY) {
		struct count_walk w = {p, {0, 0}};
		char *prefix = xasprintf("%s:", actor);
		size_t nov;
		okey *ov = rel_okeys(p, prefix, &nov);

		table_walk(&p->rt.base, ov, nov, prefix, 0, add_target, &w);
		okeys_free(ov, nov);
		free(prefix);
		jv_free(t);
		t = JV_ARRAY(jv_number(w.t[0]), jv_number(w.t[1]));
		p->p[B_ACTTOT] = jv_object_set(p->p[B_ACTTOT], jv_string(actor), jv_copy(t));
	}
	if (jv_get_kind(t) == JV_KIND_ARRAY) {
		n = (int)jsonl_int(jv_array_get(jv_copy(t), 0), 0, INT_MAX, 0);
		total = jsonl_number(jv_array_get(jv_copy(t), 1), 0);
	}
	jv_free(t);
	if (ntargets)
		*ntargets = n;
	return total;
}

double
baseline_max(const baseline *b, const char *key)
{
	jv v = jv_object_get(jv_copy(P(b)->p[B_MAX]), jv_string(key));
	double n = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;

	jv_free(v);
	return n;
}

int64_t
baseline_first_seen(const baseline *b, const char *source)
{
	return *seen_slot(P(b), source);
}

int
baseline_learning(const baseline *b, const char *source, int64_t us)
{
	int64_t first = baseline_first_seen(b, source);

	return !first || us < first + (int64_t)BASELINE_LEARNING_DAYS * 86400 * TS_SECOND;
}

jv
baseline_state(const baseline *b, const char *detector)
{
	jv v = jv_object_get(jv_copy(P(b)->p[B_STATE]), jv_string(detector));

	if (!jv_is_valid(v)) {
		jv_free(v);
		return jv_null();
	}
	return v;
}

void
baseline_set_state(baseline *b, const char *detector, jv v)
{
	parts *p = P(b);

	if (!jv_equal(jv_object_get(jv_copy(p->p[B_STATE]), jv_string(detector)), jv_copy(v)))
		p->dirty = 1;
	p->p[B_STATE] = jv_object_set(p->p[B_STATE], jv_string(detector), v);
}

jv
baseline_sources(const baseline *b)
{
	return jv_keys(jv_copy(P(b)->p[B_SOURCES]));
}

jv
baseline_stats(const baseline *b)
{
	jv s = jv_object();

	s = jv_object_set(s, jv_string("known_actor_count"),
	    jv_number(jv_object_length(jv_copy(P(b)->p[B_ACTORS]))));
	s = jv_object_set(s, jv_string("frequency_table_entries"),
	    jv_number(P(b)->fentries));
	s = jv_object_set(s, jv_string("known_sources"), baseline_sources(b));
	return jv_object_set(s, jv_string("events"), jv_number(P(b)->events));
}

/* keys are SRC:TYPE:ACTOR[:...]: the actor is the third part */
struct actor_walk {
	const char *actor;
	size_t l;
	double events;
	jv freq, hours;
};

static void
actor_freq(void *arg, const char *s, double n)
{
	struct actor_walk *w = arg;
	const char *a = strchr(s, ':'), *rest;
	int wd, hb;

	a = a ? strchr(a + 1, ':') : NULL;
	if (!a || strncmp(a + 1, w->actor, w->l) || (a[1 + w->l] != ':' && a[1 + w->l]))
		return;
	rest = a + 1 + w->l;
	/* "*:*:ACTOR..." sums the others again: listed, not counted twice */
	if (!strncmp(s, "*:*:", 4))
		;
	else if (!*rest)
		w->events += n;
	else if (sscanf(rest, ":%d:%d", &wd, &hb) == 2 && !strchr(rest + 1, '/')) {
		char key[16];
		jv have;

		snprintf(key, sizeof key, "%d:%d", wd, hb);
		have = jv_object_get(jv_copy(w->hours), jv_string(key));
		w->hours = jv_object_set(w->hours, jv_string(key), jv_number(n +
		    (jv_get_kind(have) == JV_KIND_NUMBER ? jv_number_value(have) : 0)));
		jv_free(have);
	}
	w->freq = jv_object_set(w->freq, jv_string(s), jv_number(n));
}

struct target_walk {
	size_t l;
	jv targets, first, last;
};

static void
actor_target(void *arg, const char *s, jv v)
{
	struct target_walk *w = arg;
	jv f = jsonl_get(jv_copy(v), "first_seen"), la = jsonl_get(jv_copy(v), "last_seen");

	if (jv_get_kind(f) == JV_KIND_STRING && (jv_get_kind(w->first) != JV_KIND_STRING ||
	    strcmp(jv_string_value(f), jv_string_value(w->first)) < 0)) {
		jv_free(w->first);
		w->first = jv_copy(f);
	}
	if (jv_get_kind(la) == JV_KIND_STRING && (jv_get_kind(w->last) != JV_KIND_STRING ||
	    strcmp(jv_string_value(la), jv_string_value(w->last)) > 0)) {
		jv_free(w->last);
		w->last = jv_copy(la);
	}
	jv_free(f);
	jv_free(la);
	w->targets = jv_object_set(w->targets, jv_string(s + w->l + 1), v);
}

/* the actor's relationships {target: {count, first_seen, last_seen}}; first and last seen */
static jv
actor_targets(const parts *p, const char *actor, jv *first, jv *last)
{
	struct target_walk w = {strlen(actor), jv_object(), jv_null(), jv_null()};
	char *prefix = xasprintf("%s:", actor);

	rel_each(p, prefix, actor_target, &w);
	free(prefix);
	if (first)
		*first = w.first;
	else
		jv_free(w.first);
	if (last)
		*last = w.last;
	else
		jv_free(w.last);
	return w.targets;
}

jv
baseline_targets(const baseline *b, const char *actor)
{
	return actor_targets(P(b), actor, NULL, NULL);
}

/* the hours "WEEKDAY:BUCKET" (consumed) in the order of the week, Monday 00 first */
static jv
week_order(jv hours)
{
	jv out = jv_object();

	for (int d = 0; d < 7; d++)
		for (int h = 0; h < 24; h++) {
			char key[32];
			jv n;

			snprintf(key, sizeof key, "%d:%d", d, h);
			n = jv_object_get(jv_copy(hours), jv_string(key));
			if (jv_is_valid(n)) {
				out = jv_object_set(out, jv_string(key), n);
				hours = jv_object_delete(hours, jv_string(key));
			} else {
				jv_free(n);
			}
		}
	return jv_object_merge(out, hours);
}

jv
baseline_actor(const baseline *b, const char *actor)
{
	parts *p = P(b);
	struct actor_walk w = {actor, strlen(actor), 0, jv_object(), jv_object()};
	jv r = jv_object(), first, last, targets;
	jv roles = jv_object_get(jv_copy(p->p[B_ROLES]), jv_string(actor));

	freq_each(p, actor_freq, &w);
	targets = actor_targets(p, actor, &first, &last);
	r = jv_object_set(r, jv_string("actor"), jv_string(actor));
	r = jv_object_set(r, jv_string("known"),
	    jv_bool(jv_object_has(jv_copy(p->p[B_ACTORS]), jv_string(actor))));
	r = jv_object_set(r, jv_string("events"), jv_number(w.events));
	r = jv_object_set(r, jv_string("first_seen"), first);
	r = jv_object_set(r, jv_string("last_seen"), last);
	r = jv_object_set(r, jv_string("frequencies"), w.freq);
	r = jv_object_set(r, jv_string("hours"), week_order(w.hours));
	r = jv_object_set(r, jv_string("targets"), targets);
	r = jv_object_set(r, jv_string("roles"),
	    jv_get_kind(roles) == JV_KIND_OBJECT ? jv_keys(roles) : (jv_free(roles), jv_array()));
	return r;
}

struct entity_walk {
	const char *entity;
	size_t l;
	int target;
};

static void
entity_target(void *arg, const char *s, jv v)
{
	struct entity_walk *w = arg;
	size_t n = strlen(s);

	if (!w->target && n > w->l && !strcmp(s + n - w->l, w->entity) && s[n - w->l - 1] == ':')
		w->target = 1;
	jv_free(v);
}

jv
baseline_entity(const baseline *b, const char *entity)
{
	static const struct { int part; const char *as; } lists[] = {
		{B_ACTORS, "actor"}, {B_SOURCES, "source"}, {B_RECIPIENTS, "recipient"},
		{B_IPS, "ip"}, {B_UAS, "user_agent"},
	};
	parts *p = P(b);
	jv as = jv_array(), r;
	struct entity_walk w = {entity, strlen(entity), 0};
	int role = 0;

	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
		if (jv_object_has(jv_copy(p->p[lists[i].part]), jv_string(entity)))
			as = jv_array_append(as, jv_string(lists[i].as));
	rel_each(p, NULL, entity_target, &w);
	jv_object_foreach(p->p[B_ROLES], k, set) {
		role |= jv_object_has(jv_copy(set), jv_string(entity));
		jv_free(k);
		jv_free(set);
	}
	if (w.target)
		as = jv_array_append(as, jv_string("target"));
	if (role)
		as = jv_array_append(as, jv_string("role"));
	r = jv_object_set(jv_object(), jv_string("entity"), jv_string(entity));
	r = jv_object_set(r, jv_string("known"), jv_bool(jv_array_length(jv_copy(as)) > 0));
	return jv_object_set(r, jv_string("as"), as);
}

static char *
ack_key(const char *detector, const char *fingerprint)
{
	return xasprintf("%s\t%s", detector, fingerprint);
}

void
baseline_ack(baseline *b, const char *detector, const char *fingerprint)
{
	jv acked = baseline_state(b, "acked");
	char *k = ack_key(detector, fingerprint), t[TS_BUFSZ];

	if (jv_get_kind(acked) != JV_KIND_OBJECT) {
		jv_free(acked);
		acked = jv_object();
	}
	acked = jv_object_set(acked, jv_string(k), jv_string(ts_format(ts_now(), t)));
	baseline_set_state(b, "acked", acked);
	free(k);
}

int
baseline_acked(const baseline *b, const char *detector, const char *fingerprint)
{
	jv acked = jv_object_get(jv_copy(P(b)->p[B_STATE]), jv_string("acked"));
	char *k = ack_key(detector, fingerprint);
	int r = jv_get_kind(acked) == JV_KIND_OBJECT && jv_object_has(jv_copy(acked), jv_string(k));

	jv_free(acked);
	free(k);
	return r;
}

int
baseline_from_earlier(const baseline *b)
{
	return P(b)->earlier;
}

void
baseline_relearn(baseline *b)
{
	static const int counts[] = {B_REL, B_MAX, B_FIRST, B_ACTTOT};
	parts *p = P(b);

	for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
		jv_free(p->p[counts[i]]);
		p->p[counts[i]] = jv_object();
	}
	days_drop(p, p->ndays);
	ctab_free(&p->fold);
	ctab_free(&p->fnew);
	p->fentries = 0;
	jv_free(p->rel_old);
	p->rel_old = jv_object();
	table_clear(&p->ft);
	table_clear(&p->rt);
	p->ft.rebase = p->rt.rebase = 1;
	p->events = 0;
	p->earlier = 0;
	p->dirty = 1;
	seen_clear(p);
}
