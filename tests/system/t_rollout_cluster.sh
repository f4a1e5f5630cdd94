#!/bin/sh
# t_rollout_cluster.sh -- a certificate rollout's canary split in a cluster
# (real three-member etcd, two dnsd nodes): the split entry (zones/rollout.h,
# sub-database "rollout", replicated as ZR_DB_ROLLOUT) written on one node's
# store by tests/system/rollout_split goes through the cluster's log like any
# edit, so every node answers a client subnet from the same pool; a change of
# p on the other node, and the entry's removal, reach both; the stores end
# with the same canary region and records (zone export).
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
SPLIT=$top_builddir/tests/system/rollout_split
[ -x "$SPLIT" ] || { echo "Bail out! tests/system/rollout_split not built"; exit 1; }
plan 8
KEY=0f1e2d3c4b5a69788796a5b4c3d2e1f0

start_etcd_cluster 3
start_cluster 2 example.test "$DATA/example.test.zone"
nctl 1 region add eu --cidr 10.0.0.0/8 >/dev/null
nctl 2 record add example.test 'pool 300 IN A 192.0.2.100' >/dev/null
nctl 2 record add example.test --region eu 'pool 300 IN A 192.0.2.101' >/dev/null
wait_all_answer 192.0.2.101 20 2 pool.example.test A +subnet=10.1.2.0/24
is "$?" 0 "both nodes answer eu's pool"

# p = 100 % written on node 1, the canary record on node 2
"$SPLIT" "$TMPD/node1/store" put example.test eu 10000 "$KEY"
is "$?" 0 "split entry at p = 100% written through node 1's store (the cluster's log)"
nctl 2 record add example.test --region eu.canary 'pool 30 IN A 192.0.2.201' >/dev/null
is "$?" 0 "the canary pool's record added on node 2 (eu.canary came with the entry)"
wait_all_answer 192.0.2.201 20 2 pool.example.test A +subnet=10.1.2.0/24
is "$?" 0 "both nodes answer an eu client from the canary pool"

# p = 25 % written on node 2: 12 subnets, each from the pool its bucket says, on both nodes
"$SPLIT" "$TMPD/node2/store" put example.test eu 2500 "$KEY"
wait_all_answer 192.0.2.101 20 2 pool.example.test A +subnet="$(
    "$SPLIT" "$TMPD/node2/store" bucket example.test eu 10.0.0.0 10.0.1.0 10.0.2.0 10.0.3.0 \
        10.0.4.0 10.0.5.0 10.0.6.0 10.0.7.0 | awk '$3 == "stable" { print $1; exit }')/24"
is "$?" 0 "p = 25% from node 2: a stable subnet is back on eu's pool on both nodes"
"$SPLIT" "$TMPD/node2/store" bucket example.test eu 10.0.0.0 10.0.1.0 10.0.2.0 10.0.3.0 \
    10.0.4.0 10.0.5.0 10.0.6.0 10.0.7.0 10.0.8.0 10.0.9.0 10.0.10.0 10.0.11.0 >"$TMPD/b"
bad=0
while read -r net b pool; do
    want=192.0.2.101
    [ "$pool" = canary ] && want=192.0.2.201
    for n in 1 2; do
        [ "$(nshort $n pool.example.test A +subnet="$net/24")" = "$want" ] || bad=$((bad + 1))
    done
    : "$b"
done <"$TMPD/b"
is "$bad" 0 "12 subnets x 2 nodes: each answered from the pool its bucket says"

"$SPLIT" "$TMPD/node1/store" del example.test eu
cnet=$(awk '$3 == "canary" { print $1; exit }' "$TMPD/b")
wait_all_answer 192.0.2.101 20 2 pool.example.test A +subnet="${cnet:-10.0.0.0}/24"
is "$?" 0 "entry deleted on node 1: a canary subnet is back on eu's pool on both nodes"
wait_exports_equal example.test 20 2
is "$?" 0 "both stores export the same zone (eu.canary and its record included)"
exit $((_tap_fail > 0))
