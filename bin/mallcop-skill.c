/* mallcop-skill: list, sign, verify and lock the skills the investigate actor loads */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "human.h"
#include "skill.h"
#include "sshsig.h"
#include "store.h"
#include "trust.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-skill list [--skills-dir DIR] [--trust-dir DIR] [--dir DIR] [--human]\n"
    "       mallcop-skill sign SKILL_DIR --key KEYFILE [--human]\n"
    "       mallcop-skill verify SKILL_DIR --pubkey PUBFILE [--identity ID] [--human]\n"
    "       mallcop-skill lock [--skills-dir DIR] [--output FILE] [--dir DIR] [--human]";

typedef struct opts {
	const char *cmd, *arg;
	const char *dir, *skills_dir, *trust_dir, *key, *pubkey, *identity, *output;
	int human;
} opts;

static void
usage_error(const char *fmt, const char *what)
{
	fprintf(stderr, "%s\n", usage);
	die(EXIT_USAGE, fmt, what);
}

static void
put_line(const char *label, const char *s)
{
	fputs(label, stdout);
	human_put(stdout, s);
	putchar('\n');
}

static int
list(const opts *o)
{
	char *err = NULL;
	skill_set *ss = skill_set_open(store_root(o->dir), o->skills_dir, o->trust_dir, &err);
	jv all;

	if (!ss)
		cli_fail(EXIT_WORK, o->human, "%s", err);
	all = skill_set_list(ss, (time_t)(ts_now() / TS_SECOND));
	skill_set_close(ss);
	if (!o->human)
		return cli_emit(jv_object_set(cli_result(), jv_string("skills"), all));
	if (!jv_array_length(jv_copy(all)))
		puts("no skills found");
	jv_array_foreach(all, i, s) {
		(void)i;
		human_field(stdout, s, "name", "?");
		fputs(" ", stdout);
		human_field(stdout, s, "version", "-");
		fputs(" (", stdout);
		human_field(stdout, s, "source", "?");
		fputs("): ", stdout);
		human_field(stdout, s, "status", "?");
		fputs("\n  ", stdout);
		human_field(stdout, s, "description", "");
		fputs("\n  author: ", stdout);
		human_field(stdout, s, "author", "none");
		fputs(", parent: ", stdout);
		human_field(stdout, s, "parent", "none");
		fputs("\n  ", stdout);
		human_field(stdout, s, "reason", "");
		putchar('\n');
		jv_free(s);
	}
	jv_free(all);
	return fshut(stdout, "stdout") ? EXIT_WORK : 0;
}

/* a valid SKILL.md and its signed content: NULL, or why not */
static char *
read_skill(const opts *o, skill_def *def, char **blob, size_t *len)
{
	char *err = NULL;
	struct stat st;

	errno = 0;
	if (stat(o->arg, &st) || !S_ISDIR(st.st_mode))
		return xasprintf("'%s' is not a skill directory: %s", o->arg,
		    errno ? strerror(errno) : "not a directory");
	if (skill_manifest(o->arg, def, NULL, &err))
		return err;
	if (skill_blob(o->arg, blob, len, &err)) {
		skill_def_free(def);
		return err;
	}
	return NULL;
}

static int
sign(const opts *o)
{
	skill_def def;
	char *blob, *sig, *pub = NULL, *err = NULL, *path, *fp;
	size_t len, siglen;
	int rc;

	if ((err = read_skill(o, &def, &blob, &len)))
		cli_fail(EXIT_WORK, o->human, "%s", err);
	if (!(sig = sshsig_sign(o->key, TRUST_NS_SKILL, blob, len, &siglen, &pub, &err)))
		cli_fail(EXIT_WORK, o->human, "cannot sign '%s': %s", o->arg, err);
	/* never write a signature that does not verify */
	if (sshsig_verify(sig, siglen, blob, len, TRUST_NS_SKILL, pub, &err))
		cli_fail(EXIT_WORK, o->human, "the signature made with '%s' does not verify: %s",
		    o->key, err);
	path = xasprintf("%s/SKILL.md.sig", o->arg);
	if (store_replace(path, sig, siglen, &err))
		cli_fail(EXIT_WORK, o->human, "%s", err);
	fp = sshsig_fingerprint(pub);
	if (o->human) {
		printf("signed %s: ", def.name);
		human_put(stdout, path);
		printf(" (key %s)\n", fp ? fp : "?");
		rc = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	} else {
		jv r = jv_object_set(cli_result(), jv_string("sig"), jv_string(path));

		r = jv_object_set(r, jv_string("skill"), jv_string(def.name));
		r = jv_object_set(r, jv_string("author"), def.author ? jv_string(def.author) :
		    jv_null());
		rc = cli_emit(jv_object_set(r, jv_string("fingerprint"), jv_string(fp ? fp : "")));
	}
	free(fp);
	free(path);
	free(pub);
	free(sig);
	free(blob);
	skill_def_free(&def);
	return rc;
}

