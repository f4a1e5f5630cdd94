#!/bin/sh
# t_acme_delegate.sh -- a certificate for a name whose DNS another server
# holds, over DNS-01 through its delegated _acme-challenge CNAME (issue 18).
# Knot serves customer.example, holding (once the customer added it) only
# "_acme-challenge.www.customer.example. CNAME <target>" besides SOA/NS/A;
# the target lies in acme.dnsd.test, a zone dnsd serves. Unbound on
# loopback, with stub zones for customer.example (Knot) and dnsd.test
# (dnsd), is dnsd's acme-resolver and Pebble's DNS server, so Pebble follows
# the CNAME to dnsd's TXT record. Shown: a missing CNAME is refused before
# anything is stored or ordered, naming the exact record; the target is
# stable across reruns and differs per certificate; a wrong target is
# refused naming both; with the right one Pebble issues; `cert show` names
# the proof; the TXT record at the target goes when the order ends; and
# when the CNAME goes away the worker refuses the renewal before ordering.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_resolver.sh"
need_acme
need dig knsupdate unbound unbound-control unbound-checkconf knotd kdig
plan 24

# ---- the customer's DNS: Knot, no CNAME yet ----
printf '%s\n' '$ORIGIN customer.example.' '$TTL 300' \
    '@ IN SOA ns1.customer.example. hostmaster.customer.example. 1 3600 600 86400 1' \
    '@ IN NS ns1.customer.example.' 'ns1 IN A 127.0.0.1' 'www IN A 127.0.0.2' \
    >"$TMPD/customer.example.zone"
start_knot customer.example "$TMPD/customer.example.zone"
# kupd LINE...: one TSIG-signed dynamic update of customer.example at Knot
kupd() {
    { echo "server 127.0.0.1 $KNOT_PORT"; echo "zone customer.example."
      for _l in "$@"; do echo "$_l"; done; echo send; } |
        knsupdate -y "$TSIG_ALG:$TSIG_NAME:$TSIG_SECRET" >"$TMPD/kupd.log" 2>&1 ||
        { echo "Bail out! knsupdate failed"; sed 's/^/# /' "$TMPD/kupd.log"; exit 1; }
}
CH=_acme-challenge.www.customer.example.

# ---- dnsd: serves dnsd.test, the CNAME targets go under acme.dnsd.test ----
acme_store dnsd.test
RS_PORT=$(free_udp_tcp_port)
acme_conf "$TMPD/dnsd.conf" "acme-resolver 127.0.0.1:$RS_PORT" \
    "acme-delegation-ns-port $KNOT_PORT"
start_dnsd -c "$TMPD/dnsd.conf"
start_resolver "customer.example=127.0.0.1@$KNOT_PORT" "dnsd.test=127.0.0.1@$PORT"
start_pebble "$RS_PORT"
pebble_root "$TMPD/root.pem" || echo "Bail out! cannot fetch Pebble's root"
VIA="--challenge-via acme.dnsd.test --resolver 127.0.0.1:$RS_PORT --ns-port $KNOT_PORT"
orders() { grep -c 'POST /order-plz' "$PEBBLE_LOG"; }

# ---- no CNAME: refused before anything is stored, naming the record ----
# shellcheck disable=SC2086
out=$(dnsctl cert request www.customer.example $VIA --ca "$PEBBLE_DIR_URL" 2>&1)
is "$?" 1 "missing CNAME: the request fails"
like "$out" "ns1.customer.example. \\(127.0.0.1:$KNOT_PORT\\) serves no CNAME for $CH" \
    "the message names the customer's server that lacks it"
like "$out" "add the record: $CH CNAME [a-z2-7]{32}\\.acme\\.dnsd\\.test\\.\$" \
    "the message names the exact record to add"
