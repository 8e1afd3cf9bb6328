/* llm: language-model backends behind one interface (mallcop.7, ESCALATION) */
#ifndef MALLCOP_LLM_H
#define MALLCOP_LLM_H
#include <jv.h>

typedef struct llm llm;	/* opaque */

/*
 * conf: the llm: section of mallcop.yaml with ${VAR} already resolved (an object; jv_null() when
 * there is none): provider ("anthropic" default | "openai-compat" | "bedrock" | "claude-code"),
 * api_key, endpoint (base URL: anthropic default https://api.anthropic.com; openai-compat required,
 * e.g. http://127.0.0.1:8080/v1 for llama.cpp — lib/http allows plain http only to loopback;
 * bedrock: a base URL override, default https://bedrock-runtime.<region>.amazonaws.com), region
 * (bedrock, default us-east-1), secret_key and session_token (bedrock: with api_key as the access
 * key id; when api_key is absent use auth_aws_credentials from lib/auth.h), default_model,
 * timeout (seconds, default 120), command (claude-code: the claude program, default "claude" on
 * PATH). backend: NULL to use conf's provider, else it overrides the provider (--backend).
 * conf is not consumed. NULL with *err set (naming the provider and the missing key: "anthropic:
 * no api_key (set llm.api_key: ${ANTHROPIC_API_KEY})") when it cannot work.
 */
llm *llm_open(jv conf, const char *backend, char **err);
void llm_close(llm *l);
/* "anthropic", "openai-compat", "bedrock", "claude-code" */
const char *llm_provider(const llm *l);
/* the model id a manifest's model names: aliases haiku -> claude-haiku-4-5-20251001, sonnet ->
 * claude-sonnet-4-6, opus -> claude-opus-4-6 for anthropic and claude-code; for the other
 * providers an alias means default_model; NULL means default_model (else the provider's default).
 * Valid while l lives. */
const char *llm_model(llm *l, const char *model);
/*
 * One turn of a tool-use conversation. messages and tools are consumed.
 * messages: [{"role":"user","content":TEXT},
 *            {"role":"assistant","content":TEXT or "","tool_calls":[{"id":ID,"name":NAME,"input":{...}}]},
 *            {"role":"tool","tool_call_id":ID,"name":NAME,"content":TEXT}, ...]
 *   (consecutive tool messages answer the tool_calls of the assistant message before them; the
 *   assistant's tool calls are sent back exactly as the model made them, with their input)
 * tools: [{"name","description","input_schema":{JSON Schema object}}]
 * 0 and *reply = {"text": TEXT ("" when none), "tool_calls":[{"id","name","input":{...}}],
 *   "model": the model id used, "tokens_in": N, "tokens_out": N, "stop": "end_turn" | "tool_use" |
 *   "max_tokens" | other provider reason}.
 * -1 and *err: "anthropic: POST /v1/messages: HTTP 529: Overloaded" — the provider, the request,
 * the status and the service's own error text, never a key. 429, 5xx and Anthropic's 529
 * overloaded are retried by lib/http with backoff and Retry-After within a bounded wait.
 */
int llm_chat(llm *l, const char *model, const char *system, jv messages, jv tools,
    int max_tokens, jv *reply, char **err);
#endif
