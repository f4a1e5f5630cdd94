#!/bin/sh
# t_dnsctl_errors.sh -- every failing dnsctl command says what is wrong and
# where (file:line for zone files), exits non-zero (1; 2 for bad usage) and
# leaves the store exactly as it was: the import is one write transaction,
# aborted on the first error.
. "$top_srcdir/tests/system/lib.sh"
plan 77

run() { dnsctl "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }
state() { dnsctl zone list; dnsctl zone export err.test; }

dnsctl zone import err.test "$DATA/dnsctl-err-base.zone" >/dev/null
base=$(state)
is "$(printf '%s\n' "$base" | sed -n 2p)" "err.test.       5       4        4  on" "the good zone is in"

# fails FILE MESSAGE: importing tests/data/FILE into err.test fails with
# exit 1 and exactly MESSAGE on stderr, and changes nothing (3 checks)
fails() {
    run zone import err.test "$DATA/$1"
    is "$rc" 1 "$1: exit 1"
    is "$err" "$2" "$1: message"
    is "$(state)" "$base" "$1: store unchanged"
}
D=$DATA
fails dnsctl-err-ttl.zone "dnsctl: $D/dnsctl-err-ttl.zone:8: bad TTL \"1h30x\""
fails dnsctl-err-rdata.zone \
    "dnsctl: $D/dnsctl-err-rdata.zone:9: bad A rdata \"192.0.2\": could not parse the RR's rdata"
fails dnsctl-err-outzone.zone "dnsctl: $D/dnsctl-err-outzone.zone:7: www.other.org. is outside zone err.test."
fails dnsctl-err-cname.zone \
    "dnsctl: $D/dnsctl-err-cname.zone:8: CNAME record at www.err.test. beside its A record ($D/dnsctl-err-cname.zone:7); a CNAME must stand alone"
fails dnsctl-err-cnameapex.zone \
    "dnsctl: $D/dnsctl-err-cnameapex.zone:7: CNAME at the zone apex err.test. (it would sit beside SOA and NS)"
fails dnsctl-err-nosoa.zone "dnsctl: $D/dnsctl-err-nosoa.zone: zone err.test. has no SOA record at its apex"
fails dnsctl-err-nons.zone "dnsctl: $D/dnsctl-err-nons.zone: zone err.test. has no NS records at its apex"
fails dnsctl-err-include.zone \
    "dnsctl: $D/dnsctl-err-include.zone:7: cannot open \$INCLUDE file \"$D/dnsctl-inc/no-such-file.zone\": No such file or directory"
fails dnsctl-err-incbad.zone \
    "dnsctl: $D/dnsctl-inc/bad.zone:3: bad AAAA rdata \"192.0.2.80\": could not parse the RR's rdata"
fails dnsctl-err-loop.zone \
    "dnsctl: $D/dnsctl-err-loop.zone:7: \$INCLUDE loop: \"$D/dnsctl-err-loop.zone\" is already being read ($D/dnsctl-err-loop.zone)"
fails dnsctl-err-class.zone "dnsctl: $D/dnsctl-err-class.zone:7: class CH is not supported (only IN)"

# a failed import of a new zone does not create it
run zone import new.test "$DATA/dnsctl-err-ttl.zone"
is "$rc" 1 "new zone, bad file: exit 1"
like "$err" "dnsctl-err-ttl.zone:4: err\\.test\\. is outside zone new\\.test\\.\$" \
    "new zone, file for another zone: the first out-of-zone line (the SOA)"
is "$(state)" "$base" "new zone, bad file: the zone was not created"
run zone import err.test "$TMPD/no-such.zone"
is "$rc" 1 "missing zone file: exit 1"
is "$err" "dnsctl: $TMPD/no-such.zone: cannot open zone file: No such file or directory" "missing zone file: message"
is "$(state)" "$base" "missing zone file: store unchanged"

# unknown zone
run zone export nosuch.test
is "$rc/$err" "1/dnsctl: no such zone: nosuch.test." "export an unknown zone"
run record add nosuch.test 'www A 192.0.2.1'
is "$rc/$err" "1/dnsctl: no such zone: nosuch.test." "record add to an unknown zone"
run record list nosuch.test
is "$rc/$err" "1/dnsctl: no such zone: nosuch.test." "record list of an unknown zone"
run zone delete nosuch.test
is "$rc/$err" "1/dnsctl: no such zone: nosuch.test." "delete an unknown zone"

# bad values: exit 1, message naming the argument, store unchanged
run record add err.test 'www A 192.0.2'
is "$rc/$err" "1/dnsctl: record \"www A 192.0.2\": bad A rdata \"192.0.2\": could not parse the RR's rdata" \
    "record add, bad rdata"
run record add err.test 'www 1h30x A 192.0.2.1'
is "$rc/$err" "1/dnsctl: record \"www 1h30x A 192.0.2.1\": bad TTL \"1h30x\"" "record add, bad TTL"
run record add err.test 'www A'
is "$rc/$err" "1/dnsctl: record \"www A\": missing rdata for the A record" "record add, no rdata"
run record add err.test 'www FROB 1'
is "$rc/$err" "1/dnsctl: record \"www FROB 1\": unknown type \"FROB\"" "record add, unknown type"
run record add err.test 'www IN ANY 1'
like "$rc/$err" "^1/.*type ANY cannot be stored in a zone" "record add, a meta type"
run record add err.test 'www CH TXT "x"'
like "$rc/$err" "^1/.*class CH is not supported \\(only IN\\)" "record add, class CH"
run record add err.test 'www A 192.0.2.1
www A 192.0.2.2'
like "$rc/$(printf '%s' "$err" | tr '\n' ' ')" "^1/.*: more than one record\$" "record add, two records in one argument"
run record del err.test www FROB
is "$rc/$err" "1/dnsctl: unknown type \"FROB\"" "record del, unknown type"
run record del err.test nothere
is "$rc/$err" "1/dnsctl: no records at nothere.err.test." "record del, nothing there"
run zone import 'bad..name' "$DATA/dnsctl-err-base.zone"
is "$rc/$err" "1/dnsctl: zone bad..name: bad domain name \"bad..name\"" "bad zone name"
is "$(state)" "$base" "bad values: store unchanged"

# bad usage: exit 2 and a pointer to --help
usage() {
    run "$@"
    is "$rc" 2 "usage: dnsctl $*: exit 2"
    like "$err" "Try 'dnsctl --help'" "usage: dnsctl $*: points to --help"
}
usage frobnicate
usage zone
usage zone frob
usage zone import err.test
usage zone import err.test a b
usage zone list --frob
usage record add err.test
usage record del err.test ""
usage zone list --ns x
"$DNSCTL" >/dev/null 2>"$TMPD/err"
is "$?" 2 "usage: no command: exit 2"
like "$(cat "$TMPD/err")" "^usage: dnsctl" "usage: no command: the usage text"
"$DNSCTL" --help >"$TMPD/out" 2>&1
is "$?/$(head -n 1 "$TMPD/out")" "0/usage: dnsctl [--store DIR] [--store-map-size MIB] [--json] COMMAND ARGS..." "--help: usage on stdout, exit 0"
is "$(state)" "$base" "bad usage: store unchanged"
