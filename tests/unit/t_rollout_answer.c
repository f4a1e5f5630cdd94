/* SPDX-License-Identifier: MIT */
/*
 * t_rollout_answer.c -- the canary split (zones/rollout.h) through the real
 * answer path (answer_query(), as t_geo_answer.c does it): CIDR regions eu
 * (10.0.0.0/8, 2001:db8::/32), eu-west below it (10.200.0.0/16) and na; a
 * split entry on (example.test, eu) with its canary region eu.canary
 * holding the canary pool's A. Clients from many subnets, with ECS and
 * without: canary or stable exactly by bucket, one answer per subnet, a
 * share near p, the ECS scope at least the hashed prefix, an eu-west
 * client in the canary still seeing eu-west's own records, ECS SOURCE 0
 * never split, a zone without the flag and a region without an entry
 * unaffected, p = 0 and p = 100 %, and the rollout counters.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dnsd/answer.h"
#include "dnsd/geo_state.h"
#include "dnsd/pkt.h"
#include "dnsd/query.h"
#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/regions.h"
#include "zones/rollout.h"
#include "zones/writer.h"

static uint8_t resp[65536];

typedef struct {
    uint8_t rcode;
    int an;
    uint8_t first_a; /* last octet of the first A in the answer */
    bool ecs;
    uint8_t scope;
} res_t;

