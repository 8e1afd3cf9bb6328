#!/usr/bin/env bats
# mallcop-connector-m365: the Office 365 Management Activity API from a mock: token, subscriptions,
# 24-hour slices, NextPageUri paging, content blobs, mapping, cursor, failures, and a scan

load helper

FIX="$BATS_TEST_DIRNAME/fixtures/m365"
T=4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d
CLIENT=11111111-2222-4333-8444-555555555555
SECRET='PLANTED~m365~Secret.Q8w7E6r5T4y3U2i1o0'
FEED=/api/v1.0/$T/activity/feed
AAD=Audit.AzureActiveDirectory
NOW=2026-11-05T12:00:00Z
CONNECTOR=m365

setup() {
	deployment
	unset M365_TENANT_ID M365_CLIENT_ID M365_CLIENT_SECRET
	unset ENTRA_TENANT_ID ENTRA_CLIENT_ID ENTRA_CLIENT_SECRET
	export M365_TENANT_ID=$T M365_CLIENT_ID=$CLIENT M365_CLIENT_SECRET=$SECRET
	export MALLCOP_HTTP_FAST=1 MALLCOP_NOW=$NOW
	LOG="$BATS_TEST_TMPDIR/log.jsonl"
	MOCK_PID=
}

teardown() {
	mock_stop
}

# start the mock with the routes on stdin; both the login and the API are the mock
mock() {
	mock_start
	export MALLCOP_CONNECTOR_CONFIG="{\"base_url\":\"http://127.0.0.1:$PORT\",\"login_url\":\"http://127.0.0.1:$PORT\"${CONFIG_EXTRA:-}}"
}

# a route: route METHOD PATH STATUS FIXTURE [QUERY] [TIMES] [HEADERS-JSON]
route() {
	local h=${7:-}
	[ -n "$h" ] || h='{}'
	jq -cn --arg m "$1" --arg p "$2" --argjson s "$3" --slurpfile b "$FIX/$4.json" \
		--arg q "${5:-}" --arg t "${6:-}" --argjson h "$h" \
		'{method: $m, path: $p, status: $s, body: $b[0], headers: $h}
		 + (if $q != "" then {query: $q} else {} end)
		 + (if $t != "" then {times: ($t | tonumber)} else {} end)'
}

# the route of each blob a content list names: blobs LIST AUDIT...
blobs() {
	local list=$1 i=0
	shift
	jq -r '.[].contentId' "$FIX/$list.json" | while read -r id; do
		i=$((i + 1))
		route GET "$FEED/audit/$id" 200 "${!i}"
	done
}

token_ok() {
	route POST "/$T/oauth2/v2.0/token" 200 token
}

start_ok() {
	route POST "$FEED/subscriptions/start" 200 subscription_start
}

# the first AAD page names the second in its NextPageUri header
page1() {
	route GET "$FEED/subscriptions/content" 200 content_aad_page1 "contentType=$AAD" 1 \
		"{\"NextPageUri\":\"http://127.0.0.1:{port}$FEED/subscriptions/content?contentType=$AAD&nextPage=2026110510050078900000301&PublisherIdentifier=$T\"}"
}

# the content of every default type (the AAD list in two pages) once, then empty lists
content() {
	route GET "$FEED/subscriptions/content" 200 content_aad_page2 nextPage= 1
	page1
	route GET "$FEED/subscriptions/content" 200 content_exchange contentType=Audit.Exchange 1
	route GET "$FEED/subscriptions/content" 200 content_sharepoint contentType=Audit.SharePoint 1
	route GET "$FEED/subscriptions/content" 200 content_general contentType=Audit.General 1
	route GET "$FEED/subscriptions/content" 200 content_empty
	blobs content_aad_page1 audit_aad_1 audit_aad_2
	blobs content_aad_page2 audit_aad_3
	blobs content_exchange audit_exchange
	blobs content_sharepoint audit_sharepoint
	blobs content_general audit_general
}

# routes (one JSON per line on stdin) as the list the mock reads
list() {
	jq -sc .
}

everything() {
	{ token_ok; start_ok; content; } | list
}

