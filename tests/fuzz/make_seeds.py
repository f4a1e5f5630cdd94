#!/usr/bin/python3
"""Write the seed corpus of the query fuzz target (tests/fuzz/corpus/query).

Well-formed queries for every answer shape of tests/testzone.c's store, and
the malformed shapes a parser must survive. Run from the top directory; the
files are committed, this script documents where they came from."""
import os
import struct

import dns.edns
import dns.message
import dns.rdatatype

out = "tests/fuzz/corpus/query"
os.makedirs(out, exist_ok=True)
seeds = {}

def q(name, rtype, **kw):
    m = dns.message.make_query(name, rtype, **kw)
    m.id = 0x4242
    return m.to_wire()

for name, t in [("www.example.test", "A"), ("WwW.ExAmPlE.TeSt", "A"), ("nope.example.test", "A"),
                ("www.example.test", "AAAA"), ("b.ent.example.test", "A"),
                ("x.y.wild.example.test", "A"), ("host.wild.example.test", "A"),
                ("c1.example.test", "A"), ("l1.example.test", "A"), ("out.example.test", "A"),
                ("host.sub.example.test", "A"), ("sub.example.test", "DS"),
                ("example.test", "MX"), ("example.test", "NS"), ("example.test", "ANY"),
                ("big.example.test", "TXT"), ("www.other.test", "A"),
                ("nope.deep.example.test", "A"), ("example.test", "AXFR")]:
    seeds[f"{name}-{t}"] = q(name, t)
    seeds[f"{name}-{t}-edns"] = q(name, t, use_edns=0, payload=1232, want_dnssec=True)

base = q("www.example.test", "A")
edns = q("www.example.test", "A", use_edns=0, payload=4096)
ecs = dns.message.make_query("www.example.test", "A", use_edns=0,
                             options=[dns.edns.ECSOption("192.0.2.0", 24)])
ecs.id = 0x4242
seeds["ecs-v4"] = ecs.to_wire()
seeds["edns-v1"] = q("www.example.test", "A", use_edns=1)
seeds["short-header"] = base[:7]
seeds["header-only"] = base[:12]
seeds["truncated-question"] = base[:-3]
seeds["qdcount-2"] = base[:4] + struct.pack("!H", 2) + base[6:]
seeds["qdcount-0"] = base[:4] + struct.pack("!H", 0) + base[6:12]
seeds["response"] = base[:2] + bytes([base[2] | 0x80]) + base[3:]
seeds["opcode-update"] = base[:2] + bytes([(base[2] & 0x87) | (5 << 3)]) + base[3:]
seeds["qname-pointer"] = base[:12] + b"\xc0\x0c" + base[-4:]
seeds["pointer-loop-in-ar"] = base[:10] + b"\x00\x01" + base[12:] + b"\xc0\x22\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00"
seeds["two-opt"] = edns[:10] + b"\x00\x02" + edns[12:] + edns[-11:]
seeds["opt-in-answer"] = edns[:6] + b"\x00\x01\x00\x00\x00\x00" + edns[12:]
seeds["opt-bad-option-len"] = edns[:-2] + b"\x00\x04" + b"\x00\x08\x00\x10"
seeds["label-64"] = base[:12] + b"\x40" + b"a" * 64 + b"\x00" + base[-4:]
seeds["name-too-long"] = base[:12] + (b"\x3f" + b"a" * 63) * 5 + b"\x00" + base[-4:]
seeds["counts-huge"] = base[:6] + b"\xff\xff\xff\xff\xff\xff" + base[12:]
seeds["qtype-opt"] = q("www.example.test", "OPT")
for k, v in seeds.items():
    with open(os.path.join(out, k.replace("/", "_")), "wb") as f:
        f.write(v)
print(f"{len(seeds)} seeds in {out}")
