# lib.sh -- shared by the system tests: TAP helpers, a store in a temp dir,
# a real dnsd on a kernel-chosen loopback port, stopped by PID on exit.
# Sourced by tests/system/t_*.sh (POSIX sh). Needs: top_srcdir, top_builddir.
set -u
: "${top_srcdir:?}" "${top_builddir:=$top_srcdir}"
DNSD=${DNSD:-$top_builddir/dnsd/dnsd}
DNSCTL=${DNSCTL:-$top_builddir/tools/dnsctl}
DATA=$top_srcdir/tests/data
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/dnsd-test.XXXXXX")
STORE=$TMPD/store
PORT=
DNSD_PID=
_tap_n=0
_tap_fail=0

plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
_ok() { _tap_n=$((_tap_n + 1)); if [ "$1" = 0 ]; then printf "ok %d - %s\n" "$_tap_n" "$2"; else printf "not ok %d - %s\n" "$_tap_n" "$2"; _tap_fail=$((_tap_fail + 1)); fi; }
ok() { if eval "$1"; then _ok 0 "$2"; else _ok 1 "$2"; fi; }
is() { if [ "$1" = "$2" ]; then _ok 0 "$3"; else _ok 1 "$3"; printf '#   got:  %s\n#   want: %s\n' "$1" "$2"; fi; }
like() { if printf '%s\n' "$1" | grep -Eq -- "$2"; then _ok 0 "$3"; else _ok 1 "$3"; printf '%s\n' "$1" | sed 's/^/#   /' | head -40; printf '#   wanted match: %s\n' "$2"; fi; }
unlike() { if printf '%s\n' "$1" | grep -Eq -- "$2"; then _ok 1 "$3"; printf '%s\n' "$1" | sed 's/^/#   /' | head -40; printf '#   wanted no match: %s\n' "$2"; else _ok 0 "$3"; fi; }
diag() { printf '# %s\n' "$*"; }

# need TOOL...: skip the test when a tool is missing (CI sets REQUIRE_ALL=1: fail instead)
need() {
    for t in "$@"; do
        if ! command -v "$t" >/dev/null 2>&1; then
            if [ "${REQUIRE_ALL:-0}" = 1 ]; then echo "Bail out! $t is required"; exit 1; fi
            skip_all "$t not installed"
        fi
    done
}

dnsctl() { "$DNSCTL" --store "$STORE" "$@"; }

# make_store ZONE FILE: import a zone file into a fresh store
make_store() { dnsctl zone import "$1" "$2" >/dev/null || { echo "Bail out! cannot import $2"; exit 1; }; }

# start_dnsd [ARGS...]: start dnsd on 127.0.0.1 (and ::1 when available) with
# kernel-chosen ports; sets PORT and DNSD_PID
start_dnsd() {
    rm -f "$TMPD/port"
    ${DNSD_WRAPPER:-} "$DNSD" --store "$STORE" --listen 127.0.0.1:0 --port-file "$TMPD/port" \
        --workers 2 "$@" >"$TMPD/dnsd.log" 2>&1 &
    DNSD_PID=$!
    i=0
    while [ ! -s "$TMPD/port" ]; do
        i=$((i + 1))
        if [ $i -gt 200 ] || ! kill -0 "$DNSD_PID" 2>/dev/null; then
            echo "Bail out! dnsd did not start"; sed 's/^/# /' "$TMPD/dnsd.log"; exit 1
        fi
        sleep 0.05
    done
    PORT=$(head -n 1 "$TMPD/port")
}

# stop_pid PID: SIGTERM, up to 5 s to exit, then SIGKILL; reaped. An empty
# or gone PID is fine.
stop_pid() {
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill "$1" 2>/dev/null
        _sp=0
        while kill -0 "$1" 2>/dev/null && [ $_sp -lt 100 ]; do sleep 0.05; _sp=$((_sp + 1)); done
        kill -9 "$1" 2>/dev/null
        wait "$1" 2>/dev/null
    fi
}

