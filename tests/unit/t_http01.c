/* SPDX-License-Identifier: MIT */
/*
 * t_http01.c -- acme/http01.c: which tokens and request paths are accepted
 * (one named case per row: traversal, escapes, extra segments, query
 * strings, lengths, characters), and the "http01:<token>" records through a
 * real store: put, get (the exact key authorization), delete, and damaged
 * or foreign records that must never be served.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acme/http01.h"
#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/certs.h"
#include "zones/writer.h"

static char dir[] = "/tmp/t_http01.XXXXXX";
static zs_store_t *st;

/* 43 characters: a real Pebble/Let's Encrypt token length */
#define TOK  "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
#define TOK2 "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KA   TOK ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
#define PFX  "/.well-known/acme-challenge/"

static void t_token(void)
{
    static const struct {
        const char *name, *tok;
        bool want;
    } v[] = {
        {"43 base64url characters", TOK, true},
        {"'-' and '_' are base64url", "abc-def_ghi-jkl_mno-pqr", true},
        {"22 characters (the minimum, 128 bits)", "aaaaaaaaaaaaaaaaaaaaaa", true},
        {"21 characters: too short", "aaaaaaaaaaaaaaaaaaaaa", false},
        {"empty", "", false},
        {"a '.'", "aaaaaaaaaaa.aaaaaaaaaaaa", false},
        {"'..'", "aaaaaaaaaa..aaaaaaaaaaaa", false},
        {"a '/'", "aaaaaaaaaaa/aaaaaaaaaaaa", false},
        {"a '%'", "aaaaaaaaaaa%2eaaaaaaaaaaaa", false},
        {"base64 '+'", "aaaaaaaaaaa+aaaaaaaaaaaa", false},
        {"padding '='", "aaaaaaaaaaaaaaaaaaaaaaa=", false},
        {"a space", "aaaaaaaaaaa aaaaaaaaaaaa", false},
        {"a non-ASCII byte", "aaaaaaaaaaa\xc3\xa9" "aaaaaaaaaaaa", false},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        is_int(acme_http01_token_ok(v[i].tok, strlen(v[i].tok)), v[i].want, "token: %s",
               v[i].name);
    }
    char big[ACME_HTTP01_TOKEN_MAX + 2];
    memset(big, 'A', sizeof(big));
    ok(acme_http01_token_ok(big, ACME_HTTP01_TOKEN_MAX), "token: %d characters (the maximum)",
       ACME_HTTP01_TOKEN_MAX);
    ok(!acme_http01_token_ok(big, ACME_HTTP01_TOKEN_MAX + 1), "token: %d characters: too long",
       ACME_HTTP01_TOKEN_MAX + 1);
    ok(!acme_http01_token_ok("aaaaaaaaaaa\0aaaaaaaaaaaa", 24), "token: a NUL inside");
    ok(!acme_http01_token_ok(NULL, 30), "token: NULL");
}

static void t_path(void)
{
    static const struct {
        const char *name, *path;
        int want; /* the token's length, or -1 */
    } v[] = {
        {"the challenge path", PFX TOK, 43},
        {"a trailing '/'", PFX TOK "/", -1},
        {"an extra segment", PFX TOK "/x", -1},
        {"a query string", PFX TOK "?a=b", -1},
        {"an empty query string", PFX TOK "?", -1},
        {"a fragment", PFX TOK "#f", -1},
        {"traversal out of the directory", PFX "../../../etc/passwd", -1},
        {"traversal after a token", PFX TOK "/../" TOK, -1},
        {"percent-escaped dots", PFX "%2e%2e/%2e%2e/etc/passwd", -1},
        {"percent-escaped token characters", PFX "%41aaaaaaaaaaaaaaaaaaaaaaaaaa", -1},
        {"percent-escaped slash", PFX "..%2f..%2fetc", -1},
        {"no token", PFX, -1},
        {"a token too short", PFX "aaaaaaaaaaaaaaaaaaaaa", -1},
        {"a token of the minimum length", PFX "aaaaaaaaaaaaaaaaaaaaaa", 22},
        {"a token with a '.'", PFX "LoqXcYV8q5ONbJQx.bmR7SCTNo3tiAXDf", -1},
        {"the directory without its '/'", "/.well-known/acme-challenge", -1},
        {"a double slash", "/.well-known/acme-challenge//" TOK, -1},
        {"a leading double slash", "//.well-known/acme-challenge/" TOK, -1},
        {"another case", "/.WELL-KNOWN/ACME-CHALLENGE/" TOK, -1},
        {"another directory", "/.well-known/acme-challenges/" TOK, -1},
        {"a prefix before it", "/x/.well-known/acme-challenge/" TOK, -1},
        {"an absolute URI", "http://a.example" PFX TOK, -1},
        {"the root", "/", -1},
        {"empty", "", -1},
        {"metrics", "/metrics", -1},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const char *tok = NULL;
        int n = acme_http01_path_token(v[i].path, &tok);
        is_int(n, v[i].want, "path: %s", v[i].name);
        if (v[i].want > 0) {
            ok(tok == v[i].path + strlen(PFX), "path: %s: the token points into the path",
               v[i].name);
        }
    }
    char big[sizeof(PFX) + ACME_HTTP01_TOKEN_MAX + 1];
    memcpy(big, PFX, strlen(PFX));
    memset(big + strlen(PFX), 'b', ACME_HTTP01_TOKEN_MAX + 1);
    big[sizeof(big) - 1] = '\0';
    const char *tok = NULL;
    is_int(acme_http01_path_token(big, &tok), -1, "path: a token of %d characters",
           ACME_HTTP01_TOKEN_MAX + 1);
    big[sizeof(big) - 2] = '\0';
    is_int(acme_http01_path_token(big, &tok), ACME_HTTP01_TOKEN_MAX, "path: a token of %d",
           ACME_HTTP01_TOKEN_MAX);
    is_int(acme_http01_path_token(NULL, &tok), -1, "path: NULL");
}

