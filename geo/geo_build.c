/* SPDX-License-Identifier: MIT */
/*
 * geo_build.c -- the slow side of the geo table: check the operator's
 * regions, walk a MaxMind DB's search tree with libmaxminddb, decide a
 * region per DB record, lay explicit CIDRs over the result and hand the
 * partition to geo_table_assemble() (geo_table.c). geo_explain() answers
 * "why this region?" for one address with the same rules. Called from the
 * main/orchestration thread or dnsctl, never from a worker's packet path;
 * allocates freely (xmalloc: aborts on OOM), holds no global state.
 *
 * DESIGN. The MMDB search tree is walked depth first, left before right,
 * so leaves come out in address order and each leaf (a data record, or an
 * empty record = not in the DB) appends its network's first address and
 * region to a partition, merging runs of one region as it goes. The IPv4
 * tree of an IPv6 DB is the node 96 zero bits below the root; it is walked
 * once as the IPv4 partition, and every IPv6 path that reaches it (::/96
 * itself, MaxMind's ::ffff:0:0/96, 2001::/32 and 2002::/16 aliases)
 * becomes an alias range instead of a second walk. Records are shared by
 * many networks, so the region is decided once per data offset (a small
 * open-addressing cache); deciding it also decodes the whole record
 * (MMDB_get_entry_data_list), so a DB with bad data, bad pointers or a bad
 * tree is refused during the build rather than half-used. The walk is
 * bounded: 32 or 128 levels, and at most 2 x node_count + 1024 node visits,
 * so a tree with loops or exploding shared subtrees ends in an error.
 * Explicit CIDRs become their own partition in one sweep (nested prefixes
 * on a stack: shorter first, longer ones cut holes into them) and are laid
 * over the DB partition in one merge.
 */
#include "geo/geo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <maxminddb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"

#define REG_NONE  0x10000u /* internal: no CIDR covers the range */
#define SUB_MAX   8        /* subdivision levels read per record */
#define CODE_MAX  16       /* longest code kept from a record, with its NUL */
#define DEG2RAD   (3.14159265358979323846 / 180.0)
#define EARTH_KM  6371.0

/* ---- default paths ---- */

static const char *const p_continent[] = {"continent", "code", NULL};
static const char *const p_country_mm[] = {"country", "iso_code", NULL};
static const char *const p_country_code[] = {"country_code", NULL};
static const char *const p_country_str[] = {"country", NULL};
static const char *const p_continent_str[] = {"continent", NULL};
static const char *const p_latitude[] = {"location", "latitude", NULL};
static const char *const p_longitude[] = {"location", "longitude", NULL};

typedef struct schema {
    const char *name;                        /* for geo_explain */
    const char *const *continent, *const *country, *const *subdivision;
    const char *const *latitude, *const *longitude;
    bool sub_auto;                           /* subdivisions.N.iso_code, N = 0.. */
} schema_t;

/* ---- regions, checked and indexed ---- */

typedef struct sub_ent {
    char code[CODE_MAX];
    uint16_t id;
    uint32_t order; /* position in the caller's arrays: the earlier wins */
} sub_ent_t;

typedef struct coord_ent {
    uint16_t id;
    double lat, lon, coslat; /* radians */
} coord_ent_t;

typedef struct cidr_ent {
    geo_u128_t start, end; /* IPv4 in the low 32 bits */
    uint8_t len;           /* in bits of its family */
    uint16_t id;
    uint32_t order;
} cidr_ent_t;

typedef struct matcher {
    const geo_region_t *regions;
    size_t nregions;
    uint32_t *index_of; /* region id -> index in regions, UINT32_MAX for none */
    uint16_t cont[26 * 26], country[26 * 26];
    sub_ent_t *sub;
    size_t nsub;
    coord_ent_t *coord;
    size_t ncoord;
    cidr_ent_t *cidr[2]; /* [0] IPv4, [1] IPv6 */
    size_t ncidr[2];
} matcher_t;

enum { BY_DEFAULT, BY_NOT_IN_DB, BY_CIDR, BY_SUBDIVISION, BY_COUNTRY, BY_CONTINENT, BY_NEAREST };

static const char *const by_name[] = {"default", "not in database", "cidr", "subdivision",
                                      "country", "continent", "nearest"};

static void matcher_fini(matcher_t *m)
{
    free(m->index_of);
    free(m->sub);
    free(m->coord);
    free(m->cidr[0]);
    free(m->cidr[1]);
    memset(m, 0, sizeof(*m));
}

/* Index of a two-letter code in a 26 x 26 map, or -1. */
static int code2(const char *c)
{
    if (!c || !c[0] || !c[1] || c[2]) {
        return -1;
    }
    int a = c[0] & ~0x20, b = c[1] & ~0x20; /* upper case */
    if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') {
        return -1;
    }
    return (a - 'A') * 26 + (b - 'A');
}

/* "CC-SUB", SUB 1..4 letters or digits, upper-cased into @p out; else false. */
static bool subdiv_norm(const char *in, char *out)
{
    size_t n = in ? strlen(in) : 0;
    if (n < 4 || n > 7 || in[2] != '-') {
        return false;
    }
    char cc[3] = {in[0], in[1], 0};
    if (code2(cc) < 0) {
        return false;
    }
    for (size_t i = 0; i <= n; i++) {
        char c = in[i];
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 32);
        }
        if (i > 2 && i < n && !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            return false;
        }
        out[i] = c;
    }
    return true;
}

