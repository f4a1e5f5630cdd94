/* SPDX-License-Identifier: MIT */
/*
 * shard_run.c -- the ACME worker's side of regional shards: the key an
 * order uses (the one whose TLSA record is already published), the state a
 * shard's issuance leaves (TLSA set, next key, retirement of the previous
 * key), when a shard is due (retirement, probes) and its maintenance: TLSA
 * retirement and TLS probes of its load balancers, run concurrently with a
 * bounded total time (in cluster mode every node probes, see deploy.c).
 * Called by the worker's own files (order_int.h); uses shard.h below it.
 */
#include "acme/order.h"
#include "acme/order_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/certdb.h"
#include "acme/csr.h"
#include "acme/shard.h"
#include "zones/base/log.h"

/* each probe (connect + handshake); all of a shard's run at once */
#define ACME_PROBE_TIMEOUT_MS 3000

EVP_PKEY *shard_order_key(step_t *st, acme_keytype_t kt)
{
    json_t *ss = json_object_get(st->state, "shard");
    EVP_PKEY *k = NULL;
    if (ss && *acme_js(ss, "next_key") && acme_key_from_pem(acme_js(ss, "next_key"), &k) == 0 &&
        acme_key_type(k) == kt) {
        return k; /* its TLSA record has been published since the last issuance */
    }
    EVP_PKEY_free(k);
    return NULL;
}

int shard_issued(acme_worker_t *w, step_t *st, EVP_PKEY *key, const char *serial)
{
    json_t *ss = json_object_get(st->state, "shard");
    if (!ss) {
        ss = json_object();
        json_object_set_new(st->state, "shard", ss);
    }
    json_t *sh = acme_shard_of(st->req);
    time_t now = acme_worker_now(w);
    long ttl = acme_ji(sh, "ttl") ? (long)acme_ji(sh, "ttl") : ACME_SHARD_TTL_DEFAULT;
    char *cur = acme_spki_sha256(key);
    char old[80];
    snprintf(old, sizeof(old), "%s", acme_js(ss, "spki"));
    /* the next key, published from now on */
    acme_keytype_t kt = acme_key_type(key);
    EVP_PKEY *next = NULL;
    if (!cur || acme_key_generate(kt, &next) != 0) {
        free(cur);
        snprintf(st->err, sizeof(st->err), "cannot make the shard's next key");
        return -1;
    }
    char *npem = acme_key_pem(next), *nspki = acme_spki_sha256(next);
    EVP_PKEY_free(next);
    json_t *tlsa = json_array();
    json_array_append_new(tlsa, json_string(cur));
    json_array_append_new(tlsa, json_string(nspki));
    json_t *retire = json_object_get(ss, "retire");
    if (!json_is_array(retire)) {
        retire = json_array();
        json_object_set_new(ss, "retire", retire);
    }
    /* the previous key stays until every cache has seen the switch:
     * the TTL, plus time for the load balancers to take the new bundle */
    if (old[0] && strcmp(old, cur) != 0) {
        json_array_append_new(retire, json_pack("{s:s, s:I}", "spki", old, "at",
                                                (json_int_t)(now + ttl + 60)));
    }
    size_t i;
    json_t *r;
    json_array_foreach(retire, i, r)
    {
        const char *h = acme_js(r, "spki");
        if (strcmp(h, cur) != 0 && strcmp(h, nspki) != 0) {
            json_array_append_new(tlsa, json_string(h));
        }
    }
    json_object_set_new(ss, "tlsa", tlsa);
    set_int(ss, "gen", acme_ji(ss, "gen") + 1);
    set_str(ss, "serial", serial);
    set_str(ss, "spki", cur);
    set_str(ss, "next_spki", nspki);
    set_str(ss, "next_key", npem ? npem : "");
    set_int(ss, "probe_at", now); /* probe right after deployment */
    acme_secret_free(npem);
    free(nspki);
    free(cur);
    st->shard_rewrite = true;
    st->shard_deploy = true;
    return 0;
}

time_t shard_due(const acme_worker_t *w, json_t *req, json_t *state)
{
    json_t *ss = json_object_get(state, "shard");
    if (!acme_shard_of(req) || !ss) {
        return 0;
    }
    /* in a cluster every node probes from its own site (ord_deploy_sites) */
    time_t due = w->zc ? 0 : (time_t)acme_ji(ss, "probe_at");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(ss, "retire"), i, r)
    {
        time_t at = (time_t)acme_ji(r, "at");
        if (at && (!due || at < due)) {
            due = at;
        }
    }
    return due;
}

