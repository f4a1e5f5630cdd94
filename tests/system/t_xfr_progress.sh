#!/bin/sh
# t_xfr_progress.sh -- a long zone transfer logs where it is: dnsd, a
# secondary of a real Knot primary serving a zone of 200000 records
# through xfrslow.py (a relay that holds the answer back for 3 s after its
# first message, so the transfer cannot end sooner), logs "AXFR from ...
# in progress: N records, B bytes in M messages" at info level (at most
# every 2 s), then its usual completion line, and serves the whole zone.
# Then dnsd, as a primary of that zone, sends it to xfrslow.py's slow
# reader (which stops reading for 3 s after the first message, so dnsd
# blocks once the socket buffers are full) and logs its own progress
# line. No timing is asserted: the pauses make the progress certain.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_xfrin.sh"
PY=${PYTHON:-python3}
need dig kdig knotd knotc "$PY"
need_dnspython
plan 9

N=200000
PRIMARY_PORT=$(free_udp_tcp_port)
primary_zone big.test "$TMPD/big.zone" 1 3600 60 864000
awk -v n=$N 'BEGIN { for (i = 0; i < n; i++) printf "host-%06d 300 IN A 10.%d.%d.%d\n", i,
                     int(i / 65536), int(i / 256) % 256, i % 256 }' >>"$TMPD/big.zone"
total=$((N + 4)) # and SOA, NS, ns1 A, www A

"$PY" "$top_srcdir/tests/system/xfrslow.py" relay "$PRIMARY_PORT" "$TMPD/slowport" \
    "$TMPD/slow.log" 3 300 &
SLOW_PID=$!
stop_slow() { stop_pid "$SLOW_PID"; }
at_exit stop_slow
wait_for 10 test -s "$TMPD/slowport" || echo "Bail out! xfrslow.py did not start"
SLOWPORT=$(cat "$TMPD/slowport")

dnsctl zone add big.test --primary "127.0.0.1:$SLOWPORT" >/dev/null
start_dnsd --rrl-rate 0
start_primary big.test "$TMPD/big.zone" "$PORT"

a() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
loaded() { [ "$(a host-199999.big.test A)" = 10.3.13.63 ]; }
ok 'wait_for 120 loaded' "the zone of $N records arrived (AXFR through the slow relay)"
like "$(cat "$TMPD/slow.log")" "SLOW AXFR" "... held back by the relay after its first message"
prog=$(grep 'xfrin: zone big.test.: AXFR from 127.0.0.1:[0-9]* in progress' "$TMPD/dnsd.log")
like "$prog" "AXFR from 127\\.0\\.0\\.1:$SLOWPORT in progress: [0-9]+ records, [0-9]+ bytes in [0-9]+ messages, [0-9.]+ s, [0-9]+ records/s" \
    "dnsd logged the transfer in progress: records, bytes, messages, rate"
pline=$(grep -n 'xfrin: zone big.test.: AXFR from .* in progress' "$TMPD/dnsd.log" | head -n 1 | cut -d: -f1)
dline=$(grep -n 'xfrin: zone big.test.: AXFR from [0-9.:]*: serial' "$TMPD/dnsd.log" | tail -n 1 | cut -d: -f1)
ok '[ -n "$pline" ] && [ -n "$dline" ] && [ "$pline" -lt "$dline" ]' \
    "... before the transfer's completion line"
like "$(grep 'xfrin: zone big.test.: AXFR from' "$TMPD/dnsd.log" | tail -n 1)" \
    "AXFR from 127\\.0\\.0\\.1:$SLOWPORT: serial 1, $total records\$" \
    "then the completion line, every record"
is "$(a www.big.test A)" 192.0.2.1 "the zone is served"

# dnsd as the primary of that zone: a slow secondary
dnsctl zone set big.test --allow-transfer 127.0.0.1 >/dev/null
out=$("$PY" "$top_srcdir/tests/system/xfrslow.py" read "$PORT" big.test 3 2>&1)
like "$out" "^msgs=[0-9]+ records=$((total + 1)) bytes=[0-9]+\$" "the slow reader got the whole zone"
bytes=$(printf '%s\n' "$out" | sed -n 's/.* bytes=\([0-9]*\)$/\1/p')
wmem=$(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_wmem 2>/dev/null || echo 0)
if [ -n "$bytes" ] && [ "$bytes" -gt $((wmem + 65536)) ]; then
    ok 'wait_for 10 grep -q "xfr: 127.0.0.1[^ ]*: AXFR big.test. serial 1 in progress: [0-9]* records, [0-9]* bytes in [0-9]* messages" "$TMPD/dnsd.log"' \
        "dnsd logged its transfer out in progress ($bytes bytes, more than the socket buffers hold)"
else
    skip 1 "the zone's $bytes bytes fit the $wmem-byte send buffer: dnsd need not block"
fi
ok 'wait_for 10 grep -q "xfr: 127.0.0.1[^ ]*: AXFR big.test. serial 1: [0-9]* messages, $((total + 1)) records" "$TMPD/dnsd.log"' \
    "and its completion line"
