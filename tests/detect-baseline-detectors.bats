#!/usr/bin/env bats
# the baseline detectors of mallcop-detect: priv-escalation, unusual-timing, volume-anomaly,
# new-actor, new-external-access, unusual-resource-access, through the filter mode

load helper

bats_require_minimum_version 1.5.0

setup() {
	deployment
	# a Thursday (weekday 3): the fixtures' days lie in the 30-day window before it
	export MALLCOP_NOW=2026-11-26T12:00:00Z
	BL="$D/baseline.json"
	echo '{}' > "$BL"
}

# one event: ev ID SOURCE TYPE ACTOR TARGET TIME [METADATA]
ev() {
	local m=${7:-'{}'}
	jq -nc --arg id "$1" --arg s "$2" --arg t "$3" --arg a "$4" --arg tg "$5" --arg ts "$6" \
		--argjson m "$m" \
		'{id: $id, timestamp: $ts, source: $s, event_type: $t, actor: $a, action: "a",
		  target: $tg, severity: "info", metadata: $m, raw: {}}'
}

# the baseline file, from stdin
baseline() {
	cat > "$BL"
}

# events on stdin through the filter; $output holds the findings of detector $1 only
detect() {
	local det=$1
	shift
	run --separate-stderr mallcop detect - --baseline "$BL" "$@"
	assert_success
	output=$(printf '%s\n' "$output" | jq -c --arg d "$det" 'select(.detector == $d)')
}

# how many findings $output holds
count() {
	printf '%s' "$output" | grep -c . || true
}

# jq -e over the only finding in $output
check() {
	[ "$(count)" -eq 1 ]
	printf '%s\n' "$output" | jq -e "$1"
}

# --- new-actor ---

@test "new-actor: an actor the baseline does not know is reported once, keyed on the actor" {
	echo '{"known_entities": {"actors": ["alice"]}}' | baseline
	{
		ev e1 github push bob org/r1 2026-11-26T10:00:00Z
		ev e2 github push bob org/r2 2026-11-26T10:05:00Z
	} > in.jsonl
	detect new-actor < in.jsonl
	check '.fingerprint == "bob" and .severity == "warn" and .event_ids == ["e1"] and
		.metadata.actor == "bob" and .metadata.source == "github" and
		(.title | contains("bob"))'
}

@test "new-actor: a known actor, and an event without an actor, are not reported" {
	echo '{"known_entities": {"actors": ["alice"]}}' | baseline
	{
		ev e1 github push alice org/r1 2026-11-26T10:00:00Z
		ev e2 github push "" org/r1 2026-11-26T10:01:00Z
	} > in.jsonl
	detect new-actor < in.jsonl
	[ "$(count)" -eq 0 ]
}

@test "new-actor: a created principal never seen acting is a new principal" {
	echo '{"known_entities": {"actors": ["alice", "bob"]}}' | baseline
	{
		ev e1 supabase user_created alice carol 2026-11-26T10:00:00Z
		ev e2 supabase user_created alice bob 2026-11-26T10:01:00Z
		ev e3 supabase push alice dave 2026-11-26T10:02:00Z
	} > in.jsonl
	detect new-actor < in.jsonl
	check '.fingerprint == "principal:carol" and .event_ids == ["e1"] and
		.metadata.principal == "carol" and .metadata.actor == "alice"'
}

@test "new-actor: disabled in mallcop.yaml; a setting it does not have is refused" {
	printf 'detectors:\n  new-actor:\n    enabled: false\n' > mallcop.yaml
	ev e1 github push bob org/r1 2026-11-26T10:00:00Z > in.jsonl
	detect new-actor --config mallcop.yaml < in.jsonl
	[ "$(count)" -eq 0 ]
	printf 'detectors:\n  new-actor:\n    min_events: 3\n' > mallcop.yaml
	run --separate-stderr mallcop detect - --baseline "$BL" --config mallcop.yaml < /dev/null
	assert_failure 1
	[[ $stderr == *"detectors.new-actor.min_events: unknown setting"* ]]
}

