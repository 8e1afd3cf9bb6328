/* baseline: learning, queries, the window, save and load (and the earlier file), state */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "store.h"
#include "t.h"
#include "ts.h"

static char root[] = "/tmp/test_baseline.XXXXXX";

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

static int64_t
T(const char *iso)
{
	int64_t us = 0;

	if (ts_parse(iso, &us)) {
		printf("Bail out! bad time %s\n", iso);
		exit(1);
	}
	return us;
}

/* a string member of ev, or "" */
static const char *
field(jv ev, const char *key)
{
	jv v = jv_object_get(jv_copy(ev), jv_string(key));
	const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "";

	jv_free(v);	/* ev still holds it */
	return s;
}

static void
learn(baseline *b, const char *json)
{
	jv ev = jv_parse(json);

	if (!jv_is_valid(ev)) {
		printf("Bail out! bad event %s\n", json);
		exit(1);
	}
	baseline_learn(b, ev, field(ev, "source"), field(ev, "event_type"), field(ev, "actor"),
	    field(ev, "action"), field(ev, "target"), T(field(ev, "timestamp")));
	jv_free(ev);
}

/* v (consumed) compactly, as a malloc'd string */
static char *
dump(jv v)
{
	jv s = jv_dump_string(v, JV_PRINT_SORTED);
	char *r = strdup(jv_string_value(s));

	jv_free(s);
	return r;
}

/* v[key] (v borrowed) dumped */
static char *
member(jv v, const char *key)
{
	return dump(jv_object_get(jv_copy(v), jv_string(key)));
}

#define is_json(v, want, ...) do { \
	char *d_ = dump(v); \
	is_str(d_, want, __VA_ARGS__); \
	free(d_); \
} while (0)

#define is_member(v, key, want, ...) do { \
	char *d_ = member(v, key); \
	is_str(d_, want, __VA_ARGS__); \
	free(d_); \
} while (0)

static void
learn_all(baseline *b)
{
	/* Monday 09:30 and 10:00: both in the 08-12 bucket */
	learn(b, "{\"timestamp\":\"2024-03-18T09:30:00Z\",\"source\":\"github\",\"event_type\":"
	    "\"push\",\"actor\":\"alice\",\"action\":\"git.push\",\"target\":\"acme/app/src/x\","
	    "\"metadata\":{\"ip\":\"10.0.0.1\",\"user_agent\":\"curl/8\"}}");
	learn(b, "{\"timestamp\":\"2024-03-18T10:00:00Z\",\"source\":\"github\",\"event_type\":"
	    "\"push\",\"actor\":\"alice\",\"action\":\"git.push\",\"target\":\"acme/app/src/x\","
	    "\"metadata\":{}}");
	/* Tuesday 01:00 */
	learn(b, "{\"timestamp\":\"2024-03-19T01:00:00Z\",\"source\":\"github\",\"event_type\":"
	    "\"push\",\"actor\":\"bob\",\"action\":\"git.push\",\"target\":\"acme/web\","
	    "\"metadata\":{}}");
	/* Tuesday 15:00 */
	learn(b, "{\"timestamp\":\"2024-03-19T15:00:00Z\",\"source\":\"azure\",\"event_type\":"
	    "\"role_assignment\",\"actor\":\"carol\",\"action\":\"write\",\"target\":"
	    "\"/subscriptions/0001/roleAssignments/ra-1\",\"metadata\":{\"role_name\":\"Owner\"}}");
	/* Wednesday 08:00 and 09:00 */
	learn(b, "{\"timestamp\":\"2024-03-20T08:00:00Z\",\"source\":\"bank\",\"event_type\":"
	    "\"transfer\",\"actor\":\"dave\",\"action\":\"transfer\",\"target\":\"acct-9\","
	    "\"metadata\":{\"amount\":500}}");
	learn(b, "{\"timestamp\":\"2024-03-20T09:00:00Z\",\"source\":\"bank\",\"event_type\":"
	    "\"transfer\",\"actor\":\"dave\",\"action\":\"transfer\",\"target\":\"acct-7\","
	    "\"metadata\":{\"amount\":\"1200\"}}");
	/* 79 days before now: outside the 30-day window */
	learn(b, "{\"timestamp\":\"2024-01-01T00:00:00Z\",\"source\":\"github\",\"event_type\":"
	    "\"push\",\"actor\":\"oldie\",\"action\":\"git.push\",\"target\":\"acme/old\","
	    "\"metadata\":{}}");
}

