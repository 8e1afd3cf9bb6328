#!/usr/bin/env bats
# lib/sshsig against the real ssh-keygen: signatures made by either verify with the other

load helper

# the unit test binary is also lib/sshsig's tool: sign KEY NS < MSG, verify SIG NS PUB < MSG
sshsig() {
	"$MALLCOP_EXEC_PATH/../tests/unit/test_sshsig" "$@"
}

setup() {
	W="$BATS_TEST_TMPDIR"
	cd "$W" || return 1
	printf 'a message\nof two lines\n' > msg
	printf 'a message\nof two linez\n' > msg2
	# ssh-keygen -Y sign and our own temporary files go here, and must not stay
	mkdir -p "$W/tmp"
	export TMPDIR="$W/tmp"
	unset SSH_AUTH_SOCK SSH_AGENT_PID SSH_ASKPASS SSH_ASKPASS_REQUIRE DISPLAY
}

teardown() {
	[ -z "${SSH_AGENT_PID:-}" ] || kill "$SSH_AGENT_PID" 2>/dev/null || true
	[ -z "${AGENT_DIR:-}" ] || rm -rf "$AGENT_DIR"
}

# ssh-keygen's verdict on SIG over stdin, the signer's key PUB
keygen_verify() {
	echo "signer@example.com $(cat "$2")" > allowed
	ssh-keygen -Y verify -f allowed -I signer@example.com -n "$3" -s "$1"
}

