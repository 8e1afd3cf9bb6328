#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "event.h"
#include "finding.h"
#include "human.h"
#include "jsonl.h"
#include "ts.h"
#include "util.h"

jv
finding_get(jv all, const char *id)
{
	jv found = jv_invalid();

	jv_array_foreach(all, i, f) {
		(void)i;
		if (!jv_is_valid(found) && jv_get_kind(f) == JV_KIND_OBJECT &&
		    !strcmp(event_str(f, "id"), id))
			found = f;
		else
			jv_free(f);
	}
	return found;
}

int
finding_rank(const char *severity)
{
	return !strcmp(severity, "critical") ? 2 : !strcmp(severity, "warn") ? 1
	    : !strcmp(severity, "info") ? 0 : -1;
}

jv
finding_annotation(const char *actor, const char *content, const char *action,
    const char *reason)
{
	char t[TS_BUFSZ];
	jv a = jv_object();

	a = jv_object_set(a, jv_string("actor"), jv_string(actor));
	a = jv_object_set(a, jv_string("timestamp"), jv_string(ts_format(ts_now(), t)));
	a = jv_object_set(a, jv_string("content"), jv_string(content));
	a = jv_object_set(a, jv_string("action"), jv_string(action));
	return jv_object_set(a, jv_string("reason"), reason ? jv_string(reason) : jv_null());
}

jv
finding_annotate(jv f, jv annotation)
{
	jv anns = jsonl_get(jv_copy(f), "annotations");

	if (jv_get_kind(anns) != JV_KIND_ARRAY) {
		jv_free(anns);
		anns = jv_array();
	}
	return jv_object_set(f, jv_string("annotations"), jv_array_append(anns, annotation));
}

int
finding_save(store *s, jv all, char **err)
{
	char *path = xasprintf("%s/findings.jsonl", s->dir), *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int r;

	if (!m)
		die(EXIT_WORK, "out of memory");
	jv_array_foreach(all, i, f) {
		(void)i;
		if (jv_get_kind(f) == JV_KIND_OBJECT)
			jsonl_put(m, f);
		else
			jv_free(f);
	}
	jv_free(all);
	fclose(m);
	r = store_replace(path, buf, len, err);
	free(buf);
	free(path);
	return r;
}

int
finding_change(store *s, const char *id, long wait_ms, finding_fn fn, void *arg, jv *out,
    char **err)
{
	size_t skipped = 0;
	int r = store_lock(s, wait_ms, err), at = -1;
	jv all, f;

	if (r)
		return r > 0 ? 75 : -1;
	all = store_findings(s, &skipped, err);
	if (!jv_is_valid(all))
		return -1;
	if (skipped) {
		*err = xasprintf("%s/findings.jsonl has %zu lines that are not findings; mend or "
		    "remove them first, nothing was changed", s->dir, skipped);
		jv_free(all);
		return -1;
	}
	jv_array_foreach(all, i, x) {
		if (at < 0 && !strcmp(event_str(x, "id"), id))
			at = i;
		jv_free(x);
	}
	if (at < 0) {
		jv_free(all);
		return 1;
	}
	f = fn(jv_array_get(jv_copy(all), at), arg);
	if (!jv_is_valid(f)) {
		jv msg = jv_invalid_get_msg(f);

		*err = xstrdup(jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg)
		    : "refused");
		jv_free(msg);
		jv_free(all);
		return -1;
	}
	*out = jv_copy(f);
	all = jv_array_set(all, at, f);
	if (finding_save(s, all, err)) {
		jv_free(*out);
		return -1;
	}
	return 0;
}

typedef struct lookup {
	jv want;	/* id -> true */
	jv found;	/* id -> event */
} lookup;

static int
collect(jv ev, const char *text, void *arg)
{
	lookup *l = arg;
	jv id = jsonl_get(jv_copy(ev), "id");

	(void)text;
	if (jv_get_kind(id) == JV_KIND_STRING && jv_object_has(jv_copy(l->want), jv_copy(id)))
		l->found = jv_object_set(l->found, id, ev);
	else {
		jv_free(id);
		jv_free(ev);
	}
	return 0;
}

