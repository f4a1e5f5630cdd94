#!/bin/sh
# t_haproxy_deploy.sh -- tools/haproxy-deploy puts a region's new certificate
# shard into running HAProxy processes through their runtime API: the region's
# load balancers present it for new TLS handshakes without a restart, the
# other region's keep theirs; a new shard is added to the crt-list and found
# by SNI; a bundle HAProxy rejects fails loudly and changes nothing.
# Certificates come from a throw-away openssl CA (no ACME here), laid out as
# dnsd writes shards: CERTS/regions/R/D.pem + CERTS/regions/R/crt-list.txt.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_haproxy.sh"
need_haproxy
need curl
plan 39

DEPLOY=$top_srcdir/tools/haproxy-deploy
CA=$TMPD/ca
CERTS=$TMPD/certs
EU=$CERTS/regions/eu
NA=$CERTS/regions/na
mkdir -p "$EU" "$NA"
shard_ca "$CA" || { echo "Bail out! shard_ca failed"; exit 1; }
ROOT=$CA/root.pem

# run_hook REGION DOMAIN SERIAL "NAMES" HOOK-ARGS...: the deploy hook with the
# environment dnsd gives it, started the way dnsd does (/bin/sh -c); sets RC
# and OUT (stdout and stderr)
run_hook() {
    _hr=$1 _hd=$2 _hs=$3 _hn=$4
    shift 4
    _cmd="'$DEPLOY'"
    for _a in "$@"; do _cmd="$_cmd '$_a'"; done
    OUT=$(env DNSD_SHARD_DOMAIN="$_hd" DNSD_SHARD_REGION="$_hr" \
        DNSD_SHARD_BUNDLE="$CERTS/regions/$_hr/$_hd.pem" \
        DNSD_SHARD_CRTLIST="$CERTS/regions/$_hr/crt-list.txt" \
        DNSD_SHARD_SERIAL="$_hs" DNSD_SHARD_NAMES="$_hn" /bin/sh -c "$_cmd" 2>&1)
    RC=$?
    printf '%s\n' "$OUT" | sed 's/^/# hook: /'
}

# eu and na each have their own certificate for the same name
eu1=$(shard_bundle "$CA" "$EU/www.shard.test.pem" www.shard.test)
na1=$(shard_bundle "$CA" "$NA/www.shard.test.pem" www.shard.test)
write_atomic "$EU/crt-list.txt" "$EU/www.shard.test.pem www.shard.test"
write_atomic "$NA/crt-list.txt" "$NA/www.shard.test.pem www.shard.test"
start_haproxy eu 127.0.0.1 "$EU/crt-list.txt"
start_haproxy na 127.0.0.2 "$NA/crt-list.txt"
# a second load balancer of region eu, its admin socket on TCP
start_haproxy eu2 127.0.0.1 "$EU/crt-list.txt" --tcp-admin
EU_P=$HAPROXY_EU_PORT EU2_P=$HAPROXY_EU2_PORT NA_P=$HAPROXY_NA_PORT

ok '[ -n "$eu1" ] && [ -n "$na1" ] && [ "$eu1" != "$na1" ]' "eu and na bundles differ ($eu1, $na1)"
is "$(tls_probe 127.0.0.1 "$EU_P" www.shard.test "$ROOT")" "$eu1 www.shard.test" "eu presents eu's certificate"
is "$(tls_probe 127.0.0.1 "$EU2_P" www.shard.test "$ROOT")" "$eu1 www.shard.test" "eu2 presents eu's certificate"
is "$(tls_probe 127.0.0.2 "$NA_P" www.shard.test "$ROOT")" "$na1 www.shard.test" "na (127.0.0.2) presents na's certificate"

# ---- renewal of eu's shard: both eu load balancers, na untouched ----
eu2_serial=$(shard_bundle "$CA" "$EU/www.shard.test.pem" www.shard.test)
run_hook eu www.shard.test "$eu2_serial" www.shard.test --socket "$HAPROXY_EU_SOCK" \
    --socket "$HAPROXY_EU2_TCPSOCK"
