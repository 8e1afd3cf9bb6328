/* mallcop-discover-app: sample a container app's log lines and suggest its parser.yaml */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "human.h"
#include "jsonl.h"
#include "parser.h"
#include "plugin.h"
#include "proc.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-discover-app [--dir DIR] [--human] [--lines N] [--refresh] APP";

enum { RUN_TIMEOUT_MS = 600 * 1000, EXAMPLE_BYTES = 300 };

/* the container-logs connector that lists app: its name and settings entry, or exit 1 */
static char *
find_connector(const cfg *cf, const char *app, jv *entry, int text)
{
	jv conns = cfg_get(cf, "connectors"), known = jv_array();
	char *found = NULL;

	if (jv_get_kind(conns) == JV_KIND_OBJECT) {
		jv_object_foreach(conns, k, v) {
			jv ty = jsonl_get(jv_copy(v), "type"), apps = jsonl_get(jv_copy(v), "apps");
			const char *t = jv_get_kind(ty) == JV_KIND_STRING ? jv_string_value(ty) :
			    jv_string_value(k);

			if (streq(t, "container-logs") && jv_get_kind(apps) == JV_KIND_ARRAY) {
				jv_array_foreach(apps, i, a) {
					jv n = jv_get_kind(a) == JV_KIND_OBJECT ? jsonl_get(jv_copy(a), "name")
					    : jv_copy(a);

					(void)i;
					if (jv_get_kind(n) == JV_KIND_STRING) {
						if (!found && streq(jv_string_value(n), app)) {
							found = xstrdup(jv_string_value(k));
							*entry = jv_copy(a);
						}
						known = jv_array_append(known, jv_copy(n));
					}
					jv_free(n);
					jv_free(a);
				}
			}
			jv_free(apps);
			jv_free(ty);
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(conns);
	if (!found) {
		char *list = jsonl_join(known, ", "), *safe = human_safe(app);

		cli_fail(EXIT_WORK, text, "no app '%s' in the apps of a container-logs connector in "
		    "%s (apps: %s); add it under connectors.container-logs.apps", safe, cf->path,
		    *list ? list : "none");
	}
	jv_free(known);
	return found;
}

/* the connector run for this app alone; its events in a spool file, rewound, or exit 1 */
static FILE *
run_connector(const cfg *cf, const char *root, const char *name, jv entry, int text)
{
	char *path = xasprintf("connectors.%s", name), *err = NULL, *prog, **envp = NULL;
	char *argv[2] = {NULL, NULL}, *tail = NULL, *cursor = NULL;
	jv conf, env = jv_array(), ty, dump;
	size_t ne = 0;
	int out, errfd;
	proc p = {0}, *ps[1] = {&p};
	FILE *f;

	if (cfg_resolve(cf, cfg_get(cf, path), path, &conf, &env, &err))
		cli_fail(EXIT_WORK, text, "%s", err);
	conf = jv_object_set(conf, jv_string("apps"), jv_array_append(jv_array(), entry));
	ty = jsonl_get(jv_copy(conf), "type");
	if (!(prog = plugin_find(root, "connectors", jv_get_kind(ty) == JV_KIND_STRING ?
	    jv_string_value(ty) : "container-logs", &env, &err)) && !err) {
		prog = plugin_builtin("connector-container-logs");
		plugin_connector_env("container-logs", &env);
	}
	jv_free(ty);
	if (!prog)
		cli_fail(EXIT_WORK, text, "%s", err ? err : "no mallcop-connector-container-logs");
	dump = jv_dump_string(conf, 0);
	proc_env_add(&envp, &ne, "MALLCOP_CONNECTOR_CONFIG", jv_string_value(dump));
	proc_env_add(&envp, &ne, "MALLCOP_DIR", root);
	jv_free(dump);
	proc_env_base(&envp, &ne);
	jv_array_foreach(env, i, v) {
		(void)i;
		if (jv_get_kind(v) == JV_KIND_STRING && getenv(jv_string_value(v)))
			proc_env_add(&envp, &ne, jv_string_value(v), getenv(jv_string_value(v)));
		jv_free(v);
	}
	jv_free(env);
	out = proc_spool(root);
	errfd = proc_spool(root);
	argv[0] = prog;
	p.timeout_ms = RUN_TIMEOUT_MS;
	if (proc_spawn(&p, argv, envp, -1, out, errfd, &err))
		cli_fail(EXIT_WORK, text, "%s", err);
	proc_wait(ps, 1);
	if (!proc_ok(&p)) {
		char *how = proc_describe(&p), *safe;

		proc_err_tail(errfd, &cursor, &tail);
		safe = human_safe(tail ? tail : "");
		cli_fail(EXIT_WORK, text, "connector '%s' %s%s%s", name, how, tail ? ": " : "", safe);
	}
	close(errfd);
	for (char **e = envp; e && *e; e++)
		free(*e);
	free(envp);
	free(prog);
	free(path);
	if (!(f = fdopen(out, "r")))
		die(EXIT_WORK, "cannot read the connector's output:");
	rewind(f);
	return f;
}

/* the class of one token: what stays literal and what becomes a group */
enum tok { T_WORD, T_TIME, T_NUM, T_IP, T_HEX, T_KV, T_OTHER };

static enum tok
classify(const char *s, size_t n)
{
	char buf[64];
	int64_t us;
	size_t i, digits = 0, hex = 0, dots = 0, alpha = 0;
	const char *eq = memchr(s, '=', n);

	if (eq && eq > s && (size_t)(eq - s) < 32)
		return T_KV;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		digits += isdigit(c) != 0;
		hex += isxdigit(c) != 0;
		dots += c == '.';
		alpha += isalpha(c) != 0;
	}
	if (n >= 10 && n < sizeof buf && digits >= 8 && (memcpy(buf, s, n), buf[n] = 0,
	    !ts_parse(buf, &us)))
		return T_TIME;
	if (digits == n || (digits + dots == n && dots <= 1 && digits))
		return T_NUM;
	if (dots == 3 && digits + dots == n)
		return T_IP;
	if (n >= 8 && hex == n && digits)
		return T_HEX;
	/* a word: letters and punctuation, not a path or a URL */
	if (alpha + (n - alpha - digits) == n && n <= 24 && !memchr(s, '/', n))
		return T_WORD;
	return T_OTHER;
}

static const char *const shape_of[] = {"", "<time>", "<num>", "<ip>", "<hex>", "", "<str>"};
static const char *const group_of[] = {"", "timestamp", "n", "ip", "id", "", "s"};

/* a token as regex text: metacharacters escaped */
static void
put_literal(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr("\\^$.|?*+()[]{}#", s[i]))
			fputc('\\', f);
		fputc(s[i], f);
	}
}

