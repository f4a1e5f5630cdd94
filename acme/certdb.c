/* SPDX-License-Identifier: MIT */
/*
 * certdb.c -- JSON values in the store's "certs" sub-database (see certdb.h),
 * through zones/certs.h: no raw LMDB call here.
 */
#include "acme/certdb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/certs.h"
#include "zones/base/xalloc.h"

int acme_db_get(zs_store_t *s, MDB_txn *txn, const char *key, json_t **out)
{
    const void *val;
    size_t len;
    int err = zs_certs_get(s, txn, key, &val, &len);
    if (err) {
        return err;
    }
    json_error_t je;
    json_t *j = json_loadb(val, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return DNSD_ESTORE;
    }
    *out = j;
    return 0;
}

int acme_db_put(zs_store_t *s, MDB_txn *txn, const char *key, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        return -ENOMEM;
    }
    int err = zs_certs_put(s, txn, key, text, strlen(text));
    /* the text may hold a private key */
    memset(text, 0, strlen(text));
    free(text);
    return err;
}

int acme_db_del(zs_store_t *s, MDB_txn *txn, const char *key)
{
    return zs_certs_del(s, txn, key);
}

int acme_db_put_half(zs_store_t *s, MDB_txn *txn, const char *key, const char *half, json_t *v,
                     bool create)
{
    json_t *cur = NULL;
    int err = acme_db_get(s, txn, key, &cur);
    if (err == DNSD_ENOTFOUND && create) {
        cur = json_object();
        err = 0;
    }
    if (err) {
        return err;
    }
    json_object_set(cur, half, v);
    err = acme_db_put(s, txn, key, cur);
    json_decref(cur);
    return err;
}

typedef struct each {
    acme_db_cb cb;
    void *arg;
} each_t;

static int each_cb(const char *key, const void *val, size_t len, void *arg)
{
    each_t *e = arg;
    json_error_t je;
    json_t *j = json_loadb(val, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return DNSD_ESTORE;
    }
    int err = e->cb(key, j, e->arg);
    json_decref(j);
    return err;
}

int acme_db_foreach(zs_store_t *s, MDB_txn *txn, const char *prefix, acme_db_cb cb, void *arg)
{
    each_t e = {cb, arg};
    return zs_certs_foreach(s, txn, prefix, each_cb, &e);
}

int acme_db_read_begin(zs_store_t *s, MDB_txn **out)
{
    return zs_read_begin(s, out); /* through the map gate (zones/store.h) */
}

void acme_db_read_end(zs_store_t *s, MDB_txn *txn)
{
    zs_read_end(s, txn);
}

bool acme_cert_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > ACME_CERT_ID_MAX || id[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_')) {
            return false;
        }
    }
    return true;
}

const char *acme_js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

long long acme_ji(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static int sites_cb(const char *key, json_t *v, void *arg)
{
    (void)key;
    json_array_append(arg, v);
    return 0;
}

json_t *acme_db_sites(zs_store_t *s, MDB_txn *txn, const char *id)
{
    char prefix[ACME_CERT_ID_MAX + 16];
    json_t *a = json_array();
    snprintf(prefix, sizeof(prefix), ACME_DB_DEPLOY "%s:", id);
    acme_db_foreach(s, txn, prefix, sites_cb, a);
    return a;
}

static int site_keys_cb(const char *key, json_t *v, void *arg)
{
    (void)v;
    json_array_append_new(arg, json_string(key));
    return 0;
}

int acme_db_sites_del(zs_store_t *s, MDB_txn *txn, const char *id)
{
    char prefix[ACME_CERT_ID_MAX + 16];
    json_t *keys = json_array();
    snprintf(prefix, sizeof(prefix), ACME_DB_DEPLOY "%s:", id);
    int err = acme_db_foreach(s, txn, prefix, site_keys_cb, keys);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        if (!err) {
            err = acme_db_del(s, txn, json_string_value(k));
        }
    }
    json_decref(keys);
    return err;
}
