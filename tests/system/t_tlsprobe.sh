#!/bin/sh
# t_tlsprobe.sh -- dnsd's rollout probes (acme/tlsprobe.c, issue 15) with
# every client profile against real HAProxy load balancers presenting: a
# good ECDSA (P-256) certificate, a good RSA-2048 one, one for another
# name, one from a CA the probe does not trust, and an expired one; then a
# listener that never completes a handshake and a closed port. Each
# profile's outcome is checked exactly: which handshakes complete (the ECDSA-
# and RSA-only profiles and the old client against each key type),
# protocol, cipher family, the leaf's serial, and the error text the
# controller sees. Run through tests/system/tlsprobe_run.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_haproxy.sh"
need_haproxy
plan 31

RUN=$top_builddir/tests/system/tlsprobe_run
shard_ca "$TMPD/ca" >/dev/null
shard_ca "$TMPD/other" >/dev/null
CA=$TMPD/ca/root.pem
mkdir -p "$TMPD/b"

# leaf ec|rsa CADIR FILE NAME [START END]: a leaf (P-256 or RSA-2048) from CADIR's intermediate
# written as leaf, intermediate, key; with START END (openssl ca dates) e.g. an expired one;
# prints its serial
leaf() {
    _w=$(mktemp -d "$TMPD/leaf.XXXXXX")
    case $1 in
    rsa) _kopt="-newkey rsa:2048" ;;
    *) _kopt="-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
    esac
    printf '%s\n' "subjectAltName=DNS:$4" 'basicConstraints=critical,CA:FALSE' \
        'extendedKeyUsage=serverAuth' >"$_w/ext"
    # shellcheck disable=SC2086
    openssl req -new -nodes $_kopt -keyout "$_w/key" -out "$_w/csr" -subj "/CN=$4" >/dev/null 2>&1 ||
        { echo "Bail out! openssl req"; exit 1; }
    if [ -n "${5:-}" ]; then
        touch "$_w/index.txt"
        echo 1000 >"$_w/serial"
        printf '%s\n' '[ca]' 'default_ca = d' '[d]' "database = $_w/index.txt" "new_certs_dir = $_w" \
            "serial = $_w/serial" 'default_md = sha256' 'policy = p' '[p]' 'commonName = supplied' \
            >"$_w/cnf"
        openssl ca -batch -config "$_w/cnf" -cert "$2/int.pem" -keyfile "$2/int.key" -in "$_w/csr" \
            -out "$_w/crt" -startdate "$5" -enddate "$6" -extfile "$_w/ext" -notext >/dev/null 2>&1 ||
            { echo "Bail out! openssl ca"; exit 1; }
    else
        openssl x509 -req -in "$_w/csr" -CA "$2/int.pem" -CAkey "$2/int.key" \
            -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$_w/ext" -out "$_w/crt" \
            >/dev/null 2>&1 || { echo "Bail out! openssl x509"; exit 1; }
    fi
    cat "$_w/crt" "$2/int.pem" "$_w/key" >"$3"
    openssl x509 -in "$_w/crt" -noout -serial | sed 's/^serial=//'
    rm -rf "$_w"
}
N=www.example.test
S_EC=$(leaf ec "$TMPD/ca" "$TMPD/b/ec.pem" $N)
S_RSA=$(leaf rsa "$TMPD/ca" "$TMPD/b/rsa.pem" $N)
leaf ec "$TMPD/ca" "$TMPD/b/name.pem" other.example.net >/dev/null
leaf ec "$TMPD/other" "$TMPD/b/untrusted.pem" $N >/dev/null
leaf ec "$TMPD/ca" "$TMPD/b/expired.pem" $N 20200101000000Z 20200102000000Z >/dev/null
for k in ec rsa name untrusted expired; do
    write_atomic "$TMPD/b/$k.list" "$TMPD/b/$k.pem"
done
start_haproxy ec 127.0.0.1 "$TMPD/b/ec.list"
start_haproxy rsa 127.0.0.2 "$TMPD/b/rsa.list"
start_haproxy name 127.0.0.3 "$TMPD/b/name.list"
start_haproxy untrusted 127.0.0.4 "$TMPD/b/untrusted.list"
start_haproxy expired 127.0.0.5 "$TMPD/b/expired.list"

probe() { "$RUN" "$1" $N "$CA" 3000 >"$TMPD/p.out"; }
line() { grep "^$1 " "$TMPD/p.out"; }
# brief PROFILE: "ok|fail PROTO" and the error
brief() { line "$1" | awk '{print $2, $3}'; }
err() { line "$1" | sed 's/^[^"]*"\(.*\)"$/\1/'; }

