/* SPDX-License-Identifier: MIT */
/* regions.c -- regions in the store (see regions.h for the value format). Slow path. */
#include "zones/regions.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"
#include "zones/schema.h"

#define REGION_FORMAT 1

static uint64_t dbl_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    return b;
}

static double bits_dbl(uint64_t b)
{
    double v;
    memcpy(&v, &b, 8);
    return v;
}

size_t zs_region_encode(const zs_region_t *r, uint8_t *b)
{
    size_t o = 0;
    b[o++] = REGION_FORMAT;
    zs_put16(b + o, r->parent);
    o += 2;
    b[o++] = r->has_coords ? 1 : 0;
    zs_put64(b + o, dbl_bits(r->lat));
    zs_put64(b + o + 8, dbl_bits(r->lon));
    o += 16;
    size_t nl = strlen(r->name);
    b[o++] = (uint8_t)nl;
    memcpy(b + o, r->name, nl);
    o += nl;
    const char(*lists[3])[3] = {r->cont, r->country, NULL};
    int counts[3] = {r->ncont, r->ncountry, r->nsubdiv};
    for (int l = 0; l < 3; l++) {
        b[o++] = (uint8_t)counts[l];
        for (int i = 0; i < counts[l]; i++) {
            const char *t = l < 2 ? lists[l][i] : r->subdiv[i];
            size_t tl = strlen(t);
            b[o++] = (uint8_t)tl;
            memcpy(b + o, t, tl);
            o += tl;
        }
    }
    b[o++] = (uint8_t)r->ncidr;
    for (int i = 0; i < r->ncidr; i++) {
        size_t al = r->cidr[i].family == 4 ? 4 : 16;
        b[o++] = r->cidr[i].family;
        b[o++] = r->cidr[i].len;
        memcpy(b + o, r->cidr[i].addr, al);
        o += al;
    }
    return o;
}

static int get_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
    if (*p >= end) {
        return -1;
    }
    size_t l = **p;
    (*p)++;
    /* a NUL inside would make the string shorter than its length byte says */
    if ((size_t)(end - *p) < l || l >= cap || memchr(*p, 0, l)) {
        return -1;
    }
    memcpy(out, *p, l);
    out[l] = 0;
    *p += l;
    return 0;
}

#define CANARY_SUFFIX ".canary" /* zones/rollout.h's ZS_ROLLOUT_CANARY_SUFFIX */

/* 1-63 of [a-z0-9-], not "default"; or a canary region's "<name>.canary"
 * (zones/rollout.h) of such a name or of "default" */
