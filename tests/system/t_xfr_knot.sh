#!/bin/sh
# t_xfr_knot.sh -- a real Knot DNS as secondary of dnsd, with TSIG both ways:
# the first load by AXFR; after `dnsctl record add`, dnsd's NOTIFY makes
# Knot fetch the change by IXFR (its log says so) and serve the new serial
# (within 1 s on a quiet machine; the poll allows more under CI load, the
# log shows it was the NOTIFY that triggered the IXFR, not Knot's refresh
# timer, which is an hour in this zone). A request with a wrong key, an
# unsigned one and one from an address not in allow-transfer are refused;
# dig -y with the right key transfers the zone.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_xfr.sh"
need dig knotd kdig
plan 17
make_store example.test "$DATA/example.test.zone"
xfr_key xfr-key
start_dnsd
dnsctl zone set example.test --allow-transfer "127.0.0.1 key xfr-key" >/dev/null
start_knot2 example.test
dnsctl zone set example.test --notify "127.0.0.1:$KNOT2_PORT key xfr-key" >/dev/null

ok 'wait_serial "$KNOT2_PORT" example.test 2024010101 20' "Knot loads the zone from dnsd (serial 2024010101)"
like "$(cat "$KNOT2_LOG")" 'AXFR, incoming.*finished' "Knot's first load is an AXFR"
is "$(dig @127.0.0.1 -p "$KNOT2_PORT" +short www.example.test A)" \
    "$(q +short www.example.test A)" "Knot serves the default view's www A"

t0=$(date +%s.%N)
dnsctl record add example.test 'knot-new 300 IN A 192.0.2.77' >/dev/null
new=$(serial_at "$PORT" example.test)
ok '[ "$new" = 2024010102 ]' "dnsd's serial moved to 2024010102 ($new)"
# the 1 s is what a quiet machine gives; the bound is generous for CI, and
# the log lines below show the path: NOTIFY, then Knot's IXFR
ok 'wait_serial "$KNOT2_PORT" example.test "$new" 15' "Knot serves the new serial"
diag "commit to Knot serving it: $(awk "BEGIN { print $(date +%s.%N) - $t0 }") s (informational)"
log=$(cat "$KNOT2_LOG")
# Knot 3.2 logs no key name on these lines; its ACL and remote require xfr-key
like "$log" 'notify, incoming, remote 127\.0\.0\.1@[0-9]+, serial' \
    "Knot received dnsd's NOTIFY (its acl accepts it only signed with xfr-key)"
like "$(printf '%s\n' "$log" | sed -n '/notify, incoming/,$p')" \
    "IXFR, incoming, remote 127\\.0\\.0\\.1@$PORT, finished" \
    "after the NOTIFY, Knot fetched the change by IXFR (its refresh timer is 2 h away)"
like "$(cat "$TMPD/dnsd.log")" \
    "xfr: 127\\.0\\.0\\.1#[0-9]+: IXFR example\\.test\\. serial $new \\(client has 2024010101\\).*TSIG-signed" \
    "dnsd served that IXFR, TSIG-signed, from the journal"
unlike "$(printf '%s\n' "$log" | grep -c 'AXFR, incoming.*finished' | grep -v '^1$')" '.' \
    "only the first load was an AXFR"
is "$(dig @127.0.0.1 -p "$KNOT2_PORT" +short knot-new.example.test A)" 192.0.2.77 \
    "Knot serves the added record"
like "$(cat "$TMPD/dnsd.log")" "notify: example.test. serial $new acknowledged by 127.0.0.1:$KNOT2_PORT" \
    "dnsd logged Knot's acknowledgement"

# the transfer ACL and TSIG
wrong=$(printf 'not-the-secret-%s' xxxxxxxxxxxxxxxx | base64)
out=$(dig @127.0.0.1 -p "$PORT" +time=3 +tries=1 -y "hmac-sha256:xfr-key:$wrong" example.test AXFR 2>&1)
unlike "$out" 'IN[[:space:]]+SOA' "a wrong secret gets no zone"
like "$(cat "$TMPD/dnsd.log")" 'TSIG BADSIG \(key xfr-key\.\)' "... dnsd answered BADSIG"
out=$(dig @127.0.0.1 -p "$PORT" +time=3 +tries=1 example.test AXFR 2>&1)
unlike "$out" 'IN[[:space:]]+SOA' "an unsigned request is refused (the ACL wants the key)"
out=$(dig @127.0.0.1 -p "$PORT" +time=3 +tries=1 -y "hmac-sha256:xfr-key:$KEY_SECRET" example.test AXFR 2>&1)
like "$out" 'knot-new\.example\.test\..*192\.0\.2\.77' "dig -y hmac-sha256:xfr-key:SECRET AXFR transfers the zone"

# the debounce: five commits while dnsd's main loop cannot look (SIGSTOP)
# give one NOTIFY, with the newest serial, and Knot catches up to it
kill -STOP "$DNSD_PID"
for i in 1 2 3 4 5; do
    dnsctl record add example.test "burst$i 300 IN A 192.0.2.$((100 + i))" >/dev/null
done
kill -CONT "$DNSD_PID"
last=$(serial_at "$PORT" example.test)
ok 'wait_serial "$KNOT2_PORT" example.test "$last" 15' "after a burst of 5 commits Knot serves the last serial ($last)"
sent=$(grep -c "notify: example\\.test\\. serial [0-9]* sent to 127\\.0\\.0\\.1:$KNOT2_PORT" "$TMPD/dnsd.log")
is "$(grep -c "notify: example\\.test\\. serial $last sent to .*(try 1)" "$TMPD/dnsd.log"):$(grep -Ec "notify: example\\.test\\. serial ($((last - 4))|$((last - 3))|$((last - 2))|$((last - 1))) sent" "$TMPD/dnsd.log")" \
    1:0 "one NOTIFY for the burst, with the newest serial, none for the ones between ($sent sent in all)"
