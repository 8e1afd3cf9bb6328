#!/usr/bin/env bats
# mallcop-connector-aws-cloudtrail: LookupEvents from a mock CloudTrail: mapping, paging, signing,
# cursor per region, throttling, failures, and a scan through mallcop.yaml

load helper

FIX="$BATS_TEST_DIRNAME/fixtures/aws"
SECRET=wJalrXUtnFEMI/K7MDENG/PLANTEDsecretKEY0123
TARGET=com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents

setup() {
	deployment
	export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=$SECRET
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION AWS_REGION
	export AWS_SHARED_CREDENTIALS_FILE=/nonexistent
	export MALLCOP_HTTP_FAST=1
	LOG="$BATS_TEST_TMPDIR/log.jsonl"
	MOCK_PID=
}

teardown() {
	mock_stop
}

# start the mock with the routes on stdin; CONFIG_EXTRA is added to the connector's config
mock() {
	mock_start
	export MALLCOP_CONNECTOR_CONFIG="{\"endpoint\":\"http://127.0.0.1:$PORT\"${CONFIG_EXTRA:-}}"
}

# a route answering POST /: route STATUS BODY-JSON [TIMES]
route() {
	printf '{"method":"POST","path":"/","status":%s,"body":%s%s,"sigv4":{"secret":"%s"}}' "$1" "$2" "${3:+,\"times\":$3}" "$SECRET"
}

# page1 (with a NextToken) once, then page2
two_pages() {
	printf '[%s,%s]\n' "$(route 200 "$(jq -c . "$FIX/page1.json")" 1)" "$(route 200 "$(jq -c . "$FIX/page2.json")")"
}

ct() {
	"$MALLCOP_EXEC_PATH/mallcop-connector-aws-cloudtrail" "$@"
}

@test "every record maps to its event type, actor, target and metadata; epoch and ISO times" {
	mock < <(two_pages)
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_success
	printf '%s\n' "$output" > ev.jsonl
	[ "$(wc -l < ev.jsonl)" -eq 10 ]
	jq -r '"\(.timestamp) \(.action) \(.event_type) \(.severity) \(.actor) \(.target)"' ev.jsonl > kinds
	diff -u - kinds <<-'EOF'
	2026-11-05T00:00:00Z ConsoleLogin console_login info alice 
	2026-11-05T00:05:00Z ConsoleLogin login_failure warn mallory 
	2026-11-05T00:10:00Z CreateAccessKey iam_change warn alice AKIAEXAMPLEKEY00001
	2026-11-05T00:15:00Z AttachRolePolicy iam_change warn alice deploy
	2026-11-05T00:20:00Z AssumeRole assume_role info runner-42 arn:aws:iam::123456789012:role/deploy
	2026-11-05T00:25:00Z AuthorizeSecurityGroupIngress security_group_change warn alice sg-0123456789abcdef0
	2026-11-05T00:30:00Z PutBucketPolicy s3_policy_change warn alice acme-backups
	2026-11-05T00:35:00Z StopLogging cloudtrail_stop critical alice arn:aws:cloudtrail:us-east-1:123456789012:trail/main
	2026-11-05T00:40:00Z TerminateInstances api_call warn alice i-0abc123def4567890
	2026-11-05T01:45:00Z DescribeInstances api_call info alice 
	EOF
	jq -se 'map(keys_unsorted) | unique == [["id","timestamp","source","event_type","actor","action","target","severity","metadata","raw"]]' ev.jsonl
	jq -se 'all(.[]; .source == "aws-cloudtrail" and .metadata.region == "us-east-1")' ev.jsonl
	jq -se '[.[] | .metadata.result] | .[0:2] == ["Success","Failure"]' ev.jsonl
	first=$(head -n 1 ev.jsonl)
	jq -e '.metadata | .ip == "203.0.113.10" and .user_agent == "aws-cli/2.15.0" and .event_source == "signin.amazonaws.com" and .account_id == "123456789012"' <<< "$first"
	jq -e '.raw.CloudTrailEvent.responseElements.ConsoleLogin == "Success"' <<< "$first"
	# an inner record that is not JSON stays a string
	jq -e '.raw.CloudTrailEvent == "not json"' <<< "$(tail -n 1 ev.jsonl)"
	jq -se '.[8].metadata.error_code == "Client.UnauthorizedOperation"' ev.jsonl
	jq -se '.[1].metadata.ip == "198.51.100.66"' ev.jsonl
	# the id: evt_ and 20 hex digits of SHA-256 over "aws-cloudtrail:" and EventId
	want="evt_$(printf 'aws-cloudtrail:%s' a1b2c3d4-0001-4e5f-8a9b-000000000001 | sha256sum | cut -c1-20)"
	[ "$(jq -r .id <<< "$first")" = "$want" ]
}

