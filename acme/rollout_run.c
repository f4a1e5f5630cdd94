/* SPDX-License-Identifier: MIT */
/*
 * rollout_run.c -- the certificate rollout controller (acme/rollout.h) on the
 * ACME thread: a shard's new certificate (state.candidate, left there by
 * order.c when the shard has a canary pool) goes to the canary pool's load
 * balancers, then ONE write transaction opens the canary split at the
 * policy's first step; each tick feeds the evidence of both pools into the
 * analyzer (acme/rollout_stats.h) and applies its decision -- step, hold,
 * rollback, promote -- each as one transaction with the split entry, the
 * pool records, the rollout state and a log record. Promotion hands the
 * candidate to the normal issuance path (shard_issued: TLSA, generation)
 * and deployment (ord_deploy); rollback and abort leave the current
 * certificate in place. dnsctl's requests (pause, resume, abort, promote)
 * arrive in the rollout record's "req" half.
 *
 * Memory: the evidence windows of the running rollouts (one rs_pool_t per
 * pool), kept per worker; after a restart they fill again from new
 * evidence, so a rollout holds for up to a window.
 *
 * In cluster mode a rollout is steered by the node holding the task lock
 * "rollout/<id>". Every other node publishes the samples its own evidence
 * rings took for the shard (acme/rollout_share.h: one etcd put per tick at
 * most, only when it has new ones, only while the rollout runs), and the
 * steering node takes each node's samples it has not taken yet into its
 * windows with its own. All of it on the ACME thread, bounded by the etcd
 * timeout; the query workers never wait for it.
 */
#include "acme/order.h"
#include "acme/order_int.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "acme/certdb.h"
#include "acme/csr.h"
#include "acme/delegate.h"
#include "acme/dns01.h"
#include "acme/jws.h"
#include "acme/rollout.h"
#include "acme/rollout_share.h"
#include "acme/rollout_stats.h"
#include "acme/shard.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"
#include "zones/regions.h"
#include "zones/rollout.h"
#include "zones/writer.h"

/* samples taken from the evidence source per call, and calls per pool per tick */
#define RO_BATCH 256
#define RO_BATCH_CALLS 64
/* a held verdict is written to the store at most this often (every decision is) */
#define RO_LAST_EVERY_S 30

/* what the steering node took of another node's published evidence */
#define RO_PEERS 32
typedef struct ro_peer {
    char node[ZC_NODE_MAX + 1];
    uint64_t epoch, seq;
} ro_peer_t;

typedef struct ro_mem {
    char id[ACME_CERT_ID_MAX + 1];
    ro_peer_t peer[RO_PEERS];
    int npeer;
    char serial[72];  /* the candidate these windows belong to */
    rs_pool_t pool[2];
    int64_t since[2]; /* the source's time of the newest sample taken */
    int64_t ok_since_ms;
    time_t last_written;
    time_t bad_logged;
    int last_outcome;
} ro_mem_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool rollout_wanted(const acme_worker_t *w, json_t *req, json_t *state)
{
    (void)w;
    json_t *sh = acme_shard_of(req);
    /* a first issuance is not rolled out: there is nothing to compare with */
    return sh && json_array_size(json_object_get(sh, "canary_lb")) > 0 &&
           strcmp(acme_js(sh, "rollout"), "off") != 0 && json_object_get(state, "cert");
}

/* a node's publication of one rollout's evidence (cluster, not steering) */
typedef struct ro_pub {
    char id[ACME_CERT_ID_MAX + 1];
    char cand[72];
    int64_t since[2];  /* the local source's time of the newest sample taken */
    uint64_t seq;      /* the last sample's sequence number */
    bool dirty;        /* samples not yet published */
    rsh_batch_t *b;    /* the newest RSH_MAX samples, oldest first */
} ro_pub_t;

void rollout_free(acme_worker_t *w)
{
    free(w->ro);
    w->ro = NULL;
    w->nro = 0;
    for (int i = 0; i < w->npub; i++) {
        free(w->pub[i].b);
    }
    free(w->pub);
    w->pub = NULL;
    w->npub = 0;
}

static ro_mem_t *mem_get(acme_worker_t *w, const char *id, const char *serial, uint32_t window_s)
{
    for (int i = 0; i < w->nro; i++) {
        if (strcmp(w->ro[i].id, id) == 0) {
            if (strcmp(w->ro[i].serial, serial) != 0) {
                break; /* another candidate: fresh windows */
            }
            return &w->ro[i];
        }
    }
    ro_mem_t *m = NULL;
    for (int i = 0; i < w->nro && !m; i++) {
        if (strcmp(w->ro[i].id, id) == 0) {
            m = &w->ro[i];
        }
    }
    if (!m) {
        w->ro = xrealloc(w->ro, (size_t)(w->nro + 1) * sizeof(*w->ro));
        m = &w->ro[w->nro++];
    }
    memset(m, 0, sizeof(*m));
    snprintf(m->id, sizeof(m->id), "%s", id);
    snprintf(m->serial, sizeof(m->serial), "%s", serial);
    rs_pool_init(&m->pool[ACME_POOL_STABLE], window_s);
    rs_pool_init(&m->pool[ACME_POOL_CANARY], window_s);
    m->last_outcome = -1;
    return m;
}

/* the etcd share of rollout @p id's evidence (zc_share_put) */
static void share_name(const char *id, char *out, size_t cap)
{
    snprintf(out, cap, "ev/%s", id);
}

static void mem_drop(acme_worker_t *w, const char *id)
{
    for (int i = 0; i < w->nro; i++) {
        if (strcmp(w->ro[i].id, id) == 0) {
            w->ro[i] = w->ro[--w->nro];
            return;
        }
    }
}

static void evidence_take(acme_worker_t *w, ro_mem_t *m, json_t *ros, int64_t now);

/*
 * At the start of a rollout: what the source holds already (an earlier
 * candidate's handshakes, a JSON line without a serial) is not evidence
 * about this candidate; only move past it.
 */
static void evidence_skip(acme_worker_t *w, ro_mem_t *m)
{
    evidence_take(w, m, NULL, 0);
}

