/*
 * llm: one tool-use conversation turn over four backends.
 *
 * The conversation comes in one shape (llm.h) and is rewritten into each provider's: Anthropic
 * Messages, OpenAI chat completions, Bedrock Converse, and a text protocol for the claude CLI.
 * The assistant's tool calls go back with the input the model gave them, and the results of
 * one assistant turn go back together, as the providers require. Every HTTP request goes through
 * lib/http, which retries 429 and 5xx (Anthropic's 529 too) and keeps keys out of messages.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "auth.h"
#include "http.h"
#include "human.h"
#include "jsonl.h"
#include "llm.h"
#include "proc.h"
#include "util.h"

enum provider { ANTHROPIC, OPENAI, BEDROCK, CLAUDE_CODE };

static const char *const provider_names[] = { "anthropic", "openai-compat", "bedrock",
	"claude-code" };

enum {
	MAX_TOKENS = 4096,	/* when the caller gives none */
	HTTP_TIMEOUT = 120,
	CLI_TIMEOUT = 300,	/* the claude CLI starts a whole agent: slower than one request */
	QUOTE_MAX = 500,	/* bytes of the CLI's stderr quoted in an error */
};

struct llm {
	enum provider p;
	char *endpoint, *key, *secret, *token, *region, *model, *command;
	long timeout;
	int allow_private;	/* the endpoint may be a private or loopback address */
	unsigned long calls;	/* claude-code: the tool call ids handed out, cc_1, cc_2... */
	char **names;		/* llm_model's answers, kept while l lives */
	size_t nnames;
};

/* the CLI's environment: what running needs and its own login, never cloud credentials */
static const char *const cc_env[] = { "PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM",
	"TMPDIR", "XDG_RUNTIME_DIR", "ANTHROPIC_API_KEY", "CLAUDE_CONFIG_DIR", NULL };

static const char *const aliases[][2] = {
	{ "haiku", "claude-haiku-4-5-20251001" },
	{ "sonnet", "claude-sonnet-4-6" },
	{ "opus", "claude-opus-4-6" },
};

/* o[k], a copy; invalid when o is not an object or lacks k */
static jv
get(jv o, const char *k)
{
	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return jv_invalid();
	return jv_object_get(jv_copy(o), jv_string(k));
}

/* o[k] when it is a string, else NULL; valid while o is */
static const char *
str(jv o, const char *k)
{
	jv v = get(o, k);
	const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;

	jv_free(v);	/* o still holds the string */
	return s;
}

static long long
num(jv o, const char *k)
{
	jv v = get(o, k);
	double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;

	jv_free(v);
	/* a count from outside: NaN, negative or beyond any real count is no count */
	return d >= 0 && d <= 1e15 ? (long long)d : 0;
}

/* o[k] when it is of kind want, else dflt */
static jv
get_or(jv o, const char *k, jv_kind want, jv dflt)
{
	jv v = get(o, k);

	if (jv_get_kind(v) == want) {
		jv_free(dflt);
		return v;
	}
	jv_free(v);
	return dflt;
}

/* a tool call's input, {} when it had none */
#define input_of(call) get_or(call, "input", JV_KIND_OBJECT, jv_object())
/* the tool calls of an assistant message, [] when none */
#define calls_of(m) get_or(m, "tool_calls", JV_KIND_ARRAY, jv_array())
/* a tool's input_schema, {"type":"object"} when it has none */
#define schema_of(t) get_or(t, "input_schema", JV_KIND_OBJECT, \
	kv(jv_object(), "type", jv_string("object")))

static jv
kv(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

static int
kind(jv o, const char *k, jv_kind want)
{
	jv v = get(o, k);
	int is = jv_get_kind(v) == want;

	jv_free(v);
	return is;
}

static char *
conf_str(jv conf, const char *k)
{
	const char *s = str(conf, k);

	return s && *s ? xstrdup(s) : NULL;
}

static char *
dump(jv v)
{
	jv d = jv_dump_string(v, 0);
	char *s = xstrdup(jv_string_value(d));

	jv_free(d);
	return s;
}

/* the program a command names: itself when it has a slash, else the first on PATH */
static char *
find_program(const char *cmd)
{
	const char *path = getenv("PATH");
	char *dirs, *dir, *save = NULL, *full = NULL;

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0 ? xstrdup(cmd) : NULL;
	dirs = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		struct stat st;

		full = xasprintf("%s/%s", *dir ? dir : ".", cmd);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
			break;
		free(full);
		full = NULL;
	}
	free(dirs);
	return full;
}

/* a boolean setting (false when absent; "true"/"false" from a variable too); -1 otherwise */
static int
conf_bool(jv conf, const char *k, int *out)
{
	jv v = get(conf, k);
	jv_kind kind = jv_get_kind(v);
	int rc = 0;

	*out = kind == JV_KIND_TRUE;
	if (kind == JV_KIND_STRING && (streq(jv_string_value(v), "true") ||
	    streq(jv_string_value(v), "false")))
		*out = streq(jv_string_value(v), "true");
	else if (kind != JV_KIND_TRUE && kind != JV_KIND_FALSE && kind != JV_KIND_NULL &&
	    kind != JV_KIND_INVALID)
		rc = -1;
	jv_free(v);
	return rc;
}

static long
conf_timeout(jv conf, long dflt)
{
	jv t = get(conf, "timeout");
	long s = dflt;

	if (jv_get_kind(t) == JV_KIND_NUMBER && jv_number_value(t) >= 1)
		s = (long)jsonl_int(jv_copy(t), 1, 86400, dflt);
	else if (jv_get_kind(t) == JV_KIND_STRING) {
		char *end;
		long v = strtol(jv_string_value(t), &end, 10);

		if (end != jv_string_value(t) && *end == '\0' && v >= 1)
			s = v;
	}
	jv_free(t);
	return s;
}

