#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "cfg.h"
#include "event.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

static const char MARK_BEGIN[] = "[USER_DATA_BEGIN]";
static const char MARK_END[] = "[USER_DATA_END]";

char *
event_id(const char *source, const char *key, char out[EVENT_IDSZ])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, source, strlen(source)) || !EVP_DigestUpdate(c, ":", 1) ||
	    !EVP_DigestUpdate(c, key, strlen(key)) || !EVP_DigestFinal_ex(c, md, &n))
		die(EXIT_WORK, "SHA-256 failed");
	EVP_MD_CTX_free(c);
	memcpy(out, "evt_", 4);
	for (int i = 0; i < 10; i++) {
		out[4 + 2 * i] = hex[md[i] >> 4];
		out[5 + 2 * i] = hex[md[i] & 15];
	}
	out[24] = 0;
	return out;
}

int
event_source_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return 0;
	return 1;
}

/* an id kept as it is: n bytes of [A-Za-z0-9_.:-], at most 128 */
static int
id_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.:", s[i]))
			return 0;
	return 1;
}

const char *
event_str(jv e, const char *field)
{
	jv v = jv_object_get(jv_copy(e), jv_string(field));
	const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "";

	/* e holds a reference, so the string outlives v */
	jv_free(v);
	return s;
}

static int
str_has_nul(jv s)
{
	return memchr(jv_string_value(s), 0, (size_t)jv_string_length_bytes(jv_copy(s))) != NULL;
}

int
event_stored_has_nul(jv ev, const char *text, size_t n)
{
	if (text && !memchr(text, 0, n) && !memmem(text, n, "\\u0000", 6))
		return 0;
	return event_has_nul(ev);
}

int
event_has_nul(jv v)
{
	int found = 0;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return str_has_nul(v);
	case JV_KIND_ARRAY:
		for (int i = 0, n = jv_array_length(jv_copy(v)); i < n && !found; i++) {
			jv x = jv_array_get(jv_copy(v), i);

			found = event_has_nul(x);
			jv_free(x);
		}
		return found;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, k, x) {
			found = found || str_has_nul(k) || event_has_nul(x);
			jv_free(k);
			jv_free(x);
		}
		return found;
	default:
		return 0;
	}
}

jv
event_count_reason(jv reasons, const char *why, size_t n)
{
	jv had = jv_object_get(jv_copy(reasons), jv_string(why));

	reasons = jv_object_set(reasons, jv_string(why), jv_number((double)n +
	    (jv_get_kind(had) == JV_KIND_NUMBER ? jv_number_value(had) : 0)));
	jv_free(had);
	return reasons;
}

int
event_max_bytes(const cfg *cf, size_t *max, char **err)
{
	static const long lo = 1024, hi = 1L << 30;
	const char *env = getenv("MALLCOP_MAX_EVENT_BYTES");
	long n = EVENT_MAX_BYTES_DEFAULT;

	if (cf) {
		if (cfg_int(cf, "max_event_bytes", EVENT_MAX_BYTES_DEFAULT, lo, hi, &n, err))
			return -1;
	} else if (env && *env) {
		char *end;

		errno = 0;
		n = strtol(env, &end, 10);
		if (*end || errno || n < lo || n > hi) {
			*err = xasprintf("MALLCOP_MAX_EVENT_BYTES '%s': expected a whole number from "
			    "%ld to %ld", env, lo, hi);
			return -1;
		}
	}
	*max = (size_t)n;
	return 0;
}

int
event_time(jv e, int64_t *us)
{
	return ts_from_jv(jv_object_get(jv_copy(e), jv_string("timestamp")), us);
}

int
event_line_time(const char *line, size_t n, int64_t *us)
{
	static const char id[] = "{\"id\":\"", ts[] = "\",\"timestamp\":\"";
	const char *p = line, *end = line + n, *q;
	char buf[TS_BUFSZ];

	if (n < sizeof id || memcmp(p, id, sizeof id - 1))
		return -1;
	for (p += sizeof id - 1; p < end && *p != '"' && *p != '\\' && *p != '\0'; p++)
		;
	if ((size_t)(end - p) < sizeof ts || memcmp(p, ts, sizeof ts - 1))
		return -1;
	p += sizeof ts - 1;
	for (q = p; q < end && q - p < TS_BUFSZ - 1 && *q != '"' && *q != '\\' && *q != '\0'; q++)
		;
	if (q == end || *q != '"')
		return -1;
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = 0;
	return ts_parse(buf, us);
}

