/* auth-failure-burst: many failed logins from one address or account in a short window */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detect.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

#define NAME "auth-failure-burst"

typedef struct fail {
	int64_t us;
	char *id, *actor;
} fail;

/* a burst or a spray going on: the start of its first window, its last failure; 0 none */
typedef struct episode {
	int64_t start, last;
} episode;

enum { BURST, SPRAY };

/* the failures of one key (an IP address, else an actor) within the last window */
typedef struct group {
	char *key;
	int ip;			/* keyed by address: accounts sprayed from it are counted */
	int replay;		/* of events older than the pass had reached: not remembered */
	fail *f;		/* oldest first */
	size_t n, cap;
	jv actors;		/* actor -> its failures in the window */
	int distinct;		/* actors in the window */
	episode ep[2];		/* BURST, SPRAY */
} group;

typedef struct state {
	double window_minutes, threshold, critical, spray_actors;
	int64_t window;
	group **g;
	size_t ng;
	jv index;		/* "[replay:]ip:KEY" or "[replay:]actor:KEY" -> index in g */
	int64_t latest;		/* the newest failure or success seen */
} state;

enum outcome { NONE, FAILURE, SUCCESS };

static const char *const failure_types[] = {
	"login_failure", "sign_in_failure", "auth_failure", "mfa_failure", NULL
};
static const char *const success_types[] = {
	"login_success", "sign_in_success", "auth_success", "mfa_success", NULL
};
/* types whose outcome is in metadata */
static const char *const login_types[] = {"login", "console_login", "sign_in", NULL};
static const char *const succeeded[] = {
	"success", "succeeded", "successful", "ok", "true", NULL
};
/* not an outcome yet: Azure logs a "Started" record before the "Succeeded" or "Failed" one */
static const char *const pending[] = {
	"started", "accepted", "in progress", "in_progress", "pending", NULL
};

static int
in(const char *const *list, const char *s, int icase)
{
	for (; *list; list++)
		if (icase ? !strcasecmp(*list, s) : streq(*list, s))
			return 1;
	return 0;
}

static enum outcome
outcome(const det_event *e)
{
	if (in(failure_types, e->type, 0))
		return FAILURE;
	if (in(success_types, e->type, 0))
		return SUCCESS;
	if (!in(login_types, e->type, 0))
		return NONE;
	if (*det_meta_str(e, "error_code") || *det_meta_str(e, "errorCode"))
		return FAILURE;
	static const char *const fields[] = {"result", "status", "result_status", NULL};
	for (const char *const *f = fields; *f; f++) {
		const char *r = det_meta_str(e, *f);
		if (!*r)
			continue;
		if (in(succeeded, r, 1))
			return SUCCESS;
		return in(pending, r, 1) ? NONE : FAILURE;
	}
	return NONE;	/* a login that does not say how it went is not counted either way */
}

static const char *
ip_of(const det_event *e)
{
	static const char *const keys[] = {"ip", "ip_address", "source_ip", NULL};

	for (const char *const *k = keys; *k; k++) {
		const char *ip = det_meta_str(e, *k);
		if (*ip)
			return ip;
	}
	return "";
}

static group *
find(state *s, const char *key, int ip, int replay, int create)
{
	char *k = xasprintf("%s%s:%s", replay ? "replay:" : "", ip ? "ip" : "actor", key);
	jv at = jv_object_get(jv_copy(s->index), jv_string(k));
	group *g = NULL;

	if (jv_get_kind(at) == JV_KIND_NUMBER)
		g = s->g[(size_t)jv_number_value(at)];
	else if (create) {
		g = xcalloc(1, sizeof *g);
		g->key = xstrdup(key);
		g->ip = ip;
		g->replay = replay;
		g->actors = jv_object();
		s->g = xrealloc(s->g, (s->ng + 1) * sizeof *s->g);
		s->index = jv_object_set(s->index, jv_string(k), jv_number((double)s->ng));
		s->g[s->ng++] = g;
	}
	jv_free(at);
	free(k);
	return g;
}

