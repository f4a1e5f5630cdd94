#!/bin/sh
# t_dnssec_keys.sh -- dnsctl dnssec enable / status / ds / disable on a real
# store: enable signs every RRset of every region (checked with dnspython's
# dns.dnssec, independent of dnsd, from the store's own bytes: the cut NS and
# glue unsigned, the DS at the cut signed); the DS printed for the registrar
# is the one ldns-key2ds computes from the published DNSKEY; status shows the
# key (id, tag, algorithm, role, state, dates) and never the private key; a
# record added afterwards is signed in its own txn; --ksk-zsk --algorithm 15
# gives two Ed25519 keys and a DS for the KSK only; every refusal (zone
# signed already, not signed, unknown zone, bad algorithm, both --csk and
# --ksk-zsk) names the problem and leaves the store as it was; disable
# strips every signature and the key records.
. "$top_srcdir/tests/system/lib.sh"
need mdb_dump ldns-key2ds
need_dnspython
if ! "$PYTHON" -c 'import dns.dnssec, cryptography' 2>/dev/null; then
    if [ "${REQUIRE_ALL:-0}" = 1 ]; then echo "Bail out! python3-cryptography is required"; exit 1; fi
    skip_all "dnspython without cryptography (python3-cryptography)"
fi
plan 59

