#!/bin/sh
# t_xfr_bind.sh -- a real BIND 9 (named) as secondary of dnsd, with TSIG
# both ways: the first load is an AXFR; after `dnsctl record add`, dnsd's
# signed NOTIFY makes named fetch the change by IXFR (named's log and
# dnsd's say so) and serve the new serial; a delete travels the same way;
# named's copy equals the default view dnsd exports.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_xfr.sh"
need dig named
plan 11
make_store example.test "$DATA/example.test.zone"
xfr_key xfr-key
start_dnsd
dnsctl zone set example.test --allow-transfer "127.0.0.1 key xfr-key" >/dev/null
start_bind2 example.test
dnsctl zone set example.test --notify "127.0.0.1:$BIND2_PORT key xfr-key" >/dev/null

ok 'wait_serial "$BIND2_PORT" example.test 2024010101 20' "named loads the zone from dnsd (serial 2024010101)"
like "$(cat "$TMPD/dnsd.log")" "xfr: 127\\.0\\.0\\.1#[0-9]+: AXFR example\\.test\\..*TSIG-signed" \
    "named's first load is an AXFR, TSIG-signed"
is "$(dig @127.0.0.1 -p "$BIND2_PORT" +short www.example.test A)" \
    "$(q +short www.example.test A)" "named serves the default view's www A"

t0=$(date +%s.%N)
dnsctl record add example.test 'bind-new 300 IN A 192.0.2.79' >/dev/null
new=$(serial_at "$PORT" example.test)
ok '[ "$new" = 2024010102 ]' "dnsd's serial moved to 2024010102 ($new)"
ok 'wait_serial "$BIND2_PORT" example.test "$new" 15' "named serves the new serial"
diag "commit to named serving it: $(awk "BEGIN { print $(date +%s.%N) - $t0 }") s (informational)"
is "$(dig @127.0.0.1 -p "$BIND2_PORT" +short bind-new.example.test A)" 192.0.2.79 \
    "named serves the added record"
dlog=$(cat "$TMPD/dnsd.log")
like "$dlog" "notify: example\\.test\\. serial $new acknowledged by 127\\.0\\.0\\.1:$BIND2_PORT" \
    "named acknowledged dnsd's signed NOTIFY (its allow-notify wants xfr-key)"
like "$dlog" "xfr: 127\\.0\\.0\\.1#[0-9]+: IXFR example\\.test\\. serial $new \\(client has 2024010101\\).*TSIG-signed" \
    "named fetched the change by IXFR, TSIG-signed, from the journal"
like "$(cat "$BIND2_LOG")" "transfer of 'example\\.test/IN' from 127\\.0\\.0\\.1#$PORT: Transfer status: success" \
    "named's log: the transfer from dnsd succeeded"

dnsctl record del example.test bind-new A >/dev/null
new2=$(serial_at "$PORT" example.test)
wait_serial "$BIND2_PORT" example.test "$new2" 15
is "$(dig @127.0.0.1 -p "$BIND2_PORT" +short bind-new.example.test A)" "" \
    "a delete reaches named too (serial $new2)"

# named's whole copy, by AXFR from it, against the default view dnsd exports
# (same names, types and data; TTLs and order as the servers print them)
norm() { grep -v '^;' | awk 'NF { $2 = ""; print tolower($0) }' | tr -s ' \t' ' ' | sort; }
dig @127.0.0.1 -p "$BIND2_PORT" +nocmd +nostats +nocomments example.test AXFR |
    awk '!seen[$0]++' | norm >"$TMPD/bind.txt"
dnsctl zone export example.test | norm >"$TMPD/export.txt"
n=$(wc -l <"$TMPD/bind.txt")
ok '[ "$n" -gt 10 ] && diff "$TMPD/export.txt" "$TMPD/bind.txt" >&2' \
    "named's copy ($n records) is dnsd's exported default view"
