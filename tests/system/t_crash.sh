#!/bin/sh
# t_crash.sh -- crash safety: SIGKILL never costs a committed edit, never
# shows half of one, and never leaves a store that does not open.
#
# 8 rounds (fewer only if they take over 90 s). In each: dnsd is SIGKILLed at a
# random moment and restarted (it must start on the store every time)
# while two `dnsctl record add` edits run (distinct names; an edit counts
# as committed only if dnsctl exited 0 and said "added"); then a `dnsctl
# zone import` of a 2000-record version of big.test is SIGKILLed after a
# random delay (up to the time an import takes, so some die
# mid-transaction, some at the commit, some after it); big.test must then
# be one whole version (the old one, or the new one: always the new one if
# dnsctl exited 0). A query loop
# asks dnsd for big.test's version marker all along: every answer must name
# one version. Afterwards, with dnsd killed once more and restarted: every
# committed edit is in `dnsctl record list` and answered by dnsd, no failed
# one is, crash.test's serial counts exactly the committed edits (an edit
# is the record and the serial bump in one transaction), `dnsctl zone list`
# works. The change journal agrees with the data: the zone export after
# every reported edit and every round is kept by serial, and replaying
# `dnsctl zone journal --from S --json` onto the export of each serial S the
# journal still holds gives the zone as exported at the end (big.test keeps
# a small journal, so older serials must say "whole zone" instead, and gets
# one import that is not killed after the rounds, so it has entries); the
# newest entry ends at the SOA serial (journal_replay.py).
# Random delays come from awk's srand($CRASH_SEED); the seed is
# printed, so a failure can be replayed (CRASH_SEED=N make check ...).
. "$top_srcdir/tests/system/lib.sh"
need dig python3
plan 14
SEED=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
diag "seed $SEED"
ROUNDS=8
NREC=2000

