#!/bin/sh
# t_listen_any.sh -- a wildcard listen address (0.0.0.0:0, [::]:0): dnsd(8)
# says replies leave from the address the query was sent to. Loopback is
# all of 127/8 on Linux, so a query to 127.0.0.2 must be answered from
# 127.0.0.2: dig ignores a reply from any other source ("reply from
# unexpected source") and would time out.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 7
make_store example.test "$DATA/example.test.zone"
A_WWW="www.example.test. 300 IN A 192.0.2.80"
qa() { _h=$1; shift; dig @"$_h" -p "$PORT" +norec +time=2 +tries=1 "$@"; }

start_dnsd_raw "$TMPD/port" --store "$STORE" --listen 0.0.0.0:0 --port-file "$TMPD/port" --workers 2
out=$(qa 127.0.0.1 www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "0.0.0.0:0, UDP to 127.0.0.1: answered"
out=$(qa 127.0.0.2 www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "0.0.0.0:0, UDP to 127.0.0.2: answered from 127.0.0.2"
unlike "$out" 'unexpected source' "0.0.0.0:0, UDP to 127.0.0.2: no reply from another address"
out=$(qa 127.0.0.2 +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "0.0.0.0:0, TCP to 127.0.0.2: answered"
out=$(dnsq --host 127.0.0.3 cases ok)
like "$(field "$out" ok)" '^rcode=NOERROR .* id=ok ' "0.0.0.0:0, connected UDP socket to 127.0.0.3: answered from 127.0.0.3"
stop_dnsd

if ipv6_ok; then
    start_dnsd_raw "$TMPD/port" --store "$STORE" --listen '[::]:0' --port-file "$TMPD/port" --workers 2
    out=$(qa ::1 www.example.test A)
    is "$(dig_section "$out" ANSWER)" "$A_WWW" "[::]:0, UDP to ::1: answered"
    out=$(qa ::1 +tcp www.example.test A)
    is "$(dig_section "$out" ANSWER)" "$A_WWW" "[::]:0, TCP to ::1: answered"
else
    skip 2 "::1 not usable on this host"
fi
