#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# blackhole.py -- N TCP listeners on 127.0.0.1 that accept and never answer
# (a load balancer whose TLS stack hangs), for t_shard_probe.sh. Writes the
# ports, one a line, to PORTFILE; keeps MAXFILE holding the largest number of
# connections open at the same time across all listeners (a prober that
# works sequentially never has more than one). Exits after LIFETIME seconds.
# Usage: blackhole.py N PORTFILE MAXFILE LIFETIME
import selectors
import socket
import sys
import time

n, portfile, maxfile, life = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
sel = selectors.DefaultSelector()
ports = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, "listen")
    ports.append(s.getsockname()[1])
with open(portfile + ".tmp", "w") as f:
    f.write("\n".join(str(p) for p in ports) + "\n")
import os
os.rename(portfile + ".tmp", portfile)
open_now, most = 0, 0
end = time.monotonic() + life
while time.monotonic() < end:
    for key, _ in sel.select(timeout=0.2):
        if key.data == "listen":
            c, _ = key.fileobj.accept()
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, "conn")
            open_now += 1
            if open_now > most:
                most = open_now
                with open(maxfile, "w") as f:
                    f.write("%d\n" % most)
        else:
            try:
                data = key.fileobj.recv(4096)  # the ClientHello: read, never answered
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                open_now -= 1
