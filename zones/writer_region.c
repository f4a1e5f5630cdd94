/* SPDX-License-Identifier: MIT */
/*
 * writer_region.c -- the region edits of the writer (zw_region_put(),
 * zw_region_del(), declared in writer.h): the one place a region set is
 * written, so the region rules hold for every writer (dnsctl, the ACME
 * worker, later UPDATE and cluster replay), not only for dnsctl.
 *
 * Each edit checks the whole region set as it would be committed with
 * zs_regions_check() (zones/regions.c: codes, CIDRs, unique names, codes
 * and networks, parent chains and their depth), which covers everything
 * dnsd's geo build refuses; a changed fallback re-checks every zone's
 * CNAME-in-view rule (zw_check_zone()). A refused edit writes nothing
 * (the caller aborts the txn). Slow path: allocates; never on a worker.
 */
#include "zones/writer.h"

#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/names.h"
#include "zones/regions.h"
#include "zones/schema.h"

static int bump_regions_gen(zw_t *w)
{
    return zs_meta_bump(w->s, w->txn, ZS_META_REGIONS_GEN);
}

struct zone_list {
    zw_zone_t *z;
    size_t n, cap;
};

static int collect_zone(const zw_zone_t *z, void *arg)
{
    struct zone_list *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->z = xrealloc(l->z, l->cap * sizeof(*l->z));
    }
    l->z[l->n++] = *z;
    return 0;
}

