/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rev.c -- libFuzzer target for the rollout evidence parsers
 * (acme/rollout_ev.c): rev_parse_syslog() reads the datagrams anyone who
 * reaches dnsd's rollout-syslog-listen port sends, rev_parse_json() the
 * lines of the evidence socket. The first input byte picks the parser (even:
 * syslog, odd: JSON); the rest is the datagram or line, in a buffer of
 * exactly its size (so ASan sees any read past it). Checks what must hold
 * for any input:
 *  - the result is 0, 1 (syslog only: not a dnsd-tls line) or -1, and with
 *    -1 the reason is NUL-ended printable ASCII (it goes to dnsd's log);
 *  - an accepted sample has its strings NUL-ended inside their arrays and
 *    free of control bytes, a serial of upper-case hex only, a known
 *    protocol value, an address family of IPv4 or IPv6 with a port, the
 *    source of its parser, err empty exactly when ok, and input over
 *    REV_LINE_MAX bytes is never accepted;
 *  - a second parse of the same bytes gives the same answer.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus
 * (real HAProxy 2.6 lines captured with tools/haproxy-rollout.cfg).
 */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "acme/rollout_ev.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_text(const char *what, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap) {
        fz_fail("%s not NUL-ended", what);
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f) {
            fz_fail("%s holds byte 0x%02x at %zu", what, (unsigned char)s[i], i);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    bool json = data[0] & 1;
    size--;
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        abort();
    }
    memcpy(buf, data + 1, size);
    rev_sample_t s, s2;
    char why[160], why2[160];
    memset(why, 0x7f, sizeof(why));
    int rc = json ? rev_parse_json(buf, size, &s, why, sizeof(why))
                  : rev_parse_syslog(buf, size, &s, why, sizeof(why));
    int rc2 = json ? rev_parse_json(buf, size, &s2, why2, sizeof(why2))
                   : rev_parse_syslog(buf, size, &s2, why2, sizeof(why2));
    if (rc != rc2 || (rc == 0 && memcmp(&s, &s2, sizeof(s)) != 0)) {
        fz_fail("two parses of the same bytes differ");
    }
    if (rc == -1) {
        for (size_t i = 0, n = strnlen(why, sizeof(why)); i <= n; i++) {
            if (i == sizeof(why)) {
                fz_fail("reason not NUL-ended");
            }
            if (i < n && (why[i] < 0x20 || why[i] > 0x7e)) {
                fz_fail("reason holds byte 0x%02x", (unsigned char)why[i]);
            }
        }
        if (why[0] == '\0') {
            fz_fail("refused without a reason");
        }
    } else if (rc == 1) {
        if (json) {
            fz_fail("the JSON parser returned 1");
        }
    } else if (rc == 0) {
        if (size > REV_LINE_MAX) {
            fz_fail("accepted %zu bytes", size);
        }
        if (s.source != (json ? REV_SRC_JSON : REV_SRC_SYSLOG) &&
            !(json && s.source == REV_SRC_BEACON)) {
            fz_fail("source %d", s.source);
        }
        if (s.proto > REV_TLS13) {
            fz_fail("proto %d", s.proto);
        }
        if (s.t_ms != 0) {
            fz_fail("t_ms set by the parser");
        }
        if (s.lb.ss_family == AF_INET) {
            if (((struct sockaddr_in *)&s.lb)->sin_port == 0) {
                fz_fail("IPv4 address without a port");
            }
        } else if (s.lb.ss_family == AF_INET6) {
            if (((struct sockaddr_in6 *)&s.lb)->sin6_port == 0) {
                fz_fail("IPv6 address without a port");
            }
        } else {
            fz_fail("address family %d", s.lb.ss_family);
        }
        check_text("serial", s.serial, sizeof(s.serial));
        for (const char *c = s.serial; *c; c++) {
            if (!((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'F'))) {
                fz_fail("serial \"%s\" is not upper-case hex", s.serial);
            }
        }
        check_text("cipher", s.cipher, sizeof(s.cipher));
        check_text("err", s.err, sizeof(s.err));
        check_text("profile", s.profile, sizeof(s.profile));
        check_text("sni", s.sni, sizeof(s.sni));
        if (s.ok != (s.err[0] == '\0')) {
            fz_fail("ok=%d with err \"%s\"", s.ok, s.err);
        }
    } else {
        fz_fail("result %d", rc);
    }
    free(buf);
    return 0;
}
