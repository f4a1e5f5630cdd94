#!/bin/sh
# t_acme_issue.sh -- dnsd obtains certificates from a real ACME CA (Pebble)
# over DNS-01, proving control from its own store and nothing else: apex +
# wildcard + a second name in one order (two TXT values under one owner),
# ECDSA P-256, P-384 and RSA 2048 keys. Pebble runs with its default 5 %
# badNonce rejection and really validates against dnsd (no
# PEBBLE_VA_ALWAYS_VALID). Checked with OpenSSL: the chain against Pebble's
# root from its management interface, SANs, key types; PEM files and modes;
# the deploy hook; challenge records gone afterwards; revocation as Pebble
# records it; and a CA whose DNS lookups cannot reach dnsd failing the order
# with its problem document surfaced and the TXT records removed.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
need dig
plan 39

acme_store acme.test
cat >"$TMPD/hook.sh" <<'EOF'
#!/bin/sh
env | grep '^DNSD_CERT_' | sort >"$HOOK_OUT.$DNSD_CERT_ID"
EOF
chmod +x "$TMPD/hook.sh"
acme_conf "$TMPD/dnsd.conf" "deploy-hook HOOK_OUT=$TMPD/hook $TMPD/hook.sh"
start_dnsd -c "$TMPD/dnsd.conf"
start_pebble "$PORT"
pebble_root "$TMPD/root.pem" || echo "Bail out! cannot fetch Pebble's root"

# ---- apex + wildcard + www, EC P-256 (the default key) ----
out=$(dnsctl cert request acme.test '*.acme.test' www.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)
like "$out" 'cert acme.test: issued, serial [0-9A-F]+' "apex + wildcard + www issued (--wait reports it)"
D=$TMPD/certs/acme.test
ok '[ -s "$D/fullchain.pem" ] && [ -s "$D/cert.pem" ] && [ -s "$D/chain.pem" ] && [ -s "$D/privkey.pem" ]' \
    "fullchain, cert, chain and privkey written to cert-dir/ID"
is "$(stat -c %a "$D/privkey.pem")" 600 "private key file mode 0600"
like "$(verify_chain "$D/fullchain.pem" "$TMPD/root.pem")" ': OK$' \
    "chain verifies against Pebble's root (from the management interface) only"
is "$(cert_sans "$D/cert.pem" | tr '\n' ' ')" "*.acme.test acme.test www.acme.test " \
    "SANs: apex, wildcard, www"
is "$(cert_keytype "$D/cert.pem")" "EC prime256v1" "default key type: ECDSA P-256"
ok 'openssl x509 -in "$D/cert.pem" -noout -pubkey | cmp -s - "$TMPD/pub1" ||
    { openssl pkey -in "$D/privkey.pem" -pubout >"$TMPD/pub1"; openssl x509 -in "$D/cert.pem" -noout -pubkey | cmp -s - "$TMPD/pub1"; }' \
    "privkey.pem is the certificate's key"
is "$(cert_field acme.test status)" valid "cert show: status valid"
is "$(cert_field acme.test certificate.serial)" \
    "$(openssl x509 -in "$D/cert.pem" -noout -serial | sed 's/^serial=//')" "cert show: the serial of the file"
like "$(cert_field acme.test certificate.issuer)" 'Pebble Intermediate CA' "cert show: issuer"
is "$(q _acme-challenge.acme.test TXT +short)" "" "challenge TXT records removed after the order"
like "$(dnsctl cert show acme.test)" 'history: .* issued serial' "cert show: history lists the issuance"
unlike "$(dnsctl cert show acme.test --json; dnsctl cert list --json)" 'PRIVATE KEY' \
    "show/list never print a private key"
unlike "$(cat "$TMPD/dnsd.log")" 'PRIVATE KEY' "the log never holds a private key"
is "$(cat "$TMPD/hook.acme.test" 2>/dev/null | tr '\n' ' ')" \
    "DNSD_CERT_DIR=$D DNSD_CERT_ID=acme.test DNSD_CERT_NAMES=acme.test *.acme.test www.acme.test DNSD_CERT_SERIAL=$(cert_field acme.test certificate.serial) " \
    "deploy hook ran with the certificate's id, directory, names and serial"
