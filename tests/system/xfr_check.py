#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/system/xfr_check.py -- receive a zone from dnsd with dnspython's
own transfer client (an implementation independent of dnsd's and ldns's)
and compare it with what `dnsctl zone export` prints. Used by
t_xfr_roundtrip.sh; 127.0.0.1 only, every transfer bounded in time.

  xfr_check.py axfr PORT ZONE EXPORT OUT   AXFR; compare with EXPORT (the
                                           default view of an export); save
                                           the zone as OUT
  xfr_check.py ixfr PORT ZONE BASE EXPORT  IXFR from BASE's serial; say
                                           whether the answer was incremental;
                                           apply it to BASE (dnspython's
                                           inbound IXFR); compare with EXPORT

Prints one "key value" line per fact; exit 0 unless the tool itself failed.
"""
import sys

import dns.message
import dns.query
import dns.rdatatype
import dns.xfr
import dns.zone


def default_view(path, origin):
    """The part of an export before its first $REGION section."""
    with open(path) as f:
        text = f.read()
    cut = text.find("\n$REGION ")
    return dns.zone.from_text(text if cut < 0 else text[:cut + 1], origin=origin,
                              relativize=False)


def diff(a, b):
    """Records in one zone and not the other, as text (at most 10 of each)."""
    def recs(z):
        out = set()
        for name, node in z.nodes.items():
            for rds in node.rdatasets:
                for rd in rds:
                    out.add("%s %d %s %s" % (name, rds.ttl, dns.rdatatype.to_text(rds.rdtype),
                                              rd.to_text()))
        return out
    ra, rb = recs(a), recs(b)
    return sorted(ra - rb)[:10], sorted(rb - ra)[:10], len(ra)


def report(got, want):
    only_got, only_want, n = diff(got, want)
    print("records %d" % n)
    print("same %s" % ("yes" if not only_got and not only_want else "no"))
    for r in only_got:
        print("only-transferred %s" % r)
    for r in only_want:
        print("only-exported %s" % r)


def main():
    mode, port, zone = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "axfr":
        counted = []

        def counting(it):
            for m in it:
                counted.append(m)
                yield m
        z = dns.zone.from_xfr(counting(dns.query.xfr("127.0.0.1", zone, port=port, lifetime=30,
                                                     relativize=False)), relativize=False)
        print("messages %d" % len(counted))
        report(z, default_view(sys.argv[4], zone))
        z.to_file(sys.argv[5], relativize=False)
    elif mode == "ixfr":
        base = dns.zone.from_file(sys.argv[4], origin=zone, relativize=False)
        serial = base.get_soa().serial
        # the raw answer: incremental when its second record is an SOA (RFC 1995 4)
        rrs = []
        for m in dns.query.xfr("127.0.0.1", zone, rdtype=dns.rdatatype.IXFR, serial=serial,
                               port=port, lifetime=30, relativize=False):
            for rrset in m.answer:
                for rd in rrset:
                    rrs.append((rrset.rdtype, rd))
        kind = "up-to-date" if len(rrs) == 1 else (
            "incremental" if len(rrs) > 1 and rrs[1][0] == dns.rdatatype.SOA else "axfr-style")
        print("kind %s" % kind)
        print("soas %d" % sum(1 for t, _ in rrs if t == dns.rdatatype.SOA))
        query, _ = dns.xfr.make_query(base, serial=serial)
        dns.query.inbound_xfr("127.0.0.1", base, query=query, port=port, lifetime=30)
        report(base, default_view(sys.argv[5], zone))
    else:
        sys.exit("usage: xfr_check.py axfr|ixfr ...")


if __name__ == "__main__":
    main()
