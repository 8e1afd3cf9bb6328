#!/usr/bin/env bats
# mallcop status: what the store holds and how the last scan of each connector went

load helper

bats_require_minimum_version 1.5.0

setup() {
	deployment
	FIX="$BATS_TEST_DIRNAME/fixtures/status"
}

# a store written by hand: 4 github events over two months, 2 m365, 2 in a file not named by month
store() {
	mkdir -p .mallcop/events
	{
		event g1 github 2026-11-21T10:00:00Z alice
		echo
		event g2 github 2026-11-22T10:00:00Z bob
		echo 'not json'
		event g3 github 2026-11-23T10:00:00Z carol
		printf '{"id":"torn","timestamp":"2026-11-23T11:00:00Z"'
	} > .mallcop/events/github-2026-11.jsonl
	event g0 github 2026-10-01T10:00:00Z alice > .mallcop/events/github-2026-10.jsonl
	{
		event m1 m365 2026-11-21T10:00:00Z erin login
		printf '{"id": "evt_6ca13d52ca70", "timestamp": "2026-11-22T10:00:00+00:00", "source": "m365"}\n'
	} > .mallcop/events/m365-2026-11.jsonl
	{
		event v1 vercel 2026-11-21T10:00:00Z dan deploy
		event v2 vercel 2026-11-22T10:00:00Z dan deploy
	} > .mallcop/events/imported.jsonl
}

# two scans: at T1 both connectors work, at T2 'bad' exits 3 with an escape sequence on stderr
two_scans() {
	config <<-EOF
	connectors:
	  good:
	    type: file
	    paths: [$FIX/events.jsonl]
	  bad:
	    type: file
	    command: 'true'
	EOF
	MALLCOP_NOW=2026-11-25T09:00:00Z run mallcop scan
	assert_success
	config <<-EOF
	connectors:
	  good:
	    type: file
	    paths: [$FIX/events.jsonl]
	  bad:
	    type: file
	    command: 'printf "token \\033[31mexpired\\n" >&2; exit 3'
	EOF
	MALLCOP_NOW=2026-11-26T12:00:00Z run mallcop scan
	assert_failure 1
}

@test "events are counted by source and in total: complete object lines only" {
	store
	run --separate-stderr mallcop status
	assert_success
	printf '%s\n' "$output" | jq -e '.command == "status" and .status == "ok"'
	printf '%s\n' "$output" | jq -e '.events_by_source == {"github":4,"m365":2,"vercel":2}'
	printf '%s\n' "$output" | jq -e '.total_events == 8'
}

@test "findings are counted by status and severity; the last record of a finding counts" {
	mkdir -p .mallcop
	cp "$FIX/findings.jsonl" .mallcop/findings.jsonl
	run --separate-stderr mallcop status
	assert_success
	printf '%s\n' "$output" | jq -e '.total_findings == 4'
	printf '%s\n' "$output" | jq -e '.findings_by_status == {"squelched":1,"open":1,"resolved":1,"acked":1}'
	printf '%s\n' "$output" | jq -e '.findings_by_severity == {"warn":2,"critical":1,"info":1}'
	printf '%s\n' "$output" | jq -e '.skipped_lines == 1'
}

@test "after a scan where one connector fails: each connector's last scan, the error, the last success" {
	two_scans
	run --separate-stderr mallcop status
	assert_success
	printf '%s\n' "$output" | jq -e '.last_scan == "2026-11-26T12:00:00Z"'
	printf '%s\n' "$output" | jq -e '.total_events == 4 and .events_by_source == {"github":3,"m365":1}'
	printf '%s\n' "$output" | jq -e '.connectors.good | .status == "ok" and .last_run == "2026-11-26T12:00:00Z" and .last_success == "2026-11-26T12:00:00Z" and .events_ingested == 0 and (has("error") | not)'
	printf '%s\n' "$output" | jq -e '.connectors.bad | .status == "error" and .last_run == "2026-11-26T12:00:00Z" and .last_success == "2026-11-25T09:00:00Z"'
	printf '%s\n' "$output" | jq -e '.connectors.bad.error | startswith("connector '"'bad'"' exited with status 1") and contains("token \u001b[31mexpired") and contains("(exit status 3)")'
	printf '%s\n' "$output" | jq -e '.connectors | keys_unsorted == ["good","bad"]'
}

