# lib_dnssec.sh -- a signed geo zone served by dnsd, and a real validating
# resolver (Unbound) in front of it (source after lib.sh). Used by
# t_dnssec_*.sh. Everything runs as the current user on kernel-chosen
# loopback ports and is stopped by PID at exit; nothing leaves 127.0.0.0/8.
#
#   dnssec_need                 skip (or bail, REQUIRE_ALL=1) without dig, unbound,
#                               the geo test DB
#   dnssec_geo_store            a fresh store: example.test (tests/data) with the
#                               regions and regional records below
#   dnssec_sign [ARGS...]       dnsctl dnssec enable example.test ARGS; sets TA_DS
#                               (the DS lines of `dnsctl dnssec ds`, presentation form)
#   start_dnsd_geo [ARGS...]    start_dnsd with the geo test DB and no rate limit
#   start_unbound [ZONE...]     Unbound validating (trust anchor: $TA_DS), a stub
#                               zone per ZONE (default example.test) to dnsd
#                               (127.0.0.1:$PORT), subnetcache sending ECS to dnsd;
#                               sets UB_PORT, UB_PID, UB_DIR, UB_LOG. Extra server:
#                               lines may be given in UB_EXTRA (newline separated).
#   stop_unbound
#   ub_ctl ARGS...              unbound-control of that instance (flush_zone ..., ...)
#   uq CLIENT ARGS...           dig through Unbound as a client of region CLIENT
#                               (eu na as lab default), +dnssec: see below
#   dnssec_setup [ARGS...]      all of the above in order (ARGS to dnssec_sign)
#
# How clients in different regions are simulated. Unbound's subnetcache
# module (module-config "subnetcache validator iterator") adds an EDNS
# Client Subnet option to its queries to the authorities listed in
# send-client-subnet (here 127.0.0.1, dnsd), built either from the ECS
# option the client put in its own query (forwarded as given, cut to
# max-client-subnet-ipv4/-ipv6: set to 32/128 here so the test DB's small
# blocks decide) or, when the client sent none, from the client's source
# address. Both ways are used: eu, na and as send ECS in the stub query
# (addresses of tests/data/geo/GeoIP2-City-Test: GB, US-WA, JP); lab has no
# ECS and queries from the source address 127.0.0.2, which the region lab
# (--cidr 127.0.0.2/32) holds; default queries from 127.0.0.1 without ECS
# (in no region). Unbound caches each answer under the scope dnsd returned
# (subnetcache), so a regional answer is never handed to another region.
#
# The zone (example.test, tests/data/example.test.zone) gets regions eu
# (continent EU), na (NA), as (AS), lab (127.0.0.2/32) and:
#   geo A      default 192.0.2.100, eu .101, na .102, as .103, lab .104
#   geo TXT    only in eu ("eu only"): the types at geo differ between views,
#              so a NODATA proof (compact denial) must carry the client's view
#   rgn.* A    a regional wildcard: *.rgn has A 192.0.2.200 by default and
#              192.0.2.201 in eu
DNSSEC_ZONE=example.test
GEO=${GEO_DIR:-$top_srcdir/tests/data/geo}
GEO_DB=$GEO/GeoIP2-City-Test.mmdb
UB_PID=
UB_PORT=
TA_DS=

dnssec_need() {
    need dig unbound unbound-control
    if [ ! -f "$GEO_DB" ]; then
        [ "${REQUIRE_ALL:-0}" = 1 ] && { echo "Bail out! $GEO_DB missing"; exit 1; }
        skip_all "geo test data not found in $GEO"
    fi
}

# the answer each region's client must get for geo.example.test A
geo_want() {
    case $1 in
    default) echo 192.0.2.100 ;;
    eu) echo 192.0.2.101 ;;
    na) echo 192.0.2.102 ;;
    as) echo 192.0.2.103 ;;
    lab) echo 192.0.2.104 ;;
    *) echo "Bail out! geo_want: unknown client $1"; exit 1 ;;
    esac
}

# client_args CLIENT: the dig options that make a query come from CLIENT
client_args() {
    case $1 in
    default) echo "-b 127.0.0.1" ;;
    eu) echo "-b 127.0.0.1 +subnet=81.2.69.142/32" ;;
    na) echo "-b 127.0.0.1 +subnet=216.160.83.56/32" ;;
    as) echo "-b 127.0.0.1 +subnet=2001:218::/32" ;;
    lab) echo "-b 127.0.0.2" ;;
    *) echo "Bail out! client_args: unknown client $1"; exit 1 ;;
    esac
}

# dnsd_client_args CLIENT: the same client asking dnsd directly (ECS only:
# dnsd sees its source address, which a lab client has no ECS for)
dnsd_client_args() {
    case $1 in
    lab) echo "+subnet=127.0.0.2/32" ;;
    default) echo "" ;;
    *) client_args "$1" | sed 's/^-b 127.0.0.1 *//' ;;
    esac
}

