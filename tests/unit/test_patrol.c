/* patrol and cron: periods to cron fields, shell words cron keeps, blocks, the patrols: block */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "patrol.h"
#include "t.h"
#include "util.h"
#include "yamljv.h"

/* the cron fields of a period, or "refused" */
static char *
sched(const char *every, const char *name)
{
	char *err = NULL, *s = patrol_schedule(every, "/srv/acme", name, &err);

	if (!s) {
		ok(err && strstr(err, "15m, 1h, 6h, 1d, 1w, 1mo"), "%s: the message lists the periods",
		    every);
		free(err);
		return xstrdup("refused");
	}
	return s;
}

/* 1 when every field of s is in range: minute, hour, day, month, weekday */
static int
in_range(const char *s)
{
	static const int hi[] = {59, 23, 31, 12, 6};
	char *copy = xstrdup(s), *save = NULL, *f = strtok_r(copy, " ", &save);
	int i = 0, good = 1;

	for (; f; f = strtok_r(NULL, " ", &save), i++) {
		char *end;
		long v;

		if (streq(f, "*"))
			continue;
		v = strtol(f, &end, 10);
		good &= i < 5 && v >= 0 && v <= hi[i] && (*end == 0 || *end == '-');
	}
	free(copy);
	return good && i == 5;
}

static void
periods(void)
{
	static const char *const good[] = {"1m", "5m", "15m", "30m", "1h", "2h", "6h", "12h", "1d",
		"1w", "1mo", "2mo", "6mo", "12mo", NULL};
	static const char *const bad[] = {"7m", "60m", "90m", "5h", "24h", "2d", "2w", "5mo",
		"0h", "01h", "1y", "h", "1", "", "1H", "1 h", " 1h", "1h ", "9999999h", NULL};
	char *s, *t;
	int starts[60] = {0}, distinct = 0;

	for (int i = 0; good[i]; i++) {
		s = sched(good[i], "hourly");
		ok(in_range(s), "%s: '%s' is in range", good[i], s);
		t = sched(good[i], "hourly");
		is_str(t, s, "%s: the same patrol, the same schedule", good[i]);
		free(s);
		free(t);
	}
	for (int i = 0; bad[i]; i++) {
		s = sched(bad[i], "hourly");
		is_str(s, "refused", "'%s' is refused", bad[i]);
		free(s);
	}
	s = sched("1m", "x");
	is_str(s, "* * * * *", "1m: every minute");
	free(s);
	s = sched("15m", "x");
	ok(!strcmp(s + strcspn(s, "-"), "-59/15 * * * *") && atoi(s) < 15,
	    "15m: a start in the first quarter, then every 15 minutes: '%s'", s);
	free(s);
	s = sched("6h", "x");
	ok(strstr(s, "-23/6 * * *") && atoi(strchr(s, ' ') + 1) < 6, "6h: '%s'", s);
	free(s);
	s = sched("1w", "x");
	ok(s[strlen(s) - 2] == ' ' && strstr(s, " * * "), "1w: one weekday: '%s'", s);
	free(s);
	/* the patrols of one deployment start at minutes spread over the hour */
	for (int i = 0; i < 60; i++) {
		char name[16];

		snprintf(name, sizeof name, "p%d", i);
		s = sched("1h", name);
		starts[atoi(s)]++;
		free(s);
	}
	for (int i = 0; i < 60; i++)
		distinct += starts[i] > 0;
	ok(distinct >= 25, "60 hourly patrols start at %d different minutes", distinct);
}

static void
names(void)
{
	static const char *const good[] = {"hourly", "a", "9", "nightly-aws_2", NULL};
	static const char *const bad[] = {"", "a b", "a/b", "a\nb", "a#b", "a;b", "$(id)", "a.b",
		"-x", "_x", "a%b", "a'b", "\xc3\xa9",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL};

	for (int i = 0; good[i]; i++)
		ok(!patrol_name_check(good[i]), "'%s' is a name", good[i]);
	for (int i = 0; bad[i]; i++)
		ok(patrol_name_check(bad[i]) != NULL, "bad name %d is refused", i);
}

static void
quoting(void)
{
	char *q = cron_quote("/srv/it's 100% $(x)");

	is_str(q, "'/srv/it'\\''s 100'\\%' $(x)'", "quotes, and %% escaped for cron outside them");
	free(q);
	q = cron_quote("a\\%b");
	is_str(q, "'a\\'\\%'b'", "a backslash before %% stays the path's: cron sees \\%% only after a quote");
	free(q);
}

