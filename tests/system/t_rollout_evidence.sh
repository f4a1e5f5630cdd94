#!/bin/sh
# t_rollout_evidence.sh -- rollout evidence into a running dnsd (issue 15,
# dnsd/evidence.c): two real HAProxy load balancers of shard
# example.test@eu run the shipped tools/haproxy-rollout.cfg (only its
# addresses, port and crt-list replaced) and log every TLS handshake to
# dnsd's rollout-syslog-listen port: the stable one (127.0.0.2) presents a
# good certificate, the canary one (127.0.0.3) one from a CA the clients do
# not trust, which they reject inside the handshake (a name mismatch would
# not do: curl checks the name after the handshake, so HAProxy sees it
# complete -- only probes and beacons report that). Real handshakes (curl, openssl
# s_client, bounded counts), JSON lines on the evidence socket (python3), and
# dnsd's own probes while the shard's rollout state is "running"; every
# count is checked exactly on the metrics endpoint: per source and result
# (dnsd_rollout_evidence_total) and per pool (dnsd_rollout_pool_samples_total).
# The canary pool and the rollout state are written by the test helper
# rollout_ev_rec (what `shard set --canary-lb` and the controller write).
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_haproxy.sh"
need_haproxy
need curl
plan 45

REC=$top_builddir/tests/system/rollout_ev_rec
make_store example.test "$DATA/example.test.zone"
dnsctl region add eu --cidr 10.1.0.0/16 >/dev/null
shard_ca "$TMPD/ca" >/dev/null
CA=$TMPD/ca/root.pem
mkdir -p "$TMPD/s" "$TMPD/c"
shard_bundle "$TMPD/ca" "$TMPD/s/good.pem" www.example.test >/dev/null
shard_ca "$TMPD/ca2" >/dev/null # a CA the clients do not trust
shard_bundle "$TMPD/ca2" "$TMPD/c/bad.pem" www.example.test >/dev/null
write_atomic "$TMPD/s/crt-list.txt" "$TMPD/s/good.pem"
write_atomic "$TMPD/c/crt-list.txt" "$TMPD/c/bad.pem"
PS=$(_hap_free_port 127.0.0.2)
PC=$(_hap_free_port 127.0.0.3)
dnsctl shard add example.test --region eu --names www.example.test --lb "127.0.0.2:$PS" >/dev/null ||
    { echo "Bail out! shard add"; exit 1; }
"$REC" "$STORE" example.test@eu canary "127.0.0.3:$PC" || { echo "Bail out! canary pool"; exit 1; }

# settings: a bad address names the setting; off by default (no port-file line)
"$DNSD" --store "$STORE" --listen 127.0.0.1:0 --rollout-syslog-listen 'no:such:addr' \
    >"$TMPD/bad.log" 2>&1
is "$?" 2 "bad --rollout-syslog-listen: exit 2"
like "$(cat "$TMPD/bad.log")" 'rollout-syslog-listen: "no:such:addr" is not an address' \
    "... the error names the setting and the value"
"$DNSD" --store "$STORE" --listen 127.0.0.1:0 --rollout-evidence-socket relative.sock \
    >"$TMPD/bad.log" 2>&1
is "$?" 2 "relative --rollout-evidence-socket: exit 2"

SOCK=$TMPD/evidence.sock
start_dnsd --rollout-syslog-listen 127.0.0.1:0 --rollout-evidence-socket "$SOCK" \
    --rollout-probe-interval 1 --rollout-probe-ca "$CA" --metrics-listen 127.0.0.1:0
SP=$(sed -n 's/^rollout-syslog //p' "$TMPD/port")
MP=$(sed -n 's/^metrics //p' "$TMPD/port")
ok '[ -n "$SP" ] && [ "$SP" -gt 0 ]' "the port file names the syslog port ($SP)"
is "$(stat -c %a "$SOCK")" 660 "the evidence socket has mode 0660"

# an app behind both load balancers, so requests get an answer
"$HAP_PY" -m http.server 0 --bind 127.0.0.1 >"$TMPD/app.log" 2>&1 &
APP_PID=$!
stop_app() { stop_pid "$APP_PID"; }
at_exit stop_app
i=0
while ! AP=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$TMPD/app.log" | head -n 1) || [ -z "$AP" ]; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "Bail out! no app server"; exit 1; }; sleep 0.1
done

