/*
 * fuzz: what every harness in tests/fuzz shares. A harness defines LLVMFuzzerTestOneInput;
 * `make fuzz` links it with libFuzzer (clang), `make` links it with replay.c (any compiler)
 * into tests/unit/test_fuzz_NAME, which feeds it every input kept in tests/fuzz/crashes/NAME
 * and tests/fuzz/corpus/NAME under the sanitizers of `make check`.
 */
#ifndef MALLCOP_FUZZ_H
#define MALLCOP_FUZZ_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* before any system header: the sources a harness includes need it */
#endif
#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#include "jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as JSON, as lib/http reads a response body; invalid when it is not */
static inline jv
fuzz_json(const uint8_t *data, size_t size)
{
	return jsonl_parse((const char *)data, size);
}
#endif
