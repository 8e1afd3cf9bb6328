/* skill: the signed blob, SKILL.md's front matter, skills.lock read and written back */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "skill.h"
#include "store.h"
#include "t.h"
#include "util.h"

static char root[] = "/tmp/test_skill.XXXXXX";

static char *
at(const char *rel)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
	return buf[k];
}

static void
put(const char *rel, const char *text, size_t n)
{
	FILE *f = fopen(at(rel), "w");

	if (!f || fwrite(text, 1, n, f) != n || fclose(f)) {
		printf("Bail out! cannot write %s\n", rel);
		exit(1);
	}
}

static void
put_s(const char *rel, const char *text)
{
	put(rel, text, strlen(text));
}

static const char vec_md[] = "---\nname: vec-skill\ndescription: test vector\n"
    "author: vector@example.com\n---\nBody line.\n";

/* Appendix A.2 of the reference: the blob and its hash, byte for byte */
static void
test_vector(void)
{
	char *blob = NULL, *err = NULL, hex[65];
	size_t len = 0;
	static const char want[] = "--- SKILL.md ---\n---\nname: vec-skill\ndescription: test "
	    "vector\nauthor: vector@example.com\n---\nBody line.\n--- sub/a.txt ---\nx\n"
	    "--- tools.py ---\n";

	mkdir(at("vec"), 0755);
	mkdir(at("vec/sub"), 0755);
	put_s("vec/SKILL.md", vec_md);
	put_s("vec/sub/a.txt", "x\n");
	put_s("vec/tools.py", "");
	put_s("vec/SKILL.md.sig", "not part of the blob\n");
	ok(skill_blob(at("vec"), &blob, &len, &err) == 0, "blob of the vector directory");
	ok(blob && len == strlen(want) && !memcmp(blob, want, len),
	    "the blob is the reference's, SKILL.md.sig left out");
	free(blob);
	ok(skill_hash(at("vec"), hex, &err) == 0, "hash of the vector directory");
	is_str(hex, "4c9df2b934b216f4c1899ffa9dfa709088f22443a2050b94e127e6f5168f57c6",
	    "the hash is the reference's (the skills.lock sha256)");
	mkdir(at("vec/sub/deeper"), 0755);
	ok(skill_hash(at("vec"), hex, &err) == 0 &&
	    streq(hex, "4c9df2b934b216f4c1899ffa9dfa709088f22443a2050b94e127e6f5168f57c6"),
	    "an empty directory adds nothing");
	put_s("vec/sub/SKILL.md.sig", "nested\n");
	ok(skill_hash(at("vec"), hex, &err) == 0 &&
	    !streq(hex, "4c9df2b934b216f4c1899ffa9dfa709088f22443a2050b94e127e6f5168f57c6"),
	    "a nested SKILL.md.sig is content");
}

/* Python's component-wise path order: a/b before a-c before a.b (bytewise puts a/b last) */
static void
test_order(void)
{
	char *blob = NULL, *err = NULL;
	size_t len = 0;
	static const char want[] = "--- .hidden ---\nh--- A ---\nA--- a/b ---\nb--- a-c ---\nc"
	    "--- a.b ---\nd";

	mkdir(at("ord"), 0755);
	mkdir(at("ord/a"), 0755);
	put_s("ord/a/b", "b");
	put_s("ord/a-c", "c");
	put_s("ord/a.b", "d");
	put_s("ord/A", "A");
	put_s("ord/.hidden", "h");
	ok(skill_blob(at("ord"), &blob, &len, &err) == 0, "blob of a/b, a-c, a.b");
	ok(blob && len == strlen(want) && !memcmp(blob, want, len),
	    "order: hidden files included, then byte order per directory, a/b < a-c < a.b");
	if (blob && strcmp(blob, want))
		printf("#   got '%s'\n", blob);
	free(blob);
}

