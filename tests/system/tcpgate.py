#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tcpgate.py -- a plain TCP forwarder on 127.0.0.1, one listening port per
target, for the cluster tests' partitions (tests/system/lib_cluster.sh).

A dnsd node given the gate's URLs instead of etcd's reaches etcd only
through this process, so the test partitions that node from etcd while the
node itself keeps running and answering queries:
  - SIGSTOP: every connection through the gate hangs (bytes sit in socket
    buffers) and new connections are accepted by the kernel but never
    served: the node sees timeouts, as behind a dead link;
  - SIGCONT: forwarding resumes where it stopped (a short partition);
  - SIGKILL + a new gate on the same ports (lib_cluster.sh gate_restart):
    every connection is reset, as after a partition long enough for TCP to
    give up; the node must reconnect and resume from its own position.
It never reads or changes the bytes it forwards.

Usage: tcpgate.py [--ports P1,P2,...|0] --port-file FILE [--lifetime S]
                  HOST:PORT[,HOST:PORT...]
  --ports: the ports to listen on, one per target (0: kernel-chosen); the
  bound ports go to FILE, one a line, when all listen. Exits after
  --lifetime seconds (default 1800), so a forgotten gate cannot linger.
"""
import argparse
import errno
import os
import selectors
import socket
import sys
import time

BUF = 65536


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", default="0")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=1800)
    ap.add_argument("targets")
    a = ap.parse_args()
    targets = []
    for t in a.targets.split(","):
        host, port = t.rsplit(":", 1)
        if host not in ("127.0.0.1", "localhost") and not host.startswith("127."):
            sys.exit("tcpgate: %s is not a loopback address" % host)
        targets.append((host, int(port)))
    ports = [int(p) for p in a.ports.split(",")]
    if ports == [0]:
        ports = [0] * len(targets)
    if len(ports) != len(targets):
        sys.exit("tcpgate: %d ports for %d targets" % (len(ports), len(targets)))

    sel = selectors.DefaultSelector()
    bound = []
    for port, target in zip(ports, targets):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", target))
        bound.append(s.getsockname()[1])
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join("%d\n" % p for p in bound))
    os.rename(tmp, a.port_file)

    # a pipe: (src, dst, pending bytes for dst). Each connection is two.
    peer = {}
    pending = {}

    def close_pair(s):
        for x in (s, peer.get(s)):
            if x is None:
                continue
            try:
                sel.unregister(x)
            except (KeyError, ValueError):
                pass
            x.close()
            peer.pop(x, None)
            pending.pop(x, None)

    def want(s):
        # read from s unless its peer still has bytes waiting to go out;
        # write to s while it has bytes waiting
        ev = 0
        if not pending.get(peer[s]):
            ev |= selectors.EVENT_READ
        if pending.get(s):
            ev |= selectors.EVENT_WRITE
        sel.modify(s, ev or selectors.EVENT_READ, ("conn", None))

    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        for key, ev in sel.select(timeout=1.0):
            s = key.fileobj
            kind, target = key.data
            if kind == "listen":
                try:
                    c, _ = s.accept()
                except OSError:
                    continue
                u = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                u.setblocking(False)
                try:
                    u.connect(target)
                except BlockingIOError:
                    pass
                except OSError:
                    c.close()
                    u.close()
                    continue
                c.setblocking(False)
                for x in (c, u):
                    x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                peer[c], peer[u] = u, c
                pending[c], pending[u] = b"", b""
                sel.register(c, selectors.EVENT_READ, ("conn", None))
                # the upstream side is writable once connected
                sel.register(u, selectors.EVENT_READ | selectors.EVENT_WRITE, ("conn", None))
                continue
            if s not in peer:
                continue
            if ev & selectors.EVENT_WRITE and pending.get(s):
                try:
                    n = s.send(pending[s])
                    pending[s] = pending[s][n:]
                except BlockingIOError:
                    pass
                except OSError:
                    close_pair(s)
                    continue
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(BUF)
                except BlockingIOError:
                    data = None
                except OSError as e:
                    if e.errno not in (errno.ECONNRESET, errno.ENOTCONN, errno.ECONNREFUSED):
                        print("tcpgate: %s" % e, file=sys.stderr)
                    close_pair(s)
                    continue
                if data == b"":
                    close_pair(s)
                    continue
                if data:
                    pending[peer[s]] += data
            if s in peer:
                want(s)
                want(peer[s])


if __name__ == "__main__":
    main()
