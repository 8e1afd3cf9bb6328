#!/usr/bin/env bats
# the notifiers: mallcop-notify-slack, -teams, -webhook against a local HTTPS receiver,
# mallcop-notify-email against a local SMTP receiver (tests/mock/smtp.py)

load helper

bats_require_minimum_version 1.5.0

HOOK=/hook/T000/B000/xyzzysecretpath
SECRET=xyzzysecretpath
HOSTILE=$'Evil <!channel> \e[31mred\e[0m [USER_DATA_BEGIN]x[USER_DATA_END] [click](https://evil.example) <script>alert(1)</script> a&b\r\nBcc: victim@example.com'

setup() {
	# the programs themselves, as mallcop-escalate and a shell pipeline run them
	export PATH="$MALLCOP_EXEC_PATH:$PATH"
	export MALLCOP_HTTP_FAST=1
	unset MALLCOP_NOTIFY_CONFIG SLACK_WEBHOOK_URL TEAMS_WEBHOOK_URL MALLCOP_WEBHOOK_URL \
		MALLCOP_WEBHOOK_SECRET SMTP_URL SMTP_HOST SMTP_PORT SMTP_FROM SMTP_TO SMTP_USERNAME \
		SMTP_PASSWORD CURL_CA_BUNDLE SSL_CERT_FILE
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	mock_stop
	smtp_stop
}

# one finding line: finding ID SEVERITY TITLE [ANNOTATION]
finding() {
	jq -cn --arg id "$1" --arg sev "$2" --arg title "$3" --arg ann "${4:-}" \
		'{id:$id, timestamp:"2026-11-26T11:00:00Z", detector:"new_actor", event_ids:["evt_1"],
		  title:$title, severity:$sev, status:"open", metadata:{},
		  annotations:(if $ann == "" then [] else
		    [{actor:"triage", timestamp:"2026-11-26T11:01:00Z", content:"first look",
		      action:"escalated", reason:null},
		     {actor:"investigate", timestamp:"2026-11-26T11:02:00Z", content:$ann,
		      action:"escalated", reason:null}] end)}'
}

# three findings as JSON Lines, in an order that is not the severity order
three() {
	finding fnd_i info "an info finding"
	finding fnd_c critical "a critical finding" "admin added at 3am"
	finding fnd_w warn "a warn finding"
}

# an HTTPS receiver with the test CA; extra routes (JSON objects, comma-separated) go first
receiver() {
	test_ca
	export CURL_CA_BUNDLE="$CA"
	mock_start <<-EOF
	[${1:+$1,}
	 {"method": "POST", "path": "$HOOK", "status": 200, "body": "ok"}]
	EOF
	URL="https://127.0.0.1:$PORT$HOOK"
	export SLACK_WEBHOOK_URL="$URL" TEAMS_WEBHOOK_URL="$URL" MALLCOP_WEBHOOK_URL="$URL"
	export MALLCOP_WEBHOOK_SECRET=whsec-test-123
	export MALLCOP_NOTIFY_CONFIG='{"allow_private": true}'
}

# the JSON body of the last request the receiver got
sent() {
	jq -s '.[-1].body | fromjson' "$LOG"
}

requests() {
	[ -f "$LOG" ] && wc -l < "$LOG" || echo 0
}

# a notifier's failure: exit 1, the channel and the cause named, the URL's secret path never
failed_with() {
	assert_failure 1
	[[ "$stderr" == *"$1"* ]]
	[[ "$stderr" == *"$2"* ]]
	no_secret
}

# ---- Slack ----

@test "slack: a digest of JSON Lines is one Block Kit message, groups in severity order" {
	receiver
	run --separate-stderr mallcop-notify-slack < <(three)
	assert_success
	printf '%s\n' "$output" | jq -e '.status == "ok" and .channel == "slack" and .sent == 3'
	sent | jq -e '.blocks[0] == {type: "header", text: {type: "plain_text",
		text: "mallcop: 3 findings (1 critical, 1 warn, 1 info)"}}'
	sent | jq -e '.text == "mallcop: 3 findings (1 critical, 1 warn, 1 info)"'
	run jq -r '[.blocks[] | select(.type == "section") | .text.text] | .[]' < <(sent)
	assert_line --index 0 $'\U1F534 *CRITICAL* (1)'
	assert_line --index 1 $'\u2022 `fnd_c` a critical finding'
	assert_line --index 2 '    _investigate: admin added at 3am_'
	assert_line --index 3 $'\U1F7E1 *WARN* (1)'
	assert_line --index 4 $'\u2022 `fnd_w` a warn finding'
	assert_line --index 5 $'\U1F535 *INFO* (1)'
	assert_line --index 6 $'\u2022 `fnd_i` an info finding'
	jq -s -e '.[0].headers["content-type"] == "application/json"' "$LOG"
}

