/* SPDX-License-Identifier: MIT */
/*
 * dnssec_roll.c -- the key rollover state machine (see dnssec_roll.h for
 * the design and the RFC 7583 timings). Callers: dnsd/orch.c's DNSSEC
 * timer, dnsctl's `dnssec rollover` and `dnssec ds-seen`. Slow path. Never
 * logs or prints key material (tags only).
 */
#include "zones/dnssec_roll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/rrtype.h"

#define ROLL_GEN_TRIES 16 /* key generations to find a tag no other key of the zone has */

uint64_t zd_roll_ipub(const zd_policy_t *p, const zd_roll_ttls_t *t)
{
    return (uint64_t)p->propagation + t->dnskey_ttl;
}

uint64_t zd_roll_iret_zsk(const zd_policy_t *p, const zd_roll_ttls_t *t)
{
    uint32_t sig = t->max_ttl > t->neg_ttl ? t->max_ttl : t->neg_ttl;
    return (uint64_t)p->propagation + sig;
}

uint64_t zd_roll_iret_ksk(const zd_policy_t *p, const zd_roll_ttls_t *t)
{
    return (uint64_t)p->propagation + t->dnskey_ttl;
}

uint64_t zd_roll_ids(const zd_policy_t *p)
{
    return (uint64_t)p->parent_propagation + p->parent_ds_ttl;
}

static bool in_dnskey(const zd_key_t *k)
{
    return k->state == ZD_KS_PUBLISHED || k->state == ZD_KS_ACTIVE ||
           k->state == ZD_KS_RETIRING;
}

/* is a rollover of @p role under way (a key of exactly that role PUBLISHED or RETIRING)? */
static int busy_idx(const zd_key_t *keys, size_t n, uint8_t role)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i].role == role &&
            (keys[i].state == ZD_KS_PUBLISHED || keys[i].state == ZD_KS_RETIRING)) {
            return (int)i;
        }
    }
    return -1;
}

/* the ACTIVE key of exactly @p role other than @p not (oldest first), or -1 */
static int active_idx(const zd_key_t *keys, size_t n, uint8_t role, int not)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        if ((int)i != not && keys[i].role == role && keys[i].state == ZD_KS_ACTIVE &&
            (best < 0 || keys[i].id < keys[best].id)) {
            best = (int)i;
        }
    }
    return best;
}

static void sooner(uint64_t *next, uint64_t at)
{
    if (at && (*next == 0 || at < *next)) {
        *next = at;
    }
}

