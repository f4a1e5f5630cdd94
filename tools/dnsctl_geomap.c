/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_geomap.c -- `dnsctl geo map [--db FILE] [--out FILE] [--region
 * R,...] [--paths ...]`: an SVG world map with every country coloured by the
 * region its clients get, so an operator looks at the split instead of
 * reading CIDR lists.
 *
 * Called from dnsctl_geo.c (`geo map`). Read-only: it reads the store's
 * regions, asks geo_country_shares() (geo/libgeo.a: the same walk and rules
 * as the server's table) how each country's IPv4 addresses split between
 * regions, and draws the country shapes compiled into dnsctl
 * (tools/data/countries-110m.json, TopoJSON from world-atlas / Natural
 * Earth, embedded at build time as ctl_map_shapes). It never writes the
 * store and never needs a network or a data file at run time.
 *
 * DESIGN. A country's colour is the region that gets most of its IPv4
 * addresses. When another region gets at least MIX_MIN_PERMILLE of them
 * (a CIDR region inside it, subdivision regions, nearest-coordinate
 * regions), the country is hatched in the two largest regions' colours;
 * its tooltip (<title>) lists every region's share. Countries whose
 * addresses all stay in the default region are grey, countries the DB has
 * no IPv4 address for are light grey. TopoJSON (RFC-less, see
 * github.com/topojson/topojson-specification): arcs are quantized,
 * delta-encoded point lists shared between neighbours; a ring is a list of
 * arc indexes, ~i meaning arc i reversed, and consecutive arcs share their
 * joining point. The projection is equirectangular (x from longitude, y
 * from latitude), 1000 x 500 units.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo/geo.h"
#include "geo/geo_regions.h"
#include "tools/dnsctl.h"
#include "zones/base/xalloc.h"

#define MAP_W 1000.0
#define MAP_H 500.0
#define LEGEND_ROW 20
#define MIX_MIN_PERMILLE 10 /* a second region with >= 1% of a country's addresses: hatched */
#define ARCS_MAX 100000
#define POINTS_MAX 10000000

#define GREY_DEFAULT "#bdbdbd"
#define GREY_NODATA "#ececec"

/* distinct on white and for most colour-blind readers (Tableau 10, then 6 more) */
static const char *const palette[] = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#17becf", "#bcbd22", "#8c564b", "#1f3b73", "#a0cbe8", "#ffbe7d", "#86bcb6",
};
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))

/* ---- shapes ---- */

typedef struct pt {
    double x, y;
} pt_t;

typedef struct arcs {
    pt_t **p;  /* projected points of each arc */
    size_t *n; /* their counts */
    size_t count;
} arcs_t;

static void arcs_fini(arcs_t *a)
{
    for (size_t i = 0; i < a->count; i++) {
        free(a->p[i]);
    }
    free(a->p);
    free(a->n);
    memset(a, 0, sizeof(*a));
}

/* The two numbers of a JSON array [a, b, ...]; false if it is not one. */
static bool num2(json_t *v, double *a, double *b)
{
    if (!json_is_array(v) || json_array_size(v) < 2 || !json_is_number(json_array_get(v, 0)) ||
        !json_is_number(json_array_get(v, 1))) {
        return false;
    }
    *a = json_number_value(json_array_get(v, 0));
    *b = json_number_value(json_array_get(v, 1));
    return true;
}

