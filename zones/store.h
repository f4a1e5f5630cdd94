/* SPDX-License-Identifier: MIT */
/*
 * store.h -- the LMDB environment: open/create, schema check, handles of the
 * sub-databases, and the generation counter. Used by dnsd (readers, and later
 * the orchestration thread's writes) and dnsctl (one write txn per command).
 * LMDB is multi-process: a txn committed by dnsctl is seen by dnsd's next
 * read txn, with no reload or signal.
 */
#ifndef DNSD_STORE_H
#define DNSD_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "zones/base/diag.h"

#define ZS_OPEN_CREATE 0x1u /* create the directory and the store if missing */
#define ZS_OPEN_RDONLY 0x2u /* read-only environment (e.g. `dnsctl ... list`) */

#define ZS_MAPSIZE_DEFAULT ((size_t)1 << 30) /* 1 GiB, sparse; fixed so MDB_MAP_RESIZED is rare */

typedef struct zs_store {
    MDB_env *env;
    MDB_dbi meta;
    MDB_dbi zones;
    MDB_dbi rrsets;
    MDB_dbi regions;
    MDB_dbi certs;   /* ACME accounts, certificates, orders (acme/certdb.h) */
    bool has_certs;  /* false only for a read-only open of a store that never had one */
    MDB_dbi journal; /* change journal (zones/journal.h) */
    bool has_journal; /* false only for a read-only open of a store that never had one */
    char path[4096];
} zs_store_t;

/**
 * Open the store in directory @p path (created 0700 with ZS_OPEN_CREATE).
 * Checks the schema version (DNSD_ESCHEMA), clears stale reader slots left
 * by killed processes. @p mapsize 0 means ZS_MAPSIZE_DEFAULT.
 * @return 0 and *out (free with zs_close), or an error with @p d filled.
 * Slow path, any thread.
 */
int zs_open(const char *path, unsigned flags, size_t mapsize, zs_store_t **out, diag_t *d);

/** Close; NULL is fine. All txns must be finished. */
void zs_close(zs_store_t *s);

/** Read the generation counter in @p txn (0 for a new store). */
int zs_generation(zs_store_t *s, MDB_txn *txn, uint64_t *out);

/** A u64 counter in the meta sub-database (0 when absent; DNSD_ESTORE if damaged). */
int zs_meta_u64(zs_store_t *s, MDB_txn *txn, const char *key, uint64_t *out);
/** Add one to a meta counter inside write txn @p txn. */
int zs_meta_bump(zs_store_t *s, MDB_txn *txn, const char *key);

/** Map an LMDB return code to a DNSD_E* code (MDB_NOTFOUND -> DNSD_ENOTFOUND, ...). */
int zs_mdb_err(int rc);

#endif
