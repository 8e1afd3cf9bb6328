/* mallcop-status: what the deployment holds and how its last scan went */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "human.h"
#include "jsonl.h"
#include "proc.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] = "usage: mallcop-status [--dir DIR] [--costs] [--human]";

static jv
bump(jv counts, const char *key, double by)
{
	jv n = jsonl_get(jv_copy(counts), key);
	double v = jv_get_kind(n) == JV_KIND_NUMBER ? jv_number_value(n) : 0;

	jv_free(n);
	return jv_object_set(counts, jv_string(key), jv_number(v + by));
}

typedef struct bysource {
	jv counts;
} bysource;

static int
count_event(jv ev, const char *text, void *arg)
{
	(void)text;
	bysource *b = arg;

	b->counts = bump(b->counts, event_str(ev, "source"), 1);
	jv_free(ev);
	return 0;
}

/* the last scan of each connector; a manifest of the earlier implementation is read too */
static jv
last_scans(store *st, jv *last_run, int human)
{
	char *err, *path = xasprintf("%s/manifest.json", st->dir);
	char *text = store_read(path, NULL, &err);
	jv m = text ? jv_parse(text) : jv_invalid(), conns;

	if (err)
		cli_fail(EXIT_WORK, human, "%s", err);
	free(text);
	free(path);
	*last_run = jsonl_get(jv_copy(m), "last_run");
	if (!jv_is_valid(*last_run))
		*last_run = jv_null();
	conns = jsonl_get(jv_copy(m), "connectors");
	if (jv_get_kind(conns) != JV_KIND_OBJECT) {
		jv configured = jsonl_get(jv_copy(m), "connectors_configured");
		jv failed = jsonl_get(jv_copy(m), "connectors_failed");

		jv_free(conns);
		conns = jv_object();
		if (jv_get_kind(configured) == JV_KIND_ARRAY)
			jv_array_foreach(configured, i, name) {
				jv f = jv_get_kind(name) == JV_KIND_STRING
				    ? jsonl_get(jv_copy(failed), jv_string_value(name)) : jv_invalid();
				jv s = jv_object_set(jv_object(), jv_string("status"),
				    jv_string(jv_is_valid(f) ? "error" : "ok"));

				(void)i;
				if (jv_is_valid(f))
					s = jv_object_set(s, jv_string("error"),
					    jsonl_get(f, "error"));
				else
					jv_free(f);
				s = jv_object_set(s, jv_string("last_run"), jv_copy(*last_run));
				if (jv_get_kind(name) == JV_KIND_STRING)
					conns = jv_object_set(conns, name, s);
				else
					jv_free(name), jv_free(s);
			}
		jv_free(configured);
		jv_free(failed);
	}
	jv_free(m);
	return conns;
}

/*
 * The connectors mallcop.yaml configures, with their last scan or "never"; without a
 * mallcop.yaml, every connector the last scans name (and config_error says so).
 */
static jv
configured(const cfg *c, int absent, jv scans, jv *r)
{
	jv names, out = jv_object();

	if (absent) {
		*r = jv_object_set(*r, jv_string("config_error"), jv_string("no mallcop.yaml: the "
		    "connectors are those of the last scans; run 'mallcop init'"));
		jv_free(out);
		return scans;
	}
	names = cfg_get(c, "connectors");
	if (jv_get_kind(names) == JV_KIND_OBJECT)
		jv_object_foreach(names, k, v) {
			jv s = jsonl_get(jv_copy(scans), jv_string_value(k));

			out = jv_object_set(out, k, jv_is_valid(s) ? s : (jv_free(s),
			    jv_object_set(jv_object(), jv_string("status"), jv_string("never"))));
			jv_free(v);
		}
	jv_free(names);
	jv_free(scans);
	return out;
}

static void
print_counts(const char *title, jv counts)
{
	if (jv_object_length(jv_copy(counts)) == 0) {
		jv_free(counts);
		return;
	}
	printf("%s:\n", title);
	jv_object_foreach(counts, k, v) {
		printf("  ");
		human_put(stdout, jv_string_value(k));
		printf(": %.0f\n", jv_number_value(v));
		jv_free(k);
		jv_free(v);
	}
	jv_free(counts);
}

