#!/bin/sh
# t_malformed.sh -- packets that are not plain queries (RFC 1035 4.1.1,
# RFC 6891 6.1.1, RFC 3425, RFC 6895 2.3): malformed queries get FORMERR
# with the ID echoed; opcodes other than QUERY get NOTIMP with the opcode
# echoed (UPDATE goes to the update thread: REFUSED for a zone without an
# update policy); classes other than IN are REFUSED; a response (QR=1) or a packet
# shorter than a header gets no reply at all. Packets are crafted byte by
# byte by dnsq.py (see CASES there).
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 28
make_store example.test "$DATA/example.test.zone"
start_dnsd

udp=$(dnsq cases ok ok-edns qdcount2 trunc-qname trunc-qtype ptr-loop ptr-header two-opt \
    opt-in-answer opt-badlen opcode1 opcode2 opcode5 qr short class-ch class-hs)
r() { field "$udp" "$1"; }

like "$(r ok)" '^rcode=NOERROR opcode=0 qr=1 aa=1 tc=0 rd=0 id=ok qd=1 an=1 ' "control query: NOERROR, AA, one answer"
like "$(r ok-edns)" '^rcode=NOERROR opcode=0 qr=1 aa=1 .* id=ok qd=1 an=1 ns=[0-9]+ ar=[1-9]' "control query with EDNS: answered, OPT back"
for c in qdcount2 trunc-qname trunc-qtype ptr-loop ptr-header two-opt opt-in-answer opt-badlen; do
    like "$(r $c)" '^rcode=FORMERR opcode=0 qr=1 .* id=ok .* an=0 ' "$c: FORMERR, ID echoed, no answer"
done
like "$(r opcode1)" '^rcode=NOTIMP opcode=1 qr=1 .* id=ok .* an=0 ' "opcode 1 (IQUERY): NOTIMP, opcode echoed"
like "$(r opcode2)" '^rcode=NOTIMP opcode=2 qr=1 .* id=ok .* an=0 ' "opcode 2 (STATUS): NOTIMP, opcode echoed"
like "$(r opcode5)" '^rcode=REFUSED opcode=5 qr=1 .* id=ok .* an=0 ' "opcode 5 (UPDATE) to a zone without update policy: REFUSED, opcode echoed"
is "$(r qr)" "noreply timeout" "a response (QR=1) sent to the server: no reply"
is "$(r short)" "noreply timeout" "5 bytes (shorter than a header): no reply"
like "$(r class-ch)" '^rcode=REFUSED opcode=0 qr=1 aa=0 .* id=ok .* an=0 ' "class CH: REFUSED, AA clear"
like "$(r class-hs)" '^rcode=REFUSED opcode=0 qr=1 aa=0 .* id=ok .* an=0 ' "class HS: REFUSED, AA clear"

# over TCP: the same verdicts, framed
tcp=$(dnsq cases --tcp ok qdcount2 ptr-loop two-opt opt-in-answer opcode2 opcode5 qr class-ch)
t() { field "$tcp" "$1"; }
like "$(t ok)" '^rcode=NOERROR opcode=0 qr=1 aa=1 .* id=ok qd=1 an=1 ' "TCP control query: answered"
for c in qdcount2 ptr-loop two-opt opt-in-answer; do
    like "$(t $c)" '^rcode=FORMERR opcode=0 qr=1 .* id=ok .* an=0 ' "TCP $c: FORMERR"
done
like "$(t opcode2)" '^rcode=NOTIMP opcode=2 ' "TCP opcode 2: NOTIMP"
like "$(t opcode5)" '^rcode=REFUSED opcode=5 ' "TCP opcode 5 (UPDATE, no policy): REFUSED"
like "$(t qr)" '^noreply ' "TCP response packet: no reply"
like "$(t class-ch)" '^rcode=REFUSED opcode=0 qr=1 aa=0 ' "TCP class CH: REFUSED"

# dig's view of a non-IN class, and the server is still fine after all that
out=$(q -c CH www.example.test A)
is "$(dig_status "$out")" REFUSED "dig class CH: REFUSED"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "server still answering after the malformed packets"
