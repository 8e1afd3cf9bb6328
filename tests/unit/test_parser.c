/* parser: loading apps/APP/parser.yaml, matching lines, mapping groups, the search limit */
#define _GNU_SOURCE
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "jsonl.h"
#include "parser.h"
#include "t.h"
#include "util.h"

static char dir[] = "/tmp/mallcop-test-parser.XXXXXX";

/* a parser from the YAML text; NULL and *err when it does not load */
static parser *
load(const char *yaml, char **err)
{
	char *path = xasprintf("%s/parser.yaml", dir);
	FILE *f = fopen(path, "w");
	parser *p;

	fputs(yaml, f);
	fclose(f);
	p = parser_load(path, "web", err);
	free(path);
	return p;
}

/* what loading the YAML says, after the directory */
static char *
load_error(const char *yaml)
{
	char *err = NULL, *out;
	parser *p = load(yaml, &err);

	parser_free(p);
	if (!err)
		return xstrdup("(loaded)");
	out = xstrdup(strncmp(err, dir, strlen(dir)) ? err : err + strlen(dir) + 1);
	free(err);
	return out;
}

/* o[key] as text (a copy that lasts a few calls), or "(none)" */
static const char *
field(jv o, const char *key)
{
	static char ring[4][256];
	static int at;
	char *buf = ring[at++ % 4];
	jv v = jsonl_get(jv_copy(o), key);

	snprintf(buf, sizeof ring[0], "%s", jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) :
	    "(none)");
	jv_free(v);
	return buf;
}

static jv
log_line(const char *line)
{
	static const char text[] = "{\"id\":\"evt_00000000000000000001\",\"timestamp\":"
	    "\"2026-11-25T10:00:00Z\",\"source\":\"container-logs\",\"event_type\":\"log_line\","
	    "\"actor\":\"web\",\"action\":\"log\",\"target\":\"web\",\"severity\":\"info\","
	    "\"metadata\":{\"app\":\"web\",\"container\":\"c1\"},\"raw\":{}}";
	jv ev = jsonl_parse(text, sizeof text - 1);

	return jv_object_set(ev, jv_string("raw"),
	    jv_object_set(jv_object(), jv_string("line"), jv_string(line)));
}

static const char yaml[] =
    "templates:\n"
    "  - name: noise\n"
    "    pattern: 'healthcheck'\n"
    "    noise_filter: true\n"
    "  - name: auth\n"
    "    pattern: '^(?P<timestamp>\\S+) user=(?P<user>\\w+)(?: mfa=(?P<mfa>\\w+))?'\n"
    "    event_mapping:\n"
    "      event_type: auth_failure\n"
    "      actor: '{user}'\n"
    "      severity: '{mfa}'\n"
    "      metadata: {mfa: '[{mfa}]', brace: '{not a placeholder} {}'}\n"
    "  - name: any\n"
    "    pattern: 'user'\n";

static void
test_matching(void)
{
	char *err = NULL;
	parser *p = load(yaml, &err);
	jv ev, out = jv_invalid(), m, list;

	ok(p && !err, "a parser loads");
	if (!p)
		return;
	ev = log_line("2026-11-25T09:59:58.5Z user=alice mfa=warn");
	ok(parser_line(p, ev, &out) == PARSER_EVENT, "a line the second template takes");
	is_str(field(out, "event_type"), "auth_failure",
	    "its event type");
	is_str(field(out, "actor"), "alice", "a group as actor");
	is_str(field(out, "timestamp"), "2026-11-25T09:59:58.500000Z",
	    "the group `timestamp` as the event's time");
	is_str(field(out, "severity"), "warn",
	    "a placeholder in the severity that gives one");
	m = jsonl_get(jv_copy(out), "metadata");
	is_str(field(m, "mfa"), "[warn]", "a group in metadata");
	is_str(field(m, "brace"), "{not a placeholder} {}",
	    "braces around anything but a name are text");
	is_str(field(m, "container"), "c1",
	    "the line's own metadata is kept");
	is_str(field(m, "template"), "auth", "the template named");
	jv_free(m);
	jv_free(out);
	jv_free(ev);

	ev = log_line("2026-11-25T10:00:00Z user=bob");
	ok(parser_line(p, ev, &out) == PARSER_EVENT, "an optional group that did not match");
	m = jsonl_get(jv_copy(out), "metadata");
	is_str(field(m, "mfa"), "[]", "leaves its placeholder empty");
	is_str(field(out, "severity"), "info",
	    "a severity that maps to none is info");
	jv_free(m);
	jv_free(out);
	jv_free(ev);

	ev = log_line("GET /healthcheck 200");
	ok(parser_line(p, ev, &out) == PARSER_NOISE, "noise");
	jv_free(ev);
	ev = log_line("nothing here");
	ok(parser_line(p, ev, &out) == PARSER_UNMATCHED, "a line no template takes");
	jv_free(ev);
	ev = log_line("  \t ");
	ok(parser_line(p, ev, &out) == PARSER_BLANK, "a blank line is not counted");
	jv_free(ev);
	ev = log_line("x user");
	ok(parser_line(p, ev, &out) == PARSER_EVENT, "the third template, when the second fails");
	is_str(field(out, "event_type"), "any",
	    "event_type defaults to the template's name");
	is_str(field(out, "actor"), "web",
	    "actor defaults to the app");
	jv_free(out);
	jv_free(ev);

	{
		int t;

		ok(parser_match(p, "x user \xff\xfe", 9, &t) == PARSER_UNMATCHED,
		    "bytes that are not UTF-8 are not searched: unmatched");
		ok(parser_match(p, "x user \xc3", 8, &t) == PARSER_UNMATCHED,
		    "nor a character cut short");
		ok(parser_match(p, "x user caf\xc3\xa9", 12, &t) == PARSER_EVENT,
		    "but UTF-8 is");
	}
	list = parser_summaries(p, "container-logs", 1764000000000000LL, jv_array());
	ok(jv_array_length(jv_copy(list)) == 2, "a noise_summary and a parser_summary");
	m = jsonl_get(jsonl_get(jv_array_get(jv_copy(list), 1), "metadata"), "unmatched_ratio");
	ok(jv_get_kind(m) == JV_KIND_NUMBER && jv_number_value(m) == 3.0 / 8,
	    "three lines in eight unmatched");
	jv_free(m);
	jv_free(list);
	parser_free(p);
}

