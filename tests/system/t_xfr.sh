#!/bin/sh
# t_xfr.sh -- zone transfers are not served yet: AXFR and IXFR are refused
# (REFUSED or NOTIMP; over UDP FORMERR too, AXFR being TCP-only, RFC 5936
# 4.2), never NOERROR with the zone's records.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 6
make_store example.test "$DATA/example.test.zone"
start_dnsd

udp=$(dnsq cases axfr ixfr)
like "$(field "$udp" axfr)" '^rcode=(REFUSED|NOTIMP|FORMERR) .* id=ok .* an=0 ' "AXFR over UDP: refused, no records"
like "$(field "$udp" ixfr)" '^rcode=(REFUSED|NOTIMP|FORMERR) .* id=ok .* an=0 ' "IXFR over UDP: refused, no records"
tcp=$(dnsq cases --tcp axfr ixfr)
like "$(field "$tcp" axfr)" '^rcode=(REFUSED|NOTIMP) .* id=ok .* an=0 ' "AXFR over TCP: REFUSED or NOTIMP, no records"
like "$(field "$tcp" ixfr)" '^rcode=(REFUSED|NOTIMP) .* id=ok .* an=0 ' "IXFR over TCP: REFUSED or NOTIMP, no records"
out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 example.test AXFR)
like "$out" '; Transfer failed\.' "dig AXFR: the transfer fails"
unlike "$out" 'IN[[:space:]]+SOA' "dig AXFR: no SOA (no transfer)"
