#!/usr/bin/env bats
# mallcop init: what the environment has, sampled against mock services, written to mallcop.yaml
# that mallcop scan then uses unchanged; never a secret in a file, never an overwrite

load helper

GH_TOKEN=ghp_PLANTEDinitTOKEN0123456789abcdefghijk
AWS_SECRET=wJalrXUtnFEMI/K7MDENG/PLANTEDinitSECRET01
GHFIX="$BATS_TEST_DIRNAME/fixtures/github"
AWSFIX="$BATS_TEST_DIRNAME/fixtures/aws"

setup() {
	deployment
	# only what this test sets: no credentials of the machine running it
	unset $(env | sed -n 's/^\(\(AWS\|AZURE\|GITHUB\|M365\|ENTRA\|SLACK\|TEAMS\|MALLCOP_WEBHOOK\|VERCEL\|SUPABASE\)[A-Z0-9_]*\)=.*/\1/p')
	export MALLCOP_HTTP_FAST=1
	# no OpenClaw home of the machine running the tests
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	MOCK_PID=
}

teardown() {
	mock_stop
}

# one mock answering as GitHub (the audit log) and as CloudTrail (LookupEvents, signed)
mock_two() {
	mock_start < <(printf '[{"path":"/orgs/acme-corp/audit-log","status":%s,"body":%s},
		{"method":"POST","path":"/","status":200,"body":%s,"sigv4":{"secret":"%s"}}]\n' \
		"${GH_STATUS:-200}" "${GH_JSON:-$(jq -c . "$GHFIX/${GH_BODY:-page1}.json")}" \
		"$(jq -c . "$AWSFIX/page2.json")" "$AWS_SECRET")
	export GITHUB_TOKEN=$GH_TOKEN GITHUB_ORG=acme-corp GITHUB_API_URL=http://127.0.0.1:$PORT
	export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=$AWS_SECRET AWS_REGION=eu-west-1
	export AWS_ENDPOINT_URL_CLOUDTRAIL=http://127.0.0.1:$PORT AWS_SHARED_CREDENTIALS_FILE=/nonexistent
}

no_secret() {
	! grep -rqF -e "$GH_TOKEN" -e "$AWS_SECRET" "$@"
}

@test "two sources against the mocks: sampled, not stored, written as \${VAR} references; scan then works unchanged" {
	mock_two
	# one clock for init and the connector it starts: a second boundary between them is not a longer day
	export MALLCOP_NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	run --separate-stderr mallcop init
	assert_success
	printf '%s\n' "$output" > out.json
	jq -e '.status == "ok" and .config_path == "./mallcop.yaml"' out.json
	jq -e '[.connectors[] | {(.name): .available}] | add == {"aws-cloudtrail": true, "azure": false, "github": true, "m365": false, "supabase": false, "vercel": false, "openclaw": false}' out.json
	jq -e '(.connectors[] | select(.name == "github") | .sample_events) == 8' out.json
	jq -e '(.connectors[] | select(.name == "aws-cloudtrail") | .sample_events == 5 and .resources == ["eu-west-1"])' out.json
	jq -e '(.connectors[] | select(.name == "azure") | .missing_credentials) == ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"]' out.json
	jq -e '.required_secrets == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "SLACK_WEBHOOK_URL"]' out.json
	jq -e '.cost_estimate.connectors_active == 2 and .cost_estimate.sample_events == 13' out.json
	# the sample asked for the last day only, and the signature was right
	jq -se 'map(select(.method == "POST")) | length == 1 and (.[0].sigv4 == "ok") and ((.[0].body | fromjson | .EndTime - .StartTime) == 86400)' "$LOG"
	# nothing stored, no checkpoint
	[ ! -e .mallcop/events ] && [ ! -e .mallcop/checkpoints.yaml ]
	grep -q 'token: ${GITHUB_TOKEN}' mallcop.yaml
	grep -q 'secret_access_key: ${AWS_SECRET_ACCESS_KEY}' mallcop.yaml
	grep -q "base_url: \"http://127.0.0.1:$PORT\"" mallcop.yaml
	grep -q 'notify: \["notify-slack"\]\|"notify":\["notify-slack"\]' mallcop.yaml
	no_secret mallcop.yaml out.json
	[[ "$stderr" != *"$GH_TOKEN"* && "$stderr" != *"$AWS_SECRET"* ]]

	run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 13 ]
	[ "$(cat .mallcop/events/*.jsonl | jq -r .source | sort -u | paste -sd,)" = aws-cloudtrail,github ]
	no_secret .mallcop mallcop.yaml
}

