#!/usr/bin/env bats
# mallcop-connector-azure: the Activity Log from a mock Azure (token and ARM), mapping, nextLink
# paging, one cursor over several subscriptions, failures, and a scan through mallcop.yaml

load helper

FIX="$BATS_TEST_DIRNAME/fixtures/azure"
TENANT=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
CLIENT=11112222-3333-4444-5555-666677778888
SECRET='PLANTED~azSecret.0123456789abcdefXYZ'
SUB1=3f2a6c1e-8b4d-4e0a-9c7f-1d2e3f4a5b6c
SUB2=9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e
BEARER='Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.MOCKtoken.signature'
VALUES=providers/Microsoft.Insights/eventtypes/management/values
CONNECTOR=azure

setup() {
	deployment
	export AZURE_TENANT_ID=$TENANT AZURE_CLIENT_ID=$CLIENT AZURE_CLIENT_SECRET=$SECRET
	unset AZURE_SUBSCRIPTION_ID
	export MALLCOP_HTTP_FAST=1
	export MALLCOP_NOW=2026-11-05T00:00:00Z
	LOG="$BATS_TEST_TMPDIR/log.jsonl"
	MOCK_PID=
}

teardown() {
	mock_stop
}

# start the mock with the routes on stdin; the configuration points both services at it
mock() {
	mock_start
	export MALLCOP_CONNECTOR_CONFIG="{\"subscription_ids\":[\"$SUB1\"],\"base_url\":\"http://127.0.0.1:$PORT\",\"login_url\":\"http://127.0.0.1:$PORT\"}"
}

# the token endpoint's answer
token_route() {
	printf '{"method":"POST","path":"/%s/oauth2/v2.0/token","status":200,"body":%s}' "$TENANT" "$(jq -c . "$FIX/token.json")"
}

# one page of a subscription's Activity Log: page FIXTURE [SUB] [QUERY]
page() {
	printf '{"path":"/subscriptions/%s/providers/*","query":"%s","status":200,"body":%s}' \
		"${2:-$SUB1}" "${3:-api-version=2015-04-01}" "$(jq -c . "$FIX/$1.json")"
}

# the token, then both fixture pages, the second behind page1's nextLink
two_pages() {
	printf '[%s,%s,%s]\n' "$(token_route)" "$(page page2 "$SUB1" skiptoken=page2token)" "$(page page1)"
}

az() {
	"$MALLCOP_EXEC_PATH/mallcop-connector-azure" "$@"
}

# the GET requests to the Activity Log, as logged by the mock
gets() {
	jq -c 'select(.method == "GET")' "$LOG"
}

