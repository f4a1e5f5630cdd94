#!/bin/sh
# t_cluster_quorum.sh -- loss of etcd quorum (two of three members stopped):
# dnsctl edits on any node are refused with a clear message naming the etcd
# URLs and the cause, exit status 1, the store unchanged; every node keeps
# answering queries from its last state. Quorum back (the two members
# restarted): edits resume and reach every node, and every node answers a
# sample of names x regions x types identically (cluster_same.py).
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
plan 17

start_etcd_cluster 3
start_cluster 3 example.test "$DATA/example.test.zone"
nctl 1 region add eu --continent EU >/dev/null
nctl 2 record add example.test --region eu 'geo 300 IN A 192.0.2.201' >/dev/null
nctl 3 record add example.test 'geo 300 IN A 192.0.2.200' >/dev/null
nctl 1 record add example.test 'q1 60 IN A 198.51.100.1' >/dev/null
ok 'wait_all_answer 198.51.100.1 10 3 q1.example.test A' "an edit with quorum reaches all three"

# quorum lost: members 2 and 3 stopped by PID
stop_etcd_member 2
stop_etcd_member 3
for i in 1 2 3; do
    nctl $i zone export example.test >"$TMPD/before.$i"
done
t0=$(date +%s)
out=$(nctl 1 record add example.test 'q2 60 IN A 198.51.100.2' 2>&1)
rc=$?
dt=$(($(date +%s) - t0))
is "$rc" 1 "no quorum: the edit on node 1 is refused, exit 1 (took ${dt} s)"
like "$out" '^dnsctl: cluster: ' "... the message says it is the cluster's refusal"
like "$out" 'unreachable or without quorum|no quorum or unreachable' "... and names the cause"
like "$out" "$(printf '%s' "$ETCD_URLS" | sed 's|,.*||; s|http://||; s|[.]|\\.|g')" "... and the etcd URLs"
diag "$out"
out2=$(nctl 3 record del example.test 'q1 60 IN A 198.51.100.1' 2>&1)
rc2=$?
is "$rc2" 1 "a delete on node 3 is refused too (exit 1)"
same=yes
for i in 1 2 3; do
    nctl $i zone export example.test >"$TMPD/after.$i"
    cmp -s "$TMPD/before.$i" "$TMPD/after.$i" || same="no (node $i)"
done
is "$same" yes "every node's store is unchanged by the refused edits"
# the nodes go on answering, also after their leases ran out (TTL 3 s)
sleep 4
ans=
for i in 1 2 3; do
    ans="$ans $(nshort $i q1.example.test A)/$(nshort $i q2.example.test A)"
done
is "$ans" " 198.51.100.1/ 198.51.100.1/ 198.51.100.1/" \
    "without quorum every node answers its last state (q1 there, q2 not)"
ok 'for i in 1 2 3; do kill -0 "$(_getv NODE_PID_$i)" || exit 1; done' "no node exited"
is "$(nshort 2 geo.example.test A +subnet=81.2.69.142/32)" 192.0.2.201 \
    "regional answers go on without quorum (GB client on node 2 -> eu)"

# quorum back
start_etcd_member 2
start_etcd_member 3
ok 'wait_etcd_healthy 30' "etcd healthy again (members 2 and 3 restarted)"
out=
k=0
# the first edit may meet an election in progress: a few tries, bounded
while [ $k -lt 5 ]; do
    k=$((k + 1))
    out=$(nctl 1 record add example.test 'q2 60 IN A 198.51.100.2' 2>&1) && break
    sleep 1
done
like "$out" '^added ' "quorum back: the edit on node 1 is accepted (try $k)"
ok 'wait_all_answer 198.51.100.2 15 3 q2.example.test A' "... and answered by all three"
ok 'nctl 3 record add example.test "q3 60 IN A 198.51.100.3" >/dev/null' "an edit on node 3 is accepted"
ok 'wait_all_answer 198.51.100.3 15 3 q3.example.test A' "... and answered by all three"
ok 'wait_exports_equal example.test 15 3' "the three exports are identical"
ok 'cluster_same 3 --name q1.example.test --name q2.example.test --name q3.example.test \
    --name geo.example.test --name www.example.test --name example.test --name nope.example.test \
    >"$TMPD/same.out" 2>&1' "every node answers names x regions x types identically"
tail -n 1 "$TMPD/same.out" | sed 's/^/# /'
[ $_tap_fail -eq 0 ] || { sed 's/^/# /' "$TMPD/same.out" | tail -5; cluster_tail_logs; }
