#!/bin/sh
# SPDX-License-Identifier: MIT
# t_sd_notify.sh -- dnsd under systemd (contrib/dnsd.service, Type=notify):
# it sends READY=1 only once it answers, RELOADING=1 then READY=1 around a
# SIGHUP reload, STOPPING=1 at shutdown (sd_notify(3), to $NOTIFY_SOCKET,
# received here by sdnotify_listen.py as systemd would); and when stderr is
# the journal ($JOURNAL_STREAM names it) each log line carries its syslog
# priority prefix (<3> error .. <7> debug) instead of a time stamp.
. "$top_srcdir/tests/system/lib.sh"
grep -q '^#define HAVE_LIBSYSTEMD 1' "$top_builddir/config.h" ||
    skip_all "built without libsystemd (configure --without-systemd): no sd_notify"
plan 12
make_store example.test "$DATA/example.test.zone"
printf 'log-level info\n' > "$TMPD/dnsd.conf"

NOTES=$TMPD/notes
"$PY3" "$top_srcdir/tests/system/sdnotify_listen.py" "$TMPD/notify.sock" "$NOTES" 30 &
LPID=$!
stop_listener() { stop_pid "$LPID"; }
at_exit stop_listener
i=0
while ! grep -q listening "$NOTES" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done

# wait_note PATTERN COUNT: until NOTES has COUNT lines matching (5 s at most)
wait_note() {
    _w=0
    while [ "$(grep -c -- "$1" "$NOTES")" -lt "$2" ] && [ $_w -lt 100 ]; do
        sleep 0.05; _w=$((_w + 1))
    done
}

NOTIFY_SOCKET=$TMPD/notify.sock
export NOTIFY_SOCKET
start_dnsd -c "$TMPD/dnsd.conf"
unset NOTIFY_SOCKET
wait_note 'READY=1' 1
# READY=1 is sent after the port file is written: by now dnsd must answer
ready=$(grep 'READY=1' "$NOTES" | head -n 1)
like "$ready" "READY=1 \| STATUS=serving store $STORE" "READY=1 with a STATUS naming the store"
out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "dnsd answers once it said READY=1"

kill -HUP "$DNSD_PID"
wait_note 'READY=1' 2
notes=$(grep -v listening "$NOTES")
is "$(printf '%s\n' "$notes" | sed -n 2p | cut -d' ' -f1)" RELOADING=1 "SIGHUP: RELOADING=1 first"
like "$(printf '%s\n' "$notes" | sed -n 2p)" 'MONOTONIC_USEC=[0-9]+' "... with MONOTONIC_USEC"
like "$(printf '%s\n' "$notes" | sed -n 3p)" '^READY=1 ' "... then READY=1 once the reload is done"
like "$(cat "$TMPD/dnsd.log")" 'config reloaded from' "the reload itself happened"

signal_dnsd TERM
wait_note 'STOPPING=1' 1
like "$(tail -n 1 "$NOTES")" '^STOPPING=1' "SIGTERM: STOPPING=1"
is "$DNSD_RC" 0 "dnsd exits 0"

# the journal: JOURNAL_STREAM is stderr's DEV:INODE (systemd.exec(5))
: > "$TMPD/dnsd.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$TMPD/dnsd.log")
export JOURNAL_STREAM
start_dnsd -c "$TMPD/dnsd.conf"
signal_dnsd TERM
unset JOURNAL_STREAM
log=$(cat "$TMPD/dnsd.log")
like "$log" '^<6>info: dnsd .* serving store' "journal: info lines start with <6>"
unlike "$log" '^[0-9]{4}-' "journal: no time stamps (the journal has its own)"
# a warning: a SIGHUP without -c logs one
: > "$TMPD/dnsd.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$TMPD/dnsd.log")
export JOURNAL_STREAM
start_dnsd
kill -HUP "$DNSD_PID"
i=0
while ! grep -q 'nothing to re-read' "$TMPD/dnsd.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
signal_dnsd TERM
unset JOURNAL_STREAM
like "$(cat "$TMPD/dnsd.log")" '^<4>warning: SIGHUP: dnsd was started without' \
    "journal: warnings start with <4>"
# stderr is not the stream JOURNAL_STREAM names (redirected): plain lines
: > "$TMPD/dnsd.log"
JOURNAL_STREAM=1:1
export JOURNAL_STREAM
start_dnsd
signal_dnsd TERM
unset JOURNAL_STREAM
like "$(head -n 1 "$TMPD/dnsd.log")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z info: ' \
    "another stream named: time-stamped lines as before"
