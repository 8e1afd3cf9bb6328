/* plugin: finding the programs mallcop runs: built-in ones and the deployment's plugins */
#ifndef MALLCOP_PLUGIN_H
#define MALLCOP_PLUGIN_H
#include <jv.h>

/*
 * mallcop-NAME ("connector-file") on $MALLCOP_EXEC_PATH, beside the running program, then
 * on $PATH: the path, malloc'd, or NULL.
 */
char *plugin_builtin(const char *name);
/*
 * The program of ROOT/plugins/KIND/NAME/ ("connectors", "github"): its manifest.yaml names it
 * with exec: (default KIND without its final "s"). The manifest's env: list is appended to
 * *env. NULL and *err NULL when there is no such plugin; NULL and *err set when it is broken.
 */
char *plugin_find(const char *root, const char *kind, const char *name, jv *env, char **err);
/*
 * Shipped data (REL: "actors/investigate/POST.md"), the deployment's own copy first: ROOT/REL,
 * then share/mallcop beside the program (bin/ in the source tree, libexec/mallcop installed,
 * BUILD/bin in a build directory), then $MALLCOP_SHARE, /usr/local/share/mallcop and
 * /usr/share/mallcop. The file's text, and its path in *path (path may be NULL); NULL when none
 * is found.
 */
char *plugin_data(const char *root, const char *rel, char **path);
/*
 * Shipped data only, never the deployment's (REL: "trust/anchors", "skills"): the path of the
 * first file or directory REL found where plugin_data looks after ROOT, malloc'd, or NULL.
 */
char *plugin_share(const char *rel);
/*
 * The variables of the built-in connector TYPE ("github"), as its page's ENVIRONMENT documents
 * them: appended to *env (names) when *env names none of that connector's credentials, so a
 * configuration that names no credential (the earlier implementation's shape) works as it did.
 * Nothing for a type that is not built in.
 */
void plugin_connector_env(const char *type, jv *env);
#endif
