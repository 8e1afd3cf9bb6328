/* rules: declarative detectors in apps/APP/detectors.yaml (mallcop-detectors.7, RULES) */
#ifndef MALLCOP_RULES_H
#define MALLCOP_RULES_H
#include "detect.h"

/*
 * Load every ROOT/apps/ * /detectors.yaml into the pass. A malformed file is an error naming
 * the file, the line, the rule and the field; nothing is loaded then.
 */
int rules_load(det_ctx *c, const char *root, char **err);
#endif
