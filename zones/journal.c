/* SPDX-License-Identifier: MIT */
/*
 * journal.c -- the change journal (see journal.h). Called by the writer at
 * commit time, inside its write txn, and by readers (`dnsctl zone journal`,
 * later IXFR/NOTIFY/the cluster) on any txn. Never called by a query
 * worker; never writes outside the caller's txn.
 *
 * DESIGN. The "journal" sub-database holds, per zone, a header and its
 * entries (layout in schema.h):
 *
 *   u32 zone id | u64 0    -> header: next sequence number, the records and
 *                             bytes retained, the zone's own limits
 *   u32 zone id | u64 seq  -> one entry: from/to serial, commit time, then
 *                             old SOA, removed RRs, new SOA, added RRs
 *
 * Entries are keyed by a per-zone sequence number, not by serial: serials
 * wrap (RFC 1982) and an operator may set one backwards, but the order of
 * commits is what a replay needs. A reader asking "from serial S" walks
 * back from the newest entry to the latest one whose from-serial is S and
 * checks that the chain is unbroken (each entry's from is the previous
 * one's to, the last one's to is the zone's serial now); anything else is
 * DNSD_ERANGE, "send the whole zone", never a wrong diff. The header keeps
 * running totals so that retention (drop the oldest entries until the
 * records and bytes kept fit the limits) costs one cursor step per entry
 * dropped, in the same txn as the append.
 */
#include "zones/journal.h"

#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/regions.h"
#include "zones/schema.h"

#define HDR_LEN   48u /* u8 format | 7 x 0 | next_seq | changes | bytes | max_changes | max_bytes */
#define ENTRY_HDR 26u /* u8 format | u8 flags | from | to | u64 time | ndel | nadd */
#define FORMAT    1u

typedef struct jhdr {
    uint64_t next_seq, changes, bytes, max_changes, max_bytes;
} jhdr_t;

static void jkey(uint8_t *k, uint32_t zone_id, uint64_t seq)
{
    zs_put32(k, zone_id);
    zs_put64(k + 4, seq);
}

static int hdr_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, jhdr_t *h)
{
    uint8_t kb[12];
    jkey(kb, zone_id, 0);
    MDB_val k = {sizeof(kb), kb}, v;
    *h = (jhdr_t){1, 0, 0, ZJ_INHERIT, ZJ_INHERIT};
    if (!s->has_journal) {
        return 0;
    }
    int rc = mdb_get(txn, s->journal, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc) {
        return zs_mdb_err(rc);
    }
    const uint8_t *p = v.mv_data;
    if (v.mv_size != HDR_LEN || p[0] != FORMAT) {
        return DNSD_ESTORE;
    }
    h->next_seq = zs_get64(p + 8);
    h->changes = zs_get64(p + 16);
    h->bytes = zs_get64(p + 24);
    h->max_changes = zs_get64(p + 32);
    h->max_bytes = zs_get64(p + 40);
    return h->next_seq == 0 ? DNSD_ESTORE : 0;
}

static int hdr_put(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const jhdr_t *h)
{
    uint8_t kb[12], vb[HDR_LEN] = {FORMAT};
    jkey(kb, zone_id, 0);
    zs_put64(vb + 8, h->next_seq);
    zs_put64(vb + 16, h->changes);
    zs_put64(vb + 24, h->bytes);
    zs_put64(vb + 32, h->max_changes);
    zs_put64(vb + 40, h->max_bytes);
    MDB_val k = {sizeof(kb), kb}, v = {sizeof(vb), vb};
    return zs_mdb_err(zs_put(s, txn, s->journal, &k, &v, 0));
}

static int meta_limit_put(zs_store_t *s, MDB_txn *txn, const char *name, uint64_t val)
{
    return val == ZJ_INHERIT ? zs_meta_del(s, txn, name) : zs_meta_put_u64(s, txn, name, val);
}

int zj_limits_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zj_limits_t *own,
                  zj_limits_t *eff)
{
    zj_limits_t st;
    int err = zs_meta_u64_or(s, txn, ZS_META_JOURNAL_CHANGES, ZJ_DEFAULT_MAX_CHANGES,
                         &st.max_changes);
    if (!err) {
        err = zs_meta_u64_or(s, txn, ZS_META_JOURNAL_BYTES, ZJ_DEFAULT_MAX_BYTES, &st.max_bytes);
    }
    if (err) {
        return err;
    }
    if (zone_id == 0) {
        *own = st;
        if (eff) {
            *eff = st;
        }
        return 0;
    }
    jhdr_t h;
    if ((err = hdr_get(s, txn, zone_id, &h)) != 0) {
        return err;
    }
    own->max_changes = h.max_changes;
    own->max_bytes = h.max_bytes;
    if (eff) {
        eff->max_changes = h.max_changes == ZJ_INHERIT ? st.max_changes : h.max_changes;
        eff->max_bytes = h.max_bytes == ZJ_INHERIT ? st.max_bytes : h.max_bytes;
    }
    return 0;
}

