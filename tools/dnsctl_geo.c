/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_geo.c -- `dnsctl geo lookup ADDRESS [--db FILE] [--paths ...]
 * [--json]`: which region dnsd would pick for a client address, and why.
 *
 * It reads the store's regions, asks geo_explain() (geo/libgeo.a: the same
 * build and rules the server runs) for the decision as data, and formats it:
 * aligned text, or one JSON object built with jansson. Called from
 * dnsctl.c's command table; read-only (never writes the store).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geo/geo.h"
#include "geo/geo_regions.h"
#include "tools/dnsctl.h"

static void explain_text(const geo_explain_t *x, const char *path)
{
    printf("address      %s\n", x->address);
    if (x->via[0]) {
        printf("looked up as %s (%s)\n", x->lookup, x->via);
    }
    if (x->have_db) {
        printf("database     %s (%s, IPv%u, schema %s)\n", path, x->db_type[0] ? x->db_type : "?",
               x->db_ip_version, x->db_schema);
        if (x->found) {
            printf("network      %s\n", x->network);
            printf("continent    %s\n", x->continent[0] ? x->continent : "-");
            printf("country      %s\n", x->country[0] ? x->country : "-");
            printf("subdivisions");
            for (int i = 0; i < x->nsub; i++) {
                printf(" %s", x->sub[i]);
            }
            printf("%s\n", x->nsub ? "" : " -");
            if (x->has_location) {
                printf("location     %.4f %.4f\n", x->lat, x->lon);
            } else {
                printf("location     -\n");
            }
        } else {
            printf("network      not in the database\n");
        }
    } else {
        printf("database     none\n");
    }
    if (x->has_cidr) {
        /* the CIDR's region is on the chain of the decision unless a longer DB match won */
        const char *name = NULL;
        for (int i = 0; i < x->nchain && !name; i++) {
            name = x->chain[i].id == x->cidr_region ? x->chain[i].name : NULL;
        }
        if (name) {
            printf("cidr         %s (region %s)\n", x->cidr, name);
        } else {
            printf("cidr         %s (region %u)\n", x->cidr, x->cidr_region);
        }
    } else {
        printf("cidr         none\n");
    }
    printf("region       %s (%u) by %s%s%s\n", x->region.name, x->region.id, x->matched_by,
           x->match[0] ? " " : "", x->match);
    printf("chain        ");
    for (int i = 0; i < x->nchain; i++) {
        printf("%s%s", i ? " -> " : "", x->chain[i].name);
    }
    printf("%s\n", x->chain_truncated ? " -> ..." : "");
    printf("scope        /%u\n", x->scope);
    if (x->table_region != x->region.id) {
        printf("warning      the compiled table answers region %u\n", x->table_region);
    }
}

/* "" is JSON null */
static json_t *str_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

/* a coordinate as the text output gives it: 6 decimals */
static json_t *coord(double v)
{
    return json_real(round(v * 1e6) / 1e6);
}

