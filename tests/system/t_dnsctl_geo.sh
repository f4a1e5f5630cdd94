#!/bin/sh
# t_dnsctl_geo.sh -- dnsctl geo lookup against MaxMind's GeoIP2-City test DB:
# the region chosen by continent, country, subdivision and CIDR regions, the
# DB fields, network and chain printed, IPv6 and IPv4-mapped addresses,
# --json, $DNSD_GEO_DB, no DB at all, and the errors; then a running dnsd
# with the same DB answers ECS queries from the same regions (and follows a
# region edit without a restart).
. "$top_srcdir/tests/system/lib.sh"
PY=${PYTHON:-python3}
need "$PY"
GEO=$top_srcdir/tests/data/geo
DB=$GEO/GeoIP2-City-Test.mmdb
if [ ! -r "$DB" ]; then
    if [ "${REQUIRE_ALL:-0}" = 1 ]; then echo "Bail out! $DB is required"; exit 1; fi
    skip_all "no MaxMind test DB at $GEO"
fi
plan 56

run() { dnsctl "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }
pj() { printf '%s' "$out" | "$PY" -c "import json,sys; d = json.load(sys.stdin); print($1)"; }
# look ADDRESS: geo lookup with the test DB; the "region" and "chain" lines in $reg / $chain
look() {
    run geo lookup "$1" --db "$DB"
    reg=$(field "$out" "region      ")
    chain=$(field "$out" "chain       ")
}

dnsctl zone create geo.test --ns ns1.elsewhere.example >/dev/null 2>&1
dnsctl region add eu --continent EU >/dev/null
dnsctl region add eu-west --country GB --fallback eu >/dev/null
dnsctl region add na --continent NA >/dev/null
dnsctl region add us-wa --subdivision US-WA --fallback na >/dev/null
dnsctl region add ap --continent AS >/dev/null
dnsctl region add jp --country JP --fallback ap >/dev/null
dnsctl region add office --cidr 81.2.69.140/30,2001:db8:1::/48 --fallback eu-west >/dev/null
dnsctl region add lab --cidr 192.0.2.0/24 >/dev/null

# a country region (a child of a continent region)
look 89.160.20.112
is "$reg" "eu (1) by continent EU" "SE address: continent region eu"
is "$chain" "eu -> default" "SE address: chain"
look 81.2.69.160
is "$rc" 0 "GB address: exit 0"
is "$reg" "eu-west (2) by country GB" "GB address: country region eu-west"
is "$chain" "eu-west -> eu -> default" "GB address: the chain walked"
is "$(field "$out" "network     ")" "81.2.69.160/27" "GB address: the DB network and prefix"
is "$(field "$out" "continent   ")/$(field "$out" "country     ")/$(field "$out" "subdivisions")" \
    "EU/GB/GB-ENG" "GB address: the DB fields"
like "$(field "$out" "database    ")" "GeoIP2-City-Test.mmdb \\(GeoIP2-City, IPv6, schema GeoIP2\\)" \
    "GB address: the DB and its type"
is "$(field "$out" "cidr        ")" "none" "GB address: no CIDR matched"
is "$(field "$out" "scope       ")" "/27" "GB address: the ECS scope"

# a subdivision region wins over its country's continent
look 216.160.83.56
is "$reg" "us-wa (4) by subdivision US-WA" "US-WA address: subdivision region"
is "$chain" "us-wa -> na -> default" "US-WA address: chain"
is "$(field "$out" "subdivisions")" "US-WA" "US-WA address: the subdivision from the DB"
look 214.78.120.1
is "$reg" "na (3) by continent NA" "US-CA address: no US-CA region, the continent's"
is "$chain" "na -> default" "US-CA address: chain"

# IPv6: a country region
look 2001:218::1
is "$reg" "jp (6) by country JP" "JP IPv6 address: country region jp"
is "$chain" "jp -> ap -> default" "JP IPv6 address: chain"
is "$(field "$out" "network     ")" "2001:218::/32" "JP IPv6 address: network"
look 2001:230::1
is "$reg" "ap (5) by continent AS" "KR IPv6 address: continent region ap"

# explicit CIDRs win over the DB
look 81.2.69.142
is "$reg" "office (7) by cidr 81.2.69.140/30" "a CIDR inside a GB network: the CIDR region"
is "$chain" "office -> eu-west -> eu -> default" "CIDR region: its chain"
is "$(field "$out" "cidr        ")" "81.2.69.140/30 (region office)" "CIDR region: the CIDR matched"
is "$(field "$out" "country     ")" "GB" "CIDR region: the DB fields still shown"
look 192.0.2.7
is "$reg" "lab (8) by cidr 192.0.2.0/24" "an address the DB lacks, in a CIDR: the CIDR region"
is "$(field "$out" "network     ")" "not in the database" "not in the DB: said so"
look 2001:db8:1::5
is "$reg" "office (7) by cidr 2001:db8:1::/48" "IPv6 CIDR region"
look ::ffff:81.2.69.161
is "$reg" "eu-west (2) by country GB" "IPv4-mapped address: looked up as IPv4"
is "$(field "$out" "looked up as")" "81.2.69.161 (IPv4-mapped)" "IPv4-mapped: says how"
look 1.1.1.1
is "$reg" "default (0) by not in database" "an address nobody has: default"
is "$chain" "default" "default: chain"

# --json
run geo lookup 81.2.69.142 --db "$DB" --json
ok 'printf "%s" "$out" | "$PY" -m json.tool >/dev/null 2>&1' "--json: valid JSON"
is "$(pj '(d["region"]["name"], d["matched_by"], d["match"], [c["name"] for c in d["chain"]])')" \
    "('office', 'cidr', '81.2.69.140/30', ['office', 'eu-west', 'eu', 'default'])" "--json: region, match, chain"
is "$(pj '(d["database"]["country"], d["database"]["network"], d["cidr"]["network"])')" \
    "('GB', '81.2.69.142/31', '81.2.69.140/30')" "--json: DB fields and the CIDR"

# the DB from the environment; none at all
DNSD_GEO_DB=$DB dnsctl geo lookup 89.160.20.112 >"$TMPD/out" 2>&1
is "$(field "$(cat "$TMPD/out")" "region      ")" "eu (1) by continent EU" "\$DNSD_GEO_DB: used without --db"
DNSD_GEO_DB=$DB dnsctl geo lookup 89.160.20.112 --db "" >"$TMPD/out" 2>&1
is "$(field "$(cat "$TMPD/out")" "database    ")" "none" "--db '': no DB even with \$DNSD_GEO_DB"
run geo lookup 89.160.20.112
is "$(field "$out" "database    ")/$(field "$out" "region      ")" "none/default (0) by default" \
    "no DB: default"
run geo lookup 192.0.2.1
is "$(field "$out" "region      ")" "lab (8) by cidr 192.0.2.0/24" "no DB: CIDR regions still apply"

# errors
run geo lookup 300.1.1.1 --db "$DB"
is "$rc/$err" '1/dnsctl: address: "300.1.1.1" is not an IPv4 or IPv6 address' "bad address: exit 1"
run geo lookup 1.2.3.4 --db "$TMPD/nope.mmdb"
is "$rc" 1 "missing DB: exit 1"
like "$err" "nope.mmdb: cannot read the MaxMind DB" "missing DB: names the file"
run geo lookup 1.2.3.4 --db "$GEO/GeoIP2-City-Test-Invalid-Node-Count.mmdb"
is "$rc" 1 "corrupt DB: exit 1"
run geo lookup --db "$DB"
is "$rc" 2 "no address: usage"
run geo lookup 1.2.3.4 5.6.7.8
is "$rc" 2 "two addresses: usage"
run geo where 1.2.3.4
is "$rc" 2 "unknown geo verb: usage"
run geo lookup 1.2.3.4 --region eu
is "$rc" 2 "geo lookup --region: usage"
"$DNSCTL" --store "$TMPD/none" geo lookup 1.2.3.4 >/dev/null 2>&1
is "$?" 1 "no store: exit 1"

# ---- the server agrees: ECS answers from the same regions ----
if ! command -v dig >/dev/null 2>&1; then
    if [ "${REQUIRE_ALL:-0}" = 1 ]; then echo "Bail out! dig is required"; exit 1; fi
    skip 10 "dig not installed"
    exit 0
fi
dnsctl record add geo.test 'www A 192.0.2.1' >/dev/null
dnsctl record add geo.test 'www A 192.0.2.2' --region eu >/dev/null
dnsctl record add geo.test 'www A 192.0.2.3' --region eu-west >/dev/null
dnsctl record add geo.test 'www A 192.0.2.4' --region us-wa >/dev/null
dnsctl record add geo.test 'www A 192.0.2.5' --region office >/dev/null
dnsctl record add geo.test 'txt TXT "eu"' --region eu >/dev/null
dnsctl record add geo.test 'txt TXT "default"' >/dev/null
start_dnsd --geo-database "$DB"
a() { q +short +subnet="$1" "$2" "${3:-A}" | tr '\n' ' ' | sed 's/ $//'; }
is "$(a 81.2.69.161/32 www.geo.test)" "192.0.2.3" "dnsd: GB client -> eu-west's record"
is "$(a 89.160.20.112/32 www.geo.test)" "192.0.2.2" "dnsd: SE client -> eu's record"
is "$(a 216.160.83.56/32 www.geo.test)" "192.0.2.4" "dnsd: US-WA client -> us-wa's record"
is "$(a 81.2.69.142/32 www.geo.test)" "192.0.2.5" "dnsd: CIDR client -> office's record"
is "$(a 2001:218::1/128 www.geo.test)" "192.0.2.1" "dnsd: JP client (jp, ap have no record) -> default's"
is "$(a 81.2.69.161/32 txt.geo.test TXT)" '"eu"' "dnsd: GB client, a type eu-west lacks -> eu's (the chain)"
is "$(a 216.160.83.56/32 txt.geo.test TXT)" '"default"' "dnsd: US-WA client, TXT -> default's"
# a region edit reaches the running server (it rebuilds when the regions change)
dnsctl region set us-wa --subdivision US-CA >/dev/null
i=0
while [ "$(a 216.160.83.56/32 www.geo.test)" != "192.0.2.1" ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
is "$(a 216.160.83.56/32 www.geo.test)" "192.0.2.1" "dnsd: after region set, a US-WA client falls to default"
is "$(a 214.78.120.1/32 www.geo.test)" "192.0.2.4" "dnsd: and a US-CA client gets us-wa's record"
run geo lookup 214.78.120.1 --db "$DB"
is "$(field "$out" "region      ")" "us-wa (4) by subdivision US-CA" "geo lookup agrees with the server"
