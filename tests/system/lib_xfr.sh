# lib_xfr.sh -- Knot and NSD as secondaries of dnsd (source after lib.sh):
# each runs as the current user on a kernel-chosen loopback port, from its
# own directory under $TMPD (config, database, log, pid), and is stopped
# by PID at exit.
#
#   xfr_key NAME                 dnsctl tsig add NAME; sets KEY_NAME, KEY_ALG, KEY_SECRET
#   start_knot2 ZONE             knotd, secondary of dnsd (127.0.0.1:$PORT) for ZONE,
#                                TSIG $KEY_NAME both ways; sets KNOT2_PORT, KNOT2_LOG
#   start_nsd2 ZONE              nsd, the same; sets NSD2_PORT, NSD2_LOG
#   start_bind2 ZONE             named (BIND 9), the same; sets BIND2_PORT, BIND2_LOG
#   serial_at PORT ZONE          the SOA serial PORT serves for ZONE ("" if none)
#   wait_serial PORT ZONE SERIAL SECONDS
#                                poll (every 0.1 s, at most SECONDS) until PORT
#                                serves SERIAL; returns 1 if it never did
KNOT2_PID=
NSD2_PID=

xfr_key() {
    out=$(dnsctl tsig add "$1" --algorithm hmac-sha256) || { echo "Bail out! tsig add $1"; exit 1; }
    KEY_NAME=$1
    KEY_ALG=hmac-sha256
    KEY_SECRET=$(printf '%s\n' "$out" | sed -n 2p)
}

serial_at() {
    dig @127.0.0.1 -p "$1" +norec +time=1 +tries=1 +short "$2" SOA 2>/dev/null | awk '{print $3}'
}

wait_serial() {
    _w=0
    _max=$(($4 * 10))
    while [ $_w -lt $_max ]; do
        [ "$(serial_at "$1" "$2")" = "$3" ] && return 0
        sleep 0.1
        _w=$((_w + 1))
    done
    return 1
}

start_knot2() {
    KNOT2_DIR=$TMPD/knot2
    KNOT2_LOG=$KNOT2_DIR/knotd.log
    mkdir -p "$KNOT2_DIR/run" "$KNOT2_DIR/db"
    KNOT2_PORT=$(free_udp_tcp_port)
    cat >"$KNOT2_DIR/knot.conf" <<EOC
server:
    rundir: "$KNOT2_DIR/run"
    listen: 127.0.0.1@$KNOT2_PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "$KNOT2_DIR/run/knot.sock"
database:
    storage: "$KNOT2_DIR/db"
log:
  - target: stderr
    any: info
key:
  - id: $KEY_NAME
    algorithm: $KEY_ALG
    secret: $KEY_SECRET
remote:
  - id: primary
    address: 127.0.0.1@$PORT
    key: $KEY_NAME
acl:
  - id: notify-from-primary
    address: 127.0.0.1
    key: $KEY_NAME
    action: notify
template:
  - id: default
    storage: "$KNOT2_DIR"
    zonefile-sync: -1
zone:
  - domain: $1
    master: primary
    acl: notify-from-primary
EOC
    knotd -c "$KNOT2_DIR/knot.conf" >"$KNOT2_LOG" 2>&1 &
    KNOT2_PID=$!
    at_exit stop_knot2
}
stop_knot2() { stop_pid "$KNOT2_PID"; KNOT2_PID=; }

start_nsd2() {
    NSD2_DIR=$TMPD/nsd2
    NSD2_LOG=$NSD2_DIR/nsd.log
    mkdir -p "$NSD2_DIR"
    NSD2_PORT=$(free_udp_tcp_port)
    cat >"$NSD2_DIR/nsd.conf" <<EOC
server:
    ip-address: 127.0.0.1@$NSD2_PORT
    zonesdir: "$NSD2_DIR"
    pidfile: "$NSD2_DIR/nsd.pid"
    database: ""
    username: ""
    chroot: ""
    xfrdfile: "$NSD2_DIR/xfrd.state"
    zonelistfile: "$NSD2_DIR/zone.list"
    xfrdir: "$NSD2_DIR"
    logfile: "$NSD2_LOG"
    verbosity: 2
    server-count: 1
remote-control:
    control-enable: no
key:
    name: "$KEY_NAME"
    algorithm: $KEY_ALG
    secret: "$KEY_SECRET"
zone:
    name: "$1"
    zonefile: "$1.zone"
    request-xfr: 127.0.0.1@$PORT $KEY_NAME
    allow-notify: 127.0.0.1 $KEY_NAME
EOC
    nsd -d -c "$NSD2_DIR/nsd.conf" >"$NSD2_DIR/nsd.out" 2>&1 &
    NSD2_PID=$!
    at_exit stop_nsd2
}
stop_nsd2() { stop_pid "$NSD2_PID"; NSD2_PID=; }

# start_bind2 ZONE: BIND's named, secondary of dnsd (127.0.0.1:$PORT) for
# ZONE, TSIG $KEY_NAME both ways, foreground (-g), no control channel; sets
# BIND2_PORT, BIND2_LOG
BIND2_PID=
start_bind2() {
    BIND2_DIR=$TMPD/bind2
    BIND2_LOG=$BIND2_DIR/named.log
    mkdir -p "$BIND2_DIR"
    BIND2_PORT=$(free_udp_tcp_port)
    cat >"$BIND2_DIR/named.conf" <<EOC
options {
    directory "$BIND2_DIR";
    pid-file "$BIND2_DIR/named.pid";
    listen-on port $BIND2_PORT { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    notify no;
    dnssec-validation no;
};
controls { };
key "$KEY_NAME" {
    algorithm $KEY_ALG;
    secret "$KEY_SECRET";
};
zone "$1" {
    type secondary;
    primaries port $PORT { 127.0.0.1 key "$KEY_NAME"; };
    allow-notify { key "$KEY_NAME"; };
    file "$1.db";
};
EOC
    named -g -n 1 -c "$BIND2_DIR/named.conf" >"$BIND2_LOG" 2>&1 &
    BIND2_PID=$!
    at_exit stop_bind2
}
stop_bind2() { stop_pid "$BIND2_PID"; BIND2_PID=; }