/* everything learn_all teaches; what a save and a load must keep as well */
static void
check_learned(baseline *b, const char *how)
{
	int n = -1;
	double total;
	char *k;
	jv v;

	ok(!baseline_empty(b), "%s: not empty", how);
	ok(baseline_freq(b, "github:push") == 3, "%s: SRC:TYPE counts the window's events (%g)",
	    how, baseline_freq(b, "github:push"));
	ok(baseline_freq(b, "github:push:alice") == 2, "%s: SRC:TYPE:ACTOR (%g)", how,
	    baseline_freq(b, "github:push:alice"));
	ok(baseline_freq(b, "github:push:bob") == 1, "%s: another actor", how);
	ok(baseline_freq(b, "github:push:mallory") == 0, "%s: an unknown key is 0", how);
	k = baseline_time_key("github", "push", "alice", T("2024-03-18T09:30:00Z"));
	is_str(k, "github:push:alice:0:8", "%s: the time key of a Monday 09:30", how);
	ok(baseline_freq(b, k) == 2, "%s: both Monday morning pushes in one bucket (%g)", how,
	    baseline_freq(b, k));
	free(k);
	ok(baseline_freq(b, "github:push:bob:1:0") == 1, "%s: Tuesday 01:00 is 1:0", how);
	ok(baseline_freq(b, "*:*:alice") == 2, "%s: *:*:ACTOR (%g)", how,
	    baseline_freq(b, "*:*:alice"));
	ok(baseline_freq(b, "*:*:dave") == 2, "%s: *:*:ACTOR for another source", how);
	ok(baseline_freq(b, "*:*:alice:0:8") == 2, "%s: *:*:ACTOR:WEEKDAY:BUCKET", how);
	ok(baseline_freq(b, "github:push:alice:git.push:acme/app/src") == 2,
	    "%s: the action and target-prefix key (first three parts) (%g)", how,
	    baseline_freq(b, "github:push:alice:git.push:acme/app/src"));
	ok(baseline_freq(b, "azure:role_assignment:carol:write:/subscriptions/0001") == 1,
	    "%s: a leading '/' target prefix is /subscriptions/ID", how);
	ok(baseline_freq(b, "bank:transfer:dave:transfer:acct-9") == 1,
	    "%s: a target without '/' is its own prefix", how);
	ok(baseline_freq(b, "github:push:oldie") == 0 && baseline_freq(b, "*:*:oldie") == 0,
	    "%s: an event older than the window adds no frequency", how);

	ok(baseline_known(b, "actors", "alice") && baseline_known(b, "actors", "carol"),
	    "%s: known actors", how);
	ok(baseline_known(b, "actors", "oldie"), "%s: an old event's actor is known", how);
	ok(!baseline_known(b, "actors", "mallory"), "%s: an unknown actor", how);
	ok(baseline_known(b, "sources", "github") && baseline_known(b, "sources", "azure") &&
	    baseline_known(b, "sources", "bank") && !baseline_known(b, "sources", "aws"),
	    "%s: known sources", how);
	ok(baseline_known(b, "recipients", "acct-9") && baseline_known(b, "recipients", "acct-7"),
	    "%s: transfer targets are known recipients", how);
	ok(!baseline_known(b, "recipients", "acme/web"), "%s: a push target is no recipient", how);
	ok(baseline_known(b, "ips", "10.0.0.1") && !baseline_known(b, "ips", "10.0.0.2"),
	    "%s: metadata.ip is a known ip", how);
	ok(baseline_known(b, "user_agents", "curl/8"), "%s: metadata.user_agent is known", how);
	ok(!baseline_known(b, "nonsense", "alice"), "%s: an unknown list knows nothing", how);
	ok(baseline_role_known(b, "carol", "Owner"), "%s: a role_assignment's role_name", how);
	ok(!baseline_role_known(b, "carol", "Reader") && !baseline_role_known(b, "alice", "Owner"),
	    "%s: other roles and actors are not known", how);

	ok(baseline_relation(b, "alice", "acme/app/src/x") == 2, "%s: relation count (%g)", how,
	    baseline_relation(b, "alice", "acme/app/src/x"));
	ok(baseline_relation(b, "alice", "acme/web") == 0, "%s: no relation is 0", how);
	ok(baseline_relation(b, "oldie", "acme/old") == 1, "%s: an old event's relation counts",
	    how);
	total = baseline_actor_targets(b, "alice", &n);
	ok(total == 2 && n == 1, "%s: alice: 2 events over 1 target (%g, %d)", how, total, n);
	total = baseline_actor_targets(b, "dave", &n);
	ok(total == 2 && n == 2, "%s: dave: 2 events over 2 targets (%g, %d)", how, total, n);
	total = baseline_actor_targets(b, "mallory", &n);
	ok(total == 0 && n == 0, "%s: an unknown actor has no targets", how);

	ok(baseline_max(b, "amount_max:bank") == 1200, "%s: amount_max of the source (%g)", how,
	    baseline_max(b, "amount_max:bank"));
	ok(baseline_max(b, "amount_max:github") == -1, "%s: no maximum is -1", how);

	ok(baseline_first_seen(b, "github") == T("2024-01-01T00:00:00Z"),
	    "%s: first_seen is the source's earliest event", how);
	ok(baseline_first_seen(b, "bank") == T("2024-03-20T08:00:00Z"), "%s: first_seen bank",
	    how);
	ok(baseline_first_seen(b, "aws") == 0, "%s: first_seen of an unseen source is 0", how);
	ok(!baseline_learning(b, "github", T("2024-03-20T12:00:00Z")),
	    "%s: not learning 79 days after the first event", how);
	ok(baseline_learning(b, "bank", T("2024-03-20T12:00:00Z")),
	    "%s: learning on the first day", how);
	ok(baseline_learning(b, "bank", T("2024-04-03T07:59:59Z")),
	    "%s: still learning just before 14 days", how);
	ok(!baseline_learning(b, "bank", T("2024-04-03T08:00:00Z")),
	    "%s: not learning after 14 days", how);
	ok(baseline_learning(b, "aws", T("2024-03-20T12:00:00Z")),
	    "%s: an unseen source is learning", how);

	ok(baseline_day(b, "github:push", T("2024-03-18T23:00:00Z")) == 2,
	    "%s: the day's count (%g)", how, baseline_day(b, "github:push",
	    T("2024-03-18T23:00:00Z")));
	ok(baseline_day(b, "github:push", T("2024-03-19T00:00:00Z")) == 1, "%s: the next day", how);
	ok(baseline_day(b, "github:push", T("2024-01-01T00:00:00Z")) == 0,
	    "%s: no day for the old event", how);
	ok(baseline_days(b) == 3, "%s: three days hold counts (%d)", how, baseline_days(b));

	v = baseline_stats(b);
	is_member(v, "known_actor_count", "5", "%s: stats known_actor_count", how);
	is_member(v, "frequency_table_entries", "24", "%s: stats frequency_table_entries", how);
	is_member(v, "known_sources", "[\"azure\",\"bank\",\"github\"]", "%s: stats known_sources",
	    how);
	is_member(v, "events", "7", "%s: stats events", how);
	jv_free(v);
	is_json(baseline_sources(b), "[\"azure\",\"bank\",\"github\"]", "%s: sources, sorted", how);

	v = baseline_actor(b, "alice");
	is_member(v, "actor", "\"alice\"", "%s: actor profile names the actor", how);
	is_member(v, "known", "true", "%s: actor profile: known", how);
	is_member(v, "events", "2", "%s: actor profile: events in the window", how);
	is_member(v, "first_seen", "\"2024-03-18T09:30:00Z\"", "%s: actor profile: first_seen", how);
	is_member(v, "last_seen", "\"2024-03-18T10:00:00Z\"", "%s: actor profile: last_seen", how);
	is_member(v, "hours", "{\"0:8\":2}", "%s: actor profile: hours", how);
	is_member(v, "targets",
	    "{\"acme/app/src/x\":{\"count\":2,\"first_seen\":\"2024-03-18T09:30:00Z\","
	    "\"last_seen\":\"2024-03-18T10:00:00Z\"}}", "%s: actor profile: targets", how);
	is_member(v, "roles", "[]", "%s: actor profile: no roles", how);
	{
		jv f = jv_object_get(jv_copy(v), jv_string("frequencies"));
		jv x = jv_object_get(jv_copy(f), jv_string("github:push:alice"));

		ok(jv_get_kind(x) == JV_KIND_NUMBER && jv_number_value(x) == 2,
		    "%s: actor profile: frequencies hold SRC:TYPE:ACTOR", how);
		jv_free(x);
		x = jv_object_get(f, jv_string("github:push:bob"));
		ok(!jv_is_valid(x), "%s: and not another actor's", how);
		jv_free(x);
	}
	jv_free(v);
	v = baseline_actor(b, "carol");
	is_member(v, "roles", "[\"Owner\"]", "%s: carol's roles", how);
	jv_free(v);
	v = baseline_actor(b, "mallory");
	is_member(v, "known", "false", "%s: an unknown actor's profile", how);
	is_member(v, "events", "0", "%s: with no events", how);
	jv_free(v);

	v = baseline_entity(b, "acct-9");
	is_member(v, "known", "true", "%s: entity acct-9 known", how);
	is_member(v, "as", "[\"recipient\",\"target\"]", "%s: as recipient and target", how);
	jv_free(v);
	v = baseline_entity(b, "alice");
	is_member(v, "as", "[\"actor\"]", "%s: alice as actor", how);
	jv_free(v);
	v = baseline_entity(b, "Owner");
	is_member(v, "as", "[\"role\"]", "%s: Owner as role", how);
	jv_free(v);
	v = baseline_entity(b, "10.0.0.1");
	is_member(v, "as", "[\"ip\"]", "%s: an ip", how);
	jv_free(v);
	v = baseline_entity(b, "github");
	is_member(v, "as", "[\"source\"]", "%s: a source", how);
	jv_free(v);
	v = baseline_entity(b, "nobody");
	is_json(v, "{\"as\":[],\"entity\":\"nobody\",\"known\":false}", "%s: an unknown entity",
	    how);
}

