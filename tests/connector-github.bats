#!/usr/bin/env bats
# mallcop-connector-github: the org audit log from a mock GitHub, mapping, paging, cursor, failures

load helper

FIX="$BATS_TEST_DIRNAME/fixtures/github"
TOKEN=ghp_PLANTEDsecretTOKEN0123456789abcdefghij
AUDIT=/orgs/acme-corp/audit-log
SECRET=$TOKEN

setup() {
	deployment
	export GITHUB_TOKEN=$TOKEN
	unset GITHUB_APP_ID GITHUB_ORG
	export MALLCOP_HTTP_FAST=1
	LOG="$BATS_TEST_TMPDIR/log.jsonl"
	MOCK_PID=
}

teardown() {
	mock_stop
}

# start the mock with the routes on stdin; "{port}" in a header becomes the mock's own port
# (a next link must name the host and port of the base URL)
mock() {
	mock_start
	export MALLCOP_CONNECTOR_CONFIG="{\"org\":\"acme-corp\",\"base_url\":\"http://127.0.0.1:$PORT\",\"include\":\"all\"}"
}

# one page of the audit log as a route: mock_page FIXTURE [QUERY] [LINK-QUERY]
page() {
	local link=
	[ -z "$3" ] || link=",\"headers\":{\"Link\":\"<http://127.0.0.1:{port}$AUDIT?per_page=100&$3>; rel=\\\"next\\\"\"}"
	printf '{"path":"%s","query":"%s","status":200,"body":%s%s}' "$AUDIT" "${2:-per_page=100}" "$(jq -c . "$FIX/$1.json")" "$link"
}

# both fixture pages, the second behind a Link
two_pages() {
	printf '[%s,%s]\n' "$(page page2 after=Y3Vyc29yMg)" "$(page page1 per_page=100 after=Y3Vyc29yMg)"
}

gh() {
	"$MALLCOP_EXEC_PATH/mallcop-connector-github" "$@"
}

@test "every action kind maps to its event type, with the entry's fields in metadata" {
	mock < <(two_pages)
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_success
	printf '%s\n' "$output" > ev.jsonl
	[ "$(wc -l < ev.jsonl)" -eq 13 ]
	jq -r '"\(.action) \(.event_type) \(.severity)"' ev.jsonl > kinds
	diff -u - kinds <<-'EOF'
	org.add_member member_added warn
	repo.add_member collaborator_added warn
	org.add_outside_collaborator collaborator_added warn
	git.push push info
	repo.create repo_created info
	team.add_member member_added info
	org.update_member permission_change warn
	repo.update_member permission_change warn
	protected_branch.destroy branch_protection_change warn
	oauth_authorization.create token_created warn
	personal_access_token.access_granted token_created warn
	org.update_default_repository_permission admin_action warn
	workflows.completed_workflow_run github_audit info
	EOF
	jq -se 'all(.[]; .source == "github" and (.raw | type) == "object" and .metadata.org == "acme-corp")' ev.jsonl
	jq -se 'map(keys_unsorted) | unique == [["id","timestamp","source","event_type","actor","action","target","severity","metadata","raw"]]' ev.jsonl
	# outside collaborators are marked; the others are not
	jq -se '[.[] | select(.event_type == "collaborator_added") | .metadata.member_type] == [null, "outside"]' ev.jsonl
	# targets: repo, else user, else team
	jq -se '[.[] | .target][0:6] == ["erin-acme","acme-corp/infra","contractor-zed","acme-corp/web-app","acme-corp/data-pipeline","erin-acme"]' ev.jsonl
	first=$(head -n 1 ev.jsonl)
	jq -e '.timestamp == "2026-11-04T08:01:00.812000Z" and .actor == "alice-acme"' <<< "$first"
	jq -e '.metadata | .permission_level == "read" and .user == "erin-acme" and .actor_ip == "203.0.113.24" and .country == "US" and (.user_agent | startswith("Mozilla/5.0"))' <<< "$first"
	# the id: evt_ and 20 hex digits of SHA-256 over "github:" and _document_id
	doc=$(jq -r .raw._document_id <<< "$first")
	want="evt_$(printf 'github:%s' "$doc" | sha256sum | cut -c1-20)"
	[ "$(jq -r .id <<< "$first")" = "$want" ]
	jq -e '.metadata.action_detail == "workflows.completed_workflow_run"' <<< "$(tail -n 1 ev.jsonl)"
}

