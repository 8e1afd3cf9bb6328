#!/usr/bin/env bats
# mallcop escalate with each model backend: OpenAI-compatible, Bedrock and the claude CLI as
# well as Anthropic (escalate.bats), each against its mock; retries and a malformed reply

load helper

FIX="$BATS_TEST_DIRNAME/fixtures/escalate"

setup() {
	deployment
	mkdir -p .mallcop/events sent "$BATS_TEST_TMPDIR/bin"
	grep '"source":"github"' "$FIX/events.jsonl" > .mallcop/events/github-2026-11.jsonl
	grep -e fnd_volume -e fnd_newactor "$FIX/findings.jsonl" > .mallcop/findings.jsonl
	export MALLCOP_NOTIFY_COMMAND=
	export MALLCOP_HTTP_FAST=1
	MOCK_PID=
	LOG="$BATS_TEST_TMPDIR/log.jsonl"
}

teardown() {
	mock_stop
}

# mallcop.yaml with the llm section on stdin, warn findings to triage then an inbox
configure() {
	{
		printf 'routing:\n  warn: {chain: [triage], notify: [notify-exec]}\n'
		printf 'actors:\n  notify-exec: {command: "cat >> %s/inbox.jsonl"}\n' "$D"
		cat
	} > mallcop.yaml
}

outcome() {
	jq -r --arg id "$1" 'select(.id == $id) | .status' .mallcop/findings.jsonl
}

# an OpenAI chat completion calling one tool: oa NAME ARGUMENTS-JSON
oa() {
	jq -cn --arg n "$1" --arg a "$2" '{method: "POST", path: "/v1/chat/completions", status: 200, times: 1,
		body: {id: "chatcmpl-1", object: "chat.completion", model: "qwen2.5-7b-instruct",
		choices: [{index: 0, message: {role: "assistant", content: null,
		tool_calls: [{id: "call_\($n)", type: "function", function: {name: $n, arguments: $a}}]},
		finish_reason: "tool_calls"}], usage: {prompt_tokens: 900, completion_tokens: 50, total_tokens: 950}}}'
}

@test "openai-compat (a local llama.cpp, ollama or vLLM server): tools as functions, a tool turn, the decision" {
	mock_start < <(printf '[%s,%s,%s]\n' "$(oa check-baseline '{"actor":"x-contractor-77"}')" \
		"$(oa resolve-finding '{"finding_id":"fnd_newactor000000001","action":"escalated","reason":"unknown actor","confidence":0.9}')" \
		"$(oa resolve-finding '{"finding_id":"fnd_volume0000000004","action":"resolved","reason":"bob deploys","confidence":0.8}')")
	configure <<-EOF
	llm: {provider: openai-compat, endpoint: "http://127.0.0.1:$PORT/v1", default_model: qwen2.5-7b-instruct}
	EOF
	run --separate-stderr mallcop escalate
	assert_success
	jq -e '.llm == "openai-compat" and .resolved == 1 and .escalated == 1 and .unpriced_models == ["qwen2.5-7b-instruct"]' <<< "$output"
	[ "$(outcome fnd_volume0000000004)" = resolved ]
	jq -e '.id == "fnd_newactor000000001"' inbox.jsonl
	jq -se '.[0].body | fromjson | .model == "qwen2.5-7b-instruct" and .messages[0].role == "system" and (.tools[0].type == "function") and (.tools | map(.function.name) | index("resolve-finding") != null)' "$LOG"
	# the tool call goes back with its arguments, then its result with the call's id
	jq -se '.[1].body | fromjson | .messages | (map(select(.role == "assistant"))[0].tool_calls[0].function.arguments | fromjson | .actor == "x-contractor-77") and (map(select(.role == "tool"))[0].tool_call_id == "call_check-baseline")' "$LOG"
	jq -se '.[0].tokens_in == 2700 and .[0].tokens_out == 150' .mallcop/costs.jsonl
}

