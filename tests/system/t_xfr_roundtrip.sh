#!/bin/sh
# t_xfr_roundtrip.sh -- what dnsd transfers is what `dnsctl zone export`
# prints for the default view, as received by dnspython's own transfer
# client (xfr_check.py; independent of dnsd and of ldns): AXFR of the
# fixture zone (delegations with glue and occluded data, wildcards, SRV,
# many MX) with a regional overlay and a region-only name left out; then
# after adds, a delete, an RRset TTL change and an overlay-only change,
# IXFR from the old serial is incremental, and applied by dnspython to the
# old copy it gives the exported zone; from the current serial the answer
# is the SOA alone; and with the journal trimmed away it is AXFR-style and
# still gives the exported zone.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
"$PYTHON" -c 'import dns.xfr, dns.zone' 2>/dev/null || skip_all "dnspython without dns.xfr"
plan 14
make_store example.test "$DATA/example.test.zone"
dnsctl region add eu --continent EU >/dev/null
dnsctl record add example.test 'www 300 IN A 198.51.100.80' --region eu >/dev/null
dnsctl record add example.test 'eu-only 300 IN A 198.51.100.81' --region eu >/dev/null
dnsctl zone set example.test --allow-transfer 127.0.0.1 >/dev/null
start_dnsd
chk() { "$PYTHON" "$top_srcdir/tests/system/xfr_check.py" "$@" 2>&1; }

dnsctl zone export example.test >"$TMPD/export1"
out=$(chk axfr "$PORT" example.test "$TMPD/export1" "$TMPD/base.zone")
is "$(field "$out" same)" yes "AXFR: the zone received is the exported default view"
like "$(field "$out" records)" '^[0-9]{2,}$' "AXFR: $(field "$out" records) records"
unlike "$(cat "$TMPD/base.zone")" '198\.51\.100\.8[01]|eu-only' \
    "AXFR: no overlay record, no region-only name"
like "$(cat "$TMPD/base.zone")" 'ns\.sub\.example\.test\..*192\.0\.2\.53' \
    "AXFR: glue below the delegation"

dnsctl record add example.test 'new1 300 IN A 192.0.2.201' >/dev/null
dnsctl record add example.test 'new1 300 IN TXT "added"' >/dev/null
dnsctl record del example.test chain-c A >/dev/null
dnsctl record add example.test 'www 900 IN A 192.0.2.81' >/dev/null
dnsctl record add example.test 'only-eu 300 IN A 198.51.100.82' --region eu >/dev/null
dnsctl zone export example.test >"$TMPD/export2"
out=$(chk ixfr "$PORT" example.test "$TMPD/base.zone" "$TMPD/export2")
is "$(field "$out" kind)" incremental "IXFR from the old serial: incremental"
# five commits since (four that change the default view, one overlay-only):
# five differences of two SOAs each, between the current SOA twice
is "$(field "$out" soas)" 12 "IXFR: current SOA, old and new SOA of 5 differences, current SOA"
is "$(field "$out" same)" yes "IXFR applied by dnspython to the old copy gives the exported zone"

cp "$TMPD/base.zone" "$TMPD/base1.zone"
out=$(chk axfr "$PORT" example.test "$TMPD/export2" "$TMPD/base2.zone")
is "$(field "$out" same)" yes "AXFR after the changes: the exported default view"
out=$(chk ixfr "$PORT" example.test "$TMPD/base2.zone" "$TMPD/export2")
is "$(field "$out" kind)" up-to-date "IXFR from the current serial: the SOA alone"
is "$(field "$out" same)" yes "... and the copy stays the exported zone"

dnsctl record add example.test 'only-eu2 300 IN A 198.51.100.83' --region eu >/dev/null
dnsctl zone export example.test >"$TMPD/export2b"
out=$(chk ixfr "$PORT" example.test "$TMPD/base2.zone" "$TMPD/export2b")
is "$(field "$out" kind)" incremental "an overlay-only change: IXFR still incremental"
is "$(field "$out" same)" yes \
    "... an empty difference: the copy equals the export (new serial, same records)"

dnsctl zone set example.test --journal-max-changes 1 >/dev/null
dnsctl zone export example.test >"$TMPD/export3"
out=$(chk ixfr "$PORT" example.test "$TMPD/base1.zone" "$TMPD/export3")
is "$(field "$out" kind)" axfr-style "journal trimmed: IXFR answered AXFR-style"
is "$(field "$out" same)" yes "... and it gives the exported zone"
