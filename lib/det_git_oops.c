/* git-oops: secrets committed to the deployment repository (run once a pass, over its files) */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <regex.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "detect.h"
#include "util.h"

#define NAME "git-oops"

extern char **environ;

enum mask { TOKEN, NAMED, PLAIN };	/* how a match is shown: never the secret itself */

/*
 * The earlier implementation's patterns (patterns.yaml), in ERE, line by line: [[:blank:]]
 * where it had \s so that no match runs over a line end. Where it obviously meant more, they
 * say so: an assignment needs a value that is not a ${VARIABLE} reference, a JSON key may be
 * quoted, and DB_PASSWORD counts as well as PASSWORD.
 */
#define WORD "[[:alnum:]_]*"
#define VALUE "[[:blank:]]*([^[:space:]#'\"$]|['\"][^[:space:]'\"$])"
static const struct pattern {
	const char *id, *description, *glob, *re;
	int icase;
	const char *severity;
	enum mask mask;
} patterns[] = {
	{"aws-access-key", "AWS Access Key ID", "**/*", "AKIA[0-9A-Z]{16}", 0, "critical", TOKEN},
	{"aws-secret-key", "AWS Secret Access Key", "**/*",
	    "(aws_secret_access_key|aws_secret)['\"]?[[:blank:]]*[=:][[:blank:]]*['\"]?"
	    "[A-Za-z0-9/+=]{40}", 1, "critical", NAMED},
	{"github-pat", "GitHub personal access token", "**/*",
	    "ghp_[a-zA-Z0-9]{36}|github_pat_[a-zA-Z0-9_]{50,}", 0, "critical", TOKEN},
	{"github-oauth", "GitHub OAuth token", "**/*", "gho_[a-zA-Z0-9]{36}", 0, "critical",
	    TOKEN},
	{"github-app-token", "GitHub App installation token", "**/*", "ghs_[a-zA-Z0-9]{36}", 0,
	    "critical", TOKEN},
	{"openai-api-key", "OpenAI API key", "**/*",
	    "sk-([a-z]+-)?[a-zA-Z0-9_-]{20,}T3BlbkFJ[a-zA-Z0-9_-]{20,}", 0, "critical", TOKEN},
	{"slack-token", "Slack token", "**/*", "xox[bpsa]-[0-9]{10,}-[a-zA-Z0-9-]+", 0,
	    "critical", TOKEN},
	{"stripe-secret-key", "Stripe live secret key", "**/*", "sk_live_[a-zA-Z0-9]{24,}", 0,
	    "critical", TOKEN},
	{"private-key", "Private key committed to repo", "**/*",
	    "-----BEGIN (RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----", 0, "critical", PLAIN},
	{"committed-env", ".env file containing secrets",
	    "**/.env{,.production,.prod,.staging,.development,.dev,.test}",
	    "(^|[^[:alnum:]_])" WORD "(password|secret|api_key|token|private_key)" WORD
	    "[[:blank:]]*=" VALUE, 1, "critical", NAMED},
	{"committed-env-local", ".env.local file containing secrets", "**/.env.local",
	    "(^|[^[:alnum:]_])" WORD "(password|secret|api_key|token|private_key)" WORD
	    "[[:blank:]]*=" VALUE, 1, "critical", NAMED},
	{"hardcoded-password", "Hardcoded password",
	    "**/*.{py,js,ts,rb,go,java,yaml,yml,toml}",
	    "password['\"]?[[:blank:]]*[=:][[:blank:]]*['\"][^'\"$][^'\"]{7,}['\"]", 1, "warn",
	    NAMED},
	{"hardcoded-connection-string", "Database connection string with a password", "**/*",
	    "(mysql|postgres|postgresql|mongodb([+]srv)?)://[^:/@[:space:]'\"]+:"
	    "[^$@/[:space:]'\"][^@/[:space:]'\"]*@", 1, "critical", NAMED},
	{"gha-hardcoded-secret", "Secret hardcoded in a GitHub Actions workflow",
	    "**/.github/workflows/*.{yml,yaml}",
	    "AKIA[0-9A-Z]{16}|ghp_[a-zA-Z0-9]{36}|sk-[a-zA-Z0-9]{20}T3BlbkFJ|xox[bpsa]-", 0,
	    "critical", TOKEN},
	{"dockerfile-embedded-secret", "Secret embedded in a Dockerfile",
	    "**/{Dockerfile*,*.dockerfile}",
	    "(^|[^[:alnum:]_])(arg|env)[[:blank:]]+" WORD
	    "(password|secret_key|api_key|token|private_key)" WORD "[[:blank:]]*=" VALUE, 1,
	    "warn", NAMED},
	{"generic-api-key-assignment", "API key assigned in a config file",
	    "**/*.{yaml,yml,toml,json,ini,cfg}",
	    "(api_key|apikey|api-key)['\"]?[[:blank:]]*[=:][[:blank:]]*['\"]?[a-zA-Z0-9]{20,}", 1,
	    "warn", NAMED},
};
#undef WORD
#undef VALUE
enum { NPAT = sizeof patterns / sizeof *patterns, MAX_BYTES = 1 << 20, MAX_LINES = 5 };

