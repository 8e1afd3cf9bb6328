/* human: text for a terminal from strings that came from outside */
#ifndef MALLCOP_HUMAN_H
#define MALLCOP_HUMAN_H
#include <stdio.h>

/*
 * Write s with every control character, escape sequence introducer, bidirectional override
 * and invalid UTF-8 byte shown escaped ("\e", "\n", "\x9b", "\u202e"), never raw; a backslash
 * is doubled so that an escape cannot be forged.
 */
void human_put(FILE *f, const char *s);
/* the same, into a malloc'd string */
char *human_safe(const char *s);
#endif
