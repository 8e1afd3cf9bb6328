#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jsonl.h"
#include "util.h"

const char *
cli_command(void)
{
	return strncmp(argv0, "mallcop-", 8) == 0 ? argv0 + 8 : argv0;
}

int
cli_human(int flag)
{
	return flag || env_flag("MALLCOP_HUMAN");
}

int
cli_output(int human, int jsonl, const char *usage)
{
	if (human && jsonl) {
		fprintf(stderr, "%s: --human and --jsonl: give one output form\n%s\n", argv0, usage);
		exit(EXIT_USAGE);
	}
	return !jsonl && cli_human(human);
}

jv
cli_result(void)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("command"),
	    jv_string(cli_command())), jv_string("status"), jv_string("ok"));
}

void
cli_fail(int status, int human, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", argv0, msg);
	if (!human) {
		jv r = jv_object_set(cli_result(), jv_string("status"), jv_string("error"));

		jsonl_put(stdout, jv_object_set(r, jv_string("error"), jv_string(msg)));
	}
	free(msg);
	fshut(stdout, "stdout");
	exit(status);
}

int
cli_emit(jv v)
{
	jsonl_put(stdout, v);
	return fshut(stdout, "stdout") ? EXIT_WORK : 0;
}

long
cli_wait_ms(const char *arg)
{
	char *end;
	long s;

	if (!arg)
		return 600 * 1000L;
	s = strtol(arg, &end, 10);
	if (*arg == 0 || *end || s < 0 || s > 86400)
		die(EXIT_USAGE, "--wait '%s': expected a number of seconds", arg);
	return s * 1000;
}
