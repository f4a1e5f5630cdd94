/* SPDX-License-Identifier: MIT */
/*
 * writer.c -- edits to the store, each inside the caller's one write txn
 * (see writer.h), and the commit that finishes every touched zone once
 * (check, serial, journal). Slow path: dnsctl, zone import, the ACME
 * worker. Never called by a query worker.
 *
 * DESIGN. The zw_t carries a list of touched zones (each with its SOA as
 * it was when first touched) and a log of RR changes: every record an edit
 * removed or added, in order, with owner, type, region, TTL and rdata
 * (bytes in one arena, entries by offset). zw_prepare() nets the log per
 * zone: for each distinct record (owner, type, region, rdata) the first
 * logged change tells whether it existed before the txn (a removal: yes,
 * with that TTL) and the last whether it exists after (an addition: yes);
 * equal states give nothing, a TTL change gives removal + addition. The SOA
 * is left out of the lists: the journal entry carries the old and the new
 * SOA around them, as IXFR does.
 */
#include "zones/rrtype.h"
#include "zones/writer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zones/base/err.h"
#include "zones/dnssec.h"
#include "zones/repl.h"
#include "zones/base/xalloc.h"
#include "zones/journal.h"
#include "zones/upolicy.h"
#include "zones/regions.h"
#include "zones/xfracl.h"
#include "zones/secondary.h"

#define RRSET_VALUE_MAX 65000 /* an RRset larger than this can never be sent */

struct zw_touched {
    zw_zone_t z;
    bool edited;     /* an edit changed it (or zw_touch()) */
    bool created;    /* zw_zone_create() in this txn: no journal entry */
    bool deleted;    /* zw_zone_delete() in this txn: nothing to finish */
    bool serial_set; /* zw_serial_set() */
    bool soa_written; /* an SOA was added in this txn: it carries the serial */
    bool had_soa;    /* old SOA below is valid */
    uint32_t serial;
    uint32_t old_ttl;
    uint16_t old_len;
    uint8_t old_soa[2 * (DNAME_MAXLEN + 1) + 20];
};

struct zw_change {
    uint32_t zone_id;
    uint32_t seq;
    bool add;
    uint16_t type, region;
    uint32_t ttl;
    size_t key_off, owner_off, rd_off, rname_off; /* into the arena */
    uint16_t key_len, rdlen;
    uint8_t rname_len;
};

int zw_begin(zs_store_t *s, zw_t *w)
{
    memset(w, 0, sizeof(*w));
    w->s = s;
    if (!s->repl) {
        return zs_write_begin(s, &w->txn); /* through the map gate (store.h) */
    }
    /* a cluster: its write lock, then the txn, then the entries this store
     * lacks, and only then the capture of this txn's own writes */
    int err = s->repl->lock(s->repl_ctx, &s->repl_diag);
    if (err) {
        return err;
    }
    if ((err = zs_write_begin(s, &w->txn)) != 0) {
        s->repl->unlock(s->repl_ctx);
        return err;
    }
    if ((err = s->repl->catch_up(s->repl_ctx, s, w->txn, &s->repl_diag)) != 0) {
        zs_write_abort(s, w->txn);
        w->txn = NULL;
        s->repl->unlock(s->repl_ctx);
        return err;
    }
    zr_capture_begin(s);
    w->locked = true;
    return 0;
}

/* Release the cluster's write lock, once, after the txn is gone (the capture
 * ended before it: see zw_abort()). */
static void unlock(zw_t *w)
{
    if (w->locked) {
        w->locked = false;
        w->s->repl->unlock(w->s->repl_ctx);
    }
}

static void release(zw_t *w)
{
    free(w->tz);
    free(w->ch);
    free(w->arena);
    free(w->rcache);
    w->rcache = NULL;
    w->nrcache = 0;
    w->tz = NULL;
    w->ch = NULL;
    w->arena = NULL;
    w->ntz = w->captz = w->nch = w->capch = w->alen = w->acap = 0;
    w->prepared = false;
}

void zw_abort(zw_t *w)
{
    if (w->locked) {
        /* before the txn ends: once LMDB's write lock is free, another thread of
         * this process (the cluster applier) may write, and must not be captured */
        zr_capture_end(w->s);
    }
    if (w->txn) {
        zs_write_abort(w->s, w->txn);
        w->txn = NULL;
    }
    unlock(w);
    release(w);
}

int zw_commit(zw_t *w, diag_t *d)
{
    int err = zw_prepare(w, d);
    if (err) {
        return err; /* aborted (and unlocked) */
    }
    err = zs_meta_bump(w->s, w->txn, ZS_META_GENERATION); /* local: never captured */
    if (err) {
        zw_abort(w);
        return err;
    }
    if (w->locked) {
        size_t len;
        const uint8_t *e = zr_capture_get(w->s, &len);
        if (len > ZR_HDR) { /* at least one op: an empty txn proposes nothing */
            err = w->s->repl->propose(w->s->repl_ctx, w->s, w->txn, e, len, &w->s->repl_diag);
            if (err) {
                zw_abort(w);
                return err;
            }
        }
        zr_capture_end(w->s); /* before the commit frees LMDB's write lock (see zw_abort) */
    }
    err = zs_write_commit(w->s, w->txn);
    w->txn = NULL;
    unlock(w);
    release(w);
    return err;
}

bool zw_serial_gt(uint32_t a, uint32_t b)
{
    return (a < b && b - a > 0x80000000u) || (a > b && a - b < 0x80000000u);
}

/* ---- touched zones and the change log ---- */

static int soa_read(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, const uint8_t **rd,
                    uint16_t *rl, uint32_t *ttl);

static struct zw_touched *touched_find(zw_t *w, uint32_t id)
{
    for (size_t i = 0; i < w->ntz; i++) {
        if (w->tz[i].z.id == id) {
            return &w->tz[i];
        }
    }
    return NULL;
}

/* The zone's entry, made (with its SOA as it is now) on first use. */
static int touched_get(zw_t *w, const zw_zone_t *z, struct zw_touched **out)
{
    struct zw_touched *t = touched_find(w, z->id);
    if (!t) {
        if (w->ntz == w->captz) {
            w->captz = w->captz ? w->captz * 2 : 8;
            w->tz = xrealloc(w->tz, w->captz * sizeof(*w->tz));
        }
        t = &w->tz[w->ntz];
        memset(t, 0, sizeof(*t));
        t->z = *z;
        const uint8_t *rd;
        uint16_t rl;
        int err = soa_read(w->s, w->txn, z, &rd, &rl, &t->old_ttl);
        if (err == 0 && rl <= sizeof(t->old_soa)) {
            memcpy(t->old_soa, rd, rl);
            t->old_len = rl;
            t->had_soa = true;
        } else if (err && err != DNSD_EAPEX) {
            return err;
        }
        w->ntz++;
    }
    *out = t;
    return 0;
}

int zw_touch(zw_t *w, const zw_zone_t *z)
{
    struct zw_touched *t;
    int err = touched_get(w, z, &t);
    if (!err) {
        t->edited = true;
    }
    return err;
}

int zw_serial_set(zw_t *w, const zw_zone_t *z, uint32_t serial)
{
    struct zw_touched *t;
    int err = touched_get(w, z, &t);
    if (!err) {
        t->edited = true;
        t->serial_set = true;
        t->serial = serial;
    }
    return err;
}

/*
 * The name of region @p id for the journal (names, not ids, go there: ids
 * are local to a store and reused). Read from the txn on first need and
 * again when an id is missing (a region added in this txn); an id that no
 * region has is "#ID", as zw_check_zone() names it.
 */
static void region_name(zw_t *w, uint16_t id, char *buf, size_t cap)
{
    buf[0] = 0;
    if (id == ZS_REGION_DEFAULT) {
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        const zs_region_t *rs = w->rcache;
        for (size_t i = 0; i < w->nrcache; i++) {
            if (rs[i].id == id) {
                snprintf(buf, cap, "%s", rs[i].name);
                return;
            }
        }
        if (pass == 0) {
            zs_region_t *n = NULL;
            size_t nn = 0;
            if (zs_regions_load(w->s, w->txn, &n, &nn) != 0) {
                break;
            }
            free(w->rcache);
            w->rcache = n;
            w->nrcache = nn;
        }
    }
    snprintf(buf, cap, "#%u", id);
}

