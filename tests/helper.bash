# shared by every bats file: the libraries, the programs under test, a scratch deployment
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

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
