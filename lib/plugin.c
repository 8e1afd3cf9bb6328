#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin.h"
#include "store.h"
#include "util.h"
#include "yamljv.h"

static int
executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *
plugin_builtin(const char *name)
{
	const char *lists[3] = {getenv("MALLCOP_EXEC_PATH"), NULL, getenv("PATH")};
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n > 0) {
		self[n] = 0;
		if ((slash = strrchr(self, '/'))) {
			*slash = 0;
			lists[1] = self;
		}
	}
	for (int i = 0; i < 3; i++) {
		char *copy, *save = NULL;

		if (!lists[i])
			continue;
		copy = xstrdup(lists[i]);
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char *p = xasprintf("%s/mallcop-%s", d, name);

			if (executable(p)) {
				free(copy);
				return p;
			}
			free(p);
		}
		free(copy);
	}
	return NULL;
}

char *
plugin_find(const char *root, const char *kind, const char *name, jv *env, char **err)
{
	char *dir = xasprintf("%s/plugins/%s/%s", root, kind, name);
	char *mpath = xasprintf("%s/manifest.yaml", dir), *text, *yerr = NULL, *prog = NULL;
	size_t len;
	jv m, ex, e;

	*err = NULL;
	if (!(text = store_slurp(mpath, &len))) {
		if (errno != ENOENT)
			*err = xasprintf("cannot read '%s': %s", mpath, strerror(errno));
		goto out;
	}
	m = yamljv_parse(text, len, NULL, &yerr);
	free(text);
	if (jv_get_kind(m) != JV_KIND_OBJECT) {
		*err = xasprintf("%s:%s", mpath, yerr ? yerr : "1: the manifest must be a mapping");
		jv_free(m);
		goto out;
	}
	ex = jv_object_get(jv_copy(m), jv_string("exec"));
	if (jv_get_kind(ex) == JV_KIND_STRING)
		prog = xasprintf("%s/%s", dir, jv_string_value(ex));
	else
		prog = xasprintf("%s/%.*s", dir, (int)strlen(kind) - 1, kind);
	jv_free(ex);
	if (!executable(prog)) {
		*err = xasprintf("%s: the plugin's program '%s' is missing or not executable; "
		    "set 'exec:' to it", mpath, prog);
		free(prog);
		prog = NULL;
	}
	e = jv_object_get(m, jv_string("env"));
	if (jv_get_kind(e) == JV_KIND_ARRAY)
		*env = jv_array_concat(*env, e);
	else
		jv_free(e);
out:
	free(yerr);
	free(dir);
	free(mpath);
	return prog;
}

static char *
try_read(char **path, char *candidate)
{
	char *text = store_slurp(candidate, NULL), *real;

	if (text && (real = realpath(candidate, NULL))) {
		free(candidate);
		candidate = real;
	}
	if (text)
		*path = candidate;
	else
		free(candidate);
	return text;
}

/* the i-th place shipped data may be (share/mallcop beside the program, ...): NULL past the last */
static char *
share_dir(size_t i)
{
	static const char *const ups[] = {"/..", "/../..", "/../../.."};
	static const char *const fixed[] = {"/usr/local/share/mallcop", "/usr/share/mallcop"};
	const size_t nups = sizeof ups / sizeof *ups;
	const char *env = getenv("MALLCOP_SHARE");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (i < nups) {
		n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n <= 0)
			return xstrdup("/nonexistent");
		self[n] = 0;
		if ((slash = strrchr(self, '/')))
			*slash = 0;
		return xasprintf("%s%s/share/mallcop", self, ups[i]);
	}
	i -= nups;
	if (i == 0)
		return xstrdup(env && *env ? env : "/nonexistent");
	i--;
	return i < sizeof fixed / sizeof *fixed ? xstrdup(fixed[i]) : NULL;
}

static char *
data_at(const char *root, const char *rel, char **path)
{
	char *text, *d;

	*path = NULL;
	if (root && (text = try_read(path, xasprintf("%s/%s", root, rel))))
		return text;
	for (size_t i = 0; (d = share_dir(i)); i++) {
		text = try_read(path, xasprintf("%s/%s", d, rel));
		free(d);
		if (text)
			return text;
	}
	return NULL;
}

char *
plugin_share(const char *rel)
{
	char *d, *p;

	for (size_t i = 0; (d = share_dir(i)); i++) {
		p = xasprintf("%s/%s", d, rel);
		free(d);
		if (access(p, F_OK) == 0) {
			char *real = realpath(p, NULL);

			free(p);
			return real;
		}
		free(p);
	}
	return NULL;
}

char *
plugin_data(const char *root, const char *rel, char **path)
{
	char *where = NULL, *text = data_at(root, rel, &where);

	if (path)
		*path = where;
	else
		free(where);
	return text;
}

/* per built-in connector: its credentials first, then the other variables it reads */
static const struct {
	const char *type;
	const char *const cred[8];
	const char *const other[5];
} connector_env[] = {
	{"github", {"GITHUB_TOKEN", "GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY",
	    "GITHUB_APP_PRIVATE_KEY_FILE"}, {"GITHUB_ORG", "GITHUB_INSTALLATION_ID"}},
	/* HOME: where ~/.aws/credentials is */
	{"aws-cloudtrail", {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	    "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"}, {"AWS_DEFAULT_REGION", "AWS_REGION",
	    "HOME", "MALLCOP_HTTP_FAST"}},
	{"azure", {"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"},
	    {"AZURE_SUBSCRIPTION_ID"}},
	{"container-logs", {"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"},
	    {"AZURE_SUBSCRIPTION_ID"}},
	{"m365", {"M365_TENANT_ID", "M365_CLIENT_ID", "M365_CLIENT_SECRET", "ENTRA_TENANT_ID",
	    "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET"}, {NULL}},
	{"vercel", {"VERCEL_TOKEN"}, {"VERCEL_TEAM_ID"}},
	{"supabase", {"SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_ACCESS_TOKEN"},
	    {"SUPABASE_PROJECT_URL", "SUPABASE_PROJECT_REF"}},
	/* no credentials; HOME: where ~/.openclaw is */
	{"openclaw", {NULL}, {"HOME"}},
};

static int
names(jv env, const char *name)
{
	int found = 0;

	jv_array_foreach(env, i, v) {
		(void)i;
		found |= jv_get_kind(v) == JV_KIND_STRING && streq(jv_string_value(v), name);
		jv_free(v);
	}
	return found;
}

void
plugin_connector_env(const char *type, jv *env)
{
	for (size_t i = 0; i < sizeof connector_env / sizeof *connector_env; i++) {
		const char *const *cred = connector_env[i].cred;

		if (!streq(connector_env[i].type, type))
			continue;
		for (size_t k = 0; k < 8 && cred[k]; k++)
			if (names(*env, cred[k]))
				return;
		for (size_t k = 0; k < 8 && cred[k]; k++)
			*env = jv_array_append(*env, jv_string(cred[k]));
		for (size_t k = 0; k < 5 && connector_env[i].other[k]; k++)
			*env = jv_array_append(*env, jv_string(connector_env[i].other[k]));
	}
}
