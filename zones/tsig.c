/* SPDX-License-Identifier: MIT */
/*
 * tsig.c -- TSIG (RFC 8945) with OpenSSL's HMAC, and the "tsig" key store.
 * See tsig.h for the contract. Called by dnsd's transfer, update and
 * secondary threads, dnsctl, the tests and the fuzz target; only
 * tsig_find() may run on a query worker (it allocates nothing). Never logs
 * a secret or a MAC; MACs are compared with CRYPTO_memcmp().
 *
 * DESIGN. A message is walked once (walk()) to the start of its last
 * additional record, which must be the only TSIG RR; the RR is decoded
 * into a tsig_rr_t pointing into the message. A digest is fed to one
 * EVP_MAC context kept in the tsig_ctx_t, in the RFC 8945 4.3 order:
 * [u16 prior MAC size | prior MAC] | message without the TSIG RR (header
 * ID replaced by the Original ID, ARCOUNT one less) | the TSIG variables
 * (first message of an exchange) or the timers (later ones, 4.3.1). For a
 * client reading a transfer, unsigned messages are fed to the same context
 * as they arrive (prefix first), and the next signed message finishes it.
 */
#include "zones/tsig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "zones/base/err.h"
#include "zones/names.h"
#include "zones/schema.h"

/* ------------------------------------------------------------ algorithms */

typedef struct alg_info {
    tsig_alg_t alg;
    const char *name;   /* presentation, no final dot */
    const uint8_t *wire;
    const char *digest; /* OpenSSL digest name */
    unsigned mac_len;
} alg_info_t;

static const alg_info_t algs[] = {
    {TSIG_HMAC_SHA1, "hmac-sha1", (const uint8_t *)"\x09hmac-sha1", "SHA1", 20},
    {TSIG_HMAC_SHA224, "hmac-sha224", (const uint8_t *)"\x0bhmac-sha224", "SHA224", 28},
    {TSIG_HMAC_SHA256, "hmac-sha256", (const uint8_t *)"\x0bhmac-sha256", "SHA256", 32},
    {TSIG_HMAC_SHA384, "hmac-sha384", (const uint8_t *)"\x0bhmac-sha384", "SHA384", 48},
    {TSIG_HMAC_SHA512, "hmac-sha512", (const uint8_t *)"\x0bhmac-sha512", "SHA512", 64},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

static const alg_info_t *alg_get(tsig_alg_t alg)
{
    for (size_t i = 0; i < NALGS; i++) {
        if (algs[i].alg == alg) {
            return &algs[i];
        }
    }
    return NULL;
}

tsig_alg_t tsig_alg_from_name(const char *name)
{
    if (!name) {
        return TSIG_ALG_NONE;
    }
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.') {
        n--;
    }
    for (size_t i = 0; i < NALGS; i++) {
        if (strlen(algs[i].name) == n && strncasecmp(algs[i].name, name, n) == 0) {
            return algs[i].alg;
        }
    }
    return TSIG_ALG_NONE;
}

const char *tsig_alg_error(const char *name)
{
    if (tsig_alg_from_name(name) != TSIG_ALG_NONE) {
        return NULL;
    }
    if (name && strncasecmp(name, "hmac-md5", 8) == 0) {
        return "hmac-md5 is refused (MD5 is broken, RFC 8945 6); use hmac-sha256, "
               "hmac-sha384 or hmac-sha512 (hmac-sha1 for old peers)";
    }
    return "unknown TSIG algorithm (known: hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, "
           "hmac-sha512)";
}

tsig_alg_t tsig_alg_from_wire(const uint8_t *wire)
{
    for (size_t i = 0; i < NALGS; i++) {
        if (dname_eq(algs[i].wire, wire)) {
            return algs[i].alg;
        }
    }
    return TSIG_ALG_NONE;
}

const char *tsig_alg_name(tsig_alg_t alg)
{
    const alg_info_t *a = alg_get(alg);
    return a ? a->name : "";
}

const uint8_t *tsig_alg_wire(tsig_alg_t alg)
{
    const alg_info_t *a = alg_get(alg);
    return a ? a->wire : NULL;
}

unsigned tsig_alg_mac_len(tsig_alg_t alg)
{
    const alg_info_t *a = alg_get(alg);
    return a ? a->mac_len : 0;
}

const char *tsig_error_name(int e)
{
    switch (e) {
    case TSIG_NOERROR:
        return "NOERROR";
    case TSIG_BADSIG:
        return "BADSIG";
    case TSIG_BADKEY:
        return "BADKEY";
    case TSIG_BADTIME:
        return "BADTIME";
    case TSIG_BADTRUNC:
        return "BADTRUNC";
    default:
        return "TSIG error";
    }
}

/* ---------------------------------------------------------- text helpers */

/* a presentation name ("a.b.", "a.b", "."; \X and \DDD escapes) to a
 * lower-case wire name; 0 or DNSD_EMALFORMED */
