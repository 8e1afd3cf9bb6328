/* plugin: built-in programs on MALLCOP_EXEC_PATH and PATH; a deployment's plugins/ */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin.h"
#include "t.h"

static char root[] = "/tmp/test_plugin.XXXXXX";

static char *
at(const char *rel)
{
	static char buf[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
	return buf[k];
}

static void
mkdirs(const char *rel)
{
	char *cmd = NULL;

	if (asprintf(&cmd, "/bin/mkdir -p '%s'", at(rel)) < 0 || system(cmd) != 0) {
		printf("Bail out! cannot mkdir %s\n", rel);
		exit(1);
	}
	free(cmd);
}

static void
put_file(const char *rel, const char *text, mode_t mode)
{
	FILE *f = fopen(at(rel), "w");

	if (!f || fputs(text, f) == EOF || fclose(f) || chmod(at(rel), mode)) {
		printf("Bail out! cannot write %s\n", rel);
		exit(1);
	}
}

static void
test_builtin(void)
{
	char *p, *oldpath = getenv("PATH") ? strdup(getenv("PATH")) : NULL;

	mkdirs("e1");
	mkdirs("e2");
	mkdirs("path1");
	mkdirs("path2");
	{
		char *ep = NULL, *pp = NULL;

		if (asprintf(&ep, "%s:%s", at("e1"), at("e2")) < 0 ||
		    asprintf(&pp, "%s:%s", at("path1"), at("path2")) < 0)
			exit(1);
		setenv("MALLCOP_EXEC_PATH", ep, 1);
		setenv("PATH", pp, 1);
		free(ep);
		free(pp);
	}

	p = plugin_builtin("zztest-tool");
	ok(p == NULL, "absent everywhere: NULL (%s)", p ? p : "NULL");
	free(p);

	put_file("path2/mallcop-zztest-tool", "#!/bin/sh\n", 0755);
	p = plugin_builtin("zztest-tool");
	is_str(p, at("path2/mallcop-zztest-tool"), "found on PATH (its second directory)");
	free(p);

	put_file("path1/mallcop-zztest-tool", "#!/bin/sh\n", 0644);
	p = plugin_builtin("zztest-tool");
	is_str(p, at("path2/mallcop-zztest-tool"), "a non-executable file on PATH is passed over");
	free(p);

	put_file("e2/mallcop-zztest-tool", "#!/bin/sh\n", 0755);
	p = plugin_builtin("zztest-tool");
	is_str(p, at("e2/mallcop-zztest-tool"), "MALLCOP_EXEC_PATH comes before PATH");
	free(p);

	put_file("e1/mallcop-zztest-tool", "#!/bin/sh\n", 0600);
	p = plugin_builtin("zztest-tool");
	is_str(p, at("e2/mallcop-zztest-tool"),
	    "a non-executable file on MALLCOP_EXEC_PATH is passed over");
	free(p);

	chmod(at("e1/mallcop-zztest-tool"), 0700);
	p = plugin_builtin("zztest-tool");
	is_str(p, at("e1/mallcop-zztest-tool"), "MALLCOP_EXEC_PATH is searched in order");
	free(p);

	mkdirs("e1/mallcop-zzdir");
	chmod(at("e1/mallcop-zzdir"), 0755);
	p = plugin_builtin("zzdir");
	ok(p == NULL, "a directory is no program (%s)", p ? p : "NULL");
	free(p);

	unsetenv("MALLCOP_EXEC_PATH");
	p = plugin_builtin("zztest-tool");
	is_str(p, at("path2/mallcop-zztest-tool"), "without MALLCOP_EXEC_PATH: PATH");
	free(p);

	setenv("MALLCOP_EXEC_PATH", "", 1);
	p = plugin_builtin("zztest-tool");
	is_str(p, at("path2/mallcop-zztest-tool"), "an empty MALLCOP_EXEC_PATH: PATH");
	free(p);

	unsetenv("PATH");
	unsetenv("MALLCOP_EXEC_PATH");
	p = plugin_builtin("zztest-tool");
	ok(p == NULL, "with neither set: NULL (%s)", p ? p : "NULL");
	free(p);
	if (oldpath)
		setenv("PATH", oldpath, 1);
	free(oldpath);
}

static char *
dumped(jv v)
{
	jv s = jv_dump_string(v, 0);
	char *r = strdup(jv_string_value(s));

	jv_free(s);
	return r;
}

static void
test_find(void)
{
	char *prog, *err = (char *)"untouched", *d;
	jv env;

	/* exec: relative to the plugin's directory; env: appended */
	mkdirs("dep/plugins/connectors/vpn/bin");
	put_file("dep/plugins/connectors/vpn/manifest.yaml",
	    "exec: bin/fetch.sh\nenv: [VPN_API_TOKEN, VPN_ACCOUNT]\n", 0644);
	put_file("dep/plugins/connectors/vpn/bin/fetch.sh", "#!/bin/sh\n", 0755);
	env = JV_ARRAY(jv_string("HOME"));
	prog = plugin_find(at("dep"), "connectors", "vpn", &env, &err);
	is_str(prog, at("dep/plugins/connectors/vpn/bin/fetch.sh"),
	    "exec: names the program, relative to the plugin's directory");
	ok(err == NULL, "no error (%s)", err ? err : "NULL");
	d = dumped(jv_copy(env));
	is_str(d, "[\"HOME\",\"VPN_API_TOKEN\",\"VPN_ACCOUNT\"]",
	    "env: is appended to the given array");
	free(d);
	jv_free(env);
	free(prog);
	free(err);

	/* block-style env list */
	put_file("dep/plugins/connectors/vpn/manifest.yaml",
	    "exec: bin/fetch.sh\nenv:\n  - A_TOKEN\n", 0644);
	env = jv_array();
	err = NULL;
	prog = plugin_find(at("dep"), "connectors", "vpn", &env, &err);
	d = dumped(jv_copy(env));
	is_str(d, "[\"A_TOKEN\"]", "a block-style env list too");
	free(d);
	jv_free(env);
	free(prog);
	free(err);

	/* the default program: KIND without its final s */
	mkdirs("dep/plugins/detectors/mine");
	put_file("dep/plugins/detectors/mine/manifest.yaml", "name: mine\n", 0644);
	put_file("dep/plugins/detectors/mine/detector", "#!/bin/sh\n", 0755);
	env = jv_array();
	err = NULL;
	prog = plugin_find(at("dep"), "detectors", "mine", &env, &err);
	is_str(prog, at("dep/plugins/detectors/mine/detector"),
	    "without exec: the program is 'detector' for detectors");
	ok(err == NULL && jv_array_length(jv_copy(env)) == 0, "no error, nothing added to env");
	jv_free(env);
	free(prog);
	free(err);

	mkdirs("dep/plugins/connectors/plain");
	put_file("dep/plugins/connectors/plain/manifest.yaml", "description: plain\n", 0644);
	put_file("dep/plugins/connectors/plain/connector", "#!/bin/sh\n", 0755);
	env = jv_array();
	err = NULL;
	prog = plugin_find(at("dep"), "connectors", "plain", &env, &err);
	is_str(prog, at("dep/plugins/connectors/plain/connector"),
	    "and 'connector' for connectors");
	jv_free(env);
	free(prog);
	free(err);

	/* a broken manifest: bad YAML */
	mkdirs("dep/plugins/connectors/bad");
	put_file("dep/plugins/connectors/bad/manifest.yaml", "exec: [unclosed\nenv: {\n", 0644);
	put_file("dep/plugins/connectors/bad/connector", "#!/bin/sh\n", 0755);
	env = jv_array();
	err = NULL;
	prog = plugin_find(at("dep"), "connectors", "bad", &env, &err);
	ok(prog == NULL, "bad YAML: no program");
	ok(err && strstr(err, at("dep/plugins/connectors/bad/manifest.yaml")),
	    "and an error naming the manifest (%s)", err ? err : "NULL");
	jv_free(env);
	free(prog);
	free(err);

	/* not a mapping */
	put_file("dep/plugins/connectors/bad/manifest.yaml", "- exec\n- connector\n", 0644);
	env = jv_array();
	err = NULL;
	prog = plugin_find(at("dep"), "connectors", "bad", &env, &err);
	ok(prog == NULL, "a manifest that is not a mapping: no program");
	ok(err && strstr(err, at("dep/plugins/connectors/bad/manifest.yaml")),
	    "and an error naming the manifest (%s)", err ? err : "NULL");
	jv_free(env);
	free(prog);
	free(err);

	put_file("dep/plugins/connectors/bad/manifest.yaml", "just a string\n", 0644);
	env = jv_array();
	err = NULL;
	prog = plugin_find(at("dep"), "connectors", "bad", &env, &err);
	ok(prog == NULL && err && strstr(err, at("dep/plugins/connectors/bad/manifest.yaml")),
	    "a scalar manifest is an error naming it (%s)", err ? err : "NULL");
	jv_free(env);
	free(prog);
	free(err);

	/* a missing program */
	mkdirs("dep/plugins/connectors/noprog");
	put_file("dep/plugins/connectors/noprog/manifest.yaml", "exec: fetch.sh\n", 0644);
	env = jv_array();
	err = NULL;
	prog = plugin_find(at("dep"), "connectors", "noprog", &env, &err);
	ok(prog == NULL, "a missing program: no program");
	ok(err && strstr(err, "exec:"), "the error mentions exec: (%s)", err ? err : "NULL");
	ok(err && strstr(err, "fetch.sh"), "and names the program");
	jv_free(env);
	free(prog);
	free(err);

	/* a program that is not executable */
	put_file("dep/plugins/connectors/noprog/fetch.sh", "#!/bin/sh\n", 0644);
	env = jv_array();
	err = NULL;
	prog = plugin_find(at("dep"), "connectors", "noprog", &env, &err);
	ok(prog == NULL && err && strstr(err, "exec:"),
	    "a program that is not executable is an error too (%s)", err ? err : "NULL");
	jv_free(env);
	free(prog);
	free(err);

	/* the default program missing */
	mkdirs("dep/plugins/detectors/empty");
	put_file("dep/plugins/detectors/empty/manifest.yaml", "name: empty\n", 0644);
	env = jv_array();
	err = NULL;
	prog = plugin_find(at("dep"), "detectors", "empty", &env, &err);
	ok(prog == NULL && err && strstr(err, "exec:") && strstr(err, "detector"),
	    "without exec: and no 'detector': an error mentioning exec: (%s)", err ? err : "NULL");
	jv_free(env);
	free(prog);
	free(err);

	/* no such plugin */
	env = jv_array();
	err = (char *)"untouched";
	prog = plugin_find(at("dep"), "connectors", "github", &env, &err);
	ok(prog == NULL && err == NULL, "no plugin directory: NULL and no error");
	ok(jv_array_length(jv_copy(env)) == 0, "and env is left alone");
	jv_free(env);
	err = (char *)"untouched";
	env = jv_array();
	prog = plugin_find(at("nowhere"), "connectors", "github", &env, &err);
	ok(prog == NULL && err == NULL, "no plugins/ at all: NULL and no error");
	jv_free(env);
}

/* shipped data: beside the program or $MALLCOP_SHARE, never a deployment's copy */
static void
test_share(void)
{
	char *p, *want;

	mkdirs("share/only");
	put_file("share/only/here", "x", 0644);
	setenv("MALLCOP_SHARE", at("share"), 1);
	p = plugin_share("only/here");
	want = realpath(at("share/only/here"), NULL);
	is_str(p, want, "plugin_share: a file under $MALLCOP_SHARE");
	free(p);
	free(want);
	p = plugin_share("only");
	ok(p && strstr(p, "/share/only"), "plugin_share: a directory too");
	free(p);
	ok(plugin_share("no/such/file") == NULL, "plugin_share: NULL when shipped nowhere");
	unsetenv("MALLCOP_SHARE");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_builtin();
	test_find();
	test_share();
	{
		char *cmd = NULL;

		if (asprintf(&cmd, "/bin/rm -rf '%s'", root) > 0 && system(cmd) != 0)
			printf("# could not remove %s\n", root);
		free(cmd);
	}
	return t_done();
}
