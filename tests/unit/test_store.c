/* store: the .mallcop/ directory: appending events, rollback, checkpoints, reading, locking */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "t.h"
#include "ts.h"
#include "util.h"

static char root[] = "/tmp/test_store.XXXXXX";

static char *
at(const char *rel)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", root, rel);
	return buf[k];
}

static void
put_file(const char *rel, const char *text)
{
	FILE *f = fopen(at(rel), "w");

	if (!f || fputs(text, f) == EOF || fclose(f)) {
		printf("Bail out! cannot write %s\n", rel);
		exit(1);
	}
}

/* a whole file, or "" when it cannot be read; malloc'd */
static char *
file_text(const char *rel)
{
	char *s = store_slurp(at(rel), NULL);

	return s ? s : strdup("");
}

static long
file_size(const char *rel)
{
	struct stat st;

	return stat(at(rel), &st) ? -1 : (long)st.st_size;
}

static int
lines_in(const char *rel)
{
	char *s = file_text(rel);
	int n = 0;

	for (char *p = s; *p; p++)
		n += *p == '\n';
	free(s);
	return n;
}

static jv
ev(const char *id, const char *source, const char *ts)
{
	char *text = NULL;
	jv v;

	if (asprintf(&text, "{\"id\":\"%s\",\"timestamp\":\"%s\",\"ingested_at\":\"%s\","
	    "\"source\":\"%s\",\"event_type\":\"push\",\"actor\":\"alice\",\"action\":\"a\","
	    "\"target\":\"t\",\"severity\":\"info\",\"metadata\":{},\"raw\":{}}", id, ts, ts,
	    source) < 0)
		exit(1);
	v = jv_parse(text);
	free(text);
	return v;
}

/* an event with a metadata string of n bytes: longer than the writer's buffer, written at once */
static jv
big_ev(const char *id, const char *ts, size_t n)
{
	char *pad = malloc(n + 1);
	jv e = ev(id, "github", ts);

	memset(pad, 'p', n);
	pad[n] = 0;
	e = jv_object_set(e, jv_string("metadata"),
	    jv_object_set(jv_object(), jv_string("pad"), jv_string(pad)));
	free(pad);
	return e;
}

static void
clean(void)
{
	char *cmd = NULL;

	if (asprintf(&cmd, "rm -rf '%s'", root) > 0 && system(cmd) != 0)
		printf("# could not remove %s\n", root);
	free(cmd);
}

static void
test_open(store *s)
{
	store ro;
	char *err = NULL;
	struct stat st;

	ok(store_open(&ro, root, 0, &err) == 0, "a reader opens a deployment without a store");
	ok(stat(at(".mallcop"), &st) != 0, "and does not create .mallcop");
	store_close(&ro);

	ok(store_open(s, root, 1, &err) == 0, "a writer opens the deployment");
	ok(stat(at(".mallcop/events"), &st) == 0 && S_ISDIR(st.st_mode),
	    "and creates .mallcop/events");
	is_str(s->events, at(".mallcop/events"), "s->events is the events directory");

	err = NULL;
	ok(store_open(&ro, at("nowhere"), 0, &err) == -1 && err && strstr(err, "nowhere") &&
	    strstr(err, "No such file"), "a missing deployment is an error naming it (%s)",
	    err ? err : "opened");
	free(err);
	store_close(&ro);

	put_file("plain", "x");
	err = NULL;
	errno = ENOENT;	/* left over from an earlier call, as errno often is */
	ok(store_open(&ro, at("plain"), 0, &err) == -1 && err && strstr(err, "Not a directory"),
	    "a file is not a deployment: the message says so (%s)", err ? err : "opened");
	free(err);
	store_close(&ro);
	unlink(at("plain"));
}

