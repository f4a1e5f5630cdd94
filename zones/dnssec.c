/* SPDX-License-Identifier: MIT */
/*
 * dnssec.c -- DNSSEC keys, records and signatures of the zones layer (see
 * dnssec.h): key generation (OpenSSL), DNSKEY/DS rdata and key tags, the
 * RRset signer (RFC 4034 3.1.8.1 + 6.2 canonical form), the "dnssec"
 * sub-database, and the engine that (re)signs stored RRsets in a write txn:
 * called by the writer (zw_prepare(), for the RRsets a txn changed) and by
 * dnssec_zone.c (whole zones: enable, disable, re-sign batches).
 * Slow path, except zd_sign(), which dnsd's workers call for online
 * denials (no lock; OpenSSL allocates). Never logs or prints key bytes.
 *
 * DESIGN. Key value (sub-database "dnssec", key u32 zone id | 'K' | u32 key
 * id), format 1, big-endian:
 *   u8 format (1) | u8 alg | u8 role | u8 state | u16 flags | u16 tag |
 *   u64 created | u64 published | u64 active | u64 retired | u64 removed |
 *   u64 ds_seen | u16 pub_len | pub | u16 priv_len | priv (PKCS#8 DER)
 * Policy value (key u32 zone id | 'P'), format 2:
 *   u8 format (2) | u8 alg | u8 split (0/1) | u8 0 | u32 sig_validity |
 *   u32 sig_refresh | u32 sig_jitter | u32 zsk_lifetime | u32 ksk_lifetime |
 *   u32 propagation | u32 parent_ds_ttl | u32 parent_propagation |
 *   u32 purge_keys
 * Format 1 (stores before purge_keys) is the same without the last field;
 * it is read with the default purge_keys and written back as format 2.
 * Next key id (key u32 zone id | 'N'): u32, so ids are never reused even
 * after a key is deleted. Every write here bumps meta "dnssec_gen".
 *
 * Signing an RRset value: the records are kept as they are, the flag
 * ZS_RRSET_F_SIGNED set and the signatures appended (schema.h); an RRset
 * that must not be signed (cut NS, glue) is written back without them. The
 * expiration is now + sig_validity - a jitter in [0, sig_jitter] taken from
 * a hash of the RRset's store key, so a batch does not expire at once;
 * the inception is an hour back (clock skew of validators).
 */
#include "zones/dnssec.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/schema.h"

void zd_policy_default(zd_policy_t *p)
{
    memset(p, 0, sizeof(*p));
    p->alg = ZD_ALG_ECDSAP256SHA256;
    p->split = false;
    p->sig_validity = 14u * 86400u;
    p->sig_refresh = 7u * 86400u;
    p->sig_jitter = 12u * 3600u;
    p->zsk_lifetime = 90u * 86400u;
    p->ksk_lifetime = 0;
    p->propagation = 300;
    p->parent_ds_ttl = 86400;
    p->parent_propagation = 3600;
    p->purge_keys = 90u * 86400u;
}

bool zd_key_signs_dnskey(const zd_key_t *k)
{
    return (k->role & ZD_ROLE_KSK) && k->state == ZD_KS_ACTIVE;
}

bool zd_key_signs_zone(const zd_key_t *k)
{
    return (k->role & ZD_ROLE_ZSK) && k->state == ZD_KS_ACTIVE;
}

bool zd_key_in_dnskey(const zd_key_t *k)
{
    return k->state == ZD_KS_PUBLISHED || k->state == ZD_KS_ACTIVE ||
           k->state == ZD_KS_RETIRING;
}

/* ---- keys and records ---- */

size_t zd_dnskey_rdata(const zd_key_t *k, uint8_t *out)
{
    zs_put16(out, k->flags);
    out[2] = 3; /* protocol, RFC 4034 2.1.2 */
    out[3] = k->alg;
    memcpy(out + 4, k->pub, k->pub_len);
    return 4u + k->pub_len;
}

uint16_t zd_keytag(const uint8_t *rdata, size_t len)
{
    uint32_t ac = 0;
    for (size_t i = 0; i < len; i++) {
        ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
    }
    ac += (ac >> 16) & 0xFFFF;
    return (uint16_t)(ac & 0xFFFF);
}

size_t zd_ds_rdata(const zd_key_t *k, const uint8_t *apex, uint8_t *out)
{
    uint8_t buf[DNAME_MAXLEN + 1 + 4 + ZD_PUB_MAX];
    int al = dname_wire_len(apex, DNAME_MAXLEN + 1);
    if (al < 0) {
        return 0;
    }
    memcpy(buf, apex, (size_t)al);
    dname_lower(buf);
    size_t n = (size_t)al + zd_dnskey_rdata(k, buf + al);
    unsigned int dl = 0;
    zs_put16(out, k->tag);
    out[2] = k->alg;
    out[3] = 2; /* SHA-256, RFC 4509 */
    if (!EVP_Digest(buf, n, out + 4, &dl, EVP_sha256(), NULL) || dl != 32) {
        return 0;
    }
    return 36;
}

/* The DNSKEY public key field of @p pkey for @p alg into @p out. @return length or 0. */
static size_t pub_of(EVP_PKEY *pkey, uint8_t alg, uint8_t *out)
{
    if (alg == ZD_ALG_ED25519) {
        size_t n = ZD_PUB_MAX;
        if (EVP_PKEY_get_raw_public_key(pkey, out, &n) != 1 || n != 32) {
            return 0;
        }
        return n;
    }
    uint8_t pt[133];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n) != 1 ||
        n != 65 || pt[0] != 0x04) {
        return 0; /* RFC 6605 4: X | Y, the uncompressed point without its 0x04 */
    }
    memcpy(out, pt + 1, 64);
    return 64;
}

