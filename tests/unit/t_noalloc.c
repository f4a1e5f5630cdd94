/* SPDX-License-Identifier: MIT */
/*
 * t_noalloc.c -- proves the per-query path allocates nothing: malloc,
 * calloc and realloc are interposed over glibc's __libc_* and counted while
 * every query of the fuzz seed corpus is answered (UDP and TCP limits,
 * each inside a renewed LMDB read txn as the workers do), classified, and
 * UDP answers rate-limited and slipped as the workers do. Expects zero.
 * The store's zone is signed (tz_sign) and every EDNS query of the corpus
 * is asked again with DO=1: positive answers copy stored RRSIGs, and the
 * online denials (compact NSECs, dnssec_online.c) come from the worker's
 * cache, warmed by one pass before counting (a cache miss signs with
 * OpenSSL, which allocates: that cost is the README's "worst case per
 * query", not the path proven here). With dnstap on, every exchange is
 * also put in a worker's dnstap ring (dnstap_ring.h), emptied once per
 * round, so both the logging and the ring-full (drop) paths run. The zone
 * has a rollout's canary split (zones/rollout.h) at p = 50 % on the
 * default region, and the source address changes per query, so both the
 * canary (chain insertion) and the stable side of the split run. Skipped
 * under ASan, which owns the allocator.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "dnsd/answer.h"
#include "dnsd/dnssec_online.h"
#include "dnsd/dnstap_ring.h"
#include "dnsd/pkt.h"
#include "dnsd/rrl.h"
#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/rollout.h"
#include "zones/writer.h"

#if defined(__SANITIZE_ADDRESS__)
#define NOALLOC_SKIP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NOALLOC_SKIP 1
#endif
#endif

#ifndef NOALLOC_SKIP
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static volatile int counting;
static volatile unsigned long allocs;

void *malloc(size_t n)
{
    if (counting) {
        allocs++;
    }
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (counting) {
        allocs++;
    }
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (counting) {
        allocs++;
    }
    return __libc_realloc(p, n);
}
#endif

#define MAXQ 512

static uint8_t *qs[MAXQ];
static size_t qlen[MAXQ];
static int nq, ndo;

static void load_corpus(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && nq < MAXQ) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[4096 + 260];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) {
            continue;
        }
        qs[nq] = malloc(65536);
        qlen[nq] = fread(qs[nq], 1, 65536, f);
        fclose(f);
        nq++;
        /* the same query with DO=1 when it ends with a plain OPT record */
        size_t l = qlen[nq - 1];
        const uint8_t *p = qs[nq - 1];
        if (nq < MAXQ && l >= 23 && p[l - 11] == 0 && get16(p + l - 10) == DNS_T_OPT &&
            get16(p + l - 2) == 0) {
            qs[nq] = malloc(65536);
            memcpy(qs[nq], p, l);
            qs[nq][l - 4] |= 0x80; /* DO */
            qlen[nq] = l;
            nq++;
            ndo++;
        }
    }
    if (d) {
        closedir(d);
    }
}