static int name_from_text(const char *t, uint8_t *out, size_t *olen)
{
    size_t o = 0;
    if (t[0] == '.' && t[1] == '\0') {
        out[0] = 0;
        *olen = 1;
        return 0;
    }
    if (t[0] == '\0') {
        return DNSD_EMALFORMED;
    }
    while (*t) {
        size_t lpos = o++;
        size_t ll = 0;
        while (*t && *t != '.') {
            int c = (unsigned char)*t++;
            if (c == '\\') {
                if (isdigit((unsigned char)t[0]) && isdigit((unsigned char)t[1]) &&
                    isdigit((unsigned char)t[2])) {
                    c = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
                    if (c > 255) {
                        return DNSD_EMALFORMED;
                    }
                    t += 3;
                } else if (*t) {
                    c = (unsigned char)*t++;
                } else {
                    return DNSD_EMALFORMED;
                }
            }
            if (ll == 63 || o >= DNAME_MAXLEN - 1) {
                return DNSD_EMALFORMED;
            }
            out[o++] = (uint8_t)tolower(c);
            ll++;
        }
        if (ll == 0) {
            return DNSD_EMALFORMED; /* empty label: "a..b" or a leading dot */
        }
        out[lpos] = (uint8_t)ll;
        if (*t == '.') {
            t++;
        }
    }
    out[o++] = 0;
    *olen = o;
    return 0;
}

static int b64_decode(const char *in, uint8_t *out, size_t cap, size_t *olen)
{
    size_t n = strlen(in);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap + 2) {
        return DNSD_EMALFORMED;
    }
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i];
        bool pad_ok = i >= n - 2 && c == '=' && (i == n - 1 || in[n - 1] == '=');
        if (!isalnum(c) && c != '+' && c != '/' && !pad_ok) {
            return DNSD_EMALFORMED;
        }
    }
    uint8_t tmp[TSIG_SECRET_MAX + 3];
    if (n / 4 * 3 > sizeof(tmp)) {
        return DNSD_EMALFORMED;
    }
    int r = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
    if (r < 0) {
        return DNSD_EMALFORMED;
    }
    size_t len = (size_t)r - (in[n - 1] == '=') - (in[n - 2] == '=');
    if (len > cap) {
        OPENSSL_cleanse(tmp, sizeof(tmp));
        return DNSD_EMALFORMED;
    }
    memcpy(out, tmp, len);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    *olen = len;
    return 0;
}

int tsig_secret_b64(const tsig_key_t *key, char *out, size_t cap)
{
    size_t need = 4 * ((key->secret_len + 2u) / 3u) + 1;
    if (cap < need) {
        return DNSD_ESPACE;
    }
    return EVP_EncodeBlock((unsigned char *)out, key->secret, key->secret_len);
}

int tsig_key_parse(const char *name, const char *alg, const char *secret_b64, tsig_key_t *out,
                   diag_t *d)
{
    memset(out, 0, sizeof(*out));
    size_t nl = 0;
    if (!name || name_from_text(name, out->name, &nl) != 0) {
        diag_set(d, "name", 0, "bad key name \"%s\" (a domain name, e.g. xfr.example.com.)",
                 name ? name : "");
        return DNSD_EMALFORMED;
    }
    out->name_len = (uint16_t)nl;
    out->alg = tsig_alg_from_name(alg);
    if (out->alg == TSIG_ALG_NONE) {
        diag_set(d, "algorithm", 0, "\"%s\": %s", alg ? alg : "", tsig_alg_error(alg));
        return DNSD_EMALFORMED;
    }
    size_t sl = 0;
    if (!secret_b64 || b64_decode(secret_b64, out->secret, TSIG_SECRET_MAX, &sl) != 0 ||
        sl == 0) {
        diag_set(d, "secret", 0, "the secret is not base64 of 1 to %u bytes", TSIG_SECRET_MAX);
        OPENSSL_cleanse(out->secret, sizeof(out->secret));
        return DNSD_EMALFORMED;
    }
    out->secret_len = (uint16_t)sl;
    return 0;
}

/* ------------------------------------------------------------- key store */

#define KEYVAL_FORMAT 1u
#define REF_TAG       'r'
#define KEY_TAG       'k'
#define LMDB_KEY_MAX  511u

/* 'k'|'r' + canonical key of @p name; the length, or an error */
static int db_name_key(char tag, const uint8_t *name, uint8_t *out)
{
    if (dname_wire_len(name, DNAME_MAXLEN + 1) < 0) {
        return DNSD_EMALFORMED;
    }
    dname_key_t k;
    if (dname_key_build(name, &k) != 0) {
        return DNSD_ELIMIT;
    }
    out[0] = (uint8_t)tag;
    memcpy(out + 1, k.key, k.len);
    return 1 + k.len;
}

static bool key_decode(const uint8_t *key, size_t klen, const uint8_t *v, size_t vlen,
                       tsig_key_t *out)
{
    memset(out, 0, sizeof(*out));
    if (klen < 1 || key[0] != KEY_TAG || vlen < 4 || v[0] != KEYVAL_FORMAT) {
        return false;
    }
    int nl = dname_from_key(key + 1, klen - 1, out->name);
    if (nl < 0) {
        return false;
    }
    out->name_len = (uint16_t)nl;
    out->alg = (tsig_alg_t)v[1];
    out->secret_len = zs_get16(v + 2);
    if (!alg_get(out->alg) || out->secret_len == 0 || out->secret_len > TSIG_SECRET_MAX ||
        vlen != 4u + out->secret_len) {
        return false;
    }
    memcpy(out->secret, v + 4, out->secret_len);
    return true;
}

int tsig_key_get(zs_store_t *s, MDB_txn *txn, const uint8_t *name, tsig_key_t *out)
{
    if (!s->has_tsig) {
        return DNSD_ENOTFOUND;
    }
    uint8_t kb[1 + DNAME_KEY_MAX];
    int kl = db_name_key(KEY_TAG, name, kb);
    if (kl < 0) {
        return kl == DNSD_ELIMIT ? DNSD_ENOTFOUND : kl;
    }
    MDB_val k = {(size_t)kl, kb}, v;
    int rc = mdb_get(txn, s->tsig, &k, &v);
    if (rc) {
        return zs_mdb_err(rc);
    }
    return key_decode(kb, (size_t)kl, v.mv_data, v.mv_size, out) ? 0 : DNSD_ESTORE;
}

