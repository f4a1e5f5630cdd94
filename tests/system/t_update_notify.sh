#!/bin/sh
# t_update_notify.sh -- an RFC 2136 UPDATE reaches a real Knot secondary:
# the commit makes dnsd's update thread kick the NOTIFY sender, Knot
# fetches the change by IXFR and serves the new serial and record. An
# update bound to a region bumps the serial too, but what Knot receives is
# the default view: the regional record stays with dnsd.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_xfr.sh"
need nsupdate dig knotd kdig
plan 9
make_store example.test "$top_srcdir/tests/data/example.test.zone"
xfr_key xfr-key
SECRET=$(dnsctl tsig add upd.key | sed -n 2p)
dnsctl region add lab --cidr 10.1.0.0/16 >/dev/null
dnsctl tsig add lab.key --secret "$SECRET" >/dev/null
dnsctl zone policy example.test add key upd.key subdomain @ >/dev/null
dnsctl zone policy example.test add key lab.key subdomain @ types A region lab >/dev/null
start_dnsd --rrl-rate 0 --log-level info
dnsctl zone set example.test --allow-transfer "127.0.0.1 key xfr-key" >/dev/null
start_knot2 example.test
dnsctl zone set example.test --notify "127.0.0.1:$KNOT2_PORT key xfr-key" >/dev/null
ok 'wait_serial "$KNOT2_PORT" example.test 2024010101 20' "Knot loads the zone from dnsd"

nsup() {
    { printf 'server 127.0.0.1 %s\nzone example.test.\n' "$PORT"; cat; printf 'send\n'; } |
        nsupdate -t 4 -u 2 -r 0 "$@" 2>&1
}
out=$(printf 'update add upd-new.example.test. 300 A 192.0.2.55\n' | nsup -y "hmac-sha256:upd.key:$SECRET")
is "$out" "" "nsupdate: the update is accepted"
new=$(serial_at "$PORT" example.test)
is "$new" 2024010102 "dnsd's serial moved once"
ok 'wait_serial "$KNOT2_PORT" example.test "$new" 15' "Knot serves the new serial"
is "$(dig @127.0.0.1 -p "$KNOT2_PORT" +short upd-new.example.test A)" 192.0.2.55 \
    "Knot serves the updated record"
like "$(sed -n '/notify, incoming/,$p' "$KNOT2_LOG")" \
    "IXFR, incoming, remote 127\\.0\\.0\\.1@$PORT, finished" \
    "Knot got dnsd's NOTIFY and fetched the change by IXFR"

# a region-bound update: new serial for everybody, the record for dnsd's lab region only
out=$(printf 'update add upd-new.example.test. 300 A 192.0.2.66\n' | nsup -y "hmac-sha256:lab.key:$SECRET")
new=$(serial_at "$PORT" example.test)
ok 'wait_serial "$KNOT2_PORT" example.test "$new" 15' "a region-bound update: Knot follows the serial ($new)"
is "$(dig @127.0.0.1 -p "$KNOT2_PORT" +short upd-new.example.test A)" 192.0.2.55 \
    "Knot keeps serving the default view's record"
is "$(q +short upd-new.example.test A +subnet=10.1.2.0/24 | sort | tr '\n' ' ')" "192.0.2.66 " \
    "dnsd answers the lab region with the lab record"
