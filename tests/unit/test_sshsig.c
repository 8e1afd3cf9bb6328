/* sshsig: SSHSIG verify against fixed vectors (ssh-keygen's), public keys, fingerprints, and
 * signing; with arguments it is the tool tests/sshsig.bats drives:
 *   test_sshsig sign KEY NS < MSG > SIG      test_sshsig verify SIG NS PUBFILE < MSG
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "sshsig.h"
#include "store.h"
#include "t.h"
#include "util.h"

/* PROTOCOL.sshsig vectors made for the earlier implementation (reference Appendix A.2) */
static const char VPUB[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl vector@example.com";
static const char VFP[] = "SHA256:Hk1IrPwk/ipgf4ejmMx8e2bx3gA28sYAXstmq6rusXQ";
static const char VSKILL[] = "--- SKILL.md ---\n---\nname: vec-skill\ndescription: test vector\n"
	"author: vector@example.com\n---\nBody line.\n--- sub/a.txt ---\nx\n--- tools.py ---\n";
static const char VSKILLSIG[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgNDvw42Oy/3MOBD3SeMw+RocNN6\n"
	"G+moX/in5hLaTkMaUAAAANbWFsbGNvcC1za2lsbAAAAAAAAAAGc2hhNTEyAAAAUwAAAAtz\n"
	"c2gtZWQyNTUxOQAAAEByWnv2FvBAq9TBbjvQEJn5wY9qIuCZ40n/2M4ie72Vd87eCijqyX\n"
	"oKxFLN4mUQ3YuHAEtXifKQhJceOvpIa30P\n"
	"-----END SSH SIGNATURE-----\n";
static const char VENDORSE[] = "endorsements:\n"
	"- expires: '2099-01-01T00:00:00+00:00'\n"
	"  identity: bob@example.com\n"
	"  reason: test vector\n"
	"  scope: aws-*\n"
	"  trust_level: full\n"
	"endorser: vector@example.com\n"
	"signed_at: '2026-01-01T00:00:00+00:00'\n";
static const char VENDORSESIG[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgNDvw42Oy/3MOBD3SeMw+RocNN6\n"
	"G+moX/in5hLaTkMaUAAAATbWFsbGNvcC1lbmRvcnNlbWVudAAAAAAAAAAGc2hhNTEyAAAA\n"
	"UwAAAAtzc2gtZWQyNTUxOQAAAEBMHbdvEmA/KUyiFOVwLNB/VGZfzeqQlZDacwdvNIfeDf\n"
	"Wc7/LYOmFyUjUNbdXJGr1kjWGptkG/eCZloGOUtGIE\n"
	"-----END SSH SIGNATURE-----\n";

/* made with ssh-keygen 9.2 (-Y sign -n test, sha512 unless -O hashalg=sha256) over KMSG */
static const char KMSG[] = "hello, world\n";
static const struct { const char *pub, *sig; } kvec[] = {
	{"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7FXyRtb8uIBg4OfywSRz4TwrpzX12UnPjLj7SZCV1UtkeusrbueUAFz5Y2OkTW07FWJwDlmqAGSEnU2ZVLe5o= ecdsab256@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAGgAAAATZWNkc2Etc2hhMi1uaXN0cDI1NgAAAAhuaXN0cDI1NgAAAE\n"
	"EEnsVfJG1vy4gGDg5/LBJHPhPCunNfXZSc+MuPtJkJXVS2R66ytu55QAXPljY6RNbTsVYn\n"
	"AOWaoAZISdTZlUt7mgAAAAR0ZXN0AAAAAAAAAAZzaGE1MTIAAABjAAAAE2VjZHNhLXNoYT\n"
	"ItbmlzdHAyNTYAAABIAAAAICqFJACNcCyzxxxIMYOdDm33zCDxYoRRKht+25w6df4PAAAA\n"
	"ICuTc7SNIWHAQXck8PipGMkfoxc2wwLnfw4FlqWnWQYQ\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7FXyRtb8uIBg4OfywSRz4TwrpzX12UnPjLj7SZCV1UtkeusrbueUAFz5Y2OkTW07FWJwDlmqAGSEnU2ZVLe5o= ecdsab256@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAGgAAAATZWNkc2Etc2hhMi1uaXN0cDI1NgAAAAhuaXN0cDI1NgAAAE\n"
	"EEnsVfJG1vy4gGDg5/LBJHPhPCunNfXZSc+MuPtJkJXVS2R66ytu55QAXPljY6RNbTsVYn\n"
	"AOWaoAZISdTZlUt7mgAAAAR0ZXN0AAAAAAAAAAZzaGEyNTYAAABjAAAAE2VjZHNhLXNoYT\n"
	"ItbmlzdHAyNTYAAABIAAAAIBAichW9hh80jfvGm6ilrkfJymfgPPy1ZnvKK50NWOJHAAAA\n"
	"IAnRspS8g55D6H5RfxS45svKbVrnjkO18thVem4mUFGw\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBE5oY7YHgDWy46/0R6o2ncNAMMamSqGpTMI0aBhLeibTPdMxv2sAwRf6mza7ryasBikuN3+fXvd5pOitFggaJ5fBFRn3vzQ0OMQpneh12lhEYTAJARHonxO0NzC+zh/JKQ== ecdsab384@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAIgAAAATZWNkc2Etc2hhMi1uaXN0cDM4NAAAAAhuaXN0cDM4NAAAAG\n"
	"EETmhjtgeANbLjr/RHqjadw0AwxqZKoalMwjRoGEt6JtM90zG/awDBF/qbNruvJqwGKS43\n"
	"f59e93mk6K0WCBonl8EVGfe/NDQ4xCmd6HXaWERhMAkBEeifE7Q3ML7OH8kpAAAABHRlc3\n"
	"QAAAAAAAAABnNoYTUxMgAAAIQAAAATZWNkc2Etc2hhMi1uaXN0cDM4NAAAAGkAAAAxAKdZ\n"
	"BAjYg2Dn0JDvM4JopGCiOz7dMjVaCN9giXicK8DarJ5SWPyGUUzA8Xui5wZj1gAAADBuZ5\n"
	"t+aRMX/YzghAJTf2gYS/UdwJe3ry1f9Cy3hun1FQkIechN3OO1wgZAF9xuLvY=\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAH6rEy0Lk5lIVeeywVgZxfjIVLRUVna4XyufQSDlKp7xv61TwbmwMHuMv8OMQ1v1TctR9dwHD+mZe1K+3eDmRr1RgD6h6hHb2i5EHTMEw9aHdkckPocVokLN4lWqb87A6X9t2YiI5QvzTZm+8aoMqnbiqLJHrrhiJAxsRV+pXjKjnBnGw== ecdsab521@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAKwAAAATZWNkc2Etc2hhMi1uaXN0cDUyMQAAAAhuaXN0cDUyMQAAAI\n"
	"UEAfqsTLQuTmUhV57LBWBnF+MhUtFRWdrhfK59BIOUqnvG/rVPBubAwe4y/w4xDW/VNy1H\n"
	"13AcP6Zl7Ur7d4OZGvVGAPqHqEdvaLkQdMwTD1od2RyQ+hxWiQs3iVapvzsDpf23ZiIjlC\n"
	"/NNmb7xqgyqduKoskeuuGIkDGxFX6leMqOcGcbAAAABHRlc3QAAAAAAAAABnNoYTUxMgAA\n"
	"AKcAAAATZWNkc2Etc2hhMi1uaXN0cDUyMQAAAIwAAABCAUbE3+DIMOu3pI4DrH7PbvHylE\n"
	"4FUopFJOZCb3jhmOuckDodGCBSQiogRfIppITbstaOr4Gh2O+LIWm2WTKYwDMcAAAAQgCO\n"
	"6P4nTxBQwwwnbl+JctDeKlo1FJdOiExH/UkPVFQEfS2pYnwAh1dstH2Q8Zb8TkBUnXtsh/\n"
	"3orO5QCOhH1zhQoA==\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDVfDTFWWdS9BM/Gxmx/YDPlmiB60ZgiMMKZDHQi/6fVf7mGv/CGZCpLBJ5J2WN6BHTsgXRVG6KTFHyKhANenP/r7mhJ7/IlIQHK3vke7/RQIh29uX43HnlbgKDcRUpyVLrwzKXCBtqB6nOheDZ34hTVA37WxiI70m2uTPmUo6gzsNeYdSn0DXyWdQZ+5laOQ3jdDOtjBM2NXiravxNkBaUUgAdtIHx1+q3W8dgGWs7kuG6Tn7xEbvunzOmGGcYVqwNMETPeNndRKIKD7dumWiytsQPtHQYHrJ9RSl6eZ6JZiJEGax9S99qeoPo+zKtA882DkHHQupo7sKvbNdErYdH rsab2048@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAARcAAAAHc3NoLXJzYQAAAAMBAAEAAAEBANV8NMVZZ1L0Ez8bGbH9gM\n"
	"+WaIHrRmCIwwpkMdCL/p9V/uYa/8IZkKksEnknZY3oEdOyBdFUbopMUfIqEA16c/+vuaEn\n"
	"v8iUhAcre+R7v9FAiHb25fjceeVuAoNxFSnJUuvDMpcIG2oHqc6F4NnfiFNUDftbGIjvSb\n"
	"a5M+ZSjqDOw15h1KfQNfJZ1Bn7mVo5DeN0M62MEzY1eKtq/E2QFpRSAB20gfHX6rdbx2AZ\n"
	"azuS4bpOfvERu+6fM6YYZxhWrA0wRM942d1EogoPt26ZaLK2xA+0dBgesn1FKXp5nolmIk\n"
	"QZrH1L32p6g+j7Mq0DzzYOQcdC6mjuwq9s10Sth0cAAAAEdGVzdAAAAAAAAAAGc2hhNTEy\n"
	"AAABFAAAAAxyc2Etc2hhMi01MTIAAAEASjrJQyrSVghxFLjhAEOCsn6B0bUwsRSQ1VDD2Y\n"
	"99wG0QAYHBcsZlpu/5sydvgLItbwc6tntMD0Gm3FRV+Bz9PvxDQhOdhz1dj2SrwnzhfrDh\n"
	"+f2MixECerBh1pPTy5GGs3TGpfj8WrAkYGPl60A+iQZ/Rix52L5tgEjVLFORQNekD1QK6B\n"
	"gGJWWhM0WwNYR4ltZtm6C3Ugz3tJKwmSEuD53hm97RsV7Qn47Z+ipi2jiz//f7gIGiHCvv\n"
	"hUTX9rsT9gEqbbJFu1hjHXyBTobWl1rpch+x1z9vHyVNgv6sm7JLnApyI6PHGpi+SnlkDY\n"
	"RwPUu+9OuzW6+upgeXzRvVpQ==\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDVfDTFWWdS9BM/Gxmx/YDPlmiB60ZgiMMKZDHQi/6fVf7mGv/CGZCpLBJ5J2WN6BHTsgXRVG6KTFHyKhANenP/r7mhJ7/IlIQHK3vke7/RQIh29uX43HnlbgKDcRUpyVLrwzKXCBtqB6nOheDZ34hTVA37WxiI70m2uTPmUo6gzsNeYdSn0DXyWdQZ+5laOQ3jdDOtjBM2NXiravxNkBaUUgAdtIHx1+q3W8dgGWs7kuG6Tn7xEbvunzOmGGcYVqwNMETPeNndRKIKD7dumWiytsQPtHQYHrJ9RSl6eZ6JZiJEGax9S99qeoPo+zKtA882DkHHQupo7sKvbNdErYdH rsab2048@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAARcAAAAHc3NoLXJzYQAAAAMBAAEAAAEBANV8NMVZZ1L0Ez8bGbH9gM\n"
	"+WaIHrRmCIwwpkMdCL/p9V/uYa/8IZkKksEnknZY3oEdOyBdFUbopMUfIqEA16c/+vuaEn\n"
	"v8iUhAcre+R7v9FAiHb25fjceeVuAoNxFSnJUuvDMpcIG2oHqc6F4NnfiFNUDftbGIjvSb\n"
	"a5M+ZSjqDOw15h1KfQNfJZ1Bn7mVo5DeN0M62MEzY1eKtq/E2QFpRSAB20gfHX6rdbx2AZ\n"
	"azuS4bpOfvERu+6fM6YYZxhWrA0wRM942d1EogoPt26ZaLK2xA+0dBgesn1FKXp5nolmIk\n"
	"QZrH1L32p6g+j7Mq0DzzYOQcdC6mjuwq9s10Sth0cAAAAEdGVzdAAAAAAAAAAGc2hhMjU2\n"
	"AAABFAAAAAxyc2Etc2hhMi01MTIAAAEADyPqvQ52mR48jLP/61qFIf7htBEevMRQBfboc0\n"
	"b2xGn04BJzzw27BLqdE8run5z04f6IQR2YbPUOM8xc/Aju1unFm5KjILRidXrzwnRsSg+v\n"
	"efJeBOJSdQuFQS9ApbIpDYz/dEUr86M1qeoujuLOCrfRO2TCgeYnl73l6oqU4xad0CsvEG\n"
	"/+UXyNM9aW5mwjcnG/VcSum0bXFeQHbhLl1HD6PHhXnJz2SZITHLkQlTGZ6M1/QNW8Xj8k\n"
	"DhMHU2pXdMaT0ax3r1URIaeGuhDjOQbBWjVZi7nzSGa4IF4fzoxb05XTuJBKDv7mF/qwaf\n"
	"u9gcTsnn99GqlgvDrc8gv6yg==\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAYUvJram5RynqQyCbDjjzU3QKgUXpEy79ebUnGj+9pG ed25519@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgBhS8mtqblHKepDIJsOOPNTdAqB\n"
	"RekTLv15tScaP72kYAAAAEdGVzdAAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQyNTUx\n"
	"OQAAAEBcCfvBaPpZOrtbgoYf7o2kRi1VcTFQd3vsrgw1eVRnEv4UgFPfuO7vevFUL5o/v4\n"
	"y1dI1WGMt4aJR4Eu6YRVQM\n"
	"-----END SSH SIGNATURE-----\n"},
};

/* the binary inside an armored signature (whose body is one base64 run once joined) */
static unsigned char *
unarmor(const char *sig, size_t *n)
{
	const char *b = strchr(sig, '\n') + 1, *e = strstr(b, "-----END");
	char *t = calloc(1, (size_t)(e - b) + 1);
	unsigned char *out = malloc((size_t)(e - b));
	size_t m = 0;
	int r;

	for (const char *p = b; p < e; p++)
		if (*p != '\n')
			t[m++] = *p;
	r = EVP_DecodeBlock(out, (unsigned char *)t, (int)m);
	*n = (size_t)r - (m && t[m - 1] == '=') - (m > 1 && t[m - 2] == '=');
	free(t);
	return out;
}

/* ssh-keygen's armor of a binary: base64 at 70 columns */
static char *
armor(const unsigned char *b, size_t n)
{
	char *t = malloc((n + 2) / 3 * 4 + 1), *out;
	size_t m, o = 0;

	m = (size_t)EVP_EncodeBlock((unsigned char *)t, b, (int)n);
	out = malloc(m + m / 70 + 100);
	o += (size_t)sprintf(out, "-----BEGIN SSH SIGNATURE-----\n");
	for (size_t i = 0; i < m; i += 70) {
		size_t l = m - i < 70 ? m - i : 70;

		memcpy(out + o, t + i, l);
		o += l;
		out[o++] = '\n';
	}
	strcpy(out + o, "-----END SSH SIGNATURE-----\n");
	free(t);
	return out;
}

/* sshsig_verify's message for sig over msg, or "ok" */
static char *
verdict(const char *sig, size_t siglen, const char *msg, const char *ns, const char *pub)
{
	char *err = NULL;

	if (sshsig_verify(sig, siglen, msg, strlen(msg), ns, pub, &err) == 0)
		return (free(err), xstrdup("ok"));
	return err ? err : xstrdup("(no reason)");
}

#define VERDICT(want, sig, siglen, msg, ns, pub, ...) do { \
	char *v_ = verdict(sig, siglen, msg, ns, pub); \
	is_str(v_, want, __VA_ARGS__); \
	free(v_); \
} while (0)

static void
vectors(void)
{
	size_t n = strlen(VSKILLSIG);

	VERDICT("ok", VSKILLSIG, n, VSKILL, "mallcop-skill", VPUB, "the vec-skill blob's signature");
	VERDICT("ok", VENDORSESIG, strlen(VENDORSESIG), VENDORSE, "mallcop-endorsement", VPUB,
	    "the endorsement's signature");
	VERDICT("signature is for namespace 'mallcop-skill', not 'mallcop-endorsement'", VSKILLSIG,
	    n, VSKILL, "mallcop-endorsement", VPUB, "another namespace is refused");
	VERDICT("signature is for namespace 'mallcop-endorsement', not 'mallcop-skill'",
	    VENDORSESIG, strlen(VENDORSESIG), VENDORSE, "mallcop-skill", VPUB,
	    "an endorsement signature is no skill signature");
	VERDICT("bad signature", VSKILLSIG, n, VENDORSE, "mallcop-skill", VPUB,
	    "a signature over another message");
	VERDICT("signed by another key (SHA256:Hk1IrPwk/ipgf4ejmMx8e2bx3gA28sYAXstmq6rusXQ)",
	    VSKILLSIG, n, VSKILL, "mallcop-skill", kvec[6].pub, "another key is refused");
	/* the terminating newline is not needed, and a CRLF file is the same signature */
	VERDICT("ok", VSKILLSIG, n - 1, VSKILL, "mallcop-skill", VPUB, "no final newline");
	{
		char crlf[1024], *o = crlf;

		for (const char *p = VSKILLSIG; *p; p++) {
			if (*p == '\n')
				*o++ = '\r';
			*o++ = *p;
		}
		VERDICT("ok", crlf, (size_t)(o - crlf), VSKILL, "mallcop-skill", VPUB, "CRLF lines");
	}
}

static void
one_byte_changes(void)
{
	char msg[sizeof VSKILL];
	size_t n, bad = 0, passed = 0;
	unsigned char *bin = unarmor(VSKILLSIG, &n);

	for (size_t i = 0; i < sizeof VSKILL - 1; i++) {
		char *err = NULL;

		memcpy(msg, VSKILL, sizeof VSKILL);
		msg[i] ^= 1;
		if (sshsig_verify(VSKILLSIG, strlen(VSKILLSIG), msg, sizeof VSKILL - 1,
		    "mallcop-skill", VPUB, &err) == 0 || !err || strcmp(err, "bad signature"))
			bad++;
		free(err);
	}
	ok(bad == 0, "every one-bit change of the message: bad signature (%zu not)", bad);
	bad = 0;
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			char *s, *err = NULL;

			bin[i] ^= 1 << bit;
			s = armor(bin, n);
			if (sshsig_verify(s, strlen(s), VSKILL, sizeof VSKILL - 1, "mallcop-skill",
			    VPUB, &err) == 0)
				passed++;
			else if (!err || !*err)
				bad++;
			free(err);
			free(s);
			bin[i] ^= 1 << bit;
		}
	}
	ok(passed == 0 && bad == 0, "every one-bit change of the signature is refused with a reason "
	    "(%zu verified, %zu without reason)", passed, bad);
	/* the last byte is inside the Ed25519 signature itself */
	bin[n - 1] ^= 0x80;
	{
		char *s = armor(bin, n);

		VERDICT("bad signature", s, strlen(s), VSKILL, "mallcop-skill", VPUB,
		    "a changed signature byte: bad signature");
		free(s);
	}
	free(bin);
}