int tsig_key_put(zs_store_t *s, MDB_txn *txn, const tsig_key_t *key)
{
    if (!s->has_tsig) {
        return DNSD_ESTORE;
    }
    if (!alg_get(key->alg) || key->secret_len == 0 || key->secret_len > TSIG_SECRET_MAX) {
        return DNSD_EMALFORMED;
    }
    uint8_t kb[1 + DNAME_KEY_MAX];
    int kl = db_name_key(KEY_TAG, key->name, kb);
    if (kl < 0) {
        return kl;
    }
    uint8_t vb[4 + TSIG_SECRET_MAX];
    vb[0] = KEYVAL_FORMAT;
    vb[1] = (uint8_t)key->alg;
    zs_put16(vb + 2, key->secret_len);
    memcpy(vb + 4, key->secret, key->secret_len);
    MDB_val k = {(size_t)kl, kb}, v = {4u + key->secret_len, vb};
    int err = zs_mdb_err(zs_put(s, txn, s->tsig, &k, &v, 0));
    OPENSSL_cleanse(vb, sizeof(vb));
    return err;
}

/* the prefix of @p name's references: 'r' | key | 0x00 */
static int ref_prefix(const uint8_t *name, uint8_t *out)
{
    int kl = db_name_key(REF_TAG, name, out);
    if (kl < 0) {
        return kl;
    }
    out[kl] = 0;
    return kl + 1;
}

typedef struct ref_any {
    bool found;
} ref_any_t;

static int ref_any_cb(const char *label, void *arg)
{
    (void)label;
    ((ref_any_t *)arg)->found = true;
    return 1;
}

int tsig_key_del(zs_store_t *s, MDB_txn *txn, const uint8_t *name)
{
    if (!s->has_tsig) {
        return DNSD_ENOTFOUND;
    }
    uint8_t kb[1 + DNAME_KEY_MAX];
    int kl = db_name_key(KEY_TAG, name, kb);
    if (kl < 0) {
        return kl == DNSD_ELIMIT ? DNSD_ENOTFOUND : kl;
    }
    ref_any_t any = {false};
    int err = tsig_ref_foreach(s, txn, name, ref_any_cb, &any);
    if (err < 0) {
        return err;
    }
    if (any.found) {
        return DNSD_EEXIST;
    }
    MDB_val k = {(size_t)kl, kb};
    return zs_mdb_err(zs_del(s, txn, s->tsig, &k));
}

int tsig_key_foreach(zs_store_t *s, MDB_txn *txn, tsig_key_cb cb, void *arg)
{
    if (!s->has_tsig) {
        return 0;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->tsig, &cur);
    if (rc) {
        return zs_mdb_err(rc);
    }
    uint8_t tag = KEY_TAG;
    MDB_val k = {1, &tag}, v;
    int err = 0;
    tsig_key_t key;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 1 || ((const uint8_t *)k.mv_data)[0] != KEY_TAG) {
            break;
        }
        if (!key_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &key)) {
            err = DNSD_ESTORE;
            break;
        }
        if ((err = cb(&key, arg)) != 0) {
            break;
        }
    }
    OPENSSL_cleanse(&key, sizeof(key));
    if (rc != 0 && rc != MDB_NOTFOUND && !err) {
        err = zs_mdb_err(rc);
    }
    mdb_cursor_close(cur);
    return err;
}

static bool label_ok(const char *label)
{
    size_t n = strlen(label);
    if (n == 0 || n > TSIG_REF_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isprint((unsigned char)label[i])) {
            return false;
        }
    }
    return true;
}

/* the full reference key; its length or an error */
static int ref_key(const uint8_t *name, const char *label, uint8_t *out)
{
    if (!label_ok(label)) {
        return DNSD_EMALFORMED;
    }
    int pl = ref_prefix(name, out);
    if (pl < 0) {
        return pl;
    }
    size_t ll = strlen(label);
    if ((size_t)pl + ll > LMDB_KEY_MAX) {
        return DNSD_ELIMIT;
    }
    memcpy(out + pl, label, ll);
    return pl + (int)ll;
}

int tsig_ref_add(zs_store_t *s, MDB_txn *txn, const uint8_t *name, const char *label)
{
    tsig_key_t key;
    int err = tsig_key_get(s, txn, name, &key);
    OPENSSL_cleanse(&key, sizeof(key));
    if (err) {
        return err;
    }
    uint8_t kb[2 + DNAME_KEY_MAX + TSIG_REF_MAX];
    int kl = ref_key(name, label, kb);
    if (kl < 0) {
        return kl;
    }
    MDB_val k = {(size_t)kl, kb}, v = {0, (void *)""};
    return zs_mdb_err(zs_put(s, txn, s->tsig, &k, &v, 0));
}

int tsig_ref_del(zs_store_t *s, MDB_txn *txn, const uint8_t *name, const char *label)
{
    if (!s->has_tsig) {
        return 0;
    }
    uint8_t kb[2 + DNAME_KEY_MAX + TSIG_REF_MAX];
    int kl = ref_key(name, label, kb);
    if (kl < 0) {
        return kl;
    }
    MDB_val k = {(size_t)kl, kb};
    int rc = zs_del(s, txn, s->tsig, &k);
    return rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
}