int zd_key_generate(uint8_t alg, uint8_t role, zd_key_t *out, diag_t *d)
{
    memset(out, 0, sizeof(*out));
    if (alg != ZD_ALG_ECDSAP256SHA256 && alg != ZD_ALG_ED25519) {
        diag_set(d, "algorithm", 0, "DNSSEC algorithm %u is not supported (13 or 15)", alg);
        return DNSD_EMALFORMED;
    }
    if (!(role & ZD_ROLE_CSK) || (role & ~ZD_ROLE_CSK)) {
        diag_set(d, "role", 0, "bad key role %u", role);
        return DNSD_EMALFORMED;
    }
    int err = DNSD_ECRYPTO;
    EVP_PKEY *pkey = alg == ZD_ALG_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
                                           : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    uint8_t *der = NULL;
    int dl = -1;
    if (!pkey) {
        diag_set(d, "", 0, "OpenSSL could not generate the key");
        goto out;
    }
    out->alg = alg;
    out->role = role;
    out->flags = (role & ZD_ROLE_KSK) ? 257 : 256;
    out->state = ZD_KS_PUBLISHED;
    out->created = (uint64_t)time(NULL);
    out->pub_len = (uint16_t)pub_of(pkey, alg, out->pub);
    p8 = EVP_PKEY2PKCS8(pkey);
    dl = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
    if (out->pub_len == 0 || dl <= 0 || (size_t)dl > ZD_PRIV_MAX) {
        diag_set(d, "", 0, "OpenSSL could not export the key");
        goto out;
    }
    memcpy(out->priv, der, (size_t)dl);
    out->priv_len = (uint16_t)dl;
    uint8_t rd[4 + ZD_PUB_MAX];
    size_t rl = zd_dnskey_rdata(out, rd);
    out->tag = zd_keytag(rd, rl);
    err = 0;
out:
    if (der) {
        OPENSSL_clear_free(der, (size_t)(dl > 0 ? dl : 0));
    }
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_PKEY_free(pkey);
    if (err) {
        OPENSSL_cleanse(out, sizeof(*out));
    }
    return err;
}

struct zd_signer {
    EVP_PKEY *pkey;
    EVP_MD_CTX *ctx;
    uint16_t tag;
    uint8_t alg;
};

int zd_signer_new(const zd_key_t *k, zd_signer_t **out)
{
    *out = NULL;
    if ((k->alg != ZD_ALG_ECDSAP256SHA256 && k->alg != ZD_ALG_ED25519) ||
        k->priv_len > ZD_PRIV_MAX || k->pub_len > ZD_PUB_MAX) {
        return DNSD_ECRYPTO;
    }
    const uint8_t *p = k->priv;
    EVP_PKEY *pkey = d2i_AutoPrivateKey(NULL, &p, k->priv_len);
    uint8_t pub[ZD_PUB_MAX];
    size_t pl;
    if (!pkey || (size_t)(p - k->priv) != k->priv_len ||
        EVP_PKEY_get_base_id(pkey) != (k->alg == ZD_ALG_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_EC) ||
        (pl = pub_of(pkey, k->alg, pub)) != k->pub_len || memcmp(pub, k->pub, pl) != 0) {
        EVP_PKEY_free(pkey); /* not this key's private half: never sign with it */
        return DNSD_ECRYPTO;
    }
    zd_signer_t *sg = xcalloc(1, sizeof(*sg));
    sg->pkey = pkey;
    sg->ctx = EVP_MD_CTX_new();
    if (!sg->ctx) {
        zd_signer_free(sg);
        return DNSD_ECRYPTO;
    }
    uint8_t rd[4 + ZD_PUB_MAX];
    sg->tag = zd_keytag(rd, zd_dnskey_rdata(k, rd));
    sg->alg = k->alg;
    *out = sg;
    return 0;
}

void zd_signer_free(zd_signer_t *sg)
{
    if (!sg) {
        return;
    }
    EVP_MD_CTX_free(sg->ctx);
    EVP_PKEY_free(sg->pkey);
    free(sg);
}

uint16_t zd_signer_tag(const zd_signer_t *sg)
{
    return sg->tag;
}

uint8_t zd_signer_alg(const zd_signer_t *sg)
{
    return sg->alg;
}

/* ---- canonical form (RFC 4034 6.2, RFC 6840 5.1) ---- */

/* Lower-case the wire name at @p off of @p rd (@p rl bytes); @return the
 * offset after it, or -1 if no whole name is there (left as it is). */
static long lower_name(uint8_t *rd, size_t rl, size_t off)
{
    if (off >= rl) {
        return -1;
    }
    int n = dname_wire_len(rd + off, rl - off);
    if (n < 0) {
        return -1;
    }
    dname_lower(rd + off);
    return (long)(off + (size_t)n);
}

/*
 * Lower-case the names inside rdata @p rd of @p type where RFC 4034 6.2 says
 * so: NS MD MF CNAME SOA MB MG MR PTR MINFO MX RP AFSDB RT SIG PX NXT NAPTR
 * KX SRV DNAME A6 RRSIG (HINFO holds no name; NSEC is out, RFC 6840 5.1).
 * Rdata that does not hold the names its type says is left alone.
 */
static void canon_rdata(uint16_t type, uint8_t *rd, size_t rl)
{
    size_t off = 0;
    int names = 1;
    switch (type) {
    case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12: case 30: case 39:
        break; /* NS MD MF CNAME MB MG MR PTR NXT DNAME: the name first */
    case 6: case 14: case 17:
        names = 2; /* SOA MINFO RP */
        break;
    case 15: case 18: case 21: case 36:
        off = 2; /* MX AFSDB RT KX: preference | name */
        break;
    case 26:
        off = 2; /* PX: preference | map822 | mapx400 */
        names = 2;
        break;
    case 33:
        off = 6; /* SRV: priority | weight | port | target */
        break;
    case 24: case 46:
        off = 18; /* SIG RRSIG: signer name */
        break;
    case 35: /* NAPTR: order | preference | flags | services | regexp | replacement */
        off = 4;
        for (int i = 0; i < 3; i++) {
            if (off >= rl) {
                return;
            }
            off += 1u + rd[off];
        }
        break;
    case 38: /* A6: prefix length | address suffix | prefix name (when length > 0) */
        if (rl < 1 || rd[0] == 0 || rd[0] > 128) {
            return;
        }
        off = 1u + (128u - rd[0] + 7u) / 8u;
        break;
    default:
        return;
    }
    for (int i = 0; i < names; i++) {
        if (off >= rl) {
            return;
        }
        long next = lower_name(rd, rl, off);
        if (next < 0) {
            return;
        }
        off = (size_t)next;
    }
}