/* Decode and project every arc of @p topo. CTL_OK, or CTL_FAIL printed. */
static int arcs_load(json_t *topo, arcs_t *a)
{
    double sx = 1, sy = 1, tx = 0, ty = 0;
    bool quantized = false;
    json_t *tf = json_object_get(topo, "transform");
    if (tf) {
        if (!num2(json_object_get(tf, "scale"), &sx, &sy) ||
            !num2(json_object_get(tf, "translate"), &tx, &ty)) {
            return ctl_err("map shapes: bad \"transform\"");
        }
        quantized = true;
    }
    json_t *arcs = json_object_get(topo, "arcs");
    if (!json_is_array(arcs) || json_array_size(arcs) > ARCS_MAX) {
        return ctl_err("map shapes: no \"arcs\" array (or more than %d arcs)", ARCS_MAX);
    }
    size_t total = 0;
    a->count = json_array_size(arcs);
    a->p = xcalloc(a->count ? a->count : 1, sizeof(*a->p));
    a->n = xcalloc(a->count ? a->count : 1, sizeof(*a->n));
    for (size_t i = 0; i < a->count; i++) {
        json_t *arc = json_array_get(arcs, i);
        size_t n = json_array_size(arc);
        if (!json_is_array(arc) || n == 0 || (total += n) > POINTS_MAX) {
            return ctl_err("map shapes: arc %zu is not a list of points (or too many points)", i);
        }
        a->p[i] = xmalloc(n * sizeof(pt_t));
        a->n[i] = n;
        double qx = 0, qy = 0;
        for (size_t j = 0; j < n; j++) {
            double x, y;
            if (!num2(json_array_get(arc, j), &x, &y)) {
                return ctl_err("map shapes: arc %zu, point %zu is not [x, y]", i, j);
            }
            double lon = x, lat = y;
            if (quantized) {
                qx += x; /* delta-encoded: each position is relative to the previous one */
                qy += y;
                lon = qx * sx + tx;
                lat = qy * sy + ty;
            }
            a->p[i][j].x = (lon + 180.0) * MAP_W / 360.0;
            a->p[i][j].y = (90.0 - lat) * MAP_H / 180.0;
        }
    }
    return CTL_OK;
}

/* A growing string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf_t;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
}

/* Append the points @p p (@p n) shifted by @p dx as one closed subpath "M...Z". */
static void ring_emit(const pt_t *p, size_t n, double dx, sbuf_t *b)
{
    double lx = 0, ly = 0;
    for (size_t i = 0; i < n; i++) {
        double x = round((p[i].x + dx) * 10) / 10, y = round(p[i].y * 10) / 10;
        if (i && x == lx && y == ly) {
            continue;
        }
        sb_printf(b, "%s%.1f %.1f", i ? "L" : "M", x, y);
        lx = x;
        ly = y;
    }
    if (n) {
        sb_printf(b, "Z");
    }
}

/*
 * Append one ring (a JSON list of arc indexes) to @p b. A ring that crosses
 * the antimeridian (Fiji, Russia's Chukotka, the Aleutians) jumps by more
 * than half the map between two points; its longitudes are unwrapped into
 * one continuous ring that runs over the map's edge, drawn twice (also
 * shifted by the map's width) and clipped to the map. A ring around a pole
 * (Antarctica) does not close when unwrapped and is drawn as it is.
 */
static int ring_path(const arcs_t *a, json_t *ring, sbuf_t *b)
{
    if (!json_is_array(ring)) {
        return ctl_err("map shapes: a ring is not a list of arcs");
    }
    size_t n = 0, cap = 0;
    pt_t *pts = NULL;
    for (size_t k = 0; k < json_array_size(ring); k++) {
        json_t *v = json_array_get(ring, k);
        if (!json_is_integer(v)) {
            free(pts);
            return ctl_err("map shapes: an arc index is not an integer");
        }
        json_int_t idx = json_integer_value(v);
        bool rev = idx < 0;
        size_t i = (size_t)(rev ? ~idx : idx);
        if (i >= a->count) {
            free(pts);
            return ctl_err("map shapes: arc %lld does not exist", (long long)idx);
        }
        size_t an = a->n[i];
        if (n + an > cap) {
            cap = (n + an) * 2;
            pts = xrealloc(pts, cap * sizeof(*pts));
        }
        /* each arc after the first starts where the previous one ended: skip that point */
        for (size_t j = k ? 1 : 0; j < an; j++) {
            pts[n++] = a->p[i][rev ? an - 1 - j : j];
        }
    }
    /* unwrap into a copy: a polar ring is drawn from the raw points */
    pt_t *un = xmalloc((n ? n : 1) * sizeof(*un));
    double off = 0, lo = 0, hi = MAP_W;
    for (size_t i = 0; i < n; i++) {
        un[i] = pts[i];
        if (i) {
            double d = pts[i].x - pts[i - 1].x;
            off += d > MAP_W / 2 ? -MAP_W : d < -MAP_W / 2 ? MAP_W : 0;
            un[i].x += off;
        }
        lo = un[i].x < lo ? un[i].x : lo;
        hi = un[i].x > hi ? un[i].x : hi;
    }
    if (off != 0) {
        ring_emit(pts, n, 0, b);
        free(un);
        free(pts);
        return CTL_OK;
    }
    free(pts);
    pts = un;
    ring_emit(pts, n, 0, b);
    if (lo < 0) {
        ring_emit(pts, n, MAP_W, b);
    } else if (hi > MAP_W) {
        ring_emit(pts, n, -MAP_W, b);
    }
    free(pts);
    return CTL_OK;
}

