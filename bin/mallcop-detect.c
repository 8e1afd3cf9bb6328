/* mallcop-detect: run the detectors over the events not yet examined */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "cfg.h"
#include "cli.h"
#include "detect.h"
#include "event.h"
#include "finding.h"
#include "human.h"
#include "jsonl.h"
#include "plugin.h"
#include "proc.h"
#include "rules.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-detect [--dir DIR] [--jsonl | --human] [--wait[=SECONDS]]\n"
    "       mallcop-detect - [--baseline FILE] [--config FILE]";

enum { PLUGIN_TIMEOUT_S = 60 };

/* one source's event files, read in order from where the last pass stopped */
typedef struct stream {
	store_file *files;	/* borrowed */
	size_t nfiles, at;
	FILE *fp;
	char *line;
	size_t cap;
	off_t off;		/* in the current file, after the pending event */
	jv pending;
	int64_t us;
} stream;

typedef struct pass {
	det_ctx *c;
	jv positions;		/* file name -> offset */
	size_t events, skipped;
	size_t unreadable;	/* event files that could not be read: looked at next time */
	FILE *spool;		/* the new events, for custom detectors */
	int64_t from, to;	/* retrospective: only events in [from, to] of one source */
	const char *only;
	jv ids;			/* only these event ids ({id: true}), when valid */
	/*
	 * Taking over a store of the earlier implementation: {source: time} up to which it
	 * looked at each source's events (by ingested_at); those are learned, not judged again
	 */
	jv horizon;
	baseline *b;
	size_t adopted;
} pass;

static const char *
base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static off_t
position(pass *p, const char *path)
{
	jv v = jsonl_get(jv_copy(p->positions), base(path));
	off_t off = jv_get_kind(v) == JV_KIND_NUMBER ? (off_t)jv_number_value(v) : 0;

	jv_free(v);
	return off;
}

/* the next event of a stream into pending; 0 at its end */
static int
advance(pass *p, stream *s)
{
	for (;;) {
		ssize_t n;
		jv v;

		if (!s->fp) {
			struct stat st;

			if (s->at >= s->nfiles)
				return 0;
			s->fp = fopen(s->files[s->at].path, "re");
			if (!s->fp) {
				warnf("cannot read '%s':", s->files[s->at].path);
				p->unreadable++;
				s->at++;
				continue;
			}
			s->off = p->from ? 0 : position(p, s->files[s->at].path);
			if (fstat(fileno(s->fp), &st) == 0 && st.st_size < s->off)
				s->off = 0;	/* replaced or cut since: read again */
			fseeko(s->fp, s->off, SEEK_SET);
		}
		n = getline(&s->line, &s->cap, s->fp);
		if (n <= 0 || s->line[n - 1] != '\n') {	/* the end, or a write in progress */
			if (n < 0 && ferror(s->fp)) {
				warnf("cannot read '%s':", s->files[s->at].path);
				p->unreadable++;
			}
			/* what was passed over (malformed lines) is not read again */
			if (!p->from)
				p->positions = jv_object_set(p->positions,
				    jv_string(base(s->files[s->at].path)), jv_number((double)s->off));
			fclose(s->fp);
			s->fp = NULL;
			s->at++;
			continue;
		}
		s->off += n;
		if (n == 1)
			continue;
		/* a second look wants a few days of a month's file: the others are not parsed */
		if (p->only && !event_line_time(s->line, (size_t)n, &s->us) &&
		    (s->us < p->from || s->us > p->to))
			continue;
		v = jsonl_parse(s->line, (size_t)n);
		/* a NUL (stored before scan refused it) would make a string read as less */
		if (jv_get_kind(v) != JV_KIND_OBJECT || event_time(v, &s->us) ||
		    event_stored_has_nul(v, s->line, (size_t)n)) {
			jv_free(v);
			p->skipped++;
			continue;
		}
		if (memmem(s->line, (size_t)n, "[USER_DATA_", 11))
			v = event_unwrap(v);
		if (jv_is_valid(p->ids) &&
		    !jv_object_has(jv_copy(p->ids), jv_string(event_str(v, "id")))) {
			jv_free(v);
			continue;
		}
		if (p->only && (strcmp(event_str(v, "source"), p->only) || s->us < p->from ||
		    s->us > p->to)) {
			jv_free(v);
			continue;
		}
		s->pending = v;
		return 1;
	}
}

/* an event the earlier implementation had looked at already (see pass.horizon) */
static int
seen_before(const pass *p, jv ev)
{
	jv h;
	int64_t at;
	int yes;

	if (!jv_is_valid(p->horizon))
		return 0;
	h = jv_object_get(jv_copy(p->horizon), jv_string(event_str(ev, "source")));
	yes = jv_get_kind(h) == JV_KIND_NUMBER && !ts_parse(event_str(ev, "ingested_at"), &at) &&
	    at <= (int64_t)jv_number_value(h);
	jv_free(h);
	return yes;
}

