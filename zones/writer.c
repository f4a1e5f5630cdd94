/* SPDX-License-Identifier: MIT */
/*
 * writer.c -- edits to the store, each inside the caller's one write txn
 * (see writer.h). Slow path: dnsctl, zone import, later the orchestration
 * thread. Never called by a query worker.
 */
#include "zones/writer.h"

#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/regions.h"

#define T_CNAME 5
#define T_SOA   6
#define T_NS    2
#define T_RRSIG 46
#define T_NSEC  47

#define RRSET_VALUE_MAX 65000 /* an RRset larger than this can never be sent */

int zw_begin(zs_store_t *s, zw_t *w)
{
    w->s = s;
    w->txn = NULL;
    return zs_write_begin(s, &w->txn); /* through the map gate (store.h) */
}

int zw_commit(zw_t *w)
{
    int err = zs_meta_bump(w->s, w->txn, ZS_META_GENERATION);
    if (err) {
        zw_abort(w);
        return err;
    }
    err = zs_write_commit(w->s, w->txn);
    w->txn = NULL;
    return err;
}

void zw_abort(zw_t *w)
{
    if (w->txn) {
        zs_write_abort(w->s, w->txn);
        w->txn = NULL;
    }
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
    if ((rc = mdb_put(w->txn, w->s->meta, &mk, &mv, 0)) != 0) {
        return zs_mdb_err(rc);
    }
    uint8_t zb[ZS_ZONE_HDR + DNAME_MAXLEN + 1];
    zs_put32(zb, id);
    zb[4] = 0;
    zb[5] = (uint8_t)len;
    memcpy(zb + ZS_ZONE_HDR, lower, (size_t)len);
    val.mv_size = ZS_ZONE_HDR + (size_t)len;
    val.mv_data = zb;
    if ((rc = mdb_put(w->txn, w->s->zones, &key, &val, MDB_NOOVERWRITE)) != 0) {
        return zs_mdb_err(rc);
    }
    out->id = id;
    memcpy(out->apex, lower, (size_t)len);
    out->apex_len = len;
    out->apex_labels = k.nlabels;
    out->flags = 0;
    return 0;
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
    val.mv_data = buf;
    return zs_mdb_err(mdb_put(w->txn, w->s->zones, &key, &val, 0));
}

/* Delete keys starting with @p prefix; @p keep decides per key (NULL: delete all). */
static int delete_range(zw_t *w, const uint8_t *prefix, size_t plen,
                        bool (*del)(const MDB_val *k, void *arg), void *arg, unsigned *count)
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
            /* seek past the deleted key rather than MDB_GET_CURRENT, which
             * fails with EINVAL once the delete empties the database */
            uint8_t kc[ZS_RRKEY_MAX];
            size_t kl = key.mv_size < sizeof(kc) ? key.mv_size : sizeof(kc);
            memcpy(kc, key.mv_data, kl);
            if ((rc = mdb_cursor_del(c, 0)) != 0) {
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
    int err = delete_range(w, idb, 4, NULL, NULL, NULL);
    if (err) {
        return err;
    }
    dname_key_t k;
    if (dname_key_build(z->apex, &k) != 0) {
        return DNSD_ELIMIT;
    }
    MDB_val key = {k.len, k.key};
    return zs_mdb_err(mdb_del(w->txn, w->s->zones, &key, NULL));
}

static bool region_is(const MDB_val *k, void *arg)
{
    const uint8_t *kb = k->mv_data;
    return k->mv_size >= 9 && zs_get16(kb + k->mv_size - 2) == *(uint16_t *)arg;
}