jv
finding_events(store *s, jv ids, char **err)
{
	lookup l = {jv_object(), jv_object()};
	store_file *files;
	size_t n;
	jv out = jv_array();

	jv_array_foreach(ids, i, id) {
		(void)i;
		if (jv_get_kind(id) == JV_KIND_STRING)
			l.want = jv_object_set(l.want, id, jv_true());
		else
			jv_free(id);
	}
	if (jv_object_length(jv_copy(l.want))) {
		n = store_event_files(s, 0, &files, err);
		for (size_t i = 0; i < n; i++)
			if (store_each_event(&files[i], 0, collect, &l, NULL) && err && !*err)
				*err = xasprintf("cannot read '%s': %s", files[i].path,
				    strerror(errno));
		store_files_free(files, n);
	}
	if (err && *err) {
		jv_free(ids);
		jv_free(l.want);
		jv_free(l.found);
		jv_free(out);
		return jv_invalid();
	}
	/* in the finding's order, which is the order they were seen */
	jv_array_foreach(ids, i, id) {
		jv e = jv_get_kind(id) == JV_KIND_STRING
		    ? jv_object_get(jv_copy(l.found), jv_copy(id)) : jv_invalid();

		(void)i;
		if (jv_is_valid(e))
			out = jv_array_append(out, e);
		else
			jv_free(e);
		jv_free(id);
	}
	jv_free(ids);
	jv_free(l.want);
	jv_free(l.found);
	return out;
}

static void
field(FILE *f, const char *label, const char *v)
{
	fprintf(f, "%s: ", label);
	human_put(f, v);
	fputc('\n', f);
}

void
finding_print(FILE *f, jv x, int annotations)
{
	jv anns = jsonl_get(jv_copy(x), "annotations");
	const char *sev = event_str(x, "severity");
	char up[16];
	size_t i;

	for (i = 0; sev[i] && i < sizeof up - 1; i++)
		up[i] = (char)(sev[i] >= 'a' && sev[i] <= 'z' ? sev[i] - 32 : sev[i]);
	up[i] = 0;
	fprintf(f, "[%s] ", up);
	human_field(f, x, "id", NULL);
	fputs(": ", f);
	human_field(f, x, "title", NULL);
	fputc('\n', f);
	fputs("  ", f);
	field(f, "status", event_str(x, "status"));
	fputs("  ", f);
	field(f, "detector", event_str(x, "detector"));
	fputs("  ", f);
	field(f, "time", event_str(x, "timestamp"));
	if (annotations && jv_get_kind(anns) == JV_KIND_ARRAY)
		jv_array_foreach(anns, k, a) {
			(void)k;
			fputs("  - [", f);
			human_field(f, a, "timestamp", NULL);
			fputs("] ", f);
			human_field(f, a, "actor", NULL);
			fputs(": ", f);
			human_field(f, a, "content", NULL);
			if (*event_str(a, "reason")) {
				fputs(" (reason: ", f);
				human_field(f, a, "reason", NULL);
				fputc(')', f);
			}
			fputc('\n', f);
			jv_free(a);
		}
	jv_free(anns);
}

/*
 * findings.jsonl as a log. The index (findings.index.json) is a cache of the log, JSON values
 * one a line: a header {"version", "log", "garbage"} ("log" names the file it describes:
 * device, inode, size, modification time; "garbage" counts the bytes of records a later one of
 * the same id replaced), then one line per open finding, ["KEY", OFFSET, LENGTH] (the key of
 * its behaviour, log_key, and where its latest record is), sorted by key and padded so that
 * every line has one width: a pass finds its open findings by binary search in place, and
 * writes the index again by merging its changes into it. Whatever does not match is read
 * afresh.
 */
struct finding_log {
	char *path, *index_path;
	char *text;		/* the index as read (or written) last */
	const char *base;	/* its sorted entries, nbase of LOG_INDEX_WIDTH bytes */
	size_t nbase;
	jv delta;		/* key -> [offset, length], or null when gone, since base */
	double garbage;
	off_t *drop;		/* offsets of replaced records, from the last reading of the log */
	size_t ndrop;
	int dirty;		/* the index on disk is not this one */
};

