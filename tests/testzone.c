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
    if (zw_zone_get(st, w.txn, apex, &z) != 0) {
        abort();
    }
    char n[300], t[300];
    snprintf(n, sizeof(n), "secure.%s", apex_s);
    snprintf(t, sizeof(t), "ns.secure.%s", apex_s);
    add_name(&w, &z, n, DNS_T_NS, t);
    uint8_t a[4] = {192, 0, 2, 98};
    add(&w, &z, t, DNS_T_A, 300, a, 4);
    uint8_t ds[36] = {0x30, 0x39, 13, 2}; /* key tag 12345, alg 13, SHA-256, some digest */
    memset(ds + 4, 0xAB, 32);
    add(&w, &z, n, DNS_T_DS, 3600, ds, sizeof(ds));
    if (really) {
        /* the writer's way (zones/dnssec.h): keys, DNSKEY/CDS/CDNSKEY, the flag,
         * every RRset signed in this txn */
        zd_policy_t pol;
        zd_policy_default(&pol);
        pol.alg = alg;
        if (zd_zone_enable(&w, &z, &pol, &d) != 0) {
            diag_print(&d, stdout);
            abort();
        }
    } else {
        /* the twin: a key's DNSKEY, nothing signed */
        if (zd_key_generate(alg, ZD_ROLE_CSK, key, &d) != 0) {
            abort();
        }
        uint8_t rd[600];
        size_t rl = zd_dnskey_rdata(key, rd);
        add(&w, &z, apex_s, DNS_T_DNSKEY, 3600, rd, rl);
    }
    if (zw_check_zone(&w, &z, &d) != 0 || zw_commit(&w, &d) != 0) {
        diag_print(&d, stdout);
        abort();
    }
    if (!really) {
        return;
    }
    MDB_txn *txn;
    zd_key_t *keys = NULL;
    size_t nk = 0;
    if (zs_read_begin(st, &txn) != 0 || zd_keys_list(st, txn, z.id, &keys, &nk) != 0 || nk != 1) {
        abort();
    }
    *key = keys[0];
    free(keys);
    zs_read_end(st, txn);
}