static void
test_limit(void)
{
	char *err = NULL, line[200];
	parser *p = load("templates:\n  - name: evil\n    pattern: '^(a|aa)+$'\n", &err);
	int t, r;
	char *w;

	memset(line, 'a', 90);
	strcpy(line + 90, "!");
	r = parser_match(p, line, strlen(line), &t);
	ok(r == PARSER_UNMATCHED, "catastrophic backtracking is stopped: the line is unmatched");
	w = parser_warning(p);
	ok(w && strstr(w, "template 'evil'") && strstr(w, "backtracking limit"),
	    "and named: %s", w ? w : "(none)");
	free(w);
	parser_match(p, line, strlen(line), &t);
	ok(parser_warning(p) == NULL, "once");

	parser_free(p);
}

static void
test_errors(void)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
		{"app: web\n", "parser.yaml: no templates: add 'templates:'"},
		{"templates: []\n", "parser.yaml:1: no templates"},
		{"templates:\n  - name: a\n    pattern: '(x'\n",
		    "parser.yaml:3: templates[0].pattern: template 'a' has an invalid pattern: "
		    "end pattern with unmatched parenthesis"},
		{"templates:\n  - name: a\n    pattern: 'x'\n    event_mapping:\n      actor: '{who}'\n",
		    "parser.yaml:5: templates[0].event_mapping.actor: {who} names no group"},
		{"templates:\n  - pattern: 'x'\n", "parser.yaml:2: templates[0]: a template needs a "
		    "name"},
		{"templates:\n  - name: a\n    pattern: x\n    classification: secret\n",
		    "parser.yaml:4: templates[0].classification: 'secret' is not a classification"},
		{"templates:\n  - name: a\n    pattern: x\n    noise_filter: maybe\n",
		    "parser.yaml:4: templates[0].noise_filter: expected true or false"},
		{"unmatched_threshold: 2\ntemplates:\n  - {name: a, pattern: x}\n",
		    "parser.yaml:1: unmatched_threshold: expected a share"},
		{"- a\n", "parser.yaml:1: expected a mapping with templates:"},
		{"templates: [\n", "parser.yaml:"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *got = load_error(cases[i].yaml);

		ok(!strncmp(got, cases[i].want, strlen(cases[i].want)), "error %zu: %s", i, got);
		free(got);
	}
}

/* --bench FILE PARSER: the lines of FILE (text, one a line) through parser_match, lines/s */
static int
bench(const char *file, const char *path)
{
	char *err = NULL, *line = NULL;
	size_t cap = 0, lines = 0, hit = 0;
	ssize_t n;
	struct timespec a, b;
	parser *p = parser_load(path, "bench", &err);
	FILE *f = fopen(file, "r");
	int t;

	if (!p || !f) {
		fprintf(stderr, "test_parser: %s\n", err ? err : file);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = 0;
		lines++;
		hit += parser_match(p, line, (size_t)n, &t) != PARSER_UNMATCHED;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%zu lines, %zu matched, %.3f s, %.0f lines/s\n", lines, hit, s, lines / s);
	free(line);
	fclose(f);
	parser_free(p);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--bench"))
		return bench(argv[2], argv[3]);
	if (!mkdtemp(dir))
		return 1;
	test_matching();
	test_limit();
	test_errors();
	{
		char *path = xasprintf("%s/parser.yaml", dir);

		unlink(path);
		free(path);
		rmdir(dir);
	}
	return t_done();
}
