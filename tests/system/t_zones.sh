#!/bin/sh
# t_zones.sh -- which zone answers (RFC 1034 4.3.2 step 2): the longest
# hosted zone that encloses the qname, so deep.example.test (delegated in
# example.test AND hosted here) answers from its own zone; a name in no
# hosted zone is REFUSED with AA clear (RFC 8906 3.1.3.1).
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 29
make_store example.test "$DATA/example.test.zone"
make_store deep.example.test "$DATA/deep.example.test.zone"
start_dnsd
DEEP_SOA='deep.example.test. 120 IN SOA ns1.deep.example.test. hostmaster.deep.example.test. 7 3600 900 604800 600'

out=$(q www.deep.example.test A)
is "$(dig_status "$out")" NOERROR "www.deep A: NOERROR"
is "$(dig_flags "$out")" "qr aa" "www.deep A: authoritative (not the parent's referral)"
is "$(dig_section "$out" ANSWER)" "www.deep.example.test. 3600 IN A 192.0.2.61" "www.deep A: deep's record"

out=$(q nope.deep.example.test A)
is "$(dig_status "$out")" NXDOMAIN "nope.deep A: NXDOMAIN"
is "$(dig_flags "$out")" "qr aa" "nope.deep A: authoritative"
is "$(dig_section "$out" AUTHORITY)" "$DEEP_SOA" "nope.deep A: deep's SOA, TTL min(120, 600) = 120"

out=$(q deep.example.test SOA)
is "$(dig_section "$out" ANSWER)" "$DEEP_SOA" "deep SOA: deep's apex SOA"
is "$(dig_flags "$out")" "qr aa" "deep SOA: authoritative"

out=$(q deep.example.test NS)
is "$(dig_flags "$out")" "qr aa" "deep NS: authoritative answer, not a referral"
is "$(dig_section "$out" ANSWER)" "deep.example.test. 3600 IN NS ns1.deep.example.test." "deep NS: in the answer"

out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "www A: still the parent zone"
out=$(q nope.example.test A)
like "$(dig_section "$out" AUTHORITY)" '^example\.test\. 300 IN SOA ' "nope A: the parent's SOA"

# DS at the cut of a zone hosted on both sides: the parent answers (RFC 4035
# 3.1.4.1, RFC 4034 5): authoritative NODATA with example.test's SOA
out=$(q deep.example.test DS)
is "$(dig_status "$out")/$(dig_flags "$out")/$(dig_count "$out" ANSWER)" "NOERROR/qr aa/0" \
    "deep DS: authoritative NODATA"
like "$(dig_section "$out" AUTHORITY)" '^example\.test\. 300 IN SOA ' "deep DS: the parent's SOA, not deep's"

# zone match ignores case; the root is not hosted
out=$(q EXAMPLE.TEST SOA)
like "$(dig_section "$out" ANSWER)" '^EXAMPLE\.TEST\. 3600 IN SOA [^ ]+ [^ ]+ 2024010101 ' "EXAMPLE.TEST SOA: found, owner as asked"
out=$(q WWW.DEEP.Example.Test A)
is "$(dig_section "$out" ANSWER)" "WWW.DEEP.Example.Test. 3600 IN A 192.0.2.61" "upper-case www.deep: the nested zone still wins"

# refused REFUSED NAME TYPE: 3 checks
refused() {
    out=$(q "$1" "$2")
    is "$(dig_status "$out")" REFUSED "$1 $2: REFUSED"
    is "$(dig_flags "$out")" "qr" "$1 $2: AA clear"
    is "$(dig_count "$out" ANSWER)" 0 "$1 $2: empty answer"
}
refused www.nowhere.invalid A
refused test SOA                  # the parent of a hosted zone
refused wwwexample.test A         # a suffix match that is not a label match
refused . NS                      # the root
out=$(q +rec www.nowhere.invalid A)
is "$(dig_flags "$out")" "qr rd" "REFUSED with RD set: RD copied, no AA, no RA"
