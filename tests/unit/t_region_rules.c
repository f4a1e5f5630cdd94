/* SPDX-License-Identifier: MIT */
/*
 * t_region_rules.c -- the region rules are the writer's (zones/regions.c
 * zs_regions_check(), zones/writer_region.c): bad region sets are refused
 * by zw_region_put()/zw_region_del() called directly, without dnsctl, with
 * the store unchanged; a changed fallback re-checks the zones (CNAME in a
 * region's view); and every set the writer accepted is one dnsd's geo build
 * accepts (geo_table_build() on the stored regions).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "geo/geo.h"
#include "geo/geo_regions.h"
#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/regions.h"
#include "zones/rrtype.h"
#include "zones/writer.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static zs_store_t *st;
static char dir[] = "/tmp/t_region_rules.XXXXXX";

#define W(s) tz_name(s) /* wire form, rotating buffers (testzone.h) */

static uint64_t regions_gen(void)
{
    MDB_txn *t;
    uint64_t g = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    zs_regions_generation(st, t, &g);
    mdb_txn_abort(t);
    return g;
}

/* a region from text: "EU,AS" continents, "DE" countries, "US-CA" subdivisions, CIDRs */
static zs_region_t region(const char *name, uint16_t parent, const char *cont, const char *cc,
                          const char *sub, const char *cidr)
{
    zs_region_t r;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", name);
    r.parent = parent;
    if (cont) {
        snprintf(r.cont[r.ncont++], 3, "%s", cont);
    }
    if (cc) {
        snprintf(r.country[r.ncountry++], 3, "%s", cc);
    }
    if (sub) {
        snprintf(r.subdiv[r.nsubdiv++], 8, "%s", sub);
    }
    if (cidr) {
        zs_cidr_t *c = &r.cidr[r.ncidr++];
        if (zs_cidr_parse(cidr, c) != 0) {
            /* host bits or junk: store it raw, as a writer that skipped parsing would */
            char a[64];
            snprintf(a, sizeof(a), "%s", cidr);
            char *slash = strchr(a, '/');
            *slash = 0;
            c->family = 4;
            c->len = (uint8_t)atoi(slash + 1);
            inet_pton(AF_INET, a, c->addr);
        }
    }
    return r;
}

/* put one region in its own committed txn; its id back */
static uint16_t put_ok(zs_region_t r)
{
    zw_t w;
    diag_t d = {0};
    if (zw_begin(st, &w) != 0 || zw_region_put(&w, &r, &d) != 0 || zw_commit(&w, NULL) != 0) {
        printf("Bail out! cannot add region %s: %s\n", r.name, d.text);
        exit(1);
    }
    return r.id;
}

static uint16_t eu, euw, lab;

