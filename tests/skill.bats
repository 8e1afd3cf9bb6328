#!/usr/bin/env bats
# mallcop skill: list, sign, verify, lock, with real keys and the real ssh-keygen

load helper

setup() {
	deployment
	K=$BATS_TEST_TMPDIR/keys
	mkdir -p "$K"
	keygen alice alice@example.com
}

# keygen NAME IDENTITY: an ed25519 key pair $K/NAME, $K/NAME.pub (other types: TYPE as $3)
keygen() {
	ssh-keygen -q -t "${3:-ed25519}" -N '' -C "$2" -f "$K/$1"
}

# skill DIR NAME [AUTHOR] [PARENT]: a skill directory with a SKILL.md
skill() {
	mkdir -p "$1"
	{
		printf -- '---\nname: %s\ndescription: knowledge about %s\nversion: "1.0"\n' "$2" "$2"
		[ -n "${3:-}" ] && printf 'author: %s\n' "$3"
		[ -n "${4:-}" ] && printf 'parent: %s\n' "$4"
		printf -- '---\n# %s\nLook at the events of %s.\n' "$2" "$2"
	} > "$1/SKILL.md"
}

# blob DIR: the signed content, computed here as the reference describes it (not by mallcop)
blob() {
	python3 - "$1" <<'EOF'
import os, sys
top = sys.argv[1]
paths = []
for root, dirs, files in os.walk(top):
    for n in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
        p = os.path.join(root, n)
        if os.path.isdir(p):
            continue
        paths.append(os.path.relpath(p, top))
out = sys.stdout.buffer
for rel in sorted(paths, key=lambda r: r.split('/')):
    if rel == 'SKILL.md.sig':
        continue
    out.write(b'--- ' + rel.encode() + b' ---\n')
    out.write(open(os.path.join(top, rel), 'rb').read())
EOF
}

# sshsign DIR KEY [NAMESPACE]: SKILL.md.sig made by ssh-keygen over the blob
sshsign() {
	blob "$1" > "$BATS_TEST_TMPDIR/blob"
	ssh-keygen -q -Y sign -f "$2" -n "${3:-mallcop-skill}" < "$BATS_TEST_TMPDIR/blob" \
		> "$1/SKILL.md.sig" 2>/dev/null
}

# sshverify DIR PUBKEY IDENTITY: ssh-keygen's verdict on DIR's SKILL.md.sig
sshverify() {
	printf '%s %s\n' "$3" "$(cut -d' ' -f1,2 "$2")" > "$BATS_TEST_TMPDIR/allowed"
	blob "$1" | ssh-keygen -q -Y verify -f "$BATS_TEST_TMPDIR/allowed" -I "$3" \
		-n mallcop-skill -s "$1/SKILL.md.sig"
}

# the trust anchor IDENTITY KEY.pub of the deployment (the reference's anchors file)
anchor() {
	mkdir -p "$D/.mallcop/trust"
	printf '%s %s\n' "$1" "$(cut -d' ' -f1,2 "$2")" >> "$D/.mallcop/trust/anchors"
}

# the status and reason of skill NAME in the last `skill list` output
status_of() {
	jq -r --arg n "$1" '.skills[] | select(.name == $n) | .status' <<< "$output"
}
reason_of() {
	jq -r --arg n "$1" '.skills[] | select(.name == $n) | .reason' <<< "$output"
}

# --- verify -------------------------------------------------------------------------------

@test "verify: a signature made by ssh-keygen -Y sign verifies" {
	skill s/aws-iam aws-iam alice@example.com
	mkdir -p s/aws-iam/sub && printf 'x\n' > s/aws-iam/sub/a.txt && : > s/aws-iam/tools.py
	sshsign s/aws-iam "$K/alice"
	run --separate-stderr mallcop skill verify s/aws-iam --pubkey "$K/alice.pub"
	assert_success
	[ "$(jq -r .status <<< "$output")" = ok ]
	[ "$(jq -r .verified <<< "$output")" = true ]
	[ "$(jq -r .identity <<< "$output")" = alice@example.com ]
	[ "$(jq -r .skill <<< "$output")" = aws-iam ]
	[ "$(jq -r .fingerprint <<< "$output")" = "$(ssh-keygen -lf "$K/alice.pub" | cut -d' ' -f2)" ]
}

