/* mallcop-finding: one finding, complete, with its annotation trail */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "finding.h"
#include "human.h"
#include "jsonl.h"
#include "store.h"
#include "util.h"

static const char usage[] = "usage: mallcop-finding FINDING_ID [--dir DIR] [--human]";

/* what finding_print leaves out: the evidence and the detector's own details */
static void
print_details(jv f)
{
	jv ids = jsonl_get(jv_copy(f), "event_ids");
	jv meta = jsonl_get(jv_copy(f), "metadata");
	int n = 0;

	fputs("  event ids: ", stdout);
	if (jv_get_kind(ids) == JV_KIND_ARRAY)
		jv_array_foreach(ids, i, id) {
			(void)i;
			if (jv_get_kind(id) == JV_KIND_STRING) {
				fputs(n++ ? ", " : "", stdout);
				human_put(stdout, jv_string_value(id));
			}
			jv_free(id);
		}
	fputs(n ? "\n" : "none\n", stdout);
	fputs("  fingerprint: ", stdout);
	human_put(stdout, event_str(f, "fingerprint"));
	putchar('\n');
	if (jv_get_kind(meta) == JV_KIND_OBJECT && jv_object_length(jv_copy(meta))) {
		jv text = jv_dump_string(jv_copy(meta), 0);

		fputs("  metadata: ", stdout);
		human_put(stdout, jv_string_value(text));
		putchar('\n');
		jv_free(text);
	}
	jv_free(meta);
	jv_free(ids);
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
	const char *dir = NULL, *id;
	int c, human = 0, rc;
	size_t skipped = 0;
	store st;
	char *err = NULL;
	jv all, f;

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
	if (argc - optind != 1 || !*argv[optind]) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, argc - optind > 1 ? "unexpected argument '%s'" : "%s",
		    argc - optind > 1 ? argv[optind + 1] : "a finding id is needed");
	}
	id = argv[optind];
	human = cli_human(human);
	if (store_open(&st, store_root(dir), 0, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	if (cfg_check(st.root, NULL, &err))
		cli_fail(EXIT_WORK, human, "%s", err);

	/* a reader: no lock, findings.jsonl is only ever replaced whole */
	if (!jv_is_valid(all = store_findings(&st, &skipped, &err)))
		cli_fail(EXIT_WORK, human, "%s", err);
	f = finding_get(all, id);	/* borrows all */
	jv_free(all);
	if (!jv_is_valid(f)) {
		char *safe = human_safe(id);

		jv_free(f);
		store_close(&st);
		cli_fail(EXIT_WORK, human, "finding not found: %s", safe);
	}
	if (human) {
		finding_print(stdout, f, 1);	/* borrows f */
		print_details(f);
		jv_free(f);
		rc = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	} else {
		jv r = jv_object_set(cli_result(), jv_string("finding"), f);

		if (skipped)
			r = jv_object_set(r, jv_string("skipped_lines"), jv_number((double)skipped));
		rc = cli_emit(r);
	}
	store_close(&st);
	return rc;
}
