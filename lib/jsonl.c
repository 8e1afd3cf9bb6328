#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonl.h"
#include "store.h"
#include "util.h"

enum { WARN_MAX = 3 };

void
jsonl_init(jsonl *r, FILE *f, const char *name)
{
	memset(r, 0, sizeof *r);
	r->f = f;
	r->name = name;
}

/*
 * Where a string follows a value with no ',' or ':' between them ({"a":1 "b"}), 1-based; 0
 * when none does. libjq 1.6 loses that string when it finds the error, so hostile text would
 * leak as much memory as it sends: such text is refused here before libjq reads it.
 */
static size_t
missing_separator(const char *s, size_t n)
{
	int value = 0;

	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '"':
			if (value)
				return i + 1;
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			value = 1;
			break;
		case ',': case ':': case '[': case '{':
			value = 0;
			break;
		case ' ': case '\t': case '\r': case '\n':
			break;
		default:	/* a closing bracket, or a number or literal going on */
			value = 1;
		}
	}
	return 0;
}

jv
jsonl_parse(const char *s, size_t n)
{
	size_t at;

	if (n > INT_MAX)
		return jv_invalid_with_msg(jv_string("line too long"));
	if ((at = missing_separator(s, n)))
		return jv_invalid_with_msg(jv_string_fmt("Expected separator between values at "
		    "byte %zu", at));
	return jv_parse_sized(s, (int)n);	/* nesting past 256 levels: an error (libjq's limit) */
}

static int
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/*
 * The next line into buf, at most max bytes of it: its length, 0 at the end, -1 when it was
 * longer (the rest read and dropped or passed on; *n its whole length, *nl whether it ended)
 */
static ssize_t
read_line(jsonl *r, size_t *whole, int *nl)
{
	size_t len = 0, lim = r->max ? r->max : SIZE_MAX;
	int c = EOF;

	flockfile(r->f);
	while (len < lim && (c = getc_unlocked(r->f)) != EOF) {
		if (len + 1 >= r->cap) {
			r->cap = r->cap ? r->cap * 2 : 4096;
			if (r->max && r->cap > r->max + 1)
				r->cap = r->max + 1;
			r->buf = xrealloc(r->buf, r->cap);
		}
		r->buf[len++] = (char)c;
		if (c == '\n')
			break;
	}
	*whole = len;
	*nl = c == '\n';
	if (len == lim && c != '\n' && (c = getc_unlocked(r->f)) != EOF) {
		/* too long: what was read goes where the rest goes */
		if (r->pass)
			fwrite(r->buf, 1, len, r->pass);
		for (; c != EOF; c = c == '\n' ? EOF : getc_unlocked(r->f)) {
			if (r->pass)
				putc_unlocked(c, r->pass);
			++*whole;
			*nl = c == '\n';
		}
		funlockfile(r->f);
		return -1;
	}
	funlockfile(r->f);
	if (len)
		r->buf[len] = 0;
	return (ssize_t)len;
}

int
jsonl_line(jsonl *r)
{
	ssize_t n;
	size_t whole;
	int nl;

	while ((n = read_line(r, &whole, &nl)) != 0) {
		r->lineno++;
		r->len = n > 0 ? (size_t)n : 0;
		if (!nl && r->tail) {
			/* a line in progress: read again next time; what was passed on stays a line */
			if (n < 0 && r->pass)
				putc('\n', r->pass);
			return 0;
		}
		r->bytes += whole;
		if (n < 0) {
			if (r->pass && !nl)
				putc('\n', r->pass);
			if (!r->quiet && r->oversize < WARN_MAX)
				warnf("%s:%zu: a line of %zu bytes, longer than %zu: %s", r->name,
				    r->lineno, whole, r->max, r->pass ? "passed on unread" : "skipped");
			r->oversize++;
			continue;
		}
		if (!blank(r->buf, (size_t)n))
			return 1;
	}
	return 0;
}

int
jsonl_value(jsonl *r, jv *out)
{
	jv v = jsonl_parse(r->buf, r->len);

	if (jv_is_valid(v)) {
		*out = v;
		return 1;
	}
	if (!r->quiet && r->skipped < WARN_MAX) {
		jv msg = jv_invalid_get_msg(v);

		/* jq's message ends by quoting the line: data, not for the log */
		const char *m = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg)
		    : "not JSON";
		int n = (int)strcspn(m, "(\n");

		warnf("%s:%zu: skipped malformed line: %.*s", r->name, r->lineno,
		    n > 0 && m[n - 1] == ' ' ? n - 1 : n, m);
		jv_free(msg);
	} else {
		jv_free(v);
	}
	r->skipped++;
	return 0;
}

