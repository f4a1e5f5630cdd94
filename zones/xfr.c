/* SPDX-License-Identifier: MIT */
/*
 * xfr.c -- outgoing AXFR/IXFR answers as a stream of messages (see xfr.h).
 * Called by dnsd's transfer threads and tests; never by a query worker.
 * It reads the store through the caller's read txn only and never writes.
 *
 * DESIGN. A transfer is a sequence of records made by a producer that
 * keeps its place between messages: for AXFR an LMDB cursor on the zone's
 * rrsets (the RRset being sent and the offset of its next record), for
 * IXFR the journal entries zj_changes() handed out (pointers into the
 * map: the caller's txn keeps them valid) and the offset in the current
 * entry. xfr_out_next() fills one message with records until the next one
 * does not fit; that record stays pending and opens the next message. So
 * memory is bounded whatever the zone's size: the cursor, one message,
 * the compression table, and for IXFR one zj_entry_t per journal entry in
 * the range (bounded by the journal's retention).
 *
 * Compression: a hash table (per transfer, reset per message by a
 * generation number) maps each name suffix already written at an offset
 * below 16 KiB to that offset. A name is written as its labels up to the
 * longest suffix found, then a pointer. A candidate is verified against
 * the bytes of the message (following its pointers), so a hash collision
 * never produces a wrong pointer, and only byte-identical names are
 * pointed at (stored case is kept). Entries made while writing a record
 * that then does not fit are removed again (an undo log, newest first,
 * which restores linear probing exactly).
 */
#include "zones/xfr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/names.h"
#include "zones/rrtype.h"
#include "zones/schema.h"

#define COMP_SLOTS 16384u  /* power of two; at most COMP_FILL used per message */
#define COMP_FILL  8192u
#define UNDO_MAX   (3u * (DNAME_MAXLABELS + 1u)) /* owner + up to two rdata names */
#define EDNS_SIZE  1232u   /* the payload size our OPT advertises */
#define OPT_LEN    11u

enum { S_FIRST = 0, S_BODY, S_LAST, S_END };

typedef struct comp_ent {
    uint32_t hash;
    uint16_t off;
    uint16_t gen;
} comp_ent_t;

typedef struct xfr_comp {
    comp_ent_t e[COMP_SLOTS];
    uint16_t gen;
    unsigned used;
    unsigned undo[UNDO_MAX];
    unsigned nundo;
} xfr_comp_t;

/* one IXFR difference: old SOA of entry @p a, then entry @p b's records */
typedef struct ix_unit {
    size_t a, b;
} ix_unit_t;

struct xfr_ixfr {
    zj_entry_t *e;
    size_t n, cap;
    ix_unit_t *u;
    size_t nu;
    size_t ui;    /* unit being sent */
    int phase;    /* 0: old SOA of u.a; 1: records of u.b from @p off */
    size_t off;   /* offset in u.b's records */
    unsigned idx; /* index of the next record of u.b */
};

typedef struct xfr_rec rec_t; /* a record to write */

typedef struct mb {
    uint8_t *buf;
    size_t len, cap;
    xfr_comp_t *c;
} mb_t;

/* ---- request parsing (untrusted input) ---- */

