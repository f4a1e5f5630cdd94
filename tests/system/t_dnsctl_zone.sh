#!/bin/sh
# t_dnsctl_zone.sh -- dnsctl zone create / list / delete: the SOA and NS a
# new zone gets, the list (table and JSON), deletion, and the refusals
# (zone exists, no --ns, bad values, unknown zone) leaving the store as it was.
. "$top_srcdir/tests/system/lib.sh"
plan 36
PY=${PYTHON:-python3}

# run ARGS...: dnsctl with stdout in $out, stderr in $err, exit status in $rc
run() { dnsctl "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }

run zone create example.com --ns ns1.example.com --ns ns2.example.net
is "$rc" 0 "create: exit 0"
is "$out" "created zone example.com. (serial 1)" "create: says so"
like "$err" "note: name server ns1\.example\.com\. is inside the zone" "create: in-zone NS: a note about glue"
run zone export example.com
is "$out" "; zone example.com. serial 1
example.com.	3600	IN	SOA	ns1.example.com. hostmaster.example.com. 1 86400 7200 3600000 3600
example.com.	3600	IN	NS	ns1.example.com.
example.com.	3600	IN	NS	ns2.example.net." "create: SOA (mname = first NS, documented timers) and NS"

run zone create Other.TEST. --ns=ns.elsewhere.example --email ops.team@other.test --ttl 1h
is "$rc" 0 "create with --email and --ttl: exit 0"
is "$err" "" "create: no note when the NS is outside the zone"
run zone export other.test
is "$(printf '%s\n' "$out" | sed -n 2p)" \
    "other.test.	3600	IN	SOA	ns.elsewhere.example. ops\\.team.other.test. 1 86400 7200 3600000 3600" \
    "create: --email local.part@domain becomes RNAME local\\.part.domain, name lower-cased"
is "$(printf '%s\n' "$out" | sed -n 3p)" "other.test.	3600	IN	NS	ns.elsewhere.example." \
    "create: --ttl 1h gives 3600"

run zone list
is "$rc" 0 "list: exit 0"
is "$out" "ZONE          SERIAL  RRSETS  RECORDS  ECS
example.com.       1       2        3  on
other.test.        1       2        2  on" "list: aligned table in canonical order"

run zone list --json
is "$rc" 0 "list --json: exit 0"
ok 'printf "%s" "$out" | "$PY" -m json.tool >/dev/null' "list --json: valid JSON"
is "$(printf '%s' "$out" | "$PY" -c 'import json,sys; print(";".join("%s %s %s %s" % (z["zone"], z["serial"], z["rrsets"], z["records"]) for z in json.load(sys.stdin)))')" \
    "example.com. 1 2 3;other.test. 1 2 2" "list --json: fields"

# refusals: each leaves the store as it was
before=$(dnsctl zone export example.com; dnsctl zone list)
run zone create example.com --ns ns1.example.com
is "$rc" 1 "create an existing zone: exit 1"
is "$err" "dnsctl: zone example.com. already exists" "create an existing zone: message"
run zone create new.test
is "$rc" 2 "create without --ns: usage error (exit 2)"
like "$err" "needs at least one --ns" "create without --ns: message"
run zone create new.test --ns ns1.new.test --ttl 1h30x
is "$rc" 1 "create --ttl 1h30x: exit 1"
is "$err" 'dnsctl: bad --ttl "1h30x"' "create --ttl 1h30x: message"
run zone create new.test --ns 'bad..name'
is "$rc" 1 "create --ns bad..name: exit 1"
like "$err" 'bad domain name "bad\.\.name"' "create --ns bad..name: message"
run zone create . --ns ns1.example.com
is "$rc" 1 "create the root zone: exit 1"
run zone delete nosuch.test
is "$rc" 1 "delete an unknown zone: exit 1"
is "$err" "dnsctl: no such zone: nosuch.test." "delete an unknown zone: message"
is "$(dnsctl zone export example.com; dnsctl zone list)" "$before" "refusals: store unchanged"

run zone delete EXAMPLE.com
is "$rc" 0 "delete: exit 0"
is "$out" "deleted zone example.com." "delete: says so"
run zone list
is "$out" "ZONE         SERIAL  RRSETS  RECORDS  ECS
other.test.       1       2        2  on" "delete: gone from the list"
run zone export example.com
is "$rc" 1 "delete: export of the deleted zone fails"
run zone delete other.test
is "$rc" 0 "delete the last zone: exit 0"
run zone list --json
is "$out" "[]" "list --json of an empty store: []"

# the store: --store, then $DNSD_STORE
run zone create env.test --ns ns.elsewhere.example
DNSD_STORE=$TMPD/store2 "$DNSCTL" zone create env2.test --ns ns.elsewhere.example >/dev/null 2>&1
is "$(DNSD_STORE=$TMPD/store2 "$DNSCTL" zone list | tail -n 1)" "env2.test.       1       2        2  on" \
    "DNSD_STORE names the store when --store is not given"
is "$(dnsctl zone list | tail -n 1)" "env.test.       1       2        2  on" "--store wins over DNSD_STORE"
"$DNSCTL" --store "$TMPD/nothing-here" zone list >"$TMPD/out" 2>"$TMPD/err"
is "$?" 1 "list on a missing store: exit 1"
like "$(cat "$TMPD/err")" "nothing-here: cannot open store" "list on a missing store: message names it"
ok '[ ! -e "$TMPD/nothing-here" ]' "list on a missing store: nothing created"
