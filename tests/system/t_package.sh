#!/bin/sh
# SPDX-License-Identifier: MIT
# t_package.sh -- the Debian package: built from the distributed tree (make
# distdir, so EXTRA_DIST must hold debian/) with `dpkg-buildpackage -us -uc
# -b`, lintian finds no error, it holds the programs, man pages, unit and
# /etc/dnsd/dnsd.conf (a conffile), and its Build-Depends name every library
# configure.ac asks for. Unpacked into a scratch root, its dnsd starts with
# its config and answers. Installed for real only when the test runs as root
# with DNSD_PKG_INSTALL=1 (CI sets it: a fresh machine): then the dnsd user
# and /var/lib/dnsd exist, the packaged dnsd runs as that user with the
# packaged config and answers, and a purge removes it all.
. "$top_srcdir/tests/system/lib.sh"
need dpkg-buildpackage dh lintian
if grep -q '^SAN_CFLAGS = -fsanitize' "$top_builddir/Makefile"; then
    skip_all "sanitizer build: the package is built once, by the plain suite (tools/test)"
fi
plan 22
VER=$("$DNSD" --version | sed 's/^dnsd //')
SRC=$TMPD/src/dnsd-$VER
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" "$@"; }
mkdir -p "$TMPD/src"
mk distdir distdir="$SRC" >"$TMPD/build.log" 2>&1 || { echo "Bail out! make distdir failed"; exit 1; }
(cd "$SRC" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >>"$TMPD/build.log" 2>&1
rc=$?
is "$rc" 0 "dpkg-buildpackage -us -uc -b builds the package from the distributed tree"
[ "$rc" = 0 ] || tail -n 40 "$TMPD/build.log" | sed 's/^/# /'
DEB=$TMPD/src/dnsd_${VER}_$(dpkg --print-architecture).deb
ok '[ -s "$DEB" ]' "the .deb is there"
lint=$(lintian --fail-on error "$TMPD/src/dnsd_${VER}_$(dpkg --print-architecture).changes" 2>&1)
is "$?" 0 "lintian: no error"
printf '%s\n' "$lint" | grep -v 'root privileges' | sed 's/^/# lintian: /'
files=$(dpkg -c "$DEB" | awk '{print $6}')
for f in ./usr/sbin/dnsd ./usr/bin/dnsctl ./etc/dnsd/dnsd.conf ./lib/systemd/system/dnsd.service \
    ./usr/share/man/man8/dnsd.8.gz ./usr/share/man/man1/dnsctl.1.gz; do
    printf '%s\n' "$files" | grep -qxF "$f" || diag "not in the package: $f"
done
ok 'for f in ./usr/sbin/dnsd ./usr/bin/dnsctl ./etc/dnsd/dnsd.conf ./lib/systemd/system/dnsd.service \
    ./usr/share/man/man8/dnsd.8.gz ./usr/share/man/man1/dnsctl.1.gz; do
    printf "%s\n" "$files" | grep -qxF "$f" || exit 1; done' \
    "it holds dnsd, dnsctl, the config, the unit and the man pages"
mkdir -p "$TMPD/ctl"
dpkg-deb -e "$DEB" "$TMPD/ctl"
is "$(cat "$TMPD/ctl/conffiles")" /etc/dnsd/dnsd.conf "/etc/dnsd/dnsd.conf is a conffile"
like "$(cat "$TMPD/ctl/postinst")" 'adduser --system --group' "postinst creates the dnsd system user"
like "$(cat "$TMPD/ctl/postinst")" "deb-systemd-helper enable 'dnsd.service'" "... and enables the unit"
# every library configure.ac tells Debian users to install (need_pkg's third
# argument, "On Debian: apt-get install X" messages) is a build dependency
bdeps=$(sed -n '/^Build-Depends:/,/^[A-Z][A-Za-z-]*:/p' "$top_srcdir/debian/control" |
    sed '$d; s/^Build-Depends://' | tr ',' '\n' | sed 's/(.*//; s/[[:space:]]//g' | grep .)
missing=
for p in $( (sed -n 's/^need_pkg(\[[A-Z_0-9]*\], *\[[^]]*\], *\[\([^]]*\)\]).*/\1/p' \
        "$top_srcdir/configure.ac"
    sed -n 's/.*On Debian: apt-get install \([a-z0-9.+-]*\).*/\1/p' "$top_srcdir/configure.ac") |
    sort -u); do
    printf '%s\n' "$bdeps" | grep -qxF "$p" || missing="$missing $p"
done
is "$missing" "" "debian/control Build-Depends lists every package configure.ac needs"

# a scratch root: the packaged binary with the packaged config (store and
# listen address overridden on the command line) answers
ROOT=$TMPD/root
dpkg-deb -x "$DEB" "$ROOT"
like "$(sed -n 's/^ExecStart=//p' "$ROOT/lib/systemd/system/dnsd.service")" \
    '^/usr/sbin/dnsd -c /etc/dnsd/dnsd.conf$' "the unit starts /usr/sbin/dnsd with /etc/dnsd/dnsd.conf"
like "$(cat "$ROOT/etc/dnsd/dnsd.conf")" '^store /var/lib/dnsd$' "the config's store is /var/lib/dnsd"
like "$(cat "$ROOT/etc/dnsd/dnsd.conf")" '^control-socket /run/dnsd/dnsd.sock$' \
    "the config's control socket is /run/dnsd/dnsd.sock (the unit's RuntimeDirectory)"
make_store example.test "$DATA/example.test.zone"
start_dnsd_raw "$TMPD/port" -c "$ROOT/etc/dnsd/dnsd.conf" --store "$STORE" \
    --listen 127.0.0.1:0 --port-file "$TMPD/port" --control-socket "$TMPD/ctl.sock"
is "$(dig_status "$(q www.example.test A)")" NOERROR "scratch root: the packaged dnsd answers"
stop_dnsd
# fails when a library is missing on the machine: what `apt install` would bring
ok '! ldd "$ROOT/usr/sbin/dnsd" | grep -q "not found"' "all its libraries resolve"

if [ "$(id -u)" != 0 ] || [ "${DNSD_PKG_INSTALL:-0}" != 1 ]; then
    skip 9 "installing the package needs root and DNSD_PKG_INSTALL=1 (CI: a fresh machine)"
    exit 0
fi
if dpkg-query -W -f='${Status}' dnsd 2>/dev/null | grep -q installed; then
    echo "Bail out! a dnsd package is installed already: not touching it"; exit 1
fi
purge() { dpkg --purge dnsd >/dev/null 2>&1 || true; }
at_exit purge
dpkg -i "$DEB" >"$TMPD/dpkg.log" 2>&1
is "$?" 0 "dpkg -i installs it"
sed 's/^/# dpkg: /' "$TMPD/dpkg.log"
ok 'getent passwd dnsd >/dev/null' "the dnsd system user exists"
is "$(stat -c '%U %a' /var/lib/dnsd)" "dnsd 700" "/var/lib/dnsd belongs to dnsd, mode 0700"
# as the unit runs it: the dnsd user, the packaged config; the store filled
# by dnsctl as that user (the zone file copied where dnsd may read it)
chmod 0755 "$TMPD"
mkdir -m 0755 "$TMPD/pub"
cp "$DATA/example.test.zone" "$TMPD/pub/zone"
chmod 0644 "$TMPD/pub/zone"
chown dnsd "$TMPD/pub"
AS_DNSD="setpriv --reuid=dnsd --regid=dnsd --init-groups --"
$AS_DNSD /usr/bin/dnsctl --store /var/lib/dnsd zone import example.test "$TMPD/pub/zone" >/dev/null
is "$?" 0 "dnsctl (as dnsd) imports a zone into /var/lib/dnsd"
# /run/dnsd for the packaged control socket, as the unit's RuntimeDirectory=dnsd makes it
if [ ! -e /run/dnsd ]; then
    install -d -o dnsd -g dnsd -m 0755 /run/dnsd
    rm_run() { rm -rf /run/dnsd; }
    at_exit rm_run
fi
BUILT_DNSD=$DNSD
DNSD_WRAPPER=$AS_DNSD
DNSD=/usr/sbin/dnsd
start_dnsd_raw "$TMPD/pub/port" -c /etc/dnsd/dnsd.conf --listen 127.0.0.1:0 \
    --port-file "$TMPD/pub/port"
DNSD=$BUILT_DNSD
unset DNSD_WRAPPER
out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "the installed dnsd (user dnsd, /etc/dnsd/dnsd.conf) answers"
is "$(ps -o user= -p "$DNSD_PID" | tr -d ' ')" dnsd "... running as dnsd"
like "$(/usr/bin/dnsctl status)" "pid $DNSD_PID" "dnsctl status (as root) finds it at /run/dnsd/dnsd.sock"
stop_dnsd
dpkg --purge dnsd >"$TMPD/dpkg.log" 2>&1
is "$?" 0 "dpkg --purge removes it"
ok '[ ! -e /usr/sbin/dnsd ] && [ ! -e /etc/dnsd ] && [ ! -e /var/lib/dnsd ] &&
    [ ! -e /lib/systemd/system/dnsd.service ]' "... with its config, unit and store"