@test "verify: ECDSA and RSA signatures by ssh-keygen verify too" {
	for t in ecdsa rsa; do
		keygen "k$t" alice@example.com "$t"
		skill "s/$t" "skill-$t" alice@example.com
		sshsign "s/$t" "$K/k$t"
		run mallcop skill verify "s/$t" --pubkey "$K/k$t.pub"
		assert_success
	done
}

@test "verify --human says who signed" {
	skill s/x x alice@example.com
	sshsign s/x "$K/alice"
	run mallcop skill verify s/x --pubkey "$K/alice.pub" --human
	assert_success
	assert_output --partial "verified x: signed by alice@example.com"
}

@test "verify: --identity replaces the key's comment; an author that differs is refused" {
	keygen plain user@host
	skill s/x x bob@example.com
	sshsign s/x "$K/plain"
	run --separate-stderr mallcop skill verify s/x --pubkey "$K/plain.pub"
	assert_failure 1
	[ "$(jq -r .verified <<< "$output")" = false ]
	[[ "$stderr" == *"names author 'bob@example.com', not 'user@host'"* ]]
	run mallcop skill verify s/x --pubkey "$K/plain.pub" --identity bob@example.com
	assert_success
}

@test "verify: a key without a comment needs --identity (usage)" {
	skill s/x x
	ssh-keygen -q -t ed25519 -N '' -C '' -f "$K/bare"
	sshsign s/x "$K/bare"
	run --separate-stderr mallcop skill verify s/x --pubkey "$K/bare.pub"
	assert_failure 2
	[[ "$stderr" == *"--identity"* ]]
	run mallcop skill verify s/x --pubkey "$K/bare.pub" --identity me@example.com
	assert_success
}

# a signed skill s/x, then CHANGE (shell) done to it: verify must fail naming WHY
refused_after() {
	skill s/x x alice@example.com
	printf 'note\n' > s/x/notes.md
	sshsign s/x "$K/alice"
	eval "$1"
	run --separate-stderr mallcop skill verify s/x --pubkey "$K/alice.pub"
	assert_failure 1
	[ "$(jq -r .verified <<< "$output")" = false ]
	[[ "$stderr" == "mallcop-skill: "*"$2"* ]] || { echo "stderr: $stderr"; false; }
}

@test "verify refuses a SKILL.md changed after signing" {
	refused_after "printf 'more\n' >> s/x/SKILL.md" "bad signature"
}

@test "verify refuses a file added after signing" {
	refused_after "printf 'x\n' > s/x/added.md" "bad signature"
}

@test "verify refuses a file removed after signing" {
	refused_after "rm s/x/notes.md" "bad signature"
}

@test "verify refuses a file renamed after signing" {
	refused_after "mv s/x/notes.md s/x/notes2.md" "bad signature"
}

@test "verify refuses a truncated signature" {
	refused_after "head -c 200 s/x/SKILL.md.sig > t && mv t s/x/SKILL.md.sig" "SKILL.md.sig"
}

@test "verify refuses a signature for another namespace" {
	refused_after "sshsign s/x '$K/alice' mallcop-endorsement" "namespace"
}

@test "verify refuses a signature made by another key" {
	keygen mallory alice@example.com
	refused_after "sshsign s/x '$K/mallory'" "another key"
}

@test "verify refuses a signature over another directory" {
	skill s/y x alice@example.com
	printf 'other\n' > s/y/notes.md
	sshsign s/y "$K/alice"
	refused_after "cp s/y/SKILL.md.sig s/x/SKILL.md.sig" "bad signature"
}

