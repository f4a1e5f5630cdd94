/* SPDX-License-Identifier: MIT */
/*
 * t_rollout_ev.c -- the evidence parsers of acme/rollout_ev.h: HAProxy's
 * dnsd-tls lines as HAProxy 2.6 sent them (captured from a real run of
 * tools/haproxy-rollout.cfg, RFC 5424 and RFC 3164 framing), every field,
 * quoting, truncation, garbage and over-long lines; the JSON line of the
 * evidence socket; the protocol names.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "acme/rollout_ev.h"
#include "tests/tap.h"

/* real datagrams (HAProxy 2.6.12, Debian 12), as received on the syslog port */
static const char L5424_OK[] =
    "<134>1 2026-12-08T02:28:03.327779+00:00 - haproxy 19600 - - dnsd-tls v=1 fe=127.0.0.1:24443 "
    "ok=1 proto=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 resumed=0 hs_ms=3 "
    "serial=7C9D908B7DB5DB6D4ECBEFC9213BCE1DFE3409FE sni=www.example.test err=- errstr=-\n";
static const char L3164_FAIL[] =
    "<134>Dec  8 02:28:34 localhost haproxy[21484]: dnsd-tls v=1 fe=127.0.0.1:24443 ok=0 "
    "proto=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 resumed=0 hs_ms=163 "
    "serial=7C9D908B7DB5DB6D4ECBEFC9213BCE1DFE3409FE sni=www.example.test err=34/000000000A000418 "
    "errstr=\"error:0A000418:SSL routines::tlsv1 alert unknown ca\" fcerrstr=\"SSL handshake "
    "failure\"\n";
static const char L3164_NOCIPHER[] =
    "<134>Dec  8 02:28:34 localhost haproxy[21484]: dnsd-tls v=1 fe=127.0.0.1:24443 ok=0 "
    "proto=TLSv1.2 cipher=(NONE) resumed=0 hs_ms=0 serial=7C9D908B7DB5DB6D4ECBEFC9213BCE1DFE3409FE "
    "sni=- err=34/000000000A0000C1 errstr=\"error:0A0000C1:SSL routines::no shared cipher\" "
    "fcerrstr=\"SSL handshake failure\"\n";

static int sys(const char *s, rev_sample_t *o, char *why)
{
    return rev_parse_syslog(s, strlen(s), o, why, 200);
}

static int js(const char *s, rev_sample_t *o, char *why)
{
    return rev_parse_json(s, strlen(s), o, why, 200);
}

static unsigned port_of(const rev_sample_t *o)
{
    return o->lb.ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)&o->lb)->sin_port)
                                      : ntohs(((const struct sockaddr_in6 *)&o->lb)->sin6_port);
}

static const char *addr_of(const rev_sample_t *o)
{
    static char b[INET6_ADDRSTRLEN];
    const void *a = o->lb.ss_family == AF_INET
                        ? (const void *)&((const struct sockaddr_in *)&o->lb)->sin_addr
                        : (const void *)&((const struct sockaddr_in6 *)&o->lb)->sin6_addr;
    return inet_ntop(o->lb.ss_family, a, b, sizeof(b)) ? b : "?";
}

/* a syslog line that must be refused with a reason containing @p piece */
static void bad_sys(const char *name, const char *line, const char *piece)
{
    rev_sample_t o;
    char why[200] = "";
    int rc = sys(line, &o, why);
    is_int(rc, -1, "syslog refused: %s", name);
    ok(strstr(why, piece) != NULL, "... naming it (%s)", why);
}

static void bad_js(const char *name, const char *line, const char *piece)
{
    rev_sample_t o;
    char why[200] = "";
    int rc = js(line, &o, why);
    is_int(rc, -1, "JSON refused: %s", name);
    ok(strstr(why, piece) != NULL, "... naming it (%s)", why);
}

