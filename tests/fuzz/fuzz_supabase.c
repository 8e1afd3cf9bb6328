/* fuzz_supabase: a page of auth.audit_log_entries, or a Management API answer, as the connector
 * reads it */
#include "fuzz.h"

#define main connector_main
#include "../../bin/mallcop-connector-supabase.c"
#undef main

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run r = {.ref = "fuzzref"};
	jv body = fuzz_json(data, size);

	if (jv_get_kind(body) == JV_KIND_ARRAY) {
		take(&r, body);
		take(&r, body);	/* again, after the keyset it left: nothing is emitted twice */
	}
	for (size_t i = 0; jv_is_valid(body) && i < NSECTIONS; i++)
		jv_free(items_of(&sections[i], jv_copy(body), "/fuzz"));
	jv_free(body);
	free(r.after_ts);
	free(r.after_id);
	return 0;
}