# --- priv-escalation ---

@test "priv-escalation: an elevated role new for its actor is critical, keyed actor:role:target" {
	echo '{"known_entities": {"actors": ["alice"], "actor_roles": {"alice": ["Reader"]}}}' | baseline
	ev e1 azure role_assignment alice /subscriptions/s1 2026-11-26T10:00:00Z \
		'{"role_name": "Owner"}' > in.jsonl
	detect priv-escalation < in.jsonl
	check '.severity == "critical" and .fingerprint == "alice:Owner:/subscriptions/s1" and
		.metadata.role == "Owner" and .metadata.actor == "alice" and
		.metadata.target == "/subscriptions/s1" and (.title | contains("Owner"))'
}

@test "priv-escalation: a role the actor is known for, or one not elevated, is not reported" {
	echo '{"known_entities": {"actors": ["alice"], "actor_roles": {"alice": ["Owner"]}}}' | baseline
	{
		ev e1 azure role_assignment alice /subscriptions/s1 2026-11-26T10:00:00Z '{"role_name": "Owner"}'
		ev e2 azure role_assignment alice /subscriptions/s1 2026-11-26T10:01:00Z '{"role_name": "Reader"}'
		ev e3 github push alice org/r1 2026-11-26T10:02:00Z '{"role_name": "admin"}'
	} > in.jsonl
	detect priv-escalation < in.jsonl
	[ "$(count)" -eq 0 ]
}

@test "priv-escalation: role words match inside a role, in any case, from any source; admin_action always" {
	{
		ev e1 azure role_assignment alice /s1 2026-11-26T10:00:00Z '{"role_name": "Storage Blob Data Contributor"}'
		ev e2 github collaborator_added bob org/r1 2026-11-26T10:01:00Z '{"permission_level": "ADMIN"}'
		ev e3 aws-cloudtrail iam_change carol grp 2026-11-26T10:02:00Z '{"role": "*"}'
		ev e4 m365 admin_action dave u1 2026-11-26T10:03:00Z
	} > in.jsonl
	detect priv-escalation < in.jsonl
	[ "$(count)" -eq 4 ]
	[ "$(printf '%s\n' "$output" | jq -r .fingerprint | sort | tr '\n' ' ')" = \
		"alice:Storage Blob Data Contributor:/s1 bob:ADMIN:org/r1 carol:*:grp dave:admin_action:u1 " ]
}

@test "priv-escalation: roles: in mallcop.yaml adds elevated words; a bad value is refused" {
	ev e1 azure role_assignment alice /s1 2026-11-26T10:00:00Z '{"role_name": "AppDeployer"}' > in.jsonl
	detect priv-escalation < in.jsonl
	[ "$(count)" -eq 0 ]
	printf 'detectors:\n  priv-escalation:\n    roles: [Deployer]\n' > mallcop.yaml
	detect priv-escalation --config mallcop.yaml < in.jsonl
	check '.fingerprint == "alice:AppDeployer:/s1"'
	printf 'detectors:\n  priv-escalation:\n    roles: Deployer\n' > mallcop.yaml
	run --separate-stderr mallcop detect - --baseline "$BL" --config mallcop.yaml < in.jsonl
	assert_failure 1
	[[ $stderr == *"detectors.priv-escalation.roles: expected a list"* ]]
}

# --- unusual-timing ---

# alice: 30 github pushes, all on Thursdays 08:00-12:00 (the profile is the actor's, "*:*:")
timing_baseline() {
	baseline <<-EOF
	{"frequency_tables": {"github:push": 35, "github:push:alice": 30, "github:push:alice:3:8": 30,
	  "github:push:bob": 5, "github:push:bob:3:8": 5, "*:*:alice": 30, "*:*:alice:3:8": 30,
	  "*:*:bob": 5, "*:*:bob:3:8": 5},
	 "known_entities": {"actors": ["alice", "bob"]}}
	EOF
}

