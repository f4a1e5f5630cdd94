#!/bin/sh
# t_dnssec_validate.sh -- a signed geo zone checked by a real validator:
# Unbound (trust anchor from `dnsctl dnssec ds`, stub zone to dnsd,
# subnetcache sending each client's ECS) returns every region's own answer
# with AD; denials (compact denial, RFC 9824: NXDOMAIN, NODATA with a
# regional type bitmap, empty non-terminal, wildcard NODATA, no DS at an
# insecure delegation) and wildcard answers validate; a stored RRSIG
# damaged behind the writer's back (tests/system/rrsig_tamper.py: LMDB's
# mdb_dump/mdb_load) gives SERVFAIL for that RRset, in that region only,
# while everything else still validates. See lib_dnssec.sh for the zone.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_dnssec.sh"
dnssec_need
need mdb_dump mdb_load
plan 59

dnssec_setup
# two names only the tamper test asks for (nothing may have cached them):
# one per region, one in the default view only
dnsctl record add "$DNSSEC_ZONE" 'tam 300 IN A 192.0.2.150' >/dev/null
dnsctl record add "$DNSSEC_ZONE" --region eu 'tam 300 IN A 192.0.2.151' >/dev/null
dnsctl record add "$DNSSEC_ZONE" 'tam2 300 IN A 192.0.2.152' >/dev/null
dnsctl record add "$DNSSEC_ZONE" 'tam2 300 IN AAAA 2001:db8::152' >/dev/null

# answer CLIENT NAME TYPE: "STATUS|ad or -|sorted answer data" through Unbound
answer() {
    _o=$(uq "$1" "$2" "$3")
    _ad=-
    case " $(dig_flags "$_o") " in *" ad "*) _ad=ad ;; esac
    _d=$(dig_section "$_o" ANSWER | awk -v t="$3" '$4 == t { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' |
        sort | tr '\n' ' ' | sed 's/ $//')
    echo "$(dig_status "$_o")|$_ad|$_d"
}

# -- positive answers: each region's own, validated ------------------------
for c in eu na as lab default; do
    is "$(answer "$c" geo.example.test A)" "NOERROR|ad|$(geo_want "$c")" \
        "client in $c: its region's answer, AD (validated)"
done
# the same once more: now from Unbound's subnet cache, still per region
for c in default lab as na eu; do
    is "$(answer "$c" geo.example.test A)" "NOERROR|ad|$(geo_want "$c")" \
        "client in $c again (cached under dnsd's ECS scope): its own answer, AD"
done
is "$(answer eu geo.example.test TXT)" 'NOERROR|ad|"eu only"' "eu: the TXT only eu has, AD"
is "$(answer na www.example.test A)" "NOERROR|ad|192.0.2.80" "a name without regional data: AD"
is "$(answer eu example.test MX)" "NOERROR|ad|10 mail.example.test. 20 mail2.example.test." \
    "apex MX (two records): AD"
is "$(answer na chain-a.example.test A)" "NOERROR|ad|192.0.2.30" "a CNAME chain in the zone: AD"
o=$(uq na chain-a.example.test A)
is "$(dig_section "$o" ANSWER | awk '$4 == "CNAME"' | wc -l | tr -d ' ')" 2 "the chain's two CNAMEs are in the answer"
is "$(answer eu example.test DNSKEY | cut -d'|' -f1,2)" "NOERROR|ad" "DNSKEY: AD"

# -- denial of existence ----------------------------------------------------
# A name that does not exist: dnsd answers DO=1 queries with compact denial
# (NOERROR, an NSEC at the name whose bitmap has NXNAME, RFC 9824 3.2).
# Unbound 1.17 (Debian 12) knows nothing of NXNAME: it validates the NSEC
# as a NODATA proof and passes NOERROR with AD on (RFC 9824 allows a
# resolver to restore NXDOMAIN, not required).
for c in eu na; do
    o=$(uq "$c" nope.example.test A)
    is "$(dig_status "$o")|$(dig_count "$o" ANSWER)" "NOERROR|0" "$c: a name that does not exist: NOERROR, no answer"
    like "$(dig_flags "$o")" "(^| )ad( |$)" "$c: the denial validates (AD)"
