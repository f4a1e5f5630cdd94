# lib_haproxy.sh -- helpers for the HAProxy deployment tests: real HAProxy
# processes with a TLS frontend fed by a crt-list and an admin stats socket,
# a TLS probe that says which certificate a listener presents for an SNI
# name, and a throw-away CA for certificate bundles in the layout dnsd
# writes for regional shards (CERTDIR/regions/R/D.pem + crt-list.txt).
# Sourced after lib.sh (uses TMPD, need, at_exit); lib_acme.sh is not needed.
# POSIX sh. Loopback only (127.0.0.0/8; 127.0.0.2 works on Linux without
# configuration); ports are kernel-chosen; every HAProxy is stopped by PID
# from lib.sh's EXIT trap.
#
# HAProxy:
#   need_haproxy                       skip (or bail, REQUIRE_ALL=1) without haproxy, openssl
#   start_haproxy NAME ADDR CRTLIST [--tcp-admin]
#       one haproxy (foreground, one thread, its own config $TMPD/haproxy-NAME.cfg)
#       with `bind ADDR:PORT ssl crt-list CRTLIST` (PORT kernel-chosen on
#       ADDR), `http-request return status 200` with body "NAME", and an
#       admin-level stats socket $TMPD/haproxy-NAME.sock; --tcp-admin adds
#       a second admin socket on 127.0.0.1:kernel-chosen port. Waits until
#       the listener completes a TLS handshake. NAME is [A-Za-z0-9_]+; in
#       the variables it sets it is upper-cased (eu -> HAPROXY_EU_PID):
#         HAPROXY_<NAME>_PID   HAPROXY_<NAME>_PORT   HAPROXY_<NAME>_SOCK
#         HAPROXY_<NAME>_TCPSOCK (ipv4@127.0.0.1:PORT, with --tcp-admin)
#         HAPROXY_<NAME>_LOG   ($TMPD/haproxy-NAME.log)
#       Bails out when it does not start (a port clash is retried).
#   stop_haproxy NAME                  TERM, KILL after 5 s; clears HAPROXY_<NAME>_PID
#   haproxy_cli NAME COMMAND           one runtime API command on NAME's socket; prints the answer
#   haproxy_pid_unchanged NAME         true when the process started as NAME still runs and is
#                                      the one answering on NAME's socket (show info's Pid)
# TLS:
#   tls_probe ADDR PORT SNI [CAFILE]   "SERIAL NAME..." of the leaf presented for SNI: serial
#                                      as `openssl x509 -serial` writes it (upper-case hex, no
#                                      "serial="), then its DNS SANs sorted; with CAFILE the
#                                      chain must verify to CAFILE alone and match SNI. Prints
#                                      nothing and fails when there is no (valid) certificate.
#   tls_alpn ADDR PORT SNI PROTOS      the ALPN protocol the server picked from PROTOS (h2,http/1.1)
# Certificates (EC P-256, valid 2 days):
#   shard_ca DIR                       root + intermediate: DIR/root.pem, DIR/int.pem, DIR/int.key
#   shard_bundle CADIR FILE NAME...    a leaf for NAMEs (CN = first) from CADIR's intermediate,
#                                      written to FILE as dnsd does (leaf, intermediate, key;
#                                      mode 0600; tmp + rename); prints its serial
#   write_atomic FILE LINE...          FILE := the LINEs (tmp + rename), e.g. a crt-list
# HTTP-01 load balancer (issue 18):
#   start_http01_lb NODEPORT1 NODEPORT2 NODEPORT3 [LBPORT]
#       an application backend on 127.0.0.1 (any GET: 200 "app") and an
#       HAProxy running the example tools/haproxy-http01.cfg with only its
#       192.0.2.x addresses replaced: the frontend on 127.0.0.2:LBPORT
#       (kernel-chosen, a clash retried, when not given), the dnsd nodes'
#       http01-listen on 127.0.0.11..13:NODEPORTi, the app. Waits until the
#       frontend answers; sets LB_PORT, LB_PID, LB_CFG (the config run),
#       LB_LOG. Bails out when an address was not replaced or it does not start.