@test "unusual-timing: an established actor in a slot far from its usual ones is reported per slot" {
	timing_baseline
	{
		ev e1 github push alice org/r1 2026-11-26T01:00:00Z
		ev e2 github push alice org/r1 2026-11-26T02:00:00Z
		ev e3 github push alice org/r1 2026-11-29T21:00:00Z
	} > in.jsonl
	detect unusual-timing < in.jsonl
	[ "$(count)" -eq 2 ]
	[ "$(printf '%s\n' "$output" | jq -r .fingerprint | tr '\n' ' ')" = "alice:3:0 alice:6:20 " ]
	printf '%s\n' "$output" | jq -se '.[0].severity == "warn" and .[0].event_ids == ["e1"] and
		.[0].metadata.weekday == "Thursday" and .[0].metadata.hours_utc == "00:00-04:00" and
		.[1].metadata.weekday == "Sunday"'
}

@test "unusual-timing: the usual slot and the slots beside it are not reported" {
	timing_baseline
	{
		ev e1 github push alice org/r1 2026-11-26T09:00:00Z
		ev e2 github push alice org/r1 2026-11-26T05:00:00Z
		ev e3 github push alice org/r1 2026-11-26T13:00:00Z
	} > in.jsonl
	detect unusual-timing < in.jsonl
	[ "$(count)" -eq 0 ]
}

@test "unusual-timing: nothing while the baseline is empty, nor for an actor with little history" {
	ev e1 github push alice org/r1 2026-11-26T01:00:00Z > in.jsonl
	detect unusual-timing < in.jsonl
	[ "$(count)" -eq 0 ]
	timing_baseline
	ev e2 github push bob org/r1 2026-11-26T01:00:00Z > in.jsonl
	detect unusual-timing < in.jsonl
	[ "$(count)" -eq 0 ]
}

@test "unusual-timing: the profile is the actor's over every source and type" {
	timing_baseline
	{
		ev e1 m365 login_success alice app 2026-11-26T09:00:00Z
		ev e2 azure role_assignment alice /s1 2026-11-26T01:00:00Z
	} > in.jsonl
	detect unusual-timing < in.jsonl
	check '.event_ids == ["e2"] and .fingerprint == "alice:3:0"'
}

@test "unusual-timing: min_history in mallcop.yaml judges actors with less history; a bad value is refused" {
	timing_baseline
	printf 'detectors:\n  unusual-timing:\n    min_history: 5\n' > mallcop.yaml
	ev e1 github push bob org/r1 2026-11-26T01:00:00Z > in.jsonl
	detect unusual-timing --config mallcop.yaml < in.jsonl
	check '.fingerprint == "bob:3:0" and .metadata.history_count == 5'
	printf 'detectors:\n  unusual-timing:\n    min_history: 0\n' > mallcop.yaml
	run --separate-stderr mallcop detect - --baseline "$BL" --config mallcop.yaml < /dev/null
	assert_failure 1
	[[ $stderr == *"detectors.unusual-timing.min_history: expected a whole number"* ]]
}

# --- volume-anomaly ---

# github push: N a day on the five days before the 26th
volume_baseline() {
	local n=$1
	jq -nc --argjson n "$n" '
		["2026-11-21","2026-11-22","2026-11-23","2026-11-24","2026-11-25"] as $days |
		{frequency_tables: {"github:push": ($n * 5), "github:push:alice": ($n * 5)},
		 daily: ($days | map({key: ., value: {"github:push": $n, "github:push:alice": $n}}) |
			from_entries),
		 known_entities: {actors: ["alice"]}}' | baseline
}

# N github pushes by alice on the 26th, one a minute from 10:00
pushes() {
	for i in $(seq 1 "$1"); do
		ev "p$i" github push alice org/r1 "$(printf '2026-11-26T10:%02d:00Z' "$i")"
	done
}

