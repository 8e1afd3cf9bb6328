/* mallcop-status: what the deployment holds and how its last scan went */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "human.h"
#include "jsonl.h"
#include "store.h"
#include "util.h"

static const char usage[] = "usage: mallcop-status [--dir DIR] [--human]";

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
last_scans(store *st, jv *last_run)
{
	char *path = xasprintf("%s/manifest.json", st->dir), *text = store_slurp(path, NULL);
	jv m = text ? jv_parse(text) : jv_invalid(), conns;

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
 * The connectors mallcop.yaml configures, with their last scan or "never"; without a readable
 * mallcop.yaml, every connector the last scans name (and the reason in config_error).
 */
static jv
configured(const char *root, jv scans, jv *r)
{
	char *err = NULL;
	jv names, out = jv_object();
	cfg c;

	if (cfg_load(&c, root, &err)) {
		*r = jv_object_set(*r, jv_string("config_error"), jv_string(err));
		free(err);
		cfg_free(&c);
		jv_free(out);
		return scans;
	}
	names = cfg_get(&c, "connectors");
	if (jv_get_kind(names) == JV_KIND_OBJECT)
		jv_object_foreach(names, k, v) {
			jv s = jsonl_get(jv_copy(scans), jv_string_value(k));

			out = jv_object_set(out, k, jv_is_valid(s) ? s : (jv_free(s),
			    jv_object_set(jv_object(), jv_string("status"), jv_string("never"))));
			jv_free(v);
		}
	jv_free(names);
	jv_free(scans);
	cfg_free(&c);
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	int c, human = 0;
	bysource b;
	jv by_status, by_sev, findings, r, last;
	size_t nf, fskipped = 0;
	double total = 0;
	store_file *files;
	store st;
	char *err = NULL;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'u': human = 1; break;
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

	b.counts = jv_object();
	by_status = jv_object();
	by_sev = jv_object();
	/* the monthly file names say the source: records are counted, not parsed */
	nf = store_event_files(&st, 0, &files);
	for (size_t i = 0; i < nf; i++) {
		if (files[i].source) {
			long n = store_count_lines(&files[i]);

			if (n < 0)
				warnf("cannot read '%s':", files[i].path);
			else
				b.counts = bump(b.counts, files[i].source, (double)n);
		} else if (store_each_event(&files[i], 0, count_event, &b, NULL)) {
			warnf("cannot read '%s':", files[i].path);
		}
	}
	store_files_free(files, nf);
	jv_object_foreach(b.counts, k, v) {
		total += jv_number_value(v);
		jv_free(k);
		jv_free(v);
	}

	findings = store_findings(&st, &fskipped);
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
		jv conns = configured(st.root, last_scans(&st, &last), &r);

		r = jv_object_set(r, jv_string("connectors"), conns);
	}
	r = jv_object_set(r, jv_string("last_scan"), last);
	r = jv_object_set(r, jv_string("skipped_lines"), jv_number((double)fskipped));
	jv_free(findings);
	store_close(&st);
	if (human) {
		print_human(r);
		return fshut(stdout, "stdout") ? EXIT_WORK : 0;
	}
	return cli_emit(r);
}