static void
test_learn_save_load(void)
{
	baseline b, c;
	char *err = NULL;
	jv st;

	baseline_init(&b, 30);
	ok(baseline_empty(&b), "a new baseline is empty");
	ok(baseline_days(&b) == 0, "with no days");
	learn_all(&b);
	check_learned(&b, "learned");

	st = baseline_state(&b, "auth-failure-burst");
	ok(jv_get_kind(st) == JV_KIND_NULL, "no detector state yet: null");
	jv_free(st);
	baseline_set_state(&b, "auth-failure-burst", jv_parse("{\"recent\":[1,2],\"n\":3}"));
	is_json(baseline_state(&b, "auth-failure-burst"), "{\"n\":3,\"recent\":[1,2]}",
	    "set_state then state gives it back");
	baseline_set_state(&b, "auth-failure-burst", jv_parse("{\"n\":4}"));
	is_json(baseline_state(&b, "auth-failure-burst"), "{\"n\":4}", "set_state replaces it");

	ok(baseline_save(&b, at("baseline.json"), &err) == 0, "save (%s)", err ? err : "ok");
	free(err);
	err = NULL;
	ok(baseline_load(&c, at("baseline.json"), 30, &err) == 0, "load it back (%s)",
	    err ? err : "ok");
	free(err);
	err = NULL;
	check_learned(&c, "reloaded");
	is_json(baseline_state(&c, "auth-failure-burst"), "{\"n\":4}", "the state is kept");

	/* learning on after a load: the derived per-actor totals carry on */
	learn(&c, "{\"timestamp\":\"2024-03-20T10:00:00Z\",\"source\":\"github\",\"event_type\":"
	    "\"push\",\"actor\":\"alice\",\"action\":\"git.push\",\"target\":\"acme/other\","
	    "\"metadata\":{}}");
	{
		int n = -1;
		double total = baseline_actor_targets(&c, "alice", &n);

		ok(total == 3 && n == 2, "after a load, learning adds to the actor's totals (%g, %d)",
		    total, n);
	}
	ok(baseline_freq(&c, "github:push:alice") == 3, "and to the frequencies");
	ok(baseline_first_seen(&c, "github") == T("2024-01-01T00:00:00Z"),
	    "a later event leaves first_seen alone");

	/* 2024-04-18: the window starts on 2024-03-19, so 2024-03-18 leaves it */
	baseline_slide(&b, T("2024-04-18T00:00:00Z"));
	ok(baseline_days(&b) == 2, "slide drops the day that left the window (%d)",
	    baseline_days(&b));
	ok(baseline_freq(&b, "github:push") == 1, "and subtracts its counts (%g)",
	    baseline_freq(&b, "github:push"));
	ok(baseline_freq(&b, "github:push:alice") == 0 && baseline_freq(&b, "*:*:alice") == 0 &&
	    baseline_freq(&b, "github:push:alice:0:8") == 0,
	    "alice's counts of that day are gone");
	ok(baseline_freq(&b, "github:push:bob") == 1 && baseline_freq(&b, "bank:transfer") == 2,
	    "the other days' counts stay");
	ok(baseline_day(&b, "github:push", T("2024-03-18T09:00:00Z")) == 0, "no such day any more");
	ok(baseline_known(&b, "actors", "alice"), "alice is still known");
	ok(baseline_relation(&b, "alice", "acme/app/src/x") == 2, "and her relation stays");
	{
		jv s = baseline_stats(&b);

		is_member(s, "frequency_table_entries", "19", "the emptied keys are gone from the table");
		jv_free(s);
	}
	baseline_slide(&b, T("2024-06-01T00:00:00Z"));
	ok(baseline_days(&b) == 0 && baseline_empty(&b), "a slide past every day empties it");
	ok(baseline_known(&b, "sources", "bank"), "but keeps what is known");

	baseline_free(&b);
	baseline_free(&c);
	baseline_free(&c);	/* twice is harmless */
}

