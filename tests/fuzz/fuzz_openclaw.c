/* fuzz_openclaw: an openclaw.json and a SKILL.md, as the OpenClaw connector reads them */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>

#define main connector_main
#include "../../bin/mallcop-connector-openclaw.c"
#undef main

/* what was redacted holds no key of a known shape any more, and no NUL */
static void
check(jv redacted)
{
	jv d = jv_dump_string(redacted, 0);
	size_t found = 0, n = (size_t)jv_string_length_bytes(jv_copy(d));
	jv again = scrub(jv_string_value(d), n, 1, &found);

	if (found || memchr(jv_string_value(d), 0, n)) {
		fprintf(stderr, "a secret survived the redaction: %s\n", jv_string_value(d));
		abort();
	}
	jv_free(again);
	jv_free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *err = NULL;
	redaction rd = {.paths = jv_array()};
	size_t found = 0, n;
	jv v, fm;

	memcpy(text, data, size);
	text[size] = 0;
	/* as openclaw.json */
	n = json5_lite(text, size);
	v = jsonl_parse(text, n);
	if (jv_is_valid(v))
		check(redact(v, PLAIN, "", &rd));
	else
		jv_free(v);
	jv_free(rd.paths);
	/* as SKILL.md */
	memcpy(text, data, size);
	v = scrub(text, size, 0, &found);
	fm = front_matter(jv_string_value(v), &err);
	free(err);
	jv_free(fm);
	jv_free(v);
	free(text);
	return 0;
}
