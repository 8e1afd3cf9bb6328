#!/usr/bin/env bats
# mallcop-connector-supabase: the auth audit log through PostgREST and the project's configuration
# through the Management API, from a mock Supabase

load helper

FIX="$BATS_TEST_DIRNAME/fixtures/supabase"
KEY=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJvbGUiOiJzZXJ2aWNlX3JvbGUifQ.PLANTEDserviceRoleSignature0123
ACCESS=sbp_PLANTEDaccessToken0123456789abcdef
REF=abcdefghijklmnopqrst
SECRET=$KEY
CONNECTOR=supabase
AUDIT=/rest/v1/audit_log_entries
# the two rows at this time on the first page, and one more on the second: a tie at the boundary
T=2026-11-04T10:08:00.123456+00:00
LAST1=4fa15d96-c0b2-4b5e-9d7f-6c9ebf3b5d45
T2=2026-11-04T11:00:00.5+00:00
LAST2=9ef6acdb-1507-4aa3-8c24-b1e3048aa29a

setup() {
	deployment
	export SUPABASE_SERVICE_ROLE_KEY=$KEY
	unset SUPABASE_ACCESS_TOKEN SUPABASE_PROJECT_URL SUPABASE_PROJECT_REF
	export MALLCOP_HTTP_FAST=1
	LOG="$BATS_TEST_TMPDIR/log.jsonl"
	MOCK_PID=
}

teardown() {
	mock_stop
}

mock() {
	mock_start
	export MALLCOP_CONNECTOR_CONFIG="{\"project_url\":\"http://127.0.0.1:$PORT\",\"project_ref\":\"$REF\",\"management_url\":\"http://127.0.0.1:$PORT\"}"
}

# the PostgREST filter of the rows after (TIME, ID), percent-encoded as we send it
after() {
	jq -rn --arg t "$1" --arg i "$2" '"or=" + ("(created_at.gt.\"\($t)\",and(created_at.eq.\"\($t)\",id.gt.\"\($i)\"))"
		| @uri | gsub("\\(";"%28") | gsub("\\)";"%29"))'
}

# a route: route PATH BODY-FIXTURE-OR-JSON [QUERY]
route() {
	local body=$2
	[ -f "$FIX/$2.json" ] && body=$(jq -c . "$FIX/$2.json")
	printf '{"path":"%s","query":"%s","status":200,"body":%s}' "$1" "${3:-}" "$body"
}

# the audit log over two pages, then an empty one
audit_pages() {
	printf '%s,%s,%s' "$(route $AUDIT '[]' "$(after $T2 $LAST2)")" \
		"$(route $AUDIT auth_page2 "$(after $T $LAST1)")" "$(route $AUDIT auth_page1 created_at=gte.)"
}

# the Management API's four answers: mgmt SUFFIX ("" or "_changed")
mgmt() {
	printf '%s,%s,%s,%s' "$(route /v1/projects/$REF/config/auth config_auth$1)" \
		"$(route /v1/projects/$REF/postgrest postgrest)" \
		"$(route /v1/projects/$REF/secrets secrets$1)" \
		"$(route /v1/projects/$REF/api-keys api_keys$1)"
}

sb() {
	"$MALLCOP_EXEC_PATH/mallcop-connector-supabase" "$@"
}

