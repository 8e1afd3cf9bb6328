/* fuzz_rules: an apps/x/detectors.yaml loaded into a pass and run over a few events */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "baseline.h"
#include "detect.h"
#include "event.h"
#include "fuzz.h"
#include "rules.h"
#include "util.h"

static const char *const events[] = {
	"{\"id\":\"e1\",\"timestamp\":\"2026-11-21T10:00:00Z\",\"source\":\"github\","
	"\"event_type\":\"push\",\"actor\":\"alice\",\"action\":\"git.push\",\"target\":\"acme/api\","
	"\"severity\":\"info\",\"metadata\":{\"ip\":\"203.0.113.9\",\"n\":3},\"raw\":{}}",
	"{\"id\":\"e2\",\"timestamp\":\"2026-11-21T11:00:00Z\",\"source\":\"aws\","
	"\"event_type\":\"login\",\"actor\":\"root\",\"action\":\"ConsoleLogin\",\"target\":\"acct\","
	"\"severity\":\"warn\",\"metadata\":{\"mfa\":false,\"tags\":[\"a\",\"b\"]},\"raw\":{}}",
	"{\"id\":\"e3\",\"timestamp\":\"2026-11-21T11:30:00Z\",\"source\":\"github\","
	"\"event_type\":\"push\",\"actor\":\"alice\",\"action\":\"git.push\",\"target\":\"acme/web\","
	"\"severity\":\"info\",\"metadata\":{},\"raw\":{}}",
};

static char *root, *file;

static void
setup(void)
{
	char tmpl[] = "/tmp/fuzz_rules.XXXXXX", *apps;

	if (!mkdtemp(tmpl))
		abort();
	root = xstrdup(tmpl);
	apps = xasprintf("%s/apps", root);
	file = xasprintf("%s/apps/x", root);
	if (mkdir(apps, 0700) || mkdir(file, 0700))
		abort();
	free(apps);
	free(file);
	file = xasprintf("%s/apps/x/detectors.yaml", root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	baseline b;
	det_ctx *c;
	jv all, changed, summary, ev;
	size_t made, updated;
	const char *why;
	FILE *f;

	if (!root)
		setup();
	if (!(f = fopen(file, "w")) || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	baseline_init(&b, 30);
	c = det_open(&b, NULL, jv_object(), jv_array(), 0, &err);
	if (!c)
		abort();
	if (rules_load(c, root, &err) == 0)
		for (size_t i = 0; i < sizeof events / sizeof *events; i++)
			if (event_normalize(jv_parse(events[i]), "fuzz", 0, &ev, &why) == 0)
				det_feed(c, ev);
	free(err);
	det_close(c, &all, &changed, &made, &updated, &summary);
	jv_free(all);
	jv_free(changed);
	jv_free(summary);
	baseline_free(&b);
	return 0;
}
