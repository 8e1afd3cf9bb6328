#!/usr/bin/env bats
# mallcop-discover-app: an app's recent lines through its container-logs connector (a mock
# Log Analytics), grouped by shape, and a starting parser.yaml that takes every one of them

load helper

FIX="$BATS_TEST_DIRNAME/fixtures"
TENANT=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
WS=7e1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b
SECRET='PLANTED~daSecret.0123456789abcdefXYZ'

setup() {
	deployment
	export AZURE_TENANT_ID=$TENANT AZURE_CLIENT_ID=11112222-3333-4444-5555-666677778888 AZURE_CLIENT_SECRET=$SECRET
	export MALLCOP_NOW=2026-11-05T00:00:00Z
	MOCK_PID=
}

teardown() {
	mock_stop
}

# the mock answering every query with the lines of LINES (text), then mallcop.yaml for it
serve() {
	jq -Rn '{tables: [{name: "PrimaryResult", columns: [{name: "TimeGenerated"}, {name: "Log_s"}],
		rows: [inputs | ["2026-11-04T23:30:00Z", .]]}]}' "$1" > page.json
	mock_start < <(printf '[{"method":"POST","path":"/%s/oauth2/v2.0/token","status":200,"body":%s},{"method":"POST","path":"/la/v1/workspaces/%s/query","status":200,"body":%s}]\n' \
		"$TENANT" "$(jq -c . "$FIX/azure/token.json")" "$WS" "$(cat page.json)")
	config <<-EOF
	connectors:
	  container-logs:
	    subscription_id: 3f2a6c1e-8b4d-4e0a-9c7f-1d2e3f4a5b6c
	    resource_group: rg-apps
	    workspace_id: $WS
	    apps: [web, {name: api}]
	    base_url: http://127.0.0.1:$PORT
	    logs_url: http://127.0.0.1:$PORT/la
	    login_url: http://127.0.0.1:$PORT
	    tenant_id: \${AZURE_TENANT_ID}
	    client_id: \${AZURE_CLIENT_ID}
	    client_secret: \${AZURE_CLIENT_SECRET}
	EOF
}

@test "lines grouped by shape with counts, time statistics, and a parser that takes every sampled line" {
	python3 "$BATS_TEST_DIRNAME/bench/gen_logs.py" --raw web 300 2026-11-04T23:00:00Z 9 > lines.txt
	printf "weird 'quoted' (x) line [1]\n" >> lines.txt
	serve lines.txt
	run --separate-stderr mallcop discover-app web --lines 1000 --refresh
	assert_success
	echo "$output" | jq -e '.status == "ok" and .app_name == "web" and .refresh == true and (.sample_lines | length) == 301'
	echo "$output" | jq -e '.log_stats == {total_lines: 301, lines_with_timestamp: 300, lines_without_timestamp: 1, earliest_timestamp: "2026-11-04T23:00:00Z", latest_timestamp: "2026-11-04T23:04:59Z"}'
	# the clusters: counts add up, most lines first, the health checks one shape
	echo "$output" | jq -e '(.clusters | map(.count) | add) == 301 and (.clusters | map(.count)) == (.clusters | map(.count) | sort | reverse)'
	echo "$output" | jq -e --argjson n "$(grep -c 'healthcheck ok' lines.txt)" '.clusters | map(select(.shape == "<time> healthcheck ok")) | length == 1 and .[0].count == $n'
	[ "$(echo "$output" | jq -r .written)" = "$D/apps/web/parser.yaml.new" ]
	[ ! -e apps/web/parser.yaml ]
	# the suggestion, taken as the parser, leaves no line unmatched in a scan of the same lines
	mv apps/web/parser.yaml.new apps/web/parser.yaml
	run mallcop scan
	assert_success
	echo "$output" | jq -e '.connectors["container-logs"].parsed.web | .unmatched == 0 and .events == 301'
	! grep -rqF "$SECRET" .mallcop apps
}

@test "--lines keeps the most recent lines; without --refresh nothing is written; --human shows the shapes" {
	printf 'a 1\nb 2\nc 3\nd 4\n' > lines.txt
	serve lines.txt
	run --separate-stderr mallcop discover-app web --lines 2
	assert_success
	echo "$output" | jq -e '.sample_lines == ["c 3", "d 4"] and .written == null and .refresh == false'
	[ ! -e apps ]
	run --separate-stderr mallcop discover-app --human web
	assert_success
	[[ "$output" == *"web: 4 lines in 4 shapes"* ]]
	[[ "$output" == *"templates:"* ]]
}

@test "an app no container-logs connector lists, or a connector that fails, is an error that says what to do" {
	printf 'x\n' > lines.txt
	serve lines.txt
	run --separate-stderr mallcop discover-app nope
	assert_failure 1
	[[ "$stderr" == *"no app 'nope'"*"(apps: web, api)"* ]]
	echo "$output" | jq -e '.status == "error"'
	mock_stop
	run --separate-stderr mallcop discover-app web
	assert_failure 1
	[[ "$stderr" == *"connector 'container-logs'"* ]]
	[[ "$stderr" != *"$SECRET"* ]]
	run mallcop discover-app
	assert_failure 2
	run mallcop discover-app ../x
	assert_failure 2
}
