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
 *
 * Files: geo_build.c (slow: MMDB walk, region matching, geo_explain),
 * geo_table.c (hot: geo_lookup; memory and stats), geo_country.c (ISO 3166-1
 * alpha-2 -> continent). Link geo/libgeo.a ($(GEO_LIBS)).
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

/**
 * One operator-defined region (caller-owned memory; the build keeps nothing
 * of it). Codes compare case-insensitively. An AF_INET6 CIDR inside
 * ::ffff:0:0/96 with len >= 96 is taken as the IPv4 CIDR it maps; host bits
 * past len are ignored. When two regions list the same code (or the same
 * CIDR), the one earlier in the array wins.
 */
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

/**
 * Where the fields live in the DB's records (NULL-terminated key paths, as
 * MMDB_aget_value takes them); a NULL member = the default shown. With
 * @p paths NULL (or its country NULL) the schema is detected from the DB's
 * database_type and a sample of its records: MaxMind's GeoIP2/GeoLite2
 * layout (the defaults below; subdivisions.N.iso_code for every N, the most
 * specific that a region lists wins), or a top-level "country_code" (the
 * RIR-derived country DBs) or top-level "country" string, whose continent
 * is derived with geo_country_continent().
 */
typedef struct geo_paths {
    const char *const *continent;   /* {"continent","code"}; if absent, derived from the country */
    const char *const *country;     /* {"country","iso_code"} or top-level {"country_code"} */
    const char *const *subdivision; /* {"subdivisions",N,"iso_code"}; a value without "-" gets
                                     * "<country>-" in front ("CA" -> "US-CA") */
    const char *const *latitude;    /* {"location","latitude"} */
    const char *const *longitude;   /* {"location","longitude"} */
} geo_paths_t;

#define GEO_PATH_PARTS 8

/** Storage for paths parsed from text (geo_paths_parse); paths points into it. */
typedef struct geo_paths_buf {
    char text[512];
    const char *parts[5][GEO_PATH_PARTS + 1];
    geo_paths_t paths;
} geo_paths_buf_t;

/**
 * Parse "field=a/b/c,field=..." (fields: continent, country, subdivision,
 * latitude, longitude; components separated by '/', e.g.
 * "country=country_code" or "subdivision=subdivisions/0/iso_code") into
 * @p b; unnamed fields stay NULL (auto-detected). @return 0, or -1 with a
 * message in @p err. Slow path.
 */
int geo_paths_parse(const char *spec, geo_paths_buf_t *b, char *err, size_t errcap);

typedef struct geo_table geo_table_t;

/**
 * Compile @p regions (and the DB at @p mmdb_path, may be NULL: CIDR regions
 * only) into a lookup table. Precedence for an address: the longest
 * explicit CIDR of any region; else the DB record's subdivision, then
 * country, then continent matched against the regions (most specific
 * wins); else, if the record has coordinates, the nearest region that has
 * coordinates (great-circle distance); else GEO_REGION_DEFAULT. Addresses
 * the DB has no record for get a CIDR's region or GEO_REGION_DEFAULT.
 * IPv6 addresses the DB aliases to its IPv4 tree (::/96, 2001::/32 Teredo,
 * 2002::/16 6to4 in MaxMind's DBs) are looked up as the embedded IPv4
 * address (IPv4 CIDRs apply to them) unless an IPv6 CIDR covers them.
 * Every record the table uses is decoded in full: a DB with a bad search
 * tree, bad pointers or bad data is refused, never half-used.
 * @return the table, or NULL with @p d saying why (unreadable or corrupt DB,
 * bad region definition: id 0 or 0xFFFF or repeated, unknown parent or a
 * parent loop, a malformed code or CIDR, coordinates out of range).
 * Slow path; allocates; any thread (no global state).
 */
geo_table_t *geo_table_build(const char *mmdb_path, const geo_paths_t *paths,
                             const geo_region_t *regions, size_t nregions, diag_t *d);