# the shipped config, with only its addresses, port and crt-list replaced
start_lb() { # NAME ADDR PORT CRTLIST
    sed -e "s/192\\.0\\.2\\.53:5514/127.0.0.1:$SP/" -e "s/192\\.0\\.2\\.1:443/$2:$3/" \
        -e "s|/etc/haproxy/crt-list.txt|$4|" -e "s/192\\.0\\.2\\.80:80/127.0.0.1:$AP/" \
        "$top_srcdir/tools/haproxy-rollout.cfg" >"$TMPD/lb-$1.cfg"
    grep -v '^ *#' "$TMPD/lb-$1.cfg" | grep -q '192\.0\.2\.' && _hap_bail "lb $1: an address left"
    haproxy -f "$TMPD/lb-$1.cfg" -db >"$TMPD/lb-$1.log" 2>&1 &
    eval "LB_$1=\$!"
    _i=0
    while ! "$HAP_PY" -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
        "$2" "$3" 2>/dev/null; do
        _i=$((_i + 1)); [ $_i -gt 100 ] && _hap_bail "lb $1 did not start" "$TMPD/lb-$1.log"; sleep 0.1
    done
}
stop_lbs() { stop_pid "${LB_S:-}"; stop_pid "${LB_C:-}"; }
at_exit stop_lbs
start_lb S 127.0.0.2 "$PS" "$TMPD/s/crt-list.txt"
start_lb C 127.0.0.3 "$PC" "$TMPD/c/crt-list.txt"
# the readiness checks were TCP connects: HAProxy logs nothing for them (no
# ClientHello, no serial: ignored by dnsd) -- the counts below start at zero

M=http://127.0.0.1:$MP/metrics
scrape() { curl -s --max-time 5 "$M" >"$TMPD/m.txt"; }
# v NAME LABELS: a sample's value from the last scrape (0 when absent)
v() {
    _v=$(grep "^$1{$2} " "$TMPD/m.txt" | cut -d' ' -f2)
    echo "${_v:-0}"
}
ev() { v dnsd_rollout_evidence_total "source=\"$1\",result=\"$2\""; }
pool() { v dnsd_rollout_pool_samples_total "cert=\"example.test@eu\",pool=\"$1\",result=\"$2\""; }
# wait_total SOURCE N: until the source's four results add up to N (20 s at most)
total() { scrape; echo $(($(ev "$1" ok) + $(ev "$1" fail) + $(ev "$1" malformed) + $(ev "$1" unmatched))); }
wait_total() {
    _i=0
    while [ "$(total "$1")" -lt "$2" ] && [ $_i -lt 200 ]; do sleep 0.1; _i=$((_i + 1)); done
}
scrape
is "$(total syslog)$(total json)$(total probe)" 000 "nothing counted before any handshake"

# ---- (a) HAProxy over syslog: real handshakes ----
URL=https://www.example.test
for k in 1 2 3 4; do
    curl -s -o /dev/null --cacert "$CA" --resolve "www.example.test:$PS:127.0.0.2" "$URL:$PS/" ||
        diag "stable curl $k failed"
done
# handshakes without a request: logged by the error-log-format with fc_err 0 (ok=1)
for k in 1 2; do
    openssl s_client -connect "127.0.0.2:$PS" -servername www.example.test </dev/null >/dev/null 2>&1
done
for k in 1 2 3; do # the client rejects the canary's certificate (unknown CA)
    curl -s -o /dev/null --cacert "$CA" --resolve "www.example.test:$PC:127.0.0.3" "$URL:$PC/" &&
        diag "canary curl $k succeeded"
done
curl -s -k -o /dev/null --resolve "www.example.test:$PC:127.0.0.3" "$URL:$PC/" # -k: accepted
# crafted datagrams: a malformed line, a load balancer of no shard, another message
"$HAP_PY" - "$SP" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for m in (b"<134>1 2026-12-08T02:28:03Z - haproxy 1 - - dnsd-tls v=1 ok=1",
          b"<134>Dec  8 02:28:34 lb haproxy[2]: dnsd-tls v=1 fe=127.0.0.9:443 ok=1 serial=01",
          b"<134>Dec  8 02:28:34 lb haproxy[2]: Proxy tls started."):
    s.sendto(m, ("127.0.0.1", int(sys.argv[1])))
