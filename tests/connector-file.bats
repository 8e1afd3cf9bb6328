#!/usr/bin/env bats
# mallcop-connector-file: events from files, globs, stdin and commands; cursors across runs

load helper

bats_require_minimum_version 1.5.0

setup() {
	deployment
	mkdir -p in logs
	event e1 github 2026-11-21T10:00:00Z alice > in/a.jsonl
	event e2 github 2026-11-21T11:00:00Z bob >> in/a.jsonl
	event e3 m365 2026-11-22T10:00:00Z erin login >in/b.jsonl
}

cf() {
	"$MALLCOP_EXEC_PATH/mallcop-connector-file" "$@"
}

# the value of the last "cursor: " line of $stderr
last_cursor() {
	printf '%s\n' "$stderr" | grep '^cursor: ' | tail -n 1 | sed 's/^cursor: //'
}

# the ids on stdout, space-separated in their order
ids() {
	[ -z "$output" ] || printf '%s\n' "$output" | jq -r .id | tr '\n' ' '
}

@test "a file, a glob and standard input are read, one event per line in the store's shape" {
	run --separate-stderr cf in/a.jsonl
	assert_success
	[ "$(ids)" = "e1 e2 " ]
	printf '%s\n' "$output" | jq -se 'length == 2 and all(.[]; has("ingested_at") | not)'
	printf '%s\n' "$output" | jq -se '.[0] | keys_unsorted == ["id","timestamp","source","event_type","actor","action","target","severity","metadata","raw"]'
	[[ "$(printf '%s\n' "$stderr" | tail -n 1)" == cursor:\ * ]]

	run --separate-stderr cf 'in/*.jsonl'
	assert_success
	[ "$(ids)" = "e1 e2 e3 " ]

	run --separate-stderr cf - < in/b.jsonl
	assert_success
	[ "$(ids)" = "e3 " ]

	run --separate-stderr mallcop connector-file in/b.jsonl - < in/a.jsonl
	assert_success
	[ "$(ids)" = "e3 e1 e2 " ]
}

@test "records that name no source get --source, the source: setting, MALLCOP_CONNECTOR_NAME, then 'file'" {
	printf '{"timestamp":"2026-11-21T10:00:00Z","event_type":"x","actor":"a"}\n' > in/c.jsonl
	run --separate-stderr cf in/c.jsonl
	[ "$(printf '%s\n' "$output" | jq -r .source)" = file ]
	MALLCOP_CONNECTOR_NAME=webapp run --separate-stderr cf in/c.jsonl
	[ "$(printf '%s\n' "$output" | jq -r .source)" = webapp ]
	MALLCOP_CONNECTOR_NAME=webapp run --separate-stderr cf --source audit in/c.jsonl
	[ "$(printf '%s\n' "$output" | jq -r .source)" = audit ]
	MALLCOP_CONNECTOR_NAME=webapp MALLCOP_CONNECTOR_CONFIG='{"source":"conf"}' run --separate-stderr cf in/c.jsonl
	[ "$(printf '%s\n' "$output" | jq -r .source)" = conf ]
	MALLCOP_CONNECTOR_CONFIG='{"source":"conf"}' run --separate-stderr cf --source audit in/c.jsonl
	[ "$(printf '%s\n' "$output" | jq -r .source)" = audit ]
}

@test "Go-shaped records are converted to the store's shape" {
	cat > in/go.jsonl <<-'EOF'
	{"id":"goid-1","source":"github","type":"repo.push","actor":"bob","timestamp":"2026-11-21T12:00:00+02:00","org":"acme","payload":{"action":"push","repo":"acme/site","ref":"main"}}
	EOF
	run --separate-stderr cf in/go.jsonl
	assert_success
	# printf 'github:goid-1' | sha256sum: 16d635bdd1a8f580bdc6...
	printf '%s\n' "$output" | jq -e '
		.id == "evt_16d635bdd1a8f580bdc6" and .timestamp == "2026-11-21T10:00:00Z" and
		.source == "github" and .event_type == "repo.push" and .actor == "bob" and
		.action == "push" and .target == "acme/site" and .severity == "info" and
		.metadata == {"action":"push","repo":"acme/site","ref":"main","org":"acme"} and
		.raw.id == "goid-1" and .raw.payload.ref == "main"'
}

