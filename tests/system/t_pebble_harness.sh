#!/bin/sh
# t_pebble_harness.sh -- lib_acme.sh itself: the test CA and Pebble's server
# certificate, Pebble on kernel-chosen loopback ports serving its ACME
# directory over TLS trusted through that CA only, a port clash retried,
# settings (DNS server, no VA sleeps, nonce rejection, validity, EAB)
# reaching Pebble, roots fetched, restart on the same ports with a new root,
# and stop_pebble leaving no process behind.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 31

# get URL: the body, over TLS trusting only Pebble's test CA
get() { curl -fsS --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" "$@"; }
# dir_check JSON PREFIX: the names of newNonce/newAccount/newOrder whose URL
# starts with PREFIX, then meta.externalAccountRequired
dir_check() {
    printf '%s' "$1" | "$PY3" -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(k for k in ("newNonce", "newAccount", "newOrder")
               if str(d.get(k, "")).startswith(sys.argv[1])),
      d.get("meta", {}).get("externalAccountRequired"))' "$2"
}

# ---- the throw-away CA and Pebble's TLS certificate ----
pebble_certs "$TMPD/tls"
ok '[ -s "$TMPD/tls/ca.pem" ] && [ -s "$TMPD/tls/pebble.pem" ] && [ -s "$TMPD/tls/pebble.key" ]' \
    "pebble_certs writes ca.pem, pebble.pem, pebble.key"
is "$(cert_sans "$TMPD/tls/pebble.pem" | tr '\n' ' ')" "IP:127.0.0.1 IP:::1 localhost " \
    "server certificate names 127.0.0.1, ::1 and localhost"
like "$(verify_chain "$TMPD/tls/pebble.pem" "$TMPD/tls/ca.pem")" ': OK$' \
    "server certificate chains to ca.pem"
is "$(cert_keytype "$TMPD/tls/pebble.pem")" "EC prime256v1" "cert_keytype of an EC P-256 certificate"
is "$(cert_keytype "$TMPD/tls/pebble.key")" "EC prime256v1" "cert_keytype of an EC P-256 key"
openssl req -x509 -new -nodes -newkey rsa:2048 -keyout "$TMPD/rsa.key" -out "$TMPD/rsa.pem" \
    -days 1 -subj /CN=rsa.test -addext subjectAltName=DNS:rsa.test,DNS:*.rsa.test >/dev/null 2>&1
is "$(cert_keytype "$TMPD/rsa.pem")" "RSA 2048" "cert_keytype of an RSA 2048 certificate"
is "$(cert_sans "$TMPD/rsa.pem" | tr '\n' ' ')" "*.rsa.test rsa.test " "cert_sans sorts DNS names"
pebble_certs "$TMPD/other"
unlike "$(verify_chain "$TMPD/tls/pebble.pem" "$TMPD/other/ca.pem")" ': OK$' \
    "verify_chain fails against another CA"

# ---- start: the first ports offered are taken, start_pebble must move on ----
hold_port tcp
_pebble_pick_ports() {
    if [ ! -e "$TMPD/picked" ]; then
        : >"$TMPD/picked"
        echo "$BUSY $(free_tcp_ports 3)"
    else
        free_tcp_ports 4
    fi
}
DNSPORT=$(free_udp_tcp_port)
PEBBLE_VALIDITY=3600 start_pebble "$DNSPORT" PEBBLE_WFE_NONCEREJECT=0
ok 'kill -0 "$PEBBLE_PID"' "pebble runs (PID $PEBBLE_PID)"
ok '[ "$PEBBLE_PORT" != "$BUSY" ] && [ "$(grep -c "address already in use" "$PEBBLE_LOG")" = 1 ]' \
    "a taken port made pebble exit once, then other ports were picked"
stop_hold
like "$PEBBLE_DIR_URL" "^https://127\\.0\\.0\\.1:$PEBBLE_PORT/dir\$" "PEBBLE_DIR_URL is the loopback directory"
is "$PEBBLE_CA_BUNDLE" "$TMPD/pebble-tls/ca.pem" "PEBBLE_CA_BUNDLE is the generated CA"

