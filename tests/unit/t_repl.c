/* SPDX-License-Identifier: MIT */
/*
 * t_repl.c -- zones/repl.c and the writer's replication hooks on real
 * stores in temp directories. The property test: two stores A1 and A2
 * share a simulated cluster log (test hooks: lock, catch_up applying what
 * the store lacks with zr_apply, propose appending to the log and
 * recording the position in a local meta key); random write txns through
 * the normal APIs (zones created and deleted, records added and removed in
 * several regions, regions, TSIG keys, ACME certdb values, journal limits,
 * transfer ACLs, secondary settings, update policies, zone flags) on
 * either, some aborted, some refused by the zone check; a fresh store B
 * replays the log with zr_apply after every step and must equal the
 * writer (zr_compare). Then: hook failures (lock, catch-up, propose) leave
 * the store unchanged and unlock exactly once; an empty txn proposes
 * nothing; local meta keys are never captured; the capture format byte for
 * byte; snapshots (chunked, bounded) loaded into a store with other data;
 * malformed entries refused whole. The PRNG seed is printed (rerun one
 * with T_REPL_SEED=N).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/certs.h"
#include "zones/journal.h"
#include "zones/regions.h"
#include "zones/repl.h"
#include "zones/rrtype.h"
#include "zones/secondary.h"
#include "zones/tsig.h"
#include "zones/upolicy.h"
#include "zones/writer.h"
#include "zones/xfracl.h"

#define W(s) tz_name(s)
#define STEPS 300
#define APPLIED "cluster_applied"

/* ---- the simulated cluster: a log of entries and hooks per store ---- */

typedef struct entry {
    uint8_t *e;
    size_t len;
} entry_t;

static entry_t *logv;
static size_t nlog, caplog;
static unsigned bad_proposals; /* entries that failed zr_check or had 0 ops */

typedef struct node {
    zs_store_t *s;
    unsigned locks, unlocks, catchups, proposals;
    bool locked;
    int fail_lock, fail_catchup, fail_propose; /* DNSD_ECLUSTER when set */
    bool nested; /* lock taken twice, or unlock without lock */
} node_t;

static int h_lock(void *ctx, diag_t *d)
{
    node_t *n = ctx;
    n->locks++;
    if (n->fail_lock) {
        diag_set(d, "cluster", 0, "test: no quorum");
        return DNSD_ECLUSTER;
    }
    n->nested |= n->locked;
    n->locked = true;
    return 0;
}

static void h_unlock(void *ctx)
{
    node_t *n = ctx;
    n->unlocks++;
    n->nested |= !n->locked;
    n->nested |= n->s->cap != NULL; /* the capture ends before the txn, so before this */
    n->locked = false;
}

static int h_catch_up(void *ctx, zs_store_t *s, MDB_txn *txn, diag_t *d)
{
    node_t *n = ctx;
    n->catchups++;
    if (n->fail_catchup) {
        diag_set(d, "cluster", 0, "test: catch-up failed");
        return DNSD_ECLUSTER;
    }
    uint64_t at;
    int err = zs_meta_u64(s, txn, APPLIED, &at);
    for (; !err && at < nlog; at++) {
        err = zr_apply(s, txn, logv[at].e, logv[at].len, d);
    }
    return err ? err : zs_meta_put_u64(s, txn, APPLIED, at);
}

static int h_propose(void *ctx, zs_store_t *s, MDB_txn *txn, const uint8_t *e, size_t len,
                     diag_t *d)
{
    node_t *n = ctx;
    if (n->fail_propose) {
        diag_set(d, "cluster", 0, "test: propose refused");
        return DNSD_ECLUSTER;
    }
    diag_t cd = {0};
    if (zr_check(e, len, &cd) != 0 || len <= ZR_HDR) {
        printf("# bad proposal: %s\n", cd.text);
        bad_proposals++;
    }
    n->proposals++;
    if (nlog == caplog) {
        caplog = caplog ? caplog * 2 : 64;
        logv = xrealloc(logv, caplog * sizeof(*logv));
    }
    logv[nlog].e = xmalloc(len);
    memcpy(logv[nlog].e, e, len);
    logv[nlog].len = len;
    nlog++;
    /* the position, in the same txn: a local key, so never in an entry
     * (this put is made while the capture is on) */
    return zs_meta_put_u64(s, txn, APPLIED, nlog);
}

static const zs_repl_hooks_t hooks = {h_lock, h_catch_up, h_propose, h_unlock};

static void attach(node_t *n, zs_store_t *s)
{
    memset(n, 0, sizeof(*n));
    n->s = s;
    s->repl = &hooks;
    s->repl_ctx = n;
}

/* ---- helpers ---- */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return n ? (uint32_t)((rng_state >> 33) % n) : 0;
}

