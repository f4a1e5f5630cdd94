/* SPDX-License-Identifier: MIT */
/*
 * jws.c -- base64url, keys, JWK/thumbprint and JWS signing for the ACME
 * client (see jws.h). OpenSSL 3 EVP only (no deprecated EC_KEY/RSA calls).
 */
#include "acme/jws.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"

static const struct {
    acme_keytype_t t;
    const char *name;
} keytypes[] = {
    {ACME_KEY_EC256, "ec256"},     {ACME_KEY_EC384, "ec384"},     {ACME_KEY_RSA2048, "rsa2048"},
    {ACME_KEY_RSA3072, "rsa3072"}, {ACME_KEY_RSA4096, "rsa4096"},
};

acme_keytype_t acme_keytype_parse(const char *s)
{
    for (size_t i = 0; s && i < sizeof(keytypes) / sizeof(keytypes[0]); i++) {
        if (strcmp(s, keytypes[i].name) == 0) {
            return keytypes[i].t;
        }
    }
    return ACME_KEY_NONE;
}

const char *acme_keytype_name(acme_keytype_t t)
{
    for (size_t i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++) {
        if (keytypes[i].t == t) {
            return keytypes[i].name;
        }
    }
    return "none";
}

acme_keytype_t acme_key_type(EVP_PKEY *k)
{
    if (EVP_PKEY_is_a(k, "EC")) {
        char grp[64];
        if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp),
                                            NULL)) {
            return ACME_KEY_NONE;
        }
        if (strcmp(grp, "prime256v1") == 0 || strcmp(grp, "P-256") == 0) {
            return ACME_KEY_EC256;
        }
        if (strcmp(grp, "secp384r1") == 0 || strcmp(grp, "P-384") == 0) {
            return ACME_KEY_EC384;
        }
        return ACME_KEY_NONE;
    }
    if (EVP_PKEY_is_a(k, "RSA")) {
        switch (EVP_PKEY_get_bits(k)) {
        case 2048: return ACME_KEY_RSA2048;
        case 3072: return ACME_KEY_RSA3072;
        case 4096: return ACME_KEY_RSA4096;
        default:   return ACME_KEY_NONE;
        }
    }
    return ACME_KEY_NONE;
}

/* ---- base64url ---- */

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *acme_b64url(const uint8_t *p, size_t n)
{
    char *out = xmalloc(n / 3 * 4 + 5);
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64u[v >> 18 & 63];
        out[o++] = b64u[v >> 12 & 63];
        out[o++] = b64u[v >> 6 & 63];
        out[o++] = b64u[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = b64u[v >> 18 & 63];
        out[o++] = b64u[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64u[v >> 18 & 63];
        out[o++] = b64u[v >> 12 & 63];
        out[o++] = b64u[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

static int b64u_val(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-' || c == '+') {
        return 62;
    }
    if (c == '_' || c == '/') {
        return 63;
    }
    return -1;
}

int acme_b64url_decode(const char *s, uint8_t **out, size_t *n)
{
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == '=') {
        len--;
    }
    if (len % 4 == 1) {
        return DNSD_EMALFORMED;
    }
    uint8_t *buf = xmalloc(len / 4 * 3 + 3);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64u_val(s[i]);
        if (v < 0) {
            free(buf);
            return DNSD_EMALFORMED;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out = buf;
    *n = o;
    return 0;
}

/* ---- keys ---- */

int acme_key_generate(acme_keytype_t t, EVP_PKEY **out)
{
    EVP_PKEY *k = NULL;
    switch (t) {
    case ACME_KEY_EC256:   k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
    case ACME_KEY_EC384:   k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"); break;
    case ACME_KEY_RSA2048: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048); break;
    case ACME_KEY_RSA3072: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072); break;
    case ACME_KEY_RSA4096: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096); break;
    default:               return -EINVAL;
    }
    if (!k) {
        return DNSD_ECRYPTO;
    }
    *out = k;
    return 0;
}

