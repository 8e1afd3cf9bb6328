/* mallcop-patrol: named, scheduled runs of watch, kept in the user's crontab */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actor.h"
#include "cfg.h"
#include "cli.h"
#include "cron.h"
#include "escalate.h"
#include "human.h"
#include "jsonl.h"
#include "patrol.h"
#include "plugin.h"
#include "proc.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-patrol [--dir DIR] [--human] SUBCOMMAND ...\n"
    "       mallcop-patrol create NAME --every PERIOD [--budget N] [--chain ACTORS]\n"
    "                      [--notify CHANNELS] [--research] [--no-git]\n"
    "       mallcop-patrol list\n"
    "       mallcop-patrol update NAME --every PERIOD\n"
    "       mallcop-patrol disable NAME | enable NAME | remove NAME | run NAME";

enum { O_EVERY = 1, O_BUDGET = 2, O_CHAIN = 4, O_NOTIFY = 8, O_RESEARCH = 16, O_NOGIT = 32 };
enum { LOCK_WAIT_MS = 30000, LOG_MAX = 1 << 20 };

static const struct {
	const char *name;
	int named, allowed, required;
} subs[] = {
	{"create", 1, O_EVERY | O_BUDGET | O_CHAIN | O_NOTIFY | O_RESEARCH | O_NOGIT, O_EVERY},
	{"list", 0, 0, 0},
	{"update", 1, O_EVERY, O_EVERY},
	{"disable", 1, 0, 0},
	{"enable", 1, 0, 0},
	{"remove", 1, 0, 0},
	{"run", 1, 0, 0},
};

static const char *const optname[] = {"--every", "--budget", "--chain", "--notify", "--research",
	"--no-git"};

/*
 * The store's files a run changes, which the git step commits (mallcop.7, THE STORE): the
 * record (a change of one is a change worth a commit), then the notes every run writes again
 * (the scan's times, the cost of the run), committed with it. Not the lock, the findings
 * index (a cache) or the patrols' logs.
 */
static const char *const store_files[] = {".mallcop/events", ".mallcop/findings.jsonl",
	".mallcop/baseline.json", ".mallcop/baseline.d", ".mallcop/feedback.jsonl", NULL,
	".mallcop/checkpoints.yaml", ".mallcop/detect.json", ".mallcop/costs.jsonl",
	".mallcop/manifest.json", NULL};
enum { RECORD_FILES = 5 };

typedef struct args {
	const char *sub, *name, *every, *budget, *chain, *notify;
	int given, human;
} args;

/* the deployment, its mallcop.yaml as text and as settings */
typedef struct dep {
	char *dir;	/* absolute */
	char *yaml;	/* its path */
	char *text;
	size_t len;
	cfg cf;
} dep;

static void __attribute__((noreturn))
usage_error(const char *fmt, const char *what)
{
	fprintf(stderr, "%s\n", usage);
	die(EXIT_USAGE, fmt, what);
}

