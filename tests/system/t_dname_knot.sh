#!/bin/sh
# t_dname_knot.sh -- DNAME (RFC 6672) differential test: dnsd and a real
# knotd serve the same zone files (tests/data/dname: a DNAME at the apex,
# chained DNAMEs, DNAME -> CNAME -> data, DNAMEs out of the zone, loops, a
# result over 255 octets, DNAMEs below and into a delegation, CNAMEs and
# wildcards into DNAMEs, a DNAME at a wildcard) and are asked the same
# questions (every name of main.names with A, AAAA, TXT, DNAME, CNAME, ANY,
# NS, SOA and MX, over UDP: several hundred queries, dnsdiff.py); rcode, AA, TC and
# every section as a set of RRs must be equal. Then regional overlays:
# DNAMEs in region eu's overlay of dn-geo.test, asked as an eu client (ECS)
# of dnsd and of a second knotd serving the zone as eu sees it (names below
# the DNAME occluded: a name, a wildcard and a delegation), and as a default
# client of dnsd and of the first knotd; the ECS scope of the answers.
#
# Intended differences (asked of dnsd alone, below, not compared):
# - a DNAME result over 255 octets whose DNAME target is IN the zone: dnsd
#   answers YXDOMAIN with the DNAME (RFC 6672 2.2; BIND and NSD do the same);
#   Knot 3.2 sets YXDOMAIN but then goes on at the DNAME's target name
#   itself, so its rcode is that name's (NXDOMAIN if it does not exist).
#   With the target out of the zone (dn-chain.test's "long") both agree, and
#   that case is compared.
# - zones Knot refuses to load (names below a DNAME, DNAME beside NS below
#   the apex): dnsctl refuses them too (t_dname_knot.sh's last part), so
#   they are only possible across regions, compared through dn-geo.test.
# Not differences: Knot repeats the synthesized CNAMEs of a DNAME loop until
# its chain limit of 5, dnsd stops at the loop; the same set of RRs.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need dig knotd kdig
need_dnspython
GEO=${GEO_DIR:-$top_srcdir/tests/data/geo}
if [ ! -f "$GEO/GeoIP2-City-Test.mmdb" ]; then
    [ "${REQUIRE_ALL:-0}" = 1 ] && { echo "Bail out! $GEO missing"; exit 1; }
    skip_all "geo test data not found in $GEO"
fi
plan 37
DN=$DATA/dname
ZONES="dn-target.test dn-apex.test dn-chain.test dn-deleg.test dn-geo.test"

