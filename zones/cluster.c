/* SPDX-License-Identifier: MIT */
/*
 * cluster.c -- several dnsd nodes as one service on etcd v3 (see
 * cluster.h for the contract and the etcd layout). Called by dnsd (its
 * cluster threads, the ACME worker, every writer through the store's
 * replication hooks) and dnsctl. Never called by a query worker: a query
 * reads LMDB only, whatever etcd does.
 *
 * DESIGN. The log is a run of etcd keys log/<seq> with no gaps, each
 * created with "put if absent" by the holder of the write lock (a key
 * under the writer's lease), so etcd's linearisable txn decides the order
 * and two writers can never take the same seq. A write txn (zw_begin ..
 * zw_commit) on any node: lock, LMDB write txn, catch up to the head in
 * that txn, edits (captured by zones/repl.c), propose log/<head+1>, record
 * the seq as cluster_applied in the same LMDB txn, commit, unlock. Every
 * node's applier thread reads the same keys (range, then a watch from the
 * range's revision) and applies each entry in its own LMDB txn, again with
 * the seq, so a node's store is always "the cluster's state at seq N" and
 * a restart resumes from N. When the log no longer holds N+1 (trimmed
 * behind a snapshot, history compacted), the node loads the newest
 * snapshot (zr_clear + its parts) in one txn and goes on from its seq.
 *
 * Values in etcd are sealed with AES-256-GCM under the cluster key, the
 * etcd key as associated data (a value cannot be moved to another seq),
 * so etcd never sees a record, a certificate or a private key in plain:
 *   sealed: "ZCX1" | u8 id_len | key id | 12-byte nonce | ciphertext | 16-byte tag
 *   log plaintext: "ZCE1" | u8 kind (1 entry, 2 manifest) | u8 node_len | node |
 *                  u64 txid | kind 1: the zones/repl.h entry;
 *                             kind 2: u32 parts | u64 total bytes (parts in
 *                                     blob/<seq>/<txid %016x>/<n>)
 * Node status and task locks are plain (names and numbers only).
 */
#include "zones/cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "zones/base/clock.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"
#include "zones/repl.h"
#include "zones/schema.h"

#define ZC_META_APPLIED "cluster_applied"
#define ZC_META_ID      "cluster_id"
#define ZC_META_RESET   "cluster_reset" /* 1: load the snapshot at the next catch-up */
#define ZC_META_CFG     "cluster_cfg"

#define ZC_KEYS_MAX 16
#define ZC_PAGE     16       /* log entries per range request */
#define ZC_SEAL_OVER (4 + 1 + 32 + 12 + 16)

typedef struct zc_key {
    char id[33];
    uint8_t k[32];
} zc_key_t;

struct zc {
    zs_store_t *s;
    zc_cfg_t cfg;
    etcd_cfg_t ecfg;
    zc_key_t keys[ZC_KEYS_MAX];
    int nkeys;
    uint64_t id;               /* cluster id */
    pthread_mutex_t jmu;       /* join() */
    atomic_bool joined;
    /* write path (hooks): one writer at a time in this process */
    pthread_mutex_t wmu;
    etcd_t *ew;
    int64_t wlock_rev;         /* mod revision of our write-lock key (0: not held) */
    bool optimistic;           /* zc_set_optimistic() */
    uint64_t w_applied;        /* the store's seq after catch-up, in the write txn */
    /* other requests from any thread (locks, waits, status) */
    pthread_mutex_t mu;
    etcd_t *em;
    /* the lease: the node's (service) or this process's (dnsctl) */
    pthread_mutex_t lmu;
    int64_t lease;
    atomic_llong lease_ok_ms;  /* monotonic ms of the last successful grant/keepalive */
    atomic_ullong last_seq;
    atomic_ullong applied;     /* last seq this process saw applied */
    /* service threads */
    bool started;
    atomic_bool stop;
    pthread_t th_apply, th_session;
    etcd_t *ea;                /* applier's requests */
    etcd_t *ewatch;            /* applier's watch */
    etcd_t *es;                /* session thread */
};

/* ---- settings ---- */

void zc_cfg_defaults(zc_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->prefix, sizeof(cfg->prefix), "%s", ZC_DEFAULT_PREFIX);
    if (gethostname(cfg->node, sizeof(cfg->node)) != 0 || !cfg->node[0]) {
        snprintf(cfg->node, sizeof(cfg->node), "node");
    }
    cfg->node[ZC_NODE_MAX] = 0;
    char *dot = strchr(cfg->node, '.');
    if (dot) {
        *dot = 0;
    }
    cfg->lease_ttl_s = ZC_DEFAULT_TTL;
    cfg->timeout_ms = 3000;
    cfg->log_keep = ZC_DEFAULT_KEEP;
    cfg->snapshot_every = ZC_DEFAULT_SNAP;
}

static void js_set_str(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, json_string(v));
}

int zc_cfg_save(zs_store_t *s, const zc_cfg_t *cfg, diag_t *d)
{
    MDB_txn *txn = NULL;
    int err = zs_write_begin(s, &txn);
    if (err) {
        diag_set(d, "", 0, "store %s: cannot begin a write: %s", s->path, dnsd_strerror(err));
        return err;
    }
    MDB_val k = {strlen(ZC_META_CFG), (void *)ZC_META_CFG};
    if (!cfg) {
        int rc = zs_del(s, txn, s->meta, &k);
        err = rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
    } else {
        json_t *o = json_object(), *u = json_array();
        for (int i = 0; i < cfg->nurls; i++) {
            json_array_append_new(u, json_string(cfg->urls[i]));
        }
        json_object_set_new(o, "urls", u);
        js_set_str(o, "cacert", cfg->cacert);
        js_set_str(o, "cert", cfg->cert);
        js_set_str(o, "key", cfg->key);
        js_set_str(o, "prefix", cfg->prefix);
        js_set_str(o, "node", cfg->node);
        js_set_str(o, "key_file", cfg->key_file);
        json_object_set_new(o, "lease_ttl", json_integer(cfg->lease_ttl_s));
        json_object_set_new(o, "timeout_ms", json_integer(cfg->timeout_ms));
        json_object_set_new(o, "log_keep", json_integer((json_int_t)cfg->log_keep));
        json_object_set_new(o, "snapshot_every", json_integer((json_int_t)cfg->snapshot_every));
        char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        MDB_val v = {strlen(txt), txt};
        err = zs_mdb_err(zs_put(s, txn, s->meta, &k, &v, 0)); /* local key: never replicated */
        free(txt);
    }
    if (err) {
        zs_write_abort(s, txn);
        diag_set(d, "", 0, "store %s: cannot record the cluster settings: %s", s->path,
                 dnsd_strerror(err));
        return err;
    }
    err = zs_write_commit(s, txn);
    if (err) {
        diag_set(d, "", 0, "store %s: commit failed: %s", s->path, dnsd_strerror(err));
    }
    return err;
}

static void js_copy(json_t *o, const char *k, char *dst, size_t cap)
{
    const char *v = json_string_value(json_object_get(o, k));
    snprintf(dst, cap, "%s", v ? v : "");
}

int zc_cfg_load(zs_store_t *s, zc_cfg_t *cfg, bool *found, diag_t *d)
{
    *found = false;
    zc_cfg_defaults(cfg);
    MDB_txn *txn = NULL;
    int err = zs_read_begin(s, &txn);
    if (err) {
        diag_set(d, "", 0, "store %s: cannot read: %s", s->path, dnsd_strerror(err));
        return err;
    }
    MDB_val k = {strlen(ZC_META_CFG), (void *)ZC_META_CFG}, v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        zs_read_end(s, txn);
        return 0;
    }
    if (rc != 0) {
        zs_read_end(s, txn);
        return zs_mdb_err(rc);
    }
    json_error_t je;
    json_t *o = json_loadb(v.mv_data, v.mv_size, 0, &je);
    zs_read_end(s, txn);
    if (!json_is_object(o)) {
        json_decref(o);
        diag_set(d, "", 0, "store %s: the recorded cluster settings are damaged", s->path);
        return DNSD_ESTORE;
    }
    json_t *u = json_object_get(o, "urls");
    for (size_t i = 0; i < json_array_size(u) && cfg->nurls < ETCD_MAX_URLS; i++) {
        const char *url = json_string_value(json_array_get(u, i));
        if (url) {
            snprintf(cfg->urls[cfg->nurls++], sizeof(cfg->urls[0]), "%s", url);
        }
    }
    js_copy(o, "cacert", cfg->cacert, sizeof(cfg->cacert));
    js_copy(o, "cert", cfg->cert, sizeof(cfg->cert));
    js_copy(o, "key", cfg->key, sizeof(cfg->key));
    js_copy(o, "prefix", cfg->prefix, sizeof(cfg->prefix));
    js_copy(o, "node", cfg->node, sizeof(cfg->node));
    js_copy(o, "key_file", cfg->key_file, sizeof(cfg->key_file));
    cfg->lease_ttl_s = (int)json_integer_value(json_object_get(o, "lease_ttl"));
    cfg->timeout_ms = (long)json_integer_value(json_object_get(o, "timeout_ms"));
    cfg->log_keep = (uint64_t)json_integer_value(json_object_get(o, "log_keep"));
    cfg->snapshot_every = (uint64_t)json_integer_value(json_object_get(o, "snapshot_every"));
    json_decref(o);
    if (cfg->nurls == 0 || cfg->lease_ttl_s <= 0 || cfg->timeout_ms <= 0) {
        diag_set(d, "", 0, "store %s: the recorded cluster settings are incomplete", s->path);
        return DNSD_ESTORE;
    }
    *found = true;
    return 0;
}

