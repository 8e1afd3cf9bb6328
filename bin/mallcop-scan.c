/* mallcop-scan: run the configured connectors and store their events */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "human.h"
#include "jsonl.h"
#include "parser.h"
#include "plugin.h"
#include "proc.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-scan [--dir DIR] [--jsonl | --human] [--wait[=SECONDS]]\n"
    "                    [--timeout SECONDS] [CONNECTOR...]";

enum { DEFAULT_TIMEOUT_S = 600 };

typedef struct conn {
	char *name;
	char *prog;	/* the program to run, or NULL when it was not found */
	char *error;	/* set when it cannot run or failed */
	jv conf;	/* its configuration, ${VAR} resolved */
	jv env;		/* names of the variables it gets */
	char **argv, **envp;
	int out, err;	/* spool files for its stdout and stderr */
	long timeout_ms;
	proc p;
	/* results */
	size_t added, dups, rejected, skipped;
	jv reasons;
	jv cursor;
	/* container-logs: the parser of each app that has one (apps/APP/parser.yaml) */
	parser **parsers;
	size_t nparsers;
	jv parse_errors;	/* what is wrong with a parser.yaml: the run failed */
	jv parse_warnings;	/* what the search limit stopped */
	jv parsed;		/* {app: counts} of this run */
} conn;

/* "mallcop.yaml:7: connectors.x.timeout: expected ..." */
static char *
bad_key(const cfg *cf, const char *path, const char *key, const char *want)
{
	char *full = xasprintf("%s.%s", path, key), *where = cfg_where(cf, full);
	char *msg = xasprintf("%s: %s: expected %s", where, full, want);

	free(full);
	free(where);
	return msg;
}

static void
set_error(conn *c, char *msg)
{
	if (!c->error)
		c->error = msg;
	else
		free(msg);
}

/* its settings, ${VAR} resolved, and the timeout and variables they name; -1 when unusable */
static int
read_settings(conn *c, const cfg *cf, const char *path)
{
	jv raw = cfg_get(cf, path), v;
	char *err = NULL;

	if (!event_source_ok(c->name)) {
		char *where = cfg_where(cf, path), *safe = human_safe(c->name);

		set_error(c, xasprintf("%s: '%s' cannot be a connector name: use letters, digits, "
		    "'.', '_' and '-'", where, safe));
		free(where);
		free(safe);
	}
	if (jv_get_kind(raw) != JV_KIND_OBJECT && jv_get_kind(raw) != JV_KIND_NULL) {
		char *where = cfg_where(cf, path);

		set_error(c, xasprintf("%s: %s: expected a mapping of settings", where, path));
		free(where);
		jv_free(raw);
		return -1;
	}
	if (jv_get_kind(raw) == JV_KIND_NULL) {
		jv_free(raw);
		raw = jv_object();
	}
	jv_free(c->conf);
	if (cfg_resolve(cf, raw, path, &c->conf, &c->env, &err)) {
		c->conf = jv_object();
		set_error(c, err);
		return -1;
	}

	v = jv_object_get(jv_copy(c->conf), jv_string("env"));
	if (jv_get_kind(v) == JV_KIND_ARRAY)
		c->env = jv_array_concat(c->env, v);
	else if (jv_get_kind(v) == JV_KIND_STRING)
		c->env = jv_array_append(c->env, v);
	else
		jv_free(v);
	v = jv_object_get(jv_copy(c->conf), jv_string("timeout"));
	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		int64_t us = 0;

		if (jv_get_kind(v) == JV_KIND_NUMBER)
			us = (int64_t)(jv_number_value(v) * 1e6);
		else if (jv_get_kind(v) != JV_KIND_STRING || ts_window(jv_string_value(v), &us))
			us = 0;
		if (us >= TS_SECOND && us <= 86400 * TS_SECOND)
			c->timeout_ms = (long)(us / 1000);
		else
			set_error(c, bad_key(cf, path, "timeout", "a duration from 1s to 24h, "
			    "like 90s or 10m"));
	}
	jv_free(v);
	return 0;
}

