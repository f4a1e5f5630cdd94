#!/bin/sh
# t_shard_renew.sh -- the renewal scheduler, with the clock moved by config
# (clock-offset, applied live by SIGHUP) instead of waiting: certificates
# from Pebble live one hour (PEBBLE_VALIDITY); a shard is renewed, with no
# command, once a third of the lifetime (less jitter) remains, exactly once;
# a certificate closer to expiry than shard-alert is reported unhealthy;
# `shard status` shows expiry, state, health and the next renewal.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 10

acme_store shard.test
dnsctl region add eu --cidr 10.1.0.0/16 >/dev/null
conf() { # CLOCK-OFFSET
    acme_conf "$TMPD/dnsd.conf" "shard-alert 1800" "shard-probe-interval 1" "clock-offset $1"
}
conf 1000
start_dnsd -c "$TMPD/dnsd.conf"
PEBBLE_VALIDITY=3600 start_pebble "$PORT"
like "$(dnsctl shard add shard.test --region eu --names www.shard.test --lb 127.0.0.1:1 \
    --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)" 'issued' "shard issued (1 h certificate)"
serial1=$(cert_field shard.test@eu certificate.serial)
na=$(cert_field shard.test@eu certificate.not_after)
nb=$(cert_field shard.test@eu certificate.not_before)
ra=$(dnsctl shard show shard.test --region eu --json | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["renew_at"])')
d=$((na - ra))
# a third of the lifetime (Pebble's NotAfter is inclusive: 3599 s, so 1199
# whole seconds) plus up to 10 % of it as jitter
w=$(((na - nb) / 3))
ok '[ $d -ge $w ] && [ $d -le $((w + w / 10 + 1)) ] && [ $w -ge 1199 ] && [ $w -le 1200 ]' \
    "renewal planned a third of the lifetime ($w s) + jitter (<= 10 %) before expiry ($d s)"
st=$(dnsctl shard status)
like "$st" 'eu +shard.test +www.shard.test +[0-9-]+ \(0d\) +valid +UNHEALTHY' \
    "status: region, names, expiry, state; unhealthy (no load balancer answers)"
sleep 2
is "$(cert_field shard.test@eu certificate.serial)" "$serial1" "clock +1000 s: not due, not renewed"

conf 2500
kill -HUP "$DNSD_PID"
ok 'i=0; while [ "$(cert_field shard.test@eu certificate.serial)" = "$serial1" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i+1)); done; [ $i -lt 100 ]' \
    "clock +2500 s (SIGHUP): renewed with no command"
like "$(grep 'config reload' "$TMPD/dnsd.log")" 'certificate settings changed' "the reload says so"
sleep 3
is "$(dnsctl shard show shard.test --region eu --json | "$PY3" -c 'import json,sys; print(len(json.load(sys.stdin)["history"]))')" 2 \
    "renewed exactly once (a certificate due at issuance is not renewed in a loop)"
like "$(cat "$TMPD/dnsd.log")" 'already due for renewal' "and the skew is logged"
h=$(dnsctl shard show shard.test --region eu --json | "$PY3" -c 'import json,sys; h=json.load(sys.stdin)["health"]; print(h["healthy"], h["lbs_ok"])')
is "$h" "False False" "1100 s left < shard-alert 1800 s: unhealthy"
like "$(cat "$TMPD/dnsd.log")" 'certificate expires in [0-9]+ s \(alert threshold 1800 s\)' \
    "the alert is logged"
