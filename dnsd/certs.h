/* SPDX-License-Identifier: MIT */
/*
 * certs.h -- dnsd's ACME thread: runs the certificate worker (acme/order.h)
 * on its own thread, woken when the store's generation moves (a new
 * `dnsctl cert` request) or when a step falls due, and its settings (the
 * "acme-*", "cert-dir", "deploy-hook" ... keys of the config file).
 *
 * Why a thread of its own and not the main libev loop: an ACME exchange is
 * a chain of blocking HTTPS requests and DNS checks (seconds against a slow
 * CA), and the main loop must keep reacting to signals and geo reloads. The
 * query workers are never touched: the thread shares only the LMDB
 * environment with them (readers never wait for a writer).
 */
#ifndef DNSD_CERTS_H
#define DNSD_CERTS_H

#include <stdbool.h>

#include "acme/order.h"
#include "zones/base/diag.h"
#include "zones/cluster.h"
#include "zones/store.h"

typedef struct certs certs_t;

/** Is @p key one of the certificate settings? */
bool certs_config_key(const char *key);
/** Apply one certificate setting. @return 0 or DNSD_ECONFIG with @p d->text set. */
int certs_config_set(acme_cfg_t *c, const char *key, const char *value, diag_t *d);

/**
 * Start the thread (@p cfg copied; its self[] must hold the bound
 * addresses). @p zc: the cluster this node belongs to (the worker's
 * cluster mode, acme/order.h), or NULL; it must outlive certs_stop().
 */
certs_t *certs_start(zs_store_t *s, const acme_cfg_t *cfg, zc_t *zc);
/**
 * New settings from a config reload (@p cfg copied; its self[] is ignored:
 * the bound addresses stay). Taken by the thread between runs; the CA
 * clients are made again, so a new CA bundle or timeout applies at once.
 */
void certs_update(certs_t *c, const acme_cfg_t *cfg);

/** Stop it (an exchange in progress finishes first, bounded by the HTTP timeout) and free. */
void certs_stop(certs_t *c);

#endif