EOF
wait_total syslog 12
is "$(ev syslog ok)" 7 "syslog: 7 completed handshakes (4 requests and 2 without on stable, 1 -k on canary)"
is "$(ev syslog fail)" 3 "syslog: 3 failed (the clients refused the canary's certificate)"
is "$(ev syslog malformed)" 1 "syslog: 1 malformed (no fe=)"
is "$(ev syslog unmatched)" 1 "syslog: 1 unmatched (a load balancer of no shard)"
is "$(pool stable ok)/$(pool stable fail)" 6/0 "stable pool: 6 ok, 0 failed"
is "$(pool canary ok)/$(pool canary fail)" 1/3 "canary pool: 1 ok, 3 failed"
like "$(cat "$TMPD/dnsd.log")" 'rollout evidence: malformed syslog datagram from 127\.0\.0\.1: dnsd-tls line without fe=' \
    "the malformed datagram is logged with its reason"
# a TCP connect and close: HAProxy logs a failure without a serial, which dnsd ignores
"$HAP_PY" -c 'import socket,sys; socket.create_connection(("127.0.0.2", int(sys.argv[1])), 2).close()' "$PS"
curl -s -o /dev/null --cacert "$CA" --resolve "www.example.test:$PS:127.0.0.2" "$URL:$PS/"
wait_total syslog 13
is "$(ev syslog ok)/$(ev syslog fail)" 8/3 "a TCP connect without TLS is not counted, the next handshake is"

# ---- (b) JSON lines on the evidence socket ----
"$HAP_PY" - "$SOCK" "$PS" "$PC" <<'EOF'
import json, socket, sys
path, ps, pc = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
lines = [
    json.dumps({"lb": "127.0.0.2:" + ps, "ok": True, "hs_ms": 3.5, "proto": "TLSv1.3"}),
    json.dumps({"lb": "127.0.0.2:" + ps, "ok": True}),
    json.dumps({"lb": "127.0.0.3:" + pc, "ok": False, "error": "certificate verify failed",
                "source": "beacon", "profile": "android-7"}),
    json.dumps({"lb": "192.0.2.77", "ok": True}),
    "not json",
    json.dumps({"lb": "127.0.0.2:" + ps}),
    "{\"lb\": \"" + "x" * 5000 + "\"}",
    "",
]
s.sendall(("\n".join(lines) + "\n").encode())
# the last line without its newline: read at the end of the connection
s.sendall(json.dumps({"lb": "127.0.0.2:" + ps, "ok": False, "serial": "0a"}).encode())
s.close()
EOF
wait_total json 6
wait_total beacon 1
is "$(ev json ok)" 2 "json: 2 ok"
is "$(ev json fail)" 1 "json: 1 failed (the last line, without a newline)"
is "$(ev json unmatched)" 1 "json: 1 unmatched"
is "$(ev json malformed)" 3 "json: 3 malformed (not JSON, no ok, longer than 4096 bytes)"
is "$(ev beacon fail)/$(ev beacon ok)" 1/0 "beacon: 1 failed"
is "$(pool stable ok)/$(pool stable fail)" 9/1 "stable pool: +2 ok, +1 failed"
is "$(pool canary ok)/$(pool canary fail)" 1/4 "canary pool: +1 failed (the beacon)"
n=$(grep -c 'rollout evidence: malformed' "$TMPD/dnsd.log")
ok '[ "$n" -ge 1 ] && [ "$n" -lt 4 ]' "malformed input is logged rate-limited ($n lines for 4)"
is "$(total probe)" 0 "no probes while no rollout runs"
unlike "$(cat "$TMPD/dnsd.log")" 'probing the load balancers' "... and no prober thread"

# ---- (c) dnsd's probes while the rollout runs ----
S0OK=$(ev syslog ok) S0F=$(ev syslog fail)
P0SO=$(pool stable ok) P0SF=$(pool stable fail) P0CO=$(pool canary ok) P0CF=$(pool canary fail)
"$REC" "$STORE" example.test@eu status running
wait_total probe 24 # two rounds: 2 load balancers x 6 profiles each
like "$(cat "$TMPD/dnsd.log")" 'rollout evidence: probing the load balancers of running rollouts every 1 s' \
    "the prober started with the rollout"
