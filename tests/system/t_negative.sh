#!/bin/sh
# t_negative.sh -- negative answers (RFC 2308): NXDOMAIN and NODATA, both
# authoritative with the zone's SOA alone in the authority section, its TTL
# min(SOA TTL, SOA MINIMUM) = min(3600, 300) = 300; empty non-terminals are
# NODATA, never NXDOMAIN (RFC 8020).
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 27
make_store example.test "$DATA/example.test.zone"
start_dnsd
SOA_NEG='example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300'

# neg NAME TYPE STATUS: 4 checks on a negative answer
neg() {
    out=$(q "$1" "$2")
    is "$(dig_status "$out")" "$3" "$1 $2: $3"
    is "$(dig_flags "$out")" "qr aa" "$1 $2: authoritative"
    is "$(dig_count "$out" ANSWER)" 0 "$1 $2: empty answer"
    is "$(dig_section "$out" AUTHORITY)" "$SOA_NEG" "$1 $2: only the SOA in authority, TTL 300"
}

neg nope.example.test A NXDOMAIN
neg a.b.c.nope.example.test AAAA NXDOMAIN
neg x.www.example.test A NXDOMAIN          # below an existing leaf
neg www.example.test MX NOERROR            # NODATA
neg example.test SRV NOERROR               # NODATA at the apex
neg b.ent.example.test A NOERROR           # empty non-terminal
# one more level up the empty non-terminal, and the name below it
out=$(q ent.example.test TXT)
is "$(dig_status "$out")/$(dig_count "$out" ANSWER)" "NOERROR/0" "ent TXT (empty non-terminal): NODATA"
out=$(q a.b.ent.example.test A)
is "$(dig_section "$out" ANSWER)" "a.b.ent.example.test. 3600 IN A 192.0.2.40" "a.b.ent A: the record that makes the ENTs"

# the SOA itself, asked for, keeps its own TTL
out=$(q example.test SOA)
is "$(dig_section "$out" ANSWER)" \
    'example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300' \
    "apex SOA: answered with its own TTL 3600"
