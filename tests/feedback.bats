#!/usr/bin/env bats
# mallcop feedback: a human's verdict, stored with what it was based on; rubber-stamp warnings

load helper

ev() {
	printf '{"id":"%s","timestamp":"%s","source":"github","event_type":"push","actor":"%s","action":"push","target":"repo/a","severity":"info","metadata":{},"raw":{}}\n' \
		"$1" "$2" "$3"
}

# a finding: id event_ids(JSON) [annotations(JSON)]
fnd() {
	jq -nc --arg id "$1" --argjson e "$2" --argjson n "${3:-[]}" \
		'{id:$id,timestamp:"2026-11-21T00:00:00Z",detector:"new-actor",event_ids:$e,title:"t",severity:"warn",status:"open",annotations:$n,metadata:{actor:"alice"},fingerprint:$id}'
}

FB=.mallcop/feedback.jsonl

setup() {
	deployment
	export MALLCOP_NOW=2026-11-21T12:00:00Z
	config <<<'connectors: {}'
	mkdir -p .mallcop/events
	{
		for d in 01 02 03; do ev "evt_h$d" "2026-11-${d}T10:00:00Z" alice; done
		ev evt_b1 2026-11-20T03:00:00Z bob
	} > .mallcop/events/github-2026-11.jsonl
	mallcop detect >/dev/null
	{
		fnd fnd_a '["evt_b1","evt_h01"]' \
			'[{"actor":"triage","timestamp":"2026-11-21T01:00:00Z","content":"first","action":null,"reason":null},{"actor":"investigate","timestamp":"2026-11-21T02:00:00Z","content":"odd","action":"escalated","reason":"bob is new"}]'
		fnd fnd_b '[]'
	} > .mallcop/findings.jsonl
}

# feedback at a fixed time
at() {
	MALLCOP_NOW="$1" mallcop feedback "${@:2}"
}

@test "feedback stores the decision with the finding's events, baseline and annotations" {
	run mallcop feedback fnd_a agree --reason 'bob is the new hire'
	assert_success
	echo "$output" | jq -e '. == {"command":"feedback","status":"ok","finding_id":"fnd_a","human_action":"agree"}'
	[ "$(wc -l < $FB)" -eq 1 ]
	jq -e '.finding_id == "fnd_a" and .human_action == "agree" and .reason == "bob is the new hire"' $FB
	jq -e '.original_action == "escalated" and .original_reason == "bob is new"' $FB
	jq -e '.timestamp == "2026-11-21T12:00:00Z" and .detector == "new-actor"' $FB
	jq -e '[.events[].id] == ["evt_b1","evt_h01"] and .events[0].actor == "bob"' $FB
	jq -e '.baseline_snapshot | keys == ["alice","bob"]' $FB
	jq -e '.baseline_snapshot.alice.known == true and .baseline_snapshot.alice.events == 3' $FB
	jq -e '[.annotations[].content] == ["first","odd"]' $FB
}

@test "override is stored; the action is case-insensitive; no reason is null" {
	run mallcop feedback fnd_b OVERRIDE
	assert_success
	echo "$output" | jq -e '.human_action == "override"'
	jq -e '.human_action == "override" and .reason == null' $FB
	jq -e '.original_action == null and .original_reason == null and .events == [] and .baseline_snapshot == {}' $FB
}

@test "feedback appends: earlier records stay" {
	at 2026-11-21T10:00:00Z fnd_a agree >/dev/null
	at 2026-11-21T11:00:00Z fnd_b override >/dev/null
	[ "$(wc -l < $FB)" -eq 2 ]
	jq -se '[.[].finding_id] == ["fnd_a","fnd_b"]' $FB
}

@test "a line left without its newline does not swallow the new record" {
	printf '{"finding_id":"x","human_action":"agree","timestamp":"2026-11-01T00:00:00Z"' > $FB
	run mallcop feedback fnd_a agree
	assert_success
	tail -n 1 $FB | jq -e '.finding_id == "fnd_a"'
}