static void
count_actor(group *g, const char *actor, int by)
{
	jv n = jv_object_get(jv_copy(g->actors), jv_string(actor));
	int was = jv_get_kind(n) == JV_KIND_NUMBER ? (int)jv_number_value(n) : 0;

	jv_free(n);
	if (was + by > 0)
		g->actors = jv_object_set(g->actors, jv_string(actor), jv_number(was + by));
	else
		g->actors = jv_object_delete(g->actors, jv_string(actor));
	g->distinct += (was == 0 && by > 0) - (was + by <= 0 && was > 0);
}

/* drop the failures older than the window ending at now */
static void
prune(const state *s, group *g, int64_t now)
{
	size_t drop = 0;

	while (drop < g->n && g->f[drop].us < now - s->window) {
		count_actor(g, g->f[drop].actor, -1);
		free(g->f[drop].id);
		free(g->f[drop].actor);
		drop++;
	}
	if (drop) {
		memmove(g->f, g->f + drop, (g->n - drop) * sizeof *g->f);
		g->n -= drop;
	}
}

/* a failure into the window, in time order (a late one goes where it belongs) */
static void
add(group *g, int64_t us, const char *id, const char *actor)
{
	size_t at = g->n;

	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->f = xrealloc(g->f, g->cap * sizeof *g->f);
	}
	while (at > 0 && g->f[at - 1].us > us)
		at--;
	memmove(g->f + at + 1, g->f + at, (g->n - at) * sizeof *g->f);
	g->f[at] = (fail){us, xstrdup(id), xstrdup(actor)};
	g->n++;
	count_actor(g, actor, 1);
}

static jv
window_ids(const group *g)
{
	jv ids = jv_array();

	for (size_t i = 0; i < g->n; i++)
		ids = jv_array_append(ids, jv_string(g->f[i].id));
	return ids;
}

static const char *const kinds[] = {"burst", "spray"};

/* a burst is one finding per key and the day it began; a spray one per address */
static char *
fingerprint(const group *g, int k)
{
	char t[TS_BUFSZ];

	if (k == SPRAY)
		return xasprintf("spray:%s", g->key);
	ts_format(g->ep[BURST].start, t);
	return xasprintf("%s:%.10s", g->key, t);
}

static jv
meta_of(const group *g, int k)
{
	jv m = jv_object();

	m = jv_object_set(m, jv_string("kind"), jv_string(kinds[k]));
	m = jv_object_set(m, jv_string("group_key"), jv_string(g->key));
	return jv_object_set(m, jv_string("actors"), jv_keys(jv_copy(g->actors)));
}

/* the episode takes a failure: a new one reports its whole window, a going one the failure */
static void
extend(det_ctx *c, const state *s, group *g, int k, const det_event *e, const char *sev)
{
	episode *ep = &g->ep[k];
	int fresh = !ep->start || e->us - ep->last > s->window;
	int mins = (int)s->window_minutes;
	char *fp, *title;
	jv ids;

	if (fresh)
		ep->start = g->f[0].us;
	ep->last = e->us;
	fp = fingerprint(g, k);
	ids = fresh ? window_ids(g) : JV_ARRAY(jv_string(e->id));
	if (k == BURST)
		title = xasprintf("Auth failure burst: %zu failures from %s within %d min",
		    det_finding_count(c, NAME, fp, jv_copy(ids)), g->key, mins);
	else
		title = xasprintf("Password spray: %d accounts failing to log in from %s within "
		    "%d min", g->distinct, g->key, mins);
	det_finding(c, NAME, sev, fp, ids, meta_of(g, k), "%s", title);
	free(title);
	free(fp);
}

static void
failure(det_ctx *c, state *s, group *g, const det_event *e)
{
	if (g->n >= s->threshold)
		extend(c, s, g, BURST, e, g->n >= s->critical ? "critical" : "warn");
	if (g->ip && g->distinct >= s->spray_actors)
		extend(c, s, g, SPRAY, e, "warn");
}

