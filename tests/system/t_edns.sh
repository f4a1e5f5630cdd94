#!/bin/sh
# t_edns.sh -- EDNS(0) per RFC 6891: a query with OPT gets OPT back carrying
# the server's own UDP payload size (1232 by default, --udp-payload N), the
# DO bit copied (RFC 3225), Z bits zero; a query without OPT gets none;
# version 1 gets BADVERS (extended rcode 16) with an OPT of version 0;
# unknown options are ignored, not echoed.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 30
make_store example.test "$DATA/example.test.zone"
start_dnsd
A_WWW="www.example.test. 300 IN A 192.0.2.80"

out=$(q www.example.test A)
is "$(dig_edns "$out")" "version: 0, flags:; udp: 1232" "EDNS query: OPT back, version 0, no flags, udp 1232"
is "$(dig_section "$out" ANSWER)" "$A_WWW" "EDNS query: normal answer"

out=$(q +bufsize=4096 www.example.test A)
is "$(dig_edns "$out")" "version: 0, flags:; udp: 1232" "client offers 4096: server still says its own 1232"
out=$(q +bufsize=512 www.example.test A)
is "$(dig_edns "$out")" "version: 0, flags:; udp: 1232" "client offers 512: server still says its own 1232"

out=$(q +noedns www.example.test A)
unlike "$out" 'OPT PSEUDOSECTION|^; EDNS:' "query without OPT: no OPT in the response"
is "$(dig_count "$out" ADDITIONAL)" 0 "query without OPT: ADDITIONAL count 0"
is "$(dig_section "$out" ANSWER)" "$A_WWW" "query without OPT: normal answer"

out=$(q +dnssec www.example.test A)
is "$(dig_edns "$out")" "version: 0, flags: do; udp: 1232" "DO set: DO copied into the response"
is "$(dig_status "$out")" NOERROR "DO set: NOERROR"
is "$(dig_section "$out" ANSWER)" "$A_WWW" "DO set: the A record (the zone is unsigned)"

out=$(q +ednsflags=0x10 www.example.test A)
is "$(dig_edns "$out")" "version: 0, flags:; udp: 1232" "Z bits set in the query: zero in the response"

out=$(q +edns=1 +noednsneg www.example.test A)
is "$(dig_status "$out")" BADVERS "EDNS version 1: BADVERS"
like "$(dig_edns "$out")" '^version: 0, ' "EDNS version 1: OPT back with version 0"
is "$(dig_count "$out" ANSWER)" 0 "EDNS version 1: empty answer"
out=$(q +edns=1 +noednsneg nope.example.test A)
is "$(dig_status "$out")" BADVERS "EDNS version 1 for a missing name: BADVERS all the same"

out=$(q +ednsopt=65001:abcd www.example.test A)
is "$(dig_status "$out")" NOERROR "unknown EDNS option: NOERROR"
is "$(dig_section "$out" ANSWER)" "$A_WWW" "unknown EDNS option: normal answer"
unlike "$out" '^; OPT=65001' "unknown EDNS option: not echoed"
out=$(q +ednsopt=65001 +ednsopt=65002:00 +dnssec www.example.test A)
is "$(dig_section "$out" ANSWER)/$(dig_edns "$out")" "$A_WWW/version: 0, flags: do; udp: 1232" \
    "two unknown options (one empty) with DO: normal answer, DO copied"

out=$(q +tcp +dnssec www.example.test A)
is "$(dig_edns "$out")" "version: 0, flags: do; udp: 1232" "over TCP: OPT back, DO copied"

out=$(q +nocookie nope.example.test A)
like "$out" 'OPT PSEUDOSECTION' "NXDOMAIN to an EDNS query: OPT back too"

# every response to a query with OPT carries OPT (RFC 6891 7), refusals too
out=$(dnsq cases nxdomain-edns refused-edns class-ch-edns opcode2-edns opcode5-edns)
like "$(field "$out" nxdomain-edns)" '^rcode=NXDOMAIN .* ar=1 edns=0$' "NXDOMAIN to a query with OPT: OPT back"
like "$(field "$out" refused-edns)" '^rcode=REFUSED .* ar=1 edns=0$' "REFUSED (no zone) to a query with OPT: OPT back"
like "$(field "$out" class-ch-edns)" '^rcode=REFUSED .* ar=1 edns=0$' "REFUSED (class CH) to a query with OPT: OPT back"
like "$(field "$out" opcode2-edns)" '^rcode=NOTIMP opcode=2 .* ar=1 edns=0$' "NOTIMP (opcode 2) to a query with OPT: OPT back"
like "$(field "$out" opcode5-edns)" '^rcode=REFUSED opcode=5 .* ar=1 edns=0$' "REFUSED (opcode 5, UPDATE without policy) to a request with OPT: OPT back"

# the server's payload size is configurable
stop_dnsd
start_dnsd --udp-payload 1400
out=$(q www.example.test A)
is "$(dig_edns "$out")" "version: 0, flags:; udp: 1400" "--udp-payload 1400: OPT says udp 1400"
is "$(dig_section "$out" ANSWER)" "$A_WWW" "--udp-payload 1400: normal answer"
out=$(q +edns=1 +noednsneg www.example.test A)
like "$(dig_edns "$out")" '^version: 0, flags:; udp: 1400$' "--udp-payload 1400: BADVERS OPT says 1400 too"
out=$(q +noedns www.example.test A)
is "$(dig_status "$out")/$(dig_count "$out" ADDITIONAL)/$(dig_edns "$out")" "NOERROR/0/" \
    "--udp-payload 1400, no OPT asked: none sent"
