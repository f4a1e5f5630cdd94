#!/bin/sh
# t_acme_restart.sh -- defect 6: after a restart, dnsd loads its ACME
# account from the store; it must still fetch the CA's directory before
# using it. It did not, so the first newOrder went to a NULL URL
# ("newOrder: (null)" in the log) and cost a full backoff, and the ARI
# check marked renewalInfo "not offered" for a day. Here a second dnsd on
# the same store orders at once, with no error and no backoff, and the ARI
# answer is the CA's (offered when its directory has renewalInfo).
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 7

acme_store acme.test
P=$(free_udp_tcp_port)
start_pebble "$P"
# a long backoff: an error would hold the order far beyond the --wait below
acme_conf "$TMPD/dnsd.conf" "acme-directory $PEBBLE_DIR_URL" "acme-backoff-min 120" \
    "acme-backoff-max 240" "log-level debug"
run_dnsd() {
    start_dnsd_raw "$TMPD/port" --store "$STORE" --listen "127.0.0.1:$P" --port-file "$TMPD/port" \
        --workers 1 -c "$TMPD/dnsd.conf"
}
run_dnsd
like "$(dnsctl cert request one.acme.test --wait 60 2>&1)" 'issued' "first certificate (account registered)"
acct=$(dnsctl acme account --json | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)[0]["account"])')
stop_dnsd
cp "$TMPD/dnsd.log" "$TMPD/dnsd-1.log"

run_dnsd
out=$(dnsctl cert request two.acme.test --wait 30 2>&1)
like "$out" 'issued' "after a restart, a certificate is issued within the --wait (no backoff)"
unlike "$(cat "$TMPD/dnsd.log")" '\(null\)' "no \"(null)\" in the log"
is "$(cert_field two.acme.test failures)" 0 "no failed attempt before the certificate"
unlike "$(grep 'acme:' "$TMPD/dnsd.log")" 'retry in' "no error, no backoff"
unlike "$(grep 'acme:' "$TMPD/dnsd.log")" 'new .* account key|acme: account ' \
    "the stored account was used (no new key, no registration)"
is "$(dnsctl acme account --json | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)[0]["account"])')" \
    "$acct" "the same account URL"
