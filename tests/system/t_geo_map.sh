#!/bin/sh
# t_geo_map.sh -- dnsctl geo map: an SVG world map (valid XML, checked with
# xmllint) where each country carries the fill of the region its addresses
# go to, as the server's table decides it: by continent and country on a
# real world-wide country DB; a country split by a subdivision region
# (>= 1% of its addresses elsewhere) hatched with the two regions'
# colours, a small CIDR region only in the tooltip shares; --region showing
# only some regions; --out; rings over the antimeridian (Fiji, Russia)
# never jump across the map; and the errors (no DB, no regions, an unknown
# region, a bad DB) exit 1 with a message naming what is wrong.
. "$top_srcdir/tests/system/lib.sh"
PY=${PYTHON:-python3}
need "$PY"
need xmllint
WORLD=$top_srcdir/tools/demo.d/geo-whois-asn-country.mmdb
CITY=$top_srcdir/tests/data/geo/GeoIP2-City-Test.mmdb
for f in "$WORLD" "$CITY"; do
    if [ ! -r "$f" ]; then
        if [ "${REQUIRE_ALL:-0}" = 1 ]; then echo "Bail out! $f is required"; exit 1; fi
        skip_all "no test DB at $f"
    fi
done
plan 33

run() { dnsctl "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }
# svg FILE EXPR: evaluate the Python expression EXPR with fill(CC), region(CC),
# title(CC), legend(NAME) (the legend swatch's fill, or None), legends (names)
svg() {
    "$PY" - "$1" "$2" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
paths = {p.get("id"): p for p in root.iter(NS + "path")}
legs = {g.get("data-legend"): g for g in root.iter(NS + "g") if g.get("data-legend")}
fill = lambda cc: paths[cc].get("fill")
region = lambda cc: paths[cc].get("data-region")
title = lambda cc: paths[cc].find(NS + "title").text
legend = lambda n: legs[n].find(NS + "rect").get("fill") if n in legs else None
text = lambda n: legs[n].find(NS + "text").text
legends = list(legs)
def jumps():
    # the longest step between two points of one subpath, over every country
    # but Antarctica, whose ring around the pole runs along the map's bottom edge
    import re
    worst = 0
    for p in (p for cc, p in paths.items() if cc != "AQ"):
        for sub in re.findall(r"M[^Z]*Z", p.get("d")):
            xs = [float(x) for x in re.findall(r"[ML](-?[\d.]+) ", sub)]
            worst = max([worst] + [abs(b - a) for a, b in zip(xs, xs[1:])])
    return worst
print(eval(sys.argv[2]))
PYEOF
}

dnsctl zone create geo.test --ns ns1.elsewhere.example >/dev/null 2>&1

# errors first: no regions, no DB, a DB that is not one
run geo map --db "$WORLD"
is "$rc" 1 "no regions: exit 1"
like "$err" "^dnsctl: no regions in the store" "... saying there are none to draw"
dnsctl region add eu --continent EU >/dev/null
dnsctl region add de --country DE --fallback eu >/dev/null
dnsctl region add na --continent NA >/dev/null
dnsctl region add us-wa --subdivision US-WA --fallback na >/dev/null
dnsctl region add office --cidr 81.2.69.140/30 --fallback eu >/dev/null
run geo map
is "$rc" 1 "no --db and no \$DNSD_GEO_DB: exit 1"
like "$err" "needs a MaxMind DB.*--db FILE or \\\$DNSD_GEO_DB" "... saying how to name one"
run geo map --db "$TMPD/none.mmdb"
is "$rc" 1 "a missing DB file: exit 1"
like "$err" "none\\.mmdb.*cannot read the MaxMind DB" "... naming the file"
printf 'not a db' >"$TMPD/bad.mmdb"
run geo map --db "$TMPD/bad.mmdb"
like "$rc/$err" "^1/.*bad\\.mmdb.*not a valid MaxMind DB" "a file that is no MaxMind DB: exit 1, named"
run geo map --db "$WORLD" --region nowhere
like "$rc/$err" "^1/dnsctl: no such region: nowhere" "--region with an unknown region: exit 1"
run geo map --db "$WORLD" --json
is "$rc" 2 "an option geo map does not take: usage error"

# the world-wide country DB: countries in their regions
run geo map --db "$WORLD" --out "$TMPD/world.svg"
is "$rc" 0 "world DB: exit 0"
like "$out" "^wrote $TMPD/world.svg: [0-9]+ countries, 5 regions coloured" "--out: a summary on stdout"
ok 'xmllint --noout "$TMPD/world.svg"' "the map is well-formed XML"
is "$(svg "$TMPD/world.svg" 'root.tag')" "{http://www.w3.org/2000/svg}svg" "... an SVG document"
is "$(svg "$TMPD/world.svg" 'fill("DE") == legend("de")')" True "Germany in region de's colour"
is "$(svg "$TMPD/world.svg" 'region("DE")')" "de" "... and named so"
is "$(svg "$TMPD/world.svg" 'fill("FR") == legend("eu") != legend("de")')" True \
    "France in eu's colour (the continent), not de's"
is "$(svg "$TMPD/world.svg" 'fill("US") == legend("na") and fill("CA") == legend("na")')" True \
    "the US and Canada in na's colour"
is "$(svg "$TMPD/world.svg" 'fill("CN") == legend("default") and region("CN")')" default \
    "China, in no region, grey as the default"
is "$(svg "$TMPD/world.svg" 'text("de")')" "de: 1 country" "the legend counts de's countries"
like "$(svg "$TMPD/world.svg" 'title("DE")')" "^DE Germany: de 100\\.0%$" "the tooltip gives the shares"
is "$(svg "$TMPD/world.svg" 'jumps() < 500')" True \
    "no ring jumps across the map (antimeridian: Fiji, Russia, the Aleutians)"
is "$(svg "$TMPD/world.svg" 'title("FJ").split(":")[0]')" "FJ Fiji" "Fiji is drawn"

# stdout without --out: the same map
dnsctl geo map --db "$WORLD" >"$TMPD/stdout.svg" 2>"$TMPD/err2"
ok 'cmp -s "$TMPD/stdout.svg" "$TMPD/world.svg"' "without --out the map goes to stdout, the same"
DNSD_GEO_DB=$WORLD dnsctl geo map >"$TMPD/env.svg" 2>/dev/null
ok 'cmp -s "$TMPD/env.svg" "$TMPD/world.svg"' "\$DNSD_GEO_DB names the DB"

# MaxMind's city test DB: a subdivision region takes 1.2% of the US (hatched),
# a /30 CIDR region 0.6% of GB (only in the tooltip)
run geo map --db "$CITY" --out "$TMPD/city.svg"
is "$rc" 0 "city test DB: exit 0"
ok 'xmllint --noout "$TMPD/city.svg"' "... well-formed"
is "$(svg "$TMPD/city.svg" 'fill("US")')" "url(#mix-3-4)" "the US hatched: na (3) and us-wa (4)"
like "$(svg "$TMPD/city.svg" 'title("US")')" "^US United States of America: na 98\\.[0-9]%, us-wa 1\\.[0-9]%$" \
    "... its tooltip gives both shares"
is "$(svg "$TMPD/city.svg" '[r.get("fill") for p in root.iter(NS + "pattern") if p.get("id") == "mix-3-4" for r in p] == [legend("na"), legend("us-wa")]')" True \
    "... the hatch is na's colour with us-wa's stripes"
is "$(svg "$TMPD/city.svg" 'fill("GB") == legend("eu")')" True \
    "GB in eu's colour: the office /30 (under 1%) does not hatch it"
like "$(svg "$TMPD/city.svg" 'title("GB")')" "eu 99\\.[0-9]%, office 0\\.[0-9]%" "... but its tooltip names it"
is "$(svg "$TMPD/city.svg" 'fill("DE")')" "#ececec" "a country the DB has no address for: light grey"

# --region: only the regions named get colours
run geo map --db "$WORLD" --region de,na --out "$TMPD/some.svg"
is "$(svg "$TMPD/some.svg" '(legends[:2], fill("DE") == legend("de"), fill("FR") == legend("default"))')" \
    "(['de', 'na'], True, True)" "--region de,na: only de and na coloured, France grey"
