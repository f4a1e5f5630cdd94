/* SPDX-License-Identifier: MIT */
/*
 * rrl.c -- response rate limiting (see rrl.h for the design).
 * rrl_decide() is hot: no malloc, no lock, no syscall, no log.
 */
#include "dnsd/rrl.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "zones/base/siphash.h"
#include "zones/base/xalloc.h"

#define CNT_BITS 16
#define CNT_MASK ((1u << CNT_BITS) - 1)
#define TAT_MAX  ((UINT64_C(1) << (64 - CNT_BITS)) - 1)

typedef struct bucket {
    _Atomic uint64_t key;   /* 0: empty */
    _Atomic uint64_t state; /* TAT (us since the table's epoch) << 16 | limited count */
} bucket_t;

struct rrl {
    bucket_t *b;
    size_t mask;       /* buckets - 1, a power of two minus one; pairs are (i, i ^ 1) */
    uint8_t secret[16]; /* SipHash-2-4 key (zones/base/siphash.h), random per table */
    uint64_t epoch_us; /* monotonic time the table was made: TATs are relative to it */
    uint8_t v4_bytes, v4_last; /* whole bytes of the prefix, and the mask of the next one */
    uint8_t v6_bytes, v6_last;
};

/* ---- the table ---- */

uint64_t rrl_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

rrl_t *rrl_new(size_t buckets, unsigned v4_prefix, unsigned v6_prefix)
{
    size_t n = RRL_TABLE_MIN;
    while (n < buckets && n < RRL_TABLE_MAX) {
        n <<= 1;
    }
    rrl_t *r = xcalloc(1, sizeof(*r));
    /* 64-byte aligned: a bucket pair never straddles two cache lines */
    r->b = aligned_alloc(64, n * sizeof(bucket_t));
    if (!r->b) {
        fprintf(stderr, "out of memory allocating %zu bytes\n", n * sizeof(bucket_t));
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        atomic_init(&r->b[i].key, 0);
        atomic_init(&r->b[i].state, 0);
    }
    r->mask = n - 1;
    if (getrandom(r->secret, sizeof(r->secret), 0) != (ssize_t)sizeof(r->secret)) {
        /* no entropy source (very early boot, old kernel): still a usable,
         * if guessable, key; the limit works, only collision-aiming gets easier */
        uint64_t k[2] = {rrl_clock_us() ^ (uint64_t)(uintptr_t)r,
                         (uint64_t)(uintptr_t)r->b * UINT64_C(0x9E3779B97F4A7C15)};
        memcpy(r->secret, k, sizeof(r->secret));
    }
    r->epoch_us = rrl_clock_us();
    r->v4_bytes = (uint8_t)(v4_prefix / 8);
    r->v4_last = (uint8_t)(0xFF00u >> (v4_prefix % 8));
    r->v6_bytes = (uint8_t)(v6_prefix / 8);
    r->v6_last = (uint8_t)(0xFF00u >> (v6_prefix % 8));
    return r;
}

void rrl_free(rrl_t *r)
{
    if (!r) {
        return;
    }
    free(r->b);
    free(r);
}

size_t rrl_buckets(const rrl_t *r)
{
    return r->mask + 1;
}

/* the client's network: the address cut to the prefix, with its family */
static size_t put_net(const rrl_t *r, const struct sockaddr *src, uint8_t *out)
{
    const uint8_t *a;
    size_t whole, len;
    uint8_t last;
    if (src && src->sa_family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)src)->sin_addr;
        whole = r->v4_bytes;
        last = r->v4_last;
        len = 4;
        out[0] = 4;
    } else if (src && src->sa_family == AF_INET6) {
        a = ((const struct sockaddr_in6 *)src)->sin6_addr.s6_addr;
        whole = r->v6_bytes;
        last = r->v6_last;
        len = 16;
        out[0] = 6;
    } else {
        out[0] = 0;
        return 1;
    }
    memset(out + 1, 0, len);
    memcpy(out + 1, a, whole);
    if (whole < len) {
        out[1 + whole] = a[whole] & last;
    }
    return 1 + len;
}

