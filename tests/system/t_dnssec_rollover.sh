#!/bin/sh
# t_dnssec_rollover.sh -- key rollovers run end to end by dnsd itself while a
# validating Unbound is asked throughout: every answer, in every region, at
# every step, comes back NOERROR (or NXDOMAIN) with AD.
#
# Three signed zones on one dnsd: the parent test. (a CSK, never rolled; its
# DS is Unbound's trust anchor) and two children it delegates with DS
# records, so Unbound follows the real chain test. -> child and caches the
# DS RRset with the parent's TTL, as it would on the Internet:
#   zsk.test.  split keys; the ZSK is rolled by pre-publication, started by
#              its lifetime (zsk-lifetime) running out;
#   csk.test.  one CSK, rolled by double-DS, started by `dnsctl dnssec
#              rollover`. The test plays the parent: it reads the child's
#              CDS from dnsd and makes the parent's DS RRset follow it (the
#              new DS added in one edit, the old one removed in another, as
#              RFC 7344 parents do), and plays the operator: `dnsctl dnssec
#              ds-seen` once the parent serves the new DS.
#
# Unbound re-fetches keys when an answer does not validate, so it can hide a
# key removed too early; tests/system/cache_model.py, asked beside it, does
# not: it polls dnsd and checks every combination of DS, DNSKEY and data
# RRsets a cache could hold at once (each within its TTL) against each other.
#
# Clock: shortened timings on the real clock, not faketime or a clock offset:
# dnsd signs with the wall clock and Unbound checks signatures against its
# own, so both must agree; the policy is in seconds (propagation 1 s, parent
# DS TTL 2 s, parent propagation 1 s), the zones' TTLs are 2-3 s and
# dnssec-check-interval-ms is 200, so each rollover takes seconds. No
# assertion is about how long anything took; every wait is bounded.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_dnssec.sh"
dnssec_need
need_dnspython
plan 33

cat >"$TMPD/test.zone" <<'EOF'
$ORIGIN test.
$TTL 3
@       3 IN SOA ns.test. hostmaster.test. 1 60 30 600 2
@         IN NS  ns.test.
ns        IN A   127.0.0.1
zsk       IN NS  ns.zsk.test.
ns.zsk    IN A   127.0.0.1
csk       IN NS  ns.csk.test.
ns.csk    IN A   127.0.0.1
EOF
for c in zsk csk; do
    cat >"$TMPD/$c.zone" <<EOF
\$ORIGIN $c.test.
\$TTL 2
@       3 IN SOA ns.$c.test. hostmaster.$c.test. 1 60 30 600 2
@       3 IN NS  ns.$c.test.
ns        IN A   127.0.0.1
www       IN A   192.0.2.1
EOF
done
make_store test "$TMPD/test.zone"
make_store zsk.test "$TMPD/zsk.zone"
make_store csk.test "$TMPD/csk.zone"
dnsctl region add eu --continent EU >/dev/null &&
    dnsctl record add zsk.test --region eu 'www 2 IN A 192.0.2.2' >/dev/null &&
    dnsctl record add csk.test --region eu 'www 2 IN A 192.0.2.3' >/dev/null ||
    { echo "Bail out! cannot add the regional records"; exit 1; }

# the policies: set before dnssec enable, which keeps them
out=$(dnsctl dnssec policy zsk.test zsk-lifetime=6 ksk-lifetime=never propagation=1 \
    parent-ds-ttl=2 parent-propagation=1 2>&1)
like "$out" 'zsk-lifetime +6 s' "dnssec policy sets a ZSK lifetime in seconds"
# ... but no rollover until the validating clients run: the set-up below can
# take longer than a whole rollover on a loaded machine, and a second one
# would then be under way when the first is checked. The 6 s come back
# once the clients run (the ZSK, active since enable, is then due at once).
dnsctl dnssec policy zsk.test zsk-lifetime=never >/dev/null ||
    { echo "Bail out! policy zsk.test"; exit 1; }
dnsctl dnssec policy csk.test ksk-lifetime=never propagation=1 parent-ds-ttl=2 \
    parent-propagation=1 >/dev/null || { echo "Bail out! policy csk.test"; exit 1; }