# every planted secret of the fixtures and the environment is in none of stdout, stderr, FILES
no_planted() {
	! printf '%s\n%s\n' "$output" "$stderr" | grep -qF -e PLANTED -e "$KEY" -e "$ACCESS"
	if [ $# -gt 0 ]; then { ! grep -rqF -e PLANTED -e "$ACCESS" "$@"; } || false; fi
}

@test "every row maps to its event type; a failed login is auth_failure; an unknown action keeps its name" {
	mock < <(printf '[%s]\n' "$(audit_pages)")
	run --separate-stderr sb --since 2026-11-04T00:00:00Z
	assert_success
	printf '%s\n' "$output" > ev.jsonl
	jq -r '"\(.event_type) \(.action) \(.severity) \(.actor)"' ev.jsonl > kinds
	diff -u - kinds <<-'EOF'
	user_created user_signedup info dave@acme-corp.dev
	user_created user_confirmation_requested info dave@acme-corp.dev
	auth_success login info alice@acme-corp.dev
	auth_failure login warn alice@acme-corp.dev
	password_recovery user_recovery_requested warn alice@acme-corp.dev
	token_refresh token_refreshed info bob@acme-corp.dev
	identity_unlinked identity_unlinked info bob@acme-corp.dev
	user_deleted user_deleted warn service_role
	mfa_verified mfa_challenge_verified info carol@acme-corp.dev
	EOF
	jq -se 'all(.[]; .source == "supabase" and .target == "abcdefghijklmnopqrst" and .metadata.project_ref == "abcdefghijklmnopqrst" and (.raw | type) == "object")' ev.jsonl
	jq -se '.[3] | .timestamp == "2026-11-04T10:08:00.123456Z" and .metadata == {"project_ref":"abcdefghijklmnopqrst","ip_address":"198.51.100.77","ip":"198.51.100.77","auth_action":"login","log_type":"account","provider":"email"}' ev.jsonl
	# a payload sent as JSON text is read as well
	jq -se '.[4].raw.payload | type == "string"' ev.jsonl
	want="evt_$(printf 'supabase:%s' 0b6f1d52-8c7e-4d1a-9f3b-2e5a7c9d1f01 | sha256sum | cut -c1-20)"
	[ "$(head -n 1 ev.jsonl | jq -r .id)" = "$want" ]
	[[ "$stderr" == *"9 events, 1 records without a time skipped"* ]]
}

@test "requests carry the key as apikey and Bearer, the auth profile, the order and the keyset after each page; ties at the boundary neither lost nor repeated" {
	mock < <(printf '[%s]\n' "$(audit_pages)")
	run --separate-stderr sb --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(wc -l < "$LOG")" -eq 3 ]
	jq -se --arg k "$KEY" 'all(.[]; .path == "/rest/v1/audit_log_entries" and .headers.apikey == $k and .headers.authorization == "Bearer \($k)" and .headers["accept-profile"] == "auth")' "$LOG"
	jq -se 'all(.[]; .query | startswith("select=*&order=created_at.asc,id.asc&limit=1000&"))' "$LOG"
	[ "$(jq -rs '.[0].query' "$LOG")" = "select=*&order=created_at.asc,id.asc&limit=1000&created_at=gte.2026-11-04T00%3A00%3A00Z" ]
	[[ "$(jq -rs '.[1].query' "$LOG")" == *"$(after $T $LAST1)" ]]
	[[ "$(jq -rs '.[2].query' "$LOG")" == *"$(after $T2 $LAST2)" ]]
	# the three rows of 10:08:00.123456, two on the first page and one on the second: each once
	printf '%s\n' "$output" | jq -se '[.[] | select(.timestamp == "2026-11-04T10:08:00.123456Z")] | length == 3 and (map(.id) | unique | length) == 3'
	printf '%s\n' "$output" | jq -se 'map(.id) | length == (unique | length)'
	[ "$(last_cursor)" = "$T2,$LAST2|" ]
	no_secret
}

@test "the next run reads after the cursor's row; a row at the same time with a greater id still comes; nothing new keeps the cursor" {
	mock < <(printf '[%s,%s]\n' "$(route $AUDIT '[]' "$(after $T2 $LAST2)")" "$(route $AUDIT auth_page2 "$(after $T $LAST1)")")
	run --separate-stderr sb --cursor "$T,$LAST1|"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r .action | paste -sd,)" = token_refreshed,identity_unlinked,user_deleted,mfa_challenge_verified ]
	[ "$(last_cursor)" = "$T2,$LAST2|" ]
	: > "$LOG"
	run --separate-stderr sb --cursor "$T2,$LAST2|"
	assert_success
	assert_output ''
	[ "$(last_cursor)" = "$T2,$LAST2|" ]
	[ "$(wc -l < "$LOG")" -eq 1 ]
}

@test "a server that ignores the filter: rows at or before the cursor are not emitted again" {
	body=$(jq -cs 'add' "$FIX/auth_page1.json" "$FIX/auth_page2.json")
	mock < <(printf '[%s,%s]\n' "$(route $AUDIT '[]' "$(after $T2 $LAST2)")" "$(route $AUDIT "$body" "$(after $T $LAST1)")")
	run --separate-stderr sb --cursor "$T,$LAST1|"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r .action | paste -sd,)" = token_refreshed,identity_unlinked,user_deleted,mfa_challenge_verified ]
}