/* whether findings can reach a human: mallcop-escalate --check, which sends nothing */
static jv
escalation_health(const char *root)
{
	const char *args[] = {"--dir", root, "--check", NULL};
	jv res, h = jv_object();
	int st = proc_run_json("escalate", args, NULL, &res);

	h = jv_object_set(h, jv_string("status"), jv_string(st == 0 ? "ok" : st < 0 ? "unknown"
	    : "broken"));
	if (st == 0) {
		h = jv_object_set(h, jv_string("llm"), jsonl_get(jv_copy(res), "llm"));
		h = jv_object_set(h, jv_string("channels"), jsonl_get(jv_copy(res), "channels"));
		h = jv_object_set(h, jv_string("skills"), jsonl_get(jv_copy(res), "skills"));
	} else {
		jv errs = jsonl_get(jv_copy(res), "errors");

		if (jv_get_kind(errs) != JV_KIND_ARRAY) {
			jv_free(errs);
			errs = jv_array_append(jv_array(), jsonl_get(jv_copy(res), "error"));
		}
		h = jv_object_set(h, jv_string("errors"), errs);
	}
	jv_free(res);
	return h;
}

static double
num(jv o, const char *k)
{
	return jsonl_number(jsonl_get(jv_copy(o), k), 0);
}

/* the runs of .mallcop/costs.jsonl, summed, with the last seven days beside the whole */
static jv
costs(store *st, int64_t now, int human)
{
	char *err, *path = xasprintf("%s/costs.jsonl", st->dir);
	FILE *f = store_fopen(path, &err);
	double runs = 0, donuts = 0, usd = 0, findings = 0, tin = 0, tout = 0, breaker = 0;
	double spent = 0, wruns = 0, wdonuts = 0, wusd = 0, events = 0;
	jv models = jv_object(), c = jv_object(), week = jv_object();
	jsonl r;
	jv line;

	if (f) {
		jsonl_init(&r, f, path);
		while (jsonl_next(&r, &line)) {
			int64_t us = 0;
			/* the earlier implementation's lines count tokens as donuts_used or tokens_used */
			double d = jv_is_valid(jsonl_get(jv_copy(line), "tokens_in"))
			    ? num(line, "donuts_used") : (num(line, "donuts_used") +
			    num(line, "tokens_used")) / 1000;
			jv m = jsonl_get(jv_copy(line), "models");

			runs++;
			donuts += d;
			findings += num(line, "findings");
			events += num(line, "events");
			tin += num(line, "tokens_in");
			tout += num(line, "tokens_out");
			usd += jv_is_valid(jsonl_get(jv_copy(line), "cost_usd")) ? num(line, "cost_usd")
			    : num(line, "estimated_cost_usd");
			breaker += jv_get_kind(jsonl_get(jv_copy(line), "circuit_breaker_triggered")) ==
			    JV_KIND_TRUE;
			spent += jv_get_kind(jsonl_get(jv_copy(line), "budget_exhausted")) ==
			    JV_KIND_TRUE;
			if (!ts_from_jv(jsonl_get(jv_copy(line), "timestamp"), &us) &&
			    us >= now - 7 * 86400 * TS_SECOND) {
				wruns++;
				wdonuts += d;
				wusd += num(line, "cost_usd");
			}
			if (jv_get_kind(m) == JV_KIND_OBJECT)
				jv_object_foreach(m, k, u) {
					jv was = jsonl_get(jv_copy(models), jv_string_value(k));

					if (jv_get_kind(was) != JV_KIND_OBJECT) {
						jv_free(was);
						was = jv_object();
					}
					for (const char *const *x = (const char *const[]){"tokens_in",
					    "tokens_out", "calls", NULL}; *x; x++)
						was = jv_object_set(was, jv_string(*x),
						    jv_number(num(was, *x) + num(u, *x)));
					models = jv_object_set(models, k, was);
					jv_free(u);
				}
			jv_free(m);
			jv_free(line);
		}
		if (store_fclose(f, path, &err))
			cli_fail(EXIT_WORK, human, "%s", err);
		jsonl_done(&r);
	} else if (err) {
		cli_fail(EXIT_WORK, human, "%s", err);
	}
	free(path);
	c = jv_object_set(c, jv_string("total_runs"), jv_number(runs));
	c = jv_object_set(c, jv_string("total_donuts"), jv_number(donuts));
	c = jv_object_set(c, jv_string("avg_donuts_per_run"), jv_number(runs ? donuts / runs : 0));
	c = jv_object_set(c, jv_string("avg_findings_per_run"), jv_number(runs ? findings / runs
	    : 0));
	/* the earlier implementation's lines hold "events" (always 0); rounded as it did */
	c = jv_object_set(c, jv_string("avg_events_per_run"),
	    jv_number(runs ? round(events / runs * 10) / 10 : 0));
	c = jv_object_set(c, jv_string("tokens_in"), jv_number(tin));
	c = jv_object_set(c, jv_string("tokens_out"), jv_number(tout));
	c = jv_object_set(c, jv_string("estimated_total_usd"), jv_number(usd));
	c = jv_object_set(c, jv_string("circuit_breaker_triggered"), jv_number(breaker));
	c = jv_object_set(c, jv_string("budget_exhausted"), jv_number(spent));
	c = jv_object_set(c, jv_string("by_model"), models);
	week = jv_object_set(week, jv_string("runs"), jv_number(wruns));
	week = jv_object_set(week, jv_string("donuts"), jv_number(wdonuts));
	week = jv_object_set(week, jv_string("avg_donuts_per_run"), jv_number(wruns ? wdonuts /
	    wruns : 0));
	week = jv_object_set(week, jv_string("usd"), jv_number(wusd));
	return jv_object_set(c, jv_string("last_7_days"), week);
}