/* A query for @p name, with ECS "addr/len" (NULL: none), from @p src */
static res_t ask(answer_ctx_t *a, const char *name, const char *ecs, const char *src)
{
    uint8_t q[512];
    res_t r = {0, 0, 0, false, 0};
    memset(q, 0, 12);
    put16(q, 7);
    put16(q + 4, 1);
    put16(q + 10, 1);
    size_t o = 12 + (size_t)tz_wire(name, q + 12);
    size_t qend = o + 4;
    put16(q + o, DNS_T_A);
    put16(q + o + 2, DNS_C_IN);
    o += 4;
    q[o] = 0;
    put16(q + o + 1, DNS_T_OPT);
    put16(q + o + 3, 1232);
    memset(q + o + 5, 0, 4);
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
    /* first answer RR after the question; its owner compressed to 2 bytes */
    if (r.an > 0 && n > qend + 12 + 4) {
        r.first_a = resp[qend + 12 + 3];
    }
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

static uint16_t add_region(zw_t *w, const char *name, const char *cidr, const char *cidr6,
                           uint16_t parent)
{
    zs_region_t *r = calloc(1, sizeof(*r));
    diag_t d;
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->parent = parent;
    if (cidr && zs_cidr_parse(cidr, &r->cidr[r->ncidr++]) != 0) {
        abort();
    }
    if (cidr6 && zs_cidr_parse(cidr6, &r->cidr[r->ncidr++]) != 0) {
        abort();
    }
    if (zw_region_put(w, r, &d) != 0) {
        printf("# %s\n", d.text);
        abort();
    }
    uint16_t id = r->id;
    free(r);
    return id;
}

static void add_a(zw_t *w, const zw_zone_t *z, const char *owner, uint16_t region, uint8_t last)
{
    uint8_t o[256], a[4] = {192, 0, 2, last};
    tz_wire(owner, o);
    if (zw_rr_add(w, z, o, DNS_T_A, region, 300, a, 4) != 0) {
        abort();
    }
}

static uint64_t canary_n(const answer_ctx_t *a)
{
    return STAT_GET(CTR(&a->st, ROLLOUT_CANARY));
}

static uint64_t stable_n(const answer_ctx_t *a)
{
    return STAT_GET(CTR(&a->st, ROLLOUT_STABLE));
}

/* set p of the (example.test, eu) entry */
static void set_p(zs_store_t *s, uint16_t eu, uint16_t p)
{
    zw_t w;
    zw_zone_t z;
    zs_rollout_t r;
    diag_t d;
    if (zw_begin(s, &w) != 0 || zw_zone_get(s, w.txn, tz_name("example.test."), &z) != 0 ||
        zw_rollout_get(s, w.txn, z.id, eu, &r) != 0) {
        abort();
    }
    r.permyriad = p;
    if (zw_rollout_put(&w, &z, eu, &r, &d) != 0 || zw_commit(&w, &d) != 0) {
        abort();
    }
}

int main(void)
{
    char dir[] = "/tmp/t_rollout_answer.XXXXXX";
    if (!mkdtemp(dir)) {
        return 1;
    }
    zs_store_t *s = tz_build(dir);
    zw_t w;
    zw_zone_t z, deep;
    diag_t d;
    if (zw_begin(s, &w) != 0 || zw_zone_get(s, w.txn, tz_name("example.test."), &z) != 0 ||
        zw_zone_get(s, w.txn, tz_name("deep.example.test."), &deep) != 0) {
        return 1;
    }
    uint16_t eu = add_region(&w, "eu", "10.0.0.0/8", "2001:db8::/32", 0);
    uint16_t euw = add_region(&w, "eu-west", "10.200.0.0/16", NULL, eu);
    uint16_t na = add_region(&w, "na", "172.16.0.0/12", NULL, 0);
    uint16_t euc = 0;
    ok(zw_rollout_canary_region(&w, eu, true, &euc, &d) == 0, "canary region eu.canary");
    add_a(&w, &z, "www.example.test.", eu, 101);
    add_a(&w, &z, "www.example.test.", na, 102);
    add_a(&w, &z, "www.example.test.", euc, 201); /* the canary pool */
    add_a(&w, &z, "west.example.test.", euw, 150); /* eu-west's own record */
    add_a(&w, &z, "west.example.test.", eu, 151);
    add_a(&w, &z, "west.example.test.", euc, 251);
    add_a(&w, &deep, "x.deep.example.test.", 0, 77);   /* a zone with no split ... */
    add_a(&w, &deep, "x.deep.example.test.", euc, 78); /* ... and a canary-region record */
    zs_rollout_t e;
    memset(&e, 0, sizeof(e));
    e.canary = euc;
    e.permyriad = 2500;
    e.prefix4 = 24;
    e.prefix6 = 56;
    for (int i = 0; i < 16; i++) {
        e.key[i] = (uint8_t)(0x5a ^ (i * 13));
    }
    ok(zw_rollout_put(&w, &z, eu, &e, &d) == 0, "split entry (example.test, eu) at p = 25%%");
    ok(zw_commit(&w, &d) == 0, "committed");

    geo_state_t *g = geo_state_build(s, NULL, NULL, &d);
    ok(g && g->table, "geo snapshot of the CIDR regions");
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

    /* 2,000 eu /24s with ECS: canary exactly when the bucket is below p */
    enum { N = 2000 };
    int canary = 0, by_bucket = 0, scope_ok = 0, stable_subnet = 0, nocs = 0;
    uint64_t c0 = canary_n(&a), s0 = stable_n(&a);
    for (int i = 0; i < N; i++) {
        uint8_t ip[4] = {10, (uint8_t)(i / 250), (uint8_t)(i % 250), 0};
        char net[64], host[64];
        snprintf(net, sizeof(net), "10.%d.%d.0/24", ip[1], ip[2]);
        snprintf(host, sizeof(host), "10.%d.%d.%d/32", ip[1], ip[2], 1 + i % 250);
        bool want = zs_rollout_bucket(&e, AF_INET, ip) < e.permyriad;
        res_t r = ask(&a, "www.example.test.", net, "127.0.0.1");
        bool got = r.an == 1 && r.first_a == 201;
        canary += got;
        by_bucket += got == want && r.an == 1 && (r.first_a == 201 || r.first_a == 101);
        scope_ok += r.ecs && r.scope == 24;
        res_t r2 = ask(&a, "www.example.test.", host, "127.0.0.1");
        stable_subnet += r2.an == 1 && r2.first_a == r.first_a && r2.scope >= 24;
        /* and without ECS: the source address decides, the same bucket */
        char src[32];
        snprintf(src, sizeof(src), "10.%d.%d.9", ip[1], ip[2]);
        res_t r3 = ask(&a, "www.example.test.", NULL, src);
        nocs += r3.an == 1 && r3.first_a == r.first_a;
    }
    is_int(by_bucket, N, "every eu /24 answered canary (.201) or stable (.101) by its bucket");
    double sd = sqrt(N * 0.25 * 0.75);
    ok(fabs(canary - N * 0.25) <= 4 * sd, "%d of %d /24s in the canary at p = 25%% (%.0f +- %.0f)",
       canary, N, N * 0.25, 4 * sd);
    is_int(scope_ok, N, "ECS /24: scope 24 (the hashed prefix, over the geo scope)");
    is_int(stable_subnet, N, "a host of each /24 (ECS /32) gets its /24's answer, scope >= 24");
    is_int(nocs, N, "without ECS the source address gets the same answer as its /24");
    is_int(canary_n(&a) - c0, 3 * canary, "rollout.canary counted each canary answer");
    is_int(stable_n(&a) - s0, 3 * (N - canary), "rollout.stable counted each stable one");

    /* a coarse ECS source: the scope says the answer is for the /24 */
    res_t r = ask(&a, "www.example.test.", "10.7.0.0/16", "127.0.0.1");
    ok(r.an == 1 && r.ecs && r.scope == 24, "ECS /16: scope 24 (RFC 7871 7.2.1: SCOPE > SOURCE)");

    /* eu-west clients: the canary region goes before eu, after eu-west */
    int west_canary = 0, west_stable = 0, west_ok = 0;
    for (int i = 0; i < 200; i++) {
        uint8_t ip[4] = {10, 200, (uint8_t)i, 0};
        char net[64];
        snprintf(net, sizeof(net), "10.200.%d.0/24", i);
        bool want = zs_rollout_bucket(&e, AF_INET, ip) < e.permyriad;
        res_t rw = ask(&a, "www.example.test.", net, "127.0.0.1");
        res_t rx = ask(&a, "west.example.test.", net, "127.0.0.1");
        west_canary += want;
        west_stable += !want;
        west_ok += rw.an == 1 && rw.first_a == (want ? 201 : 101) && rx.an == 1 &&
                   rx.first_a == 150 && rx.scope >= 24;
    }
    ok(west_canary > 0 && west_stable > 0 && west_ok == 200,
       "eu-west: %d canary /24s get eu.canary's www, %d stable get eu's; all keep eu-west's own "
       "record", west_canary, west_stable);

    /* ECS SOURCE 0: never split (and nothing counted) */
    uint64_t c1 = canary_n(&a), s1 = stable_n(&a);
    int src0 = 0;
    for (int i = 0; i < 50; i++) {
        char src[32];
        snprintf(src, sizeof(src), "10.1.%d.1", i);
        r = ask(&a, "www.example.test.", "0.0.0.0/0", src);
        src0 += r.an == 2 && r.ecs && r.scope == 0;
    }
    ok(src0 == 50 && canary_n(&a) == c1 && stable_n(&a) == s1,
       "ECS SOURCE 0 from eu sources: default's answer, scope 0, no split counted");

    /* IPv6 eu clients: /56 prefixes */
    int v6_ok = 0, v6_canary = 0;
    for (int i = 0; i < 400; i++) {
        char net[64];
        snprintf(net, sizeof(net), "2001:db8:%x:%x00::/56", i / 200, i % 200);
        uint8_t ip[16];
        char plain[64];
        snprintf(plain, sizeof(plain), "2001:db8:%x:%x00::", i / 200, i % 200);
        inet_pton(AF_INET6, plain, ip);
        bool want = zs_rollout_bucket(&e, AF_INET6, ip) < e.permyriad;
        res_t r6 = ask(&a, "www.example.test.", net, "127.0.0.1");
        v6_canary += want;
        v6_ok += r6.an == 1 && r6.first_a == (want ? 201 : 101) && r6.scope == 56;
    }
    ok(v6_ok == 400 && v6_canary > 0, "IPv6 /56s: by bucket (%d of 400 canary), scope 56",
       v6_canary);

    /* a zone without the flag, a region without an entry */
    int deep_ok = 0;
    for (int i = 0; i < 100; i++) {
        char net[64];
        snprintf(net, sizeof(net), "10.3.%d.0/24", i);
        r = ask(&a, "x.deep.example.test.", net, "127.0.0.1");
        deep_ok += r.an == 1 && r.first_a == 77;
    }
    is_int(deep_ok, 100, "a zone without a split never answers from eu.canary");
    uint64_t c2 = canary_n(&a), s2 = stable_n(&a);
    int na_ok = 0;
    for (int i = 0; i < 100; i++) {
        char net[64];
        snprintf(net, sizeof(net), "172.16.%d.0/24", i);
        r = ask(&a, "www.example.test.", net, "127.0.0.1");
        na_ok += r.an == 1 && r.first_a == 102 && r.scope == 12;
    }
    ok(na_ok == 100 && canary_n(&a) == c2 && stable_n(&a) == s2,
       "na (no entry): na's answer, na's scope (12), no split counted");
    r = ask(&a, "www.example.test.", "192.0.2.0/24", "127.0.0.1");
    ok(r.an == 2 && canary_n(&a) == c2 && stable_n(&a) == s2,
       "a default client: default's answer (the entry is eu's)");

    /* p = 0: nobody; p = 100 %: everybody */
    set_p(s, eu, 0);
    int none = 0, all = 0;
    for (int i = 0; i < 200; i++) {
        char net[64];
        snprintf(net, sizeof(net), "10.9.%d.0/24", i);
        r = ask(&a, "www.example.test.", net, "127.0.0.1");
        none += r.an == 1 && r.first_a == 101 && r.scope == 24;
    }
    set_p(s, eu, ZS_ROLLOUT_PERMYRIAD);
    for (int i = 0; i < 200; i++) {
        char net[64];
        snprintf(net, sizeof(net), "10.9.%d.0/24", i);
        r = ask(&a, "www.example.test.", net, "127.0.0.1");
        all += r.an == 1 && r.first_a == 201;
    }
    ok(none == 200 && all == 200, "p = 0: every /24 stable (scope still 24); p = 100%%: every "
       "/24 canary");

    /* the entry deleted: the flag goes, answers are eu's again */
    zw_begin(s, &w);
    zw_zone_get(s, w.txn, tz_name("example.test."), &z);
    zw_rollout_del(&w, &z, eu);
    zw_commit(&w, NULL);
    uint64_t c3 = canary_n(&a), s3 = stable_n(&a);
    r = ask(&a, "www.example.test.", "10.9.1.0/24", "127.0.0.1");
    uint8_t ip9[4] = {10, 9, 1, 0}, geo_scope = 0;
    geo_lookup(g->table, AF_INET, ip9, &geo_scope);
    ok(r.an == 1 && r.first_a == 101 && r.scope == geo_scope && geo_scope < 24 &&
           canary_n(&a) == c3 && stable_n(&a) == s3,
       "split gone: eu's answer, the geo scope (%u), nothing counted", r.scope);

    geo_state_free(g);
    zr_fini(&rd);
    tz_store_rm(s, dir);
    return done_testing();
}