dnssec_geo_store() {
    make_store "$DNSSEC_ZONE" "$DATA/example.test.zone"
    dnsctl region add eu --continent EU >/dev/null &&
        dnsctl region add na --continent NA >/dev/null &&
        dnsctl region add as --continent AS >/dev/null &&
        dnsctl region add lab --cidr 127.0.0.2/32 >/dev/null &&
        dnsctl record add "$DNSSEC_ZONE" 'geo 300 IN A 192.0.2.100' >/dev/null &&
        dnsctl record add "$DNSSEC_ZONE" --region eu 'geo 300 IN A 192.0.2.101' >/dev/null &&
        dnsctl record add "$DNSSEC_ZONE" --region na 'geo 300 IN A 192.0.2.102' >/dev/null &&
        dnsctl record add "$DNSSEC_ZONE" --region as 'geo 300 IN A 192.0.2.103' >/dev/null &&
        dnsctl record add "$DNSSEC_ZONE" --region lab 'geo 300 IN A 192.0.2.104' >/dev/null &&
        dnsctl record add "$DNSSEC_ZONE" --region eu 'geo 300 IN TXT "eu only"' >/dev/null &&
        dnsctl record add "$DNSSEC_ZONE" '*.rgn 300 IN A 192.0.2.200' >/dev/null &&
        dnsctl record add "$DNSSEC_ZONE" --region eu '*.rgn 300 IN A 192.0.2.201' >/dev/null ||
        { echo "Bail out! cannot set up the geo zone"; exit 1; }
}

# dnssec_sign [ARGS...]: sign the zone; TA_DS: its DS RRset as `dnsctl dnssec ds` prints it
dnssec_sign() {
    _out=$(dnsctl dnssec enable "$DNSSEC_ZONE" "$@" 2>&1) ||
        { echo "Bail out! dnsctl dnssec enable $DNSSEC_ZONE $*: $_out"; exit 1; }
    dnssec_anchor
}

# dnssec_anchor: (re)read TA_DS from `dnsctl dnssec ds` (after a key change)
dnssec_anchor() {
    _out=$(dnsctl dnssec ds "$DNSSEC_ZONE" 2>&1) ||
        { echo "Bail out! dnsctl dnssec ds $DNSSEC_ZONE: $_out"; exit 1; }
    # any presentation form: OWNER [TTL] [IN] DS TAG ALG DIGESTTYPE DIGEST
    TA_DS=$(printf '%s\n' "$_out" | awk '{
        for (i = 1; i < NF; i++) if ($i == "DS") {
            s = $1; for (j = i; j <= NF; j++) s = s " " $j; print s; next } }')
    [ -n "$TA_DS" ] || { echo "Bail out! no DS in: $_out"; exit 1; }
}

start_dnsd_geo() { start_dnsd --geo-database "$GEO_DB" --rrl-rate 0 "$@"; }

# start_unbound [ZONE...]: see the header
start_unbound() {
    [ $# -gt 0 ] || set -- "$DNSSEC_ZONE"
    UB_DIR=$TMPD/unbound
    UB_LOG=$UB_DIR/unbound.log
    mkdir -p "$UB_DIR"
    UB_PORT=$(free_udp_tcp_port)
    UB_CTL_PORT=$(free_udp_tcp_port)
    {
        cat <<EOC
server:
    directory: "$UB_DIR"
    chroot: ""
    username: ""
    pidfile: "$UB_DIR/unbound.pid"
    use-syslog: no
    logfile: "$UB_LOG"
    verbosity: 1
    val-log-level: 2
    log-servfail: yes
    do-daemonize: no
    interface: 127.0.0.1@$UB_PORT
    access-control: 127.0.0.0/8 allow
    do-ip6: no
    do-not-query-localhost: no
    num-threads: 1
    so-reuseport: no
    outgoing-range: 64
    module-config: "subnetcache validator iterator"
    send-client-subnet: 127.0.0.1
    max-client-subnet-ipv4: 32
    max-client-subnet-ipv6: 128
    # Unbound's built-in local zone for the RFC 6761 name "test." would
    # answer for example.test itself
    local-zone: "test." nodefault
    # a bogus answer is cached for val-bogus-ttl (60 s): short, so a
    # test may fix what it broke and ask again
    val-bogus-ttl: 1
EOC
        printf '%s\n' "$TA_DS" | while IFS= read -r _l; do
            [ -n "$_l" ] && printf '    trust-anchor: "%s"\n' "$_l"
        done
        [ -n "${UB_EXTRA:-}" ] && printf '%s\n' "$UB_EXTRA" | sed 's/^ */    /'
        cat <<EOC
remote-control:
    control-enable: yes
    control-interface: 127.0.0.1
    control-port: $UB_CTL_PORT
    control-use-cert: no
EOC
        for _z in "$@"; do
            printf 'stub-zone:\n    name: "%s."\n    stub-addr: 127.0.0.1@%s\n' "$_z" "$PORT"
        done
    } >"$UB_DIR/unbound.conf"
    unbound_launch "$UB_DIR" "$UB_PORT" "$UB_LOG"
    UB_PID=$UNBOUND_PID
    at_exit stop_unbound
}
stop_unbound() { stop_pid "$UB_PID"; UB_PID=; }

ub_ctl() { unbound-control -c "$UB_DIR/unbound.conf" "$@"; }

# uq CLIENT ARGS...: dig through Unbound as CLIENT (recursion desired, DO set)
uq() {
    _c=$1; shift
    # shellcheck disable=SC2046
    dig @127.0.0.1 -p "$UB_PORT" +time=5 +tries=1 +dnssec $(client_args "$_c") "$@"
}

# dq CLIENT ARGS...: dig at dnsd directly as CLIENT (no recursion, DO set)
dq() {
    _c=$1; shift
    # shellcheck disable=SC2046
    q +dnssec $(dnsd_client_args "$_c") "$@"
}

# ub_log_tail: Unbound's log, for diagnostics after a failure
ub_log_tail() { sed 's/^/#   unbound: /' "$UB_LOG" 2>/dev/null | tail -"${1:-15}"; }

dnssec_setup() {
    dnssec_geo_store
    dnssec_sign "$@"
    start_dnsd_geo
    start_unbound
}
