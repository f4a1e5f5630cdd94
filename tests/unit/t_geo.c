/* SPDX-License-Identifier: MIT */
/*
 * t_geo.c -- unit test of the geo table (geo/geo.h) against MaxMind's test
 * DBs and the full-size RIR country DB in tests/data/geo ($GEO_DIR; the
 * whole test skips when it is absent). Expected regions and scopes come
 * from the DBs' source JSON (source-data/GeoIP2-City-Test.json) and
 * mmdblookup, merged by hand as the table merges neighbours; a consistency
 * part compares thousands of random addresses with a slow reference built
 * on MMDB_lookup_sockaddr + MMDB_get_value, and checks that both ends of
 * every returned scope block answer alike. A small MMDB writer makes
 * IPv4-only DBs, and DBs whose search tree loops or explodes, in a temp
 * directory.
 */
#include "geo/geo.h"

#include <arpa/inet.h>
#include <math.h>
#include <maxminddb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tap.h"

static char geo_dir[4096];
static char tmp_dir[4096];

static const char *gpath(const char *name)
{
    static char buf[4][4200];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, sizeof(buf[0]), "%s/%s", geo_dir, name);
    return b;
}

static const char *tpath(const char *name)
{
    static char buf[4][4200];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, sizeof(buf[0]), "%s/%s", tmp_dir, name);
    return b;
}

static int parse_addr(const char *s, uint8_t *b)
{
    if (inet_pton(AF_INET, s, b) == 1) {
        return AF_INET;
    }
    if (inet_pton(AF_INET6, s, b) == 1) {
        return AF_INET6;
    }
    printf("# bad address in the test: %s\n", s);
    exit(2);
}

static uint16_t look(const geo_table_t *gt, const char *addr, int *scope)
{
    uint8_t b[16], sc = 255;
    int fam = parse_addr(addr, b);
    uint16_t r = geo_lookup(gt, fam, b, &sc);
    *scope = sc;
    return r;
}

/* ---- region sets (codes, CIDRs) ---- */

static const char *const c_eu[] = {"EU"}, *const c_na[] = {"NA"}, *const c_as[] = {"AS"};
static const char *const c_oc[] = {"OC"}, *const c_af[] = {"AF"}, *const c_sa[] = {"SA"};
static const char *const cc_gb[] = {"GB"}, *const cc_us[] = {"us"}, *const cc_de[] = {"DE"};
static const char *const s_wa[] = {"US-WA"}, *const s_eng[] = {"GB-ENG"};
static const char *const s_wbk[] = {"gb-wbk"};

static geo_cidr_t cidr(const char *text)
{
    geo_cidr_t c = {0};
    char a[64];
    const char *slash = strchr(text, '/');
    snprintf(a, sizeof(a), "%.*s", (int)(slash - text), text);
    c.family = parse_addr(a, c.addr);
    c.len = (uint8_t)atoi(slash + 1);
    return c;
}

typedef struct look_case {
    const char *addr;
    uint16_t region;
    int scope;
    const char *why;
} look_case_t;

static void check_cases(const geo_table_t *gt, const char *set, const look_case_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int sc;
        uint16_t r = look(gt, c[i].addr, &sc);
        is_int(r, c[i].region, "%s: %s -> region %u (%s)", set, c[i].addr, c[i].region, c[i].why);
        is_int(sc, c[i].scope, "%s: %s scope /%d", set, c[i].addr, c[i].scope);
    }
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the cases, expected values from source-data/GeoIP2-City-Test.json ---- */

static void test_continents(void)
{
    const geo_region_t rg[] = {
        {.id = 1, .name = "eu", .continents = c_eu, .ncontinents = 1},
        {.id = 2, .name = "na", .continents = c_na, .ncontinents = 1},
        {.id = 3, .name = "as", .continents = c_as, .ncontinents = 1},
        {.id = 7, .name = "oc", .continents = c_oc, .ncontinents = 1},
    };
    static const look_case_t c[] = {
        {"2001:218::1", 3, 32, "2001:218::/32 JP; 2001:219:: not in the DB"},
        {"2001:2f8::1", 3, 32, "2001:2f8::/32 JP"},
        {"89.160.20.112", 1, 28, "89.160.20.112/28 SE, merged with .128/25"},
        {"89.160.20.200", 1, 25, "89.160.20.128/25 SE"},
        {"216.160.83.56", 2, 29, "216.160.83.56/29 US-WA, merged with .64/29"},
        {"175.16.199.1", 3, 24, "175.16.199.0/24 CN"},
        {"202.196.224.1", 3, 20, "202.196.224.0/20 PH"},
        {"214.0.1.1", 7, 24, "214.0.1.0/24 AU: Oceania"},
        {"2.3.3.1", 1, 24, "2.3.3.0/24: continent EU, no country"},
        {"2a02:d500::1", 1, 29, "2a02:d500::/29: continent EU only"},
        {"2a02:e700::1", 0, 26, "2a02:e700::/29 LY: Africa is no region"},
        {"214.1.1.1", 0, 16, "214.1.1.0/24: a record without location"},
        {"10.0.0.1", 0, 5, "not in the DB"},
        {"1.1.1.1", 0, 7, "not in the DB"},
    };
    diag_t d = {0};
    geo_table_t *gt = geo_table_build(gpath("GeoIP2-City-Test.mmdb"), NULL, rg, NCASES(rg), &d);
    if (!ok(gt != NULL, "build City-Test with continent regions")) {
        diag_print(&d, stdout);
        return;
    }
    check_cases(gt, "continents", c, NCASES(c));
    size_t n4, n6;
    geo_table_stats(gt, &n4, &n6);
    ok(n4 > 1 && n6 > 1 && geo_table_memory(gt) > 0, "stats: %zu v4 and %zu v6 ranges, %zu bytes",
       n4, n6, geo_table_memory(gt));
    geo_table_free(gt);
    gt = geo_table_build(gpath("GeoLite2-Country-Test.mmdb"), NULL, rg, NCASES(rg), &d);
    if (!ok(gt != NULL, "build GeoLite2-Country-Test")) {
        diag_print(&d, stdout);
        return;
    }
    /* GeoLite2-Country-Test.json: 2.125.160.216/29 GB, 67.43.156.0/24 BT,
     * 217.65.48.0/29 GI, 50.114.0.0/22 US, 2001:480::/43 US */
    static const look_case_t c2[] = {
        {"2.125.160.216", 1, 29, "2.125.160.216/29 GB"},
        {"67.43.156.77", 3, 24, "67.43.156.0/24 BT"},
        {"217.65.48.3", 1, 29, "217.65.48.0/29 GI"},
        {"50.114.1.2", 2, 22, "50.114.0.0/22 US"},
        {"2001:480:1f::1", 2, 43, "2001:480::/43 US"},
    };
    check_cases(gt, "lite-country", c2, NCASES(c2));
    geo_table_free(gt);
}