static int put(const char *token, const char *keyauth, const char *cert)
{
    zw_t w;
    int err = zw_begin(st, &w);
    if (err) {
        return err;
    }
    err = acme_http01_put(st, w.txn, token, keyauth, cert, 1700000000);
    if (err) {
        zw_abort(&w);
        return err;
    }
    return zw_commit(&w, NULL);
}

static int del(const char *token)
{
    zw_t w;
    int err = zw_begin(st, &w);
    if (err) {
        return err;
    }
    err = acme_http01_del(st, w.txn, token);
    if (err) {
        zw_abort(&w);
        return err;
    }
    return zw_commit(&w, NULL);
}

/* a raw value at "http01:<token>", as damage or another writer would leave it */
static int put_raw(const char *token, const char *val)
{
    zw_t w;
    char key[256];
    snprintf(key, sizeof(key), ACME_DB_HTTP01 "%s", token);
    int err = zw_begin(st, &w);
    if (err) {
        return err;
    }
    err = zs_certs_put(st, w.txn, key, val, strlen(val));
    if (err) {
        zw_abort(&w);
        return err;
    }
    return zw_commit(&w, NULL);
}

static int get(const char *token, size_t len, char *out, size_t cap)
{
    MDB_txn *txn = NULL;
    int err = zs_read_begin(st, &txn);
    if (err) {
        return err;
    }
    err = acme_http01_get(st, txn, token, len, out, cap);
    zs_read_end(st, txn);
    return err;
}

static void t_store(void)
{
    char out[ACME_HTTP01_KEYAUTH_MAX + 1];
    is_int(get(TOK, strlen(TOK), out, sizeof(out)), DNSD_ENOTFOUND, "get: none yet");
    is_int(put(TOK, KA, "www"), 0, "put: a key authorization");
    is_int(get(TOK, strlen(TOK), out, sizeof(out)), (int)strlen(KA), "get: its length");
    is_str(out, KA, "get: the exact key authorization");
    /* the token as the HTTP thread sees it: inside a longer, unterminated buffer */
    char path[] = PFX TOK "XYZ";
    is_int(get(path + strlen(PFX), strlen(TOK), out, sizeof(out)), (int)strlen(KA),
           "get: a token given by length, not NUL");
    is_int(get(TOK, strlen(TOK) - 1, out, sizeof(out)), DNSD_ENOTFOUND,
           "get: a prefix of a stored token is another token");
    is_int(get(TOK2, strlen(TOK2), out, sizeof(out)), DNSD_ENOTFOUND, "get: an unknown token");
    is_int(get("../" TOK, strlen(TOK) + 3, out, sizeof(out)), DNSD_ENOTFOUND,
           "get: a token the check refuses");
    is_int(get(TOK, strlen(TOK), out, 10), -EINVAL, "get: a buffer too small");

    is_int(put(TOK2, KA, "www"), DNSD_EMALFORMED, "put: the key authorization of another token");
    is_int(put(TOK2, TOK2, "www"), DNSD_EMALFORMED, "put: no '.' and thumbprint");
    is_int(put(TOK2, TOK2 ".", "www"), DNSD_EMALFORMED, "put: an empty thumbprint");
    is_int(put(TOK2, TOK2 ".ab/cd", "www"), DNSD_EMALFORMED, "put: a '/' in the thumbprint");
    is_int(put("short", "short.abc", "www"), DNSD_EMALFORMED, "put: a token too short");
    is_int(put(TOK2, TOK2 ".abc", "../x"), DNSD_EMALFORMED, "put: a bad certificate id");
    is_int(get(TOK2, strlen(TOK2), out, sizeof(out)), DNSD_ENOTFOUND,
           "put: nothing stored by the refused ones");

    is_int(put_raw(TOK2, "{\"keyauth\":\"" KA "\",\"cert\":\"www\"}"), 0,
           "raw: another token's key authorization at " TOK2);
    is_int(get(TOK2, strlen(TOK2), out, sizeof(out)), DNSD_ESTORE,
           "get: another token's key authorization is never served");
    is_int(put_raw(TOK2, "not json"), 0, "raw: damage");
    is_int(get(TOK2, strlen(TOK2), out, sizeof(out)), DNSD_ESTORE, "get: damage is ESTORE");
    is_int(put_raw(TOK2, "{\"cert\":\"www\"}"), 0, "raw: no keyauth member");
    is_int(get(TOK2, strlen(TOK2), out, sizeof(out)), DNSD_ESTORE, "get: no keyauth: ESTORE");
    is_int(put_raw(TOK2, "{\"keyauth\":\"" TOK2 ".a b\"}"), 0, "raw: a space in the keyauth");
    is_int(get(TOK2, strlen(TOK2), out, sizeof(out)), DNSD_ESTORE, "get: a bad keyauth: ESTORE");

    is_int(del(TOK), 0, "del: the record");
    is_int(get(TOK, strlen(TOK), out, sizeof(out)), DNSD_ENOTFOUND, "get: gone after del");
    is_int(del(TOK), 0, "del: already gone is fine");
    is_int(del("../x"), 0, "del: a token that cannot exist is fine");
    is_int(del(TOK2), 0, "del: a damaged record");
    is_int(get(TOK2, strlen(TOK2), out, sizeof(out)), DNSD_ENOTFOUND, "get: damage gone");
}

int main(void)
{
    t_token();
    t_path();
    if ((st = tz_store_tmp(dir)) == NULL) {
        return 1;
    }
    t_store();
    tz_store_rm(st, dir);
    return done_testing();
}
