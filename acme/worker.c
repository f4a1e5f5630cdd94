/* SPDX-License-Identifier: MIT */
/*
 * worker.c -- the ACME worker's lifecycle and driver (see order.h): settings,
 * the scan of certificate records, one step per due certificate with its
 * backoff, and the write transaction that persists a step. Called by dnsd's
 * ACME thread (dnsd/certs.c) and nothing else; it blocks only through the
 * steps it runs, each bounded by acme-http-timeout or deploy-timeout.
 * The steps themselves are in order.c, accounts in account.c, timing in
 * schedule.c, files and hooks in deploy.c, shards in shard_run.c.
 *
 * In cluster mode (acme_worker_set_cluster) a certificate is stepped only
 * under its task lock "order/<id>" (see order.h), the store is caught up
 * with the cluster's log when the lock is taken, and a step's result is
 * written only while the node lease holds and the state is still the one
 * the step began from.
 */
#include "acme/order.h"
#include "acme/order_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/certdb.h"
#include "acme/delegate.h"
#include "acme/dns01.h"
#include "acme/http01.h"
#include "acme/metrics.h"
#include "acme/shard.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"
#include "zones/writer.h"

void acme_cfg_defaults(acme_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    c->account_key = ACME_KEY_EC256;
    c->cert_key = ACME_KEY_EC256;
    c->backoff_min_s = 60;
    c->backoff_max_s = 6 * 3600;
    c->propagation_timeout_s = 120;
    c->http_timeout_s = 30;
    c->deploy_timeout_s = 120;
    c->check_ns = true;
    c->renew_fraction = 1.0 / 3.0;
    c->max_orders = 4;
    c->shard_alert_s = 14 * 86400;
    c->shard_probe_interval_s = 300;
    c->delegation_ns_port = 53;
}

/* a cert id not holding its lock yet asks again after this (the holder's
 * lease, when it dies, lasts a lease TTL) */
#define ACME_LOCK_RETRY_S 2

acme_worker_t *acme_worker_new(zs_store_t *s, const acme_cfg_t *cfg)
{
    acme_worker_t *w = xcalloc(1, sizeof(*w));
    w->cfg = *cfg;
    w->s = s;
    w->locks = json_object();
    return w;
}

void acme_worker_set_cluster(acme_worker_t *w, zc_t *zc)
{
    w->zc = zc;
}

/*
 * Cluster: take task lock @p name ("order/<id>", "account/<hash>") for the
 * work on @p what. @return 0 when this node holds it, 1 when another node
 * does (or etcd cannot be asked): skip it this round. The store is caught
 * up with the cluster's log before 0 is returned.
 */
int ord_cluster_lock(acme_worker_t *w, const char *name, const char *what)
{
    char holder[ZC_NODE_MAX + 1] = "";
    bool mine = false;
    diag_t d = {0};
    int err = zc_try_lock(w->zc, name, &mine, holder, sizeof(holder), &d);
    if (err) {
        log_warn("acme: %s: cannot take the cluster lock %s: %s", what, name,
                 d.text[0] ? d.text : dnsd_strerror(err));
        return 1;
    }
    if (!mine) {
        json_object_del(w->locks, name);
        log_debug("acme: %s: node %s holds %s: skipped here", what, holder, name);
        return 1;
    }
    /*
     * The previous holder's last writes (it may have died holding the lock,
     * or this node's own lease may have lapsed meanwhile) may not be applied
     * here yet. An empty write transaction takes the cluster's write lock
     * and applies every entry committed before it, so the state read next
     * is the newest: the order in flight is resumed, never placed twice.
     * A few etcd requests per step, and an order has a handful of steps.
     */
    zw_t zw;
    if ((err = zw_begin(w->s, &zw)) == 0) {
        err = zw_commit(&zw, &d);
    }
    if (err) {
        log_warn("acme: %s: cannot catch up with the cluster's log: %s", what,
                 d.text[0] ? d.text : dnsd_strerror(err));
        json_object_del(w->locks, name);
        zc_unlock(w->zc, name, NULL);
        return 1;
    }
    if (!json_object_get(w->locks, name)) {
        json_object_set_new(w->locks, name, json_true());
        log_info("acme: %s: cluster lock %s taken by node %s", what, name, zc_node(w->zc));
    }
    return 0;
}

