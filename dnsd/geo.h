/* SPDX-License-Identifier: MIT */
/*
 * geo.h -- client address -> region id, compiled once from a MaxMind DB
 * (libmaxminddb) and the operator's region definitions into a compact
 * prefix table; looked up on every query.
 *
 * geo_table_build() is the slow path (orchestration/main thread, or dnsctl);
 * geo_lookup() is hot: no malloc, no lock, no log, no libmaxminddb.
 * A built table is immutable: the server publishes a new one with a release
 * store and frees the old one after every worker passed a quiescent point.
 */
#ifndef DNSD_GEO_H
#define DNSD_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "zones/base/diag.h"

#define GEO_REGION_DEFAULT 0 /* "default": matched when nothing else does */

typedef struct geo_cidr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t addr[16];  /* network bytes (4 used for AF_INET) */
    uint8_t len;       /* prefix length */
} geo_cidr_t;

/** One operator-defined region (caller-owned memory; copied by the build). */
typedef struct geo_region {
    uint16_t id;                 /* 1..65534; 0 is default and never listed */
    const char *name;
    uint16_t parent;             /* next region of the fallback chain (0 = default) */
    const char *const *continents;   size_t ncontinents;   /* "EU", "NA", ... */
    const char *const *countries;    size_t ncountries;    /* ISO 3166-1 alpha-2: "DE" */
    const char *const *subdivisions; size_t nsubdivisions; /* country-subdivision: "US-CA" */
    const geo_cidr_t *cidrs;         size_t ncidrs;        /* explicit networks: win over the DB */
    bool has_coords;
    double lat, lon;             /* for nearest-region fallback */
} geo_region_t;

/** Where the fields live in the DB's records; NULL member = auto-detect. */
typedef struct geo_paths {
    const char *const *continent;   /* default {"continent","code",NULL}, else derived from country */
    const char *const *country;     /* {"country","iso_code"} or top-level {"country_code"} */
    const char *const *subdivision; /* {"subdivisions","0","iso_code"} */
    const char *const *latitude;    /* {"location","latitude"} */
    const char *const *longitude;   /* {"location","longitude"} */
} geo_paths_t;

typedef struct geo_table geo_table_t;

/**
 * Compile @p regions (and the DB at @p mmdb_path, may be NULL: CIDR regions
 * only) into a lookup table. Precedence for an address: the longest
 * explicit CIDR of any region; else the DB record's subdivision, then
 * country, then continent matched against the regions (most specific
 * wins); else, if the record has coordinates, the nearest region that has
 * coordinates (great-circle distance); else GEO_REGION_DEFAULT.
 * @return the table, or NULL with @p d saying why (unreadable or corrupt DB,
 * bad region definition). Slow path; allocates.
 */
geo_table_t *geo_table_build(const char *mmdb_path, const geo_paths_t *paths,
                             const geo_region_t *regions, size_t nregions, diag_t *d);

void geo_table_free(geo_table_t *gt); /* NULL is fine */

/**
 * Region of an address. @p family AF_INET (4 bytes at @p addr) or AF_INET6
 * (16 bytes; IPv4-mapped ::ffff:a.b.c.d is looked up as IPv4).
 * *@p scope gets the prefix length that decided the answer: the shortest
 * prefix around the address whose every address maps to the same region.
 * Hot path: allocates nothing, locks nothing.
 */
uint16_t geo_lookup(const geo_table_t *gt, int family, const uint8_t *addr, uint8_t *scope);

/** Bytes the table takes (for BENCHMARKS.md and logs). */
size_t geo_table_memory(const geo_table_t *gt);
/** Number of ranges in the IPv4 and IPv6 tables. */
void geo_table_stats(const geo_table_t *gt, size_t *v4_ranges, size_t *v6_ranges);

/**
 * Explain the decision for one address, for `dnsctl geo lookup`: the DB
 * fields found, the matched DB network and prefix, the CIDR that matched
 * if any, the region and its fallback chain. Writes text (or JSON when
 * @p json) to @p out. Slow path. @return 0, or an error with @p d set.
 */
int geo_explain(const char *mmdb_path, const geo_paths_t *paths, const geo_region_t *regions,
                size_t nregions, const char *address, bool json, FILE *out, diag_t *d);

/** Continent code of an ISO 3166-1 alpha-2 country code ("DE" -> "EU"), or NULL. */
const char *geo_country_continent(const char *cc);

#endif
