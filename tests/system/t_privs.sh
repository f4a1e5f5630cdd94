#!/bin/sh
# t_privs.sh -- privileges (dnsd(8) user, group, chroot): started as root
# with "user nobody", dnsd binds, opens (and here creates) the store, writes
# its pid and port files, then every thread runs as nobody/nogroup with no
# supplementary groups and no capabilities -- and still answers, since its
# sockets and store are open. Files it creates have fixed modes whatever the
# umask (store dir 0700, store files 0600, pid and port files 0644). With
# chroot the process root moves, paths inside the chroot work for SIGHUP,
# and an unknown user or group is a config error naming FILE:LINE. The
# HTTP-01 endpoint (http01-listen) on a privileged port is bound as root and
# answers from the chroot as nobody, its threads no more privileged.
# Needs root (CI runs as root); skipped otherwise.
. "$top_srcdir/tests/system/lib.sh"
need dig curl
[ "$(id -u)" = 0 ] || skip_all "needs root: dnsd can only change user when started as root"
NOBODY_UID=$(id -u nobody 2>/dev/null) || skip_all "no user nobody on this system"
getent group nogroup >/dev/null 2>&1 || skip_all "no group nogroup on this system"
NOGROUP_GID=$(getent group nogroup | cut -d: -f3)
plan 26

