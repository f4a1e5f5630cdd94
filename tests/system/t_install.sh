#!/bin/sh
# SPDX-License-Identifier: MIT
# t_install.sh -- `make install DESTDIR=...` puts dnsd (sbin), dnsctl (bin),
# both man pages, the example config and the systemd unit where configure
# said; `systemd-analyze verify` accepts the unit (every key known, the
# ExecStart binary and the Documentation= man pages found, as installed);
# the installed dnsd starts with the installed example config and answers;
# `make uninstall` leaves no file behind. make distcheck runs this too.
. "$top_srcdir/tests/system/lib.sh"
need systemd-analyze man
plan 12
ROOT=$TMPD/root
# a make of its own, not a part of the caller's (no jobserver, no TESTS=)
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" "$@"; }
mk install DESTDIR="$ROOT" >"$TMPD/install.log" 2>&1
is "$?" 0 "make install DESTDIR=... succeeds"
files=$(cd "$ROOT" && find . -type f | sort)
diag "installed: $(echo $files)"
sbin=$(printf '%s\n' "$files" | grep '/sbin/dnsd$')
bin=$(printf '%s\n' "$files" | grep '/bin/dnsctl$')
unit=$(printf '%s\n' "$files" | grep '/systemd/system/dnsd.service$')
conf=$(printf '%s\n' "$files" | grep '/dnsd/dnsd.conf.example$')
ok '[ -n "$sbin" ] && [ -n "$bin" ]' "dnsd and dnsctl are installed"
ok 'printf "%s\n" "$files" | grep -q "/man8/dnsd.8$" &&
    printf "%s\n" "$files" | grep -q "/man1/dnsctl.1$"' "the man pages are installed"
ok '[ -n "$unit" ] && [ -n "$conf" ]' "the unit and the example config are installed"
# the unit names the installed paths (without DESTDIR): ExecStart is sbin's dnsd
execstart=$(sed -n 's/^ExecStart=//p' "$ROOT/$unit")
is "$execstart" "${sbin#.} -c $(dirname "${conf#.}")/dnsd.conf" "ExecStart is the installed dnsd with its config"
type=$(sed -n 's/^Type=//p' "$ROOT/$unit")
if grep -q '^#define HAVE_LIBSYSTEMD 1' "$top_builddir/config.h"; then want=notify; else want=simple; fi
is "$type" "$want" "Type=$want (libsystemd's sd_notify: $want)"

# verify the unit as installed: ExecStart pointed into DESTDIR (verify checks
# the binary exists), man pages looked up in DESTDIR (verify runs man)
mkdir -p "$TMPD/unit"
sed "s|^ExecStart=|ExecStart=$ROOT|" "$ROOT/$unit" > "$TMPD/unit/dnsd.service"
man=$(dirname "$(dirname "$(printf '%s\n' "$files" | grep '/man8/dnsd.8$')")")
out=$(MANPATH="$ROOT/$man" systemd-analyze verify "$TMPD/unit/dnsd.service" 2>&1)
is "$?" 0 "systemd-analyze verify passes"
is "$out" "" "... and says nothing (no unknown key, no missing man page)"
ok 'for k in "ProtectSystem=strict" "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" "StateDirectory=dnsd" \
    "NoNewPrivileges=yes" "ExecReload=/bin/kill -HUP \$MAINPID" "RuntimeDirectory=dnsd"; do grep -qxF "$k" "$ROOT/$unit" || exit 1; done' \
    "hardening, ExecReload and RuntimeDirectory (the control socket's /run/dnsd) are in the unit"

# the installed dnsd with the installed example config answers (the store and
# listen address given on the command line: options override the file; so
# is the control socket, whose /run/dnsd the unit would make)
make_store example.test "$DATA/example.test.zone"
BUILT_DNSD=$DNSD
DNSD="$ROOT/${sbin#./}"
start_dnsd -c "$ROOT/${conf#./}" --control-socket "$TMPD/ctl.sock"
DNSD=$BUILT_DNSD
out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "the installed dnsd with the example config answers"
stop_dnsd

mk uninstall DESTDIR="$ROOT" >>"$TMPD/install.log" 2>&1
is "$?" 0 "make uninstall succeeds"
is "$(cd "$ROOT" && find . -type f)" "" "... and leaves no file"
