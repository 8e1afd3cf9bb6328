#!/usr/bin/env bats
# The mallcop dispatcher, run against fake programs so nothing needs building.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

bats_require_minimum_version 1.5.0

# fake NAME DIR BODY: an executable sh script DIR/mallcop-NAME.
fake() {
	mkdir -p "$2"
	printf '#!/bin/sh\n%s\n' "$3" >"$2/mallcop-$1"
	chmod +x "$2/mallcop-$1"
}

# make_tree: a copy of the script with its own bin/ and man/, as in a source tree.
make_tree() {
	mkdir -p "$tmp/tree/bin" "$tmp/tree/man/man1"
	cp "$mallcop" "$tmp/tree/mallcop"
}

setup() {
	mallcop=$BATS_TEST_DIRNAME/../mallcop
	tmp=$(mktemp -d)
	fake hello "$tmp/exec" 'printf "arg:%s\n" "$@"
printf "dir:%s\n" "${MALLCOP_DIR-unset}"
printf "human:%s\n" "${MALLCOP_HUMAN-unset}"
exit "${HELLO_STATUS:-0}"'
	fake connector-x "$tmp/exec" 'echo connector'
	export MALLCOP_EXEC_PATH=$tmp/exec
	unset MALLCOP_DIR MALLCOP_HUMAN
	cd "$tmp" || return
}

teardown() {
	rm -rf "$tmp"
}

@test "--version prints the version the Makefile reads" {
	run "$mallcop" --version
	assert_success
	assert_output "mallcop $(sed -n 's/^version=//p' "$mallcop")"
	run "$mallcop" -V
	assert_output "mallcop 0.1.0"
}

@test "--help lists commands, with connectors under their own heading" {
	run --separate-stderr "$mallcop" --help
	assert_success
	assert_line --index 0 --partial 'usage: mallcop'
	commands=$(printf '%s\n' "$output" | sed -n '/^commands:/,/^$/p')
	connectors=$(printf '%s\n' "$output" | sed -n '/^connectors:/,/^$/p')
	[[ $commands == *'   hello'* ]]
	[[ $commands != *connector-x* ]]
	[[ $connectors == *'   connector-x'* ]]
}

@test "help alone is --help" {
	run "$mallcop" help
	assert_success
	assert_line '   hello'
}

@test "no command prints the usage on stderr and exits 2" {
	run --separate-stderr "$mallcop"
	assert_failure 2
	assert_equal "$output" ''
	[[ $stderr == usage:* ]]
}

@test "the command list shows the summary from the man page" {
	make_tree
	printf '.Sh NAME\n.Nm mallcop-hello\n.Nd greet the tests\n' >"$tmp/tree/man/man1/mallcop-hello.1"
	run "$tmp/tree/mallcop" --help
	assert_line --regexp '^   hello +greet the tests$'
}

@test "--dir and --human reach the program as MALLCOP_DIR and MALLCOP_HUMAN" {
	run "$mallcop" --dir /srv/acme --human hello
	assert_success
	assert_line 'dir:/srv/acme'
	assert_line 'human:1'
	run "$mallcop" --human --dir=/srv/b hello
	assert_line 'dir:/srv/b'
	assert_line 'human:1'
}

@test "without global options the program sees no MALLCOP_DIR or MALLCOP_HUMAN" {
	run "$mallcop" hello
	assert_line 'dir:unset'
	assert_line 'human:unset'
}

@test "arguments reach the program verbatim" {
	run "$mallcop" hello 'two words' -- --dir '*' ''
	assert_success
	assert_equal "$output" "$(printf '%s\n' 'arg:two words' 'arg:--' 'arg:--dir' 'arg:*' 'arg:' \
		'dir:unset' 'human:unset')"
}

@test "the program's exit status passes through" {
	HELLO_STATUS=7 run "$mallcop" hello
	assert_failure 7
}

@test "an unknown command exits 2 and suggests similar ones" {
	run --separate-stderr "$mallcop" helo
	assert_failure 2
	assert_equal "$output" ''
	[[ $stderr == "mallcop: 'helo' is not a mallcop command"* ]]
	[[ $stderr == *$'did you mean:\n'* ]]
	[[ $stderr == *$'\thello'* ]]
}

@test "a prefix of a command is suggested" {
	run --separate-stderr "$mallcop" conn
	assert_failure 2
	[[ $stderr == *$'\tconnector-x'* ]]
}

@test "a name like no command gets no suggestion" {
	run --separate-stderr "$mallcop" zzzzzzzz
	assert_failure 2
	assert_equal "$stderr" "mallcop: 'zzzzzzzz' is not a mallcop command"
}

@test "a command name with a slash is not looked up" {
	mkdir "$tmp/exec/mallcop-sub"
	printf '#!/bin/sh\necho ran\n' >"$tmp/exec/mallcop-sub/x"
	chmod +x "$tmp/exec/mallcop-sub/x"
	run "$mallcop" sub/x
	assert_failure 2
	refute_output --partial ran
}

@test "an unknown global option exits 2 with the usage" {
	run --separate-stderr "$mallcop" --x hello
	assert_failure 2
	assert_equal "$output" ''
	[[ $stderr == "mallcop: unknown option '--x'"$'\n'usage:* ]]
}

@test "--dir without a value is a usage error" {
	run --separate-stderr "$mallcop" --dir
	assert_failure 2
	[[ $stderr == "mallcop: option '--dir' requires an argument"* ]]
}

@test "a mallcop-foo on PATH runs as mallcop foo" {
	fake zzpathonly "$tmp/path" 'echo "from path $*"'
	PATH=$tmp/path:$PATH run "$mallcop" zzpathonly a
	assert_success
	assert_output 'from path a'
}

