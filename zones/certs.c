/* SPDX-License-Identifier: MIT */
/*
 * certs.c -- the "certs" sub-database as opaque key/value bytes (see
 * certs.h). Called by acme/certdb.c (and through it the ACME worker and
 * dnsctl). Never interprets a value; never on the query path.
 */
#include "zones/certs.h"

#include <string.h>

#include "zones/base/err.h"

int zs_certs_get(zs_store_t *s, MDB_txn *txn, const char *key, const void **val, size_t *len)
{
    if (!s->has_certs) {
        return DNSD_ENOTFOUND;
    }
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, s->certs, &k, &v);
    if (rc) {
        return zs_mdb_err(rc);
    }
    *val = v.mv_data;
    *len = v.mv_size;
    return 0;
}

int zs_certs_put(zs_store_t *s, MDB_txn *txn, const char *key, const void *val, size_t len)
{
    if (!s->has_certs) {
        return DNSD_ENOTFOUND;
    }
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)val};
    return zs_mdb_err(zs_put(s, txn, s->certs, &k, &v, 0));
}

int zs_certs_del(zs_store_t *s, MDB_txn *txn, const char *key)
{
    if (!s->has_certs) {
        return DNSD_ENOTFOUND;
    }
    MDB_val k = {strlen(key), (void *)key};
    return zs_mdb_err(zs_del(s, txn, s->certs, &k));
}

int zs_certs_foreach(zs_store_t *s, MDB_txn *txn, const char *prefix, zs_certs_cb cb, void *arg)
{
    if (!s->has_certs) {
        return 0;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->certs, &cur);
    if (rc) {
        return zs_mdb_err(rc);
    }
    size_t plen = strlen(prefix);
    MDB_val k = {plen, (void *)prefix}, v;
    int err = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0) {
            break;
        }
        char key[1400];
        if (k.mv_size >= sizeof(key)) {
            continue;
        }
        memcpy(key, k.mv_data, k.mv_size);
        key[k.mv_size] = '\0';
        if ((err = cb(key, v.mv_data, v.mv_size, arg)) != 0) {
            break;
        }
    }
    if (rc != 0 && rc != MDB_NOTFOUND && !err) {
        err = zs_mdb_err(rc);
    }
    mdb_cursor_close(cur);
    return err;
}
