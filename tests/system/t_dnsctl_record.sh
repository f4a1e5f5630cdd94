#!/bin/sh
# t_dnsctl_record.sh -- dnsctl record add / del / list: relative and absolute
# owners, default and inherited TTLs, a TTL change, duplicates, deleting a
# record / an RRset / a name, the SOA serial going up by one per edit (and
# not when the edit sets the SOA itself), and the refusals around the apex.
. "$top_srcdir/tests/system/lib.sh"
plan 47

run() { dnsctl "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }
serial() { dnsctl zone list --json | "${PYTHON:-python3}" -c 'import json,sys; print([z["serial"] for z in json.load(sys.stdin) if z["zone"] == sys.argv[1]][0])' "$1"; }

dnsctl zone create rec.test --ns ns1.rec.test --ns ns2.elsewhere.example >/dev/null 2>&1
is "$(serial rec.test.)" 1 "start: serial 1"

run record add rec.test 'ns1 A 192.0.2.1'
is "$rc" 0 "add relative owner: exit 0"
is "$out" "added ns1.rec.test. 3600 IN A 192.0.2.1 (serial 2)" "add: default TTL 3600, serial 2"
run record add rec.test 'www.rec.test. 300 IN A 192.0.2.80'
is "$out" "added www.rec.test. 300 IN A 192.0.2.80 (serial 3)" "add absolute owner with TTL and class"
run record add rec.test www A 192.0.2.81
is "$out" "added www.rec.test. 300 IN A 192.0.2.81 (serial 4)" "add as separate words, no TTL: joins the RRset with its TTL"
run record add rec.test '@ MX 10 mail'
is "$out" "added rec.test. 3600 IN MX 10 mail.rec.test. (serial 5)" "add at @, relative rdata name"
run record add rec.test 'Mixed.Case TXT "Hello World"'
is "$out" "added mixed.case.rec.test. 3600 IN TXT \"Hello World\" (serial 6)" "owner stored lower-case, rdata case kept"
run record add rec.test 'x TYPE65000 \# 3 abcdef'
is "$rc" 0 "add an RFC 3597 unknown type"
run record add rec.test 'big IN TXT ( "line one"
    "line two" ) ; a comment'
is "$out" "added big.rec.test. 3600 IN TXT \"line one\" \"line two\" (serial 8)" "add multi-line with a comment"
is "$(serial rec.test.)" 8 "serial: +1 per add"

run record add rec.test 'www 300 A 192.0.2.80'
is "$rc" 0 "add a record that is there: exit 0"
is "$err" "dnsctl: note: the record is already there; nothing changed" "add a duplicate: says nothing changed"
is "$(serial rec.test.)" 8 "add a duplicate: serial unchanged"
run record add rec.test 'www 600 A 192.0.2.81'
is "$out" "updated www.rec.test. 600 IN A 192.0.2.81 (serial 9)" "same record, new TTL: updated"
is "$err" "dnsctl: note: the TTL of the www.rec.test. A RRset changes from 300 to 600 (one TTL per RRset)" \
    "new TTL: the note says the whole RRset changes"

run record list rec.test www
is "$out" "NAME           TTL  TYPE  DATA
www.rec.test.  600  A     192.0.2.80
www.rec.test.  600  A     192.0.2.81" "list NAME: the RRset with one TTL"
run record list rec.test
is "$(printf '%s\n' "$out" | head -n 1)" "NAME                   TTL  TYPE       DATA" "list: header aligned"
is "$(printf '%s\n' "$out" | awk 'NR > 1 { print $1 "/" $3 }' | tr '\n' ' ')" \
    "rec.test./NS rec.test./NS rec.test./SOA rec.test./MX big.rec.test./TXT mixed.case.rec.test./TXT ns1.rec.test./A www.rec.test./A www.rec.test./A x.rec.test./TYPE65000 " \
    "list: every record, canonical order"
run record list rec.test nope
is "$rc" 1 "list a name without records: exit 1"
is "$err" "dnsctl: no records at nope.rec.test." "list a name without records: message"

