#!/bin/sh
# t_dnssec_tools.sh -- the signed geo zone (lib_dnssec.sh) checked by
# other people's DNSSEC tools, straight at dnsd: BIND's delv with the DS of
# `dnsctl dnssec ds` as trust anchor (fully validated, per region by source
# address), BIND's dnssec-dsfromkey agreeing with that DS, kdig +dnssec
# (the shapes of signed answers and compact denials), and DNSViz (probe of
# the zone on loopback, once per region's ECS, then grok with the served
# KSK as trust anchor: no errors, the zone secure).
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_dnssec.sh"
dnssec_need
need delv kdig dnsviz dnssec-dsfromkey mdb_dump mdb_load
plan 52

dnssec_geo_store
# DNSViz asks every server of the zone's NS RRset (on port 53 unless it is
# the one given with -x): the zone's name servers are made loopback
# addresses of the server under test, so no query leaves 127.0.0.1
for n in ns1 ns2; do
    dnsctl record del "$DNSSEC_ZONE" "$n" >/dev/null
    dnsctl record add "$DNSSEC_ZONE" "$n 3600 IN A 127.0.0.1" >/dev/null
done
dnssec_sign
start_dnsd_geo

# ---- delv: a full validation from the trust anchor -----------------------
# BIND's trust-anchors syntax: NAME static-ds TAG ALG DIGEST-TYPE "DIGEST"
printf '%s\n' "$TA_DS" | awk 'BEGIN { print "trust-anchors {" }
    { for (i = 1; i <= NF; i++) if ($i == "DS") break
      d = ""; for (j = i + 4; j <= NF; j++) d = d $j
      printf "    %s static-ds %s %s %s \"%s\";\n", $1, $(i + 1), $(i + 2), $(i + 3), d }
    END { print "};" }' >"$TMPD/anchor.conf"
dv() { delv @127.0.0.1 -p "$PORT" -a "$TMPD/anchor.conf" +root="$DNSSEC_ZONE" "$@" 2>&1; }
o=$(dv -b 127.0.0.1 geo.example.test A)
like "$o" "; fully validated" "delv, default client: geo A fully validated"
like "$o" "geo\.example\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.100" \
    "delv, default client: the default answer"
o=$(dv -b 127.0.0.2 geo.example.test A)
like "$o" "; fully validated" "delv from 127.0.0.2 (region lab): fully validated"
like "$o" "IN[[:space:]]+A[[:space:]]+192\.0\.2\.104" "delv from 127.0.0.2: lab's answer"
o=$(dv -b 127.0.0.1 example.test DNSKEY)
like "$o" "; fully validated" "delv: DNSKEY fully validated"
o=$(dv -b 127.0.0.1 foo.wild.example.test A)
like "$o" "; fully validated" "delv: a wildcard answer fully validated"
like "$o" "foo\.wild\.example\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.100" \
    "delv: the wildcard's record"
o=$(dv -b 127.0.0.1 www.example.test MX)
like "$o" "; negative response, fully validated" "delv: NODATA, validated negative response"
o=$(dv -b 127.0.0.1 nope.example.test A)
like "$o" "; negative response, fully validated" "delv: a name that does not exist (compact denial): validated"
o=$(dv -b 127.0.0.1 b.ent.example.test A)
like "$o" "; negative response, fully validated" "delv: an empty non-terminal: validated"
o=$(dv -b 127.0.0.1 sub.example.test DS)
like "$o" "; negative response, fully validated" "delv: no DS at the insecure delegation: validated"
bad=$TMPD/bad.conf
# the same anchor with the digest's first hex digit changed
awk '{ if (match($0, /"[0-9A-Fa-f]/)) { c = substr($0, RSTART + 1, 1)
       $0 = substr($0, 1, RSTART) (c == "0" ? "1" : "0") substr($0, RSTART + 2) } print }' \
    "$TMPD/anchor.conf" >"$bad"
o=$(delv @127.0.0.1 -p "$PORT" -a "$bad" +root="$DNSSEC_ZONE" -b 127.0.0.1 www.example.test A 2>&1)
unlike "$o" "fully validated" "delv with a wrong DS: not validated"

