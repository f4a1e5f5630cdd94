#!/bin/sh
# t_xfr_nsd.sh -- a real NSD as secondary of dnsd, with TSIG both ways: the
# first load; after `dnsctl record add`, dnsd's NOTIFY makes NSD fetch the
# change by IXFR (NSD's log and dnsd's say so) and serve the new serial
# (within 1 s on a quiet machine; the poll allows more under CI load).
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_xfr.sh"
need dig nsd
plan 8
make_store example.test "$DATA/example.test.zone"
xfr_key xfr-key
start_dnsd
dnsctl zone set example.test --allow-transfer "127.0.0.1 key xfr-key" >/dev/null
start_nsd2 example.test
dnsctl zone set example.test --notify "127.0.0.1:$NSD2_PORT key xfr-key" >/dev/null

ok 'wait_serial "$NSD2_PORT" example.test 2024010101 20' "NSD loads the zone from dnsd (serial 2024010101)"
is "$(dig @127.0.0.1 -p "$NSD2_PORT" +short www.example.test A)" \
    "$(q +short www.example.test A)" "NSD serves the default view's www A"

t0=$(date +%s.%N)
dnsctl record add example.test 'nsd-new 300 IN A 192.0.2.78' >/dev/null
new=$(serial_at "$PORT" example.test)
ok '[ "$new" = 2024010102 ]' "dnsd's serial moved to 2024010102 ($new)"
ok 'wait_serial "$NSD2_PORT" example.test "$new" 15' "NSD serves the new serial"
diag "commit to NSD serving it: $(awk "BEGIN { print $(date +%s.%N) - $t0 }") s (informational)"
is "$(dig @127.0.0.1 -p "$NSD2_PORT" +short nsd-new.example.test A)" 192.0.2.78 \
    "NSD serves the added record"
dlog=$(cat "$TMPD/dnsd.log")
like "$dlog" "notify: example\\.test\\. serial $new acknowledged by 127\\.0\\.0\\.1:$NSD2_PORT" \
    "NSD acknowledged dnsd's NOTIFY (its allow-notify wants xfr-key)"
like "$dlog" "xfr: 127\\.0\\.0\\.1#[0-9]+: IXFR example\\.test\\. serial $new \\(client has 2024010101\\).*TSIG-signed" \
    "NSD fetched the change by IXFR, TSIG-signed, from the journal"
like "$(cat "$NSD2_LOG")" "xfrd: zone example\\.test committed \"received update to serial $new at [^ ]+ from 127\\.0\\.0\\.1@$PORT TSIG verified with key xfr-key" \
    "NSD's log: the update to $new came from dnsd, TSIG verified"
