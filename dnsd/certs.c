/* SPDX-License-Identifier: MIT */
/*
 * certs.c -- the ACME thread and its settings (see certs.h).
 */
#include "dnsd/certs.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/jws.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"

#define CERTS_POLL_MS 250 /* how often the store's generation is checked for new requests */

struct certs {
    zs_store_t *s;
    acme_worker_t *w;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    volatile int stop;
    acme_cfg_t pending; /* from certs_update, under mu */
    bool has_pending;
};

__attribute__((format(printf, 2, 3))) static void diag_text(diag_t *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text, sizeof(d->text), fmt, ap);
    va_end(ap);
}

static const char *const string_keys[] = {
    "acme-directory", "acme-ca-bundle", "acme-contact", "acme-eab-kid", "acme-eab-hmac-key",
    "cert-dir", "deploy-hook", "acme-preferred-chain",
};
static const char *const num_keys[] = {
    "acme-backoff-min", "acme-backoff-max", "acme-propagation-timeout", "acme-challenge-delay",
    "acme-http-timeout", "deploy-timeout", "clock-offset", "acme-max-orders", "shard-alert",
    "shard-probe-interval",
};
static const char *const other_keys[] = {
    "acme-agree-tos", "acme-check-ns", "acme-account-key", "acme-cert-key", "acme-renew-fraction",
    "acme-resolver", "acme-delegation-ns-port",
};

