#!/bin/sh
# t_rollout_e2e.sh -- a certificate rollout decided by real handshakes
# (issue 15): Pebble as the CA, two real HAProxy load balancers of region
# eu running the shipped tools/haproxy-rollout.cfg (addresses, crt-list and
# an admin socket for tools/haproxy-deploy filled in), logging every TLS
# handshake to dnsd's rollout-syslog-listen port; real TLS clients
# (python3's ssl, a bounded number of passes) from 200 client subnets,
# each resolving the name through dnsd with ECS and handshaking with the
# load balancer dnsd answered. The clients trust only the CA of the first
# Pebble run; Pebble is restarted (a new root: a "new-CA" certificate), so
# the renewal's candidate is one they refuse inside the handshake: the
# rollout is rolled back by itself within a bounded number of handshakes,
# the share never above its first step, and the stable pool keeps the
# current certificate. Then the clients trust both roots and the next
# renewal is promoted through the policy's steps with no command.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_haproxy.sh"
need_acme
need_haproxy
need dig
plan 9

acme_store shard.test
dnsctl region add eu --cidr 10.0.0.0/8 >/dev/null
CD=$TMPD/certs
shard_ca "$TMPD/boot" >/dev/null
for d in eu eu/canary; do
    mkdir -p "$CD/regions/$d"
    shard_bundle "$TMPD/boot" "$CD/regions/$d/placeholder.pem" placeholder.test >/dev/null
    write_atomic "$CD/regions/$d/crt-list.txt" "$CD/regions/$d/placeholder.pem"
done
acme_conf "$TMPD/dnsd.conf" "rrl-rate 0"
start_dnsd -c "$TMPD/dnsd.conf" --rollout-syslog-listen 127.0.0.1:0 --rollout-probe-interval 0
SP=$(sed -n 's/^rollout-syslog //p' "$TMPD/port")
start_pebble "$PORT"
pebble_root "$TMPD/root1.pem"
cat "$TMPD/root1.pem.int" "$TMPD/root1.pem" >"$TMPD/trust.pem"

# the shipped config with only its addresses, its crt-list and an admin socket filled in
start_lb() { # NAME ADDR CRTLIST
    _p=$(_hap_free_port "$2")
    sed -e "s/192\\.0\\.2\\.53:5514/127.0.0.1:$SP/" -e "s/192\\.0\\.2\\.1:443/$2:$_p/" \
        -e "s|/etc/haproxy/crt-list.txt|$3|" \
        -e "s|^global|global\\n    stats socket $TMPD/lb-$1.sock mode 600 level admin|" \
        -e "s|^ *default_backend app|    http-request return status 200 content-type text/plain string $1|" \
        "$top_srcdir/tools/haproxy-rollout.cfg" >"$TMPD/lb-$1.cfg"
    grep -v '^ *#' "$TMPD/lb-$1.cfg" | grep -q '192\.0\.2\.1:\|192\.0\.2\.53' && _hap_bail "lb $1: an address left"
    haproxy -f "$TMPD/lb-$1.cfg" -db >"$TMPD/lb-$1.log" 2>&1 &
    eval "LB_PID_$1=\$! LB_PORT_$1=$_p"
    _i=0
    while [ ! -S "$TMPD/lb-$1.sock" ]; do
        _i=$((_i + 1)); [ $_i -gt 100 ] && _hap_bail "lb $1 did not start" "$TMPD/lb-$1.log"; sleep 0.1
    done
}
stop_lbs() { stop_pid "${LB_PID_stable:-}"; stop_pid "${LB_PID_canary:-}"; }
at_exit stop_lbs
start_lb stable 127.0.0.1 "$CD/regions/eu/crt-list.txt"
start_lb canary 127.0.0.3 "$CD/regions/eu/canary/crt-list.txt"
HOOK=$top_srcdir/tools/haproxy-deploy

out=$(dnsctl shard add shard.test --region eu --names www.shard.test \
    --lb "127.0.0.1:$LB_PORT_stable" --hook "$HOOK --socket $TMPD/lb-stable.sock" \
    --canary-lb "127.0.0.3:$LB_PORT_canary" --canary-hook "$HOOK --socket $TMPD/lb-canary.sock" \
    --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)
like "$out" 'issued' "shard with a stable and a canary HAProxy: the first certificate"
dnsctl rollout policy shard.test --region eu window=10s min-samples=10 steps=5,50,100 >/dev/null

