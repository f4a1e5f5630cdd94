#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dnsq.py -- the system tests' DNS probe, for what dig cannot say plainly.

Called by tests/system/t_*.sh (never by dnsd itself). It sends queries to a
running dnsd -- well-formed ones built with dnspython, crafted malformed ones
built byte by byte, TCP streams framed by hand -- and prints what came back as
plain "key value" lines the shell asserts on with is/like. It judges nothing:
every verdict is the calling test's.

Usage: dnsq.py [--host H] --port P COMMAND [ARGS]
  query NAME TYPE [--tcp] [--noedns] [--bufsize N] [--do] [--class C]
        one query, the whole response as lines (see summary())
  cases [--tcp] [--wait S] CASE...
        crafted packets (see CASES), sent at once, one line per case:
        "CASE noreply WHY" or
        "CASE rcode=R opcode=O qr=Q aa=A tc=T rd=D id=ok|bad(N) qd=N an=N ns=N ar=N
        edns=VERSION|none|?" (? = the reply did not parse)
  pipeline     3 framed queries in ONE write on one TCP connection, then a 4th
  split        TCP queries whose 2-byte length and body arrive in pieces
  idle [--query|--partial] [--wait S]
        open a TCP connection (send a query first if --query, one byte of a
        length if --partial) and wait for the server to close it:
        "closed SECONDS" or "open"
  flood [--n N] [--qname Q --qtype T --an A] [--delay S]
        N framed queries in one write, read back after S seconds:
        "answered X of N bad B stop WHY"
  watch NAME TYPE [--until FILE] [--seconds S]
        ask again and again until FILE exists; each distinct answer once:
        "seen COUNT RCODE | RR ; RR"
  burst [--socks S] [--per P]
        UDP: S sockets send P queries each at once; every answer must reach
        its asker with its ID and data: "sent N got G bad B"
  cap --n N [--extra K]
        TCP connection cap: N served, K more (1) not, then room again
  freeport     a port free for UDP and TCP on both 127.0.0.1 and ::1
  churn [--n N]
        N TCP connections in turn, closed after an answer, at once, inside
        a query, or with a reset: "answered X of Y"
  hold [--seconds S]
        occupy a UDP+TCP port on --host (plain binds), print it, sleep S
  rrl [--n N] [--src ADDR] [--random] [--wait S] NAME TYPE
        UDP burst for rate limiting: N queries at once, each from a new
        socket (a new source port) bound to ADDR, then S seconds for the
        replies: "sent N answered A slipped S none D bad B elapsed E"
        (slipped: TC=1 and no records; bad: wrong id or question, or a TC
        reply with records). --random: NAME gets a random first label.
  loris --idle I --trickle T --slow W [--seconds S]
        TCP slow-loris against the connection cap, bounded by S seconds: I
        silent connections, T that send a length and then one byte every
        0.25 s (never a whole query), W that send whole queries one byte
        every 8 ms, then one extra connection that asks at once; UDP
        queries every 0.1 s throughout. Lines: "idle K closed SECONDS|open",
        "trickle K closed SECONDS|open", "slow K closed SECONDS|open
        answered N", "extra answered SECONDS|none WHY", "udp sent N
        answered A" (seconds since the start)
  inflight --ready FILE --go FILE [--half | --pipeline N]
        a TCP client caught by a shutdown: send half a query (--half) or N
        big TXT queries without reading (--pipeline), create FILE (ready),
        wait (at most 10 s) for the go FILE, then send the rest / read
        everything: "answered X of Y" and "then closed|open"