json_t *shard_probe_health(acme_worker_t *w, const char *id, json_t *req, json_t *state,
                           json_t *prev, time_t now)
{
    json_t *sh = acme_shard_of(req);
    const char *want = acme_js(json_object_get(state, "cert"), "serial");
    const char *sni = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(req, "names"), i, x)
    {
        if (!sni && json_string_value(x)[0] != '*') {
            sni = json_string_value(x);
        }
    }
    if (!sni) {
        sni = json_string_value(json_array_get(json_object_get(req, "names"), 0)) + 2;
    }
    json_t *lbs = json_array();
    bool all = true;
    /* every load balancer at once: the ACME thread waits one probe timeout, not one per LB */
    acme_probe_t probes[ACME_SHARD_LB_MAX];
    int n = 0;
    memset(probes, 0, sizeof(probes));
    json_array_foreach(json_object_get(sh, "lb"), i, x)
    {
        if (n == ACME_SHARD_LB_MAX) {
            break;
        }
        probes[n].sni = sni;
        if (acme_shard_lb_parse(json_string_value(x), &probes[n].lb) != 0) {
            probes[n].rc = -1;
            snprintf(probes[n].why, sizeof(probes[n].why), "not an address");
        }
        n++;
    }
    acme_tls_probe_all(probes, n, ACME_PROBE_TIMEOUT_MS);
    json_array_foreach(json_object_get(sh, "lb"), i, x)
    {
        if ((int)i >= n) {
            break;
        }
        const char *serial = probes[i].serial;
        char *why = probes[i].why;
        size_t whycap = sizeof(probes[i].why);
        int rc = probes[i].rc;
        bool ok = rc == 0 && strcmp(serial, want) == 0;
        if (rc == 0 && !ok) {
            snprintf(why, whycap, "presents serial %s, not %s", serial, want);
        }
        all = all && ok;
        json_array_append_new(lbs, json_pack("{s:s, s:s, s:b, s:s}", "lb", json_string_value(x),
                                             "serial", serial, "ok", ok, "error", why));
        /* log a change of verdict, not every failing probe */
        bool was_ok = true;
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(prev, "lbs"), k, p)
        {
            if (strcmp(acme_js(p, "lb"), json_string_value(x)) == 0) {
                was_ok = json_is_true(json_object_get(p, "ok")) &&
                         strcmp(acme_js(p, "serial"), serial) == 0;
            }
        }
        if (!ok && was_ok) {
            log_warn("acme: %s: load balancer %s: %s", id, json_string_value(x), why);
        } else if (!ok) {
            log_debug("acme: %s: load balancer %s: %s", id, json_string_value(x), why);
        } else if (!was_ok) {
            log_info("acme: %s: load balancer %s presents serial %s", id, json_string_value(x),
                     serial);
        }
    }
    json_t *cert = json_object_get(state, "cert");
    long long left = acme_ji(cert, "not_after") - (long long)now;
    bool fresh = cert && left > (long long)w->cfg.shard_alert_s;
    if (!fresh && cert) {
        log_warn("acme: %s: certificate expires in %lld s (alert threshold %ld s)", id, left,
                 w->cfg.shard_alert_s);
    }
    return json_pack("{s:I, s:b, s:b, s:o}", "checked", (json_int_t)now, "healthy", all && fresh,
                     "lbs_ok", all, "lbs", lbs);
}

/* probe every load balancer of the shard; health into state.shard.health */
static void shard_probe(acme_worker_t *w, step_t *st, time_t now)
{
    json_t *ss = json_object_get(st->state, "shard");
    json_object_set_new(ss, "health",
                        shard_probe_health(w, st->id, st->req, st->state,
                                           json_object_get(ss, "health"), now));
    set_int(ss, "probe_at", now + w->cfg.shard_probe_interval_s);
}

int shard_maintain(acme_worker_t *w, step_t *st, time_t now)
{
    json_t *ss = json_object_get(st->state, "shard");
    json_t *retire = json_object_get(ss, "retire");
    bool changed = false;
    for (size_t i = 0; i < json_array_size(retire);) {
        json_t *r = json_array_get(retire, i);
        if (acme_ji(r, "at") <= now) {
            const char *h = acme_js(r, "spki");
            json_t *tlsa = json_object_get(ss, "tlsa");
            for (size_t k = 0; k < json_array_size(tlsa); k++) {
                if (strcmp(json_string_value(json_array_get(tlsa, k)), h) == 0) {
                    json_array_remove(tlsa, k);
                    break;
                }
            }
            log_info("acme: %s: TLSA for the previous key %.16s... retired", st->id, h);
            json_array_remove(retire, i);
            changed = true;
        } else {
            i++;
        }
    }
    if (changed) {
        st->shard_rewrite = true;
    }
    if (!w->zc && acme_ji(ss, "probe_at") && acme_ji(ss, "probe_at") <= now) {
        shard_probe(w, st, now);
    }
    return STEP_NEXT;
}