static void test_country_subdivision(void)
{
    const geo_region_t rg[] = {
        {.id = 1, .name = "eu", .continents = c_eu, .ncontinents = 1},
        {.id = 2, .name = "na", .continents = c_na, .ncontinents = 1},
        {.id = 4, .name = "gb", .parent = 1, .countries = cc_gb, .ncountries = 1},
    };
    static const look_case_t c[] = {
        {"2.125.160.216", 4, 29, "GB beats EU"},
        {"81.2.69.142", 4, 31, "81.2.69.142/31 GB, merged up to .207"},
        {"81.2.69.160", 4, 27, "81.2.69.160/27 inside [.142, .207]"},
        {"81.2.69.150", 4, 28, "81.2.69.144/28"},
        {"81.2.69.200", 4, 28, "81.2.69.192/28"},
        {"2a02:d3c0::1", 4, 29, "2a02:d3c0::/29 GB"},
        {"89.160.20.112", 1, 28, "SE: continent"},
    };
    diag_t d = {0};
    geo_table_t *gt = geo_table_build(gpath("GeoIP2-City-Test.mmdb"), NULL, rg, NCASES(rg), &d);
    if (!ok(gt != NULL, "build with a country region")) {
        diag_print(&d, stdout);
        return;
    }
    check_cases(gt, "country", c, NCASES(c));
    geo_table_free(gt);

    const geo_region_t rs[] = {
        {.id = 2, .name = "na", .continents = c_na, .ncontinents = 1},
        {.id = 5, .name = "us", .parent = 2, .countries = cc_us, .ncountries = 1},
        {.id = 6, .name = "us-wa", .parent = 5, .subdivisions = s_wa, .nsubdivisions = 1},
        {.id = 8, .name = "eng", .subdivisions = s_eng, .nsubdivisions = 1},
        {.id = 9, .name = "wbk", .subdivisions = s_wbk, .nsubdivisions = 1},
    };
    static const look_case_t cs[] = {
        {"216.160.83.56", 6, 29, "US-WA beats US and NA"},
        {"216.160.83.64", 6, 29, "216.160.83.64/29 US-WA"},
        {"2001:480:10::1", 5, 48, "US-CA: no region, country US"},
        {"149.101.100.1", 5, 28, "US without subdivision"},
        {"2.125.160.216", 9, 29, "GB-ENG then GB-WBK: the most specific wins"},
        {"81.2.69.142", 8, 31, "GB-ENG only"},
        {"2.2.3.1", 9, 24, "2.2.3.0/24 GB-ENG, GB-WBK"},
    };
    gt = geo_table_build(gpath("GeoIP2-City-Test.mmdb"), NULL, rs, NCASES(rs), &d);
    if (!ok(gt != NULL, "build with subdivision regions")) {
        diag_print(&d, stdout);
        return;
    }
    check_cases(gt, "subdivision", cs, NCASES(cs));
    geo_table_free(gt);
}

static void test_cidrs(void)
{
    const geo_cidr_t x[] = {cidr("2.125.160.0/24"), cidr("2001:218::/48")};
    const geo_cidr_t y[] = {cidr("2.125.160.216/30")};
    const geo_cidr_t z[] = {cidr("2001:218::/48")}; /* same as x's: x is listed first */
    const geo_region_t rg[] = {
        {.id = 3, .name = "as", .continents = c_as, .ncontinents = 1},
        {.id = 4, .name = "gb", .countries = cc_gb, .ncountries = 1},
        {.id = 10, .name = "x", .cidrs = x, .ncidrs = 2},
        {.id = 11, .name = "y", .cidrs = y, .ncidrs = 1},
        {.id = 12, .name = "z", .cidrs = z, .ncidrs = 1},
    };
    static const look_case_t c[] = {
        {"2.125.160.217", 11, 30, "/30 beats /24 beats the DB"},
        {"2.125.160.220", 10, 30, "/24 beats the DB's /29"},
        {"2.125.160.1", 10, 25, "/24, outside the /30"},
        {"2001:218::1", 10, 48, "IPv6 CIDR beats the DB; equal CIDRs: the first listed"},
        {"2001:218:1::1", 3, 48, "DB again past the /48"},
        {"81.2.69.142", 4, 31, "untouched DB range"},
        {"::ffff:2.125.160.217", 11, 126, "IPv4-mapped: IPv4 CIDR, scope 96 + 30"},
    };
    diag_t d = {0};
    geo_table_t *gt = geo_table_build(gpath("GeoIP2-City-Test.mmdb"), NULL, rg, NCASES(rg), &d);
    if (!ok(gt != NULL, "build with CIDR regions")) {
        diag_print(&d, stdout);
        return;
    }
    check_cases(gt, "cidr", c, NCASES(c));
    geo_table_free(gt);
}

static void test_nearest(void)
{
    const geo_region_t rg[] = {
        {.id = 1, .name = "eu", .continents = c_eu, .ncontinents = 1},
        {.id = 20, .name = "tokyo", .has_coords = true, .lat = 35.69, .lon = 139.69},
        {.id = 21, .name = "london", .has_coords = true, .lat = 51.51, .lon = -0.13},
        {.id = 22, .name = "nyc", .has_coords = true, .lat = 40.71, .lon = -74.01},
    };
    static const look_case_t c[] = {
        {"81.2.69.142", 1, 31, "continent EU beats coordinates"},
        {"2001:218::1", 20, 32, "JP (35.69, 139.75) -> tokyo"},
        {"216.160.83.56", 22, 29, "Seattle -> nyc (3900 km; london 7700)"},
        {"214.78.120.1", 22, 22, "San Diego -> nyc"},
        {"175.16.199.1", 20, 24, "Changchun -> tokyo"},
        {"214.0.1.1", 20, 23, "Melbourne -> tokyo"},
        {"214.1.1.1", 0, 16, "no coordinates: default"},
        {"2.3.3.1", 1, 24, "continent only"},
    };
    diag_t d = {0};
    geo_table_t *gt = geo_table_build(gpath("GeoIP2-City-Test.mmdb"), NULL, rg, NCASES(rg), &d);
    if (!ok(gt != NULL, "build with coordinate regions")) {
        diag_print(&d, stdout);
        return;
    }
    check_cases(gt, "nearest", c, NCASES(c));
    geo_table_free(gt);
}

