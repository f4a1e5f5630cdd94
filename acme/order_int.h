/* SPDX-License-Identifier: MIT */
/*
 * order_int.h -- shared by the worker's own files (order.c, shard.c): the
 * worker, its per-CA clients and one step's working set. Not an API.
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
    bool issued;        /* a new certificate: write files, run the hook after commit */
    bool shard_rewrite; /* rewrite the shard's region records in the same txn */
    bool shard_deploy;  /* after commit: bundle, crt-list, region hook, probe */
    long retry_after_s; /* from the CA, -1 if none */
    bool reset_account;
    bool ca_forgot;     /* a STEP_FAIL because the CA lost the order or account: not final */
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

/**
 * Run hook @p cmd (hook.h) with extra environment @p vars ("K=V",
 * NULL-terminated), bounded by deploy-timeout and the worker's stop flag;
 * logs the outcome. @return as acme_hook_run, @p res filled.
 */
int ord_run_command(acme_worker_t *w, const char *id, const char *cmd, const char *const *vars,
                    acme_hook_result_t *res);

/* shard.c: the worker's side of regional shards */
EVP_PKEY *shard_order_key(step_t *st, acme_keytype_t kt);
int shard_issued(acme_worker_t *w, step_t *st, EVP_PKEY *key, const char *serial);
time_t shard_due(const acme_worker_t *w, json_t *req, json_t *state);
int shard_maintain(acme_worker_t *w, step_t *st, time_t now);
/**
 * After an issuance: the region's bundle and crt-list, then the shard's
 * hook. @return 0; -EINTR when the hook was cut short by shutdown; another
 * error with @p err set (@p hr says how the hook ended, text "" if none ran).
 */
int shard_deploy(acme_worker_t *w, step_t *st, acme_hook_result_t *hr, char *err, size_t errcap);

long ord_backoff_s(const acme_worker_t *w, long failures, long retry_after);
int ord_write_file(const char *dir, const char *name, const char *data, mode_t mode);

#endif
