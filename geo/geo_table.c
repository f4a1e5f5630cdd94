/* SPDX-License-Identifier: MIT */
/*
 * geo_table.c -- the compiled geo table and geo_lookup(), which every query
 * calls (worker threads, any number at once). The table is immutable once
 * built; geo_lookup() allocates nothing, locks nothing, logs nothing and
 * never touches libmaxminddb. geo_table_assemble() (slow, called by
 * geo_build.c) makes the table from a partition.
 *
 * DESIGN. Per family, the address space is partitioned into ranges
 * [start_i, start_i+1) with a u16 region id each, neighbours merged (no two
 * neighbours share a region), so a range is exactly the maximal run of
 * addresses that answer alike. Starts and regions are separate arrays: the
 * search touches only starts (u32 for IPv4, u128 for IPv6), then reads one
 * region. A top-level index of 65537 u32 by the first 16 address bits,
 * idx[h] = the range holding the first address of bucket h, narrows the
 * search to idx[h]..idx[h+1]: usually one or a few ranges, searched without
 * branches (the conditional move form of lower-bound). Dense buckets (more
 * than SUB_MIN ranges: the /16s that RIRs carve up, 2a02::/16 alone holds
 * 40k ranges of the full RIR country DB) get a second level of 2^b + 1
 * entries by the next b <= 12 bits (about two ranges per sub-bucket),
 * flagged by the top bit of idx[h]. Measured with tools/geo-bench on that
 * DB: IPv6 lookups inside the RIR blocks 34 -> 22 ns, IPv4 and sparse IPv6
 * unchanged (12 ns), for 0.65 MB more (6.3 MB in all). An Eytzinger layout
 * was not needed: after the two index levels the search is a step or two.
 * Each start array has one more slot holding 0, so "next start - 1" gives
 * the range's end with no branch, wrapping to the top of the space for the
 * last range.
 * Scope: for address a in [s, e], the shortest L whose aligned /L block
 * around a fits in [s, e]; the block's low end stays >= s iff L keeps the
 * highest bit where a and s differ or s is aligned to 2^(W-L), and the high
 * end is the same question on the complements (fit_lo below). Since ranges
 * are maximal, that block is the widest one answered alike.
 * IPv6 ranges marked GEO_REGION_ALIAS are the DB's aliases of its IPv4 tree
 * (::/96, 2001::/32, 2002::/16): the 32 bits after the alias prefix are
 * looked up as IPv4 and the scope is the larger of the IPv6 range's own and
 * alias length + IPv4 scope.
 */
#include "geo/geo.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "zones/base/xalloc.h"

#define IDX_BITS    16
#define IDX_ENTRIES ((1u << IDX_BITS) + 1)
#define IDX_SUB     0x80000000u /* idx[h] flag: bucket h has a second level */
#define IDX_MASK    0x7fffffffu
#define SUB_MIN     32          /* ranges in a bucket that earn it a second level */
#define SUB_BITS    12          /* at most 4096 sub-buckets */

struct geo_table {
    uint32_t *k4;      /* n4 + 1 starts, k4[n4] = 0 */
    uint16_t *r4;      /* n4 regions */
    uint32_t *idx4;    /* IDX_ENTRIES; IDX_SUB flags a bucket with a second level */
    uint32_t *sub4;    /* per bucket: pool offset << 4 | bits of its second level */
    uint32_t *pool4;
    geo_u128_t *k6;    /* n6 + 1 starts, k6[n6] = 0 */
    uint16_t *r6;
    uint32_t *idx6;
    uint32_t *sub6;
    uint32_t *pool6;
    uint32_t n4, n6;
    uint32_t nalias;
    struct {
        geo_u128_t prefix;
        geo_u128_t mask; /* the alias prefix's network mask */
        uint8_t len;
    } alias[GEO_ALIAS_MAX];
    size_t mem;
};

/* ---- scope arithmetic ---- */

/* Shortest L such that (a & mask(L)) >= s, for a >= s, in a W-bit space. */
static inline unsigned fit_lo32(uint32_t a, uint32_t s)
{
    uint32_t x = a ^ s;
    unsigned l_diff = x ? 1u + (unsigned)__builtin_clz(x) : 32u;
    unsigned l_align = s ? 32u - (unsigned)__builtin_ctz(s) : 0u;
    return l_diff < l_align ? l_diff : l_align;
}

static inline unsigned clz128(geo_u128_t x)
{
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    return hi ? (unsigned)__builtin_clzll(hi) : 64u + (unsigned)__builtin_clzll(lo);
}

static inline unsigned ctz128(geo_u128_t x)
{
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    return lo ? (unsigned)__builtin_ctzll(lo) : 64u + (unsigned)__builtin_ctzll(hi);
}

static inline unsigned fit_lo128(geo_u128_t a, geo_u128_t s)
{
    geo_u128_t x = a ^ s;
    unsigned l_diff = x ? 1u + clz128(x) : 128u;
    unsigned l_align = s ? 128u - ctz128(s) : 0u;
    return l_diff < l_align ? l_diff : l_align;
}

