/* SPDX-License-Identifier: MIT */
/*
 * dnssec_zone.c -- DNSSEC operations on a whole zone, each inside the
 * caller's writer txn (declared in dnssec.h): enable (policy, keys, DNSKEY
 * / CDS / CDNSKEY, every RRset signed), disable (everything stripped),
 * publishing the key RRsets after a key state change, and one re-sign
 * batch. Called by dnsctl (`dnssec enable|disable`), the rollover code
 * (zones/dnssec_roll.c) and dnsd's orchestration timer. A module of its
 * own because it edits through the writer, which itself includes
 * dnssec.h to sign what a txn changed. Slow path; never logs key bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/dnssec.h"
#include "zones/writer.h"

static void zone_str(const zw_zone_t *z, char *buf, size_t cap)
{
    dname_to_str(z->apex, buf, cap);
}

static zd_zone_t zd_of(const zw_zone_t *z)
{
    return (zd_zone_t){.id = z->id, .apex = z->apex, .apex_labels = z->apex_labels};
}

/* One wanted record set: rdata as (u16 len | rdata) entries. */
struct want {
    uint16_t type;
    uint8_t buf[ZS_RRSET_SIG_MAX * 4 * (4 + ZD_PUB_MAX + 2)];
    size_t len;
    uint16_t count;
};

static void want_add(struct want *w, const uint8_t *rd, size_t rl)
{
    if (w->len + 2 + rl > sizeof(w->buf)) {
        return; /* cannot happen: more keys than a zone may have are refused first */
    }
    zs_put16(w->buf + w->len, (uint16_t)rl);
    memcpy(w->buf + w->len + 2, rd, rl);
    w->len += 2 + rl;
    w->count++;
}

/* Does the stored RRset hold exactly the wanted records with TTL @p ttl? */
static bool same_set(const zs_rrset_t *rr, const struct want *w, uint32_t ttl)
{
    if (rr->ttl != ttl || rr->count != w->count) {
        return false;
    }
    size_t off = 0;
    for (unsigned i = 0; i < w->count; i++) {
        size_t rl = zs_get16(w->buf + off);
        bool found = false;
        size_t o2 = 0;
        for (unsigned j = 0; j < rr->count && !found; j++) {
            size_t l2 = zs_get16(rr->rdata + o2);
            found = l2 == rl && memcmp(rr->rdata + o2 + 2, w->buf + off + 2, rl) == 0;
            o2 += 2 + l2;
        }
        if (!found) {
            return false;
        }
        off += 2 + rl;
    }
    return true;
}

/* Do @p rr's signatures come from exactly the keys of @p ks that sign the
 * apex key RRsets (zd_key_signs_dnskey(), by tag)? A set whose records are
 * right but whose signers changed (a KSK began or stopped signing) must be
 * written again, so that the commit signs it with the new set. */
static bool signed_by(const zs_rrset_t *rr, const zd_key_t *ks, size_t n)
{
    size_t want = 0;
    for (size_t i = 0; i < n; i++) {
        if (!zd_key_signs_dnskey(&ks[i])) {
            continue;
        }
        want++;
        bool found = false;
        size_t off = 0;
        for (unsigned j = 0; j < rr->nsig && !found; j++) {
            size_t sl = zs_get16(rr->sigs + off);
            /* RRSIG rdata: type(2) alg(1) labels(1) ttl(4) exp(4) inc(4) tag(2) */
            found = sl >= 18 && zs_get16(rr->sigs + off + 2 + 16) == ks[i].tag &&
                    rr->sigs[off + 2 + 2] == ks[i].alg;
            off += 2 + sl;
        }
        if (!found) {
            return false;
        }
    }
    return rr->nsig == want;
}

