/* SPDX-License-Identifier: MIT */
/*
 * t_acme.c -- the ACME client's offline parts: base64url (RFC 4648 5), the
 * RFC 7638 thumbprint example, JWS signatures checked with OpenSSL
 * independently of the signing code (ES256/ES384 as R||S, RS256), the EAB
 * HMAC, the CSR (SANs, signature), certificate-name syntax and challenge
 * owners, the DNS-01 digest (SHA-256 "abc" test vector), problem
 * documents with subproblems, the ARI renewalInfo URL (an empty one is
 * "not offered"), the check of a CA's authorization identifiers against
 * the names ordered (real Pebble never returns a foreign identifier, so
 * crafted authorization objects feed acme_authz_name() here), and the
 * crt-list merge that keeps the operator's lines.
 */
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "acme/client.h"
#include "acme/csr.h"
#include "acme/dns01.h"
#include "acme/http.h"
#include "acme/jws.h"
#include "acme/order.h"
#include "acme/shard.h"
#include "tests/tap.h"
#include "zones/base/err.h"

static char *dec_str(const char *b64)
{
    uint8_t *p = NULL;
    size_t n = 0;
    if (acme_b64url_decode(b64, &p, &n) != 0) {
        return NULL;
    }
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    free(p);
    return s;
}

static void t_b64url(void)
{
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},         {"f", "Zg"},         {"fo", "Zm8"},          {"foo", "Zm9v"},
             {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *e = acme_b64url((const uint8_t *)v[i].in, strlen(v[i].in));
        is_str(e, v[i].out, "base64url(\"%s\") (RFC 4648 10, unpadded)", v[i].in);
        char *d = dec_str(e);
        is_str(d, v[i].in, "decodes back");
        free(e);
        free(d);
    }
    uint8_t bin[] = {0xfb, 0xff, 0xfe};
    char *e = acme_b64url(bin, 3);
    is_str(e, "-__-", "the URL alphabet: - and _ instead of + and /");
    free(e);
    uint8_t *p = NULL;
    size_t n;
    ok(acme_b64url_decode("Zm9v!", &p, &n) != 0, "a byte outside the alphabet is refused");
    ok(acme_b64url_decode("Z", &p, &n) != 0, "a length of 4k+1 is refused");
}

static EVP_PKEY *rsa_from_b64(const char *n64, const char *e64)
{
    uint8_t *n = NULL, *e = NULL;
    size_t nl, el;
    acme_b64url_decode(n64, &n, &nl);
    acme_b64url_decode(e64, &e, &el);
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *k = NULL;
    EVP_PKEY_fromdata_init(ctx);
    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return k;
}

static void t_thumbprint(void)
{
    /* RFC 7638 3.1 */
    EVP_PKEY *k = rsa_from_b64(
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
        "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk"
        "t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
        "kEgU8awapJzKnqDKgw",
        "AQAB");
    ok(k != NULL, "RFC 7638 example key loaded");
    char *tp = acme_jwk_thumbprint(k);
    is_str(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "RFC 7638 3.1 thumbprint");
    free(tp);
    EVP_PKEY_free(k);
}

/* verify a flattened JWS with OpenSSL only; returns the protected header */
static json_t *verify_jws(json_t *jws, EVP_PKEY *k, const char *want_alg)
{
    const char *p64 = json_string_value(json_object_get(jws, "protected"));
    const char *pl64 = json_string_value(json_object_get(jws, "payload"));
    const char *s64 = json_string_value(json_object_get(jws, "signature"));
    if (!p64 || !pl64 || !s64) {
        return NULL;
    }
    char *ptext = dec_str(p64);
    json_error_t je;
    json_t *prot = json_loads(ptext, 0, &je);
    free(ptext);
    if (!prot || strcmp(json_string_value(json_object_get(prot, "alg")), want_alg) != 0) {
        json_decref(prot);
        return NULL;
    }
    size_t n = strlen(p64) + strlen(pl64) + 2;
    char *input = malloc(n);
    snprintf(input, n, "%s.%s", p64, pl64);
    uint8_t *sig = NULL;
    size_t siglen = 0;
    acme_b64url_decode(s64, &sig, &siglen);
    uint8_t *der = sig;
    size_t derlen = siglen;
    uint8_t *derbuf = NULL;
    const EVP_MD *md = EVP_sha256();
    if (strncmp(want_alg, "ES", 2) == 0) {
        size_t w = strcmp(want_alg, "ES256") == 0 ? 32 : 48;
        md = w == 32 ? EVP_sha256() : EVP_sha384();
        if (siglen != 2 * w) {
            free(sig);
            free(input);
            json_decref(prot);
            return NULL;
        }
        ECDSA_SIG *es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)w, NULL), BN_bin2bn(sig + w, (int)w, NULL));
        int dl = i2d_ECDSA_SIG(es, &derbuf);
        ECDSA_SIG_free(es);
        der = derbuf;
        derlen = (size_t)dl;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int good = EVP_DigestVerifyInit(ctx, NULL, md, NULL, k) == 1 &&
               EVP_DigestVerify(ctx, der, derlen, (const uint8_t *)input, strlen(input)) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(derbuf);
    free(sig);
    free(input);
    if (!good) {
        json_decref(prot);
        return NULL;
    }
    return prot;
}