/* Log one record removed or added (owner: wire, lower case). The SOA is not logged. */
static void log_rr(zw_t *w, uint32_t zone_id, bool add, const uint8_t *owner, uint16_t type,
                   uint16_t region, uint32_t ttl, const uint8_t *rd, uint16_t rl)
{
    dname_key_t k;
    if (type == DNS_T_SOA || dname_key_build(owner, &k) != 0) {
        return; /* owners were checked by the edit already */
    }
    const struct zw_touched *t = touched_find(w, zone_id);
    if (t && t->created) {
        return; /* a zone new in this txn gets no journal entry: save the memory */
    }
    if (w->nch == w->capch) {
        w->capch = w->capch ? w->capch * 2 : 64;
        w->ch = xrealloc(w->ch, w->capch * sizeof(*w->ch));
    }
    struct zw_change *c = &w->ch[w->nch];
    c->zone_id = zone_id;
    c->seq = (uint32_t)w->nch;
    c->add = add;
    c->type = type;
    c->region = region;
    c->ttl = ttl;
    c->key_len = (uint16_t)k.len;
    c->key_off = xappend(&w->arena, &w->alen, &w->acap, k.key, k.len);
    c->owner_off = xappend(&w->arena, &w->alen, &w->acap, owner,
                           (size_t)dname_wire_len(owner, DNAME_MAXLEN + 1));
    c->rdlen = rl;
    c->rd_off = xappend(&w->arena, &w->alen, &w->acap, rd, rl);
    char rn[ZS_REGION_NAME_MAX + 8];
    region_name(w, region, rn, sizeof(rn));
    c->rname_len = (uint8_t)strlen(rn);
    c->rname_off = xappend(&w->arena, &w->alen, &w->acap, rn, c->rname_len);
    w->nch++;
}

/* Log every record of an RRset value. */
static void log_rrset(zw_t *w, uint32_t zone_id, bool add, const uint8_t *owner,
                      const zs_rrset_t *rr, uint16_t region, uint32_t ttl)
{
    size_t off = 0;
    for (unsigned i = 0; i < rr->count; i++) {
        uint16_t rl = zs_get16(rr->rdata + off);
        log_rr(w, zone_id, add, owner, rr->type, region, ttl, rr->rdata + off + 2, rl);
        off += 2u + rl;
    }
}

/* Log the removal of the RRset stored under rrsets key @p key (value @p val) of zone @p z. */
static int log_key_removed(zw_t *w, const zw_zone_t *z, const MDB_val *key, const MDB_val *val)
{
    uint32_t id;
    const uint8_t *rel;
    size_t rel_len;
    uint16_t type, region;
    zs_rrset_t rr;
    dname_key_t ak;
    uint8_t full[DNAME_KEY_MAX * 2], owner[DNAME_MAXLEN + 1];
    if (dname_key_build(z->apex, &ak) != 0 ||
        !zs_rrset_key_split(key->mv_data, key->mv_size, &id, &rel, &rel_len, &type, &region) ||
        ak.len + rel_len > sizeof(full)) {
        return DNSD_ESTORE;
    }
    memcpy(full, ak.key, ak.len);
    memcpy(full + ak.len, rel, rel_len);
    if (dname_from_key(full, ak.len + rel_len, owner) < 0 ||
        !zs_rrset_decode(val->mv_data, val->mv_size, type, &rr)) {
        return DNSD_ESTORE;
    }
    log_rrset(w, z->id, false, owner, &rr, region, rr.ttl);
    return 0;
}

static int fill_zone(const zs_zone_t *zv, zw_zone_t *out)
{
    out->id = zv->id;
    memcpy(out->apex, zv->apex, zv->apex_len);
    out->apex_len = (int)zv->apex_len;
    out->apex_labels = zv->apex_labels;
    out->flags = zv->flags;
    return 0;
}

int zw_zone_get(zs_store_t *s, MDB_txn *txn, const uint8_t *apex, zw_zone_t *out)
{
    dname_key_t k;
    if (dname_key_build(apex, &k) != 0) {
        return DNSD_ELIMIT;
    }
    MDB_val key = {k.len, k.key}, val;
    int rc = mdb_get(txn, s->zones, &key, &val);
    if (rc == MDB_NOTFOUND) {
        return DNSD_ENOZONE;
    }
    if (rc) {
        return zs_mdb_err(rc);
    }
    zs_zone_t zv;
    if (!zs_zone_decode(val.mv_data, val.mv_size, &zv)) {
        return DNSD_ESTORE;
    }
    return fill_zone(&zv, out);
}

int zw_zone_create(zw_t *w, const uint8_t *apex, zw_zone_t *out)
{
    int len = dname_wire_len(apex, DNAME_MAXLEN + 1);
    if (len < 0) {
        return len;
    }
    uint8_t lower[DNAME_MAXLEN + 1];
    memcpy(lower, apex, (size_t)len);
    dname_lower(lower);
    dname_key_t k;
    if (dname_key_build(lower, &k) != 0 || k.nlabels == 0) {
        return DNSD_ELIMIT; /* LMDB keys cannot be empty: no root zone */
    }
    MDB_val key = {k.len, k.key}, val;
    int rc = mdb_get(w->txn, w->s->zones, &key, &val);
    if (rc == 0) {
        return DNSD_EEXIST;
    }
    if (rc != MDB_NOTFOUND) {
        return zs_mdb_err(rc);
    }
    /* next zone id */
    uint32_t id = 1;
    MDB_val mk = {strlen(ZS_META_NEXT_ZONE), (void *)ZS_META_NEXT_ZONE}, mv;
    rc = mdb_get(w->txn, w->s->meta, &mk, &mv);
    if (rc == 0) {
        if (mv.mv_size != 4) {
            return DNSD_ESTORE;
        }
        id = zs_get32(mv.mv_data);
    } else if (rc != MDB_NOTFOUND) {
        return zs_mdb_err(rc);
    }
    if (id == 0 || id == UINT32_MAX) {
        return DNSD_ELIMIT;
    }
    uint8_t idb[4];
    zs_put32(idb, id + 1);
    mv.mv_size = 4;
    mv.mv_data = idb;
    if ((rc = zs_put(w->s, w->txn, w->s->meta, &mk, &mv, 0)) != 0) {
        return zs_mdb_err(rc);
    }
    uint8_t zb[ZS_ZONE_HDR + DNAME_MAXLEN + 1];
    zs_put32(zb, id);
    zb[4] = 0;
    zb[5] = (uint8_t)len;
    memcpy(zb + ZS_ZONE_HDR, lower, (size_t)len);
    val.mv_size = ZS_ZONE_HDR + (size_t)len;
    val.mv_data = zb;
    if ((rc = zs_put(w->s, w->txn, w->s->zones, &key, &val, MDB_NOOVERWRITE)) != 0) {
        return zs_mdb_err(rc);
    }
    out->id = id;
    memcpy(out->apex, lower, (size_t)len);
    out->apex_len = len;
    out->apex_labels = k.nlabels;
    out->flags = 0;
    struct zw_touched *t;
    int err = touched_get(w, out, &t);
    if (!err) {
        t->edited = true;
        t->created = true;
    }
    return err;
}

int zw_zone_set_flags(zw_t *w, zw_zone_t *z, uint8_t set, uint8_t clear)
{
    dname_key_t k;
    if (dname_key_build(z->apex, &k) != 0) {
        return DNSD_ELIMIT;
    }
    MDB_val key = {k.len, k.key}, val;
    int rc = mdb_get(w->txn, w->s->zones, &key, &val);
    if (rc) {
        return rc == MDB_NOTFOUND ? DNSD_ENOZONE : zs_mdb_err(rc);
    }
    zs_zone_t zv;
    if (!zs_zone_decode(val.mv_data, val.mv_size, &zv)) {
        return DNSD_ESTORE;
    }
    uint8_t buf[ZS_ZONE_HDR + DNAME_MAXLEN + 1];
    memcpy(buf, val.mv_data, val.mv_size);
    buf[4] = (uint8_t)((buf[4] | set) & ~clear);
    z->flags = buf[4];
    if (buf[4] == zv.flags) {
        return 0; /* no change: nothing written */
    }
    val.mv_data = buf;
    return zs_mdb_err(zs_put(w->s, w->txn, w->s->zones, &key, &val, 0));
}