static json_t *explain_json(const geo_explain_t *x, const char *path)
{
    json_t *o = json_object();
    json_object_set_new(o, "address", json_string(x->address));
    json_object_set_new(o, "lookup", json_string(x->lookup));
    json_object_set_new(o, "lookup_via", str_or_null(x->via));
    if (x->have_db) {
        json_t *db = json_object();
        json_object_set_new(db, "path", json_string(path));
        json_object_set_new(db, "type", json_string(x->db_type));
        json_object_set_new(db, "ip_version", json_integer(x->db_ip_version));
        json_object_set_new(db, "schema", json_string(x->db_schema));
        json_object_set_new(db, "found", json_boolean(x->found));
        if (x->found) {
            json_object_set_new(db, "network", json_string(x->network));
            json_object_set_new(db, "continent", str_or_null(x->continent));
            json_object_set_new(db, "country", str_or_null(x->country));
            json_t *subs = json_array();
            for (int i = 0; i < x->nsub; i++) {
                json_array_append_new(subs, json_string(x->sub[i]));
            }
            json_object_set_new(db, "subdivisions", subs);
            json_object_set_new(db, "latitude", x->has_location ? coord(x->lat) : json_null());
            json_object_set_new(db, "longitude", x->has_location ? coord(x->lon) : json_null());
        }
        json_object_set_new(o, "database", db);
    } else {
        json_object_set_new(o, "database", json_null());
    }
    if (x->has_cidr) {
        json_object_set_new(o, "cidr", json_pack("{s:s, s:i}", "network", x->cidr, "region",
                                                 (int)x->cidr_region));
    } else {
        json_object_set_new(o, "cidr", json_null());
    }
    json_object_set_new(o, "region",
                        json_pack("{s:i, s:s}", "id", (int)x->region.id, "name", x->region.name));
    json_object_set_new(o, "matched_by", json_string(x->matched_by));
    json_object_set_new(o, "match", json_string(x->match));
    json_t *chain = json_array();
    for (int i = 0; i < x->nchain; i++) {
        json_array_append_new(chain, json_pack("{s:i, s:s}", "id", (int)x->chain[i].id, "name",
                                               x->chain[i].name));
    }
    json_object_set_new(o, "chain", chain);
    json_object_set_new(o, "scope", json_integer(x->scope));
    if (x->table_region != x->region.id) {
        json_object_set_new(o, "table_region", json_integer(x->table_region));
    }
    return o;
}

int ctl_geo_paths(const ctl_t *c, geo_paths_buf_t *pb, const geo_paths_t **paths)
{
    *paths = NULL;
    if (!c->paths) {
        return CTL_OK;
    }
    char perr[256];
    if (geo_paths_parse(c->paths, pb, perr, sizeof(perr)) != 0) {
        return ctl_err("--paths \"%s\": %s", c->paths, perr);
    }
    *paths = &pb->paths;
    return CTL_OK;
}

static int geo_lookup_cmd(ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    ctl_regions_t all = {0};
    geo_regions_t gr = {0};
    geo_explain_t *x = NULL;
    diag_t d = {0};
    int rc;

    if ((rc = ctl_check_args(c, "geo lookup", CTL_OPT_JSON | CTL_OPT_DB | CTL_OPT_PATHS, 1, 1))) {
        return rc;
    }
    geo_paths_buf_t pb;
    const geo_paths_t *paths = NULL;
    if ((rc = ctl_geo_paths(c, &pb, &paths)) != CTL_OK) {
        return rc;
    }
    rc = CTL_FAIL;
    const char *db = c->db;
    if (!(c->opt_seen & CTL_OPT_DB)) {
        db = getenv("DNSD_GEO_DB");
    }
    if (db && !*db) {
        db = NULL; /* --db "" or DNSD_GEO_DB="": no database */
    }
    if (ctl_read_begin(c, &s, &txn) != CTL_OK || ctl_regions_load(s, txn, &all) != CTL_OK) {
        goto out;
    }
    mdb_txn_abort(txn);
    txn = NULL;
    geo_regions_from_store(all.rs, all.n, &gr);
    x = calloc(1, sizeof(*x));
    if (!x) {
        ctl_err("out of memory");
        goto out;
    }
    if (geo_explain(db, paths, gr.regions, gr.n, c->argv[0], x, &d) != 0) {
        ctl_diag(NULL, &d);
        goto out;
    }
    if (c->json) {
        json_t *o = explain_json(x, db);
        /* 10 significant digits: the 6 decimals of a coordinate, not 17 digits of binary noise */
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
        json_decref(o);
        if (!text) {
            ctl_err("cannot build the JSON output");
            goto out;
        }
        printf("%s\n", text);
        free(text);
    } else {
        explain_text(x, db);
    }
    rc = CTL_OK;
out:
    if (txn) {
        mdb_txn_abort(txn);
    }
    free(x);
    geo_regions_fini(&gr);
    ctl_regions_fini(&all);
    zs_close(s);
    return rc;
}

int ctl_geo(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "lookup") == 0) {
        return geo_lookup_cmd(c);
    }
    if (strcmp(verb, "map") == 0) {
        return ctl_geo_map(c);
    }
    return ctl_usage("unknown command \"geo %s\" (lookup, map)", verb);
}
