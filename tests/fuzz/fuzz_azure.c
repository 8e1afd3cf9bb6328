/* fuzz_azure: a page of the Azure Activity Log, as the connector reads it */
#include "fuzz.h"

#define main connector_main
#include "../../bin/mallcop-connector-azure.c"
#undef main

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run r = {.sub = "00000000-0000-0000-0000-000000000000", .newest = -1};
	jv page = fuzz_json(data, size);

	if (jv_is_valid(page))
		page_cb(page, &r);
	else
		jv_free(page);
	return 0;
}
