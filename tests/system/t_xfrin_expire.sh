#!/bin/sh
# t_xfrin_expire.sh -- a secondary zone whose primary goes away keeps being
# served (refreshes fail, RETRY after RETRY) until the SOA's EXPIRE has
# passed since the last successful refresh; then it answers SERVFAIL (as
# Knot and BIND do); when the primary comes back, the next retry loads it
# again. The test zone's SOA has REFRESH 1, RETRY 1, EXPIRE 6 seconds; every
# wait is bounded.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_xfrin.sh"
need dig kdig knotd knotc
plan 12

a() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
status() { dig_status "$(q www.exp.test A)"; }

PRIMARY_PORT=$(free_udp_tcp_port)
primary_zone exp.test "$TMPD/exp.zone" 7 1 1 6
dnsctl zone add exp.test --primary "127.0.0.1:$PRIMARY_PORT" >/dev/null
start_dnsd --rrl-rate 0
start_primary exp.test "$TMPD/exp.zone" "$PORT"
loaded() { [ "$(a www.exp.test A)" = 192.0.2.1 ]; }
ok 'wait_for 10 loaded' "loaded from the primary"
like "$(dnsctl zone show exp.test)" 'expires +[0-9T:-]+Z' "zone show: an expire deadline"

stop_primary
# a refresh has failed (the primary is gone) ...
failed() { dnsctl zone show exp.test | grep -q '^last error .*Connection refused'; }
ok 'wait_for 10 failed' "a refresh failed after the primary went away"
# ... and the zone is still served
is "$(status)" NOERROR "still served after a failed refresh (before expire)"
like "$(dnsctl zone show exp.test)" 'state +serving' "zone show: serving"

expired() { [ "$(status)" = SERVFAIL ]; }
ok 'wait_for 30 expired' "SERVFAIL once EXPIRE has passed"
like "$(dnsctl zone show exp.test)" 'state +expired' "zone show: expired"
like "$(grep xfrin "$TMPD/dnsd.log")" 'exp.test.: expired' "dnsd's log says so"

# the primary comes back with a newer serial and no journal: it answers the
# IXFR from 7 with the whole zone (AXFR-style, RFC 1995 4)
primary_zone exp.test "$TMPD/exp.zone" 8 1 1 6
echo 'back 300 IN A 192.0.2.88' >>"$TMPD/exp.zone"
rm -rf "$PRIMARY_DIR/db"
start_primary exp.test "$TMPD/exp.zone" "$PORT"
back() { [ "$(a back.exp.test A)" = 192.0.2.88 ]; }
ok 'wait_for 20 back' "the primary is back: served again, with its new data"
like "$(dnsctl zone show exp.test)" 'state +serving' "zone show: serving again"
is "$(dnsctl zone show exp.test | sed -n 's/^serial *//p')" 8 "with the primary's serial"
like "$(grep xfrin "$TMPD/dnsd.log")" "exp.test.: AXFR \(the primary's AXFR-style answer to IXFR\) from .*serial 8" \
    "dnsd asked for IXFR and took the AXFR-style answer"
