#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""malformed.py -- generated malformed DNS packets for t_malformed_bulk.sh.

A seeded generator (random.Random(SEED): the same seed, the same packets)
makes N packets per category, each malformed in that category's way and no
other, sends them to a running dnsd over UDP or TCP, and prints one line per
category with what came back:

  CATEGORY sent N formerr F noreply D other O

"formerr" counts replies with RCODE FORMERR, QR set, the query's ID and no
answer records; "noreply" counts packets that got nothing back (within the
wait); "other" anything else (the first few are printed as "# CATEGORY
other: ..." lines). It judges nothing: the calling test knows which
categories must be FORMERR and which dropped (a packet shorter than a
header, a response). Every category keeps QDCOUNT 1 and a well-formed
question unless the category is about them, so each packet has exactly one
fault.

Usage: malformed.py --port P [--host H] [--tcp] [--seed S] [--n N] [CATEGORY...]
       malformed.py --list
"""
import argparse
import random
import select
import socket
import struct
import sys
import time

WWW = b"\x03www\x07example\x04test\x00"


def hdr(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name=WWW, qtype=1):
    return name + struct.pack("!HH", qtype, 1)


def opt(owner=b"\x00", udp=1232, version=0, rdata=b"", rdlen=None):
    n = len(rdata) if rdlen is None else rdlen
    return owner + struct.pack("!HHBBHH", 41, udp, 0, version, 0, n) + rdata


def rr(owner=b"\xc0\x0c", rtype=1, rdata=b"\xc0\x00\x02\x01", rdlen=None):
    n = len(rdata) if rdlen is None else rdlen
    return owner + struct.pack("!HHIH", rtype, 1, 300, n) + rdata


def label_name(rnd, total):
    """A wire name of exactly @total bytes of valid labels (it may exceed 255)."""
    out, left = b"", total - 1
    while left > 0:
        n = min(63, left - 1) if left > 1 else 1
        if left - (n + 1) == 1:   # never leave a lone byte: it cannot be a label
            n -= 1
        out += bytes([n]) + bytes(rnd.choice(b"abcxyz0189-") for _ in range(n))
        left -= n + 1
    return out + b"\x00"


# ---- the categories: rnd, qid -> packet --------------------------------------

def short_header(rnd, qid, tcp):
    n = rnd.randint(1 if tcp else 0, 11)    # TCP: a 0-length frame closes the connection
    return bytes(rnd.getrandbits(8) for _ in range(n))


def response(rnd, qid, tcp):
    flags = 0x8000 | rnd.getrandbits(15)
    return hdr(qid, flags=flags) + question()


def qdcount(rnd, qid, tcp):
    qd = rnd.choice([0, 2, 3, rnd.randint(4, 65535)])
    body = b"" if qd == 0 and rnd.random() < 0.5 else question() * rnd.randint(1, 3)
    return hdr(qid, qd=qd) + body


def qname_pointer(rnd, qid, tcp):
    # a compression pointer in the question: to itself, forward, to the header, past the end
    kind = rnd.choice(["self", "forward", "header", "outside", "after-label"])
    if kind == "self":
        name = b"\xc0\x0c"
    elif kind == "forward":
        name = b"\xc0" + bytes([rnd.randint(13, 40)])
    elif kind == "header":
        name = b"\xc0" + bytes([rnd.randint(0, 11)])
    elif kind == "outside":
        name = bytes([0xC0 | rnd.randint(1, 0x3F), rnd.getrandbits(8)])
    else:
        name = b"\x03www\xc0" + bytes([rnd.choice([12, 16, 2])])
    return hdr(qid) + name + struct.pack("!HH", 1, 1)


def label_type(rnd, qid, tcp):
    # label length bytes 0x40-0xBF: the extended (01) and reserved (10) label types,
    # i.e. "labels" of 64 to 191 bytes
    b = rnd.randint(0x40, 0xBF)
    where = rnd.randint(0, 2)
    labels = [b"\x03www", b"\x07example", b"\x04test"]
    labels.insert(where, bytes([b]) + b"x" * min(b & 0x3F, 20))
    return hdr(qid) + b"".join(labels) + b"\x00" + struct.pack("!HH", 1, 1)


def long_name(rnd, qid, tcp):
    return hdr(qid) + question(label_name(rnd, rnd.randint(256, 400)))


def truncated_question(rnd, qid, tcp):
    q = question()
    return hdr(qid) + q[:rnd.randint(0, len(q) - 1)]


def counts_exceed(rnd, qid, tcp):
    # more answer/authority/additional records announced than the packet holds
    present = rnd.randint(0, 2)
    counts = [0, 0, 0]
    sec = rnd.randint(0, 2)
    counts[sec] = present + rnd.choice([1, 2, rnd.randint(3, 65535 - present)])
    return hdr(qid, an=counts[0], ns=counts[1], ar=counts[2]) + question() + rr() * present


def rr_pointer(rnd, qid, tcp):
    # an RR owner whose pointer loops (to itself, or to a pointer further on),
    # goes forward, or leaves the packet
    base = hdr(qid, an=0, ns=0, ar=1) + question()
    here = len(base)
    kind = rnd.choice(["self", "forward", "outside", "loop2"])
    if kind == "self":
        owner = struct.pack("!H", 0xC000 | here)
    elif kind == "forward":
        owner = struct.pack("!H", 0xC000 | (here + rnd.randint(2, 12)))
    elif kind == "outside":
        owner = struct.pack("!H", 0xC000 | rnd.randint(here + 20, 0x3FFF))
    else:   # a label, then a pointer back to that label's own start: a cycle
        owner = b"\x01a" + struct.pack("!H", 0xC000 | here)
    sec = rnd.randint(0, 2)
    counts = [0, 0, 0]
    counts[sec] = 1
    return hdr(qid, an=counts[0], ns=counts[1], ar=counts[2]) + question() + rr(owner=owner)


def rr_truncated(rnd, qid, tcp):
    sec = rnd.randint(0, 2)
    counts = [0, 0, 0]
    counts[sec] = 1
    r = rr()
    if rnd.random() < 0.5:
        r = rr(rdlen=rnd.randint(5, 600))        # rdata past the end
    else:
        r = r[:rnd.randint(1, len(r) - 5)]       # cut inside the owner or the fixed fields
    return hdr(qid, an=counts[0], ns=counts[1], ar=counts[2]) + question() + r


def opt_misplaced(rnd, qid, tcp):
    # OPT belongs in the additional section only (RFC 6891 6.1.1)
    if rnd.random() < 0.5:
        return hdr(qid, an=1) + question() + opt()
    return hdr(qid, ns=1) + question() + opt()


def opt_twice(rnd, qid, tcp):
    n = rnd.randint(2, 4)
    extra = rr() if rnd.random() < 0.3 else b""
    ar = n + (1 if extra else 0)
    return hdr(qid, ar=ar) + question() + extra + opt() * n


def opt_owner(rnd, qid, tcp):
    owner = rnd.choice([WWW, b"\xc0\x0c", b"\x01a\x00"])
    return hdr(qid, ar=1) + question() + opt(owner=owner)


def opt_bad_options(rnd, qid, tcp):
    kind = rnd.choice(["option-overrun", "rdlen-overrun", "half-option", "ecs-family",
                       "ecs-source", "ecs-length", "ecs-bits", "two-ecs"])
    if kind == "option-overrun":
        data = struct.pack("!HH", rnd.randint(1, 65000), rnd.randint(5, 200)) + b"\xab" * 4
        return hdr(qid, ar=1) + question() + opt(rdata=data)
    if kind == "rdlen-overrun":
        return hdr(qid, ar=1) + question() + opt(rdata=b"\x00\x0a\x00\x00", rdlen=rnd.randint(5, 900))
    if kind == "half-option":
        return hdr(qid, ar=1) + question() + opt(rdata=b"\x00\x08\x00")
    if kind == "ecs-family":
        data = struct.pack("!HHHBB", 8, 8, rnd.choice([0, 3, 77]), 24, 0) + b"\xc0\x00\x02\x00"
    elif kind == "ecs-source":
        data = struct.pack("!HHHBB", 8, 4 + 4, 1, rnd.randint(33, 255), 0) + b"\xc0\x00\x02\x00"
    elif kind == "ecs-length":
        data = struct.pack("!HHHBB", 8, 4 + 4, 1, rnd.choice([8, 16]), 0) + b"\xc0\x00\x02\x00"
    elif kind == "ecs-bits":
        data = struct.pack("!HHHBB", 8, 4 + 3, 1, 20, 0) + b"\xc0\x00\x0f"
    else:
        one = struct.pack("!HHHBB", 8, 4 + 3, 1, 24, 0) + b"\xc0\x00\x02"
        data = one + one
    return hdr(qid, ar=1) + question() + opt(rdata=data)


def qtype_opt(rnd, qid, tcp):
    return hdr(qid) + question(qtype=41)


CATEGORIES = {
    "short-header": (short_header, "drop"),
    "response": (response, "drop"),
    "qdcount": (qdcount, "formerr"),
    "qname-pointer": (qname_pointer, "formerr"),
    "label-type": (label_type, "formerr"),
    "long-name": (long_name, "formerr"),
    "truncated-question": (truncated_question, "formerr"),
    "counts-exceed": (counts_exceed, "formerr"),
    "rr-pointer": (rr_pointer, "formerr"),
    "rr-truncated": (rr_truncated, "formerr"),
    "opt-misplaced": (opt_misplaced, "formerr"),
    "opt-twice": (opt_twice, "formerr"),
    "opt-owner": (opt_owner, "formerr"),
    "opt-bad-options": (opt_bad_options, "formerr"),
    "qtype-opt": (qtype_opt, "formerr"),
}


# ---- sending and tallying -----------------------------------------------------

class Tally:
    def __init__(self, name):
        self.name, self.sent, self.formerr, self.other, self.notes = name, 0, 0, 0, []
        self.pending = {}

    def reply(self, wire):
        if len(wire) < 12:
            self.bad("reply of %d bytes" % len(wire))
            return
        rid, flags, qd, an = struct.unpack("!HHHH", wire[:8])
        if rid not in self.pending:
            self.bad("reply to an unknown id %d (flags %04x)" % (rid, flags))
            return
        del self.pending[rid]
        if flags & 0x8000 and flags & 0xF == 1 and an == 0:
            self.formerr += 1
        else:
            self.bad("id %d: flags %04x an %d" % (rid, flags, an))

    def bad(self, what):
        self.other += 1
        if len(self.notes) < 3:
            self.notes.append(what)

    def report(self):
        print("%s sent %d formerr %d noreply %d other %d" % (
            self.name, self.sent, self.formerr, len(self.pending), self.other))
        for n in self.notes:
            print("# %s other: %s" % (self.name, n))


def packets(cat, seed, n, tcp):
    rnd = random.Random("%s/%s/%s" % (seed, cat, "tcp" if tcp else "udp"))
    gen = CATEGORIES[cat][0]
    ids = rnd.sample(range(65536), n)
    return [(qid, gen(rnd, qid, tcp)) for qid in ids]


def run_udp(a, cat):
    t = Tally(cat)
    s = socket.socket(socket.AF_INET6 if ":" in a.host else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((a.host, a.port))
    s.setblocking(False)
    pk = packets(cat, a.seed, a.n, False)
    window = 32   # at most this many unanswered: no loss to a full socket buffer
    for i in range(0, len(pk), window):
        for qid, wire in pk[i:i + window]:
            t.pending[qid] = wire
            t.sent += 1
            s.send(wire)
        expect = CATEGORIES[cat][1] == "formerr"
        deadline = time.monotonic() + (a.wait if expect else 0.01)
        while time.monotonic() < deadline and (not expect or t.pending):
            if expect and all(q not in t.pending for q, _ in pk[i:i + window]):
                break
            r, _, _ = select.select([s], [], [], max(0, deadline - time.monotonic()))
            if r:
                try:
                    t.reply(s.recv(65535))
                except ConnectionRefusedError:
                    t.bad("ICMP port unreachable: is dnsd gone?")
    # stragglers, and any reply to a packet that should get none
    expect = CATEGORIES[cat][1] == "formerr"
    deadline = time.monotonic() + (a.wait if expect else 0.5)
    while time.monotonic() < deadline and (t.pending or not expect):
        r, _, _ = select.select([s], [], [], max(0, deadline - time.monotonic()))
        if r:
            try:
                t.reply(s.recv(65535))
            except ConnectionRefusedError:
                t.bad("ICMP port unreachable: is dnsd gone?")
    s.close()
    return t


def run_tcp(a, cat):
    t = Tally(cat)
    pk = packets(cat, a.seed, a.n, True)
    s = socket.create_connection((a.host, a.port), timeout=3)
    stream = b"".join(struct.pack("!H", len(w)) + w for _, w in pk)
    for qid, wire in pk:
        t.pending[qid] = wire
        t.sent += 1
    s.sendall(stream)
    want = a.n if CATEGORIES[cat][1] == "formerr" else 0
    buf, got = b"", 0
    deadline = time.monotonic() + (a.wait * 4 if want else 0.5)
    s.setblocking(False)
    while time.monotonic() < deadline and (got < want or want == 0):
        r, _, _ = select.select([s], [], [], max(0, deadline - time.monotonic()))
        if not r:
            continue
        try:
            data = s.recv(65535)
        except ConnectionResetError:
            t.bad("connection reset")
            break
        if not data:
            if got < want:
                t.bad("connection closed after %d replies" % got)
            break
        buf += data
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            t.reply(buf[2:2 + n])
            buf = buf[2 + n:]
            got += 1
    s.close()
    return t


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tcp", action="store_true")
    p.add_argument("--seed", default="1")
    p.add_argument("--n", type=int, default=100, help="packets per category")
    p.add_argument("--wait", type=float, default=1.0, help="seconds to wait for a window's replies")
    p.add_argument("--list", action="store_true", help="print each category and its verdict")
    p.add_argument("category", nargs="*")
    a = p.parse_args()
    if a.list:
        for c, (_, v) in CATEGORIES.items():
            print(c, v)
        return
    for cat in a.category or list(CATEGORIES):
        if cat not in CATEGORIES:
            sys.exit("unknown category " + cat)
        (run_tcp if a.tcp else run_udp)(a, cat).report()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
