/* SPDX-License-Identifier: MIT */
/* regions.c -- regions in the store (see regions.h for the value format). Slow path. */
#include "zones/regions.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"
#include "zones/schema.h"

#define REGION_FORMAT 1

static uint64_t dbl_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    return b;
}

static double bits_dbl(uint64_t b)
{
    double v;
    memcpy(&v, &b, 8);
    return v;
}

size_t zs_region_encode(const zs_region_t *r, uint8_t *b)
{
    size_t o = 0;
    b[o++] = REGION_FORMAT;
    zs_put16(b + o, r->parent);
    o += 2;
    b[o++] = r->has_coords ? 1 : 0;
    zs_put64(b + o, dbl_bits(r->lat));
    zs_put64(b + o + 8, dbl_bits(r->lon));
    o += 16;
    size_t nl = strlen(r->name);
    b[o++] = (uint8_t)nl;
    memcpy(b + o, r->name, nl);
    o += nl;
    const char(*lists[3])[3] = {r->cont, r->country, NULL};
    int counts[3] = {r->ncont, r->ncountry, r->nsubdiv};
    for (int l = 0; l < 3; l++) {
        b[o++] = (uint8_t)counts[l];
        for (int i = 0; i < counts[l]; i++) {
            const char *t = l < 2 ? lists[l][i] : r->subdiv[i];
            size_t tl = strlen(t);
            b[o++] = (uint8_t)tl;
            memcpy(b + o, t, tl);
            o += tl;
        }
    }
    b[o++] = (uint8_t)r->ncidr;
    for (int i = 0; i < r->ncidr; i++) {
        size_t al = r->cidr[i].family == 4 ? 4 : 16;
        b[o++] = r->cidr[i].family;
        b[o++] = r->cidr[i].len;
        memcpy(b + o, r->cidr[i].addr, al);
        o += al;
    }
    return o;
}

static int get_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
    if (*p >= end) {
        return -1;
    }
    size_t l = **p;
    (*p)++;
    /* a NUL inside would make the string shorter than its length byte says */
    if ((size_t)(end - *p) < l || l >= cap || memchr(*p, 0, l)) {
        return -1;
    }
    memcpy(out, *p, l);
    out[l] = 0;
    *p += l;
    return 0;
}

static bool name_ok(const char *n)
{
    size_t l = strlen(n);
    if (l < 1 || l > ZS_REGION_NAME_MAX || strcmp(n, "default") == 0) {
        return false;
    }
    for (size_t i = 0; i < l; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* "EU", "DE": two upper-case letters */
static bool code2_ok(const char *c)
{
    return is_upper(c[0]) && is_upper(c[1]) && c[2] == 0;
}

/* "US-CA": country, "-", 1 to 3 upper-case letters or digits */
static bool subdiv_ok(const char *c)
{
    size_t l = strlen(c);
    if (l < 4 || l > 6 || !is_upper(c[0]) || !is_upper(c[1]) || c[2] != '-') {
        return false;
    }
    for (size_t i = 3; i < l; i++) {
        if (!is_upper(c[i]) && !(c[i] >= '0' && c[i] <= '9')) {
            return false;
        }
    }
    return true;
}

int zs_region_decode(uint16_t id, const uint8_t *v, size_t len, zs_region_t *r)
{
    const uint8_t *p = v, *end = v + len;
    memset(r, 0, sizeof(*r));
    r->id = id;
    /* the key: 0 is "default", never stored; 0xFFFF is no region's id */
    if (id == ZS_REGION_DEFAULT || id > ZS_REGION_ID_MAX) {
        return DNSD_ESTORE;
    }
    if (len < 21 || p[0] != REGION_FORMAT || (p[3] & ~1u) != 0) {
        return DNSD_ESTORE;
    }
    r->parent = zs_get16(p + 1);
    r->has_coords = p[3] & 1;
    r->lat = bits_dbl(zs_get64(p + 4));
    r->lon = bits_dbl(zs_get64(p + 12));
    if (r->parent == id || r->parent > ZS_REGION_ID_MAX) {
        return DNSD_ESTORE;
    }
    if (r->has_coords && !(isfinite(r->lat) && isfinite(r->lon) && r->lat >= -90 &&
                           r->lat <= 90 && r->lon >= -180 && r->lon <= 180)) {
        return DNSD_ESTORE;
    }
    p += 20;
    if (get_str(&p, end, r->name, sizeof(r->name)) != 0 || !name_ok(r->name)) {
        return DNSD_ESTORE;
    }
    int *counts[3] = {&r->ncont, &r->ncountry, &r->nsubdiv};
    for (int l = 0; l < 3; l++) {
        if (p >= end) {
            return DNSD_ESTORE;
        }
        *counts[l] = *p++;
        for (int i = 0; i < *counts[l]; i++) {
            char *dst = l == 0 ? r->cont[i] : l == 1 ? r->country[i] : r->subdiv[i];
            if (get_str(&p, end, dst, l < 2 ? 3 : 8) != 0 ||
                !(l < 2 ? code2_ok(dst) : subdiv_ok(dst))) {
                return DNSD_ESTORE;
            }
        }
    }
    if (p >= end) {
        return DNSD_ESTORE;
    }
    r->ncidr = *p++;
    for (int i = 0; i < r->ncidr; i++) {
        if (end - p < 2) {
            return DNSD_ESTORE;
        }
        uint8_t fam = p[0], pl = p[1];
        size_t al = fam == 4 ? 4 : fam == 6 ? 16 : 0;
        if (!al || pl > al * 8 || (size_t)(end - p) < 2 + al) {
            return DNSD_ESTORE;
        }
        r->cidr[i].family = fam;
        r->cidr[i].len = pl;
        memcpy(r->cidr[i].addr, p + 2, al);
        for (size_t b = pl; b < al * 8; b++) {
            if (r->cidr[i].addr[b / 8] & (0x80u >> (b % 8))) {
                return DNSD_ESTORE; /* host bits: zs_cidr_parse() never lets them in */
            }
        }
        p += 2 + al;
    }
    return p == end ? 0 : DNSD_ESTORE;
}

int zs_regions_load(zs_store_t *s, MDB_txn *txn, zs_region_t **out, size_t *n)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->regions, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    size_t cap = 8, cnt = 0;
    zs_region_t *arr = xmalloc(cap * sizeof(*arr));
    MDB_val key, val;
    int err = 0;
    rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
    while (rc == 0) {
        if (key.mv_size != 2) {
            err = DNSD_ESTORE;
            break;
        }
        if (cnt == cap) {
            cap *= 2;
            arr = xrealloc(arr, cap * sizeof(*arr));
        }
        if ((err = zs_region_decode(zs_get16(key.mv_data), val.mv_data, val.mv_size,
                                    &arr[cnt])) != 0) {
            break;
        }
        cnt++;
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (!err && rc != 0 && rc != MDB_NOTFOUND) {
        err = zs_mdb_err(rc);
    }
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    *n = cnt;
    return 0;
}

int zs_region_id(zs_store_t *s, MDB_txn *txn, const char *name, uint16_t *id)
{
    if (strcmp(name, "default") == 0) {
        *id = 0;
        return 0;
    }
    zs_region_t *rs;
    size_t n;
    int err = zs_regions_load(s, txn, &rs, &n);
    if (err) {
        return err;
    }
    err = DNSD_ENOTFOUND;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rs[i].name, name) == 0) {
            *id = rs[i].id;
            err = 0;
            break;
        }
    }
    free(rs);
    return err;
}