is "$RC" 0 "deploy to eu (unix socket) and eu2 (TCP socket) exits 0"
like "$OUT" "serial $eu2_serial: committed" "the hook reports the new serial"
is "$(tls_probe 127.0.0.1 "$EU_P" www.shard.test "$ROOT")" "$eu2_serial www.shard.test" \
    "eu presents the new certificate"
is "$(tls_probe 127.0.0.1 "$EU2_P" www.shard.test "$ROOT")" "$eu2_serial www.shard.test" \
    "eu2 presents the new certificate"
is "$(tls_probe 127.0.0.2 "$NA_P" www.shard.test "$ROOT")" "$na1 www.shard.test" \
    "na still presents its own certificate"
ok 'haproxy_pid_unchanged eu && haproxy_pid_unchanged eu2 && haproxy_pid_unchanged na' \
    "no HAProxy was restarted (same PIDs answer on the sockets)"
is "$(curl -sS --max-time 10 --cacert "$ROOT" --resolve "www.shard.test:$EU_P:127.0.0.1" \
    "https://www.shard.test:$EU_P/" 2>&1)" eu "an HTTPS request to eu verifies and is answered"
unlike "$(haproxy_cli eu 'show ssl cert')" '# transaction' "no certificate transaction left open"

# ---- a new shard (a second domain) in eu, with ssl options, found by SNI ----
api1=$(shard_bundle "$CA" "$EU/api.shard.test.pem" api.shard.test)
write_atomic "$EU/crt-list.txt" "$EU/www.shard.test.pem www.shard.test" \
    "$EU/api.shard.test.pem [alpn h2,http/1.1] api.shard.test"
is "$(tls_probe 127.0.0.1 "$EU_P" api.shard.test)" "$eu2_serial www.shard.test" \
    "before: api.shard.test gets eu's default certificate"
HAPROXY_SOCKET=$HAPROXY_EU_SOCK
export HAPROXY_SOCKET
run_hook eu api.shard.test "$api1" api.shard.test
unset HAPROXY_SOCKET
is "$RC" 0 "deploy of a shard HAProxy does not know (socket from HAPROXY_SOCKET) exits 0"
like "$OUT" 'new certificate, committed, added to crt-list' "it was created and added to the crt-list"
is "$(tls_probe 127.0.0.1 "$EU_P" api.shard.test "$ROOT")" "$api1 api.shard.test" \
    "api.shard.test now gets its own certificate"
is "$(tls_alpn 127.0.0.1 "$EU_P" api.shard.test h2,http/1.1)" h2 "its crt-list options apply (alpn h2)"
is "$(tls_probe 127.0.0.1 "$EU_P" www.shard.test "$ROOT")" "$eu2_serial www.shard.test" \
    "www.shard.test unchanged"

# ---- a renewal that adds a name: the crt-list entry gets the new SNI filter ----
api2=$(shard_bundle "$CA" "$EU/api.shard.test.pem" api.shard.test api2.shard.test)
write_atomic "$EU/crt-list.txt" "$EU/www.shard.test.pem www.shard.test" \
    "$EU/api.shard.test.pem [alpn h2,http/1.1] api.shard.test api2.shard.test"
run_hook eu api.shard.test "$api2" "api.shard.test api2.shard.test" --socket "$HAPROXY_EU_SOCK"
is "$RC" 0 "deploy of a renewal with one more name exits 0"
like "$OUT" 'committed, added to crt-list, old entry [0-9]+ deleted' "the entry was replaced"
is "$(tls_probe 127.0.0.1 "$EU_P" api2.shard.test "$ROOT")" "$api2 api.shard.test api2.shard.test" \
    "the new name is found by SNI"
is "$(haproxy_cli eu "show ssl crt-list $EU/crt-list.txt" | grep -c 'api.shard.test.pem')" 1 \
    "one crt-list entry for the shard"

