/* SPDX-License-Identifier: MIT */
/*
 * cluster.h -- several dnsd nodes as one service, on etcd v3. etcd holds
 * the ordered log of committed write transactions (zones/repl.h entries,
 * AES-256-GCM encrypted with the cluster key), snapshots, node status and
 * task locks; every node applies the log to its own LMDB store, in order,
 * recording the applied position in the same LMDB txn. Queries never touch
 * the network: LMDB stays the serving copy.
 *
 * Users: dnsd (zc_open + zc_start: the applier thread; the ACME worker's
 * locks and propagation wait), dnsctl (zc_open only: its writes go through
 * the cluster). Slow path; the handle is thread-safe (internal mutexes);
 * never called by a query worker.
 *
 * etcd layout under the prefix P (default "/dnsd/"):
 *   P id                      cluster id (random, set by the first node)
 *   P log/<seq %020>          one entry per write txn: seq 1, 2, ... with no
 *                             gaps, written with "create only if absent"
 *                             under the write lock (so the log is the order)
 *   P blob/<seq>/<txid>/<n>   parts of an entry over ZC_PART bytes; the log
 *                             value is then a manifest naming them
 *   P snap                    the newest snapshot: JSON {seq, parts, bytes}
 *   P snapdata/<seq>/<n>      its parts (zr_snapshot() entries, encrypted)
 *   P wlock                   the write lock: held by one writer (under its
 *                             lease) from zw_begin() to commit/abort
 *   P lock/<name>             task locks (zc_try_lock: "order/<cert id>")
 *   P nodes/<node>            node status JSON under the node's lease:
 *                             {node, applied, time, pid, version}
 *   P share/<name>/<node>     a node's share of some passing data under its
 *                             lease (zc_share_put: "ev/<cert id>", the
 *                             rollout evidence of acme/rollout_share.h)
 *
 * Write path (hooks installed in the store, see zs_repl_hooks_t): take the
 * write lock, begin the LMDB txn, apply the entries the store lacks, run
 * the edits (captured), propose the entry as log/<applied+1> (create only
 * if absent), record the position, commit LMDB, release the lock. No
 * quorum: the lock or the put fails within the timeout and the edit is
 * refused (DNSD_ECLUSTER, message naming the endpoints); queries go on.
 *
 * Catch-up: from the store's applied seq, read log/ entries in order; when
 * the log no longer holds the next one (trimmed after a snapshot and etcd
 * compaction), load the newest snapshot and go on from its seq.
 */
#ifndef DNSD_CLUSTER_H
#define DNSD_CLUSTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/etcd.h"
#include "zones/store.h"

#define ZC_PART          (1000u * 1000u) /* bytes per etcd value (etcd's limit: 1.5 MiB) */
#define ZC_NODE_MAX      63
#define ZC_PREFIX_MAX    200
#define ZC_DEFAULT_PREFIX "/dnsd/"
#define ZC_DEFAULT_TTL   10      /* node lease, seconds */
#define ZC_DEFAULT_KEEP  1000    /* log entries kept behind a snapshot */
#define ZC_DEFAULT_SNAP  10000   /* entries between automatic snapshots */

typedef struct zc_cfg {
    char urls[ETCD_MAX_URLS][256];
    int nurls;
    char cacert[1024], cert[1024], key[1024]; /* TLS to etcd ("" none) */
    char prefix[ZC_PREFIX_MAX + 1];           /* ends with '/' */
    char node[ZC_NODE_MAX + 1];               /* this node's name */
    char key_file[1024];                      /* the cluster key file */
    int lease_ttl_s;
    long timeout_ms;                          /* per etcd request (default 3000) */
    uint64_t log_keep;
    uint64_t snapshot_every;
    /* dnsd: when etcd cannot be reached at zc_open(), start anyway (serving the
     * store's last state; edits refused) and join from the service thread */
    bool join_later;
} zc_cfg_t;

typedef struct zc zc_t;

/** Defaults (prefix, ttl, keep, snapshot, node = the host name). */
void zc_cfg_defaults(zc_cfg_t *cfg);

/**
 * The cluster settings dnsd recorded in the store (local meta key
 * "cluster_cfg", JSON), so that dnsctl on the same store writes through
 * the same cluster: 0 and *@p found. zc_cfg_save(s, NULL) forgets them.
 */
int zc_cfg_load(zs_store_t *s, zc_cfg_t *cfg, bool *found, diag_t *d);
int zc_cfg_save(zs_store_t *s, const zc_cfg_t *cfg, diag_t *d);

/**
 * Read the cluster key file: lines "ID BASE64" (32-byte AES-256 keys; ID
 * 1..32 of [A-Za-z0-9._-]); the first key encrypts, all decrypt (so a key
 * is rotated by putting a new first line on every node, then dropping the
 * old line after the next snapshot). Errors name file:line.
 */
