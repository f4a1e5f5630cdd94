#!/bin/sh
# t_xfrin_bind.sh -- dnsd as a secondary of a real BIND 9 primary (named),
# TSIG both ways: the first transfer (AXFR) on named's NOTIFY; a regional
# overlay answered per region; an edit on named (nsupdate, so named keeps a
# journal) reaches dnsd by NOTIFY + IXFR; a delete too; a NOTIFY signed
# with a key dnsd does not know is refused; named stopped, dnsd keeps
# serving the zone.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
. "$top_srcdir/tests/system/lib_xfrin.sh"
need dig named nsupdate
plan 15

a() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
serial() { dnsctl zone show bsec.test | sed -n 's/^serial *//p'; }

make_store other.test "$DATA/other.test.zone"
out=$(dnsctl tsig add bind-key --algorithm hmac-sha256) || echo "Bail out! tsig add"
SECRET=$(printf '%s\n' "$out" | sed -n 2p)
BPORT=$(free_udp_tcp_port)
out=$(dnsctl zone add bsec.test --primary "127.0.0.1:$BPORT" --tsig bind-key 2>&1)
like "$out" "secondary of 127.0.0.1:$BPORT" "zone add --primary --tsig: a secondary zone"
dnsctl region add lab --cidr 10.1.0.0/16 >/dev/null
start_dnsd --rrl-rate 0

# named: the primary, with a journal (allow-update), NOTIFY to dnsd, both signed
BDIR=$TMPD/bind1
mkdir -p "$BDIR"
primary_zone bsec.test "$BDIR/bsec.db" 100 3600 600 86400
cat >"$BDIR/named.conf" <<EOF
options {
    directory "$BDIR";
    pid-file "$BDIR/named.pid";
    listen-on port $BPORT { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify-source 127.0.0.1;
};
controls { };
key "bind-key" { algorithm hmac-sha256; secret "$SECRET"; };
zone "bsec.test" {
    type primary;
    file "bsec.db";
    allow-transfer { key "bind-key"; };
    allow-update { key "bind-key"; };
    notify explicit;
    notify-delay 0;
    max-ixfr-ratio unlimited;   # a 4-record zone: else a delete goes AXFR-style
    also-notify { 127.0.0.1 port $PORT key "bind-key"; };
};
EOF
named -g -n 1 -c "$BDIR/named.conf" >"$BDIR/named.log" 2>&1 &
BIND_PID=$!
stop_bind() { stop_pid "$BIND_PID"; BIND_PID=; }
at_exit stop_bind

loaded() { [ "$(a www.bsec.test A)" = 192.0.2.1 ]; }
ok 'wait_for 15 loaded' "the first transfer from named: www answered"
like "$(grep xfrin "$TMPD/dnsd.log")" 'bsec.test.: AXFR from' "dnsd's log: AXFR"
like "$(grep 'bsec.test' "$BDIR/named.log")" "client @0x[0-9a-f]+ 127\\.0\\.0\\.1#[0-9]+/key bind-key \\(bsec\\.test\\): transfer of 'bsec\\.test/IN': AXFR started" \
    "named's log: an AXFR to dnsd, signed with bind-key"

dnsctl record add bsec.test --region lab 'www 300 IN A 10.9.9.9' >/dev/null
is "$(a www.bsec.test A +subnet=10.1.200.0/24)" 10.9.9.9 "the lab region gets its local overlay"
is "$(a www.bsec.test A +subnet=192.0.2.0/24)" 192.0.2.1 "others get named's data"

nsupdate -y "hmac-sha256:bind-key:$SECRET" <<EOF
server 127.0.0.1 $BPORT
zone bsec.test.
update add new.bsec.test. 300 A 192.0.2.50
send
EOF
reached() { [ "$(a new.bsec.test A)" = 192.0.2.50 ]; }
ok 'wait_for 15 reached' "an update on named reached dnsd"
like "$(grep xfrin "$TMPD/dnsd.log")" 'bsec.test.: NOTIFY from 127.0.0.1' "by named's NOTIFY"
like "$(grep xfrin "$TMPD/dnsd.log")" 'bsec.test.: IXFR from 127.0.0.1:[0-9]+: serial 101, 0 records removed, 1 added' \
    "and IXFR from named's journal (dnsd's log)"
is "$(serial)" 101 "serial 101, named's"
is "$(a new.bsec.test A +subnet=10.1.200.0/24)" 192.0.2.50 "the lab region sees the new name too"

nsupdate -y "hmac-sha256:bind-key:$SECRET" <<EOF
server 127.0.0.1 $BPORT
zone bsec.test.
update delete new.bsec.test. A
send
EOF
gone() { [ -z "$(a new.bsec.test A)" ] && [ "$(serial)" = 102 ]; }
ok 'wait_for 15 gone' "a delete on named reached dnsd (serial 102)"
like "$(grep xfrin "$TMPD/dnsd.log")" 'bsec.test.: IXFR from 127.0.0.1:[0-9]+: serial 102, 1 records removed, 0 added' \
    "by IXFR too"

# a NOTIFY signed with a key dnsd does not know: not acted upon
dig @127.0.0.1 -p "$PORT" +opcode=notify +norec +time=2 +tries=1 -y hmac-sha256:stranger:c3RyYW5nZXI= \
    bsec.test SOA >"$TMPD/notify.out" 2>&1
like "$(cat "$TMPD/notify.out")" 'NOTAUTH|REFUSED|BADKEY' "a NOTIFY signed with an unknown key is refused"

diag "$(grep -c NOTIFY "$TMPD/dnsd.log") NOTIFY lines in dnsd's log"
stop_bind
sleep 1
is "$(a www.bsec.test A)" 192.0.2.1 "named gone: dnsd keeps serving the zone (until expire)"
