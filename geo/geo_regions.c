/* SPDX-License-Identifier: MIT */
/*
 * geo_regions.c -- zs_region_t (the store's) -> geo_region_t (the geo
 * builder's); see geo_regions.h. Called by geo_state.c and dnsctl. Slow
 * path; it only copies pointers and CIDRs, it never judges a definition.
 */
#include "geo/geo_regions.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "zones/base/xalloc.h"

void geo_regions_from_store(const zs_region_t *rs, size_t n, geo_regions_t *out)
{
    size_t nstr = 0, ncidr = 0;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        nstr += (size_t)(rs[i].ncont + rs[i].ncountry + rs[i].nsubdiv);
        ncidr += (size_t)rs[i].ncidr;
    }
    out->regions = xcalloc(n + 1, sizeof(*out->regions));
    out->strs = xcalloc(nstr + 1, sizeof(*out->strs));
    out->cidrs = xcalloc(ncidr + 1, sizeof(*out->cidrs));
    out->n = n;
    size_t si = 0, ci = 0;
    for (size_t i = 0; i < n; i++) {
        const zs_region_t *r = &rs[i];
        geo_region_t *g = &out->regions[i];
        g->id = r->id;
        g->name = r->name;
        g->parent = r->parent;
        g->has_coords = r->has_coords;
        g->lat = r->lat;
        g->lon = r->lon;
        g->continents = out->strs + si;
        for (int j = 0; j < r->ncont; j++) {
            out->strs[si++] = r->cont[j];
        }
        g->ncontinents = (size_t)r->ncont;
        g->countries = out->strs + si;
        for (int j = 0; j < r->ncountry; j++) {
            out->strs[si++] = r->country[j];
        }
        g->ncountries = (size_t)r->ncountry;
        g->subdivisions = out->strs + si;
        for (int j = 0; j < r->nsubdiv; j++) {
            out->strs[si++] = r->subdiv[j];
        }
        g->nsubdivisions = (size_t)r->nsubdiv;
        g->cidrs = out->cidrs + ci;
        for (int j = 0; j < r->ncidr; j++) {
            out->cidrs[ci].family = r->cidr[j].family == 4 ? AF_INET : AF_INET6;
            memcpy(out->cidrs[ci].addr, r->cidr[j].addr, 16);
            out->cidrs[ci].len = r->cidr[j].len;
            ci++;
        }
        g->ncidrs = (size_t)r->ncidr;
    }
}

void geo_regions_fini(geo_regions_t *g)
{
    if (!g) {
        return;
    }
    free(g->regions);
    free(g->strs);
    free(g->cidrs);
    memset(g, 0, sizeof(*g));
}
