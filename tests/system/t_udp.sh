#!/bin/sh
# t_udp.sh -- UDP under a burst (the batched recvmmsg/sendmmsg path): 8
# client sockets each fire 25 queries at once, some with EDNS, some without,
# for different names; every answer reaches the socket that asked, with its
# ID, its question and its own data (no answers swapped inside a batch).
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 3
make_store example.test "$DATA/example.test.zone"
start_dnsd

out=$(dnsq burst --socks 8 --per 25)
is "$out" "sent 200 got 200 bad 0" "200 queries from 8 sockets at once: every answer to its asker, correct"
out=$(dnsq burst --socks 1 --per 60)
is "$out" "sent 60 got 60 bad 0" "60 queries from one socket at once: all answered, correct"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "dig afterwards: answered"