@test "slack: a hostile title comes out escaped for mrkdwn, markers and escapes gone" {
	receiver
	run --separate-stderr mallcop-notify-slack < <(finding fnd_x critical "$HOSTILE" $'pwn\e]0;title\a <@U123>')
	assert_success
	run jq -r '.blocks[] | select(.type == "section") | .text.text' < <(sent)
	assert_line --index 1 "• \`fnd_x\` Evil &lt;!channel&gt; red x [click](https://evil.example) &lt;script&gt;alert(1)&lt;/script&gt; a&amp;b Bcc: victim@example.com"
	assert_line --index 2 '    _investigate: pwn &lt;@U123&gt;_'
	sent | jq -e '[.. | strings | select(test("[\u0000-\u0009\u000b-\u001f\u007f]|USER_DATA|<!channel>"))] == []'
	sent | jq -e '.blocks[0].text.text == "mallcop: 1 finding (critical)"'
}

@test "slack: a digest object keeps its title and note; many findings fit Slack's limits" {
	receiver
	{ for i in $(seq 1 400); do finding "fnd_$i" warn "finding number $i $(printf "%0300d" 0)" "note $i $(printf "%0300d" 0)"; done; } |
		jq -s '{kind: "digest", title: "Nightly digest <b>", note: "from cron", findings: .}' > digest.json
	run --separate-stderr mallcop-notify-slack < digest.json
	assert_success
	sent | jq -e '.blocks[0].text.text == "Nightly digest <b>"'
	sent | jq -e '.blocks[1].text.text == "from cron"'
	sent | jq -e '(.blocks | length) <= 50 and ([.blocks[] | .text.text? // empty | length] | max) <= 3000'
	sent | jq -e '.blocks[-1].type == "context" and (.blocks[-1].elements[0].text | test("more not shown"))'
}

# ---- Teams ----

@test "teams: an Adaptive Card in a workflow message, groups in severity order" {
	receiver
	run --separate-stderr mallcop-notify-teams < <(three)
	assert_success
	sent | jq -e '.type == "message" and (.attachments | length) == 1'
	sent | jq -e '.attachments[0].contentType == "application/vnd.microsoft.card.adaptive"'
	sent | jq -e '.attachments[0].content | .type == "AdaptiveCard" and .version == "1.4"'
	sent | jq -e '.attachments[0].content.body[0] | .type == "TextBlock" and .weight == "Bolder"
		and .text == "mallcop: 3 findings (1 critical, 1 warn, 1 info)"'
	run jq -r '.attachments[0].content.body[] | select(.type == "TextBlock") | .text' < <(sent)
	assert_output "$(printf '%s\n' 'mallcop: 3 findings (1 critical, 1 warn, 1 info)' 'CRITICAL (1)' 'WARN (1)' 'INFO (1)')"
	sent | jq -e '[.attachments[0].content.body[] | select(.type == "FactSet") | .facts[].title]
		== ["fnd\\_c", "fnd\\_w", "fnd\\_i"]'
	sent | jq -e '.attachments[0].content.body[2].facts[0].value ==
		"a critical finding — investigate: admin added at 3am"'
}

@test "teams: a hostile title comes out escaped for Adaptive Card markdown" {
	receiver
	run --separate-stderr mallcop-notify-teams < <(finding fnd_x warn "$HOSTILE")
	assert_success
	run jq -r '.attachments[0].content.body[] | select(.type == "FactSet") | .facts[0].value' < <(sent)
	assert_output 'Evil \<!channel\> red x \[click\](https://evil.example) \<script\>alert(1)\</script\> a&b Bcc: victim@example.com'
	sent | jq -e '[.. | strings | select(test("[\u0000-\u001f\u007f]|USER_DATA"))] == []'
}