out=$(dnsctl dnssec policy csk.test propagation=1x 2>&1)
rc=$?
ok '[ $rc -ne 0 ]' "a malformed duration is refused"
like "$out" 'propagation: "1x" is not a duration' "... saying which setting and why"
out=$(dnsctl dnssec policy csk.test sig-refresh=20d 2>&1)
like "$out" 'sig-refresh .* must be less than sig-validity' \
    "a refresh longer than the validity is refused, saying why"

dnsctl dnssec enable test >/dev/null &&
    dnsctl dnssec enable zsk.test --ksk-zsk >/dev/null &&
    dnsctl dnssec enable csk.test --csk >/dev/null ||
    { echo "Bail out! dnssec enable"; exit 1; }

# the parent's DS RRset for CHILD, as dig +short prints DS/CDS rdata (sorted)
parent_ds() { dnsctl record list test "$1.test." 2>/dev/null | awk '$4 == "DS" || $3 == "DS" {
    for (i = 1; i <= NF; i++) if ($i == "DS") { s = $(i+1) " " $(i+2) " " $(i+3); d = "";
        for (j = i + 4; j <= NF; j++) d = d $j; print s " " toupper(d) } }' | sort; }
# the child's CDS RRset as dnsd serves it
child_cds() { q +short +nosplit "$1.test." CDS | awk '{ d = ""; for (j = 4; j <= NF; j++) d = d $j;
    print $1 " " $2 " " $3 " " toupper(d) }' | sort; }
# parent_sync CHILD: one step of a parent following the child's CDS (RFC 7344):
# add a DS the CDS has, else remove one the CDS lacks; one edit per call
parent_sync() {
    _cds=$(child_cds "$1")
    [ -n "$_cds" ] || return 0
    _ds=$(parent_ds "$1")
    _add=$(printf '%s\n' "$_cds" | while read -r _l; do
        printf '%s\n' "$_ds" | grep -qxF "$_l" || printf '%s\n' "$_l"; done | head -n 1)
    if [ -n "$_add" ]; then
        dnsctl record add test "$1 2 IN DS $_add" >/dev/null && diag "parent: DS $_add added for $1"
        return 0
    fi
    _del=$(printf '%s\n' "$_ds" | while read -r _l; do
        printf '%s\n' "$_cds" | grep -qxF "$_l" || printf '%s\n' "$_l"; done | head -n 1)
    if [ -n "$_del" ]; then
        # shellcheck disable=SC2086
        dnsctl record del test "$1.test." DS $_del >/dev/null && diag "parent: DS $_del removed for $1"
    fi
}

start_dnsd_geo --dnssec-check-interval-ms 200
for c in zsk csk; do
    parent_sync "$c"
    is "$(parent_ds "$c")" "$(child_cds "$c")" "the parent holds $c.test's DS (from its CDS)"
done
# the cache model, from before the first rollover to after the last
"$PYTHON" "$top_srcdir/tests/system/cache_model.py" --port "$PORT" --stop "$TMPD/stop" \
    --zone zsk.test --zone csk.test --name zsk.test:www.zsk.test:A \
    --name zsk.test:www.zsk.test:A:81.2.69.142 --name zsk.test:nope.zsk.test:A/NSEC \
    --name csk.test:www.csk.test:A --name csk.test:www.csk.test:A:81.2.69.142 \
    --name csk.test:csk.test:SOA --name csk.test:nope.csk.test:A/NSEC >"$TMPD/cache_model.out" 2>&1 &
MODEL=$!
DNSSEC_ZONE=test
dnssec_anchor
start_unbound test zsk.test csk.test

