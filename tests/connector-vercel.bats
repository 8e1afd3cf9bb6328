#!/usr/bin/env bats
# mallcop-connector-vercel: deployments and the team activity log from a mock Vercel API

load helper

FIX="$BATS_TEST_DIRNAME/fixtures/vercel"
TOKEN=vcp_PLANTEDsecretTOKEN0123456789abcdefghij
TEAM=team_9xQk2mVbL7rTe4WcN0aD
SECRET=$TOKEN
CONNECTOR=vercel
# 2026-11-04T10:00:00Z, 10:30 and 09:30 in epoch milliseconds: where the second pages start
D_UNTIL=1793786400000
E_UNTIL=1793788200000
E_UNTIL2=1793784600000

setup() {
	deployment
	export VERCEL_TOKEN=$TOKEN VERCEL_TEAM_ID=$TEAM
	export MALLCOP_HTTP_FAST=1
	LOG="$BATS_TEST_TMPDIR/log.jsonl"
	MOCK_PID=
}

teardown() {
	mock_stop
}

mock() {
	mock_start
	export MALLCOP_CONNECTOR_CONFIG="{\"base_url\":\"http://127.0.0.1:$PORT\"}"
}

# a route answering GET PATH (with QUERY in its query string) with a fixture: route PATH FIXTURE [QUERY]
route() {
	printf '{"path":"%s","query":"%s","status":200,"body":%s}' "$1" "${3:-limit=100}" "$(jq -c . "$FIX/$2.json")"
}

# both lists over two pages each (the activity log ends with an empty third page)
all_pages() {
	printf '[%s,%s,%s,%s,%s]\n' \
		"$(route /v6/deployments deployments_page2 "until=$D_UNTIL")" \
		"$(route /v6/deployments deployments_page1)" \
		"$(route /v3/events events_empty "until=$E_UNTIL2")" \
		"$(route /v3/events events_page2 "until=$E_UNTIL")" \
		"$(route /v3/events events_page1)"
}

vc() {
	"$MALLCOP_EXEC_PATH/mallcop-connector-vercel" "$@"
}

@test "deployments and team activity map to their event types; an unknown action keeps its name" {
	mock < <(all_pages)
	run --separate-stderr vc --since 2026-11-04T00:00:00Z
	assert_success
	printf '%s\n' "$output" > ev.jsonl
	jq -r '"\(.event_type) \(.action) \(.severity) \(.actor) \(.target)"' ev.jsonl > kinds
	diff -u - kinds <<-'EOF'
	deployment deployment.created info alice-acme web
	deployment deployment.created info bob-acme api
	deployment deployment.created info bob-acme web
	deployment deployment.created info alice-acme api
	deployment deployment.created info alice-acme web
	security_change access-token.created warn alice-acme ci-deploy
	env_change env.updated warn bob-acme DATABASE_URL
	member_change member.added warn alice-acme carol-contractor
	vercel_audit log-drain.created info bob-acme siem-export
	project_change project.updated info alice-acme web
	domain_change domain.added info alice-acme shop.acme-corp.dev
	EOF
	jq -se 'all(.[]; .source == "vercel" and (.raw | type) == "object" and .metadata.team_id == "team_9xQk2mVbL7rTe4WcN0aD")' ev.jsonl
	first=$(head -n 1 ev.jsonl)
	jq -e '.timestamp == "2026-11-04T11:30:00.500000Z" and .metadata == {"state":"READY","target":"production","project_id":"prj_4h8FqZ2nK7wLp1sXyB3cV9dM","url":"web-8hk2nqw7v-acme.vercel.app","deploy_source":"git","team_id":"team_9xQk2mVbL7rTe4WcN0aD"}' <<< "$first"
	# the id: evt_ and 20 hex digits of SHA-256 over "vercel:deployment:" and the uid
	want="evt_$(printf 'vercel:deployment:%s' dpl_8Hk2NqW7vXcR4tLm1ZpB9sYd | sha256sum | cut -c1-20)"
	[ "$(jq -r .id <<< "$first")" = "$want" ]
	jq -se '.[6].metadata | .entity_type == "env" and .entity_id == "env_Hq7Kz2Lm9" and (.text | startswith("bob updated"))' ev.jsonl
	# the entry without createdAt is counted, not emitted
	[[ "$stderr" == *"11 events, 1 records without a time skipped"* ]]
}

