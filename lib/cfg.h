/* cfg: the deployment's mallcop.yaml */
#ifndef MALLCOP_CFG_H
#define MALLCOP_CFG_H
#include <jv.h>

typedef struct cfg {
	char *path;	/* as given, for messages */
	jv root;	/* the document, ${VAR} references not yet resolved */
	jv lines;	/* key path -> line */
} cfg;

/* load DIR/mallcop.yaml; on error *err names the file, the line and what to do */
int cfg_load(cfg *c, const char *dir, char **err);
/* the same for a file of any name */
int cfg_load_file(cfg *c, const char *path, char **err);
/*
 * DIR/mallcop.yaml for a program that also works without one (status, events, review, ack...):
 * 1 and an empty document when there is none; 0 when it loads and the settings every program
 * shares (connectors, baseline) are sound; -1 with *err naming the file, the line and the key
 * when it cannot be read or is malformed. cfg_free it in every case.
 */
int cfg_load_optional(cfg *c, const char *dir, char **err);
/*
 * The same check for a program that needs nothing of the file but baseline.window_days:
 * 0 (and *days, 30 when not set, unless days is NULL) when it is sound or absent, else -1
 */
int cfg_check(const char *dir, int *days, char **err);
void cfg_free(cfg *c);
/* the value at a dotted path ("baseline.window_days"), or jv_invalid() */
jv cfg_get(const cfg *c, const char *path);
/* "mallcop.yaml:12" for a key path (the file alone when the line is not known) */
char *cfg_where(const cfg *c, const char *path);
/*
 * v (consumed) with every ${NAME} in its strings replaced from the environment, walking
 * objects and arrays; "$${" stands for a literal "${". An unset variable is an error naming
 * the key and the variable; *names collects the variables referenced (may be NULL).
 */
int cfg_resolve(const cfg *c, jv v, const char *path, jv *out, jv *names, char **err);
/* an integer setting with a default; a value of another type is an error */
int cfg_int(const cfg *c, const char *path, long dflt, long lo, long hi, long *out, char **err);
#endif