int
jsonl_next(jsonl *r, jv *out)
{
	while (jsonl_line(r))
		if (jsonl_value(r, out))
			return 1;
	return 0;
}

size_t
jsonl_text(const jsonl *r)
{
	size_t n = r->len;

	return n && r->buf[n - 1] == '\n' ? n - 1 : n;
}

void
jsonl_done(jsonl *r)
{
	if (!r->quiet && r->skipped > WARN_MAX)
		warnf("%s: %zu malformed lines skipped in all", r->name, r->skipped);
	if (!r->quiet && r->oversize > WARN_MAX)
		warnf("%s: %zu lines longer than %zu bytes in all", r->name, r->oversize, r->max);
	free(r->buf);
	r->buf = NULL;
}

int
jsonl_put(FILE *f, jv v)
{
	jv s = jv_dump_string(v, 0);
	int r = fputs(jv_string_value(s), f) == EOF || putc('\n', f) == EOF ? -1 : 0;

	jv_free(s);
	return r;
}

jv
jsonl_get(jv v, const char *key)
{
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return jv_invalid();
	}
	return jv_object_get(v, jv_string(key));
}

jv_kind
jsonl_kind(jv v, const char *key)
{
	jv x = jsonl_get(jv_copy(v), key);
	jv_kind k = jv_get_kind(x);

	jv_free(x);
	return k;
}

double
jsonl_number(jv v, double dflt)
{
	double n = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : dflt;

	jv_free(v);
	return n;
}

double
jsonl_num(jv v, const char *key, double dflt)
{
	return jsonl_number(jsonl_get(jv_copy(v), key), dflt);
}

long long
jsonl_int(jv v, long long lo, long long hi, long long dflt)
{
	double n = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : dflt;

	jv_free(v);
	/* compared as doubles first: a cast of a value out of range is undefined */
	if (n != n)
		return dflt;
	if (n <= (double)lo)
		return lo;
	if (n >= (double)hi)
		return hi;
	return (long long)n;
}

char *
jsonl_join(jv list, const char *sep)
{
	char *out = xstrdup(""), *t;

	if (jv_get_kind(list) == JV_KIND_ARRAY)
		jv_array_foreach(list, i, s) {
			(void)i;
			if (jv_get_kind(s) == JV_KIND_STRING) {
				t = xasprintf("%s%s%s", out, *out ? sep : "", jv_string_value(s));
				free(out);
				out = t;
			}
			jv_free(s);
		}
	jv_free(list);
	return out;
}

/*
 * Canonical text: a strict subset of JSON that libjq reads into a value it prints back byte for
 * byte. Deeper nesting, more keys than fit, fractions and exponents, other escapes and
 * whitespace are only outside the subset: libjq reads them as it reads any text.
 */
enum { CANON_DEPTH = 32, CANON_KEYS = 128 };

typedef struct canon {
	const char *end;
	int depth;
	size_t nkeys;			/* the keys of the objects open on the way down */
	const char *key[CANON_KEYS];
	size_t keylen[CANON_KEYS];
} canon;

/* a UTF-8 sequence of a code point libjq keeps (no overlong form, surrogate or beyond
 * U+10FFFF): its length, 0 when it is not one */
static size_t
canon_utf8(const unsigned char *p, const unsigned char *end)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, lo = p[0] == 0xe0 ? 0xa0 : 0x80, hi = p[0] == 0xed ? 0x9f : 0xbf;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, lo = p[0] == 0xf0 ? 0x90 : 0x80, hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* \u00XX as libjq writes it: lower case, for a control character without a short escape */
static int
canon_uescape(const char *p)
{
	static const char hex[] = "0123456789abcdef";
	const char *h, *l;
	int c;

	if (p[0] != '0' || p[1] != '0' || !p[2] || !p[3] || !(h = strchr(hex, p[2])) ||
	    !(l = strchr(hex, p[3])))
		return 0;
	c = (int)(h - hex) * 16 + (int)(l - hex);
	/* U+0000 is left to the reader that refuses it with its reason */
	return (c > 0 && c < 0x20 && c != '\b' && c != '\t' && c != '\n' && c != '\f' &&
	    c != '\r') || c == 0x7f;
}

