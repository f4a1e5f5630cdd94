#!/bin/sh
# t_journal.sh -- `dnsctl zone journal`: every write path (record add/del,
# a TTL change, zone import replacing the zone, a region's records, a
# region delete, a shard's pool records) leaves one entry per command, in
# IXFR order, with regions, in text and JSON; replaying it from every
# serial onto that serial's export gives the zone now (journal_replay.py);
# a refused edit leaves no entry; --from a serial no longer kept fails with
# "whole zone"; per-zone and store-wide limits drop the oldest entries;
# zone delete removes the journal.
. "$top_srcdir/tests/system/lib.sh"
need python3
plan 27

EXP=$TMPD/exp
mkdir -p "$EXP"
keep() { dnsctl zone export j.test >"$EXP/tmp" && mv "$EXP/tmp" "$EXP/exp.$(serial)"; }
serial() { dnsctl zone export j.test | awk '$4 == "SOA" { print $7; exit }'; }
jjson() { dnsctl zone journal j.test --json "$@"; }
# py EXPR: evaluate EXPR with j = the journal's JSON (on stdin)
py() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }

dnsctl zone create j.test --ns ns1.example.net >/dev/null
keep
is "$(jjson | py 'len(j["entries"])')" 0 "a new zone has no entries"
dnsctl record add j.test 'www 300 A 192.0.2.1' >/dev/null
keep
dnsctl record add j.test 'www 300 A 192.0.2.2' >/dev/null
keep
dnsctl record del j.test www A 192.0.2.1 >/dev/null
keep
out=$(dnsctl zone journal j.test)
like "$out" '^; zone j\.test\. serial 4;' "text: header with the serial"
like "$out" '^serial 3 -> 4 at [0-9-]+T[0-9:]+Z: 1 removed, 0 added$' "text: one entry per edit, time of commit"
like "$out" "$(printf '^-\twww\\.j\\.test\\.\t300\tIN\tA\t192\\.0\\.2\\.1$')" "text: the removed record"
is "$(printf '%s\n' "$out" | grep -c '^serial ')" 3 "text: three edits, three entries"
# IXFR order: old SOA, removed, new SOA, added
is "$(jjson --from 3 | py '[(r["type"], r["owner"]) for r in j["entries"][0]["removed"]]')" \
    "[('SOA', 'j.test.'), ('A', 'www.j.test.')]" "json: removed = old SOA first, then the record"
is "$(jjson --from 3 | py 'j["entries"][0]["removed"][0]["rdata"].split()[2] + " " + j["entries"][0]["added"][0]["rdata"].split()[2]')" \
    "3 4" "json: the old SOA has serial 3, the new one 4"

# one TTL per RRset: the change is a removal and an addition
dnsctl record add j.test 'www 900 A 192.0.2.3' >/dev/null 2>&1
keep
is "$(jjson --from 4 | py '[(r["ttl"], r["rdata"]) for r in j["entries"][0]["removed"][1:]] + [(r["ttl"], r["rdata"]) for r in j["entries"][0]["added"][1:]]')" \
    "[(300, '192.0.2.2'), (900, '192.0.2.2'), (900, '192.0.2.3')]" "ttl change: old TTL removed, new TTL added"

# regions
dnsctl region add eu --continent EU >/dev/null
dnsctl record add j.test 'www 60 A 198.51.100.1' --region eu >/dev/null
keep
like "$(dnsctl zone journal j.test --from 5)" "$(printf '^\\+\twww\\.j\\.test\\.\t60\tIN\tA\t198\\.51\\.100\\.1\t; region eu$')" \
    "text: a regional record says its region"
is "$(jjson --from 5 | py 'j["entries"][0]["added"][1]["region"]')" eu "json: region eu"

# a refused edit writes nothing
before=$(jjson | py 'len(j["entries"])')
ok '! dnsctl record add j.test "www CNAME other.example." 2>/dev/null' "a CNAME beside the A is refused"
is "$(jjson | py 'len(j["entries"])')" "$before" "the refused edit left no entry"