run() { dnsctl "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }
gen() { mdb_dump -s meta -p "$STORE" | awk 'p { print; exit } $1 == "generation" { p = 1 }'; }
check() { # check CUTS [unsigned]: validate the zone's RRsets from the store's bytes
    mdb_dump -s zones "$STORE" >"$TMPD/zd" && mdb_dump -s rrsets "$STORE" >"$TMPD/rd" &&
        "$PYTHON" "$top_srcdir/tests/system/dnssec_check.py" verify "$TMPD/zd" "$TMPD/rd" \
            example.test. "$@"
}

cat >"$TMPD/z" <<'EOF'
$ORIGIN example.test.
@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300
@ 86400 IN NS ns1
@ 86400 IN NS NS2.Example.TEST.
ns1 300 IN A 192.0.2.1
ns2 300 IN A 192.0.2.2
www 300 IN A 192.0.2.10
@ 300 IN MX 10 MAIL.example.test.
* 300 IN TXT "wild"
sub 3600 IN NS ns.sub
sub 3600 IN DS 12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118A5DAB7F3B6A2E1C7E30A3C88
ns.sub 3600 IN A 192.0.2.53
EOF
make_store example.test "$TMPD/z"
dnsctl region add eu --continent EU >/dev/null || { echo "Bail out! region add"; exit 1; }
dnsctl record add example.test 'www 60 IN A 198.51.100.10' --region eu >/dev/null ||
    { echo "Bail out! record add"; exit 1; }

run dnssec status example.test
is "$rc" 0 "status of an unsigned zone: exit 0"
like "$out" "^zone example\.test\.: not signed" "status: not signed"
run dnssec ds example.test
is "$rc" 1 "ds of an unsigned zone: exit 1"
like "$err" "zone example\.test\. is not signed" "ds: says why"

dnsctl record add example.test 'old 300 IN NSEC z.example.test. A RRSIG' >/dev/null ||
    { echo "Bail out! record add NSEC"; exit 1; }
g=$(gen)
run dnssec enable example.test
is "$rc" 1 "enable with an NSEC stored as data: exit 1"
like "$err" "holds NSEC records as data \(at old\.example\.test\.\).*dnsctl record del example\.test\. old\.example\.test\. NSEC" \
    "enable: names the record and how to delete it"
is "$(gen)" "$g" "enable refused: store unchanged"
dnsctl record del example.test old.example.test. NSEC >/dev/null || { echo "Bail out! record del"; exit 1; }

run dnssec enable example.test
is "$rc" 0 "enable: exit 0"
like "$out" "signed: algorithm 13 \(ECDSAP256SHA256\), one combined signing key" "enable: default CSK, 13"
res=$(check sub.example.test.)
is "$(printf '%s\n' "$res" | tail -n 1)" "signed 12 unsigned 2 bad 0" \
    "every RRset of every region valid for dnspython; cut NS and glue unsigned"
printf '%s\n' "$res" | grep problem | sed 's/^/# /'

run dnssec status example.test
is "$rc" 0 "status: exit 0"
like "$out" "^zone example\.test\.: signed" "status: signed"
like "$out" "RRsets: 12 signed, 2 unsigned" "status: counts"
like "$out" " 1 +[0-9]+ +13 ECDSAP256SHA256 +CSK +active +20[0-9-]+T" "status: the key row"
tag=$(printf '%s\n' "$out" | awk '$1 == "1" { print $2 }')
run dnssec status example.test --json
like "$out" "\"keys\": \[\{\"id\": 1, \"tag\": $tag, \"algorithm\": 13, \"role\": \"CSK\", \"state\": \"active\"" \
    "status --json: the key"
mdb_dump -s dnssec "$STORE" >"$TMPD/dd"
"$PYTHON" "$top_srcdir/tests/system/dnssec_check.py" priv "$TMPD/dd" >"$TMPD/priv"
is "$(grep -c . "$TMPD/priv")" 3 "the private key read from the store (hex, HEX, base64)"
dnsctl dnssec status example.test >"$TMPD/all" 2>&1
dnsctl dnssec status example.test --json >>"$TMPD/all" 2>&1
dnsctl dnssec ds example.test >>"$TMPD/all" 2>&1
ok '! grep -qF -f "$TMPD/priv" "$TMPD/all"' "status, status --json and ds never show the private key"

run dnssec ds example.test
is "$rc" 0 "ds: exit 0"
like "$out" "^example\.test\. IN DS $tag 13 2 [0-9A-F]{64}$" "ds: one SHA-256 DS of the CSK"
dnsctl record list example.test example.test. | awk '$3 == "DNSKEY" { print $1, $2, "IN", $3, $4, $5, $6, $7 }' \
    >"$TMPD/dnskey"
(cd "$TMPD" && ldns-key2ds -n -2 dnskey) >"$TMPD/ds" 2>&1
want=$(awk '{ print toupper($NF) }' "$TMPD/ds")
got=$(printf '%s\n' "$out" | awk '{ print $NF }')
is "$got" "$want" "ds: the digest ldns-key2ds computes from the published DNSKEY"

g=$(gen)
run dnssec enable example.test
is "$rc" 1 "enable twice: exit 1"
like "$err" "zone example\.test\. is signed already" "enable twice: says so"
is "$(gen)" "$g" "enable twice: store unchanged"
run dnssec enable nope.test
is "$rc" 1 "enable of an unknown zone: exit 1"
like "$err" "no such zone: nope\.test\." "unknown zone: named"
run dnssec enable example.test --algorithm 8
is "$rc" 2 "algorithm 8: usage error"
like "$err" "--algorithm: \"8\" is not 13 \(ECDSAP256SHA256\) or 15 \(ED25519\)" "algorithm 8: says which are"
run dnssec enable example.test --csk --ksk-zsk
like "$err" "--csk and --ksk-zsk exclude each other" "--csk with --ksk-zsk refused"
is "$(gen)" "$g" "refusals: store unchanged"

run record add example.test 'new 300 IN AAAA 2001:db8::1'
is "$rc" 0 "a record added to the signed zone"
is "$(check sub.example.test. | tail -n 1)" "signed 13 unsigned 2 bad 0" "it is signed, the SOA re-signed"

g=$(gen)
run record add example.test 'www 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 1234 example.test. AAAA'
is "$rc" 1 "a signed zone refuses an RRSIG as data"
like "$err" "the zone is signed: dnsd makes its RRSIG, NSEC, DNSKEY, CDS and CDNSKEY records itself" "says why"
run record add example.test '@ 3600 IN DNSKEY 256 3 13 AAAA'
is "$rc" 1 "a signed zone refuses an apex DNSKEY from the operator"
is "$(gen)" "$g" "refused: store unchanged"
dnsctl zone export example.test >"$TMPD/export" || { echo "Bail out! export"; exit 1; }
dnskeys=$(grep -c "IN	DNSKEY" "$TMPD/export")
run zone import example.test "$TMPD/export"
is "$rc" 0 "an export of the signed zone imports back"
like "$err" "DNSKEY record skipped: a signed zone's key records come from its keys" "its key records skipped, said"
is "$(dnsctl zone export example.test | grep -c "IN	DNSKEY")" "$dnskeys" "the DNSKEY RRset is the keys' own still"
is "$(check sub.example.test. | tail -n 1)" "signed 13 unsigned 2 bad 0" "after the import: all valid"

mdb_dump -s rrsets "$STORE" >"$TMPD/before"
serial=$(dnsctl record list example.test example.test. | awk '$3 == "SOA" { print $6 }')
like "$serial" "^[0-9]+$" "the serial before resign"
run dnssec resign example.test
is "$rc" 0 "resign: exit 0"
like "$out" "zone example\.test\.: 13 RRsets signed again" "resign: counts the signed RRsets"
mdb_dump -s rrsets "$STORE" >"$TMPD/after"
ok '! cmp -s "$TMPD/before" "$TMPD/after"' "resign: new signatures written"
is "$(check sub.example.test. | tail -n 1)" "signed 13 unsigned 2 bad 0" "resign: all valid, cut NS and glue unsigned"
is "$(dnsctl record list example.test example.test. | awk '$3 == "SOA" { print $6 }')" "$serial" \
    "resign: the serial stays"

run dnssec disable example.test
is "$rc" 0 "disable: exit 0"
like "$out" "no longer signed" "disable: says so"
is "$(check sub.example.test. unsigned | tail -n 1)" "signed 0 unsigned 12 bad 0" \
    "disable: no signature left, DNSKEY/CDS/CDNSKEY gone"
run dnssec disable example.test
is "$rc" 1 "disable twice: exit 1"
like "$err" "zone example\.test\. is not signed" "disable twice: says so"
run dnssec status example.test
like "$out" "keys: none" "disable: no keys left"
g=$(gen)
run dnssec resign example.test
like "$err" "zone example\.test\. is not signed" "resign of an unsigned zone: refused, says why"
is "$(gen)" "$g" "resign refused: store unchanged"

run dnssec enable example.test --ksk-zsk --algorithm 15
is "$rc" 0 "enable --ksk-zsk --algorithm 15: exit 0"
like "$out" "algorithm 15 \(ED25519\), a KSK and a ZSK" "says so"
is "$(check sub.example.test. | tail -n 1)" "signed 13 unsigned 2 bad 0" "Ed25519 KSK+ZSK: all valid"
run dnssec status example.test
ok '[ "$(printf "%s\n" "$out" | grep -cE " (KSK|ZSK) +active")" = 2 ]' "status: a KSK and a ZSK, active"
run dnssec ds example.test
is "$(printf '%s\n' "$out" | grep -c ' IN DS ')" 1 "ds: one DS, the KSK's"
like "$out" " IN DS [0-9]+ 15 2 " "ds: algorithm 15"