/* a field as text: strings as they are, numbers and booleans printed, absent as dflt */
static jv
text(jv rec, const char *field, const char *dflt)
{
	jv v = jv_object_get(jv_copy(rec), jv_string(field));

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return v;
	case JV_KIND_NUMBER:
	case JV_KIND_TRUE:
	case JV_KIND_FALSE:
		return jv_dump_string(v, 0);
	default:
		jv_free(v);
		return dflt ? jv_string(dflt) : jv_invalid();
	}
}

static jv
go_shape(jv rec)
{
	jv payload = jv_object_get(jv_copy(rec), jv_string("payload"));
	jv org = jv_object_get(jv_copy(rec), jv_string("org"));
	jv meta = jv_get_kind(payload) == JV_KIND_OBJECT ? jv_copy(payload) : jv_object();
	jv e = jv_object();
	jv action = jv_invalid(), target = jv_invalid();
	static const char *targets[] = {"target", "resource", "repo", "object", NULL};

	if (jv_get_kind(payload) == JV_KIND_OBJECT) {
		action = text(payload, "action", NULL);
		for (int i = 0; targets[i] && !jv_is_valid(target); i++)
			target = text(payload, targets[i], NULL);
	}
	if (jv_get_kind(org) == JV_KIND_STRING)
		meta = jv_object_set(meta, jv_string("org"), org);
	else
		jv_free(org);
	jv_free(payload);
	/* a member the record lacks stays absent, so that validation names it */
	static const char *same[][2] = {{"timestamp", "timestamp"}, {"source", "source"},
	    {"event_type", "type"}};

	for (int i = 0; i < 3; i++) {
		jv x = jv_object_get(jv_copy(rec), jv_string(same[i][1]));

		if (jv_is_valid(x))
			e = jv_object_set(e, jv_string(same[i][0]), x);
		else
			jv_free(x);
	}
	e = jv_object_set(e, jv_string("actor"), text(rec, "actor", ""));
	e = jv_object_set(e, jv_string("action"),
	    jv_is_valid(action) ? action : text(rec, "type", ""));
	e = jv_object_set(e, jv_string("target"), jv_is_valid(target) ? target : jv_string(""));
	e = jv_object_set(e, jv_string("metadata"), meta);
	return jv_object_set(e, jv_string("raw"), rec);
}

