/* util: die/warn helpers, allocation that dies, fshut (after sbase's libutil) */
#ifndef MALLCOP_UTIL_H
#define MALLCOP_UTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* exit statuses shared by every program (man7/mallcop.7) */
enum { EXIT_WORK = 1, EXIT_USAGE = 2, EXIT_FAILON = 3, EXIT_LOCKED = 75 };

extern const char *argv0;	/* "mallcop-scan": prefix of every diagnostic */

void setargv0(const char *path);
/* a format ending in ':' appends strerror(errno) */
void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vwarnf(const char *fmt, va_list ap);
/* flush and close a stream; a failed write (full disk, closed pipe) is reported and returns -1 */
int fshut(FILE *f, const char *name);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);
int streq(const char *a, const char *b);
/*
 * The secrets this program holds (tokens, keys, passwords, signatures, client secrets): each
 * value given (8 bytes or more; a copy is kept) is replaced by "***" in every diagnostic
 * (warnf, die) and in every text passed to secret_scrub, whatever header or field it came in.
 */
void secret_add(const char *value);
/* msg with every registered secret replaced by "***", in place; returns msg */
char *secret_scrub(char *msg);
/* 1 when the environment asks for human output (MALLCOP_HUMAN set, non-empty, not "0") */
int env_flag(const char *name);
#endif
