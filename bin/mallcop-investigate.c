/* mallcop-investigate: one finding with its events, the actors' history and baseline, the playbook */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
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
#include "plugin.h"
#include "store.h"
#include "util.h"

static const char usage[] = "usage: mallcop-investigate FINDING_ID [--dir DIR] [--human]";

static const char *days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

#define PLAYBOOK "actors/investigate/POST.md"

/* add the actor of e (borrowed) to the set */
static jv
add_actor(jv set, const char *actor)
{
	if (*actor)
		set = jv_object_set(set, jv_string(actor), jv_true());
	return set;
}

/* the actors a finding involves: its events' actors (from the id -> actor map) and metadata.actor */
static jv
finding_actors(jv f, jv actor_of)
{
	jv ids = jsonl_get(jv_copy(f), "event_ids"), meta = jsonl_get(jv_copy(f), "metadata");
	jv set = jv_object();

	if (jv_get_kind(ids) == JV_KIND_ARRAY)
		jv_array_foreach(ids, i, id) {
			(void)i;
			if (jv_get_kind(id) == JV_KIND_STRING) {
				jv a = jv_object_get(jv_copy(actor_of), id);

				if (jv_get_kind(a) == JV_KIND_STRING)
					set = add_actor(set, jv_string_value(a));
				jv_free(a);
			} else {
				jv_free(id);
			}
		}
	if (jv_get_kind(meta) == JV_KIND_OBJECT)
		set = add_actor(set, event_str(meta, "actor"));
	jv_free(ids);
	jv_free(meta);
	return set;
}

/* every other finding's event ids, to learn their actors in one pass over the store */
static jv
actor_map(store *st, jv all, const char *id)
{
	jv ids = jv_array(), evs, map = jv_object();

	jv_array_foreach(all, i, f) {
		jv e = jsonl_get(jv_copy(f), "event_ids");

		(void)i;
		if (strcmp(event_str(f, "id"), id) && jv_get_kind(e) == JV_KIND_ARRAY)
			ids = jv_array_concat(ids, e);
		else
			jv_free(e);
		jv_free(f);
	}
	evs = finding_events(st, ids, NULL);
	jv_array_foreach(evs, i, e) {
		(void)i;
		map = jv_object_set(map, jv_string(event_str(e, "id")),
		    jv_string(event_str(e, "actor")));
		jv_free(e);
	}
	jv_free(evs);
	return map;
}

static jv by_time(jv evs);

typedef struct history {
	jv set;		/* the actors */
	jv by;		/* actor -> [events] */
} history;

enum { HISTORY_MAX = 1000 };

static int
history_add(jv ev, const char *text, void *arg)
{
	history *h = arg;
	const char *actor = event_str(ev, "actor");

	if (*actor && !event_stored_has_nul(ev, text, text ? strlen(text) : 0) && jv_object_has(jv_copy(h->set), jv_string(actor))) {
		jv list = jv_object_get(jv_copy(h->by), jv_string(actor));

		h->by = jv_object_set(h->by, jv_string(actor), jv_null());
		if (jv_get_kind(list) != JV_KIND_ARRAY) {
			jv_free(list);
			list = jv_array();
		}
		list = jv_array_append(list, ev);
		/* the newest are kept: files come by source and month, so sort before cutting */
		if (jv_array_length(jv_copy(list)) >= 2 * HISTORY_MAX)
			list = jv_array_slice(by_time(list), HISTORY_MAX, 2 * HISTORY_MAX);
		h->by = jv_object_set(h->by, jv_string(actor), list);
	} else {
		jv_free(ev);
	}
	return 0;
}

/* actor_history of the earlier implementation: each actor's stored events, in time order */
static jv
actor_history(store *st, jv set, char **err)
{
	history h = {set, jv_object()};
	store_file *files;
	size_t n = store_event_files(st, 0, &files, err);
	jv out = jv_object();

	for (size_t i = 0; i < n && !*err; i++)
		if (store_each_event(&files[i], 0, history_add, &h, NULL))
			*err = xasprintf("cannot read '%s': %s", files[i].path,
			    strerror(errno));
	store_files_free(files, n);
	if (*err) {
		jv_free(out);
		jv_free(h.by);
		jv_free(h.set);
		return jv_invalid();
	}
	jv_object_foreach(set, k, v) {
		jv list = jv_object_get(jv_copy(h.by), jv_copy(k));

		int n;

		if (jv_get_kind(list) != JV_KIND_ARRAY) {
			jv_free(list);
			list = jv_array();
		}
		list = by_time(list);
		n = jv_array_length(jv_copy(list));
		if (n > HISTORY_MAX)
			list = jv_array_slice(list, n - HISTORY_MAX, n);
		out = jv_object_set(out, k, list);
		jv_free(v);
	}
	jv_free(h.by);
	jv_free(h.set);
	return out;
}

