/* mallcop-escalate: open findings through the actor chain, then to a human */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "cfg.h"
#include "cli.h"
#include "escalate.h"
#include "event.h"
#include "finding.h"
#include "human.h"
#include "jsonl.h"
#include "llm.h"
#include "patrol.h"
#include "plugin.h"
#include "store.h"
#include "ts.h"
#include "util.h"
#include "yamljv.h"

static const char usage[] =
    "usage: mallcop-escalate [--dir DIR] [--human | --jsonl] [--no-actors]\n"
    "                        [--backend anthropic|openai-compat|bedrock|claude-code]\n"
    "                        [--wait[=SECONDS]] [--check] [--patrol NAME] [-]";

/* budget defaults: a donut is 1,000 tokens, input and output together (mallcop.7) */
enum { MAX_FINDINGS = 25, MAX_DONUTS_RUN = 500, MAX_DONUTS_FINDING = 50, SQUELCH = 5 };

typedef struct run {
	const char *root;
	cfg cf;
	store st;
	int have_store;
	esc_paths paths;	/* routes and channels */
	actor_env env;
	int llm;		/* a model may be called */
	double squelch;
	long max_findings;
	jv findings;		/* this run's findings as they are now: {id: finding} */
	jv decisions;		/* one per finding handled */
	jv errors;
	size_t resolved, escalated, squelched, hard, unrouted, skipped, failsafe;
	int breaker, budget_spent;
} run;

static long
budget_key(run *r, const char *key, const char *legacy, long dflt)
{
	char *path = xasprintf("budget.%s", key), *err = NULL;
	long v;

	if (legacy) {
		char *lp = xasprintf("budget.%s", legacy);
		jv has = cfg_get(&r->cf, path), old = cfg_get(&r->cf, lp);

		/* the earlier keys counted tokens */
		if (!jv_is_valid(has) && jv_get_kind(old) == JV_KIND_NUMBER)
			dflt = (long)(jv_number_value(old) / 1000);
		jv_free(has);
		jv_free(old);
		free(lp);
	}
	if (cfg_int(&r->cf, path, dflt, 0, 100000000, &v, &err)) {
		esc_error(&r->errors, "%s", err);
		free(err);
		v = dflt;
	}
	free(path);
	return v;
}

/* the last annotation with this action, or invalid */
static jv
last_note(jv f, const char *action)
{
	jv anns = jsonl_get(jv_copy(f), "annotations"), out = jv_invalid();

	if (jv_get_kind(anns) == JV_KIND_ARRAY)
		jv_array_foreach(anns, i, a) {
			(void)i;
			if (streq(event_str(a, "action"), action)) {
				jv_free(out);
				out = a;
			} else {
				jv_free(a);
			}
		}
	jv_free(anns);
	return out;
}

static double
nevents(jv f)
{
	jv ids = jsonl_get(jv_copy(f), "event_ids");
	double n = jv_get_kind(ids) == JV_KIND_ARRAY ? jv_array_length(jv_copy(ids)) : 0;

	jv_free(ids);
	return n;
}

/* the last note with this action still holds: no event was added to the finding since */
static int
still_noted(jv f, const char *action)
{
	jv d = last_note(f, action);
	int yes = jv_is_valid(d) && jsonl_num(d, "events", -1) == nevents(f);

	jv_free(d);
	return yes;
}

typedef struct change {
	const char *status;
	jv note;	/* consumed by the change, may be invalid */
} change;

static jv
apply(jv f, void *arg)
{
	change *c = arg;

	if (c->status)
		f = jv_object_set(f, jv_string("status"), jv_string(c->status));
	if (jv_is_valid(c->note)) {
		f = finding_annotate(f, c->note);
		c->note = jv_invalid();
	}
	return f;
}

/* a finding of the store changed (status and/or a note); this run's copy follows */
static void
change_finding(run *r, const char *id, const char *status, jv note)
{
	change c = {status, note};
	char *err = NULL;
	jv out, f;

	if (r->have_store && finding_change(&r->st, id, r->env.wait_ms, apply, &c, &out, &err) == 0) {
		r->findings = jv_object_set(r->findings, jv_string(id), out);
	} else {
		if (err) {
			warnf("%s: %s", id, err);
			free(err);
		}
		f = jsonl_get(jv_copy(r->findings), id);
		if (jv_is_valid(f))
			r->findings = jv_object_set(r->findings, jv_string(id), apply(f, &c));
		else
			jv_free(f);
	}
	jv_free(c.note);
}

static jv
note_with_events(jv note, jv f)
{
	return jv_object_set(note, jv_string("events"), jv_number(nevents(f)));
}