/* the shard's policy: its request's rollout_policy, else the defaults */
static void policy_of(json_t *req, rs_policy_t *pol)
{
    json_t *pj = json_object_get(acme_shard_of(req), "rollout_policy");
    char why[200];
    rs_policy_default(pol);
    if (pj && rs_policy_from_json(pol, pj, why, sizeof(why)) != 0) {
        rs_policy_default(pol); /* dnsctl checks it; damage falls back to the defaults */
    }
}

/* ---- one transaction: the record, the split, the pools, the log ---- */

typedef struct ro_txn {
    acme_worker_t *w;
    const char *id;
    json_t *rec;    /* cert:<id> as stored now */
    json_t *req, *state;
    json_t *ro;     /* rollout:<id> (a new object when absent) */
    json_t *ros;    /* its state half */
    zw_t zw;
    diag_t d;
    zw_zone_t zone;
    uint16_t region;
} ro_txn_t;

/* begin: read the certificate and rollout records inside the write txn */
static int tx_begin(acme_worker_t *w, const char *id, ro_txn_t *t)
{
    memset(t, 0, sizeof(*t));
    t->w = w;
    t->id = id;
    int err = zw_begin(w->s, &t->zw);
    if (err) {
        return err;
    }
    char key[ACME_CERT_ID_MAX + 16];
    snprintf(key, sizeof(key), ACME_DB_CERT "%s", id);
    if ((err = acme_db_get(w->s, t->zw.txn, key, &t->rec)) != 0) {
        zw_abort(&t->zw);
        return err;
    }
    t->req = json_object_get(t->rec, "req");
    t->state = json_deep_copy(json_object_get(t->rec, "state"));
    snprintf(key, sizeof(key), ACME_DB_ROLLOUT "%s", id);
    if (acme_db_get(w->s, t->zw.txn, key, &t->ro) != 0) {
        t->ro = json_object();
    }
    t->ros = json_deep_copy(json_object_get(t->ro, "state"));
    if (!json_is_object(t->ros)) {
        json_decref(t->ros);
        t->ros = json_object();
    }
    /* the zone holding the domain and the region whose clients split */
    json_t *sh = acme_shard_of(t->req);
    char dn[300];
    uint8_t apex[DNAME_MAXLEN + 1];
    snprintf(dn, sizeof(dn), "%s.", acme_js(sh, "domain"));
    if (acme_owner_parse(dn, apex) < 0 || acme_dns01_zone(w->s, t->zw.txn, apex, &t->zone) != 0) {
        diag_set(&t->d, "rollout", 0, "no zone in this store holds %s", acme_js(sh, "domain"));
        err = DNSD_ENOZONE;
    } else if ((err = zs_region_id(w->s, t->zw.txn, acme_js(sh, "region"), &t->region)) != 0) {
        diag_set(&t->d, "rollout", 0, "region %s: %s", acme_js(sh, "region"),
                 dnsd_strerror(err));
    }
    return err;
}

static void tx_free(ro_txn_t *t)
{
    zw_abort(&t->zw);
    json_decref(t->rec);
    json_decref(t->state);
    json_decref(t->ro);
    json_decref(t->ros);
}

/* append the decision record "rollout-log:<id>:<seq>" (in the txn) */
static int tx_log(ro_txn_t *t, const char *action, long from, long to, const char *why,
                  const rs_verdict_t *v, time_t now)
{
    long long seq = acme_ji(t->ros, "log_seq") + 1;
    set_int(t->ros, "log_seq", seq);
    char key[ACME_CERT_ID_MAX + 40];
    snprintf(key, sizeof(key), ACME_DB_ROLLOUT_LOG "%s:%08u", t->id, (unsigned)seq);
    json_t *e = json_pack("{s:I, s:s, s:i, s:i, s:s, s:s}", "at", (json_int_t)now, "action",
                          action, "from", (int)from, "to", (int)to, "why", why, "serial",
                          acme_js(t->ros, "serial_new"));
    json_object_set_new(e, "evidence", v ? rs_verdict_json(v) : json_null());
    int err = acme_db_put(t->w->s, t->zw.txn, key, e);
    json_decref(e);
    return err;
}

/* write both records (and the shard's region records) and commit */
static int tx_commit(ro_txn_t *t)
{
    char key[ACME_CERT_ID_MAX + 16];
    int err = acme_shard_write(&t->zw, t->req, t->state, false, &t->d);
    snprintf(key, sizeof(key), ACME_DB_CERT "%s", t->id);
    if (!err) {
        err = acme_db_put_half(t->w->s, t->zw.txn, key, "state", t->state, false);
    }
    snprintf(key, sizeof(key), ACME_DB_ROLLOUT "%s", t->id);
    if (!err) {
        err = acme_db_put_half(t->w->s, t->zw.txn, key, "state", t->ros, true);
    }
    if (!err) {
        err = zw_commit(&t->zw, &t->d);
    }
    if (err) {
        log_err("acme: %s: rollout: cannot save: %s", t->id,
                t->d.text[0] ? t->d.text : dnsd_strerror(err));
    }
    return err;
}

/* ---- start ---- */

/* ---- cluster: the candidate on every node's canary pool ---- */

/* how long the steering node waits for the other live nodes' canary deployments */
#define RO_CANARY_WAIT_S 120

/* node @p node's canary record of @p id (the "canary" member of deploy:<id>:<node>), or NULL */
static json_t *canary_rec(acme_worker_t *w, const char *id, const char *node)
{
    char key[ACME_CERT_ID_MAX + ZC_NODE_MAX + 16];
    snprintf(key, sizeof(key), ACME_DB_DEPLOY "%s:%s", id, node);
    MDB_txn *txn;
    json_t *v = NULL, *c = NULL;
    if (acme_db_read_begin(w->s, &txn) == 0) {
        if (acme_db_get(w->s, txn, key, &v) == 0) {
            c = json_incref(json_object_get(v, "canary"));
        }
        acme_db_read_end(w->s, txn);
    }
    json_decref(v);
    return c;
}

/*
 * Record this node's canary deployment @p c in its deploy:<id>:<node>
 * record, unless the candidate changed (or went) meanwhile: checked in the
 * write txn, which sees every committed entry.
 */
