#!/bin/sh
# t_xfrin.sh -- dnsd as a secondary of a real Knot primary, geo on top:
# SERVFAIL before the first transfer; the first transfer (AXFR) on the
# primary's NOTIFY; regional overlays stay local, editable and answered per
# region, and an overlay edit leaves the primary's serial alone; local edits
# of the default view refused (record add/del, zone import); an edit on the
# primary reaches dnsd by NOTIFY + IXFR (dnsd's log says IXFR) with a
# journal entry; NOTIFY from a non-primary address REFUSED, for a zone that
# is not a secondary NOTAUTH.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_xfrin.sh"
need dig kdig knotd knotc
GEO=${GEO_DIR:-$top_srcdir/tests/data/geo}
if [ ! -f "$GEO/GeoIP2-City-Test.mmdb" ]; then
    [ "${REQUIRE_ALL:-0}" = 1 ] && { echo "Bail out! $GEO missing"; exit 1; }
    skip_all "geo test data not found in $GEO"
fi
plan 30

a() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
serial() { dnsctl zone show sec.test | sed -n 's/^serial *//p'; }

# the primary's port first (dnsd is told it), dnsd's next (Knot notifies it)
PRIMARY_PORT=$(free_udp_tcp_port)
primary_zone sec.test "$TMPD/sec.zone" 100 3600 600 86400
out=$(dnsctl zone add sec.test --primary "127.0.0.1:$PRIMARY_PORT" 2>&1)
like "$out" "secondary of 127.0.0.1:$PRIMARY_PORT" "zone add --primary: a secondary zone"
make_store other.test "$DATA/other.test.zone"
dnsctl region add lab --cidr 10.1.0.0/16 >/dev/null
cp "$GEO/GeoIP2-City-Test.mmdb" "$TMPD/geo.mmdb"
start_dnsd --geo-database "$TMPD/geo.mmdb" --rrl-rate 0

# before the first transfer (the primary is not up yet)
is "$(dig_status "$(q www.sec.test A)")" SERVFAIL "SERVFAIL before the first transfer"
show=$(dnsctl zone show sec.test)
like "$show" "state +not loaded" "zone show: not loaded"
like "$show" "last error +127.0.0.1:$PRIMARY_PORT: connect: Connection refused" "zone show: why"

start_primary sec.test "$TMPD/sec.zone" "$PORT"
loaded() { [ "$(a www.sec.test A)" = 192.0.2.1 ]; }
ok 'wait_for 10 loaded' "the first transfer: www answered from the primary's data"
show=$(dnsctl zone show sec.test)
like "$show" 'serial +100' "zone show: the primary's serial"
like "$show" 'last refresh .*\(AXFR\)' "zone show: the first transfer was an AXFR"
like "$show" "primary +127.0.0.1:$PRIMARY_PORT" "zone show: the primary"
like "$(grep xfrin "$TMPD/dnsd.log")" 'sec.test.: AXFR from' "dnsd's log: AXFR"
like "$(q sec.test SOA)" 'flags: qr aa' "answers are authoritative"

# overlays stay local and editable; the serial is the primary's
out=$(dnsctl record add sec.test --region lab 'www 300 IN A 10.9.9.9' 2>&1)
like "$out" 'serial 100' "overlay edit: accepted, serial unchanged"
is "$(serial)" 100 "the SOA serial is still the primary's"
is "$(a www.sec.test A +subnet=10.1.200.0/24)" 10.9.9.9 "the lab region gets its overlay"
is "$(a www.sec.test A +subnet=192.0.2.0/24)" 192.0.2.1 "others get the transferred data"

# local edits of the default view are refused, in the writer
out=$(dnsctl record add sec.test 'local 300 IN A 192.0.2.99' 2>&1)
rc=$?
like "$rc:$out" '^1:.*zone is a secondary' "record add in the default view: refused"
out=$(dnsctl record del sec.test www A 2>&1)
like "$?:$out" '^1:.*zone is a secondary' "record del in the default view: refused"
printf '%s\n' '$ORIGIN sec.test.' '@ 300 SOA ns1 h 5 1 1 1 1' '@ 300 NS ns1' \
    'ns1 300 A 127.0.0.1' >"$TMPD/local.zone"
out=$(dnsctl zone import sec.test "$TMPD/local.zone" 2>&1)
like "$?:$out" '^1:.*zone is a secondary' "zone import over the default view: refused"
is "$(a www.sec.test A)" 192.0.2.1 "... and the zone is unchanged"

# an edit on the primary: NOTIFY, then IXFR
primary_edit sec.test 'new 300 A 192.0.2.50' || echo "Bail out! knotc zone edit failed"
reached() { [ "$(a new.sec.test A)" = 192.0.2.50 ]; }
ok 'wait_for 10 reached' "the primary's edit reached dnsd"
like "$(grep xfrin "$TMPD/dnsd.log")" 'sec.test.: NOTIFY from 127.0.0.1' "by NOTIFY"
like "$(grep xfrin "$TMPD/dnsd.log")" 'sec.test.: IXFR from 127.0.0.1:[0-9]+: serial 101, 0 records removed, 1 added' \
    "and IXFR (dnsd's log)"
is "$(serial)" 101 "serial 101, the primary's"
like "$(dnsctl zone journal sec.test)" '100 -> 101' "dnsd journalled the change (for its own secondaries)"
is "$(a new.sec.test A +subnet=10.1.200.0/24)" 192.0.2.50 "the lab region sees the new name (fallback)"
is "$(a www.sec.test A +subnet=10.1.200.0/24)" 10.9.9.9 "and still its own overlay"

# NOTIFY: only from the primary, only for a secondary zone
out=$(dig @127.0.0.1 -p "$PORT" -b 127.0.0.2 +opcode=notify +norec +time=2 +tries=1 sec.test SOA)
is "$(dig_status "$out")" REFUSED "NOTIFY from a non-primary address: REFUSED"
out=$(dig @127.0.0.1 -p "$PORT" +opcode=notify +norec +time=2 +tries=1 other.test SOA)
is "$(dig_status "$out")" NOTAUTH "NOTIFY for a zone that is not a secondary: NOTAUTH (as Knot)"

# --no-primary: the zone is this store's again, from the primary's last serial
out=$(dnsctl zone set sec.test --no-primary 2>&1)
like "$out" 'no longer a secondary' "zone set --no-primary"
out=$(dnsctl record add sec.test 'local 300 IN A 192.0.2.99' 2>&1)
like "$?:$out" '^0:.*serial 102' "a local default-view edit is accepted now, serial 101 + 1"
like "$(dnsctl zone show sec.test)" 'primary +\(none' "zone show: no primary"
