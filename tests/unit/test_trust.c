/* trust: the web loaded from the earlier implementation's files, and the path search */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "t.h"
#include "trust.h"

static char root[] = "/tmp/test_trust.XXXXXX";

/* Appendix A of the reference: an anchor, one endorsement and its signature */
#define VKEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl"
static const char endorse[] =
    "endorsements:\n"
    "- expires: '2099-01-01T00:00:00+00:00'\n"
    "  identity: bob@example.com\n"
    "  reason: test vector\n"
    "  scope: aws-*\n"
    "  trust_level: full\n"
    "endorser: vector@example.com\n"
    "signed_at: '2026-01-01T00:00:00+00:00'\n";
static const char sig[] =
    "-----BEGIN SSH SIGNATURE-----\n"
    "U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgNDvw42Oy/3MOBD3SeMw+RocNN6\n"
    "G+moX/in5hLaTkMaUAAAATbWFsbGNvcC1lbmRvcnNlbWVudAAAAAAAAAAGc2hhNTEyAAAA\n"
    "UwAAAAtzc2gtZWQyNTUxOQAAAEBMHbdvEmA/KUyiFOVwLNB/VGZfzeqQlZDacwdvNIfeDf\n"
    "Wc7/LYOmFyUjUNbdXJGr1kjWGptkG/eCZloGOUtGIE\n"
    "-----END SSH SIGNATURE-----\n";

static void
put(const char *rel, const char *text)
{
	char *p = NULL;
	FILE *f;

	if (asprintf(&p, "%s/%s", root, rel) < 0 || !(f = fopen(p, "w"))) {
		printf("Bail out! cannot write %s\n", rel);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	free(p);
}

static char *
path_text(jv p)
{
	jv s = jv_dump_string(p, 0);
	char *r = strdup(jv_string_value(s));

	jv_free(s);
	return r;
}

int
main(void)
{
	time_t now = 1795651200;	/* 2026-11-26 */
	char *err = NULL, *why = NULL, *sub = NULL, *got;
	trust *t;
	jv p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(root) || asprintf(&sub, "%s/endorsements", root) < 0 || mkdir(sub, 0755)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	put("anchors", "# the vector's anchor\nvector@example.com " VKEY " vector@example.com\n");
	put("endorsements/vector_example_com.endorse", endorse);
	put("endorsements/vector_example_com.endorse.sig", sig);

	t = trust_load(root, NULL, &err);
	ok(t && !err, "the reference's trust directory loads");
	is_str(trust_key(t, "vector@example.com"), VKEY, "an anchor's key, without its comment");
	ok(trust_key(t, "bob@example.com") == NULL, "no key for an identity only endorsed");
	ok(!trust_revoked(t, "bob@example.com"), "nothing revoked");
	p = trust_problems(t);
	ok(jv_array_length(p) == 0, "no problems");

	got = path_text(trust_path(t, "bob@example.com", "aws-iam", now, &why));
	is_str(got, "[\"vector@example.com\",\"bob@example.com\"]", "aws-iam: [vector, bob]");
	free(got);
	got = path_text(trust_path(t, "vector@example.com", "vec-skill", now, &why));
	is_str(got, "[\"vector@example.com\"]", "an anchor is its own path");
	free(got);

	p = trust_path(t, "bob@example.com", "gcp-iam", now, &why);
	ok(!jv_is_valid(p), "gcp-iam: no path");
	ok(why && !strncmp(why, "the endorsement of 'bob@example.com' by 'vector@example.com' (",
	    60) && strstr(why, "has scope 'aws-*', which does not match 'gcp-iam'"),
	    "why is the reason alone, naming the hop: %s", why ? why : "(null)");
	jv_free(p);
	free(why);

	p = trust_path(t, "bob@example.com", "aws-iam", 4070908800, &why);
	ok(!jv_is_valid(p) && why && strstr(why, "expired on 2099-01-01T00:00:00Z"),
	    "expires <= now: absent, and said so");
	jv_free(p);
	free(why);

	p = trust_path(t, "*@example.com", "aws-iam", now, &why);
	ok(!jv_is_valid(p) && why && strstr(why, "no one endorses"), "identities are not patterns");
	jv_free(p);
	free(why);
	p = trust_path(t, "bob @example.com", "aws-iam", now, &why);
	ok(!jv_is_valid(p) && why, "an identity with a space has no path");
	jv_free(p);
	free(why);
	trust_free(t);

	/* one byte changed after signing: left out, listed */
	put("endorsements/vector_example_com.endorse", "endorsements:\n"
	    "- expires: '2099-01-01T00:00:00+00:00'\n  identity: bob@example.com\n"
	    "  reason: test vector\n  scope: '*'\n  trust_level: full\n"
	    "endorser: vector@example.com\nsigned_at: '2026-01-01T00:00:00+00:00'\n");
	t = trust_load(root, NULL, &err);
	p = trust_problems(t);
	ok(jv_array_length(jv_copy(p)) == 1, "a tampered endorsement is a problem");
	jv_free(p);
	p = trust_path(t, "bob@example.com", "aws-iam", now, &why);
	ok(!jv_is_valid(p), "and gives no path");
	jv_free(p);
	free(why);
	trust_free(t);

	t = trust_load(root, "/nonexistent/anchors", &err);
	p = trust_problems(t);
	ok(t && jv_array_length(p) == 2, "a missing built-in anchors file is listed too");
	trust_free(t);
	{
		char *cmd = NULL;

		if (asprintf(&cmd, "/bin/rm -rf '%s'", root) > 0 && system(cmd) != 0)
			printf("# could not remove %s\n", root);
		free(cmd);
	}
	free(sub);
	return t_done();
}
