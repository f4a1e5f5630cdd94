#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cluster_latency.py -- edit-to-visible latency across the nodes of a dnsd
cluster: each edit is made with `dnsctl record add` on one node's store (the
nodes take turns), then every node is asked over UDP (dnspython, every 2 ms)
until it answers the new record. Used by tests/system/t_cluster_latency.sh
(which reports the numbers and checks the issue's 1 s bound) and imported
by tools/bench-cluster (measure()).

Usage: cluster_latency.py --servers ADDR:PORT,... --stores DIR,... --dnsctl PATH
                          --zone ZONE [--count N] [--timeout S] [--prefix LABEL]
  Node i is server i with store i. Edit k adds "PREFIXk 60 IN A 198.18.x.y"
  on node k mod N. Per edit it measures, from the moment dnsctl is started:
    commit   dnsctl's exit (the edit is in etcd and in that node's store)
    visible  the last node answering the record (edit -> answered by all)
  and, from dnsctl's exit to the last node answering, the propagation alone.
  and waits at most --timeout seconds (default 5) for every node.
  Prints a summary (count, failures, p50/p90/p99/max of both, in ms) and a
  last line "RESULT ok=N failed=N unseen=N commit_p50=.. commit_p99=..
  visible_p50=.. visible_p99=.. visible_max=.." (ms). Exit status 0 when
  every edit committed and was seen by every node in time, 1 otherwise.
"""
import argparse
import math
import subprocess
import sys
import time

import dns.message
import dns.query
import dns.rdatatype


def pct(vals, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(vals)
    k = max(1, math.ceil(p / 100.0 * len(s)))
    return s[k - 1]


def addr_of(k):
    return "198.18.%d.%d" % ((k >> 8) & 255, k & 255)


def sees(server, name, want, timeout=0.2):
    host, port = server.rsplit(":", 1)
    q = dns.message.make_query(name, dns.rdatatype.A)
    try:
        r = dns.query.udp(q, host, port=int(port), timeout=timeout)
    except Exception:  # noqa: BLE001 - a lost or late reply is "not yet"
        return False
    for rrset in r.answer:
        for rd in rrset:
            if rd.to_text() == want:
                return True
    return False


def measure(servers, stores, dnsctl, zone, count, timeout=5.0, prefix="lat", log=None,
            start=0):
    """Run `count` edits; returns a list of dicts {k, node, ok, commit_ms,
    visible_ms (None when some node never answered), err}."""
    out = []
    n = len(servers)
    for k in range(start, start + count):
        node = k % n
        name = "%s%d.%s" % (prefix, k, zone.rstrip("."))
        want = addr_of(k)
        cmd = [dnsctl, "--store", stores[node], "record", "add", zone,
               "%s%d 60 IN A %s" % (prefix, k, want)]
        t0 = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        t1 = time.monotonic()
        row = {"k": k, "node": node + 1, "ok": r.returncode == 0, "commit_ms": (t1 - t0) * 1e3,
               "visible_ms": None, "err": (r.stdout + r.stderr).strip()}
        if r.returncode == 0:
            seen = {}
            while len(seen) < n and time.monotonic() - t0 < timeout:
                for i, s in enumerate(servers):
                    if i not in seen and sees(s, name + ".", want):
                        seen[i] = time.monotonic()
                if len(seen) < n:
                    time.sleep(0.002)
            if len(seen) == n:
                row["visible_ms"] = (max(seen.values()) - t0) * 1e3
                row["after_ms"] = max(0.0, (max(seen.values()) - t1) * 1e3)
            else:
                row["err"] = "not answered by node(s) %s within %.1f s" % (
                    ",".join(str(i + 1) for i in range(n) if i not in seen), timeout)
        out.append(row)
        if log and not (row["ok"] and row["visible_ms"] is not None):
            log("edit %d on node %d: %s" % (k, node + 1, row["err"]))
    return out


def summary(rows):
    ok = [r for r in rows if r["ok"]]
    vis = [r["visible_ms"] for r in ok if r["visible_ms"] is not None]
    com = [r["commit_ms"] for r in ok]
    aft = [r["after_ms"] for r in ok if r["visible_ms"] is not None]
    res = {"count": len(rows), "ok": len(ok), "failed": len(rows) - len(ok),
           "unseen": len(ok) - len(vis)}
    for key, vals in (("commit", com), ("visible", vis), ("after", aft)):
        for p in (50, 90, 99):
            res["%s_p%d" % (key, p)] = pct(vals, p) if vals else float("nan")
        res[key + "_max"] = max(vals) if vals else float("nan")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", required=True)
    ap.add_argument("--stores", required=True)
    ap.add_argument("--dnsctl", required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--prefix", default="lat")
    a = ap.parse_args()
    servers = a.servers.split(",")
    stores = a.stores.split(",")
    if len(servers) != len(stores) or not 1 <= a.count <= 10000:
        sys.exit("cluster_latency: one store per server; --count 1..10000")
    rows = measure(servers, stores, a.dnsctl, a.zone, a.count, a.timeout, a.prefix,
                   log=lambda m: print("# " + m, flush=True))
    s = summary(rows)
    print("# %d edits on %d nodes (taking turns): %d committed, %d refused, %d not seen "
          "everywhere in %.1f s" % (s["count"], len(servers), s["ok"], s["failed"], s["unseen"],
                                    a.timeout))
    print("# dnsctl start -> committed:          p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (s["commit_p50"], s["commit_p90"], s["commit_p99"], s["commit_max"]))
    print("# dnsctl start -> answered by all:    p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (s["visible_p50"], s["visible_p90"], s["visible_p99"], s["visible_max"]))
    print("# dnsctl exit -> answered by all:     p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (s["after_p50"], s["after_p90"], s["after_p99"], s["after_max"]))
    print("RESULT ok=%d failed=%d unseen=%d commit_p50=%.1f commit_p99=%.1f visible_p50=%.1f "
          "visible_p99=%.1f visible_max=%.1f" % (s["ok"], s["failed"], s["unseen"], s["commit_p50"],
                                                  s["commit_p99"], s["visible_p50"],
                                                  s["visible_p99"], s["visible_max"]))
    sys.exit(0 if s["ok"] == s["count"] and s["unseen"] == 0 else 1)


if __name__ == "__main__":
    main()