@test "verify refuses a directory without SKILL.md.sig" {
	refused_after "rm s/x/SKILL.md.sig" "no SKILL.md.sig"
}

@test "verify refuses a skill directory with a link leading outside it" {
	printf 'secret\n' > "$BATS_TEST_TMPDIR/outside"
	refused_after "ln -s '$BATS_TEST_TMPDIR/outside' s/x/link" "symbolic link leading outside"
}

@test "verify refuses a 100 MB file by its size" {
	refused_after "truncate -s 100M s/x/big.bin" "104857600 bytes"
}

@test "verify refuses a SKILL.md without front matter" {
	mkdir -p s/x
	printf '# no front matter\n' > s/x/SKILL.md
	sshsign s/x "$K/alice"
	run --separate-stderr mallcop skill verify s/x --pubkey "$K/alice.pub"
	assert_failure 1
	[[ "$stderr" == *"SKILL.md' has no front matter"* ]]
}

@test "verify refuses a skill name with / or .." {
	for n in '../etc' 'a/b' 'a..b'; do
		mkdir -p s/x
		printf -- '---\nname: %s\ndescription: d\n---\n' "$n" > s/x/SKILL.md
		run --separate-stderr mallcop skill verify s/x --pubkey "$K/alice.pub"
		assert_failure 1
		[[ "$stderr" == *"is not a skill name"* ]]
	done
}

@test "verify refuses a private key given as --pubkey" {
	skill s/x x alice@example.com
	sshsign s/x "$K/alice"
	run --separate-stderr mallcop skill verify s/x --pubkey "$K/alice"
	assert_failure 1
	[[ "$stderr" == *"private key"* ]]
	[[ "$output$stderr" != *"$(sed -n 2p "$K/alice")"* ]]
}

@test "verify refuses a key file that is not a key" {
	skill s/x x alice@example.com
	sshsign s/x "$K/alice"
	printf 'hello world\n' > notakey.pub
	run --separate-stderr mallcop skill verify s/x --pubkey notakey.pub
	assert_failure 1
	[[ "$stderr" == *"not an SSH public key"* ]]
	run --separate-stderr mallcop skill verify s/x --pubkey missing.pub
	assert_failure 1
	[[ "$stderr" == *"missing.pub"* ]]
}

@test "usage errors exit 2 with the usage" {
	run --separate-stderr mallcop skill
	assert_failure 2
	[[ "$stderr" == *"usage: mallcop-skill"* ]]
	run --separate-stderr mallcop skill frobnicate
	assert_failure 2
	run --separate-stderr mallcop skill verify s/x
	assert_failure 2
	[[ "$stderr" == *"--pubkey"* ]]
	run --separate-stderr mallcop skill sign s/x
	assert_failure 2
	[[ "$stderr" == *"--key"* ]]
	run --separate-stderr mallcop skill list --key k
	assert_failure 2
	[[ "$stderr" == *"list does not take --key"* ]]
	run --separate-stderr mallcop skill lock a b
	assert_failure 2
	run mallcop skill --help
	assert_success
	assert_output --partial "mallcop-skill lock"
}

# --- sign ---------------------------------------------------------------------------------

@test "sign: the signature verifies with ssh-keygen -Y verify, and with skill verify" {
	skill s/x x alice@example.com
	mkdir -p s/x/a && printf 'b' > s/x/a/b && printf 'c' > s/x/a-c && printf 'd' > s/x/a.b
	run --separate-stderr mallcop skill sign s/x --key "$K/alice"
	assert_success
	[ "$(jq -r .sig <<< "$output")" = s/x/SKILL.md.sig ]
	[ "$(jq -r .skill <<< "$output")" = x ]
	head -n 1 s/x/SKILL.md.sig | grep -qx -- '-----BEGIN SSH SIGNATURE-----'
	run sshverify s/x "$K/alice.pub" alice@example.com
	assert_success
	run mallcop skill verify s/x --pubkey "$K/alice.pub"
	assert_success
}