static void t_keys_and_jws(void)
{
    static const struct {
        acme_keytype_t t;
        const char *alg;
    } v[] = {{ACME_KEY_EC256, "ES256"}, {ACME_KEY_EC384, "ES384"}, {ACME_KEY_RSA2048, "RS256"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const char *name = acme_keytype_name(v[i].t);
        EVP_PKEY *k = NULL;
        is_int(acme_key_generate(v[i].t, &k), 0, "%s: key generated", name);
        is_int(acme_key_type(k), v[i].t, "%s: type recognised", name);
        char *pem = acme_key_pem(k);
        EVP_PKEY *k2 = NULL;
        ok(pem && acme_key_from_pem(pem, &k2) == 0 && EVP_PKEY_eq(k, k2) == 1,
           "%s: PEM round trip", name);
        acme_secret_free(pem);
        EVP_PKEY_free(k2);
        is_str(acme_jws_alg(k), v[i].alg, "%s: JWS alg", name);

        char *body = acme_jws_sign(k, NULL, "nonce-1", "https://ca.test/new-acct", "{\"a\":1}");
        json_error_t je;
        json_t *jws = body ? json_loads(body, 0, &je) : NULL;
        json_t *prot = jws ? verify_jws(jws, k, v[i].alg) : NULL;
        ok(prot != NULL, "%s: jwk-signed JWS verifies with OpenSSL", name);
        is_str(json_string_value(json_object_get(prot, "nonce")), "nonce-1", "%s: nonce", name);
        is_str(json_string_value(json_object_get(prot, "url")), "https://ca.test/new-acct",
               "%s: url", name);
        json_t *jwk = acme_jwk(k);
        ok(json_equal(json_object_get(prot, "jwk"), jwk) && !json_object_get(prot, "kid"),
           "%s: jwk header (no kid) before registration", name);
        char *pl = dec_str(json_string_value(json_object_get(jws, "payload")));
        is_str(pl, "{\"a\":1}", "%s: payload", name);
        free(pl);
        json_decref(prot);
        json_decref(jws);
        free(body);

        body = acme_jws_sign(k, "https://ca.test/acct/1", "n2", "https://ca.test/order/1", "");
        jws = body ? json_loads(body, 0, &je) : NULL;
        prot = jws ? verify_jws(jws, k, v[i].alg) : NULL;
        ok(prot && strcmp(json_string_value(json_object_get(prot, "kid")),
                          "https://ca.test/acct/1") == 0 &&
               !json_object_get(prot, "jwk"),
           "%s: kid-signed POST-as-GET verifies, kid header, no jwk", name);
        is_str(json_string_value(json_object_get(jws, "payload")), "",
               "%s: POST-as-GET has an empty payload", name);
        /* a flipped payload byte must not verify */
        if (jws) {
            json_object_set_new(jws, "payload", json_string("e30"));
            json_t *bad = verify_jws(jws, k, v[i].alg);
            ok(bad == NULL, "%s: a changed payload fails verification", name);
            json_decref(bad);
        }
        json_decref(prot);
        json_decref(jws);
        free(body);
        json_decref(jwk);
        EVP_PKEY_free(k);
    }
}

static void t_eab(void)
{
    EVP_PKEY *k = NULL;
    acme_key_generate(ACME_KEY_EC256, &k);
    const char *hmac64 = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
    json_t *eab = acme_eab(k, "kid-1", hmac64, "https://ca.test/new-acct");
    ok(eab != NULL, "EAB built");
    const char *p64 = json_string_value(json_object_get(eab, "protected"));
    const char *pl64 = json_string_value(json_object_get(eab, "payload"));
    char *ptext = dec_str(p64);
    json_error_t je;
    json_t *prot = json_loads(ptext, 0, &je);
    is_str(json_string_value(json_object_get(prot, "alg")), "HS256", "EAB alg HS256");
    is_str(json_string_value(json_object_get(prot, "kid")), "kid-1", "EAB kid");
    ok(!json_object_get(prot, "nonce"), "EAB has no nonce (RFC 8555 7.3.4)");
    char *pl = dec_str(pl64);
    json_t *payload = json_loads(pl, 0, &je), *jwk = acme_jwk(k);
    ok(json_equal(payload, jwk), "EAB payload is the account JWK");
    uint8_t *key;
    size_t keylen;
    acme_b64url_decode(hmac64, &key, &keylen);
    size_t n = strlen(p64) + strlen(pl64) + 2;
    char *input = malloc(n);
    snprintf(input, n, "%s.%s", p64, pl64);
    uint8_t md[32];
    unsigned mdlen;
    HMAC(EVP_sha256(), key, (int)keylen, (const uint8_t *)input, strlen(input), md, &mdlen);
    char *want = acme_b64url(md, mdlen);
    is_str(json_string_value(json_object_get(eab, "signature")), want, "EAB HMAC-SHA256");
    ok(acme_eab(k, "kid-1", "not base64url!", "https://ca.test/new-acct") == NULL,
       "a bad EAB key is refused");
    free(want);
    free(input);
    free(key);
    free(pl);
    free(ptext);
    json_decref(payload);
    json_decref(jwk);
    json_decref(prot);
    json_decref(eab);
    EVP_PKEY_free(k);
}

static void t_csr(void)
{
    EVP_PKEY *k = NULL;
    acme_key_generate(ACME_KEY_EC256, &k);
    const char *names[] = {"example.test", "*.example.test", "www.example.test"};
    uint8_t *der = NULL;
    size_t len = 0;
    is_int(acme_csr_der(k, names, 3, &der, &len), 0, "CSR built");
    const uint8_t *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
    ok(req != NULL, "CSR parses as DER");
    ok(req && X509_REQ_verify(req, k) == 1, "CSR self-signature verifies");
    STACK_OF(X509_EXTENSION) *exts = req ? X509_REQ_get_extensions(req) : NULL;
    GENERAL_NAMES *gens = NULL;
    for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name) {
            gens = X509V3_EXT_d2i(e);
        }
    }
    is_int(gens ? sk_GENERAL_NAME_num(gens) : 0, 3, "three SANs");
    for (int i = 0; gens && i < 3; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const char *s = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
        is_str(s, names[i], "SAN %d is dNSName %s", i, names[i]);
    }
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    free(der);
    EVP_PKEY_free(k);
}

