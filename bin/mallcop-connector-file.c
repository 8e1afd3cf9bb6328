/* mallcop-connector-file: events from JSONL files, stdin or a command's output */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-connector-file [--cursor VALUE | --since TIME] [--source NAME]\n"
    "                              [--command CMD] [PATH | GLOB | -]...";

typedef struct run {
	const char *source;	/* for records that name none */
	int64_t since;		/* skip events before this; 0 = none */
	int64_t now;
	size_t max;		/* longer lines go on unread: mallcop-scan rejects them */
	jv old;			/* the cursor we were given: {"files": {path: {dev, ino, off}}} */
	jv files;		/* the cursor we will print */
	size_t events, rejected, skipped;
	char *command_cursor;	/* the last "cursor:" the command printed */
	int failed;
} run;

/*
 * One record: our shape and the Go shape come out in our shape. A record that cannot be
 * converted goes out as it came, so that mallcop-scan rejects it with its reason and counts it.
 */
static void
emit(run *r, jv rec, const char *name, size_t line)
{
	const char *why;
	jv ev;
	int64_t us;

	if (event_normalize(jv_copy(rec), r->source, r->now, &ev, &why)) {
		warnf("%s:%zu: %s", name, line, why);
		r->rejected++;
		jsonl_put(stdout, rec);
		return;
	}
	jv_free(rec);
	if (r->since && event_time(ev, &us) == 0 && us < r->since) {
		jv_free(ev);
		return;
	}
	/* ingested_at belongs to the store that takes the event in */
	ev = jv_object_delete(ev, jv_string("ingested_at"));
	jsonl_put(stdout, ev);
	r->events++;
}

/* the lines of in as events: one already in the stored form goes out as it is, without
 * ingested_at; any other is read and converted */
static void
read_lines(run *r, jsonl *in, const char *name)
{
	event_line e;
	jv v;

	while (jsonl_line(in)) {
		size_t n = jsonl_text(in);

		if (event_line_parse(in->buf, n, &e)) {
			if (r->since && e.us < r->since)
				continue;
			fwrite(in->buf, 1, e.head, stdout);
			fwrite(in->buf + e.rest, 1, n - e.rest, stdout);
			putc('\n', stdout);
			r->events++;
		} else if (jsonl_value(in, &v)) {
			emit(r, v, name, in->lineno);
		}
	}
}

static void
read_stream(run *r, FILE *f, const char *name)
{
	jsonl in;

	jsonl_init(&in, f, name);
	in.max = r->max;
	in.pass = stdout;
	read_lines(r, &in, name);
	r->skipped += in.skipped;
	r->rejected += in.oversize;
	jsonl_done(&in);
}

/* where to start in a file: the offset of the same file (device and inode) in the old cursor */
static off_t
start_offset(run *r, const char *path, const struct stat *st)
{
	off_t off = -1;
	jv files = jsonl_get(jv_copy(r->old), "files");

	if (jv_get_kind(files) != JV_KIND_OBJECT) {
		jv_free(files);
		files = jv_object();
	}
	jv_object_foreach(files, k, v) {
		jv dev = jsonl_get(jv_copy(v), "dev");
		jv ino = jsonl_get(jv_copy(v), "ino");
		jv o = jsonl_get(jv_copy(v), "off");

		if (off < 0 && jv_get_kind(o) == JV_KIND_NUMBER &&
		    jv_get_kind(dev) == JV_KIND_NUMBER && jv_get_kind(ino) == JV_KIND_NUMBER &&
		    (dev_t)jv_number_value(dev) == st->st_dev &&
		    (ino_t)jv_number_value(ino) == st->st_ino) {
			off = (off_t)jv_number_value(o);
			if (off > st->st_size) {
				warnf("%s: truncated since the last run, reading it again from the "
				    "start", path);
				off = 0;
			} else if (strcmp(jv_string_value(k), path)) {
				warnf("%s: was '%s' (rotated), continuing where it was left",
				    path, jv_string_value(k));
			}
		}
		jv_free(dev), jv_free(ino), jv_free(o), jv_free(k), jv_free(v);
	}
	jv_free(files);
	if (off < 0) {
		jv was = jsonl_get(jsonl_get(jv_copy(r->old), "files"), path);

		if (jv_get_kind(was) == JV_KIND_OBJECT)
			warnf("%s: replaced by a new file since the last run (rotated), reading "
			    "the new one from the start", path);
		jv_free(was);
		off = 0;
	}
	return off;
}

