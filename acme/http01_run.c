/* SPDX-License-Identifier: MIT */
/*
 * http01_run.c -- the ACME worker's side of HTTP-01 (RFC 8555 8.3): picking
 * the http-01 challenge of an authorization and queueing its key
 * authorization for the step's transaction ("http01:<token>" records,
 * acme/http01.h, read by every node's dnsd/httpd.c), and, before the
 * challenges are answered, the self-check: each of this node's
 * http01-listen addresses must serve every key authorization. Called by
 * order.c on the ACME thread only; every HTTP request is bounded (a second
 * or two, the pass by acme-http-timeout). Never logs a key authorization.
 *
 * Why a self-check: the CA's request may reach any node behind any load
 * balancer; in a cluster, the applied-revision wait (order.c) makes every
 * live node hold the records, and this check proves the HTTP side of this
 * node (listening, reading the store, answering for that Host) before a
 * challenge, which the CA judges once, is spent.
 */
#include "acme/order.h"
#include "acme/order_int.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "acme/certdb.h"
#include "acme/http01.h"
#include "zones/base/clock.h"
#include "zones/base/err.h"
#include "zones/base/log.h"

const char *ord_challenge_type(json_t *req)
{
    return strcmp(acme_js(req, "challenge"), "http-01") == 0 ? "http-01" : "dns-01";
}

bool ord_ch_is_http(json_t *ch)
{
    return strcmp(acme_js(ch, "type"), "http-01") == 0;
}

json_t *ord_http01_challenge(step_t *st, json_t *az, json_t *authz_url, const char *name,
                             const char *tp)
{
    if (name[0] == '*') {
        /* RFC 8555 8.3: HTTP-01 cannot prove a wildcard (dnsctl refuses it too) */
        snprintf(st->err, sizeof(st->err), "%.260s: a wildcard name cannot be proven with "
                 "http-01 (RFC 8555 8.3); use dns-01", name);
        return NULL;
    }
    json_t *ch = NULL, *c;
    size_t k;
    json_array_foreach(json_object_get(az, "challenges"), k, c)
    {
        if (strcmp(acme_js(c, "type"), "http-01") == 0) {
            ch = c;
        }
    }
    const char *token = acme_js(ch, "token");
    if (!ch || !*acme_js(ch, "url")) {
        snprintf(st->err, sizeof(st->err), "the CA offers no http-01 challenge for %.260s", name);
        return NULL;
    }
    if (!acme_http01_token_ok(token, strlen(token))) {
        /* it becomes a store key and a URL path: only what the contract allows */
        snprintf(st->err, sizeof(st->err), "the CA's http-01 token for %.260s is not %d..%d "
                 "base64url characters", name, ACME_HTTP01_TOKEN_MIN, ACME_HTTP01_TOKEN_MAX);
        return NULL;
    }
    char keyauth[ACME_HTTP01_KEYAUTH_MAX + 1];
    int n = snprintf(keyauth, sizeof(keyauth), "%s.%s", token, tp);
    if (n < 0 || (size_t)n >= sizeof(keyauth)) {
        snprintf(st->err, sizeof(st->err), "the key authorization for %.260s is too long", name);
        return NULL;
    }
    json_array_append_new(st->http_add, json_pack("[s, s]", token, keyauth));
    /* the key authorization is no secret (token and a public key's
     * thumbprint): kept with the order for the self-check */
    return json_pack("{s:O, s:s, s:s, s:s, s:s, s:s}", "authz", authz_url, "url",
                     acme_js(ch, "url"), "name", name, "type", "http-01", "token", token,
                     "keyauth", keyauth);
}

/* an address dnsd listens on as something to connect to: a wildcard becomes loopback */
static void http_target(const struct sockaddr_storage *in, char *url_host, size_t cap,
                        unsigned *port)
{
    char a[INET6_ADDRSTRLEN] = "127.0.0.1";
    if (in->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)in;
        struct in6_addr ad = x->sin6_addr;
        if (IN6_IS_ADDR_UNSPECIFIED(&ad)) {
            ad = in6addr_loopback;
        }
        inet_ntop(AF_INET6, &ad, a, sizeof(a));
        *port = ntohs(x->sin6_port);
        snprintf(url_host, cap, "[%s]", a);
        return;
    }
    const struct sockaddr_in *x = (const void *)in;
    if (x->sin_addr.s_addr != htonl(INADDR_ANY)) {
        inet_ntop(AF_INET, &x->sin_addr, a, sizeof(a));
    }
    *port = ntohs(x->sin_port);
    snprintf(url_host, cap, "%s", a);
}

typedef struct body {
    char buf[ACME_HTTP01_KEYAUTH_MAX + 2]; /* one more than a key authorization: too long shows */
    size_t len;
} body_t;

static size_t body_cb(char *p, size_t size, size_t n, void *arg)
{
    body_t *b = arg;
    size_t len = size * n, room = sizeof(b->buf) - 1 - b->len;
    memcpy(b->buf + b->len, p, len < room ? len : room);
    b->len += len < room ? len : room;
    b->buf[b->len] = '\0';
    return len; /* the rest is dropped: the comparison fails on length */
}