static void
parse(int argc, char **argv, args *a, const char **dir)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"human", no_argument, NULL, 'u'},
		{"every", required_argument, NULL, 'e'},
		{"budget", required_argument, NULL, 'b'},
		{"chain", required_argument, NULL, 'c'},
		{"notify", required_argument, NULL, 'n'},
		{"research", no_argument, NULL, 'r'},
		{"no-git", no_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, k = -1;

	memset(a, 0, sizeof *a);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': *dir = optarg; break;
		case 'u': a->human = 1; break;
		case 'e': a->every = optarg; a->given |= O_EVERY; break;
		case 'b': a->budget = optarg; a->given |= O_BUDGET; break;
		case 'c': a->chain = optarg; a->given |= O_CHAIN; break;
		case 'n': a->notify = optarg; a->given |= O_NOTIFY; break;
		case 'r': a->given |= O_RESEARCH; break;
		case 'g': a->given |= O_NOGIT; break;
		case 'h':
			puts(usage);
			exit(0);
		default:
			fprintf(stderr, "%s\n", usage);
			exit(EXIT_USAGE);
		}
	}
	if (optind >= argc)
		usage_error("%s", "a subcommand is needed: create, list, update, disable, enable, "
		    "remove or run");
	a->sub = argv[optind++];
	for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
		if (streq(subs[i].name, a->sub))
			k = (int)i;
	if (k < 0)
		usage_error("unknown subcommand '%s'", a->sub);
	if (subs[k].named) {
		const char *why;

		if (optind >= argc)
			usage_error("%s: a patrol's name is needed", a->sub);
		a->name = argv[optind++];
		if ((why = patrol_name_check(a->name))) {
			char *m = human_safe(a->name);

			fprintf(stderr, "%s\n", usage);
			die(EXIT_USAGE, "patrol name '%s': %s", m, why);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	for (int i = 0; i < 6; i++) {
		if ((a->given & (1 << i)) && !(subs[k].allowed & (1 << i))) {
			fprintf(stderr, "%s\n", usage);
			die(EXIT_USAGE, "%s takes no %s", a->sub, optname[i]);
		}
		if (!(a->given & (1 << i)) && (subs[k].required & (1 << i))) {
			fprintf(stderr, "%s\n", usage);
			die(EXIT_USAGE, "%s needs %s", a->sub, optname[i]);
		}
	}
	a->human = cli_human(a->human);
}

/* 1 when s has a character that would end or break a crontab line */
static int
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* the deployment and its mallcop.yaml, which must be there and sound */
static void
dep_open(dep *d, const char *root, int human)
{
	char real[PATH_MAX], *err = NULL;

	memset(d, 0, sizeof *d);
	if (!realpath(root, real))
		cli_fail(EXIT_WORK, human, "cannot find the deployment '%s': %s", root,
		    strerror(errno));
	/* the directory goes into crontab lines and comments: nothing may end or break one */
	if (has_control(real))
		cli_fail(EXIT_WORK, human, "the deployment's path has a control character; a "
		    "crontab cannot hold it: move the deployment");
	d->dir = xstrdup(real);
	d->yaml = xasprintf("%s/mallcop.yaml", d->dir);
	if (!(d->text = store_read(d->yaml, &d->len, &err)))
		cli_fail(EXIT_WORK, human, "%s", err ? err : "cannot read mallcop.yaml: no such "
		    "file; run 'mallcop init' or give the deployment with --dir");
	if (cfg_load(&d->cf, d->dir, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
}

static void
dep_close(dep *d)
{
	cfg_free(&d->cf);
	free(d->dir);
	free(d->yaml);
	free(d->text);
}

/* the dispatcher the cron line runs: the one that ran us, else mallcop on PATH */
static char *
dispatcher(int human)
{
	const char *self = getenv("MALLCOP_DISPATCHER"), *path = getenv("PATH");
	char *found = NULL, *dirs, *save = NULL;

	if (self && *self == '/' && access(self, X_OK) == 0)
		found = xstrdup(self);
	dirs = xstrdup(path ? path : "");
	for (char *p = strtok_r(dirs, ":", &save); p && !found; p = strtok_r(NULL, ":", &save)) {
		char *f = xasprintf("%s/mallcop", p);
		struct stat st;

		if (*p == '/' && stat(f, &st) == 0 && S_ISREG(st.st_mode) && access(f, X_OK) == 0)
			found = f;
		else
			free(f);
	}
	free(dirs);
	if (!found)
		cli_fail(EXIT_WORK, human, "cannot find the mallcop program for the crontab line: "
		    "run this as 'mallcop patrol' or put mallcop on PATH");
	if (has_control(found))
		cli_fail(EXIT_WORK, human, "the path of the mallcop program has a control "
		    "character; a crontab cannot hold it: install mallcop elsewhere");
	return found;
}

/* the lines that mark the patrol's block in the crontab */
static char *
marker(const dep *d, const char *what, const char *name)
{
	return xasprintf("# %s mallcop patrol %s %s", what, name, d->dir);
}

/*
 * The command cron runs: from the deployment, with a PATH, the dispatcher by its absolute
 * path; the output appended to a log that `run` rotates
 */
static char *
cron_line(const dep *d, const patrol *p, const char *schedule, const char *mallcop)
{
	char *qdir = cron_quote(d->dir), *qbin = cron_quote(mallcop), *slash, *bindir;
	char *qpath, *line;

	bindir = xstrdup(mallcop);
	if ((slash = strrchr(bindir, '/')))
		*slash = 0;
	qpath = cron_quote(bindir);
	line = xasprintf("%s cd %s && PATH=%s:/usr/local/bin:/usr/bin:/bin exec %s patrol run %s "
	    ">>.mallcop/patrol-%s.log 2>&1", schedule, qdir, qpath, qbin, p->name, p->name);
	free(qdir);
	free(qbin);
	free(qpath);
	free(bindir);
	return line;
}

/* the whole block of a patrol as it is installed */
static char *
cron_entry(const dep *d, const patrol *p, const char *mallcop, char **line, char **schedule)
{
	char *err = NULL, *sched = patrol_schedule(p->every, d->dir, p->name, &err);
	char *b = marker(d, "BEGIN", p->name), *e = marker(d, "END", p->name), *l, *out;

	if (!sched)
		die(EXIT_WORK, "%s", err);
	l = cron_line(d, p, sched, mallcop);
	out = xasprintf("%s\n%s\n%s\n", b, l, e);
	free(b);
	free(e);
	if (line)
		*line = l;
	else
		free(l);
	if (schedule)
		*schedule = sched;
	else
		free(sched);
	return out;
}

/* the crontab with the patrol's block set (NULL: removed) */
static char *
crontab_with(const dep *d, const char *tab, const char *name, const char *block, int human)
{
	char *b = marker(d, "BEGIN", name), *e = marker(d, "END", name);
	char *out = cron_set(tab, b, e, block);

	free(b);
	free(e);
	if (!out)
		cli_fail(EXIT_WORK, human, "the crontab has a broken block for patrol '%s' (a "
		    "BEGIN or END line without its pair); fix it with 'crontab -e'", name);
	return out;
}

/*
 * mallcop.yaml replaced with text, keeping its mode: the new file is made readable by the user
 * alone, then given the mode of the old (a file of 0600 never shows its settings to others)
 */
static int
yaml_replace(const dep *d, const char *text, size_t len, char **err)
{
	struct stat st;
	int have = stat(d->yaml, &st) == 0, r;
	mode_t old = umask(077);

	r = store_replace(d->yaml, text, len, err);
	umask(old);
	if (r == 0 && chmod(d->yaml, have ? st.st_mode & 07777 : 0666 & ~old)) {
		*err = xasprintf("cannot set the mode of '%s': %s", d->yaml, strerror(errno));
		return -1;
	}
	return r;
}

/*
 * mallcop.yaml with patrols (consumed) and the crontab with new text, in that order; when the
 * crontab is refused, mallcop.yaml is put back as it was
 */
static void
commit(dep *d, jv patrols, const char *tab, const char *newtab, int human)
{
	char *err = NULL, *text = patrol_yaml(d->text, d->len, d->cf.root, patrols, &err);

	if (!text)
		cli_fail(EXIT_WORK, human, "%s: %s", d->yaml, err);
	if (strlen(text) != d->len || memcmp(text, d->text, d->len)) {
		if (yaml_replace(d, text, strlen(text), &err))
			cli_fail(EXIT_WORK, human, "%s; nothing was changed", err);
	}
	if (!streq(tab, newtab) && cron_install(newtab, &err)) {
		char *e2 = NULL;

		if (yaml_replace(d, d->text, d->len, &e2)) {
			warnf("%s", e2);
			free(e2);
		}
		cli_fail(EXIT_WORK, human, "%s; nothing was changed", err);
	}
	free(text);
}

/* the patrols of mallcop.yaml, an object */
static jv
all_patrols(const dep *d, int human)
{
	jv all = cfg_get(&d->cf, "patrols");

	if (!jv_is_valid(all) || jv_get_kind(all) == JV_KIND_NULL) {
		jv_free(all);
		return jv_object();
	}
	if (jv_get_kind(all) != JV_KIND_OBJECT) {
		char *where = cfg_where(&d->cf, "patrols");

		jv_free(all);
		cli_fail(EXIT_WORK, human, "%s: patrols: expected a mapping of patrols by name",
		    where);
	}
	return all;
}

/* the patrol name, which must be there and sound */
static void
need(const dep *d, const char *name, patrol *p, int human)
{
	char *err = NULL;
	int r = patrol_get(&d->cf, name, p, &err);

	if (r < 0)
		cli_fail(EXIT_WORK, human, "%s", err);
	if (r > 0)
		cli_fail(EXIT_WORK, human, "no patrol '%s' in %s (see mallcop patrol list)", name,
		    d->yaml);
}

/* "a, b" split at commas, each name trimmed; a usage error when one is empty */
static jv
split_names(const char *s, const char *flag)
{
	jv out = jv_array();
	char *copy = xstrdup(s), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t n;

		t += strspn(t, " \t");
		n = strlen(t);
		while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
			t[--n] = 0;
		if (!n || strchr(t, '/'))
			usage_error("%s: a list of names separated by commas", flag);
		out = jv_array_append(out, jv_string(t));
	}
	free(copy);
	if (!jv_array_length(jv_copy(out)) || s[strlen(s) - 1] == ',')
		usage_error("%s: a list of names separated by commas", flag);
	return out;
}

/* --budget: a whole number of donuts up to the deployment's budget for a run */
static long
budget_arg(const dep *d, const char *s, int human)
{
	char *end, *err = NULL;
	long cap = patrol_global_budget(&d->cf, &err), n;

	if (cap < 0)
		cli_fail(EXIT_WORK, human, "%s", err);
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 0 || (cap > 0 && (n > cap || n == 0))) {
		char *m = human_safe(s);

		if (cap > 0)
			cli_fail(EXIT_USAGE, human, "--budget '%s': a whole number of donuts from 1 "
			    "to %ld, the budget.max_donuts_per_run of %s", m, cap, d->yaml);
		cli_fail(EXIT_USAGE, human, "--budget '%s': a whole number of donuts (0: no cap)",
		    m);
	}
	return n;
}

/* the patrol's actors load and its channels are there and take their settings */
static void
check_paths(const dep *d, const patrol *p, int human)
{
	jv errors, conf;
	esc_paths paths;
	cfg c;
	char *err = NULL;

	if (jv_get_kind(p->chain) == JV_KIND_ARRAY)
		jv_array_foreach(p->chain, i, a) {
			actor_def def;

			(void)i;
			if (actor_load(d->dir, jv_string_value(a), &def, &err)) {
				jv_free(a);
				cli_fail(EXIT_USAGE, human, "--chain: %s", err);
			}
			actor_def_free(&def);
			jv_free(a);
		}
	if (jv_get_kind(p->notify) == JV_KIND_ARRAY)
		jv_array_foreach(p->notify, i, n) {
			char *prog = strncmp(jv_string_value(n), "notify-", 7) ? NULL :
			    plugin_builtin(jv_string_value(n));

			(void)i;
			if (!prog) {
				char *m = human_safe(jv_string_value(n));

				cli_fail(EXIT_USAGE, human, "--notify: no channel '%s' (a notifier "
				    "program mallcop-notify-NAME: notify-slack, notify-teams, "
				    "notify-email, notify-webhook, notify-exec)", m);
			}
			free(prog);
			jv_free(n);
		}
	if (jv_get_kind(p->notify) != JV_KIND_ARRAY)
		return;
	/* each channel checks its settings (actors.NAME of mallcop.yaml), sending nothing */
	errors = jv_array();
	c = d->cf;
	conf = jv_object_set(jv_object(), jv_string("notify"), jv_copy(p->notify));
	c.root = jv_object_set(jv_copy(d->cf.root), jv_string("routing"),
	    jv_object_set(jv_object(), jv_string("warn"), conf));
	esc_load(&paths, &c, d->dir, &errors);
	esc_free(&paths);
	jv_free(c.root);
	if (jv_array_length(jv_copy(errors))) {
		char *j = jsonl_join(errors, "; ");

		cli_fail(EXIT_USAGE, human, "--notify: %s", j);
	}
	jv_free(errors);
}

static int
out_ok(jv r, int human, const char *text)
{
	if (human) {
		jv_free(r);
		fputs(text, stdout);
		return fshut(stdout, "stdout") ? EXIT_WORK : 0;
	}
	return cli_emit(r);
}

static jv
result(const char *sub, const char *name)
{
	jv r = jv_object_set(cli_result(), jv_string("subcommand"), jv_string(sub));

	return name ? jv_object_set(r, jv_string("name"), jv_string(name)) : r;
}

static int
do_create(dep *d, const args *a, const char *mallcop)
{
	patrol p = {0}, old;
	char *err = NULL, *tab, *newtab, *block, *line, *sched, *text, *s;
	jv all = all_patrols(d, a->human);
	int rc;
	cfg c;

	if (patrol_get(&d->cf, a->name, &old, &err) != 1)
		cli_fail(EXIT_WORK, a->human, "patrol '%s' is in %s already; change it with "
		    "'mallcop patrol update' or remove it first", a->name, d->yaml);
	if (!(s = patrol_schedule(a->every, d->dir, a->name, &err))) {
		char *m = human_safe(a->every);

		cli_fail(EXIT_USAGE, a->human, "--every '%s': not a period cron keeps "
			    "exactly: %s", m, patrol_periods);
	}
	free(s);
	p.name = xstrdup(a->name);
	p.every = xstrdup(a->every);
	p.budget = a->budget ? budget_arg(d, a->budget, a->human) : -1;
	p.chain = a->chain ? split_names(a->chain, "--chain") : jv_null();
	p.notify = a->notify ? split_names(a->notify, "--notify") : jv_null();
	p.research = !!(a->given & O_RESEARCH);
	p.with_git = !(a->given & O_NOGIT);
	p.enabled = 1;
	check_paths(d, &p, a->human);
	/* the run must be able to apply it: a chain and channels need routes to replace */
	c = d->cf;
	c.root = jv_object_set(jv_copy(d->cf.root), jv_string("patrols"),
	    jv_object_set(jv_copy(all), jv_string(a->name), patrol_entry(&p)));
	rc = patrol_apply(&c, a->name, &err);
	jv_free(c.root);
	if (rc)
		cli_fail(EXIT_USAGE, a->human, "%s", err);
	if (!(tab = cron_read(&err)))
		cli_fail(EXIT_WORK, a->human, "%s; nothing was changed", err);
	if (mkdir(".mallcop", 0755) && errno != EEXIST)	/* where the log goes */
		cli_fail(EXIT_WORK, a->human, "cannot create '%s/.mallcop': %s", d->dir,
		    strerror(errno));
	block = cron_entry(d, &p, mallcop, &line, &sched);
	newtab = crontab_with(d, tab, a->name, block, a->human);
	commit(d, jv_object_set(all, jv_string(a->name), patrol_entry(&p)), tab, newtab, a->human);
	text = xasprintf("patrol %s created: every %s (%s)%s%s\n", a->name, p.every, sched,
	    p.research ? ", research" : "", p.with_git ? ", git commit" : "");
	rc = out_ok(jv_object_set(jv_object_set(jv_object_set(jv_object_set(jv_object_set(
	    result("create", a->name), jv_string("every"), jv_string(p.every)),
	    jv_string("schedule"), jv_string(sched)), jv_string("line"), jv_string(line)),
	    jv_string("research"), jv_bool(p.research)), jv_string("with_git"),
	    jv_bool(p.with_git)), a->human, text);
	free(text);
	free(tab);
	free(newtab);
	free(block);
	free(line);
	free(sched);
	patrol_free(&p);
	return rc;
}

/* update, enable, disable, remove: the patrol's entry and its block changed together */
static int
do_change(dep *d, const args *a, const char *mallcop)
{
	patrol p;
	char *err = NULL, *tab, *newtab, *block = NULL, *sched = NULL, *text;
	jv all = all_patrols(d, a->human), r = result(a->sub, a->name);
	int rc;

	need(d, a->name, &p, a->human);
	if (a->every) {
		char *s = patrol_schedule(a->every, d->dir, a->name, &err);
		char *m = human_safe(a->every);

		if (!s)
			cli_fail(EXIT_USAGE, a->human, "--every '%s': not a period cron keeps "
			    "exactly: %s", m, patrol_periods);
		free(m);
		free(s);
		free(p.every);
		p.every = xstrdup(a->every);
	}
	if (streq(a->sub, "enable"))
		p.enabled = 1;
	else if (streq(a->sub, "disable"))
		p.enabled = 0;
	if (!(tab = cron_read(&err)))
		cli_fail(EXIT_WORK, a->human, "%s; nothing was changed", err);
	if (p.enabled && !streq(a->sub, "remove")) {
		if (mkdir(".mallcop", 0755) && errno != EEXIST)
			cli_fail(EXIT_WORK, a->human, "cannot create '%s/.mallcop': %s", d->dir,
			    strerror(errno));
		block = cron_entry(d, &p, mallcop, NULL, &sched);
	}
	newtab = crontab_with(d, tab, a->name, block, a->human);
	if (streq(a->sub, "remove"))
		all = jv_object_delete(all, jv_string(a->name));
	else
		all = jv_object_set(all, jv_string(a->name), patrol_entry(&p));
	commit(d, all, tab, newtab, a->human);
	if (streq(a->sub, "remove")) {
		r = jv_object_set(r, jv_string("removed"), jv_true());
		text = xasprintf("patrol %s removed\n", a->name);
	} else {
		r = jv_object_set(r, jv_string("every"), jv_string(p.every));
		r = jv_object_set(r, jv_string("enabled"), jv_bool(p.enabled));
		if (sched)
			r = jv_object_set(r, jv_string("schedule"), jv_string(sched));
		text = xasprintf("patrol %s: every %s, %s%s%s%s\n", a->name, p.every,
		    p.enabled ? "enabled" : "disabled", sched ? " (" : "", sched ? sched : "",
		    sched ? ")" : "");
	}
	rc = out_ok(r, a->human, text);
	free(text);
	free(tab);
	free(newtab);
	free(block);
	free(sched);
	patrol_free(&p);
	return rc;
}

/* the names of this deployment's blocks in the crontab (those of a BEGIN line) */
static jv
installed(const dep *d, const char *tab)
{
	const char *pre = "# BEGIN mallcop patrol ";
	size_t np = strlen(pre), nd = strlen(d->dir);
	jv names = jv_array();

	for (const char *s = tab; *s;) {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);

		/* NAME has no space: "NAME /x /srv/acme" is a block of another deployment */
		if (l > np + nd + 1 && !strncmp(s, pre, np) && !memcmp(s + l - nd, d->dir, nd) &&
		    s[l - nd - 1] == ' ') {
			char *name = strndup(s + np, l - nd - 1 - np);

			if (!patrol_name_check(name))
				names = jv_array_append(names, jv_string(name));
			free(name);
		}
		s = nl ? nl + 1 : s + l;
	}
	return names;
}