/* zr_compare in fresh read txns: 0 equal, 1 differ (printed), < 0 error */
static int compare(zs_store_t *a, zs_store_t *b, diag_t *d)
{
    MDB_txn *ta = NULL, *tb = NULL;
    int err = zs_read_begin(a, &ta);
    if (!err) {
        err = zs_read_begin(b, &tb);
    }
    if (!err) {
        err = zr_compare(a, ta, b, tb, d);
    }
    zs_read_end(a, ta);
    zs_read_end(b, tb);
    if (err) {
        printf("# compare: %d %s: %s\n", err, d->file, d->text);
    }
    return err;
}

/* B (no hooks) replays the log up to its head, one write txn per entry. */
static size_t b_applied;
static int replay(zs_store_t *b)
{
    diag_t d = {0};
    for (; b_applied < nlog; b_applied++) {
        MDB_txn *t;
        int err = zs_write_begin(b, &t);
        if (!err) {
            err = zr_apply(b, t, logv[b_applied].e, logv[b_applied].len, &d);
        }
        if (err) {
            zs_write_abort(b, t);
            printf("# replay of entry %zu: %s\n", b_applied, d.text);
            return err;
        }
        if ((err = zs_write_commit(b, t)) != 0) {
            return err;
        }
    }
    return 0;
}

static uint64_t meta_of(zs_store_t *s, const char *key)
{
    MDB_txn *t;
    uint64_t v = 0;
    if (zs_read_begin(s, &t) == 0) {
        zs_meta_u64(s, t, key, &v);
        zs_read_end(s, t);
    }
    return v;
}

/* A write txn without edits: catches the store up, proposes nothing. */
static int sync_node(node_t *n)
{
    zw_t w;
    int err = zw_begin(n->s, &w);
    return err ? err : zw_commit(&w, NULL);
}

static int add_soa(zw_t *w, const zw_zone_t *z, uint32_t serial)
{
    uint8_t rd[300];
    int o = tz_wire("ns1.example.test", rd);
    o += tz_wire("hostmaster.example.test", rd + o);
    uint32_t v[5] = {serial, 7200, 3600, 1209600, 300};
    for (int i = 0; i < 5; i++, o += 4) {
        zs_put32(rd + o, v[i]);
    }
    return zw_rr_add(w, z, z->apex, DNS_T_SOA, 0, 3600, rd, (uint16_t)o);
}

static int make_zone(zw_t *w, const char *apex, zw_zone_t *z)
{
    int err = zw_zone_create(w, W(apex), z);
    if (!err) {
        err = add_soa(w, z, 1);
    }
    if (!err) {
        uint8_t ns[256];
        int l = tz_wire("ns1.example.test", ns);
        err = zw_rr_add(w, z, z->apex, DNS_T_NS, 0, 3600, ns, (uint16_t)l);
    }
    return err;
}

/* ---- one random edit ---- */

static const char *const zone_names[] = {"z0.test", "z1.test", "z2.test", "z3.test", "z4.test"};
#define NZONES (sizeof(zone_names) / sizeof(zone_names[0]))
static const char *const owners[] = {"", "www.", "a.b.", "mail.", "x.y.z."};
static const char *const secrets[] = {"c2VjcmV0LXNlY3JldC1zZWNyZXQ=", "YWJjZGVmZ2hpams=",
                                      "MTIzNDU2Nzg5MA=="};
static unsigned region_counter;

/* a random existing zone, or -1 */
static int pick_zone(zw_t *w, zw_zone_t *z)
{
    unsigned start = rnd(NZONES);
    for (unsigned i = 0; i < NZONES; i++) {
        if (zw_zone_get(w->s, w->txn, W(zone_names[(start + i) % NZONES]), z) == 0) {
            return 0;
        }
    }
    return -1;
}

/* a random existing region id, or 0 (default) */
static uint16_t pick_region(zw_t *w)
{
    zs_region_t *rs = NULL;
    size_t n = 0;
    uint16_t id = 0;
    if (zs_regions_load(w->s, w->txn, &rs, &n) == 0 && n > 0 && rnd(3) != 0) {
        id = rs[rnd((uint32_t)n)].id;
    }
    free(rs);
    return id;
}

static unsigned op_counts[16];