/* the program of its type: a plugin of the deployment, else the built-in connector */
static void
find_program(conn *c, const cfg *cf, const char *root, const char *path)
{
	jv type = jv_object_get(jv_copy(c->conf), jv_string("type"));
	const char *ty = jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : c->name;
	char *err = NULL;

	if (!event_source_ok(ty))
		set_error(c, bad_key(cf, path, "type", "a connector name ([A-Za-z0-9._-])"));
	else if (!(c->prog = plugin_find(root, "connectors", ty, &c->env, &err)) && !err) {
		char *name = xasprintf("connector-%s", ty);

		c->prog = plugin_builtin(name);
		free(name);
		plugin_connector_env(ty, &c->env);
	}
	if (err)
		set_error(c, err);
	else if (!c->prog)
		set_error(c, xasprintf("no connector program 'mallcop-connector-%s' and no "
		    "plugins/connectors/%s/; check 'type:' of connectors.%s", ty, ty, c->name));
	jv_free(type);
}

/* its arguments: --cursor from its checkpoint, else --since, then its args: */
static void
build_argv(conn *c, const cfg *cf, const char *path, jv checkpoints, int64_t now)
{
	jv cp = jsonl_get(jsonl_get(jv_copy(checkpoints), c->name), "value");
	jv v = jv_object_get(jv_copy(c->conf), jv_string("since"));
	char t[TS_BUFSZ];
	size_t na = 0;

	c->argv = xcalloc(8, sizeof *c->argv);
	c->argv[na++] = xstrdup(c->prog ? c->prog : "");
	if (jv_get_kind(cp) == JV_KIND_STRING) {
		c->argv[na++] = xstrdup("--cursor");
		c->argv[na++] = xstrdup(jv_string_value(cp));
	} else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		int64_t us = now, w;

		if (jv_get_kind(v) == JV_KIND_STRING && ts_parse(jv_string_value(v), &us) == 0)
			;
		else if (jv_get_kind(v) == JV_KIND_STRING && ts_window(jv_string_value(v), &w) == 0)
			us = now - w;
		else
			set_error(c, bad_key(cf, path, "since", "an ISO 8601 time or a window like "
			    "7d"));
		c->argv[na++] = xstrdup("--since");
		c->argv[na++] = xstrdup(ts_format(us, t));
	}
	jv_free(cp);
	jv_free(v);
	v = jv_object_get(jv_copy(c->conf), jv_string("args"));
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		int n = jv_array_length(jv_copy(v));

		c->argv = xrealloc(c->argv, (na + (size_t)n + 1) * sizeof *c->argv);
		jv_array_foreach(v, i, a) {
			(void)i;
			if (jv_get_kind(a) == JV_KIND_STRING) {
				c->argv[na++] = xstrdup(jv_string_value(a));
			} else if (jv_get_kind(a) == JV_KIND_NUMBER) {
				jv num = jv_dump_string(jv_copy(a), 0);

				c->argv[na++] = xstrdup(jv_string_value(num));
				jv_free(num);
			} else {
				set_error(c, bad_key(cf, path, "args", "a list of strings"));
			}
			jv_free(a);
		}
	} else if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL) {
		set_error(c, bad_key(cf, path, "args", "a list of strings"));
	}
	jv_free(v);
	c->argv[na] = NULL;
}

/* its environment: what mallcop gives every connector and the variables it names, no more */
static void
build_env(conn *c, const char *root, size_t max_bytes)
{
	jv conf = jv_dump_string(jv_copy(c->conf), 0);
	char *max = xasprintf("%zu", max_bytes);
	size_t ne = 0;

	proc_env_add(&c->envp, &ne, "MALLCOP_CONNECTOR_NAME", c->name);
	proc_env_add(&c->envp, &ne, "MALLCOP_CONNECTOR_CONFIG", jv_string_value(conf));
	proc_env_add(&c->envp, &ne, "MALLCOP_DIR", root);
	proc_env_add(&c->envp, &ne, "MALLCOP_MAX_EVENT_BYTES", max);
	jv_free(conf);
	free(max);
	proc_env_base(&c->envp, &ne);
	jv_array_foreach(c->env, i, name) {
		(void)i;
		if (jv_get_kind(name) == JV_KIND_STRING && getenv(jv_string_value(name)))
			proc_env_add(&c->envp, &ne, jv_string_value(name),
			    getenv(jv_string_value(name)));
		jv_free(name);
	}
}

