#!/bin/sh
# t_cluster_backup.sh -- a backup of one cluster node's store restores that
# node (dnsctl(1), store backup): the copy holds the node's applied position
# in the cluster's log, and once restored (stop, move the copy in place,
# start) the node replays the log from there, so it serves the edits the
# cluster made after the backup, not the older state the copy holds.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
plan 7

start_etcd_cluster 3
start_cluster 2 example.test "$DATA/example.test.zone"
nctl 1 record add example.test 'before 300 A 192.0.2.71' >/dev/null
wait_all_answer "192.0.2.71" 20 2 before.example.test A ||
    diag "node answers: $WAIT_GOT"

nctl 2 store backup "$TMPD/b2" >"$TMPD/out" 2>"$TMPD/err"
is "$?" 0 "backup of node 2's store while it runs in the cluster"
is "$(mdb_dump -s meta -p "$TMPD/b2" | grep -c '^ cluster_applied$')" 1 \
    "the copy holds the node's applied log position (meta cluster_applied)"
is "$("$DNSCTL" --store "$TMPD/b2" zone export example.test | grep -c '^after\.')" 0 \
    "the copy has no record made after it"

# the cluster moves on: an edit through node 1
nctl 1 record add example.test 'after 300 A 192.0.2.72' >/dev/null
wait_all_answer "192.0.2.72" 20 2 after.example.test A
is "$?" 0 "both nodes serve the edit made after the backup"

# restore node 2 from its backup: stop, move the copy in place, start
stop_cluster_node 2
mv "$TMPD/node2/store" "$TMPD/node2/store.old"
mv "$TMPD/b2" "$TMPD/node2/store"
start_cluster_node 2
wait_all_answer "192.0.2.72" 30 2 after.example.test A
is "$?" 0 "restored node 2 replayed the log past its copy: it serves the later edit"
is "$(nshort 2 before.example.test A)" "192.0.2.71" "... and what the copy held"
wait_exports_equal example.test 20 2
is "$?" 0 "node 2's zone is node 1's again, record for record"
