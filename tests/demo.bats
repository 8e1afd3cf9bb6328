#!/usr/bin/env bats
# make demo: the bundled deployment scanned, with the planted incident visible

load helper

@test "the demo scans every event of the four sources and shows the incident" {
	TMPDIR="$BATS_TEST_TMPDIR" run sh "$TOP/share/mallcop/demo/run"
	assert_success
	assert_output --partial '"status": "ok"'
	assert_output --partial "Events by source:"
	for s in github aws-cloudtrail azure m365; do
		assert_output --regexp "  $s: [0-9]+"
	done
	# the incident of the last two days is inside the 72-hour window
	assert_output --partial "x-contractor-77"
	assert_output --regexp "m365 +login_failure +erin@acme-corp.dev"
	assert_output --regexp "azure +role_assignment +dave@acme-corp.dev"
	# the escape sequence in a user agent never reaches the terminal raw
	{ ! printf '%s' "$output" | grep -q $'\033\\['; } || false
	dir=$(ls -d "$BATS_TEST_TMPDIR"/mallcop-demo.*)
	total=$(cat "$dir"/events/*.jsonl | wc -l)
	run mallcop --dir "$dir" status
	echo "$output" | jq -e ".total_events == $total and .connectors.demo.status == \"ok\""
}

@test "the demo data is regenerated the same way from its script" {
	python3 "$TOP/share/mallcop/demo/generate" --out "$BATS_TEST_TMPDIR/ev" >/dev/null 2>&1
	for f in "$TOP"/share/mallcop/demo/events/*.jsonl; do
		cmp "$f" "$BATS_TEST_TMPDIR/ev/$(basename "$f")"
	done
}