int tsig_ref_foreach(zs_store_t *s, MDB_txn *txn, const uint8_t *name, tsig_ref_cb cb, void *arg)
{
    if (!s->has_tsig) {
        return 0;
    }
    uint8_t pb[2 + DNAME_KEY_MAX];
    int pl = ref_prefix(name, pb);
    if (pl < 0) {
        return pl == DNSD_ELIMIT ? 0 : pl;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->tsig, &cur);
    if (rc) {
        return zs_mdb_err(rc);
    }
    MDB_val k = {(size_t)pl, pb}, v;
    int err = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= (size_t)pl || memcmp(k.mv_data, pb, (size_t)pl) != 0) {
            break;
        }
        char label[TSIG_REF_MAX + 1];
        size_t ll = k.mv_size - (size_t)pl;
        if (ll > TSIG_REF_MAX) {
            err = DNSD_ESTORE;
            break;
        }
        memcpy(label, (const uint8_t *)k.mv_data + pl, ll);
        label[ll] = '\0';
        if ((err = cb(label, arg)) != 0) {
            break;
        }
    }
    if (rc != 0 && rc != MDB_NOTFOUND && !err) {
        err = zs_mdb_err(rc);
    }
    mdb_cursor_close(cur);
    return err;
}

int tsig_store_lookup(const uint8_t *name, void *arg, tsig_key_t *out)
{
    tsig_store_lookup_t *l = arg;
    return tsig_key_get(l->s, l->txn, name, out);
}

/* -------------------------------------------------------------- the wire */

#define HDR 12u

/* read a possibly compressed name at @p off into @p out (lower case,
 * uncompressed); its end in the message in *@p next. false if malformed */
static bool read_name(const uint8_t *m, size_t len, size_t off, uint8_t *out, size_t *olen,
                      size_t *next)
{
    size_t o = off, w = 0;
    bool jumped = false;
    for (unsigned hops = 0; hops < 256; hops++) {
        if (o >= len) {
            return false;
        }
        uint8_t b = m[o];
        if ((b & 0xc0) == 0xc0) {
            if (len - o < 2) {
                return false;
            }
            size_t to = (size_t)(b & 0x3f) << 8 | m[o + 1];
            if (!jumped) {
                *next = o + 2;
                jumped = true;
            }
            if (to >= o) {
                return false; /* pointers go backwards only: no loops */
            }
            o = to;
            continue;
        }
        if (b & 0xc0) {
            return false;
        }
        if (len - o < 1u + b || w + 1u + b > DNAME_MAXLEN) {
            return false;
        }
        out[w++] = b;
        for (unsigned i = 0; i < b; i++) {
            out[w++] = (uint8_t)tolower(m[o + 1 + i]);
        }
        o += 1u + b;
        if (b == 0) {
            if (!jumped) {
                *next = o;
            }
            *olen = w;
            return true;
        }
    }
    return false;
}

/*
 * Walk to the last additional record: 0 and *off if it is a TSIG RR,
 * DNSD_ENOTFOUND if there is none, DNSD_EMALFORMED if the message is
 * broken or carries a TSIG RR elsewhere in the additional section.
 */
static int walk(const uint8_t *m, size_t len, size_t *tsig_off)
{
    if (len < HDR) {
        return DNSD_EMALFORMED;
    }
    unsigned qd = zs_get16(m + 4), an = zs_get16(m + 6), ns = zs_get16(m + 8), ar = zs_get16(m + 10);
    size_t o = HDR;
    for (unsigned i = 0; i < qd; i++) {
        if (!dname_wire_skip(m, len, &o) || len - o < 4) {
            return DNSD_EMALFORMED;
        }
        o += 4;
    }
    unsigned total = an + ns + ar;
    for (unsigned i = 0; i < total; i++) {
        size_t start = o;
        if (!dname_wire_skip(m, len, &o) || len - o < 10) {
            return DNSD_EMALFORMED;
        }
        uint16_t type = zs_get16(m + o);
        size_t rdlen = zs_get16(m + o + 8);
        o += 10;
        if (len - o < rdlen) {
            return DNSD_EMALFORMED;
        }
        o += rdlen;
        if (type == TSIG_RRTYPE) {
            if (i != total - 1 || i < an + ns) {
                return DNSD_EMALFORMED; /* RFC 8945 5.1: TSIG only as the last additional */
            }
            *tsig_off = start;
            return 0;
        }
    }
    return DNSD_ENOTFOUND;
}

bool tsig_find(const uint8_t *msg, size_t len, size_t *off)
{
    size_t o = 0;
    if (walk(msg, len, &o) != 0) {
        return false;
    }
    *off = o;
    return true;
}

/* a decoded TSIG RR; pointers into the message */
typedef struct tsig_rr {
    uint8_t name[DNAME_MAXLEN + 1]; /* lower case */
    size_t name_len;
    const uint8_t *alg; /* uncompressed wire name as sent */
    size_t alg_len;
    uint64_t time;
    uint16_t fudge;
    uint16_t mac_size;
    const uint8_t *mac;
    uint16_t orig_id;
    uint16_t error;
    uint16_t other_len;
    const uint8_t *other;
} tsig_rr_t;

