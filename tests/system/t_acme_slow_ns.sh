#!/bin/sh
# t_acme_slow_ns.sh -- the DNS-01 visibility check keeps the ACME thread's
# calls within acme-http-timeout (issue 11: no call on the ACME thread
# blocks longer than that). The zone has dnsd itself and six more NS hosts
# that answer correctly but 0.7 s late (slowns.py): checking all six takes
# about 4 s, over the 2 s timeout. A pass stops when its time is up and the
# next one goes on where it stopped (servers that already answered are not
# asked again), so the certificate is still issued, every server was
# checked, and each slow server was asked for the owner once.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 5

acme_store acme.test
acme_conf "$TMPD/dnsd.conf" "acme-challenge-delay 1" "acme-http-timeout 2"
start_dnsd -c "$TMPD/dnsd.conf"
slow=
for i in 1 2 3 4 5 6; do
    a=127.0.0.$((40 + i))
    slow="$slow${slow:+,}$a"
    dnsctl record add acme.test "acme.test. NS ns$((i + 1)).acme.test." >/dev/null || diag "NS $i not added"
    dnsctl record add acme.test "ns$((i + 1)).acme.test. A $a" >/dev/null || diag "A $i not added"
done
"$PY3" "$top_srcdir/tests/system/slowns.py" "$slow" "$PORT" 0.7 "$TMPD/slow.log" \
    "$TMPD/slow.ready" 120 2>"$TMPD/slowns.err" &
SLOW_PID=$!
stop_slow() { stop_pid "$SLOW_PID"; }
at_exit stop_slow
for _ in $(seq 50); do [ -e "$TMPD/slow.ready" ] && break; sleep 0.1; done
[ -e "$TMPD/slow.ready" ] || _bail "slowns.py did not start: $(cat "$TMPD/slowns.err")"
start_pebble "$PORT"

like "$(dnsctl cert request acme.test --ca "$PEBBLE_DIR_URL" --wait 90 2>&1)" 'issued' \
    "issued with six slow NS hosts"
like "$(grep 'TXT visible' "$TMPD/dnsd.log")" 'visible on 7 authoritative server\(s\) of 7' \
    "every server checked: dnsd and the six slow ones"
ok 'grep -q "the pass stopped at acme-http-timeout (2 s)" "$TMPD/dnsd.log"' \
    "a pass stopped at acme-http-timeout and the next went on"
is "$(sort -u "$TMPD/slow.log" | wc -l | tr -d ' ')" 6 "each slow server was asked"
is "$(sort "$TMPD/slow.log" | uniq -c | awk '$1 > 1' | wc -l | tr -d ' ')" 0 \
    "none was asked twice (what answered is remembered across passes)"