/* a login that worked right after a burst or a spray: the attacker may have got in */
static void
success(det_ctx *c, state *s, group *g, const det_event *e)
{
	for (int k = BURST; k <= SPRAY; k++) {
		const episode *ep = &g->ep[k];
		if (!ep->start || e->us < ep->start || e->us - ep->last > s->window)
			continue;
		char *fp = fingerprint(g, k);
		jv m = jv_object_set(meta_of(g, k), jv_string("followed_by_success"),
		    jv_string(e->id));
		det_event_finding(c, e, NAME, "critical", fp, m,
		    "%s from %s followed by a successful login of %s",
		    k == BURST ? "Auth failure burst" : "Password spray", g->key, e->actor);
		free(fp);
	}
}

static void
event(det_ctx *c, void *st, const det_event *e)
{
	state *s = st;
	enum outcome o = outcome(e);

	if (o == NONE)
		return;
	const char *ip = ip_of(e), *key = *ip ? ip : e->actor;
	if (!*key)
		return;
	/*
	 * The second look at a learning period, or a straggler far older than the pass has
	 * reached: judged among themselves, not against the current window, and not remembered.
	 */
	int replay = det_in_retrospective(c) || (s->latest && e->us < s->latest - s->window);
	if (!replay && e->us > s->latest)
		s->latest = e->us;
	group *g = find(s, key, *ip != 0, replay, o == FAILURE);
	if (!g)
		return;
	prune(s, g, g->n && g->f[g->n - 1].us > e->us ? g->f[g->n - 1].us : e->us);
	if (o == SUCCESS) {
		success(c, s, g, e);
		return;
	}
	if (g->n && e->us < g->f[g->n - 1].us - s->window)
		return;	/* too late to fall in the window */
	add(g, e->us, e->id, e->actor);
	failure(c, s, g, e);
}

/*
 * Across runs: the failures of the last window and the bursts still going on are kept in the
 * baseline (detector_state), so that a burst split between two runs is still one burst.
 */
static jv
save_group(const state *s, const group *g)
{
	size_t keep = (size_t)s->critical;
	jv f = jv_array(), o = jv_object();

	if (keep < s->spray_actors)
		keep = (size_t)s->spray_actors;
	for (size_t i = g->n > keep ? g->n - keep : 0; i < g->n; i++)
		f = jv_array_append(f, JV_ARRAY(jv_number((double)g->f[i].us),
		    jv_string(g->f[i].id), jv_string(g->f[i].actor)));
	o = jv_object_set(o, jv_string("key"), jv_string(g->key));
	o = jv_object_set(o, jv_string("ip"), jv_bool(g->ip));
	o = jv_object_set(o, jv_string("failures"), f);
	for (int k = BURST; k <= SPRAY; k++)
		o = jv_object_set(o, jv_string(kinds[k]), JV_ARRAY(
		    jv_number((double)g->ep[k].start), jv_number((double)g->ep[k].last)));
	return o;
}

static int64_t
num_at(jv a, int i)
{
	jv n = jv_get_kind(a) == JV_KIND_ARRAY ? jv_array_get(jv_copy(a), i) : jv_invalid();
	return jsonl_int(n, INT64_MIN, INT64_MAX, 0);
}

static void
load_group(state *s, jv o)
{
	jv key = jv_object_get(jv_copy(o), jv_string("key"));
	jv ip = jv_object_get(jv_copy(o), jv_string("ip"));
	jv f = jv_object_get(jv_copy(o), jv_string("failures"));

	if (jv_get_kind(key) == JV_KIND_STRING && jv_get_kind(f) == JV_KIND_ARRAY) {
		group *g = find(s, jv_string_value(key), jv_get_kind(ip) == JV_KIND_TRUE, 0, 1);
		jv_array_foreach(f, i, x) {
			(void)i;
			if (jv_get_kind(x) != JV_KIND_ARRAY || jv_array_length(jv_copy(x)) != 3) {
				jv_free(x);
				continue;
			}
			jv id = jv_array_get(jv_copy(x), 1), who = jv_array_get(jv_copy(x), 2);
			if (jv_get_kind(id) == JV_KIND_STRING && jv_get_kind(who) == JV_KIND_STRING)
				add(g, num_at(x, 0), jv_string_value(id), jv_string_value(who));
			jv_free(id);
			jv_free(who);
			jv_free(x);
		}
		for (int k = BURST; k <= SPRAY; k++) {
			jv ep = jv_object_get(jv_copy(o), jv_string(kinds[k]));
			g->ep[k] = (episode){num_at(ep, 0), num_at(ep, 1)};
			jv_free(ep);
		}
	}
	jv_free(key), jv_free(ip), jv_free(f), jv_free(o);
}

