#!/bin/sh
# t_rollout_sim.sh -- `dnsctl rollout simulate` (issue #15): the adaptive
# rollout controller (acme/rollout_stats.c) against fixed schedules on a
# seeded client population. The same seed gives the same bytes, another
# seed other numbers; a bad chain is rolled back by the controller itself
# in every region, at its first or second step (a region whose 5 % share
# holds little of the failing clients' traffic is within the fail margin
# there), exposing fewer clients than
# all-at-once and fixed steps; a good certificate is promoted everywhere,
# sooner than fixed steps; a policy given as KEY=VALUE is the one used;
# bad options are refused with a message naming them and exit status 2.
. "$top_srcdir/tests/system/lib.sh"
need python3
plan 26

SIM="--clients 20000 --hours 4 --rate 200"
run() { "$DNSCTL" rollout simulate "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; err=$(cat "$TMPD/err"); }

# determinism: the same seed, the same bytes (CSV and JSON); another seed differs
run $SIM --seed 7 --scenario bad-chain,good --csv
is "$rc" 0 "csv run exits 0"
cp "$TMPD/out" "$TMPD/a.csv"
run $SIM --seed 7 --scenario bad-chain,good --csv
ok 'cmp -s "$TMPD/a.csv" "$TMPD/out"' "the same seed: the same CSV, byte for byte"
run $SIM --seed 8 --scenario bad-chain,good --csv
ok '! cmp -s "$TMPD/a.csv" "$TMPD/out"' "another seed: other numbers"
is "$(head -n 1 "$TMPD/a.csv")" \
    "scenario,schedule,handshakes,active_clients,exposed_clients,exposed_hs,harmed_clients,failed_hs,full_h,max_percent,promoted,full,rolled_back,held" \
    "CSV header"
is "$(wc -l <"$TMPD/a.csv" | tr -d ' ')" 11 "2 scenarios x 5 schedules, and the header"

run $SIM --seed 7 --scenario bad-chain,good --json
is "$rc" 0 "json run exits 0"
cp "$TMPD/out" "$TMPD/a.json"
run $SIM --seed 7 --scenario bad-chain,good --json
ok 'cmp -s "$TMPD/a.json" "$TMPD/out"' "the same seed: the same JSON, byte for byte"

# the figures, read from the JSON
python3 - "$TMPD/a.json" >"$TMPD/facts" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
R = {(r["scenario"], r["schedule"]): r for r in j["results"]}
bad = lambda s: R[("bad-chain", s)]
a = bad("adaptive")
print("bad_outcomes", ",".join(g["outcome"] for g in a["regions"]))
print("bad_max", a["max_permyriad"])
print("bad_first_rollback_to", min(d["to"] for d in a["decisions"] if d["action"] == "rollback"))
print("bad_exposed_lt_all", int(a["exposed_clients"] < bad("all-at-once")["exposed_clients"]))
print("bad_exposed_lt_1h", int(a["exposed_clients"] < min(bad(s)["exposed_clients"] for s in ("fixed-10m", "fixed-1h"))))
print("bad_harmed_lt_all", int(a["harmed_clients"] < bad("all-at-once")["harmed_clients"]))
print("bad_harmed_lt_1h", int(a["harmed_clients"] < bad("fixed-1h")["harmed_clients"]))
print("bad_fixed_by_operator", ",".join(sorted({g["outcome"] for s in ("all-at-once", "fixed-1h") for g in bad(s)["regions"]})))
print("bad_why", [d["why"] for d in a["decisions"] if d["action"] == "rollback"][0])
g = R[("good", "adaptive")]
print("good_outcomes", ",".join(x["outcome"] for x in g["regions"]))
print("good_sooner_than_1h", int(g["full_s"] is not None and g["full_s"] < R[("good", "fixed-1h")]["full_s"]))
print("good_all_at_once_full", R[("good", "all-at-once")]["full_s"])
print("policy_alpha", j["policy"]["alpha"])
PY
fact() { sed -n "s/^$1 //p" "$TMPD/facts"; }
is "$(fact bad_outcomes)" "rolled-back,rolled-back,rolled-back" "bad chain: the controller rolls back every region itself"
ok '[ "$(fact bad_max)" -le 1000 ]' "bad chain: p never beyond the second step (10 %): $(fact bad_max)"
is "$(fact bad_exposed_lt_all)" 1 "bad chain: fewer clients exposed than all-at-once"
is "$(fact bad_exposed_lt_1h)" 1 "bad chain: fewer clients exposed than fixed 10 min and 1 h steps"
is "$(fact bad_harmed_lt_all)$(fact bad_harmed_lt_1h)" 11 "bad chain: fewer clients failed than all-at-once and fixed 1 h"
is "$(fact bad_fixed_by_operator)" "rolled-back-by-operator" "fixed schedules: rolled back only by the operator model"
like "$(fact bad_why)" "^rollback at 5.00%: canary fails more: .*z=.*p=" "the rollback's why has the test's figures"
is "$(fact good_outcomes)" "promoted,promoted,promoted" "good certificate: promoted in every region"
is "$(fact good_sooner_than_1h)" 1 "good certificate: full sooner than fixed 1 h steps (3 h)"
is "$(fact good_all_at_once_full)" 0.0 "all-at-once: full at once"

# the policy: KEY=VALUE as `rollout policy` takes it
run $SIM --seed 7 --scenario good --schedule adaptive --json steps=20,100 alpha=0.005
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); r=j["results"][0]
print(j["policy"]["steps"], j["policy"]["alpha"], r["decisions"][0]["from"], r["decisions"][0]["to"])' "$TMPD/out" >"$TMPD/p"
is "$(cat "$TMPD/p")" "[2000, 10000] 0.005 2000 10000" "steps=20,100: the first step 20 %, then 100 %"

# the trace: p over time, per region
run --clients 2000 --hours 1 --rate 50 --seed 1 --scenario good --schedule fixed-1h --trace "$TMPD/trace.csv"
is "$(sed -n 2p "$TMPD/trace.csv")" "good,fixed-1h,0.0000,eu,5.00" "trace: scenario, schedule, hours, region, percent"

# bad command lines: exit 2 and a message naming what was wrong
run --scenario nope
like "$rc:$err" '^2:dnsctl: --scenario: unknown name "nope" \(all, good, bad-chain' "unknown scenario"
run --seed -1
like "$rc:$err" '^2:dnsctl: --seed: "-1" is not a whole number' "bad seed"
run --clients 5
like "$rc:$err" '^2:dnsctl: --clients: "5" is not a whole number from 100 to 1000000' "too few clients"
run window=0
like "$rc:$err" '^2:dnsctl: rollout simulate: policy window: "0" is not a duration' "bad policy value, named"
run speed=3
like "$rc:$err" '^2:dnsctl: rollout simulate: policy unknown policy key "speed"' "unknown policy key"
run --csv --json
like "$rc:$err" '^2:dnsctl: rollout simulate: --csv and --json exclude each other' "--csv with --json"
run --hours
like "$rc:$err" '^2:dnsctl: rollout simulate: option --hours needs a value' "a missing value"