@test "a second run with the printed cursor emits only the lines appended since" {
	run --separate-stderr cf 'in/*.jsonl'
	assert_success
	cursor=$(last_cursor)
	[ -n "$cursor" ]
	printf '%s' "$cursor" | jq -e '.files["in/a.jsonl"].off == ('"$(wc -c < in/a.jsonl)"')'

	event e4 github 2026-11-23T10:00:00Z carol >> in/a.jsonl
	event e5 m365 2026-11-23T11:00:00Z erin >> in/b.jsonl
	run --separate-stderr cf --cursor "$cursor" 'in/*.jsonl'
	assert_success
	[ "$(ids)" = "e4 e5 " ]

	cursor=$(last_cursor)
	run --separate-stderr cf --cursor "$cursor" 'in/*.jsonl'
	assert_success
	assert_output ""
	[ "$(last_cursor)" = "$cursor" ]
}

@test "a file truncated since the last run is read again from the start" {
	event t1 github 2026-11-21T10:00:00Z a > logs/app.jsonl
	event t2 github 2026-11-21T11:00:00Z a >> logs/app.jsonl
	event t3 github 2026-11-21T12:00:00Z a >> logs/app.jsonl
	run --separate-stderr cf logs/app.jsonl
	cursor=$(last_cursor)
	ino=$(stat -c %i logs/app.jsonl)
	event t9 github 2026-11-22T10:00:00Z a > logs/app.jsonl
	[ "$(stat -c %i logs/app.jsonl)" = "$ino" ]
	run --separate-stderr cf --cursor "$cursor" logs/app.jsonl
	assert_success
	[ "$(ids)" = "t9 " ]
	[[ "$stderr" == *"logs/app.jsonl: truncated"* ]]
}

@test "a rotated file: the new file is read from the start, the old one's tail from where it was left" {
	event r1 github 2026-11-21T10:00:00Z a > logs/app.jsonl
	run --separate-stderr cf 'logs/app.jsonl*'
	[ "$(ids)" = "r1 " ]
	cursor=$(last_cursor)

	event r2 github 2026-11-21T11:00:00Z a >> logs/app.jsonl	# written just before the rotation
	mv logs/app.jsonl logs/app.jsonl.1
	event r3 github 2026-11-21T12:00:00Z a > logs/app.jsonl

	# the path alone: only the new file, from its start
	run --separate-stderr cf --cursor "$cursor" logs/app.jsonl
	assert_success
	[ "$(ids)" = "r3 " ]
	[[ "$stderr" == *"logs/app.jsonl: replaced by a new file"* ]]

	# a glob that also matches the rotated file: its unread tail, once, and the new file
	run --separate-stderr cf --cursor "$cursor" 'logs/app.jsonl*'
	assert_success
	[ "$(ids)" = "r3 r2 " ]
	[[ "$stderr" == *"logs/app.jsonl.1: was 'logs/app.jsonl' (rotated)"* ]]

	# and the run after that has nothing new
	cursor=$(last_cursor)
	run --separate-stderr cf --cursor "$cursor" 'logs/app.jsonl*'
	assert_success
	assert_output ""
}

@test "a last line without its newline is not emitted until it is complete" {
	line=$(event p2 github 2026-11-21T11:00:00Z a)
	event p1 github 2026-11-21T10:00:00Z a > logs/app.jsonl
	printf '%s' "${line:0:30}" >> logs/app.jsonl
	run --separate-stderr cf logs/app.jsonl
	assert_success
	[ "$(ids)" = "p1 " ]
	[[ "$stderr" == *"0 malformed lines skipped"* ]]
	cursor=$(last_cursor)
	printf '%s' "$cursor" | jq -e '.files["logs/app.jsonl"].off == ('"$(event p1 github 2026-11-21T10:00:00Z a | wc -c)"')'

	# still being written: the same again
	run --separate-stderr cf --cursor "$cursor" logs/app.jsonl
	assert_output ""

	printf '%s\n' "${line:30}" >> logs/app.jsonl
	run --separate-stderr cf --cursor "$cursor" logs/app.jsonl
	assert_success
	[ "$(ids)" = "p2 " ]
	printf '%s\n' "$output" | jq -e '.timestamp == "2026-11-21T11:00:00Z"'
}

