#!/usr/bin/python3
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

  make_seeds.py [TARGET...]     (default: every target)

query: well-formed queries for every answer shape of tests/testzone.c's
store, and the malformed shapes a parser must survive. zonefile: small
master files (every directive, the syntax corners, each error the importer
names). record: dnsctl record add/del arguments. store: the test store's
entries as they are, damaged copies and new keys, written by the target
itself, which knows the store (needs a build: make tests/fuzz/fuzz_store,
or FUZZ_STORE_BIN=path). Run from the top directory; the files are
committed, this script documents where they came from. Every seed is
deterministic. A corpus may also hold regress-* files this script does not
write: reproducers of fixed bugs (libFuzzer crash files, renamed), kept as
they are."""
import os
import struct
import subprocess
import sys
import tempfile

import dns.edns
import dns.message
import dns.rdatatype


def write(target, seeds):
    out = "tests/fuzz/corpus/" + target
    os.makedirs(out, exist_ok=True)
    for k, v in seeds.items():
        with open(os.path.join(out, k.replace("/", "_")), "wb") as f:
            f.write(v if isinstance(v, bytes) else v.encode())
    print(f"{len(seeds)} seeds in {out}")


def query_seeds():
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
                    ("nope.deep.example.test", "A"), ("example.test", "AXFR"),
                    ("x.y.dn.example.test", "A"), ("dn.example.test", "DNAME"),
                    ("x.dnloop.example.test", "A"), ("a" * 60 + ".dnlong.example.test", "A")]:
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
    return seeds


SOA = "@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n"


def zonefile_seeds():
    """Master files for zone example.test. (see tests/fuzz/fuzz_zonefile.c:
    the store has regions eu and eu-west; inc.zone, loop.zone and
    region.zone may be $INCLUDEd)."""
    seeds = {}
    seeds["minimal"] = SOA
    seeds["shapes"] = SOA + """$TTL 1h30m
www 300 A 192.0.2.80
    300 A 192.0.2.81
www AAAA 2001:db8::80
@ MX 10 mail
mail IN 60 A 192.0.2.25
a.b.ent A 192.0.2.3
*.wild A 192.0.2.4
c1 CNAME c2
c2 CNAME www
out CNAME www.elsewhere.test.
sub NS ns.sub
ns.sub A 192.0.2.99
big TXT ( "one" ; a comment
          "two" ) ; and another
txt TXT "a \\"quoted\\" string" "semi;colon" "back\\\\slash" "\\255\\000 bytes"
$ORIGIN deeper.example.test.
x 2d A 192.0.2.5
@ 1W TXT "@ is the origin"
"""
    # every RR type of tests/data/dnsctl-types.zone, moved under example.test.
    with open("tests/data/dnsctl-types.zone") as f:
        seeds["types"] = f.read().replace("types.test.", "example.test.")
    seeds["generic"] = SOA + "x TYPE65000 \\# 3 abcdef\ny TYPE65001 \\# 0\nz A \\# 4 c0000263\n" \
        "w CLASS1 TYPE1 192.0.2.1\n"
    seeds["escapes"] = SOA + "a\\032b A 192.0.2.1\n\\046dot A 192.0.2.2\n\\$x A 192.0.2.3\n" \
        "\\@ A 192.0.2.4\nx\\;y TXT semi\n"
    seeds["dname"] = SOA + "d DNAME tgt.example.test.\ntgt A 192.0.2.1\n$REGION eu\nd2 DNAME tgt\n"
    seeds["err-dname-below"] = SOA + "x.d A 192.0.2.1\nd DNAME tgt.example.test.\n"
    seeds["err-dname-ns"] = SOA + "d DNAME tgt.example.test.\nd NS ns.elsewhere.test.\n"
    seeds["long-names"] = SOA + ".".join(["a" * 63] * 3) + " A 192.0.2.1\n"
    seeds["err-name-too-long"] = SOA + ".".join(["a" * 63] * 4) + " A 192.0.2.1\n"
    seeds["err-label-64"] = SOA + "b" * 64 + " A 192.0.2.2\n"
    seeds["include"] = SOA + "$INCLUDE inc.zone\n$INCLUDE inc.zone other\nafter A 192.0.2.8\n"
    seeds["include-loop"] = SOA + "$INCLUDE loop.zone\n"
    seeds["include-region"] = SOA + "$INCLUDE region.zone\nwww A 192.0.2.1\n"
    seeds["include-missing"] = SOA + "$INCLUDE nothere.zone\n"
    seeds["include-dir"] = SOA + "$INCLUDE ..\n"
    seeds["regions"] = SOA + """www A 192.0.2.1