rstatus() { dnsctl rollout status shard.test --region eu --json 2>/dev/null |
    "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["state"].get(sys.argv[1], ""))' "$1" 2>/dev/null; }
wait_status() {
    _i=0
    while [ "$(rstatus status)" != "$1" ] && [ $_i -lt 150 ]; do sleep 0.2; _i=$((_i + 1)); done
    [ $_i -lt 150 ]
}
# clients: one pass = each of 200 subnets resolves www through dnsd (ECS) and
# makes one TLS handshake (then one request) with the address it got,
# trusting $TMPD/trust.pem; per pass "canary-ok canary-fail stable-ok stable-fail"
pass() {
    k=1
    : >"$TMPD/targets"
    while [ $k -le 200 ]; do
        a=$(q www.shard.test A +subnet=10.$k.9.0/24 +short | head -n 1)
        echo "$a" >>"$TMPD/targets"
        k=$((k + 1))
    done
    "$PY3" - "$TMPD/targets" "$TMPD/trust.pem" "$LB_PORT_stable" "$LB_PORT_canary" <<'EOF'
import socket, ssl, sys
targets, trust, ps, pc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context(cafile=trust)
n = {"canary": [0, 0], "stable": [0, 0]}
for addr in open(targets).read().split():
    pool, port = ("canary", pc) if addr == "127.0.0.3" else ("stable", ps)
    try:
        with socket.create_connection((addr, port), 3) as raw:
            with ctx.wrap_socket(raw, server_hostname="www.shard.test") as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: www.shard.test\r\nConnection: close\r\n\r\n")
                s.recv(1024)
        n[pool][0] += 1
    except (ssl.SSLError, OSError):
        n[pool][1] += 1
print(n["canary"][0], n["canary"][1], n["stable"][0], n["stable"][1])
EOF
}

# Pebble restarted: a new root the clients do not trust -- the renewal is a "new-CA" certificate
restart_pebble
dnsctl shard renew eu --wait 90 >/dev/null 2>&1
ok 'wait_status running' "the renewal (from Pebble's new root) is rolled out"
s_old=$(rstatus serial_old)
n=0 cfail=0 i=0
: >"$TMPD/passes"
while [ "$(rstatus status)" = running ] && [ $i -lt 20 ]; do
    r=$(pass)
    echo "$r" >>"$TMPD/passes"
    set -- $r
    n=$((n + $1 + $2 + $3 + $4))
    cfail=$((cfail + $2))
    i=$((i + 1))
    sleep 0.5
done
diag "passes (canary ok/fail, stable ok/fail): $(tr '\n' ';' <"$TMPD/passes")"
ok 'wait_status rolled-back' "clients refusing the new CA: rolled back by itself"
ok '[ "$n" -le 4000 ] && [ "$cfail" -gt 0 ]' "within $n handshakes ($cfail refused on the canary)"
hist=$(dnsctl rollout history shard.test --region eu --json)
is "$(printf '%s\n' "$hist" | "$PY3" -c 'import json,sys; h=json.load(sys.stdin); print(max(e["to"] for e in h), h[-1]["action"], h[-1]["evidence"]["pools"]["canary"]["fails"] > 0)')" \
    "500 rollback True" "the share never above its first step; the refusals are the evidence"
is "$(tls_probe 127.0.0.1 "$LB_PORT_stable" www.shard.test | cut -d' ' -f1)" "$s_old" \
    "the stable HAProxy still presents the current certificate"

# the clients learn the new root: the next renewal is promoted with no command
pebble_root "$TMPD/root2.pem"
cat "$TMPD/root1.pem.int" "$TMPD/root1.pem" "$TMPD/root2.pem.int" "$TMPD/root2.pem" >"$TMPD/trust.pem"
dnsctl shard renew eu --wait 90 >/dev/null 2>&1
ok 'wait_status running' "a second renewal is rolled out"
s_new=$(rstatus serial_new)
i=0
while [ "$(rstatus status)" = running ] && [ $i -lt 60 ]; do pass >>"$TMPD/passes2"; i=$((i + 1)); done
diag "passes (canary ok/fail, stable ok/fail): $(tr '\n' ';' <"$TMPD/passes2")"
[ "$(rstatus status)" = promoted ] || diag "$(dnsctl rollout status shard.test --region eu 2>&1 | tr '\n' ';')"
is "$(rstatus status)" promoted "clients trusting it: promoted through 5, 50, 100 % by itself"
ok 'i=0; while [ "$(tls_probe 127.0.0.1 "$LB_PORT_stable" www.shard.test | cut -d" " -f1)" != "$s_new" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i+1)); done; [ $i -lt 100 ]' \
    "the stable HAProxy presents it"