# big.test versions: marker TXT "vK" and NREC A records h<i> -> 10.K.x.y
version() {
    awk -v k="$1" -v n="$NREC" 'BEGIN {
        print "@ 3600 SOA ns1 hostmaster " k " 7200 3600 1209600 300"
        print "@ NS ns1"; print "ns1 A 192.0.2.53"; print "marker TXT \"v" k "\""
        for (i = 0; i < n; i++) printf "h%d A 10.%d.%d.%d\n", i, k % 256, int(i / 256), i % 256
    }' >"$TMPD/big$1.zone"
}
# the version big.test holds now, or "mixed:..." / "none": one whole version or not
held() {
    dnsctl zone export big.test >"$TMPD/held" 2>&1
    awk -v n="$NREC" '
        $4 == "TXT" && $1 == "marker.big.test." { m = $5; gsub(/"/, "", m); markers++ }
        $4 == "A" && $1 ~ /^h[0-9]+\.big\.test\.$/ { split($5, a, "."); ks[a[2]]++; count++ }
        END {
            nk = 0; for (k in ks) { nk++; kk = k }
            if (markers == 1 && nk == 1 && count == n && "v" kk == m) print m
            else if (markers + count == 0) print "none"
            else printf "mixed:markers=%d,versions=%d,records=%d\n", markers, nk, count
        }' "$TMPD/held"
}
serial() { dnsctl zone export "$1" | awk '$4 == "SOA" { print $7; exit }'; }
# keep: save ZONE's export now as $TMPD/exp-ZONE/exp.SERIAL, for the journal replay
keep() {
    mkdir -p "$TMPD/exp-$1"
    dnsctl zone export "$1" >"$TMPD/exp-$1/tmp" 2>/dev/null &&
        s=$(head -n 1 "$TMPD/exp-$1/tmp" | awk '{ print $NF }') && [ -n "$s" ] &&
        mv "$TMPD/exp-$1/tmp" "$TMPD/exp-$1/exp.$s"
}
# restart: start dnsd on the store like start_dnsd, but say "no" instead of
# bailing out when it does not come up (sets PORT and DNSD_PID)
restart() {
    rm -f "$TMPD/port"
    ${DNSD_WRAPPER:-} "$DNSD" --store "$STORE" --listen 127.0.0.1:0 --port-file "$TMPD/port" \
        --workers 2 >>"$TMPD/dnsd.log" 2>&1 &
    DNSD_PID=$!
    i=0
    while [ ! -s "$TMPD/port" ]; do
        i=$((i + 1))
        if [ $i -gt 200 ] || ! kill -0 "$DNSD_PID" 2>/dev/null; then
            return 1
        fi
        sleep 0.05
    done
    PORT=$(head -n 1 "$TMPD/port")
}
# delays: ROUNDS pairs "dnsd-kill import-kill" in seconds
awk -v s="$SEED" -v n="$ROUNDS" 'BEGIN { srand(s); for (i = 0; i < n; i++)
    printf "%.3f %.3f\n", rand() * 0.5, rand() * 0.8 }' >"$TMPD/delays"

make_store example.test "$DATA/example.test.zone"
dnsctl zone create crash.test --ns ns1.example.net >/dev/null 2>&1
keep crash.test
version 1
make_store big.test "$TMPD/big1.zone"
keep big.test
# an import of big.test journals about 4000 records: keep 4 or 5 of them
dnsctl zone set big.test --journal-max-changes 20000 >/dev/null
start_dnsd

# the query loop: marker.big.test TXT on whatever port dnsd has now, until
# told to stop (at most 600 queries, at most 40 s)
(
    i=0 end=$(($(date +%s) + 40))
    while [ ! -e "$TMPD/stop" ] && [ $i -lt 600 ] && [ "$(date +%s)" -lt $end ]; do
        i=$((i + 1))
        p=$(head -n 1 "$TMPD/port" 2>/dev/null)
        [ -n "$p" ] || { sleep 0.05; continue; }
        a=$(dig @127.0.0.1 -p "$p" +norec +time=1 +tries=1 +short marker.big.test TXT 2>&1)
        case $a in
        \"v*\") echo "$a" ;;
        *"timed out"* | *"connection refused"* | *"communications error"*) echo noreply ;;
        "") echo "empty answer" ;;
        *) echo "other: $a" ;;
        esac
    done >"$TMPD/answers"
) &
qloop=$!

: >"$TMPD/ok" ; : >"$TMPD/failed"
cur=v1 bad_version= bad_restart= r=0 start=$(date +%s)
while read -r dkill dimport; do
    r=$((r + 1))
    # a count ($ROUNDS delay pairs), not a clock, sets the work; the clock only stops a
    # pathologically slow run (a sanitizer build on a loaded machine is slow)
    [ $(($(date +%s) - start)) -lt 90 ] || { r=$((r - 1)); break; }
    # two edits, while dnsd is SIGKILLed at a random moment and restarted
    (
        for k in 1 2; do
            name=r$r-$k
            if out=$(dnsctl record add crash.test "$name 300 A 10.0.$r.$k" 2>&1) &&
                printf '%s\n' "$out" | grep -q "^added $name\.crash\.test\. "; then
                echo "$name 10.0.$r.$k" >>"$TMPD/ok"
                keep crash.test
            else
                echo "$name" >>"$TMPD/failed"
            fi
        done
    ) &
    edits=$!
    sleep "$dkill"
    kill -9 "$DNSD_PID" 2>/dev/null
    wait "$DNSD_PID" 2>/dev/null
    # the store must open: dnsd starts again
    restart || { bad_restart="$bad_restart $r"; sed 's/^/# /' "$TMPD/dnsd.log" | tail -5; break; }
    wait $edits
    # an import of version r+1, SIGKILLed after a random delay
    k=$((r + 1))
    version $k
    # the binary itself, not the dnsctl() shell function: $! must be dnsctl's pid
    "$DNSCTL" --store "$STORE" zone import big.test "$TMPD/big$k.zone" >/dev/null 2>&1 &
    imp=$!
    sleep "$dimport"
    kill -9 $imp 2>/dev/null
    wait $imp 2>/dev/null
    irc=$?
    now=$(held)
    # keep that export for the journal replay (no second export: rounds stay short)
    mkdir -p "$TMPD/exp-big.test"
    s=$(head -n 1 "$TMPD/held" | awk '$2 == "zone" { print $NF }')
    [ -z "$s" ] || cp "$TMPD/held" "$TMPD/exp-big.test/exp.$s"
    case $now in
    "$cur" | "v$k") ;;
    *) bad_version="$bad_version round $r: held $now (was $cur, importing v$k, exit $irc);" ;;
    esac
    [ $irc -ne 0 ] || [ "$now" = "v$k" ] || bad_version="$bad_version round $r: import exited 0 but $now is held;"
    diag "round $r: dnsd killed at ${dkill}s, import of v$k killed at ${dimport}s (exit $irc): $now"
    cur=$now
