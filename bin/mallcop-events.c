/* mallcop-events: query the event store, newest first */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "human.h"
#include "jsonl.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-events [--dir DIR] [--finding ID] [--actor NAME] [--source NAME]\n"
    "                      [--hours N] [--type TYPE] [--limit N] [--jsonl | --human]";

/* a match is kept as its JSON text: a tenth of the memory of the parsed value */
typedef struct hit {
	int64_t us;
	char *text;
} hit;

typedef struct query {
	const char *actor, *source, *type;
	int64_t since;
	jv ids;		/* --finding: the finding's event ids, as an object used as a set */
	jv seen;	/* id -> index in hits: a store of the earlier implementation repeats ids */
	hit *hits;
	size_t n, cap;
	size_t nul;	/* stored events passed over for a NUL in a string */
} query;

/* the text of a match (ev consumed) */
static char *
keep(jv ev, const char *text)
{
	char *s;

	if (text) {
		jv_free(ev);
		return xstrdup(text);
	}
	ev = jv_dump_string(ev, 0);
	s = xstrdup(jv_string_value(ev));
	jv_free(ev);
	return s;
}

static int
match(jv ev, const char *text, void *arg)
{
	query *q = arg;
	int64_t us = 0;

	/* stored before scan refused it: its strings would compare as less than they hold */
	if (event_stored_has_nul(ev, text, text ? strlen(text) : 0)) {
		q->nul++;
		jv_free(ev);
		return 0;
	}
	if ((q->actor && strcmp(event_str(ev, "actor"), q->actor)) ||
	    (q->source && strcmp(event_str(ev, "source"), q->source)) ||
	    (q->type && strcmp(event_str(ev, "event_type"), q->type)) ||
	    (event_time(ev, &us) && !jv_is_valid(q->ids)) || (q->since && us < q->since) ||
	    (jv_is_valid(q->ids) && !jv_object_has(jv_copy(q->ids),
	    jv_string(event_str(ev, "id"))))) {
		jv_free(ev);
		return 0;
	}
	{
		jv at = jv_object_get(jv_copy(q->seen), jv_string(event_str(ev, "id")));

		if (jv_get_kind(at) == JV_KIND_NUMBER) {	/* the later line wins */
			hit *h = &q->hits[(size_t)jv_number_value(at)];

			free(h->text);
			h->text = keep(ev, text);
			h->us = us;
			return 0;
		}
		jv_free(at);
		q->seen = jv_object_set(q->seen, jv_string(event_str(ev, "id")),
		    jv_number((double)q->n));
	}
	if (q->n == q->cap)
		q->hits = xrealloc(q->hits, (q->cap = q->cap ? q->cap * 2 : 256) * sizeof *q->hits);
	q->hits[q->n].us = us;
	q->hits[q->n++].text = keep(ev, text);
	return 0;
}

static int
newest_first(const void *a, const void *b)
{
	const hit *x = a, *y = b;

	return x->us < y->us ? 1 : x->us > y->us ? -1 : 0;
}

/* the finding's event ids; exits 1 when there is no such finding */
static jv
finding_ids(store *st, const char *id, int human)
{
	char *err = NULL;
	jv all = store_findings(st, NULL, &err), ids = jv_invalid();

	if (!jv_is_valid(all))
		cli_fail(EXIT_WORK, human, "%s", err);
	jv_array_foreach(all, i, f) {
		(void)i;
		if (!jv_is_valid(ids) && !strcmp(event_str(f, "id"), id)) {
			jv list = jsonl_get(jv_copy(f), "event_ids");

			ids = jv_object();
			if (jv_get_kind(list) == JV_KIND_ARRAY)
				jv_array_foreach(list, k, e) {
					(void)k;
					if (jv_get_kind(e) == JV_KIND_STRING)
						ids = jv_object_set(ids, e, jv_true());
					else
						jv_free(e);
				}
			jv_free(list);
		}
		jv_free(f);
	}
	jv_free(all);
	if (!jv_is_valid(ids)) {
		char *safe = human_safe(id);

		cli_fail(EXIT_WORK, human, "finding not found: %s", safe);
	}
	return ids;
}

