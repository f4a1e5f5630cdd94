/* SPDX-License-Identifier: MIT */
/* testzone.c -- see testzone.h. Test code: aborts on any error. */
#include "tests/testzone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsd/pkt.h"
#include "zones/base/err.h"
#include "zones/writer.h"

/* "www.example.test." -> wire */
int tz_wire(const char *s, uint8_t *out)
{
    size_t o = 0;
    while (*s && strcmp(s, ".") != 0) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        out[o++] = (uint8_t)l;
        memcpy(out + o, s, l);
        o += l;
        s += l + (dot ? 1 : 0);
    }
    out[o++] = 0;
    return (int)o;
}

const uint8_t *tz_name(const char *s)
{
    static uint8_t buf[8][256];
    static int slot;
    uint8_t *out = buf[slot++ % 8];
    tz_wire(s, out);
    return out;
}

zs_store_t *tz_store_tmp(char *dir)
{
    diag_t d = {0};
    zs_store_t *st = NULL;
    if (!mkdtemp(dir) || zs_open(dir, ZS_OPEN_CREATE, 0, &st, &d) != 0) {
        printf("Bail out! cannot make a store in %s: %s\n", dir, d.text);
        return NULL;
    }
    return st;
}

void tz_store_rm(zs_store_t *st, const char *dir)
{
    zs_close(st);
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        printf("# could not remove %s\n", dir);
    }
}

static zw_zone_t zone_new(zw_t *w, const char *apex)
{
    uint8_t a[256];
    zw_zone_t z;
    tz_wire(apex, a);
    if (zw_zone_create(w, a, &z) != 0) {
        abort();
    }
    return z;
}

static void add(zw_t *w, zw_zone_t *z, const char *owner, uint16_t type, uint32_t ttl,
                const void *rd, size_t rl)
{
    uint8_t o[256];
    tz_wire(owner, o);
    int err = zw_rr_add(w, z, o, type, 0, ttl, rd, (uint16_t)rl);
    if (err) {
        printf("# add %s/%u: %s\n", owner, type, dnsd_strerror(err));
        abort();
    }
}

static const char tz_l63[] =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static void add_name(zw_t *w, zw_zone_t *z, const char *owner, uint16_t type, const char *target)
{
    uint8_t t[256];
    add(w, z, owner, type, 300, t, (size_t)tz_wire(target, t));
}

static void add_a(zw_t *w, zw_zone_t *z, const char *owner, uint8_t last)
{
    uint8_t a[4] = {192, 0, 2, last};
    add(w, z, owner, DNS_T_A, 300, a, 4);
}

static void add_soa(zw_t *w, zw_zone_t *z, const char *apex)
{
    uint8_t rd[600];
    char ns[300], rn[300];
    snprintf(ns, sizeof(ns), "ns1.%s", apex);
    snprintf(rn, sizeof(rn), "hostmaster.%s", apex);
    size_t o = (size_t)tz_wire(ns, rd);
    o += (size_t)tz_wire(rn, rd + o);
    uint32_t v[5] = {1, 3600, 600, 86400, 300}; /* MINIMUM 300 < TTL 3600 */
    for (int i = 0; i < 5; i++) {
        put32(rd + o, v[i]);
        o += 4;
    }
    add(w, z, apex, DNS_T_SOA, 3600, rd, o);
}