/* ---- entries ---- */

static bool entry_decode(const MDB_val *k, const MDB_val *v, zj_entry_t *e)
{
    const uint8_t *p = v->mv_data;
    if (k->mv_size != 12 || v->mv_size < ENTRY_HDR || p[0] != FORMAT) {
        return false;
    }
    e->seq = zs_get64((const uint8_t *)k->mv_data + 4);
    e->from = zs_get32(p + 2);
    e->to = zs_get32(p + 6);
    e->time_s = zs_get64(p + 10);
    e->ndel = zs_get32(p + 18);
    e->nadd = zs_get32(p + 22);
    e->recs = p + ENTRY_HDR;
    e->recs_len = v->mv_size - ENTRY_HDR;
    /* walk the records once: every length inside the value, the count right */
    uint64_t want = (uint64_t)e->ndel + e->nadd + 2, n = 0;
    size_t off = 0;
    while (off < e->recs_len) {
        size_t left = e->recs_len - off;
        if (left < 1) {
            return false;
        }
        size_t ol = e->recs[off];
        if (left < 1 + ol + 3 || dname_wire_len(e->recs + off + 1, ol) != (int)ol) {
            return false;
        }
        size_t gl = e->recs[off + 1 + ol + 2];
        if (gl > ZS_REGION_NAME_MAX || left < 10 + ol + gl) {
            return false;
        }
        size_t rl = zs_get16(e->recs + off + 8 + ol + gl);
        if (left < 10 + ol + gl + rl) {
            return false;
        }
        off += 10 + ol + gl + rl;
        n++;
    }
    return n == want;
}

bool zj_rr_next(const zj_entry_t *e, size_t *off, zj_rr_t *rr)
{
    if (*off >= e->recs_len) {
        return false;
    }
    const uint8_t *p = e->recs + *off;
    size_t ol = p[0];
    rr->owner = p + 1;
    rr->type = zs_get16(p + 1 + ol);
    rr->region_len = p[3 + ol];
    rr->region = (const char *)p + 4 + ol;
    size_t gl = rr->region_len;
    rr->ttl = zs_get32(p + 4 + ol + gl);
    rr->rdlen = zs_get16(p + 8 + ol + gl);
    rr->rdata = p + 10 + ol + gl;
    *off += 10 + ol + gl + rr->rdlen;
    return true;
}

static size_t rr_size(const zj_rr_t *rr)
{
    return 10 + (size_t)dname_wire_len(rr->owner, DNAME_MAXLEN + 1) + rr->region_len + rr->rdlen;
}

static uint8_t *rr_put(uint8_t *o, const zj_rr_t *rr)
{
    size_t ol = (size_t)dname_wire_len(rr->owner, DNAME_MAXLEN + 1);
    o[0] = (uint8_t)ol;
    memcpy(o + 1, rr->owner, ol);
    size_t gl = rr->region_len;
    zs_put16(o + 1 + ol, rr->type);
    o[3 + ol] = (uint8_t)gl;
    memcpy(o + 4 + ol, rr->region, gl);
    zs_put32(o + 4 + ol + gl, rr->ttl);
    zs_put16(o + 8 + ol + gl, rr->rdlen);
    memcpy(o + 10 + ol + gl, rr->rdata, rr->rdlen);
    return o + 10 + ol + gl + rr->rdlen;
}

