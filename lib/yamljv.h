/* yamljv: YAML documents to jv values and back, over libyaml */
#ifndef MALLCOP_YAMLJV_H
#define MALLCOP_YAMLJV_H
#include <stddef.h>
#include <jv.h>

/*
 * Parse the first document of buf. On success returns the value and, when lines is not NULL,
 * an object mapping each key path ("connectors.demo.paths[0]") to its 1-based line.
 * On error returns jv_invalid() and sets *err to "LINE: message" (malloc'd).
 */
jv yamljv_parse(const char *buf, size_t len, jv *lines, char **err);
/*
 * What yamljv_parse refuses, so that no file (a config, a rules file, a manifest, checkpoints)
 * can make a reader recurse without end or expand aliases into gigabytes ("billion laughs"):
 * a document over MAX_BYTES, collections nested over MAX_DEPTH (libjq's limit for JSON), and
 * more than MAX_VALUES values or MAX_TEXT bytes of scalars once every alias is expanded.
 */
enum {
	YAMLJV_MAX_BYTES = 8 << 20,
	YAMLJV_MAX_DEPTH = 256,
	YAMLJV_MAX_VALUES = 1000000,
	YAMLJV_MAX_TEXT = 16 << 20,
};
/* block-style YAML text for v (consumed); strings that would read back as another type are quoted */
char *yamljv_emit(jv v);
#endif
