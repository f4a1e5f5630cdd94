/* SPDX-License-Identifier: MIT */
/*
 * upolicy.c -- the update_policy sub-database (see upolicy.h for the layout
 * and the matching rules). Called by dnsctl (`zone policy`), the writer
 * (zone deletion) and zones/update.c. Slow path; never on a query worker.
 */
#include "zones/upolicy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/schema.h"
#include "zones/tsig.h"

static bool rule_ok(const upol_rule_t *r)
{
    if (!(r->flags & (UPOL_F_KEY | UPOL_F_ADDR)) || (r->flags & ~(UPOL_F_KEY | UPOL_F_ADDR))) {
        return false;
    }
    if ((r->flags & UPOL_F_KEY) && dname_wire_len(r->key, sizeof(r->key)) < 2) {
        return false; /* the root is no key name */
    }
    if ((r->flags & UPOL_F_ADDR) &&
        !((r->addr.family == 4 && r->addr.len <= 32) || (r->addr.family == 6 && r->addr.len <= 128))) {
        return false;
    }
    switch (r->match) {
    case UPOL_M_NAME:
    case UPOL_M_SUBDOMAIN:
        if (dname_wire_len(r->name, sizeof(r->name)) < 0) {
            return false;
        }
        break;
    case UPOL_M_PATTERN:
        if (!r->pattern[0] || memchr(r->pattern, 0, sizeof(r->pattern)) == NULL) {
            return false;
        }
        break;
    default:
        return false;
    }
    if (memchr(r->region, 0, sizeof(r->region)) == NULL || r->ntypes > UPOL_TYPES_MAX) {
        return false;
    }
    return true;
}

size_t upol_encode(const upol_rule_t *r, uint8_t *buf, size_t cap)
{
    size_t kl = (r->flags & UPOL_F_KEY) ? (size_t)dname_wire_len(r->key, sizeof(r->key)) : 0;
    size_t wl = r->match == UPOL_M_PATTERN ? strlen(r->pattern)
                                            : (size_t)dname_wire_len(r->name, sizeof(r->name));
    size_t rl = strlen(r->region);
    size_t need = 5 + 16 + 1 + kl + 1 + wl + 1 + rl + 1 + 2 * (size_t)r->ntypes;
    if (need > cap) {
        return 0;
    }
    size_t o = 0;
    buf[o++] = UPOL_FORMAT;
    buf[o++] = r->flags;
    buf[o++] = r->match;
    buf[o++] = (r->flags & UPOL_F_ADDR) ? r->addr.family : 0;
    buf[o++] = (r->flags & UPOL_F_ADDR) ? r->addr.len : 0;
    memset(buf + o, 0, 16);
    if (r->flags & UPOL_F_ADDR) {
        memcpy(buf + o, r->addr.addr, 16);
    }
    o += 16;
    buf[o++] = (uint8_t)kl;
    memcpy(buf + o, r->key, kl);
    o += kl;
    buf[o++] = (uint8_t)wl;
    memcpy(buf + o, r->match == UPOL_M_PATTERN ? (const void *)r->pattern : (const void *)r->name,
           wl);
    o += wl;
    buf[o++] = (uint8_t)rl;
    memcpy(buf + o, r->region, rl);
    o += rl;
    buf[o++] = r->ntypes;
    for (unsigned i = 0; i < r->ntypes; i++) {
        zs_put16(buf + o, r->types[i]);
        o += 2;
    }
    return o;
}

