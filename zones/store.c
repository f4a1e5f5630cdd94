/* SPDX-License-Identifier: MIT */
/*
 * store.c -- open the LMDB environment, create the sub-databases and check
 * the schema; the map gate. Slow path, except zs_txn_renew()/zs_txn_reset()
 * (the workers' per-batch renew: no allocation, no lock, no log).
 *
 * DESIGN. LMDB maps the file once; when another process (dnsctl) grows the
 * map beyond ours and writes past it, every txn begin or renew here fails
 * with MDB_MAP_RESIZED until mdb_env_set_mapsize(env, 0) adopts the new
 * size, which remaps the file and so must not run while any txn of this
 * process is active. The gate makes that safe without a lock on the query
 * path: a txn enters by incrementing @c active and checking @c resizing
 * (sequentially consistent, so an adopter that set @c resizing and then
 * saw @c active reach 0 cannot miss a txn, which would see @c resizing and
 * back out); the adopter waits a bounded time for the active ones to end.
 */
#include "zones/store.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/schema.h"

int zs_mdb_err(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case MDB_NOTFOUND:
        return DNSD_ENOTFOUND;
    case MDB_KEYEXIST:
        return DNSD_EEXIST;
    case MDB_MAP_FULL:
        return DNSD_ESPACE;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return DNSD_ESTORE;
    default:
        return rc > 0 ? -rc : DNSD_ELMDB;
    }
}

static int init_meta(zs_store_t *s, MDB_txn *txn, diag_t *d)
{
    MDB_val k = {strlen(ZS_META_SCHEMA), (void *)ZS_META_SCHEMA}, v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        uint8_t buf[4];
        zs_put32(buf, ZS_SCHEMA_VERSION);
        v.mv_size = 4;
        v.mv_data = buf;
        rc = zs_put(s, txn, s->meta, &k, &v, 0);
        if (rc) {
            diag_set(d, s->path, 0, "cannot write schema version: %s", mdb_strerror(rc));
            return zs_mdb_err(rc);
        }
        return 0;
    }
    if (rc) {
        diag_set(d, s->path, 0, "cannot read schema version: %s", mdb_strerror(rc));
        return zs_mdb_err(rc);
    }
    if (v.mv_size != 4) {
        diag_set(d, s->path, 0, "damaged schema version record");
        return DNSD_ESTORE;
    }
    uint32_t ver = zs_get32(v.mv_data);
    if (ver != ZS_SCHEMA_VERSION) {
        diag_set(d, s->path, 0, "store has schema version %u, this build reads version %u", ver,
                 ZS_SCHEMA_VERSION);
        return DNSD_ESCHEMA;
    }
    return 0;
}