# ---- webhook ----

@test "webhook: one finding, signed; the receiver's HMAC over timestamp.body matches" {
	receiver
	finding fnd_1 critical "$HOSTILE" > one.json
	run --separate-stderr mallcop-notify-webhook < one.json
	assert_success
	sent | jq -e --slurpfile f one.json '. == {kind: "finding", finding: $f[0]}'
	ts=$(jq -rs '.[-1].headers["x-mallcop-timestamp"]' "$LOG")
	sig=$(jq -rs '.[-1].headers["x-mallcop-signature"]' "$LOG")
	body=$(jq -rs '.[-1].body' "$LOG")
	[ "$(( $(date +%s) - ts ))" -lt 60 ]
	want=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac whsec-test-123 | sed 's/^.* //')
	[ "$sig" = "sha256=$want" ]
	# the hostile text is JSON-escaped, never raw
	[[ "$body" != *$'\e'* && "$body" != *$'\r'* ]]
	[[ "$body" == *'\u001b[31m'* ]]
}

@test "webhook: JSON Lines post as a digest; a digest object goes as it came" {
	receiver
	run --separate-stderr mallcop-notify-webhook < <(three)
	assert_success
	sent | jq -e '.kind == "digest" and .title == "mallcop: 3 findings (1 critical, 1 warn, 1 info)"
		and ([.findings[].id] == ["fnd_i", "fnd_c", "fnd_w"])'
	three | jq -s '{kind: "digest", title: "t", note: "n", findings: .}' > d.json
	run --separate-stderr mallcop-notify-webhook < d.json
	assert_success
	sent | jq -e --slurpfile d d.json '. == $d[0]'
}

@test "webhook: a secret is required unless unsigned: true, and then no signature is sent" {
	receiver
	unset MALLCOP_WEBHOOK_SECRET
	run --separate-stderr mallcop-notify-webhook --check
	assert_failure 1
	[[ "$stderr" == *webhook*secret* ]]
	run --separate-stderr mallcop-notify-webhook < <(three)
	assert_failure 1
	[ "$(requests)" -eq 0 ]
	export MALLCOP_NOTIFY_CONFIG='{"allow_private": true, "unsigned": true}'
	run --separate-stderr mallcop-notify-webhook < <(three)
	assert_success
	jq -s -e '.[-1].headers | has("x-mallcop-signature") | not' "$LOG"
	# the secret from the settings wins over the variable
	export MALLCOP_WEBHOOK_SECRET=from-env
	export MALLCOP_NOTIFY_CONFIG='{"allow_private": true, "secret": "from-config"}'
	run --separate-stderr mallcop-notify-webhook < <(three)
	assert_success
	ts=$(jq -rs '.[-1].headers["x-mallcop-timestamp"]' "$LOG")
	want=$(printf '%s.%s' "$ts" "$(jq -rs '.[-1].body' "$LOG")" | openssl dgst -sha256 -hmac from-config | sed 's/^.* //')
	jq -rs -e --arg w "sha256=$want" '.[-1].headers["x-mallcop-signature"] == $w' "$LOG"
}

@test "webhook: a receiver rejecting the delivery (401) is a failure naming the status" {
	receiver '{"method": "POST", "path": "'"$HOOK"'", "status": 401, "body": {"message": "bad signature"}}'
	run --separate-stderr mallcop-notify-webhook < <(three)
	failed_with webhook "HTTP 401: bad signature"
	[ "$(requests)" -eq 1 ]
	[[ "$stderr" != *whsec-test-123* ]]
}

# ---- what the three HTTP notifiers share ----

@test "http notifiers: 429 with Retry-After, then 200, is delivered" {
	for ch in slack teams webhook; do
		receiver '{"method": "POST", "path": "'"$HOOK"'", "status": 429, "times": 1, "headers": {"Retry-After": "2"}, "body": "slow down"}'
		run --separate-stderr "mallcop-notify-$ch" < <(three)
		assert_success
		[ "$(requests)" -eq 2 ]
		mock_stop
		rm -f "$LOG"
	done
}

