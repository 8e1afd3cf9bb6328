#!/usr/bin/env bats
# mallcop-notify-exec: findings handed to the operator's own command

load helper

ne() {
	"$MALLCOP_EXEC_PATH/mallcop-notify-exec" "$@"
}

@test "the command gets the input on stdin; its failure is the channel's, with its message" {
	deployment
	export MALLCOP_NOTIFY_CONFIG="{\"command\":\"cat >> $D/inbox.jsonl\"}"
	run --separate-stderr ne <<< '{"id":"fnd_1","title":"t","severity":"warn"}'
	assert_success
	jq -e '.id == "fnd_1"' inbox.jsonl
	export MALLCOP_NOTIFY_CONFIG='{"command":"echo mailbox full >&2; exit 4"}'
	run --separate-stderr ne <<< '{}'
	assert_failure 1
	[[ "$stderr" == *"notify-exec: the command exited with status 4: mailbox full"* ]]
	export MALLCOP_NOTIFY_CONFIG='{"command":["/bin/sh","-c","wc -l > '"$D"'/count"]}'
	run ne <<< $'{}\n{}'
	assert_success
	[ "$(cat count)" -eq 2 ]
}

@test "--check: a command is needed; a relative program is refused; a slow command is stopped" {
	deployment
	unset MALLCOP_NOTIFY_CONFIG MALLCOP_NOTIFY_COMMAND
	run --separate-stderr ne --check
	assert_failure 1
	[[ "$stderr" == *"no command"* ]]
	MALLCOP_NOTIFY_CONFIG='{"command":["cat"]}' run --separate-stderr ne --check
	assert_failure 1
	MALLCOP_NOTIFY_CONFIG='{"command":"true"}' run ne --check
	assert_success
	MALLCOP_NOTIFY_CONFIG='{"command":"sleep 10","timeout":1}' run --separate-stderr ne <<< '{}'
	assert_failure 1
	[[ "$stderr" == *"timed out"* ]]
	run ne --bogus
	assert_failure 2
}
