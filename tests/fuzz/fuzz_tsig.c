/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tsig.c -- libFuzzer target for TSIG parsing and verification
 * (zones/tsig.c): the input is a DNS message, as a server (a transfer
 * thread, the update thread) and a client (xfrin) receive it. Two keys are
 * known (hmac-sha256 and hmac-sha1); the clock is fixed at the time the
 * seeds were signed (make_seeds.py). Checks what must hold for any input:
 *
 *  - tsig_verify_request() returns 0, a TSIG error (BADKEY, BADSIG,
 *    BADTIME, BADTRUNC), DNSD_EMALFORMED or DNSD_ENOTFOUND, nothing else;
 *    it agrees with tsig_find() (found iff not DNSD_ENOTFOUND/EMALFORMED,
 *    and then at the offset the verifier cut the message at);
 *  - a TSIG error gets an answer (tsig_answer_error()) that is a message
 *    carrying a TSIG RR with that error, unsigned for BADKEY/BADSIG;
 *  - a verified request: the signed response to it, read back by a client
 *    holding the request's MAC (tsig_verify_response()), verifies, and so
 *    does a second, chained one;
 *  - read as a response by a client, the input gives an allowed result.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "zones/base/err.h"
#include "zones/schema.h"
#include "zones/tsig.h"

#define NOW 1700000000u /* make_seeds.py signs its seeds at this time */

static tsig_key_t keys[2];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    diag_t d = {0};
    /* the keys make_seeds.py signs with */
    if (tsig_key_parse("fuzz-key.example.", "hmac-sha256",
                       "ZnV6ei1rZXktc2VjcmV0LWhtYWMtc2hhMjU2LWZ1eno=", &keys[0], &d) != 0 ||
        tsig_key_parse("fuzz-sha1.example.", "hmac-sha1", "ZnV6ei1zaGExLXNlY3JldC0yMGI=", &keys[1],
                       &d) != 0) {
        fz_fail("key setup: %s", d.text);
    }
    return 0;
}

static int lookup(const uint8_t *name, void *arg, tsig_key_t *out)
{
    (void)arg;
    for (size_t i = 0; i < 2; i++) {
        if (dname_eq(keys[i].name, name)) {
            *out = keys[i];
            return 0;
        }
    }
    return DNSD_ENOTFOUND;
}

static bool tsig_error_ok(int e)
{
    return e == TSIG_BADKEY || e == TSIG_BADSIG || e == TSIG_BADTIME || e == TSIG_BADTRUNC;
}

/* the Error field and MAC size of the TSIG RR ending @p m */
static void rr_fields(const uint8_t *m, size_t len, unsigned *error, unsigned *mac_size)
{
    size_t off = 0;
    if (!tsig_find(m, len, &off)) {
        fz_fail("answer without a TSIG RR");
    }
    int nl = dname_wire_len(m + off, len - off);
    if (nl < 0) {
        fz_fail("answer's TSIG owner is not an uncompressed name");
    }
    size_t o = off + (size_t)nl + 10;
    int al = dname_wire_len(m + o, len - o);
    if (al < 0 || len - o < (size_t)al + 16) {
        fz_fail("answer's TSIG rdata is short");
    }
    o += (size_t)al + 8;
    *mac_size = zs_get16(m + o);
    o += 2 + *mac_size;
    *error = zs_get16(m + o + 2);
}

/* sign a response to the verified request and read it back as the client */
static void round_trip(const tsig_ctx_t *server, const uint8_t *req, size_t cut)
{
    tsig_ctx_t s = *server, c;
    s.mac = NULL; /* its own OpenSSL context */
    tsig_ctx_init(&c);
    c.key = s.key;
    c.have_key = true;
    c.is_client = true;
    c.orig_id = s.orig_id;
    memcpy(c.prior, s.prior, s.prior_len);
    c.prior_len = s.prior_len;
    static uint8_t buf[65536 + 1024];
    for (int i = 0; i < 2; i++) {
        /* the request as its own answer: header, sections, minus the TSIG RR */
        memcpy(buf, req, cut);
        buf[2] |= 0x80;
        zs_put16(buf + 10, (uint16_t)(zs_get16(buf + 10) - 1));
        size_t len = cut;
        int err = tsig_sign_response(&s, buf, &len, sizeof(buf), NOW, 0);
        if (err) {
            fz_fail("signing the answer to a verified request: %d", err);
        }
        size_t wo = 0;
        err = tsig_verify_response(&c, buf, len, NOW, &wo);
        if (err != 0 || wo != cut || !tsig_ctx_complete(&c)) {
            fz_fail("answer %d to a verified request does not verify: %d", i, err);
        }
    }
    tsig_ctx_fini(&s);
    tsig_ctx_fini(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65535) {
        return 0;
    }
    tsig_ctx_t ctx;
    tsig_ctx_init(&ctx);
    size_t cut = 0, off = 0;
    int e = tsig_verify_request(data, size, lookup, NULL, NOW, &ctx, &cut);
    bool found = tsig_find(data, size, &off);
    if (e != 0 && !tsig_error_ok(e) && e != DNSD_EMALFORMED && e != DNSD_ENOTFOUND) {
        fz_fail("tsig_verify_request returned %d", e);
    }
    if (e == DNSD_ENOTFOUND && found) {
        fz_fail("tsig_find found a TSIG RR the verifier did not");
    }
    if ((e == 0 || tsig_error_ok(e)) && (!found || off != cut)) {
        fz_fail("verifier cut at %zu, tsig_find says %s %zu", cut, found ? "at" : "none", off);
    }
    if (tsig_error_ok(e)) {
        static uint8_t ans[1024];
        size_t alen = 0;
        int err = tsig_answer_error(&ctx, data, size, ans, &alen, sizeof(ans), NOW, e);
        if (err) {
            fz_fail("no answer for TSIG error %d: %d", e, err);
        }
        unsigned error = 0, mac_size = 0;
        rr_fields(ans, alen, &error, &mac_size);
        if ((int)error != e || (ans[3] & 0xf) != TSIG_RCODE_NOTAUTH) {
            fz_fail("answer carries error %u rcode %u, want %d NOTAUTH", error, ans[3] & 0xfu, e);
        }
        if ((e == TSIG_BADKEY || e == TSIG_BADSIG) != (mac_size == 0)) {
            fz_fail("answer to %d has a MAC of %u bytes", e, mac_size);
        }
    }
    if (e == 0) {
        round_trip(&ctx, data, cut);
    }
    tsig_ctx_fini(&ctx);

    /* the input as the first answer to a request of ours */
    tsig_ctx_t c;
    tsig_ctx_init(&c);
    uint8_t q[512] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l',
                      'e', 4,    't',  'e', 's', 't', 0, 0, 252, 0, 1};
    size_t qlen = 30;
    if (tsig_sign_request(&c, &keys[0], q, &qlen, sizeof(q), NOW) != 0) {
        fz_fail("signing a request");
    }
    size_t wo = 0;
    e = tsig_verify_response(&c, data, size, NOW, &wo);
    if (e != 0 && !tsig_error_ok(e) && e != DNSD_EMALFORMED && e != TSIG_NOERROR &&
        !(c.peer_error && e == c.peer_error)) {
        fz_fail("tsig_verify_response returned %d", e);
    }
    tsig_ctx_fini(&c);
    return 0;
}