/* One random edit in @p w: 0, or an error (the caller aborts). */
static int random_edit(zw_t *w)
{
    zw_zone_t z;
    diag_t d = {0};
    unsigned op = rnd(15);
    bool have = pick_zone(w, &z) == 0;
    if (!have || op == 0) {
        const char *apex = zone_names[rnd(NZONES)];
        if (zw_zone_get(w->s, w->txn, W(apex), &z) == 0) {
            op = 1; /* exists: delete it instead */
        } else {
            op_counts[0]++;
            return make_zone(w, apex, &z);
        }
    }
    op_counts[op]++;
    char name[300];
    switch (op) {
    case 1:
        return zw_zone_delete(w, &z);
    case 2:
    case 3:
    case 4: { /* add an A record, maybe in a region */
        char apex[1024], full[1100];
        dname_to_str(z.apex, apex, sizeof(apex));
        snprintf(full, sizeof(full), "%s%s", owners[rnd(5)], apex);
        uint8_t a[4] = {192, 0, 2, (uint8_t)(1 + rnd(6))};
        int err = zw_rr_add(w, &z, W(full), DNS_T_A, pick_region(w), rnd(2) ? 300 : 3600, a, 4);
        return err == DNSD_EEXIST ? 0 : err; /* an identical record: nothing changed */
    }
    case 5: { /* delete one A record or a whole RRset */
        char apex[1024], full[1100];
        dname_to_str(z.apex, apex, sizeof(apex));
        snprintf(full, sizeof(full), "%s%s", owners[rnd(5)], apex);
        uint8_t a[4] = {192, 0, 2, (uint8_t)(1 + rnd(6))};
        int err = zw_rr_del(w, &z, W(full), DNS_T_A, pick_region(w), rnd(2) ? a : NULL, 4);
        return err == DNSD_ENOTFOUND ? 0 : err;
    }
    case 6: { /* a region: new, or an update of one */
        zs_region_t r;
        memset(&r, 0, sizeof(r));
        uint16_t id = pick_region(w);
        if (id && rnd(2)) {
            zs_region_t *rs = NULL;
            size_t n = 0;
            if (zs_regions_load(w->s, w->txn, &rs, &n) == 0) {
                for (size_t i = 0; i < n; i++) {
                    if (rs[i].id == id) {
                        r = rs[i];
                    }
                }
            }
            free(rs);
            r.has_coords = true;
            r.lat = (double)rnd(90);
            r.lon = (double)rnd(180);
        } else {
            snprintf(r.name, sizeof(r.name), "r%u", region_counter++);
            r.parent = id;
        }
        return zw_region_put(w, &r, &d);
    }
    case 7: { /* delete a region (refused while another falls back to it) */
        uint16_t id = pick_region(w);
        return id ? zw_region_del(w, id, &d) : 0;
    }
    case 8: { /* a TSIG key, put or deleted */
        snprintf(name, sizeof(name), "k%u.test.", rnd(3));
        tsig_key_t k;
        int err = tsig_key_parse(name, "hmac-sha256", secrets[rnd(3)], &k, &d);
        if (err) {
            return err;
        }
        if (rnd(3) == 0) {
            err = tsig_key_del(w->s, w->txn, k.name);
            return err == DNSD_ENOTFOUND ? 0 : err;
        }
        return tsig_key_put(w->s, w->txn, &k);
    }
    case 9: { /* ACME certdb values, some larger than a snapshot chunk */
        snprintf(name, sizeof(name), "order/%u", rnd(8));
        if (rnd(4) == 0) {
            int err = zs_certs_del(w->s, w->txn, name);
            return err == DNSD_ENOTFOUND ? 0 : err;
        }
        size_t len = 1 + rnd(3000);
        uint8_t *v = xmalloc(len);
        for (size_t i = 0; i < len; i++) {
            v[i] = (uint8_t)rnd(256);
        }
        int err = zs_certs_put(w->s, w->txn, name, v, len);
        free(v);
        return err;
    }
    case 10: { /* journal limits: the store's or the zone's */
        zj_limits_t l = {1 + rnd(50), rnd(2) ? ZJ_KEEP : 200 + rnd(5000)};
        return zj_limits_set(w->s, w->txn, rnd(2) ? z.id : 0, &l);
    }
    case 11: { /* transfer ACL or NOTIFY targets */
        xacl_t l = {0};
        unsigned n = rnd(3);
        xacl_list_t which = rnd(2) ? XACL_TRANSFER : XACL_NOTIFY;
        for (unsigned i = 0; i < n; i++) {
            snprintf(name, sizeof(name), which == XACL_TRANSFER ? "192.0.2.%u/32" :
                     "192.0.2.%u:53", 1 + rnd(200));
            int err = xacl_parse(which, name, &l.e[l.n++], &d);
            if (err) {
                return err;
            }
        }
        return xacl_put(w->s, w->txn, z.id, which, &l);
    }
    case 12: /* a zone flag */
        return zw_zone_set_flags(w, &z, rnd(2) ? ZS_ZONE_F_NO_ECS : 0,
                                 rnd(2) ? ZS_ZONE_F_NO_ECS : 0);
    case 13: { /* an update policy rule added, or one deleted */
        if (rnd(2)) {
            int err = upol_del(w->s, w->txn, z.id, z.apex, 1 + rnd(3));
            return err == DNSD_ENOTFOUND ? 0 : err;
        }
        upol_rule_t r;
        memset(&r, 0, sizeof(r));
        r.flags = UPOL_F_ADDR;
        if (zs_cidr_parse(rnd(2) ? "192.0.2.0/24" : "2001:db8::/32", &r.addr) != 0) {
            return DNSD_EMALFORMED;
        }
        r.match = UPOL_M_SUBDOMAIN;
        memcpy(r.name, z.apex, (size_t)z.apex_len);
        r.ntypes = 1;
        r.types[0] = DNS_T_A;
        return upol_add(w->s, w->txn, z.id, z.apex, &r);
    }
    default: { /* secondary settings, or a zone clear of one region */
        if (rnd(2)) {
            return zw_zone_clear(w, &z, pick_region(w), false);
        }
        zsec_conf_t c = {0};
        c.nprimaries = 1 + rnd(2);
        for (unsigned i = 0; i < c.nprimaries; i++) {
            snprintf(name, sizeof(name), "192.0.2.%u:%u", 1 + rnd(9), 53 + rnd(2));
            int err = zsec_primary_parse(name, &c.primary[i], &d);
            if (err) {
                return err;
            }
        }
        return zsec_conf_put(w->s, w->txn, z.id, &c);
    }
    }
}

