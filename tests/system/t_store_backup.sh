#!/bin/sh
# t_store_backup.sh -- `dnsctl store backup DIR` while dnsd serves and a
# writer edits: every copy is one consistent snapshot (its records and its
# SOA serial agree), opens as a store and holds all of it (zones, regional
# records, the journal, TSIG keys, certificate records, DNSSEC keys), is
# compacted (smaller than a store with free pages), and refuses a non-empty
# directory, a file, and a directory its user cannot write. Then the
# README's restore procedure, as written: stop dnsd, move the copy in place,
# start dnsd; it answers from the copy.
. "$top_srcdir/tests/system/lib.sh"
plan 26

run() { dnsctl "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }
# everything a copy must hold, as dnsctl prints it (the store given as $1)
state() {
    "$DNSCTL" --store "$1" zone list
    "$DNSCTL" --store "$1" zone export example.test
    "$DNSCTL" --store "$1" zone journal example.test
    "$DNSCTL" --store "$1" region list
    "$DNSCTL" --store "$1" tsig list
    "$DNSCTL" --store "$1" cert list --json
    "$DNSCTL" --store "$1" dnssec status example.test --json
}

make_store example.test "$DATA/example.test.zone"
make_store other.test "$DATA/other.test.zone"
dnsctl region add eu --continent EU >/dev/null
dnsctl record add example.test 'www 300 A 198.51.100.1' --region eu >/dev/null
dnsctl tsig add backup-key >/dev/null
dnsctl cert request www.example.test >/dev/null
dnsctl dnssec enable example.test >/dev/null
# free pages: a large zone imported, then deleted
awk 'BEGIN { print "$TTL 300"; print "@ SOA ns1 h 1 3600 600 86400 300"; print "@ NS ns1";
             print "ns1 A 192.0.2.1";
             for (i = 0; i < 20000; i++) printf "h%d A 10.0.%d.%d\n", i, int(i / 256) % 256, i % 256 }' \
    >"$TMPD/big.zone"
dnsctl zone import big.test "$TMPD/big.zone" >/dev/null
dnsctl zone delete big.test >/dev/null

# a quiet store: the copy holds exactly what the store holds
run store backup "$TMPD/b1"
is "$rc" 0 "backup into a new directory: exit 0"
like "$out" "^backup of $STORE in $TMPD/b1: 2 zones, generation [0-9]+, [0-9]+ bytes\$" "it says what it copied"
is "$err" "" "nothing on stderr (not a terminal: no progress line)"
is "$(stat -c %a "$TMPD/b1")/$(stat -c %a "$TMPD/b1/data.mdb")" "700/600" "directory 0700, data.mdb 0600"
is "$(state "$TMPD/b1")" "$(state "$STORE")" \
    "the copy holds the zones, regional records, journal, regions, TSIG keys, certs, DNSSEC keys"
src=$(stat -c %s "$STORE/data.mdb")
cpy=$(stat -c %s "$TMPD/b1/data.mdb")
ok '[ "$cpy" -lt $((src / 2)) ]' "compacted: $cpy bytes, the store's file $src bytes"
is "$("$DNSCTL" --store "$TMPD/b1" zone list --json | tr -d ' \n' | cut -c1-22)" '[{"zone":"example.test' \
    "the copy opens as a store (dnsctl --store COPY zone list)"

# refusals: nothing written, nothing removed
run store backup "$TMPD/b1"
is "$rc/$err" "1/dnsctl: $TMPD/b1: the backup directory is not empty (give a new or empty directory: a backup never overwrites anything)" \
    "a non-empty directory: refused, exit 1"
is "$(state "$TMPD/b1")" "$(state "$STORE")" "... and the copy there is untouched"
: >"$TMPD/afile"
run store backup "$TMPD/afile"
is "$rc/$err" "1/dnsctl: $TMPD/afile: not a directory" "a file: refused"
mkdir "$TMPD/empty"
run store backup "$TMPD/empty"
is "$rc" 0 "an existing empty directory: fine"
run --store "$TMPD/none" store backup "$TMPD/b-none"
is "$rc" 1 "no store: exit 1"
ok '[ ! -e "$TMPD/b-none" ]' "... and no backup directory left behind"

# a directory its user cannot write (root writes anywhere: run as nobody,
# with the store readable to it)
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    cp -r "$TMPD/b1" "$TMPD/pub"
    chmod 755 "$TMPD" "$TMPD/pub"
    chmod 644 "$TMPD/pub/data.mdb"
    chmod 666 "$TMPD/pub/lock.mdb"
    mkdir "$TMPD/rootonly"
    chmod 755 "$TMPD/rootonly"
    asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$DNSCTL" --store "$TMPD/pub" "$@"; }
    asnobody store backup "$TMPD/rootonly" >"$TMPD/out" 2>"$TMPD/err"
    is "$?/$(cat "$TMPD/err")" "1/dnsctl: $TMPD/rootonly: cannot write the backup: Permission denied" \
        "an unwritable directory: refused with the reason"
    asnobody store backup "$TMPD/rootonly/sub" >"$TMPD/out" 2>"$TMPD/err"
    is "$?/$(cat "$TMPD/err")" "1/dnsctl: $TMPD/rootonly/sub: cannot create the backup directory: Permission denied" \
        "a directory that cannot be created: refused with the reason"
    ok '[ -z "$(ls -A "$TMPD/rootonly")" ]' "... nothing left in it"
    chmod 700 "$TMPD"
else
    for i in 1 2 3; do _ok 0 "# SKIP needs root, setpriv and user nobody"; done
fi

# hot: dnsd serves and a writer adds w1, w2, ... (one serial each) while
# copies are taken; each copy's records and serial must agree
start_dnsd
base=$(dnsctl zone show other.test --json | sed -n 's/.*"serial": *\([0-9]*\).*/\1/p' | head -n 1)
(
    i=1
    while [ $i -le 60 ]; do
        dnsctl record add other.test "w$i 300 A 192.0.2.$i" >/dev/null 2>&1 || exit 1
        i=$((i + 1))
    done
) &
writer=$!
for n in 1 2 3; do
    run store backup "$TMPD/hot$n"
    is "$rc" 0 "hot copy $n while dnsd serves and the writer writes"
    exp=$("$DNSCTL" --store "$TMPD/hot$n" zone export other.test --region default)
    k=$(printf '%s\n' "$exp" | grep -c '^w[0-9]*\.other\.test\.')
    serial=$(printf '%s\n' "$exp" | awk '$4 == "SOA" { print $7; exit }')
    last=$(printf '%s\n' "$exp" | grep -c "^w$k\\.other\\.test\\.")
    is "$serial/$last" "$((base + k))/$( [ "$k" = 0 ] && echo 0 || echo 1)" \
        "copy $n: $k records w1..w$k, serial base+$k: one consistent snapshot"
done
wait "$writer"
is "$?" 0 "the writer was never blocked or refused"

# the restore procedure of the README: stop dnsd, move the copy in place, start
dnsctl record add example.test 'after-backup 300 A 192.0.2.99' >/dev/null
run store backup "$TMPD/final"
dnsctl record add example.test 'too-late 300 A 192.0.2.98' >/dev/null
stop_dnsd
mv "$STORE" "$TMPD/store.old"
mv "$TMPD/final" "$STORE"
start_dnsd
is "$(q +short after-backup.example.test A)" "192.0.2.99" "restored: dnsd answers what the backup held"
like "$(q too-late.example.test A)" "status: NXDOMAIN" "restored: an edit made after the backup is not there"
like "$(dnsctl dnssec status example.test)" "CSK" "restored: the DNSSEC keys are back"