/* {profile, findings, annotations} of one actor */
static jv
actor_entry(const baseline *b, const char *actor, jv all, const char *id, jv actor_of)
{
	jv ids = jv_array(), anns = jv_array(), r = jv_object();

	jv_array_foreach(all, i, f) {
		(void)i;
		if (jv_get_kind(f) == JV_KIND_OBJECT && strcmp(event_str(f, "id"), id)) {
			jv set = finding_actors(f, actor_of);
			if (jv_object_has(set, jv_string(actor))) {
				jv a = jsonl_get(jv_copy(f), "annotations");

				ids = jv_array_append(ids, jv_string(event_str(f, "id")));
				if (jv_get_kind(a) == JV_KIND_ARRAY)
					jv_array_foreach(a, k, x) {
						(void)k;
						if (jv_get_kind(x) == JV_KIND_OBJECT)
							x = jv_object_set(x, jv_string("finding_id"),
							    jv_string(event_str(f, "id")));
						anns = jv_array_append(anns, x);
					}
				jv_free(a);
			}
		}
		jv_free(f);
	}
	r = jv_object_set(r, jv_string("profile"), baseline_actor(b, actor));
	r = jv_object_set(r, jv_string("findings"), ids);
	return jv_object_set(r, jv_string("annotations"), anns);
}

static void
put_str(const char *label, jv v)
{
	printf("%s", label);
	if (jv_get_kind(v) == JV_KIND_STRING)
		human_putn(stdout, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
	else
		putchar('-');
	putchar('\n');
	jv_free(v);
}

static void
human_actor(jv name, jv a)
{
	jv p = jsonl_get(jv_copy(a), "profile"), hours = jsonl_get(jv_copy(p), "hours");
	jv ids = jsonl_get(jv_copy(a), "findings"), anns = jsonl_get(jv_copy(a), "annotations");
	int known = jv_get_kind(jsonl_get(jv_copy(p), "known")) == JV_KIND_TRUE;

	printf("  ");
	human_putn(stdout, jv_string_value(name), (size_t)jv_string_length_bytes(jv_copy(name)));
	printf(": %s\n", known ? "KNOWN in the baseline" : "UNKNOWN to the baseline");
	printf("    events in window: %.0f\n", jsonl_number(jsonl_get(jv_copy(p), "events"), 0));
	put_str("    first seen: ", jsonl_get(jv_copy(p), "first_seen"));
	put_str("    last seen: ", jsonl_get(jv_copy(p), "last_seen"));
	printf("    usual hours (UTC):");
	if (jv_get_kind(hours) != JV_KIND_OBJECT || !jv_object_length(jv_copy(hours)))
		printf(" -");
	else
		jv_object_foreach(hours, k, n) {
			int d, h;

			if (sscanf(jv_string_value(k), "%d:%d", &d, &h) == 2 && d >= 0 && d < 7)
				printf(" %s %02d-%02d (%.0f)", days[d], h, h + 4,
				    jsonl_number(jv_copy(n), 0));
			jv_free(k);
			jv_free(n);
		}
	putchar('\n');
	printf("    other findings:");
	if (!jv_array_length(jv_copy(ids)))
		printf(" none");
	jv_array_foreach(ids, i, x) {
		printf("%s", i ? ", " : " ");
		human_put(stdout, jv_string_value(x));
		jv_free(x);
	}
	putchar('\n');
	jv_array_foreach(anns, i, x) {
		(void)i;
		printf("      - ");
		human_field(stdout, x, "finding_id", NULL);
		printf(" [");
		human_field(stdout, x, "actor", NULL);
		printf("] ");
		human_field(stdout, x, "content", NULL);
		putchar('\n');
		jv_free(x);
	}
	jv_free(p);
	jv_free(hours);
	jv_free(ids);
	jv_free(anns);
	jv_free(a);
}

/* text of the playbook, line by line, each line made safe */
static void
human_lines(const char *text)
{
	char *copy = xstrdup(text), *line = copy, *nl;

	for (; *line; line = nl + 1) {
		if ((nl = strchr(line, '\n')))
			*nl = 0;
		printf("  ");
		human_put(stdout, line);
		putchar('\n');
		if (!nl)
			break;
	}
	free(copy);
}

static void
human_view(jv r)
{
	jv f = jsonl_get(jv_copy(r), "finding"), evs = jsonl_get(jv_copy(r), "events");
	jv actors = jsonl_get(jv_copy(r), "actors"), post = jsonl_get(jv_copy(r), "post_md");
	jv src = jsonl_get(jv_copy(r), "post_md_source");
	static const char *cols[] = {"source", "event_type", "actor", "action", "target"};

	printf("== INVESTIGATE: ");
	human_field(stdout, f, "id", NULL);
	printf(" ==\n");
	finding_print(stdout, f, 1);
	printf("\nEvents (%d):\n", jv_array_length(jv_copy(evs)));
	jv_array_foreach(evs, i, e) {
		(void)i;
		printf("  ");
		human_field(stdout, e, "timestamp", "-");
		for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
			printf("  ");
			human_field(stdout, e, cols[c], "-");
		}
		putchar('\n');
		jv_free(e);
	}
	printf("\nActors:\n");
	if (!jv_object_length(jv_copy(actors)))
		printf("  none\n");
	jv_object_foreach(actors, k, a) {
		human_actor(k, a);
		jv_free(k);
	}
	if (jv_get_kind(post) == JV_KIND_STRING) {
		printf("\nPlaybook (");
		human_put(stdout, jv_string_value(src));
		printf("):\n");
		human_lines(jv_string_value(post));
	}
	jv_free(f);
	jv_free(evs);
	jv_free(actors);
	jv_free(post);
	jv_free(src);
	jv_free(r);
}

