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
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/base/diag.h"

typedef struct zs_store zs_store_t;

#define ZS_OPEN_CREATE 0x1u /* create the directory and the store if missing */
#define ZS_OPEN_RDONLY 0x2u /* read-only environment (e.g. `dnsctl ... list`) */

#define ZS_MAPSIZE_DEFAULT ((size_t)1 << 30) /* 1 GiB, sparse; fixed so MDB_MAP_RESIZED is rare */

struct zr_capture; /* zones/repl.c */

/**
 * Replication hooks (zones/repl.h, zones/cluster.h): a cluster attaches
 * them to a store so that the writer (zones/writer.c) routes every write
 * transaction through the cluster. NULL in s->repl: a standalone store.
 * Each returns 0 or an error with @p d filled (DNSD_ECLUSTER: the cluster
 * refused or could not be reached; the store is unchanged).
 */
typedef struct zs_repl_hooks {
    /* zw_begin(), before the LMDB write txn begins: take the cluster's
     * write lock (blocks on the network, bounded by a timeout) */
    int (*lock)(void *ctx, diag_t *d);
    /* zw_begin(), in the new write txn: apply the entries the store lacks */
    int (*catch_up)(void *ctx, zs_store_t *s, MDB_txn *txn, diag_t *d);
    /* zw_commit(), after the zones are finished and before the LMDB commit:
     * propose the captured entry (@p e, @p len; never 0 ops) to the
     * cluster and, once it is in the cluster's log, record the position
     * in @p txn */
    int (*propose)(void *ctx, zs_store_t *s, MDB_txn *txn, const uint8_t *e, size_t len,
                   diag_t *d);
    /* after the commit or abort: release the write lock (never fails) */
    void (*unlock)(void *ctx);
    /* zs_close(): detach and free the context (may be NULL) */
    void (*close)(void *ctx);
} zs_repl_hooks_t;

struct zs_store {
    MDB_env *env;
    MDB_dbi meta;
    MDB_dbi zones;
    MDB_dbi rrsets;
    MDB_dbi regions;
    MDB_dbi certs;   /* ACME accounts, certificates, orders (acme/certdb.h) */
    bool has_certs;  /* false only for a read-only open of a store that never had one */
    MDB_dbi journal; /* change journal (zones/journal.h) */
    bool has_journal; /* false only for a read-only open of a store that never had one */
    MDB_dbi tsig;     /* TSIG keys and references (zones/tsig.h) */
    bool has_tsig;    /* false only for a read-only open of a store that never had one */
    MDB_dbi xfrout;   /* transfer ACLs and NOTIFY targets (zones/xfracl.h) */
    bool has_xfrout;  /* false only for a read-only open of a store that never had one */
    MDB_dbi secondary; /* secondary zones: primaries, transfer state (zones/secondary.h) */
    bool has_secondary; /* false only for a read-only open of a store that never had one */
    MDB_dbi upolicy;  /* RFC 2136 update policies (zones/upolicy.h) */
    bool has_upolicy; /* false only for a read-only open of a store that never had one */
    MDB_dbi dnssec;   /* DNSSEC keys and policies (zones/dnssec.h) */
    bool has_dnssec;  /* false only for a read-only open of a store that never had one */
    MDB_dbi rollout;  /* canary splits of certificate rollouts (zones/rollout.h) */
    bool has_rollout; /* false only for a read-only open of a store that never had one */
    char path[4096];
    /* replication (see zs_repl_hooks_t): hooks, their context, the capture
     * buffer of the write txn in progress, and the last hook error */
    const zs_repl_hooks_t *repl;
    void *repl_ctx;
    struct zr_capture *cap;
    diag_t repl_diag;
    /* The map gate (see zs_map_adopt): txns begun through zs_read_begin(),
     * zs_txn_renew() and zs_write_begin() count in @c active; a resize
     * waits for it to drain and turns new ones away meanwhile. */
    atomic_int active;
    atomic_bool resizing;
    atomic_uint_fast64_t resizes; /* times another process's growth was adopted */
    atomic_size_t mapsize;        /* bytes mapped now */
};

