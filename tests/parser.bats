#!/usr/bin/env bats
# app parsers (apps/APP/parser.yaml) applied by mallcop scan to container-log lines: thousands
# of generated lines of three formats, first match wins, named groups, noise, the summary per
# app per scan, a format change found by detect, a pattern that backtracks without end, and
# parser files with mistakes named by file and line

load helper

GEN="$BATS_TEST_DIRNAME/bench/gen_logs.py"

setup() {
	deployment
	export MALLCOP_NOW=2026-11-26T00:00:00Z
	# the lines come from a deployment plugin named like the built-in connector
	mkdir -p plugins/connectors/container-logs apps/web
	printf 'name: container-logs\nexec: run\n' > plugins/connectors/container-logs/manifest.yaml
	printf '#!/bin/sh\ncat "$MALLCOP_DIR"/feed*.jsonl\necho "cursor: c1" >&2\n' > plugins/connectors/container-logs/run
	chmod +x plugins/connectors/container-logs/run
	config <<-'EOF'
	connectors:
	  container-logs:
	    apps:
	      - name: web
	      - api
	EOF
	cat > apps/web/parser.yaml <<-'EOF'
	app: web
	version: 1
	unmatched_threshold: 0.3
	templates:
	  - name: health
	    pattern: 'healthcheck ok$'
	    classification: routine
	    noise_filter: true
	  - name: locked
	    pattern: 'AUTH FAILED user=(?P<user>\S+) .*reason=locked'
	    classification: security
	    event_mapping:
	      event_type: account_locked
	      actor: "{user}"
	      severity: critical
	  - name: auth_failure
	    pattern: '^(?P<timestamp>\S+) AUTH FAILED user=(?P<user>\S+) ip=(?P<ip>\S+) reason=(?P<reason>\S+)(?: mfa=(?P<mfa>\S+))?'
	    classification: security
	    event_mapping:
	      event_type: auth_failure
	      actor: "{user}"
	      action: login_failed
	      severity: warn
	      metadata: {ip: "{ip}", reason: "{reason}", mfa: "{mfa}", note: "user {user} from {ip}"}
	  - name: access
	    pattern: '^(?P<timestamp>\S+) (?P<method>GET|POST|PUT) (?P<path>\S+) (?P<status>\d{3}) (?P<ms>\d+)ms ip=(?P<ip>\S+) user=(?P<user>\S+)$'
	    classification: routine
	    event_mapping:
	      event_type: http_request
	      actor: "{user}"
	      action: "{method}"
	      target: "{path}"
	      metadata: {status: "{status}", ip: "{ip}"}
	EOF
}

# the parser's verdict on each line of a feed, by Python's re (first match wins): one line each,
# "event_type actor action target" for an event, "noise", or "unmatched"
oracle() {
	python3 - "$1" apps/web/parser.yaml <<-'PY'
	import json, re, sys
	import yaml
	p = yaml.safe_load(open(sys.argv[2]))
	for l in open(sys.argv[1]):
	    ev = json.loads(l)
	    line = ev["raw"]["line"]
	    for t in p["templates"]:
	        m = re.search(t["pattern"], line)
	        if not m:
	            continue
	        if t.get("noise_filter"):
	            print("noise")
	            break
	        em = t.get("event_mapping", {})
	        g = {k: v or "" for k, v in m.groupdict().items()}
	        sub = lambda s: re.sub(r"\{(\w+)\}", lambda x: g[x.group(1)], s)
	        print(sub(em.get("event_type", t["name"])), sub(em.get("actor", "web")) or "web",
	              sub(em.get("action", t["name"])), sub(em.get("target", "web")) or "web")
	        break
	    else:
	        print("unmatched")
	PY
}