/* a group name not used yet in this pattern: base, base2, base3... */
static void
put_group(FILE *f, jv *used, const char *base, size_t n)
{
	char name[48];
	size_t k = 0;

	for (size_t i = 0; i < n && k < 30; i++)
		if (isalnum((unsigned char)base[i]) || base[i] == '_')
			name[k++] = (char)tolower((unsigned char)base[i]);
	if (!k || isdigit((unsigned char)name[0]))
		name[k++] = 'g';
	name[k] = 0;
	for (int i = 2; jv_object_has(jv_copy(*used), jv_string(name)); i++)
		snprintf(name + k, sizeof name - k, "%d", i);
	*used = jv_object_set(*used, jv_string(name), jv_true());
	fprintf(f, "(?P<%s>\\S+)", name);
}

/* one line's shape ("<time> GET <str> <num>"), and a pattern for lines of that shape */
static void
shape(const char *line, char **shp, char **pat)
{
	size_t sn, pn;
	FILE *s = open_memstream(shp, &sn), *p = open_memstream(pat, &pn);
	const char *t = line;
	jv used = jv_object();
	int first = 1;

	if (!s || !p)
		die(EXIT_WORK, "open_memstream:");
	fputc('^', p);
	while (*t) {
		size_t n;
		enum tok k;

		while (isspace((unsigned char)*t))
			t++;
		if (!*t)
			break;
		for (n = 0; t[n] && !isspace((unsigned char)t[n]); n++)
			;
		if (!first) {
			fputc(' ', s);
			fputs("\\s+", p);
		}
		first = 0;
		k = classify(t, n);
		if (k == T_WORD) {
			fwrite(t, 1, n, s);
			put_literal(p, t, n);
		} else if (k == T_KV) {
			size_t kl = (size_t)((const char *)memchr(t, '=', n) - t);

			fwrite(t, 1, kl + 1, s);
			fputs("<v>", s);
			put_literal(p, t, kl + 1);
			put_group(p, &used, t, kl);
		} else {
			fputs(shape_of[k], s);
			put_group(p, &used, group_of[k], strlen(group_of[k]));
		}
		t += n;
	}
	fputc('$', p);
	jv_free(used);
	fclose(s);
	fclose(p);
}

