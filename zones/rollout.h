/* SPDX-License-Identifier: MIT */
/*
 * rollout.h -- the canary split of a certificate rollout (issue #15), as
 * the store holds it and the query path reads it.
 *
 * A shard (acme/shard.h) of domain D in region R that is rolling out a new
 * certificate has two pools of load balancers: the stable pool (region R's
 * A/AAAA records, the current certificate) and the canary pool (the same
 * names' A/AAAA records in R's *canary region*, presenting the new one). A
 * share p of client prefixes -- chosen by a keyed hash of the client's
 * address cut to a prefix, so a subnet keeps its answer while p holds and
 * stays in the canary when p grows -- is answered through the canary
 * region. The split is data in the store:
 *
 *   sub-database "rollout" (ZS_DB_ROLLOUT; replicated as ZR_DB_ROLLOUT):
 *     key   u32 zone id | u16 region id (R: the region whose clients split)
 *     value u8 format (1) | u8 flags (0) | u16 canary region id |
 *           u16 permyriad (0..10000) | u8 prefix4 (8..32) | u8 prefix6 (16..128) |
 *           16 bytes hash key                      (ZS_ROLLOUT_VALUE_LEN bytes)
 *
 * added like the journal (a new sub-database, no schema version bump).
 * The zone flag ZS_ZONE_F_ROLLOUT says "the zone has entries": the writer
 * keeps it (zw_rollout_put/del), and the query path looks entries up only
 * for such zones. Each change of p is one write transaction, made with the
 * pool records' TTL changes and the controller's state (acme/rollout.h), so
 * every query sees the old split or the new one.
 *
 * The canary region of region R is a region named "<R name>.canary" (for
 * default: "default.canary"), falling back to R, with no continent,
 * country, subdivision, CIDR or coordinates: the geo table never picks it;
 * only a split does. zw_rollout_canary_region() is its only maker; names
 * with '.' are refused to operators (dnsctl region add), and the writer's
 * region rules accept a dotted name only in exactly that form. A region
 * whose name is longer than ZS_REGION_NAME_MAX - 7 cannot have one.
 *
 * In the query path (dnsd/answer.c pick_region): for a zone with the flag,
 * the first region of the client's chain (most specific first) that has an
 * entry decides: bucket = zs_rollout_bucket(entry, client address); the
 * client is in the canary when bucket < permyriad, and its chain then gets
 * the canary region inserted just before that region (eu-west -> eu.canary
 * -> eu -> default), so more specific overlays still win. Whenever an entry
 * decided (canary or not) and the answer is regional, the ECS scope is at
 * least the entry's prefix for the family. ECS SOURCE 0 never splits.
 */
#ifndef DNSD_ZONES_ROLLOUT_H
#define DNSD_ZONES_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/reader.h"
#include "zones/writer.h"

/* ZS_DB_ROLLOUT and the zone flag ZS_ZONE_F_ROLLOUT (0x10) are in schema.h
 * with the other sub-databases and zone flags */

#define ZS_ROLLOUT_FORMAT 1u
#define ZS_ROLLOUT_VALUE_LEN 24u
#define ZS_ROLLOUT_PERMYRIAD 10000u
#define ZS_ROLLOUT_PREFIX4_DEFAULT 24u
#define ZS_ROLLOUT_PREFIX6_DEFAULT 56u
#define ZS_ROLLOUT_CANARY_SUFFIX ".canary"

/** One split entry, decoded. */
typedef struct zs_rollout {
    uint16_t canary;    /* region id of the canary pool's records */
    uint16_t permyriad; /* p in 1/10000: a prefix is in the canary when its bucket < p */
    uint8_t prefix4;    /* IPv4 clients are hashed by this many leading bits */
    uint8_t prefix6;    /* IPv6 likewise */
    uint8_t key[16];    /* SipHash-2-4 key: random per rollout */
} zs_rollout_t;

/** Encode into @p buf (ZS_ROLLOUT_VALUE_LEN bytes). */
void zs_rollout_encode(const zs_rollout_t *r, uint8_t *buf);
/** Decode and check (format, permyriad <= 10000, prefix ranges). Hot; false: damaged. */
bool zs_rollout_decode(const uint8_t *v, size_t len, zs_rollout_t *out);

/**
 * Hot: the bucket 0..9999 of a client: SipHash-2-4 under r->key of one
 * family byte (4 or 6) followed by the address cut to prefix4/prefix6
 * bits (bits past the prefix zeroed, whole bytes up to the prefix), mod
 * 10000. @p family is AF_INET or AF_INET6; @p addr 4 or 16 bytes.
 */
uint16_t zs_rollout_bucket(const zs_rollout_t *r, int family, const uint8_t *addr);

/** Hot: the entry of (@p zone, @p region) in reader @p rd's txn: 0, DNSD_ENOTFOUND, DNSD_ESTORE. */
int zr_rollout_get(zr_t *rd, uint32_t zone, uint16_t region, zs_rollout_t *out);

/** Slow: the same on any txn (dnsctl, the controller). */
int zw_rollout_get(zs_store_t *s, MDB_txn *txn, uint32_t zone, uint16_t region, zs_rollout_t *out);

/**
 * Put the entry of (@p z, @p region) in write txn @p w and set the zone's
 * ZS_ZONE_F_ROLLOUT. Refused (DNSD_EMALFORMED with @p d) when @p r is out
 * of range or r->canary is not @p region's canary region.
 */
int zw_rollout_put(zw_t *w, zw_zone_t *z, uint16_t region, const zs_rollout_t *r, diag_t *d);

/** Delete it (DNSD_ENOTFOUND if absent); the zone flag goes with the zone's last entry. */
int zw_rollout_del(zw_t *w, zw_zone_t *z, uint16_t region);

/**
 * The canary region of region @p parent: its id in @p id; made (with the
 * rules above) when absent and @p create, else DNSD_ENOTFOUND. DNSD_ELIMIT
 * when @p parent's name is too long for the suffix.
 */
int zw_rollout_canary_region(zw_t *w, uint16_t parent, bool create, uint16_t *id, diag_t *d);

/** Visit every entry (any txn): cb != 0 stops and is returned. */
typedef int (*zw_rollout_cb)(uint32_t zone, uint16_t region, const zs_rollout_t *r, void *arg);
int zw_rollout_foreach(zs_store_t *s, MDB_txn *txn, zw_rollout_cb cb, void *arg);

#endif