static int
do_list(dep *d, const args *a, const char *mallcop)
{
	jv all = all_patrols(d, a->human), list = jv_array(), orphans = jv_array(), names;
	char *err = NULL, *tab = cron_read(&err);
	int rc;
	FILE *h;
	char *text = NULL;
	size_t tn = 0;

	if (!tab)
		cli_fail(EXIT_WORK, a->human, "%s", err);
	h = open_memstream(&text, &tn);
	jv_object_foreach(all, k, v) {
		const char *name = jv_string_value(k), *state;
		char *b = marker(d, "BEGIN", name), *e = marker(d, "END", name), *want;
		size_t at = 0, len = 0;
		int found = cron_block(tab, b, e, &at, &len);
		patrol p;
		jv o = jv_object_set(jv_object(), jv_string("name"), jv_copy(k));

		free(b);
		free(e);
		jv_free(v);
		if (patrol_get(&d->cf, name, &p, &err) < 0) {
			o = jv_object_set(o, jv_string("error"), jv_string(err));
			o = jv_object_set(o, jv_string("crontab"), jv_string(found < 0 ? "broken" :
			    found ? "installed" : "missing"));
			o = jv_object_set(o, jv_string("agree"), jv_false());
			{
				char *sn = human_safe(name), *se = human_safe(err);

				fprintf(h, "%s: %s\n", sn, se);
				free(sn);
				free(se);
			}
			free(err);
			err = NULL;
			list = jv_array_append(list, o);
			jv_free(k);
			continue;
		}
		want = cron_entry(d, &p, mallcop, NULL, NULL);
		if (found < 0)
			state = "broken";
		else if (!found)
			state = p.enabled ? "missing" : "disabled";
		else if (!p.enabled)
			state = "installed while disabled";
		else
			state = len == strlen(want) && !memcmp(tab + at, want, len) ? "installed" :
			    "differs";
		o = jv_object_merge(o, patrol_entry(&p));
		o = jv_object_set(o, jv_string("enabled"), jv_bool(p.enabled));
		o = jv_object_set(o, jv_string("research"), jv_bool(p.research));
		o = jv_object_set(o, jv_string("with_git"), jv_bool(p.with_git));
		{
			char *s = patrol_schedule(p.every, d->dir, name, &err);

			o = jv_object_set(o, jv_string("schedule"), jv_string(s));
			char *sn = human_safe(name), *se = human_safe(p.every);

			fprintf(h, "%-16s every %-4s %-18s %s\n", sn, se, s, state);
			free(sn);
			free(se);
			free(s);
		}
		o = jv_object_set(o, jv_string("crontab"), jv_string(state));
		o = jv_object_set(o, jv_string("agree"), jv_bool(streq(state, "installed") ||
		    streq(state, "disabled")));
		list = jv_array_append(list, o);
		free(want);
		patrol_free(&p);
		jv_free(k);
	}
	names = installed(d, tab);
	jv_array_foreach(names, i, n) {
		jv has = jsonl_get(jv_copy(all), jv_string_value(n));

		(void)i;
		if (!jv_is_valid(has)) {
			char *sn = human_safe(jv_string_value(n));

			fprintf(h, "%-16s in the crontab but not in mallcop.yaml\n", sn);
			free(sn);
			orphans = jv_array_append(orphans, jv_copy(n));
		}
		jv_free(has);
		jv_free(n);
	}
	jv_free(names);
	jv_free(all);
	fclose(h);
	if (!tn && a->human) {
		free(text);
		text = xstrdup("no patrols\n");
	}
	rc = out_ok(jv_object_set(jv_object_set(result("list", NULL), jv_string("patrols"), list),
	    jv_string("not_in_config"), orphans), a->human, text);
	free(text);
	free(tab);
	return rc;
}

