#!/bin/sh
# t_cluster_config.sh -- the cluster settings and key file are checked before
# dnsd does anything (no etcd needed): a bad cluster-* line names FILE:LINE,
# cluster-etcd without a key file and a damaged key file are refused with a
# message naming the file (and its line), dnsd never gets to listen; and the
# dnsctl cluster commands refuse what they cannot do (keygen over an existing
# file, status of a store that is no cluster node).
. "$top_srcdir/tests/system/lib.sh"
plan 18
make_store example.test "$DATA/example.test.zone"

refused() { # refused CONF-FILE WANT-IN-STDERR DESCRIPTION
    rm -f "$TMPD/port"
    timeout 10 ${DNSD_WRAPPER:-} "$DNSD" -c "$1" >"$TMPD/out" 2>"$TMPD/err"
    rc=$?
    ok "[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ ! -s '$TMPD/port' ]" "$3: refused at once, never listening (rc $rc)"
    like "$(cat "$TMPD/err")" "$2" "$3: says \"$2\""
}
conf() { # conf FILE LINES...: a config with the store, a listener and LINES
    _f=$1
    shift
    { printf 'store %s\nlisten 127.0.0.1:0\nport-file %s\n' "$STORE" "$TMPD/port"
      for l in "$@"; do printf '%s\n' "$l"; done; } >"$_f"
}

ok "'$DNSCTL' cluster keygen '$TMPD/k' --id first >'$TMPD/kg.out' 2>&1" "dnsctl cluster keygen writes a key file"
ok "[ \"\$(stat -c %a '$TMPD/k')\" = 600 ]" "... mode 0600"
ok "grep -Eq '^first [A-Za-z0-9+/]{43}=\$' '$TMPD/k'" "... one line: the id and 32 bytes of base64"
ok "! '$DNSCTL' cluster keygen '$TMPD/k' >'$TMPD/kg2.out' 2>&1 && grep -q 'File exists' '$TMPD/kg2.out'" \
    "keygen never overwrites an existing file"
ok "! '$DNSCTL' cluster keygen '$TMPD/k2' --id 'bad id' >/dev/null 2>&1" "keygen refuses a bad key id"

conf "$TMPD/c1.conf" "cluster-etcd http://127.0.0.1:1"
refused "$TMPD/c1.conf" "cluster-etcd needs cluster-key-file" "cluster-etcd without a key file"
conf "$TMPD/c2.conf" "cluster-etcd ftp://127.0.0.1:1"
refused "$TMPD/c2.conf" "c2.conf:4: cluster-etcd: \"ftp://127.0.0.1:1\" is not an http:// or https:// URL" "an ftp:// etcd URL"
conf "$TMPD/c3.conf" "cluster-prefix dnsd"
refused "$TMPD/c3.conf" "c3.conf:4: cluster-prefix: \"dnsd\" must start and end with '/'" "a prefix without slashes"
conf "$TMPD/c4.conf" "cluster-node bad/name"
refused "$TMPD/c4.conf" "c4.conf:4: cluster-node" "a node name with a slash"
printf '# a key file\nk1 c2hvcnQ=\n' >"$TMPD/bad.key"
chmod 600 "$TMPD/bad.key"
conf "$TMPD/c5.conf" "cluster-etcd http://127.0.0.1:1" "cluster-key-file $TMPD/bad.key"
refused "$TMPD/c5.conf" "bad.key:2: key \"k1\": not 32 bytes of base64" "a key file with a short key"
conf "$TMPD/c6.conf" "cluster-etcd http://127.0.0.1:1" "cluster-key-file $TMPD/none.key"
refused "$TMPD/c6.conf" "none.key: cannot open the cluster key file" "a missing key file"

ok "! '$DNSCTL' --store '$STORE' cluster status >'$TMPD/st.out' 2>&1 && grep -q 'is not a cluster node' '$TMPD/st.out'" \
    "cluster status of a standalone store says it is no cluster node"
