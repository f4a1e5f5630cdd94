/* SPDX-License-Identifier: MIT */
/*
 * dnssec_maint.c -- rollover steps and re-sign batches for every signed
 * zone (see dnssec_maint.h). Main thread, from orch.c's timer. Logs every
 * key state change with the zone's name and the key tags, never key
 * material.
 */
#include "dnsd/dnssec_maint.h"

#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"
#include "zones/dnssec.h"
#include "zones/dnssec_roll.h"
#include "zones/writer.h"

#define LOOK_AGAIN_S 3600u /* a zone is looked at at least this often */
#define LOCK_NAME "dnssec"

typedef struct mzone {
    zw_zone_t z;
    uint64_t roll_at;   /* the next rollover step may be due then (UINT64_MAX: not before a change) */
    uint64_t looked;    /* the last rollover step attempt */
    uint64_t resign_at; /* the next re-sign pass */
    bool resigning;     /* a re-sign pass ran out of budget: go on before any rollover step
                         * (a retiring key's signatures cannot be gone before it ends, and
                         * checking that scans the zone) */
    bool seen;          /* still signed at this run */
} mzone_t;

struct dnssec_maint {
    zs_store_t *s;
    zc_t *zc;
    uint64_t gen;       /* dnssec_gen at the last run */
    bool have_gen;
    bool lock_held;     /* the cluster lock was ours at the last run (for the log) */
    char holder[ZC_NODE_MAX + 1]; /* who held it at the last run ("": unknown) */
    mzone_t *zones;
    size_t n, cap;
};

dnssec_maint_t *dnssec_maint_new(zs_store_t *s, zc_t *cluster)
{
    dnssec_maint_t *m = xcalloc(1, sizeof(*m));
    m->s = s;
    m->zc = cluster;
    return m;
}

void dnssec_maint_free(dnssec_maint_t *m)
{
    if (m) {
        free(m->zones);
        free(m);
    }
}

static mzone_t *zone_find(dnssec_maint_t *m, uint32_t id)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->zones[i].z.id == id) {
            return &m->zones[i];
        }
    }
    return NULL;
}

static int zone_cb(const zw_zone_t *z, void *arg)
{
    dnssec_maint_t *m = arg;
    if (!(z->flags & ZS_ZONE_F_SIGNED)) {
        return 0;
    }
    mzone_t *mz = zone_find(m, z->id);
    if (!mz) {
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 8;
            m->zones = xrealloc(m->zones, m->cap * sizeof(*m->zones));
        }
        mz = &m->zones[m->n++];
        memset(mz, 0, sizeof(*mz)); /* due now */
    }
    mz->z = *z;
    mz->seen = true;
    return 0;
}

/* the signed zones, and whether the keys or policies changed since the last run */
static int zones_load(dnssec_maint_t *m, bool *changed)
{
    MDB_txn *txn;
    int err = zs_read_begin(m->s, &txn);
    if (err) {
        return err;
    }
    uint64_t gen = 0;
    err = zs_meta_u64(m->s, txn, ZD_META_GEN, &gen);
    for (size_t i = 0; i < m->n; i++) {
        m->zones[i].seen = false;
    }
    if (!err) {
        err = zw_foreach_zone(m->s, txn, zone_cb, m);
    }
    zs_read_end(m->s, txn);
    if (err) {
        return err;
    }
    *changed = !m->have_gen || gen != m->gen;
    m->gen = gen;
    m->have_gen = true;
    size_t k = 0; /* forget the zones no longer signed (or gone) */
    for (size_t i = 0; i < m->n; i++) {
        if (m->zones[i].seen) {
            m->zones[k++] = m->zones[i];
        }
    }
    m->n = k;
    return 0;
}

/* cluster: is this node the one that does it? */
static bool lock_mine(dnssec_maint_t *m)
{
    if (!m->zc) {
        return true;
    }
    if (!zc_lease_ok(m->zc)) {
        /* etcd out of reach: asking would block this loop for the timeout */
        if (m->lock_held) {
            log_warn("dnssec: node %s lost touch with etcd: key rollovers and re-signing "
                     "pause here", zc_node(m->zc));
        }
        m->lock_held = false;
        m->holder[0] = 0;
        return false;
    }
    char holder[ZC_NODE_MAX + 1] = "";
    bool mine = false;
    diag_t d = {0};
    int err = zc_try_lock(m->zc, LOCK_NAME, &mine, holder, sizeof(holder), &d);
    if (err) {
        log_warn("dnssec: cannot take the cluster lock %s: %s", LOCK_NAME,
                 d.text[0] ? d.text : dnsd_strerror(err));
        mine = false;
    }
    if (mine) {
        snprintf(holder, sizeof(holder), "%s", zc_node(m->zc));
    }
    if (!err && strcmp(holder, m->holder) != 0) { /* the first answer, or a new holder */
        if (mine) {
            log_info("dnssec: cluster lock %s taken by node %s: this node rolls keys and "
                     "re-signs", LOCK_NAME, holder);
        } else {
            log_info("dnssec: node %s holds the cluster lock %s: key rollovers and re-signing "
                     "run there", holder, LOCK_NAME);
        }
        snprintf(m->holder, sizeof(m->holder), "%s", holder);
    }
    m->lock_held = mine;
    return mine;
}