@test "a first poll over two pages maps every record kind, with its fields in metadata" {
	mock < <(two_pages)
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	assert_success
	printf '%s\n' "$output" > ev.jsonl
	jq -r '"\(.event_type) \(.severity) \(.actor) \(.action) \(.timestamp)"' ev.jsonl > kinds
	diff -u - kinds <<-'EOF'
	defender_alert critical Microsoft Microsoft.Security/locations/alerts/activate/action 2026-11-04T08:44:10.987654Z
	login warn ci-bot@contoso.com Microsoft.ContainerRegistry/registries/login/action 2026-11-04T08:30:02.100000Z
	container_access warn dev@contoso.com Microsoft.App/containerApps/write 2026-11-04T08:10:30.500000Z
	role_assignment warn admin@contoso.com Microsoft.Authorization/roleDefinitions/write 2026-11-04T08:05:00.123456Z
	role_assignment info admin@contoso.com Microsoft.Authorization/roleAssignments/write 2026-11-04T08:01:12.447031Z
	resource_modified info dev@contoso.com Microsoft.AppConfiguration/configurationStores/write 2026-11-04T07:55:00Z
	resource_modified info dev@contoso.com Microsoft.Compute/virtualMachines/write 2026-11-04T07:40:00Z
	EOF
	jq -r '"\(.metadata.resource_group) \(.metadata.status) \(.metadata.ip // "-") \(.target)"' ev.jsonl > meta
	diff -u - meta <<-EOF
	rg-security Active - /subscriptions/$SUB1/resourceGroups/rg-security/providers/Microsoft.Security/locations/westeurope/alerts/2517090093599999999_9d1c7f0e
	rg-registry Failed 198.51.100.23 /subscriptions/$SUB1/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/acmeacr
	rg-apps Succeeded 198.51.100.7 /subscriptions/$SUB1/resourceGroups/rg-apps/providers/Microsoft.App/containerApps/web-frontend
	null Succeeded 203.0.113.10 /subscriptions/$SUB1/providers/Microsoft.Authorization/roleDefinitions/0f8fad5b-d9cb-469f-a165-70867728950e
	rg-identity Succeeded 203.0.113.10 /subscriptions/$SUB1/resourceGroups/rg-identity/providers/Microsoft.Authorization/roleAssignments/8e3af657-a8ff-443c-a75c-2fe8c4bcb635
	rg-config Succeeded - /subscriptions/$SUB1/resourceGroups/rg-config/providers/Microsoft.AppConfiguration/configurationStores/acme-settings
	rg-vms Succeeded 203.0.113.11 /subscriptions/$SUB1/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/build-agent-01
	EOF
	jq -se --arg s "$SUB1" 'all(.[]; .source == "azure" and .metadata.subscription_id == $s and .metadata.correlation_id == .raw.correlationId and (.raw | type) == "object")' ev.jsonl
	jq -se 'map(keys_unsorted) | unique == [["id","timestamp","source","event_type","actor","action","target","severity","metadata","raw"]]' ev.jsonl
	# the id: evt_ and 20 hex digits of SHA-256 over "azure:" and eventDataId (else the record's id)
	first=$(head -n 1 ev.jsonl)
	want="evt_$(printf 'azure:%s' "$(jq -r .raw.eventDataId <<< "$first")" | sha256sum | cut -c1-20)"
	[ "$(jq -r .id <<< "$first")" = "$want" ]
	noid=$(sed -n 6p ev.jsonl)
	want="evt_$(printf 'azure:%s' "$(jq -r .raw.id <<< "$noid")" | sha256sum | cut -c1-20)"
	[ "$(jq -r .id <<< "$noid")" = "$want" ]
	[ "$(jq -r .id ev.jsonl | sort -u | wc -l)" -eq 7 ]
	[[ "$stderr" == *"mallcop-connector-azure: 7 events, 1 records without a time skipped"* ]]
	[ "$(last_cursor)" = 2026-11-04T08:44:10Z ]
	[ "$(printf '%s\n' "$stderr" | tail -n 1)" = "cursor: 2026-11-04T08:44:10Z" ]
}

@test "a role assignment names what it grants: the role (a built-in one by name), the principal" {
	mock < <(two_pages)
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	assert_success
	jq -c 'select(.action == "Microsoft.Authorization/roleAssignments/write") | .metadata
		| {role_name, role_definition_id, principal_id, principal_type}' <<< "$output" > grant
	diff -u - grant <<-'EOF'
	{"role_name":"Contributor","role_definition_id":"b24988ac-6180-42a0-ab88-20f7382dd24c","principal_id":"5d2b7c91-3e4f-4a60-8b1c-9f0e2d3c4b5a","principal_type":"User"}
	EOF
	# a role definition written has no assignment to name; other records none either
	jq -se 'map(select(.action != "Microsoft.Authorization/roleAssignments/write")) | all(.[]; .metadata | has("role_name") or has("principal_id") | not)' <<< "$output"
}

@test "what we sent: the token request's form, the bearer token, api-version and the time filter" {
	mock < <(two_pages)
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(wc -l < "$LOG")" -eq 3 ]
	tok=$(head -n 1 "$LOG")
	jq -e --arg t "$TENANT" '.method == "POST" and .path == "/\($t)/oauth2/v2.0/token" and (.headers["content-type"] | startswith("application/x-www-form-urlencoded"))' <<< "$tok"
	form=$(jq -r .body <<< "$tok")
	[[ "&$form&" == *"&grant_type=client_credentials&"* ]]
	[[ "&$form&" == *"&client_id=$CLIENT&"* ]]
	[[ "&$form&" == *"&scope=http%3A%2F%2F127.0.0.1%3A$PORT%2F.default&"* ]]
	[ "$(gets | wc -l)" -eq 2 ]
	gets | jq -se --arg b "$BEARER" 'all(.[]; .headers.authorization == $b)'
	first=$(gets | head -n 1)
	jq -e --arg p "/subscriptions/$SUB1/$VALUES" '.path == $p' <<< "$first"
	q=$(jq -r .query <<< "$first")
	[[ "$q" == *api-version=2015-04-01* ]]
	[[ "$q" == *'$filter=eventTimestamp%20ge%20%272026-11-04T00%3A00%3A00Z%27%20and%20eventTimestamp%20le%20%272026-11-05T00%3A00%3A00Z%27'* ]]
	# the second request is the nextLink as the service wrote it
	[[ "$(gets | tail -n 1 | jq -r .query)" == *'$skiptoken=page2token'* ]]
	no_secret
}

