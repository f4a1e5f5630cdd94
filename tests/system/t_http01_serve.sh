#!/bin/sh
# t_http01_serve.sh -- dnsd's HTTP-01 endpoint (http01-listen, dnsd/httpd.c)
# with real curl: GET and HEAD of /.well-known/acme-challenge/TOKEN answer
# the key authorization stored for TOKEN (written by tests/system/http01_rec
# exactly as the ACME worker writes it), 200 text/plain, byte for byte; the
# answer is logged with a token prefix and never the key authorization.
# Everything else is 404: unknown or removed tokens, a record that is not
# the token's key authorization, traversal (raw and percent-escaped), a
# percent-escaped token that would decode to a stored one, a query string,
# wrong lengths, extra segments, other paths. Other methods get 405 with
# Allow. An oversized request is refused and the endpoint keeps answering;
# beyond 64 open connections a new one waits until one closes.
# Off by default (no http01 line in the port file); a bad address is a
# config error naming the setting; SIGHUP keeps the bound endpoint (a change
# of http01-listen needs a restart) and reports no spurious change.
. "$top_srcdir/tests/system/lib.sh"
need curl
REC=$top_builddir/tests/system/http01_rec
[ -x "$REC" ] || { echo "Bail out! tests/system/http01_rec not built"; exit 1; }
plan 44

TOK=LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
THUMB=9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
KA=$TOK.$THUMB
TOK2=evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA
P=/.well-known/acme-challenge

make_store example.test "$DATA/example.test.zone"

# off by default: no HTTP listener, no http01 line
start_dnsd
is "$(grep -c '^http01 ' "$TMPD/port")" 0 "without http01-listen: no http01 line in the port file"
k=0 # the endpoint would have started before the ACME thread
while ! grep -q 'certificate worker started' "$TMPD/dnsd.log" && [ $k -lt 200 ]; do
    sleep 0.05
    k=$((k + 1))
done
unlike "$(cat "$TMPD/dnsd.log")" 'http01: serving' "without http01-listen: no HTTP endpoint"
stop_dnsd

start_dnsd --http01-listen 127.0.0.1:0
HP=$(sed -n 's/^http01 //p' "$TMPD/port")
ok '[ -n "$HP" ] && [ "$HP" -gt 0 ]' "the port file names the HTTP-01 port ($HP)"
# the socket listens before the port file is written; the server thread
# starts a moment later (requests wait in the backlog), then logs
k=0
while ! grep -q 'http01: serving' "$TMPD/dnsd.log" && [ $k -lt 200 ]; do sleep 0.05; k=$((k + 1)); done
like "$(cat "$TMPD/dnsd.log")" "http01: serving $P/ on 127.0.0.1:0 \\(port $HP\\)" "logged: serving"
U=http://127.0.0.1:$HP

# code PATH [CURL ARGS...]: the status curl gets for PATH (sent as given)
code() {
    _p=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 --path-as-is "$@" "$U$_p"
}

