#!/bin/sh
# t_cluster_partition.sh -- a node cut off from the cluster keeps answering
# its last state and catches up afterwards, from the log and, when etcd has
# been compacted past it, from a snapshot (real three-member etcd, three
# dnsd nodes).
#
# What "SIGSTOP of one node (a partition)" means here: a node that is itself
# SIGSTOPped answers nothing, so "it keeps answering its last state" cannot
# be seen while it is stopped. Node 3 therefore reaches etcd only through a
# TCP gate of its own (tests/system/tcpgate.py), and the partition is a
# SIGSTOP of that gate: node 3 runs on, cut off from etcd, while node 1
# goes on editing.
#   1. 30 s partition: node 3 keeps answering its last state (checked
#      several times across the 30 s), refuses an edit with a clear message
#      (store unchanged) and, after SIGCONT of the gate, catches up with
#      every edit made meanwhile.
#   2. SIGSTOP of node 2's dnsd itself while edits go on and node 1 writes
#      a snapshot, trims the log (--keep 0) and compacts etcd; after SIGCONT
#      node 2 catches up.
#   3. Node 3 cut off again; edits, snapshot --keep 0 --compact; then the
#      gate is killed and restarted (every connection reset, as after a long
#      partition): node 3 must reconnect and, its position being compacted
#      away and the log trimmed past it, load the snapshot (snapshot path).
# After each phase the three exports are byte-identical. PARTITION_SECONDS=N
# shortens phase 1 (default 30, the issue's figure).
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
plan 22
secs=${PARTITION_SECONDS:-30}

start_etcd_cluster 3
CLUSTER_GATE_3=1
start_cluster 3 example.test "$DATA/example.test.zone"
nctl 1 record add example.test 'before 60 IN A 198.51.100.1' >/dev/null
ok 'wait_all_answer 198.51.100.1 10 3 before.example.test A' "an edit before the partition reaches all three"

# ---- phase 1: node 3 partitioned for $secs s by SIGSTOP of its gate ----
nctl 3 zone export example.test >"$TMPD/n3.before"
serial3=$(soa_serial 3 example.test)
gate_stop 3
t_start=$(date +%s)
# edits go on at node 1: one about every 0.3 s, bounded in count and time
(
    k=1
    while [ $k -le 200 ] && [ $(($(date +%s) - t_start)) -lt "$secs" ]; do
        if nctl 1 record add example.test "p$k 60 IN A 198.51.101.$k" >/dev/null 2>&1; then
            echo "p$k"
        fi
        k=$((k + 1))
        sleep 0.3
    done
) >"$TMPD/p.log" &
loop=$!
# node 3 while cut off: its last state, at several moments of the partition
checks=0 bad=
refused_rc= refused_out=
while [ $(($(date +%s) - t_start)) -lt "$secs" ] && [ $checks -lt 100 ]; do
    checks=$((checks + 1))
    a=$(nshort 3 before.example.test A)
    s=$(soa_serial 3 example.test)
    p=$(nshort 3 p1.example.test A)
    [ "$a" = 198.51.100.1 ] && [ "$s" = "$serial3" ] && [ -z "$p" ] ||
        bad="$bad [t+$(($(date +%s) - t_start))s before=$a serial=$s p1=$p]"
    if [ $checks = 2 ]; then
        # an edit on the cut-off node: refused, clearly, store unchanged
        refused_out=$(nctl 3 record add example.test 'cut 60 IN A 198.51.100.9' 2>&1)
        refused_rc=$?
    fi
    sleep 2
done
wait $loop
n_p=$(wc -l <"$TMPD/p.log" | tr -d ' ')
diag "partition of node 3: $(($(date +%s) - t_start)) s, $checks checks, $n_p edits committed on node 1 meanwhile"
want_checks=$((secs / 6))
[ $want_checks -le 5 ] || want_checks=5
[ $want_checks -ge 1 ] || want_checks=1
ok "[ $checks -ge $want_checks ]" "node 3 was checked at least $want_checks times during the partition ($checks)"
is "${bad:-none}" none "node 3 kept answering its last state (old serial, no new name) all along"
ok "[ $n_p -ge 10 ]" "edits went on at node 1 during the partition ($n_p committed)"
p_first=$(head -n 1 "$TMPD/p.log")
is "$(nshort 1 "$p_first.example.test" A)" "198.51.101.${p_first#p}" \
    "node 1 answers the edits node 3 does not have yet ($p_first)"