bool certs_config_key(const char *key)
{
    for (size_t i = 0; i < sizeof(string_keys) / sizeof(string_keys[0]); i++) {
        if (strcmp(key, string_keys[i]) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < sizeof(num_keys) / sizeof(num_keys[0]); i++) {
        if (strcmp(key, num_keys[i]) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < sizeof(other_keys) / sizeof(other_keys[0]); i++) {
        if (strcmp(key, other_keys[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "off") == 0) {
        *out = false;
        return 0;
    }
    return DNSD_ECONFIG;
}

static int parse_long(const char *v, long long min, long long max, long long *out)
{
    return parse_num(v, min, max, out) == 0 ? 0 : DNSD_ECONFIG;
}

int certs_config_set(acme_cfg_t *c, const char *key, const char *value, diag_t *d)
{
    struct {
        const char *key;
        char *dst;
        size_t cap;
    } strs[] = {
        {"acme-directory", c->directory, sizeof(c->directory)},
        {"acme-ca-bundle", c->ca_bundle, sizeof(c->ca_bundle)},
        {"acme-contact", c->contact, sizeof(c->contact)},
        {"acme-eab-kid", c->eab_kid, sizeof(c->eab_kid)},
        {"acme-eab-hmac-key", c->eab_hmac, sizeof(c->eab_hmac)},
        {"cert-dir", c->cert_dir, sizeof(c->cert_dir)},
        {"deploy-hook", c->deploy_hook, sizeof(c->deploy_hook)},
        {"acme-preferred-chain", c->preferred_chain, sizeof(c->preferred_chain)},
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strcmp(key, strs[i].key) != 0) {
            continue;
        }
        if (strlen(value) >= strs[i].cap) {
            diag_text(d, "%s: value longer than %zu bytes", key, strs[i].cap - 1);
            return DNSD_ECONFIG;
        }
        if (strcmp(key, "acme-directory") == 0 && strncmp(value, "https://", 8) != 0) {
            diag_text(d, "%s: \"%s\" is not an https:// URL", key, value);
            return DNSD_ECONFIG;
        }
        if (strcmp(key, "acme-contact") == 0) {
            char buf[1024];
            snprintf(buf, sizeof(buf), "%s", value);
            for (char *sv = NULL, *t = strtok_r(buf, ", ", &sv); t; t = strtok_r(NULL, ", ", &sv)) {
                if (strncmp(t, "mailto:", 7) != 0 || !strchr(t, '@')) {
                    diag_text(d, "%s: \"%s\" is not a mailto: URI (mailto:ops@example.com)", key,
                              t);
                    return DNSD_ECONFIG;
                }
            }
        }
        snprintf(strs[i].dst, strs[i].cap, "%s", value);
        return 0;
    }
    struct {
        const char *key;
        long long min, max;
    } nums[] = {
        {"acme-backoff-min", 1, 86400},       {"acme-backoff-max", 1, 7 * 86400},
        {"acme-propagation-timeout", 1, 86400}, {"acme-challenge-delay", 0, 86400},
        {"acme-http-timeout", 1, 600},       {"deploy-timeout", 1, 86400},
        {"clock-offset", -(10LL * 365 * 86400), 10LL * 365 * 86400},
        {"acme-max-orders", 1, 1000},         {"shard-alert", 0, 365LL * 86400},
        {"shard-probe-interval", 1, 86400},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (strcmp(key, nums[i].key) != 0) {
            continue;
        }
        long long n;
        if (parse_long(value, nums[i].min, nums[i].max, &n) != 0) {
            diag_text(d, "%s: \"%s\" is not a number from %lld to %lld", key, value,
                      nums[i].min, nums[i].max);
            return DNSD_ECONFIG;
        }
        switch (i) {
        case 0: c->backoff_min_s = (long)n; break;
        case 1: c->backoff_max_s = (long)n; break;
        case 2: c->propagation_timeout_s = (long)n; break;
        case 3: c->challenge_delay_s = (long)n; break;
        case 4: c->http_timeout_s = (long)n; break;
        case 5: c->deploy_timeout_s = (long)n; break;
        case 6: c->clock_offset_s = n; break;
        case 7: c->max_orders = (int)n; break;
        case 8: c->shard_alert_s = (long)n; break;
        default: c->shard_probe_interval_s = (long)n; break;
        }
        return 0;
    }
    if (strcmp(key, "acme-agree-tos") == 0 || strcmp(key, "acme-check-ns") == 0) {
        bool b;
        if (parse_bool(value, &b) != 0) {
            diag_text(d, "%s: \"%s\" is not yes or no", key, value);
            return DNSD_ECONFIG;
        }
        if (key[5] == 'a') {
            c->agree_tos = b;
        } else {
            c->check_ns = b;
        }
        return 0;
    }
    if (strcmp(key, "acme-account-key") == 0 || strcmp(key, "acme-cert-key") == 0) {
        acme_keytype_t t = acme_keytype_parse(value);
        if (t == ACME_KEY_NONE) {
            diag_text(d, "%s: \"%s\" is not ec256|ec384|rsa2048|rsa3072|rsa4096", key, value);
            return DNSD_ECONFIG;
        }
        if (key[5] == 'a') {
            c->account_key = t;
        } else {
            c->cert_key = t;
        }
        return 0;
    }
    if (strcmp(key, "acme-resolver") == 0) {
        /* DNS-01 through a customer's CNAME: finds their authoritative servers */
        if (parse_hostport(value, 53, 1, &c->resolver, NULL) != 0) {
            diag_text(d, "%s: \"%s\" is not ADDR[:PORT] (e.g. 127.0.0.1:53, [::1]:53)", key,
                      value);
            return DNSD_ECONFIG;
        }
        return 0;
    }
    if (strcmp(key, "acme-delegation-ns-port") == 0) {
        long long n;
        if (parse_long(value, 1, 65535, &n) != 0) {
            diag_text(d, "%s: \"%s\" is not a port (1..65535)", key, value);
            return DNSD_ECONFIG;
        }
        c->delegation_ns_port = (unsigned)n;
        return 0;
    }
    if (strcmp(key, "acme-renew-fraction") == 0) {
        char *end;
        double f = strtod(value, &end);
        if (end == value || *end || !(f > 0.0 && f < 1.0)) {
            diag_text(d, "%s: \"%s\" is not a fraction between 0 and 1 (e.g. 0.33)", key, value);
            return DNSD_ECONFIG;
        }
        c->renew_fraction = f;
        return 0;
    }
    diag_text(d, "unknown setting \"%s\"", key);
    return DNSD_ECONFIG;
}

static uint64_t generation(zs_store_t *s)
{
    MDB_txn *txn;
    uint64_t g = 0;
    if (zs_read_begin(s, &txn) == 0) {
        zs_generation(s, txn, &g);
        zs_read_end(s, txn);
    }
    return g;
}

static void *certs_main(void *arg)
{
    certs_t *c = arg;
    uint64_t seen = (uint64_t)-1;
    time_t next = 0;
    while (!c->stop) {
        pthread_mutex_lock(&c->mu);
        if (c->has_pending) {
            acme_worker_set_cfg(c->w, &c->pending);
            c->has_pending = false;
            next = 0;
            seen = (uint64_t)-1; /* look at everything again under the new settings */
        }
        pthread_mutex_unlock(&c->mu);
        uint64_t g = generation(c->s);
        time_t now = acme_worker_now(c->w);
        if (g != seen || (next && now >= next)) {
            next = acme_worker_run(c->w, &c->stop);
            /* our own writes move the generation too: take it after the run */
            seen = generation(c->s);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += CERTS_POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&c->mu);
        if (!c->stop) {
            pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        }
        pthread_mutex_unlock(&c->mu);
    }
    return NULL;
}

certs_t *certs_start(zs_store_t *s, const acme_cfg_t *cfg, zc_t *zc)
{
    certs_t *c = xcalloc(1, sizeof(*c));
    c->s = s;
    c->w = acme_worker_new(s, cfg);
    acme_worker_set_cluster(c->w, zc);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    /* the thread must never take a signal: the main loop reads them from a
     * signalfd, which only works while every thread keeps them blocked */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, certs_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        acme_worker_free(c->w);
        free(c);
        return NULL;
    }
    log_info("acme: certificate worker started%s%s%s%s", cfg->directory[0] ? ", CA " : "",
             cfg->directory, zc ? ", cluster node " : "", zc ? zc_node(zc) : "");
    return c;
}

void certs_update(certs_t *c, const acme_cfg_t *cfg)
{
    if (!c) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->pending = *cfg;
    c->has_pending = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void certs_stop(certs_t *c)
{
    if (!c) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    acme_stats_t st;
    acme_worker_stats(c->w, &st);
    log_info("acme: stopped: %lu orders, %lu issued, %lu failed orders, %lu transient errors, "
             "%lu revoked, %lu requests, %lu badNonce retries",
             st.orders, st.issued, st.failed_orders, st.transient_errors, st.revoked, st.requests,
             st.bad_nonces);
    acme_worker_free(c->w);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
