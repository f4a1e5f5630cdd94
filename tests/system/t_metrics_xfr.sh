#!/bin/sh
# t_metrics_xfr.sh -- the transfer, NOTIFY and UPDATE series of the metrics
# endpoint with real peers: a Knot secondary of dnsd, dig asking for AXFR
# (signed: done; unsigned: refused by allow-transfer), nsupdate (signed:
# committed; unsigned: refused), and the NOTIFY the commit sends to Knot
# (sent, acknowledged) followed by Knot's IXFR (done). Each counter moves
# by exactly what was done.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_xfr.sh"
need nsupdate dig knotd curl
/usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null || {
    [ "${REQUIRE_ALL:-0}" = 1 ] && { echo "Bail out! python3-prometheus-client is required"; exit 1; }
    skip_all "python3-prometheus-client not installed"
}
plan 11

PARSE="/usr/bin/python3 $top_srcdir/tests/system/promparse.py"
scrape() {
    curl -s --max-time 5 -o "$TMPD/s$1.txt" "$M/metrics" &&
        $PARSE "$TMPD/s$1.txt" >"$TMPD/s$1"
}
val() { awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print $NF; f = 1 } END { if (!f) print "absent" }' "$TMPD/s$1"; }
# delta A B SAMPLE: its value in scrape B minus scrape A
delta() { echo $(($(val "$2" "$3") - $(val "$1" "$3"))); }

make_store example.test "$top_srcdir/tests/data/example.test.zone"
xfr_key xfr-key
SECRET=$(dnsctl tsig add upd.key | sed -n 2p)
dnsctl zone policy example.test add key upd.key subdomain @ >/dev/null
start_dnsd --rrl-rate 0 --metrics-listen 127.0.0.1:0
M=http://127.0.0.1:$(sed -n 's/^metrics //p' "$TMPD/port")
dnsctl zone set example.test --allow-transfer "127.0.0.1 key xfr-key" >/dev/null
start_knot2 example.test
dnsctl zone set example.test --notify "127.0.0.1:$KNOT2_PORT key xfr-key" >/dev/null
ok 'wait_serial "$KNOT2_PORT" example.test 2024010101 20' "Knot loads the zone from dnsd"
# Knot's own AXFR is counted when dnsd has sent its last message: wait for it
k=0
while scrape 0 && [ "$(val 0 'dnsd_xfr_out_total{result="done"}')" = 0 ] && [ $k -lt 100 ]; do
    sleep 0.05
    k=$((k + 1))
done

dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 -y "hmac-sha256:$KEY_NAME:$KEY_SECRET" example.test AXFR \
    >"$TMPD/axfr"
dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 example.test AXFR >"$TMPD/axfr.unsigned"
like "$(cat "$TMPD/axfr.unsigned")" 'Transfer failed' "an unsigned AXFR is refused"
scrape 1
is "$(delta 0 1 'dnsd_xfr_out_total{result="done"}')" 1 "xfr out done: +1 (the signed AXFR)"
is "$(delta 0 1 'dnsd_xfr_out_total{result="refused"}')" 1 "xfr out refused: +1 (the unsigned one)"

nsup() {
    { printf 'server 127.0.0.1 %s\nzone example.test.\n' "$PORT"; cat; printf 'send\n'; } |
        nsupdate -t 4 -u 2 -r 0 "$@" 2>&1
}
out=$(printf 'update add upd-new.example.test. 300 A 192.0.2.55\n' | nsup -y "hmac-sha256:upd.key:$SECRET")
is "$out" "" "a signed UPDATE is committed"
ok 'wait_serial "$KNOT2_PORT" example.test 2024010102 15' "Knot follows (NOTIFY, IXFR)"
k=0
while scrape 2 && { [ "$(delta 1 2 'dnsd_notify_acked_total{}')" != 1 ] ||
    [ "$(delta 1 2 'dnsd_xfr_out_total{result="done"}')" != 1 ]; } && [ $k -lt 100 ]; do
    sleep 0.1
    k=$((k + 1))
done
is "$(delta 1 2 'dnsd_updates_total{result="committed"}')" 1 "updates committed: +1"
is "$(delta 1 2 'dnsd_notify_acked_total{}')" 1 "NOTIFY acknowledged: +1"
ok '[ "$(delta 1 2 "dnsd_notify_sent_total{}")" -ge 1 ]' "NOTIFY sent: at least once"
is "$(delta 1 2 'dnsd_xfr_out_total{result="done"}')" 1 "xfr out done: +1 (Knot's IXFR)"
printf 'update add nope.example.test. 300 A 192.0.2.56\n' | nsup >/dev/null
scrape 3
is "$(delta 2 3 'dnsd_updates_total{result="refused"}')" 1 "an unsigned UPDATE: refused +1"
