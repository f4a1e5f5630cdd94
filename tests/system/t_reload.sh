#!/bin/sh
# t_reload.sh -- SIGHUP re-reads the config file (dnsd(8) SIGNALS): settings
# that can change at run time take effect at once (rate limiting on and
# off, the TCP idle timeout, the log level); settings that need a restart
# (workers, listen) are reported as such and keep their value; command-line
# options still win over the file; a file with an error is reported with
# FILE:LINE and changes nothing; a geo database added by a reload decides
# the next answer, one that does not load refuses the whole reload; the
# server answers throughout.
. "$top_srcdir/tests/system/lib.sh"
need dig
need_dnspython
plan 28
make_store example.test "$DATA/example.test.zone"
dnsctl region add eu --continent EU >/dev/null
dnsctl record add example.test --region eu 'geo 300 IN A 192.0.2.101' >/dev/null
dnsctl record add example.test 'geo 300 IN A 192.0.2.100' >/dev/null
GEO=${GEO_DIR:-$top_srcdir/tests/data/geo}
CONF=$TMPD/dnsd.conf
LOG=$TMPD/dnsd.log

# conf WORKERS LISTEN EXTRA...: write the config file
conf() {
    w=$1 l=$2
    shift 2
    {
        echo "# t_reload"
        echo "store $STORE"
        echo "listen $l"
        echo "port-file $TMPD/port"
        echo "workers $w"
        echo "udp-payload 1300"
        echo "stats-file $TMPD/stats"
        for line in "$@"; do echo "$line"; done
    } >"$CONF"
}
# hup TEXT: SIGHUP, then wait (5 s at most) for TEXT in the log after it
hup() {
    n=$(wc -l <"$LOG")
    kill -HUP "$DNSD_PID"
    i=0
    while ! tail -n +$((n + 1)) "$LOG" | grep -q -- "$1" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    NEW=$(tail -n +$((n + 1)) "$LOG")
}
burst() { set -- $(dnsq rrl --wait 0.3 "$@"); A=$4 S=$6 D=$8; }

conf 2 127.0.0.1:0 "tcp-idle-timeout 30" "log-level info" "rrl-rate 0"
start_dnsd_raw "$TMPD/port" -c "$CONF" --udp-payload 1400
port0=$PORT
burst www.example.test A --n 40
is "$A" 40 "rate limiting off: a burst of 40 answered in full"

# on: rrl-rate 5, idle timeout 1; workers and listen need a restart
conf 3 127.0.0.1:1 "tcp-idle-timeout 1" "log-level info" "rrl-rate 5" "udp-payload 1350"
hup "config reloaded"
like "$NEW" 'config reloaded from .*dnsd.conf: 2 settings changed, 2 kept until restart' \
    "SIGHUP: reloaded, the changes counted (udp-payload is not one: the command line sets it)"
like "$NEW" 'config reload: rrl-rate 0 -> 5' "the log names the change: rrl-rate 0 -> 5"
like "$NEW" 'config reload: tcp-idle-timeout 30 -> 1' "the log names the change: tcp-idle-timeout 30 -> 1"
like "$NEW" 'workers changed \(2 -> 3\): needs restart; keeping 2' "workers: needs restart, kept"
like "$NEW" 'listen changed: needs restart' "listen: needs restart, kept"
burst mail.example.test A --n 40
ok '[ "$A" -le 8 ] && [ "$S" -ge 10 ] && [ "$D" -ge 10 ]' \
    "rate limiting on: a burst of 40 limited ($A answered, $S slipped, $D dropped)"
out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "still answering on the same port ($port0)"
is "$(dig_edns "$out")" "version: 0, flags:; udp: 1400" "--udp-payload 1400 on the command line still wins over the file"
out=$(dnsq idle --wait 5)
t=$(field "$out" closed)
ok '[ -n "$t" ] && [ "${t%.*}" -lt 3 ]' "tcp-idle-timeout 1 in force: an idle connection closed (${t:-never})"
is "$(ls /proc/"$DNSD_PID"/task | wc -l)" 10 "still 2 workers (+ the main, ACME, 4 transfer-out, transfer-in and update threads)"

