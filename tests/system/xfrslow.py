#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# xfrslow.py -- slow transfers for t_xfr_progress.sh, on loopback only, so a
# progress line is certain without any timing in pass/fail: the transfer
# cannot end before PAUSE seconds have passed.
#
#   xfrslow.py relay UPSTREAM PORTFILE LOG PAUSE LIFETIME
#       a TCP relay on 127.0.0.1 (kernel-chosen port, written to PORTFILE)
#       in front of a primary at 127.0.0.1:UPSTREAM. Every query is relayed;
#       of the answer to an AXFR or IXFR, the first message is passed at
#       once, the rest PAUSE seconds later (a slow primary; the relay itself
#       reads the primary's answer at full speed). Logs "SLOW AXFR"/"RELAY <qtype>" to LOG. Exits after
#       LIFETIME seconds.
#   xfrslow.py read PORT ZONE PAUSE
#       an AXFR client with a small receive buffer that reads the first
#       message, waits PAUSE seconds without reading (so the server blocks
#       once the socket buffers are full), then reads to the closing SOA.
#       Prints "msgs=N records=N bytes=N" (the answer's message bytes).
import socket
import struct
import sys
import threading
import time


def read_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def read_msg(s):
    return read_exact(s, struct.unpack(">H", read_exact(s, 2))[0])


def qtype(msg):
    off = 12
    while off < len(msg) and msg[off] != 0:
        off += 1 + msg[off]
    return int.from_bytes(msg[off + 1:off + 3], "big")


def relay(upstream, portfile, logf, pause, life):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    ls.settimeout(0.5)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    import os
    os.rename(portfile + ".tmp", portfile)
    log = open(logf, "a", buffering=1)

    def conn(c):
        try:
            u = socket.create_connection(("127.0.0.1", upstream), timeout=30)
            c.settimeout(30)
            while True:
                q = read_msg(c)
                t = qtype(q)
                u.sendall(struct.pack(">H", len(q)) + q)
                if t not in (251, 252):
                    log.write("RELAY %d\n" % t)
                    a = read_msg(u)
                    c.sendall(struct.pack(">H", len(a)) + a)
                    continue
                log.write("SLOW %s\n" % ("AXFR" if t == 252 else "IXFR"))
                # the first message now; the rest is read at once (a primary
                # gives up on a reader that stalls: Knot's tcp-io-timeout)
                # until the upstream is quiet for a second, and passed on
                # once PAUSE seconds have gone by since the first
                a = read_msg(u)
                c.sendall(struct.pack(">H", len(a)) + a)
                first = time.monotonic()
                rest = []
                u.settimeout(1.0)
                try:
                    while True:
                        rest.append(read_msg(u))
                except socket.timeout:
                    pass
                u.settimeout(30)
                left = first + pause - time.monotonic()
                if left > 0:
                    time.sleep(left)
                for a in rest:
                    c.sendall(struct.pack(">H", len(a)) + a)
        except (EOFError, OSError):
            pass
        finally:
            c.close()

    end = time.time() + life
    while time.time() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=conn, args=(c,), daemon=True).start()


def skip_name(w, off):
    while True:
        n = w[off]
        if n >= 0xC0:
            return off + 2
        if n == 0:
            return off + 1
        off += 1 + n


def answer_types(w):
    """The types of the answer section's records (a plain walk: no dnspython per record)."""
    qd, an = struct.unpack(">HH", w[4:8])
    off = 12
    for _ in range(qd):  # the question: in the first message only (RFC 5936 2.2)
        off = skip_name(w, off) + 4
    types = []
    for _ in range(an):
        off = skip_name(w, off)
        t, _c, _ttl, rdlen = struct.unpack(">HHIH", w[off:off + 10])
        types.append(t)
        off += 10 + rdlen
    return types


def read(port, zone, pause):
    import dns.message
    q = dns.message.make_query(zone, "AXFR").to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    s.sendall(struct.pack(">H", len(q)) + q)
    msgs = records = nbytes = soas = 0
    while soas < 2:
        w = read_msg(s)
        if w[3] & 0x0F:
            sys.exit("rcode %d" % (w[3] & 0x0F))
        types = answer_types(w)
        msgs += 1
        nbytes += len(w)
        records += len(types)
        soas += types.count(6)
        if msgs == 1:
            time.sleep(pause)
    s.close()
    print("msgs=%d records=%d bytes=%d" % (msgs, records, nbytes))


if sys.argv[1] == "relay":
    relay(int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5]), float(sys.argv[6]))
else:
    read(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