static void
test_blob_refusals(void)
{
	char *blob = NULL, *err = NULL, hex[65];
	size_t len;

	mkdir(at("out"), 0755);
	put_s("out/SKILL.md", vec_md);
	put_s("secret", "outside\n");
	if (symlink(at("secret"), at("out/link")))
		printf("Bail out! symlink\n");
	ok(skill_blob(at("out"), &blob, &len, &err) == -1 && err &&
	    strstr(err, "symbolic link leading outside"), "a link leading outside is refused");
	free(err);
	err = NULL;
	unlink(at("out/link"));
	if (symlink("SKILL.md", at("out/inner")))
		printf("Bail out! symlink\n");
	ok(skill_blob(at("out"), &blob, &len, &err) == 0 && strstr(blob, "--- inner ---\n---"),
	    "a link to a file inside is read as that file");
	free(blob);
	unlink(at("out/inner"));
	if (symlink("../secret", at("out/up")))
		printf("Bail out! symlink\n");
	ok(skill_hash(at("out"), hex, &err) == -1 && err && strstr(err, "outside"),
	    "a relative link going up and out is refused");
	free(err);
	err = NULL;
	unlink(at("out/up"));

	/* refused by its size, before it is read */
	FILE *f = fopen(at("out/big"), "w");

	if (!f || ftruncate(fileno(f), (off_t)100 << 20) || fclose(f))
		printf("Bail out! big file\n");
	ok(skill_blob(at("out"), &blob, &len, &err) == -1 && err && strstr(err, "104857600 "
	    "bytes"), "a 100 MB file is refused by its size");
	free(err);
	err = NULL;
	unlink(at("out/big"));

	put("out/bad\x1b[31m", "x", 1);
	ok(skill_blob(at("out"), &blob, &len, &err) == -1 && err && strstr(err, "control") &&
	    !strchr(err, 0x1b), "a file name with an escape sequence is refused, shown escaped");
	free(err);
	err = NULL;
	unlink(at("out/bad\x1b[31m"));
	if (mkfifo(at("out/fifo"), 0644))
		printf("Bail out! mkfifo\n");
	ok(skill_blob(at("out"), &blob, &len, &err) == -1 && err && strstr(err,
	    "not a regular file"), "a FIFO is refused, not waited on");
	free(err);
	err = NULL;
	unlink(at("out/fifo"));
	ok(skill_blob(at("nothere"), &blob, &len, &err) == -1 && err && strstr(err, "nothere"),
	    "a directory that is not there is named");
	free(err);
	err = NULL;

	skill_def s;

	mkdir(at("mdlink"), 0755);
	put_s("outside.md", vec_md);
	if (symlink(at("outside.md"), at("mdlink/SKILL.md")))
		printf("Bail out! symlink\n");
	ok(skill_manifest(at("mdlink"), &s, NULL, &err) == -1 && err && strstr(err, "outside"),
	    "a SKILL.md that is a link leading outside is not read");
	free(err);
}

/* the manifest of a SKILL.md holding text; its error (malloc'd) or NULL */
static char *
manifest(const char *text, skill_def *s, char **body)
{
	char *err = NULL;

	mkdir(at("fm"), 0755);
	put_s("fm/SKILL.md", text);
	if (skill_manifest(at("fm"), s, body, &err))
		return err;
	return NULL;
}

