#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# xfrcut.py -- a primary that dies in the middle of a zone transfer, for
# t_xfrin_cut.sh: a TCP relay on 127.0.0.1 (kernel-chosen port, written to
# PORTFILE) in front of a real primary at 127.0.0.1:UPSTREAM. Every query is
# relayed; the answer to an AXFR or IXFR is cut: the 2-byte length of the
# whole first message, then only half of its bytes, then the connection is
# closed (as a primary killed mid-transfer). Logs "CUT AXFR"/"CUT IXFR"/
# "RELAY <qtype>" to LOG. Exits after LIFETIME seconds; loopback only.
# Usage: xfrcut.py UPSTREAM PORTFILE LOG LIFETIME
import os
import socket
import sys
import threading
import time

upstream, portfile, logf, life = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])


def read_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def read_msg(s):
    n = int.from_bytes(read_exact(s, 2), "big")
    return read_exact(s, n)


def qtype(msg):
    off = 12
    while off < len(msg) and msg[off] != 0:
        off += 1 + msg[off]
    return int.from_bytes(msg[off + 1:off + 3], "big")


def log(line):
    with open(logf, "a") as f:
        f.write(line + "\n")


def serve(c):
    c.settimeout(10)
    up = socket.create_connection(("127.0.0.1", upstream), timeout=10)
    try:
        while True:
            q = read_msg(c)
            t = qtype(q)
            up.sendall(len(q).to_bytes(2, "big") + q)
            a = read_msg(up)
            if t in (251, 252):
                log("CUT " + ("IXFR" if t == 251 else "AXFR"))
                c.sendall(len(a).to_bytes(2, "big") + a[: len(a) // 2])
                return
            log("RELAY %d" % t)
            c.sendall(len(a).to_bytes(2, "big") + a)
    except (EOFError, OSError):
        pass
    finally:
        up.close()
        c.close()


ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(16)
ls.settimeout(0.2)
with open(portfile + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
end = time.monotonic() + life
while time.monotonic() < end:
    try:
        c, _ = ls.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
