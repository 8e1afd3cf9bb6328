#!/usr/bin/env bats
# mallcop-connector-container-logs: Container Apps console logs from a mock Azure (token, ARM,
# Log Analytics): app -> environment -> workspace, the KQL, draining a backlog page by page,
# failures app by app, and a scan through mallcop.yaml with an app parser

load helper

FIX="$BATS_TEST_DIRNAME/fixtures/container_logs"
TENANT=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
CLIENT=11112222-3333-4444-5555-666677778888
SECRET='PLANTED~clSecret.0123456789abcdefXYZ'
SUB=3f2a6c1e-8b4d-4e0a-9c7f-1d2e3f4a5b6c
WS=7e1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b
ARM_TOKEN=eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.MOCKtoken.signature
LA_TOKEN=eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.LOGStoken.signature
APPS=/subscriptions/$SUB/resourceGroups/rg-apps/providers/Microsoft.App
CONNECTOR=container-logs

setup() {
	deployment
	export AZURE_TENANT_ID=$TENANT AZURE_CLIENT_ID=$CLIENT AZURE_CLIENT_SECRET=$SECRET
	unset AZURE_SUBSCRIPTION_ID MALLCOP_CONNECTOR_CONFIG
	export MALLCOP_HTTP_FAST=1
	export MALLCOP_NOW=2026-11-05T00:00:00Z
	LOG="$BATS_TEST_TMPDIR/log.jsonl"
	MOCK_PID=
}

teardown() {
	mock_stop
}

# settings for the mock: conf [APPS-JSON] [EXTRA-JSON-MEMBERS]
conf() {
	local apps='[{"name":"web"}]'
	export MALLCOP_CONNECTOR_CONFIG="{\"subscription_id\":\"$SUB\",\"resource_group\":\"rg-apps\",\"apps\":${1:-$apps},\"base_url\":\"http://127.0.0.1:$PORT\",\"logs_url\":\"http://127.0.0.1:$PORT/la\",\"login_url\":\"http://127.0.0.1:$PORT\"${2:+,$2}}"
}

# the routes on stdin, then the settings for one app
mock() {
	mock_start
	conf "$@"
}

# the token endpoint: one token for Log Analytics, another for Resource Manager
tokens() {
	printf '{"method":"POST","path":"/%s/oauth2/v2.0/token","body_has":"la%%2F.default","status":200,"body":%s},' \
		"$TENANT" "$(jq -c --arg t "$LA_TOKEN" '.access_token = $t' "$BATS_TEST_DIRNAME/fixtures/azure/token.json")"
	printf '{"method":"POST","path":"/%s/oauth2/v2.0/token","status":200,"body":%s}' \
		"$TENANT" "$(jq -c . "$BATS_TEST_DIRNAME/fixtures/azure/token.json")"
}

# the container app NAME and its environment
arm() {
	printf '{"path":"%s/containerApps/%s","status":200,"body":%s},' "$APPS" "${1:-web}" \
		"$(jq -c --arg n "${1:-web}" '.name = $n' "$FIX/app.json")"
	printf '{"path":"%s/managedEnvironments/env-prod","status":200,"body":%s}' "$APPS" "$(jq -c . "$FIX/environment.json")"
}

# a query answer: query BODY [BODY_HAS]
query() {
	printf '{"method":"POST","path":"/la/v1/workspaces/%s/query",%s"status":200,"body":%s}' "$WS" \
		"${2:+\"body_has\":$(jq -cn --arg s "$2" '$s'),}" "$1"
}

# a table of the rows on stdin, one JSON array a line: [time, container, stream, log]
table() {
	jq -cs '{tables: [{name: "PrimaryResult",
		columns: [{name: "TimeGenerated", type: "datetime"}, {name: "ContainerAppName_s", type: "string"},
			{name: "ContainerName_s", type: "string"}, {name: "Stream_s", type: "string"},
			{name: "Log_s", type: "string"}],
		rows: map([.[0], "web", .[1], .[2], .[3]])}]}'
}

cl() {
	"$MALLCOP_EXEC_PATH/mallcop-connector-container-logs" "$@"
}

