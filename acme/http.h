/* SPDX-License-Identifier: MIT */
/*
 * http.h -- the HTTPS transport of the ACME client: one libcurl easy handle
 * per CA (connections are kept alive between requests), GET/HEAD/POST, the
 * response headers ACME uses (Replay-Nonce, Location, Retry-After, Link)
 * and the body. TLS peers are verified against the system store or a
 * configured CA bundle; only https:// is followed, no redirects. Blocking,
 * bounded by timeouts; runs on the ACME thread, never on a query worker.
 */
#ifndef DNSD_ACME_HTTP_H
#define DNSD_ACME_HTTP_H

#include <stddef.h>
#include <time.h>

#define ACME_HTTP_LINKS_MAX 8

typedef struct acme_http acme_http_t;

typedef struct acme_resp {
    long status;            /* HTTP status; 0 when no answer came */
    char *body;             /* NUL-terminated (may hold binary only for DER; we ask for PEM/JSON) */
    size_t body_len;
    char nonce[256];        /* Replay-Nonce, "" if none */
    char location[1024];    /* Location, "" if none */
    char content_type[128];
    long retry_after_s;     /* Retry-After in seconds from now (> 0); -1 if none, 0 or past */
    int nalternates;        /* Link: <...>;rel="alternate" */
    char alternates[ACME_HTTP_LINKS_MAX][1024];
    char up[1024];          /* Link: <...>;rel="up" */
    char tos[1024];         /* Link: <...>;rel="terms-of-service" */
    char error[256];        /* transport error text when status is 0 */
} acme_resp_t;

/**
 * A transport. @p ca_bundle: a PEM file of trusted roots ("" or NULL: the
 * system store). @p timeout_s bounds each request (connect and total).
 */
acme_http_t *acme_http_new(const char *ca_bundle, long timeout_s, const char *user_agent);
void acme_http_free(acme_http_t *h);

/**
 * One request. @p method "GET", "HEAD" or "POST" (with @p body and
 * @p content_type). @return 0 with @p r filled (any HTTP status), or
 * DNSD_ENET with r->error set when no HTTP answer came (connection refused,
 * TLS failure, timeout). Free r->body with acme_resp_fini().
 */
int acme_http_do(acme_http_t *h, const char *method, const char *url, const char *content_type,
                 const char *body, acme_resp_t *r);
void acme_resp_fini(acme_resp_t *r);

/**
 * Bound every request from now on by @p deadline_ms (CLOCK_MONOTONIC
 * milliseconds; 0: only the per-request timeout): a request that would end
 * later gets only the time left, and none is started after it (DNSD_ENET).
 * The client sets it around one exchange (nonce, POST, badNonce retries)
 * so the exchange as a whole stays within acme-http-timeout.
 */
void acme_http_deadline(acme_http_t *h, long long deadline_ms);
/** The deadline one timeout from now, for acme_http_deadline. */
long long acme_http_deadline_in(const acme_http_t *h);

/**
 * Take one response header line ("Name: value\r\n", not NUL-terminated)
 * into @p r: Replay-Nonce, Location, Content-Type, Link (rel
 * alternate/up/terms-of-service, several per line). Other headers and
 * malformed lines are ignored; Retry-After is read by libcurl
 * (CURLINFO_RETRY_AFTER) in acme_http_do, not here. @p now is unused.
 * (curl's header callback; exported for tests and the fuzz target.)
 */
void acme_http_header(acme_resp_t *r, const char *line, size_t len, time_t now);

#endif
