/* mallcop-trust: the trust web: anchors, keys, endorsements, revocations, and the path search */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "human.h"
#include "plugin.h"
#include "sshsig.h"
#include "store.h"
#include "trust.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-trust [--trust-dir DIR] [--dir DIR] [--human] SUBCOMMAND ...\n"
    "       mallcop-trust add-anchor IDENTITY PUBKEY_FILE\n"
    "       mallcop-trust add-key IDENTITY PUBKEY_FILE\n"
    "       mallcop-trust endorse IDENTITY --scope GLOB --level full|author --expires YYYY-MM-DD\n"
    "                     --key PRIVATE_KEY [--reason TEXT] [--identity ENDORSER]\n"
    "       mallcop-trust revoke IDENTITY|PUBKEY_FILE --key PRIVATE_KEY [--reason TEXT]\n"
    "                     [--identity REVOKER]\n"
    "       mallcop-trust chain IDENTITY [--skill NAME]\n"
    "       mallcop-trust list";

enum { O_SCOPE = 1, O_LEVEL = 2, O_EXPIRES = 4, O_KEY = 8, O_REASON = 16, O_IDENTITY = 32,
	O_SKILL = 64 };

static const struct {
	const char *name;
	int nargs, allowed, required;
} subs[] = {
	{"add-anchor", 2, 0, 0},
	{"add-key", 2, 0, 0},
	{"endorse", 1, O_SCOPE | O_LEVEL | O_EXPIRES | O_KEY | O_REASON | O_IDENTITY,
	    O_SCOPE | O_LEVEL | O_EXPIRES | O_KEY},
	{"revoke", 1, O_KEY | O_REASON | O_IDENTITY, O_KEY},
	{"chain", 1, O_SKILL, 0},
	{"list", 0, 0, 0},
};

static const char *const optname[] = {"--scope", "--level", "--expires", "--key", "--reason",
	"--identity", "--skill"};

typedef struct args {
	const char *scope, *level, *expires, *key, *reason, *identity, *skill;
	int given;
} args;

static void
usage_error(const char *fmt, const char *what)
{
	fprintf(stderr, "%s\n", usage);
	die(EXIT_USAGE, fmt, what);
}

/* a value given on the command line: not empty, no control character */
static const char *
value(const char *opt, const char *v)
{
	if (!*v)
		usage_error("%s is empty", opt);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			usage_error("%s has a control character", opt);
	return v;
}

static void
identity_arg(const char *what, const char *id)
{
	if (!trust_identity_ok(id)) {
		char *safe = human_safe(id);

		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "%s '%s' is not an identity: it is empty or has whitespace or a "
		    "control character", what, safe);
	}
}

/* --expires YYYY-MM-DD: midnight UTC of that day, which must be after now */
static int64_t
expires_arg(const char *s, int64_t now)
{
	char buf[TS_BUFSZ], back[TS_BUFSZ];
	int64_t us;
	int digits = 0;

	for (int i = 0; s[i]; i++)
		digits += s[i] >= '0' && s[i] <= '9';
	snprintf(buf, sizeof buf, "%.10sT00:00:00Z", s);
	if (strlen(s) != 10 || digits != 8 || s[4] != '-' || s[7] != '-' || ts_parse(buf, &us) ||
	    strcmp(ts_format(us, back), buf))
		usage_error("--expires '%s' is not a date: expected YYYY-MM-DD", s);
	if (us <= now)
		usage_error("--expires '%s' is not after now: an expired endorsement counts for "
		    "nothing", s);
	return us;
}

/* 1 when o[key] is of kind k */
static int
has(jv o, const char *key, jv_kind k)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	int r = jv_get_kind(v) == k;

	jv_free(v);
	return r;
}