dir=$(get "$PEBBLE_DIR_URL")
is "$(dir_check "$dir" "https://127.0.0.1:$PEBBLE_PORT/")" "newNonce newAccount newOrder False" \
    "directory over TLS has newNonce, newAccount, newOrder on our port; no EAB required"
curl -sS --max-time 5 -o /dev/null "$PEBBLE_DIR_URL" 2>/dev/null
is "$?" 60 "without the test CA, curl rejects pebble's certificate"
nonce_url=$(printf '%s' "$dir" | "$PY3" -c 'import json, sys; print(json.load(sys.stdin)["newNonce"])')
like "$(get -I "$nonce_url")" '^[Rr]eplay-[Nn]once: [A-Za-z0-9_-]+' "newNonce gives a Replay-Nonce"
like "$(cat "$PEBBLE_LOG")" "custom DNS resolver for ACME challenges: 127\\.0\\.0\\.1:$DNSPORT" \
    "pebble validates against 127.0.0.1:DNSPORT"
like "$(cat "$PEBBLE_LOG")" 'Disabling random VA sleeps' "PEBBLE_VA_NOSLEEP=1 by default"
like "$(cat "$PEBBLE_LOG")" 'reject 0% of good nonces' "extra environment reaches pebble"
like "$(cat "$PEBBLE_LOG")" 'validity period of 3600 seconds' "PEBBLE_VALIDITY reaches pebble"

# ---- roots ----
pebble_root "$TMPD/root.pem"
like "$(openssl x509 -in "$PEBBLE_ROOT" -noout -subject)" 'Pebble Root CA' "pebble_root fetches /roots/0"
like "$(verify_chain "$PEBBLE_ROOT" "$PEBBLE_ROOT")" ': OK$' "the root is self-signed"
like "$(verify_chain "$PEBBLE_INTERMEDIATE" "$PEBBLE_ROOT")" ': OK$' \
    "the intermediate (/intermediates/0) chains to the root"
ok '! pebble_root "$TMPD/none.pem" 1 2>/dev/null' "pebble_root of a missing alternate root fails"

# ---- restart: same ports, new process, new root (Pebble keeps no state) ----
old_pid=$PEBBLE_PID old_url=$PEBBLE_DIR_URL old_mgmt=$PEBBLE_MGMT_URL
restart_pebble
ok '[ "$PEBBLE_PID" != "$old_pid" ] && ! kill -0 "$old_pid" 2>/dev/null' "restart_pebble replaces the process"
is "$PEBBLE_DIR_URL $PEBBLE_MGMT_URL" "$old_url $old_mgmt" "restart_pebble keeps the ports"
dir=$(get "$PEBBLE_DIR_URL")
is "$(dir_check "$dir" "https://127.0.0.1:$PEBBLE_PORT/")" "newNonce newAccount newOrder False" \
    "directory answers again after restart"
pebble_root "$TMPD/root2.pem"
ok '! cmp -s "$TMPD/root.pem" "$TMPD/root2.pem"' "the restarted pebble has a new root"

# ---- EAB ----
old_pid=$PEBBLE_PID
PEBBLE_EAB=kid-1:zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W \
    start_pebble "$DNSPORT"
dir=$(get "$PEBBLE_DIR_URL")
is "$(dir_check "$dir" "https://127.0.0.1:$PEBBLE_PORT/")" "newNonce newAccount newOrder True" \
    "PEBBLE_EAB: the directory says external account binding is required"
ok '! kill -0 "$old_pid" 2>/dev/null && [ -n "$PEBBLE_PID" ]' \
    "start_pebble stopped the earlier pebble first"

# ---- stop ----
pid=$PEBBLE_PID
stop_pebble
ok '! kill -0 "$pid" 2>/dev/null' "stop_pebble: PID $pid is gone"
ok '! curl -sS --max-time 2 --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null "$PEBBLE_DIR_URL" 2>/dev/null' \
    "stop_pebble: the directory no longer answers"