void zd_roll_decide(const zd_key_t *keys, size_t n, const zd_policy_t *p,
                    const zd_roll_ttls_t *t, uint64_t now, zd_roll_action_t *a)
{
    memset(a, 0, sizeof(*a));
    a->kind = ZD_ROLL_NONE;
    a->old_idx = a->new_idx = a->wait_ds_idx = -1;
    uint64_t ipub = zd_roll_ipub(p, t), ids = zd_roll_ids(p);
    uint64_t iret_zsk = zd_roll_iret_zsk(p, t), iret_ksk = zd_roll_iret_ksk(p, t);
    /* ids order, so "the first due step" does not depend on the array's order */
    size_t ordbuf[64];
    size_t *ord = n <= 64 ? ordbuf : xmalloc(n * sizeof(*ord));
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        for (; j > 0 && keys[ord[j - 1]].id > keys[i].id; j--) {
            ord[j] = ord[j - 1];
        }
        ord[j] = i;
    }
    for (size_t oi = 0; oi < n && a->kind == ZD_ROLL_NONE; oi++) {
        size_t i = ord[oi];
        const zd_key_t *k = &keys[i];
        if (k->state == ZD_KS_PUBLISHED) {
            /* pre-published: in every cache's DNSKEY RRset after Ipub; a KSK
             * role key also needs its DS at the parent and Ids after that */
            uint64_t ready = k->published + ipub;
            bool ds_wait = false;
            if (k->role & ZD_ROLE_KSK) {
                if (!k->ds_seen) {
                    ds_wait = true;
                    a->wait_ds_idx = (int)i;
                } else if (k->ds_seen + ids > ready) {
                    ready = k->ds_seen + ids;
                }
            }
            if (ds_wait) {
                continue;
            }
            if (now >= ready) {
                a->kind = ZD_ROLL_ACTIVATE;
                a->new_idx = (int)i;
                a->old_idx = active_idx(keys, n, k->role, (int)i);
            } else {
                sooner(&a->next_at, ready);
            }
        } else if (k->state == ZD_KS_RETIRING) {
            /* stays in DNSKEY until nothing cached can need it */
            uint64_t gone = 0;
            bool check = false;
            if (k->role & ZD_ROLE_ZSK) {
                if (!k->removed) {
                    check = true; /* its signatures: are they all replaced? */
                } else {
                    gone = k->removed + iret_zsk;
                }
            }
            if ((k->role & ZD_ROLE_KSK) && k->retired + iret_ksk > gone) {
                gone = k->retired + iret_ksk;
            }
            if (check) {
                a->kind = ZD_ROLL_CHECK_SIGS;
                a->old_idx = (int)i;
            } else if (now >= gone) {
                a->kind = ZD_ROLL_REMOVE;
                a->old_idx = (int)i;
            } else {
                sooner(&a->next_at, gone);
            }
        } else if (k->state == ZD_KS_ACTIVE) {
            uint32_t life = (k->role & ZD_ROLE_KSK) ? p->ksk_lifetime : p->zsk_lifetime;
            if (!life || busy_idx(keys, n, k->role) >= 0 || active_idx(keys, n, k->role,
                                                                       (int)i) >= 0) {
                continue; /* no lifetime, a rollover under way, or two active: wait */
            }
            uint64_t due = (k->active ? k->active : k->published) + life;
            if (k->role == ZD_ROLE_ZSK) {
                /* pre-publish so the successor is ready when the lifetime ends */
                due = due > ipub ? due - ipub : 0;
            }
            if (now >= due) {
                a->kind = ZD_ROLL_START;
                a->old_idx = (int)i;
            } else {
                sooner(&a->next_at, due);
            }
        } else if (k->state == ZD_KS_REMOVED && p->purge_keys) {
            uint64_t due = k->removed + p->purge_keys;
            if (now >= due) {
                a->kind = ZD_ROLL_PURGE;
                a->old_idx = (int)i;
            } else {
                sooner(&a->next_at, due);
            }
        }
    }
    if (ord != ordbuf) {
        free(ord);
    }
}

void zd_roll_apply(zd_key_t *keys, const zd_roll_action_t *a, uint64_t now)
{
    switch (a->kind) {
    case ZD_ROLL_ACTIVATE:
        keys[a->new_idx].state = ZD_KS_ACTIVE;
        keys[a->new_idx].active = now;
        if (a->old_idx >= 0) {
            keys[a->old_idx].state = ZD_KS_RETIRING;
            keys[a->old_idx].retired = now;
            keys[a->old_idx].removed = 0;
        }
        break;
    case ZD_ROLL_CHECK_SIGS:
        keys[a->old_idx].removed = now; /* its last signature left the store */
        break;
    case ZD_ROLL_REMOVE:
        keys[a->old_idx].state = ZD_KS_REMOVED;
        keys[a->old_idx].removed = now;
        break;
    default:
        break;
    }
}

/* ---- the store side ---- */

typedef struct scan {
    uint32_t max_ttl;
    uint8_t alg;
    uint16_t tag;
    bool count;
    uint64_t n;
} scan_t;

static int scan_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    scan_t *sc = arg;
    (void)owner;
    if (rr->ttl > sc->max_ttl) {
        sc->max_ttl = rr->ttl;
    }
    if (!sc->count || rr->nsig == 0 || rr->type == DNS_T_DNSKEY || rr->type == DNS_T_CDS ||
        rr->type == DNS_T_CDNSKEY) {
        return 0;
    }
    /* nsig x (u16 len | RRSIG rdata): algorithm at 2, key tag at 16 */
    const uint8_t *p = rr->sigs, *end = rr->sigs + rr->sigs_len;
    for (unsigned i = 0; i < rr->nsig && end - p >= 2; i++) {
        size_t len = zs_get16(p);
        p += 2;
        if ((size_t)(end - p) < len) {
            break;
        }
        if (len >= 18 && p[2] == sc->alg && zs_get16(p + 16) == sc->tag) {
            sc->n++;
        }
        p += len;
    }
    return 0;
}

