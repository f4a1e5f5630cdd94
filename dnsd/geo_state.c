/* SPDX-License-Identifier: MIT */
/* geo_state.c -- build a geo snapshot (see geo_state.h). Slow path. */
#include "dnsd/geo_state.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

geo_state_t *geo_state_build(zs_store_t *s, const char *mmdb, diag_t *d)
{
    MDB_txn *txn = NULL;
    zs_region_t *rs = NULL;
    size_t n = 0;
    geo_state_t *g = xcalloc(1, sizeof(*g));
    geo_region_t *gr = NULL;
    const char **strs = NULL;
    geo_cidr_t *cidrs = NULL;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        diag_set(d, s->path, 0, "cannot read the store: %s", mdb_strerror(rc));
        goto fail;
    }
    int err = zs_regions_generation(s, txn, &g->regions_gen);
    if (!err) {
        err = zs_regions_load(s, txn, &rs, &n);
    }
    mdb_txn_abort(txn);
    if (err) {
        diag_set(d, s->path, 0, "cannot read regions: %s", dnsd_strerror(err));
        goto fail;
    }
    g->nregions = n;
    if (n == 0) {
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
    /* the table: borrow the strings of rs */
    size_t nstr = 0, ncidr = 0;
    for (size_t i = 0; i < n; i++) {
        nstr += (size_t)(rs[i].ncont + rs[i].ncountry + rs[i].nsubdiv);
        ncidr += (size_t)rs[i].ncidr;
    }
    gr = xcalloc(n, sizeof(*gr));
    strs = xcalloc(nstr + 1, sizeof(*strs));
    cidrs = xcalloc(ncidr + 1, sizeof(*cidrs));
    size_t si = 0, ci = 0;
    for (size_t i = 0; i < n; i++) {
        zs_region_t *r = &rs[i];
        gr[i].id = r->id;
        gr[i].name = r->name;
        gr[i].parent = r->parent;
        gr[i].has_coords = r->has_coords;
        gr[i].lat = r->lat;
        gr[i].lon = r->lon;
        gr[i].continents = strs + si;
        for (int j = 0; j < r->ncont; j++) {
            strs[si++] = r->cont[j];
        }
        gr[i].ncontinents = (size_t)r->ncont;
        gr[i].countries = strs + si;
        for (int j = 0; j < r->ncountry; j++) {
            strs[si++] = r->country[j];
        }
        gr[i].ncountries = (size_t)r->ncountry;
        gr[i].subdivisions = strs + si;
        for (int j = 0; j < r->nsubdiv; j++) {
            strs[si++] = r->subdiv[j];
        }
        gr[i].nsubdivisions = (size_t)r->nsubdiv;
        gr[i].cidrs = cidrs + ci;
        for (int j = 0; j < r->ncidr; j++) {
            cidrs[ci].family = r->cidr[j].family == 4 ? AF_INET : AF_INET6;
            memcpy(cidrs[ci].addr, r->cidr[j].addr, 16);
            cidrs[ci].len = r->cidr[j].len;
            ci++;
        }
        gr[i].ncidrs = (size_t)r->ncidr;
    }
    g->table = geo_table_build(mmdb && mmdb[0] ? mmdb : NULL, NULL, gr, n, d);
    if (!g->table) {
        goto fail;
    }
    free(gr);
    free(strs);
    free(cidrs);
    free(rs);
    return g;
fail:
    free(gr);
    free(strs);
    free(cidrs);
    free(rs);
    geo_state_free(g);
    return NULL;
}