char *acme_key_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_secmem());
    if (!b) {
        b = BIO_new(BIO_s_mem());
    }
    if (!b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
        BIO_free(b);
        return NULL;
    }
    char *s = acme_bio_string(b);
    BIO_free(b);
    return s;
}

char *acme_bio_string(BIO *b)
{
    if (!b) {
        return NULL;
    }
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = xmalloc((size_t)n + 1);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

int acme_key_from_pem(const char *pem, EVP_PKEY **out)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!k) {
        return DNSD_ECRYPTO;
    }
    *out = k;
    return 0;
}

void acme_secret_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* ---- JWK ---- */

/* a big number as base64url, left-padded with zeros to @p width bytes (0: minimal) */
static char *bn_b64url(const BIGNUM *bn, int width)
{
    int n = BN_num_bytes(bn);
    if (width < n) {
        width = n;
    }
    uint8_t *buf = xcalloc(1, (size_t)width + 1);
    BN_bn2binpad(bn, buf, width);
    char *s = acme_b64url(buf, (size_t)width);
    free(buf);
    return s;
}

json_t *acme_jwk(EVP_PKEY *k)
{
    acme_keytype_t t = acme_key_type(k);
    json_t *j = NULL;
    if (t == ACME_KEY_EC256 || t == ACME_KEY_EC384) {
        BIGNUM *x = NULL, *y = NULL;
        int w = t == ACME_KEY_EC256 ? 32 : 48;
        if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) &&
            EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y)) {
            char *xs = bn_b64url(x, w), *ys = bn_b64url(y, w);
            j = json_pack("{s:s, s:s, s:s, s:s}", "crv", t == ACME_KEY_EC256 ? "P-256" : "P-384",
                          "kty", "EC", "x", xs, "y", ys);
            free(xs);
            free(ys);
        }
        BN_free(x);
        BN_free(y);
    } else if (t != ACME_KEY_NONE) {
        BIGNUM *n = NULL, *e = NULL;
        if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) &&
            EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e)) {
            char *ns = bn_b64url(n, 0), *es = bn_b64url(e, 0);
            j = json_pack("{s:s, s:s, s:s}", "e", es, "kty", "RSA", "n", ns);
            free(ns);
            free(es);
        }
        BN_free(n);
        BN_free(e);
    }
    return j;
}

static char *sha256_b64url(const void *p, size_t n)
{
    uint8_t md[32];
    unsigned mdlen = 0;
    if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL)) {
        return NULL;
    }
    return acme_b64url(md, mdlen);
}

char *acme_sha256_b64url(const char *s)
{
    return sha256_b64url(s, strlen(s));
}

char *acme_jwk_thumbprint(EVP_PKEY *k)
{
    json_t *jwk = acme_jwk(k);
    if (!jwk) {
        return NULL;
    }
    /* RFC 7638 3: the required members only, lexicographic order, no
     * whitespace -- which is exactly what acme_jwk() holds, dumped sorted */
    char *text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(jwk);
    if (!text) {
        return NULL;
    }
    char *tp = sha256_b64url(text, strlen(text));
    free(text);
    return tp;
}

const char *acme_jws_alg(EVP_PKEY *k)
{
    switch (acme_key_type(k)) {
    case ACME_KEY_EC256: return "ES256";
    case ACME_KEY_EC384: return "ES384";
    case ACME_KEY_RSA2048:
    case ACME_KEY_RSA3072:
    case ACME_KEY_RSA4096: return "RS256";
    default:               return NULL;
    }
}

/* ---- JWS ---- */

/*
 * Sign "protected.payload". ECDSA: OpenSSL gives a DER ECDSA-Sig-Value;
 * JWS wants R || S, each left-padded to the curve size (RFC 7518 3.4).
 */