/* queue a finding for its route's channels */
static void
to_human(run *r, jv f, jv route, const char *why)
{
	const char *id = event_str(f, "id");

	if (why)
		change_finding(r, id, NULL, finding_annotation("mallcop-escalate", why, "escalated",
		    NULL));
	esc_queue(&r->paths, route, id);
}

static void
record(run *r, jv f, const char *what, jv decision)
{
	jv d = jv_is_valid(decision) ? decision : jv_object();

	d = jv_object_set(d, jv_string("finding_id"), jv_string(event_str(f, "id")));
	d = jv_object_set(d, jv_string("severity"), jv_string(event_str(f, "severity")));
	d = jv_object_set(d, jv_string("outcome"), jv_string(what));
	r->decisions = jv_array_append(r->decisions, d);
}

/* the finding as the store holds it now, with the actors' notes, is this run's copy */
static void
reload(run *r, const char *id)
{
	jv cur = jsonl_get(jv_copy(r->findings), id);

	if (r->have_store) {
		char *err = NULL;
		jv all = store_findings(&r->st, NULL, &err);
		jv now = jv_is_valid(all) ? finding_get(all, id) : jv_invalid();

		free(err);
		if (jv_is_valid(now)) {
			jv_free(cur);
			cur = now;
		} else {
			jv_free(now);
		}
		jv_free(all);
	}
	if (jv_is_valid(cur))
		r->findings = jv_object_set(r->findings, jv_string(id), cur);
	else
		jv_free(cur);
}

/* a finding the chain is not to see goes to a human as it is: 1 when f is one */
static int
bypass(run *r, jv f, jv route, int has_chain)
{
	const char *det = event_str(f, "detector");

	if (!has_chain) {
		to_human(r, f, route, NULL);
		record(r, f, "to_human", jv_invalid());
	} else if (actor_human_only(det)) {
		char *why = xasprintf("%s findings always go to a human: no model may resolve them",
		    det);

		r->hard++;
		to_human(r, f, route, why);
		record(r, f, "hard_constraint", jv_invalid());
		free(why);
	} else if (r->breaker) {
		to_human(r, f, route, NULL);
		record(r, f, "circuit_breaker", jv_invalid());
	} else if (!r->llm) {
		r->failsafe++;
		to_human(r, f, route, "no LLM is configured: not triaged, sent to a human");
		record(r, f, "not_triaged", jv_invalid());
	} else if (r->env.run_tokens == 0) {
		r->budget_spent = 1;
		to_human(r, f, route, "the run's token budget is spent: not triaged, sent to a human");
		record(r, f, "budget_exhausted", jv_invalid());
	} else {
		return 0;
	}
	return 1;
}

/* the chain's decision (consumed) carried out: resolved, held back, or sent to a human */
static void
decide(run *r, jv f, jv route, jv dec)
{
	const char *id = event_str(f, "id");

	if (streq(event_str(dec, "cause"), "budget"))
		r->budget_spent = 1;
	if (streq(event_str(dec, "action"), "resolved")) {
		r->resolved++;
		change_finding(r, id, "resolved", jv_invalid());
		record(r, f, "resolved", dec);
	} else if (streq(event_str(dec, "cause"), "model") &&
	    jsonl_num(dec, "confidence", 0) < r->squelch) {
		/* a model's unsure escalation is held back; a failure never is */
		r->squelched++;
		change_finding(r, id, "squelched", finding_annotation("mallcop-squelch",
		    "held back: the model escalated with a confidence below the squelch "
		    "threshold", "squelched", NULL));
		record(r, f, "squelched", dec);
	} else {
		r->escalated++;
		to_human(r, f, route, NULL);
		record(r, f, "escalated", dec);
	}
}

/* one finding on its route */
static void
handle(run *r, jv f)
{
	jv route = jsonl_get(jv_copy(r->paths.routes), event_str(f, "severity")), chain, dec;

	if (!jv_is_valid(route)) {
		r->unrouted++;
		jv_free(route);
		return;
	}
	chain = jsonl_get(jv_copy(route), "chain");
	if (still_noted(f, "delivery_failed")) {
		/* decided on an earlier run, its delivery failed: only deliver again */
		to_human(r, f, route, NULL);
		record(r, f, "delivery_retried", jv_invalid());
	} else if (!bypass(r, f, route, jv_array_length(jv_copy(chain)) > 0)) {
		dec = actor_chain(&r->env, f, chain);
		reload(r, event_str(f, "id"));
		decide(r, f, route, dec);
	}
	jv_free(chain);
	jv_free(route);
}

