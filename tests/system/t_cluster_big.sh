#!/bin/sh
# t_cluster_big.sh -- the cluster with changes and stores larger than one etcd
# value (etcd refuses requests over 1.5 MiB): a 60,000-record zone import is
# one write txn whose entry goes to etcd in parts (blob/ keys) behind a
# manifest; a snapshot of that store is several parts; a node started later
# with an empty store loads it. etcd never holds a record in plain (values
# are sealed with the cluster key), and the key rotates: a new first key in
# every node's key file seals new entries while old ones still open.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
plan 13

start_etcd_cluster 3
CLUSTER_N=3 # node 3 starts later; stop all three at exit
start_cluster 2 example.test "$DATA/example.test.zone"
CLUSTER_N=3

# the big zone: 60,000 A records under big.test
"$CLUSTER_PY" - "$TMPD/big.zone" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("$ORIGIN big.test.\n$TTL 300\n")
    f.write("@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\n")
    for i in range(60000):
        f.write("h%d A 10.%d.%d.%d\n" % (i, i >> 16, (i >> 8) & 255, i & 255))
EOF
ok "nctl 2 zone import big.test '$TMPD/big.zone' >'$TMPD/imp.out' 2>&1" \
    "a 60,000-record zone imported on node 2 (one write txn)"
ok 'wait_all_answer 10.0.234.95 30 2 h59999.big.test A' \
    "node 1 answers the import's last name (h59999 -> 10.0.234.95)"
nblob=$(etcdctl_c get --prefix /dnsd/blob/ --keys-only | grep -c /dnsd/blob/)
ok "[ '$nblob' -ge 2 ]" "the import's entry went to etcd in $nblob parts (blob/ keys)"
ok 'wait_exports_equal big.test 30 2' "nodes 1 and 2 export big.test identically"

# nothing readable in etcd: no owner name, no address, no key material
etcdctl_c get --prefix /dnsd/ --print-value-only >"$TMPD/etcd.dump" 2>&1
ok "! grep -aq -e h59999 -e hostmaster '$TMPD/etcd.dump'" \
    "etcd's values hold no record in plain (names and data sealed)"

# a snapshot of the big store is several parts; the log goes behind it
nctl 1 cluster snapshot --keep 0 --compact >"$TMPD/snap.out" 2>&1
snap=$(etcdctl_c get /dnsd/snap --print-value-only)
parts=$(printf '%s' "$snap" | sed -n 's/.*"parts":\([0-9]*\).*/\1/p')
ok "[ '${parts:-0}' -ge 2 ]" "snapshot of the big store in ${parts:-?} parts ($snap)"
ok "[ \$(etcdctl_c get --prefix /dnsd/log/ --keys-only | grep -c /dnsd/log/) -eq 0 ]" \
    "the log was trimmed behind the snapshot (--keep 0)"

# node 3 joins with an empty store: only the snapshot can bring it up
start_cluster_node 3
ok 'wait_all_answer 10.0.234.95 30 3 h59999.big.test A' \
    "node 3, started after the trim, serves the big zone (loaded from the snapshot)"
ok 'wait_exports_equal big.test 30 3' "the three nodes export big.test identically"
ok "cluster_log_has 3 'loaded snapshot'" "node 3's log says it loaded the snapshot"

# key rotation: a new first key on every node, the old one kept for what it sealed
"$DNSCTL" cluster keygen "$TMPD/new.key" --id k2 >/dev/null
{ grep -v '^#' "$TMPD/new.key"; grep -v '^#' "$CLUSTER_KEY"; } >"$TMPD/rot.key"
chmod 600 "$TMPD/rot.key"
for i in 1 2 3; do
    stop_cluster_node $i
    sed -i "s|^cluster-key-file .*|cluster-key-file $TMPD/rot.key|" "$TMPD/node$i/dnsd.conf"
    start_cluster_node $i
done
nctl 3 record add example.test rotated A 192.0.2.77 >"$TMPD/rot.out" 2>&1
ok 'wait_all_answer 192.0.2.77 20 3 rotated.example.test A' \
    "after the rotation an edit on node 3 is answered by all three"
last=$(etcdctl_c get --prefix /dnsd/log/ --keys-only | grep /dnsd/log/ | tail -n 1)
ok "etcdctl_c get '$last' --print-value-only | head -c 8 | grep -aq 'ZCX1.k2'" \
    "the new entry ($last) is sealed with the new key k2"
ok 'wait_exports_equal example.test 20 3' "the three nodes export example.test identically"
[ $_tap_fail -eq 0 ] || cluster_tail_logs
