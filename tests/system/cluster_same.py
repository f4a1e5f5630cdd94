#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cluster_same.py -- ask every node of a cluster the same questions with dig
and check that they all answer the same (tests/system/lib_cluster.sh,
cluster_same; tools/cluster-demo). It judges no answer right or wrong on its
own: it reports where a node differs from the first one.

Usage: cluster_same.py --servers ADDR:PORT,ADDR:PORT[,...]
                       [--names FILE]... [--name NAME]...
                       [--subnets S,S,...] [--types T,T,...] [--tcp]
  Every name (FILE: one a line, "#" comments) is asked with every type
  (default A,AAAA,TXT,CNAME,MX,NS,SOA,ANY) and every client subnet (EDNS
  Client Subnet, RFC 7871; "none" = no ECS option; the default set is taken
  from the test geo data tests/data/geo/GeoIP2-City-Test: GB, US-WA, JP and
  CN addresses, a 10.1/16 block, 0.0.0.0/0, and none), one `dig -f` batch
  per server (no recursion, 2 s, 2 tries).
  Compared per question: rcode, the AA and TC flags, the ECS scope, and each
  section (answer, authority, additional) as a sorted list of records with
  owner (lower-cased), TTL, class, type and rdata.
  Prints one line per differing question:
    DIFF NAME TYPE SUBNET: SERVER=... FIRST=...
  (at most --show N of them, default 20), then "compared Q questions on N servers: D differ, U unanswered".
  Exit status: 0 all equal, 1 some differ, 2 a server did not answer one.
"""
import argparse
import re
import subprocess
import sys
import tempfile

DEFAULT_SUBNETS = ("81.2.69.142/32", "216.160.83.56/32", "2001:218::/32", "175.16.199.1/32",
                   "10.1.200.0/24", "0.0.0.0/0", "none")
DEFAULT_TYPES = ("A", "AAAA", "TXT", "CNAME", "MX", "NS", "SOA", "ANY")


def parse(block):
    """(status, aa, tc, scope, sections) of one dig reply, or None."""
    m = re.search(r"status: (\w+)", block)
    if not m:
        return None
    status = m.group(1)
    m = re.search(r";; flags: ([a-z ]*);", block)
    flags = set(m.group(1).split()) if m else set()
    m = re.search(r"; CLIENT-SUBNET: \S+/\d+/(\d+)", block)
    scope = m.group(1) if m else "-"
    secs = {"ANSWER": [], "AUTHORITY": [], "ADDITIONAL": []}
    cur = None
    for line in block.splitlines():
        m = re.match(r";; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:", line)
        if m:
            cur = m.group(1)
            continue
        if not line.strip():
            cur = None
            continue
        if line.startswith(";") or cur is None:
            continue
        f = line.split()
        if len(f) >= 4:
            f[0] = f[0].lower()
            secs[cur].append(" ".join(f))
    return (status, "aa" in flags, "tc" in flags, scope,
            tuple(tuple(sorted(secs[k])) for k in ("ANSWER", "AUTHORITY", "ADDITIONAL")))


def show(r):
    if r is None:
        return "(no answer)"
    st, aa, tc, scope, secs = r
    out = [st + (" aa" if aa else "") + (" tc" if tc else "") + " scope " + scope]
    for name, recs in zip(("an", "ns", "ar"), secs):
        if recs:
            out.append("%s: %s" % (name, "; ".join(recs)))
    return " | ".join(out)


def ask_all(server, questions, tcp, tmpdir):
    addr, port = server.rsplit(":", 1)
    bf = "%s/batch-%s-%s" % (tmpdir, addr, port)
    with open(bf, "w") as f:
        for name, qtype, subnet in questions:
            f.write("%s %s%s\n" % (name, qtype, "" if subnet == "none" else " +subnet=" + subnet))
    cmd = ["dig", "@" + addr, "-p", port, "+norec", "+nocookie", "+time=2", "+tries=2", "-f", bf]
    if tcp:
        cmd.insert(4, "+tcp")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30 + 5 * len(questions)).stdout
    blocks = re.split(r"(?m)^; <<>> DiG [^\n]*\n", out)[1:]
    res = [parse(b) for b in blocks]
    return res + [None] * (len(questions) - len(res))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", required=True)
    ap.add_argument("--names", action="append", default=[])
    ap.add_argument("--name", action="append", default=[])
    ap.add_argument("--subnets", default=",".join(DEFAULT_SUBNETS))
    ap.add_argument("--types", default=",".join(DEFAULT_TYPES))
    ap.add_argument("--tcp", action="store_true")
    ap.add_argument("--show", type=int, default=20, help="print at most this many DIFF lines")
    a = ap.parse_args()
    servers = [s for s in a.servers.split(",") if s]
    names = list(a.name)
    for fn in a.names:
        with open(fn) as f:
            names += [x.split("#")[0].strip() for x in f if x.split("#")[0].strip()]
    if len(servers) < 2 or not names:
        sys.exit("cluster_same: need two servers or more and one name or more")
    qs = [(n, t, s) for n in names for t in a.types.split(",") for s in a.subnets.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        got = {s: ask_all(s, qs, a.tcp, tmp) for s in servers}
    first = servers[0]
    differ = unanswered = 0
    for i, q in enumerate(qs):
        rs = {s: got[s][i] for s in servers}
        if any(r is None for r in rs.values()):
            unanswered += 1
            if differ + unanswered <= a.show:
                print("NOANSWER %s %s %s: %s" % (q + (", ".join(s for s in servers if rs[s] is None),)))
            continue
        for s in servers[1:]:
            if rs[s] != rs[first]:
                differ += 1
                if differ + unanswered <= a.show:
                        print("DIFF %s %s %s: %s=%s %s=%s" % (q + (s, show(rs[s]), first, show(rs[first]))))
                break
    print("compared %d questions on %d servers: %d differ, %d unanswered"
          % (len(qs), len(servers), differ, unanswered))
    sys.exit(2 if unanswered else 1 if differ else 0)


if __name__ == "__main__":
    main()
