#!/bin/sh
# t_update_certbot.sh -- certbot with the certbot-dns-rfc2136 plugin obtains
# a certificate from Pebble through dnsd: the plugin finds the zone with a
# TSIG-signed SOA query (answered signed), adds its _acme-challenge TXT
# records by RFC 2136 UPDATE with a key whose policy allows only that, and
# deletes them afterwards; Pebble validates by asking dnsd. Loopback only;
# certbot runs under a timeout, with its directories in the test's temp dir.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
need certbot nsupdate
[ -d /usr/lib/python3/dist-packages/certbot_dns_rfc2136 ] ||
    need certbot-dns-rfc2136 # (python3-certbot-dns-rfc2136): skips, or fails with REQUIRE_ALL=1
plan 8

ZONE=acme.test
acme_zone "$ZONE" "$TMPD/$ZONE.zone"
make_store "$ZONE" "$TMPD/$ZONE.zone"
SECRET=$(dnsctl tsig add certbot.key --algorithm hmac-sha512 | sed -n 2p)
dnsctl zone policy "$ZONE" add key certbot.key pattern '_acme-challenge.*' types TXT >/dev/null
start_dnsd --rrl-rate 0 --log-level info

PEBBLE_VALIDITY=86400 start_pebble "$PORT"
CB=$TMPD/certbot
mkdir -p "$CB"
umask 077
printf '%s\n' "dns_rfc2136_server = 127.0.0.1" "dns_rfc2136_port = $PORT" \
    "dns_rfc2136_name = certbot.key." "dns_rfc2136_secret = $SECRET" \
    "dns_rfc2136_algorithm = HMAC-SHA512" >"$CB/rfc2136.ini"
t0=$(date +%s)
REQUESTS_CA_BUNDLE=$PEBBLE_CA_BUNDLE timeout -k 5 180 certbot certonly --non-interactive \
    --agree-tos --email "test@$ZONE" --no-eff-email --server "$PEBBLE_DIR_URL" \
    --config-dir "$CB/config" --work-dir "$CB/work" --logs-dir "$CB/logs" \
    --dns-rfc2136 --dns-rfc2136-credentials "$CB/rfc2136.ini" \
    --dns-rfc2136-propagation-seconds 1 --key-type ecdsa --cert-name "$ZONE" \
    -d "$ZONE" -d "*.$ZONE" -d "www.$ZONE" >"$TMPD/certbot.out" 2>&1
rc=$?
diag "certbot took $(($(date +%s) - t0)) s"
is "$rc" 0 "certbot certonly exits 0"
[ "$rc" = 0 ] || { sed 's/^/#   /' "$TMPD/certbot.out" | tail -n 20;
    sed 's/^/#   /' "$CB/logs/letsencrypt.log" 2>/dev/null | grep -i 'error\|rcode\|refused' | tail -n 20; }
CRT=$CB/config/live/$ZONE/fullchain.pem
ok '[ -s "$CRT" ] && [ -s "$CB/config/live/$ZONE/privkey.pem" ]' "certbot stored the certificate and key"
pebble_root "$TMPD/root.pem" || { echo "Bail out! cannot fetch pebble's root"; exit 1; }
if [ -s "$CRT" ]; then
    like "$(verify_chain "$CRT" "$PEBBLE_ROOT")" ': OK$' "the certificate chains to pebble's root"
    is "$(cert_sans "$CRT" | tr '\n' ' ')" "*.$ZONE $ZONE www.$ZONE " "names: apex, wildcard and www"
else
    _ok 1 "the certificate chains to pebble's root"
    _ok 1 "names: apex, wildcard and www"
fi

n=$(grep -c "update of $ZONE\\. from 127\\.0\\.0\\.1#[0-9]*/tcp key certbot\\.key\\.: committed" \
    "$TMPD/dnsd.log")
ok '[ "$n" -ge 6 ]' "dnsd committed certbot's updates over TCP, three adds and three deletes ($n)"
unlike "$(cat "$TMPD/dnsd.log")" 'REFUSED|FORMERR|SERVFAIL|NOTAUTH' "none of them was refused"
st=$(for n in _acme-challenge.$ZONE _acme-challenge.www.$ZONE; do
    q "$n" TXT | sed -n 's/.*status: \([A-Z]*\).*/\1/p'
done | tr '\n' ' ')
is "$st" "NXDOMAIN NXDOMAIN " "certbot removed its _acme-challenge records"
# the key can do nothing else
out=$(printf 'server 127.0.0.1 %s\nzone %s.\nupdate add www.%s. 60 TXT "x"\nsend\n' "$PORT" "$ZONE" \
    "$ZONE" | nsupdate -t 4 -u 2 -r 0 -y "hmac-sha512:certbot.key:$SECRET" 2>&1)
like "$out" 'update failed: REFUSED' "the certbot key may not touch www"