/* every new event, in time order across sources, through the detectors */
static void
run_pass(pass *p, store_file *files, size_t nf)
{
	stream *ss = xcalloc(nf ? nf : 1, sizeof *ss);
	size_t ns = 0;

	for (size_t i = 0; i < nf;) {
		size_t j = i + 1;

		while (j < nf && files[i].source && files[j].source &&
		    !strcmp(files[i].source, files[j].source))
			j++;
		memset(&ss[ns], 0, sizeof ss[ns]);
		ss[ns].files = files + i;
		ss[ns].nfiles = j - i;
		ss[ns].pending = jv_invalid();
		if (advance(p, &ss[ns]))
			ns++;
		else
			free(ss[ns].line);
		i = j;
	}
	while (ns) {
		size_t k = 0;

		for (size_t i = 1; i < ns; i++)
			if (ss[i].us < ss[k].us)
				k = i;
		if (seen_before(p, ss[k].pending)) {
			jv ev = ss[k].pending;

			baseline_learn(p->b, ev, event_str(ev, "source"), event_str(ev, "event_type"),
			    event_str(ev, "actor"), event_str(ev, "action"), event_str(ev, "target"),
			    ss[k].us);
			jv_free(ev);
			p->adopted++;
		} else {
			if (p->spool)
				jsonl_put(p->spool, jv_copy(ss[k].pending));
			p->events++;
			det_feed(p->c, ss[k].pending);
		}
		ss[k].pending = jv_invalid();
		if (!p->from)
			p->positions = jv_object_set(p->positions,
			    jv_string(base(ss[k].files[ss[k].at].path)), jv_number((double)ss[k].off));
		if (!advance(p, &ss[k])) {
			free(ss[k].line);
			ss[k] = ss[--ns];
		}
	}
	free(ss);
}