static void
test_legacy(void)
{
	baseline b;
	char *err = NULL;
	jv v;

	put_file("legacy.json",
	    "{\"frequency_tables\": {\"[USER_DATA_BEGIN]github[USER_DATA_END]:push:"
	    "[USER_DATA_BEGIN]alice[USER_DATA_END]\": 5, \"github:push\": 5},\n"
	    " \"known_entities\": {\"actors\": [\"[USER_DATA_BEGIN]alice[USER_DATA_END]\"],"
	    " \"sources\": [\"github\", \"[USER_DATA_BEGIN]azure[USER_DATA_END]\"],"
	    " \"actor_roles\": {\"[USER_DATA_BEGIN]alice[USER_DATA_END]\": "
	    "[\"[USER_DATA_BEGIN]admin[USER_DATA_END]\"]}},\n"
	    " \"relationships\": {\"[USER_DATA_BEGIN]alice[USER_DATA_END]:"
	    "[USER_DATA_BEGIN]acme/app[USER_DATA_END]\": {\"count\": 5, \"first_seen\": "
	    "\"2024-01-01T00:00:00+00:00\", \"last_seen\": \"2024-02-01T00:00:00+00:00\"}},\n"
	    " \"actor_context\": {}}\n");
	ok(baseline_load(&b, at("legacy.json"), 30, &err) == 0, "load the earlier implementation's "
	    "baseline (%s)", err ? err : "ok");
	free(err);
	err = NULL;
	ok(!baseline_empty(&b), "it is not empty");
	ok(baseline_freq(&b, "github:push:alice") == 5, "markers are stripped from frequency keys");
	ok(baseline_freq(&b, "github:push") == 5, "plain keys stay");
	ok(baseline_known(&b, "actors", "alice"), "markers are stripped from known actors");
	ok(baseline_known(&b, "sources", "azure"), "and from sources");
	ok(baseline_role_known(&b, "alice", "admin"), "and from actor_roles");
	ok(baseline_relation(&b, "alice", "acme/app") == 5, "and from relationships");
	{
		int n = -1;
		double total = baseline_actor_targets(&b, "alice", &n);

		ok(total == 5 && n == 1, "the actor totals are derived from relationships (%g, %d)",
		    total, n);
	}
	ok(baseline_first_seen(&b, "github") != 0 &&
	    baseline_first_seen(&b, "github") < T("2000-01-01T00:00:00Z"),
	    "its sources were learned long ago");
	ok(!baseline_learning(&b, "github", T("2024-03-20T12:00:00Z")) &&
	    !baseline_learning(&b, "azure", T("2024-03-20T12:00:00Z")),
	    "and are not learning");
	ok(baseline_learning(&b, "bank", T("2024-03-20T12:00:00Z")),
	    "a source it never saw is learning");
	ok(baseline_save(&b, at("legacy2.json"), &err) == 0, "save it again");
	free(err);
	err = NULL;
	baseline_free(&b);
	ok(baseline_load(&b, at("legacy2.json"), 30, &err) == 0, "and load that");
	free(err);
	err = NULL;
	ok(!baseline_learning(&b, "github", T("2024-03-20T12:00:00Z")),
	    "still not learning after a save and a load");
	v = baseline_actor(&b, "alice");
	is_member(v, "roles", "[\"admin\"]", "the role survives");
	jv_free(v);
	baseline_free(&b);
}

