#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# dnsfwd.py -- one DNS address for a cluster of dnsd nodes, for tests whose
# client takes a single server (Pebble's -dnsserver in t_cluster_acme.sh):
# every UDP query to LISTEN (127.x:port) is sent to the UPSTREAMS in turn
# (comma-separated 127.x:port), each given TIMEOUT seconds; the first answer
# is relayed back, so a dead node is skipped. Logs "qname upstream" (or
# "qname none") per query to LOG. Writes READY when bound. Exits after
# LIFETIME seconds. Loopback only; one query at a time.
# Usage: dnsfwd.py LISTEN UPSTREAMS TIMEOUT LOG READY LIFETIME
import socket
import sys
import time


def addr(s):
    host, port = s.rsplit(":", 1)
    if not host.startswith("127."):
        sys.exit("dnsfwd.py: loopback addresses only")
    return (host, int(port))


def qname(q):
    labels, i = [], 12
    while i < len(q) and q[i] != 0 and len(labels) < 128:
        n = q[i]
        labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return ".".join(labels) + "."


listen, ups = addr(sys.argv[1]), [addr(u) for u in sys.argv[2].split(",")]
timeout, logf, ready, life = float(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6])
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(listen)
srv.settimeout(0.2)
open(ready, "w").close()
end = time.monotonic() + life
while time.monotonic() < end:
    try:
        q, peer = srv.recvfrom(4096)
    except socket.timeout:
        continue
    if len(q) < 12:
        continue
    used = "none"
    for u in ups:
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.settimeout(timeout)
        try:
            c.sendto(q, u)
            a, _ = c.recvfrom(65535)
        except OSError:
            continue
        finally:
            c.close()
        if len(a) >= 12 and a[:2] == q[:2]:
            srv.sendto(a, peer)
            used = "%s:%d" % u
            break
    with open(logf, "a") as f:
        f.write("%s %s\n" % (qname(q), used))