int
event_normalize(jv rec, const char *source, int64_t ingested, jv *out, const char **reason)
{
	char idbuf[EVENT_IDSZ], t[TS_BUFSZ];
	jv id = jv_invalid(), src, ts, etype, sev, meta, raw, e;
	int64_t us;
	int go;

	*reason = NULL;
	if (jv_get_kind(rec) != JV_KIND_OBJECT || event_has_nul(rec)) {
		*reason = jv_get_kind(rec) != JV_KIND_OBJECT ? "not a JSON object" : EVENT_HAS_NUL;
		jv_free(rec);
		return -1;
	}
	go = !jv_object_has(jv_copy(rec), jv_string("event_type")) &&
	    jv_object_has(jv_copy(rec), jv_string("type"));
	if (go) {
		jv key = text(rec, "id", NULL);

		rec = go_shape(rec);
		if (jv_is_valid(key))
			id = key;	/* hashed below, with the source */
	} else {
		id = jv_object_get(jv_copy(rec), jv_string("id"));
	}

	src = jv_object_get(jv_copy(rec), jv_string("source"));
	if (jv_get_kind(src) != JV_KIND_STRING || !jv_string_length_bytes(jv_copy(src))) {
		jv_free(src);
		src = jv_string(source);
	}
	etype = text(rec, "event_type", NULL);
	sev = text(rec, "severity", "info");
	meta = jv_object_get(jv_copy(rec), jv_string("metadata"));
	raw = jv_object_get(jv_copy(rec), jv_string("raw"));
	if (!event_source_ok(jv_string_value(src)))
		*reason = "source is not a valid name ([A-Za-z0-9._-], at most 63)";
	else if (event_time(rec, &us))
		*reason = jv_object_has(jv_copy(rec), jv_string("timestamp"))
		    ? "timestamp is not an ISO 8601 time from 1970 to 9999" : "missing timestamp";
	else if (!jv_is_valid(etype) || !jv_string_length_bytes(jv_copy(etype)))
		*reason = "missing event_type";
	else if (!jv_object_has(jv_copy(rec), jv_string("actor")))
		*reason = "missing actor";
	else if (strcmp(jv_string_value(sev), "info") && strcmp(jv_string_value(sev), "warn") &&
	    strcmp(jv_string_value(sev), "critical"))
		*reason = "severity is not info, warn or critical";
	else if (jv_is_valid(meta) && jv_get_kind(meta) != JV_KIND_NULL &&
	    jv_get_kind(meta) != JV_KIND_OBJECT)
		*reason = "metadata is not an object";
	if (*reason) {
		jv_free(id), jv_free(src), jv_free(etype), jv_free(sev), jv_free(meta);
		jv_free(raw), jv_free(rec);
		return -1;
	}

	if (go || jv_get_kind(id) != JV_KIND_STRING || !id_ok(jv_string_value(id),
	    strlen(jv_string_value(id)))) {
		jv key = go && jv_get_kind(id) == JV_KIND_STRING ? jv_copy(id)
		    : jv_dump_string(jv_copy(rec), JV_PRINT_SORTED);

		event_id(jv_string_value(src), jv_string_value(key), idbuf);
		jv_free(key);
		jv_free(id);
		id = jv_string(idbuf);
	}
	ts = jv_string(ts_format(us, t));
	e = jv_object_set(jv_object(), jv_string("id"), id);
	e = jv_object_set(e, jv_string("timestamp"), ts);
	e = jv_object_set(e, jv_string("ingested_at"), jv_string(ts_format(ingested, t)));
	e = jv_object_set(e, jv_string("source"), src);
	e = jv_object_set(e, jv_string("event_type"), etype);
	e = jv_object_set(e, jv_string("actor"), text(rec, "actor", ""));
	e = jv_object_set(e, jv_string("action"), text(rec, "action", ""));
	e = jv_object_set(e, jv_string("target"), text(rec, "target", ""));
	e = jv_object_set(e, jv_string("severity"), sev);
	e = jv_object_set(e, jv_string("metadata"),
	    jv_get_kind(meta) == JV_KIND_OBJECT ? meta : (jv_free(meta), jv_object()));
	e = jv_object_set(e, jv_string("raw"),
	    jv_is_valid(raw) && jv_get_kind(raw) != JV_KIND_NULL ? raw : (jv_free(raw), jv_object()));
	jv_free(rec);
	*out = e;
	return 0;
}

static jv
unwrap_str(jv s)
{
	const char *p = jv_string_value(s);
	jv r;

	if (!strstr(p, "[USER_DATA_"))
		return s;
	r = jv_string("");
	while (*p) {
		const char *b = strstr(p, MARK_BEGIN), *e = strstr(p, MARK_END), *m;
		size_t ml;

		if (!b && !e) {
			r = jv_string_append_str(r, p);
			break;
		}
		m = b && (!e || b < e) ? b : e;
		ml = m == b ? sizeof MARK_BEGIN - 1 : sizeof MARK_END - 1;
		r = jv_string_append_buf(r, p, (int)(m - p));
		p = m + ml;
	}
	jv_free(s);
	return r;
}

jv
event_unwrap(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return unwrap_str(v);
	case JV_KIND_ARRAY:
		for (int i = 0, n = jv_array_length(jv_copy(v)); i < n; i++)
			v = jv_array_set(v, i, event_unwrap(jv_array_get(jv_copy(v), i)));
		return v;
	case JV_KIND_OBJECT: {
		jv o = jv_object();

		jv_object_foreach(v, k, x)
			o = jv_object_set(o, k, event_unwrap(x));
		jv_free(v);
		return o;
	}
	default:
		return v;
	}
}

const char *
event_field(jv o, const char *key)
{
	const char *s = NULL;
	jv v;

	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return NULL;
	v = jv_object_get(jv_copy(o), jv_string(key));
	if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v))
		s = jv_string_value(v);	/* o holds a reference, so the string outlives v */
	jv_free(v);
	return s;
}

jv
event_meta(jv m, const char *key, const char *val)
{
	return val ? jv_object_set(m, jv_string(key), jv_string(val)) : m;
}