is "$(code "$P/$TOK")" 404 "unknown token: 404"
"$REC" "$STORE" put "$TOK" "$KA" www >"$TMPD/rec.out" 2>&1
is "$?" 0 "a key authorization stored for the token"
body=$(curl -s --max-time 5 -D "$TMPD/h1" "$U$P/$TOK")
is "$body" "$KA" "GET: the exact key authorization"
like "$(cat "$TMPD/h1")" '^HTTP/1\.1 200' "GET: 200"
like "$(cat "$TMPD/h1")" '^Content-Type: text/plain' "GET: text/plain"
is "$(curl -s --max-time 5 "$U$P/$TOK" | wc -c)" "${#KA}" "GET: nothing but the key authorization (no newline)"
like "$(cat "$TMPD/dnsd.log")" "http01: answered GET for token ${TOK%"${TOK#????????}"}\\.\\.\\. to 127\\.0\\.0\\.1" \
    "logged: the answer, with a token prefix"
unlike "$(cat "$TMPD/dnsd.log")" "$THUMB" "never logged: the key authorization"
curl -s --max-time 5 -I "$U$P/$TOK" >"$TMPD/h2"
like "$(cat "$TMPD/h2")" '^HTTP/1\.1 200' "HEAD: 200"
like "$(cat "$TMPD/h2")" "^Content-Length: ${#KA}" "HEAD: the length of the key authorization, no body"

# bad input: nothing but the exact challenge path is served
is "$(code "$P/../../../etc/passwd")" 404 "traversal out of the directory: 404"
is "$(code "$P/$TOK/../$TOK")" 404 "traversal after the token: 404"
is "$(code "$P/%2e%2e/%2e%2e/etc/passwd")" 404 "percent-escaped traversal: 404"
is "$(code "$P/%4C${TOK#L}")" 404 "a percent-escaped letter that decodes to the stored token: 404"
is "$(code "$P/$TOK?x=1")" 404 "the token with a query string: 404"
is "$(code "$P/$TOK/")" 404 "the token and a trailing slash: 404"
is "$(code "$P/$TOK/x")" 404 "an extra segment: 404"
is "$(code "$P/${TOK%?????????????????????}")" 404 "a token of 22 characters (a prefix of the stored one): 404"
is "$(code "$P/aaaaaaaaaaaaaaaaaaaaa")" 404 "a token of 21 characters (too short): 404"
long=$(printf '%0129d' 0 | tr 0 A)
is "$(code "$P/$long")" 404 "a token of 129 characters (too long): 404"
is "$(code "$P/")" 404 "the directory: 404"
is "$(code "/")" 404 "the root: 404"
is "$(code "/metrics")" 404 "another path: 404"
is "$(code "//.well-known/acme-challenge/$TOK")" 404 "a double leading slash: 404"
for m in POST PUT DELETE; do
    is "$(code "$P/$TOK" -X $m)" 405 "$m: 405"
done
like "$(curl -s --max-time 5 -o /dev/null -D - -X POST -d x=1 "$U$P/$TOK")" '^Allow: GET, HEAD' \
    "405 says Allow: GET, HEAD"
big=$(printf '%020000d' 0)
c=$(code "$P/$TOK" -H "X-Big: $big")
ok '[ "$c" != 200 ]' "a 20 KB request header is refused ($c)"
is "$(curl -s --max-time 5 "$U$P/$TOK")" "$KA" "and the endpoint still answers"

# at most 64 connections at once (HTTPD_MAX_CONNECTIONS): with 64 idle ones
# open, a 65th waits in the backlog; when one closes, it is served
held=$(/usr/bin/python3 - "$HP" "$P/$TOK" <<'PY'
import select, socket, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(64)]
extra = socket.create_connection(("127.0.0.1", port), timeout=5)
extra.sendall(("GET %s HTTP/1.0\r\n\r\n" % path).encode())
r, _, _ = select.select([extra], [], [], 1.5)
print("waited" if not r else "answered")
idle[0].close()
end, got = time.time() + 8, b""
while time.time() < end and b"\r\n" not in got:
    r, _, _ = select.select([extra], [], [], 0.5)
    if r:
        d = extra.recv(100)
        if not d:
            break
        got += d
print(got.split(b"\r\n")[0].decode(errors="replace") or "nothing")
PY
)
is "$(echo "$held" | sed -n 1p)" waited "64 connections open: the 65th waits"
like "$(echo "$held" | sed -n 2p)" '^HTTP/1\.1 200' "one closes: the 65th is served"

# a record that is not this token's key authorization is never served
"$REC" "$STORE" raw "$TOK2" "{\"keyauth\":\"$KA\",\"cert\":\"www\"}"
is "$(code "$P/$TOK2")" 404 "a record holding another token's key authorization: 404"
like "$(cat "$TMPD/dnsd.log")" 'http01: the record of token evaGxfAD\.\.\. is not a key authorization' \
    "logged: the bad record, by token prefix"

# removed when the order ends: gone at once
"$REC" "$STORE" del "$TOK"
is "$(code "$P/$TOK")" 404 "the record removed: 404"
stop_dnsd

# SIGHUP: the bound endpoint is not a settings change; a changed
# http01-listen needs a restart and the running endpoint stays
cat >"$TMPD/h.conf" <<CONF
store $STORE
listen 127.0.0.1:0
port-file $TMPD/port
workers 1
http01-listen 127.0.0.1:0
CONF
start_dnsd_raw "$TMPD/port" -c "$TMPD/h.conf"
HP=$(sed -n 's/^http01 //p' "$TMPD/port")
U=http://127.0.0.1:$HP
"$REC" "$STORE" put "$TOK" "$KA" www
# reloaded N: wait (bounded) until the log has N "config reloaded" lines
reloaded() {
    _k=0
    while [ "$(grep -c 'config reloaded' "$TMPD/dnsd.log")" -lt "$1" ] && [ $_k -lt 100 ]; do
        sleep 0.05
        _k=$((_k + 1))
    done
}
kill -HUP "$DNSD_PID"
reloaded 1
like "$(cat "$TMPD/dnsd.log")" 'config reloaded from .*: 0 settings changed, 0 kept until restart' \
    "SIGHUP, nothing edited: no setting changed (the bound HTTP-01 addresses are not settings)"
echo "http01-listen 127.0.0.1:1" >>"$TMPD/h.conf"
kill -HUP "$DNSD_PID"
reloaded 2
like "$(cat "$TMPD/dnsd.log")" 'http01-listen changed: needs restart; keeping the 1 address bound' \
    "SIGHUP, http01-listen edited: needs a restart, said so"
is "$(curl -s --max-time 5 "$U$P/$TOK")" "$KA" "and the running endpoint still answers"
stop_dnsd

# a bad address is a config error naming the setting
"$DNSD" --store "$STORE" --listen 127.0.0.1:0 --http01-listen 'not-an-address' >/dev/null 2>"$TMPD/err"
rc=$?
ok '[ $rc -eq 2 ]' "--http01-listen not-an-address: exit 2 (rc $rc)"
like "$(cat "$TMPD/err")" 'http01-listen: "not-an-address" is not an address' "and says why"
