#!/bin/sh
# t_lego_knot.sh -- the reference DNS-01 issuance, without dnsd: lego's
# rfc2136 provider writes _acme-challenge TXT records into a Knot DNS zone
# with TSIG-signed dynamic updates, Pebble validates them by asking that
# Knot, and the certificate (apex + wildcard + www) chains to Pebble's root.
# What dnsd's own ACME client must match. Loopback only; lego runs under a
# timeout.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
need lego knotd kdig knsupdate
plan 17

ZONE=acme.test
LEGO_TIMEOUT=180
acme_zone "$ZONE" "$TMPD/$ZONE.zone"

# the first port offered to knotd is taken: start_knot must move on
hold_port udp
free_udp_tcp_port() {
    if [ ! -e "$TMPD/picked" ]; then
        : >"$TMPD/picked"
        echo "$BUSY"
    else
        "$PY3" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    fi
}
start_knot "$ZONE" "$TMPD/$ZONE.zone"
stop_hold
ok '[ "$KNOT_PORT" != "$BUSY" ] && [ "$(grep -c "cannot bind" "$KNOT_LOG")" = 1 ]' \
    "a taken port made knotd exit once, then another port was picked"
kq() { kdig @127.0.0.1 -p "$KNOT_PORT" +norec +time=2 +retry=0 "$@"; }
# nsup [KEY-ARGS...]: knsupdate against our Knot, script on stdin
nsup() { knsupdate -t 3 -r 0 "$@"; }

# ---- Knot takes updates signed with the TSIG key, and only those ----
out=$(kq "$ZONE" SOA)
like "$out" 'status: NOERROR' "knot serves $ZONE on 127.0.0.1:$KNOT_PORT"
out=$(printf 'server 127.0.0.1 %s\nzone %s.\nupdate add probe.%s. 60 TXT "unsigned"\nsend\n' \
    "$KNOT_PORT" "$ZONE" "$ZONE" | nsup 2>&1)
like "$out" 'NOTAUTH|REFUSED' "an unsigned update is refused"
out=$(kq probe.$ZONE TXT)
like "$out" 'status: NXDOMAIN' "and changes nothing"
out=$(printf 'server 127.0.0.1 %s\nzone %s.\nupdate add probe.%s. 60 TXT "signed"\nsend\n' \
    "$KNOT_PORT" "$ZONE" "$ZONE" | nsup -y "$TSIG_ALG:$TSIG_NAME:$TSIG_SECRET" 2>&1)
out=$(kq probe.$ZONE TXT)
like "$out" 'probe\.acme\.test\..*TXT.*"signed"' "a TSIG-signed update is applied"
printf 'server 127.0.0.1 %s\nzone %s.\nupdate delete probe.%s. TXT\nsend\n' \
    "$KNOT_PORT" "$ZONE" "$ZONE" | nsup -y "$TSIG_ALG:$TSIG_NAME:$TSIG_SECRET" >/dev/null 2>&1
updates0=$(grep -c 'DDNS, finished' "$KNOT_LOG")

# ---- lego + rfc2136 -> Knot, validated by Pebble through Knot ----
PEBBLE_VALIDITY=86400 start_pebble "$KNOT_PORT"
# --dns.disable-cp: without it lego looks up the zone's NS names and asks
# them on port 53; with it lego asks --dns.resolvers (our Knot) once.
# RFC2136_SEQUENCE_INTERVAL: lego waits this long between names (default 60 s)
t0=$(date +%s)
lego_rfc2136 "$KNOT_PORT" "$TSIG_NAME" "$TSIG_SECRET" "$TSIG_ALG"
rc=$?
diag "lego took $(($(date +%s) - t0)) s"
is "$rc" 0 "lego run exits 0"
[ "$rc" = 0 ] || sed 's/^/#   /' "$TMPD/lego.log" | tail -n 30
CRT=$TMPD/lego/certificates/$ZONE.crt
ok '[ -s "$CRT" ] && [ -s "$TMPD/lego/certificates/$ZONE.key" ]' "lego stored the certificate and key"

pebble_root "$TMPD/root.pem" || { echo "Bail out! cannot fetch pebble's root"; exit 1; }
if [ -s "$CRT" ]; then
    like "$(verify_chain "$CRT" "$PEBBLE_ROOT")" ': OK$' "the certificate chains to pebble's root"
    unlike "$(verify_chain "$CRT" "$PEBBLE_CA_BUNDLE")" ': OK$' "and not to an unrelated CA"
    is "$(openssl x509 -in "$CRT" -noout -issuer)" \
        "$(openssl x509 -in "$PEBBLE_INTERMEDIATE" -noout -subject | sed 's/^subject/issuer/')" \
        "issued by pebble's intermediate"
    is "$(cert_sans "$CRT" | tr '\n' ' ')" "*.$ZONE $ZONE www.$ZONE " "names: apex, wildcard and www"
    is "$(cert_keytype "$CRT")" "EC prime256v1" "--key-type ec256: EC P-256 key"
    nb=$(date -d "$(openssl x509 -in "$CRT" -noout -startdate | sed 's/^notBefore=//')" +%s)
    na=$(date -d "$(openssl x509 -in "$CRT" -noout -enddate | sed 's/^notAfter=//')" +%s)
    is "$((na - nb))" 86399 "PEBBLE_VALIDITY=86400: valid for 86400 s (notAfter inclusive)"
    ok '[ "$nb" -le "$(date +%s)" ] && [ "$nb" -ge "$t0" ]' "valid from the time of issuance"
else
    skip 7 "lego left no certificate"
fi

# three names, each a TXT added then removed: at least 6 updates
updates=$(($(grep -c 'DDNS, finished' "$KNOT_LOG") - updates0))
ok '[ "$updates" -ge 6 ]' "knot applied lego's updates ($updates)"
st=$(for n in _acme-challenge.$ZONE _acme-challenge.www.$ZONE; do
    kq "$n" TXT | sed -n 's/.*status: \([A-Z]*\).*/\1/p'
done | tr '\n' ' ')
is "$st" "NXDOMAIN NXDOMAIN " "lego removed its _acme-challenge records"
like "$(cat "$TMPD/lego.log")" "\\[www\\.$ZONE\\] The server validated our request" \
    "pebble validated over DNS-01"