@test "two pages through the Link header; the request carries the token, the phrase and the order" {
	mock < <(two_pages)
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 13 ]
	[ "$(wc -l < "$LOG")" -eq 2 ]
	jq -se --arg t "Bearer $TOKEN" 'all(.[]; .method == "GET" and .path == "/orgs/acme-corp/audit-log" and .headers.authorization == $t)' "$LOG"
	first=$(head -n 1 "$LOG" | jq -r .query)
	[[ "$first" == *per_page=100* ]]
	[[ "$first" == *order=asc* ]]
	[[ "$first" == *include=all* ]]
	[[ "$first" == *phrase=created%3A%3E%3D2026-11-04T00%3A00%3A00Z* ]]
	[[ "$(tail -n 1 "$LOG" | jq -r .query)" == *after=Y3Vyc29yMg* ]]
	jq -se 'all(.[]; .headers["x-github-api-version"] == "2022-11-28" and .headers.accept == "application/vnd.github+json")' "$LOG"
	no_secret
}

@test "the cursor is the newest time emitted; a second run asks from 15 minutes before it, for late entries" {
	mock < <(two_pages)
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_success
	cur=$(last_cursor)
	[ "$cur" = 2026-11-04T08:44:00Z ]
	teardown
	rm -f "$LOG" "$BATS_TEST_TMPDIR/port"
	mock < <(printf '[%s]\n' "$(page newer phrase=created%3A%3E%3D2026-11-04T08%3A29%3A00Z)")
	run --separate-stderr gh --cursor "$cur"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r .action)" = repo.add_member ]
	[ "$(last_cursor)" = 2026-11-04T10:00:00Z ]
	# from 15 minutes before the cursor: an entry that reached the log late still comes
	[[ "$(jq -r .query "$LOG")" == *phrase=created%3A%3E%3D2026-11-04T08%3A29%3A00Z* ]]
}

@test "an empty page: no events, the cursor stays where it was" {
	mock < <(printf '[%s]\n' "$(page empty)")
	run --separate-stderr gh --cursor 2026-11-04T08:44:00Z
	assert_success
	assert_output ''
	[ "$(last_cursor)" = 2026-11-04T08:44:00Z ]
}

@test "without a cursor or --since it asks from 7 days ago" {
	mock < <(printf '[%s]\n' "$(page empty)")
	MALLCOP_NOW=2026-11-20T12:30:00Z run --separate-stderr gh
	assert_success
	[[ "$(jq -r .query "$LOG")" == *phrase=created%3A%3E%3D2026-11-13T12%3A30%3A00Z* ]]
	[ "$(last_cursor)" = 2026-11-13T12:30:00Z ]
}

@test "401 and 403 name the token and the scope, with GitHub's message and never the token" {
	mock < <(printf '[{"path":"%s","status":401,"body":{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}}]\n' "$AUDIT")
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *"check GITHUB_TOKEN: it needs the read:audit_log scope (or an org owner's token)"* ]]
	[[ "$stderr" == *"HTTP 401"*"Bad credentials"* ]]
	[[ "$stderr" != *cursor:* ]]
	no_secret
	teardown
	rm -f "$LOG" "$BATS_TEST_TMPDIR/port"
	mock < <(printf '[{"path":"%s","status":403,"body":{"message":"Must have admin rights to Repository.","documentation_url":"https://docs.github.com/rest"}}]\n' "$AUDIT")
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *"check GITHUB_TOKEN"*"HTTP 403"*"Must have admin rights"* ]]
	[[ "$stderr" != *cursor:* ]]
	no_secret
}