@test "http notifiers: 500 for ever fails with exit 1 naming the channel and the status" {
	for ch in slack teams webhook; do
		receiver '{"method": "POST", "path": "'"$HOOK"'", "status": 500, "body": "internal trouble"}'
		run --separate-stderr "mallcop-notify-$ch" < <(three)
		failed_with "$ch: POST 127.0.0.1:$PORT" "HTTP 500: internal trouble"
		[ "$(requests)" -eq 5 ]
		printf '%s\n' "$output" | jq -e '.status == "error"'
		mock_stop
		rm -f "$LOG"
	done
}

@test "http notifiers: a redirect is not followed and is a failure" {
	for ch in slack teams webhook; do
		receiver '{"method": "POST", "path": "'"$HOOK"'", "status": 302, "headers": {"Location": "https://127.0.0.1:{port}/elsewhere"}}'
		run --separate-stderr "mallcop-notify-$ch" < <(three)
		failed_with "$ch" "HTTP 302"
		[ "$(requests)" -eq 1 ]
		mock_stop
		rm -f "$LOG"
	done
}

@test "http notifiers: a private address is refused without allow_private, --check too" {
	receiver
	unset MALLCOP_NOTIFY_CONFIG
	for ch in slack teams webhook; do
		run --separate-stderr "mallcop-notify-$ch" < <(three)
		failed_with "$ch" "loopback"
		run --separate-stderr "mallcop-notify-$ch" --check
		failed_with "$ch" "allow_private"
	done
	for url in "https://localhost:$PORT/x" "https://10.1.2.3/x" "https://[::1]:$PORT/x" \
		"https://169.254.169.254/latest" "https://[fd00::1]/x" "https://[::ffff:192.168.1.1]/x" \
		"https://100.64.0.1/x" "https://0.0.0.0/x"; do
		SLACK_WEBHOOK_URL=$url run --separate-stderr mallcop-notify-slack --check
		assert_failure 1
		[[ "$stderr" == *"slack: webhook_url: refusing"* ]]
	done
	[ "$(requests)" -eq 0 ]
}

@test "http notifiers: http:// is refused, even to an allowed private address" {
	receiver
	for ch in slack teams webhook; do
		run --separate-stderr env SLACK_WEBHOOK_URL="http://127.0.0.1:$PORT$HOOK" \
			TEAMS_WEBHOOK_URL="http://127.0.0.1:$PORT$HOOK" \
			MALLCOP_WEBHOOK_URL="http://127.0.0.1:$PORT$HOOK" "mallcop-notify-$ch" < <(three)
		failed_with "$ch" "must be an https:// URL"
	done
	[ "$(requests)" -eq 0 ]
}

@test "http notifiers: TLS is verified: without the test CA the delivery fails" {
	receiver
	unset CURL_CA_BUNDLE
	run --separate-stderr mallcop-notify-slack < <(three)
	failed_with slack "POST 127.0.0.1:$PORT"
	[ "$(requests)" -eq 0 ]
}

@test "http notifiers: the settings come from MALLCOP_NOTIFY_CONFIG before the variables" {
	receiver
	export SLACK_WEBHOOK_URL=https://hooks.invalid/nowhere
	export MALLCOP_NOTIFY_CONFIG='{"allow_private": true, "timeout": 10, "webhook_url": "'"$URL"'"}'
	run --separate-stderr mallcop-notify-slack < <(three)
	assert_success
	[ "$(requests)" -eq 1 ]
}

# ---- input, --check, usage ----

@test "empty input: nothing to send, exit 0, nothing sent" {
	receiver
	for ch in slack teams webhook email; do
		run --separate-stderr "mallcop-notify-$ch" < /dev/null
		assert_success
		[[ "$stderr" == *"nothing to send"* ]]
		run --separate-stderr "mallcop-notify-$ch" <<< '{"kind": "digest", "title": "x", "findings": []}'
		assert_success
	done
	[ "$(requests)" -eq 0 ]
}

