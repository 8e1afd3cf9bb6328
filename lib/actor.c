/* actor: see actor.h */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actor.h"
#include "event.h"
#include "finding.h"
#include "jsonl.h"
#include "plugin.h"
#include "ts.h"
#include "util.h"
#include "yamljv.h"

enum { DEFAULT_ITERATIONS = 10, DEFAULT_REPLY_TOKENS = 2048, TOOL_LIMIT = 50,
	SEARCH_DAYS = 30, HIDDEN_WORD_MIN = 4, ID_SHOWN = 100 };

static const char *const human_only[] = {
	"priv-escalation", "log-format-drift", "injection-probe", "boundary-violation", NULL,
};

int
actor_human_only(const char *detector)
{
	for (int i = 0; human_only[i]; i++)
		if (streq(detector, human_only[i]))
			return 1;
	return 0;
}

void
actor_def_free(actor_def *a)
{
	free(a->name);
	free(a->model);
	free(a->prompt);
	jv_free(a->tools);
	memset(a, 0, sizeof *a);
	a->tools = jv_null();
}

int
actor_load(const char *root, const char *name, actor_def *a, char **err)
{
	char *rel = xasprintf("actors/%s/manifest.yaml", name), *where = NULL, *text, *yerr = NULL;
	jv m, v;

	memset(a, 0, sizeof *a);
	a->tools = jv_array();
	text = plugin_data(root, rel, &where);
	free(rel);
	if (!text) {
		*err = xasprintf("no actor '%s': no actors/%s/manifest.yaml in the deployment or "
		    "the installed share/mallcop", name, name);
		return -1;
	}
	m = yamljv_parse(text, strlen(text), NULL, &yerr);
	free(text);
	if (!jv_is_valid(m) || jv_get_kind(m) != JV_KIND_OBJECT) {
		*err = xasprintf("%s:%s", where, yerr ? yerr : " not a mapping");
		free(yerr);
		free(where);
		jv_free(m);
		return -1;
	}
	a->name = xstrdup(name);
	v = jsonl_get(jv_copy(m), "model");
	a->model = xstrdup(jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "haiku");
	jv_free(v);
	a->max_iterations = (int)jsonl_int(jsonl_get(jv_copy(m), "max_iterations"), 0, 51,
	    DEFAULT_ITERATIONS);
	if (a->max_iterations < 1 || a->max_iterations > 50)
		a->max_iterations = DEFAULT_ITERATIONS;
	a->max_tokens = (int)jsonl_int(jsonl_get(jv_copy(m), "max_tokens"), 0, 32769,
	    DEFAULT_REPLY_TOKENS);
	if (a->max_tokens < 256 || a->max_tokens > 32768)
		a->max_tokens = DEFAULT_REPLY_TOKENS;
	v = jsonl_get(jv_copy(m), "tools");
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		jv_free(a->tools);
		a->tools = v;
	} else {
		jv_free(v);
	}
	jv_free(m);
	rel = xasprintf("actors/%s/POST.md", name);
	a->prompt = plugin_data(root, rel, NULL);
	free(rel);
	if (!a->prompt)
		a->prompt = xasprintf("You are the %s actor of mallcop, a security monitor.", name);
	free(where);
	return 0;
}

void
actor_env_init(actor_env *e)
{
	memset(e, 0, sizeof *e);
	e->config = jv_object();
	e->usage = jv_object();
	e->run_tokens = -1;
	e->wait_ms = 10000;
	e->hidden = jv_invalid();
	e->skill_log = jv_array();
	airlock_init(&e->air);
	if (getenv("MALLCOP_ACTOR_TRACE") && *getenv("MALLCOP_ACTOR_TRACE"))
		e->trace = fopen(getenv("MALLCOP_ACTOR_TRACE"), "ae");
}

void
actor_env_free(actor_env *e)
{
	jv_free(e->config);
	jv_free(e->usage);
	jv_free(e->hidden);
	free(e->hidden_error);
	if (e->skills)
		skill_set_close(e->skills);
	free(e->skills_error);
	jv_free(e->skill_log);
	if (e->trace)
		fclose(e->trace);
}

/* ---- tools ---- */

static jv
schema(const char *props, const char *required)
{
	char *s = xasprintf("{\"type\":\"object\",\"properties\":%s%s%s}", props,
	    required ? ",\"required\":" : "", required ? required : "");
	jv v = jv_parse(s);

	free(s);
	return v;
}

