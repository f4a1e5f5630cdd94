#!/bin/sh
# t_metrics.sh -- the Prometheus endpoint (metrics-listen, dnsd/metrics.c):
# scraped with curl, parsed with python3-prometheus-client's parser and
# linted by `promtool check metrics`; after a known set of queries (UDP and
# TCP, NOERROR, NXDOMAIN, REFUSED, FORMERR, ECS in a CIDR region) every
# counter concerned moved by exactly the traffic sent: by transport, rcode,
# qtype, zone, region, ECS scope, TCP connections. Only GET/HEAD /metrics
# is served (other paths 404, POST 405), never on the http01-listen
# listener, and the challenge path is not served on the metrics one. Off by
# default; a bad address is an error naming the setting; SIGHUP keeps it.
# As root: after the chroot and the drop to nobody the process gauges (read
# through descriptors opened before) and the store's are still there.
. "$top_srcdir/tests/system/lib.sh"
need dig curl promtool
/usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null || {
    [ "${REQUIRE_ALL:-0}" = 1 ] && { echo "Bail out! python3-prometheus-client is required"; exit 1; }
    skip_all "python3-prometheus-client not installed"
}
plan 54

PARSE="/usr/bin/python3 $top_srcdir/tests/system/promparse.py"
make_store example.test "$DATA/example.test.zone"
dnsctl region add lab --cidr 10.1.0.0/16 >/dev/null
dnsctl record add example.test --region lab 'geo 300 IN A 192.0.2.104' >/dev/null
dnsctl record add example.test 'geo 300 IN A 192.0.2.100' >/dev/null

# off by default
start_dnsd
is "$(grep -c '^metrics ' "$TMPD/port")" 0 "without metrics-listen: no metrics line in the port file"
stop_dnsd

# a bad address: a config error naming the setting
"$DNSD" --store "$STORE" --listen 127.0.0.1:0 --metrics-listen 'no:such:addr' >"$TMPD/bad.log" 2>&1
is "$?" 2 "bad --metrics-listen: exit 2"
like "$(cat "$TMPD/bad.log")" 'metrics-listen: "no:such:addr" is not an address' \
    "bad --metrics-listen: the error names the setting and the value"

start_dnsd --metrics-listen 127.0.0.1:0 --http01-listen 127.0.0.1:0 --rrl-rate 0
MP=$(sed -n 's/^metrics //p' "$TMPD/port")
HP=$(sed -n 's/^http01 //p' "$TMPD/port")
ok '[ -n "$MP" ] && [ "$MP" -gt 0 ]' "the port file names the metrics port ($MP)"
k=0
while ! grep -q 'metrics: serving' "$TMPD/dnsd.log" && [ $k -lt 200 ]; do sleep 0.05; k=$((k + 1)); done
like "$(cat "$TMPD/dnsd.log")" "metrics: serving /metrics on 127.0.0.1:0 \\(port $MP\\)" \
    "logged: serving /metrics"
M=http://127.0.0.1:$MP

# scrape N: the exposition into $TMPD/sN.txt, parsed into $TMPD/sN
scrape() {
    curl -s --max-time 5 -o "$TMPD/s$1.txt" "$M/metrics" &&
        $PARSE "$TMPD/s$1.txt" >"$TMPD/s$1"
}
# val N SAMPLE: the value of SAMPLE (as promparse.py prints it) in scrape N
val() { awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print $NF; f = 1 } END { if (!f) print "absent" }' "$TMPD/s$1"; }
# delta SAMPLE: its value in scrape 1 minus scrape 0
delta() {
    _a=$(val 0 "$1")
    _b=$(val 1 "$1")
    if [ "$_a" = absent ] || [ "$_b" = absent ]; then echo "absent ($_a -> $_b)"; else echo $((_b - _a)); fi
}

scrape 0
is "$?" 0 "scrape: curl and the Prometheus client's parser accept it"
promtool check metrics <"$TMPD/s0.txt" >"$TMPD/lint" 2>&1
is "$?" 0 "promtool check metrics: no problem"
sed 's/^/# /' "$TMPD/lint" | head -20
curl -s --max-time 5 -D "$TMPD/h" -o /dev/null "$M/metrics"
like "$(cat "$TMPD/h")" '^Content-Type: text/plain; version=0\.0\.4' "Content-Type: text format 0.0.4"
like "$(val 0 'dnsd_build_info{version="'"$("$DNSD" --version | sed 's/^dnsd //')"'"}')" '^1$' \
    "dnsd_build_info carries the version"
