#!/bin/sh
# t_acme_account.sh -- account key rollover (RFC 8555 7.3.5) and account
# deactivation (7.3.6) asked for with dnsctl and carried out by dnsd against
# Pebble: after a rollover the account URL is the same, the key (thumbprint,
# type) is new and the CA accepts orders signed with it; after deactivation
# the next order registers a new account with a new key.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 12

acme_store acme.test
acme_conf "$TMPD/dnsd.conf"
start_dnsd -c "$TMPD/dnsd.conf"
start_pebble "$PORT"
acct() { dnsctl acme account --json | "$PY3" -c 'import json,sys; a = json.load(sys.stdin)[0]; print(a[sys.argv[1]])' "$1"; }

like "$(dnsctl acme rollover 2>&1)" 'no ACME account' "rollover before any account: refused"
dnsctl cert request a.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 >/dev/null
url1=$(acct account) tp1=$(acct thumbprint)
like "$url1" '/my-account/' "an account was registered with the first order"

out=$(dnsctl acme rollover --key ec384 --wait 30 2>&1)
like "$out" 'key rolled over, thumbprint ' "acme rollover --key ec384"
is "$(acct account)" "$url1" "the account URL is unchanged"
ok '[ "$(acct thumbprint)" != "$tp1" ] && [ -n "$(acct thumbprint)" ]' "the account key changed"
is "$(acct key_type)" ec384 "to an ec384 key"
like "$(dnsctl cert renew a.acme.test --wait 60 2>&1)" 'issued' \
    "the CA accepts an order signed with the new key"

like "$(dnsctl acme deactivate --wait 30 2>&1)" 'deactivated' "acme deactivate"
is "$(acct status)" deactivated "the account shows as deactivated"
like "$(dnsctl cert renew a.acme.test --wait 60 2>&1)" 'issued' "the next order still gets a certificate"
url2=$(acct account)
ok '[ -n "$url2" ] && [ "$url2" != "$url1" ]' "from a newly registered account ($url2)"
is "$(dnsctl acme account --json | "$PY3" -c 'import json,sys; print(",".join(h["outcome"] for h in json.load(sys.stdin)[0]["history"]))')" \
    "key rolled over,deactivated" "the account's history records both"