int zs_open(const char *path, unsigned flags, size_t mapsize, zs_store_t **out, diag_t *d)
{
    zs_store_t *s = xcalloc(1, sizeof(*s));
    MDB_txn *txn = NULL;
    int rc, err = 0;
    bool rdonly = flags & ZS_OPEN_RDONLY;
    snprintf(s->path, sizeof(s->path), "%s", path);

    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT || !(flags & ZS_OPEN_CREATE)) {
            diag_set(d, path, 0, "cannot open store: %s", strerror(errno));
            err = -errno;
            goto out;
        }
        if (mkdir(path, 0700) != 0) {
            diag_set(d, path, 0, "cannot create store directory: %s", strerror(errno));
            err = -errno;
            goto out;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        diag_set(d, path, 0, "store path is not a directory");
        err = -ENOTDIR;
        goto out;
    }
    /* a new store is one without its data file yet */
    char data[4200];
    snprintf(data, sizeof(data), "%s/data.mdb", path);
    bool is_new = stat(data, &st) != 0;
    /* no mdb_env_set_mapsize() before the open: LMDB then takes the size
     * the store records, which is adjusted below */
    if ((rc = mdb_env_create(&s->env)) != 0 || (rc = mdb_env_set_maxdbs(s->env, 32)) != 0 ||
        (rc = mdb_env_set_maxreaders(s->env, 512)) != 0) {
        diag_set(d, path, 0, "cannot set up LMDB: %s", mdb_strerror(rc));
        err = zs_mdb_err(rc);
        goto out;
    }
    /* MDB_NOTLS: a read txn belongs to its object, not its thread, so workers
     * can keep one and renew it per batch */
    unsigned envflags = MDB_NOTLS | (rdonly ? MDB_RDONLY : 0);
    if ((rc = mdb_env_open(s->env, path, envflags, 0600)) != 0) {
        if (rc == ENOENT && !(flags & ZS_OPEN_CREATE)) {
            diag_set(d, path, 0, "no store here (create one with `dnsctl zone create`)");
        } else {
            diag_set(d, path, 0, "cannot open store: %s", mdb_strerror(rc));
        }
        err = zs_mdb_err(rc);
        goto out;
    }
    int dead = 0;
    mdb_reader_check(s->env, &dead);
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    size_t want = mapsize ? mapsize : is_new ? ZS_MAPSIZE_DEFAULT : info.me_mapsize;
    if (want < info.me_mapsize) {
        want = info.me_mapsize; /* never below what the store records */
    }
    if (want != info.me_mapsize && (rc = mdb_env_set_mapsize(s->env, want)) != 0) {
        diag_set(d, path, 0, "cannot set the map size: %s", mdb_strerror(rc));
        err = zs_mdb_err(rc);
        goto out;
    }
    mdb_env_info(s->env, &info);
    atomic_store(&s->mapsize, info.me_mapsize);

    if ((rc = mdb_txn_begin(s->env, NULL, rdonly ? MDB_RDONLY : 0, &txn)) != 0) {
        diag_set(d, path, 0, "cannot begin transaction: %s", mdb_strerror(rc));
        err = zs_mdb_err(rc);
        goto out;
    }
    unsigned dbflags = rdonly ? 0 : MDB_CREATE;
    if ((rc = mdb_dbi_open(txn, ZS_DB_META, dbflags, &s->meta)) != 0 ||
        (rc = mdb_dbi_open(txn, ZS_DB_ZONES, dbflags, &s->zones)) != 0 ||
        (rc = mdb_dbi_open(txn, ZS_DB_RRSETS, dbflags, &s->rrsets)) != 0 ||
        (rc = mdb_dbi_open(txn, ZS_DB_REGIONS, dbflags, &s->regions)) != 0) {
        if (rc == MDB_NOTFOUND) {
            diag_set(d, path, 0, "store is empty (create a zone with `dnsctl zone create`)");
        } else {
            diag_set(d, path, 0, "cannot open sub-databases: %s", mdb_strerror(rc));
        }
        err = zs_mdb_err(rc);
        goto out;
    }
    /* The sub-databases that came after version 1 (ACME state, the journal,
     * TSIG keys, transfer settings, secondary zones, update
     * policies, DNSSEC keys, rollout splits): a read-only open of an
     * older store simply has none (a writable open creates them). */
    const struct {
        const char *name;
        MDB_dbi *dbi;
        bool *has;
    } later[] = {
        {ZS_DB_CERTS, &s->certs, &s->has_certs},
        {ZS_DB_JOURNAL, &s->journal, &s->has_journal},
        {ZS_DB_TSIG, &s->tsig, &s->has_tsig},
        {ZS_DB_XFROUT, &s->xfrout, &s->has_xfrout},
        {ZS_DB_SECONDARY, &s->secondary, &s->has_secondary},
        {ZS_DB_UPOLICY, &s->upolicy, &s->has_upolicy},
        {ZS_DB_DNSSEC, &s->dnssec, &s->has_dnssec},
        {ZS_DB_ROLLOUT, &s->rollout, &s->has_rollout},
    };
    for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
        rc = mdb_dbi_open(txn, later[i].name, dbflags, later[i].dbi);
        if (rc == 0) {
            *later[i].has = true;
        } else if (rc != MDB_NOTFOUND) {
            diag_set(d, path, 0, "cannot open sub-database %s: %s", later[i].name,
                     mdb_strerror(rc));
            err = zs_mdb_err(rc);
            goto out;
        }
    }
    if (!rdonly && (err = init_meta(s, txn, d)) != 0) {
        goto out;
    }
    if (rdonly) {
        MDB_val k = {strlen(ZS_META_SCHEMA), (void *)ZS_META_SCHEMA}, v;
        if (mdb_get(txn, s->meta, &k, &v) != 0 || v.mv_size != 4 ||
            zs_get32(v.mv_data) != ZS_SCHEMA_VERSION) {
            diag_set(d, path, 0, "store has no or another schema version (this build reads %u)",
                     ZS_SCHEMA_VERSION);
            err = DNSD_ESCHEMA;
            goto out;
        }
        /* commit, not abort: aborting the txn that opened the DBIs closes them */
        rc = mdb_txn_commit(txn);
        txn = NULL;
        if (rc) {
            diag_set(d, path, 0, "cannot open store: %s", mdb_strerror(rc));
            err = zs_mdb_err(rc);
            goto out;
        }
    } else if ((rc = mdb_txn_commit(txn)) != 0) {
        txn = NULL;
        diag_set(d, path, 0, "cannot commit: %s", mdb_strerror(rc));
        err = zs_mdb_err(rc);
        goto out;
    }
    txn = NULL;
out:
    if (txn) {
        mdb_txn_abort(txn);
    }
    if (err) {
        zs_close(s);
        s = NULL;
    }
    *out = s;
    return err;
}

void zs_close(zs_store_t *s)
{
    if (!s) {
        return;
    }
    if (s->repl && s->repl->close) {
        s->repl->close(s->repl_ctx); /* a cluster attached by dnsctl: its lease goes now */
    }
    if (s->env) {
        mdb_env_close(s->env);
    }
    free(s);
}

int zs_meta_u64_or(zs_store_t *s, MDB_txn *txn, const char *key, uint64_t dflt, uint64_t *out)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *out = dflt;
        return 0;
    }
    if (rc) {
        return zs_mdb_err(rc);
    }
    if (v.mv_size != 8) {
        return DNSD_ESTORE;
    }
    *out = zs_get64(v.mv_data);
    return 0;
}

