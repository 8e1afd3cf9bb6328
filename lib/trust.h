/* trust: the trust web that decides whose skills load (mallcop.7, TRUST; mallcop-trust.1) */
#ifndef MALLCOP_TRUST_H
#define MALLCOP_TRUST_H
#include <stdint.h>
#include <time.h>
#include <jv.h>

/*
 * A trust directory (default DEPLOYMENT/.mallcop/trust) as the earlier implementation laid it
 * out: anchors and keyring ("IDENTITY KEYTYPE BASE64" lines), endorsements/NAME.endorse (YAML)
 * each with NAME.endorse.sig (SSHSIG, namespace "mallcop-endorsement"), and ours:
 * revocations/NAME.revoke with NAME.revoke.sig (namespace "mallcop-revocation"), signed by
 * an anchor. The built-in anchor (share/mallcop/trust/anchors, the maintainers' key) is
 * always an anchor as well.
 *
 * One identity has one key: the first line that names it (built-in anchors, then anchors,
 * then keyring) gives it; a later line with another key is left out and listed in
 * trust_problems. Identities are compared exactly, never as patterns.
 */
#define TRUST_NS_SKILL "mallcop-skill"
#define TRUST_NS_ENDORSE "mallcop-endorsement"
#define TRUST_NS_REVOKE "mallcop-revocation"

typedef struct trust trust;

/* 1 when id can be an identity: not empty, no whitespace, no control character */
int trust_identity_ok(const char *id);

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
/* the key of identity ("KEYTYPE BASE64"): the one key the web holds for it; NULL; borrowed */
const char *trust_key(const trust *t, const char *identity);
/* 1 when identity (or its key) is revoked */
int trust_revoked(const trust *t, const char *identity);

/*
 * The trust path from an anchor to identity for the skill name skill (identities compared
 * exactly; every hop's scope must match skill, fnmatch without escapes; an "author"
 * endorsement ends a path; an endorsement with expires <= now is absent; a revoked identity
 * is absent; an anchor is its own path [A]): an array of identities, shortest first found.
 * When there is none, jv_invalid() and *why (malloc'd), the reason alone, hop by hop ("the
 * endorsement of 'b' by 'a' (FILE) has scope 'aws-*', which does not match 'gcp-iam'"):
 * which hop is missing, expired, out of scope or revoked.
 */
jv trust_path(const trust *t, const char *identity, const char *skill, time_t now, char **why);
/*
 * {anchors: [{identity, key, fingerprint, source ("built-in", "trust-dir"), file, line}],
 *  keyring: [...], endorsements: {ENDORSER: [{identity, trust_level, scope, reason, expires,
 *  file}]}, revocations: [{revoker, identity or key, reason, revoked_at, file}], problems}
 * for `mallcop trust list`
 */
jv trust_list(const trust *t);

/*
 * The changes `mallcop trust` makes to dir (created when absent), under a lock on it, each
 * file replaced atomically. Each returns an object saying what was done, or jv_invalid with a
 * message (naming the file and the fix) and nothing changed.
 *
 * trust_add: identity with the public key in pubfile into dir/anchors (anchor) or
 * dir/keyring. {identity, key, fingerprint, file, added}: added false when the identity is
 * already there with that key; an identity there with another key is refused.
 */
jv trust_add(const char *dir, const char *builtin, int anchor, const char *identity,
    const char *pubfile);
/*
 * endorser (NULL: the comment of keypath's .pub) endorses identity for skills matching scope
 * at level ("full", "author") until expires (microseconds): the entry is added to the
 * endorser's file (one that endorses the same identity for the same scope is replaced) and
 * the whole file signed again with keypath, which must be the endorser's key in the web.
 */
jv trust_endorse(const char *dir, const char *builtin, const char *keypath, const char *endorser,
    const char *identity, const char *scope, const char *level, int64_t expires,
    const char *reason, int64_t now);
/*
 * revoker (NULL: from keypath's .pub; an anchor) revokes identity, or when pubkey is not NULL
 * the key "KEYTYPE BASE64" (and so every identity holding it), in its signed revocations file.
 */
jv trust_revoke(const char *dir, const char *builtin, const char *keypath, const char *revoker,
    const char *identity, const char *pubkey, const char *reason, int64_t now);
#endif