/* canonical RR order: rdata as left-justified unsigned octets (RFC 4034 6.3) */
static int canon_cmp(const uint8_t *base, uint16_t a, uint16_t b)
{
    size_t al = zs_get16(base + a), bl = zs_get16(base + b);
    int c = memcmp(base + a + 2, base + b + 2, al < bl ? al : bl);
    if (c) {
        return c;
    }
    return al < bl ? -1 : al > bl;
}

static int canon_qcmp(const void *pa, const void *pb, void *arg)
{
    return canon_cmp(arg, *(const uint16_t *)pa, *(const uint16_t *)pb);
}

/* DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs) to r | s, 32 bytes each (RFC 6605 4). */
static int der_to_rs(const uint8_t *der, size_t n, uint8_t *out)
{
    if (n < 8 || der[0] != 0x30 || der[1] != n - 2) {
        return DNSD_ECRYPTO;
    }
    size_t off = 2;
    for (int i = 0; i < 2; i++) {
        if (off + 2 > n || der[off] != 0x02) {
            return DNSD_ECRYPTO;
        }
        size_t il = der[off + 1];
        off += 2;
        if (il == 0 || il > n - off) {
            return DNSD_ECRYPTO;
        }
        const uint8_t *v = der + off;
        size_t vl = il;
        while (vl > 32 && v[0] == 0) {
            v++;
            vl--;
        }
        if (vl > 32) {
            return DNSD_ECRYPTO;
        }
        memset(out + 32 * i, 0, 32 - vl);
        memcpy(out + 32 * i + 32 - vl, v, vl);
        off += il;
    }
    return off == n ? 0 : DNSD_ECRYPTO;
}

int zd_sign(zd_signer_t *sg, const uint8_t *owner, const uint8_t *signer, uint16_t type,
            uint32_t ttl, const uint8_t *rrs, size_t rrs_len, uint16_t count, uint32_t inception,
            uint32_t expiration, uint8_t *scratch, size_t scratch_cap, uint8_t *out)
{
    int ol = dname_wire_len(owner, DNAME_MAXLEN + 1);
    int sl = dname_wire_len(signer, DNAME_MAXLEN + 1);
    if (ol < 0 || sl < 0 || count == 0 || rrs_len > 0xFFFF) {
        return DNSD_EMALFORMED;
    }
    /* the index of u16 offsets after the records, 2-byte aligned whatever the scratch's alignment */
    size_t idx_off = rrs_len + (((uintptr_t)scratch + rrs_len) & 1u);
    if (scratch_cap < idx_off + 2u * count) {
        return DNSD_ESPACE;
    }
    /* the records, names lower-cased, in the scratch; an index of offsets beside them */
    uint8_t *canon = scratch;
    uint16_t *idx = (uint16_t *)(void *)(scratch + idx_off);
    memcpy(canon, rrs, rrs_len);
    size_t off = 0;
    for (unsigned i = 0; i < count; i++) {
        if (rrs_len - off < 2) {
            return DNSD_EMALFORMED;
        }
        size_t rl = zs_get16(canon + off);
        if (rrs_len - off - 2 < rl) {
            return DNSD_EMALFORMED;
        }
        canon_rdata(type, canon + off + 2, rl);
        idx[i] = (uint16_t)off;
        off += 2 + rl;
    }
    if (off != rrs_len) {
        return DNSD_EMALFORMED;
    }
    if (count <= 16) {
        for (unsigned i = 1; i < count; i++) { /* insertion sort: no allocation */
            uint16_t v = idx[i];
            unsigned j = i;
            while (j > 0 && canon_cmp(canon, idx[j - 1], v) > 0) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = v;
        }
    } else {
        qsort_r(idx, count, sizeof(*idx), canon_qcmp, canon);
    }
    /* the owner, lower case; labels without the root and a leading "*" */
    uint8_t lo[DNAME_MAXLEN + 1];
    memcpy(lo, owner, (size_t)ol);
    dname_lower(lo);
    int labels = dname_labels(lo);
    if (labels > 0 && lo[0] == 1 && lo[1] == '*') {
        labels--;
    }
    /* RRSIG rdata without the signature: RFC 4034 3.1.8.1 */
    zs_put16(out, type);
    out[2] = sg->alg;
    out[3] = (uint8_t)labels;
    zs_put32(out + 4, ttl);
    zs_put32(out + 8, expiration);
    zs_put32(out + 12, inception);
    zs_put16(out + 16, sg->tag);
    memcpy(out + 18, signer, (size_t)sl);
    dname_lower(out + 18);
    size_t hl = 18u + (size_t)sl;
    /* the data: RRSIG_RDATA | RR(1) | RR(2) | ... (duplicates dropped) */
    size_t dlen = hl;
    for (unsigned i = 0; i < count; i++) {
        if (i > 0 && canon_cmp(canon, idx[i - 1], idx[i]) == 0) {
            continue;
        }
        dlen += (size_t)ol + 10u + zs_get16(canon + idx[i]);
    }
    uint8_t *data = NULL, *heap = NULL;
    size_t data_off = idx_off + 2u * count;
    if (scratch_cap - data_off >= dlen) {
        data = scratch + data_off;
    } else {
        data = heap = malloc(dlen); /* a large RRset: OpenSSL allocates anyway */
        if (!data) {
            return DNSD_ESPACE;
        }
    }
    memcpy(data, out, hl);
    size_t p = hl;
    for (unsigned i = 0; i < count; i++) {
        if (i > 0 && canon_cmp(canon, idx[i - 1], idx[i]) == 0) {
            continue;
        }
        uint16_t rl = zs_get16(canon + idx[i]);
        memcpy(data + p, lo, (size_t)ol);
        p += (size_t)ol;
        zs_put16(data + p, type);
        zs_put16(data + p + 2, 1); /* class IN */
        zs_put32(data + p + 4, ttl);
        zs_put16(data + p + 8, rl);
        memcpy(data + p + 10, canon + idx[i] + 2, rl);
        p += 10u + rl;
    }
    int err = DNSD_ECRYPTO;
    uint8_t sig[80];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX_reset(sg->ctx);
    if (sg->alg == ZD_ALG_ED25519) {
        if (EVP_DigestSignInit(sg->ctx, NULL, NULL, NULL, sg->pkey) == 1 &&
            EVP_DigestSign(sg->ctx, sig, &siglen, data, dlen) == 1 && siglen == 64) {
            memcpy(out + hl, sig, 64);
            err = 0;
        }
    } else if (EVP_DigestSignInit(sg->ctx, NULL, EVP_sha256(), NULL, sg->pkey) == 1 &&
               EVP_DigestSignUpdate(sg->ctx, data, dlen) == 1 &&
               EVP_DigestSignFinal(sg->ctx, sig, &siglen) == 1) {
        err = der_to_rs(sig, siglen, out + hl);
    }
    free(heap);
    return err ? err : (int)(hl + 64u);
}