@test "the earlier implementation's cursor (TIME|TIME): rows after that time, and the state starts over" {
	mock < <(printf '[%s,%s]\n' "$(route $AUDIT '[]' "$(after $T2 $LAST2)")" "$(route $AUDIT auth_page2 created_at=gt.)")
	run --separate-stderr sb --cursor "2026-11-04T10:08:00.123456+00:00|2026-11-04T10:00:00+00:00"
	assert_success
	[ "$(jq -rs '.[0].query' "$LOG")" = "select=*&order=created_at.asc,id.asc&limit=1000&created_at=gt.2026-11-04T10%3A08%3A00.123456%2B00%3A00" ]
	# gt: the row of that very time was read by the run that wrote the cursor
	[ "$(printf "%s\n" "$output" | jq -r .action | paste -sd,)" = identity_unlinked,user_deleted,mfa_challenge_verified ]
	[ "$(last_cursor)" = "$T2,$LAST2|2026-11-04T10:00:00+00:00" ]
	run --separate-stderr sb --cursor 'x"),id.gt.(0|'
	[[ "$stderr" == *"is not a cursor this connector wrote"* ]]
}

@test "with SUPABASE_ACCESS_TOKEN: the first run records the configuration, the next reports each change as an event, never a value" {
	export SUPABASE_ACCESS_TOKEN=$ACCESS
	mock < <(printf '[%s,%s]\n' "$(route $AUDIT '[]')" "$(mgmt '')")
	MALLCOP_NOW=2026-11-05T00:00:00Z run --separate-stderr sb --since 2026-11-04T00:00:00Z
	assert_success
	assert_output ''
	cur=$(last_cursor)
	[[ "$cur" == "2026-11-04T00:00:00Z|cfg1:auth_config="*";postgrest_config="*";secrets="*";api_keys="* ]]
	jq -se --arg t "Bearer $ACCESS" '[.[] | select(.path | startswith("/v1/")) | .headers.authorization] | length == 4 and all(. == $t)' "$LOG"
	no_planted
	mock_stop
	mock < <(printf '[%s,%s]\n' "$(route $AUDIT '[]')" "$(mgmt _changed)")
	MALLCOP_NOW=2026-11-06T00:00:00Z run --separate-stderr sb --cursor "$cur"
	assert_success
	printf '%s\n' "$output" | jq -r '"\(.event_type) \(.action) \(.metadata.setting // "-") \(.severity)"' | sort > changes
	diff -u - changes <<-'EOF'
	api_key_change api_keys.changed service_role critical
	config_change auth_config.added external_google_enabled warn
	config_change auth_config.changed disable_signup warn
	config_change auth_config.changed site_url warn
	config_change auth_config.changed smtp_pass warn
	config_change auth_config.removed - warn
	secret_change secrets.added EXFIL_WEBHOOK critical
	secret_change secrets.changed STRIPE_SECRET_KEY critical
	secret_change secrets.removed - critical
	EOF
	printf '%s\n' "$output" | jq -se 'all(.[]; .timestamp == "2026-11-06T00:00:00Z" and .target == "abcdefghijklmnopqrst" and .actor == "management-api" and (.raw | keys) == (.metadata | keys))'
	no_planted
	# the same state again: no event
	cur=$(last_cursor)
	run --separate-stderr sb --cursor "$cur"
	assert_success
	assert_output ''
	[ "$(last_cursor)" = "$cur" ]
}

@test "a Management API failure fails the run, naming the token; the auth events before it stand, no cursor" {
	export SUPABASE_ACCESS_TOKEN=$ACCESS
	mock < <(printf '[%s,{"path":"/v1/projects/%s/secrets","status":403,"body":{"message":"Your account does not have the necessary privileges to access this endpoint."}},%s]\n' \
		"$(audit_pages)" "$REF" "$(mgmt '')")
	run --separate-stderr sb --since 2026-11-04T00:00:00Z
	failed_with "HTTP 403"
	[[ "$stderr" == *"check SUPABASE_ACCESS_TOKEN"* ]]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 9 ]
	no_planted
}

@test "401, 403 and 404 name the service role key and the exposed schema; 406 gives PostgREST's reason; never the key; no cursor" {
	for st in 401 403 404; do
		mock < <(printf '[{"path":"%s","status":%s,"body":{"message":"Invalid API key","hint":"Double check your Supabase `anon` or `service_role` API key."}}]\n' "$AUDIT" "$st")
		run --separate-stderr sb --since 2026-11-04T00:00:00Z
		failed_with "HTTP $st"
		[[ "$stderr" == *"check SUPABASE_SERVICE_ROLE_KEY"*"Exposed schemas"* ]]
		mock_stop
	done
	mock < <(printf '[{"path":"%s","status":406,"body":{"code":"PGRST106","message":"The schema must be one of the following: public, graphql_public"}}]\n' "$AUDIT")
	run --separate-stderr sb --since 2026-11-04T00:00:00Z
	failed_with "HTTP 406"
	[[ "$stderr" == *"The schema must be one of"* ]]
}

