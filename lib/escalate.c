#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actor.h"
#include "escalate.h"
#include "jsonl.h"
#include "plugin.h"
#include "proc.h"
#include "util.h"

enum { NOTIFY_TIMEOUT_S = 120 };
static const char *const severities[] = {"critical", "warn", "info", NULL};

void
esc_error(jv *errors, const char *fmt, ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	m = xvasprintf(fmt, ap);
	va_end(ap);
	*errors = jv_array_append(*errors, jv_string(m));
	free(m);
}

/* a list of names: a string or a list of strings */
static jv
names(jv v)
{
	if (jv_get_kind(v) == JV_KIND_STRING)
		return jv_array_append(jv_array(), v);
	if (jv_get_kind(v) != JV_KIND_ARRAY) {
		jv_free(v);
		return jv_array();
	}
	return v;
}

static esc_channel *
channel_get(esc_paths *p, const char *name)
{
	for (size_t i = 0; i < p->nch; i++)
		if (streq(p->ch[i].name, name))
			return &p->ch[i];
	return NULL;
}

/* the program's environment: its settings (actors.NAME) and the variables they name */
static void
channel_env(esc_channel *c, const cfg *cf, jv *errors)
{
	char *path = xasprintf("actors.%s", c->name), *err = NULL;
	jv raw = cfg_get(cf, path), conf, vars = jv_array(), dump;
	size_t ne = 0;

	if (!jv_is_valid(raw) || jv_get_kind(raw) == JV_KIND_NULL) {
		jv_free(raw);
		raw = jv_object();
	}
	if (cfg_resolve(cf, raw, path, &conf, &vars, &err)) {
		esc_error(errors, "channel '%s': %s", c->name, err);
		free(err);
		conf = jv_object();
	}
	dump = jv_dump_string(conf, 0);
	proc_env_add(&c->envp, &ne, "MALLCOP_NOTIFY_CONFIG", jv_string_value(dump));
	jv_free(dump);
	proc_env_base(&c->envp, &ne);
	jv_array_foreach(vars, i, v) {
		(void)i;
		if (getenv(jv_string_value(v)))
			proc_env_add(&c->envp, &ne, jv_string_value(v), getenv(jv_string_value(v)));
		jv_free(v);
	}
	jv_free(vars);
	free(path);
}

/* a channel's program and settings, once however many routes name it */
static void
channel_add(esc_paths *p, const cfg *cf, const char *sev, const char *name, jv *errors)
{
	esc_channel *c;
	char *prog;

	if (channel_get(p, name))
		return;
	if (strncmp(name, "notify-", 7) || !(prog = plugin_builtin(name))) {
		esc_error(errors, "routing.%s.notify: no channel '%s' (a notifier program "
		    "mallcop-%s: notify-slack, notify-teams, notify-email, notify-webhook)", sev,
		    name, name);
		return;
	}
	p->ch = xrealloc(p->ch, (p->nch + 1) * sizeof *p->ch);
	c = &p->ch[p->nch++];
	memset(c, 0, sizeof *c);
	c->name = xstrdup(name);
	c->prog = prog;
	c->batch = jv_array();
	channel_env(c, cf, errors);
}

/* run a channel's program with input on stdin; 0 when it exited 0, else *err */
static int
channel_run(esc_channel *c, const char *arg, const char *input, const char *spool, char **err)
{
	int in = proc_spool(spool), out, errfd;
	char *argv[3] = {c->prog, (char *)arg, NULL}, *cursor = NULL, *tail = NULL, *how;
	proc p = {0}, *pp = &p;
	size_t n = strlen(input);

	if (write(in, input, n) != (ssize_t)n || lseek(in, 0, SEEK_SET) < 0)
		die(EXIT_WORK, "cannot write a spool file:");
	out = proc_spool(spool);
	errfd = proc_spool(spool);
	p.timeout_ms = NOTIFY_TIMEOUT_S * 1000L;
	if (proc_spawn(&p, argv, c->envp, in, out, errfd, err)) {
		close(in);
		close(out);
		close(errfd);
		return -1;
	}
	proc_wait(&pp, 1);
	proc_err_tail(errfd, &cursor, &tail);
	close(in);
	close(out);
	close(errfd);
	free(cursor);
	if (proc_ok(&p)) {
		free(tail);
		return 0;
	}
	how = proc_describe(&p);
	*err = xasprintf("%s %s%s%s", c->name, how, tail ? ": " : "", tail ? tail : "");
	free(how);
	free(tail);
	return -1;
}

/* each actor of a severity's chain (borrowed) loads */
static void
check_chain(const char *root, const char *sev, jv chain, jv *errors)
{
	jv_array_foreach(chain, j, a) {
		actor_def def;
		char *err = NULL;

		(void)j;
		if (jv_get_kind(a) != JV_KIND_STRING ||
		    actor_load(root, jv_string_value(a), &def, &err)) {
			esc_error(errors, "routing.%s.chain: %s", sev, err ? err : "not a name");
			free(err);
		} else {
			actor_def_free(&def);
		}
		jv_free(a);
	}
}

