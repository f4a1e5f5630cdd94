#!/bin/sh
# t_dnsctl_region.sh -- dnsctl region add / set / del / list / show, every
# validation error (message, exit status, store unchanged), --region on
# record add / del / list and zone import / export, the $REGION sections of
# an export and their round trip into a fresh store, the SOA serial bumps,
# and the refusal of a CNAME that meets other data through a fallback chain.
. "$top_srcdir/tests/system/lib.sh"
PY=${PYTHON:-python3}
need "$PY"
plan 251

run() { dnsctl "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }
state() { dnsctl region list --json; dnsctl zone export geo.test; }
serial() { dnsctl zone list --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["serial"])'; }
# jq-like: the python expression $1 over the JSON in $out (d)
pj() { printf '%s' "$out" | "$PY" -c "import json,sys; d = json.load(sys.stdin); print($1)"; }

# fails RC MESSAGE DESCRIPTION CMD...: exit RC, exactly MESSAGE on stderr, store unchanged
fails() {
    _rc=$1 _msg=$2 _what=$3
    shift 3
    _before=$(state)
    run "$@"
    is "$rc" "$_rc" "$_what: exit $_rc"
    is "$err" "$_msg" "$_what: message"
    is "$(state)" "$_before" "$_what: store unchanged"
}
# usage DESCRIPTION CMD...: exit 2, a pointer to --help, store unchanged
usage() {
    _what=$1
    shift
    _before=$(state)
    run "$@"
    is "$rc" 2 "$_what: exit 2"
    like "$err" "Try 'dnsctl --help'" "$_what: points to --help"
    is "$(state)" "$_before" "$_what: store unchanged"
}

dnsctl zone create geo.test --ns ns1.elsewhere.example >/dev/null 2>&1

# ---- region list on a store without regions ----
run region list
is "$out" "NAME     ID  FALLBACK CHAIN  CONTINENTS  COUNTRIES  SUBDIVISIONS  CIDRS  COORDS
default   0  -               -           -          -             -      -" "list: only default"
run region list --json
is "$(pj '[(r["name"], r["id"], r["fallback"], r["chain"]) for r in d]')" \
    "[('default', 0, None, ['default'])]" "list --json: only default"

# ---- region add ----
run region add eu --continent EU --coords 50.11,8.68
is "$rc/$out" "0/added region eu (id 1), falls back to default" "add eu: continent, coords"
run region add eu-west --country gb,FR,gb --fallback eu
is "$rc/$out" "0/added region eu-west (id 2), falls back to eu -> default" \
    "add eu-west: countries, fallback"
run region add us-wa --subdivision us-wa,US-OR --cidr '2001:db8::/32, 198.51.100.0/24'
is "$rc/$out" "0/added region us-wa (id 3), falls back to default" "add us-wa: subdivisions, CIDRs"
run region add lab --cidr 192.0.2.0/24 --coords=-33.9,18.42
is "$rc/$out" "0/added region lab (id 4), falls back to default" "add lab: CIDR, negative coords"
run region add empty-1
is "$rc/$out" "0/added region empty-1 (id 5), falls back to default" "add a region with no criteria"

run region list
is "$out" "NAME     ID  FALLBACK CHAIN  CONTINENTS  COUNTRIES  SUBDIVISIONS  CIDRS                          COORDS
default   0  -               -           -          -             -                              -
empty-1   5  default         -           -          -             -                              -
eu        1  default         EU          -          -             -                              50.11,8.68
eu-west   2  eu -> default   -           GB,FR      -             -                              -
lab       4  default         -           -          -             192.0.2.0/24                   -33.9,18.42
us-wa     3  default         -           -          US-WA,US-OR   2001:db8::/32,198.51.100.0/24  -" \
    "list: the table, codes upper-cased, repeats dropped, by name"
run region list --json
ok 'printf "%s" "$out" | "$PY" -m json.tool >/dev/null 2>&1' "list --json: valid JSON"
is "$(pj '[r["name"] for r in d]')" "['default', 'empty-1', 'eu', 'eu-west', 'lab', 'us-wa']" \
    "list --json: every region, default first"
is "$(pj '[r for r in d if r["name"] == "eu-west"][0]')" \
    "{'name': 'eu-west', 'id': 2, 'fallback': 'eu', 'chain': ['eu-west', 'eu', 'default'], 'continents': [], 'countries': ['GB', 'FR'], 'subdivisions': [], 'cidrs': [], 'coords': None, 'canary': False}" \
    "list --json: eu-west in full"
is "$(pj '[r["coords"] for r in d if r["name"] in ("eu", "lab")]')" \
    "[{'lat': 50.11, 'lon': 8.68}, {'lat': -33.9, 'lon': 18.42}]" "list --json: coords are numbers"
is "$(pj '[r["cidrs"] for r in d if r["name"] == "us-wa"][0]')" "['2001:db8::/32', '198.51.100.0/24']" \
    "list --json: CIDRs"

run region show eu-west
is "$out" "name          eu-west
id            2
fallback      eu -> default
continents    -
countries     GB,FR
subdivisions  -
cidrs         -
coords        -
fallback of   -
records       0 RRsets (0 records) in 0 zones" "show: text"
run region show eu --json
is "$(pj '(d["name"], d["fallback"], d["chain"], d["fallback_of"], d["rrsets"])')" \
    "('eu', 'default', ['eu', 'default'], ['eu-west'], 0)" "show --json: fallback_of and counts"
run region show default
like "$out" "^name          default" "show default: the implicit region"
like "$out" "fallback of   eu,us-wa,lab,empty-1" "show default: the regions that fall back to it"

# ---- region set: replaces the lists given, keeps the others ----
run region set eu-west --country de
is "$rc/$out" "0/updated region eu-west (id 2), falls back to eu -> default" "set: countries"
run region show eu-west --json
is "$(pj '(d["countries"], d["fallback"])')" "(['DE'], 'eu')" "set: the list replaced, the fallback kept"
run region set eu-west --fallback default
is "$out" "updated region eu-west (id 2), falls back to default" "set --fallback default"
run region set eu-west --fallback eu --cidr 203.0.113.0/24
is "$out" "updated region eu-west (id 2), falls back to eu -> default" "set the fallback back, add a CIDR"
run region show eu-west --json
is "$(pj '(d["countries"], d["cidrs"])')" "(['DE'], ['203.0.113.0/24'])" "set: other lists kept"
run region set eu-west --cidr ''
run region show eu-west --json
is "$(pj 'd["cidrs"]')" "[]" "set --cidr '': empties the list"
run region set lab --no-coords
run region show lab --json
is "$(pj 'd["coords"]')" "None" "set --no-coords"
run region set lab --coords 0,0
run region show lab --json
is "$(pj 'd["coords"]')" "{'lat': 0, 'lon': 0}" "set --coords"

# ---- validation: exit 1, a message naming the argument, nothing written ----
L=$(printf 'a%.0s' $(seq 64))
fails 1 'dnsctl: region name "EU-1": use 1 to 63 lower-case letters, digits and "-"' \
    "add: upper-case name" region add EU-1
fails 1 'dnsctl: region name "a_b": use 1 to 63 lower-case letters, digits and "-"' \
    "add: name with _" region add a_b
fails 1 "dnsctl: region name \"$L\": use 1 to 63 lower-case letters, digits and \"-\"" \
    "add: 64-character name" region add "$L"
fails 1 'dnsctl: region name "default" is reserved (the region every chain ends in)' \
    "add: default" region add default
fails 1 "dnsctl: region eu already exists (id 1; \`dnsctl region set\` changes it)" \
    "add: an existing name" region add eu
fails 1 'dnsctl: --continent "EU,XX": "XX" is not a continent code (AF AN AS EU NA OC SA)' \
    "add: bad continent" region add x --continent EU,XX
fails 1 'dnsctl: --country "DEU": "DEU" is not a country code (two letters, ISO 3166-1: DE)' \
    "add: three-letter country" region add x --country DEU
fails 1 'dnsctl: --country "D1": "D1" is not a country code (two letters, ISO 3166-1: DE)' \
    "add: country with a digit" region add x --country D1
fails 1 'dnsctl: --country "DE,,FR": an empty item in the list' \
    "add: empty list item" region add x --country DE,,FR
fails 1 'dnsctl: --subdivision "US": "US" is not a subdivision code (ISO 3166-2: country, "-", 1 to 3 letters or digits: US-CA)' \
    "add: subdivision without a dash" region add x --subdivision US
fails 1 'dnsctl: --subdivision "US-ABCD": "US-ABCD" is not a subdivision code (ISO 3166-2: country, "-", 1 to 3 letters or digits: US-CA)' \
    "add: subdivision too long" region add x --subdivision US-ABCD
fails 1 'dnsctl: --subdivision "U1-CA": "U1-CA" is not a subdivision code (ISO 3166-2: country, "-", 1 to 3 letters or digits: US-CA)' \
    "add: subdivision with a bad country" region add x --subdivision U1-CA
fails 1 'dnsctl: --cidr "192.0.2.1/24": host bits are set past /24 (the network is 192.0.2.0/24)' \
    "add: IPv4 CIDR with host bits" region add x --cidr 192.0.2.1/24
fails 1 'dnsctl: --cidr "2001:db8::1/32": host bits are set past /32 (the network is 2001:db8::/32)' \
    "add: IPv6 CIDR with host bits" region add x --cidr 10.0.0.0/8,2001:db8::1/32
fails 1 'dnsctl: --cidr "10.0.0.0/33": the prefix length must be 0 to 32' \
    "add: prefix too long" region add x --cidr 10.0.0.0/33
fails 1 'dnsctl: --cidr "300.1.2.0/24": "300.1.2.0" is not an IPv4 or IPv6 address' \
    "add: bad address" region add x --cidr 300.1.2.0/24
fails 1 'dnsctl: --cidr "10.0.0.0": give a network with its prefix length (192.0.2.0/24, 2001:db8::/32)' \
    "add: CIDR without a prefix" region add x --cidr 10.0.0.0
fails 1 'dnsctl: --coords "91,0": latitude 91 is out of range (-90 to 90)' \
    "add: latitude out of range" region add x --coords 91,0
fails 1 'dnsctl: --coords "0,-180.5": longitude -180.5 is out of range (-180 to 180)' \
    "add: longitude out of range" region add x --coords 0,-180.5
fails 1 'dnsctl: --coords "north": give LAT,LON in decimal degrees (48.14,11.58)' \
    "add: coords not numbers" region add x --coords north
fails 1 'dnsctl: --coords "1,2,3": give LAT,LON in decimal degrees (48.14,11.58)' \
    "add: three coordinates" region add x --coords 1,2,3
fails 1 'dnsctl: --fallback nosuch: no such region' "add: unknown fallback" region add x --fallback nosuch
fails 1 'dnsctl: --country DE: region eu-west already has it (a code belongs to one region)' \
    "add: a country another region has" region add x --country FR,DE
fails 1 'dnsctl: --cidr 192.0.2.0/24: region lab already has it (a network belongs to one region)' \
    "add: a CIDR another region has" region add x --cidr 192.0.2.0/24
fails 1 'dnsctl: region set eu: fallback chain of region "eu" loops or is longer than 16' \
    "set: a fallback loop" region set eu --fallback eu-west
fails 1 'dnsctl: --fallback eu: a region cannot fall back to itself' \
    "set: fallback to itself" region set eu --fallback eu
fails 1 'dnsctl: no such region: nosuch (see `dnsctl region list`)' \
    "set: unknown region" region set nosuch --country JP
fails 1 'dnsctl: cannot delete region eu: region eu-west falls back to it (`dnsctl region set eu-west --fallback ...` first)' \
    "del: a region another falls back to" region del eu
fails 1 'dnsctl: the default region cannot be deleted (every chain ends in it)' \
    "del: default" region del default
fails 1 'dnsctl: no such region: nosuch (see `dnsctl region list`)' "del: unknown region" region del nosuch
fails 1 'dnsctl: no such region: nosuch (see `dnsctl region list`)' "show: unknown region" region show nosuch
usage "set: nothing to change" region set eu
usage "set: --coords with --no-coords" region set eu --coords 1,1 --no-coords
usage "add: --no-coords" region add x --no-coords
usage "add: --country twice" region add x --country DE --country FR
usage "add: --json" region add x --json
usage "add: no name" region add
usage "unknown region verb" region frob

# ---- records in regions ----
dnsctl record add geo.test 'www A 192.0.2.1' >/dev/null
s0=$(serial)
run record add geo.test 'www 300 A 192.0.2.10' --region eu
is "$rc/$out" "0/added www.geo.test. 300 IN A 192.0.2.10 (region eu, serial $((s0 + 1)))" \
    "record add --region: the region and the bumped serial"
run record add geo.test --region eu-west 'www A 192.0.2.20'
is "$out" "added www.geo.test. 3600 IN A 192.0.2.20 (region eu-west, serial $((s0 + 2)))" \
    "record add --region before the record"
run record add geo.test 'www 600 A 192.0.2.10' --region eu
is "$out" "updated www.geo.test. 600 IN A 192.0.2.10 (region eu, serial $((s0 + 3)))" \
    "record add --region: a TTL change in the region"
is "$err" "dnsctl: note: the TTL of the www.geo.test. A RRset in region eu changes from 300 to 600 (one TTL per RRset)" \
    "record add --region: the TTL note names the region"
run record list geo.test www
is "$out" "NAME            TTL  TYPE  DATA        REGION
www.geo.test.  3600  A     192.0.2.1   default
www.geo.test.   600  A     192.0.2.10  eu
www.geo.test.  3600  A     192.0.2.20  eu-west" "record list: every region, REGION by name"
run record list geo.test www --region eu
is "$out" "NAME           TTL  TYPE  DATA
www.geo.test.  600  A     192.0.2.10" "record list --region: that region only"
run record list geo.test --json
is "$(pj '[(r["name"], r["rdata"], r["region"]) for r in d if r["type"] == "A"]')" \
    "[('www.geo.test.', '192.0.2.1', 'default'), ('www.geo.test.', '192.0.2.10', 'eu'), ('www.geo.test.', '192.0.2.20', 'eu-west')]" \
    "record list --json: region names"
run record list geo.test www --region default --json
is "$(pj '[r["rdata"] for r in d]')" "['192.0.2.1']" "record list --region default"
run record list geo.test www --region lab
is "$rc/$err" "1/dnsctl: no records at www.geo.test. in region lab" "record list --region: none there"
run region show eu --json
is "$(pj '(d["rrsets"], d["records"], d["zones"])')" "(1, 1, 1)" "region show: counts the region's records"

fails 1 'dnsctl: no such region: nosuch (see `dnsctl region list`)' \
    "record add --region unknown" record add geo.test 'x A 192.0.2.3' --region nosuch
fails 1 'dnsctl: refused: the SOA record of geo.test. is in the default region only (leave out --region)' \
    "record add --region: SOA" record add geo.test '@ SOA ns1 hm 9 1 1 1 1' --region eu
fails 1 'dnsctl: refused: the apex NS records of geo.test. are in the default region only (leave out --region)' \
    "record add --region: apex NS" record add geo.test '@ NS ns9.elsewhere.example.' --region eu
fails 1 'dnsctl: no records at www.geo.test. in region lab' \
    "record del --region: nothing there" record del geo.test www --region lab
fails 1 'dnsctl: no such region: nosuch (see `dnsctl region list`)' \
    "record del --region unknown" record del geo.test www --region nosuch
usage "zone list --region" zone list --region eu

run record del geo.test www A 192.0.2.20 --region eu-west
is "$rc/$out" "0/deleted www.geo.test. A 192.0.2.20 (region eu-west, serial $((s0 + 4)))" \
    "record del --region: one record"
is "$(dnsctl record list geo.test www --json | "$PY" -c 'import json,sys; print(sorted(r["region"] for r in json.load(sys.stdin)))')" \
    "['default', 'eu']" "record del --region: the other regions keep theirs"
dnsctl record add geo.test 'n TXT "eu"' --region eu >/dev/null
run record del geo.test @ --region eu
is "$rc/$err" "1/dnsctl: no records at geo.test. in region eu" \
    "record del NAME --region at the apex: only that region's records (none)"

# ---- a CNAME must stand alone in every region's view ----
fails 1 'dnsctl: refused: CNAME in region eu-west and A in region default at www.geo.test. are both seen by region eu-west (eu-west -> eu -> default); a CNAME must stand alone' \
    "CNAME in a region beside an A in default" record add geo.test 'www CNAME x.example.' --region eu-west
dnsctl record add geo.test 'api CNAME lb.example.' --region eu >/dev/null
fails 1 'dnsctl: refused: CNAME in region eu and A in region default at api.geo.test. are both seen by region eu (eu -> default); a CNAME must stand alone' \
    "an A in default beside a CNAME in a region" record add geo.test 'api A 192.0.2.5'
fails 1 'dnsctl: refused: CNAME in region eu and AAAA in region eu-west at api.geo.test. are both seen by region eu-west (eu-west -> eu -> default); a CNAME must stand alone' \
    "an AAAA in a child region beside its parent's CNAME" record add geo.test 'api AAAA 2001:db8::5' --region eu-west
fails 1 'dnsctl: refused: CNAME and other data at api.geo.test. in region eu (TXT); a CNAME must stand alone' \
    "CNAME beside other data in one region: type by name" record add geo.test 'api TXT "x"' --region eu
run record add geo.test 'api A 192.0.2.6' --region lab
is "$rc" 0 "an A in a region whose chain does not reach the CNAME: allowed"
run record add geo.test 'api CNAME other.example.' --region eu-west
is "$rc" 0 "a CNAME in a child region over its parent's CNAME: allowed (same type)"
fails 1 'dnsctl: refused: zone geo.test.: CNAME in region eu and A in region lab at api.geo.test. are both seen by region lab (lab -> eu -> default); a CNAME must stand alone' \
    "region set --fallback that would make a CNAME meet an A" region set lab --fallback eu
fails 1 'dnsctl: refused: CNAME and other data at www.geo.test. (A); a CNAME must stand alone' \
    "CNAME beside an A in default: the type by name" record add geo.test 'www CNAME x.example.'

# ---- zone export: $REGION sections, by region name ----
s1=$(serial)
run zone export geo.test
is "$out" "; zone geo.test. serial $s1
geo.test.	3600	IN	SOA	ns1.elsewhere.example. hostmaster.geo.test. $s1 86400 7200 3600000 3600
geo.test.	3600	IN	NS	ns1.elsewhere.example.
www.geo.test.	3600	IN	A	192.0.2.1

\$REGION eu
api.geo.test.	3600	IN	CNAME	lb.example.
n.geo.test.	3600	IN	TXT	\"eu\"
www.geo.test.	600	IN	A	192.0.2.10

\$REGION eu-west
api.geo.test.	3600	IN	CNAME	other.example.

\$REGION lab
api.geo.test.	3600	IN	A	192.0.2.6" "export: default, then a \$REGION section per region with records"
run zone export geo.test --region eu
is "$out" "; zone geo.test. serial $s1 region eu
api.geo.test.	3600	IN	CNAME	lb.example.
n.geo.test.	3600	IN	TXT	\"eu\"
www.geo.test.	600	IN	A	192.0.2.10" "export --region: that region only, no directive"
run zone export geo.test --region default
is "$(printf '%s\n' "$out" | grep -c REGION)" 0 "export --region default: no sections"
run zone export geo.test --region nosuch
is "$rc/$err" "1/dnsctl: no such region: nosuch (see \`dnsctl region list\`)" "export --region unknown"

# ---- round trip: export -> fresh store with the same regions (other ids) -> export ----
dnsctl zone export geo.test >"$TMPD/full.zone"
S2=$TMPD/store2
d2() { "$DNSCTL" --store "$S2" "$@"; }
d2 region add eu-west >/dev/null 2>&1
d2 region add lab >/dev/null 2>&1
d2 region add eu >/dev/null 2>&1
d2 region set eu-west --fallback eu >/dev/null 2>&1
is "$(d2 region show eu-west --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')" 1 \
    "round trip: the fresh store gives eu-west another id"
d2 zone import geo.test "$TMPD/full.zone" >"$TMPD/out" 2>&1
is "$?/$(cat "$TMPD/out")" "0/imported zone geo.test.: 8 records, serial $s1" \
    "round trip: import with \$REGION sections"
d2 zone export geo.test >"$TMPD/full2.zone"
ok 'cmp -s "$TMPD/full.zone" "$TMPD/full2.zone"' "round trip: export -> import -> export is byte-identical"
is "$(d2 record list geo.test api --json | "$PY" -c 'import json,sys; print(sorted((r["region"], r["rdata"]) for r in json.load(sys.stdin)))')" \
    "[('eu', 'lb.example.'), ('eu-west', 'other.example.'), ('lab', '192.0.2.6')]" \
    "round trip: records in the regions of the same names"
rm -rf "$S2"
run zone import geo.test "$TMPD/full.zone" --store "$S2"
is "$rc/$err" "1/dnsctl: $TMPD/full.zone:6: unknown region \"eu\" (define it with \`dnsctl region add\`)" \
    "import into a store without the regions: unknown region at file:line"

# ---- zone import with sections: each named region replaced, the others kept ----
cat >"$TMPD/sect.zone" <<EOF
@ 3600 IN SOA ns1.elsewhere.example. hostmaster 500 1 1 1 1
@ NS ns1.elsewhere.example.
www A 192.0.2.1
\$REGION lab
www A 192.0.2.66
\$REGION default
mail A 192.0.2.25
\$REGION lab
mail A 192.0.2.26
EOF
run zone import geo.test "$TMPD/sect.zone"
is "$rc/$out" "0/replaced zone geo.test.: 6 records, serial 500" "import with sections: replaced"
run record list geo.test --json
is "$(pj 'sorted((r["region"], r["name"], r["rdata"]) for r in d if r["type"] in ("A", "CNAME", "TXT"))')" \
    "[('default', 'mail.geo.test.', '192.0.2.25'), ('default', 'www.geo.test.', '192.0.2.1'), ('eu', 'api.geo.test.', 'lb.example.'), ('eu', 'n.geo.test.', '\"eu\"'), ('eu', 'www.geo.test.', '192.0.2.10'), ('eu-west', 'api.geo.test.', 'other.example.'), ('lab', 'mail.geo.test.', '192.0.2.26'), ('lab', 'www.geo.test.', '192.0.2.66')]" \
    "import with sections: default and lab replaced (\$REGION default goes back), eu and eu-west kept"

cat >"$TMPD/bad1.zone" <<EOF
@ 3600 IN SOA ns1.elsewhere.example. hostmaster 600 1 1 1 1
@ NS ns1.elsewhere.example.
\$REGION lab
@ NS ns2.elsewhere.example.
EOF
fails 1 "dnsctl: $TMPD/bad1.zone:4: NS record at the apex geo.test. in region lab: the zone's SOA and NS records are in the default region only (leave them out of a region's records)" \
    "import: apex NS in a \$REGION section" zone import geo.test "$TMPD/bad1.zone"
printf '@ 3600 IN SOA ns1.elsewhere.example. hostmaster 600 1 1 1 1\n@ NS ns1.elsewhere.example.\n$REGION\n' >"$TMPD/bad2.zone"
fails 1 "dnsctl: $TMPD/bad2.zone:3: \$REGION needs a region name" "import: \$REGION without a name" \
    zone import geo.test "$TMPD/bad2.zone"
printf '@ 3600 IN SOA ns1.elsewhere.example. hostmaster 600 1 1 1 1\n@ NS ns1.elsewhere.example.\n$REGION lab eu\n' >"$TMPD/bad3.zone"
fails 1 "dnsctl: $TMPD/bad3.zone:3: unexpected \"eu\" after \$REGION lab" "import: \$REGION with two names" \
    zone import geo.test "$TMPD/bad3.zone"
printf '@ 3600 IN SOA ns1.elsewhere.example. hostmaster 600 1 1 1 1\n@ NS ns1.elsewhere.example.\n$REGION lab\nx CNAME y.example.\nx TXT "t"\n' >"$TMPD/bad4.zone"
fails 1 "dnsctl: $TMPD/bad4.zone:5: TXT record at x.geo.test. beside its CNAME record ($TMPD/bad4.zone:4); a CNAME must stand alone" \
    "import: CNAME beside other data inside a section, with its line" zone import geo.test "$TMPD/bad4.zone"
printf '@ 3600 IN SOA ns1.elsewhere.example. hostmaster 600 1 1 1 1\n@ NS ns1.elsewhere.example.\nx A 192.0.2.9\n$REGION lab\nx CNAME y.example.\n' >"$TMPD/bad5.zone"
fails 1 "dnsctl: $TMPD/bad5.zone: CNAME in region lab and A in region default at x.geo.test. are both seen by region lab (lab -> default); a CNAME must stand alone" \
    "import: a CNAME in a section meeting an A of default" zone import geo.test "$TMPD/bad5.zone"

# ---- zone import --region: one region's records, an overlay without SOA/NS ----
s2=$(serial)
printf 'www A 192.0.2.67\nftp 120 AAAA 2001:db8::21\n' >"$TMPD/lab.zone"
run zone import --region lab geo.test "$TMPD/lab.zone"
is "$rc/$out" "0/replaced region lab of zone geo.test.: 2 records, serial $((s2 + 1))" \
    "import --region: replaces that region, bumps the serial"
run record list geo.test --region lab --json
is "$(pj '[(r["name"], r["rdata"]) for r in d]')" \
    "[('ftp.geo.test.', '2001:db8::21'), ('www.geo.test.', '192.0.2.67')]" "import --region: the region holds the file's records only"
run record list geo.test --region default --json
is "$(pj '[r["name"] for r in d if r["type"] == "A"]')" "['mail.geo.test.', 'www.geo.test.']" \
    "import --region: default untouched"
run record list geo.test --region eu --json
is "$(pj 'len(d)')" 3 "import --region: other regions untouched"
printf '@ 3600 IN SOA ns1.elsewhere.example. hostmaster 600 1 1 1 1\nwww A 192.0.2.1\n' >"$TMPD/rsoa.zone"
fails 1 "dnsctl: $TMPD/rsoa.zone:1: SOA record at the apex geo.test. in region lab: the zone's SOA and NS records are in the default region only (leave them out of a region's records)" \
    "import --region: a file with an SOA" zone import --region lab geo.test "$TMPD/rsoa.zone"
printf 'www A 192.0.2.1\n$REGION eu\n' >"$TMPD/rdir.zone"
fails 1 "dnsctl: $TMPD/rdir.zone:2: \$REGION is not allowed here: every record of this file goes to region lab" \
    "import --region: a file with \$REGION" zone import --region lab geo.test "$TMPD/rdir.zone"
fails 1 "dnsctl: no such zone: nope.test.
dnsctl: note: --region imports into an existing zone (import or create the zone first)" \
    "import --region: the zone must exist" zone import --region lab nope.test "$TMPD/lab.zone"
fails 1 'dnsctl: no such region: nosuch (see `dnsctl region list`)' \
    "import --region: unknown region" zone import --region nosuch geo.test "$TMPD/lab.zone"
printf 'api A 192.0.2.1\n' >"$TMPD/rcn.zone"
fails 1 "dnsctl: $TMPD/rcn.zone: CNAME in region eu and A in region eu-west at api.geo.test. are both seen by region eu-west (eu-west -> eu -> default); a CNAME must stand alone" \
    "import --region: a record meeting a parent's CNAME" zone import --region eu-west geo.test "$TMPD/rcn.zone"
: >"$TMPD/empty.zone"
run zone import --region lab geo.test "$TMPD/empty.zone"
is "$rc/$out" "0/replaced region lab of zone geo.test.: 0 records, serial $((s2 + 2))" \
    "import --region an empty file: empties the region"

# ---- region del: its records go, the zones' serials go up ----
fails 1 'dnsctl: cannot delete region eu: region eu-west falls back to it (`dnsctl region set eu-west --fallback ...` first)' \
    "del: still a fallback (with records)" region del eu
s3=$(serial)
run region del eu-west
is "$rc/$out" "0/deleted region eu-west (id 2) and its 1 RRset (1 record) in 1 zone" "del: says how many"
is "$(serial)" "$((s3 + 1))" "del: the zone's serial bumped"
run record list geo.test api --json
is "$(pj '[r["region"] for r in d]')" "['eu']" "del: the region's records are gone, others stay"
run region del eu
is "$rc/$out" "0/deleted region eu (id 1) and its 3 RRsets (3 records) in 1 zone" "del: the parent, now free"
run region del empty-1
is "$rc/$out" "0/deleted region empty-1 (id 5); it had no records" "del: a region without records"
is "$(serial)" "$((s3 + 2))" "del without records: no serial bump"
run region list --json
is "$(pj '[r["name"] for r in d]')" "['default', 'lab', 'us-wa']" "del: gone from the list"
run region add eu --country JP
like "$rc/$out" "^0/added region eu \(id [0-9]+\), falls back to default\$" "a deleted region's name can be used again"

# a chain lengthened from above: c16 has 15 ancestors (c15..c1); giving c1
# a parent makes 16 (the most), giving that parent a parent would make 17
prev=
for i in $(seq 1 16); do
    if [ -z "$prev" ]; then dnsctl region add "c$i" >/dev/null; else dnsctl region add "c$i" --fallback "$prev" >/dev/null; fi
    prev=c$i
done
dnsctl region add y1 >/dev/null
dnsctl region add y2 >/dev/null
run region set c1 --fallback y1
is "$rc" 0 "re-parenting the top of a 16-region chain: c16 now has 16 ancestors, allowed"
fails 1 'dnsctl: region set y1: this would make the fallback chain of region "c16" (below "y1") longer than 16' \
    "re-parenting an ancestor so that a descendant's chain is too long" region set y1 --fallback y2
