#!/bin/sh
# t_rollout.sh -- certificate rollout of a regional shard (issue 15) end to
# end, with Pebble as the CA and two real HAProxy load balancers for region
# eu: the stable pool on 127.0.0.1 (crt-list in cert-dir/regions/eu/) and
# the canary pool on 127.0.0.3 (cert-dir/regions/eu/canary/), both fed by
# tools/haproxy-deploy. The first certificate is issued as usual; a renewal
# goes to the canary HAProxy only and opens the split at the policy's first
# step (clients of many /24s asked with ECS: a stable share in the canary,
# each subnet keeping its answer, the policy's TTL, scope >= /24); pause and
# resume; `rollout promote` puts the candidate on the stable HAProxy and
# closes the split (TTL back, TLSA for the new key); a second renewal and
# `rollout abort` keep the current certificate and remove the canary records;
# the history records every decision.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_haproxy.sh"
need_acme
need_haproxy
need dig curl
plan 55

acme_store shard.test
dnsctl region add eu --cidr 10.0.0.0/8 >/dev/null
CD=$TMPD/certs
shard_ca "$TMPD/boot" >/dev/null
for d in eu eu/canary; do
    mkdir -p "$CD/regions/$d"
    shard_bundle "$TMPD/boot" "$CD/regions/$d/placeholder.pem" placeholder.test >/dev/null
    write_atomic "$CD/regions/$d/crt-list.txt" "$CD/regions/$d/placeholder.pem"
done
start_haproxy stable 127.0.0.1 "$CD/regions/eu/crt-list.txt"
start_haproxy canary 127.0.0.3 "$CD/regions/eu/canary/crt-list.txt"
acme_conf "$TMPD/dnsd.conf" "shard-probe-interval 1" "rrl-rate 0"
SOCK=$TMPD/evidence.sock
start_dnsd -c "$TMPD/dnsd.conf" --metrics-listen 127.0.0.1:0 --rollout-evidence-socket "$SOCK" \
    --rollout-probe-interval 0
MP=$(sed -n 's/^metrics //p' "$TMPD/port")
metric() { curl -s --max-time 5 "http://127.0.0.1:$MP/metrics" | grep -F "$1" | awk '{print $NF}'; }
start_pebble "$PORT"
HOOK=$top_srcdir/tools/haproxy-deploy

out=$(dnsctl shard add shard.test --region eu --names shard.test,www.shard.test \
    --lb "127.0.0.1:$HAPROXY_STABLE_PORT" --hook "$HOOK --socket $HAPROXY_STABLE_SOCK" \
    --canary-lb "127.0.0.3:$HAPROXY_CANARY_PORT" \
    --canary-hook "$HOOK --socket $HAPROXY_CANARY_SOCK" --ca "$PEBBLE_DIR_URL" 2>&1)
like "$out" 'shard shard.test@eu: added' "shard add with a canary pool"
like "$(dnsctl shard add x.test --region eu --names x.test --canary-lb nope 2>&1)" \
    '--canary-lb: "nope" is not an address' "a bad --canary-lb is refused, named"
like "$(dnsctl shard set shard.test --region eu --rollout sometimes 2>&1)" \
    '--rollout: "sometimes" is not adaptive\|off' "a bad --rollout is refused"

serial() { cert_field shard.test@eu certificate.serial; }
presented() { tls_probe "$1" "$2" www.shard.test | cut -d' ' -f1; }
wait_presented() { # ADDR PORT SERIAL
    _i=0
    while [ "$(presented "$1" "$2")" != "$3" ] && [ $_i -lt 150 ]; do sleep 0.2; _i=$((_i + 1)); done
    [ $_i -lt 150 ]
}
rstatus() { dnsctl rollout status shard.test --region eu --json 2>/dev/null |
    "$PY3" -c 'import json,sys; d=json.load(sys.stdin); print(d["state"].get(sys.argv[1], ""))' "$1" 2>/dev/null; }
