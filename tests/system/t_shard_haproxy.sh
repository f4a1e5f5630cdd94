#!/bin/sh
# t_shard_haproxy.sh -- regional certificate shards end to end, with Pebble
# as the CA and two real HAProxy "regional" load balancers (eu on
# 127.0.0.1, na on 127.0.0.2) fed from dnsd's per-region crt-lists through
# tools/haproxy-deploy: `dnsctl shard add` for the two regions is the only
# command; then each region's clients get their own pool, each load
# balancer presents its own region's certificate (serial and SANs, chain to
# Pebble's root), dnsd's probes report both healthy, and a forced renewal
# swaps both certificates in the running HAProxy processes (no restart)
# while query loops of both regions see no inconsistent answer.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_haproxy.sh"
need_acme
need_haproxy
need_dnspython
plan 24

acme_store shard.test
dnsctl region add eu --cidr 10.1.0.0/16 >/dev/null
dnsctl region add na --cidr 10.2.0.0/16 >/dev/null
CD=$TMPD/certs
# the operator's bootstrap: each region's crt-list starts with a placeholder
# default certificate, so HAProxy can start before the first shard exists
shard_ca "$TMPD/boot" >/dev/null
for r in eu na; do
    mkdir -p "$CD/regions/$r"
    shard_bundle "$TMPD/boot" "$CD/regions/$r/placeholder.pem" placeholder.test >/dev/null
    write_atomic "$CD/regions/$r/crt-list.txt" "$CD/regions/$r/placeholder.pem"
done
start_haproxy eu 127.0.0.1 "$CD/regions/eu/crt-list.txt"
start_haproxy na 127.0.0.2 "$CD/regions/na/crt-list.txt"
acme_conf "$TMPD/dnsd.conf" "shard-probe-interval 1" "rrl-rate 0" # query loops from one address
start_dnsd -c "$TMPD/dnsd.conf"
start_pebble "$PORT"
pebble_root "$TMPD/root.pem"
cat "$TMPD/root.pem.int" "$TMPD/root.pem" >"$TMPD/pebble-chain.pem"
HOOK=$top_srcdir/tools/haproxy-deploy

out=$(dnsctl shard add shard.test --region eu --names shard.test,www.shard.test \
    --lb "127.0.0.1:$HAPROXY_EU_PORT" --hook "$HOOK --socket $HAPROXY_EU_SOCK" \
    --ca "$PEBBLE_DIR_URL" 2>&1)
like "$out" 'shard shard.test@eu: added' "shard add eu"
out=$(dnsctl shard add shard.test --region na --names shard.test,www.shard.test,na.shard.test \
    --lb "127.0.0.2:$HAPROXY_NA_PORT" --hook "$HOOK --socket $HAPROXY_NA_SOCK" --key rsa2048 \
    --ca "$PEBBLE_DIR_URL" 2>&1)
like "$out" 'shard shard.test@na: added' "shard add na"

# no other command from here: dnsd issues, publishes, deploys and probes
serial() { cert_field "shard.test@$1" certificate.serial; }
presented() { tls_probe "$1" "$2" www.shard.test | cut -d' ' -f1; }
wait_presented() { # ADDR PORT SERIAL
    _i=0
    while [ "$(presented "$1" "$2")" != "$3" ] && [ $_i -lt 150 ]; do sleep 0.2; _i=$((_i + 1)); done
    [ $_i -lt 150 ]
}
ok 'wait_cert shard.test@eu status valid 60 && wait_cert shard.test@na status valid 60' \
    "both shards issued"
eu1=$(serial eu) na1=$(serial na)
ok 'wait_presented 127.0.0.1 "$HAPROXY_EU_PORT" "$eu1"' "eu's HAProxy presents the eu shard ($eu1)"
ok 'wait_presented 127.0.0.2 "$HAPROXY_NA_PORT" "$na1"' "na's HAProxy presents the na shard ($na1)"
is "$(tls_probe 127.0.0.1 "$HAPROXY_EU_PORT" www.shard.test "$TMPD/pebble-chain.pem" | cut -d' ' -f2-)" \
    "shard.test www.shard.test" "eu: SANs, chain verified to Pebble's root"