/* ---- the property test ---- */

static void property(node_t *nodes, zs_store_t *b)
{
    unsigned committed = 0, aborted = 0, refused = 0, failed_edit = 0, empty = 0;
    unsigned mismatches = 0, lock_errors = 0, count_errors = 0;
    for (int step = 0; step < STEPS; step++) {
        node_t *n = &nodes[rnd(2)];
        bool at_head = meta_of(n->s, APPLIED) == nlog;
        size_t log_before = nlog;
        unsigned unlocks_before = n->unlocks;
        zw_t w;
        int err = zw_begin(n->s, &w);
        if (err) {
            printf("# step %d: zw_begin: %d\n", step, err);
            mismatches++;
            continue;
        }
        unsigned k = 1 + rnd(4);
        for (unsigned i = 0; i < k && !err; i++) {
            err = random_edit(&w);
        }
        bool committed_now = false;
        if (err) {
            if (failed_edit++ < 8) {
                printf("# step %d: an edit failed: %s (the txn is aborted)\n", step,
                       dnsd_strerror(err));
            }
            zw_abort(&w);
        } else if (rnd(12) == 0) {
            aborted++;
            zw_abort(&w);
        } else {
            diag_t d = {0};
            err = zw_commit(&w, &d);
            if (err) {
                refused++; /* the zone check: aborted */
            } else {
                committed++;
                committed_now = true;
            }
        }
        zw_abort(&w); /* twice is fine: must not unlock again */
        if (n->unlocks != unlocks_before + 1 || n->locked || n->nested) {
            printf("# step %d: unlocks %u -> %u, locked %d, nested %d\n", step, unlocks_before,
                   n->unlocks, n->locked, n->nested);
            lock_errors++;
        }
        if (committed_now) {
            empty += nlog == log_before;
            if (nlog > log_before + 1) {
                count_errors++;
            }
        } else if (nlog != log_before) {
            printf("# step %d: a txn that did not commit proposed\n", step);
            count_errors++;
        }
        if (replay(b) != 0) {
            mismatches++;
            break;
        }
        diag_t d = {0};
        if ((committed_now || at_head) && compare(n->s, b, &d) != 0) {
            printf("# step %d (%s): store differs from the replay\n", step,
                   committed_now ? "committed" : "not committed");
            mismatches++;
        }
        if (!committed_now || rnd(4) == 0) {
            size_t before = nlog;
            node_t *o = rnd(2) ? n : &nodes[n == nodes];
            if (sync_node(o) != 0 || nlog != before || compare(o->s, b, &d) != 0) {
                printf("# step %d: catch-up of a store failed or differs\n", step);
                mismatches++;
            }
        }
    }
    printf("# %u committed (%u without replicated change), %u aborted, %u failed edits, "
           "%u refused by the zone check; log %zu entries\n",
           committed, empty, aborted, failed_edit, refused, nlog);
    printf("# edits by kind:");
    for (int i = 0; i < 15; i++) {
        printf(" %u", op_counts[i]);
    }
    printf("\n");
    is_int(mismatches, 0, "property: every store equals the replay of the log after each step");
    is_int(lock_errors, 0, "property: lock and unlock paired, once per txn, on every path");
    is_int(count_errors, 0, "property: one entry per committed txn, none otherwise");
    is_int(bad_proposals, 0, "property: every proposed entry checks and has ops");
    ok(committed > STEPS / 3 && aborted + failed_edit + refused > 10 && nlog > STEPS / 4,
       "property: the mix exercised commits, aborts and refusals");
    ok(sync_node(&nodes[0]) == 0 && sync_node(&nodes[1]) == 0 && replay(b) == 0,
       "property: both stores catch up");
    diag_t d = {0};
    is_int(compare(nodes[0].s, nodes[1].s, &d), 0, "property: the two writers are equal");
    is_int(compare(nodes[0].s, b, &d), 0, "property: and equal to the replay");
    ok(meta_of(nodes[0].s, ZS_META_GENERATION) != meta_of(b, ZS_META_GENERATION),
       "property: generations are local (they differ, the stores compare equal)");
}

