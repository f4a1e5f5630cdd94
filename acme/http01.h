/* SPDX-License-Identifier: MIT */
/*
 * http01.h -- HTTP-01 (RFC 8555 8.3) key authorizations in the store, so
 * that any dnsd node of a cluster answers the CA, whichever node ordered.
 * The ACME worker (order.c, worker.c) writes "http01:<token>" records in the
 * certs sub-database in the same write transaction as the order state that
 * explains them and removes them when the order ends; dnsd's HTTP thread
 * (dnsd/httpd.c) reads them to answer GET /.well-known/acme-challenge/TOKEN.
 * Slow path: never on a query worker. Nothing here logs a key authorization.
 *
 *   "http01:<token>" -> {"keyauth": "<token>.<account key thumbprint>",
 *                         "cert": "<certificate id>", "at": time}
 */
#ifndef DNSD_ACME_HTTP01_H
#define DNSD_ACME_HTTP01_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>

#include "zones/store.h"

#define ACME_DB_HTTP01          "http01:"
#define ACME_HTTP01_PATH        "/.well-known/acme-challenge/"
#define ACME_HTTP01_TOKEN_MIN   22  /* 128 bits of base64url (RFC 8555 8.1) */
#define ACME_HTTP01_TOKEN_MAX   128
#define ACME_HTTP01_KEYAUTH_MAX (ACME_HTTP01_TOKEN_MAX + 1 + 128)

/**
 * Is @p tok (@p len bytes, not NUL-terminated) a token we could have
 * stored: ACME_HTTP01_TOKEN_MIN..MAX characters of [A-Za-z0-9_-]? Pure.
 */
bool acme_http01_token_ok(const char *tok, size_t len);

/**
 * The token of request path @p path (NUL-terminated, as received, no query
 * string): ACME_HTTP01_PATH followed by a token that acme_http01_token_ok()
 * accepts and nothing else (no further '/', no percent-escape, no "..").
 * @return the token's length with *@p tok pointing into @p path, or -1.
 * Pure; any thread.
 */
int acme_http01_path_token(const char *path, const char **tok);

/**
 * Store key authorization @p keyauth (must be "<token>." followed by at
 * least one base64url character) for @p token of certificate @p cert_id in
 * write txn @p txn (from zw_begin). @return 0, DNSD_EMALFORMED, or a store
 * error.
 */
int acme_http01_put(zs_store_t *s, MDB_txn *txn, const char *token, const char *keyauth,
                    const char *cert_id, long long now);
/** Remove the record of @p token; already gone is fine. @return 0 or a store error. */
int acme_http01_del(zs_store_t *s, MDB_txn *txn, const char *token);

/**
 * The key authorization stored for @p token (@p len bytes) into @p out
 * (cap >= ACME_HTTP01_KEYAUTH_MAX + 1). @return its length, DNSD_ENOTFOUND
 * (none, or a token acme_http01_token_ok() refuses), DNSD_ESTORE (a record
 * that is not a key authorization for this token: never served).
 */
int acme_http01_get(zs_store_t *s, MDB_txn *txn, const char *token, size_t len, char *out,
                    size_t cap);

#endif
