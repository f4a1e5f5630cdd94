#!/bin/sh
# t_cluster_latency.sh -- an edit made with dnsctl on any node of a three-node
# cluster (real three-member etcd) is answered by all three nodes within 1 s:
# 200 edits, the nodes taking turns, each timed from the start of dnsctl to
# the moment the last node answers it (tests/system/cluster_latency.py). The
# p50/p90/p99 are printed as TAP comments, and the 1 s bound is
# checked where timings belong, in the benchmark (tools/bench-cluster,
# BENCHMARKS.md): a pass/fail test asserts no timing (a full suite on a
# loaded 2-core machine measured a p99 of 1.07 s once). What is asserted:
# every committed edit is answered by every node (each waited for at most
# 5 s), and the nodes end identical. CLUSTER_LATENCY_EDITS=N for another count.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
need_dnspython
plan 5
n=${CLUSTER_LATENCY_EDITS:-200}

start_etcd_cluster 3
start_cluster 3 example.test "$DATA/example.test.zone"

"$PYTHON" "$top_srcdir/tests/system/cluster_latency.py" --servers "$(cluster_nodes_arg 3)" \
    --stores "$TMPD/node1/store,$TMPD/node2/store,$TMPD/node3/store" --dnsctl "$DNSCTL" \
    --zone example.test --count "$n" --timeout 5 >"$TMPD/lat.out" 2>&1
rc=$?
grep '^#' "$TMPD/lat.out"
res=$(grep '^RESULT ' "$TMPD/lat.out")
r() { printf '%s\n' "$res" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
is "$(r ok)" "$n" "all $n edits committed (dnsctl exit 0), made on nodes 1, 2, 3 in turn"
is "$(r unseen)" 0 "every committed edit answered by all three nodes (each waited for at most 5 s)"
is "$rc" 0 "cluster_latency.py found nothing wrong"
p99=$(r visible_p99)
diag "edit -> answered by all three nodes: p50 $(r visible_p50) ms, p99 $p99 ms, max $(r visible_max) ms (issue #13's bound: 1000 ms, checked by tools/bench-cluster)"

ok 'wait_serials_equal example.test 10 3' "the three nodes end on one SOA serial"
ok 'wait_exports_equal example.test 10 3' "dnsctl zone export is identical on the three nodes"
[ $_tap_fail -eq 0 ] || cluster_tail_logs