probe "127.0.0.1:$HAPROXY_EC_PORT"
is "$(brief tls13)" "ok TLSv1.3" "ECDSA certificate: tls13 completes"
is "$(brief tls12)" "ok TLSv1.2" "... tls12 completes with TLS 1.2"
like "$(line tls12 | cut -d' ' -f4)" '^ECDHE-ECDSA-' "... with an ECDHE-ECDSA cipher"
is "$(brief ecdsa)" "ok TLSv1.3" "... ecdsa completes"
is "$(brief rsa)" "fail unknown" "... rsa cannot (no RSA signature possible)"
like "$(err rsa)" 'handshake failure' "... the server's alert ($(err rsa))"
is "$(brief nosni)" "ok TLSv1.3" "... nosni gets the default certificate, valid for the name"
is "$(brief old)" "fail unknown" "... old cannot (no ECDHE-ECDSA cipher)"
is "$(line tls13 | cut -d' ' -f5)" "$S_EC" "... the leaf's serial"
ok '[ "$(line tls13 | cut -d" " -f6)" -gt 0 ]' "... a handshake time"
is "$(line bogus-profile)" "bogus-profile -1" "an unknown profile: -1"

probe "127.0.0.2:$HAPROXY_RSA_PORT"
is "$(brief tls13)" "ok TLSv1.3" "RSA certificate: tls13 completes"
like "$(line tls12 | cut -d' ' -f4)" '^ECDHE-RSA-' "... tls12 with an ECDHE-RSA cipher"
is "$(brief ecdsa)" "fail unknown" "... ecdsa cannot"
is "$(brief rsa)" "ok TLSv1.3" "... rsa completes"
is "$(brief old)" "ok TLSv1.2" "... old completes with TLS 1.2"
like "$(line old | cut -d' ' -f4)" '^(ECDHE-RSA-AES(128|256)-SHA|AES(128|256)-SHA|AES128-SHA256|AES128-GCM-SHA256)$' \
    "... and one of the old client's ciphers ($(line old | cut -d' ' -f4))"
is "$(line old | cut -d' ' -f5)" "$S_RSA" "... the RSA leaf's serial"

probe "127.0.0.3:$HAPROXY_NAME_PORT"
for p in tls13 tls12 ecdsa nosni; do
    is "$(brief $p | cut -d' ' -f1) $(err $p)" "fail hostname mismatch" \
        "another name: $p completes the handshake, the name is refused"
done
ok '[ "$(line tls13 | cut -d" " -f5)" != - ]' "... the serial is recorded all the same"

probe "127.0.0.4:$HAPROXY_UNTRUSTED_PORT"
is "$(brief tls13 | cut -d' ' -f1) $(err tls13)" "fail unable to get local issuer certificate" \
    "an untrusted CA: refused with the verify error"
"$RUN" "127.0.0.4:$HAPROXY_UNTRUSTED_PORT" $N "$TMPD/other/root.pem" 3000 >"$TMPD/p.out"
is "$(brief tls13)" "ok TLSv1.3" "... trusted with that CA as rollout-probe-ca"

probe "127.0.0.5:$HAPROXY_EXPIRED_PORT"
is "$(brief tls13 | cut -d' ' -f1) $(err tls13)" "fail certificate has expired" "an expired certificate"
is "$(brief tls12 | cut -d' ' -f1) $(err tls12)" "fail certificate has expired" "... with TLS 1.2 too"

# the system's trust store: the test CA is not in it
"$RUN" "127.0.0.1:$HAPROXY_EC_PORT" $N - 3000 >"$TMPD/p.out"
is "$(brief tls13 | cut -d' ' -f1) $(err tls13)" "fail unable to get local issuer certificate" \
    "no CA file: the system's roots, which do not have the test CA"

# a listener that accepts and never answers: every probe ends at its timeout
"$HAP_PY" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.6", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$TMPD/silent.port" &
SILENT=$!
stop_silent() { stop_pid "$SILENT"; }
at_exit stop_silent
i=0
while [ ! -s "$TMPD/silent.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
"$RUN" "127.0.0.6:$(cat "$TMPD/silent.port")" $N "$CA" 300 >"$TMPD/p.out"
is "$(grep -c ' fail unknown - - 0 "timed out"$' "$TMPD/p.out")" 6 "a silent server: all six time out"
stop_silent
# a closed port
P=$(_hap_free_port 127.0.0.7)
"$RUN" "127.0.0.7:$P" $N "$CA" 1000 >"$TMPD/p.out"
is "$(grep -c ' fail unknown - - 0 "connect: Connection refused"$' "$TMPD/p.out")" 6 \
    "a closed port: all six refused"
is "$(err nosni)" "connect: Connection refused" "... the connect error as the reason"