wait_status() { # STATUS
    _i=0
    while [ "$(rstatus status)" != "$1" ] && [ $_i -lt 100 ]; do sleep 0.2; _i=$((_i + 1)); done
    [ $_i -lt 100 ]
}
# feed SOK SFAIL COK CFAIL [CANARY_MS]: handshake outcomes of the stable and
# the canary pool as JSON lines on dnsd's evidence socket (what a load
# balancer or a client beacon would send); handshakes take about 3 ms, the
# canary's CANARY_MS when given
feed() {
    "$PY3" - "$SOCK" "127.0.0.1:$HAPROXY_STABLE_PORT" "127.0.0.3:$HAPROXY_CANARY_PORT" "$@" <<'EOF'
import json, socket, sys
path, st, ca = sys.argv[1], sys.argv[2], sys.argv[3]
sok, sfail, cok, cfail = (int(x) for x in sys.argv[4:8])
cms = float(sys.argv[8]) if len(sys.argv) > 8 else 3.0
lines = []
for lb, n_ok, n_fail, ms in ((st, sok, sfail, 3.0), (ca, cok, cfail, cms)):
    lines += [json.dumps({"lb": lb, "ok": True, "hs_ms": ms + (i % 5) * 0.1, "proto": "TLSv1.3"})
              for i in range(n_ok)]
    lines += [json.dumps({"lb": lb, "ok": False, "error": "certificate verify failed",
                          "source": "beacon", "profile": "old-android"}) for i in range(n_fail)]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(("\n".join(lines) + "\n").encode())
s.close()
EOF
}
# the A answers of www for 10.K.0.0/24, K = 1..N, one line each: "K ADDR TTL SCOPE"
split_scan() {
    k=1
    while [ $k -le "$1" ]; do
        t=0 a=
        # a query lost on a loaded machine is asked again (at most 3 times)
        while [ $t -lt 3 ] && ! printf '%s\n' "$a" | awk '$4 == "A"' | grep -q .; do
            a=$(k1=$((k / 250)) k2=$((k % 250)); q www.shard.test A +subnet=10.$k1.$k2.0/24 +noall +answer +comments)
            t=$((t + 1))
        done
        printf '%s %s %s %s\n' "$k" "$(printf '%s\n' "$a" | awk '$4 == "A" {print $5; exit}')" \
            "$(printf '%s\n' "$a" | awk '$4 == "A" {print $2; exit}')" \
            "$(printf '%s\n' "$a" | sed -n 's/.*CLIENT-SUBNET: [0-9.]*\/[0-9]*\/\([0-9]*\).*/\1/p' | head -n 1)"
        k=$((k + 1))
    done
}

ok 'wait_cert shard.test@eu status valid 60' "the first certificate is issued (no rollout: nothing to compare)"
s1=$(serial)
ok 'wait_presented 127.0.0.1 "$HAPROXY_STABLE_PORT" "$s1"' "the stable HAProxy presents it ($s1)"
like "$(dnsctl rollout status shard.test --region eu 2>&1)" 'no rollout yet' "no rollout for a first issuance"

like "$(dnsctl rollout policy shard.test --region eu ttl=20 steps=5,50,100 2>&1)" \
    'ttl +20' "rollout policy: ttl and steps set"
out=$(dnsctl rollout policy shard.test --region eu window=-3 2>&1)
rc=$?
ok '[ $rc -ne 0 ]' "a bad policy value fails"
like "$out" 'window' "and names the key"
is "$(dnsctl rollout policy shard.test --region eu --json | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["ttl"])')" \
    20 "the bad value left the policy as it was"

# a renewal: the candidate goes to the canary pool only
like "$(dnsctl shard renew eu --wait 60 2>&1)" 'renewal requested' "shard renew eu"
ok 'wait_status running' "the rollout is running"
s2=$(rstatus serial_new)
ok '[ -n "$s2" ] && [ "$s2" != "$s1" ]' "with a new candidate ($s2)"
ok 'wait_presented 127.0.0.3 "$HAPROXY_CANARY_PORT" "$s2"' "the canary HAProxy presents the candidate"
is "$(presented 127.0.0.1 "$HAPROXY_STABLE_PORT")" "$s1" "the stable HAProxy still presents $s1"
is "$(serial)" "$s1" "the shard's current certificate is unchanged"
like "$(dnsctl shard status)" '^eu +shard.test .* rolling-out' "shard status: rolling-out"
is "$(rstatus permyriad)" 500 "the split starts at 5 %"
is "$(metric 'dnsd_rollout_permyriad{domain="shard.test",region="eu"}') $(metric 'dnsd_rollout_state{domain="shard.test",region="eu",status="running"}')" \
    "500 1" "metrics: the share and the state"