static void
test_writer(store *s)
{
	store_writer *w = store_writer_new(s);
	char *err = NULL, *text;

	ok(store_writer_add(w, ev("evt_a1", "github", "2026-03-05T14:30:00Z"), &err) == 1,
	    "add a new event");
	ok(store_writer_add(w, ev("evt_a2", "github", "2026-03-31T23:59:59Z"), &err) == 1,
	    "add a second event of the same month");
	ok(store_writer_add(w, ev("evt_a1", "github", "2026-03-05T14:30:00Z"), &err) == 0,
	    "an id already in the batch is skipped");
	ok(store_writer_add(w, ev("evt_b1", "github", "2026-04-01T00:00:00Z"), &err) == 1,
	    "an event of the next month");
	ok(store_writer_add(w, ev("evt_c1", "aws-cloudtrail", "2026-03-10T00:00:00Z"), &err) == 1,
	    "an event of another source");
	ok(store_writer_commit(w, &err) == 0, "commit");
	ok(lines_in(".mallcop/events/github-2026-03.jsonl") == 2, "two lines in github-2026-03.jsonl");
	ok(lines_in(".mallcop/events/github-2026-04.jsonl") == 1,
	    "the month is the month of the event's time");
	ok(lines_in(".mallcop/events/aws-cloudtrail-2026-03.jsonl") == 1,
	    "one file per source and month");
	text = file_text(".mallcop/events/github-2026-03.jsonl");
	ok(!strncmp(text, "{\"id\":\"evt_a1\",\"timestamp\":\"2026-03-05T14:30:00Z\"", 49) &&
	    strstr(text, "}\n{\"id\":\"evt_a2\""), "one compact JSON object per line, in order");
	free(text);

	/* a second batch: ids already on disk are skipped, the earlier layout's too */
	put_file(".mallcop/events/github-2026-02.jsonl",
	    "{\"id\": \"evt_7acaa7aa8648\", \"timestamp\": \"2026-02-05T14:30:00+00:00\", "
	    "\"source\": \"github\"}\n");
	w = store_writer_new(s);
	ok(store_writer_add(w, ev("evt_a2", "github", "2026-03-31T23:59:59Z"), &err) == 0,
	    "an id already on disk is skipped");
	ok(store_writer_add(w, ev("evt_7acaa7aa8648", "github", "2026-02-05T14:30:00Z"), &err) == 0,
	    "a 12-hex id stored by the earlier implementation is skipped");
	ok(store_writer_add(w, ev("evt_a3", "github", "2026-03-06T00:00:00Z"), &err) == 1,
	    "a new id in the same file is added");
	ok(store_writer_commit(w, &err) == 0, "commit");
	ok(lines_in(".mallcop/events/github-2026-03.jsonl") == 3, "one line more, not two");
	ok(lines_in(".mallcop/events/github-2026-02.jsonl") == 1, "the old file is unchanged");
}

/* ids of event_id's form are held as bits, any other as a string: each is the id it is */
static void
test_writer_ids(store *s)
{
	static const char *ids[] = {"evt_00000000000000000000", "evt_0123456789abcdef0123",
	    "evt_0123456789ABCDEF0123", "evt_0123456789abcdef012", "evt_0123456789abcdef0124",
	    "g-1"};
	char id[32], *err = NULL;
	store_writer *w = store_writer_new(s);
	int added = 0, again = 0;

	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
		added += store_writer_add(w, ev(ids[i], "idtest", "2026-06-01T00:00:00Z"), &err);
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
		again += store_writer_add(w, ev(ids[i], "idtest", "2026-06-01T00:00:00Z"), &err);
	ok(added == 6 && again == 0, "six ids that differ in case, length or one digit are six");
	/* enough for the set to grow a few times */
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof id, "evt_%020x", i * 7919 + 1);
		added += store_writer_add(w, ev(id, "idtest", "2026-06-02T00:00:00Z"), &err);
	}
	ok(added == 5006 && store_writer_commit(w, &err) == 0, "5000 more, and a commit");
	w = store_writer_new(s);
	again = 0;
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof id, "evt_%020x", i * 7919 + 1);
		again += store_writer_add(w, ev(id, "idtest", "2026-06-03T00:00:00Z"), &err);
	}
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
		again += store_writer_add(w, ev(ids[i], "idtest", "2026-06-01T00:00:00Z"), &err);
	ok(again == 0, "read back from the file, every one of them is there already");
	ok(store_writer_add(w, ev("evt_ffffffffffffffffffff", "idtest", "2026-06-01T00:00:00Z"),
	    &err) == 1 && store_writer_commit(w, &err) == 0, "and a new one is not");
	ok(lines_in(".mallcop/events/idtest-2026-06.jsonl") == 5007, "5007 lines in all");
	unlink(at(".mallcop/events/idtest-2026-06.jsonl"));
}