/* a container-logs connector's apps: connectors.NAME.apps, a list of {name:} or names */
static void
load_parsers(conn *c)
{
	jv type = jv_object_get(jv_copy(c->conf), jv_string("type"));
	jv apps = jv_object_get(jv_copy(c->conf), jv_string("apps"));
	const char *ty = jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : c->name;

	if (streq(ty, "container-logs") && jv_get_kind(apps) == JV_KIND_ARRAY) {
		c->parsers = xcalloc((size_t)jv_array_length(jv_copy(apps)), sizeof *c->parsers);
		jv_array_foreach(apps, i, a) {
			jv name = jv_get_kind(a) == JV_KIND_OBJECT
			    ? jv_object_get(jv_copy(a), jv_string("name")) : jv_copy(a);
			char *err = NULL;
			parser *p = NULL;

			(void)i;
			/* a name that is not one the connector refuses too: it says so */
			if (jv_get_kind(name) == JV_KIND_STRING && event_source_ok(jv_string_value(name)))
				p = parser_load_app(NULL, jv_string_value(name), &err);
			if (p)
				c->parsers[c->nparsers++] = p;
			if (err) {
				char *safe = human_safe(err);

				warnf("%s: %s", c->name, safe);
				c->parse_errors = jv_array_append(c->parse_errors, jv_string(err));
				free(safe);
				free(err);
			}
			jv_free(name);
			jv_free(a);
		}
	}
	jv_free(apps);
	jv_free(type);
}

/* everything to start one connector: program, arguments, environment */
static void
prepare(conn *c, const cfg *cf, const char *root, jv checkpoints, int64_t now, long timeout,
    size_t max_bytes)
{
	char *path = xasprintf("connectors.%s", c->name);

	c->env = jv_array();
	c->conf = jv_object();
	c->timeout_ms = timeout * 1000;
	if (read_settings(c, cf, path) == 0) {
		load_parsers(c);
		find_program(c, cf, root, path);
		build_argv(c, cf, path, checkpoints, now);
		build_env(c, root, max_bytes);
	}
	free(path);
}

/* the last "cursor: VALUE" line of its stderr, and the last other lines for a message */
static void
read_stderr(conn *c, char **tail)
{
	char *cursor = NULL;

	proc_err_tail(c->err, &cursor, tail);
	if (cursor) {
		jv_free(c->cursor);
		c->cursor = jv_string(cursor);
		free(cursor);
	}
}

static void
reject(conn *c, const char *why, size_t n)
{
	c->reasons = event_count_reason(c->reasons, why, n);
	c->rejected += n;
}

/* what store_writer_put or _add said of one event, counted */
static int
tally(conn *c, int r)
{
	if (r == 1)
		c->added++;
	else if (r == 0)
		c->dups++;
	return r;
}

/* a line already in the stored form but for ingested_at (ing: that member), as stored */
static size_t
with_ingested(char **buf, size_t *cap, const char *s, size_t n, const event_line *e,
    const char *ing)
{
	size_t il = strlen(ing), len = e->head + il + (n - e->rest);

	if (len > *cap)
		*buf = xrealloc(*buf, *cap = len);
	memcpy(*buf, s, e->head);
	memcpy(*buf + e->head, ing, il);
	memcpy(*buf + e->head + il, s + e->rest, n - e->rest);
	return len;
}

/* what waited in f, to stdout */
static void
copy_out(FILE *f)
{
	char buf[65536];
	size_t n;

	rewind(f);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stdout);
}

/* one event (consumed) to the store and, once stored, to echo */
static int
store_one(conn *c, store_writer *w, jv ev, FILE *echo, char **err)
{
	int r = tally(c, store_writer_add(w, echo ? jv_copy(ev) : ev, err));

	if (echo && r == 1)
		jsonl_put(echo, ev);
	else if (echo)
		jv_free(ev);
	return r;
}

/* the parser of a log_line event's app, or NULL */
static parser *
parser_of(const conn *c, jv ev)
{
	jv m;
	const char *app;
	parser *p = NULL;

	if (!c->nparsers || !streq(event_str(ev, "event_type"), "log_line"))
		return NULL;
	m = jv_object_get(jv_copy(ev), jv_string("metadata"));
	if ((app = event_field(m, "app")))
		for (size_t i = 0; i < c->nparsers && !p; i++)
			if (streq(parser_app(c->parsers[i]), app))
				p = c->parsers[i];
	jv_free(m);
	return p;
}

/*
 * A normalized event (consumed) through its app's parser: the event its template maps it to,
 * nothing for noise, the line as it came when no template knows it. What store_writer_add
 * said, or 2 when nothing was to be stored.
 */
