/* llm: the four backends against tests/mock/serve.py and a fake claude program */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "llm.h"
#include "util.h"
#include "t.h"

#define MOCK_ROOT "/tmp/test_llm.XXXXXX"
#include "mock.h"

#define KEY "sk-ant-api03-s3cr3t-4242"
#define OKEY "sk-oai-s3cr3t-4343"
#define AK "AKIDLLMTEST"
#define SK "wJalrXUtnFEMI/K7MDENG+llmEXAMPLEKEY"
#define ST "FwoGZXIvYXdzEXAMPLEsessiontoken"
#define BMODEL "anthropic.claude-3-5-haiku-20241022-v1:0"
#define SYSTEM "You are the triage actor."

/* JSON written with ' for " (none of these texts has an apostrophe); malloc'd */
static char *
q(const char *s)
{
	char *out = strdup(s);

	for (char *p = out; *p; p++)
		if (*p == '\'')
			*p = '"';
	return out;
}

static jv
J(const char *s)
{
	char *t = q(s);
	jv j = jv_parse(t);

	free(t);
	if (!jv_is_valid(j))
		printf("# bad JSON in the test: %s\n", s);
	return j;
}

/* got (consumed) equals the JSON want */
static int
same(jv got, const char *want)
{
	jv w = J(want);
	int eq = jv_equal(jv_copy(got), jv_copy(w));

	if (!eq) {
		jv g = jv_dump_string(jv_copy(got), 0), d = jv_dump_string(jv_copy(w), 0);

		printf("#   got  %s\n#   want %s\n", jv_string_value(g), jv_string_value(d));
		jv_free(g);
		jv_free(d);
	}
	jv_free(got);
	jv_free(w);
	return eq;
}

/* o at a dotted path ("body.messages.1.content"; numbers index arrays); o is not consumed */
static jv
pick(jv o, const char *path)
{
	char *p = strdup(path), *save = NULL;
	jv keys = jv_array(), v;

	for (char *k = strtok_r(p, ".", &save); k; k = strtok_r(NULL, ".", &save))
		keys = jv_array_append(keys, *k >= '0' && *k <= '9' ?
		    jv_number(atoi(k)) : jv_string(k));
	free(p);
	v = jv_getpath(jv_copy(o), keys);
	return v;
}

static const char *
s_of(jv o, const char *path)
{
	static char buf[4][4096];
	static int k;
	jv v = pick(o, path);

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s", jv_get_kind(v) == JV_KIND_STRING ?
	    jv_string_value(v) : "(not a string)");
	jv_free(v);
	return buf[k];
}

static double
n_of(jv o, const char *path)
{
	jv v = pick(o, path);
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;

	jv_free(v);
	return d;
}

/* the requests the mock got on paths starting with prefix, each with its body parsed */
static jv
requests(const char *prefix)
{
	const char *log = slurp(at("log.jsonl"));
	jv out = jv_array();

	for (const char *line = log; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		jv r = jv_parse_sized(line, (int)n);

		if (jv_is_valid(r) && strncmp(s_of(r, "path"), prefix, strlen(prefix)) == 0) {
			jv b = jv_parse(s_of(r, "body"));

			out = jv_array_append(out, jv_object_set(r, jv_string("body"), b));
		} else {
			jv_free(r);
		}
		line += n + (nl ? 1 : 0);
	}
	return out;
}

static int
nrequests(const char *prefix)
{
	return jv_array_length(requests(prefix));
}

/* the last request on prefix */
static jv
request(const char *prefix)
{
	jv all = requests(prefix);
	int n = jv_array_length(jv_copy(all));

	return n ? jv_array_get(all, n - 1) : (jv_free(all), jv_object());
}

static llm *
open_ok(const char *conf, const char *backend)
{
	char *err = NULL;
	jv c = J(conf);
	llm *l = llm_open(c, backend, &err);

	jv_free(c);
	if (!l) {
		printf("Bail out! llm_open(%s): %s\n", conf, err ? err : "(no error)");
		exit(1);
	}
	return l;
}

/* the error of llm_open, "" when it opened; static */
static const char *
open_err(const char *conf, const char *backend)
{
	static char buf[1024];
	char *err = NULL;
	jv c = conf ? J(conf) : jv_null();
	llm *l = llm_open(c, backend, &err);

	jv_free(c);
	snprintf(buf, sizeof buf, "%s", err ? err : "");
	if (l && err)
		snprintf(buf, sizeof buf, "(opened, yet an error: %s)", err);
	llm_close(l);
	free(err);
	return buf;
}

/* an investigation one tool round in: two tool calls with their input, their results, a nudge */
static jv
conversation(void)
{
	return J("["
	    "{'role':'user','content':'Investigate finding fnd_1'},"
	    "{'role':'assistant','content':'Checking the baseline.','tool_calls':["
	    " {'id':'toolu_01','name':'check_baseline','input':{'actor':'alice'}},"
	    " {'id':'toolu_02','name':'read_events','input':{'actor':'alice','limit':3}}]},"
	    "{'role':'tool','tool_call_id':'toolu_01','name':'check_baseline','content':'alice: known'},"
	    "{'role':'tool','tool_call_id':'toolu_02','name':'read_events','content':'[]'},"
	    "{'role':'user','content':'Decide now.'}]");
}

static jv
tools(void)
{
	return J("["
	    "{'name':'check_baseline','description':'Is the actor known',"
	    " 'input_schema':{'type':'object','properties':{'actor':{'type':'string'}},"
	    " 'required':['actor']}},"
	    "{'name':'read_events','description':'Recent events of an actor',"
	    " 'input_schema':{'type':'object','properties':{'actor':{'type':'string'},"
	    " 'limit':{'type':'integer'}}}}]");
}

/* llm_chat with the conversation; 0 or -1, *err kept for the caller to free */
static int
chat(llm *l, const char *model, jv *reply, char **err)
{
	return llm_chat(l, model, SYSTEM, conversation(), tools(), 1024, reply, err);
}

