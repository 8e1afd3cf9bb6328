/* finding: findings.jsonl: looking findings up, changing them safely, showing them */
#ifndef MALLCOP_FINDING_H
#define MALLCOP_FINDING_H
#include <stdio.h>
#include <jv.h>

#include "store.h"

/* the finding with this id in all (borrowed), or jv_invalid() */
jv finding_get(jv all, const char *id);
/* critical 2, warn 1, info 0, anything else -1 */
int finding_rank(const char *severity);
/* an annotation record: {actor, timestamp (now), content, action, reason (null when NULL)} */
jv finding_annotation(const char *actor, const char *content, const char *action,
    const char *reason);
/* f (consumed) with the annotation (consumed) at the end of its trail */
jv finding_annotate(jv f, jv annotation);
/* rewrite findings.jsonl with all (consumed): temporary file, fsync, rename */
int finding_save(store *s, jv all, char **err);

/*
 * Change one finding: under the writer lock (taken here, waiting at most wait_ms), read the
 * findings afresh, call fn on the finding (consumed; fn returns the changed one, or an invalid
 * value with a message to refuse), save. So a change made while mallcop-detect writes is
 * neither lost nor loses detect's. 0 and *out = the changed finding; 1 not found; 75 locked;
 * -1 refused or failed, with *err.
 */
typedef jv (*finding_fn)(jv f, void *arg);
int finding_change(store *s, const char *id, long wait_ms, finding_fn fn, void *arg, jv *out,
    char **err);

/*
 * findings.jsonl is a log: mallcop-detect appends the findings a pass made or changed, and the
 * last record of an id is the finding (store_findings reads it so); the log is compacted when
 * most of it is replaced records. The open findings are found through an index,
 * findings.index.json, a cache made again from the log whenever it does not describe it.
 * The caller holds the writer lock.
 */
typedef struct finding_log finding_log;
finding_log *finding_log_open(store *s, char **err);
/* the open finding of detector and fingerprint as stored, or jv_invalid() (*err on failure) */
jv finding_log_get(finding_log *l, const char *detector, const char *fingerprint, char **err);
/* append the findings of list (consumed), fsync, and keep the index up to date */
int finding_log_append(finding_log *l, jv list, char **err);
void finding_log_close(finding_log *l);

/*
 * the events of a finding in the finding's order (the order they were seen); ids consumed.
 * jv_invalid() and *err when an event file cannot be read (err NULL: what can be read).
 */
jv finding_events(store *s, jv ids, char **err);

/* --human: a finding (borrowed) as a few lines (title, severity, status, detector, time,
 * annotations), every string from outside escaped */
void finding_print(FILE *f, jv finding, int annotations);
#endif