static int
store_parsed(conn *c, store_writer *w, jv ev, FILE *echo, int64_t now, char **err)
{
	parser *p = parser_of(c, ev);
	const char *why;
	jv out, norm;

	if (!p)
		return store_one(c, w, ev, echo, err);
	switch (parser_line(p, ev, &out)) {
	case PARSER_NOISE:
		jv_free(ev);
		return 2;
	case PARSER_EVENT:
		jv_free(ev);
		if (event_normalize(out, c->name, now, &norm, &why)) {
			reject(c, why, 1);
			return 2;
		}
		return store_one(c, w, norm, echo, err);
	default:
		return store_one(c, w, ev, echo, err);
	}
}

/* each parser's summary events stored, its warnings told; -1 when the store failed */
static int
store_summaries(conn *c, store_writer *w, FILE *echo, int64_t now, char **err)
{
	for (size_t i = 0; i < c->nparsers; i++) {
		parser *p = c->parsers[i];
		char *warn = parser_warning(p), *safe;
		jv list = parser_summaries(p, c->name, now, jv_array());

		if (warn) {
			safe = human_safe(warn);
			warnf("%s: %s", c->name, safe);
			c->parse_warnings = jv_array_append(c->parse_warnings, jv_string(warn));
			free(safe);
			free(warn);
		}
		jv_array_foreach(list, k, e) {
			jv m = jsonl_get(jv_copy(e), "metadata"), n;
			const char *why;

			(void)k;
			if (streq(event_str(e, "event_type"), "parser_summary")) {
				n = jv_object();
				n = jv_object_set(n, jv_string("events"), jsonl_get(jv_copy(m), "event_count"));
				n = jv_object_set(n, jv_string("noise"), jsonl_get(jv_copy(m), "noise_count"));
				n = jv_object_set(n, jv_string("unmatched"),
				    jsonl_get(jv_copy(m), "unmatched_count"));
				n = jv_object_set(n, jv_string("unmatched_ratio"),
				    jsonl_get(jv_copy(m), "unmatched_ratio"));
				c->parsed = jv_object_set(c->parsed, jv_string(parser_app(p)), n);
			}
			jv_free(m);
			if (event_normalize(e, c->name, now, &n, &why))
				reject(c, why, 1);
			else if (store_one(c, w, n, echo, err) < 0) {
				jv_free(list);
				return -1;
			}
		}
		jv_free(list);
	}
	return 0;
}

/* take in what one connector printed; 0 when all of it is on disk */
static int
ingest(conn *c, store *st, int64_t now, int jsonl_out, size_t max_bytes)
{
	FILE *f = fdopen(dup(c->out), "r");
	store_writer *w = store_writer_new(st);
	/* --jsonl shows events once they are on disk, not before: they wait here */
	FILE *echo = jsonl_out ? fdopen(proc_spool(st->dir), "w+") : NULL;
	char *err = NULL, *line = NULL, ing[64], t[TS_BUFSZ];
	size_t cap = 0;
	jsonl in;

	if (!f)
		die(EXIT_WORK, "cannot read the output of '%s':", c->name);
	snprintf(ing, sizeof ing, ",\"ingested_at\":\"%s\"", ts_format(now, t));
	rewind(f);
	jsonl_init(&in, f, c->name);
	in.quiet = 1;
	in.max = max_bytes;
	while (jsonl_line(&in)) {
		size_t n = jsonl_text(&in);
		const char *why;
		event_line el;
		jv rec, ev;
		int r;

		/*
		 * a line in the stored form is stored as it is; any other is read and normalized,
		 * and so is every line of a connector whose apps have parsers
		 */
		if (!c->nparsers && event_line_parse(in.buf, n, &el)) {
			n = with_ingested(&line, &cap, in.buf, n, &el, ing);
			r = tally(c, store_writer_put(w, &el, line, n, &err));
			if (r == 1 && echo && (fwrite(line, 1, n, echo) != n || putc('\n', echo) == EOF))
				die(EXIT_WORK, "cannot write a temporary file:");
		} else if (!jsonl_value(&in, &rec)) {
			continue;
		} else if (event_normalize(rec, c->name, now, &ev, &why)) {
			reject(c, why, 1);
			continue;
		} else {
			r = store_parsed(c, w, ev, echo, now, &err);
		}
		if (r < 0)
			break;
	}
	if (!err)
		store_summaries(c, w, echo, now, &err);
	free(line);
	c->skipped = in.skipped;
	if (in.oversize)
		reject(c, EVENT_TOO_LARGE, in.oversize);
	jsonl_done(&in);
	fclose(f);
	if (err)
		store_writer_abort(w);
	else
		store_writer_commit(w, &err);
	if (err) {
		c->added = 0;
		set_error(c, err);
	} else if (echo) {
		copy_out(echo);
	}
	if (echo)
		fclose(echo);
	return err ? -1 : 0;
}

