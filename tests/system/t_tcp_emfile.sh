#!/bin/sh
# t_tcp_emfile.sh -- running out of file descriptors while accepting TCP
# (accept4: EMFILE) pauses accepting and retries on a timer instead of
# spinning on the still-readable listening socket: with more waiting
# connections than descriptors dnsd stays idle (its CPU time over 3 s is
# far below what a spin costs: 2+ s), says so once, and serves TCP again
# once descriptors are free. At start-up dnsd raises its soft descriptor
# limit (up to the hard one) to fit tcp-max-connections.
. "$top_srcdir/tests/system/lib.sh"
need dig prlimit
need_dnspython
plan 7
make_store example.test "$DATA/example.test.zone"

# start-up: soft 64, hard 4096, tcp-max-connections 1000 -> raised
DNSD_WRAPPER="prlimit --nofile=64:4096 ${DNSD_WRAPPER:-}" \
    start_dnsd --tcp-max-connections 1000 --tcp-idle-timeout 30
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$DNSD_PID/limits")
ok '[ "$soft" -ge 1000 ]' "soft fd limit raised from 64 to fit tcp-max-connections (now $soft)"
stop_dnsd

# the hard limit below what is needed: a warning, dnsd still starts
DNSD_WRAPPER="prlimit --nofile=64:64 ${DNSD_WRAPPER:-}" \
    start_dnsd --tcp-max-connections 1000 --tcp-idle-timeout 30
like "$(cat "$TMPD/dnsd.log")" 'file descriptor limit 64 .*tcp-max-connections' \
    "hard limit too low for tcp-max-connections: a warning at start-up"

# now leave room for 4 more descriptors and open 20 connections
nfd=$(ls "/proc/$DNSD_PID/fd" | wc -l)
prlimit --pid "$DNSD_PID" --nofile=$((nfd + 4)):$((nfd + 4))
tck=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$DNSD_PID/stat"; }
"$PYTHON" -c '
import os, socket, sys, time
port, ready, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conns = []
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    conns.append(s)
open(ready, "w").close()
for _ in range(200):          # at most 20 s
    if os.path.exists(go):
        break
    time.sleep(0.1)
for s in conns:
    s.close()
' "$PORT" "$TMPD/ready" "$TMPD/go" &
HOLDER=$!
i=0
while [ ! -e "$TMPD/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
c0=$(cpu)
sleep 3
c1=$(cpu)
used=$(awk -v a="$c0" -v b="$c1" -v t="$tck" 'BEGIN { printf "%.2f", (b - a) / t }')
diag "dnsd CPU time over 3 s with 20 connections and no free descriptor: $used s"
ok "awk -v u=$used 'BEGIN { exit !(u < 0.3) }'" "out of descriptors: dnsd waits, it does not spin ($used s CPU in 3 s)"
touch "$TMPD/go"
wait "$HOLDER"
sleep 1.5
out=$(q +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" \
    "descriptors free again: TCP served"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "UDP served throughout"
is "$(grep -c 'accepting paused' "$TMPD/dnsd.log")" 1 "the shortage logged once"
is "$(grep -c 'accepting again' "$TMPD/dnsd.log")" 1 "the recovery logged once"
