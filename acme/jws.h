/* SPDX-License-Identifier: MIT */
/*
 * jws.h -- the cryptography ACME needs on the account side (RFC 8555 6.2,
 * RFC 7515/7517/7518/7638): base64url, private keys (generate, PEM in and
 * out), the public JWK of a key and its thumbprint, flattened JWS requests
 * signed ES256/ES384/RS256, and the External Account Binding (HS256).
 * OpenSSL 3 + jansson. Slow path, any thread (no shared state). Never logs a
 * private key.
 */
#ifndef DNSD_ACME_JWS_H
#define DNSD_ACME_JWS_H

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* Key types, for account and certificate keys. */
typedef enum acme_keytype {
    ACME_KEY_NONE = 0,
    ACME_KEY_EC256,
    ACME_KEY_EC384,
    ACME_KEY_RSA2048,
    ACME_KEY_RSA3072,
    ACME_KEY_RSA4096,
} acme_keytype_t;

/** Parse "ec256|ec384|rsa2048|rsa3072|rsa4096"; ACME_KEY_NONE if unknown. */
acme_keytype_t acme_keytype_parse(const char *s);
/** The name acme_keytype_parse() takes (static storage). */
const char *acme_keytype_name(acme_keytype_t t);
/** The type of an existing key (ACME_KEY_NONE for other curves/sizes). */
acme_keytype_t acme_key_type(EVP_PKEY *k);

/** base64url without padding (RFC 7515 2). @return a malloc'd string. */
char *acme_b64url(const uint8_t *p, size_t n);
/**
 * Decode base64url (padding tolerated). @return 0 and a malloc'd buffer in
 * *@p out (length *@p n), or DNSD_EMALFORMED.
 */
int acme_b64url_decode(const char *s, uint8_t **out, size_t *n);

/** A new private key of type @p t. @return 0, DNSD_ECRYPTO or -EINVAL. */
int acme_key_generate(acme_keytype_t t, EVP_PKEY **out);
/** The private key as PKCS#8 PEM (malloc'd; the caller wipes and frees it with acme_secret_free). */
char *acme_key_pem(EVP_PKEY *k);
/** The contents of a memory BIO as a malloc'd string (NULL for NULL). */
char *acme_bio_string(BIO *b);
/** Read a private key from PEM. @return 0 or DNSD_ECRYPTO. */
int acme_key_from_pem(const char *pem, EVP_PKEY **out);
/** Wipe and free a string holding secret material; NULL is fine. */
void acme_secret_free(char *s);

/**
 * The public JWK of @p k (RFC 7517/7518): {"crv","kty","x","y"} for EC,
 * {"e","kty","n"} for RSA. @return a new reference, NULL for other keys.
 */
json_t *acme_jwk(EVP_PKEY *k);
/** RFC 7638 thumbprint of @p k, base64url (malloc'd), NULL on failure. */
char *acme_jwk_thumbprint(EVP_PKEY *k);
/** The JWS "alg" for an account key: "ES256", "ES384" or "RS256" (NULL if unsupported). */
const char *acme_jws_alg(EVP_PKEY *k);

/**
 * A flattened JWS (RFC 7515 7.2.2) as ACME wants it (RFC 8555 6.2):
 * protected {alg, nonce, url, and kid if @p kid else jwk}, the payload
 * (@p payload is the JSON text; "" for POST-as-GET), the signature.
 * @p nonce may be NULL (only for the inner JWS of a key change).
 * @return the JSON text (malloc'd) or NULL (signing failed).
 */
char *acme_jws_sign(EVP_PKEY *k, const char *kid, const char *nonce, const char *url,
                    const char *payload);
/** The same, as a jansson object (for embedding, e.g. keyChange's inner JWS). */
json_t *acme_jws_object(EVP_PKEY *k, const char *kid, const char *nonce, const char *url,
                        const char *payload);

/**
 * The externalAccountBinding object for newAccount (RFC 8555 7.3.4): a JWS
 * over the account key's JWK, HS256 with the CA-issued key (@p hmac_b64url,
 * base64url) and {"alg":"HS256","kid":@p eab_kid,"url":@p url}.
 * @return a new object, or NULL with DNSD_EMALFORMED-class input (bad key).
 */
json_t *acme_eab(EVP_PKEY *account, const char *eab_kid, const char *hmac_b64url,
                 const char *url);

/** SHA-256 of @p s as base64url (DNS-01's TXT value from the key authorization). */
char *acme_sha256_b64url(const char *s);

#endif
