#!/usr/bin/env bats
# mallcop watch: scan, detect and escalate under one lock, the escalation paths checked first,
# nothing escalated while every source is learning

load helper

setup() {
	deployment
	mkdir -p feed sent "$BATS_TEST_TMPDIR/bin"
	# alice logs in for ten days, three weeks ago and after: the source has learned
	for d in 25 24 23 22 21 20 19 18 17 16; do
		event "evt_$(printf '%020d' "$d")" app "$(date -u -d "-$d days" +%FT%TZ)" alice login
	done > feed/a.jsonl
	cat > "$BATS_TEST_TMPDIR/bin/mallcop-notify-test" <<-'EOF'
	#!/bin/sh
	dir=$(printf '%s' "$MALLCOP_NOTIFY_CONFIG" | jq -r .dir)
	if [ "$1" = --check ]; then
		[ -z "$(printf '%s' "$MALLCOP_NOTIFY_CONFIG" | jq -r '.broken // empty')" ] || { echo "notify-test: broken" >&2; exit 1; }
		exit 0
	fi
	cat > "$dir/sent-$(ls "$dir" | wc -l).json"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/mallcop-notify-test"
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
	config <<-EOF
	connectors:
	  app: {type: file, paths: [feed/*.jsonl]}
	routing:
	  warn: {chain: [triage], notify: [notify-test]}
	  critical: {chain: [triage], notify: [notify-test]}
	actors:
	  notify-test: {dir: $D/sent}
	EOF
}

mallory() {
	event evt_00000000000000000099 app "$(date -u -d '-1 hour' +%FT%TZ)" mallory login >> feed/a.jsonl
}

@test "one run scans, detects and sends the new actor to the human (no LLM: untriaged)" {
	mallory
	run --separate-stderr mallcop watch
	assert_success
	jq -e '.status == "ok" and .scan.total_events_ingested == 11 and .detect.new_findings >= 1 and .escalate.delivered >= 1 and .escalate.llm == null' <<< "$output"
	jq -se '.[0].kind == "digest" and any(.[0].findings[]; .title | contains("mallory"))' sent/sent-0.json
	# the second run: nothing new anywhere
	run mallcop watch
	assert_success
	jq -e '.scan.total_events_ingested == 0 and .escalate.delivered == 0' <<< "$output"
	[ "$(ls sent | wc -l)" -eq 1 ]
	run mallcop watch --human
	assert_success
	assert_output --partial "watch: ok"
	assert_output --partial "escalate: 0 handled"
}

@test "while every source is still learning, nothing is escalated" {
	rm feed/a.jsonl
	mallory
	run mallcop watch
	assert_success
	jq -e '.escalate.skipped == true and (.escalate.reason | startswith("learning"))' <<< "$output"
	[ "$(ls sent | wc -l)" -eq 0 ]
}

@test "a broken escalation path stops the run before it scans; --dry-run scans and detects only" {
	mallory
	sed -i "s|notify-test: {dir: $D/sent}|notify-test: {dir: $D/sent, broken: yes}|" mallcop.yaml
	run --separate-stderr mallcop watch
	assert_failure 1
	[[ "$stderr" == *"escalation paths"*"notify-test"* ]]
	[ ! -e .mallcop/events ] || [ -z "$(ls .mallcop/events)" ]
	run --separate-stderr mallcop watch --dry-run
	assert_success
	jq -e '.dry_run == true and .escalate.reason == "dry_run" and .scan.total_events_ingested == 11' <<< "$output"
	[ "$(ls sent | wc -l)" -eq 0 ]
}

@test "a second run while one holds the deployment exits 75; a failing connector makes the run fail, after the others" {
	mallory
	mkdir -p .mallcop
	: > .mallcop/lock
	hold_lock 30
	run --separate-stderr mallcop watch
	kill "$HOLDER"
	wait "$HOLDER" || true
	assert_failure 75
	[[ "$stderr" == *"in use by another mallcop run"* ]]
	config <<-EOF
	connectors:
	  broken: {type: file, command: "exit 3"}
	  app: {type: file, paths: [feed/*.jsonl]}
	routing:
	  warn: {chain: [triage], notify: [notify-test]}
	actors:
	  notify-test: {dir: $D/sent}
	EOF
	run --separate-stderr mallcop watch
	assert_failure 1
	jq -e '.status == "error" and (.error | contains("scan")) and .scan.total_events_ingested == 11 and .escalate.delivered >= 1' <<< "$output"
}
