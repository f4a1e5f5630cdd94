/* SPDX-License-Identifier: MIT */
/*
 * csr.c -- CSR building and certificate reading for the ACME client (see
 * csr.h). OpenSSL 3.
 */
#include "acme/csr.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"

int acme_csr_der(EVP_PKEY *key, const char *const *names, int n, uint8_t **der, size_t *len)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *subj = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    int err = DNSD_ECRYPTO;
    if (!req || !subj || !exts || !gens || n < 1) {
        goto out;
    }
    if (strlen(names[0]) <= 64 &&
        !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const uint8_t *)names[0], -1, -1,
                                    0)) {
        goto out;
    }
    if (!X509_REQ_set_version(req, 0) || !X509_REQ_set_subject_name(req, subj) ||
        !X509_REQ_set_pubkey(req, key)) {
        goto out;
    }
    for (int i = 0; i < n; i++) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        if (!g || !s || !ASN1_STRING_set(s, names[i], (int)strlen(names[i]))) {
            GENERAL_NAME_free(g);
            ASN1_IA5STRING_free(s);
            goto out;
        }
        GENERAL_NAME_set0_value(g, GEN_DNS, s);
        sk_GENERAL_NAME_push(gens, g);
    }
    X509_EXTENSION *ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
    if (!ext) {
        goto out;
    }
    sk_X509_EXTENSION_push(exts, ext);
    if (!X509_REQ_add_extensions(req, exts) || !X509_REQ_sign(req, key, EVP_sha256())) {
        goto out;
    }
    int dlen = i2d_X509_REQ(req, NULL);
    if (dlen <= 0) {
        goto out;
    }
    *der = xmalloc((size_t)dlen);
    uint8_t *p = *der;
    i2d_X509_REQ(req, &p);
    *len = (size_t)dlen;
    err = 0;
out:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(gens);
    X509_NAME_free(subj);
    X509_REQ_free(req);
    return err;
}

/* every certificate of a PEM text, in order; NULL if none */
static STACK_OF(X509) *read_chain(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    STACK_OF(X509) *st = sk_X509_new_null();
    X509 *x;
    while (b && st && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        sk_X509_push(st, x);
    }
    BIO_free(b);
    if (st && sk_X509_num(st) == 0) {
        sk_X509_free(st);
        st = NULL;
    }
    return st;
}

static time_t asn1_to_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(t, &tm)) {
        return 0;
    }
    return timegm(&tm);
}

int acme_cert_info(const char *pem, acme_cert_info_t *out)
{
    memset(out, 0, sizeof(*out));
    STACK_OF(X509) *st = read_chain(pem);
    if (!st) {
        return DNSD_ECRYPTO;
    }
    X509 *leaf = sk_X509_value(st, 0);
    out->chain_len = sk_X509_num(st);

    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(out->serial, sizeof(out->serial), "%s", hex ? hex : "");
    OPENSSL_free(hex);
    BN_free(bn);

    X509_NAME_oneline(X509_get_issuer_name(leaf), out->issuer, sizeof(out->issuer));
    X509 *top = sk_X509_value(st, out->chain_len - 1);
    if (X509_NAME_get_text_by_NID(X509_get_issuer_name(top), NID_commonName, out->top_issuer,
                                  sizeof(out->top_issuer)) < 0) {
        out->top_issuer[0] = '\0';
    }
    out->not_before = asn1_to_time(X509_get0_notBefore(leaf));
    out->not_after = asn1_to_time(X509_get0_notAfter(leaf));
    EVP_PKEY *pk = X509_get0_pubkey(leaf);
    out->key_type = pk ? acme_key_type(pk) : ACME_KEY_NONE;

    GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && out->nsans < ACME_CERT_SANS_MAX;
         i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS) {
            const ASN1_IA5STRING *s = g->d.dNSName;
            snprintf(out->sans[out->nsans++], sizeof(out->sans[0]), "%.*s",
                     ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
        }
    }
    GENERAL_NAMES_free(gens);
    sk_X509_pop_free(st, X509_free);
    return 0;
}