@test "--command: its output is read, its failure fails the run" {
	run --separate-stderr cf --command 'cat in/a.jsonl'
	assert_success
	[ "$(ids)" = "e1 e2 " ]
	[[ "$(printf '%s\n' "$stderr" | tail -n 1)" == cursor:\ * ]]

	# a command's last line needs no newline
	run --separate-stderr cf --command "printf '%s' '$(event n1 github 2026-11-21T10:00:00Z a)'"
	assert_success
	[ "$(ids)" = "n1 " ]

	# files first, then the command
	run --separate-stderr cf --command 'cat in/b.jsonl' in/a.jsonl
	[ "$(ids)" = "e1 e2 e3 " ]

	run --separate-stderr cf --command 'cat in/a.jsonl; echo "it broke" >&2; exit 3'
	assert_failure 1
	[ "$(ids)" = "e1 e2 " ]
	[[ "$stderr" == *"it broke"* ]]
	[[ "$stderr" == *"command 'cat in/a.jsonl; echo \"it broke\" >&2; exit 3' failed (exit status 3)"* ]]
	{ ! printf '%s\n' "$stderr" | grep -q '^cursor: '; } || false
}

@test "--command: the command's own cursor line is kept in ours and given back in MALLCOP_CURSOR" {
	cmd='echo "given=${MALLCOP_CURSOR-unset}" >&2; cat in/b.jsonl; echo "cursor: page-${RANDOM_PAGE:-2}" >&2'
	run --separate-stderr cf --command "$cmd"
	assert_success
	[ "$(ids)" = "e3 " ]
	[[ "$stderr" == *"given=unset"* ]]
	[ "$(printf '%s\n' "$stderr" | grep -c '^cursor: ')" -eq 1 ]
	cursor=$(last_cursor)
	printf '%s' "$cursor" | jq -e '.command == "page-2"'

	RANDOM_PAGE=3 run --separate-stderr cf --cursor "$cursor" --command "$cmd"
	assert_success
	[[ "$stderr" == *"given=page-2"* ]]
	printf '%s' "$(last_cursor)" | jq -e '.command == "page-3"'

	run --separate-stderr cf --cursor '{"command":"c-41"}' --command "$cmd"
	[[ "$stderr" == *"given=c-41"* ]]
}

@test "without operands, paths, command and source come from MALLCOP_CONNECTOR_CONFIG" {
	printf '{"timestamp":"2026-11-21T10:00:00Z","event_type":"x","actor":"a"}\n' > in/c.jsonl
	MALLCOP_CONNECTOR_CONFIG='{"paths":["in/a.jsonl","in/c.jsonl"],"source":"audit"}' run --separate-stderr cf
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r .source | tr '\n' ' ')" = "github github audit " ]
	MALLCOP_CONNECTOR_CONFIG='{"paths":"in/b.jsonl","command":"cat in/a.jsonl"}' run --separate-stderr cf
	assert_success
	[ "$(ids)" = "e3 e1 e2 " ]
	# operands and --command win over the configuration
	MALLCOP_CONNECTOR_CONFIG='{"paths":"in/b.jsonl","command":"exit 9"}' run --separate-stderr cf --command 'cat in/a.jsonl' in/a.jsonl
	assert_success
	[ "$(ids)" = "e1 e2 e1 e2 " ]
	MALLCOP_CONNECTOR_CONFIG='[1]' run --separate-stderr cf in/a.jsonl
	assert_failure 2
	MALLCOP_CONNECTOR_CONFIG='{"paths":[1]}' run --separate-stderr cf
	assert_failure 2
}

@test "a missing literal path exits 1 naming it; a glob that matches nothing is not an error" {
	run --separate-stderr cf in/a.jsonl in/missing.jsonl
	assert_failure 1
	[[ "$stderr" == *"mallcop-connector-file: cannot open 'in/missing.jsonl': No such file or directory"* ]]
	{ ! printf '%s\n' "$stderr" | grep -q '^cursor: '; } || false

	run --separate-stderr cf 'in/none-*.jsonl'
	assert_success
	assert_output ""
	[ "$(last_cursor)" = '{"files":{}}' ]
}

@test "a cursor it did not write (an old checkpoint) means reading from the start, with a warning" {
	for c in 'not json' '[1,2]' '2026-03-05T16:00:00+00:00'; do
		run --separate-stderr cf --cursor "$c" in/a.jsonl
		assert_success
		[ "$(printf '%s\n' "$output" | wc -l)" -eq "$(wc -l < in/a.jsonl)" ]
		[[ "$stderr" == *"not a cursor this connector wrote"* ]]
	done
}

