/* SPDX-License-Identifier: MIT */
/*
 * certs.h -- raw access to the store's "certs" sub-database (ACME accounts,
 * certificate requests, orders, certificates: see acme/certdb.h for what the
 * values mean) and read-only transactions for the ACME worker, so that no
 * raw LMDB call is made outside zones/. Values are opaque bytes here; acme/
 * gives them their JSON shape. Slow path (dnsd's ACME thread, dnsctl).
 */
#ifndef DNSD_ZONES_CERTS_H
#define DNSD_ZONES_CERTS_H

#include <lmdb.h>
#include <stddef.h>

#include "zones/store.h"


/**
 * The value at @p key: @p val points into the map, valid until @p txn ends.
 * @return 0, DNSD_ENOTFOUND (no such key, or a store without the
 * sub-database), or an LMDB error.
 */
int zs_certs_get(zs_store_t *s, MDB_txn *txn, const char *key, const void **val, size_t *len);
/** Store @p len bytes at @p key in write txn @p txn. */
int zs_certs_put(zs_store_t *s, MDB_txn *txn, const char *key, const void *val, size_t len);
/** Delete @p key. @return 0 or DNSD_ENOTFOUND. */
int zs_certs_del(zs_store_t *s, MDB_txn *txn, const char *key);

/**
 * Visit every value whose key starts with @p prefix, in key order; @p key
 * is NUL-terminated (keys of 1400 bytes or more are skipped); a non-zero
 * return of @p cb stops the walk and is returned.
 */
typedef int (*zs_certs_cb)(const char *key, const void *val, size_t len, void *arg);
int zs_certs_foreach(zs_store_t *s, MDB_txn *txn, const char *prefix, zs_certs_cb cb, void *arg);

#endif
