#!/bin/sh
# t_any.sh -- qtype ANY (RFC 8482): over UDP a minimal answer, exactly one
# RRset; over TCP at least one RRset (the full set is allowed); ANY for a
# missing name is NXDOMAIN; ANY at a CNAME does not follow it.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 16
make_store example.test "$DATA/example.test.zone"
start_dnsd

out=$(dnsq query example.test ANY)
is "$(field "$out" rcode)" NOERROR "apex ANY over UDP: NOERROR"
like "$(field "$out" flags)" '^qr aa$' "apex ANY over UDP: authoritative"
is "$(field "$out" rrsets)" 1 "apex ANY over UDP: exactly one RRset"
like "$(field "$out" answer)" '^example\.test\. [0-9]+ IN [A-Z]+ ' "apex ANY over UDP: owned by the apex"

out=$(dnsq query www.example.test ANY)
is "$(field "$out" rrsets)" 1 "www ANY over UDP: exactly one RRset"

out=$(dnsq query --tcp example.test ANY)
is "$(field "$out" rcode)" NOERROR "apex ANY over TCP: NOERROR"
ok '[ "$(field "$out" rrsets)" -ge 1 ]' "apex ANY over TCP: at least one RRset"
unlike "$(printf '%s\n' "$out" | grep '^answer ')" '^answer [^e]|^answer example\.test\.[^ ]' \
    "apex ANY over TCP: only apex records"

out=$(dnsq query nope.example.test ANY)
is "$(field "$out" rcode)" NXDOMAIN "missing name ANY: NXDOMAIN"
is "$(field "$out" rrsets)" 0 "missing name ANY: empty answer"

out=$(dnsq query chain-a.example.test ANY)
is "$(field "$out" rcode)" NOERROR "CNAME owner ANY: NOERROR"
is "$(field "$out" answer)" "chain-a.example.test. 3600 IN CNAME chain-b.example.test." \
    "CNAME owner ANY: the CNAME, not followed"
is "$(field "$out" rrsets)" 1 "CNAME owner ANY: one RRset"

out=$(dnsq query foo.wild.example.test ANY)
is "$(field "$out" rcode)/$(field "$out" rrsets)" "NOERROR/1" "wildcard ANY over UDP: one RRset"
like "$(field "$out" answer)" '^foo\.wild\.example\.test\. 3600 IN (A|TXT) ' "wildcard ANY: synthesized, owner = qname"
out=$(dnsq query --tcp foo.wild.example.test ANY)
ok '[ "$(field "$out" rrsets)" -ge 1 ] && [ -z "$(printf "%s\n" "$out" | grep "^answer " | grep -v "^answer foo\.wild\.example\.test\. ")" ]' \
    "wildcard ANY over TCP: at least one RRset, every record owned by the qname"
