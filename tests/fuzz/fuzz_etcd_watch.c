/* SPDX-License-Identifier: MIT */
/*
 * fuzz_etcd_watch.c -- libFuzzer target for the etcd watch stream parser
 * (zones/etcd.c: etcd_wparse_feed, what dnsd reads from etcd's /v3/watch).
 * The first byte seeds the chunking, the rest is the stream. Checks what
 * must hold for any input:
 *  - the result is 0, the callback's value, DNSD_ERANGE (with a compact
 *    revision > 0), DNSD_ENET or DNSD_EMALFORMED, and a non-0 result has
 *    a message;
 *  - every callback gets sane events: n == 0 with no array, or n events of
 *    type 0/1 whose key and value are allocated and NUL-terminated;
 *  - the chunking does not matter: the stream fed whole gives the same
 *    result, the same callbacks and the same events (a running checksum);
 *  - a parser that returned non-0 keeps returning it and calls nothing more.
 * The callback ends the watch (returns 42) at an event whose key starts
 * with '!'. Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "zones/base/err.h"
#include "zones/etcd.h"

#define INPUT_MAX (256 << 10)

typedef struct seen {
    unsigned calls, events;
    uint64_t sum; /* over everything the callback was given, in order */
} seen_t;

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001b3ull;
}

static int on_events(void *arg, const etcd_event_t *ev, size_t n, int64_t header_rev)
{
    seen_t *s = arg;
    s->calls++;
    s->sum = mix(s->sum, (uint64_t)header_rev);
    s->sum = mix(s->sum, n);
    if (n > 0 && !ev) {
        fz_fail("%zu events and no array", n);
    }
    for (size_t i = 0; i < n; i++) {
        const etcd_kv_t *kv = &ev[i].kv;
        if (ev[i].type != 0 && ev[i].type != 1) {
            fz_fail("event type %d", ev[i].type);
        }
        if (!kv->key || !kv->val || kv->key[kv->klen] != 0 || kv->val[kv->vlen] != 0) {
            fz_fail("key or value not allocated or not NUL-terminated");
        }
        s->events++;
        s->sum = mix(s->sum, (uint64_t)ev[i].type);
        s->sum = mix(s->sum, (uint64_t)kv->mod_rev);
        s->sum = mix(s->sum, (uint64_t)kv->create_rev ^ (uint64_t)kv->version << 1 ^
                                 (uint64_t)kv->lease << 2);
        for (size_t j = 0; j < kv->klen; j++) {
            s->sum = mix(s->sum, kv->key[j]);
        }
        for (size_t j = 0; j < kv->vlen; j++) {
            s->sum = mix(s->sum, kv->val[j] + 0x100u);
        }
        if (kv->klen > 0 && kv->key[0] == '!') {
            return 42;
        }
    }
    return 0;
}

static int run(const uint8_t *in, size_t len, unsigned seed, seen_t *s, int64_t *crev, diag_t *d)
{
    etcd_wparse_t *p = etcd_wparse_new(on_events, s);
    int rc = 0;
    size_t off = 0;
    uint32_t x = seed * 2654435761u + 1;
    while (off < len && rc == 0) {
        size_t chunk = len - off;
        if (seed != 0) {
            x = x * 1103515245u + 12345u;
            chunk = 1 + (x >> 16) % 97;
            if (chunk > len - off) {
                chunk = len - off;
            }
        }
        rc = etcd_wparse_feed(p, (const char *)in + off, chunk, crev, d);
        off += chunk;
    }
    if (rc != 0) {
        /* a final result sticks and calls nothing more */
        unsigned calls = s->calls;
        diag_t d2;
        int64_t c2 = 0;
        if (etcd_wparse_feed(p, "\n{\"result\":{}}\n", 15, &c2, &d2) != rc || s->calls != calls) {
            fz_fail("the parser went on after returning %d", rc);
        }
    }
    etcd_wparse_free(p);
    return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > INPUT_MAX) {
        return 0;
    }
    unsigned seed = data[0] | 1; /* never 0: 0 is "whole" */
    seen_t a = {0, 0, 0}, b = {0, 0, 0};
    int64_t ca = 0, cb = 0;
    diag_t da = {0}, db = {0};
    int ra = run(data + 1, size - 1, seed, &a, &ca, &da);
    int rb = run(data + 1, size - 1, 0, &b, &cb, &db);
    if (ra != 0 && ra != 42 && ra != DNSD_ERANGE && ra != DNSD_ENET && ra != DNSD_EMALFORMED) {
        fz_fail("result %d", ra);
    }
    if (ra != 0 && !da.text[0]) {
        fz_fail("result %d without a message", ra);
    }
    if (ra == DNSD_ERANGE && ca <= 0) {
        fz_fail("compacted, compact revision %lld", (long long)ca);
    }
    if (ra != rb || a.calls != b.calls || a.events != b.events || a.sum != b.sum || ca != cb) {
        fz_fail("chunked %d (%u calls, %u events) whole %d (%u calls, %u events)", ra, a.calls,
                a.events, rb, b.calls, b.events);
    }
    return 0;
}
