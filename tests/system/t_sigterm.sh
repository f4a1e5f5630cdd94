#!/bin/sh
# t_sigterm.sh -- SIGTERM (and SIGINT, dnsd(8)) stop dnsd cleanly: exit
# status 0, promptly, even with a TCP client connected (bound generous: 5 s).
# TCP queries in flight are answered first (dnsd(8): a query whose first
# bytes are in may finish arriving, backed-up answers are written) while
# idle connections are closed at once; then the counters are logged and
# the store closed, and the store is intact for the next start.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 17
make_store example.test "$DATA/example.test.zone"
start_dnsd

out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "running: answers"
# hold a TCP connection open (it ends by itself after 4 s)
dnsq idle --wait 4 >/dev/null 2>&1 &
holder=$!
sleep 0.3
signal_dnsd TERM 5
is "$DNSD_GONE" yes "SIGTERM with a TCP client connected: gone within 5 s"
is "$DNSD_RC" 0 "SIGTERM: exit status 0"
wait "$holder"
out=$(q +time=1 www.example.test A)
unlike "$out" 'status: NOERROR' "after the exit: nothing answers on the old port"

# SIGINT does the same. (A shell without job control starts background
# commands with SIGINT ignored; a daemon that installs its own handler, as
# dnsd(8) documents, is not affected.)
start_dnsd
out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "restarted: answers"
signal_dnsd INT 5
is "$DNSD_GONE" yes "SIGINT: gone within 5 s"
is "$DNSD_RC" 0 "SIGINT: exit status 0"

# in flight at SIGTERM: half a query (the rest comes after the signal), 100
# big answers backed up behind a client that is not reading yet, and an
# idle connection (tcp-idle-timeout 10: closed by the shutdown, not by that)
start_dnsd
rm -f "$TMPD/r1" "$TMPD/r2" "$TMPD/go"
dnsq inflight --half --ready "$TMPD/r1" --go "$TMPD/go" >"$TMPD/if1" 2>&1 &
p1=$!
dnsq inflight --pipeline 100 --ready "$TMPD/r2" --go "$TMPD/go" >"$TMPD/if2" 2>&1 &
p2=$!
dnsq idle --wait 8 >"$TMPD/if3" 2>&1 &
p3=$!
i=0
while { [ ! -e "$TMPD/r1" ] || [ ! -e "$TMPD/r2" ]; } && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.3
kill -TERM "$DNSD_PID"
sleep 0.3
touch "$TMPD/go"
i=0
while kill -0 "$DNSD_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
gone=yes
if kill -0 "$DNSD_PID" 2>/dev/null; then gone=no; kill -9 "$DNSD_PID"; fi
wait "$DNSD_PID"
rc=$?
DNSD_PID=
wait "$p1" "$p2" "$p3"
is "$gone/$rc" "yes/0" "SIGTERM with TCP queries in flight: exit status 0 within 5 s"
out=$(cat "$TMPD/if1")
is "$(field "$out" answered)" "1 of 1" "half a query at SIGTERM, the rest after it: answered"
is "$(field "$out" then)" closed "... then the connection closed by the server"
out=$(cat "$TMPD/if2")
is "$(field "$out" answered)" "100 of 100" "100 pipelined answers backed up at SIGTERM: all delivered"
is "$(field "$out" then)" closed "... then the connection closed by the server"
out=$(cat "$TMPD/if3")
t=$(printf '%s\n' "$out" | sed -n 's/^closed \([0-9]*\).*/\1/p')
ok '[ -n "$t" ] && [ "$t" -lt 5 ]' "an idle connection: closed by the shutdown, not left to its 10 s timeout ($out)"
log=$(cat "$TMPD/dnsd.log")
like "$log" 'stopped: 101 queries \(101 TCP\)' "the counters logged at exit: the 101 TCP queries"
like "$(printf '%s\n' "$log" | tail -n 1)" 'store closed; exiting' "the store closed, last thing before exit"
out=$(dnsctl zone list)
like "$out" '^example\.test\. ' "the store is intact afterwards (dnsctl zone list)"
start_dnsd
out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "and serves again after a restart"
