#!/usr/bin/python3
"""TSIG interop between dnspython and ours (tests/unit/tsig_peer, which
wraps zones/tsig.c), for every algorithm. Run by t_tsig_interop.sh.

  tsig_interop.py PEER       prints one line per check: "PASS what" or
                             "FAIL what: why"

For each algorithm: dnspython signs an AXFR request, ours verifies it and
signs three chained answers, dnspython verifies the chain (multi-message,
RFC 8945 5.3.1); ours signs a request, dnspython verifies it and signs three
chained answers, ours verifies them and calls the transfer complete; a
changed byte in an answer fails. Then the error answers as dnspython reads
them: BADSIG (wrong secret) and BADKEY (unknown key) unsigned, BADTIME
(the peer's clock an hour ahead) signed."""
import base64
import os
import subprocess
import sys

import dns.message
import dns.rcode
import dns.rrset
import dns.tsig
import dns.tsigkeyring

PEER = sys.argv[1]
KEY = "interop.example."
ALGS = {
    "hmac-sha1": 20,
    "hmac-sha224": 28,
    "hmac-sha256": 32,
    "hmac-sha384": 48,
    "hmac-sha512": 64,
}


def report(ok, what, why=""):
    print(("PASS " if ok else "FAIL ") + what + ("" if ok else ": " + why), flush=True)


def secret_for(n, salt=b"k"):
    """A fixed secret of n bytes (another one for another salt), base64."""
    return base64.b64encode(bytes((i * 7 + sum(salt)) & 0xff for i in range(n))).decode()


def peer(mode, alg, b64, *args, env=None):
    return subprocess.Popen([PEER, mode, KEY, alg, b64] + [str(a) for a in args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, **(env or {})))


def query(ring, alg):
    q = dns.message.make_query("example.test.", "AXFR")
    q.use_tsig(ring, keyname=KEY, algorithm=alg)
    return q


def server_side(alg, b64, ring):
    q = query(ring, alg)
    wire = q.to_wire()
    p = peer("server", alg, b64, 3)
    out, _ = p.communicate(wire.hex() + "\n", timeout=20)
    lines = out.split()
    if lines[:2] != ["verify", "0"]:
        return report(False, f"{alg}: ours verifies dnspython's request", out.strip())
    report(True, f"{alg}: ours verifies dnspython's request")
    ctx = None
    try:
        for i, h in enumerate(lines[2:]):
            m = dns.message.from_wire(bytes.fromhex(h), keyring=ring, request_mac=q.mac,
                                      xfr=True, origin=None, tsig_ctx=ctx, multi=True)
            ctx = m.tsig_ctx
            if not m.had_tsig:
                raise ValueError(f"answer {i} unsigned")
        report(len(lines[2:]) == 3, f"{alg}: dnspython verifies our 3 chained answers",
               f"{len(lines[2:])} answers")
    except Exception as e:  # dnspython raises its own exception per failure
        report(False, f"{alg}: dnspython verifies our 3 chained answers", repr(e))