static const struct tool {
	const char *name, *description, *props, *required;
} tools[] = {
	{"read-finding", "The finding with its annotations.",
	    "{\"finding_id\":{\"type\":\"string\"}}", "[\"finding_id\"]"},
	{"read-events", "Events: those of a finding, or the latest of a source and/or actor.",
	    "{\"finding_id\":{\"type\":\"string\"},\"source\":{\"type\":\"string\"},"
	    "\"actor\":{\"type\":\"string\"},\"limit\":{\"type\":\"integer\"}}", NULL},
	{"search-events", "The latest events of the last 30 days whose actor, target, action, "
	    "type or source contain the query (case-insensitive).",
	    "{\"query\":{\"type\":\"string\"},\"source\":{\"type\":\"string\"},"
	    "\"actor\":{\"type\":\"string\"},\"limit\":{\"type\":\"integer\"}}", "[\"query\"]"},
	{"search-findings", "Other findings, by actor, detector or status.",
	    "{\"actor\":{\"type\":\"string\"},\"detector\":{\"type\":\"string\"},"
	    "\"status\":{\"type\":\"string\"},\"limit\":{\"type\":\"integer\"}}", NULL},
	{"check-baseline", "What the baseline knows of an actor (its actions, targets, hours) or "
	    "of any other name (an IP, a target, a source).",
	    "{\"actor\":{\"type\":\"string\"},\"entity\":{\"type\":\"string\"}}", NULL},
	{"baseline-stats", "The size of the baseline: events learned, actors, sources.", "{}", NULL},
	{"read-config", "The deployment's configuration, secrets removed.", "{}", NULL},
	{"load-skill", "Load a skill of the catalogue in your instructions: signed domain "
	    "knowledge (its parents' first) on a cloud or a kind of attack.",
	    "{\"skill_name\":{\"type\":\"string\"}}", "[\"skill_name\"]"},
	{"annotate-finding", "Add a note to the finding's trail.",
	    "{\"finding_id\":{\"type\":\"string\"},\"text\":{\"type\":\"string\"}}",
	    "[\"finding_id\",\"text\"]"},
	{"resolve-finding", "Decide the finding, exactly once: resolved (legitimate, with "
	    "evidence) or escalated (to a human).",
	    "{\"finding_id\":{\"type\":\"string\"},\"action\":{\"type\":\"string\","
	    "\"enum\":[\"resolved\",\"escalated\"]},\"reason\":{\"type\":\"string\"},"
	    "\"confidence\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}}",
	    "[\"finding_id\",\"action\",\"reason\",\"confidence\"]"},
	{NULL, NULL, NULL, NULL},
};

static const struct tool *
tool_find(const char *name)
{
	for (const struct tool *t = tools; t->name; t++)
		if (streq(t->name, name))
			return t;
	return NULL;
}

/* 1 when the actor a may call the tool name */
static int
has_tool(const actor_def *a, const char *name)
{
	int yes = 0;

	jv_array_foreach(a->tools, i, t) {
		(void)i;
		yes |= jv_get_kind(t) == JV_KIND_STRING && streq(jv_string_value(t), name);
		jv_free(t);
	}
	return yes;
}

static jv
tool_schemas(jv names)
{
	jv out = jv_array();

	jv_array_foreach(names, i, n) {
		const struct tool *t = jv_get_kind(n) == JV_KIND_STRING
		    ? tool_find(jv_string_value(n)) : NULL;

		(void)i;
		if (t) {
			jv s = jv_object_set(jv_object(), jv_string("name"), jv_string(t->name));

			s = jv_object_set(s, jv_string("description"), jv_string(t->description));
			s = jv_object_set(s, jv_string("input_schema"), schema(t->props, t->required));
			out = jv_array_append(out, s);
		}
		jv_free(n);
	}
	jv_free(names);
	return out;
}

/* an event for the model: everything but raw, which can be large and says it again */
static jv
slim(jv ev)
{
	return jv_object_delete(ev, jv_string("raw"));
}

/* ---- what no model may see ---- */

/* the strings of v (consumed) long enough to be told apart, added to words */
static jv
words_of(jv words, jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		if (strlen(jv_string_value(v)) >= HIDDEN_WORD_MIN)
			return jv_array_append(words, v);
		break;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, k, x) {
			jv_free(k);
			words = words_of(words, x);
		}
		break;
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, x) {
			(void)i;
			words = words_of(words, x);
		}
		break;
	default:
		break;
	}
	jv_free(v);
	return words;
}

/*
 * The findings of human-only detectors (whatever their status) and their events, loaded once
 * a run: the ids of those events, and their text (action, target, metadata) that the
 * baseline may have learned. Borrowed.
 */
static jv
hidden(actor_env *e)
{
	jv all, ids, set, words, evs;

	if (jv_is_valid(e->hidden))
		return e->hidden;
	ids = jv_array();
	set = jv_object();
	words = jv_array();
	char *err = NULL;

	all = e->st ? store_findings(e->st, NULL, &err) : jv_array();
	if (!jv_is_valid(all)) {
		/* not knowing what is hidden, a model is shown nothing of the store */
		jv_free(all);
		all = jv_array();
		e->hidden_error = err;
	}
	jv_array_foreach(all, i, f) {
		jv eids = jsonl_get(jv_copy(f), "event_ids");

		(void)i;
		if (actor_human_only(event_str(f, "detector")) && jv_get_kind(eids) == JV_KIND_ARRAY)
			jv_array_foreach(eids, j, id) {
				(void)j;
				if (jv_get_kind(id) == JV_KIND_STRING) {
					set = jv_object_set(set, jv_copy(id), jv_true());
					ids = jv_array_append(ids, id);
				} else {
					jv_free(id);
				}
			}
		jv_free(eids);
		jv_free(f);
	}
	jv_free(all);
	evs = e->st ? finding_events(e->st, ids, NULL) : (jv_free(ids), jv_array());
	jv_array_foreach(evs, i, ev) {
		(void)i;
		words = words_of(words, jsonl_get(jv_copy(ev), "action"));
		words = words_of(words, jsonl_get(jv_copy(ev), "target"));
		words = words_of(words, jsonl_get(ev, "metadata"));
	}
	jv_free(evs);
	e->hidden = jv_object_set(jv_object_set(jv_object(), jv_string("events"), set),
	    jv_string("words"), words);
	return e->hidden;
}

