/* SPDX-License-Identifier: MIT */
/*
 * schedule.c -- when the ACME worker acts: renewal times (a share of the
 * lifetime, jittered), what makes a certificate due (a request, an order in
 * flight, a pending deployment or revocation, the shard's TLSA retirement
 * and probes), the backoff after errors (Retry-After honoured), and the
 * CA's renewal information (ARI, RFC 9773). Called by the worker's own files
 * (order_int.h); only ord_ari_check makes a network call (bounded by
 * acme-http-timeout).
 */
#include "acme/order.h"
#include "acme/order_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/certdb.h"
#include "acme/client.h"
#include "acme/csr.h"
#include "acme/http.h"
#include "zones/base/log.h"

/*
 * When to renew @p cert: when renew-fraction of its lifetime remains, less
 * a random share of up to a tenth of that, so certificates issued together
 * do not all renew in the same second. Chosen once, at issuance.
 */
time_t ord_renew_time(const acme_worker_t *w, json_t *cert)
{
    time_t nb = (time_t)acme_ji(cert, "not_before"), na = (time_t)acme_ji(cert, "not_after");
    double window = (double)(na - nb) * w->cfg.renew_fraction;
    uint32_t rnd = 0;
    RAND_bytes((uint8_t *)&rnd, sizeof(rnd));
    double jitter = window * 0.1 * ((double)rnd / 4294967296.0);
    return na - (time_t)(window + jitter);
}

static time_t renew_at(const acme_worker_t *w, json_t *state, json_t *cert)
{
    time_t t = (time_t)acme_ji(state, "renew_at");
    if (!t) {
        time_t nb = (time_t)acme_ji(cert, "not_before"), na = (time_t)acme_ji(cert, "not_after");
        t = na - (time_t)((double)(na - nb) * w->cfg.renew_fraction);
    }
    return t;
}

bool ord_revoke_wanted(json_t *req, json_t *state)
{
    json_t *rv = json_object_get(req, "revoke");
    return rv && acme_ji(rv, "seq") > acme_ji(state, "revoked_seq") &&
           json_object_get(state, "cert") && !json_object_get(state, "order");
}

/* is a deployment (files, hooks) of the current certificate still to do? */
bool ord_deploy_pending(json_t *state)
{
    return json_is_true(json_object_get(json_object_get(state, "deploy"), "pending"));
}

/* when this certificate needs a step: 0 never (until a request changes) */
time_t ord_due_at(const acme_worker_t *w, json_t *req, json_t *state, time_t now)
{
    time_t next = (time_t)acme_ji(state, "next_try");
    time_t want = 0;
    json_t *cert = json_object_get(state, "cert");
    /* while a rollout's candidate exists (acme/rollout.h), renewals wait for its end */
    bool rolling = json_object_get(state, "candidate") != NULL;
    if (json_object_get(state, "order") || ord_revoke_wanted(req, state) || ord_deploy_pending(state) ||
        (!rolling && acme_ji(req, "seq") > acme_ji(state, "seq_done"))) {
        want = now;
    } else if (cert && !rolling && strcmp(acme_js(state, "status"), "valid") == 0) {
        want = renew_at(w, state, cert);
    }
    time_t ari = (time_t)acme_ji(state, "ari_next");
    if (cert && strcmp(acme_js(state, "status"), "valid") == 0 && (!want || ari < want)) {
        want = ari ? ari : now; /* 0: never asked yet */
    }
    time_t sd = shard_due(w, req, state);
    if (sd && (!want || sd < want)) {
        want = sd;
    }
    if (!want) {
        return 0;
    }
    return want > next ? want : next;
}

/* does the certificate need a new order now? */
bool ord_issue_wanted(const acme_worker_t *w, json_t *req, json_t *state, time_t now)
{
    if (json_object_get(state, "candidate")) {
        return false; /* a rollout runs (acme/rollout.h): renewals wait for its end */
    }
    if (acme_ji(req, "seq") > acme_ji(state, "seq_done")) {
        return true;
    }
    json_t *cert = json_object_get(state, "cert");
    return cert && strcmp(acme_js(state, "status"), "valid") == 0 &&
           renew_at(w, state, cert) <= now;
}