/* the circuit breaker's finding, as it is when count findings tripped it */
static jv
breaker_record(run *r, size_t count)
{
	char t[TS_BUFSZ], *title;
	jv f, m;

	title = xasprintf("Circuit breaker: %zu open findings, more than the %ld the actors may "
	    "take; no model was called", count, r->max_findings);
	m = jv_object_set(jv_object(), jv_string("open_findings"), jv_number((double)count));
	m = jv_object_set(m, jv_string("threshold"), jv_number((double)r->max_findings));
	f = jv_object();
	f = jv_object_set(f, jv_string("id"), jv_string("fnd_circuit_breaker"));
	f = jv_object_set(f, jv_string("timestamp"), jv_string(ts_format(ts_now(), t)));
	f = jv_object_set(f, jv_string("detector"), jv_string("circuit-breaker"));
	f = jv_object_set(f, jv_string("event_ids"), jv_array());
	f = jv_object_set(f, jv_string("title"), jv_string(title));
	f = jv_object_set(f, jv_string("severity"), jv_string("critical"));
	f = jv_object_set(f, jv_string("status"), jv_string("open"));
	f = jv_object_set(f, jv_string("annotations"), jv_array());
	f = jv_object_set(f, jv_string("metadata"), m);
	free(title);
	return f;
}

/* the circuit breaker's finding: one, updated on every trip */
static void
breaker_finding(run *r, size_t count)
{
	char *err = NULL;
	jv all, f;
	int at = -1;

	if (!r->have_store)
		return;
	f = breaker_record(r, count);
	if (store_lock(&r->st, r->env.wait_ms, &err) ||
	    !jv_is_valid(all = store_findings(&r->st, NULL, &err))) {
		warnf("%s", err);
		free(err);
		jv_free(f);
		return;
	}
	jv_array_foreach(all, i, x) {
		if (streq(event_str(x, "id"), "fnd_circuit_breaker"))
			at = i;
		jv_free(x);
	}
	all = at >= 0 ? jv_array_set(all, at, jv_copy(f)) : jv_array_append(all, jv_copy(f));
	if (finding_save(&r->st, all, &err)) {
		warnf("%s", err);
		free(err);
	}
	r->findings = jv_object_set(r->findings, jv_string("fnd_circuit_breaker"), f);
}

/* {id: [the index of each channel it went to]} */
static jv
channels_by_finding(run *r)
{
	jv ids = jv_object();

	for (size_t i = 0; i < r->paths.nch; i++)
		jv_array_foreach(r->paths.ch[i].batch, j, id) {
			jv was = jsonl_get(jv_copy(ids), jv_string_value(id));

			(void)j;
			if (!jv_is_valid(was)) {
				jv_free(was);
				was = jv_array();
			}
			ids = jv_object_set(ids, id, jv_array_append(was, jv_number((double)i)));
		}
	return ids;
}

/* a finding's trail says where it went (which: channel indexes, consumed), or why it did not;
 * 1 when every channel took it */
static int
note_delivery(run *r, const char *id, jv which)
{
	jv f = jsonl_get(jv_copy(r->findings), id), names = jv_array(), note;
	char *fails = NULL, *joined, *text;
	int ok;

	jv_array_foreach(which, j, k) {
		esc_channel *c = &r->paths.ch[(int)jv_number_value(k)];

		(void)j;
		names = jv_array_append(names, jv_string(c->name));
		if (!c->ok) {
			char *t = xasprintf("%s%s%s", fails ? fails : "", fails ? "; " : "",
			    c->error ? c->error : c->name);

			free(fails);
			fails = t;
		}
		jv_free(k);
	}
	jv_free(which);
	joined = jsonl_join(names, ", ");
	text = xasprintf("%s %s", fails ? "not delivered to" : "delivered to", joined);
	note = finding_annotation("mallcop-escalate", text, fails ? "delivery_failed" : "delivered",
	    fails);
	change_finding(r, id, NULL, note_with_events(note, f));
	ok = !fails;
	free(text);
	free(joined);
	free(fails);
	jv_free(f);
	return ok;
}

/* each delivered finding's trail says where it went, or why it did not: {id: "delivered"
 * | "failed"} */
static jv
mark_delivered(run *r)
{
	jv ids = channels_by_finding(r), report = jv_object();

	jv_object_foreach(ids, id, which) {
		int ok = note_delivery(r, jv_string_value(id), which);

		report = jv_object_set(report, id, jv_string(ok ? "delivered" : "failed"));
	}
	jv_free(ids);
	return report;
}