enum {
	LOG_COMPACT_SMALL = 1 << 20, LOG_RECORD_MAX = 64 << 20, LOG_INDEX_VERSION = 3,
	LOG_KEY = 16,
	/* ["KEY",%20 OFFSET,%10 LENGTH]\n */
	LOG_INDEX_WIDTH = 2 + LOG_KEY + 2 + 20 + 1 + 10 + 2
};

/* a behaviour's key in the index: 16 hex digits of SHA-256 over "DETECTOR\tFINGERPRINT" (the
 * record it points at is checked, so a collision costs a new reading of the log, no more) */
static char *
log_key(const char *detector, const char *fingerprint)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *k = xmalloc(17);

	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, detector, strlen(detector)) || !EVP_DigestUpdate(c, "\t", 1) ||
	    !EVP_DigestUpdate(c, fingerprint, strlen(fingerprint)) ||
	    !EVP_DigestFinal_ex(c, md, &n))
		die(EXIT_WORK, "sha256 failed");
	EVP_MD_CTX_free(c);
	for (int i = 0; i < 8; i++)
		snprintf(k + 2 * i, 3, "%02x", md[i]);
	return k;
}

/* what the index must name to describe the log: "" when there is no log */
static char *
log_ident(const char *path)
{
	struct stat sb;

	if (stat(path, &sb))
		return xstrdup("");
	return xasprintf("%llu:%llu:%lld:%lld.%09ld", (unsigned long long)sb.st_dev,
	    (unsigned long long)sb.st_ino, (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
	    sb.st_mtim.tv_nsec);
}

static int
cmp_off(const void *a, const void *b)
{
	off_t x = *(const off_t *)a, y = *(const off_t *)b;

	return x < y ? -1 : x > y;
}

/* an entry of the index: its offset and length, or -1 when the line is not one */
static int
log_entry(const char *p, long long *off, long long *len)
{
	char num[21], *end;

	if (p[0] != '[' || p[1] != '"' || p[2 + LOG_KEY] != '"' || p[3 + LOG_KEY] != ',' ||
	    p[24 + LOG_KEY] != ',' || p[35 + LOG_KEY] != ']' || p[36 + LOG_KEY] != '\n')
		return -1;
	for (int i = 0; i < LOG_KEY; i++)
		if (!isxdigit((unsigned char)p[2 + i]) || isupper((unsigned char)p[2 + i]))
			return -1;
	memcpy(num, p + 4 + LOG_KEY, 20);
	num[20] = 0;
	*off = strtoll(num, &end, 10);
	if (*end || end == num || *off < 0)
		return -1;
	memcpy(num, p + 25 + LOG_KEY, 10);
	num[10] = 0;
	*len = strtoll(num, &end, 10);
	if (*end || end == num || *len < 1 || *len > LOG_RECORD_MAX)
		return -1;
	return 0;
}

/* where the open finding of key is: 1 and *off, *len, or 0 */
static int
log_at(finding_log *l, const char *key, long long *off, long long *len)
{
	jv at = jv_object_get(jv_copy(l->delta), jv_string(key));
	size_t lo = 0, hi = l->nbase;
	int found = 0;

	if (jv_is_valid(at)) {
		if (jv_get_kind(at) == JV_KIND_ARRAY) {
			*off = (long long)jv_number_value(jv_array_get(jv_copy(at), 0));
			*len = (long long)jv_number_value(jv_array_get(jv_copy(at), 1));
			found = 1;
		}
		jv_free(at);
		return found;
	}
	jv_free(at);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = l->base + mid * LOG_INDEX_WIDTH;
		int c = memcmp(key, p + 2, LOG_KEY);

		if (!c)
			return log_entry(p, off, len) == 0;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static void
log_set(finding_log *l, const char *key, double off, double len)
{
	l->delta = jv_object_set(l->delta, jv_string(key), JV_ARRAY(jv_number(off),
	    jv_number(len)));
}

/* an empty index, for reading the log afresh */
static void
log_forget(finding_log *l)
{
	free(l->text);
	l->text = NULL;
	l->base = NULL;
	l->nbase = 0;
	jv_free(l->delta);
	l->delta = jv_object();
}

/* the index from the log itself; 0, or -1 and *err when the log cannot be read */
static int
log_scan(finding_log *l, char **err)
{
	FILE *fp = store_fopen(l->path, err);
	jv ids = jv_object(), v;
	size_t cap = 0;
	jsonl r;

	log_forget(l);
	l->garbage = 0;
	l->ndrop = 0;
	l->dirty = 1;
	if (!fp) {
		jv_free(ids);
		return *err ? -1 : 0;
	}
	jsonl_init(&r, fp, l->path);
	r.tail = 1;
	while (jsonl_next(&r, &v)) {
		double off = (double)(r.bytes - r.len), len = (double)r.len;
		const char *id = jv_get_kind(v) == JV_KIND_OBJECT ? event_str(v, "id") : "";
		jv prev, key = jv_null();

		if (!*id) {
			jv_free(v);
			continue;
		}
		prev = jv_object_get(jv_copy(ids), jv_string(id));
		if (jv_get_kind(prev) == JV_KIND_ARRAY) {
			jv pk = jv_array_get(jv_copy(prev), 2);

			l->garbage += jv_number_value(jv_array_get(jv_copy(prev), 1));
			if (l->ndrop == cap)
				l->drop = xrealloc(l->drop, (cap = cap ? cap * 2 : 64) *
				    sizeof *l->drop);
			l->drop[l->ndrop++] = (off_t)jv_number_value(jv_array_get(jv_copy(prev), 0));
			/* the behaviour's entry, when it is still this record's */
			if (jv_get_kind(pk) == JV_KIND_STRING) {
				long long co, cl;

				if (log_at(l, jv_string_value(pk), &co, &cl) && (double)co ==
				    jv_number_value(jv_array_get(jv_copy(prev), 0)))
					l->delta = jv_object_delete(l->delta, pk);
				else
					jv_free(pk);
			} else {
				jv_free(pk);
			}
		}
		jv_free(prev);
		if (!strcmp(event_str(v, "status"), "open") && *event_str(v, "fingerprint")) {
			char *k = log_key(event_str(v, "detector"), event_str(v, "fingerprint"));

			key = jv_string(k);
			log_set(l, k, off, len);
			free(k);
		}
		ids = jv_object_set(ids, jv_string(id), JV_ARRAY(jv_number(off), jv_number(len), key));
		jv_free(v);
	}
	jsonl_done(&r);
	jv_free(ids);
	if (l->ndrop)
		qsort(l->drop, l->ndrop, sizeof *l->drop, cmp_off);
	return store_fclose(fp, l->path, err);
}

/* the index on disk, when it describes the log as it is now: its header, then entries of one
 * width in strictly increasing order of key */
static int
log_index_load(finding_log *l)
{
	char *e = NULL, *ident, *text, *nl;
	size_t n, head, count;
	jv v, log;
	int ok;

	if (!(text = store_read(l->index_path, &n, &e))) {
		free(e);
		return 0;
	}
	if (!(nl = memchr(text, '\n', n)) || (n - (size_t)(nl + 1 - text)) % LOG_INDEX_WIDTH) {
		free(text);
		return 0;
	}
	head = (size_t)(nl + 1 - text);
	count = (n - head) / LOG_INDEX_WIDTH;
	v = jsonl_parse(text, head);
	ident = log_ident(l->path);
	log = jsonl_get(jv_copy(v), "log");
	ok = jv_get_kind(log) == JV_KIND_STRING && !strcmp(jv_string_value(log), ident) &&
	    jsonl_number(jsonl_get(jv_copy(v), "version"), 0) == LOG_INDEX_VERSION;
	jv_free(log);
	free(ident);
	for (size_t i = 0; ok && i < count; i++) {
		const char *p = text + head + i * LOG_INDEX_WIDTH;
		long long off, len;

		ok = !log_entry(p, &off, &len) &&
		    (!i || memcmp(p - LOG_INDEX_WIDTH + 2, p + 2, LOG_KEY) < 0);
	}
	if (ok) {
		log_forget(l);
		l->text = text;
		l->base = text + head;
		l->nbase = count;
		l->garbage = jsonl_number(jsonl_get(jv_copy(v), "garbage"), 0);
	} else {
		free(text);
	}
	jv_free(v);
	return ok;
}

finding_log *
finding_log_open(store *s, char **err)
{
	finding_log *l = xcalloc(1, sizeof *l);

	l->path = xasprintf("%s/findings.jsonl", s->dir);
	l->index_path = xasprintf("%s/findings.index.json", s->dir);
	l->delta = jv_object();
	/* the index says where, the log must still be there to read */
	if (log_index_load(l)) {
		FILE *f = store_fopen(l->path, err);

		if (f)
			fclose(f);
		else if (*err)
			goto fail;
	} else if (log_scan(l, err)) {
		goto fail;
	}
	return l;
fail:
	finding_log_close(l);
	return NULL;
}

void
finding_log_close(finding_log *l)
{
	if (!l)
		return;
	jv_free(l->delta);
	free(l->text);
	free(l->drop);
	free(l->path);
	free(l->index_path);
	free(l);
}

/* the record the index points at, when it is that open finding */
static jv
log_record(finding_log *l, long long off, long long len, const char *detector,
    const char *fingerprint)
{
	jv v = jv_invalid();
	char *buf;
	int fd;

	if (off < 0 || len < 1 || len > LOG_RECORD_MAX || (fd = open(l->path, O_RDONLY | O_CLOEXEC)) < 0)
		return v;
	buf = xmalloc((size_t)len);
	if (pread(fd, buf, (size_t)len, (off_t)off) == (ssize_t)len && buf[len - 1] == '\n' &&
	    !memchr(buf, 0, (size_t)len)) {
		v = jsonl_parse(buf, (size_t)len);
		if (jv_get_kind(v) != JV_KIND_OBJECT || strcmp(event_str(v, "status"), "open") ||
		    strcmp(event_str(v, "detector"), detector) ||
		    strcmp(event_str(v, "fingerprint"), fingerprint)) {
			jv_free(v);
			v = jv_invalid();
		} else if (memmem(buf, (size_t)len, "[USER_DATA_", 11)) {
			v = event_unwrap(v);
		}
	}
	close(fd);
	free(buf);
	return v;
}

jv
finding_log_get(finding_log *l, const char *detector, const char *fingerprint, char **err)
{
	char *k = log_key(detector, fingerprint);
	jv v = jv_invalid();

	for (int pass = 0; pass < 2; pass++) {
		long long off, len;

		if (!log_at(l, k, &off, &len))
			break;
		v = log_record(l, off, len, detector, fingerprint);
		/* an index that does not describe the log is made again from it, once */
		if (jv_is_valid(v) || pass || log_scan(l, err))
			break;
	}
	free(k);
	return v;
}

/* where the last line of a file of size bytes starts, read back a block at a time; -1 when
 * it cannot be read */
static off_t
line_start(int fd, off_t size)
{
	char buf[65536], *nl;
	off_t at = size;

	while (at > 0) {
		size_t n = at < (off_t)sizeof buf ? (size_t)at : sizeof buf;

		if (pread(fd, buf, n, at - (off_t)n) != (ssize_t)n)
			return -1;
		if ((nl = memrchr(buf, '\n', n)))
			return at - (off_t)n + (nl - buf) + 1;
		at -= (off_t)n;
	}
	return 0;
}

/* a last line without its newline: a finding written whole is ended, a torn write kept aside */
static int
log_mend_tail(finding_log *l, char **err)
{
	int fd = open(l->path, O_RDWR | O_CLOEXEC);
	struct stat sb;
	off_t start;
	char c, *tail, *aside;
	jv v;
	int r = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) || !sb.st_size || pread(fd, &c, 1, sb.st_size - 1) != 1 || c == '\n') {
		close(fd);
		return 0;
	}
	start = line_start(fd, sb.st_size);
	tail = xmalloc(start < 0 ? 1 : (size_t)(sb.st_size - start) + 1);
	if (start < 0 || pread(fd, tail, (size_t)(sb.st_size - start), start) !=
	    sb.st_size - start) {
		*err = xasprintf("cannot read '%s': %s", l->path, strerror(errno));
		r = -1;
	} else if (jv_get_kind(v = jsonl_parse(tail, (size_t)(sb.st_size - start))) ==
	    JV_KIND_OBJECT) {
		jv_free(v);
		close(fd);
		free(tail);
		return store_append(l->path, "\n", 1, NULL, err);
	} else {
		jv_free(v);
		aside = xasprintf("%s.torn-%lld", l->path, (long long)(ts_now() / TS_SECOND));
		if (store_replace(aside, tail, (size_t)(sb.st_size - start), err) ||
		    ftruncate(fd, start) || fsync(fd)) {
			if (!*err)
				*err = xasprintf("cannot write '%s': %s", l->path, strerror(errno));
			r = -1;
		} else {
			warnf("%s ended in a line cut short by an interrupted write; it is kept in "
			    "'%s'", l->path, aside);
		}
		free(aside);
	}
	close(fd);
	free(tail);
	return r;
}