/* ---- failures of the hooks ---- */

static void hook_failures(node_t *n, zs_store_t *b)
{
    diag_t d = {0};
    ok(sync_node(n) == 0 && replay(b) == 0 && compare(n->s, b, &d) == 0, "failures: start equal");
    uint64_t gen = meta_of(n->s, ZS_META_GENERATION);
    size_t before = nlog;
    zw_t w;

    n->fail_lock = 1;
    unsigned l0 = n->locks, u0 = n->unlocks, c0 = n->catchups;
    is_int(zw_begin(n->s, &w), DNSD_ECLUSTER, "failures: no lock: zw_begin refuses");
    ok(w.txn == NULL && n->locks == l0 + 1 && n->unlocks == u0 && n->catchups == c0,
       "failures: no lock: no txn, no unlock, no catch-up");
    zw_abort(&w);
    is_int(n->unlocks, u0, "failures: no lock: zw_abort after it unlocks nothing");
    n->fail_lock = 0;

    n->fail_catchup = 1;
    is_int(zw_begin(n->s, &w), DNSD_ECLUSTER, "failures: catch-up fails: zw_begin refuses");
    ok(w.txn == NULL && n->unlocks == u0 + 1 && !n->locked && n->s->cap == NULL,
       "failures: catch-up fails: txn aborted, unlocked once, no capture");
    zw_abort(&w);
    is_int(n->unlocks, u0 + 1, "failures: catch-up fails: zw_abort after it unlocks nothing more");
    n->fail_catchup = 0;

    zw_zone_t z;
    ok(zw_begin(n->s, &w) == 0 && make_zone(&w, "fail.test", &z) == 0,
       "failures: a zone in a txn whose proposal will be refused");
    n->fail_propose = 1;
    is_int(zw_commit(&w, &d), DNSD_ECLUSTER, "failures: propose refused: zw_commit fails");
    ok(n->unlocks == u0 + 2 && !n->locked && n->s->cap == NULL && w.txn == NULL,
       "failures: propose refused: unlocked once, capture ended");
    n->fail_propose = 0;
    ok(nlog == before && compare(n->s, b, &d) == 0 &&
       meta_of(n->s, ZS_META_GENERATION) == gen,
       "failures: propose refused: store unchanged (no zone, same generation), nothing logged");

    /* a commit the zone check refuses: aborted, unlocked once, nothing proposed */
    ok(zw_begin(n->s, &w) == 0 && zw_zone_create(&w, W("nosoa.test"), &z) == 0,
       "failures: a zone without SOA");
    ok(zw_commit(&w, &d) != 0 && n->unlocks == u0 + 3 && nlog == before,
       "failures: zone check refuses: unlocked once, nothing proposed");

    /* an empty txn: catch-up and the generation bump only */
    ok(sync_node(n) == 0 && nlog == before && n->unlocks == u0 + 4 &&
       meta_of(n->s, ZS_META_GENERATION) == gen + 1,
       "empty txn: committed (generation bumped), nothing proposed");
}

/* ---- the capture itself ---- */

