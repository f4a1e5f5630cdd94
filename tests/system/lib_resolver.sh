# lib_resolver.sh -- a recursive resolver on loopback for tests that need
# one (source after lib.sh): Unbound, no DNSSEC validation, one stub zone
# per authoritative server given, so every name the test uses resolves
# through real delegation data and nothing leaves 127.0.0.0/8. Runs as the
# current user on a kernel-chosen port, stopped by PID at exit.
#
#   start_resolver ZONE=ADDR@PORT...   Unbound with a stub-zone ZONE -> ADDR@PORT
#                                      for each argument. Sets RS_PORT, RS_PID,
#                                      RS_DIR, RS_LOG (query log: verbosity 1 +
#                                      log-queries). RS_PORT may be set before
#                                      (e.g. to name it in a config written first)
#   stop_resolver
#   rs_flush                           drop every cached answer (unbound-control)
RS_PID=
RS_PORT=

start_resolver() {
    RS_DIR=$TMPD/resolver
    RS_LOG=$RS_DIR/unbound.log
    mkdir -p "$RS_DIR"
    RS_PORT=${RS_PORT:-$(free_udp_tcp_port)}
    _rs_ctl=$(free_udp_tcp_port)
    {
        cat <<EOC
server:
    directory: "$RS_DIR"
    chroot: ""
    username: ""
    pidfile: "$RS_DIR/unbound.pid"
    use-syslog: no
    logfile: "$RS_LOG"
    verbosity: 1
    log-queries: yes
    do-daemonize: no
    interface: 127.0.0.1@$RS_PORT
    access-control: 127.0.0.0/8 allow
    do-ip6: no
    do-not-query-localhost: no
    num-threads: 1
    so-reuseport: no
    outgoing-range: 64
    module-config: "iterator"
    # the RFC 6761 names tests use would be answered by Unbound itself
    local-zone: "test." nodefault
    # short negative caching: a test changes records and asks again
    cache-max-negative-ttl: 1
remote-control:
    control-enable: yes
    control-interface: 127.0.0.1
    control-port: $_rs_ctl
    control-use-cert: no
EOC
        for _z in "$@"; do
            printf 'stub-zone:\n    name: "%s."\n    stub-addr: %s\n' "${_z%%=*}" "${_z#*=}"
        done
    } >"$RS_DIR/unbound.conf"
    unbound_launch "$RS_DIR" "$RS_PORT" "$RS_LOG"
    RS_PID=$UNBOUND_PID
    at_exit stop_resolver
}
stop_resolver() { stop_pid "$RS_PID"; RS_PID=; }
rs_flush() { unbound-control -c "$RS_DIR/unbound.conf" flush_zone . >/dev/null; }
