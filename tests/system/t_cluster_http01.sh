#!/bin/sh
# t_cluster_http01.sh -- HTTP-01 answered by any node of a cluster: three
# dnsd nodes (real three-member etcd) each with http01-listen; a key
# authorization written on node 1 only (tests/system/http01_rec, through the
# cluster as the ACME worker writes it) is served byte for byte by nodes 2
# and 3 too, each logging its own node name; removed on node 1, it is gone
# from every node. Then a real HAProxy runs the example configuration
# tools/haproxy-http01.cfg (only its 192.0.2.x addresses replaced by
# loopback ones): the challenge path is forwarded round robin to the three
# nodes (every node answers some of the requests, every answer is the key
# authorization), any other path goes to the app backend, and bad input
# (traversal, escapes, a query, other methods) through it gets 404/405.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
. "$top_srcdir/tests/system/lib_haproxy.sh"
need_cluster
need curl haproxy
REC=$top_builddir/tests/system/http01_rec
[ -x "$REC" ] || { echo "Bail out! tests/system/http01_rec not built"; exit 1; }
plan 19

TOK=LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
KA=$TOK.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
P=/.well-known/acme-challenge

start_etcd_cluster 3
for i in 1 2 3; do
    cluster_node_conf $i http01-listen "127.0.0.$((10 + i)):0"
done
start_cluster 3 example.test "$DATA/example.test.zone"
for i in 1 2 3; do
    eval "HP_$i=\$(sed -n 's/^http01 //p' \"\$TMPD/node$i/port\")"
done
diag "HTTP-01 ports: node1 $HP_1, node2 $HP_2, node3 $HP_3"

# get I: what node i's endpoint answers for the token (empty on 404)
get() {
    _h=$(_getv HP_$1)
    curl -s -f --max-time 5 "http://127.0.0.$((10 + $1)):$_h$P/$TOK"
}
# wait_nodes WANT: until every node's answer is WANT (at most 30 s)
wait_nodes() {
    _k=0
    while [ $_k -lt 300 ]; do
        _all=1 WAIT_GOT=
        for _i in 1 2 3; do
            _a=$(get $_i)
            WAIT_GOT="$WAIT_GOT node$_i=[$_a]"
            [ "$_a" = "$1" ] || _all=0
        done
        [ $_all = 1 ] && return 0
        _k=$((_k + 1))
        sleep 0.1
    done
    return 1
}

for i in 1 2 3; do
    is "$(get $i)" "" "node $i: the token is unknown before the order"
done
"$REC" "$TMPD/node1/store" put "$TOK" "$KA" www >"$TMPD/rec.out" 2>&1
is "$?" 0 "the key authorization written on node 1 (through the cluster)"
wait_nodes "$KA"
is "$?" 0 "every node serves it:$WAIT_GOT"
for i in 2 3; do
    ok "cluster_log_has $i 'http01: answered GET for token LoqXcYV8\\.\\.\\. to 127\\.0\\.0\\.1 on node node$i'" \
        "node $i logged the answer with its own node name"
done

# HAProxy with the example configuration, addresses replaced
start_http01_lb "$HP_1" "$HP_2" "$HP_3"
HAP_PORT=$LB_PORT
ok 'kill -0 "$LB_PID" 2>/dev/null' "HAProxy runs tools/haproxy-http01.cfg (127.0.0.2:$HAP_PORT)"
is "$(curl -s --max-time 5 "http://127.0.0.2:$HAP_PORT/index.html")" app "another path goes to the app backend"

# round robin: requests through HAProxy until every node answered one (at
# most 30); every answer must be the key authorization
before() { grep -c 'http01: answered' "$TMPD/node$1/dnsd.log"; }
B1=$(before 1) B2=$(before 2) B3=$(before 3)
bad=0 n=0
while [ $n -lt 30 ]; do
    n=$((n + 1))
    a=$(curl -s --max-time 5 -H 'Host: www.customer.example' "http://127.0.0.2:$HAP_PORT$P/$TOK")
    [ "$a" = "$KA" ] || bad=$((bad + 1))
    [ "$(before 1)" -gt "$B1" ] && [ "$(before 2)" -gt "$B2" ] && [ "$(before 3)" -gt "$B3" ] &&
        [ $n -ge 3 ] && break
done
is "$bad" 0 "through HAProxy: all $n answers are the key authorization"
for i in 1 2 3; do
    ok '[ "$(before '$i')" -gt "$(eval echo \$B'$i')" ]' "through HAProxy: node $i answered some"
done

# bad input through HAProxy reaches dnsd and is refused there
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 --path-as-is "$@"; }
is "$(code "http://127.0.0.2:$HAP_PORT$P/../../etc/passwd")" 404 "through HAProxy: traversal: 404"
is "$(code "http://127.0.0.2:$HAP_PORT$P/%2e%2e/%2e%2e/etc/passwd")" 404 \
    "through HAProxy: escaped traversal: 404"
is "$(code "http://127.0.0.2:$HAP_PORT$P/$TOK?x=1")" 404 "through HAProxy: a query string: 404"
is "$(code "http://127.0.0.2:$HAP_PORT$P/aaaaaaaaaaaaaaaaaaaaa")" 404 \
    "through HAProxy: a token of the wrong length: 404"
is "$(code -X POST "http://127.0.0.2:$HAP_PORT$P/$TOK")" 405 "through HAProxy: POST: 405"

# the order ended: removed on node 1, gone everywhere
"$REC" "$TMPD/node1/store" del "$TOK"
wait_nodes ""
is "$?" 0 "removed on node 1: every node says 404:$WAIT_GOT"
