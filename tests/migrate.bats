#!/usr/bin/env bats
# moving from the earlier (Python, 0.5.x) mallcop: its mallcop.yaml scans as before, its store
# is taken over by the first detect without raising again what it had found

load helper

FIX="$BATS_TEST_DIRNAME/fixtures"

setup() {
	deployment
	export MALLCOP_HTTP_FAST=1
	unset MALLCOP_CONNECTOR_CONFIG GITHUB_APP_ID GITHUB_ORG AWS_SESSION_TOKEN AWS_PROFILE \
		AWS_DEFAULT_REGION AWS_REGION GITHUB_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	MOCK_PID=
}

teardown() {
	mock_stop
}

# the parts of an earlier mallcop.yaml that are not connectors, as its init wrote them
python_rest() {
	cat <<-'EOF'
	routing:
	  info: null
	  warn: {chain: [triage], notify: [notify-teams]}
	  critical: triage
	actor_chain: {triage: {routes_to: notify-teams}, notify-teams: {routes_to: null}}
	budget: {max_findings_for_actors: 25, max_tokens_per_run: 50000, max_tokens_per_finding: 5000}
	baseline: {window_days: 30}
	squelch: 5
	EOF
}

@test "an earlier mallcop.yaml naming no GitHub credential scans with GITHUB_TOKEN, and only that connector gets it" {
	AUDIT=/orgs/acme-corp/audit-log
	mock_start < <(printf '[{"path":"%s","status":200,"body":%s}]\n' "$AUDIT" "$(jq -c . "$FIX/github/page1.json")")
	export GITHUB_TOKEN=ghp_PLANTEDsecretTOKEN0123456789abcdefghij SECRET_NOT_NAMED=hunter2
	mkdir -p plugins/connectors/envdump
	printf 'name: envdump\n' > plugins/connectors/envdump/manifest.yaml
	printf '#!/bin/sh\nenv | sort > env.out\n' > plugins/connectors/envdump/connector
	chmod +x plugins/connectors/envdump/connector
	{
		printf 'secrets: {backend: env}\nconnectors:\n'
		printf '  github: {org: acme-corp, installation_id: 12345, base_url: "http://127.0.0.1:%s"}\n' "$PORT"
		printf '  envdump: {}\n'
		python_rest
	} | config
	MALLCOP_NOW=2026-11-05T00:00:00Z run --separate-stderr mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -gt 0 ]
	jq -e '.connectors.github.status == "ok"' <<< "$output"
	# the token was sent to GitHub, and reached no other connector
	jq -se 'all(.[]; .headers.authorization == "Bearer ghp_PLANTEDsecretTOKEN0123456789abcdefghij")' "$LOG"
	{ ! grep -q -e GITHUB_TOKEN -e SECRET_NOT_NAMED env.out; } || false
}

@test "a connector whose configuration names its credentials gets those, not the defaults" {
	mock_start < <(printf '[]\n')
	export GITHUB_TOKEN=ghp_x GITHUB_APP_ID=7 NAMED=ok
	mkdir -p bin
	printf '#!/bin/sh\nenv | sort > env.out\n' > bin/mallcop-connector-github
	chmod +x bin/mallcop-connector-github
	config <<-'EOF'
	connectors:
	  github: {org: acme-corp, token: "${GITHUB_TOKEN}", env: [NAMED]}
	EOF
	MALLCOP_EXEC_PATH="$D/bin" run mallcop scan
	assert_success
	grep -q '^GITHUB_TOKEN=ghp_x$' env.out
	grep -q '^NAMED=ok$' env.out
	{ ! grep -q GITHUB_APP_ID env.out; } || false
}

@test "an earlier aws-cloudtrail section with only region scans with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" {
	SECRET=wJalrXUtnFEMI/K7MDENG/PLANTEDsecretKEY0123
	export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=$SECRET AWS_SHARED_CREDENTIALS_FILE=/nonexistent
	mock_start < <(printf '[{"method":"POST","path":"/","status":200,"body":%s,"sigv4":{"secret":"%s"}}]\n' "$(jq -c . "$FIX/aws/page2.json")" "$SECRET")
	{
		printf 'secrets: {backend: env}\nconnectors:\n'
		printf '  aws-cloudtrail: {region: us-east-1, account_id: "123456789012", endpoint: "http://127.0.0.1:%s"}\n' "$PORT"
		python_rest
	} | config
	MALLCOP_NOW=2026-11-06T00:00:00Z run --separate-stderr mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -gt 0 ]
	jq -se 'all(.[]; .sigv4 == "ok")' "$LOG"
	{ ! grep -rqF "$SECRET" .mallcop mallcop.yaml; } || false
}