@test "volume-anomaly: a day above 3x the daily mean is reported once, with the counts" {
	volume_baseline 6
	pushes 22 > in.jsonl
	detect volume-anomaly < in.jsonl
	check '.fingerprint == "github:push:2026-11-26" and .severity == "warn" and
		.event_ids == ["p19"] and .metadata.current_count == 19 and
		.metadata.baseline_mean == 6 and .metadata.ratio == 3.2 and .metadata.threshold == 3 and
		.metadata.source == "github" and .metadata.event_type == "push"'
}

@test "volume-anomaly: a day at 3x the mean, or a pair with a small mean, is not reported" {
	volume_baseline 6
	pushes 18 > in.jsonl
	detect volume-anomaly < in.jsonl
	[ "$(count)" -eq 0 ]
	volume_baseline 2
	pushes 30 > in.jsonl
	detect volume-anomaly < in.jsonl
	[ "$(count)" -eq 0 ]
}

@test "volume-anomaly: ratio and min_baseline in mallcop.yaml; a bad value is refused" {
	volume_baseline 2
	printf 'detectors:\n  volume-anomaly:\n    min_baseline: 1\n' > mallcop.yaml
	pushes 7 > in.jsonl
	detect volume-anomaly --config mallcop.yaml < in.jsonl
	check '.event_ids == ["p7"] and .metadata.baseline_mean == 2'
	volume_baseline 6
	printf 'detectors:\n  volume-anomaly:\n    ratio: 4\n' > mallcop.yaml
	pushes 24 > in.jsonl
	detect volume-anomaly --config mallcop.yaml < in.jsonl
	[ "$(count)" -eq 0 ]
	pushes 25 > in.jsonl
	detect volume-anomaly --config mallcop.yaml < in.jsonl
	check '.event_ids == ["p25"]'
	printf 'detectors:\n  volume-anomaly:\n    ratio: "3x"\n' > mallcop.yaml
	run --separate-stderr mallcop detect - --baseline "$BL" --config mallcop.yaml < /dev/null
	assert_failure 1
	[[ $stderr == *"detectors.volume-anomaly.ratio: expected a number"* ]]
}

# --- new-external-access ---

@test "new-external-access: outside collaborators, guests, consents and external shares" {
	{
		ev e1 github collaborator_added alice org/r1 2026-11-26T10:00:00Z
		ev e2 github collaborator_added alice org/r2 2026-11-26T10:01:00Z '{"member_type": "outside"}'
		ev e3 m365 guest_invited bob guest@ext.example 2026-11-26T10:02:00Z
		ev e4 m365 oauth_consent bob app1 2026-11-26T10:03:00Z
		ev e5 m365 sharepoint_sharing bob doc1 2026-11-26T10:04:00Z '{"sharing_type": "external"}'
		ev e6 m365 sharing_change bob doc2 2026-11-26T10:05:00Z
	} > in.jsonl
	detect new-external-access < in.jsonl
	[ "$(count)" -eq 6 ]
	printf '%s\n' "$output" | jq -se 'all(.severity == "warn") and
		(map(.fingerprint) | sort) == ["collaborator_added:org/r1:alice",
		"collaborator_added:org/r2:alice", "guest_invited:guest@ext.example:bob",
		"oauth_consent:app1:bob", "sharepoint_sharing:doc1:bob", "sharing_change:doc2:bob"]'
}

@test "new-external-access: members, internal shares and other sources are not reported" {
	{
		ev e1 github collaborator_added alice org/r1 2026-11-26T10:00:00Z '{"member_type": "member"}'
		ev e2 m365 sharepoint_sharing bob doc1 2026-11-26T10:01:00Z '{"sharing_type": "internal"}'
		ev e3 azure guest_invited bob g@ext.example 2026-11-26T10:02:00Z
		ev e4 aws-cloudtrail collaborator_added bob r 2026-11-26T10:03:00Z
		ev e5 github guest_invited bob g@ext.example 2026-11-26T10:04:00Z
	} > in.jsonl
	detect new-external-access < in.jsonl
	[ "$(count)" -eq 0 ]
}

