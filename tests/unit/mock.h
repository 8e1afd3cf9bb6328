/*
 * mock: a scratch directory and tests/mock/serve.py for the C unit tests.
 * Define MOCK_ROOT (a mkdtemp template, "/tmp/test_x.XXXXXX") and _GNU_SOURCE before including.
 */
#ifndef MALLCOP_MOCK_H
#define MALLCOP_MOCK_H
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[] = MOCK_ROOT;
static char base[128];	/* http://127.0.0.1:PORT of the running mock */
static pid_t mock;

/* root/rel; four results stay valid at a time */
static inline char *
at(const char *rel)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
	return buf[k];
}

static inline void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

/* a whole file, "" when unreadable; static */
static inline const char *
slurp(const char *path)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static inline int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* the directory above the test binary that holds tests/mock/serve.py (source tree or build/san) */
static inline const char *
find_serve(void)
{
	static char dir[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
	struct stat st;
	char *slash;

	if (n <= 0)
		return NULL;
	dir[n] = '\0';
	while ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		snprintf(path, sizeof path, "%s/tests/mock/serve.py", *dir ? dir : "");
		if (stat(path, &st) == 0)
			return path;
	}
	return NULL;
}

/* serve routes (JSON, see serve.py) on a free port, logging to root/log.jsonl; base is set */
static inline int
start_mock(const char *routes)
{
	const char *serve = find_serve();
	FILE *f;
	char port[16];

	if (!serve)
		return -1;
	unlink(at("port"));
	put(at("routes.json"), routes);
	if ((mock = fork()) == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execlp("python3", "python3", serve, "--port-file", at("port"), at("routes.json"),
		    at("log.jsonl"), (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if ((f = fopen(at("port"), "r")) != NULL) {
			int got = fgets(port, sizeof port, f) != NULL;

			fclose(f);
			if (got) {
				port[strcspn(port, "\n")] = '\0';
				snprintf(base, sizeof base, "http://127.0.0.1:%s", port);
				return 0;
			}
		}
		usleep(25000);
	}
	return -1;
}

static inline void
stop_mock(void)
{
	if (mock > 0) {
		kill(mock, SIGTERM);
		waitpid(mock, NULL, 0);
		mock = 0;
	}
}

/* remove root and all it holds */
static inline void
remove_root(void)
{
	char *cmd = NULL;

	if (asprintf(&cmd, "rm -rf '%s'", root) > 0 && system(cmd) != 0)
		printf("# cannot remove %s\n", root);
	free(cmd);
}
#endif
