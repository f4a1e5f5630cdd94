#!/bin/sh
# t_geo.sh -- region-specific answers from a running dnsd: ECS and source
# address, the ECS scope, live region edits, the MaxMind DB replaced under a
# running query loop with no failed query, corrupt DBs rejected.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
GEO=${GEO_DIR:-$top_srcdir/tests/data/geo}
if [ ! -f "$GEO/GeoIP2-City-Test.mmdb" ]; then
    [ "${REQUIRE_ALL:-0}" = 1 ] && { echo "Bail out! $GEO missing"; exit 1; }
    skip_all "geo test data not found in $GEO"
fi
plan 32

make_store example.test "$DATA/example.test.zone"
dnsctl region add eu --continent EU >/dev/null
dnsctl region add na --continent NA >/dev/null
dnsctl region add us-wa --subdivision US-WA --fallback na >/dev/null
dnsctl region add lab --cidr 10.1.0.0/16 >/dev/null
dnsctl record add example.test --region eu 'geo 300 IN A 192.0.2.101' >/dev/null
dnsctl record add example.test --region na 'geo 300 IN A 192.0.2.102' >/dev/null
dnsctl record add example.test --region lab 'geo 300 IN A 192.0.2.104' >/dev/null
dnsctl record add example.test 'geo 300 IN A 192.0.2.100' >/dev/null
cp "$GEO/GeoIP2-City-Test.mmdb" "$TMPD/geo.mmdb"
start_dnsd --geo-database "$TMPD/geo.mmdb" --geo-check-interval-ms 100 --rrl-rate 0

a() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
scope() { q "$@" | sed -n 's/^; CLIENT-SUBNET: [^/]*\/[0-9]*\/\([0-9]*\).*/\1/p'; }

is "$(a geo.example.test A +subnet=81.2.69.142/32)" 192.0.2.101 "ECS GB -> eu"
is "$(a geo.example.test A +subnet=216.160.83.56/32)" 192.0.2.102 "ECS US-WA -> us-wa -> na (fallback)"
is "$(a geo.example.test A +subnet=2001:218::/32)" 192.0.2.100 "ECS JP (no region) -> default"
is "$(a geo.example.test A +subnet=10.1.200.0/24)" 192.0.2.104 "ECS in an explicit CIDR region -> lab"
is "$(a geo.example.test A +subnet=81.2.69.142/32 +tcp)" 192.0.2.101 "ECS over TCP: same answer"
is "$(a geo.example.test A)" 192.0.2.100 "no ECS: the source 127.0.0.1 (not in the DB) -> default"
is "$(a geo.example.test A +subnet=0.0.0.0/0)" 192.0.2.100 "ECS /0 (no client information) -> default"

# scope: the block that decided, from the DB (81.2.69.142 is in 81.2.69.142/31
# of GeoIP2-City-Test.json), and 0 for names whose answer is not geographic
is "$(scope geo.example.test A +subnet=81.2.69.142/32)" 31 "scope: the deciding /31"
is "$(scope geo.example.test A +subnet=10.1.200.0/24)" 16 "scope: the CIDR region's /16"
is "$(scope www.example.test A +subnet=81.2.69.142/32)" 0 "scope 0 for a name without regional data"
is "$(scope nope.example.test A +subnet=81.2.69.142/32)" 0 "scope 0 for NXDOMAIN"

# live region edits: a new region is in force within a few checks
dnsctl region add as --continent AS >/dev/null
dnsctl record add example.test --region as 'geo 300 IN A 192.0.2.103' >/dev/null
i=0
while [ "$(a geo.example.test A +subnet=2001:218::/32)" != 192.0.2.103 ] && [ $i -lt 50 ]; do
    sleep 0.1; i=$((i + 1))
done
is "$(a geo.example.test A +subnet=2001:218::/32)" 192.0.2.103 "a region added live is used (JP -> as)"
dnsctl record add example.test --region eu 'geo 300 IN A 192.0.2.111' >/dev/null
is "$(a geo.example.test A +subnet=81.2.69.142/32)" "192.0.2.101 192.0.2.111" \
    "a regional record added live: next query"

# ECS switched off for the zone: the source address decides, ECS not echoed
dnsctl zone set example.test --ecs off >/dev/null
out=$(q geo.example.test A +subnet=81.2.69.142/32)
unlike "$out" "CLIENT-SUBNET" "ECS off: no ECS option in the reply"
is "$(a geo.example.test A +subnet=81.2.69.142/32)" 192.0.2.100 "ECS off: the source 127.0.0.1 decides (default)"
dnsctl zone set example.test --ecs on >/dev/null
like "$(q geo.example.test A +subnet=81.2.69.142/32)" "CLIENT-SUBNET: 81.2.69.142/32/31" "ECS on again: echoed with scope"
is "$(a geo.example.test A +subnet=81.2.69.142/32)" "192.0.2.101 192.0.2.111" "ECS on again: the subnet decides"

