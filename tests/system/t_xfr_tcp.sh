#!/bin/sh
# t_xfr_tcp.sh -- a transfer takes its TCP connection off the worker (the
# hand-off) and gives its slot back when done: with tcp-max-connections 2
# and one transfer thread, ten transfers in a row all complete and a plain
# TCP query is still served after them (a leaked slot would stall the third
# one); two requests written at once on one connection (the second already
# read by the worker when the first is handed off) are both answered; the
# transfer thread keeps the connection for the client's next request.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 5
make_store example.test "$DATA/example.test.zone"
start_dnsd --tcp-max-connections 2 --xfr-max-transfers 1 --rrl-rate 0
dnsctl zone set example.test --allow-transfer 127.0.0.1 >/dev/null
x() { "$PYTHON" "$top_srcdir/tests/system/xfrq.py" "$PORT" example.test "$@"; }

good=0
for i in 1 2 3 4 5 6 7 8 9 10; do
    case $(x AXFR) in "rcode=NOERROR an=123 "*) good=$((good + 1)) ;; esac
done
is "$good" 10 "10 AXFRs in a row with 2 TCP slots: all complete (slots given back)"
like "$(q +tcp www.example.test A)" 'status: NOERROR' "a plain TCP query after them is served"

out=$("$PYTHON" - "$PORT" <<'PY'
import socket, struct, sys
import dns.message, dns.rdatatype
port = int(sys.argv[1])
def msg(qtype, qid):
    m = dns.message.make_query("example.test.", qtype)
    m.id = qid
    w = m.to_wire()
    return struct.pack("!H", len(w)) + w
s = socket.create_connection(("127.0.0.1", port), timeout=5)
# an AXFR and an SOA query in one write: the worker reads both, hands off the
# first with the second as read-ahead; then another AXFR on the kept connection
s.sendall(msg("AXFR", 1) + msg("SOA", 2))
def read():
    h = b""
    while len(h) < 2:
        h += s.recv(2 - len(h))
    n, = struct.unpack("!H", h)
    b = b""
    while len(b) < n:
        b += s.recv(n - len(b))
    return dns.message.from_wire(b, one_rr_per_rrset=True)
seen = {}
def xfr(qid):
    soas = 0
    while soas < 2:
        r = read()
        assert r.id == qid, (r.id, qid)
        seen[qid] = seen.get(qid, 0) + sum(len(x) for x in r.answer)
        soas += sum(len(x) for x in r.answer if x.rdtype == dns.rdatatype.SOA)
xfr(1)
r = read()
print("soa-id=%d an=%d" % (r.id, sum(len(x) for x in r.answer)))
s.sendall(msg("AXFR", 3))
xfr(3)
print("axfr1=%d axfr3=%d" % (seen[1], seen[3]))
PY
)
like "$out" 'soa-id=2 an=1' "the request read ahead with the first transfer is answered next"
like "$out" 'axfr1=123 axfr3=123' "both AXFRs on the kept connection are complete"
like "$(cat "$TMPD/dnsd.log")" 'xfr: 1 transfer threads' "xfr-max-transfers 1: one transfer thread"
