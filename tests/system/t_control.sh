#!/bin/sh
# SPDX-License-Identifier: MIT
# t_control.sh -- the control socket (README "Control socket", dnsd/ctl.h):
# `dnsctl status`, `stats`, `reload` and `log-level` against a running
# dnsd; counters move by exactly the queries sent; a reload picks up an
# edited config and reports a broken one with FILE:LINE; log-level debug
# makes debug lines appear; a bad request gets an error, an oversized one is
# cut off, idle clients cannot lock `dnsctl status` out; only the socket's
# owner and group get in (as root: another user is refused, a member of the
# group is let in); a stale socket is removed at start, a live one refuses a
# second dnsd; the socket goes at exit.
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 50
make_store example.test "$DATA/example.test.zone"
chmod 0755 "$TMPD" # the permission checks run as other users: the path must be searchable
SOCK=$TMPD/ctl.sock
CONF=$TMPD/dnsd.conf
LOG=$TMPD/dnsd.log
CLIENT="$PY3 $top_srcdir/tests/system/ctl_client.py"
# a group root is not asked about: the socket's group in this test
GRP=
for g in daemon bin sys adm; do
    if getent group "$g" >/dev/null; then GRP=$g; break; fi
done
[ -n "$GRP" ] || { echo "Bail out! no daemon/bin/sys/adm group for the socket"; exit 1; }
conf() {
    {
        echo "store $STORE"
        echo "listen 127.0.0.1:0"
        echo "port-file $TMPD/port"
        echo "workers 2"
        echo "control-socket $SOCK"
        echo "control-socket-group $GRP"
        echo "metrics-listen 127.0.0.1:0"
        for line in "$@"; do echo "$line"; done
    } >"$CONF"
}
c() { "$DNSCTL" --socket "$SOCK" "$@"; }
# newlog: the log lines since the last call
LOGN=0
newlog() { NEW=$(tail -n +$((LOGN + 1)) "$LOG"); LOGN=$(wc -l <"$LOG"); }

conf "log-level info" "rrl-rate 0"
start_dnsd_raw "$TMPD/port" -c "$CONF"

# ---- status ----
out=$(c status)
is "$?" 0 "dnsctl status: exit 0"
like "$out" "^dnsd [0-9][^ ]*, pid $DNSD_PID, up " "status: version and pid"
like "$out" "listen +dns 127\.0\.0\.1:0 \(port $PORT\)" "status: the DNS address and the port bound"
mport=$(sed -n 's/^metrics //p' "$TMPD/port")
like "$out" "listen +metrics 127\.0\.0\.1:0 \(port $mport\)" "status: the metrics address and its port"
like "$out" '^store +.*/store \(generation [0-9]+, 1 zone\)' "status: the store and its one zone"
like "$out" '^workers +2$' "status: 2 workers"
like "$out" '^certificates +0 ' "status: no certificates"
like "$out" '^geo database +none$' "status: no geo database"
json=$(c status --json)
is "$(printf '%s' "$json" | $PY3 -c 'import json,sys; d=json.load(sys.stdin); print(d["zones"], d["workers"], d["listen"][0]["port"], d["pid"])')" \
    "1 2 $PORT $DNSD_PID" "status --json: zones, workers, port and pid as JSON"
is "$(stat -c '%a %U %G' "$SOCK")" "660 $(id -un) $GRP" "the socket is mode 0660, group $GRP"

# ---- stats: the counters move by exactly what was sent ----
stat_of() { printf '%s\n' "$1" | sed -n "s/^$2 //p"; }
s0=$(c stats)
is "$?" 0 "dnsctl stats: exit 0"
i=0
while [ $i -lt 5 ]; do q www.example.test A >/dev/null; i=$((i + 1)); done
q nope.example.test A >/dev/null
q nope2.example.test A >/dev/null
s1=$(c stats)
is "$(( $(stat_of "$s1" queries) - $(stat_of "$s0" queries) ))" 7 "stats: queries +7 after 7 queries"
is "$(( $(stat_of "$s1" rcode.noerror) - $(stat_of "$s0" rcode.noerror) ))" 5 "stats: rcode.noerror +5"
is "$(( $(stat_of "$s1" rcode.nxdomain) - $(stat_of "$s0" rcode.nxdomain) ))" 2 "stats: rcode.nxdomain +2"
n_text=$(printf '%s\n' "$s1" | grep -vc '^uptime ')
n_json=$(c stats --json | $PY3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["counters"]))')
n_reg=$(grep -c '^ *X([A-Z0-9_]*, "' "$top_srcdir/dnsd/counters.h")
is "$n_text $n_json" "$n_reg $n_reg" "stats (text and --json): every counter of dnsd/counters.h ($n_reg)"

# ---- log-level ----
newlog
c status >/dev/null
newlog
unlike "$NEW" ' debug: ' "at log-level info: no debug line"
is "$(c log-level debug)" "log level: info -> debug" "log-level debug: says old and new"
c status >/dev/null
newlog
like "$NEW" ' debug: control: status from uid [0-9]+' "... and debug lines appear at once"
like "$(c status)" '^log level +debug$' "status shows the level"
out=$(c log-level loud 2>&1)
is "$?" 1 "log-level loud: exit 1"
like "$out" 'dnsctl: log-level: "loud" is not error\|warning\|info\|debug' "... named"