static void t_names(void)
{
    char out[300], why[300];
    static const struct {
        const char *in, *out;
    } good[] = {{"Example.TEST", "example.test"},
                {"*.example.test", "*.example.test"},
                {"www.example.test.", "www.example.test"},
                {"a-b.c1.example", "a-b.c1.example"}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ok(acme_name_check(good[i].in, out, sizeof(out), why, sizeof(why)) == 0 &&
               strcmp(out, good[i].out) == 0,
           "name %s accepted as %s", good[i].in, good[i].out);
    }
    static const char *bad[] = {"example",       "*.*.example.test", "a..b.test", "-a.test",
                                "a-.test",       "a_b.test",         "a.*.test",  "",
                                "exa mple.test", "."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(acme_name_check(bad[i], out, sizeof(out), why, sizeof(why)) != 0 && why[0],
           "name \"%s\" refused (%s)", bad[i], why);
    }
    char long_label[80];
    memset(long_label, 'a', 64);
    strcpy(long_label + 64, ".test");
    ok(acme_name_check(long_label, out, sizeof(out), why, sizeof(why)) != 0,
       "a 64-byte label is refused");
    uint8_t w[DNAME_MAXLEN + 1];
    int n = acme_dns01_owner("*.example.test", w);
    char txt[1100];
    dname_to_str(w, txt, sizeof(txt));
    is_str(txt, "_acme-challenge.example.test.", "wildcard's challenge owner drops \"*.\"");
    is_int(n, 30, "owner wire length (16 + 8 + 5 + root)");
    acme_dns01_owner("www.example.test", w);
    dname_to_str(w, txt, sizeof(txt));
    is_str(txt, "_acme-challenge.www.example.test.", "host challenge owner");
}