# the store the earlier mallcop left (tests/fixtures/python-store, see its generate.py), its
# mallcop.yaml, and what our first scan added since: a usual push of alice, the same outside
# collaborator granted again, and a push by an actor never seen
python_store() {
	cp -r "$FIX/python-store/.mallcop" "$D/"
	{
		printf 'secrets: {backend: env}\nconnectors:\n'
		printf '  github: {org: acme-corp, installation_id: 12345}\n'
		printf '  azure: {subscription_ids: [00000000-0000-0000-0000-000000000001]}\n'
		python_rest
	} | config
	local at=2026-03-20T08:00:00Z
	{
		jq -nc --arg at $at '{id:"evt_0000000000000000new1",timestamp:"2026-03-20T09:30:00Z",ingested_at:$at,source:"github",event_type:"push",actor:"alice",action:"git.push",target:"acme-corp/web-app",severity:"info",metadata:{org:"acme-corp",repo:"acme-corp/web-app"},raw:{}}'
		jq -nc --arg at $at '{id:"evt_0000000000000000new2",timestamp:"2026-03-20T10:00:00Z",ingested_at:$at,source:"github",event_type:"collaborator_added",actor:"alice",action:"org.add_outside_collaborator",target:"contractor-zed",severity:"warn",metadata:{org:"acme-corp",user:"contractor-zed",member_type:"outside"},raw:{}}'
		jq -nc --arg at $at '{id:"evt_0000000000000000new3",timestamp:"2026-03-20T10:30:00Z",ingested_at:$at,source:"github",event_type:"push",actor:"eve",action:"git.push",target:"acme-corp/web-app",severity:"info",metadata:{org:"acme-corp",repo:"acme-corp/web-app"},raw:{}}'
	} >> .mallcop/events/github-2026-03.jsonl
	export MALLCOP_NOW=2026-03-20T12:00:00Z
}

@test "the first detect over an earlier store raises again nothing it had found, and keeps every finding" {
	python_store
	old=$(jq -sc 'map({id, status, annotations: (.annotations | length)})' .mallcop/findings.jsonl)
	run --separate-stderr mallcop detect
	assert_success
	# one new finding: the actor never seen; the grant again joined the open finding of it
	jq -e '.new_findings == 1 and .updated_findings == 1 and .summary == {"new-actor":{"warn":1},"new-external-access":{"warn":1}}' <<< "$output"
	# what it had stored was learned, not judged again; our three events were judged
	stored=$(cat "$FIX"/python-store/.mallcop/events/*.jsonl | wc -l)
	jq -e --argjson n "$stored" '.taken_over.events_learned == $n and .taken_over.findings_fingerprinted >= 3 and .events_examined == 3' <<< "$output"
	jq -se 'length == 6' .mallcop/findings.jsonl
	jq -se 'map(select(.detector == "new-actor")) | map(.metadata.actor) | sort == ["eve","mallory"]' .mallcop/findings.jsonl
	jq -se 'map(select(.detector == "unusual-timing")) | map(.id) == ["fnd_e5f6a7b8"]' .mallcop/findings.jsonl
	jq -se 'map(select(.id == "fnd_b2c3d4e5"))[0] | .status == "open" and .fingerprint == "collaborator_added:contractor-zed:alice" and (.event_ids | length == 2 and .[1] == "evt_0000000000000000new2")' .mallcop/findings.jsonl
	# nothing lost: every earlier finding, its status and its annotations, markers gone
	jq -se --argjson old "$old" '[.[] | select(.id | startswith("fnd_") and length == 12) | {id, status, annotations: (.annotations | length)}] == $old' .mallcop/findings.jsonl
	jq -se 'map(select(.id == "fnd_c3d4e5f6"))[0] | .status == "acked" and .annotations[1].content == "Finding acknowledged by interactive: planned change" and .title == "Privilege escalation: alice granted admin_action on github"' .mallcop/findings.jsonl
	! grep -q USER_DATA .mallcop/findings.jsonl
	# a second detect finds nothing more
	run --separate-stderr mallcop detect
	assert_success
	jq -e '.new_findings == 0 and .updated_findings == 0 and (has("taken_over") | not)' <<< "$output"
}

@test "the earlier baseline is taken over: known actors, their hours, roles and learning state" {
	python_store
	mallcop detect >/dev/null
	run --separate-stderr mallcop baseline --actor alice
	assert_success
	# weekdays 8-12 and the Saturdays 12-16 (UTC): her hours, from the days, so they slide
	jq -e '.known == true and .hours["5:12"] == 2 and .hours["0:8"] >= 4 and (.roles | index("admin_action"))' <<< "$output"
	run --separate-stderr mallcop baseline
	jq -e '.sources.github.learning == false and .sources.github.first_seen == "2026-02-02T09:30:00Z" and .sources.azure.learning == false' <<< "$output"
	jq -e '.known_actor_count == 4' <<< "$output"
	# a finding acknowledged in the earlier store stays acknowledged: its behaviour is not raised again
	jq -e '.detector_state.acked | keys | map(select(startswith("priv-escalation"))) | length == 1' .mallcop/baseline.json
}