void ord_cluster_unlock(acme_worker_t *w, const char *name, const char *what)
{
    diag_t d = {0};
    json_object_del(w->locks, name);
    int err = zc_unlock(w->zc, name, &d);
    if (err) {
        /* it goes with the node's lease anyway */
        log_warn("acme: %s: cannot release the cluster lock %s: %s", what, name,
                 d.text[0] ? d.text : dnsd_strerror(err));
    } else {
        log_debug("acme: %s: cluster lock %s released", what, name);
    }
}

/* certificate @p id's lock: "order/<id>" */
static int cluster_lock(acme_worker_t *w, const char *id)
{
    char name[ACME_CERT_ID_MAX + 16];
    snprintf(name, sizeof(name), "order/%s", id);
    return ord_cluster_lock(w, name, id);
}

static void cluster_unlock(acme_worker_t *w, const char *id)
{
    char name[ACME_CERT_ID_MAX + 16];
    snprintf(name, sizeof(name), "order/%s", id);
    ord_cluster_unlock(w, name, id);
}

void acme_worker_free(acme_worker_t *w)
{
    if (!w) {
        return;
    }
    for (int i = 0; i < w->ncas; i++) {
        acme_client_free(w->cas[i].c);
        EVP_PKEY_free(w->cas[i].key);
        free(w->cas[i].dir);
    }
    json_decref(w->locks);
    rollout_free(w);
    free(w);
}

void acme_worker_set_cfg(acme_worker_t *w, const acme_cfg_t *cfg)
{
    /* the addresses dnsd bound at start-up (DNS and HTTP-01): a reload's
     * config has none, and the sockets stay what they were until restart */
    struct sockaddr_storage self[ACME_SELF_MAX], http01_self[ACME_SELF_MAX];
    int nself = w->cfg.nself, nhttp01_self = w->cfg.nhttp01_self;
    memcpy(self, w->cfg.self, sizeof(self));
    memcpy(http01_self, w->cfg.http01_self, sizeof(http01_self));
    w->cfg = *cfg;
    memcpy(w->cfg.self, self, sizeof(self));
    w->cfg.nself = nself;
    memcpy(w->cfg.http01_self, http01_self, sizeof(http01_self));
    w->cfg.nhttp01_self = nhttp01_self;
    for (int i = 0; i < w->ncas; i++) {
        acme_client_free(w->cas[i].c);
        EVP_PKEY_free(w->cas[i].key);
        free(w->cas[i].dir);
    }
    w->ncas = 0;
}

time_t acme_worker_now(const acme_worker_t *w)
{
    return time(NULL) + (time_t)w->cfg.clock_offset_s;
}

void acme_worker_stats(const acme_worker_t *w, acme_stats_t *out)
{
    *out = w->st;
    for (int i = 0; i < w->ncas; i++) {
        out->bad_nonces += w->cas[i].c->bad_nonces;
        out->requests += w->cas[i].c->requests;
    }
}

/* until when the CA at @p dir is backing off (0: it is not); in cluster
 * mode also what any node stored ("ca:<dir>") */
static time_t ca_backoff(const acme_worker_t *w, const char *dir)
{
    time_t t = 0;
    for (int i = 0; i < w->ncas; i++) {
        if (strcmp(w->cas[i].dir, dir) == 0) {
            t = w->cas[i].backoff_until;
        }
    }
    MDB_txn *txn;
    if (w->zc && acme_db_read_begin(w->s, &txn) == 0) {
        char key[1200];
        json_t *v = NULL;
        snprintf(key, sizeof(key), ACME_DB_CA "%s", dir);
        if (acme_db_get(w->s, txn, key, &v) == 0 && acme_ji(v, "backoff_until") > (long long)t) {
            t = (time_t)acme_ji(v, "backoff_until");
        }
        json_decref(v);
        acme_db_read_end(w->s, txn);
    }
    return t;
}