/* decode the TSIG RR at @p off, which must end the message */
static int parse_rr(const uint8_t *m, size_t len, size_t off, tsig_rr_t *rr)
{
    size_t o = 0;
    if (!read_name(m, len, off, rr->name, &rr->name_len, &o) || len - o < 10) {
        return DNSD_EMALFORMED;
    }
    if (zs_get16(m + o) != TSIG_RRTYPE || zs_get16(m + o + 2) != TSIG_CLASS) {
        return DNSD_EMALFORMED;
    }
    size_t rdlen = zs_get16(m + o + 8);
    o += 10;
    if (len - o != rdlen) {
        return DNSD_EMALFORMED; /* bytes after the TSIG RR */
    }
    const uint8_t *rd = m + o;
    int al = dname_wire_len(rd, rdlen); /* the algorithm name is never compressed */
    if (al < 0) {
        return DNSD_EMALFORMED;
    }
    rr->alg = rd;
    rr->alg_len = (size_t)al;
    size_t r = (size_t)al;
    if (rdlen - r < 10) {
        return DNSD_EMALFORMED;
    }
    rr->time = (uint64_t)zs_get16(rd + r) << 32 | (uint64_t)zs_get16(rd + r + 2) << 16 |
               zs_get16(rd + r + 4);
    rr->fudge = zs_get16(rd + r + 6);
    rr->mac_size = zs_get16(rd + r + 8);
    r += 10;
    if (rdlen - r < (size_t)rr->mac_size + 6) {
        return DNSD_EMALFORMED;
    }
    rr->mac = rd + r;
    r += rr->mac_size;
    rr->orig_id = zs_get16(rd + r);
    rr->error = zs_get16(rd + r + 2);
    rr->other_len = zs_get16(rd + r + 4);
    r += 6;
    if (rdlen - r != rr->other_len) {
        return DNSD_EMALFORMED;
    }
    rr->other = rd + r;
    return 0;
}

/* ---------------------------------------------------------------- digests */

void tsig_ctx_init(tsig_ctx_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->fudge = TSIG_FUDGE_DEFAULT;
}

void tsig_ctx_fini(tsig_ctx_t *ctx)
{
    if (!ctx) {
        return;
    }
    EVP_MAC_CTX_free(ctx->mac);
    ctx->mac = NULL;
    OPENSSL_cleanse(&ctx->key, sizeof(ctx->key));
    OPENSSL_cleanse(ctx->prior, sizeof(ctx->prior));
}

/* start a digest with the key of @p ctx */
static int mac_begin(tsig_ctx_t *ctx)
{
    const alg_info_t *a = alg_get(ctx->key.alg);
    if (!a || ctx->key.secret_len == 0) {
        return DNSD_ECRYPTO;
    }
    if (!ctx->mac) {
        EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (!hmac) {
            return DNSD_ECRYPTO;
        }
        ctx->mac = EVP_MAC_CTX_new(hmac);
        EVP_MAC_free(hmac); /* the context keeps its own reference */
        if (!ctx->mac) {
            return DNSD_ECRYPTO;
        }
    }
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)a->digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx->mac, ctx->key.secret, ctx->key.secret_len, params) != 1) {
        return DNSD_ECRYPTO;
    }
    return 0;
}

static int mac_add(tsig_ctx_t *ctx, const void *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    return EVP_MAC_update(ctx->mac, p, n) == 1 ? 0 : DNSD_ECRYPTO;
}

/* u16 size | prior MAC, when there is one */
static int mac_prior(tsig_ctx_t *ctx)
{
    if (ctx->prior_len == 0) {
        return 0;
    }
    uint8_t l[2];
    zs_put16(l, ctx->prior_len);
    int err = mac_add(ctx, l, 2);
    return err ? err : mac_add(ctx, ctx->prior, ctx->prior_len);
}

/* the message's first @p n bytes, header ID set to @p id and ARCOUNT less @p ar_less */
static int mac_msg(tsig_ctx_t *ctx, const uint8_t *m, size_t n, uint16_t id, unsigned ar_less)
{
    uint8_t h[HDR];
    memcpy(h, m, HDR);
    zs_put16(h, id);
    zs_put16(h + 10, (uint16_t)(zs_get16(m + 10) - ar_less));
    int err = mac_add(ctx, h, HDR);
    return err ? err : mac_add(ctx, m + HDR, n - HDR);
}

static void put48(uint8_t *p, uint64_t v)
{
    zs_put16(p, (uint16_t)(v >> 32));
    zs_put32(p + 2, (uint32_t)v);
}

/* the TSIG variables (4.3.3), or with @p timers_only just time signed and fudge */
static int mac_vars(tsig_ctx_t *ctx, const uint8_t *name, size_t name_len, const uint8_t *alg,
                    size_t alg_len, uint64_t time, uint16_t fudge, uint16_t error,
                    const uint8_t *other, uint16_t other_len, bool timers_only)
{
    uint8_t b[DNAME_MAXLEN + 6];
    int err = 0;
    if (!timers_only) {
        memcpy(b, name, name_len);
        dname_lower(b);
        zs_put16(b + name_len, TSIG_CLASS);
        zs_put32(b + name_len + 2, 0); /* TTL */
        if ((err = mac_add(ctx, b, name_len + 6)) != 0) {
            return err;
        }
        memcpy(b, alg, alg_len);
        dname_lower(b);
        if ((err = mac_add(ctx, b, alg_len)) != 0) {
            return err;
        }
    }
    put48(b, time);
    zs_put16(b + 6, fudge);
    if (timers_only) {
        return mac_add(ctx, b, 8);
    }
    zs_put16(b + 8, error);
    zs_put16(b + 10, other_len);
    if ((err = mac_add(ctx, b, 12)) != 0) {
        return err;
    }
    return mac_add(ctx, other, other_len);
}