ok '[ "$(val 0 "process_open_fds{}")" -gt 5 ]' "process_open_fds is there"
ok '[ "$(val 0 "process_resident_memory_bytes{}")" -gt 1000000 ]' \
    "process_resident_memory_bytes is there"
is "$(val 0 'dnsd_workers{}')" 2 "dnsd_workers: 2"
is "$(val 0 'dnsd_zones{}')" 1 "dnsd_zones: 1"
is "$(val 0 'dnsd_regions{}')" 1 "dnsd_regions: 1"
ok '[ "$(val 0 "dnsd_store_generation{}")" -gt 0 ]' "dnsd_store_generation is there"

# the known traffic
for i in 1 2 3; do q www.example.test A >/dev/null; done             # 3 UDP NOERROR A
for i in 1 2; do q nope.example.test A >/dev/null; done              # 2 UDP NXDOMAIN A
q www.example.org A >/dev/null                                       # 1 UDP REFUSED (not ours)
q example.test MX +tcp >/dev/null                                    # 1 TCP NOERROR MX
q www.example.test AAAA +tcp >/dev/null                              # 1 TCP NOERROR AAAA
q geo.example.test A +subnet=10.1.200.0/24 >/dev/null                # 1 UDP ECS, region lab
q geo.example.test TXT +noedns >/dev/null                            # 1 UDP, no ECS
q www.example.test -t TYPE65280 >/dev/null                           # 1 UDP, qtype other
# a FORMERR: a query with two questions (dnspython would refuse to make it)
printf '\0\1\0\0\0\2\0\0\0\0\0\0\3www\7example\4test\0\0\1\0\1\3www\7example\4test\0\0\1\0\1' \
    >"$TMPD/formerr.bin"
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(open(sys.argv[1], "rb").read(), ("127.0.0.1", int(sys.argv[2])))
s.recv(4096)' "$TMPD/formerr.bin" "$PORT" 2>/dev/null
# TCP closes are counted when dnsd reads the client's EOF: wait for both
k=0
while scrape 1 && [ "$(delta 'dnsd_tcp_connections_closed_total{reason="peer"}')" != 2 ] &&
    [ $k -lt 100 ]; do
    sleep 0.05
    k=$((k + 1))
done

is "$(delta 'dnsd_queries_total{transport="udp"}')" 10 "UDP queries: +10"
is "$(delta 'dnsd_queries_total{transport="tcp"}')" 2 "TCP queries: +2"
is "$(delta 'dnsd_responses_total{rcode="NOERROR"}')" 8 "NOERROR: +8"
is "$(delta 'dnsd_responses_total{rcode="NXDOMAIN"}')" 2 "NXDOMAIN: +2"
is "$(delta 'dnsd_responses_total{rcode="REFUSED"}')" 1 "REFUSED: +1"
is "$(delta 'dnsd_responses_total{rcode="FORMERR"}')" 1 "FORMERR: +1"
is "$(delta 'dnsd_responses_total{rcode="SERVFAIL"}')" 0 "SERVFAIL: +0"
is "$(delta 'dnsd_qtype_queries_total{qtype="A"}')" 7 "qtype A: +7"
is "$(delta 'dnsd_qtype_queries_total{qtype="MX"}')" 1 "qtype MX: +1"
is "$(delta 'dnsd_qtype_queries_total{qtype="AAAA"}')" 1 "qtype AAAA: +1"
is "$(delta 'dnsd_qtype_queries_total{qtype="TXT"}')" 1 "qtype TXT: +1"
is "$(delta 'dnsd_qtype_queries_total{qtype="other"}')" 1 "qtype other (TYPE65280): +1"
is "$(delta 'dnsd_zone_queries_total{zone="example.test."}')" 10 \
    "zone example.test.: +10 (all but the REFUSED and the FORMERR)"
