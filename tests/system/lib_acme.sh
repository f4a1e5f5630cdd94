# lib_acme.sh -- helpers for the ACME system tests: a throw-away Pebble ACME
# CA on loopback (its TLS certificate from a test CA made here), a Knot DNS
# instance taking TSIG-signed dynamic updates (the reference DNS-01 server
# dnsd is compared against), and certificate inspection with openssl.
# Sourced after lib.sh (uses TMPD, need, at_exit). POSIX sh.
#
# Pebble (Debian's 2.4.0) keeps everything in memory and makes a new root
# and intermediate on every start: accounts, orders and the issuing chain do
# not survive restart_pebble. Only 127.0.0.1 is used; ports are kernel-chosen;
# servers are stopped by PID from lib.sh's EXIT trap (at_exit).
#
# Pebble:
#   need_acme                          skip (or bail, REQUIRE_ALL=1) without pebble, curl, openssl
#   pebble_certs DIR                   test CA + server cert: DIR/ca.pem, DIR/pebble.pem, DIR/pebble.key
#   start_pebble DNSPORT [NAME=VALUE...]
#       Pebble validating DNS-01 against 127.0.0.1:DNSPORT; NAME=VALUE are
#       extra environment for pebble (PEBBLE_VA_NOSLEEP=1 is the default and
#       may be overridden, e.g. PEBBLE_WFE_NONCEREJECT=0). Reads, when set:
#         PEBBLE_EAB=KID:KEY      require External Account Binding; KEY is base64url
#         PEBBLE_VALIDITY=S       certificateValidityPeriod, seconds
#         PEBBLE_START_TIMEOUT=S  how long to wait for the directory (default 20)
#         PEBBLE_HTTP_PORT=P      the port Pebble's VA asks for HTTP-01 (httpPort;
#                                 default: a free one where nothing listens)
#       Sets PEBBLE_PID, PEBBLE_PORT, PEBBLE_MGMT_PORT, PEBBLE_DIR_URL
#       (https://127.0.0.1:PORT/dir), PEBBLE_MGMT_URL (https://127.0.0.1:PORT),
#       PEBBLE_CA_BUNDLE (the CA file an ACME client must trust to talk to
#       Pebble), PEBBLE_CONF, PEBBLE_LOG ($TMPD/pebble.log, appended to).
#       Bails out if Pebble does not serve its directory in time.
#   stop_pebble                        TERM, then KILL after 5 s; clears PEBBLE_PID
#   restart_pebble                     stop, then start again on the same ports, same settings
#   pebble_root FILE [N]               root N (default 0) to FILE, the issuer of its
#                                      leaves to FILE.int; sets PEBBLE_ROOT, PEBBLE_INTERMEDIATE
# Certificates:
#   verify_chain CERTPEM ROOTPEM       openssl verify of the first certificate in CERTPEM,
#                                      the others in it as untrusted intermediates, ROOTPEM
#                                      the only trust anchor; prints openssl's output
#   cert_sans PEM                      subjectAltName entries, sorted, one a line: DNS names
#                                      bare, addresses as IP:127.0.0.1 / IP:::1
#   cert_keytype PEM                   "EC prime256v1", "RSA 2048", "ED25519" (cert or key)
# Knot (the reference DNS-01 server):
#   acme_zone ZONE FILE                a minimal zone: SOA, NS ns1.ZONE, ns1 and www A 127.0.0.1
#   start_knot ZONE FILE               knotd serving FILE as ZONE on 127.0.0.1, dynamic
#                                      updates allowed with TSIG only. Sets KNOT_PID,
#                                      KNOT_PORT, KNOT_DIR, KNOT_LOG, TSIG_NAME, TSIG_ALG,
#                                      TSIG_SECRET (base64)
#   stop_knot
# Ports: free_tcp_ports N (N distinct free 127.0.0.1 TCP ports on one line),
# free_udp_tcp_port (one port free for both: lib.sh).

PEBBLE_PID=
PEBBLE_PORT=
PEBBLE_MGMT_PORT=
PEBBLE_DIR_URL=
PEBBLE_MGMT_URL=
PEBBLE_CA_BUNDLE=
PEBBLE_CONF=$TMPD/pebble.json
PEBBLE_LOG=$TMPD/pebble.log
PEBBLE_CERTS=$TMPD/pebble-tls
KNOT_PID=
KNOT_PORT=
KNOT_DIR=$TMPD/knot
KNOT_LOG=$KNOT_DIR/knotd.log
TSIG_NAME=
TSIG_ALG=
TSIG_SECRET=
_pebble_dns=
_pebble_env=
_pebble_http=
_pebble_tls=
_pebble_eab=
_pebble_validity=0

