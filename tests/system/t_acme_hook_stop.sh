#!/bin/sh
# t_acme_hook_stop.sh -- defect 8: SIGTERM while a deploy hook runs. dnsd
# used to wait for the hook (up to deploy-timeout, 60 s here); now it kills
# the hook's process group after a short grace and exits, and the
# deployment, still pending in the store, runs again at the next start.
# The bound on the exit below (15 s) is a generous behaviour check, far
# under deploy-timeout, not a benchmark.
. "$top_srcdir/tests/system/lib.sh"
. "$top_srcdir/tests/system/lib_acme.sh"
need_acme
plan 9

acme_store acme.test
P=$(free_udp_tcp_port)
start_pebble "$P"
# first run: the hook hangs (with a background child); later runs: it succeeds
cat >"$TMPD/hook.sh" <<EOF2
#!/bin/sh
echo "\$DNSD_CERT_SERIAL" >>"$TMPD/runs"
if [ ! -e "$TMPD/hung" ]; then
    : >"$TMPD/hung"
    sleep 300 &
    echo \$! >"$TMPD/child.pid"
    sleep 300
fi
exit 0
EOF2
chmod +x "$TMPD/hook.sh"
acme_conf "$TMPD/dnsd.conf" "acme-directory $PEBBLE_DIR_URL" "deploy-hook $TMPD/hook.sh" \
    "deploy-timeout 60"
run_dnsd() {
    start_dnsd_raw "$TMPD/port" --store "$STORE" --listen "127.0.0.1:$P" --port-file "$TMPD/port" \
        --workers 1 -c "$TMPD/dnsd.conf"
}
run_dnsd
dnsctl cert request stop.acme.test >/dev/null
ok 'i=0; while [ ! -s "$TMPD/child.pid" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; [ -s "$TMPD/child.pid" ]' \
    "certificate issued, the hook hangs"
child=$(cat "$TMPD/child.pid")
is "$(cert_field stop.acme.test deploy.pending)" True "the deployment is pending in the store"
kill -TERM "$DNSD_PID"
i=0
while kill -0 "$DNSD_PID" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
ok '! kill -0 "$DNSD_PID" 2>/dev/null' "dnsd exits on SIGTERM while the hook runs (deploy-timeout 60 s)"
stop_dnsd
ok 'i=0; while kill -0 "$child" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; ! kill -0 "$child" 2>/dev/null' \
    "the hook's process group was killed (its background child too)"
kill "$child" 2>/dev/null
like "$(cat "$TMPD/dnsd.log")" 'deploy hook killed \(process group\): dnsd is stopping' "the log says why"
is "$(cert_field stop.acme.test deploy.pending)" True "still pending after the stop"

run_dnsd
ok 'wait_cert stop.acme.test deploy.ok True 30' "the next start deploys again, the hook succeeds"
is "$(wc -l <"$TMPD/runs" | tr -d ' ')" 2 "the hook ran twice: cut short, then again"
like "$(dnsctl cert show stop.acme.test)" 'deployment: +ok at .*deploy hook: exit 0' "cert show: ok"