/* cluster: the CA's backoff for every node, in the step's transaction */
static int ca_backoff_put(acme_worker_t *w, MDB_txn *txn, step_t *st)
{
    char key[1200];
    json_t *v = NULL;
    snprintf(key, sizeof(key), ACME_DB_CA "%s", st->ca_dir);
    if (acme_db_get(w->s, txn, key, &v) == 0 && acme_ji(v, "backoff_until") >= st->ca_backoff) {
        json_decref(v);
        return 0;
    }
    json_decref(v);
    v = json_pack("{s:I, s:s, s:s}", "backoff_until", (json_int_t)st->ca_backoff, "error",
                  st->err, "node", zc_node(w->zc));
    int err = acme_db_put(w->s, txn, key, v);
    json_decref(v);
    return err;
}

/* write the state half and the challenge records (TXT, HTTP-01) in one transaction */
static int commit_step(acme_worker_t *w, step_t *st)
{
    char key[ACME_CERT_ID_MAX + 16];
    snprintf(key, sizeof(key), ACME_DB_CERT "%s", st->id);
    zw_t zw;
    diag_t d = {0};
    int err = zw_begin(w->s, &zw);
    if (err) {
        return err;
    }
    json_t *cur = NULL;
    if ((err = acme_db_get(w->s, zw.txn, key, &cur)) != 0) {
        zw_abort(&zw); /* deleted meanwhile (dnsctl cert delete cleans its TXT) */
        return err;
    }
    if (st->base) {
        /* cluster: this transaction sees every committed entry; a state
         * other than the one the step began from means another node moved
         * the certificate meanwhile (its lock was lost): drop the step */
        json_t *now_state = json_object_get(cur, "state");
        if (!json_equal(now_state ? now_state : json_null(), st->base)) {
            json_decref(cur);
            zw_abort(&zw);
            snprintf(st->err, sizeof(st->err), "the state changed on another node meanwhile");
            return DNSD_ECLUSTER;
        }
    }
    json_decref(cur);
    if (st->ca_backoff && st->ca_dir && (err = ca_backoff_put(w, zw.txn, st)) != 0) {
        zw_abort(&zw);
        return err;
    }
    /* every zone touched is checked and its serial bumped once, by zw_commit() */
    size_t i;
    json_t *op;
    for (int pass = 0; pass < 2 && !err; pass++) {
        json_array_foreach(pass ? st->txt_add : st->txt_del, i, op)
        {
            uint8_t owner[DNAME_MAXLEN + 1];
            const char *on = json_string_value(json_array_get(op, 0));
            const char *val = json_string_value(json_array_get(op, 1));
            zw_zone_t z = {0};
            /* owners are kept in presentation form: "_acme-challenge.x.y.", or
             * a delegated name's CNAME target (delegate.h) */
            if (!on || !val || acme_owner_parse(on, owner) < 0) {
                diag_set(&d, on ? on : "?", 0, "not a challenge owner name");
                err = DNSD_EMALFORMED;
                break;
            }
            err = pass ? acme_dns01_add(&zw, owner, val, &z, &d)
                       : acme_dns01_del(&zw, owner, val, &z, &d);
            if (err) {
                break;
            }
        }
    }
    /* HTTP-01 key authorizations: certs sub-db records, no zone touched */
    json_array_foreach(st->http_del, i, op)
    {
        if (err || (err = acme_http01_del(w->s, zw.txn, json_string_value(op))) != 0) {
            break;
        }
    }
    json_array_foreach(st->http_add, i, op)
    {
        if (err || (err = acme_http01_put(w->s, zw.txn, json_string_value(json_array_get(op, 0)),
                                          json_string_value(json_array_get(op, 1)), st->id,
                                          (long long)acme_worker_now(w))) != 0) {
            break;
        }
    }
    if (!err && st->shard_rewrite) {
        /* the region's pool, TLSA and generation in this same transaction */
        err = acme_shard_write(&zw, st->req, st->state, false, &d);
    }
    if (!err) {
        err = acme_db_put_half(w->s, zw.txn, key, "state", st->state, false);
    }
    if (!err) {
        err = zw_commit(&zw, &d); /* aborts on error */
    }
    if (err) {
        zw_abort(&zw);
        snprintf(st->err, sizeof(st->err), "store: %s%s%s", d.file[0] ? d.file : "",
                 d.file[0] ? ": " : "", d.text[0] ? d.text : dnsd_strerror(err));
        return err;
    }
    return 0;
}

