/* cron: the user's crontab, read and installed through the crontab program, in marked blocks */
#ifndef MALLCOP_CRON_H
#define MALLCOP_CRON_H

/*
 * Run argv (argv[0] looked up on PATH) to its end with input on its stdin (NULL: none): its
 * exit status, with what it wrote in *out and *errtext (malloc'd, NUL-terminated; either may be
 * NULL when not wanted); -1 and *err when it could not run.
 */
int cron_exec(char *const argv[], const char *input, char **out, char **errtext, char **err);
/* the crontab program: $MALLCOP_CRONTAB when set, else crontab */
const char *cron_program(void);
/*
 * The lock every change of this user's crontab is made under (a file of the user's, opened
 * without following a link): its descriptor, held until closed; -1 and *err when it cannot be
 * taken, *busy set when another run held it for longer than wait_ms.
 */
int cron_lock(long wait_ms, int *busy, char **err);
/* the user's crontab as crontab -l gives it ("" when there is none); NULL and *err otherwise */
char *cron_read(char **err);
/* install text as the user's crontab (crontab -); -1 and *err when it was refused */
int cron_install(const char *text, char **err);
/*
 * word as one shell word for a crontab command: in single quotes, with each '%' (which cron
 * would take for the end of the command) outside them as \%
 */
char *cron_quote(const char *word);
/*
 * The block from the line begin to the line end (lines without their newline): 1 and *at,
 * *len (the block's offset and length, its last newline included), 0 when there is none, -1
 * when it is broken (a begin without its end, or either twice)
 */
int cron_block(const char *text, const char *begin, const char *end, size_t *at, size_t *len);
/*
 * text with that block replaced by block (NULL: removed; added at the end when absent; it
 * ends with a newline); every other byte kept. NULL when the block is broken.
 */
char *cron_set(const char *text, const char *begin, const char *end, const char *block);
#endif
