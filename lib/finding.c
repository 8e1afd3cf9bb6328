#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
