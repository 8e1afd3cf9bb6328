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
