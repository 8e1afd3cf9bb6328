#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "jsonl.h"
#include "store.h"
#include "ts.h"
#include "util.h"
#include "yamljv.h"

const char *
store_root(const char *dir)
{
	const char *e = getenv("MALLCOP_DIR");

	return dir && *dir ? dir : e && *e ? e : ".";
}

static int
mkdir_p(const char *path, char **err)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	*err = xasprintf("cannot create '%s': %s", path, strerror(errno));
	return -1;
}

int
store_open(store *s, const char *root, int write, char **err)
{
	struct stat st;
	int r;

	memset(s, 0, sizeof *s);
	s->lockfd = -1;
	s->root = xstrdup(root);
	s->dir = xasprintf("%s/.mallcop", root);
	s->events = xasprintf("%s/events", s->dir);
	r = stat(root, &st);
	if (r == 0 && !S_ISDIR(st.st_mode)) {
		r = -1;
		errno = ENOTDIR;
	}
	if (r) {
		*err = xasprintf("cannot open deployment '%s': %s", root, strerror(errno));
		store_close(s);
		return -1;
	}
	if (write && (mkdir_p(s->dir, err) || mkdir_p(s->events, err))) {
		store_close(s);
		return -1;
	}
	return 0;
}

void
store_close(store *s)
{
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s->root);
	free(s->dir);
	free(s->events);
	memset(s, 0, sizeof *s);
	s->lockfd = -1;
}

int
store_lock(store *s, long wait_ms, char **err)
{
	char *path = xasprintf("%s/lock", s->dir), buf[32] = "";
	struct timespec nap = {0, 50 * 1000 * 1000};
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ssize_t n;
	const char *held = getenv("MALLCOP_LOCK_FD");
	struct stat a, b;

	if (s->lockfd >= 0) {	/* this run holds it already */
		if (fd >= 0)
			close(fd);
		free(path);
		return 0;
	}
	if (fd < 0) {
		*err = xasprintf("cannot open '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* mallcop-watch holds the lock for the programs it runs and says so with its descriptor */
	if (held && *held && fstat(fd, &a) == 0 && fstat(atoi(held), &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		s->lockfd = fd;
		free(path);
		return 0;
	}
	for (long waited = 0; flock(fd, LOCK_EX | LOCK_NB); waited += 50) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			*err = xasprintf("cannot lock '%s': %s", path, strerror(errno));
			goto fail;
		}
		if (waited >= wait_ms) {
			n = pread(fd, buf, sizeof buf - 1, 0);
			buf[n > 0 ? n : 0] = 0;
			buf[strcspn(buf, "\n")] = 0;
			*err = xasprintf("deployment '%s' is in use by another mallcop run%s%s%s; "
			    "try again later or pass --wait", s->root, *buf ? " (pid " : "", buf,
			    *buf ? ")" : "");
			close(fd);
			free(path);
			return 1;
		}
		nanosleep(&nap, NULL);
	}
	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) != n)
		warnf("cannot write '%s':", path);
	s->lockfd = fd;
	free(path);
	return 0;
fail:
	close(fd);
	free(path);
	return -1;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
