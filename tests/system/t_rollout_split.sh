#!/bin/sh
# t_rollout_split.sh -- a certificate rollout's canary split (zones/rollout.h)
# in a running dnsd, asked with dig +subnet from many client subnets: each
# subnet gets the canary or the stable pool exactly as its bucket says
# (rollout_split prints the buckets with the same code), keeps it, the share
# is near p, the ECS scope covers the hashed /24, an eu-west client in the
# canary keeps eu-west's own records, ECS SOURCE 0 never splits, a change of
# p and the entry's removal are in force on the next query; the metrics
# count canary and stable answers exactly; dnsctl refuses dotted region
# names, marks canary regions, and a zone's canary records go through
# export and import.
. "$top_srcdir/tests/system/lib.sh"
need dig curl
plan 29
SPLIT=$top_builddir/tests/system/rollout_split
KEY=00112233445566778899aabbccddeeff

make_store example.test "$DATA/example.test.zone"
dnsctl region add eu --cidr 10.0.0.0/8 >/dev/null
dnsctl region add eu-west --cidr 10.200.0.0/16 --fallback eu >/dev/null
dnsctl record add example.test 'pool 300 IN A 192.0.2.100' >/dev/null
dnsctl record add example.test --region eu 'pool 300 IN A 192.0.2.101' >/dev/null
dnsctl record add example.test --region eu-west 'west 300 IN A 192.0.2.150' >/dev/null

out=$(dnsctl region add eu.canary 2>&1)
rc=$?
ok '[ $rc -ne 0 ]' "region add eu.canary: refused"
like "$out" 'reserved for the canary regions of certificate rollouts' "... saying why"

"$SPLIT" "$STORE" put example.test eu 2500 "$KEY"
is "$?" 0 "split entry (example.test, eu) at p = 25% written"
dnsctl record add example.test --region eu.canary 'pool 30 IN A 192.0.2.201' >/dev/null
is "$?" 0 "the canary pool's record in eu.canary"
like "$(dnsctl region list)" 'eu\.canary \(canary\) +[0-9]+ +eu -> default ' \
    "region list marks eu.canary, falling back to eu"
like "$(dnsctl region list --json)" '"name": "eu\.canary".*"canary": true' "region list --json: canary true"
like "$(dnsctl region show eu.canary)" 'canary +yes: the canary pool of eu' "region show says it"
like "$(dnsctl region show eu.canary)" 'splits +example\.test\. \(p 25\.00%, by /24 and /56\)' \
    "region show lists the split into it"
like "$(dnsctl region show eu.canary --json)" '"splits": \[\{"zone": "example\.test\.", "permyriad": 2500, "prefix4": 24, "prefix6": 56\}\]\}$' \
    "region show --json: the splits"