@test "bedrock: Converse, signed with SigV4 (checked by the mock), toolUse and toolResult blocks" {
	export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/PLANTEDbedrockSECRET
	reply() {
		jq -cn --arg n "$1" --argjson i "$2" --arg s "$AWS_SECRET_ACCESS_KEY" '{method: "POST", path: "/model/*", status: 200, times: 1, sigv4: {secret: $s},
			body: {output: {message: {role: "assistant", content: [{text: "Checking."}, {toolUse: {toolUseId: "tu_\($n)", name: $n, input: $i}}]}},
			stopReason: "tool_use", usage: {inputTokens: 800, outputTokens: 60, totalTokens: 860}}}'
	}
	mock_start < <(printf '[%s,%s,%s]\n' "$(reply check-baseline '{"actor":"x-contractor-77"}')" \
		"$(reply resolve-finding '{"finding_id":"fnd_newactor000000001","action":"escalated","reason":"unknown actor","confidence":0.9}')" \
		"$(reply resolve-finding '{"finding_id":"fnd_volume0000000004","action":"resolved","reason":"bob deploys","confidence":0.8}')")
	configure <<-EOF
	llm: {provider: bedrock, region: us-east-1, endpoint: "http://127.0.0.1:$PORT", api_key: "\${AWS_ACCESS_KEY_ID}", secret_key: "\${AWS_SECRET_ACCESS_KEY}", default_model: "anthropic.claude-3-5-haiku-20241022-v1:0"}
	EOF
	run --separate-stderr mallcop escalate
	assert_success
	jq -e '.llm == "bedrock" and .resolved == 1 and .escalated == 1' <<< "$output"
	jq -se 'length == 3 and all(.[]; .sigv4 == "ok") and (.[0].path | startswith("/model/anthropic.claude-3-5-haiku-20241022-v1"))' "$LOG"
	jq -se '.[1].body | fromjson | (.messages | map(.content[]) | (map(select(.toolUse))[0].toolUse.input.actor == "x-contractor-77") and (map(select(.toolResult)) | length == 1)) and .toolConfig.tools[0].toolSpec.inputSchema.json.type == "object"' "$LOG"
	{ ! grep -rqF "$AWS_SECRET_ACCESS_KEY" .mallcop mallcop.yaml; } || false
	[[ "$output$stderr" != *PLANTEDbedrock* ]]
}

@test "claude-code: the claude program with a whitelisted environment; its decision and real token counts" {
	cat > "$BATS_TEST_TMPDIR/bin/claude" <<-'EOF'
	#!/bin/sh
	env > "$(dirname "$0")/env.$$"
	cat > "$(dirname "$0")/stdin.$$"
	n=$(ls "$(dirname "$0")" | grep -c '^stdin\.')
	if [ "$n" -eq 1 ]; then
		r='{\"tool_calls\":[{\"name\":\"resolve-finding\",\"input\":{\"finding_id\":\"fnd_newactor000000001\",\"action\":\"escalated\",\"reason\":\"unknown actor\",\"confidence\":0.9}}]}'
	else
		r='{\"tool_calls\":[{\"name\":\"resolve-finding\",\"input\":{\"finding_id\":\"fnd_volume0000000004\",\"action\":\"resolved\",\"reason\":\"bob deploys\",\"confidence\":0.8}}]}'
	fi
	printf '{"type":"result","subtype":"success","is_error":false,"result":"%s","usage":{"input_tokens":30,"cache_read_input_tokens":15000,"output_tokens":20}}\n' "$r"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/claude"
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH" AWS_SECRET_ACCESS_KEY=PLANTEDawsSECRET GITHUB_TOKEN=ghp_PLANTED
	configure < /dev/null
	run --separate-stderr mallcop escalate --backend claude-code
	assert_success
	jq -e '.llm == "claude-code" and .resolved == 1 and .escalated == 1 and .tokens_in == 60 and .tokens_out == 40' <<< "$output"
	[ "$(outcome fnd_volume0000000004)" = resolved ]
	# the conversation went on stdin; no cloud credential went to the child
	grep -q fnd_newactor000000001 "$BATS_TEST_TMPDIR"/bin/stdin.*
	{ ! grep -q -e AWS_SECRET_ACCESS_KEY -e GITHUB_TOKEN "$BATS_TEST_TMPDIR"/bin/env.*; } || false
}