done
o=$(uq eu nope.example.test A)
like "$(dig_section "$o" AUTHORITY)" "^nope\.example\.test\. [0-9]+ IN NSEC .*(TYPE128|NXNAME)" \
    "the validated denial is the compact one: NSEC at the name with NXNAME (TYPE128)"
is "$(answer eu deeper.nope.example.test TXT | cut -d'|' -f1,2)" "NOERROR|ad" \
    "a deeper name that does not exist: validates"
# NODATA, and the bitmap of the client's view: geo has TXT in eu only
o=$(uq na geo.example.test TXT)
is "$(dig_status "$o")|$(dig_count "$o" ANSWER)" "NOERROR|0" "na: geo TXT (eu only): NODATA"
like "$(dig_flags "$o")" "(^| )ad( |$)" "na: that NODATA validates (AD)"
unlike "$(dig_section "$o" AUTHORITY | awk '$4 == "NSEC"')" " TXT( |$)" \
    "na: its NSEC bitmap is na's view (no TXT)"
o=$(uq eu geo.example.test MX)
is "$(dig_status "$o")|$(dig_count "$o" ANSWER)" "NOERROR|0" "eu: geo MX: NODATA"
like "$(dig_flags "$o")" "(^| )ad( |$)" "eu: that NODATA validates (AD)"
like "$(dig_section "$o" AUTHORITY | awk '$4 == "NSEC"')" " A .*TXT" \
    "eu: its NSEC bitmap is eu's view (A and TXT)"
is "$(answer eu geo.example.test TXT)" 'NOERROR|ad|"eu only"' \
    "eu after na's NODATA: still eu's TXT (na's denial was not applied to eu)"
is "$(answer na www.example.test MX | cut -d'|' -f1,2,3)" "NOERROR|ad|" "NODATA at a plain name: validates"
is "$(answer eu b.ent.example.test A | cut -d'|' -f1,2,3)" "NOERROR|ad|" \
    "an empty non-terminal: NODATA, validates"
is "$(answer na sub.example.test DS | cut -d'|' -f1,2,3)" "NOERROR|ad|" \
    "no DS at an insecure delegation: the proof validates"

# -- wildcards --------------------------------------------------------------
is "$(answer eu foo.wild.example.test A)" "NOERROR|ad|192.0.2.100" "a wildcard answer: AD"
is "$(answer na a.b.wild.example.test TXT)" 'NOERROR|ad|"wildcard"' \
    "a wildcard answer two labels down: AD"
o=$(uq eu foo.wild.example.test A)
like "$(dig_section "$o" ANSWER | awk '$4 == "RRSIG"')" "RRSIG A 13 3 " \
    "the wildcard answer's RRSIG has the wildcard's labels (3)"
like "$(dig_section "$o" AUTHORITY | awk '$4 == "NSEC"')" "NSEC" \
    "and an NSEC proving the next closer name does not exist"
is "$(answer na host.wild.example.test A)" "NOERROR|ad|192.0.2.101" "a name beside the wildcard: AD"
is "$(answer eu foo.wild.example.test MX | cut -d'|' -f1,2,3)" "NOERROR|ad|" "wildcard NODATA: validates"
is "$(answer eu x.rgn.example.test A)" "NOERROR|ad|192.0.2.201" "a regional wildcard, eu: eu's answer, AD"
is "$(answer na x.rgn.example.test A)" "NOERROR|ad|192.0.2.200" "the same wildcard, na: the default, AD"
is "$(answer eu towild.example.test A)" "NOERROR|ad|192.0.2.100" "a CNAME into the wildcard: AD"