static void
test_load_errors(void)
{
	baseline b;
	char *err = NULL;

	ok(baseline_load(&b, at("nothing-here.json"), 30, &err) == 0 && !err,
	    "a missing file is an empty baseline");
	ok(baseline_empty(&b) && baseline_days(&b) == 0 && !baseline_known(&b, "actors", "alice"),
	    "with nothing in it");
	ok(b.window_days == 30, "the window is kept");
	baseline_free(&b);

	put_file("array.json", "[1, 2, 3]\n");
	ok(baseline_load(&b, at("array.json"), 30, &err) == -1 && err &&
	    strstr(err, at("array.json")), "a file that is not a JSON object is an error naming it "
	    "(%s)", err ? err : "loaded");
	free(err);
	err = NULL;
	baseline_free(&b);

	put_file("broken.json", "{\"frequency_tables\": {\n");
	ok(baseline_load(&b, at("broken.json"), 30, &err) == -1 && err &&
	    strstr(err, at("broken.json")), "so is a file that is not JSON (%s)",
	    err ? err : "loaded");
	free(err);
	err = NULL;
	baseline_free(&b);

	/* there but not readable is not missing: a save over it would lose what it learned */
	mkdir(at("dir.json"), 0755);
	ok(baseline_load(&b, at("dir.json"), 30, &err) == -1 && err &&
	    strstr(err, "cannot read '") && strstr(err, "dir.json': Is a directory"),
	    "a file that cannot be read is an error naming it, not an empty baseline (%s)",
	    err ? err : "loaded");
	free(err);
	err = NULL;
	baseline_free(&b);
	rmdir(at("dir.json"));

	baseline_init(&b, 0);
	ok(b.window_days == 30, "a window of 0 days means the default 30");
	baseline_free(&b);
}

/* the file of a day, as baseline.json at rel names it; "" when none */
static const char *
day_file(const char *rel, const char *day)
{
	static char name[256];
	size_t len;
	char *text = store_slurp(at(rel), &len);
	jv v = text ? jv_parse(text) : jv_invalid();
	jv f = jv_object_get(jv_object_get(v, jv_string("daily_files")), jv_string(day));

	snprintf(name, sizeof name, "%s", jv_get_kind(f) == JV_KIND_STRING ? jv_string_value(f) : "");
	jv_free(f);
	free(text);
	return name;
}

