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
	run --separate-stderr ne <<< '{"id":"fnd_1"}'
	assert_failure 1
	[[ "$stderr" == *"notify-exec: the command exited with status 4: mailbox full"* ]]
	export MALLCOP_NOTIFY_CONFIG='{"command":["/bin/sh","-c","wc -l > '"$D"'/count"]}'
	run ne <<< $'{"id":"fnd_1"}\n{"id":"fnd_2"}'
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
	MALLCOP_NOTIFY_CONFIG='{"command":"sleep 10","timeout":1}' run --separate-stderr ne <<< '{"id":"fnd_1"}'
	assert_failure 1
	[[ "$stderr" == *"timed out"* ]]
	run ne --bogus
	assert_failure 2
}

@test "input that is not a finding nor a digest is refused, naming what is wrong; the command is not run" {
	deployment
	export MALLCOP_NOTIFY_CONFIG="{\"command\":\"cat >> $D/inbox\"}"
	run --separate-stderr ne <<< 'hello, this is not JSON'
	assert_failure 1
	[[ "$stderr" == *"malformed JSON"* ]]
	run --separate-stderr ne <<< '{"title":"no id"}'
	assert_failure 1
	[[ "$stderr" == *'not a finding (an object with an "id")'* ]]
	run --separate-stderr ne <<< $'{"id":"fnd_1"}\n[1,2]'
	assert_failure 1
	[[ "$stderr" == *"stdin line 2: not a finding"* ]]
	run --separate-stderr ne <<< '{"kind":"digest","findings":"none"}'
	assert_failure 1
	[[ "$stderr" == *'"findings" is not a list'* ]]
	[ ! -e inbox ]
	# nothing at all: nothing to send, as with the other notifiers
	run --separate-stderr ne < /dev/null
	assert_success
	[[ "$stderr" == *"nothing to send"* ]]
	[ ! -e inbox ]
	# a digest goes to the command as it came
	printf '%s\n' '{"kind":"digest","title":"t","findings":[{"id":"fnd_1"},{"id":"fnd_2"}]}' > digest.json
	run ne < digest.json
	assert_success
	cmp digest.json inbox
}