/* evs (consumed) without the events stored with a NUL (before scan refused them), counted */
static jv
without_nul(jv evs, size_t *nul)
{
	jv out = jv_array();

	jv_array_foreach(evs, i, e) {
		(void)i;
		if (event_has_nul(e)) {
			++*nul;
			jv_free(e);
		} else {
			out = jv_array_append(out, e);
		}
	}
	jv_free(evs);
	return out;
}

/* the events oldest first (consumed); those without a readable time first */
static jv
by_time(jv evs)
{
	jv keys = jv_array();

	jv_array_foreach(evs, i, e) {
		int64_t us;

		(void)i;
		keys = jv_array_append(keys, jv_number(event_time(e, &us) ? -1 : (double)us));
		jv_free(e);
	}
	return jv_sort(evs, keys);
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
	int c, human = 0, window;
	char *err = NULL, *path, *post, *post_src;
	store st;
	baseline b;
	jv all, f, evs, set, actors, actor_of, r, base, history;
	size_t nul = 0;

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
		die(EXIT_USAGE, argc - optind > 1 ? "unexpected argument" : "no finding id given");
	}
	id = argv[optind];
	human = cli_human(human);
	if (store_open(&st, store_root(dir), 0, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	if (!jv_is_valid(all = store_findings(&st, NULL, &err)))
		cli_fail(EXIT_WORK, human, "%s", err);
	f = finding_get(all, id);
	if (!jv_is_valid(f)) {
		char *safe = human_safe(id);

		cli_fail(EXIT_WORK, human, "finding not found: %s", safe);
	}
	path = xasprintf("%s/baseline.json", st.dir);
	if (cfg_check(st.root, &window, &err) || baseline_load(&b, path, window, &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	free(path);

	evs = finding_events(&st, jsonl_get(jv_copy(f), "event_ids"), &err);
	if (!jv_is_valid(evs))
		cli_fail(EXIT_WORK, human, "%s", err);
	/* an actor read up to a NUL would be shown with another's baseline */
	evs = by_time(without_nul(evs, &nul));
	if (nul)
		warnf("%zu of the finding's stored events skipped: " EVENT_HAS_NUL, nul);
	set = jv_object();
	actors = jv_object();
	jv_array_foreach(evs, i, e) {
		(void)i;
		set = add_actor(set, event_str(e, "actor"));
		jv_free(e);
	}
	{
		jv meta = jsonl_get(jv_copy(f), "metadata");

		if (jv_get_kind(meta) == JV_KIND_OBJECT)
			set = add_actor(set, event_str(meta, "actor"));
		jv_free(meta);
	}
	actor_of = actor_map(&st, all, id);
	base = jv_object();
	jv_object_foreach(set, k, v) {
		jv a = actor_entry(&b, jv_string_value(k), all, id, actor_of);
		jv prof = jsonl_get(jv_copy(a), "profile"), old = jv_object();

		/* the earlier implementation's baseline.actors: the same profile, its names */
		old = jv_object_set(old, jv_string("known"), jsonl_get(jv_copy(prof), "known"));
		old = jv_object_set(old, jv_string("frequency_entries"),
		    jsonl_get(jv_copy(prof), "frequencies"));
		old = jv_object_set(old, jv_string("relationships"), jsonl_get(prof, "targets"));
		base = jv_object_set(base, jv_copy(k), old);
		actors = jv_object_set(actors, k, a);
		jv_free(v);
	}
	if (!jv_is_valid(history = actor_history(&st, set, &err)))
		cli_fail(EXIT_WORK, human, "%s", err);
	jv_free(actor_of);
	jv_free(all);
	baseline_free(&b);

	post = plugin_data(st.root, PLAYBOOK, &post_src);
	r = cli_result();
	r = jv_object_set(r, jv_string("finding"), f);
	r = jv_object_set(r, jv_string("events"), evs);
	if (nul)
		r = jv_object_set(r, jv_string("skipped_events"), jv_number((double)nul));
	r = jv_object_set(r, jv_string("actors"), actors);
	r = jv_object_set(r, jv_string("actor_history"), history);
	r = jv_object_set(r, jv_string("baseline"), jv_object_set(jv_object(),
	    jv_string("actors"), base));
	r = jv_object_set(r, jv_string("post_md"), post ? jv_string(post) : jv_null());
	r = jv_object_set(r, jv_string("post_md_source"), post_src ? jv_string(post_src) : jv_null());
	free(post);
	free(post_src);
	store_close(&st);
	if (human) {
		human_view(r);
		return fshut(stdout, "stdout") ? EXIT_WORK : 0;
	}
	return cli_emit(r);
}
