/* sshsig: OpenSSH SSHSIG signatures (PROTOCOL.sshsig), verified and made with OpenSSL */
#ifndef MALLCOP_SSHSIG_H
#define MALLCOP_SSHSIG_H
#include <stddef.h>

/*
 * Public keys are handled as their one-line text, "KEYTYPE BASE64 [COMMENT]" (an
 * authorized_keys / .pub line): ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa.
 */

/*
 * Parse a public key line: 0 and *type / *b64 (malloc'd; either may be NULL when not wanted)
 * and *comment (malloc'd, NULL when none; may be NULL) when it is one of the key types above
 * and its blob decodes and agrees with its type (an ECDSA point on its curve, RSA of 1024 bits
 * or more); -1 and *err ("not an SSH public key: ..."; "a private key where a public key is
 * expected") otherwise.
 */
int sshsig_pubkey_parse(const char *line, char **type, char **b64, char **comment, char **err);
/* a public key file's first key line, parsed as above; err names the file */
int sshsig_pubkey_load(const char *path, char **type, char **b64, char **comment, char **err);
/* "SHA256:..." as ssh-keygen -l prints it, of a "KEYTYPE BASE64" key; NULL when not a key */
char *sshsig_fingerprint(const char *pubkey);

/*
 * Verify an armored signature (sig, siglen: the text of a .sig file) over msg: magic, version
 * 1, the namespace equal to ns, hash sha256 or sha512, the key inside the signature the same
 * key as pubkey ("KEYTYPE BASE64 ..."), and the signature itself (Ed25519; ECDSA with the
 * curve's hash; RSA as rsa-sha2-256 or rsa-sha2-512, never the legacy SHA-1 ssh-rsa). 0 when
 * valid; -1 and *err (malloc'd) when not, saying why: "signature is for namespace 'x', not
 * 'y'", "signed by another key (SHA256:...)", "bad signature", "truncated signature", "legacy
 * ssh-rsa (SHA-1) signature refused", "not an SSH signature: ...", "unsupported hash
 * algorithm 'x' ...", "the trusted key: ..." (pubkey is no key). Never runs another program.
 */
int sshsig_verify(const char *sig, size_t siglen, const void *msg, size_t msglen,
    const char *ns, const char *pubkey, char **err);

/*
 * Sign msg for namespace ns with the private key file keypath, sha512: the armored signature
 * as ssh-keygen -Y sign writes it (malloc'd, *siglen set; byte for byte ssh-keygen's for
 * ed25519 and RSA, which are deterministic), or NULL and *err. An unencrypted OpenSSH private
 * key (ed25519, ECDSA, RSA: rsa-sha2-512) is signed natively; an encrypted one, a FIDO (sk-)
 * key, a PEM private key, or a .pub whose private half is in ssh-agent goes through
 * `ssh-keygen -Y sign` in a private temporary directory (its passphrase asked on /dev/tty or
 * through SSH_ASKPASS; its messages in *err when it fails), with the same output. *pubkey
 * (when not NULL) is the signer's public key line "KEYTYPE BASE64" (malloc'd). No message
 * holds key material; private key buffers are cleared after use.
 */
char *sshsig_sign(const char *keypath, const char *ns, const void *msg, size_t msglen,
    size_t *siglen, char **pubkey, char **err);
#endif