/* log_stats of lines (consumed): those that start with a time (then whitespace), the earliest
 * and latest */
static jv
log_stats(jv lines)
{
	int64_t lo = -1, hi = -1, us;
	size_t with = 0, n = 0;
	char t[TS_BUFSZ], buf[48];
	jv o;

	jv_array_foreach(lines, i, l) {
		const char *s = jv_string_value(l);
		size_t k = strcspn(s, " \t");

		(void)i;
		n++;
		if (k < sizeof buf && s[k] && (memcpy(buf, s, k), buf[k] = 0, !ts_parse(buf, &us))) {
			with++;
			lo = lo < 0 || us < lo ? us : lo;
			hi = us > hi ? us : hi;
		}
		jv_free(l);
	}
	jv_free(lines);
	o = jv_object_set(jv_object(), jv_string("total_lines"), jv_number((double)n));
	o = jv_object_set(o, jv_string("lines_with_timestamp"), jv_number((double)with));
	o = jv_object_set(o, jv_string("lines_without_timestamp"), jv_number((double)(n - with)));
	o = jv_object_set(o, jv_string("earliest_timestamp"), lo < 0 ? jv_null() :
	    jv_string(ts_format(lo, t)));
	return jv_object_set(o, jv_string("latest_timestamp"), hi < 0 ? jv_null() :
	    jv_string(ts_format(hi, t)));
}

typedef struct cluster {
	char *shape, *pattern;
	jv example;
	int count, first;
} cluster;

/* most lines first; ties in the order they were first seen */
static int
by_count(const void *a, const void *b)
{
	const cluster *x = a, *y = b;

	return x->count != y->count ? y->count - x->count : x->first - y->first;
}

/* lines (consumed) grouped by shape, most frequent first: [{shape, count, example, pattern}] */
static jv
clusters(jv lines)
{
	jv index = jv_object(), out = jv_array();
	cluster *cs = xcalloc((size_t)jv_array_length(jv_copy(lines)) + 1, sizeof *cs);
	int n = 0;

	jv_array_foreach(lines, i, l) {
		char *shp, *pat;
		jv at;

		shape(jv_string_value(l), &shp, &pat);
		at = jv_object_get(jv_copy(index), jv_string(shp));
		if (jv_get_kind(at) == JV_KIND_NUMBER) {
			cs[(int)jv_number_value(at)].count++;
			free(shp);
			free(pat);
		} else {
			index = jv_object_set(index, jv_string(shp), jv_number(n));
			cs[n] = (cluster){shp, pat, jv_string_sized(jv_string_value(l),
			    (int)strnlen(jv_string_value(l), EXAMPLE_BYTES)), 1, i};
			n++;
		}
		jv_free(at);
		jv_free(l);
	}
	jv_free(lines);
	qsort(cs, (size_t)n, sizeof *cs, by_count);
	for (int i = 0; i < n; i++) {
		jv o = jv_object_set(jv_object(), jv_string("shape"), jv_string(cs[i].shape));

		o = jv_object_set(o, jv_string("count"), jv_number(cs[i].count));
		o = jv_object_set(o, jv_string("example"), cs[i].example);
		o = jv_object_set(o, jv_string("pattern"), jv_string(cs[i].pattern));
		out = jv_array_append(out, o);
		free(cs[i].shape);
		free(cs[i].pattern);
	}
	free(cs);
	jv_free(index);
	return out;
}

