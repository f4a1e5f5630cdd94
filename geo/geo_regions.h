/* SPDX-License-Identifier: MIT */
/*
 * geo_regions.h -- the store's region definitions (zs_region_t, regions.h)
 * as the geo builder takes them (geo_region_t, geo.h). One conversion for
 * dnsd's snapshot (geo_state.c) and `dnsctl geo lookup`, so both compile the
 * same table from the same store. Slow path; never on a worker's packet path.
 */
#ifndef DNSD_GEO_REGIONS_H
#define DNSD_GEO_REGIONS_H

#include <stddef.h>

#include "geo/geo.h"
#include "zones/regions.h"

/** The converted regions and the arrays they point into (owned). */
typedef struct geo_regions {
    geo_region_t *regions; /* n entries, in the order of the store's array */
    size_t n;
    const char **strs;     /* continent, country and subdivision codes, per region */
    geo_cidr_t *cidrs;
} geo_regions_t;

/**
 * Fill @p out from the @p n regions at @p rs (zs_regions_load()). Names and
 * codes are borrowed: @p rs must outlive @p out. Aborts on OOM (xmalloc);
 * never fails otherwise (geo_table_build() judges the definitions).
 */
void geo_regions_from_store(const zs_region_t *rs, size_t n, geo_regions_t *out);

/** Free what geo_regions_from_store() allocated (not @p rs); zeroes @p g. NULL is fine. */
void geo_regions_fini(geo_regions_t *g);

#endif