int zc_keys_check(const char *path, diag_t *d);
/** Write a new key file with one fresh random key named @p id (mode 0600, not overwriting). */
int zc_keygen(const char *path, const char *id, diag_t *d);

/**
 * Join: connect, read the keys, check or set the cluster id, attach the
 * write hooks to @p s. When the cluster is empty, the store seeds it (a
 * snapshot of it at seq 0); when the store belongs to another cluster (or
 * none) and the cluster is not empty, the store is replaced by the
 * cluster's state at the next catch-up (logged). @return 0 and *@p out.
 */
int zc_open(zs_store_t *s, const zc_cfg_t *cfg, zc_t **out, diag_t *d);
/**
 * Optimistic writes (dnsctl): no write lock; the log append succeeds only
 * when nobody appended since the catch-up and no locked writer is at work,
 * else zw_commit() says DNSD_ECONFLICT (nothing changed) and the caller
 * runs its whole edit again. One etcd write per edit instead of two (and
 * no lease of its own). dnsd's writers keep the lock: they cannot redo.
 */
void zc_set_optimistic(zc_t *c, bool on);
/** How many DNSD_ECONFLICT this process has had (any handle): dnsctl's retry test. */
unsigned long zc_conflicts(void);

/** Detach the hooks, stop the applier if started, revoke the lease. NULL fine. */
void zc_close(zc_t *c);

/**
 * Start the node service thread: keep the node lease alive and publish
 * node status, watch the log and apply it, write snapshots and trim the
 * log when due (one node at a time, under lock "maint"). dnsd only.
 */
int zc_start(zc_t *c, diag_t *d);

const char *zc_node(const zc_t *c);
/** This store's applied seq (its own read txn). */
uint64_t zc_applied(zc_t *c);
/** The seq of the last entry this handle proposed (0: none yet). */
uint64_t zc_last_seq(zc_t *c);

/**
 * Wait until every live node (a nodes/ key under a live lease) reports an
 * applied seq >= @p seq, polling; @return 0, -ETIMEDOUT after @p timeout_ms
 * (with the laggards named in @p d), DNSD_ENET.
 */
int zc_wait_applied(zc_t *c, uint64_t seq, long timeout_ms, diag_t *d);

/**
 * Try to take task lock @p name (e.g. "order/www") for this node, under
 * the node's lease (so it goes when the node dies or is cut off for a
 * lease TTL). *@p mine true when this node holds it (now, or already);
 * false with the holder's node name in @p holder when another does.
 */
int zc_try_lock(zc_t *c, const char *name, bool *mine, char *holder, size_t hlen, diag_t *d);
/** Release a task lock this node holds (absent or not ours: 0). */
int zc_unlock(zc_t *c, const char *name, diag_t *d);
/** Has the node lease been renewed within its TTL (false: locks may be lost)? */
bool zc_lease_ok(zc_t *c);

/**
 * Publish @p val as this node's share of @p name (key P share/<name>/<node>,
 * under the node's lease, so a dead node's shares expire with it), sealed
 * with the cluster key like the log. One put.
 */
int zc_share_put(zc_t *c, const char *name, const void *val, size_t len, diag_t *d);

/**
 * The shares of @p name of the OTHER nodes (at most ZC_SHARE_NODES):
 * @p cb(arg, node, val, len) for each, opened (lent for the call; a value
 * that does not open under the cluster's keys is skipped). One range read.
 */
#define ZC_SHARE_NODES 64
int zc_share_list(zc_t *c, const char *name,
                  void (*cb)(void *arg, const char *node, const uint8_t *val, size_t len),
                  void *arg, diag_t *d);

/** Delete this node's share of @p name, or with @p all every node's. */
int zc_share_del(zc_t *c, const char *name, bool all, diag_t *d);

/** Node status list: a JSON array of {node, applied, time, pid, version, self}. */
int zc_nodes(zc_t *c, json_t **out, diag_t *d);

/**
 * The cluster as this store sees it (`dnsctl cluster status`): a JSON object
 * {node, prefix, cluster (id, hex), applied, endpoints [..], snapshot {seq,
 * parts, bytes} or null, nodes [as zc_nodes], etcd {revision, db_size}}.
 */
int zc_info(zc_t *c, json_t **out, diag_t *d);

/**
 * Write a snapshot of this store at its applied seq, then trim the log
 * up to seq - @p keep, delete older snapshots and, when @p compact, compact
 * etcd's history at the current revision. `dnsctl cluster snapshot`.
 */
int zc_snapshot_now(zc_t *c, uint64_t keep, bool compact, diag_t *d);

#endif
