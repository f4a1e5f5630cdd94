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
import dns.rrset


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


def repl_entry_seeds():
    """Written by the target itself (needs a build: make tests/fuzz/fuzz_repl_entry,
    or FUZZ_REPL_BIN=path): the test store's snapshot in small entries, the
    same keys deleted, damaged copies, a local meta key, an empty entry."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([os.environ.get("FUZZ_REPL_BIN", "tests/fuzz/fuzz_repl_entry")],
                       check=True, env=dict(os.environ, FUZZ_REPL_WRITE_SEEDS=d),
                       stdout=subprocess.DEVNULL)
        seeds = {}
        for n in sorted(os.listdir(d)):
            with open(os.path.join(d, n), "rb") as f:
                seeds[n] = f.read()
        return seeds


def tsig_seeds():
    """Messages signed by dnspython (an implementation independent of ours)
    with fuzz_tsig.c's keys at its fixed clock, and the error shapes."""
    import dns.flags
    import dns.rcode
    import dns.rrset
    import dns.tsig
    import dns.tsigkeyring
    import time as _time
    now = 1700000000
    real = _time.time
    _time.time = lambda: now  # dnspython signs at time.time()
    ring = dns.tsigkeyring.from_text({
        "fuzz-key.example.": ("hmac-sha256", "ZnV6ei1rZXktc2VjcmV0LWhtYWMtc2hhMjU2LWZ1eno="),
        "fuzz-sha1.example.": ("hmac-sha1", "ZnV6ei1zaGExLXNlY3JldC0yMGI="),
        "unknown.example.": ("hmac-sha256", "ZnV6ei1rZXktc2VjcmV0LWhtYWMtc2hhMjU2LWZ1eno="),
    })
    seeds = {}

    def query(key, name="example.test.", rtype="AXFR", qid=0x1234, **kw):
        m = dns.message.make_query(name, rtype)
        m.flags = 0
        m.id = qid
        if key:
            m.use_tsig(ring, keyname=key, **kw)
        return m

    seeds["sha256-axfr"] = query("fuzz-key.example.").to_wire()
    seeds["sha1-soa"] = query("fuzz-sha1.example.", rtype="SOA").to_wire()
    seeds["sha256-soa"] = query("fuzz-key.example.", rtype="SOA").to_wire()
    m = query(None, rtype="SOA")
    m.use_edns(0, 0, 1232)
    m.use_tsig(ring, keyname="fuzz-key.example.")
    seeds["sha256-opt-then-tsig"] = m.to_wire()
    seeds["badkey"] = query("unknown.example.").to_wire()
    seeds["unsigned"] = query(None).to_wire()
    u = dns.message.make_query("example.test.", "SOA")
    u.set_opcode(dns.opcode.UPDATE)
    u.use_tsig(ring, keyname="fuzz-key.example.")
    seeds["update"] = u.to_wire()
    _time.time = lambda: now - 1000
    seeds["badtime"] = query("fuzz-key.example.").to_wire()
    _time.time = lambda: now
    # a truncated MAC (16 of 32 bytes): the RDATA is rewritten by hand
    w = bytearray(seeds["sha256-axfr"])
    alg = b"\x0bhmac-sha256\x00"
    a = w.rindex(alg) + len(alg)
    mac_at = a + 8
    w[mac_at:mac_at + 2] = (16).to_bytes(2, "big")
    del w[mac_at + 2 + 16:mac_at + 2 + 32]
    rdlen_at = w.rindex(b"\x00\xfa\x00\xff") + 8
    rdlen = int.from_bytes(w[rdlen_at:rdlen_at + 2], "big") - 16
    w[rdlen_at:rdlen_at + 2] = rdlen.to_bytes(2, "big")
    seeds["truncated-16"] = bytes(w)
    # answers to fuzz_tsig.c's own request (ID 0x1234, example.test AXFR,
    # hmac-sha256, signed at the same time): dnspython signs the same bytes,
    # so the request MAC matches and the first answer verifies
    req = query("fuzz-key.example.")
    req = dns.message.from_wire(req.to_wire(), keyring=ring)
    r = dns.message.make_response(req)
    r.answer.append(dns.rrset.from_text("a.example.test.", 300, "IN", "A", "192.0.2.1"))
    seeds["answer-signed"] = r.to_wire()
    r = dns.message.make_response(req)
    r.set_rcode(dns.rcode.NOTAUTH)
    r.use_tsig(ring, keyname="fuzz-key.example.", tsig_error=dns.rcode.BADKEY)
    seeds["answer-badkey"] = r.to_wire()
    _time.time = real