/* custom detectors: plugins/detectors/NAME/, events on stdin, findings on stdout */
static jv
run_plugins(det_ctx *c, const char *root, const char *spool_path, const char *baseline_path,
    jv conf)
{
	char *dir = xasprintf("%s/plugins/detectors", root);
	jv errors = jv_object();
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *sub = xasprintf("%s/%s", dir, name);
		struct stat sb;
		int isdir = stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode);

		free(sub);
		/* a README or a disabled "_old" beside the plugins is not one */
		if (!isdir || *name == '.' || *name == '_')
			continue;
		jv env = jv_array(), dc = jsonl_get(jv_copy(conf), name);
		char *err = NULL, *prog = plugin_find(root, "detectors", name, &env, &err);
		char *envp[64] = {0};
		int in, out, errfd, k = 0;
		proc pr = {0};

		if (jv_get_kind(jsonl_get(jv_copy(dc), "enabled")) == JV_KIND_FALSE || !prog) {
			if (err)
				errors = jv_object_set(errors, jv_string(name), jv_string(err));
			free(err);
			free(prog);
			jv_free(env);
			jv_free(dc);
			continue;
		}
		envp[k++] = xasprintf("PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
		envp[k++] = xasprintf("MALLCOP_BASELINE=%s", baseline_path);
		envp[k++] = xasprintf("MALLCOP_DIR=%s", root);
		if (getenv("MALLCOP_NOW"))
			envp[k++] = xasprintf("MALLCOP_NOW=%s", getenv("MALLCOP_NOW"));
		{
			jv dconf = jv_dump_string(jv_get_kind(dc) == JV_KIND_OBJECT ? jv_copy(dc)
			    : jv_object(), 0);

			envp[k++] = xasprintf("MALLCOP_DETECTOR_CONFIG=%s", jv_string_value(dconf));
			jv_free(dconf);
		}
		/* the variables its manifest names, as for connectors */
		jv_array_foreach(env, ei, name_v) {
			(void)ei;
			if (k < 62 && jv_get_kind(name_v) == JV_KIND_STRING &&
			    getenv(jv_string_value(name_v)))
				envp[k++] = xasprintf("%s=%s", jv_string_value(name_v),
				    getenv(jv_string_value(name_v)));
			jv_free(name_v);
		}
		in = open(spool_path, O_RDONLY | O_CLOEXEC);
		out = open(root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (out < 0) {
			char t[] = "/tmp/mallcop-detect.XXXXXX";

			out = mkstemp(t);
			unlink(t);
		}
		errfd = open(root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		{
			jv t = jsonl_get(jv_copy(dc), "timeout");
			int64_t us = (int64_t)PLUGIN_TIMEOUT_S * TS_SECOND;

			if (jv_get_kind(t) == JV_KIND_NUMBER)
				us = (int64_t)(jv_number_value(t) * 1e6);
			else if (jv_get_kind(t) == JV_KIND_STRING && ts_window(jv_string_value(t), &us))
				us = 0;
			if (jv_is_valid(t) && us < TS_SECOND)
				err = xasprintf("detectors.%s.timeout: expected a duration of at least "
				    "1s, like 30 or 2m", name);
			pr.timeout_ms = (long)(us / 1000);
			jv_free(t);
		}
		if (!err) {
			char *argv[] = {prog, NULL};
			proc *pp = &pr;

			if (proc_spawn(&pr, argv, envp, in, out, errfd, &err) == 0)
				proc_wait(&pp, 1);
		}
		if (!err && !proc_ok(&pr)) {
			char *how = proc_describe(&pr), tail[512] = "";
			ssize_t got;

			/* the end of what it said on stderr, on one line */
			if (errfd >= 0 && (got = pread(errfd, tail, sizeof tail - 1,
			    lseek(errfd, 0, SEEK_END) > (off_t)sizeof tail - 1
			    ? lseek(errfd, 0, SEEK_END) - (off_t)sizeof tail + 1 : 0)) > 0) {
				tail[got] = 0;
				for (char *q = tail; *q; q++)
					if (*q == '\n' || *q == '\r')
						*q = ' ';
				while (got > 0 && tail[got - 1] == ' ')
					tail[--got] = 0;
			}
			err = xasprintf("detector '%s' %s%s%s; its findings were dropped", name, how,
			    *tail ? ": " : "", tail);
			free(how);
		}
		if (errfd >= 0)
			close(errfd);
		if (!err) {
			FILE *f = fdopen(dup(out), "r");
			jsonl r;
			jv v;
			size_t bad = 0;

			rewind(f);
			jsonl_init(&r, f, name);
			r.quiet = 1;
			while (jsonl_next(&r, &v)) {
				char *why;

				if (det_take(c, v, name, &why))
					bad++;
			}
			bad += r.skipped;
			jsonl_done(&r);
			fclose(f);
			if (bad)
				err = xasprintf("detector '%s' printed %zu lines that are not findings "
				    "(JSON objects with title and severity)", name, bad);
		}
		if (err) {
			errors = jv_object_set(errors, jv_string(name), jv_string(err));
			free(err);
		}
		if (in >= 0)
			close(in);
		close(out);
		for (int j = 0; j < k; j++)
			free(envp[j]);
		free(prog);
		jv_free(env);
		jv_free(dc);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	jv_free(conf);
	return errors;
}

static void
print_human(jv changed, size_t made, size_t updated, jv learning)
{
	static const char *order[] = {"critical", "warn"};
	size_t info = 0;

	printf("Detect: %zu new findings, %zu updated\n", made, updated);
	if (jv_array_length(jv_copy(learning))) {
		printf("Learning (findings are info until 14 days of history): ");
		jv_array_foreach(learning, i, s) {
			printf("%s", i ? ", " : "");
			human_put(stdout, jv_string_value(s));
			jv_free(s);
		}
		putchar('\n');
	}
	/* info is for the record (a source still learning, say): counted, not listed */
	jv_array_foreach(changed, i, f) {
		(void)i;
		info += !strcmp(event_str(f, "severity"), "info");
		jv_free(f);
	}
	for (int o = 0; o < 2; o++)
		jv_array_foreach(changed, i, f) {
			(void)i;
			if (!strcmp(event_str(f, "severity"), order[o])) {
				printf("  %-8s %-24s ", order[o], event_str(f, "detector"));
				human_field(stdout, f, "title", NULL);
				printf("  [%s]\n", event_str(f, "id"));
			}
			jv_free(f);
		}
	if (info)
		printf("  and %zu info findings (see 'mallcop detect --jsonl' or findings.jsonl)\n",
		    info);
	jv_free(learning);
	jv_free(changed);
}

/*
 * The fingerprints of the earlier implementation's findings (which have none): our detectors
 * are run over each finding's events against an empty baseline, as when it was raised, and a
 * finding of the same detector that shares an event with one of theirs takes its fingerprint.
 * An acknowledged one is acknowledged in the baseline too. conf is consumed. The number
 * fingerprinted.
 */
static size_t
fingerprint_earlier(baseline *b, jv conf, jv *findings, store_file *files, size_t nf)
{
	jv ids = jv_object(), byid = jv_object(), derived, ch, sum;
	baseline eb;
	det_ctx *dc;
	char *err = NULL;
	size_t n = 0, m, u;

	jv_array_foreach(*findings, i, f) {
		jv e = jsonl_get(jv_copy(f), "event_ids");

		if (!*event_str(f, "fingerprint") && jv_get_kind(e) == JV_KIND_ARRAY)
			jv_array_foreach(e, j, id) {
				(void)j;
				if (jv_get_kind(id) == JV_KIND_STRING) {
					jv at = jsonl_get(jv_copy(byid), jv_string_value(id));

					if (jv_get_kind(at) != JV_KIND_ARRAY) {
						jv_free(at);
						at = jv_array();
					}
					ids = jv_object_set(ids, jv_copy(id), jv_true());
					byid = jv_object_set(byid, id, jv_array_append(at, jv_number(i)));
				} else {
					jv_free(id);
				}
			}
		jv_free(e);
		jv_free(f);
	}
	if (!jv_object_length(jv_copy(ids))) {
		jv_free(ids);
		jv_free(byid);
		jv_free(conf);
		return 0;
	}
	baseline_init(&eb, b->window_days);
	if (!(dc = det_open(&eb, NULL, conf, jv_array(), 0, &err))) {
		free(err);	/* the pass that follows says what is wrong */
		baseline_free(&eb);
		jv_free(ids);
		jv_free(byid);
		return 0;
	}
	{
		pass dp = {.c = dc, .positions = jv_object(), .from = 1, .ids = ids};

		run_pass(&dp, files, nf);
		jv_free(dp.positions);
		jv_free(dp.ids);
	}
	det_close(dc, &derived, &ch, &m, &u, &sum);
	jv_free(ch);
	jv_free(sum);
	jv_array_foreach(derived, i, d) {
		jv e = jsonl_get(jv_copy(d), "event_ids");

		(void)i;
		if (jv_get_kind(e) == JV_KIND_ARRAY)
			jv_array_foreach(e, j, id) {
				jv at = jv_get_kind(id) == JV_KIND_STRING
				    ? jv_object_get(jv_copy(byid), jv_copy(id)) : jv_invalid();

				(void)j;
				if (jv_get_kind(at) == JV_KIND_ARRAY)
					jv_array_foreach(at, x, k) {
						int fi = (int)jv_number_value(k);
						jv f = jv_array_get(jv_copy(*findings), fi);

						(void)x;
						if (!*event_str(f, "fingerprint") && streq(event_str(f,
						    "detector"), event_str(d, "detector"))) {
							if (streq(event_str(f, "status"), "acked"))
								baseline_ack(b, event_str(d, "detector"),
								    event_str(d, "fingerprint"));
							f = jv_object_set(f, jv_string("fingerprint"),
							    jv_string(event_str(d, "fingerprint")));
							*findings = jv_array_set(*findings, fi, jv_copy(f));
							n++;
						}
						jv_free(f);
						jv_free(k);
					}
				jv_free(at);
				jv_free(id);
			}
		jv_free(e);
		jv_free(d);
	}
	jv_free(derived);
	jv_free(byid);
	baseline_free(&eb);
	return n;
}

/*
 * The first pass over a store of the earlier (Python) implementation, whose baseline.json has
 * counts without their days. Its checkpoints.yaml says when it last looked at each source
 * (SOURCE:learning_mode_was_active, updated_at): the events it had stored by then are learned
 * again, day by day, and not judged again; the later ones are judged. What it knew (actors,
 * roles) is kept; a source it had taken out of learning mode has had its retrospective.
 * Returns the horizon ({source: time}) and the number of findings fingerprinted.
 */
static jv
take_over(store *st, baseline *b, jv conf, jv *findings, size_t *fingerprinted, char **err)
{
	jv cps = store_checkpoints(st, err), horizon = jv_object(), done = jv_object();
	store_file *files;
	size_t nf;

	if (*err) {
		/* what the earlier version looked at is unknown: nothing is judged or taken over */
		jv_free(cps), jv_free(horizon), jv_free(done), jv_free(conf);
		return jv_invalid();
	}
	if (jv_get_kind(cps) != JV_KIND_OBJECT) {
		jv_free(cps);
		cps = jv_object();
	}
	jv_object_foreach(cps, k, v) {
		const char *key = jv_string_value(k), *suffix = ":learning_mode_was_active";
		size_t kl = strlen(key), sl = strlen(suffix);
		int64_t us;

		if (kl > sl && streq(key + kl - sl, suffix) &&
		    !ts_from_jv(jsonl_get(jv_copy(v), "updated_at"), &us)) {
			jv src = jv_string_sized(key, (int)(kl - sl));
			char *rk = xasprintf("%s:retrospective_done", jv_string_value(src));
			jv rd = jsonl_get(jsonl_get(jv_copy(cps), rk), "value");
			jv was = jsonl_get(jv_copy(v), "value");

			horizon = jv_object_set(horizon, jv_copy(src), jv_number((double)us));
			/* it runs one when a source it saw learning leaves learning */
			if (!(jv_get_kind(was) == JV_KIND_STRING && streq(jv_string_value(was), "true")) ||
			    (jv_get_kind(rd) == JV_KIND_STRING && streq(jv_string_value(rd), "true")))
				done = jv_object_set(done, jv_copy(src), jv_true());
			jv_free(rd);
			jv_free(was);
			jv_free(src);
			free(rk);
		}
		jv_free(k);
		jv_free(v);
	}
	jv_free(cps);
	baseline_relearn(b);
	baseline_set_state(b, "mallcop-detect", jv_object_set(jv_object(),
	    jv_string("retrospective_done"), done));
	nf = store_event_files(st, 0, &files, err);
	if (*err) {
		jv_free(conf);
		jv_free(horizon);
		return jv_invalid();
	}
	*fingerprinted = fingerprint_earlier(b, conf, findings, files, nf);
	store_files_free(files, nf);
	return horizon;
}

/* the stored open findings, read as a pass meets them */
typedef struct lookup {
	finding_log *log;
	int textout;
} lookup;

static jv
stored_open(void *arg, const char *detector, const char *fingerprint)
{
	lookup *lk = arg;
	char *err = NULL;
	jv f = finding_log_get(lk->log, detector, fingerprint, &err);

	if (err)
		cli_fail(EXIT_WORK, lk->textout, "%s", err);
	return f;
}

/* the filter: events on stdin, findings on stdout, nothing stored */
static int
filter(const char *baseline_path, const char *config_path)
{
	baseline b;
	char *err = NULL;
	jv conf = jv_object(), all, changed, summary, reasons = jv_object();
	size_t made, updated, max_bytes, rejected = 0;
	det_ctx *c;
	jsonl in;
	jv ev;

	if (baseline_path && access(baseline_path, R_OK))
		die(EXIT_WORK, "cannot read baseline '%s':", baseline_path);
	if (baseline_path && baseline_load(&b, baseline_path, 30, &err))
		die(EXIT_WORK, "%s", err);
	if (!baseline_path)
		baseline_init(&b, 30);
	if (config_path) {
		cfg cf;

		if (cfg_load_file(&cf, config_path, &err) || event_max_bytes(&cf, &max_bytes, &err))
			die(EXIT_WORK, "%s", err);
		jv_free(conf);
		conf = cfg_get(&cf, "detectors");
		if (!jv_is_valid(conf))
			conf = jv_object();
		cfg_free(&cf);
	} else if (event_max_bytes(NULL, &max_bytes, &err)) {
		die(EXIT_WORK, "%s", err);
	}
	if (!(c = det_open(&b, NULL, conf, jv_array(), 0, &err)))
		die(EXIT_WORK, "%s", err);
	jsonl_init(&in, stdin, "stdin");
	in.max = max_bytes;
	while (jsonl_next(&in, &ev)) {
		jv n;
		const char *why;

		/* what a connector would print is as good as a stored event */
		if (event_normalize(ev, "stdin", ts_now(), &n, &why)) {
			if (rejected++ < 3)
				warnf("stdin:%zu: not an event: %s", in.lineno, why);
			reasons = event_count_reason(reasons, why, 1);
			continue;
		}
		det_feed(c, n);
	}
	if (in.oversize) {
		rejected += in.oversize;
		reasons = event_count_reason(reasons, EVENT_TOO_LARGE, in.oversize);
	}
	if (rejected) {
		jv s = jv_dump_string(reasons, 0);

		warnf("stdin: %zu records rejected: %s", rejected, jv_string_value(s));
		jv_free(s);
	} else {
		jv_free(reasons);
	}
	jsonl_done(&in);
	det_close(c, &all, &changed, &made, &updated, &summary);
	jv_array_foreach(changed, i, f) {
		(void)i;
		jsonl_put(stdout, f);
	}
	jv_free(changed);
	jv_free(all);
	jv_free(summary);
	baseline_free(&b);
	return fshut(stdout, "stdout") ? EXIT_WORK : 0;
}

/* the newest change among the deployment's own files (not the store, not .git) */
static void
newest(const char *dir, int depth, int64_t *max)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat sb;
		char *path;

		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".git") || !strcmp(de->d_name, ".mallcop")))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(path, &sb) == 0) {
			int64_t t = (int64_t)sb.st_mtim.tv_sec * TS_SECOND + sb.st_mtim.tv_nsec / 1000;

			if (t > *max)
				*max = t;
			if (S_ISDIR(sb.st_mode) && depth < 16)
				newest(path, depth + 1, max);
		}
		free(path);
	}
	closedir(d);
}

