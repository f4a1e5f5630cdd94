#!/bin/sh
# t_live_atomic.sh -- a zone replaced by `dnsctl zone import` while dnsd
# answers is seen whole or not at all (one LMDB write transaction per edit,
# one read snapshot per answer). atomic.test's p1 is a CNAME to p2 ("v1") in
# version 1 and to p3 ("v2") in version 2, the other name holding "stale":
# an answer built from two versions would show "stale"; a zone briefly
# missing would show REFUSED or NXDOMAIN.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 6
make_store example.test "$DATA/example.test.zone"
make_store atomic.test "$DATA/sys-atomic-v1.zone"
start_dnsd --rrl-rate 0 # bulk queries from one address
V1='NOERROR | p1.atomic.test. CNAME p2.atomic.test. ; p2.atomic.test. TXT "v1"'
V2='NOERROR | p1.atomic.test. CNAME p3.atomic.test. ; p3.atomic.test. TXT "v2"'

# flip versions 15 times in the background while asking p1 TXT in a loop
(
    i=0 rc=0
    while [ $i -lt 15 ]; do
        dnsctl zone import atomic.test "$DATA/sys-atomic-v2.zone" >/dev/null 2>&1 || rc=1
        dnsctl zone import atomic.test "$DATA/sys-atomic-v1.zone" >/dev/null 2>&1 || rc=1
        i=$((i + 1))
    done
    echo $rc >"$TMPD/flips.rc"
    : >"$TMPD/flips.done"
) &
flipper=$!
out=$(dnsq watch p1.atomic.test TXT --until "$TMPD/flips.done" --seconds 20)
printf "%s\n" "$out" | sed "s/^/# /"
wait $flipper
is "$(cat "$TMPD/flips.rc")" 0 "30 imports while dnsd answers: all succeed"
like "$out" "^seen [0-9]+ $(printf '%s' "$V1" | sed 's/[].|*[]/\\&/g')\$" "version 1 answers seen"
like "$out" "^seen [0-9]+ $(printf '%s' "$V2" | sed 's/[].|*[]/\\&/g')\$" "version 2 answers seen (the flips raced the queries)"
is "$(printf '%s\n' "$out" | sed 's/^seen [0-9]* //' | grep -v -x -F -e "$V1" -e "$V2")" "" \
    "no other answer ever: nothing mixed, no REFUSED, no NXDOMAIN, no silence"
out=$(q p1.atomic.test TXT)
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' \
    'p1.atomic.test. 300 IN CNAME p2.atomic.test.' 'p2.atomic.test. 300 IN TXT "v1"')" "after the flips: version 1, as last imported"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "the other zone untouched throughout"
