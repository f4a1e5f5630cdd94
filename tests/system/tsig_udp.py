#!/usr/bin/python3
"""A UDP front for tests/unit/tsig_peer, so that dig -y and kdig -y (BIND's
and Knot's TSIG) can talk to our TSIG code (zones/tsig.c) on loopback.
Run by t_tsig_dig.sh.

  tsig_udp.py PEER PORTFILE NAME ALG B64

Binds 127.0.0.1 on a kernel-chosen port, writes the port to PORTFILE, then
for each datagram runs `PEER server NAME ALG B64 1` (verify the request,
answer it with one A record, signed; or the TSIG error answer) and sends
the answer back. Bounded: it exits after 60 s or 50 datagrams."""
import os
import socket
import subprocess
import sys
import time

peer, portfile, name, alg, b64 = sys.argv[1:6]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(portfile + ".tmp", "w") as f:
    f.write(f"{s.getsockname()[1]}\n")
os.rename(portfile + ".tmp", portfile)
end = time.time() + 60
for _ in range(50):
    left = end - time.time()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        data, addr = s.recvfrom(65535)
    except socket.timeout:
        break
    out = subprocess.run([peer, "server", name, alg, b64, "1"], input=data.hex() + "\n",
                         capture_output=True, text=True, timeout=10).stdout.split("\n")
    print(out[0], flush=True)  # "verify CODE", for the test's log
    if len(out) > 1 and out[1]:
        s.sendto(bytes.fromhex(out[1]), addr)