@test "every request carries the token and teamId; pages follow until= back to since, ties at the boundary neither lost nor repeated" {
	mock < <(all_pages)
	run --separate-stderr vc --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(wc -l < "$LOG")" -eq 5 ]
	jq -se --arg t "Bearer $TOKEN" 'all(.[]; .method == "GET" and .headers.authorization == $t)' "$LOG"
	jq -se 'all(.[]; .query | test("(^|&)teamId=team_9xQk2mVbL7rTe4WcN0aD(&|$)"))' "$LOG"
	jq -se 'all(.[]; .query | test("(^|&)since=1793750400000&limit=100(&|$)"))' "$LOG"
	[ "$(jq -r '"\(.path) \(.query | capture("until=(?<u>[0-9]+)").u // "-")"' "$LOG" | paste -sd,)" = \
		"/v6/deployments -,/v6/deployments $D_UNTIL,/v3/events -,/v3/events $E_UNTIL,/v3/events $E_UNTIL2" ]
	# two deployments share 10:00:00.000, one on each page and one listed on both: each once
	printf '%s\n' "$output" | jq -se 'map(.id) | length == 11 and (unique | length) == 11'
	printf '%s\n' "$output" | jq -se '[.[] | select(.timestamp == "2026-11-04T10:00:00Z")] | length == 2'
	no_secret
}

@test "without a team: deployments only, and no teamId" {
	unset VERCEL_TEAM_ID
	mock < <(all_pages)
	run --separate-stderr vc --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 5 ]
	[ "$(jq -r .path "$LOG" | sort -u)" = /v6/deployments ]
	jq -se 'all(.[]; .query | contains("teamId") | not)' "$LOG"
	printf '%s\n' "$output" | jq -se 'all(.[]; .metadata | has("team_id") | not)'
	# team_id in the settings wins over VERCEL_TEAM_ID
	: > "$LOG"
	VERCEL_TEAM_ID=team_other MALLCOP_CONNECTOR_CONFIG="{\"base_url\":\"http://127.0.0.1:$PORT\",\"team_id\":\"$TEAM\"}" \
		run --separate-stderr vc --since 2026-11-04T00:00:00Z
	assert_success
	jq -se 'all(.[]; .query | contains("teamId=team_9xQk2mVbL7rTe4WcN0aD"))' "$LOG"
}

@test "the cursor is the newest time emitted; the next run asks since it; an empty answer keeps it" {
	mock < <(all_pages)
	run --separate-stderr vc --since 2026-11-04T00:00:00Z
	assert_success
	cur=$(last_cursor)
	[ "$cur" = 2026-11-04T11:45:00Z ]
	mock_stop
	: > "$LOG"
	mock < <(printf '[%s,%s]\n' "$(route /v6/deployments deployments_empty)" "$(route /v3/events events_empty)")
	run --separate-stderr vc --cursor "$cur"
	assert_success
	assert_output ''
	[ "$(last_cursor)" = "$cur" ]
	jq -se 'all(.[]; .query | contains("since=1793792700000&"))' "$LOG"
}

@test "without a cursor or --since it asks from 7 days ago" {
	mock < <(printf '[%s,%s]\n' "$(route /v6/deployments deployments_empty)" "$(route /v3/events events_empty)")
	MALLCOP_NOW=2026-11-20T12:30:00Z run --separate-stderr vc
	assert_success
	jq -se 'all(.[]; .query | contains("since=1794573000000&"))' "$LOG"
	[ "$(last_cursor)" = 2026-11-13T12:30:00Z ]
}