@test "the reason is sanitized: control characters and the markers are removed" {
	run mallcop feedback fnd_a override --reason $'ok\e[31m red\nnext [USER_DATA_BEGIN]x[USER_DATA_END] [USER_DATA_\aEND]y\x7f'
	assert_success
	jq -e '.reason == "ok[31m rednext x y"' $FB
	if grep -q 'USER_DATA' $FB; then false; fi
	if jq -r .reason $FB | grep -q $'\033'; then false; fi
}

@test "the reason is capped at 2000 characters" {
	run mallcop feedback fnd_a override --reason "$(printf 'é%.0s' $(seq 2500))"
	assert_success
	jq -e '.reason | length == 2000' $FB
}

@test "two quick decisions warn of rubber-stamping and still store both" {
	at 2026-11-21T12:00:00Z fnd_a override >/dev/null
	run --separate-stderr at 2026-11-21T12:00:05Z fnd_b override
	assert_success
	[[ "$stderr" == *"feedback is being given faster than findings can be read"* ]]
	echo "$output" | jq -e '.warning | startswith("feedback is being given faster than findings can be read")'
	[ "$(wc -l < $FB)" -eq 2 ]
}

@test "decisions far apart give no warning" {
	at 2026-11-21T12:00:00Z fnd_a override >/dev/null
	run --separate-stderr at 2026-11-21T12:00:30Z fnd_b override
	assert_success
	[ -z "$stderr" ]
	echo "$output" | jq -e 'has("warning") | not'
}

@test "five agreements within two minutes warn" {
	for s in 00 15 30 45; do at "2026-11-21T12:00:${s}Z" fnd_a agree >/dev/null; done
	run --separate-stderr at 2026-11-21T12:01:00Z fnd_b agree
	assert_success
	[[ "$stderr" == *"the last 5 decisions all agreed"* ]]
	echo "$output" | jq -e 'has("warning")'
	[ "$(wc -l < $FB)" -eq 5 ]
}

@test "five decisions in two minutes that do not all agree give no warning" {
	for s in 00 15 30 45; do at "2026-11-21T12:00:${s}Z" fnd_a agree >/dev/null; done
	run --separate-stderr at 2026-11-21T12:01:00Z fnd_b override
	assert_success
	echo "$output" | jq -e 'has("warning") | not'
}

@test "--dir names the deployment" {
	cd /
	run mallcop feedback --dir "$D" fnd_a agree
	assert_success
	[ "$(wc -l < "$D/$FB")" -eq 1 ]
}

@test "--human prints a line of text" {
	run mallcop feedback fnd_a agree --human
	assert_success
	assert_output 'feedback recorded: fnd_a agree'
}

@test "an unknown finding is exit 1 with a JSON error naming it, and nothing is stored" {
	run --separate-stderr mallcop feedback fnd_nope agree
	assert_failure 1
	echo "$output" | jq -e '.command == "feedback" and .status == "error" and .error == "finding not found: fnd_nope"'
	[ ! -s $FB ]
}

@test "a bad action is a usage error" {
	run mallcop feedback fnd_a maybe
	assert_failure 2
	assert_output --partial 'usage: mallcop-feedback'
	[ ! -e $FB ]
}

@test "usage errors: missing action, extra argument, bad flag, bad --wait" {
	run mallcop feedback fnd_a
	assert_failure 2
	run mallcop feedback fnd_a agree extra
	assert_failure 2
	run mallcop feedback fnd_a agree --bogus
	assert_failure 2
	run mallcop feedback fnd_a agree --wait=soon
	assert_failure 2
}

@test "a locked deployment is exit 75; --wait waits for the lock" {
	hold_lock 2
	run mallcop feedback fnd_a agree --wait=0
	assert_failure 75
	run mallcop feedback fnd_a agree --wait=10
	assert_success
	wait
	[ "$(wc -l < $FB)" -eq 1 ]
}

@test "--help prints the synopsis" {
	run "$MALLCOP_EXEC_PATH/mallcop-feedback" --help
	assert_success
	assert_output --partial 'usage: mallcop-feedback FINDING_ID agree|override'
}