# a broken file: FILE:LINE in the log, nothing changes
conf 2 127.0.0.1:0 "tcp-idle-timeout 30" "rrl-rate lots"
hup "keeping the running configuration"
like "$NEW" "config reload: $CONF:9: rrl-rate: \"lots\" is not a number" "broken file: FILE:LINE and the reason logged"
like "$NEW" 'keeping the running configuration' "broken file: the running configuration kept"
burst ns1.example.test A --n 40
ok '[ "$A" -le 8 ] && [ "$((S + D))" -ge 25 ]' "broken file: rate limiting still on ($A answered)"
out=$(dnsq idle --wait 5)
t=$(field "$out" closed)
ok '[ -n "$t" ] && [ "${t%.*}" -lt 3 ]' "broken file: idle timeout still 1 (${t:-never})"
out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "broken file: still answering"

# off again, and log-level warning: info lines stop
conf 2 127.0.0.1:0 "tcp-idle-timeout 30" "log-level warning" "rrl-rate 0"
hup "log-level info -> warning"
like "$NEW" 'config reload: log-level info -> warning' "log-level change logged (at warning)"
unlike "$NEW" 'config reloaded from' "log-level warning: the info summary line is not written"
burst www.example.test AAAA --n 40
is "$A" 40 "rate limiting off again: a burst of 40 answered in full"
rm -f "$TMPD/stats"
n=$(wc -l <"$LOG")
kill -USR1 "$DNSD_PID"
i=0
while [ ! -s "$TMPD/stats" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
ok '[ -s "$TMPD/stats" ]' "SIGUSR1 after the reload: the stats file is written"
is "$(tail -n +$((n + 1)) "$LOG" | grep -c 'info: stats:')" 0 "log-level warning: the info stats line is not logged"

# geo-database is live too (MaxMind's test DB: 81.2.69.142 is in GB, EU)
if [ -f "$GEO/GeoIP2-City-Test.mmdb" ]; then
    cp "$GEO/GeoIP2-City-Test.mmdb" "$TMPD/geo.mmdb"
    printf 'not a MaxMind DB\n' >"$TMPD/bad.mmdb"
    geo() { q geo.example.test A +subnet=81.2.69.142/32 +short; }
    is "$(geo)" 192.0.2.100 "no geo-database yet: a GB client gets the default answer"
    conf 2 127.0.0.1:0 "log-level info" "geo-database $TMPD/geo.mmdb" "rrl-rate 0"
    hup "config reloaded"
    like "$NEW" "geo \(config reloaded\): 1 regions" "geo-database added by a reload: loaded"
    is "$(geo)" 192.0.2.101 "... and the next GB client gets the eu answer"
    conf 2 127.0.0.1:0 "log-level info" "geo-database $TMPD/bad.mmdb" "rrl-rate 7"
    hup "keeping the running configuration"
    like "$NEW" "config reload: geo-database: .*bad.mmdb.*keeping the running configuration" \
        "a geo-database that does not load: the whole reload refused"
    is "$(geo)/$(grep -c 'rrl-rate 0 -> 7' "$LOG")" "192.0.2.101/0" \
        "... the old DB still answers, and rrl-rate from the same file was not applied"
else
    [ "${REQUIRE_ALL:-0}" = 1 ] && { echo "Bail out! $GEO missing"; exit 1; }
    skip 5 "geo test data not found in $GEO"
fi

# without -c there is nothing to re-read
stop_dnsd
start_dnsd
hup "nothing to re-read"
like "$NEW" 'started without a config file \(-c\): nothing to re-read' "no -c: SIGHUP says so"
out=$(q www.example.test A)
is "$(dig_status "$out")" NOERROR "no -c: still answering after SIGHUP"