static void capture_format(zs_store_t *s)
{
    MDB_txn *t;
    if (zs_write_begin(s, &t) != 0) {
        ok(0, "capture: write txn");
        return;
    }
    ok(s->cap == NULL, "capture: off on a store without hooks (no buffer)");
    MDB_val k = {3, (void *)"abc"}, v = {2, (void *)"xy"};
    is_int(zs_put(s, t, s->certs, &k, &v, 0), 0, "capture: a put with capture off works");
    ok(s->cap == NULL, "capture: still no buffer");
    zr_capture_begin(s);
    zs_meta_put_u64(s, t, ZS_META_GENERATION, 7);
    zs_meta_put_u64(s, t, "cluster_x", 7);
    zs_meta_del(s, t, "cluster_x");
    size_t len;
    const uint8_t *e = zr_capture_get(s, &len);
    static const uint8_t empty[] = {1, 0, 0, 0, 0, 0, 0, 0};
    ok(len == sizeof(empty) && memcmp(e, empty, len) == 0,
       "capture: local meta keys (generation, cluster_*) never captured");
    zs_put(s, t, s->certs, &k, &v, 0);
    zs_del(s, t, s->certs, &k);
    MDB_val k2 = {1, (void *)"q"};
    is_int(zs_del(s, t, s->tsig, &k2), MDB_NOTFOUND, "capture: a failed delete returns LMDB's code");
    zs_put(s, t, s->certs, &k2, &v, 0);
    MDB_cursor *c;
    mdb_cursor_open(t, s->certs, &c);
    MDB_val ck = k2, cv;
    mdb_cursor_get(c, &ck, &cv, MDB_SET);
    is_int(zs_cursor_del(s, c), 0, "capture: cursor delete");
    mdb_cursor_close(c);
    static const uint8_t want[] = {
        1, 0, 0, 0, 0, 0, 0, 4,                                  /* header, 4 ops */
        1, ZR_DB_CERTS, 0, 3, 'a', 'b', 'c', 0, 0, 0, 2, 'x', 'y', /* put */
        2, ZR_DB_CERTS, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0,           /* delete */
        1, ZR_DB_CERTS, 0, 1, 'q', 0, 0, 0, 2, 'x', 'y',           /* put */
        2, ZR_DB_CERTS, 0, 1, 'q', 0, 0, 0, 0,                     /* cursor delete */
    };
    e = zr_capture_get(s, &len);
    ok(len == sizeof(want) && memcmp(e, want, len) == 0,
       "capture: the entry, byte for byte (a failed delete not captured)");
    is_int(zr_check(e, len, NULL), 0, "capture: it checks");
    zr_capture_end(s);
    ok(s->cap == NULL, "capture: ended, buffer dropped");
    e = zr_capture_get(s, &len);
    ok(len == ZR_HDR && e[0] == 1, "capture: get without capture: an entry of 0 ops");
    zs_write_abort(s, t);
}

/* ---- snapshots ---- */

typedef struct snap {
    entry_t *v;
    size_t n, cap;
    size_t chunk;
    unsigned over; /* entries over the chunk with more than one op */
    size_t max_len;
} snap_t;

static int snap_out(void *arg, const uint8_t *e, size_t len)
{
    snap_t *sn = arg;
    if (len > sn->chunk && zs_get32(e + 4) > 1) {
        sn->over++;
    }
    sn->max_len = len > sn->max_len ? len : sn->max_len;
    if (zr_check(e, len, NULL) != 0) {
        sn->over += 1000;
    }
    if (sn->n == sn->cap) {
        sn->cap = sn->cap ? sn->cap * 2 : 64;
        sn->v = xrealloc(sn->v, sn->cap * sizeof(*sn->v));
    }
    sn->v[sn->n].e = xmalloc(len);
    memcpy(sn->v[sn->n].e, e, len);
    sn->v[sn->n++].len = len;
    return 0;
}

static void snap_free(snap_t *sn)
{
    for (size_t i = 0; i < sn->n; i++) {
        free(sn->v[i].e);
    }
    free(sn->v);
    memset(sn, 0, sizeof(*sn));
}

static int stop_out(void *arg, const uint8_t *e, size_t len)
{
    (void)e;
    (void)len;
    return ++*(int *)arg == 2 ? 42 : 0;
}