static void test_mapped_and_aliases(void)
{
    const geo_region_t rg[] = {
        {.id = 4, .name = "gb", .countries = cc_gb, .ncountries = 1},
    };
    /* mmdblookup gives prefix lengths 125, 45, 61, 125 for these */
    static const look_case_t c[] = {
        {"2.125.160.216", 4, 29, "IPv4"},
        {"::ffff:2.125.160.216", 4, 125, "IPv4-mapped: 96 + 29"},
        {"::2.125.160.216", 4, 125, "the DB's ::/96 IPv4 tree"},
        {"2002:27d:a0d8::1", 4, 45, "6to4 alias 2002::/16: 16 + 29"},
        {"2001:0:27d:a0d8::1", 4, 61, "Teredo alias 2001::/32: 32 + 29"},
        {"2002:a00::1", 0, 21, "6to4 of 10.0.0.0: not in the DB"},
    };
    diag_t d = {0};
    geo_table_t *gt = geo_table_build(gpath("GeoIP2-City-Test.mmdb"), NULL, rg, NCASES(rg), &d);
    if (!ok(gt != NULL, "build for mapped addresses")) {
        diag_print(&d, stdout);
        return;
    }
    check_cases(gt, "mapped", c, NCASES(c));
    uint8_t b[16];
    uint8_t sc = 7;
    parse_addr("2.125.160.216", b);
    is_int(geo_lookup(gt, AF_UNIX, b, &sc), 0, "unknown family: default");
    is_int(sc, 0, "unknown family: scope 0");
    is_int(geo_lookup(NULL, AF_INET, b, &sc), 0, "no table: default");
    is_int(geo_lookup(gt, AF_INET, b, NULL), 4, "scope pointer may be NULL");
    geo_table_free(gt);

    /* a v6 CIDR over an alias wins; a v4 CIDR reaches aliased addresses */
    const geo_cidr_t v6[] = {cidr("2002:27d::/32")}, v4[] = {cidr("10.0.0.0/8")};
    const geo_cidr_t mapped[] = {cidr("::ffff:192.0.2.0/120")};
    const geo_region_t rc[] = {
        {.id = 4, .name = "gb", .countries = cc_gb, .ncountries = 1},
        {.id = 30, .name = "six", .cidrs = v6, .ncidrs = 1},
        {.id = 31, .name = "ten", .cidrs = v4, .ncidrs = 1},
        {.id = 32, .name = "mapped", .cidrs = mapped, .ncidrs = 1},
    };
    static const look_case_t c2[] = {
        {"2002:27d:a0d8::1", 30, 32, "IPv6 CIDR over the 6to4 alias"},
        {"2002:a01:203::1", 31, 24, "6to4 of 10.1.2.3: IPv4 CIDR, 16 + 8"},
        {"::ffff:10.9.9.9", 31, 104, "mapped: IPv4 CIDR, 96 + 8"},
        {"192.0.2.7", 32, 24, "::ffff:192.0.2.0/120 is the IPv4 CIDR 192.0.2.0/24"},
    };
    gt = geo_table_build(gpath("GeoIP2-City-Test.mmdb"), NULL, rc, NCASES(rc), &d);
    if (!ok(gt != NULL, "build with CIDRs over aliases")) {
        diag_print(&d, stdout);
        return;
    }
    check_cases(gt, "alias-cidr", c2, NCASES(c2));
    geo_table_free(gt);
}

static void test_no_db(void)
{
    const geo_cidr_t a[] = {cidr("10.0.0.0/8"), cidr("2001:db8::/32")};
    const geo_cidr_t b[] = {cidr("10.1.0.0/16")};
    const geo_region_t rg[] = {
        {.id = 1, .name = "a", .cidrs = a, .ncidrs = 2},
        {.id = 2, .name = "b", .parent = 1, .cidrs = b, .ncidrs = 1},
    };
    static const look_case_t c[] = {
        {"10.1.2.3", 2, 16, "longest CIDR"},
        {"10.0.0.1", 1, 16, "10.0.0.0 - 10.0.255.255"},
        {"10.2.0.0", 1, 15, "10.2.0.0 - 10.255.255.255"},
        {"10.200.0.0", 1, 9, "10.128.0.0/9"},
        {"8.8.8.8", 0, 7, "default below 10/8: 8.0.0.0/7"},
        {"255.255.255.255", 0, 1, "default above 10/8: 128.0.0.0/1"},
        {"2001:db8::1", 1, 32, "IPv6 CIDR"},
        {"2001:db9::1", 0, 32, "next to it"},
        {"::1", 0, 3, "::/3 before 2001:db8::"},
        {"::ffff:10.1.0.1", 2, 112, "mapped: 96 + 16"},
    };
    diag_t d = {0};
    geo_table_t *gt = geo_table_build(NULL, NULL, rg, NCASES(rg), &d);
    if (!ok(gt != NULL, "build without a DB")) {
        diag_print(&d, stdout);
        return;
    }
    check_cases(gt, "no-db", c, NCASES(c));
    size_t n4, n6;
    geo_table_stats(gt, &n4, &n6);
    is_int(n4, 5, "no-db: 5 IPv4 ranges (default, a, b, a, default)");
    is_int(n6, 3, "no-db: 3 IPv6 ranges (default, a, default)");
    geo_table_free(gt);

    gt = geo_table_build(NULL, NULL, NULL, 0, &d);
    static const look_case_t c0[] = {
        {"8.8.8.8", 0, 0, "nothing: the whole space is default"},
        {"2001:db8::1", 0, 0, "nothing, IPv6"},
        {"::ffff:8.8.8.8", 0, 96, "nothing, mapped: 96 + 0"},
    };
    if (ok(gt != NULL, "build with nothing at all")) {
        check_cases(gt, "empty", c0, NCASES(c0));
    }
    geo_table_free(gt);
}

