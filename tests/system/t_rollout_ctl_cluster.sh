#!/bin/sh
# t_rollout_ctl_cluster.sh -- the rollout controller in a cluster (issue 15):
# a three-member etcd, two dnsd nodes, Pebble. A shard with a canary pool
# (documentation addresses, no hooks) is added on node 1 and renewed on
# node 2: exactly one node starts and steers the rollout (it holds the task
# lock rollout/<id> in etcd), both nodes answer every client subnet from the
# same pool (the split is store data), `rollout status` reads the same on
# both; `rollout promote` given on the other node's store is carried out by
# the steering node, the certificate reaches both nodes' state and bundles,
# the split goes on both, and the lock is released.
# Then evidence from every node: handshake outcomes given ONLY to the node
# that does not steer (JSON lines on its evidence socket) reach the steering
# node through etcd and make it roll a failing canary back; good outcomes
# split across the nodes (the stable pool's on one, the canary's on the
# other) promote the next one through every step; the nodes' evidence keys
# in etcd go with each rollout. The candidate reaches every node's canary
# pool (each node's cert-dir/regions/eu/canary/ and its --canary-hook)
# before the split opens, and a canary hook failing on one node only rolls
# the candidate back without a split.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
need_acme
plan 28

ID=acme.test@eu
start_etcd_cluster 3
P=$(free_udp_tcp_port)
start_pebble "$P"
acme_zone acme.test "$TMPD/acme.zone"
for i in 1 2; do
    cluster_node_conf $i acme-directory "$PEBBLE_DIR_URL" acme-ca-bundle "$PEBBLE_CA_BUNDLE" \
        acme-contact mailto:ops@acme.test acme-agree-tos yes acme-backoff-min 1 \
        acme-backoff-max 3 acme-propagation-timeout 60 log-level debug \
        rollout-evidence-socket "$TMPD/node$i/evidence.sock"
done
start_cluster 2 acme.test "$TMPD/acme.zone"
"$PY3" "$top_srcdir/tests/system/dnsfwd.py" "127.0.0.1:$P" \
    "$NODE_ADDR_1:$NODE_PORT_1,$NODE_ADDR_2:$NODE_PORT_2" 0.5 \
    "$TMPD/dnsfwd.log" "$TMPD/dnsfwd.ready" 600 >"$TMPD/dnsfwd.out" 2>&1 &
FWD_PID=$!
stop_fwd() { stop_pid "$FWD_PID"; }
at_exit stop_fwd
k=0
while [ ! -f "$TMPD/dnsfwd.ready" ] && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done

# the canary hook: logs "nodeN POOL SERIAL" (the node from the bundle's path);
# fails on node N while $TMPD/canary-fail-nodeN exists
cat >"$TMPD/canary-hook" <<EOF
#!/bin/sh
node=\$(printf '%s\n' "\$DNSD_SHARD_BUNDLE" | sed -n 's|.*/\\(node[0-9]\\)/certs/.*|\\1|p')
echo "\$node \$DNSD_SHARD_POOL \$DNSD_SHARD_SERIAL" >>"$TMPD/canary-hook.log"
if [ -e "$TMPD/canary-fail-\$node" ]; then echo "canary load balancer refused it on \$node" >&2; exit 3; fi
EOF
chmod +x "$TMPD/canary-hook"
nctl 1 region add eu --cidr 10.0.0.0/8 >/dev/null
out=$(nctl 1 shard add acme.test --region eu --names www.acme.test --lb 192.0.2.10 \
    --canary-lb 192.0.2.20 --canary-hook "$TMPD/canary-hook" --wait 90 2>&1)
like "$out" 'issued' "shard with a canary pool added on node 1: issued (no rollout: a first issuance)"
nctl 2 rollout policy acme.test --region eu ttl=20 >/dev/null

# rstatus I FIELD: a field of the rollout state on node i
rstatus() {
    nctl "$1" rollout status acme.test --region eu --json 2>/dev/null |
        "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["state"].get(sys.argv[1], ""))' "$2" 2>/dev/null
}
wait_rstatus() { # I STATUS
    _k=0
    while [ "$(rstatus "$1" status)" != "$2" ] && [ $_k -lt 300 ]; do sleep 0.2; _k=$((_k + 1)); done
    [ $_k -lt 300 ]
}
nctl 2 shard renew eu --wait 90 >/dev/null 2>&1
ok 'wait_rstatus 1 running && wait_rstatus 2 running' "renewed on node 2: the rollout runs, seen on both nodes"
cand=$(rstatus 2 serial_new)
starters=$(grep -l "acme: $ID: rollout started" "$TMPD"/node1/dnsd.log "$TMPD"/node2/dnsd.log | wc -l)
is "$starters" 1 "exactly one node started it"
holder=$(etcdctl_c get --print-value-only "/dnsd/lock/rollout/$ID" 2>/dev/null)
ok '[ -n "$holder" ]' "the steering node holds the lock rollout/$ID ($holder)"
ok 'openssl x509 -in "$TMPD/node1/certs/regions/eu/canary/acme.test.pem" -noout -serial | grep -qi "=$cand$" && openssl x509 -in "$TMPD/node2/certs/regions/eu/canary/acme.test.pem" -noout -serial | grep -qi "=$cand$"' \
    "the candidate is in each node's canary bundle (its own cert-dir)"