/* the log without the records later ones replaced; lines that are not findings stay */
static int
log_compact(finding_log *l, char **err)
{
	FILE *in, *m;
	char *line = NULL, *buf = NULL;
	size_t cap = 0, len = 0, d = 0;
	ssize_t n;
	off_t at = 0;
	int r;

	if (log_scan(l, err))
		return -1;
	if (!l->ndrop)
		return 0;
	if (!(in = store_fopen(l->path, err)))
		return *err ? -1 : 0;
	if (!(m = open_memstream(&buf, &len)))
		die(EXIT_WORK, "out of memory");
	while ((n = getline(&line, &cap, in)) > 0) {
		while (d < l->ndrop && l->drop[d] < at)
			d++;
		if (!(d < l->ndrop && l->drop[d] == at))
			fwrite(line, 1, (size_t)n, m);
		at += n;
	}
	free(line);
	fclose(m);
	r = store_fclose(in, l->path, err) || store_replace(l->path, buf, len, err) ? -1 : 0;
	free(buf);
	return r ? r : log_scan(l, err);
}

/* the index on disk: its entries merged with the pass's changes, in order of key */
static int
log_index_save(finding_log *l, char **err)
{
	char *ident = log_ident(l->path), *buf, *out;
	jv head = jv_object(), keys = jv_keys(jv_copy(l->delta));
	int nkeys = jv_array_length(jv_copy(keys)), j = 0, r;
	size_t i = 0, hlen;

	head = jv_object_set(head, jv_string("version"), jv_number(LOG_INDEX_VERSION));
	head = jv_object_set(head, jv_string("log"), jv_string(ident));
	head = jv_object_set(head, jv_string("garbage"), jv_number(l->garbage));
	free(ident);
	head = jv_dump_string(head, 0);
	hlen = strlen(jv_string_value(head)) + 1;
	buf = out = xmalloc(hlen + (l->nbase + (size_t)nkeys) * LOG_INDEX_WIDTH);
	memcpy(out, jv_string_value(head), hlen - 1);
	out[hlen - 1] = '\n';
	out += hlen;
	jv_free(head);
	while (i < l->nbase || j < nkeys) {
		jv k = j < nkeys ? jv_array_get(jv_copy(keys), j) : jv_invalid();
		int c = !jv_is_valid(k) ? -1 : i == l->nbase ? 1 :
		    memcmp(l->base + i * LOG_INDEX_WIDTH + 2, jv_string_value(k), LOG_KEY);
		size_t run = 0;

		/* the run of entries before the next change, as they are */
		while (c < 0 && i + run < l->nbase && (!jv_is_valid(k) || memcmp(l->base +
		    (i + run) * LOG_INDEX_WIDTH + 2, jv_string_value(k), LOG_KEY) < 0))
			run++;
		if (run) {
			memcpy(out, l->base + i * LOG_INDEX_WIDTH, run * LOG_INDEX_WIDTH);
			out += run * LOG_INDEX_WIDTH;
			i += run;
		} else {
			jv at = jv_object_get(jv_copy(l->delta), jv_copy(k));

			if (jv_get_kind(at) == JV_KIND_ARRAY) {
				char line[LOG_INDEX_WIDTH + 1];

				snprintf(line, sizeof line, "[\"%.*s\",%20lld,%10lld]\n", LOG_KEY,
				    jv_string_value(k),
				    (long long)jv_number_value(jv_array_get(jv_copy(at), 0)),
				    (long long)jv_number_value(jv_array_get(jv_copy(at), 1)));
				memcpy(out, line, LOG_INDEX_WIDTH);
				out += LOG_INDEX_WIDTH;
			}
			jv_free(at);
			if (!c)
				i++;	/* the entry the change replaces */
			j++;
		}
		jv_free(k);
	}
	jv_free(keys);
	r = store_replace_cache(l->index_path, buf, (size_t)(out - buf), err);
	if (r == 0) {
		l->dirty = 0;
		free(l->text);
		l->text = buf;
		l->base = buf + hlen;
		l->nbase = (size_t)(out - buf - (ptrdiff_t)hlen) / LOG_INDEX_WIDTH;
		jv_free(l->delta);
		l->delta = jv_object();
	} else {
		free(buf);
	}
	return r;
}