static void
test_front_matter(void)
{
	skill_def s;
	char *body = NULL, *err;

	err = manifest("---\nname: aws-iam\ndescription: IAM\nparent: privilege-analysis\n"
	    "author: a@example.com\nversion: \"1.0\"\ntools: tools.py\nother: kept\n---\n"
	    "# Body\n", &s, &body);
	ok(!err, "a full front matter is read");
	is_str(s.name, "aws-iam", "name");
	is_str(s.description, "IAM", "description");
	is_str(s.parent, "privilege-analysis", "parent");
	is_str(s.author, "a@example.com", "author");
	is_str(s.version, "1.0", "a quoted version stays text");
	is_str(s.tools, "tools.py", "tools");
	is_str(body, "# Body\n", "the body begins after the closing line's newline");
	skill_def_free(&s);
	free(body);

	err = manifest("---\nname: x\ndescription: d\nversion: 2\n---", &s, &body);
	ok(!err && streq(body, "") && streq(s.version, "2"),
	    "a closing line at the end of the file: an empty body; a number version as text");
	skill_def_free(&s);
	free(body);

	err = manifest("---\nname: x\ndescription: d\n----\nrest\n", &s, &body);
	ok(!err && streq(body, "-\nrest\n"), "'----' closes the block too (as the reference)");
	skill_def_free(&s);
	free(body);

	err = manifest("---\nname: x\ndescription: d\nversion: null\nparent: false\n"
	    "author: ~\ntools: \"\"\n---\n", &s, NULL);
	ok(!err && !s.version && !s.parent && !s.author && !s.tools,
	    "null, false and empty optional keys are absent");
	skill_def_free(&s);
	free(err);

	err = manifest("---\r\nname: x\r\ndescription: d\r\n---\r\nbody\r\n", &s, NULL);
	ok(!err && streq(s.name, "x"), "CRLF lines are read");
	skill_def_free(&s);
	free(err);

	static const struct {
		const char *text, *want, *what;
	} bad[] = {
		{"# Just markdown\n", "no front matter", "no front matter at all"},
		{"", "no front matter", "an empty file"},
		{"---\n---\nbody\n", "no '---' line closes it", "an empty block (as the reference)"},
		{"---\nname: x\ndescription: d\n", "no '---' line closes it", "no closing line"},
		{"---\n- a\n- b\n---\n", "not a mapping", "a list for front matter"},
		{"---\nname: x\ndescription: [d\n---\n", "line ", "YAML that does not parse"},
		{"---\ndescription: d\n---\n", "no name:", "no name"},
		{"---\nname: x\n---\n", "no description:", "no description"},
		{"---\nname: \"\"\ndescription: d\n---\n", "no name:", "an empty name"},
		{"---\nname: ../etc\ndescription: d\n---\n", "not a skill name", "a name with .."},
		{"---\nname: a/b\ndescription: d\n---\n", "not a skill name", "a name with /"},
		{"---\nname: Aws\ndescription: d\n---\n", "not a skill name", "upper case"},
		{"---\nname: -x\ndescription: d\n---\n", "not a skill name", "a leading '-'"},
		{"---\nname: x\ndescription: d\nparent: ../y\n---\n", "parent '../y' is not",
		    "a parent that is not a name"},
		{"---\nname: [x]\ndescription: d\n---\n", "name: is not a string", "a list name"},
		{"---\nname: x\ndescription: d\nauthor: {a: b}\n---\n", "author: is not a string",
		    "a mapping for author"},
		{"---\nname: x\ndescription: d\nparent: true\n---\n", "parent: is not a string",
		    "true for parent"},
		{"---\nname: x\ndescription: d\nauthor: \"a\\x1b[2Jb\"\n---\n", "control character",
		    "an author with an escape"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err = manifest(bad[i].text, &s, NULL);
		ok(err && strstr(err, bad[i].want) && strstr(err, "SKILL.md"),
		    "refused, naming SKILL.md: %s", bad[i].what);
		if (!err || !strstr(err, bad[i].want))
			printf("#   got %s\n", err ? err : "(accepted)");
		if (!err)
			skill_def_free(&s);
		free(err);
	}
	err = manifest("---\nname: x\nwhat: a: b\ndescription: d\n---\n", &s, NULL);
	ok(err && strstr(err, "line 3:"), "a YAML error names the line of the file");
	if (err && !strstr(err, "line 3:"))
		printf("#   got %s\n", err);
	free(err);

	ok(skill_name_ok("privilege-analysis") && skill_name_ok("a.b_c-9") &&
	    skill_name_ok("9lives"), "skill names");
	ok(!skill_name_ok("a..b") && !skill_name_ok("") && !skill_name_ok(".x") &&
	    !skill_name_ok("a b") && !skill_name_ok(NULL), "not skill names");
}

static void
test_lock(void)
{
	char *err = NULL, *text;
	jv skills, back, e;

	back = skill_lock_read(at("absent.lock"), &err);
	ok(jv_get_kind(back) == JV_KIND_NULL && !err, "no lock file: null, no error");
	jv_free(back);

	setenv("MALLCOP_NOW", "2026-03-15T04:09:44Z", 1);
	skills = jv_parse("{\"zeta\": {\"sha256\": \"ab\", \"author\": \"z@example.com\"},"
	    "\"1.0\": {\"sha256\": \"cd\"}, \"alpha\": {\"sha256\": \"01ef\"}}");
	ok(skill_lock_write(at("skills.lock"), skills, &err) == 0, "lock written");
	text = store_slurp(at("skills.lock"), NULL);
	is_str(text, "skills:\n"
	    "  '1.0':\n    author: null\n    expires: null\n    sha256: cd\n    source: builtin\n"
	    "    trust_chain: null\n    verified_at: '2026-03-15T04:09:44+00:00'\n"
	    "  alpha:\n    author: null\n    expires: null\n    sha256: '01ef'\n"
	    "    source: builtin\n    trust_chain: null\n"
	    "    verified_at: '2026-03-15T04:09:44+00:00'\n"
	    "  zeta:\n    author: z@example.com\n    expires: null\n    sha256: ab\n"
	    "    source: builtin\n    trust_chain: null\n"
	    "    verified_at: '2026-03-15T04:09:44+00:00'\n"
	    "version: 1\n", "the reference's layout: keys sorted, verified_at quoted");
	free(text);
	back = skill_lock_read(at("skills.lock"), &err);
	ok(jv_get_kind(back) == JV_KIND_OBJECT && !err, "read back");
	e = jv_object_get(jv_object_get(jv_copy(back), jv_string("1.0")), jv_string("sha256"));
	is_str(jv_get_kind(e) == JV_KIND_STRING ? jv_string_value(e) : NULL, "cd",
	    "a name that looks like a number stays a name");
	jv_free(e);
	e = jv_object_get(jv_object_get(jv_copy(back), jv_string("alpha")), jv_string("sha256"));
	is_str(jv_get_kind(e) == JV_KIND_STRING ? jv_string_value(e) : NULL, "01ef",
	    "a hash of digits stays text");
	jv_free(e);
	ok(jv_array_length(jv_keys(back)) == 3, "three skills");

	/* the earlier implementation's own file */
	put_s("py.lock", "skills:\n  aws-iam:\n    author: mallcop@mallcop.app\n    expires: null\n"
	    "    sha256: ea538d1d0cb27327d321fbb5b7946da9775aafa616d8f53ad36631996145894a\n"
	    "    source: builtin\n    trust_chain: null\n"
	    "    verified_at: '2026-03-15T04:09:44.000458+00:00'\nversion: 1\n");
	back = skill_lock_read(at("py.lock"), &err);
	e = jv_object_get(jv_object_get(back, jv_string("aws-iam")), jv_string("sha256"));
	is_str(jv_get_kind(e) == JV_KIND_STRING ? jv_string_value(e) : NULL,
	    "ea538d1d0cb27327d321fbb5b7946da9775aafa616d8f53ad36631996145894a",
	    "the earlier implementation's lock is read");
	jv_free(e);

	static const struct {
		const char *text, *want, *what;
	} bad[] = {
		{"- a\n", "not a skills.lock", "a list"},
		{"skills: [a]\n", "not a mapping of skill names", "skills: a list"},
		{"skills:\n  x: 3\n", "skills.x has no sha256", "an entry without a hash"},
		{"skills: {x: [\n", "line", "YAML that does not parse"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		put_s("bad.lock", bad[i].text);
		back = skill_lock_read(at("bad.lock"), &err);
		ok(!jv_is_valid(back) && err && strstr(err, bad[i].want) && strstr(err, "bad.lock"),
		    "lock refused, naming it: %s", bad[i].what);
		if (!err || !strstr(err, bad[i].want))
			printf("#   got %s\n", err ? err : "(accepted)");
		jv_free(back);
		free(err);
		err = NULL;
	}
	if (getuid() != 0) {
		put_s("locked.lock", "skills: {}\n");
		chmod(at("locked.lock"), 0);
		back = skill_lock_read(at("locked.lock"), &err);
		ok(!jv_is_valid(back) && err && strstr(err, "cannot read"),
		    "an unreadable lock is an error, not an empty lock");
		jv_free(back);
		free(err);
		err = NULL;
		ok(skill_lock_write(at("locked.lock"), jv_object(), &err) == -1,
		    "an unreadable lock is not replaced");
		free(err);
		chmod(at("locked.lock"), 0644);
	}
}


/* run a shell command; bail out when it fails */
static void
sh(const char *fmt, const char *arg)
{
	char *cmd = xasprintf(fmt, arg, arg, arg);

	if (system(cmd)) {
		printf("Bail out! %s\n", cmd);
		exit(1);
	}
	free(cmd);
}

/* a skill in ROOT/dep/skills/DIR with body, signed by key with ssh-keygen */
static void
make_skill(const char *dir, const char *front, const char *body, const char *key)
{
	char *rel = xasprintf("dep/skills/%s", dir), *md = xasprintf("%s/SKILL.md", rel);
	char *text = xasprintf("---\n%s---\n%s", front, body), *blob, *err = NULL;
	size_t len;

	mkdir(at(rel), 0755);
	put_s(md, text);
	if (key) {
		if (skill_blob(at(rel), &blob, &len, &err)) {
			printf("Bail out! %s\n", err);
			exit(1);
		}
		put("blob", blob, len);
		free(blob);
		char *cmd = xasprintf("ssh-keygen -q -Y sign -f %s/%s -n mallcop-skill < %s/blob "
		    "> %s/%s/SKILL.md.sig", root, key, root, root, rel);

		if (system(cmd)) {
			printf("Bail out! %s\n", cmd);
			exit(1);
		}
		free(cmd);
	}
	free(text);
	free(md);
	free(rel);
}

static const char *
str(jv r, const char *key)
{
	static char buf[4][40000];
	static int k;
	jv v = jv_object_get(jv_copy(r), jv_string(key));

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s", jv_get_kind(v) == JV_KIND_STRING ?
	    jv_string_value(v) : "(none)");
	jv_free(v);
	return buf[k];
}

/* skill_set_load: every check, the text a model gets */
static void
test_load(void)
{
	char *err = NULL, *pub, big[40001];
	skill_set *ss;
	jv r, locks = jv_object();
	time_t now = 1800000000;

	mkdir(at("dep"), 0755);
	mkdir(at("dep/skills"), 0755);
	mkdir(at("dep/.mallcop"), 0755);
	mkdir(at("dep/.mallcop/trust"), 0755);
	sh("cd %s && ssh-keygen -q -t ed25519 -N '' -C alice@example.com -f alice && "
	    "ssh-keygen -q -t ed25519 -N '' -C bob@example.com -f bob", root);
	pub = store_slurp(at("alice.pub"), NULL);
	char *line = xasprintf("alice@example.com %.*s\n", (int)strcspn(pub, " \n") + 1 +
	    (int)strcspn(strchr(pub, ' ') + 1, " \n"), pub);

	put_s("dep/.mallcop/trust/anchors", line);
	free(line);
	free(pub);

	make_skill("base", "name: base\ndescription: the base\nauthor: alice@example.com\n",
	    "\n\nBase text.\n", "alice");
	make_skill("child", "name: child\ndescription: \"a\\nchild\"\nauthor: alice@example.com\n"
	    "parent: base\n", "Child\x1b[2J text\twith a tab\r\n\x07" "and\xc2\x9b more.\n", "alice");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	make_skill("big", "name: big\ndescription: big\nauthor: alice@example.com\n", big,
	    "alice");
	make_skill("unsigned", "name: unsigned\ndescription: d\nauthor: alice@example.com\n",
	    "x\n", NULL);
	make_skill("bobs", "name: bobs\ndescription: d\nauthor: bob@example.com\n", "x\n", "bob");
	make_skill("forged", "name: forged\ndescription: d\nauthor: alice@example.com\n", "x\n",
	    "bob");
	make_skill("loop1", "name: loop1\ndescription: d\nauthor: alice@example.com\n"
	    "parent: loop2\n", "x\n", "alice");
	make_skill("loop2", "name: loop2\ndescription: d\nauthor: alice@example.com\n"
	    "parent: loop1\n", "x\n", "alice");
	make_skill("self", "name: self\ndescription: d\nauthor: alice@example.com\n"
	    "parent: self\n", "x\n", "alice");
	make_skill("grandchild", "name: grandchild\ndescription: d\nauthor: alice@example.com\n"
	    "parent: child\n", "Grandchild.\n", "alice");
	make_skill("onbad", "name: onbad\ndescription: d\nauthor: alice@example.com\n"
	    "parent: forged\n", "x\n", "alice");
	static const char *const names[] = {"base", "child", "big", "unsigned", "bobs", "forged",
	    "loop1", "loop2", "self", "grandchild", "onbad"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char hex[65], *dir = xasprintf("dep/skills/%s", names[i]);

		if (skill_hash(at(dir), hex, &err))
			printf("Bail out! %s\n", err);
		locks = jv_object_set(locks, jv_string(names[i]), jv_object_set(jv_object(),
		    jv_string("sha256"), jv_string(hex)));
		free(dir);
	}
	if (skill_lock_write(at("dep/skills/skills.lock"), locks, &err))
		printf("Bail out! %s\n", err);
	make_skill("late", "name: late\ndescription: d\nauthor: alice@example.com\n", "x\n",
	    "alice");

	ss = skill_set_open(at("dep"), NULL, NULL, &err);
	ok(ss != NULL, "the set opens");
	if (!ss) {
		printf("#   %s\n", err);
		return;
	}
	r = skill_set_load(ss, "child", now);
	is_str(str(r, "status"), "valid", "a signed, locked, trusted skill loads");
	is_str(str(r, "context"), "Base text.\n\nChild[2J text\twith a tab\nand more.\n",
	    "the parent's text first; control characters gone but newline and tab");
	is_str(str(r, "verified_by"), "alice@example.com", "verified_by: the author");
	jv t = jv_dump_string(jv_object_get(jv_copy(r), jv_string("trust_chain")), 0);
	is_str(jv_string_value(t), "[\"alice@example.com\"]", "an anchor authoring its own skill");
	jv_free(t);
	t = jv_dump_string(jv_object_get(jv_copy(r), jv_string("parents")), 0);
	is_str(jv_string_value(t), "[\"base\"]", "its parents");
	jv_free(t);
	jv_free(r);
	r = skill_set_load(ss, "grandchild", now);
	t = jv_dump_string(jv_object_get(jv_copy(r), jv_string("parents")), 0);
	is_str(jv_string_value(t), "[\"base\",\"child\"]", "parents, the root first");
	ok(!strncmp(str(r, "context"), "Base text.\n\nChild", 17) &&
	    strstr(str(r, "context"), "more.\n\nGrandchild.\n"), "a grandchild has all three texts");
	jv_free(t);
	jv_free(r);

	r = skill_set_load(ss, "big", now);
	ok(streq(str(r, "status"), "valid") && strlen(str(r, "context")) == SKILL_TEXT_MAX &&
	    jv_get_kind(jv_object_get(jv_copy(r), jv_string("truncated"))) == JV_KIND_TRUE,
	    "the text is capped at SKILL_TEXT_MAX and says so");
	jv_free(r);

	static const struct {
		const char *name, *status, *why;
	} refused[] = {
		{"unsigned", "unsigned", "no SKILL.md.sig"},
		{"bobs", "untrusted", "neither a trust anchor nor in the keyring"},
		{"forged", "invalid", "another key"},
		{"late", "not-in-lock", "'late' is not in"},
		{"loop1", "broken", "cycle"},
		{"loop2", "broken", "cycle"},
		{"self", "broken", "cycle: self -> self"},
		{"onbad", "broken", "its parent 'forged' is refused"},
		{"nothere", "not-found", "no skill 'nothere'"},
		{"../etc", "not-found", "'../etc' is not a skill name"},
		{"a/b", "not-found", "not a skill name"},
	};
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		r = skill_set_load(ss, refused[i].name, now);
		ok(streq(str(r, "status"), refused[i].status) && strstr(str(r, "error"),
		    refused[i].why) && !jv_object_has(jv_copy(r), jv_string("context")),
		    "refused: %s (%s)", refused[i].name, refused[i].status);
		if (!strstr(str(r, "error"), refused[i].why))
			printf("#   got %s: %s\n", str(r, "status"), str(r, "error"));
		jv_free(r);
	}
	r = skill_set_catalogue(ss, now);
	{
		/* the shipped skills are offered too; this test's own come first */
		jv mine = jv_array();

		jv_array_foreach(r, i, x) {
			(void)i;
			if (strchr("bcg", *str(x, "name")) && !strstr(str(x, "name"), "-security"))
				mine = jv_array_append(mine, x);
			else
				jv_free(x);
		}
		jv_free(r);
		r = mine;
	}
	t = jv_dump_string(r, 0);
	is_str(jv_string_value(t), "[{\"name\":\"base\",\"description\":\"the base\",\"parent\":null},"
	    "{\"name\":\"big\",\"description\":\"big\",\"parent\":null},"
	    "{\"name\":\"child\",\"description\":\"a child\",\"parent\":\"base\"},"
	    "{\"name\":\"grandchild\",\"description\":\"d\",\"parent\":\"child\"}]",
	    "the catalogue: the skills that load, descriptions on one line");
	jv_free(t);
	skill_set_close(ss);

	/* a change after the lock: refused in a new set */
	put_s("dep/skills/base/extra.md", "added\n");
	ss = skill_set_open(at("dep"), NULL, NULL, &err);
	r = skill_set_load(ss, "child", now);
	ok(streq(str(r, "status"), "broken") && strstr(str(r, "error"), "parent 'base'") &&
	    strstr(str(r, "error"), "changed since"), "a parent changed after the lock: refused");
	jv_free(r);
	skill_set_close(ss);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* TAP lines survive a sanitizer exit */
	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_vector();
	test_order();
	test_blob_refusals();
	test_front_matter();
	test_lock();
	test_load();
	char *rm = xasprintf("rm -rf '%s'", root);

	if (system(rm))
		printf("# cannot remove %s\n", root);
	free(rm);
	return t_done();
}