/* ---- the store ---- */

#define KEY_VAL_FIXED (1 + 3 + 2 + 2 + 6 * 8 + 2 + 2)
#define POLICY_VAL_LEN1 (4 + 8 * 4) /* format 1 */
#define POLICY_VAL_LEN (POLICY_VAL_LEN1 + 4)

static size_t dkey(uint32_t zone_id, uint8_t kind, uint32_t key_id, uint8_t *out)
{
    zs_put32(out, zone_id);
    out[4] = kind;
    if (kind != 'K') {
        return 5;
    }
    zs_put32(out + 5, key_id);
    return 9;
}

static int bump_gen(zs_store_t *s, MDB_txn *txn)
{
    return zs_meta_bump(s, txn, ZD_META_GEN);
}

int zd_policy_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zd_policy_t *out)
{
    zd_policy_default(out);
    if (!s->has_dnssec) {
        return DNSD_ENOTFOUND;
    }
    uint8_t kb[9];
    MDB_val k = {dkey(zone_id, 'P', 0, kb), kb}, v;
    int rc = mdb_get(txn, s->dnssec, &k, &v);
    if (rc) {
        return rc == MDB_NOTFOUND ? DNSD_ENOTFOUND : zs_mdb_err(rc);
    }
    const uint8_t *p = v.mv_data;
    if (v.mv_size < POLICY_VAL_LEN1 || !((p[0] == 1 && v.mv_size == POLICY_VAL_LEN1) ||
          (p[0] == 2 && v.mv_size == POLICY_VAL_LEN)) || p[2] > 1 ||
        (p[1] != ZD_ALG_ECDSAP256SHA256 && p[1] != ZD_ALG_ED25519)) {
        return DNSD_ESTORE;
    }
    out->alg = p[1];
    out->split = p[2];
    out->sig_validity = zs_get32(p + 4);
    out->sig_refresh = zs_get32(p + 8);
    out->sig_jitter = zs_get32(p + 12);
    out->zsk_lifetime = zs_get32(p + 16);
    out->ksk_lifetime = zs_get32(p + 20);
    out->propagation = zs_get32(p + 24);
    out->parent_ds_ttl = zs_get32(p + 28);
    out->parent_propagation = zs_get32(p + 32);
    out->purge_keys = p[0] == 1 ? 90u * 86400u : zs_get32(p + 36);
    return 0;
}

int zd_policy_put(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const zd_policy_t *p)
{
    if ((p->alg != ZD_ALG_ECDSAP256SHA256 && p->alg != ZD_ALG_ED25519) ||
        p->sig_validity < 3600 || p->sig_refresh >= p->sig_validity ||
        p->sig_jitter >= p->sig_validity - p->sig_refresh) {
        return DNSD_EMALFORMED;
    }
    uint8_t kb[9], b[POLICY_VAL_LEN];
    b[0] = 2;
    b[1] = p->alg;
    b[2] = p->split ? 1 : 0;
    b[3] = 0;
    zs_put32(b + 4, p->sig_validity);
    zs_put32(b + 8, p->sig_refresh);
    zs_put32(b + 12, p->sig_jitter);
    zs_put32(b + 16, p->zsk_lifetime);
    zs_put32(b + 20, p->ksk_lifetime);
    zs_put32(b + 24, p->propagation);
    zs_put32(b + 28, p->parent_ds_ttl);
    zs_put32(b + 32, p->parent_propagation);
    zs_put32(b + 36, p->purge_keys);
    MDB_val k = {dkey(zone_id, 'P', 0, kb), kb}, v = {sizeof(b), b};
    int rc = zs_put(s, txn, s->dnssec, &k, &v, 0);
    return rc ? zs_mdb_err(rc) : bump_gen(s, txn);
}

static bool key_decode(const uint8_t *p, size_t n, uint32_t zone_id, uint32_t id, zd_key_t *k)
{
    memset(k, 0, sizeof(*k));
    if (n < KEY_VAL_FIXED || p[0] != 1) {
        return false;
    }
    k->zone_id = zone_id;
    k->id = id;
    k->alg = p[1];
    k->role = p[2];
    k->state = p[3];
    k->flags = zs_get16(p + 4);
    k->tag = zs_get16(p + 6);
    uint64_t *t[] = {&k->created, &k->published, &k->active, &k->retired, &k->removed,
                     &k->ds_seen};
    for (size_t i = 0; i < 6; i++) {
        *t[i] = zs_get64(p + 8 + 8 * i);
    }
    size_t off = 56;
    k->pub_len = zs_get16(p + off);
    off += 2;
    if (k->pub_len > ZD_PUB_MAX || n - off < (size_t)k->pub_len + 2) {
        return false;
    }
    memcpy(k->pub, p + off, k->pub_len);
    off += k->pub_len;
    k->priv_len = zs_get16(p + off);
    off += 2;
    if (k->priv_len > ZD_PRIV_MAX || n - off != k->priv_len) {
        return false;
    }
    memcpy(k->priv, p + off, k->priv_len);
    bool alg_ok = (k->alg == ZD_ALG_ECDSAP256SHA256 && k->pub_len == 64) ||
                  (k->alg == ZD_ALG_ED25519 && k->pub_len == 32);
    return alg_ok && (k->role & ZD_ROLE_CSK) && !(k->role & ~ZD_ROLE_CSK) &&
           k->state >= ZD_KS_PUBLISHED && k->state <= ZD_KS_REMOVED;
}