@test "new-external-access: admin access granted outside is critical" {
	{
		ev e1 github collaborator_added alice org/r1 2026-11-26T10:00:00Z '{"permission_level": "Admin"}'
		ev e2 m365 guest_invited bob g@ext.example 2026-11-26T10:01:00Z '{"role_name": "Global Administrator"}'
		ev e3 github collaborator_added alice org/r2 2026-11-26T10:02:00Z '{"permission_level": "read"}'
	} > in.jsonl
	detect new-external-access < in.jsonl
	[ "$(printf '%s\n' "$output" | jq -r '"\(.event_ids[0]) \(.severity)"' | sort | tr '\n' ' ')" = \
		"e1 critical e2 critical e3 warn " ]
}

@test "new-external-access: disabled in mallcop.yaml; a setting it does not have is refused" {
	printf 'detectors:\n  new-external-access:\n    enabled: false\n' > mallcop.yaml
	ev e1 m365 guest_invited bob g@ext.example 2026-11-26T10:00:00Z > in.jsonl
	detect new-external-access --config mallcop.yaml < in.jsonl
	[ "$(count)" -eq 0 ]
	printf 'detectors:\n  new-external-access:\n    sources: [github]\n' > mallcop.yaml
	run --separate-stderr mallcop detect - --baseline "$BL" --config mallcop.yaml < /dev/null
	assert_failure 1
	[[ $stderr == *"detectors.new-external-access.sources: unknown setting"* ]]
}

# --- unusual-resource-access ---

# alice: 7 events over two repos; bob: 3 over one
resource_baseline() {
	baseline <<-EOF
	{"known_entities": {"actors": ["alice", "bob"]},
	 "relationships": {
	  "alice:org/r1": {"count": 4, "first_seen": "2026-11-01T10:00:00Z", "last_seen": "2026-11-20T10:00:00Z"},
	  "alice:org/r2": {"count": 3, "first_seen": "2026-11-01T10:00:00Z", "last_seen": "2026-11-20T10:00:00Z"},
	  "bob:org/r1": {"count": 3, "first_seen": "2026-11-01T10:00:00Z", "last_seen": "2026-11-20T10:00:00Z"}}}
	EOF
}

@test "unusual-resource-access: an established actor on a target new to it, once per target" {
	resource_baseline
	{
		ev e1 github push alice org/secret 2026-11-26T10:00:00Z
		ev e2 github push alice org/secret 2026-11-26T10:01:00Z
	} > in.jsonl
	detect unusual-resource-access < in.jsonl
	check '.fingerprint == "alice->org/secret" and .severity == "warn" and .event_ids == ["e1"] and
		.metadata.known_classes_count == 2 and .metadata.actor_event_count == 7'
}

@test "unusual-resource-access: known targets, thin histories, unknown actors, empty targets are not reported" {
	resource_baseline
	{
		ev e1 github push alice org/r1 2026-11-26T10:00:00Z
		ev e2 github push bob org/secret 2026-11-26T10:01:00Z
		ev e3 github push carol org/secret 2026-11-26T10:02:00Z
		ev e4 github push alice "" 2026-11-26T10:03:00Z
	} > in.jsonl
	detect unusual-resource-access < in.jsonl
	[ "$(count)" -eq 0 ]
}

@test "unusual-resource-access: the events of the same pass count towards an actor's history" {
	resource_baseline
	{
		ev e1 github push bob org/r1 2026-11-26T10:00:00Z
		ev e2 github push bob org/new1 2026-11-26T10:01:00Z
		ev e3 github push bob org/new2 2026-11-26T10:02:00Z
	} > in.jsonl
	detect unusual-resource-access < in.jsonl
	check '.fingerprint == "bob->org/new2" and .metadata.actor_event_count == 5 and
		.metadata.known_classes_count == 2'
}