static const char *
alias(const char *model)
{
	for (size_t i = 0; model && i < sizeof aliases / sizeof *aliases; i++)
		if (streq(model, aliases[i][0]))
			return aliases[i][1];
	return NULL;
}

/* the provider's settings from conf; -1 with *err when it cannot work */
static int
configure(llm *l, jv conf, char **err)
{
	const char *who = provider_names[l->p];
	char *e = NULL;
	http_client c;

	switch (l->p) {
	case ANTHROPIC:
		if (!l->key) {
			*err = xstrdup("anthropic: no api_key (set llm.api_key: ${ANTHROPIC_API_KEY})");
			return -1;
		}
		if (!l->endpoint)
			l->endpoint = xstrdup("https://api.anthropic.com");
		break;
	case OPENAI:
		if (!l->endpoint) {
			*err = xstrdup("openai-compat: no endpoint (set llm.endpoint, e.g. "
			    "http://127.0.0.1:8080/v1 for llama.cpp)");
			return -1;
		}
		break;
	case BEDROCK:
		l->region = conf_str(conf, "region");
		if (!l->region)
			l->region = xstrdup("us-east-1");
		if (!l->endpoint)
			l->endpoint = xasprintf("https://bedrock-runtime.%s.amazonaws.com", l->region);
		if (l->key && !l->secret) {
			*err = xstrdup("bedrock: no secret_key for the access key in api_key (set "
			    "llm.secret_key, or neither to use the AWS credentials of the environment)");
			return -1;
		}
		if (!l->key) {
			free(l->token);
			l->token = NULL;
			if (auth_aws_credentials(&l->key, &l->secret, &l->token, &e) < 0) {
				*err = xasprintf("bedrock: %s (or set llm.api_key and llm.secret_key)",
				    e);
				free(e);
				return -1;
			}
		}
		if (!l->model) {
			*err = xstrdup("bedrock: no default_model (set llm.default_model to a Bedrock "
			    "model id, e.g. anthropic.claude-3-5-haiku-20241022-v1:0)");
			return -1;
		}
		break;
	case CLAUDE_CODE: {
		char *cmd = conf_str(conf, "command");

		l->command = find_program(cmd ? cmd : "claude");
		if (!l->command) {
			*err = xasprintf("claude-code: cannot find the program '%s'%s", cmd ?
			    cmd : "claude", cmd ? "" : " on PATH (set llm.command)");
			free(cmd);
			return -1;
		}
		free(cmd);
		return 0;
	}
	}
	if (http_init(&c, who, l->endpoint, &e) < 0) {	/* the endpoint is refused now, not later */
		*err = xasprintf("llm.endpoint: %s", e);
		free(e);
		return -1;
	}
	c.allow_private = l->allow_private;
	if (http_check_base(&c, &e) < 0) {
		*err = xasprintf("llm.endpoint: %s", e);
		free(e);
		http_free(&c);
		return -1;
	}
	http_free(&c);
	return 0;
}

llm *
llm_open(jv conf, const char *backend, char **err)
{
	const char *prov = backend && *backend ? backend : str(conf, "provider");
	llm *l;
	size_t i;

	*err = NULL;
	if (jv_get_kind(conf) != JV_KIND_OBJECT && jv_get_kind(conf) != JV_KIND_NULL) {
		*err = xstrdup("llm: the llm: section of mallcop.yaml is not a mapping");
		return NULL;
	}
	if (!prov || !*prov)
		prov = "anthropic";
	for (i = 0; i < sizeof provider_names / sizeof *provider_names; i++)
		if (streq(prov, provider_names[i]))
			break;
	if (i == sizeof provider_names / sizeof *provider_names) {
		char *safe = human_safe(prov);

		*err = xasprintf("llm: unknown provider '%s' (anthropic, openai-compat, bedrock or "
		    "claude-code)", safe);
		free(safe);
		return NULL;
	}
	l = xcalloc(1, sizeof *l);
	l->p = (enum provider)i;
	l->endpoint = conf_str(conf, "endpoint");
	l->key = conf_str(conf, "api_key");
	l->secret = conf_str(conf, "secret_key");
	l->token = conf_str(conf, "session_token");
	secret_add(l->key);
	secret_add(l->secret);
	secret_add(l->token);
	l->model = conf_str(conf, "default_model");
	if ((l->p == ANTHROPIC || l->p == CLAUDE_CODE) && alias(l->model)) {
		char *full = xstrdup(alias(l->model));

		free(l->model);
		l->model = full;
	}
	l->timeout = conf_timeout(conf, l->p == CLAUDE_CODE ? CLI_TIMEOUT : HTTP_TIMEOUT);
	if (conf_bool(conf, "allow_private", &l->allow_private) < 0) {
		*err = xstrdup("llm: allow_private must be true or false");
		llm_close(l);
		return NULL;
	}
	if (configure(l, conf, err) < 0) {
		llm_close(l);
		return NULL;
	}
	return l;
}

void
llm_close(llm *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nnames; i++)
		free(l->names[i]);
	free(l->names);
	free(l->endpoint);
	free(l->key);
	free(l->secret);
	free(l->token);
	free(l->region);
	free(l->model);
	free(l->command);
	free(l);
}

const char *
llm_provider(const llm *l)
{
	return provider_names[l->p];
}

