/* SPDX-License-Identifier: MIT */
/*
 * client.c -- RFC 8555 requests, nonces, problems and account operations
 * (see client.h).
 */
#include "acme/client.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "acme/jws.h"
#include "acme/metrics.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"

acme_client_t *acme_client_new(const char *dir_url, const char *ca_bundle, long timeout_s)
{
    acme_client_t *c = xcalloc(1, sizeof(*c));
    c->http = acme_http_new(ca_bundle, timeout_s, "dnsd-acme/" PACKAGE_VERSION);
    if (!c->http) {
        free(c);
        return NULL;
    }
    c->dir_url = xstrdup(dir_url);
    c->retry_after_s = -1;
    return c;
}

void acme_client_free(acme_client_t *c)
{
    if (!c) {
        return;
    }
    acme_http_free(c->http);
    json_decref(c->dir);
    for (int i = 0; i < c->nnonces; i++) {
        free(c->nonces[i]);
    }
    free(c->dir_url);
    free(c->kid);
    free(c);
}

void acme_client_fail(acme_client_t *c, const char *fmt, ...)
{
    memset(&c->prob, 0, sizeof(c->prob));
    c->retry_after_s = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
}

void acme_problem_from_json(json_t *j, long status, acme_problem_t *p)
{
    memset(p, 0, sizeof(*p));
    p->status = status;
    if (!json_is_object(j)) {
        return;
    }
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *detail = json_string_value(json_object_get(j, "detail"));
    json_int_t st = json_integer_value(json_object_get(j, "status"));
    snprintf(p->type, sizeof(p->type), "%s", type ? type : "");
    snprintf(p->detail, sizeof(p->detail), "%s", detail ? detail : "");
    if (st > 0) {
        p->status = (long)st;
    }
    json_t *subs = json_object_get(j, "subproblems");
    size_t i, off = 0;
    json_t *s;
    json_array_foreach(subs, i, s)
    {
        const char *id = json_string_value(json_object_get(json_object_get(s, "identifier"), "value"));
        const char *stype = json_string_value(json_object_get(s, "type"));
        const char *sdet = json_string_value(json_object_get(s, "detail"));
        int n = snprintf(p->sub + off, sizeof(p->sub) - off, "%s%s: %s: %s", off ? "; " : "",
                         id ? id : "?", stype ? stype : "?", sdet ? sdet : "");
        if (n < 0 || (size_t)n >= sizeof(p->sub) - off) {
            break;
        }
        off += (size_t)n;
    }
}

void acme_problem_format(const acme_problem_t *p, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "HTTP %ld: %s: %s%s%s%s", p->status,
                     p->type[0] ? p->type : "(no type)", p->detail, p->sub[0] ? " [" : "", p->sub,
                     p->sub[0] ? "]" : "");
    if (n >= (int)cap && cap > 4) {
        memcpy(buf + cap - 4, "...", 4); /* say it was cut */
    }
}

/* an error answer: parse its problem document */
static void take_problem(acme_client_t *c, const acme_resp_t *r, const char *url)
{
    json_error_t je;
    json_t *j = r->body ? json_loads(r->body, 0, &je) : NULL;
    acme_problem_from_json(j, r->status, &c->prob);
    json_decref(j);
    acme_metrics_problem(c->prob.type);
    c->retry_after_s = r->retry_after_s;
    char line[1400];
    acme_problem_format(&c->prob, line, sizeof(line));
    snprintf(c->err, sizeof(c->err), "%.1300s (%.190s)", line, url);
}

int acme_client_directory(acme_client_t *c)
{
    if (c->dir) {
        return 0;
    }
    acme_resp_t r;
    c->requests++;
    if (acme_http_do(c->http, "GET", c->dir_url, NULL, NULL, &r) != 0) {
        acme_client_fail(c, "directory: %s", r.error);
        return DNSD_ENET;
    }
    if (r.status != 200) {
        take_problem(c, &r, c->dir_url);
        acme_resp_fini(&r);
        return DNSD_EACME;
    }
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    acme_resp_fini(&r);
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "newNonce")) ||
        !json_is_string(json_object_get(j, "newAccount")) ||
        !json_is_string(json_object_get(j, "newOrder"))) {
        json_decref(j);
        acme_client_fail(c, "%s: not an ACME directory (newNonce, newAccount, newOrder missing)",
                         c->dir_url);
        c->prob.status = 200;
        return DNSD_EACME;
    }
    c->dir = j;
    return 0;
}

const char *acme_client_url(acme_client_t *c, const char *name)
{
    return c->dir ? json_string_value(json_object_get(c->dir, name)) : NULL;
}

const char *acme_client_tos(acme_client_t *c)
{
    return c->dir ? json_string_value(json_object_get(json_object_get(c->dir, "meta"),
                                                      "termsOfService"))
                  : NULL;
}

