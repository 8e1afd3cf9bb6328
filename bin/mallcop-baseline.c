/* mallcop-baseline: what the deployment has learned is normal */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "cfg.h"
#include "cli.h"
#include "human.h"
#include "jsonl.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-baseline [--dir DIR] [--actor NAME | --entity NAME] [--human]";

static const char *days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

static void
put_field(const char *label, jv v)
{
	printf("%s: ", label);
	if (jv_get_kind(v) == JV_KIND_STRING)
		human_put(stdout, jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		printf("%.0f", jv_number_value(v));
	else if (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE)
		printf("%s", jv_get_kind(v) == JV_KIND_TRUE ? "yes" : "no");
	else
		printf("-");
	putchar('\n');
	jv_free(v);
}

static void
human_actor(jv r)
{
	jv hours = jsonl_get(jv_copy(r), "hours"), targets = jsonl_get(jv_copy(r), "targets");
	jv roles = jsonl_get(jv_copy(r), "roles");

	put_field("Actor", jsonl_get(jv_copy(r), "actor"));
	put_field("Known", jsonl_get(jv_copy(r), "known"));
	put_field("Events in the window", jsonl_get(jv_copy(r), "events"));
	put_field("First seen", jsonl_get(jv_copy(r), "first_seen"));
	put_field("Last seen", jsonl_get(jv_copy(r), "last_seen"));
	printf("Active (UTC, 4-hour slots):\n");
	jv_object_foreach(hours, k, n) {
		int d, h;

		if (sscanf(jv_string_value(k), "%d:%d", &d, &h) == 2 && d >= 0 && d < 7)
			printf("  %s %02d-%02d  %.0f\n", days[d], h, h + 4, jv_number_value(n));
		jv_free(k);
		jv_free(n);
	}
	printf("Targets:\n");
	jv_object_foreach(targets, k, v) {
		printf("  ");
		human_put(stdout, jv_string_value(k));
		{
			jv last = jsonl_get(jv_copy(v), "last_seen");

			printf("  (%.0f times, last %s)\n",
			    jsonl_number(jsonl_get(jv_copy(v), "count"), 0),
			    jv_get_kind(last) == JV_KIND_STRING ? jv_string_value(last) : "-");
			jv_free(last);
		}
		jv_free(k);
		jv_free(v);
	}
	printf("Roles granted:");
	jv_array_foreach(roles, i, x) {
		printf("%s", i ? ", " : " ");
		human_put(stdout, jv_string_value(x));
		jv_free(x);
	}
	printf("\n");
	jv_free(hours);
	jv_free(targets);
	jv_free(roles);
	jv_free(r);
}

/* the events in the store (the earlier implementation's event_count), counted without parsing;
 * -1 and *err when the store cannot be read */
static double
stored(store *st, char **err)
{
	store_file *files;
	size_t n = store_event_files(st, 0, &files, err);
	double total = 0;

	for (size_t i = 0; i < n && !*err; i++) {
		long c = store_count_lines(&files[i]);

		if (c < 0)
			*err = xasprintf("cannot read '%s': %s", files[i].path,
			    strerror(errno));
		total += (double)c;
	}
	store_files_free(files, n);
	return *err ? -1 : total;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"actor", required_argument, NULL, 'a'},
		{"entity", required_argument, NULL, 'e'},
		{"human", no_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *actor = NULL, *entity = NULL;
	int c, human = 0;
	char *err = NULL, *path;
	int window;
	store st;
	baseline b;
	jv r;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'a': actor = optarg; break;
		case 'e': entity = optarg; break;
		case 'u': human = 1; break;
		case 'h':
			puts(usage);
			return 0;
		default:
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || (actor && entity)) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, optind < argc ? "unexpected argument" : "give --actor or --entity, "
		    "not both");
	}
	human = cli_human(human);
	if (store_open(&st, store_root(dir), 0, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	path = xasprintf("%s/baseline.json", st.dir);
	if (cfg_check(st.root, &window, &err) || baseline_load(&b, path, window, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	r = cli_result();
	if (actor) {
		jv a = baseline_actor(&b, actor);

		if (human) {
			human_actor(a);
		} else {
			/* the earlier implementation's names for the same */
			r = jv_object_set(r, jv_string("frequency_entries"),
			    jsonl_get(jv_copy(a), "frequencies"));
			r = jv_object_set(r, jv_string("relationships"), jsonl_get(jv_copy(a),
			    "targets"));
			jv_object_foreach(a, k, v)
				r = jv_object_set(r, k, v);
			jv_free(a);
		}
	} else if (entity) {
		jv e = baseline_entity(&b, entity);

		if (human) {
			jv as = jsonl_get(jv_copy(e), "as");

			put_field("Entity", jsonl_get(jv_copy(e), "entity"));
			printf("Known: %s", jv_array_length(jv_copy(as)) ? "yes, as" : "no");
			jv_array_foreach(as, i, x) {
				printf("%s%s", i ? ", " : " ", jv_string_value(x));
				jv_free(x);
			}
			putchar('\n');
			jv_free(as);
			jv_free(e);
		} else {
			jv_object_foreach(e, k, v)
				r = jv_object_set(r, k, v);
			jv_free(e);
		}
	} else {
		jv s = baseline_stats(&b), srcs = baseline_sources(&b), learning = jv_object();
		int64_t now = ts_now();

		jv_array_foreach(srcs, i, src) {
			char t[TS_BUFSZ];
			int64_t first = baseline_first_seen(&b, jv_string_value(src));
			jv l = jv_object_set(jv_object(), jv_string("first_seen"),
			    jv_string(ts_format(first, t)));

			(void)i;
			l = jv_object_set(l, jv_string("learning"),
			    jv_bool(baseline_learning(&b, jv_string_value(src), now)));
			l = jv_object_set(l, jv_string("learning_until"), jv_string(ts_format(first +
			    (int64_t)BASELINE_LEARNING_DAYS * 86400 * TS_SECOND, t)));
			learning = jv_object_set(learning, src, l);
		}
		jv_free(srcs);
		s = jv_object_set(s, jv_string("window_days"), jv_number(b.window_days));
		s = jv_object_set(s, jv_string("sources"), learning);
		if (human) {
			jv ss = jsonl_get(jv_copy(s), "sources");

			put_field("Events learned", jsonl_get(jv_copy(s), "events"));
			put_field("Known actors", jsonl_get(jv_copy(s), "known_actor_count"));
			put_field("Frequency entries", jsonl_get(jv_copy(s), "frequency_table_entries"));
			printf("Sources:\n");
			jv_object_foreach(ss, k, v) {
				printf("  ");
				human_put(stdout, jv_string_value(k));
				{
					jv f = jsonl_get(jv_copy(v), "first_seen");

					printf(": first event %s, %s\n", jv_string_value(f),
					    jv_get_kind(jsonl_get(jv_copy(v), "learning")) ==
					    JV_KIND_TRUE ? "learning" : "learned");
					jv_free(f);
				}
				jv_free(k);
				jv_free(v);
			}
			jv_free(ss);
			jv_free(s);
		} else {
			jv_object_foreach(s, k, v)
				r = jv_object_set(r, k, v);
			jv_free(s);
			double count = stored(&st, &err);

			if (err)
				cli_fail(EXIT_WORK, human, "%s", err);
			r = jv_object_set(r, jv_string("event_count"), jv_number(count));
		}
	}
	baseline_free(&b);
	free(path);
	store_close(&st);
	if (human) {
		jv_free(r);
		return fshut(stdout, "stdout") ? EXIT_WORK : 0;
	}
	return cli_emit(r);
}