@test "a second poll with the cursor asks from there (and 15 minutes before, for late records) and emits only newer records" {
	mock < <(two_pages)
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	assert_success
	cur=$(last_cursor)
	[ "$cur" = 2026-11-04T08:44:10Z ]
	teardown
	rm -f "$LOG" "$BATS_TEST_TMPDIR/port"
	mock < <(printf '[%s,%s]\n' "$(token_route)" "$(page newer "$SUB1" "ge%20%272026-11-04T08%3A29%3A10Z%27")")
	MALLCOP_NOW=2026-11-04T12:00:00Z run --separate-stderr az --cursor "$cur"
	assert_success
	printf '%s\n' "$output" | jq -r '"\(.event_type) \(.action)"' > kinds
	diff -u - kinds <<-'EOF'
	role_assignment Microsoft.Authorization/roleAssignments/delete
	resource_modified Microsoft.Compute/virtualMachines/delete
	EOF
	[ "$(last_cursor)" = 2026-11-04T10:15:42Z ]
	[[ "$(gets | jq -r .query)" == *"ge%20%272026-11-04T08%3A29%3A10Z%27%20and%20eventTimestamp%20le%20%272026-11-04T12%3A00%3A00Z%27"* ]]
}

@test "a record that reached the log late, older than the cursor, still comes on the next poll" {
	jq -c '.value[0] | .eventDataId = "late-arrival-1" | .eventTimestamp = "2026-11-04T08:40:00.5Z" | {value: [.]}' "$FIX/newer.json" > "$BATS_TEST_TMPDIR/late.json"
	mock < <(printf '[%s,{"path":"/subscriptions/%s/providers/*","status":200,"body":%s}]\n' "$(token_route)" "$SUB1" "$(cat "$BATS_TEST_TMPDIR/late.json")")
	MALLCOP_NOW=2026-11-04T12:00:00Z run --separate-stderr az --cursor 2026-11-04T08:44:10Z
	assert_success
	[[ "$(printf '%s\n' "$output" | jq -r .timestamp)" == 2026-11-04T08:40:00.5* ]]
	# the cursor does not go back to it
	[ "$(last_cursor)" = 2026-11-04T08:44:10Z ]
}

@test "an empty page: no events, the cursor stays where it was" {
	mock < <(printf '[%s,%s]\n' "$(token_route)" "$(page empty)")
	run --separate-stderr az --cursor 2026-11-04T08:44:10Z
	assert_success
	assert_output ''
	[[ "$stderr" == *"mallcop-connector-azure: 0 events"* ]]
	[ "$(last_cursor)" = 2026-11-04T08:44:10Z ]
}

@test "without a cursor or --since it asks from 7 days ago" {
	mock < <(printf '[%s,%s]\n' "$(token_route)" "$(page empty)")
	MALLCOP_NOW=2026-11-20T12:30:00Z run --separate-stderr az
	assert_success
	[[ "$(gets | jq -r .query)" == *"ge%20%272026-11-13T12%3A30%3A00Z%27%20and%20eventTimestamp%20le%20%272026-11-20T12%3A30%3A00Z%27"* ]]
	[ "$(last_cursor)" = 2026-11-13T12:30:00Z ]
}

@test "a start beyond the 90 days the Activity Log keeps is moved to 90 days ago, with a warning" {
	mock < <(printf '[%s,%s]\n' "$(token_route)" "$(page empty)")
	run --separate-stderr az --cursor 2026-01-01T00:00:00Z
	assert_success
	[[ "$stderr" == *"azure: the Activity Log keeps 90 days: asking from 2026-08-07T00:00:00Z"* ]]
	[[ "$(gets | jq -r .query)" == *"ge%20%272026-08-07T00%3A00%3A00Z%27"* ]]
	[ "$(last_cursor)" = 2026-08-07T00:00:00Z ]
}