/*
 * The note of the last pass (.mallcop/detect.json): where it stopped, what it printed, how new
 * the deployment's files were. When no event file grew, no file of the deployment changed and
 * no custom detector waits, a pass would find nothing: the note answers without loading the
 * baseline. The note is written after the baseline, so it never claims more than it holds.
 * A note or an events directory that is there but cannot be read is an error (-1).
 */
static int
nothing_new(store *st, const char *root, jv *result, char **err)
{
	char *path = xasprintf("%s/detect.json", st->dir), *text = store_read(path, NULL, err);
	jv note = text ? jv_parse(text) : jv_invalid(), pos, mt;
	store_file *files;
	size_t nf;
	int same = 1;
	int64_t tree = 0;
	struct stat sb;
	char *pd = xasprintf("%s/plugins/detectors", root);

	free(text);
	free(path);
	if (jv_get_kind(note) != JV_KIND_OBJECT || stat(pd, &sb) == 0) {
		free(pd);
		jv_free(note);
		return *err ? -1 : 0;
	}
	free(pd);
	pos = jsonl_get(jv_copy(note), "positions");
	if (!(nf = store_event_files(st, 0, &files, err)) && *err)
		same = 0;
	for (size_t i = 0; i < nf && same; i++) {
		jv at = jsonl_get(jv_copy(pos), base(files[i].path));

		same = stat(files[i].path, &sb) == 0 && jv_get_kind(at) == JV_KIND_NUMBER &&
		    (off_t)jv_number_value(at) == sb.st_size;
		jv_free(at);
	}
	store_files_free(files, nf);
	newest(root, 0, &tree);
	mt = jsonl_get(jv_copy(note), "tree");
	same = same && jv_get_kind(mt) == JV_KIND_NUMBER &&
	    jsonl_int(jv_copy(mt), INT64_MIN, INT64_MAX, 0) == tree;
	if (same) {
		/* a source still learning may leave it by the clock alone: that needs a pass */
		*result = jsonl_get(jv_copy(note), "result");
		same = jv_get_kind(*result) == JV_KIND_OBJECT &&
		    jv_array_length(jsonl_get(jv_copy(*result), "learning_connectors")) == 0;
		if (!same)
			jv_free(*result);
	}
	jv_free(mt);
	jv_free(pos);
	jv_free(note);
	return *err ? -1 : same;
}