@test "sign: ECDSA and RSA keys sign what ssh-keygen verifies" {
	for t in ecdsa rsa; do
		keygen "k$t" alice@example.com "$t"
		skill "s/$t" "skill-$t" alice@example.com
		run mallcop skill sign "s/$t" --key "$K/k$t"
		assert_success
		run sshverify "s/$t" "$K/k$t.pub" alice@example.com
		assert_success
	done
}

@test "sign then change one byte: both verifiers refuse" {
	skill s/x x alice@example.com
	mallcop skill sign s/x --key "$K/alice"
	sed -i 's/Look/look/' s/x/SKILL.md
	run sshverify s/x "$K/alice.pub" alice@example.com
	assert_failure
	run mallcop skill verify s/x --pubkey "$K/alice.pub"
	assert_failure 1
}

@test "sign refuses a directory without a valid SKILL.md and writes nothing" {
	mkdir -p s/x
	printf '# no front matter\n' > s/x/SKILL.md
	run --separate-stderr mallcop skill sign s/x --key "$K/alice"
	assert_failure 1
	[[ "$stderr" == *"no front matter"* ]]
	[ ! -e s/x/SKILL.md.sig ]
	rm s/x/SKILL.md
	run --separate-stderr mallcop skill sign s/x --key "$K/alice"
	assert_failure 1
	[ ! -e s/x/SKILL.md.sig ]
	run --separate-stderr mallcop skill sign s/nothere --key "$K/alice"
	assert_failure 1
	[[ "$stderr" == *"s/nothere"* ]]
}

@test "sign refuses a link leading outside and leaves the old signature" {
	skill s/x x alice@example.com
	mallcop skill sign s/x --key "$K/alice"
	cp s/x/SKILL.md.sig before.sig
	ln -s /etc/passwd s/x/passwd
	run --separate-stderr mallcop skill sign s/x --key "$K/alice"
	assert_failure 1
	[[ "$stderr" == *"leading outside"* ]]
	cmp s/x/SKILL.md.sig before.sig
}

@test "sign refuses a key file that is not a private key" {
	skill s/x x alice@example.com
	printf 'not a key\n' > bad.key
	run --separate-stderr mallcop skill sign s/x --key bad.key
	assert_failure 1
	[[ "$stderr" == *"bad.key"* ]]
	[ ! -e s/x/SKILL.md.sig ]
}

# --- lock ---------------------------------------------------------------------------------

@test "lock writes the reference's skills.lock with the blob hashes" {
	skill skills/aws-iam aws-iam alice@example.com
	skill skills/privilege_analysis privilege-analysis
	mkdir -p skills/notaskill
	MALLCOP_NOW=2026-03-15T04:09:44Z run --separate-stderr mallcop skill lock
	assert_success
	[ "$(jq -r .lock_file <<< "$output")" = ./skills/skills.lock ]
	[ "$(jq -c .skills_locked <<< "$output")" = '["aws-iam","privilege-analysis"]' ]
	[ "$(jq -c .skipped <<< "$output")" = '["./skills/notaskill"]' ]
	h1=$(blob skills/aws-iam | sha256sum | cut -d' ' -f1)
	h2=$(blob skills/privilege_analysis | sha256sum | cut -d' ' -f1)
	q() { case $1 in [0-9]*) printf "'%s'" "$1" ;; *) printf '%s' "$1" ;; esac; }
	cat > want <<EOF
skills:
  aws-iam:
    author: alice@example.com
    expires: null
    sha256: $(q "$h1")
    source: builtin
    trust_chain: null
    verified_at: '2026-03-15T04:09:44+00:00'
  privilege-analysis:
    author: null
    expires: null
    sha256: $(q "$h2")
    source: builtin
    trust_chain: null
    verified_at: '2026-03-15T04:09:44+00:00'
version: 1
EOF
	diff want skills/skills.lock
}

