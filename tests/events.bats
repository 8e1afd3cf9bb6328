#!/usr/bin/env bats
# mallcop events: querying the store, newest first, with every filter and output form

load helper

bats_require_minimum_version 1.5.0

setup() {
	deployment
	export MALLCOP_NOW=2026-11-26T12:00:00Z
	FIX="$BATS_TEST_DIRNAME/fixtures/events"
	mkdir -p .mallcop/events
	{
		event e1 github 2026-11-26T10:00:00Z alice push
		event e2 github 2026-11-25T13:00:00Z bob push
		event e3 github 2026-11-24T10:00:00Z alice pull_request
	} > .mallcop/events/github-2026-11.jsonl
	{
		event m1 m365 2026-11-26T11:00:00Z erin login_failure
		event m2 m365 2026-11-20T10:00:00Z alice login
	} > .mallcop/events/m365-2026-11.jsonl
	event o1 github 2026-10-15T10:00:00Z alice push > .mallcop/events/github-2026-10.jsonl
}

# the ids of the events in $output (one JSON result), space-separated in their order
ids() {
	printf '%s\n' "$output" | jq -r '.events[].id' | tr '\n' ' '
}

@test "the events of the last 24 hours, newest first, as one JSON object" {
	run --separate-stderr mallcop events
	assert_success
	printf '%s\n' "$output" | jq -e '.command == "events" and .status == "ok" and .count == 3 and .skipped_lines == 0'
	[ "$(ids)" = "m1 e1 e2 " ]
	printf '%s\n' "$output" | jq -e '.events[0] == {"id":"m1","timestamp":"2026-11-26T11:00:00Z","source":"m365","event_type":"login_failure","actor":"erin","action":"a","target":"t","severity":"info","metadata":{},"raw":{}}'
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
}

@test "--hours sets the window; its start is included, a future event is shown" {
	run mallcop events --hours 72
	assert_success
	[ "$(ids)" = "m1 e1 e2 e3 " ]
	run mallcop events --hours 1
	[ "$(ids)" = "m1 " ]
	{
		event edge github 2026-11-25T12:00:00Z carol
		event before github 2026-11-25T11:59:59Z carol
		event future github 2026-11-27T08:00:00Z carol
	} >> .mallcop/events/github-2026-11.jsonl
	run mallcop events
	[ "$(ids)" = "future m1 e1 e2 edge " ]
	run mallcop events --hours 0
	[ "$(ids)" = "future " ]
	MALLCOP_NOW=2026-11-25T13:00:00Z run mallcop events --hours 1
	[ "$(ids)" = "future m1 e1 e2 edge " ]
}

@test "--actor, --source and --type each keep only exact matches, and combine" {
	run mallcop events --actor alice --hours 2000
	assert_success
	[ "$(ids)" = "e1 e3 m2 o1 " ]
	run mallcop events --actor ali --hours 2000
	[ "$(ids)" = "" ]
	run mallcop events --source m365 --hours 2000
	[ "$(ids)" = "m1 m2 " ]
	run mallcop events --source github
	[ "$(ids)" = "e1 e2 " ]
	run mallcop events --type login_failure
	[ "$(ids)" = "m1 " ]
	run mallcop events --type pull_request --hours 72
	[ "$(ids)" = "e3 " ]
	run mallcop events --actor alice --source github --type push --hours 2000
	[ "$(ids)" = "e1 o1 " ]
	printf '%s\n' "$output" | jq -e '.count == 2'
}

@test "--limit keeps the newest N of the matches" {
	run mallcop events --limit 2
	assert_success
	[ "$(ids)" = "m1 e1 " ]
	printf '%s\n' "$output" | jq -e '.count == 2'
	run mallcop events --limit 2 --hours 2000 --actor alice
	[ "$(ids)" = "e1 e3 " ]
	run mallcop events --limit 0
	assert_success
	printf '%s\n' "$output" | jq -e '.count == 0 and .events == []'
	run mallcop events --limit 50
	[ "$(ids)" = "m1 e1 e2 " ]
}

