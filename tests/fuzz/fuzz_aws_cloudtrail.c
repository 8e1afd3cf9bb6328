/* fuzz_aws_cloudtrail: a LookupEvents response, as the connector reads it */
#include "fuzz.h"

#define main connector_main
#include "../../bin/mallcop-connector-aws-cloudtrail.c"
#undef main

/* what fetch does with a page once it came */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run r = {.region = "us-east-1", .newest = -1};
	jv page = fuzz_json(data, size), evs;
	char *more;
	int repeated;

	if (jv_get_kind(page) != JV_KIND_OBJECT) {
		jv_free(page);
		return 0;
	}
	evs = jv_object_get(jv_copy(page), jv_string("Events"));
	if (jv_get_kind(evs) == JV_KIND_ARRAY)
		jv_array_foreach(evs, i, e) {
			(void)i;
			emit(&r, e);
		}
	jv_free(evs);
	more = http_next_token(page, "NextToken", "t0", &repeated);
	free(more);
	jv_free(page);
	return 0;
}
