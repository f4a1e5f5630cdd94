#!/bin/sh
# t_acme_ns_port.sh -- defect 17 (visibility check): dnsd listens on a port
# other than 53 (as every test does). An NS host whose address is one of
# dnsd's own listen addresses is dnsd: its TXT records are checked on the
# port dnsd listens on, not on port 53 (nothing there: it used to log
# "NS ... not checked" for every order). An NS that really cannot be asked
# is warned about once per order, not once per challenge owner and visit.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 5

acme_store acme.test
acme_conf "$TMPD/dnsd.conf" "acme-challenge-delay 1"
start_dnsd -c "$TMPD/dnsd.conf"
start_pebble "$PORT"
# ns1.acme.test is 127.0.0.1: dnsd itself (on $PORT)
like "$(dnsctl cert request acme.test www.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)" \
    'issued' "issued with ns1 (dnsd itself) checked"
is "$(grep -c 'not checked' "$TMPD/dnsd.log")" 0 \
    "the NS at dnsd's own address is not asked on port 53 (no warning)"
like "$(grep 'TXT visible' "$TMPD/dnsd.log")" 'visible on 1 authoritative server\(s\) of 1' \
    "checked once, on dnsd's port"

# a second NS at an address where nothing serves DNS: warned about once
dnsctl record add acme.test 'acme.test. NS ns2.acme.test.' >/dev/null || diag 'NS not added'
dnsctl record add acme.test 'ns2.acme.test. A 127.0.0.2' >/dev/null || diag 'A not added'
like "$(dnsctl cert request two.acme.test www.two.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)" \
    'issued' "issued although ns2 cannot be asked"
is "$(grep -c 'two.acme.test: NS 127.0.0.2.* not checked' "$TMPD/dnsd.log")" 1 \
    "one warning for the order (two owners), not one per owner"