zs_store_t *tz_build(const char *dir)
{
    diag_t d;
    zw_t w;
    zs_store_t *store;
    if (zs_open(dir, ZS_OPEN_CREATE, 0, &store, &d) != 0 || zw_begin(store, &w) != 0) {
        abort();
    }
    zw_zone_t z = zone_new(&w, "example.test.");
    add_soa(&w, &z, "example.test.");
    add_name(&w, &z, "example.test.", DNS_T_NS, "ns1.example.test.");
    add_a(&w, &z, "ns1.example.test.", 53);
    add_a(&w, &z, "www.example.test.", 1);
    add_a(&w, &z, "www.example.test.", 2);
    uint8_t mx[300] = {0, 10};
    add(&w, &z, "example.test.", DNS_T_MX, 300, mx, 2 + (size_t)tz_wire("mail.example.test.", mx + 2));
    add_a(&w, &z, "mail.example.test.", 25);
    add_a(&w, &z, "a.b.ent.example.test.", 3);
    add_a(&w, &z, "*.wild.example.test.", 4);
    uint8_t txt[] = "\x05hello";
    add(&w, &z, "host.wild.example.test.", 16, 300, txt, 6);
    add_name(&w, &z, "c1.example.test.", DNS_T_CNAME, "c2.example.test.");
    add_name(&w, &z, "c2.example.test.", DNS_T_CNAME, "www.example.test.");
    add_name(&w, &z, "l1.example.test.", DNS_T_CNAME, "l2.example.test.");
    add_name(&w, &z, "l2.example.test.", DNS_T_CNAME, "l1.example.test.");
    add_name(&w, &z, "out.example.test.", DNS_T_CNAME, "www.elsewhere.test.");
    /* DNAME (RFC 6672): into the wildcard, a self loop, and one whose result is too long */
    add_name(&w, &z, "dn.example.test.", DNS_T_DNAME, "wild.example.test.");
    add_name(&w, &z, "dnloop.example.test.", DNS_T_DNAME, "dnloop.example.test.");
    char longt[300];
    snprintf(longt, sizeof(longt), "%.63s.%.63s.%.63s.example.test.", tz_l63, tz_l63, tz_l63);
    add_name(&w, &z, "dnlong.example.test.", DNS_T_DNAME, longt);
    add_name(&w, &z, "sub.example.test.", DNS_T_NS, "ns.sub.example.test.");
    add_a(&w, &z, "ns.sub.example.test.", 99);
    /* 20 TXT records of 100 bytes: > 512 and > 1232 bytes */
    for (int i = 0; i < 20; i++) {
        uint8_t t[101];
        t[0] = 100;
        memset(t + 1, 'a' + i, 100);
        add(&w, &z, "big.example.test.", 16, 300, t, 101);
    }
    zw_zone_t deep = zone_new(&w, "deep.example.test.");
    add_soa(&w, &deep, "deep.example.test.");
    add_name(&w, &deep, "deep.example.test.", DNS_T_NS, "ns1.example.test.");
    add_a(&w, &deep, "host.deep.example.test.", 77);
    if (zw_check_zone(&w, &z, &d) != 0 || zw_check_zone(&w, &deep, &d) != 0) {
        diag_print(&d, stdout);
        abort();
    }
    if (zw_commit(&w, NULL) != 0) {
        abort();
    }
    return store;
}


/* ---- signing (tz_sign) ---- */

typedef struct tz_rr {
    uint8_t owner[DNAME_MAXLEN + 1];
    uint16_t type, region;
    uint32_t ttl;
    uint16_t count;
    size_t len;
    uint8_t *rdata;
} tz_rr_t;

typedef struct tz_list {
    tz_rr_t *v;
    size_t n;
} tz_list_t;

static int collect(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    tz_list_t *l = arg;
    l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
    tz_rr_t *r = &l->v[l->n++];
    memcpy(r->owner, owner, (size_t)dname_wire_len(owner, DNAME_MAXLEN + 1));
    r->type = rr->type;
    r->region = rr->region;
    r->ttl = rr->ttl;
    r->count = rr->count;
    r->len = rr->rdata_len;
    r->rdata = malloc(rr->rdata_len);
    memcpy(r->rdata, rr->rdata, rr->rdata_len);
    return 0;
}

/* a non-apex owner with NS in any region */
static bool is_cut(const tz_list_t *l, const uint8_t *owner, const uint8_t *apex)
{
    if (dname_eq(owner, apex)) {
        return false;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].type == DNS_T_NS && dname_eq(l->v[i].owner, owner)) {
            return true;
        }
    }
    return false;
}

static bool signed_here(const tz_list_t *l, const tz_rr_t *r, const uint8_t *apex)
{
    /* at or below a cut: only the DS at the cut itself */
    int nl = dname_labels(r->owner), al = dname_labels(apex);
    const uint8_t *n = r->owner;
    for (int lab = nl; lab > al; lab--, n += 1 + *n) {
        if (is_cut(l, n, apex)) {
            return lab == nl && r->type == DNS_T_DS;
        }
    }
    return true;
}