# -- what a validator must reject -----------------------------------------
# damage the stored signatures of tam A in region eu only
eu_id=$(dnsctl region list --json | sed -n 's/.*"name": "eu", "id": \([0-9]*\).*/\1/p')
o=$(dq eu tam.example.test A)
like "$(dig_section "$o" ANSWER | awk '$4 == "RRSIG"')" "RRSIG A 13 " "before: dnsd serves tam A (eu) with its RRSIG"
t=$("$PY3" "$top_srcdir/tests/system/rrsig_tamper.py" "$STORE" tam 1 "$eu_id" 2>&1)
like "$t" "^tampered [1-9]" "tam A (region eu): stored RRSIG bytes damaged ($t)"
o2=$(dq eu tam.example.test A)
is "$(dig_section "$o2" ANSWER | awk '$4 == "A"')" "$(dig_section "$o" ANSWER | awk '$4 == "A"')" \
    "dnsd serves the same record"
isnt_sig=$(dig_section "$o2" ANSWER | awk '$4 == "RRSIG" { print $NF }')
was_sig=$(dig_section "$o" ANSWER | awk '$4 == "RRSIG" { print $NF }')
ok '[ -n "$isnt_sig" ] && [ "$isnt_sig" != "$was_sig" ]' "with the damaged signature"
o=$(uq eu tam.example.test A)
is "$(dig_status "$o")|$(dig_count "$o" ANSWER)" "SERVFAIL|0" "Unbound, eu client: SERVFAIL (bogus)"
if grep -q "validation failure <tam.example.test. A IN>" "$UB_LOG" 2>/dev/null; then
    _ok 0 "Unbound logs the validation failure for tam A"
else
    _ok 1 "Unbound logs the validation failure for tam A"; ub_log_tail
fi
is "$(answer na tam.example.test A)" "NOERROR|ad|192.0.2.150" \
    "na client: the default view's tam A, untouched, still validates"
is "$(answer eu geo.example.test A)" "NOERROR|ad|192.0.2.101" "eu: another name still validates"
is "$(answer eu www.example.test AAAA)" "NOERROR|ad|2001:db8::80" "eu: a name never asked before validates"
# the default view's signature, with two types at the name
t=$("$PY3" "$top_srcdir/tests/system/rrsig_tamper.py" "$STORE" tam2 1 0 2>&1)
like "$t" "^tampered [1-9]" "tam2 A (default view): stored RRSIG bytes damaged"
is "$(answer na tam2.example.test A | cut -d'|' -f1)" SERVFAIL "Unbound: tam2 A is bogus: SERVFAIL"
is "$(answer na tam2.example.test AAAA)" "NOERROR|ad|2001:db8::152" "tam2 AAAA (its own RRSIG intact): AD"
n=$(grep -c "validation failure" "$UB_LOG")
f=$(grep "validation failure" "$UB_LOG" | grep -v -e "<tam.example.test. A IN>" -e "<tam2.example.test. A IN>" |
    head -5)
is "$f" "" "Unbound logged no validation failure but the two tampered RRsets ($n in all)"
# a validator with a wrong trust anchor accepts nothing from the zone
stop_unbound
good_ds=$TA_DS
TA_DS=$(printf '%s\n' "$good_ds" | awk '{ $NF = (substr($NF, 1, 1) == "0" ? "1" : "0") substr($NF, 2); print }')
start_unbound
is "$(answer eu www.example.test A | cut -d'|' -f1)" SERVFAIL "a wrong DS as trust anchor: SERVFAIL"
stop_unbound
TA_DS=$good_ds
start_unbound
is "$(answer eu www.example.test A)" "NOERROR|ad|192.0.2.80" "the right one again: AD"

# a client without DO still gets the validated answer, AD and no RRSIG
o=$(dig @127.0.0.1 -p "$UB_PORT" +time=5 +tries=1 -b 127.0.0.1 +subnet=81.2.69.142/32 geo.example.test A)
like "$(dig_flags "$o")" "(^| )ad( |$)" "DO=0 client: AD"
is "$(dig_section "$o" ANSWER | awk '$4 == "RRSIG"' | wc -l | tr -d ' ')" 0 "DO=0 client: no RRSIG"

ok 'kill -0 $DNSD_PID' "dnsd still running"
