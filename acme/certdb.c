/* SPDX-License-Identifier: MIT */
/*
 * certdb.c -- JSON values in the store's "certs" sub-database (see certdb.h).
 */
#include "acme/certdb.h"

#include <errno.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"

static int need_db(zs_store_t *s)
{
    return s->has_certs ? 0 : DNSD_ENOTFOUND;
}

int acme_db_get(zs_store_t *s, MDB_txn *txn, const char *key, json_t **out)
{
    int err = need_db(s);
    if (err) {
        return err;
    }
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, s->certs, &k, &v);
    if (rc) {
        return zs_mdb_err(rc);
    }
    json_error_t je;
    json_t *j = json_loadb(v.mv_data, v.mv_size, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return DNSD_ESTORE;
    }
    *out = j;
    return 0;
}

int acme_db_put(zs_store_t *s, MDB_txn *txn, const char *key, json_t *v)
{
    int err = need_db(s);
    if (err) {
        return err;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        return -ENOMEM;
    }
    MDB_val k = {strlen(key), (void *)key}, val = {strlen(text), text};
    int rc = mdb_put(txn, s->certs, &k, &val, 0);
    /* the text may hold a private key */
    memset(text, 0, strlen(text));
    free(text);
    return zs_mdb_err(rc);
}

int acme_db_del(zs_store_t *s, MDB_txn *txn, const char *key)
{
    int err = need_db(s);
    if (err) {
        return err;
    }
    MDB_val k = {strlen(key), (void *)key};
    return zs_mdb_err(mdb_del(txn, s->certs, &k, NULL));
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

int acme_db_foreach(zs_store_t *s, MDB_txn *txn, const char *prefix, acme_db_cb cb, void *arg)
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
        json_error_t je;
        json_t *j = json_loadb(v.mv_data, v.mv_size, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(j)) {
            json_decref(j);
            err = DNSD_ESTORE;
            break;
        }
        err = cb(key, j, arg);
        json_decref(j);
        if (err) {
            break;
        }
    }
    if (rc != 0 && rc != MDB_NOTFOUND && !err) {
        err = zs_mdb_err(rc);
    }
    mdb_cursor_close(cur);
    return err;
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
