/* cli: the edges of a connector (cli.h): its flags, its settings, the end of its run */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

/* a connector's boolean setting: true, "true"; exit 2 naming it when it is not a boolean */
static int
cli_flag(jv cfg, const char *key)
{
	jv v = jsonl_get(jv_copy(cfg), key);
	jv_kind k = jv_get_kind(v);
	int yes = k == JV_KIND_TRUE || (k == JV_KIND_STRING && streq(jv_string_value(v), "true"));

	if (k == JV_KIND_STRING ? !yes && !streq(jv_string_value(v), "false") :
	    k != JV_KIND_TRUE && k != JV_KIND_FALSE && k != JV_KIND_NULL && k != JV_KIND_INVALID)
		die(EXIT_USAGE, "%s: must be true or false", key);
	jv_free(v);
	return yes;
}

jv
cli_connector(int argc, char **argv, const char *usage, const char **cursor, int64_t *since)
{
	static const struct option opts[] = {
		{"cursor", required_argument, NULL, 'c'},
		{"since", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *text = getenv("MALLCOP_CONNECTOR_CONFIG");
	int c;
	jv cfg;

	*cursor = NULL;
	*since = -1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*cursor = optarg;
			break;
		case 's':
			if (ts_parse(optarg, since))
				die(EXIT_USAGE, "--since '%s' is not an ISO 8601 time", optarg);
			break;
		case 'h':
			puts(usage);
			exit(0);
		default:
			fprintf(stderr, "%s\n", usage);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s\n", usage);
		exit(EXIT_USAGE);
	}
	cfg = text && *text ? jv_parse(text) : jv_object();
	if (jv_get_kind(cfg) != JV_KIND_OBJECT)
		die(EXIT_USAGE, "MALLCOP_CONNECTOR_CONFIG is not a JSON object");
	http_allow_private(cli_flag(cfg, "allow_private"));
	return cfg;
}

int
cli_connector_end(int failed, size_t events, size_t untimed, const char *cursor)
{
	if (fshut(stdout, "stdout"))
		failed = 1;
	fprintf(stderr, "%s: %zu events", argv0, events);
	if (untimed)
		fprintf(stderr, ", %zu records without a time skipped", untimed);
	fputc('\n', stderr);
	/* no cursor after a failure: the next run starts from the last good one */
	if (!failed && cursor)
		fprintf(stderr, "cursor: %s\n", cursor);
	return failed ? EXIT_WORK : 0;
}

char *
cli_url(jv cfg, const char *key, const char *dflt, const char *who)
{
	jv v = jsonl_get(jv_copy(cfg), key);
	char *url = NULL, *err = NULL;
	http_client probe;

	if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v))
		url = xstrdup(jv_string_value(v));
	else if (jv_get_kind(v) == JV_KIND_INVALID || jv_get_kind(v) == JV_KIND_NULL)
		url = dflt ? xstrdup(dflt) : NULL;
	else
		die(EXIT_USAGE, "%s: must be a URL", key);
	jv_free(v);
	if (!url)
		return NULL;
	while (*url && url[strlen(url) - 1] == '/')
		url[strlen(url) - 1] = 0;
	if (http_init(&probe, who, url, &err) || http_check_base(&probe, &err))
		die(EXIT_USAGE, "%s: %s", key, err ? err : "not usable");
	http_free(&probe);
	return url;
}