static void
save_note(store *st, int64_t tree, jv positions, jv result)
{
	char *path = xasprintf("%s/detect.json", st->dir), *err = NULL;
	jv note = jv_object(), text;

	note = jv_object_set(note, jv_string("positions"), positions);
	note = jv_object_set(note, jv_string("tree"), jv_number((double)tree));
	note = jv_object_set(note, jv_string("result"), result);
	text = jv_dump_string(note, 0);
	if (store_replace(path, jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)),
	    &err)) {
		warnf("%s", err);
		free(err);
	}
	jv_free(text);
	free(path);
}


/* one run of mallcop-detect over a deployment */
typedef struct run {
	const char *dir;
	int human, jsonl_out, textout;
	long wait_ms;
	char real[PATH_MAX];
	cfg cf;
	store st;
	jv conf;		/* detectors: of mallcop.yaml */
	long window;
	baseline b;
	char *bpath;
	int64_t tree;		/* the newest file of the deployment, before the pass */
	det_ctx *dc;
	pass p;
	lookup lk;
	jv state;		/* detector_state["mallcop-detect"] */
	char *spool_path, *before;
	jv findings;		/* the stored findings, when they are read whole */
	size_t skipped, fingerprinted, made, updated;
	jv all, changed, summary, learning, errors;
} run;

static const char *baseline_arg, *config_arg;	/* the filter mode's */

