#!/bin/sh
# t_config.sh -- dnsd -c FILE: one "key value" per line, # comments, keys
# are the long option names; the server runs from the file alone, command-
# line options override it, and a bad line (unknown key, bad value) makes
# dnsd exit non-zero at once with a message naming FILE:LINE.
. "$top_srcdir/tests/system/lib.sh"
need dig
plan 26
make_store example.test "$DATA/example.test.zone"
A_WWW="www.example.test. 300 IN A 192.0.2.80"

cat >"$TMPD/good.conf" <<CONF
# dnsd test configuration
   # an indented comment, then a blank line

store $STORE
listen 127.0.0.1:0
port-file $TMPD/port
workers 1
udp-payload 1300
log-level info
CONF
start_dnsd_raw "$TMPD/port" -c "$TMPD/good.conf"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "-c FILE alone: store, listen, port-file from the file; answers"
is "$(dig_edns "$out")" "version: 0, flags:; udp: 1300" "-c FILE: udp-payload 1300 from the file"
out=$(q +tcp www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "-c FILE: TCP answers too"
stop_dnsd

start_dnsd_raw "$TMPD/port" -c "$TMPD/good.conf" --udp-payload 1400
out=$(q www.example.test A)
is "$(dig_edns "$out")" "version: 0, flags:; udp: 1400" "-c FILE --udp-payload 1400: the command line wins"
is "$(dig_section "$out" ANSWER)" "$A_WWW" "-c FILE with an override: answers"
stop_dnsd

# bad_conf NAME LINE3 TEXT: a file whose line 3 is LINE3 must be refused
bad_conf() {
    printf '# line 1\nstore %s\n%s\nlisten 127.0.0.1:0\nport-file %s\n' \
        "$STORE" "$2" "$TMPD/bad.port" >"$TMPD/$1"
    rm -f "$TMPD/bad.port"
    timeout 10 ${DNSD_WRAPPER:-} "$DNSD" -c "$TMPD/$1" >"$TMPD/bad.out" 2>"$TMPD/bad.err"
    rc=$?
    ok '[ $rc -ne 0 ] && [ $rc -ne 124 ]' "$3: exits non-zero at once (rc $rc)"
    like "$(cat "$TMPD/bad.err")" "$1:3:" "$3: stderr names $1:3:"
    ok '[ ! -s "$TMPD/bad.port" ]' "$3: never got as far as listening"
}
bad_conf unknown.conf "no-such-key 1" "unknown key on line 3"
bad_conf badvalue.conf "workers lots" "bad workers value on line 3"
bad_conf novalue.conf "udp-payload" "key without a value on line 3"

# a line longer than the limit (64 KiB) is refused, naming its FILE:LINE
bad_conf toolong.conf "# $(head -c 70000 /dev/zero | tr '\0' x)" "a 70000-byte line 3"

# a long comment stays one comment: a line used to be cut at 8 KiB and its
# tail read as a setting of its own
{
    printf '# line 1\nstore %s\n' "$STORE"
    printf '#%s no-such-key 1\n' "$(head -c 8190 /dev/zero | tr '\0' x)"
    printf 'listen 127.0.0.1:0\nport-file %s\nworkers 1\n' "$TMPD/port"
} >"$TMPD/longcomment.conf"
start_dnsd_raw "$TMPD/port" -c "$TMPD/longcomment.conf"
out=$(q www.example.test A)
is "$(dig_section "$out" ANSWER)" "$A_WWW" "an 8.2 KB comment line is one comment: dnsd starts and answers"
stop_dnsd

# with chroot, paths used after it must be inside it (dnsd(8) chroot)
chroot_conf() {
    printf 'store %s\nlisten 127.0.0.1:0\nport-file %s\nchroot %s/root\n%s\n' \
        "$STORE" "$TMPD/bad.port" "$TMPD" "$2" >"$TMPD/$1"
    rm -f "$TMPD/bad.port"
    timeout 10 "$DNSD" -c "$TMPD/$1" >/dev/null 2>"$TMPD/bad.err"
    rc=$?
    ok '[ $rc -eq 1 ] && [ ! -e "$TMPD/bad.port" ]' "$3: exit 1 before listening (rc $rc)"
    like "$(cat "$TMPD/bad.err")" "$1: $4" "$3: the message names the file, the setting and why"
}
mkdir -p "$TMPD/root"
chroot_conf certdir.conf "cert-dir /var/lib/dnsd-certs" "cert-dir outside the chroot" \
    "cert-dir /var/lib/dnsd-certs is outside chroot $TMPD/root \\(it is used after the chroot\\)"
chroot_conf cabundle.conf "acme-ca-bundle $TMPD/ca.pem" "acme-ca-bundle outside the chroot" \
    "acme-ca-bundle $TMPD/ca.pem is outside chroot $TMPD/root"
chroot_conf relcert.conf "cert-dir certs" "a relative cert-dir with chroot" \
    "cert-dir certs is outside chroot"
chroot_conf prefix.conf "cert-dir $TMPD/rootless/certs" "a sibling sharing the prefix" \
    "cert-dir $TMPD/rootless/certs is outside chroot"
