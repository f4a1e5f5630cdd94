#!/usr/bin/env python3
# promparse.py -- parse a Prometheus text exposition (FILE, or - for stdin)
# with python3-prometheus-client's parser, the reference implementation, and
# print every sample as one line: NAME{k="v",...} VALUE, labels sorted,
# integral values without ".0". With --families: one line per family,
# "NAME TYPE". Exits 1 (and says why) when the text does not parse. Used by
# tests/system/t_metrics*.sh.
import sys

from prometheus_client.parser import text_string_to_metric_families


def fmt(v):
    return str(int(v)) if v == int(v) else repr(v)


def main():
    args = sys.argv[1:]
    fams = "--families" in args
    args = [a for a in args if a != "--families"]
    path = args[0] if args else "-"
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and friends
        print("promparse: %s: does not parse: %s" % (path, e), file=sys.stderr)
        return 1
    out = []
    for f in families:
        if fams:
            out.append("%s %s" % (f.name, f.type))
            continue
        for s in f.samples:
            labels = ",".join('%s="%s"' % (k, s.labels[k]) for k in sorted(s.labels))
            out.append("%s{%s} %s" % (s.name, labels, fmt(s.value)))
    sys.stdout.write("".join(line + "\n" for line in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