@test "two pages through NextToken; signed requests with the target header and epoch times" {
	mock < <(two_pages)
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_success
	[ "$(wc -l < "$LOG")" -eq 2 ]
	jq -se --arg t "$TARGET" 'all(.[]; .method == "POST" and .path == "/" and .headers["x-amz-target"] == $t and .headers["content-type"] == "application/x-amz-json-1.1" and (.headers["x-amz-date"] | test("^[0-9]{8}T[0-9]{6}Z$")))' "$LOG"
	jq -se 'all(.[]; .headers.authorization | startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") and contains("/us-east-1/cloudtrail/aws4_request") and contains("x-amz-target"))' "$LOG"
	# the mock computed each signature itself from what it received and the secret key
	jq -se 'length == 2 and all(.[]; .sigv4 == "ok")' "$LOG"
	jq -se 'map(.body | fromjson) | .[0].StartTime == 1793836800 and .[0].MaxResults == 50 and (.[0].EndTime | type) == "number" and (.[0] | has("NextToken") | not) and (.[1].NextToken | startswith("kbOt5LlZe"))' "$LOG"
	no_secret
	! grep -qF "$SECRET" "$LOG"
}

@test "a signature the service does not accept (a wrong secret key, a session token): named, no cursor" {
	mock < <(two_pages)
	AWS_SECRET_ACCESS_KEY=wrong-secret-key run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *"aws-cloudtrail: us-east-1: HTTP 403: InvalidSignatureException"*"signature mismatch"* ]]
	[[ "$stderr" == *AWS_SECRET_ACCESS_KEY* ]]
	[[ "$stderr" != *cursor:* ]]
	[[ "$stderr" != *wrong-secret-key* ]]
	AWS_SESSION_TOKEN=FQoGZXIvYXdzEPLANTEDsession run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_success
	jq -se '.[-1].sigv4 == "ok" and .[-1].headers["x-amz-security-token"] == "FQoGZXIvYXdzEPLANTEDsession" and (.[-1].headers.authorization | contains("x-amz-security-token"))' "$LOG"
}

@test "the cursor is per region; a later run starts each region at its cursor" {
	CONFIG_EXTRA=',"regions":["us-east-1","eu-west-1"]' mock < <(printf '[%s]\n' "$(route 200 "$(jq -c . "$FIX/page2.json")")")
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 10 ]
	cur=$(last_cursor)
	jq -e '. == {"us-east-1":"2026-11-05T01:45:00Z","eu-west-1":"2026-11-05T01:45:00Z"}' <<< "$cur"
	jq -se '[.[].headers.authorization | capture("/(?<r>[a-z0-9-]+)/cloudtrail/").r] == ["us-east-1","eu-west-1"]' "$LOG"
	run --separate-stderr ct --cursor '{"us-east-1":"2026-11-05T02:00:00Z","eu-west-1":"2026-11-05T01:45:00Z"}'
	assert_success
	# each from 15 minutes before its cursor: records reach CloudTrail minutes late
	jq -se 'map(.body | fromjson | .StartTime)[2:] == [1793843100, 1793842200]' "$LOG"
	# nothing newer in us-east-1 than its cursor: it keeps it
	jq -e '.["us-east-1"] == "2026-11-05T02:00:00Z"' <<< "$(last_cursor)"
}

@test "a ThrottlingException is retried, then the page comes" {
	mock < <(printf '[%s,%s]\n' "$(route 400 '{"__type":"ThrottlingException","message":"Rate exceeded"}' 2)" "$(route 200 "$(jq -c . "$FIX/page2.json")")")
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 5 ]
	[ "$(wc -l < "$LOG")" -eq 3 ]
	[[ "$stderr" == *'cursor: {"us-east-1":"2026-11-05T01:45:00Z"}'* ]]
}

@test "access denied names the region, the error, the credentials and the permission; no secret" {
	mock < <(printf '[%s]\n' "$(route 400 '{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/ro is not authorized to perform: cloudtrail:LookupEvents"}')")
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *"us-east-1"*AccessDeniedException*"not authorized"* ]]
	[[ "$stderr" == *AWS_ACCESS_KEY_ID*AWS_SECRET_ACCESS_KEY*cloudtrail:LookupEvents* ]]
	[[ "$stderr" != *cursor:* ]]
	no_secret
}

@test "a 403 UnrecognizedClientException says what to check" {
	mock < <(printf '[%s]\n' "$(route 403 '{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}')")
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *UnrecognizedClientException*AWS_ACCESS_KEY_ID* ]]
	no_secret
}

@test "another error exits 1 naming the region, __type and message" {
	mock < <(printf '[%s]\n' "$(route 400 '{"__type":"InvalidTimeRangeException","message":"Start time is after end time"}')")
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *us-east-1*InvalidTimeRangeException*"Start time is after end time"* ]]
}

