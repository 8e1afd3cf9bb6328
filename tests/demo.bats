#!/usr/bin/env bats
# make demo: the bundled deployment scanned, with the planted incident visible

load helper

# the events mallcop-connector-SOURCE prints for its recorded fixtures (tests/fixtures), served
# by the mock: connector_output SOURCE
connector_output() {
	local src=$1 F="$TOP/tests/fixtures"
	case $src in
	github)
		mock_start < <(jq -nc --slurpfile a "$F/github/page1.json" --slurpfile b "$F/github/page2.json" \
			'[{path: "/orgs/acme-corp/audit-log", query: "after=Y3Vyc29yMg", status: 200, body: $b[0]},
			  {path: "/orgs/acme-corp/audit-log", status: 200, body: $a[0],
			   headers: {Link: "<http://127.0.0.1:{port}/orgs/acme-corp/audit-log?per_page=100&after=Y3Vyc29yMg>; rel=\"next\""}}]')
		GITHUB_TOKEN=ghp_test MALLCOP_CONNECTOR_CONFIG="{\"org\":\"acme-corp\",\"base_url\":\"http://127.0.0.1:$PORT\",\"include\":\"all\"}" \
			"$MALLCOP_EXEC_PATH/mallcop-connector-github" --since 2026-11-04T00:00:00Z 2>/dev/null
		;;
	aws-cloudtrail)
		mock_start < <(jq -nc --slurpfile a "$F/aws/page1.json" --slurpfile b "$F/aws/page2.json" \
			'[{method: "POST", path: "/", status: 200, times: 1, body: $a[0]}, {method: "POST", path: "/", status: 200, body: $b[0]}]')
		AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
			MALLCOP_CONNECTOR_CONFIG="{\"endpoint\":\"http://127.0.0.1:$PORT\"}" \
			"$MALLCOP_EXEC_PATH/mallcop-connector-aws-cloudtrail" --since 2026-11-05T00:00:00Z 2>/dev/null
		;;
	azure)
		local t=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d s=3f2a6c1e-8b4d-4e0a-9c7f-1d2e3f4a5b6c
		mock_start < <(jq -nc --arg t "$t" --arg s "$s" --slurpfile k "$F/azure/token.json" \
			--slurpfile a "$F/azure/page1.json" --slurpfile b "$F/azure/page2.json" \
			'[{method: "POST", path: "/\($t)/oauth2/v2.0/token", status: 200, body: $k[0]},
			  {path: "/subscriptions/\($s)/providers/*", query: "skiptoken=page2token", status: 200, body: $b[0]},
			  {path: "/subscriptions/\($s)/providers/*", status: 200, body: $a[0]}]')
		AZURE_TENANT_ID=$t AZURE_CLIENT_ID=c AZURE_CLIENT_SECRET=s MALLCOP_NOW=2026-11-05T00:00:00Z \
			MALLCOP_CONNECTOR_CONFIG="{\"subscription_ids\":[\"$s\"],\"base_url\":\"http://127.0.0.1:$PORT\",\"login_url\":\"http://127.0.0.1:$PORT\"}" \
			"$MALLCOP_EXEC_PATH/mallcop-connector-azure" --since 2026-11-04T00:00:00Z 2>/dev/null
		;;
	m365)
		local t=4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d feed
		feed=/api/v1.0/$t/activity/feed
		mock_start < <(
			r() { jq -cn --arg m "$1" --arg p "$2" --slurpfile b "$F/m365/$3.json" --arg q "${4:-}" --arg n "${5:-}" \
				'{method: $m, path: $p, status: 200, body: $b[0]} + (if $q != "" then {query: $q} else {} end) + (if $n != "" then {times: ($n | tonumber)} else {} end)'; }
			{
				r POST "/$t/oauth2/v2.0/token" token
				r POST "$feed/subscriptions/start" subscription_start
				for pair in content_aad_page1:Audit.AzureActiveDirectory content_exchange:Audit.Exchange \
					content_sharepoint:Audit.SharePoint content_general:Audit.General; do
					r GET "$feed/subscriptions/content" "${pair%%:*}" "contentType=${pair#*:}" 1
				done
				r GET "$feed/subscriptions/content" content_empty
				for list in content_aad_page1 content_exchange content_sharepoint content_general; do
					case $list in
					content_aad_page1) set -- audit_aad_1 audit_aad_2 ;;
					content_exchange) set -- audit_exchange ;;
					content_sharepoint) set -- audit_sharepoint ;;
					content_general) set -- audit_general ;;
					esac
					for id in $(jq -r '.[].contentId' "$F/m365/$list.json"); do
						r GET "$feed/audit/$id" "$1"
						shift
					done
				done
			} | jq -sc .)
		M365_TENANT_ID=$t M365_CLIENT_ID=c M365_CLIENT_SECRET=s MALLCOP_NOW=2026-11-05T12:00:00Z \
			MALLCOP_CONNECTOR_CONFIG="{\"base_url\":\"http://127.0.0.1:$PORT\",\"login_url\":\"http://127.0.0.1:$PORT\"}" \
			"$MALLCOP_EXEC_PATH/mallcop-connector-m365" --since 2026-11-05T00:00:00Z 2>/dev/null
		;;
	esac
	mock_stop
}