void geo_table_free(geo_table_t *gt); /* NULL is fine */

/**
 * Region of an address. @p family AF_INET (4 bytes at @p addr, network
 * order) or AF_INET6 (16 bytes; IPv4-mapped ::ffff:a.b.c.d is looked up as
 * IPv4, IPv6 CIDRs do not apply to it). Any other family, or @p gt NULL:
 * GEO_REGION_DEFAULT with scope 0.
 * *@p scope (if @p scope is not NULL) gets the prefix length that decided
 * the answer: the shortest prefix around the address whose every address
 * maps to the same region, in bits of @p family's address (so 96 + the
 * IPv4 scope for a mapped address). 0 when the whole family maps to one
 * region.
 * Hot path: allocates nothing, locks nothing, any number of threads.
 */
uint16_t geo_lookup(const geo_table_t *gt, int family, const uint8_t *addr, uint8_t *scope);

/** Bytes the table takes (for BENCHMARKS.md and logs); 0 for NULL. */
size_t geo_table_memory(const geo_table_t *gt);
/** Number of ranges in the IPv4 and IPv6 tables. */
void geo_table_stats(const geo_table_t *gt, size_t *v4_ranges, size_t *v6_ranges);

#define GEO_EXPLAIN_SUB_MAX   8  /* subdivisions kept from the record */
#define GEO_EXPLAIN_CHAIN_MAX 32 /* chain entries kept (default included) */

/** One region of an explained decision: its id and name ("default" for 0). */
typedef struct geo_explain_region {
    uint16_t id;
    char name[64];
} geo_explain_region_t;

/**
 * The decision for one address, as geo_explain() found it: data only, the
 * caller formats it (`dnsctl geo lookup` prints text or JSON). Strings are
 * NUL-terminated; "" means absent.
 */
typedef struct geo_explain {
    char address[48];      /* as given */
    char lookup[48];       /* the address looked up (IPv4 for a mapped one) */
    char via[128];         /* why an IPv6 address was looked up as IPv4 */
    bool have_db;          /* a DB was given */
    char db_type[64];      /* its metadata database_type */
    unsigned db_ip_version;
    char db_schema[16];    /* "geoip2", "dbip", "custom", ... */
    bool found;            /* the address is in the DB */
    char network[64];      /* the DB network that holds it */
    char continent[16], country[16];
    int nsub;
    char sub[GEO_EXPLAIN_SUB_MAX][16];
    bool has_location;
    double lat, lon;
    bool has_cidr;         /* a region's CIDR matched */
    char cidr[64];
    uint16_t cidr_region;
    geo_explain_region_t region;   /* the decision */
    const char *matched_by;        /* "cidr", "country", ... (static) */
    char match[64];                /* what matched ("81.2.69.140/30", "GB") */
    int nchain;                    /* region, its parent, ..., default */
    bool chain_truncated;
    geo_explain_region_t chain[GEO_EXPLAIN_CHAIN_MAX];
    uint8_t scope;                 /* the ECS scope the compiled table gives */
    uint16_t table_region;         /* what the table answers (== region.id) */
} geo_explain_t;

/**
 * Explain the decision for one address, for `dnsctl geo lookup`: the DB
 * fields found, the matched DB network and prefix, the CIDR that matched
 * if any, the region and its fallback chain, and the ECS scope, into
 * *@p out (caller-owned; no pointers into anything freed).
 * It first builds the table as geo_table_build() would (so it refuses
 * exactly what the server refuses, and takes the scope from it), then
 * reads this address's record with libmaxminddb and applies the same rules
 * (one implementation). @p address is an IPv4 or IPv6 address in text.
 * Slow path (the build: ~0.1 s for a 8 MB DB). @return 0, or
 * DNSD_EMALFORMED (bad address, corrupt DB), DNSD_ECONFIG (bad region
 * definition) or a negated errno (unreadable DB) with @p d set.
 */