static void test_simple_schema(void)
{
    const geo_region_t rg[] = {
        {.id = 1, .name = "eu", .continents = c_eu, .ncontinents = 1},
        {.id = 2, .name = "na", .continents = c_na, .ncontinents = 1},
        {.id = 7, .name = "oc", .continents = c_oc, .ncontinents = 1},
        {.id = 8, .name = "af", .continents = c_af, .ncontinents = 1},
        {.id = 9, .name = "sa", .continents = c_sa, .ncontinents = 1},
        {.id = 4, .name = "de", .parent = 1, .countries = cc_de, .ncountries = 1},
    };
    /* mmdblookup: 8.8.8.8 US, 1.1.1.0/24 AU, 5.9.0.0/16 DE, 41.0.0.1 ZA, 200.160.0.1 BR,
     * 2a00:1450::/29 IE, 2a01:4f8::/32 DE */
    static const struct {
        const char *addr;
        uint16_t region;
    } c[] = {{"8.8.8.8", 2}, {"1.1.1.1", 7}, {"5.9.0.1", 4}, {"41.0.0.1", 8},
             {"200.160.0.1", 9}, {"2a00:1450:4001::1", 1}, {"2a01:4f8::1", 4}};
    diag_t d = {0};
    geo_table_t *gt =
        geo_table_build(gpath("geo-whois-asn-country.mmdb"), NULL, rg, NCASES(rg), &d);
    if (!ok(gt != NULL, "build the full-size country_code DB")) {
        diag_print(&d, stdout);
        return;
    }
    for (size_t i = 0; i < NCASES(c); i++) {
        int sc;
        is_int(look(gt, c[i].addr, &sc), c[i].region, "country_code schema: %s -> %u", c[i].addr,
               c[i].region);
    }
    int sc;
    look(gt, "1.1.1.1", &sc);
    ok(sc >= 8 && sc <= 24, "1.1.1.1 scope /%d covers at most the DB's 1.1.1.0/24", sc);
    size_t n4, n6;
    geo_table_stats(gt, &n4, &n6);
    ok(n4 > 10000 && n6 > 10000, "full-size DB: %zu v4 and %zu v6 ranges", n4, n6);
    geo_table_free(gt);

    /* explicit paths give the same answers */
    static const char *const p_cc[] = {"country_code", NULL};
    const geo_paths_t paths = {.country = p_cc};
    gt = geo_table_build(gpath("geo-whois-asn-country.mmdb"), &paths, rg, NCASES(rg), &d);
    if (ok(gt != NULL, "build with explicit paths")) {
        is_int(look(gt, "5.9.0.1", &sc), 4, "explicit country_code path: 5.9.0.1 -> de");
    }
    geo_table_free(gt);
}

/* ---- a tiny MMDB writer: IPv4 DBs, and trees with loops ---- */

typedef struct buf {
    uint8_t b[4096];
    size_t n;
} buf_t;

static void put(buf_t *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void put_ctrl(buf_t *b, int type, size_t size)
{
    uint8_t c[2];
    if (type <= 7) {
        c[0] = (uint8_t)(type << 5 | size);
        put(b, c, 1);
    } else {
        c[0] = (uint8_t)size;
        c[1] = (uint8_t)(type - 7);
        put(b, c, 2);
    }
}

static void put_str(buf_t *b, const char *s)
{
    put_ctrl(b, 2, strlen(s));
    put(b, s, strlen(s));
}

static void put_uint(buf_t *b, int type, uint64_t v, size_t bytes)
{
    put_ctrl(b, type, bytes);
    for (size_t i = bytes; i-- > 0;) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        put(b, &c, 1);
    }
}

typedef struct mw_node {
    uint32_t rec[2]; /* final record values */
} mw_node_t;

enum { MW_OK, MW_LOOP, MW_EXPLODE };

/*
 * Write an IPv4 DB: networks @p nets ("a.b.c.d/len") with country codes @p cc.
 * MW_LOOP: one record points back at its own node; MW_EXPLODE: a chain of 31
 * nodes whose both records point at the next (2^31 paths). 24-bit records.
 */
static int mmdb_write_v4(const char *path, const char *const *nets, const char *const *cc,
                         size_t n, int mode)
{
    enum { MAXN = 600 };
    static int child[MAXN][2]; /* >0 node, 0 empty, <0 -(1 + data index) */
    static mw_node_t nodes[MAXN];
    int nn = 1;
    memset(child, 0, sizeof(child));
    if (mode == MW_EXPLODE) {
        nn = 31;
        for (int i = 0; i < 30; i++) {
            child[i][0] = child[i][1] = i + 1;
        }
        child[30][0] = child[30][1] = -1;
        n = 1;
    }
    for (size_t i = 0; i < n && mode != MW_EXPLODE; i++) {
        geo_cidr_t c = cidr(nets[i]);
        uint32_t a = (uint32_t)c.addr[0] << 24 | c.addr[1] << 16 | c.addr[2] << 8 | c.addr[3];
        int node = 0;
        for (unsigned depth = 0; depth < c.len; depth++) {
            int bit = (a >> (31 - depth)) & 1;
            if (depth + 1 == c.len) {
                child[node][bit] = -(int)(1 + i);
            } else {
                if (child[node][bit] <= 0) {
                    child[node][bit] = nn++;
                }
                node = child[node][bit];
            }
        }
    }
    if (mode == MW_LOOP) {
        child[1][0] = 1;
    }
    buf_t data = {.n = 0};
    uint32_t off[16];
    for (size_t i = 0; i < n; i++) {
        off[i] = (uint32_t)data.n;
        put_ctrl(&data, 7, 1);
        put_str(&data, "country_code");
        put_str(&data, mode == MW_EXPLODE ? "DE" : cc[i]);
    }
    for (int i = 0; i < nn; i++) {
        for (int s = 0; s < 2; s++) {
            int v = child[i][s];
            nodes[i].rec[s] = v > 0 ? (uint32_t)v
                              : v == 0 ? (uint32_t)nn
                                       : (uint32_t)nn + 16 + off[-v - 1];
        }
    }
    buf_t meta = {.n = 0};
    put(&meta, "\xab\xcd\xefMaxMind.com", 14);
    put_ctrl(&meta, 7, 9);
    put_str(&meta, "node_count");
    put_uint(&meta, 6, (uint64_t)nn, 4);
    put_str(&meta, "record_size");
    put_uint(&meta, 5, 24, 2);
    put_str(&meta, "ip_version");
    put_uint(&meta, 5, 4, 2);
    put_str(&meta, "database_type");
    put_str(&meta, "t_geo-IPv4");
    put_str(&meta, "languages");
    put_ctrl(&meta, 11, 0);
    put_str(&meta, "binary_format_major_version");
    put_uint(&meta, 5, 2, 2);
    put_str(&meta, "binary_format_minor_version");
    put_uint(&meta, 5, 0, 2);
    put_str(&meta, "build_epoch");
    put_uint(&meta, 9, 1700000000, 8);
    put_str(&meta, "description");
    put_ctrl(&meta, 7, 0);
    FILE *f = fopen(path, "wb");
    if (!f) {
        return -1;
    }
    for (int i = 0; i < nn; i++) {
        uint8_t r[6];
        for (int s = 0; s < 2; s++) {
            r[3 * s] = (uint8_t)(nodes[i].rec[s] >> 16);
            r[3 * s + 1] = (uint8_t)(nodes[i].rec[s] >> 8);
            r[3 * s + 2] = (uint8_t)nodes[i].rec[s];
        }
        fwrite(r, 1, 6, f);
    }
    static const uint8_t zero[16];
    fwrite(zero, 1, 16, f);
    fwrite(data.b, 1, data.n, f);
    fwrite(meta.b, 1, meta.n, f);
    return fclose(f) == 0 ? 0 : -1;
}

