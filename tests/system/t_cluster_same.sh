#!/bin/sh
# t_cluster_same.sh -- every node of a three-node cluster (real three-member
# etcd) answers identically for a sample of names x regions x record types.
# Zones, regions and regional records are edited on different nodes; then
# tests/system/cluster_same.py asks every node every owner name of the zone
# (plus missing names, names under a delegation, a wildcard) with 9 types
# and 7 client subnets (RFC 7871 ECS from the test geo data: GB, US-WA, JP,
# CN, a CIDR region, /0, and none) with dig and compares rcode, flags, ECS
# scope and every section. The checker is shown to see a difference (a
# standalone dnsd with one regional record changed), so "identical" is not
# vacuous, and the regional answers are shown to differ by region.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_cluster.sh"
need_cluster
[ -f "$GEO_DB" ] || skip_all "geo test data not found ($GEO_DB)"
plan 9

start_etcd_cluster 3
start_cluster 3 example.test "$DATA/example.test.zone"
# edits spread over the nodes: regions on node 2, records on 3 and 1, a
# second zone imported on node 3
regions() {
    _c=$1
    "$_c" region add eu --continent EU &&
        "$_c" region add na --continent NA &&
        "$_c" region add as --continent AS &&
        "$_c" region add us-wa --subdivision US-WA --fallback na &&
        "$_c" region add lab --cidr 10.1.0.0/16
}
records() {
    _c=$1
    "$_c" record add example.test --region eu 'geo 300 IN A 192.0.2.101' &&
        "$_c" record add example.test --region na 'geo 300 IN A 192.0.2.102' &&
        "$_c" record add example.test --region as 'geo 300 IN A 192.0.2.103' &&
        "$_c" record add example.test --region lab 'geo 300 IN A 192.0.2.104' &&
        "$_c" record add example.test 'geo 300 IN A 192.0.2.100' &&
        "$_c" record add example.test --region eu 'www 300 IN AAAA 2001:db8::e0' &&
        "$_c" record add example.test --region us-wa 'geo 300 IN TXT "us-wa"'
}
n2() { nctl 2 "$@"; }
n3() { nctl 3 "$@"; }
n1() { nctl 1 "$@"; }
ok 'regions n2 >"$TMPD/r.out" 2>&1' "regions added on node 2"
ok 'records n3 >"$TMPD/rec.out" 2>&1 && n1 record add example.test --region na "mail 300 IN A 192.0.2.125" >/dev/null' \
    "regional records added on nodes 3 and 1"
ok 'n3 zone import other.test "$DATA/other.test.zone" >/dev/null' "a second zone imported on node 3"
ok 'wait_exports_equal example.test 15 3 && wait_exports_equal other.test 15 3' \
    "the nodes converge (identical exports of both zones)"

# the sample: every owner name of both zones, some missing names, names
# below the delegation and under the wildcard
for z in example.test other.test; do
    nctl 1 zone export $z | awk '!/^;/ && NF { print $1 }'
done | sed 's/^\*\./x1./' | sort -u >"$TMPD/names"
printf '%s\n' nope.example.test deep.nope.example.test www.sub.example.test a.b.wc.example.test \
    nope.other.test >>"$TMPD/names"
nn=$(wc -l <"$TMPD/names" | tr -d ' ')
types=A,AAAA,TXT,CNAME,MX,NS,SOA,ANY,DNAME
cluster_same 3 --names "$TMPD/names" --types $types >"$TMPD/same.out" 2>&1
rc=$?
is "$rc" 0 "every node answers identically: $(tail -n 1 "$TMPD/same.out")"
[ $rc = 0 ] || sed 's/^/# /' "$TMPD/same.out" | head -20
cluster_same 3 --names "$TMPD/names" --types A,AAAA,SOA --tcp >"$TMPD/same-tcp.out" 2>&1
is "$?" 0 "... over TCP too: $(tail -n 1 "$TMPD/same-tcp.out")"
diag "$nn names x 9 types x 7 client subnets"

# the regions matter (the sample is not one answer seven times) ...
is "$(nshort 3 geo.example.test A +subnet=81.2.69.142/32) $(nshort 1 geo.example.test A +subnet=216.160.83.56/32) $(nshort 2 geo.example.test A +subnet=10.1.200.0/24)" \
    "192.0.2.101 192.0.2.102 192.0.2.104" "regional answers differ by client subnet (eu, us-wa -> na, lab) on every node"

# ... and the checker sees a difference: a standalone dnsd (no cluster)
# serving the same data except one regional record
STORE=$TMPD/standalone
make_store example.test "$DATA/example.test.zone"
regions dnsctl >/dev/null 2>&1
records dnsctl >/dev/null 2>&1
dnsctl record add example.test --region na 'mail 300 IN A 192.0.2.125' >/dev/null
dnsctl record del example.test --region eu 'geo 300 IN A 192.0.2.101' >/dev/null
dnsctl record add example.test --region eu 'geo 300 IN A 192.0.2.111' >/dev/null
start_dnsd --rrl-rate 0 --geo-database "$GEO_DB"
"$CLUSTER_PY" "$top_srcdir/tests/system/cluster_same.py" \
    --servers "$(cluster_nodes_arg 1),127.0.0.1:$PORT" --name geo.example.test --name www.example.test \
    --types A,AAAA >"$TMPD/diff.out" 2>&1
rc=$?
is "$rc" 1 "cluster_same.py reports a node that differs (exit 1)"
like "$(cat "$TMPD/diff.out")" '^DIFF geo\.example\.test A 81\.2\.69\.142/32: .*192\.0\.2\.111' \
    "... naming the question and region (GB client, eu's record)"
[ $_tap_fail -eq 0 ] || cluster_tail_logs