static void
test_torn(store *s)
{
	store_writer *w;
	char *err = NULL, *text;

	put_file(".mallcop/events/m365-2026-05.jsonl",
	    "{\"id\":\"evt_t1\",\"timestamp\":\"2026-05-01T00:00:00Z\"}\n{\"id\":\"evt_t2\",\"times");
	w = store_writer_new(s);
	ok(store_writer_add(w, ev("evt_t2", "m365", "2026-05-02T00:00:00Z"), &err) == 1,
	    "the id of a torn last line does not count as stored");
	ok(store_writer_commit(w, &err) == 0, "commit");
	text = file_text(".mallcop/events/m365-2026-05.jsonl");
	ok(!strncmp(text, "{\"id\":\"evt_t1\",\"timestamp\":\"2026-05-01T00:00:00Z\"}\n"
	    "{\"id\":\"evt_t2\",\"timestamp\":\"2026-05-02T00:00:00Z\"", 99) && !strstr(text, "\"times\n"),
	    "a torn last line is cut off at the next append");
	ok(lines_in(".mallcop/events/m365-2026-05.jsonl") == 2, "two whole lines");
	free(text);
}

static void
test_abort(store *s)
{
	store_writer *w;
	char *err = NULL;
	long before = file_size(".mallcop/events/github-2026-03.jsonl");
	struct stat st;

	w = store_writer_new(s);
	ok(store_writer_add(w, ev("evt_x1", "github", "2026-03-07T00:00:00Z"), &err) == 1,
	    "abort: an event");
	ok(store_writer_add(w, big_ev("evt_x2", "2026-03-08T00:00:00Z", 2 << 20), &err) == 1,
	    "abort: an event of 2 MB, written at once");
	ok(store_writer_add(w, ev("evt_n1", "github", "2026-07-01T00:00:00Z"), &err) == 1,
	    "abort: an event for a new file");
	ok(file_size(".mallcop/events/github-2026-03.jsonl") > before + (2 << 20),
	    "the big event is on disk before the commit");
	store_writer_abort(w);
	ok(file_size(".mallcop/events/github-2026-03.jsonl") == before,
	    "store_writer_abort cuts the file back to its size before the batch");
	ok(stat(at(".mallcop/events/github-2026-07.jsonl"), &st) != 0,
	    "and removes a file the batch created");

	/* a failure in the middle: the whole batch goes */
	mkdir(at(".mallcop/events/github-2026-08.jsonl"), 0755);
	w = store_writer_new(s);
	ok(store_writer_add(w, big_ev("evt_y1", "2026-03-09T00:00:00Z", 2 << 20), &err) == 1,
	    "fail: a big event");
	err = NULL;
	ok(store_writer_add(w, ev("evt_y2", "github", "2026-08-01T00:00:00Z"), &err) == -1 &&
	    err && strstr(err, "github-2026-08.jsonl"), "fail: a file that cannot be opened (%s)",
	    err ? err : "added");
	free(err);
	err = NULL;
	ok(store_writer_add(w, ev("evt_y3", "github", "2026-03-10T00:00:00Z"), &err) == -1,
	    "fail: nothing more is taken after an error");
	free(err);
	err = NULL;
	ok(store_writer_commit(w, &err) == -1, "fail: the commit fails");
	free(err);
	ok(file_size(".mallcop/events/github-2026-03.jsonl") == before,
	    "fail: the file is back to its size before the batch");
	rmdir(at(".mallcop/events/github-2026-08.jsonl"));
}

static void
test_replace(void)
{
	char *err = NULL, *text;

	ok(store_replace(at("r.txt"), "first\n", 6, &err) == 0, "store_replace creates a file");
	ok(store_replace(at("r.txt"), "second", 6, &err) == 0, "store_replace replaces it");
	text = file_text("r.txt");
	is_str(text, "second", "the new content, nothing of the old");
	free(text);
	{
		char *cmd = NULL, out[16] = "";
		FILE *p;

		if (asprintf(&cmd, "ls -a '%s' | grep -c tmp", root) < 0)
			exit(1);
		p = popen(cmd, "r");
		if (p && fgets(out, sizeof out, p) == NULL)
			out[0] = 0;
		if (p)
			pclose(p);
		free(cmd);
		is_str(out, "0\n", "no temporary file is left behind");
	}
	ok(store_replace(at("no/such/dir/x"), "x", 1, &err) == -1 && err &&
	    strstr(err, "cannot write") && strstr(err, "no/such/dir/x"),
	    "a failed replace names the file (%s)", err ? err : "written");
	free(err);
	unlink(at("r.txt"));
}

