/* baseline: what normal looks like, learned from events (mallcop.7, BASELINE) */
#ifndef MALLCOP_BASELINE_H
#define MALLCOP_BASELINE_H
#include <stdint.h>
#include <jv.h>

/*
 * The file is the earlier implementation's baseline.json, with additions it ignores, and its
 * two big tables in files of PATH.d/ (PATH without ".json"):
 *   frequency_tables  {"SRC:TYPE:ACTOR": n, "SRC:TYPE:ACTOR:WEEKDAY:HOURBUCKET": n,
 *                      "SRC:TYPE:ACTOR:ACTION:TARGETPREFIX": n (the target's first three
 *                      '/'-separated parts: "/subscriptions/x"),
 *                      "*:*:ACTOR" and "*:*:ACTOR:WEEKDAY:HOURBUCKET" (every source together), "SRC:TYPE": n}, over the window
 *   known_entities    {actors, sources, actor_roles: {actor: [roles]}, recipients, ips,
 *                      user_agents: sorted lists}
 *   relationships     {"ACTOR:TARGET": {count, first_seen, last_seen}}
 *   frequency_files, relationship_files
 *                      {base, deltas: [names], entries (frequency_files only)}: where the
 *                      two tables are. base: JSON Lines {"key":K,"value":V}, sorted by the
 *                      JSON text of K, searched in place (mapped), never read whole by a pass;
 *                      deltas: the keys each pass since changed, the same lines (V null: the
 *                      key left), read whole at load. A save writes its changes as one more
 *                      delta, or, when the deltas come to a quarter of the base (or 8 files),
 *                      a new base, merged. A file with the tables inline (the earlier
 *                      implementation's, ours before) is read too, and saved in files.
 *   maxima            {"amount_max:SRC": n}
 *   daily_files       {"YYYY-MM-DD": "YYYY-MM-DD.HASH.json"}: the window, day by day, so that it
 *                      can slide without reading old events again; each day's {frequency
 *                      key: n} is a file of its own in PATH.d/, read when first needed and
 *                      written when it changed, under a new name.
 *                      A file with the days inline ("daily": {"YYYY-MM-DD": {key: n}}) is
 *                      read too. A copy saved under a name not ending in ".json" holds its
 *                      days and tables inline.
 *   first_seen        {source: ISO time of its first event}: learning mode
 *   events            how many events it learned from
 * Every file of PATH.d/ is new, named by its content, and never changed; the rename of
 * baseline.json, which names them, is the commit point, and the ones it no longer names are
 * removed after it.
 */
typedef struct baseline {
	struct baseline_parts *p;
	int window_days;
} baseline;

enum { BASELINE_HOUR_BUCKET = 4, BASELINE_LEARNING_DAYS = 14 };

/*
 * read a baseline file; a missing file is an empty baseline, one that cannot be read an error,
 * and so is a day or table file it names that is absent, not a file or (a table) not of its
 * form. A day file read later that cannot be read or is not JSON, or a line of a table that is
 * not of its form, stops the program (exit 1): it is never taken as empty.
 */
int baseline_load(baseline *b, const char *path, int window_days, char **err);
/* write what changed (nothing when nothing did); the rename of path is the commit point */
int baseline_save(const baseline *b, const char *path, char **err);
void baseline_free(baseline *b);
void baseline_init(baseline *b, int window_days);

/* fold one event in (its fields given, ev borrowed) */
void baseline_learn(baseline *b, jv ev, const char *source, const char *type,
    const char *actor, const char *action, const char *target, int64_t us);
/* drop the days that left the window ending at now */
void baseline_slide(baseline *b, int64_t now);

/* queries */
int baseline_empty(const baseline *b);	/* no frequency at all: nothing learned yet */
double baseline_freq(const baseline *b, const char *key);
/* the count of a frequency key on one day (YYYY-MM-DD of us) */
double baseline_day(const baseline *b, const char *key, int64_t us);
/* the number of days in the window that hold any count */
int baseline_days(const baseline *b);
/* value in known_entities.LIST ("actors", "sources", "recipients", "ips", "user_agents") */
int baseline_known(const baseline *b, const char *list, const char *value);
int baseline_role_known(const baseline *b, const char *actor, const char *role);
/* relationships["ACTOR:TARGET"].count, 0 when none; total over the actor's targets */
double baseline_relation(const baseline *b, const char *actor, const char *target);
double baseline_actor_targets(const baseline *b, const char *actor, int *ntargets);
double baseline_max(const baseline *b, const char *key);	/* maxima[key], or -1 */
/* time-profile key of an event: "SRC:TYPE:ACTOR:WEEKDAY:BUCKET" (malloc'd) */
char *baseline_time_key(const char *source, const char *type, const char *actor, int64_t us);
/*
 * A detector's own memory across runs (detector_state.NAME), for what it must remember beyond
 * one pass, such as the recent failures of a burst still going on. get: a copy, null when none;
 * set: v consumed. Keep it small.
 */
jv baseline_state(const baseline *b, const char *detector);
void baseline_set_state(baseline *b, const char *detector, jv v);
/*
 * Acknowledged behaviour: mallcop-ack records a finding's detector and fingerprint, and
 * mallcop-detect raises no finding for them again (detector_state["acked"]).
 */
void baseline_ack(baseline *b, const char *detector, const char *fingerprint);
int baseline_acked(const baseline *b, const char *detector, const char *fingerprint);
/* {known_actor_count, frequency_table_entries, known_sources, events} */
jv baseline_stats(const baseline *b);
/*
 * An actor's profile: {actor, known, events, first_seen, last_seen, frequencies: {key: n},
 * hours: {"WEEKDAY:BUCKET": n}, targets: {target: {count, first_seen, last_seen}}, roles}
 */
jv baseline_actor(const baseline *b, const char *actor);
/* its targets alone, {target: {count, first_seen, last_seen}}: cheaper than the profile */
jv baseline_targets(const baseline *b, const char *actor);
/* {entity, known, as: [where it is known: "actor", "source", "target", "ip", ...]} */
jv baseline_entity(const baseline *b, const char *entity);
/* the sources seen, sorted */
jv baseline_sources(const baseline *b);
/*
 * The file was the earlier (Python) implementation's baseline.json: counts without the days
 * they came from, so they could never slide out of the window.
 */
int baseline_from_earlier(const baseline *b);
/*
 * Before learning again from the events the counts were made of: drop the counts (frequency
 * tables, relationships, maxima, days, first events), keep what is known (actors, sources,
 * roles, the other lists, actor_context and the members we do not use).
 */
void baseline_relearn(baseline *b);
/* learning: first event time of a source (0 when never seen) */
int64_t baseline_first_seen(const baseline *b, const char *source);
int baseline_learning(const baseline *b, const char *source, int64_t us);
#endif
