/* SPDX-License-Identifier: MIT */
/*
 * reader.c -- the store lookups behind every answer (see reader.h).
 * Hot path: no malloc, no lock, no log. Keys are built on the stack.
 */
#include "zones/reader.h"

#include <string.h>

#include "zones/base/err.h"

int zr_init(zr_t *r, zs_store_t *s)
{
    memset(r, 0, sizeof(*r));
    r->s = s;
    int err = zs_read_begin(s, &r->txn);
    if (err) {
        r->txn = NULL;
        return err;
    }
    int rc = mdb_cursor_open(r->txn, s->rrsets, &r->cur);
    if (rc) {
        zs_read_end(s, r->txn);
        r->txn = NULL;
        return zs_mdb_err(rc);
    }
    zs_txn_reset(s, r->txn);
    return 0;
}

void zr_fini(zr_t *r)
{
    if (r->cur) {
        mdb_cursor_close(r->cur);
    }
    if (r->txn) {
        mdb_txn_abort(r->txn);
    }
    memset(r, 0, sizeof(*r));
}

int zr_begin(zr_t *r)
{
    /* through the store's gate: a map grown by dnsctl is adopted here */
    int err = zs_txn_renew(r->s, r->txn);
    if (err) {
        return err;
    }
    int rc = mdb_cursor_renew(r->txn, r->cur);
    if (rc) {
        zs_txn_reset(r->s, r->txn);
        return zs_mdb_err(rc);
    }
    r->active = true;
    return 0;
}

void zr_end(zr_t *r)
{
    if (r->active) {
        zs_txn_reset(r->s, r->txn);
        r->active = false;
    }
}

int zr_zone_find(zr_t *r, const dname_key_t *k, int max_labels, zs_zone_t *out)
{
    /* l >= 1: LMDB keys cannot be empty, so the root zone is not supported */
    for (int l = max_labels < k->nlabels ? max_labels : k->nlabels; l >= 1; l--) {
        MDB_val key = {k->ends[l], (void *)k->key}, val;
        int rc = mdb_get(r->txn, r->s->zones, &key, &val);
        if (rc == MDB_NOTFOUND) {
            continue;
        }
        if (rc) {
            return zs_mdb_err(rc);
        }
        if (!zs_zone_decode(val.mv_data, val.mv_size, out) || out->apex_labels != l) {
            return DNSD_ESTORE;
        }
        return 0;
    }
    return DNSD_ENOZONE;
}

/* Owner prefix "id | relkey" of the @p labels-label ancestor, optionally "*."-prefixed. */
static size_t owner_prefix(const zs_zone_t *z, const dname_key_t *k, int labels, bool wild,
                           uint8_t *buf)
{
    size_t from = k->ends[z->apex_labels], to = k->ends[labels];
    zs_put32(buf, z->id);
    memcpy(buf + 4, k->key + from, to - from);
    size_t n = 4 + to - from;
    if (wild) {
        buf[n++] = '*';
        buf[n++] = 0;
    }
    return n;
}

static int chain_pos(const zr_chain_t *ch, uint16_t region)
{
    for (int i = 0; i < ch->n; i++) {
        if (ch->ids[i] == region) {
            return i;
        }
    }
    return -1;
}

int zr_node_get(zr_t *r, const zs_zone_t *z, const dname_key_t *k, int labels, bool wild,
                const zr_chain_t *ch, zr_node_t *out)
{
    uint8_t buf[ZS_RRKEY_MAX + 2];
    size_t plen = owner_prefix(z, k, labels, wild, buf);
    buf[plen] = 0;
    MDB_val key = {plen + 1, buf}, val;
    out->n = 0;
    out->exists = false;
    out->regional = false;
    int best_pos = 0;
    int rc = mdb_cursor_get(r->cur, &key, &val, MDB_SET_RANGE);
    while (rc == 0) {
        const uint8_t *kb = key.mv_data;
        if (key.mv_size < plen + 1 || memcmp(kb, buf, plen) != 0) {
            return 0; /* past this name and its subtree */
        }
        if (kb[plen] != 0) {
            out->exists = true; /* a descendant: the name is at least an ENT */
            return 0;
        }
        if (key.mv_size != plen + 5) {
            return DNSD_ESTORE;
        }
        uint16_t type = zs_get16(kb + plen + 1), region = zs_get16(kb + plen + 3);
        if (region != ZS_REGION_DEFAULT) {
            out->regional = true;
        }
        int pos = chain_pos(ch, region);
        if (pos >= 0) {
            zs_rrset_t *slot;
            if (out->n > 0 && out->rr[out->n - 1].type == type) {
                if (pos >= best_pos) {
                    goto next; /* a better region of the chain already has this type */
                }
                slot = &out->rr[out->n - 1];
            } else {
                if (out->n == ZS_NODE_MAX) {
                    return DNSD_ELIMIT;
                }
                slot = &out->rr[out->n++];
            }
            if (!zs_rrset_decode(val.mv_data, val.mv_size, type, slot)) {
                return DNSD_ESTORE;
            }
            slot->region = region;
            best_pos = pos;
            out->exists = true;
        }
next:
        rc = mdb_cursor_get(r->cur, &key, &val, MDB_NEXT);
    }
    return rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
}