need_acme() { need pebble curl openssl; }

_bail() {
    echo "Bail out! $1"
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 20 "$2" | sed 's/^/# /'
    exit 1
}

# free_tcp_ports N: N distinct ports, bound at once on 127.0.0.1 by the
# kernel (port 0), then released; whoever uses them must cope with a race
free_tcp_ports() {
    "$PY3" -c '
import socket, sys
ss = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
' "$1"
}

# ---- Pebble ----

pebble_certs() {
    _d=$1
    mkdir -p "$_d" || return 1
    # EC P-256 throughout: fast to make, and Go's TLS takes it
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$_d/ca.key" -out "$_d/ca.pem" -days 2 -subj "/CN=dnsd test CA for Pebble $$" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        >"$_d/openssl.log" 2>&1 || { cat "$_d/openssl.log" >&2; return 1; }
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$_d/pebble.key" -out "$_d/pebble.csr" -subj "/CN=localhost" \
        >>"$_d/openssl.log" 2>&1 || { cat "$_d/openssl.log" >&2; return 1; }
    printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:::1' \
        'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
        'extendedKeyUsage=serverAuth' >"$_d/pebble.ext"
    openssl x509 -req -in "$_d/pebble.csr" -CA "$_d/ca.pem" -CAkey "$_d/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$_d/pebble.ext" \
        -out "$_d/pebble.pem" >>"$_d/openssl.log" 2>&1 || { cat "$_d/openssl.log" >&2; return 1; }
}

# the ports one attempt of start_pebble uses: listen, management, and the
# http-01 / tls-alpn-01 ports Pebble's VA would connect to (nothing listens
# there: only DNS-01 can succeed). A function so a test can inject a clash.
_pebble_pick_ports() { free_tcp_ports 4; }

_pebble_write_conf() {
    {
        printf '{"pebble": {\n'
        printf '  "listenAddress": "127.0.0.1:%s",\n' "$PEBBLE_PORT"
        printf '  "managementListenAddress": "127.0.0.1:%s",\n' "$PEBBLE_MGMT_PORT"
        printf '  "certificate": "%s",\n  "privateKey": "%s",\n' \
            "$PEBBLE_CERTS/pebble.pem" "$PEBBLE_CERTS/pebble.key"
        printf '  "httpPort": %s,\n  "tlsPort": %s,\n' "$_pebble_http" "$_pebble_tls"
        printf '  "ocspResponderURL": "",\n'
        if [ -n "$_pebble_eab" ]; then
            printf '  "externalAccountBindingRequired": true,\n'
            printf '  "externalAccountMACKeys": {"%s": "%s"},\n' "${_pebble_eab%%:*}" "${_pebble_eab#*:}"
        else
            printf '  "externalAccountBindingRequired": false,\n'
        fi
        printf '  "certificateValidityPeriod": %s\n' "$_pebble_validity"
        printf '}}\n'
    } >"$PEBBLE_CONF"
}

# _pebble_launch: start Pebble with the current ports and settings and wait
# until its directory and management interface answer over TLS. Returns 0
# when up, 2 when a port was taken (Pebble exited), 1 otherwise.
_pebble_launch() {
    _pebble_write_conf
    PEBBLE_DIR_URL=https://127.0.0.1:$PEBBLE_PORT/dir
    PEBBLE_MGMT_URL=https://127.0.0.1:$PEBBLE_MGMT_PORT
    echo "=== start_pebble $(date +%T): ports $PEBBLE_PORT $PEBBLE_MGMT_PORT, dns 127.0.0.1:$_pebble_dns" >>"$PEBBLE_LOG"
    _l=$(wc -l <"$PEBBLE_LOG")
    eval "set -- $_pebble_env"
    # PEBBLE_VA_ALWAYS_VALID would make every challenge pass unchecked
    env -u PEBBLE_VA_ALWAYS_VALID PEBBLE_VA_NOSLEEP=1 "$@" \
        pebble -config "$PEBBLE_CONF" -dnsserver "127.0.0.1:$_pebble_dns" >>"$PEBBLE_LOG" 2>&1 &
    PEBBLE_PID=$!
    _end=$(($(date +%s) + ${PEBBLE_START_TIMEOUT:-20}))
    _i=0
    while [ $_i -lt 1000 ] && [ "$(date +%s)" -le $_end ]; do
        _i=$((_i + 1))
        if ! kill -0 "$PEBBLE_PID" 2>/dev/null; then
            wait "$PEBBLE_PID" 2>/dev/null
            PEBBLE_PID=
            tail -n +"$_l" "$PEBBLE_LOG" | grep -q 'address already in use' && return 2
            return 1
        fi
        if curl -fsS --max-time 2 --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null "$PEBBLE_DIR_URL" 2>/dev/null &&
            curl -fsS --max-time 2 --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null "$PEBBLE_MGMT_URL/roots/0" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    stop_pebble
    return 1
}