@test "404 names the organization" {
	mock < <(printf '[{"path":"%s","status":404,"body":{"message":"Not Found"}}]\n' "$AUDIT")
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *"organization 'acme-corp' not found"* ]]
}

@test "429 with Retry-After, then the page" {
	mock < <(printf '[{"path":"%s","status":429,"headers":{"Retry-After":"2"},"body":{"message":"API rate limit exceeded"},"times":1},%s]\n' "$AUDIT" "$(page page1)")
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 8 ]
	[ "$(wc -l < "$LOG")" -eq 2 ]
	[ "$(last_cursor)" = 2026-11-04T08:22:00Z ]
}

@test "500 is retried, then the page" {
	mock < <(printf '[{"path":"%s","status":500,"body":"oops","times":2},%s]\n' "$AUDIT" "$(page page1)")
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 8 ]
	[ "$(wc -l < "$LOG")" -eq 3 ]
}

@test "a malformed body fails clearly, without a cursor" {
	mock < <(printf '[{"path":"%s","status":200,"headers":{"Content-Type":"application/json"},"body":"[{\\"action\\": \\"git.pu"}]\n' "$AUDIT")
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *"github: GET /orgs/acme-corp/audit-log"*"malformed JSON"* ]]
	[[ "$stderr" != *cursor:* ]]
}

@test "a next link to another host is refused: the token is not sent there" {
	mock < <(printf '[{"path":"%s","status":200,"headers":{"Link":"<http://203.0.113.9:%s/orgs/acme-corp/audit-log?after=x>; rel=\\"next\\""},"body":%s}]\n' \
		"$AUDIT" 80 "$(jq -c . "$FIX/page1.json")")
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *"refusing"*"another host"* ]]
	[[ "$stderr" != *cursor:* ]]
	[ "$(wc -l < "$LOG")" -eq 1 ]
}

# a GitHub App: its key in KEY, its installation token APPTOKEN
app() {
	KEY="$BATS_TEST_TMPDIR/app.pem"
	openssl genrsa -out "$KEY" 2048 2>/dev/null
	openssl pkey -in "$KEY" -pubout -out "$BATS_TEST_TMPDIR/app.pub"
	APPTOKEN=ghs_PLANTEDinstallationTOKEN0123456789
	export GITHUB_APP_ID=12345
	unset GITHUB_TOKEN GITHUB_INSTALLATION_ID GITHUB_APP_PRIVATE_KEY_FILE
	export GITHUB_APP_PRIVATE_KEY="$(cat "$KEY")"
}

# the JWT of a request in the mock's log verifies with the app's public key: jwt_ok N
jwt_ok() {
	local jwt
	jwt=$(jq -rs ".[$1].headers.authorization" "$LOG" | sed 's/^Bearer //')
	printf '%s' "${jwt%.*}" > "$BATS_TEST_TMPDIR/signed"
	printf '%s' "${jwt##*.}" | tr '_-' '/+' | sed 's/$/===/' | fold -w4 | grep -v '^=*$' | tr -d '\n' |
		base64 -d > "$BATS_TEST_TMPDIR/sig" 2>/dev/null
	openssl dgst -sha256 -verify "$BATS_TEST_TMPDIR/app.pub" -signature "$BATS_TEST_TMPDIR/sig" \
		"$BATS_TEST_TMPDIR/signed" >/dev/null &&
	printf '%s' "$jwt" | cut -d. -f2 | tr '_-' '/+' | sed 's/$/==/' | base64 -d 2>/dev/null |
		jq -e '.iss == "12345" and .exp - .iat == 600' >/dev/null
}