/* rel (consumed as a member of root) holds key */
static int
has_member(const char *rel, const char *key)
{
	size_t len;
	char *text = store_slurp(at(rel), &len);
	jv v = text ? jv_parse(text) : jv_invalid();
	int r = jv_get_kind(v) == JV_KIND_OBJECT && jv_object_has(jv_copy(v), jv_string(key));

	jv_free(v);
	free(text);
	return r;
}

static ino_t
inode(const char *rel)
{
	struct stat st;

	return stat(at(rel), &st) ? 0 : st.st_ino;
}

static int
exists(const char *rel)
{
	return access(at(rel), F_OK) == 0;
}

/* the day's file in days.d/ */
static char *
in_days(const char *file)
{
	static char buf[4][300];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "days.d/%s", file);
	return buf[k];
}

static void
test_day_files(void)
{
	baseline b, c;
	char *err = NULL, f18[128], f19[128], f20[128], *kept;
	ino_t ino;

	baseline_init(&b, 30);
	learn_all(&b);
	ok(baseline_save(&b, at("days.json"), &err) == 0, "save with days (%s)", err ? err : "ok");
	ok(!has_member("days.json", "daily") && has_member("days.json", "daily_files"),
	    "baseline.json names the files of its days instead of holding them");
	snprintf(f18, sizeof f18, "%s", day_file("days.json", "2024-03-18"));
	snprintf(f19, sizeof f19, "%s", day_file("days.json", "2024-03-19"));
	snprintf(f20, sizeof f20, "%s", day_file("days.json", "2024-03-20"));
	ok(*f18 && *f19 && *f20 && exists(in_days(f18)) && exists(in_days(f19)) &&
	    exists(in_days(f20)), "one file a day in the directory beside it (%s %s %s)", f18, f19,
	    f20);
	{
		size_t len;
		char *text = store_slurp(at(in_days(f18)), &len);

		is_str(text, "{\"github:push\":2,\"github:push:alice\":2,\"github:push:alice:0:8\":2,"
		    "\"*:*:alice\":2,\"*:*:alice:0:8\":2,\"github:push:alice:git.push:acme/app/src\":2}",
		    "a day's file is the JSON object of its counts, in the order they came in");
		free(text);
	}
	ino = inode("days.json");
	ok(baseline_save(&b, at("days.json"), &err) == 0 && inode("days.json") == ino,
	    "saved again with nothing changed, the file is left as it is");
	baseline_free(&b);

	ok(baseline_load(&c, at("days.json"), 30, &err) == 0, "load (%s)", err ? err : "ok");
	ok(baseline_days(&c) == 3, "the days are there (%d)", baseline_days(&c));
	ok(baseline_save(&c, at("days.json"), &err) == 0 && inode("days.json") == ino,
	    "loaded and saved with nothing changed: left as it is");
	/* a day nothing needs is not read: garbage in it goes unnoticed */
	kept = store_slurp(at(in_days(f18)), NULL);
	put_file(in_days(f18), "garbage");
	learn(&c, "{\"timestamp\":\"2024-03-19T16:00:00Z\",\"source\":\"github\",\"event_type\":"
	    "\"push\",\"actor\":\"bob\",\"action\":\"git.push\",\"target\":\"acme/web\","
	    "\"metadata\":{}}");
	ok(baseline_day(&c, "github:push:bob", T("2024-03-19T12:00:00Z")) == 2,
	    "learning adds to the day read from its file");
	ino = inode(in_days(f20));
	ok(baseline_save(&c, at("days.json"), &err) == 0, "save after one day changed (%s)",
	    err ? err : "ok");
	ok(strcmp(day_file("days.json", "2024-03-19"), f19) && !exists(in_days(f19)) &&
	    exists(in_days(day_file("days.json", "2024-03-19"))),
	    "the day that changed is in a new file, its old one removed");
	ok(!strcmp(day_file("days.json", "2024-03-18"), f18) &&
	    !strcmp(day_file("days.json", "2024-03-20"), f20) && inode(in_days(f20)) == ino,
	    "the days that did not change keep their files, not written again");
	baseline_free(&c);

	/* a save that fails (baseline.json cannot be replaced) changes nothing */
	snprintf(f19, sizeof f19, "%s", day_file("days.json", "2024-03-19"));
	ok(baseline_load(&c, at("days.json"), 30, &err) == 0, "load again");
	learn(&c, "{\"timestamp\":\"2024-03-19T17:00:00Z\",\"source\":\"github\",\"event_type\":"
	    "\"push\",\"actor\":\"bob\",\"action\":\"git.push\",\"target\":\"acme/web\","
	    "\"metadata\":{}}");
	rename(at("days.json"), at("days.keep"));
	mkdir(at("days.json"), 0755);
	put_file("days.json/x", "");
	ok(baseline_save(&c, at("days.json"), &err) == -1 && err, "a save that cannot replace "
	    "baseline.json fails (%s)", err ? err : "saved");
	free(err);
	err = NULL;
	unlink(at("days.json/x"));
	rmdir(at("days.json"));
	rename(at("days.keep"), at("days.json"));
	baseline_free(&c);
	ok(baseline_load(&c, at("days.json"), 30, &err) == 0 &&
	    baseline_day(&c, "github:push:bob", T("2024-03-19T12:00:00Z")) == 2 &&
	    !strcmp(day_file("days.json", "2024-03-19"), f19),
	    "the baseline is the one before it, its day files with it");
	put_file("days.d/notes.txt", "mine");
	put_file("days.d/2024-03-19.0000000000000000.json", "{}");
	put_file("days.d/2024-03-19.0000000000000000.json.tmp.123", "{");
	learn(&c, "{\"timestamp\":\"2024-03-20T17:00:00Z\",\"source\":\"github\",\"event_type\":"
	    "\"push\",\"actor\":\"bob\",\"action\":\"git.push\",\"target\":\"acme/web\","
	    "\"metadata\":{}}");
	ok(baseline_save(&c, at("days.json"), &err) == 0, "the next save (%s)", err ? err : "ok");
	ok(!exists("days.d/2024-03-19.0000000000000000.json") &&
	    !exists("days.d/2024-03-19.0000000000000000.json.tmp.123") &&
	    exists("days.d/notes.txt"), "removes the day files no baseline.json names, only those");
	{
		int n = 0;
		DIR *d = opendir(at("days.d"));

		for (struct dirent *de; d && (de = readdir(d));)
			n += de->d_name[0] != '.';
		if (d)
			closedir(d);
		ok(n == 6, "what the failed save wrote is gone too: three days, the two tables and "
		    "notes.txt (%d)", n);
	}
	put_file(in_days(f18), kept);
	free(kept);
	ok(baseline_save(&c, at("copy.tmp"), &err) == 0 && has_member("copy.tmp", "daily") &&
	    !has_member("copy.tmp", "daily_files") && !exists("copy.d") && !exists("copy.tmp.d"),
	    "a copy under another name than *.json holds its days itself");
	baseline_free(&c);
	ok(baseline_load(&c, at("copy.tmp"), 30, &err) == 0 &&
	    baseline_day(&c, "github:push:bob", T("2024-03-19T12:00:00Z")) == 2 &&
	    baseline_day(&c, "github:push:alice", T("2024-03-18T12:00:00Z")) == 2 &&
	    baseline_days(&c) == 3, "and reads back (%s)",
	    err ? err : "ok");
	baseline_free(&c);

	/* named but absent, or not a file: an error naming it, never an empty day */
	snprintf(f20, sizeof f20, "%s", day_file("days.json", "2024-03-20"));
	rename(at(in_days(f20)), at("day.keep"));
	ok(baseline_load(&c, at("days.json"), 30, &err) == -1 && err && strstr(err, f20) &&
	    strstr(err, "No such file or directory"), "a day file that is named but absent is an "
	    "error naming it (%s)", err ? err : "loaded");
	free(err);
	err = NULL;
	baseline_free(&c);
	mkdir(at(in_days(f20)), 0755);
	ok(baseline_load(&c, at("days.json"), 30, &err) == -1 && err && strstr(err, f20) &&
	    strstr(err, "Is a directory"), "so is one that cannot be read (%s)",
	    err ? err : "loaded");
	free(err);
	err = NULL;
	baseline_free(&c);
	rmdir(at(in_days(f20)));
	rename(at("day.keep"), at(in_days(f20)));
}

