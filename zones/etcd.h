/* SPDX-License-Identifier: MIT */
/*
 * etcd.h -- a small client for etcd v3's JSON gateway (/v3/kv/..., /v3/watch,
 * /v3/lease/..., /v3/maintenance/...) over libcurl, JSON with jansson, keys and
 * values base64 as the gateway wants them. Used by the cluster
 * (zones/cluster.c) on dnsd's orchestration threads and by dnsctl; never by
 * a query worker. Every call is bounded by the handle's timeout (the watch
 * by its stop flag); nothing here retries forever.
 *
 * Endpoints: several URLs may be given; a call that cannot connect, times
 * out or gets a 5xx tries the next one (each at most once per call), and
 * the handle remembers the one that answered. Each attempt is bounded by
 * timeout_ms (connect included), so a call by nurls x timeout_ms. An etcd
 * error body ({"error": ..., "code": N}) is DNSD_ENET with its text and
 * the endpoint's URL in the diag.
 * A handle is not thread-safe: one per thread (they are cheap).
 */
#ifndef DNSD_ETCD_H
#define DNSD_ETCD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/base/diag.h"

#define ETCD_MAX_URLS 8

typedef struct etcd_cfg {
    const char *urls[ETCD_MAX_URLS]; /* "http://127.0.0.1:2379", "https://..." */
    int nurls;
    const char *cacert;   /* CA bundle for https (NULL: system default) */
    const char *cert;     /* client certificate (PEM), NULL: none */
    const char *key;      /* its private key (PEM) */
    long timeout_ms;      /* per request, connect included (0: 3000) */
} etcd_cfg_t;

typedef struct etcd etcd_t;

/** One key-value as etcd returns it; key/val are malloc'd (val NUL-terminated too). */
typedef struct etcd_kv {
    uint8_t *key;
    size_t klen;
    uint8_t *val;
    size_t vlen;
    int64_t create_rev, mod_rev, version, lease;
} etcd_kv_t;

void etcd_kv_free(etcd_kv_t *kv);                /* the members; NULL fine */
void etcd_kvs_free(etcd_kv_t *kvs, size_t n);    /* the members and the array */

/** @return a handle (copies the config strings) or NULL with @p d filled. */
etcd_t *etcd_new(const etcd_cfg_t *cfg, diag_t *d);
void etcd_free(etcd_t *e);

/** The URL that answered last (for messages). */
const char *etcd_url(const etcd_t *e);

/**
 * Range [key, range_end) at revision @p rev (0: newest); @p range_end NULL:
 * the key alone; @p limit 0: all (the caller bounds it). Sorted by key,
 * ascending. *@p more when etcd had more than @p limit; *@p header_rev the
 * store revision the answer is at. @return 0 (n may be 0), DNSD_ERANGE when
 * @p rev is compacted, DNSD_ENET.
 */
int etcd_range(etcd_t *e, const void *key, size_t klen, const void *range_end, size_t relen,
               int64_t limit, int64_t rev, etcd_kv_t **out, size_t *n, bool *more,
               int64_t *header_rev, diag_t *d);

/** One key: 0 and *@p out, DNSD_ENOTFOUND, DNSD_ENET. */
int etcd_get(etcd_t *e, const void *key, size_t klen, etcd_kv_t *out, int64_t *header_rev,
             diag_t *d);

/** Put (under @p lease, 0 none); *@p rev (may be NULL) the revision it made. */
int etcd_put(etcd_t *e, const void *key, size_t klen, const void *val, size_t vlen, int64_t lease,
             int64_t *rev, diag_t *d);

/**
 * Put only if the key does not exist (one etcd txn: compare create_revision
 * == 0). @return 0 and *@p rev, DNSD_EEXIST when it exists, DNSD_ENET.
 */
int etcd_put_if_absent(etcd_t *e, const void *key, size_t klen, const void *val, size_t vlen,
                       int64_t lease, int64_t *rev, diag_t *d);

/**
 * Put only if the key's mod_revision is @p mod_rev (0: only if absent).
 * @return 0, DNSD_EEXIST when the compare failed, DNSD_ENET.
 */
int etcd_put_if_rev(etcd_t *e, const void *key, size_t klen, const void *val, size_t vlen,
                    int64_t lease, int64_t mod_rev, int64_t *rev, diag_t *d);

/**
 * The cluster's log append, one etcd txn: put @p key (no lease) only if it
 * is absent AND @p guard's mod_revision is @p guard_rev (0: @p guard is
 * absent); with @p del_guard, @p guard is deleted in the same txn (a write
 * lock released with the write it guarded). @return 0 and *@p rev,
 * DNSD_EEXIST when either compare failed, DNSD_ENET.
 */
