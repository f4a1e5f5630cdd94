#!/bin/sh
# t_long_key.sh -- a query name whose store key is too long to exist
# (labels of 0x00 bytes escape to two key bytes each: a 255-octet name can
# need more than DNAME_KEY_MAX) is answered from the real name, as Knot
# answers it: below a delegation, a referral whose NS owner is the cut
# (sub.example.test), not a name made from the truncated key -- RRL groups
# referrals by that owner; elsewhere NXDOMAIN with the SOA.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need knotd kdig
need_dnspython
plan 8
make_store example.test "$DATA/example.test.zone"
start_dnsd
start_knot example.test "$DATA/example.test.zone"

z63=$(printf '\\000%.0s' $(seq 63))
z44=$(printf '\\000%.0s' $(seq 44))
# 255 octets; key: 3 x (126 + 1) + (88 + 1) + 17 = 487 bytes > 480
deleg="$z63.$z63.$z63.$z44.sub.example.test"
# 255 octets under the apex: 3 x 127 + 97 + 13 = 491 > 480
z48=$(printf '\\000%.0s' $(seq 48))
apex="$z63.$z63.$z63.$z48.example.test"

ours=$(dnsq query "$deleg" A)
theirs=$("$PYTHON" "$top_srcdir/tests/system/dnsq.py" --port "$KNOT_PORT" query "$deleg" A)
is "$(field "$ours" rcode)" NOERROR "long-key name below sub: NOERROR"
like "$(printf '%s\n' "$ours" | grep '^authority')" '^authority sub\.example\.test\. 3600 IN NS ' \
    "long-key name below sub: referral from the cut sub.example.test"
is "$(printf '%s\n' "$ours" | grep '^authority' | sort)" \
    "$(printf '%s\n' "$theirs" | grep '^authority' | sort)" \
    "long-key name below sub: the same authority section as Knot's"
is "$(field "$ours" flags)" "$(field "$theirs" flags)" "long-key name below sub: the same flags as Knot's"

ours=$(dnsq query "$apex" A)
theirs=$("$PYTHON" "$top_srcdir/tests/system/dnsq.py" --port "$KNOT_PORT" query "$apex" A)
is "$(field "$ours" rcode)" NXDOMAIN "long-key name under the apex: NXDOMAIN"
is "$(field "$ours" rcode)" "$(field "$theirs" rcode)" "long-key name under the apex: Knot's rcode"
is "$(printf '%s\n' "$ours" | grep '^authority')" "$(printf '%s\n' "$theirs" | grep '^authority')" \
    "long-key name under the apex: the same SOA as Knot's"

# over TCP too (one answer function for both)
ours=$(dnsq query --tcp "$deleg" A)
like "$(printf '%s\n' "$ours" | grep '^authority')" \
    '^authority sub\.example\.test\. 3600 IN NS ' "long-key name over TCP: the same referral"
