#!/usr/bin/env bats
# mallcop trust: anchors, keys, endorsements, revocations and the path search

load helper

setup() {
	deployment
	export MALLCOP_NOW=2026-11-26T00:00:00Z
	K="$BATS_TEST_TMPDIR/keys"
	mkdir -p "$K"
	T="$D/.mallcop/trust"
}

# key NAME: an ed25519 key pair $K/NAME, $K/NAME.pub for NAME@example.com
key() {
	[ -f "$K/$1" ] || ssh-keygen -q -t ed25519 -N '' -C "$1@example.com" -f "$K/$1"
}

anchor() {
	key "$1"
	mallcop trust add-anchor "$1@example.com" "$K/$1.pub" > /dev/null
}

known() {
	key "$1"
	mallcop trust add-key "$1@example.com" "$K/$1.pub" > /dev/null
}

# endorse BY WHOM SCOPE LEVEL [EXPIRES]
endorse() {
	mallcop trust endorse "$2@example.com" --scope "$3" --level "$4" \
		--expires "${5:-2027-06-01}" --key "$K/$1" > /dev/null
}

# chain_is WHO SKILL ID...: the path found, as identities NAME@example.com
chain_is() {
	local who=$1 skill=$2 want=
	shift 2
	for n; do want="$want${want:+,}\"$n@example.com\""; done
	run --separate-stderr mallcop trust chain "$who@example.com" --skill "$skill"
	assert_success
	assert_equal "$(jq -c .path <<< "$output")" "[$want]"
}

# no_chain WHO SKILL TEXT: no path, exit 1, and the reason holds TEXT
no_chain() {
	run --separate-stderr mallcop trust chain "$1@example.com" --skill "$2"
	assert_failure 1
	assert_equal "$(jq -r .status <<< "$output")" error
	[[ "$(jq -r .error <<< "$output")" == *"$3"* ]]
	[[ "$stderr" == *"$3"* ]]
}

@test "an anchor's path to itself is the anchor alone" {
	anchor a
	chain_is a aws-iam a
}

@test "chains of one, two and three hops" {
	anchor a
	known b
	known c
	known d
	endorse a b '*' full
	endorse b c '*' full
	endorse c d '*' author
	chain_is b aws-iam a b
	chain_is c aws-iam a b c
	chain_is d aws-iam a b c d
}

@test "scope narrows at every hop: a wider scope further down widens nothing" {
	anchor a
	known b
	known c
	endorse a b 'aws-*' full
	endorse b c '*' author
	chain_is c aws-iam a b c
	no_chain c gcp-iam "the endorsement of 'b@example.com' by 'a@example.com'"
	no_chain c gcp-iam "has scope 'aws-*', which does not match 'gcp-iam'"
	endorse a c '[!g]*' author
	chain_is c azure-security a c
	no_chain c gcp-iam "has scope '[!g]*', which does not match 'gcp-iam'"
}

@test "the author level is terminal: it ends a path and cannot endorse" {
	anchor a
	known b
	known c
	endorse a b '*' author
	endorse b c '*' author
	chain_is b aws-iam a b
	no_chain c aws-iam "'b@example.com' has level author (endorsed by 'a@example.com'), so it cannot endorse 'c@example.com'"
}

@test "an endorsement expires at its date: from then on it is absent" {
	anchor a
	known b
	endorse a b '*' full 2027-01-01
	MALLCOP_NOW=2026-12-31T23:59:59Z chain_is b aws-iam a b
	MALLCOP_NOW=2027-01-01T00:00:00Z no_chain b aws-iam "expired on 2027-01-01T00:00:00Z"
	MALLCOP_NOW=2027-01-01T00:00:00Z run mallcop trust list
	assert_equal "$(jq -r '.endorsements["a@example.com"][0].expired' <<< "$output")" true
	MALLCOP_NOW=2027-01-01T00:00:00Z run mallcop trust list --human
	assert_line "  a@example.com -> b@example.com  full  scope *  expired 2027-01-01T00:00:00Z"
}

