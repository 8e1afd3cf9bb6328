/* fuzz_llm_claude_code: a reply of the claude-code backend, read by lib/llm.c */
#define PROVIDER "claude-code"
#include "fuzz_llm.h"