static void test_refused(void)
{
    static const struct {
        const char *name;
        int edit;        /* 0: a new region; 1: edit eu-west; 2: edit eu */
        const char *rname;
        int parent;      /* -1: eu-west, -2: eu, -3: lab; else the id */
        const char *cont, *cc, *sub, *cidr;
        int want;
        const char *file;  /* d.file */
        const char *text;  /* in d.text */
    } cases[] = {
        {"continent not one of the seven", 0, "x", 0, "XX", NULL, NULL, NULL, DNSD_EMALFORMED, "",
         "\"XX\" is not a continent code"},
        {"continent another region has", 0, "x", 0, "EU", NULL, NULL, NULL, DNSD_EEXIST,
         "continent", "EU: region eu already has it (a code belongs to one region)"},
        {"country another region has", 0, "x", 0, NULL, "DE", NULL, NULL, DNSD_EEXIST, "country",
         "DE: region eu-west already has it"},
        {"subdivision another region has", 0, "x", 0, NULL, NULL, "US-CA", NULL, DNSD_EEXIST,
         "subdivision", "US-CA: region lab already has it"},
        {"CIDR another region has", 0, "x", 0, NULL, NULL, NULL, "192.0.2.0/24", DNSD_EEXIST,
         "cidr", "192.0.2.0/24: region lab already has it (a network belongs to one region)"},
        {"CIDR with host bits", 0, "x", 0, NULL, NULL, NULL, "198.51.100.1/24", DNSD_EMALFORMED,
         "", "is not valid"},
        {"lower-case country", 0, "x", 0, NULL, "fr", NULL, NULL, DNSD_EMALFORMED, "",
         "is not valid"},
        {"subdivision without a dash", 0, "x", 0, NULL, NULL, "USCA", NULL, DNSD_EMALFORMED, "",
         "is not valid"},
        {"upper-case name", 0, "X", 0, NULL, NULL, NULL, NULL, DNSD_EMALFORMED, "",
         "is not valid"},
        {"name default", 0, "default", 0, NULL, NULL, NULL, NULL, DNSD_EMALFORMED, "",
         "reserved"},
        {"name another region has", 0, "lab", 0, NULL, NULL, NULL, NULL, DNSD_EEXIST, "",
         "region \"lab\" already exists"},
        {"parent that does not exist", 0, "x", 999, NULL, NULL, NULL, NULL, DNSD_ENOTFOUND, "",
         "does not exist"},
        {"a loop: eu falls back to eu-west", 2, "eu", -1, "EU", NULL, NULL, NULL, DNSD_ELIMIT, "",
         "loops"},
        {"edit: a CIDR another region has", 1, "eu-west", -2, NULL, "DE", NULL,
         "192.0.2.0/24", DNSD_EEXIST, "cidr", "region lab already has it"},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        int p = cases[i].parent;
        uint16_t parent = p == -1 ? euw : p == -2 ? eu : p == -3 ? lab : (uint16_t)p;
        zs_region_t r = region(cases[i].rname, parent, cases[i].cont, cases[i].cc, cases[i].sub,
                               cases[i].cidr);
        r.id = cases[i].edit == 1 ? euw : cases[i].edit == 2 ? eu : 0;
        uint64_t g0 = regions_gen();
        zw_t w;
        diag_t d = {0};
        zw_begin(st, &w);
        int rc = zw_region_put(&w, &r, &d);
        zw_abort(&w);
        is_int(rc, cases[i].want, "%s: refused by the writer", cases[i].name);
        ok(strcmp(d.file, cases[i].file) == 0 && strstr(d.text, cases[i].text),
           "%s: diag [%s] %s", cases[i].name, d.file, d.text);
        is_int(regions_gen(), g0, "%s: store unchanged", cases[i].name);
    }
}

static void add_rr(zw_t *w, const zw_zone_t *z, const char *owner, uint16_t type,
                   uint16_t reg, const char *target)
{
    uint8_t rd[300];
    uint16_t len;
    if (type == DNS_T_A) {
        memcpy(rd, "\xc0\x00\x02\x01", 4);
        len = 4;
    } else if (type == DNS_T_SOA) {
        size_t o = (size_t)tz_wire("ns1.geo.test", rd);
        o += (size_t)tz_wire("hostmaster.geo.test", rd + o);
        memset(rd + o, 0, 20);
        rd[o + 3] = 1;
        len = (uint16_t)(o + 20);
    } else {
        len = (uint16_t)tz_wire(target, rd);
    }
    if (zw_rr_add(w, z, W(owner), type, reg, 300, rd, len) != 0) {
        printf("Bail out! cannot add %s type %u\n", owner, type);
        exit(1);
    }
}

/* a CNAME in eu and an A in lab are fine until lab falls back to eu */
static void test_cname_in_view(void)
{
    zw_t w;
    zw_zone_t z;
    diag_t d = {0};
    zw_begin(st, &w);
    if (zw_zone_create(&w, W("geo.test"), &z) != 0) {
        printf("Bail out! cannot create geo.test\n");
        exit(1);
    }
    add_rr(&w, &z, "geo.test", DNS_T_SOA, 0, NULL);
    add_rr(&w, &z, "geo.test", DNS_T_NS, 0, "ns1.geo.test");
    add_rr(&w, &z, "api.geo.test", DNS_T_CNAME, eu, "www.geo.test");
    add_rr(&w, &z, "api.geo.test", DNS_T_A, lab, NULL);
    is_int(zw_check_zone(&w, &z, &d), 0, "view: CNAME in eu and A in lab, lab -> default: fine");
    is_int(zw_commit(&w, NULL), 0, "view: committed");

    uint64_t g0 = regions_gen();
    zs_region_t r = region("lab", eu, NULL, NULL, "US-CA", "192.0.2.0/24");
    r.id = lab;
    zw_begin(st, &w);
    int rc = zw_region_put(&w, &r, &d);
    zw_abort(&w);
    is_int(rc, DNSD_ECNAME, "view: lab -> eu refused by the writer");
    ok(strcmp(d.file, "zone geo.test.") == 0 &&
           strstr(d.text, "CNAME in region eu and A in region lab at api.geo.test. are both "
                          "seen by region lab (lab -> eu -> default)"),
       "view: diag names the zone, the records and the chain: [%s] %s", d.file, d.text);
    is_int(regions_gen(), g0, "view: store unchanged");

    /* the same fallback is fine once the A is gone */
    zw_begin(st, &w);
    is_int(zw_rr_del(&w, &z, W("api.geo.test"), DNS_T_A, lab, NULL, 0), 0, "view: A in lab deleted");
    is_int(zw_region_put(&w, &r, &d), 0, "view: then lab -> eu is accepted");
    is_int(zw_commit(&w, NULL), 0, "view: committed");
}

