#!/bin/sh
# t_dnssec_demo.sh -- the README's signed demo stays true: tools/demo (in a
# temp dir, on free loopback ports, without tools/setup) signs demo.example
# and starts a validating Unbound in front of dnsd; every line the README
# shows for it gives what the README says: each region's answer with the ad
# flag through Unbound, delv "fully validated", and the README has those
# lines word for word (with the default ports).
. "$top_srcdir/tests/system/lib.sh"
need dig delv unbound pebble curl openssl
plan 13

D=$TMPD/demo
DPORT=$(free_udp_tcp_port)
RPORT=$(free_udp_tcp_port)
APORT=$(free_udp_tcp_port)
export DEMO_DIR="$D" DEMO_SETUP=0 DEMO_PORT="$DPORT" DEMO_RESOLVER_PORT="$RPORT" DEMO_ACME_PORT="$APORT"
stop_demo() { "$top_srcdir/tools/demo" stop >/dev/null 2>&1; }
at_exit stop_demo

timeout 300 "$top_srcdir/tools/demo" >"$TMPD/demo.out" 2>&1
rc=$?
is "$rc" 0 "tools/demo ran (exit 0)"
[ $rc = 0 ] || sed 's/^/# /' "$TMPD/demo.out" | tail -30

readme=$(cat "$top_srcdir/README.md")
# each README line, with its expected answer; run with the test's ports
check_line() {
    _line=$1 _want=$2 _what=$3
    case "$readme" in
    *"$_line"*) _ok 0 "README shows: $_line" ;;
    *) _ok 1 "README shows: $_line" ;;
    esac
    _cmd=$(printf '%s' "$_line" | sed "s/-p 8054 /-p $RPORT /; s/-p 8053 /-p $DPORT /; s|demo/anchor.conf|$D/anchor.conf|")
    _o=$(sh -c "$_cmd +time=5 +tries=1" 2>&1)
    _a=$(dig_section "$_o" ANSWER | awk '$4 == "A" { print $5 }')
    case " $(dig_flags "$_o") " in *" ad "*) _ad=ad ;; *) _ad=no-ad ;; esac
    is "$_a $_ad" "$_want ad" "$_what"
}
check_line "dig @127.0.0.1 -p 8054 www.demo.example A +subnet=81.2.69.0/24" 192.0.2.11 \
    "through Unbound, a European client: eu's answer, validated (ad)"
check_line "dig @127.0.0.1 -p 8054 www.demo.example A +subnet=8.8.8.0/24" 192.0.2.12 \
    "a North American client: na's answer, ad"
check_line "dig @127.0.0.1 -p 8054 www.demo.example A +subnet=1.0.16.0/24" 192.0.2.13 \
    "an Asian client: as's answer, ad"
check_line "dig @127.0.0.1 -p 8054 www.demo.example A" 192.0.2.10 \
    "no subnet (the client's own address 127.0.0.1): the default answer, ad"
line="delv @127.0.0.1 -p 8053 -a demo/anchor.conf +root=demo.example www.demo.example A"
case "$readme" in *"$line"*) _ok 0 "README shows: $line" ;; *) _ok 1 "README shows: $line" ;; esac
o=$(delv @127.0.0.1 -p "$DPORT" -a "$D/anchor.conf" +root=demo.example www.demo.example A 2>&1)
like "$o" "; fully validated" "delv with demo/anchor.conf: fully validated"
like "$o" "www\.demo\.example\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.10" \
    "delv: the default answer"
like "$(cat "$D/ds")" "^demo\.example\.? .*DS [0-9]+ 13 2 [0-9A-Fa-f ]+$" "demo/ds: the zone's DS (algorithm 13, SHA-256)"