@test "a second init without --force refuses and changes nothing; with --force the old file is kept as .bak" {
	mock_two
	run mallcop init
	assert_success
	cp mallcop.yaml before.yaml
	printf '# my own notes\n' >> mallcop.yaml
	cp mallcop.yaml edited.yaml
	n=$(wc -l < "$LOG")
	run --separate-stderr mallcop init
	assert_failure 1
	[[ "$stderr" == *"'./mallcop.yaml' exists: mallcop init changed nothing"*--force* ]]
	jq -e '.status == "error"' <<< "$output"
	cmp mallcop.yaml edited.yaml
	[ "$(wc -l < "$LOG")" -eq "$n" ]
	[ ! -e mallcop.yaml.bak ]
	run mallcop init --force
	assert_success
	cmp mallcop.yaml.bak edited.yaml
	grep -q 'token: ${GITHUB_TOKEN}' mallcop.yaml
}

@test "a source the service refuses is reported with why and left out; the others are written" {
	GH_STATUS=401 GH_JSON='{"message":"Bad credentials"}' mock_two
	run --separate-stderr mallcop init --human
	assert_success
	[[ "$output" == *"github           failed"*GITHUB_TOKEN*"HTTP 401: Bad credentials"* ]]
	[[ "$output" == *"aws-cloudtrail   ok"*"5 events in the last 24 hours"* ]]
	[[ "$output" == *"azure            missing"*"set: AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET"* ]]
	[[ "$output" == *"SLACK_WEBHOOK_URL   (not set here)"* ]]
	[[ "$output" == *"next: mallcop scan"* ]]
	grep -q 'aws-cloudtrail:' mallcop.yaml
	{ ! grep -q 'github:' mallcop.yaml; } || false
	no_secret mallcop.yaml
	[[ "$output$stderr" != *"$GH_TOKEN"* ]]
}

@test "nothing to watch: exit 1, what to set for each source, no file" {
	run --separate-stderr mallcop init
	assert_failure 1
	jq -e '.status == "error" and (.connectors | length == 7) and all(.connectors[]; .available == false) and
		all(.connectors[] | select(.name != "openclaw"); (.missing_credentials | length) > 0)' <<< "$output"
	jq -e '.connectors[] | select(.name == "github") | .missing_credentials == ["GITHUB_TOKEN", "GITHUB_ORG"]' <<< "$output"
	jq -e '.connectors[] | select(.name == "openclaw") | .found == false and (.notes[0] | startswith("no OpenClaw home at "))' <<< "$output"
	run --separate-stderr mallcop init --human
	[[ "$output" == *"openclaw         not found"*"no OpenClaw home at $HOME/.openclaw"* ]]
	[[ "$stderr" == *"mallcop.yaml not written"* ]]
	[ ! -e mallcop.yaml ]
}

@test "the names the connectors read: ENTRA_* for Microsoft 365, an app for GitHub, a channel from the environment" {
	export ENTRA_TENANT_ID=contoso.onmicrosoft.com ENTRA_CLIENT_ID=app-1 ENTRA_CLIENT_SECRET=PLANTEDentraSECRET
	export GITHUB_APP_ID=12345 GITHUB_APP_PRIVATE_KEY_FILE=/keys/app.pem GITHUB_INSTALLATION_ID=77 GITHUB_ORG=acme-corp
	export TEAMS_WEBHOOK_URL=https://example.webhook.office.com/x
	run --separate-stderr mallcop init --no-sample
	assert_success
	grep -q 'client_secret: ${ENTRA_CLIENT_SECRET}' mallcop.yaml
	grep -q 'app_id: ${GITHUB_APP_ID}' mallcop.yaml
	grep -q 'private_key: ${GITHUB_APP_PRIVATE_KEY_FILE}' mallcop.yaml
	grep -q 'installation_id: ${GITHUB_INSTALLATION_ID}' mallcop.yaml
	grep -q 'webhook_url: ${TEAMS_WEBHOOK_URL}' mallcop.yaml
	jq -e '.notify == "notify-teams" and (.required_secrets | index("ENTRA_CLIENT_SECRET") != null) and (.required_secrets[-1] == "TEAMS_WEBHOOK_URL")' <<< "$output"
	{ ! grep -qF -e PLANTEDentraSECRET -e example.webhook mallcop.yaml; } || false
}

@test "the cost estimate's ranges never run backwards, for any sample size" {
	for body in empty page1; do
		mock_stop
		GH_BODY=$body mock_two
		run mallcop init --force
		assert_success
		jq -e '.cost_estimate | [.estimated_events_per_run, .estimated_findings_per_run, .estimated_donuts_per_run, .estimated_cost_per_run_usd, .estimated_cost_per_month_usd] | all(split("-") | (.[0] | tonumber) <= (.[1] | tonumber))' <<< "$output"
	done
	jq -e '.cost_estimate.estimated_events_per_run == "13-65" and .cost_estimate.estimated_findings_per_run == "1-6" and .cost_estimate.estimated_donuts_per_run == "5-90" and .cost_estimate.worst_case_cost_per_month_usd == "84.000"' <<< "$output"
}

