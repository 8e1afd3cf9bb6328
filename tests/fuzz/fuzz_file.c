/* fuzz_file: a JSONL file read by the file connector (its records made events) */
#define _GNU_SOURCE
#include <stdio.h>

#include "fuzz.h"

#define main connector_main
#include "../../bin/mallcop-connector-file.c"
#undef main

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run r = {.source = "fuzz", .now = 1795000000LL * TS_SECOND, .old = jv_object(),
	    .files = jv_object()};
	FILE *f = size ? fmemopen((void *)data, size, "r") : NULL;

	if (f) {
		read_stream(&r, f, "fuzz");
		fclose(f);
	}
	jv_free(r.old);
	jv_free(r.files);
	free(r.command_cursor);
	return 0;
}
