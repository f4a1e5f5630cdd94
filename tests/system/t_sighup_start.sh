#!/bin/sh
# t_sighup_start.sh -- a SIGHUP that arrives while dnsd starts (before its
# handler exists) does not kill it: every asynchronous signal is blocked
# first thing in main() and the handlers take what arrived meanwhile. One
# start with a SIGHUP already pending at exec (deterministic: the old code
# died when it unblocked), then starts under a flood of SIGHUPs.
. "$top_srcdir/tests/system/lib.sh"
need dig python3
ROUNDS=4
plan $((2 + 2 * ROUNDS))
make_store example.test "$DATA/example.test.zone"

# start MODE: run dnsd through sighup_start.py; sets PORT and DNSD_PID when alive
start() {
    rm -f "$TMPD/port"
    res=$(python3 "$top_srcdir/tests/system/sighup_start.py" "$1" "$DNSD" "$TMPD/dnsd.log" \
        "$TMPD/port" --store "$STORE" --listen 127.0.0.1:0 --port-file "$TMPD/port" --workers 2)
    DNSD_PID=$(printf '%s\n' "$res" | sed -n 2p)
    res=$(printf '%s\n' "$res" | head -n 1)
    PORT=$(head -n 1 "$TMPD/port" 2>/dev/null)
}
answers() {
    [ -n "$PORT" ] && [ "$(dig @127.0.0.1 -p "$PORT" +norec +short +time=2 +tries=1 \
        www.example.test A)" = 192.0.2.80 ]
}

start pending
like "$res" '^alive' "SIGHUP pending at exec: dnsd survives ($res)"
ok answers "... and answers"
stop_dnsd

i=0
while [ $i -lt $ROUNDS ]; do
    i=$((i + 1))
    start flood
    like "$res" '^alive' "round $i: SIGHUPs from the start of main: dnsd survives ($res)"
    ok answers "round $i: ... and answers"
    stop_dnsd
done
