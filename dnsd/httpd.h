/* SPDX-License-Identifier: MIT */
/*
 * httpd.h -- dnsd's HTTP endpoint (libmicrohttpd): today it answers only
 * GET/HEAD /.well-known/acme-challenge/TOKEN (RFC 8555 8.3) with the key
 * authorization the ACME worker stored (acme/http01.h), so that whichever
 * node of a cluster the CA reaches answers it. Enabled by `http01-listen`.
 * main.c binds the sockets (before the privilege drop, like the DNS
 * sockets) and starts serving after it; nothing here is on the per-query
 * path, and no query worker ever waits for it. Never logs a key
 * authorization or a raw request target.
 *
 * Issue 16: the same server answers GET/HEAD /metrics (metrics.h) on the
 * `metrics-listen` addresses. Each httpd_t serves one role on its own
 * sockets: an HTTP-01 listener (internet-facing) never serves /metrics,
 * and a metrics listener never serves the challenge path.
 */
#ifndef DNSD_HTTPD_H
#define DNSD_HTTPD_H

#include <stdint.h>

#include "dnsd/config.h"
#include "zones/base/diag.h"
#include "zones/store.h"

/* request limits, per listen address (README "The HTTP-01 endpoint") */
#define HTTPD_MAX_CONNECTIONS 64    /* open at once; more wait in the kernel's backlog */
#define HTTPD_TIMEOUT_S       10    /* an idle connection is closed after this */
#define HTTPD_MEMORY_LIMIT    16384 /* request line + headers: larger gets 431/414, closed */

typedef struct httpd httpd_t;

typedef enum httpd_role {
    HTTPD_ROLE_HTTP01,  /* http01-listen: /.well-known/acme-challenge/ only */
    HTTPD_ROLE_METRICS, /* metrics-listen: /metrics only */
} httpd_role_t;

/** The exposition for /metrics: malloc'd text (httpd frees it), its length in *len. */
typedef char *(*httpd_metrics_fn)(void *arg, size_t *len);

/**
 * Bind and listen on @p n addresses of @p addrs for @p role (port 0: the
 * kernel picks one; httpd_port() tells which). Main thread, before the
 * privilege drop. @return 0 and *@p out (free with httpd_free), or a
 * negative errno with @p d naming the address and the setting.
 */
int httpd_bind(const conf_listen_t *addrs, int n, httpd_role_t role, httpd_t **out, diag_t *d);

/** HTTPD_ROLE_METRICS: what answers /metrics (before httpd_start; called on its threads). */
void httpd_set_metrics(httpd_t *h, httpd_metrics_fn fn, void *arg);

/** The port address @p i is bound to (0 when @p i is out of range). */
uint16_t httpd_port(const httpd_t *h, int i);

/**
 * Start serving: one libmicrohttpd thread per address, reading @p s (one
 * read txn per request; @p s must outlive httpd_free). @p node names this
 * node in the log (cluster: its node name; NULL or "": standalone).
 * Main thread, after the privilege drop. @return 0, or DNSD_ECONFIG with
 * @p d set.
 */
int httpd_start(httpd_t *h, zs_store_t *s, const char *node, diag_t *d);

/** Stop every thread (waits for them) and close the sockets. NULL is fine. */
void httpd_free(httpd_t *h);

#endif