m365() {
	"$MALLCOP_EXEC_PATH/mallcop-connector-m365" "$@"
}

# the GET requests for content lists: "contentType startTime endTime", one a line
listed() {
	jq -r 'select(.method == "GET" and (.path | endswith("/subscriptions/content")) and (.query | contains("nextPage") | not))
		| .query | [scan("(contentType|startTime|endTime)=([^&]*)") | .[1]] | join(" ")' "$LOG"
}

@test "every kind of audit record maps to its event type, actor, action, target and metadata" {
	mock < <(everything)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	assert_success
	printf '%s\n' "$output" > ev.jsonl
	jq -r '"\(.timestamp) \(.event_type) \(.severity) \(.actor) \(.action) \(.target)"' ev.jsonl > kinds
	diff -u - kinds <<-'EOF'
	2026-11-05T08:01:12Z sign_in_success info alice@contoso.com UserLoggedIn 00000003-0000-0ff1-ce00-000000000000
	2026-11-05T08:03:40Z sign_in_failure info mallory@contoso.com UserLoginFailed 00000002-0000-0ff1-ce00-000000000000
	2026-11-05T08:04:05Z sign_in_failure info bob@contoso.com UserLoggedIn 00000003-0000-0000-c000-000000000000
	2026-11-05T09:12:00Z oauth_consent warn alice@contoso.com Consent to application. Mail Sync Pro
	2026-11-05T09:20:31Z guest_invited warn alice@contoso.com Add user. partner_fabrikam.com#EXT#@contoso.onmicrosoft.com
	2026-11-05T09:25:00Z admin_action warn alice@contoso.com Add member to role. carol@contoso.com
	2026-11-05T09:58:10Z admin_action warn alice@contoso.com Add user. dave@contoso.com
	2026-11-05T09:02:44Z mail_forwarding_rule warn bob@contoso.com New-InboxRule contoso.onmicrosoft.com/Users/bob\Forward to ext
	2026-11-05T09:05:13Z mailbox_access info bob@contoso.com MailItemsAccessed 
	2026-11-05T09:07:59Z mail_forwarding_rule warn admin@contoso.com Set-Mailbox contoso.onmicrosoft.com/Users/bob
	2026-11-05T09:40:00Z sharepoint_sharing warn carol@contoso.com SharingSet https://contoso.sharepoint.com/sites/finance/Shared Documents/Q4 forecast.xlsx
	2026-11-05T09:44:30Z sharepoint_sharing warn dave@contoso.com AnonymousLinkCreated https://contoso-my.sharepoint.com/personal/dave_contoso_com/Documents/passwords.docx
	2026-11-05T09:50:05Z sharepoint_activity info carol@contoso.com FileAccessed https://contoso.sharepoint.com/sites/finance/Shared Documents/Q4 forecast.xlsx
	2026-11-05T10:02:17Z dlp_alert warn carol@contoso.com DlpRuleMatch https://contoso.sharepoint.com/sites/finance/Shared Documents/cards.csv
	2026-11-05T10:15:30Z admin_action warn alice@contoso.com TeamCreated 
	EOF
	jq -se 'map(keys_unsorted) | unique == [["id","timestamp","source","event_type","actor","action","target","severity","metadata","raw"]]' ev.jsonl
	jq -se --arg t "$T" 'all(.[]; .source == "m365" and .metadata.organization_id == $t and (.raw | type) == "object" and .raw.Id != null)' ev.jsonl
	first=$(head -n 1 ev.jsonl)
	jq -e '.metadata | .workload == "AzureActiveDirectory" and .record_type == 15 and .result_status == "Success" and .ip == "203.0.113.24" and .ip_address == "203.0.113.24" and (.user_agent | startswith("Mozilla/5.0")) and .content_type == "Audit.AzureActiveDirectory"' <<< "$first"
	# the id: evt_ and 20 hex digits of SHA-256 over "m365:" and the record's own Id
	want="evt_$(printf 'm365:%s' 0f4e1c8a-2b3d-4e5f-8a9b-0c1d2e3f4a01 | sha256sum | cut -c1-20)"
	[ "$(jq -r .id <<< "$first")" = "$want" ]
	jq -se 'map(.id) | unique | length == 15' ev.jsonl
	# the raw record is kept whole
	jq -se --slurpfile a "$FIX/audit_aad_1.json" '.[0].raw == $a[0][0]' ev.jsonl
	# Exchange writes addresses with a port; ip is the address alone, ip_address as received
	jq -se '[.[7,8] | .metadata | [.ip, .ip_address]] == [["198.51.100.7","198.51.100.7:53412"],["2001:db8:4::5","[2001:db8:4::5]:51234"]]' ev.jsonl
	jq -se '.[10].metadata | .workload == "SharePoint" and .record_type == 14 and (.user_agent | contains("Safari"))' ev.jsonl
	jq -se '.[13].metadata | .record_type == 11 and .content_type == "Audit.General" and (has("ip") | not)' ev.jsonl
	[[ "$stderr" == *"mallcop-connector-m365: 15 events"* ]]
	[ "$(last_cursor)" = 2026-11-05T10:15:30Z ]
	no_secret
}