static int cmp_sub(const void *a, const void *b)
{
    const sub_ent_t *x = a, *y = b;
    int c = strcmp(x->code, y->code);
    if (c) {
        return c;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_cidr(const void *a, const void *b)
{
    const cidr_ent_t *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

static geo_u128_t load_be(const uint8_t *p, size_t n)
{
    geo_u128_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Mask of the first @p len bits of a @p width-bit value. */
static geo_u128_t net_mask(unsigned len, unsigned width)
{
    geo_u128_t all = width == 128 ? ~(geo_u128_t)0 : (((geo_u128_t)1 << width) - 1);
    if (len == 0) {
        return 0;
    }
    return all & ~((((geo_u128_t)1) << (width - len)) - 1);
}

static bool is_mapped(const uint8_t *a16)
{
    static const uint8_t pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a16, pre, 12) == 0;
}

/* A CIDR as (family index, start, end, len); false if malformed. */
static bool cidr_norm(const geo_cidr_t *c, int *fi, cidr_ent_t *e)
{
    unsigned width, len = c->len;
    geo_u128_t v;
    if (c->family == AF_INET) {
        width = 32;
        v = load_be(c->addr, 4);
    } else if (c->family == AF_INET6) {
        width = 128;
        v = load_be(c->addr, 16);
        if (len >= 96 && is_mapped(c->addr)) {
            width = 32;
            len -= 96;
            v &= 0xffffffffu;
        }
    } else {
        return false;
    }
    if (len > width) {
        return false;
    }
    geo_u128_t m = net_mask(len, width);
    geo_u128_t all = width == 128 ? ~(geo_u128_t)0 : (((geo_u128_t)1 << width) - 1);
    *fi = width == 32 ? 0 : 1;
    e->start = v & m;
    e->end = e->start | (all & ~m);
    e->len = (uint8_t)len;
    return true;
}

static const char *rname(const geo_region_t *r)
{
    return r->name ? r->name : "";
}

static int matcher_init(matcher_t *m, const geo_region_t *regions, size_t n, diag_t *d)
{
    int rc = 0;
    memset(m, 0, sizeof(*m));
    m->regions = regions;
    m->nregions = n;
    m->index_of = xmalloc(65536 * sizeof(uint32_t));
    memset(m->index_of, 0xff, 65536 * sizeof(uint32_t));
    if (n > GEO_REGION_ALIAS - 1) {
        diag_set(d, "regions", 0, "%zu regions: at most 65534", n);
        rc = DNSD_ECONFIG;
        goto out;
    }
    size_t nsub = 0, ncidr = 0;
    for (size_t i = 0; i < n; i++) {
        const geo_region_t *r = &regions[i];
        if (r->id == GEO_REGION_DEFAULT || r->id == GEO_REGION_ALIAS) {
            diag_set(d, "regions", 0, "region \"%s\": id %u is reserved (use 1..65534)",
                     rname(r), r->id);
            rc = DNSD_ECONFIG;
            goto out;
        }
        if (m->index_of[r->id] != UINT32_MAX) {
            diag_set(d, "regions", 0, "region \"%s\": id %u is also region \"%s\"", rname(r),
                     r->id, rname(&regions[m->index_of[r->id]]));
            rc = DNSD_ECONFIG;
            goto out;
        }
        m->index_of[r->id] = (uint32_t)i;
        nsub += r->nsubdivisions;
        ncidr += r->ncidrs;
    }
    m->sub = xmalloc((nsub ? nsub : 1) * sizeof(sub_ent_t));
    m->coord = xmalloc((n ? n : 1) * sizeof(coord_ent_t));
    m->cidr[0] = xmalloc((ncidr ? ncidr : 1) * sizeof(cidr_ent_t));
    m->cidr[1] = xmalloc((ncidr ? ncidr : 1) * sizeof(cidr_ent_t));
    uint32_t order = 0;
    for (size_t i = 0; i < n; i++) {
        const geo_region_t *r = &regions[i];
        /* the chain must end at default: at most n steps */
        uint16_t p = r->parent;
        for (size_t steps = 0; p != GEO_REGION_DEFAULT; steps++) {
            if (m->index_of[p] == UINT32_MAX) {
                diag_set(d, "regions", 0, "region \"%s\": parent %u is not a region", rname(r), p);
                rc = DNSD_ECONFIG;
                goto out;
            }
            if (steps >= n) {
                diag_set(d, "regions", 0, "region \"%s\": its parent chain loops", rname(r));
                rc = DNSD_ECONFIG;
                goto out;
            }
            p = regions[m->index_of[p]].parent;
        }
        for (size_t j = 0; j < r->ncontinents; j++) {
            int k = code2(r->continents[j]);
            if (k < 0) {
                diag_set(d, "regions", 0, "region \"%s\": bad continent code \"%s\"", rname(r),
                         r->continents[j] ? r->continents[j] : "(null)");
                rc = DNSD_ECONFIG;
                goto out;
            }
            if (!m->cont[k]) {
                m->cont[k] = r->id;
            }
        }
        for (size_t j = 0; j < r->ncountries; j++) {
            int k = code2(r->countries[j]);
            if (k < 0) {
                diag_set(d, "regions", 0, "region \"%s\": bad country code \"%s\"", rname(r),
                         r->countries[j] ? r->countries[j] : "(null)");
                rc = DNSD_ECONFIG;
                goto out;
            }
            if (!m->country[k]) {
                m->country[k] = r->id;
            }
        }
        for (size_t j = 0; j < r->nsubdivisions; j++) {
            sub_ent_t *e = &m->sub[m->nsub];
            if (!subdiv_norm(r->subdivisions[j], e->code)) {
                diag_set(d, "regions", 0,
                         "region \"%s\": bad subdivision \"%s\" (want country-code, \"US-CA\")",
                         rname(r), r->subdivisions[j] ? r->subdivisions[j] : "(null)");
                rc = DNSD_ECONFIG;
                goto out;
            }
            e->id = r->id;
            e->order = order++;
            m->nsub++;
        }
        for (size_t j = 0; j < r->ncidrs; j++) {
            cidr_ent_t e;
            int fi;
            if (!cidr_norm(&r->cidrs[j], &fi, &e)) {
                diag_set(d, "regions", 0, "region \"%s\": CIDR %zu: bad %s", rname(r), j + 1,
                         r->cidrs[j].family == AF_INET || r->cidrs[j].family == AF_INET6
                             ? "prefix length"
                             : "address family");
                rc = DNSD_ECONFIG;
                goto out;
            }
            e.id = r->id;
            e.order = order++;
            m->cidr[fi][m->ncidr[fi]++] = e;
        }
        if (r->has_coords) {
            if (!(r->lat >= -90 && r->lat <= 90 && r->lon >= -180 && r->lon <= 180)) {
                diag_set(d, "regions", 0, "region \"%s\": coordinates %g,%g out of range",
                         rname(r), r->lat, r->lon);
                rc = DNSD_ECONFIG;
                goto out;
            }
            coord_ent_t *c = &m->coord[m->ncoord++];
            c->id = r->id;
            c->lat = r->lat * DEG2RAD;
            c->lon = r->lon * DEG2RAD;
            c->coslat = cos(c->lat);
        }
    }
    qsort(m->sub, m->nsub, sizeof(sub_ent_t), cmp_sub);
    for (int f = 0; f < 2; f++) {
        qsort(m->cidr[f], m->ncidr[f], sizeof(cidr_ent_t), cmp_cidr);
    }
out:
    if (rc) {
        matcher_fini(m);
    }
    return rc;
}

static uint16_t sub_find(const matcher_t *m, const char *code)
{
    size_t lo = 0, hi = m->nsub;
    while (lo < hi) { /* first entry >= code: the earliest listed of equals */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(m->sub[mid].code, code) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < m->nsub && strcmp(m->sub[lo].code, code) == 0 ? m->sub[lo].id : 0;
}

/* ---- one DB record ---- */

typedef struct geo_rec {
    char cont[CODE_MAX], cc[CODE_MAX];
    char sub[SUB_MAX][CODE_MAX];
    int nsub;
    bool has_ll;
    double lat, lon;
} geo_rec_t;

/* MMDB_aget_value where a path that is not in the record is no error. */
static int get_value(MMDB_entry_s *e, const char *const *path, MMDB_entry_data_s *v)
{
    int rc = MMDB_aget_value(e, v, path);
    if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || rc == MMDB_INVALID_LOOKUP_PATH_ERROR) {
        v->has_data = false;
        rc = MMDB_SUCCESS;
    }
    return rc;
}

/* A string field, upper-cased into @p out ("" when absent or not a string). */
static int get_code(MMDB_entry_s *e, const char *const *path, char *out)
{
    MMDB_entry_data_s v;
    out[0] = 0;
    if (!path) {
        return MMDB_SUCCESS;
    }
    int rc = get_value(e, path, &v);
    if (rc || !v.has_data || v.type != MMDB_DATA_TYPE_UTF8_STRING) {
        return rc;
    }
    size_t n = v.data_size < CODE_MAX - 1 ? v.data_size : CODE_MAX - 1;
    for (size_t i = 0; i < n; i++) {
        char c = v.utf8_string[i];
        out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    out[n] = 0;
    return MMDB_SUCCESS;
}

static int get_double(MMDB_entry_s *e, const char *const *path, double *out, bool *found)
{
    MMDB_entry_data_s v;
    *found = false;
    if (!path) {
        return MMDB_SUCCESS;
    }
    int rc = get_value(e, path, &v);
    if (rc || !v.has_data) {
        return rc;
    }
    if (v.type == MMDB_DATA_TYPE_DOUBLE) {
        *out = v.double_value;
        *found = true;
    } else if (v.type == MMDB_DATA_TYPE_FLOAT) {
        *out = v.float_value;
        *found = true;
    }
    return MMDB_SUCCESS;
}

static void add_subdivision(geo_rec_t *r, const char *v)
{
    if (!v[0] || r->nsub >= SUB_MAX) {
        return;
    }
    char *o = r->sub[r->nsub];
    if (strchr(v, '-')) {
        snprintf(o, CODE_MAX, "%s", v);
    } else if (r->cc[0]) {
        snprintf(o, CODE_MAX, "%.2s-%.12s", r->cc, v);
    } else {
        return; /* a subdivision without a country names nothing */
    }
    r->nsub++;
}

/* Read the fields of the record at @p e. @return an MMDB_* error code. */
static int rec_read(const schema_t *sc, MMDB_entry_s *e, geo_rec_t *r)
{
    int rc;
    memset(r, 0, sizeof(*r));
    if ((rc = get_code(e, sc->country, r->cc)) || (rc = get_code(e, sc->continent, r->cont))) {
        return rc;
    }
    if (sc->sub_auto) {
        for (int i = 0; i < SUB_MAX; i++) {
            char idx[4], v[CODE_MAX];
            snprintf(idx, sizeof(idx), "%d", i);
            const char *const path[] = {"subdivisions", idx, "iso_code", NULL};
            if ((rc = get_code(e, path, v))) {
                return rc;
            }
            if (!v[0]) {
                break;
            }
            add_subdivision(r, v);
        }
    } else if (sc->subdivision) {
        char v[CODE_MAX];
        if ((rc = get_code(e, sc->subdivision, v))) {
            return rc;
        }
        add_subdivision(r, v);
    }
    bool has_lat, has_lon;
    if ((rc = get_double(e, sc->latitude, &r->lat, &has_lat)) ||
        (rc = get_double(e, sc->longitude, &r->lon, &has_lon))) {
        return rc;
    }
    r->has_ll = has_lat && has_lon && r->lat >= -90 && r->lat <= 90 && r->lon >= -180 &&
                r->lon <= 180;
    if (!r->cont[0] && r->cc[0]) {
        const char *c = geo_country_continent(r->cc);
        if (c) {
            memcpy(r->cont, c, 3);
        }
    }
    return MMDB_SUCCESS;
}

/* Decode the whole record: catches bad data in fields we do not read. */
static int rec_check(MMDB_entry_s *e)
{
    MMDB_entry_data_list_s *list = NULL;
    int rc = MMDB_get_entry_data_list(e, &list);
    MMDB_free_entry_data_list(list);
    return rc;
}

/* Region of a record; *by says which rule, *what the code (or distance) that decided. */
static uint16_t rec_match(const matcher_t *m, const geo_rec_t *r, int *by, char *what, size_t wl)
{
    for (int i = r->nsub - 1; i >= 0; i--) {
        uint16_t id = sub_find(m, r->sub[i]);
        if (id) {
            *by = BY_SUBDIVISION;
            snprintf(what, wl, "%s", r->sub[i]);
            return id;
        }
    }
    int k = code2(r->cc);
    if (k >= 0 && m->country[k]) {
        *by = BY_COUNTRY;
        snprintf(what, wl, "%s", r->cc);
        return m->country[k];
    }
    k = code2(r->cont);
    if (k >= 0 && m->cont[k]) {
        *by = BY_CONTINENT;
        snprintf(what, wl, "%s", r->cont);
        return m->cont[k];
    }
    if (r->has_ll && m->ncoord) {
        double lat = r->lat * DEG2RAD, lon = r->lon * DEG2RAD, coslat = cos(lat);
        double best = 2.0;
        uint16_t id = 0;
        for (size_t i = 0; i < m->ncoord; i++) {
            const coord_ent_t *c = &m->coord[i];
            double sa = sin((c->lat - lat) / 2), so = sin((c->lon - lon) / 2);
            double h = sa * sa + coslat * c->coslat * so * so; /* haversine, monotonic */
            if (h < best) {
                best = h;
                id = c->id;
            }
        }
        *by = BY_NEAREST;
        snprintf(what, wl, "%.0f km", 2 * EARTH_KM * asin(sqrt(best > 1 ? 1 : best)));
        return id;
    }
    *by = BY_DEFAULT;
    what[0] = 0;
    return GEO_REGION_DEFAULT;
}

/* ---- partitions ---- */

typedef struct part {
    geo_u128_t *key;
    uint32_t *reg;
    size_t n, cap;
} part_t;

/* Append a range start; a start equal to the last one replaces it. */
static void part_push(part_t *p, geo_u128_t k, uint32_t r)
{
    if (p->n && p->key[p->n - 1] == k) {
        p->n--;
    }
    if (p->n && p->reg[p->n - 1] == r) {
        return;
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 1024;
        p->key = xrealloc(p->key, p->cap * sizeof(geo_u128_t));
        p->reg = xrealloc(p->reg, p->cap * sizeof(uint32_t));
    }
    p->key[p->n] = k;
    p->reg[p->n] = r;
    p->n++;
}

static void part_fini(part_t *p)
{
    free(p->key);
    free(p->reg);
    memset(p, 0, sizeof(*p));
}

/* Sorted, properly nested CIDRs -> a partition (REG_NONE where none covers). */
static void cidr_partition(const cidr_ent_t *c, size_t n, geo_u128_t top, part_t *out)
{
    const cidr_ent_t **stack = xmalloc((n + 1) * sizeof(*stack));
    size_t depth = 0;
    part_push(out, 0, REG_NONE);
    for (size_t i = 0; i <= n; i++) {
        /* close the prefixes that end before this one starts (all, at the end) */
        while (depth && (i == n || stack[depth - 1]->end < c[i].start)) {
            geo_u128_t end = stack[--depth]->end;
            if (end != top) {
                part_push(out, end + 1, depth ? stack[depth - 1]->id : REG_NONE);
            }
        }
        if (i == n) {
            break;
        }
        if (i && c[i].start == c[i - 1].start && c[i].len == c[i - 1].len) {
            continue; /* the same network again: the earlier listed keeps it */
        }
        part_push(out, c[i].start, c[i].id);
        stack[depth++] = &c[i];
    }
    free(stack);
}

/* @p db with @p over laid on top (REG_NONE in @p over lets @p db show). */
static void part_overlay(const part_t *db, const part_t *over, part_t *out)
{
    size_t i = 0, j = 0;
    uint32_t rd = GEO_REGION_DEFAULT, ro = REG_NONE;
    while (i < db->n || j < over->n) {
        geo_u128_t k;
        if (j >= over->n || (i < db->n && db->key[i] < over->key[j])) {
            k = db->key[i];
        } else {
            k = over->key[j];
        }
        if (i < db->n && db->key[i] == k) {
            rd = db->reg[i++];
        }
        if (j < over->n && over->key[j] == k) {
            ro = over->reg[j++];
        }
        part_push(out, k, ro != REG_NONE ? ro : rd);
    }
}

/* ---- region cache: data offset -> region ---- */

typedef struct cache {
    uint32_t *key; /* offset + 1; 0 = empty slot */
    uint16_t *val;
    size_t cap, n;
} cache_t;

static size_t cache_slot(const cache_t *c, uint32_t key)
{
    size_t i = (size_t)((key * 0x9E3779B1u) & (c->cap - 1));
    while (c->key[i] && c->key[i] != key) {
        i = (i + 1) & (c->cap - 1);
    }
    return i;
}

static void cache_put(cache_t *c, uint32_t off, uint16_t v);

static void cache_grow(cache_t *c)
{
    cache_t old = *c;
    c->cap = old.cap ? old.cap * 2 : 1024;
    c->n = 0;
    c->key = xcalloc(c->cap, sizeof(uint32_t));
    c->val = xmalloc(c->cap * sizeof(uint16_t));
    for (size_t i = 0; i < old.cap; i++) {
        if (old.key[i]) {
            cache_put(c, old.key[i] - 1, old.val[i]);
        }
    }
    free(old.key);
    free(old.val);
}

static void cache_put(cache_t *c, uint32_t off, uint16_t v)
{
    if ((c->n + 1) * 2 > c->cap) {
        cache_grow(c);
    }
    size_t i = cache_slot(c, off + 1);
    if (!c->key[i]) {
        c->key[i] = off + 1;
        c->n++;
    }
    c->val[i] = v;
}

static bool cache_get(const cache_t *c, uint32_t off, uint16_t *v)
{
    if (!c->cap || off == UINT32_MAX) {
        return false;
    }
    size_t i = cache_slot(c, off + 1);
    if (!c->key[i]) {
        return false;
    }
    *v = c->val[i];
    return true;
}

/* ---- opening the DB, picking the schema ---- */

static int db_open(const char *path, MMDB_s *db, diag_t *d)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        diag_set(d, path, 0, "cannot read the MaxMind DB: not a regular file");
        return DNSD_EMALFORMED;
    }
    errno = 0;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, db);
    if (rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR) {
        int e = errno ? errno : EIO;
        diag_set(d, path, 0, "cannot read the MaxMind DB: %s (%s)", MMDB_strerror(rc), strerror(e));
        return -e;
    }
    if (rc != MMDB_SUCCESS) {
        diag_set(d, path, 0, "not a valid MaxMind DB: %s", MMDB_strerror(rc));
        return rc == MMDB_OUT_OF_MEMORY_ERROR ? -ENOMEM : DNSD_EMALFORMED;
    }
    if ((db->metadata.ip_version != 4 && db->metadata.ip_version != 6) ||
        db->metadata.node_count == 0) {
        diag_set(d, path, 0, "not a valid MaxMind DB: ip_version %u, node_count %u",
                 db->metadata.ip_version, db->metadata.node_count);
        MMDB_close(db);
        return DNSD_EMALFORMED;
    }
    return 0;
}

/* The first few data records in tree order (a bounded walk; errors just stop it). */
static size_t sample_records(MMDB_s *db, MMDB_entry_s *out, size_t max)
{
    uint32_t stack[160];
    size_t depth = 0, n = 0, visits = 0;
    stack[depth++] = 0;
    while (depth && n < max && visits++ < 4096) {
        MMDB_search_node_s sn;
        if (MMDB_read_node(db, stack[--depth], &sn) != MMDB_SUCCESS) {
            break;
        }
        /* push right first so the left side comes out first */
        if (sn.right_record_type == MMDB_RECORD_TYPE_SEARCH_NODE && depth < 159) {
            stack[depth++] = (uint32_t)sn.right_record;
        } else if (sn.right_record_type == MMDB_RECORD_TYPE_DATA) {
            out[n++] = sn.right_record_entry;
        }
        if (n < max && sn.left_record_type == MMDB_RECORD_TYPE_SEARCH_NODE && depth < 159) {
            stack[depth++] = (uint32_t)sn.left_record;
        } else if (n < max && sn.left_record_type == MMDB_RECORD_TYPE_DATA) {
            out[n++] = sn.left_record_entry;
        }
    }
    return n;
}

static bool has_string(MMDB_entry_s *e, const char *const *path)
{
    MMDB_entry_data_s v;
    return get_value(e, path, &v) == MMDB_SUCCESS && v.has_data &&
           v.type == MMDB_DATA_TYPE_UTF8_STRING;
}

static void schema_pick(MMDB_s *db, const geo_paths_t *paths, schema_t *sc)
{
    static const schema_t maxmind = {"GeoIP2",   p_continent, p_country_mm, NULL,
                                     p_latitude, p_longitude, true};
    static const schema_t ccode = {"country_code", NULL, p_country_code, NULL, NULL, NULL, false};
    static const schema_t cstr = {"country", p_continent_str, p_country_str, NULL,
                                  NULL,      NULL,            false};
    *sc = maxmind;
    if (paths && paths->country) {
        sc->name = "custom";
    } else if (db) {
        const char *type = db->metadata.database_type ? db->metadata.database_type : "";
        if (!strstr(type, "GeoIP") && !strstr(type, "GeoLite") && !strstr(type, "DBIP")) {
            /* not one of MaxMind's own: look at what the records carry */
            MMDB_entry_s sample[32];
            size_t n = sample_records(db, sample, 32);
            for (size_t i = 0; i < n; i++) {
                if (has_string(&sample[i], p_country_mm)) {
                    break;
                }
                if (has_string(&sample[i], p_country_code)) {
                    *sc = ccode;
                    break;
                }
                if (has_string(&sample[i], p_country_str)) {
                    *sc = cstr;
                    break;
                }
            }
        }
    }
    if (paths) {
        bool custom = false;
        if (paths->continent) {
            sc->continent = paths->continent;
            custom = true;
        }
        if (paths->country) {
            sc->country = paths->country;
        }
        if (paths->subdivision) {
            sc->subdivision = paths->subdivision;
            sc->sub_auto = false;
            custom = true;
        }
        if (paths->latitude) {
            sc->latitude = paths->latitude;
            custom = true;
        }
        if (paths->longitude) {
            sc->longitude = paths->longitude;
            custom = true;
        }
        if (custom) {
            sc->name = "custom";
        }
    }
}

/* The IPv4 tree of an IPv6 DB: the record 96 zero bits below the root. */
static int v4_start(MMDB_s *db, uint8_t *type, uint64_t *rec, MMDB_entry_s *entry,
                    unsigned *depth, diag_t *d)
{
    uint8_t t = MMDB_RECORD_TYPE_SEARCH_NODE;
    uint64_t r = 0;
    MMDB_entry_s e = {db, 0};
    unsigned i = 0;
    for (; i < 96 && t == MMDB_RECORD_TYPE_SEARCH_NODE; i++) {
        MMDB_search_node_s sn;
        int rc = MMDB_read_node(db, (uint32_t)r, &sn);
        if (rc != MMDB_SUCCESS) {
            diag_set(d, db->filename, 0, "corrupt search tree: node %u: %s", (unsigned)r,
                     MMDB_strerror(rc));
            return DNSD_EMALFORMED;
        }
        t = sn.left_record_type;
        r = sn.left_record;
        e = sn.left_record_entry;
    }
    if (t == MMDB_RECORD_TYPE_INVALID) {
        diag_set(d, db->filename, 0, "corrupt search tree: record %llu on ::/96 is out of range",
                 (unsigned long long)r);
        return DNSD_EMALFORMED;
    }
    *type = t;
    *rec = r;
    *entry = e;
    *depth = i;
    return 0;
}

/* ---- the walk ---- */

typedef struct walker {
    MMDB_s *db;
    const matcher_t *m;
    const schema_t *sc;
    cache_t cache;
    part_t *out;
    unsigned width;
    bool alias_v4;      /* IPv6 walk: paths reaching v4node become aliases */
    uint32_t v4node;
    geo_parts_t *parts; /* alias list */
    uint64_t visits, budget;
    bool by_country;    /* leaves carry the record's country (code2 + 1, 0: none), not a region */
    diag_t *d;
} walker_t;

static int data_region(walker_t *w, MMDB_entry_s e, uint16_t *region)
{
    if (cache_get(&w->cache, e.offset, region)) {
        return 0;
    }
    geo_rec_t r;
    int rc = rec_read(w->sc, &e, &r);
    if (rc == MMDB_SUCCESS) {
        rc = rec_check(&e);
    }
    if (rc != MMDB_SUCCESS) {
        diag_set(w->d, w->db->filename, 0, "corrupt data section at offset %u: %s", e.offset,
                 MMDB_strerror(rc));
        return DNSD_EMALFORMED;
    }
    int by;
    char what[64];
    if (w->by_country) {
        int cc = code2(r.cc);
        *region = (uint16_t)(cc + 1);
    } else {
        *region = rec_match(w->m, &r, &by, what, sizeof(what));
    }
    cache_put(&w->cache, e.offset, *region);
    return 0;
}

static int walk_node(walker_t *w, uint32_t node, geo_u128_t prefix, unsigned depth);

/* A record of the tree for the network @p prefix / @p depth. */
static int walk_record(walker_t *w, uint8_t type, uint64_t rec, MMDB_entry_s e, geo_u128_t prefix,
                       unsigned depth)
{
    uint16_t region;
    int rc;
    switch (type) {
    case MMDB_RECORD_TYPE_SEARCH_NODE:
        if (w->alias_v4 && rec == w->v4node) {
            if (depth > 96 || w->parts->nalias == GEO_ALIAS_MAX) {
                diag_set(w->d, w->db->filename, 0,
                         "corrupt search tree: the IPv4 tree is reached again at depth %u", depth);
                return DNSD_EMALFORMED;
            }
            w->parts->alias[w->parts->nalias].prefix = prefix;
            w->parts->alias[w->parts->nalias].len = (uint8_t)depth;
            w->parts->nalias++;
            part_push(w->out, prefix, GEO_REGION_ALIAS);
            return 0;
        }
        if (depth >= w->width) {
            diag_set(w->d, w->db->filename, 0,
                     "corrupt search tree: deeper than %u bits (a loop?) at node %llu", w->width,
                     (unsigned long long)rec);
            return DNSD_EMALFORMED;
        }
        return walk_node(w, (uint32_t)rec, prefix, depth);
    case MMDB_RECORD_TYPE_EMPTY:
        part_push(w->out, prefix, GEO_REGION_DEFAULT);
        return 0;
    case MMDB_RECORD_TYPE_DATA:
        if ((rc = data_region(w, e, &region))) {
            return rc;
        }
        part_push(w->out, prefix, region);
        return 0;
    default:
        diag_set(w->d, w->db->filename, 0,
                 "corrupt search tree: record %llu points %s", (unsigned long long)rec,
                 rec == 0 ? "back at the root" : "outside the file");
        return DNSD_EMALFORMED;
    }
}

static int walk_node(walker_t *w, uint32_t node, geo_u128_t prefix, unsigned depth)
{
    if (++w->visits > w->budget) {
        diag_set(w->d, w->db->filename, 0,
                 "corrupt search tree: more than %llu node visits for %u nodes (loops?)",
                 (unsigned long long)w->budget, w->db->metadata.node_count);
        return DNSD_EMALFORMED;
    }
    MMDB_search_node_s sn;
    int rc = MMDB_read_node(w->db, node, &sn);
    if (rc != MMDB_SUCCESS) {
        diag_set(w->d, w->db->filename, 0, "corrupt search tree: node %u: %s", node,
                 MMDB_strerror(rc));
        return DNSD_EMALFORMED;
    }
    geo_u128_t bit = (geo_u128_t)1 << (w->width - 1 - depth);
    rc = walk_record(w, sn.left_record_type, sn.left_record, sn.left_record_entry, prefix,
                     depth + 1);
    if (rc) {
        return rc;
    }
    return walk_record(w, sn.right_record_type, sn.right_record, sn.right_record_entry,
                       prefix | bit, depth + 1);
}

/*
 * Walk the DB into the IPv4 and IPv6 partitions (and the alias list). With
 * @p by_country the leaves carry countries (code2() + 1, 0 for none) and
 * only the IPv4 tree is walked (@p p6 and @p parts unused).
 */
static int db_walk(MMDB_s *db, const matcher_t *m, const schema_t *sc, part_t *p4, part_t *p6,
                   geo_parts_t *parts, bool by_country, diag_t *d)
{
    int rc = 0;
    walker_t w = {.db = db, .m = m, .sc = sc, .parts = parts, .by_country = by_country, .d = d};
    w.budget = 2ull * db->metadata.node_count + 1024;
    if (db->metadata.ip_version == 4) {
        w.out = p4;
        w.width = 32;
        if ((rc = walk_node(&w, 0, 0, 0))) {
            goto out;
        }
        if (!by_country) {
            part_push(p6, 0, GEO_REGION_DEFAULT); /* an IPv4 DB knows no IPv6 address */
        }
        goto out;
    }
    uint8_t type;
    uint64_t rec;
    MMDB_entry_s e;
    unsigned depth;
    if ((rc = v4_start(db, &type, &rec, &e, &depth, d))) {
        goto out;
    }
    w.out = p4;
    w.width = 32;
    if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
        w.v4node = (uint32_t)rec;
        if ((rc = walk_node(&w, w.v4node, 0, 0))) {
            goto out;
        }
    } else if ((rc = walk_record(&w, type, rec, e, 0, 0))) {
        goto out; /* the whole IPv4 space is inside one shorter IPv6 network */
    }
    if (by_country) {
        goto out;
    }
    w.out = p6;
    w.width = 128;
    w.alias_v4 = type == MMDB_RECORD_TYPE_SEARCH_NODE;
    rc = walk_node(&w, 0, 0, 0);
out:
    free(w.cache.key);
    free(w.cache.val);
    return rc;
}