# proc_ids PID: "uids|gids|groups|capeff" of every thread, one line each
proc_ids() {
    for st in /proc/"$1"/task/*/status; do
        awk '/^Uid:/ { u = $2 " " $3 " " $4 " " $5 } /^Gid:/ { g = $2 " " $3 " " $4 " " $5 }
             /^Groups:/ { $1 = ""; gr = $0 } /^CapEff:/ { c = $2 }
             END { print u "|" g "|" gr "|" c }' "$st"
    done
}

# a store dnsd creates itself (as root, before dropping), under umask 000
NEWSTORE=$TMPD/newstore
(
    umask 000
    exec ${DNSD_WRAPPER:-} "$DNSD" --store "$NEWSTORE" --listen 127.0.0.1:0 --port-file "$TMPD/port" \
        --pid-file "$TMPD/dnsd.pid" --workers 2 --xfr-max-transfers 1 --user nobody --group nogroup
) >"$TMPD/dnsd.log" 2>&1 &
DNSD_PID=$!
i=0
while [ ! -s "$TMPD/port" ] && [ $i -lt 200 ] && kill -0 "$DNSD_PID" 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
[ -s "$TMPD/port" ] || { echo "Bail out! dnsd did not start"; sed 's/^/# /' "$TMPD/dnsd.log"; exit 1; }
PORT=$(head -n 1 "$TMPD/port")
sleep 0.2 # the workers start right after the files are written
like "$(cat "$TMPD/dnsd.log")" "running as user nobody \\(uid $NOBODY_UID, gid $NOGROUP_GID\\)" "logged: running as nobody"
ids=$(proc_ids "$DNSD_PID")
diag "threads: $(printf '%s\n' "$ids" | tr '\n' ';')"
is "$(printf '%s\n' "$ids" | grep -c .)" 7 "7 threads (main + 2 workers + ACME + 1 transfer-out + transfer-in + update), none root"
want="$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID|$NOGROUP_GID $NOGROUP_GID $NOGROUP_GID $NOGROUP_GID| $NOGROUP_GID|0000000000000000"
is "$(printf '%s\n' "$ids" | sort -u)" "$want" "every thread: real/effective/saved/fs uid nobody, gid nogroup, only that group, no capabilities"
unlike "$ids" '(^| )0( |\|)' "no thread has uid or gid 0 anywhere"
is "$(stat -c %a "$NEWSTORE")" 700 "store directory created 0700 (umask 000)"
is "$(stat -c %a "$NEWSTORE/data.mdb")/$(stat -c %a "$NEWSTORE/lock.mdb")" "600/600" "store files created 0600"
is "$(stat -c '%a %U' "$TMPD/dnsd.pid")" "644 root" "pid file: 0644, root's (written before the drop)"
is "$(cat "$TMPD/dnsd.pid")" "$DNSD_PID" "pid file: the pid"
is "$(stat -c %a "$TMPD/port")" 644 "port file: 0644"
# nobody could not open the 0700 store now, but dnsd has it open: a zone
# imported by root is served at once
STORE=$NEWSTORE
make_store example.test "$DATA/example.test.zone"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "as nobody: answers over UDP from the root-owned store"
out=$(q +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "as nobody: answers over TCP"
kill -TERM "$DNSD_PID"
i=0
while kill -0 "$DNSD_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
wait "$DNSD_PID"
rc=$?
DNSD_PID=
is "$rc" 0 "as nobody: SIGTERM, exit status 0"
like "$(cat "$TMPD/dnsd.log")" 'cannot remove pid file' "the pid file in root's directory cannot be removed by nobody: said so"

# chroot: the root moves; the config file inside it is found again on SIGHUP
ROOT=$TMPD/root
# a free port below 1024 on 127.0.0.1: only root can bind it
HTTP_PORT=$(/usr/bin/python3 -c '
import random, socket
for p in random.sample(range(600, 1000), 400):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p)
    break')
mkdir -m 755 "$ROOT"
cat >"$ROOT/dnsd.conf" <<CONF
store $STORE
listen 127.0.0.1:0
port-file $TMPD/port
workers 1
user nobody
chroot $ROOT
stats-file $ROOT/stats
cert-dir $ROOT/certs
acme-ca-bundle $ROOT/ca.pem
http01-listen 127.0.0.1:$HTTP_PORT
CONF
chmod 644 "$ROOT/dnsd.conf"
chown nobody "$ROOT"
start_dnsd_raw "$TMPD/port" -c "$ROOT/dnsd.conf"
is "$(readlink /proc/"$DNSD_PID"/root)" "$ROOT" "chroot: the process root is the chroot directory"
like "$(cat "$TMPD/dnsd.log")" "chroot $ROOT: cert-dir is /certs inside it" \
    "chroot: cert-dir inside it is used as seen from inside"
like "$(cat "$TMPD/dnsd.log")" "chroot $ROOT: acme-ca-bundle is /ca.pem inside it" \
    "chroot: acme-ca-bundle too"
out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "chroot: answers"
TOK=LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
"$top_builddir/tests/system/http01_rec" "$STORE" put "$TOK" "$TOK.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
is "$(curl -s --max-time 5 "http://127.0.0.1:$HTTP_PORT/.well-known/acme-challenge/$TOK")" \
    "$TOK.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI" \
    "chroot, as nobody: http01-listen on privileged port $HTTP_PORT (bound as root) answers"
unlike "$(proc_ids "$DNSD_PID")" '(^| )0( |\|)' "chroot: no thread, the HTTP ones included, has uid or gid 0"
echo "rrl-rate 50" >>"$ROOT/dnsd.conf"
kill -HUP "$DNSD_PID"
i=0
while ! grep -q 'config reloaded' "$TMPD/dnsd.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
like "$(cat "$TMPD/dnsd.log")" 'config reloaded from /dnsd.conf: 1 setting changed' "chroot: SIGHUP re-reads the config file inside it"
kill -USR1 "$DNSD_PID"
i=0
while [ ! -s "$ROOT/stats" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
like "$(cat "$ROOT/stats" 2>/dev/null)" 'queries 1' "chroot: the stats file is written inside it"
stop_dnsd

# configuration errors name FILE:LINE
bad() {
    printf 'store %s\nlisten 127.0.0.1:0\n%s\nport-file %s\n' "$STORE" "$2" "$TMPD/bad.port" >"$TMPD/$1"
    rm -f "$TMPD/bad.port"
    timeout 10 "$DNSD" -c "$TMPD/$1" >/dev/null 2>"$TMPD/bad.err"
    rc=$?
    err=$(cat "$TMPD/bad.err")
    ok '[ $rc -eq 1 ] && [ ! -e "$TMPD/bad.port" ]' "$3: exit 1 before listening (rc $rc)"
    like "$err" "$1:3: $4" "$3: says $1:3: and why ($err)"
}
bad nouser.conf "user no-such-user-dnsd" "unknown user" 'user: "no-such-user-dnsd" is not a user on this system'
bad nogroup.conf "group no-such-group-dnsd" "unknown group" 'group: "no-such-group-dnsd" is not a group on this system'
printf 'store %s\nlisten 127.0.0.1:0\ngroup nogroup\n' "$STORE" >"$TMPD/grouponly.conf"
timeout 10 "$DNSD" -c "$TMPD/grouponly.conf" >/dev/null 2>"$TMPD/bad.err"
like "$(cat "$TMPD/bad.err")" 'grouponly.conf: group "nogroup" needs a user' "group without user: refused"
