#!/bin/sh
# t_names.sh -- query names as DNS allows them (RFC 1035 2.3.4, 3.1; RFC 2181
# 11; RFC 4343): any byte in a label (0x00, 0x01, ".", upper case), up to 255
# octets in all. Binary labels are names like any other: looked up, matched
# by wildcards, denied with NXDOMAIN, never confused with the names their
# bytes resemble. 256 octets or a reserved label type is FORMERR.
. "$top_srcdir/tests/system/lib.sh"
need_dnspython
plan 21
make_store example.test "$DATA/example.test.zone"
start_dnsd
SOA_NEG='example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300'

# binary and escaped labels, through dnspython (\DDD and \. in names)
out=$(dnsq query '\000.b.ent.example.test' A)
is "$(field "$out" rcode)" NXDOMAIN '\000.b.ent A: NXDOMAIN'
is "$(field "$out" authority)" "$SOA_NEG" '\000.b.ent A: SOA in authority'
out=$(dnsq query 'b\000.ent.example.test' A)
is "$(field "$out" rcode)" NXDOMAIN 'b\000.ent A: NXDOMAIN (not the ENT b.ent)'
out=$(dnsq query 'b\..ent.example.test' A)
is "$(field "$out" rcode)" NXDOMAIN 'label "b." under ent: NXDOMAIN'
out=$(dnsq query 'a\.b.ent.example.test' A)
is "$(field "$out" rcode)" NXDOMAIN 'label "a.b" under ent: NXDOMAIN (not a.b.ent)'
out=$(dnsq query 'www\001.example.test' A)
is "$(field "$out" rcode)" NXDOMAIN 'www\001 A: NXDOMAIN (not www)'

out=$(dnsq query 'x\000y.wild.example.test' A)
is "$(field "$out" rcode)" NOERROR 'x\000y.wild A: NOERROR'
is "$(field "$out" answer)" 'x\000y.wild.example.test. 3600 IN A 192.0.2.100' \
    'x\000y.wild A: synthesized, the binary owner preserved'
out=$(dnsq query '\042.wild.example.test' A)
is "$(field "$out" answer)" '*.wild.example.test. 3600 IN A 192.0.2.100' \
    '\042 (a literal "*") under wild: the wildcard owner itself'
out=$(dnsq query 'HOST.Wild.Example.Test' A)
is "$(field "$out" answer)" 'HOST.Wild.Example.Test. 3600 IN A 192.0.2.101' \
    'upper-case host.wild: found, owner as asked'

# lengths and label types, crafted byte by byte (dnsq.py CASES)
out=$(dnsq cases name-255 name-255-bin0 name-255-bin1 name-255-bin0-wild name-256 label-0x40 label-0x80)
like "$(field "$out" name-255)" '^rcode=NXDOMAIN opcode=0 qr=1 aa=1 .* id=ok qd=1 an=0 ns=1 ' \
    "255-octet name under example.test: NXDOMAIN, AA, SOA"
like "$(field "$out" name-255-bin0)" '^rcode=NXDOMAIN opcode=0 qr=1 aa=1 .* id=ok qd=1 an=0 ns=1 ' \
    "255-octet name of 0x00 bytes under example.test: NXDOMAIN, AA, SOA"
like "$(field "$out" name-255-bin1)" '^rcode=NXDOMAIN opcode=0 qr=1 aa=1 .* id=ok qd=1 an=0 ns=1 ' \
    "255-octet name of 0x01 bytes under example.test: NXDOMAIN, AA, SOA"
like "$(field "$out" name-255-bin0-wild)" '^rcode=NOERROR opcode=0 qr=1 aa=1 .* id=ok qd=1 an=1 ' \
    "255-octet name of 0x00 bytes under wild.example.test: the wildcard's A"
like "$(field "$out" name-256)" '^rcode=FORMERR .* id=ok .* an=0 ' "256-octet name: FORMERR"
like "$(field "$out" label-0x40)" '^rcode=FORMERR .* id=ok .* an=0 ' "label type 0x40: FORMERR"
like "$(field "$out" label-0x80)" '^rcode=FORMERR .* id=ok .* an=0 ' "label type 0x80: FORMERR"

# the 255-octet binary name over TCP, and the echoed question is intact
out=$(dnsq query --tcp "$(printf '\\000%.0s' $(seq 63)).example.test" A)
is "$(field "$out" rcode)" NXDOMAIN "63 x 0x00 label over TCP: NXDOMAIN"
like "$(field "$out" question)" '^(\\000){63}\.example\.test\. IN A$' "63 x 0x00 label: question echoed byte for byte"
out=$(dnsq query "$(printf 'a%.0s' $(seq 63)).$(printf 'b%.0s' $(seq 63)).example.test" AAAA)
is "$(field "$out" rcode)" NXDOMAIN "two 63-octet labels: NXDOMAIN"
is "$(field "$out" authority)" "$SOA_NEG" "two 63-octet labels: SOA in authority"