/* flags; 1 for the filter mode */
static int
parse_args(run *r, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"jsonl", no_argument, NULL, 'j'},
		{"human", no_argument, NULL, 'u'},
		{"wait", optional_argument, NULL, 'w'},
		{"baseline", required_argument, NULL, 'b'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	r->wait_ms = 2000;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': r->dir = optarg; break;
		case 'j': r->jsonl_out = 1; break;
		case 'u': r->human = 1; break;
		case 'w': r->wait_ms = cli_wait_ms(optarg); break;
		case 'b': baseline_arg = optarg; break;
		case 'c': config_arg = optarg; break;
		case 'h':
			puts(usage);
			exit(0);
		default:
			fprintf(stderr, "%s\n", usage);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc && !strcmp(argv[optind], "-") && optind + 1 == argc)
		return 1;
	if (optind < argc) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	}
	if (baseline_arg || config_arg) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "--baseline and --config go with '-' (the filter mode)");
	}
	r->human = cli_output(r->human, r->jsonl_out, usage);
	r->textout = r->human || r->jsonl_out;
	return 0;
}

/* the deployment, its settings, and the writer's lock */
static void
open_deployment(run *r)
{
	char *err = NULL;
	int c;

	if (!realpath(store_root(r->dir), r->real))
		cli_fail(EXIT_WORK, r->textout, "cannot open deployment '%s': %s",
		    store_root(r->dir), strerror(errno));
	if (cfg_load(&r->cf, r->real, &err))
		cli_fail(EXIT_WORK, r->textout, "%s", err);
	/* custom detectors run in the deployment, and die with us */
	if (chdir(r->real))
		cli_fail(EXIT_WORK, r->textout, "cannot enter '%s': %s", r->real, strerror(errno));
	proc_forward_signals();
	if (cfg_int(&r->cf, "baseline.window_days", 30, 1, 3650, &r->window, &err))
		cli_fail(EXIT_WORK, r->textout, "%s", err);
	r->conf = cfg_get(&r->cf, "detectors");
	if (!jv_is_valid(r->conf) || jv_get_kind(r->conf) == JV_KIND_NULL) {
		jv_free(r->conf);
		r->conf = jv_object();
	} else if (jv_get_kind(r->conf) != JV_KIND_OBJECT) {
		char *where = cfg_where(&r->cf, "detectors");

		cli_fail(EXIT_WORK, r->textout,
		    "%s: detectors: expected a mapping of detector names", where);
	}
	if (store_open(&r->st, r->real, 1, &err))
		cli_fail(EXIT_WORK, r->textout, "%s", err);
	if ((c = store_lock(&r->st, r->wait_ms, &err)))
		cli_fail(c > 0 ? EXIT_LOCKED : EXIT_WORK, r->textout, "%s", err);
}

/* when the note of the last pass answers, print its answer: 1 and *rc */
static int
answered_by_note(run *r, int *rc)
{
	char *err = NULL;
	jv quick;
	int c;

	if ((c = nothing_new(&r->st, r->real, &quick, &err)) < 0)
		cli_fail(EXIT_WORK, r->textout, "%s", err);
	if (!c)
		return 0;
	quick = jv_object_set(quick, jv_string("findings_count"), jv_number(0));
	quick = jv_object_set(quick, jv_string("new_findings"), jv_number(0));
	quick = jv_object_set(quick, jv_string("updated_findings"), jv_number(0));
	quick = jv_object_set(quick, jv_string("summary"), jv_object());
	quick = jv_object_set(quick, jv_string("events_examined"), jv_number(0));
	quick = jv_object_delete(quick, jv_string("taken_over"));
	jv_free(r->conf);
	cfg_free(&r->cf);
	store_close(&r->st);
	if (r->jsonl_out)
		jv_free(quick);
	else if (r->human)
		print_human(jv_array(), 0, 0, jsonl_get(quick, "learning_connectors"));
	*rc = r->jsonl_out || r->human ? (fshut(stdout, "stdout") ? EXIT_WORK : 0)
	    : cli_emit(quick);
	return 1;
}

/*
 * The baseline, and the stored findings: an earlier implementation's are read whole and get
 * fingerprints; ours are read as the pass meets their fingerprints (findings_log)
 */
static void
load_state(run *r)
{
	char *err = NULL;

	/* taken before the pass: a change made while it runs is seen by the next one */
	newest(r->real, 0, &r->tree);
	r->bpath = xasprintf("%s/baseline.json", r->st.dir);
	if (baseline_load(&r->b, r->bpath, (int)r->window, &err))
		cli_fail(EXIT_WORK, r->textout, "%s", err);
	r->findings = jv_array();
	r->p.horizon = jv_invalid();
	if (baseline_from_earlier(&r->b)) {
		jv_free(r->findings);
		if (!jv_is_valid(r->findings = store_findings(&r->st, &r->skipped, &err)) ||
		    !jv_is_valid(r->p.horizon = take_over(&r->st, &r->b, jv_copy(r->conf),
		    &r->findings, &r->fingerprinted, &err)))
			cli_fail(EXIT_WORK, r->textout, "%s", err);
	} else if (!(r->lk.log = finding_log_open(&r->st, &err))) {
		cli_fail(EXIT_WORK, r->textout, "%s", err);
	}
	r->lk.textout = r->textout;
	r->p.b = &r->b;
}

/* a misspelled name would leave a detector on that was meant to be off */
static void
warn_unknown_detectors(run *r)
{
	jv_object_foreach(r->conf, k, v) {
		int known = 0;

		for (size_t i = 0; i < det_nbuiltin; i++)
			known |= det_builtin[i] && !strcmp(det_builtin[i]->name, jv_string_value(k));
		if (!known) {
			char *pd = xasprintf("%s/plugins/detectors/%s", r->real, jv_string_value(k));
			struct stat sb;

			known = stat(pd, &sb) == 0;
			free(pd);
		}
		if (!known) {
			char *where = cfg_where(&r->cf, "detectors");

			warnf("%s: detectors.%s: no such detector, built in or in plugins/detectors/",
			    where, jv_string_value(k));
			free(where);
		}
		jv_free(k);
		jv_free(v);
	}
}