# ---- the validating clients, asked in a loop from start to end ----
# check ONE: "ok" or what was wrong, for one question through Unbound
check_one() { # CLIENT NAME TYPE WANT-STATUS
    _o=$(uq "$1" "$2" "$3" 2>&1)
    _st=$(dig_status "$_o")
    case " $(dig_flags "$_o") " in *" ad "*) _ad=ad ;; *) _ad=noad ;; esac
    if [ "$_st" = "$4" ] && [ "$_ad" = ad ]; then echo ok; else echo "BAD $1 $2 $3: $_st $_ad"; fi
}
questions='default www.zsk.test A NOERROR
eu www.zsk.test A NOERROR
default www.csk.test A NOERROR
eu www.csk.test A NOERROR
default nope.csk.test A NXDOMAIN
eu nope.zsk.test A NXDOMAIN
default www.csk.test TXT NOERROR
default zsk.test DNSKEY NOERROR
default csk.test DNSKEY NOERROR'
# compact denial: a missing name is NOERROR with an NSEC (RFC 9824); Unbound
# gives the client NXDOMAIN or NOERROR: accept what the first round sees
prober() {
    _i=0
    while [ $_i -lt 2000 ] && [ ! -f "$TMPD/stop" ]; do
        printf '%s\n' "$questions" | while read -r _c _n _t _s; do
            [ "$_s" = NXDOMAIN ] && _s=$(cat "$TMPD/nx.status")
            echo "$(date +%s) $(check_one "$_c" "$_n" "$_t" "$_s")"
        done >>"$TMPD/probe.log"
        _i=$((_i + 1))
        sleep 0.2
    done
}
nx=$(dig_status "$(uq default nope.csk.test A)")
printf '%s\n' "$nx" >"$TMPD/nx.status"
ok '[ "$nx" = NXDOMAIN ] || [ "$nx" = NOERROR ]' "a missing name is answered ($nx)"
first=$(printf '%s\n' "$questions" | while read -r c n t s; do
    [ "$s" = NXDOMAIN ] && s=$nx
    check_one "$c" "$n" "$t" "$s"; done | sort -u)
is "$first" "ok" "before any rollover every answer validates (AD) in every region"
prober &
PROBER=$!
stop_prober() {
    touch "$TMPD/stop"
    [ -z "$PROBER" ] || wait "$PROBER" 2>/dev/null
    [ -z "$MODEL" ] || wait "$MODEL" 2>/dev/null
    PROBER= MODEL=
}
at_exit stop_prober

# wait_log PATTERN WHAT: until dnsd logged PATTERN (at most 60 s)
wait_log() {
    _i=0
    while ! grep -Eq -- "$1" "$TMPD/dnsd.log"; do
        _i=$((_i + 1))
        if [ $_i -gt 600 ]; then
            _ok 1 "$2"; sed 's/^/#   dnsd: /' "$TMPD/dnsd.log" | grep dnssec | tail -15; return 1
        fi
        sleep 0.1
    done
    _ok 0 "$2"
}
dnskey_count() { q +short "$1" DNSKEY | while read -r f p a k; do
    printf '%s %s %s %s\n' "$f" "$p" "$a" "$k"; done | wc -l; }

# ---- ZSK rollover (pre-publication), started by the lifetime ----
dnsctl dnssec policy zsk.test zsk-lifetime=6 >/dev/null ||
    { echo "Bail out! policy zsk.test zsk-lifetime=6"; exit 1; }
wait_log 'zone zsk\.test\.: ZSK rollover \(lifetime over\): new ZSK [0-9]+' \
    "ZSK: dnsd starts the rollover when the lifetime runs out"
dnsctl dnssec policy zsk.test zsk-lifetime=never >/dev/null
zline=$(grep -E 'zone zsk\.test\.: ZSK rollover \(lifetime over\)' "$TMPD/dnsd.log" | head -n 1)
znew=$(printf '%s\n' "$zline" | sed -n 's/.*new ZSK \([0-9]*\) .*/\1/p')
zold=$(printf '%s\n' "$zline" | sed -n 's/.*published beside \([0-9]*\);.*/\1/p')
is "$(dnskey_count zsk.test)" 3 "ZSK 1: DNSKEY holds the KSK, the old and the new ZSK"
wait_log "zone zsk\\.test\\.: ZSK rollover: ZSK $znew \\(key [0-9]+\\) active, $zold" \
    "ZSK 2: the new ZSK signs once published for propagation + DNSKEY TTL"
wait_log "zone zsk\\.test\\.: ZSK rollover: no signature of $zold is left" \
    "ZSK 3: the re-sign batches replace every old signature"
wait_log "zone zsk\\.test\\.: ZSK rollover done: $zold \\(key [0-9]+\\) removed from DNSKEY" \
    "ZSK 4: the old ZSK leaves DNSKEY"
is "$(dnskey_count zsk.test)" 2 "ZSK 4: DNSKEY holds the KSK and the new ZSK"
sig=$(q +dnssec +short www.zsk.test A | awk '$1 == "A" { print $7 }')
is "$sig" "$znew" "ZSK: www.zsk.test is signed by the new ZSK"

