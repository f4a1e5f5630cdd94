#!/bin/sh
# t_xfr.sh -- a zone without allow-transfer (dnsctl zone set) is not
# transferred: AXFR and IXFR are REFUSED, AXFR over UDP is NOTIMP (as Knot
# and NSD answer it; RFC 5936 4.2), never NOERROR with the zone's records.
# t_xfr_acl.sh tests what allow-transfer lets through.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 6
make_store example.test "$DATA/example.test.zone"
start_dnsd

udp=$(dnsq cases axfr ixfr)
like "$(field "$udp" axfr)" '^rcode=NOTIMP .* id=ok .* an=0 ' "AXFR over UDP: NOTIMP, no records"
like "$(field "$udp" ixfr)" '^rcode=(REFUSED|NOTIMP|FORMERR) .* id=ok .* an=0 ' "IXFR over UDP: refused, no records"
tcp=$(dnsq cases --tcp axfr ixfr)
like "$(field "$tcp" axfr)" '^rcode=(REFUSED|NOTIMP) .* id=ok .* an=0 ' "AXFR over TCP: REFUSED or NOTIMP, no records"
like "$(field "$tcp" ixfr)" '^rcode=(REFUSED|NOTIMP) .* id=ok .* an=0 ' "IXFR over TCP: REFUSED or NOTIMP, no records"
out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 example.test AXFR)
like "$out" '; Transfer failed\.' "dig AXFR: the transfer fails"
unlike "$out" 'IN[[:space:]]+SOA' "dig AXFR: no SOA (no transfer)"
