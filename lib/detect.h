/* detect: the detectors, and the pass that runs them over events (mallcop-detect.1) */
#ifndef MALLCOP_DETECT_H
#define MALLCOP_DETECT_H
#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#include "baseline.h"

/* one event as detectors see it: fields looked up once; every pointer lives as long as ev */
typedef struct det_event {
	jv ev;
	const char *id, *source, *type, *actor, *action, *target, *severity;
	jv meta;	/* the metadata object ({} when the event has none) */
	int64_t us;	/* its time */
} det_event;

typedef struct det_ctx det_ctx;

/* the baseline as it stood before the event being looked at */
const baseline *det_baseline(det_ctx *c);
int64_t det_now(det_ctx *c);
/* the deployment directory, NULL in filter mode (mallcop-detect -) */
const char *det_root(det_ctx *c);

/*
 * Raise a finding. fingerprint names the behaviour within the detector ("alice:Owner"): a
 * finding with the same detector and fingerprint that is still open takes these events instead
 * of a new finding being made. event_ids (an array of strings) and meta (an object) are consumed.
 * severity: "info", "warn" or "critical".
 */
void det_finding(det_ctx *c, const char *detector, const char *severity, const char *fingerprint,
    jv event_ids, jv meta, const char *title_fmt, ...) __attribute__((format(printf, 7, 8)));
/* the same for one event: event_ids = [e->id] */
void det_event_finding(det_ctx *c, const det_event *e, const char *detector,
    const char *severity, const char *fingerprint, jv meta, const char *title_fmt, ...)
    __attribute__((format(printf, 7, 8)));

/*
 * How many events the open finding of that detector and fingerprint will hold once it takes
 * ids (consumed), as its metadata.event_count will then say: for a title that counts
 * them. On a finding that takes more events the latest title replaces the earlier one, unless
 * it is less severe.
 */
size_t det_finding_count(det_ctx *c, const char *detector, const char *fingerprint, jv ids);

/*
 * A detector's memory across runs, kept in the baseline (detector_state.NAME): a copy, null
 * when none; det_remember consumes v. For what one pass cannot see whole, such as a burst
 * that began before the last run ended. Keep it small and prune it.
 */
jv det_memory(det_ctx *c, const char *name);
void det_remember(det_ctx *c, const char *name, jv v);

/* a metadata string of the event ("" when absent); numbers and booleans are printed */
const char *det_meta_str(const det_event *e, const char *key);

typedef struct det_ops {
	const char *name;	/* "priv-escalation" */
	const char *what;	/* one line: what it catches */
	/* conf is detectors.NAME of mallcop.yaml ({} when absent), consumed; returns the state */
	void *(*start)(det_ctx *c, jv conf, char **err);
	void (*event)(det_ctx *c, void *state, const det_event *e);
	void (*finish)(det_ctx *c, void *state);	/* may be NULL */
	void (*stop)(void *state);			/* may be NULL */
} det_ops;

/* a detector's settings say enabled: false (or no, off) */
int det_enabled(jv conf);
/*
 * A detector's numeric settings: a table ended by a NULL key, each value holding its default.
 * conf (consumed) may hold only the table's keys, each a number from min to max (a whole one
 * when whole). NULL, or the message ("detectors.NAME.KEY: expected a whole number of at least
 * 1", "detectors.NAME.KEY: unknown setting (known: a, b)", or the hint when one is given),
 * malloc'd. An empty table: the detector has no settings.
 */
typedef struct det_setting {
	const char *key;
	double *value;
	double min, max;
	int whole;
	const char *hint;	/* what is expected, when the range alone does not say it well */
} det_setting;
char *det_settings(const char *detector, jv conf, const det_setting *table);
/*
 * A setting that is a list of non-empty strings (v borrowed): NULL, or "detectors.NAME.KEY:
 * expected LIST" / "detectors.NAME.KEY[i]: expected ITEM", malloc'd.
 */
char *det_string_list(const char *detector, const char *key, jv v, const char *list,
    const char *item);
/* the built-in detectors in the order they run: det_nbuiltin of them, NULL where not built */
extern const det_ops *const det_builtin[];
extern const size_t det_nbuiltin;

/*
 * A pass, for mallcop-detect: open it with the baseline (learned into as events go by), the
 * detectors: section of mallcop.yaml, and the findings already stored (their open ones absorb
 * new occurrences); feed it events in time order; close it to get the findings it made or
 * changed. learning: apply learning mode (not in filter mode).
 */
det_ctx *det_open(baseline *b, const char *root, jv conf, jv findings, int learning, char **err);
/*
 * Where the stored open findings are found when det_open was not given them all: fn returns
 * the open finding of detector and fingerprint (a record), or jv_invalid() when there is none.
 */
typedef jv (*det_lookup_fn)(void *arg, const char *detector, const char *fingerprint);
void det_lookup(det_ctx *c, det_lookup_fn fn, void *arg);
/* add detectors of another kind (declarative rules, custom programs) to a pass before feeding */
int det_add(det_ctx *c, const det_ops *ops, void *state);
void det_feed(det_ctx *c, jv ev);
/*
 * While on, events fed are looked at again without being learned, learning mode does not
 * apply, and findings are marked metadata.retrospective: the second look at a source's
 * learning period once it is over.
 */
void det_retrospective(det_ctx *c, int on);
/* 1 during the retrospective: a detector that remembers across runs must not count again */
int det_in_retrospective(det_ctx *c);
/* emit findings from outside the detectors (custom detector programs): one record, consumed */
int det_take(det_ctx *c, jv finding, const char *detector, char **why);
/*
 * Finish: *all is every finding given to det_open or found through the lookup, with the changes (consumed by the
 * caller); *made and *changed count new ones and open ones that took new events; *summary is
 * {detector: {severity: n}} over the findings this pass made or changed.
 */
void det_close(det_ctx *c, jv *all, jv *changed_list, size_t *made, size_t *changed,
    jv *summary);
/* event_ids kept in a finding at most; metadata.event_count has them all */
enum { DET_MAX_EVENT_IDS = 200 };
#endif