start_pebble() {
    [ $# -ge 1 ] || _bail "usage: start_pebble DNSPORT [NAME=VALUE...]"
    _pebble_dns=$1
    shift
    _pebble_env=
    for _a in "$@"; do
        case $_a in
        PEBBLE_VA_ALWAYS_VALID=*) _bail "start_pebble: PEBBLE_VA_ALWAYS_VALID would skip validation" ;;
        [A-Za-z_]*=*) ;;
        *) _bail "start_pebble: '$_a' is not NAME=VALUE" ;;
        esac
        _pebble_env="$_pebble_env '$(printf '%s' "$_a" | sed "s/'/'\\\\''/g")'"
    done
    _pebble_eab=${PEBBLE_EAB:-}
    _pebble_validity=${PEBBLE_VALIDITY:-0}
    case $_pebble_eab in
    "" | [!:]*:?*) ;;
    *) _bail "start_pebble: PEBBLE_EAB must be KID:KEY" ;;
    esac
    case $_pebble_validity in
    "" | *[!0-9]*) _bail "start_pebble: PEBBLE_VALIDITY must be seconds" ;;
    esac
    stop_pebble
    if [ ! -s "$PEBBLE_CERTS/pebble.pem" ]; then
        pebble_certs "$PEBBLE_CERTS" || _bail "pebble_certs failed"
    fi
    PEBBLE_CA_BUNDLE=$PEBBLE_CERTS/ca.pem
    _try=0
    while [ $_try -lt 5 ]; do
        _try=$((_try + 1))
        # shellcheck disable=SC2046
        set -- $(_pebble_pick_ports)
        [ $# -eq 4 ] || _bail "start_pebble: no free ports"
        PEBBLE_PORT=$1 PEBBLE_MGMT_PORT=$2 _pebble_http=${PEBBLE_HTTP_PORT:-$3} _pebble_tls=$4
        _pebble_launch
        case $? in
        0) return 0 ;;
        2) echo "# start_pebble: a port was taken, retrying with others" ;;
        *) _bail "pebble did not start (log: $PEBBLE_LOG)" "$PEBBLE_LOG" ;;
        esac
    done
    _bail "pebble: no free ports after 5 attempts" "$PEBBLE_LOG"
}

stop_pebble() {
    stop_pid "$PEBBLE_PID"
    PEBBLE_PID=
}

# restart_pebble: same ports, DNS server, environment, EAB and validity (as
# they were at start_pebble, whatever PEBBLE_EAB and PEBBLE_VALIDITY are now).
# Another process may grab a port while Pebble is down: retried for ~5 s.
restart_pebble() {
    [ -n "$PEBBLE_PORT" ] || _bail "restart_pebble before start_pebble"
    stop_pebble
    _try=0
    while [ $_try -lt 10 ]; do
        _try=$((_try + 1))
        _pebble_launch
        case $? in
        0) return 0 ;;
        2) sleep 0.5 ;;
        *) _bail "pebble did not restart (log: $PEBBLE_LOG)" "$PEBBLE_LOG" ;;
        esac
    done
    _bail "pebble: ports $PEBBLE_PORT/$PEBBLE_MGMT_PORT stayed taken" "$PEBBLE_LOG"
}

pebble_root() {
    _n=${2:-0}
    curl -fsS --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" -o "$1" "$PEBBLE_MGMT_URL/roots/$_n" &&
        curl -fsS --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" -o "$1.int" \
            "$PEBBLE_MGMT_URL/intermediates/$_n" || return 1
    PEBBLE_ROOT=$1
    PEBBLE_INTERMEDIATE=$1.int
}

# ---- certificates ----