int zd_key_put(zs_store_t *s, MDB_txn *txn, const zd_key_t *k)
{
    if (k->id == 0 || k->pub_len > ZD_PUB_MAX || k->priv_len > ZD_PRIV_MAX ||
        k->state < ZD_KS_PUBLISHED || k->state > ZD_KS_REMOVED) {
        return DNSD_EMALFORMED;
    }
    uint8_t kb[9], b[KEY_VAL_FIXED + ZD_PUB_MAX + ZD_PRIV_MAX];
    b[0] = 1;
    b[1] = k->alg;
    b[2] = k->role;
    b[3] = k->state;
    zs_put16(b + 4, k->flags);
    zs_put16(b + 6, k->tag);
    const uint64_t t[] = {k->created, k->published, k->active, k->retired, k->removed,
                          k->ds_seen};
    for (size_t i = 0; i < 6; i++) {
        zs_put64(b + 8 + 8 * i, t[i]);
    }
    size_t off = 56;
    zs_put16(b + off, k->pub_len);
    memcpy(b + off + 2, k->pub, k->pub_len);
    off += 2u + k->pub_len;
    zs_put16(b + off, k->priv_len);
    memcpy(b + off + 2, k->priv, k->priv_len);
    off += 2u + k->priv_len;
    MDB_val key = {dkey(k->zone_id, 'K', k->id, kb), kb}, v = {off, b};
    int rc = zs_put(s, txn, s->dnssec, &key, &v, 0);
    OPENSSL_cleanse(b, sizeof(b));
    return rc ? zs_mdb_err(rc) : bump_gen(s, txn);
}

int zd_key_del(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, uint32_t key_id)
{
    uint8_t kb[9];
    MDB_val key = {dkey(zone_id, 'K', key_id, kb), kb};
    int rc = zs_del(s, txn, s->dnssec, &key);
    return rc ? zs_mdb_err(rc) : bump_gen(s, txn);
}

int zd_key_next_id(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, uint32_t *out)
{
    uint8_t kb[9], b[4];
    MDB_val key = {dkey(zone_id, 'N', 0, kb), kb}, v;
    uint32_t next = 1;
    int rc = mdb_get(txn, s->dnssec, &key, &v);
    if (rc == 0) {
        if (v.mv_size != 4) {
            return DNSD_ESTORE;
        }
        next = zs_get32(v.mv_data);
    } else if (rc != MDB_NOTFOUND) {
        return zs_mdb_err(rc);
    }
    if (next == 0 || next == UINT32_MAX) {
        return DNSD_ELIMIT;
    }
    zs_put32(b, next + 1);
    v.mv_size = 4;
    v.mv_data = b;
    if ((rc = zs_put(s, txn, s->dnssec, &key, &v, 0)) != 0) {
        return zs_mdb_err(rc);
    }
    *out = next;
    return 0;
}

int zd_zone_drop(zs_store_t *s, MDB_txn *txn, uint32_t zone_id)
{
    if (!s->has_dnssec) {
        return 0;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->dnssec, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    uint8_t pre[4];
    zs_put32(pre, zone_id);
    MDB_val key = {4, pre}, v;
    bool any = false;
    rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size >= 4 && memcmp(key.mv_data, pre, 4) == 0) {
        uint8_t kc[16];
        size_t kl = key.mv_size < sizeof(kc) ? key.mv_size : sizeof(kc);
        memcpy(kc, key.mv_data, kl);
        if ((rc = zs_cursor_del(s, c)) != 0) {
            break;
        }
        any = true;
        key.mv_size = kl;
        key.mv_data = kc;
        rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(c);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return zs_mdb_err(rc);
    }
    return any ? bump_gen(s, txn) : 0;
}

int zd_keys_list(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zd_key_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!s->has_dnssec) {
        return 0;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->dnssec, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    uint8_t pre[9];
    dkey(zone_id, 'K', 0, pre);
    MDB_val key = {5, pre}, v;
    size_t cap = 0;
    int err = 0;
    zd_key_t *ks = NULL;
    rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size >= 5 && memcmp(key.mv_data, pre, 5) == 0) {
        if (key.mv_size != 9) {
            err = DNSD_ESTORE;
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            ks = xrealloc(ks, cap * sizeof(*ks));
        }
        if (!key_decode(v.mv_data, v.mv_size, zone_id, zs_get32((uint8_t *)key.mv_data + 5),
                        &ks[*n])) {
            err = DNSD_ESTORE;
            break;
        }
        (*n)++;
        rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (!err && rc != 0 && rc != MDB_NOTFOUND) {
        err = zs_mdb_err(rc);
    }
    if (err) {
        if (ks) {
            OPENSSL_cleanse(ks, cap * sizeof(*ks));
        }
        free(ks);
        *n = 0;
        return err;
    }
    *out = ks;
    return 0;
}

int zd_keys_load(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zd_key_t *out, size_t max)
{
    zd_key_t *ks;
    size_t n, m = 0;
    int err = zd_keys_list(s, txn, zone_id, &ks, &n);
    if (err) {
        return err;
    }
    for (size_t i = 0; i < n && m < max; i++) {
        if (zd_key_signs_zone(&ks[i])) {
            out[m++] = ks[i];
        }
    }
    if (ks) {
        OPENSSL_cleanse(ks, n * sizeof(*ks));
    }
    free(ks);
    return (int)m;
}

/* ---- signing stored RRsets ---- */

#define SIGNERS_MAX 8      /* keys of one role signing at once (a rollover has 2) */
#define BATCH_KEYS 256     /* keys read per cursor pass of a range */
#define INCEPTION_BACK 3600u

enum { M_FORCE, M_NEED, M_STRIP };

