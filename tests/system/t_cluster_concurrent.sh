#!/bin/sh
# t_cluster_concurrent.sh -- two nodes editing the same zone at the same time
# (real three-member etcd, three dnsd nodes): the edits are serialised by the
# cluster, none is lost and no node diverges. Two writers (dnsctl on node 1's
# store and on node 2's) each add records to names of their own and values
# to one shared TXT RRset (a read-modify-write of the same RRset from both
# sides), and delete some of their own. Afterwards every edit dnsctl reported
# as committed is in every node's store and answered by every node, none it
# refused is, the SOA serial moved once per committed edit, and
# `dnsctl zone export` is byte-identical on all three nodes.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
plan 10
per=${CLUSTER_CONCURRENT_EDITS:-40}

start_etcd_cluster 3
start_cluster 3 example.test "$DATA/example.test.zone"
s0=$(soa_serial 1 example.test)

# writer NODE: $per edits on that node's store, each logged as
# "ok|fail KIND RECORD"; every 5th edit deletes the writer's previous own record
writer() {
    _w=$1
    _k=1
    _t0=$(date +%s)
    while [ $_k -le "$per" ] && [ $(($(date +%s) - _t0)) -lt 120 ]; do
        if [ $((_k % 2)) = 0 ]; then
            rec="shared 60 IN TXT \"w$_w-$_k\""
            kind=add
        elif [ $((_k % 5)) = 0 ]; then
            rec="w$_w-$((_k - 2)) 60 IN A 198.19.$_w.$((_k - 2))"
            kind=del
        else
            rec="w$_w-$_k 60 IN A 198.19.$_w.$_k"
            kind=add
        fi
        if [ $kind = add ]; then
            nctl "$_w" record add example.test "$rec" >"$TMPD/w$_w.last" 2>&1
        else
            nctl "$_w" record del example.test "$rec" >"$TMPD/w$_w.last" 2>&1
        fi
        if [ $? = 0 ]; then
            echo "ok $kind $rec"
        else
            echo "fail $kind $rec: $(tr '\n' ' ' <"$TMPD/w$_w.last")"
        fi
        _k=$((_k + 1))
    done
}
writer 1 >"$TMPD/w1.log" &
p1=$!
writer 2 >"$TMPD/w2.log" &
p2=$!
wait $p1 $p2
cat "$TMPD/w1.log" "$TMPD/w2.log" >"$TMPD/all.log"
committed=$(grep -c '^ok ' "$TMPD/all.log")
refused=$(grep -c '^fail ' "$TMPD/all.log")
diag "$committed edits committed, $refused refused (2 writers x $per)"
grep '^fail ' "$TMPD/all.log" | head -5 | sed 's/^/# /'
ok "[ $committed -gt $per ]" "both writers committed edits ($committed of $((2 * per)))"
is "$(grep '^ok ' "$TMPD/w1.log" | wc -l | tr -d ' '),$(grep '^ok ' "$TMPD/w2.log" | wc -l | tr -d ' ')" \
    "$per,$per" "no edit refused while etcd is healthy (node 1, node 2)"

ok 'wait_serials_equal example.test 15 3' "the three nodes converge on one SOA serial"
is "$(soa_serial 3 example.test)" "$((s0 + committed))" "the serial moved exactly once per committed edit"
ok 'wait_exports_equal example.test 15 3' "dnsctl zone export is byte-identical on the three nodes"

# what must be there: adds not deleted later; what must not: the deletes
# and every refused edit (its A record or TXT value)
missing= extra=
for i in 1 2 3; do
    nctl $i zone export example.test >"$TMPD/exp.$i" 2>&1
done
while read -r st kind owner ttl cls type rdata; do
    rdata=${rdata%%:*}
    line_re="^$owner\\.example\\.test\\.[[:space:]]+$ttl[[:space:]]+IN[[:space:]]+$type[[:space:]]+$(printf '%s' "$rdata" | sed 's/[.]/\\./g')\$"
    deleted=no
    if [ "$kind" = add ] && [ "$type" = A ] &&
        grep -q "^ok del $owner " "$TMPD/all.log"; then
        deleted=yes
    fi
    for i in 1 2 3; do
        if [ "$st" = ok ] && [ "$kind" = add ] && [ $deleted = no ]; then
            grep -Eq "$line_re" "$TMPD/exp.$i" || missing="$missing node$i:$owner/$rdata"
        elif [ "$st" = ok ] && [ "$kind" = del ]; then
            grep -Eq "$line_re" "$TMPD/exp.$i" && extra="$extra node$i:$owner/$rdata(deleted)"
        elif [ "$st" = fail ] && [ "$kind" = add ]; then
            grep -Eq "$line_re" "$TMPD/exp.$i" && extra="$extra node$i:$owner/$rdata(refused)"
        fi
    done
done <"$TMPD/all.log"
is "${missing:-none}" none "every committed add is in every node's store"
is "${extra:-none}" none "no deleted or refused record is in any node's store"

want=$(grep '^ok add shared ' "$TMPD/all.log" | sed 's/.* TXT //' | sort | tr '\n' ' ' | sed 's/ $//')
for i in 1 2 3; do
    got=$(nshort $i shared.example.test TXT)
    [ "$got" = "$want" ] || diag "node $i answers shared TXT: $got"
done
ok 'wait_all_answer "$want" 5 3 shared.example.test TXT' \
    "the shared TXT RRset holds every committed value, on every node ($(echo "$want" | wc -w) values)"
last1=$(grep '^ok add w1-' "$TMPD/w1.log" | tail -n 1 | awk '{ print $3, $NF }')
ok 'wait_all_answer "${last1#* }" 5 3 "${last1%% *}.example.test" A' \
    "node 1's last own record answered by all three (${last1:-none})"
ok 'cluster_same 3 --name shared.example.test --name "${last1%% *}.example.test" --name example.test \
    --types A,TXT,SOA --subnets none >"$TMPD/same.out" 2>&1' \
    "all three nodes answer alike (cluster_same.py)"
[ $_tap_fail -eq 0 ] || { sed 's/^/# /' "$TMPD/same.out" | tail -5; cluster_tail_logs; }
