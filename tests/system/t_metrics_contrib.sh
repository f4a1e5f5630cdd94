#!/bin/sh
# t_metrics_contrib.sh -- the Prometheus alert rules and the Grafana
# dashboard in contrib/ (README.md "Metrics"): `promtool check rules` accepts
# the rules, `promtool test rules` runs their unit tests (each alert fires on
# dnsd-shaped series, quiet on healthy ones), the dashboard is valid JSON
# whose panels all have queries, and every metric name the dashboard and the
# rules use is exported by a real, running dnsd (scraped here), so neither
# can drift from the code. The name check is shown to catch a wrong name.
. "$top_srcdir/tests/system/lib.sh"
need curl promtool
/usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null || {
    [ "${REQUIRE_ALL:-0}" = 1 ] && { echo "Bail out! python3-prometheus-client is required"; exit 1; }
    skip_all "python3-prometheus-client not installed"
}
plan 9

RULES=$top_srcdir/contrib/prometheus/dnsd-alerts.yml
RTEST=$top_srcdir/contrib/prometheus/dnsd-alerts.test.yml
DASH=$top_srcdir/contrib/grafana/dnsd-dashboard.json
NAMES="/usr/bin/python3 $top_srcdir/tests/system/metric_names.py"

promtool check rules "$RULES" >"$TMPD/check" 2>&1
is "$?" 0 "promtool check rules: the alert rules are valid"
sed 's/^/# /' "$TMPD/check"
# promtool test rules resolves rule_files relative to the test file: run it on copies
cp "$RULES" "$RTEST" "$TMPD/"
promtool test rules "$TMPD/dnsd-alerts.test.yml" >"$TMPD/test" 2>&1
is "$?" 0 "promtool test rules: every alert's unit test passes"
sed 's/^/# /' "$TMPD/test" | head -40
for a in DnsdCertificateExpiringSoon DnsdCertificateRenewalFailing DnsdShardUnhealthy DnsdServfailRateHigh; do
    grep -q "alert: $a\$" "$RULES" || echo "# missing alert $a"
done
is "$(grep -cE 'alert: (DnsdCertificateExpiringSoon|DnsdCertificateRenewalFailing|DnsdShardUnhealthy|DnsdServfailRateHigh)$' "$RULES")" 4 \
    "the rules alert on certificate expiry, renewal failing, shard unhealthy and SERVFAIL rate"

/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
panels = [p for p in d["panels"] if p["type"] != "row"]
assert len(panels) >= 20, "only %d panels" % len(panels)
for p in panels:
    assert p.get("targets") and all(t.get("expr") for t in p["targets"]), p["title"]
print(len(panels))' "$DASH" >"$TMPD/panels" 2>&1
is "$?" 0 "the dashboard is valid JSON and every panel has queries ($(cat "$TMPD/panels") panels)"

make_store example.test "$DATA/example.test.zone"
start_dnsd --metrics-listen 127.0.0.1:0
MP=$(sed -n 's/^metrics //p' "$TMPD/port")
k=0
while ! curl -s --max-time 5 -o "$TMPD/scrape.txt" "http://127.0.0.1:$MP/metrics" && [ $k -lt 100 ]; do
    sleep 0.05
    k=$((k + 1))
done
ok '[ -s "$TMPD/scrape.txt" ]' "a real scrape of dnsd"
$NAMES "$TMPD/scrape.txt" "$DASH" >"$TMPD/dash.names" 2>&1
is "$?" 0 "every metric the dashboard uses is exported"
grep 'not exported' "$TMPD/dash.names" | sed 's/^/# /'
$NAMES "$TMPD/scrape.txt" "$RULES" >"$TMPD/rules.names" 2>&1
is "$?" 0 "every metric the alert rules use is exported"
grep 'not exported' "$TMPD/rules.names" | sed 's/^/# /'
ok '[ "$(grep -c . "$TMPD/dash.names")" -ge 30 ]' "the dashboard uses $(grep -c . "$TMPD/dash.names") metrics"
# the check can fail: a dashboard with a misspelt name is caught
sed 's/dnsd_cert_expiry_seconds/dnsd_cert_expiry_secs/' "$DASH" >"$TMPD/bad.json"
$NAMES "$TMPD/scrape.txt" "$TMPD/bad.json" >"$TMPD/bad.names" 2>&1
like "$?:$(cat "$TMPD/bad.names")" '^1:.*dnsd_cert_expiry_secs is not exported' \
    "a misspelt metric name is caught"
stop_dnsd
