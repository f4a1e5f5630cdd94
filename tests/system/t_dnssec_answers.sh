#!/bin/sh
# t_dnssec_answers.sh -- dnsd's DNSSEC answers (issue #14) seen by other
# people's tools: the fixture zone signed by `dnsctl dnssec enable`, asked
# with kdig (DO=0 and +dnssec) and validated by BIND's delv with the
# zone's DNSKEY (as kdig fetched it) as trust anchor. DO=0 answers carry no
# RRSIG and NXDOMAIN stays NXDOMAIN; DO=1 gets RRSIGs and compact denial
# (RFC 9824: NOERROR, NSEC with NXNAME); answers, denials, wildcards and the
# insecure delegation validate; signatures that do not fit UDP truncate;
# AXFR of the signed zone is REFUSED with a log line and its NOTIFY target
# hears nothing, while an unsigned zone's does.
. "$top_srcdir/tests/system/lib.sh"
need kdig delv
plan 27
make_store example.test "$DATA/example.test.zone"
make_store deep.example.test "$DATA/deep.example.test.zone"
# NOTIFY targets (a closed port: the sends are logged, nobody answers)
dnsctl zone set example.test --notify 127.0.0.1:9 >/dev/null
dnsctl zone set deep.example.test --notify 127.0.0.1:9 >/dev/null
out=$(dnsctl dnssec enable example.test 2>&1)
is "$?" 0 "dnsctl dnssec enable example.test"
start_dnsd

kd() { kdig @127.0.0.1 -p "$PORT" +norec +time=2 +retry=0 "$@" 2>&1; }

# ---- DO=0: as unsigned ----
out=$(kd www.example.test A)
like "$out" 'www\.example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.80' \
    "DO=0: the A record"
unlike "$out" 'RRSIG' "DO=0: no RRSIG"
out=$(kd nope.example.test A)
like "$out" 'status: NXDOMAIN' "DO=0: a missing name stays NXDOMAIN"
unlike "$out" 'NSEC' "DO=0: no NSEC"

# ---- DO=1 ----
out=$(kd +dnssec www.example.test A)
like "$out" 'www\.example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+RRSIG[[:space:]]+A[[:space:]]+13[[:space:]]+3[[:space:]]+300' \
    "+dnssec: the A's RRSIG (algorithm 13, 3 labels, TTL 300)"
out=$(kd +dnssec nope.example.test A)
like "$out" 'status: NOERROR' "+dnssec: a missing name is NOERROR (compact denial)"
like "$out" 'nope\.example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+NSEC[[:space:]]+\\000\.nope\.example\.test\.[[:space:]]+RRSIG NSEC (NXNAME|TYPE128)' \
    "+dnssec: NSEC nope -> \\000.nope with RRSIG NSEC NXNAME, TTL 300"
like "$out" 'IN[[:space:]]+RRSIG[[:space:]]+NSEC' "+dnssec: the NSEC's RRSIG"
like "$out" 'IN[[:space:]]+RRSIG[[:space:]]+SOA' "+dnssec: the SOA's RRSIG"
out=$(kd +dnssec www.example.test MX)
like "$out" 'www\.example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+NSEC[[:space:]]+\\000\.www\.example\.test\.[[:space:]]+A TXT AAAA RRSIG NSEC' \
    "+dnssec: NODATA's NSEC lists the name's types"
out=$(kd +dnssec host.sub.example.test A)
like "$out" 'sub\.example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+NSEC[[:space:]]+\\000\.sub\.example\.test\.[[:space:]]+NS RRSIG NSEC' \
    "+dnssec: the insecure referral's NSEC at the cut"
unlike "$(printf '%s\n' "$out" | grep 'RRSIG[[:space:]]*NS[[:space:]]')" '.' "+dnssec: the cut's NS is not signed"
# mid's TXT (~900 bytes) fits a UDP size just above its unsigned answer,
# but not with its RRSIG: TC (RFC 4035 3.1.1), the whole of it over TCP
size=$(kd +bufsize=1232 mid.example.test TXT | sed -n 's/^;; Received \([0-9]*\) B.*/\1/p')
b=$((size + 20))
out=$(kd +bufsize=$b +ignore mid.example.test TXT)
unlike "$out" '[Ff]lags: qr aa tc' "DO=0, UDP $b: the TXT fits"
out=$(kd +dnssec +bufsize=$b +ignore mid.example.test TXT)
like "$out" '[Ff]lags: qr aa tc' "+dnssec, UDP $b: the TXT and its RRSIG do not fit: TC"
out=$(kd +dnssec +tcp mid.example.test TXT)
like "$out" 'IN[[:space:]]+RRSIG[[:space:]]+TXT' "+dnssec over TCP: the TXT RRset with its RRSIG"

# ---- delv: validation from the zone's own DNSKEY ----
keys=$(kd +short example.test DNSKEY)
printf '%s\n' "$keys" | awk 'BEGIN { print "trust-anchors {" }
    $1 == 257 { k = ""; for (i = 4; i <= NF; i++) k = k $i
                printf "  example.test. static-key %s %s %s \"%s\";\n", $1, $2, $3, k }
    END { print "};" }' >"$TMPD/anchor.conf"
ok 'grep -q static-key "$TMPD/anchor.conf"' "trust anchor from the zone's DNSKEY (SEP key)"
dv() { delv @127.0.0.1 -p "$PORT" -a "$TMPD/anchor.conf" +root=example.test "$@" 2>&1; }
like "$(dv www.example.test A)" '; fully validated' "delv: www A fully validated"
like "$(dv nope.example.test A)" '; negative response, fully validated' \
    "delv: a missing name (compact denial) validated"
like "$(dv www.example.test MX)" '; negative response, fully validated' "delv: NODATA validated"
like "$(dv b.ent.example.test A)" '; negative response, fully validated' \
    "delv: an empty non-terminal validated"
like "$(dv foo.wild.example.test A)" '; fully validated' "delv: a wildcard answer validated"
like "$(dv sub.example.test DS)" '; negative response, fully validated' \
    "delv: no DS at the insecure cut validated"

# ---- transfers: refused; NOTIFY: none for the signed zone ----
out=$(kdig @127.0.0.1 -p "$PORT" +time=2 +retry=0 example.test AXFR 2>&1)
unlike "$out" 'IN[[:space:]]+SOA' "AXFR of the signed zone: no records"
ok 'grep -q "AXFR example.test. refused: the zone is signed" "$TMPD/dnsd.log"' \
    "AXFR of the signed zone: REFUSED, logged with the reason"
dnsctl record add example.test 'new 300 A 192.0.2.9' >/dev/null
dnsctl record add deep.example.test 'new 300 A 192.0.2.9' >/dev/null
i=0
while ! grep -q 'notify: deep.example.test. serial .* sent to' "$TMPD/dnsd.log" && [ $i -lt 100 ]; do
    sleep 0.05; i=$((i + 1))
done
ok 'grep -q "notify: deep.example.test. serial .* sent to" "$TMPD/dnsd.log"' \
    "the unsigned zone's NOTIFY target is notified"
ok '! grep -q "notify: example.test. " "$TMPD/dnsd.log"' "the signed zone's is not"
