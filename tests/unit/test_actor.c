/* test_actor: the actor chain's rules, against tests/mock/serve.py as the Anthropic API */
#define _GNU_SOURCE
#define MOCK_ROOT "/tmp/test_actor.XXXXXX"
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "event.h"
#include "jsonl.h"
#include "llm.h"
#include "mock.h"
#include "t.h"
#include "util.h"

/* a reply calling one tool with input (JSON), answered once */
#define CALL(name, input) \
	"{\"method\":\"POST\",\"path\":\"/v1/messages\",\"status\":200,\"times\":1,\"body\":" \
	"{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\"," \
	"\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"" name "\",\"input\":" input \
	"}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":10,\"output_tokens\":10}}}"

static const char routes[] = "["
    CALL("resolve-finding", "{\"finding_id\":\"fnd_other\",\"action\":\"resolved\","
	"\"reason\":\"fine\",\"confidence\":1}") ","
    CALL("read-finding", "{\"finding_id\":7}") ","
    CALL("resolve-finding", "{\"finding_id\":\"fnd_this\",\"action\":\"escalated\","
	"\"reason\":\"unknown actor\",\"confidence\":0.9}")
    "]";

static jv
finding(const char *id, const char *detector)
{
	jv f = jv_object_set(jv_object(), jv_string("id"), jv_string(id));

	f = jv_object_set(f, jv_string("detector"), jv_string(detector));
	f = jv_object_set(f, jv_string("title"), jv_string("a finding"));
	return jv_object_set(f, jv_string("event_ids"), jv_array());
}

static void
t_human_only(void)
{
	const char *hard[] = {"priv-escalation", "log-format-drift", "injection-probe",
	    "boundary-violation"};

	for (size_t i = 0; i < sizeof hard / sizeof *hard; i++)
		ok(actor_human_only(hard[i]), "%s findings go to a human only", hard[i]);
	ok(!actor_human_only("new-actor"), "new-actor findings may be triaged");
}

/* no model is called for a human-only finding, whoever calls the chain */
static void
t_hard_constraint(void)
{
	actor_env e;
	jv f = finding("fnd_probe", "injection-probe"), chain = jv_array_append(jv_array(),
	    jv_string("t")), d;

	actor_env_init(&e);	/* no model at all: a call would fail the test */
	d = actor_chain(&e, f, chain);
	is_str(event_str(d, "action"), "escalated", "a human-only finding is escalated");
	is_str(event_str(d, "cause"), "hard_constraint", "by the hard constraint");
	ok(jsonl_number(jsonl_get(jv_copy(d), "iterations"), -1) == 0, "no turn taken");
	jv_free(d);
	jv_free(f);
	jv_free(chain);
	actor_env_free(&e);
}

/* calls naming another finding are refused, the model told, and the decision lists them */
static void
t_refused(void)
{
	char *conf = xasprintf("{\"api_key\":\"k\",\"endpoint\":\"%s\"}", base), *err = NULL;
	jv c = jv_parse(conf), f = finding("fnd_this", "new-actor"), d, r, chain;
	actor_env e;
	const char *log;

	free(conf);
	actor_env_init(&e);
	e.l = llm_open(c, NULL, &err);
	jv_free(c);
	if (!e.l) {
		printf("Bail out! llm_open: %s\n", err ? err : "?");
		exit(1);
	}
	chain = jv_array_append(jv_array(), jv_string("t"));
	d = actor_chain(&e, f, chain);
	is_str(event_str(d, "action"), "escalated", "the decision is the one on this finding");
	is_str(event_str(d, "cause"), "model", "a decision of the model");
	is_str(event_str(d, "finding_id"), "fnd_this", "about this finding");
	r = jsonl_get(jv_copy(d), "refused");
	ok(jv_get_kind(r) == JV_KIND_ARRAY && jv_array_length(jv_copy(r)) == 2,
	    "two calls refused");
	if (jv_get_kind(r) == JV_KIND_ARRAY && jv_array_length(jv_copy(r)) == 2) {
		jv a = jv_array_get(jv_copy(r), 0), b = jv_array_get(jv_copy(r), 1);

		is_str(event_str(a, "tool"), "resolve-finding", "the resolution of another finding");
		is_str(event_str(a, "finding_id"), "fnd_other", "named");
		is_str(event_str(a, "actor"), "t", "with the actor");
		is_str(event_str(b, "tool"), "read-finding", "a read of a finding named by a number");
		is_str(event_str(b, "finding_id"), "7", "named as it came");
		jv_free(a);
		jv_free(b);
	}
	jv_free(r);
	log = slurp(at("log.jsonl"));
	ok(count(log, "\"path\": \"/v1/messages\"") == 3,
	    "three calls: each refusal went back to the model");
	ok(count(log, "refused: you examine finding fnd_this only; resolve-finding may not act on "
	    "finding 'fnd_other'") > 0, "and the model was told which finding it may act on");
	jv_free(d);
	jv_free(f);
	jv_free(chain);
	llm_close(e.l);
	actor_env_free(&e);
}

int
main(void)
{
	char *r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	setenv("MALLCOP_HTTP_FAST", "1", 1);
	if (!mkdtemp(root) || chdir(root)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	/* the actor: a deployment's own, in the current directory */
	mkdir(at("actors"), 0755);
	mkdir(at("actors/t"), 0755);
	put(at("actors/t/manifest.yaml"), "name: t\nmodel: haiku\nmax_iterations: 4\n"
	    "tools: [read-finding, resolve-finding]\n");
	put(at("actors/t/POST.md"), "You are a test actor.\n");
	r = strdup(routes);
	if (start_mock(r) < 0) {
		printf("Bail out! cannot start tests/mock/serve.py\n");
		return 1;
	}
	free(r);
	t_human_only();
	t_hard_constraint();
	t_refused();
	stop_mock();
	remove_root();
	curl_global_cleanup();
	return t_done();
}
