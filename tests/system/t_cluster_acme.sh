#!/bin/sh
# t_cluster_acme.sh -- one certificate order per cluster, the certificate on
# every node (issue #13): a three-member etcd, three dnsd nodes on 127.0.0.x
# (own stores, ports, cert dirs, one cluster key) and Pebble as the CA. The
# request is made with dnsctl on node 2; one node takes the order's task
# lock and drives it; it is killed (SIGKILL) while the order waits in
# "published" (challenge TXT records written, challenges not answered yet).
# Its lease runs out, another node takes the lock and resumes the SAME order
# (same URL): Pebble records exactly one order and one issued certificate,
# its management interface knows the serial as valid. The answer to the
# challenges waited until every live node had applied the TXT records
# (zc_wait_applied, logged). Every surviving node writes the PEM files and
# runs its deploy hook, and `dnsctl cert show` on any node lists each
# site's deployment; the killed node, restarted, catches up and deploys too.
# Then a shard: one node orders it, every node writes the region's bundle
# and probes the load balancer (openssl s_server on that bundle) from its
# own site; `dnsctl shard status` on any node shows the three sites. A CA
# that fails leaves its backoff in the replicated store ("ca:<directory>").
# Pebble asks one DNS server: dnsfwd.py relays its queries to the first
# node that answers (the killed one is skipped).
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
need_acme
need mdb_dump
plan 34

ID=www.acme.test
cat >"$TMPD/hook.sh" <<'EOS'
#!/bin/sh
echo "$DNSD_CERT_ID $DNSD_CERT_SERIAL" >"$HOOK_OUT"
EOS
chmod +x "$TMPD/hook.sh"

start_etcd_cluster 3
P=$(free_udp_tcp_port)
start_pebble "$P"
acme_zone acme.test "$TMPD/acme.zone"
for i in 1 2 3; do
    # the challenge delay holds the order in "published" long enough to kill its driver
    cluster_node_conf $i acme-directory "$PEBBLE_DIR_URL" acme-ca-bundle "$PEBBLE_CA_BUNDLE" \
        acme-contact mailto:ops@acme.test acme-agree-tos yes acme-backoff-min 1 \
        acme-backoff-max 3 acme-challenge-delay 12 acme-propagation-timeout 60 \
        deploy-hook "HOOK_OUT=$TMPD/node$i/hook.out $TMPD/hook.sh" shard-probe-interval 1 \
        log-level debug
done
start_cluster 3 acme.test "$TMPD/acme.zone"
"$PY3" "$top_srcdir/tests/system/dnsfwd.py" "127.0.0.1:$P" \
    "$NODE_ADDR_1:$NODE_PORT_1,$NODE_ADDR_2:$NODE_PORT_2,$NODE_ADDR_3:$NODE_PORT_3" 0.5 \
    "$TMPD/dnsfwd.log" "$TMPD/dnsfwd.ready" 600 >"$TMPD/dnsfwd.out" 2>&1 &
FWD_PID=$!
stop_fwd() { stop_pid "$FWD_PID"; }
at_exit stop_fwd
k=0
while [ ! -f "$TMPD/dnsfwd.ready" ] && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done

# ncert I FIELD: a field of `dnsctl cert show ID --json` on node i ("a.b" nested)
ncert() {
    nctl "$1" cert show "$ID" --json 2>/dev/null | "$PY3" -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d.get(k, "") if isinstance(d, dict) else ""
print(d)' "$2"
}
# wait_ncert I FIELD VALUE SECONDS
wait_ncert() {
    _end=$(($(date +%s) + $4))
    _k=0
    while [ $_k -lt $(($4 * 5 + 5)) ]; do
        _k=$((_k + 1))
        [ "$(ncert "$1" "$2")" = "$3" ] && return 0
        [ "$(date +%s)" -le "$_end" ] || return 1
        sleep 0.2
    done
    return 1
}
lock_holder() { etcdctl_c get --print-value-only "/dnsd/lock/order/$ID" 2>/dev/null; }

out=$(nctl 2 cert request "$ID" 2>&1)
like "$out" "$ID" "dnsctl cert request on node 2"
ok 'wait_ncert 2 order.step published 40' "an order is placed and its challenge TXT records published"
url1=$(ncert 2 order.url)
like "$url1" '^https://127\.0\.0\.1:[0-9]+/my-order/' "the order's URL is in the replicated state"
ok 'wait_ncert 1 order.url "$url1" 5 && wait_ncert 3 order.url "$url1" 5' \
    "every node's store holds the same order"