static void
read_file(run *r, const char *path)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	jsonl in;
	off_t off;

	if (!f || fstat(fileno(f), &st)) {
		warnf("cannot open '%s':", path);
		r->failed = 1;
		if (f)
			fclose(f);
		return;
	}
	off = S_ISREG(st.st_mode) ? start_offset(r, path, &st) : 0;
	if (off && fseeko(f, off, SEEK_SET)) {
		warnf("cannot seek in '%s':", path);
		r->failed = 1;
		fclose(f);
		return;
	}
	jsonl_init(&in, f, path);
	in.tail = 1;	/* a line still being written is read next time */
	in.max = r->max;
	in.pass = stdout;
	read_lines(r, &in, path);
	if (ferror(f)) {
		warnf("cannot read '%s':", path);
		r->failed = 1;
	} else if (S_ISREG(st.st_mode)) {
		jv c = jv_object();

		c = jv_object_set(c, jv_string("dev"), jv_number((double)st.st_dev));
		c = jv_object_set(c, jv_string("ino"), jv_number((double)st.st_ino));
		c = jv_object_set(c, jv_string("off"), jv_number((double)(off + (off_t)in.bytes)));
		r->files = jv_object_set(r->files, jv_string(path), c);
	}
	r->skipped += in.skipped;
	r->rejected += in.oversize;
	jsonl_done(&in);
	fclose(f);
}

static void
read_pattern(run *r, const char *pat)
{
	glob_t g;
	int rc;

	if (!strcmp(pat, "-")) {
		read_stream(r, stdin, "stdin");
		return;
	}
	rc = glob(pat, GLOB_ERR, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		if (!strpbrk(pat, "*?[")) {
			warnf("cannot open '%s': No such file or directory", pat);
			r->failed = 1;
		}
	} else if (rc) {
		warnf("cannot list '%s':", pat);
		r->failed = 1;
	} else {
		for (size_t i = 0; i < g.gl_pathc; i++)
			read_file(r, g.gl_pathv[i]);
	}
	if (rc != GLOB_NOMATCH)
		globfree(&g);
}