/* ---- build ---- */

static void parts_fini(geo_parts_t *p)
{
    free(p->v4_start);
    free(p->v4_region);
    free(p->v6_start);
    free(p->v6_region);
}

geo_table_t *geo_table_build(const char *mmdb_path, const geo_paths_t *paths,
                             const geo_region_t *regions, size_t nregions, diag_t *d)
{
    geo_table_t *gt = NULL;
    matcher_t m;
    MMDB_s db;
    bool db_open_ok = false;
    part_t dbp[2] = {{0}}, cp[2] = {{0}}, fin[2] = {{0}};
    geo_parts_t parts = {0};
    if (matcher_init(&m, regions, nregions, d)) {
        return NULL;
    }
    if (mmdb_path) {
        if (db_open(mmdb_path, &db, d)) {
            goto out;
        }
        db_open_ok = true;
        schema_t sc;
        schema_pick(&db, paths, &sc);
        if (db_walk(&db, &m, &sc, &dbp[0], &dbp[1], &parts, false, d)) {
            goto out;
        }
    } else {
        part_push(&dbp[0], 0, GEO_REGION_DEFAULT);
        part_push(&dbp[1], 0, GEO_REGION_DEFAULT);
    }
    for (int f = 0; f < 2; f++) {
        geo_u128_t top = f ? ~(geo_u128_t)0 : 0xffffffffu;
        cidr_partition(m.cidr[f], m.ncidr[f], top, &cp[f]);
        part_overlay(&dbp[f], &cp[f], &fin[f]);
        if (fin[f].n > 0x7fffffffu) { /* the table's indexes keep a flag in bit 31 */
            diag_set(d, mmdb_path ? mmdb_path : "regions", 0, "%zu IPv%d ranges: too many",
                     fin[f].n, f ? 6 : 4);
            goto out;
        }
    }
    parts.n4 = fin[0].n;
    parts.v4_start = xmalloc(parts.n4 * sizeof(uint32_t));
    parts.v4_region = xmalloc(parts.n4 * sizeof(uint16_t));
    for (size_t i = 0; i < parts.n4; i++) {
        parts.v4_start[i] = (uint32_t)fin[0].key[i];
        parts.v4_region[i] = (uint16_t)fin[0].reg[i];
    }
    parts.n6 = fin[1].n;
    parts.v6_start = xmalloc(parts.n6 * sizeof(geo_u128_t));
    parts.v6_region = xmalloc(parts.n6 * sizeof(uint16_t));
    for (size_t i = 0; i < parts.n6; i++) {
        parts.v6_start[i] = fin[1].key[i];
        parts.v6_region[i] = (uint16_t)fin[1].reg[i];
    }
    gt = geo_table_assemble(&parts);
out:
    parts_fini(&parts);
    for (int f = 0; f < 2; f++) {
        part_fini(&dbp[f]);
        part_fini(&cp[f]);
        part_fini(&fin[f]);
    }
    if (db_open_ok) {
        MMDB_close(&db);
    }
    matcher_fini(&m);
    return gt;
}

