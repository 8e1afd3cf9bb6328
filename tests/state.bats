#!/usr/bin/env bats
# The store's state that is there but cannot be read is never taken for absent: every reader
# stops with exit 1 naming the file, and no writer replaces what it could not read. The real
# case is a file left to root, mode 000, by a root run, then read by a cron run as a user:
# these tests drop to nobody for it (setpriv), over a deployment nobody may use.

load helper

bats_require_minimum_version 1.5.0

setup() {
	export MALLCOP_NOW=2026-11-25T12:00:00Z
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
		# nobody cannot enter the bats temporary directory: the deployment lives beside it
		D=$(mktemp -d /tmp/mallcop-state.XXXXXX)
		chmod 755 "$D"
		cd "$D" || return 1
	else
		deployment
	fi
	mkdir -p in apps/acme
	config <<-'EOF2'
	connectors:
	  github: {type: file, paths: [in/*.jsonl]}
	EOF2
	cat > apps/acme/detectors.yaml <<-'EOF2'
	detectors:
	  - name: bob-pushes
	    event_type: push
	    severity: warn
	    condition: {type: regex_match, field: actor, pattern: "^bob"}
	EOF2
	for d in $(seq 5 24); do ev "h$d" "2026-11-$(printf %02d "$d")T10:00:00Z" alice; done > in/a.jsonl
	ev b1 2026-11-25T09:00:00Z bob >> in/a.jsonl
	mallcop scan >/dev/null
	mallcop detect >/dev/null
	FID=$(jq -r 'select(.detector == "bob-pushes") | .id' .mallcop/findings.jsonl)
	mallcop annotate "$FID" "seen by root" >/dev/null
	# new events for the next detect: it has findings to write
	ev b2 2026-11-25T10:00:00Z bobby > in/b.jsonl
	mallcop scan >/dev/null
}

teardown() {
	case "${D:-}" in /tmp/mallcop-state.*) rm -rf "$D" ;; esac
}

# an event: id time actor
ev() {
	printf '{"id":"%s","timestamp":"%s","source":"github","event_type":"push","actor":"%s","action":"push","target":"repo/a","metadata":{}}\n' \
		"$1" "$2" "$3"
}

# FILE (in .mallcop/) left to root with mode 000, the rest of the deployment to nobody; a copy
# of it is kept in $BEFORE to compare with
lock_out() {
	[ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null ||
		skip "needs root to make a file that a user cannot read and to run as that user"
	F=.mallcop/$1
	[ -e "$F" ] || printf '{"kept":"line"}\n' > "$F"
	BEFORE="$BATS_TEST_TMPDIR/before"
	cp -a "$F" "$BEFORE"
	chown -R nobody:nogroup "$D"
	chown root:root "$F"
	chmod 000 "$F"
}

# run a mallcop command as nobody
as_user() {
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups mallcop "$@"
}

# the last run failed with exit 1, named the file and why, and the file is as it was
refused() {
	assert_failure 1
	[[ "$stderr" == *"cannot read '"*"$F': Permission denied"* ]] ||
		{ echo "stderr: $stderr"; false; }
	cmp "$F" "$BEFORE"
	[ "$(stat -c %U:%a "$F")" = root:0 ]
}

@test "detect as a user who cannot read findings.jsonl: exit 1 naming it, the file unchanged" {
	lock_out findings.jsonl
	as_user detect
	refused
	echo "$output" | jq -e '.status == "error" and (.error | contains("findings.jsonl"))'
	as_user detect --human
	refused
	# nothing else moved either: the same detect as root still sees the new event, and adds
	# its findings to those that were kept
	run --separate-stderr mallcop detect
	assert_success
	echo "$output" | jq -e '.events_examined == 1 and .new_findings == 2'
	[ "$(wc -l < "$F")" -eq $(($(wc -l < "$BEFORE") + 2)) ]
	jq -se --arg id "$FID" 'map(select(.id == $id))[0].annotations[-1].content == "seen by root"' "$F"
}

@test "detect where findings.jsonl is a directory: exit 1 naming it, nothing written" {
	mv .mallcop/findings.jsonl "$BATS_TEST_TMPDIR/f"
	mkdir .mallcop/findings.jsonl
	run --separate-stderr mallcop detect
	assert_failure 1
	[[ "$stderr" == *"cannot read '$D/.mallcop/findings.jsonl': Is a directory"* ]]
	[ -d .mallcop/findings.jsonl ] && [ -z "$(ls -A .mallcop/findings.jsonl)" ]
	[ -z "$(ls .mallcop | grep tmp)" ]
}

@test "every reader of findings.jsonl stops with exit 1 naming it: ack, annotate, finding, status, review, report, events, investigate, feedback, escalate" {
	lock_out findings.jsonl
	for cmd in "ack $FID" "annotate $FID note" "finding $FID" status review report \
	    "report --jsonl" "events --finding $FID" "investigate $FID" "feedback $FID agree" \
	    escalate; do
		# shellcheck disable=SC2086
		as_user $cmd
		echo "mallcop $cmd" >&2
		refused
	done
	[ ! -e .mallcop/feedback.jsonl ]
}

@test "a baseline.json a user cannot read: detect, ack, baseline, investigate, feedback stop, the file unchanged" {
	lock_out baseline.json
	for cmd in detect "ack $FID" baseline "investigate $FID" "feedback $FID agree"; do
		# shellcheck disable=SC2086
		as_user $cmd
		echo "mallcop $cmd" >&2
		refused
	done
	jq -se --arg id "$FID" 'map(select(.id == $id))[0].status == "open"' .mallcop/findings.jsonl
}

@test "a checkpoints.yaml a user cannot read: scan stops before any connector runs, the file unchanged" {
	ev b3 2026-11-25T11:00:00Z bob > in/c.jsonl
	n=$(cat .mallcop/events/*.jsonl | wc -l)
	lock_out checkpoints.yaml
	as_user scan
	refused
	[ "$(cat .mallcop/events/*.jsonl | wc -l)" -eq "$n" ]
}

@test "a costs.jsonl a user cannot read: status --costs stops, escalate fails, the file unchanged" {
	mallcop escalate >/dev/null 2>&1 || true
	[ -s .mallcop/costs.jsonl ]
	lock_out costs.jsonl
	as_user status --costs
	refused
	as_user status
	assert_success
	as_user escalate
	assert_failure 1
	[[ "$stderr" == *"cannot open '"*"$F': Permission denied"* ]]
	cmp "$F" "$BEFORE"
}

@test "a feedback.jsonl a user cannot read: feedback stops, the file unchanged" {
	mallcop feedback "$FID" agree >/dev/null
	lock_out feedback.jsonl
	as_user feedback "$FID" override
	refused
}

@test "detect's note (detect.json) a user cannot read: detect stops, the note unchanged" {
	lock_out detect.json
	as_user detect
	refused
	[ "$(stat -c %U "$D/.mallcop/findings.jsonl")" = nobody ]
}

@test "an event file a user cannot read: detect, status and events fail naming it, and detect reads it later" {
	lock_out events/github-2026-11.jsonl
	as_user detect
	assert_failure 1
	[[ "$stderr" == *"cannot read '"*"$F': Permission denied"* ]]
	echo "$output" | jq -e '.status == "error" and .events_examined == 0'
	as_user status
	refused
	as_user events
	refused
	chown nobody "$F"
	chmod 644 "$F"
	as_user detect
	assert_success
	echo "$output" | jq -e '.events_examined == 1 and .new_findings == 2'
}

@test "an events directory a user cannot read: detect, status and events fail naming it" {
	cp .mallcop/findings.jsonl "$BATS_TEST_TMPDIR/findings"
	lock_out events
	for cmd in detect status events "investigate $FID"; do
		# shellcheck disable=SC2086
		as_user $cmd
		echo "mallcop $cmd" >&2
		assert_failure 1
		[[ "$stderr" == *"cannot read '"*"$F': Permission denied"* ]] || { echo "$stderr"; false; }
	done
	[ "$(stat -c %U:%a "$F")" = root:0 ]
	cmp .mallcop/findings.jsonl "$BATS_TEST_TMPDIR/findings"
}

@test "a manifest.json a user cannot read: status stops naming it, scan fails and leaves it as it is" {
	lock_out manifest.json
	as_user status
	refused
	as_user scan
	refused
	echo "$output" | jq -e '.status == "error" and .total_events_ingested == 0'
}

@test "a malformed mallcop.yaml: status, events, review, report and the other readers fail naming the file, line and key" {
	printf 'connectors:\n  github: {type: file\n' > mallcop.yaml
	for cmd in status events review report "finding $FID" "annotate $FID x" "ack $FID" baseline \
	    "investigate $FID" "feedback $FID agree"; do
		# shellcheck disable=SC2086
		run --separate-stderr mallcop $cmd
		echo "mallcop $cmd" >&2
		assert_failure 1
		[[ "$stderr" == *"mallcop.yaml:"[0-9]* ]] || { echo "$stderr"; false; }
	done
	printf 'connectors: [github]\n' > mallcop.yaml
	for cmd in status events review report; do
		run --separate-stderr mallcop $cmd
		assert_failure 1
		assert_equal "$stderr" "mallcop-$cmd: ./mallcop.yaml:1: connectors: expected a mapping of connector names (see mallcop.yaml(5))"
		echo "$output" | jq -e '.status == "error"'
	done
	printf 'connectors: {}\nbaseline:\n  window_days: 0\n' > mallcop.yaml
	for cmd in status events review report; do
		run --separate-stderr mallcop $cmd --human
		assert_failure 1
		assert_equal "$stderr" "mallcop-$cmd: ./mallcop.yaml:3: baseline.window_days: expected a whole number from 1 to 3650"
		assert_equal "$output" ""
	done
	# without any mallcop.yaml they still read the store
	rm mallcop.yaml
	for cmd in status events review report; do
		run --separate-stderr mallcop $cmd
		assert_success
	done
}

@test "watch, what cron runs, as a user who cannot read findings.jsonl: exit 1, the file unchanged" {
	lock_out findings.jsonl
	as_user watch
	assert_failure 1
	echo "$output" | jq -e --arg f "$D/$F" '.status == "error" and
		.detect.error == "cannot read \u0027\($f)\u0027: Permission denied" and .escalate.skipped'
	cmp "$F" "$BEFORE"
	[ "$(stat -c %U:%a "$F")" = root:0 ]
}
