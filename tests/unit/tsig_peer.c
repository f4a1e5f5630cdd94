/* SPDX-License-Identifier: MIT */
/*
 * tsig_peer.c -- our TSIG (zones/tsig.c) as a line-oriented peer, so that an
 * independent implementation (dnspython, tests/system/tsig_interop.py) can
 * talk to it: messages go in and out as hex, one per line. Test code, run
 * by tests/system/t_tsig_interop.sh; not installed.
 *
 *   tsig_peer server NAME ALG B64 N   read a request; print "verify CODE";
 *                                     then N chained signed answers (CODE 0)
 *                                     or the error answer (a TSIG error)
 *   tsig_peer client NAME ALG B64     print a signed AXFR request; then for
 *                                     each answer read print "verify CODE
 *                                     SIGNED"; at the end "complete 0|1"
 * $TSIG_PEER_SKEW (seconds) is added to this peer's clock; with
 * $TSIG_PEER_SIGN_WRONG set, answers are signed with a changed secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zones/base/err.h"
#include "zones/schema.h"
#include "zones/tsig.h"

#define MSG_MAX 65535

static tsig_key_t key;

static int lookup(const uint8_t *name, void *arg, tsig_key_t *out)
{
    (void)arg;
    if (!dname_eq(name, key.name)) {
        return DNSD_ENOTFOUND;
    }
    *out = key;
    return 0;
}

static uint64_t now(void)
{
    const char *s = getenv("TSIG_PEER_SKEW");
    return (uint64_t)((long long)time(NULL) + (s ? atoll(s) : 0));
}

static void put_hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf("%02x", b[i]);
    }
    printf("\n");
    fflush(stdout);
}

/* one hex line from stdin; its length, or -1 at the end */
static long get_hex(uint8_t *b)
{
    static char line[2 * MSG_MAX + 16];
    if (!fgets(line, sizeof(line), stdin)) {
        return -1;
    }
    size_t n = 0;
    for (const char *p = line; p[0] && p[1] && p[0] != '\n' && n < MSG_MAX; p += 2) {
        unsigned v;
        if (sscanf(p, "%2x", &v) != 1) {
            return -1;
        }
        b[n++] = (uint8_t)v;
    }
    return (long)n;
}

static int server(unsigned n)
{
    static uint8_t req[MSG_MAX], buf[MSG_MAX + 1024];
    long rl = get_hex(req);
    if (rl < 0) {
        return 2;
    }
    tsig_ctx_t ctx;
    tsig_ctx_init(&ctx);
    size_t cut = 0, len = 0;
    uint64_t t = now();
    int e = tsig_verify_request(req, (size_t)rl, lookup, NULL, t, &ctx, &cut);
    printf("verify %d\n", e);
    if (e > 0) {
        if (tsig_answer_error(&ctx, req, (size_t)rl, buf, &len, sizeof(buf), t, e) != 0) {
            return 1;
        }
        put_hex(buf, len);
    }
    if (e == 0 && getenv("TSIG_PEER_SIGN_WRONG")) {
        ctx.key.secret[0] ^= 1; /* answers signed with another secret: the peer must object */
    }
    for (unsigned i = 0; e == 0 && i < n; i++) {
        /* the question, answered with one A record (its last byte the message number) */
        memcpy(buf, req, cut);
        buf[2] |= 0x84; /* QR, AA */
        zs_put16(buf + 6, 1);
        zs_put16(buf + 8, 0);
        zs_put16(buf + 10, 0);
        int ql = dname_wire_len(buf + 12, cut - 12);
        if (ql < 0) {
            return 1;
        }
        len = 12 + (size_t)ql + 4;
        static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 0};
        memcpy(buf + len, rr, sizeof(rr));
        len += sizeof(rr);
        buf[len - 1] = (uint8_t)(i + 1);
        if (tsig_sign_response(&ctx, buf, &len, sizeof(buf), t, 0) != 0) {
            return 1;
        }
        put_hex(buf, len);
    }
    tsig_ctx_fini(&ctx);
    return 0;
}

static int client(void)
{
    static uint8_t buf[MSG_MAX + 1024];
    static const uint8_t q[] = {0x4a, 0x11, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm',
                                'p',  'l',  'e', 4, 't', 'e', 's', 't', 0, 0, 252, 0, 1};
    memcpy(buf, q, sizeof(q));
    size_t len = sizeof(q);
    tsig_ctx_t ctx;
    tsig_ctx_init(&ctx);
    if (tsig_sign_request(&ctx, &key, buf, &len, sizeof(buf), now()) != 0) {
        return 1;
    }
    put_hex(buf, len);
    long n;
    while ((n = get_hex(buf)) >= 0) {
        size_t wo = 0;
        int e = tsig_verify_response(&ctx, buf, (size_t)n, now(), &wo);
        printf("verify %d %d\n", e, ctx.last_signed ? 1 : 0);
        fflush(stdout);
    }
    printf("complete %d\n", tsig_ctx_complete(&ctx) ? 1 : 0);
    tsig_ctx_fini(&ctx);
    return 0;
}

int main(int argc, char **argv)
{
    diag_t d = {0};
    if (argc < 5 || tsig_key_parse(argv[2], argv[3], argv[4], &key, &d) != 0) {
        fprintf(stderr, "usage: tsig_peer server|client NAME ALG B64 [N] (%s)\n", d.text);
        return 2;
    }
    if (strcmp(argv[1], "server") == 0 && argc == 6) {
        return server((unsigned)atoi(argv[5]));
    }
    if (strcmp(argv[1], "client") == 0) {
        return client();
    }
    fprintf(stderr, "usage: tsig_peer server|client NAME ALG B64 [N]\n");
    return 2;
}