split_scan 400 >"$TMPD/scan1"
n_canary=$(awk '$2 == "127.0.0.3"' "$TMPD/scan1" | wc -l)
n_stable=$(awk '$2 == "127.0.0.1"' "$TMPD/scan1" | wc -l)
diag "5 %: $n_canary of 400 subnets in the canary, $n_stable stable"
# binomial(400, 0.05): mean 20, sd 4.4; 4 sigma
ok '[ $((n_canary + n_stable)) -eq 400 ] && [ "$n_canary" -ge 3 ] && [ "$n_canary" -le 38 ]' \
    "a share near 5 % of 400 subnets gets the canary pool ($n_canary)"
ok '! awk "\$3 != 20" "$TMPD/scan1" | grep -q .' "every pool answer carries the policy's TTL (20)"
ok '! awk "\$4 < 24" "$TMPD/scan1" | grep -q .' "ECS scope >= /24 on every answer"
split_scan 400 >"$TMPD/scan2"
ok 'cmp -s "$TMPD/scan1" "$TMPD/scan2"' "each subnet keeps its answer"

like "$(dnsctl rollout pause shard.test --region eu 2>&1)" 'pause asked' "rollout pause"
ok 'wait_status paused' "status paused"
like "$(dnsctl rollout pause shard.test --region eu 2>&1)" 'paused already' "pausing twice is refused"
like "$(dnsctl rollout resume shard.test --region eu 2>&1)" 'resume asked' "rollout resume"
ok 'wait_status running' "running again"

like "$(dnsctl rollout promote shard.test --region eu 2>&1)" 'promote asked' "rollout promote"
ok 'wait_status promoted' "status promoted"
ok 'wait_presented 127.0.0.1 "$HAPROXY_STABLE_PORT" "$s2"' "the stable HAProxy presents the candidate"
is "$(serial)" "$s2" "it is the shard's current certificate"
split_scan 40 >"$TMPD/scan3"
ok '! awk "\$2 != \"127.0.0.1\" || \$3 != 300" "$TMPD/scan3" | grep -q .' \
    "split gone: every subnet gets the stable pool, TTL back to 300"
spki=$(openssl x509 -in "$CD/shard.test@eu/cert.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
    openssl dgst -sha256 -hex | sed 's/.*= //')
tlsa=$(q _443._tcp.www.shard.test TLSA +subnet=10.0.1.0/24 +short | tr -d ' ' | tr 'A-F' 'a-f' | tr '\n' ' ')
like "$tlsa" "311$spki" "TLSA 3 1 1 for the promoted certificate's key"

# a second renewal, aborted
dnsctl shard renew eu --wait 60 >/dev/null 2>&1
ok 'wait_status running && [ "$(rstatus serial_new)" != "$s2" ]' "a second rollout runs"
s3=$(rstatus serial_new)
like "$(dnsctl rollout abort shard.test --region eu 2>&1)" 'abort asked' "rollout abort"
ok 'wait_status aborted' "status aborted"
split_scan 40 >"$TMPD/scan4"
ok '! awk "\$2 != \"127.0.0.1\" || \$3 != 300" "$TMPD/scan4" | grep -q . && [ "$(serial)" = "$s2" ] && [ "$(presented 127.0.0.1 "$HAPROXY_STABLE_PORT")" = "$s2" ]' \
    "the current certificate stays; canary records gone"
