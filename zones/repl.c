/* SPDX-License-Identifier: MIT */
/*
 * repl.c -- the replication form of a write txn (see repl.h): the store's
 * put/delete with capture, the entry checker and applier, snapshots,
 * clearing and comparing the replicated keys. Called by the writer
 * (the zones layer, through zs_put/zs_del/zs_cursor_del), the cluster
 * (zones/cluster.c), dnsctl and tests. Slow path; never called by a query
 * worker. It must never capture a node-local meta key, nor write anything
 * of an entry it has not checked whole.
 *
 * DESIGN. The sub-database numbering (ZR_DB_* <-> the store's handles) is
 * db_get() below, the one place that knows it; a sub-database whose has_*
 * flag is false is absent (a read-only open of an old store) and holds
 * nothing. Capture appends each op to one growing byte buffer (xappend:
 * amortised O(1)); the op count goes into the header when the entry is
 * read. With no capture on (s->cap == NULL: a standalone store, or no
 * write txn of a cluster writer) a put costs one extra branch.
 */
#include "zones/repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/schema.h"

#define ZR_FORMAT   1u
#define ZR_KEY_MAX  511u
#define ZR_VAL_MAX  ((size_t)64 << 20)
#define ZR_OP_HDR   4u /* op, db, klen */
#define LOCAL_PREFIX "cluster_"

/* ---- the sub-database numbering: the one place ---- */

/* Store @p s's handle of sub-database @p db (ZR_DB_*): false when absent. */
static bool db_get(const zs_store_t *s, unsigned db, MDB_dbi *out)
{
    switch (db) {
    case ZR_DB_META:
        *out = s->meta;
        return true;
    case ZR_DB_ZONES:
        *out = s->zones;
        return true;
    case ZR_DB_RRSETS:
        *out = s->rrsets;
        return true;
    case ZR_DB_REGIONS:
        *out = s->regions;
        return true;
    case ZR_DB_CERTS:
        *out = s->certs;
        return s->has_certs;
    case ZR_DB_JOURNAL:
        *out = s->journal;
        return s->has_journal;
    case ZR_DB_TSIG:
        *out = s->tsig;
        return s->has_tsig;
    case ZR_DB_XFROUT:
        *out = s->xfrout;
        return s->has_xfrout;
    case ZR_DB_SECONDARY:
        *out = s->secondary;
        return s->has_secondary;
    case ZR_DB_UPOLICY:
        *out = s->upolicy;
        return s->has_upolicy;
    case ZR_DB_DNSSEC:
        *out = s->dnssec;
        return s->has_dnssec;
    case ZR_DB_ROLLOUT:
        *out = s->rollout;
        return s->has_rollout;
    default:
        return false;
    }
}

static const char *db_name(unsigned db)
{
    static const char *const names[ZR_DB_COUNT] = {
        ZS_DB_META, ZS_DB_ZONES, ZS_DB_RRSETS, ZS_DB_REGIONS, ZS_DB_CERTS,
        ZS_DB_JOURNAL, ZS_DB_TSIG, ZS_DB_XFROUT, ZS_DB_SECONDARY, ZS_DB_UPOLICY,
        ZS_DB_DNSSEC, ZS_DB_ROLLOUT,
    };
    return db < ZR_DB_COUNT ? names[db] : "?";
}

/* The ZR_DB_* number of handle @p dbi of store @p s, or -1 (not a sub-database of ours). */
static int db_number(const zs_store_t *s, MDB_dbi dbi)
{
    for (unsigned db = 0; db < ZR_DB_COUNT; db++) {
        MDB_dbi h;
        if (db_get(s, db, &h) && h == dbi) {
            return (int)db;
        }
    }
    return -1;
}