start_dnsd --metrics-listen 127.0.0.1:0 --rrl-rate 0
MP=$(sed -n 's/^metrics //p' "$TMPD/port")
metric() { curl -s "http://127.0.0.1:$MP/metrics" | sed -n "s/^dnsd_rollout_answers_total{pool=\"$1\"} //p"; }
# patient queries: a query lost under load is asked again (counted once:
# one lost before dnsd saw it); 5 s is far beyond a loaded answer's time
qq() { dig @127.0.0.1 -p "$PORT" +norec +time=5 +tries=3 "$@"; }
a() { qq "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
scope() { qq "$@" | sed -n 's/^; CLIENT-SUBNET: [^/]*\/[0-9]*\/\([0-9]*\).*/\1/p'; }

# 200 eu /24s: the answer each gets, and the bucket rollout_split computes
nets=
i=0
while [ $i -lt 200 ]; do nets="$nets 10.$((i / 100)).$((i % 100 * 2)).0"; i=$((i + 1)); done
# shellcheck disable=SC2086
"$SPLIT" "$STORE" bucket example.test eu $nets >"$TMPD/buckets"
mism=0 canary=0 scopes=0 stick=0 asked_c=0 asked_s=0
while read -r net b pool; do
    want=192.0.2.101
    [ "$pool" = canary ] && want=192.0.2.201
    out=$(qq pool.example.test A +subnet="$net/24")
    got=$(printf '%s\n' "$out" | sed -n 's/^pool\.example\.test\.[[:space:]].*IN[[:space:]]*A[[:space:]]*//p')
    sc=$(printf '%s\n' "$out" | sed -n 's/^; CLIENT-SUBNET: [^/]*\/[0-9]*\/\([0-9]*\).*/\1/p')
    [ "$got" = "$want" ] || mism=$((mism + 1))
    [ "$sc" = 24 ] && scopes=$((scopes + 1))
    host=$(echo "$net" | sed 's/\.0$/.77/')
    [ "$(a pool.example.test A +subnet="$host/32")" = "$want" ] && stick=$((stick + 1))
    if [ "$pool" = canary ]; then
        canary=$((canary + 1)); asked_c=$((asked_c + 2))
    else
        asked_s=$((asked_s + 2))
    fi
    : "$b"
done <"$TMPD/buckets"
is "$(wc -l <"$TMPD/buckets" | tr -d ' ')" 200 "200 subnets' buckets"
is "$mism" 0 "every subnet got the pool its bucket says (canary .201, stable .101)"
# binomial n = 200, p = 0.25: mean 50, sd 6.1; 4 sd
ok '[ $canary -ge 26 ] && [ $canary -le 74 ]' "$canary of 200 subnets in the canary at p = 25%"
is "$scopes" 200 "ECS scope 24 (the hashed prefix) in every answer"
is "$stick" 200 "a host of each /24 (ECS /32) gets its /24's pool"
is "$(metric canary)" "$asked_c" "dnsd_rollout_answers_total{pool=\"canary\"} counts the canary answers"
is "$(metric stable)" "$asked_s" "dnsd_rollout_answers_total{pool=\"stable\"} counts the stable ones"

cnet=$(awk '$3 == "canary" { print $1; exit }' "$TMPD/buckets")
ttl=$(qq pool.example.test A +subnet="$cnet/24" +noall +answer | awk '{ print $2 }')
is "$ttl" 30 "the canary record's own TTL (30)"
is "$(scope pool.example.test A +subnet=10.0.0.0/16)" 24 "ECS /16: scope 24 (the /24 decides)"

# eu-west: the canary region goes between eu-west and eu
"$SPLIT" "$STORE" bucket example.test eu 10.200.0.0 10.200.1.0 10.200.2.0 10.200.3.0 10.200.4.0 \
    10.200.5.0 10.200.6.0 10.200.7.0 10.200.8.0 10.200.9.0 10.200.10.0 10.200.11.0 >"$TMPD/west"
wnet=$(awk '$3 == "canary" { print $1; exit }' "$TMPD/west")
ok '[ -n "$wnet" ]' "an eu-west /24 in the canary ($wnet)"
is "$(a pool.example.test A +subnet="$wnet/24")" 192.0.2.201 "eu-west client in the canary: eu.canary's pool"
is "$(a west.example.test A +subnet="$wnet/24")" 192.0.2.150 "... and eu-west's own record still"

# ECS SOURCE 0: no split
c0=$(metric canary) s0=$(metric stable)
is "$(a pool.example.test A +subnet=0.0.0.0/0)" 192.0.2.100 "ECS SOURCE 0: default's answer"
ok '[ "$(metric canary)" = "$c0" ] && [ "$(metric stable)" = "$s0" ]' "ECS SOURCE 0: no split counted"

# p = 100 %: the next query is in the canary; then the entry goes
snet=$(awk '$3 == "stable" { print $1; exit }' "$TMPD/buckets")
"$SPLIT" "$STORE" put example.test eu 10000 "$KEY"
is "$(a pool.example.test A +subnet="$snet/24")" 192.0.2.201 "p = 100%: a stable subnet moves to the canary at once"
"$SPLIT" "$STORE" del example.test eu
is "$(a pool.example.test A +subnet="$cnet/24")" 192.0.2.101 "entry deleted: a canary subnet is back on eu"
sc=$(scope pool.example.test A +subnet="$cnet/24")
ok '[ "$sc" -ge 8 ] && [ "$sc" -lt 24 ]' "... with the geo scope again ($sc: eu's /8, as eu-west's /16 cuts it)"

# export and import: the canary region's records come back
dnsctl zone export example.test >"$TMPD/ex.zone"
like "$(cat "$TMPD/ex.zone")" '\$REGION eu\.canary' "zone export prints \$REGION eu.canary"
STORE=$TMPD/store2
make_store example.test "$DATA/example.test.zone"
dnsctl region add eu --cidr 10.0.0.0/8 >/dev/null
dnsctl region add eu-west --cidr 10.200.0.0/16 --fallback eu >/dev/null
dnsctl zone import example.test "$TMPD/ex.zone" >/dev/null
is "$?" 0 "imported into a store that has eu but no eu.canary"
dnsctl zone export example.test >"$TMPD/ex2.zone"
ok 'cmp -s "$TMPD/ex.zone" "$TMPD/ex2.zone"' "exported again: the same bytes (eu.canary made below eu)"
exit $((_tap_fail > 0))