is "$(tls_probe 127.0.0.2 "$HAPROXY_NA_PORT" na.shard.test "$TMPD/pebble-chain.pem" | cut -d' ' -f2-)" \
    "na.shard.test shard.test www.shard.test" "na: SANs (with na.shard.test), chain verified"
is "$(q www.shard.test A +subnet=10.1.0.0/24 +short)" 127.0.0.1 "eu clients get eu's load balancer"
is "$(q www.shard.test A +subnet=10.2.0.0/24 +short)" 127.0.0.2 "na clients get na's load balancer"
is "$(q www.shard.test A +short)" 192.0.2.80 "other clients get the default answer"
ok 'i=0; while ! dnsctl shard status | grep -q "^eu .*valid *healthy" && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done; [ $i -lt 50 ]' \
    "dnsd's TLS probe finds eu healthy"
ok 'i=0; while ! dnsctl shard status | grep -q "^na .*valid *healthy" && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done; [ $i -lt 50 ]' \
    "and na healthy"
tlsa=$(q _443._tcp.www.shard.test TLSA +subnet=10.1.0.0/24 +short | tr -d ' ' | tr 'A-F' 'a-f' | sort | tr '\n' ' ')
spki=$(openssl x509 -in "$CD/shard.test@eu/cert.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
    openssl dgst -sha256 -hex | sed 's/.*= //')
like "$tlsa" "311$spki" "eu TLSA 3 1 1 matches the presented certificate's key"

# a forced renewal of both regions under query loops
loop() {
    "$PYTHON" "$top_srcdir/tests/system/shardloop.py" --port "$PORT" --seconds 60 --pool "$3" \
        --ready "$TMPD/ready.$1" www.shard.test "$2" "$TMPD/stop" >"$TMPD/loop.$1" 2>&1
}
loop eu 10.1.0.0/24 127.0.0.1 &
p1=$!
loop na 10.2.0.0/24 127.0.0.2 &
p2=$!
i=0
while { [ ! -f "$TMPD/ready.eu" ] || [ ! -f "$TMPD/ready.na" ]; } && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
like "$(dnsctl shard renew eu --wait 60 2>&1)" 'issued' "shard renew eu"
like "$(dnsctl shard renew na --wait 60 2>&1)" 'issued' "shard renew na"
eu2=$(serial eu) na2=$(serial na)
ok 'wait_presented 127.0.0.1 "$HAPROXY_EU_PORT" "$eu2"' "eu's HAProxy now presents the renewed certificate ($eu2)"
ok 'wait_presented 127.0.0.2 "$HAPROXY_NA_PORT" "$na2"' "na's HAProxy too ($na2)"
touch "$TMPD/stop"
wait $p1 $p2
ok '[ "$eu2" != "$eu1" ] && [ "$na2" != "$na1" ]' "new serials in both regions"
ok 'haproxy_pid_unchanged eu && haproxy_pid_unchanged na' "no HAProxy was restarted or reloaded"
like "$(cat "$TMPD/loop.eu")" 'violations 0' "eu queries during the renewal: no inconsistent answer"
like "$(cat "$TMPD/loop.na")" 'violations 0' "na queries during the renewal: none either"
diag "eu: $(head -n 2 "$TMPD/loop.eu" | tr '\n' ' ')"
diag "na: $(head -n 2 "$TMPD/loop.na" | tr '\n' ' ')"
like "$(cat "$CD/regions/eu/crt-list.txt")" "^$CD/regions/eu/shard.test.pem shard.test www.shard.test\$" \
    "eu's crt-list names the bundle and its SNI names"
is "$(head -n 1 "$CD/regions/eu/crt-list.txt")" "$CD/regions/eu/placeholder.pem" \
    "the operator's placeholder stays the first line (HAProxy's default certificate)"
is "$(stat -c %a "$CD/regions/eu/shard.test.pem")" 600 "bundles (with the key) are 0600"