static void
truncations(void)
{
	size_t n, wrong = 0;
	unsigned char *bin = unarmor(VSKILLSIG, &n);
	size_t sl = strlen(VSKILLSIG);

	ok(n == 183, "the vector's binary is 183 bytes (%zu)", n);
	for (size_t l = 1; l < n; l++) {
		char *s = armor(bin, l), *err = NULL;

		if (sshsig_verify(s, strlen(s), VSKILL, sizeof VSKILL - 1, "mallcop-skill", VPUB,
		    &err) == 0 || !err || strcmp(err, "truncated signature"))
			wrong++, printf("# at %zu: %s\n", l, err ? err : "(verified)");
		free(err);
		free(s);
	}
	ok(wrong == 0, "the binary cut at every length: truncated signature");
	wrong = 0;
	for (size_t l = 0; l < sl - 1; l++) {
		char *err = NULL;

		if (sshsig_verify(VSKILLSIG, l, VSKILL, sizeof VSKILL - 1, "mallcop-skill", VPUB,
		    &err) == 0 || !err || !*err)
			wrong++;
		free(err);
	}
	ok(wrong == 0, "the text cut at every length is refused with a reason");
	{
		/* a length field far past the end */
		unsigned char big[200];
		char *s;

		memcpy(big, bin, n);
		big[10] = 0xff;
		s = armor(big, n);
		VERDICT("truncated signature", s, strlen(s), VSKILL, "mallcop-skill", VPUB,
		    "a length past the end");
		free(s);
		memcpy(big, bin, n);
		big[n] = 0;
		s = armor(big, n + 1);
		VERDICT("not an SSH signature: data after its signature", s, strlen(s), VSKILL,
		    "mallcop-skill", VPUB, "a byte after the signature");
		free(s);
		memcpy(big, bin, n);
		big[9] = 2;
		s = armor(big, n);
		VERDICT("unsupported signature version 2", s, strlen(s), VSKILL, "mallcop-skill",
		    VPUB, "version 2");
		free(s);
	}
	free(bin);
	VERDICT("not an SSH signature: no -----BEGIN SSH SIGNATURE----- line", "garbage", 7, VSKILL,
	    "mallcop-skill", VPUB, "garbage");
	VERDICT("not an SSH signature: no -----BEGIN SSH SIGNATURE----- line", "", 0, VSKILL,
	    "mallcop-skill", VPUB, "empty");
	{
		static const char nb[] = "-----BEGIN SSH SIGNATURE-----\nU1N*SU\n-----END SSH SIGNATURE-----\n";

		VERDICT("not an SSH signature: its body is not base64", nb, strlen(nb), VSKILL,
		    "mallcop-skill", VPUB, "not base64");
	}
}

