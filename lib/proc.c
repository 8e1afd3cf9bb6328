#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsonl.h"
#include "plugin.h"
#include "proc.h"
#include "util.h"

enum { MAXKIDS = 256 };
static volatile sig_atomic_t kids[MAXKIDS];	/* process groups of running children */

static void
remember(pid_t pid, int on)
{
	for (int i = 0; i < MAXKIDS; i++)
		if (on ? kids[i] == 0 : kids[i] == pid) {
			kids[i] = on ? pid : 0;
			return;
		}
}

static void
on_signal(int sig)
{
	for (int i = 0; i < MAXKIDS; i++)
		if (kids[i] > 0)
			kill(-kids[i], SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

void
proc_forward_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int64_t
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int
proc_spawn(proc *p, char *const argv[], char *const envp[], int in, int out, int errfd,
    char **err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int fds[3] = {in, out, errfd}, r;

	long t = p->timeout_ms;

	memset(p, 0, sizeof *p);
	p->timeout_ms = t;
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 3; i++) {
		if (fds[i] < 0)
			posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY,
			    0);
		else
			posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	}
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(&p->pid, argv[0], &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r) {
		*err = xasprintf("cannot run '%s': %s", argv[0], strerror(r));
		p->done = 1;
		p->status = 127 << 8;
		return -1;
	}
	remember(p->pid, 1);
	return 0;
}

void
proc_wait(proc **ps, size_t n)
{
	int64_t start = mono_ms();
	struct timespec nap = {0, 20 * 1000 * 1000};

	for (;;) {
		size_t left = 0;
		int64_t now = mono_ms();

		for (size_t i = 0; i < n; i++) {
			proc *p = ps[i];
			pid_t w;

			if (p->done)
				continue;
			w = waitpid(p->pid, &p->status, WNOHANG);
			if (w == p->pid || (w < 0 && errno == ECHILD)) {
				p->done = 1;
				remember(p->pid, 0);
				/* what it left running in its group goes with it */
				kill(-p->pid, SIGKILL);
				continue;
			}
			left++;
			if (!p->timed_out && p->timeout_ms > 0 && now - start >= p->timeout_ms) {
				p->timed_out = 1;
				p->killed_at = now;
				kill(-p->pid, SIGTERM);
			} else if (p->timed_out && now - p->killed_at >= 2000) {
				kill(-p->pid, SIGKILL);
			}
		}
		if (!left)
			return;
		nanosleep(&nap, NULL);
	}
}

int
proc_ok(const proc *p)
{
	return p->done && !p->timed_out && WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0;
}

char *
proc_describe(const proc *p)
{
	if (p->timed_out)
		return xasprintf("timed out after %lds and was stopped", p->timeout_ms / 1000);
	if (WIFSIGNALED(p->status))
		return xasprintf("killed by signal %d (%s)", WTERMSIG(p->status),
		    strsignal(WTERMSIG(p->status)));
	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 127)
		return xstrdup("could not be run (exit status 127)");
	return xasprintf("exited with status %d", WEXITSTATUS(p->status));
}

/* nothing secret, only what running a program needs */
static const char *const base_env[] = {
	"PATH", "LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE",
	"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "MALLCOP_NOW",
	/* for sanitizer builds of connectors */
	"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", NULL,
};

void
proc_env_add(char ***envp, size_t *n, const char *name, const char *val)
{
	size_t l = strlen(name);

	for (size_t i = 0; i < *n; i++)
		if (!strncmp((*envp)[i], name, l) && (*envp)[i][l] == '=')
			return;
	*envp = xrealloc(*envp, (*n + 2) * sizeof **envp);
	(*envp)[(*n)++] = xasprintf("%s=%s", name, val);
	(*envp)[*n] = NULL;
}

void
proc_env_base(char ***envp, size_t *n)
{
	for (int i = 0; base_env[i]; i++)
		if (getenv(base_env[i]))
			proc_env_add(envp, n, base_env[i], getenv(base_env[i]));
}

int
proc_spool(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		char *t = xasprintf("%s/spool.XXXXXX", dir);

		fd = mkstemp(t);
		if (fd >= 0)
			unlink(t);
		free(t);
	}
	if (fd < 0)
		die(EXIT_WORK, "cannot create a spool file in '%s':", dir);
	return fd;
}