/*
 * Delete keys starting with @p prefix; @p del decides per key (NULL: delete
 * all). With @p logz, each deleted RRset's records are logged as removed.
 */
static int delete_range(zw_t *w, const uint8_t *prefix, size_t plen,
                        bool (*del)(const MDB_val *k, void *arg), void *arg, unsigned *count,
                        const zw_zone_t *logz)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(w->txn, w->s->rrsets, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    MDB_val key = {plen, (void *)prefix}, val;
    unsigned n = 0;
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    while (rc == 0) {
        if (key.mv_size < plen || memcmp(key.mv_data, prefix, plen) != 0) {
            break;
        }
        if (!del || del(&key, arg)) {
            if (logz && (rc = log_key_removed(w, logz, &key, &val)) != 0) {
                mdb_cursor_close(c);
                return rc;
            }
            /* seek past the deleted key rather than MDB_GET_CURRENT, which
             * fails with EINVAL once the delete empties the database */
            uint8_t kc[ZS_RRKEY_MAX];
            size_t kl = key.mv_size < sizeof(kc) ? key.mv_size : sizeof(kc);
            memcpy(kc, key.mv_data, kl);
            if ((rc = zs_cursor_del(w->s, c)) != 0) {
                break;
            }
            n++;
            key.mv_size = kl;
            key.mv_data = kc;
            rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
            continue;
        }
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (count) {
        *count = n;
    }
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : zs_mdb_err(rc);
}

int zw_zone_delete(zw_t *w, const zw_zone_t *z)
{
    uint8_t idb[4];
    zs_put32(idb, z->id);
    struct zw_touched *t;
    int err = touched_get(w, z, &t);
    if (!err) {
        err = delete_range(w, idb, 4, NULL, NULL, NULL, NULL);
    }
    if (!err) {
        err = zj_zone_drop(w->s, w->txn, z->id);
    }
    if (!err) {
        /* its transfer ACL and NOTIFY targets */
        err = xacl_zone_drop(w->s, w->txn, z->id, z->apex);
    }
    if (!err) {
        err = zsec_zone_drop(w->s, w->txn, z->id, z->apex);
    }
    if (!err) {
        err = upol_zone_drop(w->s, w->txn, z->id, z->apex); /* its update policy */
    }
    if (!err) {
        err = zd_zone_drop(w->s, w->txn, z->id); /* its DNSSEC keys and policy */
    }
    if (!err) {
        err = zw_rollout_drop(w, z->id, ZW_ROLLOUT_ANY); /* its canary splits */
    }
    if (err) {
        return err;
    }
    t->deleted = true;
    /* its logged changes go with it */
    size_t n = 0;
    for (size_t i = 0; i < w->nch; i++) {
        if (w->ch[i].zone_id != z->id) {
            w->ch[n++] = w->ch[i];
        }
    }
    w->nch = n;
    dname_key_t k;
    if (dname_key_build(z->apex, &k) != 0) {
        return DNSD_ELIMIT;
    }
    MDB_val key = {k.len, k.key};
    return zs_mdb_err(zs_del(w->s, w->txn, w->s->zones, &key));
}

static bool region_is(const MDB_val *k, void *arg)
{
    const uint8_t *kb = k->mv_data;
    return k->mv_size >= 9 && zs_get16(kb + k->mv_size - 2) == *(uint16_t *)arg;
}

/* Only a transfer writer edits the default view of a secondary zone. */
static bool refused(const zw_t *w, const zw_zone_t *z, uint16_t region)
{
    return (z->flags & ZS_ZONE_F_SECONDARY) && region == ZS_REGION_DEFAULT && !w->xfr;
}

int zw_zone_clear(zw_t *w, const zw_zone_t *z, uint16_t region, bool all_regions)
{
    if (refused(w, z, all_regions ? ZS_REGION_DEFAULT : region)) {
        return DNSD_ESECONDARY;
    }
    uint8_t idb[4];
    zs_put32(idb, z->id);
    struct zw_touched *t;
    unsigned n = 0;
    int err = touched_get(w, z, &t);
    if (!err) {
        err = delete_range(w, idb, 4, all_regions ? NULL : region_is, &region, &n, z);
    }
    if (!err && n > 0) {
        t->edited = true; /* an empty clear changes nothing: no check, no bump */
    }
    return err;
}

static int owner_key(const zw_zone_t *z, const uint8_t *owner, dname_key_t *k)
{
    uint8_t lower[DNAME_MAXLEN + 1];
    int len = dname_wire_len(owner, DNAME_MAXLEN + 1);
    if (len < 0) {
        return len;
    }
    memcpy(lower, owner, (size_t)len);
    dname_lower(lower);
    if (!dname_is_sub(lower, z->apex)) {
        return DNSD_EOUTOFZONE;
    }
    return dname_key_build(lower, k) ? DNSD_ELIMIT : 0;
}

/* canonical RR order within an RRset: rdata as unsigned octets, shorter prefix first */
static int rdata_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c) {
        return c;
    }
    return al < bl ? -1 : al > bl;
}

/* A signed zone's DNSSEC records are dnsd's own (writer.h: zw_t.keys). */
static bool dnssec_refused(const zw_t *w, const zw_zone_t *z, const uint8_t *owner, uint16_t type)
{
    if (!(z->flags & ZS_ZONE_F_SIGNED)) {
        return false;
    }
    switch (type) {
    case DNS_T_RRSIG:
    case DNS_T_NSEC:
    case DNS_T_NSEC3:
    case DNS_T_NSEC3PARAM:
        return true;
    case DNS_T_DNSKEY:
    case DNS_T_CDS:
    case DNS_T_CDNSKEY:
        return !w->keys && dname_eq(owner, z->apex);
    default:
        return false;
    }
}

int zw_rr_add(zw_t *w, const zw_zone_t *z, const uint8_t *owner, uint16_t type, uint16_t region,
              uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    dname_key_t k;
    int err = owner_key(z, owner, &k);
    if (err) {
        return err;
    }
    if (!zs_rdata_ok(type, rdata, rdlen)) {
        return DNSD_EMALFORMED; /* the readers would refuse the RRset as damaged */
    }
    if (refused(w, z, region)) {
        return DNSD_ESECONDARY;
    }
    if (dnssec_refused(w, z, owner, type)) {
        return DNSD_EDNSSEC;
    }
    struct zw_touched *t;
    if ((err = touched_get(w, z, &t)) != 0) {
        return err;
    }
    uint8_t kb[ZS_RRKEY_MAX];
    MDB_val key = {zs_rrset_key(z->id, &k, z->apex_labels, type, region, kb), kb}, val;
    zs_rrset_t old = {0};
    int rc = mdb_get(w->txn, w->s->rrsets, &key, &val);
    if (rc == 0) {
        if (!zs_rrset_decode(val.mv_data, val.mv_size, type, &old)) {
            return DNSD_ESTORE;
        }
    } else if (rc != MDB_NOTFOUND) {
        return zs_mdb_err(rc);
    }
    size_t cap = ZS_RRSET_HDR + old.rdata_len + 2 + rdlen;
    if (cap > RRSET_VALUE_MAX || old.count == UINT16_MAX) {
        return DNSD_ELIMIT;
    }
    uint8_t *nv = xmalloc(cap);
    size_t o = ZS_RRSET_HDR, off = 0;
    bool placed = false;
    for (unsigned i = 0; i < old.count; i++) {
        size_t rl = zs_get16(old.rdata + off);
        const uint8_t *rd = old.rdata + off + 2;
        int c = placed ? 1 : rdata_cmp(rdata, rdlen, rd, rl);
        if (c == 0) {
            free(nv);
            return DNSD_EEXIST;
        }
        if (c < 0) {
            zs_put16(nv + o, rdlen);
            memcpy(nv + o + 2, rdata, rdlen);
            o += 2u + rdlen;
            placed = true;
        }
        memcpy(nv + o, old.rdata + off, 2 + rl);
        o += 2 + rl;
        off += 2 + rl;
    }
    if (!placed) {
        zs_put16(nv + o, rdlen);
        memcpy(nv + o + 2, rdata, rdlen);
        o += 2u + rdlen;
    }
    nv[0] = ZS_RRSET_FORMAT;
    nv[1] = 0;
    zs_put32(nv + 2, ttl);
    zs_put16(nv + 6, (uint16_t)(old.count + 1));
    uint8_t lower[DNAME_MAXLEN + 1];
    if (dname_from_key(k.key, k.len, lower) < 0) {
        free(nv);
        return DNSD_ELIMIT;
    }
    if (old.count > 0 && old.ttl != ttl) {
        /* one TTL per RRset: the records already there change TTL too */
        log_rrset(w, z->id, false, lower, &old, region, old.ttl);
        log_rrset(w, z->id, true, lower, &old, region, ttl);
    }
    log_rr(w, z->id, true, lower, type, region, ttl, rdata, rdlen);
    val.mv_size = o;
    val.mv_data = nv;
    rc = zs_put(w->s, w->txn, w->s->rrsets, &key, &val, 0);
    free(nv);
    if (rc == 0) {
        t->edited = true;
        if (type == DNS_T_SOA && dname_eq(lower, z->apex) && region == ZS_REGION_DEFAULT) {
            t->soa_written = true;
        }
    }
    return zs_mdb_err(rc);
}