static void test_ipv4_db(void)
{
    static const char *const nets[] = {"5.9.0.0/16", "8.8.8.0/24", "81.2.69.128/25"};
    static const char *const cc[] = {"DE", "US", "GB"};
    if (mmdb_write_v4(tpath("v4.mmdb"), nets, cc, 3, MW_OK) != 0) {
        ok(0, "write an IPv4-only DB");
        return;
    }
    const geo_region_t rg[] = {
        {.id = 1, .name = "eu", .continents = c_eu, .ncontinents = 1},
        {.id = 2, .name = "na", .continents = c_na, .ncontinents = 1},
    };
    static const look_case_t c[] = {
        {"5.9.1.2", 1, 16, "IPv4 DB: DE -> EU"},
        {"8.8.8.8", 2, 24, "IPv4 DB: US -> NA"},
        {"81.2.69.142", 1, 25, "IPv4 DB: GB"},
        {"81.2.69.1", 0, 25, "IPv4 DB: absent"},
        {"::ffff:8.8.8.8", 2, 120, "IPv4 DB, mapped"},
        {"2001:db8::1", 0, 0, "IPv4 DB knows no IPv6"},
    };
    diag_t d = {0};
    geo_table_t *gt = geo_table_build(tpath("v4.mmdb"), NULL, rg, NCASES(rg), &d);
    if (!ok(gt != NULL, "build an IPv4-only DB (ip_version 4)")) {
        diag_print(&d, stdout);
        return;
    }
    check_cases(gt, "ipv4-db", c, NCASES(c));
    geo_table_free(gt);

    ok(mmdb_write_v4(tpath("loop.mmdb"), nets, cc, 3, MW_LOOP) == 0, "write a DB with a loop");
    memset(&d, 0, sizeof(d));
    gt = geo_table_build(tpath("loop.mmdb"), NULL, rg, NCASES(rg), &d);
    ok(gt == NULL && d.text[0], "search tree loop refused: %s", d.text);
    geo_table_free(gt);
    ok(mmdb_write_v4(tpath("explode.mmdb"), NULL, NULL, 0, MW_EXPLODE) == 0,
       "write a DB with 2^31 paths through 31 nodes");
    memset(&d, 0, sizeof(d));
    gt = geo_table_build(tpath("explode.mmdb"), NULL, rg, NCASES(rg), &d);
    ok(gt == NULL && d.text[0], "exploding shared subtrees refused: %s", d.text);
    geo_table_free(gt);
}

/* ---- broken DBs and bad regions ---- */

static void copy_prefix(const char *from, const char *to, long keep)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out) {
        printf("# cannot copy %s\n", from);
        exit(2);
    }
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    if (keep < 0) {
        keep = size + keep;
    }
    char *b = malloc((size_t)size);
    if (!b || fread(b, 1, (size_t)size, in) != (size_t)size) {
        exit(2);
    }
    fwrite(b, 1, (size_t)keep, out);
    free(b);
    fclose(in);
    fclose(out);
}

static void test_broken(void)
{
    const geo_region_t rg[] = {
        {.id = 1, .name = "eu", .continents = c_eu, .ncontinents = 1},
    };
    copy_prefix(gpath("GeoIP2-City-Test.mmdb"), tpath("half.mmdb"), 11000);
    copy_prefix(gpath("GeoIP2-City-Test.mmdb"), tpath("tail.mmdb"), -20);
    static const struct {
        bool tmp;
        const char *name;
    } files[] = {
        {false, "GeoIP2-City-Test-Broken-Double-Format.mmdb"},
        {false, "MaxMind-DB-test-broken-pointers-24.mmdb"},
        {false, "MaxMind-DB-test-broken-search-tree-24.mmdb"},
        {false, "GeoIP2-City-Test-Invalid-Node-Count.mmdb"},
        {true, "half.mmdb"},
        {true, "tail.mmdb"},
        {false, "LICENSE-MIT"},
        {false, "no-such-file.mmdb"},
        {false, "."},
    };
    for (size_t i = 0; i < NCASES(files); i++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s", files[i].tmp ? tpath(files[i].name)
                                                        : gpath(files[i].name));
        diag_t d = {0};
        geo_table_t *gt = geo_table_build(path, NULL, rg, NCASES(rg), &d);
        ok(gt == NULL && d.text[0] && strcmp(d.file, path) == 0, "%s refused: %s",
           files[i].name, d.text);
        geo_table_free(gt);
        memset(&d, 0, sizeof(d));
        geo_explain_t x;
        int rc = geo_explain(path, NULL, rg, NCASES(rg), "2.125.160.216", &x, &d);
        ok(rc < 0 && d.text[0], "%s: explain refuses it too (%d)", files[i].name, rc);
    }
}

static void test_bad_regions(void)
{
    static const char *const bad_cc[] = {"DEU"}, *const bad_sub[] = {"USCA"};
    static const char *const bad_cont[] = {"E"};
    const geo_cidr_t c33 = {.family = AF_INET, .len = 33};
    const geo_cidr_t cfam = {.family = 99, .len = 8};
    struct {
        const char *name;
        geo_region_t r[2];
        size_t n;
    } c[] = {
        {"id 0", {{.id = 0, .name = "zero"}}, 1},
        {"id 0xFFFF", {{.id = 0xFFFF, .name = "ffff"}}, 1},
        {"duplicate id", {{.id = 1, .name = "a"}, {.id = 1, .name = "b"}}, 2},
        {"unknown parent", {{.id = 1, .name = "a", .parent = 9}}, 1},
        {"parent loop", {{.id = 1, .name = "a", .parent = 2}, {.id = 2, .name = "b", .parent = 1}},
         2},
        {"own parent", {{.id = 1, .name = "a", .parent = 1}}, 1},
        {"bad country", {{.id = 1, .name = "a", .countries = bad_cc, .ncountries = 1}}, 1},
        {"bad subdivision", {{.id = 1, .name = "a", .subdivisions = bad_sub, .nsubdivisions = 1}},
         1},
        {"bad continent", {{.id = 1, .name = "a", .continents = bad_cont, .ncontinents = 1}}, 1},
        {"CIDR /33", {{.id = 1, .name = "a", .cidrs = &c33, .ncidrs = 1}}, 1},
        {"CIDR family", {{.id = 1, .name = "a", .cidrs = &cfam, .ncidrs = 1}}, 1},
        {"latitude 91", {{.id = 1, .name = "a", .has_coords = true, .lat = 91}}, 1},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        diag_t d = {0};
        geo_table_t *gt = geo_table_build(NULL, NULL, c[i].r, c[i].n, &d);
        ok(gt == NULL && d.text[0], "bad region (%s) refused: %s", c[i].name, d.text);
        geo_table_free(gt);
    }
}