bool zr_meta_local(const void *k, size_t n)
{
    size_t gl = strlen(ZS_META_GENERATION), pl = strlen(LOCAL_PREFIX);
    return (n == gl && memcmp(k, ZS_META_GENERATION, gl) == 0) ||
           (n >= pl && memcmp(k, LOCAL_PREFIX, pl) == 0);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- entry building (capture and snapshot share it) ---- */

typedef struct ebuf {
    uint8_t *buf;
    size_t len, cap;
    uint32_t nops;
} ebuf_t;

static void eb_reset(ebuf_t *b)
{
    uint8_t hdr[ZR_HDR] = {ZR_FORMAT, 0, 0, 0, 0, 0, 0, 0};
    b->len = 0;
    b->nops = 0;
    xappend(&b->buf, &b->len, &b->cap, hdr, sizeof(hdr));
}

static size_t op_size(size_t klen, size_t vlen)
{
    return ZR_OP_HDR + klen + 4 + vlen;
}

static void eb_op(ebuf_t *b, unsigned op, unsigned db, const MDB_val *k, const MDB_val *v)
{
    uint8_t h[ZR_OP_HDR + ZR_KEY_MAX + 4];
    size_t vlen = v ? v->mv_size : 0;
    h[0] = (uint8_t)op;
    h[1] = (uint8_t)db;
    put16(h + 2, (uint32_t)k->mv_size);
    memcpy(h + ZR_OP_HDR, k->mv_data, k->mv_size);
    put32(h + ZR_OP_HDR + k->mv_size, (uint32_t)vlen);
    xappend(&b->buf, &b->len, &b->cap, h, ZR_OP_HDR + k->mv_size + 4);
    if (vlen) {
        xappend(&b->buf, &b->len, &b->cap, v->mv_data, vlen);
    }
    b->nops++;
}

static const uint8_t *eb_get(ebuf_t *b, size_t *len)
{
    put32(b->buf + 4, b->nops);
    *len = b->len;
    return b->buf;
}

/* the capture buffer of a store's write txn in progress */
struct zr_capture {
    ebuf_t e;
};

/* ---- capture ---- */

void zr_capture_begin(zs_store_t *s)
{
    if (!s->cap) {
        s->cap = xcalloc(1, sizeof(*s->cap));
    }
    eb_reset(&s->cap->e);
}

const uint8_t *zr_capture_get(zs_store_t *s, size_t *len)
{
    static const uint8_t empty[ZR_HDR] = {ZR_FORMAT, 0, 0, 0, 0, 0, 0, 0};
    if (!s->cap) {
        *len = sizeof(empty); /* not capturing: an entry of 0 ops */
        return empty;
    }
    return eb_get(&s->cap->e, len);
}

void zr_capture_end(zs_store_t *s)
{
    if (s->cap) {
        free(s->cap->e.buf);
        free(s->cap);
        s->cap = NULL;
    }
}

/* Append one op to the capture (the write itself succeeded). */
static void capture(zs_store_t *s, MDB_dbi dbi, unsigned op, const MDB_val *k,
                    const MDB_val *v)
{
    int db = db_number(s, dbi);
    if (db < 0 || (db == ZR_DB_META && zr_meta_local(k->mv_data, k->mv_size))) {
        return; /* not replicated */
    }
    eb_op(&s->cap->e, op, (unsigned)db, k, v);
}

int zs_put(zs_store_t *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags)
{
    if (!s->cap) {
        return mdb_put(txn, dbi, k, v, flags); /* standalone: the one branch */
    }
    if (v->mv_size > ZR_VAL_MAX || k->mv_size > ZR_KEY_MAX) {
        return MDB_BAD_VALSIZE; /* an entry could not carry it: refuse before writing */
    }
    int rc = mdb_put(txn, dbi, k, v, flags);
    if (rc == 0) {
        capture(s, dbi, ZR_OP_PUT, k, v);
    }
    return rc;
}

int zs_del(zs_store_t *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k)
{
    if (!s->cap) {
        return mdb_del(txn, dbi, k, NULL);
    }
    int rc = mdb_del(txn, dbi, k, NULL);
    if (rc == 0) {
        capture(s, dbi, ZR_OP_DEL, k, NULL);
    }
    return rc;
}

int zs_cursor_del(zs_store_t *s, MDB_cursor *c)
{
    if (!s->cap) {
        return mdb_cursor_del(c, 0);
    }
    /* copy the key first: after the delete the cursor may point elsewhere */
    MDB_val k, v;
    uint8_t kb[ZR_KEY_MAX];
    int rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
    if (rc) {
        return rc;
    }
    if (k.mv_size > sizeof(kb)) {
        return MDB_BAD_VALSIZE;
    }
    memcpy(kb, k.mv_data, k.mv_size);
    k.mv_data = kb;
    if ((rc = mdb_cursor_del(c, 0)) == 0) {
        capture(s, mdb_cursor_dbi(c), ZR_OP_DEL, &k, NULL);
    }
    return rc;
}

/* ---- checking and applying ---- */

/* One op of an entry, as read by next_op(). */
typedef struct zr_op {
    unsigned op, db;
    MDB_val k, v;
} zr_op_t;

/*
 * Read the op at *@p off of entry @p e (@p len bytes) and move past it.
 * Only for entries zr_check() accepted.
 */
static void next_op(const uint8_t *e, size_t *off, zr_op_t *o)
{
    size_t p = *off;
    o->op = e[p];
    o->db = e[p + 1];
    o->k.mv_size = get16(e + p + 2);
    o->k.mv_data = (void *)(e + p + ZR_OP_HDR);
    p += ZR_OP_HDR + o->k.mv_size;
    o->v.mv_size = get32(e + p);
    o->v.mv_data = (void *)(e + p + 4);
    *off = p + 4 + o->v.mv_size;
}

int zr_check(const uint8_t *e, size_t len, diag_t *d)
{
    if (len < ZR_HDR) {
        diag_set(d, "entry", 0, "%zu bytes: shorter than the %u-byte header", len, ZR_HDR);
        return DNSD_EMALFORMED;
    }
    if (e[0] != ZR_FORMAT || e[1] != 0 || e[2] != 0 || e[3] != 0) {
        diag_set(d, "entry", 0, "byte 0: format %u flags %u (want format %u, flags 0)", e[0],
                 e[1], ZR_FORMAT);
        return DNSD_EMALFORMED;
    }
    uint32_t nops = get32(e + 4);
    size_t off = ZR_HDR;
    for (uint32_t i = 0; i < nops; i++) {
        if (len - off < ZR_OP_HDR) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u truncated", off, i + 1, nops);
            return DNSD_EMALFORMED;
        }
        unsigned op = e[off], db = e[off + 1];
        size_t klen = get16(e + off + 2);
        if (op != ZR_OP_PUT && op != ZR_OP_DEL) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u has kind %u (want 1 put, 2 delete)",
                     off, i + 1, nops, op);
            return DNSD_EMALFORMED;
        }
        if (db >= ZR_DB_COUNT) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u names sub-database %u (have 0..%u)",
                     off + 1, i + 1, nops, db, ZR_DB_COUNT - 1);
            return DNSD_EMALFORMED;
        }
        if (klen < 1 || klen > ZR_KEY_MAX) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u has a key of %zu bytes (want 1..%u)",
                     off + 2, i + 1, nops, klen, ZR_KEY_MAX);
            return DNSD_EMALFORMED;
        }
        if (len - off - ZR_OP_HDR < klen + 4) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u truncated in its key", off, i + 1,
                     nops);
            return DNSD_EMALFORMED;
        }
        const uint8_t *k = e + off + ZR_OP_HDR;
        if (db == ZR_DB_META && zr_meta_local(k, klen)) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u writes local meta key \"%.*s\"",
                     off + ZR_OP_HDR, i + 1, nops, (int)klen, (const char *)k);
            return DNSD_EMALFORMED;
        }
        size_t voff = off + ZR_OP_HDR + klen;
        size_t vlen = get32(e + voff);
        if (op == ZR_OP_DEL && vlen != 0) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u is a delete with a value", voff,
                     i + 1, nops);
            return DNSD_EMALFORMED;
        }
        if (vlen > ZR_VAL_MAX) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u has a value of %zu bytes (limit %zu)",
                     voff, i + 1, nops, vlen, ZR_VAL_MAX);
            return DNSD_EMALFORMED;
        }
        if (len - voff - 4 < vlen) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u truncated in its value", voff, i + 1,
                     nops);
            return DNSD_EMALFORMED;
        }
        off = voff + 4 + vlen;
    }
    if (off != len) {
        diag_set(d, "entry", 0, "byte %zu: %zu bytes after the last of %u ops", off, len - off,
                 nops);
        return DNSD_EMALFORMED;
    }
    return 0;
}