# ---- reload ----
conf "log-level info" "rrl-rate 7"
out=$(c reload)
is "$?" 0 "reload: exit 0"
like "$out" "^config reloaded from $CONF: 1 setting changed, 0 kept until restart$" \
    "reload: its answer counts the changes, as the log line does"
newlog
like "$NEW" 'config reload: rrl-rate 0 -> 7' "reload: the log names the change, as SIGHUP's does"
like "$(c status)" '^log level +info$' "reload: the file's log level again"
conf "log-level info" "rrl-rate 7" "rrl-ratee 8"
out=$(c reload 2>&1)
is "$?" 1 "reload of a broken file: exit 1"
like "$out" "^dnsctl: reload: $CONF:10: unknown setting \"rrl-ratee\"$" "... with FILE:LINE and the reason"
is "$(dig_status "$(q www.example.test A)")" NOERROR "the server answers on"

# ---- bad, oversized and idle clients ----
out=$($CLIENT raw "$SOCK" 'shutdown\n')
like "$out" '^\{"ok":false,"error":"unknown command \\"shutdown\\" \(status, stats, reload, log-level LEVEL\)"\}$' \
    "an unknown request gets a JSON error"
out=$($CLIENT raw "$SOCK" 'stat\x01us\n')
like "$out" '"error":"byte 0x01 at offset 4' "a control byte is named with its offset"
big=$(printf '%01000d' 0)
out=$($CLIENT raw "$SOCK" "$big")
like "$out" '"error":"request longer than 255 bytes"' "an oversized request is refused ..."
like "$out" 'closed$' "... and the connection closed"
out=$($CLIENT idle "$SOCK" 40 "$DNSCTL" --socket "$SOCK" status)
like "$out" 'exit 0' "40 idle connections: dnsctl status still answered"
like "$out" 'closed 25 of 40' "... the oldest idle ones dropped: 16 connections at most"

# ---- who may connect ----
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    AS_NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups --"
    out=$($AS_NOBODY "$DNSCTL" --socket "$SOCK" status 2>&1)
    is "$?" 1 "another user (nobody) is refused"
    is "$out" "dnsctl: permission denied on $SOCK (owner $(id -un), group $GRP, mode 0660)" \
        "... with the owner, group and mode in the message"
    out=$($AS_NOBODY $CLIENT raw "$SOCK" 'status\n' 2>&1)
    like "$out" 'PermissionError' "... by the kernel, at connect (EACCES), not by dnsctl"
    gid=$(getent group "$GRP" | cut -d: -f3)
    out=$(setpriv --reuid=nobody --regid=nogroup --groups="$gid" -- "$DNSCTL" --socket "$SOCK" status)
    like "$out" "pid $DNSD_PID" "a member of group $GRP is let in"
else
    skip 4 "the permission checks switch users: they need root and setpriv"
fi

# ---- one dnsd per socket; stale sockets; the socket goes at exit ----
"$DNSD" --store "$TMPD/store2" --listen 127.0.0.1:0 --control-socket "$SOCK" >"$TMPD/second.log" 2>&1
is "$?" 1 "a second dnsd on the same control socket does not start"
like "$(cat "$TMPD/second.log")" "another dnsd is listening on control socket $SOCK" "... saying why"
like "$(c status)" "pid $DNSD_PID" "... and the first one still answers on it"
kill -9 "$DNSD_PID"
wait "$DNSD_PID" 2>/dev/null
DNSD_PID=
ok '[ -S "$SOCK" ]' "dnsd killed: its socket file stays behind"
out=$(c status 2>&1)
is "$out" "dnsctl: no dnsd listening on $SOCK (Connection refused)" "dnsctl: no dnsd listening (stale socket)"
conf "log-level info"
start_dnsd_raw "$TMPD/port" -c "$CONF"
like "$(cat "$LOG")" "control socket $SOCK: removed a stale socket" "restart: the stale socket is removed"
LOGN=0
like "$(DNSD_CONTROL_SOCKET=$SOCK "$DNSCTL" status)" "pid $DNSD_PID" "... and the new dnsd answers (\$DNSD_CONTROL_SOCKET)"
like "$("$DNSCTL" --config "$CONF" status)" "pid $DNSD_PID" "dnsctl --config FILE finds the socket"
signal_dnsd TERM
ok '[ ! -e "$SOCK" ]' "a clean exit removes the socket"
is "$(c status 2>&1)" "dnsctl: no dnsd listening on $SOCK (No such file or directory)" \
    "dnsctl: no dnsd listening (no socket)"
: >"$SOCK"
"$DNSD" --store "$TMPD/store2" --listen 127.0.0.1:0 --control-socket "$SOCK" >"$TMPD/third.log" 2>&1
is "$?" 1 "a file that is not a socket at the path stops the start ..."
like "$(cat "$TMPD/third.log")" "control-socket $SOCK exists and is not a socket: not removing it" \
    "... and is left alone"