static void t_digest_and_problem(void)
{
    char *d = acme_sha256_b64url("abc");
    is_str(d, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", "SHA-256(\"abc\") base64url (FIPS 180-2 vector)");
    free(d);
    json_error_t je;
    json_t *j = json_loads(
        "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"Error creating "
        "new order\",\"status\":400,\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:"
        "malformed\",\"detail\":\"Invalid underscore\",\"identifier\":{\"type\":\"dns\",\"value\":"
        "\"_example.org\"}}]}",
        0, &je);
    acme_problem_t p;
    acme_problem_from_json(j, 0, &p);
    is_str(p.type, "urn:ietf:params:acme:error:rejectedIdentifier", "problem type");
    is_int(p.status, 400, "problem status from the document");
    char line[1400];
    acme_problem_format(&p, line, sizeof(line));
    ok(strstr(line, "_example.org: urn:ietf:params:acme:error:malformed: Invalid underscore") != NULL,
       "subproblem named with its identifier: %s", line);
    json_decref(j);
}

static void hdr(acme_resp_t *r, const char *line, time_t now)
{
    acme_http_header(r, line, strlen(line), now);
}

static void t_headers(void)
{
    acme_resp_t r;
    memset(&r, 0, sizeof(r));
    r.retry_after_s = -1;
    time_t now = 1784764800; /* 2026-07-23T00:00:00Z */
    hdr(&r, "Replay-Nonce: abc-DEF_1\r\n", now);
    is_str(r.nonce, "abc-DEF_1", "Replay-Nonce, CRLF dropped");
    hdr(&r, "location:   https://ca.test/order/7 \r\n", now);
    is_str(r.location, "https://ca.test/order/7", "Location: case-insensitive name, blanks trimmed");
    hdr(&r, "Retry-After: 120\r\n", now);
    is_int(r.retry_after_s, -1, "Retry-After is libcurl's to read (CURLINFO_RETRY_AFTER), not ours");
    hdr(&r, "Link: <https://ca.test/cert/1/1>;rel=\"alternate\", <https://ca.test/dir>;rel=\"index\"\r\n", now);
    hdr(&r, "Link: <https://ca.test/cert/1/2>; rel=alternate\r\n", now);
    hdr(&r, "Link: <https://ca.test/tos>;rel=\"terms-of-service\"\r\n", now);
    hdr(&r, "Link: <https://ca.test/authz/9>;rel=\"up\"\r\n", now);
    is_int(r.nalternates, 2, "two alternate chains from two Link headers (index ignored)");
    is_str(r.alternates[0], "https://ca.test/cert/1/1", "first alternate");
    is_str(r.alternates[1], "https://ca.test/cert/1/2", "second alternate (unquoted rel)");
    is_str(r.tos, "https://ca.test/tos", "terms-of-service link");
    is_str(r.up, "https://ca.test/authz/9", "up link");
    hdr(&r, "Link: <unterminated;rel=alternate\r\n", now);
    hdr(&r, "no colon here\r\n", now);
    is_int(r.nalternates, 2, "malformed lines change nothing");
}

/* RFC 9773 appendix A: AKI 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4,
 * serial 0x87654321 (DER content 00 87 65 43 21) */
static void t_ari_id(void)
{
    static const uint8_t aki[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
                                  0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
    EVP_PKEY *k = NULL;
    acme_key_generate(ACME_KEY_EC256, &k);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    BIGNUM *bn = NULL;
    BN_hex2bn(&bn, "87654321");
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
    X509_set_serialNumber(x, ai);
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    akid->keyid = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(akid->keyid, aki, sizeof(aki));
    X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0);
    X509_NAME *nm = X509_NAME_new();
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const uint8_t *)"ari.test", -1, -1, 0);
    X509_set_subject_name(x, nm);
    X509_set_issuer_name(x, nm);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *pem = strndup(data, (size_t)n);
    char *id = NULL;
    is_int(acme_ari_cert_id(pem, &id), 0, "ARI certificate id computed");
    is_str(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", "RFC 9773 appendix A certificate id");
    free(id);
    free(pem);
    BIO_free(b);
    X509_NAME_free(nm);
    AUTHORITY_KEYID_free(akid);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    X509_free(x);
    EVP_PKEY_free(k);
}

/* defect 11: an empty renewalInfo URL was indexed at [strlen - 1] */
static void t_ari_url(void)
{
    char url[64];
    is_int(acme_ari_url("https://ca.test/ari", "aa.bb", url, sizeof(url)), 0, "ARI URL joined");
    is_str(url, "https://ca.test/ari/aa.bb", "one slash added");
    is_int(acme_ari_url("https://ca.test/ari/", "aa.bb", url, sizeof(url)), 0, "base with slash");
    is_str(url, "https://ca.test/ari/aa.bb", "no second slash");
    is_int(acme_ari_url("", "aa.bb", url, sizeof(url)), DNSD_EMALFORMED,
           "an empty renewalInfo URL is \"not offered\", never read before its start");
    is_int(acme_ari_url(NULL, "aa.bb", url, sizeof(url)), DNSD_EMALFORMED, "no renewalInfo");
    is_int(acme_ari_url("https://ca.test/ari", "", url, sizeof(url)), DNSD_EMALFORMED,
           "an empty certificate id");
    is_int(acme_ari_url("https://ca.test/a-rather-long-renewal-info-base", "aaaaaaaaaaaaaaaaaaaa",
                        url, sizeof(url)),
           DNSD_ESPACE, "a URL that does not fit is refused, not cut");
}