static inline unsigned umax(unsigned a, unsigned b)
{
    return a > b ? a : b;
}

/* ---- lookups ---- */

static inline uint16_t lookup4(const geo_table_t *gt, uint32_t a, unsigned *scope)
{
    uint32_t h = a >> (32 - IDX_BITS);
    uint32_t lo = gt->idx4[h], hi = gt->idx4[h + 1] & IDX_MASK;
    if (lo & IDX_SUB) {
        uint32_t s = gt->sub4[h];
        const uint32_t *p = gt->pool4 + (s >> 4) + ((a << IDX_BITS) >> (32 - (s & 15)));
        lo = p[0];
        hi = p[1];
    }
    uint32_t len = hi - lo + 1;
    const uint32_t *base = gt->k4 + lo;
    while (len > 1) {
        uint32_t half = len >> 1;
        base = base[half] <= a ? base + half : base;
        len -= half;
    }
    uint32_t s = base[0], e = base[1] - 1u; /* the sentinel 0 wraps to the top */
    *scope = umax(fit_lo32(a, s), fit_lo32(~a, ~e));
    return gt->r4[base - gt->k4];
}

static inline uint32_t find6(const geo_table_t *gt, geo_u128_t a)
{
    uint32_t h = (uint32_t)(a >> (128 - IDX_BITS));
    uint32_t lo = gt->idx6[h], hi = gt->idx6[h + 1] & IDX_MASK;
    if (lo & IDX_SUB) {
        uint32_t s = gt->sub6[h];
        const uint32_t *p = gt->pool6 + (s >> 4) + (uint32_t)((a << IDX_BITS) >> (128 - (s & 15)));
        lo = p[0];
        hi = p[1];
    }
    uint32_t len = hi - lo + 1;
    const geo_u128_t *base = gt->k6 + lo;
    while (len > 1) {
        uint32_t half = len >> 1;
        base = base[half] <= a ? base + half : base;
        len -= half;
    }
    return (uint32_t)(base - gt->k6);
}

static uint16_t lookup6_alias(const geo_table_t *gt, geo_u128_t a, unsigned *scope)
{
    for (uint32_t i = 0; i < gt->nalias; i++) {
        if ((a & gt->alias[i].mask) == gt->alias[i].prefix) {
            unsigned len = gt->alias[i].len;
            unsigned s4;
            uint16_t r = lookup4(gt, (uint32_t)(a >> (96 - len)), &s4);
            *scope = umax(*scope, len + s4);
            return r;
        }
    }
    return GEO_REGION_DEFAULT; /* not reached: the builder lists every alias range */
}

static inline geo_u128_t load_be128(const uint8_t *p)
{
    uint64_t hi, lo;
    memcpy(&hi, p, 8);
    memcpy(&lo, p + 8, 8);
    return (geo_u128_t)__builtin_bswap64(hi) << 64 | __builtin_bswap64(lo);
}

uint16_t geo_lookup(const geo_table_t *gt, int family, const uint8_t *addr, uint8_t *scope)
{
    unsigned sc = 0;
    uint16_t r = GEO_REGION_DEFAULT;
    if (!gt) {
        goto out;
    }
    if (family == AF_INET) {
        uint32_t a;
        memcpy(&a, addr, 4);
        r = lookup4(gt, __builtin_bswap32(a), &sc);
    } else if (family == AF_INET6) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, 12) == 0) {
            uint32_t a;
            memcpy(&a, addr + 12, 4);
            r = lookup4(gt, __builtin_bswap32(a), &sc);
            sc += 96;
            goto out;
        }
        geo_u128_t a = load_be128(addr);
        uint32_t i = find6(gt, a);
        geo_u128_t s = gt->k6[i], e = gt->k6[i + 1] - 1;
        sc = umax(fit_lo128(a, s), fit_lo128(~a, ~e));
        r = gt->r6[i];
        if (__builtin_expect(r == GEO_REGION_ALIAS, 0)) {
            r = lookup6_alias(gt, a, &sc);
        }
    }
out:
    if (scope) {
        *scope = (uint8_t)sc;
    }
    return r;
}

/* ---- assembly (slow path) ---- */

static geo_u128_t key_at(const void *keys, bool v6, uint32_t i)
{
    return v6 ? ((const geo_u128_t *)keys)[i] : (geo_u128_t)((const uint32_t *)keys)[i];
}

/* The range holding address @p a, walking on from range @p i (addresses only grow). */
static uint32_t holder(const void *keys, bool v6, uint32_t n, uint32_t i, geo_u128_t a)
{
    while (i + 1 < n && key_at(keys, v6, i + 1) <= a) {
        i++;
    }
    return i;
}

/*
 * Both index levels for one family (slow path: clarity over speed).
 * idx[h] = the range holding the first address of bucket h; a bucket with
 * more than SUB_MIN ranges gets 2^b + 1 pool entries, entry k = the range
 * holding its k-th sub-bucket's first address, the last = the range holding
 * the next bucket's first address. @return the pool (its length in
 * *pool_len).
 */