/* ---- geo_explain ---- */

/* The decision as data (dnsctl formats it: t_dnsctl_geo.sh checks the text and JSON). */
static int explain(const char *db, const geo_region_t *rg, size_t n, const char *addr,
                   geo_explain_t *x)
{
    diag_t d = {0};
    int rc = geo_explain(db, NULL, rg, n, addr, x, &d);
    if (rc) {
        printf("# explain %s: %s\n", addr, d.text);
    }
    return rc;
}

static void test_explain(void)
{
    const geo_cidr_t y[] = {cidr("2.125.160.216/30")};
    const geo_region_t rg[] = {
        {.id = 1, .name = "eu \"quoted\"", .continents = c_eu, .ncontinents = 1},
        {.id = 4, .name = "gb", .parent = 1, .countries = cc_gb, .ncountries = 1},
        {.id = 11, .name = "y", .parent = 4, .cidrs = y, .ncidrs = 1},
        {.id = 6, .name = "us-wa", .subdivisions = s_wa, .nsubdivisions = 1},
    };
    const char *db = gpath("GeoIP2-City-Test.mmdb");
    geo_explain_t *x = calloc(1, sizeof(*x));
    int rc = explain(db, rg, NCASES(rg), "81.2.69.142", x);
    is_int(rc, 0, "explain 81.2.69.142");
    ok(x->have_db && x->found && x->db_ip_version == 6 && x->db_type[0], "DB found, its metadata");
    is_str(x->network, "81.2.69.142/31", "DB network");
    ok(x->nsub >= 1 && strcmp(x->sub[0], "GB-ENG") == 0, "subdivision");
    ok(x->has_location && fabs(x->lat - 51.5142) < 1e-3 && fabs(x->lon + 0.0931) < 1e-3,
       "location");
    ok(x->region.id == 4 && strcmp(x->region.name, "gb") == 0, "region");
    is_str(x->matched_by, "country", "matched by country");
    is_str(x->match, "GB", "what matched");
    ok(x->nchain == 3 && x->chain[0].id == 4 && x->chain[1].id == 1 &&
           strcmp(x->chain[1].name, "eu \"quoted\"") == 0 && x->chain[2].id == 0 &&
           strcmp(x->chain[2].name, "default") == 0 && !x->chain_truncated,
       "chain gb -> eu -> default");
    is_int(x->scope, 31, "scope");
    is_int(x->table_region, x->region.id, "the table agrees");

    static const struct {
        const char *addr;
        const char *field, *want;
    } cases[] = {
        {"2.125.160.217", "cidr", "2.125.160.216/30"},
        {"::ffff:216.160.83.56", "matched_by", "subdivision"},
        {"2002:27d:a0d8::1", "via", "the DB's alias 2002::/16 of its IPv4 tree"},
        {"10.0.0.1", "found", "false"},
        {"2001:218::1", "network", "2001:218::/32"},
        {"214.1.1.1", "country", ""},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        rc = explain(db, rg, NCASES(rg), cases[i].addr, x);
        is_int(rc, 0, "explain %s", cases[i].addr);
        const char *f = cases[i].field;
        const char *got = strcmp(f, "cidr") == 0         ? x->cidr
                          : strcmp(f, "matched_by") == 0 ? x->matched_by
                          : strcmp(f, "via") == 0        ? x->via
                          : strcmp(f, "found") == 0      ? (x->found ? "true" : "false")
                          : strcmp(f, "network") == 0    ? x->network
                                                         : x->country;
        is_str(got, cases[i].want, "explain %s: %s", cases[i].addr, f);
        /* the explanation and the compiled table agree, scope included */
        int sc;
        geo_table_t *gt = geo_table_build(db, NULL, rg, NCASES(rg), NULL);
        uint16_t r = look(gt, cases[i].addr, &sc);
        geo_table_free(gt);
        ok(x->region.id == r && x->table_region == r, "explain %s: region %u as the table",
           cases[i].addr, r);
        is_int(x->scope, sc, "explain %s: scope as the table", cases[i].addr);
    }
    rc = explain(db, rg, NCASES(rg), "2.125.160.217", x);
    ok(rc == 0 && x->has_cidr && x->cidr_region == 11 && x->nchain == 4 && x->chain[0].id == 11 &&
           x->chain[1].id == 4 && x->chain[2].id == 1 && x->chain[3].id == 0,
       "the CIDR's region, chain walks parents to default");
    rc = explain(NULL, rg, NCASES(rg), "2.125.160.1", x);
    ok(rc == 0 && !x->have_db && !x->found && x->region.id == 0, "without a DB");
    diag_t d = {0};
    rc = geo_explain(db, NULL, rg, NCASES(rg), "not-an-address", x, &d);
    ok(rc < 0 && d.text[0], "explain: bad address refused: %s", d.text);
    free(x);
}

/* ---- consistency with a slow reference ---- */

typedef struct ref {
    MMDB_s db;
    bool maxmind; /* country.iso_code etc., else top-level country_code */
    const geo_region_t *rg;
    size_t n;
    const char *const *aliases; /* the DB's IPv6 prefixes that lead to its IPv4 tree */
    size_t naliases;
} ref_t;

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned len)
{
    for (unsigned i = 0; i < len; i++) {
        unsigned bit = 7 - (i & 7);
        if (((a[i >> 3] >> bit) & 1) != ((net[i >> 3] >> bit) & 1)) {
            return false;
        }
    }
    return true;
}

static bool get_str(MMDB_entry_s *e, char *out, size_t cap, ...)
{
    MMDB_entry_data_s v;
    va_list ap;
    va_start(ap, cap);
    int rc = MMDB_vget_value(e, &v, ap);
    va_end(ap);
    if (rc != MMDB_SUCCESS || !v.has_data || v.type != MMDB_DATA_TYPE_UTF8_STRING ||
        v.data_size >= cap) {
        return false;
    }
    memcpy(out, v.utf8_string, v.data_size);
    out[v.data_size] = 0;
    return true;
}

static bool lists(const char *const *l, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(l[i], code) == 0) {
            return true;
        }
    }
    return false;
}

