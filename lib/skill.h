/* skill: signed directories of domain knowledge the actors load (mallcop.7, SKILLS; mallcop-skill.1) */
#ifndef MALLCOP_SKILL_H
#define MALLCOP_SKILL_H
#include <stddef.h>
#include <time.h>
#include <jv.h>

/* what a skill may hold: more is refused, never cut short */
enum {
	SKILL_MAX_FILE = 1 << 20,	/* one file */
	SKILL_MAX_TOTAL = 4 << 20,	/* the whole directory */
	SKILL_MAX_FILES = 256,
	SKILL_MAX_DEPTH = 8,
	SKILL_TEXT_MAX = 32768,		/* of the text a model is given (parents included) */
	SKILL_NAME_MAX = 128,
};

/* 1 when name is a skill name: [a-z0-9][a-z0-9._-]*, no "..", at most SKILL_NAME_MAX bytes */
int skill_name_ok(const char *name);

/* SKILL.md's front matter (the earlier implementation's keys) */
typedef struct skill_def {
	char *name, *description;	/* required, non-empty */
	char *version, *author, *parent, *tools;	/* NULL when absent */
	char *dir;
	const char *source;	/* in a skill_set: "built-in", "deployment", "skills-dir" */
} skill_def;

/*
 * Read DIR/SKILL.md: 0 and *s (and *body, the text after the front matter, when body is not
 * NULL); -1 and *err naming the file (and line) and what is wrong: no SKILL.md, no front
 * matter, a missing name or description, a name that is not [a-z0-9][a-z0-9._-]* ...
 */
int skill_manifest(const char *dir, skill_def *s, char **body, char **err);
void skill_def_free(skill_def *s);

/*
 * The signed content of DIR (every file below it but the top-level SKILL.md.sig, each as
 * "--- REL ---\n" + bytes, paths in the earlier implementation's order): malloc'd, 0; -1 and
 * *err for a symbolic link leading outside DIR, a file or a total over the limits above, a
 * name with a control character, anything unreadable.
 */
int skill_blob(const char *dir, char **blob, size_t *len, char **err);
/* lowercase hex SHA-256 of that blob (the skills.lock "sha256") into hex */
int skill_hash(const char *dir, char hex[65], char **err);
/* DIR/SKILL.md.sig (malloc'd; refused over 64 KB); NULL and *err NULL when there is none */
char *skill_sig_read(const char *dir, size_t *len, char **err);
/*
 * DIR's SKILL.md.sig over its blob, namespace "mallcop-skill", made by pubkey ("KEYTYPE
 * BASE64"): 0; -1 and *err saying why (no signature, another key, changed content...)
 */
int skill_verify(const char *dir, const char *pubkey, char **err);

/*
 * skills.lock: {NAME: {sha256, author, ...}}, the file's skills: map (a file too big is refused
 * before it is read). Absent: jv_null() and *err NULL. Unreadable or not a lock file (an
 * entry without sha256 included): jv_invalid() and *err. skill_lock_write replaces path
 * (store_replace; a file there that cannot be read is refused) with the earlier
 * implementation's YAML, keys sorted: skills (consumed) {NAME: {sha256, author}}, each entry
 * given expires: null, source: builtin, trust_chain: null and verified_at: now (quoted).
 */
jv skill_lock_read(const char *path, char **err);
int skill_lock_write(const char *path, jv skills, char **err);
/*
 * The skills of base (its subdirectories with a SKILL.md, each in the directory its name
 * gives) for skill_lock_write: {NAME: {sha256, author}}; *skipped the subdirectories without
 * SKILL.md. jv_invalid() and *err when one of them is not a valid skill (nothing is locked).
 */
jv skill_lock_make(const char *base, jv *skipped, char **err);

/*
 * The skills a run can load: the built-in ones (share/mallcop/skills), the deployment's
 * ROOT/skills/ and, when given, skills_dir; each directory with its own skills.lock; a name
 * found in more than one is taken from the first of skills_dir, the deployment, built-in.
 * Trust from trust_dir (NULL: ROOT/.mallcop/trust) and the built-in anchor. NULL and *err
 * when skills_dir is not there, or a skills directory or the trust directory is there but
 * cannot be read.
 */
typedef struct skill_set skill_set;
skill_set *skill_set_open(const char *root, const char *skills_dir, const char *trust_dir,
    char **err);
void skill_set_close(skill_set *ss);
/*
 * Every skill found, checked (those a directory earlier in the order above overrides are left
 * out): [{name, description, version, author, parent, source, dir, status, reason}], status
 * "valid", "invalid" (bad signature, a link leading outside, a file over the limits),
 * "unsigned", "untrusted" (no author, an author without a key, no trust path, revoked),
 * "not-in-lock" (no skills.lock, absent from it or changed since), "broken" (bad SKILL.md, a
 * directory named unlike its skill, a name twice in one directory, a parent missing or
 * refused, a cycle); reason says why (for a valid one: the signer and the trust path). The
 * checks run in that order: lock, signature, trust, parents.
 */
jv skill_set_list(skill_set *ss, time_t now);
/* [{name, description, parent}] of the skills that would load (what a model is offered) */
jv skill_set_catalogue(skill_set *ss, time_t now);
/*
 * Load one skill with every check, fail-closed: in its skills.lock with the same hash, a valid
 * signature by its author's key, a trust path from an anchor to the author for this name, its
 * parents the same (no cycle). {skill, status: "valid", context (parents' text first, without
 * control characters but newline and tab, capped at SKILL_TEXT_MAX; truncated: true when cut),
 * verified_by, trust_chain, parents (root first)} or {skill, status (as skill_set_list's, or
 * "not-found"), error} saying which check failed and why. A skill is checked once per set:
 * later calls give the same answer.
 */
jv skill_set_load(skill_set *ss, const char *name, time_t now);
#endif
