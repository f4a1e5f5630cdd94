#!/bin/sh
# t_xfr_kill.sh -- SIGKILL of dnsd in the middle of a big transfer leaves
# its Knot secondary on the old serial (a cut transfer is never applied),
# and after dnsd restarts (same port) its start-up NOTIFY brings Knot to
# the new serial. Knot is held (SIGSTOP) while dnsd is killed, so the
# transfer is cut in the middle whatever the machine's speed: the zone
# (400k records, about 8 MB on the wire) is more than the loopback socket
# buffers hold.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_xfr.sh"
need dig knotd
plan 7
make_store example.test "$DATA/example.test.zone"
xfr_key xfr-key
start_dnsd
dnsctl zone set example.test --allow-transfer "127.0.0.1 key xfr-key" >/dev/null
start_knot2 example.test
dnsctl zone set example.test --notify "127.0.0.1:$KNOT2_PORT key xfr-key" >/dev/null
ok 'wait_serial "$KNOT2_PORT" example.test 2024010101 20' "Knot has the small zone (2024010101)"

awk 'BEGIN {
    print "$ORIGIN example.test.\n$TTL 300"
    print "@ IN SOA ns1 hostmaster 2024010201 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1"
    for (i = 0; i < 400000; i++)
        printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
}' >"$TMPD/big.zone"
mark=$(wc -l <"$KNOT2_LOG")
dnsctl zone import example.test "$TMPD/big.zone" >/dev/null
# the import's NOTIFY starts the big transfer: hold Knot as soon as it does
i=0
while [ $i -lt 600 ] && ! tail -n +"$mark" "$KNOT2_LOG" | grep -Eq 'XFR, incoming, .*started'; do
    sleep 0.02
    i=$((i + 1))
done
kill -STOP "$KNOT2_PID"
ok 'tail -n +"$mark" "$KNOT2_LOG" | grep -Eq "XFR, incoming, .*started"' "the big transfer started"
kill -9 "$DNSD_PID"
wait "$DNSD_PID" 2>/dev/null
DNSD_PID=
kill -CONT "$KNOT2_PID"
i=0
while [ $i -lt 100 ] && ! tail -n +"$mark" "$KNOT2_LOG" | grep -Eq 'refresh, .*failed'; do
    sleep 0.1
    i=$((i + 1))
done
like "$(tail -n +"$mark" "$KNOT2_LOG")" "refresh, address 127\\.0\\.0\\.1@$PORT, failed" "Knot saw the transfer cut"
is "$(serial_at "$KNOT2_PORT" example.test)" 2024010101 "Knot still serves the old serial"
unlike "$(cat "$TMPD/dnsd.log")" 'serial 2024010201.*messages' "dnsd never finished that transfer"
cp "$TMPD/dnsd.log" "$TMPD/dnsd.log.1"

start_dnsd_raw "$TMPD/port" --store "$STORE" --listen "127.0.0.1:$PORT" --port-file "$TMPD/port" --workers 2
ok 'wait_serial "$KNOT2_PORT" example.test 2024010201 60' "after the restart, Knot catches up (2024010201)"
is "$(dig @127.0.0.1 -p "$KNOT2_PORT" +short h399999.example.test A)" 10.6.26.127 \
    "Knot serves the last record of the big zone"
