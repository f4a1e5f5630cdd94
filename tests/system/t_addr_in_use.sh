#!/bin/sh
# t_addr_in_use.sh -- an address:port that is already taken stops dnsd at
# start-up (dnsd(8), EXIT STATUS: 1 for "address in use"), whether another
# program holds it or another dnsd serves it. SO_REUSEPORT (one socket per
# worker) must not let a second server silently share the port and take
# part of its queries.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 7
make_store example.test "$DATA/example.test.zone"

# try_dnsd PORT: run a dnsd on 127.0.0.1:PORT for at most 5 s; sets rc
try_dnsd() {
    rm -f "$TMPD/port2"
    timeout 5 ${DNSD_WRAPPER:-} "$DNSD" --store "$STORE" --listen "127.0.0.1:$1" \
        --port-file "$TMPD/port2" --workers 2 >"$TMPD/try.out" 2>"$TMPD/try.err"
    rc=$?
}

# another program holds the port
"$PYTHON" "$top_srcdir/tests/system/dnsq.py" hold --seconds 8 >"$TMPD/held" &
holder=$!
i=0
while [ ! -s "$TMPD/held" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
HP=$(head -n 1 "$TMPD/held")
try_dnsd "$HP"
is "$rc" 1 "port held by another program: dnsd exits 1 at once"
like "$(cat "$TMPD/try.err")" "127\\.0\\.0\\.1:$HP.*in use" "port held by another program: stderr names the address, in use"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# another dnsd serves the port
start_dnsd
try_dnsd "$PORT"
is "$rc" 1 "port served by another dnsd: the second exits 1 at once (rc 124 = still running after 5 s)"
ok '[ ! -s "$TMPD/port2" ]' "port served by another dnsd: the second never reports listening"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "the first dnsd still answers"
like "$(cat "$TMPD/try.err")" "127\\.0\\.0\\.1:$PORT.*in use" "port served by another dnsd: stderr names the address, in use"
ok 'kill -0 "$DNSD_PID"' "the first dnsd is still running"
