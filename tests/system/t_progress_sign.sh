#!/bin/sh
# t_progress_sign.sh -- `dnsctl dnssec enable` and `dnssec resign` of a big
# zone show a progress line on a terminal: RRsets signed, percentage, rate
# and ETA, rewritten with "\r" at most four times a second, and a final
# line, before the usual summary; run under a pseudo-terminal (script(1)).
# Without a terminal, or with --quiet, standard error stays empty and
# standard output is the same summary; `dnssec disable` shows none.
. "$top_srcdir/tests/system/lib.sh"
need script
plan 15

N=20000
awk -v n=$N 'BEGIN { print "$TTL 300"; print "@ SOA ns1 h 1 3600 600 86400 300"; print "@ NS ns1";
                     print "ns1 A 192.0.2.1";
                     for (i = 0; i < n; i++) printf "h%d A 10.0.%d.%d\n", i, int(i / 256) % 256, i % 256 }' \
    >"$TMPD/big.zone"
total=$((N + 3 + 3)) # the zone's RRsets, and DNSKEY, CDS, CDNSKEY
for s in s1 s2 s3; do
    "$DNSCTL" --store "$TMPD/$s" zone import big.test "$TMPD/big.zone" >/dev/null 2>&1 ||
        { echo "Bail out! cannot import the big zone"; exit 1; }
done

# tty CMD: run the shell command CMD with a pseudo-terminal as its standard
# error (and input); what the terminal showed goes to $TMPD/tty, one "\r"
# or newline separated piece a line in $TMPD/lines
tty() {
    script -qec "$1" /dev/null </dev/null >"$TMPD/tty" 2>&1
    tty_rc=$?
    tr '\r' '\n' <"$TMPD/tty" | sed 's/ *$//; /^$/d' >"$TMPD/lines"
}

# enable on a terminal
tty "'$DNSCTL' --store '$TMPD/s1' dnssec enable big.test >'$TMPD/out1'"
is "$tty_rc" 0 "enable on a terminal: exit 0"
like "$(head -n 1 "$TMPD/lines")" "^sign: 256 RRsets \\(1%\\)" \
    "the first update after the first batch of 256 RRsets, with the share done"
like "$(tail -n 1 "$TMPD/lines")" "^sign: $total RRsets(, [0-9]+ RRsets/s)? in [0-9]+\\.[0-9] s\$" \
    "a final line: all RRsets, the rate, the time"
updates=$(grep -c '^sign: [0-9]* RRsets (' "$TMPD/lines")
secs=$(tail -n 1 "$TMPD/lines" | sed 's/.* in \([0-9]*\)\.[0-9] s$/\1/')
ok '[ "$updates" -ge 1 ] && [ "$updates" -le $((4 * (secs + 1) + 1)) ]' \
    "at most four updates a second ($updates updates, under $((secs + 1)) s)"
more=$(sed -n '2,$p' "$TMPD/lines" | grep '^sign: [0-9]* RRsets (' | grep -vc 'RRsets/s, ETA [0-9]*:[0-9][0-9]')
is "$more" 0 "every later update has the rate and the ETA"
is "$(cat "$TMPD/out1")" "zone big.test. signed: algorithm 13 (ECDSAP256SHA256), one combined signing key (CSK)
give the parent its DS records: dnsctl dnssec ds big.test." \
    "standard output: the usual summary, no progress in it"
like "$("$DNSCTL" --store "$TMPD/s1" dnssec status big.test)" "RRsets: [0-9]+ signed" \
    "the zone is signed"

# not a terminal: nothing on stderr, the same stdout
"$DNSCTL" --store "$TMPD/s2" dnssec enable big.test >"$TMPD/out2" 2>"$TMPD/err2"
is "$(cat "$TMPD/err2")" "" "enable with stderr not a terminal: no progress"
is "$(cat "$TMPD/out2")" "$(cat "$TMPD/out1")" "... and the same standard output"

# --quiet on a terminal: nothing
tty "'$DNSCTL' --store '$TMPD/s3' --quiet dnssec enable big.test >'$TMPD/out3'"
is "$(cat "$TMPD/tty")" "" "--quiet on a terminal: no progress"
is "$(cat "$TMPD/out3")" "$(cat "$TMPD/out1")" "... the same standard output"

# resign: the same line, then its summary
tty "'$DNSCTL' --store '$TMPD/s1' dnssec resign big.test"
like "$(sed -n '$p' "$TMPD/lines")" "^zone big\\.test\\.: $total RRsets signed again\$" \
    "resign on a terminal: the summary last"
like "$(tail -n 2 "$TMPD/lines" | head -n 1)" "^sign: $total RRsets(, [0-9]+ RRsets/s)? in [0-9]+\\.[0-9] s\$" \
    "... after the final progress line"
"$DNSCTL" --store "$TMPD/s2" dnssec resign big.test >/dev/null 2>"$TMPD/err4"
is "$(cat "$TMPD/err4")" "" "resign off a terminal: no progress"

# disable strips signatures: no progress line for it
tty "'$DNSCTL' --store '$TMPD/s1' dnssec disable big.test >/dev/null"
is "$(cat "$TMPD/tty")" "" "disable on a terminal: no progress line"