/*
 * A file that is there but that this user cannot read is not replaced: whoever wrote it knew
 * something the caller did not read. Only root can make such a file and become a user.
 */
static void
test_replace_unreadable(void)
{
	char dir[] = "/tmp/test_store_guard.XXXXXX", *path, *err = NULL;
	pid_t pid;
	int status = -1;

	if (geteuid() != 0) {
		printf("ok %d - # SKIP store_replace of a file the user cannot read: needs root\n",
		    ++t_n);
		return;
	}
	if (!mkdtemp(dir) || chmod(dir, 0777)) {
		printf("Bail out! guard directory\n");
		exit(1);
	}
	path = xasprintf("%s/findings.jsonl", dir);
	if (store_replace(path, "root's\n", 7, &err) || chmod(path, 0)) {
		printf("Bail out! guard file\n");
		exit(1);
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(3);
		if (store_replace(path, "mine\n", 5, &err) == 0)
			_exit(1);
		_exit(strstr(err, "cannot read '") && strstr(err, "findings.jsonl': Permission "
		    "denied; it was left as it is") ? 0 : 2);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "store_replace refuses a file the user cannot read, naming it (status %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	{
		char *text = store_slurp(path, NULL);

		is_str(text, "root's\n", "and the file is as it was");
		free(text);
	}
	unlink(path);
	rmdir(dir);
	free(path);
}

static void
test_checkpoints(store *s)
{
	char *err = NULL;
	jv cps, back;

	cps = store_checkpoints(s, &err);
	ok(jv_get_kind(cps) == JV_KIND_OBJECT && jv_object_length(jv_copy(cps)) == 0,
	    "no checkpoints.yaml: no checkpoints");
	jv_free(cps);
	cps = jv_parse("{\"files\":{\"updated_at\":\"2026-03-10T12:00:01Z\","
	    "\"value\":\"{\\\"files\\\":{\\\"/a b/x.jsonl\\\":{\\\"dev\\\":2049,\\\"off\\\":10}}}\"},"
	    "\"github\":{\"updated_at\":\"2026-03-10T12:00:01Z\",\"value\":\"2026-03-05T16:00:00Z\"},"
	    "\"azure:learning_mode_was_active\":{\"updated_at\":\"x\",\"value\":\"true\"},"
	    "\"n\":{\"updated_at\":\"x\",\"value\":\"12345\"}}");
	ok(store_save_checkpoints(s, jv_copy(cps), &err) == 0, "save checkpoints");
	back = store_checkpoints(s, &err);
	ok(jv_equal(jv_copy(cps), jv_copy(back)), "they load back the same, every value a string");
	jv_free(back);
	jv_free(cps);

	put_file(".mallcop/checkpoints.yaml", "github:\n  value: [unclosed\n");
	err = NULL;
	back = store_checkpoints(s, &err);
	ok(!jv_is_valid(back) && err && strstr(err, "checkpoints.yaml:"),
	    "a broken checkpoints.yaml is an error naming it (%s)", err ? err : "loaded");
	jv_free(back);
	free(err);
	put_file(".mallcop/checkpoints.yaml", "- a\n- b\n");
	err = NULL;
	back = store_checkpoints(s, &err);
	ok(!jv_is_valid(back) && err && strstr(err, "not a mapping"),
	    "a checkpoints.yaml that is not a mapping is an error (%s)", err ? err : "loaded");
	jv_free(back);
	free(err);
	unlink(at(".mallcop/checkpoints.yaml"));
	mkdir(at(".mallcop/checkpoints.yaml"), 0755);
	err = NULL;
	back = store_checkpoints(s, &err);
	ok(!jv_is_valid(back) && err && strstr(err, "cannot read '") &&
	    strstr(err, "checkpoints.yaml': Is a directory"),
	    "a checkpoints.yaml that cannot be read is an error, not no checkpoints (%s)",
	    err ? err : "loaded");
	jv_free(back);
	free(err);
	rmdir(at(".mallcop/checkpoints.yaml"));
}