int etcd_put_guarded(etcd_t *e, const void *key, size_t klen, const void *val, size_t vlen,
                     const void *guard, size_t glen, int64_t guard_rev, bool del_guard,
                     int64_t *rev, diag_t *d);

/** Delete only if the key's mod_revision is @p mod_rev: 0, DNSD_EEXIST (compare failed). */
int etcd_del_if_rev(etcd_t *e, const void *key, size_t klen, int64_t mod_rev, diag_t *d);

/** Delete [key, range_end) (range_end NULL: the key); *@p deleted may be NULL. */
int etcd_del(etcd_t *e, const void *key, size_t klen, const void *range_end, size_t relen,
             int64_t *deleted, diag_t *d);

/** Grant a lease of @p ttl_s seconds: 0 and *@p id, DNSD_ENET. */
int etcd_lease_grant(etcd_t *e, int64_t ttl_s, int64_t *id, diag_t *d);
/** Keep a lease alive once: 0 and *@p ttl_left (s); DNSD_ENOTFOUND when it expired. */
int etcd_lease_keepalive(etcd_t *e, int64_t id, int64_t *ttl_left, diag_t *d);
/** Revoke a lease (its keys go): 0, DNSD_ENOTFOUND when already gone, DNSD_ENET. */
int etcd_lease_revoke(etcd_t *e, int64_t id, diag_t *d);

/** Compact the key-value history up to @p rev (0 fine if already compacted: returns 0). */
int etcd_compact(etcd_t *e, int64_t rev, diag_t *d);

/** Cluster status of the endpoint that answers: its revision and db size in bytes. */
int etcd_status(etcd_t *e, int64_t *revision, int64_t *db_size, diag_t *d);

/** A watch event: type 0 put, 1 delete (kv.val empty for a delete). */
typedef struct etcd_event {
    int type;
    etcd_kv_t kv;
} etcd_event_t;

/**
 * Called for each watch response with events (in revision order, n >= 1)
 * and for progress notifications (n == 0, @p ev NULL) with the header
 * revision. @p ev and its keys/values are lent for the call only. Return
 * non-0 to end the watch (the value is returned by etcd_watch()).
 */
typedef int (*etcd_watch_cb)(void *arg, const etcd_event_t *ev, size_t n, int64_t header_rev);

/**
 * Watch [key, range_end) from revision @p start_rev (0: now), with progress
 * notifications, blocking until: the callback returns non-0 (that value);
 * *@p stop becomes true (checked at least every 0.5 s: 0); the stream ends
 * or breaks (DNSD_ENET); etcd says @p start_rev is compacted (DNSD_ERANGE,
 * *@p compact_rev set). An endpoint must answer within the handle's
 * timeout (etcd confirms a watch at once), else the next one is tried;
 * once the stream is up it has no timeout (a frozen member is seen by the
 * caller missing progress notifications; stop it then). Uses the handle's
 * current endpoint, then the others.
 */
int etcd_watch(etcd_t *e, const void *key, size_t klen, const void *range_end, size_t relen,
               int64_t start_rev, etcd_watch_cb cb, void *arg, atomic_bool *stop,
               int64_t *compact_rev, diag_t *d);

/*
 * The watch stream parser, exposed for the fuzz target: feed it the bytes
 * the gateway sends, in any chunking; it splits JSON messages, decodes
 * {"result": {...}} (header, events, created, canceled, compact_revision,
 * cancel_reason) and calls the callback. A malformed message is
 * DNSD_EMALFORMED (the watch ends); an {"error": ...} message or a watch
 * canceled for another reason than compaction is DNSD_ENET; input is never
 * trusted. After a non-0 result the parser returns it again and calls
 * nothing more.
 */
typedef struct etcd_wparse etcd_wparse_t;
etcd_wparse_t *etcd_wparse_new(etcd_watch_cb cb, void *arg);
/**
 * @return 0, the callback's non-0, DNSD_ERANGE (compacted; *compact_rev),
 * DNSD_ENET, DNSD_EMALFORMED; @p d says why (when not 0).
 */
int etcd_wparse_feed(etcd_wparse_t *p, const char *data, size_t len, int64_t *compact_rev,
                     diag_t *d);
void etcd_wparse_free(etcd_wparse_t *p);

/** The key just after every key starting with @p prefix (etcd's "prefix" range end). */
size_t etcd_prefix_end(const void *prefix, size_t len, uint8_t *out);

#endif