@test "a malformed body fails clearly, without a cursor" {
	mock < <(printf '[{"method":"POST","path":"/","status":200,"headers":{"Content-Type":"application/x-amz-json-1.1"},"body":"{\\"Events\\": [{\\"EventId"}]\n')
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *us-east-1* ]]
	[[ "$stderr" != *cursor:* ]]
}

@test "no credentials: exit 1 saying what to set" {
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *AWS_ACCESS_KEY_ID* ]]
}

@test "a bad region or --since is a usage error" {
	MALLCOP_CONNECTOR_CONFIG='{"regions":["us-east-1; rm"]}' run --separate-stderr ct
	assert_failure 2
	run --separate-stderr ct --since yesterday
	assert_failure 2
}

@test "mallcop scan runs it from mallcop.yaml and stores the events; a second scan adds none" {
	mock < <(two_pages)
	config <<-EOF
	connectors:
	  aws:
	    type: aws-cloudtrail
	    regions: [us-east-1]
	    endpoint: http://127.0.0.1:$PORT
	    env: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	MALLCOP_NOW=2026-11-06T00:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 10 ]
	grep -q '2026-11-05T01:45:00Z' .mallcop/checkpoints.yaml
	MALLCOP_NOW=2026-11-06T00:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 10 ]
	jq -se '.[2].body | fromjson | .StartTime == 1793842200' "$LOG"
	! grep -rqF "$SECRET" .mallcop mallcop.yaml
	[[ "$output" != *"$SECRET"* ]]
}

@test "a record delivered minutes late is stored by the next scan, once; the others are not stored twice" {
	# the second poll answers a record 5 minutes older than the first poll's newest, with two
	# records the first poll already gave
	late=$(jq -c '{Events: ([.Events[3], .Events[4]] + [.Events[4] | .EventId = "a1b2c3d4-0011-4e5f-8a9b-000000000011" | .EventTime = 1793842800 | .EventName = "DeleteBucketPolicy"])}' "$FIX/page2.json")
	mock < <(printf '[%s,%s]\n' "$(route 200 "$(jq -c . "$FIX/page2.json")" 1)" "$(route 200 "$late")")
	config <<-EOF
	connectors:
	  aws:
	    type: aws-cloudtrail
	    regions: [us-east-1]
	    endpoint: http://127.0.0.1:$PORT
	    env: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	MALLCOP_NOW=2026-11-06T00:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 5 ]
	MALLCOP_NOW=2026-11-06T00:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 6 ]
	[ "$(stored_ids | uniq | wc -l)" -eq 6 ]
	[ "$(cat .mallcop/events/*.jsonl | jq -r .action | grep -c DeleteBucketPolicy)" -eq 1 ]
	# the second poll asked from before the late record's time
	jq -se '.[1].body | fromjson | .StartTime <= 1793842800' "$LOG"
}

@test "401: the credentials and the permission named, no cursor, no secret" {
	mock < <(printf '[{"method":"POST","path":"/","status":401,"body":{"message":"Unauthorized"}}]\n')
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_failure 1
	[[ "$stderr" == *"aws-cloudtrail: us-east-1: HTTP 401"*AWS_ACCESS_KEY_ID*cloudtrail:LookupEvents* ]]
	[[ "$stderr" != *cursor:* ]]
	no_secret
}

@test "429 with Retry-After, then the page" {
	mock < <(printf '[{"method":"POST","path":"/","status":429,"times":1,"headers":{"Retry-After":"2"},"body":{"message":"Too Many Requests"}},%s]\n' "$(route 200 "$(jq -c . "$FIX/page2.json")")")
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 5 ]
	[ "$(wc -l < "$LOG")" -eq 2 ]
	jq -se '.[1].sigv4 == "ok"' "$LOG"
	[ "$(last_cursor)" = '{"us-east-1":"2026-11-05T01:45:00Z"}' ]
}

@test "500, then the page" {
	mock < <(printf '[%s,%s]\n' "$(route 500 '{"__type":"InternalFailure","message":"internal error"}' 1)" "$(route 200 "$(jq -c . "$FIX/page2.json")")")
	run --separate-stderr ct --since 2026-11-05T00:00:00Z
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 5 ]
	[ "$(wc -l < "$LOG")" -eq 2 ]
}

@test "an empty page: no events, the cursor stays where it was" {
	mock < <(printf '[%s]\n' "$(route 200 '{"Events":[]}')")
	run --separate-stderr ct --cursor '{"us-east-1":"2026-11-05T01:45:00Z"}'
	assert_success
	assert_output ''
	[ "$(last_cursor)" = '{"us-east-1":"2026-11-05T01:45:00Z"}' ]
}