int upol_decode(const uint8_t *v, size_t len, upol_rule_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t o = 0;
    if (len < 5 + 16 + 1 || v[0] != UPOL_FORMAT) {
        return DNSD_ESTORE;
    }
    out->flags = v[1];
    out->match = v[2];
    if (out->flags & UPOL_F_ADDR) {
        out->addr.family = v[3];
        out->addr.len = v[4];
        memcpy(out->addr.addr, v + 5, 16);
    }
    o = 21;
    size_t kl = v[o++];
    if (len - o < kl + 1) {
        return DNSD_ESTORE;
    }
    memcpy(out->key, v + o, kl);
    if ((out->flags & UPOL_F_KEY) ? dname_wire_len(out->key, kl) != (int)kl : kl != 0) {
        return DNSD_ESTORE;
    }
    o += kl;
    size_t wl = v[o++];
    if (len - o < wl + 1) {
        return DNSD_ESTORE;
    }
    if (out->match == UPOL_M_PATTERN) {
        memcpy(out->pattern, v + o, wl);
        if (memchr(out->pattern, 0, wl) != NULL) {
            return DNSD_ESTORE;
        }
    } else {
        memcpy(out->name, v + o, wl);
        if (dname_wire_len(out->name, wl) != (int)wl) {
            return DNSD_ESTORE;
        }
    }
    o += wl;
    size_t rl = v[o++];
    if (rl > ZS_REGION_NAME_MAX || len - o < rl + 1) {
        return DNSD_ESTORE;
    }
    memcpy(out->region, v + o, rl);
    if (memchr(out->region, 0, rl) != NULL) {
        return DNSD_ESTORE;
    }
    o += rl;
    out->ntypes = v[o++];
    if (out->ntypes > UPOL_TYPES_MAX || len - o != 2 * (size_t)out->ntypes) {
        return DNSD_ESTORE;
    }
    for (unsigned i = 0; i < out->ntypes; i++, o += 2) {
        out->types[i] = zs_get16(v + o);
    }
    return rule_ok(out) ? 0 : DNSD_ESTORE;
}

static void rule_key(uint32_t zone_id, uint32_t id, uint8_t *kb)
{
    zs_put32(kb, zone_id);
    zs_put32(kb + 4, id);
}

/* the key-store reference of a zone's rules: "update-policy example.com." (or the id
 * when the name is too long for a label) */
static void ref_label(uint32_t zone_id, const uint8_t *apex, char *out)
{
    char zn[4 * 255 + 2];
    dname_to_str(apex, zn, sizeof(zn));
    if (strlen("update-policy ") + strlen(zn) < TSIG_REF_MAX) {
        snprintf(out, TSIG_REF_MAX, "update-policy %s", zn);
    } else {
        snprintf(out, TSIG_REF_MAX, "update-policy zone-id %u", zone_id);
    }
}

struct key_use {
    const uint8_t *key;
    uint32_t except;
    bool used;
};

static int key_use_cb(const upol_rule_t *r, void *arg)
{
    struct key_use *k = arg;
    if (r->id != k->except && (r->flags & UPOL_F_KEY) && dname_eq(r->key, k->key)) {
        k->used = true;
    }
    return 0;
}

int upol_add(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const uint8_t *apex, upol_rule_t *r)
{
    char label[TSIG_REF_MAX];
    uint8_t kb[8], vb[UPOL_VALUE_MAX];
    MDB_cursor *cur = NULL;
    if (!rule_ok(r)) {
        return DNSD_EMALFORMED;
    }
    size_t vl = upol_encode(r, vb, sizeof(vb));
    if (vl == 0) {
        return DNSD_EMALFORMED;
    }
    /* the next id: one past the zone's last rule (a zone has a handful) */
    int rc = mdb_cursor_open(txn, s->upolicy, &cur);
    if (rc) {
        return zs_mdb_err(rc);
    }
    uint32_t next = 1;
    rule_key(zone_id, 0, kb);
    MDB_val k = {8, kb}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || zs_get32(k.mv_data) != zone_id) {
            break;
        }
        next = zs_get32((const uint8_t *)k.mv_data + 4) + 1;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return zs_mdb_err(rc);
    }
    if (next == 0) {
        return DNSD_ELIMIT;
    }
    r->id = next;
    if (r->flags & UPOL_F_KEY) {
        ref_label(zone_id, apex, label);
        if ((rc = tsig_ref_add(s, txn, r->key, label)) != 0) {
            return rc;
        }
    }
    rule_key(zone_id, next, kb);
    k.mv_size = 8;
    k.mv_data = kb;
    v.mv_size = vl;
    v.mv_data = vb;
    return zs_mdb_err(zs_put(s, txn, s->upolicy, &k, &v, MDB_NOOVERWRITE));
}

int upol_del(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const uint8_t *apex, uint32_t id)
{
    uint8_t kb[8];
    char label[TSIG_REF_MAX];
    upol_rule_t r;
    rule_key(zone_id, id, kb);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn, s->upolicy, &k, &v);
    if (rc) {
        return zs_mdb_err(rc);
    }
    int err = upol_decode(v.mv_data, v.mv_size, &r);
    if (err) {
        return err;
    }
    if ((rc = zs_del(s, txn, s->upolicy, &k)) != 0) {
        return zs_mdb_err(rc);
    }
    if (r.flags & UPOL_F_KEY) {
        /* the zone's reference to the key goes with its last rule naming it */
        struct key_use ku = {r.key, id, false};
        if ((err = upol_foreach(s, txn, zone_id, key_use_cb, &ku)) != 0) {
            return err;
        }
        if (!ku.used) {
            ref_label(zone_id, apex, label);
            return tsig_ref_del(s, txn, r.key, label);
        }
    }
    return 0;
}