const char *
llm_model(llm *l, const char *model)
{
	int claude = l->p == ANTHROPIC || l->p == CLAUDE_CODE;

	if (alias(model)) {
		if (claude)
			return alias(model);
		model = NULL;
	}
	if (!model || !*model) {
		if (l->model)
			return l->model;
		/* a local server serves the one model it loaded, whatever the name */
		return claude ? "claude-sonnet-4-6" : "default";
	}
	for (size_t i = 0; i < l->nnames; i++)
		if (streq(l->names[i], model))
			return l->names[i];
	l->names = xrealloc(l->names, (l->nnames + 1) * sizeof *l->names);
	return l->names[l->nnames++] = xstrdup(model);
}

/* -------------------------------------------------------------------------------------------- */
/* the conversation as the interface has it */

/* messages and tools are well formed (llm.h); else -1 and *err naming the first fault */
static int
check(const llm *l, jv messages, jv tools, char **err)
{
	const char *who = provider_names[l->p], *why = NULL;
	int at = 0, n;

	if (jv_get_kind(messages) != JV_KIND_ARRAY || jv_array_length(jv_copy(messages)) == 0) {
		*err = xasprintf("%s: no messages", who);
		return -1;
	}
	n = jv_array_length(jv_copy(messages));
	for (at = 0; at < n; at++) {
		jv m = jv_array_get(jv_copy(messages), at), calls;
		const char *role = str(m, "role");

		if (jv_get_kind(m) != JV_KIND_OBJECT || !role)
			why = "not an object with a role";
		else if (!streq(role, "user") && !streq(role, "assistant") && !streq(role, "tool"))
			why = "role is not user, assistant or tool";
		else if (!kind(m, "content", JV_KIND_STRING) && !kind(m, "content", JV_KIND_NULL) &&
		    !kind(m, "content", JV_KIND_INVALID))
			why = "content is not a string";
		else if (streq(role, "tool") && !str(m, "tool_call_id"))
			why = "a tool message without tool_call_id";
		calls = get(m, "tool_calls");
		if (!why && jv_get_kind(calls) == JV_KIND_ARRAY) {
			jv_array_foreach(calls, i, c) {
				jv in = get(c, "input");

				if (!why && (!str(c, "id") || !str(c, "name")))
					why = "a tool call without id or name";
				else if (!why && jv_get_kind(in) != JV_KIND_OBJECT &&
				    jv_get_kind(in) != JV_KIND_INVALID)
					why = "a tool call whose input is not an object";
				jv_free(in);
				jv_free(c);
			}
		} else if (!why && jv_get_kind(calls) != JV_KIND_INVALID &&
		    jv_get_kind(calls) != JV_KIND_NULL) {
			why = "tool_calls is not an array";
		}
		jv_free(calls);
		jv_free(m);
		if (why)
			break;
	}
	if (why) {
		*err = xasprintf("%s: message %d: %s", who, at, why);
		return -1;
	}
	if (jv_get_kind(tools) != JV_KIND_ARRAY && jv_get_kind(tools) != JV_KIND_NULL &&
	    jv_get_kind(tools) != JV_KIND_INVALID) {
		*err = xasprintf("%s: tools is not an array", who);
		return -1;
	}
	if (jv_get_kind(tools) == JV_KIND_ARRAY) {
		jv_array_foreach(tools, i, t) {
			if (!why && !str(t, "name"))
				why = "a tool without a name";
			jv_free(t);
		}
	}
	if (why) {
		*err = xasprintf("%s: %s", who, why);
		return -1;
	}
	return 0;
}

static const char *
text_of(jv m)
{
	const char *s = str(m, "content");

	return s ? s : "";
}

/* the last message of out is a user message (of content blocks, when blocks is set) */
static int
last_is_user(jv out, int blocks)
{
	int n = jv_array_length(jv_copy(out)), is;
	jv last;

	if (n == 0)
		return 0;
	last = jv_array_get(jv_copy(out), n - 1);
	is = streq(str(last, "role"), "user") && (!blocks || kind(last, "content", JV_KIND_ARRAY));
	jv_free(last);
	return is;
}

/* out with block appended to the content blocks of its last message */
static jv
append_block(jv out, jv block)
{
	int n = jv_array_length(jv_copy(out));
	jv last = jv_array_get(jv_copy(out), n - 1);
	jv content = get(last, "content");

	last = kv(last, "content", jv_array_append(content, block));
	return jv_array_set(out, n - 1, last);
}

/* out with a user message holding block: the last one when it is a user message of blocks */
static jv
user_block(jv out, jv block)
{
	if (!last_is_user(out, 1))
		out = jv_array_append(out, kv(kv(jv_object(), "role", jv_string("user")), "content",
		    jv_array()));
	return append_block(out, block);
}

/* the reply of llm.h */
static jv
reply_new(const char *model)
{
	jv r = kv(jv_object(), "text", jv_string(""));

	r = kv(r, "tool_calls", jv_array());
	r = kv(r, "model", jv_string(model));
	r = kv(r, "tokens_in", jv_number(0));
	return kv(kv(r, "tokens_out", jv_number(0)), "stop", jv_string(""));
}

static jv
reply_text(jv r, const char *s)
{
	jv t = get(r, "text");

	return kv(r, "text", jv_string_concat(t, jv_string(s)));
}

static jv
reply_call(jv r, const char *id, const char *name, jv input)
{
	jv c = kv(kv(kv(jv_object(), "id", jv_string(id)), "name", jv_string(name)), "input", input);

	return kv(r, "tool_calls", jv_array_append(get(r, "tool_calls"), c));
}

static jv
reply_usage(jv r, long long in, long long out, const char *stop)
{
	r = kv(r, "tokens_in", jv_number((double)in));
	r = kv(r, "tokens_out", jv_number((double)out));
	return kv(r, "stop", jv_string(stop ? stop : ""));
}