/* -------------------------------------------------------------------------------------------- */

static void
t_open(void)
{
	llm *l;
	const char *m;

	is_str(open_err(NULL, NULL), "anthropic: no api_key (set llm.api_key: ${ANTHROPIC_API_KEY})",
	    "no llm: section: anthropic, which needs a key, says so");
	is_str(open_err("{'provider':'anthropic','api_key':''}", NULL),
	    "anthropic: no api_key (set llm.api_key: ${ANTHROPIC_API_KEY})",
	    "an empty api_key (an unset ${VAR}) is no key");
	ok(strstr(open_err("{'provider':'openai-compat'}", NULL), "openai-compat: no endpoint"),
	    "openai-compat needs an endpoint: %s", open_err("{'provider':'openai-compat'}", NULL));
	ok(strstr(open_err("{'provider':'anthropic','api_key':'k'}", "openai-compat"),
	    "openai-compat: no endpoint") != NULL, "the backend argument overrides the provider");
	ok(strstr(open_err("{'provider':'gpt'}", NULL), "unknown provider 'gpt'") != NULL,
	    "an unknown provider is refused by name");
	ok(strstr(open_err("{'provider':'openai-compat','endpoint':'http://llm.example.com/v1'}",
	    NULL), "openai-compat: refusing base URL http://llm.example.com") != NULL,
	    "plain http only to loopback");
	ok(strstr(open_err("{'provider':'openai-compat','endpoint':'http://127.0.0.1:/v1'}",
	    NULL), "llm.endpoint: ") && strstr(open_err("{'provider':'openai-compat','endpoint':"
	    "'http://127.0.0.1:/v1'}", NULL), "empty port"), "an empty port is refused, naming "
	    "llm.endpoint (not taken for port 80)");
	ok(strstr(open_err("{'provider':'openai-compat','endpoint':'https://169.254.169.254/v1',"
	    "'allow_private':true}", NULL), "never allowed") != NULL,
	    "a metadata address is refused even with allow_private");
	ok(strstr(open_err("{'provider':'openai-compat','endpoint':'https://10.0.0.1/v1'}",
	    NULL), "allow_private") != NULL, "a private address is refused, naming allow_private");
	is_str(open_err("{'provider':'openai-compat','endpoint':'https://10.0.0.1/v1',"
	    "'allow_private':true}", NULL), "", "and allowed with it");
	ok(strstr(open_err("{'provider':'openai-compat','endpoint':'https://10.0.0.1/v1',"
	    "'allow_private':'maybe'}", NULL), "allow_private must be true or false") != NULL,
	    "allow_private is a boolean");
	ok(strstr(open_err("{'provider':'bedrock','api_key':'" AK "','secret_key':'x'}", NULL),
	    "bedrock: no default_model") != NULL, "bedrock needs a model id");
	ok(strstr(open_err("{'provider':'bedrock','api_key':'" AK "','default_model':'m'}", NULL),
	    "bedrock: no secret_key") != NULL, "an access key without its secret is refused");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_SHARED_CREDENTIALS_FILE", at("no-such-credentials"), 1);
	ok(strstr(open_err("{'provider':'bedrock','default_model':'m'}", NULL),
	    "bedrock: no AWS credentials") != NULL, "bedrock without any credentials: %s",
	    open_err("{'provider':'bedrock','default_model':'m'}", NULL));
	ok(strstr(open_err("{'provider':'claude-code','command':'/nonexistent/claude'}", NULL),
	    "claude-code: cannot find the program '/nonexistent/claude'") != NULL,
	    "claude-code: a missing program is found out at open");

	l = open_ok("{'api_key':'k','default_model':'claude-opus-4-6'}", NULL);
	is_str(llm_provider(l), "anthropic", "anthropic is the default provider");
	is_str(llm_model(l, "haiku"), "claude-haiku-4-5-20251001", "haiku");
	is_str(llm_model(l, "sonnet"), "claude-sonnet-4-6", "sonnet");
	is_str(llm_model(l, "opus"), "claude-opus-4-6", "opus");
	is_str(llm_model(l, NULL), "claude-opus-4-6", "no model: default_model");
	m = llm_model(l, "claude-3-7-sonnet-20250219");
	is_str(m, "claude-3-7-sonnet-20250219", "a model id passes through");
	ok(m == llm_model(l, "claude-3-7-sonnet-20250219"), "and stays the same string");
	llm_close(l);
	l = open_ok("{'api_key':'k','default_model':'haiku'}", NULL);
	is_str(llm_model(l, NULL), "claude-haiku-4-5-20251001", "default_model may be an alias");
	llm_close(l);
	l = open_ok("{'provider':'openai-compat','endpoint':'http://127.0.0.1:1/v1',"
	    "'default_model':'qwen2.5-7b'}", NULL);
	is_str(llm_provider(l), "openai-compat", "openai-compat");
	is_str(llm_model(l, "haiku"), "qwen2.5-7b", "openai-compat: an alias means default_model");
	is_str(llm_model(l, "llama3"), "llama3", "openai-compat: a model name passes through");
	llm_close(l);
}

/* -------------------------------------------------------------------------------------------- */

