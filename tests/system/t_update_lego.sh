#!/bin/sh
# t_update_lego.sh -- an external ACME client through dnsd's RFC 2136
# UPDATE: lego's rfc2136 provider, with a TSIG key whose update policy
# allows TXT at _acme-challenge.* only, writes and removes its challenge
# records in dnsd; Pebble validates them by asking dnsd; the certificate
# (apex + wildcard + www) chains to Pebble's root. The same run as
# t_lego_knot.sh with dnsd in Knot's place. Loopback only; lego runs under
# a timeout.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
need lego
plan 9

ZONE=acme.test
LEGO_TIMEOUT=180
acme_zone "$ZONE" "$TMPD/$ZONE.zone"
make_store "$ZONE" "$TMPD/$ZONE.zone"
SECRET=$(dnsctl tsig add lego.key --algorithm hmac-sha256 | sed -n 2p)
dnsctl zone policy "$ZONE" add key lego.key pattern '_acme-challenge.*' types TXT >/dev/null
start_dnsd --rrl-rate 0 --log-level info
s0=$(q +short "$ZONE" SOA | awk '{ print $3 }')

PEBBLE_VALIDITY=86400 start_pebble "$PORT"
# --dns.disable-cp: lego asks --dns.resolvers (dnsd) for the propagation check
# RFC2136_SEQUENCE_INTERVAL: lego waits this long between names (default 60 s)
t0=$(date +%s)
lego_rfc2136 "$PORT" lego.key "$SECRET" hmac-sha256.
rc=$?
diag "lego took $(($(date +%s) - t0)) s"
is "$rc" 0 "lego run exits 0"
[ "$rc" = 0 ] || sed 's/^/#   /' "$TMPD/lego.log" | tail -n 30
CRT=$TMPD/lego/certificates/$ZONE.crt
ok '[ -s "$CRT" ] && [ -s "$TMPD/lego/certificates/$ZONE.key" ]' "lego stored the certificate and key"
pebble_root "$TMPD/root.pem" || { echo "Bail out! cannot fetch pebble's root"; exit 1; }
if [ -s "$CRT" ]; then
    like "$(verify_chain "$CRT" "$PEBBLE_ROOT")" ': OK$' "the certificate chains to pebble's root"
    is "$(cert_sans "$CRT" | tr '\n' ' ')" "*.$ZONE $ZONE www.$ZONE " "names: apex, wildcard and www"
else
    _ok 1 "the certificate chains to pebble's root"
    _ok 1 "names: apex, wildcard and www"
fi
like "$(cat "$TMPD/lego.log")" "\\[www\\.$ZONE\\] The server validated our request" \
    "pebble validated over DNS-01"

# dnsd applied lego's updates, each under the lego key, and lego cleaned up
n=$(grep -c "update of $ZONE\\. from 127\\.0\\.0\\.1#[0-9]*/[a-z]* key lego\\.key\\.: committed" \
    "$TMPD/dnsd.log")
ok '[ "$n" -ge 4 ]' "dnsd committed lego's updates ($n)"
unlike "$(cat "$TMPD/dnsd.log")" 'REFUSED|FORMERR|SERVFAIL|NOTAUTH' "none of them was refused"
st=$(for n in _acme-challenge.$ZONE _acme-challenge.www.$ZONE; do
    q "$n" TXT | sed -n 's/.*status: \([A-Z]*\).*/\1/p'
done | tr '\n' ' ')
is "$st" "NXDOMAIN NXDOMAIN " "lego removed its _acme-challenge records"
s1=$(q +short "$ZONE" SOA | awk '{ print $3 }')
ok '[ "$s1" -gt "$s0" ]' "the zone's serial moved on ($s0 -> $s1)"
