#!/bin/sh
# t_rrl.sh -- response rate limiting (dnsd(8) RRL): with rrl-rate 5 and
# rrl-slip 2 on two workers, a burst of 60 identical UDP queries from
# 127.0.0.1 (each from its own source port, so both workers see some) gets
# 5 answers (plus what refills while it is sent), and the rest are limited:
# about half sent back as empty TC=1 slips, the other half dropped. TCP
# from the same client is never limited; another name, another /24 and
# another response class have buckets of their own; NXDOMAIN for random
# names counts per zone; the counters match what the client saw exactly.
# slip 1 slips every limited response, slip 0 drops them all; the default
# (rrl-rate 200) limits a burst of 400, and rrl-rate 0 turns limiting off.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 24
make_store example.test "$DATA/example.test.zone"

# burst NAME TYPE [ARGS]: sets B to "sent N answered A slipped S none D bad B elapsed E"
# and A S D (answered, slipped, none) and E (elapsed s)
burst() {
    B=$(dnsq rrl --wait 0.3 "$@")
    set -- $B
    A=$4 S=$6 D=$8 BAD=${10} E=${12}
    diag "burst: $B"
}
# max answered for a burst: 5 at once + 5/s refill while sending + 1 (generous)
maxok() { awk -v e="$E" 'BEGIN { printf "%d", 5 + 5 * e + 2 }'; }
absdiff() { d=$(($1 - $2)); [ $d -lt 0 ] && d=$((-d)); echo $d; }

start_dnsd --rrl-rate 5 --rrl-slip 2 --stats-file "$TMPD/stats" --stats-interval 0
like "$(cat "$TMPD/dnsd.log")" 'rate limit: 5 responses/s per flow, slip 2, IPv4 /24, IPv6 /56' \
    "the limit is logged at start"
tot_s=0 tot_d=0

burst www.example.test A --n 60
ok '[ "$A" -ge 5 ] && [ "$A" -le "$(maxok)" ]' "60 queries, rate 5: 5 to $(maxok) answered in full ($A)"
ok '[ "$S" -ge 20 ] && [ "$D" -ge 20 ]' "the rest limited: slipped ($S) and dropped ($D), 20+ each"
ok '[ "$(absdiff "$S" "$D")" -le 1 ]' "slip 2: every other limited response slips ($S vs $D)"
is "$((A + S + D))/$BAD" "60/0" "every query accounted for; every slip a TC=1 reply to its question, no records"
tot_s=$((tot_s + S)) tot_d=$((tot_d + D))

# TCP from the same client is never limited
for i in 1 2 3; do
    out=$(dnsq query --tcp www.example.test A)
    is "$(field "$out" counts)/$(field "$out" flags)" "1 1 0 1/qr aa" "TCP $i from the limited client: full answer"
done

# other buckets: another name, another response class, another /24
burst mail.example.test A --n 8
ok '[ "$A" -ge 5 ]' "another name (mail A): its own bucket, 5+ answered ($A of 8)"
tot_s=$((tot_s + S)) tot_d=$((tot_d + D))
burst www.example.test AAAA --n 8
ok '[ "$A" -ge 5 ]' "another qtype (www AAAA, NODATA): its own bucket, 5+ answered ($A of 8)"
tot_s=$((tot_s + S)) tot_d=$((tot_d + D))
burst www.example.test A --n 8 --src 127.0.1.1
ok '[ "$A" -ge 5 ]' "another /24 (127.0.1.1): its own bucket, 5+ answered ($A of 8)"
tot_s=$((tot_s + S)) tot_d=$((tot_d + D))

# NXDOMAIN is counted per zone: 30 random names share one bucket
burst example.test A --n 30 --random
ok '[ "$A" -le "$(maxok)" ] && [ $((S + D)) -ge 20 ]' \
    "30 random names under the zone (NXDOMAIN): one bucket, limited ($A answered, $((S + D)) limited)"
tot_s=$((tot_s + S)) tot_d=$((tot_d + D))

# the counters, summed over both workers, match what the clients saw
rm -f "$TMPD/stats"
kill -USR1 "$DNSD_PID"
i=0
while [ ! -s "$TMPD/stats" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
st=$(cat "$TMPD/stats" 2>/dev/null)
is "$(field "$st" rrl.slipped)" "$tot_s" "stats: rrl.slipped = slips seen ($tot_s)"
is "$(field "$st" rrl.dropped)" "$tot_d" "stats: rrl.dropped = replies missing ($tot_d)"
is "$(field "$st" rrl.limited)" "$((tot_s + tot_d))" "stats: rrl.limited = both"
like "$(cat "$TMPD/dnsd.log")" "stats: .*rate limit: $((tot_s + tot_d)) limited \\($tot_s slipped, $tot_d dropped\\)" \
    "SIGUSR1: the same numbers in the log"
stop_dnsd
like "$(cat "$TMPD/dnsd.log")" "stopped: .*rate limit: $((tot_s + tot_d)) limited" "at shutdown: logged"

# slip 1: every limited response slips; slip 0: none does
start_dnsd --rrl-rate 5 --rrl-slip 1
burst www.example.test A --n 20
ok '[ "$A" -le "$(maxok)" ] && [ "$D" -eq 0 ] && [ "$S" -eq $((20 - A)) ]' \
    "slip 1: all limited responses slip ($A answered, $S slipped, $D dropped)"
stop_dnsd
start_dnsd --rrl-rate 5 --rrl-slip 0
burst www.example.test A --n 20
ok '[ "$A" -le "$(maxok)" ] && [ "$S" -eq 0 ] && [ "$D" -eq $((20 - A)) ]' \
    "slip 0: all limited responses dropped ($A answered, $S slipped, $D dropped)"
stop_dnsd

# a higher rate lets the same burst through
start_dnsd --rrl-rate 100
burst www.example.test A --n 60
is "$A/$S/$D" "60/0/0" "rrl-rate 100: a burst of 60 is answered in full"
stop_dnsd

# the default is on (rrl-rate 200): a burst of 400 is limited; rrl-rate 0
# turns it off (what tools/bench does), and then nothing is logged about it
start_dnsd
burst www.example.test A --n 400
max200=$(awk -v e="$E" 'BEGIN { printf "%d", 200 + 200 * e + 2 }')
ok '[ "$A" -le "$max200" ] && [ "$S" -ge 1 ]' \
    "default (rrl-rate 200): a burst of 400 is limited ($A answered, $S slipped, $D dropped)"
like "$(cat "$TMPD/dnsd.log")" 'rate limit: 200 responses/s per flow, slip 2' \
    "default: the limit is logged at start"
stop_dnsd
start_dnsd --rrl-rate 0
burst www.example.test A --n 400
is "$A/$S/$D" "400/0/0" "rrl-rate 0 (off): a burst of 400 is answered in full"
unlike "$(cat "$TMPD/dnsd.log")" 'rate limit:.*responses/s' "off: nothing logged about a limit"
