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
void jsonl_done(jsonl *r);
/* write v (consumed) compactly with a newline; -1 on a write error */
int jsonl_put(FILE *f, jv v);
/*
 * parse one JSON text of n bytes; an invalid jv with a message on error (nesting deeper than
 * 256 levels is one). Text from outside is parsed here, not by jv_parse: see jsonl.c.
 */
jv jsonl_parse(const char *s, size_t n);
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
/*
 * rec (consumed) appended to the file at path (created 0644) as one line in one write, after a
 * newline when a torn write left the file without one, then fsynced; -1 and *err on failure
 */
int jsonl_append(const char *path, jv rec, char **err);
#endif