@test "what we send: the token request, a subscription per content type, the bearer token, PublisherIdentifier" {
	mock < <(everything)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	assert_success
	# the token: client credentials for the base URL's scope, to the tenant's endpoint
	tok=$(jq -sc '.[0]' "$LOG")
	jq -e --arg p "/$T/oauth2/v2.0/token" '.method == "POST" and .path == $p' <<< "$tok"
	body=$(jq -r .body <<< "$tok")
	[[ "$body" == *grant_type=client_credentials* ]]
	[[ "$body" == *client_id=$CLIENT* ]]
	[[ "$body" == *"scope=http%3A%2F%2F127.0.0.1%3A$PORT%2F.default"* ]]
	# then every subscription is started, in order, before any content is asked for
	jq -r 'select(.method == "POST" and (.path | endswith("/start"))) | .query' "$LOG" > started
	diff -u - started <<-EOF
	contentType=Audit.AzureActiveDirectory&PublisherIdentifier=$T
	contentType=Audit.Exchange&PublisherIdentifier=$T
	contentType=Audit.SharePoint&PublisherIdentifier=$T
	contentType=Audit.General&PublisherIdentifier=$T
	EOF
	jq -se 'map(.path | endswith("/start")) | .[1:5] == [true,true,true,true]' "$LOG"
	# every API request carries the token and names the publisher
	jq -se --arg a "Bearer $(jq -r .access_token "$FIX/token.json")" --arg t "PublisherIdentifier=$T" \
		'.[1:] | length == 15 and all(.[]; .headers.authorization == $a and (.query | contains($t)))' "$LOG"
	# the second AAD page came from the NextPageUri header
	jq -se 'map(select(.query | contains("nextPage=2026110510050078900000301"))) | length == 1' "$LOG"
	# the blobs: each contentUri once
	[ "$(jq -r 'select(.path | contains("/activity/feed/audit/")) | .path' "$LOG" | sort -u | wc -l)" -eq 6 ]
}

@test "a window of 3 days is asked for in slices of at most 24 hours, for each content type" {
	mock < <(everything)
	run --separate-stderr m365 --since 2026-11-02T06:30:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 15 ]
	listed > slices
	diff -u - slices <<-EOF
	$AAD 2026-11-02T06:30:00Z 2026-11-03T06:30:00Z
	$AAD 2026-11-03T06:30:00Z 2026-11-04T06:30:00Z
	$AAD 2026-11-04T06:30:00Z 2026-11-05T06:30:00Z
	$AAD 2026-11-05T06:30:00Z 2026-11-05T12:00:00Z
	Audit.Exchange 2026-11-02T06:30:00Z 2026-11-03T06:30:00Z
	Audit.Exchange 2026-11-03T06:30:00Z 2026-11-04T06:30:00Z
	Audit.Exchange 2026-11-04T06:30:00Z 2026-11-05T06:30:00Z
	Audit.Exchange 2026-11-05T06:30:00Z 2026-11-05T12:00:00Z
	Audit.SharePoint 2026-11-02T06:30:00Z 2026-11-03T06:30:00Z
	Audit.SharePoint 2026-11-03T06:30:00Z 2026-11-04T06:30:00Z
	Audit.SharePoint 2026-11-04T06:30:00Z 2026-11-05T06:30:00Z
	Audit.SharePoint 2026-11-05T06:30:00Z 2026-11-05T12:00:00Z
	Audit.General 2026-11-02T06:30:00Z 2026-11-03T06:30:00Z
	Audit.General 2026-11-03T06:30:00Z 2026-11-04T06:30:00Z
	Audit.General 2026-11-04T06:30:00Z 2026-11-05T06:30:00Z
	Audit.General 2026-11-05T06:30:00Z 2026-11-05T12:00:00Z
	EOF
	[ "$(last_cursor)" = 2026-11-05T10:15:30Z ]
}

