/* SPDX-License-Identifier: MIT */
/*
 * t_rollout.c -- the canary split of a certificate rollout in the store
 * (zones/rollout.h): SipHash-2-4 against reference values, the entry's
 * encoding and its damage checks, the client bucket (stable per prefix,
 * monotone in p, the share of 10,000 /24s within binomial bounds, the
 * prefix cut), the canary region rules, the writer's put/del and zone
 * flag, the cleanup when a zone or a region goes, and one entry carried
 * through zones/repl (capture on one store, zr_apply on another).
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/base/siphash.h"
#include "zones/regions.h"
#include "zones/repl.h"
#include "zones/rollout.h"
#include "zones/writer.h"

/* ---- SipHash-2-4 ---- */

static void t_siphash(void)
{
    /* key 00..0f, message 00 01 02 ... of each length. The 15-byte value is
     * the paper's Appendix A (0xa129ca6149be45e5); the others are the
     * reference implementation's vectors.h, checked when this test was
     * written against OpenSSL's SipHash MAC (`openssl mac -macopt
     * hexkey:000102030405060708090a0b0c0d0e0f -macopt size:8 SIPHASH`,
     * whose output is the value's little-endian bytes). */
    static const struct {
        size_t len;
        uint64_t want;
    } v[] = {
        {0, 0x726fdb47dd0e0e31ull},  {1, 0x74f839c593dc67fdull},  {7, 0xab0200f58b01d137ull},
        {8, 0x93f5f5799a932462ull},  {15, 0xa129ca6149be45e5ull}, {16, 0x3f2acc7f57c29bdbull},
        {63, 0x958a324ceb064572ull},
    };
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++) {
        key[i] = (uint8_t)i;
    }
    for (int i = 0; i < 64; i++) {
        msg[i] = (uint8_t)i;
    }
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint64_t got = siphash24(key, msg, v[i].len);
        ok(got == v[i].want, "SipHash-2-4 of %zu bytes: %016llx (want %016llx)", v[i].len,
           (unsigned long long)got, (unsigned long long)v[i].want);
    }
    key[0] ^= 1;
    ok(siphash24(key, msg, 15) != v[4].want, "another key, another hash");
}

/* ---- the entry ---- */

static zs_rollout_t entry(uint16_t canary, uint16_t p, uint8_t seed)
{
    zs_rollout_t r;
    memset(&r, 0, sizeof(r));
    r.canary = canary;
    r.permyriad = p;
    r.prefix4 = ZS_ROLLOUT_PREFIX4_DEFAULT;
    r.prefix6 = ZS_ROLLOUT_PREFIX6_DEFAULT;
    for (int i = 0; i < 16; i++) {
        r.key[i] = (uint8_t)(seed * 31 + i * 7);
    }
    return r;
}