static void
print_key_result(jv r, int anchor)
{
	human_field(stdout, r, "identity", "");
	if (has(r, "added", JV_KIND_TRUE))
		fputs(anchor ? " is an anchor now (" : " is in the keyring now (", stdout);
	else
		fputs(anchor ? " is already an anchor with that key (" :
		    " already has that key in the trust web (", stdout);
	human_field(stdout, r, "fingerprint", "");
	fputs(")\n  file: ", stdout);
	human_field(stdout, r, "file", "");
	putchar('\n');
}

static void
print_chain(jv r)
{
	jv path = jv_object_get(jv_copy(r), jv_string("path"));

	jv_array_foreach(path, i, id) {
		fputs(i ? " -> " : "", stdout);
		human_put(stdout, jv_string_value(id));
		jv_free(id);
	}
	fputs("\n  skill: ", stdout);
	human_field(stdout, r, "skill", "");
	putchar('\n');
	jv_free(path);
}

static void
print_keys(jv list, const char *title)
{
	printf("%s:\n", title);
	if (!jv_array_length(jv_copy(list)))
		puts("  none");
	jv_array_foreach(list, i, k) {
		(void)i;
		fputs("  ", stdout);
		human_field(stdout, k, "identity", "");
		fputs("  ", stdout);
		human_field(stdout, k, "fingerprint", "?");
		if (has(k, "source", JV_KIND_STRING)) {
			fputs("  ", stdout);
			human_field(stdout, k, "source", "");
		}
		putchar('\n');
		jv_free(k);
	}
	jv_free(list);
}

/* each endorsement of a list marked "expired" (expires <= now) or not */
static jv
mark_expired(jv list, int64_t now)
{
	jv ends = jv_object_get(jv_copy(list), jv_string("endorsements")), out = jv_object();

	jv_object_foreach(ends, who, es) {
		jv marked = jv_array();

		jv_array_foreach(es, i, e) {
			jv x = jv_object_get(jv_copy(e), jv_string("expires"));
			int64_t exp = 0;

			(void)i;
			e = jv_object_set(e, jv_string("expired"),
			    jv_bool(!ts_parse(jv_string_value(x), &exp) && exp <= now));
			marked = jv_array_append(marked, e);
			jv_free(x);
		}
		jv_free(es);
		out = jv_object_set(out, who, marked);
	}
	jv_free(ends);
	return jv_object_set(list, jv_string("endorsements"), out);
}