@test "without a cursor it asks from 7 days back (less a minute); an older cursor is moved up to that" {
	CONFIG_EXTRA=',"content_types":["Audit.Exchange"]'
	mock < <({ token_ok; start_ok; route GET "$FEED/subscriptions/content" 200 content_empty; } | list)
	run --separate-stderr m365
	assert_success
	listed > slices
	[ "$(wc -l < slices)" -eq 7 ]
	[ "$(head -n 1 slices)" = "Audit.Exchange 2026-10-29T12:01:00Z 2026-10-30T12:01:00Z" ]
	[ "$(tail -n 1 slices)" = "Audit.Exchange 2026-11-04T12:01:00Z 2026-11-05T12:00:00Z" ]
	# nothing came: the cursor still moves, to a day before the end
	[ "$(last_cursor)" = 2026-11-04T12:00:00Z ]
	: > "$LOG"
	run --separate-stderr m365 --cursor 2026-10-01T00:00:00Z
	assert_success
	[[ "$stderr" == *"older than the 7 days the API keeps"* ]]
	[ "$(listed | head -n 1)" = "Audit.Exchange 2026-10-29T12:01:00Z 2026-10-30T12:01:00Z" ]
}

@test "a subscription already enabled (400 AF20024) is fine" {
	mock < <({ token_ok; route POST "$FEED/subscriptions/start" 400 subscription_already_started; content; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 15 ]
	[ "$(jq -r 'select(.path | endswith("/start")) | .query' "$LOG" | wc -l)" -eq 4 ]
	[ "$(last_cursor)" = 2026-11-05T10:15:30Z ]
}

@test "the second poll asks only from the cursor and emits only what is newer" {
	mock < <(everything)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	assert_success
	cur=$(last_cursor)
	[ "$cur" = 2026-11-05T10:15:30Z ]
	teardown
	rm -f "$LOG" "$BATS_TEST_TMPDIR/port"
	mock < <({ token_ok; start_ok
		route GET "$FEED/subscriptions/content" 200 content_newer "contentType=$AAD&startTime=$cur" 1
		route GET "$FEED/subscriptions/content" 200 content_empty
		blobs content_newer audit_aad_newer; } | list)
	MALLCOP_NOW=2026-11-05T18:00:00Z run --separate-stderr m365 --cursor "$cur"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r '"\(.timestamp) \(.event_type) \(.actor)"')" = "2026-11-05T16:20:00Z sign_in_success erin@contoso.com" ]
	[ "$(last_cursor)" = 2026-11-05T16:20:00Z ]
	listed > slices
	diff -u - slices <<-EOF
	$AAD 2026-11-05T10:15:30Z 2026-11-05T18:00:00Z
	Audit.Exchange 2026-11-05T10:15:30Z 2026-11-05T18:00:00Z
	Audit.SharePoint 2026-11-05T10:15:30Z 2026-11-05T18:00:00Z
	Audit.General 2026-11-05T10:15:30Z 2026-11-05T18:00:00Z
	EOF
}

@test "an empty content list: no events, the cursor stays where it was" {
	mock < <({ token_ok; start_ok; route GET "$FEED/subscriptions/content" 200 content_empty; } | list)
	run --separate-stderr m365 --cursor 2026-11-05T10:15:30Z
	assert_success
	assert_output ''
	[[ "$stderr" == *"m365: 0 events"* ]]
	[ "$(last_cursor)" = 2026-11-05T10:15:30Z ]
	[ "$(jq -r 'select(.path | contains("/audit/"))' "$LOG")" = "" ]
}

