/* trust: the trust web that decides whose skills load (mallcop.7, TRUST; mallcop-trust.1) */
#ifndef MALLCOP_TRUST_H
#define MALLCOP_TRUST_H
#include <time.h>
#include <jv.h>

/*
 * A trust directory (default DEPLOYMENT/.mallcop/trust) as the earlier implementation laid it
 * out: anchors and keyring ("IDENTITY KEYTYPE BASE64" lines), endorsements/NAME.endorse (YAML)
 * each with NAME.endorse.sig (SSHSIG, namespace "mallcop-endorsement"), and ours:
 * revocations/NAME.revoke with NAME.revoke.sig (namespace "mallcop-revocation"), signed by
 * an anchor. The built-in anchor (share/mallcop/trust/anchors, the maintainers' key) is
 * always an anchor as well.
 */
#define TRUST_NS_SKILL "mallcop-skill"
#define TRUST_NS_ENDORSE "mallcop-endorsement"
#define TRUST_NS_REVOKE "mallcop-revocation"

typedef struct trust trust;

/*
 * Load dir (absent = empty) and the built-in anchors file builtin (NULL: none). Every
 * endorsement and revocation is checked here: a file that is unsigned, signed by a key not
 * in the web, edited after signing or malformed is left out and listed in trust_problems.
 * NULL and *err only when something there cannot be read (never taken for empty).
 */
trust *trust_load(const char *dir, const char *builtin, char **err);
void trust_free(trust *t);
/* [{file, error}]: what trust_load left out and why (a copy) */
jv trust_problems(const trust *t);
/* the key of identity ("KEYTYPE BASE64"): the keyring's, else an anchor's; NULL; borrowed */
const char *trust_key(const trust *t, const char *identity);
/* 1 when identity (or its key) is revoked */
int trust_revoked(const trust *t, const char *identity);

/*
 * The trust path from an anchor to identity for the skill name skill (identities compared
 * exactly; every hop's scope must match skill; an "author" endorsement ends a path; an
 * endorsement with expires <= now is absent; a revoked identity is absent; an anchor is its own
 * path [A]): an array of identities, shortest first found. When there is none, jv_invalid()
 * and *why (malloc'd) says which hop is missing, expired, out of scope or revoked.
 */
jv trust_path(const trust *t, const char *identity, const char *skill, time_t now, char **why);
/* {anchors: [{identity, fingerprint, source}], keyring: [...], endorsements: {ENDORSER: [...]},
 *  revocations: [...], problems: [...]} for `mallcop trust list` */
jv trust_list(const trust *t);
#endif