@test "--pro is not there yet and says so; bad options are usage errors" {
	run --separate-stderr mallcop init --pro
	assert_failure 1
	[[ "$stderr" == *"--pro: Pro accounts are not available"* ]]
	[ ! -e mallcop.yaml ]
	run --separate-stderr mallcop init --timeout 0
	assert_failure 2
	run --separate-stderr mallcop init extra
	assert_failure 2
}

@test "Azure and Microsoft 365 against the mocks: subscriptions discovered, both sampled, scan works unchanged" {
	local tenant=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d sub=3f2a6c1e-8b4d-4e0a-9c7f-1d2e3f4a5b6c
	local secret='PLANTED~initAzure.0123456789' m365secret='PLANTED~initM365.9876543210'
	local feed=/api/v1.0/$tenant/activity/feed
	mock_start < <(jq -cn --arg t "$tenant" --arg s "$sub" --arg feed "$feed" \
		--slurpfile tok "$BATS_TEST_DIRNAME/fixtures/azure/token.json" \
		--slurpfile page "$BATS_TEST_DIRNAME/fixtures/azure/page2.json" '[
		{method: "POST", path: "/\($t)/oauth2/v2.0/token", status: 200, body: $tok[0]},
		{path: "/subscriptions", query: "api-version=2022-12-01", status: 200,
		 body: {value: [{id: "/subscriptions/\($s)", subscriptionId: $s, displayName: "Acme Production", state: "Enabled"}]}},
		{path: "/subscriptions/\($s)/providers/*", status: 200, body: $page[0]},
		{method: "POST", path: "\($feed)/subscriptions/start", status: 200,
		 body: {contentType: "Audit.AzureActiveDirectory", status: "enabled", webhook: null}},
		{path: "\($feed)/subscriptions/content", status: 200, body: []}]')
	export MALLCOP_NOW=2026-11-04T12:00:00Z
	export AZURE_TENANT_ID=$tenant AZURE_CLIENT_ID=app-azure AZURE_CLIENT_SECRET=$secret
	export M365_TENANT_ID=$tenant M365_CLIENT_ID=app-m365 M365_CLIENT_SECRET=$m365secret
	export AZURE_AUTHORITY_HOST=http://127.0.0.1:$PORT AZURE_RESOURCE_MANAGER_URL=http://127.0.0.1:$PORT
	export M365_MANAGEMENT_URL=http://127.0.0.1:$PORT
	run --separate-stderr mallcop init
	assert_success
	jq -e '[.connectors[] | select(.available) | .name] == ["azure", "m365"]' <<< "$output"
	jq -e --arg s "$sub" '.connectors[] | select(.name == "azure") | .resources == [$s] and (.notes[0] | contains("Acme Production")) and .sample_events == 4' <<< "$output"
	jq -e '.connectors[] | select(.name == "m365") | .sample_events == 0' <<< "$output"
	jq -e '.required_secrets == ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "M365_TENANT_ID", "M365_CLIENT_ID", "M365_CLIENT_SECRET", "SLACK_WEBHOOK_URL"]' <<< "$output"
	grep -q "subscription_ids: \[\"$sub\"\]" mallcop.yaml
	grep -q 'client_secret: ${AZURE_CLIENT_SECRET}' mallcop.yaml
	# the token requests carried the secrets; nothing we wrote or printed does
	jq -se 'map(select(.method == "POST" and (.path | endswith("/token")))) | length >= 2' "$LOG"
	{ ! grep -rqF -e "$secret" -e "$m365secret" mallcop.yaml; } || false
	[[ "$output$stderr" != *PLANTED* ]]
	run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 4 ]
	grep -q '^azure:' .mallcop/checkpoints.yaml
	grep -q '^m365:' .mallcop/checkpoints.yaml
	{ ! grep -rqF -e "$secret" -e "$m365secret" .mallcop; } || false
}