@test "401 and 403 name VERCEL_TOKEN, with Vercel's message and never the token; no cursor" {
	for s in 401 403; do
		mock < <(printf '[{"path":"/v6/deployments","status":%s,"body":{"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}}]\n' "$s")
		run --separate-stderr vc --since 2026-11-04T00:00:00Z
		failed_with "HTTP $s"
		[[ "$stderr" == *"check VERCEL_TOKEN"*"team 'team_9xQk2mVbL7rTe4WcN0aD'"* ]]
		mock_stop
	done
}

@test "404 names the team id" {
	mock < <(printf '[%s,{"path":"/v3/events","status":404,"body":{"error":{"code":"not_found","message":"Team not found"}}}]\n' "$(route /v6/deployments deployments_empty)")
	run --separate-stderr vc --since 2026-11-04T00:00:00Z
	failed_with "check the team id 'team_9xQk2mVbL7rTe4WcN0aD'"
}

@test "a failure on the activity log after the deployments came: exit 1 and no cursor" {
	mock < <(printf '[%s,%s,{"path":"/v3/events","query":"until=","status":500,"body":"oops"},%s]\n' \
		"$(route /v6/deployments deployments_page2 "until=$D_UNTIL")" "$(route /v6/deployments deployments_page1)" \
		"$(route /v3/events events_page1)")
	run --separate-stderr vc --since 2026-11-04T00:00:00Z
	failed_with "HTTP 500"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 9 ]
}

@test "429 with Retry-After, then the page; 500 then the page" {
	mock < <(printf '[{"path":"/v6/deployments","status":429,"headers":{"Retry-After":"2"},"body":{"error":{"code":"rate_limited"}},"times":1},%s,{"path":"/v3/events","status":500,"body":"oops","times":2},%s]\n' \
		"$(route /v6/deployments deployments_empty)" "$(route /v3/events events_empty)")
	run --separate-stderr vc --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(wc -l < "$LOG")" -eq 5 ]
	[ "$(last_cursor)" = 2026-11-04T00:00:00Z ]
}

@test "a malformed body, or a body without its list, fails clearly without a cursor" {
	mock < <(printf '[{"path":"/v6/deployments","status":200,"headers":{"Content-Type":"application/json"},"body":"{\\"deployments\\": [{\\"uid\\""}]\n')
	run --separate-stderr vc --since 2026-11-04T00:00:00Z
	failed_with "vercel: GET /v6/deployments"
	[[ "$stderr" == *"malformed JSON"* ]]
	mock_stop
	for body in '{}' '[]' '5' 'null' '{"deployments":5}' '{"deployments":{"uid":"x"}}'; do
		mock < <(printf '[{"path":"/v6/deployments","status":200,"body":%s}]\n' "$body")
		run --separate-stderr vc --since 2026-11-04T00:00:00Z
		failed_with "has no 'deployments' list"
		[[ "$stderr" != *Assertion* ]]
		mock_stop
	done
}

@test "items of the wrong kind are skipped and counted, never an abort" {
	mock < <(printf '[{"path":"/v6/deployments","status":200,"body":{"deployments":[5,"x",null,[],{"uid":7,"created":"x"},{"uid":[],"created":1793779200000,"creator":"bob","name":{}}],"pagination":{"next":null}}},%s]\n' "$(route /v3/events events_empty)")
	run --separate-stderr vc --since 2026-11-04T00:00:00Z
	assert_success
	[[ "$stderr" == *"1 events, 5 records without a time skipped"* ]]
	printf '%s\n' "$output" | jq -e '.actor == "unknown" and .timestamp == "2026-11-04T08:00:00Z"'
}