@test "lock --skills-dir --output, and the signature does not change the hash" {
	skill other/x x
	mallcop skill lock --skills-dir other --output out.lock
	cp out.lock first.lock
	mallcop skill sign other/x --key "$K/alice" || sshsign other/x "$K/alice"
	MALLCOP_NOW= mallcop skill lock --skills-dir other --output out.lock
	grep sha256 first.lock > a && grep sha256 out.lock > b
	diff a b
	[ ! -e other/skills.lock ]
}

@test "lock: without the deployment's skills/, the earlier ~/.mallcop/skills" {
	export HOME=$BATS_TEST_TMPDIR/home
	skill "$HOME/.mallcop/skills/x" x
	run mallcop skill lock
	assert_success
	[ "$(jq -r .lock_file <<< "$output")" = "$HOME/.mallcop/skills/skills.lock" ]
	[ -s "$HOME/.mallcop/skills/skills.lock" ]
	skill skills/y y
	run mallcop skill lock
	[ "$(jq -r .lock_file <<< "$output")" = ./skills/skills.lock ]
}

@test "lock: no skills directory at all is an error naming it" {
	export HOME=$BATS_TEST_TMPDIR/home
	run --separate-stderr mallcop skill lock
	assert_failure 1
	[[ "$stderr" == *"skills directory not found: './skills'"* ]]
	run --separate-stderr mallcop skill lock --skills-dir nothere
	assert_failure 1
	[[ "$stderr" == *"nothere"* ]]
}

@test "lock refuses a broken skill and leaves the lock as it was" {
	skill skills/x x
	mallcop skill lock
	cp skills/skills.lock before
	mkdir -p skills/y && printf 'no front matter\n' > skills/y/SKILL.md
	run --separate-stderr mallcop skill lock
	assert_failure 1
	[[ "$stderr" == *"skills/y/SKILL.md' has no front matter"* ]]
	cmp before skills/skills.lock
	rm -r skills/y
	skill skills/z x
	run --separate-stderr mallcop skill lock
	assert_failure 1
	[[ "$stderr" == *"must be named 'x'"* ]]
	cmp before skills/skills.lock
	rm -r skills/z
	ln -s /etc/passwd skills/x/passwd
	run --separate-stderr mallcop skill lock
	assert_failure 1
	[[ "$stderr" == *"leading outside"* ]]
	cmp before skills/skills.lock
}

@test "lock refuses a lock file that is there but cannot be read" {
	skill skills/x x
	mkdir skills/skills.lock
	run --separate-stderr mallcop skill lock
	assert_failure 1
	[[ "$stderr" == *"skills.lock"* ]]
	[ -d skills/skills.lock ]
}

@test "lock --human lists what it locked" {
	skill skills/x x
	run mallcop skill lock --human
	assert_success
	assert_line --index 0 "locked 1 skill in ./skills/skills.lock"
	assert_line --index 1 "  x"
}

# --- list: every check of loading, as statuses ---------------------------------------------

# signed SKILL_DIR: signed by alice (skill sign when it can, else ssh-keygen)
signed() {
	mallcop skill sign "$1" --key "${2:-$K/alice}" >/dev/null 2>&1 || sshsign "$1" "${2:-$K/alice}"
}