struct del_arg {
    uint16_t region;
    size_t plen;
};

static bool owner_region_is(const MDB_val *k, void *arg)
{
    const struct del_arg *a = arg;
    const uint8_t *kb = k->mv_data;
    /* only the owner's own RRsets (prefix|00|type|region), not its children */
    return k->mv_size == a->plen + 5 && kb[a->plen] == 0 &&
           zs_get16(kb + k->mv_size - 2) == a->region;
}

int zw_rr_del(zw_t *w, const zw_zone_t *z, const uint8_t *owner, uint16_t type, uint16_t region,
              const uint8_t *rdata, uint16_t rdlen)
{
    dname_key_t k;
    int err = owner_key(z, owner, &k);
    if (err) {
        return err;
    }
    if (refused(w, z, region)) {
        return DNSD_ESECONDARY;
    }
    struct zw_touched *t;
    if ((err = touched_get(w, z, &t)) != 0) {
        return err;
    }
    uint8_t kb[ZS_RRKEY_MAX], lower[DNAME_MAXLEN + 1];
    if (dname_from_key(k.key, k.len, lower) < 0) {
        return DNSD_ELIMIT;
    }
    if (type == 0) {
        struct del_arg a = {region, zs_owner_prefix(z->id, &k, z->apex_labels, kb)};
        kb[a.plen] = 0;
        unsigned n = 0;
        err = delete_range(w, kb, a.plen + 1, owner_region_is, &a, &n, z);
        t->edited = t->edited || (!err && n > 0);
        return err ? err : n ? 0 : DNSD_ENOTFOUND;
    }
    MDB_val key = {zs_rrset_key(z->id, &k, z->apex_labels, type, region, kb), kb}, val;
    int rc = mdb_get(w->txn, w->s->rrsets, &key, &val);
    if (rc) {
        return zs_mdb_err(rc);
    }
    zs_rrset_t old;
    if (!zs_rrset_decode(val.mv_data, val.mv_size, type, &old)) {
        return DNSD_ESTORE;
    }
    if (!rdata) {
        log_rrset(w, z->id, false, lower, &old, region, old.ttl);
        rc = zs_del(w->s, w->txn, w->s->rrsets, &key);
        t->edited = t->edited || rc == 0;
        return zs_mdb_err(rc);
    }
    uint8_t *nv = xmalloc(val.mv_size);
    memcpy(nv, val.mv_data, ZS_RRSET_HDR);
    nv[1] = 0; /* the signatures go with the old RRset: a signed zone's are made at commit */
    size_t o = ZS_RRSET_HDR, off = 0;
    unsigned kept = 0;
    bool found = false;
    for (unsigned i = 0; i < old.count; i++) {
        size_t rl = zs_get16(old.rdata + off);
        if (!found && rl == rdlen && memcmp(old.rdata + off + 2, rdata, rl) == 0) {
            found = true;
        } else {
            memcpy(nv + o, old.rdata + off, 2 + rl);
            o += 2 + rl;
            kept++;
        }
        off += 2 + rl;
    }
    if (found) {
        log_rr(w, z->id, false, lower, type, region, old.ttl, rdata, rdlen);
        t->edited = true;
    }
    if (!found) {
        rc = MDB_NOTFOUND;
    } else if (kept == 0) {
        rc = zs_del(w->s, w->txn, w->s->rrsets, &key);
    } else {
        zs_put16(nv + 6, (uint16_t)kept);
        val.mv_size = o;
        val.mv_data = nv;
        rc = zs_put(w->s, w->txn, w->s->rrsets, &key, &val, 0);
    }
    free(nv);
    return zs_mdb_err(rc);
}

int zw_rrset_get(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, const uint8_t *owner,
                 uint16_t type, uint16_t region, zs_rrset_t *out)
{
    dname_key_t k;
    int err = owner_key(z, owner, &k);
    if (err) {
        return err;
    }
    uint8_t kb[ZS_RRKEY_MAX];
    MDB_val key = {zs_rrset_key(z->id, &k, z->apex_labels, type, region, kb), kb}, val;
    int rc = mdb_get(txn, s->rrsets, &key, &val);
    if (rc) {
        return zs_mdb_err(rc);
    }
    if (!zs_rrset_decode(val.mv_data, val.mv_size, type, out)) {
        return DNSD_ESTORE;
    }
    out->region = region;
    return 0;
}

/* ---- structure checks ---- */

/* Type mnemonics for messages: the shared table (rrtype.h), else TYPEnnn. */
static const char *type_name(uint16_t type, char *buf, size_t cap)
{
    return rrtype_name(type, buf, cap);
}

/* The regions defined in the store, for walking fallback chains. */
struct chains {
    zs_region_t *rs; /* id order */
    size_t n;
};

static const zs_region_t *region_find(const struct chains *ch, uint16_t id)
{
    for (size_t i = 0; i < ch->n; i++) {
        if (ch->rs[i].id == id) {
            return &ch->rs[i];
        }
    }
    return NULL;
}

static const char *region_label(const struct chains *ch, uint16_t id, char *buf, size_t cap)
{
    const zs_region_t *r = id == ZS_REGION_DEFAULT ? NULL : region_find(ch, id);
    if (id == ZS_REGION_DEFAULT) {
        return "default";
    }
    if (r) {
        return r->name;
    }
    snprintf(buf, cap, "#%u", id); /* RRsets under an id no region has (yet) */
    return buf;
}

/*
 * The fallback chain of @p id into @p out (most specific first, ending with
 * default; ZS_REGION_CHAIN_MAX + 1 entries at most). An id that no region
 * has falls back to default directly, as dnsd's snapshot does.
 */
static int chain_of(const struct chains *ch, uint16_t id, uint16_t *out)
{
    int n = 0;
    while (id != ZS_REGION_DEFAULT && n < ZS_REGION_CHAIN_MAX) {
        out[n++] = id;
        const zs_region_t *r = region_find(ch, id);
        id = r ? r->parent : ZS_REGION_DEFAULT;
    }
    out[n++] = ZS_REGION_DEFAULT;
    return n;
}

static int foreach_range(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, const uint8_t *prefix,
                         size_t plen, zw_rrset_cb cb, void *arg);

struct owner_types {
    uint8_t owner[DNAME_MAXLEN + 1];
    int n;
    struct {
        uint16_t type, region, count;
    } t[ZS_NODE_MAX * 4];
    /* the DNAMEs above the owners to come (canonical order puts a name's
     * subtree right after it), each with its region; nested, outermost first */
    int ndn;
    struct {
        uint8_t owner[DNAME_MAXLEN + 1];
        uint16_t region;
    } dn[8];
    bool any_dname; /* some region of the zone has a DNAME (ZS_ZONE_F_NO_DNAME) */
};