int zr_apply(zs_store_t *s, MDB_txn *txn, const uint8_t *e, size_t len, diag_t *d)
{
    int err = zr_check(e, len, d);
    if (err) {
        return err;
    }
    uint32_t nops = get32(e + 4);
    zr_op_t o;
    MDB_dbi dbi;
    /* every sub-database it names must exist here, before the first write */
    size_t off = ZR_HDR;
    for (uint32_t i = 0; i < nops; i++) {
        size_t at = off;
        next_op(e, &off, &o);
        if (!db_get(s, o.db, &dbi)) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u names sub-database %s, absent here",
                     at + 1, i + 1, nops, db_name(o.db));
            return DNSD_EMALFORMED;
        }
    }
    off = ZR_HDR;
    for (uint32_t i = 0; i < nops; i++) {
        size_t at = off;
        next_op(e, &off, &o);
        db_get(s, o.db, &dbi);
        int rc;
        if (o.op == ZR_OP_PUT) {
            rc = mdb_put(txn, dbi, &o.k, &o.v, 0);
        } else {
            rc = mdb_del(txn, dbi, &o.k, NULL);
            rc = rc == MDB_NOTFOUND ? 0 : rc; /* deletes are idempotent */
        }
        if (rc) {
            diag_set(d, "entry", 0, "byte %zu: op %u of %u (%s in %s): %s", at, i + 1, nops,
                     o.op == ZR_OP_PUT ? "put" : "delete", db_name(o.db), mdb_strerror(rc));
            return zs_mdb_err(rc);
        }
    }
    return 0;
}