static int canary_put(acme_worker_t *w, const char *id, json_t *c)
{
    char key[ACME_CERT_ID_MAX + ZC_NODE_MAX + 16];
    snprintf(key, sizeof(key), ACME_DB_CERT "%s", id);
    zw_t zw;
    json_t *rec = NULL, *site = NULL;
    int err = zw_begin(w->s, &zw);
    if (err) {
        return err;
    }
    if ((err = acme_db_get(w->s, zw.txn, key, &rec)) == 0 &&
        strcmp(acme_js(json_object_get(json_object_get(rec, "state"), "candidate"), "serial"),
               acme_js(c, "serial")) != 0) {
        err = DNSD_ENOTFOUND;
    }
    json_decref(rec);
    if (err) {
        zw_abort(&zw);
        return err == DNSD_ENOTFOUND ? 0 : err;
    }
    snprintf(key, sizeof(key), ACME_DB_DEPLOY "%s:%s", id, zc_node(w->zc));
    if (acme_db_get(w->s, zw.txn, key, &site) != 0) {
        site = json_pack("{s:s}", "node", zc_node(w->zc));
    }
    json_object_set(site, "canary", c);
    err = acme_db_put(w->s, zw.txn, key, site);
    json_decref(site);
    return err ? (zw_abort(&zw), err) : zw_commit(&zw, NULL);
}

/*
 * Cluster: the candidate @p cand on this node's canary pool (its cert-dir
 * and --canary-hook), once per candidate, recorded for the steering node.
 * @return the record (a new reference), NULL at shutdown.
 */
static json_t *canary_site(acme_worker_t *w, const char *id, json_t *req, json_t *cand, time_t now)
{
    json_t *c = canary_rec(w, id, zc_node(w->zc));
    if (c && strcmp(acme_js(c, "serial"), acme_js(cand, "serial")) == 0) {
        return c;
    }
    json_decref(c);
    acme_hook_result_t hr;
    char err[600] = "", why[900] = "";
    log_info("acme: %s: rollout: candidate %s to node %s's canary pool", id,
             acme_js(cand, "serial"), zc_node(w->zc));
    int e = ord_shard_bundle(w, id, req, cand, true, &hr, err, sizeof(err));
    if (e == -EINTR) {
        return NULL;
    }
    bool ok = e == 0 && !(hr.text[0] && !hr.ok);
    if (!ok) {
        snprintf(why, sizeof(why), "%s%s%s", err, err[0] && hr.text[0] ? "; " : "", hr.text);
        log_err("acme: %s: rollout: node %s's canary deployment failed: %s", id, zc_node(w->zc),
                why);
    }
    c = json_pack("{s:s, s:b, s:I, s:s}", "serial", acme_js(cand, "serial"), "ok", ok, "at",
                  (json_int_t)now, "why", why);
    int pe = canary_put(w, id, c);
    if (pe) {
        log_err("acme: %s: rollout: cannot record node %s's canary deployment: %s", id,
                zc_node(w->zc), dnsd_strerror(pe));
    }
    return c;
}

/*
 * The steering node, before the split opens: this node's canary deployment,
 * then every live node's. @return 0 to start (@p fail names a failed
 * deployment: roll back), 1 to wait (a live node has not deployed yet, for
 * at most RO_CANARY_WAIT_S after this node did; then the split opens without
 * it, logged) or at shutdown.
 */
static int canary_cluster(acme_worker_t *w, const char *id, json_t *req, json_t *cand, time_t now,
                          char *fail, size_t failcap)
{
    json_t *mine = canary_site(w, id, req, cand, now);
    if (!mine) {
        return 1;
    }
    time_t since = (time_t)acme_ji(mine, "at");
    json_decref(mine);
    json_t *nodes = NULL;
    diag_t d = {0};
    if (zc_nodes(w->zc, &nodes, &d) != 0) {
        log_debug("acme: %s: rollout: cannot list the nodes: %s", id, d.text);
        return 1;
    }
    char missing[400] = "";
    size_t i, off = 0;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        const char *name = acme_js(n, "node");
        json_t *c = name[0] ? canary_rec(w, id, name) : NULL;
        if (!c || strcmp(acme_js(c, "serial"), acme_js(cand, "serial")) != 0) {
            int k = snprintf(missing + off, sizeof(missing) - off, "%s%s", off ? ", " : "", name);
            off = k > 0 && (size_t)k < sizeof(missing) - off ? off + (size_t)k : off;
        } else if (!json_is_true(json_object_get(c, "ok")) && !fail[0]) {
            snprintf(fail, failcap, "on node %s: %s", name, acme_js(c, "why"));
        }
        json_decref(c);
    }
    json_decref(nodes);
    if (fail[0] || !missing[0]) {
        return 0;
    }
    if (now - since < RO_CANARY_WAIT_S) {
        log_debug("acme: %s: rollout: waiting for the canary deployment of node(s) %s", id,
                  missing);
        return 1;
    }
    log_warn("acme: %s: rollout: node(s) %s did not deploy the candidate to their canary pool "
             "within %d s: the split opens without them",
             id, missing, RO_CANARY_WAIT_S);
    return 0;
}

/* ---- start ---- */