static jv
summary(conn *c, jv checkpoints)
{
	jv s = jv_object();

	s = jv_object_set(s, jv_string("status"), jv_string(c->error ? "error" : "ok"));
	s = jv_object_set(s, jv_string("events_ingested"), jv_number((double)c->added));
	if (c->error) {
		s = jv_object_set(s, jv_string("error"), jv_string(c->error));
	} else {
		jv cp = jsonl_get(jsonl_get(jv_copy(checkpoints), c->name), "value");

		s = jv_object_set(s, jv_string("checkpoint"),
		    jv_get_kind(cp) == JV_KIND_STRING ? cp : (jv_free(cp), jv_null()));
	}
	if (c->nparsers)
		s = jv_object_set(s, jv_string("parsed"), jv_copy(c->parsed));
	if (jv_array_length(jv_copy(c->parse_errors))) {
		s = jv_object_set(s, jv_string("status"), jv_string("error"));
		s = jv_object_set(s, jv_string("parser_errors"), jv_copy(c->parse_errors));
		if (!c->error) {
			char *all = jsonl_join(jv_copy(c->parse_errors), "; ");

			s = jv_object_set(s, jv_string("error"), jv_string(all));
			free(all);
		}
	}
	if (jv_array_length(jv_copy(c->parse_warnings)))
		s = jv_object_set(s, jv_string("parser_warnings"), jv_copy(c->parse_warnings));
	s = jv_object_set(s, jv_string("duplicates"), jv_number((double)c->dups));
	s = jv_object_set(s, jv_string("rejected"), jv_number((double)c->rejected));
	if (c->rejected)
		s = jv_object_set(s, jv_string("rejected_reasons"), jv_copy(c->reasons));
	return jv_object_set(s, jv_string("skipped_lines"), jv_number((double)c->skipped));
}

/* .mallcop/manifest.json: the last scan of each connector, for mallcop-status; -1 when it
 * could not be read or written */
static int
save_manifest(store *st, jv result, jv configured, int64_t now, int64_t started)
{
	const char *status = strcmp(event_str(result, "status"), "ok") ? "error" : "ok";
	char *path = xasprintf("%s/manifest.json", st->dir), *text, *err = NULL, t[TS_BUFSZ];
	jv old = jv_invalid(), conns;
	int r = 0;

	if ((text = store_read(path, NULL, &err))) {
		old = jv_parse(text);
		free(text);
	} else if (err) {	/* what could not be read is not replaced */
		warnf("%s", err);
		free(err);
		free(path);
		jv_free(result);
		jv_free(configured);
		return -1;
	}
	conns = jv_is_valid(old) && jv_get_kind(old) == JV_KIND_OBJECT
	    ? jv_object_get(jv_copy(old), jv_string("connectors")) : jv_object();
	if (jv_get_kind(conns) != JV_KIND_OBJECT) {
		jv_free(conns);
		conns = jv_object();
	}
	/* connectors taken out of mallcop.yaml leave the record */
	{
		jv keys = jv_keys(jv_copy(conns));

		jv_array_foreach(keys, i, k) {
			(void)i;
			if (jv_get_kind(configured) != JV_KIND_OBJECT ||
			    !jv_object_has(jv_copy(configured), jv_copy(k)))
				conns = jv_object_delete(conns, jv_copy(k));
			jv_free(k);
		}
		jv_free(keys);
	}
	jv_free(configured);
	ts_format(now, t);
	jv ran = jsonl_get(result, "connectors");

	jv_object_foreach(ran, k, v) {
		jv prev = jv_object_get(jv_copy(conns), jv_copy(k));
		jv last_ok = jv_get_kind(prev) == JV_KIND_OBJECT
		    ? jv_object_get(prev, jv_string("last_success")) : (jv_free(prev), jv_null());
		int ok = !strcmp(event_str(v, "status"), "ok");

		if (jv_get_kind(last_ok) == JV_KIND_INVALID)
			last_ok = jv_null();
		v = jv_object_set(v, jv_string("last_run"), jv_string(t));
		v = jv_object_set(v, jv_string("last_success"), ok ? jv_string(t) : last_ok);
		if (ok)
			jv_free(last_ok);
		conns = jv_object_set(conns, k, v);
	}
	jv_free(ran);
	jv_free(old);
	{
		jv m = jv_object();
		jv s;

		m = jv_object_set(m, jv_string("schema_version"), jv_number(1));
		m = jv_object_set(m, jv_string("last_run"), jv_string(t));
		m = jv_object_set(m, jv_string("last_run_status"), jv_string(status));
		m = jv_object_set(m, jv_string("duration_ms"),
		    jv_number((double)((now - started) / 1000)));
		m = jv_object_set(m, jv_string("connectors"), conns);
		s = jv_dump_string(m, JV_PRINT_INDENT_FLAGS(2));
		if (store_replace(path, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)),
		    &err)) {
			warnf("%s", err);
			free(err);
			r = -1;
		}
		jv_free(s);
	}
	free(path);
	return r;
}

