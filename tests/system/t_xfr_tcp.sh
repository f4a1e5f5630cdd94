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
plan 7
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

# a full queue: the one transfer thread is held by an allowed client's idle
# connection (kept XFROUT_IDLE_MS for its next request), so IXFR-over-UDP
# requests queue up; past the queue's bound (2 x 1 + 16) the worker answers
# SERVFAIL itself instead of waiting
"$PYTHON" - "$PORT" "$TMPD/held" <<'PY' &
import os, socket, struct, sys, time
import dns.message
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
w = dns.message.make_query("example.test.", "AXFR").to_wire()
s.sendall(struct.pack("!H", len(w)) + w)
s.recv(65536)
open(sys.argv[2], "w").write("held\n")
time.sleep(8)
PY
HELD_PID=$!
i=0
while [ ! -s "$TMPD/held" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
out=$("$PYTHON" - "$PORT" <<'PY'
import socket, sys, time
import dns.message, dns.rcode, dns.rrset
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for i in range(40):
    m = dns.message.make_query("example.test.", "IXFR")
    m.id = i
    m.authority.append(dns.rrset.from_text("example.test.", 0, "IN", "SOA", ". . 1 0 0 0 0"))
    s.sendto(m.to_wire(), ("127.0.0.1", port))
rcodes = []
end = time.time() + 2
while time.time() < end:
    try:
        r = dns.message.from_wire(s.recv(4096))
        rcodes.append(dns.rcode.to_text(r.rcode()))
    except socket.timeout:
        break
print("servfail=%d" % rcodes.count("SERVFAIL"))
PY
)
like "$out" 'servfail=(1[0-9]|2[0-9])$' "a full hand-off queue: the worker answers SERVFAIL at once ($out)"
# shutdown does not wait for the held connection's idle time (10 s)
signal_dnsd TERM 5
is "$DNSD_GONE/$DNSD_RC" yes/0 "SIGTERM while a transfer thread holds a connection: a clean, prompt exit"
kill "$HELD_PID" 2>/dev/null
wait "$HELD_PID" 2>/dev/null || true