/* an event (borrowed) of a human-only finding */
static int
hidden_event(actor_env *e, jv ev)
{
	return jv_object_has(jsonl_get(jv_copy(hidden(e)), "events"),
	    jv_string(event_str(ev, "id")));
}

static int
hidden_text(actor_env *e, const char *s)
{
	jv words = jsonl_get(jv_copy(hidden(e)), "words");
	int hit = 0;

	jv_array_foreach(words, i, w) {
		(void)i;
		hit |= strcasestr(s, jv_string_value(w)) != NULL;
		jv_free(w);
	}
	jv_free(words);
	return hit;
}

/*
 * v (consumed) without the text of hidden events: the baseline learned from every event, so
 * an actor's profile can hold a target or a role only such an event had. Keys holding it go,
 * strings holding it are withheld.
 */
static jv
scrub(actor_env *e, jv v)
{
	jv out;

	switch (jv_get_kind(v)) {
	case JV_KIND_OBJECT:
		out = jv_object();
		jv_object_foreach(v, k, x) {
			if (hidden_text(e, jv_string_value(k))) {
				jv_free(k);
				jv_free(x);
			} else {
				out = jv_object_set(out, k, scrub(e, x));
			}
		}
		break;
	case JV_KIND_ARRAY:
		out = jv_array();
		jv_array_foreach(v, i, x) {
			(void)i;
			if (jv_get_kind(x) == JV_KIND_STRING && hidden_text(e, jv_string_value(x)))
				jv_free(x);
			else
				out = jv_array_append(out, scrub(e, x));
		}
		break;
	case JV_KIND_STRING:
		if (!hidden_text(e, jv_string_value(v)))
			return v;
		out = jv_string("[withheld]");
		break;
	default:
		return v;
	}
	jv_free(v);
	return out;
}

/* a finding (borrowed) as a model may see it: without the ids of hidden events */
static jv
shown(actor_env *e, jv finding)
{
	jv ids = jsonl_get(jv_copy(finding), "event_ids"), keep = jv_array();
	jv set = jsonl_get(jv_copy(hidden(e)), "events");

	if (jv_get_kind(ids) != JV_KIND_ARRAY) {
		jv_free(ids);
		jv_free(keep);
		jv_free(set);
		return jv_copy(finding);
	}
	jv_array_foreach(ids, i, id) {
		(void)i;
		if (jv_get_kind(id) == JV_KIND_STRING && jv_object_has(jv_copy(set), jv_copy(id)))
			jv_free(id);
		else
			keep = jv_array_append(keep, id);
	}
	jv_free(ids);
	jv_free(set);
	return jv_object_set(jv_copy(finding), jv_string("event_ids"), keep);
}

/* the events of a finding (borrowed) a model may see, at most limit; *withheld counts the others */
static jv
visible_events(actor_env *e, jv finding, int limit, int *withheld)
{
	jv evs = finding_events(e->st, jsonl_get(jv_copy(finding), "event_ids"), NULL);
	jv out = jv_array();

	*withheld = 0;
	jv_array_foreach(evs, i, ev) {
		(void)i;
		if (hidden_event(e, ev)) {
			++*withheld;
			jv_free(ev);
		} else if (jv_array_length(jv_copy(out)) < limit) {
			out = jv_array_append(out, slim(ev));
		} else {
			jv_free(ev);
		}
	}
	jv_free(evs);
	return out;
}

typedef struct search {
	actor_env *e;
	const char *query, *source, *actor;
	int limit;
	jv found;	/* the newest `limit`, oldest first */
} search;

static int
contains_ci(const char *hay, const char *needle)
{
	return !*needle || strcasestr(hay, needle) != NULL;
}

static int
search_one(jv ev, const char *text, void *arg)
{
	search *s = arg;
	char *hay;
	int hit;

	(void)text;
	if ((s->source && !streq(event_str(ev, "source"), s->source)) ||
	    (s->actor && strcasecmp(event_str(ev, "actor"), s->actor)) || hidden_event(s->e, ev)) {
		jv_free(ev);
		return 0;
	}
	hay = xasprintf("%s %s %s %s %s", event_str(ev, "actor"), event_str(ev, "target"),
	    event_str(ev, "action"), event_str(ev, "event_type"), event_str(ev, "source"));
	hit = contains_ci(hay, s->query);
	free(hay);
	if (!hit) {
		jv_free(ev);
		return 0;
	}
	s->found = jv_array_append(s->found, slim(ev));
	if (jv_array_length(jv_copy(s->found)) > s->limit)
		s->found = jv_array_slice(s->found, 1, s->limit + 1);
	return 0;
}

static jv
events_search(store *st, search *s)
{
	int64_t since = ts_now() - (int64_t)SEARCH_DAYS * 86400 * TS_SECOND;
	char t[TS_BUFSZ];
	store_file *files;
	size_t n;

	ts_format(since, t);
	n = store_event_files(st, (t[0] - '0') * 100000 + (t[1] - '0') * 10000 +
	    (t[2] - '0') * 1000 + (t[3] - '0') * 100 + (t[5] - '0') * 10 + (t[6] - '0'), &files,
	    NULL);
	s->found = jv_array();
	for (size_t i = 0; i < n; i++)
		store_each_event(&files[i], since, search_one, s, NULL);
	store_files_free(files, n);
	return s->found;
}

static const char *
arg_str(jv args, const char *key)
{
	return event_field(args, key);
}

