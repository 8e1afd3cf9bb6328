/* fuzz_llm_bedrock: a reply of the bedrock backend, read by lib/llm.c */
#define PROVIDER "bedrock"
#include "fuzz_llm.h"