# ---- the DS: dnsctl and BIND agree ---------------------------------------
q +short example.test DNSKEY | awk '{ $1 = "example.test. 3600 IN DNSKEY " $1; print }' >"$TMPD/dnskey"
ksk=$(awk '$5 == 257' "$TMPD/dnskey" | wc -l | tr -d ' ')
ok '[ "$ksk" -ge 1 ]' "the served DNSKEY RRset has a key with the SEP bit (257)"
bind_ds=$(dnssec-dsfromkey -2 -f "$TMPD/dnskey" example.test 2>&1 | awk '{ d = ""; for (i = 7; i <= NF; i++) d = d $i; print $4, $5, $6, toupper(d) }' | sort)
our_ds=$(printf '%s\n' "$TA_DS" | awk '{ for (i = 1; i <= NF; i++) if ($i == "DS") break
    d = ""; for (j = i + 4; j <= NF; j++) d = d $j; print $(i + 1), $(i + 2), $(i + 3), toupper(d) }' | sort)
like "$bind_ds" "^[0-9]+ 13 2 [0-9A-F]{64}$" "dnssec-dsfromkey: one SHA-256 DS of an algorithm 13 key"
is "$our_ds" "$bind_ds" "dnsctl dnssec ds = dnssec-dsfromkey of the served KSK"

# ---- kdig: the shapes on the wire ------------------------------------------
kd() { kdig @127.0.0.1 -p "$PORT" +norec +time=2 +retry=0 "$@"; }
o=$(kd +dnssec +subnet=81.2.69.142/32 geo.example.test A)
like "$o" "geo\.example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.101" \
    "kdig +dnssec, eu ECS: eu's answer"
like "$o" "IN[[:space:]]+RRSIG[[:space:]]+A 13 3 300 [0-9]{14} [0-9]{14} [0-9]+ example\.test\. " \
    "kdig: its RRSIG (A, alg 13, 3 labels, the TTL, signer example.test.)"
like "$o" "Flags: qr aa;" "kdig: AA"
like "$o" "Version: 0; flags: do;" "kdig: DO echoed"
like "$o" "CLIENT-SUBNET: 81\.2\.69\.142/32/31" "kdig: ECS scope of the deciding block"
o=$(kd +dnssec +subnet=216.160.83.56/32 geo.example.test A)
like "$o" "IN[[:space:]]+A[[:space:]]+192\.0\.2\.102" "kdig +dnssec, na ECS: na's answer"
like "$o" "IN[[:space:]]+RRSIG[[:space:]]+A 13 3 300 " "kdig, na: signed too"
o=$(kd +nodnssec +subnet=81.2.69.142/32 geo.example.test A)
unlike "$o" "RRSIG" "kdig without DO: no RRSIG"
o=$(kd +dnssec example.test DNSKEY)
like "$o" "IN[[:space:]]+DNSKEY[[:space:]]+257 3 13 " "kdig: DNSKEY 257 3 13"
like "$o" "IN[[:space:]]+RRSIG[[:space:]]+DNSKEY 13 2 " "kdig: DNSKEY signed (2 labels)"
o=$(kd +dnssec nope.example.test A)
like "$o" "status: NOERROR" "kdig: a name that does not exist, DO=1: NOERROR (compact denial)"
like "$o" "nope\.example\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+NSEC[[:space:]]+\\\\000\.nope\.example\.test\. RRSIG NSEC (TYPE128|NXNAME)" \
    "kdig: NSEC nope -> \\000.nope, types RRSIG NSEC NXNAME"
like "$o" "IN[[:space:]]+RRSIG[[:space:]]+NSEC 13 3 300 " "kdig: the NSEC signed, TTL min(SOA TTL, MINIMUM) = 300"
like "$o" "IN[[:space:]]+RRSIG[[:space:]]+SOA 13 2 " "kdig: the SOA signed"
o=$(kd +nodnssec nope.example.test A)
like "$o" "status: NXDOMAIN" "kdig, DO=0: NXDOMAIN as before"
o=$(kd +dnssec +subnet=81.2.69.142/32 geo.example.test MX)
like "$o" "geo\.example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+NSEC[[:space:]]+\\\\000\.geo\.example\.test\. A TXT RRSIG NSEC" \
    "kdig, eu NODATA: NSEC types of eu's view (A TXT RRSIG NSEC)"
o=$(kd +dnssec +subnet=216.160.83.56/32 geo.example.test MX)
like "$o" "IN[[:space:]]+NSEC[[:space:]]+\\\\000\.geo\.example\.test\. A RRSIG NSEC" \
    "kdig, na NODATA: NSEC types of na's view (A RRSIG NSEC)"
