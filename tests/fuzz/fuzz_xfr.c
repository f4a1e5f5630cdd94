/* SPDX-License-Identifier: MIT */
/*
 * fuzz_xfr.c -- libFuzzer target for transfer requests: xfr_query_parse()
 * (zones/xfr.c) on any bytes, and for every request it accepts, the whole
 * answer xfr_out_begin()/xfr_out_next() make from the test store
 * (tests/testzone.c), with a message cap taken from the input. Invariants:
 * a parsed qname is a valid wire name; an IXFR has a serial; every message
 * is within its cap, echoes the id, has QR set, and is a well-formed DNS
 * message (fz_check_response()); the first message carries the question,
 * the others none; the stream ends within a bounded number of messages.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/rrtype.h"
#include "zones/xfr.h"

static zs_store_t *store;
static uint8_t out[XFR_MSG_MAX];

static void cleanup(void)
{
    zs_close(store);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    store = tz_build(fz_tmpdir("xfr")); /* removed at exit, after cleanup() */
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xfr_query_t q;
    int err = xfr_query_parse(data, size, &q);
    if (err == DNSD_ENOTFOUND || err == DNSD_EMALFORMED) {
        return 0;
    }
    if (err != 0) {
        fz_fail("parse returned %d", err);
    }
    if (dname_wire_len(q.qname, q.qname_len) != (int)q.qname_len ||
        (q.qtype != DNS_T_AXFR && q.qtype != DNS_T_IXFR) ||
        (q.qtype == DNS_T_IXFR && !q.has_serial)) {
        fz_fail("accepted request with a bad name, type or no serial");
    }
    size_t elen = 0;
    if (xfr_error_msg(&q, 5, out, sizeof(out), &elen) != 0 || fz_check_response(out, elen)) {
        fz_fail("error answer malformed");
    }
    /* the last input byte picks the transport and the cap */
    uint8_t sel = data[size - 1];
    q.udp = sel & 1;
    size_t cap = XFR_MSG_MIN + (size_t)(sel >> 1) * 257u;
    MDB_txn *txn;
    xfr_out_t x;
    if (zs_read_begin(store, &txn) != 0) {
        abort();
    }
    err = xfr_out_begin(&x, store, txn, &q);
    for (unsigned i = 0; err == 0 && i < 10000; i++) {
        size_t len = 0;
        int rc = xfr_out_next(&x, out, cap, &len);
        if (rc < 0) {
            if (rc != DNSD_ELIMIT) {
                fz_fail("next returned %d", rc);
            }
            break;
        }
        const char *why = fz_check_response(out, len);
        if (len > cap || why || zs_get16(out) != q.id || !(out[2] & 0x80) ||
            zs_get16(out + 4) != (i == 0 ? 1 : 0)) {
            fz_fail("message %u of %zu bytes (cap %zu): %s", i, len, cap, why ? why : "header");
        }
        if (rc == 1) {
            break;
        }
        if (i == 9999) {
            fz_fail("no end after 10000 messages");
        }
    }
    if (err != 0 && err != DNSD_ENOZONE && err != DNSD_EMALFORMED && err != -ENOTSUP) {
        fz_fail("begin returned %d", err);
    }
    xfr_out_fini(&x);
    zs_read_end(store, txn);
    return 0;
}