/* a baseline.json written before the days had files of their own, and its migration */
static void
test_days_inline(void)
{
	baseline b;
	char *err = NULL;

	put_file("inline.json", "{\"frequency_tables\":{\"github:push\":3,\"github:push:alice\":3},"
	    "\"known_entities\":{\"actors\":[\"alice\"]},\"daily\":{\"2024-03-18\":"
	    "{\"github:push\":1,\"github:push:alice\":1},\"2024-03-19\":{\"github:push\":2,"
	    "\"github:push:alice\":2}},\"detector_state\":{\"x\":{\"n\":1}},\"events\":3}");
	ok(baseline_load(&b, at("inline.json"), 30, &err) == 0, "load a baseline.json with its days "
	    "in it (%s)", err ? err : "ok");
	ok(baseline_days(&b) == 2 && baseline_day(&b, "github:push", T("2024-03-19T12:00:00Z")) == 2,
	    "its days are read");
	ok(!baseline_from_earlier(&b), "it is no file of the earlier implementation");
	ok(baseline_save(&b, at("inline.json"), &err) == 0, "saved with nothing else changed (%s)",
	    err ? err : "ok");
	ok(!has_member("inline.json", "daily") && *day_file("inline.json", "2024-03-18") &&
	    exists("inline.d"), "it is written in the new form");
	baseline_free(&b);
	ok(baseline_load(&b, at("inline.json"), 30, &err) == 0 && baseline_days(&b) == 2 &&
	    baseline_day(&b, "github:push:alice", T("2024-03-18T12:00:00Z")) == 1 &&
	    baseline_day(&b, "github:push", T("2024-03-19T12:00:00Z")) == 2 &&
	    baseline_freq(&b, "github:push") == 3, "with every count as it was");
	is_json(baseline_state(&b, "x"), "{\"n\":1}", "and the detectors' state");
	baseline_slide(&b, T("2024-04-18T12:00:00Z"));
	ok(baseline_days(&b) == 1 && baseline_freq(&b, "github:push") == 2,
	    "a slide reads the day that leaves from its file");
	baseline_free(&b);

	put_file("badname.json", "{\"daily_files\":{\"2024-03-18\":\"../inline.json\"},"
	    "\"detector_state\":{}}");
	ok(baseline_load(&b, at("badname.json"), 30, &err) == -1 && err &&
	    strstr(err, "daily_files.2024-03-18"), "a day file name that is not one is an error "
	    "(%s)", err ? err : "loaded");
	free(err);
	baseline_free(&b);
}

