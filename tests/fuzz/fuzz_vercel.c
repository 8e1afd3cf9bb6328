/* fuzz_vercel: a page of Vercel's deployments or of a team's activity log, as the connector reads it */
#include "fuzz.h"

#define main connector_main
#include "../../bin/mallcop-connector-vercel.c"
#undef main

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const list *lists[] = {&deployments, &activity};
	run r = {.team = "team_fuzz", .newest = -1};
	jv body = fuzz_json(data, size);

	for (size_t i = 0; jv_is_valid(body) && i < 2; i++) {
		jv items = jsonl_get(jv_copy(body), lists[i]->key), bound = jv_object();
		int64_t oldest = -1;

		if (jv_get_kind(items) == JV_KIND_ARRAY) {
			take(&r, lists[i], items, bound, &oldest);
			jv_free(bound);
			/* the ids of the page's oldest millisecond, as the next page skips them */
			bound = at_time(jv_copy(items), lists[i]->id, oldest);
			take(&r, lists[i], items, bound, &oldest);
		}
		jv_free(bound);
		jv_free(items);
	}
	jv_free(body);
	return 0;
}
