#!/usr/bin/env python3
# metric_names.py -- do the dashboard and the alert rules in contrib/ use only
# metrics dnsd really exports? Usage: metric_names.py SCRAPE FILE...
# SCRAPE is a real exposition of a running dnsd (text format); every FILE is
# searched for metric names (dnsd_* and process_*), and each must be a
# family of SCRAPE (a histogram's _bucket/_sum/_count count as its family).
# Prints "FILE: NAME" for each name that is not, and exits 1 if any; prints
# the names checked otherwise. Used by tests/system/t_metrics_contrib.sh.
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    if len(sys.argv) < 3:
        print("usage: metric_names.py SCRAPE FILE...", file=sys.stderr)
        return 2
    text = open(sys.argv[1], encoding="utf-8").read()
    have = set()
    for f in text_string_to_metric_families(text):
        if f.type == "counter":
            have.add(f.name + "_total")
        elif f.type == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                have.add(f.name + suffix)
        else:
            have.add(f.name)
    # a family without samples is still exported (certificates, shards):
    # take the # TYPE lines too
    for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M):
        name, typ = m.group(1), m.group(2)
        have.add(name)
        if typ == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                have.add(name + suffix)
    bad = 0
    used = set()
    for path in sys.argv[2:]:
        body = open(path, encoding="utf-8").read()
        for name in sorted(set(re.findall(r"\b((?:dnsd|process)_[a-z0-9_]+)\b", body))):
            used.add(name)
            if name not in have:
                print("%s: %s is not exported by dnsd" % (path, name))
                bad += 1
    if bad:
        return 1
    print("\n".join(sorted(used)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