"""
import argparse
import os
import random
import select
import socket
import struct
import sys
import threading
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
          5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH",
          10: "NOTZONE", 16: "BADVERS"}


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# ---- building packets by hand ------------------------------------------------

def hdr(qid, flags=0, qd=1, an=0, ns=0, ar=0, opcode=0, qr=0):
    flags |= (opcode & 0xF) << 11
    if qr:
        flags |= 0x8000
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def wname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def question(name, qtype=1, qclass=1):
    return wname(name) + struct.pack("!HH", qtype, qclass)


def opt_rr(bufsize=1232, ext_rcode=0, version=0, do=False, rdata=b""):
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return b"\x00" + struct.pack("!HHIH", 41, bufsize, ttl, len(rdata)) + rdata


WWW = "www.example.test"


def soa_rr(name):
    # a minimal SOA RR for the authority section of an IXFR query (serial 1)
    rdata = wname("ns1." + name) + wname("hostmaster." + name) + struct.pack("!IIIII", 1, 0, 0, 0, 0)
    return wname(name) + struct.pack("!HHIH", 6, 1, 0, len(rdata)) + rdata


def long_qname(fill, total, under="example.test"):
    """Wire qname below @under of exactly @total octets, labels of byte @fill."""
    tail = wname(under)
    out, left = b"", total - len(tail)
    while left > 0:
        n = min(63, left - 1)
        out += bytes([n]) + bytes([fill]) * n
        left -= n + 1
    assert len(out + tail) == total, (len(out + tail), total)
    return out + tail


# Each case: qid -> packet. The ids differ so replies can't be confused.
CASES = {
    # control: a well-formed query; must be answered normally
    "ok": lambda i: hdr(i) + question(WWW),
    "ok-edns": lambda i: hdr(i, ar=1) + question(WWW) + opt_rr(),
    # RFC 1035 4.1.2 / common practice: exactly one question
    "qdcount2": lambda i: hdr(i, qd=2) + question(WWW) + question("mail.example.test"),
    # the question ends inside the qname / inside QTYPE
    "trunc-qname": lambda i: hdr(i) + b"\x03www\x07exam",
    "trunc-qtype": lambda i: hdr(i) + wname(WWW) + b"\x00",
    # compression pointers in the question: to itself (a loop) and to the header
    "ptr-loop": lambda i: hdr(i) + b"\x03www\xc0\x0c" + struct.pack("!HH", 1, 1),
    "ptr-header": lambda i: hdr(i) + b"\x03www\xc0\x04" + struct.pack("!HH", 1, 1),
    # RFC 6891 6.1.1: more than one OPT -> FORMERR
    "two-opt": lambda i: hdr(i, ar=2) + question(WWW) + opt_rr() + opt_rr(),
    # OPT only belongs in the additional section
    "opt-in-answer": lambda i: hdr(i, an=1) + question(WWW) + opt_rr(),
    # an EDNS option whose length runs past the OPT rdata
    "opt-badlen": lambda i: hdr(i, ar=1) + question(WWW)
    + opt_rr(rdata=struct.pack("!HH", 65001, 10) + b"\xab\xcd"),
    # name lengths (RFC 1035 2.3.4): 255 octets is legal, 256 is not; any
    # byte may appear in a label (RFC 2181 11), 0x00 and 0x01 included
    "name-255": lambda i: hdr(i) + long_qname(ord("a"), 255) + struct.pack("!HH", 1, 1),
    "name-255-bin0": lambda i: hdr(i) + long_qname(0, 255) + struct.pack("!HH", 1, 1),
    "name-255-bin1": lambda i: hdr(i) + long_qname(1, 255) + struct.pack("!HH", 1, 1),
    "name-255-bin0-wild": lambda i: hdr(i) + long_qname(0, 255, "wild.example.test")
    + struct.pack("!HH", 1, 1),
    "name-256": lambda i: hdr(i) + long_qname(ord("a"), 256) + struct.pack("!HH", 1, 1),
    # label types 01 (0x40, extended, RFC 6891 5) and 10 (0x80, reserved)
    "label-0x40": lambda i: hdr(i) + b"\x41\x00" + wname(WWW) + struct.pack("!HH", 1, 1),
    "label-0x80": lambda i: hdr(i) + b"\x80\x00" + wname(WWW) + struct.pack("!HH", 1, 1),
    # opcodes other than QUERY: IQUERY (1, RFC 3425), STATUS (2), UPDATE (5)
    "opcode1": lambda i: hdr(i, opcode=1) + question(WWW),
    "opcode2": lambda i: hdr(i, opcode=2) + question(WWW),
    "opcode5": lambda i: hdr(i, opcode=5) + question("example.test", 6),
    # the same refusals to queries that carry a valid OPT (RFC 6891 7: an
    # OPT in the request means an OPT in the response)
    "opcode2-edns": lambda i: hdr(i, opcode=2, ar=1) + question(WWW) + opt_rr(),
    "opcode5-edns": lambda i: hdr(i, opcode=5, ar=1) + question("example.test", 6) + opt_rr(),
    "class-ch-edns": lambda i: hdr(i, ar=1) + question(WWW, 1, 3) + opt_rr(),
    "refused-edns": lambda i: hdr(i, ar=1) + question("www.nowhere.invalid") + opt_rr(),
    "nxdomain-edns": lambda i: hdr(i, ar=1) + question("nope.example.test") + opt_rr(),
    # a response (QR=1) sent to the server: never answered (no reflection loops)
    "qr": lambda i: hdr(i, qr=1, flags=0x0400) + question(WWW),
    # fewer bytes than a header: nothing to answer
    "short": lambda i: struct.pack("!HH", i, 0) + b"\x00",
    # classes other than IN
    "class-ch": lambda i: hdr(i) + question(WWW, 1, 3),
    "class-hs": lambda i: hdr(i) + question(WWW, 1, 4),
    # zone transfers (not served yet): never NOERROR with the zone's data
    "axfr": lambda i: hdr(i) + question("example.test", 252),
    "ixfr": lambda i: hdr(i, ns=1) + question("example.test", 251) + soa_rr("example.test"),
}


def hdr_summary(wire, qid):
    if len(wire) < 12:
        return "short-reply len=%d" % len(wire)
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    rcode = flags & 0xF
    edns = "?"
    # fold in the extended rcode when there is a parseable OPT
    try:
        m = dns.message.from_wire(wire)
        rcode = m.rcode()
        edns = str(m.edns) if m.edns >= 0 else "none"
    except Exception:  # the header alone is enough for a verdict
        pass
    return "rcode=%s opcode=%d qr=%d aa=%d tc=%d rd=%d id=%s qd=%d an=%d ns=%d ar=%d edns=%s" % (
        RCODES.get(rcode, str(rcode)), (flags >> 11) & 0xF, flags >> 15, (flags >> 10) & 1,
        (flags >> 9) & 1, (flags >> 8) & 1, "ok" if rid == qid else "bad(%d)" % rid,
        qd, an, ns, ar, edns)


# ---- TCP framing ---------------------------------------------------------------

def frame(wire):
    return struct.pack("!H", len(wire)) + wire


def recv_exact(s, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        s.settimeout(left)
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def recv_msg(s, timeout):
    deadline = time.monotonic() + timeout
    (n,) = struct.unpack("!H", recv_exact(s, 2, deadline))
    return recv_exact(s, n, deadline)


def tcp_connect(host, port, timeout=2.0):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def mkquery(name, rdtype, qid, edns=True):
    q = dns.message.make_query(name, rdtype, use_edns=0 if edns else False, payload=1232)
    q.flags &= ~dns.flags.RD
    q.id = qid
    return q


def brief(wire):
    """id, rcode and first answer rdata of a response: 'id=N rcode=R an=N first=X'."""
    m = dns.message.from_wire(wire)
    first = "-"
    if m.answer and len(m.answer[0]):
        first = m.answer[0][0].to_text()
    return "id=%d rcode=%s an=%d first=%s" % (m.id, dns.rcode.to_text(m.rcode()),
                                               sum(len(r) for r in m.answer), first)


# ---- commands -------------------------------------------------------------------

def rr_lines(section):
    out = []
    for rrset in section:
        for line in rrset.to_text().splitlines():
            out.append(" ".join(line.split()))
    return out


def summary(wire, qid):
    m = dns.message.from_wire(wire)
    print("id", "ok" if m.id == qid else "bad(%d)" % m.id)
    print("rcode", dns.rcode.to_text(m.rcode()))
    print("opcode", dns.opcode.to_text(m.opcode()))
    print("flags", dns.flags.to_text(m.flags).lower())
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    print("counts", qd, an, ns, ar)
    if m.edns < 0:
        print("edns none")
    else:
        opts = ",".join(str(int(o.otype)) for o in m.options) or "-"
        print("edns version=%d udp=%d flags=%s options=%s" % (
            m.edns, m.payload, dns.flags.edns_to_text(m.ednsflags).lower() or "-", opts))
    print("size", len(wire))
    print("rrsets", len(m.answer))
    for q in m.question:
        print("question", " ".join(q.to_text().split()))
    for name, section in (("answer", m.answer), ("authority", m.authority),
                          ("additional", m.additional)):
        for line in rr_lines(section):
            print(name, line)


def cmd_query(a):
    q = dns.message.make_query(a.name, a.type, rdclass=a.qclass,
                               use_edns=False if a.noedns else 0,
                               payload=a.bufsize, want_dnssec=a.do)
    q.flags &= ~dns.flags.RD
    wire = q.to_wire()
    if a.tcp:
        s = tcp_connect(a.host, a.port)
        s.sendall(frame(wire))
        try:
            resp = recv_msg(s, 3)
        except (socket.timeout, EOFError, OSError) as e:
            print("noreply", type(e).__name__)
            return
        finally:
            s.close()
    else:
        s = socket.socket(family(a.host), socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(wire, (a.host, a.port))
        try:
            resp = s.recv(65535)
        except socket.timeout:
            print("noreply timeout")
            return
        finally:
            s.close()
    summary(resp, q.id)


def cmd_cases(a):
    socks = {}
    for n, case in enumerate(a.case):
        qid = 0x4000 + n
        wire = CASES[case](qid)
        if a.tcp:
            s = tcp_connect(a.host, a.port)
            s.sendall(frame(wire))
        else:
            s = socket.socket(family(a.host), socket.SOCK_DGRAM)
            s.connect((a.host, a.port))
            s.send(wire)
        s.setblocking(False)
        socks[s] = (case, qid, bytearray())
    results = {}
    deadline = time.monotonic() + a.wait
    pending = dict(socks)
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select(list(pending), [], [], left)
        for s in ready:
            case, qid, buf = pending[s]
            try:
                data = s.recv(65535)
            except (ConnectionRefusedError, ConnectionResetError) as e:
                results[case] = "noreply " + type(e).__name__
                del pending[s]
                continue
            if not a.tcp:
                results[case] = hdr_summary(data, qid)
                del pending[s]
                continue
            if not data:
                results[case] = "noreply closed"
                del pending[s]
                continue
            buf += data
            if len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                results[case] = hdr_summary(bytes(buf[2:2 + n]), qid)
                del pending[s]
    for s, (case, qid, buf) in socks.items():
        print(case, results.get(case, "noreply timeout"))
        s.close()


def cmd_pipeline(a):
    qs = [mkquery("www.example.test", "A", 0x1111), mkquery("mail.example.test", "AAAA", 0x2222),
          mkquery("nope.example.test", "A", 0x3333)]
    s = tcp_connect(a.host, a.port)
    s.sendall(b"".join(frame(q.to_wire()) for q in qs))   # one write
    got = []
    for _ in qs:
        try:
            got.append(brief(recv_msg(s, 3)))
        except (socket.timeout, EOFError, OSError) as e:
            got.append("missing " + type(e).__name__)
    for line in sorted(got):
        print("resp", line)
    # the connection stays usable after the pipelined batch
    s.sendall(frame(mkquery("ns1.example.test", "A", 0x4444).to_wire()))
    try:
        print("after", brief(recv_msg(s, 3)))
    except (socket.timeout, EOFError, OSError) as e:
        print("after missing", type(e).__name__)
    s.close()


def cmd_split(a):
    # (1) the 2-byte length arrives alone, one byte at a time, then the body
    s = tcp_connect(a.host, a.port)
    w = frame(mkquery("www.example.test", "A", 0x5151).to_wire())
    for part in (w[:1], w[1:2], w[2:7], w[7:]):
        s.sendall(part)
        time.sleep(0.1)
    try:
        print("bytewise", brief(recv_msg(s, 3)))
    except (socket.timeout, EOFError, OSError) as e:
        print("bytewise missing", type(e).__name__)
    # (2) one query and a half, then the rest: two answers
    w1 = frame(mkquery("mail.example.test", "A", 0x5252).to_wire())
    w2 = frame(mkquery("ns2.example.test", "A", 0x5353).to_wire())
    s.sendall(w1 + w2[:9])
    time.sleep(0.2)
    s.sendall(w2[9:])
    for tag in ("half1", "half2"):
        try:
            print(tag, brief(recv_msg(s, 3)))
        except (socket.timeout, EOFError, OSError) as e:
            print(tag, "missing", type(e).__name__)
    s.close()


def cmd_flood(a):
    """N framed queries in one write on one connection; read them back late."""
    qs = [mkquery(a.qname, a.qtype, 0x8000 + i) for i in range(a.n)]
    s = tcp_connect(a.host, a.port)
    s.sendall(b"".join(frame(q.to_wire()) for q in qs))
    time.sleep(a.delay)   # let the server's writes back up
    seen, bad, why = set(), 0, "-"
    for _ in qs:
        try:
            m = dns.message.from_wire(recv_msg(s, 5))
        except (socket.timeout, EOFError, OSError) as e:
            why = type(e).__name__
            break
        n = sum(len(r) for r in m.answer)
        if m.id in seen or not 0x8000 <= m.id < 0x8000 + a.n or n != a.an or m.flags & dns.flags.TC:
            bad += 1
        seen.add(m.id)
    print("answered %d of %d bad %d stop %s" % (len(seen), a.n, bad, why))
    s.close()


def cmd_burst(a):
    """UDP: several sockets each send several queries at once; every answer
    must come back to the socket that asked, with its ID and its data."""
    names = [("www.example.test", "A", "NOERROR", "192.0.2.80"),
             ("mail.example.test", "A", "NOERROR", "192.0.2.25"),
             ("ns1.example.test", "AAAA", "NOERROR", "2001:db8::1"),
             ("nope.example.test", "A", "NXDOMAIN", "-"),
             ("chain-c.example.test", "A", "NOERROR", "192.0.2.30")]
    socks, want = [], {}
    for k in range(a.socks):
        x = socket.socket(family(a.host), socket.SOCK_DGRAM)
        x.connect((a.host, a.port))
        x.setblocking(False)
        socks.append(x)
    sent = 0
    for k, x in enumerate(socks):
        for j in range(a.per):
            qid = (k << 8) | j
            name, qtype, rcode, first = names[(k + j) % len(names)]
            want[(k, qid)] = (name, rcode, first)
            x.send(mkquery(name, qtype, qid, edns=bool(j % 2)).to_wire())
            sent += 1
    got, bad = 0, 0
    deadline = time.monotonic() + 3
    pending = {x: a.per for x in socks}
    while pending and time.monotonic() < deadline:
        ready, _, _ = select.select(list(pending), [], [], max(0, deadline - time.monotonic()))
        for x in ready:
            k = socks.index(x)
            m = dns.message.from_wire(x.recv(65535))
            w = want.pop((k, m.id), None)
            first = m.answer[0][0].to_text() if m.answer else "-"
            if w is None or m.question[0].name.to_text(True) != w[0] \
                    or dns.rcode.to_text(m.rcode()) != w[1] or first != w[2]:
                bad += 1
            got += 1
            pending[x] -= 1
            if pending[x] == 0:
                del pending[x]
    print("sent %d got %d bad %d" % (sent, got, bad))


def cmd_watch(a):
    """Ask NAME TYPE over and over (UDP) until @until exists (at most
    @seconds); print each distinct answer once with its count:
    "seen COUNT RCODE | RR ; RR ..." (owners and rdata, no TTLs)."""
    seen = {}
    x = socket.socket(family(a.host), socket.SOCK_DGRAM)
    x.connect((a.host, a.port))
    x.settimeout(1)
    deadline = time.monotonic() + a.seconds
    qid = 0
    while time.monotonic() < deadline and not (a.until and os.path.exists(a.until)):
        qid = (qid + 1) & 0xFFFF
        x.send(mkquery(a.name, a.type, qid).to_wire())
        try:
            while True:
                m = dns.message.from_wire(x.recv(65535))
                if m.id == qid:
                    break
            rrs = []
            for rrset in m.answer:
                for rd in rrset:
                    rrs.append("%s %s %s" % (rrset.name, dns.rdatatype.to_text(rrset.rdtype), rd))
            key = "%s | %s" % (dns.rcode.to_text(m.rcode()), " ; ".join(rrs))
        except socket.timeout:
            key = "noreply"
        seen[key] = seen.get(key, 0) + 1
    for key, n in sorted(seen.items()):
        print("seen", n, key)


def wait_closed(s, wait):
    """Seconds until the peer closes @s (EOF or reset), or None after @wait."""
    t0 = time.monotonic()
    deadline = t0 + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            data = s.recv(4096)
        except socket.timeout:
            return None
        except (ConnectionResetError, OSError):
            return time.monotonic() - t0
        if not data:
            return time.monotonic() - t0


def cmd_idle(a):
    s = tcp_connect(a.host, a.port)
    if a.partial:
        s.sendall(b"\x00")   # the first byte of a length, and nothing more
    elif a.query:
        s.sendall(frame(mkquery("www.example.test", "A", 0x6161).to_wire()))
        try:
            print("answered", brief(recv_msg(s, 3)))
        except (socket.timeout, EOFError, OSError) as e:
            print("answered missing", type(e).__name__)
    t = wait_closed(s, a.wait)
    print("open" if t is None else "closed %.2f" % t)
    s.close()


def ask(s, qid, timeout):
    """Query www A on TCP socket @s: 'ok', 'timeout', 'eof', 'reset' or 'bad'."""
    try:
        s.sendall(frame(mkquery("www.example.test", "A", qid).to_wire()))
        m = dns.message.from_wire(recv_msg(s, timeout))
    except socket.timeout:
        return "timeout"
    except EOFError:
        return "eof"
    except OSError:
        return "reset"
    return "ok" if m.id == qid and m.rcode() == 0 and m.answer else "bad"


def cmd_cap(a):
    conns = []
    for i in range(a.n):
        s = tcp_connect(a.host, a.port)
        conns.append(s)
        print("base", i, ask(s, 0x7000 + i, 3))
    extras = []
    for j in range(a.extra):
        # the first is "extra RESULT"; more (--extra K) are "extra J RESULT"
        label = ("extra",) if j == 0 else ("extra", j)
        try:
            extra = tcp_connect(a.host, a.port)
            extras.append(extra)
            print(*label, ask(extra, 0x7100 + j, 1.0))
        except OSError as e:
            print(*label, "refused", type(e).__name__)
    for i, s in enumerate(conns):
        print("still", i, ask(s, 0x7200 + i, 3))
    conns[0].close()
    for extra in extras:
        extra.close()
    time.sleep(0.2)
    s = tcp_connect(a.host, a.port)
    print("after", ask(s, 0x7300, 3))
    s.close()
    for c in conns[1:]:
        c.close()


def cmd_hold(a):
    """Bind a UDP and a listening TCP socket on one port of @host (plain
    binds, no SO_REUSEPORT), print the port, keep them for @seconds."""
    for _ in range(50):
        t = socket.socket(family(a.host), socket.SOCK_STREAM)
        t.bind((a.host, 0))
        port = t.getsockname()[1]
        u = socket.socket(family(a.host), socket.SOCK_DGRAM)
        try:
            u.bind((a.host, port))
        except OSError:
            t.close()
            u.close()
            continue
        t.listen(5)
        print(port, flush=True)
        time.sleep(a.seconds)
        return
    sys.exit("no free port")


def cmd_churn(a):
    """Open and close N TCP connections one after another, closing them in
    four ways: after an answer, at once, half-way into a query, and without
    reading the answer (the server's write then meets a reset). Prints
    "answered X of Y" for the kinds that wait for an answer."""
    asked = answered = 0
    for i in range(a.n):
        s = tcp_connect(a.host, a.port, timeout=3)
        w = frame(mkquery("www.example.test", "A", 0x9000 + i).to_wire())
        kind = i % 4
        try:
            if kind == 0:
                asked += 1
                s.sendall(w)
                if dns.message.from_wire(recv_msg(s, 3)).id == 0x9000 + i:
                    answered += 1
            elif kind == 2:
                s.sendall(w[:7])
            elif kind == 3:
                s.sendall(w)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (socket.timeout, EOFError, OSError):
            pass
        s.close()
    print("answered %d of %d" % (answered, asked))


def cmd_rrl(a):
    """UDP burst, one new socket per query (the kernel spreads source ports
    over the workers' SO_REUSEPORT sockets, so every worker sees some)."""
    fam = family(a.host)
    socks = {}
    t0 = time.monotonic()
    for i in range(a.n):
        x = socket.socket(fam, socket.SOCK_DGRAM)
        x.bind((a.src, 0))
        x.setblocking(False)
        name = a.name
        if a.random:
            name = "r%08x%d.%s" % (random.getrandbits(32), i, a.name)
        q = mkquery(name, a.type, 0x1000 + i)
        x.sendto(q.to_wire(), (a.host, a.port))
        socks[x] = (q.id, dns.name.from_text(name))
    elapsed = time.monotonic() - t0
    answered = slipped = bad = 0
    pending = dict(socks)
    deadline = time.monotonic() + a.wait
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select(list(pending), [], [], left)
        for x in ready:
            qid, name = pending.pop(x)
            try:
                m = dns.message.from_wire(x.recv(65535))
            except (OSError, dns.exception.DNSException):
                bad += 1
                continue
            n = sum(len(r) for r in m.answer) + sum(len(r) for r in m.authority)
            if m.id != qid or not m.question or m.question[0].name != name:
                bad += 1
            elif m.flags & dns.flags.TC:
                if n:
                    bad += 1
                else:
                    slipped += 1
            else:
                answered += 1
    for x in socks:
        x.close()
    print("sent %d answered %d slipped %d none %d bad %d elapsed %.3f" % (
        a.n, answered, slipped, len(pending), bad, elapsed))


def cmd_loris(a):
    t0 = time.monotonic()
    end = t0 + a.seconds
    out = []
    lock = threading.Lock()

    def say(line):
        with lock:
            out.append(line)

    def since():
        return time.monotonic() - t0

    def closed_now(s):
        """Has the server closed @s? (EOF or reset waiting to be read)"""
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return False
        try:
            return s.recv(1, socket.MSG_PEEK) == b""   # an answer stays to be read
        except OSError:
            return True

    def idle(k, s):
        t = wait_closed(s, end - time.monotonic())
        say("idle %d %s" % (k, "open" if t is None else "closed %.2f" % since()))

    def trickle(k, s):
        state = "open"
        try:
            s.sendall(b"\x00\x40")   # a 64-byte query is coming... one byte at a time
            while time.monotonic() < end:
                r, _, _ = select.select([s], [], [], 0.25)
                if r and closed_now(s):
                    state = "closed %.2f" % since()
                    break
                s.send(b"\x00")
        except OSError:
            state = "closed %.2f" % since()
        say("trickle %d %s" % (k, state))

    def slow(k, s):
        state, n, qid = "open", 0, 0x5100 + 64 * k
        try:
            while time.monotonic() < end and state == "open":
                w = frame(mkquery("www.example.test", "A", qid).to_wire())
                for b in w:
                    s.send(bytes([b]))
                    time.sleep(0.008)
                    if closed_now(s):
                        state = "closed %.2f" % since()
                        break
                    if time.monotonic() >= end:
                        break
                if state == "open" and time.monotonic() < end:
                    m = dns.message.from_wire(recv_msg(s, 1.0))
                    n += m.id == qid and len(m.answer) > 0
                    qid += 1
        except EOFError:
            state = "closed %.2f" % since()
        except (socket.timeout, OSError):
            state = "closed %.2f" % since() if closed_now(s) else "open"
        say("slow %d %s answered %d" % (k, state, n))

    udp = {"sent": 0, "answered": 0}
    stop = threading.Event()

    def udp_loop():
        x = socket.socket(family(a.host), socket.SOCK_DGRAM)
        x.connect((a.host, a.port))
        x.settimeout(1.0)
        qid = 0
        while not stop.is_set() and time.monotonic() < end:
            qid += 1
            x.send(mkquery("mail.example.test", "A", qid).to_wire())
            udp["sent"] += 1
            try:
                while True:
                    m = dns.message.from_wire(x.recv(4096))
                    if m.id == qid:
                        udp["answered"] += m.rcode() == 0 and len(m.answer) > 0
                        break
            except socket.timeout:
                pass
            time.sleep(0.1)

    threads = [threading.Thread(target=udp_loop)]
    kinds = [(idle, a.idle), (trickle, a.trickle), (slow, a.slow)]
    for fn, count in kinds:
        for k in range(count):
            s = tcp_connect(a.host, a.port)
            threads.append(threading.Thread(target=fn, args=(k, s)))
    for t in threads:
        t.start()
    time.sleep(0.2)   # the cap is full now; one more waits for a free slot
    try:
        x = tcp_connect(a.host, a.port)
        x.sendall(frame(mkquery("ns1.example.test", "A", 0x7777).to_wire()))
        m = dns.message.from_wire(recv_msg(x, end - time.monotonic()))
        say("extra answered %.2f" % since() if m.id == 0x7777 and m.answer else "extra none bad")
        x.close()
    except (socket.timeout, EOFError, OSError) as e:
        say("extra none %s" % type(e).__name__)
    for t in threads[1:]:
        t.join()
    stop.set()
    threads[0].join()
    say("udp sent %d answered %d" % (udp["sent"], udp["answered"]))
    for line in sorted(out):
        print(line)


def cmd_inflight(a):
    s = tcp_connect(a.host, a.port)
    if a.pipeline:
        qs = [mkquery("big.example.test", "TXT", 0x2000 + i) for i in range(a.pipeline)]
        s.sendall(b"".join(frame(q.to_wire()) for q in qs))
        rest, total = b"", a.pipeline
    else:
        w = frame(mkquery("www.example.test", "A", 0x2100).to_wire())
        s.sendall(w[:9])
        rest, total = w[9:], 1
    open(a.ready, "w").close()
    deadline = time.monotonic() + 10
    while not os.path.exists(a.go) and time.monotonic() < deadline:
        time.sleep(0.02)
    got = 0
    try:
        if rest:
            s.sendall(rest)
        for _ in range(total):
            m = dns.message.from_wire(recv_msg(s, 5))
            got += 0x2000 <= m.id <= 0x2100 and len(m.answer) > 0
    except (socket.timeout, EOFError, OSError):
        pass
    print("answered %d of %d" % (got, total))
    t = wait_closed(s, 5)
    print("then", "open" if t is None else "closed")


def cmd_freeport(a):
    for _ in range(50):
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        probe.bind(("::1", 0))
        port = probe.getsockname()[1]
        probe.close()
        held = []
        try:
            for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    x = socket.socket(fam, typ)
                    held.append(x)
                    x.bind((host, port))
        except OSError:
            continue
        finally:
            for x in held:
                x.close()
        print(port)
        return
    sys.exit("no free port")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    sub = p.add_subparsers(dest="cmd", required=True)
    x = sub.add_parser("query")
    x.add_argument("name")
    x.add_argument("type")
    x.add_argument("--tcp", action="store_true")
    x.add_argument("--noedns", action="store_true")
    x.add_argument("--bufsize", type=int, default=1232)
    x.add_argument("--do", action="store_true")
    x.add_argument("--class", dest="qclass", default="IN")
    x = sub.add_parser("cases")
    x.add_argument("--tcp", action="store_true")
    x.add_argument("--wait", type=float, default=1.5)
    x.add_argument("case", nargs="+", choices=sorted(CASES))
    sub.add_parser("pipeline")
    sub.add_parser("split")
    x = sub.add_parser("idle")
    x.add_argument("--query", action="store_true")
    x.add_argument("--partial", action="store_true")
    x.add_argument("--wait", type=float, default=6.0)
    x = sub.add_parser("cap")
    x.add_argument("--n", type=int, required=True)
    x.add_argument("--extra", type=int, default=1)
    sub.add_parser("freeport")
    x = sub.add_parser("churn")
    x.add_argument("--n", type=int, default=60)
    x = sub.add_parser("hold")
    x.add_argument("--seconds", type=float, default=10)
    x = sub.add_parser("flood")
    x.add_argument("--n", type=int, default=100)
    x.add_argument("--qname", default="big.example.test")
    x.add_argument("--qtype", default="TXT")
    x.add_argument("--an", type=int, default=8, help="answer records expected in each")
    x.add_argument("--delay", type=float, default=0.3)
    x = sub.add_parser("watch")
    x.add_argument("name")
    x.add_argument("type")
    x.add_argument("--until", default="")
    x.add_argument("--seconds", type=float, default=10)
    x = sub.add_parser("rrl")
    x.add_argument("name")
    x.add_argument("type")
    x.add_argument("--n", type=int, default=50)
    x.add_argument("--src", default="127.0.0.1")
    x.add_argument("--random", action="store_true")
    x.add_argument("--wait", type=float, default=0.5)
    x = sub.add_parser("loris")
    x.add_argument("--idle", type=int, default=4)
    x.add_argument("--trickle", type=int, default=2)
    x.add_argument("--slow", type=int, default=2)
    x.add_argument("--seconds", type=float, default=7)
    x = sub.add_parser("inflight")
    x.add_argument("--ready", required=True)
    x.add_argument("--go", required=True)
    x.add_argument("--half", action="store_true")
    x.add_argument("--pipeline", type=int, default=0)
    x = sub.add_parser("burst")
    x.add_argument("--socks", type=int, default=8)
    x.add_argument("--per", type=int, default=25)
    a = p.parse_args()
    {"query": cmd_query, "cases": cmd_cases, "pipeline": cmd_pipeline, "split": cmd_split,
     "idle": cmd_idle, "cap": cmd_cap, "freeport": cmd_freeport, "hold": cmd_hold,
     "churn": cmd_churn, "rrl": cmd_rrl, "loris": cmd_loris, "inflight": cmd_inflight,
     "flood": cmd_flood, "burst": cmd_burst, "watch": cmd_watch}[a.cmd](a)


if __name__ == "__main__":
    main()