# the queries sent, as KQL text
kql() {
	jq -r 'select(.path | endswith("/query")) | .body | fromjson | .query' "$LOG"
}

@test "a first poll: app, environment, workspace, then every row as a log_line event" {
	mock < <(printf '[%s,%s,%s]\n' "$(tokens)" "$(arm)" "$(query "$(jq -c . "$FIX/page1.json")")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	assert_success
	printf '%s\n' "$output" > ev.jsonl
	jq -r '"\(.timestamp) \(.event_type) \(.actor) \(.action) \(.target) \(.metadata.stream) \(.metadata.revision) \(.raw.line)"' ev.jsonl > got
	diff -u - got <<-'EOF'
	2026-11-04T08:00:01.123456Z log_line web log web stdout web--v7k2p9q 2026-11-04T08:00:01Z web started on port 3000
	2026-11-04T08:01:12.500000Z log_line web log web stderr web--v7k2p9q 2026-11-04T08:01:12Z AUTH FAILED user=mallory ip=198.51.100.7 reason=bad_password
	2026-11-04T08:02:00Z log_line web log web-sidecar stdout web--v7k2p9q healthcheck ok
	EOF
	jq -se 'all(.[]; .source == "container-logs" and .metadata.app == "web" and (.raw | keys) == ["line"])' ev.jsonl
	# the id: from the app, the container, the row's time as Log Analytics wrote it and the line
	want="evt_$(printf 'container-logs:web:web:2026-11-04T08:00:01.1234567Z:2026-11-04T08:00:01Z web started on port 3000' | sha256sum | cut -c1-20)"
	[ "$(head -n 1 ev.jsonl | jq -r .id)" = "$want" ]
	[[ "$stderr" == *"mallcop-connector-container-logs: 3 events"* ]]
	[ "$(last_cursor)" = 2026-11-04T08:02:00Z ]
}

@test "what we sent: a token per service, each bearer where it belongs, the KQL with the app quoted and the window" {
	mock < <(printf '[%s,%s,%s]\n' "$(tokens)" "$(arm)" "$(query "$(jq -c . "$FIX/page1.json")")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	assert_success
	jq -r 'select(.method == "POST" and (.path | endswith("/token"))) | .body' "$LOG" > forms
	[ "$(wc -l < forms)" -eq 2 ]
	grep -q "scope=http%3A%2F%2F127.0.0.1%3A$PORT%2F.default" forms
	grep -q "scope=http%3A%2F%2F127.0.0.1%3A$PORT%2Fla%2F.default" forms
	grep -q "client_id=$CLIENT" forms
	jq -se --arg b "Bearer $ARM_TOKEN" 'map(select(.method == "GET")) | length == 2 and all(.[]; .headers.authorization == $b and (.query | contains("api-version=2024-03-01")))' "$LOG"
	jq -r 'select(.method == "GET") | .path' "$LOG" > paths
	diff -u - paths <<-EOF
	$APPS/containerApps/web
	$APPS/managedEnvironments/env-prod
	EOF
	q=$(jq -c 'select(.path | endswith("/query"))' "$LOG")
	jq -e --arg b "Bearer $LA_TOKEN" --arg p "/la/v1/workspaces/$WS/query" '.path == $p and .headers.authorization == $b and (.headers["content-type"] | startswith("application/json"))' <<< "$q"
	kql > kql.txt
	diff -u - kql.txt <<-'EOF'
	ContainerAppConsoleLogs_CL | where ContainerAppName_s == "web" | where TimeGenerated >= datetime(2026-11-04T00:00:00Z) and TimeGenerated <= datetime(2026-11-05T00:00:00Z) | sort by TimeGenerated asc, ContainerName_s asc, Log_s asc | take 5000
	EOF
	no_secret
}

@test "an app name that could change the query or the URL is refused before anything is asked" {
	mock_start < <(printf '[%s]\n' "$(tokens)")
	for name in 'web\" or 1==1 or \"' 'web/../x' 'web name' ''; do
		conf "[{\"name\":\"$name\"}]"
		run --separate-stderr cl
		assert_failure 2
		[[ "$stderr" == *"apps[0]"*"not a container app name"* ]]
	done
	[ ! -s "$LOG" ]
}

@test "a backlog is drained page by page, rows sharing a time at a page's end neither lost nor repeated" {
	rows=$(table <<-'EOF'
	["2026-11-04T08:00:00.0000001Z", "web", "stdout", "one"]
	["2026-11-04T08:00:02.5000000Z", "web", "stdout", "two"]
	["2026-11-04T08:00:02.5000000Z", "web", "stdout", "same"]
	["2026-11-04T08:00:02.5000000Z", "web", "stdout", "same"]
	["2026-11-04T08:00:03Z", "web", "stdout", "five"]
	EOF
	)
	p1=$(jq -c '.tables[0].rows |= .[0:2]' <<< "$rows")
	p2=$(jq -c '.tables[0].rows |= .[1:4]' <<< "$rows")
	p3=$(jq -c '.tables[0].rows |= .[1:5]' <<< "$rows")
	mock '[{"name":"web"}]' '"page_size":2' < <(printf '[%s,%s,%s,%s,%s]\n' "$(tokens)" "$(arm)" \
		"$(query "$p1" "| take 2")" "$(query "$p2" "| take 3")" "$(query "$p3" "| take 5")")
	conf '[{"name":"web"}]' '"page_size":2'
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	assert_success
	printf '%s\n' "$output" | jq -r .raw.line > lines
	diff -u - lines <<-'EOF'
	one
	two
	same
	same
	five
	EOF
	# the two identical rows are two events
	[ "$(printf '%s\n' "$output" | jq -r .id | sort -u | wc -l)" -eq 5 ]
	kql | sed 's/.*datetime(\([^)]*\)) and.*take \([0-9]*\)$/\1 \2/' > asked
	diff -u - asked <<-'EOF'
	2026-11-04T00:00:00Z 2
	2026-11-04T08:00:02.5000000Z 3
	2026-11-04T08:00:02.5000000Z 5
	EOF
	[ "$(last_cursor)" = 2026-11-04T08:00:03Z ]
}

@test "a service that answers rows from before the page asked for fails the app instead of asking for ever" {
	p1=$(table <<-'EOF'
	["2026-11-04T08:00:01Z", "web", "stdout", "one"]
	["2026-11-04T08:00:02Z", "web", "stdout", "two"]
	EOF
	)
	p2=$(table <<-'EOF'
	["2026-11-04T07:00:00Z", "web", "stdout", "old"]
	["2026-11-04T07:00:00Z", "web", "stdout", "old"]
	["2026-11-04T07:00:01Z", "web", "stdout", "older"]
	EOF
	)
	mock '[{"name":"web"}]' '"page_size":2' < <(printf '[%s,%s,%s,%s]\n' "$(tokens)" "$(arm)" \
		"$(query "$p1" "| take 2")" "$(query "$p2" "| take 3")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	failed_with "app 'web'"
	[[ "$stderr" == *"answered a page that does not move past 2026-11-04T08:00:02Z"* ]]
	[ "$(kql | wc -l)" -eq 2 ]
}

@test "a second poll asks from the cursor, 10 minutes back for late lines; the lines it saw again keep their ids" {
	mock < <(printf '[%s,%s,%s]\n' "$(tokens)" "$(arm)" "$(query "$(jq -c . "$FIX/page1.json")")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	assert_success
	first=$(printf '%s\n' "$output" | jq -r .id)
	cur=$(last_cursor)
	: > "$LOG"
	MALLCOP_NOW=2026-11-04T12:00:00Z run --separate-stderr cl --cursor "$cur"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r .id)" = "$first" ]
	[[ "$(kql)" == *"TimeGenerated >= datetime(2026-11-04T07:52:00Z) and TimeGenerated <= datetime(2026-11-04T12:00:00Z)"* ]]
	[ "$(last_cursor)" = 2026-11-04T08:02:00Z ]
}

@test "without a cursor or --since it asks from an hour ago; the environment's workspace is asked once for two apps" {
	mock '[{"name":"web"},{"name":"api"}]' < <(printf '[%s,%s,%s,%s]\n' "$(tokens)" "$(arm web)" "$(arm api)" \
		"$(query '{"tables":[{"name":"PrimaryResult","columns":[],"rows":[]}]}')")
	run --separate-stderr cl
	assert_success
	assert_output ''
	[ "$(jq -s 'map(select(.path | endswith("env-prod"))) | length' "$LOG")" -eq 1 ]
	kql > k
	[ "$(grep -c 'datetime(2026-11-04T23:00:00Z) and' k)" -eq 2 ]
	grep -q 'ContainerAppName_s == "api"' k
	[ "$(last_cursor)" = 2026-11-04T23:00:00Z ]
}

@test "an empty result, with or without a table: no events, the cursor stays" {
	for body in '{"tables":[]}' '{"tables":[{"name":"PrimaryResult","columns":[{"name":"TimeGenerated","type":"datetime"}],"rows":[]}]}'; do
		rm -f "$LOG"
		mock < <(printf '[%s,%s,%s]\n' "$(tokens)" "$(arm)" "$(query "$body")")
		run --separate-stderr cl --cursor 2026-11-04T08:00:00Z
		assert_success
		assert_output ''
		[ "$(last_cursor)" = 2026-11-04T08:00:00Z ]
		mock_stop
	done
}

@test "with workspace_id, Resource Manager is not asked" {
	mock '[{"name":"web"}]' "\"workspace_id\":\"$WS\"" < <(printf '[%s,%s]\n' "$(tokens)" "$(query "$(jq -c . "$FIX/page1.json")")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
	[ "$(jq -s 'map(select(.method == "GET")) | length' "$LOG")" -eq 0 ]
}

@test "one app failing is named; the other's lines are printed, and no cursor" {
	mock '[{"name":"gone"},{"name":"web"}]' < <(printf '[%s,{"path":"%s/containerApps/gone","status":404,"body":{"error":{"code":"ResourceNotFound","message":"The Resource '"'"'Microsoft.App/containerApps/gone'"'"' under resource group '"'"'rg-apps'"'"' was not found."}}},%s,%s]\n' \
		"$(tokens)" "$APPS" "$(arm)" "$(query "$(jq -c . "$FIX/page1.json")")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	failed_with "app 'gone'"
	[[ "$stderr" == *"not found"*"resource_group 'rg-apps'"*"was not found"* ]]
	[[ "$stderr" != *"app 'web'"* ]]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
}

@test "401 from the token endpoint names the credentials to check, never the secret" {
	mock < <(printf '[{"method":"POST","path":"/%s/oauth2/v2.0/token","status":401,"body":{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}}]\n' "$TENANT")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	failed_with "HTTP 401"
	[[ "$stderr" == *AZURE_CLIENT_SECRET*  && "$stderr" == *AADSTS7000215* ]]
	assert_output ''
}

@test "403 from Log Analytics names the app and the role to grant" {
	mock < <(printf '[%s,%s,{"method":"POST","path":"/la/v1/workspaces/%s/query","status":403,"body":{"error":{"message":"The provided credentials have insufficient access to perform the requested operation","code":"InsufficientAccessError"}}}]\n' \
		"$(tokens)" "$(arm)" "$WS")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	failed_with "app 'web'"
	[[ "$stderr" == *"HTTP 403"* && "$stderr" == *"insufficient access"* ]]
	[[ "$stderr" == *"Log Analytics Reader"* && "$stderr" == *"AZURE_CLIENT_ID '$CLIENT'"* ]]
}

@test "an environment without a Log Analytics workspace fails that app, saying what to set" {
	mock < <(printf '[%s,{"path":"%s/containerApps/web","status":200,"body":%s},{"path":"%s/managedEnvironments/env-prod","status":200,"body":%s}]\n' \
		"$(tokens)" "$APPS" "$(jq -c . "$FIX/app.json")" "$APPS" "$(jq -c 'del(.properties.appLogsConfiguration.logAnalyticsConfiguration)' "$FIX/environment.json")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	failed_with "app 'web'"
	[[ "$stderr" == *"workspace_id"* ]]
}

@test "429 with Retry-After, then the rows" {
	mock < <(printf '[%s,%s,{"method":"POST","path":"/la/v1/workspaces/%s/query","status":429,"headers":{"Retry-After":"2"},"body":{"error":{"code":"TooManyRequests"}},"times":1},%s]\n' \
		"$(tokens)" "$(arm)" "$WS" "$(query "$(jq -c . "$FIX/page1.json")")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
	[ "$(kql | wc -l)" -eq 2 ]
}

@test "500 is retried, then the rows; a 500 that stays fails, naming the app" {
	mock < <(printf '[%s,%s,{"method":"POST","path":"/la/v1/workspaces/%s/query","status":500,"body":"oops","times":2},%s]\n' \
		"$(tokens)" "$(arm)" "$WS" "$(query "$(jq -c . "$FIX/page1.json")")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
	[ "$(kql | wc -l)" -eq 3 ]
	mock_stop
	rm -f "$LOG"
	mock < <(printf '[%s,%s,{"method":"POST","path":"/la/v1/workspaces/%s/query","status":500,"body":{"error":{"message":"try later"}}}]\n' "$(tokens)" "$(arm)" "$WS")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	failed_with "HTTP 500"
	[[ "$stderr" == *"app 'web'"* ]]
}

@test "a malformed body, a body of the wrong shape, a partial result: the app fails cleanly, no cursor" {
	for body in '"{\"tables\": [{\"rows\": [[\"x"' '[]' '{"tables":5}' '{"tables":[{"columns":[],"rows":5}]}' \
		'{"tables":[{"columns":[{"name":"Log_s"}],"rows":[["x"]]}]}' \
		'{"tables":[{"name":"PrimaryResult","columns":[],"rows":[]}],"error":{"code":"PartialError","message":"Query result set has exceeded the internal data size limit"}}'; do
		rm -f "$LOG"
		mock < <(printf '[%s,%s,%s]\n' "$(tokens)" "$(arm)" "$(query "$body")")
		run --separate-stderr cl --since 2026-11-04T00:00:00Z
		failed_with "app 'web'"
		[[ "$stderr" != *Assertion* ]]
		mock_stop
	done
	[[ "$stderr" == *"partial result"*"exceeded"* ]]
}

@test "rows of the wrong kind are skipped and counted, the others kept" {
	body=$(jq -c '.tables[0].rows += [5, ["x"], [null, 5, "web", "web"], ["t", "2026-13-45T99:00:00Z", "web", "web", "", "", "stdout", "bad time", "", ""]]' "$FIX/page1.json")
	mock < <(printf '[%s,%s,%s]\n' "$(tokens)" "$(arm)" "$(query "$body")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
	[[ "$stderr" == *"3 events, 4 records without a time skipped"* ]]
}

@test "a 10 MB line is cut to fit max_event_bytes (scan would refuse a larger event), its length kept" {
	python3 -c '
import json, sys
row = ["2026-11-04T08:00:01Z", "web", "stdout", "x" * (10 << 20)]
print(json.dumps({"tables": [{"name": "PrimaryResult", "columns": [{"name": n} for n in ["TimeGenerated", "ContainerName_s", "Stream_s", "Log_s"]], "rows": [row]}]}))' > big.json
	mock < <(printf '[%s,%s,%s]\n' "$(tokens)" "$(arm)" "$(query "$(cat big.json)")")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -c)" -lt $((1 << 20)) ]
	printf '%s\n' "$output" | jq -e '.metadata.truncated == true and .metadata.line_bytes == 10485760 and (.raw.line | length) > 100000'
	[[ "$stderr" == *"1 lines longer than max_event_bytes"* ]]
}

@test "invalid UTF-8 in a line becomes U+FFFD; the event is valid JSON" {
	json=$(printf '{"tables":[{"name":"PrimaryResult","columns":[{"name":"TimeGenerated"},{"name":"Log_s"}],"rows":[["2026-11-04T08:00:01Z","user=\xff\xfe caf\xc3 end"]]}]}' | base64 -w0)
	mock < <(printf '[%s,%s,{"method":"POST","path":"/la/v1/workspaces/%s/query","status":200,"body_base64":"%s"}]\n' "$(tokens)" "$(arm)" "$WS" "$json")
	run --separate-stderr cl --since 2026-11-04T00:00:00Z
	assert_success
	printf '%s\n' "$output" | jq -e '.raw.line | startswith("user=") and contains("\ufffd") and endswith(" end")'
	printf '%s\n' "$output" | iconv -f UTF-8 -t UTF-8 > /dev/null
}

@test "configuration errors are usage errors" {
	MALLCOP_CONNECTOR_CONFIG='{"resource_group":"rg","apps":["web"]}' run --separate-stderr cl
	assert_failure 2
	[[ "$stderr" == *subscription_id* ]]
	MALLCOP_CONNECTOR_CONFIG="{\"subscription_id\":\"$SUB\",\"apps\":[\"web\"]}" run --separate-stderr cl
	assert_failure 2
	[[ "$stderr" == *"no resource group"* ]]
	MALLCOP_CONNECTOR_CONFIG="{\"subscription_id\":\"$SUB\",\"resource_group\":\"rg\"}" run --separate-stderr cl
	assert_failure 2
	[[ "$stderr" == *"apps:"* ]]
	MALLCOP_CONNECTOR_CONFIG="{\"subscription_id\":\"$SUB\",\"resource_group\":\"rg\",\"apps\":[\"web\"],\"page_size\":0}" run --separate-stderr cl
	assert_failure 2
	[[ "$stderr" == *page_size* ]]
	MALLCOP_CONNECTOR_CONFIG="{\"subscription_id\":\"$SUB\",\"resource_group\":\"rg\",\"apps\":[\"web\"],\"logs_url\":\"http://203.0.113.9\"}" run --separate-stderr cl
	assert_failure 2
	[[ "$stderr" == *logs_url* ]]
	run --separate-stderr env -u AZURE_CLIENT_SECRET "$MALLCOP_EXEC_PATH/mallcop-connector-container-logs"
	assert_failure
	run cl -h
	assert_success
	[[ "$output" == *"usage: mallcop-connector-container-logs"* ]]
}

@test "mallcop scan runs it from mallcop.yaml and applies the app's parser; a second scan stores no line twice" {
	mock_start < <(printf '[%s,%s,%s]\n' "$(tokens)" "$(arm)" "$(query "$(jq -c . "$FIX/page1.json")")")
	mkdir -p apps/web
	cat > apps/web/parser.yaml <<-'EOF'
	app: web
	version: 1
	templates:
	  - name: health
	    pattern: '^healthcheck ok$'
	    noise_filter: true
	  - name: auth_failure
	    pattern: 'AUTH FAILED user=(?P<user>\S+) ip=(?P<ip>\S+)'
	    classification: security
	    event_mapping: {event_type: auth_failure, actor: "{user}", action: login_failed, severity: warn, metadata: {ip: "{ip}"}}
	EOF
	config <<-EOF
	connectors:
	  container-logs:
	    subscription_id: $SUB
	    resource_group: rg-apps
	    apps:
	      - name: web
	    base_url: http://127.0.0.1:$PORT
	    logs_url: http://127.0.0.1:$PORT/la
	    login_url: http://127.0.0.1:$PORT
	EOF
	MALLCOP_NOW=2026-11-04T09:00:00Z run mallcop scan
	assert_success
	echo "$output" | jq -e '.connectors["container-logs"] | .status == "ok" and .parsed.web == {events: 1, noise: 1, unmatched: 1, unmatched_ratio: (1/3)}'
	cat .mallcop/events/*.jsonl | jq -r '"\(.event_type) \(.actor) \(.metadata.ip // "-")"' | sort > got
	diff -u - got <<-'EOF'
	auth_failure mallory 198.51.100.7
	log_line web -
	noise_summary web -
	parser_summary mallcop -
	EOF
	grep -q '2026-11-04T08:02:00Z' .mallcop/checkpoints.yaml
	MALLCOP_NOW=2026-11-04T09:05:00Z run mallcop scan
	assert_success
	cat .mallcop/events/*.jsonl | jq -r .event_type | sort | uniq -c | awk '{print $2, $1}' > got
	diff -u - got <<-'EOF'
	auth_failure 1
	log_line 1
	noise_summary 2
	parser_summary 2
	EOF
	no_secret
	! grep -rqF "$SECRET" .mallcop
}
