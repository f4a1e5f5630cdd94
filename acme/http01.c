/* SPDX-License-Identifier: MIT */
/*
 * http01.c -- HTTP-01 key authorizations in the store's certs sub-database
 * and the checks of a token and of a request path (see http01.h). Called by
 * the ACME worker (writes, in its step's transaction) and by dnsd's HTTP
 * thread (dnsd/httpd.c: reads, one read txn per request). Never logs a key
 * authorization; the path check is pure and fuzzed (tests/fuzz/fuzz_http01.c).
 */
#include "acme/http01.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "acme/certdb.h"
#include "zones/base/err.h"

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

bool acme_http01_token_ok(const char *tok, size_t len)
{
    if (!tok || len < ACME_HTTP01_TOKEN_MIN || len > ACME_HTTP01_TOKEN_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!b64url_char(tok[i])) {
            return false;
        }
    }
    return true;
}

int acme_http01_path_token(const char *path, const char **tok)
{
    static const size_t plen = sizeof(ACME_HTTP01_PATH) - 1;
    if (!path || strncmp(path, ACME_HTTP01_PATH, plen) != 0) {
        return -1;
    }
    const char *t = path + plen;
    /* the token is all that follows: a '/', '%', '.', '?' or any other byte
     * outside base64url ends the match, so traversal, escapes, a query
     * string and extra segments are all refused here, whatever the server
     * decoded before us */
    size_t n = strnlen(t, ACME_HTTP01_TOKEN_MAX + 1);
    if (!acme_http01_token_ok(t, n)) {
        return -1;
    }
    *tok = t;
    return (int)n;
}

/* the keyauth of @p token: "<token>." and then 1.. base64url characters */
static bool keyauth_ok(const char *token, size_t tlen, const char *ka, size_t kalen)
{
    if (kalen < tlen + 2 || kalen > ACME_HTTP01_KEYAUTH_MAX) {
        return false;
    }
    if (memcmp(ka, token, tlen) != 0 || ka[tlen] != '.') {
        return false;
    }
    for (size_t i = tlen + 1; i < kalen; i++) {
        if (!b64url_char(ka[i])) {
            return false;
        }
    }
    return true;
}

static void record_key(char *key, size_t cap, const char *token, size_t len)
{
    snprintf(key, cap, ACME_DB_HTTP01 "%.*s", (int)len, token);
}

int acme_http01_put(zs_store_t *s, MDB_txn *txn, const char *token, const char *keyauth,
                    const char *cert_id, long long now)
{
    size_t tlen = token ? strlen(token) : 0;
    if (!acme_http01_token_ok(token, tlen) || !keyauth ||
        !keyauth_ok(token, tlen, keyauth, strlen(keyauth)) || !cert_id ||
        !acme_cert_id_ok(cert_id)) {
        return DNSD_EMALFORMED;
    }
    char key[sizeof(ACME_DB_HTTP01) + ACME_HTTP01_TOKEN_MAX];
    record_key(key, sizeof(key), token, tlen);
    json_t *v = json_pack("{s:s, s:s, s:I}", "keyauth", keyauth, "cert", cert_id, "at",
                          (json_int_t)now);
    if (!v) {
        return DNSD_EMALFORMED;
    }
    int err = acme_db_put(s, txn, key, v);
    json_decref(v);
    return err;
}

int acme_http01_del(zs_store_t *s, MDB_txn *txn, const char *token)
{
    size_t tlen = token ? strlen(token) : 0;
    if (!acme_http01_token_ok(token, tlen)) {
        return 0; /* no such record can exist */
    }
    char key[sizeof(ACME_DB_HTTP01) + ACME_HTTP01_TOKEN_MAX];
    record_key(key, sizeof(key), token, tlen);
    int err = acme_db_del(s, txn, key);
    return err == DNSD_ENOTFOUND ? 0 : err;
}

int acme_http01_get(zs_store_t *s, MDB_txn *txn, const char *token, size_t len, char *out,
                    size_t cap)
{
    if (!acme_http01_token_ok(token, len)) {
        return DNSD_ENOTFOUND;
    }
    if (cap < ACME_HTTP01_KEYAUTH_MAX + 1) {
        return -EINVAL;
    }
    char key[sizeof(ACME_DB_HTTP01) + ACME_HTTP01_TOKEN_MAX];
    record_key(key, sizeof(key), token, len);
    json_t *v = NULL;
    int err = acme_db_get(s, txn, key, &v);
    if (err) {
        return err; /* DNSD_ENOTFOUND, or DNSD_ESTORE for a value that is not an object */
    }
    const char *ka = json_string_value(json_object_get(v, "keyauth"));
    size_t kalen = ka ? strlen(ka) : 0;
    if (!ka || !keyauth_ok(token, len, ka, kalen)) {
        err = DNSD_ESTORE; /* damage, or another token's: never served */
        goto out;
    }
    memcpy(out, ka, kalen);
    out[kalen] = '\0';
    err = (int)kalen;
out:
    json_decref(v);
    return err;
}