/* -------------------------------------------------------------------------------------------- */
/* HTTP */

static int
client(const llm *l, http_client *c, char **err)
{
	if (http_init(c, provider_names[l->p], l->endpoint, err) < 0)
		return -1;
	c->timeout_s = l->timeout;
	c->allow_private = l->allow_private;
	return 0;
}

/* the endpoint joined with path */
static char *
request_url(const llm *l, const char *path)
{
	size_t n = strlen(l->endpoint);

	while (n > 0 && l->endpoint[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, l->endpoint, path);
}

/* "who: POST /path" as lib/http names a request, for the errors found in a reply */
static char *
request_what(const llm *l, const char *url)
{
	CURLU *u = curl_url();
	char *p = NULL, *s;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &p, 0) == CURLUE_OK)
		s = xasprintf("%s: POST %s", provider_names[l->p], p);
	else
		s = xasprintf("%s: POST %s", provider_names[l->p], url);
	curl_free(p);
	curl_url_cleanup(u);
	return s;
}

/* POST body to url; the reply, an object, or invalid with *err */
static jv
post(http_client *c, const char *url, const char *body, const char *what, char **err)
{
	http_response r;
	jv j;

	if (http_request(c, "POST", url, body, "application/json", &r) < 0) {
		*err = xstrdup(r.error ? r.error : what);
		http_response_free(&r);
		return jv_invalid();
	}
	j = http_json(&r, err);
	http_response_free(&r);
	if (jv_is_valid(j) && jv_get_kind(j) != JV_KIND_OBJECT) {
		jv_free(j);
		*err = xasprintf("%s: the reply is not a JSON object", what);
		return jv_invalid();
	}
	return j;
}

/* body with the tools in p's shape; none, no key (an empty list is refused) */
static jv
with_tools(jv body, enum provider p, jv tools)
{
	jv out;

	if (jv_get_kind(tools) != JV_KIND_ARRAY || jv_array_length(jv_copy(tools)) == 0) {
		jv_free(tools);
		return body;
	}
	out = jv_array();
	jv_array_foreach(tools, i, t) {
		jv o = kv(jv_object(), "name", jv_string(str(t, "name")));

		if (str(t, "description"))
			o = kv(o, "description", jv_string(str(t, "description")));
		if (p == ANTHROPIC)
			o = kv(o, "input_schema", schema_of(t));
		else if (p == OPENAI)
			o = kv(kv(jv_object(), "type", jv_string("function")), "function",
			    kv(o, "parameters", schema_of(t)));
		else
			o = kv(jv_object(), "toolSpec", kv(o, "inputSchema", kv(jv_object(), "json",
			    schema_of(t))));
		out = jv_array_append(out, o);
		jv_free(t);
	}
	jv_free(tools);
	if (p == BEDROCK)
		return kv(body, "toolConfig", kv(jv_object(), "tools", out));
	return kv(body, "tools", out);
}

/* Anthropic Messages: https://docs.anthropic.com/en/api/messages */
/* a text block of p's (Anthropic or Bedrock) */
static jv
block_text(enum provider p, const char *text)
{
	jv b = p == ANTHROPIC ? kv(jv_object(), "type", jv_string("text")) : jv_object();

	return kv(b, "text", jv_string(text));
}

/* an assistant's tool call c as a block of p's, with its input */
static jv
block_call(enum provider p, jv c)
{
	jv b;

	if (p == ANTHROPIC) {
		b = kv(kv(jv_object(), "type", jv_string("tool_use")), "id", jv_string(str(c, "id")));
		return kv(kv(b, "name", jv_string(str(c, "name"))), "input", input_of(c));
	}
	b = kv(kv(jv_object(), "toolUseId", jv_string(str(c, "id"))), "name",
	    jv_string(str(c, "name")));
	return kv(jv_object(), "toolUse", kv(b, "input", input_of(c)));
}

/* a tool message m as a block of p's */
static jv
block_result(enum provider p, jv m)
{
	jv b;

	if (p == ANTHROPIC) {
		b = kv(jv_object(), "type", jv_string("tool_result"));
		b = kv(b, "tool_use_id", jv_string(str(m, "tool_call_id")));
		return kv(b, "content", jv_string(text_of(m)));
	}
	b = kv(jv_object(), "toolUseId", jv_string(str(m, "tool_call_id")));
	b = kv(b, "content", jv_array_append(jv_array(), block_text(p, text_of(m))));
	return kv(jv_object(), "toolResult", b);
}

/*
 * The messages of Anthropic Messages (https://docs.anthropic.com/en/api/messages) and Bedrock
 * Converse (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html):
 * content blocks; the results of one assistant turn, and what the user says after them, in one
 * user message. Converse wants user and assistant turns alternating, and blocks everywhere.
 */
static jv
block_messages(enum provider p, jv msgs)
{
	jv out = jv_array();

	jv_array_foreach(msgs, i, m) {
		const char *role = str(m, "role"), *text = text_of(m);

		if (streq(role, "tool")) {
			out = user_block(out, block_result(p, m));
		} else if (streq(role, "assistant")) {
			jv content = jv_array(), calls = calls_of(m);
			int ncalls = jv_array_length(jv_copy(calls));

			if (*text || (p == BEDROCK && ncalls == 0))
				content = jv_array_append(content, block_text(p, text));
			jv_array_foreach(calls, j, c) {
				content = jv_array_append(content, block_call(p, c));
				jv_free(c);
			}
			jv_free(calls);
			if (jv_array_length(jv_copy(content)) == 0) {
				jv_free(content);
				content = jv_string(text);
			}
			out = jv_array_append(out, kv(kv(jv_object(), "role",
			    jv_string("assistant")), "content", content));
		} else if (p == BEDROCK || last_is_user(out, 1)) {
			out = user_block(out, block_text(p, text));
		} else {
			out = jv_array_append(out, kv(kv(jv_object(), "role", jv_string("user")),
			    "content", jv_string(text)));
		}
		jv_free(m);
	}
	jv_free(msgs);
	return out;
}