static void
pubkeys(void)
{
	char *type = NULL, *b64 = NULL, *comment = NULL, *err = NULL, *fp;

	ok(sshsig_pubkey_parse(VPUB, &type, &b64, &comment, &err) == 0, "the vector key parses");
	is_str(type, "ssh-ed25519", "its type");
	is_str(b64, "AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl", "its key");
	is_str(comment, "vector@example.com", "its comment");
	free(type), free(b64), free(comment);
	fp = sshsig_fingerprint(VPUB);
	is_str(fp, VFP, "its fingerprint is ssh-keygen -l's");
	free(fp);
	fp = sshsig_fingerprint("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl");
	is_str(fp, VFP, "without a comment too");
	free(fp);
	ok(sshsig_fingerprint("nonsense") == NULL, "no fingerprint of a non-key");
	comment = (char *)"x";
	ok(sshsig_pubkey_parse("  ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl\n",
	    NULL, NULL, &comment, &err) == 0 && comment == NULL, "no comment: NULL");
	for (size_t i = 0; i < sizeof kvec / sizeof *kvec; i++) {
		ok(sshsig_pubkey_parse(kvec[i].pub, &type, NULL, NULL, &err) == 0,
		    "%.20s parses", kvec[i].pub);
		free(type);
	}

	static const struct {
		const char *line, *want;
	} bad[] = {
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAA\n",
		    "a private key where a public key is expected"},
		{"", "not an SSH public key: the line is empty"},
		{"hello world", "not an SSH public key: unsupported key type 'hello' (ssh-ed25519, "
		    "ecdsa-sha2-nistp256/384/521 or ssh-rsa)"},
		{"ssh-ed25519", "not an SSH public key: the key after its type is not base64"},
		{"ssh-ed25519 AAAA*AAA", "not an SSH public key: the key after its type is not base64"},
		{"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl",
		    "not an SSH public key: the key is not of its stated type 'ssh-rsa'"},
		{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAHzQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl",
		    "not an SSH public key: its fields are not a valid key of its type"},
		{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl",
		    "not an SSH public key: truncated key"},
		/* a P-256 key whose point is off the curve (its last byte changed) */
		{"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7FXyRtb8uIBg4OfywSRz4TwrpzX12UnPjLj7SZCV1UtkeusrbueUAFz5Y2OkTW07FWJwDlmqAGSEnU2ZVLe5s=",
		    "not an SSH public key: its fields are not a valid key of its type"},
		/* a P-256 key that says it is P-384 */
		{"ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7FXyRtb8uIBg4OfywSRz4TwrpzX12UnPjLj7SZCV1UtkeusrbueUAFz5Y2OkTW07FWJwDlmqAGSEnU2ZVLe5o=",
		    "not an SSH public key: the key is not of its stated type 'ecdsa-sha2-nistp384'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err = NULL;
		type = (char *)"unset";
		ok(sshsig_pubkey_parse(bad[i].line, &type, NULL, NULL, &err) == -1,
		    "refused: '%.30s'", bad[i].line);
		is_str(err, bad[i].want, "why");
		free(err);
	}

	char path[] = "/tmp/test_sshsig.XXXXXX";
	int fd = mkstemp(path);

	dprintf(fd, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAA\n"
	    "-----END OPENSSH PRIVATE KEY-----\n");
	close(fd);
	err = NULL;
	ok(sshsig_pubkey_load(path, &type, NULL, NULL, &err) == -1 && err &&
	    strstr(err, "a private key where a public key is expected") && strstr(err, path),
	    "a private key file where the .pub is expected: %s", err ? err : "");
	free(err);
	fd = open(path, O_WRONLY | O_TRUNC);
	dprintf(fd, "# a comment\n\n%s\n", VPUB);
	close(fd);
	ok(sshsig_pubkey_load(path, &type, &b64, &comment, &err) == 0 &&
	    streq(comment, "vector@example.com"), "a .pub file's first key line");
	free(type), free(b64), free(comment);
	unlink(path);
	err = NULL;
	ok(sshsig_pubkey_load(path, &type, NULL, NULL, &err) == -1 && err && strstr(err, path) &&
	    strstr(err, "No such file"), "a missing file: %s", err ? err : "");
	free(err);
}