int xfr_query_parse(const uint8_t *msg, size_t len, xfr_query_t *q)
{
    memset(q, 0, sizeof(*q));
    if (len < 12) {
        return DNSD_EMALFORMED;
    }
    uint16_t flags = zs_get16(msg + 2);
    unsigned qd = zs_get16(msg + 4), an = zs_get16(msg + 6), ns = zs_get16(msg + 8),
             ar = zs_get16(msg + 10);
    if (flags & 0x8000u) {
        return DNSD_EMALFORMED; /* a response */
    }
    if (((flags >> 11) & 0xFu) != 0) {
        return DNSD_ENOTFOUND; /* not opcode QUERY: not a transfer */
    }
    if (qd != 1) {
        return DNSD_EMALFORMED;
    }
    q->id = zs_get16(msg);
    q->rd = (flags & 0x0100u) != 0;
    int nl = dname_wire_len(msg + 12, len - 12);
    if (nl < 0 || len - 12 - (size_t)nl < 4) {
        return DNSD_EMALFORMED;
    }
    memcpy(q->qname, msg + 12, (size_t)nl);
    q->qname_len = (size_t)nl;
    size_t off = 12 + (size_t)nl;
    q->qtype = zs_get16(msg + off);
    q->qclass = zs_get16(msg + off + 2);
    off += 4;
    if (q->qtype != DNS_T_AXFR && q->qtype != DNS_T_IXFR) {
        return DNSD_ENOTFOUND;
    }
    /* every further record: name, type, class, ttl, rdlen, rdata */
    unsigned total = an + ns + ar;
    for (unsigned i = 0; i < total; i++) {
        size_t owner = off;
        if (!dname_wire_skip(msg, len, &off) || len - off < 10) {
            return DNSD_EMALFORMED;
        }
        uint16_t type = zs_get16(msg + off);
        size_t rl = zs_get16(msg + off + 8);
        off += 10;
        if (len - off < rl) {
            return DNSD_EMALFORMED;
        }
        if (i == an && q->qtype == DNS_T_IXFR) {
            /* the first authority record: the client's SOA (RFC 1995 3) */
            if (type != DNS_T_SOA || rl < 22) {
                return DNSD_EMALFORMED;
            }
            q->serial = zs_get32(msg + off + rl - 20);
            q->has_serial = true;
        }
        if (i >= an + ns && type == DNS_T_OPT) {
            if (msg[owner] != 0 || q->edns) {
                return DNSD_EMALFORMED; /* OPT owner is the root; one OPT (RFC 6891 6.1.1) */
            }
            q->edns = true;
        }
        off += rl;
    }
    if (q->qtype == DNS_T_IXFR && !q->has_serial) {
        return DNSD_EMALFORMED;
    }
    return 0;
}

/* ---- message building ---- */

static uint32_t label_hash(uint32_t h, const uint8_t *lab)
{
    /* FNV-1a over the length byte and the label, seeded with the parent's hash */
    h ^= 0x9e3779b9u;
    for (unsigned i = 0; i <= lab[0]; i++) {
        h ^= lab[i];
        h *= 16777619u;
    }
    return h;
}

/* is the (possibly compressed) name at @p off in the message byte-equal to @p n? */
static bool msg_name_eq(const mb_t *m, size_t off, const uint8_t *n)
{
    for (unsigned hops = 0; hops < 128; hops++) {
        if (off >= m->len) {
            return false;
        }
        uint8_t l = m->buf[off];
        if ((l & 0xC0) == 0xC0) {
            if (off + 2 > m->len) {
                return false;
            }
            size_t to = ((size_t)(l & 0x3F) << 8) | m->buf[off + 1];
            if (to >= off) {
                return false;
            }
            off = to;
            continue;
        }
        if (l != n[0] || off + 1u + l > m->len || memcmp(m->buf + off + 1, n + 1, l) != 0) {
            return false;
        }
        if (l == 0) {
            return true;
        }
        off += 1u + l;
        n += 1u + l;
    }
    return false;
}

static bool comp_find(const mb_t *m, uint32_t h, const uint8_t *n, uint16_t *off)
{
    const xfr_comp_t *c = m->c;
    for (unsigned i = h & (COMP_SLOTS - 1), k = 0; k < COMP_SLOTS; k++) {
        const comp_ent_t *e = &c->e[i];
        if (e->gen != c->gen) {
            return false;
        }
        if (e->hash == h && msg_name_eq(m, e->off, n)) {
            *off = e->off;
            return true;
        }
        i = (i + 1) & (COMP_SLOTS - 1);
    }
    return false;
}

static void comp_add(xfr_comp_t *c, uint32_t h, size_t off)
{
    if (off >= XFR_COMP_MAX || c->used >= COMP_FILL || c->nundo >= UNDO_MAX) {
        return;
    }
    unsigned i = h & (COMP_SLOTS - 1);
    while (c->e[i].gen == c->gen) {
        i = (i + 1) & (COMP_SLOTS - 1);
    }
    c->e[i] = (comp_ent_t){h, (uint16_t)off, c->gen};
    c->used++;
    c->undo[c->nundo++] = i;
}

/* forget the entries made since the last commit point (newest first) */
static void comp_undo(xfr_comp_t *c)
{
    while (c->nundo > 0) {
        c->e[c->undo[--c->nundo]].gen = (uint16_t)(c->gen - 1);
        c->used--;
    }
}