/* routing.SEV (v consumed, not null) as {chain, notify}, or invalid when it is neither form */
static jv
route_of(const cfg *cf, const char *sev, jv v, jv *errors)
{
	jv chain, notify;

	if (jv_get_kind(v) == JV_KIND_STRING) {	/* the earlier form: warn: triage */
		chain = names(v);
		notify = jv_array();
	} else if (jv_get_kind(v) == JV_KIND_OBJECT) {
		chain = names(jsonl_get(jv_copy(v), "chain"));
		notify = names(jsonl_get(v, "notify"));
	} else {
		char *path = xasprintf("routing.%s", sev), *where = cfg_where(cf, path);

		esc_error(errors, "%s: %s: expected null, an actor, or {chain: [...], notify: "
		    "[...]}", where, path);
		free(where);
		free(path);
		jv_free(v);
		return jv_invalid();
	}
	return jv_object_set(jv_object_set(jv_object(), jv_string("chain"), chain),
	    jv_string("notify"), notify);
}

/* a severity's route (borrowed): its actors load, its channels are added */
static void
check_route(esc_paths *p, const cfg *cf, const char *root, const char *sev, jv route,
    jv *errors)
{
	jv chain = jsonl_get(jv_copy(route), "chain"), notify = jsonl_get(jv_copy(route), "notify");
	int actors, channels;

	check_chain(root, sev, chain, errors);
	jv_array_foreach(notify, j, n) {
		(void)j;
		if (jv_get_kind(n) == JV_KIND_STRING)
			channel_add(p, cf, sev, jv_string_value(n), errors);
		jv_free(n);
	}
	actors = jv_array_length(chain);
	channels = jv_array_length(notify);
	/* an escalation must reach someone: a chain without a channel would triage the same
	 * findings again on every run and tell nobody */
	if (actors > 0 && channels == 0)
		esc_error(errors, "routing.%s: a chain needs a channel to a human: add "
		    "'notify: [notify-slack]' (or another notifier)", sev);
}

void
esc_load(esc_paths *p, const cfg *cf, const char *root, jv *errors)
{
	jv routing = cfg_get(cf, "routing");

	memset(p, 0, sizeof *p);
	p->routes = jv_object();
	if (jv_get_kind(routing) != JV_KIND_OBJECT && jv_is_valid(routing) &&
	    jv_get_kind(routing) != JV_KIND_NULL) {
		char *where = cfg_where(cf, "routing");

		esc_error(errors, "%s: routing: expected a mapping of severities", where);
		free(where);
	}
	for (int i = 0; severities[i]; i++) {
		jv v = jsonl_get(jv_copy(routing), severities[i]), route;

		if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
			continue;
		}
		route = route_of(cf, severities[i], v, errors);
		if (!jv_is_valid(route))
			continue;
		check_route(p, cf, root, severities[i], route, errors);
		p->routes = jv_object_set(p->routes, jv_string(severities[i]), route);
	}
	jv_free(routing);
	/* each channel checks its own settings, sending nothing; no store is open yet */
	for (size_t i = 0; i < p->nch; i++) {
		char *err = NULL;

		if (channel_run(&p->ch[i], "--check", "", "/tmp", &err)) {
			esc_error(errors, "channel '%s' is not usable: %s", p->ch[i].name, err);
			free(err);
		}
	}
}

void
esc_free(esc_paths *p)
{
	for (size_t i = 0; i < p->nch; i++) {
		free(p->ch[i].name);
		free(p->ch[i].prog);
		free(p->ch[i].error);
		for (char **e = p->ch[i].envp; e && *e; e++)
			free(*e);
		free(p->ch[i].envp);
		jv_free(p->ch[i].batch);
	}
	free(p->ch);
	jv_free(p->routes);
}

void
esc_queue(esc_paths *p, jv route, const char *id)
{
	jv notify = jsonl_get(jv_copy(route), "notify");

	jv_array_foreach(notify, i, n) {
		esc_channel *c = channel_get(p, jv_string_value(n));

		(void)i;
		if (c)
			c->batch = jv_array_append(c->batch, jv_string(id));
		jv_free(n);
	}
	jv_free(notify);
}

/* what a channel is sent: one finding as it is, several as one digest; as JSON Lines */
static char *
payload(esc_channel *c, jv findings, const char *note)
{
	int n = jv_array_length(jv_copy(c->batch));
	jv list = jv_array(), pl;
	char *line;

	jv_array_foreach(c->batch, j, id) {
		(void)j;
		list = jv_array_append(list, jsonl_get(jv_copy(findings), jv_string_value(id)));
		jv_free(id);
	}
	if (n == 1 && !note) {
		pl = jv_array_get(list, 0);
	} else {
		char *title = xasprintf("mallcop: %d finding%s", n, n == 1 ? "" : "s");

		pl = jv_object_set(jv_object(), jv_string("kind"), jv_string("digest"));
		pl = jv_object_set(pl, jv_string("title"), jv_string(title));
		if (note)
			pl = jv_object_set(pl, jv_string("note"), jv_string(note));
		pl = jv_object_set(pl, jv_string("findings"), list);
		free(title);
	}
	pl = jv_dump_string(pl, 0);
	line = xasprintf("%s\n", jv_string_value(pl));
	jv_free(pl);
	return line;
}

void
esc_deliver(esc_paths *p, jv findings, const char *note, const char *spool)
{
	for (size_t i = 0; i < p->nch; i++) {
		esc_channel *c = &p->ch[i];
		char *line, *err = NULL;

		if (jv_array_length(jv_copy(c->batch)) == 0)
			continue;
		line = payload(c, findings, note);
		c->ok = channel_run(c, NULL, line, spool, &err) == 0;
		c->error = err;
		free(line);
	}
}