@test "429 with Retry-After and 500 are retried, then the page" {
	mock < <(printf '[{"path":"%s","status":429,"headers":{"Retry-After":"2"},"body":{"message":"rate limited"},"times":1},{"path":"%s","status":500,"body":"oops","times":1},%s]\n' "$AUDIT" "$AUDIT" "$(audit_pages)")
	run --separate-stderr sb --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 9 ]
	[ "$(wc -l < "$LOG")" -eq 5 ]
}

@test "a malformed body, or one that is not a list of rows, fails clearly; wrong kinds inside are skipped" {
	mock < <(printf '[{"path":"%s","status":200,"headers":{"Content-Type":"application/json"},"body":"[{\\"id\\": \\"0b6"}]\n' "$AUDIT")
	run --separate-stderr sb --since 2026-11-04T00:00:00Z
	failed_with "malformed JSON"
	mock_stop
	for body in '{}' '5' '{"message":"x"}'; do
		mock < <(printf '[{"path":"%s","status":200,"body":%s}]\n' "$AUDIT" "$body")
		run --separate-stderr sb --since 2026-11-04T00:00:00Z
		failed_with "not a list of rows"
		mock_stop
	done
	# rows without an id or a time, or of the wrong kind: counted; a page with nothing to page on fails
	mock < <(printf '[{"path":"%s","status":200,"body":[5,null,{"id":7,"created_at":"2026-11-04T10:00:00Z"},{"id":"x\\"y","created_at":"2026-11-04T10:00:00Z"},{"id":"ab12","created_at":"never"}]}]\n' "$AUDIT")
	run --separate-stderr sb --since 2026-11-04T00:00:00Z
	failed_with "cannot be read past it"
	[[ "$stderr" == *"1 events, 4 records without a time"* ]]
	[[ "$stderr" != *Assertion* ]]
}

@test "a missing key, project or a bad setting is named" {
	unset SUPABASE_SERVICE_ROLE_KEY
	MALLCOP_CONNECTOR_CONFIG="{\"project_ref\":\"$REF\"}" run --separate-stderr sb
	assert_failure 1
	[[ "$stderr" == *"SUPABASE_SERVICE_ROLE_KEY is not set"* ]]
	export SUPABASE_SERVICE_ROLE_KEY=$KEY
	MALLCOP_CONNECTOR_CONFIG='{}' run --separate-stderr sb
	assert_failure 2
	[[ "$stderr" == *"no project"* ]]
	MALLCOP_CONNECTOR_CONFIG='{"project_ref":"../x"}' run --separate-stderr sb
	assert_failure 2
	MALLCOP_CONNECTOR_CONFIG="{\"project_ref\":\"$REF\",\"audit_table\":\"auth.x;drop\"}" run --separate-stderr sb
	assert_failure 2
	MALLCOP_CONNECTOR_CONFIG='{"project_url":"https://db.example.com"}' run --separate-stderr sb
	assert_failure 2
	[[ "$stderr" == *"project_ref"* ]]
	SUPABASE_PROJECT_URL=https://169.254.169.254 MALLCOP_CONNECTOR_CONFIG="{\"project_ref\":\"$REF\"}" run --separate-stderr sb
	assert_failure 2
	[[ "$stderr" == *project_url*"refusing '"*"never allowed"* ]]
	MALLCOP_CONNECTOR_CONFIG="{\"project_ref\":\"$REF\",\"management_url\":\"https://10.0.0.1\"}" run --separate-stderr sb
	assert_failure 2
	[[ "$stderr" == *management_url*"allow_private: true"* ]]
}

@test "a view in the public schema: audit_table without a schema sends no profile" {
	mock_start < <(printf '[%s]\n' "$(route /rest/v1/auth_audit '[]')")
	MALLCOP_CONNECTOR_CONFIG="{\"project_url\":\"http://127.0.0.1:$PORT\",\"project_ref\":\"$REF\",\"audit_table\":\"auth_audit\"}" run --separate-stderr sb
	assert_success
	jq -e '.headers | has("accept-profile") | not' "$LOG"
}

@test "a service that echoes the request back: neither key is in any message" {
	export SUPABASE_ACCESS_TOKEN=$ACCESS
	mock < <(printf '[{"path":"%s","status":400,"echo":true}]\n' "$AUDIT")
	run --separate-stderr sb --since 2026-11-04T00:00:00Z
	failed_with "you sent"
	no_planted
}

