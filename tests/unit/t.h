/* t: a tiny TAP producer for the C unit tests */
#ifndef MALLCOP_T_H
#define MALLCOP_T_H
#include <stdio.h>
#include <string.h>

static int t_n, t_failed;

#define ok(cond, ...) do { \
	int ok_ = !!(cond); \
	printf("%sok %d - ", ok_ ? "" : "not ", ++t_n); \
	printf(__VA_ARGS__); \
	printf("\n"); \
	if (!ok_) { \
		t_failed++; \
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define is_str(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__); \
	if (!(g_ && w_ && strcmp(g_, w_) == 0)) \
		printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

static inline int
t_done(void)
{
	printf("1..%d\n", t_n);
	return t_failed ? 1 : 0;
}
#endif
