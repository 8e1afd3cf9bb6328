/* fuzz_yaml: any YAML document read with its line map, written back and read again */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "yamljv.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL, *text;
	jv lines, v = yamljv_parse((const char *)data, size, &lines, &err);

	if (!jv_is_valid(v)) {
		jv_free(v);
		free(err);
		return 0;
	}
	jv_free(lines);
	text = yamljv_emit(v);
	v = yamljv_parse(text, strlen(text), NULL, &err);
	jv_free(v);
	free(err);
	free(text);
	return 0;
}
