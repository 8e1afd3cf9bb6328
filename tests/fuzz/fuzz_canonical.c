/* fuzz_canonical: text that jsonl_canonical takes is what libjq prints back, byte for byte */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fuzz.h"
#include "jsonl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	event_line e;
	jv v, d;

	if (jsonl_canonical(s, size)) {
		v = jsonl_parse(s, size);
		if (!jv_is_valid(v))
			abort();
		d = jv_dump_string(v, 0);
		if ((size_t)jv_string_length_bytes(jv_copy(d)) != size ||
		    memcmp(jv_string_value(d), s, size))
			abort();
		jv_free(d);
	}
	/* an event line taken as it is: what event_normalize makes of it, ingested_at aside */
	if (event_line_parse(s, size, &e)) {
		const char *why;
		jv ev, line;

		if (event_normalize(jsonl_parse(s, size), "fuzz", 0, &ev, &why))
			abort();
		ev = jv_object_delete(ev, jv_string("ingested_at"));
		line = jv_dump_string(ev, 0);
		if ((size_t)jv_string_length_bytes(jv_copy(line)) != e.head + (size - e.rest) ||
		    memcmp(jv_string_value(line), s, e.head) ||
		    memcmp(jv_string_value(line) + e.head, s + e.rest, size - e.rest))
			abort();
		jv_free(line);
	}
	return 0;
}