static void
print_list(jv r)
{
	jv ends = jv_object_get(jv_copy(r), jv_string("endorsements"));
	jv revs = jv_object_get(jv_copy(r), jv_string("revocations"));
	jv probs = jv_object_get(jv_copy(r), jv_string("problems"));

	print_keys(jv_object_get(jv_copy(r), jv_string("anchors")), "anchors");
	print_keys(jv_object_get(jv_copy(r), jv_string("keyring")), "keyring");
	puts("endorsements:");
	if (!jv_object_length(jv_copy(ends)))
		puts("  none");
	jv_object_foreach(ends, who, list) {
		jv_array_foreach(list, i, e) {
			(void)i;
			fputs("  ", stdout);
			human_put(stdout, jv_string_value(who));
			fputs(" -> ", stdout);
			human_field(stdout, e, "identity", "");
			fputs("  ", stdout);
			human_field(stdout, e, "trust_level", "");
			fputs("  scope ", stdout);
			human_field(stdout, e, "scope", "");
			fputs(has(e, "expired", JV_KIND_TRUE) ? "  expired " : "  until ", stdout);
			human_field(stdout, e, "expires", "");
			putchar('\n');
			jv_free(e);
		}
		jv_free(who);
		jv_free(list);
	}
	puts("revocations:");
	if (!jv_array_length(jv_copy(revs)))
		puts("  none");
	jv_array_foreach(revs, i, v) {
		(void)i;
		fputs("  ", stdout);
		human_field(stdout, v, "revoker", "");
		fputs(" revokes ", stdout);
		human_field(stdout, v, "identity", "");
		human_field(stdout, v, "key", "");
		putchar('\n');
		jv_free(v);
	}
	puts("problems:");
	if (!jv_array_length(jv_copy(probs)))
		puts("  none");
	jv_array_foreach(probs, i, p) {
		(void)i;
		fputs("  ", stdout);
		human_field(stdout, p, "file", "");
		fputs(": ", stdout);
		human_field(stdout, p, "error", "");
		putchar('\n');
		jv_free(p);
	}
	jv_free(ends);
	jv_free(revs);
	jv_free(probs);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"trust-dir", required_argument, NULL, 't'},
		{"dir", required_argument, NULL, 'd'},
		{"human", no_argument, NULL, 'u'},
		{"scope", required_argument, NULL, 's'},
		{"level", required_argument, NULL, 'l'},
		{"expires", required_argument, NULL, 'e'},
		{"key", required_argument, NULL, 'k'},
		{"reason", required_argument, NULL, 'r'},
		{"identity", required_argument, NULL, 'i'},
		{"skill", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	args a = {0};
	const char *tdir = NULL, *dir = NULL, *sub, *builtin_rel = "trust/anchors";
	char *tpath, *builtin, *err = NULL, *why = NULL;
	int c, human = 0, s, r;
	int64_t now = ts_now();
	size_t i;
	jv out;
	trust *t;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': tdir = value("--trust-dir", optarg); break;
		case 'd': dir = value("--dir", optarg); break;
		case 'u': human = 1; break;
		case 's': a.scope = value("--scope", optarg); a.given |= O_SCOPE; break;
		case 'l': a.level = value("--level", optarg); a.given |= O_LEVEL; break;
		case 'e': a.expires = value("--expires", optarg); a.given |= O_EXPIRES; break;
		case 'k': a.key = value("--key", optarg); a.given |= O_KEY; break;
		case 'r': a.reason = value("--reason", optarg); a.given |= O_REASON; break;
		case 'i': a.identity = value("--identity", optarg); a.given |= O_IDENTITY; break;
		case 'S': a.skill = value("--skill", optarg); a.given |= O_SKILL; break;
		case 'h':
			puts(usage);
			return 0;
		default:
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		usage_error("%s", "a subcommand is needed: add-anchor, add-key, endorse, revoke, "
		    "chain or list");
	sub = argv[optind++];
	for (i = 0; i < sizeof subs / sizeof *subs && strcmp(subs[i].name, sub); i++)
		;
	if (i == sizeof subs / sizeof *subs)
		usage_error("unknown subcommand '%s'", sub);
	s = (int)i;
	if (argc - optind < subs[s].nargs)
		usage_error(subs[s].nargs == 2 ? "%s: IDENTITY and PUBKEY_FILE are needed" :
		    "%s: an identity is needed", sub);
	if (argc - optind > subs[s].nargs)
		usage_error("unexpected argument '%s'", argv[optind + subs[s].nargs]);
	for (int b = 0; b < 7; b++) {
		if ((a.given & (1 << b)) && !(subs[s].allowed & (1 << b))) {
			fprintf(stderr, "%s\n", usage);
			die(EXIT_USAGE, "%s does not take %s", sub, optname[b]);
		}
		if ((subs[s].required & (1 << b)) && !(a.given & (1 << b))) {
			fprintf(stderr, "%s\n", usage);
			die(EXIT_USAGE, "%s needs %s", sub, optname[b]);
		}
	}
	human = cli_human(human);
	tpath = tdir ? xstrdup(tdir) : xasprintf("%s/.mallcop/trust", store_root(dir));
	builtin = plugin_share(builtin_rel);

	if (!strcmp(sub, "add-anchor") || !strcmp(sub, "add-key")) {
		identity_arg("the identity", argv[optind]);
		out = trust_add(tpath, builtin, sub[4] == 'a', argv[optind], argv[optind + 1]);
	} else if (!strcmp(sub, "endorse")) {
		int64_t exp;

		identity_arg("the identity", argv[optind]);
		if (a.identity)
			identity_arg("--identity", a.identity);
		if (strcmp(a.level, "full") && strcmp(a.level, "author"))
			usage_error("--level '%s': expected full or author", a.level);
		if (strstr(a.scope, "[^"))
			usage_error("--scope '%s': write a negated set as [!...]", a.scope);
		exp = expires_arg(a.expires, now);
		out = trust_endorse(tpath, builtin, a.key, a.identity, argv[optind], a.scope,
		    a.level, exp, a.reason, now);
	} else if (!strcmp(sub, "revoke")) {
		const char *what = argv[optind];
		char *type = NULL, *b64 = NULL, *key = NULL;

		if (a.identity)
			identity_arg("--identity", a.identity);
		/* a file there (or a path, a .pub) is the key to revoke; anything else an identity */
		if (!access(what, F_OK) || strchr(what, '/') || (strlen(what) > 4 &&
		    !strcmp(what + strlen(what) - 4, ".pub"))) {
			if (sshsig_pubkey_load(what, &type, &b64, NULL, &err))
				cli_fail(EXIT_WORK, human, "%s", err);
			key = xasprintf("%s %s", type, b64);
		} else {
			identity_arg("the identity", what);
		}
		out = trust_revoke(tpath, builtin, a.key, a.identity, what, key, a.reason, now);
		free(type);
		free(b64);
		free(key);
	} else {
		if (!(t = trust_load(tpath, builtin, &err)))
			cli_fail(EXIT_WORK, human, "%s", err);
		if (!strcmp(sub, "chain")) {
			const char *skill = a.skill ? a.skill : "*";

			identity_arg("the identity", argv[optind]);
			out = trust_path(t, argv[optind], skill, (time_t)(now / TS_SECOND), &why);
			if (!jv_is_valid(out)) {
				jv_free(out);
				trust_free(t);
				cli_fail(EXIT_WORK, human, "no trust path to '%s' for skill '%s': %s",
				    argv[optind], skill, why);
			}
			out = jv_object_set(jv_object(), jv_string("path"), out);
			out = jv_object_set(out, jv_string("identity"), jv_string(argv[optind]));
			out = jv_object_set(out, jv_string("skill"), jv_string(skill));
		} else {
			out = mark_expired(trust_list(t), now);
		}
		trust_free(t);
	}
	if (!jv_is_valid(out)) {
		jv msg = jv_invalid_get_msg(out);

		cli_fail(EXIT_WORK, human, "%s", jv_string_value(msg));
	}
	out = jv_object_set(out, jv_string("trust_dir"), jv_string(tpath));
	if (human) {
		if (!strcmp(sub, "chain"))
			print_chain(out);
		else if (!strcmp(sub, "list"))
			print_list(out);
		else if (!strncmp(sub, "add-", 4))
			print_key_result(out, sub[4] == 'a');
		else {
			human_field(stdout, out, !strcmp(sub, "endorse") ? "endorser" : "revoker", "");
			fputs(!strcmp(sub, "endorse") ? " endorses " : " revokes ", stdout);
			human_field(stdout, out, has(out, "key", JV_KIND_STRING) ? "key" : "identity",
			    "");
			if (!strcmp(sub, "endorse")) {
				fputs(" for '", stdout);
				human_field(stdout, out, "scope", "");
				fputs("' at level ", stdout);
				human_field(stdout, out, "level", "");
				fputs(" until ", stdout);
				human_field(stdout, out, "expires", "");
			}
			fputs("\n  file: ", stdout);
			human_field(stdout, out, "file", "");
			putchar('\n');
		}
		jv_free(out);
		r = fshut(stdout, "stdout") ? EXIT_WORK : 0;
	} else {
		jv res = jv_object_set(cli_result(), jv_string("subcommand"), jv_string(sub));

		r = cli_emit(jv_object_merge(res, out));
	}
	free(tpath);
	free(builtin);
	free(why);
	return r;
}