@test "a revoked identity is neither an endpoint nor an intermediary" {
	anchor a
	known b
	known c
	endorse a b '*' full
	endorse b c '*' author
	chain_is c aws-iam a b c
	run --separate-stderr mallcop trust revoke b@example.com --key "$K/a" --reason compromised
	assert_success
	assert_equal "$(jq -r .revoker <<< "$output")" a@example.com
	[ -f "$T/revocations/a_example_com.revoke.sig" ]
	no_chain b aws-iam "'b@example.com' is revoked"
	no_chain c aws-iam "'b@example.com', who endorses 'c@example.com', is revoked"
}

@test "a revoked key revokes every identity that holds it" {
	anchor a
	known b
	endorse a b '*' full
	run --separate-stderr mallcop trust revoke "$K/nosuch.pub" --key "$K/a"
	assert_failure 1
	[[ "$stderr" == *"nosuch.pub"* ]]
	[ ! -e "$T/revocations/a_example_com.revoke" ]
	run mallcop trust revoke "$K/b.pub" --key "$K/a"
	assert_success
	assert_equal "$(jq -r .key <<< "$output")" "$(cut -d' ' -f1,2 "$K/b.pub")"
	no_chain b aws-iam "is revoked"
}

@test "only an anchor can revoke; a revocation file by someone else counts for nothing" {
	anchor a
	known b
	known c
	endorse a c '*' author
	run --separate-stderr mallcop trust revoke c@example.com --key "$K/b"
	assert_failure 1
	[[ "$stderr" == *"'b@example.com' is not an anchor"* ]]
	[ ! -e "$T/revocations/b_example_com.revoke" ]
	# written and signed by hand
	printf 'revoked:\n- identity: c@example.com\n  reason: x\n  revoked_at: now\nrevoker: b@example.com\nsigned_at: now\n' \
		> "$T/revocations/b.revoke"
	ssh-keygen -q -Y sign -f "$K/b" -n mallcop-revocation "$T/revocations/b.revoke"
	chain_is c aws-iam a c
	run mallcop trust list
	assert_equal "$(jq -r '.problems[0].error' <<< "$output")" \
		"signed by 'b@example.com', who is not an anchor: only an anchor's revocations count"
}

@test "the test vectors of the earlier implementation: its endorsement loads and verifies" {
	mkdir -p "$T/endorsements"
	printf 'vector@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl\n' \
		> "$T/anchors"
	cat > "$T/endorsements/vector_example_com.endorse" <<-'EOF'
	endorsements:
	- expires: '2099-01-01T00:00:00+00:00'
	  identity: bob@example.com
	  reason: test vector
	  scope: aws-*
	  trust_level: full
	endorser: vector@example.com
	signed_at: '2026-01-01T00:00:00+00:00'
	EOF
	cat > "$T/endorsements/vector_example_com.endorse.sig" <<-'EOF'
	-----BEGIN SSH SIGNATURE-----
	U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgNDvw42Oy/3MOBD3SeMw+RocNN6
	G+moX/in5hLaTkMaUAAAATbWFsbGNvcC1lbmRvcnNlbWVudAAAAAAAAAAGc2hhNTEyAAAA
	UwAAAAtzc2gtZWQyNTUxOQAAAEBMHbdvEmA/KUyiFOVwLNB/VGZfzeqQlZDacwdvNIfeDf
	Wc7/LYOmFyUjUNbdXJGr1kjWGptkG/eCZloGOUtGIE
	-----END SSH SIGNATURE-----
	EOF
	assert_equal "$(sha256sum < "$T/endorsements/vector_example_com.endorse" | cut -d' ' -f1)" \
		1dd5268bfe74150631472d49eb8c322b526c78ca36740475ac8bd2c1229a7b7b
	run mallcop trust chain bob@example.com --skill aws-iam
	assert_success
	assert_equal "$(jq -c .path <<< "$output")" '["vector@example.com","bob@example.com"]'
	run mallcop trust chain bob@example.com --skill gcp-iam
	assert_failure 1
	# the anchor, who no endorsement names, signs his own skills: [vector]
	run mallcop trust chain vector@example.com --skill vec-skill
	assert_success
	assert_equal "$(jq -c .path <<< "$output")" '["vector@example.com"]'
	run mallcop trust list
	assert_equal "$(jq -r '.anchors[1].fingerprint' <<< "$output")" \
		SHA256:Hk1IrPwk/ipgf4ejmMx8e2bx3gA28sYAXstmq6rusXQ
}