/* the reference's failure: {status: error, verified: false, error}, exit 1 */
static void __attribute__((noreturn))
not_verified(const opts *o, const char *msg)
{
	if (!o->human) {
		jv r = jv_object_set(cli_result(), jv_string("status"), jv_string("error"));

		r = jv_object_set(r, jv_string("verified"), jv_false());
		cli_emit(jv_object_set(r, jv_string("error"), jv_string(msg)));
	}
	die(EXIT_WORK, "%s", msg);
}

static int
verify(const opts *o)
{
	skill_def def;
	char *blob, *type = NULL, *b64 = NULL, *comment = NULL, *err = NULL, *key, *fp, *msg;
	const char *identity = o->identity;
	size_t len;
	int rc;

	if (sshsig_pubkey_load(o->pubkey, &type, &b64, &comment, &err))
		not_verified(o, err);
	if (!identity && !(identity = comment))
		usage_error("%s", "the public key has no comment to take the identity from: give "
		    "--identity");
	if ((err = read_skill(o, &def, &blob, &len)))
		not_verified(o, err);
	free(blob);
	if (def.author && !streq(def.author, identity)) {
		char *a = human_safe(def.author), *i = human_safe(identity);

		msg = xasprintf("'%s/SKILL.md' names author '%s', not '%s' (give --identity to "
		    "check for another)", o->arg, a, i);
		not_verified(o, msg);
	}
	key = xasprintf("%s %s", type, b64);
	if (skill_verify(o->arg, key, &err))
		not_verified(o, err);
	fp = sshsig_fingerprint(key);
	if (o->human) {
		printf("verified %s: signed by ", def.name);
		human_put(stdout, identity);
		printf(" (key %s)\n", fp ? fp : "?");
		rc = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	} else {
		jv r = jv_object_set(cli_result(), jv_string("verified"), jv_true());

		r = jv_object_set(r, jv_string("skill"), jv_string(def.name));
		r = jv_object_set(r, jv_string("identity"), jv_string(identity));
		rc = cli_emit(jv_object_set(r, jv_string("fingerprint"), jv_string(fp ? fp : "")));
	}
	free(fp);
	free(key);
	free(type);
	free(b64);
	free(comment);
	skill_def_free(&def);
	return rc;
}

/*
 * The skills directory to lock: --skills-dir, else the deployment's skills/, else the
 * earlier implementation's ~/.mallcop/skills when only that one is there
 */
static char *
lock_dir(const opts *o)
{
	struct stat st;
	const char *home = getenv("HOME");
	char *dep, *old;

	if (o->skills_dir)
		return xstrdup(o->skills_dir);
	dep = xasprintf("%s/skills", store_root(o->dir));
	if (!stat(dep, &st) || !home || !*home)
		return dep;
	old = xasprintf("%s/.mallcop/skills", home);
	if (!stat(old, &st)) {
		free(dep);
		return old;
	}
	free(old);
	return dep;
}