/* a parser.yaml with a template for each cluster */
static char *
suggest(const char *app, jv cl, int nlines, int64_t now)
{
	char *text, t[TS_BUFSZ];
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		die(EXIT_WORK, "open_memstream:");
	fprintf(f, "# a starting point made by mallcop discover-app from %d sample lines: name\n"
	    "# the templates, map the groups to actor/action/target, mark noise_filter: true\n"
	    "app: %s\nversion: 1\ngenerated_at: \"%s\"\ngenerated_by: mallcop discover-app\n"
	    "templates:\n", nlines, app, ts_format(now, t));
	jv_array_foreach(cl, i, c) {
		jv p = jsonl_get(jv_copy(c), "pattern");
		const char *s = jv_string_value(p);

		fprintf(f, "  - name: shape_%d  # %d lines\n    pattern: '", i + 1,
		    (int)jsonl_num(c, "count", 0));
		for (; *s; s++)
			fputs(*s == '\'' ? "''" : (char[]){*s, 0}, f);
		fprintf(f, "'\n    classification: unknown\n");
		jv_free(p);
		jv_free(c);
	}
	fclose(f);
	return text;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"human", no_argument, NULL, 'H'},
		{"lines", required_argument, NULL, 'n'},
		{"refresh", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *app;
	char real[PATH_MAX], *err = NULL, *name, *yaml, *end, *path = NULL;
	int c, human = 0, refresh = 0, text, nlines;
	long want = 100;
	cfg cf;
	jv entry = jv_invalid(), lines, ev, cl, r;
	jsonl in;
	FILE *f;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'H': human = 1; break;
		case 'r': refresh = 1; break;
		case 'n':
			want = strtol(optarg, &end, 10);
			if (*end || want < 1 || want > 100000) {
				fprintf(stderr, "%s\n", usage);
				die(EXIT_USAGE, "--lines '%s': expected a number from 1 to 100000",
				    optarg);
			}
			break;
		case 'h':
			puts(usage);
			return 0;
		default:
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !event_source_ok(argv[optind])) {
		fprintf(stderr, "%s\n", usage);
		return EXIT_USAGE;
	}
	app = argv[optind];
	text = cli_human(human);
	if (!realpath(store_root(dir), real))
		cli_fail(EXIT_WORK, text, "cannot open deployment '%s':", store_root(dir));
	if (cfg_load(&cf, real, &err))
		cli_fail(EXIT_WORK, text, "%s", err);
	name = find_connector(&cf, app, &entry, text);
	f = run_connector(&cf, real, name, entry, text);

	lines = jv_array();
	jsonl_init(&in, f, name);
	in.quiet = 1;
	while (jsonl_next(&in, &ev)) {
		jv m = jsonl_get(jv_copy(ev), "metadata"), raw = jsonl_get(jv_copy(ev), "raw");
		const char *a = event_field(m, "app"), *l = event_field(raw, "line");

		if (a && l && streq(a, app) && strspn(l, " \t\r\n") != strlen(l))
			lines = jv_array_append(lines, jv_string(l));
		jv_free(m);
		jv_free(raw);
		jv_free(ev);
	}
	jsonl_done(&in);
	fclose(f);
	if (jv_array_length(jv_copy(lines)) > want) {	/* the most recent ones */
		int n = jv_array_length(jv_copy(lines));

		lines = jv_array_slice(lines, n - (int)want, n);
	}
	cl = clusters(jv_copy(lines));
	nlines = jv_array_length(jv_copy(lines));
	yaml = suggest(app, cl, nlines, ts_now());
	if (refresh) {
		path = xasprintf("%s/apps", real);
		mkdir(path, 0755);	/* when they exist already, so much the better */
		free(path);
		path = xasprintf("%s/apps/%s", real, app);
		mkdir(path, 0755);
		free(path);
		path = xasprintf("%s/apps/%s/parser.yaml.new", real, app);
		if (store_replace(path, yaml, strlen(yaml), &err))
			cli_fail(EXIT_WORK, text, "%s", err);
	}
	r = cli_result();
	r = jv_object_set(r, jv_string("app_name"), jv_string(app));
	r = jv_object_set(r, jv_string("refresh"), jv_bool(refresh));
	r = jv_object_set(r, jv_string("sample_lines"), jv_copy(lines));
	r = jv_object_set(r, jv_string("log_stats"), log_stats(lines));
	r = jv_object_set(r, jv_string("clusters"), cl);
	r = jv_object_set(r, jv_string("parser_yaml"), jv_string(yaml));
	r = jv_object_set(r, jv_string("written"), path ? jv_string(path) : jv_null());
	if (text) {
		jv cls = jsonl_get(jv_copy(r), "clusters");

		printf("%s: %d lines in %d shapes\n", app, nlines, jv_array_length(jv_copy(cls)));
		jv_array_foreach(cls, i, k) {
			(void)i;
			printf("  %6d  ", (int)jsonl_num(k, "count", 0));
			human_field(stdout, k, "shape", "");
			putchar('\n');
			jv_free(k);
		}
		jv_free(cls);
		if (path)
			printf("suggested parser written to %s\n", path);
		else
			fputs(yaml, stdout);
		jv_free(r);
		c = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	} else {
		c = cli_emit(r) ? EXIT_WORK : 0;
	}
	free(yaml);
	free(path);
	free(name);
	cfg_free(&cf);
	return c;
}