sync_dir(const char *path)
{
	char *d = xstrdup(path), *slash = strrchr(d, '/');
	int fd;

	if (slash)
		*slash = 0;
	if ((fd = open(slash ? d : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	free(d);
}

static int replace(const char *path, const void *data, size_t len, int durable, char **err);

int
store_replace(const char *path, const void *data, size_t len, char **err)
{
	return replace(path, data, len, 1, err);
}

int
store_replace_cache(const char *path, const void *data, size_t len, char **err)
{
	return replace(path, data, len, 0, err);
}

/* store_replace, synced to disk when durable (a cache need not be: see store.h) */
static int
replace(const char *path, const void *data, size_t len, int durable, char **err)
{
	char *tmp;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	/* what could not be read was not taken into account: it is not ours to replace */
	if (fd < 0 && errno != ENOENT) {
		*err = xasprintf("cannot read '%s': %s; it was left as it is", path,
		    strerror(errno));
		return -1;
	}
	if (fd >= 0)
		close(fd);
	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	if (write_all(fd, data, len) || (durable && fsync(fd))) {
		int e = errno;

		close(fd);
		errno = e;
		goto fail;
	}
	if (close(fd) || rename(tmp, path))
		goto fail;
	if (durable)
		sync_dir(path);
	free(tmp);
	return 0;
fail:
	*err = xasprintf("cannot write '%s': %s", path, strerror(errno));
	unlink(tmp);
	free(tmp);
	return -1;
}

int
store_append(const char *path, const void *data, size_t len, off_t *at, char **err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644), e;
	struct stat sb;

	if (fd < 0 || fstat(fd, &sb)) {
		*err = xasprintf("cannot append to '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (sb.st_size == 0)
		sync_dir(path);	/* a file just made must outlive a crash by name too */
	if (write_all(fd, data, len) == 0 && fsync(fd) == 0) {
		if (at)
			*at = sb.st_size;
		if (close(fd) == 0)
			return 0;
		*err = xasprintf("cannot append to '%s': %s", path, strerror(errno));
		return -1;
	}
	/* a full disk: none of it stays, so the next line starts where a line ends */
	e = errno;
	if (ftruncate(fd, sb.st_size) == 0)
		fsync(fd);
	close(fd);
	*err = xasprintf("cannot append to '%s': %s; nothing of this write was kept", path,
	    strerror(e));
	return -1;
}

FILE *
store_fopen(const char *path, char **err)
{
	FILE *f = fopen(path, "re");
	struct stat st;

	*err = NULL;
	if (!f) {
		if (errno != ENOENT)
			*err = xasprintf("cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		*err = xasprintf("cannot read '%s': %s", path, strerror(S_ISDIR(st.st_mode)
		    ? EISDIR : EINVAL));
		fclose(f);
		return NULL;
	}
	return f;
}

int
store_fclose(FILE *f, const char *path, char **err)
{
	int bad = ferror(f), e = errno;

	fclose(f);
	if (!bad)
		return 0;
	*err = xasprintf("cannot read '%s': %s", path, strerror(e));
	return -1;
}

char *
store_read(const char *path, size_t *len, char **err)
{
	char *text;

	*err = NULL;
	if (!(text = store_slurp(path, len)) && errno != ENOENT)
		*err = xasprintf("cannot read '%s': %s", path, strerror(errno));
	return text;
}

char *
store_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (!f)
		return NULL;
	do {
		if (cap - n < 65536)
			buf = xrealloc(buf, cap = cap ? cap * 2 : 65536);
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		free(buf);
		errno = e;
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/*
 * A set of event ids. Those event_id makes ("evt_" and 20 lower-case hex digits) are held as
 * their 80 bits, 10 bytes a slot, so that a month of a busy source fits in a few megabytes; any
 * other id (an earlier implementation's, a connector's own) as a string. Open addressing.
 */
typedef struct idset {
	uint64_t *hi;		/* the first 64 bits; hi 0 with lo 0 is an empty slot */
	uint16_t *lo;
	size_t cap, n;
	char **str;		/* the other ids */
	size_t scap, sn;
} idset;

static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* the bits of an id event_id makes; 0 for any other id (and for all zeros, the empty slot) */
static int
id_bits(const char *id, size_t n, uint64_t *hi, uint16_t *lo)
{
	uint64_t h = 0, l = 0;

	if (n != EVENT_IDSZ - 1 || memcmp(id, "evt_", 4))
		return 0;
	for (size_t i = 4; i < n; i++) {
		int d = id[i] >= '0' && id[i] <= '9' ? id[i] - '0'
		    : id[i] >= 'a' && id[i] <= 'f' ? id[i] - 'a' + 10 : -1;

		if (d < 0)
			return 0;
		if (i < 20)
			h = h << 4 | (uint64_t)d;
		else
			l = l << 4 | (uint64_t)d;
	}
	*hi = h;
	*lo = (uint16_t)l;
	return h || l;
}

static size_t
bits_slot(const idset *set, uint64_t hi, uint16_t lo)
{
	uint64_t h = (hi ^ lo) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h ^ h >> 29) & (set->cap - 1);
}

static int bits_add(idset *set, uint64_t hi, uint16_t lo);

static void
bits_grow(idset *set)
{
	idset big = *set;

	big.cap = set->cap ? set->cap * 2 : 1024;
	big.n = 0;
	big.hi = xcalloc(big.cap, sizeof *big.hi);
	big.lo = xcalloc(big.cap, sizeof *big.lo);
	for (size_t i = 0; i < set->cap; i++)
		if (set->hi[i] || set->lo[i])
			bits_add(&big, set->hi[i], set->lo[i]);
	free(set->hi);
	free(set->lo);
	*set = big;
}

static int
bits_add(idset *set, uint64_t hi, uint16_t lo)
{
	size_t i;

	if (set->n * 4 >= set->cap * 3)
		bits_grow(set);
	for (i = bits_slot(set, hi, lo); set->hi[i] || set->lo[i]; i = (i + 1) & (set->cap - 1))
		if (set->hi[i] == hi && set->lo[i] == lo)
			return 0;
	set->hi[i] = hi;
	set->lo[i] = lo;
	set->n++;
	return 1;
}

static int str_add(idset *set, const char *id, size_t n);

static void
str_grow(idset *set)
{
	char **old = set->str;
	size_t cap = set->scap;

	set->scap = cap ? cap * 2 : 64;
	set->str = xcalloc(set->scap, sizeof *set->str);
	set->sn = 0;
	for (size_t i = 0; i < cap; i++)
		if (old[i]) {
			str_add(set, old[i], strlen(old[i]));
			free(old[i]);
		}
	free(old);
}

static int
str_add(idset *set, const char *id, size_t n)
{
	size_t i;

	if (set->sn * 2 >= set->scap)
		str_grow(set);
	for (i = hash(id, n) & (set->scap - 1); set->str[i]; i = (i + 1) & (set->scap - 1))
		if (strlen(set->str[i]) == n && memcmp(set->str[i], id, n) == 0)
			return 0;
	set->str[i] = strndup(id, n);
	if (!set->str[i])
		die(EXIT_WORK, "out of memory");
	set->sn++;
	return 1;
}

/* 1 when added, 0 when already there */
static int
idset_add(idset *set, const char *id, size_t n)
{
	uint64_t hi;
	uint16_t lo;

	return id_bits(id, n, &hi, &lo) ? bits_add(set, hi, lo) : str_add(set, id, n);
}

static void
idset_free(idset *set)
{
	for (size_t i = 0; i < set->scap; i++)
		free(set->str[i]);
	free(set->str);
	free(set->hi);
	free(set->lo);
	memset(set, 0, sizeof *set);
}

/* the id of one stored line: the fast path reads our own and the earlier layout's first key */
static void
line_id(idset *set, const char *p, size_t n)
{
	static const char *pre[] = {"{\"id\":\"", "{\"id\": \""};
	jv v, id;

	for (int k = 0; k < 2; k++) {
		size_t pl = strlen(pre[k]);
		const char *q, *end;

		if (n <= pl || memcmp(p, pre[k], pl))
			continue;
		q = p + pl;
		end = memchr(q, '"', n - pl);
		if (end && !memchr(q, '\\', (size_t)(end - q))) {
			idset_add(set, q, (size_t)(end - q));
			return;
		}
	}
	v = jsonl_parse(p, n);
	id = jv_get_kind(v) == JV_KIND_OBJECT ? jv_object_get(jv_copy(v), jv_string("id"))
	    : jv_invalid();
	if (jv_get_kind(id) == JV_KIND_STRING)
		idset_add(set, jv_string_value(id), (size_t)jv_string_length_bytes(jv_copy(id)));
	jv_free(id);
	jv_free(v);
}

/*
 * Read the ids of an open event file, a line at a time (memory as long as its longest line,
 * not as the file). A last line without its newline was torn by a run that died while
 * writing; its checkpoint never moved, so it is cut off and fetched again.
 */
static int
load_ids(int fd, const char *path, idset *set, off_t *size, char **err)
{
	int dfd = dup(fd);
	FILE *f = dfd >= 0 ? fdopen(dfd, "r") : NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	off_t keep = 0;

	if (!f) {
		if (dfd >= 0)
			close(dfd);
		goto fail;
	}
	while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		if (n > 1)
			line_id(set, line, (size_t)n - 1);
		keep += n;
	}
	free(line);
	if (ferror(f)) {
		fclose(f);
		goto fail;
	}
	fclose(f);
	*size = lseek(fd, 0, SEEK_END);
	if (*size < 0)
		goto fail;
	if (keep != *size) {
		warnf("%s: dropping %lld bytes of an interrupted write", path,
		    (long long)(*size - keep));
		if (ftruncate(fd, keep))
			goto fail;
		*size = keep;
	}
	return 0;
fail:
	*err = xasprintf("cannot read '%s': %s", path, strerror(errno));
	return -1;
}

typedef struct wfile {
	char *path;
	char source[64];
	int month;
	int fd;
	off_t size;	/* before this batch: where a rollback cuts back to */
	int created;
	char *buf;
	size_t len;
	idset ids;
} wfile;

struct store_writer {
	store *s;
	wfile *f;
	size_t n;
	size_t last;	/* the file of the last event: the next one is most often in it too */
	int failed;
};

/* each file a batch writes to has a buffer: small, for a feed of many sources and months */
enum { WBUF = 1 << 17 };

store_writer *
store_writer_new(store *s)
{
	store_writer *w = xcalloc(1, sizeof *w);

	w->s = s;
	return w;
}

static int
wfile_flush(wfile *f, char **err)
{
	if (f->len && write_all(f->fd, f->buf, f->len)) {
		*err = xasprintf("cannot write '%s': %s", f->path, strerror(errno));
		return -1;
	}
	f->len = 0;
	return 0;
}

static wfile *
wfile_for(store_writer *w, const char *source, int month, char **err)
{
	struct stat st;
	wfile *f;

	if (w->n && w->f[w->last].month == month && !strcmp(w->f[w->last].source, source))
		return &w->f[w->last];
	for (size_t i = 0; i < w->n; i++)
		if (w->f[i].month == month && !strcmp(w->f[i].source, source))
			return &w->f[w->last = i];
	w->f = xrealloc(w->f, (w->n + 1) * sizeof *w->f);
	f = &w->f[w->last = w->n++];
	memset(f, 0, sizeof *f);
	snprintf(f->source, sizeof f->source, "%s", source);
	f->month = month;
	f->path = xasprintf("%s/%s-%04d-%02d.jsonl", w->s->events, source, month / 100,
	    month % 100);
	f->created = stat(f->path, &st) != 0;
	f->fd = open(f->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (f->fd < 0) {
		*err = xasprintf("cannot open '%s': %s", f->path, strerror(errno));
		return NULL;
	}
	if (load_ids(f->fd, f->path, &f->ids, &f->size, err) ||
	    lseek(f->fd, f->size, SEEK_SET) < 0)
		return NULL;
	f->buf = xmalloc(WBUF);
	return f;
}

int
store_writer_put(store_writer *w, const event_line *e, const char *line, size_t n, char **err)
{
	wfile *f;

	if (w->failed || !(f = wfile_for(w, e->source, e->month, err))) {
		w->failed = 1;
		return -1;
	}
	if (!idset_add(&f->ids, e->id, e->idlen))
		return 0;
	if (f->len + n + 1 > WBUF && wfile_flush(f, err)) {
		w->failed = 1;
		return -1;
	}
	if (n + 1 > WBUF) {
		if (write_all(f->fd, line, n) || write_all(f->fd, "\n", 1)) {
			*err = xasprintf("cannot write '%s': %s", f->path, strerror(errno));
			w->failed = 1;
			return -1;
		}
	} else {
		memcpy(f->buf + f->len, line, n);
		f->buf[f->len + n] = '\n';
		f->len += n + 1;
	}
	return 1;
}

int
store_writer_add(store_writer *w, jv e, char **err)
{
	event_line el = {.id = event_str(e, "id")};
	int64_t us = 0;
	jv line;
	int r;

	event_time(e, &us);
	el.idlen = strlen(el.id);
	el.month = ts_month(us);
	snprintf(el.source, sizeof el.source, "%s", event_str(e, "source"));
	line = jv_dump_string(jv_copy(e), 0);
	r = store_writer_put(w, &el, jv_string_value(line),
	    (size_t)jv_string_length_bytes(jv_copy(line)), err);
	jv_free(line);
	jv_free(e);
	return r;
}

static void
writer_free(store_writer *w)
{
	for (size_t i = 0; i < w->n; i++) {
		if (w->f[i].fd >= 0)
			close(w->f[i].fd);
		free(w->f[i].path);
		free(w->f[i].buf);
		idset_free(&w->f[i].ids);
	}
	free(w->f);
	free(w);
}

void
store_writer_abort(store_writer *w)
{
	/* every file goes back to what it was: nothing of the batch is half there */
	for (size_t i = 0; i < w->n; i++) {
		wfile *f = &w->f[i];

		if (f->fd < 0)
			continue;
		if (f->created && f->size == 0)
			unlink(f->path);
		else if (ftruncate(f->fd, f->size) == 0)
			fsync(f->fd);
	}
	writer_free(w);
}

int
store_writer_commit(store_writer *w, char **err)
{
	if (w->failed)
		goto fail;
	for (size_t i = 0; i < w->n; i++) {
		if (wfile_flush(&w->f[i], err))
			goto fail;
		if (fsync(w->f[i].fd)) {
			*err = xasprintf("cannot write '%s': %s", w->f[i].path, strerror(errno));
			goto fail;
		}
	}
	if (w->n)
		sync_dir(w->f[0].path);
	writer_free(w);
	return 0;
fail:
	store_writer_abort(w);
	return -1;
}

jv
store_checkpoints(store *s, char **err)
{
	char *path = xasprintf("%s/checkpoints.yaml", s->dir), *buf, *yerr;
	size_t len;
	jv v;

	if (!(buf = store_read(path, &len, err))) {
		free(path);
		return *err ? jv_invalid() : jv_object();
	}
	v = yamljv_parse(buf, len, NULL, &yerr);
	free(buf);
	if (!jv_is_valid(v)) {
		*err = xasprintf("%s:%s; restore it from git or delete it to fetch again", path,
		    yerr);
		free(yerr);
	} else if (jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		v = jv_object();
	} else if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		v = jv_invalid();
		*err = xasprintf("%s: not a mapping of checkpoints", path);
	}
	free(path);
	return v;
}

int
store_save_checkpoints(store *s, jv cps, char **err)
{
	char *path = xasprintf("%s/checkpoints.yaml", s->dir);
	char *text = yamljv_emit(cps);
	int r = store_replace(path, text, strlen(text), err);

	free(text);
	free(path);
	return r;
}

static int
cmp_file(const void *a, const void *b)
{
	return strcmp(((const store_file *)a)->path, ((const store_file *)b)->path);
}

size_t
store_event_files(store *s, int from_month, store_file **out, char **err)
{
	DIR *d = opendir(s->events);
	struct dirent *de;
	size_t n = 0;

	*out = NULL;
	if (!d) {
		if (errno != ENOENT && err)
			*err = xasprintf("cannot read '%s': %s", s->events, strerror(errno));
		return 0;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		store_file f = {0};
		int y, m;

		if (l < 7 || strcmp(de->d_name + l - 6, ".jsonl") || de->d_name[0] == '.')
			continue;
		if (l > 14 && sscanf(de->d_name + l - 13, "%4d-%2d.jsonl", &y, &m) == 2 &&
		    de->d_name[l - 14] == '-' && m >= 1 && m <= 12) {
			f.month = y * 100 + m;
			f.source = strndup(de->d_name, l - 14);
		}
		if (f.month && f.month < from_month) {
			free(f.source);
			continue;
		}
		f.path = xasprintf("%s/%s", s->events, de->d_name);
		*out = xrealloc(*out, (n + 1) * sizeof **out);
		(*out)[n++] = f;
	}
	closedir(d);
	if (n)
		qsort(*out, n, sizeof **out, cmp_file);
	return n;
}

void
store_files_free(store_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].source);
	}
	free(f);
}