/* a string from just after its opening quote: just past its closing quote, or NULL */
static const char *
canon_string(const char *p, const char *end)
{
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		size_t n;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			p++;
		} else if (c == '"') {
			return p + 1;
		} else if (c == '\\' && end - p >= 2 && p[1] && strchr("\"\\bfnrt", p[1])) {
			p += 2;
		} else if (c == '\\' && end - p >= 6 && p[1] == 'u' && canon_uescape(p + 2)) {
			p += 6;
		} else if (c >= 0x80 && (n = canon_utf8((const unsigned char *)p,
		    (const unsigned char *)end))) {
			p += n;
		} else {
			return NULL;
		}
	}
	return NULL;
}

/* a whole number of at most 15 digits, printed as it is read; -0 is not */
static const char *
canon_number(const char *p, const char *end)
{
	const char *d = p + (*p == '-'), *q = d;

	if (q < end && *q == '0')
		return d == p ? q + 1 : NULL;
	while (q < end && *q >= '0' && *q <= '9')
		q++;
	return q > d && q - d <= 15 ? q : NULL;
}

/* a key of the object whose keys start at base: 0 when it is there already (libjq would keep
 * the last value in the first place) or when there is no room to remember it */
static int
canon_key(canon *c, size_t base, const char *k, size_t n)
{
	for (size_t i = base; i < c->nkeys; i++)
		if (c->keylen[i] == n && memcmp(c->key[i], k, n) == 0)
			return 0;
	if (c->nkeys == CANON_KEYS)
		return 0;
	c->key[c->nkeys] = k;
	c->keylen[c->nkeys++] = n;
	return 1;
}

static const char *canon_value(canon *c, const char *p);

static const char *
canon_object(canon *c, const char *p)
{
	size_t base = c->nkeys;

	if (p < c->end && *p == '}')
		return p + 1;
	for (;;) {
		const char *k = p + 1;

		if (p >= c->end || *p != '"' || !(p = canon_string(k, c->end)) ||
		    !canon_key(c, base, k, (size_t)(p - 1 - k)) || p >= c->end || *p++ != ':' ||
		    !(p = canon_value(c, p)) || p >= c->end)
			return NULL;
		if (*p == '}')
			break;
		if (*p++ != ',')
			return NULL;
	}
	c->nkeys = base;
	return p + 1;
}

static const char *
canon_array(canon *c, const char *p)
{
	if (p < c->end && *p == ']')
		return p + 1;
	for (;;) {
		if (!(p = canon_value(c, p)) || p >= c->end)
			return NULL;
		if (*p == ']')
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *
canon_value(canon *c, const char *p)
{
	const char *end = c->end;

	if (p >= end)
		return NULL;
	switch (*p) {
	case '"':
		return canon_string(p + 1, end);
	case '{':
	case '[':
		if (c->depth == CANON_DEPTH)
			return NULL;
		c->depth++;
		p = *p == '{' ? canon_object(c, p + 1) : canon_array(c, p + 1);
		c->depth--;
		return p;
	case 't':
		return end - p >= 4 && !memcmp(p, "true", 4) ? p + 4 : NULL;
	case 'f':
		return end - p >= 5 && !memcmp(p, "false", 5) ? p + 5 : NULL;
	case 'n':
		return end - p >= 4 && !memcmp(p, "null", 4) ? p + 4 : NULL;
	default:
		return canon_number(p, end);
	}
}

const char *
jsonl_canonical_value(const char *s, const char *end)
{
	canon c;

	c.end = end;
	c.depth = 0;
	c.nkeys = 0;
	return canon_value(&c, s);
}

int
jsonl_canonical(const char *s, size_t n)
{
	return jsonl_canonical_value(s, s + n) == s + n;
}

int
jsonl_append(const char *path, jv rec, char **err)
{
	jv text = jv_dump_string(rec, 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	struct stat sb;
	char last = '\n', *line;

	if (fd < 0 && errno != ENOENT) {
		*err = xasprintf("cannot open '%s': %s", path, strerror(errno));
		jv_free(text);
		return -1;
	}
	/* a torn write left the file without its last newline: that line is ended first */
	if (fd >= 0) {
		if (fstat(fd, &sb) || !sb.st_size || pread(fd, &last, 1, sb.st_size - 1) != 1)
			last = '\n';
		close(fd);
	}
	line = xasprintf("%s%s\n", last == '\n' ? "" : "\n", jv_string_value(text));
	jv_free(text);
	r = store_append(path, line, strlen(line), NULL, err);
	free(line);
	return r;
}