@test "two subscriptions: both asked with one token, one cursor over both" {
	mock < <(printf '[%s,%s,%s,%s]\n' "$(token_route)" "$(page page2 "$SUB1" skiptoken=page2token)" "$(page page1)" "$(page sub2 "$SUB2")")
	export MALLCOP_CONNECTOR_CONFIG="{\"subscription_ids\":[\"$SUB1\",\"$SUB2\"],\"base_url\":\"http://127.0.0.1:$PORT\",\"login_url\":\"http://127.0.0.1:$PORT\"}"
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 8 ]
	last=$(printf '%s\n' "$output" | tail -n 1)
	jq -e --arg s "$SUB2" '.metadata.subscription_id == $s and .event_type == "role_assignment" and .metadata.ip == "192.0.2.44"' <<< "$last"
	[ "$(jq -s 'map(select(.method == "POST")) | length' "$LOG")" -eq 1 ]
	gets | jq -r .path > paths
	diff -u - paths <<-EOF
	/subscriptions/$SUB1/$VALUES
	/subscriptions/$SUB1/providers/microsoft.insights/eventtypes/management/values
	/subscriptions/$SUB2/$VALUES
	EOF
	[ "$(last_cursor)" = 2026-11-04T09:00:00Z ]
}

@test "one subscription failing: the others' events are printed, but no cursor" {
	mock < <(printf '[%s,%s,{"path":"/subscriptions/%s/providers/*","status":404,"body":{"error":{"code":"SubscriptionNotFound","message":"The subscription '"'"'%s'"'"' could not be found."}}}]\n' \
		"$(token_route)" "$(page sub2 "$SUB2")" "$SUB1" "$SUB1")
	export MALLCOP_CONNECTOR_CONFIG="{\"subscription_id\":\"$SUB1\",\"subscription_ids\":[\"$SUB1\",\"$SUB2\"],\"base_url\":\"http://127.0.0.1:$PORT\",\"login_url\":\"http://127.0.0.1:$PORT\"}"
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	failed_with "subscription '$SUB1' not found"
	[[ "$stderr" == *"could not be found"* ]]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
}

@test "401 from the token endpoint names the tenant and the client, never the secret" {
	mock < <(printf '[{"method":"POST","path":"/%s/oauth2/v2.0/token","status":401,"body":{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}}]\n' "$TENANT")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	failed_with "tenant '$TENANT'"
	[[ "$stderr" == *"client '$CLIENT'"* ]]
	[[ "$stderr" == *"HTTP 401"*"invalid_client"*"AADSTS7000215"* ]]
	[[ "$stderr" == *AZURE_CLIENT_SECRET* ]]
	assert_output ''
	[ "$(gets | wc -l)" -eq 0 ]
}

@test "a token endpoint answering 200 without a token (a captive portal, a wrong login_url) fails cleanly, naming it" {
	for body in '"<html><body>Welcome to the hotel wifi</body></html>"' '[]' '{"access_token":5}' '"x"' '{"access_token":""}'; do
		rm -f "$LOG"
		mock < <(printf '[{"method":"POST","path":"/%s/oauth2/v2.0/token","status":200,"body":%s},%s]\n' "$TENANT" "$body" "$(page page2)")
		run --separate-stderr az --since 2026-11-04T00:00:00Z
		failed_with "token endpoint"
		[[ "$stderr" == *"/$TENANT/oauth2/v2.0/token"*"HTTP 200"*login_url* ]]
		[[ "$stderr" != *AZURE_CLIENT_SECRET* ]]
		assert_output ''
		[ "$(gets | wc -l)" -eq 0 ]
		mock_stop
	done
}

@test "a token endpoint that keeps answering 502 is named as the service failing, not the credentials" {
	mock < <(printf '[{"method":"POST","path":"/%s/oauth2/v2.0/token","status":502,"body":"<html>Bad Gateway</html>"}]\n' "$TENANT")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	failed_with "HTTP 502"
	[[ "$stderr" == *"token service failed, not the credentials"* ]]
	[[ "$stderr" != *"client secret"* && "$stderr" != *AZURE_CLIENT_SECRET* ]]
}

@test "a page of the wrong kind fails cleanly, without a cursor and without an abort" {
	for body in '[]' '"x"' '5' 'null' '{"value":5}' '{"value":"x"}' '{"value":[5]}' '{"value":[{"eventTimestamp":5,"caller":[],"operationName":5,"status":[],"resourceId":{}}]}' '{"value":[],"nextLink":5}'; do
		rm -f "$LOG"
		mock < <(printf '[%s,{"path":"/subscriptions/%s/providers/*","status":200,"body":%s}]\n' "$(token_route)" "$SUB1" "$body")
		run --separate-stderr az --since 2026-11-04T00:00:00Z
		[ "$status" -le 1 ]
		[[ "$stderr" == *azure* && "$stderr" != *Assertion* ]]
		if [ "$status" -eq 1 ]; then [[ "$stderr" != *cursor:* ]]; fi
		mock_stop
	done
}

