/* SPDX-License-Identifier: MIT */
/*
 * regions.h -- operator-defined regions in the store (sub-database
 * "regions"), edited by `dnsctl region ...`, read by dnsd when it compiles
 * its geo table. Slow path only: dnsd reads regions when the regions
 * generation (meta "regions_generation") changes, never per query.
 *
 * DESIGN. Key: u16 region id (big-endian). Value, format 1:
 *   u8 format | u16 parent | u8 flags (1: has coordinates) |
 *   u64 lat bits | u64 lon bits (IEEE 754 doubles) | u8 name_len | name |
 *   u8 n | n x (u8 len | continent code) |
 *   u8 n | n x (u8 len | country code) |
 *   u8 n | n x (u8 len | "CC-SUB" subdivision code) |
 *   u8 n | n x (u8 family 4|6 | u8 prefix | 4 or 16 address bytes)
 * Region 0 is "default": implicit, never stored, the end of every chain.
 */
#ifndef DNSD_REGIONS_H
#define DNSD_REGIONS_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/store.h"

#define ZS_META_REGIONS_GEN  "regions_generation"
#define ZS_META_NEXT_REGION  "next_region_id"   /* u64: ids are never reused */
#define ZS_REGION_NAME_MAX   63
#define ZS_REGION_LIST_MAX   255
#define ZS_REGION_CHAIN_MAX  16
#define ZS_REGION_ID_MAX     0xFFFEu

typedef struct zs_cidr {
    uint8_t family; /* 4 or 6 */
    uint8_t len;
    uint8_t addr[16];
} zs_cidr_t;

/** A region, decoded (owned by the caller; code strings are NUL-terminated). */
typedef struct zs_region {
    uint16_t id;
    uint16_t parent;
    char name[ZS_REGION_NAME_MAX + 1];
    bool has_coords;
    double lat, lon;
    int ncont, ncountry, nsubdiv, ncidr;
    char cont[ZS_REGION_LIST_MAX][3];
    char country[ZS_REGION_LIST_MAX][3];
    char subdiv[ZS_REGION_LIST_MAX][8];
    zs_cidr_t cidr[ZS_REGION_LIST_MAX];
} zs_region_t;

/* the largest encoded value: header, name, 3 full code lists, 255 IPv6 CIDRs */
#define ZS_REGION_VALUE_MAX \
    (20 + 1 + ZS_REGION_NAME_MAX + 3 * (1 + ZS_REGION_LIST_MAX * 8) + 1 + ZS_REGION_LIST_MAX * 18)

/**
 * Encode @p r as a stored value into @p buf (ZS_REGION_VALUE_MAX bytes).
 * @return the length. The codes and the name must be NUL-terminated and the
 * counts at most ZS_REGION_LIST_MAX; the result is checked by the writer
 * with zs_region_decode() before it is stored.
 */
size_t zs_region_encode(const zs_region_t *r, uint8_t *buf);

/**
 * Check and decode the stored value of region @p id. Every length is
 * verified and so is what dnsctl lets in: id 1..ZS_REGION_ID_MAX, a parent
 * other than itself, flags 0 or 1, coordinates finite and in range, a name of
 * 1-63 [a-z0-9-] other than "default" (or such a name or "default" followed
 * by ".canary": a canary region, zones/rollout.h), codes "EU"/"DE"/"US-CA" (upper case),
 * CIDRs of family 4 or 6 with no host bits. Whether the parent exists is the
 * region set's business (zw_region_put(), dnsd's geo build). @return 0 and
 * @p out, or DNSD_ESTORE: damage is refused, never trusted. Pure; any thread.
 */
int zs_region_decode(uint16_t id, const uint8_t *v, size_t len, zs_region_t *out);

/**
 * Every region in id order (heap array of *@p n, free with free()); "default"
 * is not in it. @return 0 or DNSD_ESTORE for a damaged value. Any txn.
 */
int zs_regions_load(zs_store_t *s, MDB_txn *txn, zs_region_t **out, size_t *n);

/** Find a region id by name ("default" is 0). @return 0 or DNSD_ENOTFOUND. */
int zs_region_id(zs_store_t *s, MDB_txn *txn, const char *name, uint16_t *id);

/**
 * The rules every committed region set obeys, checked on the whole set @p rs
 * (@p n regions, any order): what dnsd's geo build refuses, and what would
 * make answers ambiguous. Each region decodes (zs_region_decode()'s rules:
 * name, codes, CIDRs without host bits, coordinates), continents are one of
 * AF AN AS EU NA OC SA, ids and names are unique, every parent is another
 * region (or default) and every chain reaches default within
 * ZS_REGION_CHAIN_MAX steps, and no continent, country, subdivision or CIDR
 * is listed by two regions. A name with '.' is a canary region
 * (zones/rollout.h): exactly "<parent's name>.canary" ("default.canary"
 * for default), falling back to that parent, with no code, CIDR or
 * coordinates; no region falls back to a canary region. The writer runs it on every region edit
 * (zw_region_put(), zw_region_del()), so no writer can commit a set that
 * breaks it. @return 0, or DNSD_EMALFORMED / DNSD_EEXIST / DNSD_ENOTFOUND /
 * DNSD_ELIMIT with @p d set: for a code or CIDR listed twice, d->file is
 * the field ("continent", "country", "subdivision", "cidr") and d->text
 * starts with the item ("DE: region eu-west already has it ...", the
 * region earlier in @p rs named as the holder); else
 * d->file is "" and d->text names the region. Pure; any thread; slow path.
 */
int zs_regions_check(const zs_region_t *rs, size_t n, diag_t *d);

/** Is @p r a canary region ("<name>.canary", zones/rollout.h)? Pure. */
bool zs_region_is_canary(const zs_region_t *r);

/** Is @p c one of the seven continent codes (AF AN AS EU NA OC SA)? */
bool zs_continent_ok(const char *c);

/** The regions generation (0 if regions were never edited). */
int zs_regions_generation(zs_store_t *s, MDB_txn *txn, uint64_t *out);

/** Parse "10.0.0.0/8" or "2001:db8::/32" (bits past the prefix must be 0). */
int zs_cidr_parse(const char *text, zs_cidr_t *out);
/** Print a CIDR; @p buf needs 64 bytes. */
void zs_cidr_str(const zs_cidr_t *c, char *buf, size_t cap);

#endif