/* ---- explain ---- */

/* "a.b.c.d/len" or "x:y::/len" */
static void net_text(char *buf, size_t bl, geo_u128_t v, unsigned len, bool v4)
{
    char a[INET6_ADDRSTRLEN];
    uint8_t b[16];
    if (v4) {
        for (int i = 0; i < 4; i++) {
            b[i] = (uint8_t)(v >> (24 - 8 * i));
        }
        inet_ntop(AF_INET, b, a, sizeof(a));
    } else {
        for (int i = 0; i < 16; i++) {
            b[i] = (uint8_t)(v >> (120 - 8 * i));
        }
        inet_ntop(AF_INET6, b, a, sizeof(a));
    }
    snprintf(buf, bl, "%s/%u", a, len);
}

static const cidr_ent_t *cidr_longest(const matcher_t *m, int fi, geo_u128_t a)
{
    const cidr_ent_t *best = NULL;
    for (size_t i = 0; i < m->ncidr[fi]; i++) {
        const cidr_ent_t *c = &m->cidr[fi][i];
        /* sorted by start, length, order: a strictly longer match wins, an equal one doesn't */
        if (a >= c->start && a <= c->end && (!best || c->len > best->len)) {
            best = c;
        }
    }
    return best;
}

/* The IPv6 walk's alias rule for one address: the depth at which its path reaches the IPv4
 * tree, or 0 when it does not. */