/* rollover steps of one zone, one write txn each */
static bool roll(dnssec_maint_t *m, mzone_t *mz, const char *name, uint64_t now)
{
    bool wrote = false;
    mz->looked = now;
    for (unsigned i = 0; i < DNSSEC_MAINT_ROLL_STEPS; i++) {
        zw_t w;
        char what[512];
        uint64_t next = 0;
        diag_t d = {0};
        int err = zw_begin(m->s, &w);
        if (err) {
            log_warn("dnssec: zone %s: cannot begin a write: %s", name, dnsd_strerror(err));
            mz->roll_at = now; /* next run */
            return wrote;
        }
        int rc = zd_roll_step(&w, &mz->z, now, what, sizeof(what), &next);
        if (rc <= 0) {
            zw_abort(&w);
            if (rc < 0) {
                log_warn("dnssec: zone %s: rollover step failed: %s", name, what);
                next = now + LOOK_AGAIN_S / 60; /* a minute, not every run */
            }
            mz->roll_at = next ? next : UINT64_MAX;
            return wrote;
        }
        if ((err = zw_commit(&w, &d)) != 0) {
            log_warn("dnssec: zone %s: rollover step not saved (%s): %s", name, what,
                     d.text[0] ? d.text : dnsd_strerror(err));
            mz->roll_at = now;
            return wrote;
        }
        wrote = true;
        log_info("dnssec: zone %s: %s", name, what);
        mz->resign_at = 0; /* the key set changed: re-sign what it asks for */
    }
    mz->roll_at = now;
    return wrote;
}

/* re-sign batches of one zone; @return true when some are left */
static bool resign(dnssec_maint_t *m, mzone_t *mz, const char *name, uint64_t now)
{
    size_t batches = 0;
    bool more = true;
    for (; more && batches < DNSSEC_MAINT_BATCHES; batches++) {
        zw_t w;
        diag_t d = {0};
        more = false;
        int err = zw_begin(m->s, &w);
        if (!err) {
            err = zd_zone_resign(&w, &mz->z, now, DNSSEC_MAINT_BATCH, &more, &d);
            if (err) {
                zw_abort(&w);
            } else {
                err = zw_commit(&w, &d);
            }
        }
        if (err) {
            log_warn("dnssec: zone %s: re-signing failed: %s", name,
                     d.text[0] ? d.text : dnsd_strerror(err));
            mz->resign_at = now + LOOK_AGAIN_S / 60;
            mz->resigning = false;
            return false;
        }
    }
    if (batches > 1 || more) {
        log_info("dnssec: zone %s: re-signed %s%zu batch%s of up to %u RRsets%s", name,
                 more ? "" : "in ", batches, batches == 1 ? "" : "es", DNSSEC_MAINT_BATCH,
                 more ? ", more to do" : "");
    }
    mz->resigning = more;
    if (more) {
        mz->resign_at = now;
        return true;
    }
    /* done: nothing needs it before a signature gets within sig_refresh of its
     * expiration; look a quarter of that later (at most hourly) */
    zd_policy_t p;
    MDB_txn *txn;
    uint64_t wait = LOOK_AGAIN_S;
    if (zs_read_begin(m->s, &txn) == 0) {
        int e = zd_policy_get(m->s, txn, mz->z.id, &p);
        zs_read_end(m->s, txn);
        if ((e == 0 || e == DNSD_ENOTFOUND) && p.sig_refresh / 4 < wait) {
            wait = p.sig_refresh / 4 ? p.sig_refresh / 4 : 1;
        }
    }
    mz->resign_at = now + wait;
    return false;
}

bool dnssec_maint_run(dnssec_maint_t *m, uint64_t now)
{
    bool changed = false, left = false, wrote = false;
    int err = zones_load(m, &changed);
    if (err) {
        log_warn("dnssec: cannot read the zones: %s", dnsd_strerror(err));
        return false;
    }
    if (m->n == 0 || !lock_mine(m)) {
        return false;
    }
    for (size_t i = 0; i < m->n; i++) {
        mzone_t *mz = &m->zones[i];
        if (changed) {
            mz->roll_at = mz->resign_at = 0;
        }
        char name[4 * DNAME_MAXLEN + 2];
        dname_to_str(mz->z.apex, name, sizeof(name));
        if (!mz->resigning && (now >= mz->roll_at || now >= mz->looked + LOOK_AGAIN_S)) {
            wrote |= roll(m, mz, name, now);
        }
        if (now >= mz->resign_at) {
            left |= resign(m, mz, name, now);
        }
    }
    /* this run's own key writes moved dnssec_gen: not a reason to look again */
    MDB_txn *txn;
    if (wrote && zs_read_begin(m->s, &txn) == 0) {
        zs_meta_u64(m->s, txn, ZD_META_GEN, &m->gen);
        zs_read_end(m->s, txn);
    }
    return left;
}