static int
arg_limit(jv args)
{
	return (int)jsonl_int(jsonl_get(jv_copy(args), "limit"), 1, TOOL_LIMIT, TOOL_LIMIT);
}

/* secrets out of the configuration: values under keys that name one, and ${VAR} texts */
static jv
redact(jv v, int secret)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_OBJECT: {
		jv out = jv_object();

		jv_object_foreach(v, k, x) {
			const char *key = jv_string_value(k);
			int s = secret || strcasestr(key, "secret") || strcasestr(key, "token") ||
			    strcasestr(key, "password") || strcasestr(key, "key") ||
			    strcasestr(key, "credential") || strcasestr(key, "webhook") ||
			    strcasestr(key, "url");

			out = jv_object_set(out, k, redact(x, s));
		}
		jv_free(v);
		return out;
	}
	case JV_KIND_ARRAY: {
		jv out = jv_array();

		jv_array_foreach(v, i, x) {
			(void)i;
			out = jv_array_append(out, redact(x, secret));
		}
		jv_free(v);
		return out;
	}
	case JV_KIND_STRING:
		if (secret || strstr(jv_string_value(v), "${")) {
			jv_free(v);
			return jv_string("[redacted]");
		}
		return v;
	default:
		return v;
	}
}

typedef struct note {
	const char *actor, *text, *action, *reason;
} note;

static jv
add_note(jv f, void *arg)
{
	note *n = arg;

	return finding_annotate(f, finding_annotation(n->actor, n->text, n->action, n->reason));
}

/* an annotation on a finding in the store; 0, 1 when the finding is not there, -1 */
static int
annotate(actor_env *e, const char *id, note *n, char **err)
{
	jv out;
	int r;

	if (!e->st)
		return 1;
	r = finding_change(e->st, id, e->wait_ms, add_note, n, &out, err);
	if (r == 0)
		jv_free(out);
	return r == 75 ? -1 : r;
}

static jv
tool_error(const char *fmt, const char *a)
{
	char *m = xasprintf(fmt, a);
	jv v = jv_object_set(jv_object(), jv_string("error"), jv_string(m));

	free(m);
	return v;
}

/* ---- skills ---- */

enum { CATALOGUE_TEXT = 240 };

/* the deployment's skills, opened at first use; NULL when they cannot be (skills_error says why) */
static skill_set *
skills(actor_env *e)
{
	char *err = NULL;

	if (!e->skills && !e->skills_error) {
		e->skills = skill_set_open(e->st ? e->st->root : ".", NULL, NULL, &err);
		if (!e->skills)
			e->skills_error = err ? err : xstrdup("the skills cannot be opened");
	}
	return e->skills;
}

static time_t
now_s(void)
{
	return (time_t)(ts_now() / TS_SECOND);
}

/* load-skill: the skill's text, or why it is refused; each call is kept for the run's output */
static jv
load_skill(actor_env *e, const actor_def *a, jv args)
{
	const char *name = arg_str(args, "skill_name");
	jv r, entry;

	jv given = jsonl_get(jv_copy(args), "skill_name");
	int cut = name && (size_t)jv_string_length_bytes(jv_copy(given)) != strlen(name);

	jv_free(given);
	if (!name)
		return tool_error("%s", "skill_name is required: a name from the catalogue");
	if (cut)	/* a NUL inside: never taken for the name before it */
		return tool_error("%s", "skill_name holds a NUL: not a skill name");
	if (skills(e)) {
		r = skill_set_load(e->skills, name, now_s());
	} else {
		r = jv_object_set(jv_object(), jv_string("skill"), jv_string(name));
		r = jv_object_set(r, jv_string("error"),
		    jv_string_fmt("no skill can be loaded: %s", e->skills_error));
	}
	entry = jv_object_set(jv_object(), jv_string("actor"), jv_string(a->name));
	entry = jv_object_set(entry, jv_string("skill"), jv_string_fmt("%.*s", ID_SHOWN, name));
	if (event_field(r, "error") || !event_field(r, "context")) {
		entry = jv_object_set(entry, jv_string("loaded"), jv_false());
		entry = jv_object_set(entry, jv_string("error"), jv_string(event_field(r, "error")
		    ? event_field(r, "error") : "no text"));
	} else {
		entry = jv_object_set(entry, jv_string("loaded"), jv_true());
		entry = jv_object_set(entry, jv_string("verified_by"),
		    jsonl_get(jv_copy(r), "verified_by"));
	}
	e->skill_log = jv_array_append(e->skill_log, entry);
	return r;
}