static void
blocks(void)
{
	const char *b = "# BEGIN x /d", *e = "# END x /d";
	const char *user = "MAILTO=a\n# BEGIN x /d2\n1 * * * * y\n# END x /d2\n0 1 * * * z \\%\n";
	char *t, *u;
	size_t at, len;

	t = cron_set(user, b, e, "# BEGIN x /d\nline\n# END x /d\n");
	is_str(t, "MAILTO=a\n# BEGIN x /d2\n1 * * * * y\n# END x /d2\n0 1 * * * z \\%\n"
	    "# BEGIN x /d\nline\n# END x /d\n", "a block added at the end, the rest kept");
	ok(cron_block(t, b, e, &at, &len) == 1 && len == strlen("# BEGIN x /d\nline\n# END x /d\n"),
	    "found again");
	u = cron_set(t, b, e, "# BEGIN x /d\nnew\n# END x /d\n");
	ok(strstr(u, "\nnew\n") && !strstr(u, "\nline\n"), "replaced in place");
	free(t);
	t = cron_set(u, b, e, NULL);
	is_str(t, user, "removed: the crontab as it was, byte for byte");
	free(t);
	free(u);
	t = cron_set("no newline", b, e, "# BEGIN x /d\nl\n# END x /d\n");
	is_str(t, "no newline\n# BEGIN x /d\nl\n# END x /d\n", "a last line gets its newline");
	free(t);
	ok(cron_set("# BEGIN x /d\nhalf\n", b, e, NULL) == NULL, "a begin without its end is "
	    "refused");
	ok(cron_set("# END x /d\n# BEGIN x /d\n", b, e, NULL) == NULL, "an end before its begin "
	    "is refused");
	ok(cron_set("# BEGIN x /d\n# END x /d\n# BEGIN x /d\n# END x /d\n", b, e, NULL) == NULL,
	    "a block twice is refused");
}

/* the text of a yaml edit, or NULL */
static char *
edited(const char *text, const char *patrols_json)
{
	char *err = NULL, *yerr = NULL;
	jv root = yamljv_parse(text, strlen(text), NULL, &yerr), p = jv_parse(patrols_json);
	char *out;

	if (jv_get_kind(root) == JV_KIND_NULL) {
		jv_free(root);
		root = jv_object();
	}
	out = patrol_yaml(text, strlen(text), root, p, &err);
	jv_free(root);
	free(err);
	free(yerr);
	return out;
}

static void
yaml(void)
{
	const char *text = "# mine\nconnectors: {a: {type: file}}  # kept\n\npatrols:\n"
	    "  old: {every: 1h}\n  # a note in the block\n\n# about baseline\nbaseline:\n"
	    "  window_days: 30\n";
	char *t = edited(text, "{\"new\": {\"every\": \"1d\"}}");

	is_str(t, "# mine\nconnectors: {a: {type: file}}  # kept\n\npatrols:\n  new:\n"
	    "    every: '1d'\n\n# about baseline\nbaseline:\n  window_days: 30\n",
	    "the block replaced, the comments around it kept");
	free(t);
	t = edited(text, "{}");
	is_str(t, "# mine\nconnectors: {a: {type: file}}  # kept\n\n\n# about baseline\nbaseline:\n"
	    "  window_days: 30\n", "no patrols: the block removed");
	free(t);
	t = edited("a: 1", "{\"p\": {\"every\": \"1h\"}}");
	is_str(t, "a: 1\npatrols:\n  p:\n    every: '1h'\n", "appended after a last line");
	free(t);
	t = edited("", "{\"p\": {\"every\": \"1h\"}}");
	is_str(t, "patrols:\n  p:\n    every: '1h'\n", "an empty file");
	free(t);
	ok(!edited("{a: 1}\n", "{\"p\": {\"every\": \"1h\"}}"), "a document in flow style is "
	    "refused, not broken");
	ok(!edited("patrols: {}\npatrols: {}\n", "{}"), "patrols: twice is refused");
	t = edited("x:\n  y: |\n    patrols:\n    z\n", "{\"p\": {\"every\": \"1h\"}}");
	is_str(t, "x:\n  y: |\n    patrols:\n    z\npatrols:\n  p:\n    every: '1h'\n",
	    "text inside another value is not taken for the block");
	free(t);
}

int
main(void)
{
	periods();
	names();
	quoting();
	blocks();
	yaml();
	return t_done();
}
