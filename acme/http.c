/* SPDX-License-Identifier: MIT */
/*
 * http.c -- libcurl transport for the ACME client (see http.h).
 */
#include "acme/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"

struct acme_http {
    CURL *curl;
    char *ca_bundle;
    long timeout_s;
    long long deadline_ms; /* CLOCK_MONOTONIC; 0: none (acme_http_deadline) */
    char ua[128];
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void acme_http_deadline(acme_http_t *h, long long deadline_ms)
{
    h->deadline_ms = deadline_ms;
}

long long acme_http_deadline_in(const acme_http_t *h)
{
    return mono_ms() + h->timeout_s * 1000;
}

#define BODY_MAX (4u << 20) /* an ACME answer (JSON, a PEM chain) is far smaller */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

acme_http_t *acme_http_new(const char *ca_bundle, long timeout_s, const char *user_agent)
{
    pthread_once(&curl_once, curl_init_once);
    acme_http_t *h = xcalloc(1, sizeof(*h));
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return NULL;
    }
    h->ca_bundle = ca_bundle && *ca_bundle ? xstrdup(ca_bundle) : NULL;
    h->timeout_s = timeout_s > 0 ? timeout_s : 30;
    snprintf(h->ua, sizeof(h->ua), "%s", user_agent ? user_agent : "dnsd-acme");
    return h;
}

void acme_http_free(acme_http_t *h)
{
    if (!h) {
        return;
    }
    curl_easy_cleanup(h->curl);
    free(h->ca_bundle);
    free(h);
}

void acme_resp_fini(acme_resp_t *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    acme_resp_t *r = arg;
    size_t len = size * n;
    if (r->body_len + len > BODY_MAX) {
        return 0; /* curl fails the transfer: CURLE_WRITE_ERROR */
    }
    r->body = xrealloc(r->body, r->body_len + len + 1);
    memcpy(r->body + r->body_len, p, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

/* copy a header value: skip leading blanks, drop trailing CR/LF/blanks */
static void header_value(const char *v, size_t n, char *out, size_t cap)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)v[n - 1])) {
        n--;
    }
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(out, v, n);
    out[n] = '\0';
}

/* Link: <url>;rel="alternate", <url2>;rel=up -- RFC 8288, several per header */
static void parse_link(acme_resp_t *r, const char *v)
{
    const char *p = v;
    while ((p = strchr(p, '<')) != NULL) {
        const char *end = strchr(p, '>');
        if (!end) {
            return;
        }
        char url[1024];
        size_t ulen = (size_t)(end - p - 1);
        if (ulen >= sizeof(url)) {
            return;
        }
        memcpy(url, p + 1, ulen);
        url[ulen] = '\0';
        /* parameters up to the next ',' that starts another link */
        const char *params = end + 1;
        const char *next = strchr(params, '<');
        size_t plen = next ? (size_t)(next - params) : strlen(params);
        char prm[256];
        if (plen >= sizeof(prm)) {
            plen = sizeof(prm) - 1;
        }
        memcpy(prm, params, plen);
        prm[plen] = '\0';
        const char *rel = strstr(prm, "rel=");
        if (rel) {
            rel += 4;
            if (*rel == '"') {
                rel++;
            }
            if (strncmp(rel, "alternate", 9) == 0 && r->nalternates < ACME_HTTP_LINKS_MAX) {
                snprintf(r->alternates[r->nalternates++], sizeof(r->alternates[0]), "%s", url);
            } else if (strncmp(rel, "up", 2) == 0) {
                snprintf(r->up, sizeof(r->up), "%s", url);
            } else if (strncmp(rel, "terms-of-service", 16) == 0) {
                snprintf(r->tos, sizeof(r->tos), "%s", url);
            }
        }
        p = end + 1;
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    acme_http_header(arg, p, size * n, time(NULL));
    return size * n;
}

void acme_http_header(acme_resp_t *r, const char *p, size_t len, time_t now)
{
    (void)now;
    const char *colon = memchr(p, ':', len);
    if (!colon) {
        return;
    }
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    char val[1024];
    header_value(v, vlen, val, sizeof(val));
    if (nlen == 12 && strncasecmp(p, "Replay-Nonce", 12) == 0) {
        snprintf(r->nonce, sizeof(r->nonce), "%.255s", val);
    } else if (nlen == 8 && strncasecmp(p, "Location", 8) == 0) {
        snprintf(r->location, sizeof(r->location), "%s", val);
    } else if (nlen == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
        snprintf(r->content_type, sizeof(r->content_type), "%.127s", val);
    } else if (nlen == 4 && strncasecmp(p, "Link", 4) == 0) {
        parse_link(r, val);
    }
}

int acme_http_do(acme_http_t *h, const char *method, const char *url, const char *content_type,
                 const char *body, acme_resp_t *r)
{
    memset(r, 0, sizeof(*r));
    r->retry_after_s = -1;
    CURL *c = h->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* each request within acme-http-timeout, and within the deadline of
     * the exchange it belongs to (nonce, retries after badNonce) */
    long long ms = h->timeout_s * 1000;
    if (h->deadline_ms) {
        long long left = h->deadline_ms - mono_ms();
        if (left < ms) {
            ms = left;
        }
        if (ms < 1) {
            snprintf(r->error, sizeof(r->error), "%s: no time left (acme-http-timeout %lds)", url,
                     h->timeout_s);
            return DNSD_ENET;
        }
    }
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms < 10000 ? (long)ms : 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, h->ua);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_bundle) {
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Accept-Language: en");
    if (strcmp(method, "POST") == 0) {
        char ct[160];
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, ct);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    if (cc != CURLE_OK) {
        snprintf(r->error, sizeof(r->error), "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        acme_resp_fini(r);
        r->status = 0;
        return DNSD_ENET;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    /* Retry-After (RFC 9110 10.2.3), seconds or an HTTP-date, as libcurl
     * reads it: 0 when absent, unreadable or already past; we then keep
     * our own backoff (-1), whose floor is a second anyway */
    curl_off_t ra = 0;
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) {
        r->retry_after_s = ra > 86400 * 7 ? 86400 * 7 : (long)ra;
    }
    if (!r->body) {
        r->body = xcalloc(1, 1);
    }
    return 0;
}