static void
print_human(query *q, const char *what)
{
	if (!q->n) {
		printf("No events found %s.\n", what);
		return;
	}
	printf("Events (%zu) %s, newest first:\n", q->n, what);
	for (size_t i = 0; i < q->n; i++) {
		jv e = jv_parse(q->hits[i].text);
		char t[TS_BUFSZ];
		static const char *f[] = {"source", "event_type", "actor", "action", "target"};

		printf("  %s", ts_format(q->hits[i].us, t));
		/* every field came from outside, even the ones a connector should have checked */
		for (int k = 0; k < 5; k++) {
			char *v = human_safe_field(e, f[k], NULL);

			printf(k < 2 ? "  %-15s" : "  %s", v);
			free(v);
		}
		putchar('\n');
		jv_free(e);
	}
}

static long
number(const char *flag, const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 0 || v > max) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "%s '%s': expected a whole number from 0 to %ld", flag, s, max);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"finding", required_argument, NULL, 'f'},
		{"actor", required_argument, NULL, 'a'},
		{"source", required_argument, NULL, 's'},
		{"hours", required_argument, NULL, 'H'},
		{"type", required_argument, NULL, 't'},
		{"limit", required_argument, NULL, 'l'},
		{"jsonl", no_argument, NULL, 'j'},
		{"human", no_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	query q = {.ids = jv_invalid(), .seen = jv_null()};
	const char *dir = NULL, *finding = NULL;
	long hours = 24, limit = -1;
	int c, human = 0, jsonl_out = 0, rc = 0;
	size_t nf, skipped = 0;
	store_file *files;
	store st;
	char *err = NULL, *what;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f': finding = optarg; break;
		case 'a': q.actor = optarg; break;
		case 's': q.source = optarg; break;
		case 'H': hours = number("--hours", optarg, 100L * 366 * 24); break;
		case 't': q.type = optarg; break;
		case 'l': limit = number("--limit", optarg, LONG_MAX); break;
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
	if (optind < argc) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	}
	human = cli_output(human, jsonl_out, usage);
	if (store_open(&st, store_root(dir), 0, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	if (cfg_check(st.root, NULL, &err))
		cli_fail(EXIT_WORK, human, "%s", err);

	q.seen = jv_object();
	if (finding) {
		char *safe = human_safe(finding);

		q.ids = finding_ids(&st, finding, human);
		what = xasprintf("of finding %s", safe);
		free(safe);
	} else {
		q.since = ts_now() - (int64_t)hours * 3600 * TS_SECOND;
		what = xasprintf("in the last %ld hours", hours);
	}
	/* a month file that ends before the window cannot hold a match: it is not opened */
	nf = store_event_files(&st, q.since ? ts_month(q.since) : 0, &files, &err);
	if (err)
		cli_fail(EXIT_WORK, human, "%s", err);
	for (size_t i = 0; i < nf; i++) {
		if (q.source && files[i].source && strcmp(files[i].source, q.source))
			continue;
		if (store_each_event(&files[i], q.since, match, &q, &skipped))
			cli_fail(EXIT_WORK, human, "cannot read '%s': %s", files[i].path,
			    strerror(errno));
	}
	store_files_free(files, nf);
	if (q.nul)
		warnf("%zu stored events skipped: " EVENT_HAS_NUL " (counted in skipped_lines)",
		    q.nul);
	skipped += q.nul;
	if (q.n)
		qsort(q.hits, q.n, sizeof *q.hits, newest_first);
	if (limit >= 0 && (size_t)limit < q.n) {
		for (size_t i = (size_t)limit; i < q.n; i++)
			free(q.hits[i].text);
		q.n = (size_t)limit;
	}

	if (human) {
		print_human(&q, what);
		if (skipped)
			printf("(%zu malformed lines skipped)\n", skipped);
	} else if (jsonl_out) {
		for (size_t i = 0; i < q.n; i++)
			printf("%s\n", q.hits[i].text);
	} else {
		/* the result object, written around the stored text of each event */
		printf("{\"command\":\"%s\",\"status\":\"ok\",\"count\":%zu,\"events\":[",
		    cli_command(), q.n);
		for (size_t i = 0; i < q.n; i++)
			printf("%s%s", i ? "," : "", q.hits[i].text);
		printf("],\"skipped_lines\":%zu}\n", skipped);
	}
	rc = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	for (size_t i = 0; i < q.n; i++)
		free(q.hits[i].text);
	free(q.hits);
	free(what);
	jv_free(q.ids);
	jv_free(q.seen);
	store_close(&st);
	return rc;
}