static void
key_types(void)
{
	for (size_t i = 0; i < sizeof kvec / sizeof *kvec; i++) {
		size_t n = strlen(kvec[i].sig), bn;
		char msg[sizeof KMSG];
		unsigned char *bin;
		char *s;

		VERDICT("ok", kvec[i].sig, n, KMSG, "test", kvec[i].pub, "%.20s: ssh-keygen's "
		    "signature (%s)", kvec[i].pub, i == 1 || i == 5 ? "sha256" : "sha512");
		memcpy(msg, KMSG, sizeof KMSG);
		msg[3] ^= 4;
		VERDICT("bad signature", kvec[i].sig, n, msg, "test", kvec[i].pub,
		    "%.20s: another message", kvec[i].pub);
		VERDICT("signature is for namespace 'test', not 'other'", kvec[i].sig, n, KMSG,
		    "other", kvec[i].pub, "%.20s: another namespace", kvec[i].pub);
		bin = unarmor(kvec[i].sig, &bn);
		bin[bn - 2] ^= 1;
		s = armor(bin, bn);
		VERDICT("bad signature", s, strlen(s), KMSG, "test", kvec[i].pub,
		    "%.20s: a changed signature", kvec[i].pub);
		free(s);
		free(bin);
	}
}

static char *
read_all(FILE *f, size_t *n)
{
	char *b = NULL;
	size_t cap = 0, r;

	*n = 0;
	do {
		if (cap - *n < 4096)
			b = xrealloc(b, cap = cap * 2 + 4096);
		r = fread(b + *n, 1, cap - *n - 1, f);
		*n += r;
	} while (r > 0);
	b[*n] = 0;
	return b;
}