@test "a GitHub App: its installation found from the org, a token exchanged with a signed JWT, then used" {
	app
	mock < <(printf '[{"path":"/orgs/acme-corp/installation","status":200,"body":{"id":4242,"account":{"login":"acme-corp"},"app_id":12345}},
		{"method":"POST","path":"/app/installations/4242/access_tokens","status":201,"body":{"token":"%s","expires_at":"2026-11-05T01:00:00Z","permissions":{"organization_administration":"read"}}},%s]\n' \
		"$APPTOKEN" "$(page page1)")
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 8 ]
	[ "$(jq -r '"\(.method) \(.path)"' "$LOG" | head -n 2 | paste -sd,)" = "GET /orgs/acme-corp/installation,POST /app/installations/4242/access_tokens" ]
	jwt_ok 0
	jwt_ok 1
	[ "$(jq -rs '.[2].headers.authorization' "$LOG")" = "Bearer $APPTOKEN" ]
	[ "$(jq -rs '.[1].headers.accept' "$LOG")" = "application/vnd.github+json" ]
	! printf '%s\n%s\n' "$output" "$stderr" | grep -qF -e "$APPTOKEN" -e "PRIVATE KEY"
}

@test "a GitHub App with GITHUB_INSTALLATION_ID and a key file: no lookup" {
	app
	unset GITHUB_APP_PRIVATE_KEY
	export GITHUB_APP_PRIVATE_KEY_FILE=$KEY GITHUB_INSTALLATION_ID=77
	mock < <(printf '[{"method":"POST","path":"/app/installations/77/access_tokens","status":201,"body":{"token":"%s"}},%s]\n' \
		"$APPTOKEN" "$(page empty)")
	run --separate-stderr gh
	assert_success
	[ "$(jq -r .path "$LOG" | head -n 1)" = /app/installations/77/access_tokens ]
	[ "$(wc -l < "$LOG")" -eq 2 ]
	jwt_ok 0
}

@test "a GitHub App that is refused: the app, the installation and what to check; no cursor" {
	app
	export GITHUB_INSTALLATION_ID=77
	mock <<-'EOF'
	[{"method":"POST","path":"/app/installations/77/access_tokens","status":401,
	  "body":{"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest"}}]
	EOF
	run --separate-stderr gh
	assert_failure 1
	[[ "$stderr" == *"GitHub App 12345: installation 77"*"HTTP 401: A JSON web token could not be decoded"*"private key"* ]]
	[[ "$stderr" != *cursor:* ]]
	GITHUB_INSTALLATION_ID=x7 run --separate-stderr gh
	assert_failure 2
	unset GITHUB_INSTALLATION_ID
	run --separate-stderr gh
	assert_failure 1
	[[ "$stderr" == *"GitHub App 12345"*"HTTP 404"*"not installed on this organization"* ]]
	unset GITHUB_APP_PRIVATE_KEY
	run --separate-stderr gh
	assert_failure 1
	[[ "$stderr" == *"GITHUB_APP_PRIVATE_KEY"* ]]
	GITHUB_APP_PRIVATE_KEY="not a key" run --separate-stderr gh
	assert_failure 1
	[[ "$stderr" == *"not a PEM RSA private key"* ]]
}

@test "a missing token is named" {
	mock < <(printf '[%s]\n' "$(page empty)")
	unset GITHUB_TOKEN
	run --separate-stderr gh
	assert_failure 1
	[[ "$stderr" == *"no credentials: set GITHUB_TOKEN"* ]]
	[ ! -s "$LOG" ]
}

@test "configuration errors are usage errors" {
	MALLCOP_CONNECTOR_CONFIG='{}' run --separate-stderr gh
	assert_failure 2
	[[ "$stderr" == *"no organization"* ]]
	MALLCOP_CONNECTOR_CONFIG='{"org":"../x"}' run --separate-stderr gh
	assert_failure 2
	MALLCOP_CONNECTOR_CONFIG='{"org":"acme","include":"everything"}' run --separate-stderr gh
	assert_failure 2
	run --separate-stderr gh --since yesterday
	assert_failure 2
}

