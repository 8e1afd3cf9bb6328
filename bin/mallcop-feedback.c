/* mallcop-feedback: record a human's verdict on a finding, with what it was based on */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "finding.h"
#include "human.h"
#include "jsonl.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] = "usage: mallcop-feedback FINDING_ID agree|override [--reason TEXT] "
    "[--dir DIR] [--wait[=SECONDS]] [--human]";

enum {
	REASON_MAX = 2000,	/* characters */
	QUICK_S = 10,		/* a decision this soon after the previous one was not read */
	STREAK = 5,		/* this many agreements ... */
	STREAK_S = 120,		/* ... within this many seconds */
};

static const char *markers[] = {"[USER_DATA_BEGIN]", "[USER_DATA_END]"};

/* remove every marker; 1 when one was found */
static int
unmark(char *s)
{
	int found = 0;

	for (size_t m = 0; m < sizeof markers / sizeof *markers; m++) {
		size_t l = strlen(markers[m]);
		char *p;

		while ((p = strstr(s, markers[m]))) {
			memmove(p, p + l, strlen(p + l) + 1);
			found = 1;
		}
	}
	return found;
}

/*
 * The reason as stored: no control characters (C0, DEL, C1), no markers (removed again after
 * the controls, which could have split one), at most REASON_MAX characters.
 */
static char *
sanitize(const char *in)
{
	char *s = xstrdup(in);
	unsigned char *r, *w;
	size_t chars = 0;

	do {
		for (r = w = (unsigned char *)s; *r; r++) {
			if (*r < 0x20 || *r == 0x7f)
				continue;
			if (*r == 0xc2 && r[1] >= 0x80 && r[1] <= 0x9f) {
				r++;
				continue;
			}
			*w++ = *r;
		}
		*w = 0;
	} while (unmark(s));
	for (r = (unsigned char *)s; *r; r++)
		if ((*r & 0xc0) != 0x80 && ++chars > REASON_MAX) {
			*r = 0;
			break;
		}
	return s;
}

/* the times and actions of the last STREAK records of feedback.jsonl, oldest first */
typedef struct recent {
	int64_t at[STREAK];
	int agree[STREAK];
	int n;
} recent;

static int
read_recent(const char *path, recent *rc, char **err)
{
	FILE *fp = store_fopen(path, err);
	jsonl rd;
	jv v;
	int r;

	memset(rc, 0, sizeof *rc);
	if (!fp)
		return *err ? -1 : 0;
	jsonl_init(&rd, fp, path);
	rd.quiet = 1;
	while (jsonl_next(&rd, &v)) {
		int64_t us;

		if (jv_get_kind(v) == JV_KIND_OBJECT && !ts_parse(event_str(v, "timestamp"), &us)) {
			if (rc->n == STREAK) {
				memmove(rc->at, rc->at + 1, (STREAK - 1) * sizeof *rc->at);
				memmove(rc->agree, rc->agree + 1, (STREAK - 1) * sizeof *rc->agree);
				rc->n--;
			}
			rc->at[rc->n] = us;
			rc->agree[rc->n++] = !strcmp(event_str(v, "human_action"), "agree");
		}
		jv_free(v);
	}
	r = store_fclose(fp, path, err);
	jsonl_done(&rd);
	return r;
}

/* a reason to doubt that the finding was read before this decision, or NULL */
static const char *
rubber_stamp(const recent *rc, int64_t now, int agree)
{
	int streak = agree;

	if (rc->n && now - rc->at[rc->n - 1] < QUICK_S * TS_SECOND)
		return "feedback is being given faster than findings can be read: "
		    "less than 10 seconds since the previous decision";
	/* this decision and the STREAK-1 before it */
	for (int i = rc->n - 1; i >= 0 && i >= rc->n - (STREAK - 1); i--)
		streak = streak && rc->agree[i];
	if (streak && rc->n >= STREAK - 1 && now - rc->at[rc->n - (STREAK - 1)] <=
	    STREAK_S * TS_SECOND)
		return "feedback is being given faster than findings can be read: "
		    "the last 5 decisions all agreed within 2 minutes";
	return NULL;
}

