#!/bin/sh
# t_cluster_dnssec.sh -- key rollovers in a cluster (real three-member etcd,
# two dnsd nodes): only the node holding the task lock "dnssec" makes the
# rollover steps and re-signs (each step once, logged there); the other
# node applies them through the cluster's log and serves the same keys; a
# rollover asked for on the other node's store goes through the cluster too;
# when the holder stops mid-rollover, the other node takes the lock (after
# the holder's lease) and finishes the rollover. Timings shortened (policy
# in seconds, dnssec-check-interval-ms 200); no check is about durations.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
plan 11

cat >"$TMPD/roll.zone" <<'EOF'
$ORIGIN roll.test.
$TTL 2
@       3 IN SOA ns.roll.test. hostmaster.roll.test. 1 60 30 600 2
@       3 IN NS  ns.roll.test.
ns        IN A   127.0.0.1
www       IN A   192.0.2.1
EOF
CLUSTER_CONF_EXTRA="dnssec-check-interval-ms 200"
start_etcd_cluster 3
start_cluster 2 roll.test "$TMPD/roll.zone"

# propagation 10 s: the old ZSK stays in DNSKEY 13 s after its signatures are
# gone, time enough to stop the lock holder before that last step
nctl 1 dnssec policy roll.test propagation=10 zsk-lifetime=never >/dev/null &&
    nctl 1 dnssec enable roll.test --ksk-zsk >/dev/null ||
    { echo "Bail out! dnssec enable in the cluster"; cluster_tail_logs; exit 1; }
nkeys() { nq "$1" roll.test DNSKEY +short | grep -c .; }
wait_keys() { # NODE COUNT: until node answers COUNT DNSKEY records (30 s)
    _k=0
    while [ "$(nkeys "$1")" != "$2" ]; do
        _k=$((_k + 1)); [ $_k -gt 300 ] && return 1; sleep 0.1
    done
}
ok 'wait_keys 1 2 && wait_keys 2 2' "both nodes serve the signed zone's KSK and ZSK"

wait_log() { # NODE REGEX: until the node logged it (60 s)
    _k=0
    while ! cluster_log_has "$1" "$2"; do
        _k=$((_k + 1)); [ $_k -gt 600 ] && return 1; sleep 0.1
    done
}
# which node holds the lock: it says so once
holder=
k=0
while [ -z "$holder" ] && [ $k -lt 300 ]; do
    for i in 1 2; do
        cluster_log_has $i "dnssec: cluster lock dnssec taken by node node$i" && holder=$i
    done
    k=$((k + 1)); sleep 0.1
done
ok '[ -n "$holder" ]' "one node takes the cluster lock dnssec (node${holder:-none})"
[ -n "$holder" ] || { cluster_tail_logs; exit 1; }
other=$((3 - holder))
ok 'wait_log $other "dnssec: node node$holder holds the cluster lock dnssec"' \
    "the other node says who holds it"

out=$(nctl $other dnssec rollover roll.test 2>&1)
like "$out" 'ZSK rollover \(asked for\): new ZSK [0-9]+' \
    "a rollover asked for on node $other's store goes through the cluster"
new=$(printf '%s\n' "$out" | sed -n 's/.*new ZSK \([0-9]*\) .*/\1/p' | head -n 1)
old=$(printf '%s\n' "$out" | sed -n 's/.*published beside \([0-9]*\);.*/\1/p' | head -n 1)
ok 'wait_keys 1 3 && wait_keys 2 3' "both nodes publish the new ZSK"

ok 'wait_log $holder "zone roll\.test\.: ZSK rollover: no signature of $old is left"' \
    "the lock holder activates the new ZSK and re-signs"
ok '! grep -q "dnssec: zone roll.test.: ZSK rollover" "$TMPD/node$other/dnsd.log"' \
    "the other node made no rollover step"

# the holder goes away before the last step; the other node finishes
stop_cluster_node "$holder"
ok 'wait_log $other "dnssec: cluster lock dnssec taken by node node$other"' \
    "after the holder's lease, node $other takes the lock"
ok 'wait_log $other "zone roll\.test\.: ZSK rollover done: $old \(key [0-9]+\) removed"' \
    "node $other finishes the rollover"
is "$(nkeys $other)" 2 "DNSKEY holds the KSK and the new ZSK"
sig=$(nq $other www.roll.test A +dnssec +short | awk '$1 == "A" { print $7 }')
is "$sig" "$new" "www.roll.test is signed by the new ZSK"