@test "malformed input: exit 1 naming the line, nothing sent" {
	receiver
	{ finding f1 warn a; echo '{"id": "f2", "title": '; finding f3 info c; } > bad.jsonl
	run --separate-stderr mallcop-notify-slack < bad.jsonl
	assert_failure 1
	[[ "$stderr" == *"stdin line 2: malformed JSON"* ]]
	{ finding f1 warn a; echo '[1, 2]'; } > bad.jsonl
	run --separate-stderr mallcop-notify-teams < bad.jsonl
	assert_failure 1
	[[ "$stderr" == *"stdin line 2: not a finding"* ]]
	run --separate-stderr mallcop-notify-webhook <<< '{"kind": "digest", "findings": [{"title": "no id"}]}'
	assert_failure 1
	[[ "$stderr" == *"findings[0] is not a finding"* ]]
	[ "$(requests)" -eq 0 ]
}

@test "--check: good settings pass without sending; a missing or bad key is named" {
	receiver
	for ch in slack teams webhook; do
		run --separate-stderr "mallcop-notify-$ch" --check
		assert_success
		printf '%s\n' "$output" | jq -e --arg ch "$ch" '.channel == $ch and .check == "ok"'
	done
	[ "$(requests)" -eq 0 ]
	unset SLACK_WEBHOOK_URL
	run --separate-stderr mallcop-notify-slack --check
	failed_with slack "set webhook_url in the channel's settings or SLACK_WEBHOOK_URL"
	MALLCOP_NOTIFY_CONFIG='{"url": ["x"], "allow_private": true}' run --separate-stderr mallcop-notify-webhook --check
	failed_with webhook "url must be a string"
	MALLCOP_NOTIFY_CONFIG='{"allow_private": "yes"}' run --separate-stderr mallcop-notify-teams --check
	failed_with teams "allow_private must be true or false"
	MALLCOP_NOTIFY_CONFIG='{"allow_private": true, "timeout": "soon"}' run --separate-stderr mallcop-notify-teams --check
	failed_with teams "timeout must be a number"
	MALLCOP_NOTIFY_CONFIG="{\"webhook_url\": \"$URL\"" run --separate-stderr mallcop-notify-teams --check
	failed_with teams "MALLCOP_NOTIFY_CONFIG is not a JSON object"
	TEAMS_WEBHOOK_URL="not a url $SECRET" run --separate-stderr mallcop-notify-teams --check
	failed_with teams "webhook_url is not a URL"
}

@test "usage: -h prints the synopsis; a bad flag or an argument is a usage error" {
	for ch in slack teams webhook email; do
		run mallcop-notify-$ch -h
		assert_success
		assert_output "usage: mallcop-notify-$ch [--check] < FINDINGS"
		run --separate-stderr mallcop-notify-$ch --bogus
		assert_failure 2
		run --separate-stderr mallcop-notify-$ch extra
		assert_failure 2
	done
}

@test "mallcop report --jsonl | mallcop-notify-webhook delivers the deployment's findings" {
	receiver
	deployment
	echo 'connectors: {}' | config
	mkdir -p .mallcop
	{
		finding f_open critical "root login from a new country" "escalated to a human"
		finding f_warn warn "new collaborator"
		jq -c '.status = "resolved"' < <(finding f_done critical "resolved one")
	} > .mallcop/findings.jsonl
	mallcop report --jsonl --status open | mallcop-notify-webhook
	sent | jq -e '.kind == "digest" and ([.findings[].id] | sort) == ["f_open", "f_warn"]'
	mallcop report --jsonl --severity critical --status open | mallcop-notify-slack
	sent | jq -e '.blocks[0].text.text == "mallcop: 1 finding (critical)"'
	[ "$(requests)" -eq 2 ]
}

# ---- email ----

# a local SMTP receiver (tests/mock/smtp.py) with the test CA's certificate; sets SMTP_PORT and
# MAIL, the JSONL log of the messages it got; extra options go to smtp.py
smtp_start() {
	[ -n "${CA:-}" ] || test_ca
	export CURL_CA_BUNDLE="$CA"
	MAIL="$BATS_TEST_TMPDIR/mail.jsonl"
	rm -f "$BATS_TEST_TMPDIR/smtp-port" "$MAIL"
	python3 "$TOP/tests/mock/smtp.py" --port-file "$BATS_TEST_TMPDIR/smtp-port" \
		--cert "$BATS_TEST_TMPDIR/ca/server.pem" --key "$BATS_TEST_TMPDIR/ca/server.key" \
		--log "$MAIL" "$@" >/dev/null 3>&- &
	SMTP_PID=$!
	for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/smtp-port" ] && break; sleep 0.05; done
	SMTP_PORT=$(cat "$BATS_TEST_TMPDIR/smtp-port")
}

