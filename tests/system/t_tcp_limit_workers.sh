#!/bin/sh
# t_tcp_limit_workers.sh -- tcp-max-connections is one cap for the whole
# server, even when it is below the number of workers: with 2 workers and a
# cap of 1, one connection is served and none of 4 more opened beside it is
# (each worker once took at least one slot, so a connection that the kernel
# gave the other worker's socket was served: a cap of 1 allowed 2).
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 8
make_store example.test "$DATA/example.test.zone"
start_dnsd --tcp-max-connections 1 --tcp-idle-timeout 30

out=$(dnsq cap --n 1 --extra 4)
is "$(field "$out" "base 0")" ok "connection 1 of 1: served"
like "$(field "$out" extra)" '^(timeout|eof|reset|refused)' "connection 2: not served"
for j in 1 2 3; do
    like "$(field "$out" "extra $j")" '^(timeout|eof|reset|refused)' "connection $((j + 2)): not served"
done
is "$(field "$out" "still 0")" ok "connection 1 still served"
is "$(field "$out" after)" ok "after it closes: a new connection is served"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "UDP unaffected by the TCP cap"