/* @return 1 when it waits for the nodes' canary deployments (cluster), else 0 */
static int rollout_start(acme_worker_t *w, const char *id, json_t *rec, time_t now)
{
    json_t *req = json_object_get(rec, "req");
    json_t *cand = json_object_get(json_object_get(rec, "state"), "candidate");
    rs_policy_t pol;
    policy_of(req, &pol);
    /* the canary pool presents the candidate before any client is sent there:
     * here, and in a cluster on every live node's site */
    char fail[900] = "";
    if (w->zc) {
        if (canary_cluster(w, id, req, cand, now, fail, sizeof(fail)) != 0) {
            return 1;
        }
    } else {
        acme_hook_result_t hr;
        char err[600] = "";
        int e = ord_shard_bundle(w, id, req, cand, true, &hr, err, sizeof(err));
        if (e == -EINTR) {
            return 0; /* shutdown: the candidate stays, the next start deploys it */
        }
        if (e != 0 || (hr.text[0] && !hr.ok)) {
            snprintf(fail, sizeof(fail), "%s%s%s", err, err[0] && hr.text[0] ? "; " : "",
                     hr.text);
        }
    }
    ro_txn_t t;
    if (tx_begin(w, id, &t) != 0) {
        log_err("acme: %s: rollout: %s", id, t.d.text[0] ? t.d.text : "cannot begin");
        tx_free(&t);
        return 0;
    }
    json_t *c2 = json_object_get(t.state, "candidate");
    if (!c2 || strcmp(acme_js(c2, "serial"), acme_js(cand, "serial")) != 0) {
        tx_free(&t); /* changed meanwhile: the next run sees it */
        return 0;
    }
    json_t *cur = json_object_get(t.state, "cert");
    long long left = acme_ji(cur, "not_after") - (long long)now;
    bool urgent = left < (long long)pol.urgent_s;
    uint16_t steps[RS_STEPS_MAX];
    rs_steps(&pol, urgent, steps);
    long long seq = acme_ji(t.ros, "log_seq");
    json_decref(t.ros);
    t.ros = json_pack("{s:s, s:I, s:s, s:s, s:O, s:i, s:i, s:b, s:I, s:I, s:I, s:n, s:I}",
                      "status", "running", "seq_done",
                      (json_int_t)acme_ji(json_object_get(t.ro, "req"), "seq"), "serial_new",
                      acme_js(cand, "serial"), "serial_old", acme_js(cur, "serial"), "cert", c2,
                      "step", 0, "permyriad", (int)steps[0], "urgent", urgent, "started",
                      (json_int_t)now, "step_started", (json_int_t)now, "ended", (json_int_t)0,
                      "last", "log_seq", (json_int_t)seq);
    if (fail[0]) {
        /* the canary pool cannot take it: never split toward it */
        char why[1000];
        snprintf(why, sizeof(why), "the canary deployment failed%s%s", w->zc ? " " : ": ",
                 fail);
        set_str(t.ros, "status", "rolled-back");
        set_int(t.ros, "permyriad", 0);
        set_int(t.ros, "ended", now);
        set_str(t.ros, "why", why);
        json_t *hist = json_object_get(t.state, "history");
        if (json_is_array(hist)) {
            json_array_append_new(hist, json_pack("{s:s, s:s, s:I, s:s}", "serial",
                                                  acme_js(cand, "serial"), "outcome",
                                                  "rolled-back", "at", (json_int_t)now, "why",
                                                  why));
        }
        json_object_del(t.state, "candidate");
        if (tx_log(&t, "rollback", 0, 0, why, NULL, now) == 0 && tx_commit(&t) == 0) {
            log_err("acme: %s: rollout of serial %s rolled back: %s", id,
                    acme_js(cand, "serial"), why);
        }
        tx_free(&t);
        return 0;
    }
    json_t *ss = json_object_get(t.state, "shard");
    if (!ss) {
        ss = json_object();
        json_object_set_new(t.state, "shard", ss);
    }
    set_int(ss, "rollout_ttl", pol.ttl);
    uint16_t canary;
    zs_rollout_t r;
    memset(&r, 0, sizeof(r));
    int rc = zw_rollout_canary_region(&t.zw, t.region, true, &canary, &t.d);
    if (rc == 0) {
        r.canary = canary;
        r.permyriad = steps[0];
        r.prefix4 = ZS_ROLLOUT_PREFIX4_DEFAULT;
        r.prefix6 = ZS_ROLLOUT_PREFIX6_DEFAULT;
        if (RAND_bytes(r.key, sizeof(r.key)) != 1) {
            diag_set(&t.d, "rollout", 0, "no random bytes for the split's key");
            rc = DNSD_ECRYPTO;
        }
    }
    char why[200];
    snprintf(why, sizeof(why), "candidate %s on the canary pool; %s%.2f %% of clients first",
             acme_js(cand, "serial"), urgent ? "urgent (the current certificate expires soon): " : "",
             steps[0] / 100.0);
    if (rc == 0) {
        rc = zw_rollout_put(&t.zw, &t.zone, t.region, &r, &t.d);
    }
    if (rc == 0) {
        rc = tx_log(&t, "start", 0, steps[0], why, NULL, now);
    }
    if (rc == 0 && tx_commit(&t) == 0) {
        log_info("acme: %s: rollout started: %s", id, why);
        uint32_t window = urgent ? (pol.window_s / 4 ? pol.window_s / 4 : 1) : pol.window_s;
        evidence_skip(w, mem_get(w, id, acme_js(cand, "serial"), window));
    } else if (rc) {
        log_err("acme: %s: rollout cannot start: %s", id,
                t.d.text[0] ? t.d.text : dnsd_strerror(rc));
    }
    tx_free(&t);
    return 0;
}

static int rollout_lock(acme_worker_t *w, const char *id, bool take)
{
    char name[ACME_CERT_ID_MAX + 16];
    snprintf(name, sizeof(name), "rollout/%s", id);
    if (take) {
        return ord_cluster_lock(w, name, id);
    }
    ord_cluster_unlock(w, name, id);
    return 0;
}

/* ---- the end: promote, roll back, abort ---- */