def xfr_seeds():
    """Transfer requests for tests/testzone.c's zones; the last byte picks the
    transport (bit 0: UDP) and the message cap (512 + (byte >> 1) * 257)."""
    seeds = {}

    def q(name, rdtype, serial=None, edns=False, tail=b"\xff", qid=0x4242):
        m = dns.message.make_query(name, rdtype, use_edns=0 if edns else None)
        m.id = qid
        m.flags = 0
        if serial is not None:
            soa = dns.rrset.from_text(name, 3600, "IN", "SOA",
                                      "ns1.example.test. h.example.test. %d 1 2 3 4" % serial)
            m.authority.append(soa)
        return m.to_wire() + tail

    seeds["axfr"] = q("example.test.", "AXFR")
    seeds["axfr-edns"] = q("example.test.", "AXFR", edns=True)
    seeds["axfr-small"] = q("example.test.", "AXFR", tail=b"\x00")
    seeds["axfr-udp"] = q("example.test.", "AXFR", tail=b"\x01")
    seeds["axfr-case"] = q("ExAmPlE.TeSt.", "AXFR")
    seeds["axfr-deep"] = q("deep.example.test.", "AXFR")
    seeds["axfr-nozone"] = q("nope.test.", "AXFR")
    seeds["ixfr-uptodate"] = q("example.test.", "IXFR", serial=2)
    seeds["ixfr-old"] = q("example.test.", "IXFR", serial=0)
    seeds["ixfr-ahead"] = q("example.test.", "IXFR", serial=100)
    seeds["ixfr-udp"] = q("example.test.", "IXFR", serial=0, tail=b"\x01")
    seeds["ixfr-nosoa"] = q("example.test.", "IXFR")
    seeds["a-query"] = q("example.test.", "A")
    seeds["truncated"] = q("example.test.", "IXFR", serial=1)[:30]