static void owner_str(const uint8_t *owner, char *buf, size_t cap)
{
    dname_to_str(owner, buf, cap);
}

static bool in_chain(const uint16_t *c, int n, uint16_t region)
{
    for (int i = 0; i < n; i++) {
        if (c[i] == region) {
            return true;
        }
    }
    return false;
}

/*
 * dnsd answers a region's clients from an overlay: each type of a name comes
 * from the first region of the chain that has it. So a CNAME must stand
 * alone in every region's view, not only inside one region: a CNAME in
 * eu-west beside an A in default is the same conflict as both in default.
 */
static int check_views(const struct chains *ch, const struct owner_types *o, const char *name,
                       diag_t *d)
{
    uint16_t views[ZS_NODE_MAX * 4 + 1], c[ZS_REGION_CHAIN_MAX + 1];
    int nviews = 0;
    bool cname = false;
    for (int i = 0; i < o->n; i++) {
        cname = cname || o->t[i].type == DNS_T_CNAME;
    }
    if (!cname) {
        return 0;
    }
    /* the views to check: default, every region present here, every defined region */
    views[nviews++] = ZS_REGION_DEFAULT;
    for (int i = 0; i < o->n; i++) {
        if (!in_chain(views, nviews, o->t[i].region)) {
            views[nviews++] = o->t[i].region;
        }
    }
    for (size_t v = 0; v < nviews + ch->n; v++) {
        uint16_t view = v < (size_t)nviews ? views[v] : ch->rs[v - (size_t)nviews].id;
        int nc = chain_of(ch, view, c);
        int ci = -1, oi = -1;
        for (int i = 0; i < o->n; i++) {
            uint16_t t = o->t[i].type;
            if (!in_chain(c, nc, o->t[i].region) || t == DNS_T_RRSIG || t == DNS_T_NSEC) {
                continue;
            }
            if (t == DNS_T_CNAME) {
                ci = ci < 0 ? i : ci;
            } else if (oi < 0) {
                oi = i;
            }
        }
        if (ci < 0 || oi < 0) {
            continue;
        }
        char tb[16], rb1[16], rb2[16], rb3[16];
        const char *tn = type_name(o->t[oi].type, tb, sizeof(tb));
        uint16_t cr = o->t[ci].region, or = o->t[oi].region;
        if (cr == or) {
            if (cr == ZS_REGION_DEFAULT) {
                diag_set(d, "", 0, "CNAME and other data at %s (%s); a CNAME must stand alone",
                         name, tn);
            } else {
                diag_set(d, "", 0, "CNAME and other data at %s in region %s (%s); a CNAME must "
                         "stand alone", name, region_label(ch, cr, rb1, sizeof(rb1)), tn);
            }
            return DNSD_ECNAME;
        }
        char path[ZS_REGION_CHAIN_MAX * (ZS_REGION_NAME_MAX + 4) + 16];
        size_t pl = 0;
        path[0] = 0;
        for (int i = 0; i < nc && pl < sizeof(path); i++) {
            pl += (size_t)snprintf(path + pl, sizeof(path) - pl, "%s%s", i ? " -> " : "",
                                   region_label(ch, c[i], rb3, sizeof(rb3)));
        }
        diag_set(d, "", 0, "CNAME in region %s and %s in region %s at %s are both seen by region "
                 "%s (%s); a CNAME must stand alone", region_label(ch, cr, rb1, sizeof(rb1)), tn,
                 region_label(ch, or, rb2, sizeof(rb2)), name,
                 region_label(ch, view, rb3, sizeof(rb3)), path);
        return DNSD_ECNAME;
    }
    return 0;
}

/*
 * RFC 6672 2.3 and 2.4, as Knot enforces them (mandatory semantic checks):
 * one DNAME record per name, no NS beside a DNAME but at the apex, nothing
 * below a DNAME. Per region: a DNAME in a region's overlay may sit above
 * default-view names, which it occludes for that region's clients.
 */
static int check_dname(const zw_zone_t *z, const struct chains *ch, struct owner_types *o,
                       const char *name, diag_t *d)
{
    char rb[16], up[1024], tb[16];
    while (o->ndn > 0 && (dname_eq(o->owner, o->dn[o->ndn - 1].owner) ||
                          !dname_is_sub(o->owner, o->dn[o->ndn - 1].owner))) {
        o->ndn--;
    }
    for (int j = 0; j < o->ndn; j++) {
        for (int i = 0; i < o->n; i++) {
            if (o->t[i].region != o->dn[j].region) {
                continue;
            }
            owner_str(o->dn[j].owner, up, sizeof(up));
            const char *tn = type_name(o->t[i].type, tb, sizeof(tb));
            if (o->dn[j].region == ZS_REGION_DEFAULT) {
                diag_set(d, "", 0, "%s record at %s is below the DNAME at %s; nothing may exist "
                         "below a DNAME (RFC 6672 2.4)", tn, name, up);
            } else {
                diag_set(d, "", 0, "%s record at %s in region %s is below that region's DNAME at "
                         "%s; nothing may exist below a DNAME (RFC 6672 2.4)", tn, name,
                         region_label(ch, o->dn[j].region, rb, sizeof(rb)), up);
            }
            return DNSD_ECNAME;
        }
    }
    bool apex = dname_eq(o->owner, z->apex);
    for (int i = 0; i < o->n; i++) {
        if (o->t[i].type != DNS_T_DNAME) {
            continue;
        }
        o->any_dname = true;
        if (o->t[i].count > 1) {
            diag_set(d, "", 0, "%s has %u DNAME records; a name has at most one (RFC 6672 2.4)",
                     name, o->t[i].count);
            return DNSD_ECNAME;
        }
        for (int k = 0; k < o->n && !apex; k++) {
            if (o->t[k].type == DNS_T_NS && o->t[k].region == o->t[i].region) {
                diag_set(d, "", 0, "DNAME and NS at %s; they share a name only at the zone apex "
                         "(RFC 6672 2.3)", name);
                return DNSD_ECNAME;
            }
        }
        if (o->ndn < (int)(sizeof(o->dn) / sizeof(o->dn[0]))) {
            memcpy(o->dn[o->ndn].owner, o->owner,
                   (size_t)dname_wire_len(o->owner, DNAME_MAXLEN + 1));
            o->dn[o->ndn++].region = o->t[i].region;
        }
    }
    return 0;
}

static int check_owner(const zw_zone_t *z, const struct chains *ch, struct owner_types *o,
                       diag_t *d)
{
    char name[1024], rb[16];
    bool apex = dname_eq(o->owner, z->apex);
    owner_str(o->owner, name, sizeof(name));
    int soa = 0, ns = 0;
    for (int i = 0; i < o->n; i++) {
        if (o->t[i].type == DNS_T_SOA) {
            if (!apex) {
                diag_set(d, "", 0, "SOA record at %s, which is not the zone apex", name);
                return DNSD_EAPEX;
            }
            if (o->t[i].region != ZS_REGION_DEFAULT) {
                diag_set(d, "", 0, "SOA record of %s in region %s: it must be in the default "
                         "region", name, region_label(ch, o->t[i].region, rb, sizeof(rb)));
                return DNSD_EAPEX;
            }
            if (o->t[i].count != 1) {
                diag_set(d, "", 0, "%s has %u SOA records; a zone has exactly one",
                         name, o->t[i].count);
                return DNSD_EAPEX;
            }
            soa++;
        }
        if (o->t[i].type == DNS_T_NS && apex) {
            if (o->t[i].region != ZS_REGION_DEFAULT) {
                /* the apex NS RRset is what the parent delegates to and what
                 * secondaries serve: one for everybody */
                diag_set(d, "", 0, "NS records at the apex %s in region %s: the zone's name "
                         "servers must be in the default region", name,
                         region_label(ch, o->t[i].region, rb, sizeof(rb)));
                return DNSD_EAPEX;
            }
            ns++;
        }
        if (o->t[i].type != DNS_T_CNAME) {
            continue;
        }
        if (apex) {
            diag_set(d, "", 0, "CNAME at the zone apex %s (it would sit beside SOA and NS)", name);
            return DNSD_ECNAME;
        }
        if (o->t[i].count > 1) {
            diag_set(d, "", 0, "%s has %u CNAME records; a name has at most one", name,
                     o->t[i].count);
            return DNSD_ECNAME;
        }
    }
    int err = check_views(ch, o, name, d);
    if (!err) {
        err = check_dname(z, ch, o, name, d);
    }
    if (err) {
        return err;
    }
    if (apex && soa == 0) {
        diag_set(d, "", 0, "zone %s has no SOA record at its apex", name);
        return DNSD_EAPEX;
    }
    if (apex && ns == 0) {
        diag_set(d, "", 0, "zone %s has no NS records at its apex", name);
        return DNSD_EAPEX;
    }
    return 0;
}