ok "[ \"$refused_rc\" != 0 ]" "an edit on the cut-off node 3 is refused (exit $refused_rc)"
like "$refused_out" 'dnsctl: cluster: .*(quorum|unreachable)' "... with a clear message naming the cause"
nctl 3 zone export example.test >"$TMPD/n3.during"
ok 'cmp -s "$TMPD/n3.before" "$TMPD/n3.during"' "node 3's store is unchanged by the refused edit"

ok 'gate_cont 3' "the gate of node 3 continues (SIGCONT): the partition ends"
last=$(tail -n 1 "$TMPD/p.log")
ok 'wait_all_answer "198.51.101.${last#p}" 20 3 "$last.example.test" A' \
    "after SIGCONT of its gate node 3 catches up: $last (the last edit of the partition) answered by all"
ok 'wait_exports_equal example.test 20 3' "the three exports are identical after the partition"
miss=
while read -r name; do
    grep -q "^$name\\.example\\.test\\." "$TMPD/export.3" || miss="$miss $name"
done <"$TMPD/p.log"
is "${miss:-none}" none "node 3 holds every edit made during the partition ($n_p)"
ok 'grep -q "^cut\\.example\\.test\\." "$TMPD/export.1" "$TMPD/export.3"; [ $? = 1 ]' \
    "the refused edit is on no node"

# ---- phase 2: SIGSTOP of node 2's dnsd; snapshot and compaction meanwhile ----
pid2=$NODE_PID_2
kill -STOP "$pid2"
k=1
while [ $k -le 8 ]; do
    nctl 1 record add example.test "s$k 60 IN A 198.51.102.$k" >/dev/null 2>&1
    k=$((k + 1))
done
out=$(nctl 1 cluster snapshot --keep 0 --compact 2>&1)
rc=$?
is "$rc" 0 "dnsctl cluster snapshot --keep 0 --compact while node 2 is stopped"
[ $rc = 0 ] || diag "$out"
nctl 1 record add example.test 's9 60 IN A 198.51.102.9' >/dev/null 2>&1
n2log=$(wc -l <"$TMPD/node2/dnsd.log")
kill -CONT "$pid2"
ok 'wait_all_answer 198.51.102.9 20 3 s9.example.test A' \
    "node 2 after SIGCONT: catches up with the edits and the snapshot made while it was stopped"
ok 'wait_exports_equal example.test 20 3' "the three exports are identical after node 2's stop"
how2=$(tail -n +"$((n2log + 1))" "$TMPD/node2/dnsd.log" |
    grep -Eo 'loaded snapshot [0-9]+|etcd compacted past revision [0-9]+' | tr '\n' ' ')
diag "node 2 after SIGCONT: ${how2:-caught up from the log and its watch (no snapshot loaded)}"

# ---- phase 3: node 3 cut off past a compaction, connections reset ----
gate_stop 3
k=1
while [ $k -le 8 ]; do
    nctl 1 record add example.test "c$k 60 IN A 198.51.103.$k" >/dev/null 2>&1
    k=$((k + 1))
done
is "$(nshort 3 c1.example.test A)" "" "node 3 is cut off again (does not have c1)"
out=$(nctl 1 cluster snapshot --keep 0 --compact 2>&1)
rc=$?
is "$rc" 0 "snapshot --keep 0 --compact while node 3 is cut off"
[ $rc = 0 ] || diag "$out"
# the log no longer holds what node 3 needs next: only the snapshot has it
first=$(etcdctl_c get --prefix /dnsd/log/ --keys-only 2>/dev/null | grep . | head -n 1)
diag "first log key left in etcd: ${first:-none}"
nctl 1 record add example.test 'c9 60 IN A 198.51.103.9' >/dev/null 2>&1
n3log=$(wc -l <"$TMPD/node3/dnsd.log")
gate_restart 3
ok 'wait_all_answer 198.51.103.9 30 3 c9.example.test A' \
    "node 3, reconnected after the compaction, catches up (from the snapshot)"
ok 'wait_exports_equal example.test 20 3' "the three exports are identical after the snapshot catch-up"
ok 'tail -n +"$((n3log + 1))" "$TMPD/node3/dnsd.log" | grep -Eq "node node3 loaded snapshot [1-9]"' \
    "node 3's log says it loaded the new snapshot (not the log entries it missed)"
ok 'cluster_same 3 --name before.example.test --name p1.example.test --name s9.example.test \
    --name c9.example.test --name example.test --name www.example.test --types A,SOA,TXT,AAAA \
    >"$TMPD/same.out" 2>&1' "all three nodes answer alike at the end (cluster_same.py)"
[ $_tap_fail -eq 0 ] || { sed 's/^/# /' "$TMPD/same.out" | tail -5; cluster_tail_logs; }
