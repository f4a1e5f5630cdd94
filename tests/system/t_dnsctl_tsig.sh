#!/bin/sh
# t_dnsctl_tsig.sh -- dnsctl tsig add / list / show / del: a generated secret
# (the hash's length, printed once), a given one, the refusals (hmac-md5, a
# short or bad secret, a name taken, a key still in use) leaving the store as
# it was, the generation bump a running dnsd watches, no secret in list or
# show, and `tsig show --format bind|knot|nsd` for every algorithm, each
# loaded by the other server's own checker (named-checkconf, knotc
# conf-check, nsd-checkconf), which must accept it and find the same secret.
. "$top_srcdir/tests/system/lib.sh"
need named-checkconf knotc nsd-checkconf mdb_dump mdb_load base64
plan 52

# run ARGS...: dnsctl with stdout in $out, stderr in $err, exit status in $rc
run() { dnsctl "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }
gen() { mdb_dump -s meta -p "$STORE" | awk 'p { print; exit } $1 == "generation" { p = 1 }'; }
# secret_bytes B64: the length of the decoded secret
secret_bytes() { printf '%s' "$1" | base64 -d | wc -c | tr -d ' '; }
# has TEXT STRING: TEXT contains STRING (fixed, not a pattern: secrets hold + and /)
has() { printf '%s\n' "$1" | grep -qF -- "$2"; }

dnsctl zone create example.test --ns ns.example.net >/dev/null 2>&1 || { echo "Bail out! zone create"; exit 1; }
g0=$(gen)

run tsig add xfr.example.test
is "$rc" 0 "add: exit 0"
like "$out" "^key xfr\.example\.test\. \(hmac-sha256\) created" "add: says so, default algorithm hmac-sha256"
secret=$(printf '%s\n' "$out" | sed -n 2p)
is "$(secret_bytes "$secret")" 32 "add: generated secret is 32 bytes (SHA-256's length)"
g1=$(gen)
ok '[ "$g1" != "$g0" ]' "add: the store generation moved ($g0 -> $g1)"

run tsig add XFR.example.test. --algorithm hmac-sha512
is "$rc" 1 "add of a name taken (any case): exit 1"
like "$err" "key xfr\.example\.test\. exists" "add of a name taken: says so"
is "$(gen)" "$g1" "refused add: generation unchanged"

run tsig add md5.example --algorithm hmac-md5
is "$rc" 1 "hmac-md5: exit 1"
like "$err" "hmac-md5 is refused" "hmac-md5: refused with the reason"
run tsig add bad.example --algorithm hmac-sha3
like "$err" "unknown TSIG algorithm" "unknown algorithm: named as such"
run tsig add short.example --secret YWJjZA==
is "$rc" 1 "4-byte secret for hmac-sha256: exit 1"
like "$err" "4 bytes is too short for hmac-sha256" "short secret: says how short"
run tsig add bad64.example --secret 'not*base64'
is "$rc" 1 "bad base64: exit 1"
like "$err" "--secret: the secret is not base64" "bad base64: says so"
run tsig add 'we\.ird.example'
is "$rc" 1 "a name needing escapes: exit 1"
run tsig add .
like "$err" "root cannot name a key" "the root: refused"

given=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
run tsig add given.example --algorithm hmac-sha384 --secret "$given"
is "$rc" 0 "add with --secret: exit 0"
is "$(printf '%s\n' "$out" | sed -n 2p)" "$given" "add with --secret: the secret printed once"

run tsig list
is "$rc" 0 "list: exit 0"
is "$out" "NAME               ALGORITHM    BITS  USERS
given.example.     hmac-sha384   384      0
xfr.example.test.  hmac-sha256   256      0" "list: names, algorithms, bits, users (canonical order)"
ok '! has "$out" "$secret" && ! has "$out" "$given"' "list: no secret"
run tsig list --json
is "$out" '[{"name":"given.example.","algorithm":"hmac-sha384","secret_bits":384,"used_by":[]},{"name":"xfr.example.test.","algorithm":"hmac-sha256","secret_bits":256,"used_by":[]}]' \
    "list --json"
run tsig show xfr.example.test
is "$out" "name:      xfr.example.test.
algorithm: hmac-sha256
secret:    256 bits (printed by --format only)
used by:   nothing" "show: no secret"
run tsig show nope.example
is "$rc" 1 "show of an unknown key: exit 1"
like "$err" "no such key: nope\.example\." "show of an unknown key: says so"
run tsig show xfr.example.test --format yaml
is "$rc" 2 "show --format yaml: usage error"

# the other servers accept what show --format prints, and find our secret
run tsig show xfr.example.test --format bind
printf '%s\n' "$out" >"$TMPD/named.conf"
ok 'named-checkconf "$TMPD/named.conf" >"$TMPD/chk" 2>&1' "bind clause: named-checkconf accepts it"
ok 'has "$out" "secret \"$secret\";"' "bind clause: the secret add printed"
run tsig show xfr.example.test --format knot
printf '%s\n' "$out" >"$TMPD/knot.conf"
ok 'knotc -c "$TMPD/knot.conf" conf-check >"$TMPD/chk" 2>&1' "knot clause: knotc conf-check accepts it"
ok 'has "$out" "    secret: $secret"' "knot clause: the secret"
run tsig show xfr.example.test --format nsd
printf '%s\n' "$out" >"$TMPD/nsd.conf"
ok 'nsd-checkconf "$TMPD/nsd.conf" >"$TMPD/chk" 2>&1' "nsd clause: nsd-checkconf accepts it"
ok 'has "$out" "secret: \"$secret\""' "nsd clause: the secret"

# every algorithm, in every format: generated at the hash's length, accepted
for a in hmac-sha1:20 hmac-sha224:28 hmac-sha384:48 hmac-sha512:64; do
    alg=${a%:*} len=${a#*:}
    run tsig add "k-$alg.example" --algorithm "$alg"
    s=$(printf '%s\n' "$out" | sed -n 2p)
    bad=
    [ "$rc" = 0 ] && [ "$(secret_bytes "$s")" = "$len" ] || bad="$bad add"
    dnsctl tsig show "k-$alg.example" --format bind >"$TMPD/c.conf" &&
        named-checkconf "$TMPD/c.conf" >"$TMPD/chk" 2>&1 && grep -q "algorithm $alg;" "$TMPD/c.conf" || bad="$bad bind"
    dnsctl tsig show "k-$alg.example" --format knot >"$TMPD/c.conf" &&
        knotc -c "$TMPD/c.conf" conf-check >"$TMPD/chk" 2>&1 && grep -qF "secret: $s" "$TMPD/c.conf" || bad="$bad knot"
    dnsctl tsig show "k-$alg.example" --format nsd >"$TMPD/c.conf" &&
        nsd-checkconf "$TMPD/c.conf" >"$TMPD/chk" 2>&1 && grep -q "algorithm: $alg" "$TMPD/c.conf" || bad="$bad nsd"
    is "$bad" "" "$alg: $len-byte secret; bind, knot and nsd accept its clause"
done

# a key in use (a reference, as transfers and updates record them) is not deleted
cat >"$TMPD/ref" <<EOF
VERSION=3
format=print
type=btree
HEADER=END
 rtest\\00example\\00xfr\\00\\00xfrout example.test.
 
DATA=END
EOF
mdb_load -s tsig -f "$TMPD/ref" "$STORE" || echo "# mdb_load failed"
g2=$(gen)
run tsig del xfr.example.test
is "$rc" 1 "del of a key in use: exit 1"
like "$err" "key xfr\.example\.test\. is in use by:" "del of a key in use: says so"
like "$err" "^  xfrout example\.test\.\$" "del of a key in use: names the user"
is "$(gen)" "$g2" "refused del: generation unchanged"
run tsig show xfr.example.test
like "$out" "^  xfrout example\.test\.\$" "show: lists the user"
run tsig list
like "$out" "^xfr\.example\.test\. +hmac-sha256 +256 +1$" "list: one user"

run tsig del given.example
is "$rc" 0 "del: exit 0"
is "$out" "key given.example. deleted" "del: says so"
ok '[ "$(gen)" != "$g2" ]' "del: the generation moved"
run tsig show given.example
is "$rc" 1 "show after del: no such key"
run tsig del given.example
is "$rc" 1 "del again: exit 1"
like "$err" "no such key: given\.example\." "del again: no such key"
run tsig list --json
like "$out" '"xfr.example.test."' "list after del: the other keys stay"
unlike "$out" '"given.example."' "list after del: the deleted key is gone"

# nothing above put a secret in the zone data
run zone export example.test
ok '! has "$out" "$secret" && ! has "$out" "$given"' "zone export: no secret"
run tsig add k2.example --json
like "$out" '^\{"name":"k2.example.","algorithm":"hmac-sha256","secret":"[A-Za-z0-9+/]{43}="\}$' \
    "add --json: name, algorithm, secret"