/* absent and unreadable are told apart: a reader that took one for the other would let a
 * writer replace what it never read */
static void
test_state_files(void)
{
	char *err = NULL, *text, *want;
	size_t len = 99;
	FILE *f;
	store_file sf = {at("d.jsonl"), NULL, 0};

	text = store_read(at("absent"), &len, &err);
	ok(!text && !err, "store_read: an absent file is NULL without an error");
	f = store_fopen(at("absent"), &err);
	ok(!f && !err, "store_fopen: the same");
	put_file("here", "{\"a\":1}\n");
	text = store_read(at("here"), &len, &err);
	ok(text && len == 8 && !err, "store_read: a file's text and length");
	free(text);
	f = store_fopen(at("here"), &err);
	ok(f && !err, "store_fopen: a file opens");
	if (f) {
		char buf[16];

		ok(fgets(buf, sizeof buf, f) && store_fclose(f, at("here"), &err) == 0 && !err,
		    "store_fclose: a file read to its end closes without an error");
	}
	unlink(at("here"));
	mkdir(at("d.jsonl"), 0755);
	want = xasprintf("cannot read '%s': Is a directory", at("d.jsonl"));
	text = store_read(at("d.jsonl"), &len, &err);
	ok(!text, "store_read: a directory is no file");
	is_str(err, want, "store_read: and it is an error naming it");
	free(err);
	f = store_fopen(at("d.jsonl"), &err);
	ok(!f, "store_fopen: a directory does not open");
	is_str(err, want, "store_fopen: and it is an error naming it");
	free(err);
	errno = 0;
	ok(store_each_event(&sf, 0, NULL, NULL, NULL) == -1 && errno == EISDIR,
	    "store_each_event: an event file that cannot be read is an error (%s)",
	    strerror(errno));
	free(want);
	rmdir(at("d.jsonl"));
	{
		store o;
		store_file *files;

		mkdir(at("other"), 0755);
		mkdir(at("other/.mallcop"), 0755);
		put_file("other/.mallcop/events", "");
		err = NULL;
		if (store_open(&o, at("other"), 0, &err) == 0) {
			ok(store_event_files(&o, 0, &files, &err) == 0 && err &&
			    strstr(err, "other/.mallcop/events': Not a directory"),
			    "store_event_files: an events directory that cannot be read is an error "
			    "(%s)", err ? err : "none");
			store_close(&o);
		}
		free(err);
		unlink(at("other/.mallcop/events"));
		rmdir(at("other/.mallcop"));
		rmdir(at("other"));
	}
}

static void
test_event_files(store *s)
{
	store_file *f;
	size_t n;
	int ok_all;

	/* from the tests above: aws-cloudtrail-2026-03, github-2026-02, -03, -04, m365-2026-05 */
	put_file(".mallcop/events/azure-2025-12.jsonl", "");
	put_file(".mallcop/events/odd.jsonl", "");
	put_file(".mallcop/events/.hidden.jsonl", "");
	put_file(".mallcop/events/notes.txt", "");
	n = store_event_files(s, 0, &f, NULL);
	ok(n == 7, "every .jsonl file but the hidden one (%zu)", n);
	ok_all = n == 7 && strstr(f[0].path, "/aws-cloudtrail-2026-03.jsonl") &&
	    strstr(f[1].path, "/azure-2025-12.jsonl") && strstr(f[2].path, "/github-2026-02.jsonl") &&
	    strstr(f[3].path, "/github-2026-03.jsonl") && strstr(f[4].path, "/github-2026-04.jsonl") &&
	    strstr(f[5].path, "/m365-2026-05.jsonl") && strstr(f[6].path, "/odd.jsonl");
	ok(ok_all, "sorted by name");
	ok(n == 7 && f[0].source && !strcmp(f[0].source, "aws-cloudtrail") && f[0].month == 202603,
	    "source and month from the name");
	ok(n == 7 && f[6].source == NULL && f[6].month == 0, "a name without a month: unknown");
	store_files_free(f, n);

	n = store_event_files(s, 202603, &f, NULL);
	ok(n == 5 && strstr(f[0].path, "/aws-cloudtrail-2026-03.jsonl") &&
	    strstr(f[1].path, "/github-2026-03.jsonl") && strstr(f[2].path, "/github-2026-04.jsonl") &&
	    strstr(f[3].path, "/m365-2026-05.jsonl") && strstr(f[4].path, "/odd.jsonl"),
	    "from_month 202603: earlier months are left out, unknown ones kept (%zu)", n);
	store_files_free(f, n);
	unlink(at(".mallcop/events/azure-2025-12.jsonl"));
	unlink(at(".mallcop/events/odd.jsonl"));
	unlink(at(".mallcop/events/.hidden.jsonl"));
	unlink(at(".mallcop/events/notes.txt"));
}

