/* proc: spawning with an exact environment, fds, statuses, time limits, waiting for several */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "t.h"

static char root[] = "/tmp/test_proc.XXXXXX";

static char *
at(const char *rel)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
	return buf[k];
}

/* a whole file, "" when unreadable; static */
static const char *
slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = 0;
	if (f) {
		n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = 0;
		fclose(f);
	}
	return buf;
}

static int
wfile(const char *rel)
{
	return open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* run /bin/sh -c script, wait; the proc */
static proc
run_sh(const char *script, char *const envp[], int out, int errfd, long timeout_ms,
    int *spawned)
{
	proc p;
	proc *ps[1] = {&p};
	char *err = NULL;
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};

	memset(&p, 0, sizeof p);
	p.timeout_ms = timeout_ms;
	*spawned = proc_spawn(&p, argv, envp, -1, out, errfd, &err) == 0;
	if (!*spawned)
		printf("# spawn failed: %s\n", err ? err : "?");
	free(err);
	if (*spawned)
		proc_wait(ps, 1);
	return p;
}

static void
test_env_and_fds(void)
{
	char *envp[] = {"FOO=bar baz", "MALLCOP_X=1", NULL};
	char *argv[] = {"/usr/bin/env", NULL};
	int out, errfd, spawned;
	proc p;
	proc *ps[1] = {&p};
	char *err = NULL;

	setenv("LEAKY_PARENT_VAR", "should-not-pass", 1);

	/* env itself, with no shell adding PWD: exactly envp */
	out = wfile("env.out");
	memset(&p, 0, sizeof p);
	ok(proc_spawn(&p, argv, envp, -1, out, -1, &err) == 0, "spawn env (%s)",
	    err ? err : "ok");
	free(err);
	err = NULL;
	close(out);
	proc_wait(ps, 1);
	ok(p.done && proc_ok(&p), "it exits 0: proc_ok");
	is_str(slurp(at("env.out")), "FOO=bar baz\nMALLCOP_X=1\n",
	    "the child's environment is exactly envp");

	/* a shell: sees its variables, not the parent's */
	out = wfile("sh.out");
	errfd = wfile("sh.err");
	p = run_sh("echo \"out:$FOO:${LEAKY_PARENT_VAR-unset}:${HOME-unset}\"; echo to-err >&2; "
	    "env | grep -v '^PWD=' | sort >&2", envp, out, errfd, 0, &spawned);
	close(out);
	close(errfd);
	ok(spawned && proc_ok(&p), "a shell script exits 0");
	is_str(slurp(at("sh.out")), "out:bar baz:unset:unset\n",
	    "the out fd receives stdout; the child sees only envp's variables");
	is_str(slurp(at("sh.err")), "to-err\nFOO=bar baz\nMALLCOP_X=1\n",
	    "the err fd receives stderr; env in the shell shows only envp (and its PWD)");

	/* fds -1: /dev/null, and stdin at its end */
	p = run_sh("read x; echo \"read:$?:$x\" >/dev/null; cat; echo nothing-here", envp, -1, -1,
	    2000, &spawned);
	ok(spawned && proc_ok(&p) && !p.timed_out,
	    "with -1 fds stdin is /dev/null: cat does not wait for input");
	unsetenv("LEAKY_PARENT_VAR");
}

