#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cron.h"
#include "proc.h"
#include "util.h"

extern char **environ;

/* all of a spool file, NUL-terminated */
static char *
spooled(int fd)
{
	char *s = NULL;
	size_t n = 0, cap = 0;
	ssize_t r;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return xstrdup("");
	for (;;) {
		if (n + 4096 + 1 > cap)
			s = xrealloc(s, cap = 2 * cap + 4096 + 1);
		r = read(fd, s + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (!s)
		s = xmalloc(1);
	s[n] = 0;
	return s;
}

int
cron_exec(char *const argv[], const char *input, char **out, char **errtext, char **err)
{
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int in = -1, o = proc_spool(tmp), e = proc_spool(tmp), status, r;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	if (input) {
		size_t n = strlen(input);

		in = proc_spool(tmp);
		if (write(in, input, n) != (ssize_t)n || lseek(in, 0, SEEK_SET) < 0)
			die(EXIT_WORK, "cannot write a spool file in '%s':", tmp);
	}
	posix_spawn_file_actions_init(&fa);
	if (in >= 0)
		posix_spawn_file_actions_adddup2(&fa, in, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, o, 1);
	posix_spawn_file_actions_adddup2(&fa, e, 2);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (in >= 0)
		close(in);
	if (r) {
		*err = xasprintf("cannot run '%s': %s", argv[0], strerror(r));
		close(o);
		close(e);
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die(EXIT_WORK, "cannot wait for '%s':", argv[0]);
	if (out)
		*out = spooled(o);
	if (errtext) {
		char *t = spooled(e);
		size_t n = strlen(t);

		while (n && (t[n - 1] == '\n' || t[n - 1] == ' '))
			t[--n] = 0;
		*errtext = t;
	}
	close(o);
	close(e);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

const char *
cron_program(void)
{
	const char *p = getenv("MALLCOP_CRONTAB");

	return p && *p ? p : "crontab";
}

/* the lock file: in $XDG_RUNTIME_DIR when it is the user's, else /tmp/mallcop-crontab-UID.lock */
static char *
lock_path(void)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (run && *run == '/' && stat(run, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == getuid() && !(st.st_mode & 022))
		return xasprintf("%s/mallcop-crontab.lock", run);
	return xasprintf("/tmp/mallcop-crontab-%ld.lock", (long)getuid());
}

int
cron_lock(long wait_ms, int *busy, char **err)
{
	char *path = lock_path();
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct timespec nap = {0, 50 * 1000 * 1000};
	struct stat st;

	*busy = 0;
	if (fd < 0) {
		*err = xasprintf("cannot open the crontab lock '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* a file someone else made there is not our lock (another user could hold it forever) */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != getuid()) {
		*err = xasprintf("the crontab lock '%s' is not a file of this user's; remove it",
		    path);
		goto fail;
	}
	for (long waited = 0; flock(fd, LOCK_EX | LOCK_NB); waited += 50) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			*err = xasprintf("cannot lock '%s': %s", path, strerror(errno));
			goto fail;
		}
		if (waited >= wait_ms) {
			*busy = 1;
			*err = xasprintf("the crontab is being changed by another mallcop patrol "
			    "(lock '%s'); try again", path);
			goto fail;
		}
		nanosleep(&nap, NULL);
	}
	free(path);
	return fd;
fail:
	close(fd);
	free(path);
	return -1;
}

char *
cron_read(char **err)
{
	char *argv[] = {(char *)cron_program(), "-l", NULL}, *out = NULL, *etext = NULL;
	int st = cron_exec(argv, NULL, &out, &etext, err);

	if (st < 0)
		return NULL;
	if (st != 0) {
		/* crontab -l says so when the user has none: that is an empty one */
		if (strstr(etext, "no crontab for")) {
			free(etext);
			free(out);
			return xstrdup("");
		}
		*err = xasprintf("cannot read the crontab: '%s -l' exited with status %d%s%s",
		    argv[0], st, *etext ? ": " : "", etext);
		free(etext);
		free(out);
		return NULL;
	}
	free(etext);
	return out;
}

int
cron_install(const char *text, char **err)
{
	char *argv[] = {(char *)cron_program(), "-", NULL}, *etext = NULL;
	int st = cron_exec(argv, text, NULL, &etext, err);

	if (st > 0)
		*err = xasprintf("cannot install the crontab: '%s -' exited with status %d%s%s",
		    argv[0], st, *etext ? ": " : "", etext);
	free(etext);
	return st ? -1 : 0;
}

char *
cron_quote(const char *word)
{
	char *q = xmalloc(4 * strlen(word) + 3), *p = q;

	*p++ = '\'';
	for (const char *s = word; *s; s++) {
		if (*s == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else if (*s == '%') {
			/* cron turns an unescaped % into a newline; \% outside quotes gives % */
			memcpy(p, "'\\%'", 4);
			p += 4;
		} else {
			*p++ = *s;
		}
	}
	*p++ = '\'';
	*p = 0;
	return q;
}

/* the offset of the line of text that is exactly line, from *from on; -1 when none */
static long
find_line(const char *text, const char *line, size_t from)
{
	size_t n = strlen(line);

	for (const char *s = text + from; *s;) {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);

		if (l == n && !memcmp(s, line, n))
			return s - text;
		if (!nl)
			break;
		s = nl + 1;
	}
	return -1;
}

int
cron_block(const char *text, const char *begin, const char *end, size_t *at, size_t *len)
{
	long b = find_line(text, begin, 0), e;
	const char *nl;

	if (b < 0)
		return find_line(text, end, 0) < 0 ? 0 : -1;
	e = find_line(text, end, (size_t)b);
	if (e < 0 || find_line(text, begin, (size_t)b + 1) >= 0 ||
	    find_line(text, end, (size_t)e + 1) >= 0 || find_line(text, end, 0) < b)
		return -1;
	nl = strchr(text + e, '\n');
	*at = (size_t)b;
	*len = (nl ? (size_t)(nl + 1 - text) : strlen(text)) - (size_t)b;
	return 1;
}

char *
cron_set(const char *text, const char *begin, const char *end, const char *block)
{
	size_t at, len, n = strlen(text);
	int r = cron_block(text, begin, end, &at, &len);

	if (r < 0)
		return NULL;
	if (!block)
		block = "";
	if (r == 0) {
		/* added at the end, after a newline that a last line without one is given */
		int nl = n > 0 && text[n - 1] != '\n';

		return xasprintf("%s%s%s", text, nl ? "\n" : "", block);
	}
	return xasprintf("%.*s%s%s", (int)at, text, block, text + at + len);
}