"$REC" "$STORE" example.test@eu status promoted
# quiet: the probe counts and HAProxy's lines about them stop moving (a round ends whole)
last= i=0
while [ $i -lt 40 ]; do
    sleep 0.5
    scrape
    now="$(ev probe ok) $(ev probe fail) $(ev syslog ok) $(ev syslog fail)"
    [ "$now" = "$last" ] && break
    last=$now i=$((i + 1))
done
PO=$(ev probe ok) PF=$(ev probe fail)
R=$((PO / 4))
ok '[ "$R" -ge 2 ] && [ $((PO % 4)) = 0 ]' "probes: 4 ok per round (stable: tls13 tls12 ecdsa nosni), $R rounds"
is "$PF" $((8 * R)) "probes: 8 failed per round (stable: rsa, old; canary: all six)"
is "$(ev probe malformed)/$(ev probe unmatched)" 0/0 "probes: none unmatched"
is "$(pool stable ok)" $((P0SO + 4 * R + 4 * R)) "stable pool: +4 probes +4 HAProxy lines per round"
is "$(pool stable fail)" $((P0SF + 2 * R + 2 * R)) "stable pool: +2 probes +2 HAProxy lines failed per round"
is "$(pool canary ok)" $((P0CO + 4 * R)) "canary pool: +4 HAProxy lines per round (handshakes complete)"
is "$(pool canary fail)" $((P0CF + 6 * R + 2 * R)) "canary pool: +6 probes (chain refused) +2 HAProxy lines"
is "$(ev syslog ok)/$(ev syslog fail)" "$((S0OK + 8 * R))/$((S0F + 4 * R))" \
    "syslog: HAProxy logged every probe (8 completed, 4 failed per round)"
sleep 1.5
scrape
is "$(ev probe ok)/$(ev probe fail)" "$PO/$PF" "no probes after the rollout ended"

# the ports and the socket go with dnsd
stop_dnsd
ok '[ ! -e "$SOCK" ]' "the evidence socket is removed at exit"
like "$(cat "$TMPD/dnsd.log")" 'rollout evidence: HAProxy syslog on 127\.0\.0\.1:0 \(UDP port [0-9]+\)' \
    "logged: the syslog port"
like "$(cat "$TMPD/dnsd.log")" "rollout evidence: JSON lines on $SOCK" "logged: the evidence socket"
# a stale socket file from a killed dnsd is replaced; a live one is refused
start_dnsd --rollout-evidence-socket "$SOCK"
ok '[ -S "$SOCK" ]' "restarted on the same socket path"
"$DNSD" --store "$STORE" --listen 127.0.0.1:0 --rollout-evidence-socket "$SOCK" >"$TMPD/bad.log" 2>&1
is "$?" 1 "a second dnsd on a live evidence socket does not start"
like "$(cat "$TMPD/bad.log")" "rollout-evidence-socket $SOCK is in use" "... saying it is in use"
kill -9 "$DNSD_PID"; wait "$DNSD_PID" 2>/dev/null
start_dnsd --rollout-evidence-socket "$SOCK"
ok '[ -S "$SOCK" ]' "a stale socket of a killed dnsd is replaced"
stop_dnsd

# SIGHUP: the settings need a restart, said and kept
printf '%s\n' "rollout-syslog-listen 127.0.0.1:0" "rollout-probe-interval 10" >"$TMPD/d.conf"
start_dnsd -c "$TMPD/d.conf"
printf '%s\n' "rollout-syslog-listen 127.0.0.1:1" "rollout-probe-interval 5" \
    "rollout-evidence-socket $SOCK" >"$TMPD/d.conf"
kill -HUP "$DNSD_PID"
i=0
while ! grep -q 'rollout-evidence-socket changed' "$TMPD/dnsd.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
L=$(cat "$TMPD/dnsd.log")
like "$L" 'rollout-probe-interval changed \(10 -> 5\): needs restart; keeping 10' "reload: probe interval kept"
like "$L" 'rollout-syslog-listen changed: needs restart; keeping the 1 address bound' "reload: syslog addresses kept"
like "$L" 'rollout-evidence-socket changed \(.* -> .*evidence.sock.\): needs restart' "reload: the socket kept"
ok '[ ! -e "$SOCK" ]' "... no socket made by the reload"
stop_dnsd
exit 0