stop_dnsd() {
    stop_pid "$DNSD_PID"
    DNSD_PID=
}

# q ARGS...: dig against our server, no recursion, short timeouts
q() { dig @127.0.0.1 -p "$PORT" +norec +time=2 +tries=1 "$@"; }

# at_exit FUNC: also run FUNC from the EXIT trap, before dnsd is stopped and
# $TMPD removed; the last registered runs first. Helper libraries sourced
# after this one (lib_acme.sh) stop their own servers this way, so there is
# one trap and nobody replaces it.
_at_exit=
at_exit() { _at_exit="$1 $_at_exit"; }
_cleanup() {
    for _f in $_at_exit; do "$_f"; done
    stop_dnsd
    rm -rf "$TMPD"
}
trap _cleanup EXIT
trap 'exit 1' INT TERM

# ---- helpers for the DNS behaviour tests (t_*.sh); generic, add freely ----

# PYTHON: a python3 that can import dnspython (a pyenv shim on PATH may hide
# Debian's python3-dnspython). need_dnspython skips (or bails, REQUIRE_ALL=1).
PYTHON=
for _py in /usr/bin/python3 python3; do
    if "$_py" -c 'import dns.message' 2>/dev/null; then PYTHON=$_py; break; fi
done
need_dnspython() {
    if [ -z "$PYTHON" ]; then
        if [ "${REQUIRE_ALL:-0}" = 1 ]; then echo "Bail out! python3-dnspython is required"; exit 1; fi
        skip_all "python3-dnspython not installed"
    fi
}
# dnsq ARGS...: tests/system/dnsq.py against our server (see its usage)
dnsq() { "$PYTHON" "$top_srcdir/tests/system/dnsq.py" --port "$PORT" "$@"; }

# start_dnsd_raw PORTFILE ARGS...: start "$DNSD ARGS" as given (no default
# --store/--listen/--port-file), wait for PORTFILE; sets PORT and DNSD_PID
start_dnsd_raw() {
    _pf=$1; shift
    rm -f "$_pf"
    ${DNSD_WRAPPER:-} "$DNSD" "$@" >"$TMPD/dnsd.log" 2>&1 &
    DNSD_PID=$!
    i=0
    while [ ! -s "$_pf" ]; do
        i=$((i + 1))
        if [ $i -gt 200 ] || ! kill -0 "$DNSD_PID" 2>/dev/null; then
            echo "Bail out! dnsd did not start"; sed 's/^/# /' "$TMPD/dnsd.log"; exit 1
        fi
        sleep 0.05
    done
    PORT=$(head -n 1 "$_pf")
}

