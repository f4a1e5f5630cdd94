#!/bin/sh
# t_check_layers.sh -- tools/check-layers (make check-layers) on small fixture
# trees: an upward include and two modules of one folder including each other
# are refused with FILE:LINE, a clean tree passes, a stale allow entry fails;
# then the real tree passes with tools/check-layers.allow.
. "$top_srcdir/tests/system/lib.sh"
need python3
plan 15
CL=$top_srcdir/tools/check-layers

# fixture FILE LINE...: write a fixture file under $TMPD/tree
fixture() {
    f=$TMPD/tree/$1
    shift
    mkdir -p "$(dirname "$f")"
    printf '%s\n' "$@" >"$f"
}
clean_tree() {
    rm -rf "$TMPD/tree"
    fixture zones/base/err.h '/* err */'
    fixture zones/store.h '#include "zones/base/err.h"'
    fixture zones/store.c '#include "zones/store.h"' '#include <lmdb.h>' '#include "config.h"'
    fixture geo/geo.h '#include "zones/store.h"'
    fixture acme/order.h '#include "zones/store.h"'
    fixture dnsd/answer.h '#include "geo/geo.h"' '#include "acme/order.h"'
    fixture dnsd/answer.c '#include "dnsd/answer.h"' '#include "query.h"'
    fixture dnsd/query.h '#include "zones/base/err.h"'
    fixture dnsd/query_int.h '#include "dnsd/query.h"'
    fixture dnsd/query.c '#include "dnsd/query_int.h"'
    fixture tools/dnsctl.c '#include "dnsd/answer.h"'
    fixture tests/t.c '#include "tools/x.h"' '#include "dnsd/answer.h"'
}

clean_tree
out=$("$CL" "$TMPD/tree" 2>&1); rc=$?
is "$rc" 0 "a clean tree passes"
like "$out" '^check-layers: 11 files, layers and module graph clean$' "it says how many files it read"

clean_tree
fixture zones/store.c '#include "zones/store.h"' '' '#include "geo/geo.h"'
out=$("$CL" "$TMPD/tree" 2>&1); rc=$?
is "$rc" 1 "zones/ including geo/ fails"
like "$out" '^zones/store.c:3: includes geo/geo.h: geo/ is above zones/' "named by FILE:LINE"

clean_tree
fixture zones/base/err.h '#include "zones/store.h"'
out=$("$CL" "$TMPD/tree" 2>&1); rc=$?
is "$rc" 1 "zones/base including zones/ fails"
like "$out" '^zones/base/err.h:1: includes zones/store.h: zones/ is above zones/base/' \
    "zones/base is below zones/"

clean_tree
fixture acme/order.h '#include "dnsd/query.h"'
out=$("$CL" "$TMPD/tree" 2>&1); rc=$?
like "$rc/$out" '^1/acme/order.h:1: includes dnsd/query.h: dnsd/ is above acme/' "acme/ including dnsd/ fails"

clean_tree
fixture zones/store.c '#include "zones/store.h"' '#include "../tests/t.c"'
out=$("$CL" "$TMPD/tree" 2>&1); rc=$?
like "$rc/$out" '^1/zones/store.c:2: includes tests/t.c: only tests/ may include tests/' \
    "a relative include is resolved beside the file"

# a cycle: answer.c -> query.h (relative), query.c -> query_int.h -> answer.h
clean_tree
fixture dnsd/query.c '#include "dnsd/query_int.h"' '#include "dnsd/answer.h"'
out=$("$CL" "$TMPD/tree" 2>&1); rc=$?
is "$rc" 1 "two modules including each other fail"
like "$out" '^dnsd/answer.c:2: modules include each other: dnsd/answer, dnsd/query \(dnsd/answer.c:2 includes dnsd/query.h; dnsd/query.c:2 includes dnsd/answer.h\)' \
    "the cycle names both include lines (a foo_int.h belongs to module foo)"

# a three-module cycle is one report
clean_tree
fixture zones/a.h '#include "zones/b.h"'
fixture zones/b.h '#include "zones/c.h"'
fixture zones/c.h '#include "zones/a.h"'
out=$("$CL" "$TMPD/tree" 2>&1); rc=$?
like "$rc/$out" 'modules include each other: zones/a, zones/b, zones/c \(' "a longer cycle is found"

# the allow list: a listed cycle passes (with a note), a stale entry fails
clean_tree
fixture dnsd/query.c '#include "dnsd/query_int.h"' '#include "dnsd/answer.h"'
printf '# known\ndnsd/query dnsd/answer\n' >"$TMPD/allow"
out=$("$CL" --allow "$TMPD/allow" "$TMPD/tree" 2>&1); rc=$?
like "$rc/$out" '^0/note: modules include each other: dnsd/answer, dnsd/query .*allowed by .*allow:2' \
    "an allowed cycle passes with a note"
clean_tree
out=$("$CL" --allow "$TMPD/allow" "$TMPD/tree" 2>&1); rc=$?
like "$rc/$out" '^1/.*allow:2: allowed cycle dnsd/answer dnsd/query no longer exists: delete the line' \
    "an allow entry without its cycle fails"

out=$("$CL" "$TMPD/nothing" 2>&1); rc=$?
like "$rc/$out" '^1/check-layers: no C files under' "a wrong TOP is an error, not a pass"

# the real tree
out=$("$CL" --allow "$top_srcdir/tools/check-layers.allow" "$top_srcdir" 2>&1); rc=$?
is "$rc" 0 "the source tree passes (make check-layers)"
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
