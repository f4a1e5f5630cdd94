#!/bin/sh
# t_header.sh -- the header of an authoritative answer: QR and AA set, RD
# copied from the query, RA never set (no recursion here), opcode and ID
# echoed, and the qname's case kept in the question and in the answer's
# owner name (RFC 1035 4.1.1, RFC 4343 4.1).
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 16
make_store example.test "$DATA/example.test.zone"
start_dnsd

out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "www A: NOERROR"
is "$(dig_opcode "$out")" QUERY "www A: opcode QUERY echoed"
is "$(dig_flags "$out")" "qr aa" "www A, RD clear: flags are exactly qr aa"
is "$(dig_count "$out" QUERY)" 1 "www A: the question is echoed"
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "www A: the one A record, TTL 300"

out=$(q +rec www.example.test A)
is "$(dig_flags "$out")" "qr aa rd" "www A, RD set: RD copied, RA not set"
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "www A, RD set: same answer"

out=$(q www.example.test AAAA)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN AAAA 2001:db8::80" "www AAAA: the AAAA record"

out=$(q example.test NS)
is "$(dig_section "$out" ANSWER | sort)" "$(printf '%s\n' \
    'example.test. 3600 IN NS ns1.example.test.' \
    'example.test. 3600 IN NS ns2.example.test.')" "apex NS: both NS records"
is "$(dig_flags "$out")" "qr aa" "apex NS: authoritative"

out=$(q example.test TXT)
is "$(dig_section "$out" ANSWER)" 'example.test. 3600 IN TXT "v=spf1 -all"' "apex TXT: rdata as stored"

out=$(q WwW.ExAmPlE.TeSt A)
is "$(dig_status "$out")" NOERROR "mixed-case qname: NOERROR"
is "$(dig_flags "$out")" "qr aa" "mixed-case qname: authoritative"
is "$(dig_section "$out" QUESTION)" ";WwW.ExAmPlE.TeSt. IN A" "mixed-case qname: case kept in the question"
is "$(dig_section "$out" ANSWER)" "WwW.ExAmPlE.TeSt. 300 IN A 192.0.2.80" \
    "mixed-case qname: answer owner spelled as asked"

out=$(q +rec nope.example.test A)
is "$(dig_flags "$out")" "qr aa rd" "NXDOMAIN with RD set: qr aa rd, no ra"
