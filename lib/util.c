#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *argv0 = "mallcop";

void
setargv0(const char *path)
{
	const char *s = strrchr(path, '/');

	argv0 = s ? s + 1 : path;
}

static char **secrets;
static size_t nsecrets;

enum { SECRET_MIN = 8 };	/* shorter values are words, not secrets */

void
secret_add(const char *value)
{
	size_t i, n = value ? strlen(value) : 0;

	if (n < SECRET_MIN)
		return;
	for (i = 0; i < nsecrets; i++)
		if (streq(secrets[i], value))
			return;
	/* longest first: a secret that holds another is replaced whole */
	for (i = 0; i < nsecrets && strlen(secrets[i]) >= n; i++)
		;
	secrets = xrealloc(secrets, (nsecrets + 1) * sizeof *secrets);
	memmove(secrets + i + 1, secrets + i, (nsecrets - i) * sizeof *secrets);
	secrets[i] = xstrdup(value);
	nsecrets++;
}

char *
secret_scrub(char *msg)
{
	char *p;

	for (size_t i = 0; msg && i < nsecrets; i++) {
		size_t n = strlen(secrets[i]);

		while ((p = strstr(msg, secrets[i])) != NULL) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + n, strlen(p + n) + 1);
		}
	}
	return msg;
}

void
vwarnf(const char *fmt, va_list ap)
{
	int saved = errno;
	size_t n = strlen(fmt);
	char *msg = xvasprintf(fmt, ap);

	fprintf(stderr, "%s: %s", argv0, secret_scrub(msg));
	free(msg);
	if (n && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

void
warnf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnf(fmt, ap);
	va_end(ap);
}

void
die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnf(fmt, ap);
	va_end(ap);
	exit(status);
}

int
fshut(FILE *f, const char *name)
{
	int bad = ferror(f);

	if (fflush(f) == EOF)
		bad = 1;
	if (fclose(f) == EOF)
		bad = 1;
	if (bad) {
		warnf("cannot write to %s:", name);
		return -1;
	}
	return 0;
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die(EXIT_WORK, "out of memory");
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (!p)
		die(EXIT_WORK, "out of memory");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die(EXIT_WORK, "out of memory");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die(EXIT_WORK, "out of memory");
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		die(EXIT_WORK, "out of memory");
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

int
streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int
env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}