/* one line of the catalogue: its control characters made spaces, cut */
static void
catalogue_line(char **text, const char *name, const char *what, const char *parent)
{
	char *line = xasprintf("- %.*s: %.*s%s%.*s%s\n", ID_SHOWN, name, CATALOGUE_TEXT, what,
	    parent ? " (its parent, loaded with it: " : "", ID_SHOWN, parent ? parent : "",
	    parent ? ")" : ""), *p, *joined;

	for (p = line; *p && p[1]; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	joined = xasprintf("%s%s", *text, line);
	free(*text);
	free(line);
	*text = joined;
}

/* what an actor with load-skill is told it may load: "" when it has no such tool or none would */
static char *
skill_catalogue(actor_env *e, const actor_def *a)
{
	char *text = xstrdup("");
	jv cat;

	if (!has_tool(a, "load-skill") || !skills(e))
		return text;
	cat = skill_set_catalogue(e->skills, now_s());
	if (jv_get_kind(cat) == JV_KIND_ARRAY && jv_array_length(jv_copy(cat)) > 0) {
		free(text);
		text = xstrdup("## Skills\n\nSigned domain knowledge you can load with load-skill "
		    "before you decide: load the ones that fit the finding's source and kind.\n");
		jv_array_foreach(cat, i, s) {
			(void)i;
			if (jv_get_kind(s) == JV_KIND_OBJECT && event_field(s, "name"))
				catalogue_line(&text, event_field(s, "name"),
				    event_field(s, "description") ? event_field(s, "description")
				    : "", event_field(s, "parent"));
			jv_free(s);
		}
		catalogue_line(&text, "", "", NULL);	/* a blank line after the list */
	}
	jv_free(cat);
	return text;
}

/*
 * Run one tool (not resolve-finding; args borrowed): its result as JSON. A finding_id in args
 * is the finding's own (actor_one refuses any other); nothing of a human-only finding is shown.
 */
static jv
tool_run(actor_env *e, const actor_def *a, jv finding, const char *name, jv args)
{
	const char *fid = event_str(finding, "id");

	(void)hidden(e);
	if (e->hidden_error)
		return tool_error("%s", e->hidden_error);
	if (streq(name, "read-finding"))
		return shown(e, finding);
	if (streq(name, "read-events") || streq(name, "search-events")) {
		search s = {.e = e, .query = arg_str(args, "query"), .source = arg_str(args, "source"),
		    .actor = arg_str(args, "actor"), .limit = arg_limit(args)};
		const char *id = arg_str(args, "finding_id");
		int withheld;

		if (!s.query)
			s.query = "";
		if (streq(name, "read-events") && (id || (!s.source && !s.actor)))
			return e->st ? visible_events(e, finding, s.limit, &withheld)
			    : tool_error("%s", "no store");
		return e->st ? events_search(e->st, &s) : jv_array();
	}
	if (streq(name, "search-findings")) {
		const char *actor = arg_str(args, "actor"), *det = arg_str(args, "detector");
		const char *status = arg_str(args, "status");
		int limit = arg_limit(args);
		char *err = NULL;
		jv all = e->st ? store_findings(e->st, NULL, &err) : jv_array(), out = jv_array();

		if (!jv_is_valid(all)) {
			jv_free(out);
			out = tool_error("%s", err);
			free(err);
			return out;
		}

		jv_array_foreach(all, i, f) {
			jv m = jsonl_get(jv_copy(f), "metadata");

			(void)i;
			if (!actor_human_only(event_str(f, "detector")) &&
			    (!det || streq(event_str(f, "detector"), det)) &&
			    (!status || streq(event_str(f, "status"), status)) &&
			    (!actor || (event_field(m, "actor") &&
			    strcasestr(event_field(m, "actor"), actor))) &&
			    jv_array_length(jv_copy(out)) < limit)
				out = jv_array_append(out, shown(e, f));
			jv_free(f);
			jv_free(m);
		}
		jv_free(all);
		return out;
	}
	if (streq(name, "check-baseline")) {
		const char *actor = arg_str(args, "actor"), *entity = arg_str(args, "entity");

		if (!e->b)
			return tool_error("%s", "no baseline yet");
		if (actor)
			return scrub(e, baseline_actor(e->b, actor));
		if (entity)
			return baseline_entity(e->b, entity);
		return tool_error("%s", "give actor or entity");
	}
	if (streq(name, "baseline-stats"))
		return e->b ? baseline_stats(e->b) : tool_error("%s", "no baseline yet");
	if (streq(name, "read-config"))
		return redact(jv_copy(e->config), 0);
	if (streq(name, "load-skill"))
		return load_skill(e, a, args);
	if (streq(name, "annotate-finding")) {
		const char *text = arg_str(args, "text");
		note n = {.actor = a->name, .text = text, .action = "annotate"};
		char *err = NULL;
		int r;

		if (!text)
			return tool_error("%s", "text is required");
		r = annotate(e, fid, &n, &err);
		if (r) {
			jv v = tool_error("cannot annotate: %s", err ? err : "not in the store");

			free(err);
			return v;
		}
		return jv_object_set(jv_object(), jv_string("annotated"), jv_string(fid));
	}
	return tool_error("no tool '%s'", name);
}

/* the finding a tool call's arguments (borrowed) name when it is not this one, or NULL */
static char *
other_finding(jv finding, jv args)
{
	jv id = jsonl_get(jv_copy(args), "finding_id"), d;
	char *other = NULL;

	if (jv_get_kind(id) == JV_KIND_STRING) {
		if (!streq(jv_string_value(id), event_str(finding, "id")))
			other = xstrdup(jv_string_value(id));
	} else if (jv_is_valid(id) && jv_get_kind(id) != JV_KIND_NULL) {
		d = jv_dump_string(jv_copy(id), 0);
		other = xstrdup(jv_string_value(d));
		jv_free(d);
	}
	jv_free(id);
	return other;
}

/*
 * A call of tool naming another finding: refused. The refusal is annotated on the finding under
 * triage and added to *refused; what the model is told is returned.
 */
static jv
refuse(actor_env *e, const char *actor, jv finding, const char *tool, const char *other,
    jv *refused)
{
	const char *fid = event_str(finding, "id");
	char *text = xasprintf("refused %s on finding '%.*s': an actor acts only on the finding "
	    "under triage", tool, ID_SHOWN, other), *err = NULL;
	note n = {.actor = actor, .text = text, .action = "refused"};
	jv r = jv_object();

	if (annotate(e, fid, &n, &err) < 0) {
		warnf("%s: cannot annotate: %s", fid, err ? err : "the store is locked");
		free(err);
	}
	free(text);
	r = jv_object_set(r, jv_string("actor"), jv_string(actor));
	r = jv_object_set(r, jv_string("tool"), jv_string(tool));
	r = jv_object_set(r, jv_string("finding_id"), jv_string_fmt("%.*s", ID_SHOWN, other));
	*refused = jv_array_append(*refused, r);
	text = xasprintf("refused: you examine finding %s only; %s may not act on finding '%.*s'",
	    fid, tool, ID_SHOWN, other);
	r = tool_error("%s", text);
	free(text);
	return r;
}

/* ---- decisions ---- */

static jv
decision(jv finding, const char *actor, const char *action, const char *reason,
    double confidence, const char *cause)
{
	jv r = jv_object();

	r = jv_object_set(r, jv_string("finding_id"), jv_string(event_str(finding, "id")));
	r = jv_object_set(r, jv_string("action"), jv_string(action));
	r = jv_object_set(r, jv_string("reason"), jv_string(reason));
	r = jv_object_set(r, jv_string("confidence"), jv_number(confidence));
	r = jv_object_set(r, jv_string("actor"), jv_string(actor));
	return jv_object_set(r, jv_string("cause"), jv_string(cause));
}

/*
 * The model's decision from resolve-finding's arguments, or an error for the model to correct.
 * Confidence is on one scale, 0 to 1; a model that answers on a 1-5 scale is brought to it.
 */
static jv
resolution(jv finding, const char *actor, jv args, char **complaint)
{
	const char *action = arg_str(args, "action"), *reason = arg_str(args, "reason");
	double c = jsonl_number(jsonl_get(jv_copy(args), "confidence"), -1);

	*complaint = NULL;
	if (!action || (!streq(action, "resolved") && !streq(action, "escalated"))) {
		*complaint = xstrdup("action must be \"resolved\" or \"escalated\"");
		return jv_invalid();
	}
	if (!reason) {
		*complaint = xstrdup("reason is required: cite the evidence");
		return jv_invalid();
	}
	if (c > 1 && c <= 5)
		c /= 5;
	if (c < 0 || c > 1)
		c = 0.5;
	if (streq(action, "resolved") && actor_human_only(event_str(finding, "detector"))) {
		char *r = xasprintf("%s findings always go to a human; the model's reason to "
		    "resolve: %s", event_str(finding, "detector"), reason);
		jv d = decision(finding, actor, "escalated", r, c, "model");

		free(r);
		return d;
	}
	return decision(finding, actor, action, reason, c, "model");
}

static void
count_usage(actor_env *e, jv reply)
{
	const char *model = event_str(reply, "model");
	jv u = jsonl_get(jv_copy(e->usage), *model ? model : "unknown");
	double in = jsonl_number(jsonl_get(jv_copy(reply), "tokens_in"), 0);
	double out = jsonl_number(jsonl_get(jv_copy(reply), "tokens_out"), 0);

	if (jv_get_kind(u) != JV_KIND_OBJECT) {
		jv_free(u);
		u = jv_object();
	}
	u = jv_object_set(u, jv_string("tokens_in"),
	    jv_number(jsonl_number(jsonl_get(jv_copy(u), "tokens_in"), 0) + in));
	u = jv_object_set(u, jv_string("tokens_out"),
	    jv_number(jsonl_number(jsonl_get(jv_copy(u), "tokens_out"), 0) + out));
	u = jv_object_set(u, jv_string("calls"),
	    jv_number(jsonl_number(jsonl_get(jv_copy(u), "calls"), 0) + 1));
	e->usage = jv_object_set(e->usage, jv_string(*model ? model : "unknown"), u);
}

/* the first message: what to do, and the finding, its events and its actors' baselines */
static char *
briefing(actor_env *e, jv finding)
{
	int withheld = 0;
	jv evs = e->st ? visible_events(e, finding, TOOL_LIMIT, &withheld) : jv_array();
	jv actors = jv_array(), base = jv_object(), d1, d2, d3;
	jv m = jsonl_get(jv_copy(finding), "metadata");
	char *text, *also;

	if (event_field(m, "actor"))	/* metadata may be missing from a finding on stdin */
		actors = jv_array_append(actors, jv_string(event_field(m, "actor")));
	jv_free(m);
	jv_array_foreach(evs, i, ev) {
		const char *who = event_str(ev, "actor");
		int seen = 0;

		jv_array_foreach(actors, j, x) {
			(void)j;
			seen |= streq(jv_string_value(x), who);
			jv_free(x);
		}
		if (!seen && *who && jv_array_length(jv_copy(actors)) < 5)
			actors = jv_array_append(actors, jv_string(who));
		jv_free(ev);
	}
	if (e->b)
		jv_array_foreach(actors, i, x) {
			(void)i;
			base = jv_object_set(base, jv_copy(x),
			    scrub(e, baseline_actor(e->b, jv_string_value(x))));
			jv_free(x);
		}
	jv_free(actors);
	d1 = jv_dump_string(airlock_json(&e->air, shown(e, finding)), 0);
	d2 = jv_dump_string(airlock_json(&e->air, evs), 0);
	d3 = jv_dump_string(airlock_json(&e->air, base), 0);
	also = withheld ? xasprintf(" (%d more withheld: they belong to findings only a human may "
	    "see)", withheld) : xstrdup("");
	text = xasprintf("A finding of the deployment needs a decision. Examine it with the tools, "
	    "then call resolve-finding exactly once.\n\nThe finding (id %s):\n%s\n\nIts events%s:"
	    "\n%s\n\nThe baseline of its actors:\n%s\n", event_str(finding, "id"),
	    jv_string_value(d1), also, jv_string_value(d2), jv_string_value(d3));
	free(also);
	jv_free(d1);
	jv_free(d2);
	jv_free(d3);
	return text;
}

enum { TEXT_DECISION_MAX = 64 * 1024, TEXT_DECISION_TRIES = 64 };

/* the '}' that closes the object opening at p (strings and escapes minded), or NULL */
static const char *
object_end(const char *p, const char *end)
{
	int depth = 0, str = 0;

	for (; p < end; p++) {
		if (str) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '"')
				str = 0;
		} else if (*p == '"') {
			str = 1;
		} else if (*p == '{') {
			depth++;
		} else if (*p == '}' && --depth == 0) {
			return p;
		}
	}
	return NULL;
}

