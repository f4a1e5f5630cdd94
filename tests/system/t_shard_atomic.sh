#!/bin/sh
# t_shard_atomic.sh -- a renewal of a regional shard rewrites the region's
# records in ONE transaction: while shards of two regions are renewed again
# and again, query loops of each region's clients (ECS) over UDP and TCP
# never see a state that was not committed: the A pool is always the
# region's load balancers, and the generation TXT and the TLSA set in the
# same response always agree (the current and the next key both present).
# The checker itself is shown to catch a half-applied state at the end.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
need_dnspython
plan 16

acme_store shard.test
dnsctl region add eu --cidr 10.1.0.0/16 >/dev/null
dnsctl region add na --cidr 10.2.0.0/16 >/dev/null
acme_conf "$TMPD/dnsd.conf" "shard-probe-interval 3600" "rrl-rate 0" # query loops from one address
start_dnsd -c "$TMPD/dnsd.conf"
start_pebble "$PORT"
like "$(dnsctl shard add shard.test --region eu --names shard.test,www.shard.test --lb 127.0.0.1 \
    --alpn h2,http/1.1 --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)" 'issued' "eu shard issued"
is "$(q www.shard.test HTTPS +subnet=10.1.0.0/24 +short)" '1 . alpn="h2,http/1.1"' \
    "eu: HTTPS record (RFC 9460) from --alpn"
like "$(dnsctl shard add shard.test --region na --names shard.test,www.shard.test --lb 127.0.0.2,127.0.0.3 \
    --ca "$PEBBLE_DIR_URL" --key rsa2048 --wait 60 2>&1)" 'issued' "na shard issued"

loop() { # REGION SUBNET POOL
    "$PYTHON" "$top_srcdir/tests/system/shardloop.py" --port "$PORT" --seconds 60 --pool "$3" \
        --ready "$TMPD/ready.$1" www.shard.test "$2" "$TMPD/stop" >"$TMPD/loop.$1" 2>&1
}
loop eu 10.1.0.0/24 127.0.0.1 &
p1=$!
loop na 10.2.0.0/24 127.0.0.2,127.0.0.3 &
p2=$!
i=0
while [ ! -f "$TMPD/ready.eu" ] || [ ! -f "$TMPD/ready.na" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1
done
fails=0
for r in 1 2 3 4; do
    dnsctl shard renew eu --wait 30 >/dev/null 2>&1 || fails=$((fails + 1))
    dnsctl shard renew na --wait 30 >/dev/null 2>&1 || fails=$((fails + 1))
done
touch "$TMPD/stop"
wait $p1 $p2
is "$fails" 0 "8 forced renewals, all issued"
for reg in eu na; do
    out=$(cat "$TMPD/loop.$reg")
    diag "$reg: $(head -n 2 "$TMPD/loop.$reg" | tr '\n' ' ')"
    like "$out" 'violations 0$' "$reg: no query saw an uncommitted state"
    n=$(printf '%s\n' "$out" | sed -n 's/^generations //p' | wc -w)
    ok '[ "$n" -ge 3 ]' "$reg: the loop ran across the renewals ($n generations seen)"
    like "$(printf '%s\n' "$out" | sed -n 's/^rounds \([0-9]*\).*/\1/p')" '^[0-9]{2,}$' "$reg: many rounds"
done
is "$(dnsctl shard show shard.test --region eu --json | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["generation"])')" 5 \
    "eu: generation 5 after 1 + 4 issuances"
is "$(q www.shard.test A +subnet=10.2.0.0/24 +short | sort | tr '\n' ' ')" "127.0.0.2 127.0.0.3 " \
    "na clients get na's pool"

# the checker catches a half-applied state: drop the "next" TLSA by hand
nxt=$(q _443._tcp.www.shard.test TXT +subnet=10.1.0.0/24 +short | sed 's/.*next=\([0-9a-f]*\).*/\1/')
dnsctl record del shard.test _443._tcp.www TLSA 3 1 1 "$nxt" --region eu >/dev/null
rm -f "$TMPD/stop"
"$PYTHON" "$top_srcdir/tests/system/shardloop.py" --port "$PORT" --max 3 --pool 127.0.0.1 \
    www.shard.test 10.1.0.0/24 "$TMPD/stop" >"$TMPD/loop.bad" 2>&1
like "$(cat "$TMPD/loop.bad")" 'violations [1-9].*' "a TLSA set without the next key is caught"

# shard del: every record the shard owned in its region goes, in one edit
like "$(dnsctl shard del shard.test --region eu)" 'deleted with its region records' "shard del eu"
is "$(dnsctl record list shard.test --region eu | sed 1d)" "" "region eu holds no record of the shard any more"
is "$(q www.shard.test A +subnet=10.2.0.0/24 +short | sort | tr '\n' ' ')" "127.0.0.2 127.0.0.3 " \
    "na's shard is untouched"