/* Append a Polygon's or MultiPolygon's rings. */
static int geometry_path(const arcs_t *a, json_t *g, sbuf_t *b)
{
    const char *type = json_string_value(json_object_get(g, "type"));
    json_t *arcs = json_object_get(g, "arcs");
    if (!type || !json_is_array(arcs)) {
        return type && strcmp(type, "null") == 0 ? CTL_OK : ctl_err("map shapes: bad geometry");
    }
    bool multi = strcmp(type, "MultiPolygon") == 0;
    if (!multi && strcmp(type, "Polygon") != 0) {
        return ctl_err("map shapes: geometry type \"%s\" is not a polygon", type);
    }
    for (size_t i = 0; i < json_array_size(arcs); i++) {
        json_t *poly = multi ? json_array_get(arcs, i) : arcs;
        size_t nrings = multi ? json_array_size(poly) : 1;
        if (multi && !json_is_array(poly)) {
            return ctl_err("map shapes: a polygon is not a list of rings");
        }
        for (size_t r = 0; r < nrings; r++) {
            json_t *ring = json_array_get(poly, multi ? r : i);
            if (ring_path(a, ring, b) != CTL_OK) {
                return CTL_FAIL;
            }
        }
    }
    return CTL_OK;
}

/* ---- what to draw ---- */

/* One country shape: all the polygons with one code (Cyprus has two). */
typedef struct country {
    char cc[3];
    char name[64];
    sbuf_t path;
} country_t;

/* A region of the legend. */
typedef struct legend_ent {
    uint16_t id;
    const char *name;
    const char *colour;
    unsigned countries; /* countries where it has the most addresses */
    unsigned mixed;     /* ... of which hatched */
} legend_ent_t;

typedef struct mapctx {
    const ctl_regions_t *all;
    legend_ent_t *leg; /* the regions drawn (coloured), in id order */
    size_t nleg;
    const char **show; /* --region: only these get colours (NULL: all) */
    size_t nshow;
    unsigned n_default, n_default_mixed, n_nodata, n_mixed;
} mapctx_t;

static const legend_ent_t *leg_find(const mapctx_t *m, uint16_t id)
{
    for (size_t i = 0; i < m->nleg; i++) {
        if (m->leg[i].id == id) {
            return &m->leg[i];
        }
    }
    return NULL;
}

/* Text for XML character data and attribute values. */
static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n') {
                fputc(*s, f);
            }
        }
    }
}