typedef struct sctx {
    zs_store_t *s;
    MDB_txn *txn;
    const zd_zone_t *z;
    dname_key_t apex_key;
    zd_policy_t pol;
    uint64_t now;
    diag_t *d;
    bool keys_loaded;
    zd_signer_t *ksk[SIGNERS_MAX], *zsk[SIGNERS_MAX];
    size_t nksk, nzsk;
    uint8_t *scratch, *nv;
    size_t scap, nvcap;
    size_t nsigned;
    MDB_cursor *cur; /* seeks for NS at ancestors */
    /* the delegation test of the last owner: per label of its relative key,
     * where the label ends and whether that name holds NS */
    uint8_t crel[DNAME_KEY_MAX];
    size_t cend[DNAME_MAXLABELS + 1];
    bool cns[DNAME_MAXLABELS + 1];
    int clevels;
} sctx_t;

static void zname(const sctx_t *c, char *buf, size_t cap)
{
    dname_to_str(c->z->apex, buf, cap);
}

static int sctx_open(sctx_t *c, zs_store_t *s, MDB_txn *txn, const zd_zone_t *z, uint64_t now,
                     diag_t *d)
{
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->txn = txn;
    c->z = z;
    c->now = now;
    c->d = d;
    if (dname_key_build(z->apex, &c->apex_key) != 0) {
        return DNSD_ELIMIT;
    }
    int err = zd_policy_get(s, txn, z->id, &c->pol);
    if (err && err != DNSD_ENOTFOUND) {
        char zn[1024];
        zname(c, zn, sizeof(zn));
        diag_set(d, "", 0, "zone %s: cannot read its DNSSEC policy: %s", zn, dnsd_strerror(err));
        return err;
    }
    int rc = mdb_cursor_open(txn, s->rrsets, &c->cur);
    return rc ? zs_mdb_err(rc) : 0;
}

/* The signing keys, read once (on first need: a strip needs none). */
static int sctx_keys(sctx_t *c)
{
    if (c->keys_loaded) {
        return 0;
    }
    zd_key_t *ks;
    size_t n;
    int err = zd_keys_list(c->s, c->txn, c->z->id, &ks, &n);
    char zn[1024];
    if (err) {
        zname(c, zn, sizeof(zn));
        diag_set(c->d, "", 0, "zone %s: cannot read its DNSSEC keys: %s", zn, dnsd_strerror(err));
        return err;
    }
    for (size_t i = 0; i < n && !err; i++) {
        bool dk = zd_key_signs_dnskey(&ks[i]), zk = zd_key_signs_zone(&ks[i]);
        if (!dk && !zk) {
            continue;
        }
        if ((dk && c->nksk == SIGNERS_MAX) || (zk && c->nzsk == SIGNERS_MAX)) {
            err = DNSD_ELIMIT;
            break;
        }
        zd_signer_t *a = NULL, *b = NULL;
        if ((dk && (err = zd_signer_new(&ks[i], &a)) != 0) ||
            (zk && (err = zd_signer_new(&ks[i], &b)) != 0)) {
            zd_signer_free(a);
            zname(c, zn, sizeof(zn));
            diag_set(c->d, "", 0, "zone %s: DNSSEC key %u (tag %u) is damaged", zn, ks[i].id,
                     ks[i].tag);
            break;
        }
        if (a) {
            c->ksk[c->nksk++] = a;
        }
        if (b) {
            c->zsk[c->nzsk++] = b;
        }
    }
    if (ks) {
        OPENSSL_cleanse(ks, n * sizeof(*ks));
    }
    free(ks);
    c->keys_loaded = err == 0;
    return err;
}

static void sctx_close(sctx_t *c)
{
    for (size_t i = 0; i < c->nksk; i++) {
        zd_signer_free(c->ksk[i]);
    }
    for (size_t i = 0; i < c->nzsk; i++) {
        zd_signer_free(c->zsk[i]);
    }
    if (c->cur) {
        mdb_cursor_close(c->cur);
    }
    free(c->scratch);
    free(c->nv);
}

/* Does the name whose relative key is @p rel (@p rl bytes) hold NS in any region? */
static int ns_at(sctx_t *c, const uint8_t *rel, size_t rl)
{
    uint8_t kb[ZS_RRKEY_MAX];
    zs_put32(kb, c->z->id);
    memcpy(kb + 4, rel, rl);
    kb[4 + rl] = 0;
    zs_put16(kb + 5 + rl, DNS_T_NS);
    zs_put16(kb + 7 + rl, 0);
    MDB_val k = {9 + rl, kb}, v;
    int rc = mdb_cursor_get(c->cur, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc) {
        return zs_mdb_err(rc);
    }
    return k.mv_size == 9 + rl && memcmp(k.mv_data, kb, 7 + rl) == 0;
}

/*
 * Where the owner with relative key @p rel stands: 0 authoritative (or the
 * apex), 1 a delegation point (a non-apex name with NS in some region),
 * 2 below one (glue, occluded data). The answers of the last owner's
 * ancestors are reused (a zone walk asks for neighbours).
 */
static int cut_state(sctx_t *c, const uint8_t *rel, size_t rl, int *state)
{
    *state = 0;
    int lvl = 0;
    for (size_t i = 0; i < rl; i++) {
        if (rel[i] != 0) {
            continue;
        }
        size_t end = i + 1;
        bool has;
        if (lvl < c->clevels && c->cend[lvl] == end && memcmp(c->crel, rel, end) == 0) {
            has = c->cns[lvl];
        } else {
            int r = ns_at(c, rel, end);
            if (r < 0) {
                return r;
            }
            has = r;
            memcpy(c->crel, rel, end);
            c->cend[lvl] = end;
            c->cns[lvl] = has;
            c->clevels = lvl + 1;
        }
        if (has) {
            *state = end == rl ? 1 : 2;
            if (end < rl) {
                return 0;
            }
        }
        if (++lvl > DNAME_MAXLABELS) {
            return DNSD_ESTORE;
        }
    }
    return 0;
}

/* FNV-1a of an rrsets key: the RRset's own expiration jitter */
static uint32_t key_hash(const uint8_t *k, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ k[i]) * 16777619u;
    }
    return h;
}

