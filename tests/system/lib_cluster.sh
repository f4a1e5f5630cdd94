# lib_cluster.sh -- helpers for the cluster system tests (issue #13): a real
# three-member etcd cluster on loopback, N dnsd nodes on 127.0.0.x sharing it
# (separate stores, ports and cert dirs, one cluster key file), waits bounded
# in count and time, and the "every node answers the same" checker.
# Sourced after lib.sh (uses TMPD, DATA, need, at_exit, stop_pid). POSIX sh.
# Only 127.0.0.0/8 is used; every process started here is stopped by PID
# from lib.sh's EXIT trap (at_exit), never by name.
#
# etcd (Debian etcd-server 3.4, run as the test's user from $TMPD/etcd):
#   need_cluster                 skip (or bail, REQUIRE_ALL=1) without etcd, etcdctl, dig
#   start_etcd_cluster [N]       N members (default 3) on kernel-picked free ports:
#                                ETCD_NAMES="m1 m2 m3", ETCD_URLS (client URLs, comma-
#                                separated), ETCD_PID_<i>, ETCD_CURL_<i>, ETCD_PURL_<i>.
#                                Waits (bounded) until `etcdctl endpoint health` is
#                                fine for every member; bails out otherwise
#   stop_etcd_member I           SIGTERM member I (1-based) by PID, wait for it
#   start_etcd_member I          start member I again (same ports and data dir)
#   wait_etcd_healthy [S]        every member healthy, within S seconds (20): 0 / 1
#   etcdctl_c ARGS...            etcdctl against the whole cluster
# dnsd nodes (node i listens on 127.0.0.$((10 + i)), a kernel-chosen port):
#   cluster_keygen               $TMPD/cluster.key by `dnsctl cluster keygen`
#   cluster_node_conf I [KEY VALUE]...  write $TMPD/node<i>/dnsd.conf (store, listen,
#                                port file, cluster keys, geo DB, cert dir, rrl off),
#                                extra "key value" lines appended; CLUSTER_CONF_EXTRA
#                                (lines) is appended to every node's config
#   start_cluster_node I [ARGS...]  start node i (its config + ARGS); sets NODE_PID_<i>,
#                                NODE_PORT_<i>, NODE_ADDR_<i>; its log is
#                                $TMPD/node<i>/dnsd.log. With CLUSTER_GATE_<i>=1 the
#                                node reaches etcd through its own TCP gate (below)
#   stop_cluster_node I          SIGTERM, wait, reap
#   start_cluster N [ZONE FILE]  keygen, node 1 (its store seeded with ZONE from FILE
#                                first), then nodes 2..N with empty stores; waits until
#                                every node answers ZONE's SOA with node 1's serial
#   nctl I ARGS...               dnsctl on node i's store
#   nq I ARGS...                 dig against node i (no recursion, 2 s, one try)
#   nshort I ARGS...             node i's `+short` answer, sorted, one line
#   wait_all_answer WANT S N ARGS...  until `nshort` of nodes 1..N all equal WANT,
#                                at most S seconds (polling every 0.1 s): 0 / 1; on
#                                failure WAIT_GOT holds the answers per node
#   wait_serials_equal ZONE S N  until nodes 1..N answer ZONE's SOA with one serial
#   wait_exports_equal ZONE S N  until `dnsctl zone export ZONE` is the same on 1..N
#   cluster_same N [ARGS...]     tests/system/cluster_same.py over nodes 1..N (the
#                                "answers identical" checker; ARGS go to it)
#   cluster_log_has I REGEX      node i's log matches REGEX
# Partitions: a node with CLUSTER_GATE_<i>=1 reaches etcd only through
# tests/system/tcpgate.py (one process forwarding a port per etcd member).
# SIGSTOP of the gate is a partition of that node from etcd (connections hang,
# new ones are never served), while the node itself runs and answers queries:
#   gate_stop I / gate_cont I    SIGSTOP / SIGCONT node i's gate
#   gate_restart I               SIGKILL the gate (every connection through it is
#                                reset, as after a long partition) and start a new
#                                one on the same ports
# Timing (the latency test's report): cluster_latency.py, see its usage.