# Parsing dig's output (dig 9.16+ layout). Each takes the output as $1.
# dig_status: "NOERROR"; dig_flags: "qr aa rd"; dig_count OUT SECTION: the
# header count (QUERY, ANSWER, AUTHORITY, ADDITIONAL; ADDITIONAL counts OPT);
# dig_section OUT SECTION: that section's records, one per line, blanks
# squeezed (OPT is never listed there); dig_edns: "version: 0, flags: do; udp: 1232"
dig_status() { printf '%s\n' "$1" | sed -n 's/^;; ->>HEADER<<-.* status: \([A-Z0-9]*\),.*/\1/p' | head -n 1; }
dig_opcode() { printf '%s\n' "$1" | sed -n 's/^;; ->>HEADER<<- opcode: \([A-Z0-9]*\),.*/\1/p' | head -n 1; }
dig_flags() { printf '%s\n' "$1" | sed -n 's/^;; flags: *\([a-z ]*\);.*/\1/p' | head -n 1 | sed 's/ *$//'; }
dig_count() { printf '%s\n' "$1" | sed -n "s/^;; flags:.*[ ;]$2: \([0-9]*\).*/\1/p" | head -n 1; }
dig_section() {
    printf '%s\n' "$1" | awk -v h=";; $2 SECTION:" '$0 == h { on = 1; next } on && /^$/ { exit } on { print }' |
        tr -s ' \t' '  '
}
dig_edns() { printf '%s\n' "$1" | sed -n 's/^; EDNS: //p' | head -n 1; }
dig_size() { printf '%s\n' "$1" | sed -n 's/^;; MSG SIZE *rcvd: \([0-9]*\).*/\1/p' | head -n 1; }
# nlines TEXT: number of non-empty lines
nlines() { printf '%s\n' "$1" | grep -c . ; }
# field TEXT KEY: the rest of the first line of TEXT that starts with "KEY "
field() { printf '%s\n' "$1" | sed -n "s/^$2 //p" | head -n 1; }
# ipv6_ok: loopback ::1 is configured and bindable
ipv6_ok() {
    [ -n "$PYTHON" ] || return 1
    "$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null
}
# signal_dnsd SIG [SECONDS]: send SIG to dnsd and wait up to SECONDS (5) for
# it to exit. Sets DNSD_GONE (yes/no: exited by itself in time) and DNSD_RC
# (its exit status; after a kill -9 if it did not go). Clears DNSD_PID.
signal_dnsd() {
    kill -"$1" "$DNSD_PID" 2>/dev/null
    _n=$(( ${2:-5} * 20 )) i=0
    while kill -0 "$DNSD_PID" 2>/dev/null && [ $i -lt $_n ]; do sleep 0.05; i=$((i + 1)); done
    DNSD_GONE=yes
    if kill -0 "$DNSD_PID" 2>/dev/null; then DNSD_GONE=no; kill -9 "$DNSD_PID" 2>/dev/null; fi
    wait "$DNSD_PID"
    DNSD_RC=$?
    DNSD_PID=
}
# skip N REASON: N tests skipped (TAP "ok N # SKIP REASON")
skip() {
    _k=0
    while [ $_k -lt "$1" ]; do
        _k=$((_k + 1)) _tap_n=$((_tap_n + 1))
        printf 'ok %d # SKIP %s\n' "$_tap_n" "$2"
    done
}

PY3=/usr/bin/python3
[ -x "$PY3" ] || PY3=python3

# unbound_launch DIR PORT LOG: check DIR/unbound.conf, run Unbound on it in
# the foreground (its output to DIR/unbound.out) and wait until it answers on
# 127.0.0.1:PORT (10 s at most); sets UNBOUND_PID. Bails out, the process
# stopped, when the file is refused or Unbound does not come up (the tail of
# its output and of LOG shown). For lib_dnssec.sh and lib_resolver.sh.
unbound_launch() {
    if ! _ul_out=$(unbound-checkconf "$1/unbound.conf" 2>&1); then
        echo "Bail out! unbound.conf: $_ul_out"; exit 1
    fi
    unbound -d -c "$1/unbound.conf" >"$1/unbound.out" 2>&1 &
    UNBOUND_PID=$!
    _ul_i=0
    until [ -n "$(dig @127.0.0.1 -p "$2" +time=1 +tries=1 +short version.server CH TXT 2>/dev/null)" ]; do
        _ul_i=$((_ul_i + 1))
        if [ $_ul_i -gt 100 ] || ! kill -0 "$UNBOUND_PID" 2>/dev/null; then
            echo "Bail out! unbound did not start"
            sed 's/^/# /' "$1/unbound.out" "$3" 2>/dev/null | tail -20
            stop_pid "$UNBOUND_PID"
            exit 1
        fi
        sleep 0.1
    done
}

# free_udp_tcp_port: a port free for UDP and TCP on 127.0.0.1 (for DNS servers)
free_udp_tcp_port() {
    "$PY3" -c '
import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        t.close()
        u.close()
    print(port)
    break
else:
    raise SystemExit("no free port")
'
}
