#!/usr/bin/env bats
# make install: the installed dispatcher finds its programs and pages without the source tree

load helper

@test "make install puts a working mallcop under PREFIX and DESTDIR" {
	prefix="$BATS_TEST_TMPDIR/prefix"
	run make -s -C "$TOP" install PREFIX="$prefix"
	assert_success
	[ -x "$prefix/bin/mallcop" ]
	[ -x "$prefix/libexec/mallcop/mallcop-scan" ]
	[ -e "$prefix/share/man/man1/mallcop-scan.1" ]
	[ -e "$prefix/share/mallcop/demo/mallcop.yaml" ]
	deployment
	printf 'connectors:\n  f: {type: file, paths: [e.jsonl]}\n' > mallcop.yaml
	event i1 github 2026-11-20T00:00:00Z > e.jsonl
	# nothing of the source tree on the way: no exec path, a PATH without it
	run env -u MALLCOP_EXEC_PATH PATH=/usr/bin:/bin "$prefix/bin/mallcop" scan
	assert_success
	echo "$output" | jq -e '.total_events_ingested == 1'
	run env -u MALLCOP_EXEC_PATH PATH=/usr/bin:/bin MANPAGER=cat "$prefix/bin/mallcop" help scan
	assert_success
	assert_output --partial "mallcop-scan"

	run make -s -C "$TOP" install PREFIX=/usr/local DESTDIR="$BATS_TEST_TMPDIR/stage"
	assert_success
	[ -x "$BATS_TEST_TMPDIR/stage/usr/local/libexec/mallcop/mallcop-events" ]
	grep -q '^libexecdir=/usr/local/libexec/mallcop$' "$BATS_TEST_TMPDIR/stage/usr/local/bin/mallcop"
}
