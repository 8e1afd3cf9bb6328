#!/usr/bin/env bats
# mallcop detect: incremental passes, fingerprints, learning, retrospective, rules, plugins

load helper

setup() {
	deployment
	export MALLCOP_NOW=2026-11-25T12:00:00Z
	mkdir -p in
	config <<-'EOF2'
	connectors:
	  files: {type: file, paths: [in/*.jsonl]}
	EOF2
}

# an event: id day(YYYY-MM-DD) hour actor type [source]
ev() {
	printf '{"id":"%s","timestamp":"%sT%02d:00:00Z","source":"%s","event_type":"%s","actor":"%s","action":"a","target":"t","metadata":{}}\n' \
		"$1" "$2" "$((10#$3))" "${6:-github}" "$5" "$4"
}

# 20 days of ordinary pushes by alice, from 2026-11-05
history() {
	for d in $(seq 5 24); do ev "h$d" "2026-11-$(printf %02d "$d")" 10 alice push; done > in/history.jsonl
}

rule() {	# a declarative rule file for app "acme" from stdin
	mkdir -p apps/acme
	cat > apps/acme/detectors.yaml
}

@test "a second detect with no new events makes no findings and reads nothing" {
	history
	rule <<-'EOF2'
	detectors:
	  - name: any-push
	    event_type: push
	    severity: warn
	    condition: {type: regex_match, field: actor, pattern: "^alice$"}
	EOF2
	mallcop scan >/dev/null
	run mallcop detect
	assert_success
	echo "$output" | jq -e '.events_examined == 20 and .summary["any-push"].warn == 1'
	n=$(wc -l < .mallcop/findings.jsonl)
	run mallcop detect
	assert_success
	echo "$output" | jq -e '.events_examined == 0 and .findings_count == 0 and .new_findings == 0'
	[ "$(wc -l < .mallcop/findings.jsonl)" -eq "$n" ]
}

@test "only events added since the last pass are examined, and the same behaviour updates its finding" {
	history
	rule <<-'EOF2'
	detectors:
	  - name: bob-pushes
	    event_type: push
	    severity: critical
	    condition: {type: regex_match, field: actor, pattern: "^bob$"}
	EOF2
	ev b1 2026-11-25 09 bob push >> in/history.jsonl
	mallcop scan >/dev/null
	run mallcop detect
	echo "$output" | jq -e '.summary["bob-pushes"].critical == 1'
	ev b2 2026-11-25 10 bob push > in/more.jsonl
	mallcop scan >/dev/null
	run mallcop detect
	echo "$output" | jq -e '.events_examined == 1 and .summary["bob-pushes"].critical == 1'
	[ "$(jq -s 'map(select(.detector == "bob-pushes")) | length' .mallcop/findings.jsonl)" -eq 1 ]
	jq -se 'map(select(.detector == "bob-pushes")) | length == 1 and (.[0] | .event_ids == ["b1","b2"] and .metadata.event_count == 2 and .fingerprint == "bob" and .status == "open")' .mallcop/findings.jsonl
}

@test "a resolved finding does not absorb a new occurrence: a new finding opens" {
	history
	rule <<-'EOF2'
	detectors:
	  - name: bob-pushes
	    event_type: push
	    severity: warn
	    condition: {type: regex_match, field: actor, pattern: "^bob$"}
	EOF2
	ev b1 2026-11-25 09 bob push >> in/history.jsonl
	mallcop scan >/dev/null && mallcop detect >/dev/null
	jq -c '.status = "resolved"' .mallcop/findings.jsonl > f && mv f .mallcop/findings.jsonl
	ev b2 2026-11-25 10 bob push > in/more.jsonl
	mallcop scan >/dev/null
	run mallcop detect
	echo "$output" | jq -e '.summary["bob-pushes"].warn == 1'
	[ "$(jq -s 'map(select(.detector == "bob-pushes") | .status) | sort' .mallcop/findings.jsonl | jq -c .)" = '["open","resolved"]' ]
}

@test "a source in its first 14 days is learning: its findings are info" {
	for d in 20 21 22; do ev "n$d" "2026-11-$d" 10 bob push github; done > in/new.jsonl
	rule <<-'EOF2'
	detectors:
	  - name: bob-pushes
	    event_type: push
	    severity: critical
	    condition: {type: regex_match, field: actor, pattern: "^bob$"}
	EOF2
	mallcop scan >/dev/null
	run mallcop detect
	assert_success
	echo "$output" | jq -e '.learning_connectors == ["github"] and .summary["bob-pushes"].info == 1'
	jq -se 'map(select(.detector == "bob-pushes")) | length == 1 and (.[0] | .severity == "info" and .metadata.learning == true)' .mallcop/findings.jsonl
	# nothing from a learning source is above info
	[ -z "$(jq -r 'select(.severity != "info") | .id' .mallcop/findings.jsonl)" ]
	run mallcop baseline
	echo "$output" | jq -e '.sources.github.learning == true and .sources.github.first_seen == "2026-11-20T10:00:00Z"'
}

@test "when a source leaves learning, its learning period is looked at again at full severity" {
	rule <<-'EOF2'
	detectors:
	  - name: bob-pushes
	    event_type: push
	    severity: critical
	    condition: {type: regex_match, field: actor, pattern: "^bob$"}
	EOF2
	ev b1 2026-11-01 10 bob push > in/early.jsonl
	MALLCOP_NOW=2026-11-02T00:00:00Z mallcop scan >/dev/null
	MALLCOP_NOW=2026-11-02T00:00:00Z run mallcop detect
	echo "$output" | jq -e '.learning_connectors == ["github"]'
	jq -se 'map(select(.detector == "bob-pushes")) | length == 1 and (.[0] | .severity == "info")' .mallcop/findings.jsonl
	# three weeks later, with nothing new: the retrospective raises it
	MALLCOP_NOW=2026-11-22T00:00:00Z run mallcop detect
	echo "$output" | jq -e '.learning_connectors == [] and .summary["bob-pushes"].critical == 1'
	jq -se 'map(select(.detector == "bob-pushes")) | length == 1 and (.[0] | .severity == "critical")' .mallcop/findings.jsonl
	# and only once
	MALLCOP_NOW=2026-11-23T00:00:00Z run mallcop detect
	echo "$output" | jq -e '.findings_count == 0 and .events_examined == 0'
}

@test "the retrospective reads its learning days of a month's file, whatever the line's key order" {
	rule <<-'EOF2'
	detectors:
	  - name: bob-pushes
	    event_type: push
	    severity: critical
	    condition: {type: regex_match, field: actor, pattern: "^bob"}
	EOF2
	{
		ev b1 2026-11-01 10 bob push
		ev b2 2026-11-03 10 bob2 push
		ev b3 2026-11-20 10 bob3 push
	} > in/month.jsonl
	MALLCOP_NOW=2026-11-04T00:00:00Z mallcop scan >/dev/null
	# a line as another writer orders it (the time first) is read as well
	printf '{"timestamp":"2026-11-02T10:00:00Z","id":"b4","source":"github","event_type":"push","actor":"bob4","action":"a","target":"t","metadata":{}}\n' \
		>> .mallcop/events/github-2026-11.jsonl
	MALLCOP_NOW=2026-11-04T00:00:00Z run mallcop detect
	[ "$status" -eq 0 ]
	jq -se 'map(select(.detector == "bob-pushes" and .severity == "info")) | length == 3' .mallcop/findings.jsonl
	# the late event is in the same month's file; it is looked at once, after learning
	MALLCOP_NOW=2026-11-22T00:00:00Z mallcop scan >/dev/null
	MALLCOP_NOW=2026-11-22T00:00:00Z run mallcop detect
	[ "$status" -eq 0 ]
	jq -se 'map(select(.detector == "bob-pushes")) | (length == 4 and all(.severity == "critical"))' .mallcop/findings.jsonl
	jq -se '[.[] | select(.detector == "bob-pushes") | .metadata.retrospective] | sort == [null, true, true, true]' .mallcop/findings.jsonl
}

@test "mallcop-detect - is a pure filter: events in, findings out, no store touched" {
	cat > base.json <<-'EOF2'
	{"frequency_tables":{"github:push":3},"known_entities":{"actors":["alice"],"sources":["github"]},"relationships":{}}
	EOF2
	cp base.json base.orig
	printf 'detectors:\n  any: {}\n' > mallcop.yaml
	rule <<-'EOF2'
	detectors: []
	EOF2
	run --separate-stderr mallcop detect - --baseline base.json < <(ev x1 2026-11-25 3 mallory push; ev x2 2026-11-25 4 alice push)
	assert_success
	[ ! -e .mallcop ]
	cmp base.json base.orig
	[ -z "$output" ] || printf '%s\n' "$output" | jq -e -s 'all(.[]; .status == "open" and (.id | startswith("fnd_")))'
	run mallcop detect - --baseline nosuch.json < /dev/null
	assert_failure 1
}

@test "every kind of declarative rule fires on its case and not on its twin" {
	history
	rule <<-'EOF2'
	detectors:
	  - name: burst
	    event_type: login_failure
	    severity: warn
	    condition: {type: count_threshold, group_by: [actor], window_minutes: 30, threshold: 3}
	  - name: new-country
	    event_type: login
	    severity: warn
	    condition: {type: new_value, field: metadata.country}
	  - name: many-deletes
	    event_type: delete
	    severity: warn
	    condition: {type: volume_ratio, ratio: 3}
	  - name: root-user
	    event_type: console_login
	    severity: critical
	    condition: {type: regex_match, field: actor, pattern: "^root$"}
	  - name: public-bucket
	    event_type: bucket_policy
	    severity: critical
	    condition: {type: jq, expression: '.metadata.public == true and .metadata.bucket != "www"'}
	EOF2
	{
		for m in 00 05 10; do printf '{"id":"f%s","timestamp":"2026-11-25T01:%s:00Z","source":"m365","event_type":"login_failure","actor":"erin","action":"a","target":"t"}\n' $m $m; done
		for m in 00 50; do printf '{"id":"g%s","timestamp":"2026-11-25T0%s:00:00Z","source":"m365","event_type":"login_failure","actor":"bob","action":"a","target":"t"}\n' ${m:0:1} ${m:0:1}; done
		printf '{"id":"c1","timestamp":"2026-11-20T01:00:00Z","source":"m365","event_type":"login","actor":"a","metadata":{"country":"SE"}}\n'
		printf '{"id":"c2","timestamp":"2026-11-21T01:00:00Z","source":"m365","event_type":"login","actor":"a","metadata":{"country":"SE"}}\n'
		printf '{"id":"c3","timestamp":"2026-11-22T01:00:00Z","source":"m365","event_type":"login","actor":"a","metadata":{"country":"KP"}}\n'
		for d in 20 21 22 23; do printf '{"id":"d%s","timestamp":"2026-11-%sT01:00:00Z","source":"azure","event_type":"delete","actor":"dave"}\n' $d $d; done
		for i in 1 2 3 4 5; do printf '{"id":"e%s","timestamp":"2026-11-24T0%s:00:00Z","source":"azure","event_type":"delete","actor":"dave"}\n' $i $i; done
		printf '{"id":"r1","timestamp":"2026-11-24T01:00:00Z","source":"aws","event_type":"console_login","actor":"root"}\n'
		printf '{"id":"r2","timestamp":"2026-11-24T02:00:00Z","source":"aws","event_type":"console_login","actor":"rooted"}\n'
		printf '{"id":"p1","timestamp":"2026-11-24T01:00:00Z","source":"aws","event_type":"bucket_policy","actor":"dave","metadata":{"public":true,"bucket":"data"}}\n'
		printf '{"id":"p2","timestamp":"2026-11-24T02:00:00Z","source":"aws","event_type":"bucket_policy","actor":"dave","metadata":{"public":true,"bucket":"www"}}\n'
	} > in/cases.jsonl
	mallcop scan >/dev/null
	run --separate-stderr mallcop detect --jsonl
	assert_success
	f=$(printf '%s\n' "$output")
	echo "$f" | jq -se 'map(select(.detector == "burst")) | length == 1 and .[0].fingerprint == "erin" and .[0].event_ids == ["f00","f05","f10"]'
	echo "$f" | jq -se 'map(select(.detector == "new-country")) | map(.fingerprint) | sort == ["KP","SE"]'
	echo "$f" | jq -se 'map(select(.detector == "many-deletes")) | length == 1 and (.[0].event_ids | index("e4") != null)'
	echo "$f" | jq -se 'map(select(.detector == "root-user")) | length == 1 and .[0].event_ids == ["r1"]'
	echo "$f" | jq -se 'map(select(.detector == "public-bucket")) | length == 1 and .[0].event_ids == ["p1"]'
}

@test "a broken rule file is an error naming the file, the line, the rule and the field" {
	history
	rule <<-'EOF2'
	detectors:
	  - name: ok-rule
	    event_type: push
	    severity: warn
	    condition: {type: regex_match, field: actor, pattern: "x"}
	  - name: bad-rule
	    event_type: push
	    severity: warn
	    condition: {type: count_threshold, threshold: lots}
	EOF2
	mallcop scan >/dev/null
	run mallcop detect
	assert_failure 1
	assert_output --partial "apps/acme/detectors.yaml:9: rule 'bad-rule': condition.threshold: expected"
	[ ! -e .mallcop/findings.jsonl ]
	rule <<-'EOF2'
	detectors:
	  - name: bad-jq
	    event_type: push
	    severity: warn
	    condition: {type: jq, expression: '.actor =='}
	EOF2
	run mallcop detect
	assert_failure 1
	assert_output --partial "rule 'bad-jq': condition.expression: expected a jq expression that compiles"
	rule <<-'EOF2'
	detectors:
	  - name: bad-sev
	    severity: loud
	    condition: {type: jq, expression: 'true'}
	EOF2
	run mallcop detect
	assert_failure 1
	assert_output --partial "rule 'bad-sev': severity: expected info, warn or critical"
	printf 'detectors: [unclosed\n' > apps/acme/detectors.yaml
	run mallcop detect
	assert_failure 1
	assert_output --partial "apps/acme/detectors.yaml:"
}

@test "a custom detector in shell runs; one that crashes, hangs or prints garbage is named and the others are kept" {
	history
	mkdir -p plugins/detectors/{good,crash,hang,garbage}
	for d in good crash hang garbage; do printf 'name: %s\nexec: run\n' $d > plugins/detectors/$d/manifest.yaml; done
	cat > plugins/detectors/good/run <<-'EOF2'
	#!/bin/sh
	# a finding for every push by alice at 10:00, grouped by actor
	[ -r "$MALLCOP_BASELINE" ] || exit 9
	grep -o '"id":"[^"]*"' | head -1 | sed 's/"id":"\(.*\)"/{"title":"first event seen","severity":"warn","event_ids":["\1"],"fingerprint":"first"}/'
	EOF2
	printf '#!/bin/sh\ncat >/dev/null\nexit 3\n' > plugins/detectors/crash/run
	printf '#!/bin/sh\nsleep 30\n' > plugins/detectors/hang/run
	printf '#!/bin/sh\necho "oops not json"\n' > plugins/detectors/garbage/run
	chmod +x plugins/detectors/*/run
	printf 'connectors:\n  files: {type: file, paths: [in/*.jsonl]}\ndetectors:\n  hang: {timeout: 1}\n' > mallcop.yaml
	mallcop scan >/dev/null
	run --separate-stderr mallcop detect
	assert_failure 1
	echo "$output" | jq -e '.summary.good.warn == 1'
	echo "$output" | jq -e '.detector_errors.crash | test("exited with status 3")'
	echo "$output" | jq -e '.detector_errors.hang | test("timed out")'
	echo "$output" | jq -e '.detector_errors.garbage | test("not findings")'
	jq -se 'map(select(.detector == "good")) | length == 1 and (.[0] | .event_ids == ["h5"])' .mallcop/findings.jsonl
}

@test "a detector can be switched off in mallcop.yaml" {
	history
	printf 'connectors:\n  files: {type: file, paths: [in/*.jsonl]}\ndetectors:\n  new-actor: {enabled: false}\n' > mallcop.yaml
	ev x1 2026-11-25 03 mallory push >> in/history.jsonl
	mallcop scan >/dev/null
	run --separate-stderr mallcop detect --jsonl
	assert_success
	{ ! printf '%s\n' "$output" | grep -q '"detector":"new-actor"'; } || false
	printf 'connectors:\n  files: {type: file, paths: [in/*.jsonl]}\ndetectors: [new-actor]\n' > mallcop.yaml
	run mallcop detect
	assert_failure 1
	assert_output --partial "detectors: expected a mapping"
}

@test "detect takes the deployment lock" {
	history
	mallcop scan >/dev/null
	hold_lock 4
	run mallcop detect
	assert_failure 75
	wait
}

@test "--human lists the findings by severity with untrusted text escaped" {
	history
	rule <<-'EOF2'
	detectors:
	  - name: odd-actor
	    event_type: push
	    severity: critical
	    condition: {type: regex_match, field: actor, pattern: "evil"}
	EOF2
	printf '{"id":"z1","timestamp":"2026-11-25T01:00:00Z","source":"github","event_type":"push","actor":"evil\\u001b[31m"}\n' >> in/history.jsonl
	mallcop scan >/dev/null
	run mallcop detect --human
	assert_success
	assert_output --partial "critical"
	assert_output --partial 'odd-actor'
	assert_output --partial '\e[31m'
	{ ! printf '%s' "$output" | grep -q $'\033'; } || false
}

@test "every detector's settings are checked the same way: the key, what is expected, or the known ones" {
	deployment
	bad() {
		printf 'detectors:\n  %s: {%s}\n' "$1" "$2" > mallcop.yaml
		run --separate-stderr mallcop detect - --config mallcop.yaml < /dev/null
		assert_failure 1
		[[ "$stderr" == *"$3"* ]] || { echo "$stderr"; false; }
	}
	bad log-format-drift 'threshold: 1.5' "detectors.log-format-drift.threshold: expected a share of lines"
	bad container-probing 'ratio: 0' "detectors.container-probing.ratio: expected a number of at least 1"
	bad volume-anomaly 'bogus: 1' "detectors.volume-anomaly.bogus: unknown setting (known: ratio, min_baseline)"
	bad injection-probe 'x: 1' "detectors.injection-probe.x: unknown setting (it has none)"
	bad financial-anomaly 'max_ratio: "high"' "detectors.financial-anomaly.max_ratio: expected a number above 0"
	bad unusual-resource-access 'min_events: 2.5' "expected a whole number of at least 1"
	bad git-oops 'exclude: "tests"' "detectors.git-oops.exclude: expected a list of globs"
	bad malicious-skill 'authors: [alice, ""]' "detectors.malicious-skill.authors[1]: expected an author name"
	bad priv-escalation 'roles: [owner, 3]' "detectors.priv-escalation.roles[1]: expected a role word"
	bad priv-escalation 'role: [owner]' "detectors.priv-escalation.role: unknown setting (known: roles)"
	printf 'detectors:\n  volume-anomaly: {ratio: 4, min_baseline: 2}\n  log-format-drift: {threshold: 0.5}\n' > mallcop.yaml
	run --separate-stderr mallcop detect - --config mallcop.yaml < /dev/null
	assert_success
}

@test "mallcop-detect - refuses an event with a NUL and counts it: alice-acme\\u0000-mallory is not alice-acme" {
	cat > base.json <<-'EOF2'
	{"frequency_tables":{"github:push":3},"known_entities":{"actors":["alice-acme"],"sources":["github"]},"relationships":{}}
	EOF2
	run --separate-stderr mallcop detect - --baseline base.json < <(ev x1 2026-11-25 3 'alice-acme\u0000-mallory' push; ev x2 2026-11-25 4 alice-acme push)
	assert_success
	[[ "$stderr" == *"stdin:1: not an event: a string holds a NUL character (U+0000)"* ]]
	[[ "$stderr" == *'stdin: 1 records rejected: {"a string holds a NUL character (U+0000)":1}'* ]]
	{ ! printf '%s\n' "$output" | grep -q 'alice-acme'; } || false
}

@test "mallcop-detect - skips a line longer than max_event_bytes unread, counts it, and reads on" {
	printf 'max_event_bytes: 4096\n' > small.yaml
	{
		ev x1 2026-11-25 3 mallory push
		printf '{"id":"big","timestamp":"2026-11-25T03:00:00Z","source":"github","event_type":"push","actor":"zed","metadata":{"pad":"%s"}}\n' "$(head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' a)"
		ev x3 2026-11-25 4 trudy push
	} > in.jsonl
	run --separate-stderr mallcop detect - < in.jsonl
	assert_success
	[[ "$stderr" == *'stdin: 1 records rejected: {"larger than max_event_bytes":1}'* ]]
	printf '%s\n' "$output" | jq -se 'map(.metadata.actor) | (index("mallory") != null) and (index("trudy") != null) and (index("zed") == null)'
	{ ev s1 2026-11-25 3 mallory push; printf '{"id":"mid","timestamp":"2026-11-25T03:00:00Z","source":"github","event_type":"push","actor":"zed","metadata":{"pad":"%s"}}\n' "$(head -c 5000 /dev/zero | tr '\0' a)"; } > in.jsonl
	run --separate-stderr mallcop detect - --config small.yaml < in.jsonl
	assert_success
	[[ "$stderr" == *'{"larger than max_event_bytes":1}'* ]]
}

@test "a stored event with a NUL (from before scan refused them) is skipped and counted, not read as less" {
	history
	mallcop scan >/dev/null
	mallcop detect >/dev/null
	ev n1 2026-11-25 11 'alice\u0000-mallory' push >> .mallcop/events/github-2026-11.jsonl
	run --separate-stderr mallcop detect
	assert_success
	echo "$output" | jq -e '.skipped_lines == 1'
	baseline_whole | jq -e '.frequency_tables["github:push:alice"] == 20'
}