rrl_verdict_t rrl_decide(rrl_t *r, const struct sockaddr *src, answer_cls_t cls, uint16_t qtype,
                         const uint8_t *name, size_t name_len, unsigned rate, unsigned slip,
                         uint64_t now_us, bool *evicted)
{
    *evicted = false;
    if (rate == 0) {
        return RRL_PASS;
    }
    /* the key: network, class, qtype, name */
    uint8_t kb[1 + 16 + 1 + 2 + DNAME_MAXLEN + 1];
    size_t kl = put_net(r, src, kb);
    kb[kl++] = (uint8_t)cls;
    kb[kl++] = (uint8_t)(qtype >> 8);
    kb[kl++] = (uint8_t)qtype;
    if (name_len > DNAME_MAXLEN + 1) {
        name_len = DNAME_MAXLEN + 1;
    }
    memcpy(kb + kl, name, name_len);
    kl += name_len;
    uint64_t key = siphash24(r->secret, kb, kl) | 1; /* never 0, the empty mark */

    uint64_t now = now_us > r->epoch_us ? now_us - r->epoch_us : 0;
    if (now > TAT_MAX / 2) {
        now = TAT_MAX / 2; /* 4.4 years up: saturate rather than wrap */
    }
    uint64_t interval = 1000000u / rate;
    if (interval == 0) {
        interval = 1;
    }
    uint64_t tolerance = 1000000u - interval; /* a burst of `rate` at once */

    size_t i = (size_t)(key >> 32) & r->mask;
    bucket_t *pair[2] = {&r->b[i], &r->b[i ^ 1]};
    bucket_t *b = NULL;
    for (int k = 0; k < 2 && !b; k++) {
        if (atomic_load_explicit(&pair[k]->key, memory_order_relaxed) == key) {
            b = pair[k];
        }
    }
    if (!b) {
        /* take an empty or idle bucket, else the less busy one */
        uint64_t k0 = atomic_load_explicit(&pair[0]->key, memory_order_relaxed);
        uint64_t t0 = atomic_load_explicit(&pair[0]->state, memory_order_relaxed) >> CNT_BITS;
        uint64_t k1 = atomic_load_explicit(&pair[1]->key, memory_order_relaxed);
        uint64_t t1 = atomic_load_explicit(&pair[1]->state, memory_order_relaxed) >> CNT_BITS;
        int v;
        if (k0 == 0 || t0 <= now) {
            v = 0;
        } else if (k1 == 0 || t1 <= now) {
            v = 1;
        } else {
            v = t0 <= t1 ? 0 : 1;
            *evicted = true;
        }
        uint64_t old = v ? k1 : k0;
        b = pair[v];
        if (!atomic_compare_exchange_strong_explicit(&b->key, &old, key, memory_order_relaxed,
                                                     memory_order_relaxed)) {
            /* another worker took it this instant: it is theirs; do not
             * stall the response over bookkeeping */
            *evicted = false;
            return RRL_PASS;
        }
        /* a fresh bucket (a response of the old key racing with this
         * store may be charged to the new one: harmless) */
        atomic_store_explicit(&b->state, now << CNT_BITS, memory_order_relaxed);
    }

    uint64_t st = atomic_load_explicit(&b->state, memory_order_relaxed);
    for (int tries = 0; tries < 8; tries++) {
        uint64_t tat = st >> CNT_BITS;
        unsigned cnt = (unsigned)(st & CNT_MASK);
        if (tat < now) {
            tat = now;
        }
        uint64_t nst;
        rrl_verdict_t v;
        if (tat - now <= tolerance) {
            nst = (tat + interval) << CNT_BITS | cnt;
            v = RRL_PASS;
        } else {
            nst = tat << CNT_BITS | ((cnt + 1) & CNT_MASK);
            v = slip && cnt % slip == 0 ? RRL_SLIP : RRL_DROP;
        }
        if (atomic_compare_exchange_weak_explicit(&b->state, &st, nst, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            return v;
        }
    }
    return RRL_PASS; /* heavy contention on one bucket: let this one through */
}