def update_seeds():
    """UPDATE messages for fuzz_update: byte 0 picks the requester (0 unsigned from
    127.0.0.1, 1 acme.key, 2 eu.key, 3 unsigned from 10.0.0.1), then the message."""
    import dns.name
    import dns.rdata
    import dns.rdataclass
    import dns.update

    seeds = {}

    def u(name, who, build, compress=True):
        m = dns.update.UpdateMessage("example.test.")
        m.id = 0x1234
        build(m)
        seeds[name] = bytes([who]) + m.to_wire(origin=None if compress else None)

    u("add-a", 0, lambda m: m.add("new", 300, "A", "192.0.2.1"))
    u("add-mx-compressed", 0, lambda m: m.add("new", 300, "MX", "10 mail.example.test."))
    u("add-soa", 0, lambda m: m.add("@", 3600, "SOA",
                                    "ns1.example.test. h.example.test. 4000000000 1 1 1 1"))
    u("add-cname-beside-a", 0, lambda m: m.add("www", 300, "CNAME", "mail.example.test."))
    u("del-rrset", 0, lambda m: m.delete("www", "A"))
    u("del-name", 0, lambda m: m.delete("www"))
    u("del-rr", 0, lambda m: m.delete("www", "A", "192.0.2.80"))
    u("del-apex", 0, lambda m: m.delete("@"))
    u("del-apex-ns", 0, lambda m: m.delete("@", "NS", "ns1.example.test."))
    u("pre-yxdomain", 0, lambda m: (m.present("www"), m.add("p", 60, "A", "192.0.2.2")))
    u("pre-nxdomain", 0, lambda m: (m.absent("www"), m.add("p", 60, "A", "192.0.2.2")))
    u("pre-yxrrset", 0, lambda m: (m.present("www", "A"), m.add("p", 60, "TXT", "x")))
    u("pre-nxrrset", 0, lambda m: (m.absent("www", "MX"), m.add("p", 60, "TXT", "x")))
    u("pre-value", 0, lambda m: (m.present("www", dns.rdata.from_text("IN", "A", "192.0.2.80")),
                                 m.add("p", 60, "TXT", "x")))
    u("acme-txt", 1, lambda m: m.add("_acme-challenge.www", 60, "TXT", "token"))
    u("acme-refused", 1, lambda m: m.add("www", 60, "TXT", "token"))
    u("eu-add", 2, lambda m: m.add("www", 60, "A", "192.0.2.77"))
    u("eu-apex-ns", 2, lambda m: m.add("@", 60, "NS", "ns9.example.test."))
    u("stranger", 3, lambda m: m.add("www", 60, "A", "192.0.2.9"))
    u("notzone", 0, lambda m: m.add(dns.name.from_text("www.other.test."), 60, "A", "192.0.2.9"))
    m = dns.update.UpdateMessage("nothere.test.")
    m.add("x", 60, "A", "192.0.2.1")
    seeds["notauth"] = b"\0" + m.to_wire()
    # hand-made shapes: a pointer loop, two zones, counts past the end
    hdr = bytes.fromhex("1234 2800 0001 0000 0001 0000")
    zone = b"\x07example\x04test\x00\x00\x06\x00\x01"
    seeds["ptr-loop"] = b"\0" + hdr + zone + b"\xc0\x1d\x00\x01\x00\x01" + bytes(6)
    seeds["two-zones"] = b"\0" + bytes.fromhex("1234 2800 0002 0000 0000 0000") + zone + zone
    seeds["counts"] = b"\0" + bytes.fromhex("1234 2800 0001 0100 0100 0000") + zone
    return seeds


def etcd_watch_seeds():
    # what etcd 3.4.23's gateway sends on /v3/watch (captured with curl): one
    # JSON object a line; the first byte of a seed picks the chunking
    hdr = '"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952",' \
          '"revision":"%s","raft_term":"2"}'
    created = '{"result":{%s,"created":true}}\n' % (hdr % "9")
    events = ('{"result":{%s,"events":[{"kv":{"key":"dzE=","create_revision":"6",'
              '"mod_revision":"6","version":"1","value":"djE="}},{"kv":{"key":"dzI=",'
              '"create_revision":"7","mod_revision":"7","version":"1","value":"djI="}},'
              '{"type":"DELETE","kv":{"key":"dzE=","mod_revision":"9"}}]}}\n') % (hdr % "9")
    progress = '{"result":{%s}}\n' % (hdr % "10")
    lease = ('{"result":{%s,"events":[{"kv":{"key":"AP8=","create_revision":"11",'
             '"mod_revision":"11","version":"1","lease":"2324035875188912143"}}]}}\n') % (hdr % "11")
    stop = ('{"result":{%s,"events":[{"kv":{"key":"IXN0b3A=","mod_revision":"12",'
            '"value":"eA=="}},{"kv":{"key":"YWZ0ZXI=","mod_revision":"13"}}]}}\n') % (hdr % "13")
    return {
        "stream": "\x05" + created + events + progress,
        "stream-crlf": "\x11" + (created + events + progress).replace("\n", "\r\n"),
        "binary-lease": "\x03" + created + lease,
        "callback-ends": "\x07" + created + stop + progress,
        "compacted": "\x01" + created.replace('"created":true',
                                             '"canceled":true,"compact_revision":"7"'),
        "canceled": '\x09{"result":{"canceled":true,"cancel_reason":"no range"}}\n',
        "stream-error": '\x0b{"error":"invalid character","message":"invalid character",'
                        '"code":2}\n',
        "grpc-error": '\x0d{"error":{"grpc_code":14,"http_code":503,"message":"no leader"}}\n',
        "truncated": "\x0f" + created + events[:80],
        "bad-base64": '\x13{"result":{"events":[{"kv":{"key":"d=E="}}]}}\n',
        "int-numbers": '\x15{"result":{"header":{"revision":5},"events":[{"type":1,'
                       '"kv":{"key":"YQ==","mod_revision":5}}]}}\n',
    }


