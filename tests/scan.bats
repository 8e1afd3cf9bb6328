#!/usr/bin/env bats
# mallcop scan: connectors run, events stored exactly once, failures contained

load helper

setup() {
	deployment
	mkdir -p "$D/in"
	for i in 1 2 3; do event "e$i" github "2026-11-2${i}T10:00:00Z" alice; done > "$D/in/a.jsonl"
	for i in 1 2; do event "m$i" m365 "2026-10-1${i}T10:00:00Z" erin login_failure; done > "$D/in/b.jsonl"
}

files_config() {
	config <<-'EOF2'
	connectors:
	  files:
	    type: file
	    paths: [in/*.jsonl]
	EOF2
}

# a custom connector in plugins/connectors/NAME: its program is the rest of stdin
plugin() {
	mkdir -p "$D/plugins/connectors/$1"
	printf 'name: %s\nexec: run\n' "$1" > "$D/plugins/connectors/$1/manifest.yaml"
	cat > "$D/plugins/connectors/$1/run"
	chmod +x "$D/plugins/connectors/$1/run"
}

@test "scan stores every event once in monthly files and reports it" {
	files_config
	run mallcop scan
	assert_success
	echo "$output" | jq -e '.command == "scan" and .status == "ok" and .total_events_ingested == 5'
	echo "$output" | jq -e '.connectors.files.status == "ok" and .connectors.files.events_ingested == 5'
	echo "$output" | jq -e '.connectors.files.checkpoint | fromjson | .files | length == 2'
	[ "$(wc -l < .mallcop/events/github-2026-11.jsonl)" -eq 3 ]
	[ "$(wc -l < .mallcop/events/m365-2026-10.jsonl)" -eq 2 ]
	jq -se 'map(select(.id == "e1"))[0].ingested_at | test("Z$")' .mallcop/events/github-2026-11.jsonl
}

@test "a second scan takes only what the files gained since the checkpoint" {
	files_config
	mallcop scan >/dev/null
	run mallcop scan
	assert_success
	echo "$output" | jq -e '.total_events_ingested == 0 and .connectors.files.duplicates == 0'
	event e4 github 2026-11-24T10:00:00Z bob >> in/a.jsonl
	run mallcop scan
	echo "$output" | jq -e '.total_events_ingested == 1'
	run stored_ids
	assert_output "$(printf 'e1\ne2\ne3\ne4\nm1\nm2')"
}

@test "events already stored are not stored again when a connector sends them twice" {
	files_config
	mallcop scan >/dev/null
	rm .mallcop/checkpoints.yaml
	run mallcop scan
	assert_success
	echo "$output" | jq -e '.total_events_ingested == 0 and .connectors.files.duplicates == 5'
	[ "$(stored_ids | wc -l)" -eq 5 ]
}

@test "Go-shaped events are normalized and records missing fields are rejected with reasons" {
	cat > in/c.jsonl <<-'EOF2'
	{"id":"g-1","source":"aws","type":"console_login","actor":"bob","timestamp":"2026-11-21T12:00:00+02:00","org":"acme","payload":{"ip":"192.0.2.1","target":"console"}}
	{"source":"github","actor":"x","event_type":"push"}
	{"timestamp":"yesterday","source":"github","actor":"x","event_type":"push"}
	{"timestamp":"2026-11-21T12:00:00Z","source":"github","actor":"x"}
	{"timestamp":"2026-11-21T12:00:00Z","source":"../etc","actor":"x","event_type":"push"}
	not json at all
	EOF2
	files_config
	run mallcop scan
	assert_success
	echo "$output" | jq -e '.connectors.files.rejected == 4'
	echo "$output" | jq -e '.connectors.files.rejected_reasons == {"missing timestamp":1,"timestamp is not an ISO 8601 time from 1970 to 9999":1,"missing event_type":1,"source is not a valid name ([A-Za-z0-9._-], at most 63)":1}'
	jq -e '.event_type == "console_login" and .timestamp == "2026-11-21T10:00:00Z" and .metadata.org == "acme" and .target == "console" and .raw.id == "g-1" and (.id | test("^evt_[0-9a-f]{20}$"))' .mallcop/events/aws-2026-11.jsonl
	[ ! -e .mallcop/events/..-etc-2026-11.jsonl ]
}

@test "an event in the stored form and the same event spelt otherwise are stored alike, with this scan's ingested_at" {
	plugin spell <<-'EOF2'
	#!/bin/sh
	echo '{"id":"s1","timestamp":"2026-11-21T10:00:00Z","ingested_at":"2020-01-01T00:00:00Z","source":"github","event_type":"push","actor":"al\u00e9","action":"a","target":"t","severity":"info","metadata":{"n":[1,"\u0001"]},"raw":{"k":"v/w"}}'
	echo '{"id":"s2","timestamp":"2026-11-21T10:00:00Z","source":"github","event_type":"push","actor":"al\u00e9","action":"a","target":"t","severity":"info","metadata":{"n":[1,"\u0001"]},"raw":{"k":"v/w"}}'
	echo '{"raw": {"k": "v\/w"}, "id": "s3", "source": "github", "event_type": "push", "actor": "al\u00e9", "action": "a", "target": "t", "severity": "info", "metadata": {"n": [1.0, "\u0001"]}, "timestamp": "2026-11-21T12:00:00+02:00"}'
	echo 'cursor: c' >&2
	EOF2
	config <<-'EOF2'
	connectors:
	  spell: {}
	EOF2
	MALLCOP_NOW=2026-11-26T00:00:00Z run mallcop scan
	assert_success
	echo "$output" | jq -e '.total_events_ingested == 3'
	# one compact line each, members in the stored order, differing only in the id
	run sed 's/"id":"s[123]"/"id":"S"/' .mallcop/events/github-2026-11.jsonl
	assert_output "$(for i in 1 2 3; do printf '%s\n' '{"id":"S","timestamp":"2026-11-21T10:00:00Z","ingested_at":"2026-11-26T00:00:00Z","source":"github","event_type":"push","actor":"alé","action":"a","target":"t","severity":"info","metadata":{"n":[1,"\u0001"]},"raw":{"k":"v/w"}}'; done)"
}

@test "a malformed mallcop.yaml is an error naming the file and the line" {
	printf 'connectors:\n  files:\n    type: file\n   paths: [x\n' > mallcop.yaml
	run mallcop scan
	assert_failure 1
	assert_output --partial "mallcop.yaml:"
	echo "$output" | grep '^{' | jq -e '.status == "error" and (.error | test("mallcop.yaml:[0-9]+"))'
}

@test "a missing mallcop.yaml says how to make one" {
	run mallcop scan
	assert_failure 1
	assert_output --partial "mallcop init"
}

@test "an unset variable fails only its connector, naming the file, line, key and variable" {
	unset NO_SUCH_TOKEN
	config <<-'EOF2'
	connectors:
	  files:
	    type: file
	    paths: [in/*.jsonl]
	  github:
	    type: file
	    token: ${NO_SUCH_TOKEN}
	    paths: [in/a.jsonl]
	EOF2
	run mallcop scan
	assert_failure 1
	echo "$output" | grep '^{' | jq -e '.connectors.files.status == "ok" and .connectors.files.events_ingested == 5'
	echo "$output" | grep '^{' | jq -e '.connectors.github.status == "error"'
	echo "$output" | grep '^{' | jq -e '.connectors.github.error | test("mallcop.yaml:7: connectors.github.token: environment variable .NO_SUCH_TOKEN. is not set")'
}

@test "a connector that fails, prints garbage or hangs is named with its cause and the others' events are kept" {
	plugin broken <<-'EOF2'
	#!/bin/sh
	echo "authentication failed: check BROKEN_TOKEN" >&2
	exit 4
	EOF2
	plugin garbage <<-'EOF2'
	#!/bin/sh
	echo '<html>502 Bad Gateway</html>'
	echo 'cursor: x'  >&2
	EOF2
	plugin hangs <<-'EOF2'
	#!/bin/sh
	sleep 30
	EOF2
	config <<-'EOF2'
	connectors:
	  files: {type: file, paths: [in/*.jsonl]}
	  broken: {}
	  garbage: {}
	  hangs: {timeout: 1}
	EOF2
	SECONDS=0
	run mallcop scan
	assert_failure 1
	[ "$SECONDS" -lt 15 ]
	json=$(echo "$output" | grep '^{')
	echo "$json" | jq -e '.connectors.files.events_ingested == 5 and .total_events_ingested == 5'
	echo "$json" | jq -e '.connectors.broken.error | test("exited with status 4: authentication failed: check BROKEN_TOKEN")'
	echo "$json" | jq -e '.connectors.garbage.status == "ok" and .connectors.garbage.skipped_lines == 1'
	echo "$json" | jq -e '.connectors.hangs.error | test("timed out")'
	[ "$(stored_ids | wc -l)" -eq 5 ]
	{ ! pgrep -f "plugins/connectors/hangs" >/dev/null; } || false
}

@test "a failed connector's checkpoint does not move" {
	plugin flaky <<-'EOF2'
	#!/bin/sh
	echo '{"id":"f1","timestamp":"2026-11-20T00:00:00Z","source":"flaky","event_type":"x","actor":"a"}'
	echo "cursor: $1$2-next" >&2
	[ -e fail ] && exit 1
	exit 0
	EOF2
	config <<-'EOF2'
	connectors:
	  flaky: {}
	EOF2
	mallcop scan >/dev/null
	grep -q "value: '-next'" .mallcop/checkpoints.yaml || grep -q 'value: -next' .mallcop/checkpoints.yaml
	touch fail
	run mallcop scan
	assert_failure 1
	grep -q 'next' .mallcop/checkpoints.yaml
	{ ! grep -q -- '--cursor-next' .mallcop/checkpoints.yaml; } || false
	rm fail
	run mallcop scan
	assert_success
	grep -q -- '--cursor-next-next' .mallcop/checkpoints.yaml
}

@test "a connector gets only the variables its configuration names" {
	plugin envdump <<-'EOF2'
	#!/bin/sh
	env | sort > env.out
	EOF2
	export SECRET_NOT_NAMED=hunter2 NAMED_VAR=ok REFERENCED_VAR=yes
	config <<-'EOF2'
	connectors:
	  envdump:
	    env: [NAMED_VAR]
	    key: ${REFERENCED_VAR}
	EOF2
	run mallcop scan
	assert_success
	grep -q '^NAMED_VAR=ok$' env.out
	grep -q '^REFERENCED_VAR=yes$' env.out
	grep -q '^MALLCOP_CONNECTOR_NAME=envdump$' env.out
	grep -q '^MALLCOP_CONNECTOR_CONFIG={.*"key":"yes"' env.out
	{ ! grep -q SECRET_NOT_NAMED env.out; } || false
	{ ! grep -q '^HOME=' env.out; } || false
}

@test "scan passes --since from 'since:' on the first run and --cursor afterwards" {
	plugin args <<-'EOF2'
	#!/bin/sh
	echo "$*" >> args.out
	echo "cursor: c1" >&2
	EOF2
	config <<-'EOF2'
	connectors:
	  args: {since: 7d, args: [--extra]}
	EOF2
	MALLCOP_NOW=2026-11-26T00:00:00Z mallcop scan >/dev/null
	mallcop scan >/dev/null
	run cat args.out
	assert_line --index 0 "--since 2026-11-19T00:00:00Z --extra"
	assert_line --index 1 "--cursor c1 --extra"
}

@test "--jsonl streams the new events and puts the summary on stderr" {
	files_config
	run --separate-stderr mallcop scan --jsonl
	assert_success
	[ "$(echo "$output" | jq -r .id | sort | tr '\n' ' ')" = "e1 e2 e3 m1 m2 " ]
	echo "$stderr" | grep -q '"total_events_ingested":5'
	run --separate-stderr mallcop scan --jsonl
	assert_output ""
}

@test "--human summarizes per connector without raw control characters" {
	plugin evil <<-'EOF2'
	#!/bin/sh
	printf 'bad \033[31mthing\n' >&2
	exit 2
	EOF2
	config <<-'EOF2'
	connectors:
	  files: {type: file, paths: [in/*.jsonl]}
	  evil: {}
	EOF2
	run --separate-stderr mallcop --human scan
	assert_failure 1
	assert_line --partial "files"
	assert_line --partial "FAILED"
	assert_output --partial '\e[31m'
	{ ! printf '%s' "$output" | grep -q $'\033'; } || false
}

@test "only the connectors named on the command line run" {
	config <<-'EOF2'
	connectors:
	  one: {type: file, paths: [in/a.jsonl]}
	  two: {type: file, paths: [in/b.jsonl]}
	EOF2
	run mallcop scan two
	assert_success
	echo "$output" | jq -e '.connectors | keys == ["two"]'
	run mallcop scan three
	assert_failure 2
}

@test "an unknown connector type says what to check" {
	config <<-'EOF2'
	connectors:
	  mystery: {type: nosuch}
	EOF2
	run mallcop scan
	assert_failure 1
	assert_output --partial "mallcop-connector-nosuch"
}

@test "a second scan while one runs exits 75, or waits with --wait" {
	files_config
	mkdir -p .mallcop
	hold_lock 4
	run mallcop scan
	assert_failure 75
	assert_output --partial "in use by another mallcop run"
	run mallcop scan --wait=10
	assert_success
	echo "$output" | jq -e '.total_events_ingested == 5'
	wait
}

@test "two scans started together store every event exactly once" {
	for i in $(seq 1 400); do event "c$i" github "2026-11-20T10:00:00Z" alice; done > in/a.jsonl
	files_config
	for round in 1 2 3; do
		event "r$round" github 2026-11-21T00:00:00Z bob >> in/a.jsonl
		mallcop scan --wait=30 > out1 &
		mallcop scan --wait=30 > out2 &
		wait
		jq -e '.status == "ok"' out1 out2
	done
	[ "$(stored_ids | wc -l)" -eq 405 ]
	[ -z "$(stored_ids | uniq -d)" ]
}

@test "a scan killed with SIGKILL at any moment, then run again, stores every event exactly once" {
	plugin bulk <<-'EOF2'
	#!/bin/sh
	i=0
	while [ $i -lt 20000 ]; do
		echo "{\"id\":\"b$i\",\"timestamp\":\"2026-11-$((10 + i % 15))T10:00:00Z\",\"source\":\"bulk\",\"event_type\":\"x\",\"actor\":\"a\"}"
		i=$((i + 1))
	done
	echo "cursor: done" >&2
	EOF2
	config <<-'EOF2'
	connectors:
	  bulk: {}
	EOF2
	for delay in 0.1 0.3 0.6 0.9 1.2 1.6; do
		mallcop scan >/dev/null 2>&1 &
		pid=$!
		sleep "$delay"
		kill -KILL "$pid" 2>/dev/null || true	# mallcop execs mallcop-scan: the same pid
		wait $pid || true
		rm -f .mallcop/checkpoints.yaml
	done
	# and a write torn in the middle of a line
	printf '{"id":"b1","timest' >> .mallcop/events/bulk-2026-11.jsonl
	run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 20000 ]
	[ -z "$(stored_ids | uniq -d)" ]
	cat .mallcop/events/*.jsonl | jq -c . >/dev/null
}

# run a script in a private mount namespace (root only), or skip
in_namespace() {
	[ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null || skip "needs root and mount namespaces"
	unshare -m sh -c "$1"
}

@test "a full disk is a clear error, exit 1, and leaves the store as it was" {
	files_config
	for i in $(seq 1 3000); do event "big$i" github "2026-11-20T10:00:00Z" "actor-with-a-long-name-$i"; done > in/a.jsonl
	mkdir -p .mallcop/events
	event old github 2026-11-01T00:00:00Z > .mallcop/events/github-2026-11.jsonl
	in_namespace "
		mount -t tmpfs -o size=64k tmpfs '$D/.mallcop/events' || exit 99
		event() { :; }
		printf '%s\n' '$(cat .mallcop/events/github-2026-11.jsonl)' > '$D/.mallcop/events/github-2026-11.jsonl'
		before=\$(cat '$D'/.mallcop/events/* | sha256sum)
		'$TOP/mallcop' scan > '$D/scan.out' 2> '$D/scan.err'; echo \$? > '$D/scan.rc'
		after=\$(cat '$D'/.mallcop/events/* | sha256sum)
		[ \"\$before\" = \"\$after\" ] && echo same > '$D/scan.same'
		ls '$D/.mallcop/events' > '$D/scan.ls'
	"
	[ "$(cat scan.rc)" -eq 1 ]
	grep -q 'No space left on device' scan.err
	jq -e '.connectors.files.status == "error" and (.connectors.files.error | test("No space left"))' scan.out
	[ -e scan.same ]
	run cat scan.ls
	assert_output "github-2026-11.jsonl"
	{ ! grep -q 'files:' .mallcop/checkpoints.yaml 2>/dev/null; } || false
}

@test "a read-only store is a clear error, exit 1, and nothing is written" {
	files_config
	mkdir -p .mallcop/events
	in_namespace "
		mount --bind '$D/.mallcop' '$D/.mallcop' && mount -o remount,bind,ro '$D/.mallcop' || exit 99
		'$TOP/mallcop' scan > '$D/scan.out' 2> '$D/scan.err'; echo \$? > '$D/scan.rc'
	"
	[ "$(cat scan.rc)" -eq 1 ]
	grep -q 'Read-only file system' scan.err
	jq -e '.status == "error"' scan.out
	[ -z "$(ls .mallcop/events)" ]
}

@test "every result parses with jq and stdout has nothing else" {
	files_config
	run --separate-stderr mallcop scan
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	echo "$output" | jq -e . >/dev/null
}

@test "bad values for type, since, timeout and args name the file, the line and the key" {
	config <<-'EOF2'
	connectors:
	  a: {type: file, paths: [in/a.jsonl], since: last tuesday}
	  b: {type: file, paths: [in/a.jsonl], timeout: forever}
	  c: {type: "../x"}
	  d: {type: file, paths: [in/a.jsonl], args: [{x: 1}]}
	EOF2
	run --separate-stderr mallcop scan
	assert_failure 1
	echo "$output" | jq -e '.connectors.a.error | test("mallcop.yaml:2: connectors.a.since: expected")'
	echo "$output" | jq -e '.connectors.b.error | test("mallcop.yaml:3: connectors.b.timeout: expected")'
	echo "$output" | jq -e '.connectors.c.error | test("mallcop.yaml:4: connectors.c.type: expected")'
	echo "$output" | jq -e '.connectors.d.error | test("mallcop.yaml:5: connectors.d.args: expected a list of strings")'
}

@test "--timeout on the command line wins over mallcop.yaml and must be seconds" {
	plugin slow <<-'EOF2'
	#!/bin/sh
	sleep 20
	EOF2
	config <<-'EOF2'
	connectors:
	  slow: {timeout: 10m}
	EOF2
	SECONDS=0
	run --separate-stderr mallcop scan --timeout 1
	assert_failure 1
	[ "$SECONDS" -lt 10 ]
	echo "$output" | jq -e '.connectors.slow.error | test("timed out after 1s")'
	run mallcop scan --timeout 5m
	assert_failure 2
}

@test "with --jsonl a failure to store prints no events and no JSON result on stdout" {
	files_config
	run --separate-stderr mallcop scan --jsonl --wait=x
	assert_failure 2
	mkdir -p .mallcop
	hold_lock 4
	run --separate-stderr mallcop scan --jsonl
	assert_failure 75
	assert_output ""
	wait
}

@test "a scan stopped with SIGTERM stops its connectors too" {
	plugin sleepy <<-'EOF2'
	#!/bin/sh
	echo $$ > sleepy.pid
	sleep 60
	EOF2
	config <<-'EOF2'
	connectors:
	  sleepy: {}
	EOF2
	mallcop scan >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 50); do [ -s sleepy.pid ] && break; sleep 0.1; done
	kill -TERM "$pid"
	wait "$pid" || true
	sleep 0.5
	# gone, or a zombie left for init to reap
	p=$(cat sleepy.pid)
	[ ! -e "/proc/$p/stat" ] || [ "$(cut -d' ' -f3 "/proc/$p/stat")" = Z ]
}

# a line of at least N bytes holding one event: bigline ID N
bigline() {
	printf '{"id":"%s","timestamp":"2026-11-21T10:00:00Z","source":"github","event_type":"push","actor":"bob","metadata":{"pad":"%s"}}\n' \
		"$1" "$(head -c "$2" /dev/zero | tr '\0' a)"
}

@test "a NUL in a string refuses the event: alice-acme\\u0000-mallory does not pass for alice-acme" {
	for i in 1 2 3; do event "a$i" github "2026-11-2${i}T10:00:00Z" alice-acme; done > in/a.jsonl
	files_config
	mallcop scan >/dev/null
	mallcop detect >/dev/null
	baseline_whole > baseline.before
	cat > in/c.jsonl <<-'EOF2'
	{"id":"n1","timestamp":"2026-11-24T10:00:00Z","source":"github","event_type":"push","actor":"alice-acme\u0000-mallory"}
	{"id":"n2","timestamp":"2026-11-24T10:00:00Z","source":"github","event_type":"push","actor":"carol","metadata":{"note\u0000":"key"}}
	{"id":"n3","timestamp":"2026-11-24T11:00:00Z","source":"github","event_type":"push","actor":"dave"}
	EOF2
	run --separate-stderr mallcop scan
	assert_success
	echo "$output" | jq -e '.connectors.files.events_ingested == 1 and .connectors.files.rejected == 2'
	echo "$output" | jq -e '.connectors.files.rejected_reasons == {"a string holds a NUL character (U+0000)": 2}'
	run stored_ids
	assert_output "$(printf 'a1\na2\na3\nm1\nm2\nn3')"
	{ ! grep -q mallory .mallcop/events/*.jsonl; } || false
	mallcop detect >/dev/null
	jq -e '.known_entities.actors | index("alice-acme\u0000-mallory") == null' .mallcop/baseline.json
	# alice-acme's history holds her three events and nothing of mallory's
	alice='.frequency_tables | with_entries(select(.key | contains("alice-acme")))'
	[ "$(jq -c "$alice" baseline.before)" != '{}' ]
	[ "$(baseline_whole | jq -c "$alice")" = "$(jq -c "$alice" baseline.before)" ]
}

@test "an event longer than max_event_bytes (1 MiB) is rejected and counted; the lines after it are read" {
	{ event b1 github 2026-11-21T10:00:00Z bob; bigline huge $((2 * 1024 * 1024)); event b2 github 2026-11-21T11:00:00Z bob; } > "$BATS_TEST_TMPDIR/big.jsonl"
	rm in/*.jsonl
	cp "$BATS_TEST_TMPDIR/big.jsonl" in/big.jsonl
	# straight from a connector's stdout, and through the file connector
	plugin catter <<-EOF2
	#!/bin/sh
	cat '$BATS_TEST_TMPDIR/big.jsonl' | sed 's/"b\([12]\)"/"c\1"/'
	EOF2
	config <<-'EOF2'
	connectors:
	  files: {type: file, paths: [in/*.jsonl]}
	  catter: {}
	EOF2
	run --separate-stderr mallcop scan
	assert_success
	for c in files catter; do
		echo "$output" | jq -e --arg c "$c" '.connectors[$c] | .events_ingested == 2 and .rejected == 1 and .rejected_reasons == {"larger than max_event_bytes": 1} and .skipped_lines == 0'
	done
	run stored_ids
	assert_output "$(printf 'b1\nb2\nc1\nc2')"
	{ ! grep -q huge .mallcop/events/*.jsonl; } || false
}

@test "max_event_bytes in mallcop.yaml sets a smaller limit, for scan and its connectors" {
	{ bigline small 900; bigline large 3000; } > in/c.jsonl
	config <<-'EOF2'
	max_event_bytes: 2048
	connectors:
	  files: {type: file, paths: [in/c.jsonl]}
	  env: {}
	EOF2
	plugin env <<-'EOF2'
	#!/bin/sh
	echo "limit $MALLCOP_MAX_EVENT_BYTES" >&2
	exit 3
	EOF2
	run --separate-stderr mallcop scan
	assert_failure 1
	echo "$output" | jq -e '.connectors.files | .events_ingested == 1 and .rejected == 1 and .rejected_reasons == {"larger than max_event_bytes": 1}'
	echo "$output" | jq -e '.connectors.env.error | test("limit 2048")'
	run stored_ids
	assert_output small
	printf 'max_event_bytes: 12\nconnectors:\n  files: {type: file, paths: [in/c.jsonl]}\n' > mallcop.yaml
	run --separate-stderr mallcop scan
	assert_failure 1
	assert_output --partial 'mallcop.yaml:1: max_event_bytes: expected a whole number from 1024 to 1073741824'
}

@test "no connectors configured is an empty scan, not a failure" {
	printf 'baseline:\n  window_days: 30\n' > mallcop.yaml
	run --separate-stderr mallcop scan
	assert_success
	echo "$output" | jq -e '.status == "ok" and .connectors == {} and .total_events_ingested == 0'
	run --separate-stderr mallcop scan --human
	assert_success
	assert_output --partial "no connectors are configured"
	printf 'connectors: {}\n' > mallcop.yaml
	run --separate-stderr mallcop scan
	assert_success
	echo "$output" | jq -e '.status == "ok" and .connectors == {}'
	run --separate-stderr mallcop scan nosuch
	assert_failure 2
}

@test "a connector name and a --dir given by the operator are echoed escaped" {
	files_config
	run --separate-stderr mallcop scan --human $'no\033[2Jsuch'
	assert_failure 2
	[[ "$stderr" == *'no connector '"'"'no\e[2Jsuch'"'"* ]]
	{ ! printf '%s' "$stderr" | grep -q $'\033'; } || false
	run --separate-stderr mallcop scan --human --dir "$BATS_TEST_TMPDIR/"$'gone\033]0;owned\a'
	assert_failure 1
	[[ "$stderr" == *'gone\e]0;owned\x07'* ]]
	{ ! printf '%s' "$stderr" | grep -q $'\033'; } || false
}