long ord_backoff_s(const acme_worker_t *w, long failures, long retry_after)
{
    if (retry_after >= 0) {
        /* the CA said when: honour it (floor 1 s, cap a day) */
        return retry_after < 1 ? 1 : retry_after > 86400 ? 86400 : retry_after;
    }
    long lo = w->cfg.backoff_min_s < 1 ? 1 : w->cfg.backoff_min_s;
    long d = lo;
    for (long i = 1; i < failures && d < w->cfg.backoff_max_s; i++) {
        d *= 2;
    }
    if (d > w->cfg.backoff_max_s) {
        d = w->cfg.backoff_max_s > lo ? w->cfg.backoff_max_s : lo;
    }
    /* jitter: [d/2, d], so many certificates failing together spread out */
    uint32_t rnd = 0;
    RAND_bytes((uint8_t *)&rnd, sizeof(rnd));
    long j = d / 2 + (long)(rnd % (uint32_t)(d / 2 + 1));
    return j < 1 ? 1 : j;
}

/* an RFC 3339 time ("2026-11-23T12:00:00Z", fractions and offsets allowed) */
static time_t rfc3339(const char *s)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) {
        return 0;
    }
    time_t t = timegm(&tm);
    if (*p == '.') {
        while (*++p >= '0' && *p <= '9') {
        }
    }
    if ((*p == '+' || *p == '-') && strlen(p) >= 6) {
        int off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
        t += *p == '+' ? -off : off;
    }
    return t;
}

/*
 * ARI (RFC 9773): when the CA offers renewalInfo, ask it when to renew and
 * take a random moment of its suggested window if that is earlier than our
 * own renewal time; asked again when its Retry-After says (6 hours when it
 * says nothing; between 1 hour and a day). A CA without ARI is noted and
 * looked at again daily.
 */
void ord_ari_check(acme_worker_t *w, step_t *st, time_t now)
{
    json_t *cert = json_object_get(st->state, "cert");
    if (!cert || strcmp(acme_js(st->state, "status"), "valid") != 0 ||
        acme_ji(st->state, "ari_next") > now) {
        return;
    }
    ca_t *ca;
    const char *dir = ord_cert_dir_url(w, st->req);
    if (!*dir || ord_ca_ready(w, dir, &ca, st) != STEP_NEXT) {
        set_int(st->state, "ari_next", now + 3600);
        st->err[0] = '\0';
        return;
    }
    const char *base = acme_client_url(ca->c, "renewalInfo");
    char *id = NULL;
    char url[2048];
    if (!base || !*base || acme_ari_cert_id(acme_js(cert, "pem"), &id) != 0 ||
        acme_ari_url(base, id, url, sizeof(url)) != 0) {
        free(id);
        set_int(st->state, "ari_next", now + 86400);
        json_object_set_new(st->state, "ari", json_pack("{s:b}", "offered", base && *base));
        return;
    }
    free(id);
    acme_resp_t r;
    long next = 6 * 3600;
    if (acme_http_do(ca->c->http, "GET", url, NULL, NULL, &r) == 0) {
        if (r.retry_after_s >= 0) {
            next = r.retry_after_s < 3600 ? 3600 : r.retry_after_s > 86400 ? 86400 : r.retry_after_s;
        }
        json_error_t je;
        json_t *j = r.status == 200 ? json_loads(r.body, 0, &je) : NULL;
        json_t *win = json_object_get(j, "suggestedWindow");
        time_t a = rfc3339(acme_js(win, "start")), b = rfc3339(acme_js(win, "end"));
        if (a && b && b >= a) {
            uint32_t rnd = 0;
            RAND_bytes((uint8_t *)&rnd, sizeof(rnd));
            time_t pick = a + (time_t)((double)(b - a) * ((double)rnd / 4294967296.0));
            json_object_set_new(st->state, "ari",
                                json_pack("{s:b, s:I, s:I, s:I, s:I}", "offered", 1, "start",
                                          (json_int_t)a, "end", (json_int_t)b, "chosen",
                                          (json_int_t)pick, "fetched", (json_int_t)now));
            if (pick < (time_t)acme_ji(st->state, "renew_at")) {
                log_info("acme: %s: the CA's renewal window (ARI) moves renewal to %lld", st->id,
                         (long long)pick);
                set_int(st->state, "renew_at", pick);
            }
        } else {
            log_warn("acme: %s: renewalInfo answered %ld without a usable window", st->id,
                     r.status);
        }
        json_decref(j);
        acme_resp_fini(&r);
    } else {
        log_warn("acme: %s: renewalInfo: %s", st->id, r.error);
    }
    set_int(st->state, "ari_next", now + next);
}