/* Are the stored signatures of @p rr still right for @p sg (same keys, none expiring soon)? */
static bool sigs_fresh(const sctx_t *c, const zs_rrset_t *rr, zd_signer_t *const *sg, size_t n)
{
    if (rr->nsig != n) {
        return false;
    }
    const uint8_t *p = rr->sigs;
    bool seen[SIGNERS_MAX] = {false};
    for (unsigned i = 0; i < rr->nsig; i++) {
        size_t sl = zs_get16(p);
        const uint8_t *sig = p + 2;
        p += 2 + sl;
        uint32_t exp = zs_get32(sig + 8);
        /* serial arithmetic (RFC 4034 3.1.5): what is left of the validity */
        int64_t left = (int64_t)(int32_t)(exp - (uint32_t)c->now);
        if (left < (int64_t)c->pol.sig_refresh) {
            return false;
        }
        size_t j = 0;
        while (j < n && !(zd_signer_tag(sg[j]) == zs_get16(sig + 16) &&
                          zd_signer_alg(sg[j]) == sig[2] && !seen[j])) {
            j++;
        }
        if (j == n) {
            return false;
        }
        seen[j] = true;
    }
    return true;
}

static void *grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap < need) {
        free(*buf);
        *cap = need + need / 2;
        *buf = xmalloc(*cap);
    }
    return *buf;
}

/*
 * Bring the RRset under rrsets key @p kb (@p kl bytes) in line with its
 * place in the zone: sign (M_FORCE: always; M_NEED: when unsigned, stale,
 * or signed by other keys) or strip. A key that is gone is fine (0).
 */
static int process_key(sctx_t *c, const uint8_t *kb, size_t kl, int mode)
{
    uint32_t id;
    const uint8_t *rel;
    size_t rl;
    uint16_t type, region;
    char zn[1024];
    if (!zs_rrset_key_split(kb, kl, &id, &rel, &rl, &type, &region) || id != c->z->id) {
        return DNSD_ESTORE;
    }
    MDB_val k = {kl, (void *)kb}, v;
    int rc = mdb_get(c->txn, c->s->rrsets, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc) {
        return zs_mdb_err(rc);
    }
    zs_rrset_t rr;
    if (!zs_rrset_decode(v.mv_data, v.mv_size, type, &rr)) {
        zname(c, zn, sizeof(zn));
        diag_set(c->d, "", 0, "zone %s: a damaged RRset value in the store", zn);
        return DNSD_ESTORE;
    }
    int state = 0, err;
    if (mode != M_STRIP && (err = cut_state(c, rel, rl, &state)) != 0) {
        return err;
    }
    bool apex = rl == 0;
    bool dnskey = apex && (type == DNS_T_DNSKEY || type == DNS_T_CDS || type == DNS_T_CDNSKEY);
    bool sign = mode != M_STRIP && type != DNS_T_RRSIG && state != 2 &&
                (state == 0 || type == DNS_T_DS || type == DNS_T_NSEC);
    zd_signer_t **sg = NULL;
    size_t nsg = 0;
    if (sign) {
        if ((err = sctx_keys(c)) != 0) {
            return err;
        }
        sg = dnskey ? c->ksk : c->zsk;
        nsg = dnskey ? c->nksk : c->nzsk;
        if (nsg == 0) {
            zname(c, zn, sizeof(zn));
            diag_set(c->d, "", 0, "zone %s is signed but has no active %s key", zn,
                     dnskey ? "key-signing" : "zone-signing");
            return DNSD_ECRYPTO;
        }
        if (mode == M_NEED && rr.nsig > 0 && sigs_fresh(c, &rr, sg, nsg)) {
            return 0;
        }
    } else if (rr.nsig == 0) {
        return 0; /* unsigned, as it must be */
    }
    /* the new value: header, records, and the signatures */
    uint8_t owner[DNAME_MAXLEN + 1], full[DNAME_KEY_MAX * 2];
    if (c->apex_key.len + rl > sizeof(full)) {
        return DNSD_ESTORE;
    }
    memcpy(full, c->apex_key.key, c->apex_key.len);
    memcpy(full + c->apex_key.len, rel, rl);
    if (dname_from_key(full, c->apex_key.len + rl, owner) < 0) {
        return DNSD_ESTORE;
    }
    size_t need = ZS_RRSET_HDR + rr.rdata_len + 2 + nsg * (2 + ZD_RRSIG_MAX);
    uint8_t *nv = grow(&c->nv, &c->nvcap, need);
    memcpy(nv, v.mv_data, ZS_RRSET_HDR);
    memcpy(nv + ZS_RRSET_HDR, rr.rdata, rr.rdata_len);
    size_t o = ZS_RRSET_HDR + rr.rdata_len;
    nv[1] = 0;
    if (sign) {
        uint8_t *scratch = grow(&c->scratch, &c->scap, 2 * rr.rdata_len + 1024);
        uint32_t jitter = c->pol.sig_jitter ? key_hash(kb, kl) % (c->pol.sig_jitter + 1u) : 0;
        uint32_t inc = (uint32_t)(c->now - INCEPTION_BACK);
        uint32_t exp = (uint32_t)(c->now + c->pol.sig_validity - jitter);
        nv[1] = ZS_RRSET_F_SIGNED;
        zs_put16(nv + o, (uint16_t)nsg);
        o += 2;
        for (size_t i = 0; i < nsg; i++) {
            int sl = zd_sign(sg[i], owner, c->z->apex, type, rr.ttl, rr.rdata, rr.rdata_len,
                             rr.count, inc, exp, scratch, c->scap, nv + o + 2);
            if (sl < 0) {
                char on[1024];
                dname_to_str(owner, on, sizeof(on));
                diag_set(c->d, "", 0, "cannot sign %s type %u: %s", on, type, dnsd_strerror(sl));
                return sl;
            }
            zs_put16(nv + o, (uint16_t)sl);
            o += 2u + (size_t)sl;
        }
    }
    MDB_val nk = {kl, (void *)kb}, nval = {o, nv};
    if ((rc = zs_put(c->s, c->txn, c->s->rrsets, &nk, &nval, 0)) != 0) {
        return zs_mdb_err(rc);
    }
    c->nsigned++;
    return 0;
}

