#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# slowns.py -- slow authoritative servers for t_acme_slow_ns.sh: on each of
# ADDRS (comma-separated 127.x addresses), UDP port 53, every query is held
# DELAY seconds, then forwarded to dnsd at 127.0.0.1:UPSTREAM and its answer
# relayed back (so the answer is right, only late). Logs "ADDR" per query to
# LOG. Writes READY when bound. Exits after LIFETIME seconds; loopback only.
# Usage: slowns.py ADDRS UPSTREAM DELAY LOG READY LIFETIME
import selectors
import socket
import sys
import time

addrs, upstream, delay = sys.argv[1].split(","), int(sys.argv[2]), float(sys.argv[3])
logf, ready, life = sys.argv[4], sys.argv[5], float(sys.argv[6])
sel = selectors.DefaultSelector()
for a in addrs:
    if not a.startswith("127."):
        sys.exit("slowns.py: loopback addresses only")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a, 53))
    sel.register(s, selectors.EVENT_READ, a)
open(ready, "w").close()
end = time.monotonic() + life
while time.monotonic() < end:
    for key, _ in sel.select(timeout=0.2):
        q, peer = key.fileobj.recvfrom(4096)
        with open(logf, "a") as f:
            f.write(key.data + "\n")
        time.sleep(delay)  # one at a time: the checker asks one server at a time
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(2)
        try:
            up.sendto(q, ("127.0.0.1", upstream))
            a, _ = up.recvfrom(65535)
            key.fileobj.sendto(a, peer)
        except OSError:
            pass
        finally:
            up.close()
