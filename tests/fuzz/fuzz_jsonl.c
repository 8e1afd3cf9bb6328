/* fuzz_jsonl: JSON lines as a connector prints them, read and made events */
#define _GNU_SOURCE
#include <stdio.h>

#include "event.h"
#include "fuzz.h"
#include "jsonl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size ? size : 1, "r");
	const char *why;
	jsonl in;
	jv v, ev;

	if (!f)
		return 0;
	jsonl_init(&in, f, "fuzz");
	in.quiet = 1;
	while (size && jsonl_next(&in, &v))
		if (event_normalize(v, "fuzz", 0, &ev, &why) == 0)
			jsonl_put(stdout, ev);
	jsonl_done(&in);
	fclose(f);
	return 0;
}
