#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# cache_model.py -- a strict model of a validating resolver's cache, run
# against dnsd during a key rollover (tests/system/t_dnssec_rollover.sh).
#
# A real validator (Unbound) that meets a bogus answer re-fetches the keys
# and tries again, so a rollover that removes a key too early may still
# look fine through it. This model does not retry: it polls dnsd directly
# (DO=1) every --interval seconds for each zone's DS (answered from the
# parent side), DNSKEY and some data RRsets, remembers every RRset with the
# time it was fetched and its TTL, and checks what a cache could combine:
#   - a DNSKEY RRset fetched at T must validate against EVERY DS RRset
#     fetched in [T - DS TTL, T] (some DS matches a key whose RRSIG over
#     the DNSKEY RRset verifies);
#   - a data RRset fetched at T must be signed (RRSIG verified) by a key of
#     EVERY DNSKEY RRset fetched in [T - DNSKEY TTL, T].
# The RFC 7583 waits exist to make exactly these hold. Runs until FILE
# --stop exists (or --max-rounds); prints one summary line, the first
# failures, and exits 1 if any combination failed. Traffic to 127.0.0.1 only.
import argparse
import os
import sys
import time

import dns.dnssec
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.rrset


def ask(port, name, rdtype, ecs=None):
    opts = [dns.edns.ECSOption(ecs, 32)] if ecs else []
    q = dns.message.make_query(name, rdtype, want_dnssec=True, options=opts, payload=4096)
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=2)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=2)
    return r


def rrset_and_sigs(msg, name, rdtype):
    n = dns.name.from_text(name)
    rr = sig = None
    for s in msg.answer + msg.authority:
        if s.name == n and s.rdtype == rdtype:
            rr = s
        if s.name == n and s.rdtype == dns.rdatatype.RRSIG and s.covers == rdtype:
            sig = s
    return rr, sig


def signed_by(rr, sig, keyset, origin):
    """Does some RRSIG in sig verify rr with a key of keyset?"""
    if rr is None or sig is None or keyset is None:
        return False
    try:
        dns.dnssec.validate(rr, sig, {dns.name.from_text(origin): keyset})
        return True
    except dns.dnssec.ValidationFailure:
        return False


def ds_ok(dnskey, dnskey_sig, ds, zone):
    """Some DS of ds matches a key of dnskey that signs the DNSKEY RRset."""
    if dnskey is None or ds is None:
        return False
    zn = dns.name.from_text(zone)
    for key in dnskey:
        for d in ds:
            try:
                mine = dns.dnssec.make_ds(zn, key, d.digest_type)
            except Exception:  # an unsupported digest type
                continue
            if mine == d:
                one = dns.rrset.from_rdata_list(zn, dnskey.ttl, [key])
                if signed_by(dnskey, dnskey_sig, one, zone):
                    return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--zone", action="append", required=True, help="a child zone to watch")
    ap.add_argument("--name", action="append", default=[],
                    help="ZONE:NAME:QTYPE[/TYPE][:ECS-ADDRESS] data to fetch: the "
                         "TYPE RRset at NAME (answer or authority; default QTYPE)")
    ap.add_argument("--stop", required=True)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--max-rounds", type=int, default=3000)
    a = ap.parse_args()
    hist = {}  # (zone, kind) -> [(t, ttl, rrset, sigs)]
    checks = fails = rounds = 0
    first = []

    def fail(text):
        nonlocal fails
        fails += 1
        if len(first) < 5:
            first.append(text)

    def alive(key, t):
        return [h for h in hist.get(key, []) if h[0] <= t <= h[0] + h[1]]

    while rounds < a.max_rounds and not os.path.exists(a.stop):
        rounds += 1
        for z in a.zone:
            try:
                t = time.monotonic()
                ds, ds_sig = rrset_and_sigs(ask(a.port, z, "DS"), z, dns.rdatatype.DS)
                if ds is not None:
                    hist.setdefault((z, "DS"), []).append((t, ds.ttl, ds, ds_sig))
                t = time.monotonic()
                m = ask(a.port, z, "DNSKEY")
                dk, dk_sig = rrset_and_sigs(m, z, dns.rdatatype.DNSKEY)
                for (tds, _, cached_ds, _) in alive((z, "DS"), t):
                    checks += 1
                    if not ds_ok(dk, dk_sig, cached_ds, z):
                        fail("%s: DNSKEY fetched at +%.1f s not proven by the DS cached at +%.1f s"
                             % (z, t - start, tds - start))
                if dk is not None:
                    hist.setdefault((z, "DNSKEY"), []).append((t, dk.ttl, dk, dk_sig))
                for spec in a.name:
                    parts = spec.split(":")
                    if parts[0] != z:
                        continue
                    t = time.monotonic()
                    qt, _, ct = parts[2].partition("/")
                    m = ask(a.port, parts[1], qt, parts[3] if len(parts) > 3 else None)
                    rr, sig = rrset_and_sigs(m, parts[1], dns.rdatatype.from_text(ct or qt))
                    for (tk, _, keys, _) in alive((z, "DNSKEY"), t):
                        checks += 1
                        if not signed_by(rr, sig, keys, z):
                            fail("%s %s %s%s fetched at +%.1f s not signed by a key of the "
                                 "DNSKEY RRset cached at +%.1f s"
                                 % (z, parts[1], parts[2],
                                    " (ECS %s)" % parts[3] if len(parts) > 3 else "",
                                    t - start, tk - start))
            except (dns.exception.DNSException, OSError) as e:
                fail("%s: query failed: %s" % (z, e))
        time.sleep(a.interval)
    print("cache model: %d rounds, %d combinations checked, %d failed" % (rounds, checks, fails))
    for f in first:
        print("  " + f)
    return 1 if fails else 0


start = time.monotonic()
if __name__ == "__main__":
    sys.exit(main())
