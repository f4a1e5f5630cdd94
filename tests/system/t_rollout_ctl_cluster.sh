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
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
need_acme
plan 10

ID=acme.test@eu
start_etcd_cluster 3
P=$(free_udp_tcp_port)
start_pebble "$P"
acme_zone acme.test "$TMPD/acme.zone"
for i in 1 2; do
    cluster_node_conf $i acme-directory "$PEBBLE_DIR_URL" acme-ca-bundle "$PEBBLE_CA_BUNDLE" \
        acme-contact mailto:ops@acme.test acme-agree-tos yes acme-backoff-min 1 \
        acme-backoff-max 3 acme-propagation-timeout 60 log-level debug
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

nctl 1 region add eu --cidr 10.0.0.0/8 >/dev/null
out=$(nctl 1 shard add acme.test --region eu --names www.acme.test --lb 192.0.2.10 \
    --canary-lb 192.0.2.20 --wait 90 2>&1)
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
exit $((_tap_fail > 0))
