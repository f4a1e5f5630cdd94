#!/bin/sh
# t_update.sh -- RFC 2136 UPDATE from BIND's nsupdate into a running dnsd,
# TSIG-signed (-y) over UDP and TCP: each prerequisite kind passing and
# failing with its rcode, adds and the three kinds of delete, the serial
# bumped once per update, the change in `dnsctl zone journal`; refusals:
# out of policy (the reason in dnsd's log), unsigned, a wrong secret
# (NOTAUTH/BADSIG), a zone with no policy; a key bound to a region writes
# that region's overlay only (ECS from the region vs the default answer);
# an address rule takes unsigned updates from its network only.
. "$top_srcdir/tests/system/lib.sh"
need nsupdate dig
GEO=${GEO_DIR:-$top_srcdir/tests/data/geo}
[ -f "$GEO/GeoIP2-City-Test.mmdb" ] || skip_all "geo test data not found in $GEO"
plan 52

make_store example.test "$top_srcdir/tests/data/example.test.zone"
make_store other.test "$top_srcdir/tests/data/other.test.zone"
ADMIN=YWRtaW4tYWRtaW4tYWRtaW4tYWRtaW4tYWRtaW4xMjM0NTY3ODkwYWJjZGVmZ2hpams=
ACME=YWNtZS1hY21lLWFjbWUtYWNtZS1hY21lLWFjbWUxMjM=
LAB=bGFiLWxhYi1sYWItbGFiLWxhYi1sYWItbGFiLWxhYjE=
dnsctl tsig add admin.key --algorithm hmac-sha512 --secret "$ADMIN" >/dev/null
dnsctl tsig add acme.key --algorithm hmac-sha256 --secret "$ACME" >/dev/null
dnsctl tsig add lab.key --algorithm hmac-sha256 --secret "$LAB" >/dev/null
dnsctl region add lab --cidr 10.1.0.0/16 >/dev/null
dnsctl record add example.test 'geo 300 IN A 192.0.2.100' >/dev/null

# ---- dnsctl zone policy ----
out=$(dnsctl zone policy example.test list)
like "$out" 'no update policy: UPDATE to example.test is refused' "no rule yet: list says so"
out=$(dnsctl zone policy example.test add key nosuch.key subdomain @ 2>&1)
like "$out" 'no such TSIG key: nosuch.key' "a rule needs an existing key"
out=$(dnsctl zone policy example.test add key acme.key 2>&1)
like "$out" 'say which names' "a rule needs names"
out=$(dnsctl zone policy example.test add key acme.key name www.other.test. 2>&1)
like "$out" 'outside zone example.test' "names outside the zone are refused"
out=$(dnsctl zone policy example.test add key acme.key pattern '_acme-challenge.*' types TXT)
like "$out" '^added rule 1: key acme.key. pattern _acme-challenge.\* types TXT$' "the ACME rule"
dnsctl zone policy example.test add key admin.key subdomain @ >/dev/null
dnsctl zone policy example.test add key lab.key subdomain @ types A,TXT region lab >/dev/null
dnsctl zone policy example.test add address 127.0.0.0/8 name open types A >/dev/null
dnsctl zone policy example.test add address 10.0.0.0/8 name closed types A >/dev/null
out=$(dnsctl zone policy example.test list)
like "$out" '3 +key lab.key. +subdomain example.test. +A,TXT +lab' "list shows the region rule"
out=$(dnsctl tsig del acme.key 2>&1)
like "$out" 'update-policy example.test.' "a key a rule uses cannot be deleted"

cp "$GEO/GeoIP2-City-Test.mmdb" "$TMPD/geo.mmdb"
start_dnsd --geo-database "$TMPD/geo.mmdb" --rrl-rate 0 --log-level info
DNSD_LOG=$TMPD/dnsd.log

# nsup KEY-ARGS...: nsupdate against dnsd, commands on stdin; prints its output
nsup() {
    { printf 'server 127.0.0.1 %s\nzone example.test.\n' "$PORT"; cat; printf 'send\n'; } |
        nsupdate -t 4 -u 2 -r 0 "$@" 2>&1
}
admin() { nsup -y "hmac-sha512:admin.key:$ADMIN" "$@"; }
a() { q +short "$@"; }
# the zone's serial; a query lost on a loaded machine is asked again (3 tries),
# and "0" stands for no answer, so the arithmetic below fails a test, not the script
serial() {
    for _t in 1 2 3; do
        _s=$(q +short example.test SOA | awk '{ print $3 }')
        [ -n "$_s" ] && break
    done
    echo "${_s:-0}"
}