def dnssec_sign_seeds():
    # u8 flags (bit 0: Ed25519) | u8 type index (fuzz_dnssec_sign.c's table) |
    # u8 owner length | owner | stored RRset value (schema.h)
    types = [1, 2, 5, 6, 12, 13, 14, 15, 16, 17, 18, 21, 24, 26, 28, 30,
             33, 35, 36, 38, 39, 43, 46, 47, 48, 52, 64, 65, 99, 257, 65280]

    def wire(name):
        out = b""
        for label in name.rstrip(".").split("."):
            out += bytes([len(label)]) + label.encode()
        return out + b"\0"

    def value(rdatas, ttl=300, flags=0, sigs=b""):
        v = struct.pack(">BBIH", 1, flags, ttl, len(rdatas))
        for rd in rdatas:
            v += struct.pack(">H", len(rd)) + rd
        return v + sigs

    def seed(alg, t, owner, rdatas, **kw):
        o = wire(owner)
        return bytes([alg, types.index(t), len(o)]) + o + value(rdatas, **kw)

    a = [bytes([192, 0, 2, i]) for i in (9, 1, 5)]
    mx = [b"\0\x0a" + wire("MAIL.Example.TEST"), b"\0\x0a" + wire("mail.example.test")]
    soa = wire("NS1.example.test") + wire("HostMaster.Example.test") + struct.pack(">5I", 1, 2, 3, 4, 5)
    srv = struct.pack(">3H", 1, 2, 3) + wire("Sip.Example.test")
    naptr = struct.pack(">2H", 1, 2) + b"\1U\7E2U+sip\0" + wire("Repl.Example.test")
    rrsig = struct.pack(">HBBIIIH", 1, 13, 2, 300, 2, 1, 7) + wire("Example.TEST") + b"\xaa" * 64
    sig1 = struct.pack(">H", 1) + struct.pack(">H", len(rrsig)) + rrsig
    return {
        "a-p256": seed(0, 1, "www.example.test", a),
        "a-ed25519": seed(1, 1, "WWW.example.test", a),
        "mx-case-dup": seed(0, 15, "example.test", mx),
        "soa": seed(1, 6, "example.test", [soa]),
        "srv": seed(0, 33, "_sip._tcp.example.test", [srv]),
        "naptr": seed(1, 35, "example.test", [naptr]),
        "txt-wildcard": seed(0, 16, "*.example.test", [b"\x05Hello", b"\x03abc"]),
        "rrsig-stored": seed(0, 46, "x.example.test", [rrsig]),
        "a-signed-value": seed(0, 1, "www.example.test", a, flags=1,
                               sigs=sig1.replace(struct.pack(">HBB", 1, 13, 2), struct.pack(">HBB", 1, 13, 2))),
        "ns-bad-name": seed(0, 2, "example.test", [b"\x03abc"]),
        "unknown-type": seed(1, 65280, "example.test", [b"", b"\xff" * 40]),
    }


TARGETS = {"query": query_seeds, "zonefile": zonefile_seeds, "record": record_seeds,
           "store": store_seeds, "tsig": tsig_seeds, "xfr": xfr_seeds, "update": update_seeds,
           "repl_entry": repl_entry_seeds, "etcd_watch": etcd_watch_seeds,
           "dnssec_sign": dnssec_sign_seeds}

if __name__ == "__main__":
    for t in sys.argv[1:] or sorted(TARGETS):
        write(t, TARGETS[t]())
