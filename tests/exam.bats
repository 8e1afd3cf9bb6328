#!/usr/bin/env bats
# mallcop exam: the scenario corpus checked and run through the real actor chain against a
# scripted model (tests/mock/serve.py), graded, recorded under .mallcop/exam/

load helper

FIX="$BATS_TEST_DIRNAME/fixtures/exam"

setup() {
	deployment
	export MALLCOP_HTTP_FAST=1 ANTHROPIC_API_KEY=sk-ant-PLANTEDexam
	MOCK_PID=
}

teardown() {
	mock_stop
}

# the mock model answering as MODE (fixtures/exam/replies.jq) over the scenarios the flags
# select, and mallcop.yaml pointing the actors at it
scripted() {
	local mode=$1
	shift
	mallcop exam list "$@" > "$BATS_TEST_TMPDIR/list.json" 2>/dev/null || true
	jq --arg mode "$mode" -f "$FIX/replies.jq" "$BATS_TEST_TMPDIR/list.json" > "$BATS_TEST_TMPDIR/replies.json"
	mock_start < "$BATS_TEST_TMPDIR/replies.json"
	printf 'llm: {provider: anthropic, api_key: "${ANTHROPIC_API_KEY}", endpoint: "http://127.0.0.1:%s"}\n' \
		"$PORT" > mallcop.yaml
}

# the ids of the scenarios (from `mallcop exam list`) that jq FILTER selects, sorted
ids_where() {
	jq -r ".scenarios[] | select($1) | .id" "$BATS_TEST_TMPDIR/list.json" | sort
}

# the ids of the results of the last run whose verdict is $1, sorted
verdicts() {
	jq -r --arg v "$1" '.results[] | select(.verdict == $v) | .scenario_id' <<< "$output" | sort
}