# ---- failures: HAProxy's error shown, exit non-zero, the old certificate stays ----
sed '2s/^.\{8\}/AAAAAAAA/' "$EU/www.shard.test.pem" >"$TMPD/bad.pem"
cp "$TMPD/bad.pem" "$EU/www.shard.test.pem"
run_hook eu www.shard.test "" www.shard.test --socket "$HAPROXY_EU_SOCK"
ok '[ "$RC" -ne 0 ]' "a corrupt bundle: exit status non-zero ($RC)"
like "$OUT" "FAILED: set ssl cert .*www.shard.test.pem failed" "it says which step failed"
like "$OUT" "^    unable to load certificate" "and shows HAProxy's error"
is "$(tls_probe 127.0.0.1 "$EU_P" www.shard.test "$ROOT")" "$eu2_serial www.shard.test" \
    "the old certificate is still presented"

# a key that does not belong to the certificate: HAProxy refuses at commit
eu3=$(shard_bundle "$CA" "$TMPD/other.pem" www.shard.test)
{ sed '/PRIVATE KEY/,$d' "$TMPD/other.pem"; sed -n '/BEGIN PRIVATE KEY/,$p' "$EU/api.shard.test.pem"; } \
    >"$EU/www.shard.test.pem"
run_hook eu www.shard.test "$eu3" www.shard.test --socket "$HAPROXY_EU_SOCK"
ok '[ "$RC" -ne 0 ]' "a key that does not match: exit status non-zero ($RC)"
like "$OUT" "inconsistencies between private key and certificate" "HAProxy's complaint is shown"
is "$(tls_probe 127.0.0.1 "$EU_P" www.shard.test "$ROOT")" "$eu2_serial www.shard.test" \
    "the old certificate is still presented"
unlike "$(haproxy_cli eu 'show ssl cert')" '# transaction' "the failed transaction was aborted"

# a new shard with a corrupt bundle: no certificate store is left behind
shard_bundle "$CA" "$TMPD/bad2.pem" bad.shard.test >/dev/null
sed '2s/^.\{8\}/AAAAAAAA/' "$TMPD/bad2.pem" >"$EU/bad.shard.test.pem"
write_atomic "$EU/crt-list.txt" "$EU/www.shard.test.pem www.shard.test" \
    "$EU/api.shard.test.pem [alpn h2,http/1.1] api.shard.test api2.shard.test" \
    "$EU/bad.shard.test.pem bad.shard.test"
run_hook eu bad.shard.test "" bad.shard.test --socket "$HAPROXY_EU_SOCK"
ok '[ "$RC" -ne 0 ]' "a new shard with a corrupt bundle: exit status non-zero ($RC)"
unlike "$(haproxy_cli eu 'show ssl cert')" 'bad.shard.test' "its empty certificate store was deleted"

# someone else's open transaction is not touched (HAProxy 2.6 would put our
# PEM into it) and the deployment fails
eu4=$(shard_bundle "$CA" "$EU/www.shard.test.pem" www.shard.test)
haproxy_cli eu "set ssl cert $EU/api.shard.test.pem <<
$(cat "$EU/api.shard.test.pem")
" >/dev/null
run_hook eu www.shard.test "$eu4" www.shard.test --socket "$HAPROXY_EU_SOCK"
ok '[ "$RC" -ne 0 ]' "another file's open transaction: exit status non-zero ($RC)"
like "$OUT" "transaction for .*api.shard.test.pem is open" "it says so"
like "$(haproxy_cli eu 'show ssl cert')" "^\*$EU/api.shard.test.pem\$" "that transaction is still open"
haproxy_cli eu "abort ssl cert $EU/api.shard.test.pem" >/dev/null

# a serial other than the one HAProxy loaded is an error
run_hook eu www.shard.test 0BADC0DE www.shard.test --socket "$HAPROXY_EU_SOCK"
ok '[ "$RC" -ne 0 ]' "a wrong DNSD_SHARD_SERIAL: exit status non-zero ($RC)"
like "$OUT" "serves serial $eu4 .*expected 0BADC0DE" "it names both serials"
is "$(tls_probe 127.0.0.1 "$EU_P" www.shard.test "$ROOT")" "$eu4 www.shard.test" \
    "eu presents the bundle it was given (committed; only the serial check failed)"
ok 'haproxy_pid_unchanged eu && haproxy_pid_unchanged eu2 && haproxy_pid_unchanged na' \
    "still no HAProxy restarted"