/* USD per million tokens by model, from share/mallcop/pricing.yaml (the deployment's first) */
static double
cost(run *r, jv usage, jv *unpriced)
{
	char *text = plugin_data(r->root, "pricing.yaml", NULL), *err = NULL;
	jv p = text ? yamljv_parse(text, strlen(text), NULL, &err) : jv_invalid(), models;
	double usd = 0;

	free(text);
	free(err);
	models = jsonl_get(p, "models");
	*unpriced = jv_array();
	jv_object_foreach(usage, m, u) {
		jv price = jsonl_get(jv_copy(models), jv_string_value(m));

		if (jv_get_kind(price) == JV_KIND_OBJECT)
			usd += (jsonl_num(u, "tokens_in", 0) * jsonl_num(price, "input", 0) +
			    jsonl_num(u, "tokens_out", 0) * jsonl_num(price, "output", 0)) / 1e6;
		else
			*unpriced = jv_array_append(*unpriced, jv_copy(m));
		jv_free(price);
		jv_free(m);
		jv_free(u);
	}
	jv_free(usage);
	jv_free(models);
	return usd;
}

/* one line per run in .mallcop/costs.jsonl, appended whole; -1 when it could not be */
static int
log_costs(run *r, jv result)
{
	char *path, t[TS_BUFSZ], *err = NULL;
	jv line;
	int bad = 0;

	if (!r->have_store)
		return 0;
	line = jv_object();
	line = jv_object_set(line, jv_string("timestamp"), jv_string(ts_format(ts_now(), t)));
	line = jv_object_set(line, jv_string("findings"), jsonl_get(jv_copy(result),
	    "findings_processed"));
	line = jv_object_set(line, jv_string("actors_invoked"), jv_bool(jv_object_length(
	    jv_copy(r->env.usage)) > 0));
	for (const char *const *k = (const char *const[]){"donuts_used", "tokens_in", "tokens_out",
	    "cost_usd", "unpriced_models", "circuit_breaker_triggered", "budget_exhausted",
	    "budget_remaining_pct", NULL}; *k; k++)
		line = jv_object_set(line, jv_string(*k), jsonl_get(jv_copy(result), *k));
	line = jv_object_set(line, jv_string("models"), jv_copy(r->env.usage));
	path = xasprintf("%s/costs.jsonl", r->st.dir);
	if (jsonl_append(path, line, &err)) {
		warnf("%s", err);
		free(err);
		bad = -1;
	}
	free(path);
	return bad;
}

static int
by_severity(const void *a, const void *b)
{
	const jv *x = a, *y = b;
	int d = finding_rank(event_str(*y, "severity")) - finding_rank(event_str(*x, "severity"));

	return d ? d : strcmp(event_str(*x, "timestamp"), event_str(*y, "timestamp"));
}

static void
print_human(jv res, jv decisions)
{
	printf("escalate: %s\n", event_str(res, "status"));
	printf("  findings: %.0f handled, %.0f resolved, %.0f escalated, %.0f squelched, "
	    "%.0f sent to a human\n", jsonl_num(res, "findings_processed", 0),
	    jsonl_num(res, "resolved", 0), jsonl_num(res, "escalated", 0),
	    jsonl_num(res, "squelched", 0), jsonl_num(res, "delivered", 0));
	{
		jv llm = jsonl_get(jv_copy(res), "llm");

		if (jv_get_kind(llm) == JV_KIND_NULL)
			printf("  no LLM configured: findings went to a human untriaged\n");
		jv_free(llm);
	}
	if (jv_get_kind(jsonl_get(jv_copy(res), "circuit_breaker_triggered")) == JV_KIND_TRUE)
		printf("  circuit breaker: too many open findings, no model was called\n");
	if (jsonl_num(res, "skipped_lines", 0) > 0)
		printf("  %.0f input lines skipped: not findings\n",
		    jsonl_num(res, "skipped_lines", 0));
	printf("  donuts: %.1f (%.0f tokens in, %.0f out), USD %.4f\n",
	    jsonl_num(res, "donuts_used", 0), jsonl_num(res, "tokens_in", 0),
	    jsonl_num(res, "tokens_out", 0), jsonl_num(res, "cost_usd", 0));
	jv_array_foreach(decisions, i, d) {
		(void)i;
		printf("  %-8s %-22s %-16s ", event_str(d, "severity"), event_str(d, "finding_id"),
		    event_str(d, "outcome"));
		human_put(stdout, event_str(d, "reason"));
		putchar('\n');
		jv_free(d);
	}
	jv_free(decisions);
	jv_free(res);
}

