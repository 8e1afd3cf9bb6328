/* fuzz_llm_anthropic: a reply of the anthropic backend, read by lib/llm.c */
#define PROVIDER "anthropic"
#include "fuzz_llm.h"