like "$(grep -c 'POST /chalZ/' "$PEBBLE_LOG")" '^[3-9]$' "three challenges answered to Pebble"
like "$(grep 'custom DNS resolver' "$PEBBLE_LOG")" "127.0.0.1:$PORT\$" \
    "Pebble validated DNS-01 through dnsd's port (and nothing else)"

# ---- P-384 and RSA 2048 ----
out=$(dnsctl cert request ec384.acme.test --key ec384 --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)
like "$out" 'issued' "P-384 certificate issued"
is "$(cert_keytype "$TMPD/certs/ec384.acme.test/cert.pem")" "EC secp384r1" "key type: ECDSA P-384"
out=$(dnsctl cert request rsa.acme.test '*.rsa.acme.test' --key rsa2048 --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)
like "$out" 'issued' "RSA certificate issued"
is "$(cert_keytype "$TMPD/certs/rsa.acme.test/cert.pem")" "RSA 2048" "key type: RSA 2048"
is "$(cert_sans "$TMPD/certs/rsa.acme.test/cert.pem" | tr '\n' ' ')" "*.rsa.acme.test rsa.acme.test " \
    "RSA certificate SANs"
like "$(verify_chain "$TMPD/certs/rsa.acme.test/fullchain.pem" "$TMPD/root.pem")" ': OK$' \
    "RSA chain verifies against Pebble's root"
is "$(cert_field rsa.acme.test key_type)" rsa2048 "cert show: key type rsa2048"

# ---- the same request again does nothing; --force reissues ----
serial1=$(cert_field acme.test certificate.serial)
like "$(dnsctl cert request acme.test '*.acme.test' www.acme.test --ca "$PEBBLE_DIR_URL")" \
    'already requested \(valid\)' "an unchanged request is a no-op"
out=$(dnsctl cert renew acme.test --wait 60 2>&1)
like "$out" 'issued' "cert renew: a new certificate"
serial2=$(cert_field acme.test certificate.serial)
ok '[ -n "$serial2" ] && [ "$serial2" != "$serial1" ]' "renewal has a new serial"
is "$(dnsctl cert show acme.test --json | "$PY3" -c 'import json,sys; print(len(json.load(sys.stdin)["history"]))')" 2 \
    "history keeps both certificates"

# ---- revocation, as Pebble records it ----
out=$(dnsctl cert revoke acme.test --reason 4 --wait 30 2>&1)
like "$out" 'revoked' "cert revoke --reason 4 (superseded)"
is "$(cert_field acme.test status)" revoked "status revoked"
st=$(curl -fsS --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MGMT_URL/cert-status-by-serial/$(printf '%s' "$serial2" | tr 'A-F' 'a-f')" 2>&1)
like "$st" '"Status": *"Revoked"' "Pebble's management interface reports the serial revoked"

# ---- bad input is refused before anything is stored ----
like "$(dnsctl cert request nozone.example 2>&1)" 'no zone in this store holds _acme-challenge' \
    "a name outside our zones is refused"
like "$(dnsctl cert request 'bad_name.acme.test' 2>&1)" "'_' is not allowed" "a malformed name is refused"
like "$(dnsctl cert request x.acme.test --key dsa 2>&1)" 'is not ec256' "an unknown key type is refused"
is "$(dnsctl cert list --json | "$PY3" -c 'import json,sys; print(len(json.load(sys.stdin)))')" 3 \
    "refused requests stored nothing"

# ---- a CA that cannot reach dnsd: validation fails, the problem is surfaced ----
stop_pebble
start_pebble 1 # DNS server 127.0.0.1:1: nothing answers there
# a backoff long enough that the retry cannot start before the checks below
# (certificate settings apply live on SIGHUP)
acme_conf "$TMPD/dnsd.conf" "deploy-hook HOOK_OUT=$TMPD/hook $TMPD/hook.sh" "acme-backoff-min 60" \
    "acme-backoff-max 120"
kill -HUP "$DNSD_PID"
i=0
while ! grep -q 'certificate settings changed' "$TMPD/dnsd.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
out=$(dnsctl cert request unreachable.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)
rc=$?
is "$rc" 1 "--wait fails when the CA cannot validate"
like "$out" 'order invalid: unreachable.acme.test: .*urn:ietf:params:acme:error:' \
    "the CA's problem document (type, identifier) is shown"
is "$(q _acme-challenge.unreachable.acme.test TXT +short)" "" "TXT record removed after the failed order"
is "$(cert_field unreachable.acme.test status)" failed "status failed, retried later with backoff"