/* ---- the cluster key ---- */

static bool key_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 32) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

static int keys_load(const char *path, zc_key_t *keys, int *nkeys, diag_t *d)
{
    *nkeys = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        diag_set(d, path, 0, "cannot open the cluster key file: %s", strerror(errno));
        return DNSD_ECONFIG;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        log_warn("cluster key file %s is readable by group or others (mode %03o): chmod 600",
                 path, (unsigned)(st.st_mode & 0777));
    }
    char line[512];
    int lineno = 0, err = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '#' || *p == '\n' || *p == 0) {
            continue;
        }
        char id[64], b64[128];
        if (sscanf(p, "%63s %127s", id, b64) != 2) {
            diag_set(d, path, lineno, "expected \"ID BASE64-KEY\"");
            err = DNSD_ECONFIG;
            break;
        }
        if (!key_id_ok(id)) {
            diag_set(d, path, lineno, "key id \"%s\": 1..32 of [A-Za-z0-9._-]", id);
            err = DNSD_ECONFIG;
            break;
        }
        uint8_t raw[96];
        int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
        size_t bl = strlen(b64);
        if (n >= 0 && bl >= 2 && b64[bl - 1] == '=') {
            n -= b64[bl - 2] == '=' ? 2 : 1;
        }
        if (n != 32) {
            diag_set(d, path, lineno, "key \"%s\": not 32 bytes of base64 (AES-256)", id);
            err = DNSD_ECONFIG;
            break;
        }
        if (*nkeys == ZC_KEYS_MAX) {
            diag_set(d, path, lineno, "more than %d keys", ZC_KEYS_MAX);
            err = DNSD_ECONFIG;
            break;
        }
        memcpy(keys[*nkeys].id, id, strlen(id) + 1); /* key_id_ok(): at most 32 */
        memcpy(keys[*nkeys].k, raw, 32);
        (*nkeys)++;
        OPENSSL_cleanse(raw, sizeof(raw));
    }
    OPENSSL_cleanse(line, sizeof(line));
    fclose(f);
    if (!err && *nkeys == 0) {
        diag_set(d, path, 0, "no key in the cluster key file");
        err = DNSD_ECONFIG;
    }
    return err;
}

int zc_keys_check(const char *path, diag_t *d)
{
    zc_key_t keys[ZC_KEYS_MAX];
    int n;
    int err = keys_load(path, keys, &n, d);
    OPENSSL_cleanse(keys, sizeof(keys));
    return err;
}

int zc_keygen(const char *path, const char *id, diag_t *d)
{
    if (!key_id_ok(id)) {
        diag_set(d, "", 0, "key id \"%s\": 1..32 of [A-Za-z0-9._-]", id);
        return DNSD_EMALFORMED;
    }
    uint8_t k[32];
    char b64[64];
    if (RAND_bytes(k, sizeof(k)) != 1) {
        diag_set(d, "", 0, "no randomness for a key");
        return DNSD_ECRYPTO;
    }
    EVP_EncodeBlock((unsigned char *)b64, k, sizeof(k));
    OPENSSL_cleanse(k, sizeof(k));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        diag_set(d, path, 0, "cannot create: %s", strerror(errno));
        OPENSSL_cleanse(b64, sizeof(b64));
        return -errno;
    }
    char txt[160];
    int n = snprintf(txt, sizeof(txt),
                     "# dnsd cluster key (AES-256-GCM); the first key seals, all open\n%s %s\n",
                     id, b64);
    OPENSSL_cleanse(b64, sizeof(b64));
    ssize_t w = write(fd, txt, (size_t)n);
    OPENSSL_cleanse(txt, sizeof(txt));
    if (w != n || close(fd) != 0) {
        diag_set(d, path, 0, "cannot write: %s", strerror(errno));
        unlink(path);
        return DNSD_ECONFIG;
    }
    return 0;
}

/* Seal @p pt for etcd key @p ek into a new buffer. */
static int seal(const zc_t *c, const uint8_t *ek, size_t eklen, const uint8_t *pt, size_t n,
                uint8_t **out, size_t *outlen)
{
    const zc_key_t *key = &c->keys[0];
    size_t idl = strlen(key->id);
    uint8_t *b = xmalloc(4 + 1 + idl + 12 + n + 16);
    memcpy(b, "ZCX1", 4);
    b[4] = (uint8_t)idl;
    memcpy(b + 5, key->id, idl);
    uint8_t *nonce = b + 5 + idl, *ct = nonce + 12;
    int err = DNSD_ECRYPTO, len = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    if (RAND_bytes(nonce, 12) != 1 || !x ||
        EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, key->k, nonce) != 1 ||
        EVP_EncryptUpdate(x, NULL, &len, ek, (int)eklen) != 1) {
        goto out;
    }
    size_t done = 0;
    while (done < n) { /* int lengths: feed in slices */
        int step = n - done > (1u << 30) ? (1 << 30) : (int)(n - done);
        if (EVP_EncryptUpdate(x, ct + done, &len, pt + done, step) != 1) {
            goto out;
        }
        done += (size_t)len;
    }
    if (EVP_EncryptFinal_ex(x, ct + done, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, ct + n) != 1) {
        goto out;
    }
    *out = b;
    *outlen = 4 + 1 + idl + 12 + n + 16;
    b = NULL;
    err = 0;
out:
    EVP_CIPHER_CTX_free(x);
    free(b);
    return err;
}

/* Open a sealed value; @return 0 and a new buffer, DNSD_ESTORE (damaged), DNSD_ECRYPTO (no key). */
static int unseal(const zc_t *c, const uint8_t *ek, size_t eklen, const uint8_t *v, size_t n,
                  uint8_t **out, size_t *outlen, diag_t *d)
{
    if (n < 4 + 1 + 1 + 12 + 16 || memcmp(v, "ZCX1", 4) != 0 || v[4] == 0 || v[4] > 32 ||
        n < 5u + v[4] + 12 + 16) {
        diag_set(d, "", 0, "etcd value at %.*s is not a sealed dnsd value", (int)eklen, ek);
        return DNSD_ESTORE;
    }
    size_t idl = v[4];
    const zc_key_t *key = NULL;
    for (int i = 0; i < c->nkeys; i++) {
        if (strlen(c->keys[i].id) == idl && memcmp(c->keys[i].id, v + 5, idl) == 0) {
            key = &c->keys[i];
        }
    }
    if (!key) {
        diag_set(d, "", 0, "etcd value at %.*s is sealed with key \"%.*s\", which %s lacks",
                 (int)eklen, ek, (int)idl, (const char *)v + 5, c->cfg.key_file);
        return DNSD_ECRYPTO;
    }
    const uint8_t *nonce = v + 5 + idl, *ct = nonce + 12;
    size_t ctl = n - 5 - idl - 12 - 16;
    uint8_t *b = xmalloc(ctl + 1);
    int err = DNSD_ECRYPTO, len = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    if (!x || EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, key->k, nonce) != 1 ||
        EVP_DecryptUpdate(x, NULL, &len, ek, (int)eklen) != 1) {
        goto out;
    }
    size_t done = 0;
    while (done < ctl) {
        int step = ctl - done > (1u << 30) ? (1 << 30) : (int)(ctl - done);
        if (EVP_DecryptUpdate(x, b + done, &len, ct + done, step) != 1) {
            goto out;
        }
        done += (size_t)len;
    }
    if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, (void *)(ct + ctl)) != 1 ||
        EVP_DecryptFinal_ex(x, b + done, &len) != 1) {
        diag_set(d, "", 0, "etcd value at %.*s fails authentication under key \"%s\"",
                 (int)eklen, ek, key->id);
        goto out;
    }
    *out = b;
    *outlen = ctl;
    b = NULL;
    err = 0;
out:
    EVP_CIPHER_CTX_free(x);
    free(b);
    return err;
}

/* ---- keys in etcd ---- */