static void rollout_end(acme_worker_t *w, const char *id, const char *action, const char *why,
                        const rs_verdict_t *v, long long seq_done, time_t now)
{
    ro_txn_t t;
    if (tx_begin(w, id, &t) != 0) {
        log_err("acme: %s: rollout: %s", id, t.d.text[0] ? t.d.text : "cannot begin");
        tx_free(&t);
        return;
    }
    json_t *cand = json_incref(json_object_get(t.state, "candidate"));
    if (!cand) {
        tx_free(&t);
        return;
    }
    bool promote = strcmp(action, "promote") == 0;
    if (seq_done >= 0) {
        set_int(t.ros, "seq_done", seq_done); /* dnsctl's request, done in this txn */
    }
    long from = (long)acme_ji(t.ros, "permyriad");
    json_t *ss = json_object_get(t.state, "shard");
    json_object_del(ss, "rollout_ttl"); /* the pools' TTL returns to the shard's */
    json_object_del(t.state, "candidate");
    step_t st = {0};
    int rc = 0;
    if (promote) {
        /* the normal issuance path: TLSA, generation, next key; then deployment */
        st.id = id;
        st.req = t.req;
        st.state = t.state;
        EVP_PKEY *key = NULL;
        if (acme_key_from_pem(acme_js(cand, "key"), &key) != 0 ||
            shard_issued(w, &st, key, acme_js(cand, "serial")) != 0) {
            diag_set(&t.d, "rollout", 0, "the candidate's key: %s",
                     st.err[0] ? st.err : "damaged");
            rc = DNSD_ESTORE;
        }
        EVP_PKEY_free(key);
        json_object_set(t.state, "cert", cand);
        time_t ra = ord_renew_time(w, cand);
        if (ra <= now + 60) {
            long life = (long)(acme_ji(cand, "not_after") - acme_ji(cand, "not_before"));
            ra = now + (life / 10 > 60 ? life / 10 : 60);
        }
        set_int(t.state, "renew_at", ra);
        if (!w->zc && (w->cfg.cert_dir[0] || acme_shard_of(t.req))) {
            json_object_set_new(t.state, "deploy", json_pack("{s:b}", "pending", 1));
        }
    } else if (acme_ji(t.state, "renew_at") <= now) {
        /* no new order before the next renewal time; one already past waits a while */
        set_int(t.state, "renew_at", now + (w->cfg.backoff_max_s > 60 ? w->cfg.backoff_max_s : 60));
    }
    const char *outcome = promote ? "promoted"
                          : strcmp(action, "abort") == 0 ? "aborted"
                                                         : "rolled-back";
    json_t *hist = json_object_get(t.state, "history");
    if (!json_is_array(hist)) {
        hist = json_array();
        json_object_set_new(t.state, "history", hist);
    }
    json_array_append_new(hist, json_pack("{s:s, s:s, s:I, s:I, s:s, s:I, s:s}", "serial",
                                          acme_js(cand, "serial"), "issuer",
                                          acme_js(cand, "issuer"), "not_before",
                                          (json_int_t)acme_ji(cand, "not_before"), "not_after",
                                          (json_int_t)acme_ji(cand, "not_after"), "outcome",
                                          outcome, "at", (json_int_t)now, "why", why));
    while (json_array_size(hist) > 50) {
        json_array_remove(hist, 0);
    }
    set_str(t.ros, "status", outcome);
    set_int(t.ros, "permyriad", promote ? ZS_ROLLOUT_PERMYRIAD : 0);
    set_int(t.ros, "ended", now);
    set_str(t.ros, "why", why);
    if (v) {
        json_t *last = rs_verdict_json(v);
        json_object_set_new(last, "at", json_integer((json_int_t)now));
        json_object_set_new(t.ros, "last", last);
    }
    if (rc == 0) {
        rc = zw_rollout_del(&t.zw, &t.zone, t.region);
        rc = rc == DNSD_ENOTFOUND ? 0 : rc;
    }
    if (rc == 0) {
        rc = tx_log(&t, action, from, promote ? ZS_ROLLOUT_PERMYRIAD : 0, why, v, now);
    }
    if (rc == 0 && (rc = tx_commit(&t)) == 0) {
        if (promote) {
            log_info("acme: %s: rollout: serial %s promoted: %s", id, acme_js(cand, "serial"),
                     why);
        } else if (strcmp(action, "abort") == 0) {
            log_warn("acme: %s: rollout of serial %s aborted: %s", id, acme_js(cand, "serial"),
                     why);
        } else {
            log_err("acme: %s: rollout of serial %s ROLLED BACK: %s", id,
                    acme_js(cand, "serial"), why);
        }
    } else if (rc) {
        log_err("acme: %s: rollout: cannot %s: %s", id, action,
                t.d.text[0] ? t.d.text : dnsd_strerror(rc));
    }
    if (rc == 0 && promote && !w->zc) {
        /* files, the stable pool's bundle and crt-list, the hooks (as an issuance) */
        st.issued = true;
        st.shard_deploy = true;
        st.state = t.state;
        ord_deploy(w, &st, now);
    }
    json_decref(cand);
    if (rc == 0) {
        mem_drop(w, id);
    }
    tx_free(&t);
    if (rc == 0 && w->zc) {
        char name[ACME_CERT_ID_MAX + 8];
        diag_t d = {0};
        share_name(id, name, sizeof(name));
        zc_share_del(w->zc, name, true, &d); /* the nodes' evidence of it (else their leases) */
        rollout_lock(w, id, false); /* ended: any node may steer the next one */
    }
}

/* ---- a step, a pause, a resume, the verdict held ---- */

static void rollout_update(acme_worker_t *w, const char *id, const char *action, long to,
                           const char *status, const char *why, const rs_verdict_t *v,
                           long long seq_done, time_t now)
{
    ro_txn_t t;
    if (tx_begin(w, id, &t) != 0) {
        tx_free(&t);
        return;
    }
    long from = (long)acme_ji(t.ros, "permyriad");
    int rc = 0;
    if (seq_done >= 0) {
        set_int(t.ros, "seq_done", seq_done);
    }
    if (status) {
        set_str(t.ros, "status", status);
    }
    if (v) {
        json_t *last = rs_verdict_json(v);
        json_object_set_new(last, "at", json_integer((json_int_t)now));
        json_object_set_new(t.ros, "last", last);
    }
    if (to >= 0 && to != from) {
        zs_rollout_t r;
        rc = zw_rollout_get(w->s, t.zw.txn, t.zone.id, t.region, &r);
        if (rc == 0) {
            r.permyriad = (uint16_t)to;
            rc = zw_rollout_put(&t.zw, &t.zone, t.region, &r, &t.d);
        }
        set_int(t.ros, "permyriad", to);
        set_int(t.ros, "step", acme_ji(t.ros, "step") + 1);
        set_int(t.ros, "step_started", now);
    }
    if (rc == 0 && action) {
        rc = tx_log(&t, action, from, to >= 0 ? to : from, why, v, now);
    }
    if (rc == 0 && tx_commit(&t) == 0 && action) {
        log_info("acme: %s: rollout %s: %s", id, action, why);
    } else if (rc) {
        log_err("acme: %s: rollout: cannot %s: %s", id, action ? action : "save",
                t.d.text[0] ? t.d.text : dnsd_strerror(rc));
    }
    tx_free(&t);
}