/* a command's standard output; its own cursor goes to it as MALLCOP_CURSOR next time */
static void
read_command(run *r, const char *cmd)
{
	jv c = jsonl_get(jv_copy(r->old), "command");
	char errpath[] = "/tmp/mallcop-command.XXXXXX", *line = NULL, *wrapped;
	int errfd = mkstemp(errpath), st;
	size_t cap = 0;
	FILE *p, *e;

	if (jv_get_kind(c) == JV_KIND_STRING)
		setenv("MALLCOP_CURSOR", jv_string_value(c), 1);
	else
		unsetenv("MALLCOP_CURSOR");
	jv_free(c);
	if (errfd < 0) {
		warnf("cannot create a temporary file:");
		r->failed = 1;
		return;
	}
	/* its stderr is kept aside: its own "cursor:" line must not pass for ours */
	wrapped = xasprintf("exec 2>'%s'; %s", errpath, cmd);
	fflush(stdout);
	p = popen(wrapped, "re");
	free(wrapped);
	if (!p) {
		warnf("cannot run '%s':", cmd);
		r->failed = 1;
		close(errfd);
		unlink(errpath);
		return;
	}
	read_stream(r, p, "command");
	st = pclose(p);
	if ((e = fdopen(errfd, "r"))) {
		ssize_t n;

		while ((n = getline(&line, &cap, e)) > 0) {
			if (!strncmp(line, "cursor:", 7)) {
				line[strcspn(line, "\n")] = 0;
				free(r->command_cursor);
				r->command_cursor = xstrdup(line + 7 + strspn(line + 7, " \t"));
			} else {
				fputs(line, stderr);
			}
		}
		free(line);
		fclose(e);
	}
	unlink(errpath);
	if (st) {
		warnf("command '%s' failed (%s %d)", cmd,
		    WIFEXITED(st) ? "exit status" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		r->failed = 1;
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"cursor", required_argument, NULL, 'c'},
		{"since", required_argument, NULL, 's'},
		{"source", required_argument, NULL, 'S'},
		{"command", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	run r = {.source = NULL, .old = jv_null(), .files = jv_null()};
	const char *command = NULL, *cfgtext = getenv("MALLCOP_CONNECTOR_CONFIG");
	jv cfg = jv_null(), paths, cfg_source, cfg_command;
	char t[TS_BUFSZ], *err = NULL;
	int c;

	setargv0(argv[0]);
	if (event_max_bytes(NULL, &r.max, &err))
		die(EXIT_USAGE, "%s", err);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			jv_free(r.old);
			r.old = jv_parse(optarg);
			if (jv_get_kind(r.old) != JV_KIND_OBJECT) {
				/* say, a checkpoint of the earlier implementation: reading again is safe */
				warnf("--cursor is not a cursor this connector wrote: reading every "
				    "file from the start (mallcop-scan skips events it already has)");
				jv_free(r.old);
				r.old = jv_null();
			}
			break;
		case 's':
			if (ts_parse(optarg, &r.since))
				die(EXIT_USAGE, "--since '%s' is not an ISO 8601 time", optarg);
			break;
		case 'S':
			r.source = optarg;
			break;
		case 'C':
			command = optarg;
			break;
		case 'h':
			puts(usage);
			return 0;
		default:
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (jv_get_kind(r.old) == JV_KIND_NULL)
		r.old = jv_object();
	r.files = jv_object();
	paths = jv_array();
	cfg = cfgtext && *cfgtext ? jv_parse(cfgtext) : jv_object();
	if (jv_get_kind(cfg) != JV_KIND_OBJECT)
		die(EXIT_USAGE, "MALLCOP_CONNECTOR_CONFIG is not a JSON object");
	/* strings from the configuration live as long as cfg does */
	cfg_source = jsonl_get(jv_copy(cfg), "source");
	cfg_command = jsonl_get(jv_copy(cfg), "command");
	if (!r.source) {
		const char *name = getenv("MALLCOP_CONNECTOR_NAME");

		r.source = jv_get_kind(cfg_source) == JV_KIND_STRING ? jv_string_value(cfg_source)
		    : name && *name ? name : "file";
	}
	if (!event_source_ok(r.source))
		die(EXIT_USAGE, "source '%s' is not a valid name", r.source);
	if (!command && jv_get_kind(cfg_command) == JV_KIND_STRING)
		command = jv_string_value(cfg_command);
	for (int i = optind; i < argc; i++)
		paths = jv_array_append(paths, jv_string(argv[i]));
	if (optind == argc) {
		jv p = jv_object_get(jv_copy(cfg), jv_string("paths"));

		if (jv_get_kind(p) == JV_KIND_STRING)
			paths = jv_array_append(paths, p);
		else if (jv_get_kind(p) == JV_KIND_ARRAY)
			jv_array_foreach(p, i, x) {
				(void)i;
				if (jv_get_kind(x) != JV_KIND_STRING)
					die(EXIT_USAGE, "paths: every entry must be a path or a glob");
				paths = jv_array_append(paths, x);
			}
		if (jv_get_kind(p) == JV_KIND_ARRAY)
			jv_free(p);
		else if (jv_get_kind(p) != JV_KIND_STRING)
			jv_free(p);
	}
	if (!jv_array_length(jv_copy(paths)) && !command) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "no files to read: give paths, '-' or --command (or 'paths:' in "
		    "the connector's configuration)");
	}

	r.now = ts_now();
	jv_array_foreach(paths, i, p) {
		(void)i;
		read_pattern(&r, jv_string_value(p));
		jv_free(p);
	}
	if (command)
		read_command(&r, command);
	if (fshut(stdout, "stdout"))
		r.failed = 1;
	else
		fprintf(stderr, "%s: %zu events, %zu not convertible, %zu malformed lines skipped\n",
		    argv0, r.events, r.rejected, r.skipped);
	/* no cursor after a failure: the next run starts from the last good one */
	if (r.failed) {
		jv_free(r.files);
	} else {
		jv cur = jv_object_set(jv_object(), jv_string("files"), r.files);
		jv s;

		(void)t;
		if (r.command_cursor)
			cur = jv_object_set(cur, jv_string("command"), jv_string(r.command_cursor));
		s = jv_dump_string(cur, 0);
		fprintf(stderr, "cursor: %s\n", jv_string_value(s));
		jv_free(s);
	}
	jv_free(paths);
	jv_free(cfg);
	jv_free(cfg_source);
	jv_free(cfg_command);
	jv_free(r.old);
	free(r.command_cursor);
	return r.failed ? EXIT_WORK : 0;
}
