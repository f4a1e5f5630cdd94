#!/bin/sh
# t_dnsctl_json.sh -- --json output is valid JSON (checked with python3's
# json module) and carries the exact values, including strings with quotes,
# backslashes, tabs and escaped bytes; empty results are [].
. "$top_srcdir/tests/system/lib.sh"
PY=${PYTHON:-python3}
need "$PY"
plan 14

valid() { printf '%s' "$1" | "$PY" -m json.tool >/dev/null 2>&1; }

out=$(dnsctl zone list --json 2>&1)
ok '[ "$?" = 1 ]' "zone list --json on a missing store: fails"
dnsctl zone create j.test --ns ns.elsewhere.example >/dev/null 2>&1
dnsctl zone create a.test --ns ns.elsewhere.example >/dev/null 2>&1
out=$(dnsctl zone list --json)
ok 'valid "$out"' "zone list --json: valid JSON"
is "$(printf '%s' "$out" | "$PY" -c 'import json,sys; d = json.load(sys.stdin); print(type(d).__name__, [(z["zone"], z["serial"], z["rrsets"], z["records"]) for z in d])')" \
    "list [('a.test.', 1, 2, 2), ('j.test.', 1, 2, 2)]" "zone list --json: an array of objects with typed fields"

dnsctl record add j.test 't TXT "say \"hi\"" "back\\slash" "tab\009x" "\001\255"' >/dev/null
dnsctl record add j.test 'sp\ ace 60 A 192.0.2.1' >/dev/null
dnsctl record add j.test 'u TYPE65000 \# 2 0a0b' >/dev/null
out=$(dnsctl record list j.test --json)
ok 'valid "$out"' "record list --json: valid JSON"
is "$(printf '%s' "$out" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" 5 \
    "record list --json: 5 records (SOA, NS, TXT, A, TYPE65000)"
pyget() { printf '%s' "$out" | "$PY" -c "import json,sys; d = json.load(sys.stdin); r = [r for r in d if r['type'] == sys.argv[1]][0]; print(repr(r[sys.argv[2]]))" "$1" "$2"; }
is "$(pyget TXT rdata)" "'\"say \\\\\"hi\\\\\"\" \"back\\\\\\\\slash\" \"tab\\tx\" \"\\\\001\\\\255\"'" \
    "TXT rdata: quotes, backslashes, a tab and escaped bytes survive JSON exactly"
is "$(pyget A name)" "'sp\\\\032ace.j.test.'" "owner with a space: presentation-escaped name"
is "$(pyget A ttl)" "60" "ttl is a number"
is "$(pyget A region)" "'default'" "region is the region's name"
is "$(pyget A class)" "'IN'" "class is IN"
is "$(pyget TYPE65000 rdata)" "'\\\\# 2 0a0b'" "unknown type: RFC 3597 rdata text"

out=$(dnsctl record list j.test t --json)
is "$(printf '%s' "$out" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1 "record list NAME --json: one record"
dnsctl zone delete j.test >/dev/null
dnsctl zone delete a.test >/dev/null
out=$(dnsctl zone list --json)
is "$out" "[]" "zone list --json, no zones: []"
dnsctl zone import x.test /nonexistent --json >/dev/null 2>&1
is "$?" 2 "--json on a command without JSON output: usage error"
