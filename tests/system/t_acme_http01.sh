#!/bin/sh
# t_acme_http01.sh -- a certificate for names whose DNS dnsd does not serve,
# proven with HTTP-01 (issue 18): Knot serves customer.example (www and api
# A 127.0.0.1), dnsd's store holds no zone for it; Pebble resolves the names
# through Knot and asks dnsd's http01-listen (its httpPort) for the key
# authorizations, which the ACME worker wrote to the store and checked on
# its own endpoint first. Issued; the challenge type shows in `cert show`;
# the "http01:" records are gone after the order. Refused before any order:
# a wildcard with http-01 (RFC 8555 8.3) and an unknown challenge type. A
# dnsd without http01-listen fails the order, naming the setting, and
# leaves no key authorization behind; `cert delete` of an order in flight
# removes its key authorization. A shard may choose http-01 too.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
need knotd kdig mdb_dump
plan 25

# the customer's zone, on another server
printf '%s\n' '$ORIGIN customer.example.' '$TTL 300' \
    '@ IN SOA ns1 hostmaster 1 3600 600 86400 60' '@ IN NS ns1' 'ns1 IN A 127.0.0.1' \
    'www IN A 127.0.0.1' 'api IN A 127.0.0.1' >"$TMPD/customer.zone"
start_knot customer.example "$TMPD/customer.zone"

# dnsd serves only its own zone; its HTTP-01 endpoint is what Pebble asks
acme_store acme.test
acme_conf "$TMPD/dnsd.conf" "http01-listen 127.0.0.1:0" "log-level info"
start_dnsd -c "$TMPD/dnsd.conf"
HP=$(sed -n 's/^http01 //p' "$TMPD/port")
PEBBLE_HTTP_PORT=$HP start_pebble "$KNOT_PORT"
pebble_root "$TMPD/root.pem" || echo "Bail out! cannot fetch Pebble's root"

# http01_records: the "http01:<token>" keys in the store's certs sub-database
http01_records() { mdb_dump -p -s certs "$STORE" 2>/dev/null | grep -c '^ http01:'; }

ID=www.customer.example
out=$(dnsctl cert request www.customer.example api.customer.example --challenge http-01 \
    --ca "$PEBBLE_DIR_URL" --wait 90 2>&1)
like "$out" "cert $ID: issued, serial [0-9A-F]+" "HTTP-01 for names outside dnsd's zones: issued"
D=$TMPD/certs/$ID
is "$(cert_sans "$D/cert.pem" | tr '\n' ' ')" "api.customer.example www.customer.example " \
    "SANs: both names"
like "$(verify_chain "$D/fullchain.pem" "$TMPD/root.pem")" ': OK$' "the chain verifies against Pebble's root"
like "$(dnsctl cert show "$ID")" 'challenge: +http-01' "cert show: the challenge type"
is "$(cert_field "$ID" challenge)" http-01 "cert show --json: the challenge type"
n=$(grep -c 'http01: answered GET for token' "$TMPD/dnsd.log")
like "$n" '^[2-9]$|^[1-9][0-9]$' "dnsd's endpoint answered the key authorizations ($n GETs: self-check and Pebble)"
like "$(grep -c 'POST /chalZ/' "$PEBBLE_LOG")" '^[2-9]$' "two challenges answered to Pebble"
ok 'grep -q "acme: $ID: HTTP-01 key authorizations served on 1 http01-listen address" "$TMPD/dnsd.log"' \
    "the worker checked its own endpoint before answering"
is "$(http01_records)" 0 "no key authorization left in the store after the order"
is "$(q _acme-challenge.www.customer.example TXT +short 2>&1)" "" "no TXT record was written anywhere"

# refused before any order
before=$(grep -c 'Added order' "$PEBBLE_LOG")
out=$(dnsctl cert request '*.customer.example' --challenge http-01 --id wild 2>&1)
rc=$?
ok '[ $rc = 1 ]' "a wildcard with http-01: refused (exit $rc)"
like "$out" '\*\.customer\.example: a wildcard name cannot be proven with http-01 \(RFC 8555 8\.3\)' \
    "... naming the name and the rule"
out=$(dnsctl cert request other.customer.example --challenge tls-alpn-01 2>&1)
rc=$?
like "$rc $out" '^2 .*--challenge: "tls-alpn-01" is not dns-01 or http-01' \
    "an unknown challenge type: usage error"
ok '! dnsctl cert show wild >/dev/null 2>&1 && ! dnsctl cert show other.customer.example >/dev/null 2>&1' \
    "refused requests stored nothing"

# without http01-listen this dnsd cannot answer: the order fails, saying why
stop_dnsd
acme_conf "$TMPD/dnsd2.conf" "log-level info"
start_dnsd -c "$TMPD/dnsd2.conf"
# (a name never validated: Pebble may reuse a valid authorization, and then no challenge is due)
out=$(dnsctl cert request new.customer.example --challenge http-01 --ca "$PEBBLE_DIR_URL" \
    --wait 60 2>&1)
like "$out" 'http01-listen is not set' "no http01-listen: the order fails naming the setting"
is "$(cert_field new.customer.example status)" failed "... status failed"
is "$(http01_records)" 0 "... and its key authorizations are removed with it"

# an order in flight: its key authorization is in the store until the
# certificate is deleted, which removes it in the same transaction
stop_dnsd
dnsctl cert delete new.customer.example >/dev/null # (it would be retried after its backoff)
acme_conf "$TMPD/dnsd3.conf" "http01-listen 127.0.0.1:0" "acme-challenge-delay 60" "log-level info"
start_dnsd -c "$TMPD/dnsd3.conf"
dnsctl cert request del.customer.example --challenge http-01 --ca "$PEBBLE_DIR_URL" >/dev/null
ok 'wait_cert del.customer.example order.step published 30' "an order waits in published (acme-challenge-delay)"
is "$(http01_records)" 1 "... its key authorization is in the store"
out=$(dnsctl cert delete del.customer.example 2>&1)
is "$(http01_records)" 0 "cert delete removes it ($out)"

# a shard chooses its challenge type (dnsd stopped: nothing is ordered here)
stop_dnsd
dnsctl region add eu --cidr 10.1.0.0/16 >/dev/null
out=$(dnsctl shard add acme.test --region eu --names 'shop.acme.test,*.acme.test' --challenge http-01 2>&1)
like "$out" '\*\.acme\.test: a wildcard name cannot be proven with http-01' "shard add: a wildcard with http-01 refused"
out=$(dnsctl shard add acme.test --region eu --names shop.acme.test --challenge http-01 2>&1)
like "$out" 'shard acme\.test@eu: added' "shard add --challenge http-01"
like "$(dnsctl shard show acme.test --region eu)" 'challenge: +http-01' "shard show: the challenge type"
out=$(dnsctl shard set acme.test --region eu --challenge dns-01 2>&1)
like "$out" 'a certificate is requested' "shard set --challenge dns-01: a new certificate is requested"
like "$(dnsctl shard show acme.test --region eu --json)" '"challenge": "dns-01"' "... proven with DNS-01"
