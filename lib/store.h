/* store: the deployment's .mallcop/ directory (mallcop.7, STORE) */
#ifndef MALLCOP_STORE_H
#define MALLCOP_STORE_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <jv.h>

#include "event.h"

typedef struct store {
	char *root;	/* the deployment directory */
	char *dir;	/* root/.mallcop */
	char *events;	/* root/.mallcop/events */
	int lockfd;
} store;

typedef struct store_file {
	char *path;
	char *source;	/* from SOURCE-YYYY-MM.jsonl; NULL when the name is not of that form */
	int month;	/* YYYYMM, 0 when unknown */
} store_file;

/* the deployment directory: dir, else $MALLCOP_DIR, else "." */
const char *store_root(const char *dir);
/* open the store of a deployment; create .mallcop/ when writing */
int store_open(store *s, const char *root, int write, char **err);
void store_close(store *s);
/*
 * Take the writer's lock, waiting at most wait_ms. 0 when held, 1 when another run holds it
 * (the message names its pid), -1 on error.
 */
int store_lock(store *s, long wait_ms, char **err);

/*
 * replace path with data: write a temporary file, fsync, rename, fsync the directory; a file
 * that is there but cannot be read is refused, left as it is
 */
int store_replace(const char *path, const void *data, size_t len, char **err);
/*
 * The same for a cache that is checked against what it describes when it is read (the
 * findings index): not synced to disk, for a crash that loses or tears it costs only its
 * making again
 */
int store_replace_cache(const char *path, const void *data, size_t len, char **err);
/*
 * append data to path (made when absent) and fsync; *at (when given) is where it starts. On an
 * error nothing of it stays: the file is cut back to its size before.
 */
int store_append(const char *path, const void *data, size_t len, off_t *at, char **err);
/* a whole file, NUL-terminated; NULL with errno set */
char *store_slurp(const char *path, size_t *len);
/*
 * Reading the store's state (findings, baseline, checkpoints, costs, feedback...): absent and
 * unreadable are told apart, for a file that cannot be read must never be taken for an empty
 * one and then replaced. store_read: the whole file; NULL with *err NULL when it is absent,
 * NULL with *err ("cannot read 'PATH': REASON") when it is there but cannot be read (no
 * permission, a directory). store_fopen: the same, opened for reading; store_fclose closes it
 * and says, the same way, whether every read succeeded.
 */
char *store_read(const char *path, size_t *len, char **err);
FILE *store_fopen(const char *path, char **err);
int store_fclose(FILE *f, const char *path, char **err);

/*
 * Appending events: add normalized events one by one (ids the store already holds are
 * skipped), then commit, which fsyncs them. On an error nothing of the batch stays: every
 * file is cut back to its size before the batch. The caller holds the lock.
 */
typedef struct store_writer store_writer;
store_writer *store_writer_new(store *s);
/* e is consumed; 1 added, 0 already stored, -1 error */
int store_writer_add(store_writer *w, jv e, char **err);
/* the same for an event already printed: line (n bytes, no newline) with what e says of it */
int store_writer_put(store_writer *w, const event_line *e, const char *line, size_t n,
    char **err);
int store_writer_commit(store_writer *w, char **err);
void store_writer_abort(store_writer *w);

/* connector checkpoints: {name: {updated_at, value}} */
jv store_checkpoints(store *s, char **err);
int store_save_checkpoints(store *s, jv cps, char **err);

/*
 * event files, sorted by name; from_month limits to files that may hold later events. None
 * and *err when the events directory is there but cannot be read (err NULL: none then).
 */
size_t store_event_files(store *s, int from_month, store_file **out, char **err);
void store_files_free(store_file *f, size_t n);
/*
 * Each event of a file in order (fn owns ev and returns non-zero to stop), skipping without
 * parsing them the events older than since (0: none). Legacy markers are removed. text is the
 * stored line without its newline, or NULL when ev is not what it says (markers removed, or a
 * NUL byte in the line).
 * -1 with errno when the file cannot be read.
 */
typedef int (*store_event_fn)(jv ev, const char *text, void *arg);
int store_each_event(const store_file *f, int64_t since, store_event_fn fn, void *arg,
    size_t *skipped);
/* stored records in a file (complete lines that hold an object), counted without parsing */
long store_count_lines(const store_file *f);
/*
 * every finding in .mallcop/findings.jsonl, an array (empty when there is no file); malformed
 * lines are counted. jv_invalid() and *err when the file is there but cannot be read.
 */
jv store_findings(store *s, size_t *skipped, char **err);
#endif