static void snapshots(zs_store_t *a, zs_store_t *c)
{
    /* C has data of its own: zones, a region, a cert, and a local key */
    zw_t w;
    zw_zone_t z;
    diag_t d = {0};
    zs_region_t r;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "only-c");
    ok(zw_begin(c, &w) == 0 && make_zone(&w, "c-only.test", &z) == 0 &&
       make_zone(&w, "z1.test", &z) == 0 && zw_region_put(&w, &r, &d) == 0 &&
       zs_certs_put(c, w.txn, "order/c", "c", 1) == 0 &&
       zs_meta_put_u64(c, w.txn, "cluster_seq", 99) == 0 && zw_commit(&w, &d) == 0,
       "snapshot: store C with other data");
    ok(compare(a, c, &d) == 1, "snapshot: C differs from A (%s: %s)", d.file, d.text);
    uint64_t gen = meta_of(c, ZS_META_GENERATION);

    /* a large value so one entry is over the chunk on its own */
    uint8_t big[5000];
    memset(big, 'B', sizeof(big));
    ok(zw_begin(a, &w) == 0 && zs_certs_put(a, w.txn, "big", big, sizeof(big)) == 0 &&
       zw_commit(&w, &d) == 0, "snapshot: a 5000-byte value in A");

    snap_t sn = {.chunk = 1024};
    MDB_txn *ta;
    int err = zs_read_begin(a, &ta);
    if (!err) {
        err = zr_snapshot(a, ta, sn.chunk, snap_out, &sn);
    }
    is_int(err, 0, "snapshot: written (%zu entries of at most %zu bytes)", sn.n, sn.max_len);
    ok(sn.n >= 2 && sn.over == 0, "snapshot: entries checked, none over the chunk but a lone op");
    ok(sn.max_len > sn.chunk, "snapshot: the large value in an entry of its own");
    int calls = 0;
    is_int(zr_snapshot(a, ta, sn.chunk, stop_out, &calls), 42,
           "snapshot: the callback's error stops it and is returned");
    is_int(calls, 2, "snapshot: at the second entry");
    zs_read_end(a, ta);

    MDB_txn *tc;
    err = zs_write_begin(c, &tc);
    if (!err) {
        err = zr_clear(c, tc);
    }
    for (size_t i = 0; i < sn.n && !err; i++) {
        err = zr_apply(c, tc, sn.v[i].e, sn.v[i].len, &d);
    }
    if (!err) {
        err = zs_write_commit(c, tc);
    } else {
        zs_write_abort(c, tc);
    }
    is_int(err, 0, "snapshot: zr_clear + zr_apply of every entry into C");
    is_int(compare(a, c, &d), 0, "snapshot: C equals A");
    ok(meta_of(c, "cluster_seq") == 99 && meta_of(c, ZS_META_GENERATION) == gen,
       "snapshot: C's local meta keys kept");
    snap_free(&sn);

    /* the chunk bounds memory: many keys, every entry at most one chunk */
    ok(zw_begin(a, &w) == 0, "snapshot: 20000 values");
    for (int i = 0; i < 20000; i++) {
        char key[32];
        snprintf(key, sizeof(key), "bulk/%06d", i);
        zs_certs_put(a, w.txn, key, key, strlen(key));
    }
    ok(zw_commit(&w, &d) == 0, "snapshot: committed");
    sn.chunk = 64 * 1024;
    err = zs_read_begin(a, &ta);
    if (!err) {
        err = zr_snapshot(a, ta, sn.chunk, snap_out, &sn);
    }
    zs_read_end(a, ta);
    ok(err == 0 && sn.n >= 10 && sn.over == 0 && sn.max_len <= sn.chunk,
       "snapshot: %zu entries, the largest %zu bytes <= the 64 KiB chunk", sn.n, sn.max_len);
    snap_free(&sn);
}

/* ---- malformed entries ---- */

static size_t op_bytes(uint8_t *p, unsigned op, unsigned db, const char *k, const char *v)
{
    size_t kl = strlen(k), vl = v ? strlen(v) : 0, o = 0;
    p[o++] = (uint8_t)op;
    p[o++] = (uint8_t)db;
    p[o++] = (uint8_t)(kl >> 8);
    p[o++] = (uint8_t)kl;
    memcpy(p + o, k, kl);
    o += kl;
    zs_put32(p + o, (uint32_t)vl);
    o += 4;
    memcpy(p + o, v ? v : "", vl);
    return o + vl;
}

