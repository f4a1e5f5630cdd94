#!/bin/sh
# t_acme_cluster_http01.sh -- HTTP-01 answered by whichever cluster node the CA
# reaches (issue 18). Three dnsd nodes share one etcd cluster, each with its
# own http01-listen; an HAProxy on 127.0.0.2 running the example
# tools/haproxy-http01.cfg (its 192.0.2.x addresses replaced by loopback
# ones) forwards the challenge path round robin to the three (everything
# else to the application); Knot
# serves customer.example with www, api and shop A 127.0.0.2 (dnsd serves
# none of it); Pebble resolves the names through Knot and fetches the key
# authorizations from the HAProxy (its httpPort). The request is made on
# node 1; the node holding the order's task lock writes the key
# authorizations into the replicated store, waits until every live node
# applied them, checks its own endpoint, then answers. Issued; the three
# fetches went to the three nodes, so nodes that did not order answered
# (their logs); the key authorizations are gone from every node afterwards.
# Bad input through the HAProxy (traversal, escapes, wrong lengths, an
# unknown token) gets 404 from dnsd.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
. "$top_srcdir/tests/system/lib_haproxy.sh"
need_cluster
need_acme
need knotd kdig haproxy mdb_dump
plan 15

ID=www.customer.example
printf '%s\n' '$ORIGIN customer.example.' '$TTL 300' \
    '@ IN SOA ns1 hostmaster 1 3600 600 86400 60' '@ IN NS ns1' 'ns1 IN A 127.0.0.1' \
    'www IN A 127.0.0.2' 'api IN A 127.0.0.2' 'shop IN A 127.0.0.2' >"$TMPD/customer.zone"
start_knot customer.example "$TMPD/customer.zone"

# the load balancer's port on 127.0.0.2: Pebble's httpPort
LBP=$("$PY3" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.2", 0))
print(s.getsockname()[1])')

start_etcd_cluster 3
PEBBLE_HTTP_PORT=$LBP start_pebble "$KNOT_PORT"
acme_zone acme.test "$TMPD/acme.zone"
for i in 1 2 3; do
    cluster_node_conf $i acme-directory "$PEBBLE_DIR_URL" acme-ca-bundle "$PEBBLE_CA_BUNDLE" \
        acme-contact mailto:ops@acme.test acme-agree-tos yes acme-backoff-min 1 \
        acme-backoff-max 3 acme-propagation-timeout 60 \
        http01-listen "127.0.0.$((10 + i)):0" log-level info
done
start_cluster 3 acme.test "$TMPD/acme.zone"
for i in 1 2 3; do
    eval "HP$i=\$(sed -n 's/^http01 //p' \"\$TMPD/node$i/port\")"
done

# the load balancer: the example configuration, addresses made loopback ones
start_http01_lb "$HP1" "$HP2" "$HP3" "$LBP"

out=$(nctl 1 cert request www.customer.example api.customer.example shop.customer.example \
    --challenge http-01 --ca "$PEBBLE_DIR_URL" --wait 120 2>&1)
like "$out" "cert $ID: issued, serial [0-9A-F]+" "HTTP-01 through HAProxy and three nodes: issued (requested on node 1)"
printf '%s\n' "$out" | sed 's/^/# /'
nctl 2 cert show "$ID" | sed 's/^/# node 2: /'
orderer=
for i in 1 2 3; do
    cluster_log_has $i "acme: $ID: order https://" && orderer="$orderer$i"
done
like "$orderer" '^[123]$' "exactly one node ordered (node $orderer)"
ok 'cluster_log_has "$orderer" "acme: $ID: every live cluster node applied seq"' \
    "the challenges were answered after every live node applied the key authorizations"
ok 'cluster_log_has "$orderer" "acme: $ID: HTTP-01 key authorizations served on 1 http01-listen"' \
    "... and after the ordering node's own endpoint served them"
others=0
for i in 1 2 3; do
    [ "$i" = "$orderer" ] && continue
    cluster_log_has $i 'http01: answered GET for token' && others=$((others + 1))
done
is "$others" 2 "both nodes that did not order answered the CA (round robin through HAProxy)"
grep -E "acme: $ID: (every live|HTTP-01 key)" "$TMPD/node$orderer/dnsd.log" | sed "s/^/# node $orderer: /"
for i in 1 2 3; do
    grep 'http01: answered' "$TMPD/node$i/dnsd.log" | sed "s/^/# node $i: /"
done
st=$(nctl 2 cert show "$ID" --json 2>&1 | "$PY3" -c '
import json, sys
d = json.load(sys.stdin)
print(d["status"], d["challenge"])' 2>&1)
is "$st" "valid http-01" "node 2 sees it valid, proven with http-01"
n=0
for i in 1 2 3; do
    c=$(mdb_dump -p -s certs "$TMPD/node$i/store" 2>/dev/null | grep -c '^ http01:')
    [ "$c" = 0 ] && n=$((n + 1))
done
is "$n" 3 "no key authorization left on any node after the order"
pebble_root "$TMPD/root.pem"
like "$(verify_chain "$TMPD/node$orderer/certs/$ID/fullchain.pem" "$TMPD/root.pem")" ': OK$' \
    "the chain verifies against Pebble's root"

# bad input through the load balancer: dnsd's 404, nothing else
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 --path-as-is "http://127.0.0.2:$LBP$1"; }
P=/.well-known/acme-challenge/
is "$(code "${P}../../../etc/passwd")" 404 "traversal: 404"
is "$(code "${P}%2e%2e%2f%2e%2e%2fetc%2fpasswd")" 404 "escaped traversal: 404"
is "$(code "${P}abc")" 404 "a token too short: 404"
is "$(code "$P$("$PY3" -c 'print("A" * 129)')")" 404 "a token too long: 404"
is "$(code "${P}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")" 404 "an unknown token: 404"
is "$(code "${P}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/x")" 404 "an extra path segment: 404"
is "$(code /)" 200 "the rest still goes to the application"