# an import replacing the zone: journalled as the difference
cat >"$TMPD/j.zone" <<'EOF'
@ 3600 SOA ns1.example.net. hostmaster 100 7200 3600 1209600 300
@ NS ns1.example.net.
www 900 A 192.0.2.3
mail 300 A 192.0.2.25
EOF
dnsctl zone import j.test "$TMPD/j.zone" >/dev/null
keep
is "$(serial)" 100 "import: the file's newer serial is kept"
is "$(jjson --from 6 | py '(j["entries"][0]["from"], j["entries"][0]["to"], [r["owner"] + " " + r["rdata"] for r in j["entries"][0]["added"][1:]], [r["owner"] + " " + r["rdata"] for r in j["entries"][0]["removed"][1:]])')" \
    "(6, 100, ['mail.j.test. 192.0.2.25'], ['www.j.test. 192.0.2.2'])" \
    "import: only what changed (www 192.0.2.2 went, mail came; the eu region stays)"
# an import whose serial is not newer: stored serial + 1, still one entry
dnsctl zone import j.test "$TMPD/j.zone" >/dev/null 2>&1
keep
is "$(jjson | py '(j["entries"][-1]["from"], j["entries"][-1]["to"], len(j["entries"][-1]["added"]))')" \
    "(100, 101, 1)" "re-import: 100 -> 101, nothing but the SOA"

# a shard's pool records (dnsctl shard add writes them in its transaction)
dnsctl shard add j.test --region eu --names www.j.test --lb 127.0.0.7 >/dev/null 2>&1
keep
is "$(jjson | py 'sorted((r["type"], r["rdata"], r["region"]) for r in j["entries"][-1]["added"][1:] if r["type"] == "A")')" \
    "[('A', '127.0.0.7', 'eu')]" "shard add: the region's pool A record is journalled"
# a region delete clears the region's records through the writer
dnsctl shard del j.test --region eu >/dev/null 2>&1
dnsctl record add j.test 'www 60 A 198.51.100.1' --region eu >/dev/null 2>&1
keep
s0=$(serial)
dnsctl region del eu >/dev/null
keep
is "$(jjson | py '(j["entries"][-1]["from"], [(r["rdata"], r["region"]) for r in j["entries"][-1]["removed"][1:]])')" \
    "($s0, [('198.51.100.1', 'eu')])" "region del: its records removed in one entry"

# replay from every serial saved above
out=$(python3 "$top_srcdir/tests/system/journal_replay.py" "$DNSCTL" "$STORE" j.test "$EXP" 2>&1)
like "$out" '^ok: j\.test' "replay from every serial gives the zone now; the newest entry ends at its serial"
diag "$out"

# --from: a serial never or no longer kept
out=$(dnsctl zone journal j.test --from 77 2>&1)
ok '[ $? -ne 0 ]' "--from an unknown serial fails"
like "$out" 'does not hold the changes from serial 77 .* transfer the whole zone' "and says to take the whole zone"
like "$(dnsctl zone journal j.test --from x 2>&1)" '--from "x": give a SOA serial' "--from must be a serial"

# retention: per zone, then the store default
dnsctl zone set j.test --journal-max-changes 6 >/dev/null
is "$(jjson | py 'len(j["entries"])')" 2 "zone set --journal-max-changes 6: the newest entries within 6 records kept"
out=$(python3 "$top_srcdir/tests/system/journal_replay.py" "$DNSCTL" "$STORE" j.test "$EXP" 2>&1)
like "$out" '^ok: j\.test: 2 entries, 2 saved serials replayed to [0-9]+, 9 no longer kept' \
    "after trimming: kept serials replay, dropped ones fall back to the whole zone"
like "$(dnsctl zone set j.test --journal-max-bytes 12x 2>&1)" '--journal-max-bytes "12x": give a number of bytes or "default"' \
    "a limit must be a number (or default)"
dnsctl zone set j.test --journal-max-changes default >/dev/null
dnsctl zone defaults --journal-max-changes 3 >/dev/null
is "$(dnsctl zone defaults --json | py 'j["journal_max_changes"]')" 3 "zone defaults: the store-wide limit is set"
is "$(jjson | py 'len(j["entries"])')" 1 "the store default applies to a zone without its own limit"

# zone delete drops the journal; a new zone of that name starts empty
dnsctl zone delete j.test >/dev/null
dnsctl zone create j.test --ns ns1.example.net >/dev/null
is "$(jjson | py 'len(j["entries"])')" 0 "zone delete removed the journal"
