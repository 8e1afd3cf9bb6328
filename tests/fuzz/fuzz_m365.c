/* fuzz_m365: a content blob of the Office 365 Management API (a list of audit records) */
#include "fuzz.h"

#define main connector_main
#include "../../bin/mallcop-connector-m365.c"
#undef main

/* what fetch_blob does with a blob's body once it came */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run r = {.tenant = "acme", .ct = "Audit.AzureActiveDirectory", .newest = -1};
	jv recs = fuzz_json(data, size);

	if (jv_get_kind(recs) == JV_KIND_ARRAY)
		jv_array_foreach(recs, i, rec) {
			(void)i;
			if (jv_get_kind(rec) == JV_KIND_OBJECT)
				emit(&r, rec);
			else
				jv_free(rec);
		}
	jv_free(recs);
	return 0;
}
