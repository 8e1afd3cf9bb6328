#!/usr/bin/env bats
# findings.jsonl as a log: a detect pass appends what it made or changed, the last record of an
# id is the finding, the open findings are found through findings.index.json (a cache), and the
# log is compacted when most of it has been replaced

load helper

export GEN_NOW=2026-11-26T00:00:00Z

# a busy store after its first detect, made once: its findings.jsonl is over 1 MiB, so that a
# pass appends rather than rewriting a small file
setup_file() {
	local s="$BATS_FILE_TMPDIR/store"
	python3 "$BATS_TEST_DIRNAME/bench/gen_events.py" "$s" 12000 30 7 > /dev/null
	python3 "$BATS_TEST_DIRNAME/bench/gen_events.py" - 300 1 11 "$BATS_FILE_TMPDIR/new.jsonl" > /dev/null
	MALLCOP_NOW=$GEN_NOW mallcop --dir "$s" detect > /dev/null
}

setup() {
	deployment
	cp -r "$BATS_FILE_TMPDIR/store/.mallcop" "$BATS_FILE_TMPDIR/store/mallcop.yaml" "$D/"
	export MALLCOP_NOW=$GEN_NOW
}

# the new events appended to the store's files as scan would store them; TAG makes other ids
new_events() {
	python3 - "$BATS_FILE_TMPDIR/new.jsonl" "$D" "${1:-late}" <<-'EOF'
	import hashlib, json, sys
	feed, d, tag = sys.argv[1], sys.argv[2], sys.argv[3]
	for line in open(feed):
	    ev = json.loads(line)
	    ev["id"] = "evt_" + hashlib.sha256((tag + ":" + ev["id"]).encode()).hexdigest()[:20]
	    ev["ingested_at"] = "2026-11-26T00:00:00Z"
	    with open("%s/.mallcop/events/%s-%s.jsonl" % (d, ev["source"], ev["timestamp"][:7]), "a") as f:
	        f.write(json.dumps(ev, separators=(",", ":")) + "\n")
	EOF
}

# each finding as its last record says, sorted, without its id (ids are random)
current() {
	jq -sc 'group_by(.id) | map(last | del(.id)) | sort_by(.detector, .fingerprint, .timestamp)' "$1"
}

@test "a pass appends only what it made or changed, and every reader sees each finding once, as last written" {
	[ "$(stat -c %s .mallcop/findings.jsonl)" -gt 1048576 ]
	size=$(stat -c %s .mallcop/findings.jsonl)
	nlines=$(wc -l < .mallcop/findings.jsonl)
	cp .mallcop/findings.jsonl before.jsonl
	new_events
	run --separate-stderr mallcop detect
	assert_success
	made=$(jq .new_findings <<< "$output")
	changed=$(jq .updated_findings <<< "$output")
	[ "$changed" -gt 0 ] && [ "$made" -gt 0 ]
	# what was there is there byte for byte, and only the changes follow it
	cmp -n "$size" before.jsonl .mallcop/findings.jsonl
	[ "$(wc -l < .mallcop/findings.jsonl)" -eq $((nlines + made + changed)) ]
	tail -n +$((nlines + 1)) .mallcop/findings.jsonl | jq -se 'length > 0 and all(.status == "open")'
	# every reader takes the last record of an id
	total=$(jq -s 'group_by(.id) | length' .mallcop/findings.jsonl)
	[ "$total" -eq $((nlines + made)) ]
	run mallcop status
	jq -e --argjson n "$total" '.total_findings == $n and .findings_by_status.open == $n' <<< "$output"
	id=$(tail -n 1 .mallcop/findings.jsonl | jq -r .id)
	last=$(grep "\"id\":\"$id\"" .mallcop/findings.jsonl | tail -n 1 | jq -c .)
	run mallcop finding "$id"
	assert_success
	jq -e --argjson want "$last" '.finding == $want' <<< "$output"
	# and a pass with nothing new appends nothing
	size=$(stat -c %s .mallcop/findings.jsonl)
	run mallcop detect
	assert_success
	[ "$(stat -c %s .mallcop/findings.jsonl)" -eq "$size" ]
}

