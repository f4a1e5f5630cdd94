/* SPDX-License-Identifier: MIT */
/*
 * repl.h -- the replication form of a write transaction: every put and
 * delete a writer makes in the store's sub-databases, in order, as one
 * "change entry"; and the applier that replays an entry (or a snapshot,
 * which is an entry of puts) into another store. Replaying the entries of
 * a store's transactions, in commit order, onto an identical starting
 * store gives an identical store, byte for byte, in every replicated key:
 * that is the whole contract, and what the cluster (zones/cluster.h) is
 * built on. Slow path: the writer, the cluster applier, dnsctl.
 *
 * Every put and delete in the zones layer goes through zs_put()/zs_del()/
 * zs_cursor_del() (never a raw mdb_put/mdb_del): they write, and when the
 * store is capturing (zr_capture_begin(), done by zw_begin() when a
 * cluster is attached) append the operation to the capture buffer.
 *
 * Replicated: every key of every sub-database except the node-local meta
 * keys: "generation" (each store counts its own commits) and any meta key
 * starting with "cluster_" (the applied position, the cluster's id and
 * settings of this node). Those are never captured and an entry that
 * carries one is malformed.
 *
 * Entry format (all integers big-endian):
 *   u8 format (1) | u8 flags (0) | u16 0 | u32 nops |
 *   nops x (u8 op (1 put, 2 delete) | u8 db (ZR_DB_*) | u16 klen | key |
 *           u32 vlen | value)          (vlen 0 and no value for a delete)
 * klen is 1..511 (LMDB's key limit); a value is at most 64 MiB.
 */
#ifndef DNSD_REPL_H
#define DNSD_REPL_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/store.h"

/* sub-database numbers in entries (stable: part of the format) */
enum {
    ZR_DB_META = 0,
    ZR_DB_ZONES = 1,
    ZR_DB_RRSETS = 2,
    ZR_DB_REGIONS = 3,
    ZR_DB_CERTS = 4,
    ZR_DB_JOURNAL = 5,
    ZR_DB_TSIG = 6,
    ZR_DB_XFROUT = 7,
    ZR_DB_SECONDARY = 8,
    ZR_DB_UPOLICY = 9,
    ZR_DB_DNSSEC = 10,
    ZR_DB_ROLLOUT = 11, /* canary splits (zones/rollout.h) */
    ZR_DB_COUNT
};

#define ZR_OP_PUT 1u
#define ZR_OP_DEL 2u
#define ZR_HDR    8u

/** Is meta key @p k (@p n bytes) local to a store (never replicated)? */
bool zr_meta_local(const void *k, size_t n);

/* ---- the store's put/delete (capture when on) ----
 * zs_put(), zs_del(), zs_cursor_del(): declared in zones/store.h (store.c
 * writes meta keys with them, and must not include this header: a module
 * cycle), implemented in repl.c. */

/**
 * Start capturing into the store's buffer (the writer does this in
 * zw_begin() when s->repl is set; one write txn at a time per environment,
 * so one buffer per store suffices). Resets the buffer.
 */
void zr_capture_begin(zs_store_t *s);
/** The entry captured so far (a valid entry, maybe of 0 ops) and its length. */
const uint8_t *zr_capture_get(zs_store_t *s, size_t *len);
/** Stop capturing and drop the buffer (commit or abort). */
void zr_capture_end(zs_store_t *s);

/**
 * Check entry @p e (@p len bytes) completely -- format, every op's db and
 * lengths, no local meta key -- without touching the store.
 * @return 0, or DNSD_EMALFORMED with @p d saying what and at which byte.
 */
int zr_check(const uint8_t *e, size_t len, diag_t *d);

/**
 * Apply entry @p e in write txn @p txn: zr_check() first, then every op in
 * order (a delete of an absent key is fine: deletes are idempotent). Does
 * not capture (an applier is not a proposer), does not bump the
 * generation and does not record a position: the caller does both in the
 * same txn. @return 0, DNSD_EMALFORMED (nothing applied), or an LMDB
 * error (the caller aborts the txn: the store is unchanged).
 */
int zr_apply(zs_store_t *s, MDB_txn *txn, const uint8_t *e, size_t len, diag_t *d);

/**
 * Write a snapshot of every replicated key of the store, as entries of
 * puts of at most @p chunk bytes each (a single key-value larger than
 * that gets an entry of its own), to @p out, in sub-database and key
 * order, from read txn @p txn. @return 0, the callback's non-0, or an
 * LMDB error.
 */
typedef int (*zr_out_cb)(void *arg, const uint8_t *entry, size_t len);
int zr_snapshot(zs_store_t *s, MDB_txn *txn, size_t chunk, zr_out_cb out, void *arg);

/**
 * Empty every replicated key of the store in write txn @p txn (before the
 * entries of a snapshot are applied with zr_apply()): local meta keys stay.
 */
int zr_clear(zs_store_t *s, MDB_txn *txn);

/**
 * Compare two stores' replicated keys (a test and `dnsctl cluster`
 * helper): 0 when equal, 1 when they differ (with the first difference,
 * sub-database and key in hex, in @p d), or an LMDB error.
 */
int zr_compare(zs_store_t *a, MDB_txn *ta, zs_store_t *b, MDB_txn *tb, diag_t *d);

#endif