@test "ECDSA and RSA keys sign endorsements and revocations too" {
	ssh-keygen -q -t ecdsa -b 384 -N '' -C e@example.com -f "$K/e"
	ssh-keygen -q -t rsa -b 2048 -N '' -C r@example.com -f "$K/r"
	mallcop trust add-anchor e@example.com "$K/e.pub" > /dev/null
	mallcop trust add-key r@example.com "$K/r.pub" > /dev/null
	known c
	endorse e r '*' full
	endorse r c '*' author
	chain_is c aws-iam e r c
	mallcop trust revoke r@example.com --key "$K/e" > /dev/null
	no_chain c aws-iam "'r@example.com', who endorses 'c@example.com', is revoked"
}

@test "chain names the missing hop" {
	anchor a
	known b
	no_chain b aws-iam "no one endorses 'b@example.com'"
	known c
	endorse c b '*' full
	no_chain b aws-iam "'c@example.com' endorses 'b@example.com' but has no trust path (no one endorses 'c@example.com')"
}

@test "an endorsement edited after signing is left out, reported, and never signed again" {
	anchor a
	known b
	endorse a b 'aws-*' full
	f="$T/endorsements/a_example_com.endorse"
	sed -i 's/scope: aws-\*/scope: "*"/' "$f"
	cp "$f" "$BATS_TEST_TMPDIR/edited"
	no_chain b gcp-iam "no one endorses 'b@example.com'"
	no_chain b aws-iam "no one endorses"
	run mallcop trust list
	assert_success
	assert_equal "$(jq -r '.problems[0].file' <<< "$output")" "./.mallcop/trust/endorsements/a_example_com.endorse"
	[[ "$(jq -r '.problems[0].error' <<< "$output")" == *"does not verify"* ]]
	assert_equal "$(jq -c .endorsements <<< "$output")" '{}'
	known c
	run --separate-stderr mallcop trust endorse c@example.com --scope '*' --level full \
		--expires 2027-01-01 --key "$K/a"
	assert_failure 1
	[[ "$stderr" == *"a_example_com.endorse' does not verify"* ]]
	cmp "$f" "$BATS_TEST_TMPDIR/edited"
}

@test "an unsigned endorsement and one by an unknown signer are reported" {
	anchor a
	mkdir -p "$T/endorsements"
	printf 'endorsements: []\nendorser: a@example.com\n' > "$T/endorsements/x.endorse"
	printf 'endorsements: []\nendorser: z@example.com\n' > "$T/endorsements/y.endorse"
	touch "$T/endorsements/y.endorse.sig"
	run mallcop trust list
	assert_success
	[[ "$(jq -r '.problems[0].error' <<< "$output")" == "unsigned: there is no"* ]]
	[[ "$(jq -r '.problems[1].error' <<< "$output")" == *"'z@example.com', who is neither an anchor nor in the keyring"* ]]
}

@test "a cycle of endorsements terminates" {
	anchor a
	known b
	known c
	endorse b c '*' full
	endorse c b '*' full
	no_chain c aws-iam "a cycle that reaches no anchor"
	endorse a b '*' full
	endorse b a '*' full
	chain_is c aws-iam a b c
	no_chain x aws-iam "no one endorses 'x@example.com'"
}

@test "identities are compared exactly, never as patterns" {
	anchor a
	mallcop trust endorse '*@example.com' --scope '*' --level full --expires 2027-01-01 \
		--key "$K/a" > /dev/null
	no_chain b aws-iam "no one endorses 'b@example.com'"
	run mallcop trust chain '*@example.com' --skill aws-iam
	assert_success
}