int zd_zone_publish_keys(struct zw *w, const struct zw_zone *z, diag_t *d)
{
    char zn[1024];
    zone_str(z, zn, sizeof(zn));
    zd_key_t *ks = NULL;
    size_t n = 0;
    int err = zd_keys_list(w->s, w->txn, z->id, &ks, &n);
    if (err) {
        diag_set(d, "", 0, "zone %s: cannot read its DNSSEC keys: %s", zn, dnsd_strerror(err));
        return err;
    }
    zs_rrset_t soa;
    if ((err = zw_rrset_get(w->s, w->txn, z, z->apex, DNS_T_SOA, ZS_REGION_DEFAULT, &soa)) != 0) {
        diag_set(d, "", 0, "zone %s has no SOA: %s", zn, dnsd_strerror(err));
        goto out;
    }
    uint32_t ttl = soa.ttl;
    struct want *ws = xcalloc(3, sizeof(*ws));
    ws[0].type = DNS_T_DNSKEY;
    ws[1].type = DNS_T_CDNSKEY;
    ws[2].type = DNS_T_CDS;
    size_t nin = 0;
    for (size_t i = 0; i < n; i++) {
        if (!zd_key_in_dnskey(&ks[i])) {
            continue;
        }
        if (++nin > ZS_RRSET_SIG_MAX) {
            diag_set(d, "", 0, "zone %s: more than %u keys in its DNSKEY set", zn,
                     ZS_RRSET_SIG_MAX);
            err = DNSD_ELIMIT;
            break;
        }
        uint8_t rd[4 + ZD_PUB_MAX], ds[64];
        size_t rl = zd_dnskey_rdata(&ks[i], rd);
        want_add(&ws[0], rd, rl);
        bool cds = (ks[i].role & ZD_ROLE_KSK) &&
                   (ks[i].state == ZD_KS_PUBLISHED || ks[i].state == ZD_KS_ACTIVE);
        if (cds) {
            want_add(&ws[1], rd, rl);
            size_t dl = zd_ds_rdata(&ks[i], z->apex, ds);
            if (dl == 0) {
                err = DNSD_ECRYPTO;
                break;
            }
            want_add(&ws[2], ds, dl);
        }
    }
    for (int t = 0; t < 3 && !err; t++) {
        zs_rrset_t cur;
        int g = zw_rrset_get(w->s, w->txn, z, z->apex, ws[t].type, ZS_REGION_DEFAULT, &cur);
        if (g == 0 && same_set(&cur, &ws[t], ttl) &&
            (!(z->flags & ZS_ZONE_F_SIGNED) || signed_by(&cur, ks, n))) {
            continue; /* already right and signed by the right keys: no change */
        }
        if (g != 0 && g != DNSD_ENOTFOUND) {
            err = g;
            break;
        }
        if (g == 0) {
            err = zw_rr_del(w, z, z->apex, ws[t].type, ZS_REGION_DEFAULT, NULL, 0);
        }
        size_t off = 0;
        bool was = w->keys;
        w->keys = true; /* the key records: ours to write (writer.h) */
        for (unsigned i = 0; i < ws[t].count && !err; i++) {
            uint16_t rl = zs_get16(ws[t].buf + off);
            err = zw_rr_add(w, z, z->apex, ws[t].type, ZS_REGION_DEFAULT, ttl,
                            ws[t].buf + off + 2, rl);
            off += 2u + rl;
        }
        w->keys = was;
        if (err) {
            diag_set(d, "", 0, "zone %s: cannot write its key records: %s", zn,
                     dnsd_strerror(err));
        }
    }
    free(ws);
out:
    if (ks) {
        OPENSSL_cleanse(ks, n * sizeof(*ks));
    }
    free(ks);
    return err;
}

/* Generate a key of @p role for zone @p z as policy @p p says, ACTIVE from now, and store it. */
static int new_key(zw_t *w, const zw_zone_t *z, const zd_policy_t *p, uint8_t role, uint64_t now,
                   diag_t *d)
{
    zd_key_t k;
    int err = zd_key_generate(p->alg, role, &k, d);
    if (!err) {
        k.zone_id = z->id;
        k.state = ZD_KS_ACTIVE;
        k.created = k.published = k.active = now;
        err = zd_key_next_id(w->s, w->txn, z->id, &k.id);
    }
    if (!err) {
        err = zd_key_put(w->s, w->txn, &k);
    }
    OPENSSL_cleanse(&k, sizeof(k));
    return err;
}

/* Stored RRSIG/NSEC/NSEC3/NSEC3PARAM RRsets (data from an unsigned past:
 * an import of a signed file, a transfer): dnsd makes those itself once
 * the zone is signed, so they must go first. 1 at the first, its owner
 * kept. */
struct foreign_sig {
    uint8_t owner[DNAME_MAXLEN + 1];
    uint16_t type;
};

static int foreign_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    struct foreign_sig *f = arg;
    if (rr->type == DNS_T_RRSIG || rr->type == DNS_T_NSEC || rr->type == DNS_T_NSEC3 ||
        rr->type == DNS_T_NSEC3PARAM) {
        memcpy(f->owner, owner, (size_t)dname_wire_len(owner, DNAME_MAXLEN + 1));
        f->type = rr->type;
        return 1;
    }
    return 0;
}