void tz_sign(zs_store_t *st, const char *apex_s, uint8_t alg, zd_key_t *key, bool really)
{
    diag_t d;
    zw_t w;
    uint8_t apex[256];
    tz_wire(apex_s, apex);
    if (zw_begin(st, &w) != 0) {
        abort();
    }
    zw_zone_t z;
    if (zw_zone_get(st, w.txn, apex, &z) != 0 ||
        zd_key_generate(alg, ZD_ROLE_CSK, key, &d) != 0) {
        abort();
    }
    key->zone_id = z.id;
    key->state = ZD_KS_ACTIVE;
    key->published = key->active = key->created;
    if (zd_key_next_id(st, w.txn, z.id, &key->id) != 0 || zd_key_put(st, w.txn, key) != 0) {
        abort();
    }
    uint8_t rd[600];
    size_t rl = zd_dnskey_rdata(key, rd);
    add(&w, &z, apex_s, DNS_T_DNSKEY, 3600, rd, rl);
    char n[300], t[300];
    snprintf(n, sizeof(n), "secure.%s", apex_s);
    snprintf(t, sizeof(t), "ns.secure.%s", apex_s);
    add_name(&w, &z, n, DNS_T_NS, t);
    uint8_t a[4] = {192, 0, 2, 98};
    add(&w, &z, t, DNS_T_A, 300, a, 4);
    uint8_t ds[36] = {0x30, 0x39, 13, 2}; /* key tag 12345, alg 13, SHA-256, some digest */
    memset(ds + 4, 0xAB, 32);
    add(&w, &z, n, DNS_T_DS, 3600, ds, sizeof(ds));
    if ((really && zw_zone_set_flags(&w, &z, ZS_ZONE_F_SIGNED, 0) != 0) ||
        zw_check_zone(&w, &z, &d) != 0 || zw_commit(&w, NULL) != 0) {
        abort();
    }
    if (!really) {
        return;
    }
    /* every RRset, signed and written back (a raw write txn: what the writer's
     * signing does, done here so these tests do not depend on it) */
    MDB_txn *txn;
    tz_list_t l = {NULL, 0};
    if (zs_write_begin(st, &txn) != 0 || zw_foreach_rrset(st, txn, &z, collect, &l) != 0) {
        abort();
    }
    zd_signer_t *sg;
    if (zd_signer_new(key, &sg) != 0) {
        abort();
    }
    uint32_t now = (uint32_t)time(NULL);
    static uint8_t scratch[1 << 17], val[1 << 16];
    for (size_t i = 0; i < l.n; i++) {
        tz_rr_t *r = &l.v[i];
        uint8_t sig[ZD_RRSIG_MAX];
        size_t vl = 0;
        val[vl++] = ZS_RRSET_FORMAT;
        bool sign = signed_here(&l, r, apex);
        val[vl++] = sign ? ZS_RRSET_F_SIGNED : 0;
        zs_put32(val + vl, r->ttl);
        zs_put16(val + vl + 4, r->count);
        vl += 6;
        memcpy(val + vl, r->rdata, r->len);
        vl += r->len;
        if (sign) {
            int sl = zd_sign(sg, r->owner, apex, r->type, r->ttl, r->rdata, r->len, r->count,
                             now - 3600, now + 14 * 86400, scratch, sizeof(scratch), sig);
            if (sl <= 0) {
                abort();
            }
            zs_put16(val + vl, 1);
            zs_put16(val + vl + 2, (uint16_t)sl);
            memcpy(val + vl + 4, sig, (size_t)sl);
            vl += 4 + (size_t)sl;
        }
        dname_key_t k;
        uint8_t kb[ZS_RRKEY_MAX];
        if (dname_key_build(r->owner, &k) != 0) {
            abort();
        }
        MDB_val key_v = {zs_rrset_key(z.id, &k, z.apex_labels, r->type, r->region, kb), kb};
        MDB_val v = {vl, val};
        if (zs_put(st, txn, st->rrsets, &key_v, &v, 0) != 0) {
            abort();
        }
        free(r->rdata);
    }
    free(l.v);
    zd_signer_free(sg);
    if (zs_write_commit(st, txn) != 0) {
        abort();
    }
}