/* one certificate: the next step, persisted; @return its next due time */
static time_t cert_step(acme_worker_t *w, const char *id, json_t *rec, time_t now)
{
    step_t st = {0};
    st.id = id;
    st.req = json_object_get(rec, "req");
    json_t *old = json_object_get(rec, "state");
    st.state = old ? json_deep_copy(old) : json_object();
    if (w->zc) {
        st.base = old ? json_deep_copy(old) : json_null();
    }
    st.txt_add = json_array();
    st.txt_del = json_array();
    st.http_add = json_array();
    st.http_del = json_array();
    st.retry_after_s = -1;
    if (!json_object_get(st.state, "status")) {
        set_str(st.state, "status", "pending");
    }
    json_t *o = ord_order_of(&st);
    int rc;
    if (o && (!json_equal(json_object_get(o, "names"), json_object_get(st.req, "names")) ||
              (*acme_js(st.req, "key") &&
               strcmp(acme_js(o, "key_type"), acme_js(st.req, "key")) != 0) ||
              strcmp(*acme_js(o, "challenge") ? acme_js(o, "challenge") : "dns-01",
                     ord_challenge_type(st.req)) != 0)) {
        /* the request changed (names, key type, challenge type) while ordering: start over */
        ord_txt_remove_all(&st);
        json_object_del(st.state, "order");
        rc = STEP_NEXT;
    } else if (!o && w->zc && ord_deploy_pending(st.state)) {
        /* a standalone deployment left pending: in a cluster every node
         * deploys on its own (ord_deploy_sites) */
        json_object_del(st.state, "deploy");
        rc = STEP_NEXT;
    } else if (!o && ord_deploy_pending(st.state)) {
        /* a deployment cut short (shutdown, crash): do it again now */
        log_info("acme: %s: deploying serial %s (interrupted before)", id,
                 acme_js(json_object_get(st.state, "cert"), "serial"));
        st.issued = true;
        st.shard_deploy = acme_shard_of(st.req) != NULL;
        rc = STEP_NEXT;
    } else if (!o && ord_revoke_wanted(st.req, st.state)) {
        rc = ord_step_revoke(w, &st);
    } else if (!o && !ord_issue_wanted(w, st.req, st.state, now)) {
        ord_ari_check(w, &st, now);
        rc = shard_maintain(w, &st, now); /* TLSA retirement, load balancer probes */
    } else if (!o) {
        /* a new order: within the cap on orders in flight, and not while
         * its CA is backing off after an error */
        const char *dir = ord_cert_dir_url(w, st.req);
        time_t ca_wait = ca_backoff(w, dir);
        if (w->inflight >= w->cfg.max_orders || ca_wait > now) {
            json_decref(st.state);
            json_decref(st.base);
            json_decref(st.txt_add);
            json_decref(st.txt_del);
            json_decref(st.http_add);
            json_decref(st.http_del);
            if (w->zc) {
                cluster_unlock(w, id);
            }
            return ca_wait > now ? ca_wait : now + 1;
        }
        w->inflight++;
        rc = ord_step_new_order(w, &st);
    } else {
        rc = ord_step_order(w, &st);
    }
    if (rc == STEP_TRANSIENT || rc == STEP_FAIL) {
        long failures = acme_ji(st.state, "failures") + 1;
        long d = ord_backoff_s(w, failures, st.retry_after_s);
        set_int(st.state, "failures", failures);
        set_int(st.state, "next_try", now + d);
        set_str(st.state, "last_error", st.err);
        /* what `--wait` makes of it: a transient error is progress; an order
         * the CA judged (invalid, refused) or one we cannot place without
         * the operator is the outcome */
        set_str(st.state, "last_failure",
                rc == STEP_FAIL && !st.ca_forgot ? "final" : "transient");
        if (rc == STEP_FAIL) {
            if (ord_order_of(&st)) {
                ord_txt_remove_all(&st);
                json_object_del(st.state, "order");
            }
            set_str(st.state, "status", "failed");
            w->st.failed_orders++;
            ACME_METRIC_INC(failed);
            log_err("acme: %s: order failed (retry in %lds): %s", id, d, st.err);
        } else {
            w->st.transient_errors++;
            ACME_METRIC_INC(transient);
            log_warn("acme: %s: %s (retry in %lds)", id, st.err, d);
        }
        /* the CA itself failed (no answer, 5xx, rate limit): its other
         * certificates wait too instead of hammering it */
        json_t *ord = ord_order_of(&st);
        const char *dir = ord ? acme_js(ord, "directory") : ord_cert_dir_url(w, st.req);
        for (int i = 0; rc == STEP_TRANSIENT && i < w->ncas; i++) {
            if (strcmp(w->cas[i].dir, dir) == 0 && w->cas[i].backoff_until < now + d) {
                w->cas[i].backoff_until = now + d;
            }
        }
        if (rc == STEP_TRANSIENT && w->zc && *dir) {
            st.ca_backoff = now + d; /* stored with the step: every node holds off */
            st.ca_dir = dir;
        }
        if (st.reset_account) {
            /* registered again before the next order (ca_ready) */
            for (int i = 0; i < w->ncas; i++) {
                acme_client_set_account(w->cas[i].c, w->cas[i].key, NULL);
            }
        }
    } else if (rc == STEP_NEXT) {
        set_int(st.state, "next_try", 0);
    }
    int err;
    if (w->zc && !zc_lease_ok(w->zc)) {
        /* the node lease lapsed: the lock may be another node's by now */
        snprintf(st.err, sizeof(st.err), "the cluster lease lapsed");
        err = DNSD_ECLUSTER;
    } else {
        err = commit_step(w, &st);
    }
    time_t due = 0;
    if (err == DNSD_ECLUSTER && w->zc) {
        /* nothing written: the lock's next holder (maybe this node again)
         * resumes from the stored state, the same order at the CA */
        log_warn("acme: %s: step not saved: %s; resumed from the stored state", id,
                 st.err[0] ? st.err : dnsd_strerror(err));
        due = now + ACME_LOCK_RETRY_S;
    } else if (err) {
        log_err("acme: %s: cannot save progress: %s", id, st.err[0] ? st.err : dnsd_strerror(err));
        due = now + ord_backoff_s(w, 1, -1);
    } else {
        if ((st.shard_deploy || st.issued) && !w->zc) {
            ord_deploy(w, &st, now); /* cluster: ord_deploy_sites, on every node */
        }
        due = ord_due_at(w, st.req, st.state, now);
    }
    if (w->zc && (err || rc == STEP_TRANSIENT || rc == STEP_FAIL || !ord_order_of(&st))) {
        /* the order ended, backs off, or none runs: any node may go on */
        cluster_unlock(w, id);
    }
    json_decref(st.state);
    json_decref(st.base);
    json_decref(st.txt_add);
    json_decref(st.txt_del);
    json_decref(st.http_add);
    json_decref(st.http_del);
    return due;
}