T=$(printf '%s\n' "$out" | sed -n 's/.* CNAME \([a-z2-7]*\.acme\.dnsd\.test\.\)$/\1/p')
is "$(dnsctl cert list --json)" "[]" "nothing stored"
is "$(orders)" 0 "no order placed at the CA"
# shellcheck disable=SC2086
out=$(dnsctl cert request www.customer.example $VIA --ca "$PEBBLE_DIR_URL" 2>&1)
like "$out" "CNAME $T\$" "the same target on the next try (stable)"
# shellcheck disable=SC2086
out=$(dnsctl cert request www.customer.example --id other $VIA --ca "$PEBBLE_DIR_URL" 2>&1)
T2=$(printf '%s\n' "$out" | sed -n 's/.* CNAME \([a-z2-7]*\.acme\.dnsd\.test\.\)$/\1/p')
ok '[ -n "$T2" ] && [ "$T2" != "$T" ]' "another certificate of the same name gets another target"
# shellcheck disable=SC2086
out=$(dnsctl cert request www.customer.example --challenge-via acme.elsewhere.example \
    --resolver 127.0.0.1:$RS_PORT --ns-port $KNOT_PORT 2>&1)
like "$out" 'no zone in this store holds it' "a --challenge-via outside our zones is refused"

# ---- a wrong target: refused naming both ----
kupd "add $CH 60 CNAME other.acme.dnsd.test."
# shellcheck disable=SC2086
out=$(dnsctl cert request www.customer.example $VIA --ca "$PEBBLE_DIR_URL" 2>&1)
is "$?" 1 "wrong target: the request fails"
like "$out" "has $CH CNAME other\\.acme\\.dnsd\\.test\\., not $T; the record must be: $CH CNAME $T" \
    "the message names the target found and the one wanted"
is "$(dnsctl cert list --json)" "[]" "still nothing stored"

# ---- the right target: issued through Knot -> CNAME -> dnsd ----
kupd "del $CH CNAME" "add $CH 60 CNAME $T"
# shellcheck disable=SC2086
out=$(dnsctl cert request www.customer.example $VIA --ca "$PEBBLE_DIR_URL" --wait 90 2>&1)
like "$out" "www.customer.example proven through $T" "the request is stored with its target"
like "$out" 'cert www.customer.example: issued, serial [0-9A-F]+' "issued"
D=$TMPD/certs/www.customer.example
is "$(cert_sans "$D/cert.pem" | tr '\n' ' ')" "www.customer.example " "SAN: the customer's name"
like "$(verify_chain "$D/fullchain.pem" "$TMPD/root.pem")" ': OK$' "chain verifies against Pebble's root"
like "$(grep -c "info: 127.0.0.1 $CH TXT IN" "$RS_LOG")" '^[1-9]' \
    "Pebble asked the resolver for the customer's _acme-challenge TXT"
like "$(dnsctl cert show www.customer.example)" \
    "proven via: +www.customer.example through $CH CNAME $T" "cert show: the name and its target"
is "$(cert_field www.customer.example challenge_via.zone)" acme.dnsd.test. "cert show --json: the via name"
is "$(dnsctl cert show www.customer.example --json | "$PY3" -c 'import json,sys; p=json.load(sys.stdin)["challenge_via"]["proofs"]; print(p[0]["name"], p[0]["target"])')" \
    "www.customer.example $T" "cert show --json: the proof"
is "$(q "$T" TXT +short)" "" "the TXT record at the target is gone after the order"
like "$(kdig @127.0.0.1 -p "$KNOT_PORT" +norec "$CH" TXT)" "^$CH[[:space:]]+60[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+$T" \
    "the customer's server answers only the CNAME: the TXT record came from dnsd"

# ---- the CNAME goes away: the worker refuses the renewal before ordering ----
kupd "del $CH CNAME"
n=$(orders)
out=$(dnsctl cert renew www.customer.example --wait 30 2>&1)
like "$out" "challenge delegation: www.customer.example: .*serves no CNAME for $CH; add the record: $CH CNAME $T" \
    "renewal without the CNAME: fails naming the record"
is "$(orders)" "$n" "no new order at the CA"
like "$(grep 'challenge delegation' "$TMPD/dnsd.log")" "add the record: $CH CNAME $T" \
    "dnsd's log says the same"