struct check_ctx {
    const zw_zone_t *z;
    const struct chains *ch;
    struct owner_types *o;
    bool seen_apex;
    diag_t *d;
};

static int check_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    struct check_ctx *c = arg;
    int err;
    if (c->o->n > 0 && !dname_eq(owner, c->o->owner)) {
        if ((err = check_owner(c->z, c->ch, c->o, c->d)) != 0) {
            return err;
        }
        c->o->n = 0;
    }
    if (c->o->n == 0) {
        memcpy(c->o->owner, owner, (size_t)dname_wire_len(owner, DNAME_MAXLEN + 1));
        if (dname_eq(owner, c->z->apex)) {
            c->seen_apex = true;
        }
    }
    if (c->o->n == (int)(sizeof(c->o->t) / sizeof(c->o->t[0]))) {
        char name[1024];
        owner_str(owner, name, sizeof(name));
        diag_set(c->d, "", 0, "%s has too many RRsets (limit %d types)", name, ZS_NODE_MAX);
        return DNSD_ELIMIT;
    }
    c->o->t[c->o->n].type = rr->type;
    c->o->t[c->o->n].region = rr->region;
    c->o->t[c->o->n].count = rr->count;
    c->o->n++;
    /* distinct types per owner */
    int types = 0;
    for (int i = 0; i < c->o->n; i++) {
        if (i == 0 || c->o->t[i].type != c->o->t[i - 1].type) {
            types++;
        }
    }
    if (types > ZS_NODE_MAX) {
        char name[1024];
        owner_str(owner, name, sizeof(name));
        diag_set(c->d, "", 0, "%s has more than %d RRset types", name, ZS_NODE_MAX);
        return DNSD_ELIMIT;
    }
    return 0;
}

/* ZS_ZONE_F_NO_DNAME as the zone's RRsets say; written only when it changes */
static int dname_flag_sync(zw_t *w, const zw_zone_t *z, bool any_dname)
{
    zw_zone_t zz = *z;
    return any_dname ? zw_zone_set_flags(w, &zz, 0, ZS_ZONE_F_NO_DNAME)
                     : zw_zone_set_flags(w, &zz, ZS_ZONE_F_NO_DNAME, 0);
}

int zw_check_zone(zw_t *w, const zw_zone_t *z, diag_t *d)
{
    struct chains ch = {NULL, 0};
    int err = zs_regions_load(w->s, w->txn, &ch.rs, &ch.n);
    if (err) {
        diag_set(d, "", 0, "cannot read the regions: %s", dnsd_strerror(err));
        return err;
    }
    struct check_ctx c = {z, &ch, xcalloc(1, sizeof(struct owner_types)), false, d};
    err = zw_foreach_rrset(w->s, w->txn, z, check_cb, &c);
    if (!err && c.o->n > 0) {
        err = check_owner(z, &ch, c.o, d);
    }
    if (!err && !c.seen_apex) {
        char name[1024];
        owner_str(z->apex, name, sizeof(name));
        diag_set(d, "", 0, "zone %s has no SOA record at its apex", name);
        err = DNSD_EAPEX;
    }
    if (!err && (err = dname_flag_sync(w, z, c.o->any_dname)) != 0) {
        diag_set(d, "", 0, "cannot update the zone's flags: %s", dnsd_strerror(err));
    }
    if (err == DNSD_ESTORE) {
        diag_set(d, "", 0, "damaged value in the store");
    }
    free(c.o);
    free(ch.rs);
    return err;
}

/*
 * The check of a commit that changed a few owners of a zone that passed the
 * check before it (every commit is checked): the per-owner rules
 * (check_owner: SOA, apex NS, a CNAME alone in every region's view, the
 * DNAME rules, the type limit) for each owner the txn changed and for the
 * apex, each with the DNAMEs of its ancestors loaded as the full walk would
 * have them; an owner that has a DNAME now is checked with its whole
 * subtree (nothing may exist below it). Same verdicts as zw_check_zone()
 * (tests/unit/t_writer.c compares the two on random edits) at a cost that
 * follows the change, not the zone: a one-record UPDATE or IXFR to a
 * million-record zone reads a few RRsets, not a million.
 */
#define ZW_CHECK_OWNERS_MAX 1024 /* more owners changed: the full walk */

struct dn_collect {
    struct owner_types *o;
    const uint8_t *owner;
};

/* an ancestor's RRset: remember its DNAME (outermost first, as the walk does) */
static int dn_collect_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    struct dn_collect *dc = arg;
    (void)owner;
    struct owner_types *o = dc->o;
    if (rr->type == DNS_T_DNAME && o->ndn < (int)(sizeof(o->dn) / sizeof(o->dn[0]))) {
        memcpy(o->dn[o->ndn].owner, dc->owner,
               (size_t)dname_wire_len(dc->owner, DNAME_MAXLEN + 1));
        o->dn[o->ndn++].region = rr->region;
        o->any_dname = true;
    }
    return 0;
}

static int has_dname_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    (void)owner;
    if (rr->type == DNS_T_DNAME) {
        *(bool *)arg = true;
    }
    return 0;
}

/* The rrsets key prefix of @p owner in @p z (id | relative key), and with
 * @p exact the 0x00 that ends the owner (the owner alone, not its subtree). */
static int range_of(const zw_zone_t *z, const uint8_t *owner, bool exact, uint8_t *out,
                    size_t *len)
{
    dname_key_t k;
    if (dname_key_build(owner, &k) != 0) {
        return DNSD_ELIMIT;
    }
    *len = zs_owner_prefix(z->id, &k, z->apex_labels, out);
    if (exact) {
        out[(*len)++] = 0;
    }
    return 0;
}

/* Check @p owner (and its subtree when it has a DNAME) as the full walk would. */
static int check_one_owner(zw_t *w, const zw_zone_t *z, const struct chains *ch,
                           const uint8_t *owner, bool *any_dname, diag_t *d)
{
    uint8_t pfx[ZS_RRKEY_MAX];
    size_t plen;
    struct check_ctx c = {z, ch, xcalloc(1, sizeof(struct owner_types)), false, d};
    int err = 0;
    /* the ancestors' DNAMEs, the apex first */
    int nl = dname_labels(owner);
    for (int l = z->apex_labels; l < nl && !err; l++) {
        const uint8_t *anc = owner;
        for (int skip = nl - l; skip > 0; skip--) {
            anc += 1u + anc[0];
        }
        struct dn_collect dc = {c.o, anc};
        if ((err = range_of(z, anc, true, pfx, &plen)) == 0) {
            err = foreach_range(w->s, w->txn, z, pfx, plen, dn_collect_cb, &dc);
        }
    }
    bool has_dname = false;
    if (!err && (err = range_of(z, owner, true, pfx, &plen)) == 0) {
        err = foreach_range(w->s, w->txn, z, pfx, plen, has_dname_cb, &has_dname);
    }
    if (!err && has_dname) {
        err = range_of(z, owner, false, pfx, &plen); /* and everything below it */
    }
    if (!err) {
        err = foreach_range(w->s, w->txn, z, pfx, plen, check_cb, &c);
    }
    if (!err && c.o->n > 0) {
        err = check_owner(z, ch, c.o, d);
    }
    if (!err && dname_eq(owner, z->apex) && !c.seen_apex) {
        char name[1024];
        owner_str(z->apex, name, sizeof(name));
        diag_set(d, "", 0, "zone %s has no SOA record at its apex", name);
        err = DNSD_EAPEX;
    }
    *any_dname = *any_dname || c.o->any_dname;
    free(c.o);
    return err;
}