@test "a missing token is named; configuration errors are usage errors" {
	unset VERCEL_TOKEN
	run --separate-stderr vc
	assert_failure 1
	[[ "$stderr" == *"VERCEL_TOKEN is not set"* ]]
	export VERCEL_TOKEN=$TOKEN
	MALLCOP_CONNECTOR_CONFIG='{"team_id":"../x"}' run --separate-stderr vc
	assert_failure 2
	MALLCOP_CONNECTOR_CONFIG='{"team_id":5}' run --separate-stderr vc
	assert_failure 2
	MALLCOP_CONNECTOR_CONFIG='{"base_url":"ftp://x"}' run --separate-stderr vc
	assert_failure 2
	run --separate-stderr vc --since yesterday
	assert_failure 2
}

@test "a base URL at a metadata, link-local or private address is refused before connecting" {
	for b in https://169.254.169.254 'https://[fe80::1]'; do
		MALLCOP_CONNECTOR_CONFIG="{\"base_url\":\"$b\",\"allow_private\":true}" run --separate-stderr vc --since 2026-11-04T00:00:00Z
		assert_failure 2
		[[ "$stderr" == *base_url*"refusing '"*"never allowed"* ]]
	done
	MALLCOP_CONNECTOR_CONFIG='{"base_url":"https://10.0.0.1"}' run --separate-stderr vc --since 2026-11-04T00:00:00Z
	assert_failure 2
	[[ "$stderr" == *base_url*"refusing '"*"allow_private: true"* ]]
}

@test "a service that echoes the request back: the token is in no message" {
	mock < <(printf '[{"path":"/v6/deployments","status":400,"echo":true}]\n')
	run --separate-stderr vc --since 2026-11-04T00:00:00Z
	failed_with "you sent"
}

@test "mallcop scan runs it from mallcop.yaml and stores the events; a second scan adds none; the token is nowhere in the store" {
	mock < <(all_pages)
	config <<-EOF
	connectors:
	  vercel:
	    team_id: $TEAM
	    base_url: http://127.0.0.1:$PORT
	    token: \${VERCEL_TOKEN}
	EOF
	unset MALLCOP_CONNECTOR_CONFIG VERCEL_TEAM_ID
	MALLCOP_NOW=2026-11-05T00:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 11 ]
	grep -q '2026-11-04T11:45:00Z' .mallcop/checkpoints.yaml
	MALLCOP_NOW=2026-11-05T00:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 11 ]
	[[ "$(jq -r .query "$LOG" | tail -n 1)" == *since=1793792700000* ]]
	{ ! grep -rqF "$TOKEN" .mallcop mallcop.yaml; } || false
	[[ "$output" != *"$TOKEN"* ]]
}

@test "a built-in vercel without credentials in its settings gets VERCEL_TOKEN and VERCEL_TEAM_ID" {
	mock < <(all_pages)
	config <<-EOF
	connectors:
	  vercel:
	    base_url: http://127.0.0.1:$PORT
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	MALLCOP_NOW=2026-11-05T00:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 11 ]
	jq -se 'any(.[]; .path == "/v3/events")' "$LOG"
}

@test "a 10 MB deployment is rejected and counted by scan while the others are stored" {
	python3 - "$FIX/deployments_page2.json" > big.json <<-'PY'
	import json, sys
	page = json.load(open(sys.argv[1]))
	page["deployments"][1]["meta"]["githubCommitMessage"] = "x" * (10 << 20)
	print(json.dumps(page))
	PY
	mock < <(jq -cn --rawfile big big.json '[{path: "/v6/deployments", status: 200, headers: {"Content-Type": "application/json"}, body: $big}]')
	config <<-EOF
	connectors:
	  vercel:
	    base_url: http://127.0.0.1:$PORT
	    token: \${VERCEL_TOKEN}
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	MALLCOP_NOW=2026-11-05T00:00:00Z run --separate-stderr mallcop scan
	assert_success
	jq -e '.connectors.vercel | .events_ingested == 2 and .rejected == 1 and .rejected_reasons == {"larger than max_event_bytes": 1}' <<< "$output"
	[ "$(stored_ids | wc -l)" -eq 2 ]
}