static bool name_ok(const char *n)
{
    size_t l = strlen(n);
    size_t sl = strlen(CANARY_SUFFIX);
    if (l > sl && l <= ZS_REGION_NAME_MAX && strcmp(n + l - sl, CANARY_SUFFIX) == 0) {
        char base[ZS_REGION_NAME_MAX + 1];
        memcpy(base, n, l - sl);
        base[l - sl] = 0;
        return strcmp(base, "default") == 0 || name_ok(base);
    }
    if (l < 1 || l > ZS_REGION_NAME_MAX || strcmp(n, "default") == 0) {
        return false;
    }
    for (size_t i = 0; i < l; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* "EU", "DE": two upper-case letters */
static bool code2_ok(const char *c)
{
    return is_upper(c[0]) && is_upper(c[1]) && c[2] == 0;
}

/* "US-CA": country, "-", 1 to 3 upper-case letters or digits */
static bool subdiv_ok(const char *c)
{
    size_t l = strlen(c);
    if (l < 4 || l > 6 || !is_upper(c[0]) || !is_upper(c[1]) || c[2] != '-') {
        return false;
    }
    for (size_t i = 3; i < l; i++) {
        if (!is_upper(c[i]) && !(c[i] >= '0' && c[i] <= '9')) {
            return false;
        }
    }
    return true;
}

int zs_region_decode(uint16_t id, const uint8_t *v, size_t len, zs_region_t *r)
{
    const uint8_t *p = v, *end = v + len;
    memset(r, 0, sizeof(*r));
    r->id = id;
    /* the key: 0 is "default", never stored; 0xFFFF is no region's id */
    if (id == ZS_REGION_DEFAULT || id > ZS_REGION_ID_MAX) {
        return DNSD_ESTORE;
    }
    if (len < 21 || p[0] != REGION_FORMAT || (p[3] & ~1u) != 0) {
        return DNSD_ESTORE;
    }
    r->parent = zs_get16(p + 1);
    r->has_coords = p[3] & 1;
    r->lat = bits_dbl(zs_get64(p + 4));
    r->lon = bits_dbl(zs_get64(p + 12));
    if (r->parent == id || r->parent > ZS_REGION_ID_MAX) {
        return DNSD_ESTORE;
    }
    if (r->has_coords && !(isfinite(r->lat) && isfinite(r->lon) && r->lat >= -90 &&
                           r->lat <= 90 && r->lon >= -180 && r->lon <= 180)) {
        return DNSD_ESTORE;
    }
    p += 20;
    if (get_str(&p, end, r->name, sizeof(r->name)) != 0 || !name_ok(r->name)) {
        return DNSD_ESTORE;
    }
    int *counts[3] = {&r->ncont, &r->ncountry, &r->nsubdiv};
    for (int l = 0; l < 3; l++) {
        if (p >= end) {
            return DNSD_ESTORE;
        }
        *counts[l] = *p++;
        for (int i = 0; i < *counts[l]; i++) {
            char *dst = l == 0 ? r->cont[i] : l == 1 ? r->country[i] : r->subdiv[i];
            if (get_str(&p, end, dst, l < 2 ? 3 : 8) != 0 ||
                !(l < 2 ? code2_ok(dst) : subdiv_ok(dst))) {
                return DNSD_ESTORE;
            }
        }
    }
    if (p >= end) {
        return DNSD_ESTORE;
    }
    r->ncidr = *p++;
    for (int i = 0; i < r->ncidr; i++) {
        if (end - p < 2) {
            return DNSD_ESTORE;
        }
        uint8_t fam = p[0], pl = p[1];
        size_t al = fam == 4 ? 4 : fam == 6 ? 16 : 0;
        if (!al || pl > al * 8 || (size_t)(end - p) < 2 + al) {
            return DNSD_ESTORE;
        }
        r->cidr[i].family = fam;
        r->cidr[i].len = pl;
        memcpy(r->cidr[i].addr, p + 2, al);
        for (size_t b = pl; b < al * 8; b++) {
            if (r->cidr[i].addr[b / 8] & (0x80u >> (b % 8))) {
                return DNSD_ESTORE; /* host bits: zs_cidr_parse() never lets them in */
            }
        }
        p += 2 + al;
    }
    return p == end ? 0 : DNSD_ESTORE;
}

int zs_regions_load(zs_store_t *s, MDB_txn *txn, zs_region_t **out, size_t *n)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->regions, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    size_t cap = 8, cnt = 0;
    zs_region_t *arr = xmalloc(cap * sizeof(*arr));
    MDB_val key, val;
    int err = 0;
    rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
    while (rc == 0) {
        if (key.mv_size != 2) {
            err = DNSD_ESTORE;
            break;
        }
        if (cnt == cap) {
            cap *= 2;
            arr = xrealloc(arr, cap * sizeof(*arr));
        }
        if ((err = zs_region_decode(zs_get16(key.mv_data), val.mv_data, val.mv_size,
                                    &arr[cnt])) != 0) {
            break;
        }
        cnt++;
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (!err && rc != 0 && rc != MDB_NOTFOUND) {
        err = zs_mdb_err(rc);
    }
    if (err) {
        free(arr);
        return err;
    }
    *out = arr;
    *n = cnt;
    return 0;
}

int zs_region_id(zs_store_t *s, MDB_txn *txn, const char *name, uint16_t *id)
{
    if (strcmp(name, "default") == 0) {
        *id = 0;
        return 0;
    }
    zs_region_t *rs;
    size_t n;
    int err = zs_regions_load(s, txn, &rs, &n);
    if (err) {
        return err;
    }
    err = DNSD_ENOTFOUND;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rs[i].name, name) == 0) {
            *id = rs[i].id;
            err = 0;
            break;
        }
    }
    free(rs);
    return err;
}