@test "list: valid, invalid, unsigned, untrusted, not-in-lock and broken, each with its reason" {
	anchor alice@example.com "$K/alice.pub"
	keygen bob bob@example.com
	keygen carol carol@example.com
	printf 'carol@example.com %s\n' "$(cut -d' ' -f1,2 "$K/carol.pub")" > .mallcop/trust/keyring
	skill skills/good good alice@example.com && signed skills/good
	skill skills/child child alice@example.com good && signed skills/child
	skill skills/tampered tampered alice@example.com && signed skills/tampered
	printf 'injected\n' >> skills/tampered/SKILL.md
	skill skills/unsigned unsigned alice@example.com
	skill skills/noauthor noauthor && signed skills/noauthor
	skill skills/stranger stranger bob@example.com && signed skills/stranger "$K/bob"
	skill skills/keyonly keyonly carol@example.com && signed skills/keyonly "$K/carol"
	skill skills/changed changed alice@example.com && signed skills/changed
	skill skills/badparent badparent alice@example.com tampered && signed skills/badparent
	skill skills/orphan orphan alice@example.com nothere && signed skills/orphan
	skill skills/cyc-a cyc-a alice@example.com cyc-b && signed skills/cyc-a
	skill skills/cyc_b cyc-b alice@example.com cyc-a && signed skills/cyc_b
	mallcop skill lock >/dev/null
	printf 'more\n' >> skills/changed/SKILL.md && signed skills/changed
	skill skills/late late alice@example.com && signed skills/late
	mkdir -p skills/broken && printf '# no front matter\n' > skills/broken/SKILL.md

	run --separate-stderr mallcop skill list
	assert_success
	[ "$(status_of good)" = valid ]
	[ "$(reason_of good)" = "signed by 'alice@example.com', trusted through alice@example.com" ]
	[ "$(status_of child)" = valid ]
	[ "$(jq -r '.skills[] | select(.name == "child") | .parent' <<< "$output")" = good ]
	[ "$(jq -r '.skills[] | select(.name == "child") | .source' <<< "$output")" = deployment ]
	[ "$(jq -r '.skills[] | select(.name == "child") | .version' <<< "$output")" = 1.0 ]
	[ "$(status_of tampered)" = invalid ]
	[[ "$(reason_of tampered)" == *"bad signature"* ]]
	[ "$(status_of unsigned)" = unsigned ]
	[[ "$(reason_of unsigned)" == *"no SKILL.md.sig"* ]]
	[ "$(status_of noauthor)" = untrusted ]
	[[ "$(reason_of noauthor)" == *"has no author field"* ]]
	[ "$(status_of stranger)" = untrusted ]
	[[ "$(reason_of stranger)" == *"'bob@example.com' is neither a trust anchor nor in the keyring"* ]]
	[ "$(status_of keyonly)" = untrusted ]
	[[ "$(reason_of keyonly)" == *"no trust path"*"carol@example.com"* ]]
	[ "$(status_of changed)" = not-in-lock ]
	[[ "$(reason_of changed)" == *"changed since"* ]]
	[ "$(status_of late)" = not-in-lock ]
	[[ "$(reason_of late)" == *"'late' is not in"* ]]
	[ "$(status_of broken)" = broken ]
	[[ "$(reason_of broken)" == *"no front matter"* ]]
	[ "$(status_of orphan)" = broken ]
	[[ "$(reason_of orphan)" == *"parent 'nothere' is not found"* ]]
	[ "$(status_of badparent)" = broken ]
	[[ "$(reason_of badparent)" == *"parent 'tampered' is refused"* ]]
	[ "$(status_of cyc-a)" = broken ]
	[ "$(status_of cyc-b)" = broken ]
	[[ "$(reason_of cyc-a)$(reason_of cyc-b)" == *"cycle: cyc-"*" -> cyc-"*" -> cyc-"* ]]
}

@test "list: a signature that does not verify is invalid" {
	anchor alice@example.com "$K/alice.pub"
	keygen mallory alice@example.com
	skill skills/forged forged alice@example.com && signed skills/forged "$K/mallory"
	skill skills/ns ns alice@example.com && sshsign skills/ns "$K/alice" mallcop-endorsement
	skill skills/cut cut alice@example.com && signed skills/cut
	head -c 100 skills/cut/SKILL.md.sig > t && mv t skills/cut/SKILL.md.sig
	mallcop skill lock >/dev/null
	run mallcop skill list
	assert_success
	[ "$(status_of forged)" = invalid ]
	[[ "$(reason_of forged)" == *"another key"* ]]
	[ "$(status_of ns)" = invalid ]
	[[ "$(reason_of ns)" == *namespace* ]]
	[ "$(status_of cut)" = invalid ]
}

