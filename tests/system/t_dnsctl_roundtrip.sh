#!/bin/sh
# t_dnsctl_roundtrip.sh -- dnsctl zone export is lossless and deterministic:
# export -> import into a fresh store -> export gives the same bytes, for
# the fixture zones and for owner names and rdata full of characters that
# mean something in a zone file; and what the store holds equals what an
# independent parser (dnspython) reads from the original file.
. "$top_srcdir/tests/system/lib.sh"
need_dnspython
plan 12

# roundtrip ZONE FILE: import FILE into store 1, export; import that into a
# fresh store 2, export again; the two exports must be identical
n=0
roundtrip() {
    n=$((n + 1))
    s1=$TMPD/rt$n.a s2=$TMPD/rt$n.b
    "$DNSCTL" --store "$s1" zone import "$1" "$2" >/dev/null 2>&1
    "$DNSCTL" --store "$s1" zone export "$1" >"$TMPD/rt$n.1" 2>&1
    "$DNSCTL" --store "$s2" zone import "$1" "$TMPD/rt$n.1" >/dev/null 2>&1
    "$DNSCTL" --store "$s2" zone export "$1" >"$TMPD/rt$n.2" 2>&1
    ok '[ -s "$TMPD/rt$n.1" ] && cmp -s "$TMPD/rt$n.1" "$TMPD/rt$n.2"' \
        "$1: export -> import (fresh store) -> export is byte-identical"
    if ! cmp -s "$TMPD/rt$n.1" "$TMPD/rt$n.2"; then diff "$TMPD/rt$n.1" "$TMPD/rt$n.2" | sed 's/^/#   /' | head -20; fi
}

# same_as_dnspython ZONE FILE EXPORT: every (owner, TTL, type, wire rdata) the
# same, owners compared case-insensitively, rdata exactly
same_as_dnspython() {
    "$PYTHON" - "$1" "$2" "$3" <<'PY' >"$TMPD/py.out" 2>&1
import sys, dns.zone
def canon(path, origin):
    z = dns.zone.from_file(path, origin=origin, relativize=False, check_origin=False)
    out = set()
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            for rd in rds:
                out.add((name.to_text().lower(), rds.ttl, rds.rdtype, rd.to_wire()))
    return out
a, b = canon(sys.argv[2], sys.argv[1]), canon(sys.argv[3], sys.argv[1])
for x in sorted(a - b): print("only in the original:", x)
for x in sorted(b - a): print("only in the export:", x)
print("records", len(a), len(b))
sys.exit(0 if a == b and a else 1)
PY
    rc=$?
    ok '[ $rc = 0 ]' "$1: the store holds what dnspython reads from $(basename "$2")"
    [ $rc = 0 ] || sed 's/^/#   /' "$TMPD/py.out" | head -20
}

roundtrip example.test "$DATA/example.test.zone"
same_as_dnspython example.test. "$DATA/example.test.zone" "$TMPD/rt1.1"
roundtrip types.test "$DATA/dnsctl-types.zone"
same_as_dnspython types.test. "$DATA/dnsctl-types.zone" "$TMPD/rt2.1"
roundtrip full.test "$DATA/dnsctl-full.zone"
like "$(cat "$TMPD/rt3.1")" "^h4\\.hosts\\.full\\.test\\." "full.test: the export has the \$INCLUDEd records inline"
unlike "$(cat "$TMPD/rt3.1")" '^\$' "full.test: the export has no directives"

# names and rdata with zone-file syntax in them, added one by one
STORE=$TMPD/odd
dnsctl zone create odd.test --ns ns.elsewhere.example >/dev/null 2>&1
fails=0
for r in '\$dollar A 192.0.2.1' '\@ A 192.0.2.2' 'a\"b A 192.0.2.3' 'sp\ ace A 192.0.2.4' \
    '\000\001 A 192.0.2.5' 'semi\;colon A 192.0.2.6' 'paren\( TXT "x"' 'c CNAME a\"b' \
    'c2 CNAME $weird' 'dn DNAME \000.odd.test.' 't TXT "tab\009 nl\010 \"q\" ; \\ utf8 \195\169"' \
    '*.w MX 10 \*.x' 'u TYPE65000 \# 0'; do
    dnsctl record add odd.test "$r" >/dev/null 2>"$TMPD/err" || { fails=$((fails + 1)); diag "$r: $(cat "$TMPD/err")"; }
done
is "$fails" 0 "odd names: all 13 records added"
dnsctl zone export odd.test >"$TMPD/odd.1"
"$DNSCTL" --store "$TMPD/odd2" zone import odd.test "$TMPD/odd.1" >/dev/null 2>"$TMPD/err"
is "$?" 0 "odd names: the export imports"
"$DNSCTL" --store "$TMPD/odd2" zone export odd.test >"$TMPD/odd.2"
ok 'cmp -s "$TMPD/odd.1" "$TMPD/odd.2"' "odd names: export -> import -> export is byte-identical"
like "$(cat "$TMPD/odd.1")" '^\\036dollar\.odd\.test\.	' "odd names: a leading \$ is escaped (never read as a directive)"
is "$(grep -c . "$TMPD/odd.1")" 16 "odd names: header + SOA + NS + 13 records, one per line"