static void
print_human(jv r)
{
	jv conns = jsonl_get(jv_copy(r), "connectors");
	jv last = jsonl_get(jv_copy(r), "last_scan");

	printf("Events: %.0f\n", jv_number_value(jsonl_get(jv_copy(r), "total_events")));
	printf("Findings: %.0f\n", jv_number_value(jsonl_get(jv_copy(r), "total_findings")));
	print_counts("Events by source", jsonl_get(jv_copy(r), "events_by_source"));
	print_counts("Findings by status", jsonl_get(jv_copy(r), "findings_by_status"));
	if (jv_get_kind(last) == JV_KIND_STRING)
		printf("Last scan: %s\n", jv_string_value(last));
	else
		printf("Last scan: never (run 'mallcop scan')\n");
	jv_object_foreach(conns, k, v) {
		const char *st = event_str(v, "status");
		jv when = jsonl_get(jv_copy(v), "last_run");

		printf("  ");
		human_put(stdout, jv_string_value(k));
		printf(": %s", !strcmp(st, "ok") ? "ok" : !strcmp(st, "never") ? "never scanned"
		    : "FAILED");
		if (jv_get_kind(when) == JV_KIND_STRING)
			printf(" at %s", jv_string_value(when));
		if (!strcmp(st, "error")) {
			jv ok = jsonl_get(jv_copy(v), "last_success");

			printf("\n    error: ");
			human_put(stdout, event_str(v, "error"));
			printf("\n    last success: %s", jv_get_kind(ok) == JV_KIND_STRING
			    ? jv_string_value(ok) : "never");
			jv_free(ok);
		}
		putchar('\n');
		jv_free(when);
		jv_free(k);
		jv_free(v);
	}
	{
		jv h = jsonl_get(jv_copy(r), "escalation_health"), c = jsonl_get(jv_copy(r), "costs");

		printf("Escalation: %s", event_str(h, "status"));
		if (streq(event_str(h, "status"), "ok")) {
			jv llm = jsonl_get(jv_copy(h), "llm");

			printf(" (%s, %.0f channel%s)\n", jv_get_kind(llm) == JV_KIND_STRING ?
			    jv_string_value(llm) : "no LLM: findings go to a human untriaged",
			    num(h, "channels"), num(h, "channels") == 1 ? "" : "s");
			jv_free(llm);
			{
				jv sk = jsonl_get(jv_copy(h), "skills");

				human_skills(stdout, sk);
				jv_free(sk);
			}
		} else {
			jv errs = jsonl_get(jv_copy(h), "errors");

			putchar('\n');
			jv_array_foreach(errs, i, e) {
				(void)i;
				printf("  ");
				human_put(stdout, jv_get_kind(e) == JV_KIND_STRING ? jv_string_value(e)
				    : "unknown");
				putchar('\n');
				jv_free(e);
			}
			jv_free(errs);
		}
		if (jv_is_valid(c)) {
			jv w = jsonl_get(jv_copy(c), "last_7_days");

			printf("Costs: %.0f runs, %.1f donuts (%.1f a run), USD %.4f; last 7 days: "
			    "%.0f runs, %.1f donuts, USD %.4f; circuit breaker %.0f, budget spent "
			    "%.0f\n", num(c, "total_runs"), num(c, "total_donuts"),
			    num(c, "avg_donuts_per_run"), num(c, "estimated_total_usd"), num(w, "runs"),
			    num(w, "donuts"), num(w, "usd"), num(c, "circuit_breaker_triggered"),
			    num(c, "budget_exhausted"));
			jv_free(w);
		}
		jv_free(h);
		jv_free(c);
	}
	jv_free(conns);
	jv_free(last);
	jv_free(r);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"human", no_argument, NULL, 'u'},
		{"costs", no_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	int c, human = 0, with_costs = 0, absent;
	bysource b;
	jv by_status, by_sev, findings, r, last;
	size_t nf, fskipped = 0;
	double total = 0;
	store_file *files;
	store st;
	cfg cf;
	char *err = NULL;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'u': human = 1; break;
		case 'c': with_costs = 1; break;
		case 'h':
			puts(usage);
			return 0;
		default:
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	}
	human = cli_human(human);
	if (store_open(&st, store_root(dir), 0, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	if ((absent = cfg_load_optional(&cf, st.root, &err)) < 0)
		cli_fail(EXIT_WORK, human, "%s", err);

	b.counts = jv_object();
	by_status = jv_object();
	by_sev = jv_object();
	/* the monthly file names say the source: records are counted, not parsed */
	nf = store_event_files(&st, 0, &files, &err);
	if (err)
		cli_fail(EXIT_WORK, human, "%s", err);
	for (size_t i = 0; i < nf; i++) {
		if (files[i].source) {
			long n = store_count_lines(&files[i]);

			if (n < 0)
				cli_fail(EXIT_WORK, human, "cannot read '%s': %s", files[i].path,
				    strerror(errno));
			b.counts = bump(b.counts, files[i].source, (double)n);
		} else if (store_each_event(&files[i], 0, count_event, &b, NULL)) {
			cli_fail(EXIT_WORK, human, "cannot read '%s': %s", files[i].path,
			    strerror(errno));
		}
	}
	store_files_free(files, nf);
	jv_object_foreach(b.counts, k, v) {
		total += jv_number_value(v);
		jv_free(k);
		jv_free(v);
	}

	if (!jv_is_valid(findings = store_findings(&st, &fskipped, &err)))
		cli_fail(EXIT_WORK, human, "%s", err);
	jv_array_foreach(findings, i, f) {
		(void)i;
		by_status = bump(by_status, event_str(f, "status"), 1);
		by_sev = bump(by_sev, event_str(f, "severity"), 1);
		jv_free(f);
	}

	r = cli_result();
	r = jv_object_set(r, jv_string("total_events"), jv_number(total));
	r = jv_object_set(r, jv_string("total_findings"),
	    jv_number(jv_array_length(jv_copy(findings))));
	r = jv_object_set(r, jv_string("events_by_source"), b.counts);
	r = jv_object_set(r, jv_string("findings_by_status"), by_status);
	r = jv_object_set(r, jv_string("findings_by_severity"), by_sev);
	{
		jv conns = configured(&cf, absent, last_scans(&st, &last, human), &r);

		r = jv_object_set(r, jv_string("connectors"), conns);
	}
	r = jv_object_set(r, jv_string("last_scan"), last);
	r = jv_object_set(r, jv_string("skipped_lines"), jv_number((double)fskipped));
	r = jv_object_set(r, jv_string("escalation_health"), escalation_health(st.root));
	if (with_costs)
		r = jv_object_set(r, jv_string("costs"), costs(&st, ts_now(), human));
	jv_free(findings);
	cfg_free(&cf);
	store_close(&st);
	if (human) {
		print_human(r);
		return fshut(stdout, "stdout") ? EXIT_WORK : 0;
	}
	return cli_emit(r);
}