/*
 * A decision written as JSON in the text, by a model that does not call tools well: the
 * balanced objects of the text's first TEXT_DECISION_MAX bytes, outer ones first, at most
 * TEXT_DECISION_TRIES of them, so that a hostile reply cannot make this cost much.
 */
static jv
text_resolution(actor_env *e, const char *actor, jv finding, const char *text, jv *refused)
{
	size_t len = strnlen(text, TEXT_DECISION_MAX);
	const char *end = text + len, *p = memchr(text, '{', len), *q;
	int tries = 0;

	for (; p && tries++ < TEXT_DECISION_TRIES; p = memchr(p + 1, '{', (size_t)(end - p - 1))) {
		if (!(q = object_end(p, end)))
			continue;
		jv j = jsonl_parse(p, (size_t)(q - p + 1)), r;
		char *complaint, *other;

		if (jv_get_kind(j) == JV_KIND_OBJECT && event_field(j, "action") &&
		    (other = other_finding(finding, j))) {
			jv_free(refuse(e, actor, finding, "resolve-finding", other, refused));
			free(other);
		} else if (jv_get_kind(j) == JV_KIND_OBJECT && event_field(j, "action")) {
			r = resolution(finding, actor, j, &complaint);
			jv_free(j);
			free(complaint);
			if (jv_is_valid(r))
				return r;
			jv_free(r);
			continue;
		}
		jv_free(j);
	}
	return jv_invalid();
}