holder=$(lock_holder)
like "$holder" '^node[123]$' "one node holds the order's task lock ($holder)"
h=${holder#node}
n=0
for i in 1 2 3; do
    cluster_log_has $i "acme: $ID: order https://" && n=$((n + 1))
done
is "$n" 1 "exactly one node placed the order"
is "$(nshort 2 _acme-challenge.$ID TXT | wc -w)" 1 "the challenge record is served (node 2)"

# the driver dies mid-order
kill -9 "$(_getv NODE_PID_$h)"
wait "$(_getv NODE_PID_$h)" 2>/dev/null
eval "NODE_PID_$h="
survivors=
for i in 1 2 3; do
    [ $i != "$h" ] && survivors="$survivors $i"
done
s1=$(echo $survivors | cut -d' ' -f1)
s2=$(echo $survivors | cut -d' ' -f2)

ok 'wait_ncert $s1 status valid 90' "another node completes the order (node $s1's view)"
holder2=$(grep -l "acme: $ID: issued serial" "$TMPD"/node$s1/dnsd.log "$TMPD"/node$s2/dnsd.log |
    sed 's|.*/node\([0-9]\)/dnsd.log|node\1|' | tr '\n' ' ' | sed 's/ $//')
like "$holder2" "^node($s1|$s2)$" "one surviving node took the lock over and finished ($holder2)"
is "$(ncert $s1 certificate.order_url)" "$url1" "the certificate came from the order placed before the kill"
is "$(grep -c 'Added order' "$PEBBLE_LOG")" 1 "Pebble saw exactly one order"
is "$(grep -c 'Issued certificate serial' "$PEBBLE_LOG")" 1 "and issued exactly one certificate"
serial=$(ncert $s1 certificate.serial)
st=$(curl -fsS --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" \
    "$PEBBLE_MGMT_URL/cert-status-by-serial/$(printf '%s' "$serial" | tr 'A-F' 'a-f')" 2>&1)
like "$st" '"Status": *"Valid"' "Pebble's management interface knows serial $serial as valid"
ok 'grep -q "acme: $ID: every live cluster node applied seq" "$TMPD"/node$s1/dnsd.log "$TMPD"/node$s2/dnsd.log' \
    "the challenges were answered after every live node applied the TXT records"

# every surviving node deploys: files, hook, its site record
ok 'wait_ncert $s2 status valid 10' "node $s2 sees it valid too"
pebble_root "$TMPD/root.pem"
nok=0
for i in $s1 $s2; do
    k=0
    while [ ! -s "$TMPD/node$i/hook.out" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
    f=$TMPD/node$i/certs/$ID/fullchain.pem
    if [ -s "$f" ] && [ "$(cat "$TMPD/node$i/hook.out")" = "$ID $serial" ] &&
        verify_chain "$f" "$TMPD/root.pem" | grep -q ': OK$' &&
        [ "$(stat -c %a "$TMPD/node$i/certs/$ID/privkey.pem")" = 600 ]; then
        nok=$((nok + 1))
    else
        diag "node $i: $(ls -l "$TMPD/node$i/certs/$ID" 2>&1 | tr '\n' ' ') hook: $(cat "$TMPD/node$i/hook.out" 2>&1)"
    fi
done
is "$nok" 2 "both surviving nodes wrote the chain (verifies against Pebble's root) and key (0600), and ran their hook"

# sites_of I: "nodeA:serial:ok nodeB:..." from `dnsctl cert show --json` on node i
sites_of() {
    nctl "$1" cert show "$ID" --json 2>/dev/null | "$PY3" -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted("%s:%s:%s" % (s["node"], s["serial"], "ok" if s["ok"] else "FAILED")
                      for s in d.get("sites", []))))'
}
want="$(for i in $s1 $s2; do printf 'node%s:%s:ok ' $i "$serial"; done | sed 's/ $//')"
k=0
while [ "$(sites_of $s1)" != "$want" ] && [ $k -lt 50 ]; do sleep 0.2; k=$((k + 1)); done
is "$(sites_of $s1)" "$want" "cert show --json on node $s1 lists both sites' deployments"
is "$(sites_of $s2)" "$want" "... and on node $s2 the same"
out=$(nctl $s2 cert show "$ID" 2>&1)
like "$out" "site node$s1: ok at .*serial $serial; deploy hook: exit 0" "cert show (text): node $s1's site"
like "$out" "site node$s2: ok at .*serial $serial; deploy hook: exit 0" "... and node $s2's"
printf '%s\n' "$out" | sed 's/^/# /'

# the killed node comes back: it catches up with the cluster and deploys too
start_cluster_node "$h"
k=0
while [ ! -s "$TMPD/node$h/hook.out" ] && [ $k -lt 150 ]; do sleep 0.2; k=$((k + 1)); done
is "$(cat "$TMPD/node$h/hook.out" 2>&1)" "$ID $serial" "the restarted node $h deployed the certificate (hook ran)"
want3="$(for i in 1 2 3; do printf 'node%s:%s:ok ' $i "$serial"; done | sed 's/ $//')"
k=0
while [ "$(sites_of $s1)" != "$want3" ] && [ $k -lt 50 ]; do sleep 0.2; k=$((k + 1)); done
is "$(sites_of $s1)" "$want3" "every site's deployment shows on node $s1"
is "$(grep -c 'Added order' "$PEBBLE_LOG")" 1 "still one order at Pebble (the restarted node ordered nothing)"
is "$(nshort $s1 _acme-challenge.$ID TXT)" "" "the challenge record is gone"

# ---- a shard: ordered once, bundled and probed on every site ----
nctl 1 region add eu --cidr 10.1.0.0/16 >/dev/null
set -- $(free_tcp_ports 1)
LB=$1
out=$(nctl 3 shard add acme.test --region eu --names shard.acme.test --lb "127.0.0.1:$LB" \
    --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)
like "$out" 'issued' "shard added on node 3: issued"
bundle=certs/regions/eu/acme.test.pem
nb=0
for i in 1 2 3; do
    k=0
    while [ ! -s "$TMPD/node$i/$bundle" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
    [ -s "$TMPD/node$i/$bundle" ] && nb=$((nb + 1))
done
is "$nb" 3 "every node wrote the region's bundle"
n=0
for i in 1 2 3; do
    cluster_log_has $i 'acme: acme\.test@eu: order https://' &&
        n=$((n + 1))
done
is "$n" 1 "one node ordered the shard"
# the load balancer: a TLS server presenting the bundle
openssl s_server -accept "127.0.0.1:$LB" -cert "$TMPD/node1/$bundle" -key "$TMPD/node1/$bundle" \
    -quiet -naccept 1000 </dev/null >"$TMPD/lb.log" 2>&1 &
LB_PID=$!
stop_lb() { stop_pid "$LB_PID"; }
at_exit stop_lb
# sites_health I: "nodeA:healthy nodeB:..." from `shard status --json` on node i
sites_health() {
    nctl "$1" shard status --json 2>/dev/null | "$PY3" -c '
import json, sys
for v in json.load(sys.stdin):
    print(" ".join(sorted("%s:%s" % (s["node"], "healthy" if s.get("health", {}).get("healthy")
                                      else "UNHEALTHY") for s in v.get("sites", []))))'
}
k=0
while [ "$(sites_health 2)" != "node1:healthy node2:healthy node3:healthy" ] && [ $k -lt 100 ]; do
    sleep 0.2
    k=$((k + 1))
done
is "$(sites_health 2)" "node1:healthy node2:healthy node3:healthy" \
    "every site probed the load balancer and found the shard's serial (node 2's view)"
out=$(nctl 1 shard status 2>&1)
like "$out" 'SITE +REGION +DOMAIN +SERIAL' "shard status lists the sites"
is "$(printf '%s\n' "$out" | grep -cE '^node[123] +eu +acme\.test +[0-9A-F]+ .* healthy')" 3 \
    "... one healthy row per site"
printf '%s\n' "$out" | sed 's/^/# /'
stop_lb
k=0
while [ "$(sites_health 3)" != "node1:UNHEALTHY node2:UNHEALTHY node3:UNHEALTHY" ] && [ $k -lt 100 ]; do
    sleep 0.2
    k=$((k + 1))
done
like "$(nctl 3 shard status 2>&1)" "node1 +eu .*UNHEALTHY +127\.0\.0\.1:$LB: " \
    "the load balancer gone: each site reports it, with the probe's error"

# a CA failing: its backoff is stored, so it holds for every node
stop_pebble
nctl 1 cert request down.acme.test >/dev/null 2>&1
cabackoff() { mdb_dump -p -s certs "$TMPD/node$1/store" 2>/dev/null | grep -A1 "^ ca:$PEBBLE_DIR_URL\$" | tail -n 1; }
k=0
while [ -z "$(cabackoff 2)" ] && [ $k -lt 100 ]; do sleep 0.2; k=$((k + 1)); done
like "$(cabackoff 2)" '"backoff_until": *[0-9]+,.*"error": *"[^"]*connect' \
    "a transient error at the CA: its backoff is in the replicated store (node 2's copy)"

# deleting the certificate deletes every site's record with it
out=$(nctl 1 cert delete "$ID" 2>&1)
like "$out" 'deleted' "cert delete on node 1"
nctl 3 cert request "$ID" >/dev/null 2>&1
is "$(sites_of 3)" "" "requested again: no site record left from the deleted certificate"
