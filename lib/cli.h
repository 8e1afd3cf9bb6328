/* cli: what every program does at its edges: the JSON result, errors, --human */
#ifndef MALLCOP_CLI_H
#define MALLCOP_CLI_H
#include <stddef.h>
#include <stdint.h>
#include <jv.h>

/* the command name in results: "scan" for mallcop-scan */
const char *cli_command(void);
/* 1 when --human was given here or to the dispatcher (MALLCOP_HUMAN) */
int cli_human(int flag);
/*
 * The output form of a program that takes both --human and --jsonl: the two flags together are
 * a usage error (exit 2, the usage on stderr); MALLCOP_HUMAN gives way to --jsonl. 1 for text.
 */
int cli_output(int human, int jsonl, const char *usage);
/*
 * Report an error and exit: {"command", "status": "error", "error"} on stdout (JSON output
 * only) and "mallcop-CMD: message" on stderr.
 */
void cli_fail(int status, int human, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* print v (consumed) as one JSON line and close stdout; exit status 1 when the write failed */
int cli_emit(jv v);
/* the start of a result: {"command": ..., "status": "ok"} */
jv cli_result(void);
/* --wait[=SECONDS] into milliseconds; without it a short grace for a run finishing */
long cli_wait_ms(const char *arg);
/* cli_connector.c: a connector's edges (apart, so that other programs need no HTTP library) */
/*
 * The start of a cloud connector: `--cursor VALUE | --since TIME | -h`, nothing else (exit 0 on
 * -h, 2 on a usage error), and its settings from MALLCOP_CONNECTOR_CONFIG as an object ({}
 * when unset; exit 2 when it is not one). *cursor is the raw value or NULL; *since -1 when none.
 */
jv cli_connector(int argc, char **argv, const char *usage, const char **cursor, int64_t *since);
/*
 * A URL setting of a connector (base_url, login_url, endpoint): cfg[key] without its trailing
 * '/', or dflt when it is absent (NULL: none); exit 2 naming the key when it is not a string
 * or not a URL the HTTP layer accepts (https, or http to loopback). malloc'd.
 */
char *cli_url(jv cfg, const char *key, const char *dflt, const char *who);
/*
 * The end of a connector's run: stdout closed (a failed write fails the run), "PROG: N events"
 * (and ", M records without a time skipped") on stderr, then "cursor: CURSOR" unless the run
 * failed: the checkpoint moves only after a whole success. The exit status to return.
 */
int cli_connector_end(int failed, size_t events, size_t untimed, const char *cursor);
#endif
