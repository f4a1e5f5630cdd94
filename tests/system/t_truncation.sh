#!/bin/sh
# t_truncation.sh -- UDP size limits (RFC 1035 4.2.1, RFC 6891 7, RFC 7766):
# an answer larger than 512 bytes (no EDNS) or than min(client's EDNS size,
# server's --udp-payload) comes back over UDP with TC=1 and fits the limit;
# the same question over TCP gets the whole answer with TC clear.
# --udp-payload (default 1232, the DNS flag day 2020 value) is both the
# EDNS size advertised and the cap: a value just below an answer's size
# truncates it, one just above lets it through.
# mid TXT is 897 bytes, big TXT ~1750 (tests/data/example.test.zone).
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 45
make_store example.test "$DATA/example.test.zone"
start_dnsd

# tc_flags OUT: "tc" if TC is among the header flags, else "notc"
tc() { case " $(dig_flags "$1") " in *" tc "*) echo tc ;; *) echo notc ;; esac; }
sz() { dig_size "$1"; }

out=$(q +noedns +ignore mid.example.test TXT)
is "$(tc "$out")" tc "mid TXT, no EDNS (limit 512): TC set"
ok '[ "$(sz "$out")" -le 512 ]' "mid TXT, no EDNS: response fits 512 bytes ($(sz "$out"))"
is "$(dig_status "$out")" NOERROR "mid TXT, no EDNS: NOERROR"
like "$(dig_flags "$out")" '^qr aa' "mid TXT, no EDNS: still authoritative"

out=$(q +ignore mid.example.test TXT)
is "$(dig_edns "$out")" "version: 0, flags:; udp: 1232" "default: the server advertises 1232"
is "$(tc "$out")" notc "mid TXT, EDNS 1232: fits, TC clear"
is "$(dig_count "$out" ANSWER)" 4 "mid TXT, EDNS 1232: all 4 records"

out=$(q +ignore +bufsize=512 mid.example.test TXT)
is "$(tc "$out")" tc "mid TXT, EDNS 512: TC set"
ok '[ "$(sz "$out")" -le 512 ]' "mid TXT, EDNS 512: response fits 512 bytes ($(sz "$out"))"

out=$(q +ignore big.example.test TXT)
is "$(tc "$out")" tc "big TXT, EDNS 1232: TC set"
ok '[ "$(sz "$out")" -le 1232 ]' "big TXT, EDNS 1232: response fits 1232 bytes ($(sz "$out"))"
like "$out" 'OPT PSEUDOSECTION' "big TXT, EDNS 1232: the truncated response keeps its OPT"

out=$(q +ignore +bufsize=4096 big.example.test TXT)
is "$(tc "$out")" tc "big TXT, client 4096 but server 1232: TC set"
ok '[ "$(sz "$out")" -le 1232 ]' "big TXT, client 4096: response fits the server's 1232 ($(sz "$out"))"

out=$(q +tcp big.example.test TXT)
is "$(tc "$out")" notc "big TXT over TCP: TC clear"
is "$(dig_count "$out" ANSWER)" 8 "big TXT over TCP: all 8 records"
like "$(dig_section "$out" ANSWER | head -n 1)" '^big\.example\.test\. 3600 IN TXT "big-0' "big TXT over TCP: the TXT records"
out=$(q +tcp +bufsize=512 big.example.test TXT)
is "$(tc "$out")/$(dig_count "$out" ANSWER)" "notc/8" "big TXT over TCP with EDNS 512: the EDNS size does not limit TCP"
out=$(q +tcp +noedns mid.example.test TXT)
is "$(tc "$out")/$(dig_count "$out" ANSWER)" "notc/4" "mid TXT over TCP, no EDNS: whole answer"

# dig's default: retry over TCP on TC, ending with the whole answer
out=$(q +noedns big.example.test TXT)
is "$(dig_count "$out" ANSWER)" 8 "big TXT via dig's TC retry: 8 records"

# small answers never truncate
out=$(q +noedns +ignore www.example.test A)
is "$(tc "$out")/$(dig_count "$out" ANSWER)" "notc/1" "www A, no EDNS: no TC"