static unsigned alias_depth(MMDB_s *db, geo_u128_t a)
{
    uint8_t type;
    uint64_t v4node;
    MMDB_entry_s e;
    unsigned depth;
    if (db->metadata.ip_version != 6 || v4_start(db, &type, &v4node, &e, &depth, NULL) ||
        type != MMDB_RECORD_TYPE_SEARCH_NODE) {
        return 0;
    }
    uint64_t node = 0;
    for (unsigned i = 0; i < 96; i++) {
        MMDB_search_node_s sn;
        if (MMDB_read_node(db, (uint32_t)node, &sn) != MMDB_SUCCESS) {
            return 0;
        }
        bool bit = (a >> (127 - i)) & 1;
        uint8_t t = bit ? sn.right_record_type : sn.left_record_type;
        node = bit ? sn.right_record : sn.left_record;
        if (t != MMDB_RECORD_TYPE_SEARCH_NODE) {
            return 0;
        }
        if (node == v4node) {
            return i + 1;
        }
    }
    return 0;
}

typedef struct explain {
    char address[INET6_ADDRSTRLEN];
    bool v4;              /* looked up as IPv4 */
    geo_u128_t a;         /* the address looked up */
    char lookup[INET6_ADDRSTRLEN];
    char via[128];        /* why an IPv6 address was looked up as IPv4, "" if not */
    bool have_db, found;
    char network[64];
    geo_rec_t rec;
    const cidr_ent_t *cidr;
    char cidr_net[64];
    uint16_t region;
    int by;
    char what[64];
    uint8_t scope;        /* from the compiled table */
    uint16_t table_region;
} explain_t;