done <"$TMPD/delays"
diag "$r rounds in $(($(date +%s) - start)) s"
# one import that runs to the end (most killed ones die before their commit),
# so big.test's journal holds at least one replacement to replay
k=$((r + 2))
version $k
dnsctl zone import big.test "$TMPD/big$k.zone" >/dev/null 2>&1 && cur=v$k
keep big.test
: >"$TMPD/stop"
wait $qloop

# a last crash, then a fresh start
kill -9 "$DNSD_PID" 2>/dev/null
wait "$DNSD_PID" 2>/dev/null
restart || bad_restart="$bad_restart last"
ok '[ $r -ge 5 ]' "at least 5 rounds of kills ($r)"
is "$bad_restart" "" "dnsd started on the store after every SIGKILL"
is "$bad_version" "" "after every killed import big.test is one whole version (the new one when dnsctl exited 0)"
ok 'dnsctl zone list >"$TMPD/zones" 2>&1 && grep -q "^big\.test\. " "$TMPD/zones" &&
    grep -q "^crash\.test\. " "$TMPD/zones"' "dnsctl zone list works after the crashes"
nok=$(grep -c . "$TMPD/ok")
ok '[ "$nok" -gt 0 ]' "some edits committed ($nok of $((r * 2)))"
want=$(awk '{ print $1 ".crash.test. " $2 }' "$TMPD/ok" | sort)
got=$(dnsctl record list crash.test 2>&1 | awk '$3 == "A" && $1 ~ /^r[0-9]+-[12]\./ { print $1 " " $4 }' | sort)
is "$got" "$want" "dnsctl record list: exactly the committed edits (and none that failed)"
is "$(serial crash.test)" $((1 + nok)) "crash.test's serial: one bump per committed edit, no more, no less"
names=$(awk '{ printf "%s.crash.test. A ", $1 }' "$TMPD/ok")
got=$(q +noall +answer $names 2>&1 | awk '$4 == "A" { print $1 " " $5 }' | sort)
is "$got" "$want" "the restarted dnsd answers every committed edit"
final=$(held)
is "$final" "$cur" "big.test: the version held after the last round"
is "$(q +short marker.big.test TXT)" "\"$final\"" "dnsd answers that version's marker"
nans=$(grep -c '^"v' "$TMPD/answers")
ok '[ "$nans" -gt 0 ]' "the query loop got answers during the crashes ($nans, $(grep -c noreply "$TMPD/answers") without a reply)"
is "$(grep -v -e '^"v[0-9]*"$' -e '^noreply$' "$TMPD/answers" | sort | uniq -c)" "" \
    "every answer during the crashes named one whole version (none empty, none refused)"
# the journal replays onto every kept serial's export to give the zone now
for z in crash.test big.test; do
    out=$(python3 "$top_srcdir/tests/system/journal_replay.py" "$DNSCTL" "$STORE" "$z" \
        "$TMPD/exp-$z" 2>&1)
    like "$out" "^ok: $z" "$z: the journal from every kept serial replays to the zone now, and ends at its serial"
    diag "$out"
done
