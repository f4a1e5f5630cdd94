#!/bin/sh
# t_tcp_slowloris.sh -- slow and silent TCP clients cannot hold the
# connection slots (RFC 7766 6.2.3, 10): with one worker, a cap of 8,
# tcp-idle-timeout 1 and tcp-max-connection-time 4, fill the cap with 4
# silent connections, 2 that trickle a query one byte every 0.25 s (never
# finishing it) and 2 that send whole queries one byte at a time. Then:
# UDP is answered throughout; a 9th connection waits (the cap holds) and is
# served once slots free up; silent and trickling connections are closed at
# the idle timeout (a byte of an unfinished query does not count as
# activity); the slow-but-complete ones keep being answered past it and are
# closed at the total time limit; the counters say so; and afterwards TCP
# serves a full cap of new connections again. Bounds are generous: a lower bound is a timer
# that cannot fire early, an upper bound is 2x to 3x the timeout.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 18
make_store example.test "$DATA/example.test.zone"
start_dnsd_raw "$TMPD/port" --store "$STORE" --listen 127.0.0.1:0 --port-file "$TMPD/port" \
    --workers 1 --tcp-max-connections 8 --tcp-idle-timeout 1 --tcp-max-connection-time 4 \
    --stats-file "$TMPD/stats" --stats-interval 0

out=$(dnsq loris --idle 4 --trickle 2 --slow 2 --seconds 8)
diag "$(printf '%s\n' "$out" | tr '\n' ';')"
# secs KIND: the close (or answer) times of that kind, one per line
secs() { printf '%s\n' "$out" | sed -n "s/^$1 [0-9]* closed \([0-9.]*\).*/\1/p"; }
# within LO HI TIMES: every one of TIMES is in [LO, HI) (and there are some)
within() { [ -n "$3" ] && printf '%s\n' "$3" | awk -v lo="$1" -v hi="$2" '$1 < lo || $1 >= hi { bad = 1 } END { exit bad }'; }

is "$(printf '%s\n' "$out" | grep -c '^idle [0-9]* closed')" 4 "4 silent connections: all closed by the server"
ok 'within 0.9 3 "$(secs idle)"' "silent ones: closed at the idle timeout, 1 s (0.9..3 s): $(secs idle | tr '\n' ' ')"
is "$(printf '%s\n' "$out" | grep -c '^trickle [0-9]* closed')" 2 "2 byte-trickling connections: closed by the server"
ok 'within 0.9 3 "$(secs trickle)"' "trickling ones: closed at the idle timeout too, long before the 4 s limit (0.9..3 s): $(secs trickle | tr '\n' ' ')"
is "$(printf '%s\n' "$out" | grep -c '^slow [0-9]* closed')" 2 "2 slow senders of whole queries: closed by the server"
ok 'within 3.9 7 "$(secs slow)"' "slow senders: kept past the idle timeout, closed at the 4 s total limit (3.9..7 s): $(secs slow | tr '\n' ' ')"
for k in 0 1; do
    n=$(printf '%s\n' "$out" | sed -n "s/^slow $k .* answered \([0-9]*\)$/\1/p")
    ok '[ "${n:-0}" -ge 3 ]' "slow sender $k: its byte-by-byte queries were answered meanwhile (${n:-0})"
done
extra=$(printf '%s\n' "$out" | sed -n 's/^extra answered \([0-9.]*\)$/\1/p')
ok '[ -n "$extra" ]' "9th connection: served in the end ($(field "$out" extra))"
ok 'within 0.9 4 "$extra"' "9th connection: not before the cap freed up at the idle timeout (0.9..4 s): ${extra:-never}"
udp=$(field "$out" udp)
like "$udp" '^sent [1-9][0-9]+ answered' "UDP queried throughout ($udp)"
sent=$(echo "$udp" | awk '{ print $2 }') got=$(echo "$udp" | awk '{ print $4 }')
is "$got" "$sent" "UDP: every query answered while TCP was under attack"

# the counters: 6 closed idle (4 silent + 2 trickling), 2 at the time limit
rm -f "$TMPD/stats"
kill -USR1 "$DNSD_PID"
i=0
while [ ! -s "$TMPD/stats" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
st=$(cat "$TMPD/stats" 2>/dev/null)
is "$(field "$st" tcp.closed.idle)" 6 "stats: tcp.closed.idle 6"
is "$(field "$st" tcp.closed.time)" 2 "stats: tcp.closed.time 2"
is "$(field "$st" tcp.accepted)" 9 "stats: tcp.accepted 9"

# and TCP works again: a full cap of new connections served at once
out=$(dnsq cap --n 8)
n=$(printf '%s\n' "$out" | grep -c '^base [0-7] ok$')
is "$n" 8 "afterwards: 8 new connections served at once (no slot leaked)"
out=$(q +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "afterwards: dig +tcp answered"
out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "afterwards: UDP answered"
