/* mallcop-annotate: add a note to a finding's annotation trail */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cli.h"
#include "finding.h"
#include "human.h"
#include "jsonl.h"
#include "store.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-annotate FINDING_ID TEXT [--author NAME] [--dir DIR] [--human]\n"
    "                        [--wait[=SECONDS]]";

/* f (consumed) with the annotation (borrowed) at the end of its trail */
static jv
annotate(jv f, void *arg)
{
	return finding_annotate(f, jv_copy(*(jv *)arg));
}

static void
usage_error(const char *msg, const char *what)
{
	fprintf(stderr, "%s\n", usage);
	die(EXIT_USAGE, msg, what);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"author", required_argument, NULL, 'a'},
		{"dir", required_argument, NULL, 'd'},
		{"human", no_argument, NULL, 'u'},
		{"wait", optional_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *author = "interactive", *id, *text;
	long wait_ms = 2000;
	int c, human = 0, r;
	store st;
	char *err = NULL, *safe, *path;
	jv ann, changed;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': author = optarg; break;
		case 'd': dir = optarg; break;
		case 'u': human = 1; break;
		case 'w': wait_ms = cli_wait_ms(optarg); break;
		case 'h':
			puts(usage);
			return 0;
		default:
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2)
		usage_error("%s", "a finding id and the text of the annotation are needed");
	if (argc - optind > 2)
		usage_error("unexpected argument '%s'", argv[optind + 2]);
	id = argv[optind];
	text = argv[optind + 1];
	if (!*id)
		usage_error("%s", "the finding id is empty");
	if (!*text)
		usage_error("%s", "the annotation text is empty");
	if (!*author)
		usage_error("%s", "--author is empty");
	human = cli_human(human);
	safe = human_safe(id);
	if (store_open(&st, store_root(dir), 0, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	if (cfg_check(st.root, NULL, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	/* no store at all holds no finding: say so rather than fail on its lock */
	path = xasprintf("%s/findings.jsonl", st.dir);
	if (access(path, F_OK) && errno == ENOENT)
		cli_fail(EXIT_WORK, human, "finding not found: %s", safe);
	free(path);

	/* under the lock, on the findings as they are now: a detect that runs meanwhile keeps it */
	ann = finding_annotation(author, text, "annotate", NULL);
	r = finding_change(&st, id, wait_ms, annotate, &ann, &changed, &err);
	if (r == 1)
		cli_fail(EXIT_WORK, human, "finding not found: %s", safe);
	if (r)
		cli_fail(r == 75 ? EXIT_LOCKED : EXIT_WORK, human, "%s", err);
	store_close(&st);
	jv_free(changed);

	if (human) {
		printf("annotated %s\n", safe);
		jv_free(ann);
		r = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	} else {
		jv out = jv_object_set(cli_result(), jv_string("finding_id"), jv_string(id));

		r = cli_emit(jv_object_set(out, jv_string("annotation"), ann));
	}
	free(safe);
	return r;
}