/* ---- snapshot, clear, compare ---- */

int zr_snapshot(zs_store_t *s, MDB_txn *txn, size_t chunk, zr_out_cb out, void *arg)
{
    ebuf_t b = {0};
    MDB_cursor *c = NULL;
    int err = 0;
    eb_reset(&b);
    for (unsigned db = 0; db < ZR_DB_COUNT && !err; db++) {
        MDB_dbi dbi;
        if (!db_get(s, db, &dbi)) {
            continue;
        }
        int rc = mdb_cursor_open(txn, dbi, &c);
        if (rc) {
            err = zs_mdb_err(rc);
            break;
        }
        MDB_val k, v;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (db == ZR_DB_META && zr_meta_local(k.mv_data, k.mv_size)) {
                continue;
            }
            if (b.nops > 0 && b.len + op_size(k.mv_size, v.mv_size) > chunk) {
                size_t n;
                const uint8_t *e = eb_get(&b, &n);
                if ((err = out(arg, e, n)) != 0) {
                    break;
                }
                eb_reset(&b);
            }
            eb_op(&b, ZR_OP_PUT, db, &k, &v);
        }
        mdb_cursor_close(c);
        c = NULL;
        if (!err && rc != MDB_NOTFOUND) {
            err = zs_mdb_err(rc);
        }
    }
    if (!err && b.nops > 0) {
        size_t n;
        const uint8_t *e = eb_get(&b, &n);
        err = out(arg, e, n);
    }
    free(b.buf);
    return err;
}

int zr_clear(zs_store_t *s, MDB_txn *txn)
{
    for (unsigned db = 0; db < ZR_DB_COUNT; db++) {
        MDB_dbi dbi;
        if (!db_get(s, db, &dbi)) {
            continue;
        }
        if (db != ZR_DB_META) {
            int rc = mdb_drop(txn, dbi, 0); /* empty it, keep the handle */
            if (rc) {
                return zs_mdb_err(rc);
            }
            continue;
        }
        MDB_cursor *c;
        int rc = mdb_cursor_open(txn, dbi, &c);
        if (rc) {
            return zs_mdb_err(rc);
        }
        MDB_val k, v;
        rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        while (rc == 0) {
            if (zr_meta_local(k.mv_data, k.mv_size)) {
                rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
                continue;
            }
            /* seek past the deleted key rather than MDB_GET_CURRENT, which
             * fails once the delete empties the database */
            uint8_t kb[ZR_KEY_MAX];
            size_t kl = k.mv_size < sizeof(kb) ? k.mv_size : sizeof(kb);
            memcpy(kb, k.mv_data, kl);
            if ((rc = mdb_cursor_del(c, 0)) != 0) {
                break;
            }
            k.mv_size = kl;
            k.mv_data = kb;
            rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        }
        mdb_cursor_close(c);
        if (rc != MDB_NOTFOUND) {
            return zs_mdb_err(rc);
        }
    }
    return 0;
}