int geo_explain(const char *mmdb_path, const geo_paths_t *paths, const geo_region_t *regions,
                size_t nregions, const char *address, geo_explain_t *out, diag_t *d);

/**
 * Continent code ("AF" "AN" "AS" "EU" "NA" "OC" "SA") of an ISO 3166-1
 * alpha-2 country code ("DE" -> "EU"; case-insensitive), as GeoNames and
 * MaxMind assign them; also the RIR pseudo-codes "EU" -> "EU", "AP" -> "AS",
 * the reserved "XK" (Kosovo) -> "EU" and the withdrawn "AN" (Netherlands
 * Antilles) -> "NA". NULL for anything else. Static storage; any thread.
 */
const char *geo_country_continent(const char *cc);

/** One region's part of a country's IPv4 addresses. */
typedef struct geo_share {
    uint16_t region;
    uint64_t addrs;
} geo_share_t;

/** A country as the regions split it (geo_country_shares()). */
typedef struct geo_country_share {
    char cc[3];            /* ISO 3166-1 alpha-2 as the DB spells it, upper case: "DE" */
    uint64_t addrs;        /* IPv4 addresses the DB places in the country */
    geo_share_t *shares;   /* nshares entries, most addresses first (ties: lower id) */
    size_t nshares;
} geo_country_share_t;

typedef struct geo_shares {
    geo_country_share_t *c; /* n entries, in code order; countries with no address left out */
    size_t n;
} geo_shares_t;

/**
 * Which regions each country's IPv4 addresses fall in, for `dnsctl geo
 * map`: the DB's IPv4 networks grouped by their record's country, each
 * address counted for the region the compiled table answers for it (the
 * same walk, rules and CIDR overlay as geo_table_build(), so a country
 * split by a CIDR region or by subdivision regions shows the split).
 * Addresses whose record has no two-letter country are left out. IPv4
 * only: the address counts of IPv6 networks say little about users.
 * @p mmdb_path is required. @return 0 and *@p out (geo_shares_fini), or
 * what geo_table_build() refuses (DNSD_ECONFIG bad region definitions,
 * DNSD_EMALFORMED corrupt DB, a negated errno unreadable DB) with @p d set.
 * Slow path (about two table builds); allocates (aborts on OOM).
 */
int geo_country_shares(const char *mmdb_path, const geo_paths_t *paths,
                       const geo_region_t *regions, size_t nregions, geo_shares_t *out, diag_t *d);

/** Free what geo_country_shares() gave; zeroes @p s. NULL is fine. */
void geo_shares_fini(geo_shares_t *s);

/*
 * Internal: how geo_build.c hands its compiled partition to geo_table.c.
 * Not for other callers (it would live in a geo_int.h).
 *
 * A partition is a sorted array of range starts, the first 0, each range
 * running to the next start - 1 (the last to the top of the family's
 * space), with a region id each; neighbours never share a region.
 * GEO_REGION_ALIAS in the IPv6 partition marks a DB alias of the IPv4 tree
 * (listed in alias[]): such an address is looked up as the 32 bits that
 * follow the alias prefix.
 */
typedef unsigned __int128 geo_u128_t;
#define GEO_REGION_ALIAS 0xFFFFu
#define GEO_ALIAS_MAX    8

typedef struct geo_parts {
    uint32_t *v4_start;   /* n4 entries */
    uint16_t *v4_region;
    size_t n4;
    geo_u128_t *v6_start; /* n6 entries */
    uint16_t *v6_region;
    size_t n6;
    struct {
        geo_u128_t prefix; /* network, host bits zero */
        uint8_t len;       /* <= 96 */
    } alias[GEO_ALIAS_MAX];
    size_t nalias;
} geo_parts_t;

/**
 * Make the lookup structure from @p p (1 <= n4, n6 < 2^31). Takes the arrays: on
 * return (success or not) @p p's pointers are NULL and freed or owned by
 * the table. Slow path; aborts on OOM (xmalloc).
 */
geo_table_t *geo_table_assemble(geo_parts_t *p);

#endif
