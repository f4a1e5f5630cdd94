#!/bin/sh
# t_acme_eab_chain.sh -- a CA that requires External Account Binding
# (RFC 8555 7.3.4) and offers alternate chains (7.4.2): without EAB
# settings the request fails with a message saying what to configure; with
# acme-eab-kid / acme-eab-hmac-key the account is bound and the certificate
# issued; acme-preferred-chain picks the alternate chain whose top issuer is
# the named root, so the chain verifies against that root and not the
# default one.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 8

acme_store acme.test
P=$(free_udp_tcp_port)
KEY=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W
PEBBLE_EAB="kid-1:$KEY" start_pebble "$P" PEBBLE_ALTERNATE_ROOTS=1
pebble_root "$TMPD/root0.pem" 0
pebble_root "$TMPD/root1.pem" 1
cn1=$(openssl x509 -in "$TMPD/root1.pem" -noout -subject -nameopt RFC2253 | sed 's/.*CN=//; s/,.*//')
run_dnsd() {
    start_dnsd_raw "$TMPD/port" --store "$STORE" --listen "127.0.0.1:$P" --port-file "$TMPD/port" \
        --workers 1 -c "$1"
}

acme_conf "$TMPD/noeab.conf" "acme-directory $PEBBLE_DIR_URL"
run_dnsd "$TMPD/noeab.conf"
out=$(dnsctl cert request eab.acme.test --wait 30 2>&1)
like "$out" 'requires External Account Binding: set acme-eab-kid and acme-eab-hmac-key' \
    "without EAB settings: refused with what to set"
is "$(dnsctl acme account --json | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)[0]["account"])')" "" \
    "no account was registered"
stop_dnsd

acme_conf "$TMPD/eab.conf" "acme-directory $PEBBLE_DIR_URL" "acme-eab-kid kid-1" \
    "acme-eab-hmac-key $KEY" "acme-preferred-chain $cn1"
run_dnsd "$TMPD/eab.conf"
ok 'wait_cert eab.acme.test status valid 30' "with EAB: issued (the failed request retried by itself)"
like "$(dnsctl acme account)" 'my-account/' "the bound account is recorded"
F=$TMPD/certs/eab.acme.test/fullchain.pem
is "$(cert_field eab.acme.test certificate.top_issuer)" "$cn1" "the preferred alternate chain was chosen"
like "$(verify_chain "$F" "$TMPD/root1.pem")" ': OK$' "chain verifies against the preferred root"
unlike "$(verify_chain "$F" "$TMPD/root0.pem")" ': OK$' "and not against the default root"
like "$(grep 'alternate chain' "$TMPD/dnsd.log")" "top issuer \"$cn1\" chosen" "the choice is logged"
