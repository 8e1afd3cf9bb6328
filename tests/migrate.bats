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