@test "a 429 with Retry-After is waited out; a malformed reply is a backend failure that goes to the human" {
	tool() {
		printf '{"method":"POST","path":"/v1/messages","status":200,"times":1,"body":{"id":"m","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"tool_use","id":"t%s","name":"resolve-finding","input":%s}],"stop_reason":"tool_use","usage":{"input_tokens":100,"output_tokens":10}}}' "$RANDOM" "$1"
	}
	mock_start < <(printf '[{"method":"POST","path":"/v1/messages","status":429,"times":1,"headers":{"Retry-After":"1"},"body":{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}},%s,{"method":"POST","path":"/v1/messages","status":200,"body":"{\\"id\\": oops"}]\n' \
		"$(tool '{"finding_id":"fnd_newactor000000001","action":"escalated","reason":"unknown actor","confidence":0.9}')")
	export ANTHROPIC_API_KEY=sk-ant-PLANTED
	configure <<-EOF
	llm: {provider: anthropic, api_key: "\${ANTHROPIC_API_KEY}", endpoint: "http://127.0.0.1:$PORT"}
	EOF
	run --separate-stderr mallcop escalate --jsonl
	assert_success
	printf '%s\n' "$output" > d.jsonl
	jq -se 'map(select(.finding_id == "fnd_newactor000000001"))[0].cause == "model"' d.jsonl
	jq -se 'map(select(.finding_id == "fnd_volume0000000004"))[0] | .cause == "backend" and (.reason | test("malformed|JSON"))' d.jsonl
	[ "$(jq -s length "$LOG")" -eq 3 ]
	jq -e '[.findings[].id] | sort == ["fnd_newactor000000001", "fnd_volume0000000004"]' inbox.jsonl
}

@test "an endpoint at a metadata, link-local or private address is refused before connecting, naming the setting" {
	for ep in https://169.254.169.254/v1 https://0xa9fea9fe/v1 'https://[::ffff:169.254.169.254]/v1' https://10.0.0.1/v1 'https://[fd00::1]/v1'; do
		configure <<-EOF
		llm: {provider: openai-compat, endpoint: "$ep", default_model: qwen2.5-7b-instruct}
		EOF
		run --separate-stderr mallcop escalate
		[ "$status" -eq 1 ] || [ "$status" -eq 2 ]
		[[ "$stderr$output" == *"llm.endpoint"*"refusing '"* ]]
		case $ep in
		*10.0.0.1*|*fd00::1*) [[ "$stderr$output" == *allow_private* ]] ;;
		*) [[ "$stderr$output" == *"never allowed"* ]] ;;
		esac
		[ "$(outcome fnd_volume0000000004)" = open ]
	done
}

@test "an endpoint with an empty port is a configuration error naming llm.endpoint" {
	configure <<-EOF
	llm: {provider: openai-compat, endpoint: "http://127.0.0.1:/v1", default_model: qwen2.5-7b-instruct}
	EOF
	run --separate-stderr mallcop escalate
	[ "$status" -ne 0 ]
	[[ "$stderr$output" == *llm.endpoint*"empty port"* ]]
}

@test "a backend that echoes the request back: the API key is in no output" {
	export ANTHROPIC_API_KEY=sk-ant-MARKERapiKEY0123456789abcdef
	mock_start < <(printf '[{"method":"POST","path":"/v1/messages","status":400,"echo":true}]\n')
	configure <<-EOF
	llm: {provider: anthropic, api_key: "\${ANTHROPIC_API_KEY}", endpoint: "http://127.0.0.1:$PORT"}
	EOF
	run --separate-stderr mallcop escalate
	[[ "$output$stderr" == *"you sent"* ]]
	[[ "$output$stderr" != *"$ANTHROPIC_API_KEY"* ]]
	! grep -rqF "$ANTHROPIC_API_KEY" .mallcop inbox.jsonl
}
