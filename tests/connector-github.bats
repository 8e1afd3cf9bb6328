#!/usr/bin/env bats
# mallcop-connector-github: the org audit log from a mock GitHub, mapping, paging, cursor, failures

load helper

FIX="$BATS_TEST_DIRNAME/fixtures/github"
TOKEN=ghp_PLANTEDsecretTOKEN0123456789abcdefghij
AUDIT=/orgs/acme-corp/audit-log

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

last_cursor() {
	printf '%s\n' "$stderr" | grep '^cursor: ' | tail -n 1 | sed 's/^cursor: //'
}

# nothing we print or store holds the token
no_secret() {
	! printf '%s\n%s\n' "$output" "$stderr" | grep -qF "$TOKEN"
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

@test "the cursor is the newest time emitted, and a second run asks only from there" {
	mock < <(two_pages)
	run --separate-stderr gh --since 2026-11-04T00:00:00Z
	assert_success
	cur=$(last_cursor)
	[ "$cur" = 2026-11-04T08:44:00Z ]
	teardown
	rm -f "$LOG" "$BATS_TEST_TMPDIR/port"
	mock < <(printf '[%s]\n' "$(page newer phrase=created%3A%3E%3D2026-11-04T08%3A44%3A00Z)")
	run --separate-stderr gh --cursor "$cur"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r .action)" = repo.add_member ]
	[ "$(last_cursor)" = 2026-11-04T10:00:00Z ]
	[[ "$(jq -r .query "$LOG")" == *phrase=created%3A%3E%3D2026-11-04T08%3A44%3A00Z* ]]
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

@test "GitHub App variables are refused rather than ignored; a missing token is named" {
	mock < <(printf '[%s]\n' "$(page empty)")
	GITHUB_APP_ID=12345 run --separate-stderr gh
	assert_failure 1
	[[ "$stderr" == *"GitHub App authentication is not supported yet"* ]]
	unset GITHUB_TOKEN
	run --separate-stderr gh
	assert_failure 1
	[[ "$stderr" == *"GITHUB_TOKEN is not set"* ]]
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
	[[ "$(jq -r .query "$LOG" | sed -n 3p)" == *phrase=created%3A%3E%3D2026-11-04T08%3A44%3A00Z* ]]
	! grep -rqF "$TOKEN" .mallcop mallcop.yaml
	[[ "$output" != *"$TOKEN"* ]]
}
