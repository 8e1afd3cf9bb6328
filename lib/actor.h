/* actor: the LLM actors that triage and investigate findings (mallcop.7, ESCALATION) */
#ifndef MALLCOP_ACTOR_H
#define MALLCOP_ACTOR_H
#include <stdio.h>
#include <jv.h>

#include "airlock.h"
#include "baseline.h"
#include "llm.h"
#include "skill.h"
#include "store.h"

/* an actor as data: share/mallcop/actors/NAME/ (the deployment's actors/NAME/ first) */
typedef struct actor_def {
	char *name;
	char *model;		/* an alias (haiku, sonnet) or a model id */
	char *prompt;		/* POST.md */
	int max_iterations;
	int max_tokens;		/* of one reply */
	jv tools;		/* names */
} actor_def;

int actor_load(const char *root, const char *name, actor_def *a, char **err);
void actor_def_free(actor_def *a);

/* what one escalate run shares between findings */
typedef struct actor_env {
	store *st;
	jv config;		/* mallcop.yaml as loaded (read-config shows it with secrets removed) */
	baseline *b;
	llm *l;
	airlock air;
	long finding_tokens;	/* the budget of one finding, 0 = none */
	long run_tokens;	/* what is left of the run's budget, < 0 = none */
	jv usage;		/* {model: {tokens_in, tokens_out, calls}} */
	FILE *trace;		/* when set, every reply of a model as a JSON line with its actor
				 * (opened from $MALLCOP_ACTOR_TRACE, appended to) */
	long wait_ms;		/* for annotate-finding's lock */
	jv hidden;		/* what no model may see, loaded at first use: {events: {id: true},
				 * words: [text of those events]} */
	char *hidden_error;	/* why that could not be loaded: every tool refuses */
	skill_set *skills;	/* opened for the first actor with load-skill */
	char *skills_error;	/* why they could not be: every load-skill refuses */
	jv skill_log;		/* this finding's load-skill calls */
} actor_env;

void actor_env_init(actor_env *e);
void actor_env_free(actor_env *e);

/*
 * Detectors whose findings always go to a human: no model may resolve them, nor see them or
 * their events (the briefing and every tool leave them out)
 */
int actor_human_only(const char *detector);

/*
 * Walk the chain (names, borrowed) on a finding (borrowed): each actor resolves it or passes it
 * on; each decision is also annotated on the finding in the store. The result:
 * {finding_id, action: "resolved"|"escalated", reason, confidence (0 to 1), actor, iterations,
 *  tokens, cause: "model" (an actor decided) | "budget" | "backend" | "iterations" | "invalid"
 *  | "hard_constraint" (a human-only finding: no model was called),
 *  refused: [{actor, tool, finding_id}] (only when a tool call named another finding),
 *  skills: [{actor, skill, loaded: true, verified_by} | {actor, skill, loaded: false, error}]
 *  (only when an actor called load-skill)}
 * Only cause "model" is a decision of a model; the others are failures, which always go to a
 * human. A tool call naming a finding other than this one is refused: the model is told, the
 * refusal is annotated on this finding ("refused") and listed in the result.
 */
jv actor_chain(actor_env *e, jv finding, jv chain);
#endif