typedef struct opts {
	const char *dir, *backend, *patrol;
	int human, jsonl, no_actors, from_stdin, check;
	long wait_ms;
} opts;

static void
parse_flags(int argc, char **argv, opts *o)
{
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"human", no_argument, NULL, 'u'},
		{"jsonl", no_argument, NULL, 'j'},
		{"no-actors", no_argument, NULL, 'n'},
		{"backend", required_argument, NULL, 'b'},
		{"wait", optional_argument, NULL, 'w'},
		{"check", no_argument, NULL, 'c'},
		{"patrol", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof *o);
	o->wait_ms = 2000;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->dir = optarg; break;
		case 'u': o->human = 1; break;
		case 'j': o->jsonl = 1; break;
		case 'n': o->no_actors = 1; break;
		case 'b': o->backend = optarg; break;
		case 'w': o->wait_ms = cli_wait_ms(optarg); break;
		case 'c': o->check = 1; break;
		case 'p': o->patrol = optarg; break;
		case 'h':
			puts(usage);
			exit(0);
		default:
			fprintf(stderr, "%s\n", usage);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc && streq(argv[optind], "-")) {
		o->from_stdin = 1;
		optind++;
	}
	if (optind < argc) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	}
	if (o->backend && !streq(o->backend, "anthropic") && !streq(o->backend, "openai-compat") &&
	    !streq(o->backend, "bedrock") && !streq(o->backend, "claude-code"))
		die(EXIT_USAGE, "--backend '%s': anthropic, openai-compat, bedrock or claude-code",
		    o->backend);
	o->human = cli_output(o->human, o->jsonl, usage);
}

/* the budgets and the squelch threshold of mallcop.yaml */
static void
load_budgets(run *r)
{
	long squelch;
	char *err = NULL;

	r->max_findings = budget_key(r, "max_findings_for_actors", NULL, MAX_FINDINGS);
	r->env.run_tokens = budget_key(r, "max_donuts_per_run", "max_tokens_per_run",
	    MAX_DONUTS_RUN) * 1000;
	r->env.finding_tokens = budget_key(r, "max_donuts_per_finding", "max_tokens_per_finding",
	    MAX_DONUTS_FINDING) * 1000;
	if (r->env.run_tokens == 0)
		r->env.run_tokens = -1;	/* 0: no cap */
	if (cfg_int(&r->cf, "squelch", SQUELCH, 0, 10, &squelch, &err)) {
		esc_error(&r->errors, "%s", err);
		free(err);
	}
	r->squelch = squelch / 10.0;
}

/* the model the actors call, when one is configured and the actors are wanted */
static void
open_llm(run *r, const opts *o)
{
	jv llmconf = cfg_get(&r->cf, "llm"), conf;
	char *err = NULL;

	if (o->no_actors || (!o->backend && (!jv_is_valid(llmconf) ||
	    jv_get_kind(llmconf) == JV_KIND_NULL))) {
		jv_free(llmconf);
		return;
	}
	conf = jv_null();
	if (jv_is_valid(llmconf) && jv_get_kind(llmconf) != JV_KIND_NULL &&
	    cfg_resolve(&r->cf, jv_copy(llmconf), "llm", &conf, NULL, &err)) {
		esc_error(&r->errors, "%s", err);
		free(err);
		err = NULL;
		conf = jv_null();
	}
	if (!(r->env.l = llm_open(conf, o->backend, &err))) {
		esc_error(&r->errors, "llm: %s", err ? err : "not usable");
		free(err);
	}
	r->llm = r->env.l != NULL;
	jv_free(conf);
	jv_free(llmconf);
}

/* mallcop.yaml, and every route, channel and model setting checked before any model is called */
static void
run_open(run *r, const opts *o)
{
	char *err = NULL;

	memset(r, 0, sizeof *r);
	r->root = store_root(o->dir);
	r->errors = jv_array();
	r->decisions = jv_array();
	r->findings = jv_object();
	actor_env_init(&r->env);
	if (cfg_load(&r->cf, r->root, &err))
		cli_fail(EXIT_WORK, o->human, "%s", err);
	/* a patrol's budget, chain and channels, for this run only */
	if (o->patrol && patrol_apply(&r->cf, o->patrol, &err))
		cli_fail(EXIT_WORK, o->human, "%s", err);
	jv_free(r->env.config);
	r->env.config = jv_copy(r->cf.root);
	r->env.wait_ms = o->wait_ms;
	esc_load(&r->paths, &r->cf, r->root, &r->errors);
	load_budgets(r);
	open_llm(r, o);
}