/* The owners of zone @p z this txn changed (canonical keys in the arena), at
 * most @p max; false if there are more. */
static bool changed_owners(const zw_t *w, const zw_zone_t *z, const struct zw_change **out,
                           size_t max, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < w->nch; i++) {
        const struct zw_change *c = &w->ch[i];
        if (c->zone_id != z->id) {
            continue;
        }
        size_t j = 0;
        while (j < *n && !(out[j]->key_len == c->key_len &&
                           memcmp(w->arena + out[j]->key_off, w->arena + c->key_off,
                                  c->key_len) == 0)) {
            j++;
        }
        if (j < *n) {
            continue;
        }
        if (*n == max) {
            return false;
        }
        out[(*n)++] = c;
    }
    return true;
}

/* The check zw_prepare() runs on a zone the txn edited: the owners changed
 * when they are few and the zone was whole before, else zw_check_zone(). */
static int check_touched(zw_t *w, const struct zw_touched *t, diag_t *d)
{
    const zw_zone_t *z = &t->z;
    if (t->created || !t->had_soa) {
        return zw_check_zone(w, z, d);
    }
    const struct zw_change **own = xmalloc(ZW_CHECK_OWNERS_MAX * sizeof(*own));
    size_t n;
    if (!changed_owners(w, z, own, ZW_CHECK_OWNERS_MAX, &n)) {
        free(own);
        return zw_check_zone(w, z, d);
    }
    struct chains ch = {NULL, 0};
    int err = zs_regions_load(w->s, w->txn, &ch.rs, &ch.n);
    if (err) {
        diag_set(d, "", 0, "cannot read the regions: %s", dnsd_strerror(err));
        free(own);
        return err;
    }
    bool any_dname = false;
    err = check_one_owner(w, z, &ch, z->apex, &any_dname, d);
    for (size_t i = 0; i < n && !err; i++) {
        const uint8_t *owner = w->arena + own[i]->owner_off;
        if (!dname_eq(owner, z->apex)) {
            err = check_one_owner(w, z, &ch, owner, &any_dname, d);
        }
    }
    /* a DNAME seen: the zone has one (a DNAME removed: others may remain,
     * so the flag stays as it is; only the full walk sets "none") */
    if (!err && any_dname && (err = dname_flag_sync(w, z, true)) != 0) {
        diag_set(d, "", 0, "cannot update the zone's flags: %s", dnsd_strerror(err));
    }
    if (err == DNSD_ESTORE) {
        diag_set(d, "", 0, "damaged value in the store");
    }
    free(own);
    free(ch.rs);
    return err;
}

/* ---- SOA serial ---- */

static int soa_serial_off(const zs_rrset_t *rr, size_t *off)
{
    if (rr->count != 1) {
        return DNSD_ESTORE;
    }
    size_t rl = zs_get16(rr->rdata);
    const uint8_t *rd = rr->rdata + 2;
    int a = dname_wire_len(rd, rl);
    if (a < 0) {
        return DNSD_ESTORE;
    }
    int b = dname_wire_len(rd + a, rl - (size_t)a);
    if (b < 0 || rl != (size_t)a + (size_t)b + 20) {
        return DNSD_ESTORE;
    }
    *off = (size_t)(rd - (rr->rdata - ZS_RRSET_HDR)) + (size_t)a + (size_t)b;
    return 0;
}

static int soa_get(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, MDB_val *key, uint8_t *kb,
                   MDB_val *val, size_t *off)
{
    dname_key_t k;
    if (dname_key_build(z->apex, &k) != 0) {
        return DNSD_ELIMIT;
    }
    key->mv_size = zs_rrset_key(z->id, &k, z->apex_labels, DNS_T_SOA, ZS_REGION_DEFAULT, kb);
    key->mv_data = kb;
    int rc = mdb_get(txn, s->rrsets, key, val);
    if (rc) {
        return rc == MDB_NOTFOUND ? DNSD_EAPEX : zs_mdb_err(rc);
    }
    zs_rrset_t rr;
    if (!zs_rrset_decode(val->mv_data, val->mv_size, DNS_T_SOA, &rr)) {
        return DNSD_ESTORE;
    }
    return soa_serial_off(&rr, off);
}

int zw_soa_serial(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, uint32_t *serial)
{
    MDB_val key, val;
    uint8_t kb[ZS_RRKEY_MAX];
    size_t off;
    int err = soa_get(s, txn, z, &key, kb, &val, &off);
    if (!err) {
        *serial = zs_get32((const uint8_t *)val.mv_data + off);
    }
    return err;
}

static int soa_read(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, const uint8_t **rd,
                    uint16_t *rl, uint32_t *ttl)
{
    MDB_val key, val;
    uint8_t kb[ZS_RRKEY_MAX];
    size_t off;
    int err = soa_get(s, txn, z, &key, kb, &val, &off);
    if (!err) {
        const uint8_t *v = val.mv_data;
        *ttl = zs_get32(v + 2);
        *rl = zs_get16(v + ZS_RRSET_HDR);
        *rd = v + ZS_RRSET_HDR + 2;
    }
    return err;
}

/* Set the SOA serial to @p serial. */
static int soa_set(zw_t *w, const zw_zone_t *z, uint32_t serial)
{
    MDB_val key, val;
    uint8_t kb[ZS_RRKEY_MAX];
    size_t off;
    int err = soa_get(w->s, w->txn, z, &key, kb, &val, &off);
    if (err) {
        return err;
    }
    uint8_t *nv = xmalloc(val.mv_size);
    memcpy(nv, val.mv_data, val.mv_size);
    zs_put32(nv + off, serial);
    val.mv_data = nv;
    int rc = zs_put(w->s, w->txn, w->s->rrsets, &key, &val, 0);
    free(nv);
    return zs_mdb_err(rc);
}

/* ---- commit: check, serial, journal ---- */

static int change_cmp(const void *pa, const void *pb, void *arena)
{
    const struct zw_change *a = pa, *b = pb;
    const uint8_t *g_arena = arena;
    int c = rdata_cmp(g_arena + a->key_off, a->key_len, g_arena + b->key_off, b->key_len);
    if (c) {
        return c;
    }
    if (a->type != b->type) {
        return a->type < b->type ? -1 : 1;
    }
    if (a->region != b->region) {
        return a->region < b->region ? -1 : 1;
    }
    c = rdata_cmp(g_arena + a->rd_off, a->rdlen, g_arena + b->rd_off, b->rdlen);
    if (c) {
        return c;
    }
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool same_rr(const zw_t *w, const struct zw_change *a, const struct zw_change *b)
{
    return a->key_len == b->key_len && a->type == b->type && a->region == b->region &&
           a->rdlen == b->rdlen &&
           memcmp(w->arena + a->key_off, w->arena + b->key_off, a->key_len) == 0 &&
           memcmp(w->arena + a->rd_off, w->arena + b->rd_off, a->rdlen) == 0;
}

static zj_rr_t change_rr(const zw_t *w, const struct zw_change *c)
{
    return (zj_rr_t){w->arena + c->owner_off, c->type, (const char *)w->arena + c->rname_off,
                     c->rname_len, c->ttl, w->arena + c->rd_off, c->rdlen};
}

/* Net the zone's logged changes and append them to its journal. */
static int journal_zone(zw_t *w, const struct zw_touched *t, uint32_t to)
{
    size_t n = 0;
    struct zw_change *zc = xmalloc((w->nch ? w->nch : 1) * sizeof(*zc));
    for (size_t i = 0; i < w->nch; i++) {
        if (w->ch[i].zone_id == t->z.id) {
            zc[n++] = w->ch[i];
        }
    }
    qsort_r(zc, n, sizeof(*zc), change_cmp, w->arena);
    zj_rr_t *del = xmalloc((n ? n : 1) * sizeof(*del)), *add = xmalloc((n ? n : 1) * sizeof(*add));
    size_t ndel = 0, nadd = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && same_rr(w, &zc[i], &zc[j])) {
            j++;
        }
        const struct zw_change *first = &zc[i], *last = &zc[j - 1];
        bool before = !first->add, after = last->add;
        if (before && (!after || first->ttl != last->ttl)) {
            del[ndel++] = change_rr(w, first);
        }
        if (after && (!before || first->ttl != last->ttl)) {
            add[nadd++] = change_rr(w, last);
        }
        i = j;
    }
    const uint8_t *rd;
    uint16_t rl;
    uint32_t ttl;
    int err = soa_read(w->s, w->txn, &t->z, &rd, &rl, &ttl);
    if (!err) {
        zj_rr_t old_soa = {t->z.apex, DNS_T_SOA, "", 0, t->old_ttl, t->old_soa, t->old_len};
        zj_rr_t new_soa = {t->z.apex, DNS_T_SOA, "", 0, ttl, rd, rl};
        uint32_t from = zs_get32(t->old_soa + t->old_len - 20);
        err = zj_append(w->s, w->txn, t->z.id, from, to, (uint64_t)time(NULL), &old_soa, del,
                        ndel, &new_soa, add, nadd);
    }
    free(zc);
    free(del);
    free(add);
    return err;
}