/* defect 10: the CA's authorization must be for a name that was ordered */
static void t_authz(void)
{
    static const struct {
        const char *name, *authz, *want; /* want NULL: refused */
    } cases[] = {
        {"ordered name", "{\"identifier\":{\"type\":\"dns\",\"value\":\"www.a.test\"}}",
         "www.a.test"},
        {"case differs", "{\"identifier\":{\"type\":\"dns\",\"value\":\"WWW.A.Test\"}}",
         "www.a.test"},
        {"wildcard authz for *.a.test",
         "{\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"},\"wildcard\":true}",
         "*.a.test"},
        {"apex ordered", "{\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"}}",
         "a.test"},
        {"a foreign zone", "{\"identifier\":{\"type\":\"dns\",\"value\":\"victim.test\"}}",
         NULL},
        {"a sibling name", "{\"identifier\":{\"type\":\"dns\",\"value\":\"mail.a.test\"}}",
         NULL},
        {"wildcard of a name ordered only plain",
         "{\"identifier\":{\"type\":\"dns\",\"value\":\"www.a.test\"},\"wildcard\":true}",
         NULL},
        {"type ip", "{\"identifier\":{\"type\":\"ip\",\"value\":\"www.a.test\"}}", NULL},
        {"no identifier", "{\"status\":\"pending\"}", NULL},
        {"bad syntax", "{\"identifier\":{\"type\":\"dns\",\"value\":\"a..test\"}}", NULL},
    };
    json_t *names = json_pack("[s, s, s]", "a.test", "*.a.test", "www.a.test");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t je;
        json_t *az = json_loads(cases[i].authz, 0, &je);
        char name[300] = "", why[300] = "";
        int rc = acme_authz_name(names, az, name, sizeof(name), why, sizeof(why));
        if (cases[i].want) {
            ok(rc == 0 && strcmp(name, cases[i].want) == 0, "authz: %s -> %s", cases[i].name,
               cases[i].want);
        } else {
            ok(rc == DNSD_EMALFORMED && why[0], "authz refused: %s (%s)", cases[i].name, why);
        }
        json_decref(az);
    }
    json_decref(names);
}

/* defect 17: the operator's placeholder line stays first in a region's crt-list */
static void t_crtlist(void)
{
    const char *mine = "/c/r/eu/a.test.pem a.test www.a.test\n";
    char *t = acme_crtlist_merge(NULL, mine);
    is_str(t, ACME_CRTLIST_MARK "\n/c/r/eu/a.test.pem a.test www.a.test\n",
           "crt-list: no file yet: the mark, then the shards");
    free(t);
    t = acme_crtlist_merge("/c/r/eu/placeholder.pem\n", mine);
    is_str(t, "/c/r/eu/placeholder.pem\n" ACME_CRTLIST_MARK "\n/c/r/eu/a.test.pem a.test www.a.test\n",
           "crt-list: the operator's bootstrap line stays first");
    char *t2 = acme_crtlist_merge(t, "/c/r/eu/b.test.pem b.test\n");
    is_str(t2, "/c/r/eu/placeholder.pem\n" ACME_CRTLIST_MARK "\n/c/r/eu/b.test.pem b.test\n",
           "crt-list: a rewrite keeps what is above the mark and replaces what is below");
    free(t);
    free(t2);
    t = acme_crtlist_merge("# hi\n/c/r/eu/a.test.pem a.test\n/x/default.pem [alpn h2]\n", mine);
    is_str(t, "/x/default.pem [alpn h2]\n" ACME_CRTLIST_MARK "\n/c/r/eu/a.test.pem a.test www.a.test\n",
           "crt-list without a mark: a shard's own line and comments are not kept twice");
    free(t);
}

int main(void)
{
    t_crtlist();
    t_ari_url();
    t_authz();
    t_ari_id();
    t_headers();
    t_b64url();
    t_thumbprint();
    t_keys_and_jws();
    t_eab();
    t_csr();
    t_names();
    t_digest_and_problem();
    return done_testing();
}