/* Drop the oldest entries while the totals exceed @p lim; keeps @p h's totals right. */
static int trim(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, jhdr_t *h, const zj_limits_t *lim)
{
    if (h->changes <= lim->max_changes && h->bytes <= lim->max_bytes) {
        return 0;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->journal, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    uint8_t kb[12];
    jkey(kb, zone_id, 1);
    MDB_val k = {sizeof(kb), kb}, v;
    int err = 0;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && (h->changes > lim->max_changes || h->bytes > lim->max_bytes)) {
        zj_entry_t e;
        if (k.mv_size != 12 || zs_get32(k.mv_data) != zone_id) {
            break;
        }
        if (!entry_decode(&k, &v, &e)) {
            err = DNSD_ESTORE;
            break;
        }
        uint64_t n = (uint64_t)e.ndel + e.nadd + 2, b = v.mv_size;
        h->changes = h->changes > n ? h->changes - n : 0;
        h->bytes = h->bytes > b ? h->bytes - b : 0;
        if ((rc = zs_cursor_del(s, c)) != 0) {
            break;
        }
        /* re-seek rather than MDB_GET_CURRENT: see writer.c's delete_range() */
        k.mv_size = sizeof(kb);
        k.mv_data = kb;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(c);
    if (err) {
        return err;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return zs_mdb_err(rc);
    }
    return 0;
}

int zj_append(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, uint32_t from, uint32_t to,
              uint64_t time_s, const zj_rr_t *old_soa, const zj_rr_t *del, size_t ndel,
              const zj_rr_t *new_soa, const zj_rr_t *add, size_t nadd)
{
    if (!s->has_journal) {
        return DNSD_ESTORE; /* a writable open always has it */
    }
    size_t len = ENTRY_HDR + rr_size(old_soa) + rr_size(new_soa);
    for (size_t i = 0; i < ndel; i++) {
        len += rr_size(&del[i]);
    }
    for (size_t i = 0; i < nadd; i++) {
        len += rr_size(&add[i]);
    }
    if (len > UINT32_MAX || ndel > UINT32_MAX - 2 || nadd > UINT32_MAX - 2) {
        return DNSD_ELIMIT;
    }
    jhdr_t h;
    zj_limits_t own, lim;
    int err = hdr_get(s, txn, zone_id, &h);
    if (!err) {
        err = zj_limits_get(s, txn, zone_id, &own, &lim);
    }
    if (err) {
        return err;
    }
    uint8_t *buf = xmalloc(len), *o = buf;
    o[0] = FORMAT;
    o[1] = 0;
    zs_put32(o + 2, from);
    zs_put32(o + 6, to);
    zs_put64(o + 10, time_s);
    zs_put32(o + 18, (uint32_t)ndel);
    zs_put32(o + 22, (uint32_t)nadd);
    o += ENTRY_HDR;
    o = rr_put(o, old_soa);
    for (size_t i = 0; i < ndel; i++) {
        o = rr_put(o, &del[i]);
    }
    o = rr_put(o, new_soa);
    for (size_t i = 0; i < nadd; i++) {
        o = rr_put(o, &add[i]);
    }
    uint8_t kb[12];
    jkey(kb, zone_id, h.next_seq);
    MDB_val k = {sizeof(kb), kb}, v = {len, buf};
    int rc = zs_put(s, txn, s->journal, &k, &v, MDB_NOOVERWRITE);
    free(buf);
    if (rc) {
        return zs_mdb_err(rc);
    }
    h.next_seq++;
    h.changes += (uint64_t)ndel + nadd + 2;
    h.bytes += len;
    if ((err = trim(s, txn, zone_id, &h, &lim)) != 0) {
        return err;
    }
    return hdr_put(s, txn, zone_id, &h);
}

int zj_limits_set(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const zj_limits_t *set)
{
    int err;
    if (zone_id == 0) {
        if (set->max_changes != ZJ_KEEP &&
            (err = meta_limit_put(s, txn, ZS_META_JOURNAL_CHANGES, set->max_changes)) != 0) {
            return err;
        }
        if (set->max_bytes != ZJ_KEEP &&
            (err = meta_limit_put(s, txn, ZS_META_JOURNAL_BYTES, set->max_bytes)) != 0) {
            return err;
        }
        /* every zone's journal to the new defaults, now */
        MDB_cursor *c;
        int rc = mdb_cursor_open(txn, s->journal, &c);
        if (rc) {
            return zs_mdb_err(rc);
        }
        MDB_val k, v;
        uint32_t ids_cap = 16, nids = 0, *ids = xmalloc(ids_cap * sizeof(*ids));
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        while (rc == 0) {
            if (k.mv_size == 12 && zs_get64((const uint8_t *)k.mv_data + 4) == 0) {
                if (nids == ids_cap) {
                    ids_cap *= 2;
                    ids = xrealloc(ids, ids_cap * sizeof(*ids));
                }
                ids[nids++] = zs_get32(k.mv_data);
            }
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(c);
        err = rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
        for (uint32_t i = 0; i < nids && !err; i++) {
            err = zj_limits_set(s, txn, ids[i], &(zj_limits_t){ZJ_KEEP, ZJ_KEEP});
        }
        free(ids);
        return err;
    }
    jhdr_t h;
    zj_limits_t own, lim;
    if ((err = hdr_get(s, txn, zone_id, &h)) != 0) {
        return err;
    }
    if (set->max_changes != ZJ_KEEP) {
        h.max_changes = set->max_changes;
    }
    if (set->max_bytes != ZJ_KEEP) {
        h.max_bytes = set->max_bytes;
    }
    if ((err = hdr_put(s, txn, zone_id, &h)) != 0 ||
        (err = zj_limits_get(s, txn, zone_id, &own, &lim)) != 0 ||
        (err = trim(s, txn, zone_id, &h, &lim)) != 0) {
        return err;
    }
    return hdr_put(s, txn, zone_id, &h);
}

int zj_zone_drop(zs_store_t *s, MDB_txn *txn, uint32_t zone_id)
{
    if (!s->has_journal) {
        return 0;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->journal, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    uint8_t kb[12];
    jkey(kb, zone_id, 0);
    MDB_val k = {sizeof(kb), kb}, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size >= 4 && zs_get32(k.mv_data) == zone_id) {
        if ((rc = zs_cursor_del(s, c)) != 0) {
            break;
        }
        k.mv_size = sizeof(kb);
        k.mv_data = kb;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(c);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
}

/* Hand out zone @p zone_id's entries from sequence @p seq on (positioned
 * with @p op: MDB_SET_RANGE from the first at or after it, MDB_SET_KEY at
 * exactly it) to @p cb, in commit order. A damaged entry is DNSD_ESTORE;
 * whatever @p cb returns other than 0 stops and is returned. */
static int hand_out(MDB_cursor *c, uint32_t zone_id, uint64_t seq, MDB_cursor_op op,
                    zj_entry_cb cb, void *arg)
{
    uint8_t kb[12];
    jkey(kb, zone_id, seq);
    MDB_val k = {sizeof(kb), kb}, v;
    int rc = mdb_cursor_get(c, &k, &v, op);
    while (rc == 0 && k.mv_size >= 4 && zs_get32(k.mv_data) == zone_id) {
        zj_entry_t e;
        if (!entry_decode(&k, &v, &e)) {
            return DNSD_ESTORE;
        }
        int err = cb(&e, arg);
        if (err) {
            return err;
        }
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
}

int zj_foreach(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zj_entry_cb cb, void *arg)
{
    if (!s->has_journal) {
        return 0;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->journal, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    rc = hand_out(c, zone_id, 1, MDB_SET_RANGE, cb, arg);
    mdb_cursor_close(c);
    return rc;
}

int zj_changes(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, uint32_t from, uint32_t current,
               zj_entry_cb cb, void *arg)
{
    if (from == current) {
        return 0;
    }
    if (!s->has_journal) {
        return DNSD_ERANGE;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->journal, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    /* back from the newest entry to the latest one that starts at @p from,
     * checking the chain on the way: each entry ends where the next begins */
    uint8_t kb[12];
    jkey(kb, zone_id + 1u, 0);
    MDB_val k = {sizeof(kb), kb}, v;
    int err = DNSD_ERANGE;
    uint32_t want_to = current;
    uint64_t start = 0;
    if (zone_id == UINT32_MAX) {
        rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    } else {
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        rc = rc == 0 ? mdb_cursor_get(c, &k, &v, MDB_PREV)
                     : rc == MDB_NOTFOUND ? mdb_cursor_get(c, &k, &v, MDB_LAST) : rc;
    }
    while (rc == 0 && k.mv_size == 12 && zs_get32(k.mv_data) == zone_id &&
           zs_get64((const uint8_t *)k.mv_data + 4) != 0) {
        zj_entry_t e;
        if (!entry_decode(&k, &v, &e)) {
            err = DNSD_ESTORE;
            break;
        }
        if (e.to != want_to) {
            break; /* a gap: what is older cannot be chained to the zone now */
        }
        if (e.from == from) {
            start = e.seq;
            err = 0;
            break;
        }
        want_to = e.from;
        rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        err = zs_mdb_err(rc);
    }
    if (err) {
        mdb_cursor_close(c);
        return err;
    }
    /* then forward from there, handing each entry out */
    rc = hand_out(c, zone_id, start, MDB_SET_KEY, cb, arg);
    mdb_cursor_close(c);
    return rc;
}