# ---- prerequisites, each kind passing and failing ----
s0=$(serial)
out=$(printf 'prereq yxdomain www.example.test.\nupdate add p1.example.test. 60 A 192.0.2.1\n' | admin)
is "$out$(a p1.example.test A)" 192.0.2.1 "yxdomain (name in use) holds: added"
out=$(printf 'prereq yxdomain nope.example.test.\nupdate add p2.example.test. 60 A 192.0.2.2\n' | admin)
like "$out" 'update failed: NXDOMAIN' "yxdomain fails: NXDOMAIN"
is "$(a p2.example.test A)" "" "yxdomain fails: nothing added"
out=$(printf 'prereq nxdomain nope.example.test.\nupdate add p3.example.test. 60 A 192.0.2.3\n' | admin)
is "$out$(a p3.example.test A)" 192.0.2.3 "nxdomain (name not in use) holds: added"
out=$(printf 'prereq nxdomain www.example.test.\nupdate add p4.example.test. 60 A 192.0.2.4\n' | admin)
like "$out" 'update failed: YXDOMAIN' "nxdomain fails: YXDOMAIN"
out=$(printf 'prereq yxrrset www.example.test. A\nupdate add p5.example.test. 60 A 192.0.2.5\n' | admin)
is "$out$(a p5.example.test A)" 192.0.2.5 "yxrrset (RRset exists) holds: added"
out=$(printf 'prereq yxrrset www.example.test. MX\nupdate add p6.example.test. 60 A 192.0.2.6\n' | admin)
like "$out" 'update failed: NXRRSET' "yxrrset fails: NXRRSET"
out=$(printf 'prereq nxrrset www.example.test. MX\nupdate add p7.example.test. 60 A 192.0.2.7\n' | admin)
is "$out$(a p7.example.test A)" 192.0.2.7 "nxrrset (RRset does not exist) holds: added"
out=$(printf 'prereq nxrrset www.example.test. A\nupdate add p8.example.test. 60 A 192.0.2.8\n' | admin)
like "$out" 'update failed: YXRRSET' "nxrrset fails: YXRRSET"
out=$(printf 'prereq yxrrset www.example.test. A 192.0.2.80\nupdate add p9.example.test. 60 A 192.0.2.9\n' | admin)
is "$out$(a p9.example.test A)" 192.0.2.9 "yxrrset with rdata (value dependent) holds: added"
out=$(printf 'prereq yxrrset www.example.test. A 192.0.2.81\nupdate add pa.example.test. 60 A 192.0.2.10\n' | admin)
like "$out" 'update failed: NXRRSET' "yxrrset with other rdata fails: NXRRSET"
is "$(a p4.example.test A)$(a p6.example.test A)$(a p8.example.test A)$(a pa.example.test A)" "" \
    "no failed update added anything"
is "$(serial)" "$((s0 + 5))" "five updates committed, five serial bumps"

# ---- adds and deletes; one update, one serial bump, one journal entry ----
s0=$(serial)
out=$(printf 'update add multi.example.test. 300 A 192.0.2.11\nupdate add multi.example.test. 300 A 192.0.2.12\nupdate add multi.example.test. 300 TXT "hello"\n' | admin -v)
is "$out" "" "three adds over TCP"
is "$(a multi.example.test A | sort | tr '\n' ' ')" "192.0.2.11 192.0.2.12 " "both A records there"
is "$(serial)" "$((s0 + 1))" "one update: the serial went up once"
jr=$(dnsctl zone journal example.test --from "$s0")
like "$jr" "^serial $s0 -> $((s0 + 1)) at .*: 0 removed, 3 added$" "zone journal: one entry with the three adds"
like "$jr" "multi\\.example\\.test\\.	300	IN	TXT	\"hello\"" "zone journal: the TXT record"
printf 'update delete multi.example.test. A 192.0.2.11\n' | admin >/dev/null
is "$(a multi.example.test A)" 192.0.2.12 "delete one RR"
printf 'update delete multi.example.test. A\n' | admin >/dev/null
is "$(a multi.example.test A)$(a multi.example.test TXT)" '"hello"' "delete an RRset: the TXT stays"
printf 'update add multi.example.test. 300 A 192.0.2.13\n' | admin >/dev/null
printf 'update delete multi.example.test.\n' | admin >/dev/null
like "$(q multi.example.test A)" 'status: NXDOMAIN' "delete every RRset at a name"
printf 'update delete example.test. NS\nupdate delete example.test. SOA\n' | admin >/dev/null
is "$(a example.test NS | wc -l)" 2 "apex NS and SOA are never deleted (RFC 2136 3.4.2.3)"