static void
print_human(jv result)
{
	printf("Scan %s: %d new events\n", event_str(result, "status"),
	    (int)jv_number_value(jv_object_get(jv_copy(result), jv_string("total_events_ingested"))));
	jv conns = jsonl_get(jv_copy(result), "connectors");

	if (!jv_object_length(jv_copy(conns)))
		printf("  no connectors are configured: add one under 'connectors:' in "
		    "mallcop.yaml (see mallcop.yaml(5))\n");
	jv_object_foreach(conns, k, v) {
		char *name = human_safe(jv_string_value(k));

		printf("  %-20s ", name);
		free(name);
		if (!strcmp(event_str(v, "status"), "ok")) {
			printf("ok     %d new", (int)jv_number_value(jv_object_get(jv_copy(v),
			    jv_string("events_ingested"))));
		} else {
			printf("FAILED ");
			human_put(stdout, event_str(v, "error"));
		}
		{
			int d = (int)jv_number_value(jv_object_get(jv_copy(v), jv_string("duplicates")));
			int r = (int)jv_number_value(jv_object_get(jv_copy(v), jv_string("rejected")));

			if (d)
				printf(", %d already stored", d);
			if (r)
				printf(", %d rejected", r);
		}
		putchar('\n');
		jv_free(k);
		jv_free(v);
	}
	jv_free(conns);
}

/* one run: what the command line asked, the deployment, its connectors */
typedef struct scan {
	int jsonl_out, human, textout;	/* textout: no JSON result on stdout */
	long wait_ms, flag_timeout;
	const char *dir;
	char real[PATH_MAX];
	cfg cf;
	store st;
	size_t max_bytes;
	jv checkpoints;
	conn *cs;
	size_t n;
	int64_t started, now;
	int failed;
} scan;

/* the flags; optind is left at the connector names */
static void
parse_flags(scan *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"jsonl", no_argument, NULL, 'j'},
		{"human", no_argument, NULL, 'H'},
		{"wait", optional_argument, NULL, 'w'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	s->wait_ms = 2000;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': s->dir = optarg; break;
		case 'j': s->jsonl_out = 1; break;
		case 'H': s->human = 1; break;
		case 'w': s->wait_ms = cli_wait_ms(optarg); break;
		case 't':
			s->flag_timeout = strtol(optarg, &end, 10);
			if (*end || s->flag_timeout <= 0 || s->flag_timeout > 86400) {
				fprintf(stderr, "%s\n", usage);
				die(EXIT_USAGE, "--timeout '%s': expected a number of seconds", optarg);
			}
			break;
		case 'h':
			puts(usage);
			exit(0);
		default:
			fprintf(stderr, "%s\n", usage);
			exit(EXIT_USAGE);
		}
	}
	s->human = cli_output(s->human, s->jsonl_out, usage);
	s->textout = s->human || s->jsonl_out;
}

