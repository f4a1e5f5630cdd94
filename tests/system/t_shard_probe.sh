#!/bin/sh
# t_shard_probe.sh -- a shard's TLS probes of its load balancers run at the
# same time, each bounded (connect and handshake together), so the ACME
# thread waits about one probe timeout per shard, not one per load
# balancer. Three load balancers that accept and never answer the
# handshake: all three connections are open at once (a sequential prober
# never has more than one), and each probe ends with "timed out".
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 4

acme_store acme.test
dnsctl region add eu --cidr 10.1.0.0/16 >/dev/null
"$PY3" "$top_srcdir/tests/system/blackhole.py" 3 "$TMPD/bh.ports" "$TMPD/bh.max" 120 &
BH=$!
stop_bh() { stop_pid "$BH"; }
at_exit stop_bh
i=0
while [ ! -s "$TMPD/bh.ports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
lbs=$(sed 's/^/127.0.0.1:/' "$TMPD/bh.ports" | paste -sd, -)
acme_conf "$TMPD/dnsd.conf" "shard-probe-interval 60"
start_dnsd -c "$TMPD/dnsd.conf"
start_pebble "$PORT"
like "$(dnsctl shard add acme.test --region eu --names www.acme.test --lb "$lbs" \
    --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)" 'issued' "shard with three hanging load balancers issued"
health() {
    dnsctl shard show acme.test --region eu --json | "$PY3" -c '
import json, sys
print(" ".join(l["error"] for l in json.load(sys.stdin).get("health", {}).get("lbs", [])))'
}
ok 'i=0; while [ "$(health | grep -o "timed out" | wc -l)" -lt 3 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; [ $i -lt 300 ]' \
    "all three probes done, each timed out"
diag "probe results: $(health)"
is "$(cat "$TMPD/bh.max")" 3 "the three load balancers were probed at the same time"
like "$(grep 'load balancer' "$TMPD/dnsd.log" | head -n 3)" 'TLS handshake: timed out' \
    "the log names the hanging handshake"