hist=$(dnsctl rollout history shard.test --region eu 2>&1)
diag "$(printf '%s\n' "$hist" | awk '{print $1, $2, $3, $4, $5}' | tr '\n' ';')"
is "$(printf '%s\n' "$hist" | awk 'NR > 1 {print $2}' | tr '\n' ' ')" \
    "start pause resume promote start abort " "the history: every decision in order"
like "$(dnsctl cert show shard.test@eu --json)" "\"$s3\"" "the aborted candidate is in the shard's history"

# evidence decides: a canary failing a third of its handshakes is rolled back at its first step
dnsctl rollout policy shard.test --region eu window=3s min-samples=20 >/dev/null
dnsctl shard renew eu --wait 60 >/dev/null 2>&1
ok 'wait_status running && [ "$(rstatus serial_new)" != "$s3" ]' "a third rollout runs (window 3 s, 20 samples)"
i=0
while [ "$(rstatus status)" = running ] && [ $i -lt 40 ]; do feed 30 0 20 10; sleep 0.5; i=$((i + 1)); done
is "$(rstatus status)" rolled-back "failing canary handshakes (JSON evidence): rolled back automatically"
hist=$(dnsctl rollout history shard.test --region eu --json)
is "$(printf '%s\n' "$hist" | "$PY3" -c 'import json,sys; h=json.load(sys.stdin); print(max(e["to"] for e in h[-2:]), h[-1]["action"], h[-1]["evidence"]["pools"]["canary"]["fails"] > 0)')" \
    "500 rollback True" "the share never went above its first step; the decision carries the evidence"
is "$(serial) $(presented 127.0.0.1 "$HAPROXY_STABLE_PORT")" "$s2 $s2" "the stable pool keeps the current certificate"
like "$(cat "$TMPD/dnsd.log")" 'error: acme: shard.test@eu: rollout of serial .* ROLLED BACK' "logged at error level"

# good evidence: steps 5 -> 50 -> 100 % and promotion, no command
dnsctl shard renew eu --wait 60 >/dev/null 2>&1
ok 'wait_status running' "a fourth rollout runs"
s5=$(rstatus serial_new)
i=0
while [ "$(rstatus status)" = running ] && [ $i -lt 120 ]; do feed 20 0 20 0; sleep 0.5; i=$((i + 1)); done
is "$(rstatus status)" promoted "good canary handshakes: promoted automatically"
is "$(dnsctl rollout history shard.test --region eu | awk 'NR > 1 {print $2, $4}' | tail -n 4 | tr '\n' ' ')" \
    "start 5.00% step 50.00% step 100.00% promote 100.00% " "through the policy's steps"
ok 'wait_presented 127.0.0.1 "$HAPROXY_STABLE_PORT" "$s5"' "the stable HAProxy presents the promoted certificate"
is "$(metric 'dnsd_rollout_decisions_total{domain="shard.test",region="eu",action="start"}') $(metric 'dnsd_rollout_decisions_total{domain="shard.test",region="eu",action="abort"}') $(metric 'dnsd_rollout_state{domain="shard.test",region="eu",status="promoted"}')" \
    "4 1 1" "metrics: decisions by action, the state now"
# a canary only slower (as with a large RSA key): rolled back with slow=rollback
dnsctl rollout policy shard.test --region eu slow=rollback >/dev/null
dnsctl shard renew eu --wait 60 >/dev/null 2>&1
ok 'wait_status running && [ "$(rstatus serial_new)" != "$s5" ]' "a fifth rollout runs (slow=rollback)"
i=0
while [ "$(rstatus status)" = running ] && [ $i -lt 40 ]; do feed 30 0 30 0 12; sleep 0.5; i=$((i + 1)); done
is "$(rstatus status)" rolled-back "a canary four times slower, no failures: rolled back (slow=rollback)"
like "$(dnsctl rollout history shard.test --region eu | tail -n 1)" 'rollback .*slow=rollback' \
    "the decision says why"
is "$(serial)" "$s5" "the current certificate stays"

dnsctl shard del shard.test --region eu >/dev/null
like "$(dnsctl rollout status shard.test --region eu 2>&1)" 'no rollout yet' \
    "shard del takes the rollout record and its history with it"