@test "the index is a cache: absent, damaged, pointing elsewhere or older than the log, the pass comes out the same" {
	cp -r .mallcop ref
	new_events
	run --separate-stderr mallcop detect
	assert_success
	want=$(jq -c '{new_findings, updated_findings}' <<< "$output")
	wantf=$(current .mallcop/findings.jsonl)
	for damage in absent garbage older elsewhere stale; do
		rm -rf .mallcop && cp -r ref .mallcop
		case $damage in
		absent) rm .mallcop/findings.index.json ;;	# a store from before the index
		garbage) printf '{"log": 1, "open": [' > .mallcop/findings.index.json ;;
		older)
			# an index of the format before, for the same log, naming no finding open
			jq -c '{version: 2, log, garbage, open: {}}' .mallcop/findings.index.json \
				| head -n 1 > x
			touch -r .mallcop/findings.index.json x
			mv x .mallcop/findings.index.json ;;
		elsewhere)
			# right log name, every offset one record off, every line its width
			jq -r 'if type == "array" then "[\(.[0] | tojson),\(("                    " + (.[1] + 7 | tostring))[-20:]),\(("          " + (.[2] | tostring))[-10:])]" else tojson end' \
				.mallcop/findings.index.json > x
			[ "$(tail -n +2 x | wc -c)" -eq "$(tail -n +2 .mallcop/findings.index.json | wc -c)" ]
			mv x .mallcop/findings.index.json ;;
		stale)
			# another writer rewrote the log (ack does): the index no longer names it
			id=$(head -n 1 .mallcop/findings.jsonl | jq -r .id)
			mallcop ack "$id" > /dev/null ;;
		esac
		new_events
		run --separate-stderr mallcop detect
		assert_success
		if [ "$damage" = stale ]; then
			# the acked one is no longer open: its behaviour does not come back as new
			jq -e '.new_findings >= 0' <<< "$output"
			run jq -s --arg id "$id" 'map(select(.id == $id)) | last | .status' .mallcop/findings.jsonl
			assert_output '"acked"'
		else
			[ "$(jq -c '{new_findings, updated_findings}' <<< "$output")" = "$want" ]
			[ "$(current .mallcop/findings.jsonl)" = "$wantf" ]
		fi
		# never two open findings of one behaviour
		jq -se '[.[] | select(.status == "open")] | group_by(.id) | map(last) | group_by([.detector, .fingerprint]) | all(length == 1)' .mallcop/findings.jsonl
		index_is_sorted_lines
	done
}

# findings.index.json: a header, then one line per open finding, sorted, every line one width
index_is_sorted_lines() {
	head -n 1 .mallcop/findings.index.json | jq -e '.version == 3 and (.log | type == "string") and (.garbage | type == "number")'
	tail -n +2 .mallcop/findings.index.json | jq -se 'all(length == 3 and (.[0] | test("^[0-9a-f]{16}$")) and (.[1] | type == "number") and .[2] > 0)'
	[ "$(tail -n +2 .mallcop/findings.index.json | awk '{ print length }' | sort -u | wc -l)" -le 1 ]
	tail -n +2 .mallcop/findings.index.json | LC_ALL=C sort -c -u
}

@test "the index is sorted lines of one width naming every open finding's latest record, and a pass merges its changes into it" {
	index_is_sorted_lines
	open=$(jq -s 'group_by(.id) | map(last | select(.status == "open")) | length' .mallcop/findings.jsonl)
	[ "$(tail -n +2 .mallcop/findings.index.json | wc -l)" -eq "$open" ]
	new_events
	run --separate-stderr mallcop detect
	assert_success
	index_is_sorted_lines
	open=$(jq -s 'group_by(.id) | map(last | select(.status == "open")) | length' .mallcop/findings.jsonl)
	[ "$(tail -n +2 .mallcop/findings.index.json | wc -l)" -eq "$open" ]
	# each entry is where its behaviour's open finding's latest record is, length and all
	python3 - .mallcop/findings.index.json .mallcop/findings.jsonl <<-'EOF'
	import hashlib, json, sys
	lines = open(sys.argv[1]).read().splitlines()[1:]
	log = open(sys.argv[2], "rb").read()
	latest = {}
	for line in log.splitlines():
	    f = json.loads(line)
	    latest[f["id"]] = f
	want = {}
	for f in latest.values():
	    if f["status"] == "open":
	        k = hashlib.sha256(("%s\t%s" % (f["detector"], f["fingerprint"])).encode()).hexdigest()[:16]
	        want[k] = f["id"]
	got = {}
	for line in lines:
	    k, off, n = json.loads(line)
	    rec = log[off:off + n]
	    assert rec.endswith(b"\n"), line
	    f = json.loads(rec)
	    assert latest[f["id"]] == f, line
	    got[k] = f["id"]
	assert got == want, (len(got), len(want))
	EOF
}