@test "--jsonl prints one event per line, newest first, and nothing else" {
	run --separate-stderr mallcop events --jsonl --hours 72
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r .id | tr '\n' ' ')" = "m1 e1 e2 e3 " ]
	printf '%s\n' "$output" | jq -se 'length == 4 and all(.[]; has("command") | not) and all(.[]; .source and .event_type)'
	run --separate-stderr mallcop events --jsonl --actor nobody
	assert_success
	assert_output ""
	# --human with it is a usage error; MALLCOP_HUMAN gives way to it
	run --separate-stderr mallcop events --jsonl --human --limit 1
	assert_failure 2
	MALLCOP_HUMAN=1 run --separate-stderr mallcop events --jsonl --limit 1
	[ "$(printf '%s\n' "$output" | jq -r .id)" = "m1" ]
}

@test "--human shows a heading and one line per event with time, source, type, actor, action, target" {
	run --separate-stderr mallcop events --human
	assert_success
	assert_line --index 0 "Events (3) in the last 24 hours, newest first:"
	[[ "${lines[1]}" =~ ^\ +2026-11-26T11:00:00Z\ +m365\ +login_failure\ +erin\ +a\ +t$ ]]
	[[ "${lines[2]}" =~ ^\ +2026-11-26T10:00:00Z\ +github\ +push\ +alice\ +a\ +t$ ]]
	[[ "${lines[3]}" =~ ^\ +2026-11-25T13:00:00Z\ +github\ +push\ +bob\ +a\ +t$ ]]
	[ "${#lines[@]}" -eq 4 ]
	run --separate-stderr mallcop events --human --actor nobody --hours 5
	assert_success
	assert_output "No events found in the last 5 hours."
	run --separate-stderr mallcop --human events --limit 1
	assert_line --index 0 "Events (1) in the last 24 hours, newest first:"
}

@test "--human shows control characters and escape sequences from events escaped, never raw" {
	event x1 github 2026-11-26T11:30:00Z 'evil\u001b[31m\nname' 'type\u001b]0;owned\u0007' |
		jq -c '.action = "tab\there\r" | .target = "\u202egpj.exe\u009b2J"' >> .mallcop/events/github-2026-11.jsonl
	run --separate-stderr mallcop events --human --limit 1
	assert_success
	{ ! printf '%s' "$output" | grep -q $'\x1b'; } || false
	{ ! printf '%s' "$output" | grep -q $'\x07'; } || false
	{ ! printf '%s' "$output" | grep -q $'\r'; } || false
	{ ! printf '%s' "$output" | grep -q $'\xe2\x80\xae'; } || false
	{ ! printf '%s' "$output" | grep -q $'\xc2\x9b'; } || false
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
	[[ "$output" == *'evil\e[31m\nname'* ]]
	[[ "$output" == *'type\e]0;owned\x07'* ]]
	[[ "$output" == *'tab\there\r'* ]]
	[[ "$output" == *'\u202egpj.exe\x9b2J'* ]]
	# the JSON output keeps the event as it was stored
	run --separate-stderr mallcop events --limit 1
	printf '%s\n' "$output" | jq -e '.events[0].actor == "evil\u001b[31m\nname"'
}

@test "--finding shows the finding's events whatever their time; the last record of a finding counts" {
	cp "$FIX/findings.jsonl" .mallcop/findings.jsonl
	run --separate-stderr mallcop events --finding fnd_aaa111
	assert_success
	[ "$(ids)" = "e3 o1 " ]
	printf '%s\n' "$output" | jq -e '.count == 2'
	run mallcop events --finding fnd_aaa111 --hours 1
	[ "$(ids)" = "e3 o1 " ]
	run mallcop events --finding fnd_bbb222
	[ "$(ids)" = "m1 m2 " ]
	run mallcop events --finding fnd_aaa111 --jsonl
	[ "$(printf '%s\n' "$output" | jq -r .id | tr '\n' ' ')" = "e3 o1 " ]
	run mallcop events --finding fnd_aaa111 --human
	assert_line --index 0 "Events (2) of finding fnd_aaa111, newest first:"
}