# SOA: adding one replaces the zone's, and sets the serial (no bump)
run record add rec.test '@ 3600 SOA ns1 hostmaster 1000 7200 3600 1209600 300'
is "$out" "added rec.test. 3600 IN SOA ns1.rec.test. hostmaster.rec.test. 1000 7200 3600 1209600 300 (serial 1000)" \
    "add SOA: replaces it"
is "$(dnsctl record list rec.test @ | grep -c SOA)" 1 "add SOA: still one SOA"
is "$(serial rec.test.)" 1000 "add SOA: serial as given, not bumped"

# deletes
run record del rec.test www A 192.0.2.80
is "$out" "deleted www.rec.test. A 192.0.2.80 (serial 1001)" "del one record"
run record del rec.test 'www 600 IN A 192.0.2.81'
is "$out" "deleted www.rec.test. A 192.0.2.81 (serial 1002)" "del one record given as one RR argument"
run record list rec.test www
is "$rc" 1 "del: the last record of the name took the name"
dnsctl record add rec.test 'n A 192.0.2.5' >/dev/null
dnsctl record add rec.test 'n AAAA 2001:db8::5' >/dev/null
dnsctl record add rec.test 'c.n A 192.0.2.6' >/dev/null
run record del rec.test n AAAA
is "$out" "deleted n.rec.test. AAAA (serial 1006)" "del an RRset"
run record del rec.test n.rec.test.
is "$out" "deleted n.rec.test. (serial 1007)" "del a whole name (absolute)"
is "$(dnsctl record list rec.test c.n | tail -n 1)" "c.n.rec.test.  3600  A     192.0.2.6" "del a name: its children stay"
is "$(serial rec.test.)" 1007 "serial: +1 per delete"

# refusals: exit 1, message, store unchanged
before=$(dnsctl zone export rec.test)
run record del rec.test @ SOA
is "$rc" 1 "del the SOA: refused"
like "$err" "refused: the SOA record of rec\\.test\\. cannot be deleted" "del the SOA: message"
run record del rec.test @
is "$rc" 1 "del the whole apex: refused"
like "$err" "would remove its SOA and NS" "del the whole apex: message"
run record del rec.test @ NS ns1
is "$rc" 0 "del one of two NS: fine"
run record del rec.test @ NS ns2.elsewhere.example.
is "$rc" 1 "del the last NS: refused"
is "$err" "dnsctl: refused: zone rec.test. has no NS records at its apex" "del the last NS: message"
dnsctl record add rec.test '@ NS ns1' >/dev/null
before=$(dnsctl zone export rec.test)
run record del rec.test www A 192.0.2.99
is "$rc" 1 "del a record that is not there: exit 1"
is "$err" "dnsctl: no such record: www A 192.0.2.99" "del a record that is not there: message"
run record add rec.test 'c.n CNAME www'
is "$rc" 1 "add a CNAME beside an A: refused"
like "$err" "refused: CNAME and other data at c\\.n\\.rec\\.test\\." "add a CNAME beside an A: message"
run record add rec.test '@ CNAME www'
like "$err" "refused: CNAME at the zone apex" "add a CNAME at the apex: refused"
run record add rec.test 'www.other.test. A 192.0.2.1'
is "$err" "dnsctl: www.other.test. is outside zone rec.test." "add out of zone: message"
run record add rec.test 'sub SOA ns1 hm 1 2 3 4 5'
like "$err" "SOA record at sub\\.rec\\.test\\., which is not the zone apex" "add an SOA below the apex: refused"
is "$(dnsctl zone export rec.test)" "$before" "refusals: store unchanged"

# del reads its words as add reads its record (comments, parentheses), so the
# same words name the same record (found by tests/fuzz/fuzz_record)
dnsctl record add rec.test '(p) TXT ( "one" ; first
    "two" )' >/dev/null
run record del rec.test '(p) TXT ( "one" ; first
    "two" )'
like "$rc/$out" '^0/deleted p\.rec\.test\. TXT "one" "two" ' "del with add's words: the record add stored"
run record del rec.test 'p TXT ( "x"'
is "$rc/$err" "1/dnsctl: record \"p TXT ( \"x\"\": '(' not closed" "del with an open parenthesis: refused"