typedef struct scan {
    acme_worker_t *w;
    time_t now;
    time_t next;
    json_t *due;  /* ids due now */
    json_t *skip; /* cluster: ids another node steps, not looked at again in this run */
} scan_t;

static int scan_cb(const char *key, json_t *v, void *arg)
{
    scan_t *sc = arg;
    json_t *req = json_object_get(v, "req");
    json_t *state = json_object_get(v, "state");
    if (!req) {
        return 0;
    }
    if (json_object_get(state, "order")) {
        sc->w->inflight++;
    }
    time_t t = ord_due_at(sc->w, req, state ? state : json_null(), sc->now);
    if (t && t <= sc->now && json_object_get(sc->skip, key + strlen(ACME_DB_CERT))) {
        return 0; /* in `skipped` already */
    }
    if (t && t <= sc->now) {
        json_array_append_new(sc->due, json_string(key + strlen(ACME_DB_CERT)));
    } else if (t && (!sc->next || t < sc->next)) {
        sc->next = t;
    }
    return 0;
}

time_t acme_worker_run(acme_worker_t *w, volatile int *stop)
{
    w->stop = stop;
    time_t acct_next = ord_accounts_run(w);
    time_t next = 0, skipped = 0;
    json_t *skip = json_object();
    /* a few rounds: an order advances several steps per call while they are quick */
    for (int round = 0; round < 16 && !*stop; round++) {
        scan_t sc = {w, acme_worker_now(w), 0, json_array(), skip};
        w->inflight = 0; /* counted by the scan */
        MDB_txn *txn;
        if (acme_db_read_begin(w->s, &txn) != 0) {
            json_decref(sc.due);
            return sc.now + 1;
        }
        int err = acme_db_foreach(w->s, txn, ACME_DB_CERT, scan_cb, &sc);
        acme_db_read_end(w->s, txn);
        if (err) {
            log_err("acme: cannot read certificate requests: %s", dnsd_strerror(err));
        }
        next = sc.next;
        if (json_array_size(sc.due) == 0) {
            json_decref(sc.due);
            break;
        }
        size_t i;
        json_t *id;
        json_array_foreach(sc.due, i, id)
        {
            if (*stop) {
                break;
            }
            char key[ACME_CERT_ID_MAX + 16];
            snprintf(key, sizeof(key), ACME_DB_CERT "%s", json_string_value(id));
            if (w->zc && cluster_lock(w, json_string_value(id)) != 0) {
                /* another node steps it; look again in a while (its
                 * progress also moves the generation and wakes us) */
                time_t t = acme_worker_now(w) + ACME_LOCK_RETRY_S;
                json_object_set_new(skip, json_string_value(id), json_true());
                if (!skipped || t < skipped) {
                    skipped = t;
                }
                continue;
            }
            json_t *rec = NULL;
            if (acme_db_read_begin(w->s, &txn) != 0) {
                continue;
            }
            err = acme_db_get(w->s, txn, key, &rec);
            acme_db_read_end(w->s, txn);
            if (err) {
                if (w->zc) {
                    cluster_unlock(w, json_string_value(id));
                }
                continue;
            }
            if (w->zc) {
                /* after the catch-up: due still? (another node may have
                 * finished it, or it backs off now) */
                json_t *rq = json_object_get(rec, "req"), *rs = json_object_get(rec, "state");
                time_t now = acme_worker_now(w);
                time_t t = rq ? ord_due_at(w, rq, rs ? rs : json_null(), now) : 0;
                if (!t || t > now) {
                    cluster_unlock(w, json_string_value(id));
                    json_decref(rec);
                    if (t && (!next || t < next)) {
                        next = t;
                    }
                    continue;
                }
            }
            time_t t = cert_step(w, json_string_value(id), rec, acme_worker_now(w));
            json_decref(rec);
            if (t && (!next || t < next)) {
                next = t;
            }
        }
        json_decref(sc.due);
    }
    if (acct_next && (!next || acct_next < next)) {
        next = acct_next;
    }
    if (!*stop) {
        /* certificate rollouts: start, tick, steer (acme/rollout.h) */
        time_t t = rollout_run(w, acme_worker_now(w));
        if (t && (!next || t < next)) {
            next = t;
        }
    }
    json_decref(skip);
    if (skipped && (!next || skipped < next)) {
        next = skipped;
    }
    if (w->zc && !*stop) {
        /* every node deploys what the cluster issued, and probes its sites */
        time_t t = ord_deploy_sites(w, acme_worker_now(w));
        if (t && (!next || t < next)) {
            next = t;
        }
    }
    return next;
}