@test "usage errors exit 2 with a message on stderr" {
	run --separate-stderr cf
	assert_failure 2
	[[ "$stderr" == *usage:* ]]
	run --separate-stderr cf --bogus in/a.jsonl
	assert_failure 2
	[[ "$stderr" == *usage:* ]]
	run --separate-stderr cf --since yesterday in/a.jsonl
	assert_failure 2
	[[ "$stderr" == *"--since 'yesterday' is not an ISO 8601 time"* ]]
	run --separate-stderr cf --source '../etc' in/a.jsonl
	assert_failure 2
	[[ "$stderr" == *"source '../etc' is not a valid name"* ]]
	run --separate-stderr cf --cursor
	assert_failure 2
	[[ "$stderr" == *usage:* ]]
	assert_output ""
}

@test "--since leaves out earlier events" {
	run --separate-stderr cf --since 2026-11-21T10:30:00Z 'in/*.jsonl'
	assert_success
	[ "$(ids)" = "e2 e3 " ]
	run --separate-stderr cf --since 2026-11-21T12:30:00+02:00 'in/*.jsonl'
	[ "$(ids)" = "e2 e3 " ]
}

@test "stdout is only events that jq reads; malformed lines and unconvertible records are counted on stderr" {
	{
		event g1 github 2026-11-21T10:00:00Z a
		echo 'not json'
		echo '{"truncated":'
		echo '{"source":"github","actor":"x","event_type":"push"}'
		event g2 github 2026-11-21T11:00:00Z 'evil\u001b[2J'
	} > in/mixed.jsonl
	run --separate-stderr cf in/mixed.jsonl
	assert_success
	printf '%s\n' "$output" | jq -c . > /dev/null
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
	printf '%s\n' "$output" | jq -se 'map(.id) == ["g1", null, "g2"]'
	[[ "$stderr" == *"in/mixed.jsonl:4: missing timestamp"* ]]
	[[ "$stderr" == *"in/mixed.jsonl:2: skipped malformed line"* ]]
	[[ "$stderr" == *"2 events, 1 not convertible, 2 malformed lines skipped"* ]]
}

@test "blank lines are passed over, not counted as malformed" {
	{
		event b1 github 2026-11-21T10:00:00Z a
		echo
		printf '  \t\n'
		printf '\r\n'
		event b2 github 2026-11-21T11:00:00Z a
	} > in/blank.jsonl
	run --separate-stderr cf in/blank.jsonl
	assert_success
	[ "$(ids)" = "b1 b2 " ]
	[[ "$stderr" == *"2 events, 0 not convertible, 0 malformed lines skipped"* ]]
	[[ "$stderr" != *"skipped malformed line"* ]]
}

@test "an event stored by mallcop, and the same event spelt otherwise, come out alike without ingested_at" {
	{
		echo '{"id":"s1","timestamp":"2026-11-21T10:00:00.250000Z","ingested_at":"2020-01-01T00:00:00Z","source":"github","event_type":"push","actor":"al\u00e9","action":"a","target":"t","severity":"info","metadata":{},"raw":{"k":["v/w",1]}}'
		echo '{"id":"s1", "timestamp":"2026-11-21T10:00:00.25Z","source":"github","event_type":"push","actor":"al\u00e9","action":"a","target":"t","severity":"info","metadata":{},"raw":{"k":["v\/w",1.0]}}'
		echo '{"id":"s1","timestamp":"2026-11-21T10:00:00.250000Z","source":"github","event_type":"push","actor":"alé","action":"a","target":"t","severity":"info","metadata":{},"raw":{"k":["v/w",1]}}'
	} > in/spelt.jsonl
	run --separate-stderr cf --since 2026-11-21T10:00:00Z in/spelt.jsonl
	assert_success
	assert_output "$(for i in 1 2 3; do printf '%s\n' '{"id":"s1","timestamp":"2026-11-21T10:00:00.250000Z","source":"github","event_type":"push","actor":"alé","action":"a","target":"t","severity":"info","metadata":{},"raw":{"k":["v/w",1]}}'; done)"
	run --separate-stderr cf --since 2026-11-21T10:00:01Z in/spelt.jsonl
	assert_success
	assert_output ''
}
