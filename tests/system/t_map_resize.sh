#!/bin/sh
# t_map_resize.sh -- dnsd and dnsctl agree on the LMDB map size, and a map
# grown by another process is adopted by a running dnsd: dnsd creates the
# store with a 1 MiB map; dnsctl then uses the store's size (a zone too big
# for it is refused, store unchanged) unless given --store-map-size, which
# grows the map while dnsd runs. dnsd keeps answering NOERROR from the
# grown store (it answered SERVFAIL to everything until restarted, without
# a log line) and logs the adoption once.
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 11

# a zone of about 3 MB stored: far beyond a 1 MiB map
BIG=$TMPD/big.test.zone
{
    printf '$TTL 300\n@ IN SOA ns1.big.test. hostmaster.big.test. 1 7200 3600 1209600 300\n'
    printf '@ IN NS ns1.big.test.\nns1 IN A 192.0.2.1\n'
    i=0
    while [ $i -lt 30000 ]; do
        printf 'host%05d IN A 192.0.2.%d\nhost%05d IN TXT "padding padding padding %05d"\n' \
            $i $((i % 250 + 1)) $i $i
        i=$((i + 1))
    done
} >"$BIG"

start_dnsd --store-map-size 1
make_store example.test "$DATA/example.test.zone"
is "$(q www.example.test A +short)" 192.0.2.80 "dnsd created the store with a 1 MiB map; a small zone fits"

dnsctl zone import big.test "$BIG" >"$TMPD/out" 2>"$TMPD/err"
rc=$?
ok '[ $rc -ne 0 ]' "dnsctl uses the store's map size: a 3 MB zone does not fit (rc $rc)"
like "$(cat "$TMPD/err")" 'store map full' "... and says so: the store map is full"
is "$(dnsctl zone list 2>/dev/null | grep -c big.test)" 0 "... and the store is unchanged"

dnsctl --store-map-size 64 zone import big.test "$BIG" >"$TMPD/out" 2>"$TMPD/err"
is "$?" 0 "dnsctl --store-map-size 64 grows the map: the zone is imported"

# the next batch of each worker adopts the map; the main thread logs it
out=$(q host29999.big.test A)
is "$(dig_status "$out")" NOERROR "dnsd answers from beyond its old map: NOERROR, no SERVFAIL"
is "$(q www.example.test A +short)" 192.0.2.80 "... and the old zone still answers"
i=0
while ! grep -q 'store map grown' "$TMPD/dnsd.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
like "$(cat "$TMPD/dnsd.log")" 'store map grown by another process: now 64 MiB \(was 1 MiB\)' \
    "dnsd logged the adoption"
sleep 1.2 # another regions poll
is "$(grep -c 'store map grown' "$TMPD/dnsd.log")" 1 "... once"

# on start, a store larger than store-map-size is said once; with no
# store-map-size the store's own size is used and nothing is said (it used
# to log "store-map-size is 0 MiB")
stop_dnsd
start_dnsd --store-map-size 16 --log-level info
like "$(cat "$TMPD/dnsd.log")" 'store map: 64 MiB, the size the store records \(store-map-size is 16 MiB\)' \
    "a store larger than store-map-size: its own size, said at start"
stop_dnsd
start_dnsd --log-level info
unlike "$(cat "$TMPD/dnsd.log")" 'store map: ' "no store-map-size: nothing said about the map"