/* the time of a stored line from its text, when it is where our writer puts it */
static int
quick_time(const char *line, size_t n, int64_t *us)
{
	static const char key[] = "\"timestamp\":";
	const char *p = memmem(line, n < 256 ? n : 256, key, sizeof key - 1), *q;
	char buf[48];

	if (!p)
		return -1;
	p += sizeof key - 1;
	while (*p == ' ')
		p++;
	if (*p++ != '"' || !(q = memchr(p, '"', (size_t)(line + n - p))) ||
	    (size_t)(q - p) >= sizeof buf)
		return -1;
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = 0;
	return ts_parse(buf, us);
}

int
store_each_event(const store_file *f, int64_t since, store_event_fn fn, void *arg,
    size_t *skipped)
{
	FILE *fp = fopen(f->path, "re");
	char *line = NULL;
	size_t cap = 0, bad = 0, lineno = 0;
	ssize_t n;
	int stop = 0, legacy;

	if (!fp)
		return -1;
	while (!stop && (n = getline(&line, &cap, fp)) > 0) {
		int64_t us;
		jv v;

		lineno++;
		if (line[n - 1] != '\n')	/* a write still in progress */
			break;
		if (n == 1)
			continue;
		if (since && quick_time(line, (size_t)n, &us) == 0 && us < since)
			continue;
		v = jsonl_parse(line, (size_t)n);
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			if (bad++ < 3)
				warnf("%s:%zu: skipped malformed line", f->path, lineno);
			jv_free(v);
			continue;
		}
		line[n - 1] = 0;
		legacy = memmem(line, (size_t)n, "[USER_DATA_", 11) != NULL;
		if (legacy)
			v = event_unwrap(v);
		/* unwrapped, or holding a NUL byte (not its C string): no text to go by */
		stop = fn(v, legacy || memchr(line, 0, (size_t)n - 1) ? NULL : line, arg);
	}
	if (skipped)
		*skipped += bad;
	free(line);
	if (ferror(fp)) {
		int e = errno;

		fclose(fp);
		errno = e;
		return -1;
	}
	fclose(fp);
	return 0;
}

