#!/usr/bin/env bats
# hostile YAML and JSON: alias bombs, deep nesting and huge documents are refused with the file
# and the line, in bounded memory, by every reader (config, rules, manifests, checkpoints, events)

load helper

setup() {
	deployment
	mkdir -p in
	event e1 github 2026-11-21T10:00:00Z alice > in/a.jsonl
}

# the commands run with 200 MB of address space, so an alias expansion or a recursion that is
# not bounded fails the test; a sanitizer build reserves terabytes up front and runs unlimited
limited() {
	ldd "$MALLCOP_EXEC_PATH/mallcop-scan" | grep -q libasan || ulimit -v 204800
	"$@"
}

# "billion laughs": anchors a0..a9 at the top level, each an alias of the one before 9 times
# (9^9 strings once expanded); KEY: *a9 then puts it where the reader must use it
laughs() {
	printf 'a0: &a0 "lol"\n'
	for i in 1 2 3 4 5 6 7 8 9; do
		printf 'a%d: &a%d [' "$i" "$i"
		for _ in 1 2 3 4 5 6 7 8; do printf '*a%d, ' $((i - 1)); done
		printf '*a%d]\n' $((i - 1))
	done
}

# 100,000 nested flow sequences, opened and never closed
deep() {
	head -c 100000 /dev/zero | tr '\0' '['
	printf '\n'
}

files_config() {
	printf 'connectors:\n  files: {type: file, paths: [in/*.jsonl]}\n'
}

@test "mallcop.yaml: an alias bomb is refused with the file and line, in bounded memory" {
	{ laughs; printf 'connectors:\n  files: {type: file, paths: [in/*.jsonl], x: *a9}\n'; } |
		config
	run limited mallcop scan
	assert_failure 1
	assert_output --partial "$D/mallcop.yaml:8: aliases expand the document to more than 1000000 values"
	run --separate-stderr limited mallcop status
	assert_failure 1
	echo "$output" | jq -e '.error | test("mallcop.yaml:8: aliases expand")'
}

@test "mallcop.yaml: 100,000 nested [ are refused with the file and line, not a crash" {
	{ files_config; printf 'x: '; deep; } | config
	run limited mallcop scan
	assert_failure 1
	assert_output --partial "$D/mallcop.yaml:3: collections nested more than 256 deep"
	run --separate-stderr limited mallcop status
	assert_failure 1
	echo "$output" | jq -e '.error | test("mallcop.yaml:3: collections nested more than 256 deep")'
}

@test "mallcop.yaml: nesting of 256 levels is read, 257 is refused" {
	{
		files_config
		printf 'x: '
		head -c 255 /dev/zero | tr '\0' '['
		head -c 255 /dev/zero | tr '\0' ']'
		printf '\n'
	} | config
	run mallcop status
	assert_success
	echo "$output" | jq -e 'has("config_error") | not'
	sed -i 's/^x: /x: [/; s/]$/]]/' mallcop.yaml
	run mallcop scan
	assert_failure 1
	assert_output --partial "mallcop.yaml:3: collections nested more than 256 deep"
}

@test "mallcop.yaml over 8 MiB is refused with the line where the limit falls" {
	{
		files_config
		awk 'BEGIN { for (i = 1; i <= 300000; i++) printf "k%06d: a value of thirty bytes\n", i }'
	} | config
	run limited mallcop scan
	assert_failure 1
	assert_output --regexp "mallcop.yaml:2[0-9]{5}: the document is larger than 8 MiB"
}

@test "a rules file (apps/X/detectors.yaml) with an alias bomb or deep nesting is refused" {
	files_config | config
	mkdir -p apps/x
	{ laughs; printf 'detectors:\n  - name: r\n    severity: warn\n    condition: *a9\n'; } \
		> apps/x/detectors.yaml
	run limited mallcop detect
	assert_failure 1
	assert_output --partial "apps/x/detectors.yaml:8: aliases expand the document"
	{ printf 'detectors: '; deep; } > apps/x/detectors.yaml
	run limited mallcop detect
	assert_failure 1
	assert_output --partial "apps/x/detectors.yaml:1: collections nested more than 256 deep"
}

