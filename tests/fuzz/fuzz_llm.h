/*
 * fuzz_llm.h: a model's reply, as lib/llm.c reads it, for the provider the including harness
 * defines as PROVIDER. The reply comes back from a stand-in for lib/http's request (Anthropic,
 * OpenAI-compatible, Bedrock) or for the claude program (claude-code): the rest of lib/llm.c
 * runs as it is, from llm_chat to the reply object.
 */
#define _GNU_SOURCE
#include <unistd.h>

#include "fuzz.h"
#include "http.h"
#include "proc.h"

static int fuzz_request(http_client *c, const char *method, const char *url, const char *body,
    const char *content_type, http_response *r);
static int fuzz_spawn(proc *p, char *const argv[], char *const envp[], int in, int out,
    int errfd, char **err);
static void fuzz_wait(proc **ps, size_t n);

#define http_request fuzz_request
#define proc_spawn fuzz_spawn
#define proc_wait fuzz_wait
#include "../../lib/llm.c"
#undef http_request
#undef proc_spawn
#undef proc_wait

static const uint8_t *reply_data;
static size_t reply_size;

static int
fuzz_request(http_client *c, const char *method, const char *url, const char *body,
    const char *content_type, http_response *r)
{
	(void)c, (void)method, (void)url, (void)body, (void)content_type;
	static const char what[] = "fuzz: POST /reply";

	memset(r, 0, sizeof *r);
	r->status = 200;
	/* as lib/http keeps it: the body, NUL, the request's name for messages, NUL */
	r->body = xmalloc(reply_size + 1 + sizeof what);
	memcpy(r->body, reply_data, reply_size);
	r->body[reply_size] = '\0';
	memcpy(r->body + reply_size + 1, what, sizeof what);
	r->len = reply_size;
	r->headers = jv_object();
	return 0;
}

static int
fuzz_spawn(proc *p, char *const argv[], char *const envp[], int in, int out, int errfd,
    char **err)
{
	(void)argv, (void)envp, (void)in, (void)errfd, (void)err;
	if (write(out, reply_data, reply_size) != (ssize_t)reply_size)
		abort();
	p->done = 1;
	p->status = 0;
	return 0;
}

static void
fuzz_wait(proc **ps, size_t n)
{
	(void)ps, (void)n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jv conf = jv_parse("{\"provider\": \"" PROVIDER "\", \"api_key\": \"k\", \"secret_key\": "
	    "\"s\", \"endpoint\": \"http://127.0.0.1:9\", \"default_model\": \"m\", "
	    "\"command\": \"/bin/sh\"}");
	jv msgs = jv_parse("[{\"role\": \"user\", \"content\": \"hello\"}]");
	jv tools = jv_parse("[{\"name\": \"read\", \"description\": \"d\", \"input_schema\": "
	    "{\"type\": \"object\"}}]");
	jv reply = jv_invalid();
	char *err = NULL;
	llm *l = llm_open(conf, NULL, &err);

	jv_free(conf);
	if (!l)
		abort();
	reply_data = data;
	reply_size = size;
	if (llm_chat(l, NULL, "system", msgs, tools, 100, &reply, &err) == 0)
		jv_free(reply);
	free(err);
	llm_close(l);
	return 0;
}