static const geo_country_share_t *share_find(const geo_shares_t *sh, const char *cc)
{
    size_t lo = 0, hi = sh->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(sh->c[mid].cc, cc);
        if (c == 0) {
            return &sh->c[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* The region of the share as drawn: 0 (grey) unless it is a coloured region. */
static uint16_t drawn(const mapctx_t *m, uint16_t id)
{
    return leg_find(m, id) ? id : GEO_REGION_DEFAULT;
}

/*
 * How a country is drawn: *@p top the drawn region with the most addresses,
 * *@p second the next one when it has at least MIX_MIN_PERMILLE (else
 * UINT32_MAX). Shares of regions not drawn count as the default's.
 */
static void country_regions(const mapctx_t *m, const geo_country_share_t *cs, uint32_t *top,
                            uint32_t *second)
{
    /* fold the undrawn regions into 0; at most nshares distinct ids remain */
    geo_share_t *f = xcalloc(cs->nshares + 1, sizeof(*f));
    size_t nf = 0;
    for (size_t i = 0; i < cs->nshares; i++) {
        uint16_t id = drawn(m, cs->shares[i].region);
        size_t j = 0;
        while (j < nf && f[j].region != id) {
            j++;
        }
        if (j == nf) {
            f[nf].region = id;
            f[nf++].addrs = 0;
        }
        f[j].addrs += cs->shares[i].addrs;
    }
    size_t a = 0, b = SIZE_MAX;
    for (size_t j = 1; j < nf; j++) {
        if (f[j].addrs > f[a].addrs || (f[j].addrs == f[a].addrs && f[j].region < f[a].region)) {
            a = j;
        }
    }
    for (size_t j = 0; j < nf; j++) {
        if (j != a && (b == SIZE_MAX || f[j].addrs > f[b].addrs ||
                       (f[j].addrs == f[b].addrs && f[j].region < f[b].region))) {
            b = j;
        }
    }
    *top = nf ? f[a].region : GEO_REGION_DEFAULT;
    *second = UINT32_MAX;
    if (b != SIZE_MAX && (double)f[b].addrs * 1000.0 >= (double)cs->addrs * MIX_MIN_PERMILLE) {
        *second = f[b].region;
    }
    free(f);
}

static const char *colour_of(const mapctx_t *m, uint32_t id)
{
    const legend_ent_t *e = id == GEO_REGION_DEFAULT ? NULL : leg_find(m, (uint16_t)id);
    return e ? e->colour : GREY_DEFAULT;
}

static void print_title(FILE *f, const mapctx_t *m, const country_t *c,
                        const geo_country_share_t *cs)
{
    char nb[80];
    fputs("<title>", f);
    xml_text(f, c->cc);
    fputs(" ", f);
    xml_text(f, c->name);
    if (!cs) {
        fputs(": no IPv4 address in the database", f);
    }
    for (size_t i = 0; cs && i < cs->nshares; i++) {
        fputs(i ? ", " : ": ", f);
        xml_text(f, ctl_regions_name(m->all, cs->shares[i].region, nb, sizeof(nb)));
        fprintf(f, " %.1f%%", 100.0 * (double)cs->shares[i].addrs / (double)cs->addrs);
    }
    fputs("</title>", f);
}

static void svg_write(FILE *f, mapctx_t *m, const country_t *cs, size_t ncs, const geo_shares_t *sh,
                      const char *db)
{
    size_t rows = m->nleg + 3;
    double h = MAP_H + 30 + (double)rows * LEGEND_ROW;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" "
            "font-size=\"13\">\n",
            MAP_W, h, MAP_W, h);
    fputs("<title>dnsd regions by country (", f);
    xml_text(f, db);
    fputs(")</title>\n<desc>Each country is coloured by the region that gets most of its IPv4 "
          "addresses; hatched: a second region gets at least 1%. Shapes: Natural Earth via "
          "world-atlas.</desc>\n",
          f);

    /* hatch patterns: one per (top, second) pair used */
    fputs("<defs>\n", f);
    uint32_t *pairs = xcalloc(ncs ? ncs : 1, 2 * sizeof(uint32_t));
    size_t npairs = 0;
    for (size_t i = 0; i < ncs; i++) {
        const geo_country_share_t *s = share_find(sh, cs[i].cc);
        uint32_t t, u;
        if (!s) {
            continue;
        }
        country_regions(m, s, &t, &u);
        if (u == UINT32_MAX) {
            continue;
        }
        size_t j = 0;
        while (j < npairs && !(pairs[2 * j] == t && pairs[2 * j + 1] == u)) {
            j++;
        }
        if (j < npairs) {
            continue;
        }
        pairs[2 * npairs] = t;
        pairs[2 * npairs + 1] = u;
        npairs++;
        fprintf(f,
                "<pattern id=\"mix-%u-%u\" patternUnits=\"userSpaceOnUse\" width=\"6\" "
                "height=\"6\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" "
                "fill=\"%s\"/><rect width=\"2.5\" height=\"6\" fill=\"%s\"/></pattern>\n",
                t, u, colour_of(m, t), colour_of(m, u));
    }
    free(pairs);
    fputs("</defs>\n", f);
    fprintf(f, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", MAP_W, h);
    fprintf(f, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#f4f8fb\"/>\n", MAP_W, MAP_H);

    /* rings over the antimeridian are drawn twice, once beyond an edge: keep them in */
    fprintf(f, "<clipPath id=\"map\"><rect width=\"%.0f\" height=\"%.0f\"/></clipPath>\n", MAP_W,
            MAP_H);
    fputs("<g class=\"countries\" stroke=\"#ffffff\" stroke-width=\"0.4\" "
          "fill-rule=\"evenodd\" clip-path=\"url(#map)\">\n",
          f);
    for (size_t i = 0; i < ncs; i++) {
        const country_t *c = &cs[i];
        const geo_country_share_t *s = share_find(sh, c->cc);
        char fill[64], nb[80];
        const char *region = "";
        if (!s) {
            snprintf(fill, sizeof(fill), "%s", GREY_NODATA);
        } else {
            uint32_t t, u;
            country_regions(m, s, &t, &u);
            region = t == GEO_REGION_DEFAULT
                         ? "default"
                         : ctl_regions_name(m->all, (uint16_t)t, nb, sizeof(nb));
            if (u != UINT32_MAX) {
                snprintf(fill, sizeof(fill), "url(#mix-%u-%u)", t, u);
            } else {
                snprintf(fill, sizeof(fill), "%s", colour_of(m, t));
            }
        }
        fputs("<path id=\"", f);
        xml_text(f, c->cc);
        fprintf(f, "\" fill=\"%s\" data-region=\"", fill);
        xml_text(f, s ? region : "");
        fputs("\" d=\"", f);
        fputs(c->path.s ? c->path.s : "", f);
        fputs("\">", f);
        print_title(f, m, c, s);
        fputs("</path>\n", f);
    }
    fputs("</g>\n", f);

    /* legend */
    fputs("<g class=\"legend\">\n", f);
    double y = MAP_H + 20;
    for (size_t i = 0; i < m->nleg + 3; i++, y += LEGEND_ROW) {
        char label[160];
        const char *colour, *name;
        if (i < m->nleg) {
            const legend_ent_t *e = &m->leg[i];
            colour = e->colour;
            name = e->name;
            snprintf(label, sizeof(label), ": %u %s%s", e->countries,
                     e->countries == 1 ? "country" : "countries", "");
            if (e->mixed) {
                size_t n = strlen(label);
                snprintf(label + n, sizeof(label) - n, " (%u hatched)", e->mixed);
            }
        } else if (i == m->nleg) {
            colour = GREY_DEFAULT;
            name = "default";
            snprintf(label, sizeof(label), ": %u %s (%s", m->n_default,
                     m->n_default == 1 ? "country" : "countries",
                     m->nshow ? "in no region shown" : "in no region");
            size_t n = strlen(label);
            if (m->n_default_mixed) {
                snprintf(label + n, sizeof(label) - n, "; %u hatched)", m->n_default_mixed);
            } else {
                snprintf(label + n, sizeof(label) - n, ")");
            }
        } else if (i == m->nleg + 1) {
            colour = GREY_NODATA;
            name = "no data";
            snprintf(label, sizeof(label), ": %u %s without IPv4 addresses in the database",
                     m->n_nodata, m->n_nodata == 1 ? "country" : "countries");
        } else {
            colour = NULL;
            name = "hatched";
            snprintf(label, sizeof(label),
                     ": %u %s where a second region gets at least 1%% "
                     "of the addresses",
                     m->n_mixed, m->n_mixed == 1 ? "country" : "countries");
        }
        fputs("<g data-legend=\"", f);
        xml_text(f, name);
        fputs("\">", f);
        if (colour) {
            fprintf(f,
                    "<rect x=\"20\" y=\"%.0f\" width=\"24\" height=\"14\" fill=\"%s\" "
                    "stroke=\"#888888\" stroke-width=\"0.5\"/>",
                    y, colour);
        } else {
            fprintf(f,
                    "<rect x=\"20\" y=\"%.0f\" width=\"24\" height=\"14\" fill=\"url(#hatch)\" "
                    "stroke=\"#888888\" stroke-width=\"0.5\"/>",
                    y);
        }
        fprintf(f, "<text x=\"52\" y=\"%.0f\">", y + 12);
        xml_text(f, name);
        xml_text(f, label);
        fputs("</text></g>\n", f);
    }
    fputs("</g>\n", f);
    /* the legend's hatch sample: grey on white */
    fputs("<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" "
          "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#ffffff\"/>"
          "<rect width=\"2.5\" height=\"6\" fill=\"#888888\"/></pattern></defs>\n",
          f);
    fputs("</svg>\n", f);
}

/* ---- the command ---- */

/* Parse the embedded shapes into one entry per country code. */
static int shapes_load(country_t **out, size_t *nout)
{
    json_error_t je;
    arcs_t a = {0};
    country_t *cs = NULL;
    size_t n = 0;
    int rc = CTL_FAIL;
    json_t *topo = json_loadb(ctl_map_shapes, ctl_map_shapes_len, 0, &je);
    if (!topo) {
        ctl_err("map shapes: line %d: %s", je.line, je.text);
        goto out;
    }
    if (arcs_load(topo, &a) != CTL_OK) {
        goto out;
    }
    json_t *geoms = json_object_get(json_object_get(json_object_get(topo, "objects"), "countries"),
                                    "geometries");
    if (!json_is_array(geoms)) {
        ctl_err("map shapes: no objects.countries.geometries");
        goto out;
    }
    cs = xcalloc(json_array_size(geoms) + 1, sizeof(*cs));
    for (size_t i = 0; i < json_array_size(geoms); i++) {
        json_t *g = json_array_get(geoms, i);
        const char *id = json_string_value(json_object_get(g, "id"));
        const char *name =
            json_string_value(json_object_get(json_object_get(g, "properties"), "name"));
        if (!id || strlen(id) != 2) {
            ctl_err("map shapes: geometry %zu has no two-letter id", i);
            goto out;
        }
        size_t j = 0;
        while (j < n && strcmp(cs[j].cc, id) != 0) {
            j++;
        }
        if (j == n) {
            memcpy(cs[n].cc, id, 3);
            snprintf(cs[n].name, sizeof(cs[n].name), "%s", name ? name : id);
            n++;
        }
        if (geometry_path(&a, g, &cs[j].path) != CTL_OK) {
            goto out;
        }
    }
    *out = cs;
    *nout = n;
    cs = NULL;
    rc = CTL_OK;
out:
    if (cs) {
        for (size_t i = 0; i < n; i++) {
            free(cs[i].path.s);
        }
        free(cs);
    }
    arcs_fini(&a);
    json_decref(topo);
    return rc;
}

int ctl_geo_map(ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    ctl_regions_t all = {0};
    geo_regions_t gr = {0};
    geo_shares_t sh = {0};
    country_t *cs = NULL;
    size_t ncs = 0;
    mapctx_t m = {0};
    char *showbuf = NULL;
    FILE *f = NULL;
    char *tmp = NULL;
    diag_t d = {0};
    int rc;

    if ((rc = ctl_check_args(c, "geo map",
                             CTL_OPT_DB | CTL_OPT_PATHS | CTL_OPT_OUT | CTL_OPT_REGION, 0, 0))) {
        return rc;
    }
    geo_paths_buf_t pb;
    const geo_paths_t *paths = NULL;
    if ((rc = ctl_geo_paths(c, &pb, &paths)) != CTL_OK) {
        return rc;
    }
    const char *db = (c->opt_seen & CTL_OPT_DB) ? c->db : getenv("DNSD_GEO_DB");
    if (!db || !*db) {
        return ctl_err("geo map needs a MaxMind DB to place addresses in countries: "
                       "--db FILE or $DNSD_GEO_DB");
    }
    rc = CTL_FAIL;
    if (ctl_read_begin(c, &s, &txn) != CTL_OK || ctl_regions_load(s, txn, &all) != CTL_OK) {
        goto out;
    }
    mdb_txn_abort(txn);
    txn = NULL;
    if (all.n == 0) {
        ctl_err("no regions in the store: every country is in the default region "
                "(add some: dnsctl region add NAME --country DE,FR ...)");
        goto out;
    }
    /* --region a,b: only those get colours; every name must exist */
    if (c->region) {
        showbuf = xstrdup(c->region);
        m.show = xcalloc(all.n + 1, sizeof(*m.show));
        for (char *save = NULL, *t = strtok_r(showbuf, ",", &save); t;
             t = strtok_r(NULL, ",", &save)) {
            uint16_t id;
            if (!ctl_regions_find(&all, t, &id)) {
                ctl_err("no such region: %s%s", t,
                        strcmp(t, "default") == 0 ? " (the default region is grey on every map)"
                                                  : "");
                goto out;
            }
            if (m.nshow < all.n) {
                m.show[m.nshow++] = t;
            }
        }
        if (m.nshow == 0) {
            ctl_err("--region: no region named");
            goto out;
        }
    }
    m.all = &all;
    m.leg = xcalloc(all.n, sizeof(*m.leg));
    for (size_t i = 0; i < all.n; i++) {
        bool shown = !m.nshow;
        for (size_t j = 0; j < m.nshow && !shown; j++) {
            shown = strcmp(m.show[j], all.rs[i].name) == 0;
        }
        if (shown) {
            legend_ent_t *e = &m.leg[m.nleg];
            e->id = all.rs[i].id;
            e->name = all.rs[i].name;
            e->colour =
                palette[i % NPALETTE]; /* by position in the store: stable across --region */
            m.nleg++;
        }
    }
    geo_regions_from_store(all.rs, all.n, &gr);
    if ((rc = geo_country_shares(db, paths, gr.regions, gr.n, &sh, &d)) != 0) {
        rc = ctl_diag(NULL, &d);
        goto out;
    }
    rc = CTL_FAIL;
    if (shapes_load(&cs, &ncs) != CTL_OK) {
        goto out;
    }
    for (size_t i = 0; i < ncs; i++) {
        const geo_country_share_t *sc = share_find(&sh, cs[i].cc);
        uint32_t t, u;
        if (!sc) {
            m.n_nodata++;
            continue;
        }
        country_regions(&m, sc, &t, &u);
        m.n_mixed += u != UINT32_MAX;
        if (t == GEO_REGION_DEFAULT) {
            m.n_default++;
            m.n_default_mixed += u != UINT32_MAX;
            continue;
        }
        for (size_t j = 0; j < m.nleg; j++) {
            if (m.leg[j].id == t) {
                m.leg[j].countries++;
                m.leg[j].mixed += u != UINT32_MAX;
            }
        }
    }
    const char *out = c->out && strcmp(c->out, "-") != 0 ? c->out : NULL;
    if (out) {
        /* write beside the target, then rename: a reader never sees half a map */
        size_t tl = strlen(out) + 16;
        tmp = xmalloc(tl);
        snprintf(tmp, tl, "%s.tmp", out);
        if (!(f = fopen(tmp, "w"))) {
            ctl_err("cannot write %s: %s", tmp, strerror(errno));
            goto out;
        }
    }
    svg_write(f ? f : stdout, &m, cs, ncs, &sh, db);
    if (f) {
        bool bad = ferror(f) != 0;
        bad |= fclose(f) != 0;
        f = NULL;
        if (bad || rename(tmp, out) != 0) {
            ctl_err("cannot write %s: %s", out, strerror(errno));
            unlink(tmp);
            goto out;
        }
        printf("wrote %s: %zu countries, %zu regions coloured, %u countries hatched\n", out, ncs,
               m.nleg, m.n_mixed);
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        ctl_err("cannot write the map to standard output: %s", strerror(errno));
        goto out;
    }
    rc = CTL_OK;
out:
    if (f) {
        fclose(f);
        unlink(tmp);
    }
    free(tmp);
    if (txn) {
        mdb_txn_abort(txn);
    }
    for (size_t i = 0; i < ncs; i++) {
        free(cs[i].path.s);
    }
    free(cs);
    free(m.leg);
    free(m.show);
    free(showbuf);
    geo_shares_fini(&sh);
    geo_regions_fini(&gr);
    ctl_regions_fini(&all);
    zs_close(s);
    return rc;
}
