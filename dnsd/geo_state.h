/* SPDX-License-Identifier: MIT */
/*
 * geo_state.h -- what the workers need to pick a client's region: the
 * compiled geo table and every region's fallback chain, as one immutable
 * snapshot. The orchestration (main) thread builds a new snapshot when the
 * MMDB file or the store's regions change and publishes it (snap.h,
 * server_t.geo); workers take it once per batch, and the old snapshot is
 * freed only when no worker still holds it. No lock, and nothing on the
 * query path allocates.
 */
#ifndef DNSD_GEO_STATE_H
#define DNSD_GEO_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "geo/geo.h"
#include "zones/base/diag.h"
#include "zones/regions.h"
#include "zones/store.h"

typedef struct geo_state {
    geo_table_t *table;   /* NULL when no region is defined: everything is default */
    uint64_t regions_gen; /* store's regions generation this was built from */
    uint32_t nids;        /* chains[] is indexed by region id < nids */
    uint16_t (*chains)[ZS_REGION_CHAIN_MAX + 1];
    uint8_t *chain_len;
    size_t nregions;
} geo_state_t;

/**
 * Build a snapshot from the store's regions and the MMDB at @p mmdb (NULL
 * or "" for none; @p paths NULL: auto-detected fields). @return NULL with @p d set on error (the caller keeps
 * serving the previous snapshot). Slow path.
 */
geo_state_t *geo_state_build(zs_store_t *s, const char *mmdb, const geo_paths_t *paths,
                             diag_t *d);
void geo_state_free(geo_state_t *g);

/** A region's chain (most specific first, ending with default). Hot. */
static inline int geo_state_chain(const geo_state_t *g, uint16_t region, const uint16_t **ids)
{
    static const uint16_t dflt[1] = {0};
    if (!g || region >= g->nids || g->chain_len[region] == 0) {
        *ids = dflt;
        return 1;
    }
    *ids = g->chains[region];
    return g->chain_len[region];
}

#endif