@test "--human: totals, counts, the last scan and each connector, errors escaped" {
	two_scans
	cp "$FIX/findings.jsonl" .mallcop/findings.jsonl
	run --separate-stderr mallcop status --human
	assert_success
	assert_line --index 0 "Events: 4"
	assert_line --index 1 "Findings: 4"
	assert_line --index 2 "Events by source:"
	assert_line --index 3 "  github: 3"
	assert_line --index 4 "  m365: 1"
	assert_line --index 5 "Findings by status:"
	[ "$(printf '%s\n' "${lines[@]:6:4}" | sort | tr '\n' ' ')" = "  acked: 1   open: 1   resolved: 1   squelched: 1 " ]
	assert_line --index 10 "Last scan: 2026-11-26T12:00:00Z"
	assert_line --index 11 "  good: ok at 2026-11-26T12:00:00Z"
	assert_line --index 12 "  bad: FAILED at 2026-11-26T12:00:00Z"
	[[ "${lines[13]}" == "    error: connector 'bad' exited with status 1: token \\e[31mexpired"* ]]
	assert_line --index 14 "    last success: 2026-11-25T09:00:00Z"
	assert_line --index 15 "Escalation: ok (no LLM: findings go to a human untriaged, 0 channels)"
	assert_line --index 16 "  skills: 9 loadable, 0 refused"
	[ "${#lines[@]}" -eq 17 ]
	{ ! printf '%s' "$output" | grep -q $'\x1b'; } || false
	# the dispatcher's --human does the same
	run --separate-stderr mallcop --human status
	assert_line --index 0 "Events: 4"
}

@test "an empty deployment, without .mallcop or mallcop.yaml, is reported as empty" {
	run --separate-stderr mallcop status
	assert_success
	printf '%s\n' "$output" | jq -e '.status == "ok" and .total_events == 0 and .total_findings == 0 and .events_by_source == {} and .findings_by_status == {} and .findings_by_severity == {} and .connectors == {} and .last_scan == null and .skipped_lines == 0'
	[ ! -e .mallcop ]
	run --separate-stderr mallcop status --human
	assert_success
	assert_line --index 0 "Events: 0"
	assert_line --index 1 "Findings: 0"
	assert_line "Last scan: never (run 'mallcop scan')"
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr mallcop status --dir "$D"
	assert_success
	printf '%s\n' "$output" | jq -e '.total_events == 0'
}

@test "a configured connector that never ran is listed as never scanned" {
	config <<-'EOF'
	connectors:
	  github: {type: file, paths: [none.jsonl]}
	EOF
	run --separate-stderr mallcop status
	assert_success
	printf '%s\n' "$output" | jq -e '.connectors.github.status == "never" and .last_scan == null'
	run --separate-stderr mallcop status --human
	assert_line "  github: never scanned"
}

@test "the manifest of the earlier implementation is read" {
	mkdir -p .mallcop
	cp "$FIX/legacy-manifest.json" .mallcop/manifest.json
	run --separate-stderr mallcop status
	assert_success
	printf '%s\n' "$output" | jq -e '.last_scan == "2026-03-10T12:00:01.532211+00:00"'
	printf '%s\n' "$output" | jq -e '.connectors.azure.status == "ok"'
	printf '%s\n' "$output" | jq -e '.connectors.github | .status == "error" and .error == "401 Unauthorized: token expired"'
	run --separate-stderr mallcop status --human
	assert_line "  github: FAILED at 2026-03-10T12:00:01.532211+00:00"
	assert_line "    error: 401 Unauthorized: token expired"
}

@test "a bad option or an operand exits 2 with the usage" {
	run --separate-stderr mallcop status --bogus
	assert_failure 2
	[[ "$stderr" == *"usage: mallcop-status"* ]]
	assert_output ""
	run --separate-stderr mallcop status extra
	assert_failure 2
	[[ "$stderr" == *"usage: mallcop-status"* ]]
	run --separate-stderr mallcop status --dir "$BATS_TEST_TMPDIR/none"
	assert_failure 1
	printf '%s\n' "$output" | jq -e '.status == "error" and (.error | contains("none"))'
}