static int bump_regions_gen(zw_t *w)
{
    return zs_meta_bump(w->s, w->txn, ZS_META_REGIONS_GEN);
}

int zs_regions_generation(zs_store_t *s, MDB_txn *txn, uint64_t *out)
{
    return zs_meta_u64(s, txn, ZS_META_REGIONS_GEN, out);
}

int zw_region_put(zw_t *w, zs_region_t *r, diag_t *d)
{
    zs_region_t *rs;
    size_t n;
    int err = zs_regions_load(w->s, w->txn, &rs, &n);
    if (err) {
        diag_set(d, "", 0, "cannot read regions: %s", dnsd_strerror(err));
        return err;
    }
    if (!r->name[0] || strcmp(r->name, "default") == 0 || strlen(r->name) > ZS_REGION_NAME_MAX) {
        diag_set(d, "", 0, "region name \"%s\" is reserved or invalid", r->name);
        err = DNSD_EMALFORMED;
        goto out;
    }
    uint16_t next = 1;
    for (size_t i = 0; i < n; i++) {
        if (rs[i].id != r->id && strcmp(rs[i].name, r->name) == 0) {
            diag_set(d, "", 0, "region \"%s\" already exists", r->name);
            err = DNSD_EEXIST;
            goto out;
        }
        if (rs[i].id >= next) {
            next = (uint16_t)(rs[i].id + 1);
        }
    }
    if (r->id == 0) {
        /* never reuse the id of a deleted region: a running dnsd may still
         * map clients to it until it rebuilds its geo snapshot */
        uint64_t counter = 0;
        if ((err = zs_meta_u64(w->s, w->txn, ZS_META_NEXT_REGION, &counter)) != 0) {
            goto out;
        }
        if (counter > next) {
            next = counter > ZS_REGION_ID_MAX + 1u ? ZS_REGION_ID_MAX + 1u : (uint16_t)counter;
        }
        if (next > ZS_REGION_ID_MAX) {
            diag_set(d, "", 0, "too many regions");
            err = DNSD_ELIMIT;
            goto out;
        }
        r->id = next;
        uint8_t nb[8];
        zs_put64(nb, (uint64_t)next + 1);
        MDB_val nk = {strlen(ZS_META_NEXT_REGION), (void *)ZS_META_NEXT_REGION}, nv = {8, nb};
        int prc = mdb_put(w->txn, w->s->meta, &nk, &nv, 0);
        if (prc) {
            err = zs_mdb_err(prc);
            goto out;
        }
    }
    /* the chain: parent must exist, no loop, bounded depth */
    uint16_t cur = r->parent;
    int depth = 0;
    for (; cur != 0; depth++) {
        if (cur == r->id || depth >= ZS_REGION_CHAIN_MAX) {
            diag_set(d, "", 0, "fallback chain of region \"%s\" loops or is longer than %d",
                     r->name, ZS_REGION_CHAIN_MAX);
            err = DNSD_ELIMIT;
            goto out;
        }
        size_t i;
        for (i = 0; i < n && rs[i].id != cur; i++) {
        }
        if (i == n) {
            diag_set(d, "", 0, "fallback region id %u does not exist", cur);
            err = DNSD_ENOTFOUND;
            goto out;
        }
        cur = rs[i].parent;
    }
    /* and the regions below r: their chains run through r, so a new parent
     * (or a longer chain above it) lengthens them too */
    for (size_t x = 0; x < n; x++) {
        if (rs[x].id == r->id) {
            continue;
        }
        uint16_t c = rs[x].parent;
        for (int steps = 1; c != 0 && steps <= ZS_REGION_CHAIN_MAX; steps++) {
            if (c == r->id) {
                if (steps + depth > ZS_REGION_CHAIN_MAX) {
                    diag_set(d, "", 0,
                             "this would make the fallback chain of region \"%s\" (below \"%s\") "
                             "longer than %d",
                             rs[x].name, r->name, ZS_REGION_CHAIN_MAX);
                    err = DNSD_ELIMIT;
                    goto out;
                }
                break;
            }
            size_t i;
            for (i = 0; i < n && rs[i].id != c; i++) {
            }
            c = i < n ? rs[i].parent : 0;
        }
    }
    uint8_t *buf = xmalloc(ZS_REGION_VALUE_MAX);
    zs_region_t *back = xmalloc(sizeof(*back));
    uint8_t kb[2];
    zs_put16(kb, r->id);
    MDB_val key = {2, kb}, val = {zs_region_encode(r, buf), buf};
    /* never store what the readers would refuse as damage */
    if (zs_region_decode(r->id, buf, val.mv_size, back) != 0) {
        diag_set(d, "", 0, "region \"%s\": a name, code, CIDR or coordinate is not valid",
                 r->name);
        free(buf);
        free(back);
        err = DNSD_EMALFORMED;
        goto out;
    }
    free(back);
    int rc = mdb_put(w->txn, w->s->regions, &key, &val, 0);
    free(buf);
    err = rc ? zs_mdb_err(rc) : bump_regions_gen(w);
out:
    free(rs);
    return err;
}