/* the deployment's configuration, its store locked for writing, and its checkpoints */
static void
open_deployment(scan *s)
{
	char *err = NULL;
	int c;

	/* these messages can name the --dir path: escaped, as every echo of input */
	if (!realpath(store_root(s->dir), s->real)) {
		char *safe = human_safe(store_root(s->dir));

		cli_fail(EXIT_WORK, s->textout, "cannot open deployment '%s': %s", safe,
		    strerror(errno));
	}
	if (cfg_load(&s->cf, s->real, &err) || event_max_bytes(&s->cf, &s->max_bytes, &err))
		cli_fail(EXIT_WORK, s->textout, "%s", human_safe(err));
	if (store_open(&s->st, s->real, 1, &err))
		cli_fail(EXIT_WORK, s->textout, "%s", human_safe(err));
	if ((c = store_lock(&s->st, s->wait_ms, &err)))
		cli_fail(c > 0 ? EXIT_LOCKED : EXIT_WORK, s->textout, "%s", human_safe(err));
	s->checkpoints = store_checkpoints(&s->st, &err);
	if (!jv_is_valid(s->checkpoints))
		cli_fail(EXIT_WORK, s->textout, "%s", human_safe(err));
	if (chdir(s->real))
		cli_fail(EXIT_WORK, s->textout, "cannot enter '%s': %s", s->real, strerror(errno));
}

/* the configured connectors, or those of them named on the command line */
static void
choose_connectors(scan *s, int argc, char **argv)
{
	jv names = cfg_get(&s->cf, "connectors");

	/* no connectors yet is a deployment being set up: an empty scan, not a failure */
	if (jv_get_kind(names) == JV_KIND_NULL || !jv_is_valid(names)) {
		jv_free(names);
		names = jv_object();
	} else if (jv_get_kind(names) != JV_KIND_OBJECT) {
		char *where = cfg_where(&s->cf, "connectors");

		cli_fail(EXIT_WORK, s->textout, "%s: connectors: expected a mapping of connector "
		    "names to settings (see mallcop.yaml(5))", where);
	}
	s->cs = xcalloc((size_t)jv_object_length(jv_copy(names)) + 1, sizeof *s->cs);
	jv_object_foreach(names, k, v) {
		int want = argc == 0;

		for (int i = 0; i < argc; i++)
			want |= !strcmp(argv[i], jv_string_value(k));
		if (want) {
			s->cs[s->n].name = xstrdup(jv_string_value(k));
			s->cs[s->n].reasons = jv_object();
			s->cs[s->n].cursor = jv_invalid();
			s->cs[s->n].parse_errors = jv_array();
			s->cs[s->n].parse_warnings = jv_array();
			s->cs[s->n].parsed = jv_object();
			s->n++;
		}
		jv_free(k);
		jv_free(v);
	}
	for (int i = 0; i < argc; i++) {
		jv has = jv_object_get(jv_copy(names), jv_string(argv[i]));

		if (!jv_is_valid(has)) {
			char *safe = human_safe(argv[i]), *where = human_safe(s->cf.path);

			cli_fail(EXIT_USAGE, s->textout, "no connector '%s' in %s", safe, where);
		}
		jv_free(has);
	}
	jv_free(names);
}

/* every connector started at once, their output spooled; back when all have ended */
static void
run_connectors(scan *s)
{
	proc **ps = xcalloc(s->n + 1, sizeof *ps);
	char *err = NULL;

	s->now = ts_now();
	proc_forward_signals();
	for (size_t i = 0; i < s->n; i++) {
		conn *c = &s->cs[i];

		prepare(c, &s->cf, s->real, s->checkpoints, s->now, DEFAULT_TIMEOUT_S,
		    s->max_bytes);
		if (s->flag_timeout)	/* the command line wins over mallcop.yaml */
			c->timeout_ms = s->flag_timeout * 1000;
		c->out = proc_spool(s->st.dir);
		c->err = proc_spool(s->st.dir);
		c->p.timeout_ms = c->timeout_ms;
		if (c->error)
			c->p.done = 1;
		else if (proc_spawn(&c->p, c->argv, c->envp, -1, c->out, c->err, &err))
			set_error(c, err);
		ps[i] = &c->p;
	}
	if (isatty(2))
		fprintf(stderr, "%s: running %zu connectors\n", argv0, s->n);
	proc_wait(ps, s->n);
	free(ps);
}