/*
 * A signed zone (ZS_ZONE_F_SIGNED): re-sign, in this txn, every RRset the
 * txn changed and the SOA (its serial just moved), or every RRset of a
 * zone created in this txn (its changes are not logged). Keys are read
 * once per zone (zones/dnssec.c).
 */
static int sign_zone(zw_t *w, const struct zw_touched *t, diag_t *d)
{
    if (!(t->z.flags & ZS_ZONE_F_SIGNED)) {
        return 0;
    }
    zd_zone_t zz = {.id = t->z.id, .apex = t->z.apex, .apex_labels = t->z.apex_labels};
    uint64_t now = (uint64_t)time(NULL);
    if (t->created) {
        zz.progress = w->progress;
        zz.progress_arg = w->progress_arg;
        return zd_sign_all(w->s, w->txn, &zz, false, now, NULL, d);
    }
    size_t n = 0;
    zd_change_t *ch = xmalloc((w->nch ? w->nch : 1) * sizeof(*ch));
    for (size_t i = 0; i < w->nch; i++) {
        const struct zw_change *c = &w->ch[i];
        if (c->zone_id == t->z.id) {
            ch[n++] = (zd_change_t){w->arena + c->owner_off, c->type, c->region};
        }
    }
    int err = zd_sign_touched(w->s, w->txn, &zz, ch, n, now, NULL, d);
    free(ch);
    return err;
}

/* Did the txn edit the apex DNSKEY, CDS or CDNSKEY of zone @p t (a zone
 * import, `record add/del`, or the key code itself)? */
static bool keys_touched(const zw_t *w, const struct zw_touched *t)
{
    for (size_t i = 0; i < w->nch; i++) {
        const struct zw_change *c = &w->ch[i];
        if (c->zone_id == t->z.id &&
            (c->type == DNS_T_DNSKEY || c->type == DNS_T_CDS || c->type == DNS_T_CDNSKEY) &&
            dname_eq(w->arena + c->owner_off, t->z.apex)) {
            return true;
        }
    }
    return false;
}

int zw_prepare(zw_t *w, diag_t *d)
{
    if (w->prepared) {
        return 0;
    }
    int err = 0;
    for (size_t i = 0; i < w->ntz && !err; i++) {
        struct zw_touched *t = &w->tz[i];
        if (!t->edited || t->deleted) {
            continue;
        }
        /* the flags as they are now (a zw_zone_set_flags() may have come after the first edit) */
        zw_zone_t now;
        if ((err = zw_zone_get(w->s, w->txn, t->z.apex, &now)) != 0) {
            diag_set(d, "", 0, "cannot read the zone: %s", dnsd_strerror(err));
            break;
        }
        t->z.flags = now.flags;
        /* a signed zone's DNSKEY, CDS and CDNSKEY follow its key set: an edit
         * of them (a zone import replacing everything) is put back, before
         * the check and the journal see the txn */
        if ((t->z.flags & ZS_ZONE_F_SIGNED) && keys_touched(w, t) &&
            (err = zd_zone_publish_keys(w, &t->z, d)) != 0) {
            break;
        }
        bool secondary = t->z.flags & ZS_ZONE_F_SECONDARY;
        uint32_t cur;
        if (secondary && !w->xfr &&
            zw_soa_serial(w->s, w->txn, &t->z, &cur) == DNSD_EAPEX) {
            continue; /* a secondary before its first transfer: checked when that comes */
        }
        if ((err = check_touched(w, t, d)) != 0) {
            break;
        }
        if ((err = zw_soa_serial(w->s, w->txn, &t->z, &cur)) != 0) {
            diag_set(d, "", 0, "cannot read the SOA serial: %s", dnsd_strerror(err));
            break;
        }
        if (secondary && !w->xfr) {
            /* an overlay edit: the serial and the journal follow the primary */
            err = sign_zone(w, t, d);
            continue;
        }
        uint32_t to = cur;
        if (t->serial_set) {
            to = t->serial;
        } else if (!t->created && !t->soa_written && t->had_soa) {
            to = zs_get32(t->old_soa + t->old_len - 20) + 1u; /* RFC 1982: wraps */
        }
        if (to != cur && (err = soa_set(w, &t->z, to)) != 0) {
            diag_set(d, "", 0, "cannot update the SOA serial: %s", dnsd_strerror(err));
            break;
        }
        if (!t->created && t->had_soa && (err = journal_zone(w, t, to)) != 0) {
            diag_set(d, "", 0, "cannot write the journal: %s", dnsd_strerror(err));
            break;
        }
        if ((err = sign_zone(w, t, d)) != 0) {
            break;
        }
    }
    if (err) {
        zw_abort(w);
        return err;
    }
    w->prepared = true;
    return 0;
}

/* ---- iteration ---- */

int zw_foreach_rrset(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, zw_rrset_cb cb, void *arg)
{
    uint8_t idb[4];
    zs_put32(idb, z->id);
    return foreach_range(s, txn, z, idb, sizeof(idb), cb, arg);
}

/* Every RRset of zone @p z whose rrsets key starts with @p prefix (at least
 * the zone id), in key order: the zone's canonical order. */
static int foreach_range(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, const uint8_t *prefix,
                         size_t plen, zw_rrset_cb cb, void *arg)
{
    dname_key_t ak;
    if (dname_key_build(z->apex, &ak) != 0) {
        return DNSD_ELIMIT;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->rrsets, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    MDB_val key = {plen, (void *)prefix}, val;
    uint8_t full[DNAME_KEY_MAX * 2];
    uint8_t owner[DNAME_MAXLEN + 1];
    int err = 0;
    memcpy(full, ak.key, ak.len);
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    while (rc == 0) {
        uint32_t id;
        const uint8_t *rel;
        size_t rel_len;
        zs_rrset_t rr;
        if (key.mv_size < plen || memcmp(key.mv_data, prefix, plen) != 0) {
            break;
        }
        if (!zs_rrset_key_split(key.mv_data, key.mv_size, &id, &rel, &rel_len, &rr.type,
                                &rr.region) ||
            ak.len + rel_len > sizeof(full)) {
            err = DNSD_ESTORE;
            break;
        }
        memcpy(full + ak.len, rel, rel_len);
        if (dname_from_key(full, ak.len + rel_len, owner) < 0 ||
            !zs_rrset_decode(val.mv_data, val.mv_size, rr.type, &rr)) {
            err = DNSD_ESTORE;
            break;
        }
        if ((err = cb(owner, &rr, arg)) != 0) {
            break;
        }
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (err) {
        return err;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
}

int zw_foreach_zone(zs_store_t *s, MDB_txn *txn, zw_zone_cb cb, void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->zones, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    MDB_val key, val;
    int err = 0;
    rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
    while (rc == 0) {
        zs_zone_t zv;
        zw_zone_t z;
        if (!zs_zone_decode(val.mv_data, val.mv_size, &zv)) {
            err = DNSD_ESTORE;
            break;
        }
        fill_zone(&zv, &z);
        if ((err = cb(&z, arg)) != 0) {
            break;
        }
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (err) {
        return err;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
}
