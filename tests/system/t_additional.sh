#!/bin/sh
# t_additional.sh -- additional section processing (RFC 1035 3.3.9, 3.3.11,
# RFC 2782): answers with NS, MX or SRV records carry the A and AAAA of their
# in-zone targets; targets outside the zone add nothing. A server may also
# put the apex NS in authority (then their addresses may join the additional
# section): the expected sets allow for that, and only that.
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 14
make_store example.test "$DATA/example.test.zone"
start_dnsd
NSADDR=$(printf '%s\n' \
    'ns1.example.test. 3600 IN A 192.0.2.1' 'ns1.example.test. 3600 IN AAAA 2001:db8::1' \
    'ns2.example.test. 3600 IN A 192.0.2.2' 'ns2.example.test. 3600 IN AAAA 2001:db8::2')

# expect_additional OUT EXPECTED TEXT: the additional section is EXPECTED
# (plus the name servers' addresses when the apex NS is in authority)
expect_additional() {
    _want=$2
    if dig_section "$1" AUTHORITY | grep -q '^example\.test\. [0-9]* IN NS '; then
        _want=$(printf '%s\n%s\n' "$2" "$NSADDR" | grep . | sort -u)
    fi
    is "$(dig_section "$1" ADDITIONAL | sort)" "$_want" "$3"
}

out=$(q example.test MX)
is "$(dig_section "$out" ANSWER | sort)" "$(printf '%s\n' \
    'example.test. 3600 IN MX 10 mail.example.test.' \
    'example.test. 3600 IN MX 20 mail2.example.test.')" "apex MX: both MX records"
expect_additional "$out" "$(printf '%s\n' \
    'mail.example.test. 3600 IN A 192.0.2.25' 'mail.example.test. 3600 IN AAAA 2001:db8::25' \
    'mail2.example.test. 3600 IN A 192.0.2.26')" "apex MX: A and AAAA of both exchanges"
is "$(dig_flags "$out")" "qr aa" "apex MX: authoritative"

out=$(q _sip._udp.example.test SRV)
is "$(dig_section "$out" ANSWER)" "_sip._udp.example.test. 3600 IN SRV 10 60 5060 sip.example.test." "SRV: the SRV record"
expect_additional "$out" "$(printf '%s\n' \
    'sip.example.test. 3600 IN A 192.0.2.50' 'sip.example.test. 3600 IN AAAA 2001:db8::50')" \
    "SRV: A and AAAA of the target"

out=$(q example.test NS)
is "$(dig_count "$out" ANSWER)" 2 "apex NS: 2 records"
is "$(dig_section "$out" ADDITIONAL | sort)" "$NSADDR" "apex NS: A and AAAA of ns1 and ns2"

out=$(q extmx.example.test MX)
is "$(dig_section "$out" ANSWER)" "extmx.example.test. 3600 IN MX 10 mx.elsewhere.invalid." "MX out of zone: the MX"
expect_additional "$out" "" "MX out of zone: nothing for the target"

# the same over TCP, and without EDNS
out=$(q +tcp example.test MX)
expect_additional "$out" "$(printf '%s\n' \
    'mail.example.test. 3600 IN A 192.0.2.25' 'mail.example.test. 3600 IN AAAA 2001:db8::25' \
    'mail2.example.test. 3600 IN A 192.0.2.26')" "apex MX over TCP: same additional records"
out=$(q +noedns _sip._udp.example.test SRV)
expect_additional "$out" "$(printf '%s\n' \
    'sip.example.test. 3600 IN A 192.0.2.50' 'sip.example.test. 3600 IN AAAA 2001:db8::50')" \
    "SRV without EDNS: same additional records"
is "$(dig_count "$out" ADDITIONAL)" "$(nlines "$(dig_section "$out" ADDITIONAL)")" \
    "SRV without EDNS: header ADDITIONAL count matches (no OPT)"

# a plain A answer adds no MX/SRV target data
out=$(q mail.example.test A)
is "$(dig_section "$out" ANSWER)" "mail.example.test. 3600 IN A 192.0.2.25" "mail A: the A"
expect_additional "$out" "" "mail A: nothing in additional"
