/* proc: child programs (connectors, plugins) with a chosen environment and a time limit */
#ifndef MALLCOP_PROC_H
#define MALLCOP_PROC_H
#include <stdint.h>
#include <sys/types.h>
#include <jv.h>

typedef struct proc {
	pid_t pid;
	int status;	/* as waitpid gives it */
	int done;
	int timed_out;
	int64_t deadline;	/* monotonic ms */
	int64_t killed_at;
	long timeout_ms;	/* 0 = none; set before proc_wait */
} proc;

/* start argv[0] (a path) in its own process group with exactly envp; fds -1 = /dev/null */
int proc_spawn(proc *p, char *const argv[], char *const envp[], int in, int out, int errfd,
    char **err);
/* wait for all; one that outlives its timeout_ms has its process group killed */
void proc_wait(proc **ps, size_t n);
/*
 * From now on SIGINT, SIGTERM and SIGHUP stop the children still running (their whole process
 * groups) before this program dies of the signal: no connector outlives a killed scan.
 */
void proc_forward_signals(void);
/* envp (NULL-terminated, *n entries) with NAME=val added, unless NAME is there already */
void proc_env_add(char ***envp, size_t *n, const char *name, const char *val);
/* the variables every connector gets from ours: nothing secret, only what running needs */
void proc_env_base(char ***envp, size_t *n);
/* an unlinked file in dir for a child's output (O_TMPFILE when it can); dies when it cannot */
int proc_spool(const char *dir);
/*
 * What a connector said on stderr (its spool file): the value of its last "cursor: VALUE" line
 * in *cursor, and its last five other lines joined with " | " in *tail (malloc'd; NULL when
 * there are none).
 */
void proc_err_tail(int fd, char **cursor, char **tail);
/*
 * Run the mallcop program NAME ("scan": mallcop-scan, found as plugin_builtin finds it) with
 * args (NULL-terminated), in our environment without MALLCOP_HUMAN and with env ("NAME=value",
 * NULL-terminated, may be NULL) added; wait for it. Its exit status (-1 when it could not run)
 * and in *result the last JSON object it printed ({} when none), with "error" set from its
 * stderr when it failed without saying why.
 */
int proc_run_json(const char *name, const char *const *args, const char *const *env,
    jv *result);
/* 1 when it exited with status 0 */
int proc_ok(const proc *p);
/* "exited with status 3", "killed by signal 9", "timed out after 30s" */
char *proc_describe(const proc *p);
#endif