bool acme_client_eab_required(acme_client_t *c)
{
    return c->dir &&
           json_is_true(json_object_get(json_object_get(c->dir, "meta"), "externalAccountRequired"));
}

void acme_client_set_account(acme_client_t *c, EVP_PKEY *key, const char *kid)
{
    c->key = key;
    char *copy = kid && *kid ? xstrdup(kid) : NULL; /* @p kid may be c->kid itself */
    free(c->kid);
    c->kid = copy;
}

static void nonce_push(acme_client_t *c, const char *n)
{
    if (!n || !*n) {
        return;
    }
    if (c->nnonces == ACME_NONCE_POOL) {
        /* drop the oldest: the newest are the least likely to have expired */
        free(c->nonces[0]);
        memmove(c->nonces, c->nonces + 1, sizeof(c->nonces[0]) * (ACME_NONCE_POOL - 1));
        c->nnonces--;
    }
    c->nonces[c->nnonces++] = xstrdup(n);
}

static char *nonce_take(acme_client_t *c)
{
    if (c->nnonces > 0) {
        return c->nonces[--c->nnonces];
    }
    const char *url = acme_client_url(c, "newNonce");
    acme_resp_t r;
    c->requests++;
    if (acme_http_do(c->http, "HEAD", url, NULL, NULL, &r) != 0) {
        acme_client_fail(c, "newNonce: %s", r.error);
        return NULL;
    }
    char *n = NULL;
    if ((r.status == 200 || r.status == 204) && r.nonce[0]) {
        n = xstrdup(r.nonce);
    } else {
        take_problem(c, &r, url);
    }
    acme_resp_fini(&r);
    return n;
}

static int client_post(acme_client_t *c, const char *url, const char *payload, bool use_jwk,
                       acme_resp_t *r);

int acme_client_post(acme_client_t *c, const char *url, const char *payload, bool use_jwk,
                     acme_resp_t *r)
{
    /* the whole exchange (directory, nonce, POST, badNonce retries) within
     * one acme-http-timeout: the ACME thread never blocks longer */
    acme_http_deadline(c->http, acme_http_deadline_in(c->http));
    int err = client_post(c, url, payload, use_jwk, r);
    acme_http_deadline(c->http, 0);
    return err;
}

static int client_post(acme_client_t *c, const char *url, const char *payload, bool use_jwk,
                       acme_resp_t *r)
{
    if (!url) {
        /* a URL the directory does not have (or not fetched: a bug) */
        memset(r, 0, sizeof(*r));
        acme_client_fail(c, "no URL for this request in the CA's directory");
        return DNSD_EACME;
    }
    int err = acme_client_directory(c);
    if (err) {
        return err;
    }
    if (!c->key) {
        acme_client_fail(c, "no account key");
        return DNSD_ECRYPTO;
    }
    for (int attempt = 0;; attempt++) {
        char *nonce = nonce_take(c);
        if (!nonce) {
            return c->prob.status ? DNSD_EACME : DNSD_ENET;
        }
        char *body = acme_jws_sign(c->key, use_jwk ? NULL : c->kid, nonce, url,
                                   payload ? payload : "");
        free(nonce);
        if (!body) {
            acme_client_fail(c, "%s: cannot sign the request", url);
            return DNSD_ECRYPTO;
        }
        c->requests++;
        err = acme_http_do(c->http, "POST", url, "application/jose+json", body, r);
        free(body);
        if (err) {
            acme_client_fail(c, "%s", r->error);
            return DNSD_ENET;
        }
        nonce_push(c, r->nonce);
        if (r->status >= 200 && r->status < 300) {
            c->retry_after_s = r->retry_after_s;
            return 0;
        }
        take_problem(c, r, url);
        acme_resp_fini(r);
        if (strcmp(c->prob.type, ACME_ERR_BADNONCE) == 0 && attempt < ACME_BADNONCE_RETRIES) {
            /* RFC 8555 6.5: retry with the fresh nonce the error carried (pushed above) */
            c->bad_nonces++;
            log_debug("acme: badNonce from %s, retrying (%d)", url, attempt + 1);
            continue;
        }
        return DNSD_EACME;
    }
}

int acme_client_post_json(acme_client_t *c, const char *url, const char *payload, json_t **out,
                          acme_resp_t *r)
{
    int err = acme_client_post(c, url, payload, false, r);
    if (err) {
        return err;
    }
    json_error_t je;
    json_t *j = json_loads(r->body, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        acme_client_fail(c, "%s: answer is not a JSON object (%s)", url, je.text);
        c->prob.status = r->status;
        acme_resp_fini(r);
        return DNSD_EACME;
    }
    *out = j;
    return 0;
}