/* one sample into pool @p pool's window, unless it names another certificate */
static void take_sample(ro_mem_t *m, json_t *ros, int pool, const rev_sample_t *s, int64_t now)
{
    const char *want = acme_js(ros, pool == ACME_POOL_CANARY ? "serial_new" : "serial_old");
    /* a handshake with another certificate (a load balancer not yet or no
     * longer on this pool's) is not this pool's evidence */
    if (s->serial[0] && want[0] && strcasecmp(s->serial, want) != 0) {
        return;
    }
    rs_pool_add(&m->pool[pool], now, s->ok, s->hs_us, s->proto, s->ok ? "" : s->err);
}

/* take the new evidence of both pools into the windows (@p ros NULL: only
 * move past it, as evidence_skip does) */
static void evidence_take(acme_worker_t *w, ro_mem_t *m, json_t *ros, int64_t now)
{
    if (!w->cfg.evidence) {
        return;
    }
    static rev_sample_t buf[RO_BATCH];
    for (int pool = 0; pool < 2; pool++) {
        for (int k = 0; k < RO_BATCH_CALLS; k++) {
            size_t n = w->cfg.evidence(w->cfg.evidence_arg, m->id, pool, m->since[pool], buf,
                                       RO_BATCH);
            for (size_t i = 0; i < n; i++) {
                if (buf[i].t_ms > m->since[pool]) {
                    m->since[pool] = buf[i].t_ms;
                }
                if (ros) {
                    take_sample(m, ros, pool, &buf[i], now);
                }
            }
            if (n < RO_BATCH) {
                break;
            }
        }
    }
}

/* ---- cluster: evidence between the nodes (acme/rollout_share.h) ---- */

#define RO_BAD_LOG_S 60 /* a bad batch is logged at most this often per rollout */

static ro_pub_t *pub_find(acme_worker_t *w, const char *id)
{
    for (int i = 0; i < w->npub; i++) {
        if (strcmp(w->pub[i].id, id) == 0) {
            return &w->pub[i];
        }
    }
    return NULL;
}

/* stop publishing @p id's evidence; this node's value goes (else with its lease) */
static void pub_drop(acme_worker_t *w, const char *id)
{
    ro_pub_t *p = pub_find(w, id);
    if (!p) {
        return;
    }
    char name[ACME_CERT_ID_MAX + 8];
    share_name(id, name, sizeof(name));
    diag_t d = {0};
    if (zc_share_del(w->zc, name, false, &d) != 0) {
        log_debug("acme: %s: rollout: cannot delete this node's evidence in etcd: %s", id,
                  d.text);
    }
    free(p->b);
    *p = w->pub[--w->npub];
}

/*
 * A node that does not steer the rollout @p id: put the samples its own
 * sources took since the rollout began (the newest RSH_MAX) into etcd for
 * the steering node -- one put, and only when there are new ones.
 */
static void evidence_publish(acme_worker_t *w, const char *id, json_t *ros, time_t now)
{
    const char *status = acme_js(ros, "status");
    bool live = strcmp(status, "running") == 0 || strcmp(status, "paused") == 0;
    const char *cand = acme_js(ros, "serial_new");
    ro_pub_t *p = pub_find(w, id);
    if (p && (!live || strcmp(p->cand, cand) != 0)) {
        pub_drop(w, id);
        p = NULL;
    }
    if (!live || !w->cfg.evidence || !cand[0]) {
        return;
    }
    if (!p) {
        w->pub = xrealloc(w->pub, (size_t)(w->npub + 1) * sizeof(*w->pub));
        p = &w->pub[w->npub++];
        memset(p, 0, sizeof(*p));
        snprintf(p->id, sizeof(p->id), "%s", id);
        snprintf(p->cand, sizeof(p->cand), "%s", cand);
        p->b = xcalloc(1, sizeof(*p->b));
        snprintf(p->b->cand, sizeof(p->b->cand), "%s", cand);
        /* a fresh epoch: the reader restarts its count for this run of ours */
        uint64_t e = 0;
        if (RAND_bytes((unsigned char *)&e, sizeof(e)) != 1) {
            e = (uint64_t)now_ms();
        }
        e &= (1ULL << 53) - 1; /* exact in any JSON reader */
        p->b->epoch = e ? e : 1;
        /* what the sources took before the start is not this candidate's
         * evidence (the steering node skips it too); the sources' clock is
         * the wall clock, the stored times the worker's */
        int64_t start_ms = (acme_ji(ros, "started") - ((int64_t)now - (int64_t)time(NULL))) * 1000;
        p->since[0] = p->since[1] = start_ms;
        p->dirty = true; /* an empty batch first: the steering node sees the node */
    }
    static rev_sample_t buf[RO_BATCH];
    rsh_batch_t *b = p->b;
    for (int pool = 0; pool < 2; pool++) {
        for (int k = 0; k < RO_BATCH_CALLS; k++) {
            size_t n = w->cfg.evidence(w->cfg.evidence_arg, id, pool, p->since[pool], buf,
                                       RO_BATCH);
            for (size_t i = 0; i < n; i++) {
                if (buf[i].t_ms > p->since[pool]) {
                    p->since[pool] = buf[i].t_ms;
                }
                if (b->n == RSH_MAX) {
                    /* keep the newest: drop the oldest half at once (rarely) */
                    memmove(b->e, b->e + RSH_MAX / 2, (RSH_MAX / 2) * sizeof(b->e[0]));
                    b->n = RSH_MAX / 2;
                }
                rsh_entry_t *e = &b->e[b->n++];
                memset(e, 0, sizeof(*e));
                e->seq = ++p->seq;
                e->pool = (uint8_t)pool;
                e->s.ok = buf[i].ok;
                e->s.hs_us = buf[i].hs_us;
                e->s.proto = buf[i].proto;
                e->s.source = buf[i].source;
                snprintf(e->s.serial, sizeof(e->s.serial), "%s", buf[i].serial);
                snprintf(e->s.err, sizeof(e->s.err), "%s", buf[i].ok ? "" : buf[i].err);
                p->dirty = true;
            }
            if (n < RO_BATCH) {
                break;
            }
        }
    }
    if (!p->dirty) {
        return;
    }
    size_t len = 0;
    char *val = rsh_encode(b, &len);
    char name[ACME_CERT_ID_MAX + 8];
    share_name(id, name, sizeof(name));
    diag_t d = {0};
    if (val && zc_share_put(w->zc, name, val, len, &d) == 0) {
        p->dirty = false;
        log_debug("acme: %s: rollout: published %zu samples (up to seq %llu) for the steering "
                  "node",
                  id, b->n, (unsigned long long)p->seq);
    } else {
        log_debug("acme: %s: rollout: cannot publish evidence: %s", id,
                  d.text[0] ? d.text : "encoding");
    }
    free(val);
}