/* what cron appends to, rotated when it has grown: the run writes to a new one */
static void
rotate_log(const dep *d, const char *name)
{
	char *log = xasprintf("%s/.mallcop/patrol-%s.log", d->dir, name), *old;
	struct stat a, b;
	int fd;

	if (fstat(1, &a) || stat(log, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino ||
	    b.st_size < LOG_MAX) {
		free(log);
		return;
	}
	old = xasprintf("%s.1", log);
	if (rename(log, old) == 0 && (fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	free(old);
	free(log);
}

/* run git in the deployment: its status; its stderr's last line in *why on failure */
static int
git(const dep *d, const char *const *args, char **out, char **why)
{
	char *argv[32] = {"git", "-C", d->dir}, *err = NULL, *etext = NULL;
	int n = 3, st;

	for (; *args && n < 31; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	st = cron_exec(argv, NULL, out, &etext, &err);
	if (st && why) {
		free(*why);
		if (st < 0)
			*why = err;
		else {
			char *last = strrchr(etext, '\n');

			*why = xasprintf("git %s: %s", argv[3], last ? last + 1 : etext);
		}
		err = NULL;
	}
	free(err);
	free(etext);
	return st;
}

/* "12 new events, 1 new finding, 0 updated, 1 sent to a human" of watch's result */
static char *
counts(jv w)
{
	jv scan = jsonl_get(jv_copy(w), "scan"), det = jsonl_get(jv_copy(w), "detect");
	jv esc = jsonl_get(jv_copy(w), "escalate");
	double ev = jsonl_num(scan, "total_events_ingested", 0);
	double nf = jsonl_num(det, "new_findings", 0), uf = jsonl_num(det, "updated_findings", 0);
	double sent = jsonl_num(esc, "delivered", 0);
	char *s = xasprintf("%.0f new event%s, %.0f new finding%s, %.0f updated, %.0f sent to a "
	    "human", ev, ev == 1 ? "" : "s", nf, nf == 1 ? "" : "s", uf, sent);

	jv_free(scan);
	jv_free(det);
	jv_free(esc);
	return s;
}

/* args: head, then "--" and the pathspecs */
static void
with_specs(const char **args, const char *const *head, const char *const *specs)
{
	int k = 0;

	for (; *head; head++)
		args[k++] = *head;
	args[k++] = "--";
	for (; *specs; specs++)
		args[k++] = *specs;
	args[k] = NULL;
}

/*
 * The git step: what the run changed in the store committed (only mallcop's own files, only
 * when something changed), pushed when there is a remote. {committed, pushed, ...} or {error}.
 */
static jv
git_step(const dep *d, const char *name, jv w)
{
	const char *specs[16], *args[32], *saved;
	char *why = NULL, *out = NULL, *msg, *c;
	int n = 0, k, record = 0;
	jv g = jv_object();

	setenv("GIT_TERMINAL_PROMPT", "0", 1);
	if (git(d, (const char *[]){"rev-parse", "--is-inside-work-tree", NULL}, NULL, NULL))
		return jv_object_set(g, jv_string("repository"), jv_false());
	g = jv_object_set(g, jv_string("repository"), jv_true());
	for (int i = 0; i < RECORD_FILES + 5; i++) {
		char *p = store_files[i] ? xasprintf("%s/%s", d->dir, store_files[i]) : NULL;

		if (i == RECORD_FILES)
			record = n;
		else if (access(p, F_OK) == 0)
			specs[n++] = store_files[i];
		free(p);
	}
	specs[n] = NULL;
	if (record == 0)
		return jv_object_set(g, jv_string("committed"), jv_false());
	/* nothing of the record changed: the notes of the run alone are not worth a commit */
	saved = specs[record];
	specs[record] = NULL;
	with_specs(args, (const char *[]){"status", "--porcelain", "--untracked-files=all", NULL},
	    specs);
	if (git(d, args, &out, &why))
		goto fail;
	k = !*out;
	free(out);
	out = NULL;
	if (k)
		return jv_object_set(g, jv_string("committed"), jv_false());
	specs[record] = saved;
	with_specs(args, (const char *[]){"add", "-A", NULL}, specs);
	if (git(d, args, NULL, &why))
		goto fail;
	c = counts(w);
	msg = xasprintf("mallcop patrol %s: %s", name, c);
	free(c);
	with_specs(args, (const char *[]){"commit", "-q", "-m", msg, NULL}, specs);
	k = git(d, args, NULL, &why);
	free(msg);
	if (k)
		goto fail;
	g = jv_object_set(g, jv_string("committed"), jv_true());
	if (git(d, (const char *[]){"remote", NULL}, &out, &why))
		goto fail;
	if (!*out) {
		free(out);
		return jv_object_set(g, jv_string("pushed"), jv_false());
	}
	*strchrnul(out, '\n') = 0;
	/* to the branch's upstream, else to the same branch of the first remote */
	if (git(d, (const char *[]){"rev-parse", "--abbrev-ref", "@{upstream}", NULL}, NULL,
	    NULL) == 0)
		k = git(d, (const char *[]){"push", "-q", NULL}, NULL, &why);
	else
		k = git(d, (const char *[]){"push", "-q", out, "HEAD", NULL}, NULL, &why);
	free(out);
	if (k)
		goto fail;
	return jv_object_set(g, jv_string("pushed"), jv_true());
fail:
	g = jv_object_set(g, jv_string("error"), jv_string(why ? why : "git failed"));
	free(why);
	return g;
}

/*
 * research after watch, under the same lock: mallcop-research when it is installed (it is not
 * part of this release); its result, or what stopped it, as research in *r. 1 when it failed.
 */
static int
research(const dep *d, const char *const *env, jv *r)
{
	const char *args[] = {"--dir", d->dir, NULL};
	char *prog = plugin_builtin("research");
	jv res;
	int st;

	if (!prog) {	/* said, not pretended */
		res = jv_object_set(jv_object_set(jv_object(), jv_string("ran"), jv_false()),
		    jv_string("error"), jv_string("research is not available in this version of "
		    "mallcop (no mallcop-research)"));
		*r = jv_object_set(*r, jv_string("research"), res);
		return 1;
	}
	free(prog);
	st = proc_run_json("research", args, env, &res);
	res = jv_object_set(res, jv_string("ran"), jv_true());
	if (st && jsonl_kind(res, "error") != JV_KIND_STRING)
		res = jv_object_set(res, jv_string("error"), jv_string_fmt("research exited with "
		    "status %d", st));
	*r = jv_object_set(*r, jv_string("research"), res);
	return st != 0;
}

static int
do_run(dep *d, const args *a)
{
	patrol p;
	store st;
	char *err = NULL, fdbuf[32], *text, when[TS_BUFSZ];
	const char *wargs[] = {"--dir", d->dir, "--patrol", a->name, NULL};
	const char *env[] = {fdbuf, NULL};
	int lockfd, status, failed = 0;
	jv w, r = result("run", a->name);

	need(d, a->name, &p, a->human);
	rotate_log(d, a->name);
	/* a line of the log says when it ran */
	r = jv_object_set(r, jv_string("started_at"),
	    jv_string(ts_format(ts_now() / 1000000 * 1000000, when)));
	if (store_open(&st, d->dir, 1, &err))
		cli_fail(EXIT_WORK, a->human, "%s", err);
	/* the run and its commit under one hold of the deployment: no other run writes between */
	if ((status = store_lock(&st, 2000, &err)))
		cli_fail(status > 0 ? EXIT_LOCKED : EXIT_WORK, a->human, "%s", err);
	if ((lockfd = fcntl(st.lockfd, F_DUPFD, 10)) < 0)
		cli_fail(EXIT_WORK, a->human, "cannot pass the lock on: %s", strerror(errno));
	snprintf(fdbuf, sizeof fdbuf, "MALLCOP_LOCK_FD=%d", lockfd);
	proc_forward_signals();
	status = proc_run_json("watch", wargs, env, &w);
	r = jv_object_set(r, jv_string("watch"), jv_copy(w));
	if (status < 0)
		status = EXIT_WORK;
	if (p.research)
		failed |= research(d, env, &r);
	if (p.with_git) {
		jv g = git_step(d, a->name, w);

		failed |= jsonl_kind(g, "error") == JV_KIND_STRING;
		r = jv_object_set(r, jv_string("git"), g);
	}
	close(lockfd);
	store_close(&st);
	if (status || failed) {
		jv why = jv_array();

		if (status)
			why = jv_array_append(why, jsonl_get(jv_copy(w), "error"));
		if (p.research)
			why = jv_array_append(why, jsonl_get(jsonl_get(jv_copy(r), "research"),
			    "error"));
		if (p.with_git)
			why = jv_array_append(why, jsonl_get(jsonl_get(jv_copy(r), "git"), "error"));
		{
			jv msgs = jv_array();
			char *j;

			jv_array_foreach(why, i, m) {
				(void)i;
				if (jv_get_kind(m) == JV_KIND_STRING)
					msgs = jv_array_append(msgs, m);
				else
					jv_free(m);
			}
			jv_free(why);
			j = jsonl_join(msgs, "; ");
			if (!*j) {
				free(j);
				j = xasprintf("watch exited with status %d", status);
			}
			warnf("patrol %s: %s", a->name, j);
			r = jv_object_set(r, jv_string("status"), jv_string("error"));
			r = jv_object_set(r, jv_string("error"), jv_string(j));
			free(j);
		}
	}
	{
		char *c = counts(w);
		jv g = jsonl_get(jv_copy(r), "git");
		const char *how = jsonl_kind(g, "error") == JV_KIND_STRING ? ", the git step failed" :
		    jsonl_kind(g, "pushed") == JV_KIND_TRUE ? ", committed and pushed" :
		    jsonl_kind(g, "committed") == JV_KIND_TRUE ? ", committed" : "";

		text = xasprintf("patrol %s: %s: %s%s\n", a->name, status || failed ? "failed" :
		    "ok", c, how);
		jv_free(g);
		free(c);
	}
	jv_free(w);
	patrol_free(&p);
	if (out_ok(r, a->human, text))
		failed = 1;
	free(text);
	return status ? status : failed ? EXIT_WORK : 0;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	char *mallcop = NULL, *err = NULL;
	args a;
	dep d;
	int rc, lockfd = -1, busy;

	setargv0(argv[0]);
	parse(argc, argv, &a, &dir);
	dep_open(&d, store_root(dir), a.human);
	if (chdir(d.dir))
		cli_fail(EXIT_WORK, a.human, "cannot enter '%s':", d.dir);
	if (streq(a.sub, "run")) {
		rc = do_run(&d, &a);
		dep_close(&d);
		return rc;
	}
	mallcop = dispatcher(a.human);
	if (!streq(a.sub, "list")) {
		/* the crontab and mallcop.yaml are read, changed and written by one run at a time */
		if ((lockfd = cron_lock(LOCK_WAIT_MS, &busy, &err)) < 0)
			cli_fail(busy ? EXIT_LOCKED : EXIT_WORK, a.human, "%s", err);
		dep_close(&d);
		dep_open(&d, ".", a.human);
	}
	if (streq(a.sub, "create"))
		rc = do_create(&d, &a, mallcop);
	else if (streq(a.sub, "list"))
		rc = do_list(&d, &a, mallcop);
	else
		rc = do_change(&d, &a, mallcop);
	if (lockfd >= 0)
		close(lockfd);
	free(mallcop);
	dep_close(&d);
	return rc;
}