static uint32_t *index_build(uint32_t *idx, uint32_t *sub, const void *keys, bool v6, uint32_t n,
                             size_t *pool_len)
{
    unsigned width = v6 ? 128 : 32;
    uint32_t i = 0;
    for (uint32_t h = 0; h < (1u << IDX_BITS); h++) {
        i = holder(keys, v6, n, i, (geo_u128_t)h << (width - IDX_BITS));
        idx[h] = i;
    }
    idx[1u << IDX_BITS] = n - 1;
    size_t len = 0, cap = 0;
    uint32_t *pool = NULL;
    for (uint32_t h = 0; h < (1u << IDX_BITS); h++) {
        uint32_t count = idx[h + 1] - idx[h] + 1;
        sub[h] = 0;
        if (count <= SUB_MIN) {
            continue;
        }
        unsigned bits = 1;
        while (bits < SUB_BITS && (1u << (bits + 1)) < count) {
            bits++;
        }
        size_t need = (1u << bits) + 1;
        if (len + need > cap) {
            cap = (len + need) * 2;
            pool = xrealloc(pool, cap * sizeof(uint32_t));
        }
        uint32_t j = idx[h];
        for (uint32_t k = 0; k < (1u << bits); k++) {
            geo_u128_t a = (geo_u128_t)h << (width - IDX_BITS) |
                           (geo_u128_t)k << (width - IDX_BITS - bits);
            j = holder(keys, v6, n, j, a);
            pool[len + k] = j;
        }
        pool[len + (1u << bits)] = idx[h + 1];
        sub[h] = (uint32_t)(len << 4 | bits);
        len += need;
    }
    /* flags last: the loops above read idx[] unflagged */
    for (uint32_t h = 0; h < (1u << IDX_BITS); h++) {
        if (sub[h]) {
            idx[h] |= IDX_SUB;
        }
    }
    *pool_len = len;
    return pool ? pool : xmalloc(sizeof(uint32_t));
}

geo_table_t *geo_table_assemble(geo_parts_t *p)
{
    geo_table_t *gt = xcalloc(1, sizeof(*gt));
    gt->n4 = (uint32_t)p->n4;
    gt->n6 = (uint32_t)p->n6;
    /* one slot more for the sentinel that makes "next start - 1" wrap */
    gt->k4 = xrealloc(p->v4_start, (p->n4 + 1) * sizeof(uint32_t));
    gt->k4[p->n4] = 0;
    gt->r4 = p->v4_region;
    gt->k6 = xrealloc(p->v6_start, (p->n6 + 1) * sizeof(geo_u128_t));
    gt->k6[p->n6] = 0;
    gt->r6 = p->v6_region;
    p->v4_start = NULL;
    p->v4_region = NULL;
    p->v6_start = NULL;
    p->v6_region = NULL;
    size_t pl4, pl6;
    gt->idx4 = xmalloc(IDX_ENTRIES * sizeof(uint32_t));
    gt->idx6 = xmalloc(IDX_ENTRIES * sizeof(uint32_t));
    gt->sub4 = xmalloc((IDX_ENTRIES - 1) * sizeof(uint32_t));
    gt->sub6 = xmalloc((IDX_ENTRIES - 1) * sizeof(uint32_t));
    gt->pool4 = index_build(gt->idx4, gt->sub4, gt->k4, false, gt->n4, &pl4);
    gt->pool6 = index_build(gt->idx6, gt->sub6, gt->k6, true, gt->n6, &pl6);
    gt->nalias = (uint32_t)p->nalias;
    for (size_t i = 0; i < p->nalias; i++) {
        unsigned len = p->alias[i].len;
        gt->alias[i].len = (uint8_t)len;
        gt->alias[i].mask = len ? ~(geo_u128_t)0 << (128 - len) : 0;
        gt->alias[i].prefix = p->alias[i].prefix & gt->alias[i].mask;
    }
    gt->mem = sizeof(*gt) + (gt->n4 + 1) * sizeof(uint32_t) + gt->n4 * sizeof(uint16_t) +
              (gt->n6 + 1) * sizeof(geo_u128_t) + gt->n6 * sizeof(uint16_t) +
              2 * IDX_ENTRIES * sizeof(uint32_t) + 2 * (IDX_ENTRIES - 1) * sizeof(uint32_t) +
              (pl4 + pl6) * sizeof(uint32_t);
    return gt;
}

void geo_table_free(geo_table_t *gt)
{
    if (!gt) {
        return;
    }
    free(gt->k4);
    free(gt->r4);
    free(gt->idx4);
    free(gt->sub4);
    free(gt->pool4);
    free(gt->k6);
    free(gt->r6);
    free(gt->idx6);
    free(gt->sub6);
    free(gt->pool6);
    free(gt);
}

size_t geo_table_memory(const geo_table_t *gt)
{
    return gt ? gt->mem : 0;
}

void geo_table_stats(const geo_table_t *gt, size_t *v4_ranges, size_t *v6_ranges)
{
    if (v4_ranges) {
        *v4_ranges = gt ? gt->n4 : 0;
    }
    if (v6_ranges) {
        *v6_ranges = gt ? gt->n6 : 0;
    }
}