/**
 * Open the store in directory @p path (created 0700 with ZS_OPEN_CREATE).
 * Checks the schema version (DNSD_ESCHEMA), clears stale reader slots left
 * by killed processes. The map is the larger of @p mapsize and the size
 * the store records (the largest any process used on it: LMDB persists
 * increases only), so dnsd and dnsctl agree on it; @p mapsize 0 means the
 * store's own size, or ZS_MAPSIZE_DEFAULT for a new store.
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
/** The same with @p dflt when absent (a setting whose 0 means something). */
int zs_meta_u64_or(zs_store_t *s, MDB_txn *txn, const char *key, uint64_t dflt, uint64_t *out);
/** Set a u64 meta value, or delete it (absent is fine), in write txn @p txn. */
int zs_meta_put_u64(zs_store_t *s, MDB_txn *txn, const char *key, uint64_t val);
int zs_meta_del(zs_store_t *s, MDB_txn *txn, const char *key);
/** Add one to a meta counter inside write txn @p txn. */
int zs_meta_bump(zs_store_t *s, MDB_txn *txn, const char *key);

/** Bytes mapped now (after an adoption, the new size). Any thread. */
size_t zs_map_size(zs_store_t *s);

/** How many times this process adopted a map grown by another. Any thread. */
uint64_t zs_map_resizes(zs_store_t *s);

/**
 * Another process grew the map beyond ours (a txn begin or renew said
 * MDB_MAP_RESIZED): adopt its size with mdb_env_set_mapsize(env, 0). LMDB
 * requires that no txn of this process is active meanwhile, so this turns
 * new gated txns away (they get -EAGAIN) and waits, at most 50 ms,
 * for the active ones to end; the caller must have none. Txns begun
 * around the gate (raw mdb_txn_begin) are not seen: every txn of a
 * process that may resize must go through the zs_ functions below.
 * @return 0 (adopted, or another thread just did), -EAGAIN (busy:
 * retry with the next batch), or an LMDB error. Any thread; slow, rare.
 */
int zs_map_adopt(zs_store_t *s);

/**
 * Begin a read txn through the map gate, adopting a grown map once if
 * needed. End it with zs_read_end(). @return 0, -EAGAIN (a resize is
 * under way: try again later), or an LMDB error mapped by zs_mdb_err().
 * Any thread; allocates (slow path).
 */
int zs_read_begin(zs_store_t *s, MDB_txn **out);
/** Abort a txn from zs_read_begin(); NULL is fine. */
void zs_read_end(zs_store_t *s, MDB_txn *txn);

/**
 * Renew a reset read txn @p txn through the gate (the per-batch renew of
 * the workers, via zr_begin()), adopting a grown map once if needed.
 * @return 0, -EAGAIN, or an LMDB error. End with zs_txn_reset().
 * Hot path: no allocation, no lock (two atomic operations); only an
 * adoption, once per growth, waits (bounded, see zs_map_adopt()).
 */
int zs_txn_renew(zs_store_t *s, MDB_txn *txn);
/** Reset a txn renewed by zs_txn_renew() (it leaves the gate). Hot. */
void zs_txn_reset(zs_store_t *s, MDB_txn *txn);

/**
 * Begin a write txn through the gate, adopting a grown map once if
 * needed; finish it with zs_write_commit() or zs_write_abort().
 * @return 0, -EAGAIN, or an LMDB error. Slow path.
 */
int zs_write_begin(zs_store_t *s, MDB_txn **out);
int zs_write_commit(zs_store_t *s, MDB_txn *txn);
void zs_write_abort(zs_store_t *s, MDB_txn *txn);

/*
 * The store's put and delete (zones/repl.h; implemented in zones/repl.c):
 * every write of the zones layer goes through them, never a raw mdb_put/
 * mdb_del. They write, and when the store is capturing (a cluster writer's
 * txn) append the operation to the capture buffer.
 */
/** mdb_put, then capture (flags are LMDB's; a put that fails is not captured). */
int zs_put(zs_store_t *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags);
/** mdb_del of a whole key (no duplicate data: no sub-db is DUPSORT), then capture. */
int zs_del(zs_store_t *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k);
/** mdb_cursor_del of the cursor's current key, captured as a delete of that key. */
int zs_cursor_del(zs_store_t *s, MDB_cursor *c);
/* All three return LMDB's code (0, MDB_NOTFOUND, ...), as the calls they replace. */

/** Map an LMDB return code to a DNSD_E* code (MDB_NOTFOUND -> DNSD_ENOTFOUND, ...). */
int zs_mdb_err(int rc);

#endif