HAP_PY=/usr/bin/python3
[ -x "$HAP_PY" ] || HAP_PY=python3
_hap_names=

need_haproxy() { need haproxy openssl "$HAP_PY"; }

_hap_bail() {
    echo "Bail out! $1"
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 20 "$2" | sed 's/^/# /'
    exit 1
}

# _hap_var NAME FIELD: the name of the variable HAPROXY_<NAME>_<FIELD>
_hap_var() { printf 'HAPROXY_%s_%s' "$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')" "$2"; }
_hap_get() { eval "printf '%s' \"\${$(_hap_var "$1" "$2"):-}\""; }
_hap_set() { eval "$(_hap_var "$1" "$2")=\$3"; }

# _hap_free_port ADDR: a TCP port the kernel finds free on ADDR (then released)
_hap_free_port() {
    "$HAP_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])' "$1"
}

_hap_conf() { # NAME ADDR PORT CRTLIST SOCK TCPPORT
    {
        echo "global"
        echo "    nbthread 1"
        echo "    stats socket $5 mode 600 level admin"
        [ -n "$6" ] && echo "    stats socket ipv4@127.0.0.1:$6 level admin"
        echo "    stats timeout 30s"
        echo "defaults"
        echo "    mode http"
        echo "    timeout connect 5s"
        echo "    timeout client 10s"
        echo "    timeout server 10s"
        echo "frontend tls"
        echo "    bind $2:$3 ssl crt-list $4"
        echo "    http-request return status 200 content-type text/plain string \"$1\""
    } >"$TMPD/haproxy-$1.cfg"
}

start_haproxy() {
    [ $# -ge 3 ] || _hap_bail "usage: start_haproxy NAME ADDR CRTLIST [--tcp-admin]"
    case $1 in *[!A-Za-z0-9_]*) _hap_bail "start_haproxy: bad NAME '$1'" ;; esac
    _hn=$1 _ha=$2 _hc=$3 _htcp=
    case ${4:-} in
    "") ;;
    --tcp-admin) _htcp=1 ;;
    *) _hap_bail "start_haproxy: unknown option '$4'" ;;
    esac
    stop_haproxy "$_hn"
    case " $_hap_names " in *" $_hn "*) ;; *) _hap_names="$_hap_names $_hn" ;; esac
    _hsock=$TMPD/haproxy-$_hn.sock _hlog=$TMPD/haproxy-$_hn.log
    _try=0
    while [ $_try -lt 5 ]; do
        _try=$((_try + 1))
        _hport=$(_hap_free_port "$_ha") || _hap_bail "start_haproxy: cannot bind $_ha"
        _htport=
        [ -n "$_htcp" ] && { _htport=$(_hap_free_port 127.0.0.1) || _hap_bail "no port"; }
        _hap_conf "$_hn" "$_ha" "$_hport" "$_hc" "$_hsock" "$_htport"
        echo "=== start_haproxy $(date +%T): $_ha:$_hport ${_htport:+admin 127.0.0.1:$_htport}" >>"$_hlog"
        _l=$(wc -l <"$_hlog")
        rm -f "$_hsock"
        haproxy -f "$TMPD/haproxy-$_hn.cfg" -db >>"$_hlog" 2>&1 &
        _hpid=$!
        _hap_set "$_hn" PID "$_hpid"
        _hap_set "$_hn" PORT "$_hport"
        _hap_set "$_hn" SOCK "$_hsock"
        _hap_set "$_hn" TCPSOCK "${_htport:+ipv4@127.0.0.1:$_htport}"
        _hap_set "$_hn" LOG "$_hlog"
        _i=0
        while [ $_i -lt 100 ] && kill -0 "$_hpid" 2>/dev/null; do
            _i=$((_i + 1))
            # the default certificate: no SNI needed
            if [ -S "$_hsock" ] && timeout 5 openssl s_client -connect "$_ha:$_hport" </dev/null 2>/dev/null |
                grep -q -- '-----BEGIN CERTIFICATE-----'; then
                return 0
            fi
            sleep 0.1
        done
        if kill -0 "$_hpid" 2>/dev/null; then
            stop_haproxy "$_hn"
            _hap_bail "haproxy $_hn: no TLS handshake on $_ha:$_hport in 10 s" "$_hlog"
        fi
        wait "$_hpid" 2>/dev/null
        _hap_set "$_hn" PID ""
        tail -n +"$_l" "$_hlog" | grep -q -i 'cannot bind\|address already in use' ||
            _hap_bail "haproxy $_hn did not start (log: $_hlog)" "$_hlog"
        echo "# start_haproxy: a port was taken, retrying with another"
    done
    _hap_bail "haproxy $_hn: no free port after 5 attempts" "$_hlog"
}