@test "an unknown finding exits 1 with a JSON error naming it" {
	cp "$FIX/findings.jsonl" .mallcop/findings.jsonl
	run --separate-stderr mallcop events --finding fnd_nope
	assert_failure 1
	printf '%s\n' "$output" | jq -e '.command == "events" and .status == "error" and .error == "finding not found: fnd_nope"'
	[[ "$stderr" == *"mallcop-events: finding not found: fnd_nope"* ]]
	rm .mallcop/findings.jsonl
	run --separate-stderr mallcop events --finding fnd_aaa111
	assert_failure 1
	printf '%s\n' "$output" | jq -e '.error | contains("fnd_aaa111")'
}

@test "an unknown finding with --human is an error on stderr only, not JSON" {
	run --separate-stderr mallcop events --finding fnd_nope --human
	assert_failure 1
	[[ "$stderr" == *"finding not found: fnd_nope"* ]]
	[[ "$output" != *'"status":"error"'* ]]
}

@test "a bad --hours or --limit, an unknown option or an operand exits 2 with the usage" {
	for v in abc -1 1.5 '' 24h 10000000 99999999999999999999; do
		run --separate-stderr mallcop events --hours "$v"
		assert_failure 2
		[[ "$stderr" == *"usage: mallcop-events"* ]]
		[[ "$stderr" == *"--hours '$v'"* ]]
		assert_output ""
	done
	run --separate-stderr mallcop events --hours 8760
	assert_success
	run --separate-stderr mallcop events --limit -1
	assert_failure 2
	run --separate-stderr mallcop events --limit ten
	assert_failure 2
	run --separate-stderr mallcop events --bogus
	assert_failure 2
	[[ "$stderr" == *"usage:"* ]]
	run --separate-stderr mallcop events github
	assert_failure 2
	run --separate-stderr mallcop events --hours
	assert_failure 2
}

@test "a store of the earlier implementation is read: 12-hex ids, +00:00 times, markers removed" {
	cp "$FIX/azure-2026-11.jsonl" .mallcop/events/
	event z1 github 2026-11-26T12:30:00+02:00 dave >> .mallcop/events/github-2026-11.jsonl
	run --separate-stderr mallcop events
	assert_success
	[ "$(ids)" = "m1 z1 e1 evt_7acaa7aa8648 evt_6ca13d52ca70 e2 " ]
	[[ "$output" != *USER_DATA* ]]
	printf '%s\n' "$output" | jq -e '.events[3] | .actor == "admin@acme-corp.dev" and .action == "Microsoft.Authorization/roleAssignments/write" and .target == "/subscriptions/0001/roleAssignments/ra-001" and .metadata == {"subscription_id":"0001","role_name":"Owner"} and .raw == {"caller":"admin@acme-corp.dev","level":4}'
	printf '%s\n' "$output" | jq -e '.skipped_lines == 0'
	run mallcop events --actor admin@acme-corp.dev
	[ "$(ids)" = "evt_7acaa7aa8648 " ]
	run --separate-stderr mallcop events --source azure --human
	[[ "$output" != *USER_DATA* ]]
	[[ "${lines[1]}" =~ 2026-11-26T09:00:00Z\ +azure\ +role_assignment\ +admin@acme-corp.dev\  ]]
}

@test "a month file before the window is not opened" {
	# tests may run as root, where chmod 000 does not stop a read: a malformed line in the old
	# file is what shows whether it was read
	echo 'not json' >> .mallcop/events/github-2026-10.jsonl
	chmod 000 .mallcop/events/github-2026-10.jsonl
	run --separate-stderr mallcop events
	chmod 644 .mallcop/events/github-2026-10.jsonl
	assert_success
	printf '%s\n' "$output" | jq -e '.skipped_lines == 0 and .count == 3'
	[[ "$stderr" != *github-2026-10* ]]
	# the same file is read, and its bad line counted, once the window reaches its month
	run --separate-stderr mallcop events --hours 2000
	printf '%s\n' "$output" | jq -e '.skipped_lines == 1 and .count == 6'
	# and a file named for another source is not opened either
	echo 'not json' >> .mallcop/events/github-2026-11.jsonl
	run --separate-stderr mallcop events --source m365
	printf '%s\n' "$output" | jq -e '.skipped_lines == 0 and .count == 1'
}

