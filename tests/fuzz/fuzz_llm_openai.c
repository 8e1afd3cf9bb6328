/* fuzz_llm_openai: a reply of the openai-compat backend, read by lib/llm.c */
#define PROVIDER "openai-compat"
#include "fuzz_llm.h"