static int mac_end(tsig_ctx_t *ctx, uint8_t *out, size_t *olen)
{
    return EVP_MAC_final(ctx->mac, out, olen, TSIG_MAC_MAX) == 1 ? 0 : DNSD_ECRYPTO;
}

static bool time_ok(uint64_t now, uint64_t signed_at, uint16_t fudge)
{
    uint64_t d = now > signed_at ? now - signed_at : signed_at - now;
    return d <= fudge;
}

/* MAC size bounds of RFC 8945 5.2.2.1: at most the hash, at least 10
 * octets and half the hash */
static bool mac_size_ok(unsigned size, unsigned full)
{
    unsigned min = full / 2 > 10 ? full / 2 : 10;
    return size <= full && size >= min;
}

/* the shortest MAC the local policy accepts */
static unsigned mac_policy(const tsig_ctx_t *ctx, unsigned full)
{
    unsigned min = full / 2 > 10 ? full / 2 : 10;
    return ctx->min_mac_len > min ? ctx->min_mac_len : min;
}

/* take the name and algorithm of a received TSIG RR into @p ctx */
static void take_ids(tsig_ctx_t *ctx, const tsig_rr_t *rr)
{
    memcpy(ctx->key.name, rr->name, rr->name_len);
    ctx->key.name_len = (uint16_t)rr->name_len;
    memcpy(ctx->alg_wire, rr->alg, rr->alg_len);
    dname_lower(ctx->alg_wire);
    ctx->key.alg = tsig_alg_from_wire(rr->alg);
}

/* ------------------------------------------------------------ server side */