@test "mallcop scan stores the auth events, then the configuration changes from the cursor it kept; no secret in the store" {
	export SUPABASE_ACCESS_TOKEN=$ACCESS
	mock < <(printf '[%s,%s]\n' "$(audit_pages)" "$(mgmt '')")
	config <<-EOF
	connectors:
	  supabase:
	    project_url: http://127.0.0.1:$PORT
	    project_ref: $REF
	    management_url: http://127.0.0.1:$PORT
	    service_role_key: \${SUPABASE_SERVICE_ROLE_KEY}
	    access_token: \${SUPABASE_ACCESS_TOKEN}
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	MALLCOP_NOW=2026-11-05T00:00:00Z run --separate-stderr mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 9 ]
	grep -qF "$LAST2|cfg1:" .mallcop/checkpoints.yaml
	mock_stop
	rm -f "$LOG"
	mock < <(printf '[%s,%s]\n' "$(audit_pages)" "$(mgmt _changed)")
	config <<-EOF
	connectors:
	  supabase:
	    project_url: http://127.0.0.1:$PORT
	    project_ref: $REF
	    management_url: http://127.0.0.1:$PORT
	EOF
	MALLCOP_NOW=2026-11-06T00:00:00Z run --separate-stderr mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 18 ]
	[[ "$(jq -rs '.[0].query' "$LOG")" == *"$(after $T2 $LAST2)" ]]
	no_planted .mallcop mallcop.yaml
	{ ! grep -rqF "$KEY" .mallcop mallcop.yaml; } || false
}

@test "a 10 MB row is rejected and counted by scan while the others are stored, and the cursor moves past it" {
	python3 - "$FIX/auth_page1.json" > big.json <<-'PY'
	import json, sys
	rows = json.load(open(sys.argv[1]))
	rows[1]["payload"]["traits"]["note"] = "x" * (10 << 20)
	print(json.dumps(rows))
	PY
	mock < <(jq -cn --rawfile big big.json --arg k1 "$(after $T $LAST1)" \
		'[{path: "/rest/v1/audit_log_entries", query: $k1, body: []},
		  {path: "/rest/v1/audit_log_entries", status: 200, headers: {"Content-Type": "application/json"}, body: $big}]')
	config <<-EOF
	connectors:
	  supabase:
	    project_url: http://127.0.0.1:$PORT
	    project_ref: $REF
	    service_role_key: \${SUPABASE_SERVICE_ROLE_KEY}
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	MALLCOP_NOW=2026-11-05T00:00:00Z run --separate-stderr mallcop scan
	assert_success
	jq -e '.connectors.supabase | .events_ingested == 4 and .rejected == 1 and .rejected_reasons == {"larger than max_event_bytes": 1}' <<< "$output"
	[ "$(stored_ids | wc -l)" -eq 4 ]
	grep -qF "$LAST1|" .mallcop/checkpoints.yaml
}

@test "end to end: failed logins to many accounts from one address become auth-failure-burst findings (a burst and a spray)" {
	body=$(jq -c '[range(12) as $i | {id: "aaaaaaaa-0000-4000-8000-\(1000000000000 + $i)", created_at: "2026-11-04T10:\(10 + $i):00.000000+00:00",
		ip_address: "198.51.100.77", payload: {action: "login", actor_id: "6f1c2a7e", actor_username: "",
		log_type: "account", traits: {error: "Invalid login credentials", email: "user\($i)@acme-corp.dev", provider: "email"}}}]' <<< null)
	mock < <(printf '[{"path":"%s","query":"or=","status":200,"body":[]},{"path":"%s","status":200,"body":%s}]\n' "$AUDIT" "$AUDIT" "$body")
	config <<-EOF
	connectors:
	  supabase:
	    project_url: http://127.0.0.1:$PORT
	    project_ref: $REF
	    service_role_key: \${SUPABASE_SERVICE_ROLE_KEY}
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	export MALLCOP_NOW=2026-11-04T12:00:00Z
	run mallcop scan
	assert_success
	run --separate-stderr mallcop detect
	assert_success
	jq -se '[.[] | select(.detector == "auth-failure-burst") | {kind: .metadata.kind, ip: .metadata.group_key, n: .metadata.event_count}] | sort_by(.kind) == [{kind: "burst", ip: "198.51.100.77", n: 12}, {kind: "spray", ip: "198.51.100.77", n: 12}]' .mallcop/findings.jsonl
}