static size_t ek_fmt(const zc_t *c, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t ek_fmt(const zc_t *c, char *out, size_t cap, const char *fmt, ...)
{
    int n = snprintf(out, cap, "%s", c->cfg.prefix);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(out + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    return (size_t)n;
}

static size_t ek_log(const zc_t *c, uint64_t seq, char *out, size_t cap)
{
    return ek_fmt(c, out, cap, "log/%020" PRIu64, seq);
}

/* seq of a log key, 0 when it is not one */
static uint64_t log_seq_of(const zc_t *c, const uint8_t *k, size_t n)
{
    size_t pl = strlen(c->cfg.prefix);
    if (n != pl + 4 + 20 || memcmp(k, c->cfg.prefix, pl) != 0 || memcmp(k + pl, "log/", 4) != 0) {
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = pl + 4; i < n; i++) {
        if (k[i] < '0' || k[i] > '9') {
            return 0;
        }
        v = v * 10 + (uint64_t)(k[i] - '0');
    }
    return v;
}

static int net_fail(const zc_t *c, const char *what, const diag_t *e, diag_t *d)
{
    char urls[600] = "";
    size_t o = 0;
    for (int i = 0; i < c->cfg.nurls && o < sizeof(urls) - 2; i++) {
        o += (size_t)snprintf(urls + o, sizeof(urls) - o, "%s%s", i ? "," : "", c->cfg.urls[i]);
    }
    diag_set(d, "", 0,
             "cluster: %s: etcd (%s) unreachable or without quorum (%s); the edit is refused "
             "and nothing changed",
             what, urls, e->text[0] ? e->text : "no answer");
    return DNSD_ECLUSTER;
}

/* ---- the lease ---- */

/* Make sure this process holds a live lease (grant or keep alive); on handle @p e. */
static int lease_ensure(zc_t *c, etcd_t *e, bool keepalive, diag_t *d)
{
    pthread_mutex_lock(&c->lmu);
    int err = 0;
    long long age = clock_mono_ms() - atomic_load(&c->lease_ok_ms);
    if (c->lease && (!keepalive || age < c->cfg.lease_ttl_s * 1000 / 3)) {
        goto out;
    }
    if (c->lease) {
        int64_t left = 0;
        err = etcd_lease_keepalive(e, c->lease, &left, d);
        if (err == 0 && left > 0) {
            atomic_store(&c->lease_ok_ms, clock_mono_ms());
            goto out;
        }
        if (err != 0 && err != DNSD_ENOTFOUND) {
            goto out;
        }
        log_warn("cluster: node %s lost its lease (expired): its task locks are gone",
                 c->cfg.node);
        c->lease = 0;
    }
    int64_t id = 0;
    err = etcd_lease_grant(e, c->cfg.lease_ttl_s, &id, d);
    if (err == 0) {
        c->lease = id;
        atomic_store(&c->lease_ok_ms, clock_mono_ms());
    }
out:
    pthread_mutex_unlock(&c->lmu);
    return err;
}

static int64_t lease_get(zc_t *c)
{
    pthread_mutex_lock(&c->lmu);
    int64_t l = c->lease;
    pthread_mutex_unlock(&c->lmu);
    return l;
}

bool zc_lease_ok(zc_t *c)
{
    return lease_get(c) != 0 &&
           clock_mono_ms() - atomic_load(&c->lease_ok_ms) < (long long)c->cfg.lease_ttl_s * 1000;
}

/* ---- applying the log ---- */

static int meta_applied(zs_store_t *s, MDB_txn *txn, uint64_t *out)
{
    return zs_meta_u64(s, txn, ZC_META_APPLIED, out);
}

/* Decode a log value into the zones/repl.h entry (fetching blob parts on @p e). */
static int log_entry(zc_t *c, etcd_t *e, uint64_t seq, const etcd_kv_t *kv, uint8_t **out,
                     size_t *outlen, diag_t *d)
{
    uint8_t *pt = NULL;
    size_t n = 0;
    int err = unseal(c, kv->key, kv->klen, kv->val, kv->vlen, &pt, &n, d);
    if (err) {
        return err;
    }
    if (n < 4 + 1 + 1 + 8 || memcmp(pt, "ZCE1", 4) != 0 || (pt[4] != 1 && pt[4] != 2) ||
        n < 6u + pt[5] + 8) {
        diag_set(d, "", 0, "cluster log entry %" PRIu64 " is damaged", seq);
        free(pt);
        return DNSD_ESTORE;
    }
    size_t off = 6u + pt[5] + 8;
    if (pt[4] == 1) {
        memmove(pt, pt + off, n - off);
        *out = pt;
        *outlen = n - off;
        return 0;
    }
    if (n != off + 12) {
        diag_set(d, "", 0, "cluster log entry %" PRIu64 ": damaged manifest", seq);
        free(pt);
        return DNSD_ESTORE;
    }
    uint32_t parts = zs_get32(pt + off);
    uint64_t total = zs_get64(pt + off + 4);
    uint64_t txid = zs_get64(pt + 6 + pt[5]);
    free(pt);
    if (parts == 0 || total > ((uint64_t)4 << 30)) {
        diag_set(d, "", 0, "cluster log entry %" PRIu64 ": bad manifest", seq);
        return DNSD_ESTORE;
    }
    char k0[300], k1[300];
    size_t l0 = ek_fmt(c, k0, sizeof(k0), "blob/%020" PRIu64 "/%016" PRIx64 "/", seq, txid);
    size_t l1 = etcd_prefix_end(k0, l0, (uint8_t *)k1);
    uint8_t *buf = xmalloc(total ? total : 1);
    size_t got = 0;
    uint32_t seen = 0;
    char from[300];
    memcpy(from, k0, l0);
    size_t fl = l0;
    for (;;) {
        etcd_kv_t *kvs = NULL;
        size_t nk = 0;
        bool more = false;
        int64_t hr = 0;
        err = etcd_range(e, from, fl, k1, l1, 4, 0, &kvs, &nk, &more, &hr, d);
        if (err) {
            free(buf);
            return err;
        }
        for (size_t i = 0; i < nk && !err; i++) {
            uint8_t *p = NULL;
            size_t pl = 0;
            err = unseal(c, kvs[i].key, kvs[i].klen, kvs[i].val, kvs[i].vlen, &p, &pl, d);
            if (!err && got + pl > total) {
                diag_set(d, "", 0, "cluster log entry %" PRIu64 ": parts exceed the manifest",
                         seq);
                err = DNSD_ESTORE;
            }
            if (!err) {
                memcpy(buf + got, p, pl);
                got += pl;
                seen++;
            }
            free(p);
        }
        if (!err && nk > 0) { /* next page: after the last key */
            fl = kvs[nk - 1].klen;
            memcpy(from, kvs[nk - 1].key, fl);
            from[fl++] = 0;
        }
        etcd_kvs_free(kvs, nk);
        if (err) {
            free(buf);
            return err;
        }
        if (!more || nk == 0) {
            break;
        }
    }
    if (seen != parts || got != total) {
        diag_set(d, "", 0, "cluster log entry %" PRIu64 ": %u of %u parts in etcd", seq, seen,
                 parts);
        free(buf);
        return DNSD_ESTORE;
    }
    *out = buf;
    *outlen = total;
    return 0;
}

/* Apply log value @p kv (seq @p seq) in @p txn and record the position. */
static int apply_kv(zc_t *c, etcd_t *e, MDB_txn *txn, uint64_t seq, const etcd_kv_t *kv,
                    diag_t *d)
{
    uint8_t *entry = NULL;
    size_t len = 0;
    int err = log_entry(c, e, seq, kv, &entry, &len, d);
    if (!err) {
        err = zr_apply(c->s, txn, entry, len, d);
    }
    free(entry);
    if (!err) {
        err = zs_meta_put_u64(c->s, txn, ZC_META_APPLIED, seq);
    }
    return err;
}

typedef struct snap_info {
    uint64_t seq;
    uint32_t parts;
    uint64_t bytes;
    int64_t mod_rev;   /* of the snap key (0: none) */
    int64_t header_rev;
} snap_info_t;

static int snap_get(zc_t *c, etcd_t *e, snap_info_t *si, diag_t *d)
{
    memset(si, 0, sizeof(*si));
    char k[300];
    size_t kl = ek_fmt(c, k, sizeof(k), "snap");
    etcd_kv_t kv;
    int err = etcd_get(e, k, kl, &kv, &si->header_rev, d);
    if (err == DNSD_ENOTFOUND) {
        return 0;
    }
    if (err) {
        return err;
    }
    json_error_t je;
    json_t *o = json_loadb((const char *)kv.val, kv.vlen, 0, &je);
    si->mod_rev = kv.mod_rev;
    etcd_kv_free(&kv);
    if (!json_is_object(o)) {
        json_decref(o);
        diag_set(d, "", 0, "cluster: %ssnap is not a snapshot description", c->cfg.prefix);
        return DNSD_ESTORE;
    }
    si->seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
    si->parts = (uint32_t)json_integer_value(json_object_get(o, "parts"));
    si->bytes = (uint64_t)json_integer_value(json_object_get(o, "bytes"));
    json_decref(o);
    return 0;
}

/* Replace the store's replicated state by the newest snapshot, in @p txn. */
static int snap_load(zc_t *c, etcd_t *e, MDB_txn *txn, uint64_t *applied, diag_t *d)
{
    snap_info_t si;
    int err = snap_get(c, e, &si, d);
    if (err) {
        return err;
    }
    if (si.mod_rev == 0) {
        diag_set(d, "", 0, "cluster: no snapshot in etcd under %s and the log does not start at 1",
                 c->cfg.prefix);
        return DNSD_ESTORE;
    }
    char k0[300], k1[300], from[300];
    size_t l0 = ek_fmt(c, k0, sizeof(k0), "snapdata/%020" PRIu64 "/", si.seq);
    size_t l1 = etcd_prefix_end(k0, l0, (uint8_t *)k1);
    memcpy(from, k0, l0);
    size_t fl = l0;
    if ((err = zr_clear(c->s, txn)) != 0) {
        return err;
    }
    uint32_t seen = 0;
    for (;;) {
        etcd_kv_t *kvs = NULL;
        size_t nk = 0;
        bool more = false;
        int64_t hr = 0;
        /* at the revision we read the description at: a newer snapshot may delete these */
        err = etcd_range(e, from, fl, k1, l1, 4, si.header_rev, &kvs, &nk, &more, &hr, d);
        for (size_t i = 0; i < nk && !err; i++) {
            uint8_t *p = NULL;
            size_t pl = 0;
            err = unseal(c, kvs[i].key, kvs[i].klen, kvs[i].val, kvs[i].vlen, &p, &pl, d);
            if (!err) {
                err = zr_apply(c->s, txn, p, pl, d);
                seen++;
            }
            free(p);
        }
        if (!err && nk > 0) {
            fl = kvs[nk - 1].klen;
            memcpy(from, kvs[nk - 1].key, fl);
            from[fl++] = 0;
        }
        etcd_kvs_free(kvs, nk);
        if (err) {
            return err;
        }
        if (!more || nk == 0) {
            break;
        }
    }
    if (seen != si.parts) {
        diag_set(d, "", 0, "cluster: snapshot %" PRIu64 " has %u of %u parts", si.seq, seen,
                 si.parts);
        return DNSD_ESTORE;
    }
    if ((err = zs_meta_put_u64(c->s, txn, ZC_META_APPLIED, si.seq)) != 0 ||
        (err = zs_meta_del(c->s, txn, ZC_META_RESET)) != 0 ||
        (err = zs_meta_put_u64(c->s, txn, ZC_META_ID, c->id)) != 0) {
        return err;
    }
    log_info("cluster: node %s loaded snapshot %" PRIu64 " (%u parts, %" PRIu64 " bytes)",
             c->cfg.node, si.seq, si.parts, si.bytes);
    *applied = si.seq;
    return 0;
}

/*
 * Bring the store in write txn @p txn to the log's head (at most @p max
 * entries; 0: all): entries from applied+1, a snapshot when the log no
 * longer has the next one. *@p applied the position after, *@p nap how
 * many were applied, *@p rev the etcd revision of the last range (a
 * watch goes on from rev+1).
 */
static int sync_txn(zc_t *c, etcd_t *e, MDB_txn *txn, size_t max, uint64_t *applied,
                    size_t *nap, int64_t *rev, diag_t *d)
{
    uint64_t a = 0, reset = 0;
    int err = meta_applied(c->s, txn, &a);
    if (!err) {
        err = zs_meta_u64(c->s, txn, ZC_META_RESET, &reset);
    }
    if (err) {
        return err;
    }
    *nap = 0;
    if (reset) {
        if ((err = snap_load(c, e, txn, &a, d)) != 0) {
            return err;
        }
        (*nap)++;
    }
    char end[300], from[300];
    size_t el = ek_fmt(c, end, sizeof(end), "log0"); /* just after every "log/..." key */
    for (;;) {
        size_t fl = ek_log(c, a + 1, from, sizeof(from));
        etcd_kv_t *kvs = NULL;
        size_t nk = 0;
        bool more = false;
        err = etcd_range(e, from, fl, end, el, ZC_PAGE, 0, &kvs, &nk, &more, rev, d);
        if (err) {
            return err;
        }
        bool gap = false;
        size_t i = 0;
        for (; i < nk && !err; i++) {
            uint64_t seq = log_seq_of(c, kvs[i].key, kvs[i].klen);
            if (seq != a + 1) {
                gap = true;
                break;
            }
            err = apply_kv(c, e, txn, seq, &kvs[i], d);
            if (!err) {
                a = seq;
                (*nap)++;
            }
        }
        etcd_kvs_free(kvs, nk);
        if (err) {
            return err;
        }
        if (gap || nk == 0) {
            /* the next entry is missing: trimmed behind a snapshot, or the head */
            snap_info_t si;
            if ((err = snap_get(c, e, &si, d)) != 0) {
                return err;
            }
            if (si.mod_rev != 0 && si.seq > a) {
                if ((err = snap_load(c, e, txn, &a, d)) != 0) {
                    return err;
                }
                (*nap)++;
                continue;
            }
            if (gap) {
                diag_set(d, "", 0,
                         "cluster: the log lacks entry %" PRIu64 " and no snapshot covers it",
                         a + 1);
                return DNSD_ESTORE;
            }
            break;
        }
        if (!more || (max && *nap >= max)) {
            break;
        }
    }
    *applied = a;
    return 0;
}

/* ---- write hooks ---- */

static int join(zc_t *c, diag_t *d);

/* Take the cluster's write lock (and this process's wmu): the writers' queue. */
static int wlock_take(zc_t *c, diag_t *d)
{
    pthread_mutex_lock(&c->wmu);
    diag_t e = {0};
    int err = lease_ensure(c, c->ew, true, &e);
    if (err) {
        pthread_mutex_unlock(&c->wmu);
        return net_fail(c, "cannot get a lease", &e, d);
    }
    char k[300], val[128];
    size_t kl = ek_fmt(c, k, sizeof(k), "wlock");
    int vl = snprintf(val, sizeof(val), "%s:%ld", c->cfg.node, (long)getpid());
    /* writers queue on the key; bounded: a stuck holder's lease ends within its TTL */
    long long deadline = clock_mono_ms() + 3LL * c->cfg.lease_ttl_s * 1000 + c->cfg.timeout_ms;
    long wait = 2;
    for (;;) {
        int64_t rev = 0;
        err = etcd_put_if_absent(c->ew, k, kl, val, (size_t)vl, lease_get(c), &rev, &e);
        if (err == 0) {
            c->wlock_rev = rev;
            return 0;
        }
        if (err != DNSD_EEXIST) {
            pthread_mutex_unlock(&c->wmu);
            return net_fail(c, "cannot take the write lock", &e, d);
        }
        etcd_kv_t kv;
        if (etcd_get(c->ew, k, kl, &kv, NULL, &e) == 0) {
            bool ours = kv.vlen == (size_t)vl && memcmp(kv.val, val, (size_t)vl) == 0;
            int64_t mr = kv.mod_rev;
            etcd_kv_free(&kv);
            if (ours) { /* left behind by a failed unlock of ours */
                c->wlock_rev = mr;
                return 0;
            }
        }
        if (clock_mono_ms() > deadline) {
            pthread_mutex_unlock(&c->wmu);
            diag_set(d, "", 0, "cluster: the write lock %s stayed taken too long; edit refused", k);
            return DNSD_ECLUSTER;
        }
        clock_sleep_ms(wait);
        wait = wait < 32 ? wait * 2 : 32;
    }
}

static int ensure_joined(zc_t *c, diag_t *d)
{
    if (atomic_load(&c->joined)) {
        return 0;
    }
    pthread_mutex_lock(&c->jmu);
    int err = atomic_load(&c->joined) ? 0 : join(c, d);
    if (!err) {
        atomic_store(&c->joined, true);
    }
    pthread_mutex_unlock(&c->jmu);
    return err;
}

static atomic_ulong conflicts; /* zc_conflicts() */

unsigned long zc_conflicts(void)
{
    return atomic_load(&conflicts);
}

void zc_set_optimistic(zc_t *c, bool on)
{
    c->optimistic = on;
}

static int hook_lock(void *ctx, diag_t *d)
{
    zc_t *c = ctx;
    int err = ensure_joined(c, d);
    if (err) {
        return err;
    }
    if (c->optimistic) {
        pthread_mutex_lock(&c->wmu);
        c->wlock_rev = 0;
        return 0;
    }
    return wlock_take(c, d);
}

static int hook_catch_up(void *ctx, zs_store_t *s, MDB_txn *txn, diag_t *d)
{
    zc_t *c = ctx;
    (void)s;
    uint64_t a = 0;
    size_t n = 0;
    int64_t rev = 0;
    diag_t e = {0};
    int err = sync_txn(c, c->ew, txn, 0, &a, &n, &rev, &e);
    if (err == DNSD_ENET) {
        return net_fail(c, "cannot read the log", &e, d);
    }
    if (err) {
        diag_set(d, "", 0, "cluster: catching up failed: %s", e.text[0] ? e.text : dnsd_strerror(err));
        return DNSD_ECLUSTER;
    }
    c->w_applied = a;
    return 0;
}

static int put_parts(zc_t *c, etcd_t *e, const char *pfx, const uint8_t *p, size_t n,
                     uint32_t *parts, diag_t *d)
{
    uint32_t i = 0;
    for (size_t off = 0; off < n || i == 0; i++) {
        size_t step = n - off > ZC_PART - ZC_SEAL_OVER ? ZC_PART - ZC_SEAL_OVER : n - off;
        char k[300];
        size_t kl = (size_t)snprintf(k, sizeof(k), "%s%06u", pfx, i);
        uint8_t *sv = NULL;
        size_t sl = 0;
        int err = seal(c, (const uint8_t *)k, kl, p + off, step, &sv, &sl);
        if (!err) {
            err = etcd_put(e, k, kl, sv, sl, 0, NULL, d);
        }
        free(sv);
        if (err) {
            return err;
        }
        off += step;
        if (off >= n) {
            i++;
            break;
        }
    }
    *parts = i;
    return 0;
}

static int hook_propose(void *ctx, zs_store_t *s, MDB_txn *txn, const uint8_t *e, size_t len,
                        diag_t *d)
{
    zc_t *c = ctx;
    uint64_t seq = c->w_applied + 1;
    uint8_t hdr[4 + 1 + 1 + ZC_NODE_MAX + 8 + 12];
    memset(hdr, 0, sizeof(hdr));
    size_t nl = strlen(c->cfg.node), hl = 0;
    memcpy(hdr, "ZCE1", 4);
    hdr[5] = (uint8_t)nl;
    memcpy(hdr + 6, c->cfg.node, nl);
    RAND_bytes(hdr + 6 + nl, 8);
    hl = 6 + nl + 8;
    diag_t er = {0};
    int err = 0;
    uint8_t *pt = NULL;
    size_t ptl = 0;
    if (len + hl + ZC_SEAL_OVER <= ZC_PART) {
        hdr[4] = 1;
        pt = xmalloc(hl + len);
        memcpy(pt, hdr, hl);
        memcpy(pt + hl, e, len);
        ptl = hl + len;
    } else {
        /* too big for one etcd value: parts first (under the write lock, nobody else
         * writes this seq), then the manifest as the log entry */
        char pfx[300];
        ek_fmt(c, pfx, sizeof(pfx), "blob/%020" PRIu64 "/%016" PRIx64 "/", seq,
               zs_get64(hdr + 6 + nl)); /* the txid: optimistic writers of one seq never mix */
        uint32_t parts = 0;
        err = put_parts(c, c->ew, pfx, e, len, &parts, &er);
        if (err) {
            return net_fail(c, "cannot store the change", &er, d);
        }
        hdr[4] = 2;
        pt = xmalloc(hl + 12);
        memcpy(pt, hdr, hl);
        zs_put32(pt + hl, parts);
        zs_put64(pt + hl + 4, len);
        ptl = hl + 12;
    }
    char k[300];
    size_t kl = ek_log(c, seq, k, sizeof(k));
    uint8_t *sv = NULL;
    size_t sl = 0;
    err = seal(c, (const uint8_t *)k, kl, pt, ptl, &sv, &sl);
    free(pt);
    if (err) {
        diag_set(d, "", 0, "cluster: sealing the change failed");
        return DNSD_ECLUSTER;
    }
    int64_t rev = 0;
    char g[300];
    size_t gl = ek_fmt(c, g, sizeof(g), "wlock");
    /* one txn: the entry, only if its seq is free and the write lock is ours (or,
     * optimistic, nobody's); a locked writer releases the lock with it */
    err = etcd_put_guarded(c->ew, k, kl, sv, sl, g, gl, c->wlock_rev, c->wlock_rev != 0, &rev,
                           &er);
    free(sv);
    if (err == DNSD_EEXIST && c->optimistic) {
        diag_set(d, "", 0,
                 "cluster: another edit took log position %" PRIu64 " first (or a writer holds "
                 "the lock); nothing changed",
                 seq);
        atomic_fetch_add(&conflicts, 1);
        return DNSD_ECONFLICT;
    }
    if (err == 0) {
        c->wlock_rev = 0; /* released in that txn */
    }
    if (err == DNSD_EEXIST) {
        diag_set(d, "", 0,
                 "cluster: log position %" PRIu64 " was taken by another writer (write lock "
                 "lost?); the edit is refused and nothing changed",
                 seq);
        return DNSD_ECLUSTER;
    }
    if (err) {
        /* maybe in etcd, maybe not: the applier settles it either way */
        return net_fail(c, "cannot append to the log", &er, d);
    }
    err = zs_meta_put_u64(s, txn, ZC_META_APPLIED, seq);
    if (err) {
        return err; /* in the log; the applier will apply it from there */
    }
    atomic_store(&c->last_seq, seq);
    atomic_store(&c->applied, seq);
    return 0;
}

static void hook_unlock(void *ctx)
{
    zc_t *c = ctx;
    if (c->wlock_rev) {
        char k[300];
        size_t kl = ek_fmt(c, k, sizeof(k), "wlock");
        diag_t e = {0};
        int err = etcd_del_if_rev(c->ew, k, kl, c->wlock_rev, &e);
        if (err && err != DNSD_EEXIST) {
            log_warn("cluster: releasing the write lock failed (%s): it goes with the lease",
                     e.text);
        }
        c->wlock_rev = 0;
    }
    pthread_mutex_unlock(&c->wmu);
}

static void hook_close(void *ctx)
{
    zc_close(ctx);
}

static const zs_repl_hooks_t hooks = {
    .lock = hook_lock,
    .catch_up = hook_catch_up,
    .propose = hook_propose,
    .unlock = hook_unlock,
    .close = hook_close,
};

/* ---- snapshots ---- */

typedef struct snap_out {
    zc_t *c;
    etcd_t *e;
    uint64_t seq;
    uint32_t n;
    uint64_t bytes;
    diag_t *d;
} snap_out_t;

static int snap_part(void *arg, const uint8_t *entry, size_t len)
{
    snap_out_t *o = arg;
    char k[300];
    size_t kl = ek_fmt(o->c, k, sizeof(k), "snapdata/%020" PRIu64 "/%06u", o->seq, o->n);
    uint8_t *sv = NULL;
    size_t sl = 0;
    int err = seal(o->c, (const uint8_t *)k, kl, entry, len, &sv, &sl);
    if (!err) {
        err = etcd_put(o->e, k, kl, sv, sl, 0, NULL, o->d);
    }
    free(sv);
    o->n++;
    o->bytes += len;
    return err;
}

static int snapshot_write(zc_t *c, etcd_t *e, uint64_t keep, bool compact, bool only_if_none,
                          diag_t *d)
{
    MDB_txn *txn = NULL;
    int err = zs_read_begin(c->s, &txn);
    if (err) {
        return err;
    }
    uint64_t seq = 0;
    err = meta_applied(c->s, txn, &seq);
    snap_info_t si;
    if (!err) {
        err = snap_get(c, e, &si, d);
    }
    if (err || (only_if_none && si.mod_rev != 0) || (si.mod_rev != 0 && si.seq >= seq && !keep)) {
        zs_read_end(c->s, txn);
        if (!err && si.mod_rev != 0 && si.seq >= seq) {
            goto trim; /* nothing newer to write; trimming may still be asked for */
        }
        return err;
    }
    if (si.mod_rev == 0 || si.seq < seq) {
        snap_out_t o = {.c = c, .e = e, .seq = seq, .d = d};
        err = zr_snapshot(c->s, txn, ZC_PART - ZC_SEAL_OVER, snap_part, &o);
        zs_read_end(c->s, txn);
        if (err) {
            return err;
        }
        if (o.n == 0) { /* an empty store still has a (zero-op) part */
            uint8_t empty[ZR_HDR] = {1, 0, 0, 0, 0, 0, 0, 0};
            if ((err = snap_part(&o, empty, sizeof(empty))) != 0) {
                return err;
            }
        }
        char k[300], v[200];
        size_t kl = ek_fmt(c, k, sizeof(k), "snap");
        int vl = snprintf(v, sizeof(v), "{\"seq\":%" PRIu64 ",\"parts\":%u,\"bytes\":%" PRIu64
                          ",\"node\":\"%s\"}", seq, o.n, o.bytes, c->cfg.node);
        err = etcd_put_if_rev(e, k, kl, v, (size_t)vl, 0, si.mod_rev, NULL, d);
        if (err == DNSD_EEXIST) {
            return 0; /* another node wrote one meanwhile: its parts stay, ours go at its trim */
        }
        if (err) {
            return err;
        }
        log_info("cluster: node %s wrote snapshot %" PRIu64 " (%u parts, %" PRIu64 " bytes)",
                 c->cfg.node, seq, o.n, o.bytes);
        si.seq = seq;
    } else {
        zs_read_end(c->s, txn);
    }
trim:;
    /* trim: log and blobs up to seq - keep, older snapshot data */
    uint64_t upto = si.seq > keep ? si.seq - keep : 0;
    char a[300], b[300];
    size_t al = ek_fmt(c, a, sizeof(a), "log/");
    size_t bl = ek_log(c, upto + 1, b, sizeof(b));
    if (upto > 0) {
        if ((err = etcd_del(e, a, al, b, bl, NULL, d)) != 0) {
            return err;
        }
        al = ek_fmt(c, a, sizeof(a), "blob/");
        bl = ek_fmt(c, b, sizeof(b), "blob/%020" PRIu64 "/", upto + 1);
        if ((err = etcd_del(e, a, al, b, bl, NULL, d)) != 0) {
            return err;
        }
    }
    al = ek_fmt(c, a, sizeof(a), "snapdata/");
    bl = ek_fmt(c, b, sizeof(b), "snapdata/%020" PRIu64 "/", si.seq);
    if ((err = etcd_del(e, a, al, b, bl, NULL, d)) != 0) {
        return err;
    }
    if (compact) {
        int64_t rev = 0, size = 0;
        if ((err = etcd_status(e, &rev, &size, d)) != 0 ||
            (err = etcd_compact(e, rev, d)) != 0) {
            return err;
        }
        log_info("cluster: etcd compacted at revision %" PRId64 " (db %" PRId64 " bytes)", rev,
                 size);
    }
    return 0;
}

int zc_snapshot_now(zc_t *c, uint64_t keep, bool compact, diag_t *d)
{
    pthread_mutex_lock(&c->mu);
    int err = snapshot_write(c, c->em, keep, compact, false, d);
    pthread_mutex_unlock(&c->mu);
    return err;
}

/* ---- open / close ---- */

static uint64_t rand64(void)
{
    uint64_t v = 0;
    while (v == 0) {
        RAND_bytes((unsigned char *)&v, sizeof(v));
    }
    return v;
}

static int join(zc_t *c, diag_t *d)
{
    char k[300];
    size_t kl = ek_fmt(c, k, sizeof(k), "id");
    etcd_kv_t kv;
    diag_t e = {0};
    int err = etcd_get(c->em, k, kl, &kv, NULL, &e);
    bool seed = false;
    if (err == DNSD_ENOTFOUND) {
        /* an empty cluster: this store seeds it (under the write lock, so only one does) */
        if ((err = wlock_take(c, d)) != 0) {
            return err;
        }
        char v[40];
        uint64_t id = rand64();
        int vl = snprintf(v, sizeof(v), "%016" PRIx64, id);
        err = etcd_put_if_absent(c->ew, k, kl, v, (size_t)vl, 0, NULL, &e);
        if (err == 0) {
            c->id = id;
            seed = true;
            MDB_txn *txn = NULL;
            if ((err = zs_write_begin(c->s, &txn)) == 0) {
                if ((err = zs_meta_put_u64(c->s, txn, ZC_META_ID, id)) != 0 ||
                    (err = zs_meta_put_u64(c->s, txn, ZC_META_APPLIED, 0)) != 0 ||
                    (err = zs_meta_del(c->s, txn, ZC_META_RESET)) != 0) {
                    zs_write_abort(c->s, txn);
                } else {
                    err = zs_write_commit(c->s, txn);
                }
            }
            if (!err) {
                err = snapshot_write(c, c->ew, 0, false, true, &e);
            }
        }
        hook_unlock(c);
        if (err == DNSD_EEXIST) {
            return join(c, d); /* another node seeded it meanwhile */
        }
        if (err) {
            return err == DNSD_ENET ? net_fail(c, "cannot seed the cluster", &e, d) : err;
        }
        log_info("cluster: node %s seeded cluster %016" PRIx64 " under %s with its store",
                 c->cfg.node, c->id, c->cfg.prefix);
        return 0;
    }
    if (err) {
        return net_fail(c, "cannot join", &e, d);
    }
    uint64_t id = strtoull((const char *)kv.val, NULL, 16);
    etcd_kv_free(&kv);
    if (id == 0) {
        diag_set(d, "", 0, "cluster: %s is not a cluster id", k);
        return DNSD_ESTORE;
    }
    c->id = id;
    (void)seed;
    MDB_txn *txn = NULL;
    if ((err = zs_write_begin(c->s, &txn)) != 0) {
        return err;
    }
    uint64_t mine = 0;
    err = zs_meta_u64(c->s, txn, ZC_META_ID, &mine);
    if (!err && mine != id) {
        /* a store of another cluster, or of none: it becomes the cluster's copy */
        log_warn("cluster: node %s joins cluster %016" PRIx64 ": its store (%s) will be "
                 "replaced by the cluster's state",
                 c->cfg.node, id, mine ? "of another cluster" : "standalone");
        if ((err = zs_meta_put_u64(c->s, txn, ZC_META_RESET, 1)) == 0 &&
            (err = zs_meta_put_u64(c->s, txn, ZC_META_APPLIED, 0)) == 0) {
            err = zs_meta_put_u64(c->s, txn, ZC_META_ID, id);
        }
    }
    if (err) {
        zs_write_abort(c->s, txn);
        return err;
    }
    return zs_write_commit(c->s, txn);
}

int zc_open(zs_store_t *s, const zc_cfg_t *cfg, zc_t **out, diag_t *d)
{
    zc_t *c = xcalloc(1, sizeof(*c));
    c->s = s;
    c->cfg = *cfg;
    if (c->cfg.nurls <= 0) {
        diag_set(d, "", 0, "cluster: no etcd URL");
        free(c);
        return DNSD_ECONFIG;
    }
    if (c->cfg.timeout_ms <= 0) {
        c->cfg.timeout_ms = 3000;
    }
    if (c->cfg.lease_ttl_s <= 0) {
        c->cfg.lease_ttl_s = ZC_DEFAULT_TTL;
    }
    size_t pl = strlen(c->cfg.prefix);
    if (pl == 0 || c->cfg.prefix[pl - 1] != '/') {
        diag_set(d, "", 0, "cluster-prefix \"%s\" must end with '/'", c->cfg.prefix);
        free(c);
        return DNSD_ECONFIG;
    }
    int err = keys_load(c->cfg.key_file, c->keys, &c->nkeys, d);
    if (err) {
        free(c);
        return err;
    }
    for (int i = 0; i < c->cfg.nurls; i++) {
        c->ecfg.urls[i] = c->cfg.urls[i];
    }
    c->ecfg.nurls = c->cfg.nurls;
    c->ecfg.cacert = c->cfg.cacert[0] ? c->cfg.cacert : NULL;
    c->ecfg.cert = c->cfg.cert[0] ? c->cfg.cert : NULL;
    c->ecfg.key = c->cfg.key[0] ? c->cfg.key : NULL;
    c->ecfg.timeout_ms = c->cfg.timeout_ms;
    pthread_mutex_init(&c->wmu, NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->lmu, NULL);
    pthread_mutex_init(&c->jmu, NULL);
    if (!(c->ew = etcd_new(&c->ecfg, d)) || !(c->em = etcd_new(&c->ecfg, d))) {
        zc_close(c);
        return DNSD_ECONFIG;
    }
    if ((err = ensure_joined(c, d)) != 0) {
        if (!c->cfg.join_later || err != DNSD_ECLUSTER) {
            zc_close(c);
            return err;
        }
        log_warn("%s; serving the store's last state, joining when etcd answers", d->text);
    }
    s->repl_ctx = c;
    s->repl = &hooks;
    *out = c;
    return 0;
}

const char *zc_node(const zc_t *c)
{
    return c->cfg.node;
}

uint64_t zc_last_seq(zc_t *c)
{
    return atomic_load(&c->last_seq);
}

uint64_t zc_applied(zc_t *c)
{
    MDB_txn *txn = NULL;
    uint64_t a = 0;
    if (zs_read_begin(c->s, &txn) == 0) {
        meta_applied(c->s, txn, &a);
        zs_read_end(c->s, txn);
    }
    return a;
}

/* ---- node status, waits, task locks ---- */

static int status_put(zc_t *c, etcd_t *e, uint64_t applied, diag_t *d)
{
    int64_t lease = lease_get(c);
    if (!lease) {
        return 0;
    }
    char k[300], v[400];
    size_t kl = ek_fmt(c, k, sizeof(k), "nodes/%s", c->cfg.node);
    int vl = snprintf(v, sizeof(v),
                      "{\"node\":\"%s\",\"applied\":%" PRIu64 ",\"time\":%lld,\"pid\":%ld,"
                      "\"version\":\"%s\",\"cluster\":\"%016" PRIx64 "\"}",
                      c->cfg.node, applied, (long long)time(NULL), (long)getpid(),
                      PACKAGE_VERSION, c->id);
    return etcd_put(e, k, kl, v, (size_t)vl, lease, NULL, d);
}

int zc_nodes(zc_t *c, json_t **out, diag_t *d)
{
    char a[300], b[300];
    size_t al = ek_fmt(c, a, sizeof(a), "nodes/");
    size_t bl = etcd_prefix_end(a, al, (uint8_t *)b);
    etcd_kv_t *kvs = NULL;
    size_t n = 0;
    bool more = false;
    int64_t hr = 0;
    pthread_mutex_lock(&c->mu);
    int err = etcd_range(c->em, a, al, b, bl, 1000, 0, &kvs, &n, &more, &hr, d);
    pthread_mutex_unlock(&c->mu);
    if (err) {
        return err;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        json_t *o = json_loadb((const char *)kvs[i].val, kvs[i].vlen, 0, &je);
        if (!json_is_object(o)) {
            json_decref(o);
            continue;
        }
        const char *nm = json_string_value(json_object_get(o, "node"));
        json_object_set_new(o, "self", json_boolean(nm && strcmp(nm, c->cfg.node) == 0));
        json_array_append_new(arr, o);
    }
    etcd_kvs_free(kvs, n);
    *out = arr;
    return 0;
}

/* ---- shares: per-node data of the moment (rollout evidence) ---- */

int zc_share_put(zc_t *c, const char *name, const void *val, size_t len, diag_t *d)
{
    char k[400];
    size_t kl = ek_fmt(c, k, sizeof(k), "share/%s/%s", name, c->cfg.node);
    uint8_t *sv = NULL;
    size_t sl = 0;
    /* sealed like the log: etcd sees no plain value; the key binds it to this node */
    int err = seal(c, (const uint8_t *)k, kl, val, len, &sv, &sl);
    if (err) {
        diag_set(d, "", 0, "cluster: cannot seal the value of %s", k);
        return err;
    }
    pthread_mutex_lock(&c->mu);
    err = lease_ensure(c, c->em, false, d);
    if (!err) {
        err = etcd_put(c->em, k, kl, sv, sl, lease_get(c), NULL, d);
    }
    pthread_mutex_unlock(&c->mu);
    free(sv);
    return err;
}

int zc_share_list(zc_t *c, const char *name,
                  void (*cb)(void *arg, const char *node, const uint8_t *val, size_t len),
                  void *arg, diag_t *d)
{
    char a[400], b[400];
    size_t al = ek_fmt(c, a, sizeof(a), "share/%s/", name);
    size_t bl = etcd_prefix_end(a, al, (uint8_t *)b);
    etcd_kv_t *kvs = NULL;
    size_t n = 0;
    bool more = false;
    int64_t hr = 0;
    pthread_mutex_lock(&c->mu);
    int err = etcd_range(c->em, a, al, b, bl, ZC_SHARE_NODES, 0, &kvs, &n, &more, &hr, d);
    pthread_mutex_unlock(&c->mu);
    if (err) {
        return err;
    }
    for (size_t i = 0; i < n; i++) {
        char node[ZC_NODE_MAX + 1];
        size_t nl = kvs[i].klen - al;
        if (kvs[i].klen <= al || nl > ZC_NODE_MAX || memchr(kvs[i].key + al, '/', nl) ||
            memchr(kvs[i].key + al, 0, nl)) {
            continue; /* not a node's share */
        }
        memcpy(node, kvs[i].key + al, nl);
        node[nl] = 0;
        uint8_t *pv = NULL;
        size_t pl = 0;
        diag_t ud = {0};
        if (strcmp(node, c->cfg.node) == 0) {
            continue;
        }
        if (unseal(c, kvs[i].key, kvs[i].klen, kvs[i].val, kvs[i].vlen, &pv, &pl, &ud) != 0) {
            log_debug("cluster: node %s's share of %s ignored: %s", node, name, ud.text);
            continue;
        }
        cb(arg, node, pv, pl);
        free(pv);
    }
    etcd_kvs_free(kvs, n);
    return 0;
}

int zc_share_del(zc_t *c, const char *name, bool all, diag_t *d)
{
    char a[400], b[400];
    size_t al = all ? ek_fmt(c, a, sizeof(a), "share/%s/", name)
                    : ek_fmt(c, a, sizeof(a), "share/%s/%s", name, c->cfg.node);
    size_t bl = all ? etcd_prefix_end(a, al, (uint8_t *)b) : 0;
    pthread_mutex_lock(&c->mu);
    int err = etcd_del(c->em, a, al, all ? b : NULL, bl, NULL, d);
    pthread_mutex_unlock(&c->mu);
    return err;
}

int zc_info(zc_t *c, json_t **out, diag_t *d)
{
    json_t *nodes = NULL;
    int err = zc_nodes(c, &nodes, d);
    if (err) {
        return err;
    }
    snap_info_t si;
    int64_t rev = 0, size = 0;
    pthread_mutex_lock(&c->mu);
    err = snap_get(c, c->em, &si, d);
    if (!err) {
        err = etcd_status(c->em, &rev, &size, d);
    }
    pthread_mutex_unlock(&c->mu);
    if (err) {
        json_decref(nodes);
        return err;
    }
    json_t *o = json_object(), *eps = json_array();
    for (int i = 0; i < c->cfg.nurls; i++) {
        json_array_append_new(eps, json_string(c->cfg.urls[i]));
    }
    char id[20];
    snprintf(id, sizeof(id), "%016" PRIx64, c->id);
    json_object_set_new(o, "node", json_string(c->cfg.node));
    json_object_set_new(o, "prefix", json_string(c->cfg.prefix));
    json_object_set_new(o, "cluster", json_string(id));
    json_object_set_new(o, "applied", json_integer((json_int_t)zc_applied(c)));
    json_object_set_new(o, "endpoints", eps);
    if (si.mod_rev) {
        json_object_set_new(o, "snapshot",
                            json_pack("{s:I,s:I,s:I}", "seq", (json_int_t)si.seq, "parts",
                                      (json_int_t)si.parts, "bytes", (json_int_t)si.bytes));
    } else {
        json_object_set_new(o, "snapshot", json_null());
    }
    json_object_set_new(o, "nodes", nodes);
    json_object_set_new(o, "etcd", json_pack("{s:I,s:I}", "revision", (json_int_t)rev, "db_size",
                                             (json_int_t)size));
    *out = o;
    return 0;
}

int zc_wait_applied(zc_t *c, uint64_t seq, long timeout_ms, diag_t *d)
{
    long long deadline = clock_mono_ms() + timeout_ms;
    for (;;) {
        json_t *arr = NULL;
        int err = zc_nodes(c, &arr, d);
        if (err) {
            return err;
        }
        char lag[400] = "";
        size_t o = 0, behind = 0;
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *n = json_array_get(arr, i);
            uint64_t a = (uint64_t)json_integer_value(json_object_get(n, "applied"));
            if (a < seq) {
                behind++;
                if (o < sizeof(lag) - 80) {
                    o += (size_t)snprintf(lag + o, sizeof(lag) - o, "%s%s at %" PRIu64,
                                          behind > 1 ? ", " : "",
                                          json_string_value(json_object_get(n, "node")), a);
                }
            }
        }
        json_decref(arr);
        if (behind == 0) {
            return 0;
        }
        if (clock_mono_ms() >= deadline) {
            diag_set(d, "", 0, "cluster: nodes behind seq %" PRIu64 ": %s", seq, lag);
            return -ETIMEDOUT;
        }
        clock_sleep_ms(20);
    }
}

int zc_try_lock(zc_t *c, const char *name, bool *mine, char *holder, size_t hlen, diag_t *d)
{
    *mine = false;
    if (holder && hlen) {
        holder[0] = 0;
    }
    char k[400];
    size_t kl = ek_fmt(c, k, sizeof(k), "lock/%s", name);
    size_t nl = strlen(c->cfg.node);
    pthread_mutex_lock(&c->mu);
    int err = lease_ensure(c, c->em, false, d);
    int64_t lease = lease_get(c);
    for (int tries = 0; !err && tries < 3; tries++) {
        etcd_kv_t kv;
        err = etcd_get(c->em, k, kl, &kv, NULL, d);
        if (err == DNSD_ENOTFOUND) {
            err = etcd_put_if_absent(c->em, k, kl, c->cfg.node, nl, lease, NULL, d);
            if (err == 0) {
                *mine = true;
                break;
            }
            if (err == DNSD_EEXIST) {
                err = 0;
                continue; /* taken meanwhile: read who has it */
            }
            break;
        }
        if (err) {
            break;
        }
        *mine = kv.lease == lease && kv.vlen == nl && memcmp(kv.val, c->cfg.node, nl) == 0;
        if (holder && hlen) {
            snprintf(holder, hlen, "%.*s", (int)kv.vlen, (const char *)kv.val);
        }
        etcd_kv_free(&kv);
        break;
    }
    pthread_mutex_unlock(&c->mu);
    return err;
}

int zc_unlock(zc_t *c, const char *name, diag_t *d)
{
    char k[400];
    size_t kl = ek_fmt(c, k, sizeof(k), "lock/%s", name);
    size_t nl = strlen(c->cfg.node);
    pthread_mutex_lock(&c->mu);
    etcd_kv_t kv;
    int err = etcd_get(c->em, k, kl, &kv, NULL, d);
    if (err == 0) {
        bool ours = kv.lease == lease_get(c) && kv.vlen == nl &&
                    memcmp(kv.val, c->cfg.node, nl) == 0;
        int64_t mr = kv.mod_rev;
        etcd_kv_free(&kv);
        if (ours) {
            err = etcd_del_if_rev(c->em, k, kl, mr, d);
            if (err == DNSD_EEXIST) {
                err = 0;
            }
        }
    } else if (err == DNSD_ENOTFOUND) {
        err = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return err;
}

/* ---- the node service: applier and session threads ---- */

/* Apply what the log has in write txns of up to ZC_PAGE entries. */
static int apply_round(zc_t *c, int64_t *rev, diag_t *d)
{
    for (;;) {
        MDB_txn *txn = NULL;
        int err = zs_write_begin(c->s, &txn);
        if (err) {
            diag_set(d, "", 0, "store: %s", dnsd_strerror(err));
            return err;
        }
        uint64_t a = 0;
        size_t n = 0;
        err = sync_txn(c, c->ea, txn, ZC_PAGE, &a, &n, rev, d);
        if (!err && n > 0) {
            err = zs_meta_bump(c->s, txn, ZS_META_GENERATION);
        }
        if (err || n == 0) {
            zs_write_abort(c->s, txn);
            if (!err) {
                atomic_store(&c->applied, a);
            }
            return err;
        }
        if ((err = zs_write_commit(c->s, txn)) != 0) {
            diag_set(d, "", 0, "store commit: %s", dnsd_strerror(err));
            return err;
        }
        atomic_store(&c->applied, a);
        diag_t e = {0};
        status_put(c, c->ea, a, &e);
        log_debug("cluster: node %s applied up to %" PRIu64, c->cfg.node, a);
    }
}

typedef struct wctx {
    zc_t *c;
    bool resync;
    int err;
    diag_t d;
} wctx_t;

static int on_watch(void *arg, const etcd_event_t *ev, size_t n, int64_t header_rev)
{
    wctx_t *w = arg;
    zc_t *c = w->c;
    (void)header_rev;
    if (n == 0) {
        return 0;
    }
    MDB_txn *txn = NULL;
    int err = zs_write_begin(c->s, &txn);
    if (err) {
        w->err = err;
        return 1;
    }
    uint64_t a = 0, reset = 0;
    size_t done = 0;
    err = meta_applied(c->s, txn, &a);
    if (!err) {
        err = zs_meta_u64(c->s, txn, ZC_META_RESET, &reset);
    }
    for (size_t i = 0; i < n && !err && !reset; i++) {
        if (ev[i].type != 0) {
            continue; /* trims delete old entries: nothing to apply */
        }
        uint64_t seq = log_seq_of(c, ev[i].kv.key, ev[i].kv.klen);
        if (seq == 0 || seq <= a) {
            continue; /* ours, or applied by a local writer's catch-up */
        }
        if (seq != a + 1) {
            w->resync = true; /* a gap: let the range path sort it out */
            break;
        }
        err = apply_kv(c, c->ea, txn, seq, &ev[i].kv, &w->d);
        if (!err) {
            a = seq;
            done++;
        }
    }
    if (reset) {
        w->resync = true;
    }
    if (!err && done) {
        err = zs_meta_bump(c->s, txn, ZS_META_GENERATION);
    }
    if (err || !done) {
        zs_write_abort(c->s, txn);
    } else {
        err = zs_write_commit(c->s, txn);
    }
    if (err) {
        w->err = err;
        return 1;
    }
    if (done || a > atomic_load(&c->applied)) {
        /* also when a local writer's catch-up applied these already: the
         * status must show the store's position, not this thread's last */
        atomic_store(&c->applied, a);
        diag_t e = {0};
        status_put(c, c->ea, a, &e);
    }
    return w->resync ? 1 : 0;
}

static void *applier_main(void *arg)
{
    zc_t *c = arg;
    long backoff = 100;
    while (!atomic_load(&c->stop)) {
        diag_t d = {0};
        int64_t rev = 0;
        int err = ensure_joined(c, &d);
        if (!err) {
            err = apply_round(c, &rev, &d);
        }
        if (err) {
            log_warn("cluster: node %s cannot catch up: %s", c->cfg.node,
                     d.text[0] ? d.text : dnsd_strerror(err));
            for (long t = 0; t < backoff && !atomic_load(&c->stop); t += 50) {
                clock_sleep_ms(50);
            }
            backoff = backoff < 2000 ? backoff * 2 : 2000;
            continue;
        }
        backoff = 100;
        diag_t e = {0};
        status_put(c, c->ea, atomic_load(&c->applied), &e);
        char a[300], b[300];
        size_t al = ek_fmt(c, a, sizeof(a), "log/");
        size_t bl = etcd_prefix_end(a, al, (uint8_t *)b);
        wctx_t w = {.c = c};
        int64_t compact = 0;
        err = etcd_watch(c->ewatch, a, al, b, bl, rev + 1, on_watch, &w, &c->stop, &compact,
                         &w.d);
        if (err == DNSD_ERANGE) {
            log_info("cluster: node %s: etcd compacted past revision %" PRId64
                     "; catching up by range",
                     c->cfg.node, rev + 1);
        } else if (w.err) {
            log_warn("cluster: node %s: applying the log failed: %s", c->cfg.node,
                     w.d.text[0] ? w.d.text : dnsd_strerror(w.err));
            clock_sleep_ms(200);
        } else if (err && err != 1 && !atomic_load(&c->stop)) {
            log_debug("cluster: node %s: watch ended (%s); catching up", c->cfg.node,
                      w.d.text[0] ? w.d.text : dnsd_strerror(err));
            clock_sleep_ms(100);
        }
    }
    return NULL;
}

static void *session_main(void *arg)
{
    zc_t *c = arg;
    long long next_maint = clock_mono_ms() + 5000;
    bool was_ok = true;
    while (!atomic_load(&c->stop)) {
        diag_t d = {0};
        int err = lease_ensure(c, c->es, true, &d);
        if (!err) {
            /* the store's position: local writers catch up in their own txns */
            uint64_t a = zc_applied(c);
            if (a > atomic_load(&c->applied)) {
                atomic_store(&c->applied, a);
            }
            err = status_put(c, c->es, atomic_load(&c->applied), &d);
        }
        if (err && was_ok) {
            log_warn("cluster: node %s cannot reach etcd (%s); serving its last state",
                     c->cfg.node, d.text);
        } else if (!err && !was_ok) {
            log_info("cluster: node %s reaches etcd again", c->cfg.node);
        }
        was_ok = err == 0;
        if (!err && atomic_load(&c->joined) && c->cfg.snapshot_every > 0 &&
            clock_mono_ms() >= next_maint) {
            next_maint = clock_mono_ms() + 5000;
            snap_info_t si;
            uint64_t a = atomic_load(&c->applied);
            if (snap_get(c, c->es, &si, &d) == 0 && a >= si.seq + c->cfg.snapshot_every) {
                bool mine = false;
                if (zc_try_lock(c, "maint", &mine, NULL, 0, &d) == 0 && mine) {
                    pthread_mutex_lock(&c->mu);
                    err = snapshot_write(c, c->em, c->cfg.log_keep, true, false, &d);
                    pthread_mutex_unlock(&c->mu);
                    if (err) {
                        log_warn("cluster: snapshot failed: %s", d.text);
                    }
                    zc_unlock(c, "maint", &d);
                }
            }
        }
        for (int t = 0; t < 10 && !atomic_load(&c->stop); t++) {
            clock_sleep_ms(100);
        }
    }
    return NULL;
}

int zc_start(zc_t *c, diag_t *d)
{
    if (!(c->ea = etcd_new(&c->ecfg, d)) || !(c->ewatch = etcd_new(&c->ecfg, d)) ||
        !(c->es = etcd_new(&c->ecfg, d))) {
        return DNSD_ECONFIG;
    }
    diag_t e = {0};
    if (lease_ensure(c, c->es, true, &e) != 0) {
        log_warn("cluster: node %s: no lease yet (%s); retrying", c->cfg.node, e.text);
    }
    atomic_store(&c->applied, zc_applied(c));
    atomic_store(&c->stop, false);
    if (pthread_create(&c->th_apply, NULL, applier_main, c) != 0) {
        diag_set(d, "", 0, "cluster: cannot start the applier thread");
        return -EAGAIN;
    }
    if (pthread_create(&c->th_session, NULL, session_main, c) != 0) {
        atomic_store(&c->stop, true);
        pthread_join(c->th_apply, NULL);
        diag_set(d, "", 0, "cluster: cannot start the session thread");
        return -EAGAIN;
    }
    c->started = true;
    log_info("cluster: node %s in cluster %016" PRIx64 " (%s), applied %" PRIu64, c->cfg.node,
             c->id, c->cfg.prefix, (uint64_t)atomic_load(&c->applied));
    return 0;
}

void zc_close(zc_t *c)
{
    if (!c) {
        return;
    }
    if (c->started) {
        atomic_store(&c->stop, true);
        pthread_join(c->th_apply, NULL);
        pthread_join(c->th_session, NULL);
    }
    if (c->s && c->s->repl_ctx == c) {
        c->s->repl = NULL;
        c->s->repl_ctx = NULL;
    }
    if (c->lease && c->em) {
        diag_t d = {0};
        etcd_lease_revoke(c->em, c->lease, &d); /* its locks and status go at once */
    }
    etcd_free(c->ew);
    etcd_free(c->em);
    etcd_free(c->ea);
    etcd_free(c->ewatch);
    etcd_free(c->es);
    pthread_mutex_destroy(&c->wmu);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->lmu);
    pthread_mutex_destroy(&c->jmu);
    OPENSSL_cleanse(c->keys, sizeof(c->keys));
    free(c);
}