# the events a scan stored, but for the summaries: "event_type actor action target", sorted
stored_events() {
	cat .mallcop/events/*.jsonl | jq -r 'select(.event_type | test("summary$") | not)
		| if .event_type == "log_line" then "unmatched" else "\(.event_type) \(.actor) \(.action) \(.target)" end' | sort
}

summary() {
	cat .mallcop/events/*.jsonl | jq -c "select(.event_type == \"parser_summary\" and .metadata.app_name == \"${1:-web}\")" | tail -n 1
}

@test "3,000 lines of three formats: each to the first template that matches, fields from named groups, noise counted and not stored" {
	python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is needed for the oracle"
	python3 "$GEN" web 3000 2026-11-25T10:00:00Z 7 > feed.jsonl
	run mallcop scan
	assert_success
	oracle feed.jsonl | grep -v '^noise$' | sort > want
	stored_events > got
	diff -u want got
	[ "$(wc -l < got)" -gt 2500 ]
	# first match wins: every locked account went to the earlier template, none to auth_failure
	[ "$(grep -c '^account_locked ' got)" -gt 100 ]
	! cat .mallcop/events/*.jsonl | jq -e 'select(.event_type == "auth_failure" and .metadata.reason == "locked")' > /dev/null
	# named groups: the event's time is the line's, the metadata what the groups captured
	cat .mallcop/events/*.jsonl | jq -se 'map(select(.event_type == "auth_failure" or .event_type == "http_request")) | all(.[]; . as $e | .timestamp == (.raw.line | split(" ")[0]) and .metadata.template != null and .metadata.app == "web" and (.raw.line | contains($e.metadata.ip)))'
	# an optional group that took no part in the match is empty, and the other placeholders filled
	cat .mallcop/events/*.jsonl | jq -se 'map(select(.event_type == "auth_failure")) | (map(.metadata.mfa) | unique) == ["", "totp"] and all(.[]; .metadata.note == "user \(.actor) from \(.metadata.ip)")'
	noise=$(oracle feed.jsonl | grep -c '^noise$')
	summary | jq -e --argjson n "$noise" '.source == "container-logs" and .actor == "mallcop" and .action == "parse" and .target == "web"
		and .metadata.total_count == 3000 and .metadata.noise_count == $n and .metadata.unmatched_count == 0
		and .metadata.unmatched_ratio == 0 and .metadata.format_drift == false
		and .metadata.matched_count == 3000 and .metadata.template_counts.health == $n'
	cat .mallcop/events/*.jsonl | jq -se --argjson n "$noise" 'map(select(.event_type == "noise_summary")) | length == 1 and .[0].metadata.template_counts == {health: $n}'
	echo "$output" | jq -e --argjson n "$noise" '.connectors["container-logs"].parsed.web | .noise == $n and .unmatched == 0'
}

@test "a parser_summary per app per scan; a line read again is not stored twice; an app without a parser keeps its lines" {
	python3 "$GEN" web 200 2026-11-25T10:00:00Z 3 > feed.jsonl
	python3 "$GEN" api 20 2026-11-25T10:00:00Z 4 > feed2.jsonl
	run mallcop scan
	assert_success
	before=$(cat .mallcop/events/*.jsonl | jq -r 'select(.event_type != "parser_summary" and .event_type != "noise_summary") | .id' | sort)
	MALLCOP_NOW=2026-11-26T00:05:00Z run mallcop scan
	assert_success
	after=$(cat .mallcop/events/*.jsonl | jq -r 'select(.event_type != "parser_summary" and .event_type != "noise_summary") | .id' | sort)
	[ "$before" = "$after" ]
	cat .mallcop/events/*.jsonl | jq -r 'select(.event_type == "parser_summary") | "\(.target) \(.timestamp)"' > sums
	diff -u - sums <<-'EOF'
	web 2026-11-26T00:00:00Z
	web 2026-11-26T00:05:00Z
	EOF
	# api has no apps/api/parser.yaml: its 20 lines are stored as they came
	[ "$(cat .mallcop/events/*.jsonl | jq -r 'select(.metadata.app == "api") | .event_type' | sort -u)" = log_line ]
	[ "$(cat .mallcop/events/*.jsonl | jq -r 'select(.metadata.app == "api")' | jq -s length)" -eq 20 ]
}

@test "the app's format changes: the summary says how much is unrecognized, with a sample, and detect raises log-format-drift" {
	python3 "$GEN" web 500 2026-11-25T10:00:00Z 5 > feed.jsonl
	run mallcop scan
	assert_success
	run mallcop detect
	assert_success
	! jq -e 'select(.detector == "log-format-drift")' .mallcop/findings.jsonl
	python3 "$GEN" --drift web 400 2026-11-25T12:00:00Z 6 > feed.jsonl
	MALLCOP_NOW=2026-11-26T01:00:00Z run mallcop scan
	assert_success
	summary | jq -e '.metadata.unmatched_count == 400 and .metadata.unmatched_ratio == 1 and .metadata.format_drift == true
		and (.metadata.unmatched_sample | length) == 10 and (.metadata.unmatched_sample[0] | fromjson | has("msg"))'
	# the lines no template knows are kept as they came
	[ "$(cat .mallcop/events/*.jsonl | jq -r 'select(.event_type == "log_line")' | jq -s length)" -eq 400 ]
	MALLCOP_NOW=2026-11-26T01:00:00Z run mallcop detect
	assert_success
	jq -se --arg id "$(summary | jq -r .id)" 'map(select(.detector == "log-format-drift")) | length == 1
		and .[0].metadata.app_name == "web" and .[0].metadata.unmatched_ratio == 1
		and .[0].event_ids == [$id] and (.[0].title | startswith("web parser is stale, 100% of lines unrecognized"))' .mallcop/findings.jsonl
}

@test "a pattern that backtracks without end is stopped and named once; its lines count as unmatched; the scan goes on" {
	cat > apps/web/parser.yaml <<-'EOF'
	app: web
	templates:
	  - name: ok
	    pattern: '^fine (?P<n>\d+)$'
	  - name: evil
	    pattern: '^(a|aa)+$'
	  - name: after
	    pattern: 'a'
	EOF
	{
		for i in 1 2 3; do
			printf '{"id":"evt_%020d","timestamp":"2026-11-25T10:00:0%dZ","source":"container-logs","event_type":"log_line","actor":"web","action":"log","target":"web","severity":"info","metadata":{"app":"web"},"raw":{"line":"%s!"}}\n' "$i" "$i" "$(printf 'a%.0s' $(seq 60))"
		done
		printf '{"id":"evt_%020d","timestamp":"2026-11-25T10:00:09Z","source":"container-logs","event_type":"log_line","actor":"web","action":"log","target":"web","severity":"info","metadata":{"app":"web"},"raw":{"line":"fine 42"}}\n' 9
	} > feed.jsonl
	run --separate-stderr mallcop scan
	assert_success
	[ "$(grep -c "template 'evil'" <<< "$stderr")" -eq 1 ]
	[[ "$stderr" == *"app 'web': apps/web/parser.yaml: template 'evil'"*"backtracking limit"* ]]
	echo "$output" | jq -e '.connectors["container-logs"] | .status == "ok" and (.parser_warnings | length) == 1 and .parsed.web.unmatched == 3 and .parsed.web.events == 1'
	summary | jq -e '.metadata.limit_hits == {evil: 3} and .metadata.unmatched_count == 3 and .metadata.template_counts.after == 0'
	[ "$(cat .mallcop/events/*.jsonl | jq -r 'select(.event_type == "log_line")' | jq -s length)" -eq 3 ]
}

# a broken parser.yaml for web: the error names the file, the line and the fix; api's parser and
# another connector still work; web's lines are stored as they came; the scan fails
broken() {
	mkdir -p apps/api
	printf 'templates:\n  - name: any\n    pattern: "(?P<word>\\\\w+)"\n    event_mapping: {event_type: api_line, actor: "{word}"}\n' > apps/api/parser.yaml
	python3 "$GEN" web 30 2026-11-25T10:00:00Z 1 > feed.jsonl
	python3 "$GEN" api 10 2026-11-25T10:00:00Z 2 > feed2.jsonl
	event e1 github 2026-11-25T10:00:00Z > other.jsonl
	cat >> mallcop.yaml <<-EOF
	  other:
	    type: file
	    paths: [$D/other.jsonl]
	EOF
	run --separate-stderr mallcop scan
	assert_failure 1
	echo "$output" | jq -e --arg m "$1" '.connectors["container-logs"] | .status == "error" and (.error | contains($m)) and (.parser_errors | length) == 1'
	[[ "$stderr" == *"$1"* ]]
	echo "$output" | jq -e '.connectors.other.status == "ok" and .connectors.other.events_ingested == 1'
	[ "$(cat .mallcop/events/*.jsonl | jq -r 'select(.metadata.app == "web") | .event_type' | sort -u)" = log_line ]
	[ "$(cat .mallcop/events/*.jsonl | jq -r 'select(.metadata.app == "web")' | jq -s length)" -eq 30 ]
	[ "$(cat .mallcop/events/*.jsonl | jq -r 'select(.event_type == "api_line")' | jq -s length)" -eq 10 ]
	grep -q c1 .mallcop/checkpoints.yaml
}

@test "an invalid pattern is named by file, line and template, with the fix" {
	printf 'app: web\ntemplates:\n  - name: good\n    pattern: "x"\n  - name: bad\n    pattern: "(?P<user>[a-z"\n' > apps/web/parser.yaml
	broken "apps/web/parser.yaml:6: templates[1].pattern: template 'bad' has an invalid pattern: premature end of char-class; fix the regular expression"
}

@test "a placeholder that names no group is named by file and line, with the fix" {
	printf 'templates:\n  - name: t\n    pattern: "user=(?P<user>\\\\S+)"\n    event_mapping:\n      actor: "{user}"\n      target: "{usr}"\n' > apps/web/parser.yaml
	broken "apps/web/parser.yaml:6: templates[0].event_mapping.target: {usr} names no group of the pattern of template 't': name a group (?P<usr>...) in its pattern, or take {usr} out"
}

@test "a parser.yaml without templates, or with a template missing its pattern, a bad severity, a wrong app" {
	printf 'app: web\nversion: 1\n' > apps/web/parser.yaml
	broken "apps/web/parser.yaml: no templates: add 'templates:'"
	rm -rf .mallcop
	sed -i '/^  other:/,$d' mallcop.yaml
	printf 'templates:\n  - name: t\n    event_mapping: {}\n' > apps/web/parser.yaml
	broken "apps/web/parser.yaml:2: templates[0]: template 't' has no pattern"
	rm -rf .mallcop
	sed -i '/^  other:/,$d' mallcop.yaml
	printf 'templates:\n  - name: t\n    pattern: x\n    event_mapping:\n      severity: high\n' > apps/web/parser.yaml
	broken "apps/web/parser.yaml:5: templates[0].event_mapping.severity: 'high' is not a severity: use info, warn or critical"
	rm -rf .mallcop
	sed -i '/^  other:/,$d' mallcop.yaml
	printf 'app: wbe\ntemplates:\n  - name: t\n    pattern: x\n' > apps/web/parser.yaml
	broken "apps/web/parser.yaml:1: app: 'wbe' is not the app this file is for ('web')"
	rm -rf .mallcop
	sed -i '/^  other:/,$d' mallcop.yaml
	printf 'templates: [\n' > apps/web/parser.yaml
	broken "apps/web/parser.yaml:"
}

@test "--human shows a parser's error escaped, and the lines of a bad app are not lost" {
	printf 'templates:\n  - name: "t\\x1b[31m"\n    pattern: "(unclosed"\n' > apps/web/parser.yaml
	python3 "$GEN" web 5 2026-11-25T10:00:00Z 1 > feed.jsonl
	run mallcop scan --human
	assert_failure 1
	[[ "$output" == *FAILED*"apps/web/parser.yaml:3"* ]]
	[[ "$output" != *$'\x1b'* ]]
	[ "$(cat .mallcop/events/*.jsonl | wc -l)" -eq 5 ]
}
