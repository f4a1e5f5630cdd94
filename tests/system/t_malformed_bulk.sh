#!/bin/sh
# t_malformed_bulk.sh -- a few thousand generated malformed packets, over UDP
# (2400) and TCP (1200, pipelined on one connection per category), 15
# categories of one fault each (tests/system/malformed.py: truncated
# headers, responses, QDCOUNT != 1, pointers in the question, 0x40/0x80
# label types, names over 255 bytes, truncated questions, counts larger than
# the packet, owner pointers that loop / go forward / leave the packet,
# truncated RRs, OPT outside the additional section, several OPTs, OPT with
# a non-root owner, bad OPT options and ECS, QTYPE OPT). Every one gets
# exactly the verdict of RFC 1035 / RFC 6891: FORMERR with its ID, or, for
# packets shorter than a header and responses, no reply at all. dnsd stays
# up, answers a good query after each transport, and exits cleanly on
# SIGTERM. The generator is seeded ($MALFORMED_SEED, printed) so a failure
# can be replayed; t_malformed.sh keeps the hand-made cases.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
gen() { "$PYTHON" "$top_srcdir/tests/system/malformed.py" --port "$PORT" --seed "$SEED" "$@"; }
SEED=${MALFORMED_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
cats=$("$PYTHON" "$top_srcdir/tests/system/malformed.py" --list) ||
    { echo "Bail out! malformed.py --list failed"; exit 1; }
ncat=$(printf '%s\n' "$cats" | grep -c .)
plan $((2 * ncat + 5))
diag "seed $SEED"
make_store example.test "$DATA/example.test.zone"
start_dnsd --rrl-rate 0 # bulk queries from one address

for proto in udp tcp; do
    if [ $proto = udp ]; then n=160 flag=; else n=80 flag=--tcp; fi
    out=$(gen $flag --n $n)
    printf '%s\n' "$out" | grep '^#' | head -n 20
    for cat in $(printf '%s\n' "$cats" | awk '{ print $1 }'); do
        verdict=$(printf '%s\n' "$cats" | awk -v c="$cat" '$1 == c { print $2 }')
        if [ "$verdict" = formerr ]; then
            want="$cat sent $n formerr $n noreply 0 other 0"
        else
            want="$cat sent $n formerr 0 noreply $n other 0"
        fi
        is "$(printf '%s\n' "$out" | grep "^$cat sent ")" "$want" "$proto $cat: $n packets, all $verdict"
    done
    ok 'kill -0 "$DNSD_PID"' "$proto: dnsd still running after $((n * ncat)) malformed packets"
    if [ $proto = udp ]; then
        out=$(q www.example.test A)
    else
        out=$(q +tcp www.example.test A)
    fi
    is "$(dig_section "$out" ANSWER)" "www.example.test. 300 IN A 192.0.2.80" \
        "$proto: a good query is answered afterwards"
done
signal_dnsd TERM 5
is "$DNSD_GONE/$DNSD_RC" "yes/0" "dnsd exits cleanly on SIGTERM after all that"