/* one actor on one finding; calls naming another finding are refused and added to *refused */
static jv
actor_one(actor_env *e, const actor_def *a, jv finding, long *tokens, int *iterations,
    jv *refused)
{
	char *brief = briefing(e, finding), *rules = airlock_rules(&e->air), *system;
	char *catalogue = skill_catalogue(e, a);
	jv msgs, schemas = tool_schemas(jv_copy(a->tools)), out = jv_invalid();
	const char *model = llm_model(e->l, a->model);

	system = xasprintf("%s\n\n%s\n%s## Deciding\n\nDecide by calling resolve-finding exactly "
	    "once, with action \"resolved\" or \"escalated\", a reason that cites the evidence, "
	    "and your confidence in the decision from 0 to 1.\n", a->prompt, rules, catalogue);
	free(catalogue);
	msgs = jv_array_append(jv_array(), jv_object_set(jv_object_set(jv_object(),
	    jv_string("role"), jv_string("user")), jv_string("content"), jv_string(brief)));
	free(brief);
	free(rules);
	for (int it = 0; it < a->max_iterations && !jv_is_valid(out); it++) {
		jv reply, calls;
		char *err = NULL;
		long used;

		if ((e->finding_tokens > 0 && *tokens >= e->finding_tokens) || e->run_tokens == 0) {
			out = decision(finding, a->name, "escalated", e->run_tokens == 0 ?
			    "the run's token budget is spent: not examined" :
			    "the finding's token budget is spent before a decision", 0, "budget");
			break;
		}
		*iterations = it + 1;
		if (llm_chat(e->l, model, system, jv_copy(msgs), jv_copy(schemas), a->max_tokens,
		    &reply, &err)) {
			out = decision(finding, a->name, "escalated", err ? err : "backend error", 0,
			    "backend");
			free(err);
			break;
		}
		count_usage(e, reply);
		if (e->trace)
			jsonl_put(e->trace, jv_object_set(jv_copy(reply), jv_string("actor"),
			    jv_string(a->name)));
		used = (long)(jsonl_number(jsonl_get(jv_copy(reply), "tokens_in"), 0) +
		    jsonl_number(jsonl_get(jv_copy(reply), "tokens_out"), 0));
		*tokens += used;
		if (e->run_tokens > 0)
			e->run_tokens = e->run_tokens > used ? e->run_tokens - used : 0;
		calls = jsonl_get(jv_copy(reply), "tool_calls");
		if (jv_get_kind(calls) != JV_KIND_ARRAY || jv_array_length(jv_copy(calls)) == 0) {
			out = text_resolution(e, a->name, finding, event_str(reply, "text"),
			    refused);
			if (!jv_is_valid(out)) {
				jv_free(out);
				out = decision(finding, a->name, "escalated", "the model answered "
				    "without calling a tool or deciding", 0, "invalid");
			}
			jv_free(calls);
			jv_free(reply);
			break;
		}
		{
			jv am = jv_object();

			am = jv_object_set(am, jv_string("role"), jv_string("assistant"));
			am = jv_object_set(am, jv_string("content"),
			    jv_string(event_str(reply, "text")));
			am = jv_object_set(am, jv_string("tool_calls"), jv_copy(calls));
			msgs = jv_array_append(msgs, am);
		}
		jv_array_foreach(calls, i, call) {
			const char *name = event_str(call, "name");
			jv args = jsonl_get(jv_copy(call), "input"), result, tm, dump;
			char *other = NULL;
			int allowed = has_tool(a, name);

			(void)i;
			if (jv_is_valid(out)) {	/* decided: the rest of the turn is not run */
				result = tool_error("%s", "not run: the finding was decided");
			} else if (!allowed) {
				result = tool_error("no tool '%s' for this actor", name);
			} else if ((other = other_finding(finding, args))) {
				result = refuse(e, a->name, finding, name, other, refused);
				free(other);
			} else if (streq(name, "resolve-finding")) {
				char *complaint = NULL;

				out = resolution(finding, a->name, args, &complaint);
				if (!jv_is_valid(out)) {
					jv_free(out);
					out = jv_invalid();
					result = tool_error("%s", complaint);
				} else {
					result = jv_object_set(jv_object(), jv_string("recorded"),
					    jv_true());
				}
				free(complaint);
			} else {
				result = tool_run(e, a, finding, name, args);
			}
			if (streq(name, "load-skill") && allowed && event_field(result, "context") &&
			    !event_field(result, "error"))
				/* signed by someone the deployment trusts: instructions, not data */
				dump = jv_dump_string(result, 0);
			else
				dump = jv_dump_string(airlock_json(&e->air, result), 0);
			tm = jv_object();
			tm = jv_object_set(tm, jv_string("role"), jv_string("tool"));
			tm = jv_object_set(tm, jv_string("tool_call_id"),
			    jv_string(event_str(call, "id")));
			tm = jv_object_set(tm, jv_string("name"), jv_string(name));
			tm = jv_object_set(tm, jv_string("content"), dump);
			msgs = jv_array_append(msgs, tm);
			jv_free(args);
			jv_free(call);
		}
		jv_free(calls);
		jv_free(reply);
	}
	if (!jv_is_valid(out)) {
		char *r = xasprintf("%d turns without a decision (the actor's limit)",
		    a->max_iterations);

		jv_free(out);
		out = decision(finding, a->name, "escalated", r, 0, "iterations");
		free(r);
	}
	jv_free(msgs);
	jv_free(schemas);
	free(system);
	return out;
}