jv
event_make(const char *source, const char *key, int64_t us, const char *type,
    const char *actor, const char *action, const char *target, const char *severity, jv meta,
    jv raw)
{
	char id[EVENT_IDSZ], t[TS_BUFSZ];
	jv ev = jv_object();

	ev = jv_object_set(ev, jv_string("id"), jv_string(event_id(source, key, id)));
	ev = jv_object_set(ev, jv_string("timestamp"), jv_string(ts_format(us, t)));
	ev = jv_object_set(ev, jv_string("source"), jv_string(source));
	ev = jv_object_set(ev, jv_string("event_type"), jv_string(type));
	ev = jv_object_set(ev, jv_string("actor"), jv_string(actor && *actor ? actor : "unknown"));
	ev = jv_object_set(ev, jv_string("action"), jv_string(action ? action : ""));
	ev = jv_object_set(ev, jv_string("target"), jv_string(target ? target : ""));
	ev = jv_object_set(ev, jv_string("severity"), jv_string(severity));
	ev = jv_object_set(ev, jv_string("metadata"), meta);
	return jv_object_set(ev, jv_string("raw"), raw);
}

/* a time as ts_format writes it, "2026-03-05T14:30:00Z" or with ".ffffff" (not all zeros) */
static int
line_time(const char *s, size_t n, int64_t *us, int *month)
{
	static const char form[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	char buf[32];

	if (n != 20 && n != 27)
		return -1;
	for (size_t i = 0; i < n - 1; i++)
		if (form[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != form[i])
			return -1;
	/* second 60 is the next minute and no fraction is written without one */
	if (s[n - 1] != 'Z' || s[17] > '5' || (n == 27 && !memcmp(s + 20, "000000", 6)))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	*month = atoi(buf) * 100 + (s[5] - '0') * 10 + (s[6] - '0');
	return ts_parse(buf, us);
}

int
event_line_parse(const char *s, size_t n, event_line *e)
{
	enum { ID, TS, INGESTED, SOURCE, TYPE, ACTOR, ACTION, TARGET, SEVERITY, META, RAW, NKEYS };
	static const char *const key[NKEYS] = {"{\"id\":", ",\"timestamp\":",
	    ",\"ingested_at\":", ",\"source\":", ",\"event_type\":", ",\"actor\":",
	    ",\"action\":", ",\"target\":", ",\"severity\":", ",\"metadata\":", ",\"raw\":"};
	const char *p = s, *end = s + n - 1, *v[NKEYS], *ve[NKEYS];

	/* the members in their order, each a canonical value; ingested_at may be absent */
	if (n < 2 || s[n - 1] != '}')
		return 0;
	for (int i = 0; i < NKEYS; i++) {
		size_t kl = strlen(key[i]);

		if (i == SOURCE)
			e->rest = (size_t)(p - s);
		v[i] = ve[i] = NULL;
		if ((size_t)(end - p) < kl || memcmp(p, key[i], kl)) {
			if (i == INGESTED)
				continue;
			return 0;
		}
		if (!(ve[i] = jsonl_canonical_value(v[i] = p + kl, end)))
			return 0;
		p = ve[i];
	}
	if (p != end)
		return 0;
	for (int i = 0; i < NKEYS; i++)
		if (i != INGESTED && i != META && i != RAW && *v[i] != '"')
			return 0;

	/* the checks of event_normalize, on what a string holds between its quotes */
	size_t srclen = (size_t)(ve[SOURCE] - v[SOURCE]) - 2;
	size_t sevlen = (size_t)(ve[SEVERITY] - v[SEVERITY]) - 2;

	e->id = v[ID] + 1;
	e->idlen = (size_t)(ve[ID] - v[ID]) - 2;
	e->head = (size_t)(ve[TS] - s);
	if (!id_ok(e->id, e->idlen) || srclen >= sizeof e->source ||
	    line_time(v[TS] + 1, (size_t)(ve[TS] - v[TS]) - 2, &e->us, &e->month))
		return 0;
	memcpy(e->source, v[SOURCE] + 1, srclen);
	e->source[srclen] = 0;
	return event_source_ok(e->source) && ve[TYPE] - v[TYPE] > 2 &&
	    ((sevlen == 4 && (!memcmp(v[SEVERITY], "\"info\"", 6) ||
	    !memcmp(v[SEVERITY], "\"warn\"", 6))) ||
	    (sevlen == 8 && !memcmp(v[SEVERITY], "\"critical\"", 10))) &&
	    *v[META] == '{' && *v[RAW] != 'n';
}
