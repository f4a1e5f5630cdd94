#!/bin/sh
# t_acme_resume.sh -- a dnsd killed (SIGKILL) in the middle of an order
# resumes the SAME order on restart instead of leaking a new one: the order,
# its key and the challenge TXT records are in the store, the TXT records
# are served while dnsd is down and up again, and Pebble ends up with one
# order only. Pebble rejects half of all nonces here (PEBBLE_WFE_NONCEREJECT
# =50): every badNonce is retried with the fresh nonce and the orders still
# succeed. The CA comes from dnsd's config (acme-directory).
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
need dig
plan 13

acme_store acme.test
P=$(free_udp_tcp_port)
start_pebble "$P" PEBBLE_WFE_NONCEREJECT=50
# the challenge delay holds the order in "published" long enough to kill dnsd there
acme_conf "$TMPD/slow.conf" "acme-directory $PEBBLE_DIR_URL" "acme-challenge-delay 30" "log-level debug"
acme_conf "$TMPD/fast.conf" "acme-directory $PEBBLE_DIR_URL" "log-level debug"
run_dnsd() {
    start_dnsd_raw "$TMPD/port" --store "$STORE" --listen "127.0.0.1:$P" --port-file "$TMPD/port" \
        --workers 1 -c "$1"
}

run_dnsd "$TMPD/slow.conf"
dnsctl cert request resume.acme.test '*.resume.acme.test' >/dev/null
ok 'wait_cert resume.acme.test order.step published 30' "order placed, challenge records published"
url1=$(cert_field resume.acme.test order.url)
like "$url1" '^https://127\.0\.0\.1:[0-9]+/my-order/' "the order's URL is in the store"
is "$(q _acme-challenge.resume.acme.test TXT +short | wc -l)" 2 \
    "apex and wildcard: two TXT values under one owner, served"

kill -9 "$DNSD_PID"
wait "$DNSD_PID" 2>/dev/null
DNSD_PID=
cp "$TMPD/dnsd.log" "$TMPD/dnsd-killed.log"
is "$(dnsctl record list acme.test _acme-challenge.resume | grep -c TXT)" 2 \
    "after SIGKILL the store still holds both challenge records"
is "$(cert_field resume.acme.test order.url)" "$url1" "and the order in flight"

run_dnsd "$TMPD/fast.conf"
is "$(q _acme-challenge.resume.acme.test TXT +short | wc -l)" 2 "restarted dnsd serves them at once"
ok 'wait_cert resume.acme.test status valid 60' "the resumed order completes"
is "$(cert_field resume.acme.test certificate.order_url)" "$url1" \
    "the certificate came from the order placed before the kill"
is "$(grep -c 'Added order' "$PEBBLE_LOG")" 1 "Pebble saw exactly one order (none leaked)"
is "$(q _acme-challenge.resume.acme.test TXT +short)" "" "challenge records removed at the end"
pebble_root "$TMPD/root.pem"
like "$(verify_chain "$TMPD/certs/resume.acme.test/fullchain.pem" "$TMPD/root.pem")" ': OK$' \
    "the certificate verifies against Pebble's root"
out=$(dnsctl cert request second.acme.test --wait 60 2>&1)
like "$out" 'issued' "a second order under 50 % nonce rejection succeeds too"
n=$(cat "$TMPD/dnsd-killed.log" "$TMPD/dnsd.log" | grep -c 'badNonce from .*retrying')
ok '[ "$n" -gt 0 ]' "badNonce answers were retried with the fresh nonce ($n times)"