static void
t_anthropic(void)
{
	char conf[512], *err = NULL;
	jv reply, r;
	llm *l;

	snprintf(conf, sizeof conf, "{'api_key':'" KEY "','endpoint':'%s/a'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, "haiku", &reply, &err) == 0, "anthropic: a turn (%s)", err ? err : "ok");
	r = request("/a/");
	is_str(s_of(r, "path"), "/a/v1/messages", "anthropic: POST {endpoint}/v1/messages");
	is_str(s_of(r, "method"), "POST", "anthropic: a POST");
	is_str(s_of(r, "headers.x-api-key"), KEY, "anthropic: the key in x-api-key");
	is_str(s_of(r, "headers.anthropic-version"), "2023-06-01", "anthropic: anthropic-version");
	is_str(s_of(r, "headers.content-type"), "application/json", "anthropic: a JSON body");
	is_str(s_of(r, "body.model"), "claude-haiku-4-5-20251001", "anthropic: the alias resolved");
	ok(n_of(r, "body.max_tokens") == 1024, "anthropic: max_tokens");
	is_str(s_of(r, "body.system"), SYSTEM, "anthropic: the system prompt");
	ok(same(pick(r, "body.tools"), "["
	    "{'name':'check_baseline','description':'Is the actor known',"
	    " 'input_schema':{'type':'object','properties':{'actor':{'type':'string'}},"
	    " 'required':['actor']}},"
	    "{'name':'read_events','description':'Recent events of an actor',"
	    " 'input_schema':{'type':'object','properties':{'actor':{'type':'string'},"
	    " 'limit':{'type':'integer'}}}}]"), "anthropic: tools as name, description, input_schema");
	ok(same(pick(r, "body.messages"), "["
	    "{'role':'user','content':'Investigate finding fnd_1'},"
	    "{'role':'assistant','content':["
	    " {'type':'text','text':'Checking the baseline.'},"
	    " {'type':'tool_use','id':'toolu_01','name':'check_baseline','input':{'actor':'alice'}},"
	    " {'type':'tool_use','id':'toolu_02','name':'read_events',"
	    "  'input':{'actor':'alice','limit':3}}]},"
	    "{'role':'user','content':["
	    " {'type':'tool_result','tool_use_id':'toolu_01','content':'alice: known'},"
	    " {'type':'tool_result','tool_use_id':'toolu_02','content':'[]'},"
	    " {'type':'text','text':'Decide now.'}]}]"),
	    "anthropic: tool calls echoed with their input, their results in one user turn");
	jv_free(r);
	ok(same(jv_copy(reply), "{'text':'Let me look.','tool_calls':["
	    "{'id':'toolu_03','name':'read_events','input':{'actor':'bob','limit':5}}],"
	    "'model':'claude-haiku-4-5-20251001','tokens_in':412,'tokens_out':57,'stop':'tool_use'}"),
	    "anthropic: the reply: text, tool calls with input, tokens, stop");
	jv_free(reply);
	free(err);
	err = NULL;

	/* no tools: the key is left out */
	ok(llm_chat(l, NULL, NULL, J("[{'role':'user','content':'hi'}]"), jv_array(), 0, &reply,
	    &err) == 0, "anthropic: a turn without tools");
	r = request("/a/");
	ok(jv_get_kind(pick(r, "body.tools")) == JV_KIND_NULL &&
	    jv_get_kind(pick(r, "body.system")) == JV_KIND_NULL, "anthropic: no tools, no system: "
	    "both left out");
	ok(n_of(r, "body.max_tokens") == 4096, "anthropic: max_tokens 0 means 4096");
	jv_free(r);
	jv_free(reply);
	llm_close(l);

	snprintf(conf, sizeof conf, "{'api_key':'" KEY "','endpoint':'%s/a429'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == 0 && nrequests("/a429/") == 2,
	    "anthropic: 429 with Retry-After, then success (%s)", err ? err : "ok");
	ok(same(jv_copy(reply), "{'text':'Resolved: known actor.','tool_calls':[],"
	    "'model':'claude-haiku-4-5-20251001','tokens_in':30,'tokens_out':8,'stop':'end_turn'}"),
	    "anthropic: text blocks joined, no tool calls, end_turn");
	jv_free(reply);
	llm_close(l);

	snprintf(conf, sizeof conf, "{'api_key':'" KEY "','endpoint':'%s/a500'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == 0 && nrequests("/a500/") == 2,
	    "anthropic: 500, then success");
	jv_free(reply);
	llm_close(l);

	snprintf(conf, sizeof conf, "{'api_key':'" KEY "','endpoint':'%s/a529'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err &&
	    strstr(err, "anthropic: POST /a529/v1/messages: HTTP 529: Overloaded"),
	    "anthropic: 529 to the end: %s", err ? err : "(none)");
	ok(nrequests("/a529/") == 5, "anthropic: 529 retried (5 tries)");
	ok(jv_get_kind(reply) == JV_KIND_INVALID, "anthropic: no reply on an error");
	free(err);
	err = NULL;
	llm_close(l);

	snprintf(conf, sizeof conf, "{'api_key':'" KEY "','endpoint':'%s/abad'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "anthropic: POST "
	    "/abad/v1/messages") && strstr(err, "malformed JSON"),
	    "anthropic: a malformed reply is an error: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	llm_close(l);

	snprintf(conf, sizeof conf, "{'api_key':'" KEY "','endpoint':'%s/ashape'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "the reply has no content"),
	    "anthropic: JSON without content is an error: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	llm_close(l);

	snprintf(conf, sizeof conf, "{'api_key':'" KEY "','endpoint':'%s/akey'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "HTTP 401") &&
	    strstr(err, "invalid x-api-key"), "anthropic: 401 names the status and the service's "
	    "words: %s", err ? err : "(none)");
	ok(err && !strstr(err, KEY) && !strstr(err, "s3cr3t"),
	    "anthropic: the key the service echoed is not in the error");
	free(err);
	err = NULL;
	llm_close(l);
}

/* -------------------------------------------------------------------------------------------- */

static void
t_openai(void)
{
	char conf[512], *err = NULL;
	jv reply, r;
	llm *l;

	snprintf(conf, sizeof conf, "{'provider':'openai-compat','api_key':'" OKEY "',"
	    "'endpoint':'%s/o/v1','default_model':'qwen2.5-7b'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, "sonnet", &reply, &err) == 0, "openai-compat: a turn (%s)", err ? err : "ok");
	r = request("/o/");
	is_str(s_of(r, "path"), "/o/v1/chat/completions", "openai-compat: {endpoint}/chat/completions");
	is_str(s_of(r, "headers.authorization"), "Bearer " OKEY, "openai-compat: a Bearer key");
	is_str(s_of(r, "body.model"), "qwen2.5-7b", "openai-compat: an alias is default_model");
	ok(n_of(r, "body.max_tokens") == 1024, "openai-compat: max_tokens");
	ok(same(pick(r, "body.tools"), "["
	    "{'type':'function','function':{'name':'check_baseline','description':'Is the actor known',"
	    " 'parameters':{'type':'object','properties':{'actor':{'type':'string'}},"
	    " 'required':['actor']}}},"
	    "{'type':'function','function':{'name':'read_events',"
	    " 'description':'Recent events of an actor',"
	    " 'parameters':{'type':'object','properties':{'actor':{'type':'string'},"
	    " 'limit':{'type':'integer'}}}}}]"), "openai-compat: tools as functions");
	ok(same(pick(r, "body.messages"), "["
	    "{'role':'system','content':'" SYSTEM "'},"
	    "{'role':'user','content':'Investigate finding fnd_1'},"
	    "{'role':'assistant','content':'Checking the baseline.','tool_calls':["
	    " {'id':'toolu_01','type':'function','function':{'name':'check_baseline',"
	    "  'arguments':'{\\'actor\\':\\'alice\\'}'}},"
	    " {'id':'toolu_02','type':'function','function':{'name':'read_events',"
	    "  'arguments':'{\\'actor\\':\\'alice\\',\\'limit\\':3}'}}]},"
	    "{'role':'tool','tool_call_id':'toolu_01','content':'alice: known'},"
	    "{'role':'tool','tool_call_id':'toolu_02','content':'[]'},"
	    "{'role':'user','content':'Decide now.'}]"),
	    "openai-compat: system first, tool calls with their arguments, tool results by id");
	jv_free(r);
	ok(same(jv_copy(reply), "{'text':'','tool_calls':["
	    "{'id':'call_abc','name':'read_events','input':{'actor':'bob','limit':5}}],"
	    "'model':'qwen2.5-7b','tokens_in':200,'tokens_out':20,'stop':'tool_use'}"),
	    "openai-compat: the reply: arguments parsed, tokens, tool_calls -> tool_use");
	jv_free(reply);
	llm_close(l);

	snprintf(conf, sizeof conf, "{'provider':'openai-compat','endpoint':'%s/o429/v1'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == 0 && nrequests("/o429/") == 2,
	    "openai-compat: 429 with Retry-After, then success");
	ok(same(jv_copy(reply), "{'text':'All clear.','tool_calls':[],'model':'qwen2.5-7b',"
	    "'tokens_in':50,'tokens_out':5,'stop':'end_turn'}"),
	    "openai-compat: text, stop -> end_turn");
	jv_free(reply);
	r = request("/o429/");
	ok(jv_get_kind(pick(r, "headers.authorization")) == JV_KIND_NULL,
	    "openai-compat: no key, no Authorization header");
	is_str(s_of(r, "body.model"), "default", "openai-compat: no model at all: 'default'");
	jv_free(r);
	llm_close(l);

	snprintf(conf, sizeof conf, "{'provider':'openai-compat','endpoint':'%s/o500/v1'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == 0 && nrequests("/o500/") == 2,
	    "openai-compat: 500, then success");
	is_str(s_of(reply, "stop"), "max_tokens", "openai-compat: length -> max_tokens");
	jv_free(reply);
	llm_close(l);

	snprintf(conf, sizeof conf, "{'provider':'openai-compat','endpoint':'%s/odown/v1',"
	    "'api_key':'" OKEY "'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "openai-compat: POST "
	    "/odown/v1/chat/completions: HTTP 503: model is loading"),
	    "openai-compat: 503 to the end: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	llm_close(l);

	snprintf(conf, sizeof conf, "{'provider':'openai-compat','endpoint':'%s/obad/v1'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "malformed JSON"),
	    "openai-compat: a malformed reply is an error: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	llm_close(l);

	snprintf(conf, sizeof conf, "{'provider':'openai-compat','endpoint':'%s/oargs/v1'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "openai-compat: POST "
	    "/oargs/v1/chat/completions: the arguments of the tool call 'read_events' are not a "
	    "JSON object"), "openai-compat: arguments that are not JSON fail the call: %s",
	    err ? err : "(none)");
	ok(jv_get_kind(reply) == JV_KIND_INVALID, "openai-compat: and there is no reply");
	free(err);
	err = NULL;
	llm_close(l);

	snprintf(conf, sizeof conf, "{'provider':'openai-compat','endpoint':'%s/okey/v1',"
	    "'api_key':'" OKEY "'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "HTTP 401: Incorrect API key"),
	    "openai-compat: 401 with the service's words: %s", err ? err : "(none)");
	ok(err && !strstr(err, OKEY), "openai-compat: the key the service echoed is not in the "
	    "error");
	free(err);
	err = NULL;
	llm_close(l);
}

/* -------------------------------------------------------------------------------------------- */

static void
t_bedrock(void)
{
	char conf[512], *err = NULL;
	jv reply, r;
	llm *l;

	snprintf(conf, sizeof conf, "{'provider':'bedrock','api_key':'" AK "','secret_key':'" SK
	    "','session_token':'" ST "','region':'eu-west-1','endpoint':'%s/b',"
	    "'default_model':'" BMODEL "'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, "haiku", &reply, &err) == 0, "bedrock: a turn (%s)", err ? err : "ok");
	r = request("/b/");
	is_str(s_of(r, "path"), "/b/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
	    "bedrock: POST /model/{model id, URL-encoded}/converse (an alias is default_model)");
	is_str(s_of(r, "sigv4"), "ok", "bedrock: the SigV4 signature checks out");
	ok(strstr(s_of(r, "headers.authorization"), "/eu-west-1/bedrock/aws4_request") != NULL,
	    "bedrock: signed for the service bedrock in the region");
	is_str(s_of(r, "headers.x-amz-security-token"), ST, "bedrock: the session token is sent");
	ok(jv_get_kind(pick(r, "body.modelId")) == JV_KIND_NULL, "bedrock: the model is in the path "
	    "only");
	ok(same(pick(r, "body.system"), "[{'text':'" SYSTEM "'}]"), "bedrock: system as text blocks");
	ok(same(pick(r, "body.inferenceConfig"), "{'maxTokens':1024}"), "bedrock: maxTokens");
	ok(same(pick(r, "body.toolConfig"), "{'tools':["
	    "{'toolSpec':{'name':'check_baseline','description':'Is the actor known',"
	    " 'inputSchema':{'json':{'type':'object','properties':{'actor':{'type':'string'}},"
	    " 'required':['actor']}}}},"
	    "{'toolSpec':{'name':'read_events','description':'Recent events of an actor',"
	    " 'inputSchema':{'json':{'type':'object','properties':{'actor':{'type':'string'},"
	    " 'limit':{'type':'integer'}}}}}}]}"), "bedrock: toolConfig of toolSpecs");
	ok(same(pick(r, "body.messages"), "["
	    "{'role':'user','content':[{'text':'Investigate finding fnd_1'}]},"
	    "{'role':'assistant','content':[{'text':'Checking the baseline.'},"
	    " {'toolUse':{'toolUseId':'toolu_01','name':'check_baseline','input':{'actor':'alice'}}},"
	    " {'toolUse':{'toolUseId':'toolu_02','name':'read_events',"
	    "  'input':{'actor':'alice','limit':3}}}]},"
	    "{'role':'user','content':["
	    " {'toolResult':{'toolUseId':'toolu_01','content':[{'text':'alice: known'}]}},"
	    " {'toolResult':{'toolUseId':'toolu_02','content':[{'text':'[]'}]}},"
	    " {'text':'Decide now.'}]}]"),
	    "bedrock: toolUse with its input, toolResults in one user turn");
	jv_free(r);
	ok(same(jv_copy(reply), "{'text':'Looking.','tool_calls':["
	    "{'id':'tooluse_1','name':'read_events','input':{'actor':'bob'}}],"
	    "'model':'" BMODEL "','tokens_in':300,'tokens_out':25,'stop':'tool_use'}"),
	    "bedrock: the reply: text, toolUse, usage, stopReason");
	jv_free(reply);
	llm_close(l);

	/* the credentials of the environment when the config has none */
	setenv("AWS_ACCESS_KEY_ID", AK, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SK, 1);
	snprintf(conf, sizeof conf, "{'provider':'bedrock','endpoint':'%s/b429',"
	    "'default_model':'" BMODEL "'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == 0 && nrequests("/b429/") == 2,
	    "bedrock: 429, then success, with the credentials of the environment (%s)",
	    err ? err : "ok");
	r = request("/b429/");
	is_str(s_of(r, "sigv4"), "ok", "bedrock: the retry is signed too");
	ok(strstr(s_of(r, "headers.authorization"), "/us-east-1/bedrock/") != NULL,
	    "bedrock: region us-east-1 by default");
	jv_free(r);
	ok(same(jv_copy(reply), "{'text':'No threat.','tool_calls':[],'model':'" BMODEL "',"
	    "'tokens_in':90,'tokens_out':4,'stop':'end_turn'}"), "bedrock: text and end_turn");
	jv_free(reply);
	llm_close(l);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");

	snprintf(conf, sizeof conf, "{'provider':'bedrock','api_key':'" AK "','secret_key':'" SK
	    "','endpoint':'%s/b500','default_model':'" BMODEL "'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == 0 && nrequests("/b500/") == 2,
	    "bedrock: 500, then success");
	jv_free(reply);
	llm_close(l);

	snprintf(conf, sizeof conf, "{'provider':'bedrock','api_key':'" AK "','secret_key':'" SK
	    "','session_token':'" ST "','endpoint':'%s/bdown','default_model':'" BMODEL "'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "bedrock: POST /bdown/model/"
	    "anthropic.claude-3-5-haiku-20241022-v1%3A0/converse: HTTP 500: Internal server error "
	    "for ***"), "bedrock: 500 to the end: %s", err ? err : "(none)");
	ok(err && !strstr(err, ST), "bedrock: the session token the service echoed is not in the "
	    "error");
	free(err);
	err = NULL;
	llm_close(l);

	snprintf(conf, sizeof conf, "{'provider':'bedrock','api_key':'" AK "','secret_key':'" SK
	    "','endpoint':'%s/bbad','default_model':'" BMODEL "'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "malformed JSON"),
	    "bedrock: a malformed reply is an error: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	llm_close(l);

	snprintf(conf, sizeof conf, "{'provider':'bedrock','api_key':'" AK "','secret_key':"
	    "'not-the-secret','endpoint':'%s/b','default_model':'" BMODEL "'}", base);
	l = open_ok(conf, NULL);
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "HTTP 403") &&
	    strstr(err, "signature"), "bedrock: a wrong secret key: %s", err ? err : "(none)");
	ok(err && !strstr(err, "not-the-secret"), "bedrock: the secret is not in the error");
	free(err);
	err = NULL;
	llm_close(l);
}

/* -------------------------------------------------------------------------------------------- */

static const char fake_claude[] =
    "#!/bin/sh\n"
    "d='%s'\n"
    ": > \"$d/argv\"\n"
    "for a in \"$@\"; do printf '[%%s]\\n' \"$a\" >> \"$d/argv\"; done\n"
    "env > \"$d/env\"\n"
    "cat > \"$d/stdin\"\n"
    "case $(cat \"$d/mode\") in\n"
    "tool) printf '%%s\\n' '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
    "\"duration_ms\":2100,\"num_turns\":1,\"result\":\"I will check.\\n```json\\n{\\\"tool_calls\\\":"
    "[{\\\"name\\\":\\\"check_baseline\\\",\\\"input\\\":{\\\"actor\\\":\\\"alice\\\"}},"
    "{\\\"name\\\":\\\"read_events\\\",\\\"input\\\":{\\\"limit\\\":2}}]}\\n```\","
    "\"stop_reason\":\"end_turn\",\"session_id\":\"0e63\",\"total_cost_usd\":0.01,"
    "\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":100,"
    "\"cache_read_input_tokens\":15000,\"output_tokens\":40}}' ;;\n"
    "text) printf '%%s\\n' '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
    "\"result\":\"{\\\"text\\\": \\\"benign: alice is known\\\"}\",\"stop_reason\":\"end_turn\","
    "\"usage\":{\"input_tokens\":7,\"output_tokens\":9}}' ;;\n"
    "prose) printf '%%s\\n' '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
    "\"result\":\"Nothing to do here.\",\"usage\":{\"input_tokens\":3,\"output_tokens\":5}}' ;;\n"
    "error) printf '%%s\\n' '{\"type\":\"result\",\"subtype\":\"error\",\"is_error\":true,"
    "\"result\":\"Credit balance is too low\"}' ;;\n"
    "fail) echo 'Error: unknown model claude-nope' >&2; exit 3 ;;\n"
    "slow) sleep 30 ;;\n"
    "esac\n";

static const char *const passed[] = { "PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR",
	"XDG_RUNTIME_DIR", "ANTHROPIC_API_KEY", "CLAUDE_CONFIG_DIR",
	"PWD", "OLDPWD", "SHLVL", "_", NULL };	/* the last four the shell sets itself */

/* every variable in the env dump is one of the whitelist */
static int
env_whitelisted(const char *env)
{
	char *copy = strdup(env), *save = NULL;
	int okay = 1;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strcspn(line, "=");
		int known = 0;

		for (int i = 0; passed[i]; i++)
			known |= strlen(passed[i]) == n && strncmp(line, passed[i], n) == 0;
		if (!known) {
			printf("#   not in the whitelist: %.*s\n", (int)n, line);
			okay = 0;
		}
	}
	free(copy);
	return okay;
}

static void
mode(const char *m)
{
	put(at("cc/mode"), m);
}

static void
t_claude_code(void)
{
	char conf[1024], script[sizeof fake_claude + 512], *err = NULL;
	const char *in;
	jv reply;
	llm *l;
	struct timespec t0, t1;

	mkdir(at("cc"), 0700);
	mkdir(at("bin"), 0700);
	snprintf(script, sizeof script, fake_claude, at("cc"));
	put(at("bin/claude"), script);
	chmod(at("bin/claude"), 0700);
	setenv("AWS_SECRET_ACCESS_KEY", "aws-leak-me", 1);
	setenv("GITHUB_TOKEN", "ghp_leak_me", 1);
	setenv("ANTHROPIC_API_KEY", "sk-ant-for-the-cli", 1);
	setenv("LANG", "C.UTF-8", 1);

	snprintf(conf, sizeof conf, "{'provider':'claude-code','command':'%s'}", at("bin/claude"));
	l = open_ok(conf, NULL);
	is_str(llm_provider(l), "claude-code", "claude-code");
	mode("tool");
	ok(chat(l, "haiku", &reply, &err) == 0, "claude-code: a turn (%s)", err ? err : "ok");
	is_str(slurp(at("cc/argv")), "[-p]\n[--output-format]\n[json]\n[--model]\n"
	    "[claude-haiku-4-5-20251001]\n[--no-session-persistence]\n[--tools]\n[]\n"
	    "[--strict-mcp-config]\n[--append-system-prompt]\n[" SYSTEM "]\n",
	    "claude-code: print mode, JSON out, the model, no session kept, no tools of its own, "
	    "the system prompt appended");
	ok(env_whitelisted(slurp(at("cc/env"))), "claude-code: the environment is the whitelist");
	ok(!strstr(slurp(at("cc/env")), "aws-leak-me") && !strstr(slurp(at("cc/env")),
	    "ghp_leak_me"), "claude-code: no cloud or GitHub credentials passed");
	ok(strstr(slurp(at("cc/env")), "ANTHROPIC_API_KEY=sk-ant-for-the-cli\n") &&
	    strstr(slurp(at("cc/env")), "LANG=C.UTF-8\n"), "claude-code: its own key and the "
	    "locale are passed");
	in = slurp(at("cc/stdin"));
	ok(strstr(in, "exactly one JSON object") && strstr(in, "{\"tool_calls\": [{\"name\": "
	    "\"TOOL\", \"input\": {...}}]}") && strstr(in, "{\"text\": \"YOUR ANSWER\"}"),
	    "claude-code: stdin states the reply protocol");
	ok(strstr(in, "- check_baseline: Is the actor known\n  input schema: {\"type\":\"object\","
	    "\"properties\":{\"actor\":{\"type\":\"string\"}},\"required\":[\"actor\"]}\n") != NULL,
	    "claude-code: stdin lists the tools with their schemas");
	ok(strstr(in, "{\"role\":\"user\",\"content\":\"Investigate finding fnd_1\"}\n"
	    "{\"role\":\"assistant\",\"content\":\"Checking the baseline.\",\"tool_calls\":["
	    "{\"name\":\"check_baseline\",\"input\":{\"actor\":\"alice\"}},{\"name\":\"read_events\","
	    "\"input\":{\"actor\":\"alice\",\"limit\":3}}]}\n"
	    "{\"role\":\"tool\",\"name\":\"check_baseline\",\"content\":\"alice: known\"}\n"
	    "{\"role\":\"tool\",\"name\":\"read_events\",\"content\":\"[]\"}\n"
	    "{\"role\":\"user\",\"content\":\"Decide now.\"}\n") != NULL,
	    "claude-code: stdin has the conversation, tool calls with their input and results");
	ok(same(jv_copy(reply), "{'text':'','tool_calls':["
	    "{'id':'cc_1','name':'check_baseline','input':{'actor':'alice'}},"
	    "{'id':'cc_2','name':'read_events','input':{'limit':2}}],"
	    "'model':'claude-haiku-4-5-20251001','tokens_in':112,'tokens_out':40,"
	    "'stop':'tool_use'}"), "claude-code: the tool calls in a code fence, ids made, real "
	    "token counts (cache reads and writes are input too)");
	jv_free(reply);

	mode("text");
	ok(llm_chat(l, NULL, NULL, J("[{'role':'user','content':'hi'}]"), jv_array(), 0, &reply,
	    &err) == 0, "claude-code: a text turn");
	ok(same(jv_copy(reply), "{'text':'benign: alice is known','tool_calls':[],"
	    "'model':'claude-sonnet-4-6','tokens_in':7,'tokens_out':9,'stop':'end_turn'}"),
	    "claude-code: {text} is the text; the default model sonnet");
	jv_free(reply);
	ok(!strstr(slurp(at("cc/argv")), "--append-system-prompt"),
	    "claude-code: no system prompt, no --append-system-prompt");
	ok(strstr(slurp(at("cc/stdin")), "=== TOOLS ===\n(none)\n") != NULL,
	    "claude-code: no tools: (none)");

	mode("prose");
	ok(chat(l, NULL, &reply, &err) == 0 && streq(s_of(reply, "text"), "Nothing to do here."),
	    "claude-code: an answer outside the protocol is its text");
	jv_free(reply);

	mode("error");
	ok(chat(l, NULL, &reply, &err) == -1 && err &&
	    strstr(err, "reported an error: Credit balance is too low"),
	    "claude-code: is_error: %s", err ? err : "(none)");
	free(err);
	err = NULL;

	mode("fail");
	ok(chat(l, NULL, &reply, &err) == -1 && err && strstr(err, "claude-code: ") &&
	    strstr(err, "exited with status 3: Error: unknown model claude-nope"),
	    "claude-code: a non-zero exit with its stderr: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	llm_close(l);

	snprintf(conf, sizeof conf, "{'provider':'claude-code','command':'%s','timeout':1}",
	    at("bin/claude"));
	l = open_ok(conf, NULL);
	mode("slow");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok(chat(l, NULL, &reply, &err) == -1 && streq(err, "claude-code: timed out after 1 s"),
	    "claude-code: a timeout: %s", err ? err : "(none)");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(t1.tv_sec - t0.tv_sec < 10, "claude-code: the timeout stops it");
	free(err);
	err = NULL;
	llm_close(l);

	/* found on PATH by name */
	{
		char *path = getenv("PATH") ? strdup(getenv("PATH")) : strdup("/usr/bin:/bin");
		char *p2 = NULL;

		if (asprintf(&p2, "%s:%s", at("bin"), path) > 0)
			setenv("PATH", p2, 1);
		l = open_ok("{'provider':'claude-code'}", NULL);
		mode("text");
		ok(chat(l, NULL, &reply, &err) == 0, "claude-code: 'claude' found on PATH");
		jv_free(reply);
		llm_close(l);
		setenv("PATH", path, 1);
		free(path);
		free(p2);
	}
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("GITHUB_TOKEN");
	unsetenv("ANTHROPIC_API_KEY");
}

static void
t_bad_input(void)
{
	char conf[256], *err = NULL;
	jv reply;
	llm *l;

	snprintf(conf, sizeof conf, "{'api_key':'" KEY "','endpoint':'%s/a'}", base);
	l = open_ok(conf, NULL);
	ok(llm_chat(l, NULL, NULL, jv_object(), jv_array(), 0, &reply, &err) == -1 && err &&
	    strstr(err, "anthropic: no messages"), "messages must be an array");
	free(err);
	ok(llm_chat(l, NULL, NULL, J("[{'role':'robot','content':'x'}]"), jv_array(), 0, &reply,
	    &err) == -1 && err && strstr(err, "message 0: role"), "an unknown role: %s",
	    err ? err : "");
	free(err);
	ok(llm_chat(l, NULL, NULL, J("[{'role':'tool','content':'x'}]"), jv_array(), 0, &reply,
	    &err) == -1 && err && strstr(err, "tool_call_id"), "a tool message needs its call's id");
	free(err);
	ok(llm_chat(l, NULL, NULL, J("[{'role':'assistant','content':'','tool_calls':[{'id':'a',"
	    "'name':'n','input':[1]}]}]"), jv_array(), 0, &reply, &err) == -1 && err &&
	    strstr(err, "input is not an object"), "a tool call's input must be an object");
	free(err);
	llm_close(l);
}

#define ANTH_ERR(type, msg) "{'type':'error','error':{'type':'" type "','message':'" msg "'}}"

static const char routes[] = "["
    /* anthropic */
    "{'method':'POST','path':'/a/v1/messages','status':200,'body':"
    " {'id':'msg_01','type':'message','role':'assistant','model':'claude-haiku-4-5-20251001',"
    "  'content':[{'type':'text','text':'Let me look.'},"
    "   {'type':'tool_use','id':'toolu_03','name':'read_events','input':{'actor':'bob','limit':5}}],"
    "  'stop_reason':'tool_use','stop_sequence':null,"
    "  'usage':{'input_tokens':412,'output_tokens':57}}},"
    "{'method':'POST','path':'/a429/v1/messages','status':429,'times':1,"
    " 'headers':{'Retry-After':'1'},'body':" ANTH_ERR("rate_limit_error", "Rate limited") "},"
    "{'method':'POST','path':'/a500/v1/messages','status':500,'times':1,"
    " 'body':" ANTH_ERR("api_error", "Internal server error") "},"
    "{'method':'POST','path':'/a529/v1/messages','status':529,"
    " 'body':" ANTH_ERR("overloaded_error", "Overloaded") "},"
    "{'method':'POST','path':'/abad/v1/messages','status':200,'body':'{\\'content\\': ['},"
    "{'method':'POST','path':'/ashape/v1/messages','status':200,'body':{'type':'message'}},"
    "{'method':'POST','path':'/akey/v1/messages','status':401,"
    " 'body':" ANTH_ERR("authentication_error", "invalid x-api-key: " KEY) "},"
    "{'method':'POST','path':'/a*','status':200,'body':"
    " {'id':'msg_02','type':'message','role':'assistant','model':'claude-haiku-4-5-20251001',"
    "  'content':[{'type':'text','text':'Resolved: '},{'type':'text','text':'known actor.'}],"
    "  'stop_reason':'end_turn','stop_sequence':null,"
    "  'usage':{'input_tokens':30,'output_tokens':8}}},"
    /* openai-compat */
    "{'method':'POST','path':'/o/v1/chat/completions','status':200,'body':"
    " {'id':'chatcmpl-1','object':'chat.completion','created':1,'model':'qwen2.5-7b',"
    "  'choices':[{'index':0,'message':{'role':'assistant','content':null,'tool_calls':["
    "   {'id':'call_abc','type':'function','function':{'name':'read_events',"
    "    'arguments':'{\\'actor\\': \\'bob\\', \\'limit\\': 5}'}}]},"
    "   'finish_reason':'tool_calls'}],"
    "  'usage':{'prompt_tokens':200,'completion_tokens':20,'total_tokens':220}}},"
    "{'method':'POST','path':'/o429/v1/chat/completions','status':429,'times':1,"
    " 'headers':{'Retry-After':'1'},'body':{'error':{'message':'Rate limit reached',"
    "  'type':'requests'}}},"
    "{'method':'POST','path':'/o500/v1/chat/completions','status':500,'times':1,'body':'oops'},"
    "{'method':'POST','path':'/o500/v1/chat/completions','status':200,'body':"
    " {'id':'chatcmpl-3','object':'chat.completion','model':'qwen2.5-7b',"
    "  'choices':[{'index':0,'message':{'role':'assistant','content':'Partial'},"
    "   'finish_reason':'length'}],'usage':{'prompt_tokens':50,'completion_tokens':1024}}},"
    "{'method':'POST','path':'/odown/v1/chat/completions','status':503,"
    " 'body':{'error':{'message':'model is loading','type':'server_error'}}},"
    "{'method':'POST','path':'/obad/v1/chat/completions','status':200,"
    " 'body':'{\\'choices\\': [{'},"
    "{'method':'POST','path':'/oargs/v1/chat/completions','status':200,'body':"
    " {'id':'chatcmpl-4','object':'chat.completion','model':'qwen2.5-7b',"
    "  'choices':[{'index':0,'message':{'role':'assistant','content':null,'tool_calls':["
    "   {'id':'call_x','type':'function','function':{'name':'read_events',"
    "    'arguments':'{\\'actor\\': '}}]},'finish_reason':'tool_calls'}]}},"
    "{'method':'POST','path':'/okey/v1/chat/completions','status':401,"
    " 'body':{'error':{'message':'Incorrect API key provided: " OKEY "',"
    "  'type':'invalid_request_error'}}},"
    "{'method':'POST','path':'/o*','status':200,'body':"
    " {'id':'chatcmpl-2','object':'chat.completion','model':'qwen2.5-7b',"
    "  'choices':[{'index':0,'message':{'role':'assistant','content':'All clear.'},"
    "   'finish_reason':'stop'}],'usage':{'prompt_tokens':50,'completion_tokens':5}}},"
    /* bedrock */
    "{'method':'POST','path':'/b/model/*','status':200,'sigv4':{'secret':'" SK "'},'body':"
    " {'output':{'message':{'role':'assistant','content':[{'text':'Looking.'},"
    "   {'toolUse':{'toolUseId':'tooluse_1','name':'read_events','input':{'actor':'bob'}}}]}},"
    "  'stopReason':'tool_use','usage':{'inputTokens':300,'outputTokens':25,'totalTokens':325},"
    "  'metrics':{'latencyMs':420}}},"
    "{'method':'POST','path':'/b429/model/*','status':429,'times':1,'sigv4':{'secret':'" SK "'},"
    " 'headers':{'Retry-After':'1'},'body':{'message':'Too many requests, please wait'}},"
    "{'method':'POST','path':'/b500/model/*','status':500,'times':1,'sigv4':{'secret':'" SK "'},"
    " 'body':{'message':'Internal server error'}},"
    "{'method':'POST','path':'/bdown/model/*','status':500,'sigv4':{'secret':'" SK "'},"
    " 'body':{'message':'Internal server error for " ST "'}},"
    "{'method':'POST','path':'/bbad/model/*','status':200,'sigv4':{'secret':'" SK "'},"
    " 'body':'<html>oops</html>'},"
    "{'method':'POST','path':'/b*','status':200,'sigv4':{'secret':'" SK "'},'body':"
    " {'output':{'message':{'role':'assistant','content':[{'text':'No threat.'}]}},"
    "  'stopReason':'end_turn','usage':{'inputTokens':90,'outputTokens':4,'totalTokens':94}}}"
    "]";

int
main(void)
{
	char *r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	setenv("MALLCOP_HTTP_FAST", "1", 1);
	if (!mkdtemp(root)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	r = q(routes);
	if (start_mock(r) < 0) {
		printf("Bail out! cannot start tests/mock/serve.py\n");
		return 1;
	}
	free(r);
	t_open();
	t_anthropic();
	t_openai();
	t_bedrock();
	t_claude_code();
	t_bad_input();
	stop_mock();
	remove_root();
	curl_global_cleanup();
	return t_done();
}
