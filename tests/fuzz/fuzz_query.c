/* SPDX-License-Identifier: MIT */
/*
 * fuzz_query.c -- libFuzzer target for the query path: query_parse() and
 * answer_query() over UDP and TCP limits against the test store
 * (tests/testzone.c). Checks what must hold for any input: a reply is
 * within the size limit, echoes the query id, never answers a response, and
 * is a well-formed DNS message (fz_check_response(): counts, names,
 * compression pointers, RR lengths); and with a buffer smaller than any
 * reply, nothing is written past the size the caller passed. The zone
 * example.test is signed (tz_sign) and answered with an online signer, so
 * DO=1 inputs (the "-do" seeds) run the DNSSEC paths: RRSIGs, compact
 * denial, wildcard covers, cuts (dnssec_online.c).
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsd/answer.h"
#include "dnsd/dnssec_online.h"
#include "dnsd/pkt.h"
#include "dnsd/query.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/testzone.h"

static zs_store_t *store;
static zr_t rd;
static answer_ctx_t actx;
static uint8_t out[65536];

static void cleanup(void)
{
    don_free(actx.don);
    zr_fini(&rd);
    zs_close(store);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    store = tz_build(fz_tmpdir("query")); /* removed at exit, after cleanup() */
    zd_key_t key;
    tz_sign(store, "example.test.", ZD_ALG_ECDSAP256SHA256, &key, true);
    actx.don = don_new();
    if (zr_init(&rd, store) != 0 || !actx.don) {
        abort();
    }
    actx.rd = &rd;
    actx.udp_max = ANSWER_UDP_MAX_DEFAULT;
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    query_t q;
    qp_result_t r = query_parse(data, size, &q);
    for (int tcp = 0; tcp < 2; tcp++) {
        actx.rd_ok = zr_begin(&rd) == 0;
        size_t len = answer_query(&actx, data, size, out, tcp ? ANSWER_TCP_MAX : 4096, tcp, NULL);
        zr_end(&rd);
        if (len == 0) {
            if (r != QP_DROP) {
                abort(); /* only unanswerable input goes unanswered */
            }
            continue;
        }
        if (r == QP_DROP || len < DNS_HDR_LEN || get16(out) != get16(data) ||
            !(out[2] & 0x80) || (!tcp && len > 4096)) {
            abort();
        }
        const char *why = fz_check_response(out, len);
        if (why) {
            fz_fail("reply of %zu bytes%s: %s", len, tcp ? " over TCP" : "", why);
        }
        size_t lim = q.edns ? (q.edns_udp < 1232 ? q.edns_udp : 1232) : 512;
        if (!tcp && !(out[2] & 0x02) && len > lim) {
            abort(); /* a UDP reply over the client's limit must have been truncated */
        }
    }
    /* a caller's buffer smaller than any reply (0..127 bytes, from the
     * input): nothing is written at or past it, and what is is well formed */
    size_t cap = size ? data[size - 1] % 128u : 0;
    memset(out + cap, 0xA5, 64);
    actx.rd_ok = zr_begin(&rd) == 0;
    size_t len = answer_query(&actx, data, size, out, cap, false, NULL);
    zr_end(&rd);
    for (size_t i = cap; i < cap + 64; i++) {
        if (out[i] != 0xA5) {
            fz_fail("wrote past a %zu-byte buffer (at %zu)", cap, i);
        }
    }
    if (len > cap || (len == 0 && cap >= DNS_HDR_LEN && r != QP_DROP)) {
        fz_fail("reply of %zu bytes for a %zu-byte buffer", len, cap);
    }
    if (len > 0) {
        const char *why = fz_check_response(out, len);
        if (why) {
            fz_fail("reply of %zu bytes in a %zu-byte buffer: %s", len, cap, why);
        }
    }
    return 0;
}