@test "malformed lines are skipped and counted in skipped_lines; a torn last line is not" {
	{
		echo 'not json'
		echo '[1,2]'
		echo '{"id":"half",'
		event e4 github 2026-11-26T09:00:00Z carol
		printf '{"id":"torn","timestamp":"2026-11-26T11:59:00Z"'
	} >> .mallcop/events/github-2026-11.jsonl
	run --separate-stderr mallcop events
	assert_success
	printf '%s\n' "$output" | jq -e '.skipped_lines == 3'
	[ "$(ids)" = "m1 e1 e4 e2 " ]
	[[ "$stderr" == *"github-2026-11.jsonl:4: skipped malformed line"* ]]
	run --separate-stderr mallcop events --human
	assert_line "(3 malformed lines skipped)"
}

@test "--dir and MALLCOP_DIR choose the deployment; an empty one has no events" {
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr mallcop events --dir "$D"
	assert_success
	[ "$(ids)" = "m1 e1 e2 " ]
	MALLCOP_DIR="$D" run --separate-stderr mallcop events
	[ "$(ids)" = "m1 e1 e2 " ]
	run --separate-stderr mallcop --dir "$D" events --limit 1
	[ "$(ids)" = "m1 " ]
	mkdir empty
	run --separate-stderr mallcop events --dir empty
	assert_success
	printf '%s\n' "$output" | jq -e '.status == "ok" and .count == 0 and .events == [] and .skipped_lines == 0'
	run --separate-stderr mallcop events --dir "$BATS_TEST_TMPDIR/none"
	assert_failure 1
	printf '%s\n' "$output" | jq -e '.status == "error" and (.error | contains("none"))'
}

@test "a stored event with a NUL in a string is skipped and counted, never read as less than it holds" {
	# written before scan refused such events: "alice\u0000-mallory" must not answer --actor alice
	printf '%s\n' '{"id":"n1","timestamp":"2026-11-26T09:00:00Z","source":"github","event_type":"push","actor":"alice\u0000-mallory","action":"a","target":"t","severity":"info","metadata":{},"raw":{}}' \
		>> .mallcop/events/github-2026-11.jsonl
	run --separate-stderr mallcop events --actor alice
	assert_success
	[ "$(ids)" = "e1 " ]
	printf '%s\n' "$output" | jq -e '.skipped_lines == 1'
	[[ "$stderr" == *"1 stored events skipped: a string holds a NUL character (U+0000)"* ]]
	run --separate-stderr mallcop events --human
	assert_success
	assert_output --partial "(1 malformed lines skipped)"
	[[ "$output" != *mallory* ]]
}

@test "a stored event with a raw NUL byte in a string is skipped and counted too" {
	printf '{"id":"n2","timestamp":"2026-11-26T09:00:00Z","source":"github","event_type":"push","actor":"alice\0-mallory","action":"a","target":"t","severity":"info","metadata":{},"raw":{}}\n' \
		>> .mallcop/events/github-2026-11.jsonl
	run --separate-stderr mallcop events --actor alice
	assert_success
	[ "$(ids)" = "e1 " ]
	printf '%s\n' "$output" | jq -e '.skipped_lines == 1'
}

@test "a finding id given with control characters is echoed escaped" {
	cp "$FIX/findings.jsonl" .mallcop/findings.jsonl
	run --separate-stderr mallcop events --human --finding $'fnd\033[2Jx'
	assert_failure 1
	[[ "$stderr" == *'finding not found: fnd\e[2Jx'* ]]
	{ ! printf '%s%s' "$output" "$stderr" | grep -q $'\033'; } || false
}