typedef struct peer_ctx {
    const char *id;
    ro_mem_t *m;
    json_t *ros;
    int64_t now;
    time_t wall;
    size_t taken;
} peer_ctx_t;

static void peer_cb(void *arg, const char *node, const uint8_t *val, size_t len)
{
    peer_ctx_t *c = arg;
    ro_mem_t *m = c->m;
    static rsh_batch_t b;
    char why[200];
    if (rsh_decode(val, len, &b, why, sizeof(why)) != 0) {
        if (c->wall - m->bad_logged >= RO_BAD_LOG_S) {
            m->bad_logged = c->wall;
            log_warn("acme: %s: rollout: node %s's evidence in etcd ignored: %s", c->id, node,
                     why);
        }
        return;
    }
    if (strcmp(b.cand, acme_js(c->ros, "serial_new")) != 0) {
        return; /* another candidate's (a node that has not seen the new one yet) */
    }
    ro_peer_t *p = NULL;
    for (int i = 0; i < m->npeer && !p; i++) {
        if (strcmp(m->peer[i].node, node) == 0) {
            p = &m->peer[i];
        }
    }
    if (!p) {
        if (m->npeer == RO_PEERS) {
            return;
        }
        p = &m->peer[m->npeer++];
        memset(p, 0, sizeof(*p));
        snprintf(p->node, sizeof(p->node), "%s", node);
    }
    if (p->epoch != b.epoch) {
        p->epoch = b.epoch; /* the node (re)started publishing: its count starts again */
        p->seq = 0;
    }
    for (size_t i = 0; i < b.n; i++) {
        if (b.e[i].seq > p->seq) {
            p->seq = b.e[i].seq;
            take_sample(m, c->ros, b.e[i].pool, &b.e[i].s, c->now);
            c->taken++;
        }
    }
}

/* the steering node: the other nodes' new samples into the windows */
static void evidence_take_peers(acme_worker_t *w, ro_mem_t *m, json_t *ros, int64_t now,
                                time_t wall)
{
    char name[ACME_CERT_ID_MAX + 8];
    share_name(m->id, name, sizeof(name));
    peer_ctx_t c = {m->id, m, ros, now, wall, 0};
    diag_t d = {0};
    if (zc_share_list(w->zc, name, peer_cb, &c, &d) != 0) {
        log_debug("acme: %s: rollout: cannot read the other nodes' evidence: %s", m->id, d.text);
    } else if (c.taken) {
        log_debug("acme: %s: rollout: took %zu samples of other nodes", m->id, c.taken);
    }
}

static void rollout_tick(acme_worker_t *w, const char *id, json_t *rec, json_t *ro, time_t now)
{
    json_t *req = json_object_get(rec, "req");
    json_t *ros = json_object_get(ro, "state");
    json_t *rq = json_object_get(ro, "req");
    rs_policy_t pol;
    policy_of(req, &pol);
    bool urgent = json_is_true(json_object_get(ros, "urgent"));
    uint32_t window = urgent ? (pol.window_s / 4 ? pol.window_s / 4 : 1) : pol.window_s;
    ro_mem_t *m = mem_get(w, id, acme_js(ros, "serial_new"), window);
    const char *status = acme_js(ros, "status");
    /* dnsctl's request first */
    if (acme_ji(rq, "seq") > acme_ji(ros, "seq_done")) {
        const char *a = acme_js(rq, "action");
        long long seq = acme_ji(rq, "seq");
        char why[160];
        if (strcmp(a, "abort") == 0 || strcmp(a, "promote") == 0) {
            snprintf(why, sizeof(why), "%s asked by the operator (dnsctl rollout %s)", a, a);
            rollout_end(w, id, a, why, NULL, seq, now);
            return;
        }
        if (strcmp(a, "pause") == 0 && strcmp(status, "running") == 0) {
            rollout_update(w, id, "pause", -1, "paused", "paused by the operator", NULL, seq, now);
        } else if (strcmp(a, "resume") == 0 && strcmp(status, "paused") == 0) {
            m->ok_since_ms = 0; /* a whole window again before the next step */
            rollout_update(w, id, "resume", -1, "running", "resumed by the operator", NULL, seq,
                           now);
        } else {
            rollout_update(w, id, NULL, -1, NULL, NULL, NULL, seq, now);
        }
        return;
    }
    /* the worker's clock (clock-offset included), as the stored times, in ms */
    int64_t tms = now_ms() + ((int64_t)now - (int64_t)time(NULL)) * 1000;
    evidence_take(w, m, ros, tms);
    if (w->zc) {
        evidence_take_peers(w, m, ros, tms, now);
    }
    if (strcmp(status, "running") != 0) {
        return;
    }
    rs_verdict_t v;
    rs_compare(&pol, &m->pool[ACME_POOL_STABLE], &m->pool[ACME_POOL_CANARY], tms, &v);
    rs_state_t rst = {.step = (int)acme_ji(ros, "step"),
                      .started_ms = acme_ji(ros, "started") * 1000,
                      .step_started_ms = acme_ji(ros, "step_started") * 1000,
                      .ok_since_ms = m->ok_since_ms,
                      .paused = false,
                      .urgent = urgent};
    uint16_t next = 0;
    char why[300];
    rs_action_t act = rs_decide(&pol, &rst, &v, tms, &next, why, sizeof(why));
    m->ok_since_ms = rst.ok_since_ms;
    switch (act) {
    case RS_STEP:
        m->ok_since_ms = 0;
        rollout_update(w, id, "step", next, NULL, why, &v, -1, now);
        break;
    case RS_PROMOTE:
        rollout_end(w, id, "promote", why, &v, -1, now);
        break;
    case RS_ROLLBACK:
        rollout_end(w, id, "rollback", why, &v, -1, now);
        break;
    default:
        if (v.outcome != m->last_outcome || now - m->last_written >= RO_LAST_EVERY_S) {
            /* the latest figures for `rollout status`, not on every tick */
            m->last_outcome = v.outcome;
            m->last_written = now;
            rollout_update(w, id, NULL, -1, NULL, NULL, &v, -1, now);
        }
        break;
    }
}

