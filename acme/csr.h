/* SPDX-License-Identifier: MIT */
/*
 * csr.h -- the certificate side of ACME: build a CSR for a set of DNS names
 * (RFC 8555 7.4 finalize), read what came back (leaf facts: serial, issuer,
 * dates, SANs, key type; the chain's top issuer for preferred-chain
 * selection), check that a chain belongs to a key, and the leaf's DER for
 * revocation. OpenSSL 3. Slow path, any thread.
 */
#ifndef DNSD_ACME_CSR_H
#define DNSD_ACME_CSR_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "acme/jws.h"

#define ACME_CERT_SANS_MAX 100 /* Let's Encrypt's limit per certificate */

typedef struct acme_cert_info {
    char serial[100];      /* hex, upper case, no separators */
    char issuer[256];      /* the leaf's issuer, RFC 2253 one-line */
    char top_issuer[256];  /* commonName of the issuer of the last certificate in the chain */
    time_t not_before;
    time_t not_after;
    acme_keytype_t key_type;
    int nsans;
    char sans[ACME_CERT_SANS_MAX][256]; /* dNSName SANs in certificate order */
    int chain_len;         /* certificates in the PEM */
} acme_cert_info_t;

/**
 * A DER CSR for @p names (n >= 1) signed with @p key: SAN dNSNames for all,
 * commonName = the first name when it fits 64 bytes.
 * @return 0 and a malloc'd buffer, or DNSD_ECRYPTO.
 */
int acme_csr_der(EVP_PKEY *key, const char *const *names, int n, uint8_t **der, size_t *len);

/** Read the facts of a PEM chain (leaf first). @return 0 or DNSD_ECRYPTO (not a certificate). */
int acme_cert_info(const char *pem, acme_cert_info_t *out);

/** True when the leaf of PEM chain @p pem certifies the public half of @p key. */
int acme_cert_matches_key(const char *pem, EVP_PKEY *key);

/** The leaf's DER (malloc'd). @return 0 or DNSD_ECRYPTO. */
int acme_cert_leaf_der(const char *pem, uint8_t **der, size_t *len);

/**
 * The ARI certificate identifier of the leaf (RFC 9773 4.1):
 * base64url(authorityKeyIdentifier keyIdentifier) "." base64url(the serial's
 * DER content octets). @return 0 and a malloc'd string, or DNSD_ECRYPTO
 * (no AKI key identifier).
 */
int acme_ari_cert_id(const char *pem, char **out);

/**
 * The renewalInfo URL of certificate @p certid under the directory's
 * @p base ("<base>/<certid>", one slash between them) into @p out.
 * @return 0; DNSD_EMALFORMED when @p base or @p certid is empty (a CA that
 * announces "" offers no ARI); DNSD_ESPACE when the URL does not fit @p cap.
 */
int acme_ari_url(const char *base, const char *certid, char *out, size_t cap);

/**
 * Split a PEM chain into the leaf and the rest (both malloc'd, "" when the
 * chain has only the leaf). @return 0 or DNSD_ECRYPTO.
 */
int acme_cert_split(const char *pem, char **leaf, char **rest);

#endif
