#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dnsdiff.py -- ask two DNS servers the same questions and compare the answers.

Called by tests/system/t_dname_knot.sh (differential test of dnsd against a
real knotd on the same zones). It never judges a server right or wrong on
its own: it reports where the two differ, and the calling test decides.

Usage: dnsdiff.py --a PORT --b PORT [--ecs-a SUBNET] [--types T,T,...] NAMEFILE...
  Every name of every NAMEFILE (one absolute name a line, "#" comments) is
  asked with every type (default A,AAAA,TXT,DNAME,CNAME,ANY,NS,SOA,MX) from
  127.0.0.1:PORT of server a and of server b: over UDP with EDNS (payload
  1232, no DO; ANY too: dnsd and Knot both answer it with one RRset there,
  RFC 8482, the one of the lowest type). --ecs-a adds an ECS option (RFC 7871) for that
  subnet to the queries to server a only.
  Compared: rcode (extended included), AA and TC, and each section as a set
  of RRs (owner lower-cased, TTL, class, type, rdata in canonical text form):
  order and duplicates do not count (Knot repeats the synthesized CNAMEs of
  a DNAME loop until its chain limit; dnsd stops at the loop).
  Prints one line per difference:
    DIFF NAME TYPE: WHAT: a=... b=...
  then "compared N differ M". Exit status 0 unless a server did not answer
  (after 3 tries, 2 s each): "NOANSWER NAME TYPE SERVER".
"""
import argparse
import sys

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype


def ask(port, name, rtype, tcp, ecs):
    opts = [dns.edns.ECSOption(ecs.split("/")[0], int(ecs.split("/")[1]))] if ecs else []
    m = dns.message.make_query(name, rtype, use_edns=0, payload=1232, options=opts)
    m.flags &= ~dns.flags.RD
    for _ in range(3):
        try:
            if tcp:
                return dns.query.tcp(m, "127.0.0.1", port=port, timeout=2)
            return dns.query.udp(m, "127.0.0.1", port=port, timeout=2, ignore_trailing=True)
        except dns.exception.Timeout:
            continue
    return None


def rrs(section):
    out = set()
    for rrset in section:
        for rd in rrset:
            out.add("%s %d %s %s %s" % (rrset.name.to_text().lower(), rrset.ttl,
                                        dns.rdataclass.to_text(rrset.rdclass),
                                        dns.rdatatype.to_text(rrset.rdtype),
                                        rd.to_text().lower()))
    return out


def summary(r):
    return {
        "rcode": dns.rcode.to_text(r.rcode()),
        "aa": bool(r.flags & dns.flags.AA),
        "tc": bool(r.flags & dns.flags.TC),
        "answer": rrs(r.answer),
        "authority": rrs(r.authority),
        "additional": rrs(r.additional),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", type=int, required=True)
    ap.add_argument("--b", type=int, required=True)
    ap.add_argument("--ecs-a")
    ap.add_argument("--types", default="A,AAAA,TXT,DNAME,CNAME,ANY,NS,SOA,MX")
    ap.add_argument("files", nargs="+")
    o = ap.parse_args()
    names = []
    for f in o.files:
        with open(f) as fh:
            for line in fh:
                line = line.split("#", 1)[0].strip()
                if line:
                    names.append(line)
    n = differ = 0
    status = 0
    for name in names:
        for t in o.types.split(","):
            tcp = False
            ra = ask(o.a, name, t, tcp, o.ecs_a)
            rb = ask(o.b, name, t, tcp, None)
            if ra is None or rb is None:
                print("NOANSWER %s %s %s" % (name, t, "a" if ra is None else "b"))
                status = 1
                continue
            n += 1
            sa, sb = summary(ra), summary(rb)
            for k in ("rcode", "aa", "tc", "answer", "authority", "additional"):
                if sa[k] != sb[k]:
                    differ += 1
                    va, vb = sa[k], sb[k]
                    if isinstance(va, set):
                        va, vb = sorted(va - sb[k]), sorted(vb - sa[k])
                    print("DIFF %s %s: %s: a=%s b=%s" % (name, t, k, va, vb))
                    break
    print("compared %d differ %d" % (n, differ))
    return status


if __name__ == "__main__":
    sys.exit(main())