static const char *region_name(const matcher_t *m, uint16_t id)
{
    return id == GEO_REGION_DEFAULT ? "default" : rname(&m->regions[m->index_of[id]]);
}

/* The internal decision, copied out as data for the caller to format. */
static void explain_fill(const explain_t *x, const matcher_t *m, MMDB_s *db, const schema_t *sc,
                         geo_explain_t *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->address, sizeof(o->address), "%s", x->address);
    snprintf(o->lookup, sizeof(o->lookup), "%s", x->lookup);
    snprintf(o->via, sizeof(o->via), "%s", x->via);
    o->have_db = x->have_db;
    if (x->have_db) {
        snprintf(o->db_type, sizeof(o->db_type), "%s",
                 db->metadata.database_type ? db->metadata.database_type : "");
        o->db_ip_version = db->metadata.ip_version;
        snprintf(o->db_schema, sizeof(o->db_schema), "%s", sc->name);
        o->found = x->found;
    }
    if (o->found) {
        snprintf(o->network, sizeof(o->network), "%s", x->network);
        snprintf(o->continent, sizeof(o->continent), "%s", x->rec.cont);
        snprintf(o->country, sizeof(o->country), "%s", x->rec.cc);
        for (int i = 0; i < x->rec.nsub && i < GEO_EXPLAIN_SUB_MAX; i++) {
            snprintf(o->sub[o->nsub++], sizeof(o->sub[0]), "%s", x->rec.sub[i]);
        }
        o->has_location = x->rec.has_ll;
        o->lat = x->rec.lat;
        o->lon = x->rec.lon;
    }
    if (x->cidr) {
        o->has_cidr = true;
        snprintf(o->cidr, sizeof(o->cidr), "%s", x->cidr_net);
        o->cidr_region = x->cidr->id;
    }
    o->region.id = x->region;
    snprintf(o->region.name, sizeof(o->region.name), "%s", region_name(m, x->region));
    o->matched_by = by_name[x->by];
    snprintf(o->match, sizeof(o->match), "%s", x->what);
    /* matcher_init proved every chain ends at default */
    for (uint16_t id = x->region;; id = m->regions[m->index_of[id]].parent) {
        if (o->nchain == GEO_EXPLAIN_CHAIN_MAX) {
            o->chain_truncated = true;
            break;
        }
        o->chain[o->nchain].id = id;
        snprintf(o->chain[o->nchain].name, sizeof(o->chain[0].name), "%s", region_name(m, id));
        o->nchain++;
        if (id == GEO_REGION_DEFAULT) {
            break;
        }
    }
    o->scope = x->scope;
    o->table_region = x->table_region;
}

