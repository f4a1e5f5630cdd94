#!/bin/sh
# t_cluster_tls.sh -- the cluster over TLS to etcd with client certificates
# (cluster-etcd https://..., cluster-etcd-cacert, -cert, -key): a real etcd
# that demands a client certificate signed by the test's CA (made here with
# openssl), two dnsd nodes that present one, an edit on one answered by the
# other; a third node without a client certificate is refused by etcd, says
# so in its log, keeps running, and dnsctl edits on its store are refused.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
need openssl
plan 6

pki=$TMPD/pki
mkdir -p "$pki"
mk() { # mk NAME SUBJECT EXTFILE-LINES: key, CSR, certificate signed by the CA
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$1.key" \
        -out "$pki/$1.csr" -subj "$2" 2>/dev/null &&
        printf '%s\n' "$3" >"$pki/$1.ext" &&
        openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
            -CAcreateserial -out "$pki/$1.pem" -days 2 -extfile "$pki/$1.ext" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/ca.key" \
    -out "$pki/ca.pem" -days 2 -subj /CN=dnsd-test-etcd-ca 2>/dev/null &&
    mk srv /CN=etcd "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth" &&
    mk cli /CN=dnsd-node "extendedKeyUsage=clientAuth" ||
    { echo "Bail out! cannot make the test PKI"; exit 1; }

set -- $(_free_ports 2)
ETCD_URLS=https://127.0.0.1:$1
ETCD_N=0
etcd --name t --data-dir "$TMPD/etcd-tls" --listen-client-urls "$ETCD_URLS" \
    --advertise-client-urls "$ETCD_URLS" --listen-peer-urls "http://127.0.0.1:$2" \
    --initial-advertise-peer-urls "http://127.0.0.1:$2" --initial-cluster "t=http://127.0.0.1:$2" \
    --cert-file "$pki/srv.pem" --key-file "$pki/srv.key" --client-cert-auth \
    --trusted-ca-file "$pki/ca.pem" --logger zap --log-level warn >"$TMPD/etcd-tls.log" 2>&1 &
ETCD_TLS_PID=$!
stop_etcd_tls() { stop_pid "$ETCD_TLS_PID"; }
at_exit stop_etcd_tls
etls() {
    ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URLS" --cacert "$pki/ca.pem" --cert "$pki/cli.pem" \
        --key "$pki/cli.key" --dial-timeout=2s --command-timeout=3s "$@"
}
k=0
until etls endpoint health >/dev/null 2>&1; do
    k=$((k + 1))
    [ $k -lt 100 ] || { echo "Bail out! etcd with TLS did not start"; tail -n 5 "$TMPD/etcd-tls.log" | sed 's/^/# /'; exit 1; }
    sleep 0.2
done

CLUSTER_CONF_EXTRA="cluster-etcd-cacert $pki/ca.pem
cluster-etcd-cert $pki/cli.pem
cluster-etcd-key $pki/cli.key"
start_cluster 2 example.test "$DATA/example.test.zone"
ok 'wait_serials_equal example.test 20 2' "two nodes joined etcd over TLS with client certificates"
nctl 1 record add example.test tls A 192.0.2.44 >"$TMPD/add.out" 2>&1
ok 'wait_all_answer 192.0.2.44 20 2 tls.example.test A' "an edit on node 1 is answered by node 2"
ok "etls get --prefix /dnsd/nodes/ --keys-only | grep -q /dnsd/nodes/node2" \
    "node 2's status is in etcd (read back over TLS)"

# node 3 without a client certificate: etcd refuses the handshake
CLUSTER_N=3
CLUSTER_CONF_EXTRA="cluster-etcd-cacert $pki/ca.pem"
cluster_node_conf 3
start_cluster_node 3
k=0
until cluster_log_has 3 'unreachable|SSL|TLS|certificate' || [ $k -ge 100 ]; do
    k=$((k + 1))
    sleep 0.1
done
ok "cluster_log_has 3 'SSL|TLS|certificate|alert'" \
    "node 3 without a client certificate: its log names the TLS refusal"
ok "kill -0 \$NODE_PID_3" "... and it keeps running (serving its last state)"
nctl 3 record add example.test nocert A 192.0.2.45 >"$TMPD/n3.out" 2>&1
rc=$?
ok "[ $rc = 1 ] && grep -q 'cluster: .*unreachable or without quorum' '$TMPD/n3.out'" \
    "dnsctl edits on node 3's store are refused by the cluster (exit $rc)"
[ $_tap_fail -eq 0 ] || { cluster_tail_logs; sed 's/^/# n3: /' "$TMPD/n3.out"; }
