#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""shardloop.py -- a bounded query loop against one region's view of a
certificate shard, for t_shard_atomic.sh.

Round after round, as a client of the region (EDNS Client Subnet SUBNET):
  UDP  NAME A                    must be exactly the pool (--pool a,b)
  UDP  _443._tcp.NAME TLSA       3 1 1 records only, never empty
  TCP  _443._tcp.NAME ANY        one response holding both the generation TXT
                                 ("dnsd-shard gen=G serial=S spki=H next=N")
                                 and the TLSA set: H and N must both be in it
                                 (a renewal half applied would break this)
Generations must never go back. Runs until STOPFILE exists or --seconds /
--max rounds run out; prints
  rounds N udp U tcp T violations V
  generations G1 G2 ...          (distinct, in order seen)
  violation ...                  (the first few)
Loopback only; the caller judges."""
import argparse
import os
import re
import time

import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--seconds", type=float, default=30.0)
ap.add_argument("--max", type=int, default=20000)
ap.add_argument("--pool", required=True)
ap.add_argument("--ready", help="touch this file after the first round")
ap.add_argument("name")
ap.add_argument("subnet")
ap.add_argument("stopfile")
a = ap.parse_args()
ip, plen = a.subnet.split("/")
opt = dns.edns.ECSOption(ip, int(plen))
pool = sorted(a.pool.split(","))
tlsa_owner = "_443._tcp." + a.name
gens = []
violations = []
rounds = udp = tcp = 0
last_gen = -1
TXT_RE = re.compile(r"^dnsd-shard gen=(\d+) serial=([0-9A-F]+) spki=([0-9a-f]{64}) next=([0-9a-f]{64})$")


def ask(name, qtype, use_tcp):
    q = dns.message.make_query(name, qtype, use_edns=0, options=[opt])
    q.flags &= ~dns.flags.RD
    if use_tcp:
        return dns.query.tcp(q, "127.0.0.1", port=a.port, timeout=3)
    return dns.query.udp(q, "127.0.0.1", port=a.port, timeout=3)


def bad(what):
    if len(violations) < 10:
        violations.append(what)
    else:
        violations.append(None)


import dns.flags  # noqa: E402  (after argparse: --help works without dnspython)

end = time.monotonic() + a.seconds
while rounds < a.max and time.monotonic() < end and not os.path.exists(a.stopfile):
    rounds += 1
    try:
        r = ask(a.name, "A", False)
        udp += 1
        got = sorted(rd.address for rr in r.answer for rd in rr if rr.rdtype == dns.rdatatype.A)
        if r.rcode() != dns.rcode.NOERROR or got != pool:
            bad("round %d: A %s rcode %s, want %s" % (rounds, got, dns.rcode.to_text(r.rcode()), pool))
        r = ask(tlsa_owner, "TLSA", False)
        udp += 1
        tl = [rd for rr in r.answer for rd in rr if rr.rdtype == dns.rdatatype.TLSA]
        if not tl or any((t.usage, t.selector, t.mtype) != (3, 1, 1) for t in tl):
            bad("round %d: TLSA over UDP: %s" % (rounds, [t.to_text() for t in tl]))
        r = ask(tlsa_owner, "ANY", True)
        tcp += 1
        tlsa = set()
        txts = []
        for rr in r.answer:
            for rd in rr:
                if rr.rdtype == dns.rdatatype.TLSA:
                    tlsa.add(rd.cert.hex())
                elif rr.rdtype == dns.rdatatype.TXT:
                    txts.append(b"".join(rd.strings).decode("ascii", "replace"))
        if len(txts) != 1 or not TXT_RE.match(txts[0]):
            bad("round %d: generation TXT %s" % (rounds, txts))
            continue
        gen, serial, spki, nxt = TXT_RE.match(txts[0]).groups()
        gen = int(gen)
        if spki not in tlsa or nxt not in tlsa:
            bad("round %d: gen %d serial %s: TLSA %s lacks %s" % (
                rounds, gen, serial, sorted(x[:8] for x in tlsa),
                "current" if spki not in tlsa else "next"))
        if gen < last_gen:
            bad("round %d: generation went back %d -> %d" % (rounds, last_gen, gen))
        if gen != last_gen:
            gens.append(gen)
        last_gen = max(last_gen, gen)
    except Exception as e:  # a timeout or a malformed answer is a violation too
        bad("round %d: %s" % (rounds, e))
    if a.ready and rounds == 1:
        open(a.ready, "w").close()
print("rounds %d udp %d tcp %d violations %d" % (rounds, udp, tcp, len(violations)))
print("generations " + " ".join(str(g) for g in gens))
for v in violations:
    if v:
        print("violation " + v)