static void test_del(void)
{
    uint16_t child = put_ok(region("child", lab, NULL, NULL, NULL, NULL));
    zw_t w;
    diag_t d = {0};
    uint64_t g0 = regions_gen();
    zw_begin(st, &w);
    int rc = zw_region_del(&w, lab, &d);
    zw_abort(&w);
    is_int(rc, DNSD_EEXIST, "del: a region another falls back to is refused");
    ok(strstr(d.text, "region \"child\" falls back to it") != NULL, "del: diag: %s", d.text);
    is_int(regions_gen(), g0, "del: store unchanged");
    zw_begin(st, &w);
    is_int(zw_region_del(&w, child, &d), 0, "del: a leaf region is deleted");
    is_int(zw_commit(&w, NULL), 0, "del: committed");
}

/* zs_regions_check() on sets no store holds: duplicate ids, a missing parent, a long chain */
static void test_check_set(void)
{
    zs_region_t *rs = calloc(ZS_REGION_CHAIN_MAX + 2, sizeof(*rs));
    diag_t d = {0};
    rs[0] = region("a", 0, "EU", NULL, NULL, NULL);
    rs[0].id = 1;
    rs[1] = region("b", 1, NULL, "DE", NULL, NULL);
    rs[1].id = 2;
    is_int(zs_regions_check(rs, 2, &d), 0, "set: a valid set passes");
    rs[1].id = 1;
    rs[1].parent = 0;
    is_int(zs_regions_check(rs, 2, &d), DNSD_EEXIST, "set: two regions with one id: %s", d.text);
    rs[1].id = 2;
    rs[1].parent = 7;
    is_int(zs_regions_check(rs, 2, &d), DNSD_ENOTFOUND, "set: a missing parent: %s", d.text);
    for (int i = 0; i < ZS_REGION_CHAIN_MAX + 2; i++) {
        char n[8];
        snprintf(n, sizeof(n), "c%d", i);
        rs[i] = region(n, (uint16_t)i, NULL, NULL, NULL, NULL);
        rs[i].id = (uint16_t)(i + 1);
    }
    is_int(zs_regions_check(rs, ZS_REGION_CHAIN_MAX + 1, &d), 0,
           "set: a chain of %d regions to default passes", ZS_REGION_CHAIN_MAX);
    is_int(zs_regions_check(rs, ZS_REGION_CHAIN_MAX + 2, &d), DNSD_ELIMIT,
           "set: one more is too long: %s", d.text);
    free(rs);
}

/* what the writer committed, dnsd's geo build accepts */
static void test_geo_accepts(void)
{
    MDB_txn *t;
    zs_region_t *rs = NULL;
    size_t n = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    is_int(zs_regions_load(st, t, &rs, &n), 0, "geo: the stored regions load");
    mdb_txn_abort(t);
    geo_regions_t gr;
    geo_regions_from_store(rs, n, &gr);
    diag_t d = {0};
    geo_table_t *gt = geo_table_build(NULL, NULL, gr.regions, gr.n, &d);
    ok(gt != NULL, "geo: geo_table_build accepts the committed set (%zu regions) %s", n, d.text);
    geo_table_free(gt);
    geo_regions_fini(&gr);
    free(rs);
}

int main(void)
{
    if ((st = tz_store_tmp(dir)) == NULL) {
        return 1;
    }
    eu = put_ok(region("eu", 0, "EU", NULL, NULL, NULL));
    euw = put_ok(region("eu-west", eu, NULL, "DE", NULL, NULL));
    lab = put_ok(region("lab", 0, NULL, NULL, "US-CA", "192.0.2.0/24"));
    test_refused();
    test_cname_in_view();
    test_del();
    test_check_set();
    test_geo_accepts();
    tz_store_rm(st, dir);
    return done_testing();
}
