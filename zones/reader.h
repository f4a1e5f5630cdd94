/* SPDX-License-Identifier: MIT */
/*
 * reader.h -- lookups on the store for the per-query path.
 *
 * A zr_t is one worker's read transaction and cursor, made once by
 * zr_init() on the worker's thread (that allocates), then renewed per batch
 * by zr_begin()/zr_end(), which do not. Every zs_rrset_t / zs_zone_t filled
 * here points into the LMDB map and is valid until zr_end(); never write or
 * free it. Stored values are decoded defensively: damage is DNSD_ESTORE.
 * No function here allocates, locks or logs.
 */
#ifndef DNSD_READER_H
#define DNSD_READER_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "zones/names.h"
#include "zones/schema.h"
#include "zones/store.h"

typedef struct zr {
    zs_store_t *s;
    MDB_txn *txn;
    MDB_cursor *cur; /* on rrsets */
    bool active;
} zr_t;

/** A region fallback chain, most specific first; always ends with ZS_REGION_DEFAULT. */
typedef struct zr_chain {
    const uint16_t *ids;
    int n;
} zr_chain_t;

/** The RRsets of one owner name as seen through a region chain. */
typedef struct zr_node {
    int n;         /* RRsets found (one per type, best region of the chain) */
    bool exists;   /* has RRsets, or descendants (an empty non-terminal) */
    bool regional; /* some RRset here exists in a region other than default */
    zs_rrset_t rr[ZS_NODE_MAX];
} zr_node_t;

/** Slow: begin the read txn and open the cursor (allocates), then reset. */
int zr_init(zr_t *r, zs_store_t *s);
void zr_fini(zr_t *r);
/**
 * Hot: renew txn and cursor to the newest committed state (through the
 * store's map gate: zs_txn_renew(), which adopts a map another process grew).
 * @return 0, -EAGAIN while a map adoption is under way, or an LMDB error.
 */
int zr_begin(zr_t *r);
/** Hot: release the snapshot (everything lent is invalid after). */
void zr_end(zr_t *r);

/**
 * Longest zone whose apex is @p k or an ancestor of it with at most
 * @p max_labels labels (k->nlabels for any; fewer to find a parent zone).
 * @return 0 and *out; DNSD_ENOZONE; DNSD_ESTORE for a damaged zone value.
 */
int zr_zone_find(zr_t *r, const dname_key_t *k, int max_labels, zs_zone_t *out);

/**
 * RRsets at the ancestor-or-self of @p k with @p labels labels (absolute
 * count, >= the zone's apex labels). @p wild: look at "*." + that name.
 * @return 0 (check out->n / out->exists), DNSD_ESTORE, DNSD_ELIMIT.
 */
int zr_node_get(zr_t *r, const zs_zone_t *z, const dname_key_t *k, int labels, bool wild,
                const zr_chain_t *ch, zr_node_t *out);

/** One RRset, by exact type, through the chain: 0, DNSD_ENOTFOUND or DNSD_ESTORE. */
int zr_rrset_get(zr_t *r, const zs_zone_t *z, const dname_key_t *k, int labels, uint16_t type,
                 const zr_chain_t *ch, zs_rrset_t *out);

/**
 * One RRset by exact type through the chain, like zr_rrset_get(), found with
 * one cursor seek over every region's copy of it. *@p regional is set to true
 * (never cleared) when the type exists at that name in a region other than
 * default, whether or not the chain sees it: an answer that looked for it
 * depends on the client's region (ECS scope), even when it found none.
 * @return 0, DNSD_ENOTFOUND or DNSD_ESTORE. Moves the reader's cursor.
 */
int zr_rrset_get_any(zr_t *r, const zs_zone_t *z, const dname_key_t *k, int labels,
                     uint16_t type, const zr_chain_t *ch, zs_rrset_t *out, bool *regional);

/**
 * Closest encloser of @p k inside @p z: the label count of the longest
 * ancestor-or-self that exists (has RRsets or descendants); the apex always
 * does. One cursor seek plus one step back. @return 0 or DNSD_ESTORE.
 */
int zr_closest_encloser(zr_t *r, const zs_zone_t *z, const dname_key_t *k, int *labels);

/** Find an RRset of @p type in a node, or NULL. */
static inline const zs_rrset_t *zr_node_find(const zr_node_t *n, uint16_t type)
{
    for (int i = 0; i < n->n; i++) {
        if (n->rr[i].type == type) {
            return &n->rr[i];
        }
    }
    return NULL;
}

#endif