static void
test_statuses(void)
{
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	int spawned;
	proc p;
	char *d, *err = NULL;
	double t0;

	p = run_sh("exit 3", envp, -1, -1, 0, &spawned);
	ok(spawned && !proc_ok(&p), "exit 3 is not ok");
	ok(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 3, "the status is kept");
	d = proc_describe(&p);
	is_str(d, "exited with status 3", "describe: exited with status 3");
	free(d);

	p = run_sh("kill -9 $$", envp, -1, -1, 0, &spawned);
	ok(spawned && !proc_ok(&p), "killed by a signal is not ok");
	d = proc_describe(&p);
	ok(d && strstr(d, "killed by signal 9"), "describe: %s", d ? d : "(null)");
	free(d);

	p = run_sh("kill -TERM $$", envp, -1, -1, 0, &spawned);
	d = proc_describe(&p);
	ok(d && strstr(d, "killed by signal 15"), "describe: %s", d ? d : "(null)");
	free(d);

	t0 = now_s();
	p = run_sh("sleep 5", envp, -1, -1, 300, &spawned);
	t0 = now_s() - t0;
	ok(spawned && p.timed_out && !proc_ok(&p), "sleep 5 with a 300 ms limit times out");
	ok(t0 < 3, "and is stopped well before 5 s (%.2f s)", t0);
	ok(t0 >= 0.25, "but not before its limit (%.2f s)", t0);
	d = proc_describe(&p);
	ok(d && strstr(d, "timed out"), "describe: %s", d ? d : "(null)");
	free(d);

	/* a child that ignores SIGTERM is killed anyway */
	t0 = now_s();
	p = run_sh("trap '' TERM; sleep 10", envp, -1, -1, 300, &spawned);
	t0 = now_s() - t0;
	ok(spawned && p.timed_out && p.done, "a child ignoring SIGTERM is still stopped");
	ok(t0 < 5, "after the grace period (%.2f s)", t0);

	p = run_sh("exit 0", envp, -1, -1, 5000, &spawned);
	ok(spawned && proc_ok(&p) && !p.timed_out, "a quick child under a limit is ok");
	d = proc_describe(&p);
	is_str(d, "exited with status 0", "describe: exited with status 0");
	free(d);

	{
		char *argv[] = {"/nonexistent/mallcop-nothing", NULL};

		memset(&p, 0, sizeof p);
		ok(proc_spawn(&p, argv, envp, -1, -1, -1, &err) == -1, "a missing program fails");
		ok(err && strstr(err, "/nonexistent/mallcop-nothing"),
		    "with a message naming it (%s)", err ? err : "(null)");
		ok(!proc_ok(&p) && p.done, "and is done, not ok");
		free(err);
		err = NULL;
	}
}

static void
test_concurrent(void)
{
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	char *argv[] = {"/bin/sh", "-c", "sleep 1", NULL};
	char *argv3[] = {"/bin/sh", "-c", "sleep 1; exit 4", NULL};
	char *argvlong[] = {"/bin/sh", "-c", "sleep 30", NULL};
	proc a, b, c, d;
	proc *ps[4] = {&a, &b, &c, &d};
	char *err = NULL;
	int spawned = 1;
	double t0 = now_s();

	a.timeout_ms = b.timeout_ms = c.timeout_ms = 5000;
	spawned &= proc_spawn(&a, argv, envp, -1, -1, -1, &err) == 0;
	spawned &= proc_spawn(&b, argv, envp, -1, -1, -1, &err) == 0;
	spawned &= proc_spawn(&c, argv3, envp, -1, -1, -1, &err) == 0;
	ok(spawned, "spawn three children (%s)", err ? err : "ok");
	free(err);
	err = NULL;
	proc_wait(ps, 3);
	t0 = now_s() - t0;
	ok(a.done && b.done && c.done, "proc_wait waits for all of them");
	ok(proc_ok(&a) && proc_ok(&b) && !proc_ok(&c), "each has its own status");
	ok(t0 < 3, "three 'sleep 1' run at once: %.2f s", t0);
	ok(t0 >= 0.9, "and proc_wait waited for them (%.2f s)", t0);

	/* one times out while the others finish */
	t0 = now_s();
	a.timeout_ms = b.timeout_ms = 5000;
	d.timeout_ms = 500;
	spawned = proc_spawn(&a, argv, envp, -1, -1, -1, &err) == 0;
	spawned &= proc_spawn(&b, argv, envp, -1, -1, -1, &err) == 0;
	spawned &= proc_spawn(&d, argvlong, envp, -1, -1, -1, &err) == 0;
	ps[2] = &d;
	proc_wait(ps, 3);
	t0 = now_s() - t0;
	ok(spawned && proc_ok(&a) && proc_ok(&b) && d.timed_out && !b.timed_out,
	    "a timeout stops only its own child");
	ok(t0 < 3, "all within %.2f s", t0);
	free(err);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_env_and_fds();
	test_statuses();
	test_concurrent();
	{
		char *cmd = NULL;

		if (asprintf(&cmd, "rm -rf '%s'", root) > 0 && system(cmd) != 0)
			printf("# could not remove %s\n", root);
		free(cmd);
	}
	return t_done();
}