static const char *const binary_ext[] = {
	"png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "tif", "tiff", "psd",
	"woff", "woff2", "ttf", "otf", "eot",
	"zip", "tar", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar",
	"exe", "dll", "so", "dylib", "bin", "o", "a", "obj", "class", "jar", "war", "pyc", "pyo",
	"wasm", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods",
	"db", "sqlite", "sqlite3", "mp3", "mp4", "wav", "ogg", "flac", "avi", "mov", "mkv", "webm",
	"iso", "dmg", "img", NULL
};

typedef struct state {
	regex_t re[NPAT];
	jv exclude;	/* globs of paths not to look at */
} state;

static void
stop(void *st)
{
	state *s = st;

	for (int i = 0; i < NPAT; i++)
		regfree(&s->re[i]);
	jv_free(s->exclude);
	free(s);
}

static void *
start(det_ctx *c, jv conf, char **err)
{
	(void)c;
	state *s = xcalloc(1, sizeof *s);
	char *msg = NULL;

	for (int i = 0; i < NPAT; i++)
		if (regcomp(&s->re[i], patterns[i].re,
		    REG_EXTENDED | REG_NEWLINE | (patterns[i].icase ? REG_ICASE : 0)))
			die(EXIT_WORK, NAME ": bad pattern %s", patterns[i].id);
	s->exclude = jv_array();
	jv_object_foreach(conf, k, v) {
		if (msg)
			;
		else if (!streq(jv_string_value(k), "exclude"))
			msg = xasprintf("detectors." NAME ".%s: unknown setting (known: exclude)",
			    jv_string_value(k));
		else if (!(msg = det_string_list(NAME, "exclude", v, "a list of globs",
		    "a glob like tests/fixtures/**")))
			s->exclude = jv_array_concat(s->exclude, jv_copy(v));
		jv_free(k);
		jv_free(v);
	}
	jv_free(conf);
	if (msg) {
		*err = msg;
		stop(s);
		return NULL;
	}
	return s;
}

/* one glob without braces against a relative path: * within a name, ** any directories */
static int
gmatch(const char *p, const char *s)
{
	if (streq(p, "**"))
		return 1;
	if (!strncmp(p, "**/", 3)) {
		for (;;) {
			if (gmatch(p + 3, s))
				return 1;
			if (!(s = strchr(s, '/')))
				return 0;
			s++;
		}
	}
	const char *pe = strchrnul(p, '/'), *se = strchrnul(s, '/');
	char *pc = strndup(p, (size_t)(pe - p)), *sc = strndup(s, (size_t)(se - s));
	int ok = pc && sc && !fnmatch(pc, sc, 0);
	free(pc);
	free(sc);
	if (!ok)
		return 0;
	if (!*pe || !*se)
		return !*pe && !*se;
	return gmatch(pe + 1, se + 1);
}

/* a glob with {a,b} alternatives (not nested) */
static int
glob_match(const char *glob, const char *path)
{
	const char *open = strchr(glob, '{'), *close = open ? strchr(open, '}') : NULL;

	if (!close)
		return gmatch(glob, path);
	for (const char *alt = open + 1; alt <= close;) {
		size_t n = strcspn(alt, ",}");
		char *g = xasprintf("%.*s%.*s%s", (int)(open - glob), glob, (int)n, alt, close + 1);
		int ok = glob_match(g, path);
		free(g);
		if (ok)
			return 1;
		alt += n + 1;
	}
	return 0;
}

static int
binary_name(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	if (!(dot = strrchr(base, '.')) || dot == base)
		return 0;
	for (const char *const *e = binary_ext; *e; e++)
		if (!strcasecmp(dot + 1, *e))
			return 1;
	return 0;
}

/* a path never looked at: the store, git's own files */
static int
skipped(const state *s, const char *path)
{
	if (!strncmp(path, ".mallcop/", 9) || !strncmp(path, ".git/", 5) || strstr(path, "/.git/")
	    || binary_name(path))
		return 1;
	jv ex = s->exclude;
	jv_array_foreach(ex, i, g) {
		(void)i;
		int hit = glob_match(jv_string_value(g), path);
		jv_free(g);
		if (hit)
			return 1;
	}
	return 0;
}

typedef struct list {
	char **v;
	size_t n, cap;
} list;

static void
push(list *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = s;
}

static void
walk(list *l, const char *root, const char *rel)
{
	char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);

	free(dir);
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		if (!streq(name, ".") && !streq(name, "..") && !streq(name, ".git") &&
		    (*rel || !streq(name, ".mallcop"))) {
			char *path = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
			char *full = xasprintf("%s/%s", root, path);
			struct stat st;
			if (!lstat(full, &st) && S_ISDIR(st.st_mode)) {
				walk(l, root, path);
				free(path);
			} else
				push(l, path);
			free(full);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
}