@test "mallcop scan runs it from mallcop.yaml and stores the events; a second scan adds none" {
	mock < <(two_pages)
	config <<-EOF
	connectors:
	  github:
	    type: github
	    org: acme-corp
	    include: all
	    base_url: http://127.0.0.1:$PORT
	    env: [GITHUB_TOKEN]
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	MALLCOP_NOW=2026-11-05T00:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 13 ]
	grep -q '2026-11-04T08:44:00Z' .mallcop/checkpoints.yaml
	MALLCOP_NOW=2026-11-05T00:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 13 ]
	[[ "$(jq -r .query "$LOG" | tail -n 1)" == *after=Y3Vyc29yMg* ]]
	[[ "$(jq -r .query "$LOG" | sed -n 3p)" == *phrase=created%3A%3E%3D2026-11-04T08%3A29%3A00Z* ]]
	! grep -rqF "$TOKEN" .mallcop mallcop.yaml
	[[ "$output" != *"$TOKEN"* ]]
}

@test "over HTTPS with a CA made for the test: trusted through CURL_CA_BUNDLE, refused without it" {
	test_ca
	mock_start < <(printf '[%s]\n' "$(page page1)")
	export MALLCOP_CONNECTOR_CONFIG="{\"org\":\"acme-corp\",\"base_url\":\"https://127.0.0.1:$PORT\"}"
	unset CURL_CA_BUNDLE SSL_CERT_FILE
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *"github: GET /orgs/acme-corp/audit-log"*certificate* ]]
	[[ "$stderr" != *cursor:* ]]
	[ ! -s "$LOG" ]
	CURL_CA_BUNDLE=$CA run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 8 ]
	[ "$(jq -r .headers.authorization "$LOG")" = "Bearer $TOKEN" ]
	SSL_CERT_FILE=$CA run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(last_cursor)" = 2026-11-04T08:22:00Z ]
}

