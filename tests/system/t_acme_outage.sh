#!/bin/sh
# t_acme_outage.sh -- the CA goes away in the middle of an order: dnsd keeps
# the order, retries with a growing, jittered backoff (never a tight loop)
# and records the error; when the CA is back (Pebble restarted: it forgot
# the account and the order, and has a new root) dnsd registers again,
# orders again and completes. Stale challenge records are removed.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
need dig
plan 11

acme_store acme.test
# the challenge delay is the test's window to stop Pebble after the record is
# published and before dnsd answers the challenge: 6 s, so a loaded machine
# (or a sanitizer build) does not let dnsd answer first
acme_conf "$TMPD/dnsd.conf" "acme-challenge-delay 6" "acme-backoff-min 1" "acme-backoff-max 2"
start_dnsd -c "$TMPD/dnsd.conf"
start_pebble "$PORT"
dnsctl cert request outage.acme.test --ca "$PEBBLE_DIR_URL" >/dev/null
ok 'wait_cert outage.acme.test order.step published 30' "order placed, challenge record published"
url1=$(cert_field outage.acme.test order.url)
acct1=$(dnsctl acme account --json | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)[0]["account"])')

stop_pebble
ok 'wait_cert outage.acme.test failures 1 30' "answering the challenge fails while the CA is down"
like "$(cert_field outage.acme.test last_error)" '127\.0\.0\.1' "the error names the unreachable CA"
is "$(cert_field outage.acme.test order.url)" "$url1" "the order is kept across transient errors"
sleep 5
n=$(cert_field outage.acme.test failures)
ok '[ "$n" -ge 2 ] && [ "$n" -le 8 ]' "retried with backoff during ~6 s down: $n attempts (not a tight loop)"

restart_pebble
ok 'wait_cert outage.acme.test status valid 60' "completes once the CA is back"
url2=$(cert_field outage.acme.test certificate.order_url)
ok '[ -n "$url2" ] && [ "$url2" != "$url1" ]' "a new order replaced the one the CA forgot"
acct2=$(dnsctl acme account --json | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)[0]["account"])')
ok '[ -n "$acct2" ] && [ "$acct2" != "$acct1" ]' "the account was registered again ($acct2)"
pebble_root "$TMPD/root.pem"
like "$(verify_chain "$TMPD/certs/outage.acme.test/fullchain.pem" "$TMPD/root.pem")" ': OK$' \
    "the certificate verifies against the restarted Pebble's new root"
is "$(q _acme-challenge.outage.acme.test TXT +short)" "" "no challenge record left behind"
is "$(cert_field outage.acme.test last_error)" "" "the error is cleared on success"
