#!/bin/sh
# t_metrics_acme.sh -- the ACME and certificate series of the metrics
# endpoint against a real CA (Pebble, DNS-01 validated through dnsd): after
# one issuance, dnsd_acme_orders_total and the issued outcome moved by one,
# the issuance histogram counted it, and the certificate's gauges say what
# the certificate file says (notAfter, the seconds left, the issue time,
# status valid, no failure, deployed); after an order the CA cannot
# validate, the failed outcome, the CA's problem type and the failure
# gauges moved. Parsed with python3-prometheus-client, linted by promtool.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
need dig promtool
/usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null || {
    [ "${REQUIRE_ALL:-0}" = 1 ] && { echo "Bail out! python3-prometheus-client is required"; exit 1; }
    skip_all "python3-prometheus-client not installed"
}
plan 19

PARSE="/usr/bin/python3 $top_srcdir/tests/system/promparse.py"
scrape() {
    curl -s --max-time 5 -o "$TMPD/s$1.txt" "$M/metrics" &&
        $PARSE "$TMPD/s$1.txt" >"$TMPD/s$1"
}
val() { awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print $NF; f = 1 } END { if (!f) print "absent" }' "$TMPD/s$1"; }

acme_store acme.test
acme_conf "$TMPD/dnsd.conf" "metrics-listen 127.0.0.1:0"
start_dnsd -c "$TMPD/dnsd.conf"
M=http://127.0.0.1:$(sed -n 's/^metrics //p' "$TMPD/port")
start_pebble "$PORT"
k=0
while ! scrape 0 && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done
is "$(val 0 'dnsd_acme_orders_total{}')" 0 "before: no ACME order"

t0=$(date +%s)
out=$(dnsctl cert request acme.test www.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)
like "$out" 'cert acme.test: issued' "a certificate issued by Pebble"
t1=$(date +%s)
wait_cert acme.test deploy.pending "" 20 || true
k=0
while scrape 1 && [ "$(val 1 'dnsd_cert_deploy_ok{cert="acme.test"}')" != 1 ] && [ $k -lt 100 ]; do
    sleep 0.1
    k=$((k + 1))
done
promtool check metrics <"$TMPD/s1.txt" >"$TMPD/lint" 2>&1
is "$?" 0 "promtool check metrics: no problem with certificate series"
sed 's/^/# /' "$TMPD/lint" | head
is "$(val 1 'dnsd_acme_orders_total{}')" 1 "dnsd_acme_orders_total: 1"
is "$(val 1 'dnsd_acme_orders_completed_total{outcome="issued"}')" 1 "orders completed, issued: 1"
is "$(val 1 'dnsd_acme_orders_completed_total{outcome="failed"}')" 0 "orders completed, failed: 0"
is "$(val 1 'dnsd_acme_issuance_duration_seconds_count{}')" 1 "issuance histogram: one observation"
is "$(val 1 'dnsd_acme_issuance_duration_seconds_bucket{le="+Inf"}')" 1 "... in the +Inf bucket too"
ok '[ "$(val 1 "dnsd_acme_issuance_duration_seconds_sum{}")" -le $((t1 - t0 + 1)) ]' \
    "... taking no longer than the request did ($((t1 - t0)) s)"
na=$(date -d "$(openssl x509 -in "$TMPD/certs/acme.test/cert.pem" -noout -enddate | sed 's/^notAfter=//')" +%s)
is "$(val 1 'dnsd_cert_expiry_timestamp_seconds{cert="acme.test"}')" "$na" \
    "dnsd_cert_expiry_timestamp_seconds is the certificate's notAfter"
left=$(val 1 'dnsd_cert_expiry_seconds{cert="acme.test"}')
now=$(date +%s)
ok '[ "$left" -le $((na - t1 + 1)) ] && [ "$left" -ge $((na - now - 1)) ]' \
    "dnsd_cert_expiry_seconds is notAfter minus the scrape time ($left)"
ren=$(val 1 'dnsd_cert_last_renewal_timestamp_seconds{cert="acme.test"}')
ok '[ "$ren" -ge "$t0" ] && [ "$ren" -le "$t1" ]' "last renewal: during the request"
is "$(val 1 'dnsd_cert_status{cert="acme.test",status="valid"}')" 1 "status valid"
is "$(val 1 'dnsd_cert_failures{cert="acme.test"}')" 0 "no failure"
is "$(val 1 'dnsd_cert_deploy_ok{cert="acme.test",node=""}')" 1 "deployed (cert-dir written)"

# a CA that cannot reach dnsd: the order fails with the CA's problem document
stop_pebble
start_pebble 1
acme_conf "$TMPD/dnsd.conf" "metrics-listen 127.0.0.1:0" "acme-backoff-min 60" "acme-backoff-max 120"
kill -HUP "$DNSD_PID"
i=0
while ! grep -q 'certificate settings changed' "$TMPD/dnsd.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
out=$(dnsctl cert request unreachable.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)
type=$(printf '%s\n' "$out" | sed -n 's/.*order invalid: unreachable.acme.test: .*urn:ietf:params:acme:error:\([A-Za-z]*\).*/\1/p' | head -n 1)
scrape 2
is "$(val 2 'dnsd_acme_orders_completed_total{outcome="failed"}')" 1 "orders completed, failed: 1"
ok '[ -n "$type" ] && [ "$(val 2 "dnsd_acme_ca_problems_total{type=\"$type\"}")" -ge 1 ]' \
    "the CA's problem type ($type) is counted"
is "$(val 2 'dnsd_cert_failures{cert="unreachable.acme.test"}')" 1 "the failed certificate: 1 failure"
is "$(val 2 'dnsd_cert_status{cert="unreachable.acme.test",status="failed"}')" 1 "... status failed"
