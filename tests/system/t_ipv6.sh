#!/bin/sh
# t_ipv6.sh -- listening on IPv6: --listen [::1]:0 alone, then 127.0.0.1 and
# ::1 on one port; UDP and TCP answered on each. Skipped when ::1 is unusable.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
ipv6_ok || skip_all "::1 not usable on this host"
plan 13
make_store example.test "$DATA/example.test.zone"
A_WWW="www.example.test. 300 IN A 192.0.2.80"
q6() { dig @::1 -p "$PORT" +norec +time=2 +tries=1 "$@"; }

start_dnsd_raw "$TMPD/port" --store "$STORE" --listen '[::1]:0' --port-file "$TMPD/port" --workers 2
out=$(q6 www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "[::1]:0 alone: UDP over IPv6 answered"
is "$(dig_flags "$out")" "qr aa" "[::1]:0 alone: authoritative"
out=$(q6 +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "[::1]:0 alone: TCP over IPv6 answered"
out=$(q6 nope.example.test A)
is "$(dig_status "$out")" NXDOMAIN "[::1]:0 alone: NXDOMAIN over IPv6"
stop_dnsd

# two listeners on kernel-chosen ports: the port file has one line each
start_dnsd_raw "$TMPD/port" --store "$STORE" --listen 127.0.0.1:0 --listen '[::1]:0' \
    --port-file "$TMPD/port" --workers 2
P4=$(sed -n 1p "$TMPD/port")
P6=$(sed -n 2p "$TMPD/port")
out=$(dig @127.0.0.1 -p "$P4" +norec +time=2 +tries=1 www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "127.0.0.1:0 + [::1]:0: port file line 1 is the IPv4 port"
out=$(dig @::1 -p "$P6" +norec +time=2 +tries=1 www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "127.0.0.1:0 + [::1]:0: port file line 2 is the IPv6 port"
out=$(dig @::1 -p "$P6" +norec +time=2 +tries=1 +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "127.0.0.1:0 + [::1]:0: TCP on the IPv6 port"
is "$(grep -c . "$TMPD/port")" 2 "127.0.0.1:0 + [::1]:0: two lines in the port file"
stop_dnsd

P=$("$PYTHON" "$top_srcdir/tests/system/dnsq.py" freeport)
start_dnsd_raw "$TMPD/port" --store "$STORE" --listen "127.0.0.1:$P" --listen "[::1]:$P" \
    --port-file "$TMPD/port" --workers 2
is "$PORT" "$P" "two listeners on port $P: the port file names it"
out=$(q6 www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "both: UDP on ::1"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "both: UDP on 127.0.0.1"
out=$(q6 +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "both: TCP on ::1"
out=$(q +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "both: TCP on 127.0.0.1"