ok 'grep -qx "node1 canary $cand" "$TMPD/canary-hook.log" && grep -qx "node2 canary $cand" "$TMPD/canary-hook.log"' \
    "each node ran the canary hook for it"
# both nodes' records say deployed, before the split opened (the start time)
canary_ok() { # N: node N's canary record of the candidate, "ok" and at <= started
    nctl "$1" cert show "$ID" --json 2>/dev/null | "$PY3" -c '
import json, sys
d = json.load(sys.stdin)
node, cand, started = sys.argv[1], sys.argv[2], int(sys.argv[3])
for s in d.get("sites", []):
    c = s.get("canary") or {}
    if s.get("node") == node and c.get("serial") == cand and c.get("ok") and c.get("at", 1 << 62) <= started:
        sys.exit(0)
sys.exit(1)' "node$1" "$cand" "$(rstatus 2 started)"
}
ok 'canary_ok 1 && canary_ok 2' "both nodes recorded their canary deployment, before the split opened"

# both nodes: the same pool for each of 200 subnets, some in the canary (P(none) at 5 %: 4e-5)
scan() {
    k=1
    while [ $k -le 200 ]; do
        printf '%s %s\n' "$k" "$(nshort "$1" www.acme.test A +subnet=10.$k.7.0/24)"
        k=$((k + 1))
    done
}
i=0
while [ $i -lt 10 ]; do
    scan 1 >"$TMPD/scan1"
    scan 2 >"$TMPD/scan2"
    cmp -s "$TMPD/scan1" "$TMPD/scan2" && break
    sleep 0.2
    i=$((i + 1))
done
ok 'cmp -s "$TMPD/scan1" "$TMPD/scan2" && ! grep -qv " 192.0.2.[12]0$" "$TMPD/scan1" && grep -q " 192.0.2.20$" "$TMPD/scan1"' \
    "both nodes answer each of 200 subnets from the same pool, some from the canary"
diag "canary: $(grep -c ' 192.0.2.20$' "$TMPD/scan1") of 200 subnets"

like "$(nctl 1 rollout promote acme.test --region eu 2>&1)" 'promote asked' "promote asked on node 1's store"
ok 'wait_rstatus 1 promoted && wait_rstatus 2 promoted' "promoted, seen on both nodes"
ok 'wait_cert_n() { _k=0; while [ "$(nctl $1 cert show $ID --json | "$PY3" -c "import json,sys; print(json.load(sys.stdin)[\"certificate\"][\"serial\"])")" != "$cand" ] && [ $_k -lt 100 ]; do sleep 0.2; _k=$((_k+1)); done; [ $_k -lt 100 ]; }; wait_cert_n 1 && wait_cert_n 2' \
    "the candidate ($cand) is the certificate on both nodes"
ok 'wait_all_answer 192.0.2.10 20 2 www.acme.test A +subnet=10.3.7.0/24 && [ -z "$(etcdctl_c get --print-value-only "/dnsd/lock/rollout/$ID" 2>/dev/null)" ]' \
    "split gone on both nodes; the lock released"
k=0
while { [ ! -s "$TMPD/node1/certs/regions/eu/acme.test.pem" ] || [ ! -s "$TMPD/node2/certs/regions/eu/acme.test.pem" ]; } && [ $k -lt 100 ]; do
    sleep 0.2
    k=$((k + 1))
done
ok 'openssl x509 -in "$TMPD/node1/certs/regions/eu/acme.test.pem" -noout -serial | grep -qi "=$cand$" && openssl x509 -in "$TMPD/node2/certs/regions/eu/acme.test.pem" -noout -serial | grep -qi "=$cand$"' \
    "each node deployed the promoted certificate on its own site"

