/* SPDX-License-Identifier: MIT */
/*
 * rollout.c -- the canary split of a certificate rollout (see rollout.h):
 * the entry's encoding, the client's bucket, the hot lookup for the query
 * path and the writer's edits. The sub-database and its layout are
 * rollout.h's; the cleanup when a zone or region goes is the writer's
 * (zw_rollout_drop() in writer_region.c: the writer cannot include this
 * module, which builds on it).
 *
 * DESIGN. The bucket hashes one family byte and the address cut to the
 * entry's prefix under the entry's random key (SipHash-2-4): the same
 * prefix always gets the same bucket under one key, so a subnet keeps its
 * answer while p holds and, since "in the canary" is bucket < p, stays in
 * it when p grows; a new rollout (a new key) picks other subnets, so no
 * subnet is always the first to see new certificates. Without the key the
 * buckets cannot be predicted, so no client can choose its pool.
 */
#include "zones/rollout.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "zones/base/err.h"
#include "zones/base/siphash.h"
#include "zones/base/xalloc.h"
#include "zones/regions.h"
#include "zones/schema.h"

#define KEY_LEN 6u /* u32 zone | u16 region */

void zs_rollout_encode(const zs_rollout_t *r, uint8_t *buf)
{
    buf[0] = ZS_ROLLOUT_FORMAT;
    buf[1] = 0;
    zs_put16(buf + 2, r->canary);
    zs_put16(buf + 4, r->permyriad);
    buf[6] = r->prefix4;
    buf[7] = r->prefix6;
    memcpy(buf + 8, r->key, 16);
}

/* the ranges rollout.h gives (a canary region is never default) */
static bool in_range(const zs_rollout_t *r)
{
    return r->canary != ZS_REGION_DEFAULT && r->canary <= ZS_REGION_ID_MAX &&
           r->permyriad <= ZS_ROLLOUT_PERMYRIAD && r->prefix4 >= 8 && r->prefix4 <= 32 &&
           r->prefix6 >= 16 && r->prefix6 <= 128;
}

bool zs_rollout_decode(const uint8_t *v, size_t len, zs_rollout_t *out)
{
    if (len != ZS_ROLLOUT_VALUE_LEN || v[0] != ZS_ROLLOUT_FORMAT || v[1] != 0) {
        return false;
    }
    out->canary = zs_get16(v + 2);
    out->permyriad = zs_get16(v + 4);
    out->prefix4 = v[6];
    out->prefix6 = v[7];
    memcpy(out->key, v + 8, 16);
    return in_range(out);
}

uint16_t zs_rollout_bucket(const zs_rollout_t *r, int family, const uint8_t *addr)
{
    uint8_t m[17] = {0};
    unsigned bits = family == AF_INET6 ? r->prefix6 : r->prefix4;
    unsigned max = family == AF_INET6 ? 128u : 32u;
    if (bits > max) {
        bits = max; /* decode never lets this in; a caller's own entry might */
    }
    m[0] = family == AF_INET6 ? 6 : 4;
    unsigned whole = bits / 8, rest = bits % 8;
    memcpy(m + 1, addr, whole);
    size_t len = 1 + whole;
    if (rest) {
        m[1 + whole] = (uint8_t)(addr[whole] & (0xffu << (8 - rest)));
        len++;
    }
    return (uint16_t)(siphash24(r->key, m, len) % ZS_ROLLOUT_PERMYRIAD);
}

static void entry_key(uint32_t zone, uint16_t region, uint8_t *kb)
{
    zs_put32(kb, zone);
    zs_put16(kb + 4, region);
}

/* the entry on @p txn (no allocation: the hot lookup shares it) */
static int get(zs_store_t *s, MDB_txn *txn, uint32_t zone, uint16_t region, zs_rollout_t *out)
{
    if (!s->has_rollout) {
        return DNSD_ENOTFOUND; /* a read-only open of a store from before rollouts */
    }
    uint8_t kb[KEY_LEN];
    entry_key(zone, region, kb);
    MDB_val k = {KEY_LEN, kb}, v;
    int rc = mdb_get(txn, s->rollout, &k, &v);
    if (rc) {
        return zs_mdb_err(rc);
    }
    return zs_rollout_decode(v.mv_data, v.mv_size, out) ? 0 : DNSD_ESTORE;
}

int zr_rollout_get(zr_t *rd, uint32_t zone, uint16_t region, zs_rollout_t *out)
{
    return get(rd->s, rd->txn, zone, region, out);
}

int zw_rollout_get(zs_store_t *s, MDB_txn *txn, uint32_t zone, uint16_t region,
                   zs_rollout_t *out)
{
    return get(s, txn, zone, region, out);
}

/* region @p id in @p rs (0: a static "default"), or NULL */
static const zs_region_t *region_by_id(const zs_region_t *rs, size_t n, uint16_t id)
{
    static const zs_region_t dflt = {.id = ZS_REGION_DEFAULT, .name = "default"};
    if (id == ZS_REGION_DEFAULT) {
        return &dflt;
    }
    for (size_t i = 0; i < n; i++) {
        if (rs[i].id == id) {
            return &rs[i];
        }
    }
    return NULL;
}

/* Is @p c the canary region of @p parent (name and fallback)? */
static bool is_canary_of(const zs_region_t *c, const zs_region_t *parent)
{
    size_t pl = strlen(parent->name);
    return c->parent == parent->id && strncmp(c->name, parent->name, pl) == 0 &&
           strcmp(c->name + pl, ZS_ROLLOUT_CANARY_SUFFIX) == 0;
}