/* {actor: profile} for every actor of the events (consumed) */
static jv
snapshot(store *st, jv evs, int human)
{
	char *path = xasprintf("%s/baseline.json", st->dir), *err = NULL;
	jv snap = jv_object();
	baseline b;
	int w;

	if (cfg_check(st->root, &w, &err) || baseline_load(&b, path, w, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	free(path);
	jv_array_foreach(evs, i, e) {
		const char *a = event_str(e, "actor");

		(void)i;
		if (*a && !jv_object_has(jv_copy(snap), jv_string(a)))
			snap = jv_object_set(snap, jv_string(a), baseline_actor(&b, a));
		jv_free(e);
	}
	jv_free(evs);
	baseline_free(&b);
	return snap;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"dir", required_argument, NULL, 'd'},
		{"wait", optional_argument, NULL, 'w'},
		{"human", no_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *id, *action, *why;
	char *reason = NULL, *err = NULL, *path, t[TS_BUFSZ];
	int c, human = 0;
	long wait_ms = 2000;
	int64_t now;
	recent rc;
	store st;
	jv all, f, anns, last, evs, rec, r;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': free(reason); reason = sanitize(optarg); break;
		case 'd': dir = optarg; break;
		case 'w': wait_ms = cli_wait_ms(optarg); break;
		case 'u': human = 1; break;
		case 'h':
			puts(usage);
			return 0;
		default:
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || !*argv[optind]) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, argc - optind > 2 ? "unexpected argument"
		    : "expected a finding id and agree or override");
	}
	id = argv[optind];
	if (!strcasecmp(argv[optind + 1], "agree"))
		action = "agree";
	else if (!strcasecmp(argv[optind + 1], "override"))
		action = "override";
	else {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "'%s': expected agree or override", argv[optind + 1]);
	}
	human = cli_human(human);
	if (store_open(&st, store_root(dir), 1, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	if ((c = store_lock(&st, wait_ms, &err)))
		cli_fail(c > 0 ? EXIT_LOCKED : EXIT_WORK, human, "%s", err);
	if (!jv_is_valid(all = store_findings(&st, NULL, &err)))
		cli_fail(EXIT_WORK, human, "%s", err);
	f = finding_get(all, id);
	jv_free(all);
	if (!jv_is_valid(f))
		cli_fail(EXIT_WORK, human, "finding not found: %s", id);

	anns = jsonl_get(jv_copy(f), "annotations");
	if (jv_get_kind(anns) != JV_KIND_ARRAY) {
		jv_free(anns);
		anns = jv_array();
	}
	c = jv_array_length(jv_copy(anns));
	last = c ? jv_array_get(jv_copy(anns), c - 1) : jv_null();
	evs = finding_events(&st, jsonl_get(jv_copy(f), "event_ids"), &err);
	if (!jv_is_valid(evs))
		cli_fail(EXIT_WORK, human, "%s", err);
	now = ts_now();
	rec = jv_object();
	rec = jv_object_set(rec, jv_string("finding_id"), jv_string(id));
	rec = jv_object_set(rec, jv_string("human_action"), jv_string(action));
	rec = jv_object_set(rec, jv_string("reason"), reason ? jv_string(reason) : jv_null());
	rec = jv_object_set(rec, jv_string("original_action"), jv_get_kind(last) == JV_KIND_OBJECT
	    && *event_str(last, "action") ? jv_string(event_str(last, "action")) : jv_null());
	rec = jv_object_set(rec, jv_string("original_reason"), jv_get_kind(last) == JV_KIND_OBJECT
	    && *event_str(last, "reason") ? jv_string(event_str(last, "reason")) : jv_null());
	rec = jv_object_set(rec, jv_string("timestamp"), jv_string(ts_format(now, t)));
	rec = jv_object_set(rec, jv_string("events"), jv_copy(evs));
	rec = jv_object_set(rec, jv_string("baseline_snapshot"), snapshot(&st, evs, human));
	rec = jv_object_set(rec, jv_string("annotations"), anns);
	rec = jv_object_set(rec, jv_string("detector"), jv_string(event_str(f, "detector")));
	rec = jv_object_set(rec, jv_string("source"), jv_string("individual"));
	rec = jv_object_set(rec, jv_string("weight"), jv_number(1.0));
	jv_free(last);
	jv_free(f);
	free(reason);

	path = xasprintf("%s/feedback.jsonl", st.dir);
	if (read_recent(path, &rc, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	why = rubber_stamp(&rc, now, !strcmp(action, "agree"));
	if (jsonl_append(path, rec, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	free(path);
	store_close(&st);
	if (why)
		warnf("%s", why);
	if (human) {
		printf("feedback recorded: ");
		human_put(stdout, id);
		printf(" %s\n", action);
		return fshut(stdout, "stdout") ? EXIT_WORK : 0;
	}
	r = cli_result();
	r = jv_object_set(r, jv_string("finding_id"), jv_string(id));
	r = jv_object_set(r, jv_string("human_action"), jv_string(action));
	if (why)
		r = jv_object_set(r, jv_string("warning"), jv_string(why));
	return cli_emit(r);
}
