/* event: the event record of mallcop.7: ids, validation, normalization */
#ifndef MALLCOP_EVENT_H
#define MALLCOP_EVENT_H
#include <stdint.h>
#include <jv.h>

#define EVENT_IDSZ 25	/* "evt_" + 20 hex + NUL */
/* the default of max_event_bytes (mallcop.yaml.5): the longest line taken as an event */
#define EVENT_MAX_BYTES_DEFAULT (1L << 20)
/* the reasons a record is refused that its readers give themselves */
#define EVENT_TOO_LARGE "larger than max_event_bytes"
#define EVENT_HAS_NUL "a string holds a NUL character (U+0000)"

struct cfg;

/* "evt_" + the first 20 hex digits of SHA-256 over "SOURCE:KEY" */
char *event_id(const char *source, const char *key, char out[EVENT_IDSZ]);
/* [A-Za-z0-9][A-Za-z0-9._-]{0,62}: safe as a file name */
int event_source_ok(const char *s);
/*
 * A record from a connector (consumed), in our shape or the Go shape {id, source, type, actor,
 * timestamp, org, payload}, as a stored event: fields in order, timestamp in UTC, defaults
 * filled, ingested_at set. On a record that cannot be stored returns -1 and a reason. A NUL
 * (U+0000) in any string of the record, keys included, is such a reason: the C side would
 * read the string only up to it ("alice\u0000-mallory" as alice).
 */
int event_normalize(jv rec, const char *source, int64_t ingested, jv *out, const char **reason);
/*
 * A line (n bytes, no newline) that is already a stored event, exactly as event_normalize and
 * jv_dump_string make it (canonical text, see jsonl_canonical), with or without ingested_at:
 * such a line is taken as it is, neither parsed nor printed again. s[0..head) is
 * {"id":...,"timestamp":"..." and s[rest..n) is ,"source":...}, what goes around ingested_at.
 * 0 when the line is not one: event_normalize decides on it.
 */
typedef struct event_line {
	const char *id;		/* idlen bytes in the line */
	size_t idlen;
	char source[64];
	int64_t us;		/* the timestamp */
	int month;		/* its YYYYMM */
	size_t head, rest;
} event_line;
int event_line_parse(const char *s, size_t n, event_line *e);
/* v (consumed) without the earlier implementation's [USER_DATA_BEGIN]/[USER_DATA_END] markers */
jv event_unwrap(jv v);
/* reasons ({reason: count}, consumed) with n more of why */
jv event_count_reason(jv reasons, const char *why, size_t n);
/* 1 when a string anywhere in v (borrowed), or a key, holds a NUL */
int event_has_nul(jv v);
/*
 * The same for a stored event and its line (text, n bytes; NULL when not known): a line with
 * neither a NUL byte nor "\u0000" is answered without walking the event, as a pass over the
 * store needs.
 */
int event_stored_has_nul(jv ev, const char *text, size_t n);
/*
 * max_event_bytes of a deployment's mallcop.yaml; with cf NULL, MALLCOP_MAX_EVENT_BYTES (what
 * mallcop-scan gives its connectors) or the default. -1 and *err when it is out of range.
 */
int event_max_bytes(const struct cfg *cf, size_t *max, char **err);
/* the event's time; -1 when it has none that parses */
int event_time(jv e, int64_t *us);
/*
 * The time of a stored line without parsing it, when the line starts as mallcop-scan writes
 * one: {"id":"...","timestamp":"..." with no escape in either value. -1 for any other line
 * (it must then be parsed to be known). For passes that pass over most of what they read.
 */
int event_line_time(const char *line, size_t n, int64_t *us);
/* a string field of e, or "" */
const char *event_str(jv e, const char *field);

/* for connectors: o[key] when o is an object and that is a non-empty string, else NULL;
 * valid as long as o */
const char *event_field(jv o, const char *key);
/* m with key set to val; m unchanged when val is NULL */
jv event_meta(jv m, const char *key, const char *val);
/*
 * An event in the store's shape, its id from the source's own record key (see event_id);
 * actor NULL becomes "unknown", target and action NULL "". meta and raw are consumed.
 */
jv event_make(const char *source, const char *key, int64_t us, const char *type,
    const char *actor, const char *action, const char *target, const char *severity, jv meta,
    jv raw);
#endif
