#!/bin/sh
# t_wildcard.sh -- wildcards per RFC 4592: *.wild synthesizes answers whose
# owner is the qname, for any depth below wild; it never applies to a name
# that exists (host.wild) or is an empty non-terminal (y.wild), nor below
# them; a type the wildcard lacks is NODATA; a wildcard CNAME is followed.
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 30
make_store example.test "$DATA/example.test.zone"
start_dnsd
SOA_NEG='example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300'

out=$(q foo.wild.example.test A)
is "$(dig_status "$out")" NOERROR "foo.wild A: NOERROR"
is "$(dig_flags "$out")" "qr aa" "foo.wild A: authoritative"
is "$(dig_section "$out" ANSWER)" "foo.wild.example.test. 3600 IN A 192.0.2.100" "foo.wild A: synthesized, owner = qname"

out=$(q a.b.wild.example.test A)
is "$(dig_status "$out")" NOERROR "a.b.wild A (two labels below): NOERROR"
is "$(dig_section "$out" ANSWER)" "a.b.wild.example.test. 3600 IN A 192.0.2.100" "a.b.wild A: synthesized"

out=$(q foo.wild.example.test TXT)
is "$(dig_section "$out" ANSWER)" 'foo.wild.example.test. 3600 IN TXT "wildcard"' "foo.wild TXT: the wildcard's TXT"

out=$(q FoO.wIlD.example.test A)
is "$(dig_section "$out" ANSWER)" "FoO.wIlD.example.test. 3600 IN A 192.0.2.100" "mixed-case qname: synthesized owner as asked"

out=$(q foo.wild.example.test MX)
is "$(dig_status "$out")" NOERROR "foo.wild MX (type the wildcard lacks): NOERROR"
is "$(dig_count "$out" ANSWER)" 0 "foo.wild MX: empty answer"
is "$(dig_section "$out" AUTHORITY)" "$SOA_NEG" "foo.wild MX: SOA in authority"
is "$(dig_flags "$out")" "qr aa" "foo.wild MX: authoritative"

out=$(q '*.wild.example.test' A)
is "$(dig_section "$out" ANSWER)" "*.wild.example.test. 3600 IN A 192.0.2.100" "the wildcard name itself: its A"

out=$(q host.wild.example.test A)
is "$(dig_section "$out" ANSWER)" "host.wild.example.test. 3600 IN A 192.0.2.101" "host.wild A: the explicit record wins"

out=$(q host.wild.example.test TXT)
is "$(dig_status "$out")" NOERROR "host.wild TXT: NODATA, no wildcard for an existing name"
is "$(dig_count "$out" ANSWER)" 0 "host.wild TXT: empty answer"
is "$(dig_section "$out" AUTHORITY)" "$SOA_NEG" "host.wild TXT: SOA in authority"

out=$(q x.host.wild.example.test A)
is "$(dig_status "$out")" NXDOMAIN "x.host.wild A: NXDOMAIN (closest encloser host.wild has no wildcard)"
is "$(dig_count "$out" ANSWER)" 0 "x.host.wild A: empty answer"
is "$(dig_section "$out" AUTHORITY)" "$SOA_NEG" "x.host.wild A: SOA in authority"

out=$(q y.wild.example.test A)
is "$(dig_status "$out")" NOERROR "y.wild A (empty non-terminal): NODATA, not the wildcard"
is "$(dig_count "$out" ANSWER)" 0 "y.wild A: empty answer"

out=$(q z.y.wild.example.test A)
is "$(dig_status "$out")" NXDOMAIN "z.y.wild A: NXDOMAIN (closest encloser y.wild has no wildcard)"
is "$(dig_count "$out" ANSWER)" 0 "z.y.wild A: empty answer"

out=$(q x.y.wild.example.test A)
is "$(dig_section "$out" ANSWER)" "x.y.wild.example.test. 3600 IN A 192.0.2.102" "x.y.wild A: the explicit record"

out=$(q wild.example.test A)
is "$(dig_status "$out")/$(dig_count "$out" ANSWER)" "NOERROR/0" "wild A (parent of the wildcard, an ENT): NODATA"

out=$(q foo.wc.example.test A)
is "$(dig_status "$out")" NOERROR "foo.wc A (wildcard CNAME): NOERROR"
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' \
    'foo.wc.example.test. 3600 IN CNAME www.example.test.' \
    'www.example.test. 300 IN A 192.0.2.80')" "foo.wc A: synthesized CNAME, then its target's A"

out=$(q foo.wc.example.test CNAME)
is "$(dig_section "$out" ANSWER)" "foo.wc.example.test. 3600 IN CNAME www.example.test." "foo.wc CNAME: the synthesized CNAME alone"

out=$(q foo.wc.example.test MX)
is "$(dig_section "$out" ANSWER)" "foo.wc.example.test. 3600 IN CNAME www.example.test." \
    "foo.wc MX: synthesized CNAME, target has no MX"
is "$(dig_section "$out" AUTHORITY)" "$SOA_NEG" "foo.wc MX: SOA in authority"
