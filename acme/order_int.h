/* SPDX-License-Identifier: MIT */
/*
 * order_int.h -- private to the ACME worker's own files (worker.c,
 * account.c, order.c, schedule.c, deploy.c, shard_run.c, rollout_run.c): the
 * worker, its per-CA clients, one step's working set and the functions they
 * share. Not an API: nothing outside acme/ includes it, and no header of acme/
 * includes it (so no two files of the folder include each other).
 */
#ifndef DNSD_ACME_ORDER_INT_H
#define DNSD_ACME_ORDER_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "acme/client.h"
#include "acme/hook.h"
#include "acme/order.h"

typedef struct ca {
    char *dir;
    acme_client_t *c;
    EVP_PKEY *key;
    time_t backoff_until; /* after an error from this CA, no new order before this */
} ca_t;

struct acme_worker {
    acme_cfg_t cfg;
    zs_store_t *s;
    ca_t cas[ACME_CAS_MAX];
    int ncas;
    acme_stats_t st;
    int inflight; /* orders in flight, counted per scan */
    volatile int *stop; /* acme_worker_run's stop flag: hooks end early when raised */
    zc_t *zc;           /* cluster mode, or NULL (standalone) */
    json_t *locks;      /* cluster: task locks this node holds, {name: true} */
    struct ro_mem *ro;  /* rollout_run.c: the running rollouts' evidence windows */
    int nro;
    struct ro_pub *pub; /* rollout_run.c, cluster: evidence this node publishes */
    int npub;
};

/* what a step decided */
enum {
    STEP_NEXT = 0,   /* state advanced; the next step may run at once */
    STEP_WAIT,       /* come back at state.next_try */
    STEP_TRANSIENT,  /* keep the order, back off */
    STEP_FAIL,       /* end the order (TXT removed), back off, then a new one */
};

/* one step's work: the certificate (a copy), what to write, what to log */
typedef struct step {
    const char *id;
    json_t *req;
    json_t *state;      /* modified in place, written back */
    json_t *txt_add;    /* [[owner, value]...] written in the same txn */
    json_t *txt_del;
    json_t *http_add;   /* HTTP-01: [[token, keyauth]...] "http01:" records, same txn */
    json_t *http_del;   /* [token...] */
    bool issued;        /* a new certificate: write files, run the hook after commit */
    bool shard_rewrite; /* rewrite the shard's region records in the same txn */
    bool shard_deploy;  /* after commit: bundle, crt-list, region hook, probe */
    long retry_after_s; /* from the CA, -1 if none */
    bool reset_account;
    bool ca_forgot;     /* a STEP_FAIL because the CA lost the order or account: not final */
    json_t *base;       /* cluster: the state the step started from (stale-state check) */
    time_t ca_backoff;  /* cluster: the CA's backoff to store with the step (0: none) */
    const char *ca_dir; /* ... for this directory */
    char err[1700];
} step_t;

static inline void set_str(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, json_string(v));
}

static inline void set_int(json_t *o, const char *k, long long v)
{
    json_object_set_new(o, k, json_integer((json_int_t)v));
}

/* ---- worker.c ---- */

/**
 * Cluster mode: take task lock @p name for the work on @p what (logs);
 * @return 0 when this node holds it, the store then caught up with the
 * cluster's log; 1 when another node holds it or etcd cannot be asked.
 */
int ord_cluster_lock(acme_worker_t *w, const char *name, const char *what);
/** Release it (errors logged: the lock goes with the node lease anyway). */
void ord_cluster_unlock(acme_worker_t *w, const char *name, const char *what);

/* ---- account.c ---- */

/** Copy client @p c's error into @p st and classify it: STEP_TRANSIENT or STEP_FAIL. */
int ord_client_failure(step_t *st, acme_client_t *c, const char *what);
/**
 * The client for CA directory @p dir with its directory fetched and an
 * account registered (key from the store, else made and saved first).
 * @return STEP_NEXT with *@p out ready, else a STEP_* code with st->err.
 */
int ord_ca_ready(acme_worker_t *w, const char *dir, ca_t **out, step_t *st);
/** Run what dnsctl asked of accounts; @return the earliest retry time (0: none). */
time_t ord_accounts_run(acme_worker_t *w);

/* ---- order.c: the steps ---- */

/** The request's CA directory, else the configured one ("" if neither). */
const char *ord_cert_dir_url(acme_worker_t *w, json_t *req);
/** The order in flight in st->state, or NULL. */
json_t *ord_order_of(step_t *st);
/** Queue the removal of every challenge record (TXT, HTTP-01) of the order in flight. */
void ord_txt_remove_all(step_t *st);
/**
 * Answer every challenge of the order in flight not answered yet (POST {}
 * to its URL, RFC 8555 7.5.1); the order moves to "responded".
 * @return STEP_NEXT or the client's failure (ord_client_failure).
 */
int ord_answer_challenges(acme_worker_t *w, step_t *st);
/** newOrder for st->req. @return a STEP_* code. */
int ord_step_new_order(acme_worker_t *w, step_t *st);
/** The next step of the order in flight (authz ... download). @return a STEP_* code. */
int ord_step_order(acme_worker_t *w, step_t *st);
/** revokeCert for the current certificate. @return a STEP_* code. */
int ord_step_revoke(acme_worker_t *w, step_t *st);