/*
 * GET http://ADDR:PORT/.well-known/acme-challenge/TOKEN with Host: @p host
 * (as the CA asks: RFC 8555 8.3). @return 1 when the body is exactly
 * @p keyauth, 0 with @p why set otherwise (no answer, status, other body).
 */
static int self_get(const struct sockaddr_storage *ss, const char *host, const char *token,
                    const char *keyauth, long tmo_ms, char *why, size_t whycap)
{
    char ah[INET6_ADDRSTRLEN + 2], url[400], hosthdr[320];
    unsigned port = 0;
    http_target(ss, ah, sizeof(ah), &port);
    snprintf(url, sizeof(url), "http://%s:%u" ACME_HTTP01_PATH "%s", ah, port, token);
    snprintf(hosthdr, sizeof(hosthdr), "Host: %s", host);
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, whycap, "cannot make an HTTP request (libcurl)");
        return 0;
    }
    body_t b = {.len = 0};
    char cerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = curl_slist_append(NULL, hosthdr);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* our own address, never through a proxy */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, tmo_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, tmo_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "dnsd-http01-selfcheck");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(why, whycap, "http://%s:%u: %s", ah, port, cerr[0] ? cerr : curl_easy_strerror(rc));
        return 0;
    }
    if (status != 200) {
        snprintf(why, whycap, "http://%s:%u answered %ld for %s's token %.8s...", ah, port, status,
                 host, token);
        return 0;
    }
    if (strcmp(b.buf, keyauth) != 0) {
        snprintf(why, whycap, "http://%s:%u served another key authorization for %s's token "
                 "%.8s...", ah, port, host, token);
        return 0;
    }
    return 1;
}

int ord_http01_check(acme_worker_t *w, step_t *st)
{
    json_t *o = ord_order_of(st);
    json_t *chs = json_object_get(o, "challenges");
    time_t now = acme_worker_now(w);
    time_t published = (time_t)acme_ji(o, "published");
    if (w->cfg.nhttp01_self == 0) {
        snprintf(st->err, sizeof(st->err), "http-01: http01-listen is not set: this node serves "
                 "no HTTP-01 key authorization (set http01-listen, or use dns-01)");
        return STEP_FAIL;
    }
    /* one pass within acme-http-timeout; each request a second or two. The
     * (token, address) pairs seen served are kept in the order, so a pass
     * cut short goes on where it stopped and nothing is asked twice. */
    json_t *o_seen = json_object_get(o, "served_on");
    if (!json_is_array(o_seen)) {
        o_seen = json_array();
        json_object_set_new(o, "served_on", o_seen);
    }
    long long t0 = clock_mono_ms();
    long budget_ms = (w->cfg.http_timeout_s > 0 ? w->cfg.http_timeout_s : 1) * 1000;
    long q_ms = budget_ms / 2 < 2000 ? budget_ms / 2 : 2000;
    char why[600] = "";
    bool all = true;
    int served = 0;
    size_t i;
    json_t *ch;
    json_array_foreach(chs, i, ch)
    {
        for (int k = 0; k < w->cfg.nhttp01_self && all; k++) {
            char ah[INET6_ADDRSTRLEN + 2], pair[ACME_HTTP01_TOKEN_MAX + sizeof(ah) + 16];
            unsigned port = 0;
            http_target(&w->cfg.http01_self[k], ah, sizeof(ah), &port);
            snprintf(pair, sizeof(pair), "%s %s:%u", acme_js(ch, "token"), ah, port);
            bool seen = false;
            size_t m;
            json_t *x;
            json_array_foreach(o_seen, m, x)
            {
                seen = seen || (json_is_string(x) && strcmp(json_string_value(x), pair) == 0);
            }
            if (seen) {
                continue;
            }
            if (served > 0 && budget_ms - (clock_mono_ms() - t0) < q_ms) {
                snprintf(why, sizeof(why), "not all asked yet (a pass stops at acme-http-timeout)");
                all = false;
                break;
            }
            if (!self_get(&w->cfg.http01_self[k], acme_js(ch, "name"), acme_js(ch, "token"),
                          acme_js(ch, "keyauth"), q_ms, why, sizeof(why))) {
                all = false;
                break;
            }
            json_array_append_new(o_seen, json_string(pair));
            served++;
        }
        if (!all) {
            break;
        }
    }
    if (!all) {
        if (now - published > w->cfg.propagation_timeout_s) {
            snprintf(st->err, sizeof(st->err), "HTTP-01 key authorizations not served after "
                     "%lds: %s", w->cfg.propagation_timeout_s, why);
            return STEP_FAIL;
        }
        log_debug("acme: %s: waiting for the HTTP-01 key authorizations: %s", st->id, why);
        set_int(st->state, "next_try", now + 1);
        return STEP_WAIT;
    }
    int rc = ord_answer_challenges(w, st);
    if (rc == STEP_NEXT) {
        log_info("acme: %s: HTTP-01 key authorizations served on %d http01-listen address(es); "
                 "challenges answered", st->id, w->cfg.nhttp01_self);
    }
    return rc;
}
