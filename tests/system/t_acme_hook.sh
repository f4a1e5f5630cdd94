#!/bin/sh
# t_acme_hook.sh -- deploy hooks as processes (defects 7 and 16): a hook
# runs in a process group of its own with every signal at its default
# disposition and none blocked (dnsd ignores SIGPIPE and its threads block
# every signal); a hook that times out is killed with its whole group (a
# child it left in the background goes too); a hook exiting 3 is logged
# each time and shown by `cert show` and `shard status` (dnsd's main loop
# used to reap hooks first, so the ACME thread's waitpid got ECHILD and
# said nothing).
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 18

acme_store acme.test
dnsctl region add eu --cidr 10.1.0.0/16 >/dev/null
# the hook does what $TMPD/mode says
cat >"$TMPD/hook.sh" <<EOF2
#!/bin/sh
mode=\$(cat "$TMPD/mode")
echo "\$DNSD_CERT_ID\$DNSD_SHARD_DOMAIN" >>"$TMPD/runs"
case \$mode in
signals)
    grep -E '^Sig(Ign|Blk):' /proc/self/status >"$TMPD/sig.tmp"
    # /bin/sh -c (the spawned process) is our parent: it leads the group
    echo "pgrp \$(cut -d' ' -f5 /proc/\$\$/stat) ppid \$(cut -d' ' -f4 /proc/\$\$/stat)" >>"$TMPD/sig.tmp"
    mv "$TMPD/sig.tmp" "$TMPD/sig" ;;
fail) exit 3 ;;
hang)
    sleep 300 &
    echo \$! >"$TMPD/child.pid"
    sleep 300 ;;
esac
exit 0
EOF2
chmod +x "$TMPD/hook.sh"
acme_conf "$TMPD/dnsd.conf" "deploy-hook $TMPD/hook.sh" "deploy-timeout 3"
start_dnsd -c "$TMPD/dnsd.conf"
start_pebble "$PORT"

# ---- signals and process group ----
echo signals >"$TMPD/mode"
like "$(dnsctl cert request sig.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)" 'issued' \
    "certificate issued, hook runs"
ok 'i=0; while [ ! -s "$TMPD/sig" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; [ -s "$TMPD/sig" ]' \
    "the hook reported its signal state"
# SIGPIPE is signal 13: bit 12 (0x1000) of SigIgn
ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "$TMPD/sig")
is "$(( 0x$ign & 0x1000 ))" 0 "SIGPIPE is not ignored in the hook (SigIgn $ign)"
# glibc keeps its two internal real-time signals (32, 33) to itself
is "$(( 0x$ign & 0x7fffffff ))" 0 "no standard signal is ignored in the hook"
is "$(sed -n 's/^SigBlk:[[:space:]]*//p' "$TMPD/sig")" 0000000000000000 "no signal is blocked in the hook"
like "$(tail -n 1 "$TMPD/sig")" '^pgrp ([0-9]+) ppid \1$' "the hook leads a process group of its own"
dnsd_pgrp=$(cut -d' ' -f5 "/proc/$DNSD_PID/stat")
unlike "$(tail -n 1 "$TMPD/sig")" "^pgrp $dnsd_pgrp " "not dnsd's process group ($dnsd_pgrp)"

# ---- failing hooks: each logged, shown ----
echo fail >"$TMPD/mode"
for n in f1 f2 f3; do
    dnsctl cert request $n.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 >/dev/null 2>&1
done
ok 'i=0; while [ "$(grep -c "deploy hook failed: exit 3" "$TMPD/dnsd.log")" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; [ $i -lt 100 ]' \
    "three hooks exiting 3: three log lines saying so"
for n in f1 f2 f3; do
    grep -q "acme: $n.acme.test: deploy hook failed: exit 3" "$TMPD/dnsd.log" || diag "no log line for $n"
done
ok 'i=0; while ! dnsctl cert show f3.acme.test | grep -q "^deployment: *FAILED"; do [ $i -lt 50 ] || break; sleep 0.1; i=$((i+1)); done; [ $i -lt 50 ]' \
    "cert show waits for the deployment outcome"
like "$(dnsctl cert show f1.acme.test)" 'deployment: +FAILED at .*deploy hook: exit 3' \
    "cert show: the deployment failed, hook exit 3"
is "$(cert_field f2.acme.test deploy.hook)" "deploy hook: exit 3" "cert show --json: deploy.hook"
like "$(dnsctl cert show sig.acme.test)" 'deployment: +ok at .*deploy hook: exit 0' \
    "cert show: a good deployment says ok"
# a relative --hook (as in the README: tools/haproxy-deploy from the checkout)
# is made absolute by `shard add`: dnsd runs hooks in its own directory
like "$(cd "$TMPD" && dnsctl shard add acme.test --region eu --names www.acme.test --lb 127.0.0.1:1 \
    --hook "./hook.sh" --ca "$PEBBLE_DIR_URL" --wait 60 2>&1)" 'issued' "shard issued"
is "$(dnsctl shard show acme.test --region eu --json | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["hook"])')" \
    "$(cd "$TMPD" && pwd -P)/hook.sh" "the relative --hook was stored as an absolute path"
ok 'i=0; while ! dnsctl shard status | grep -q "region hook: exit 3"; do [ $i -lt 50 ] || break; sleep 0.1; i=$((i+1)); done; [ $i -lt 50 ]' \
    "shard status shows the failed region hook"
diag "$(dnsctl shard status)"

# ---- timeout: the whole group goes ----
echo hang >"$TMPD/mode"
dnsctl cert request hang.acme.test --ca "$PEBBLE_DIR_URL" --wait 60 >/dev/null 2>&1
ok 'i=0; while ! grep -q "hang.acme.test: deploy hook failed: killed after 3 s" "$TMPD/dnsd.log" && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done; [ $i -lt 150 ]' \
    "the hook is killed after deploy-timeout"
child=$(cat "$TMPD/child.pid" 2>/dev/null)
ok '[ -n "$child" ] && i=0 && while kill -0 "$child" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; ! kill -0 "$child" 2>/dev/null' \
    "the hook's background child ($child) was killed with its group"
[ -n "$child" ] && kill "$child" 2>/dev/null
like "$(dnsctl cert show hang.acme.test)" 'deployment: +FAILED .*killed after 3 s' "cert show: the timeout"
