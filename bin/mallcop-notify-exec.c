/* mallcop-notify-exec: hand findings to a command of the operator's */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jsonl.h"
#include "notify.h"
#include "proc.h"
#include "util.h"

static const char usage[] = "usage: mallcop-notify-exec [--check]";

extern char **environ;

/*
 * stdin in a spool file, checked as every notifier checks its input (one finding, a digest,
 * JSON Lines of findings): the fd to give the command, at its start; -1 when there is nothing
 * to send. A bad input ends the program.
 */
static int
checked_input(void)
{
	int fd = proc_spool("/tmp"), rc;
	char buf[1 << 16], *err = NULL;
	size_t total = 0;
	ssize_t got;
	notify_input in;
	FILE *f;

	while (total <= NOTIFY_INPUT_MAX && (got = read(0, buf, sizeof buf)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			die(EXIT_WORK, "notify-exec: cannot read stdin:");
		if (write(fd, buf, (size_t)got) != got)
			die(EXIT_WORK, "notify-exec: cannot write a spool file:");
		total += (size_t)got;
	}
	if (lseek(fd, 0, SEEK_SET) < 0 || !(f = fdopen(dup(fd), "r")))
		die(EXIT_WORK, "notify-exec: cannot read a spool file:");
	rc = notify_read(f, &in, &err);
	fclose(f);
	notify_input_free(&in);
	if (rc < 0)
		die(EXIT_WORK, "notify-exec: %s", err);
	if (rc == 1) {
		warnf("nothing to send: the input holds no findings");
		close(fd);
		return -1;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		die(EXIT_WORK, "notify-exec: cannot read a spool file:");
	return fd;
}

int
main(int argc, char **argv)
{
	const char *raw = getenv("MALLCOP_NOTIFY_CONFIG"), *env_cmd = getenv("MALLCOP_NOTIFY_COMMAND");
	jv conf, cmd, t;
	char **args = NULL, *err = NULL, *cursor = NULL, *tail = NULL, *how;
	int check = 0, errfd, infd = -1, n = 0;
	long timeout = 60;
	proc p = {0}, *pp = &p;

	setargv0(argv[0]);
	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--check")) {
			check = 1;
		} else if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
			puts(usage);
			return 0;
		} else {
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
	}
	conf = raw && *raw ? jv_parse(raw) : jv_object();
	if (jv_get_kind(conf) != JV_KIND_OBJECT)
		die(EXIT_WORK, "notify-exec: MALLCOP_NOTIFY_CONFIG is not a JSON object");
	/* command: a shell command line, or a list of arguments run as they are */
	cmd = jsonl_get(jv_copy(conf), "command");
	if (jv_get_kind(cmd) == JV_KIND_STRING && *jv_string_value(cmd)) {
		args = xcalloc(4, sizeof *args);
		args[0] = xstrdup("/bin/sh");
		args[1] = xstrdup("-c");
		args[2] = xstrdup(jv_string_value(cmd));
	} else if (jv_get_kind(cmd) == JV_KIND_ARRAY && jv_array_length(jv_copy(cmd)) > 0) {
		args = xcalloc((size_t)jv_array_length(jv_copy(cmd)) + 1, sizeof *args);
		jv_array_foreach(cmd, i, a) {
			if (jv_get_kind(a) != JV_KIND_STRING)
				die(EXIT_WORK, "notify-exec: command: a list of strings");
			args[n++] = xstrdup(jv_string_value(a));
			(void)i;
			jv_free(a);
		}
		if (args[0][0] != '/')
			die(EXIT_WORK, "notify-exec: command: the program must be an absolute path "
			    "('%s'), or give a shell command line as a string", args[0]);
	} else if (env_cmd && *env_cmd) {
		args = xcalloc(4, sizeof *args);
		args[0] = xstrdup("/bin/sh");
		args[1] = xstrdup("-c");
		args[2] = xstrdup(env_cmd);
	} else {
		die(EXIT_WORK, "notify-exec: no command: set 'command:' in the channel's settings "
		    "(actors.notify-exec.command) or MALLCOP_NOTIFY_COMMAND");
	}
	jv_free(cmd);
	t = jsonl_get(jv_copy(conf), "timeout");
	if (jv_get_kind(t) == JV_KIND_NUMBER)
		timeout = (long)jsonl_int(jv_copy(t), 0, 3601, timeout);	/* outside 1..3600: refused below */
	jv_free(t);
	jv_free(conf);
	if (timeout < 1 || timeout > 3600)
		die(EXIT_WORK, "notify-exec: timeout: seconds, from 1 to 3600");
	if (!check)
		infd = checked_input();
	if (check || infd < 0) {
		for (char **a = args; *a; a++)
			free(*a);
		free(args);
		return 0;
	}
	/* the command gets the input as it came on its stdin, our environment, and our stderr */
	errfd = proc_spool("/tmp");
	p.timeout_ms = timeout * 1000;
	if (proc_spawn(&p, args, environ, infd, 1, errfd, &err))
		die(EXIT_WORK, "notify-exec: %s", err);
	proc_wait(&pp, 1);
	proc_err_tail(errfd, &cursor, &tail);
	close(errfd);
	close(infd);
	if (!proc_ok(&p)) {
		how = proc_describe(&p);
		die(EXIT_WORK, "notify-exec: the command %s%s%s", how, tail ? ": " : "",
		    tail ? tail : "");
	}
	free(cursor);
	free(tail);
	for (char **a = args; *a; a++)
		free(*a);
	free(args);
	return 0;
}
