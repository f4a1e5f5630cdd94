#!/bin/sh
# t_acme_sched.sh -- the scheduler's cap on orders in flight
# (acme-max-orders): five certificates requested at once with a cap of 2
# and a 2 s challenge delay (so orders overlap) never have more than two
# orders in flight, and all five are issued.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 3

acme_store acme.test
acme_conf "$TMPD/dnsd.conf" "acme-max-orders 2" "acme-challenge-delay 2"
start_dnsd -c "$TMPD/dnsd.conf"
start_pebble "$PORT"
for i in 1 2 3 4 5; do
    dnsctl cert request "c$i.acme.test" --ca "$PEBBLE_DIR_URL" >/dev/null
done
max=0 valid=0 i=0
while [ "$valid" -lt 5 ] && [ $i -lt 300 ]; do
    set -- $(dnsctl cert list --json | "$PY3" -c '
import json, sys
a = json.load(sys.stdin)
print(sum(1 for c in a if "order" in c), sum(1 for c in a if c["status"] == "valid"))')
    [ "$1" -gt "$max" ] && max=$1
    valid=$2
    i=$((i + 1))
    sleep 0.1
done
is "$valid" 5 "all five certificates issued"
ok '[ "$max" -le 2 ]' "never more than 2 orders in flight (at most $max seen)"
ok '[ "$max" -eq 2 ]' "and the cap was reached (orders did run side by side)"