long
store_count_lines(const store_file *f)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	static char buf[1 << 16];
	long count = 0;
	char first = '\n', prev = '\n', last = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	/* a line counts when it starts with '{' and ends with '}' before its newline */
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];

			if (prev == '\n')
				first = c;
			if (c == '\n') {
				if (first == '{' && last == '}')
					count++;
			} else if (c != ' ' && c != '\r' && c != '\t') {
				last = c;
			}
			prev = c;
		}
	}
	close(fd);
	return n < 0 ? -1 : count;
}

jv
store_findings(store *s, size_t *skipped, char **err)
{
	char *path = xasprintf("%s/findings.jsonl", s->dir);
	FILE *fp = store_fopen(path, err);
	jv all = jv_array(), seen = jv_object(), v;
	jsonl r;

	if (fp) {
		jsonl_init(&r, fp, path);
		r.tail = 1;
		while (jsonl_next(&r, &v)) {
			if (jv_get_kind(v) != JV_KIND_OBJECT) {
				jv_free(v);
				r.skipped++;
				continue;
			}
			if (memmem(r.buf, r.len, "[USER_DATA_", 11))
				v = event_unwrap(v);
			/* an earlier implementation could leave a finding twice: the last wins */
			{
				jv id = jsonl_get(jv_copy(v), "id"), at = jv_invalid();

				if (jv_get_kind(id) == JV_KIND_STRING)
					at = jv_object_get(jv_copy(seen), jv_copy(id));
				if (jv_get_kind(at) == JV_KIND_NUMBER) {
					all = jv_array_set(all, (int)jv_number_value(at), v);
					jv_free(id);
				} else {
					if (jv_get_kind(id) == JV_KIND_STRING)
						seen = jv_object_set(seen, id,
						    jv_number(jv_array_length(jv_copy(all))));
					else
						jv_free(id);
					all = jv_array_append(all, v);
				}
				jv_free(at);
			}
		}
		if (skipped)
			*skipped += r.skipped;
		if (store_fclose(fp, path, err)) {
			jv_free(all);
			all = jv_invalid();
		}
		jsonl_done(&r);
	} else if (*err) {
		jv_free(all);
		all = jv_invalid();
	}
	jv_free(seen);
	free(path);
	return all;
}