/*
 * Every RRset whose key starts with @p prefix, in batches of keys copied
 * out (the values are rewritten between two cursor passes). At most @p max
 * written (0: no limit); *@p more then says a limit stopped the walk.
 */
static int process_range(sctx_t *c, const uint8_t *prefix, size_t plen, int mode, size_t max,
                         bool *more)
{
    uint8_t *keys = xmalloc((size_t)BATCH_KEYS * ZS_RRKEY_MAX);
    size_t lens[BATCH_KEYS];
    uint8_t last[ZS_RRKEY_MAX];
    size_t lastlen = plen;
    memcpy(last, prefix, plen);
    bool first = true;
    int err = 0;
    if (more) {
        *more = false;
    }
    for (;;) {
        MDB_val k = {lastlen, last}, v;
        int rc = mdb_cursor_get(c->cur, &k, &v, MDB_SET_RANGE);
        if (!first && rc == 0 && k.mv_size == lastlen && memcmp(k.mv_data, last, lastlen) == 0) {
            rc = mdb_cursor_get(c->cur, &k, &v, MDB_NEXT);
        }
        size_t nb = 0;
        while (rc == 0 && nb < BATCH_KEYS && k.mv_size >= plen &&
               memcmp(k.mv_data, prefix, plen) == 0 && k.mv_size <= ZS_RRKEY_MAX) {
            memcpy(keys + nb * ZS_RRKEY_MAX, k.mv_data, k.mv_size);
            lens[nb++] = k.mv_size;
            rc = mdb_cursor_get(c->cur, &k, &v, MDB_NEXT);
        }
        if (rc != 0 && rc != MDB_NOTFOUND) {
            err = zs_mdb_err(rc);
            break;
        }
        if (nb == 0) {
            break;
        }
        for (size_t i = 0; i < nb && !err; i++) {
            if (max && c->nsigned >= max) {
                if (more) {
                    *more = true;
                }
                goto out;
            }
            err = process_key(c, keys + i * ZS_RRKEY_MAX, lens[i], mode);
        }
        if (err) {
            break;
        }
        memcpy(last, keys + (nb - 1) * ZS_RRKEY_MAX, lens[nb - 1]);
        lastlen = lens[nb - 1];
        first = false;
    }
out:
    free(keys);
    return err;
}

static int change_cmp(const void *pa, const void *pb)
{
    const zd_change_t *a = pa, *b = pb;
    int al = dname_wire_len(a->owner, DNAME_MAXLEN + 1), bl = dname_wire_len(b->owner,
                                                                          DNAME_MAXLEN + 1);
    if (al != bl) {
        return al < bl ? -1 : 1;
    }
    int c = memcmp(a->owner, b->owner, (size_t)al);
    if (c) {
        return c;
    }
    if (a->type != b->type) {
        return a->type < b->type ? -1 : 1;
    }
    return a->region < b->region ? -1 : a->region > b->region;
}

int zd_sign_touched(zs_store_t *s, MDB_txn *txn, const zd_zone_t *z, zd_change_t *ch, size_t n,
                    uint64_t now, size_t *nsigned, diag_t *d)
{
    sctx_t c;
    int err = sctx_open(&c, s, txn, z, now, d);
    if (n > 1) {
        qsort(ch, n, sizeof(*ch), change_cmp);
    }
    uint8_t kb[ZS_RRKEY_MAX];
    for (size_t i = 0; i < n && !err; i++) {
        if (i > 0 && change_cmp(&ch[i - 1], &ch[i]) == 0) {
            continue;
        }
        dname_key_t k;
        if (dname_key_build(ch[i].owner, &k) != 0 || !dname_is_sub(ch[i].owner, z->apex)) {
            err = DNSD_EOUTOFZONE;
            break;
        }
        if (ch[i].type == DNS_T_NS && k.nlabels > z->apex_labels) {
            /* a cut came, went or changed: the name and all below it */
            size_t pl = zs_owner_prefix(z->id, &k, z->apex_labels, kb);
            err = process_range(&c, kb, pl, M_NEED, 0, NULL);
            continue;
        }
        size_t kl = zs_rrset_key(z->id, &k, z->apex_labels, ch[i].type, ch[i].region, kb);
        err = process_key(&c, kb, kl, M_FORCE);
    }
    if (!err) {
        /* the SOA: its serial moved (the writer rewrote it with the old signatures) */
        dname_key_t ak;
        dname_key_build(z->apex, &ak);
        size_t kl = zs_rrset_key(z->id, &ak, z->apex_labels, DNS_T_SOA, ZS_REGION_DEFAULT, kb);
        err = process_key(&c, kb, kl, M_FORCE);
    }
    if (nsigned) {
        *nsigned = c.nsigned;
    }
    sctx_close(&c);
    return err;
}

int zd_sign_all(zs_store_t *s, MDB_txn *txn, const zd_zone_t *z, bool strip, uint64_t now,
                size_t *nsigned, diag_t *d)
{
    sctx_t c;
    int err = sctx_open(&c, s, txn, z, now, d);
    uint8_t idb[4];
    zs_put32(idb, z->id);
    if (!err) {
        err = process_range(&c, idb, 4, strip ? M_STRIP : M_FORCE, 0, NULL);
    }
    if (nsigned) {
        *nsigned = c.nsigned;
    }
    sctx_close(&c);
    return err;
}

int zd_resign_some(zs_store_t *s, MDB_txn *txn, const zd_zone_t *z, uint64_t now, size_t max,
                   size_t *nsigned, bool *more, diag_t *d)
{
    sctx_t c;
    int err = sctx_open(&c, s, txn, z, now, d);
    uint8_t idb[4];
    zs_put32(idb, z->id);
    *more = false;
    if (!err) {
        err = process_range(&c, idb, 4, M_NEED, max ? max : 1, more);
    }
    if (nsigned) {
        *nsigned = c.nsigned;
    }
    sctx_close(&c);
    return err;
}
