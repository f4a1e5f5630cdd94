#!/bin/sh
# t_delegation.sh -- a zone cut (RFC 1034 4.3.2, RFC 2181 6): any query at or
# below sub.example.test (glue names included) gets a referral: NOERROR, AA
# clear, empty answer, the cut's NS in authority, the in-bailiwick glue in
# additional. DS lives on the parent side (RFC 4035 2.4, 3.1.4.1): DS at the
# cut is the parent's authoritative NODATA.
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 25
make_store example.test "$DATA/example.test.zone"
start_dnsd
NS_SET=$(printf '%s\n' 'sub.example.test. 3600 IN NS ns.elsewhere.invalid.' 'sub.example.test. 3600 IN NS ns.sub.example.test.')
GLUE=$(printf '%s\n' 'ns.sub.example.test. 3600 IN A 192.0.2.53' 'ns.sub.example.test. 3600 IN AAAA 2001:db8::53')

# referral NAME TYPE: 5 checks
referral() {
    out=$(q "$1" "$2")
    is "$(dig_status "$out")" NOERROR "$1 $2: NOERROR"
    is "$(dig_flags "$out")" "qr" "$1 $2: AA clear (a referral)"
    is "$(dig_count "$out" ANSWER)" 0 "$1 $2: empty answer"
    is "$(dig_section "$out" AUTHORITY | sort)" "$NS_SET" "$1 $2: the cut's NS RRset in authority"
    is "$(dig_section "$out" ADDITIONAL | sort)" "$GLUE" "$1 $2: glue A and AAAA in additional"
}

referral www.sub.example.test A
referral sub.example.test NS
referral ns.sub.example.test A          # glue is not authoritative data
referral a.b.c.sub.example.test MX

out=$(q sub.example.test DS)
is "$(dig_status "$out")" NOERROR "DS at the cut: NOERROR"
is "$(dig_flags "$out")" "qr aa" "DS at the cut: answered by the parent, authoritatively"
is "$(dig_count "$out" ANSWER)" 0 "DS at the cut: NODATA (no DS)"
is "$(dig_section "$out" AUTHORITY)" \
    'example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300' \
    "DS at the cut: the parent's SOA in authority"

out=$(q www.sub.example.test DS)
is "$(dig_flags "$out")/$(dig_count "$out" ANSWER)" "qr/0" "DS below the cut: a referral too"
