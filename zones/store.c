/* SPDX-License-Identifier: MIT */
/*
 * store.c -- open the LMDB environment, create the sub-databases and check
 * the schema. Slow path only.
 */
#include "zones/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
        rc = mdb_put(txn, s->meta, &k, &v, 0);
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
    if ((rc = mdb_env_create(&s->env)) != 0 || (rc = mdb_env_set_maxdbs(s->env, 16)) != 0 ||
        (rc = mdb_env_set_maxreaders(s->env, 512)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, mapsize ? mapsize : ZS_MAPSIZE_DEFAULT)) != 0) {
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
    /* "certs" came with the ACME worker: a read-only open of an older store
     * simply has none (a writable open creates it) */
    rc = mdb_dbi_open(txn, ZS_DB_CERTS, dbflags, &s->certs);
    if (rc == 0) {
        s->has_certs = true;
    } else if (rc != MDB_NOTFOUND) {
        diag_set(d, path, 0, "cannot open sub-databases: %s", mdb_strerror(rc));
        err = zs_mdb_err(rc);
        goto out;
    }
    /* the journal too (a store written before it has none until written again) */
    rc = mdb_dbi_open(txn, ZS_DB_JOURNAL, dbflags, &s->journal);
    if (rc == 0) {
        s->has_journal = true;
    } else if (rc != MDB_NOTFOUND) {
        diag_set(d, path, 0, "cannot open sub-databases: %s", mdb_strerror(rc));
        err = zs_mdb_err(rc);
        goto out;
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
    if (s->env) {
        mdb_env_close(s->env);
    }
    free(s);
}

int zs_meta_u64(zs_store_t *s, MDB_txn *txn, const char *key, uint64_t *out)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
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

int zs_meta_bump(zs_store_t *s, MDB_txn *txn, const char *key)
{
    uint64_t n = 0;
    int err = zs_meta_u64(s, txn, key, &n);
    if (err) {
        return err;
    }
    uint8_t b[8];
    zs_put64(b, n + 1);
    MDB_val k = {strlen(key), (void *)key}, v = {8, b};
    return zs_mdb_err(mdb_put(txn, s->meta, &k, &v, 0));
}

int zs_generation(zs_store_t *s, MDB_txn *txn, uint64_t *out)
{
    return zs_meta_u64(s, txn, ZS_META_GENERATION, out);
}