@test "endorse adds to the endorser's file, and replaces only the same identity and scope" {
	anchor a
	known b
	known c
	endorse a b 'aws-*' full
	endorse a c '*' author
	endorse a b 'gcp-*' full
	chain_is b aws-iam a b
	chain_is c aws-iam a c
	run mallcop trust endorse b@example.com --scope 'aws-*' --level author --expires 2028-01-01 \
		--key "$K/a" --reason renewed
	assert_success
	assert_equal "$(jq -r .replaced <<< "$output")" true
	f="$T/endorsements/a_example_com.endorse"
	assert_equal "$(grep -c 'identity:' "$f")" 3
	grep -q "reason: renewed" "$f"
	ssh-keygen -Y check-novalidate -n mallcop-endorsement -s "$f.sig" < "$f"
	run mallcop trust list
	assert_equal "$(jq -c '[.endorsements["a@example.com"][] | [.identity, .scope, .trust_level]]' <<< "$output")" \
		'[["c@example.com","*","author"],["b@example.com","gcp-*","full"],["b@example.com","aws-*","author"]]'
}

@test "two endorsers whose file names would be the same keep their own files" {
	anchor a
	ssh-keygen -q -t ed25519 -N '' -C x.y@example.com -f "$K/xdot"
	ssh-keygen -q -t ed25519 -N '' -C x_y@example.com -f "$K/xund"
	mallcop trust add-key x.y@example.com "$K/xdot.pub" > /dev/null
	mallcop trust add-key x_y@example.com "$K/xund.pub" > /dev/null
	known b
	known c
	endorse a x.y '*' full
	endorse a x_y '*' full
	endorse xdot b '*' author
	endorse xund c '*' author
	[ -f "$T/endorsements/x_y_example_com.endorse" ]
	[ -f "$T/endorsements/x_y_example_com_2.endorse" ]
	chain_is b aws-iam a x.y b
	chain_is c aws-iam a x_y c
}

@test "endorse writes the earlier implementation's file" {
	anchor a
	known b
	run mallcop trust endorse b@example.com --scope 'aws-*' --level full --expires 2027-01-01 \
		--key "$K/a" --reason 'test'
	assert_success
	assert_equal "$(cat "$T/endorsements/a_example_com.endorse")" "endorsements:
- expires: '2027-01-01T00:00:00+00:00'
  identity: b@example.com
  reason: test
  scope: aws-*
  trust_level: full
endorser: a@example.com
signed_at: '2026-11-26T00:00:00+00:00'"
	printf 'a@example.com %s\n' "$(cat "$K/a.pub")" > "$BATS_TEST_TMPDIR/allowed"
	ssh-keygen -Y verify -f "$BATS_TEST_TMPDIR/allowed" -I a@example.com -n mallcop-endorsement \
		-s "$T/endorsements/a_example_com.endorse.sig" < "$T/endorsements/a_example_com.endorse"
}

@test "endorse refuses a signer the web does not know, and a key that is not the signer's" {
	anchor a
	key z
	run --separate-stderr mallcop trust endorse b@example.com --scope '*' --level full \
		--expires 2027-01-01 --key "$K/z"
	assert_failure 1
	[[ "$stderr" == *"'z@example.com' is neither an anchor nor in the keyring"* ]]
	run --separate-stderr mallcop trust endorse b@example.com --scope '*' --level full \
		--expires 2027-01-01 --key "$K/z" --identity a@example.com
	assert_failure 1
	[[ "$stderr" == *"is not the key of 'a@example.com'"* ]]
	[ ! -e "$T/endorsements/a_example_com.endorse" ]
	[ ! -e "$T/endorsements/z_example_com.endorse" ]
}