static bool in_region(const MDB_val *k, uint16_t id)
{
    return k->mv_size >= 9 && zs_get16((const uint8_t *)k->mv_data + k->mv_size - 2) == id;
}

int zw_region_del(zw_t *w, uint16_t id, diag_t *d)
{
    zs_region_t *rs;
    size_t n;
    int err = zs_regions_load(w->s, w->txn, &rs, &n);
    if (err) {
        return err;
    }
    for (size_t i = 0; i < n; i++) {
        if (rs[i].parent == id) {
            diag_set(d, "", 0, "region \"%s\" falls back to it; change that first", rs[i].name);
            free(rs);
            return DNSD_EEXIST;
        }
    }
    free(rs);
    uint8_t kb[2];
    zs_put16(kb, id);
    MDB_val key = {2, kb}, val;
    int rc = mdb_del(w->txn, w->s->regions, &key, NULL);
    if (rc) {
        return zs_mdb_err(rc);
    }
    /* its RRsets go with it */
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(w->txn, w->s->rrsets, &c)) != 0) {
        return zs_mdb_err(rc);
    }
    rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
    while (rc == 0) {
        if (in_region(&key, id)) {
            if ((rc = mdb_cursor_del(c, 0)) != 0) {
                break;
            }
            rc = mdb_cursor_get(c, &key, &val, MDB_GET_CURRENT);
            continue;
        }
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND && rc != 0) {
        return zs_mdb_err(rc);
    }
    return bump_regions_gen(w);
}

int zs_cidr_parse(const char *text, zs_cidr_t *out)
{
    parse_cidr_t c;
    memset(out, 0, sizeof(*out));
    int err = parse_cidr(text, &c, NULL);
    if (err) {
        return err;
    }
    out->family = c.family;
    out->len = c.len;
    memcpy(out->addr, c.addr, sizeof(out->addr));
    return 0;
}

void zs_cidr_str(const zs_cidr_t *c, char *buf, size_t cap)
{
    char a[INET6_ADDRSTRLEN];
    inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
    snprintf(buf, cap, "%s/%u", a, c->len);
}
