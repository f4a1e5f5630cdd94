#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# ctl_client.py -- a raw client for dnsd's control socket, for
# tests/system/t_control.sh (what dnsctl never sends: bad, oversized and
# idle requests). Every wait is bounded (5 s per socket operation).
#   ctl_client.py raw PATH TEXT      send TEXT as given (\n is not added),
#                                    print the answer up to EOF, then
#                                    "closed" once the server closed
#   ctl_client.py idle PATH N CMD... open N connections that send nothing,
#                                    run CMD (prints its output and exit
#                                    code), then print how many of the N
#                                    the server closed
import socket
import struct
import subprocess
import sys


def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # a blocking connect waits (SO_SNDTIMEO at most) while the backlog is
    # full; Python's timeout mode would make it non-blocking, and a Unix
    # socket's non-blocking connect fails with EAGAIN then, never retried
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 5, 0))
    s.connect(path)
    s.settimeout(5)
    return s


def read_all(s):
    out = b""
    for _ in range(1000):
        b = s.recv(65536)
        if not b:
            return out, True
        out += b
    return out, False


def main():
    if sys.argv[1] == "raw":
        s = conn(sys.argv[2])
        data = sys.argv[3].encode().decode("unicode_escape").encode("latin-1")
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed on us mid-way: the answer may still be there
        out, closed = read_all(s)
        print(out.decode("utf-8", "replace").rstrip("\n"))
        print("closed" if closed else "open")
        return 0
    if sys.argv[1] == "idle":
        path, n, cmd = sys.argv[2], int(sys.argv[3]), sys.argv[4:]
        idle = [conn(path) for _ in range(n)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        sys.stdout.write(r.stdout + r.stderr)
        print("exit %d" % r.returncode)
        closed = 0
        for s in idle:
            s.settimeout(0.2)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed += 1
            s.close()
        print("closed %d of %d" % (closed, n))
        return 0
    print("usage: ctl_client.py raw|idle ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