/* a newAccount answer: its Location is the account URL (RFC 8555 7.3) */
static int take_kid(acme_client_t *c, acme_resp_t *r)
{
    if (!r->location[0]) {
        acme_client_fail(c, "newAccount answered %ld without a Location", r->status);
        acme_resp_fini(r);
        return DNSD_EACME;
    }
    free(c->kid);
    c->kid = xstrdup(r->location);
    acme_resp_fini(r);
    return 0;
}

int acme_client_register(acme_client_t *c, json_t *contacts, bool agree_tos, const char *eab_kid,
                         const char *eab_hmac)
{
    int err = acme_client_directory(c);
    if (err) {
        return err;
    }
    const char *url = acme_client_url(c, "newAccount");
    if (acme_client_tos(c) && !agree_tos) {
        acme_client_fail(c, "the CA requires agreeing to its terms of service (%s): set "
                            "acme-agree-tos yes after reading them",
                         acme_client_tos(c));
        return -EPERM;
    }
    if (acme_client_eab_required(c) && !(eab_kid && *eab_kid)) {
        acme_client_fail(c, "the CA requires External Account Binding: set acme-eab-kid and "
                            "acme-eab-hmac-key");
        return -EPERM;
    }
    json_t *p = json_object();
    if (contacts && json_array_size(contacts) > 0) {
        json_object_set(p, "contact", contacts);
    }
    if (agree_tos) {
        json_object_set_new(p, "termsOfServiceAgreed", json_true());
    }
    if (eab_kid && *eab_kid) {
        json_t *eab = acme_eab(c->key, eab_kid, eab_hmac ? eab_hmac : "", url);
        if (!eab) {
            json_decref(p);
            acme_client_fail(c, "acme-eab-hmac-key is not valid base64url");
            return DNSD_ECRYPTO;
        }
        json_object_set_new(p, "externalAccountBinding", eab);
    }
    char *payload = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    acme_resp_t r;
    err = acme_client_post(c, url, payload, true, &r);
    free(payload);
    if (err) {
        return err;
    }
    return take_kid(c, &r);
}

int acme_client_lookup(acme_client_t *c)
{
    int err = acme_client_directory(c);
    if (err) {
        return err;
    }
    acme_resp_t r;
    err = acme_client_post(c, acme_client_url(c, "newAccount"), "{\"onlyReturnExisting\":true}",
                           true, &r);
    if (err) {
        return err;
    }
    return take_kid(c, &r);
}

int acme_client_revoke(acme_client_t *c, const uint8_t *der, size_t len, int reason)
{
    int err = acme_client_directory(c);
    if (err) {
        return err;
    }
    const char *url = acme_client_url(c, "revokeCert");
    if (!url) {
        acme_client_fail(c, "the CA offers no revokeCert");
        return DNSD_EACME;
    }
    char *cert = acme_b64url(der, len);
    json_t *p = json_pack("{s:s, s:i}", "certificate", cert, "reason", reason);
    free(cert);
    char *payload = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    acme_resp_t r;
    err = acme_client_post(c, url, payload, false, &r);
    free(payload);
    if (!err) {
        acme_resp_fini(&r);
    }
    return err;
}

int acme_client_key_change(acme_client_t *c, EVP_PKEY *newkey)
{
    int err = acme_client_directory(c);
    if (err) {
        return err;
    }
    const char *url = acme_client_url(c, "keyChange");
    if (!url || !c->kid) {
        acme_client_fail(c, url ? "no account to roll over" : "the CA offers no keyChange");
        return DNSD_EACME;
    }
    /* inner JWS: signed by the new key, jwk header, no nonce (RFC 8555 7.3.5) */
    json_t *old = acme_jwk(c->key);
    json_t *ip = json_pack("{s:s, s:o}", "account", c->kid, "oldKey", old);
    char *inner_payload = json_dumps(ip, JSON_COMPACT);
    json_decref(ip);
    json_t *inner = acme_jws_object(newkey, NULL, NULL, url, inner_payload);
    free(inner_payload);
    if (!inner) {
        acme_client_fail(c, "cannot sign the key change");
        return DNSD_ECRYPTO;
    }
    char *payload = json_dumps(inner, JSON_COMPACT);
    json_decref(inner);
    acme_resp_t r;
    err = acme_client_post(c, url, payload, false, &r);
    free(payload);
    if (!err) {
        acme_resp_fini(&r);
        c->key = newkey;
    }
    return err;
}

int acme_client_deactivate(acme_client_t *c)
{
    if (!c->kid) {
        acme_client_fail(c, "no account to deactivate");
        return DNSD_EACME;
    }
    acme_resp_t r;
    int err = acme_client_post(c, c->kid, "{\"status\":\"deactivated\"}", false, &r);
    if (!err) {
        acme_resp_fini(&r);
    }
    return err;
}
