#!/bin/sh
# t_live_edit.sh -- edits made by dnsctl while dnsd runs are served on the
# very next query: no restart, no signal, no reload (LMDB: a committed write
# is seen by the server's next read transaction). The SOA serial goes up
# with each edit.
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 20
make_store example.test "$DATA/example.test.zone"
start_dnsd
pid0=$DNSD_PID
# ctl ARGS...: dnsctl, its output shown as TAP comments when it fails
ctl() { dnsctl "$@" >"$TMPD/ctl.out" 2>&1 || { sed 's/^/#   /' "$TMPD/ctl.out"; return 1; }; }
serial() { q +short example.test SOA | awk '{ print $3 }'; }

out=$(q new.example.test A)
is "$(dig_status "$out")" NXDOMAIN "before the edit: new A is NXDOMAIN"
s0=$(serial)
is "$s0" 2024010101 "before the edit: serial as imported"

ok 'ctl record add example.test "new 300 IN A 192.0.2.99"' "dnsctl record add: succeeds"
out=$(q new.example.test A)
is "$(dig_status "$out")" NOERROR "right after the add: NOERROR"
is "$(dig_section "$out" ANSWER)" "new.example.test. 300 IN A 192.0.2.99" "right after the add: the new record"
is "$(dig_flags "$out")" "qr aa" "right after the add: authoritative"
s1=$(serial)
ok '[ "$s1" -gt "$s0" ]' "after the add: serial went up ($s0 -> $s1)"

out=$(q +tcp new.example.test A)
is "$(dig_section "$out" ANSWER)" "new.example.test. 300 IN A 192.0.2.99" "over TCP too: the new record"

# a second record joins the existing www A RRset
ok 'ctl record add example.test "www 300 IN A 192.0.2.81"' "dnsctl record add to an existing RRset: succeeds"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER | sort)" "$(printf '%s\n' \
    'www.example.test. 300 IN A 192.0.2.80' 'www.example.test. 300 IN A 192.0.2.81')" "www A: both records now"

ok 'ctl record del example.test new A 192.0.2.99' "dnsctl record del (NAME TYPE RDATA): succeeds"
out=$(q new.example.test A)
is "$(dig_status "$out")" NXDOMAIN "right after the del: NXDOMAIN again"
like "$(dig_section "$out" AUTHORITY)" '^example\.test\. 300 IN SOA ' "right after the del: SOA in authority"
s2=$(serial)
ok '[ "$s2" -gt "$s1" ]' "after the del: serial went up again ($s1 -> $s2)"
like "$(dig_section "$out" AUTHORITY)" " $s2 7200 3600 1209600 300\$" "negative answer's SOA carries the new serial"

out=$(q +tcp new.example.test A)
is "$(dig_status "$out")" NXDOMAIN "over TCP too: the deletion is seen"

# a whole zone imported while dnsd runs is served at once
out=$(q www.other.test A)
is "$(dig_status "$out")" REFUSED "before importing other.test: REFUSED"
ok 'ctl zone import other.test "$DATA/other.test.zone"' "dnsctl zone import other.test while dnsd runs: succeeds"
out=$(q www.other.test A)
is "$(dig_section "$out" ANSWER)/$(dig_flags "$out")" "www.other.test. 600 IN A 198.51.100.80/qr aa" \
    "right after the import: other.test answered authoritatively"
ok 'kill -0 "$pid0" 2>/dev/null' "the dnsd started first is still running: nothing was restarted"
