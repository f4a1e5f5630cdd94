#!/bin/sh
# t_acme_wait.sh -- defect 15: `dnsctl cert request --wait` (and `shard
# add --wait`) exited 1 on the first transient CA error although dnsd kept
# the order and completed it. Here the CA goes away in the middle of the
# order (Pebble stopped, then restarted: it forgot the order and the
# account): --wait prints the transient errors as progress and exits 0
# once the certificate is issued.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 8

acme_store acme.test
dnsctl region add eu --cidr 10.1.0.0/16 >/dev/null
acme_conf "$TMPD/dnsd.conf" "acme-challenge-delay 2" "acme-backoff-min 1" "acme-backoff-max 2"
start_dnsd -c "$TMPD/dnsd.conf"
start_pebble "$PORT"

# outage ID: stop Pebble once ID's order is published, start it again after an error
outage() {
    wait_cert "$1" order.step published 30 || diag "$1: no order published"
    stop_pebble
    wait_cert "$1" failures 1 20 || diag "$1: no failure seen"
    restart_pebble
}

dnsctl cert request wait.acme.test --ca "$PEBBLE_DIR_URL" --wait 90 >"$TMPD/out" 2>&1 &
W=$!
outage wait.acme.test
wait "$W"
rc=$?
is "$rc" 0 "cert request --wait exits 0 once issued, through the outage"
like "$(cat "$TMPD/out")" 'cert wait.acme.test: issued, serial' "it reports the issuance"
like "$(cat "$TMPD/out")" 'transient; dnsd retries at .*still waiting' "transient errors are shown as progress"
is "$(cert_field wait.acme.test status)" valid "the certificate is valid"

dnsctl shard add acme.test --region eu --names www.acme.test --lb 127.0.0.1:1 \
    --ca "$PEBBLE_DIR_URL" --wait 90 >"$TMPD/out2" 2>&1 &
W=$!
outage acme.test@eu
wait "$W"
rc=$?
is "$rc" 0 "shard add --wait exits 0 once issued, through the outage"
like "$(cat "$TMPD/out2")" 'issued' "it reports the issuance"
like "$(cat "$TMPD/out2")" 'still waiting' "with progress lines"

# a final failure still ends the wait: the CA cannot validate (DNS-01 at a dead port)
stop_pebble
start_pebble 1
acme_conf "$TMPD/dnsd.conf" "acme-backoff-min 60" "acme-backoff-max 120"
kill -HUP "$DNSD_PID"
i=0
while ! grep -q 'certificate settings changed' "$TMPD/dnsd.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
dnsctl cert request bad.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 >/dev/null 2>&1
is "$?" 1 "an order the CA declared invalid still ends --wait with exit 1"
