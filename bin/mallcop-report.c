/* mallcop-report: the findings, filtered, newest first; --fail-on for CI gates */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <getopt.h>

#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "finding.h"
#include "jsonl.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-report [--status STATUS] [--severity LEVELS] [--since WINDOW]\n"
    "                      [--fail-on SEVERITY] [--dir DIR] [--human | --jsonl]";

static const char *const statuses[] = {"open", "resolved", "acked", "squelched"};

typedef struct row {
	int64_t us;	/* INT64_MIN when the timestamp cannot be read: shown last */
	size_t at;	/* position in the file, to keep ties in a stable order */
	jv f;
} row;

static void __attribute__((noreturn))
usage_fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s\n", usage);
	die(EXIT_USAGE, fmt, arg);
}

static const char *
status_arg(const char *s)
{
	for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
		if (!strcmp(s, statuses[i]))
			return s;
	usage_fail("--status '%s': expected open, resolved, acked or squelched", s);
}

static int
severity_arg(const char *flag, const char *s)
{
	int r = finding_rank(s);

	if (r < 0) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "%s '%s': expected info, warn or critical", flag, s);
	}
	return r;
}

/* "warn, critical" into a set of ranks, a bit each */
static unsigned
severities_arg(const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	unsigned set = 0;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;

		t += strspn(t, " \t");
		for (end = t + strlen(t); end > t && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = 0;
		set |= 1u << severity_arg("--severity", t);
	}
	free(copy);
	if (!set)
		usage_fail("--severity '%s': expected a comma list of info, warn, critical", list);
	return set;
}

static int
newest_first(const void *a, const void *b)
{
	const row *x = a, *y = b;

	if (x->us != y->us)
		return x->us < y->us ? 1 : -1;
	return x->at < y->at ? -1 : x->at > y->at;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"status", required_argument, NULL, 's'},
		{"severity", required_argument, NULL, 'S'},
		{"since", required_argument, NULL, 'w'},
		{"fail-on", required_argument, NULL, 'F'},
		{"jsonl", no_argument, NULL, 'j'},
		{"human", no_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *status = NULL;
	unsigned sevs = 0;
	int64_t cutoff = 0, window = 0;
	int c, human = 0, jsonl_out = 0, since = 0, fail_on = -1, worst = -1, rc;
	size_t skipped = 0, n = 0;
	store st;
	char *err = NULL;
	row *rows;
	jv all;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's': status = status_arg(optarg); break;
		case 'S': sevs = severities_arg(optarg); break;
		case 'w':
			if (ts_window(optarg, &window) || window < 0)
				usage_fail("--since '%s': expected a window such as 30m, 24h or 7d",
				    optarg);
			since = 1;
			break;
		case 'F': fail_on = severity_arg("--fail-on", optarg); break;
		case 'j': jsonl_out = 1; break;
		case 'u': human = 1; break;
		case 'h':
			puts(usage);
			return 0;
		default:
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		usage_fail("unexpected argument '%s'", argv[optind]);
	human = cli_output(human, jsonl_out, usage);
	if (store_open(&st, store_root(dir), 0, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	if (cfg_check(st.root, NULL, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	if (since)
		cutoff = ts_now() - window;

	if (!jv_is_valid(all = store_findings(&st, &skipped, &err)))
		cli_fail(EXIT_WORK, human, "%s", err);
	rows = xcalloc((size_t)jv_array_length(jv_copy(all)) + 1, sizeof *rows);
	jv_array_foreach(all, i, f) {
		int64_t us;
		int rank = finding_rank(event_str(f, "severity"));
		int timed = !ts_parse(event_str(f, "timestamp"), &us);

		if ((status && strcmp(event_str(f, "status"), status)) ||
		    (sevs && (rank < 0 || !(sevs & 1u << rank))) ||
		    (since && (!timed || us < cutoff))) {
			jv_free(f);
			continue;
		}
		if (rank > worst)
			worst = rank;
		rows[n].us = timed ? us : INT64_MIN;
		rows[n].at = (size_t)i;
		rows[n++].f = f;
	}
	jv_free(all);
	if (n)
		qsort(rows, n, sizeof *rows, newest_first);

	if (human) {
		if (!n)
			puts("No findings.");
		for (size_t i = 0; i < n; i++)
			finding_print(stdout, rows[i].f, 0);
		if (skipped)
			printf("(%zu malformed lines skipped)\n", skipped);
	} else if (jsonl_out) {
		for (size_t i = 0; i < n; i++)
			jsonl_put(stdout, jv_copy(rows[i].f));
	} else {
		jv list = jv_array(), r = cli_result();

		for (size_t i = 0; i < n; i++)
			list = jv_array_append(list, jv_copy(rows[i].f));
		r = jv_object_set(r, jv_string("count"), jv_number((double)n));
		r = jv_object_set(r, jv_string("findings"), list);
		r = jv_object_set(r, jv_string("skipped_lines"), jv_number((double)skipped));
		jsonl_put(stdout, r);
	}
	rc = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	if (!rc && fail_on >= 0 && worst >= fail_on)
		rc = EXIT_FAILON;
	for (size_t i = 0; i < n; i++)
		jv_free(rows[i].f);
	free(rows);
	store_close(&st);
	return rc;
}
