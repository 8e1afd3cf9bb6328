/* escalate: the escalation paths of mallcop.yaml: routes by severity, channels to a human */
#ifndef MALLCOP_ESCALATE_H
#define MALLCOP_ESCALATE_H
#include <stddef.h>
#include <jv.h>

#include "cfg.h"

/* a channel: a notifier program and its settings */
typedef struct esc_channel {
	char *name;	/* "notify-slack" */
	char *prog;
	char **envp;
	jv batch;	/* the ids of the findings it is to deliver this run */
	int ok;
	char *error;
} esc_channel;

typedef struct esc_paths {
	jv routes;		/* {severity: {chain: [...], notify: [...]}} */
	esc_channel *ch;
	size_t nch;
} esc_paths;

/* the message (printf-style) appended to *errors, a list of strings */
void esc_error(jv *errors, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * routing: of mallcop.yaml (ROOT the deployment) with every actor and channel it names checked:
 * each actor loads, each channel's program exists and takes its settings (its --check, sending
 * nothing). What is not usable is appended to *errors.
 */
void esc_load(esc_paths *p, const cfg *cf, const char *root, jv *errors);
void esc_free(esc_paths *p);
/* the route (borrowed) of a finding: its id queued for each of the route's channels */
void esc_queue(esc_paths *p, jv route, const char *id);
/*
 * Every channel's batch delivered: one finding as it is, several (or one with a note) as one
 * digest {kind: "digest", title, note, findings}. findings: {id: finding} (borrowed); spool: a
 * directory for the programs' input and output. Each channel's ok, or its error, is set.
 */
void esc_deliver(esc_paths *p, jv findings, const char *note, const char *spool);
#endif
