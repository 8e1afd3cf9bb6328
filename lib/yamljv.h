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
/* block-style YAML text for v (consumed); strings that would read back as another type are quoted */
char *yamljv_emit(jv v);
#endif