smtp_stop() {
	if [ -n "${SMTP_PID:-}" ]; then
		kill "$SMTP_PID" 2>/dev/null
		wait "$SMTP_PID" 2>/dev/null || true
		SMTP_PID=
	fi
}

# settings for the receiver; the password is the secret no output may show
mailer() {
	smtp_start "$@"
	SECRET=pw-Sup3rSecret
	export SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" SMTP_FROM=mallcop@example.com \
		SMTP_TO="ops@example.com, sec@example.com" SMTP_USERNAME=alice SMTP_PASSWORD="$SECRET"
	export MALLCOP_NOTIFY_CONFIG='{"allow_private": true}'
}

# the last message (or session) the receiver recorded
mail() {
	jq -s '.[-1]' "$MAIL"
}

@test "email: a digest arrives over verified STARTTLS, authenticated, with the right envelope" {
	mailer --auth alice:pw-Sup3rSecret
	run --separate-stderr mallcop-notify-email < <(three)
	assert_success
	printf '%s\n' "$output" | jq -e '.channel == "email" and .sent == 3'
	mail | jq -e '.tls == true and .auth == "alice"'
	mail | jq -e '.mail_from == "<mallcop@example.com>" and .rcpt_to == ["<ops@example.com>", "<sec@example.com>"]'
	mail | jq -e '.headers.Subject == "mallcop: 3 findings (1 critical, 1 warn, 1 info)"'
	mail | jq -e '.headers.From == "mallcop <mallcop@example.com>" and .headers.To == "ops@example.com, sec@example.com"'
	mail | jq -e '.headers.Date != null and (.headers["Message-ID"] | test("^<[0-9a-f]{32}@example.com>$"))'
	mail | jq -e '.headers["Content-Type"] | startswith("multipart/alternative")'
	mail | jq -e '.parts | keys == ["text/html", "text/plain"]'
	run bash -c "jq -r '.parts[\"text/plain\"]' '$MAIL' | tr -d '\r'"
	# (bats leaves the blank lines out of $lines)
	assert_line --index 0 'mallcop: 3 findings (1 critical, 1 warn, 1 info)'
	assert_line --index 1 'CRITICAL (1)'
	assert_line --index 2 '  - fnd_c: a critical finding'
	assert_line --index 3 '    investigate: admin added at 3am'
	assert_line --index 4 '    (new_actor, 2026-11-26T11:00:00Z)'
	assert_line --index 5 'WARN (1)'
	assert_line --index 6 '  - fnd_w: a warn finding'
	assert_line --index 8 'INFO (1)'
	assert_line --index 9 '  - fnd_i: an info finding'
	mail | jq -e '.parts["text/html"] | contains("<li><code>fnd_c</code> a critical finding<br><em>investigate: admin added at 3am</em></li>")'
	no_secret
}

@test "email: a hostile title is HTML-escaped and cannot inject a header" {
	mailer
	run --separate-stderr mallcop-notify-email < <(finding fnd_x critical "$HOSTILE" $'<img src=x onerror=alert(1)>\r\nX-Evil: 1')
	assert_success
	mail | jq -e '.parts["text/html"] | contains("Evil &lt;!channel&gt; red x [click](https://evil.example) &lt;script&gt;alert(1)&lt;/script&gt; a&amp;b Bcc: victim@example.com")'
	mail | jq -e '.parts["text/html"] | contains("&lt;img src=x onerror=alert(1)&gt; X-Evil: 1")'
	mail | jq -e '.parts["text/html"] | contains("<script>") | not'
	mail | jq -e '.parts["text/plain"] | contains("  - fnd_x: Evil <!channel> red x [click](https://evil.example) <script>alert(1)</script> a&b Bcc: victim@example.com\r\n")'
	mail | jq -e '(.headers | has("Bcc") or has("X-Evil") | not) and .rcpt_to == ["<ops@example.com>", "<sec@example.com>"]'
	mail | jq -e '[.parts[] | test("[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f]|USER_DATA")] == [false, false]'
}

