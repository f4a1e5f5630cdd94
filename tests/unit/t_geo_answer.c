/* SPDX-License-Identifier: MIT */
/*
 * t_geo_answer.c -- region-specific answers end to end without sockets:
 * regions and regional RRsets written to a real store, the geo snapshot
 * built from MaxMind's GeoIP2-City-Test.mmdb (tests/data/geo), queries with
 * and without ECS through answer_query(), answers and ECS scope checked.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dnsd/answer.h"
#include "dnsd/dnssec_online.h"
#include "dnsd/geo_state.h"
#include "dnsd/pkt.h"
#include "dnsd/query.h"
#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/regions.h"
#include "zones/writer.h"

static uint8_t resp[65536];

static uint16_t add_region(zw_t *w, const char *name, const char *cont, const char *sub,
                           const char *cidr, uint16_t parent)
{
    zs_region_t r;
    diag_t d;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", name);
    r.parent = parent;
    if (cont) {
        snprintf(r.cont[r.ncont++], 3, "%s", cont);
    }
    if (sub) {
        snprintf(r.subdiv[r.nsubdiv++], 8, "%s", sub);
    }
    if (cidr && zs_cidr_parse(cidr, &r.cidr[r.ncidr++]) != 0) {
        abort();
    }
    if (zw_region_put(w, &r, &d) != 0) {
        printf("# %s\n", d.text);
        abort();
    }
    return r.id;
}

static void add_a(zw_t *w, const zw_zone_t *z, const char *owner, uint16_t region, uint8_t last)
{
    uint8_t o[256], a[4] = {192, 0, 2, last};
    tz_wire(owner, o);
    if (zw_rr_add(w, z, o, DNS_T_A, region, 300, a, 4) != 0) {
        abort();
    }
}

typedef struct {
    uint8_t rcode;
    int an;
    uint8_t first_a; /* last octet of the first A in the answer */
    bool ecs;
    uint8_t scope;
    int ns;
    int nsec_a; /* the NSEC in the response lists A: 1, does not: 0, no NSEC: -1 */
} res_t;

static bool do_bit; /* ask with DNSSEC OK */

/* Does the first NSEC (type 47, class IN) of the response list type A? */
static int nsec_has_a(size_t n)
{
    for (size_t i = 12; i + 10 < n; i++) {
        if (get16(resp + i) != DNS_T_NSEC || get16(resp + i + 2) != DNS_C_IN ||
            get16(resp + i + 8) + i + 10 > n) {
            continue;
        }
        size_t o = i + 10;
        while (o < n && resp[o] != 0) {
            o += 1u + resp[o]; /* the next name, never compressed */
        }
        o++;
        return o + 2 < n && resp[o] == 0 && (resp[o + 2] & 0x40) ? 1 : 0;
    }
    return -1;
}

