/* jsonl: one JSON value per line, over libjq's jv parser */
#ifndef MALLCOP_JSONL_H
#define MALLCOP_JSONL_H
#include <stdio.h>
#include <jv.h>

typedef struct jsonl {
	FILE *f;
	const char *name;	/* for diagnostics: a path or "stdin" */
	char *buf;
	size_t cap;
	size_t len;		/* length of the line in buf */
	size_t lineno;
	size_t skipped;		/* malformed lines passed over */
	size_t max;		/* longer lines are not read whole but skipped; 0: no limit */
	size_t oversize;	/* lines skipped for their length (not in skipped) */
	FILE *pass;		/* when set, a line too long is copied there as it is read */
	size_t bytes;		/* offset just past the last complete line read */
	int tail;		/* a last line without '\n' is a write in progress: leave it */
	int quiet;		/* do not warn about each malformed line */
} jsonl;

void jsonl_init(jsonl *r, FILE *f, const char *name);
/*
 * 1 and a value in *out, or 0 at the end; a malformed line is counted and skipped, and so is a
 * line longer than max bytes (its newline included), which is never held in memory whole
 */
int jsonl_next(jsonl *r, jv *out);
/*
 * jsonl_next in two steps, for a reader that can use a line without parsing it: the next line
 * that is not blank (1, its text in buf, len bytes; 0 at the end), then that line parsed (1 and
 * *out, or 0 when it is malformed: counted and skipped as jsonl_next does)
 */
int jsonl_line(jsonl *r);
int jsonl_value(jsonl *r, jv *out);
/* the length of the line in buf without its newline */
size_t jsonl_text(const jsonl *r);
void jsonl_done(jsonl *r);
/* write v (consumed) compactly with a newline; -1 on a write error */
int jsonl_put(FILE *f, jv v);
/*
 * parse one JSON text of n bytes; an invalid jv with a message on error (nesting deeper than
 * 256 levels is one). Text from outside is parsed here, not by jv_parse: see jsonl.c.
 */
jv jsonl_parse(const char *s, size_t n);
/*
 * 1 when s (n bytes) is canonical: a JSON text that libjq reads into a value v for which
 * jv_dump_string(v, 0) prints s again, byte for byte, so that it can be kept as it is, without
 * parsing and printing it. It recognises a strict subset (compact, whole numbers of up to 15
 * digits, the escapes libjq writes, valid UTF-8, no key twice in an object, nesting up to 32
 * levels); 0 says only that s is outside it.
 */
int jsonl_canonical(const char *s, size_t n);
/* the end of one canonical value starting at s, before end; NULL when there is none */
const char *jsonl_canonical_value(const char *s, const char *end);
/* v (consumed) as a number, or dflt when it is not one */
double jsonl_number(jv v, double dflt);
/* v[key] (v borrowed) as a number, or dflt when v is not an object or v[key] not a number */
double jsonl_num(jv v, const char *key, double dflt);
/*
 * v (consumed) as a whole number held within lo..hi, or dflt when it is not a number (NaN
 * included): for numbers from outside, which a plain cast turns into undefined behaviour
 */
long long jsonl_int(jv v, long long lo, long long hi, long long dflt);
/* the strings of a list (consumed) joined with sep, malloc'd; other values are skipped */
char *jsonl_join(jv list, const char *sep);
/* v[key] (v consumed), or jv_invalid() when v is not an object or has no such key */
jv jsonl_get(jv v, const char *key);
/* the kind of v[key] (v borrowed): JV_KIND_INVALID when v is not an object or has no such key */
jv_kind jsonl_kind(jv v, const char *key);
/*
 * rec (consumed) appended to the file at path (created 0644) as one line in one write, after a
 * newline when a torn write left the file without one, then fsynced; -1 and *err on failure,
 * and then none of the line stays (a full disk)
 */
int jsonl_append(const char *path, jv rec, char **err);
#endif