/* a setting is not usable: say every problem, send nothing, call no model */
static void __attribute__((noreturn))
fail_setup(run *r, int human)
{
	char *joined = jsonl_join(jv_copy(r->errors), "; ");

	if (!human) {
		jv e = cli_result();

		e = jv_object_set(e, jv_string("status"), jv_string("error"));
		e = jv_object_set(e, jv_string("error"), jv_string(joined));
		e = jv_object_set(e, jv_string("errors"), jv_copy(r->errors));
		cli_emit(e);
	}
	jv_array_foreach(r->errors, i, m) {
		(void)i;
		warnf("%s", jv_string_value(m));
		jv_free(m);
	}
	warnf("nothing was sent and no model was called: fix mallcop.yaml or the "
	    "environment and run again");
	free(joined);
	exit(EXIT_WORK);	/* what was loaded goes with the process */
}

/*
 * The skills an actor could load, checked as load-skill would: {loadable: N, refused: [{name,
 * source, status, reason}]}, or {error} when they cannot be looked at
 */
static jv
check_skills(const char *root)
{
	char *err = NULL;
	skill_set *ss = skill_set_open(root, NULL, NULL, &err);
	jv list, refused = jv_array(), out = jv_object();
	int loadable = 0;

	if (!ss) {
		out = jv_object_set(out, jv_string("error"), jv_string(err ? err : "cannot open"));
		free(err);
		jv_free(refused);
		return out;
	}
	list = skill_set_list(ss, (time_t)(ts_now() / TS_SECOND));
	jv_array_foreach(list, i, s) {
		(void)i;
		if (streq(event_str(s, "status"), "valid")) {
			loadable++;
		} else {
			jv x = jv_object();

			x = jv_object_set(x, jv_string("name"), jsonl_get(jv_copy(s), "name"));
			x = jv_object_set(x, jv_string("source"), jsonl_get(jv_copy(s), "source"));
			x = jv_object_set(x, jv_string("status"), jsonl_get(jv_copy(s), "status"));
			x = jv_object_set(x, jv_string("reason"), jsonl_get(jv_copy(s), "reason"));
			refused = jv_array_append(refused, x);
		}
		jv_free(s);
	}
	jv_free(list);
	skill_set_close(ss);
	out = jv_object_set(out, jv_string("loadable"), jv_number(loadable));
	return jv_object_set(out, jv_string("refused"), refused);
}

/*
 * --check: the routes, channels and model settings are usable: nothing more; and which skills
 * load-skill would refuse (reported, not a failure: a refused skill is never loaded)
 */
static void __attribute__((noreturn))
print_check(run *r, int human)
{
	jv ok = cli_result(), sk = check_skills(r->root);

	ok = jv_object_set(ok, jv_string("llm"), r->env.l ? jv_string(llm_provider(r->env.l))
	    : jv_null());
	ok = jv_object_set(ok, jv_string("channels"), jv_number((double)r->paths.nch));
	ok = jv_object_set(ok, jv_string("skills"), jv_copy(sk));
	if (human) {
		printf("escalation paths: ok (%zu channel%s, %s)\n", r->paths.nch,
		    r->paths.nch == 1 ? "" : "s", r->env.l ? llm_provider(r->env.l) : "no LLM: fail-safe");
		human_skills(stdout, sk);
	} else {
		cli_emit(jv_copy(ok));
	}
	jv_free(sk);
	jv_free(ok);
	exit(0);
}

/* the findings on stdin: JSON objects with an id, the other lines counted in *skipped */
static jv
read_stdin(size_t *skipped)
{
	jsonl in;
	jv f, list = jv_array();
	size_t other = 0;

	jsonl_init(&in, stdin, "stdin");
	while (jsonl_next(&in, &f)) {
		if (jv_get_kind(f) == JV_KIND_OBJECT && *event_str(f, "id")) {
			list = jv_array_append(list, f);
		} else {
			other++;
			jv_free(f);
		}
	}
	if (other)
		warnf("stdin: %zu line%s skipped: not a finding (a JSON object with an \"id\")",
		    other, other == 1 ? "" : "s");
	*skipped = in.skipped + other;
	jsonl_done(&in);
	return list;
}

/* the baseline the actors consult; without one they work all the same */
static void
load_baseline(run *r)
{
	char *bpath = xasprintf("%s/baseline.json", r->st.dir), *err = NULL;
	long window = 30;

	cfg_int(&r->cf, "baseline.window_days", 30, 1, 3650, &window, &err);
	free(err);
	err = NULL;
	r->env.b = xmalloc(sizeof *r->env.b);
	if (baseline_load(r->env.b, bpath, (int)window, &err)) {
		warnf("%s: the actors work without a baseline", err);
		free(err);
		baseline_init(r->env.b, (int)window);
	}
	free(bpath);
}

