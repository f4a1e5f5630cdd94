#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""journal_replay.py -- check a zone's change journal against saved exports.

Usage: journal_replay.py DNSCTL STORE ZONE EXPORT_DIR

EXPORT_DIR holds files named exp.<serial>: `dnsctl zone export ZONE` as it
was when the zone had that serial. For every such serial S the journal
still holds (S is the from-serial of a kept entry), `dnsctl zone journal
ZONE --from S --json` is applied to that export (each removed record must
be there, each added one must not) and the result must equal `dnsctl zone
export ZONE` now, region by region. For a saved serial the journal no
longer holds, --from S must fail (the "whole zone" fallback). The newest
entry's to-serial must be the zone's SOA serial. Used by t_crash.sh and
t_journal.sh; prints "ok: ..." lines on success, "FAIL: ..." and exits 1.
"""
import json
import os
import subprocess
import sys


def parse_export(text):
    """A zone export -> set of (region, owner, ttl, type, rdata)."""
    recs = set()
    region = "default"
    for line in text.splitlines():
        if not line or line.startswith(";"):
            continue
        if line.startswith("$REGION"):
            region = line.split()[1]
            continue
        f = line.split("\t")
        if len(f) != 5 or f[2] != "IN":
            raise ValueError("unexpected export line: %r" % line)
        recs.add((region, f[0].lower(), f[1], f[3], f[4]))
    return recs


def rr_key(r):
    return (r["region"], r["owner"].lower(), str(r["ttl"]), r["type"], r["rdata"])


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    dnsctl, store, zone, expdir = sys.argv[1:5]
    base = [dnsctl, "--store", store]
    rc, out, err = run(base + ["zone", "export", zone])
    if rc:
        print("FAIL: zone export: " + err.strip())
        return 1
    now = parse_export(out)
    serial_now = int(out.splitlines()[0].split()[-1])
    rc, out, err = run(base + ["zone", "journal", zone, "--json"])
    if rc:
        print("FAIL: zone journal: " + err.strip())
        return 1
    j = json.loads(out)
    entries = j["entries"]
    fails = []
    if j["serial"] != serial_now:
        fails.append("journal says serial %d, the export %d" % (j["serial"], serial_now))
    if entries and entries[-1]["to"] != serial_now:
        fails.append("the newest entry ends at %d, the zone is at %d"
                     % (entries[-1]["to"], serial_now))
    for a, b in zip(entries, entries[1:]):
        if a["to"] != b["from"]:
            fails.append("entries do not chain: %d->%d then %d->%d"
                         % (a["from"], a["to"], b["from"], b["to"]))
    kept = {e["from"] for e in entries} | {serial_now}
    replayed = gone = 0
    saved = sorted(int(f.split(".", 1)[1]) for f in os.listdir(expdir) if f.startswith("exp."))
    for s in saved:
        with open(os.path.join(expdir, "exp.%d" % s)) as f:
            zone_then = parse_export(f.read())
        rc, out, err = run(base + ["zone", "journal", zone, "--from", str(s), "--json"])
        if s not in kept:
            if rc == 0:
                fails.append("serial %d is not kept but --from %d succeeded" % (s, s))
            gone += 1
            continue
        if rc:
            fails.append("--from %d failed: %s" % (s, err.strip()))
            continue
        recs = set(zone_then)
        bad = []
        for e in json.loads(out)["entries"]:
            for r in e["removed"]:
                k = rr_key(r)
                if k not in recs:
                    bad.append("%d->%d removes %s, not there" % (e["from"], e["to"], k))
                recs.discard(k)
            for r in e["added"]:
                k = rr_key(r)
                if k in recs:
                    bad.append("%d->%d adds %s, already there" % (e["from"], e["to"], k))
                recs.add(k)
        if recs != now:
            bad.append("from %d: %d records differ (e.g. %s)"
                       % (s, len(recs ^ now), sorted(recs ^ now)[:3]))
        if bad:
            fails.append("replay from %d: %s" % (s, "; ".join(bad[:3])))
        replayed += 1
    if fails:
        for f in fails[:10]:
            print("FAIL: " + f)
        return 1
    print("ok: %s: %d entries, %d saved serials replayed to %d, %d no longer kept"
          % (zone, len(entries), replayed, serial_now, gone))
    return 0


if __name__ == "__main__":
    sys.exit(main())
