#!/bin/sh
# t_xfrin_cut.sh -- a transfer that fails midway changes nothing: dnsd, a
# secondary of a real Knot primary, is switched to xfrcut.py, a relay that
# passes SOA queries but cuts every AXFR/IXFR answer in the middle of its
# first message and closes the connection (a primary dying mid-transfer).
# An IXFR cut that way leaves the zone as it was (serial, removed and added
# names); an AXFR cut leaves a new zone unloaded (SERVFAIL); pointed back at
# Knot, dnsd catches up.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_xfrin.sh"
need dig kdig knotd knotc
plan 12

a() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
serial() { dnsctl zone show "$1" | sed -n 's/^serial *//p'; }

PRIMARY_PORT=$(free_udp_tcp_port)
primary_zone cut.test "$TMPD/cut.zone" 300 3600 1 86400
i=0
while [ $i -lt 40 ]; do echo "h$i 300 IN A 192.0.2.$((i + 10))" >>"$TMPD/cut.zone"; i=$((i + 1)); done
dnsctl zone add cut.test --primary "127.0.0.1:$PRIMARY_PORT" >/dev/null
start_dnsd --rrl-rate 0
start_primary cut.test "$TMPD/cut.zone" "$PORT"
loaded() { [ "$(a h39.cut.test A)" = 192.0.2.49 ]; }
ok 'wait_for 10 loaded' "loaded from Knot (AXFR)"

"${PY3:-python3}" "$top_srcdir/tests/system/xfrcut.py" "$PRIMARY_PORT" "$TMPD/cutport" \
    "$TMPD/cut.log" 120 &
CUT_PID=$!
stop_cut() { stop_pid "$CUT_PID"; }
at_exit stop_cut
wait_for 10 test -s "$TMPD/cutport" || echo "Bail out! xfrcut.py did not start"
CUTPORT=$(cat "$TMPD/cutport")
dnsctl zone set cut.test --primary "127.0.0.1:$CUTPORT" >/dev/null

# an edit on the primary (one name removed, one added): the IXFR gets cut
primary_edit cut.test 'h0 A 192.0.2.10' --del || echo "Bail out! knotc edit failed"
primary_edit cut.test 'added 300 A 192.0.2.99' || echo "Bail out! knotc edit failed"
cut() { grep -q 'CUT IXFR' "$TMPD/cut.log" 2>/dev/null &&
    dnsctl zone show cut.test | grep -q '^last error .*IXFR'; }
ok 'wait_for 15 cut' "the IXFR was cut midway (relay log, zone show's last error)"
like "$(dnsctl zone show cut.test)" 'last error .*IXFR: .*after 0 messages' \
    "zone show: the IXFR failed inside its first message"
is "$(serial cut.test)" 300 "the zone keeps its serial"
is "$(a h0.cut.test A)" 192.0.2.10 "the name the primary removed is still there"
is "$(a added.cut.test A)" "" "the name the primary added is not"
is "$(dig_status "$(q h5.cut.test A)")" NOERROR "the zone is served as before"

# the zone again, new (no serial of its own): its first AXFR gets cut
dnsctl zone delete cut.test >/dev/null
dnsctl zone add cut.test --primary "127.0.0.1:$CUTPORT" >/dev/null
axcut() { dnsctl zone show cut.test | grep -q '^last error .*AXFR'; }
ok 'wait_for 15 axcut' "a first AXFR cut midway ..."
is "$(dig_status "$(q h5.cut.test A)")" SERVFAIL "... leaves the new zone unloaded (SERVFAIL)"
like "$(dnsctl zone show cut.test)" 'state +not loaded' "zone show: not loaded"

# pointed back at Knot: caught up
dnsctl zone set cut.test --primary "127.0.0.1:$PRIMARY_PORT" >/dev/null
back() { [ "$(a added.cut.test A)" = 192.0.2.99 ]; }
ok 'wait_for 15 back' "pointed back at the primary: loaded, with its edits"
is "$(serial cut.test)" 302 "serial 302"