int zd_zone_enable(struct zw *w, struct zw_zone *z, const zd_policy_t *p, diag_t *d)
{
    char zn[1024];
    zone_str(z, zn, sizeof(zn));
    zw_zone_t now_z;
    int err = zw_zone_get(w->s, w->txn, z->apex, &now_z);
    if (err) {
        return err;
    }
    z->flags = now_z.flags;
    if (z->flags & ZS_ZONE_F_SIGNED) {
        diag_set(d, "", 0, "zone %s is signed already (see `dnsctl dnssec status`)", zn);
        return DNSD_EEXIST;
    }
    if (z->flags & ZS_ZONE_F_SECONDARY) {
        diag_set(d, "", 0,
                 "zone %s is a secondary zone: its default view is the primary's, sign it there",
                 zn);
        return DNSD_ESECONDARY;
    }
    zd_key_t *old;
    size_t nold;
    if ((err = zd_keys_list(w->s, w->txn, z->id, &old, &nold)) != 0) {
        return err;
    }
    free(old);
    if (nold > 0) {
        diag_set(d, "", 0, "zone %s is not signed but has DNSSEC keys in the store", zn);
        return DNSD_EEXIST;
    }
    struct foreign_sig f;
    err = zw_foreach_rrset(w->s, w->txn, z, foreign_cb, &f);
    if (err == 1) {
        char on[1024];
        dname_to_str(f.owner, on, sizeof(on));
        const rrtype_t *rt = rrtype_get(f.type);
        diag_set(d, "", 0,
                 "zone %s holds %s records as data (at %s): dnsd makes its DNSSEC records "
                 "itself; delete them first (dnsctl record del %s %s %s)",
                 zn, rt ? rt->name : "DNSSEC", on, zn, on, rt ? rt->name : "");
        return DNSD_EDNSSEC;
    }
    if (err) {
        return err;
    }
    zd_policy_t pol;
    if (p) {
        pol = *p;
    } else {
        zd_policy_default(&pol);
    }
    if ((err = zd_policy_put(w->s, w->txn, z->id, &pol)) != 0) {
        diag_set(d, "policy", 0, "zone %s: a policy value is out of range", zn);
        return err;
    }
    uint64_t now = (uint64_t)time(NULL);
    if (pol.split) {
        err = new_key(w, z, &pol, ZD_ROLE_KSK, now, d);
        if (!err) {
            err = new_key(w, z, &pol, ZD_ROLE_ZSK, now, d);
        }
    } else {
        err = new_key(w, z, &pol, ZD_ROLE_CSK, now, d);
    }
    if (err) {
        return err;
    }
    if ((err = zd_zone_publish_keys(w, z, d)) != 0) {
        return err;
    }
    if ((err = zw_zone_set_flags(w, z, ZS_ZONE_F_SIGNED, 0)) != 0) {
        return err;
    }
    zd_zone_t zz = zd_of(z);
    zz.progress = w->progress;
    zz.progress_arg = w->progress_arg;
    return zd_sign_all(w->s, w->txn, &zz, false, now, NULL, d);
}

int zd_zone_disable(struct zw *w, struct zw_zone *z, diag_t *d)
{
    char zn[1024];
    zone_str(z, zn, sizeof(zn));
    zw_zone_t now_z;
    int err = zw_zone_get(w->s, w->txn, z->apex, &now_z);
    if (err) {
        return err;
    }
    z->flags = now_z.flags;
    if (!(z->flags & ZS_ZONE_F_SIGNED)) {
        diag_set(d, "", 0, "zone %s is not signed", zn);
        return DNSD_ENOTFOUND;
    }
    const uint16_t types[] = {DNS_T_DNSKEY, DNS_T_CDS, DNS_T_CDNSKEY};
    for (size_t i = 0; i < 3; i++) {
        err = zw_rr_del(w, z, z->apex, types[i], ZS_REGION_DEFAULT, NULL, 0);
        if (err && err != DNSD_ENOTFOUND) {
            return err;
        }
    }
    if ((err = zw_zone_set_flags(w, z, 0, ZS_ZONE_F_SIGNED)) != 0 || (err = zw_touch(w, z)) != 0) {
        return err;
    }
    zd_zone_t zz = zd_of(z);
    if ((err = zd_sign_all(w->s, w->txn, &zz, true, (uint64_t)time(NULL), NULL, d)) != 0) {
        return err;
    }
    return zd_zone_drop(w->s, w->txn, z->id);
}

int zd_zone_resign(struct zw *w, const struct zw_zone *z, uint64_t now, size_t max, bool *more,
                   diag_t *d)
{
    *more = false;
    zw_zone_t now_z;
    int err = zw_zone_get(w->s, w->txn, z->apex, &now_z);
    if (err) {
        return err;
    }
    if (!(now_z.flags & ZS_ZONE_F_SIGNED)) {
        return 0; /* nothing to re-sign */
    }
    zd_zone_t zz = zd_of(z);
    return zd_resign_some(w->s, w->txn, &zz, now, max, NULL, more, d);
}
