/* SPDX-License-Identifier: MIT */
/* geo_state.c -- build a geo snapshot (see geo_state.h). Slow path. */
#include "dnsd/geo_state.h"

#include <stdlib.h>
#include <string.h>

#include "geo/geo_regions.h"
#include "zones/base/err.h"
#include "zones/base/xalloc.h"

void geo_state_free(geo_state_t *g)
{
    if (!g) {
        return;
    }
    geo_table_free(g->table);
    free(g->chains);
    free(g->chain_len);
    free(g);
}

geo_state_t *geo_state_build(zs_store_t *s, const char *mmdb, const geo_paths_t *paths,
                             diag_t *d)
{
    MDB_txn *txn = NULL;
    zs_region_t *rs = NULL;
    size_t n = 0;
    geo_state_t *g = xcalloc(1, sizeof(*g));
    geo_regions_t gr = {0};
    int err = zs_read_begin(s, &txn);
    if (err) {
        diag_set(d, s->path, 0, "cannot read the store: %s", dnsd_strerror(err));
        goto fail;
    }
    err = zs_regions_generation(s, txn, &g->regions_gen);
    if (!err) {
        err = zs_regions_load(s, txn, &rs, &n);
    }
    zs_read_end(s, txn);
    if (err) {
        diag_set(d, s->path, 0, "cannot read regions: %s", dnsd_strerror(err));
        goto fail;
    }
    g->nregions = n;
    if (n == 0) {
        free(rs);
        return g; /* no regions: no table, every client is "default" */
    }
    /* chains, indexed by id */
    uint32_t maxid = 0;
    for (size_t i = 0; i < n; i++) {
        maxid = rs[i].id > maxid ? rs[i].id : maxid;
    }
    g->nids = maxid + 1;
    g->chains = xcalloc(g->nids, sizeof(*g->chains));
    g->chain_len = xcalloc(g->nids, 1);
    for (size_t i = 0; i < n; i++) {
        uint16_t cur = rs[i].id;
        int len = 0;
        while (cur != 0 && len < ZS_REGION_CHAIN_MAX) {
            g->chains[rs[i].id][len++] = cur;
            size_t j;
            for (j = 0; j < n && rs[j].id != cur; j++) {
            }
            cur = j < n ? rs[j].parent : 0;
        }
        g->chains[rs[i].id][len++] = 0;
        g->chain_len[rs[i].id] = (uint8_t)len;
    }
    /* the table: the regions as the builder takes them (strings borrowed from rs) */
    geo_regions_from_store(rs, n, &gr);
    g->table = geo_table_build(mmdb && mmdb[0] ? mmdb : NULL, paths, gr.regions, gr.n, d);
    if (!g->table) {
        goto fail;
    }
    geo_regions_fini(&gr);
    free(rs);
    return g;
fail:
    geo_regions_fini(&gr);
    free(rs);
    geo_state_free(g);
    return NULL;
}
