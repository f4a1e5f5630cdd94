#!/bin/sh
# t_tcp.sh -- DNS over TCP per RFC 7766 / RFC 1035 4.2.2: 2-byte length
# framing however the bytes arrive, several queries per connection,
# pipelined queries (all sent in one write) each answered with its own ID,
# hundreds of them too, with answers backing up while the client does not
# read; the connection kept open between queries; and with
# --tcp-idle-timeout 1 an idle connection (silent, after a query, or stalled
# inside a length prefix) is closed by the server (bound generous: 5 s; not
# a timing test).
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 22
make_store example.test "$DATA/example.test.zone"
start_dnsd

out=$(q +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "dig +tcp: answered"
is "$(dig_flags "$out")" "qr aa" "dig +tcp: authoritative, no TC"

out=$(dnsq pipeline)
like "$out" '^resp id=4369 rcode=NOERROR an=1 first=192\.0\.2\.80$' "pipelined 1 (www A): its own answer"
like "$out" '^resp id=8738 rcode=NOERROR an=1 first=2001:db8::25$' "pipelined 2 (mail AAAA): its own answer"
like "$out" '^resp id=13107 rcode=NXDOMAIN an=0 first=-$' "pipelined 3 (nope A): NXDOMAIN"
is "$(printf '%s\n' "$out" | grep -c '^resp id=')" 3 "pipelined: three answers, none missing"
like "$out" '^after id=17476 rcode=NOERROR an=1 first=192\.0\.2\.1$' "same connection after the batch: still served"

out=$(dnsq split)
like "$out" '^bytewise id=20817 rcode=NOERROR an=1 first=192\.0\.2\.80$' "length and body in 4 pieces: answered"
like "$out" '^half1 id=21074 rcode=NOERROR an=1 first=192\.0\.2\.25$' "one query and a half: first answered"
like "$out" '^half2 id=21331 rcode=NOERROR an=1 first=192\.0\.2\.2$' "... and the second once its rest arrives"

# a TCP answer of several kB (big TXT, ~1750 bytes; more than one segment
# for a small MSS is fine, the framing is what counts)
out=$(dnsq query --tcp big.example.test TXT)
is "$(field "$out" counts)" "1 8 0 1" "big TXT over TCP: 8 answers and the OPT"
like "$(field "$out" flags)" '^qr aa$' "big TXT over TCP: TC clear"

# many pipelined queries in one write, answers read back late so the
# server's writes back up (~180 kB of big TXT answers): every one arrives,
# whole, once (RFC 7766 6.2.1.1, 7)
out=$(dnsq flood --n 100 --qname big.example.test --qtype TXT --an 8 --delay 0.3)
is "$out" "answered 100 of 100 bad 0 stop -" "100 pipelined big TXT queries, read late: all 100 answered whole"
out=$(dnsq flood --n 300 --qname www.example.test --qtype A --an 1 --delay 0)
is "$out" "answered 300 of 300 bad 0 stop -" "300 pipelined small queries in one write: all answered"

# idle timeout: the server closes idle connections
stop_dnsd
start_dnsd --tcp-idle-timeout 1
dnsq idle --wait 6 >"$TMPD/idle1" &
idle1=$!
dnsq idle --partial --wait 6 >"$TMPD/idle2" &
idle2=$!
out=$(dnsq idle --query --wait 6)
wait $idle1 $idle2
like "$out" '^answered id=24929 rcode=NOERROR an=1 ' "idle timeout 1: a query first is answered"
like "$out" '^closed ' "idle timeout 1: after the answer, the idle connection is closed by the server"
t=$(field "$out" closed)
ok '[ "${t%.*}" -lt 5 ]' "idle timeout 1: closed within 5 s of the answer (${t:-never})"
out=$(cat "$TMPD/idle1")
like "$out" '^closed ' "idle timeout 1: a connection that never sends is closed too"
t=$(field "$out" closed)
ok '[ "${t%.*}" -lt 5 ]' "idle timeout 1: silent connection closed within 5 s (${t:-never})"
out=$(cat "$TMPD/idle2")
like "$out" '^closed ' "idle timeout 1: a connection stalled mid-length is closed too"
t=$(field "$out" closed)
ok '[ "${t%.*}" -lt 5 ]' "idle timeout 1: stalled connection closed within 5 s (${t:-never})"
out=$(q +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" "idle timeout 1: a fresh connection still served"
