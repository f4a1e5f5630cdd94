#!/bin/sh
# t_dnstap.sh -- dnstap query logging (dnsd(8) dnstap-*): dnsd writes
# AUTH_QUERY/AUTH_RESPONSE frames to a real fstrm_capture over its Unix
# socket (the bidirectional Frame Streams handshake); the capture, read back
# with dnstap-read, holds exactly the queries sent (UDP, TCP, one with ECS),
# their names, types, transports and both addresses, with the identity and
# version set. dnstap-file with dnstap-sample 10 and responses off logs
# exactly every 10th query (one worker). With no reader at all dnsd answers
# every query, and counts each message as sent (handed to fstrm, which
# discards it) or dropped; when the reader goes away and comes back, fstrm
# reconnects and logging goes on. Bad settings are refused at start with a
# clear line. As root: dnsd in a chroot as nobody logs to a socket inside it.
. "$top_srcdir/tests/system/lib.sh"
need dig fstrm_capture dnstap-read ss
plan 29
make_store example.test "$DATA/example.test.zone"
VERSION=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")

CAP_PID=
stop_capture() { stop_pid "$CAP_PID"; CAP_PID=; }
at_exit stop_capture

# start_capture SOCKET FILE: fstrm_capture reading dnstap frames from SOCKET into FILE
start_capture() {
    rm -f "$1"
    fstrm_capture -t protobuf:dnstap.Dnstap -u "$1" -w "$2" >"$TMPD/capture.log" 2>&1 &
    CAP_PID=$!
    _i=0
    while [ ! -S "$1" ]; do
        _i=$((_i + 1))
        if [ $_i -gt 100 ] || ! kill -0 "$CAP_PID" 2>/dev/null; then
            echo "Bail out! fstrm_capture did not start"; sed 's/^/# /' "$TMPD/capture.log"; exit 1
        fi
        sleep 0.05
    done
}

# wait_connected SOCKET: until dnsd's fstrm thread has connected to the
# reader (frames submitted before that are discarded by fstrm); up to 10 s
wait_connected() {
    _i=0
    while [ -z "$(ss -xH state established "( src $1 )" 2>/dev/null)" ]; do
        _i=$((_i + 1))
        if [ $_i -gt 200 ]; then
            echo "Bail out! dnsd did not connect to $1"; sed 's/^/# /' "$TMPD/dnsd.log"; exit 1
        fi
        sleep 0.05
    done
}

stat_of() { sed -n "s/^$1 //p" "$TMPD/stats"; }

# ---- the socket: exactly what was asked, read back
SOCK=$TMPD/tap.sock
start_capture "$SOCK" "$TMPD/tap.fstrm"
start_dnsd --workers 1 --dnstap-socket "$SOCK" --dnstap-identity tap-test \
    --stats-file "$TMPD/stats"
wait_connected "$SOCK"
like "$(cat "$TMPD/dnsd.log")" "dnstap: logging queries and responses to socket $SOCK, one query in 1" \
    "logged: where dnstap goes"
q www.example.test A >/dev/null
q www.example.test AAAA >/dev/null
q nope.example.test A >/dev/null
q +subnet=198.51.100.0/24 www.example.test TXT >/dev/null
q +tcp example.test NS >/dev/null
q +tcp www.example.test A >/dev/null
signal_dnsd TERM
is "$DNSD_GONE $DNSD_RC" "yes 0" "dnsd stops cleanly with dnstap on"
stop_capture
out=$(dnstap-read "$TMPD/tap.fstrm")
is "$(printf '%s\n' "$out" | grep -c .)" 12 "the capture holds 12 messages: 6 queries, 6 responses"
is "$(printf '%s\n' "$out" | awk '{print $3, $7, $9}' | tr '\n' ' ')" \
    "AQ UDP www.example.test/IN/A AR UDP www.example.test/IN/A AQ UDP www.example.test/IN/AAAA AR UDP www.example.test/IN/AAAA AQ UDP nope.example.test/IN/A AR UDP nope.example.test/IN/A AQ UDP www.example.test/IN/TXT AR UDP www.example.test/IN/TXT AQ TCP example.test/IN/NS AR TCP example.test/IN/NS AQ TCP www.example.test/IN/A AR TCP www.example.test/IN/A " \
    "each query then its response, in order: type, transport, name and type asked"
is "$(printf '%s\n' "$out" | awk '$3 == "AQ" {print $4, $5, $6}' | sed 's/:[0-9]* / /' | sort -u)" \
    "127.0.0.1 -> 127.0.0.1:$PORT" "queries: from the client to the server's address and port"
is "$(printf '%s\n' "$out" | awk '$3 == "AR" {print $4, $5, $6}' | sed 's/:[0-9]* / /' | sort -u)" \
    "127.0.0.1 <- 127.0.0.1:$PORT" "responses: the same two ends"
y=$(dnstap-read -y "$TMPD/tap.fstrm")
is "$(printf '%s\n' "$y" | grep -c '^identity: tap-test$')" 12 "every message carries dnstap-identity"
is "$(printf '%s\n' "$y" | grep -c "^version: dnsd $VERSION\$")" 12 "and the default version, dnsd $VERSION"
like "$y" "CLIENT-SUBNET: 198.51.100.0/24" "the ECS option is in the logged query"
like "$y" "status: NXDOMAIN" "the logged response has the NXDOMAIN rcode"
like "$(printf '%s\n' "$y" | grep -A30 'type: AUTH_RESPONSE' | grep -m1 'www.example.test.*IN.*A.*192.0.2.80')" \
    "192.0.2.80" "the logged response has the answer record"