@test "add-anchor and add-key: the same key again is nothing, another key is refused" {
	anchor a
	key b
	cp "$T/anchors" "$BATS_TEST_TMPDIR/before"
	run mallcop trust add-anchor a@example.com "$K/a.pub"
	assert_success
	assert_equal "$(jq -r .added <<< "$output")" false
	run --separate-stderr mallcop trust add-anchor a@example.com "$K/b.pub"
	assert_failure 1
	[[ "$stderr" == *"'a@example.com' already has another key (./.mallcop/trust/anchors line 1"* ]]
	run --separate-stderr mallcop trust add-key a@example.com "$K/b.pub"
	assert_failure 1
	run mallcop trust add-key a@example.com "$K/a.pub"
	assert_success
	assert_equal "$(jq -r .added <<< "$output")" false
	cmp "$T/anchors" "$BATS_TEST_TMPDIR/before"
	[ ! -e "$T/keyring" ]
}

@test "a trust file that cannot be read is an error, never replaced" {
	key b
	mkdir -p "$T/keyring"
	run --separate-stderr mallcop trust add-key b@example.com "$K/b.pub"
	assert_failure 1
	[[ "$stderr" == *"cannot read"*"keyring"* ]]
	[ -d "$T/keyring" ]
	run --separate-stderr mallcop trust list
	assert_failure 1
	rmdir "$T/keyring"
	mkdir -p "$T/endorsements/x.endorse"
	run --separate-stderr mallcop trust chain b@example.com
	assert_failure 1
	[[ "$stderr" == *"cannot read"*"x.endorse"* ]]
}

@test "add-key refuses a private key and a file that is not a key" {
	key b
	run --separate-stderr mallcop trust add-key b@example.com "$K/b"
	assert_failure 1
	[[ "$stderr" == *"a private key where a public key is expected"* ]]
	echo 'hello world' > "$BATS_TEST_TMPDIR/junk"
	run --separate-stderr mallcop trust add-anchor b@example.com "$BATS_TEST_TMPDIR/junk"
	assert_failure 1
	[[ "$stderr" == *"junk"* ]]
	[ ! -e "$T/keyring" ]
	[ ! -e "$T/anchors" ]
}

@test "the built-in anchor is always an anchor, and never taken from the deployment" {
	mkdir -p share/mallcop/trust
	key e
	printf 'eve@example.com %s\n' "$(cat "$K/e.pub")" > share/mallcop/trust/anchors
	run mallcop trust list
	assert_success
	assert_equal "$(jq -c '[.anchors[] | [.identity, .source]]' <<< "$output")" \
		'[["mallcop@mallcop.app","built-in"]]'
	assert_equal "$(jq -r '.anchors[0].fingerprint' <<< "$output")" \
		"$(cut -d' ' -f2,3 "$TOP/share/mallcop/trust/anchors" | ssh-keygen -lf - | cut -d' ' -f2)"
	run mallcop trust chain mallcop@mallcop.app --skill aws-iam
	assert_success
	assert_equal "$(jq -c .path <<< "$output")" '["mallcop@mallcop.app"]'
	# the deployment cannot give the built-in anchor another key
	mkdir -p "$T"
	printf 'mallcop@mallcop.app %s\n' "$(cat "$K/e.pub")" > "$T/anchors"
	run mallcop trust list
	assert_equal "$(jq -c '[.anchors[] | .fingerprint]' <<< "$output")" \
		"[\"$(cut -d' ' -f2,3 "$TOP/share/mallcop/trust/anchors" | ssh-keygen -lf - | cut -d' ' -f2)\"]"
	[[ "$(jq -r '.problems[0].error' <<< "$output")" == "line 1: 'mallcop@mallcop.app' already has another key"* ]]
}