@test "escalation health says whether findings can reach a human; --costs sums the cost log" {
	deployment
	config <<-EOF
	routing:
	  warn: {chain: [triage], notify: [notify-slack]}
	EOF
	run --separate-stderr mallcop status
	assert_success
	jq -e '.escalation_health.status == "broken" and (.escalation_health.errors | map(select(test("notify-slack"))) | length) >= 1' <<< "$output"
	run --separate-stderr mallcop status --human
	assert_line --partial "Escalation: broken"
	config <<-EOF
	routing: {}
	EOF
	mkdir -p .mallcop
	now=$(date -u +%FT%TZ)
	cat > .mallcop/costs.jsonl <<-EOF
	{"timestamp":"2026-01-01T00:00:00Z","findings":4,"actors_invoked":true,"donuts_used":18432,"estimated_cost_usd":0.004608,"budget_remaining_pct":63.1}
	{"timestamp":"$now","findings":2,"actors_invoked":true,"donuts_used":3.3,"tokens_in":3000,"tokens_out":300,"cost_usd":0.0045,"circuit_breaker_triggered":false,"budget_exhausted":true,"models":{"claude-haiku-4-5-20251001":{"tokens_in":3000,"tokens_out":300,"calls":3}}}
	{"timestamp":"$now","findings":6,"actors_invoked":false,"donuts_used":0,"tokens_in":0,"tokens_out":0,"cost_usd":0,"circuit_breaker_triggered":true,"budget_exhausted":false,"models":{}}
	EOF
	run --separate-stderr mallcop status --costs
	assert_success
	jq -e '.escalation_health.status == "ok" and .costs.total_runs == 3 and (.costs.total_donuts - 21.732 | fabs) < 0.0001 and .costs.avg_findings_per_run == 4 and .costs.circuit_breaker_triggered == 1 and .costs.budget_exhausted == 1 and .costs.by_model["claude-haiku-4-5-20251001"].calls == 3 and .costs.last_7_days.runs == 2 and (.costs.estimated_total_usd - 0.009108 | fabs) < 0.000001' <<< "$output"
	run --separate-stderr mallcop status
	jq -e 'has("costs") | not' <<< "$output"
	run --separate-stderr mallcop status --costs --human
	assert_line --partial "Costs: 3 runs"
}

@test "--costs keeps avg_events_per_run of the earlier implementation: the mean of its lines' events, to one decimal" {
	deployment
	config <<<'routing: {}'
	mkdir -p .mallcop
	cat > .mallcop/costs.jsonl <<-'EOF'
	{"timestamp": "2026-03-10T12:00:00+00:00", "events": 1, "findings": 3, "actors_invoked": true, "donuts_used": 18432, "estimated_cost_usd": 0.004608, "budget_remaining_pct": 63.1}
	{"timestamp": "2026-03-10T13:00:00+00:00", "events": 2, "findings": 0, "actors_invoked": false, "donuts_used": 0, "estimated_cost_usd": 0.0, "budget_remaining_pct": 100.0}
	{"timestamp": "2026-03-10T14:00:00+00:00", "events": 2, "findings": 1, "actors_invoked": true, "tokens_used": 2000, "estimated_cost_usd": 0.0005, "budget_remaining_pct": 96.0}
	EOF
	run --separate-stderr mallcop status --costs
	assert_success
	jq -e '.costs.avg_events_per_run == 1.7 and .costs.total_runs == 3' <<< "$output"
	# a line of ours has no events: it counts as 0
	echo '{"timestamp":"2026-03-10T15:00:00Z","findings":0,"actors_invoked":false,"donuts_used":0,"cost_usd":0}' >> .mallcop/costs.jsonl
	run --separate-stderr mallcop status --costs
	jq -e '.costs.avg_events_per_run == 1.3' <<< "$output"
	rm .mallcop/costs.jsonl
	run --separate-stderr mallcop status --costs
	jq -e '.costs.avg_events_per_run == 0' <<< "$output"
}
