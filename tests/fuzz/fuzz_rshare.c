/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rshare.c -- libFuzzer target for the evidence batches nodes read
 * from etcd (acme/rollout_share.c, rsh_decode): another node wrote them, or
 * anyone who can write to etcd. The input is the value, in a buffer of
 * exactly its size. Checks what must hold for any input:
 *  - the result is 0 or -1; with -1 the reason is NUL-ended printable
 *    ASCII (it goes to dnsd's log) and no sample is left;
 *  - an accepted batch has at most RSH_MAX samples, a positive epoch, an
 *    upper-case hex candidate, seq strictly increasing, pool 0|1, a known
 *    protocol and source, an upper-case hex serial, err empty exactly when
 *    ok and free of control bytes; input over RSH_VALUE_MAX is refused;
 *  - encoding an accepted batch and decoding that gives the same batch.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "acme/rollout_share.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static rsh_batch_t b, b2;

static void check_hex(const char *what, const char *s, size_t cap)
{
    if (strnlen(s, cap) == cap) {
        fz_fail("%s not NUL-ended", what);
    }
    for (const char *c = s; *c; c++) {
        if (!((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'F'))) {
            fz_fail("%s \"%s\" is not upper-case hex", what, s);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        abort();
    }
    memcpy(buf, data, size);
    char why[160];
    memset(why, 0x7f, sizeof(why));
    int rc = rsh_decode(buf, size, &b, why, sizeof(why));
    if (rc == -1) {
        for (size_t i = 0, n = strnlen(why, sizeof(why)); i <= n; i++) {
            if (i == sizeof(why)) {
                fz_fail("reason not NUL-ended");
            }
            if (i < n && (why[i] < 0x20 || why[i] > 0x7e)) {
                fz_fail("reason holds byte 0x%02x", (unsigned char)why[i]);
            }
        }
        if (why[0] == '\0' || b.n != 0) {
            fz_fail("refused without a reason, or with samples left");
        }
    } else if (rc == 0) {
        if (size > RSH_VALUE_MAX || b.n > RSH_MAX || b.epoch == 0 || !b.cand[0]) {
            fz_fail("accepted: %zu bytes, %zu samples, epoch %llu", size, b.n,
                    (unsigned long long)b.epoch);
        }
        check_hex("cand", b.cand, sizeof(b.cand));
        uint64_t last = 0;
        for (size_t i = 0; i < b.n; i++) {
            const rsh_entry_t *e = &b.e[i];
            if (e->seq <= last || e->pool > 1 || e->s.proto > REV_TLS13 || e->s.source < REV_SRC_SYSLOG ||
                e->s.source > REV_SRC_PROBE) {
                fz_fail("sample %zu out of range", i);
            }
            last = e->seq;
            check_hex("serial", e->s.serial, sizeof(e->s.serial));
            if (strnlen(e->s.err, sizeof(e->s.err)) == sizeof(e->s.err) ||
                e->s.ok != (e->s.err[0] == 0)) {
                fz_fail("sample %zu: ok=%d with err", i, e->s.ok);
            }
            for (const char *c = e->s.err; *c; c++) {
                if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f) {
                    fz_fail("sample %zu: err holds byte 0x%02x", i, (unsigned char)*c);
                }
            }
        }
        size_t len = 0;
        char *t = rsh_encode(&b, &len);
        if (!t || rsh_decode(t, len, &b2, why, sizeof(why)) != 0) {
            fz_fail("the re-encoded batch does not decode: %s", why);
        }
        if (b2.n != b.n || b2.epoch != b.epoch || strcmp(b2.cand, b.cand) != 0 ||
            (b.n && memcmp(b.e, b2.e, b.n * sizeof(b.e[0])) != 0)) {
            fz_fail("the round trip changed the batch");
        }
        free(t);
    } else {
        fz_fail("result %d", rc);
    }
    free(buf);
    return 0;
}