static char *sign_input(EVP_PKEY *k, const char *input)
{
    acme_keytype_t t = acme_key_type(k);
    const EVP_MD *md = t == ACME_KEY_EC384 ? EVP_sha384() : EVP_sha256();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t *sig = NULL;
    size_t siglen = 0;
    char *out = NULL;
    if (!ctx || EVP_DigestSignInit(ctx, NULL, md, NULL, k) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, (const uint8_t *)input, strlen(input)) != 1) {
        goto done;
    }
    sig = xmalloc(siglen);
    if (EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)input, strlen(input)) != 1) {
        goto done;
    }
    if (t == ACME_KEY_EC256 || t == ACME_KEY_EC384) {
        int w = t == ACME_KEY_EC256 ? 32 : 48;
        const uint8_t *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        if (!es) {
            goto done;
        }
        uint8_t raw[96];
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, w);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + w, w);
        ECDSA_SIG_free(es);
        out = acme_b64url(raw, (size_t)w * 2);
    } else {
        out = acme_b64url(sig, siglen);
    }
done:
    free(sig);
    EVP_MD_CTX_free(ctx);
    return out;
}

static json_t *jws_build(json_t *prot, const char *payload, EVP_PKEY *k, const uint8_t *hmac,
                         size_t hmaclen)
{
    char *ptext = json_dumps(prot, JSON_COMPACT | JSON_SORT_KEYS);
    if (!ptext) {
        return NULL;
    }
    char *p64 = acme_b64url((const uint8_t *)ptext, strlen(ptext));
    char *pl64 = acme_b64url((const uint8_t *)payload, strlen(payload));
    free(ptext);
    size_t n = strlen(p64) + strlen(pl64) + 2;
    char *input = xmalloc(n);
    snprintf(input, n, "%s.%s", p64, pl64);
    char *sig = NULL;
    if (k) {
        sig = sign_input(k, input);
    } else {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        if (HMAC(EVP_sha256(), hmac, (int)hmaclen, (const uint8_t *)input, strlen(input), md,
                 &mdlen)) {
            sig = acme_b64url(md, mdlen);
        }
    }
    free(input);
    json_t *j = NULL;
    if (sig) {
        j = json_pack("{s:s, s:s, s:s}", "protected", p64, "payload", pl64, "signature", sig);
    }
    free(p64);
    free(pl64);
    free(sig);
    return j;
}

json_t *acme_jws_object(EVP_PKEY *k, const char *kid, const char *nonce, const char *url,
                        const char *payload)
{
    const char *alg = acme_jws_alg(k);
    if (!alg) {
        return NULL;
    }
    json_t *prot = json_pack("{s:s, s:s}", "alg", alg, "url", url);
    if (nonce) {
        json_object_set_new(prot, "nonce", json_string(nonce));
    }
    if (kid) {
        json_object_set_new(prot, "kid", json_string(kid));
    } else {
        json_t *jwk = acme_jwk(k);
        if (!jwk) {
            json_decref(prot);
            return NULL;
        }
        json_object_set_new(prot, "jwk", jwk);
    }
    json_t *j = jws_build(prot, payload, k, NULL, 0);
    json_decref(prot);
    return j;
}

char *acme_jws_sign(EVP_PKEY *k, const char *kid, const char *nonce, const char *url,
                    const char *payload)
{
    json_t *j = acme_jws_object(k, kid, nonce, url, payload);
    if (!j) {
        return NULL;
    }
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

json_t *acme_eab(EVP_PKEY *account, const char *eab_kid, const char *hmac_b64url,
                 const char *url)
{
    uint8_t *key = NULL;
    size_t keylen = 0;
    if (acme_b64url_decode(hmac_b64url, &key, &keylen) != 0 || keylen == 0) {
        free(key);
        return NULL;
    }
    json_t *jwk = acme_jwk(account);
    char *payload = jwk ? json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(jwk);
    json_t *j = NULL;
    if (payload) {
        json_t *prot = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", eab_kid, "url", url);
        j = jws_build(prot, payload, NULL, key, keylen);
        json_decref(prot);
    }
    free(payload);
    OPENSSL_cleanse(key, keylen);
    free(key);
    return j;
}