/* the detectors, built in, declarative and custom, and where the last pass stopped */
static void
open_pass(run *r)
{
	char *err = NULL;

	if (!(r->dc = det_open(&r->b, r->real, jv_copy(r->conf), r->findings, 1, &err))) {
		/* "detectors.NAME.KEY: expected ...": the line of the key, else of the detector */
		char *key = strndup(err, strcspn(err, ": ")), *where = cfg_where(&r->cf, key);

		if (!strchr(where, ':') && strrchr(key, '.')) {
			free(where);
			*strrchr(key, '.') = 0;
			where = cfg_where(&r->cf, key);
		}
		cli_fail(EXIT_WORK, r->textout, "%s: %s", where, err);
	}
	r->findings = jv_invalid();
	if (r->lk.log)
		det_lookup(r->dc, stored_open, &r->lk);
	if (rules_load(r->dc, r->real, &err))
		cli_fail(EXIT_WORK, r->textout, "%s", err);
	warn_unknown_detectors(r);

	/* where the last pass stopped, kept in the baseline: both are written in one rename */
	r->state = baseline_state(&r->b, "mallcop-detect");
	if (jv_get_kind(r->state) != JV_KIND_OBJECT) {
		jv_free(r->state);
		r->state = jv_object();
	}
	r->p.c = r->dc;
	r->p.positions = jsonl_get(jv_copy(r->state), "positions");
	if (jv_get_kind(r->p.positions) != JV_KIND_OBJECT) {
		jv_free(r->p.positions);
		r->p.positions = jv_object();
	}
}