/* the reply of Anthropic's or Bedrock's r (consumed): 0, or -1 with *err */
static int
block_reply(enum provider p, jv r, const char *model, const char *what, jv *reply, char **err)
{
	int a = p == ANTHROPIC;
	jv content, usage, out, m;

	if (a) {
		content = get(r, "content");
	} else {
		m = get(r, "output");
		content = get(m, "message");
		jv_free(m);
		m = content;
		content = get(m, "content");
		jv_free(m);
	}
	if (jv_get_kind(content) != JV_KIND_ARRAY) {
		*err = xasprintf("%s: the reply has no %s", what, a ? "content" :
		    "output.message.content");
		jv_free(content);
		jv_free(r);
		return -1;
	}
	out = reply_new(a && str(r, "model") ? str(r, "model") : model);
	jv_array_foreach(content, i, b) {
		const char *type = str(b, "type");
		jv call = !a ? get(b, "toolUse") : streq(type, "tool_use") ? jv_copy(b) : jv_invalid();
		const char *id = str(call, a ? "id" : "toolUseId");

		if (str(b, "text") && (!a || streq(type, "text")))
			out = reply_text(out, str(b, "text"));
		else if (id && str(call, "name"))
			out = reply_call(out, id, str(call, "name"), input_of(call));
		jv_free(call);
		jv_free(b);
	}
	usage = get(r, "usage");
	*reply = reply_usage(out, num(usage, a ? "input_tokens" : "inputTokens"),
	    num(usage, a ? "output_tokens" : "outputTokens"), str(r, a ? "stop_reason" :
	    "stopReason"));
	jv_free(usage);
	jv_free(content);
	jv_free(r);
	return 0;
}

static int
anthropic_chat(llm *l, http_client *c, const char *model, const char *system, jv messages,
    jv tools, int max_tokens, jv *reply, char **err)
{
	jv body, r;
	char *s, *url, *what;
	int rc = -1;

	http_header(c, "x-api-key: %s", l->key);
	http_header(c, "anthropic-version: 2023-06-01");
	body = kv(kv(jv_object(), "model", jv_string(model)), "max_tokens", jv_number(max_tokens));
	if (system && *system)
		body = kv(body, "system", jv_string(system));
	body = kv(body, "messages", block_messages(ANTHROPIC, messages));
	body = with_tools(body, ANTHROPIC, tools);
	s = dump(body);
	url = request_url(l, "/v1/messages");
	what = request_what(l, url);
	r = post(c, url, s, what, err);
	if (jv_is_valid(r))
		rc = block_reply(ANTHROPIC, r, model, what, reply, err);
	else
		jv_free(r);
	free(s);
	free(url);
	free(what);
	return rc;
}

/* OpenAI chat completions, as llama.cpp, ollama and vLLM serve them too */
static jv
openai_messages(const char *system, jv msgs)
{
	jv out = jv_array();

	if (system && *system)
		out = jv_array_append(out, kv(kv(jv_object(), "role", jv_string("system")),
		    "content", jv_string(system)));
	jv_array_foreach(msgs, i, m) {
		const char *role = str(m, "role"), *text = text_of(m);
		jv o = kv(jv_object(), "role", jv_string(role));

		if (streq(role, "tool")) {
			o = kv(o, "tool_call_id", jv_string(str(m, "tool_call_id")));
			o = kv(o, "content", jv_string(text));
		} else if (streq(role, "assistant")) {
			jv calls = calls_of(m), tc = jv_array();

			jv_array_foreach(calls, j, c) {
				jv fn = kv(jv_object(), "name", jv_string(str(c, "name")));
				char *args = dump(input_of(c));

				fn = kv(fn, "arguments", jv_string(args));
				free(args);
				tc = jv_array_append(tc, kv(kv(kv(jv_object(), "id",
				    jv_string(str(c, "id"))), "type", jv_string("function")),
				    "function", fn));
				jv_free(c);
			}
			jv_free(calls);
			if (jv_array_length(jv_copy(tc)) > 0) {
				o = kv(o, "content", *text ? jv_string(text) : jv_null());
				o = kv(o, "tool_calls", tc);
			} else {
				jv_free(tc);
				o = kv(o, "content", jv_string(text));
			}
		} else {
			o = kv(o, "content", jv_string(text));
		}
		out = jv_array_append(out, o);
		jv_free(m);
	}
	jv_free(msgs);
	return out;
}

