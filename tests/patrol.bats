#!/usr/bin/env bats
# mallcop patrol: named schedules kept in the user's crontab (never the real one: the crontab
# program over a private spool, or a shim through MALLCOP_CRONTAB), and `run`, which applies the
# patrol's budget, chain and channels and commits the store's changes

load helper

setup() {
	deployment
	D=$(pwd -P)
	mkdir -p "$BATS_TEST_TMPDIR/bin" sent paged
	private_crontab
	# two recording channels: the deployment's and the patrol's
	for ch in test pager; do
		cat > "$BATS_TEST_TMPDIR/bin/mallcop-notify-$ch" <<-'EOF'
		#!/bin/sh
		dir=$(printf '%s' "$MALLCOP_NOTIFY_CONFIG" | jq -r .dir)
		if [ "$1" = --check ]; then
			[ -z "$(printf '%s' "$MALLCOP_NOTIFY_CONFIG" | jq -r '.broken // empty')" ] || { echo "broken channel" >&2; exit 1; }
			exit 0
		fi
		cat > "$dir/sent-$(ls "$dir" | wc -l).json"
		EOF
		chmod +x "$BATS_TEST_TMPDIR/bin/mallcop-notify-$ch"
	done
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
	config <<-EOF
	# acme's deployment: comments and layout are the user's
	connectors:
	  app: {type: file, paths: [feed/*.jsonl]}   # the app's audit log

	routing:
	  warn: {chain: [], notify: [notify-test]}
	  critical: {chain: [], notify: [notify-test]}
	actors:
	  notify-test: {dir: $D/sent}
	  notify-pager: {dir: $D/paged}
	EOF
	cp mallcop.yaml "$BATS_TEST_TMPDIR/yaml.orig"
	# a crontab of the user's own, with cron's own escapes, a variable, comments and blank lines
	printf '%s\n' 'MAILTO=ops@example.com' '# backups' '30 2 * * * tar czf /srv/b-$(date +\%F).tgz /etc' '' \
		'@reboot echo "up"   # spaces kept' > "$BATS_TEST_TMPDIR/tab.orig"
	"$MALLCOP_CRONTAB" - < "$BATS_TEST_TMPDIR/tab.orig"
}

teardown() {
	mock_stop
}

# MALLCOP_CRONTAB: as root, the real crontab program in a mount namespace of its own with a
# directory of the test over the spool; else a shim keeping the crontab in a file
private_crontab() {
	local spool="$BATS_TEST_TMPDIR/spool" w="$BATS_TEST_TMPDIR/crontab"
	mkdir -p "$spool"
	if [ "$(id -u)" -eq 0 ] && command -v crontab >/dev/null && [ -d /var/spool/cron/crontabs ] &&
		unshare -m true 2>/dev/null; then
		chgrp crontab "$spool" && chmod 1730 "$spool"
		cat > "$w" <<-EOF
		#!/bin/sh
		exec unshare -m sh -c 'mount --bind "\$0" /var/spool/cron/crontabs && exec crontab "\$@"' '$spool' "\$@"
		EOF
		CRONTAB_KIND=spool
	else
		cat > "$w" <<-EOF
		#!/bin/sh
		f='$spool/crontab'
		case \$1 in
		-l) [ -e "\$f" ] || { echo "no crontab for \$(id -un)" >&2; exit 1; }; cat "\$f" ;;
		-) cat > "\$f.new" && mv "\$f.new" "\$f" ;;
		*) echo "crontab shim: \$1" >&2; exit 1 ;;
		esac
		EOF
		CRONTAB_KIND=shim
	fi
	chmod +x "$w"
	export MALLCOP_CRONTAB=$w
}

tab() {
	"$MALLCOP_CRONTAB" -l
}

# the crontab without this deployment's blocks is the user's crontab, byte for byte
foreign_kept() {
	diff <(tab | sed "/^# BEGIN mallcop patrol [^ ]* ${D//\//\\/}\$/,/^# END mallcop patrol [^ ]* ${D//\//\\/}\$/d") "$BATS_TEST_TMPDIR/tab.orig"
}

# neither the crontab nor mallcop.yaml changed since SNAP
snapshot() {
	tab > "$BATS_TEST_TMPDIR/tab.snap"
	cp mallcop.yaml "$BATS_TEST_TMPDIR/yaml.snap"
}

unchanged() {
	diff <(tab) "$BATS_TEST_TMPDIR/tab.snap"
	cmp mallcop.yaml "$BATS_TEST_TMPDIR/yaml.snap"
}

@test "create installs a marked block with the cron line explained in mallcop-patrol(1), and nothing else changes" {
	[ "$CRONTAB_KIND" != spool ] || real_before=$(crontab -l 2>&1 || true)
	run --separate-stderr mallcop patrol create hourly --every 1h --budget 20 --chain triage --notify notify-pager
	assert_success
	sched=$(jq -r .schedule <<< "$output")
	[[ "$sched" =~ ^([0-9]|[1-5][0-9])\ \*\ \*\ \*\ \*$ ]]
	line="$sched cd '$D' && PATH='$TOP':/usr/local/bin:/usr/bin:/bin exec '$TOP/mallcop' patrol run hourly >>.mallcop/patrol-hourly.log 2>&1"
	jq -e --arg l "$line" '.status == "ok" and .name == "hourly" and .every == "1h" and .line == $l and .with_git == true and .research == false' <<< "$output"
	diff <(tab) <(cat "$BATS_TEST_TMPDIR/tab.orig"; printf '%s\n' "# BEGIN mallcop patrol hourly $D" "$line" "# END mallcop patrol hourly $D")
	# mallcop.yaml: the user's text as it was, the patrol after it
	cmp <(head -c "$(stat -c %s "$BATS_TEST_TMPDIR/yaml.orig")" mallcop.yaml) "$BATS_TEST_TMPDIR/yaml.orig"
	run mallcop patrol list
	assert_success
	jq -e '.patrols == [{"name": "hourly", "every": "1h", "budget": 20, "chain": ["triage"], "notify": ["notify-pager"], "enabled": true, "research": false, "with_git": true, "schedule": .patrols[0].schedule, "crontab": "installed", "agree": true}] and .not_in_config == []' <<< "$output"
	# the same patrol of the same deployment always starts at the same minute
	mallcop patrol remove hourly
	run mallcop patrol create hourly --every 1h
	jq -e --arg s "$sched" '.schedule == $s' <<< "$output"
	# the line runs the mallcop that created it, by its absolute path: here a link to it
	mkdir "$BATS_TEST_TMPDIR/opt"
	ln -s "$TOP/mallcop" "$BATS_TEST_TMPDIR/opt/mallcop"
	run "$BATS_TEST_TMPDIR/opt/mallcop" patrol create linked --every 1d
	assert_success
	tab | grep -qF "PATH='$BATS_TEST_TMPDIR/opt':/usr/local/bin:/usr/bin:/bin exec '$BATS_TEST_TMPDIR/opt/mallcop' patrol run linked >>"
	# and the user's own crontab was never touched
	[ "$CRONTAB_KIND" != spool ] || [ "$(crontab -l 2>&1 || true)" = "$real_before" ]
}

@test "periods: every one cron can keep exactly, spread over the period; others are refused listing what is accepted" {
	for p in 1m 15m 30m 1h 6h 12h 1d 1w 1mo 3mo 12mo; do
		run mallcop patrol create "p$p" --every "$p"
		assert_success
	done
	run mallcop patrol list
	jq -e '. as $r | [.patrols[] | {(.name): .schedule}] | add as $s
		| ($s.p1m == "* * * * *")
		and ($s.p15m | test("^([0-9]|1[0-4])-59/15 \\* \\* \\* \\*$"))
		and ($s.p6h | test("^[0-9]+ [0-5]-23/6 \\* \\* \\*$"))
		and ($s.p1d | test("^[0-9]+ [0-9]+ \\* \\* \\*$"))
		and ($s.p1w | test("^[0-9]+ [0-9]+ \\* \\* [0-6]$"))
		and ($s.p1mo | test("^[0-9]+ [0-9]+ ([1-9]|1[0-9]|2[0-8]) \\* \\*$"))
		and ($s.p3mo | test("^[0-9]+ [0-9]+ [0-9]+ [1-3]-12/3 \\*$"))
		and ([$r.patrols[].agree] | all)' <<< "$output"
	# ten patrols of an hour do not all start at :00
	for i in 0 1 2 3 4 5 6 7 8 9; do mallcop patrol create "h$i" --every 1h >/dev/null; done
	[ "$(mallcop patrol list | jq '[.patrols[] | select(.name | startswith("h")) | .schedule] | unique | length')" -ge 5 ]
	snapshot
	for p in 7m 45m 90m 5h 24h 2d 2w 5mo 0h 01h 1y h 1 "" 1.5h -1h; do
		run --separate-stderr mallcop patrol create bad --every "$p"
		assert_failure 2
		[[ "$stderr" == *"15m, 1h, 6h, 1d, 1w, 1mo"* ]]
	done
	run --separate-stderr mallcop patrol update h1 --every 2d
	assert_failure 2
	unchanged
}

@test "every subcommand keeps the user's lines byte for byte; remove gives back both files as they were" {
	mallcop patrol create nightly --every 1d
	foreign_kept
	mallcop patrol create hourly --every 1h
	foreign_kept
	run mallcop patrol update nightly --every 6h
	assert_success
	jq -e '.every == "6h" and (.schedule | test("-23/6 "))' <<< "$output"
	tab | grep -F "$(jq -r .schedule <<< "$output") cd '$D' && " | grep -q 'patrol run nightly '
	foreign_kept
	run mallcop patrol disable nightly
	jq -e '.enabled == false' <<< "$output"
	! tab | grep -q 'patrol run nightly'
	tab | grep -q 'patrol run hourly'
	foreign_kept
	run mallcop patrol list
	jq -e '[.patrols[] | {(.name): [.enabled, .crontab, .agree]}] | add == {"nightly": [false, "disabled", true], "hourly": [true, "installed", true]}' <<< "$output"
	# a disabled patrol keeps its settings; update changes them without installing it
	mallcop patrol update nightly --every 12h
	! tab | grep -q 'patrol run nightly'
	run mallcop patrol enable nightly
	jq -e '.enabled == true and (.schedule | test("-23/12 "))' <<< "$output"
	tab | grep -q 'patrol run nightly'
	foreign_kept
	# mallcop.yaml keeps its mode
	chmod 640 mallcop.yaml
	mallcop patrol remove nightly
	[ "$(stat -c %a mallcop.yaml)" = 640 ]
	mallcop patrol remove hourly
	diff <(tab) "$BATS_TEST_TMPDIR/tab.orig"
	cmp mallcop.yaml "$BATS_TEST_TMPDIR/yaml.orig"
}

@test "list says where mallcop.yaml and the crontab disagree and repairs nothing; enable puts the line back" {
	mallcop patrol create hourly --every 1h
	mallcop patrol create daily --every 1d
	mallcop patrol create gone --every 1w
	# the user removed one line by hand, changed another, and a patrol left mallcop.yaml
	tab | sed "/^# BEGIN mallcop patrol hourly /,/^# END mallcop patrol hourly /d; s/patrol run daily/patrol run daily --human/" > "$BATS_TEST_TMPDIR/t"
	"$MALLCOP_CRONTAB" - < "$BATS_TEST_TMPDIR/t"
	sed -i '/^  gone:/,/^    every/d' mallcop.yaml
	snapshot
	run mallcop patrol list
	assert_success
	jq -e '([.patrols[] | {(.name): [.crontab, .agree]}] | add) == {"hourly": ["missing", false], "daily": ["differs", false]} and .not_in_config == ["gone"]' <<< "$output"
	run mallcop --human patrol list
	assert_output --partial "gone             in the crontab but not in mallcop.yaml"
	unchanged
	mallcop patrol enable hourly
	mallcop patrol enable daily
	run mallcop patrol list
	jq -e '[.patrols[].agree] == [true, true]' <<< "$output"
}

@test "two deployments' patrols of the same name never collide" {
	mallcop patrol create hourly --every 1h
	mkdir "$BATS_TEST_TMPDIR/other"
	cp "$BATS_TEST_TMPDIR/yaml.orig" "$BATS_TEST_TMPDIR/other/mallcop.yaml"
	O=$(cd "$BATS_TEST_TMPDIR/other" && pwd -P)
	mallcop --dir "$O" patrol create hourly --every 1h
	[ "$(tab | grep -c 'patrol run hourly')" -eq 2 ]
	tab | grep -q "^# BEGIN mallcop patrol hourly $O\$"
	# nor does a deployment whose directory ends with this one's
	mkdir -p "$BATS_TEST_TMPDIR/x $D"
	cp "$BATS_TEST_TMPDIR/yaml.orig" "$BATS_TEST_TMPDIR/x $D/mallcop.yaml"
	mallcop --dir "$BATS_TEST_TMPDIR/x $D" patrol create daily --every 1d
	run mallcop patrol list
	jq -e '.not_in_config == [] and [.patrols[].name] == ["hourly"]' <<< "$output"
	mallcop patrol remove hourly
	[ "$(tab | grep -c 'patrol run hourly')" -eq 1 ]
	tab | grep -q "cd '$O' &&"
	run mallcop --dir "$O" patrol list
	jq -e '.patrols[0].agree == true and .not_in_config == []' <<< "$output"
}

@test "a name that could break a crontab line or inject a command is refused, and nothing changes" {
	mallcop patrol create hourly --every 1h
	snapshot
	for n in 'a b' 'a/b' $'a\nb' $'a\rb' 'a#b' 'a;b' '$(id)' '`id`' "a'b" 'a"b' 'a%b' 'a&b' 'a|b' 'a>b' \
		'a\b' 'a.b' '..' '-x' '_x' 'é' "$(printf 'x%.0s' {1..65})" ''; do
		run --separate-stderr mallcop patrol create -- "$n" --every 1h
		assert_failure 2
		[[ "$stderr" == *"patrol name"* ]]
	done
	run --separate-stderr mallcop patrol run 'a;b'
	assert_failure 2
	# nor can the path of mallcop or of the deployment
	mkdir "$BATS_TEST_TMPDIR/a"$'\n'"* * * * * id"
	ln -s "$TOP/mallcop" "$BATS_TEST_TMPDIR/a"$'\n'"* * * * * id/mallcop"
	run --separate-stderr "$BATS_TEST_TMPDIR/a"$'\n'"* * * * * id/mallcop" patrol create other --every 1h
	assert_failure 1
	[[ "$stderr" == *"control character"* ]]
	cp mallcop.yaml "$BATS_TEST_TMPDIR/a"$'\n'"* * * * * id/"
	run --separate-stderr mallcop --dir "$BATS_TEST_TMPDIR/a"$'\n'"* * * * * id" patrol create other --every 1h
	assert_failure 1
	[[ "$stderr" == *"control character"* ]]
	unchanged
}

@test "a budget over the deployment's, an actor or a channel that is not there, a name taken or missing: an error, nothing changed" {
	mallcop patrol create hourly --every 1h
	snapshot
	for b in -1 501 0 abc 1.5 ''; do
		run --separate-stderr mallcop patrol create b --every 1h --budget "$b"
		assert_failure 2
		[[ "$stderr" == *"--budget"*"1 to 500"* ]]
	done
	run --separate-stderr mallcop patrol create c --every 1h --chain triage,nosuch
	assert_failure 2
	[[ "$stderr" == *"--chain"*"nosuch"* ]]
	run --separate-stderr mallcop patrol create c --every 1h --notify notify-pager,notify-nosuch
	assert_failure 2
	[[ "$stderr" == *"no channel 'notify-nosuch'"* ]]
	run --separate-stderr mallcop patrol create c --every 1h --notify slack
	assert_failure 2
	run --separate-stderr mallcop patrol create c --every 1h --notify ,
	assert_failure 2
	run --separate-stderr mallcop patrol create hourly --every 1d
	assert_failure 1
	[[ "$stderr" == *"'hourly' is in"*"already"* ]]
	for sub in update; do
		run --separate-stderr mallcop patrol $sub missing --every 1h
		assert_failure 1
		[[ "$stderr" == *"no patrol 'missing'"* ]]
	done
	for sub in disable enable remove run; do
		run --separate-stderr mallcop patrol $sub missing
		assert_failure 1
		[[ "$stderr" == *"no patrol 'missing'"* ]]
	done
	run --separate-stderr mallcop patrol list extra
	assert_failure 2
	run --separate-stderr mallcop patrol update hourly --every 1h --budget 5
	assert_failure 2
	run --separate-stderr mallcop watch --patrol missing
	assert_failure 1
	[[ "$stderr" == *"no patrol 'missing'"* ]]
	run --separate-stderr mallcop escalate --patrol missing
	assert_failure 1
	[[ "$stderr" == *"no patrol 'missing'"* ]]
	unchanged
	# a channel whose settings its own check refuses is not usable either
	sed -i "s|notify-pager: {dir: $D/paged}|notify-pager: {dir: $D/paged, broken: yes}|" mallcop.yaml
	snapshot
	run --separate-stderr mallcop patrol create c --every 1h --notify notify-pager
	assert_failure 2
	[[ "$stderr" == *"notify-pager"*"broken channel"* ]]
	# a chain needs routes to replace
	sed -i '/^routing:/,/^  critical/d' mallcop.yaml
	snapshot
	run --separate-stderr mallcop patrol create c --every 1h --chain triage
	assert_failure 2
	[[ "$stderr" == *"routing: routes no severity"* ]]
	# a lower budget of the deployment is the highest a patrol may have
	printf 'budget: {max_donuts_per_run: 100}\n' >> mallcop.yaml
	snapshot
	run --separate-stderr mallcop patrol create c --every 1h --budget 101
	assert_failure 2
	[[ "$stderr" == *"1 to 100"* ]]
	unchanged
}

@test "no crontab program, a crontab that cannot be read or one that refuses the new text: an error, nothing changed" {
	mallcop patrol create hourly --every 1h
	snapshot
	good=$MALLCOP_CRONTAB
	MALLCOP_CRONTAB=$BATS_TEST_TMPDIR/nosuch run --separate-stderr mallcop patrol create other --every 1h
	assert_failure 1
	[[ "$stderr" == *"cannot run"*"nosuch"* ]]
	printf '#!/bin/sh\necho "crontab: cannot open the spool: Permission denied" >&2\nexit 1\n' > "$BATS_TEST_TMPDIR/unreadable"
	chmod +x "$BATS_TEST_TMPDIR/unreadable"
	for sub in "create other --every 1h" "remove hourly" "disable hourly" "update hourly --every 6h"; do
		MALLCOP_CRONTAB=$BATS_TEST_TMPDIR/unreadable run --separate-stderr mallcop patrol $sub
		assert_failure 1
		[[ "$stderr" == *"cannot read the crontab"*"Permission denied"* ]]
	done
	MALLCOP_CRONTAB=$BATS_TEST_TMPDIR/unreadable run --separate-stderr mallcop patrol list
	assert_failure 1
	# the new text refused: mallcop.yaml is put back
	printf '#!/bin/sh\n[ "$1" = -l ] && exec %s -l\necho "crontab: errors in crontab file, cannot install" >&2\nexit 1\n' "$good" > "$BATS_TEST_TMPDIR/refuses"
	chmod +x "$BATS_TEST_TMPDIR/refuses"
	MALLCOP_CRONTAB=$BATS_TEST_TMPDIR/refuses run --separate-stderr mallcop patrol create other --every 1h
	assert_failure 1
	[[ "$stderr" == *"cannot install the crontab"* ]]
	unchanged
}

@test "two patrol commands at once lose nothing" {
	for i in 1 2 3 4 5 6; do
		mallcop patrol create "p$i" --every 1h > /dev/null &
	done
	wait
	run mallcop patrol list
	jq -e '[.patrols[].name] | sort == ["p1", "p2", "p3", "p4", "p5", "p6"]' <<< "$output"
	jq -e '[.patrols[].agree] | all' <<< "$output"
	foreign_kept
}

# what cron does with the command of a line: the text after the five time fields, cut at the
# first % that is not escaped, \% made %; then sh -c
cron_runs() {
	local cmd
	cmd=$(tab | grep "patrol run $1 " | cut -d ' ' -f 6-)
	[[ "$(sed 's/\\%//g' <<< "$cmd")" != *%* ]] || { echo "a % cron would cut at: $cmd" >&2; return 1; }
	cmd=$(sed 's/\\%/%/g' <<< "$cmd")
	(cd / && env -i HOME="$HOME" SHELL=/bin/sh MALLCOP_CRONTAB="$MALLCOP_CRONTAB" /bin/sh -c "$cmd")
}

@test "the cron line runs as cron runs it: from any directory, quoted, with % escaped, its output appended to the log" {
	mkdir -p "$BATS_TEST_TMPDIR/it's 100% \$(x) dep"
	cd "$BATS_TEST_TMPDIR/it's 100% \$(x) dep"
	D=$(pwd -P)
	printf 'connectors: {}\n' > mallcop.yaml
	run mallcop patrol create hourly --every 1h --no-git
	assert_success
	tab | grep -qF "cd '$BATS_TEST_TMPDIR/it'\\''s 100'\\%' \$(x) dep' && "
	cron_runs hourly
	cron_runs hourly
	[ "$(wc -l < .mallcop/patrol-hourly.log)" -eq 2 ]
	jq -se 'length == 2 and all(.[]; .command == "patrol" and .name == "hourly" and .watch.status == "ok" and (.started_at | test("^20[0-9-]+T[0-9:]+Z$")))' .mallcop/patrol-hourly.log
}

@test "run rotates a log that has grown: the run writes to a new one" {
	mallcop patrol create hourly --every 1h --no-git
	mkdir -p .mallcop feed
	head -c 1100000 /dev/zero | tr '\0' x > .mallcop/patrol-hourly.log
	mallcop patrol run hourly >> .mallcop/patrol-hourly.log 2>&1
	[ "$(stat -c %s .mallcop/patrol-hourly.log.1)" -ge 1100000 ]
	jq -e '.name == "hourly"' .mallcop/patrol-hourly.log
}

# Anthropic reply calling resolve-finding: decide ID ACTION CONFIDENCE TOKENS-IN
decide() {
	printf '{"method":"POST","path":"/v1/messages","status":200,"times":1,"body":{"id":"msg_%s","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"tool_use","id":"toolu_%s","name":"resolve-finding","input":{"finding_id":"%s","action":"%s","reason":"seen before","confidence":%s}}],"stop_reason":"tool_use","usage":{"input_tokens":%s,"output_tokens":100}}}' \
		"$RANDOM" "$RANDOM" "$1" "$2" "$3" "$4"
}

# a source that has learned for ten days, then mallory
learned_feed() {
	mkdir -p feed
	for d in 25 24 23 22 21 20 19 18 17 16; do
		event "evt_$(printf '%020d' "$d")" app "$(date -u -d "-$d days" +%FT%TZ)" alice login
	done > feed/a.jsonl
	event evt_00000000000000000099 app "$(date -u -d '-1 hour' +%FT%TZ)" mallory login >> feed/a.jsonl
}

@test "run applies the patrol's budget, chain and channels for that run only, not the deployment's" {
	learned_feed
	mock_start <<< "[$(decide fnd_other resolved 0.9 5000),$(decide fnd_other resolved 0.9 5000)]"
	export ANTHROPIC_API_KEY=sk-ant-test0123456789 MALLCOP_HTTP_FAST=1
	printf 'llm: {provider: anthropic, api_key: "${ANTHROPIC_API_KEY}", endpoint: "http://127.0.0.1:%s"}\n' "$PORT" >> mallcop.yaml
	mallcop patrol create paging --every 15m --budget 1 --chain triage --notify notify-pager --no-git
	cp mallcop.yaml "$BATS_TEST_TMPDIR/before"
	run --separate-stderr mallcop patrol run paging
	assert_success
	# the patrol's chain: the model was asked, and its budget of one donut stopped it after one reply
	jq -e '.status == "ok" and .watch.patrol == "paging" and .watch.scan.total_events_ingested == 11 and .watch.detect.new_findings >= 1 and .watch.escalate.budget_exhausted == true and .watch.escalate.delivered >= 1' <<< "$output"
	[ "$(jq -s length "$LOG")" -eq 1 ]
	# the patrol's channel got the finding, the deployment's did not
	jq -se 'any(.[0] | .. | .title? // empty; contains("mallory"))' paged/sent-0.json
	[ -z "$(ls sent)" ]
	# for that run only: mallcop.yaml is as it was, and the deployment's own route is its own
	cmp mallcop.yaml "$BATS_TEST_TMPDIR/before"
	event evt_00000000000000000098 app "$(date -u -d '-30 minutes' +%FT%TZ)" trudy login >> feed/a.jsonl
	run --separate-stderr mallcop watch
	assert_success
	jq -e '.escalate.delivered >= 1' <<< "$output"
	[ "$(jq -s length "$LOG")" -eq 1 ]
	jq -se 'any(.[0] | .. | .title? // empty; contains("trudy"))' sent/sent-0.json
}

# a git repository of the deployment, with a bare repository as its remote
git_repo() {
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
	git init -q -b main .
	git init -q --bare -b main "$BATS_TEST_TMPDIR/remote.git"
	git remote add origin "$BATS_TEST_TMPDIR/remote.git"
	printf 'notes\n' > notes.txt
	git add mallcop.yaml notes.txt
	git commit -qm init
	git push -q -u origin main
}

@test "run commits what it changed in the store and pushes it; nothing to commit, no commit" {
	learned_feed
	sed -i '/^routing:/,/^  critical/d' mallcop.yaml
	git_repo
	mallcop patrol create hourly --every 1h
	# a change of the user's, staged, is not ours to commit
	printf 'more\n' >> notes.txt
	git add notes.txt
	run --separate-stderr mallcop patrol run hourly
	assert_success
	jq -e '.git == {"repository": true, "committed": true, "pushed": true}' <<< "$output"
	nf=$(jq .watch.detect.new_findings <<< "$output")
	[ "$nf" -ge 1 ]
	run git log --format=%s -1
	assert_output "mallcop patrol hourly: 11 new events, $nf new finding$([ "$nf" -eq 1 ] || echo s), 0 updated, 0 sent to a human"
	[ "$(git -C "$BATS_TEST_TMPDIR/remote.git" log --format=%s -1 main)" = "$(git log --format=%s -1)" ]
	# only mallcop's own files: not the patrol's config, the user's notes, the lock or a cache
	run git show --name-only --format= HEAD
	refute_output --partial notes.txt
	refute_output --partial mallcop.yaml
	refute_output --partial lock
	refute_output --partial findings.index
	assert_output --partial .mallcop/events/
	assert_output --partial .mallcop/findings.jsonl
	git diff --cached --quiet -- mallcop.yaml
	! git diff --cached --quiet -- notes.txt
	head=$(git rev-parse HEAD)
	run --separate-stderr mallcop patrol run hourly
	assert_success
	jq -e '.git == {"repository": true, "committed": false}' <<< "$output"
	[ "$(git rev-parse HEAD)" = "$head" ]
	[ "$(git diff --cached --name-only)" = notes.txt ]
	event evt_00000000000000000098 app "$(date -u -d '-30 minutes' +%FT%TZ)" alice login >> feed/a.jsonl
	run --separate-stderr mallcop --human patrol run hourly
	assert_success
	assert_output "patrol hourly: ok: 1 new event, 0 new findings, 0 updated, 0 sent to a human, committed and pushed"
	run --separate-stderr mallcop --human patrol run hourly
	assert_output "patrol hourly: ok: 0 new events, 0 new findings, 0 updated, 0 sent to a human"
}

@test "run without a remote commits and does not push; a failed git step is reported, exit 1, the run's work kept" {
	learned_feed
	sed -i '/^routing:/,/^  critical/d' mallcop.yaml
	git_repo
	git remote remove origin
	mallcop patrol create hourly --every 1h
	run --separate-stderr mallcop patrol run hourly
	assert_success
	jq -e '.git == {"repository": true, "committed": true, "pushed": false}' <<< "$output"
	# a remote that cannot be reached: the commit stays, the push failure is said
	git remote add origin "$BATS_TEST_TMPDIR/nosuch.git"
	event evt_00000000000000000098 app "$(date -u -d '-30 minutes' +%FT%TZ)" alice login >> feed/a.jsonl
	run --separate-stderr mallcop patrol run hourly
	assert_failure 1
	jq -e '.status == "error" and .git.committed == true and (.git.error | startswith("git push")) and .watch.scan.total_events_ingested == 1' <<< "$output"
	[[ "$stderr" == *"patrol hourly: git push"* ]]
	[ "$(git log --format=%s -1)" = "mallcop patrol hourly: 1 new event, 0 new findings, 0 updated, 0 sent to a human" ]
}

@test "--no-git makes no commit; --research says research is not available, after watch ran" {
	learned_feed
	sed -i '/^routing:/,/^  critical/d' mallcop.yaml
	git_repo
	head=$(git rev-parse HEAD)
	mallcop patrol create quiet --every 1h --no-git
	run --separate-stderr mallcop patrol run quiet
	assert_success
	jq -e '.git == null and .watch.scan.total_events_ingested == 11' <<< "$output"
	[ "$(git rev-parse HEAD)" = "$head" ]
	mallcop patrol create deep --every 1d --research
	event evt_00000000000000000098 app "$(date -u -d '-30 minutes' +%FT%TZ)" alice login >> feed/a.jsonl
	run --separate-stderr mallcop patrol run deep
	assert_failure 1
	[[ "$stderr" == *"research is not available"* ]]
	jq -e '.research.ran == false and .watch.status == "ok" and .watch.scan.total_events_ingested == 1 and .git.committed == true' <<< "$output"
	# once a research program is installed, the run runs it, after watch, with the lock held
	printf '#!/bin/sh\nprintf "%%s\\n" "{\\"command\\":\\"research\\",\\"status\\":\\"ok\\",\\"lock\\":\\"$MALLCOP_LOCK_FD\\",\\"args\\":\\"$*\\"}"\n' > "$BATS_TEST_TMPDIR/bin/mallcop-research"
	chmod +x "$BATS_TEST_TMPDIR/bin/mallcop-research"
	run --separate-stderr mallcop patrol run deep
	assert_success
	jq -e --arg d "$D" '.research.ran == true and .research.status == "ok" and .research.lock != "" and .research.args == "--dir \($d)"' <<< "$output"
}

@test "run while another run holds the deployment exits 75" {
	mallcop patrol create hourly --every 1h --no-git
	hold_lock 30
	run --separate-stderr mallcop patrol run hourly
	kill "$HOLDER"
	assert_failure 75
}