int zd_roll_ttls(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, zd_roll_ttls_t *out,
                 uint8_t alg, uint16_t tag, uint64_t *tag_count)
{
    memset(out, 0, sizeof(*out));
    zs_rrset_t soa;
    int err = zw_rrset_get(s, txn, z, z->apex, DNS_T_SOA, ZS_REGION_DEFAULT, &soa);
    if (err) {
        return err;
    }
    /* SOA rdata: mname rname serial refresh retry expire minimum */
    size_t rl = zs_get16(soa.rdata);
    if (rl < 22) {
        return DNSD_ESTORE;
    }
    uint32_t minimum = zs_get32(soa.rdata + 2 + rl - 4);
    out->neg_ttl = soa.ttl < minimum ? soa.ttl : minimum;
    scan_t sc = {.alg = alg, .tag = tag, .count = tag_count != NULL};
    if ((err = zw_foreach_rrset(s, txn, z, scan_cb, &sc)) != 0) {
        return err;
    }
    out->max_ttl = sc.max_ttl;
    zs_rrset_t dk;
    err = zw_rrset_get(s, txn, z, z->apex, DNS_T_DNSKEY, ZS_REGION_DEFAULT, &dk);
    if (err == DNSD_ENOTFOUND) {
        out->dnskey_ttl = sc.max_ttl; /* not published yet: the worst case */
    } else if (err) {
        return err;
    } else {
        out->dnskey_ttl = dk.ttl;
    }
    if (tag_count) {
        *tag_count = sc.n;
    }
    return 0;
}

static const char *role_name(uint8_t role)
{
    return role == ZD_ROLE_CSK ? "CSK" : role == ZD_ROLE_KSK ? "KSK" : "ZSK";
}

/* a successor of @p old: same algorithm and role, a tag no key of the zone has,
 * the zone's next key id (taken in @p w) */
static int make_successor(zw_t *w, const zd_key_t *keys, size_t n, const zd_key_t *old,
                          uint64_t now, zd_key_t *out, diag_t *d)
{
    for (int t = 0; t < ROLL_GEN_TRIES; t++) {
        int err = zd_key_generate(old->alg, old->role, out, d);
        if (err) {
            return err;
        }
        bool clash = false;
        for (size_t i = 0; i < n && !clash; i++) {
            clash = keys[i].tag == out->tag;
        }
        if (clash) {
            continue;
        }
        out->zone_id = old->zone_id;
        if ((err = zd_key_next_id(w->s, w->txn, old->zone_id, &out->id)) != 0) {
            diag_set(d, "", 0, "cannot take a key id: %s", dnsd_strerror(err));
            return err;
        }
        out->state = ZD_KS_PUBLISHED;
        out->created = out->published = now;
        out->active = out->retired = out->removed = out->ds_seen = 0;
        return 0;
    }
    diag_set(d, "", 0, "no key with a tag unused in the zone after %d tries", ROLL_GEN_TRIES);
    return DNSD_ECRYPTO;
}

typedef struct zone_keys {
    zd_key_t *keys;
    size_t n;
    zd_policy_t pol;
} zone_keys_t;

static int keys_load(zw_t *w, const zw_zone_t *z, zone_keys_t *zk)
{
    memset(zk, 0, sizeof(*zk));
    int err = zd_policy_get(w->s, w->txn, z->id, &zk->pol);
    if (err && err != DNSD_ENOTFOUND) { /* none stored: the defaults */
        return err;
    }
    return zd_keys_list(w->s, w->txn, z->id, &zk->keys, &zk->n);
}

/* write the changed keys (indexes @p a, @p b; -1 none) and republish the key RRsets */
static int keys_store(zw_t *w, const zw_zone_t *z, const zone_keys_t *zk, int a, int b,
                      diag_t *d)
{
    int err = 0;
    if (a >= 0 && (err = zd_key_put(w->s, w->txn, &zk->keys[a])) != 0) {
        return err;
    }
    if (b >= 0 && (err = zd_key_put(w->s, w->txn, &zk->keys[b])) != 0) {
        return err;
    }
    /* a KSK-role key that began signing re-signs the DNSKEY RRset in this
     * txn: zd_zone_publish_keys() rewrites a set whose signers changed */
    return zd_zone_publish_keys(w, z, d);
}

static void fmt_time(uint64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        snprintf(buf, cap, "%llu", (unsigned long long)t);
    }
}