# an EDNS size below 512 counts as 512 (RFC 6891 6.2.5): apex MX with its
# additional data (~300 bytes) is not truncated
out=$(q +ignore +bufsize=100 example.test MX)
is "$(tc "$out")/$(dig_count "$out" ANSWER)" "notc/2" "EDNS size 100 counts as 512: apex MX not truncated"

# only additional data missing is no reason for TC (RFC 2181 9): manymx's 12
# MX fit 512 bytes, their 24 addresses do not
out=$(q +noedns +ignore manymx.example.test MX)
is "$(tc "$out")" notc "manymx, no EDNS: TC clear though the additional data does not all fit"
is "$(dig_count "$out" ANSWER)" 12 "manymx, no EDNS: all 12 MX"
ok '[ "$(sz "$out")" -le 512 ]' "manymx, no EDNS: fits 512 bytes ($(sz "$out"))"
out=$(q +ignore manymx.example.test MX)
is "$(tc "$out")/$(dig_count "$out" ANSWER)" "notc/12" "manymx, EDNS 1232: 12 MX, no TC"
is "$(nlines "$(dig_section "$out" ADDITIONAL)")" 24 "manymx, EDNS 1232: all 24 addresses in additional"

# but a referral whose in-domain glue does not fit must set TC (RFC 9471 3)
out=$(q +noedns +ignore www.bigsub.example.test A)
is "$(tc "$out")" tc "bigsub referral, no EDNS: in-domain glue does not fit, TC set"
ok '[ "$(sz "$out")" -le 512 ]' "bigsub referral, no EDNS: fits 512 bytes ($(sz "$out"))"
out=$(q +ignore www.bigsub.example.test A)
is "$(tc "$out")/$(dig_flags "$out")" "notc/qr" "bigsub referral, EDNS 1232: fits, TC clear, AA clear"
is "$(nlines "$(dig_section "$out" AUTHORITY)")" 10 "bigsub referral, EDNS 1232: 10 NS in authority"
is "$(nlines "$(dig_section "$out" ADDITIONAL)")" 20 "bigsub referral, EDNS 1232: all 20 glue records"

# a larger server payload lets big through over UDP
stop_dnsd
start_dnsd --udp-payload 4096
out=$(q +ignore +bufsize=4096 big.example.test TXT)
is "$(tc "$out")" notc "--udp-payload 4096, client 4096: big TXT fits, TC clear"
is "$(dig_count "$out" ANSWER)" 8 "--udp-payload 4096: all 8 records over UDP"
out=$(q +ignore big.example.test TXT)
is "$(tc "$out")" tc "--udp-payload 4096, client 1232: TC set (the client's limit)"
ok '[ "$(sz "$out")" -le 1232 ]' "--udp-payload 4096, client 1232: fits 1232 ($(sz "$out"))"
out=$(q +ignore +noedns big.example.test TXT)
is "$(tc "$out")" tc "--udp-payload 4096, no EDNS: TC set"
ok '[ "$(sz "$out")" -le 512 ]' "--udp-payload 4096, no EDNS: fits 512 ($(sz "$out"))"

# a smaller server payload: 800 truncates mid TXT (897 bytes) even for a
# client offering 1232; 900 lets it through
stop_dnsd
start_dnsd --udp-payload 800
out=$(q +ignore mid.example.test TXT)
is "$(dig_edns "$out")" "version: 0, flags:; udp: 800" "--udp-payload 800: advertised"
is "$(tc "$out")" tc "--udp-payload 800, client 1232: mid TXT (897 bytes) gets TC"
ok '[ "$(sz "$out")" -le 800 ]' "--udp-payload 800: the truncated response fits 800 ($(sz "$out"))"
out=$(q +tcp mid.example.test TXT)
is "$(tc "$out")/$(dig_count "$out" ANSWER)" "notc/4" "--udp-payload 800: mid TXT over TCP in full"
stop_dnsd
start_dnsd --udp-payload 900
out=$(q +ignore mid.example.test TXT)
is "$(tc "$out")/$(dig_count "$out" ANSWER)" "notc/4" "--udp-payload 900: mid TXT (897 bytes) fits, no TC"
is "$(sz "$out")" 897 "--udp-payload 900: all 897 bytes over UDP"
out=$(q +ignore big.example.test TXT +bufsize=4096)
is "$(tc "$out")" tc "--udp-payload 900: big TXT still gets TC"