/* query www-ish name A, optional ECS "addr/len" (NULL: none), from @p src */
static res_t ask(answer_ctx_t *a, const char *name, const char *ecs, const char *src)
{
    uint8_t q[512];
    res_t r = {0, 0, 0, false, 0, 0, -1};
    memset(q, 0, 12);
    put16(q, 7);
    put16(q + 4, 1);
    put16(q + 10, 1);
    size_t o = 12 + (size_t)tz_wire(name, q + 12);
    put16(q + o, DNS_T_A);
    put16(q + o + 2, DNS_C_IN);
    o += 4;
    q[o] = 0;
    put16(q + o + 1, DNS_T_OPT);
    put16(q + o + 3, 1232);
    memset(q + o + 5, 0, 4);
    q[o + 7] = do_bit ? 0x80 : 0;
    size_t rdl = o + 9;
    o += 11;
    put16(q + rdl, 0);
    if (ecs) {
        char ip[64];
        const char *slash = strchr(ecs, '/');
        snprintf(ip, sizeof(ip), "%.*s", (int)(slash - ecs), ecs);
        int len = atoi(slash + 1);
        uint8_t addr[16] = {0};
        int fam = strchr(ip, ':') ? 2 : 1;
        inet_pton(fam == 1 ? AF_INET : AF_INET6, ip, addr);
        size_t alen = (size_t)(len + 7) / 8;
        if (len % 8) {
            addr[alen - 1] &= (uint8_t)(0xFF << (8 - len % 8));
        }
        put16(q + o, EDNS_OPT_ECS);
        put16(q + o + 2, (uint16_t)(4 + alen));
        put16(q + o + 4, (uint16_t)fam);
        q[o + 6] = (uint8_t)len;
        q[o + 7] = 0;
        memcpy(q + o + 8, addr, alen);
        put16(q + rdl, (uint16_t)(8 + alen));
        o += 8 + alen;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(src, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, src, &s6->sin6_addr);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        inet_pton(AF_INET, src, &s4->sin_addr);
    }
    a->rd_ok = zr_begin(a->rd) == 0;
    size_t n = answer_query(a, q, o, resp, 4096, false, (struct sockaddr *)&ss);
    zr_end(a->rd);
    if (n < 12) {
        return r;
    }
    r.rcode = resp[3] & 0xF;
    r.an = get16(resp + 6);
    r.ns = get16(resp + 8);
    r.nsec_a = nsec_has_a(n);
    /* first answer RR: after the question; our answers compress the owner to 2 bytes */
    size_t qend = 12 + (size_t)tz_wire(name, q + 400) + 4;
    if (r.an > 0 && n > qend + 12 + 4) {
        r.first_a = resp[qend + 12 + 3];
    }
    /* ECS: the OPT is last, the ECS option last in it */
    if (ecs) {
        for (size_t i = 12; i + 8 <= n; i++) {
            if (get16(resp + i) == EDNS_OPT_ECS && i + 4 + get16(resp + i + 2) == n) {
                r.ecs = true;
                r.scope = resp[i + 7];
            }
        }
    }
    return r;
}