/* ZD_ROLL_START on @p zk->keys[old]: a new key, PUBLISHED, written */
static int do_start(zw_t *w, const zw_zone_t *z, zone_keys_t *zk, int old, uint64_t now,
                    const zd_roll_ttls_t *t, const char *why, char *what, size_t cap, diag_t *d)
{
    zd_key_t nk;
    int err = make_successor(w, zk->keys, zk->n, &zk->keys[old], now, &nk, d);
    if (err) {
        return err;
    }
    /* grown by hand, not realloc: the old array holds private keys, wiped before free */
    zd_key_t *grown = xmalloc((zk->n + 1) * sizeof(*grown));
    if (zk->n) {
        memcpy(grown, zk->keys, zk->n * sizeof(*grown));
        memset(zk->keys, 0, zk->n * sizeof(*grown));
    }
    free(zk->keys);
    zk->keys = grown;
    zk->keys[zk->n] = nk;
    memset(&nk, 0, sizeof(nk)); /* private key: no copies left behind */
    int ni = (int)zk->n++;
    if ((err = keys_store(w, z, zk, ni, -1, d)) != 0) {
        return err;
    }
    const zd_key_t *o = &zk->keys[old], *k = &zk->keys[ni];
    char at[32];
    fmt_time(now + zd_roll_ipub(&zk->pol, t), at, sizeof(at));
    if (k->role & ZD_ROLE_KSK) {
        snprintf(what, cap,
                 "%s rollover (%s): new %s %u (key %u, algorithm %u) published beside %u; "
                 "CDS/CDNSKEY list both; waiting for its DS at the parent "
                 "(dnsctl dnssec ds-seen ZONE %u), then %llu s (parent propagation + DS TTL)",
                 role_name(k->role), why, role_name(k->role), k->tag, k->id, k->alg, o->tag,
                 k->tag, (unsigned long long)zd_roll_ids(&zk->pol));
    } else {
        snprintf(what, cap,
                 "ZSK rollover (%s): new ZSK %u (key %u, algorithm %u) published beside %u; "
                 "it signs from %s (propagation %u s + DNSKEY TTL %u s)",
                 why, k->tag, k->id, k->alg, o->tag, at, zk->pol.propagation, t->dnskey_ttl);
    }
    return 0;
}

static void zone_keys_fini(zone_keys_t *zk)
{
    if (zk->keys) {
        memset(zk->keys, 0, zk->n * sizeof(*zk->keys)); /* private keys */
        free(zk->keys);
    }
    zk->keys = NULL;
}

/* does any key need the zone's TTLs (a rollover under way, or a lifetime)? */
static bool need_ttls(const zone_keys_t *zk)
{
    for (size_t i = 0; i < zk->n; i++) {
        if (zk->keys[i].state == ZD_KS_PUBLISHED || zk->keys[i].state == ZD_KS_RETIRING) {
            return true;
        }
    }
    for (size_t i = 0; i < zk->n; i++) {
        if (zk->keys[i].state == ZD_KS_REMOVED && zk->pol.purge_keys) {
            return true; /* to be purged */
        }
    }
    return zk->pol.zsk_lifetime || zk->pol.ksk_lifetime;
}