# a test whose output pipe closes (`... | head`) or whose terminal goes must
# still stop its etcd members and nodes: exit through lib.sh's EXIT trap
trap 'exit 1' INT TERM HUP PIPE

CLUSTER_PY=${PY3:-python3}
ETCD_NAMES=
ETCD_URLS=
ETCD_N=0
CLUSTER_N=0
CLUSTER_KEY=$TMPD/cluster.key
GEO_DB=$DATA/geo/GeoIP2-City-Test.mmdb
CLUSTER_CONF_EXTRA=${CLUSTER_CONF_EXTRA:-}

need_cluster() {
    need etcd etcdctl dig
    [ -x "$DNSD" ] && [ -x "$DNSCTL" ] || { echo "Bail out! dnsd/dnsctl not built"; exit 1; }
}

# _free_ports N: N distinct free TCP ports on 127.0.0.1 (bound at once, then
# released; etcd cannot take port 0, so a clash is possible and retried)
_free_ports() {
    "$CLUSTER_PY" -c '
import socket, sys
ss = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
' "$1"
}

_getv() { eval "printf '%s' \"\${$1:-}\""; }

etcdctl_c() { ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URLS" --dial-timeout=2s --command-timeout=3s "$@"; }

_etcd_launch() {
    _ei=$1
    _dir=$TMPD/etcd/m$_ei
    mkdir -p "$_dir"
    echo "=== start $(date +%T)" >>"$TMPD/etcd/m$_ei.log"
    etcd --name "m$_ei" --data-dir "$_dir/data" \
        --listen-client-urls "$(_getv ETCD_CURL_$_ei)" --advertise-client-urls "$(_getv ETCD_CURL_$_ei)" \
        --listen-peer-urls "$(_getv ETCD_PURL_$_ei)" --initial-advertise-peer-urls "$(_getv ETCD_PURL_$_ei)" \
        --initial-cluster "$_etcd_initial" --initial-cluster-state new \
        --initial-cluster-token "dnsd-test-$$" --logger zap --log-level warn \
        >>"$TMPD/etcd/m$_ei.log" 2>&1 &
    eval "ETCD_PID_$_ei=$!"
}

# wait_etcd_healthy [SECONDS]: every member answers `endpoint health`
wait_etcd_healthy() {
    _end=$(($(date +%s) + ${1:-20}))
    _k=0
    while [ $_k -lt 400 ]; do
        _k=$((_k + 1))
        etcdctl_c endpoint health >/dev/null 2>&1 && return 0
        [ "$(date +%s)" -le $_end ] || return 1
        sleep 0.2
    done
    return 1
}

stop_etcd_member() {
    stop_pid "$(_getv ETCD_PID_$1)"
    eval "ETCD_PID_$1="
}

start_etcd_member() {
    _etcd_launch "$1"
}

_stop_etcd_all() {
    _i=1
    while [ $_i -le $ETCD_N ]; do
        stop_etcd_member $_i
        _i=$((_i + 1))
    done
}

start_etcd_cluster() {
    ETCD_N=${1:-3}
    mkdir -p "$TMPD/etcd"
    at_exit _stop_etcd_all
    _try=0
    while [ $_try -lt 3 ]; do
        _try=$((_try + 1))
        set -- $(_free_ports $((2 * ETCD_N)))
        _etcd_initial= ETCD_URLS= ETCD_NAMES=
        _i=1
        while [ $_i -le $ETCD_N ]; do
            eval "ETCD_CURL_$_i=http://127.0.0.1:\$1 ETCD_PURL_$_i=http://127.0.0.1:\$2"
            shift 2
            _etcd_initial="${_etcd_initial:+$_etcd_initial,}m$_i=$(_getv ETCD_PURL_$_i)"
            ETCD_URLS="${ETCD_URLS:+$ETCD_URLS,}$(_getv ETCD_CURL_$_i)"
            ETCD_NAMES="${ETCD_NAMES:+$ETCD_NAMES }m$_i"
            _i=$((_i + 1))
        done
        rm -rf "$TMPD/etcd"/m*/data
        _i=1
        while [ $_i -le $ETCD_N ]; do
            _etcd_launch $_i
            _i=$((_i + 1))
        done
        wait_etcd_healthy 30 && return 0
        # a port taken between picking and binding: try again with new ones
        if grep -q 'address already in use' "$TMPD/etcd"/m*.log 2>/dev/null; then
            _stop_etcd_all
            continue
        fi
        break
    done
    echo "Bail out! etcd cluster did not become healthy"
    for _f in "$TMPD/etcd"/m*.log; do tail -n 5 "$_f" | sed "s|^|# $(basename "$_f"): |"; done
    exit 1
}

# ---- the TCP gate (partition by SIGSTOP) ----

# _gate_launch I: (re)start node i's gate on its recorded ports (first time:
# kernel-chosen ones); sets GATE_PID_<i>, GATE_URLS_<i>
_gate_launch() {
    _g=$1
    _gd=$TMPD/node$_g
    mkdir -p "$_gd"
    _targets=$(printf '%s' "$ETCD_URLS" | sed 's|http://||g')
    _ports=$(_getv GATE_PORTS_$_g)
    rm -f "$_gd/gate.ports"
    "$CLUSTER_PY" "$top_srcdir/tests/system/tcpgate.py" --ports "${_ports:-0}" \
        --port-file "$_gd/gate.ports" "$_targets" >>"$_gd/gate.log" 2>&1 &
    eval "GATE_PID_$_g=$!"
    _k=0
    while [ ! -s "$_gd/gate.ports" ] && [ $_k -lt 100 ]; do sleep 0.05; _k=$((_k + 1)); done
    [ -s "$_gd/gate.ports" ] || { echo "Bail out! tcpgate did not start"; sed 's/^/# /' "$_gd/gate.log"; exit 1; }
    _p=$(tr '\n' ',' <"$_gd/gate.ports" | sed 's/,$//')
    eval "GATE_PORTS_$_g=$_p"
    eval "GATE_URLS_$_g=\$(printf '%s' \"\$_p\" | sed 's|\([0-9][0-9]*\)|http://127.0.0.1:\1|g')"
}

gate_stop() { kill -STOP "$(_getv GATE_PID_$1)"; }
gate_cont() {
    _gp=$(_getv GATE_PID_$1)
    kill -CONT "$_gp" 2>/dev/null && return 0
    # it should not die while stopped: say how it ended
    wait "$_gp" 2>/dev/null
    echo "# tcpgate of node $1 (pid $_gp) was gone at SIGCONT: exit status $?"
    sed 's/^/# gate.log: /' "$TMPD/node$1/gate.log"
    return 1
}
gate_restart() {
    _gp=$(_getv GATE_PID_$1)
    kill -KILL "$_gp" 2>/dev/null
    wait "$_gp" 2>/dev/null
    _gate_launch "$1"
}

# ---- dnsd nodes ----

cluster_keygen() {
    [ -s "$CLUSTER_KEY" ] && return 0
    "$DNSCTL" cluster keygen "$CLUSTER_KEY" >"$TMPD/keygen.out" 2>&1 ||
        { echo "Bail out! dnsctl cluster keygen failed"; sed 's/^/# /' "$TMPD/keygen.out"; exit 1; }
}

cluster_node_conf() {
    _n=$1
    shift
    _d=$TMPD/node$_n
    mkdir -p "$_d/certs"
    _urls=$ETCD_URLS
    if [ "$(_getv CLUSTER_GATE_$_n)" = 1 ]; then
        [ -n "$(_getv GATE_PID_$_n)" ] || _gate_launch "$_n"
        _urls=$(_getv GATE_URLS_$_n)
    fi
    {
        echo "# node $_n of the test cluster (lib_cluster.sh)"
        echo "store $_d/store"
        echo "listen 127.0.0.$((10 + _n)):0"
        echo "port-file $_d/port"
        echo "workers 2"
        echo "rrl-rate 0"
        echo "cert-dir $_d/certs"
        [ -f "$GEO_DB" ] && echo "geo-database $GEO_DB" && echo "geo-check-interval-ms 100"
        echo "cluster-etcd $_urls"
        echo "cluster-node node$_n"
        echo "cluster-key-file $CLUSTER_KEY"
        echo "cluster-lease-ttl ${CLUSTER_LEASE_TTL:-3}"
        echo "cluster-timeout ${CLUSTER_TIMEOUT_MS:-2000}"
        [ -n "$CLUSTER_CONF_EXTRA" ] && printf '%s\n' "$CLUSTER_CONF_EXTRA"
        while [ $# -ge 2 ]; do
            echo "$1 $2"
            shift 2
        done
    } >"$_d/dnsd.conf"
}

start_cluster_node() {
    _n=$1
    shift
    _d=$TMPD/node$_n
    [ -f "$_d/dnsd.conf" ] || cluster_node_conf "$_n"
    rm -f "$_d/port"
    echo "=== start $(date +%T)" >>"$_d/dnsd.log"
    ${DNSD_WRAPPER:-} "$DNSD" -c "$_d/dnsd.conf" "$@" >>"$_d/dnsd.log" 2>&1 &
    eval "NODE_PID_$_n=$!"
    _pid=$!
    _k=0
    while [ ! -s "$_d/port" ]; do
        _k=$((_k + 1))
        if [ $_k -gt 400 ] || ! kill -0 "$_pid" 2>/dev/null; then
            echo "Bail out! dnsd node $_n did not start"
            tail -n 30 "$_d/dnsd.log" | sed 's/^/# /'
            exit 1
        fi
        sleep 0.05
    done
    eval "NODE_PORT_$_n=$(head -n 1 "$_d/port")"
    eval "NODE_ADDR_$_n=127.0.0.$((10 + _n))"
}

stop_cluster_node() {
    stop_pid "$(_getv NODE_PID_$1)"
    eval "NODE_PID_$1="
}

_stop_cluster_all() {
    _i=1
    while [ $_i -le $CLUSTER_N ]; do
        stop_cluster_node $_i
        _gp=$(_getv GATE_PID_$_i)
        if [ -n "$_gp" ]; then
            kill -CONT "$_gp" 2>/dev/null
            stop_pid "$_gp"
        fi
        _i=$((_i + 1))
    done
}

nctl() {
    _n=$1
    shift
    "$DNSCTL" --store "$TMPD/node$_n/store" "$@"
}

nq() {
    _n=$1
    shift
    dig @"$(_getv NODE_ADDR_$_n)" -p "$(_getv NODE_PORT_$_n)" +norec +time=2 +tries=1 "$@"
}

nshort() { nq "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }

# wait_all_answer WANT SECONDS N ARGS...
wait_all_answer() {
    _want=$1 _secs=$2 _nn=$3
    shift 3
    _end=$(($(date +%s) + _secs))
    _k=0
    while [ $_k -lt $((_secs * 10 + 10)) ]; do
        _k=$((_k + 1))
        _all=1 WAIT_GOT=
        _i=1
        while [ $_i -le $_nn ]; do
            _a=$(nshort $_i "$@")
            WAIT_GOT="$WAIT_GOT node$_i=[$_a]"
            [ "$_a" = "$_want" ] || _all=0
            _i=$((_i + 1))
        done
        [ $_all = 1 ] && return 0
        [ "$(date +%s)" -le $_end ] || return 1
        sleep 0.1
    done
    return 1
}

# soa_serial I ZONE: node i's SOA serial for ZONE (empty when no answer)
soa_serial() { nshort "$1" "$2" SOA | awk '{ print $3 }'; }

wait_serials_equal() {
    _z=$1 _secs=$2 _nn=$3
    _end=$(($(date +%s) + _secs))
    _k=0
    while [ $_k -lt $((_secs * 10 + 10)) ]; do
        _k=$((_k + 1))
        _s1=$(soa_serial 1 "$_z")
        _all=1 WAIT_GOT="node1=$_s1"
        _i=2
        while [ $_i -le $_nn ]; do
            _s=$(soa_serial $_i "$_z")
            WAIT_GOT="$WAIT_GOT node$_i=$_s"
            [ -n "$_s1" ] && [ "$_s" = "$_s1" ] || _all=0
            _i=$((_i + 1))
        done
        [ $_all = 1 ] && return 0
        [ "$(date +%s)" -le $_end ] || return 1
        sleep 0.1
    done
    return 1
}

wait_exports_equal() {
    _z=$1 _secs=$2 _nn=$3
    _end=$(($(date +%s) + _secs))
    _k=0
    while [ $_k -lt $((_secs * 5 + 5)) ]; do
        _k=$((_k + 1))
        nctl 1 zone export "$_z" >"$TMPD/export.1" 2>&1
        _all=1 WAIT_GOT=
        _i=2
        while [ $_i -le $_nn ]; do
            nctl $_i zone export "$_z" >"$TMPD/export.$_i" 2>&1
            cmp -s "$TMPD/export.1" "$TMPD/export.$_i" || { _all=0; WAIT_GOT="$WAIT_GOT node$_i"; }
            _i=$((_i + 1))
        done
        [ $_all = 1 ] && return 0
        [ "$(date +%s)" -le $_end ] || return 1
        sleep 0.2
    done
    return 1
}

# start_cluster N [ZONE FILE]
start_cluster() {
    CLUSTER_N=$1
    at_exit _stop_cluster_all
    cluster_keygen
    _i=1
    while [ $_i -le $CLUSTER_N ]; do
        mkdir -p "$TMPD/node$_i"
        [ -f "$TMPD/node$_i/dnsd.conf" ] || cluster_node_conf $_i
        _i=$((_i + 1))
    done
    if [ $# -ge 3 ]; then
        nctl 1 zone import "$2" "$3" >"$TMPD/import.out" 2>&1 ||
            { echo "Bail out! cannot import $3"; sed 's/^/# /' "$TMPD/import.out"; exit 1; }
    fi
    # node 1 first: its store seeds the empty cluster; the others join it
    # (their empty stores are replaced by the cluster's state)
    start_cluster_node 1
    _i=2
    while [ $_i -le $CLUSTER_N ]; do
        start_cluster_node $_i
        _i=$((_i + 1))
    done
    if [ $# -ge 3 ]; then
        wait_serials_equal "$2" 30 "$CLUSTER_N" ||
            { echo "Bail out! the nodes do not serve $2 alike:$WAIT_GOT"; cluster_tail_logs; exit 1; }
    fi
}

cluster_log_has() { grep -Eq -- "$2" "$TMPD/node$1/dnsd.log"; }

# cluster_tail_logs: the last lines of every node's and member's log, as TAP comments
cluster_tail_logs() {
    for _f in "$TMPD"/node*/dnsd.log "$TMPD"/etcd/m*.log; do
        [ -f "$_f" ] && tail -n 8 "$_f" | sed "s|^|# ${_f#"$TMPD"/}: |"
    done
}

# cluster_nodes_arg N: "ADDR:PORT,ADDR:PORT,..." of nodes 1..N (for the Python helpers)
cluster_nodes_arg() {
    _s=
    _i=1
    while [ $_i -le $1 ]; do
        _s="${_s:+$_s,}$(_getv NODE_ADDR_$_i):$(_getv NODE_PORT_$_i)"
        _i=$((_i + 1))
    done
    printf '%s' "$_s"
}

# cluster_same N [ARGS...]: the answers-identical checker over nodes 1..N
cluster_same() {
    _nn=$1
    shift
    "$CLUSTER_PY" "$top_srcdir/tests/system/cluster_same.py" --servers "$(cluster_nodes_arg "$_nn")" "$@"
}