enum { TAIL_LINES = 5 };

void
proc_err_tail(int fd, char **cursor, char **tail)
{
	FILE *f = fdopen(dup(fd), "r");
	char *line = NULL, *lines[TAIL_LINES] = {0};
	size_t cap = 0, n = 0;
	ssize_t l;

	*cursor = NULL;
	*tail = NULL;
	if (!f)
		return;
	rewind(f);
	while ((l = getline(&line, &cap, f)) > 0) {
		if (line[l - 1] == '\n')
			line[--l] = 0;
		if (!strncmp(line, "cursor:", 7)) {
			free(*cursor);
			*cursor = xstrdup(line + 7 + strspn(line + 7, " \t"));
		} else if (l > 0) {
			free(lines[n % TAIL_LINES]);
			lines[n++ % TAIL_LINES] = strndup(line, 500);
		}
	}
	for (size_t i = n > TAIL_LINES ? n - TAIL_LINES : 0; i < n; i++) {
		char *s = lines[i % TAIL_LINES];
		char *t = *tail ? xasprintf("%s | %s", *tail, s) : xstrdup(s);

		free(*tail);
		*tail = t;
	}
	for (int i = 0; i < TAIL_LINES; i++)
		free(lines[i]);
	free(line);
	fclose(f);
}

extern char **environ;

int
proc_run_json(const char *name, const char *const *args, const char *const *env, jv *result)
{
	char *prog = plugin_builtin(name), **argv, **envp = NULL, *err = NULL, *cursor = NULL;
	char *tail = NULL;
	int out, errfd, n = 0, status = -1;
	size_t ne = 0;
	proc p = {0}, *pp = &p;
	FILE *f;

	*result = jv_object();
	if (!prog) {
		*result = jv_object_set(*result, jv_string("error"),
		    jv_string("the program is not installed"));
		return -1;
	}
	while (args && args[n])
		n++;
	argv = xcalloc((size_t)n + 2, sizeof *argv);
	argv[0] = prog;
	for (int i = 0; i < n; i++)
		argv[i + 1] = (char *)args[i];
	for (; env && *env; env++) {
		envp = xrealloc(envp, (ne + 2) * sizeof *envp);
		envp[ne++] = xstrdup(*env);
		envp[ne] = NULL;
	}
	for (char **e = environ; *e; e++) {
		size_t l = strcspn(*e, "=");
		int dup = !strncmp(*e, "MALLCOP_HUMAN=", 14);

		for (size_t i = 0; i < ne && !dup; i++)
			dup = !strncmp(envp[i], *e, l + 1);
		if (!dup) {
			envp = xrealloc(envp, (ne + 2) * sizeof *envp);
			envp[ne++] = xstrdup(*e);
			envp[ne] = NULL;
		}
	}
	out = proc_spool("/tmp");
	errfd = proc_spool("/tmp");
	if (proc_spawn(&p, argv, envp, -1, out, errfd, &err)) {
		*result = jv_object_set(*result, jv_string("error"), jv_string(err));
		free(err);
	} else {
		proc_wait(&pp, 1);
		status = WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 1;
		proc_err_tail(errfd, &cursor, &tail);
		lseek(out, 0, SEEK_SET);
		if ((f = fdopen(dup(out), "r"))) {
			jsonl r;
			jv j;

			jsonl_init(&r, f, name);
			r.quiet = 1;
			while (jsonl_next(&r, &j))	/* the last object printed */
				if (jv_get_kind(j) == JV_KIND_OBJECT) {
					jv_free(*result);
					*result = j;
				} else {
					jv_free(j);
				}
			jsonl_done(&r);
			fclose(f);
		}
		if (status && tail) {
			jv e = jv_object_get(jv_copy(*result), jv_string("error"));

			if (!jv_is_valid(e))
				*result = jv_object_set(*result, jv_string("error"), jv_string(tail));
			jv_free(e);
		}
	}
	free(cursor);
	free(tail);
	close(out);
	close(errfd);
	for (char **e = envp; e && *e; e++)
		free(*e);
	free(envp);
	free(argv);
	free(prog);
	return status;
}