static int
lock(const opts *o)
{
	char *dir = lock_dir(o), *out, *err = NULL;
	struct stat st;
	jv skipped, skills, names;
	int rc;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		cli_fail(EXIT_WORK, o->human, "skills directory not found: '%s' (give "
		    "--skills-dir)", dir);
	out = o->output ? xstrdup(o->output) : xasprintf("%s/skills.lock", dir);
	skills = skill_lock_make(dir, &skipped, &err);
	if (!jv_is_valid(skills))
		cli_fail(EXIT_WORK, o->human, "%s; '%s' is left as it was", err, out);
	names = jv_keys(jv_copy(skills));
	if (skill_lock_write(out, skills, &err))
		cli_fail(EXIT_WORK, o->human, "%s", err);
	if (o->human) {
		printf("locked %d skill%s in ", jv_array_length(jv_copy(names)),
		    jv_array_length(jv_copy(names)) == 1 ? "" : "s");
		human_put(stdout, out);
		putchar('\n');
		jv_array_foreach(names, i, n) {
			(void)i;
			put_line("  ", jv_string_value(n));
			jv_free(n);
		}
		jv_array_foreach(skipped, i, d) {
			(void)i;
			put_line("  skipped (no SKILL.md): ", jv_string_value(d));
			jv_free(d);
		}
		jv_free(names);
		jv_free(skipped);
		rc = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	} else {
		jv r = jv_object_set(cli_result(), jv_string("lock_file"), jv_string(out));

		r = jv_object_set(r, jv_string("skills_dir"), jv_string(dir));
		r = jv_object_set(r, jv_string("skills_locked"), names);
		rc = cli_emit(jv_object_set(r, jv_string("skipped"), skipped));
	}
	free(out);
	free(dir);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"skills-dir", required_argument, NULL, 's'},
		{"trust-dir", required_argument, NULL, 't'},
		{"key", required_argument, NULL, 'k'},
		{"pubkey", required_argument, NULL, 'p'},
		{"identity", required_argument, NULL, 'i'},
		{"output", required_argument, NULL, 'o'},
		{"human", no_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const struct {
		const char *cmd, *flags;	/* the option letters it takes */
		int args;
		int (*run)(const opts *);
	} cmds[] = {
		{"list", "dstu", 0, list},
		{"sign", "dku", 1, sign},
		{"verify", "dpiu", 1, verify},
		{"lock", "dsou", 0, lock},
	};
	opts o = {0};
	const char *given = "";
	char seen[16] = "";
	int c, k = -1;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 's': o.skills_dir = optarg; break;
		case 't': o.trust_dir = optarg; break;
		case 'k': o.key = optarg; break;
		case 'p': o.pubkey = optarg; break;
		case 'i': o.identity = optarg; break;
		case 'o': o.output = optarg; break;
		case 'u': o.human = 1; break;
		case 'h':
			puts(usage);
			return 0;
		default:
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
		if (!strchr(seen, c) && strlen(seen) < sizeof seen - 1)
			seen[strlen(seen)] = (char)c;
		if (c != 'u' && !*optarg)
			usage_error("an option's value is empty: '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		usage_error("%s", "a subcommand is needed: list, sign, verify or lock");
	o.cmd = argv[optind++];
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
		if (streq(cmds[i].cmd, o.cmd))
			k = (int)i;
	if (k < 0)
		usage_error("unknown subcommand '%s' (list, sign, verify, lock)", o.cmd);
	for (const char *p = seen; *p; p++)
		if (!strchr(cmds[k].flags, *p)) {
			for (size_t i = 0; longopts[i].name; i++)
				if (longopts[i].val == *p)
					given = longopts[i].name;
			fprintf(stderr, "%s\n", usage);
			die(EXIT_USAGE, "%s does not take --%s", o.cmd, given);
		}
	if (argc - optind < cmds[k].args)
		usage_error("%s needs the skill directory", o.cmd);
	if (argc - optind > cmds[k].args)
		usage_error("unexpected argument '%s'", argv[optind + cmds[k].args]);
	if (cmds[k].args)
		o.arg = argv[optind];
	if (streq(o.cmd, "sign") && !o.key)
		usage_error("%s", "sign needs --key KEYFILE (an SSH private key)");
	if (streq(o.cmd, "verify") && !o.pubkey)
		usage_error("%s", "verify needs --pubkey PUBFILE (an SSH public key)");
	o.human = cli_human(o.human);
	return cmds[k].run(&o);
}
