#!/bin/sh
# t_xfrin_tsig.sh -- dnsd as a TSIG-authenticated secondary of a real Knot
# primary (hmac-sha256; Knot allows transfers only with the key and signs
# its NOTIFY): the signed first transfer and a signed NOTIFY + IXFR; an
# unsigned NOTIFY REFUSED and one with a wrong key NOTAUTH; with the wrong
# secret in dnsd's store every transfer fails (the primary answers BADSIG)
# and the zone stays exactly as it was; the right key again: it catches up.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_xfrin.sh"
need dig kdig knotd knotc openssl
plan 16

a() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
serial() { dnsctl zone show sig.test | sed -n 's/^serial *//p'; }

SECRET=$(openssl rand -base64 32)
WRONG=$(openssl rand -base64 32)
PRIMARY_KEY=xfr-key. PRIMARY_SECRET=$SECRET
PRIMARY_PORT=$(free_udp_tcp_port)
primary_zone sig.test "$TMPD/sig.zone" 200 3600 1 86400
make_store other.test "$DATA/other.test.zone"
dnsctl tsig add xfr-key --secret "$SECRET" >/dev/null
out=$(dnsctl zone add sig.test --primary "127.0.0.1:$PRIMARY_PORT" --tsig xfr-key 2>&1)
like "$out" 'TSIG key xfr-key\.' "zone add --tsig: the key is the primary's"
like "$(dnsctl tsig show xfr-key)" 'xfrin sig\.test\.' "tsig show: the secondary zone uses the key"
start_dnsd --rrl-rate 0
start_primary sig.test "$TMPD/sig.zone" "$PORT"

loaded() { [ "$(a www.sig.test A)" = 192.0.2.1 ]; }
ok 'wait_for 10 loaded' "signed AXFR: loaded"
out=$(kdig @127.0.0.1 -p "$PRIMARY_PORT" +time=2 +retry=0 sig.test AXFR 2>&1)
like "$out" 'NOTAUTH|REFUSED|failed' "(the primary refuses an unsigned AXFR: dnsd's was signed)"
like "$(dnsctl zone show sig.test)" 'tsig +xfr-key\.' "zone show: the key"

primary_edit sig.test 'new 300 A 192.0.2.60' || echo "Bail out! knotc zone edit failed"
reached() { [ "$(a new.sig.test A)" = 192.0.2.60 ]; }
ok 'wait_for 10 reached' "an edit on the primary reached dnsd"
like "$(grep xfrin "$TMPD/dnsd.log")" 'sig.test.: NOTIFY from 127.0.0.1 \(TSIG verified\)' \
    "by a signed NOTIFY"
like "$(grep xfrin "$TMPD/dnsd.log")" 'sig.test.: IXFR from .*serial 201' "and a signed IXFR"

# NOTIFY must carry the zone's key
out=$(dig @127.0.0.1 -p "$PORT" +opcode=notify +norec +time=2 +tries=1 sig.test SOA)
is "$(dig_status "$out")" REFUSED "unsigned NOTIFY: REFUSED"
out=$(dig @127.0.0.1 -p "$PORT" +opcode=notify +norec +time=2 +tries=1 \
    -y "hmac-sha256:xfr-key.:$WRONG" sig.test SOA 2>&1)
like "$out" 'status: NOTAUTH' "NOTIFY signed with a wrong secret: NOTAUTH"

# the wrong secret in dnsd's store: the primary refuses, the zone stays as it is
dnsctl zone set sig.test --primary "127.0.0.1:$PRIMARY_PORT" >/dev/null
dnsctl tsig del xfr-key >/dev/null
dnsctl tsig add xfr-key --secret "$WRONG" >/dev/null
dnsctl zone set sig.test --tsig xfr-key >/dev/null
primary_edit sig.test 'late 300 A 192.0.2.70' || echo "Bail out! knotc zone edit failed"
badsig() { dnsctl zone show sig.test | grep -q '^last error .*TSIG BADSIG'; }
ok 'wait_for 15 badsig' "wrong key: the refresh fails with BADSIG (zone show says so)"
is "$(serial)" 201 "the zone keeps its serial"
is "$(a late.sig.test A)" "" "the primary's later edit did not arrive"
is "$(a new.sig.test A)" 192.0.2.60 "and the zone still answers as before"

# the right key again: caught up
dnsctl zone set sig.test --primary "127.0.0.1:$PRIMARY_PORT" >/dev/null
dnsctl tsig del xfr-key >/dev/null
dnsctl tsig add xfr-key --secret "$SECRET" >/dev/null
dnsctl zone set sig.test --tsig xfr-key >/dev/null
late() { [ "$(a late.sig.test A)" = 192.0.2.70 ]; }
ok 'wait_for 15 late' "the right key again: the zone catches up"
is "$(serial)" 202 "serial 202"