static void malformed(zs_store_t *b, zs_store_t *ref)
{
    /* a valid two-op entry to start from */
    uint8_t good[128];
    size_t gl = ZR_HDR;
    memcpy(good, "\x01\x00\x00\x00\x00\x00\x00\x02", ZR_HDR);
    gl += op_bytes(good + gl, ZR_OP_PUT, ZR_DB_CERTS, "new/key", "value");
    size_t second = gl;
    gl += op_bytes(good + gl, ZR_OP_PUT, ZR_DB_CERTS, "new/two", "v2");
    is_int(zr_check(good, gl, NULL), 0, "malformed: the base entry checks");

    /* each case: keep @c cut bytes (0: all), set byte @c at to @c to (at -1:
     * none), or replace the second op by one with key @c key and value @c val */
    struct {
        const char *name;
        size_t cut;
        long at;
        uint8_t to;
        const char *key, *val;
        unsigned op, db;
    } cases[] = {
        {"truncated in the header", 5, -1, 0, NULL, NULL, 0, 0},
        {"truncated in the second key", second + 6, -1, 0, NULL, NULL, 0, 0},
        {"truncated in the second value", gl - 1, -1, 0, NULL, NULL, 0, 0},
        {"format 2", 0, 0, 2, NULL, NULL, 0, 0},
        {"flags set", 0, 1, 1, NULL, NULL, 0, 0},
        {"more ops than present", 0, 7, 3, NULL, NULL, 0, 0},
        {"trailing bytes", 0, 7, 1, NULL, NULL, 0, 0},
        {"bad op kind", 0, (long)second, 3, NULL, NULL, 0, 0},
        {"bad db", 0, (long)second + 1, ZR_DB_COUNT, NULL, NULL, 0, 0},
        {"local meta key generation", 0, -1, 0, "generation", "x", ZR_OP_PUT, ZR_DB_META},
        {"local meta key cluster_applied", 0, -1, 0, "cluster_applied", NULL, ZR_OP_DEL,
         ZR_DB_META},
        {"klen 0", 0, -1, 0, "", "v", ZR_OP_PUT, ZR_DB_ZONES},
        {"delete with a value", 0, -1, 0, "k", "v", ZR_OP_DEL, ZR_DB_ZONES},
    };
    diag_t d;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t e[128];
        size_t len = gl;
        memcpy(e, good, gl);
        if (cases[i].at >= 0) {
            e[cases[i].at] = cases[i].to;
        }
        if (cases[i].key) {
            len = second + op_bytes(e + second, cases[i].op, cases[i].db, cases[i].key,
                                    cases[i].val);
        }
        if (cases[i].cut) {
            len = cases[i].cut;
        }
        memset(&d, 0, sizeof(d));
        int c = zr_check(e, len, &d);
        MDB_txn *t;
        int a = DNSD_ELMDB;
        bool untouched = false;
        if (zs_write_begin(b, &t) == 0) {
            a = zr_apply(b, t, e, len, &d);
            /* the valid first op must not have been written */
            MDB_val k = {7, (void *)"new/key"}, v;
            untouched = mdb_get(t, b->certs, &k, &v) == MDB_NOTFOUND;
            zs_write_abort(b, t);
        }
        ok(c == DNSD_EMALFORMED && a == DNSD_EMALFORMED && untouched && d.text[0],
           "malformed: %s: refused, nothing written (%s)", cases[i].name, d.text);
    }
    diag_t cd = {0};
    is_int(compare(b, ref, &cd), 0, "malformed: the store unchanged");

    /* a delete of an absent key applies (idempotent) */
    uint8_t e[64];
    memcpy(e, "\x01\x00\x00\x00\x00\x00\x00\x01", ZR_HDR);
    size_t len = ZR_HDR + op_bytes(e + ZR_HDR, ZR_OP_DEL, ZR_DB_CERTS, "absent", NULL);
    MDB_txn *t;
    ok(zs_write_begin(b, &t) == 0 && zr_apply(b, t, e, len, &d) == 0,
       "apply: a delete of an absent key is fine");
    zs_write_abort(b, t);

    /* compare sees a difference in a value and in a key */
    MDB_txn *tr;
    if (zs_write_begin(b, &t) == 0 && zs_read_begin(ref, &tr) == 0) {
        MDB_val k = {6, (void *)"zzzzzz"}, v = {1, (void *)"1"};
        mdb_put(t, b->certs, &k, &v, 0);
        memset(&d, 0, sizeof(d));
        ok(zr_compare(b, t, ref, tr, &d) == 1 && strstr(d.text, "7a7a7a7a7a7a only in the first"),
           "compare: a key only in one store (%s: %s)", d.file, d.text);
        ok(zr_compare(ref, tr, b, t, &d) == 1 && strstr(d.text, "only in the second"),
           "compare: and the other way round");
        zs_write_abort(b, t);
        zs_read_end(ref, tr);
    }
}

int main(void)
{
    const char *env = getenv("T_REPL_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    rng_state = seed;
    printf("# seed %llu (rerun with T_REPL_SEED=%llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    char d1[] = "/tmp/t_repl1.XXXXXX", d2[] = "/tmp/t_repl2.XXXXXX";
    char db[] = "/tmp/t_replb.XXXXXX", dc[] = "/tmp/t_replc.XXXXXX";
    char dx[] = "/tmp/t_replx.XXXXXX";
    zs_store_t *a1 = tz_store_tmp(d1), *a2 = tz_store_tmp(d2), *b = tz_store_tmp(db);
    zs_store_t *c = tz_store_tmp(dc), *x = tz_store_tmp(dx);
    if (!a1 || !a2 || !b || !c || !x) {
        return 1;
    }
    diag_t d = {0};
    is_int(compare(a1, b, &d), 0, "fresh stores compare equal");
    capture_format(x);
    node_t nodes[2];
    attach(&nodes[0], a1);
    attach(&nodes[1], a2);
    property(nodes, b);
    hook_failures(&nodes[0], b);
    malformed(b, a1);
    a1->repl = NULL; /* standalone from here */
    snapshots(a1, c);
    for (size_t i = 0; i < nlog; i++) {
        free(logv[i].e);
    }
    free(logv);
    tz_store_rm(a1, d1);
    tz_store_rm(a2, d2);
    tz_store_rm(b, db);
    tz_store_rm(c, dc);
    tz_store_rm(x, dx);
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}