stop_haproxy() {
    stop_pid "$(_hap_get "$1" PID)"
    _hap_set "$1" PID ""
}

_hap_stop_all() { for _n in $_hap_names; do stop_haproxy "$_n"; done; }
at_exit _hap_stop_all

# haproxy_cli NAME COMMAND: the answer, read until HAProxy closes (10 s at most)
haproxy_cli() {
    "$HAP_PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode("utf-8", "replace"))' "$(_hap_get "$1" SOCK)" "$2"
}

haproxy_pid_unchanged() {
    _hp=$(_hap_get "$1" PID)
    [ -n "$_hp" ] && kill -0 "$_hp" 2>/dev/null || return 1
    _got=$(haproxy_cli "$1" "show info" 2>/dev/null | sed -n 's/^Pid: //p')
    [ "$_got" = "$_hp" ]
}

# ---- TLS ----

tls_probe() {
    if [ -n "${4:-}" ]; then
        set -- "$1" "$2" "$3" -CAfile "$4" -no-CApath -no-CAstore -verify_return_error \
            -verify_hostname "$3"
    fi
    _tp_a=$1 _tp_p=$2 _tp_sni=$3
    shift 3
    _tp_pem=$(timeout 10 openssl s_client -connect "$_tp_a:$_tp_p" -servername "$_tp_sni" "$@" \
        </dev/null 2>/dev/null | sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p')
    [ -n "$_tp_pem" ] || return 1
    _tp_serial=$(printf '%s\n' "$_tp_pem" | openssl x509 -noout -serial | sed 's/^serial=//')
    _tp_sans=$(printf '%s\n' "$_tp_pem" | openssl x509 -noout -ext subjectAltName 2>/dev/null |
        sed 1d | tr ',' '\n' | sed -n 's/^ *DNS://p' | LC_ALL=C sort | tr '\n' ' ')
    printf '%s %s\n' "$_tp_serial" "${_tp_sans% }"
}

tls_alpn() {
    timeout 10 openssl s_client -connect "$1:$2" -servername "$3" -alpn "$4" </dev/null 2>/dev/null |
        sed -n 's/^ALPN protocol: //p'
}

# ---- certificates ----

shard_ca() {
    mkdir -p "$1" || return 1
    _l=$1/openssl.log
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$1/root.key" -out "$1/root.pem" -days 2 -subj "/CN=dnsd shard test root $$" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        >"$_l" 2>&1 &&
        openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -keyout "$1/int.key" -out "$1/int.csr" -subj "/CN=dnsd shard test intermediate $$" \
            >>"$_l" 2>&1 &&
        printf '%s\n' 'basicConstraints=critical,CA:TRUE,pathlen:0' \
            'keyUsage=critical,keyCertSign,cRLSign' >"$1/int.ext" &&
        openssl x509 -req -in "$1/int.csr" -CA "$1/root.pem" -CAkey "$1/root.key" \
            -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$1/int.ext" \
            -out "$1/int.pem" >>"$_l" 2>&1 || { cat "$_l" >&2; return 1; }
}

shard_bundle() {
    _ca=$1 _out=$2
    shift 2
    _w=$(mktemp -d "$TMPD/bundle.XXXXXX") || return 1
    _sans=$(printf 'DNS:%s,' "$@")
    printf '%s\n' "subjectAltName=${_sans%,}" 'basicConstraints=critical,CA:FALSE' \
        'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >"$_w/ext"
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$_w/key" \
        -out "$_w/csr" -subj "/CN=$1" >"$_w/log" 2>&1 &&
        openssl x509 -req -in "$_w/csr" -CA "$_ca/int.pem" -CAkey "$_ca/int.key" \
            -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$_w/ext" -out "$_w/crt" \
            >>"$_w/log" 2>&1 || { cat "$_w/log" >&2; rm -rf "$_w"; return 1; }
    _tmp=$(dirname "$_out")/.$(basename "$_out").tmp
    (umask 077 && cat "$_w/crt" "$_ca/int.pem" "$_w/key" >"$_tmp") && chmod 600 "$_tmp" &&
        mv -f "$_tmp" "$_out" || { rm -rf "$_w"; return 1; }
    openssl x509 -in "$_w/crt" -noout -serial | sed 's/^serial=//'
    rm -rf "$_w"
}

write_atomic() {
    _f=$1
    shift
    _tmp=$(dirname "$_f")/.$(basename "$_f").tmp
    printf '%s\n' "$@" >"$_tmp" && mv -f "$_tmp" "$_f"
}

_http01_lb_stop() { stop_pid "$LB_PID"; stop_pid "$LB_APP_PID"; LB_PID= LB_APP_PID=; }
start_http01_lb() {
    mkdir -p "$TMPD/http01-lb"
    rm -f "$TMPD/http01-lb/app.port"
    "$HAP_PY" -c '
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = b"app"
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()' "$TMPD/http01-lb/app.port" &
    LB_APP_PID=$!
    at_exit _http01_lb_stop
    _k=0
    while [ ! -s "$TMPD/http01-lb/app.port" ] && [ $_k -lt 100 ]; do sleep 0.05; _k=$((_k + 1)); done
    _lb_appport=$(cat "$TMPD/http01-lb/app.port" 2>/dev/null)
    [ -n "$_lb_appport" ] || { echo "Bail out! the application backend did not start"; exit 1; }
    LB_CFG=$TMPD/http01-lb/haproxy.cfg LB_LOG=$TMPD/http01-lb/haproxy.log LB_PID=
    for _try in 1 2 3 4 5; do
        LB_PORT=${4:-$("$HAP_PY" -c '
import socket
s = socket.socket(); s.bind(("127.0.0.2", 0)); print(s.getsockname()[1])')}
        sed -e "s/192\\.0\\.2\\.1:80\$/127.0.0.2:$LB_PORT/" \
            -e "s/192\\.0\\.2\\.11:80 /127.0.0.11:$1 /" \
            -e "s/192\\.0\\.2\\.12:80 /127.0.0.12:$2 /" \
            -e "s/192\\.0\\.2\\.13:80 /127.0.0.13:$3 /" \
            -e "s/192\\.0\\.2\\.100:80\$/127.0.0.1:$_lb_appport/" \
            "$top_srcdir/tools/haproxy-http01.cfg" >"$LB_CFG"
        if grep -v '^ *#' "$LB_CFG" | grep -q '192\.0\.2\.'; then
            echo "Bail out! tools/haproxy-http01.cfg: an address was not replaced"; exit 1
        fi
        haproxy -f "$LB_CFG" -db >>"$LB_LOG" 2>&1 &
        LB_PID=$!
        _k=0
        while [ $_k -lt 100 ] && kill -0 "$LB_PID" 2>/dev/null &&
            [ "$(curl -s --max-time 2 "http://127.0.0.2:$LB_PORT/")" != app ]; do
            sleep 0.1
            _k=$((_k + 1))
        done
        if kill -0 "$LB_PID" 2>/dev/null; then
            return 0
        fi
        wait "$LB_PID" 2>/dev/null
        LB_PID=
        [ -z "${4:-}" ] || break
    done
    echo "Bail out! haproxy did not start on tools/haproxy-http01.cfg"
    sed 's/^/# /' "$LB_LOG" | tail -20
    exit 1
}