/* Move cursor @p c (NULL: an absent sub-database) to its next replicated key. */
static int cmp_next(MDB_cursor *c, unsigned db, MDB_cursor_op op, MDB_val *k, MDB_val *v)
{
    if (!c) {
        return MDB_NOTFOUND;
    }
    int rc = mdb_cursor_get(c, k, v, op);
    while (rc == 0 && db == ZR_DB_META && zr_meta_local(k->mv_data, k->mv_size)) {
        rc = mdb_cursor_get(c, k, v, MDB_NEXT);
    }
    return rc;
}

/* LMDB's default key order: bytes as unsigned, a prefix first */
static int key_cmp(const MDB_val *a, const MDB_val *b)
{
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    int c = n ? memcmp(a->mv_data, b->mv_data, n) : 0;
    return c ? c : a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

static void differ(diag_t *d, unsigned db, const MDB_val *k, const char *what)
{
    char hx[2 * ZR_KEY_MAX + 1] = "";
    const uint8_t *p = k->mv_data;
    for (size_t i = 0; i < k->mv_size && i < ZR_KEY_MAX; i++) {
        snprintf(hx + 2 * i, 3, "%02x", p[i]);
    }
    diag_set(d, db_name(db), 0, "key %s %s", hx, what);
}

/* Compare sub-database @p db of two stores with cursors @p ca and @p cb (NULL: absent). */
static int compare_db(unsigned db, MDB_cursor *ca, MDB_cursor *cb, diag_t *d)
{
    MDB_val ka, va, kb, vb;
    int ra = cmp_next(ca, db, MDB_FIRST, &ka, &va);
    int rb = cmp_next(cb, db, MDB_FIRST, &kb, &vb);
    while (ra == 0 && rb == 0) {
        int c = key_cmp(&ka, &kb);
        if (c != 0) {
            differ(d, db, c < 0 ? &ka : &kb, c < 0 ? "only in the first" : "only in the second");
            return 1;
        }
        if (va.mv_size != vb.mv_size || memcmp(va.mv_data, vb.mv_data, va.mv_size) != 0) {
            differ(d, db, &ka, "has different values");
            return 1;
        }
        ra = cmp_next(ca, db, MDB_NEXT, &ka, &va);
        rb = cmp_next(cb, db, MDB_NEXT, &kb, &vb);
    }
    if (ra != 0 && ra != MDB_NOTFOUND) {
        return zs_mdb_err(ra);
    }
    if (rb != 0 && rb != MDB_NOTFOUND) {
        return zs_mdb_err(rb);
    }
    if (ra == 0 || rb == 0) {
        differ(d, db, ra == 0 ? &ka : &kb, ra == 0 ? "only in the first" : "only in the second");
        return 1;
    }
    return 0;
}

int zr_compare(zs_store_t *a, MDB_txn *ta, zs_store_t *b, MDB_txn *tb, diag_t *d)
{
    int res = 0;
    for (unsigned db = 0; db < ZR_DB_COUNT && res == 0; db++) {
        MDB_dbi h;
        MDB_cursor *ca = NULL, *cb = NULL;
        int rc = 0;
        if (db_get(a, db, &h)) {
            rc = mdb_cursor_open(ta, h, &ca);
        }
        if (rc == 0 && db_get(b, db, &h)) {
            rc = mdb_cursor_open(tb, h, &cb);
        }
        res = rc ? zs_mdb_err(rc) : compare_db(db, ca, cb, d);
        if (ca) {
            mdb_cursor_close(ca);
        }
        if (cb) {
            mdb_cursor_close(cb);
        }
    }
    return res;
}
