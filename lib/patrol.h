/* patrol: named, scheduled runs of a deployment (the patrols: of mallcop.yaml, mallcop-patrol.1) */
#ifndef MALLCOP_PATROL_H
#define MALLCOP_PATROL_H
#include <jv.h>

#include "cfg.h"

typedef struct patrol {
	char *name;
	char *every;		/* "1h" */
	long budget;		/* donuts a run; -1: the budget of mallcop.yaml */
	jv chain, notify;	/* lists of names, or null: those of routing */
	int research, with_git, enabled;
} patrol;

/* the periods accepted, for messages */
extern const char patrol_periods[];

/* NULL when name can be a patrol's, else why not */
const char *patrol_name_check(const char *name);
/*
 * The five cron fields of a period for the patrol name of the deployment dir: the start is
 * spread over the period by a hash of both. NULL and *err (naming the accepted periods) when
 * cron cannot express the period exactly.
 */
char *patrol_schedule(const char *every, const char *dir, const char *name, char **err);
/*
 * The patrol name of mallcop.yaml: 0 and *p; 1 when there is none; -1 and *err (the file, the
 * line and the key) when its entry is malformed. patrol_free it after 0.
 */
int patrol_get(const cfg *c, const char *name, patrol *p, char **err);
void patrol_free(patrol *p);
/* the entry of mallcop.yaml for p: only what differs from the defaults */
jv patrol_entry(const patrol *p);
/* budget.max_donuts_per_run of mallcop.yaml (0: no cap); -1 and *err when malformed */
long patrol_global_budget(const cfg *c, char **err);
/*
 * The settings of c overlaid, for this run only, with those of the patrol name: its budget
 * becomes budget.max_donuts_per_run (never more than it), its chain and its notify those of
 * every route of routing. -1 and *err when there is no such patrol or it is malformed.
 */
int patrol_apply(cfg *c, const char *name, char **err);
/*
 * The text of mallcop.yaml (len bytes; root its document) with its top-level patrols: block
 * replaced by patrols (consumed; an empty object removes the block), every other byte kept.
 * NULL and *err when that cannot be done without changing another setting.
 */
char *patrol_yaml(const char *text, size_t len, jv root, jv patrols, char **err);
#endif