/* zw_check_zone() on every zone; the first refusal in @p d with the zone as d->file */
static int check_all_zones(zw_t *w, diag_t *d)
{
    struct zone_list zl = {NULL, 0, 0};
    int err = zw_foreach_zone(w->s, w->txn, collect_zone, &zl);
    if (err) {
        diag_set(d, "", 0, "cannot list the zones: %s", dnsd_strerror(err));
    }
    for (size_t i = 0; i < zl.n && !err; i++) {
        if ((err = zw_check_zone(w, &zl.z[i], d)) != 0) {
            /* "zone " and the name, cut to fit d->file (a name's text can be 1 KiB) */
            memcpy(d->file, "zone ", 5);
            dname_to_str(zl.z[i].apex, d->file + 5, sizeof(d->file) - 5);
        }
    }
    free(zl.z);
    return err;
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
        if ((err = zs_meta_put_u64(w->s, w->txn, ZS_META_NEXT_REGION, (uint64_t)next + 1)) != 0) {
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
    /* the whole set as it would be committed obeys the rules (zs_regions_check()) */
    uint16_t old_parent = ZS_REGION_DEFAULT;
    bool existed = false;
    zs_region_t *all = xmalloc((n + 1) * sizeof(*all));
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        if (rs[i].id == r->id) {
            existed = true;
            old_parent = rs[i].parent;
            continue;
        }
        all[na++] = rs[i];
    }
    all[na++] = *r;
    err = zs_regions_check(all, na, d);
    free(all);
    if (err) {
        goto out;
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
    int rc = zs_put(w->s, w->txn, w->s->regions, &key, &val, 0);
    free(buf);
    err = rc ? zs_mdb_err(rc) : bump_regions_gen(w);
    /* a new fallback changes what this region and every region below it
     * see: a CNAME in eu beside an A in lab is fine until lab falls back to
     * eu, so every zone is checked again (a new region has no RRsets yet) */
    if (!err && existed && old_parent != r->parent) {
        err = check_all_zones(w, d);
    }
out:
    free(rs);
    return err;
}

int zw_region_del(zw_t *w, uint16_t id, diag_t *d)
{
    zs_region_t *rs;
    size_t n;
    int err = zs_regions_load(w->s, w->txn, &rs, &n);
    if (err) {
        return err;
    }
    /* what is left must still be a valid set: no chain may lose its link */
    for (size_t i = 0; i < n; i++) {
        if (rs[i].parent == id) {
            diag_set(d, "", 0, "region \"%s\" falls back to it; change that first", rs[i].name);
            free(rs);
            return DNSD_EEXIST;
        }
    }
    free(rs);
    /* its RRsets go first, zone by zone through the writer, while the
     * region still has its name for the journal: each zone that had some is
     * checked, its serial bumped and the removal journalled at commit */
    struct zone_list zl = {NULL, 0, 0};
    err = zw_foreach_zone(w->s, w->txn, collect_zone, &zl);
    for (size_t i = 0; i < zl.n && !err; i++) {
        err = zw_zone_clear(w, &zl.z[i], id, false);
    }
    free(zl.z);
    if (!err) {
        err = zw_rollout_drop(w, 0, id); /* the canary splits naming it */
    }
    if (err) {
        return err;
    }
    uint8_t kb[2];
    zs_put16(kb, id);
    MDB_val key = {2, kb};
    int rc = zs_del(w->s, w->txn, w->s->regions, &key);
    if (rc) {
        return zs_mdb_err(rc);
    }
    return bump_regions_gen(w);
}

/* ---- canary split entries (zones/rollout.h's layout) ---- */

/* does entry (@p k, @p v) belong to zone @p zone (0: any) and name @p region? */
static int drop_match(const MDB_val *k, const MDB_val *v, uint32_t zone, uint16_t region,
                      bool *match)
{
    const uint8_t *kb = k->mv_data, *vb = v->mv_data;
    if (k->mv_size != 6 || v->mv_size < 4) {
        return DNSD_ESTORE;
    }
    *match = (zone == 0 || zs_get32(kb) == zone) &&
             (region == ZW_ROLLOUT_ANY || zs_get16(kb + 4) == region ||
              zs_get16(vb + 2) == region);
    return 0;
}

/* clear ZS_ZONE_F_ROLLOUT on zones that have it and no entry left */
static int flag_sync(zw_t *w)
{
    struct zone_list zl = {NULL, 0, 0};
    int err = zw_foreach_zone(w->s, w->txn, collect_zone, &zl);
    MDB_cursor *c = NULL;
    if (!err) {
        err = zs_mdb_err(mdb_cursor_open(w->txn, w->s->rollout, &c));
    }
    for (size_t i = 0; i < zl.n && !err; i++) {
        if (!(zl.z[i].flags & ZS_ZONE_F_ROLLOUT)) {
            continue;
        }
        uint8_t kb[4];
        zs_put32(kb, zl.z[i].id);
        MDB_val k = {4, kb}, v;
        int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc && rc != MDB_NOTFOUND) {
            err = zs_mdb_err(rc);
            break;
        }
        if (rc == MDB_NOTFOUND || k.mv_size < 4 || zs_get32(k.mv_data) != zl.z[i].id) {
            err = zw_zone_set_flags(w, &zl.z[i], 0, ZS_ZONE_F_ROLLOUT);
        }
    }
    if (c) {
        mdb_cursor_close(c);
    }
    free(zl.z);
    return err;
}

int zw_rollout_drop(zw_t *w, uint32_t zone, uint16_t region)
{
    if (!w->s->has_rollout) {
        return 0;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(w->txn, w->s->rollout, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    uint8_t start[4];
    zs_put32(start, zone);
    MDB_val k = {4, start}, v;
    int err = 0;
    unsigned dropped = 0;
    rc = mdb_cursor_get(c, &k, &v, zone ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0) {
        bool match;
        if (zone && (k.mv_size < 4 || zs_get32(k.mv_data) != zone)) {
            break; /* past the zone's entries */
        }
        if ((err = drop_match(&k, &v, zone, region, &match)) != 0) {
            break;
        }
        if (!match) {
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
            continue;
        }
        /* seek past the deleted key (as delete_range() in writer.c does) */
        uint8_t kc[6];
        memcpy(kc, k.mv_data, 6);
        if ((rc = zs_cursor_del(w->s, c)) != 0) {
            break;
        }
        dropped++;
        k.mv_size = 6;
        k.mv_data = kc;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(c);
    if (!err && rc && rc != MDB_NOTFOUND) {
        err = zs_mdb_err(rc);
    }
    /* a deleted zone's flag goes with it; another zone may have lost its last entry */
    if (!err && dropped && region != ZW_ROLLOUT_ANY) {
        err = flag_sync(w);
    }
    return err;
}
