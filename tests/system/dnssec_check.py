#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""dnssec_check.py -- read a store's signed RRsets from `mdb_dump` output and
validate them with dnspython (dns.dnssec, an implementation independent of
dnsd's), for tests/system/t_dnssec_keys.sh.

  dnssec_check.py verify ZONES_DUMP RRSETS_DUMP APEX CUTS [UNSIGNED]
      every RRset of zone APEX in every region: signed and valid against
      the zone's stored DNSKEY RRset, except the NS at a delegation point
      (CUTS: comma-separated names, may be empty), other data at one (the
      DS excepted) and anything below one, which must carry no signature;
      with UNSIGNED "unsigned", nothing may be signed. Prints one line
      "signed N unsigned M bad K" and a line per problem.
  dnssec_check.py priv DNSSEC_DUMP
      each stored key's private scalar (from its PKCS#8 DER) as hex (both
      cases) and base64, one a line: what dnsctl's output must never contain.
The dumps are `mdb_dump -s NAME DIR` (hex, not -p).
"""
import base64
import struct
import sys
import time

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset


def read_dump(path):
    """(key, value) byte pairs of an mdb_dump file in hex form."""
    lines = open(path).read().split("\n")
    i = lines.index("HEADER=END") + 1
    out = []
    while i + 1 < len(lines) and lines[i] != "DATA=END":
        out.append((bytes.fromhex(lines[i].strip()), bytes.fromhex(lines[i + 1].strip())))
        i += 2
    return out


def wire_name(w):
    return dns.name.from_wire(w, 0)[0]


def key_labels(rel):
    """Labels (root first) of a relative store key: each ends with 0x00, 01 01 is 00, 01 02 is 01."""
    labels, cur, i = [], bytearray(), 0
    while i < len(rel):
        b = rel[i]
        if b == 0:
            labels.append(bytes(cur))
            cur = bytearray()
        elif b == 1:
            i += 1
            cur.append(rel[i] - 1)
        else:
            cur.append(b)
        i += 1
    return labels


def records(v):
    """(flags, ttl, [rdata], [rrsig rdata]) of a stored RRset value."""
    fmt, flags, ttl, count = struct.unpack(">BBIH", v[:8])
    off, rds, sigs = 8, [], []
    for _ in range(count):
        (n,) = struct.unpack(">H", v[off:off + 2])
        rds.append(v[off + 2:off + 2 + n])
        off += 2 + n
    if flags & 1:
        (ns,) = struct.unpack(">H", v[off:off + 2])
        off += 2
        for _ in range(ns):
            (n,) = struct.unpack(">H", v[off:off + 2])
            sigs.append(v[off + 2:off + 2 + n])
            off += 2 + n
    return flags, ttl, rds, sigs


def verify(zones_dump, rrsets_dump, apex_text, cuts_text, mode):
    apex = dns.name.from_text(apex_text)
    zone_id = None
    for k, v in read_dump(zones_dump):
        if wire_name(v[6:]) == apex:
            zone_id = v[:4]
    if zone_id is None:
        print("bad 1: no zone " + apex_text)
        return 1
    cuts = [dns.name.from_text(c) for c in cuts_text.split(",") if c]
    sets = []
    for k, v in read_dump(rrsets_dump):
        if k[:4] != zone_id:
            continue
        rel, rtype, region = k[4:-5], struct.unpack(">H", k[-4:-2])[0], struct.unpack(">H", k[-2:])[0]
        owner = dns.name.Name([l for l in reversed(key_labels(rel))] + list(apex.labels))
        sets.append((owner, rtype, region, records(v)))
    keys = None
    for owner, rtype, region, (flags, ttl, rds, sigs) in sets:
        if owner == apex and rtype == dns.rdatatype.DNSKEY and region == 0:
            keys = {apex: dns.rrset.from_rdata_list(apex, ttl, [
                dns.rdata.from_wire(dns.rdataclass.IN, rtype, r, 0, len(r)) for r in rds])}
    nsigned = nunsigned = bad = 0
    now = time.time()
    for owner, rtype, region, (flags, ttl, rds, sigs) in sets:
        at_cut = any(owner == c for c in cuts)
        below = any(owner != c and owner.is_subdomain(c) for c in cuts)
        want = mode != "unsigned" and not below and (not at_cut or rtype == dns.rdatatype.DS)
        what = "%s %s region %d" % (owner, dns.rdatatype.to_text(rtype), region)
        if not want:
            if sigs:
                print("problem: %s is signed and must not be" % what)
                bad += 1
            else:
                nunsigned += 1
            continue
        if not sigs or keys is None:
            print("problem: %s has no signature (or the zone no DNSKEY)" % what)
            bad += 1
            continue
        rrset = dns.rrset.from_rdata_list(owner, ttl, [
            dns.rdata.from_wire(dns.rdataclass.IN, rtype, r, 0, len(r)) for r in rds])
        for s in sigs:
            sig = dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.RRSIG, s, 0, len(s))
            try:
                dns.dnssec.validate_rrsig(rrset, sig, keys, now=now)
            except Exception as e:  # dns.dnssec.ValidationFailure and friends
                print("problem: %s: %s" % (what, e))
                bad += 1
        nsigned += 1
    print("signed %d unsigned %d bad %d" % (nsigned, nunsigned, bad))
    return 0


def priv(dump):
    for k, v in read_dump(dump):
        if len(k) != 9 or k[4:5] != b"K":
            continue
        (pl,) = struct.unpack(">H", v[56:58])
        off = 58 + pl
        (kl,) = struct.unpack(">H", v[off:off + 2])
        der = v[off + 2:off + 2 + kl]
        # the secret itself: the 32-byte OCTET STRING (04 20) of the P-256 or Ed25519 PKCS#8
        at = der.find(b"\x04\x20")
        p = der[at + 2:at + 34]
        print(p.hex())
        print(p.hex().upper())
        print(base64.b64encode(p).decode())
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
                        sys.argv[6] if len(sys.argv) > 6 else ""))
    sys.exit(priv(sys.argv[2]))