static void
finish(det_ctx *c, void *st)
{
	state *s = st;

	if (!s->latest)
		return;	/* nothing new: what the baseline holds stays as it is */
	jv keep = jv_array();
	for (size_t i = 0; i < s->ng; i++) {
		group *g = s->g[i];
		if (g->replay)
			continue;
		prune(s, g, s->latest);
		if (g->n || s->latest - g->ep[BURST].last <= s->window ||
		    s->latest - g->ep[SPRAY].last <= s->window)
			keep = jv_array_append(keep, save_group(s, g));
	}
	det_remember(c, NAME, keep);
}

static void
stop(void *st)
{
	state *s = st;

	for (size_t i = 0; i < s->ng; i++) {
		group *g = s->g[i];
		for (size_t j = 0; j < g->n; j++) {
			free(g->f[j].id);
			free(g->f[j].actor);
		}
		free(g->f);
		free(g->key);
		jv_free(g->actors);
		free(g);
	}
	free(s->g);
	jv_free(s->index);
	free(s);
}

static char *
setting(jv conf, const char *key, double lo, double *out)
{
	jv v = jv_object_get(jv_copy(conf), jv_string(key));
	char *msg = NULL;

	if (jv_is_valid(v)) {
		double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;
		if (d < lo || d > 1e6 || d != (long long)d)
			msg = xasprintf("detectors." NAME ".%s: expected a whole number of at "
			    "least %g", key, lo);
		*out = d;
	}
	jv_free(v);
	return msg;
}

static void *
start(det_ctx *c, jv conf, char **err)
{
	static const char *const known[] = {
		"window_minutes", "threshold", "critical_threshold", "spray_actors", NULL
	};
	state *s = xcalloc(1, sizeof *s);
	char *msg = NULL;

	s->window_minutes = 30;
	s->threshold = 10;
	s->critical = 50;
	s->spray_actors = 3;
	jv_object_foreach(conf, k, v) {
		if (!msg && !in(known, jv_string_value(k), 0))
			msg = xasprintf("detectors." NAME ".%s: unknown setting (known: "
			    "window_minutes, threshold, critical_threshold, spray_actors)",
			    jv_string_value(k));
		jv_free(k);
		jv_free(v);
	}
	if (!msg)
		msg = setting(conf, "window_minutes", 1, &s->window_minutes);
	if (!msg)
		msg = setting(conf, "threshold", 2, &s->threshold);
	if (s->critical < s->threshold)
		s->critical = 5 * s->threshold;	/* unless set: a threshold above 50 raises it */
	if (!msg)
		msg = setting(conf, "critical_threshold", s->threshold, &s->critical);
	if (!msg)
		msg = setting(conf, "spray_actors", 2, &s->spray_actors);
	jv_free(conf);
	s->window = (int64_t)s->window_minutes * 60 * TS_SECOND;
	s->index = jv_object();
	if (msg) {
		*err = msg;
		stop(s);
		return NULL;
	}
	jv saved = det_memory(c, NAME);
	if (jv_get_kind(saved) == JV_KIND_ARRAY)
		jv_array_foreach(saved, i, o) {
			(void)i;
			if (jv_get_kind(o) == JV_KIND_OBJECT)
				load_group(s, o);
			else
				jv_free(o);
		}
	jv_free(saved);
	return s;
}

const det_ops det_auth_failure_burst = {
	.name = NAME,
	.what = "a burst of failed logins from one address or account, or one address trying "
	    "many accounts",
	.start = start,
	.event = event,
	.finish = finish,
	.stop = stop,
};