@test "services that echo the request back: no credential in init's output" {
	mock_start < <(printf '[{"path":"/orgs/acme-corp/audit-log","status":400,"echo":true},{"method":"POST","path":"/","status":400,"echo":true}]\n')
	export GITHUB_TOKEN=$GH_TOKEN GITHUB_ORG=acme-corp GITHUB_API_URL=http://127.0.0.1:$PORT
	export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=$AWS_SECRET AWS_REGION=eu-west-1
	export AWS_SESSION_TOKEN=FQoGZXIvYXdzMARKERinitSESSION0123456789
	export AWS_ENDPOINT_URL_CLOUDTRAIL=http://127.0.0.1:$PORT AWS_SHARED_CREDENTIALS_FILE=/nonexistent
	for h in "" --human; do
		run --separate-stderr mallcop init $h --force
		[[ "$output$stderr" == *"you sent"* ]]
		[[ "$output$stderr" != *"$GH_TOKEN"* && "$output$stderr" != *"$AWS_SECRET"* ]]
		[[ "$output$stderr" != *"$AWS_SESSION_TOKEN"* ]]
	done
	[ "$(grep -c x-amz-security-token "$LOG")" -ge 1 ]
}

@test "Vercel and Supabase against the mocks: sampled with the team and the project, written as \${VAR} references" {
	local vtoken=vcp_PLANTEDinitVercel0123456789 skey=eyJPLANTEDinitServiceRole.0123456789
	mock_start < <(jq -cn --slurpfile d "$BATS_TEST_DIRNAME/fixtures/vercel/deployments_page2.json" '[
		{path: "/v6/deployments", status: 200, body: $d[0]},
		{path: "/v3/events", status: 200, body: {events: []}},
		{path: "/rest/v1/audit_log_entries", status: 200, body: []}]')
	export MALLCOP_NOW=2026-11-04T12:00:00Z
	export VERCEL_TOKEN=$vtoken VERCEL_TEAM_ID=team_9xQk2mVbL7rTe4WcN0aD VERCEL_API_URL=http://127.0.0.1:$PORT
	export SUPABASE_SERVICE_ROLE_KEY=$skey SUPABASE_PROJECT_URL=http://127.0.0.1:$PORT SUPABASE_PROJECT_REF=abcdefghijklmnopqrst
	run --separate-stderr mallcop init
	assert_success
	jq -e '[.connectors[] | select(.available) | .name] == ["supabase", "vercel"]' <<< "$output"
	jq -e '.connectors[] | select(.name == "vercel") | .sample_events == 3 and .resources == ["team_9xQk2mVbL7rTe4WcN0aD"]' <<< "$output"
	jq -e '.connectors[] | select(.name == "supabase") | .sample_events == 0 and .resources == ["abcdefghijklmnopqrst"] and any(.notes[]; contains("SUPABASE_ACCESS_TOKEN"))' <<< "$output"
	grep -q 'token: ${VERCEL_TOKEN}' mallcop.yaml
	grep -q 'service_role_key: ${SUPABASE_SERVICE_ROLE_KEY}' mallcop.yaml
	grep -q 'team_9xQk2mVbL7rTe4WcN0aD' mallcop.yaml
	jq -se 'all(.[] | select(.path | startswith("/v")); .query | contains("teamId=team_9xQk2mVbL7rTe4WcN0aD"))' "$LOG"
	{ ! grep -rqF -e "$vtoken" -e "$skey" mallcop.yaml; } || false
	[[ "$output$stderr" != *PLANTED* ]]
	run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 3 ]
	grep -q '^vercel:' .mallcop/checkpoints.yaml
	grep -q '^supabase:' .mallcop/checkpoints.yaml
	{ ! grep -rqF -e "$vtoken" -e "$skey" .mallcop; } || false
}

@test "an OpenClaw home in ~/.openclaw: found, its skills listed, sampled, written; scan reports them, no secret anywhere" {
	cp -r "$BATS_TEST_DIRNAME/fixtures/openclaw/clean_install" "$HOME/.openclaw"
	planted=sk-PLANTEDopenclawINIT0123456789abcdef
	jq --arg k "$planted" '.secrets = {openai: $k}' "$BATS_TEST_DIRNAME/fixtures/openclaw/config_drift/openclaw.json" \
		> "$HOME/.openclaw/openclaw.json"
	run --separate-stderr mallcop init
	assert_success
	jq -e --arg h "$HOME/.openclaw" '.connectors[] | select(.name == "openclaw") |
		.available == true and .missing_credentials == [] and .sample_events == 3 and
		.resources == ["openclaw_home: \($h)", "skill: calendar", "skill: web-search", "config: openclaw.json"] and
		(.notes | index("Found 2 skill(s) installed.") != null)' <<< "$output"
	grep -qF "openclaw_home: \"$HOME/.openclaw\"" mallcop.yaml
	[ ! -e .mallcop/events ]
	run --separate-stderr mallcop scan
	assert_success
	jq -e '.connectors.openclaw.events_ingested == 3' <<< "$output"
	! grep -rqF "$planted" . || false
	[[ "$output$stderr" != *"$planted"* ]]
}
