# shared by every bats file: the libraries, the programs under test, a scratch deployment
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# the same locale whatever the caller's (C.UTF-8 is on every Debian 12): tests that build
# expected text with $'\U...' need a UTF-8 one
export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset LANGUAGE

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
# `sh tests/run BUILD` points this at the build being tested (the sanitizer build, say)
export MALLCOP_EXEC_PATH="${MALLCOP_EXEC_PATH:-$TOP/bin}"
export PATH="$TOP:$PATH"
unset MALLCOP_DIR MALLCOP_HUMAN MALLCOP_NOW
export NO_COLOR=1

# a fresh deployment directory, made the current one
deployment() {
	D="$BATS_TEST_TMPDIR/dep"
	mkdir -p "$D"
	cd "$D" || return 1
}

# write mallcop.yaml from stdin
config() {
	cat > "$D/mallcop.yaml"
}

# one event line in our shape: event ID SOURCE TIMESTAMP [ACTOR] [TYPE]
event() {
	printf '{"id":"%s","timestamp":"%s","source":"%s","event_type":"%s","actor":"%s","action":"a","target":"t","severity":"info","metadata":{},"raw":{}}\n' \
		"$1" "$3" "$2" "${5:-push}" "${4:-alice}"
}

# the ids stored in the deployment, sorted, one per line
stored_ids() {
	cat "$D"/.mallcop/events/*.jsonl 2>/dev/null | jq -r .id | sort
}

# a local mock service (tests/mock/serve.py): routes JSON on stdin; sets PORT, and LOG is where
# it writes each request it got; mock_stop (from teardown) stops it
mock_start() {
	LOG="$BATS_TEST_TMPDIR/log.jsonl"
	cat > "$BATS_TEST_TMPDIR/routes.json"
	rm -f "$BATS_TEST_TMPDIR/port"
	python3 "$TOP/tests/mock/serve.py" --port-file "$BATS_TEST_TMPDIR/port" ${MOCK_TLS:+--tls $MOCK_TLS} \
		"$BATS_TEST_TMPDIR/routes.json" "$LOG" >/dev/null 3>&- &
	MOCK_PID=$!
	for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.05; done
	PORT=$(cat "$BATS_TEST_TMPDIR/port")
}

# a certificate authority made now, and a certificate it signed for 127.0.0.1: CA is its
# certificate; the next mock_start serves HTTPS with it
test_ca() {
	local d="$BATS_TEST_TMPDIR/ca"
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mallcop-test-ca -days 1 \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$d/server.key" \
		-out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' > "$d/san"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 1 -extfile "$d/san" -out "$d/server.pem" 2>/dev/null
	CA="$d/ca.pem"
	MOCK_TLS="$d/server.pem $d/server.key"
}

mock_stop() {
	if [ -n "${MOCK_PID:-}" ]; then
		kill "$MOCK_PID" 2>/dev/null
		wait "$MOCK_PID" 2>/dev/null || true
		MOCK_PID=
	fi
}

# connectors: the value of the last "cursor: " line the last run printed on stderr
last_cursor() {
	printf '%s\n' "$stderr" | grep '^cursor: ' | tail -n 1 | sed 's/^cursor: //'
}

# neither the stdout nor the stderr of the last run holds $SECRET
no_secret() {
	{ ! printf '%s\n%s\n' "$output" "$stderr" | grep -qF "$SECRET"; } || false
}

# a connector's failure: exit 1, the connector (CONNECTOR) and the cause named, no cursor, no
# secret: failed_with CAUSE
failed_with() {
	assert_failure 1
	[[ "$stderr" == *"$CONNECTOR"* ]]
	[[ "$stderr" == *"$1"* ]]
	[[ "$stderr" != *cursor:* ]]
	no_secret
}

# hold the deployment's lock for SECONDS in the background, returning once it is held (not after
# a guessed sleep, which a loaded machine outlasts); killing HOLDER releases it
hold_lock() {
	mkdir -p .mallcop
	rm -f "$BATS_TEST_TMPDIR/held"
	flock -o .mallcop/lock sh -c ": > '$BATS_TEST_TMPDIR/held'; exec sleep $1" 3>&- &
	HOLDER=$!
	for _ in $(seq 200); do [ -e "$BATS_TEST_TMPDIR/held" ] && return 0; sleep 0.05; done
	echo "hold_lock: the lock was not taken in 10 s" >&2
	return 1
}

# one table of a baseline (frequency_files or relationship_files), base and deltas folded, as
# mallcop(7) THE BASELINE reads it with jq; {} when it has none
baseline_table() {
	local b=$1 d=${1%.json}.d
	local -a f
	mapfile -t f < <(jq -r --arg k "$2" '.[$k] // empty | .base, .deltas[]' "$b")
	if [ "${#f[@]}" -eq 0 ]; then echo '{}'; return; fi
	(cd "$d" && jq -cn 'reduce inputs as $e ({}; .[$e.key] = $e.value)
		| with_entries(select(.value != null))' "${f[@]}")
}

# baseline.json (or FILE) with its tables in it: frequency_tables and relationships as objects
baseline_whole() {
	local b=${1:-.mallcop/baseline.json}
	jq -S --argjson f "$(baseline_table "$b" frequency_files)" \
		--argjson r "$(baseline_table "$b" relationship_files)" '
		(if has("frequency_files") then .frequency_tables = $f else . end)
		| (if has("relationship_files") then .relationships = $r else . end)
		| del(.frequency_files, .relationship_files)' "$b"
}