@test "403 AuthorizationFailed names the client and the Reader role" {
	mock < <(printf '[%s,{"path":"/subscriptions/%s/providers/*","status":403,"body":{"error":{"code":"AuthorizationFailed","message":"The client '"'"'%s'"'"' does not have authorization to perform action '"'"'Microsoft.Insights/eventtypes/values/read'"'"'."}}}]\n' \
		"$(token_route)" "$SUB1" "$CLIENT")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	failed_with "HTTP 403"
	[[ "$stderr" == *"azure: subscription '$SUB1'"* ]]
	[[ "$stderr" == *"AZURE_CLIENT_ID '$CLIENT'"*"Reader role"*"Microsoft.Insights/eventtypes/values/read"* ]]
	[[ "$stderr" == *"does not have authorization"* ]]
}

@test "429 with Retry-After, then the page" {
	mock < <(printf '[%s,{"path":"/subscriptions/%s/providers/*","status":429,"headers":{"Retry-After":"2"},"body":{"error":{"code":"TooManyRequests","message":"slow down"}},"times":1},%s]\n' \
		"$(token_route)" "$SUB1" "$(page page2)")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 4 ]
	[ "$(gets | wc -l)" -eq 2 ]
	[ "$(last_cursor)" = 2026-11-04T08:05:00Z ]
}

@test "500 is retried, then the page" {
	mock < <(printf '[%s,{"path":"/subscriptions/%s/providers/*","status":500,"body":"oops","times":2},%s]\n' \
		"$(token_route)" "$SUB1" "$(page page2)")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 4 ]
	[ "$(gets | wc -l)" -eq 3 ]
}

@test "a 500 that does not go away fails, naming the subscription" {
	mock < <(printf '[%s,{"path":"/subscriptions/%s/providers/*","status":500,"body":{"error":{"code":"InternalServerError","message":"try later"}}}]\n' \
		"$(token_route)" "$SUB1")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	failed_with "HTTP 500"
	[[ "$stderr" == *"azure: subscription '$SUB1'"*"try later"* ]]
}

@test "a malformed body fails clearly, without a cursor" {
	mock < <(printf '[%s,{"path":"/subscriptions/%s/providers/*","status":200,"headers":{"Content-Type":"application/json"},"body":"{\\"value\\": [{\\"caller\\": \\"x"}]\n' \
		"$(token_route)" "$SUB1")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	failed_with "malformed JSON"
	[[ "$stderr" == *"azure: subscription '$SUB1'"* ]]
}

@test "a body without a value list fails, without a cursor" {
	mock < <(printf '[%s,{"path":"/subscriptions/%s/providers/*","status":200,"body":[1,2]}]\n' "$(token_route)" "$SUB1")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	failed_with "not a list of Activity Log records"
}

