/* human: text for a terminal from strings that came from outside */
#ifndef MALLCOP_HUMAN_H
#define MALLCOP_HUMAN_H
#include <stdio.h>

#include <jv.h>

/*
 * Write the n bytes of s with every control character, escape sequence introducer,
 * bidirectional override and invalid UTF-8 byte shown escaped ("\e", "\n", "\x9b",
 * "\u202e", a NUL as "\u0000"), never raw; a backslash is doubled so that an escape cannot
 * be forged.
 */
void human_putn(FILE *f, const char *s, size_t n);
/* the same for a C string */
void human_put(FILE *f, const char *s);
/* the same for o[key] when that is a string, all of it (a NUL does not end it); else dflt */
void human_field(FILE *f, jv o, const char *key, const char *dflt);
/* human_put into a malloc'd string */
char *human_safe(const char *s);
/* human_field into a malloc'd string */
char *human_safe_field(jv o, const char *key, const char *dflt);
/*
 * Text for a model: the len bytes of s without the characters human_putn escapes (but newline
 * and tab) and without invalid UTF-8, at most max bytes of whole characters (*cut set to 1
 * when something was left out for that). malloc'd, NUL-terminated, *outlen its length.
 */
char *human_strip(const char *s, size_t len, size_t max, size_t *outlen, int *cut);
/* the skills check of escalate --check ({loadable, refused: [...]} or {error}) as lines */
void human_skills(FILE *f, jv sk);
#endif
