/* SPDX-License-Identifier: MIT */
/*
 * order.h -- the ACME worker: turns the certificate requests in the store
 * (certdb.h) into certificates. Driven by dnsd's ACME thread (dnsd/certs.c):
 * acme_worker_run() does every step that is due and says when to call it
 * again. Blocking network I/O, on its own thread, never on a query worker;
 * every call bounded by acme-http-timeout (HTTP), deploy-timeout (hooks) or
 * a few seconds (DNS visibility queries, TLS probes). Implemented by
 * worker.c, account.c, order.c, schedule.c, deploy.c and shard_run.c, which
 * share order_int.h.
 *
 * DESIGN. Every certificate is a small state machine persisted in the
 * store after each step, so a dnsd killed at any point resumes the same
 * order on restart instead of leaking a new one:
 *
 *   (no order) --newOrder--> authz --fetch authzs, write TXT--> published
 *   published --TXT visible on every reachable NS, answer challenges--> responded
 *   responded --order ready--> finalize --CSR--> processing --> download
 *   download --chain checked, stored, TXT removed--> (valid; files + hook)
 *
 * Each step is one or a few HTTP exchanges followed by ONE write
 * transaction holding the new state together with any TXT records it adds
 * or removes, so the store never has a challenge record without the order
 * that explains it. Failures are of two kinds: transient (no answer, 5xx,
 * rateLimited) keep the order and retry after Retry-After or a jittered
 * exponential backoff; final ones (the order or an authorization went
 * invalid, the CA lost the order or the account) end the order, remove its
 * TXT records and start a new one after the backoff. Nothing retries in a
 * tight loop: the backoff floor is one second.
 */
#ifndef DNSD_ACME_ORDER_H
#define DNSD_ACME_ORDER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "acme/jws.h"
#include "acme/rollout.h"
#include "zones/cluster.h"
#include "zones/store.h"

#define ACME_SELF_MAX 16
#define ACME_CAS_MAX  8

typedef struct acme_cfg {
    char directory[1024];     /* default CA directory URL ("" = ACME off) */
    char ca_bundle[4096];     /* trusted roots for the CA's HTTPS ("" = system) */
    char contact[1024];       /* comma-separated mailto: URIs */
    bool agree_tos;
    char eab_kid[256];
    char eab_hmac[512];
    acme_keytype_t account_key;
    acme_keytype_t cert_key;  /* default for requests that name none */
    char cert_dir[4096];      /* PEM files go to cert_dir/<id>/ ("" = none) */
    char deploy_hook[4096];   /* /bin/sh -c command after each new certificate */
    long deploy_timeout_s;
    char preferred_chain[256]; /* issuer CN of the chain's top certificate to prefer */
    long backoff_min_s, backoff_max_s;
    long propagation_timeout_s; /* give up waiting for TXT visibility after this */
    long challenge_delay_s;     /* extra wait after publishing, before answering */
    long http_timeout_s;
    bool check_ns;            /* also check the zone's NS hosts we know addresses for */
    double renew_fraction;    /* renew when this share of the lifetime remains (1/3) */
    long long clock_offset_s; /* added to the wall clock (tests of expiry paths) */
    int max_orders;           /* orders in flight at once, all certificates (4) */
    long shard_alert_s;       /* a shard is unhealthy with less validity left (14 days) */
    long shard_probe_interval_s; /* TLS probes of the load balancers (300) */
    struct sockaddr_storage self[ACME_SELF_MAX]; /* our own listen addresses, real ports */
    int nself;
    /* HTTP-01: dnsd's own http01-listen addresses (real ports), checked
     * before a challenge is answered; none: HTTP-01 cannot be answered here */
    struct sockaddr_storage http01_self[ACME_SELF_MAX];
    int nhttp01_self;
    /* DNS-01 through a delegated _acme-challenge CNAME: the recursive
     * resolver that finds a customer's authoritative servers (ss_family 0:
     * the first nameserver of /etc/resolv.conf) and the port those servers
     * are asked on (53; another only in tests and labs) */
    struct sockaddr_storage resolver;
    unsigned delegation_ns_port;
    /* rollout evidence (acme/rollout.h): set by dnsd; NULL: none, so
     * running rollouts hold until a source is configured */
    acme_evidence_fn evidence;
    void *evidence_arg;
} acme_cfg_t;

typedef struct acme_worker acme_worker_t;

void acme_cfg_defaults(acme_cfg_t *c);

/** A worker on store @p s with settings @p cfg (copied). */
acme_worker_t *acme_worker_new(zs_store_t *s, const acme_cfg_t *cfg);
void acme_worker_free(acme_worker_t *w);

/**
 * Cluster mode (zones/cluster.h; NULL, the default: standalone). The store
 * is then one replica of the cluster's state, so the worker:
 *  - takes task lock "order/<cert id>" (zc_try_lock) before any step of a
 *    certificate (new order, renewal, resume, revocation, ARI, TLSA
 *    retirement) and skips certificates another node holds; keeps it while
 *    an order is in flight, releases it when the order ends or backs off;
 *    after taking it, catches the store up with the log (an empty write
 *    txn) before reading the state, so it resumes the persisted order
 *    (same URL) instead of placing a second one;
 *  - drops a step's result when zc_lease_ok() is false (the lock may have
 *    moved: the next holder resumes from the stored state);
 *  - answers a DNS-01 or HTTP-01 challenge only after zc_wait_applied() saw
 *    every live node apply the store's position holding the TXT records or
 *    the "http01:" key authorizations (http01.h), so any node can answer;
 *  - keeps a CA's backoff in the store ("ca:<directory>"), so it holds for
 *    every node;
 *  - deploys on every node: each node writes the PEM files / shard bundle
 *    of every issued certificate it has not deployed yet, runs its hooks,
 *    probes the shard's load balancers and records the outcome under
 *    "deploy:<cert id>:<node>" (certdb.h).
 * Call before the first acme_worker_run(); @p zc must outlive the worker.
 */
void acme_worker_set_cluster(acme_worker_t *w, zc_t *zc);

/** Replace the settings (the bound addresses in self[] and http01_self[] are kept); CA
 * clients are made anew. */
void acme_worker_set_cfg(acme_worker_t *w, const acme_cfg_t *cfg);

/** The worker's clock: wall time plus the configured offset. */
time_t acme_worker_now(const acme_worker_t *w);

/**
 * Do every step that is due now (each certificate advances at most a few
 * steps per call, round robin). @return the time of the next due step, or
 * 0 when nothing is scheduled (new requests are noticed by the caller
 * through the store's generation counter). @p stop is polled between steps.
 */
time_t acme_worker_run(acme_worker_t *w, volatile int *stop);

/**
 * Check an authorization object @p authz from the CA against the names
 * ordered (@p names, a JSON array of strings): its identifier must be of
 * type dns and, with "*." when "wildcard" is true, equal one of them (case
 * ignored). @return 0 with the normalised name ("*.example.com") in
 * @p name; DNSD_EMALFORMED with @p why set otherwise, e.g. a CA that
 * answers with an identifier never ordered (no TXT record may be written
 * for it). Pure; any thread.
 */
int acme_authz_name(json_t *names, json_t *authz, char *name, size_t cap, char *why,
                    size_t whycap);

/** Counters for logs and tests. */
typedef struct acme_stats {
    unsigned long orders, issued, failed_orders, transient_errors, bad_nonces, requests, revoked;
} acme_stats_t;
void acme_worker_stats(const acme_worker_t *w, acme_stats_t *out);

#endif