int tsig_verify_request(const uint8_t *msg, size_t len, tsig_lookup_fn lookup, void *arg,
                        uint64_t now, tsig_ctx_t *ctx, size_t *len_without_tsig)
{
    size_t off = 0;
    tsig_rr_t rr;
    int err = walk(msg, len, &off);
    if (err) {
        return err;
    }
    if ((err = parse_rr(msg, len, off, &rr)) != 0) {
        return err;
    }
    *len_without_tsig = off;
    ctx->is_client = false;
    ctx->have_key = false;
    ctx->prior_len = 0;
    ctx->nmsg = 0;
    ctx->mac_len = 0;
    ctx->orig_id = rr.orig_id;
    ctx->time_signed = rr.time;
    take_ids(ctx, &rr);

    /* 5.2.1: the key, and its algorithm */
    tsig_key_t key;
    tsig_alg_t alg = ctx->key.alg;
    if (alg == TSIG_ALG_NONE || lookup(ctx->key.name, arg, &key) != 0 || key.alg != alg) {
        ctx->error = TSIG_BADKEY;
        return TSIG_BADKEY;
    }
    ctx->key = key;
    OPENSSL_cleanse(&key, sizeof(key));
    ctx->have_key = true;

    /* 5.2.2.1: MAC size bounds (FORMERR) */
    unsigned full = tsig_alg_mac_len(alg);
    if (!mac_size_ok(rr.mac_size, full)) {
        return DNSD_EMALFORMED;
    }
    /* 5.2.2: the MAC */
    uint8_t mac[TSIG_MAC_MAX];
    size_t ml = 0;
    if ((err = mac_begin(ctx)) != 0 || (err = mac_msg(ctx, msg, off, rr.orig_id, 1)) != 0 ||
        (err = mac_vars(ctx, rr.name, rr.name_len, rr.alg, rr.alg_len, rr.time, rr.fudge,
                        rr.error, rr.other, rr.other_len, false)) != 0 ||
        (err = mac_end(ctx, mac, &ml)) != 0) {
        return err;
    }
    if (ml != full || CRYPTO_memcmp(mac, rr.mac, rr.mac_size) != 0) {
        OPENSSL_cleanse(mac, sizeof(mac));
        ctx->error = TSIG_BADSIG;
        return TSIG_BADSIG;
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    /* the request's MAC is good: the answer digests it (as sent, truncated or not) */
    memcpy(ctx->prior, rr.mac, rr.mac_size);
    ctx->prior_len = rr.mac_size;
    /* 5.2.3: the time */
    if (!time_ok(now, rr.time, rr.fudge)) {
        ctx->error = TSIG_BADTIME;
        return TSIG_BADTIME;
    }
    /* 5.2.4: truncation below local policy */
    if (rr.mac_size < mac_policy(ctx, full)) {
        ctx->error = TSIG_BADTRUNC;
        return TSIG_BADTRUNC;
    }
    /* answer with the request's truncation (5.3.1 asks for no shorter MAC) */
    ctx->mac_len = rr.mac_size < full ? rr.mac_size : 0;
    ctx->error = TSIG_NOERROR;
    return 0;
}

/* write a TSIG RR after *@p len; the MAC is @p mac/@p mac_size */
static int put_rr(const tsig_ctx_t *ctx, uint8_t *buf, size_t *len, size_t cap, uint64_t time,
                  const uint8_t *alg, size_t alg_len, const uint8_t *mac, size_t mac_size,
                  uint16_t error, const uint8_t *other, uint16_t other_len)
{
    size_t rdlen = alg_len + 10 + mac_size + 6 + other_len;
    size_t need = ctx->key.name_len + 10 + rdlen;
    if (*len > cap || cap - *len < need) {
        return DNSD_ESPACE;
    }
    uint8_t *p = buf + *len;
    memcpy(p, ctx->key.name, ctx->key.name_len);
    p += ctx->key.name_len;
    zs_put16(p, TSIG_RRTYPE);
    zs_put16(p + 2, TSIG_CLASS);
    zs_put32(p + 4, 0);
    zs_put16(p + 8, (uint16_t)rdlen);
    p += 10;
    memcpy(p, alg, alg_len);
    p += alg_len;
    put48(p, time);
    zs_put16(p + 6, ctx->fudge);
    zs_put16(p + 8, (uint16_t)mac_size);
    p += 10;
    if (mac_size) { /* memcpy from NULL is undefined even for 0 bytes (UBSan) */
        memcpy(p, mac, mac_size);
    }
    p += mac_size;
    zs_put16(p, ctx->orig_id);
    zs_put16(p + 2, error);
    zs_put16(p + 4, other_len);
    p += 6;
    if (other_len) {
        memcpy(p, other, other_len);
    }
    *len += need;
    zs_put16(buf + 10, (uint16_t)(zs_get16(buf + 10) + 1));
    return 0;
}

int tsig_sign_response(tsig_ctx_t *ctx, uint8_t *buf, size_t *len, size_t cap, uint64_t now,
                       int tsig_error)
{
    if (*len < HDR || *len > cap || zs_get16(buf + 10) == 0xffff) {
        return DNSD_EMALFORMED;
    }
    if (ctx->key.name_len == 0) {
        return DNSD_EMALFORMED; /* no request was verified with this ctx */
    }
    const uint8_t *alg = ctx->alg_wire[0] ? ctx->alg_wire : tsig_alg_wire(ctx->key.alg);
    if (!alg) {
        return DNSD_EMALFORMED;
    }
    size_t alg_len = (size_t)dname_wire_len(alg, DNAME_MAXLEN + 1);
    uint16_t error = (uint16_t)(tsig_error > 0 ? tsig_error : 0);
    if (error == TSIG_BADKEY || error == TSIG_BADSIG || !ctx->have_key) {
        if (!error) {
            return DNSD_EMALFORMED;
        }
        /* 5.3.2: a key or MAC error is answered unsigned: MAC size 0 */
        return put_rr(ctx, buf, len, cap, now, alg, alg_len, NULL, 0, error, NULL, 0);
    }
    uint64_t time = now;
    uint8_t other[6];
    uint16_t other_len = 0;
    if (error == TSIG_BADTIME) {
        /* 5.2.3: signed, Time Signed from the request, the server's time in Other Data */
        time = ctx->time_signed;
        put48(other, now);
        other_len = 6;
    }
    bool first = ctx->nmsg == 0;
    unsigned full = tsig_alg_mac_len(ctx->key.alg);
    unsigned size = ctx->mac_len && ctx->mac_len < full ? ctx->mac_len : full;
    size_t need = ctx->key.name_len + 10 + alg_len + 16 + size + other_len;
    if (cap - *len < need) {
        return DNSD_ESPACE;
    }
    uint8_t mac[TSIG_MAC_MAX];
    size_t ml = 0;
    int err;
    if ((err = mac_begin(ctx)) != 0 || (err = mac_prior(ctx)) != 0 ||
        (err = mac_msg(ctx, buf, *len, ctx->orig_id, 0)) != 0 ||
        (err = mac_vars(ctx, ctx->key.name, ctx->key.name_len, alg, alg_len, time, ctx->fudge,
                        error, other, other_len, !first)) != 0 ||
        (err = mac_end(ctx, mac, &ml)) != 0) {
        return err;
    }
    err = put_rr(ctx, buf, len, cap, time, alg, alg_len, mac, size, error, other, other_len);
    if (err == 0) {
        memcpy(ctx->prior, mac, size);
        ctx->prior_len = (uint16_t)size;
        ctx->time_signed = time;
        ctx->nmsg++;
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return err;
}

int tsig_answer_error(tsig_ctx_t *ctx, const uint8_t *req, size_t req_len, uint8_t *buf,
                      size_t *len, size_t cap, uint64_t now, int tsig_error)
{
    if (req_len < HDR || cap < HDR) {
        return req_len < HDR ? DNSD_EMALFORMED : DNSD_ESPACE;
    }
    memcpy(buf, req, 4);
    buf[2] = (uint8_t)(0x80 | (req[2] & 0x79)); /* QR, the opcode and RD kept */
    buf[3] = TSIG_RCODE_NOTAUTH;
    memset(buf + 4, 0, 8);
    size_t n = HDR;
    size_t o = HDR;
    /* the question, when there is one and its name is not compressed */
    if (zs_get16(req + 4) >= 1) {
        int nl = dname_wire_len(req + HDR, req_len - HDR);
        if (nl > 0 && req_len - HDR - (size_t)nl >= 4 && cap - HDR >= (size_t)nl + 4) {
            o = HDR + (size_t)nl + 4;
            memcpy(buf + HDR, req + HDR, o - HDR);
            n = o;
            zs_put16(buf + 4, 1);
        }
    }
    *len = n;
    int err = tsig_sign_response(ctx, buf, len, cap, now, tsig_error);
    if (err) {
        *len = 0;
    }
    return err;
}

/* ------------------------------------------------------------ client side */

int tsig_sign_request(tsig_ctx_t *ctx, const tsig_key_t *key, uint8_t *buf, size_t *len,
                      size_t cap, uint64_t now)
{
    if (*len < HDR || *len > cap || zs_get16(buf + 10) == 0xffff) {
        return DNSD_EMALFORMED;
    }
    const alg_info_t *a = alg_get(key->alg);
    if (!a || key->secret_len == 0 || key->secret_len > TSIG_SECRET_MAX ||
        dname_wire_len(key->name, DNAME_MAXLEN + 1) != (int)key->name_len) {
        return DNSD_EMALFORMED;
    }
    ctx->key = *key;
    dname_lower(ctx->key.name);
    ctx->have_key = true;
    ctx->is_client = true;
    size_t alg_len = (size_t)dname_wire_len(a->wire, DNAME_MAXLEN + 1);
    memcpy(ctx->alg_wire, a->wire, alg_len);
    ctx->orig_id = zs_get16(buf);
    ctx->prior_len = 0;
    ctx->nmsg = 0;
    ctx->unsigned_run = 0;
    ctx->last_signed = false;
    ctx->error = 0;
    ctx->peer_error = 0;
    size_t need = key->name_len + 10 + alg_len + 16 + a->mac_len;
    if (cap - *len < need) {
        return DNSD_ESPACE;
    }
    uint8_t mac[TSIG_MAC_MAX];
    size_t ml = 0;
    int err;
    if ((err = mac_begin(ctx)) != 0 || (err = mac_msg(ctx, buf, *len, ctx->orig_id, 0)) != 0 ||
        (err = mac_vars(ctx, ctx->key.name, ctx->key.name_len, a->wire, alg_len, now,
                        ctx->fudge, 0, NULL, 0, false)) != 0 ||
        (err = mac_end(ctx, mac, &ml)) != 0) {
        return err;
    }
    err = put_rr(ctx, buf, len, cap, now, a->wire, alg_len, mac, a->mac_len, 0, NULL, 0);
    if (err == 0) {
        memcpy(ctx->prior, mac, a->mac_len);
        ctx->prior_len = (uint16_t)a->mac_len;
        ctx->time_signed = now;
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return err;
}

int tsig_verify_response(tsig_ctx_t *ctx, const uint8_t *msg, size_t len, uint64_t now,
                         size_t *len_without_tsig)
{
    if (!ctx->is_client || !ctx->have_key) {
        return DNSD_EMALFORMED;
    }
    size_t off = 0;
    int err = walk(msg, len, &off);
    if (err == DNSD_ENOTFOUND) {
        /* 5.3.1: the first answer must be signed; then up to 99 unsigned in a row */
        if (ctx->nmsg == 0 || ctx->unsigned_run >= TSIG_UNSIGNED_MAX) {
            ctx->error = TSIG_BADSIG;
            ctx->last_signed = false;
            return TSIG_BADSIG;
        }
        if (ctx->unsigned_run == 0 && ((err = mac_begin(ctx)) != 0 ||
                                       (err = mac_prior(ctx)) != 0)) {
            return err;
        }
        if ((err = mac_add(ctx, msg, len)) != 0) {
            return err;
        }
        ctx->unsigned_run++;
        ctx->nmsg++;
        ctx->last_signed = false;
        *len_without_tsig = len;
        return 0;
    }
    if (err) {
        return err;
    }
    tsig_rr_t rr;
    if ((err = parse_rr(msg, len, off, &rr)) != 0) {
        return err;
    }
    *len_without_tsig = off;
    ctx->last_signed = false;
    ctx->peer_error = rr.error;
    /* signed with our key? */
    if (!dname_eq(rr.name, ctx->key.name) || tsig_alg_from_wire(rr.alg) != ctx->key.alg) {
        ctx->error = TSIG_BADKEY;
        return TSIG_BADKEY;
    }
    unsigned full = tsig_alg_mac_len(ctx->key.alg);
    if (rr.mac_size == 0 && rr.error != 0) {
        return rr.error; /* 5.3.2: the server refused the key or our MAC, unsigned */
    }
    if (!mac_size_ok(rr.mac_size, full)) {
        return DNSD_EMALFORMED;
    }
    bool first = ctx->nmsg == 0;
    if (ctx->unsigned_run == 0 && ((err = mac_begin(ctx)) != 0 || (err = mac_prior(ctx)) != 0)) {
        return err;
    }
    uint8_t mac[TSIG_MAC_MAX];
    size_t ml = 0;
    if ((err = mac_msg(ctx, msg, off, rr.orig_id, 1)) != 0 ||
        (err = mac_vars(ctx, rr.name, rr.name_len, rr.alg, rr.alg_len, rr.time, rr.fudge,
                        rr.error, rr.other, rr.other_len, !first)) != 0 ||
        (err = mac_end(ctx, mac, &ml)) != 0) {
        return err;
    }
    ctx->unsigned_run = 0;
    ctx->nmsg++;
    bool good = ml == full && CRYPTO_memcmp(mac, rr.mac, rr.mac_size) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    if (!good) {
        ctx->error = TSIG_BADSIG;
        return TSIG_BADSIG;
    }
    memcpy(ctx->prior, rr.mac, rr.mac_size);
    ctx->prior_len = rr.mac_size;
    ctx->time_signed = rr.time;
    if (rr.error != 0) {
        return rr.error; /* a signed BADTIME or BADTRUNC from the server */
    }
    if (!time_ok(now, rr.time, rr.fudge)) {
        ctx->error = TSIG_BADTIME;
        return TSIG_BADTIME;
    }
    if (rr.mac_size < mac_policy(ctx, full)) {
        ctx->error = TSIG_BADTRUNC;
        return TSIG_BADTRUNC;
    }
    ctx->error = 0;
    ctx->last_signed = true;
    return 0;
}

bool tsig_ctx_complete(const tsig_ctx_t *ctx)
{
    return ctx->is_client && ctx->nmsg > 0 && ctx->last_signed && ctx->unsigned_run == 0;
}
