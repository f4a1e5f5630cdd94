#!/bin/sh
# t_dnsctl_check.sh -- `dnsctl check ZONEFILE` judges zone files as BIND's
# named-checkzone (-i local: no lookups outside the zone) does: on every file
# of tests/data/check both say OK or both say no (good-*: OK, some with the
# same warnings; bad-*: refused, with file:line for syntax). The one known
# difference (diff-outzone: out-of-zone data, which named-checkzone drops
# with a warning and `zone import` refuses) is asserted as such. And check
# never opens or touches the store: not with $DNSD_STORE naming a missing
# one (not created), not with --store naming a real one (byte for byte the
# same afterwards).
. "$top_srcdir/tests/system/lib.sh"
need named-checkzone
CK=$DATA/check
nfiles=$(ls "$CK"/*.zone | wc -l)
plan $((nfiles * 2 + 17))

run() { "$DNSCTL" "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }

# every file: dnsctl's verdict is the expected one and named-checkzone's
for f in "$CK"/*.zone; do
    b=$(basename "$f")
    run check --origin check.test "$f"
    named-checkzone -i local check.test "$f" >"$TMPD/named" 2>&1
    nrc=$?
    case $b in
    good-*) want=0 ;;
    bad-*) want=1 ;;
    diff-*) want=1 ;;
    esac
    is "$rc" "$want" "$b: dnsctl check exits $want"
    case $b in
    diff-outzone.zone)
        is "$nrc" 0 "$b: named-checkzone takes it (the documented difference: it drops out-of-zone data)" ;;
    *)
        if [ "$nrc" = 0 ]; then nv=0; else nv=1; fi
        is "$nv" "$rc" "$b: named-checkzone agrees (exit $nrc)" ;;
    esac
done

# what the messages say: file:line for syntax, the rule for the rest
run check --origin check.test "$CK/bad-ttl.zone"
is "$err" "dnsctl: $CK/bad-ttl.zone:9: bad TTL \"1h30x\"" "syntax: file:line and the bad token"
run check --origin check.test "$CK/bad-ns-noaddr.zone"
like "$err" "bad-ns-noaddr.zone: check.test. NS 'ns3.check.test.' has no address records \\(A or AAAA\\)" \
    "an apex NS without an address: named-checkzone's error, in its words"
is "$out" "" "nothing on stdout when the file fails"
run check --origin check.test "$CK/good-warn-noglue.zone"
like "$err" "warning: sub.check.test. NS 'ns.sub.check.test.' has no glue address records" \
    "a delegation without glue: a warning"
is "$out" "$CK/good-warn-noglue.zone: zone check.test. OK: 6 records, serial 2026120701, 1 warning" \
    "the verdict on stdout: records, serial, warnings"
run check --origin check.test "$CK/good-warn-ttl.zone"
like "$err" "good-warn-ttl.zone:10: warning: TTL 900 differs from the TTL 600" "TTL differences: a warning at file:line"
run check --origin check.test "$CK/diff-outzone.zone"
is "$err" "dnsctl: $CK/diff-outzone.zone:9: www.other.test. is outside zone check.test." \
    "out-of-zone data: refused with file:line, as zone import refuses it"

# the origin: the file name less ".zone" (kzonecheck's rule) unless --origin
cp "$CK/good-basic.zone" "$TMPD/check.test.zone"
run check "$TMPD/check.test.zone"
is "$rc" 0 "no --origin: check.test from check.test.zone"
cp "$CK/good-basic.zone" "$TMPD/other.test.zone"
run check "$TMPD/other.test.zone"
like "$out" "other.test.zone: zone other.test. OK" "no --origin: other.test.zone is checked as other.test"
run check --origin check.test
is "$rc" 2 "no file: bad usage (exit 2)"
run check --origin check.test "$TMPD/missing.zone"
is "$err" "dnsctl: $TMPD/missing.zone: cannot open zone file: No such file or directory" \
    "a missing file: named, exit $rc"

# $REGION sections are checked (each region falling back to default)
cat >"$TMPD/region.zone" <<EOF
\$INCLUDE $CK/good-basic.zone
\$REGION eu
www A 198.51.100.10
alias A 198.51.100.11
EOF
run check --origin check.test "$TMPD/region.zone"
is "$rc" 1 "a region's A beside the default CNAME: refused"
like "$err" "CNAME in region default and A in region eu at alias.check.test. are both seen by region eu" \
    "... naming both regions"

# the store: never created, never opened for writing
DNSD_STORE=$TMPD/nostore "$DNSCTL" check --origin check.test "$CK/good-basic.zone" >/dev/null 2>&1
is "$?" 0 "check with \$DNSD_STORE naming a missing store: fine"
ok '[ ! -e "$TMPD/nostore" ]' "... and the store was not created"
make_store check.test "$CK/good-basic.zone"
sum_before=$(cat "$STORE"/*.mdb | cksum)
run --store "$STORE" check --origin check.test "$CK/good-delegation.zone"
is "$(cat "$STORE"/*.mdb | cksum)" "$sum_before" "an existing --store: its files are byte for byte the same"
ok '[ -z "$(ls -A "${TMPDIR:-/tmp}" | grep dnsctl-check)" ]' "no scratch directory left behind"
