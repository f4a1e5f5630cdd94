#!/bin/sh
# t_xfr_acl.sh -- who may transfer a zone (dnsctl zone set --allow-transfer):
# nobody by default (REFUSED); an address or network; a TSIG key from any
# address; both at once; a source address outside the list (127.0.0.2) is
# REFUSED, a wrong key too. AXFR over UDP gets NOTIMP and IXFR over UDP the
# SOA alone, as Knot and NSD answer. Signed SOA queries get signed answers.
# zone show prints the settings, zone delete drops them and their key
# references; bad specs are refused with the reason.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_xfr.sh"
need_dnspython
plan 30
make_store example.test "$DATA/example.test.zone"
xfr_key k1
k1="k1.:hmac-sha256:$KEY_SECRET"
xfr_key k2
k2="k2.:hmac-sha256:$KEY_SECRET"
start_dnsd
x() { "$PYTHON" "$top_srcdir/tests/system/xfrq.py" "$PORT" example.test "$@"; }

like "$(x AXFR)" '^rcode=REFUSED an=0 ' "no allow-transfer: AXFR over TCP REFUSED"
like "$(x IXFR --serial 1)" '^rcode=REFUSED an=0 ' "no allow-transfer: IXFR over TCP REFUSED"
like "$(x IXFR --udp --serial 1)" '^rcode=REFUSED an=0 ' "no allow-transfer: IXFR over UDP REFUSED"
like "$(x AXFR --udp)" '^rcode=NOTIMP an=0 ' "AXFR over UDP: NOTIMP (Knot and NSD answer the same)"

dnsctl zone set example.test --allow-transfer 127.0.0.1 >/dev/null
like "$(x AXFR)" '^rcode=NOERROR an=123 soa=2024010101 ' "allow-transfer 127.0.0.1: AXFR from 127.0.0.1"
like "$(x AXFR --source 127.0.0.2)" '^rcode=REFUSED an=0 ' "... from 127.0.0.2: REFUSED"
like "$(cat "$TMPD/dnsd.log")" 'xfr: 127\.0\.0\.2#[0-9]+: AXFR example\.test\. refused: not allowed by allow-transfer \(unsigned\)' \
    "... and logged with the address"
like "$(x IXFR --udp --serial 2024010101)" '^rcode=NOERROR an=1 soa=2024010101 ' \
    "IXFR over UDP, client up to date: the SOA alone (RFC 1995 2)"
like "$(x IXFR --udp --serial 1)" '^rcode=NOERROR an=1 soa=2024010101 ' \
    "IXFR over UDP, client behind, answer too big for UDP: the SOA alone (ask over TCP)"
like "$(x IXFR --serial 2024010101)" '^rcode=NOERROR an=1 soa=2024010101 ' "IXFR over TCP, up to date: the SOA alone"

dnsctl zone set example.test --allow-transfer 127.0.0.0/30 >/dev/null
like "$(x AXFR --source 127.0.0.2)" '^rcode=NOERROR an=123 ' "allow-transfer 127.0.0.0/30: 127.0.0.2 may"
like "$(x AXFR --source 127.0.0.5)" '^rcode=REFUSED ' "... 127.0.0.5 may not"

dnsctl zone set example.test --allow-transfer 'key k2' >/dev/null
like "$(x AXFR --source 127.0.0.2 --key "$k2")" '^rcode=NOERROR an=123 .* signed=yes' \
    "allow-transfer 'key k2': signed with k2 from anywhere, every message signed"
like "$(x AXFR --key "$k1")" '^rcode=REFUSED .* signed=yes' "... signed with k1: REFUSED (signed)"
like "$(x AXFR)" '^rcode=REFUSED ' "... unsigned: REFUSED"

dnsctl zone set example.test --allow-transfer '127.0.0.1 key k1' --allow-transfer '127.0.0.2' >/dev/null
like "$(x AXFR --key "$k1")" '^rcode=NOERROR an=123 .* signed=yes' "'127.0.0.1 key k1': k1 from 127.0.0.1 may"
like "$(x AXFR --source 127.0.0.3 --key "$k1")" '^rcode=REFUSED ' "... k1 from 127.0.0.3 may not (both must match)"
like "$(x AXFR --source 127.0.0.2)" '^rcode=NOERROR ' "... the second entry lets 127.0.0.2 in unsigned"
like "$(x AXFR --key "k1.:hmac-sha256:$(printf 'not-the-real-secret-xxxxxxxxx' | base64)")" \
    '^error=PeerBadSignature' "a wrong secret: BADSIG, no zone"
like "$(x SOA --udp --key "$k1")" '^rcode=NOERROR an=1 soa=2024010101 .* signed=yes' \
    "a signed SOA query over UDP gets a signed answer (a secondary's refresh)"
like "$(x SOA --key "$k2")" '^rcode=NOERROR an=1 soa=2024010101 .* signed=yes' \
    "... over TCP too"

show=$(dnsctl zone show example.test)
like "$show" 'allow-transfer +127\.0\.0\.1 key k1\.' "zone show: the first entry"
like "$show" 'allow-transfer +127\.0\.0\.2$' "zone show: the second entry"
like "$(dnsctl tsig list)" 'k1\. +hmac-sha256 +256 +1' "the key in use counts one user"
out=$(dnsctl zone set example.test --allow-transfer 'key nosuch' 2>&1)
like "$out" 'no TSIG key nosuch\.' "an unknown key is refused with its name"
out=$(dnsctl zone set example.test --notify '192.0.2.1:99999' 2>&1)
like "$out" 'bad port "99999"' "a bad notify port is refused with the reason"
out=$(dnsctl zone set example.test --allow-transfer '10.0.0.1/8' 2>&1)
like "$out" 'address bits set past /8' "a network with host bits is refused"
like "$(dnsctl zone show example.test)" 'allow-transfer +127\.0\.0\.1 key k1\.' "... the store is unchanged"

dnsctl zone delete example.test >/dev/null
like "$(dnsctl tsig list)" 'k1\. +hmac-sha256 +256 +0' "zone delete drops the zone's key references"
make_store example.test "$DATA/example.test.zone"
like "$(dnsctl zone show example.test)" 'allow-transfer +none' "... and its transfer settings"