/* the files git would commit: tracked ones and new ones it does not ignore; -1 when no git */
static int
git_files(list *l, const char *root)
{
	char *argv[] = {"git", "-C", (char *)root, "ls-files", "-z", "--cached", "--others",
	    "--exclude-standard", NULL};
	posix_spawn_file_actions_t fa;
	int fd[2], status;
	pid_t pid;
	char *out = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;

	if (pipe(fd))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	r = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	if (r) {
		close(fd[0]);
		return -1;
	}
	for (;;) {
		if (len + 65536 > cap)
			out = xrealloc(out, cap = 2 * cap + 65536);
		r = read(fd[0], out + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		free(out);
		return -1;
	}
	for (size_t i = 0; i < len;) {
		size_t n = strnlen(out + i, len - i);
		if (n)
			push(l, strndup(out + i, n));
		i += n + 1;
	}
	free(out);
	return 0;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* a regular file of at most MAX_BYTES with no NUL byte, NUL-terminated; NULL otherwise */
static char *
slurp(const char *root, const char *path)
{
	char *full = xasprintf("%s/%s", root, path), *buf = NULL;
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	size_t len = 0;

	free(full);
	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size <= MAX_BYTES) {
		buf = xmalloc((size_t)st.st_size + 1);
		while (len < (size_t)st.st_size) {
			ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			len += (size_t)r;
		}
		buf[len] = 0;
		if (memchr(buf, 0, len)) {	/* binary, whatever its name says */
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	return buf;
}

/* what a finding shows of a match: the key name, or a token's ends, never the secret */
static jv
preview(const struct pattern *p, const char *m, size_t n)
{
	while (n && !isalnum((unsigned char)*m) && *m != '-') {
		m++;
		n--;
	}
	if (p->mask == PLAIN)
		return jv_string_sized(m, (int)n);
	if (p->mask == NAMED) {
		size_t k = strcspn(m, "=:");
		return jv_string_fmt("%.*s…", (int)(k < n && k < 60 ? k + 1 : 4), m);
	}
	if (n >= 16)
		return jv_string_fmt("%.4s…%.4s", m, m + n - 4);
	return jv_string_fmt("%.4s…", m);
}

static void
scan_file(det_ctx *c, const state *s, const char *path, const char *text)
{
	for (int i = 0; i < NPAT; i++) {
		const struct pattern *p = &patterns[i];
		if (!glob_match(p->glob, path))
			continue;
		jv lines = jv_array(), shown = jv_null();
		size_t count = 0, line = 1;
		const char *at = text, *counted = text;
		regmatch_t m;
		while (*at && !regexec(&s->re[i], at, 1, &m, at > text && at[-1] != '\n' ?
		    REG_NOTBOL : 0)) {
			const char *ms = at + m.rm_so;
			for (; counted < ms; counted++)
				line += *counted == '\n';
			if (count++ < MAX_LINES)
				lines = jv_array_append(lines, jv_number((double)line));
			if (jv_get_kind(shown) == JV_KIND_NULL) {
				jv_free(shown);
				shown = preview(p, ms, (size_t)(m.rm_eo - m.rm_so));
			}
			at += m.rm_eo > m.rm_so ? m.rm_eo : m.rm_so + 1;
		}
		if (!count) {
			jv_free(lines);
			jv_free(shown);
			continue;
		}
		char *fp = xasprintf("%s:%s", p->id, path);
		jv meta = jv_object();
		meta = jv_object_set(meta, jv_string("pattern_id"), jv_string(p->id));
		meta = jv_object_set(meta, jv_string("description"), jv_string(p->description));
		meta = jv_object_set(meta, jv_string("file"), jv_string(path));
		meta = jv_object_set(meta, jv_string("match_count"), jv_number((double)count));
		meta = jv_object_set(meta, jv_string("line_numbers"), lines);
		meta = jv_object_set(meta, jv_string("preview"), shown);
		det_finding(c, NAME, p->severity, fp, jv_array(), meta, NAME ": %s in %s",
		    p->description, path);
		free(fp);
	}
}

static void
finish(det_ctx *c, void *st)
{
	const state *s = st;
	const char *root = det_root(c);
	list l = {0};

	if (!root)
		return;	/* filter mode: no repository to look at */
	if (git_files(&l, root)) {
		for (size_t i = 0; i < l.n; i++)
			free(l.v[i]);
		l.n = 0;
		walk(&l, root, "");
	}
	qsort(l.v, l.n, sizeof *l.v, cmp);
	for (size_t i = 0; i < l.n; i++) {
		char *text = skipped(s, l.v[i]) ? NULL : slurp(root, l.v[i]);
		if (text)
			scan_file(c, s, l.v[i], text);
		free(text);
		free(l.v[i]);
	}
	free(l.v);
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	(void)c, (void)st, (void)e;
}

const det_ops det_git_oops = {
	.name = NAME,
	.what = "secrets (cloud keys, tokens, private keys, passwords) in the deployment's files",
	.start = start,
	.event = event,
	.finish = finish,
	.stop = stop,
};