/* ---- http01_run.c: the worker's side of HTTP-01 (RFC 8555 8.3) ---- */

/** The challenge type request @p req asks for: "http-01" or "dns-01" (the default). */
const char *ord_challenge_type(json_t *req);
/** Is challenge entry @p ch of an order (order.c's "challenges") an HTTP-01 one? */
bool ord_ch_is_http(json_t *ch);
/**
 * Authorization @p az for @p name (normalised, from acme_authz_name), HTTP-01
 * asked: pick its http-01 challenge and queue its key authorization
 * (token "." thumbprint @p tp) in st->http_add. @return the challenge entry
 * for the order (new reference), or NULL with st->err set (a wildcard name,
 * no http-01 challenge offered, an unusable token).
 */
json_t *ord_http01_challenge(step_t *st, json_t *az, json_t *authz_url, const char *name,
                             const char *tp);
/**
 * Published, HTTP-01 (after the cluster's applied-revision wait): does each
 * of our http01-listen addresses answer every challenge's path, asked with
 * Host: the identifier, with exactly its key authorization? Then answer the
 * challenges. @return STEP_NEXT (answered), STEP_WAIT (not yet; next_try
 * set), STEP_FAIL (no http01-listen, or not served within
 * acme-propagation-timeout) or a client failure. Blocks at most about
 * acme-http-timeout.
 */
int ord_http01_check(acme_worker_t *w, step_t *st);

/* ---- schedule.c ---- */

/** A renewal time for @p cert: renew-fraction of its lifetime left, less jitter. */
time_t ord_renew_time(const acme_worker_t *w, json_t *cert);
bool ord_revoke_wanted(json_t *req, json_t *state);
/** Is a deployment (files, hooks) of the current certificate still to do? */
bool ord_deploy_pending(json_t *state);
/** When the certificate needs a step: 0 never (until a request changes). */
time_t ord_due_at(const acme_worker_t *w, json_t *req, json_t *state, time_t now);
/** Does the certificate need a new order now? */
bool ord_issue_wanted(const acme_worker_t *w, json_t *req, json_t *state, time_t now);
/** Seconds to wait after @p failures errors: Retry-After when given, else jittered backoff. */
long ord_backoff_s(const acme_worker_t *w, long failures, long retry_after);
/** Ask the CA's renewalInfo (ARI) when due; results in st->state. */
void ord_ari_check(acme_worker_t *w, step_t *st, time_t now);

/* ---- deploy.c ---- */

int ord_write_file(const char *dir, const char *name, const char *data, mode_t mode);
/**
 * Run hook @p cmd (hook.h) with extra environment @p vars ("K=V",
 * NULL-terminated), bounded by deploy-timeout and the worker's stop flag;
 * logs the outcome. @return as acme_hook_run, @p res filled.
 */
int ord_run_command(acme_worker_t *w, const char *id, const char *cmd, const char *const *vars,
                    acme_hook_result_t *res);
/**
 * After the commit of a new certificate (or a pending deployment): files,
 * hooks; the outcome saved in state.deploy, or left pending when shutdown
 * cut it short.
 */
void ord_deploy(acme_worker_t *w, step_t *st, time_t now);

/**
 * Cluster mode: deploy on this node every issued certificate it has not
 * deployed yet (files, hooks) and probe the shards' load balancers when
 * due; the outcome under "deploy:<id>:<node>". @return the next probe
 * time (0: none).
 */
time_t ord_deploy_sites(acme_worker_t *w, time_t now);

/**
 * A shard's bundle and crt-list in cert-dir/regions/<R>/ (or, @p canary,
 * cert-dir/regions/<R>/canary/ with the request's canary_hook) for
 * certificate @p cert, then the hook. @return as shard_deploy: 0, -EINTR,
 * or an error with @p err set; @p hr says how the hook ended.
 */
int ord_shard_bundle(acme_worker_t *w, const char *id, json_t *req, json_t *cert, bool canary,
                     acme_hook_result_t *hr, char *err, size_t errcap);

/* ---- rollout_run.c: the certificate rollout controller (acme/rollout.h) ---- */

/** Does a new certificate for this shard become a rollout's candidate? */
bool rollout_wanted(const acme_worker_t *w, json_t *req, json_t *state);
/** Start, tick, steer and end the rollouts; @return the next due time (0: none). */
time_t rollout_run(acme_worker_t *w, time_t now);
/** Free the controller's memory. */
void rollout_free(acme_worker_t *w);

/* ---- shard_run.c: the worker's side of shards ---- */

EVP_PKEY *shard_order_key(step_t *st, acme_keytype_t kt);
int shard_issued(acme_worker_t *w, step_t *st, EVP_PKEY *key, const char *serial);
time_t shard_due(const acme_worker_t *w, json_t *req, json_t *state);
int shard_maintain(acme_worker_t *w, step_t *st, time_t now);
/**
 * Probe the load balancers of shard certificate @p id (@p req, @p state)
 * from this node: @return the health object {checked, healthy, lbs_ok,
 * lbs [{lb, serial, ok, error}]}; @p prev (the last one, or NULL) only
 * decides what is logged.
 */
json_t *shard_probe_health(acme_worker_t *w, const char *id, json_t *req, json_t *state,
                           json_t *prev, time_t now);

#endif