struct drop_ref {
    zs_store_t *s;
    MDB_txn *txn;
    const char *label;
};

static int drop_ref_cb(const upol_rule_t *r, void *arg)
{
    const struct drop_ref *a = arg;
    if (r->flags & UPOL_F_KEY) {
        return tsig_ref_del(a->s, a->txn, r->key, a->label);
    }
    return 0;
}

int upol_zone_drop(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const uint8_t *apex)
{
    uint8_t kb[8];
    char label[TSIG_REF_MAX];
    MDB_cursor *cur;
    if (!s->has_upolicy) {
        return 0;
    }
    ref_label(zone_id, apex, label);
    struct drop_ref a = {s, txn, label};
    int rc = upol_foreach(s, txn, zone_id, drop_ref_cb, &a);
    if (rc) {
        return rc;
    }
    rc = mdb_cursor_open(txn, s->upolicy, &cur);
    if (rc) {
        return zs_mdb_err(rc);
    }
    for (;;) {
        rule_key(zone_id, 0, kb);
        MDB_val k = {8, kb}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || k.mv_size < 4 || zs_get32(k.mv_data) != zone_id) {
            break;
        }
        if ((rc = zs_cursor_del(s, cur)) != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
}

int upol_foreach(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, upol_rule_cb cb, void *arg)
{
    uint8_t kb[8];
    MDB_cursor *cur;
    upol_rule_t r;
    if (!s->has_upolicy) {
        return 0;
    }
    int rc = mdb_cursor_open(txn, s->upolicy, &cur);
    if (rc) {
        return zs_mdb_err(rc);
    }
    rule_key(zone_id, 0, kb);
    MDB_val k = {8, kb}, v;
    int err = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || zs_get32(k.mv_data) != zone_id) {
            break;
        }
        if ((err = upol_decode(v.mv_data, v.mv_size, &r)) != 0) {
            break;
        }
        r.id = zs_get32((const uint8_t *)k.mv_data + 4);
        if ((err = cb(&r, arg)) != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    if (!err && rc != 0 && rc != MDB_NOTFOUND) {
        err = zs_mdb_err(rc);
    }
    return err;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, bytes) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

bool upol_who_matches(const upol_rule_t *r, const upol_who_t *who)
{
    if ((r->flags & UPOL_F_KEY) && (!who->key || !dname_eq(r->key, who->key))) {
        return false;
    }
    if (r->flags & UPOL_F_ADDR) {
        const struct sockaddr_storage *ss = &who->addr;
        const uint8_t *a;
        uint8_t fam;
        if (ss->ss_family == AF_INET) {
            a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
            fam = 4;
        } else if (ss->ss_family == AF_INET6) {
            const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
            a = a6->s6_addr;
            fam = 6;
            if (IN6_IS_ADDR_V4MAPPED(a6)) {
                a += 12; /* an IPv4 client on a dual-stack socket */
                fam = 4;
            }
        } else {
            return false;
        }
        if (fam != r->addr.family || !prefix_eq(a, r->addr.addr, r->addr.len)) {
            return false;
        }
    }
    return true;
}

bool upol_covers(const upol_rule_t *r, const uint8_t *owner, uint16_t type)
{
    bool type_ok = r->ntypes == 0;
    for (unsigned i = 0; i < r->ntypes && !type_ok; i++) {
        type_ok = r->types[i] == type;
    }
    if (!type_ok) {
        return false;
    }
    switch (r->match) {
    case UPOL_M_NAME:
        return dname_eq(owner, r->name);
    case UPOL_M_SUBDOMAIN:
        return dname_is_sub(owner, r->name);
    case UPOL_M_PATTERN: {
        char text[4 * 255 + 2];
        dname_to_str(owner, text, sizeof(text));
        for (char *p = text; *p; p++) {
            if (*p >= 'A' && *p <= 'Z') {
                *p = (char)(*p - 'A' + 'a');
            }
        }
        return fnmatch(r->pattern, text, FNM_NOESCAPE) == 0;
    }
    default:
        return false;
    }
}