mail A 192.0.2.25
$REGION eu
www A 192.0.2.10
api CNAME api.eu.example.net.
$REGION eu-west
www 60 A 192.0.2.20
$REGION default
ftp A 192.0.2.21
"""
    seeds["region-cname-overlay"] = SOA + "api A 192.0.2.5\n$REGION eu\napi CNAME x.example.net.\n"
    seeds["region-apex-ns"] = SOA + "$REGION eu\n@ NS ns9.example.net.\n"
    seeds["region-unknown"] = SOA + "$REGION mars\nwww A 192.0.2.1\n"
    seeds["ttl-differs"] = SOA + "www 300 A 192.0.2.1\nwww 600 A 192.0.2.2\nwww 300 A 192.0.2.1\n"
    # each error the importer names (tests/data/dnsctl-err-*.zone in miniature)
    seeds["err-ttl"] = SOA + "www 1h30x A 192.0.2.1\n"
    seeds["err-ttl-big"] = SOA + "www 2147483648 A 192.0.2.1\n"
    seeds["err-rdata"] = SOA + "www A 192.0.2\n"
    seeds["err-outzone"] = SOA + "www.example.org. A 192.0.2.1\n"
    seeds["err-cname"] = SOA + "www A 192.0.2.1\nwww CNAME x\n"
    seeds["err-cname-apex"] = SOA + "@ CNAME x\n"
    seeds["err-two-soa"] = SOA + "@ SOA ns2 hm 2 1 1 1 1\n"
    seeds["err-soa-below"] = SOA + "x SOA ns2 hm 2 1 1 1 1\n"
    seeds["err-no-soa"] = "@ NS ns1\nns1 A 192.0.2.53\n"
    seeds["err-no-ns"] = "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
    seeds["err-class"] = SOA + "www CH A 192.0.2.1\n"
    seeds["err-meta-type"] = SOA + "www ANY 192.0.2.1\n"
    seeds["err-paren"] = SOA + "www TXT ( \"open\"\n"
    seeds["err-close"] = SOA + "www TXT ) \"x\"\n"
    seeds["err-quote"] = SOA + "www TXT \"open\n"
    seeds["err-blank-first"] = "  A 192.0.2.1\n" + SOA
    seeds["err-directive"] = SOA + "$GENERATE 1-10 h$ A 192.0.2.$\n$FOO bar\n"
    seeds["err-origin"] = SOA + "$ORIGIN\n"
    seeds["err-nul"] = SOA + "www A 192.0.2.1\0\n"
    seeds["crlf"] = SOA.replace("\n", "\r\n") + "www A 192.0.2.1\r\n"
    return seeds


def record_seeds():
    """The arguments after the zone of `dnsctl record add|del example.test.`,
    NUL between arguments (see tests/fuzz/fuzz_record.c)."""
    seeds = {}
    # one record of each type of tests/data/dnsctl-types.zone, as one argument
    with open("tests/data/dnsctl-types.zone") as f:
        lines = [ln for ln in f.read().replace("types.test.", "example.test.").splitlines()
                 if ln and ln[0] not in ";$ "]
    for i, ln in enumerate(lines):
        if "(" in ln:
            continue
        seeds["type-%02d-%s" % (i, ln.split()[2].lower())] = " ".join(ln.split())
    seeds["words"] = "www\x00A\x00192.0.2.1"
    seeds["words-ttl-class"] = "www.example.test.\x00300\x00IN\x00A\x00192.0.2.1"
    seeds["class-first"] = "www IN 1h30m AAAA 2001:db8::1"
    seeds["at-mx"] = "@ MX 10 mail"
    seeds["multiline"] = 'big IN TXT ( "line one"\n    "line two" ) ; a comment'
    seeds["generic"] = "x TYPE65000 \\# 3 abcdef"
    seeds["generic-known"] = "x A \\# 4 c0000201"
    seeds["escaped-owner"] = "a\\032b\\.c A 192.0.2.1"
    seeds["txt-escapes"] = 'txt TXT "a \\"q\\" s" "\\255\\000" semi\\;colon'
    seeds["wildcard"] = "*.wild 60 A 192.0.2.4"
    seeds["soa"] = "@ SOA ns1 hostmaster 7 7200 3600 1209600 300"
    seeds["del-name"] = "www"
    seeds["del-type"] = "www\x00A"
    seeds["del-ttl-type"] = "www 300 IN A"
    seeds["del-parens"] = "(a) A 192.0.2.1"
    seeds["err-type"] = "www BOGUS 1"
    seeds["err-meta"] = "www ANY 1"
    seeds["err-rdata"] = "www A 1.2.3"
    seeds["err-ttl"] = "www 99999999999 A 192.0.2.1"
    seeds["err-class"] = "www CH A 192.0.2.1"
    seeds["err-two"] = "www A 192.0.2.1\nwww A 192.0.2.2"
    seeds["err-directive"] = "$ORIGIN x."
    seeds["err-blank"] = "   "
    seeds["err-name"] = "a..b A 192.0.2.1"
    seeds["err-paren"] = "www TXT ( x"
    # found by fuzzing: ldns parsed this to HTTPS bytes it cannot read back
    seeds["regress-https-generic"] = "emptypptyptyN TYPE65 \\# 0tyN TYPE65 \\# 0"
    return seeds


def store_seeds():
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([os.environ.get("FUZZ_STORE_BIN", "tests/fuzz/fuzz_store")], check=True,
                       env=dict(os.environ, FUZZ_STORE_WRITE_SEEDS=d), stdout=subprocess.DEVNULL)
        seeds = {}
        for n in sorted(os.listdir(d)):
            with open(os.path.join(d, n), "rb") as f:
                seeds[n] = f.read()
        return seeds


TARGETS = {"query": query_seeds, "zonefile": zonefile_seeds, "record": record_seeds,
           "store": store_seeds}

if __name__ == "__main__":
    for t in sys.argv[1:] or sorted(TARGETS):
        write(t, TARGETS[t]())