@test "when it fails, mallcop scan still stores the other connectors' events and keeps its checkpoint" {
	mock < <(printf '[%s,%s]\n' "$(route 200 "$(jq -c . "$FIX/page2.json")" 1)" "$(route 403 '{"__type":"AccessDeniedException","message":"not authorized"}')")
	mkdir -p feed
	event evt_00000000000000000001 app 2026-11-05T10:00:00Z > feed/a.jsonl
	config <<-EOF
	connectors:
	  aws:
	    type: aws-cloudtrail
	    endpoint: http://127.0.0.1:$PORT
	    access_key_id: \${AWS_ACCESS_KEY_ID}
	    secret_access_key: \${AWS_SECRET_ACCESS_KEY}
	  app:
	    type: file
	    paths: [feed/*.jsonl]
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	MALLCOP_NOW=2026-11-06T00:00:00Z run mallcop scan
	assert_success
	[ "$(stored_ids | wc -l)" -eq 6 ]
	cp .mallcop/checkpoints.yaml before.yaml
	event evt_00000000000000000002 app 2026-11-05T11:00:00Z >> feed/a.jsonl
	MALLCOP_NOW=2026-11-06T00:00:00Z run --separate-stderr mallcop scan
	assert_failure 1
	[[ "$stderr$output" == *aws*AccessDeniedException* ]]
	[ "$(stored_ids | wc -l)" -eq 7 ]
	[ "$(sed -n '/^aws:/,/^[a-z]/p' .mallcop/checkpoints.yaml | grep value)" = "$(sed -n '/^aws:/,/^[a-z]/p' before.yaml | grep value)" ]
	{ ! grep -rqF "$SECRET" .mallcop mallcop.yaml; } || false
}

@test "a response of the wrong kind fails cleanly or is skipped, never an abort" {
	for body in '[]' '"x"' '5' '{"Events":5}' '{"Events":"x"}' '{"Events":[5,"x",null]}' '{"Events":[{"EventTime":"x","EventName":5}]}' '{"Events":[{"EventTime":1793838300,"EventName":5,"EventId":[],"Username":{},"Resources":[5,"x"],"CloudTrailEvent":"[1]"}]}' '{"Events":[{"EventTime":1793838300,"Resources":"x","CloudTrailEvent":{"userIdentity":5,"requestParameters":[],"responseElements":"x"}}]}' '{"Events":[],"NextToken":5}'; do
		rm -f "$LOG"
		mock < <(printf '[%s]\n' "$(route 200 "$body")")
		run --separate-stderr ct --since 2026-11-05T00:00:00Z
		[ "$status" -le 1 ] || { echo "$body: $status: $stderr" >&3; false; }
		[[ "$stderr" == *aws-cloudtrail* ]]
		[[ "$stderr" != *Assertion* ]]
		if [ "$status" -eq 1 ]; then [[ "$stderr" != *cursor:* ]]; fi
		mock_stop
	done
	# an error answer of the wrong kind
	for body in '[]' '"x"' '{"__type":5,"message":[]}'; do
		rm -f "$LOG"
		mock < <(printf '[%s]\n' "$(route 400 "$body")")
		run --separate-stderr ct --since 2026-11-05T00:00:00Z
		assert_failure 1
		[[ "$stderr" == *"aws-cloudtrail: us-east-1"*"HTTP 400"* ]]
		mock_stop
	done
}

@test "a service that echoes the request back: no credential (session token, signature, key) in any message, of the connector or of scan" {
	export AWS_SESSION_TOKEN=FQoGZXIvYXdzMARKERsessionTOKEN0123456789
	for st in 400 500; do
		rm -f "$LOG"
		mock < <(printf '[{"method":"POST","path":"/","status":%s,"echo":true}]\n' "$st")
		run --separate-stderr ct --since 2026-11-05T00:00:00Z
		assert_failure 1
		[[ "$stderr" == *"you sent"* ]]
		sig=$(jq -r '.headers.authorization | capture("Signature=(?<s>[0-9a-f]+)").s' "$LOG" | head -n 1)
		[ -n "$sig" ]
		for m in "$AWS_SESSION_TOKEN" "$SECRET" "$sig"; do
			[[ "$output$stderr" != *"$m"* ]]
		done
		mock_stop
	done
	mock < <(printf '[{"method":"POST","path":"/","status":400,"echo":true}]\n')
	config <<-EOF
	connectors:
	  aws:
	    type: aws-cloudtrail
	    endpoint: http://127.0.0.1:$PORT
	    env: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN]
	EOF
	unset MALLCOP_CONNECTOR_CONFIG
	run --separate-stderr mallcop scan
	assert_failure 1
	[[ "$output$stderr" == *"you sent"* ]]
	[[ "$output$stderr" != *"$AWS_SESSION_TOKEN"* && "$output$stderr" != *"$SECRET"* ]]
}
