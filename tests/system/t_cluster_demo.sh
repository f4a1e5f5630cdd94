#!/bin/sh
# t_cluster_demo.sh -- the README's "Three-node cluster on one machine" stays
# true: tools/cluster-demo runs on free loopback ports in a temp dir (etcd,
# three dnsd on 127.0.0.11-13, Pebble), its own checks must all pass, this
# test checks the outcome again with its own dig and openssl, and every
# command the script shows ("$ ..." lines, with the temp dir and ports put
# back to the README's) must be in the README word for word.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
need pebble openssl curl
plan 12

D=$TMPD/demo
set -- $(_free_ports 8)
DPORT=$(free_udp_tcp_port)
export CLUSTER_DEMO_DIR="$D" CLUSTER_DEMO_SETUP=0 CLUSTER_DEMO_PORT="$DPORT" \
    CLUSTER_DEMO_ETCD_PORTS="$1 $2 $3 $4 $5 $6" CLUSTER_DEMO_ACME_PORT="$7" CLUSTER_DEMO_ACME_MGMT_PORT="$8"
stop_demo() { "$top_srcdir/tools/cluster-demo" stop >/dev/null 2>&1; }
at_exit stop_demo

timeout 300 "$top_srcdir/tools/cluster-demo" >"$TMPD/demo.out" 2>&1
rc=$?
is "$rc" 0 "tools/cluster-demo ran every step as the README says (exit 0)"
[ $rc = 0 ] || sed 's/^/# /' "$TMPD/demo.out" | tail -40
out=$(cat "$TMPD/demo.out")
like "$out" '-> ok: the edit made on node 2 is answered by all three nodes' "its check: the edit on all three"
like "$out" '-> ok: a European client gets eu.s answer from every node' "its check: regional answers on all three"
like "$out" '-> ok: one certificate, the same serial on all three nodes' "its check: one certificate on all three"
like "$out" '-> ok: Pebble made one order for the cluster' "its check: one order at Pebble"
unlike "$out" 'NOT AS THE README SAYS' "no step differed from the README"

# the same outcome, seen by this test
a=
for i in 1 2 3; do
    a="$a $(dig @127.0.0.1$i -p "$DPORT" +short +time=2 +tries=1 new.demo.example A)"
done
is "$a" " 192.0.2.99 192.0.2.99 192.0.2.99" "dig: new.demo.example answered by the three nodes"
is "$(dig @127.0.0.13 -p "$DPORT" +short +time=2 +tries=1 www.demo.example A +subnet=8.8.8.0/24)" \
    192.0.2.12 "dig: node 3 answers a North American client with na's record"
ok 'cmp -s "$D/node1/certs/demo.example/cert.pem" "$D/node2/certs/demo.example/cert.pem" &&
    cmp -s "$D/node1/certs/demo.example/cert.pem" "$D/node3/certs/demo.example/cert.pem"' \
    "the three nodes hold the same certificate file"
sans=$(openssl x509 -in "$D/node2/certs/demo.example/cert.pem" -noout -ext subjectAltName 2>/dev/null |
    tail -n 1 | tr -d ' ' | tr ',' '\n' | sort | tr '\n' ' ')
is "$sans" "DNS:*.demo.example DNS:demo.example " "... for the names requested"
st=$("$DNSCTL" --store "$D/node2/store" cluster status 2>&1)
is "$(printf '%s\n' "$st" | grep -E '^node[123] ' | awk '{ print $1 }' | sort | tr '\n' ' ')" \
    "node1 node2 node3 " "cluster status on node 2 lists the three nodes"

# the README shows exactly the commands the script ran
missing=
grep '^\$ ' "$TMPD/demo.out" | sed "s|$D|cluster-demo|g; s|-p $DPORT |-p 8053 |g" >"$TMPD/cmds"
while IFS= read -r c; do
    grep -qxF "    $c" "$top_srcdir/README.md" || missing="$missing [$c]"
done <"$TMPD/cmds"
is "${missing:-none} $(wc -l <"$TMPD/cmds" | tr -d ' ')" "none 6" \
    "the six commands the demo ran are in README.md as written"