int zr_rrset_get(zr_t *r, const zs_zone_t *z, const dname_key_t *k, int labels, uint16_t type,
                 const zr_chain_t *ch, zs_rrset_t *out)
{
    uint8_t buf[ZS_RRKEY_MAX + 2];
    size_t plen = owner_prefix(z, k, labels, false, buf);
    buf[plen] = 0;
    zs_put16(buf + plen + 1, type);
    for (int i = 0; i < ch->n; i++) {
        zs_put16(buf + plen + 3, ch->ids[i]);
        MDB_val key = {plen + 5, buf}, val;
        int rc = mdb_get(r->txn, r->s->rrsets, &key, &val);
        if (rc == MDB_NOTFOUND) {
            continue;
        }
        if (rc) {
            return zs_mdb_err(rc);
        }
        if (!zs_rrset_decode(val.mv_data, val.mv_size, type, out)) {
            return DNSD_ESTORE;
        }
        out->region = ch->ids[i];
        return 0;
    }
    return DNSD_ENOTFOUND;
}

int zr_rrset_get_any(zr_t *r, const zs_zone_t *z, const dname_key_t *k, int labels,
                     uint16_t type, const zr_chain_t *ch, zs_rrset_t *out, bool *regional)
{
    uint8_t buf[ZS_RRKEY_MAX + 2];
    size_t plen = owner_prefix(z, k, labels, false, buf);
    buf[plen] = 0;
    zs_put16(buf + plen + 1, type);
    size_t tlen = plen + 3; /* "id | relkey | 0x00 | type": every region's copy */
    MDB_val key = {tlen, buf}, val;
    int best = -1;
    int rc = mdb_cursor_get(r->cur, &key, &val, MDB_SET_RANGE);
    /* bounded: one key per region id, at most 65536 */
    while (rc == 0 && key.mv_size == tlen + 2 && memcmp(key.mv_data, buf, tlen) == 0) {
        uint16_t region = zs_get16((const uint8_t *)key.mv_data + tlen);
        if (region != ZS_REGION_DEFAULT) {
            *regional = true;
        }
        int pos = chain_pos(ch, region);
        if (pos >= 0 && (best < 0 || pos < best)) {
            if (!zs_rrset_decode(val.mv_data, val.mv_size, type, out)) {
                return DNSD_ESTORE;
            }
            out->region = region;
            best = pos;
        }
        rc = mdb_cursor_get(r->cur, &key, &val, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return zs_mdb_err(rc);
    }
    return best >= 0 ? 0 : DNSD_ENOTFOUND;
}

/* Labels (relative to the apex) that key @p kb shares whole with the query's relative key. */
static int shared_labels(const zs_zone_t *z, const dname_key_t *k, const uint8_t *kb, size_t klen)
{
    if (klen < 4 || zs_get32(kb) != z->id) {
        return -1;
    }
    const uint8_t *rq = k->key + k->ends[z->apex_labels];
    size_t rql = k->len - k->ends[z->apex_labels];
    size_t c = 0, max = klen - 4 < rql ? klen - 4 : rql;
    while (c < max && kb[4 + c] == rq[c]) {
        c++;
    }
    int m = 0;
    while (z->apex_labels + m < k->nlabels &&
           (size_t)(k->ends[z->apex_labels + m + 1] - k->ends[z->apex_labels]) <= c) {
        m++;
    }
    return m;
}

int zr_closest_encloser(zr_t *r, const zs_zone_t *z, const dname_key_t *k, int *labels)
{
    uint8_t buf[ZS_RRKEY_MAX + 2];
    size_t plen = owner_prefix(z, k, k->nlabels, false, buf);
    MDB_val key = {plen, buf}, val;
    int best = 0;
    int rc = mdb_cursor_get(r->cur, &key, &val, MDB_SET_RANGE);
    if (rc == 0) {
        int m = shared_labels(z, k, key.mv_data, key.mv_size);
        best = m > best ? m : best;
        rc = mdb_cursor_get(r->cur, &key, &val, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(r->cur, &key, &val, MDB_LAST);
    }
    if (rc == 0) {
        int m = shared_labels(z, k, key.mv_data, key.mv_size);
        best = m > best ? m : best;
    } else if (rc != MDB_NOTFOUND) {
        return zs_mdb_err(rc);
    }
    *labels = z->apex_labels + best;
    return 0;
}