@test "MALLCOP_EXEC_PATH wins over PATH" {
	fake hello "$tmp/path" 'echo from path'
	PATH=$tmp/path:$PATH run "$mallcop" hello
	assert_success
	refute_output 'from path'
	assert_line 'dir:unset'
}

@test "every directory of MALLCOP_EXEC_PATH is searched in order" {
	fake hello "$tmp/first" 'echo first'
	fake other "$tmp/second" 'echo second'
	MALLCOP_EXEC_PATH=$tmp/first::$tmp/second:$tmp/exec run "$mallcop" hello
	assert_output first
	MALLCOP_EXEC_PATH=$tmp/first::$tmp/second:$tmp/exec run "$mallcop" other
	assert_output second
}

@test "help CMD shows the man page beside the script" {
	make_tree
	cat >"$tmp/tree/man/man1/mallcop-hello.1" <<-'EOF'
	.Dd November 26, 2025
	.Dt MALLCOP-HELLO 1
	.Os
	.Sh NAME
	.Nm mallcop-hello
	.Nd greet the tests
	.Sh DESCRIPTION
	Says hello from the fake manual.
	EOF
	command -v man >/dev/null || skip 'man is not installed'
	MANPAGER=cat run "$tmp/tree/mallcop" help hello
	assert_success
	assert_output --partial 'Says hello from the fake manual.'
	refute_output --partial 'arg:--help'
	MANPAGER=cat run "$tmp/tree/mallcop" hello --help
	assert_output --partial 'Says hello from the fake manual.'
	MANPAGER=cat run "$tmp/tree/mallcop" hello -h
	assert_output --partial 'Says hello from the fake manual.'
}

@test "help CMD without a man page runs the program with --help" {
	make_tree
	run "$tmp/tree/mallcop" help hello
	assert_success
	assert_line --index 0 'arg:--help'
}

@test "help CMD without man(1) runs the program with --help" {
	make_tree
	printf '.Sh NAME\n.Nm mallcop-hello\n.Nd greet the tests\n' >"$tmp/tree/man/man1/mallcop-hello.1"
	mkdir "$tmp/noman"
	for t in sh dirname readlink sed sort awk tr grep cat; do
		ln -s "$(command -v "$t")" "$tmp/noman/$t"
	done
	PATH=$tmp/noman run "$tmp/tree/mallcop" help hello
	assert_success
	assert_line --index 0 'arg:--help'
}

@test "--help after the command's first argument goes to the program" {
	run "$mallcop" hello x --help
	assert_success
	assert_line --index 0 'arg:x'
	assert_line --index 1 'arg:--help'
}

@test "help of an unknown command exits 2" {
	run --separate-stderr "$mallcop" help helo
	assert_failure 2
	[[ $stderr == *$'\thello'* ]]
}

@test "help mallcop shows the dispatcher's own man page" {
	command -v man >/dev/null || skip 'man is not installed'
	MANPAGER=cat run "$mallcop" help mallcop
	assert_success
	assert_output --partial 'MALLCOP_EXEC_PATH'
}

@test "a symlink to the script still finds bin/ beside the real script" {
	make_tree
	fake treeonly "$tmp/tree/bin" 'echo from tree'
	mkdir "$tmp/link"
	ln -s "$tmp/tree/mallcop" "$tmp/link/mc"
	unset MALLCOP_EXEC_PATH
	run "$tmp/link/mc" treeonly
	assert_success
	assert_output 'from tree'
}

@test "an installed copy finds programs and pages in libexecdir and mandir" {
	make_tree
	sed -e "s|@LIBEXECDIR@|$tmp/libexec|" -e "s|@MANDIR@|$tmp/share/man|" "$mallcop" >"$tmp/tree/mallcop"
	fake installed "$tmp/libexec" 'echo from libexec'
	mkdir -p "$tmp/share/man/man1"
	printf '.Sh NAME\n.Nm mallcop-installed\n.Nd an installed program\n' >"$tmp/share/man/man1/mallcop-installed.1"
	run "$tmp/tree/mallcop" installed
	assert_output 'from libexec'
	run "$tmp/tree/mallcop" --help
	assert_line --regexp '^   installed +an installed program$'
}

@test "the script is valid POSIX sh" {
	sh -n "$mallcop"
	command -v dash >/dev/null || skip 'dash is not installed'
	dash -n "$mallcop"
}

@test "the dispatcher runs under dash" {
	command -v dash >/dev/null || skip 'dash is not installed'
	run dash "$mallcop" --human hello 'a b'
	assert_success
	assert_line 'arg:a b'
	assert_line 'human:1'
}

@test "a file that is not executable, or a directory, is skipped" {
	mkdir -p "$tmp/first/mallcop-other"
	printf 'echo not executable\n' >"$tmp/first/mallcop-hello"
	chmod 644 "$tmp/first/mallcop-hello"
	fake other "$tmp/exec" 'echo other'
	MALLCOP_EXEC_PATH=$tmp/first:$tmp/exec run "$mallcop" hello
	assert_success
	assert_line 'dir:unset'
	MALLCOP_EXEC_PATH=$tmp/first:$tmp/exec run "$mallcop" other
	assert_output other
}

@test "a command runs with no other program on PATH (the dispatcher forks nothing to find it)" {
	run env PATH="$tmp/exec" /bin/sh "$mallcop" --dir /srv/acme hello x
	assert_success
	assert_line 'arg:x'
	assert_line 'dir:/srv/acme'
}