# ---- evidence from every node ----
# feed NODE SOK SFAIL COK CFAIL: handshake outcomes of the stable and the
# canary pool as JSON lines on node NODE's evidence socket
feed() {
    "$PY3" - "$TMPD/node$1/evidence.sock" "$2" "$3" "$4" "$5" <<'EOF'
import json, socket, sys
path = sys.argv[1]
sok, sfail, cok, cfail = (int(x) for x in sys.argv[2:6])
lines = []
for lb, n_ok, n_fail in (("192.0.2.10:443", sok, sfail), ("192.0.2.20:443", cok, cfail)):
    lines += [json.dumps({"lb": lb, "ok": True, "hs_ms": 3.0 + (i % 5) * 0.1, "proto": "TLSv1.3"})
              for i in range(n_ok)]
    lines += [json.dumps({"lb": lb, "ok": False, "error": "certificate verify failed",
                          "source": "beacon"}) for i in range(n_fail)]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(("\n".join(lines) + "\n").encode())
s.close()
EOF
}
# the steering node's number (1 or 2), from the lock's holder
steerer() {
    etcdctl_c get --print-value-only "/dnsd/lock/rollout/$ID" 2>/dev/null | sed -n 's/^node\([0-9]\)$/\1/p'
}
shares() { etcdctl_c get --prefix --keys-only "/dnsd/share/ev/$ID/" 2>/dev/null | grep -c .; }
wait_no_shares() {
    _k=0
    while [ "$(shares)" != 0 ] && [ $_k -lt 50 ]; do sleep 0.2; _k=$((_k + 1)); done
    [ $_k -lt 50 ]
}
ok 'wait_no_shares' "no evidence keys in etcd once the rollout ended"

nctl 1 rollout policy acme.test --region eu window=3s min-samples=20 steps=5,50,100 >/dev/null
nctl 1 shard renew eu --wait 90 >/dev/null 2>&1
ok 'wait_rstatus 1 running && [ "$(rstatus 1 serial_new)" != "$cand" ]' "a second rollout runs (window 3 s, 20 samples)"
cand2=$(rstatus 1 serial_new)
S=$(steerer)
O=$((3 - S))
ok '[ "$S" = 1 ] || [ "$S" = 2 ]' "node$S steers it"
# failing canary handshakes, given only to the node that does not steer
i=0
while [ "$(rstatus "$S" status)" = running ] && [ $i -lt 60 ]; do feed "$O" 30 0 20 10; sleep 0.5; i=$((i + 1)); done
is "$(rstatus "$S" status)" rolled-back "canary failures seen only by node$O: node$S rolled the canary back"
hist=$(nctl "$S" rollout history acme.test --region eu --json)
is "$(printf '%s\n' "$hist" | "$PY3" -c 'import json,sys; h=json.load(sys.stdin); e=h[-1]["evidence"]["pools"]; print(h[-1]["action"], max(x["to"] for x in h[-2:]), e["canary"]["fails"] > 0, e["stable"]["n"] >= 20)')" \
    "rollback 500 True True" "never above 5 %; the decision counts node$O's handshakes of both pools"
like "$(cat "$TMPD/node$S/dnsd.log")" "acme: $ID: rollout: took [0-9]* samples of other nodes" \
    "node$S took them from etcd"
ok 'wait_no_shares' "node$O's evidence key went with the rollout"

# good outcomes split across the nodes: the stable pool's on one, the canary's on the other
nctl 2 shard renew eu --wait 90 >/dev/null 2>&1
ok 'wait_rstatus 2 running && [ "$(rstatus 2 serial_new)" != "$cand2" ]' "a third rollout runs"
S=$(steerer)
O=$((3 - S))
i=0
while [ "$(rstatus "$S" status)" = running ] && [ $i -lt 120 ]; do
    feed "$S" 20 0 0 0
    feed "$O" 0 0 20 0
    sleep 0.5
    i=$((i + 1))
done
is "$(rstatus "$S" status)" promoted "stable handshakes on node$S, canary ones on node$O: promoted"
is "$(nctl "$S" rollout history acme.test --region eu | awk 'NR > 1 {print $2, $4}' | tail -n 4 | tr '\n' ' ')" \
    "start 5.00% step 50.00% step 100.00% promote 100.00% " "through the policy's steps"
ok 'wait_no_shares' "no evidence keys left in etcd"

# a canary hook failing on node 1 only: rolled back before any split
touch "$TMPD/canary-fail-node1"
nctl 2 shard renew eu --wait 90 >/dev/null 2>&1
k=0
while [ "$(rstatus 2 status)" != rolled-back ] && [ $k -lt 300 ]; do sleep 0.2; k=$((k + 1)); done
is "$(rstatus 2 status) $(rstatus 2 permyriad)" "rolled-back 0" "a canary hook failing on node1 only: rolled back"
like "$(rstatus 2 why)" 'the canary deployment failed on node node1: exit 3' \
    "the reason names the node and its hook's exit"
is "$(nctl 2 rollout history acme.test --region eu | awk 'NR > 1 {print $2}' | tail -n 2 | tr '\n' ' ')" \
    "promote rollback " "no split was opened (no start record after the last promotion)"
like "$(nctl 2 cert show "$ID")" 'site node1: canary [0-9A-F]* FAILED: exit 3' "cert show: node1's canary FAILED"
diag "steered by $(grep -l 'rollout of serial .* rolled back: the canary deployment failed on node' "$TMPD"/node1/dnsd.log "$TMPD"/node2/dnsd.log | sed 's|.*/\(node[0-9]\)/.*|\1|')"
diag "node$S steered; node$O published $(grep -c "rollout: published" "$TMPD/node$O/dnsd.log") batches"
exit $((_tap_fail > 0))