int geo_explain(const char *mmdb_path, const geo_paths_t *paths, const geo_region_t *regions,
                size_t nregions, const char *address, geo_explain_t *out, diag_t *d)
{
    int rc;
    matcher_t m;
    MMDB_s db;
    schema_t sc;
    explain_t x;
    uint8_t b[16] = {0}, orig[16];
    int family;
    geo_table_t *gt = NULL;
    memset(&x, 0, sizeof(x));
    if ((rc = matcher_init(&m, regions, nregions, d))) {
        return rc;
    }
    snprintf(x.address, sizeof(x.address), "%s", address ? address : "");
    if (address && inet_pton(AF_INET, address, b) == 1) {
        family = AF_INET;
    } else if (address && inet_pton(AF_INET6, address, b) == 1) {
        family = AF_INET6;
    } else {
        diag_set(d, "address", 0, "\"%s\" is not an IPv4 or IPv6 address", x.address);
        rc = DNSD_EMALFORMED;
        goto out;
    }
    memcpy(orig, b, 16);
    /* The server would refuse what the build refuses (a DB damaged away from this address's
     * path too); and the table gives the scope. */
    if (!(gt = geo_table_build(mmdb_path, paths, regions, nregions, d))) {
        rc = mmdb_path && access(mmdb_path, R_OK) != 0 ? -errno : DNSD_EMALFORMED;
        goto out;
    }
    x.table_region = geo_lookup(gt, family, orig, &x.scope);
    if (family == AF_INET) {
        x.v4 = true;
        x.a = load_be(b, 4);
    } else {
        x.a = load_be(b, 16);
        if (is_mapped(b)) {
            x.v4 = true;
            x.a &= 0xffffffffu;
            snprintf(x.via, sizeof(x.via), "IPv4-mapped");
        }
    }
    if (mmdb_path) {
        if ((rc = db_open(mmdb_path, &db, d))) {
            goto out;
        }
        x.have_db = true;
    }
    schema_pick(x.have_db ? &db : NULL, paths, &sc);
    if (!x.v4) {
        x.cidr = cidr_longest(&m, 1, x.a);
        unsigned ad = x.cidr || !x.have_db ? 0 : alias_depth(&db, x.a);
        if (ad) {
            char net[64];
            net_text(net, sizeof(net), x.a & net_mask(ad, 128), ad, false);
            snprintf(x.via, sizeof(x.via), "the DB's alias %s of its IPv4 tree", net);
            x.v4 = true;
            x.a = (x.a >> (96 - ad)) & 0xffffffffu;
        }
    }
    if (x.v4) {
        x.cidr = cidr_longest(&m, 0, x.a);
        for (int i = 0; i < 4; i++) {
            b[i] = (uint8_t)(x.a >> (24 - 8 * i));
        }
        inet_ntop(AF_INET, b, x.lookup, sizeof(x.lookup));
    } else {
        snprintf(x.lookup, sizeof(x.lookup), "%s", x.address);
    }
    if (x.cidr) {
        net_text(x.cidr_net, sizeof(x.cidr_net), x.cidr->start, x.cidr->len, x.v4);
    }
    if (x.have_db) {
        struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
        struct sockaddr_in s4 = {.sin_family = AF_INET};
        const struct sockaddr *sa;
        if (x.v4) {
            s4.sin_addr.s_addr = htonl((uint32_t)x.a);
            sa = (const struct sockaddr *)&s4;
        } else {
            memcpy(&s6.sin6_addr, b, 16);
            sa = (const struct sockaddr *)&s6;
        }
        int merr = MMDB_SUCCESS;
        MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&db, sa, &merr);
        if (merr != MMDB_SUCCESS && merr != MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
            diag_set(d, mmdb_path, 0, "lookup of %s: %s", x.lookup, MMDB_strerror(merr));
            rc = DNSD_EMALFORMED;
            goto out;
        }
        if (merr == MMDB_SUCCESS && res.found_entry) {
            x.found = true;
            int mr = rec_read(&sc, &res.entry, &x.rec);
            if (mr == MMDB_SUCCESS) {
                mr = rec_check(&res.entry);
            }
            if (mr != MMDB_SUCCESS) {
                diag_set(d, mmdb_path, 0, "corrupt data section at offset %u: %s",
                         res.entry.offset, MMDB_strerror(mr));
                rc = DNSD_EMALFORMED;
                goto out;
            }
            unsigned len = res.netmask;
            if (x.v4 && db.metadata.ip_version == 6) {
                len = len >= 96 ? len - 96 : 0;
            }
            unsigned w = x.v4 ? 32 : 128;
            net_text(x.network, sizeof(x.network), x.a & net_mask(len, w), len, x.v4);
        }
    }
    if (x.cidr) {
        x.region = x.cidr->id;
        x.by = BY_CIDR;
        snprintf(x.what, sizeof(x.what), "%s", x.cidr_net);
    } else if (x.found) {
        x.region = rec_match(&m, &x.rec, &x.by, x.what, sizeof(x.what));
    } else {
        x.region = GEO_REGION_DEFAULT;
        x.by = x.have_db ? BY_NOT_IN_DB : BY_DEFAULT;
    }
    explain_fill(&x, &m, x.have_db ? &db : NULL, &sc, out);
    rc = 0;