int zw_rollout_put(zw_t *w, zw_zone_t *z, uint16_t region, const zs_rollout_t *r, diag_t *d)
{
    if (!in_range(r)) {
        diag_set(d, "", 0,
                 "rollout entry out of range: canary region id %u, p %u/10000 (at most 10000), "
                 "prefixes /%u (8-32) and /%u (16-128)",
                 r->canary, r->permyriad, r->prefix4, r->prefix6);
        return DNSD_EMALFORMED;
    }
    zs_region_t *rs = NULL;
    size_t n = 0;
    int err = zs_regions_load(w->s, w->txn, &rs, &n);
    if (err) {
        diag_set(d, "", 0, "cannot read regions: %s", dnsd_strerror(err));
        return err;
    }
    const zs_region_t *parent = region_by_id(rs, n, region);
    const zs_region_t *canary = region_by_id(rs, n, r->canary);
    if (!parent) {
        diag_set(d, "", 0, "rollout entry: region id %u does not exist", region);
        err = DNSD_EMALFORMED;
    } else if (!canary || !is_canary_of(canary, parent)) {
        diag_set(d, "", 0, "rollout entry: region id %u is not the canary region of \"%s\" "
                 "(\"%s%s\")", r->canary, parent->name, parent->name, ZS_ROLLOUT_CANARY_SUFFIX);
        err = DNSD_EMALFORMED;
    }
    free(rs);
    if (err) {
        return err;
    }
    uint8_t kb[KEY_LEN], vb[ZS_ROLLOUT_VALUE_LEN];
    entry_key(z->id, region, kb);
    zs_rollout_encode(r, vb);
    MDB_val k = {KEY_LEN, kb}, v = {ZS_ROLLOUT_VALUE_LEN, vb};
    int rc = zs_put(w->s, w->txn, w->s->rollout, &k, &v, 0);
    if (rc) {
        return zs_mdb_err(rc);
    }
    return zw_zone_set_flags(w, z, ZS_ZONE_F_ROLLOUT, 0);
}

int zw_rollout_del(zw_t *w, zw_zone_t *z, uint16_t region)
{
    uint8_t kb[KEY_LEN];
    entry_key(z->id, region, kb);
    MDB_val k = {KEY_LEN, kb}, v;
    int rc = zs_del(w->s, w->txn, w->s->rollout, &k);
    if (rc) {
        return zs_mdb_err(rc);
    }
    /* another entry of the zone left? its keys start with the zone id */
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(w->txn, w->s->rollout, &c)) != 0) {
        return zs_mdb_err(rc);
    }
    k.mv_size = 4;
    k.mv_data = kb;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    bool more = rc == 0 && k.mv_size == KEY_LEN && zs_get32(k.mv_data) == z->id;
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND) {
        return zs_mdb_err(rc);
    }
    return more ? 0 : zw_zone_set_flags(w, z, 0, ZS_ZONE_F_ROLLOUT);
}

int zw_rollout_canary_region(zw_t *w, uint16_t parent, bool create, uint16_t *id, diag_t *d)
{
    zs_region_t *rs = NULL;
    size_t n = 0;
    int err = zs_regions_load(w->s, w->txn, &rs, &n);
    if (err) {
        diag_set(d, "", 0, "cannot read regions: %s", dnsd_strerror(err));
        return err;
    }
    const zs_region_t *p = region_by_id(rs, n, parent);
    char name[ZS_REGION_NAME_MAX + 1];
    if (!p) {
        diag_set(d, "", 0, "region id %u does not exist", parent);
        err = DNSD_ENOTFOUND;
        goto out;
    }
    if (strchr(p->name, '.')) {
        diag_set(d, "", 0, "region \"%s\" is a canary region: it has no canary region of its own",
                 p->name);
        err = DNSD_EMALFORMED;
        goto out;
    }
    if (strlen(p->name) + strlen(ZS_ROLLOUT_CANARY_SUFFIX) > ZS_REGION_NAME_MAX) {
        diag_set(d, "", 0, "region name \"%s\" is too long for a canary region (\"%s%s\": at most "
                 "%d characters)", p->name, p->name, ZS_ROLLOUT_CANARY_SUFFIX, ZS_REGION_NAME_MAX);
        err = DNSD_ELIMIT;
        goto out;
    }
    snprintf(name, sizeof(name), "%s%s", p->name, ZS_ROLLOUT_CANARY_SUFFIX);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rs[i].name, name) == 0) {
            if (!is_canary_of(&rs[i], p)) {
                diag_set(d, "", 0, "region \"%s\" exists but does not fall back to \"%s\"", name,
                         p->name);
                err = DNSD_ESTORE; /* the region rules never let this in */
                goto out;
            }
            *id = rs[i].id;
            goto out;
        }
    }
    if (!create) {
        diag_set(d, "", 0, "region \"%s\" has no canary region", p->name);
        err = DNSD_ENOTFOUND;
        goto out;
    }
    zs_region_t *c = xcalloc(1, sizeof(*c));
    memcpy(c->name, name, sizeof(name));
    c->parent = parent;
    err = zw_region_put(w, c, d);
    if (!err) {
        *id = c->id;
    }
    free(c);
out:
    free(rs);
    return err;
}

int zw_rollout_foreach(zs_store_t *s, MDB_txn *txn, zw_rollout_cb cb, void *arg)
{
    if (!s->has_rollout) {
        return 0;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->rollout, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    MDB_val k, v;
    int res = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !res;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        zs_rollout_t r;
        if (k.mv_size != KEY_LEN || !zs_rollout_decode(v.mv_data, v.mv_size, &r)) {
            res = DNSD_ESTORE;
            break;
        }
        res = cb(zs_get32(k.mv_data), zs_get16((const uint8_t *)k.mv_data + 4), &r, arg);
    }
    mdb_cursor_close(c);
    if (!res && rc && rc != MDB_NOTFOUND) {
        res = zs_mdb_err(rc);
    }
    return res;
}