typedef struct seen {
	char ids[512];
	int n, stop_after;
} seen;

static int
collect(jv e, const char *text, void *arg)
{
	seen *c = arg;

	(void)text;
	jv id = jv_object_get(jv_copy(e), jv_string("id"));
	jv actor = jv_object_get(e, jv_string("actor"));

	if (jv_get_kind(id) == JV_KIND_STRING) {
		strncat(c->ids, jv_string_value(id), sizeof c->ids - strlen(c->ids) - 2);
		strcat(c->ids, jv_get_kind(actor) == JV_KIND_STRING &&
		    !strcmp(jv_string_value(actor), "admin") ? "=admin " : " ");
	}
	jv_free(id);
	jv_free(actor);
	c->n++;
	return c->stop_after && c->n >= c->stop_after;
}

static void
test_each_event(void)
{
	store_file f = {at(".mallcop/events/t-2026-06.jsonl"), NULL, 202606};
	seen c;
	size_t skipped = 0;
	int64_t since;

	put_file(".mallcop/events/t-2026-06.jsonl",
	    "{\"id\":\"e1\",\"timestamp\":\"2026-06-01T00:00:00Z\",\"actor\":\"a\"}\n"
	    "\n"
	    "not json\n"
	    "{\"id\": \"e2\", \"timestamp\": \"2026-06-02T00:00:00+00:00\", "
	    "\"actor\": \"[USER_DATA_BEGIN]admin[USER_DATA_END]\"}\n"
	    "{\"id\":\"old\",\"timestamp\":\"2026-05-01T00:00:00Z\", broken old line\n"
	    "[1,2]\n"
	    "{\"id\":\"e3\",\"timestamp\":\"2026-06-03T00:00:00+02:00\",\"actor\":\"c\"}\n"
	    "{\"id\":\"e4\",\"timestamp\":\"2026-06-04T00:00:00Z\",\"act");

	memset(&c, 0, sizeof c);
	ok(store_each_event(&f, 0, collect, &c, &skipped) == 0, "store_each_event reads a file");
	is_str(c.ids, "e1 e2=admin e3 ", "events in order, markers removed, the torn line left");
	ok(skipped == 3, "three malformed lines counted (%zu)", skipped);

	memset(&c, 0, sizeof c);
	skipped = 0;
	ts_parse("2026-06-02T00:00:00Z", &since);
	store_each_event(&f, since, collect, &c, &skipped);
	is_str(c.ids, "e2=admin e3 ", "since: older events are skipped, +00:00 read too");
	ok(skipped == 2, "since: an old line is passed over without being parsed (%zu)", skipped);

	memset(&c, 0, sizeof c);
	c.stop_after = 1;
	store_each_event(&f, 0, collect, &c, NULL);
	is_str(c.ids, "e1 ", "the callback stops the walk");

	{
		store_file missing = {at(".mallcop/events/none-2026-01.jsonl"), NULL, 202601};

		ok(store_each_event(&missing, 0, collect, &c, NULL) == -1, "a missing file is -1");
	}
	ok(store_count_lines(&f) == 3, "store_count_lines: complete object lines only (%ld)",
	    store_count_lines(&f));
	put_file(".mallcop/events/t-2026-06.jsonl", "{\"id\":\"a\"}\r\n{\"id\":\"b\"}  \n\n{\"id\":\"c\"}");
	ok(store_count_lines(&f) == 2, "store_count_lines: CRLF and trailing blanks, torn last line "
	    "not counted (%ld)", store_count_lines(&f));
	unlink(f.path);
}