int main(void)
{
    const char *top = getenv("top_srcdir");
    const char *gd = getenv("GEO_DIR");
    char db[4096], dir[] = "/tmp/t_geo_answer.XXXXXX";
    if (gd) {
        snprintf(db, sizeof(db), "%s/GeoIP2-City-Test.mmdb", gd);
    } else {
        snprintf(db, sizeof(db), "%s/tests/data/geo/GeoIP2-City-Test.mmdb", top ? top : ".");
    }
    struct stat st;
    if (stat(db, &st) != 0) {
        if (getenv("REQUIRE_ALL") && strcmp(getenv("REQUIRE_ALL"), "1") == 0) {
            printf("Bail out! %s missing\n", db);
            return 1;
        }
        printf("1..0 # SKIP %s missing\n", db);
        return 0;
    }
    if (!mkdtemp(dir)) {
        return 1;
    }
    zs_store_t *s = tz_build(dir);
    zw_t w;
    zw_zone_t z;
    uint8_t apex[64];
    tz_wire("example.test.", apex);
    if (zw_begin(s, &w) != 0 || zw_zone_get(s, w.txn, apex, &z) != 0) {
        return 1;
    }
    uint16_t eu = add_region(&w, "eu", "EU", NULL, NULL, 0);
    uint16_t na = add_region(&w, "na", "NA", NULL, NULL, 0);
    uint16_t uswa = add_region(&w, "us-wa", NULL, "US-WA", NULL, na);
    uint16_t lab = add_region(&w, "lab", NULL, NULL, "10.1.0.0/16", 0);
    add_a(&w, &z, "www.example.test.", eu, 101);
    add_a(&w, &z, "www.example.test.", na, 102);
    add_a(&w, &z, "www.example.test.", lab, 104);
    add_a(&w, &z, "only-na.example.test.", na, 105);
    (void)uswa;
    ok(zw_commit(&w, NULL) == 0, "regions and regional records committed");

    diag_t d;
    geo_state_t *g = geo_state_build(s, db, NULL, &d);
    ok(g && g->table && g->nregions == 4, "geo snapshot built from the store and %s", db);
    if (!g) {
        printf("# %s\n", d.text);
        return done_testing();
    }
    zr_t rd;
    answer_ctx_t a;
    memset(&a, 0, sizeof(a));
    a.rd = &rd;
    a.udp_max = 1232;
    a.geo = g;
    zr_init(&rd, s);

    uint8_t want_scope;
    uint8_t ip[16];
    res_t r;

    r = ask(&a, "www.example.test.", "81.2.69.142/32", "127.0.0.1");
    inet_pton(AF_INET, "81.2.69.142", ip);
    geo_lookup(g->table, AF_INET, ip, &want_scope);
    ok(r.rcode == 0 && r.an == 1 && r.first_a == 101, "ECS GB /32 -> region eu (A .101)");
    ok(r.ecs && r.scope == want_scope && r.scope > 0, "ECS GB: scope %u is the deciding block",
       r.scope);

    r = ask(&a, "www.example.test.", "216.160.83.56/32", "127.0.0.1");
    ok(r.an == 1 && r.first_a == 102, "ECS US-WA -> us-wa, falls back to na (A .102)");

    r = ask(&a, "www.example.test.", "2001:218::/32", "127.0.0.1");
    ok(r.an == 2 && (r.first_a == 1 || r.first_a == 2), "ECS JP (AS, no region) -> default");
    ok(r.ecs && r.scope > 0, "ECS JP: a non-zero scope (the answer is geographic)");

    r = ask(&a, "www.example.test.", "10.1.2.0/24", "127.0.0.1");
    ok(r.an == 1 && r.first_a == 104, "ECS in an explicit CIDR region -> lab (A .104)");
    ok(r.ecs && r.scope >= 16, "ECS CIDR: scope %u covers no more than the /16", r.scope);

    r = ask(&a, "www.example.test.", "0.0.0.0/0", "81.2.69.142");
    ok(r.an == 2 && r.ecs && r.scope == 0, "ECS source /0: no client information -> default, scope 0");

    r = ask(&a, "www.example.test.", NULL, "81.2.69.142");
    ok(r.an == 1 && r.first_a == 101, "no ECS: the source address decides (GB -> eu)");
    r = ask(&a, "www.example.test.", NULL, "::1");
    ok(r.an == 2, "no ECS, source ::1 (not in the DB) -> default");

    r = ask(&a, "mail.example.test.", "81.2.69.142/24", "127.0.0.1");
    ok(r.an == 1 && r.ecs && r.scope == 0, "a name without regional data: scope 0");

    r = ask(&a, "only-na.example.test.", "216.160.83.56/32", "127.0.0.1");
    ok(r.an == 1 && r.first_a == 105, "a name only in na: found by a na client");
    r = ask(&a, "only-na.example.test.", "81.2.69.142/24", "127.0.0.1");
    ok(r.rcode == 0 && r.an == 0 && r.ecs && r.scope > 0,
       "a name only in na, eu client: NODATA, with a geographic scope");

    /* signed: a NODATA's NSEC lists the types of the client's view, so the
     * ECS scope must say that it is regional (issue #14) */
    zd_key_t key;
    tz_sign(s, "example.test.", ZD_ALG_ECDSAP256SHA256, &key, true);
    a.don = don_new();
    do_bit = true;
    r = ask(&a, "only-na.example.test.", "81.2.69.142/24", "127.0.0.1");
    ok(r.rcode == 0 && r.an == 0 && r.ns == 4 && r.nsec_a == 0 && r.ecs && r.scope > 0,
       "signed, DO=1, eu client: NODATA, NSEC without A, with a geographic scope");
    r = ask(&a, "only-na.example.test.", "216.160.83.56/32", "127.0.0.1");
    ok(r.an == 2 && r.first_a == 105 && r.ecs && r.scope > 0,
       "signed, DO=1, na client: the na A and its RRSIG");
    r = ask(&a, "nope.example.test.", "81.2.69.142/24", "127.0.0.1");
    ok(r.rcode == 0 && r.nsec_a == 0 && r.ecs && r.scope == 0,
       "signed, DO=1: a missing name's NSEC is not regional: scope 0");
    don_free(a.don);

    geo_state_free(g);
    zr_fini(&rd);
    zs_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        return 1;
    }
    return done_testing();
}