int zd_roll_step(zw_t *w, const zw_zone_t *z, uint64_t now, char *what, size_t cap,
                 uint64_t *next_at)
{
    zone_keys_t zk;
    diag_t d = {0};
    zd_roll_ttls_t t;
    zd_roll_action_t a;
    int rc = 0;
    what[0] = 0;
    *next_at = 0;
    int err = keys_load(w, z, &zk);
    if (err) {
        snprintf(what, cap, "cannot read the keys: %s", dnsd_strerror(err));
        rc = err;
        goto out;
    }
    if (!need_ttls(&zk)) {
        goto out; /* steady, nothing scheduled */
    }
    if ((err = zd_roll_ttls(w->s, w->txn, z, &t, 0, 0, NULL)) != 0) {
        snprintf(what, cap, "cannot read the zone's TTLs: %s", dnsd_strerror(err));
        rc = err;
        goto out;
    }
    zd_roll_decide(zk.keys, zk.n, &zk.pol, &t, now, &a);
    char at[32];
    switch (a.kind) {
    case ZD_ROLL_NONE:
        *next_at = a.next_at;
        break;
    case ZD_ROLL_START:
        err = do_start(w, z, &zk, a.old_idx, now, &t, "lifetime over", what, cap, &d);
        if (err) {
            snprintf(what, cap, "cannot start the rollover of %s %u: %s",
                     role_name(zk.keys[a.old_idx].role), zk.keys[a.old_idx].tag,
                     d.text[0] ? d.text : dnsd_strerror(err));
            rc = err;
            goto out;
        }
        *next_at = now;
        rc = 1;
        break;
    case ZD_ROLL_ACTIVATE: {
        zd_key_t *k = &zk.keys[a.new_idx];
        zd_key_t *o = a.old_idx >= 0 ? &zk.keys[a.old_idx] : NULL;
        zd_roll_apply(zk.keys, &a, now);
        if ((err = keys_store(w, z, &zk, a.new_idx, a.old_idx, &d)) != 0) {
            snprintf(what, cap, "cannot activate %s %u: %s", role_name(k->role), k->tag,
                     d.text[0] ? d.text : dnsd_strerror(err));
            rc = err;
            goto out;
        }
        if (o) {
            snprintf(what, cap, "%s rollover: %s %u (key %u) active, %u (key %u) retiring%s%s",
                     role_name(k->role), role_name(k->role), k->tag, k->id, o->tag, o->id,
                     (k->role & ZD_ROLE_KSK) ? "; CDS/CDNSKEY now list only the new key "
                                               "(the parent may drop the old DS)"
                                             : "",
                     (k->role & ZD_ROLE_ZSK) ? "; the zone is re-signed with the new key" : "");
        } else {
            snprintf(what, cap, "%s %u (key %u) active", role_name(k->role), k->tag, k->id);
        }
        *next_at = now;
        rc = 1;
        break;
    }
    case ZD_ROLL_CHECK_SIGS: {
        zd_key_t *o = &zk.keys[a.old_idx];
        uint64_t left = 0;
        zd_roll_ttls_t t2;
        if ((err = zd_roll_ttls(w->s, w->txn, z, &t2, o->alg, o->tag, &left)) != 0) {
            snprintf(what, cap, "cannot scan the zone: %s", dnsd_strerror(err));
            rc = err;
            goto out;
        }
        if (left) {
            *next_at = now; /* the re-sign batches are not done: look again next time */
            break;
        }
        zd_roll_apply(zk.keys, &a, now);
        if ((err = keys_store(w, z, &zk, a.old_idx, -1, &d)) != 0) {
            snprintf(what, cap, "cannot update %s %u: %s", role_name(o->role), o->tag,
                     d.text[0] ? d.text : dnsd_strerror(err));
            rc = err;
            goto out;
        }
        uint64_t gone = now + zd_roll_iret_zsk(&zk.pol, &t);
        if ((o->role & ZD_ROLE_KSK) && o->retired + zd_roll_iret_ksk(&zk.pol, &t) > gone) {
            gone = o->retired + zd_roll_iret_ksk(&zk.pol, &t);
        }
        fmt_time(gone, at, sizeof(at));
        snprintf(what, cap,
                 "%s rollover: no signature of %u is left in the zone; it leaves DNSKEY at %s "
                 "(propagation %u s + largest TTL %u s)",
                 role_name(o->role), o->tag, at, zk.pol.propagation,
                 t.max_ttl > t.neg_ttl ? t.max_ttl : t.neg_ttl);
        *next_at = gone;
        rc = 1;
        break;
    }
    case ZD_ROLL_REMOVE: {
        zd_key_t *o = &zk.keys[a.old_idx];
        zd_roll_apply(zk.keys, &a, now);
        if ((err = keys_store(w, z, &zk, a.old_idx, -1, &d)) != 0) {
            snprintf(what, cap, "cannot remove %s %u: %s", role_name(o->role), o->tag,
                     d.text[0] ? d.text : dnsd_strerror(err));
            rc = err;
            goto out;
        }
        snprintf(what, cap, "%s rollover done: %u (key %u) removed from DNSKEY",
                 role_name(o->role), o->tag, o->id);
        *next_at = now;
        rc = 1;
        break;
    }
    case ZD_ROLL_PURGE: {
        zd_key_t *o = &zk.keys[a.old_idx];
        fmt_time(o->removed, at, sizeof(at));
        if ((err = zd_key_del(w->s, w->txn, z->id, o->id)) != 0) {
            snprintf(what, cap, "cannot purge %s %u (key %u): %s", role_name(o->role), o->tag,
                     o->id, dnsd_strerror(err));
            rc = err;
            goto out;
        }
        snprintf(what, cap, "%s %u (key %u) purged: out of DNSKEY since %s, purge-keys %u s",
                 role_name(o->role), o->tag, o->id, at, zk.pol.purge_keys);
        *next_at = now;
        rc = 1;
        break;
    }
    }
out:
    zone_keys_fini(&zk);
    return rc;
}