@test "the log is compacted when most of it is replaced records; a line that is not a finding is kept" {
	before=$(current .mallcop/findings.jsonl | jq length)
	# every record three times: two thirds of the log replaced
	cat .mallcop/findings.jsonl .mallcop/findings.jsonl .mallcop/findings.jsonl > x
	head -n 5 .mallcop/findings.jsonl > y
	echo 'not a finding {' >> y
	tail -n +6 x >> y
	mv y .mallcop/findings.jsonl
	new_events
	run --separate-stderr mallcop detect
	assert_success
	made=$(jq .new_findings <<< "$output")
	# one record per finding again, and the line that was not one
	[ "$(grep -c '^not a finding {$' .mallcop/findings.jsonl)" -eq 1 ]
	grep -v '^not a finding' .mallcop/findings.jsonl > live
	[ -z "$(jq -r .id live | sort | uniq -d)" ]
	[ "$(wc -l < live)" -eq $((before + made)) ]
	[ "$(stat -c %s .mallcop/findings.jsonl)" -lt "$(stat -c %s x)" ]
	# and the index describes the compacted log
	run mallcop detect
	assert_success
	jq -e '.new_findings == 0' <<< "$output"
}

@test "a last line cut short by an interrupted write is kept aside, and the log goes on whole" {
	printf '{"id":"fnd_torn","timestamp":"2026-11-2' >> .mallcop/findings.jsonl
	new_events
	run --separate-stderr mallcop detect
	assert_success
	[[ "$stderr" == *"cut short"*"findings.jsonl.torn-"* ]]
	[ "$(cat .mallcop/findings.jsonl.torn-*)" = '{"id":"fnd_torn","timestamp":"2026-11-2' ]
	jq -c . .mallcop/findings.jsonl > /dev/null
	# a finding written whole but without its newline (an earlier writer) is kept and ended
	tail -n 1 .mallcop/findings.jsonl | tr -d '\n' > last
	truncate -s -1 .mallcop/findings.jsonl
	new_events again
	run --separate-stderr mallcop detect
	assert_success
	grep -qxF "$(cat last)" .mallcop/findings.jsonl
	jq -c . .mallcop/findings.jsonl > /dev/null
}

@test "detect killed with SIGKILL at any moment, then run again, ends with every finding once" {
	cp -r .mallcop ref
	new_events
	run mallcop detect
	want=$(current .mallcop/findings.jsonl | jq -c 'map({detector, fingerprint}) | unique')
	rm -rf .mallcop && cp -r ref .mallcop
	new_events
	for delay in 0.05 0.1 0.2 0.3 0.5; do
		mallcop detect > /dev/null 2>&1 &
		pid=$!
		sleep "$delay"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" || true
	done
	# two at once: one waits for the other
	mallcop detect --wait=60 > out1 2>/dev/null &
	mallcop detect --wait=60 > out2 2>/dev/null &
	wait
	jq -e '.status == "ok"' out1 out2
	jq -c . .mallcop/findings.jsonl > /dev/null
	[ "$(current .mallcop/findings.jsonl | jq -c 'map({detector, fingerprint}) | unique')" = "$want" ]
	jq -se 'group_by(.id) | map(last) | group_by([.detector, .fingerprint]) | all(length == 1)' .mallcop/findings.jsonl
}

# run a script in a private mount namespace (root only), or skip
in_namespace() {
	[ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null || skip "needs root and mount namespaces"
	unshare -m sh -c "$1"
}

@test "a full disk stops the pass with exit 1 and leaves findings and baseline as they were; the next pass makes up for it" {
	new_events
	before=$(cat .mallcop/findings.jsonl .mallcop/baseline.json | sha256sum)
	need=$(du -sk .mallcop | cut -f1)
	in_namespace "
		mkdir -p '$D/m' && mount -t tmpfs -o size=$((need + 6144))k tmpfs '$D/m' || exit 99
		cp -r '$D/.mallcop' '$D/m/' && mount --bind '$D/m/.mallcop' '$D/.mallcop' || exit 99
		dd if=/dev/zero of='$D/.mallcop/fill' bs=1k count=16384 2>/dev/null
		'$TOP/mallcop' detect > '$D/out' 2> '$D/err'; echo \$? > '$D/rc'
		cat '$D/.mallcop/findings.jsonl' '$D/.mallcop/baseline.json' | sha256sum > '$D/after'
		rm '$D/.mallcop/fill'
		'$TOP/mallcop' detect > '$D/out2' 2> '$D/err2'; echo \$? > '$D/rc2'
	"
	[ "$(cat rc)" -eq 1 ]
	grep -q 'No space left on device' err
	[ "$(cat after)" = "$before" ]
	cat err2
	[ "$(cat rc2)" -eq 0 ]
	jq -e '.new_findings > 0 and .updated_findings > 0' out2
}