@test "401 from the token endpoint names the tenant, the client id and the variables, never the secret" {
	mock < <({ route POST "/$T/oauth2/v2.0/token" 401 token_invalid_client; content; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "invalid_client"
	[[ "$stderr" == *"tenant '$T'"* ]]
	[[ "$stderr" == *"client '$CLIENT'"* ]]
	[[ "$stderr" == *"check M365_CLIENT_ID and M365_CLIENT_SECRET"* ]]
	[[ "$stderr" == *AADSTS7000215* ]]
	assert_output ''
	# nothing was asked of the API without a token
	[ "$(wc -l < "$LOG")" -eq 1 ]
}

@test "403 from the API names the permission to check, with the service's message" {
	mock < <({ token_ok; start_ok; route GET "$FEED/subscriptions/content" 403 forbidden; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "HTTP 403"
	[[ "$stderr" == *"does not include the expected permission"* ]]
	[[ "$stderr" == *ActivityFeed.Read* ]]
	[[ "$stderr" == *"admin consent"* ]]
	[[ "$stderr" == *"client '$CLIENT'"* ]]
	teardown
	rm -f "$LOG" "$BATS_TEST_TMPDIR/port"
	# starting a subscription fails the same way
	mock < <({ token_ok; route POST "$FEED/subscriptions/start" 403 forbidden; content; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "ActivityFeed.Read"
	[[ "$stderr" == *"/subscriptions/start"* ]]
	[ "$(jq -r 'select(.method == "GET")' "$LOG")" = "" ]
}

@test "a subscription that cannot start (not AF20024) fails with the service's message" {
	mock < <({ token_ok; route POST "$FEED/subscriptions/start" 400 subscription_disabled; content; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "HTTP 400"
	[[ "$stderr" == *"does not exist"* ]]
	assert_output ''
}

@test "429 with Retry-After, then the list" {
	mock < <({ token_ok; start_ok
		jq -cn '{method: "GET", path: "'"$FEED"'/subscriptions/content", status: 429, headers: {"Retry-After": "2"}, body: {error: {code: "AF429", message: "Too many requests."}}, times: 1}'
		content; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 15 ]
	[ "$(listed | grep -c "^$AAD ")" -eq 2 ]
	[ "$(last_cursor)" = 2026-11-05T10:15:30Z ]
}

@test "500 on a blob is retried, then the blob" {
	id=$(jq -r '.[0].contentId' "$FIX/content_exchange.json")
	mock < <({ token_ok; start_ok
		jq -cn --arg p "$FEED/audit/$id" '{method: "GET", path: $p, status: 500, body: "oops", times: 2}'
		content; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 15 ]
	[ "$(jq -r --arg p "$FEED/audit/$id" 'select(.path == $p) | .path' "$LOG" | wc -l)" -eq 3 ]
}

@test "a malformed blob fails clearly, without a cursor" {
	id=$(jq -r '.[0].contentId' "$FIX/content_exchange.json")
	mock < <({ token_ok; start_ok
		jq -cn --arg p "$FEED/audit/$id" '{method: "GET", path: $p, status: 200, headers: {"Content-Type": "application/json"}, body: "[{\"CreationTime\": \"2026-11-05T09:0"}'
		content; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "malformed JSON"
	[[ "$stderr" == *"m365: GET $FEED/audit/"* ]]
}

@test "a content list that is not a list fails, without a cursor" {
	mock < <({ token_ok; start_ok
		jq -cn --arg p "$FEED/subscriptions/content" '{method: "GET", path: $p, status: 200, body: {value: []}}'; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "not a list of content blobs"
}

@test "a NextPageUri to another host is refused: the token is not sent there" {
	mock < <({ token_ok; start_ok
		route GET "$FEED/subscriptions/content" 200 content_empty "" "" \
			"{\"NextPageUri\":\"http://203.0.113.9:80$FEED/subscriptions/content?contentType=$AAD&nextPage=x\"}"; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "refusing to follow a next link to another host"
	[ "$(jq -r 'select(.method == "GET") | .path' "$LOG" | wc -l)" -eq 1 ]
}

@test "a contentUri to another host is refused: the token is not sent there" {
	mock < <({ token_ok; start_ok
		jq -cn --arg p "$FEED/subscriptions/content" '{method: "GET", path: $p, status: 200,
			body: [{contentType: "Audit.AzureActiveDirectory", contentId: "x1", contentUri: "https://attacker.example/api/v1.0/feed/audit/x1",
				contentCreated: "2026-11-05T08:15:00.123Z", contentExpiration: "2026-11-12T08:15:00.123Z"}]}'; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "refusing to fetch content 'x1' from another host"
	# and one on the same host but another port
	teardown
	rm -f "$LOG" "$BATS_TEST_TMPDIR/port"
	mock < <({ token_ok; start_ok
		jq -cn --arg p "$FEED/subscriptions/content" '{method: "GET", path: $p, status: 200,
			body: [{contentType: "Audit.AzureActiveDirectory", contentId: "x2", contentUri: "http://127.0.0.1:1/api/v1.0/feed/audit/x2"}]}'; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "refusing to fetch content 'x2'"
}

@test "missing credentials are named; a partial M365 set is not mixed with ENTRA" {
	mock < <(everything)
	unset M365_TENANT_ID M365_CLIENT_ID M365_CLIENT_SECRET
	run --separate-stderr m365
	assert_failure 1
	[[ "$stderr" == *"m365: M365_TENANT_ID is not set"*ENTRA_TENANT_ID* ]]
	export M365_TENANT_ID=$T ENTRA_CLIENT_ID=$CLIENT ENTRA_CLIENT_SECRET=$SECRET
	run --separate-stderr m365
	assert_failure 1
	[[ "$stderr" == *"M365_CLIENT_ID is not set"* ]]
	no_secret
	[ ! -s "$LOG" ]
}

@test "ENTRA_* credentials of the earlier implementation work when M365_* are unset" {
	mock < <(everything)
	unset M365_TENANT_ID M365_CLIENT_ID M365_CLIENT_SECRET
	export ENTRA_TENANT_ID=$T ENTRA_CLIENT_ID=$CLIENT ENTRA_CLIENT_SECRET=$SECRET
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 15 ]
	[[ "$(jq -sr '.[0].body' "$LOG")" == *client_id=$CLIENT* ]]
	no_secret
}

@test "a tenant id that is not a GUID or a domain is refused before any request" {
	mock < <(everything)
	M365_TENANT_ID='contoso.com/../x' run --separate-stderr m365
	failed_with "M365_TENANT_ID 'contoso.com/../x' is not a tenant id"
	[ ! -s "$LOG" ]
	teardown
	rm -f "$LOG" "$BATS_TEST_TMPDIR/port"
	# a domain name is a tenant id too
	mock < <({ route POST /contoso.onmicrosoft.com/oauth2/v2.0/token 200 token
		route POST /api/v1.0/contoso.onmicrosoft.com/activity/feed/subscriptions/start 200 subscription_start
		route GET /api/v1.0/contoso.onmicrosoft.com/activity/feed/subscriptions/content 200 content_empty; } | list)
	M365_TENANT_ID=contoso.onmicrosoft.com run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	assert_success
	[[ "$(jq -r .query "$LOG" | tail -n 1)" == *PublisherIdentifier=contoso.onmicrosoft.com* ]]
}

@test "configuration errors are usage errors; -h prints the usage" {
	MALLCOP_CONNECTOR_CONFIG='{"content_types":["Audit.Everything"]}' run --separate-stderr m365
	assert_failure 2
	[[ "$stderr" == *"'Audit.Everything' is not one of"*DLP.All* ]]
	MALLCOP_CONNECTOR_CONFIG='{"content_types":"Audit.Exchange"}' run --separate-stderr m365
	assert_failure 2
	MALLCOP_CONNECTOR_CONFIG='{"content_types":[]}' run --separate-stderr m365
	assert_failure 2
	MALLCOP_CONNECTOR_CONFIG='{"base_url":"http://manage.example.com"}' run --separate-stderr m365
	assert_failure 2
	[[ "$stderr" == *"base_url"* ]]
	run --separate-stderr m365 --since yesterday
	assert_failure 2
	run --separate-stderr m365 -h
	assert_success
	[[ "$output$stderr" == *"usage: mallcop-connector-m365"* ]]
}

@test "DLP.All is asked for when configured, each type once" {
	CONFIG_EXTRA=',"content_types":["DLP.All","Audit.Exchange","DLP.All"]'
	mock < <({ token_ok; start_ok; route GET "$FEED/subscriptions/content" 200 content_empty; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	assert_success
	jq -r 'select(.path | endswith("/start")) | .query' "$LOG" > started
	diff -u - started <<-EOF
	contentType=DLP.All&PublisherIdentifier=$T
	contentType=Audit.Exchange&PublisherIdentifier=$T
	EOF
}

@test "mallcop scan runs it with a file connector from mallcop.yaml; a second scan adds none" {
	mock < <(everything)
	mkdir -p in
	event f1 files 2026-11-05T07:00:00Z erin > in/a.jsonl
	config <<-EOF
	connectors:
	  office:
	    type: m365
	    tenant_id: \${M365_TENANT_ID}
	    client_id: \${M365_CLIENT_ID}
	    client_secret: \${M365_CLIENT_SECRET}
	    base_url: http://127.0.0.1:$PORT
	    login_url: http://127.0.0.1:$PORT
	    since: 2026-11-05T00:00:00Z
	  files: {type: file, paths: [in/*.jsonl]}
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 16 ]
	[ "$(cat .mallcop/events/*.jsonl | jq -r 'select(.source == "m365") | .id' | wc -l)" -eq 15 ]
	grep -q '2026-11-05T10:15:30Z' .mallcop/checkpoints.yaml
	run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 16 ]
	# the second scan asked from the checkpoint
	[ "$(jq -r 'select(.path | endswith("/subscriptions/content")) | .query' "$LOG" | tail -n 1 | grep -c 'startTime=2026-11-05T10:15:30Z')" -eq 1 ]
	{ ! grep -rqF "$SECRET" .mallcop mallcop.yaml; } || false
	[[ "$output" != *"$SECRET"* ]]
}

@test "when it fails, mallcop scan still stores the other connectors' events and keeps its checkpoint" {
	mock < <(printf '[%s,%s]\n' "$(token_ok)" "$(route POST "$FEED/subscriptions/start" 403 forbidden)")
	mkdir -p in
	event f1 files 2026-11-05T07:00:00Z erin > in/a.jsonl
	printf 'office:\n  value: 2026-11-05T09:00:00Z\n  updated_at: 2026-11-05T09:00:01Z\n' > before.yaml
	mkdir -p .mallcop && cp before.yaml .mallcop/checkpoints.yaml
	config <<-EOF
	connectors:
	  office:
	    type: m365
	    tenant_id: \${M365_TENANT_ID}
	    client_id: \${M365_CLIENT_ID}
	    client_secret: \${M365_CLIENT_SECRET}
	    base_url: http://127.0.0.1:$PORT
	    login_url: http://127.0.0.1:$PORT
	  files: {type: file, paths: [in/*.jsonl]}
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	run --separate-stderr mallcop scan
	assert_failure 1
	[[ "$stderr$output" == *m365*403* ]]
	[ "$(stored_ids)" = f1 ]
	sed -n '/^office:/,/^[a-z]/p' .mallcop/checkpoints.yaml | grep -q 'value:.*2026-11-05T09:00:00Z' 
	{ ! grep -rqF "$SECRET" .mallcop mallcop.yaml; } || false
	[[ "$output$stderr" != *"$SECRET"* ]]
}

@test "a token endpoint answering 200 without a token (a captive portal, a wrong login_url) fails cleanly, naming it" {
	for body in '"<html><body>Welcome to the hotel wifi</body></html>"' '[]' '{"access_token":5}'; do
		rm -f "$LOG"
		mock < <({ jq -cn --arg p "/$T/oauth2/v2.0/token" --argjson b "$body" '{method: "POST", path: $p, status: 200, body: $b}'; start_ok; content; } | list)
		run --separate-stderr m365 --since 2026-11-05T00:00:00Z
		failed_with "token endpoint"
		[[ "$stderr" == *"/$T/oauth2/v2.0/token"*"HTTP 200"*login_url* ]]
		assert_output ''
		[ "$(wc -l < "$LOG")" -eq 1 ]
		mock_stop
	done
}

@test "a token endpoint that keeps answering 502 is named as the service failing, not the credentials" {
	mock < <(jq -cn --arg p "/$T/oauth2/v2.0/token" '[{method: "POST", path: $p, status: 502, body: "Bad Gateway"}]')
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "HTTP 502"
	[[ "$stderr" == *"token service failed, not the credentials"* ]]
	[[ "$stderr" != *M365_CLIENT_SECRET* ]]
}

@test "a content list, a blob or a record of the wrong kind fails cleanly or is skipped, never an abort" {
	id=$(jq -r '.[0].contentId' "$FIX/content_exchange.json")
	for body in '{}' '"x"' '5' '[5,"x",null]' '[{"contentUri":5,"contentId":[]}]'; do
		rm -f "$LOG"
		mock < <({ token_ok; start_ok; jq -cn --arg p "$FEED/subscriptions/content" --argjson b "$body" '{method: "GET", path: $p, status: 200, body: $b}'; } | list)
		run --separate-stderr m365 --since 2026-11-05T00:00:00Z
		[ "$status" -le 1 ]
		[[ "$stderr" == *m365* && "$stderr" != *Assertion* ]]
		if [ "$status" -eq 1 ]; then [[ "$stderr" != *cursor:* ]]; fi
		mock_stop
	done
	for body in '{}' '"x"' '{"value":5}' '[5,"x",null]' '[{"CreationTime":5,"Operation":[],"UserId":{},"ExtendedProperties":"x","ModifiedProperties":5,"Target":"x"}]' '[{"CreationTime":"2026-11-05T09:00:00","Operation":[],"UserId":{},"ExtendedProperties":[5,"x"],"ModifiedProperties":[5],"Target":[5],"Actor":[1]}]'; do
		rm -f "$LOG"
		mock < <({ token_ok; start_ok; jq -cn --arg p "$FEED/audit/$id" --argjson b "$body" '{method: "GET", path: $p, status: 200, body: $b}'; content; } | list)
		run --separate-stderr m365 --since 2026-11-05T00:00:00Z
		[ "$status" -le 1 ]
		[[ "$stderr" == *m365* && "$stderr" != *Assertion* ]]
		if [ "$status" -eq 1 ]; then [[ "$stderr" != *cursor:* ]]; fi
		mock_stop
	done
	# the error of a subscription start of the wrong kind
	for body in '[]' '{"error":5}' '{"error":{"code":5}}'; do
		rm -f "$LOG"
		mock < <({ token_ok; jq -cn --arg p "$FEED/subscriptions/start" --argjson b "$body" '{method: "POST", path: $p, status: 400, body: $b}'; content; } | list)
		run --separate-stderr m365 --since 2026-11-05T00:00:00Z
		failed_with "HTTP 400"
		mock_stop
	done
}

@test "a service that echoes the request back: neither the client secret nor the token is in any message" {
	mock < <(jq -cn --arg p "/$T/oauth2/v2.0/token" '[{method: "POST", path: $p, status: 401, echo: true}]')
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "you sent"
	[[ "$stderr" != *"$(jq -rn --arg s "$SECRET" '$s | @uri')"* ]]
	mock_stop
	tok=$(jq -r .access_token "$FIX/token.json")
	mock < <({ token_ok; jq -cn --arg p "$FEED/subscriptions/start" '{method: "POST", path: $p, status: 400, echo: true}'; } | list)
	run --separate-stderr m365 --since 2026-11-05T00:00:00Z
	failed_with "you sent"
	[[ "$stderr" != *"$tok"* ]]
}