int zd_roll_start(zw_t *w, const zw_zone_t *z, uint8_t role, uint64_t now, char *what,
                  size_t cap, diag_t *d)
{
    zone_keys_t zk;
    zd_roll_ttls_t t;
    int err = keys_load(w, z, &zk);
    if (err) {
        diag_set(d, "", 0, "cannot read the zone's keys: %s", dnsd_strerror(err));
        goto out;
    }
    bool csk = false;
    for (size_t i = 0; i < zk.n; i++) {
        csk |= in_dnskey(&zk.keys[i]) && zk.keys[i].role == ZD_ROLE_CSK;
    }
    uint8_t want;
    if (csk) {
        if (role == ZD_ROLE_ZSK) {
            diag_set(d, "", 0, "the zone has a combined signing key (CSK), no separate ZSK: "
                               "roll the CSK with --ksk (or no option)");
            err = DNSD_ENOTFOUND;
            goto out;
        }
        want = ZD_ROLE_CSK;
    } else {
        want = role ? role : ZD_ROLE_ZSK;
    }
    int b = busy_idx(zk.keys, zk.n, want);
    if (b >= 0) {
        const zd_key_t *k = &zk.keys[b];
        diag_set(d, "", 0, "a %s rollover is under way (key %u is %s): let it finish",
                 role_name(want), k->tag, k->state == ZD_KS_PUBLISHED ? "published" : "retiring");
        err = DNSD_EEXIST;
        goto out;
    }
    int old = active_idx(zk.keys, zk.n, want, -1);
    if (old < 0) {
        diag_set(d, "", 0, "the zone has no active %s to roll", role_name(want));
        err = DNSD_ENOTFOUND;
        goto out;
    }
    if ((err = zd_roll_ttls(w->s, w->txn, z, &t, 0, 0, NULL)) != 0) {
        diag_set(d, "", 0, "cannot read the zone's TTLs: %s", dnsd_strerror(err));
        goto out;
    }
    err = do_start(w, z, &zk, old, now, &t, "asked for", what, cap, d);
out:
    zone_keys_fini(&zk);
    return err;
}

int zd_roll_ds_seen(zw_t *w, const zw_zone_t *z, uint16_t tag, uint64_t now, diag_t *d)
{
    zone_keys_t zk;
    int err = keys_load(w, z, &zk);
    if (err) {
        diag_set(d, "", 0, "cannot read the zone's keys: %s", dnsd_strerror(err));
        goto out;
    }
    int found = -1;
    for (size_t i = 0; i < zk.n; i++) {
        if (zk.keys[i].tag == tag && in_dnskey(&zk.keys[i]) &&
            (zk.keys[i].role & ZD_ROLE_KSK)) {
            found = (int)i;
        }
    }
    if (found < 0) {
        char list[256] = "";
        size_t l = 0;
        for (size_t i = 0; i < zk.n && l < sizeof(list) - 16; i++) {
            if (in_dnskey(&zk.keys[i]) && (zk.keys[i].role & ZD_ROLE_KSK)) {
                l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%u", l ? ", " : "",
                                      zk.keys[i].tag);
            }
        }
        diag_set(d, "", 0, "no KSK or CSK with tag %u in the zone's DNSKEY (%s%s)", tag,
                 l ? "its KSK-role keys: " : "it has none", list);
        err = DNSD_ENOTFOUND;
        goto out;
    }
    zd_key_t *k = &zk.keys[found];
    if (k->ds_seen) {
        char at[32];
        fmt_time(k->ds_seen, at, sizeof(at));
        diag_set(d, "", 0, "the DS of key %u was already seen at the parent (%s)", tag, at);
        err = DNSD_EEXIST;
        goto out;
    }
    k->ds_seen = now;
    err = zd_key_put(w->s, w->txn, k);
out:
    zone_keys_fini(&zk);
    return err;
}