int
finding_log_append(finding_log *l, jv list, char **err)
{
	char *buf = NULL;
	size_t len = 0, n = 0;
	FILE *m;
	off_t at = 0;
	jv lens = jv_array();
	struct stat sb;

	if (jv_get_kind(list) != JV_KIND_ARRAY)
		list = (jv_free(list), jv_array());
	if (jv_array_length(jv_copy(list)) && log_mend_tail(l, err))
		goto fail;
	if (!(m = open_memstream(&buf, &len)))
		die(EXIT_WORK, "out of memory");
	jv_array_foreach(list, i, f) {
		size_t before;

		(void)i;
		fflush(m);
		before = len;
		if (jv_get_kind(f) == JV_KIND_OBJECT)
			jsonl_put(m, jv_copy(f));
		fflush(m);
		lens = jv_array_append(lens, jv_number((double)(len - before)));
		jv_free(f);
	}
	fclose(m);
	if (len && store_append(l->path, buf, len, &at, err))
		goto fail;
	jv_array_foreach(list, i, f) {
		double w = jv_number_value(jv_array_get(jv_copy(lens), i));

		if (w > 0) {
			char *k = log_key(event_str(f, "detector"), event_str(f, "fingerprint"));
			long long oo, ol;

			/* the open finding of a behaviour is the one a pass changes */
			if (log_at(l, k, &oo, &ol))
				l->garbage += (double)ol;
			if (!strcmp(event_str(f, "status"), "open") && *event_str(f, "fingerprint"))
				log_set(l, k, (double)at + (double)n, w);
			else
				l->dirty = 2;	/* not what a pass appends: read the log afresh */
			n += (size_t)w;
			free(k);
		}
		jv_free(f);
	}
	jv_free(list);
	jv_free(lens);
	free(buf);
	buf = NULL;
	if (len)
		l->dirty = l->dirty == 2 ? 2 : 1;
	if (l->dirty == 2 && log_scan(l, err))
		return -1;
	/* most of a big log replaced, or any of a small one: keep only what is current */
	if (l->garbage > 0 && !stat(l->path, &sb) && (sb.st_size <= LOG_COMPACT_SMALL ||
	    l->garbage * 2 > (double)sb.st_size) && log_compact(l, err))
		return -1;
	/* the index is a cache: without it the next pass reads the log */
	if (l->dirty && log_index_save(l, err)) {
		warnf("%s", *err);
		free(*err);
		*err = NULL;
	}
	return 0;
fail:
	jv_free(list);
	jv_free(lens);
	free(buf);
	return -1;
}