# hot swap under a running query loop: 175.16.199.0/24 is in Asia in
# GeoIP2-City-Test (region as, added above) but absent from
# GeoLite2-Country-Test (default after the swap)
rm -f "$TMPD/stop"
"$PYTHON" "$top_srcdir/tests/system/ecsloop.py" --port "$PORT" --seconds 30 --ready "$TMPD/ready" \
    geo.example.test 175.16.199.1/32 "$TMPD/stop" >"$TMPD/loop.out" 2>&1 &
loop=$!
i=0
while [ ! -f "$TMPD/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.3
cp "$GEO/GeoLite2-Country-Test.mmdb" "$TMPD/new.mmdb"
mv "$TMPD/new.mmdb" "$TMPD/geo.mmdb"
i=0
while [ "$(a geo.example.test A +subnet=175.16.199.1/32)" != 192.0.2.100 ] && [ $i -lt 150 ]; do
    sleep 0.1; i=$((i + 1))
done
sleep 0.5
touch "$TMPD/stop"
wait $loop
loopout=$(cat "$TMPD/loop.out")
is "$(a geo.example.test A +subnet=175.16.199.1/32)" 192.0.2.100 "hot swap: the new DB is in force"
like "$loopout" "^queries [0-9]+ failed 0$" "hot swap: no query failed during the swap"
like "$loopout" "seen [0-9]+ 192.0.2.103" "hot swap: the loop saw the old answer"
like "$loopout" "seen [0-9]+ 192.0.2.100" "hot swap: and then the new one"
like "$(cat "$TMPD/dnsd.log")" "geo \(database file changed\)" "hot swap: logged"

# a corrupt file is rejected with a log line; the loaded data stays in service
n=0
for bad in GeoIP2-City-Test-Broken-Double-Format.mmdb MaxMind-DB-test-broken-pointers-24.mmdb; do
    n=$((n + 1))
    cp "$GEO/$bad" "$TMPD/new.mmdb"
    mv "$TMPD/new.mmdb" "$TMPD/geo.mmdb"
    i=0
    while [ "$(grep -c 'rejected, still serving' "$TMPD/dnsd.log")" -lt $n ] && [ $i -lt 50 ]; do
        sleep 0.1; i=$((i + 1))
    done
done
like "$(cat "$TMPD/dnsd.log")" "rejected, still serving the previous data" "corrupt DB: rejected with a log line"
is "$(grep -c 'rejected, still serving' "$TMPD/dnsd.log")" 2 "corrupt DB: both broken files rejected"
is "$(a geo.example.test A +subnet=81.2.69.142/32)" "192.0.2.101 192.0.2.111" "corrupt DB: the old data still answers"
ok 'kill -0 $DNSD_PID' "corrupt DB: dnsd still running"

# start-up with a corrupt DB: fails at once with a message
stop_dnsd
out=$("$DNSD" --store "$STORE" --listen 127.0.0.1:0 --geo-database "$GEO/MaxMind-DB-test-broken-pointers-24.mmdb" 2>&1)
rc=$?
is "$rc" 1 "start-up with a corrupt DB: exit 1"
like "$out" "broken-pointers-24.mmdb" "start-up with a corrupt DB: the message names the file"
out=$("$DNSD" --store "$STORE" --listen 127.0.0.1:0 --geo-database "$TMPD/missing.mmdb" 2>&1)
like "$out" "missing.mmdb" "start-up with a missing DB: the message names the file"

# geo-paths: the record fields named by the operator (here MaxMind's, spelled out)
start_dnsd --geo-database "$GEO/GeoIP2-City-Test.mmdb" \
    --geo-paths "continent=continent/code,country=country/iso_code,subdivision=subdivisions/0/iso_code"
is "$(a geo.example.test A +subnet=81.2.69.142/32)" "192.0.2.101 192.0.2.111" "geo-paths spelled out: GB -> eu"
stop_dnsd
out=$("$DNSD" --store "$STORE" --listen 127.0.0.1:0 --geo-paths "bogus=x" 2>&1)
is "$?" 2 "geo-paths with an unknown field: usage error"
like "$out" 'unknown field "bogus"' "geo-paths with an unknown field: says which"
