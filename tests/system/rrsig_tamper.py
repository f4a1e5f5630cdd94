#!/usr/bin/env python3
# rrsig_tamper.py -- damage one stored RRSIG in a dnsd store, behind the
# writer's back, with LMDB's own tools (mdb_dump / mdb_load): the tamper
# test of t_dnssec_validate.sh. Finds the RRset value of OWNER TYPE REGION
# in the "rrsets" sub-database (zones/schema.h: u32 zone id | relative
# owner key | 0x00 | u16 type | u16 region -> u8 format | u8 flags |
# u32 ttl | u16 count | records | [flags & 1: u16 nsig | nsig x (u16 len |
# RRSIG rdata)]) and flips one bit of every signature's last byte, so the
# value stays well formed and only the cryptography is wrong.
#
#   rrsig_tamper.py STORE OWNER TYPE [REGION]
#     OWNER: relative to the apex, labels as written ("www", "a.b.ent";
#     "@" for the apex); TYPE: a number; REGION: the region id (0 default)
# Prints "tampered N signature(s)"; exit 1 (with a message) when the RRset
# is missing or unsigned. Never run against a store a writer is using.
import subprocess
import sys


def relkey(owner):
    if owner == "@":
        return b""
    out = b""
    for label in reversed(owner.lower().split(".")):
        b = label.encode().replace(b"\x01", b"\x01\x02").replace(b"\x00", b"\x01\x01")
        out += b + b"\x00"
    return out


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: rrsig_tamper.py STORE OWNER TYPE [REGION]")
    store, owner, rtype = sys.argv[1], sys.argv[2], int(sys.argv[3])
    region = int(sys.argv[4]) if len(sys.argv) == 5 else 0
    tail = relkey(owner) + b"\x00" + rtype.to_bytes(2, "big") + region.to_bytes(2, "big")
    dump = subprocess.run(["mdb_dump", "-s", "rrsets", store], check=True,
                          capture_output=True, text=True).stdout.splitlines()
    header, i = [], 0
    while dump[i] != "HEADER=END":
        if not dump[i].startswith(("mapsize=", "maxreaders=", "database=", "db_pagesize=")):
            header.append(dump[i])
        i += 1
    i += 1
    found = None
    while i + 1 < len(dump) and dump[i] != "DATA=END":
        k, v = bytes.fromhex(dump[i].strip()), bytes.fromhex(dump[i + 1].strip())
        if len(k) == 4 + len(tail) and k[4:] == tail:
            found = (k, bytearray(v))
            break
        i += 2
    if not found:
        sys.exit("rrsig_tamper: no RRset %s type %d region %d" % (owner, rtype, region))
    k, v = found
    if not v[1] & 1:
        sys.exit("rrsig_tamper: %s type %d region %d is not signed" % (owner, rtype, region))
    count = int.from_bytes(v[6:8], "big")
    off = 8
    for _ in range(count):
        off += 2 + int.from_bytes(v[off:off + 2], "big")
    nsig = int.from_bytes(v[off:off + 2], "big")
    off += 2
    for _ in range(nsig):
        n = int.from_bytes(v[off:off + 2], "big")
        v[off + 2 + n - 1] ^= 0x01
        off += 2 + n
    if off != len(v):
        sys.exit("rrsig_tamper: value of %s type %d does not parse" % (owner, rtype))
    load = "\n".join(header + ["HEADER=END", " " + k.hex(), " " + bytes(v).hex(), "DATA=END"])
    subprocess.run(["mdb_load", "-s", "rrsets", store], input=load + "\n", check=True, text=True)
    print("tampered %d signature(s)" % nsig)


if __name__ == "__main__":
    main()
