/* mallcop-watch: scan, detect, escalate under one lock: the line cron runs */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "event.h"
#include "jsonl.h"
#include "plugin.h"
#include "proc.h"
#include "store.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-watch [--dir DIR] [--human] [--dry-run]\n"
    "                     [--backend anthropic|openai-compat|bedrock|claude-code]\n"
    "                     [--wait[=SECONDS]] [--patrol NAME]";

typedef struct stage {
	const char *name;	/* "scan" */
	int status;		/* its exit status, -1 when it could not run */
	jv result;		/* its JSON result, or {"status":"error","error":...} */
} stage;

/* run mallcop-NAME with --dir and args, the lock passed on */
static void
run_stage(stage *s, const char *root, int lockfd, const char *const *args)
{
	const char *argv[8] = {"--dir", root};
	char fdbuf[32];
	const char *env[] = {fdbuf, NULL};
	int n = 2;

	for (; *args && n < 7; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	snprintf(fdbuf, sizeof fdbuf, "MALLCOP_LOCK_FD=%d", lockfd);
	s->status = proc_run_json(s->name, argv, env, &s->result);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"human", no_argument, NULL, 'u'},
		{"dry-run", no_argument, NULL, 'n'},
		{"backend", required_argument, NULL, 'b'},
		{"wait", optional_argument, NULL, 'w'},
		{"patrol", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *backend = NULL, *root;
	const char *scan_args[] = {NULL}, *detect_args[] = {NULL};
	const char *esc_args[6] = {NULL}, *check_args[6] = {"--check", NULL};
	const char *patrol = NULL;
	int c, human = 0, dry = 0, failed = 0, lockfd, learning = 0;
	long wait_ms = 2000;
	char *err = NULL;
	stage check = {.name = "escalate", .status = -1}, scan = {.name = "scan", .status = -1};
	stage detect = {.name = "detect", .status = -1}, esc = {.name = "escalate", .status = -1};
	store st;
	jv r;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'u': human = 1; break;
		case 'n': dry = 1; break;
		case 'b': backend = optarg; break;
		case 'w': wait_ms = cli_wait_ms(optarg); break;
		case 'p': patrol = optarg; break;
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
	root = store_root(dir);
	if (backend) {
		esc_args[0] = check_args[1] = "--backend";
		esc_args[1] = check_args[2] = backend;
	}
	if (patrol) {	/* its budget, chain and channels for the escalation of this run */
		int n = backend ? 2 : 0;

		esc_args[n] = check_args[n + 1] = "--patrol";
		esc_args[n + 1] = check_args[n + 2] = patrol;
	}
	if (store_open(&st, root, 1, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	c = store_lock(&st, wait_ms, &err);
	if (c)
		cli_fail(c > 0 ? EXIT_LOCKED : EXIT_WORK, human, "%s", err);
	/* the stages run with the lock this run holds: its descriptor stays open for them */
	lockfd = fcntl(st.lockfd, F_DUPFD, 10);
	if (lockfd < 0)
		cli_fail(EXIT_WORK, human, "cannot pass the lock on: %s", strerror(errno));
	proc_forward_signals();

	r = cli_result();
	r = jv_object_set(r, jv_string("dry_run"), jv_bool(dry));
	if (patrol)
		r = jv_object_set(r, jv_string("patrol"), jv_string(patrol));
	if (!dry) {	/* a broken escalation path stops the run before it scans */
		run_stage(&check, root, lockfd, check_args);
		if (check.status != 0) {
			jv e = jsonl_get(jv_copy(check.result), "error");

			cli_fail(EXIT_WORK, human, "escalation paths: %s", jv_get_kind(e) ==
			    JV_KIND_STRING ? jv_string_value(e) : "not usable");
		}
		jv_free(check.result);
	}
	run_stage(&scan, root, lockfd, scan_args);
	run_stage(&detect, root, lockfd, detect_args);
	{
		/* while every source is still learning what is normal, nothing is escalated */
		jv l = jsonl_get(jv_copy(detect.result), "learning_connectors");
		jv known = jsonl_get(jsonl_get(jv_copy(detect.result), "baseline"), "known_sources");

		if (jv_get_kind(l) == JV_KIND_ARRAY && jv_get_kind(known) == JV_KIND_ARRAY &&
		    jv_array_length(jv_copy(known)) > 0) {
			learning = 1;
			jv_array_foreach(known, i, s) {
				int in = 0;

				(void)i;
				jv_array_foreach(l, j, x) {
					(void)j;
					in |= jv_equal(x, jv_copy(s));
				}
				learning &= in;
				jv_free(s);
			}
		}
		jv_free(l);
		jv_free(known);
	}
	r = jv_object_set(r, jv_string("scan"), jv_copy(scan.result));
	r = jv_object_set(r, jv_string("detect"), jv_copy(detect.result));
	if (dry || learning) {
		jv skip = jv_object_set(jv_object(), jv_string("skipped"), jv_true());

		skip = jv_object_set(skip, jv_string("reason"), jv_string(dry ? "dry_run" :
		    "learning: every source is still learning what is normal"));
		r = jv_object_set(r, jv_string("escalate"), skip);
	} else if (detect.status != 0 && detect.status != 3) {
		r = jv_object_set(r, jv_string("escalate"), jv_object_set(jv_object_set(jv_object(),
		    jv_string("skipped"), jv_true()), jv_string("reason"), jv_string("detect failed")));
	} else {
		run_stage(&esc, root, lockfd, esc_args);
		r = jv_object_set(r, jv_string("escalate"), jv_copy(esc.result));
		failed |= esc.status != 0;
		jv_free(esc.result);
	}
	failed |= scan.status != 0 || (detect.status != 0 && detect.status != 3);
	if (failed) {
		jv why = jv_array();

		if (scan.status)
			why = jv_array_append(why, jv_string("scan"));
		if (detect.status && detect.status != 3)
			why = jv_array_append(why, jv_string("detect"));
		if (esc.status > 0 || (esc.status < 0 && !dry && !learning))
			why = jv_array_append(why, jv_string("escalate"));
		r = jv_object_set(r, jv_string("status"), jv_string("error"));
		{
			char *j = jsonl_join(why, ", ");
			char *m = xasprintf("stage failed: %s", j);

			r = jv_object_set(r, jv_string("error"), jv_string(m));
			free(m);
			free(j);
		}
	}
	jv_free(scan.result);
	jv_free(detect.result);
	if (human) {
		jv e = jsonl_get(jv_copy(r), "escalate");

		printf("watch: %s\n", failed ? "a stage failed" : "ok");
		printf("  scan: %.0f new events%s\n",
		    jsonl_number(jsonl_get(jsonl_get(jv_copy(r), "scan"), "total_events_ingested"), 0),
		    scan.status ? " (a connector failed)" : "");
		printf("  detect: %.0f new findings, %.0f updated%s\n",
		    jsonl_number(jsonl_get(jsonl_get(jv_copy(r), "detect"), "new_findings"), 0),
		    jsonl_number(jsonl_get(jsonl_get(jv_copy(r), "detect"), "updated_findings"), 0),
		    learning ? " (every source still learning)" : "");
		if (jv_get_kind(jsonl_get(jv_copy(e), "skipped")) == JV_KIND_TRUE)
			printf("  escalate: skipped (%s)\n", event_str(e, "reason"));
		else
			printf("  escalate: %.0f handled, %.0f resolved, %.0f sent to a human\n",
			    jsonl_number(jsonl_get(jv_copy(e), "findings_processed"), 0),
			    jsonl_number(jsonl_get(jv_copy(e), "resolved"), 0),
			    jsonl_number(jsonl_get(jv_copy(e), "delivered"), 0));
		if (failed)
			printf("  %s\n", event_str(r, "error"));
		jv_free(e);
		jv_free(r);
		if (fshut(stdout, "stdout"))
			failed = 1;
	} else if (cli_emit(r)) {
		failed = 1;
	}
	close(lockfd);
	store_close(&st);
	return failed ? EXIT_WORK : 0;
}