/* many keys: the counts stay right as keys come and go (a day leaving takes thousands) */
static void
test_many_keys(void)
{
	baseline b;
	char *err = NULL, ev[512], key[64];
	int wrong = 0;

	baseline_init(&b, 30);
	for (int i = 0; i < 3000; i++) {
		snprintf(ev, sizeof ev, "{\"timestamp\":\"2024-03-%sT10:00:00Z\",\"source\":\"github\","
		    "\"event_type\":\"push\",\"actor\":\"a%d\",\"action\":\"p\",\"target\":\"t\","
		    "\"metadata\":{}}", i < 2000 ? "18" : "19", i);
		learn(&b, ev);
		if (i >= 1000 && i < 2000) {
			snprintf(ev, sizeof ev, "{\"timestamp\":\"2024-03-19T11:00:00Z\",\"source\":"
			    "\"github\",\"event_type\":\"push\",\"actor\":\"a%d\",\"action\":\"p\","
			    "\"target\":\"t\",\"metadata\":{}}", i);
			learn(&b, ev);
		}
	}
	learn(&b, "{\"timestamp\":\"2024-03-19T12:00:00Z\",\"source\":\"github\",\"event_type\":"
	    "\"push\",\"actor\":\"q\\\"uo\\\\te\\u0001\\u00e9\",\"action\":\"p\",\"target\":\"t\","
	    "\"metadata\":{}}");
	baseline_slide(&b, T("2024-04-18T12:00:00Z"));
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof key, "github:push:a%d", i);
		wrong += baseline_freq(&b, key) != (i < 1000 ? 0 : 1);
	}
	ok(!wrong, "after a slide that takes 3,000 keys away, every count is right (%d wrong)",
	    wrong);
	ok(baseline_save(&b, at("many.json"), &err) == 0, "save (%s)", err ? err : "ok");
	baseline_free(&b);
	ok(baseline_load(&b, at("many.json"), 30, &err) == 0, "load (%s)", err ? err : "ok");
	wrong = 0;
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof key, "github:push:a%d", i);
		wrong += baseline_freq(&b, key) != (i < 1000 ? 0 : 1) ||
		    baseline_day(&b, key, T("2024-03-19T00:00:00Z")) != (i < 1000 ? 0 : 1);
	}
	ok(!wrong, "and after a save and a load (%d wrong)", wrong);
	ok(baseline_freq(&b, "github:push:q\"uo\\te\001\xc3\xa9") == 1,
	    "a key with quotes, backslashes, control and other characters is written as JSON");
	baseline_free(&b);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	setenv("MALLCOP_NOW", "2024-03-20T12:00:00Z", 1);
	{
		char *k = baseline_time_key("s", "t", "a", T("2024-01-07T23:59:59Z"));

		is_str(k, "s:t:a:6:20", "time key: Sunday is 6, 23:59 is in the 20 bucket");
		free(k);
		k = baseline_time_key("s", "t", "a", T("2024-01-01T00:00:00Z"));
		is_str(k, "s:t:a:0:0", "time key: 2024-01-01 00:00 is Monday, bucket 0");
		free(k);
		k = baseline_time_key("s", "t", "a", T("2024-01-03T15:59:59Z"));
		is_str(k, "s:t:a:2:12", "time key: Wednesday 15:59 is 2:12");
		free(k);
	}
	test_learn_save_load();
	test_legacy();
	test_load_errors();
	test_day_files();
	test_days_inline();
	test_many_keys();
	{
		char *cmd = NULL;

		if (asprintf(&cmd, "rm -rf '%s'", root) > 0 && system(cmd) != 0)
			printf("# could not remove %s\n", root);
		free(cmd);
	}
	return t_done();
}