def client_side(alg, b64, ring):
    p = peer("client", alg, b64)
    qwire = bytes.fromhex(p.stdout.readline().strip())
    try:
        q = dns.message.from_wire(qwire, keyring=ring)
        report(q.had_tsig, f"{alg}: dnspython verifies our request")
    except Exception as e:
        p.kill()
        p.wait()
        return report(False, f"{alg}: dnspython verifies our request", repr(e))
    ctx = None
    answers = []
    for i in range(3):
        r = dns.message.make_response(q)
        r.answer.append(dns.rrset.from_text(f"h{i}.example.test.", 300, "IN", "A",
                                            f"192.0.2.{i + 1}"))
        answers.append(r.to_wire(multi=True, tsig_ctx=ctx))
        ctx = r.tsig_ctx
    results = []
    for w in answers:
        p.stdin.write(w.hex() + "\n")
        p.stdin.flush()
        results.append(p.stdout.readline().strip())
    p.stdin.close()
    done = p.stdout.read().strip()
    p.wait()
    report(results == ["verify 0 1"] * 3 and done == "complete 1",
           f"{alg}: ours verifies dnspython's 3 chained answers, transfer complete",
           f"{results} {done}")

    # the same stream with one byte of the second answer changed
    p = peer("client", alg, b64)
    q = dns.message.from_wire(bytes.fromhex(p.stdout.readline().strip()), keyring=ring)
    ctx, answers = None, []
    for i in range(2):
        r = dns.message.make_response(q)
        r.answer.append(dns.rrset.from_text("h.example.test.", 300, "IN", "A", "192.0.2.9"))
        answers.append(bytearray(r.to_wire(multi=True, tsig_ctx=ctx)))
        ctx = r.tsig_ctx
    answers[1][40] ^= 1
    out, _ = p.communicate("".join(w.hex() + "\n" for w in answers), timeout=20)
    report(out.split("\n")[:2] == ["verify 0 1", "verify 16 0"],
           f"{alg}: ours finds the changed byte in the second answer (BADSIG)", out.strip())


def error_answers(ring):
    b64 = secret_for(32)
    # BADSIG: the peer holds another secret under the same name
    q = query(ring, "hmac-sha256")
    p = peer("server", "hmac-sha256", secret_for(32, b"other"), 0)
    out, _ = p.communicate(q.to_wire().hex() + "\n", timeout=20)
    lines = out.split("\n")
    try:
        dns.message.from_wire(bytes.fromhex(lines[1]), keyring=ring, request_mac=q.mac)
        report(False, "BADSIG answer: dnspython reads PeerBadSignature", "no exception")
    except dns.tsig.PeerBadSignature:
        report(lines[0] == "verify 16", "BADSIG answer: dnspython reads PeerBadSignature",
               lines[0])
    except Exception as e:
        report(False, "BADSIG answer: dnspython reads PeerBadSignature", repr(e))
    # BADKEY: the peer knows another key name
    other = dns.tsigkeyring.from_text({"nope.example.": ("hmac-sha256", b64)})
    q = dns.message.make_query("example.test.", "SOA")
    q.use_tsig(other, keyname="nope.example.", algorithm="hmac-sha256")
    p = peer("server", "hmac-sha256", b64, 0)
    out, _ = p.communicate(q.to_wire().hex() + "\n", timeout=20)
    lines = out.split("\n")
    try:
        dns.message.from_wire(bytes.fromhex(lines[1]), keyring=other, request_mac=q.mac)
        report(False, "BADKEY answer: dnspython reads PeerBadKey", "no exception")
    except dns.tsig.PeerBadKey:
        report(lines[0] == "verify 17", "BADKEY answer: dnspython reads PeerBadKey", lines[0])
    except Exception as e:
        report(False, "BADKEY answer: dnspython reads PeerBadKey", repr(e))
    # BADTIME: the peer's clock an hour ahead; its answer is signed
    q = query(ring, "hmac-sha256")
    p = peer("server", "hmac-sha256", b64, 0, env={"TSIG_PEER_SKEW": "3600"})
    out, _ = p.communicate(q.to_wire().hex() + "\n", timeout=20)
    lines = out.split("\n")
    try:
        dns.message.from_wire(bytes.fromhex(lines[1]), keyring=ring, request_mac=q.mac)
        report(False, "BADTIME answer: dnspython reads PeerBadTime", "no exception")
    except dns.tsig.PeerBadTime:
        report(lines[0] == "verify 18", "BADTIME answer: dnspython reads PeerBadTime", lines[0])
    except Exception as e:
        report(False, "BADTIME answer: dnspython reads PeerBadTime", repr(e))


def main():
    for alg, n in ALGS.items():
        b64 = secret_for(n)
        ring = dns.tsigkeyring.from_text({KEY: (alg, b64)})
        server_side(alg, b64, ring)
        client_side(alg, b64, ring)
    error_answers(dns.tsigkeyring.from_text({KEY: ("hmac-sha256", secret_for(32))}))


main()