out:
    if (x.have_db) {
        MMDB_close(&db);
    }
    geo_table_free(gt);
    matcher_fini(&m);
    return rc;
}

/* ---- country shares (dnsctl geo map) ---- */

static int cmp_share(const void *a, const void *b)
{
    const geo_share_t *x = a, *y = b;
    if (x->addrs != y->addrs) {
        return x->addrs > y->addrs ? -1 : 1;
    }
    return x->region < y->region ? -1 : x->region > y->region;
}

/* Add @p n addresses of country index @p cc (code2()) to region @p region. */
static void share_add(geo_country_share_t *all, int cc, uint16_t region, uint64_t n)
{
    geo_country_share_t *c = &all[cc];
    c->addrs += n;
    for (size_t i = 0; i < c->nshares; i++) {
        if (c->shares[i].region == region) {
            c->shares[i].addrs += n;
            return;
        }
    }
    c->shares = xrealloc(c->shares, (c->nshares + 1) * sizeof(*c->shares));
    c->shares[c->nshares].region = region;
    c->shares[c->nshares].addrs = n;
    c->nshares++;
}

int geo_country_shares(const char *mmdb_path, const geo_paths_t *paths,
                       const geo_region_t *regions, size_t nregions, geo_shares_t *out, diag_t *d)
{
    matcher_t m;
    MMDB_s db;
    bool db_open_ok = false;
    part_t reg = {0}, cc = {0}, cp = {0}, fin = {0}, p6 = {0};
    geo_parts_t parts = {0};
    schema_t sc;
    geo_country_share_t *all = NULL;
    int rc;
    memset(out, 0, sizeof(*out));
    if ((rc = matcher_init(&m, regions, nregions, d))) {
        return rc;
    }
    if ((rc = db_open(mmdb_path, &db, d))) {
        goto out;
    }
    db_open_ok = true;
    schema_pick(&db, paths, &sc);
    /* the IPv4 regions exactly as geo_table_build() decides them: DB, then CIDRs over it */
    rc = db_walk(&db, &m, &sc, &reg, &p6, &parts, false, d);
    part_fini(&p6);
    if (rc) {
        goto out;
    }
    cidr_partition(m.cidr[0], m.ncidr[0], 0xffffffffu, &cp);
    part_overlay(&reg, &cp, &fin);
    /* the same address space by country, then one sweep over both partitions */
    if ((rc = db_walk(&db, &m, &sc, &cc, NULL, NULL, true, d))) {
        goto out;
    }
    all = xcalloc(26 * 26, sizeof(*all));
    size_t i = 0, j = 0;
    uint32_t rcur = GEO_REGION_DEFAULT, ccur = 0;
    geo_u128_t k = 0;
    while (i < fin.n || j < cc.n) {
        if (j >= cc.n || (i < fin.n && fin.key[i] < cc.key[j])) {
            k = fin.key[i];
        } else {
            k = cc.key[j];
        }
        if (i < fin.n && fin.key[i] == k) {
            rcur = fin.reg[i++];
        }
        if (j < cc.n && cc.key[j] == k) {
            ccur = cc.reg[j++];
        }
        geo_u128_t next = 0x100000000u; /* the end of the segment that starts at k */
        if (i < fin.n) {
            next = fin.key[i];
        }
        if (j < cc.n && cc.key[j] < next) {
            next = cc.key[j];
        }
        if (ccur > 0 && ccur <= 26 * 26) {
            share_add(all, (int)ccur - 1, (uint16_t)rcur, (uint64_t)(next - k));
        }
    }
    for (int c = 0; c < 26 * 26; c++) {
        if (all[c].addrs) {
            out->n++;
        }
    }
    out->c = xcalloc(out->n ? out->n : 1, sizeof(*out->c));
    size_t n = 0;
    for (int c = 0; c < 26 * 26; c++) {
        if (!all[c].addrs) {
            continue;
        }
        geo_country_share_t *o = &out->c[n++];
        *o = all[c];
        all[c].shares = NULL;
        o->cc[0] = (char)('A' + c / 26);
        o->cc[1] = (char)('A' + c % 26);
        o->cc[2] = 0;
        qsort(o->shares, o->nshares, sizeof(*o->shares), cmp_share);
    }
    rc = 0;
out:
    if (all) {
        for (int c = 0; c < 26 * 26; c++) {
            free(all[c].shares);
        }
        free(all);
    }
    part_fini(&reg);
    part_fini(&cc);
    part_fini(&cp);
    part_fini(&fin);
    if (db_open_ok) {
        MMDB_close(&db);
    }
    matcher_fini(&m);
    return rc;
}

void geo_shares_fini(geo_shares_t *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->c[i].shares);
    }
    free(s->c);
    memset(s, 0, sizeof(*s));
}
