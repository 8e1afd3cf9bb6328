#!/usr/bin/env bats
# The baseline on disk: baseline.json, and each day of the window in a file of its own in
# .mallcop/baseline.d/ that baseline.json names. A pass reads and writes the days its events
# fall on; a baseline.json written with its days in it is read as it was and migrated.

load helper

bats_require_minimum_version 1.5.0

setup() {
	export MALLCOP_NOW=2026-11-25T12:00:00Z
	deployment
	mkdir -p in apps/acme
	config <<-'EOF'
	connectors:
	  github: {type: file, paths: [in/*.jsonl]}
	EOF
	cat > apps/acme/detectors.yaml <<-'EOF'
	detectors:
	  - name: bob-pushes
	    event_type: push
	    severity: warn
	    condition: {type: regex_match, field: actor, pattern: "^bob"}
	EOF
	for d in 20 21 22 23 24; do
		ev "a$d" "2026-11-${d}T10:00:00Z" alice repo/a
		ev "b$d" "2026-11-${d}T11:00:00Z" bob repo/b
	done > in/a.jsonl
	mallcop scan >/dev/null
	mallcop detect >/dev/null
}

# an event: id time actor target
ev() {
	printf '{"id":"%s","timestamp":"%s","source":"github","event_type":"push","actor":"%s","action":"push","target":"%s","metadata":{}}\n' \
		"$1" "$2" "$3" "$4"
}

# new events for the next detect
more() {
	printf '%s\n' "$@" > in/more.jsonl
	mallcop scan >/dev/null
}

# how many files of days baseline.d/ holds
days() {
	ls .mallcop/baseline.d | grep -c '^2026-'
}

# the file of a day, as baseline.json names it
day_file() {
	jq -r --arg d "$1" '.daily_files[$d] // empty' .mallcop/baseline.json
}

# the baseline with its days and tables in it, as baseline.json held them before they had files
whole() {
	{
		baseline_whole
		jq -r '.daily_files // {} | to_entries[] | [.key, .value] | @tsv' .mallcop/baseline.json |
			while IFS=$'\t' read -r day file; do
				jq -c --arg d "$day" '{($d): .}' ".mallcop/baseline.d/$file"
			done
	} | jq -sS '.[0] + {daily: (.[1:] | add // {})} | del(.daily_files)'
}

@test "each day of the window is a JSON file of its own in baseline.d/, named by baseline.json" {
	jq -e 'has("daily") | not' .mallcop/baseline.json
	jq -e '.daily_files | keys == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"]' \
		.mallcop/baseline.json
	[ "$(days)" -eq 5 ]
	jq -e '.["github:push:alice"] == 1 and .["github:push:bob"] == 1 and .["github:push"] == 2' \
		".mallcop/baseline.d/$(day_file 2026-11-22)"
	whole | jq -e '.frequency_tables["github:push"] == 10 and (.daily | length) == 5'
}

@test "a pass writes the files of the days its events fall on, and no other" {
	for d in 20 21 22 23 24; do
		echo "$d $(day_file "2026-11-$d") $(stat -c %i ".mallcop/baseline.d/$(day_file "2026-11-$d")")"
	done > before
	old24=$(day_file 2026-11-24)
	more "$(ev c1 2026-11-24T15:00:00Z carol repo/c)" "$(ev c2 2026-11-25T09:00:00Z carol repo/c)"
	run mallcop detect
	assert_success
	for d in 20 21 22 23; do
		grep -qx "$d $(day_file "2026-11-$d") $(stat -c %i ".mallcop/baseline.d/$(day_file "2026-11-$d")")" before
	done
	[ "$(day_file 2026-11-24)" != "$old24" ] && [ ! -e ".mallcop/baseline.d/$old24" ]
	jq -e '.["github:push:carol"] == 1' ".mallcop/baseline.d/$(day_file 2026-11-24)"
	jq -e '.["github:push:carol"] == 1' ".mallcop/baseline.d/$(day_file 2026-11-25)"
	[ "$(days)" -eq 6 ]
}

@test "the days that leave the window are taken away from the counts and their files removed" {
	old20=$(day_file 2026-11-20)
	export MALLCOP_NOW=2026-12-21T12:00:00Z
	more "$(ev c1 2026-12-21T09:00:00Z carol repo/c)"
	run mallcop detect
	assert_success
	jq -e '.daily_files | keys == ["2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24", "2026-12-21"]' \
		.mallcop/baseline.json
	whole | jq -e '.frequency_tables["github:push:alice"] == 4'
	[ ! -e ".mallcop/baseline.d/$old20" ] && [ "$(days)" -eq 5 ]
}

@test "a store whose baseline.json holds its days is read as it was and migrated with nothing lost" {
	whole > old.json
	cp old.json .mallcop/baseline.json
	rm -r .mallcop/baseline.d
	jq -e '(.daily | length) == 5 and (has("daily_files") | not)' .mallcop/baseline.json
	mallcop baseline > stats.before
	mallcop baseline --actor alice > alice.before
	mallcop baseline --actor bob > bob.before
	fid=$(jq -r 'select(.detector == "bob-pushes") | .id' .mallcop/findings.jsonl | head -n 1)
	# a change to the baseline that learns nothing: it is saved, in the new form
	run mallcop ack "$fid"
	assert_success
	[ -d .mallcop/baseline.d ] && [ "$(days)" -eq 5 ]
	jq -e 'has("daily") | not' .mallcop/baseline.json
	diff <(jq -S 'del(.detector_state.acked)' old.json) <(whole | jq -S 'del(.detector_state.acked)')
	jq -e '.detector_state.acked | length == 1' .mallcop/baseline.json
	diff stats.before <(mallcop baseline)
	diff alice.before <(mallcop baseline --actor alice)
	diff bob.before <(mallcop baseline --actor bob)
	# and the next pass goes on from where the last one stopped
	more "$(ev c1 2026-11-25T09:00:00Z carol repo/c)"
	run mallcop detect
	assert_success
	jq -e '.events_examined == 1' <<< "$output"
	whole | jq -e '.frequency_tables["github:push"] == 11 and .daily["2026-11-25"]["github:push"] == 1'
}

@test "a day file that baseline.json names but is absent, or cannot be read, is an error naming it" {
	f=$(day_file 2026-11-22)
	cp .mallcop/baseline.json baseline.before
	mv ".mallcop/baseline.d/$f" kept
	more "$(ev c1 2026-11-25T09:00:00Z carol repo/c)"
	for cmd in detect baseline; do
		run --separate-stderr mallcop $cmd
		assert_failure 1
		[[ $stderr == *"cannot read '"*".mallcop/baseline.d/$f': No such file or directory"* ]]
	done
	mkdir ".mallcop/baseline.d/$f"
	run --separate-stderr mallcop detect
	assert_failure 1
	[[ $stderr == *"cannot read '$D/.mallcop/baseline.d/$f': Is a directory"* ]]
	cmp baseline.before .mallcop/baseline.json
	rmdir ".mallcop/baseline.d/$f"
	mv kept ".mallcop/baseline.d/$f"
	run mallcop detect
	assert_success
}

@test "a day file that is not JSON stops the pass that needs it, before anything is written" {
	f=$(day_file 2026-11-24)
	echo garbage > ".mallcop/baseline.d/$f"
	cp .mallcop/baseline.json baseline.before
	cp .mallcop/findings.jsonl findings.before
	more "$(ev c1 2026-11-24T15:00:00Z bobby repo/c)"
	run --separate-stderr mallcop detect
	assert_failure 1
	[[ $stderr == *"'$D/.mallcop/baseline.d/$f' is not a day of the baseline"* ]]
	cmp baseline.before .mallcop/baseline.json
	cmp findings.before .mallcop/findings.jsonl
	[ "$(cat .mallcop/baseline.d/"$f")" = garbage ]
}

# run a script in a private mount namespace (root only), or skip
in_namespace() {
	[ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null || skip "needs root and mount namespaces"
	unshare -m sh -c "$1"
}

@test "a full disk under baseline.d/ is a clear error, exit 1, and leaves the baseline as it was" {
	more "$(ev c1 2026-11-24T15:00:00Z carol repo/c)"
	cp .mallcop/baseline.json baseline.before
	in_namespace "
		cp -a '$D/.mallcop/baseline.d' '$D/days'
		mount -t tmpfs -o size=64k tmpfs '$D/.mallcop/baseline.d' || exit 99
		cp '$D'/days/* '$D/.mallcop/baseline.d/'
		dd if=/dev/zero of='$D/.mallcop/baseline.d/filler' bs=4k 2>/dev/null
		ls '$D/.mallcop/baseline.d' > '$D/ls.before'
		'$TOP/mallcop' detect > '$D/detect.out' 2> '$D/detect.err'; echo \$? > '$D/detect.rc'
		ls '$D/.mallcop/baseline.d' > '$D/ls.after'
	"
	[ "$(cat detect.rc)" -eq 1 ]
	grep -q "cannot write '.*/.mallcop/baseline.d/2026-11-24\..*': No space left on device" detect.err
	jq -e '.status == "error"' detect.out
	cmp baseline.before .mallcop/baseline.json
	cmp ls.before ls.after
	run mallcop detect
	assert_success
	jq -e '.["github:push:carol"] == 1' ".mallcop/baseline.d/$(day_file 2026-11-24)"
}

# the names of a table's files, as baseline.json gives them: its base, then its deltas
table_files() {
	jq -r --arg k "$1" '.[$k] | .base, .deltas[]' .mallcop/baseline.json
}

@test "frequency_tables and relationships are files of JSON Lines in baseline.d/, sorted, that jq reads" {
	jq -e 'has("frequency_tables") or has("relationships") | not' .mallcop/baseline.json
	jq -e '.frequency_files.deltas == [] and .frequency_files.entries == (.frequency_files | .entries)' \
		.mallcop/baseline.json
	f=.mallcop/baseline.d/$(jq -r .frequency_files.base .mallcop/baseline.json)
	r=.mallcop/baseline.d/$(jq -r .relationship_files.base .mallcop/baseline.json)
	# one {key, value} a line, in the order of the keys
	jq -e 'keys == ["key", "value"]' "$f" "$r" > /dev/null
	diff <(jq -r .key "$f") <(jq -r .key "$f" | LC_ALL=C sort)
	diff <(jq -r .key "$r") <(jq -r .key "$r" | LC_ALL=C sort)
	jq -sc 'from_entries | .["github:push"], .["github:push:alice"]' "$f" | paste -sd' ' | grep -qx '10 5'
	jq -se 'from_entries | .["alice:repo/a"] == {count: 5, first_seen: "2026-11-20T10:00:00Z", last_seen: "2026-11-24T10:00:00Z"}' "$r"
	jq -e "(.frequency_files.entries) == $(wc -l < "$f")" .mallcop/baseline.json
	run mallcop baseline
	jq -e ".frequency_table_entries == $(wc -l < "$f")" <<< "$output"
}

@test "a pass writes what it changed as a delta; when the deltas grow they are merged into a new base, every count kept" {
	base=$(jq -r .frequency_files.base .mallcop/baseline.json)
	ino=$(stat -c %i ".mallcop/baseline.d/$base")
	more "$(ev c1 2026-11-25T09:00:00Z carol repo/c)"
	mallcop detect > /dev/null
	# the base stays as it was; the delta holds the keys this pass changed, and no other
	[ "$(jq -r .frequency_files.base .mallcop/baseline.json)" = "$base" ]
	[ "$(stat -c %i ".mallcop/baseline.d/$base")" = "$ino" ]
	d=$(jq -r '.frequency_files.deltas[0]' .mallcop/baseline.json)
	jq -se 'map(.key) | all(test("carol|^github:push$|^\\*:\\*:carol"))' ".mallcop/baseline.d/$d"
	jq -se 'from_entries | .["github:push"] == 11 and .["github:push:carol"] == 1' ".mallcop/baseline.d/$d"
	# pass after pass, until the deltas are merged
	merged=0
	for i in $(seq 2 20); do
		ev "c$i" "2026-11-25T$(printf %02d $((i % 24))):10:00Z" "actor$i" "repo/$i" > "in/m$i.jsonl"
		mallcop scan > /dev/null
		mallcop detect > /dev/null
		if [ "$(jq -r .frequency_files.base .mallcop/baseline.json)" != "$base" ]; then
			merged=1
			break
		fi
	done
	[ "$merged" -eq 1 ]
	jq -e '.frequency_files.deltas == []' .mallcop/baseline.json
	# the files no longer named are gone
	[ ! -e ".mallcop/baseline.d/$base" ] && [ ! -e ".mallcop/baseline.d/$d" ]
	diff <(ls .mallcop/baseline.d | grep -v '^2026-') <({ table_files frequency_files; table_files relationship_files; } | sort)
	# the same counts as one pass over all the events learns
	baseline_whole | jq -S '{frequency_tables, relationships, events}' > incremental
	rm -r .mallcop/baseline.json .mallcop/baseline.d .mallcop/findings* .mallcop/detect.json
	mallcop detect > /dev/null
	baseline_whole | jq -S '{frequency_tables, relationships, events}' | diff incremental -
}

@test "the same events give the same findings and the same baseline whether the tables were inline or in files" {
	more "$(ev c1 2026-11-25T09:00:00Z carol repo/c)" "$(ev c2 2026-11-25T10:00:00Z bob repo/z)" \
		"$(ev c3 2026-11-25T03:00:00Z alice repo/a)"
	cp -r .mallcop files
	whole > inline.json
	run mallcop detect
	assert_success
	jq -S 'del(.duration_ms, .elapsed_ms)' <<< "$output" > out.files
	jq -c 'del(.id)' .mallcop/findings.jsonl > findings.files
	for a in "" "--actor alice" "--actor bob" "--entity repo/a"; do mallcop baseline $a; done > baseline.files
	# the store as it was, its baseline.json holding its tables (and days) itself
	rm -r .mallcop && mv files .mallcop
	cp inline.json .mallcop/baseline.json
	rm -r .mallcop/baseline.d
	jq -e 'has("frequency_tables") and has("relationships") and (has("frequency_files") | not)' .mallcop/baseline.json
	run mallcop detect
	assert_success
	diff out.files <(jq -S 'del(.duration_ms, .elapsed_ms)' <<< "$output")
	diff findings.files <(jq -c 'del(.id)' .mallcop/findings.jsonl)
	diff baseline.files <(for a in "" "--actor alice" "--actor bob" "--entity repo/a"; do mallcop baseline $a; done)
	# and it was migrated: the tables are files now
	jq -e '(has("frequency_tables") | not) and (.frequency_files.base | length > 0)' .mallcop/baseline.json
}

@test "the earlier implementation's baseline.json is read, and saved in files with nothing lost" {
	cp "$BATS_TEST_DIRNAME/fixtures/python-store/.mallcop/baseline.json" .mallcop/baseline.json
	rm -r .mallcop/baseline.d
	for a in "" "--actor alice" "--actor mallory" "--entity acme-corp/web-app"; do mallcop baseline $a; done > before
	fid=$(jq -r 'select(.detector == "bob-pushes") | .id' .mallcop/findings.jsonl | head -n 1)
	run mallcop ack "$fid"
	assert_success
	jq -e '(has("frequency_tables") or has("relationships") | not) and .frequency_files.entries > 0' .mallcop/baseline.json
	diff before <(for a in "" "--actor alice" "--actor mallory" "--entity acme-corp/web-app"; do mallcop baseline $a; done)
	# every count of the earlier file, its markers taken away
	diff <(jq -S '.frequency_tables | with_entries(.key |= gsub("\\[USER_DATA_(BEGIN|END)\\]"; ""))' "$BATS_TEST_DIRNAME/fixtures/python-store/.mallcop/baseline.json") \
		<(baseline_whole | jq -S .frequency_tables)
	diff <(jq -S '.relationships | with_entries(.key |= gsub("\\[USER_DATA_(BEGIN|END)\\]"; "")) | map_values(with_entries(.value |= (if type == "string" then gsub("\\[USER_DATA_(BEGIN|END)\\]"; "") else . end)))' "$BATS_TEST_DIRNAME/fixtures/python-store/.mallcop/baseline.json") \
		<(baseline_whole | jq -S .relationships)
}

@test "a table file that baseline.json names but is absent, unreadable or not a table is an error naming it" {
	more "$(ev c1 2026-11-25T09:00:00Z carol repo/c)"
	mallcop detect > /dev/null
	more "$(ev c2 2026-11-25T10:00:00Z carol repo/c)"
	cp .mallcop/baseline.json baseline.before
	cp .mallcop/findings.jsonl findings.before
	for f in $(table_files frequency_files) $(table_files relationship_files); do
		p=.mallcop/baseline.d/$f
		mv "$p" kept
		for cmd in detect baseline "baseline --actor alice"; do
			run --separate-stderr mallcop $cmd
			assert_failure 1
			[[ $stderr == *"cannot read '"*".mallcop/baseline.d/$f': No such file or directory"* ]]
		done
		mkdir "$p"
		run --separate-stderr mallcop detect
		assert_failure 1
		[[ $stderr == *"cannot read '$D/.mallcop/baseline.d/$f': Is a directory"* ]]
		rmdir "$p"
		echo garbage > "$p"
		run --separate-stderr mallcop detect
		assert_failure 1
		[[ $stderr == *"'$D/.mallcop/baseline.d/$f'"*"not a "* ]]
		cmp baseline.before .mallcop/baseline.json
		cmp findings.before .mallcop/findings.jsonl
		mv kept "$p"
	done
	run mallcop detect
	assert_success
}

@test "detect killed with SIGKILL at any moment leaves a baseline that loads, and the next pass makes up for it" {
	cp -r .mallcop ref
	for i in $(seq 1 40); do ev "k$i" "2026-11-25T0$((i % 10)):0$((i % 6)):00Z" "actor$i" "repo/$i"; done > in/more.jsonl
	mallcop scan > /dev/null
	cp -r .mallcop scanned
	mallcop detect > /dev/null
	baseline_whole | jq -S 'del(.detector_state)' > want
	rm -rf .mallcop && cp -r scanned .mallcop
	for delay in 0.01 0.03 0.05 0.08 0.1 0.15 0.2 0.3; do
		mallcop detect > /dev/null 2>&1 &
		pid=$!
		sleep "$delay"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" || true
		# whatever moment it died at, the baseline is the one before or the one after
		run mallcop baseline
		assert_success
		baseline_whole > /dev/null
	done
	run mallcop detect
	assert_success
	diff want <(baseline_whole | jq -S 'del(.detector_state)')
}
