/* fuzz_sshsig: a signature (armored, or its binary armored here) and a public key line */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "sshsig.h"

static const char KEY[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl";
static const char BEGIN[] = "-----BEGIN SSH SIGNATURE-----";

static void
verify(const char *sig, size_t n)
{
	char *err = NULL;

	sshsig_verify(sig, n, "x", 1, "mallcop-skill", KEY, &err);
	free(err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *type = NULL, *b64 = NULL, *comment = NULL, *err = NULL, *fp;

	memcpy(s, data, size);
	s[size] = 0;
	if (sshsig_pubkey_parse(s, &type, &b64, &comment, &err) == 0) {
		fp = sshsig_fingerprint(s);
		free(fp);
	}
	free(type), free(b64), free(comment), free(err);
	if (size >= sizeof BEGIN - 1 && !memcmp(data, BEGIN, sizeof BEGIN - 1)) {
		verify(s, size);
	} else if (size < 65536) {
		/* the binary inside: the wire format's parser */
		char *a = malloc((size + 2) / 3 * 4 + 100);
		int m = sprintf(a, "%s\n", BEGIN);

		m += EVP_EncodeBlock((unsigned char *)a + m, data, (int)size);
		m += sprintf(a + m, "\n-----END SSH SIGNATURE-----\n");
		verify(a, (size_t)m);
		free(a);
	}
	free(s);
	return 0;
}