@test "a nextLink to another host is refused: the token is not sent there, no cursor" {
	mock < <(printf '[%s,{"path":"/subscriptions/%s/providers/*","status":200,"body":%s}]\n' "$(token_route)" "$SUB1" \
		"$(jq -c '.nextLink = "http://203.0.113.9:80/subscriptions/x/providers/microsoft.insights/eventtypes/management/values?$skiptoken=y"' "$FIX/page1.json")")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	failed_with "refusing"
	[[ "$stderr" == *"another host"* ]]
	[ "$(gets | wc -l)" -eq 1 ]
}

@test "missing credentials are named; nothing is asked" {
	mock < <(printf '[%s,%s]\n' "$(token_route)" "$(page empty)")
	for v in AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET; do
		run --separate-stderr env -u "$v" "$MALLCOP_EXEC_PATH/mallcop-connector-azure"
		failed_with "$v is not set"
	done
	[ ! -s "$LOG" ]
}

@test "the subscription comes from subscription_id or AZURE_SUBSCRIPTION_ID too" {
	mock < <(printf '[%s,%s,%s]\n' "$(token_route)" "$(page empty)" "$(page empty "$SUB2")")
	MALLCOP_CONNECTOR_CONFIG="{\"subscription_id\":\"$SUB2\",\"base_url\":\"http://127.0.0.1:$PORT\",\"login_url\":\"http://127.0.0.1:$PORT\"}" run --separate-stderr az
	assert_success
	AZURE_SUBSCRIPTION_ID=$SUB1 MALLCOP_CONNECTOR_CONFIG="{\"base_url\":\"http://127.0.0.1:$PORT\",\"login_url\":\"http://127.0.0.1:$PORT\"}" run --separate-stderr az
	assert_success
	gets | jq -r .path > paths
	diff -u - paths <<-EOF
	/subscriptions/$SUB2/$VALUES
	/subscriptions/$SUB1/$VALUES
	EOF
}

@test "configuration errors are usage errors: no subscription, a bad subscription id, a bad URL" {
	MALLCOP_CONNECTOR_CONFIG='{}' run --separate-stderr az
	assert_failure 2
	[[ "$stderr" == *"no subscription"* ]]
	MALLCOP_CONNECTOR_CONFIG='{"subscription_ids":["../../providers/x?"]}' run --separate-stderr az
	assert_failure 2
	[[ "$stderr" == *"is not a subscription id"* ]]
	MALLCOP_CONNECTOR_CONFIG="{\"subscription_id\":\"$SUB1/resourceGroups/x\"}" run --separate-stderr az
	assert_failure 2
	MALLCOP_CONNECTOR_CONFIG='{"subscription_ids":[]}' run --separate-stderr az
	assert_failure 2
	MALLCOP_CONNECTOR_CONFIG="{\"subscription_ids\":[\"$SUB1\"],\"base_url\":\"http://203.0.113.9\"}" run --separate-stderr az
	assert_failure 2
	[[ "$stderr" == *base_url* ]]
	run --separate-stderr az --since yesterday
	assert_failure 2
	run az -h
	assert_success
	[[ "$output" == *"usage: mallcop-connector-azure"* ]]
}

@test "mallcop scan runs it from mallcop.yaml next to a failing connector; a second scan adds none" {
	mock < <(two_pages)
	config <<-EOF
	connectors:
	  azure:
	    type: azure
	    subscription_ids: [$SUB1]
	    base_url: http://127.0.0.1:$PORT
	    login_url: http://127.0.0.1:$PORT
	    tenant_id: \${AZURE_TENANT_ID}
	    client_id: \${AZURE_CLIENT_ID}
	    client_secret: \${AZURE_CLIENT_SECRET}
	  broken:
	    type: github
	    org: acme-corp
	    base_url: http://127.0.0.1:$PORT
	    env: [GITHUB_TOKEN]
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	export GITHUB_TOKEN=ghp_notused
	MALLCOP_NOW=2026-11-05T00:00:00Z run mallcop scan
	assert_failure 1
	json=$(echo "$output" | grep '^{')
	echo "$json" | jq -e '.connectors.azure.status == "ok" and .connectors.azure.events_ingested == 7'
	echo "$json" | jq -e '.connectors.broken.error | test("404")'
	[ "$(stored_ids | wc -l)" -eq 7 ]
	grep -q '2026-11-04T08:44:10Z' .mallcop/checkpoints.yaml
	MALLCOP_NOW=2026-11-05T00:00:00Z run mallcop scan azure
	assert_success
	echo "$output" | grep '^{' | jq -e '.connectors.azure.events_ingested == 0'
	[ "$(stored_ids | wc -l)" -eq 7 ]
	# the second scan asked from the checkpoint
	[[ "$(gets | jq -r 'select(.path | startswith("/subscriptions/")) | .query' | sed -n 3p)" == *"ge%20%272026-11-04T08%3A29%3A10Z%27"* ]]
	{ ! grep -rqF "$SECRET" .mallcop mallcop.yaml; } || false
	[[ "$output" != *"$SECRET"* ]]
}

@test "a service that echoes the request back: neither the client secret nor the token is in any message" {
	# the token endpoint quotes the form (the secret URL-encoded in it)
	mock < <(printf '[{"method":"POST","path":"/%s/oauth2/v2.0/token","status":400,"echo":true}]\n' "$TENANT")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	failed_with "you sent"
	[[ "$stderr" != *"$(jq -rn --arg s "$SECRET" '$s | @uri')"* ]]
	mock_stop
	# the API quotes the bearer token
	mock < <(printf '[%s,{"path":"/subscriptions/%s/providers/*","status":500,"echo":true}]\n' "$(token_route)" "$SUB1")
	run --separate-stderr az --since 2026-11-04T00:00:00Z
	failed_with "you sent"
	[[ "$stderr" != *MOCKtoken* ]]
}
