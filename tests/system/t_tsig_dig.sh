#!/bin/sh
# t_tsig_dig.sh -- our TSIG (zones/tsig.c, as tests/unit/tsig_peer behind
# the UDP front tsig_udp.py on loopback) against BIND's and Knot's: `dig -y`
# and `kdig -y` sign a query with each algorithm, ours verifies it and signs
# the answer, and dig and kdig verify that answer. The failures as they see
# them: a wrong secret (BADSIG, unsigned), an unknown key (BADKEY), our
# clock an hour ahead (BADTIME, signed: dig checks the MAC and reports the
# clocks), and an answer signed with another secret, which both must reject
# (so the good cases could fail).
. "$top_srcdir/tests/system/lib.sh"
need dig kdig openssl
need_dnspython
PEER=$top_builddir/tests/unit/tsig_peer
[ -x "$PEER" ] || { echo "Bail out! $PEER not built (make check builds it)"; exit 1; }
plan 23
UDP_PID=
stop_udp() { stop_pid "$UDP_PID"; UDP_PID=; }
at_exit stop_udp

# serve ALG B64 [ENV=VALUE]: start the UDP front with key k.example.; sets PORT
serve() {
    stop_udp
    rm -f "$TMPD/pf"
    env ${3:-TSIG_PEER_NONE=1} "$PYTHON" "$top_srcdir/tests/system/tsig_udp.py" "$PEER" "$TMPD/pf" \
        k.example. "$1" "$2" >>"$TMPD/udp.log" 2>&1 &
    UDP_PID=$!
    i=0
    while [ ! -s "$TMPD/pf" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    PORT=$(cat "$TMPD/pf")
}
d() { dig @127.0.0.1 -p "$PORT" +norec +time=3 +tries=1 -y "$1" example.test A 2>&1; }
kd() { kdig @127.0.0.1 -p "$PORT" +time=3 +retry=0 -y "$1" example.test A 2>&1; }

for a in hmac-sha1:20 hmac-sha224:28 hmac-sha256:32 hmac-sha384:48 hmac-sha512:64; do
    alg=${a%:*}
    s=$(openssl rand -base64 "${a#*:}" | tr -d "\n")
    serve "$alg" "$s"
    out=$(d "$alg:k.example.:$s")
    ok 'printf "%s\n" "$out" | grep -q "status: NOERROR" && printf "%s\n" "$out" | grep -q "TSIG.* NOERROR 0" && ! printf "%s\n" "$out" | grep -q "verify\|WARNING"' \
        "$alg: dig -y verifies our signed answer"
    out=$(kd "$alg:k.example.:$s")
    ok 'printf "%s\n" "$out" | grep -q "status: NOERROR" && printf "%s\n" "$out" | grep -q "TSIG.* NOERROR 0" && ! printf "%s\n" "$out" | grep -q "WARNING"' \
        "$alg: kdig -y verifies our signed answer"
done

s=$(openssl rand -base64 32)
serve hmac-sha256 "$s"
out=$(d "hmac-sha256:k.example.:$(openssl rand -base64 32)")
like "$out" "status: NOTAUTH" "dig, wrong secret: NOTAUTH"
like "$out" "hmac-sha256\. [0-9]+ 300 0 [0-9]+ BADSIG 0" "dig, wrong secret: unsigned BADSIG"
out=$(kd "hmac-sha256:k.example.:$(openssl rand -base64 32)")
like "$out" "status: BADSIG" "kdig, wrong secret: BADSIG"
out=$(d "hmac-sha256:other.example.:$s")
like "$out" "status: NOTAUTH" "dig, unknown key: NOTAUTH"
like "$out" "other\.example\..*TSIG.* 0 [0-9]+ BADKEY 0" "dig, unknown key: unsigned BADKEY, key name echoed"
out=$(kd "hmac-sha256:other.example.:$s")
like "$out" "status: BADKEY" "kdig, unknown key: BADKEY"
out=$(d "hmac-sha384:k.example.:$s")
like "$out" "BADKEY" "dig, known name with another algorithm: BADKEY"

serve hmac-sha256 "$s" TSIG_PEER_SKEW=3600
out=$(d "hmac-sha256:k.example.:$s")
like "$out" "clocks are unsynchronized" "dig, our clock an hour ahead: our signed BADTIME verified, clocks reported"
like "$out" "hmac-sha256\. [0-9]+ 300 32 [^ ]+ [0-9]+ BADTIME 6 " "dig: BADTIME signed, 6 bytes of other data"
out=$(kd "hmac-sha256:k.example.:$s")
like "$out" "status: BADTIME" "kdig, our clock an hour ahead: BADTIME"

serve hmac-sha256 "$s" TSIG_PEER_SIGN_WRONG=1
out=$(d "hmac-sha256:k.example.:$s")
like "$out" "Couldn't verify signature: tsig verify failure" "dig rejects an answer signed with another secret"
out=$(kd "hmac-sha256:k.example.:$s")
like "$out" "failed to verify TSIG" "kdig rejects an answer signed with another secret"
stop_udp
verified=$(grep -c "^verify 0" "$TMPD/udp.log")
is "$verified" 12 "ours verified exactly the 12 well-signed queries (10 good, 2 signed-wrong answers)"