verify_chain() {
    _leaf=$TMPD/verify.leaf.pem _rest=$TMPD/verify.rest.pem
    awk -v leaf="$_leaf" -v rest="$_rest" '
        BEGIN { printf "" > leaf; printf "" > rest }
        /-----BEGIN CERTIFICATE-----/ { n++ }
        n == 1 { print > leaf }
        n > 1 { print > rest }' "$1" || return 1
    [ -s "$_leaf" ] || { echo "verify_chain: no certificate in $1"; return 1; }
    # only ROOTPEM is trusted: none of the system's CAs
    if [ -s "$_rest" ]; then
        openssl verify -no-CApath -no-CAstore -CAfile "$2" -untrusted "$_rest" "$_leaf" 2>&1
    else
        openssl verify -no-CApath -no-CAstore -CAfile "$2" "$_leaf" 2>&1
    fi
}

cert_sans() {
    openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | sed 1d | tr ',' '\n' |
        sed 's/^ *//; s/ *$//' | grep . | while IFS= read -r _s; do
            case $_s in
            DNS:*) printf '%s\n' "${_s#DNS:}" ;;
            "IP Address:"*)
                printf 'IP:%s\n' "$("$PY3" -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]).compressed)' "${_s#IP Address:}")" ;;
            *) printf '%s\n' "$_s" ;;
            esac
        done | LC_ALL=C sort
}

cert_keytype() {
    if grep -q 'PRIVATE KEY-----' "$1"; then
        _t=$(openssl pkey -in "$1" -noout -text 2>/dev/null)
    else
        _t=$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null | openssl pkey -pubin -noout -text 2>/dev/null)
    fi
    _bits=$(printf '%s\n' "$_t" | sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p' | head -n 1)
    _curve=$(printf '%s\n' "$_t" | sed -n 's/^ *ASN1 OID: *//p' | head -n 1)
    if [ -n "$_curve" ]; then
        echo "EC $_curve"
    elif printf '%s\n' "$_t" | grep -q '^ED25519'; then
        echo ED25519
    elif printf '%s\n' "$_t" | grep -q '^Modulus:'; then
        echo "RSA $_bits"
    else
        echo unknown
    fi
}

# ---- dnsd as the ACME client ----

# acme_store ZONE: a fresh store holding ZONE (apex NS ns1.ZONE at 127.0.0.1, www A)
acme_store() {
    cat >"$TMPD/acme-zone" <<EOF
\$ORIGIN $1.
\$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 127.0.0.1
www A 192.0.2.80
EOF
    make_store "$1" "$TMPD/acme-zone"
}

# acme_conf FILE [LINE...]: a dnsd config file with ACME settings for tests:
# Pebble's CA bundle (made by pebble_certs now if needed, so dnsd can start
# before Pebble), PEM files in $TMPD/certs, short backoff; more lines as given.
acme_conf() {
    _f=$1
    shift
    if [ ! -s "$PEBBLE_CERTS/ca.pem" ]; then
        pebble_certs "$PEBBLE_CERTS" || _bail "pebble_certs failed"
    fi
    {
        echo "acme-ca-bundle $PEBBLE_CERTS/ca.pem"
        echo "acme-contact mailto:ops@acme.test"
        echo "acme-agree-tos yes"
        echo "cert-dir $TMPD/certs"
        echo "acme-backoff-min 1"
        echo "acme-backoff-max 3"
        for _l in "$@"; do echo "$_l"; done
    } >"$_f"
}

# cert_field ID KEY: a field of `dnsctl cert show ID --json` ("a.b" for nested ones)
cert_field() {
    dnsctl cert show "$1" --json 2>/dev/null | "$PY3" -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d.get(k, "") if isinstance(d, dict) else ""
print(d)' "$2"
}

# wait_cert ID FIELD VALUE SECONDS: poll until cert_field ID FIELD is VALUE
wait_cert() {
    _end=$(($(date +%s) + $4))
    while [ "$(date +%s)" -le "$_end" ]; do
        [ "$(cert_field "$1" "$2")" = "$3" ] && return 0
        sleep 0.2
    done
    return 1
}

# ---- Knot ----

acme_zone() {
    printf '%s\n' "\$ORIGIN $1." '$TTL 300' \
        "@ IN SOA ns1.$1. hostmaster.$1. 1 3600 600 86400 60" \
        "@ IN NS ns1.$1." 'ns1 IN A 127.0.0.1' 'www IN A 127.0.0.1' >"$2"
}