int zs_regions_generation(zs_store_t *s, MDB_txn *txn, uint64_t *out)
{
    return zs_meta_u64(s, txn, ZS_META_REGIONS_GEN, out);
}

bool zs_continent_ok(const char *c)
{
    static const char *const all[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(c, all[i]) == 0) {
            return true;
        }
    }
    return false;
}

static const zs_region_t *by_id(const zs_region_t *rs, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (rs[i].id == id) {
            return &rs[i];
        }
    }
    return NULL;
}

static bool cidr_eq(const zs_cidr_t *a, const zs_cidr_t *b)
{
    return a->family == b->family && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

/* A code or network listed by two regions would be matched by whichever comes first. */
static int check_unique(const zs_region_t *r, const zs_region_t *o, diag_t *d)
{
    const char *what = "a code belongs to one region";
    for (int a = 0; a < r->ncont; a++) {
        for (int b = 0; b < o->ncont; b++) {
            if (strcmp(r->cont[a], o->cont[b]) == 0) {
                diag_set(d, "continent", 0, "%s: region %s already has it (%s)", r->cont[a],
                         o->name, what);
                return DNSD_EEXIST;
            }
        }
    }
    for (int a = 0; a < r->ncountry; a++) {
        for (int b = 0; b < o->ncountry; b++) {
            if (strcmp(r->country[a], o->country[b]) == 0) {
                diag_set(d, "country", 0, "%s: region %s already has it (%s)", r->country[a],
                         o->name, what);
                return DNSD_EEXIST;
            }
        }
    }
    for (int a = 0; a < r->nsubdiv; a++) {
        for (int b = 0; b < o->nsubdiv; b++) {
            if (strcmp(r->subdiv[a], o->subdiv[b]) == 0) {
                diag_set(d, "subdivision", 0, "%s: region %s already has it (%s)",
                         r->subdiv[a], o->name, what);
                return DNSD_EEXIST;
            }
        }
    }
    for (int a = 0; a < r->ncidr; a++) {
        for (int b = 0; b < o->ncidr; b++) {
            if (cidr_eq(&r->cidr[a], &o->cidr[b])) {
                char cb[64];
                zs_cidr_str(&r->cidr[a], cb, sizeof(cb));
                diag_set(d, "cidr", 0, "%s: region %s already has it (a network belongs to one "
                         "region)", cb, o->name);
                return DNSD_EEXIST;
            }
        }
    }
    return 0;
}

bool zs_region_is_canary(const zs_region_t *r)
{
    return strchr(r->name, '.') != NULL; /* zs_region_decode() lets only "<name>.canary" in */
}

/*
 * A canary region (zones/rollout.h) is "<parent's name>.canary", falls back
 * to that parent (not itself a canary region), and has no continent,
 * country, subdivision, CIDR or coordinates: the geo table never picks
 * it, only a rollout's split does. And no region falls back to one.
 */
static int check_canary(const zs_region_t *rs, size_t n, const zs_region_t *r, diag_t *d)
{
    const zs_region_t *p = r->parent ? by_id(rs, n, r->parent) : NULL;
    if (p && zs_region_is_canary(p)) {
        diag_set(d, "", 0, "region \"%s\" cannot fall back to canary region \"%s\" (only a "
                 "rollout's split sends clients there)", r->name, p->name);
        return DNSD_EMALFORMED;
    }
    if (!zs_region_is_canary(r)) {
        return 0;
    }
    size_t bl = strlen(r->name) - strlen(CANARY_SUFFIX);
    const char *pname = r->parent ? (p ? p->name : NULL) : "default";
    if (!pname || strlen(pname) != bl || strncmp(pname, r->name, bl) != 0) {
        diag_set(d, "", 0, "region \"%s\": a name with \".\" is a canary region, which falls "
                 "back to the region it is named after (\"%.*s\")", r->name, (int)bl, r->name);
        return DNSD_EMALFORMED;
    }
    if (r->ncont || r->ncountry || r->nsubdiv || r->ncidr || r->has_coords) {
        diag_set(d, "", 0, "canary region \"%s\" has no continent, country, subdivision, CIDR "
                 "or coordinates (only a rollout's split sends clients there)", r->name);
        return DNSD_EMALFORMED;
    }
    return 0;
}

int zs_regions_check(const zs_region_t *rs, size_t n, diag_t *d)
{
    int err = 0;
    uint8_t *buf = xmalloc(ZS_REGION_VALUE_MAX);
    zs_region_t *back = xmalloc(sizeof(*back));
    if (n > ZS_REGION_ID_MAX) {
        diag_set(d, "", 0, "%zu regions: at most %u", n, ZS_REGION_ID_MAX);
        err = DNSD_ELIMIT;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const zs_region_t *r = &rs[i];
        /* what a reader would refuse as damage is refused here */
        if (r->ncont < 0 || r->ncont > ZS_REGION_LIST_MAX || r->ncountry < 0 ||
            r->ncountry > ZS_REGION_LIST_MAX || r->nsubdiv < 0 ||
            r->nsubdiv > ZS_REGION_LIST_MAX || r->ncidr < 0 || r->ncidr > ZS_REGION_LIST_MAX ||
            memchr(r->name, 0, sizeof(r->name)) == NULL) {
            diag_set(d, "", 0, "region id %u: a list is longer than %d or the name is not "
                     "terminated", r->id, ZS_REGION_LIST_MAX);
            err = DNSD_EMALFORMED;
            goto out;
        }
        if (zs_region_decode(r->id, buf, zs_region_encode(r, buf), back) != 0) {
            diag_set(d, "", 0, "region \"%s\": a name, code, CIDR or coordinate is not valid",
                     r->name);
            err = DNSD_EMALFORMED;
            goto out;
        }
        for (int j = 0; j < r->ncont; j++) {
            if (!zs_continent_ok(r->cont[j])) {
                diag_set(d, "", 0, "region \"%s\": \"%s\" is not a continent code (AF AN AS EU "
                         "NA OC SA)", r->name, r->cont[j]);
                err = DNSD_EMALFORMED;
                goto out;
            }
        }
        for (size_t k = 0; k < i; k++) {
            if (rs[k].id == r->id) {
                diag_set(d, "", 0, "regions \"%s\" and \"%s\" have the same id %u",
                         rs[k].name, r->name, r->id);
                err = DNSD_EEXIST;
                goto out;
            }
            if (strcmp(rs[k].name, r->name) == 0) {
                diag_set(d, "", 0, "region \"%s\" already exists", r->name);
                err = DNSD_EEXIST;
                goto out;
            }
        }
        if ((err = check_canary(rs, n, r, d)) != 0) {
            goto out;
        }
        /* the chain: every parent exists, default within ZS_REGION_CHAIN_MAX steps */
        uint16_t cur = r->parent;
        for (int depth = 0; cur != ZS_REGION_DEFAULT; depth++) {
            const zs_region_t *p = by_id(rs, n, cur);
            if (!p) {
                diag_set(d, "", 0, "region \"%s\": fallback region id %u does not exist",
                         r->name, cur);
                err = DNSD_ENOTFOUND;
                goto out;
            }
            if (cur == r->id || depth >= ZS_REGION_CHAIN_MAX) {
                diag_set(d, "", 0, "fallback chain of region \"%s\" loops or is longer than %d",
                         r->name, ZS_REGION_CHAIN_MAX);
                err = DNSD_ELIMIT;
                goto out;
            }
            cur = p->parent;
        }
    }
    /* the later region of a pair is the one refused: the writer puts the edited region last */
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < i; k++) {
            if ((err = check_unique(&rs[i], &rs[k], d)) != 0) {
                goto out;
            }
        }
    }
out:
    free(buf);
    free(back);
    return err;
}

int zs_cidr_parse(const char *text, zs_cidr_t *out)
{
    parse_cidr_t c;
    memset(out, 0, sizeof(*out));
    int err = parse_cidr(text, &c, NULL);
    if (err) {
        return err;
    }
    out->family = c.family;
    out->len = c.len;
    memcpy(out->addr, c.addr, sizeof(out->addr));
    return 0;
}

void zs_cidr_str(const zs_cidr_t *c, char *buf, size_t cap)
{
    char a[INET6_ADDRSTRLEN];
    inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
    snprintf(buf, cap, "%s/%u", a, c->len);
}