int main(void)
{
#ifdef NOALLOC_SKIP
    printf("1..0 # SKIP allocation counting does not work under ASan\n");
    return 0;
#else
    const char *top = getenv("top_srcdir");
    char corpus[4096], dir[] = "/tmp/t_noalloc.XXXXXX";
    snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/query", top ? top : ".");
    load_corpus(corpus);
    ok(nq >= 40, "loaded the query corpus (%d queries)", nq);
    if (!mkdtemp(dir)) {
        return 1;
    }
    zs_store_t *store = tz_build(dir);
    /* a canary split of example.test's default region, with a canary A */
    zw_t w;
    zw_zone_t z;
    diag_t d;
    uint16_t dc = 0;
    uint8_t www[64], ca[4] = {192, 0, 2, 99};
    tz_wire("www.example.test.", www);
    zs_rollout_t split = {.permyriad = 5000, .prefix4 = 24, .prefix6 = 56};
    memset(split.key, 0x33, sizeof(split.key));
    ok(zw_begin(store, &w) == 0 && zw_zone_get(store, w.txn, tz_name("example.test."), &z) == 0 &&
           zw_rollout_canary_region(&w, 0, true, &dc, &d) == 0 &&
           zw_rr_add(&w, &z, www, DNS_T_A, dc, 300, ca, 4) == 0 &&
           (split.canary = dc, zw_rollout_put(&w, &z, 0, &split, &d)) == 0 &&
           zw_commit(&w, &d) == 0,
       "a canary split on example.test (p = 50%%)");
    zd_key_t key;
    tz_sign(store, "example.test.", ZD_ALG_ECDSAP256SHA256, &key, true);
    ok(ndo >= 20, "%d of them asked again with DO=1", ndo);
    zr_t rd;
    answer_ctx_t a;
    memset(&a, 0, sizeof(a));
    a.rd = &rd;
    a.udp_max = ANSWER_UDP_MAX_DEFAULT;
    ok(zr_init(&rd, store) == 0, "reader ready");
    a.don = don_new();
    static uint8_t out[65536];
    size_t bytes = 0;
    unsigned limited = 0;
    a.classify = true;
    rrl_t *rrl = rrl_new(4096, 24, 56);
    struct sockaddr_in src;
    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0xC0000201);
    /* round 0 warms the DNSSEC cache (signatures made, keys parsed); counting
     * starts with round 1. Rounds that cross an hour boundary (a new validity
     * window: every signature is made again) are run again, up to twice. */
    uint64_t misses = 0;
    int hour_retries = 0;
    dnstap_tap_t tap;
    dnstap_tap_init(&tap, 1, true, true);
    unsigned tapped = 0;
    struct sockaddr_in dst = src;
    dst.sin_addr.s_addr = htonl(0x7F000001);
    dst.sin_port = htons(53);
    for (int round = 0; round < 4; round++) {
        if (round == 1) {
            misses = STAT_GET(CTR(&a.st, DNSSEC_SIGNED));
            counting = 1;
        }
        time_t h0 = time(NULL) / 3600;
        for (int i = 0; i < nq; i++) {
            /* every other query from another /24: both sides of the split
             * run, and the rest come from one source, so the rate limit bites */
            src.sin_addr.s_addr = htonl(i % 2 ? 0xC0000001u | (uint32_t)(i % 256) << 8
                                              : 0xC0000201u);
            for (int tcp = 0; tcp < 2; tcp++) {
                a.rd_ok = zr_begin(&rd) == 0;
                size_t len = answer_query(&a, qs[i], qlen[i], out, tcp ? ANSWER_TCP_MAX : 4096,
                                          tcp, (const struct sockaddr *)&src);
                zr_end(&rd);
                /* dnstap on, as the worker does it */
                dnstap_tap_exchange(&tap, &a.st, tcp, (const struct sockaddr *)&src,
                                    (const struct sockaddr *)&dst, qs[i], qlen[i], out, len);
                bytes += len;
                if (!tcp && len > 0) {
                    /* the UDP path's rate limit, as the worker does it */
                    bool ev;
                    rrl_verdict_t v = rrl_decide(rrl, (const struct sockaddr *)&src, a.cls,
                                                 a.cls_qtype, a.cls_name, a.cls_name_len, 5, 2,
                                                 rrl_clock_us(), &ev);
                    limited += v != RRL_PASS;
                    if (v == RRL_SLIP) {
                        answer_slip(&a, out, len);
                    }
                }
            }
        }
        counting = 0; /* the dnstap thread's side, not the worker's */
        while (dnstap_tap_peek(&tap)) {
            dnstap_tap_pop(&tap);
            tapped++;
        }
        counting = round >= 1;
        if (round >= 1 && time(NULL) / 3600 != h0 && hour_retries < 2) {
            hour_retries++;
            counting = 0;
            allocs = 0;
            round = 0; /* again: warm up in the new hour, then count */
        }
    }
    counting = 0;
    unsigned long n = allocs;
    ok(bytes > 0 && STAT_GET(CTR(&a.st, QUERIES)) >= (uint64_t)nq * 8, "answered %llu queries",
       (unsigned long long)STAT_GET(CTR(&a.st, QUERIES)));
    is_int(n, 0, "no allocation while answering, classifying, rate limiting and dnstap logging");
    ok(misses > 0 && STAT_GET(CTR(&a.st, DNSSEC_CACHE_HITS)) > 0 &&
           STAT_GET(CTR(&a.st, DNSSEC_SIGNED)) == misses,
       "DO=1 denials were signed in the warm-up and served from the cache after (%llu hits)",
       (unsigned long long)STAT_GET(CTR(&a.st, DNSSEC_CACHE_HITS)));
    ok(STAT_GET(CTR(&a.st, DNSSEC_ANSWERS)) > 0, "signed answers were made (%llu)",
       (unsigned long long)STAT_GET(CTR(&a.st, DNSSEC_ANSWERS)));
    ok(STAT_GET(CTR(&a.st, ROLLOUT_CANARY)) > 0 && STAT_GET(CTR(&a.st, ROLLOUT_STABLE)) > 0,
       "the split sent %llu answers to the canary, %llu to the stable pool",
       (unsigned long long)STAT_GET(CTR(&a.st, ROLLOUT_CANARY)),
       (unsigned long long)STAT_GET(CTR(&a.st, ROLLOUT_STABLE)));
    ok(limited > 0, "the rate limit was exercised (%u responses limited)", limited);
    ok(tapped > 0 && STAT_GET(CTR(&a.st, DNSTAP_DROPPED)) > 0,
       "dnstap: %u messages went through the ring, %llu dropped when it was full", tapped,
       (unsigned long long)STAT_GET(CTR(&a.st, DNSTAP_DROPPED)));
    dnstap_tap_fini(&tap);
    rrl_free(rrl);
    don_free(a.don);
    zr_fini(&rd);
    zs_close(store);
    for (int i = 0; i < nq; i++) {
        free(qs[i]);
    }
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        return 1;
    }
    return done_testing();
#endif
}