/* a tool call's arguments: a JSON object in a string; invalid with *err when they are not */
static jv
openai_arguments(jv fn, const char *name, const char *what, char **err)
{
	jv a = get(fn, "arguments"), in;
	const char *s;

	if (jv_get_kind(a) == JV_KIND_OBJECT)
		return a;
	if (jv_get_kind(a) != JV_KIND_STRING) {
		jv_free(a);
		return jv_object();	/* no arguments */
	}
	for (s = jv_string_value(a); isspace((unsigned char)*s); s++)
		;
	if (!*s) {
		jv_free(a);
		return jv_object();
	}
	in = jsonl_parse(s, strlen(s));
	if (jv_get_kind(in) != JV_KIND_OBJECT) {
		jv msg = jv_is_valid(in) ? jv_invalid() : jv_invalid_get_msg(jv_copy(in));
		char *why = NULL, *cut, *safe = human_safe(name);

		if (jv_get_kind(msg) == JV_KIND_STRING) {
			why = xstrdup(jv_string_value(msg));
			if ((cut = strstr(why, " (while parsing")) != NULL)
				*cut = '\0';
		}
		*err = xasprintf("%s: the arguments of the tool call '%s' are not a JSON object%s%s",
		    what, safe, why ? ": " : "", why ? why : "");
		free(why);
		free(safe);
		jv_free(msg);
		jv_free(in);
		in = jv_invalid();
	}
	jv_free(a);
	return in;
}

static const char *
openai_stop(const char *finish)
{
	if (streq(finish, "tool_calls") || streq(finish, "function_call"))
		return "tool_use";
	if (streq(finish, "stop"))
		return "end_turn";
	if (streq(finish, "length"))
		return "max_tokens";
	return finish;
}

static int
openai_chat(llm *l, http_client *c, const char *model, const char *system, jv messages,
    jv tools, int max_tokens, jv *reply, char **err)
{
	jv body, r, choices, choice, msg, calls, usage, out;
	char *s, *url, *what;
	int rc = 0;

	if (l->key)
		http_header(c, "Authorization: Bearer %s", l->key);
	body = kv(jv_object(), "model", jv_string(model));
	body = kv(body, "messages", openai_messages(system, messages));
	body = kv(body, "max_tokens", jv_number(max_tokens));
	body = with_tools(body, OPENAI, tools);
	s = dump(body);
	url = request_url(l, "/chat/completions");
	what = request_what(l, url);
	r = post(c, url, s, what, err);
	free(s);
	free(url);
	if (!jv_is_valid(r)) {
		free(what);
		jv_free(r);
		return -1;
	}
	choices = get(r, "choices");
	choice = jv_get_kind(choices) == JV_KIND_ARRAY && jv_array_length(jv_copy(choices)) > 0 ?
	    jv_array_get(jv_copy(choices), 0) : jv_invalid();
	msg = get(choice, "message");
	if (jv_get_kind(msg) != JV_KIND_OBJECT) {
		*err = xasprintf("%s: the reply has no choices[0].message", what);
		free(what);
		jv_free(msg);
		jv_free(choice);
		jv_free(choices);
		jv_free(r);
		return -1;
	}
	out = reply_new(str(r, "model") ? str(r, "model") : model);
	if (str(msg, "content"))
		out = reply_text(out, str(msg, "content"));
	calls = calls_of(msg);
	jv_array_foreach(calls, i, tc) {
		jv fn = get(tc, "function"), in;
		const char *name = str(fn, "name");
		char id[32];

		if (rc == 0 && name) {
			in = openai_arguments(fn, name, what, err);
			if (!jv_is_valid(in)) {
				jv_free(in);
				rc = -1;
			} else {
				snprintf(id, sizeof id, "call_%d", i + 1);
				out = reply_call(out, str(tc, "id") ? str(tc, "id") : id, name, in);
			}
		}
		jv_free(fn);
		jv_free(tc);
	}
	usage = get(r, "usage");
	out = reply_usage(out, num(usage, "prompt_tokens"), num(usage, "completion_tokens"),
	    openai_stop(str(choice, "finish_reason")));
	free(what);
	jv_free(usage);
	jv_free(calls);
	jv_free(msg);
	jv_free(choice);
	jv_free(choices);
	jv_free(r);
	if (rc < 0)
		jv_free(out);
	else
		*reply = out;
	return rc;
}

/* Bedrock: the signed headers of one request to url (SigV4, service bedrock) */
static int
bedrock_sign(const llm *l, http_client *c, const char *url, const char *body, char **err)
{
	const char *const hdrs[] = { "Content-Type: application/json", NULL };
	char date[32], *auth, **extra = NULL;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
	auth = auth_sigv4("POST", url, hdrs, body, strlen(body), l->region, "bedrock", l->key,
	    l->secret, l->token, date, &extra);
	if (!auth) {
		*err = xasprintf("bedrock: cannot sign a request to %s", l->endpoint);
		return -1;
	}
	http_header(c, "Authorization: %s", auth);
	for (size_t i = 0; extra && extra[i]; i++)
		http_header(c, "%s", extra[i]);
	auth_headers_free(extra);
	free(auth);
	return 0;
}

static int
bedrock_chat(llm *l, http_client *c, const char *model, const char *system, jv messages,
    jv tools, int max_tokens, jv *reply, char **err)
{
	jv body, r;
	char *s, *id, *path, *url, *what;
	int rc = -1;

	body = kv(jv_object(), "messages", block_messages(BEDROCK, messages));
	if (system && *system)
		body = kv(body, "system", jv_array_append(jv_array(), block_text(BEDROCK, system)));
	body = kv(body, "inferenceConfig", kv(jv_object(), "maxTokens", jv_number(max_tokens)));
	body = with_tools(body, BEDROCK, tools);
	s = dump(body);
	/* a model id has ':' and an ARN '/': one path segment, percent-encoded */
	if (!(id = curl_easy_escape(NULL, model, 0)))
		die(EXIT_WORK, "out of memory");
	path = xasprintf("/model/%s/converse", id);
	curl_free(id);
	url = request_url(l, path);
	what = request_what(l, url);
	r = bedrock_sign(l, c, url, s, err) < 0 ? jv_invalid() : post(c, url, s, what, err);
	if (jv_is_valid(r))
		rc = block_reply(BEDROCK, r, model, what, reply, err);
	else
		jv_free(r);
	free(s);
	free(path);
	free(url);
	free(what);
	return rc;
}