is "$(delta 'dnsd_zone_queries_total{zone="other"}')" 0 "zone other: +0"
is "$(delta 'dnsd_region_queries_total{region="lab"}')" 1 "region lab: +1 (the ECS query)"
is "$(delta 'dnsd_region_queries_total{region="default"}')" 9 "region default: +9"
is "$(delta 'dnsd_ecs_queries_total{}')" 1 "queries with ECS: +1"
is "$(val 1 'dnsd_ecs_responses_total{family="ipv4",scope="16"}')" 1 \
    "ECS answers, IPv4 scope 16 (the CIDR region's /16): 1"
is "$(grep -c '^dnsd_ecs_responses_total' "$TMPD/s1")" 1 "no other ECS scope series"
is "$(delta 'dnsd_tcp_connections_accepted_total{}')" 2 "TCP connections accepted: +2"
is "$(delta 'dnsd_tcp_connections_closed_total{reason="peer"}')" 2 "TCP closed by the client: +2"
is "$(val 1 'dnsd_tcp_connections_open{}')" 0 "TCP connections open: 0"
is "$(delta 'dnsd_truncated_total{}')" 0 "truncated: +0"

# the HTTP side
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
is "$(code "$M/")" 404 "metrics listener: / is 404"
is "$(code "$M/metricsx")" 404 "metrics listener: /metricsx is 404"
is "$(code "$M/metrics/x")" 404 "metrics listener: /metrics/x is 404"
is "$(code -X POST -d x=1 "$M/metrics")" 405 "metrics listener: POST /metrics is 405"
is "$(code -I "$M/metrics")" 200 "metrics listener: HEAD /metrics is 200"
is "$(code "$M/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0")" 404 \
    "metrics listener: the challenge path is 404"
is "$(code "http://127.0.0.1:$HP/metrics")" 404 "http01 listener: /metrics is 404"
unlike "$(curl -s --max-time 5 "http://127.0.0.1:$HP/metrics")" 'dnsd_' \
    "http01 listener: no metric in its answer"

# SIGHUP (no config file): the endpoint keeps answering, the geo reload counted
kill -HUP "$DNSD_PID"
k=0
while [ "$(code "$M/metrics")" != 200 ] && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done
is "$(code "$M/metrics")" 200 "after SIGHUP: still serving"
ok 'kill -0 "$DNSD_PID"' "after SIGHUP: dnsd runs"
# a region edit makes the main thread rebuild the geo table: one reload more
scrape 0
dnsctl region add lab2 --cidr 10.2.0.0/16 >/dev/null
k=0
while scrape 1 && [ "$(delta 'dnsd_geo_reloads_total{}')" = 0 ] && [ $k -lt 100 ]; do
    sleep 0.1
    k=$((k + 1))
done
is "$(delta 'dnsd_geo_reloads_total{}')" 1 "a region added: dnsd_geo_reloads_total +1"
is "$(val 1 'dnsd_region_queries_total{region="lab2"}')" 0 "the new region has its series"
stop_dnsd

# privileges: bound as root, served as nobody inside a chroot
if [ "$(id -u)" = 0 ] && id -u nobody >/dev/null 2>&1 && getent group nogroup >/dev/null 2>&1; then
    start_dnsd --metrics-listen 127.0.0.1:0 --user nobody --group nogroup --chroot "$TMPD"
    M=http://127.0.0.1:$(sed -n 's/^metrics //p' "$TMPD/port")
    k=0
    while ! scrape 0 && [ $k -lt 100 ]; do sleep 0.05; k=$((k + 1)); done
    like "$(cat "$TMPD/dnsd.log")" 'running as user nobody' "chroot and nobody: dnsd dropped root"
    ok '[ "$(val 0 "process_open_fds{}")" -gt 5 ]' "chroot and nobody: process_open_fds still read"
    ok '[ "$(val 0 "process_resident_memory_bytes{}")" -gt 1000000 ]' \
        "chroot and nobody: process_resident_memory_bytes still read"
    is "$(val 0 'dnsd_zones{}')" 1 "chroot and nobody: the store is read (dnsd_zones 1)"
    stop_dnsd
else
    skip 4 "needs root and nobody/nogroup to drop privileges"
fi