static void t_encoding(void)
{
    zs_rollout_t r = entry(7, 500, 1), back;
    uint8_t b[ZS_ROLLOUT_VALUE_LEN + 1];
    zs_rollout_encode(&r, b);
    ok(b[0] == 1 && b[1] == 0 && zs_get16(b + 2) == 7 && zs_get16(b + 4) == 500 && b[6] == 24 &&
           b[7] == 56 && memcmp(b + 8, r.key, 16) == 0,
       "encoding: format, flags, canary, permyriad, prefixes, key at their offsets");
    ok(zs_rollout_decode(b, ZS_ROLLOUT_VALUE_LEN, &back) && memcmp(&back, &r, sizeof(r)) == 0,
       "decode(encode(x)) == x");
    ok(!zs_rollout_decode(b, ZS_ROLLOUT_VALUE_LEN - 1, &back) &&
           !zs_rollout_decode(b, ZS_ROLLOUT_VALUE_LEN + 1, &back),
       "a value of another length is damage");
    static const struct {
        int off;
        uint8_t val;
        const char *what;
    } bad[] = {
        {0, 2, "format 2"},       {1, 1, "flags 1"},         {2, 0, "canary region 0 (hi)"},
        {4, 0x27, "p 10001+"},    {6, 7, "prefix4 7"},       {6, 33, "prefix4 33"},
        {7, 15, "prefix6 15"},    {7, 129, "prefix6 129"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t c[ZS_ROLLOUT_VALUE_LEN];
        zs_rollout_encode(&r, c);
        c[bad[i].off] = bad[i].val;
        if (bad[i].off == 2) {
            c[3] = 0; /* canary id 0: default is no canary region */
        }
        if (bad[i].off == 4) {
            c[5] = 0x11; /* 0x2711 = 10001 */
        }
        ok(!zs_rollout_decode(c, sizeof(c), &back), "damage refused: %s", bad[i].what);
    }
    uint8_t c[ZS_ROLLOUT_VALUE_LEN];
    zs_rollout_t full = entry(7, ZS_ROLLOUT_PERMYRIAD, 1);
    full.prefix4 = 32;
    full.prefix6 = 128;
    zs_rollout_encode(&full, c);
    ok(zs_rollout_decode(c, sizeof(c), &back) && back.permyriad == 10000,
       "p = 10000 and full-length prefixes decode");
}

/* ---- the bucket ---- */

static uint16_t b4(const zs_rollout_t *r, const char *ip)
{
    uint8_t a[4];
    inet_pton(AF_INET, ip, a);
    return zs_rollout_bucket(r, AF_INET, a);
}

static uint16_t b6(const zs_rollout_t *r, const char *ip)
{
    uint8_t a[16];
    inet_pton(AF_INET6, ip, a);
    return zs_rollout_bucket(r, AF_INET6, a);
}

static void t_bucket(void)
{
    zs_rollout_t r = entry(7, 500, 2);
    ok(b4(&r, "198.51.100.1") == b4(&r, "198.51.100.254"), "two addresses of one /24: one bucket");
    ok(b6(&r, "2001:db8:0:1200::1") == b6(&r, "2001:db8:0:12ff:ffff::9"),
       "two addresses of one IPv6 /56: one bucket");
    /* a /24 and the /24 next to it: the bits that differ are inside the
     * prefix, so the hash input differs (equal buckets happen, 1 in 10,000) */
    int diff24 = 0, diff56 = 0;
    for (int i = 0; i < 100; i++) {
        char x[32], y[32];
        snprintf(x, sizeof(x), "10.0.%d.1", i);
        snprintf(y, sizeof(y), "10.0.%d.1", i + 100);
        diff24 += b4(&r, x) != b4(&r, y);
        snprintf(x, sizeof(x), "2001:db8:0:%x00::1", i);
        snprintf(y, sizeof(y), "2001:db8:0:%x00::1", i + 100);
        diff56 += b6(&r, x) != b6(&r, y);
    }
    ok(diff24 >= 95 && diff56 >= 95, "other /24s and /56s get other buckets (%d, %d of 100)",
       diff24, diff56);
    zs_rollout_t r16 = r;
    r16.prefix4 = 16;
    ok(b4(&r16, "10.1.2.3") == b4(&r16, "10.1.200.7"), "prefix4 16: the /16 decides");
    zs_rollout_t r20 = r;
    r20.prefix4 = 20;
    ok(b4(&r20, "10.1.17.3") == b4(&r20, "10.1.31.7") && b4(&r20, "10.1.17.3") == b4(&r, "10.1.16.3") &&
           b4(&r20, "10.1.17.3") != b4(&r, "10.1.17.3"),
       "prefix4 20: bits past the prefix are cut inside a byte");
    uint8_t v4[4] = {10, 1, 2, 3}, v6[16] = {10, 1, 2, 3};
    ok(zs_rollout_bucket(&r, AF_INET, v4) != zs_rollout_bucket(&r, AF_INET6, v6) ||
           zs_rollout_bucket(&r16, AF_INET, v4) != zs_rollout_bucket(&r16, AF_INET6, v6),
       "the family byte keeps an IPv4 prefix apart from the IPv6 one of the same bytes");

    /* stability, monotonicity in p, and the share of 10,000 distinct /24s */
    enum { N = 10000 };
    static uint16_t bucket[N];
    int in5 = 0, in25 = 0, stable = 1, mono = 1, other_key_same = 0;
    zs_rollout_t k2 = entry(7, 500, 3);
    for (int i = 0; i < N; i++) {
        uint8_t a[4] = {(uint8_t)(20 + i / 256), (uint8_t)(i % 256), 7, 9};
        bucket[i] = zs_rollout_bucket(&r, AF_INET, a);
        a[3] = 200;
        stable &= zs_rollout_bucket(&r, AF_INET, a) == bucket[i];
        bool at5 = bucket[i] < 500, at25 = bucket[i] < 2500;
        in5 += at5;
        in25 += at25;
        mono &= !at5 || at25;
        other_key_same += zs_rollout_bucket(&k2, AF_INET, a) == bucket[i];
    }
    ok(stable, "every /24 keeps its bucket whatever the host part");
    ok(mono, "a /24 in the canary at p = 5%% is in it at 25%% (bucket < p)");
    /* binomial: mean N p, sd sqrt(N p (1 - p)); 4 sigma */
    double sd5 = sqrt(N * 0.05 * 0.95), sd25 = sqrt(N * 0.25 * 0.75);
    ok(fabs(in5 - N * 0.05) <= 4 * sd5, "p = 5%%: %d of %d /24s in the canary (%.0f +- %.0f)",
       in5, N, N * 0.05, 4 * sd5);
    ok(fabs(in25 - N * 0.25) <= 4 * sd25, "p = 25%%: %d of %d /24s in the canary (%.0f +- %.0f)",
       in25, N, N * 0.25, 4 * sd25);
    ok(other_key_same < 20, "another key picks other buckets (%d of %d equal)", other_key_same,
       N);
}

/* ---- regions and the writer ---- */

static uint16_t region(zw_t *w, const char *name, uint16_t parent, const char *cont, int *err,
                       diag_t *d)
{
    zs_region_t *r = calloc(1, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->parent = parent;
    if (cont) {
        snprintf(r->cont[r->ncont++], 3, "%s", cont);
    }
    memset(d, 0, sizeof(*d));
    *err = zw_region_put(w, r, d);
    uint16_t id = r->id;
    free(r);
    return *err ? 0 : id;
}

static int count_cb(uint32_t zone, uint16_t reg, const zs_rollout_t *r, void *arg)
{
    (void)zone;
    (void)reg;
    (void)r;
    (*(int *)arg)++;
    return 0;
}

static int entries(zs_store_t *s)
{
    MDB_txn *t;
    int n = 0;
    if (zs_read_begin(s, &t) != 0) {
        return -1;
    }
    if (zw_rollout_foreach(s, t, count_cb, &n) != 0) {
        n = -1;
    }
    zs_read_end(s, t);
    return n;
}

static uint8_t zone_flags(zs_store_t *s, const char *apex)
{
    MDB_txn *t;
    zw_zone_t z;
    uint8_t f = 0xff;
    if (zs_read_begin(s, &t) == 0) {
        if (zw_zone_get(s, t, tz_name(apex), &z) == 0) {
            f = z.flags;
        }
        zs_read_end(s, t);
    }
    return f;
}

static void t_regions(zs_store_t *s)
{
    zw_t w;
    diag_t d;
    int err;
    zw_begin(s, &w);
    uint16_t eu = region(&w, "eu", 0, "EU", &err, &d);
    uint16_t na = region(&w, "na", 0, "NA", &err, &d);
    uint16_t euc = 0, again = 0, dc = 0, x = 0;
    ok(eu && na, "regions eu and na");
    ok(zw_rollout_canary_region(&w, eu, false, &x, &d) == DNSD_ENOTFOUND,
       "no canary region of eu yet (create false): DNSD_ENOTFOUND");
    ok(zw_rollout_canary_region(&w, eu, true, &euc, &d) == 0 && euc != 0,
       "canary region of eu made");
    ok(zw_rollout_canary_region(&w, eu, true, &again, &d) == 0 && again == euc,
       "asked again: the same region");
    ok(zw_rollout_canary_region(&w, 0, true, &dc, &d) == 0 && dc != 0,
       "default has one too (default.canary)");
    zs_region_t *rs;
    size_t n;
    zs_regions_load(s, w.txn, &rs, &n);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (rs[i].id == euc) {
            found = strcmp(rs[i].name, "eu.canary") == 0 && rs[i].parent == eu &&
                    zs_region_is_canary(&rs[i]) && !rs[i].ncont && !rs[i].ncidr;
        }
        if (rs[i].id == dc) {
            found += strcmp(rs[i].name, "default.canary") == 0 && rs[i].parent == 0;
        }
    }
    free(rs);
    ok(found == 2, "named eu.canary and default.canary, falling back to eu and default, no codes");
    ok(zw_rollout_canary_region(&w, euc, true, &x, &d) == DNSD_EMALFORMED,
       "a canary region has no canary region: %s", d.text);
    char longname[ZS_REGION_NAME_MAX + 1];
    memset(longname, 'l', ZS_REGION_NAME_MAX - 6);
    longname[ZS_REGION_NAME_MAX - 6] = 0;
    uint16_t lr = region(&w, longname, 0, NULL, &err, &d);
    ok(lr && zw_rollout_canary_region(&w, lr, true, &x, &d) == DNSD_ELIMIT,
       "a region named with %d characters cannot have one: %s", ZS_REGION_NAME_MAX - 6, d.text);
    longname[ZS_REGION_NAME_MAX - 7] = 0;
    uint16_t lr2 = region(&w, longname, 0, NULL, &err, &d);
    ok(lr2 && zw_rollout_canary_region(&w, lr2, true, &x, &d) == 0,
       "one named with %d characters can", ZS_REGION_NAME_MAX - 7);

    /* the writer's region rules: a dotted name only as "<parent>.canary" */
    region(&w, "na.canary", eu, NULL, &err, &d);
    ok(err == DNSD_EMALFORMED && strstr(d.text, "falls back to the region it is named after"),
       "na.canary falling back to eu: refused (%s)", d.text);
    region(&w, "nowhere.canary", 0, NULL, &err, &d);
    ok(err == DNSD_EMALFORMED, "nowhere.canary (no region nowhere): refused");
    region(&w, "na.canary", na, "NA", &err, &d);
    ok(err == DNSD_EMALFORMED && strstr(d.text, "no continent"),
       "a canary region with a continent: refused (%s)", d.text);
    region(&w, "eu-lab", euc, NULL, &err, &d);
    ok(err == DNSD_EMALFORMED && strstr(d.text, "cannot fall back to canary region"),
       "a region falling back to a canary region: refused (%s)", d.text);
    region(&w, "a.b", 0, NULL, &err, &d);
    ok(err == DNSD_EMALFORMED, "a dotted name other than X.canary: refused");
    region(&w, "eu.canary.canary", euc, NULL, &err, &d);
    ok(err == DNSD_EMALFORMED, "eu.canary.canary: refused");
    uint16_t nac = region(&w, "na.canary", na, NULL, &err, &d);
    ok(nac != 0, "na.canary falling back to na, no codes: accepted");

    /* entries */
    zw_zone_t z;
    zw_zone_get(s, w.txn, tz_name("example.test."), &z);
    zs_rollout_t r = entry(euc, 500, 4), back;
    ok(zw_rollout_put(&w, &z, eu, &r, &d) == 0 && (z.flags & ZS_ZONE_F_ROLLOUT),
       "entry (example.test, eu) put; the zone flag set");
    ok(zw_rollout_get(s, w.txn, z.id, eu, &back) == 0 && memcmp(&back, &r, sizeof(r)) == 0,
       "and read back");
    ok(zw_rollout_get(s, w.txn, z.id, na, &back) == DNSD_ENOTFOUND, "no entry for na");
    zs_rollout_t bad = entry(nac, 500, 4);
    ok(zw_rollout_put(&w, &z, eu, &bad, &d) == DNSD_EMALFORMED && strstr(d.text, "eu.canary"),
       "an entry whose canary is not the region's canary region: refused (%s)", d.text);
    bad = entry(euc, 10001, 4);
    ok(zw_rollout_put(&w, &z, eu, &bad, &d) == DNSD_EMALFORMED, "p over 10000: refused (%s)",
       d.text);
    bad = entry(euc, 500, 4);
    bad.prefix6 = 8;
    ok(zw_rollout_put(&w, &z, eu, &bad, &d) == DNSD_EMALFORMED, "prefix6 8: refused");
    zs_rollout_t rn = entry(nac, 2500, 5);
    ok(zw_rollout_put(&w, &z, na, &rn, &d) == 0, "entry (example.test, na) put");
    ok(zw_commit(&w, &d) == 0, "committed");
    is_int(entries(s), 2, "two entries in the store");

    zw_begin(s, &w);
    zw_zone_get(s, w.txn, tz_name("example.test."), &z);
    ok(zw_rollout_del(&w, &z, na) == 0 && (z.flags & ZS_ZONE_F_ROLLOUT),
       "na's entry deleted; eu's is left, so is the flag");
    ok(zw_rollout_del(&w, &z, na) == DNSD_ENOTFOUND, "deleted twice: DNSD_ENOTFOUND");
    ok(zw_rollout_del(&w, &z, eu) == 0 && !(z.flags & ZS_ZONE_F_ROLLOUT),
       "the last entry deleted: the flag goes");
    zw_commit(&w, NULL);
    ok(entries(s) == 0 && !(zone_flags(s, "example.test.") & ZS_ZONE_F_ROLLOUT),
       "committed: no entry, no flag");

    /* a region deleted: the entries naming it go (and the flag) */
    zw_begin(s, &w);
    zw_zone_get(s, w.txn, tz_name("example.test."), &z);
    zw_rollout_put(&w, &z, eu, &r, &d);
    zw_rollout_put(&w, &z, na, &rn, &d);
    zw_commit(&w, NULL);
    zw_begin(s, &w);
    ok(zw_region_del(&w, eu, &d) == DNSD_EEXIST && strstr(d.text, "eu.canary"),
       "eu cannot go while eu.canary falls back to it (%s)", d.text);
    zw_abort(&w);
    zw_begin(s, &w);
    ok(zw_region_del(&w, euc, &d) == 0, "eu.canary deleted");
    zw_commit(&w, NULL);
    ok(entries(s) == 1 && (zone_flags(s, "example.test.") & ZS_ZONE_F_ROLLOUT),
       "its entry went with it; na's stays, and the flag");
    zw_begin(s, &w);
    ok(zw_region_del(&w, nac, &d) == 0, "na.canary deleted");
    zw_commit(&w, NULL);
    ok(entries(s) == 0 && !(zone_flags(s, "example.test.") & ZS_ZONE_F_ROLLOUT),
       "the last entry went: the flag is cleared");

    /* a zone deleted: its entries go */
    zw_begin(s, &w);
    zw_zone_get(s, w.txn, tz_name("deep.example.test."), &z);
    zs_rollout_t rd = entry(dc, 100, 6);
    ok(zw_rollout_put(&w, &z, 0, &rd, &d) == 0, "entry (deep.example.test, default) put");
    zw_commit(&w, NULL);
    is_int(entries(s), 1, "one entry");
    zw_begin(s, &w);
    zw_zone_get(s, w.txn, tz_name("deep.example.test."), &z);
    ok(zw_zone_delete(&w, &z) == 0 && zw_commit(&w, NULL) == 0, "deep.example.test deleted");
    is_int(entries(s), 0, "its entry went with it");
}

/* ---- replication: capture on A, apply on B ---- */

static uint8_t *cap;
static size_t caplen;

static int h_lock(void *ctx, diag_t *d)
{
    (void)ctx;
    (void)d;
    return 0;
}
static int h_catch_up(void *ctx, zs_store_t *s, MDB_txn *txn, diag_t *d)
{
    (void)ctx;
    (void)s;
    (void)txn;
    (void)d;
    return 0;
}
static int h_propose(void *ctx, zs_store_t *s, MDB_txn *txn, const uint8_t *e, size_t len,
                     diag_t *d)
{
    (void)ctx;
    (void)s;
    (void)txn;
    (void)d;
    free(cap);
    cap = malloc(len);
    memcpy(cap, e, len);
    caplen = len;
    return 0;
}
static void h_unlock(void *ctx)
{
    (void)ctx;
}
static const zs_repl_hooks_t hooks = {h_lock, h_catch_up, h_propose, h_unlock, NULL};

static int apply(zs_store_t *b, diag_t *d)
{
    MDB_txn *t;
    int err = zs_write_begin(b, &t);
    if (err) {
        return err;
    }
    if ((err = zr_apply(b, t, cap, caplen, d)) != 0) {
        zs_write_abort(b, t);
        return err;
    }
    return zs_write_commit(b, t);
}

static int compare(zs_store_t *a, zs_store_t *b, diag_t *d)
{
    MDB_txn *ta, *tb;
    zs_read_begin(a, &ta);
    zs_read_begin(b, &tb);
    int res = zr_compare(a, ta, b, tb, d);
    zs_read_end(a, ta);
    zs_read_end(b, tb);
    return res;
}

static void t_repl(zs_store_t *a, zs_store_t *b)
{
    diag_t d = {0};
    ok(compare(a, b, &d) == 0, "two stores built alike");
    a->repl = &hooks;
    zw_t w;
    zw_zone_t z;
    uint16_t eu, euc;
    int err;
    zw_begin(a, &w);
    eu = region(&w, "eu", 0, "EU", &err, &d);
    zw_rollout_canary_region(&w, eu, true, &euc, &d);
    zw_zone_get(a, w.txn, tz_name("example.test."), &z);
    zs_rollout_t r = entry(euc, 1000, 9);
    zw_rollout_put(&w, &z, eu, &r, &d);
    ok(zw_commit(&w, &d) == 0 && caplen > 0, "a txn with a split entry captured");
    /* the entry has the put into "rollout" */
    bool has_op = false;
    for (size_t i = ZR_HDR; i + 2 < caplen; i++) {
        if (cap[i] == ZR_OP_PUT && cap[i + 1] == ZR_DB_ROLLOUT && zs_get16(cap + i + 2) == 6) {
            has_op = true;
        }
    }
    ok(has_op, "with a put into sub-database %d (rollout)", ZR_DB_ROLLOUT);
    ok(zr_check(cap, caplen, &d) == 0 && apply(b, &d) == 0, "applied on the other store");
    ok(compare(a, b, &d) == 0, "the stores are equal again (%s)", d.text);
    MDB_txn *t;
    zs_rollout_t back;
    zw_zone_t zb;
    zs_read_begin(b, &t);
    zw_zone_get(b, t, tz_name("example.test."), &zb);
    ok(zw_rollout_get(b, t, zb.id, eu, &back) == 0 && back.permyriad == 1000 &&
           memcmp(back.key, r.key, 16) == 0 && (zb.flags & ZS_ZONE_F_ROLLOUT),
       "the other store has the entry (p 10.00%%) and the zone flag");
    zs_read_end(b, t);

    zw_begin(a, &w);
    zw_zone_get(a, w.txn, tz_name("example.test."), &z);
    zw_rollout_del(&w, &z, eu);
    ok(zw_commit(&w, &d) == 0 && apply(b, &d) == 0 && compare(a, b, &d) == 0,
       "a delete replicates too");
    ok(entries(b) == 0, "the other store has no entry left");
    a->repl = NULL;
}

int main(void)
{
    t_siphash();
    t_encoding();
    t_bucket();
    char dir[] = "/tmp/t_rollout.XXXXXX", da[] = "/tmp/t_rollout_a.XXXXXX",
         db[] = "/tmp/t_rollout_b.XXXXXX";
    if (!mkdtemp(dir) || !mkdtemp(da) || !mkdtemp(db)) {
        return 1;
    }
    zs_store_t *s = tz_build(dir);
    ok(s->has_rollout, "a new store has the rollout sub-database");
    t_regions(s);
    tz_store_rm(s, dir);
    zs_store_t *a = tz_build(da), *b = tz_build(db);
    t_repl(a, b);
    tz_store_rm(a, da);
    tz_store_rm(b, db);
    free(cap);
    return done_testing();
}