/* The rules of geo.h, written out plainly for one address. */
static uint16_t ref_region(ref_t *rf, int fam, const uint8_t *addr)
{
    if (fam == AF_INET6 && memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
        fam = AF_INET;
        addr += 12;
    }
    int best = -1;
    uint16_t id = 0;
    uint8_t v4[4];
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < rf->n; i++) {
            for (size_t j = 0; j < rf->rg[i].ncidrs; j++) {
                const geo_cidr_t *c = &rf->rg[i].cidrs[j];
                if (c->family == fam && prefix_match(addr, c->addr, c->len) && c->len > best) {
                    best = c->len;
                    id = rf->rg[i].id;
                }
            }
        }
        if (best >= 0 || fam == AF_INET || pass == 1) {
            break;
        }
        /* no IPv6 CIDR: an address the DB aliases to its IPv4 tree is that IPv4 address */
        for (size_t k = 0; k < rf->naliases; k++) {
            geo_cidr_t al = cidr(rf->aliases[k]);
            if (prefix_match(addr, al.addr, al.len)) {
                for (int b = 0; b < 32; b++) {
                    unsigned from = al.len + (unsigned)b;
                    int bit = (addr[from >> 3] >> (7 - (from & 7))) & 1;
                    v4[b >> 3] = (uint8_t)((v4[b >> 3] << 1) | bit);
                }
                fam = AF_INET;
                addr = v4;
                break;
            }
        }
        if (fam != AF_INET) {
            break;
        }
    }
    if (best >= 0) {
        return id;
    }
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    int err;
    MMDB_lookup_result_s res;
    if (fam == AF_INET) {
        memcpy(&s4.sin_addr, addr, 4);
        res = MMDB_lookup_sockaddr(&rf->db, (struct sockaddr *)&s4, &err);
    } else {
        memcpy(&s6.sin6_addr, addr, 16);
        res = MMDB_lookup_sockaddr(&rf->db, (struct sockaddr *)&s6, &err);
    }
    if (err != MMDB_SUCCESS || !res.found_entry) {
        return 0;
    }
    char cc[8] = "", cont[8] = "", sub[8][16];
    int nsub = 0;
    if (rf->maxmind) {
        get_str(&res.entry, cc, sizeof(cc), "country", "iso_code", NULL);
        get_str(&res.entry, cont, sizeof(cont), "continent", "code", NULL);
        for (int i = 0; i < 8 && cc[0]; i++) {
            char idx[4], v[8];
            snprintf(idx, sizeof(idx), "%d", i);
            if (!get_str(&res.entry, v, sizeof(v), "subdivisions", idx, "iso_code", NULL)) {
                break;
            }
            snprintf(sub[nsub++], sizeof(sub[0]), "%s-%s", cc, v);
        }
    } else {
        get_str(&res.entry, cc, sizeof(cc), "country_code", NULL);
    }
    if (!cont[0] && cc[0] && geo_country_continent(cc)) {
        snprintf(cont, sizeof(cont), "%s", geo_country_continent(cc));
    }
    for (int s = nsub - 1; s >= 0; s--) {
        for (size_t i = 0; i < rf->n; i++) {
            if (lists(rf->rg[i].subdivisions, rf->rg[i].nsubdivisions, sub[s])) {
                return rf->rg[i].id;
            }
        }
    }
    for (size_t i = 0; cc[0] && i < rf->n; i++) {
        if (lists(rf->rg[i].countries, rf->rg[i].ncountries, cc)) {
            return rf->rg[i].id;
        }
    }
    for (size_t i = 0; cont[0] && i < rf->n; i++) {
        if (lists(rf->rg[i].continents, rf->rg[i].ncontinents, cont)) {
            return rf->rg[i].id;
        }
    }
    MMDB_entry_data_s lat, lon;
    if (rf->maxmind &&
        MMDB_get_value(&res.entry, &lat, "location", "latitude", NULL) == MMDB_SUCCESS &&
        MMDB_get_value(&res.entry, &lon, "location", "longitude", NULL) == MMDB_SUCCESS &&
        lat.has_data && lon.has_data) {
        double best_km = 1e9;
        id = 0;
        for (size_t i = 0; i < rf->n; i++) {
            if (!rf->rg[i].has_coords) {
                continue;
            }
            double r = M_PI / 180, p1 = lat.double_value * r, p2 = rf->rg[i].lat * r;
            double dp = p2 - p1, dl = (rf->rg[i].lon - lon.double_value) * r;
            double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
            double km = 2 * 6371 * asin(sqrt(h));
            if (km < best_km) {
                best_km = km;
                id = rf->rg[i].id;
            }
        }
        return id;
    }
    return 0;
}

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Random address: @p len bits of @p base kept, the rest random. */
static void rand_addr(uint8_t *a, const uint8_t *base, unsigned len, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        a[i] = (uint8_t)rng();
    }
    for (unsigned i = 0; i < len; i++) {
        unsigned bit = 7 - (i & 7);
        a[i >> 3] = (uint8_t)((a[i >> 3] & ~(1u << bit)) | (base[i >> 3] & (1u << bit)));
    }
}

/* The first (@p last false) or last address of the /scope block around @p a. */
static void block_end(uint8_t *out, const uint8_t *a, unsigned scope, unsigned bytes, bool last)
{
    for (unsigned i = 0; i < bytes; i++) {
        unsigned keep = scope >= 8 * (i + 1) ? 8 : scope > 8 * i ? scope - 8 * i : 0;
        uint8_t m = (uint8_t)(keep ? 0xff << (8 - keep) : 0);
        out[i] = last ? (uint8_t)(a[i] | ~m) : (uint8_t)(a[i] & m);
    }
}