static void comp_reset(xfr_comp_t *c)
{
    c->gen++;
    if (c->gen == 0) {
        memset(c->e, 0, sizeof(c->e));
        c->gen = 1;
    }
    c->used = 0;
    c->nundo = 0;
}

static bool put(mb_t *m, const void *p, size_t n)
{
    if (m->cap - m->len < n) {
        return false;
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
    return true;
}

static bool put16(mb_t *m, uint16_t v)
{
    uint8_t b[2];
    zs_put16(b, v);
    return put(m, b, 2);
}

/* write valid wire name @p n, compressed if @p compress, remembering its suffixes */
static bool put_name(mb_t *m, const uint8_t *n, bool compress)
{
    size_t pos[DNAME_MAXLABELS + 2];
    uint32_t h[DNAME_MAXLABELS + 2];
    unsigned nl = 0;
    size_t o = 0;
    while (n[o] != 0 && nl <= DNAME_MAXLABELS) {
        pos[nl++] = o;
        o += 1u + n[o];
    }
    pos[nl] = o;
    h[nl] = 0;
    for (unsigned i = nl; i-- > 0;) {
        h[i] = label_hash(h[i + 1], n + pos[i]);
    }
    unsigned cut = nl; /* labels written literally: [0, cut) */
    uint16_t ptr = 0;
    if (compress) {
        for (unsigned i = 0; i < nl; i++) {
            if (comp_find(m, h[i], n + pos[i], &ptr)) {
                cut = i;
                break;
            }
        }
    }
    size_t start = m->len;
    if (cut == nl) {
        if (!put(m, n, o + 1)) {
            return false;
        }
    } else if (!put(m, n, pos[cut]) || !put16(m, (uint16_t)(0xC000u | ptr))) {
        return false;
    }
    if (compress) {
        for (unsigned i = 0; i < cut; i++) {
            comp_add(m->c, h[i], start + pos[i]);
        }
    }
    return true;
}

/* write one record; false (message unchanged) when it does not fit */
static bool put_rr(mb_t *m, const rec_t *r)
{
    size_t start = m->len;
    m->c->nundo = 0;
    if (!put_name(m, r->owner, true) || !put16(m, r->type) || !put16(m, 1) ||
        !put16(m, (uint16_t)(r->ttl >> 16)) || !put16(m, (uint16_t)r->ttl) || !put16(m, 0)) {
        goto undo;
    }
    size_t rdl_at = m->len - 2, rd_start = m->len;
    const rrtype_t *t = rrtype_get(r->type);
    if (t && t->compress && t->nnames) {
        /* the shape was checked (zs_rdata_ok) by the caller */
        size_t off = t->name_off;
        if (!put(m, r->rdata, off)) {
            goto undo;
        }
        for (unsigned i = 0; i < t->nnames; i++) {
            int l = dname_wire_len(r->rdata + off, r->rdlen - off);
            if (l < 0 || !put_name(m, r->rdata + off, true)) {
                goto undo;
            }
            off += (size_t)l;
        }
        if (!put(m, r->rdata + off, r->rdlen - off)) {
            goto undo;
        }
    } else if (!put(m, r->rdata, r->rdlen)) {
        goto undo;
    }
    zs_put16(m->buf + rdl_at, (uint16_t)(m->len - rd_start));
    m->c->nundo = 0;
    return true;
undo:
    comp_undo(m->c);
    m->len = start;
    return false;
}

static void put_header(uint8_t *b, const xfr_query_t *q, int rcode, bool aa, unsigned qd,
                       unsigned an, bool edns)
{
    zs_put16(b, q->id);
    uint16_t flags = 0x8000u | (aa ? 0x0400u : 0) | (q->rd ? 0x0100u : 0) | (uint16_t)(rcode & 0xF);
    zs_put16(b + 2, flags);
    zs_put16(b + 4, (uint16_t)qd);
    zs_put16(b + 6, (uint16_t)an);
    zs_put16(b + 8, 0);
    zs_put16(b + 10, edns ? 1 : 0);
}

static void put_opt(uint8_t *b)
{
    b[0] = 0;
    zs_put16(b + 1, DNS_T_OPT);
    zs_put16(b + 3, EDNS_SIZE);
    zs_put32(b + 5, 0);
    zs_put16(b + 9, 0);
}

int xfr_error_msg(const xfr_query_t *q, int rcode, uint8_t *buf, size_t cap, size_t *len)
{
    size_t need = 12 + q->qname_len + 4 + (q->edns ? OPT_LEN : 0);
    if (cap < need || q->qname_len == 0) {
        return DNSD_ESPACE;
    }
    put_header(buf, q, rcode, false, 1, 0, q->edns);
    memcpy(buf + 12, q->qname, q->qname_len);
    zs_put16(buf + 12 + q->qname_len, q->qtype);
    zs_put16(buf + 14 + q->qname_len, q->qclass);
    if (q->edns) {
        put_opt(buf + 16 + q->qname_len);
    }
    *len = need;
    return 0;
}

/* ---- producers ---- */

static rec_t soa_rec(const xfr_out_t *x)
{
    return (rec_t){x->zone.apex, DNS_T_SOA, x->soa_ttl, x->soa_rd, x->soa_rdlen};
}

/* AXFR: the next record of the default view, apex SOA excluded; 1, 0 at the end, or error */
static int axfr_body_next(xfr_out_t *x, rec_t *r)
{
    for (;;) {
        if (x->in_rrset) {
            const uint8_t *rd;
            if (x->roff + 2 <= x->rr.rdata_len) {
                rd = x->rr.rdata + x->roff;
                uint16_t rl = zs_get16(rd);
                x->roff += 2u + rl;
                *r = (rec_t){x->owner, x->rr.type, x->rr.ttl, rd + 2, rl};
                return 1;
            }
            x->in_rrset = false;
        }
        MDB_val key, val;
        int rc;
        if (!x->started) {
            uint8_t idb[4];
            zs_put32(idb, x->zone.id);
            key = (MDB_val){4, idb};
            rc = mdb_cursor_get(x->cur, &key, &val, MDB_SET_RANGE);
            x->started = true;
        } else {
            rc = mdb_cursor_get(x->cur, &key, &val, MDB_NEXT);
        }
        if (rc == MDB_NOTFOUND) {
            return 0;
        }
        if (rc) {
            return zs_mdb_err(rc);
        }
        if (key.mv_size < 4 || zs_get32(key.mv_data) != x->zone.id) {
            return 0;
        }
        uint32_t id;
        const uint8_t *rel;
        size_t rel_len;
        uint16_t type, region;
        if (!zs_rrset_key_split(key.mv_data, key.mv_size, &id, &rel, &rel_len, &type, &region) ||
            x->aklen + rel_len > sizeof(x->full)) {
            return DNSD_ESTORE;
        }
        if (region != ZS_REGION_DEFAULT || (rel_len == 0 && type == DNS_T_SOA)) {
            continue;
        }
        memcpy(x->full + x->aklen, rel, rel_len);
        if (dname_from_key(x->full, x->aklen + rel_len, x->owner) < 0 ||
            !zs_rrset_decode(val.mv_data, val.mv_size, type, &x->rr)) {
            return DNSD_ESTORE;
        }
        x->roff = 0;
        x->in_rrset = true;
    }
}

static bool jr_default(const zj_rr_t *jr)
{
    return jr->region_len == 0;
}

static bool jr_apex_soa(const xfr_out_t *x, const zj_rr_t *jr)
{
    return jr->type == DNS_T_SOA && dname_eq(jr->owner, x->zone.apex);
}

static int jr_rec(const zj_rr_t *jr, rec_t *r)
{
    if (!zs_rdata_ok(jr->type, jr->rdata, jr->rdlen)) {
        return DNSD_ESTORE;
    }
    *r = (rec_t){jr->owner, jr->type, jr->ttl, jr->rdata, jr->rdlen};
    return 1;
}

/* IXFR: the next record of the differences; 1, 0 at the end, or error */
static int ixfr_body_next(xfr_out_t *x, rec_t *r)
{
    struct xfr_ixfr *ix = x->ix;
    while (ix->ui < ix->nu) {
        const ix_unit_t *u = &ix->u[ix->ui];
        zj_rr_t jr;
        if (ix->phase == 0) {
            size_t off = 0;
            zj_rr_t old;
            if (!zj_rr_next(&ix->e[u->a], &off, &old)) {
                return DNSD_ESTORE;
            }
            ix->off = 0;
            if (!zj_rr_next(&ix->e[u->b], &ix->off, &jr)) { /* skip b's own old SOA */
                return DNSD_ESTORE;
            }
            ix->idx = 1;
            ix->phase = 1;
            return jr_rec(&old, r);
        }
        const zj_entry_t *e = &ix->e[u->b];
        while (zj_rr_next(e, &ix->off, &jr)) {
            unsigned i = ix->idx++;
            if (i == 1u + e->ndel) {
                return jr_rec(&jr, r); /* the new SOA */
            }
            if (jr_default(&jr) && !jr_apex_soa(x, &jr)) {
                return jr_rec(&jr, r);
            }
        }
        ix->ui++;
        ix->phase = 0;
    }
    return 0;
}

/* the next record of the answer: 1 and @p r, 0 when all were handed out, or an error */
static int produce(xfr_out_t *x, rec_t *r)
{
    for (;;) {
        switch (x->state) {
        case S_FIRST:
            *r = soa_rec(x);
            x->state = x->kind == XFR_IXFR_UPTODATE ? S_END : S_BODY;
            return 1;
        case S_BODY: {
            int rc = x->ix ? ixfr_body_next(x, r) : axfr_body_next(x, r);
            if (rc != 0) {
                return rc;
            }
            x->state = S_LAST;
            break;
        }
        case S_LAST:
            *r = soa_rec(x);
            x->state = S_END;
            return 1;
        default:
            return 0;
        }
    }
}

static int collect_cb(const zj_entry_t *e, void *arg)
{
    struct xfr_ixfr *ix = arg;
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 16;
        ix->e = xrealloc(ix->e, ix->cap * sizeof(*ix->e));
    }
    ix->e[ix->n++] = *e;
    return 0;
}

