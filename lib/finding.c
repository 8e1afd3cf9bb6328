#define _GNU_SOURCE
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
 * findings.jsonl as a log. The index (findings.index.json) is a cache of the log: "log" names
 * the file it describes (device, inode, size, modification time), "open" maps the key of each
 * open finding's behaviour (log_key) to [offset, length] of its latest record, "garbage" counts
 * the bytes of records a later one of the same id replaced. Whatever does not match is read
 * afresh.
 */
struct finding_log {
	char *path, *index_path;
	jv open;
	double garbage;
	off_t *drop;		/* offsets of replaced records, from the last reading of the log */
	size_t ndrop;
	int dirty;		/* the index on disk is not this one */
};

enum { LOG_COMPACT_SMALL = 1 << 20, LOG_RECORD_MAX = 64 << 20, LOG_INDEX_VERSION = 2 };

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

/* the index from the log itself; 0, or -1 and *err when the log cannot be read */
static int
log_scan(finding_log *l, char **err)
{
	FILE *fp = store_fopen(l->path, err);
	jv ids = jv_object(), v;
	size_t cap = 0;
	jsonl r;

	jv_free(l->open);
	l->open = jv_object();
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
				jv cur = jv_object_get(jv_copy(l->open), jv_copy(pk));

				if (jv_get_kind(cur) == JV_KIND_ARRAY && jv_equal(jv_array_get(
				    jv_copy(cur), 0), jv_array_get(jv_copy(prev), 0)))
					l->open = jv_object_delete(l->open, pk);
				else
					jv_free(pk);
				jv_free(cur);
			} else {
				jv_free(pk);
			}
		}
		jv_free(prev);
		if (!strcmp(event_str(v, "status"), "open") && *event_str(v, "fingerprint")) {
			char *k = log_key(event_str(v, "detector"), event_str(v, "fingerprint"));

			key = jv_string(k);
			l->open = jv_object_set(l->open, jv_string(k),
			    JV_ARRAY(jv_number(off), jv_number(len)));
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

/* the index on disk, when it describes the log as it is now */
static int
log_index_load(finding_log *l)
{
	char *e = NULL, *ident, *text;
	size_t n;
	jv v, log;
	int ok;

	if (!(text = store_read(l->index_path, &n, &e))) {
		free(e);
		return 0;
	}
	v = jsonl_parse(text, n);
	free(text);
	ident = log_ident(l->path);
	log = jsonl_get(jv_copy(v), "log");
	ok = jv_get_kind(log) == JV_KIND_STRING && !strcmp(jv_string_value(log), ident) &&
	    jsonl_number(jsonl_get(jv_copy(v), "version"), 0) == LOG_INDEX_VERSION;
	jv_free(log);
	free(ident);
	if (ok) {
		jv open = jsonl_get(jv_copy(v), "open");

		ok = jv_get_kind(open) == JV_KIND_OBJECT;
		if (ok) {
			jv_free(l->open);
			l->open = open;
			l->garbage = jsonl_number(jsonl_get(jv_copy(v), "garbage"), 0);
		} else {
			jv_free(open);
		}
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
	l->open = jv_object();
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
	jv_free(l->open);
	free(l->drop);
	free(l->path);
	free(l->index_path);
	free(l);
}

/* the record the index points at, when it is that open finding */
static jv
log_record(finding_log *l, jv at, const char *detector, const char *fingerprint)
{
	long long off = jsonl_int(jv_array_get(jv_copy(at), 0), 0, LLONG_MAX, -1);
	long long len = jsonl_int(jv_array_get(jv_copy(at), 1), 1, LOG_RECORD_MAX, -1);
	jv v = jv_invalid();
	char *buf;
	int fd;

	if (off < 0 || len < 0 || (fd = open(l->path, O_RDONLY | O_CLOEXEC)) < 0)
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
		jv at = jv_object_get(jv_copy(l->open), jv_string(k));

		if (jv_get_kind(at) != JV_KIND_ARRAY) {
			jv_free(at);
			break;
		}
		v = log_record(l, at, detector, fingerprint);
		jv_free(at);
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

static int
log_index_save(finding_log *l, char **err)
{
	char *ident = log_ident(l->path), *text;
	jv v = jv_object();
	int r;

	v = jv_object_set(v, jv_string("version"), jv_number(LOG_INDEX_VERSION));
	v = jv_object_set(v, jv_string("log"), jv_string(ident));
	v = jv_object_set(v, jv_string("garbage"), jv_number(l->garbage));
	v = jv_object_set(v, jv_string("open"), jv_copy(l->open));
	free(ident);
	v = jv_dump_string(v, 0);
	text = xasprintf("%s\n", jv_string_value(v));
	jv_free(v);
	r = store_replace_cache(l->index_path, text, strlen(text), err);
	free(text);
	if (r == 0)
		l->dirty = 0;
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
			jv old = jv_object_get(jv_copy(l->open), jv_string(k));

			/* the open finding of a behaviour is the one a pass changes */
			if (jv_get_kind(old) == JV_KIND_ARRAY)
				l->garbage += jsonl_number(jv_array_get(jv_copy(old), 1), 0);
			jv_free(old);
			if (!strcmp(event_str(f, "status"), "open") && *event_str(f, "fingerprint"))
				l->open = jv_object_set(l->open, jv_string(k),
				    JV_ARRAY(jv_number((double)at + (double)n), jv_number(w)));
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