int zw_zone_clear(zw_t *w, const zw_zone_t *z, uint16_t region, bool all_regions)
{
    uint8_t idb[4];
    zs_put32(idb, z->id);
    return delete_range(w, idb, 4, all_regions ? NULL : region_is, &region, NULL);
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
    val.mv_size = o;
    val.mv_data = nv;
    rc = mdb_put(w->txn, w->s->rrsets, &key, &val, 0);
    free(nv);
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
    uint8_t kb[ZS_RRKEY_MAX];
    if (type == 0) {
        struct del_arg a = {region, zs_owner_prefix(z->id, &k, z->apex_labels, kb)};
        kb[a.plen] = 0;
        unsigned n = 0;
        err = delete_range(w, kb, a.plen + 1, owner_region_is, &a, &n);
        return err ? err : n ? 0 : DNSD_ENOTFOUND;
    }
    MDB_val key = {zs_rrset_key(z->id, &k, z->apex_labels, type, region, kb), kb}, val;
    int rc = mdb_get(w->txn, w->s->rrsets, &key, &val);
    if (rc) {
        return zs_mdb_err(rc);
    }
    if (!rdata) {
        return zs_mdb_err(mdb_del(w->txn, w->s->rrsets, &key, NULL));
    }
    zs_rrset_t old;
    if (!zs_rrset_decode(val.mv_data, val.mv_size, type, &old)) {
        return DNSD_ESTORE;
    }
    uint8_t *nv = xmalloc(val.mv_size);
    memcpy(nv, val.mv_data, ZS_RRSET_HDR);
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
    if (!found) {
        rc = MDB_NOTFOUND;
    } else if (kept == 0) {
        rc = mdb_del(w->txn, w->s->rrsets, &key, NULL);
    } else {
        zs_put16(nv + 6, (uint16_t)kept);
        val.mv_size = o;
        val.mv_data = nv;
        rc = mdb_put(w->txn, w->s->rrsets, &key, &val, 0);
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

/* Type mnemonics for messages (the writer does not link ldns; others print as TYPEnnn). */
static const char *type_name(uint16_t type, char *buf, size_t cap)
{
    static const struct {
        uint16_t type;
        const char *name;
    } names[] = {
        {1, "A"},        {2, "NS"},      {5, "CNAME"},   {6, "SOA"},     {12, "PTR"},
        {13, "HINFO"},   {15, "MX"},     {16, "TXT"},    {28, "AAAA"},   {29, "LOC"},
        {33, "SRV"},     {35, "NAPTR"},  {39, "DNAME"},  {43, "DS"},     {44, "SSHFP"},
        {46, "RRSIG"},   {47, "NSEC"},   {48, "DNSKEY"}, {50, "NSEC3"},  {51, "NSEC3PARAM"},
        {52, "TLSA"},    {59, "CDS"},    {60, "CDNSKEY"}, {61, "OPENPGPKEY"}, {64, "SVCB"},
        {65, "HTTPS"},   {99, "SPF"},    {256, "URI"},   {257, "CAA"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].type == type) {
            return names[i].name;
        }
    }
    snprintf(buf, cap, "TYPE%u", type);
    return buf;
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

struct owner_types {
    uint8_t owner[DNAME_MAXLEN + 1];
    int n;
    struct {
        uint16_t type, region, count;
    } t[ZS_NODE_MAX * 4];
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
        cname = cname || o->t[i].type == T_CNAME;
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
            if (!in_chain(c, nc, o->t[i].region) || t == T_RRSIG || t == T_NSEC) {
                continue;
            }
            if (t == T_CNAME) {
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

static int check_owner(const zw_zone_t *z, const struct chains *ch, struct owner_types *o,
                       diag_t *d)
{
    char name[1024], rb[16];
    bool apex = dname_eq(o->owner, z->apex);
    owner_str(o->owner, name, sizeof(name));
    int soa = 0, ns = 0;
    for (int i = 0; i < o->n; i++) {
        if (o->t[i].type == T_SOA) {
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
        if (o->t[i].type == T_NS && apex) {
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
        if (o->t[i].type != T_CNAME) {
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
    if (err == DNSD_ESTORE) {
        diag_set(d, "", 0, "damaged value in the store");
    }
    free(c.o);
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
    key->mv_size = zs_rrset_key(z->id, &k, z->apex_labels, T_SOA, ZS_REGION_DEFAULT, kb);
    key->mv_data = kb;
    int rc = mdb_get(txn, s->rrsets, key, val);
    if (rc) {
        return rc == MDB_NOTFOUND ? DNSD_EAPEX : zs_mdb_err(rc);
    }
    zs_rrset_t rr;
    if (!zs_rrset_decode(val->mv_data, val->mv_size, T_SOA, &rr)) {
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

int zw_soa_bump(zw_t *w, const zw_zone_t *z, bool set, uint32_t serial, uint32_t *out)
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
    uint32_t ns = set ? serial : zs_get32(nv + off) + 1u; /* RFC 1982: wraps mod 2^32 */
    zs_put32(nv + off, ns);
    val.mv_data = nv;
    int rc = mdb_put(w->txn, w->s->rrsets, &key, &val, 0);
    free(nv);
    if (!rc && out) {
        *out = ns;
    }
    return zs_mdb_err(rc);
}

/* ---- iteration ---- */

int zw_foreach_rrset(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, zw_rrset_cb cb, void *arg)
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
    uint8_t idb[4];
    zs_put32(idb, z->id);
    MDB_val key = {4, idb}, val;
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
        if (key.mv_size < 4 || zs_get32(key.mv_data) != z->id) {
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