@test "email: a receiver that offers no STARTTLS gets nothing, not even the password" {
	mailer --no-starttls
	run --separate-stderr mallcop-notify-email < <(three)
	failed_with "email: SMTP 127.0.0.1:$SMTP_PORT" "STARTTLS"
	mail | jq -e '.aborted != null and .auth == null and .tls == false'
	[ "$(jq -s 'map(select(.data)) | length' "$MAIL")" -eq 0 ]
}

@test "email: the server's certificate is verified" {
	mailer
	unset CURL_CA_BUNDLE
	run --separate-stderr mallcop-notify-email < <(three)
	failed_with "email: SMTP" "127.0.0.1"
	[ "$(jq -s 'map(select(.data)) | length' "$MAIL")" -eq 0 ]
}

@test "email: smtps:// is implicit TLS; smtp_host and smtp_port and a list of recipients work too" {
	mailer --tls
	export SMTP_URL="smtps://127.0.0.1:$SMTP_PORT"
	run --separate-stderr mallcop-notify-email < <(three)
	assert_success
	mail | jq -e '.tls == true and (.parts | length) == 2'
	smtp_stop
	mailer
	unset SMTP_URL SMTP_TO
	export MALLCOP_NOTIFY_CONFIG='{"allow_private": true, "smtp_host": "127.0.0.1", "smtp_port": '"$SMTP_PORT"', "to": ["a@example.com", " b@example.com "]}'
	run --separate-stderr mallcop-notify-email < <(three)
	assert_success
	mail | jq -e '.tls == true and .rcpt_to == ["<a@example.com>", "<b@example.com>"]'
}

@test "email: a rejection fails with exit 1 naming the SMTP reply; the password never shows" {
	mailer --reject rcpt:550
	run --separate-stderr mallcop-notify-email < <(three)
	failed_with "email: SMTP 127.0.0.1:$SMTP_PORT" "550 5.0.0 rejected by the test receiver"
	[ "$(jq -s 'length' "$MAIL")" -eq 1 ]
	smtp_stop
	mailer --auth alice:another-password
	run --separate-stderr mallcop-notify-email < <(three)
	failed_with email "535 5.7.8 authentication credentials invalid"
	smtp_stop
	mailer --reject greeting:421
	run --separate-stderr mallcop-notify-email < <(three)
	failed_with email "421"
	[[ "$stderr" == *"after 3 tries"* ]]
	[ "$(jq -s 'length' "$MAIL")" -eq 3 ]
}

@test "email: --check names the missing or bad key and sends nothing" {
	mailer
	run --separate-stderr mallcop-notify-email --check
	assert_success
	[ "$(jq -s 'length' "$MAIL" 2>/dev/null || echo 0)" -eq 0 ]
	SMTP_TO=$'ops@example.com\r\nBcc: victim@example.com' run --separate-stderr mallcop-notify-email --check
	failed_with email "to: an address holds a line break"
	SMTP_TO='Ops <ops@example.com>' run --separate-stderr mallcop-notify-email --check
	failed_with email "to: 'Ops <ops@example.com>' is not a plain address"
	SMTP_FROM=$'a@example.com\nX: y' run --separate-stderr mallcop-notify-email --check
	failed_with email "from: an address holds a line break"
	SMTP_FROM= run --separate-stderr mallcop-notify-email --check
	failed_with email "no sender: set from in the channel's settings or SMTP_FROM"
	SMTP_TO= run --separate-stderr mallcop-notify-email --check
	failed_with email "no recipient"
	SMTP_URL= run --separate-stderr mallcop-notify-email --check
	failed_with email "no SMTP server"
	SMTP_URL="https://127.0.0.1:$SMTP_PORT" run --separate-stderr mallcop-notify-email --check
	failed_with email "smtp_url must be smtp:// (STARTTLS) or smtps:// (TLS), not https://"
	MALLCOP_NOTIFY_CONFIG= run --separate-stderr mallcop-notify-email --check
	failed_with email "smtp_url: refusing '127.0.0.1'"
	MALLCOP_NOTIFY_CONFIG='{"allow_private": true, "to": [1]}' run --separate-stderr mallcop-notify-email --check
	failed_with email "to[0] must be a string"
}