/* the events since the last pass, through every detector; custom ones get them spooled */
static void
look_at_new_events(run *r, store_file *files, size_t nf)
{
	char *err = NULL, *pd = xasprintf("%s/plugins/detectors", r->real);
	struct stat sb;

	if (stat(pd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		int fd;

		r->spool_path = xasprintf("%s/detect-events.tmp", r->st.dir);
		fd = open(r->spool_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		r->p.spool = fd >= 0 ? fdopen(fd, "w") : NULL;
	}
	free(pd);
	/* custom detectors see the baseline as it was before these events */
	if (r->p.spool) {
		r->before = xasprintf("%s/detect-baseline.tmp", r->st.dir);
		if (baseline_save(&r->b, r->before, &err))
			cli_fail(EXIT_WORK, r->textout, "%s", err);
	}
	run_pass(&r->p, files, nf);
	r->errors = jv_object();
	if (r->p.spool) {
		fclose(r->p.spool);
		jv_free(r->errors);
		r->errors = run_plugins(r->dc, r->real, r->spool_path, r->before, jv_copy(r->conf));
		unlink(r->spool_path);
		unlink(r->before);
	}
}

/*
 * A source whose learning period ended: its first fourteen days are looked at once more,
 * against the baseline those days built, at full severity.
 */
static void
look_back_at_learning(run *r, store_file *files, size_t nf)
{
	jv done = jsonl_get(jv_copy(r->state), "retrospective_done"), srcs;
	int64_t now = ts_now();

	if (jv_get_kind(done) != JV_KIND_OBJECT) {
		jv_free(done);
		done = jv_object();
	}
	srcs = baseline_sources(&r->b);
	jv_array_foreach(srcs, i, s) {
		int64_t first = baseline_first_seen(&r->b, jv_string_value(s));

		(void)i;
		if (first && !baseline_learning(&r->b, jv_string_value(s), now) &&
		    !jv_object_has(jv_copy(done), jv_copy(s))) {
			pass rp = {.c = r->dc, .positions = jv_object(), .from = first,
			    .to = first + (int64_t)BASELINE_LEARNING_DAYS * 86400 * TS_SECOND,
			    .only = jv_string_value(s)};

			/* only that source's files of the months of its learning period */
			store_file *sel = xcalloc(nf ? nf : 1, sizeof *sel);
			size_t ns = 0;

			for (size_t f = 0; f < nf; f++)
				if (!files[f].source || (!strcmp(files[f].source,
				    jv_string_value(s)) && files[f].month >= ts_month(rp.from) &&
				    files[f].month <= ts_month(rp.to)))
					sel[ns++] = files[f];
			det_retrospective(r->dc, 1);
			run_pass(&rp, sel, ns);
			det_retrospective(r->dc, 0);
			free(sel);
			jv_free(rp.positions);
			done = jv_object_set(done, jv_copy(s), jv_true());
		}
		jv_free(s);
	}
	jv_free(srcs);
	r->state = jv_object_set(r->state, jv_string("retrospective_done"), done);
}

/* the findings made and changed; the window slid; where this pass stopped */
static void
close_pass(run *r)
{
	jv srcs;

	det_close(r->dc, &r->all, &r->changed, &r->made, &r->updated, &r->summary);
	baseline_slide(&r->b, ts_now());
	r->state = jv_object_set(r->state, jv_string("positions"), jv_copy(r->p.positions));
	baseline_set_state(&r->b, "mallcop-detect", r->state);
	r->learning = jv_array();
	srcs = baseline_sources(&r->b);
	jv_array_foreach(srcs, i, s) {
		(void)i;
		if (baseline_learning(&r->b, jv_string_value(s), ts_now()))
			r->learning = jv_array_append(r->learning, s);
		else
			jv_free(s);
	}
	jv_free(srcs);
}

/*
 * Findings first: a crash before the baseline is written means the events are looked at
 * again, and their findings merge into the ones just written
 */
static void
save_store(run *r)
{
	char *err = NULL;

	if (r->lk.log) {
		if (finding_log_append(r->lk.log, jv_copy(r->changed), &err))
			cli_fail(EXIT_WORK, r->textout, "%s", err);
		finding_log_close(r->lk.log);
		jv_free(r->all);
	} else if (r->made || r->updated || r->fingerprinted) {
		if (r->skipped) {
			/* lines that do not parse are not ours to drop: the file is kept beside */
			char *from = xasprintf("%s/findings.jsonl", r->st.dir);
			char *to = xasprintf("%s/findings.jsonl.unreadable-%lld", r->st.dir,
			    (long long)(ts_now() / TS_SECOND));

			if (link(from, to) == 0)
				warnf("findings.jsonl had %zu lines that are not findings; the file "
				    "as it was is kept in '%s'", r->skipped, to);
			free(from);
			free(to);
		}
		if (finding_save(&r->st, r->all, &err))
			cli_fail(EXIT_WORK, r->textout, "%s", err);
	} else {
		jv_free(r->all);
	}
	if (baseline_save(&r->b, r->bpath, &err))
		cli_fail(EXIT_WORK, r->textout, "%s", err);
}

/* the result object of the command reference */
static jv
result(run *r)
{
	jv out = cli_result(), stats;

	if (jv_object_length(jv_copy(r->errors)) || r->p.unreadable)
		out = jv_object_set(out, jv_string("status"), jv_string("error"));
	out = jv_object_set(out, jv_string("findings_count"),
	    jv_number((double)(r->made + r->updated)));
	out = jv_object_set(out, jv_string("new_findings"), jv_number((double)r->made));
	out = jv_object_set(out, jv_string("updated_findings"), jv_number((double)r->updated));
	out = jv_object_set(out, jv_string("summary"), r->summary);
	out = jv_object_set(out, jv_string("learning_connectors"), jv_copy(r->learning));
	stats = jv_object_delete(baseline_stats(&r->b), jv_string("events"));
	out = jv_object_set(out, jv_string("baseline"), stats);
	out = jv_object_set(out, jv_string("events_examined"), jv_number((double)r->p.events));
	if (jv_is_valid(r->p.horizon)) {
		jv t = jv_object_set(jv_object(), jv_string("events_learned"),
		    jv_number((double)r->p.adopted));

		t = jv_object_set(t, jv_string("findings_fingerprinted"),
		    jv_number((double)r->fingerprinted));
		out = jv_object_set(out, jv_string("taken_over"), t);
	}
	jv_free(r->p.horizon);
	out = jv_object_set(out, jv_string("skipped_lines"),
	    jv_number((double)(r->p.skipped + r->skipped)));
	if (jv_object_length(jv_copy(r->errors)))
		out = jv_object_set(out, jv_string("detector_errors"), jv_copy(r->errors));
	return out;
}

/* the result as asked (JSON, the changed findings as JSONL, or text); the exit status */
static int
report(run *r, jv out)
{
	int rc;

	jv_object_foreach(r->errors, k, v) {
		warnf("%s", jv_string_value(v));
		jv_free(k);
		jv_free(v);
	}
	rc = jv_object_length(jv_copy(r->errors)) || r->p.unreadable ? EXIT_WORK : 0;
	jv_free(r->errors);
	/* the note answers the next run only for a pass that went well */
	if (!rc)
		save_note(&r->st, r->tree, r->p.positions, jv_copy(out));
	else
		jv_free(r->p.positions);
	if (r->jsonl_out) {
		jv_array_foreach(r->changed, i, f) {
			(void)i;
			jsonl_put(stdout, f);
		}
		jv_free(r->changed);
		jv_free(r->learning);
		out = jv_dump_string(out, 0);	/* as scan --jsonl does */
		fprintf(stderr, "%s: %s\n", argv0, jv_string_value(out));
		jv_free(out);
		if (fshut(stdout, "stdout"))
			rc = EXIT_WORK;
	} else if (r->human) {
		print_human(r->changed, r->made, r->updated, r->learning);
		jv_free(out);
		if (fshut(stdout, "stdout"))
			rc = EXIT_WORK;
	} else {
		jv_free(r->changed);
		jv_free(r->learning);
		if (cli_emit(out))
			rc = EXIT_WORK;
	}
	return rc;
}

static void
run_free(run *r)
{
	free(r->spool_path);
	free(r->before);
	free(r->bpath);
	jv_free(r->conf);
	baseline_free(&r->b);
	cfg_free(&r->cf);
	store_close(&r->st);
}

int
main(int argc, char **argv)
{
	static run r;
	store_file *files;
	size_t nf;
	char *err = NULL;
	int rc;

	setargv0(argv[0]);
	if (parse_args(&r, argc, argv))
		return filter(baseline_arg, config_arg);
	open_deployment(&r);
	if (answered_by_note(&r, &rc))
		return rc;
	load_state(&r);
	open_pass(&r);
	if (!(nf = store_event_files(&r.st, 0, &files, &err)) && err)
		cli_fail(EXIT_WORK, r.textout, "%s", err);
	look_at_new_events(&r, files, nf);
	look_back_at_learning(&r, files, nf);
	store_files_free(files, nf);
	close_pass(&r);
	save_store(&r);
	rc = report(&r, result(&r));
	run_free(&r);
	return rc;
}