static void consistency(const char *label, const char *db, bool maxmind, const geo_region_t *rg,
                        size_t n, const char *const *aliases, size_t naliases,
                        const char *const *bases, size_t nbases, int count)
{
    ref_t rf = {.maxmind = maxmind, .rg = rg, .n = n, .aliases = aliases, .naliases = naliases};
    if (MMDB_open(db, MMDB_MODE_MMAP, &rf.db) != MMDB_SUCCESS) {
        ok(0, "%s: open the reference", label);
        return;
    }
    diag_t d = {0};
    geo_table_t *gt = geo_table_build(db, NULL, rg, n, &d);
    if (!ok(gt != NULL, "%s: build", label)) {
        diag_print(&d, stdout);
        MMDB_close(&rf.db);
        return;
    }
    int bad_region = 0, bad_block = 0, shown = 0, non_default = 0;
    for (int i = 0; i < count; i++) {
        uint8_t a[16], lo[16], hi[16];
        geo_cidr_t b = cidr(bases[rng() % nbases]);
        unsigned bytes = b.family == AF_INET ? 4 : 16;
        rand_addr(a, b.addr, b.len, bytes);
        uint8_t scope;
        uint16_t r = geo_lookup(gt, b.family, a, &scope);
        uint16_t want = ref_region(&rf, b.family, a);
        block_end(lo, a, scope, bytes, false);
        block_end(hi, a, scope, bytes, true);
        bool block_ok = scope <= 8 * bytes && ref_region(&rf, b.family, lo) == r &&
                        ref_region(&rf, b.family, hi) == r &&
                        geo_lookup(gt, b.family, lo, NULL) == r &&
                        geo_lookup(gt, b.family, hi, NULL) == r;
        bad_region += r != want;
        non_default += r != 0;
        bad_block += !block_ok;
        if ((r != want || !block_ok) && shown++ < 5) {
            char txt[INET6_ADDRSTRLEN];
            inet_ntop(b.family, a, txt, sizeof(txt));
            printf("# %s: %s -> %u /%u, reference %u%s\n", label, txt, r, scope, want,
                   block_ok ? "" : ", block ends differ");
        }
    }
    is_int(bad_region, 0, "%s: %d random addresses (%d not default): region == reference", label,
           count, non_default);
    is_int(bad_block, 0, "%s: both ends of every scope block answer the same region", label);
    geo_table_free(gt);
    MMDB_close(&rf.db);
}

static void test_consistency(void)
{
    const geo_cidr_t x[] = {cidr("81.2.69.160/28"), cidr("2a02:d000::/20"), cidr("89.0.0.0/8")};
    const geo_cidr_t y[] = {cidr("81.2.69.160/30"), cidr("2a02:d3c0::/32")};
    const geo_region_t rg[] = {
        {.id = 1, .name = "eu", .continents = c_eu, .ncontinents = 1},
        {.id = 3, .name = "as", .continents = c_as, .ncontinents = 1},
        {.id = 4, .name = "gb", .parent = 1, .countries = cc_gb, .ncountries = 1},
        {.id = 5, .name = "us", .countries = cc_us, .ncountries = 1},
        {.id = 6, .name = "us-wa", .parent = 5, .subdivisions = s_wa, .nsubdivisions = 1},
        {.id = 9, .name = "wbk", .subdivisions = s_wbk, .nsubdivisions = 1},
        {.id = 10, .name = "x", .cidrs = x, .ncidrs = 3},
        {.id = 11, .name = "y", .cidrs = y, .ncidrs = 2},
        {.id = 20, .name = "tokyo", .has_coords = true, .lat = 35.69, .lon = 139.69},
        {.id = 21, .name = "sydney", .has_coords = true, .lat = -33.87, .lon = 151.21},
        {.id = 22, .name = "nyc", .has_coords = true, .lat = 40.71, .lon = -74.01},
    };
    /* around the City-Test networks (source-data/GeoIP2-City-Test.json) and beyond */
    static const char *const city[] = {
        "0.0.0.0/0",       "2.125.160.0/20",  "81.2.69.0/24",   "89.160.20.0/24",
        "216.160.83.0/24", "214.0.0.0/14",    "214.78.0.0/16",  "175.16.199.0/23",
        "67.43.156.0/23",  "202.196.224.0/19", "149.101.100.0/24", "2.2.0.0/15",
        "2001:200::/23",   "2a02:c000::/18",  "2001:480::/32",  "2000::/3",
        "::ffff:81.2.69.0/120", "::ffff:0:0/96", "2002:5102::/32", "2002::/16",
        "2001:0:5102::/48", "2001::/32", "::/96", "::5102:4500/120",
    };
    /* mmdblookup: 2002::/16, 2001::/32 and ::/96 reach the IPv4 tree */
    static const char *const city_alias[] = {"::/96", "2001::/32", "2002::/16"};
    consistency("City-Test", gpath("GeoIP2-City-Test.mmdb"), true, rg, NCASES(rg), city_alias,
                NCASES(city_alias), city, NCASES(city), 8000);

    const geo_region_t rw[] = {
        {.id = 1, .name = "eu", .continents = c_eu, .ncontinents = 1},
        {.id = 2, .name = "na", .continents = c_na, .ncontinents = 1},
        {.id = 3, .name = "as", .continents = c_as, .ncontinents = 1},
        {.id = 4, .name = "de", .parent = 1, .countries = cc_de, .ncountries = 1},
        {.id = 10, .name = "x", .cidrs = x, .ncidrs = 3},
    };
    static const char *const whois[] = {"0.0.0.0/0", "2001::/16", "2400::/12", "2600::/12",
                                        "2a00::/12", "2800::/12", "2c00::/12", "2000::/3",
                                        "::/96",     "::ffff:0:0/96"};
    /* mmdblookup: only ::/96 (no 6to4 or Teredo alias) */
    static const char *const whois_alias[] = {"::/96"};
    consistency("country_code DB", gpath("geo-whois-asn-country.mmdb"), false, rw, NCASES(rw),
                whois_alias, NCASES(whois_alias), whois, NCASES(whois), 8000);
}

int main(void)
{
    const char *env = getenv("GEO_DIR");
    const char *top = getenv("top_srcdir");
    if (env && env[0]) {
        snprintf(geo_dir, sizeof(geo_dir), "%s", env);
    } else {
        snprintf(geo_dir, sizeof(geo_dir), "%s/tests/data/geo", top ? top : ".");
    }
    if (access(gpath("GeoIP2-City-Test.mmdb"), R_OK) != 0 ||
        access(gpath("geo-whois-asn-country.mmdb"), R_OK) != 0) {
        printf("1..0 # SKIP no MaxMind test DBs in %s (set GEO_DIR)\n", geo_dir);
        return 0;
    }
    const char *t = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof(tmp_dir), "%s/t_geo.XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        printf("1..0 # SKIP cannot make a temp directory\n");
        return 0;
    }
    test_continents();
    test_country_subdivision();
    test_cidrs();
    test_nearest();
    test_mapped_and_aliases();
    test_no_db();
    test_simple_schema();
    test_ipv4_db();
    test_broken();
    test_bad_regions();
    test_explain();
    test_consistency();
    const char *tmp_files[] = {"v4.mmdb", "loop.mmdb", "explode.mmdb", "half.mmdb", "tail.mmdb"};
    for (size_t i = 0; i < NCASES(tmp_files); i++) {
        unlink(tpath(tmp_files[i]));
    }
    rmdir(tmp_dir);
    return done_testing();
}