jv
actor_chain(actor_env *e, jv finding, jv chain)
{
	jv last = jv_invalid(), refused = jv_array();
	long tokens = 0;
	int iterations = 0;

	jv_free(e->skill_log);
	e->skill_log = jv_array();
	/* handled before a chain is walked; here too, so that no caller can show one to a model */
	if (actor_human_only(event_str(finding, "detector"))) {
		char *why = xasprintf("%s findings always go to a human: no model may see them",
		    event_str(finding, "detector"));

		last = decision(finding, "none", "escalated", why, 0, "hard_constraint");
		free(why);
		jv_free(refused);
		goto out;
	}
	jv_array_foreach(chain, i, name) {
		actor_def a;
		char *err = NULL;
		int it = 0;
		note n;

		(void)i;
		if (jv_get_kind(name) != JV_KIND_STRING ||
		    actor_load(e->st ? e->st->root : ".", jv_string_value(name), &a, &err)) {
			jv_free(last);
			last = decision(finding, jv_get_kind(name) == JV_KIND_STRING ?
			    jv_string_value(name) : "?", "escalated", err ? err : "no such actor", 0,
			    "invalid");
			free(err);
			jv_free(name);
			break;
		}
		jv_free(last);
		last = actor_one(e, &a, finding, &tokens, &it, &refused);
		iterations += it;
		n.actor = a.name;
		n.text = event_str(last, "reason");
		n.action = event_str(last, "action");
		n.reason = streq(event_str(last, "cause"), "model") ? NULL : event_str(last, "cause");
		if (annotate(e, event_str(finding, "id"), &n, &err) < 0) {
			warnf("%s: cannot annotate: %s", event_str(finding, "id"), err);
			free(err);
		}
		actor_def_free(&a);
		jv_free(name);
		/* a resolution ends the chain; so does a failure, which goes to a human */
		if (streq(event_str(last, "action"), "resolved") ||
		    !streq(event_str(last, "cause"), "model"))
			break;
	}
	if (!jv_is_valid(last)) {
		jv_free(last);
		last = decision(finding, "none", "escalated", "no actor in the chain", 0, "invalid");
	}
	if (jv_array_length(jv_copy(refused)) > 0)
		last = jv_object_set(last, jv_string("refused"), refused);
	else
		jv_free(refused);
	if (jv_array_length(jv_copy(e->skill_log)) > 0)
		last = jv_object_set(last, jv_string("skills"), jv_copy(e->skill_log));
out:
	last = jv_object_set(last, jv_string("tokens"), jv_number((double)tokens));
	return jv_object_set(last, jv_string("iterations"), jv_number(iterations));
}
