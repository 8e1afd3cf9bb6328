/* mallcop-review: the playbook and every open finding, highest severity first */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "finding.h"
#include "human.h"
#include "jsonl.h"
#include "plugin.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] = "usage: mallcop-review [--dir DIR] [--human]";

#define PLAYBOOK "actors/investigate/POST.md"

static const char *const groups[] = {"critical", "warn", "info"};

enum { CMDS_SHOWN = 5 };	/* findings whose commands --human lists */


/* an id as one shell word: quoted unless it is plainly safe, so a command can be pasted */
static char *
shell_word(const char *s)
{
	size_t n = 0;
	char *out, *p;

	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")
	    == strlen(s) && *s != '-')
		return xstrdup(s);
	for (const char *q = s; *q; q++)
		n += *q == '\'' ? 4 : 1;
	p = out = xmalloc(n + 3);
	*p++ = '\'';
	for (const char *q = s; *q; q++) {
		if (*q == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else
			*p++ = *q;
	}
	*p++ = '\'';
	*p = 0;
	return out;
}

static jv
suggest(jv cmds, const char *id)
{
	char *w = shell_word(id);
	char *c[] = {
		xasprintf("mallcop investigate %s", w),
		xasprintf("mallcop finding %s", w),
		xasprintf("mallcop events --finding %s", w),
		xasprintf("mallcop annotate %s \"<analysis>\"", w),
		xasprintf("mallcop ack %s", w),
	};

	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		cmds = jv_array_append(cmds, jv_string(c[i]));
		free(c[i]);
	}
	free(w);
	return cmds;
}

typedef struct row {
	int64_t us;
	size_t at;
	jv f;
} row;

static int
newest_first(const void *a, const void *b)
{
	const row *x = a, *y = b;

	if (x->us != y->us)
		return x->us < y->us ? 1 : -1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* the open findings of one severity, newest first */
static jv
group(jv all, const char *severity)
{
	size_t n = 0;
	row *rows = xcalloc((size_t)jv_array_length(jv_copy(all)) + 1, sizeof *rows);
	jv out = jv_array();

	jv_array_foreach(all, i, f) {
		int64_t us;

		if (jv_get_kind(f) != JV_KIND_OBJECT || strcmp(event_str(f, "status"), "open") ||
		    strcmp(event_str(f, "severity"), severity)) {
			jv_free(f);
			continue;
		}
		rows[n].us = ts_parse(event_str(f, "timestamp"), &us) ? INT64_MIN : us;
		rows[n].at = (size_t)i;
		rows[n++].f = f;
	}
	if (n)
		qsort(rows, n, sizeof *rows, newest_first);
	for (size_t i = 0; i < n; i++)
		out = jv_array_append(out, rows[i].f);
	free(rows);
	jv_free(all);
	return out;
}

/* text that may hold anything, line by line, each made safe */
static void
put_lines(const char *text)
{
	char *copy = xstrdup(text), *p = copy, *nl;

	for (; *p; p = nl + 1) {
		if ((nl = strchr(p, '\n')))
			*nl = 0;
		human_put(stdout, p);
		putchar('\n');
		if (!nl)
			break;
	}
	free(copy);
}

static void
print_human(jv r)
{
	jv post = jv_object_get(jv_copy(r), jv_string("post_md"));
	jv src = jv_object_get(jv_copy(r), jv_string("post_md_source"));
	jv by = jv_object_get(jv_copy(r), jv_string("findings_by_severity"));
	jv cmds = jv_object_get(jv_copy(r), jv_string("suggested_commands"));

	puts("== MALLCOP REVIEW ==\n");
	if (jv_get_kind(post) == JV_KIND_STRING) {
		fputs("PLAYBOOK: ", stdout);
		human_put(stdout, jv_string_value(src));
		puts("\n---");
		put_lines(jv_string_value(post));
		puts("---\n");
	} else
		puts("(no playbook found: see mallcop-review(1), FILES)\n");
	if (!jv_object_length(jv_copy(by)))
		puts("No open findings.");
	for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
		jv list = jv_object_get(jv_copy(by), jv_string(groups[g]));
		int n;
		char up[16];

		if (!jv_is_valid(list)) {
			jv_free(list);
			continue;
		}
		n = jv_array_length(jv_copy(list));
		for (size_t i = 0; i <= strlen(groups[g]); i++)
			up[i] = (char)(groups[g][i] >= 'a' ? groups[g][i] - 32 : groups[g][i]);
		printf("%s (%d finding%s):\n", up, n, n == 1 ? "" : "s");
		jv_array_foreach(list, i, f) {
			(void)i;
			finding_print(stdout, f, 1);
			jv_free(f);
		}
		putchar('\n');
		jv_free(list);
	}
	if (jv_array_length(jv_copy(cmds))) {
		/* the first findings (the most severe) are where to start; the rest are in the JSON */
		int n = jv_array_length(jv_copy(cmds)), shown = n < 5 * CMDS_SHOWN ? n
		    : 5 * CMDS_SHOWN;

		puts("COMMANDS:");
		jv_array_foreach(cmds, i, c) {
			if (i < shown) {
				fputs("  ", stdout);
				human_put(stdout, jv_string_value(c));
				putchar('\n');
			}
			jv_free(c);
		}
		if (shown < n)
			printf("  (and the same for the other %d findings: "
			    "'mallcop review | jq -r .suggested_commands[]')\n", (n - shown) / 5);
	}
	jv_free(cmds);
	jv_free(by);
	jv_free(src);
	jv_free(post);
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
	int c, human = 0, rc;
	size_t skipped = 0;
	store st;
	char *err = NULL, *text, *source = NULL;
	jv all, by, cmds, r;

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
	if (cfg_check(st.root, NULL, &err))
		cli_fail(EXIT_WORK, human, "%s", err);

	if (!jv_is_valid(all = store_findings(&st, &skipped, &err)))
		cli_fail(EXIT_WORK, human, "%s", err);
	by = jv_object();
	cmds = jv_array();
	for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
		jv list = group(jv_copy(all), groups[g]);

		if (!jv_array_length(jv_copy(list))) {
			jv_free(list);
			continue;
		}
		jv_array_foreach(list, i, f) {
			(void)i;
			cmds = suggest(cmds, event_str(f, "id"));
			jv_free(f);
		}
		by = jv_object_set(by, jv_string(groups[g]), list);
	}
	jv_free(all);

	r = cli_result();
	text = plugin_data(st.root, PLAYBOOK, &source);
	r = jv_object_set(r, jv_string("post_md"), text ? jv_string(text) : jv_null());
	r = jv_object_set(r, jv_string("post_md_source"), text ? jv_string(source) : jv_null());
	r = jv_object_set(r, jv_string("findings_by_severity"), by);
	r = jv_object_set(r, jv_string("suggested_commands"), cmds);
	r = jv_object_set(r, jv_string("skipped_lines"), jv_number((double)skipped));
	free(text);
	free(source);

	if (human) {
		print_human(r);
		if (skipped)
			printf("(%zu malformed lines skipped in findings.jsonl)\n", skipped);
		jv_free(r);
	} else
		jsonl_put(stdout, r);
	rc = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	store_close(&st);
	return rc;
}