/* a node that does not steer rollout @p id: publish its evidence for the one that does */
static void rollout_follow(acme_worker_t *w, const char *id, time_t now)
{
    MDB_txn *txn;
    json_t *ro = NULL;
    char key[ACME_CERT_ID_MAX + 16];
    if (acme_db_read_begin(w->s, &txn) != 0) {
        return;
    }
    snprintf(key, sizeof(key), ACME_DB_ROLLOUT "%s", id);
    if (acme_db_get(w->s, txn, key, &ro) != 0) {
        ro = NULL;
    }
    snprintf(key, sizeof(key), ACME_DB_CERT "%s", id);
    json_t *rec = NULL;
    if (acme_db_get(w->s, txn, key, &rec) != 0) {
        rec = NULL;
    }
    acme_db_read_end(w->s, txn);
    /* the candidate on this node's canary pool too, before the split opens */
    json_t *cand = json_object_get(json_object_get(rec, "state"), "candidate");
    if (cand && rollout_wanted(w, json_object_get(rec, "req"), json_object_get(rec, "state"))) {
        json_decref(canary_site(w, id, json_object_get(rec, "req"), cand, now));
    }
    evidence_publish(w, id, json_object_get(ro, "state"), now);
    json_decref(rec);
    json_decref(ro);
}

/* ---- the scan ---- */

typedef struct ro_scan {
    json_t *ids; /* certificates with a candidate */
} ro_scan_t;

static int scan_cb(const char *key, json_t *v, void *arg)
{
    ro_scan_t *sc = arg;
    if (acme_shard_of(json_object_get(v, "req")) &&
        json_object_get(json_object_get(v, "state"), "candidate")) {
        json_array_append_new(sc->ids, json_string(key + strlen(ACME_DB_CERT)));
    }
    return 0;
}

time_t rollout_run(acme_worker_t *w, time_t now)
{
    ro_scan_t sc = {json_array()};
    MDB_txn *txn;
    if (acme_db_read_begin(w->s, &txn) != 0) {
        json_decref(sc.ids);
        return now + 1;
    }
    acme_db_foreach(w->s, txn, ACME_DB_CERT, scan_cb, &sc);
    acme_db_read_end(w->s, txn);
    time_t next = 0;
    size_t i;
    json_t *x;
    json_array_foreach(sc.ids, i, x)
    {
        const char *id = json_string_value(x);
        if (w->zc && rollout_lock(w, id, true) != 0) {
            rollout_follow(w, id, now); /* another node steers it: feed it */
            next = now + 2;
            continue;
        }
        if (w->zc) {
            pub_drop(w, id); /* steering here now: its own sources are read directly */
        }
        json_t *rec = NULL, *ro = NULL;
        char key[ACME_CERT_ID_MAX + 16];
        if (acme_db_read_begin(w->s, &txn) != 0) {
            continue;
        }
        snprintf(key, sizeof(key), ACME_DB_CERT "%s", id);
        int err = acme_db_get(w->s, txn, key, &rec);
        snprintf(key, sizeof(key), ACME_DB_ROLLOUT "%s", id);
        if (acme_db_get(w->s, txn, key, &ro) != 0) {
            ro = NULL;
        }
        acme_db_read_end(w->s, txn);
        if (err) {
            json_decref(ro);
            continue;
        }
        json_t *cand = json_object_get(json_object_get(rec, "state"), "candidate");
        json_t *ros = json_object_get(ro, "state");
        const char *status = acme_js(ros, "status");
        bool live = strcmp(status, "running") == 0 || strcmp(status, "paused") == 0;
        if (cand && (!live || strcmp(acme_js(ros, "serial_new"), acme_js(cand, "serial")) != 0)) {
            if (!rollout_wanted(w, json_object_get(rec, "req"), json_object_get(rec, "state"))) {
                /* the canary pool went (shard set) before it started: as an issuance */
                rollout_end(w, id, "promote", "no canary pool (rollout off): promoted at once",
                            NULL, -1, now);
            } else {
                if (rollout_start(w, id, rec, now) != 0) {
                    next = next && next < now + 1 ? next : now + 1; /* the nodes' canaries */
                    json_decref(rec);
                    json_decref(ro);
                    continue;
                }
            }
            next = now; /* at once: the first tick */
        } else if (cand) {
            rollout_tick(w, id, rec, ro, now);
            if (!next || now + ACME_ROLLOUT_TICK_MS / 1000 < next) {
                next = now + ACME_ROLLOUT_TICK_MS / 1000;
            }
        }
        json_decref(rec);
        json_decref(ro);
        if (w->zc && !cand) {
            rollout_lock(w, id, false);
        }
    }
    /* rollouts that ended (no candidate left): nothing more to publish */
    for (int k = w->npub - 1; k >= 0; k--) {
        bool found = false;
        json_array_foreach(sc.ids, i, x)
        {
            found = found || strcmp(json_string_value(x), w->pub[k].id) == 0;
        }
        if (!found) {
            char id[ACME_CERT_ID_MAX + 1];
            snprintf(id, sizeof(id), "%s", w->pub[k].id);
            pub_drop(w, id);
        }
    }
    json_decref(sc.ids);
    return next;
}