_knot_conf() {
    cat >"$KNOT_DIR/knot.conf" <<EOF
server:
    rundir: "$KNOT_DIR/run"
    listen: 127.0.0.1@$KNOT_PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "$KNOT_DIR/run/knot.sock"
database:
    storage: "$KNOT_DIR/db"
log:
  - target: stderr
    any: info
key:
  - id: $TSIG_NAME
    algorithm: $TSIG_ALG
    secret: $TSIG_SECRET
acl:
  - id: ddns-tsig
    key: $TSIG_NAME
    action: update
template:
  - id: default
    storage: "$KNOT_DIR"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: $1
    file: "$2"
    acl: ddns-tsig
EOF
}

start_knot() {
    stop_knot
    mkdir -p "$KNOT_DIR/run" "$KNOT_DIR/db" || _bail "cannot make $KNOT_DIR"
    TSIG_NAME=acme-update. TSIG_ALG=hmac-sha256
    TSIG_SECRET=$(openssl rand -base64 32)
    _try=0
    while [ $_try -lt 5 ]; do
        _try=$((_try + 1))
        KNOT_PORT=$(free_udp_tcp_port) || _bail "no free port for knotd"
        _knot_conf "$1" "$2"
        echo "=== start_knot $(date +%T): port $KNOT_PORT" >>"$KNOT_LOG"
        _l=$(wc -l <"$KNOT_LOG")
        knotd -c "$KNOT_DIR/knot.conf" >>"$KNOT_LOG" 2>&1 &
        KNOT_PID=$!
        _i=0
        while [ $_i -lt 100 ] && kill -0 "$KNOT_PID" 2>/dev/null; do
            _i=$((_i + 1))
            # knotd 3.2 exits when it cannot bind ("cannot bind address ...
            # failed to configure server"); take the line as the answer anyway
            if tail -n +"$_l" "$KNOT_LOG" | grep -q 'cannot bind'; then break; fi
            if kdig @127.0.0.1 -p "$KNOT_PORT" +norec +time=1 +retry=0 "$1" SOA 2>/dev/null |
                grep -q 'status: NOERROR'; then
                return 0
            fi
            sleep 0.1
        done
        stop_knot
    done
    _bail "knotd did not start (log: $KNOT_LOG)" "$KNOT_LOG"
}

stop_knot() {
    stop_pid "$KNOT_PID"
    KNOT_PID=
}

# hold_port udp|tcp: occupy a kernel-chosen 127.0.0.1 port (for tests of a
# start that must move on when a port is taken) until the test ends; sets
# BUSY to the port and HOLD_PID
hold_port() {
    rm -f "$TMPD/busy"
    "$PY3" -c '
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[2] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
if sys.argv[2] != "udp":
    s.listen()
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)' "$TMPD/busy" "$1" &
    HOLD_PID=$!
    at_exit stop_hold
    _i=0
    while [ ! -s "$TMPD/busy" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
    BUSY=$(cat "$TMPD/busy")
}
stop_hold() { [ -z "${HOLD_PID:-}" ] || { kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null; }; }

at_exit stop_pebble
at_exit stop_knot

# lego_rfc2136 PORT KEY SECRET ALG: lego's rfc2136 provider gets a
# certificate for $ZONE, *.$ZONE and www.$ZONE from Pebble, its updates and
# checks sent to 127.0.0.1:PORT signed with KEY (ALG, SECRET); into
# $TMPD/lego, output in $TMPD/lego.log; returns lego's exit status
lego_rfc2136() {
    LEGO_CA_CERTIFICATES=$PEBBLE_CA_BUNDLE \
    RFC2136_NAMESERVER=127.0.0.1:$1 \
    RFC2136_TSIG_KEY=$2 RFC2136_TSIG_SECRET=$3 RFC2136_TSIG_ALGORITHM=$4 \
    RFC2136_PROPAGATION_TIMEOUT=30 RFC2136_POLLING_INTERVAL=1 RFC2136_SEQUENCE_INTERVAL=0 \
    RFC2136_DNS_TIMEOUT=5 RFC2136_TTL=60 \
        timeout -k 5 "${LEGO_TIMEOUT:-180}" lego --server "$PEBBLE_DIR_URL" --accept-tos \
        --email "test@$ZONE" --dns rfc2136 --dns.resolvers "127.0.0.1:$1" --dns.disable-cp \
        --dns-timeout 5 --http-timeout 10 --cert.timeout 30 --key-type ec256 \
        --path "$TMPD/lego" --domains "$ZONE" --domains "*.$ZONE" --domains "www.$ZONE" \
        run >"$TMPD/lego.log" 2>&1
}
