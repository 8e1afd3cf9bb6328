/* cli: what every program does at its edges: the JSON result, errors, --human */
#ifndef MALLCOP_CLI_H
#define MALLCOP_CLI_H
#include <jv.h>

/* the command name in results: "scan" for mallcop-scan */
const char *cli_command(void);
/* 1 when --human was given here or to the dispatcher (MALLCOP_HUMAN) */
int cli_human(int flag);
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
#endif
