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
	char *rm = xasprintf("rm -rf '%s'", root);

	if (system(rm))
		printf("# cannot remove %s\n", root);
	free(rm);
	return t_done();
}