@test "every shipped scenario loads: 60 or more, every failure-mode tag and built-in detector, half benign" {
	run --separate-stderr mallcop exam list
	assert_success
	[ -z "$stderr" ]
	jq -e '.invalid_scenarios == [] and .count >= 60' <<< "$output"
	jq -e '[.scenarios[].failure_mode] | unique == ["AE","BG","CN","CO","CS","IT","KA","ND","PI","SA","SB","TD"]' <<< "$output"
	# the built-in detectors as mallcop-detectors(7) lists them
	detectors=$(awk '/^\.Sh BUILT-IN DETECTORS/ {on = 1; next} /^\.Sh/ {on = 0}
		on && /^\.Ss [a-z-]+$/ {print $2}' "$TOP/man/man7/mallcop-detectors.7" | sort | jq -Rsc 'split("\n") | map(select(. != ""))')
	[ "$(jq -c '[.scenarios[].detector] | unique' <<< "$output")" = "$detectors" ]
	# about half benign: neither side under 40%
	jq -e '(.scenarios | length) as $n | ([.scenarios[] | select(.expected.chain_action == "resolved")] | length) as $b
		| $b >= 0.4 * $n and $b <= 0.6 * $n' <<< "$output"
	# each one distinct: its own finding, its own trap, its own events
	jq -e '[.scenarios[].finding_id] | length == (unique | length)' <<< "$output"
	for f in "$TOP"/share/mallcop/exam/scenarios/*/*.yaml; do grep -h '^trap_description:' "$f"; done | sort | uniq -d > "$BATS_TEST_TMPDIR/dups"
	[ ! -s "$BATS_TEST_TMPDIR/dups" ]
}

@test "a bad scenario is named with its file and key; the others still load and run" {
	mkdir -p exam/scenarios/mine
	good="$TOP/share/mallcop/exam/scenarios/signature/CS-09-aws-documented-example-key.yaml"
	# one of our own that is fine
	sed -e 's/^id: .*/id: OWN-01-example-key/' -e 's/fnd_exam_cs09/fnd_own_01/' "$good" > exam/scenarios/mine/own.yaml
	# a required key missing
	grep -v '^detector:' "$good" | sed 's/^id: .*/id: BAD-01/' > exam/scenarios/mine/no-detector.yaml
	# events in the wrong shape: no event_type; a timestamp that is not one
	sed -e 's/^id: .*/id: BAD-02/' -e '/^events:/,/^baseline:/ { /^  event_type: push/d }' "$good" > exam/scenarios/mine/bad-event.yaml
	sed -e 's/^id: .*/id: BAD-05/' -e '/^events:/,/^baseline:/ s/^  timestamp: .*/  timestamp: yesterday/' "$good" > exam/scenarios/mine/bad-time.yaml
	# an unknown tag, an unknown detector
	sed -e 's/^id: .*/id: BAD-03/' -e 's/^failure_mode: .*/failure_mode: XX/' "$good" > exam/scenarios/mine/bad-tag.yaml
	sed -e 's/^id: .*/id: BAD-04/' -e 's/^detector: .*/detector: crystal-ball/' "$good" > exam/scenarios/mine/bad-detector.yaml
	# the id of a shipped scenario
	cp "$good" exam/scenarios/mine/dup.yaml
	# an underscore file is not a scenario (the earlier corpus's _schema.yaml)
	echo 'not: a scenario' > exam/scenarios/_schema.yaml
	run --separate-stderr mallcop exam list
	assert_failure 1
	jq -e '.status == "error" and (.scenarios | map(.id) | index("OWN-01-example-key") != null)' <<< "$output"
	jq -e --argjson n "$(mallcop exam list --dir "$BATS_TEST_TMPDIR" 2>/dev/null | jq .count)" '.count == $n + 1' <<< "$output"
	errs=$(jq -r '.invalid_scenarios[]' <<< "$output")
	[[ "$errs" == *"mine/no-detector.yaml: detector: missing"* ]]
	[[ "$errs" == *"mine/bad-event.yaml: events[0].event_type: missing"* ]]
	[[ "$errs" == *"mine/bad-time.yaml: events[0]: timestamp is not an ISO 8601 time"* ]]
	[[ "$errs" == *"mine/bad-tag.yaml: failure_mode: unknown tag 'XX'"* ]]
	[[ "$errs" == *"mine/bad-detector.yaml: detector: unknown detector 'crystal-ball'"* ]]
	[[ "$errs" == *"mine/dup.yaml: id: 'CS-09-aws-documented-example-key' is already the id of "*"CS-09-aws-documented-example-key.yaml"* ]]
	[[ "$errs" != *_schema* ]]
	[ "$(jq '.invalid_scenarios | length' <<< "$output")" -eq 6 ]
	[[ "$stderr" == *"mallcop-exam: "*"mine/bad-tag.yaml: failure_mode"* ]]
	# the rest run: the good scenario of our own is examined; the exit status says some were not
	scripted correct --scenario OWN-01-example-key
	run --separate-stderr mallcop exam run --scenario OWN-01-example-key
	assert_failure 1
	jq -e '.scenarios_run == 1 and .pass == 1 and (.invalid_scenarios | length) == 6 and .results[0].verdict == "pass"' <<< "$output"
}

@test "a model that answers every scenario correctly scores 100%" {
	scripted correct
	run --separate-stderr mallcop exam run
	assert_success
	jq -e '.status == "ok" and .pass_rate == 1 and .fail == 0 and .errors == 0' <<< "$output"
	jq -e --argjson n "$(jq .count "$BATS_TEST_TMPDIR/list.json")" '.scenarios_run == $n and .pass == $n' <<< "$output"
	# a summary per tag and per detector
	jq -e '(.by_tag | keys | length) == 12 and (.by_tag.PI.pass == .by_tag.PI.total) and (.by_detector["git-oops"].total >= 2)' <<< "$output"
	# the final action is what reached the recording channel, or the finding's resolution
	jq -e 'all(.results[]; (.chain_action == "escalated") == .delivered)' <<< "$output"
	# each model call carried one scenario's finding, in order
	[ "$(jq -s length "$LOG")" -eq "$(jq length "$BATS_TEST_TMPDIR/replies.json")" ]
}

@test "a model that resolves everything fails every malicious scenario it sees, and nothing else" {
	scripted resolve-all
	run --separate-stderr mallcop exam run
	assert_success
	[ "$(verdicts fail)" = "$(ids_where '.expected.chain_action == "escalated" and (.human_only | not)')" ]
	[ -n "$(verdicts fail)" ]
	# findings only a human may judge went to one without a model: the hard constraint holds
	[ "$(jq -r '.results[] | select(.cause == "hard_constraint") | .scenario_id' <<< "$output" | sort)" = "$(ids_where '.human_only')" ]
	jq -e 'all(.results[] | select(.verdict == "fail"); .action_correct == false and .chain_action == "resolved")' <<< "$output"
}

@test "a model fooled only by prompt injection fails exactly the PI scenarios" {
	scripted pi-fooled
	run --separate-stderr mallcop exam run
	assert_success
	[ "$(verdicts fail)" = "$(ids_where '.failure_mode == "PI" or (.tags | index("PI"))')" ]
	jq -e '.by_tag.PI.pass == 0 and .by_tag.PI.fail == .by_tag.PI.total and .by_tag.PI.total >= 3' <<< "$output"
}

@test "a backend failing mid-run: that scenario is an error, the run goes on, the exit status says so" {
	scripted fail-second --tag PI
	run --separate-stderr mallcop exam run --tag PI
	assert_failure 1
	second=$(jq -r '[.scenarios[] | select(.human_only | not)][1].id' "$BATS_TEST_TMPDIR/list.json")
	[ "$(verdicts error)" = "$second" ]
	jq -e --arg s "$second" '.status == "error" and .errors == 1 and .pass == .scenarios_run - 1
		and (.results[] | select(.scenario_id == $s) | .error | test("backend") and test("HTTP 400"))' <<< "$output"
	# every scenario has its line in the results file, the failed one too
	file=$(jq -r .results_file <<< "$output")
	[ "$(wc -l < "$file")" -eq "$(jq .scenarios_run <<< "$output")" ]
	[[ "$output$stderr" != *PLANTEDexam* ]]
	! grep -q PLANTEDexam "$file"
}

@test "results: JSONL under .mallcop/exam/ with the run's model, backend and prompts version; --model reaches every backend call" {
	scripted correct --scenario KA-01-deploy-bot-adds-admin-collaborator
	run --separate-stderr mallcop exam run --scenario KA-01-deploy-bot-adds-admin-collaborator --model claude-exam-test-1
	assert_success
	file=$(jq -r .results_file <<< "$output")
	[[ "$file" == */.mallcop/exam/*.jsonl ]]
	[ -f "$file" ]
	jq -e '.model == "claude-exam-test-1" and .backend == "anthropic" and (.prompts_version | test("^[0-9a-f]{16}$"))
		and .scenario_id == "KA-01-deploy-bot-adds-admin-collaborator" and .verdict == "pass"
		and .chain_action == "escalated" and .triage_action == "escalated" and .llm_calls == 2 and .tokens == 2100
		and (.actors | map(.actor)) == ["triage", "investigate"]' "$file"
	# each actor's calls, tokens and tool calls, as the model made them
	jq -e '.actors | all(.calls == 1 and .tokens_in == 1000 and .tokens_out == 50)
		and (.[0].tool_calls == [{name: "resolve-finding", input: {finding_id: "fnd_exam_ka01", action: "escalated",
			reason: "the evidence: admin, collaborator", confidence: 0.9}}])' "$file"
	# both actors (the manifests name haiku and sonnet) were sent the model asked for
	[ "$(jq -rs 'map(.body | fromjson | .model) | unique | join(" ")' "$LOG")" = claude-exam-test-1 ]
	v1=$(jq -r .prompts_version "$file")
	# the deployment's own prompt is the one examined, and the version says it changed
	mkdir -p actors/triage
	{ cat "$TOP/share/mallcop/actors/triage/POST.md"; echo "OWN-PROMPT-MARKER"; } > actors/triage/POST.md
	cp "$TOP/share/mallcop/actors/triage/manifest.yaml" actors/triage/
	# its skills and trust come along (linked into each scenario's deployment)
	mkdir -p skills .mallcop/trust
	mock_stop
	rm "$LOG"
	scripted correct --scenario KA-01-deploy-bot-adds-admin-collaborator
	run --separate-stderr mallcop exam run --scenario KA-01-deploy-bot-adds-admin-collaborator
	assert_success
	[ "$(jq -r .prompts_version <<< "$output")" != "$v1" ]
	jq -se '.[0].body | fromjson | .system | tostring | contains("OWN-PROMPT-MARKER")' "$LOG"
	[ "$(ls .mallcop/exam | wc -l)" -eq 2 ]
}

@test "--judge-backend: the judge's four scores and the verdict rule on crafted replies; a reply that is not JSON is the judge's error" {
	scripted judged --tag TD
	run --separate-stderr mallcop exam run --tag TD --judge-backend anthropic
	assert_success
	[ "$(jq -c '[.results[].judge.verdict]' <<< "$output")" = '["pass","fail","warn","warn","error"]' ]
	# the deterministic grade is apart from the judge's
	jq -e 'all(.results[]; .verdict == "pass")' <<< "$output"
	jq -e '.results[0].judge | .reasoning_quality == 4 and .investigation_thoroughness == 4 and .reasoning == "cites the grant" and .fix_target == null' <<< "$output"
	jq -e '.results[3].judge.fix_target == "detectors" and .results[2].judge.fix_target == "triage_prompt"' <<< "$output"
	jq -e '.results[4].judge.error | startswith("the judge'"'"'s reply is not a JSON object")' <<< "$output"
	jq -e '.judge == {total: 5, pass: 1, warn: 2, fail: 1, error: 1}' <<< "$output"
	# the judge was asked with no tools, the scenario's trap and the actors' reasoning in its brief
	jq -se '[.[] | .body | fromjson | select(.tools == null or .tools == [])] | length == 5
		and (.[0].messages[0].content | contains("Trap:") and contains("the evidence: admin, payments"))' "$LOG"
	run --separate-stderr mallcop exam run --tag TD --judge-backend gpt
	assert_failure 2
}

@test "--human: a line per scenario, the summary, control characters escaped" {
	# a scenario of our own whose id holds an escape sequence
	mkdir -p exam/scenarios
	sed -e 's/^id: .*/id: "TD-99-\\e[31mred"/' -e 's/fnd_exam_td04/fnd_own_td99/' \
		"$TOP/share/mallcop/exam/scenarios/structural/TD-04-unchanged-team-skill-override.yaml" > exam/scenarios/esc.yaml
	scripted correct --tag TD
	run --separate-stderr mallcop exam run --tag TD --human
	assert_success
	[[ "$output" != *$'\e'* ]]
	assert_output --partial 'TD-99-\e[31mred'
	assert_output --partial "pass   TD-01-approved-reader-now-admin"
	assert_output --regexp "exam: [0-9]+ scenarios, [0-9]+ pass, 0 fail, 0 error \(100%\)"
	assert_output --partial "by tag:"
	assert_output --partial "by detector:"
	run --separate-stderr mallcop exam list --tag TD --human
	assert_success
	[[ "$output" != *$'\e'* ]]
	assert_output --partial 'TD-99-\e[31mred'
}

@test "from an installed copy: the shipped scenarios are found under the share directory" {
	prefix="$BATS_TEST_TMPDIR/prefix"
	run make -s -C "$TOP" install PREFIX="$prefix"
	assert_success
	[ -d "$prefix/share/mallcop/exam/scenarios" ]
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr env -u MALLCOP_EXEC_PATH PATH=/usr/bin:/bin "$prefix/bin/mallcop" exam list
	assert_success
	jq -e '.count >= 60 and (.scenarios[0].file | startswith($p))' --arg p "$prefix/share/mallcop/exam/scenarios" <<< "$output"
}

@test "bakeoff and improve are not available yet: said plainly, exit 1" {
	run --separate-stderr mallcop exam bakeoff
	assert_failure 1
	[[ "$stderr" == *"exam bakeoff is not available yet"* ]]
	run --separate-stderr mallcop exam improve
	assert_failure 1
	[[ "$stderr" == *"exam improve is not available yet"* ]]
}

@test "no model to examine, an unknown tag, backend or command: clear errors" {
	run --separate-stderr mallcop exam run
	assert_failure 1
	[[ "$stderr" == *"mallcop.yaml' has no llm: section"* ]]
	run --separate-stderr mallcop exam run --tag ZZ
	assert_failure 2
	[[ "$stderr" == *"--tag 'ZZ'"* ]]
	run --separate-stderr mallcop exam run --backend gpt
	assert_failure 2
	run --separate-stderr mallcop exam frobnicate
	assert_failure 2
	run --separate-stderr mallcop exam list --scenario NOPE-01
	assert_failure 1
	[[ "$stderr" == *"no scenario 'NOPE-01'"* ]]
}