@test "list: a link leading outside, a 100 MB file: invalid, and the file is not read" {
	anchor alice@example.com "$K/alice.pub"
	skill skills/x x alice@example.com && signed skills/x
	skill skills/y y alice@example.com && signed skills/y
	mallcop skill lock >/dev/null
	ln -s /etc/passwd skills/x/passwd
	truncate -s 100M skills/y/big
	run mallcop skill list
	assert_success
	[ "$(status_of x)" = invalid ]
	[[ "$(reason_of x)" == *"symbolic link leading outside"* ]]
	[ "$(status_of y)" = invalid ]
	[[ "$(reason_of y)" == *"104857600 bytes"* ]]
}

@test "list: without skills.lock nothing is loadable, and the reason says how to make one" {
	anchor alice@example.com "$K/alice.pub"
	skill skills/x x alice@example.com && signed skills/x
	run mallcop skill list
	assert_success
	[ "$(status_of x)" = not-in-lock ]
	[[ "$(reason_of x)" == *"no skills.lock in './skills'"*"mallcop skill lock"* ]]
}

@test "list: built-in, deployment and --skills-dir, the first of --skills-dir, deployment, built-in wins" {
	# a copy of the program in a tree of its own: its share/mallcop is the built-in data
	T=$BATS_TEST_TMPDIR/tree
	mkdir -p "$T/bin" "$T/share/mallcop/skills" "$T/share/mallcop/trust"
	cp "$MALLCOP_EXEC_PATH/mallcop-skill" "$T/bin/"
	printf 'alice@example.com %s\n' "$(cut -d' ' -f1,2 "$K/alice.pub")" > "$T/share/mallcop/trust/anchors"
	skill "$T/share/mallcop/skills/shipped" shipped alice@example.com && signed "$T/share/mallcop/skills/shipped"
	skill "$T/share/mallcop/skills/both" both alice@example.com && signed "$T/share/mallcop/skills/both"
	mallcop skill lock --skills-dir "$T/share/mallcop/skills" >/dev/null
	skill skills/both both alice@example.com && signed skills/both
	skill skills/mine mine alice@example.com && signed skills/mine
	mallcop skill lock >/dev/null
	skill extra/mine mine alice@example.com && signed extra/mine
	printf 'extra\n' >> extra/mine/SKILL.md && signed extra/mine
	mallcop skill lock --skills-dir extra >/dev/null
	export MALLCOP_EXEC_PATH=$T/bin
	run --separate-stderr mallcop skill list --skills-dir extra
	assert_success
	[ "$(jq -r '[.skills[] | .name + ":" + .source + ":" + .status] | join(" ")' <<< "$output")" = \
		"mine:skills-dir:valid both:deployment:valid shipped:built-in:valid" ]
	[ "$(jq -r '.skills[] | select(.name == "mine") | .dir' <<< "$output")" = extra/mine ]
}

@test "list: a trust directory given with --trust-dir" {
	skill skills/x x alice@example.com && signed skills/x
	mallcop skill lock >/dev/null
	mkdir -p web
	printf 'alice@example.com %s\n' "$(cut -d' ' -f1,2 "$K/alice.pub")" > web/anchors
	run mallcop skill list
	[ "$(status_of x)" = untrusted ]
	run mallcop skill list --trust-dir web
	[ "$(status_of x)" = valid ]
}

@test "list: a directory named unlike its skill is broken; '_' for '-' is fine" {
	anchor alice@example.com "$K/alice.pub"
	skill skills/aws_iam aws-iam alice@example.com && signed skills/aws_iam
	mallcop skill lock >/dev/null
	skill skills/other named-else alice@example.com
	run mallcop skill list
	[ "$(status_of aws-iam)" = valid ]
	[ "$(status_of other)" = broken ]
	[[ "$(reason_of other)" == *"must be named 'named-else'"* ]]
}