@test "list shows anchors, keyring, endorsements, revocations and problems" {
	anchor a
	known b
	known c
	endorse a b 'aws-*' full
	mallcop trust revoke c@example.com --key "$K/a" --reason gone > /dev/null
	printf 'broken line\n' >> "$T/keyring"
	run mallcop trust list
	assert_success
	assert_equal "$(jq -c '[.anchors[].identity]' <<< "$output")" '["mallcop@mallcop.app","a@example.com"]'
	assert_equal "$(jq -r '.anchors[1].source' <<< "$output")" trust-dir
	assert_equal "$(jq -c '[.keyring[].identity]' <<< "$output")" '["b@example.com","c@example.com"]'
	assert_equal "$(jq -c '.endorsements["a@example.com"][0] | [.identity, .scope, .trust_level, .expires, .expired]' <<< "$output")" \
		'["b@example.com","aws-*","full","2027-06-01T00:00:00Z",false]'
	assert_equal "$(jq -c '.revocations[0] | [.revoker, .identity, .reason]' <<< "$output")" \
		'["a@example.com","c@example.com","gone"]'
	assert_equal "$(jq -r '.problems[0].error' <<< "$output")" "line 3: expected IDENTITY KEYTYPE BASE64"
	run mallcop trust list --human
	assert_success
	assert_line "  a@example.com -> b@example.com  full  scope aws-*  until 2027-06-01T00:00:00Z"
	assert_line "  a@example.com revokes c@example.com"
	assert_line --partial "keyring: line 3: expected IDENTITY KEYTYPE BASE64"
}

@test "--trust-dir before and after the subcommand, --dir, and --human" {
	anchor a
	mkdir "$BATS_TEST_TMPDIR/other"
	mallcop trust --trust-dir "$BATS_TEST_TMPDIR/td" add-anchor a@example.com "$K/a.pub" > /dev/null
	[ -f "$BATS_TEST_TMPDIR/td/anchors" ]
	run mallcop trust chain a@example.com --trust-dir "$BATS_TEST_TMPDIR/td"
	assert_success
	cd "$BATS_TEST_TMPDIR/other"
	run mallcop trust chain a@example.com
	assert_failure 1
	run mallcop --dir "$D" trust chain a@example.com
	assert_success
	run mallcop trust --dir "$D" chain a@example.com --human
	assert_success
	assert_output "a@example.com
  skill: *"
}

@test "every usage error exits 2 and changes nothing" {
	key a
	run mallcop trust
	assert_failure 2
	run mallcop trust frobnicate
	assert_failure 2
	run mallcop trust add-anchor a@example.com
	assert_failure 2
	run mallcop trust add-key a@example.com "$K/a.pub" extra
	assert_failure 2
	run mallcop trust add-key 'a b@example.com' "$K/a.pub"
	assert_failure 2
	run mallcop trust add-key $'a\e@example.com' "$K/a.pub"
	assert_failure 2
	run mallcop trust chain
	assert_failure 2
	run mallcop trust list --skill x
	assert_failure 2
	run mallcop trust list --bogus
	assert_failure 2
	run mallcop trust endorse b@example.com --level full --expires 2027-01-01 --key "$K/a"
	assert_failure 2
	run mallcop trust endorse b@example.com --scope '*' --level root --expires 2027-01-01 --key "$K/a"
	assert_failure 2
	run mallcop trust endorse b@example.com --scope '*' --level full --expires 2027-13-01 --key "$K/a"
	assert_failure 2
	run mallcop trust endorse b@example.com --scope '*' --level full --expires 2027-02-30 --key "$K/a"
	assert_failure 2
	run mallcop trust endorse b@example.com --scope '*' --level full --expires tomorrow --key "$K/a"
	assert_failure 2
	run --separate-stderr mallcop trust endorse b@example.com --scope '*' --level full --expires 2026-11-26 --key "$K/a"
	assert_failure 2
	[[ "$stderr" == *"not after now"* ]]
	run mallcop trust endorse b@example.com --scope '*' --level full --expires 2027-01-01
	assert_failure 2
	run mallcop trust endorse b@example.com --scope '' --level full --expires 2027-01-01 --key "$K/a"
	assert_failure 2
	run mallcop trust endorse b@example.com --scope '[^g]*' --level full --expires 2027-01-01 --key "$K/a"
	assert_failure 2
	run mallcop trust endorse b@example.com --scope '*' --level full --expires 2027-01-01 --key "$K/a" --reason ''
	assert_failure 2
	run mallcop trust revoke b@example.com
	assert_failure 2
	run mallcop trust chain b@example.com --scope x
	assert_failure 2
	[ ! -e .mallcop ]
}