# ---- knotd: NAME ZONE=FILE[:soft]... in $TMPD/NAME, on a free port ----
# sets KPORT; the PID goes to $TMPD/NAME.pid (stopped at exit)
knot_up() {
    _kd=$TMPD/$1; shift
    mkdir -p "$_kd/run" "$_kd/db"
    _try=0
    while [ $_try -lt 5 ]; do
        _try=$((_try + 1))
        KPORT=$(free_udp_tcp_port) || _bail "no free port for knotd"
        {
            printf 'server:\n    rundir: "%s/run"\n    listen: 127.0.0.1@%s\n' "$_kd" "$KPORT"
            printf '    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n'
            printf 'database:\n    storage: "%s/db"\nlog:\n  - target: stderr\n    any: info\n' "$_kd"
            printf 'template:\n  - id: default\n    storage: "%s"\n    zonefile-sync: -1\n' "$_kd"
            printf '    zonefile-load: whole\n    journal-content: none\nzone:\n'
            for _z in "$@"; do
                _name=${_z%%=*} _f=${_z#*=} _soft=
                case $_f in *:soft) _f=${_f%:soft} _soft=soft ;; esac
                printf '  - domain: %s\n    file: "%s"\n' "$_name" "$_f"
                [ -z "$_soft" ] || printf '    semantic-checks: soft\n'
            done
        } >"$_kd/knot.conf"
        knotd -c "$_kd/knot.conf" >>"$_kd/knotd.log" 2>&1 &
        echo $! >"$_kd.pid"
        _i=0
        while [ $_i -lt 100 ] && kill -0 "$(cat "$_kd.pid")" 2>/dev/null; do
            _i=$((_i + 1))
            _up=0
            for _z in "$@"; do
                kdig @127.0.0.1 -p "$KPORT" +norec +time=1 +retry=0 "${_z%%=*}" SOA 2>/dev/null |
                    grep -q 'status: NOERROR' && _up=$((_up + 1))
            done
            [ "$_up" = $# ] && return 0
            grep -q 'cannot bind' "$_kd/knotd.log" && break
            sleep 0.1
        done
        stop_pid "$(cat "$_kd.pid")"
    done
    _bail "knotd did not serve its zones (log: $_kd/knotd.log)" "$_kd/knotd.log"
}
knot_down() {
    for _p in "$TMPD"/k1.pid "$TMPD"/k2.pid; do [ -f "$_p" ] && stop_pid "$(cat "$_p")"; done
}
at_exit knot_down

# ---- the same zones in dnsd ----
for z in $ZONES; do make_store "$z" "$DN/$z.zone"; done
dnsctl region add eu --continent EU >/dev/null
for rr in 'd 300 IN DNAME tgt.dn-geo.test.' 'cut 300 IN DNAME tgt.dn-geo.test.' \
    'e 60 IN DNAME tgt.dn-geo.test.'; do
    dnsctl record add dn-geo.test --region eu "$rr" >/dev/null ||
        { echo "Bail out! cannot add $rr in region eu"; exit 1; }
done
cp "$GEO/GeoIP2-City-Test.mmdb" "$TMPD/geo.mmdb"
start_dnsd --geo-database "$TMPD/geo.mmdb" --rrl-rate 0

# Knot's copies of dn-geo.test get the serial the overlay edits gave dnsd's
serial=$(q dn-geo.test SOA +short | cut -d' ' -f3)
for f in dn-geo dn-geo-eu; do
    sed "s/^@ SOA ns1 hostmaster 1 /@ SOA ns1 hostmaster $serial /" "$DN/$f.test.zone" >"$TMPD/$f.zone"
done
spec="dn-geo.test=$TMPD/dn-geo.zone"
for z in $ZONES; do [ "$z" = dn-geo.test ] || spec="$spec $z=$DN/$z.zone"; done
# shellcheck disable=SC2086
knot_up k1 $spec
K1=$KPORT
knot_up k2 "dn-geo.test=$TMPD/dn-geo-eu.zone:soft"
K2=$KPORT

diff_run() { "$PYTHON" "$top_srcdir/tests/system/dnsdiff.py" "$@" 2>&1; }
count() { printf '%s\n' "$1" | sed -n 's/^compared \([0-9]*\) differ \([0-9]*\)$/\1/p'; }
differ() { printf '%s\n' "$1" | sed -n 's/^compared \([0-9]*\) differ \([0-9]*\)$/\2/p'; }

# ---- 1. the main zones: every name x type, dnsd (a) against Knot (b) ----
out=$(diff_run --a "$PORT" --b "$K1" "$DN/main.names")
n=$(count "$out")
ok '[ "${n:-0}" -ge 500 ]' "main zones: ${n:-0} questions asked of both servers"
is "$(differ "$out")" 0 "main zones: dnsd and Knot agree on every one"
printf '%s\n' "$out" | grep -v '^compared' | head -n 40 | sed 's/^/# /'
unlike "$out" NOANSWER "main zones: every question answered by both"

# ---- 2. regional overlays: eu client of dnsd vs Knot serving eu's view ----
out=$(diff_run --a "$PORT" --b "$K2" --ecs-a 81.2.69.142/32 "$DN/geo.names")
n=$(count "$out")
ok '[ "${n:-0}" -ge 120 ]' "eu view: ${n:-0} questions asked as an eu client (ECS)"
is "$(differ "$out")" 0 "eu view: dnsd with eu's DNAMEs (occluding) = Knot on eu's zone"
printf '%s\n' "$out" | grep -v '^compared' | head -n 40 | sed 's/^/# /'
out=$(diff_run --a "$PORT" --b "$K1" "$DN/geo.names")
n=$(count "$out")
ok '[ "${n:-0}" -ge 120 ]' "default view: ${n:-0} questions asked as a default client"
is "$(differ "$out")" 0 "default view: eu's DNAMEs unseen, same as Knot on the default zone"
printf '%s\n' "$out" | grep -v '^compared' | head -n 40 | sed 's/^/# /'

# the answer below a regional DNAME depends on the region for every client:
# the ECS scope is the deciding prefix, also where the DNAME was not seen
scope() { q "$@" | sed -n 's/^; CLIENT-SUBNET: [^/]*\/[0-9]*\/\([0-9]*\).*/\1/p'; }
is "$(scope x.d.dn-geo.test A +subnet=81.2.69.142/32)" 31 "scope: eu client below eu's DNAME: /31"
ok '[ "$(scope x.d.dn-geo.test A +subnet=2001:218::/32)" -gt 0 ]' \
    "scope: default client below eu's DNAME: not 0 (the answer is regional)"
is "$(scope host.e.dn-geo.test A +subnet=81.2.69.142/32)" 31 "scope: eu client below eu's DNAME at e: /31"
is "$(scope www.dn-geo.test A +subnet=81.2.69.142/32)" 0 "scope: a name beside the DNAMEs: 0"
out=$(q x.d.dn-geo.test A +subnet=81.2.69.142/32)
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' \
    'd.dn-geo.test. 300 IN DNAME tgt.dn-geo.test.' \
    'x.d.dn-geo.test. 300 IN CNAME x.tgt.dn-geo.test.')" \
    "eu client: x.d is occluded by eu's DNAME: DNAME + CNAME"
out=$(q x.d.dn-geo.test A +subnet=2001:218::/32)
is "$(dig_section "$out" ANSWER)" 'x.d.dn-geo.test. 300 IN A 192.0.2.20' \
    "default client: x.d's own A"

# ---- 3. intended difference: too long with the target in the zone ----
L60=$(printf 'l%.0s' $(seq 1 60))
L63=$(printf 'a%.0s' $(seq 1 63))
dnsctl record add dn-chain.test "longin 300 IN DNAME $L63.$L63.$L63.dn-chain.test." >/dev/null
out=$(q "$L60.longin.dn-chain.test" A)
is "$(dig_status "$out")" YXDOMAIN "result over 255 octets (target in zone): YXDOMAIN"
is "$(dig_flags "$out")" "qr aa" "YXDOMAIN: authoritative"
is "$(dig_section "$out" ANSWER)" \
    "longin.dn-chain.test. 300 IN DNAME $L63.$L63.$L63.dn-chain.test." \
    "YXDOMAIN: the DNAME alone in the answer (no CNAME)"
is "$(dig_count "$out" AUTHORITY)" 0 "YXDOMAIN: nothing in authority"
out=$(q "a.longin.dn-chain.test" A)
is "$(dig_status "$out")/$(dig_count "$out" ANSWER)" NXDOMAIN/2 \
    "one label shorter fits: DNAME + CNAME, then the new name's NXDOMAIN"

# ---- 4. spot checks of the shape dig shows (the comparison is set-wise) ----
out=$(q host.d3.dn-chain.test A)
is "$(dig_section "$out" ANSWER)" "$(printf '%s\n' \
    'd3.dn-chain.test. 120 IN DNAME d2.dn-chain.test.' \
    'host.d3.dn-chain.test. 120 IN CNAME host.d2.dn-chain.test.' \
    'd2.dn-chain.test. 900 IN DNAME d1.dn-chain.test.' \
    'host.d2.dn-chain.test. 900 IN CNAME host.d1.dn-chain.test.' \
    'd1.dn-chain.test. 600 IN DNAME tgt.dn-chain.test.' \
    'host.d1.dn-chain.test. 600 IN CNAME host.tgt.dn-chain.test.' \
    'host.tgt.dn-chain.test. 300 IN A 192.0.2.10')" \
    "three DNAMEs: each DNAME then its CNAME (TTL the DNAME's), in order, then the data"
out=$(q q.loop1.dn-chain.test A)
is "$(dig_status "$out")/$(dig_count "$out" ANSWER)" NOERROR/4 \
    "DNAME loop: NOERROR, each DNAME and CNAME once"
out=$(q HOST.D1.dn-chain.test A)
is "$(dig_section "$out" ANSWER | sed -n 2p)" \
    'HOST.D1.dn-chain.test. 600 IN CNAME host.tgt.dn-chain.test.' \
    "synthesized CNAME: owner as asked, target in lower case (as Knot)"
out=$(q +tcp host.d1.dn-chain.test A)
is "$(dig_count "$out" ANSWER)" 3 "over TCP: the same chain"
out=$(q host.d1.dn-chain.test CNAME)
is "$(dig_count "$out" ANSWER)" 2 "qtype CNAME below a DNAME: DNAME + synthesized CNAME only"
out=$(q d1.dn-chain.test DNAME)
is "$(dig_section "$out" ANSWER)" 'd1.dn-chain.test. 600 IN DNAME tgt.dn-chain.test.' \
    "qtype DNAME at the owner: the DNAME as plain data"

# ---- 5. dnsctl: DNAME accepted; what RFC 6672 forbids (and Knot refuses) refused ----
cat >"$TMPD/bad1.zone" <<'EOF'
$ORIGIN bad.test.
$TTL 300
@ SOA ns1 hostmaster 1 7200 3600 1209600 60
@ NS ns1
ns1 A 192.0.2.53
d DNAME tgt.bad.test.
d CNAME www.bad.test.
EOF
err=$(dnsctl zone import bad.test "$TMPD/bad1.zone" 2>&1)
like "$err" 'bad1\.zone:7: CNAME record at d\.bad\.test\. beside its DNAME record \(.*bad1\.zone:6\)' \
    "import: DNAME + CNAME at one name refused, file:line of both"
sed 's/^d CNAME.*/d DNAME other.bad.test./' "$TMPD/bad1.zone" >"$TMPD/bad2.zone"
err=$(dnsctl zone import bad.test "$TMPD/bad2.zone" 2>&1)
like "$err" 'bad2\.zone:7: second DNAME record at d\.bad\.test\.' "import: two DNAMEs at one name refused"
sed 's/^d CNAME.*/d NS ns.elsewhere.invalid./' "$TMPD/bad1.zone" >"$TMPD/bad3.zone"
err=$(dnsctl zone import bad.test "$TMPD/bad3.zone" 2>&1)
like "$err" 'bad3\.zone:7: NS record at d\.bad\.test\. beside its DNAME record' \
    "import: DNAME beside NS below the apex refused"
sed 's/^d CNAME.*/x.d A 192.0.2.1/' "$TMPD/bad1.zone" >"$TMPD/bad4.zone"
err=$(dnsctl zone import bad.test "$TMPD/bad4.zone" 2>&1)
like "$err" 'bad4\.zone:7: A record at x\.d\.bad\.test\. is below the DNAME at d\.bad\.test\. \(.*bad4\.zone:6\)' \
    "import: a name below a DNAME refused, file:line of both"
ok '! dnsctl zone list 2>/dev/null | grep -q "^bad.test"' "refused imports left no zone behind"
err=$(dnsctl record add dn-chain.test 'd1 300 IN CNAME www.dn-chain.test.' 2>&1)
like "$err" 'CNAME and other data at d1\.dn-chain\.test\.' "record add: CNAME beside a DNAME refused"
err=$(dnsctl record add dn-chain.test 'x.d1 300 IN A 192.0.2.1' 2>&1)
like "$err" 'below the DNAME at d1\.dn-chain\.test\.' "record add: a name below a DNAME refused"
err=$(dnsctl record add dn-chain.test 'www 300 IN DNAME tgt.dn-chain.test.' 2>&1)
is "$?" 0 "record add: a DNAME beside A/AAAA/TXT accepted"
out=$(q host.www.dn-chain.test A)
is "$(dig_count "$out" ANSWER)" 3 "the DNAME added live is served at once"
# a zone without DNAMEs is marked so by the writer and answered without
# DNAME lookups; its first DNAME clears the mark in the same commit
out=$(q host.alias.dn-target.test A)
is "$(dig_status "$out")" NXDOMAIN "no DNAME in dn-target.test: NXDOMAIN below alias"
dnsctl record add dn-target.test 'alias 300 IN DNAME www.dn-target.test.' >/dev/null
out=$(q host.alias.dn-target.test A)
is "$(dig_status "$out")/$(dig_count "$out" ANSWER)" NXDOMAIN/2 \
    "the zone's first DNAME, added live: DNAME + CNAME at once"
dnsctl record del dn-target.test alias DNAME >/dev/null
out=$(q host.alias.dn-target.test A)
is "$(dig_status "$out")/$(dig_count "$out" ANSWER)" NXDOMAIN/0 "its DNAME deleted: plain NXDOMAIN again"
ok 'kill -0 "$DNSD_PID"' "dnsd still running"
