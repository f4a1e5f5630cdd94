#!/bin/sh
# t_sigterm.sh -- SIGTERM (and SIGINT, dnsd(8)) stop dnsd cleanly: exit
# status 0, promptly, even with a TCP client connected (bound generous: 5 s).
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 7
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