@test "unusual-resource-access: a new object of a known kind is not reported, a new kind is" {
	baseline <<-EOF
	{"known_entities": {"actors": ["ci"]},
	 "relationships": {
	  "ci:arn:aws:s3:::backups/pg/2026-11-01/a.gz": {"count": 9, "first_seen": "2026-11-01T10:00:00Z", "last_seen": "2026-11-20T10:00:00Z"},
	  "ci:https://x.sharepoint.com/sites/Eng/Docs/a.docx": {"count": 3, "first_seen": "2026-11-01T10:00:00Z", "last_seen": "2026-11-20T10:00:00Z"}}}
	EOF
	{
		ev e1 aws s3_access ci arn:aws:s3:::backups/pg/2026-11-25/b.gz 2026-11-26T10:00:00Z
		ev e2 m365 file_access ci "https://x.sharepoint.com/sites/Eng/Docs/new.docx" 2026-11-26T10:01:00Z
		ev e3 aws s3_access ci arn:aws:s3:::payroll/2026/x.csv 2026-11-26T10:02:00Z
		ev e4 m365 file_access ci "https://x.sharepoint.com/sites/Finance/Docs/pay.xlsx" 2026-11-26T10:03:00Z
	} > in.jsonl
	detect unusual-resource-access < in.jsonl
	[ "$(count)" -eq 2 ]
	[ "$(printf '%s\n' "$output" | jq -r .fingerprint | sort | tr '\n' ' ')" = "ci->arn:aws:s3:::payroll ci->https://x.sharepoint.com/sites/Finance " ]
}

@test "unusual-resource-access: min_events in mallcop.yaml; a bad value is refused" {
	resource_baseline
	printf 'detectors:\n  unusual-resource-access:\n    min_events: 3\n' > mallcop.yaml
	ev e1 github push bob org/secret 2026-11-26T10:00:00Z > in.jsonl
	detect unusual-resource-access --config mallcop.yaml < in.jsonl
	check '.fingerprint == "bob->org/secret"'
	printf 'detectors:\n  unusual-resource-access:\n    min_events: 2.5\n' > mallcop.yaml
	run --separate-stderr mallcop detect - --baseline "$BL" --config mallcop.yaml < /dev/null
	assert_failure 1
	[[ $stderr == *"detectors.unusual-resource-access.min_events: expected a whole number"* ]]
}

# --- mallcop baseline: the earlier implementation's fields beside ours ---

@test "baseline keeps event_count, and --actor frequency_entries and relationships, of the earlier implementation" {
	config <<<'connectors: {}'
	mkdir -p .mallcop/events
	{
		ev e1 github push alice repo/a 2026-11-20T10:00:00Z
		ev e2 github push alice repo/a 2026-11-21T10:00:00Z
		ev e3 github push alice repo/b 2026-11-22T11:00:00Z
		ev e4 github push bob repo/a 2026-11-22T11:00:00Z
	} > .mallcop/events/github-2026-11.jsonl
	ev e5 azure login alice vm1 2026-10-30T09:00:00Z > .mallcop/events/azure-2026-10.jsonl
	mallcop detect >/dev/null
	run --separate-stderr mallcop baseline
	assert_success
	# the events stored
	jq -e '.event_count == 5' <<< "$output"
	run --separate-stderr mallcop baseline --actor alice
	assert_success
	jq -e '.frequency_entries == .frequencies and .relationships == .targets' <<< "$output"
	jq -e '.frequency_entries["github:push:alice"] == 3 and .frequency_entries["azure:login:alice"] == 1' <<< "$output"
	jq -e '.frequency_entries | keys | map(select(test("bob"))) == []' <<< "$output"
	jq -e '.relationships | keys == ["repo/a","repo/b","vm1"]' <<< "$output"
	jq -e '.relationships["repo/a"] == {"count":2,"first_seen":"2026-11-20T10:00:00Z","last_seen":"2026-11-21T10:00:00Z"}' <<< "$output"
}
