/* fuzz_github: a page of GitHub's audit log, as the connector reads it */
#include "fuzz.h"

#define main connector_main
#include "../../bin/mallcop-connector-github.c"
#undef main

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run r = {.org = "acme", .newest = -1};
	jv page = fuzz_json(data, size);

	if (jv_is_valid(page))
		page_cb(page, &r);
	else
		jv_free(page);
	return 0;
}