o=$(kd +dnssec b.ent.example.test A)
like "$o" "IN[[:space:]]+NSEC[[:space:]]+\\\\000\.b\.ent\.example\.test\. RRSIG NSEC" \
    "kdig: empty non-terminal: NSEC types RRSIG NSEC"

# ---- DNSViz: probe, grok and print ------------------------------------------
# dnsviz grok -t (a trust anchor) stops at a version check that Debian 12's
# pygraphviz 1.7 fails ("pygraphviz is required"): grok runs without an
# anchor (every RRSIG still checked against the zone's DNSKEYs: a bad one is
# an error), and `dnsviz print -t`, the same analysis as text, checks the
# chain from the anchor (status "." = secure, "!" bogus, "-" insecure or
# indeterminate; "E:"/"W:" lines are errors and warnings).
q +short example.test DNSKEY | awk '$1 == 257 { print "example.test. 3600 IN DNSKEY " $0 }' >"$TMPD/ta.keys"
names="example.test geo.example.test www.example.test nope.example.test foo.wild.example.test x.rgn.example.test b.ent.example.test"
# probe CLIENT: dnsviz probe as CLIENT (eu, na: ECS; default: none) into $TMPD/probe-CLIENT.json
probe() {
    case $1 in
    eu) _ecs="-e 81.2.69.142/32" ;;
    na) _ecs="-e 216.160.83.56/32" ;;
    *) _ecs= ;;
    esac
    # -b/-4: no source address discovery over the network; -x NAME+: no
    # queries above the zone. (To learn its source address DNSViz connects
    # a UDP socket towards a root server's address: that sends nothing.)
    # shellcheck disable=SC2086
    timeout 120 dnsviz probe -4 -b 127.0.0.1 -A -x "example.test+:ns1.example.test=127.0.0.1:$PORT" $_ecs \
        -o "$TMPD/probe-$1.json" $names >"$TMPD/probe-$1.log" 2>&1
}
for c in eu na default; do
    probe "$c"
    is "$?" 0 "dnsviz probe ($c client): ran"
    timeout 120 dnsviz grok -l info -o "$TMPD/grok-$c.json" <"$TMPD/probe-$c.json" >"$TMPD/grok-$c.log" 2>&1
    like "$?:$(grep -c '"geo.example.test."' "$TMPD/grok-$c.json" 2>/dev/null)" "^0:[1-9]" \
        "dnsviz grok ($c client): ran, every name analysed"
    g=$(timeout 120 dnsviz grok -l warning <"$TMPD/probe-$c.json" 2>&1)
    unlike "$g" '"(errors|warnings)"|required' "dnsviz grok ($c client): no errors, no warnings"
    p=$(timeout 120 dnsviz print -t "$TMPD/ta.keys" -r "$TMPD/probe-$c.json" 2>&1)
    like "$(printf '%s\n' "$p" | head -n 1)" '^example\.test \[\.\]$' \
        "dnsviz print from the trust anchor ($c client): the zone is secure"
    unlike "$p" '\[[^]]*[!?-][^]]*\]|^ *[EW]:|required' \
        "dnsviz print ($c client): every RRset and proof secure, no error, no warning"
done
# the same checks can fail: one damaged signature (geo A, region eu)
eu_id=$(dnsctl region list --json | sed -n 's/.*"name": "eu", "id": \([0-9]*\).*/\1/p')
t=$("$PY3" "$top_srcdir/tests/system/rrsig_tamper.py" "$STORE" geo 1 "$eu_id" 2>&1)
like "$t" "tampered [1-9]" "geo A (eu): stored RRSIG damaged"
probe eu
g=$(timeout 120 dnsviz grok -l warning <"$TMPD/probe-eu.json" 2>&1)
like "$g" '"errors"' "dnsviz grok (eu client) now reports an error"
p=$(timeout 120 dnsviz print -t "$TMPD/ta.keys" -r "$TMPD/probe-eu.json" 2>&1)
like "$(printf '%s\n' "$p" | grep -A2 '^geo\.example\.test')" '\[!' \
    "dnsviz print (eu client): geo A's RRSIG is bogus"
ok 'kill -0 $DNSD_PID' "dnsd still running"
