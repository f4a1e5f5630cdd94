# lib_xfrin.sh -- a Knot primary for the tests of dnsd as a secondary
# (dnsd/xfrin.c). Sourced after lib.sh (free_udp_tcp_port) and lib_acme.sh
# (_bail). knotd runs as the current user from $TMPD/primary on a loopback
# port, with a journal (so it serves IXFR), NOTIFY to dnsd, transfers
# allowed to 127.0.0.1 (with a TSIG key when one is set). Stopped by PID
# from the EXIT trap.
#
#   primary_zone ZONE FILE SERIAL REFRESH RETRY EXPIRE
#                         a small zone: SOA with those timers, NS, www/ns1 A
#   start_primary ZONE FILE NOTIFYPORT
#                         knotd serving FILE as ZONE; sends NOTIFY to
#                         127.0.0.1@NOTIFYPORT. Reads PRIMARY_PORT (reused
#                         when set: a restart keeps the port), PRIMARY_KEY,
#                         PRIMARY_SECRET (TSIG hmac-sha256; empty: none).
#                         Sets PRIMARY_PID, PRIMARY_PORT, PRIMARY_LOG.
#   stop_primary
#   primary_edit ZONE 'OWNER TTL TYPE RDATA' [--del]
#                         one change by knotc zone-begin/-set/-commit (the
#                         serial goes up by one: a journal entry, so IXFR)
#   wait_for TIMEOUT_S CMD...   run CMD every 0.2 s until it succeeds (bounded)

PRIMARY_DIR=$TMPD/primary
PRIMARY_LOG=$PRIMARY_DIR/knotd.log
PRIMARY_PID=
PRIMARY_PORT=${PRIMARY_PORT:-}
PRIMARY_KEY=${PRIMARY_KEY:-}
PRIMARY_SECRET=${PRIMARY_SECRET:-}

primary_zone() {
    printf '%s\n' "\$ORIGIN $1." '$TTL 300' \
        "@ IN SOA ns1.$1. hostmaster.$1. $3 $4 $5 $6 60" \
        "@ IN NS ns1.$1." 'ns1 IN A 127.0.0.1' 'www IN A 192.0.2.1' >"$2"
}

_primary_conf() {
    {
        cat <<EOF2
server:
    rundir: "$PRIMARY_DIR/run"
    listen: 127.0.0.1@$PRIMARY_PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "$PRIMARY_DIR/run/knot.sock"
database:
    storage: "$PRIMARY_DIR/db"
log:
  - target: stderr
    any: info
EOF2
        if [ -n "$PRIMARY_KEY" ]; then
            printf 'key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: %s\n' \
                "$PRIMARY_KEY" "$PRIMARY_SECRET"
        fi
        printf 'remote:\n  - id: dnsd\n    address: 127.0.0.1@%s\n' "$3"
        [ -n "$PRIMARY_KEY" ] && printf '    key: %s\n' "$PRIMARY_KEY"
        printf 'acl:\n  - id: xfr\n    address: 127.0.0.1\n    action: transfer\n'
        [ -n "$PRIMARY_KEY" ] && printf '    key: %s\n' "$PRIMARY_KEY"
        cat <<EOF2
template:
  - id: default
    storage: "$PRIMARY_DIR"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
zone:
  - domain: $1
    file: "$2"
    notify: dnsd
    acl: xfr
EOF2
    } >"$PRIMARY_DIR/knot.conf"
}

start_primary() {
    stop_primary
    mkdir -p "$PRIMARY_DIR/run" "$PRIMARY_DIR/db" || _bail "cannot make $PRIMARY_DIR"
    _try=0
    _keep=$PRIMARY_PORT
    while [ $_try -lt 5 ]; do
        _try=$((_try + 1))
        [ -n "$_keep" ] && PRIMARY_PORT=$_keep || PRIMARY_PORT=$(free_udp_tcp_port) ||
            _bail "no free port for knotd"
        _primary_conf "$1" "$2" "$3"
        echo "=== start_primary $(date +%T): port $PRIMARY_PORT" >>"$PRIMARY_LOG"
        _l=$(wc -l <"$PRIMARY_LOG")
        knotd -c "$PRIMARY_DIR/knot.conf" >>"$PRIMARY_LOG" 2>&1 &
        PRIMARY_PID=$!
        _i=0
        while [ $_i -lt 100 ] && kill -0 "$PRIMARY_PID" 2>/dev/null; do
            _i=$((_i + 1))
            if tail -n +"$_l" "$PRIMARY_LOG" | grep -q 'cannot bind'; then break; fi
            if kdig @127.0.0.1 -p "$PRIMARY_PORT" +norec +time=1 +retry=0 "$1" SOA 2>/dev/null |
                grep -q 'status: NOERROR'; then
                return 0
            fi
            sleep 0.1
        done
        stop_primary
    done
    _bail "knotd (primary) did not start (log: $PRIMARY_LOG)" "$PRIMARY_LOG"
}

stop_primary() {
    stop_pid "$PRIMARY_PID"
    PRIMARY_PID=
}

primary_edit() {
    _kc="knotc -s $PRIMARY_DIR/run/knot.sock -t 5"
    $_kc zone-begin "$1" >/dev/null || return 1
    if [ "${3:-}" = --del ]; then
        # shellcheck disable=SC2086
        $_kc zone-unset "$1" $2 >/dev/null || { $_kc zone-abort "$1"; return 1; }
    else
        # shellcheck disable=SC2086
        $_kc zone-set "$1" $2 >/dev/null || { $_kc zone-abort "$1"; return 1; }
    fi
    $_kc zone-commit "$1" >/dev/null
}

wait_for() {
    _end=$(($(date +%s) + $1))
    shift
    while [ "$(date +%s)" -le "$_end" ]; do
        if "$@"; then return 0; fi
        sleep 0.2
    done
    return 1
}

at_exit stop_primary
