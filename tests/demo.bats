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
	# the deployment is acme/, the recorded feed beside it in feed/
	dir=$(ls -d "$BATS_TEST_TMPDIR"/mallcop-demo.*)
	assert_output --partial "The deployment stays in $dir/acme:"
	# and then how to connect a real cloud
	assert_output --partial "Connect your real cloud"
	assert_output --partial "mallcop init --human"
	total=$(cat "$dir"/feed/*.jsonl | wc -l)
	run mallcop --dir "$dir/acme" status
	echo "$output" | jq -e ".total_events == $total and .connectors.demo.status == \"ok\""
}

@test "the demo's detect lists the incident's findings and nothing else above info" {
	TMPDIR="$BATS_TEST_TMPDIR" run sh "$TOP/share/mallcop/demo/run"
	assert_success
	# what mallcop detect --human printed: the critical and warn findings, then the info count
	detect=$(printf '%s\n' "$output" | sed -n '/^\$ mallcop detect --human$/,$p')
	listed=$(printf '%s\n' "$detect" | grep -E '^  (critical|warn) ') || true
	printf '%s\n' "$listed"
	# every one is about the incident: its accounts, addresses, principal, repository, probe
	stray=$(printf '%s\n' "$listed" | grep -v -F -e x-contractor-77 -e 185.220.101.47 \
		-e erin@acme-corp.dev -e dave@acme-corp.dev -e azure-backup-connector -e billing-api \
		-e "Injection probe") || true
	[ -z "$stray" ] || { printf 'not the incident:\n%s\n' "$stray"; false; }
	# and the incident is all there
	printf '%s\n' "$listed" | grep -E '^  critical +priv-escalation .* granted Owner '
	printf '%s\n' "$listed" | grep -E '^  (critical|warn) +auth-failure-burst '
	printf '%s\n' "$listed" | grep -E '^  (critical|warn) +new-actor .*x-contractor-77'
	printf '%s\n' "$listed" | grep -E '^  (critical|warn) +injection-probe '
}

@test "the demo's watch delivers the incident to the local channel as one digest, untriaged without an LLM" {
	TMPDIR="$BATS_TEST_TMPDIR" run sh "$TOP/share/mallcop/demo/run"
	assert_success
	assert_output --partial "watch: ok"
	dir=$(ls -d "$BATS_TEST_TMPDIR"/mallcop-demo.*)
	inbox="$dir/acme/inbox.jsonl"
	[ "$(wc -l < "$inbox")" -eq 1 ]
	jq -e '.kind == "digest" and (.note | contains("not triaged"))' "$inbox"
	jq -e 'any(.findings[]; .detector == "priv-escalation" and (.title | contains("Owner")))' "$inbox"
	jq -e 'any(.findings[]; .title | contains("x-contractor-77"))' "$inbox"
	jq -e 'all(.findings[]; .severity == "critical" or .severity == "warn")' "$inbox"
	# each finding's trail says it was delivered; a second watch sends nothing
	run mallcop --dir "$dir/acme" watch
	assert_success
	jq -e '.escalate.delivered == 0' <<< "$output"
	[ "$(wc -l < "$inbox")" -eq 1 ]
}

@test "the demo data is regenerated the same way from its script" {
	python3 "$TOP/share/mallcop/demo/generate" --out "$BATS_TEST_TMPDIR/ev" >/dev/null 2>&1
	for f in "$TOP"/share/mallcop/demo/events/*.jsonl; do
		cmp "$f" "$BATS_TEST_TMPDIR/ev/$(basename "$f")"
	done
}