@test "a plugin manifest with an alias bomb or deep nesting is refused, naming the manifest" {
	printf 'connectors:\n  mine: {type: mine}\n' | config
	mkdir -p plugins/connectors/mine
	printf '#!/bin/sh\n' > plugins/connectors/mine/run
	chmod +x plugins/connectors/mine/run
	{ laughs; printf 'name: mine\nexec: run\nenv: *a9\n'; } > plugins/connectors/mine/manifest.yaml
	run limited mallcop scan
	assert_failure 1
	assert_output --partial "plugins/connectors/mine/manifest.yaml:8: aliases expand the document"
	{ printf 'name: mine\nexec: run\nenv: '; deep; } > plugins/connectors/mine/manifest.yaml
	run limited mallcop scan
	assert_failure 1
	assert_output --partial "plugins/connectors/mine/manifest.yaml:3: collections nested more than 256 deep"
}

@test "checkpoints.yaml with an alias bomb or deep nesting is refused, naming the file" {
	files_config | config
	mkdir -p .mallcop
	{ laughs; printf 'files: {updated_at: "2026-11-21T10:00:00Z", value: *a9}\n'; } \
		> .mallcop/checkpoints.yaml
	run limited mallcop scan
	assert_failure 1
	assert_output --partial ".mallcop/checkpoints.yaml:8: aliases expand the document"
	{ printf 'files: '; deep; } > .mallcop/checkpoints.yaml
	run limited mallcop scan
	assert_failure 1
	assert_output --partial ".mallcop/checkpoints.yaml:1: collections nested more than 256 deep"
}

# one event whose metadata nests N arrays deep
deep_event() {
	printf '{"id":"deep","timestamp":"2026-11-21T11:00:00Z","source":"github","event_type":"push","actor":"eve","action":"a","target":"t","metadata":{"x":'
	head -c "$1" /dev/zero | tr '\0' '['
	head -c "$1" /dev/zero | tr '\0' ']'
	printf '}}\n'
}

@test "deeply nested JSON on stdin to mallcop-detect - is skipped with a warning, not a crash" {
	{ deep_event 100000; event e2 github 2026-11-21T12:00:00Z bob; } > in.jsonl
	run --separate-stderr limited "$MALLCOP_EXEC_PATH/mallcop-detect" - < in.jsonl
	assert_success
	[[ "$stderr" == *"stdin:1: skipped malformed line: Exceeds depth limit for parsing"* ]]
	echo "$output" | jq -se 'length == 1 and .[0].event_ids == ["e2"]'
}

@test "deeply nested JSON from a connector is skipped and counted, the other events kept" {
	printf 'connectors:\n  mine: {type: mine}\n' | config
	mkdir -p plugins/connectors/mine
	printf 'name: mine\nexec: run\n' > plugins/connectors/mine/manifest.yaml
	{ printf '#!/bin/sh\ncat <<"EOF"\n'; deep_event 100000; cat in/a.jsonl; printf 'EOF\n'; } \
		> plugins/connectors/mine/run
	chmod +x plugins/connectors/mine/run
	run --separate-stderr limited mallcop scan
	assert_success
	echo "$output" | jq -e '.connectors.mine.events_ingested == 1 and .connectors.mine.skipped_lines == 1'
	run stored_ids
	assert_output e1
}

# 3,000 lines each with a 50,000-byte string after a value, no separator between them: libjq
# 1.6 loses that string when it finds the error (196 MB for these lines)
separator_lines() {
	awk 'BEGIN { s = "y"; while (length(s) < 50000) s = s s
		for (i = 0; i < 3000; i++) printf "[\"x\" \"%s\"]\n", s }'
	event e2 github 2026-11-21T12:00:00Z bob
}

detect_separator_lines() {
	separator_lines | "$MALLCOP_EXEC_PATH/mallcop-detect" -
}

@test "JSON lines with a value right after a value are skipped in bounded memory" {
	run --separate-stderr limited detect_separator_lines
	assert_success
	[[ "$stderr" == *"stdin:1: skipped malformed line: Expected separator between values at byte 6"* ]]
	[[ "$stderr" == *"stdin: 3000 malformed lines skipped in all"* ]]
	echo "$output" | jq -se 'length == 1 and .[0].event_ids == ["e2"]'
}