@test "list --human: one block per skill, text from SKILL.md escaped" {
	anchor alice@example.com "$K/alice.pub"
	skill skills/x x alice@example.com && signed skills/x
	mallcop skill lock >/dev/null
	mkdir -p skills/y && printf -- '---\nname: y\ndescription: "red \\e[31m text"\nauthor: "a\\e[2Jb"\n---\n' > skills/y/SKILL.md
	run mallcop skill list --human
	assert_success
	assert_line --index 0 "x 1.0 (deployment): valid"
	assert_line --index 1 "  knowledge about x"
	assert_line --index 2 "  author: alice@example.com, parent: none"
	[[ "$output" != *$'\e'* ]]
}

@test "list: an empty deployment lists the built-in skills only" {
	run mallcop skill list
	assert_success
	[ "$(jq -c '[.skills[] | select(.source != "built-in")]' <<< "$output")" = '[]' ]
	run mallcop skill list --skills-dir nothere
	assert_failure 1
}

@test "sign refuses a 100 MB file by its size and leaves the old signature" {
	skill s/x x alice@example.com
	mallcop skill sign s/x --key "$K/alice"
	cp s/x/SKILL.md.sig before.sig
	truncate -s 100M s/x/big.bin
	run --separate-stderr mallcop skill sign s/x --key "$K/alice"
	assert_failure 1
	[[ "$stderr" == *"104857600 bytes"* ]]
	cmp s/x/SKILL.md.sig before.sig
}

@test "list and lock take the deployment from --dir or MALLCOP_DIR" {
	anchor alice@example.com "$K/alice.pub"
	skill skills/x x alice@example.com && signed skills/x
	cd "$BATS_TEST_TMPDIR"
	run mallcop skill lock --dir "$D"
	assert_success
	[ -s "$D/skills/skills.lock" ]
	run mallcop --dir "$D" skill list
	[ "$(status_of x)" = valid ]
	MALLCOP_DIR=$D run mallcop skill list
	[ "$(status_of x)" = valid ]
}

@test "verify --human: a refusal on stderr only" {
	skill s/x x alice@example.com
	run --separate-stderr mallcop skill verify s/x --pubkey "$K/alice.pub" --human
	assert_failure 1
	assert_output ''
	[[ "$stderr" == *"no SKILL.md.sig"* ]]
}

@test "list: a colleague's skills through an endorsement, its scope, its expiry, a revocation" {
	keygen bob bob@example.com
	mallcop trust add-anchor alice@example.com "$K/alice.pub" >/dev/null
	mallcop trust add-key bob@example.com "$K/bob.pub" >/dev/null
	mallcop trust endorse bob@example.com --scope 'aws-*' --level author --expires 2027-01-01 \
		--key "$K/alice" --identity alice@example.com >/dev/null
	skill skills/aws-iam aws-iam bob@example.com && signed skills/aws-iam "$K/bob"
	skill skills/gcp-iam gcp-iam bob@example.com && signed skills/gcp-iam "$K/bob"
	mallcop skill lock >/dev/null
	MALLCOP_NOW=2026-06-01T00:00:00Z run mallcop skill list
	[ "$(status_of aws-iam)" = valid ]
	[ "$(reason_of aws-iam)" = "signed by 'bob@example.com', trusted through alice@example.com -> bob@example.com" ]
	[ "$(status_of gcp-iam)" = untrusted ]
	[[ "$(reason_of gcp-iam)" == *"no trust path"* ]]
	MALLCOP_NOW=2027-01-02T00:00:00Z run mallcop skill list
	[ "$(status_of aws-iam)" = untrusted ]
	MALLCOP_NOW=2026-06-01T00:00:00Z mallcop trust revoke bob@example.com --key "$K/alice" \
		--identity alice@example.com >/dev/null
	MALLCOP_NOW=2026-06-02T00:00:00Z run mallcop skill list
	[ "$(status_of aws-iam)" = untrusted ]
	[[ "$(reason_of aws-iam)" == *revoked* ]]
}
