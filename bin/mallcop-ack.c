/* mallcop-ack: acknowledge a finding, and teach the baseline that its behaviour is known */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline.h"
#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "finding.h"
#include "human.h"
#include "jsonl.h"
#include "store.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-ack FINDING_ID [--author NAME] [--reason TEXT] [--dir DIR] [--human]\n"
    "                   [--wait[=SECONDS]]";

typedef struct ack {
	const char *author, *reason;
	const char *bpath;
	int window;
	jv ann;		/* the annotation added */
	baseline b;	/* loaded under the lock, before anything changes */
	int loaded;
} ack;

/* "already acked by AUTHOR at TIME", from the last ack of the trail (escaped: it is read back) */
static jv
already(jv f)
{
	jv anns = jsonl_get(jv_copy(f), "annotations"), last = jv_invalid();
	char *who = NULL, *when = NULL, *msg;

	if (jv_get_kind(anns) == JV_KIND_ARRAY)
		jv_array_foreach(anns, i, a) {
			(void)i;
			if (!strcmp(event_str(a, "action"), "acked")) {
				jv_free(last);
				last = a;
			} else {
				jv_free(a);
			}
		}
	if (jv_is_valid(last)) {
		who = human_safe(event_str(last, "actor"));
		when = human_safe(event_str(last, "timestamp"));
		msg = xasprintf("finding %s is already acked by %s at %s", event_str(f, "id"),
		    who, when);
	} else {
		msg = xasprintf("finding %s is already acked", event_str(f, "id"));
	}
	jv r = jv_invalid_with_msg(jv_string(msg));

	free(who);
	free(when);
	free(msg);
	jv_free(last);
	jv_free(anns);
	jv_free(f);
	return r;
}

static jv
refuse(jv f, const char *fmt)
{
	char *msg = xasprintf(fmt, event_str(f, "id"));
	jv r = jv_invalid_with_msg(jv_string(msg));

	free(msg);
	jv_free(f);
	return r;
}

/* under the lock: refuse, or mark acked and annotate; the baseline is read here so that a
 * baseline that cannot be read leaves the finding as it was */
static jv
acknowledge(jv f, void *arg)
{
	ack *k = arg;
	char *err = NULL;

	if (!strcmp(event_str(f, "detector"), "boundary-violation"))
		return refuse(f, "finding %s is a boundary violation; boundary violations cannot "
		    "be acked: fix the violation");
	if (!strcmp(event_str(f, "status"), "acked"))
		return already(f);
	if (baseline_load(&k->b, k->bpath, k->window, &err)) {
		jv r = jv_invalid_with_msg(jv_string(err));

		baseline_free(&k->b);
		free(err);
		jv_free(f);
		return r;
	}
	k->loaded = 1;
	k->ann = finding_annotation(k->author, k->reason ? k->reason : "acknowledged", "acked",
	    k->reason);
	f = finding_annotate(f, jv_copy(k->ann));
	return jv_object_set(f, jv_string("status"), jv_string("acked"));
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
		{"reason", required_argument, NULL, 'r'},
		{"dir", required_argument, NULL, 'd'},
		{"human", no_argument, NULL, 'u'},
		{"wait", optional_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	ack k = {.author = "interactive", .ann = jv_null()};
	const char *dir = NULL, *id;
	long wait_ms = 2000;
	int c, human = 0, r;
	store st;
	char *err = NULL, *safe, *path, *known;
	jv changed;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': k.author = optarg; break;
		case 'r': k.reason = optarg; break;
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
	if (argc - optind < 1)
		usage_error("%s", "a finding id is needed");
	if (argc - optind > 1)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
	id = argv[optind];
	if (!*id)
		usage_error("%s", "the finding id is empty");
	if (!*k.author)
		usage_error("%s", "--author is empty");
	if (k.reason && !*k.reason)
		usage_error("%s", "--reason is empty");
	human = cli_human(human);
	safe = human_safe(id);
	if (store_open(&st, store_root(dir), 0, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	path = xasprintf("%s/findings.jsonl", st.dir);
	if (access(path, F_OK) && errno == ENOENT)
		cli_fail(EXIT_WORK, human, "finding not found: %s", safe);
	free(path);
	if (cfg_check(st.root, &k.window, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	k.bpath = path = xasprintf("%s/baseline.json", st.dir);

	r = finding_change(&st, id, wait_ms, acknowledge, &k, &changed, &err);
	if (r == 1)
		cli_fail(EXIT_WORK, human, "finding not found: %s", safe);
	if (r)
		cli_fail(r == 75 ? EXIT_LOCKED : EXIT_WORK, human, "%s", err);

	/*
	 * Still under the lock that finding_change took: mallcop-detect reads the baseline only
	 * while it holds it. The finding's events were learned when detect examined them; what
	 * is taught here is that this behaviour is not to be raised again.
	 */
	if (*event_str(changed, "fingerprint")) {
		baseline_ack(&k.b, event_str(changed, "detector"), event_str(changed, "fingerprint"));
		if (baseline_save(&k.b, k.bpath, &err))
			cli_fail(EXIT_WORK, human, "finding %s is acked, but the baseline was not "
			    "saved, so detect may raise its behaviour again: %s", safe, err);
		known = xasprintf("fingerprint %s/%s is known now", event_str(changed, "detector"),
		    event_str(changed, "fingerprint"));
	} else {
		/* a finding of the earlier implementation: nothing identifies its behaviour */
		known = xstrdup("the finding has no fingerprint: the baseline was not changed");
	}
	if (k.loaded)
		baseline_free(&k.b);
	store_close(&st);
	free(path);
	jv_free(changed);

	if (human) {
		printf("acked %s\n  baseline: ", safe);
		human_put(stdout, known);
		putchar('\n');
		jv_free(k.ann);
		r = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	} else {
		jv out = jv_object_set(cli_result(), jv_string("finding_id"), jv_string(id));

		out = jv_object_set(out, jv_string("annotation"), k.ann);
		r = cli_emit(jv_object_set(out, jv_string("baseline"), jv_string(known)));
	}
	free(known);
	free(safe);
	return r;
}