@test "when it fails, mallcop scan still stores the other connectors' events and keeps its checkpoint" {
	mock < <(printf '[%s,{"path":"%s","status":401,"body":{"message":"Bad credentials"}}]\n' "$(page page1 per_page=100 | sed 's/}$/,"times":1}/')" "$AUDIT")
	mkdir -p feed
	event evt_00000000000000000001 app 2026-11-05T10:00:00Z > feed/a.jsonl
	config <<-EOF
	connectors:
	  github:
	    org: acme-corp
	    base_url: http://127.0.0.1:$PORT
	    token: \${GITHUB_TOKEN}
	  app:
	    type: file
	    paths: [feed/*.jsonl]
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	MALLCOP_NOW=2026-11-05T12:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 9 ]
	cp .mallcop/checkpoints.yaml before.yaml
	event evt_00000000000000000002 app 2026-11-05T11:00:00Z >> feed/a.jsonl
	MALLCOP_NOW=2026-11-05T12:00:00Z run --separate-stderr mallcop scan
	assert_failure 1
	[[ "$stderr$output" == *github*"HTTP 401"*"Bad credentials"* ]]
	[ "$(stored_ids | wc -l)" -eq 10 ]
	[ "$(sed -n '/^github:/,/^[a-z]/p' .mallcop/checkpoints.yaml | grep value)" = "$(sed -n '/^github:/,/^[a-z]/p' before.yaml | grep value)" ]
	{ ! grep -rqF "$TOKEN" .mallcop mallcop.yaml; } || false
	[[ "$output$stderr" != *"$TOKEN"* ]]
}

@test "an @timestamp out of range (1e20, -1e20) or missing is rejected and counted by scan, never stored as 1970" {
	body='[{"@timestamp":1793779260812,"_document_id":"ok1","action":"git.push","actor":"alice-acme","repo":"acme-corp/api"},
	{"@timestamp":1e20,"_document_id":"far","action":"git.push","actor":"bob","repo":"acme-corp/api"},
	{"@timestamp":-1e20,"_document_id":"neg","action":"git.push","actor":"bob","repo":"acme-corp/api"},
	{"_document_id":"none","action":"git.push","actor":"carol","repo":"acme-corp/api"}]'
	mock < <(printf '[{"path":"%s","query":"per_page=100","status":200,"body":%s}]\n' "$AUDIT" "$(printf '%s' "$body" | jq -c .)")
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_success
	[[ "$stderr" == *"1 events, 3 records without a time"* ]]
	printf '%s\n' "$output" | jq -se 'map(select(.event_type)) | length == 1 and .[0].timestamp == "2026-11-04T08:01:00.812000Z"'
	config <<-EOF
	connectors:
	  github:
	    type: github
	    org: acme-corp
	    base_url: http://127.0.0.1:$PORT
	    env: [GITHUB_TOKEN]
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	MALLCOP_NOW=2026-11-05T00:00:00Z run --separate-stderr mallcop scan
	assert_success
	echo "$output" | jq -e '.connectors.github | .events_ingested == 1 and .rejected == 3'
	echo "$output" | jq -e '.connectors.github.rejected_reasons == {"timestamp is not an ISO 8601 time from 1970 to 9999": 2, "missing timestamp": 1}'
	! grep -rq '1970-' .mallcop/events
	[ "$(ls .mallcop/events)" = "github-2026-11.jsonl" ]
}

@test "a page of the wrong kind fails cleanly or is skipped, never an abort" {
	for body in '{}' '"x"' '5' '{"value":5}' '[5,"x",null,[]]' '[{"@timestamp":"x","action":5,"actor":[],"repo":{},"actor_location":"US","_document_id":7}]' '[{"@timestamp":1793779260812,"action":5,"actor":[],"repo":{},"actor_location":[1],"_document_id":7}]'; do
		rm -f "$LOG"
		mock < <(printf '[{"path":"%s","status":200,"body":%s}]\n' "$AUDIT" "$body")
		run --separate-stderr gh --since 2026-11-04T00:00:00Z
		[ "$status" -le 1 ]
		[[ "$stderr" == *github* ]]
		[[ "$stderr" != *Assertion* ]]
		if [ "$status" -eq 1 ]; then [[ "$stderr" != *cursor:* ]]; fi
		mock_stop
	done
}

@test "a base URL at a metadata, link-local or private address is refused before connecting, naming the setting" {
	for b in https://169.254.169.254 https://0xa9fea9fe https://2852039166 'https://[::ffff:169.254.169.254]' 'https://[fe80::1]'; do
		MALLCOP_CONNECTOR_CONFIG="{\"org\":\"acme-corp\",\"base_url\":\"$b\",\"allow_private\":true}" run --separate-stderr gh --since 2026-11-04T00:00:00Z
		assert_failure 2
		[[ "$stderr" == *base_url*"refusing '"*"never allowed"* ]]
		no_secret
	done
	for b in https://10.0.0.1 'https://[fd00::1]:8443'; do
		MALLCOP_CONNECTOR_CONFIG="{\"org\":\"acme-corp\",\"base_url\":\"$b\"}" run --separate-stderr gh --since 2026-11-04T00:00:00Z
		assert_failure 2
		[[ "$stderr" == *base_url*"refusing '"*"allow_private: true"* ]]
	done
	MALLCOP_CONNECTOR_CONFIG='{"org":"acme-corp","base_url":"https://10.0.0.1","allow_private":"maybe"}' run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_failure 2
	[[ "$stderr" == *"allow_private: must be true or false"* ]]
}

@test "a service that echoes the request back: the token is in no message, of the connector or of scan" {
	mock < <(printf '[{"path":"%s","status":400,"echo":true}]\n' "$AUDIT")
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *"you sent"* ]]
	no_secret
	config <<-EOF
	connectors:
	  github:
	    type: github
	    org: acme-corp
	    base_url: http://127.0.0.1:$PORT
	    env: [GITHUB_TOKEN]
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	run --separate-stderr mallcop scan
	assert_failure 1
	[[ "$output$stderr" == *"you sent"* ]]
	no_secret
}