# ---- CSK rollover (double-DS), started by the operator ----
out=$(dnsctl dnssec rollover csk.test --zsk 2>&1)
like "$out" 'combined signing key' "rollover --zsk of a CSK zone is refused, saying why"
out=$(dnsctl dnssec rollover csk.test 2>&1)
like "$out" 'CSK rollover \(asked for\): new CSK [0-9]+' "dnssec rollover starts a CSK rollover"
cnew=$(printf '%s\n' "$out" | sed -n 's/.*new CSK \([0-9]*\) .*/\1/p' | head -n 1)
cold=$(printf '%s\n' "$out" | sed -n 's/.*published beside \([0-9]*\);.*/\1/p' | head -n 1)
out=$(dnsctl dnssec rollover csk.test 2>&1)
like "$out" 'under way' "a second rollover is refused while one is under way"
is "$(child_cds csk | wc -l)" 2 "CSK 1: CDS lists the old and the new key"
out=$(dnsctl dnssec ds-seen csk.test 1 2>&1)
like "$out" "no KSK or CSK with tag 1 .*$cold" "ds-seen of an unknown tag is refused, naming the keys"
# the parent picks the new DS up from CDS
parent_sync csk
ok 'parent_ds csk | grep -q "^$cnew "' "CSK 2: the parent serves the new DS beside the old"
sleep 3 # longer than the old DS RRset's TTL (2 s) at the parent; not a check
ok '! grep -q "zone csk\.test\.: CSK rollover: CSK $cnew" "$TMPD/dnsd.log"' \
    "CSK 2: without ds-seen the new key does not sign"
out=$(dnsctl dnssec ds-seen csk.test "$cnew" 2>&1)
like "$out" "DS of key $cnew seen at the parent" "CSK 2: the operator confirms the DS"
wait_log "zone csk\\.test\\.: CSK rollover: CSK $cnew \\(key [0-9]+\\) active, $cold" \
    "CSK 3: the new CSK signs parent propagation + DS TTL after ds-seen"
is "$(child_cds csk | awk '{ print $1 }')" "$cnew" "CSK 3: CDS lists only the new key"
parent_sync csk
is "$(parent_ds csk | awk '{ print $1 }')" "$cnew" "CSK 3: the parent drops the old DS"
wait_log "zone csk\\.test\\.: CSK rollover done: $cold \\(key [0-9]+\\) removed from DNSKEY" \
    "CSK 4: the old CSK leaves DNSKEY once its signatures and Iret are past"
is "$(dnskey_count csk.test)" 1 "CSK 4: DNSKEY holds the new CSK alone"

# the last rounds after everything settled (TTLs of 3 s passed, and at
# least two whole rounds of questions asked since: counted, not timed, so a
# slow machine waits longer instead of failing), then the verdict
settled=$(( $(wc -l <"$TMPD/probe.log") + 2 * $(printf '%s\n' "$questions" | wc -l) ))
sleep 4
i=0
while [ "$(wc -l <"$TMPD/probe.log")" -lt "$settled" ] && [ $i -lt 600 ]; do
    sleep 0.1
    i=$((i + 1))
done
stop_prober
n=$(grep -c ' ok$' "$TMPD/probe.log")
bad=$(grep -v ' ok$' "$TMPD/probe.log" | head -n 5)
ok '[ "$(wc -l <"$TMPD/probe.log")" -ge "$settled" ]' \
    "the validating clients asked throughout, two rounds after the rollovers settled ($n validated answers)"
is "$bad" "" "every answer through Unbound validated (AD) at every step of both rollovers"
[ -z "$bad" ] || ub_log_tail 20
model=$(cat "$TMPD/cache_model.out")
like "$model" 'combinations checked, 0 failed' \
    "the cache model: no DS, DNSKEY and data RRsets a cache could hold together disagree"
like "$model" ' [1-9][0-9]{2,} combinations checked' "the cache model checked hundreds of them"
printf '%s\n' "$model" | sed 's/^/# /'
last=$(printf '%s\n' "$questions" | while read -r c n t s; do
    [ "$s" = NXDOMAIN ] && s=$nx
    check_one "$c" "$n" "$t" "$s"; done | sort -u)
is "$last" "ok" "after both rollovers every answer validates in every region"