/* -------------------------------------------------------------------------------------------- */
/* claude-code: the claude CLI in print mode, the tools described in text */

static const char cc_head[] =
    "You take part in a conversation through a strict protocol. You cannot run tools yourself;\n"
    "the caller runs the tools listed below for you. Answer with exactly one JSON object and\n"
    "nothing else, either\n"
    "  {\"tool_calls\": [{\"name\": \"TOOL\", \"input\": {...}}]}\n"
    "to call one or more of the tools (input as its schema says), or\n"
    "  {\"text\": \"YOUR ANSWER\"}\n"
    "when you need no tool. The conversation so far follows, one JSON object a line: \"user\"\n"
    "messages, your own \"assistant\" turns, and \"tool\" messages with what a tool returned.\n"
    "\n=== TOOLS ===\n";

static const char cc_tail[] =
    "=== END ===\n"
    "Answer now with only the JSON object: {\"tool_calls\": [...]} or {\"text\": \"...\"}.\n";

static char *
cc_prompt(jv msgs, jv tools)
{
	char *s = NULL;
	size_t n;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		die(EXIT_WORK, "open_memstream:");
	fputs(cc_head, f);
	if (jv_get_kind(tools) != JV_KIND_ARRAY || jv_array_length(jv_copy(tools)) == 0)
		fputs("(none)\n", f);
	else {
		jv_array_foreach(tools, i, t) {
			jv schema = get(t, "input_schema");
			char *js = jv_is_valid(schema) ? dump(schema) : xstrdup("{}");

			fprintf(f, "- %s: %s\n  input schema: %s\n", str(t, "name"),
			    str(t, "description") ? str(t, "description") : "", js);
			free(js);
			jv_free(t);
		}
	}
	fputs("\n=== CONVERSATION ===\n", f);
	jv_array_foreach(msgs, i, m) {
		const char *role = str(m, "role");
		jv o = kv(jv_object(), "role", jv_string(role));
		char *line;

		if (streq(role, "tool") && str(m, "name"))
			o = kv(o, "name", jv_string(str(m, "name")));
		o = kv(o, "content", jv_string(text_of(m)));
		if (streq(role, "assistant")) {
			jv calls = calls_of(m), tc = jv_array();

			jv_array_foreach(calls, j, c) {
				tc = jv_array_append(tc, kv(kv(jv_object(), "name",
				    jv_string(str(c, "name"))), "input", input_of(c)));
				jv_free(c);
			}
			jv_free(calls);
			if (jv_array_length(jv_copy(tc)) > 0)
				o = kv(o, "tool_calls", tc);
			else
				jv_free(tc);
		}
		line = dump(o);
		fprintf(f, "%s\n", line);
		free(line);
		jv_free(m);
	}
	fputs(cc_tail, f);
	fclose(f);
	jv_free(msgs);
	jv_free(tools);
	return s;
}

/* the length of the balanced {...} at s (strings and escapes heeded), 0 when it does not close */
static size_t
balanced(const char *s)
{
	int depth = 0, in_str = 0;

	for (const char *p = s; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_str = 0;
		} else if (*p == '"') {
			in_str = 1;
		} else if (*p == '{') {
			depth++;
		} else if (*p == '}' && --depth == 0) {
			return (size_t)(p - s) + 1;
		}
	}
	return 0;
}

/* the first JSON object in text (the whole of it, or one inside prose or a code fence) */
static jv
first_object(const char *text)
{
	jv j = jsonl_parse(text, strlen(text));

	if (jv_get_kind(j) == JV_KIND_OBJECT)
		return j;
	jv_free(j);
	for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{')) {
		size_t n = balanced(p);

		if (!n)
			continue;
		j = jsonl_parse(p, n);
		if (jv_get_kind(j) == JV_KIND_OBJECT)
			return j;
		jv_free(j);
	}
	return jv_invalid();
}

static char *
read_fd(int fd)
{
	char *s = NULL, buf[8192];
	size_t len = 0;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return xstrdup("");
	while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		s = xrealloc(s, len + (size_t)n + 1);
		memcpy(s + len, buf, (size_t)n);
		len += (size_t)n;
	}
	if (!s)
		return xstrdup("");
	s[len] = '\0';
	return s;
}

static int
write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return lseek(fd, 0, SEEK_SET) < 0 ? -1 : 0;
}

/* the first QUOTE_MAX bytes of s made safe to print (not cut inside a UTF-8 sequence) */
static char *
quote(const char *s)
{
	size_t n = strlen(s);
	char *cut, *safe;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n > QUOTE_MAX) {
		n = QUOTE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	cut = xmalloc(n + 1);
	memcpy(cut, s, n);
	cut[n] = '\0';
	safe = human_safe(cut);
	free(cut);
	return safe;
}

