#!/bin/sh
# t_progress.sh -- long dnsctl commands (zone import of a large file, store
# backup) show a progress line on a terminal: records read, percentage,
# rate and ETA, rewritten with "\r" at most four times a second, and a
# final line; run under a pseudo-terminal (script(1)) to see it. Without a
# terminal, or with --quiet, standard error stays empty and standard output
# is the same machine-readable summary.
. "$top_srcdir/tests/system/lib.sh"
need script
plan 14

N=20000
awk -v n=$N 'BEGIN { print "$TTL 300"; print "@ SOA ns1 h 1 3600 600 86400 300"; print "@ NS ns1";
                     print "ns1 A 192.0.2.1";
                     for (i = 0; i < n; i++) printf "h%d A 10.0.%d.%d\n", i, int(i / 256) % 256, i % 256 }' \
    >"$TMPD/big.zone"
total=$((N + 3))

# tty CMD: run the shell command CMD with a pseudo-terminal as its standard
# error (and input); what the terminal showed goes to $TMPD/tty, one "\r"
# or newline separated piece a line in $TMPD/lines
tty() {
    script -qec "$1" /dev/null </dev/null >"$TMPD/tty" 2>&1
    tty_rc=$?
    tr '\r' '\n' <"$TMPD/tty" | sed 's/ *$//; /^$/d' >"$TMPD/lines"
}

# on a terminal
tty "'$DNSCTL' --store '$TMPD/s1' zone import big.test '$TMPD/big.zone' >'$TMPD/out1'"
is "$tty_rc" 0 "import on a terminal: exit 0"
like "$(head -n 1 "$TMPD/lines")" "^import: 1024 records \\([0-9]+%\\)" \
    "the first update after 1024 records, with the share of the file read"
like "$(tail -n 1 "$TMPD/lines")" "^import: $total records(, [0-9]+ records/s)? in [0-9]+\\.[0-9] s\$" \
    "a final line: all records, the rate, the time"
updates=$(grep -c '^import: [0-9]* records (' "$TMPD/lines")
secs=$(tail -n 1 "$TMPD/lines" | sed 's/.* in \([0-9]*\)\.[0-9] s$/\1/')
ok '[ "$updates" -ge 1 ] && [ "$updates" -le $((4 * (secs + 1) + 1)) ]' \
    "at most four updates a second ($updates updates, under $((secs + 1)) s)"
more=$(sed -n '2,$p' "$TMPD/lines" | grep '^import: [0-9]* records (' | grep -vc 'records/s, ETA [0-9]*:[0-9][0-9]')
is "$more" 0 "every later update has the rate and the ETA"
is "$(cat "$TMPD/out1")" "imported zone big.test.: $total records, serial 1" \
    "standard output: the usual summary, no progress in it"

# not a terminal: nothing on stderr, the same stdout
"$DNSCTL" --store "$TMPD/s2" zone import big.test "$TMPD/big.zone" >"$TMPD/out2" 2>"$TMPD/err2"
is "$(cat "$TMPD/err2")" "" "import with stderr not a terminal: no progress"
is "$(cat "$TMPD/out2")" "$(cat "$TMPD/out1")" "... and the same standard output"

# --quiet on a terminal: nothing
tty "'$DNSCTL' --store '$TMPD/s3' --quiet zone import big.test '$TMPD/big.zone' >'$TMPD/out3'"
is "$(cat "$TMPD/tty")" "" "--quiet on a terminal: no progress"
is "$(cat "$TMPD/out3")" "$(cat "$TMPD/out1")" "... the same standard output"

# an error half-way: the progress line is cleared, the error starts its own line
sed "15000s/.*/bad A 192.0.2.300/" "$TMPD/big.zone" >"$TMPD/bad.zone"
tty "'$DNSCTL' --store '$TMPD/s4' zone import bad.test '$TMPD/bad.zone' >/dev/null"
is "$tty_rc" 1 "a bad record on a terminal: exit 1"
is "$(tail -n 1 "$TMPD/lines")" \
    "dnsctl: $TMPD/bad.zone:15000: bad A rdata \"192.0.2.300\": could not parse the RR's rdata" \
    "the error on a line of its own after the progress"

# store backup: bytes
tty "'$DNSCTL' --store '$TMPD/s1' store backup '$TMPD/b1' >'$TMPD/outb'"
like "$(tail -n 1 "$TMPD/lines")" "^backup: [0-9.]+ (B|KiB|MiB)(, [0-9.]+ (B|KiB|MiB)/s)? in [0-9]+\\.[0-9] s\$" \
    "backup on a terminal: bytes copied, rate, time"
"$DNSCTL" --store "$TMPD/s1" store backup "$TMPD/b2" >/dev/null 2>"$TMPD/errb"
is "$(cat "$TMPD/errb")" "" "backup off a terminal: no progress"
