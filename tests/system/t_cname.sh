#!/bin/sh
# t_cname.sh -- CNAME processing (RFC 1034 3.6.2, 4.3.2; RFC 6604): an
# in-zone chain is followed in the answer (every CNAME in order, then the
# final RRset); a loop ends without hanging and returns each CNAME once; a
# CNAME leaving the zone is returned alone; qtype CNAME returns the CNAME
# itself; the rcode is the last name's (NXDOMAIN for a dangling target).
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 32
make_store example.test "$DATA/example.test.zone"
start_dnsd
SOA_NEG='example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300'
CA='chain-a.example.test. 3600 IN CNAME chain-b.example.test.'
CB='chain-b.example.test. 3600 IN CNAME chain-c.example.test.'
CC='chain-c.example.test. 3600 IN A 192.0.2.30'

out=$(q chain-a.example.test A)
is "$(dig_status "$out")" NOERROR "chain a->b->c A: NOERROR"
is "$(dig_flags "$out")" "qr aa" "chain a->b->c A: authoritative"
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' "$CA" "$CB" "$CC")" \
    "chain a->b->c A: both CNAMEs in order, then the A"

out=$(q chain-b.example.test A)
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' "$CB" "$CC")" "chain from b: CNAME then A"

out=$(q chain-a.example.test CNAME)
is "$(dig_status "$out")" NOERROR "chain-a CNAME: NOERROR"
is "$(dig_section "$out" ANSWER)" "$CA" "chain-a CNAME: the CNAME itself, not followed"

out=$(q chain-a.example.test MX)
is "$(dig_status "$out")" NOERROR "chain ending in NODATA (MX): NOERROR"
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' "$CA" "$CB")" "chain ending in NODATA: both CNAMEs"
is "$(dig_section "$out" AUTHORITY)" "$SOA_NEG" "chain ending in NODATA: SOA in authority"

out=$(q dangling.example.test A)
is "$(dig_status "$out")" NXDOMAIN "dangling CNAME: NXDOMAIN (RFC 6604: the last name's rcode)"
is "$(dig_flags "$out")" "qr aa" "dangling CNAME: authoritative"
is "$(dig_section "$out" ANSWER)" "dangling.example.test. 3600 IN CNAME nothere.example.test." \
    "dangling CNAME: the CNAME in the answer"
is "$(dig_section "$out" AUTHORITY)" "$SOA_NEG" "dangling CNAME: SOA in authority"

out=$(q loop-x.example.test A)
is "$(dig_status "$out")" NOERROR "loop x->y->x: answered, NOERROR"
is "$(dig_count "$out" ANSWER)" 2 "loop x->y->x: each CNAME once"
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' \
    'loop-x.example.test. 3600 IN CNAME loop-y.example.test.' \
    'loop-y.example.test. 3600 IN CNAME loop-x.example.test.')" "loop x->y->x: x's CNAME then y's"

out=$(q self.example.test AAAA)
is "$(dig_status "$out")" NOERROR "self loop: answered, NOERROR"
is "$(dig_section "$out" ANSWER)" "self.example.test. 3600 IN CNAME self.example.test." \
    "self loop: the CNAME once"

out=$(q out.example.test A)
is "$(dig_status "$out")" NOERROR "CNAME out of zone: NOERROR"
is "$(dig_flags "$out")" "qr aa" "CNAME out of zone: authoritative"
is "$(dig_section "$out" ANSWER)" "out.example.test. 3600 IN CNAME target.elsewhere.invalid." \
    "CNAME out of zone: just the CNAME"

out=$(q towild.example.test A)
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' \
    'towild.example.test. 3600 IN CNAME foo.wild.example.test.' \
    'foo.wild.example.test. 3600 IN A 192.0.2.100')" "CNAME into a wildcard: CNAME then synthesized A"

out=$(q tosub.example.test A)
is "$(dig_status "$out")/$(dig_flags "$out")" "NOERROR/qr aa" "CNAME into a delegation: NOERROR, AA (the CNAME is ours)"
is "$(dig_section "$out" ANSWER)" "tosub.example.test. 3600 IN CNAME www.sub.example.test." \
    "CNAME into a delegation: the CNAME alone in the answer"
is "$(dig_section "$out" AUTHORITY | sort)" "$(printf '%s\n' \
    'sub.example.test. 3600 IN NS ns.elsewhere.invalid.' 'sub.example.test. 3600 IN NS ns.sub.example.test.')" \
    "CNAME into a delegation: the cut's NS in authority (RFC 1034 4.3.2 step 3b)"
is "$(dig_section "$out" ADDITIONAL | sort)" "$(printf '%s\n' \
    'ns.sub.example.test. 3600 IN A 192.0.2.53' 'ns.sub.example.test. 3600 IN AAAA 2001:db8::53')" \
    "CNAME into a delegation: glue in additional"

out=$(q CHAIN-A.example.test A)
is "$(dig_section "$out" ANSWER | head -n 1)" 'CHAIN-A.example.test. 3600 IN CNAME chain-b.example.test.' \
    "chain asked in upper case: first owner as asked"
is "$(dig_count "$out" ANSWER)" 3 "chain asked in upper case: still 3 records"

# over TCP the same chain, and the server is still there after the loops
out=$(q +tcp chain-a.example.test A)
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' "$CA" "$CB" "$CC")" "chain over TCP: same answer"
out=$(q +tcp loop-y.example.test TXT)
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' \
    'loop-y.example.test. 3600 IN CNAME loop-x.example.test.' \
    'loop-x.example.test. 3600 IN CNAME loop-y.example.test.')" "loop over TCP from y: y's CNAME then x's"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "server alive after the loops"
ok 'kill -0 "$DNSD_PID"' "dnsd still running"