int acme_cert_matches_key(const char *pem, EVP_PKEY *key)
{
    STACK_OF(X509) *st = read_chain(pem);
    if (!st) {
        return 0;
    }
    int ok = X509_check_private_key(sk_X509_value(st, 0), key) == 1;
    sk_X509_pop_free(st, X509_free);
    return ok;
}

int acme_cert_leaf_der(const char *pem, uint8_t **der, size_t *len)
{
    STACK_OF(X509) *st = read_chain(pem);
    if (!st) {
        return DNSD_ECRYPTO;
    }
    int n = i2d_X509(sk_X509_value(st, 0), NULL);
    int err = DNSD_ECRYPTO;
    if (n > 0) {
        *der = xmalloc((size_t)n);
        uint8_t *p = *der;
        i2d_X509(sk_X509_value(st, 0), &p);
        *len = (size_t)n;
        err = 0;
    }
    sk_X509_pop_free(st, X509_free);
    return err;
}

static char *x509_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || !PEM_write_bio_X509(b, x)) {
        BIO_free(b);
        return NULL;
    }
    char *s = acme_bio_string(b);
    BIO_free(b);
    return s;
}

int acme_cert_split(const char *pem, char **leaf, char **rest)
{
    STACK_OF(X509) *st = read_chain(pem);
    if (!st) {
        return DNSD_ECRYPTO;
    }
    *leaf = x509_pem(sk_X509_value(st, 0));
    size_t cap = 1, len = 0;
    char *r = xcalloc(1, 1);
    for (int i = 1; i < sk_X509_num(st); i++) {
        char *one = x509_pem(sk_X509_value(st, i));
        if (!one) {
            continue;
        }
        size_t n = strlen(one);
        cap = len + n + 1;
        r = xrealloc(r, cap);
        memcpy(r + len, one, n + 1);
        len += n;
        free(one);
    }
    *rest = r;
    sk_X509_pop_free(st, X509_free);
    if (!*leaf) {
        free(r);
        *rest = NULL;
        return DNSD_ECRYPTO;
    }
    return 0;
}

int acme_ari_cert_id(const char *pem, char **out)
{
    STACK_OF(X509) *st = read_chain(pem);
    if (!st) {
        return DNSD_ECRYPTO;
    }
    X509 *leaf = sk_X509_value(st, 0);
    const ASN1_OCTET_STRING *kid = X509_get0_authority_key_id(leaf);
    uint8_t *der = NULL;
    int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(leaf), &der);
    int err = DNSD_ECRYPTO;
    /* the content octets: after the tag and a short- or long-form length */
    if (kid && n > 2) {
        int hl = (der[1] & 0x80) ? 2 + (der[1] & 0x7f) : 2;
        if (hl < n) {
            char *a = acme_b64url(ASN1_STRING_get0_data(kid), (size_t)ASN1_STRING_length(kid));
            char *b = acme_b64url(der + hl, (size_t)(n - hl));
            size_t len = strlen(a) + strlen(b) + 2;
            *out = xmalloc(len);
            snprintf(*out, len, "%s.%s", a, b);
            free(a);
            free(b);
            err = 0;
        }
    }
    OPENSSL_free(der);
    sk_X509_pop_free(st, X509_free);
    return err;
}

int acme_ari_url(const char *base, const char *certid, char *out, size_t cap)
{
    size_t bl = base ? strlen(base) : 0;
    if (bl == 0 || !certid || !*certid) {
        return DNSD_EMALFORMED;
    }
    int n = snprintf(out, cap, "%s%s%s", base, base[bl - 1] == '/' ? "" : "/", certid);
    return n < 0 || (size_t)n >= cap ? DNSD_ESPACE : 0;
}
