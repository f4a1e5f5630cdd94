#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ecsloop.py -- a bounded query loop with EDNS Client Subnet, for t_geo.sh.

Asks NAME A with ECS SUBNET over UDP, one query at a time, until STOPFILE
exists (or --seconds / --max queries run out), and prints:
  queries N failed F
  seen COUNT ANSWER      (one line per distinct answer, in order first seen)
A failure is a timeout or any rcode but NOERROR. Loopback only; the caller
judges."""
import argparse
import os
import socket
import time

import dns.edns
import dns.message
import dns.query
import dns.rcode

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--seconds", type=float, default=10.0)
ap.add_argument("--max", type=int, default=50000)
ap.add_argument("--ready", help="touch this file after the first answer")
ap.add_argument("name")
ap.add_argument("subnet")
ap.add_argument("stopfile")
a = ap.parse_args()
ip, plen = a.subnet.split("/")
opt = dns.edns.ECSOption(ip, int(plen))
n = failed = 0
seen = []
counts = {}
end = time.monotonic() + a.seconds
while n < a.max and time.monotonic() < end and not os.path.exists(a.stopfile):
    m = dns.message.make_query(a.name, "A", use_edns=0, options=[opt])
    n += 1
    try:
        r = dns.query.udp(m, a.host, port=a.port, timeout=1.0)
    except (dns.exception.Timeout, socket.error):
        failed += 1
        continue
    if r.rcode() != dns.rcode.NOERROR:
        failed += 1
        continue
    ans = " ".join(sorted(rd.to_text() for rrs in r.answer for rd in rrs)) or "-"
    if ans not in counts:
        seen.append(ans)
        counts[ans] = 0
    counts[ans] += 1
    if a.ready and n == 1 + failed:
        open(a.ready, "w").close()
print(f"queries {n} failed {failed}")
for s in seen:
    print(f"seen {counts[s]} {s}")