/* the store, locked, its findings, and the baseline */
static jv
read_store(run *r, const opts *o, size_t *skipped)
{
	char *err = NULL;
	jv list;
	int c;

	if (store_open(&r->st, r->root, 1, &err))
		cli_fail(EXIT_WORK, o->human, "%s", err);
	r->have_store = 1;
	r->env.st = &r->st;
	c = store_lock(&r->st, o->wait_ms, &err);
	if (c)
		cli_fail(c > 0 ? EXIT_LOCKED : EXIT_WORK, o->human, "%s", err);
	if (!jv_is_valid(list = store_findings(&r->st, skipped, &err)))
		cli_fail(EXIT_WORK, o->human, "%s", err);
	load_baseline(r);
	return list;
}

/* the open findings of list (consumed) not yet delivered, most severe first; n of them */
static jv *
open_findings(run *r, jv list, size_t *n)
{
	jv *fs = xcalloc((size_t)jv_array_length(jv_copy(list)) + 1, sizeof *fs);

	*n = 0;
	jv_array_foreach(list, i, f) {
		(void)i;
		if (streq(event_str(f, "status"), "open") && !still_noted(f, "delivered")) {
			r->findings = jv_object_set(r->findings, jv_string(event_str(f, "id")),
			    jv_copy(f));
			fs[(*n)++] = f;
		} else {
			if (streq(event_str(f, "status"), "open"))
				r->skipped++;
			jv_free(f);
		}
	}
	jv_free(list);
	qsort(fs, *n, sizeof *fs, by_severity);
	return fs;
}

/*
 * The circuit breaker: more open findings for the actors than they may take trips it, and its
 * own finding goes to whoever gets critical findings. The digest's note when it tripped.
 */
static char *
check_breaker(run *r, jv *fs, size_t n)
{
	size_t gated = 0;
	jv route, bf;

	for (size_t i = 0; i < n; i++) {
		jv chain = jsonl_get(jsonl_get(jv_copy(r->paths.routes), event_str(fs[i], "severity")),
		    "chain");

		gated += jv_get_kind(chain) == JV_KIND_ARRAY && jv_array_length(jv_copy(chain)) > 0 &&
		    !actor_human_only(event_str(fs[i], "detector"));
		jv_free(chain);
	}
	if ((long)gated <= r->max_findings)
		return NULL;
	r->breaker = 1;
	breaker_finding(r, gated);
	route = jsonl_get(jv_copy(r->paths.routes), "critical");
	bf = jsonl_get(jv_copy(r->findings), "fnd_circuit_breaker");
	if (jv_is_valid(route) && jv_is_valid(bf))
		to_human(r, bf, route, NULL);
	jv_free(route);
	jv_free(bf);
	return xasprintf("circuit breaker: %zu open findings for the actors, more than "
	    "max_findings_for_actors (%ld): no model was called; every one is here", gated,
	    r->max_findings);
}

/* every finding on its route, then every channel's batch delivered */
static void
escalate(run *r, const opts *o, jv *fs, size_t n)
{
	char *note = NULL;

	if (r->llm)
		note = check_breaker(r, fs, n);
	else if (!o->no_actors)
		note = xstrdup("no LLM is configured: these findings were not triaged");
	for (size_t i = 0; i < n; i++) {
		handle(r, fs[i]);
		jv_free(fs[i]);
	}
	esc_deliver(&r->paths, r->findings, note, r->have_store ? r->st.dir : "/tmp");
	free(note);
}

/* the findings some channel did not take, in {id: "delivered" | "failed"} (borrowed) */
static size_t
count_failed(jv report)
{
	size_t n = 0;

	jv_object_foreach(report, k, v) {
		n += !streq(jv_string_value(v), "delivered");
		jv_free(k);
		jv_free(v);
	}
	return n;
}

/* res with the tokens the models used and what they cost; *used: the tokens */
static jv
result_usage(run *r, jv res, double *used)
{
	double tin = 0, tout = 0, usd;
	jv unpriced;

	jv_object_foreach(r->env.usage, k, u) {
		tin += jsonl_num(u, "tokens_in", 0);
		tout += jsonl_num(u, "tokens_out", 0);
		jv_free(k);
		jv_free(u);
	}
	usd = cost(r, jv_copy(r->env.usage), &unpriced);
	res = jv_object_set(res, jv_string("tokens_in"), jv_number(tin));
	res = jv_object_set(res, jv_string("tokens_out"), jv_number(tout));
	res = jv_object_set(res, jv_string("donuts_used"), jv_number((tin + tout) / 1000));
	res = jv_object_set(res, jv_string("cost_usd"), jv_number(usd));
	*used = tin + tout;
	return jv_object_set(res, jv_string("unpriced_models"), unpriced);
}

