#!/usr/bin/env python3
# xfrq.py -- one AXFR/IXFR/SOA request to dnsd with a chosen source address,
# transport and TSIG key (dnspython), printing one line:
#   rcode=NAME an=N soa=SERIAL|- msgs=N signed=yes|no|-
# Usage: xfrq.py PORT ZONE QTYPE [--udp] [--source ADDR] [--serial N]
#                [--key NAME:ALG:SECRET]
import argparse
import socket
import struct
import sys

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("zone")
ap.add_argument("qtype")
ap.add_argument("--udp", action="store_true")
ap.add_argument("--source", default="127.0.0.1")
ap.add_argument("--serial", type=int)
ap.add_argument("--key")
a = ap.parse_args()

zone = a.zone.rstrip(".") + "."
q = dns.message.make_query(zone, a.qtype)
if a.serial is not None:
    q.authority.append(dns.rrset.from_text(zone, 0, "IN", "SOA",
                                           f". . {a.serial} 0 0 0 0"))
if a.key:
    name, alg, secret = a.key.split(":", 2)
    q.use_tsig(dns.tsigkeyring.from_text({name: secret}), keyname=name,
               algorithm=alg)
try:
    if a.udp:
        r = dns.query.udp(q, "127.0.0.1", port=a.port, timeout=3, source=a.source)
        msgs = [r]
    else:
        # read every message of the answer on one TCP connection
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        s.bind((a.source, 0))
        s.connect(("127.0.0.1", a.port))
        w = q.to_wire()
        s.sendall(struct.pack("!H", len(w)) + w)
        msgs = []
        soas = 0
        ctx = None
        while True:
            hdr = b""
            while len(hdr) < 2:
                c = s.recv(2 - len(hdr))
                if not c:
                    raise EOFError("connection closed")
                hdr += c
            (ln,) = struct.unpack("!H", hdr)
            buf = b""
            while len(buf) < ln:
                c = s.recv(ln - len(buf))
                if not c:
                    raise EOFError("connection closed")
                buf += c
            r = dns.message.from_wire(buf, keyring=q.keyring, request_mac=q.mac,
                                      xfr=True, origin=None, tsig_ctx=ctx,
                                      multi=bool(msgs), one_rr_per_rrset=True)
            ctx = r.tsig_ctx
            msgs.append(r)
            for rr in r.answer:
                if rr.rdtype == dns.rdatatype.SOA:
                    soas += len(rr)
            first = msgs[0]
            if first.rcode() != 0 or a.qtype not in ("AXFR", "IXFR"):
                break
            if soas >= 2 or (a.qtype == "IXFR" and soas == 1 and
                             sum(len(x) for x in r.answer) == 1 and len(msgs) == 1):
                break
        s.close()
    r = msgs[0]
    an = sum(len(rr) for m in msgs for rr in m.answer)
    soa = "-"
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            soa = str(rr[0].serial)
            break
    signed = "-" if not a.key else ("yes" if all(m.had_tsig for m in msgs) else "no")
    print(f"rcode={dns.rcode.to_text(r.rcode())} an={an} soa={soa} msgs={len(msgs)} signed={signed}")
except Exception as e:  # a refused/failed exchange is an answer too
    print(f"error={type(e).__name__}: {e}")
    sys.exit(0)
