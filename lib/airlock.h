/* airlock: text from outside, on its way to a language model (mallcop.7, ESCALATION) */
#ifndef MALLCOP_AIRLOCK_H
#define MALLCOP_AIRLOCK_H
#include <jv.h>

enum { AIRLOCK_MAX = 2000 };	/* characters of one string that reach the model */

/*
 * Every string that came from outside (event fields, titles, annotations, tool results)
 * reaches the model only between delimiters made of a random nonce drawn for the run:
 * <<DATA-nonce>> ... <</DATA-nonce>>. The data cannot forge the closing delimiter, since it
 * cannot know the nonce, and any text that looks like a delimiter is removed from it.
 */
typedef struct airlock {
	char nonce[33];	/* 32 hex digits */
	char open[48], close[48];
} airlock;

void airlock_init(airlock *a);
/* s cleaned (control characters, escape sequences and bidirectional overrides removed, cut to
 * AIRLOCK_MAX characters on a character boundary, delimiter look-alikes dropped) and wrapped */
char *airlock_text(const airlock *a, const char *s);
/* v (consumed) with every string wrapped, at any depth; object keys other than those of
 * mallcop's own records (metadata keys, actor and target names in baseline keys) too */
jv airlock_json(const airlock *a, jv v);
/* the paragraph of the system prompt that says what the delimiters mean */
char *airlock_rules(const airlock *a);
#endif