int main(void)
{
    rev_sample_t o;
    char why[200];

    /* ---- syslog: real lines ---- */
    is_int(sys(L5424_OK, &o, why), 0, "RFC 5424 completed handshake");
    is_int(o.source, REV_SRC_SYSLOG, "... source syslog");
    is_int(o.lb.ss_family, AF_INET, "... fe IPv4");
    is_str(addr_of(&o), "127.0.0.1", "... fe address");
    is_int(port_of(&o), 24443, "... fe port");
    ok(o.ok && !o.resumed, "... ok=1 resumed=0");
    is_int(o.proto, REV_TLS13, "... TLSv1.3");
    is_str(o.cipher, "TLS_AES_256_GCM_SHA384", "... cipher");
    is_int(o.hs_us, 3000, "... hs_ms=3 -> 3000 us");
    is_str(o.serial, "7C9D908B7DB5DB6D4ECBEFC9213BCE1DFE3409FE", "... serial");
    is_str(o.sni, "www.example.test", "... sni");
    is_str(o.err, "", "... no error when ok");
    is_int(o.t_ms, 0, "... t_ms left to the ingester");

    is_int(sys(L3164_FAIL, &o, why), 0, "RFC 3164 failed handshake");
    ok(!o.ok, "... ok=0");
    is_int(o.hs_us, 163000, "... hs_ms");
    is_str(o.err, "tlsv1 alert unknown ca", "... err: OpenSSL's reason from the quoted errstr");
    is_int(sys(L3164_NOCIPHER, &o, why), 0, "no shared cipher");
    is_str(o.cipher, "", "... cipher (NONE) -> empty");
    is_str(o.sni, "", "... sni - -> empty");
    is_int(o.proto, REV_TLS12, "... TLSv1.2");
    is_str(o.err, "no shared cipher", "... err");

    /* ---- framing variants ---- */
    is_int(sys("<134>Dec  8 02:28:34 haproxy[1]: dnsd-tls fe=192.0.2.1:443 ok=1", &o, why), 0,
           "3164 without host name");
    is_int(sys("<14>haproxy[1]: dnsd-tls fe=192.0.2.1:443 ok=1", &o, why), 0, "3164 without timestamp");
    is_int(sys("<14>dnsd-tls fe=192.0.2.1:443 ok=1", &o, why), 0, "3164 without tag");
    is_int(sys("<134>1 2026-12-08T02:28:03Z h haproxy 1 - [x@1 a=\"b]\\\"c\"][y@2] dnsd-tls "
               "fe=192.0.2.1:443 ok=1",
               &o, why),
           0, "5424 with structured data (quoted ']' and '\"' inside)");
    is_int(sys("<134>1 2026-12-08T02:28:03Z h haproxy 1 - - \xEF\xBB\xBF" "dnsd-tls fe=192.0.2.1:443 ok=1",
               &o, why),
           0, "5424 with a BOM");
    is_int(sys("<134>1 2026-12-08T02:28:03Z h haproxy 1 - - dnsd-tls fe=192.0.2.1:443 ok=1\r\n\0", &o,
               why),
           0, "trailing CR LF");
    is_int(sys("<134>Dec  8 02:28:34 lb haproxy[2]: Proxy fe started.", &o, why), 1,
           "another message: 1 (ignored)");
    is_int(sys("<134>1 2026-12-08T02:28:03Z h haproxy 1 - - dnsd-tlsx fe=1.2.3.4:1 ok=1", &o, why), 1,
           "a word that only starts like the magic: ignored");

    /* ---- fields ---- */
    is_int(sys("<14>dnsd-tls ok=1 fe=[2001:db8::1]:8443 v=1", &o, why), 0, "any order, [v6]:port");
    ok(o.lb.ss_family == AF_INET6 && port_of(&o) == 8443, "... IPv6 port 8443");
    is_str(addr_of(&o), "2001:db8::1", "... address");
    is_int(sys("<14>dnsd-tls fe=::1:443 ok=1", &o, why), 0, "HAProxy's %%fi:%%fp for IPv6");
    is_str(addr_of(&o), "::1", "... the last ':' starts the port");
    is_int(port_of(&o), 443, "... port");
    is_int(sys("<14>dnsd-tls fe=::ffff:192.0.2.7:443 ok=1", &o, why), 0, "a v4-mapped address");
    ok(o.lb.ss_family == AF_INET && port_of(&o) == 443, "... read as IPv4");
    is_str(addr_of(&o), "192.0.2.7", "... the IPv4 address");
    is_int(js("{\"lb\":\"[::ffff:192.0.2.7]:8443\",\"ok\":true}", &o, why), 0, "JSON: a v4-mapped lb");
    ok(o.lb.ss_family == AF_INET && port_of(&o) == 8443, "... read as IPv4");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=1 future=x resumed=1 hs_ms=12.5 serial=0a:1b", &o, why),
           0, "unknown key ignored");
    ok(o.resumed, "... resumed=1");
    is_int(o.hs_us, 12500, "... fractional ms");
    is_str(o.serial, "0A1B", "... serial upper-cased, colons dropped");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=1 serial=abc", &o, why), 0, "an odd number of digits");
    is_str(o.serial, "0ABC", "... padded to whole bytes (as BN_bn2hex)");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=1 serial=00000A1B", &o, why), 0, "leading zero bytes");
    is_str(o.serial, "0A1B", "... dropped (as BN_bn2hex)");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=1 serial=0000", &o, why), 0, "serial 0");
    is_str(o.serial, "00", "... one zero byte");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=1 hs_ms=-1 proto=- cipher=-", &o, why), 0,
           "HAProxy's -1 and '-' placeholders");
    ok(o.hs_us == 0 && o.proto == REV_TLS_UNKNOWN && o.cipher[0] == '\0', "... unknown");
    is_int(sys("<134>1 2026-12-08T02:32:26.146464+00:00 - haproxy 30838 - - dnsd-tls v=1 "
               "fe=127.0.0.1:24443 ok=0 proto=TLSv1.3 cipher=(NONE) resumed=0 hs_ms=6 serial=- sni=- "
               "err=24/0000000000000000 errstr=\"\" fcerrstr=\"Connection closed during SSL "
               "handshake\"\n",
               &o, why),
           1, "a failure without a serial (a TCP connect and close, real line): ignored");
    is_int(sys("<134>1 2026-12-08T02:32:25.938641+00:00 - haproxy 30838 - - dnsd-tls v=1 "
               "fe=127.0.0.1:24443 ok=1 proto=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 resumed=0 hs_ms=0 "
               "serial=7C9D908B7DB5DB6D4ECBEFC9213BCE1DFE3409FE sni=www.example.test "
               "err=0/0000000000000000 errstr=\"\" fcerrstr=\"Success\"\n",
               &o, why),
           0, "the error-log line of a handshake without a request (fc_err 0: ok=1)");
    ok(o.ok && o.err[0] == '\0', "... ok, no err");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=0 serial=01 err=34/0A errstr=- fcerrstr=\"SSL handshake "
               "failure\"",
               &o, why),
           0, "no OpenSSL text: HAProxy's");
    is_str(o.err, "SSL handshake failure", "... err");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=0 serial=01 errstr=\"error:0A:lib::\"", &o, why), 0,
           "an OpenSSL error string without a reason");
    is_str(o.err, "error:0A:lib::", "... kept whole");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=0 serial=01 err=34/0A", &o, why), 0, "only codes");
    is_str(o.err, "34/0A", "... err is the codes");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=0 serial=01", &o, why), 0, "failure without any text");
    is_str(o.err, "handshake failed", "... a generic err");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=0 serial=01 errstr=\"say \\\"no\\\" \\\\ \"", &o, why), 0,
           "escaped quotes inside errstr");
    is_str(o.err, "say \"no\" \\ ", "... unescaped");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=0 serial=01 errstr=\"a \"quoted\" word\" sni=x", &o, why), 0,
           "bare quotes inside (HAProxy's +Q does not escape)");
    is_str(o.err, "a \"quoted\" word", "... kept");
    is_str(o.sni, "x", "... and the next token read");
    char longsni[600];
    snprintf(longsni, sizeof(longsni), "<14>dnsd-tls fe=192.0.2.9:443 ok=1 sni=%0300d", 7);
    is_int(sys(longsni, &o, why), 0, "an over-long sni");
    is_int((long long)strlen(o.sni), (long long)sizeof(o.sni) - 1, "... truncated to fit");
    is_int(sys("<14>dnsd-tls fe=192.0.2.9:443 ok=1 cipher=A\x01" "B", &o, why), 0, "control byte");
    is_str(o.cipher, "A?B", "... replaced");

    /* ---- refused ---- */
    bad_sys("empty", "", "priority");
    bad_sys("no priority", "dnsd-tls fe=1.2.3.4:1 ok=1", "priority");
    bad_sys("priority 192", "<192>dnsd-tls fe=1.2.3.4:1 ok=1", "priority");
    bad_sys("priority unclosed", "<1345", "priority");
    bad_sys("5424 cut short", "<134>1 2026-12-08T02:28:03Z host", "cut short");
    bad_sys("5424 SD unclosed", "<134>1 t h a p m [x@1 a=\"b\" dnsd-tls", "not closed");
    bad_sys("5424 SD junk", "<134>1 t h a p m junk dnsd-tls fe=1.2.3.4:1 ok=1", "structured data");
    bad_sys("no fe", "<14>dnsd-tls ok=1 proto=TLSv1.3", "without fe=");
    bad_sys("no ok", "<14>dnsd-tls fe=192.0.2.1:443", "without ok=");
    bad_sys("fe without port", "<14>dnsd-tls fe=192.0.2.1 ok=1", "fe=192.0.2.1");
    bad_sys("fe [v6] without port", "<14>dnsd-tls fe=[::1] ok=1", "fe=[::1]");
    bad_sys("fe port 0", "<14>dnsd-tls fe=192.0.2.1:0 ok=1", "ADDRESS:PORT");
    bad_sys("fe name", "<14>dnsd-tls fe=lb.example:443 ok=1", "ADDRESS:PORT");
    bad_sys("fe v6 garbage", "<14>dnsd-tls fe=2001:zz::1:443 ok=1", "ADDRESS:PORT");
    bad_sys("ok=yes", "<14>dnsd-tls fe=192.0.2.1:443 ok=yes", "ok=yes");
    bad_sys("v=2", "<14>dnsd-tls v=2 fe=192.0.2.1:443 ok=1", "v=2");
    bad_sys("hs_ms text", "<14>dnsd-tls fe=192.0.2.1:443 ok=1 hs_ms=fast", "hs_ms=fast");
    bad_sys("hs_ms huge", "<14>dnsd-tls fe=192.0.2.1:443 ok=1 hs_ms=99999999", "hs_ms");
    bad_sys("serial not hex", "<14>dnsd-tls fe=192.0.2.1:443 ok=1 serial=XYZ", "serial=XYZ");
    bad_sys("bare word", "<14>dnsd-tls fe=192.0.2.1:443 ok=1 junk", "\"junk\" is not key=value");
    bad_sys("empty key", "<14>dnsd-tls =1 fe=192.0.2.1:443 ok=1", "not key=value");
    bad_sys("quote not closed (truncated line)",
            "<14>dnsd-tls fe=192.0.2.1:443 ok=0 errstr=\"error:0A000418:SSL rout", "not closed");
    char big[REV_LINE_MAX + 64];
    memset(big, 'a', sizeof(big));
    memcpy(big, "<14>dnsd-tls fe=192.0.2.1:443 ok=1 x=", 37);
    is_int(rev_parse_syslog(big, REV_LINE_MAX, &o, why, sizeof(why)), 0,
           "a datagram of REV_LINE_MAX bytes is read");
    is_int(rev_parse_syslog(big, REV_LINE_MAX + 1, &o, why, sizeof(why)), -1, "one byte more is refused");
    ok(strstr(why, "longer than") != NULL, "... as too long (%s)", why);
    /* every cut of a real line: parsed, ignored or refused, never read past */
    int cuts_ok = 1;
    for (size_t n = 0; n < sizeof(L3164_FAIL) - 1; n++) {
        char w[200];
        int rc = rev_parse_syslog(L3164_FAIL, n, &o, w, sizeof(w));
        if (rc < -1 || rc > 1 || (rc == -1 && w[0] == '\0')) {
            cuts_ok = 0;
        }
    }
    ok(cuts_ok, "every truncation of a real line gives 0, 1 or -1 with a reason");
    /* the reason is printable even when it quotes garbage */
    is_int(sys("<14>dnsd-tls fe=1\x02\x03:44 ok=1", &o, why), -1, "garbage in fe");
    ok(strchr(why, '\x02') == NULL, "... the reason holds no control byte (%s)", why);
    char tiny[8];
    memset(tiny, 'x', sizeof(tiny));
    rev_parse_syslog("nope", 4, &o, tiny, 5);
    ok(tiny[4] == '\0' && tiny[5] == 'x', "the reason is cut to the buffer given");

    /* ---- JSON lines ---- */
    is_int(js("{\"lb\": \"192.0.2.1:443\", \"ok\": false, \"serial\": \"0a1b\", \"proto\": \"TLSv1.2\", "
              "\"cipher\": \"ECDHE-RSA-AES128-GCM-SHA256\", \"resumed\": true, \"hs_ms\": 12.5, "
              "\"error\": \"certificate verify failed\", \"profile\": \"android-7\", \"source\": "
              "\"beacon\", \"sni\": \"www.example.test\"}\n",
              &o, why),
           0, "the documented example, every field");
    is_int(o.source, REV_SRC_BEACON, "... source beacon");
    ok(!o.ok && o.resumed, "... ok false, resumed true");
    is_str(addr_of(&o), "192.0.2.1", "... lb");
    is_int(port_of(&o), 443, "... port");
    is_str(o.serial, "0A1B", "... serial upper case");
    is_int(o.proto, REV_TLS12, "... proto");
    is_str(o.cipher, "ECDHE-RSA-AES128-GCM-SHA256", "... cipher");
    is_int(o.hs_us, 12500, "... hs_ms");
    is_str(o.err, "certificate verify failed", "... error");
    is_str(o.profile, "android-7", "... profile");
    is_str(o.sni, "www.example.test", "... sni");
    is_int(js("{\"lb\":\"2001:db8::5\",\"ok\":true}", &o, why), 0, "minimal, bare IPv6 lb");
    ok(o.source == REV_SRC_JSON && o.ok && port_of(&o) == 443 && o.lb.ss_family == AF_INET6,
       "... source json, default port 443");
    is_int(js("{\"lb\":\"192.0.2.1\",\"ok\":false,\"source\":\"lb\",\"hs_ms\":null}", &o, why), 0,
           "ok false without error text; source lb");
    is_str(o.err, "handshake failed", "... a generic err");
    is_int(js("{\"lb\":\"192.0.2.1\",\"ok\":false,\"error\":\"error:0A000086:SSL routines::certificate "
              "verify failed\"}",
              &o, why),
           0, "an OpenSSL error string");
    is_str(o.err, "certificate verify failed", "... its reason");
    bad_js("not JSON", "lb=1", "not JSON");
    bad_js("array", "[1]", "not a JSON object");
    bad_js("two objects", "{\"lb\":\"192.0.2.1\",\"ok\":true} {}", "not JSON");
    bad_js("no lb", "{\"ok\":true}", "no \"lb\"");
    bad_js("lb a name", "{\"lb\":\"lb.example\",\"ok\":true}", "\"lb\": \"lb.example\"");
    bad_js("lb a number", "{\"lb\":1,\"ok\":true}", "must be strings");
    bad_js("no ok", "{\"lb\":\"192.0.2.1\"}", "\"ok\"");
    bad_js("ok a number", "{\"lb\":\"192.0.2.1\",\"ok\":1}", "\"ok\"");
    bad_js("resumed text", "{\"lb\":\"192.0.2.1\",\"ok\":true,\"resumed\":\"yes\"}", "resumed");
    bad_js("hs_ms negative", "{\"lb\":\"192.0.2.1\",\"ok\":true,\"hs_ms\":-1}", "hs_ms");
    bad_js("hs_ms text", "{\"lb\":\"192.0.2.1\",\"ok\":true,\"hs_ms\":\"5\"}", "hs_ms");
    bad_js("serial not hex", "{\"lb\":\"192.0.2.1\",\"ok\":true,\"serial\":\"zz\"}", "serial");
    bad_js("unknown source", "{\"lb\":\"192.0.2.1\",\"ok\":true,\"source\":\"probe\"}", "source");
    bad_js("duplicate key", "{\"lb\":\"192.0.2.1\",\"ok\":true,\"ok\":false}", "not JSON");
    bad_js("truncated", "{\"lb\":\"192.0.2.1\",\"ok\":tr", "not JSON");
    char jbig[REV_LINE_MAX + 64];
    int n = snprintf(jbig, sizeof(jbig), "{\"lb\":\"192.0.2.1\",\"ok\":true,\"x\":\"");
    memset(jbig + n, 'a', sizeof(jbig) - (size_t)n);
    memcpy(jbig + REV_LINE_MAX - 2, "\"}", 2);
    is_int(rev_parse_json(jbig, REV_LINE_MAX, &o, why, sizeof(why)), 0, "a JSON line of REV_LINE_MAX bytes");
    is_int(rev_parse_json(jbig, REV_LINE_MAX + 1, &o, why, sizeof(why)), -1, "one byte more is refused");
    ok(strstr(why, "longer than") != NULL, "... as too long (%s)", why);

    /* ---- protocol names ---- */
    is_int(rev_proto_parse("TLSv1.3"), REV_TLS13, "TLSv1.3");
    is_int(rev_proto_parse("1.2"), REV_TLS12, "1.2");
    is_int(rev_proto_parse("TLS1.1"), REV_TLS11, "TLS1.1");
    is_int(rev_proto_parse("TLSv1"), REV_TLS10, "TLSv1 (OpenSSL's name of 1.0)");
    is_int(rev_proto_parse("SSLv3"), REV_TLS_UNKNOWN, "SSLv3 unknown");
    is_int(rev_proto_parse(NULL), REV_TLS_UNKNOWN, "NULL unknown");
    is_str(rev_proto_name(REV_TLS12), "TLSv1.2", "name of 1.2");
    is_str(rev_proto_name(99), "unknown", "name of anything else");
    return done_testing();
}