/* the tool mode: sign KEY NS, verify SIG NS PUBFILE; the message on stdin */
static int
tool(int argc, char **argv)
{
	size_t n, sn;
	char *msg = read_all(stdin, &n), *err = NULL, *sig, *pub = NULL;
	int r = 1;

	if (argc == 4 && streq(argv[1], "sign")) {
		if ((sig = sshsig_sign(argv[2], argv[3], msg, n, &sn, &pub, &err))) {
			fwrite(sig, 1, sn, stdout);
			fprintf(stderr, "signer: %s\n", pub);
			free(sig);
			r = 0;
		}
	} else if (argc == 5 && streq(argv[1], "verify")) {
		char *pubkey;

		if (!(sig = store_slurp(argv[2], &sn)))
			err = xasprintf("cannot read '%s'", argv[2]);
		else if (sshsig_pubkey_load(argv[4], NULL, NULL, NULL, &err) == 0) {
			pubkey = store_slurp(argv[4], NULL);
			r = sshsig_verify(sig, sn, msg, n, argv[3], pubkey, &err) == 0 ? 0 : 1;
			free(pubkey);
		}
		free(sig);
	} else {
		fprintf(stderr, "usage: test_sshsig [sign KEY NS | verify SIG NS PUBFILE] < MSG\n");
		r = 2;
	}
	if (err)
		fprintf(stderr, "test_sshsig: %s\n", err);
	free(err);
	free(pub);
	free(msg);
	return r;
}

int
main(int argc, char **argv)
{
	if (argc > 1)
		return tool(argc, argv);
	vectors();
	one_byte_changes();
	truncations();
	pubkeys();
	key_types();
	return t_done();
}
