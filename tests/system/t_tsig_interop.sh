#!/bin/sh
# t_tsig_interop.sh -- our TSIG (zones/tsig.c, through tests/unit/tsig_peer)
# against dnspython's, an independent implementation, for every algorithm
# (hmac-sha1, -sha224, -sha256, -sha384, -sha512; ldns, in t_tsig, has only
# three): requests both ways, chained multi-message answers both ways, a
# changed answer caught, and the BADSIG, BADKEY and BADTIME answers as
# dnspython reads them. The checks are in tsig_interop.py.
. "$top_srcdir/tests/system/lib.sh"
need_dnspython
PEER=$top_builddir/tests/unit/tsig_peer
[ -x "$PEER" ] || { echo "Bail out! $PEER not built (make check builds it)"; exit 1; }
plan 29
"$PYTHON" "$top_srcdir/tests/system/tsig_interop.py" "$PEER" >"$TMPD/out" 2>"$TMPD/err"
rc=$?
while IFS= read -r line; do
    case $line in
    "PASS "*) _ok 0 "${line#PASS }" ;;
    "FAIL "*) _ok 1 "${line#FAIL }" ;;
    esac
done <"$TMPD/out"
is "$rc" 0 "tsig_interop.py ran to the end"
[ -s "$TMPD/err" ] && sed 's/^/# /' "$TMPD/err"
exit 0