/* does entry @p e change a default-view record other than the apex SOA? */
static bool entry_has_default(const xfr_out_t *x, const zj_entry_t *e)
{
    size_t off = 0;
    zj_rr_t jr;
    for (unsigned i = 0; zj_rr_next(e, &off, &jr); i++) {
        if (i != 0 && i != 1u + e->ndel && jr_default(&jr) && !jr_apex_soa(x, &jr)) {
            return true;
        }
    }
    return false;
}

/* the differences, with runs of overlay-only entries folded into the next one */
static void ixfr_units(xfr_out_t *x)
{
    struct xfr_ixfr *ix = x->ix;
    ix->u = xmalloc((ix->n ? ix->n : 1) * sizeof(*ix->u));
    size_t a = 0;
    for (size_t i = 0; i < ix->n; i++) {
        if (entry_has_default(x, &ix->e[i])) {
            ix->u[ix->nu++] = (ix_unit_t){a, i};
            a = i + 1;
        }
    }
    if (a < ix->n) {
        ix->u[ix->nu++] = (ix_unit_t){a, ix->n - 1};
    }
}

int xfr_out_begin(xfr_out_t *x, zs_store_t *s, MDB_txn *txn, const xfr_query_t *q)
{
    int err;
    memset(x, 0, sizeof(*x));
    x->s = s;
    x->txn = txn;
    x->q = *q;
    if (q->qclass != 1 || (q->qtype != DNS_T_AXFR && q->qtype != DNS_T_IXFR) ||
        q->qname_len == 0 || dname_wire_len(q->qname, q->qname_len) != (int)q->qname_len ||
        (q->qtype == DNS_T_IXFR && !q->has_serial)) {
        return DNSD_EMALFORMED;
    }
    if (q->qtype == DNS_T_AXFR && q->udp) {
        return -ENOTSUP;
    }
    if (q->qname_len == 1) {
        return DNSD_ENOZONE; /* the root: no store key can name it (LMDB refuses empty keys) */
    }
    uint8_t apex[DNAME_MAXLEN + 1];
    memcpy(apex, q->qname, q->qname_len);
    dname_lower(apex);
    if ((err = zw_zone_get(s, txn, apex, &x->zone)) != 0) {
        return err;
    }
    zs_rrset_t soa;
    err = zw_rrset_get(s, txn, &x->zone, x->zone.apex, DNS_T_SOA, ZS_REGION_DEFAULT, &soa);
    if (err) {
        return err == DNSD_ENOTFOUND ? DNSD_EAPEX : err;
    }
    /* zs_rrset_decode() checked the SOA's shape: two names and 20 bytes */
    if (soa.count != 1) {
        return DNSD_EAPEX;
    }
    x->soa_rdlen = zs_get16(soa.rdata);
    x->soa_rd = soa.rdata + 2;
    x->soa_ttl = soa.ttl;
    x->serial = zs_get32(x->soa_rd + x->soa_rdlen - 20);

    x->kind = XFR_AXFR;
    if (q->qtype == DNS_T_IXFR) {
        if (q->serial == x->serial || zw_serial_gt(q->serial, x->serial)) {
            x->kind = XFR_IXFR_UPTODATE;
        } else {
            x->ix = xcalloc(1, sizeof(*x->ix));
            err = zj_changes(s, txn, x->zone.id, q->serial, x->serial, collect_cb, x->ix);
            if (err == DNSD_ERANGE || (err == 0 && x->ix->n == 0)) {
                free(x->ix->e);
                free(x->ix);
                x->ix = NULL;
                x->kind = XFR_IXFR_AXFR;
                err = 0;
            } else if (err) {
                goto out;
            } else {
                x->kind = XFR_IXFR;
                ixfr_units(x);
            }
        }
    }
    if (x->kind == XFR_AXFR || x->kind == XFR_IXFR_AXFR) {
        dname_key_t ak;
        if (dname_key_build(x->zone.apex, &ak) != 0) {
            err = DNSD_ELIMIT;
            goto out;
        }
        memcpy(x->full, ak.key, ak.len);
        x->aklen = ak.len;
        int rc = mdb_cursor_open(txn, s->rrsets, &x->cur);
        if (rc) {
            x->cur = NULL;
            err = zs_mdb_err(rc);
            goto out;
        }
    }
    x->comp = xcalloc(1, sizeof(*x->comp));
    x->state = S_FIRST;
out:
    if (err) {
        xfr_out_fini(x);
    }
    return err;
}

