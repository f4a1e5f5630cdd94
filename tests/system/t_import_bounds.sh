#!/bin/sh
# t_import_bounds.sh -- zone import refuses what has no end or cannot be
# read, with file:line, and leaves the store as it was: $INCLUDE of a device
# (/dev/zero) or a FIFO, a line longer than 64 KiB, a top-level file with no
# newline (/dev/zero), a read error (/proc/self/mem reads fail with EIO).
# dnsctl runs under `ulimit -v` and `timeout`: before the fix the first
# grew memory without limit, the FIFO blocked, the long line was accepted.
. "$top_srcdir/tests/system/lib.sh"
plan 17

make_store example.test "$DATA/example.test.zone"
before=$(dnsctl zone export example.test)
# the memory bound: 4 GB of address space, except under ASan, which reserves
# terabytes of it for its shadow (there the fixed code's 64 KiB line limit
# and the timeout bound it)
VLIMIT=4000000
if ASAN_OPTIONS=help=1 "$DNSCTL" --version 2>&1 | grep -q AddressSanitizer; then
    VLIMIT=unlimited
fi
# run FILE: import FILE into example.test, bounded in memory and time
run() {
    timeout 20 sh -c 'ulimit -v "$0"; exec "$@"' "$VLIMIT" \
        "$DNSCTL" --store "$STORE" zone import example.test "$1" >"$TMPD/out" 2>"$TMPD/err"
    rc=$?
    err=$(cat "$TMPD/err")
}
# zone_with LINE3: a copy of the good zone file with LINE3 added as line 3
zone_with() {
    { head -n 2 "$DATA/example.test.zone"; printf '%s\n' "$1"; tail -n +3 "$DATA/example.test.zone"; } \
        >"$TMPD/z.zone"
}
# refused WHAT PATTERN: rc 1 (not a timeout or a crash), message, store unchanged
refused() {
    ok '[ $rc -eq 1 ]' "$1: exits 1 (rc $rc)"
    like "$err" "$2" "$1: the error names the place and the cause"
    is "$(dnsctl zone export example.test)" "$before" "$1: the zone is unchanged"
}

zone_with '$INCLUDE /dev/zero'
run "$TMPD/z.zone"
refused '$INCLUDE /dev/zero' 'z\.zone:3: .*"/dev/zero": not a regular file'

mkfifo "$TMPD/fifo"
zone_with "\$INCLUDE $TMPD/fifo"
run "$TMPD/z.zone"
refused '$INCLUDE of a FIFO' 'z\.zone:3: .*fifo": not a regular file'

zone_with "; $(head -c 70000 /dev/zero | tr '\0' x)"
run "$TMPD/z.zone"
refused 'a 70000-byte line' 'z\.zone:3: line longer than 65536 bytes'

run /dev/zero
refused 'importing /dev/zero' '/dev/zero:1: line longer than 65536 bytes'

run /proc/self/mem
refused 'a read error (EIO)' '/proc/self/mem:1: read error: Input/output error'

# a line just under the limit is fine
zone_with "; $(head -c 65000 /dev/zero | tr "\0" q)"
run "$TMPD/z.zone"
is "$rc" 0 "a 65000-byte comment line: imported"
unlike "$(dnsctl zone export example.test)" "qqqqqqqq" "... and the comment is no record"
rm -f "$TMPD/fifo"
