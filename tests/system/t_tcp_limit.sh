#!/bin/sh
# t_tcp_limit.sh -- --tcp-max-connections caps concurrent TCP clients
# (RFC 7766 6.2.2): with a cap of 4 and one worker, 4 open connections are
# served, a 5th is not (its query gets no answer within 1 s: left in the
# backlog, closed or reset -- any of those), the 4 keep working, and once
# one closes a new connection is served. Connections closed in every odd
# way must give their slot back: after 60 of them, 4 are served again.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 17
make_store example.test "$DATA/example.test.zone"
start_dnsd_raw "$TMPD/port" --store "$STORE" --listen 127.0.0.1:0 --port-file "$TMPD/port" \
    --workers 1 --tcp-max-connections 4 --tcp-idle-timeout 30

out=$(dnsq cap --n 4)
for i in 0 1 2 3; do
    is "$(field "$out" "base $i")" ok "connection $((i + 1)) of 4: served"
done
diag "connection 5 got: $(field "$out" extra)"
like "$(field "$out" extra)" '^(timeout|eof|reset|refused)' "connection 5 beyond the cap: not served"
for i in 0 1 2 3; do
    is "$(field "$out" "still $i")" ok "connection $((i + 1)) still served while 5 waits"
done
is "$(field "$out" after)" ok "after one closes: a new connection is served"

out=$(dnsq churn --n 60)
is "$out" "answered 15 of 15" "60 connections opened and closed in turn (4 ways): each query answered"
sleep 0.5
out=$(dnsq cap --n 4)
for i in 0 1 2 3; do
    is "$(field "$out" "base $i")" ok "after the churn, connection $((i + 1)) of 4: served (no slot leaked)"
done
like "$(field "$out" extra)" '^(timeout|eof|reset|refused)' "after the churn, connection 5: still capped"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "UDP unaffected by the TCP cap"