is "$(stat_of dnstap.sent)" 12 "stats: dnstap.sent 12"
is "$(stat_of dnstap.dropped)" "" "stats: nothing dropped (dnstap.dropped not listed)"

# ---- a file, one query in 10, queries only
names=
i=1
while [ $i -le 30 ]; do names="$names q$i.example.test"; i=$((i + 1)); done
start_dnsd --workers 1 --dnstap-file "$TMPD/sampled.fstrm" --dnstap-sample 10 \
    --dnstap-log-responses no --stats-file "$TMPD/stats"
# shellcheck disable=SC2086
answers=$(dig @127.0.0.1 -p "$PORT" +norec +time=2 +tries=1 $names | grep -c 'status: NXDOMAIN')
is "$answers" 30 "30 queries answered"
signal_dnsd TERM
is "$DNSD_GONE $DNSD_RC" "yes 0" "dnsd stops cleanly (dnstap-file)"
out=$(dnstap-read "$TMPD/sampled.fstrm")
is "$(printf '%s\n' "$out" | awk '{print $3, $9}' | tr '\n' ' ')" \
    "AQ q10.example.test/IN/A AQ q20.example.test/IN/A AQ q30.example.test/IN/A " \
    "dnstap-sample 10, responses off: the 10th, 20th and 30th queries, no responses"
is "$(stat_of dnstap.sent)" 3 "stats: dnstap.sent 3"
is "$(printf '%s\n' "$(dnstap-read -y "$TMPD/sampled.fstrm")" | grep -c "^identity: $(hostname)\$")" 3 \
    "identity: the host name by default"

# ---- no reader: dnsd answers anyway, nothing waits
start_dnsd --workers 1 --dnstap-socket "$TMPD/nobody-listens.sock" --stats-file "$TMPD/stats"
n=0
for i in 1 2 3 4 5 6 7 8 9 10; do
    [ "$(dig_status "$(q www.example.test A)")" = NOERROR ] && n=$((n + 1))
done
is "$n" 10 "no reader: every query answered"
signal_dnsd TERM
is "$DNSD_GONE $DNSD_RC" "yes 0" "no reader: dnsd stops cleanly"
s=$(stat_of dnstap.sent) dr=$(stat_of dnstap.dropped)
is "$(( ${s:-0} + ${dr:-0} ))" 20 "no reader: each of the 20 messages counted as sent or dropped"

# ---- the reader goes away and comes back: fstrm reconnects
start_capture "$SOCK" "$TMPD/first.fstrm"
start_dnsd --workers 1 --dnstap-socket "$SOCK"
wait_connected "$SOCK"
stop_capture # (what fstrm had not flushed to it yet is lost with it)
n=0
for i in 1 2 3 4 5; do
    [ "$(dig_status "$(q gone$i.example.test A)")" = NXDOMAIN ] && n=$((n + 1))
done
is "$n" 5 "reader gone: dnsd keeps answering"
start_capture "$SOCK" "$TMPD/second.fstrm"
wait_connected "$SOCK"
q after.example.test A >/dev/null
signal_dnsd TERM
is "$DNSD_GONE $DNSD_RC" "yes 0" "dnsd stops cleanly after the reader came back"
stop_capture
like "$(dnstap-read "$TMPD/second.fstrm")" "AQ .* after.example.test/IN/A" \
    "second reader: fstrm reconnected, the query after it came back is logged"

# ---- bad settings: one clear line at start
err=$("$DNSD" --store "$STORE" --listen 127.0.0.1:0 --dnstap-socket "$SOCK" \
    --dnstap-file "$TMPD/x.fstrm" 2>&1)
like "$err" "dnstap-socket and dnstap-file are both set" "both a socket and a file: refused"
err=$("$DNSD" --store "$STORE" --listen 127.0.0.1:0 --dnstap-sample 0 2>&1)
like "$err" 'dnstap-sample: "0" is not a number from 1 to 1000000' "dnstap-sample 0: refused"
err=$("$DNSD" --store "$STORE" --listen 127.0.0.1:0 --dnstap-log-queries maybe 2>&1)
like "$err" 'dnstap-log-queries: "maybe" is not yes or no' "dnstap-log-queries maybe: refused"
err=$("$DNSD" --store "$STORE" --listen 127.0.0.1:0 --dnstap-file "$TMPD/no/such/dir/f" 2>&1)
like "$err" "dnstap-file $TMPD/no/such/dir/f: No such file or directory" \
    "a dnstap-file that cannot be written: refused at start"

# ---- after the privilege drop, in a chroot: the socket path inside it
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    ROOT=$TMPD/root
    mkdir -p "$ROOT/run"
    chmod 755 "$ROOT" "$ROOT/run"
    start_capture "$ROOT/run/tap.sock" "$TMPD/chroot.fstrm"
    chmod 666 "$ROOT/run/tap.sock" # the reader's socket, writable by dnsd's user
    start_dnsd --workers 1 --user nobody --chroot "$ROOT" --dnstap-socket "$ROOT/run/tap.sock"
    wait_connected "$ROOT/run/tap.sock"
    q chroot.example.test A >/dev/null
    signal_dnsd TERM
    stop_capture
    like "$(dnstap-read "$TMPD/chroot.fstrm")" "AR .* chroot.example.test/IN/A" \
        "as nobody in a chroot: dnstap-socket inside it works"
else
    skip 1 "needs root and a user nobody"
fi
