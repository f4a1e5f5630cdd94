/* SPDX-License-Identifier: MIT */
/*
 * geo-bench.c -- microbenchmark of the geo table (geo/geo.h): builds a
 * table from a MaxMind DB and four regions (EU, NA, AS by continent, DE by
 * country under EU), prints build time, ranges per family and memory, then
 * times geo_lookup() over N pre-generated random addresses per set (IPv4
 * uniform; IPv6 uniform over 2000::/3; IPv6 inside the RIR blocks where
 * allocations are dense) and, for scale, libmaxminddb's own
 * MMDB_lookup_sockaddr() over N/10 of them. A checksum of the answers keeps
 * the compiler from dropping the loops. Timings only, no pass/fail: not run
 * by make check.
 *
 * usage: geo-bench [-n N] [DB]   (DB default: $GEO_DIR/geo-whois-asn-country.mmdb,
 *                                 GEO_DIR default $top_srcdir/tests/data/geo)
 */
#include "geo/geo.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    /* xorshift64*: fast, fixed seed, so runs compare */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* IPv6 address: random, then the first @p len bits of @p pfx_hi forced. */
static void gen6(uint8_t *p, uint64_t pfx_hi, unsigned len)
{
    uint64_t hi = rng(), lo = rng();
    uint64_t m = len ? ~0ull << (64 - len) : 0;
    hi = (hi & ~m) | (pfx_hi & m);
    put_be64(p, hi);
    put_be64(p + 8, lo);
}

static double run(const geo_table_t *gt, int family, const uint8_t *addrs, size_t n,
                  uint64_t *sum)
{
    size_t step = family == AF_INET ? 4 : 16;
    uint64_t s = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        uint8_t scope;
        uint16_t r = geo_lookup(gt, family, addrs + i * step, &scope);
        s += (uint64_t)r * 131u + scope;
    }
    double t = now_s() - t0;
    *sum += s;
    return t * 1e9 / (double)n;
}

static double run_mmdb(MMDB_s *db, int family, const uint8_t *addrs, size_t n, uint64_t *sum)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    uint64_t s = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        int err;
        MMDB_lookup_result_s res;
        if (family == AF_INET) {
            memcpy(&s4.sin_addr, addrs + i * 4, 4);
            res = MMDB_lookup_sockaddr(db, (struct sockaddr *)&s4, &err);
        } else {
            memcpy(&s6.sin6_addr, addrs + i * 16, 16);
            res = MMDB_lookup_sockaddr(db, (struct sockaddr *)&s6, &err);
        }
        s += res.found_entry ? res.entry.offset + res.netmask : 0;
    }
    double t = now_s() - t0;
    *sum += s;
    return t * 1e9 / (double)n;
}

int main(int argc, char **argv)
{
    size_t n = 5000000;
    const char *db_path = NULL;
    char def[4096];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = strtoull(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: geo-bench [-n N] [DB.mmdb]\n");
            return 2;
        } else {
            db_path = argv[i];
        }
    }
    if (!db_path) {
        const char *dir = getenv("GEO_DIR");
        const char *top = getenv("top_srcdir");
        if (dir) {
            snprintf(def, sizeof(def), "%s/geo-whois-asn-country.mmdb", dir);
        } else {
            snprintf(def, sizeof(def), "%s/tests/data/geo/geo-whois-asn-country.mmdb",
                     top ? top : ".");
        }
        db_path = def;
    }
    if (n == 0) {
        n = 1;
    }

    static const char *const eu[] = {"EU"}, *const na[] = {"NA"}, *const as[] = {"AS"};
    static const char *const de[] = {"DE"};
    const geo_region_t regions[] = {
        {.id = 1, .name = "eu", .continents = eu, .ncontinents = 1},
        {.id = 2, .name = "na", .continents = na, .ncontinents = 1},
        {.id = 3, .name = "as", .continents = as, .ncontinents = 1},
        {.id = 4, .name = "de", .parent = 1, .countries = de, .ncountries = 1},
    };
    diag_t d = {0};
    double t0 = now_s();
    geo_table_t *gt = geo_table_build(db_path, NULL, regions, 4, &d);
    double build_s = now_s() - t0;
    if (!gt) {
        diag_print(&d, stderr);
        return 1;
    }
    size_t n4, n6;
    geo_table_stats(gt, &n4, &n6);
    printf("db          %s\n", db_path);
    printf("build       %.3f s\n", build_s);
    printf("ranges      v4 %zu, v6 %zu\n", n4, n6);
    printf("memory      %zu bytes (%.2f MiB)\n", geo_table_memory(gt),
           (double)geo_table_memory(gt) / 1048576.0);
    printf("lookups     %zu per set\n", n);

    uint8_t *a4 = malloc(n * 4), *a6u = malloc(n * 16), *a6r = malloc(n * 16);
    if (!a4 || !a6u || !a6r) {
        fprintf(stderr, "out of memory for %zu addresses\n", n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)rng();
        memcpy(a4 + i * 4, &v, 4);
        gen6(a6u + i * 16, 0x2000000000000000ull, 3);
        /* RIR blocks: 2001::/16 APNIC..RIPE, 2400::/12 APNIC, 2600::/12 ARIN,
         * 2800::/12 LACNIC, 2a00::/12 RIPE, 2c00::/12 AFRINIC */
        static const struct {
            uint64_t hi;
            unsigned len;
        } rir[] = {{0x2001000000000000ull, 16}, {0x2400000000000000ull, 12},
                   {0x2600000000000000ull, 12}, {0x2800000000000000ull, 12},
                   {0x2a00000000000000ull, 12}, {0x2c00000000000000ull, 12}};
        unsigned k = (unsigned)(rng() % (sizeof(rir) / sizeof(rir[0])));
        gen6(a6r + i * 16, rir[k].hi, rir[k].len);
    }

    uint64_t sum = 0;
    run(gt, AF_INET, a4, n < 100000 ? n : 100000, &sum); /* warm the table into cache */
    double ns4 = run(gt, AF_INET, a4, n, &sum);
    double ns6u = run(gt, AF_INET6, a6u, n, &sum);
    double ns6r = run(gt, AF_INET6, a6r, n, &sum);
    printf("geo_lookup  v4 uniform          %6.1f ns\n", ns4);
    printf("geo_lookup  v6 uniform 2000::/3 %6.1f ns\n", ns6u);
    printf("geo_lookup  v6 in RIR blocks    %6.1f ns\n", ns6r);

    MMDB_s db;
    if (MMDB_open(db_path, MMDB_MODE_MMAP, &db) == MMDB_SUCCESS) {
        size_t m = n / 10 ? n / 10 : 1;
        double m4 = run_mmdb(&db, AF_INET, a4, m, &sum);
        double m6 = run_mmdb(&db, AF_INET6, a6r, m, &sum);
        printf("libmaxminddb MMDB_lookup_sockaddr (for scale, %zu lookups): v4 %.1f ns, "
               "v6 in RIR blocks %.1f ns\n", m, m4, m6);
        MMDB_close(&db);
    }
    printf("checksum    %llu\n", (unsigned long long)sum);
    free(a4);
    free(a6u);
    free(a6r);
    geo_table_free(gt);
    return 0;
}