int zs_meta_u64(zs_store_t *s, MDB_txn *txn, const char *key, uint64_t *out)
{
    return zs_meta_u64_or(s, txn, key, 0, out);
}

int zs_meta_put_u64(zs_store_t *s, MDB_txn *txn, const char *key, uint64_t val)
{
    uint8_t b[8];
    zs_put64(b, val);
    MDB_val k = {strlen(key), (void *)key}, v = {8, b};
    return zs_mdb_err(zs_put(s, txn, s->meta, &k, &v, 0));
}

int zs_meta_del(zs_store_t *s, MDB_txn *txn, const char *key)
{
    MDB_val k = {strlen(key), (void *)key};
    int rc = zs_del(s, txn, s->meta, &k);
    return rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
}

int zs_meta_bump(zs_store_t *s, MDB_txn *txn, const char *key)
{
    uint64_t n = 0;
    int err = zs_meta_u64(s, txn, key, &n);
    return err ? err : zs_meta_put_u64(s, txn, key, n + 1);
}

int zs_generation(zs_store_t *s, MDB_txn *txn, uint64_t *out)
{
    return zs_meta_u64(s, txn, ZS_META_GENERATION, out);
}

size_t zs_map_size(zs_store_t *s)
{
    return atomic_load(&s->mapsize);
}

uint64_t zs_map_resizes(zs_store_t *s)
{
    return atomic_load(&s->resizes);
}

/* enter the gate: false while a resize is under way */
static bool gate_enter(zs_store_t *s)
{
    atomic_fetch_add(&s->active, 1);
    if (atomic_load(&s->resizing)) {
        atomic_fetch_sub(&s->active, 1);
        return false;
    }
    return true;
}

static void gate_leave(zs_store_t *s)
{
    atomic_fetch_sub(&s->active, 1);
}

int zs_map_adopt(zs_store_t *s)
{
    bool no = false;
    if (!atomic_compare_exchange_strong(&s->resizing, &no, true)) {
        return -EAGAIN; /* another thread is adopting it */
    }
    int err = -EAGAIN;
    /* at most 50 ms: a worker's batch takes microseconds, a slow-path read
     * txn milliseconds */
    for (int i = 0; i < 500 && atomic_load(&s->active) != 0; i++) {
        struct timespec ts = {0, 100 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&s->active) == 0) {
        int rc = mdb_env_set_mapsize(s->env, 0);
        if (rc == 0) {
            MDB_envinfo info;
            mdb_env_info(s->env, &info);
            atomic_store(&s->mapsize, info.me_mapsize);
            atomic_fetch_add(&s->resizes, 1);
            err = 0;
        } else {
            err = rc == EINVAL ? -EAGAIN : zs_mdb_err(rc); /* EINVAL: a write txn is active */
        }
    }
    atomic_store(&s->resizing, false);
    return err;
}

/* run @p begin (a txn begin or renew) inside the gate; adopt a grown map once */
static int gated(zs_store_t *s, int (*begin)(zs_store_t *, void *), void *arg)
{
    for (int attempt = 0;; attempt++) {
        if (!gate_enter(s)) {
            return -EAGAIN;
        }
        int rc = begin(s, arg);
        if (rc == 0) {
            return 0;
        }
        gate_leave(s);
        if (rc != MDB_MAP_RESIZED || attempt > 0) {
            return zs_mdb_err(rc);
        }
        int err = zs_map_adopt(s);
        if (err == -EAGAIN && atomic_load(&s->resizing)) {
            return -EAGAIN;
        }
        if (err && err != -EAGAIN) {
            return err;
        }
    }
}

static int begin_read(zs_store_t *s, void *arg)
{
    return mdb_txn_begin(s->env, NULL, MDB_RDONLY, arg);
}

static int begin_write(zs_store_t *s, void *arg)
{
    return mdb_txn_begin(s->env, NULL, 0, arg);
}

static int renew(zs_store_t *s, void *arg)
{
    (void)s;
    return mdb_txn_renew(arg);
}

int zs_read_begin(zs_store_t *s, MDB_txn **out)
{
    *out = NULL;
    return gated(s, begin_read, out);
}

void zs_read_end(zs_store_t *s, MDB_txn *txn)
{
    if (txn) {
        mdb_txn_abort(txn);
        gate_leave(s);
    }
}

int zs_txn_renew(zs_store_t *s, MDB_txn *txn)
{
    return gated(s, renew, txn);
}

void zs_txn_reset(zs_store_t *s, MDB_txn *txn)
{
    mdb_txn_reset(txn);
    gate_leave(s);
}

int zs_write_begin(zs_store_t *s, MDB_txn **out)
{
    *out = NULL;
    return gated(s, begin_write, out);
}

int zs_write_commit(zs_store_t *s, MDB_txn *txn)
{
    int rc = mdb_txn_commit(txn);
    gate_leave(s);
    return zs_mdb_err(rc);
}

void zs_write_abort(zs_store_t *s, MDB_txn *txn)
{
    if (txn) {
        mdb_txn_abort(txn);
        gate_leave(s);
    }
}