# interop both ways for one key type (ssh-keygen -t args)
interop() {
	ssh-keygen -q "$@" -N '' -C signer@example.com -f key
	# ssh-keygen signs, we verify
	ssh-keygen -Y sign -f key -n mallcop-skill msg 2>/dev/null
	run --separate-stderr sshsig verify msg.sig mallcop-skill key.pub < msg
	assert_success
	run --separate-stderr sshsig verify msg.sig mallcop-skill key.pub < msg2
	assert_failure
	[[ "$stderr" == *"bad signature"* ]]
	run --separate-stderr sshsig verify msg.sig mallcop-endorsement key.pub < msg
	assert_failure
	[[ "$stderr" == *"signature is for namespace 'mallcop-skill', not 'mallcop-endorsement'"* ]]
	# we sign, ssh-keygen verifies
	sshsig sign key mallcop-skill < msg > ours.sig 2>err
	grep -qx "signer: $(cut -d' ' -f1,2 key.pub)" err
	keygen_verify ours.sig key.pub mallcop-skill < msg
	run keygen_verify ours.sig key.pub mallcop-skill < msg2
	assert_failure
	run keygen_verify ours.sig key.pub mallcop-endorsement < msg
	assert_failure
	sshsig verify ours.sig mallcop-skill key.pub < msg
	# the same armor, line for line: 70 columns, a final newline
	[ "$(head -1 ours.sig)" = "-----BEGIN SSH SIGNATURE-----" ]
	[ "$(tail -1 ours.sig)" = "-----END SSH SIGNATURE-----" ]
	[ "$(sed '1d;$d' ours.sig | awk '{print length}' | sort -un | tail -1)" -eq 70 ]
	[ "$(tail -c1 ours.sig | od -An -c | tr -d ' ')" = '\n' ]
	[ "$(wc -c < ours.sig)" -eq "$(wc -c < msg.sig)" ] || [[ "$*" == *ecdsa* ]]
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "ed25519: interop both ways, and our signature is byte for byte ssh-keygen's" {
	interop -t ed25519
	cmp ours.sig msg.sig
}

@test "ecdsa P-256: interop both ways" {
	interop -t ecdsa -b 256
}

@test "ecdsa P-384: interop both ways" {
	interop -t ecdsa -b 384
}

@test "ecdsa P-521: interop both ways" {
	interop -t ecdsa -b 521
}

@test "rsa 3072: interop both ways (rsa-sha2-512, deterministic: byte for byte ssh-keygen's)" {
	interop -t rsa -b 3072
	cmp ours.sig msg.sig
}

@test "a signature by another key, or a changed signature byte, is refused" {
	ssh-keygen -q -t ed25519 -N '' -f key
	ssh-keygen -q -t ed25519 -N '' -f other
	sshsig sign key ns < msg > ours.sig 2>/dev/null
	run --separate-stderr sshsig verify ours.sig ns other.pub < msg
	assert_failure
	[[ "$stderr" == *"signed by another key (SHA256:"* ]]
	fp=$(ssh-keygen -l -f key.pub | cut -d' ' -f2)
	[[ "$stderr" == *"($fp)"* ]]
	# the 4th line holds the end of the Ed25519 signature: change one character of it
	awk 'NR==4 { $0 = (substr($0,1,10) == "AAAAAAAAAA") ? $0 : substr($0,1,9) (substr($0,10,1) == "A" ? "B" : "A") substr($0,11) } 1' ours.sig > bad.sig
	! cmp -s bad.sig ours.sig
	run --separate-stderr sshsig verify bad.sig ns key.pub < msg
	assert_failure
	run keygen_verify bad.sig key.pub ns < msg
	assert_failure
}

@test "a private key where the public key is expected is refused with that reason" {
	ssh-keygen -q -t ed25519 -N '' -f key
	sshsig sign key ns < msg > ours.sig 2>/dev/null
	run --separate-stderr sshsig verify ours.sig ns key < msg
	assert_failure
	[[ "$stderr" == *"'key': a private key where a public key is expected"* ]]
	[[ "$stderr" != *"OPENSSH PRIVATE"* ]]
}

# an askpass program that answers with $PASS
askpass() {
	printf '#!/bin/sh\necho "%s"\n' "$1" > "$W/askpass"
	chmod +x "$W/askpass"
	export SSH_ASKPASS="$W/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0
}

@test "an encrypted key signs through ssh-keygen (its passphrase asked for), same output" {
	ssh-keygen -q -t ed25519 -N 'open sesame' -C signer@example.com -f key
	askpass 'open sesame'
	run --separate-stderr sshsig sign key mallcop-skill < msg
	assert_success
	printf '%s\n' "$output" > ours.sig
	keygen_verify ours.sig key.pub mallcop-skill < msg
	sshsig verify ours.sig mallcop-skill key.pub < msg
	[[ "$stderr" == "signer: $(cut -d' ' -f1,2 key.pub)" ]]
	# ed25519 is deterministic: what ssh-keygen writes itself
	ssh-keygen -Y sign -f key -n mallcop-skill msg 2>/dev/null
	cmp ours.sig msg.sig
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "an encrypted key with a wrong passphrase: ssh-keygen's reason, never the passphrase" {
	ssh-keygen -q -t ed25519 -N 'open sesame' -f key
	askpass 'wrong horse'
	run --separate-stderr sshsig sign key ns < msg
	assert_failure
	[ -z "$output" ]
	[[ "$stderr" == *"ssh-keygen -Y sign -f 'key' failed: "* ]]
	[[ "$stderr" != *"wrong horse"* && "$stderr" != *"open sesame"* ]]
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "an encrypted key without ssh-keygen on PATH: a clear error" {
	ssh-keygen -q -t ed25519 -N 'pw' -f key
	run --separate-stderr env PATH=/nonexistent "$MALLCOP_EXEC_PATH/../tests/unit/test_sshsig" sign key ns < msg
	assert_failure
	[[ "$stderr" == *"cannot sign with 'key' without ssh-keygen: install OpenSSH (openssh-client)"* ]]
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "a .pub whose private half is in ssh-agent signs through ssh-keygen and the agent" {
	ssh-keygen -q -t ecdsa -b 256 -N '' -C signer@example.com -f key
	AGENT_DIR=$(mktemp -d /tmp/sshsig-agent.XXXXXX)
	eval "$(ssh-agent -s -a "$AGENT_DIR/sock" 3>&-)" >/dev/null
	ssh-add -q key 2>/dev/null
	mv key "$W/key.away"
	run --separate-stderr sshsig sign key.pub mallcop-skill < msg
	assert_success
	printf '%s\n' "$output" > ours.sig
	keygen_verify ours.sig key.pub mallcop-skill < msg
	sshsig verify ours.sig mallcop-skill key.pub < msg
	[ -z "$(ls -A "$TMPDIR")" ]
	# without the agent the .pub cannot sign, and ssh-keygen says why
	unset SSH_AUTH_SOCK
	run --separate-stderr sshsig sign key.pub mallcop-skill < msg
	assert_failure
	[[ "$stderr" == *"ssh-keygen -Y sign -f 'key.pub' failed: "* ]]
}

@test "a file that is no key is refused without running ssh-keygen" {
	echo 'just some text' > notakey
	run --separate-stderr env PATH=/nonexistent "$MALLCOP_EXEC_PATH/../tests/unit/test_sshsig" sign notakey ns < msg
	assert_failure
	[[ "$stderr" == *"'notakey' is not an SSH key: give an OpenSSH private key file, or the .pub file of a key in ssh-agent"* ]]
}