# the demo's SOURCE events against the connector's: every event type is one the connector
# gives, every metadata key one it writes, and what it writes for every event of a type the
# demo writes too: same_fields SOURCE
same_fields() {
	export MALLCOP_HTTP_FAST=1
	connector_output "$1" > conn.jsonl
	[ -s conn.jsonl ]
	python3 "$TOP/share/mallcop/demo/generate" --out demo >/dev/null 2>&1
	jq -n --slurpfile c conn.jsonl --slurpfile d "demo/$1.jsonl" '
		def types(x): x | map(.event_type) | unique;
		def always(x; t): [x[] | select(.event_type == t) | .metadata | keys]
			| reduce .[1:][] as $k (.[0]; . - (. - $k));
		($c | map(.metadata | keys) | add | unique) as $keys
		| (types($d) - types($c)) as $types
		| ([$d[] | .metadata | keys[]] | unique | . - $keys) as $extra
		| [types($d)[] as $t | select(types($c) | index($t)) | {($t): (always($c; $t) - always($d; $t))}
			| select(.[] | length > 0)] as $missing
		| {types_the_connector_never_gives: $types, keys_it_never_writes: $extra,
		   keys_it_always_writes_missing: $missing}' > diff.json
	cat diff.json
	jq -e '.types_the_connector_never_gives == [] and .keys_it_never_writes == [] and .keys_it_always_writes_missing == []' diff.json
}

@test "the demo scans every event of the four sources and shows the incident" {
	TMPDIR="$BATS_TEST_TMPDIR" run sh "$TOP/share/mallcop/demo/run"
	assert_success
	assert_output --partial '"status": "ok"'
	assert_output --partial "Events by source:"
	for s in github aws-cloudtrail azure m365 openclaw; do
		assert_output --regexp "  $s: [0-9]+"
	done
	# the incident of the last two days is inside the 72-hour window
	assert_output --partial "x-contractor-77"
	assert_output --regexp "m365 +sign_in_failure +erin@acme-corp.dev"
	assert_output --regexp "azure +role_assignment +dave@acme-corp.dev"
	# the escape sequence in a user agent never reaches the terminal raw
	{ ! printf '%s' "$output" | grep -q $'\033\\['; } || false
	# the deployment is acme/, the recorded feed beside it in feed/
	dir=$(ls -d "$BATS_TEST_TMPDIR"/mallcop-demo.*)
	assert_output --partial "The deployment stays in $dir/acme:"
	# and then how to connect a real cloud
	assert_output --partial "Connect your real cloud"
	assert_output --partial "mallcop init --human"
	# and the OpenClaw home's three skills and its configuration
	total=$(( $(cat "$dir"/feed/*.jsonl | wc -l) + 4 ))
	run mallcop --dir "$dir/acme" status
	echo "$output" | jq -e ".total_events == $total and .connectors.demo.status == \"ok\" and .connectors.openclaw.status == \"ok\""
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

@test "the demo's m365 events are what mallcop-connector-m365 gives: event types and metadata keys" {
	deployment
	same_fields m365
	# the failures of the incident are sign-in failures with the connector's address keys
	jq -se 'map(select(.event_type == "sign_in_failure" and .actor == "erin@acme-corp.dev")) | length >= 25 and all(.[]; .metadata.ip_address and .metadata.ip)' demo/m365.jsonl
}

@test "the demo's github events are what mallcop-connector-github gives: event types and metadata keys" {
	deployment
	same_fields github
}

@test "the demo's aws-cloudtrail events are what mallcop-connector-aws-cloudtrail gives: event types and metadata keys" {
	deployment
	same_fields aws-cloudtrail
}

@test "the demo's azure events are what mallcop-connector-azure gives: event types and metadata keys" {
	deployment
	same_fields azure
}
