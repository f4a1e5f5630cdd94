#!/bin/sh
# t_dnsctl_import.sh -- dnsctl zone import of tests/data/dnsctl-full.zone:
# $ORIGIN, $TTL, $INCLUDE (relative to the including file, with an origin,
# nested), relative names, "@", blank owners, TTL/class order, units,
# multi-line records, comments, quotes, RFC 3597 types, duplicates; then
# re-imports: replacement, the serial rule (RFC 1982), TTL warnings.
. "$top_srcdir/tests/system/lib.sh"
plan 26

run() { dnsctl "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?; out=$(cat "$TMPD/out"); err=$(cat "$TMPD/err"); }
TAB=$(printf '\t')

run zone import full.test "$DATA/dnsctl-full.zone"
is "$rc" 0 "import: exit 0"
is "$out" "imported zone full.test.: 25 records (1 duplicates merged), serial 2024060101" \
    "import: counts (the duplicate TXT merged)"
is "$err" "" "import: nothing on stderr"
run zone export full.test
is "$out" "; zone full.test. serial 2024060101
full.test.	3600	IN	SOA	ns1.full.test. hostmaster.full.test. 2024060101 7200 5400 1209600 300
full.test.	3600	IN	NS	ns1.full.test.
full.test.	3600	IN	NS	ns2.full.test.
full.test.	3600	IN	MX	10 mail.full.test.
after.full.test.	3600	IN	A	192.0.2.8
alias.full.test.	3600	IN	CNAME	www.full.test.
caa.full.test.	3600	IN	CAA	0 issue \"letsencrypt.org\"
h3.elsewhere.full.test.	120	IN	A	192.0.2.13
esc\\.dot.full.test.	3600	IN	A	192.0.2.7
gen.full.test.	3600	IN	A	192.0.2.99
h1.hosts.full.test.	3600	IN	A	192.0.2.11
h1.hosts.full.test.	3600	IN	AAAA	2001:db8::11
h2.hosts.full.test.	120	IN	A	192.0.2.12
h4.hosts.full.test.	120	IN	A	192.0.2.14
mail.full.test.	600	IN	A	192.0.2.25
ns1.full.test.	3600	IN	A	192.0.2.1
ns2.full.test.	300	IN	A	192.0.2.2
srv.full.test.	3600	IN	SRV	10 60 5060 sip.full.test.
x.sub.full.test.	3600	IN	A	192.0.2.9
txt.full.test.	3600	IN	TXT	\"semi;colon\" \"paren(\" \"quote\\\"d\"
unk.full.test.	3600	IN	TYPE65000	\\# 3 abcdef
*.wild.full.test.	3600	IN	A	192.0.2.100
www.full.test.	3600	IN	A	192.0.2.80
www.full.test.	3600	IN	AAAA	2001:db8::80
_443._tcp.www.full.test.	3600	IN	TLSA	3 1 1 abcdef0123456789" "export: every record where the file put it"

# a few of the rules above, one by one, so a failure says which
out=$(dnsctl zone export full.test)
like "$out" "^h1\\.hosts\\.full\\.test\\.${TAB}3600${TAB}IN${TAB}AAAA" "\$INCLUDE origin argument + blank owner"
like "$out" "^h4\\.hosts\\.full\\.test\\.${TAB}120${TAB}" "nested \$INCLUDE found beside its includer, inherits origin and \$TTL"
like "$out" "^after\\.full\\.test\\." "\$ORIGIN is restored after an \$INCLUDE"
like "$out" "^x\\.sub\\.full\\.test\\." "relative \$ORIGIN is relative to the current one"
like "$out" "^mail\\.full\\.test\\.${TAB}600${TAB}IN${TAB}A" "class before TTL; owner stored lower-case"
like "$out" "SOA${TAB}ns1\\.full\\.test\\. hostmaster\\.full\\.test\\. 2024060101 7200 5400 1209600 300\$" \
    "multi-line SOA with comments and TTL units"
like "$out" "${TAB}TYPE65000${TAB}\\\\# 3 abcdef\$" "RFC 3597 unknown type kept"

# re-import the same file: content replaced, serial not newer -> old + 1
dnsctl record add full.test 'extra A 192.0.2.200' >/dev/null
run zone import full.test "$DATA/dnsctl-full.zone"
is "$rc" 0 "re-import: exit 0"
like "$out" "^replaced zone full\\.test\\.: 25 records" "re-import: replaced"
is "$err" "dnsctl: note: serial 2024060101 in $DATA/dnsctl-full.zone is not newer than the stored serial 2024060102 (RFC 1982); using 2024060103" \
    "re-import: the serial rule is reported on stderr"
run record list full.test extra
is "$rc" 1 "re-import: a record only in the store is gone (replace, not merge)"
is "$(dnsctl zone list | tail -n 1)" "full.test.  2024060103      24       25  on" "re-import: serial old+1, counts"

# a newer serial in the file is kept
sed 's/2024060101  ; serial/2024070101  ; serial/' "$DATA/dnsctl-full.zone" >"$TMPD/dnsctl-full.zone"
cp -r "$DATA/dnsctl-inc" "$TMPD/"
run zone import full.test "$TMPD/dnsctl-full.zone"
is "$err" "" "newer serial: no note"
like "$out" "serial 2024070101\$" "newer serial: the file's serial is kept"

# RFC 1982: newer means less than 2^31 ahead, modulo 2^32
serial_file() { sed "s/2024060101  ; serial/$1  ; serial/" "$DATA/dnsctl-full.zone" >"$TMPD/dnsctl-full.zone"; }
serial_file 4294967295
run zone import full.test "$TMPD/dnsctl-full.zone"
like "$out" "serial 2024070102\$" "4294967295 is not newer than 2024070101 (2^31 or more ahead): old + 1"
serial_file 4000000000
run zone import full.test "$TMPD/dnsctl-full.zone"
like "$out" "serial 4000000000\$" "4000000000 is newer than 2024070102: kept"
serial_file 4294967295
run zone import full.test "$TMPD/dnsctl-full.zone"
like "$out" "serial 4294967295\$" "4294967295 is newer than 4000000000: kept"
run zone import full.test "$TMPD/dnsctl-full.zone"
like "$out" "serial 0\$" "the same again: 4294967295 + 1 wraps to 0"
serial_file 5
run zone import full.test "$TMPD/dnsctl-full.zone"
like "$out" "serial 5\$" "5 is newer than 0: kept"

# one TTL per RRset: warned with file:line, the first TTL kept
printf '$ORIGIN ttl.test.\n@ 60 SOA ns hm 1 2 3 4 5\n@ 60 NS ns.elsewhere.example.\nw 300 A 192.0.2.1\nw 600 A 192.0.2.2\n' \
    >"$TMPD/ttl.zone"
run zone import ttl.test "$TMPD/ttl.zone"
is "$rc" 0 "differing TTLs in an RRset: still imported"
is "$err" "$TMPD/ttl.zone:5: warning: TTL 600 differs from the TTL 300 of the w.ttl.test. A RRset ($TMPD/ttl.zone:4); keeping 300 (one TTL per RRset, RFC 2181 5.2)" \
    "differing TTLs: warning with file:line"
is "$(dnsctl record list ttl.test w)" "NAME         TTL  TYPE  DATA
w.ttl.test.  300  A     192.0.2.1
w.ttl.test.  300  A     192.0.2.2" "differing TTLs: both records, the first TTL"