/* run the CLI with prompt on stdin; its stdout, or NULL with *err */
static char *
cc_run(llm *l, const char *model, const char *system, const char *prompt, char **err)
{
	const char *tmp = getenv("TMPDIR");
	char *argv[16], **envp = NULL, *e = NULL, *out = NULL;
	size_t ne = 0, na = 0;
	int in, outfd, errfd;
	proc p, *pp = &p;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	for (size_t i = 0; cc_env[i]; i++)
		if (getenv(cc_env[i]))
			proc_env_add(&envp, &ne, cc_env[i], getenv(cc_env[i]));
	if (!envp)
		envp = xcalloc(1, sizeof *envp);
	argv[na++] = l->command;
	argv[na++] = "-p";
	argv[na++] = "--output-format";
	argv[na++] = "json";
	argv[na++] = "--model";
	argv[na++] = (char *)model;
	argv[na++] = "--no-session-persistence";
	/* its own tools (shell, files, web) stay off: the conversation carries untrusted text */
	argv[na++] = "--tools";
	argv[na++] = "";
	argv[na++] = "--strict-mcp-config";
	if (system && *system) {
		argv[na++] = "--append-system-prompt";
		argv[na++] = (char *)system;
	}
	argv[na] = NULL;
	in = proc_spool(tmp);
	outfd = proc_spool(tmp);
	errfd = proc_spool(tmp);
	memset(&p, 0, sizeof p);
	p.timeout_ms = l->timeout * 1000;
	if (write_all(in, prompt) < 0) {
		*err = xasprintf("claude-code: cannot write the prompt to a file in '%s': %s", tmp,
		    strerror(errno));
	} else if (proc_spawn(&p, argv, envp, in, outfd, errfd, &e) < 0) {
		*err = xasprintf("claude-code: %s", e);
		free(e);
	} else {
		proc_wait(&pp, 1);
		if (p.timed_out) {
			*err = xasprintf("claude-code: timed out after %ld s", l->timeout);
		} else if (!proc_ok(&p)) {
			char *how = proc_describe(&p), *text = read_fd(errfd), *q = quote(text);

			*err = xasprintf("claude-code: '%s' %s%s%s", l->command, how, *q ? ": " : "",
			    q);
			free(how);
			free(text);
			free(q);
		} else {
			out = read_fd(outfd);
		}
	}
	close(in);
	close(outfd);
	close(errfd);
	for (size_t i = 0; i < ne; i++)
		free(envp[i]);
	free(envp);
	return out;
}

static int
cc_chat(llm *l, const char *model, const char *system, jv messages, jv tools, jv *reply,
    char **err)
{
	char *prompt = cc_prompt(messages, tools), *text;
	const char *result;
	jv j, answer, calls, usage, out;

	text = cc_run(l, model, system, prompt, err);
	free(prompt);
	if (!text)
		return -1;
	j = jsonl_parse(text, strlen(text));
	if (jv_get_kind(j) != JV_KIND_OBJECT || !(result = str(j, "result"))) {
		char *q = quote(text);

		*err = xasprintf("claude-code: the output of '%s' is not its JSON result: %s",
		    l->command, *q ? q : "(empty)");
		free(q);
		free(text);
		jv_free(j);
		return -1;
	}
	free(text);
	if (kind(j, "is_error", JV_KIND_TRUE)) {
		char *q = quote(result);

		*err = xasprintf("claude-code: '%s' reported an error: %s", l->command, q);
		free(q);
		jv_free(j);
		return -1;
	}
	out = reply_new(model);
	answer = first_object(result);
	calls = get(answer, "tool_calls");
	if (jv_get_kind(calls) == JV_KIND_ARRAY && jv_array_length(jv_copy(calls)) > 0) {
		jv_array_foreach(calls, i, c) {
			jv in = get(c, "input");
			char id[32];

			if (jv_get_kind(in) != JV_KIND_OBJECT) {	/* "arguments", as some write */
				jv_free(in);
				in = get(c, "arguments");
			}
			if (str(c, "name")) {
				snprintf(id, sizeof id, "cc_%lu", ++l->calls);
				out = reply_call(out, id, str(c, "name"),
				    jv_get_kind(in) == JV_KIND_OBJECT ? jv_copy(in) : jv_object());
			}
			jv_free(in);
			jv_free(c);
		}
	} else if (str(answer, "text")) {
		out = reply_text(out, str(answer, "text"));
	} else {	/* it did not keep to the protocol: its words are the answer */
		out = reply_text(out, result);
	}
	usage = get(j, "usage");
	/*
	 * The CLI's own prompt, some 15,000 tokens, is read from the cache on every call, at a
	 * tenth of the price: counted, it would spend a finding's budget in three turns. What
	 * this conversation adds is counted: new input and what was written to the cache.
	 */
	out = reply_usage(out, num(usage, "input_tokens") + num(usage,
	    "cache_creation_input_tokens"),
	    num(usage, "output_tokens"), jv_array_length(get(out, "tool_calls")) > 0 ?
	    "tool_use" : streq(str(j, "stop_reason"), "max_tokens") ? "max_tokens" : "end_turn");
	*reply = out;
	jv_free(usage);
	jv_free(calls);
	jv_free(answer);
	jv_free(j);
	return 0;
}

int
llm_chat(llm *l, const char *model, const char *system, jv messages, jv tools,
    int max_tokens, jv *reply, char **err)
{
	const char *id = llm_model(l, model);
	http_client c;
	int rc;

	*err = NULL;
	*reply = jv_invalid();
	if (check(l, messages, tools, err) < 0) {
		jv_free(messages);
		jv_free(tools);
		return -1;
	}
	if (max_tokens <= 0)
		max_tokens = MAX_TOKENS;
	if (l->p == CLAUDE_CODE)
		return cc_chat(l, id, system, messages, tools, reply, err);
	if (client(l, &c, err) < 0) {
		jv_free(messages);
		jv_free(tools);
		return -1;
	}
	if (l->p == ANTHROPIC)
		rc = anthropic_chat(l, &c, id, system, messages, tools, max_tokens, reply, err);
	else if (l->p == OPENAI)
		rc = openai_chat(l, &c, id, system, messages, tools, max_tokens, reply, err);
	else
		rc = bedrock_chat(l, &c, id, system, messages, tools, max_tokens, reply, err);
	http_free(&c);
	return rc;
}