/* what a connector that ran printed, into the store; then its checkpoint moves */
static void
store_output(scan *s, conn *c)
{
	char *tail = NULL, *err = NULL, t[TS_BUFSZ];
	jv cp;

	read_stderr(c, &tail);
	/* what arrived is kept even from a connector that failed afterwards */
	ingest(c, &s->st, s->now, s->jsonl_out, s->max_bytes);
	if (!proc_ok(&c->p)) {
		char *how = proc_describe(&c->p);

		set_error(c, xasprintf("connector '%s' %s%s%s", c->name, how, tail ? ": " : "",
		    tail ? tail : ""));
		free(how);
	} else if (!c->error && jv_get_kind(c->cursor) == JV_KIND_STRING) {
		cp = jv_object_set(jv_object(), jv_string("updated_at"),
		    jv_string(ts_format(s->now, t)));
		cp = jv_object_set(cp, jv_string("value"), jv_copy(c->cursor));
		s->checkpoints = jv_object_set(s->checkpoints, jv_string(c->name), cp);
		/* the events are on disk: now the checkpoint may move */
		if (store_save_checkpoints(&s->st, jv_copy(s->checkpoints), &err))
			set_error(c, err);
	}
	free(tail);
}

/* one connector's events stored, or its failure told */
static void
take_in(scan *s, conn *c)
{
	if (c->prog && !c->error)
		store_output(s, c);
	/* its lines are stored as they came, but a parser.yaml to fix fails the run */
	if (jv_array_length(jv_copy(c->parse_errors)))
		s->failed = 1;
	if (c->error) {
		/* the message can quote what the connector said: data, not for a terminal */
		char *safe = human_safe(c->error);

		s->failed = 1;
		warnf("%s: %s", c->name, safe);
		free(safe);
	}
}

/* each connector's summary */
static jv
scan_result(scan *s)
{
	jv result, conns = jv_object();
	size_t total = 0;

	for (size_t i = 0; i < s->n; i++) {
		conn *c = &s->cs[i];

		total += c->added;
		conns = jv_object_set(conns, jv_string(c->name), summary(c, s->checkpoints));
	}
	result = jv_object_set(cli_result(), jv_string("status"),
	    jv_string(s->failed ? "error" : "ok"));
	result = jv_object_set(result, jv_string("connectors"), conns);
	return jv_object_set(result, jv_string("total_events_ingested"),
	    jv_number((double)total));
}

/* the run in .mallcop/manifest.json, for mallcop-status; result (consumed) says if it failed */
static jv
record_run(scan *s, jv result)
{
	if (save_manifest(&s->st, jv_copy(result), cfg_get(&s->cf, "connectors"), ts_now(),
	    s->started)) {
		s->failed = 1;
		result = jv_object_set(result, jv_string("status"), jv_string("error"));
	}
	return result;
}

static void
scan_free(scan *s)
{
	for (size_t i = 0; i < s->n; i++) {
		conn *c = &s->cs[i];

		close(c->out);
		close(c->err);
		free(c->name);
		free(c->prog);
		free(c->error);
		for (char **a = c->argv; a && *a; a++)
			free(*a);
		free(c->argv);
		for (char **e = c->envp; e && *e; e++)
			free(*e);
		free(c->envp);
		jv_free(c->conf);
		jv_free(c->env);
		jv_free(c->reasons);
		jv_free(c->cursor);
		jv_free(c->parse_errors);
		jv_free(c->parse_warnings);
		jv_free(c->parsed);
		for (size_t k = 0; k < c->nparsers; k++)
			parser_free(c->parsers[k]);
		free(c->parsers);
	}
	free(s->cs);
	jv_free(s->checkpoints);
	cfg_free(&s->cf);
	store_close(&s->st);
}

/* the result as asked (consumed): its exit status */
static int
print_result(const scan *s, jv result)
{
	if (s->jsonl_out) {
		jv text = jv_dump_string(result, 0);

		fprintf(stderr, "%s: %s\n", argv0, jv_string_value(text));
		jv_free(text);
		if (fshut(stdout, "stdout"))
			return EXIT_WORK;
	} else if (s->human) {
		print_human(result);
		jv_free(result);
		if (fshut(stdout, "stdout"))
			return EXIT_WORK;
	} else if (cli_emit(result)) {
		return EXIT_WORK;
	}
	return s->failed ? EXIT_WORK : 0;
}

int
main(int argc, char **argv)
{
	scan s = {0};
	jv result;

	setargv0(argv[0]);
	parse_flags(&s, argc, argv);
	s.started = ts_now();
	open_deployment(&s);
	choose_connectors(&s, argc - optind, argv + optind);
	run_connectors(&s);
	for (size_t i = 0; i < s.n; i++)
		take_in(&s, &s.cs[i]);
	result = record_run(&s, scan_result(&s));
	scan_free(&s);
	return print_result(&s, result);
}