int xfr_out_next(xfr_out_t *x, uint8_t *buf, size_t cap, size_t *len)
{
    if (x->state == S_END && !x->has_pending) {
        return -EINVAL;
    }
    if (!x->comp || cap < XFR_MSG_MIN || cap > XFR_MSG_MAX) {
        return -EINVAL;
    }
    bool edns = x->q.edns;
    mb_t m = {buf, 12, cap - (edns ? OPT_LEN : 0), x->comp};
    bool first = x->msgs == 0;
    unsigned an = 0;
    int err = 0;
    comp_reset(m.c);
    if (first) {
        /* the question, echoed in the first message (RFC 5936 2.2.1) */
        if (!put_name(&m, x->q.qname, true) || !put16(&m, x->q.qtype) ||
            !put16(&m, x->q.qclass)) {
            return DNSD_ELIMIT;
        }
    }
    size_t body = m.len;
    for (;;) {
        rec_t r;
        if (x->has_pending) {
            r = x->pending;
        } else {
            int rc = produce(x, &r);
            if (rc < 0) {
                return rc;
            }
            if (rc == 0) {
                break;
            }
        }
        if (!put_rr(&m, &r)) {
            if (an == 0) {
                return DNSD_ELIMIT;
            }
            x->pending = r;
            x->has_pending = true;
            break;
        }
        x->has_pending = false;
        an++;
    }
    bool done = x->state == S_END && !x->has_pending;
    if (x->q.udp && !done) {
        /* RFC 1995 2: it does not fit in one UDP message: the SOA alone */
        m.len = body;
        comp_reset(m.c);
        rec_t soa = soa_rec(x);
        if (!put_rr(&m, &soa)) {
            return DNSD_ELIMIT;
        }
        an = 1;
        x->state = S_END;
        x->has_pending = false;
        done = true;
    }
    put_header(buf, &x->q, 0, true, first ? 1 : 0, an, edns);
    if (edns) {
        put_opt(buf + m.len);
        m.len += OPT_LEN;
    }
    *len = m.len;
    x->msgs++;
    x->rrs += an;
    return done ? 1 : err;
}

void xfr_out_fini(xfr_out_t *x)
{
    if (x->cur) {
        mdb_cursor_close(x->cur);
        x->cur = NULL;
    }
    if (x->ix) {
        free(x->ix->e);
        free(x->ix->u);
        free(x->ix);
        x->ix = NULL;
    }
    free(x->comp);
    x->comp = NULL;
    x->state = S_END;
    x->has_pending = false;
}
