#!/bin/sh
# t_sigterm.sh -- SIGTERM stops dnsd cleanly: exit status 0, promptly, even
# with a TCP client connected (bound generous: 5 s).
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 4
make_store example.test "$DATA/example.test.zone"
start_dnsd

out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "running: answers"
# hold a TCP connection open (it ends by itself after 4 s)
dnsq idle --wait 4 >/dev/null 2>&1 &
holder=$!
sleep 0.3
kill -TERM "$DNSD_PID"
i=0
while kill -0 "$DNSD_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
ok '! kill -0 "$DNSD_PID" 2>/dev/null' "SIGTERM with a TCP client connected: gone within 5 s"
wait "$DNSD_PID"
rc=$?
is "$rc" 0 "SIGTERM: exit status 0"
DNSD_PID=
wait "$holder"
out=$(q +time=1 www.example.test A)
unlike "$out" 'status: NOERROR' "after the exit: nothing answers on the old port"