/* what is left of the run's budget after used tokens, in percent */
static double
budget_left(run *r, double used)
{
	double cap = (double)budget_key(r, "max_donuts_per_run", "max_tokens_per_run",
	    MAX_DONUTS_RUN) * 1000;

	return cap > 0 ? (cap > used ? (cap - used) / cap * 100 : 0) : 100;
}

/* the run's result: what became of the findings, the channels and the budget */
static jv
result(run *r, jv report, size_t skipped_lines)
{
	size_t failed_n = count_failed(report);
	const struct { const char *key; size_t n; } counts[] = {
		{"findings_processed", (size_t)jv_array_length(jv_copy(r->decisions))},
		{"resolved", r->resolved}, {"escalated", r->escalated},
		{"squelched", r->squelched}, {"hard_constraint", r->hard},
		{"not_triaged", r->failsafe}, {"unrouted", r->unrouted},
		{"already_delivered", r->skipped},
		{"delivered", (size_t)jv_object_length(jv_copy(report)) - failed_n},
		{"delivery_failed", failed_n},
	};
	jv res = cli_result();
	double used;

	if (failed_n) {
		res = jv_object_set(res, jv_string("status"), jv_string("error"));
		res = jv_object_set(res, jv_string("error"), jv_string("a channel did not take "
		    "the findings: they stay open and are sent again on the next run"));
	}
	res = jv_object_set(res, jv_string("llm"), r->env.l ? jv_string(llm_provider(r->env.l))
	    : jv_null());
	for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
		res = jv_object_set(res, jv_string(counts[i].key), jv_number((double)counts[i].n));
	res = jv_object_set(res, jv_string("circuit_breaker_triggered"), jv_bool(r->breaker));
	res = jv_object_set(res, jv_string("budget_exhausted"), jv_bool(r->budget_spent));
	res = result_usage(r, res, &used);
	res = jv_object_set(res, jv_string("skipped_lines"), jv_number((double)skipped_lines));
	res = jv_object_set(res, jv_string("budget_remaining_pct"), jv_number(budget_left(r, used)));
	/* the earlier implementation's: a run that walked the chain was not skipped */
	res = jv_object_set(res, jv_string("skipped"), jv_false());
	res = jv_object_set(res, jv_string("reason"), jv_null());
	return jv_object_set(res, jv_string("channels"), report);
}

/* the result (consumed) as --jsonl decisions, --human text or one JSON object; -1 when the
 * write failed */
static int
print_result(run *r, const opts *o, jv res)
{
	if (o->jsonl) {
		jv_free(res);
		jv_array_foreach(r->decisions, i, d) {
			(void)i;
			jsonl_put(stdout, d);
		}
		return fshut(stdout, "stdout");
	}
	if (o->human) {
		print_human(res, jv_copy(r->decisions));
		return fshut(stdout, "stdout");
	}
	res = jv_object_set(res, jv_string("decisions"), jv_copy(r->decisions));
	return cli_emit(res) ? -1 : 0;
}

static void
run_close(run *r)
{
	esc_free(&r->paths);
	if (r->env.b) {
		baseline_free(r->env.b);
		free(r->env.b);
	}
	llm_close(r->env.l);
	actor_env_free(&r->env);
	jv_free(r->findings);
	jv_free(r->decisions);
	jv_free(r->errors);
	cfg_free(&r->cf);
	if (r->have_store)
		store_close(&r->st);
}

int
main(int argc, char **argv)
{
	opts o;
	run r;
	size_t n, skipped_lines = 0;
	jv *fs, res;
	int failed;

	setargv0(argv[0]);
	parse_flags(argc, argv, &o);
	run_open(&r, &o);
	if (jv_array_length(jv_copy(r.errors)) > 0)
		fail_setup(&r, o.human);
	if (o.check)
		print_check(&r, o.human);
	fs = open_findings(&r, o.from_stdin ? read_stdin(&skipped_lines) :
	    read_store(&r, &o, &skipped_lines), &n);
	escalate(&r, &o, fs, n);
	free(fs);
	res = result(&r, mark_delivered(&r), skipped_lines);
	failed = streq(event_str(res, "status"), "error");
	if (log_costs(&r, res))
		failed = 1;
	if (print_result(&r, &o, res))
		failed = 1;
	run_close(&r);
	return failed ? EXIT_WORK : 0;
}