static void
test_findings(store *s)
{
	size_t skipped = 0;
	jv all;
	char *d, *err = NULL;

	all = store_findings(s, &skipped, &err);
	ok(jv_get_kind(all) == JV_KIND_ARRAY && jv_array_length(jv_copy(all)) == 0 && skipped == 0
	    && !err, "no findings.jsonl: no findings");
	jv_free(all);
	/* a findings.jsonl that is there but cannot be read is not an empty one */
	mkdir(at(".mallcop/findings.jsonl"), 0755);
	all = store_findings(s, &skipped, &err);
	ok(!jv_is_valid(all), "a findings.jsonl that cannot be read: no list of findings");
	d = xasprintf("cannot read '%s': Is a directory", at(".mallcop/findings.jsonl"));
	is_str(err, d, "and a message naming it (%s)", err);
	free(d);
	free(err);
	err = NULL;
	jv_free(all);
	rmdir(at(".mallcop/findings.jsonl"));
	put_file(".mallcop/findings.jsonl",
	    "{\"id\":\"fnd_1\",\"status\":\"open\",\"title\":\"[USER_DATA_BEGIN]New actor[USER_DATA_END]\"}\n"
	    "{\"id\":\"fnd_2\",\"status\":\"open\",\"title\":\"two\"}\n"
	    "garbage\n"
	    "[\"not\",\"an\",\"object\"]\n"
	    "{\"id\":\"fnd_1\",\"status\":\"resolved\",\"title\":\"[USER_DATA_BEGIN]New actor[USER_DATA_END]\"}\n"
	    "{\"status\":\"open\",\"title\":\"no id\"}\n"
	    "{\"id\":\"fnd_3\",\"status\":\"op");
	all = store_findings(s, &skipped, &err);
	d = NULL;
	{
		jv t = jv_dump_string(jv_copy(all), 0);

		d = strdup(jv_string_value(t));
		jv_free(t);
	}
	is_str(d, "[{\"id\":\"fnd_1\",\"status\":\"resolved\",\"title\":\"New actor\"},"
	    "{\"id\":\"fnd_2\",\"status\":\"open\",\"title\":\"two\"},"
	    "{\"status\":\"open\",\"title\":\"no id\"}]",
	    "the last line of a duplicate id wins in its place, markers removed");
	ok(skipped == 2, "a malformed line and a non-object are counted (%zu)", skipped);
	free(d);
	jv_free(all);
	unlink(at(".mallcop/findings.jsonl"));
}

static void
test_lock(store *s)
{
	char *err = NULL;
	pid_t pid;
	int status = -1;

	ok(store_lock(s, 0, &err) == 0, "the first lock is taken");
	pid = fork();
	if (pid == 0) {
		store s2;
		struct timespec a, b;
		char *e = NULL, want[64];
		int r;
		long ms;

		if (store_open(&s2, root, 0, &e))
			_exit(10);
		clock_gettime(CLOCK_MONOTONIC, &a);
		r = store_lock(&s2, 300, &e);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		snprintf(want, sizeof want, "(pid %ld)", (long)getppid());
		if (r != 1)
			_exit(11);
		if (!e || !strstr(e, "in use") || !strstr(e, want))
			_exit(12);
		if (ms < 250 || ms > 3000)
			_exit(13);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a second lock from another process returns 1 after the wait, naming the holder "
	    "(child exit %d: 11 wrong result, 12 message, 13 timing)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	pid = fork();
	if (pid == 0) {
		store s2;
		char *e = NULL;

		close(s->lockfd);	/* forked, not exec'd: the parent's lock is shared */
		if (store_open(&s2, root, 0, &e))
			_exit(10);
		_exit(store_lock(&s2, 5000, &e) == 0 ? 0 : 11);
	}
	usleep(200 * 1000);
	store_close(s);	/* lets go of the lock; the waiting child takes it */
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a waiting lock is taken when the holder lets go");
}

int
main(void)
{
	store s;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* TAP lines survive a sanitizer exit */
	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_open(&s);
	test_writer(&s);
	test_writer_ids(&s);
	test_torn(&s);
	test_abort(&s);
	test_replace();
	test_replace_unreadable();
	test_checkpoints(&s);
	test_state_files();
	test_event_files(&s);
	test_each_event();
	test_findings(&s);
	test_lock(&s);
	clean();
	return t_done();
}