# ---- refusals ----
acme() { nsup -y "hmac-sha256:acme.key:$ACME" "$@"; }
out=$(printf 'update add _acme-challenge.www.example.test. 60 TXT "tok"\n' | acme)
is "$out$(a _acme-challenge.www.example.test TXT)" '"tok"' "acme key: TXT at _acme-challenge.www"
out=$(printf 'update add www.example.test. 60 TXT "evil"\n' | acme)
like "$out" 'update failed: REFUSED' "acme key: TXT at www is REFUSED"
out=$(printf 'update add _acme-challenge.example.test. 60 CAA 0 issue "ca.test"\n' | acme)
like "$out" 'update failed: REFUSED' "acme key: a CAA at _acme-challenge is REFUSED"
ok 'grep -q "from 127.0.0.1#[0-9]*/udp key acme.key.: REFUSED: key acme.key. from 127.0.0.1: adding www.example.test. TXT not allowed by the update policy" "$DNSD_LOG"' \
    "dnsd's log gives the reason"
out=$(printf 'update add www.example.test. 60 TXT "unsigned"\n' | nsup)
like "$out" 'update failed: REFUSED' "unsigned: REFUSED"
ok 'grep -q "key (unsigned): REFUSED: unsigned request from 127.0.0.1" "$DNSD_LOG"' \
    "the log says the request was unsigned"
out=$(printf 'update add www.example.test. 60 TXT "badsig"\n' | nsup -y "hmac-sha256:acme.key:$LAB")
like "$out" 'NOTAUTH\(BADSIG\)' "a wrong secret: NOTAUTH with BADSIG"
ok 'grep -q "refused: TSIG BADSIG (key acme.key.)" "$DNSD_LOG"' "the log names the TSIG error"
out=$(printf 'update add www.example.test. 60 TXT "badkey"\n' | nsup -y "hmac-sha256:who.key:$LAB")
like "$out" 'NOTAUTH\(BADKEY\)' "an unknown key: NOTAUTH with BADKEY"
is "$(a www.example.test TXT)" '"web server"' "none of the refused updates changed www"
out=$({ printf 'server 127.0.0.1 %s\nzone other.test.\nupdate add x.other.test. 60 A 192.0.2.1\nsend\n' "$PORT"; } |
    nsupdate -t 4 -u 2 -r 0 -y "hmac-sha512:admin.key:$ADMIN" 2>&1)
like "$out" 'update failed: REFUSED' "a zone without a policy: REFUSED"
ok 'grep -q "zone other.test. has no update policy" "$DNSD_LOG"' "and the log says why"

# ---- an address rule: no key from its network ----
out=$(printf 'update add open.example.test. 60 A 192.0.2.30\n' | nsup)
is "$out$(a open.example.test A)" 192.0.2.30 "address rule: unsigned update from 127.0.0.1 applied"
out=$(printf 'update add closed.example.test. 60 A 192.0.2.31\n' | nsup)
like "$out" 'update failed: REFUSED' "address rule for 10/8: 127.0.0.1 is REFUSED"

# ---- a key bound to a region writes that region's overlay ----
lab() { nsup -y "hmac-sha256:lab.key:$LAB" "$@"; }
s0=$(serial)
out=$(printf 'update delete geo.example.test. A\nupdate add geo.example.test. 60 A 192.0.2.77\n' | lab)
is "$out" "" "lab key: replace geo's A"
is "$(a geo.example.test A +subnet=10.1.200.0/24)" 192.0.2.77 "ECS from the lab region: the new record"
is "$(a geo.example.test A)" 192.0.2.100 "no ECS (default view): the old record"
is "$(serial)" "$((s0 + 1))" "lab key: one serial bump"
ok 'grep -q "update of example.test. from .* key lab.key.: committed, serial $((s0 + 1)), region lab" "$DNSD_LOG"' \
    "the log names the region"
out=$(printf 'update add example.test. 60 NS ns9.example.test.\n' | lab)
like "$out" 'update failed: REFUSED' "lab key: the apex NS is the default view's (and not its type)"
out=$(dnsctl record list example.test geo --region lab)
like "$out" '192\.0\.2\.77' "dnsctl sees the record in region lab"

# ---- the zone section: not ours / malformed ----
out=$({ printf 'server 127.0.0.1 %s\nzone nothere.test.\nupdate add x.nothere.test. 60 A 192.0.2.1\nsend\n' "$PORT"; } |
    nsupdate -t 4 -u 2 -r 0 -y "hmac-sha512:admin.key:$ADMIN" 2>&1)
like "$out" 'update failed: NOTAUTH' "a zone not served here: NOTAUTH"
out=$(printf 'update add www.other.test. 60 A 192.0.2.1\n' | admin)
like "$out" 'NOTZONE' "a name outside the zone: NOTZONE"
