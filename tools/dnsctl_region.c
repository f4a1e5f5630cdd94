/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_region.c -- `dnsctl region add|set|del|list|show`, plus the region
 * helpers the other command groups share (names for output, --region
 * arguments).
 *
 * A region edit is one write transaction: the arguments are parsed (and
 * their syntax checked) before anything is written, then zw_region_put()/
 * zw_region_del(), which enforce the region rules for every writer (the
 * whole set, as dnsd's geo build would; zones re-checked on a new fallback:
 * zones/writer_region.c), and the commit. This file only prints the diag.
 * Deleting a region deletes its RRsets and bumps the SOA serial of every
 * zone that had some. (`geo lookup` is in dnsctl_geo.c.)
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"
#include "zones/rollout.h"

#define CIDR_STR_MAX 64

/* ---- shared helpers (dnsctl.h) ---- */

int ctl_regions_load(zs_store_t *s, MDB_txn *txn, ctl_regions_t *out)
{
    int err = zs_regions_load(s, txn, &out->rs, &out->n);
    if (err) {
        out->rs = NULL;
        out->n = 0;
        return ctl_err("cannot read the regions: %s", dnsd_strerror(err));
    }
    return CTL_OK;
}

void ctl_regions_fini(ctl_regions_t *r)
{
    free(r->rs);
    r->rs = NULL;
    r->n = 0;
}

const zs_region_t *ctl_regions_find(const ctl_regions_t *r, const char *name, uint16_t *id)
{
    if (strcmp(name, "default") == 0) {
        *id = ZS_REGION_DEFAULT;
        return NULL;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->rs[i].name, name) == 0) {
            *id = r->rs[i].id;
            return &r->rs[i];
        }
    }
    *id = UINT16_MAX;
    return NULL;
}

static const zs_region_t *find_id(const ctl_regions_t *r, uint16_t id)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->rs[i].id == id) {
            return &r->rs[i];
        }
    }
    return NULL;
}

const char *ctl_regions_name(const ctl_regions_t *r, uint16_t id, char *buf, size_t cap)
{
    if (id == ZS_REGION_DEFAULT) {
        return "default";
    }
    const zs_region_t *x = find_id(r, id);
    if (x) {
        return x->name;
    }
    snprintf(buf, cap, "#%u", id);
    return buf;
}

int ctl_region_get(zs_store_t *s, MDB_txn *txn, const char *name, uint16_t *id)
{
    ctl_regions_t r;
    if (!name) {
        *id = ZS_REGION_DEFAULT;
        return CTL_OK;
    }
    if (ctl_regions_load(s, txn, &r) != CTL_OK) {
        return CTL_FAIL;
    }
    ctl_regions_find(&r, name, id);
    ctl_regions_fini(&r);
    if (*id == UINT16_MAX) {
        return ctl_err("no such region: %s (see `dnsctl region list`)", name);
    }
    return CTL_OK;
}

/* ---- argument checks ---- */

static int check_name(const char *name)
{
    size_t n = strlen(name);
    if (strcmp(name, "default") == 0) {
        return ctl_err("region name \"default\" is reserved (the region every chain ends in)");
    }
    if (strchr(name, '.')) {
        return ctl_err("region name \"%s\": a name with \".\" is reserved for the canary "
                       "regions of certificate rollouts (\"<region>.canary\", made by the "
                       "rollout itself); use 1 to %d lower-case letters, digits and \"-\"",
                       name, ZS_REGION_NAME_MAX);
    }
    bool ok = n >= 1 && n <= ZS_REGION_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = name[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
    }
    if (!ok) {
        return ctl_err("region name \"%s\": use 1 to %d lower-case letters, digits and \"-\"",
                       name, ZS_REGION_NAME_MAX);
    }
    return CTL_OK;
}

enum list_kind { L_CONTINENT, L_COUNTRY, L_SUBDIVISION, L_CIDR };

static const char *const list_opt[] = {"--continent", "--country", "--subdivision", "--cidr"};

static void upper(char *s)
{
    for (; *s; s++) {
        *s = (char)toupper((unsigned char)*s);
    }
}

/* "192.0.2.1/24": why zs_cidr_parse() refused it, in words (parse_cidr() says) */
static int cidr_error(const char *item)
{
    parse_cidr_t c;
    const char *why = "";
    if (parse_cidr(item, &c, &why) == 0) {
        return ctl_err("--cidr \"%s\": refused", item);
    }
    if (strcmp(why, "no prefix length") == 0) {
        return ctl_err("--cidr \"%s\": give a network with its prefix length "
                       "(192.0.2.0/24, 2001:db8::/32)", item);
    }
    if (strcmp(why, "not an IPv4 or IPv6 address") == 0) {
        int al = (int)(strchr(item, '/') - item);
        return ctl_err("--cidr \"%s\": \"%.*s\" is not an IPv4 or IPv6 address", item, al, item);
    }
    int bits = c.family == 4 ? 32 : 128;
    if (strcmp(why, "prefix length out of range") == 0) {
        return ctl_err("--cidr \"%s\": the prefix length must be 0 to %d", item, bits);
    }
    /* host bits set: say which network was meant */
    for (int i = c.len; i < bits; i++) {
        c.addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
    }
    char net[64];
    inet_ntop(bits == 32 ? AF_INET : AF_INET6, c.addr, net, sizeof(net));
    return ctl_err("--cidr \"%s\": host bits are set past /%u (the network is %s/%u)", item, c.len,
                   net, c.len);
}

/*
 * Parse a comma-separated list into @p r's list of @p kind (replacing it):
 * items are checked and normalised (codes upper-cased), repeats dropped.
 * "" gives an empty list. CTL_OK or CTL_FAIL (printed).
 */
static int parse_list(const char *text, enum list_kind kind, zs_region_t *r)
{
    const char *opt = list_opt[kind];
    int *count = kind == L_CONTINENT ? &r->ncont
                 : kind == L_COUNTRY ? &r->ncountry
                 : kind == L_SUBDIVISION ? &r->nsubdiv
                                         : &r->ncidr;
    *count = 0;
    if (!*text) {
        return CTL_OK;
    }
    char *copy = xstrdup(text), *save = NULL;
    int rc = CTL_OK;
    size_t len = strlen(text);
    if (text[0] == ',' || text[len - 1] == ',' || strstr(text, ",,")) {
        rc = ctl_err("%s \"%s\": an empty item in the list", opt, text);
        goto out;
    }
    for (char *it = strtok_r(copy, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        while (*it == ' ' || *it == '\t') {
            it++;
        }
        size_t n = strlen(it);
        while (n > 0 && (it[n - 1] == ' ' || it[n - 1] == '\t')) {
            it[--n] = 0;
        }
        if (n == 0) {
            rc = ctl_err("%s \"%s\": an empty item in the list", opt, text);
            goto out;
        }
        if (*count == ZS_REGION_LIST_MAX) {
            rc = ctl_err("%s: at most %d items", opt, ZS_REGION_LIST_MAX);
            goto out;
        }
        bool dup = false;
        if (kind == L_CIDR) {
            zs_cidr_t cd;
            if (zs_cidr_parse(it, &cd) != 0) {
                rc = cidr_error(it);
                goto out;
            }
            for (int i = 0; i < *count && !dup; i++) {
                dup = r->cidr[i].family == cd.family && r->cidr[i].len == cd.len &&
                      memcmp(r->cidr[i].addr, cd.addr, 16) == 0;
            }
            if (!dup) {
                r->cidr[(*count)++] = cd;
            }
            continue;
        }
        /* every valid code fits; a longer item is refused below by its length */
        char code[16];
        snprintf(code, sizeof(code), "%s", it);
        upper(code);
        if (kind == L_CONTINENT && !zs_continent_ok(code)) {
            rc = ctl_err("%s \"%s\": \"%s\" is not a continent code (AF AN AS EU NA OC SA)", opt,
                         text, it);
            goto out;
        }
        if (kind == L_COUNTRY && (n != 2 || !isalpha((unsigned char)code[0]) ||
                                  !isalpha((unsigned char)code[1]))) {
            rc = ctl_err("%s \"%s\": \"%s\" is not a country code (two letters, ISO 3166-1: DE)",
                         opt, text, it);
            goto out;
        }
        if (kind == L_SUBDIVISION) {
            bool ok = n >= 4 && n <= 6 && isalpha((unsigned char)code[0]) &&
                      isalpha((unsigned char)code[1]) && code[2] == '-';
            for (size_t i = 3; ok && i < n; i++) {
                ok = isalnum((unsigned char)code[i]);
            }
            if (!ok) {
                rc = ctl_err("%s \"%s\": \"%s\" is not a subdivision code (ISO 3166-2: country, "
                             "\"-\", 1 to 3 letters or digits: US-CA)", opt, text, it);
                goto out;
            }
        }
        char(*dst)[3] = kind == L_CONTINENT ? r->cont : r->country;
        for (int i = 0; i < *count && !dup; i++) {
            dup = strcmp(kind == L_SUBDIVISION ? r->subdiv[i] : dst[i], code) == 0;
        }
        if (dup) {
            continue;
        }
        if (kind == L_SUBDIVISION) {
            memcpy(r->subdiv[(*count)++], code, n + 1);
        } else {
            memcpy(dst[(*count)++], code, 3);
        }
    }
out:
    free(copy);
    return rc;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    while (*end == ' ') {
        end++;
    }
    return end != s && !*end && !errno && isfinite(*out);
}

static int parse_coords(const char *text, zs_region_t *r)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", text);
    char *comma = strchr(buf, ',');
    double lat, lon;
    if (!comma || strchr(comma + 1, ',')) {
        return ctl_err("--coords \"%s\": give LAT,LON in decimal degrees (48.14,11.58)", text);
    }
    *comma = 0;
    if (!parse_double(buf, &lat) || !parse_double(comma + 1, &lon)) {
        return ctl_err("--coords \"%s\": give LAT,LON in decimal degrees (48.14,11.58)", text);
    }
    if (lat < -90 || lat > 90) {
        return ctl_err("--coords \"%s\": latitude %s is out of range (-90 to 90)", text, buf);
    }
    if (lon < -180 || lon > 180) {
        return ctl_err("--coords \"%s\": longitude %s is out of range (-180 to 180)", text,
                       comma + 1);
    }
    r->has_coords = true;
    r->lat = lat;
    r->lon = lon;
    return CTL_OK;
}

/* Apply the region options of @p c to @p r (a list given replaces the list). */
static int apply_options(const ctl_t *c, zs_region_t *r)
{
    const char *lists[4] = {c->continent, c->country, c->subdivision, c->cidr};
    for (int k = 0; k < 4; k++) {
        if (lists[k] && parse_list(lists[k], (enum list_kind)k, r) != CTL_OK) {
            return CTL_FAIL;
        }
    }
    if (c->coords && parse_coords(c->coords, r) != CTL_OK) {
        return CTL_FAIL;
    }
    if (c->opt_seen & CTL_OPT_NO_COORDS) {
        r->has_coords = false;
        r->lat = r->lon = 0;
    }
    return CTL_OK;
}

/* "eu -> default" (the regions @p id falls back to, not @p id itself) */
static void chain_str(const ctl_regions_t *all, uint16_t id, char *buf, size_t cap)
{
    size_t o = 0;
    char nb[16];
    buf[0] = 0;
    if (id == ZS_REGION_DEFAULT) {
        snprintf(buf, cap, "-");
        return;
    }
    const zs_region_t *r = find_id(all, id);
    uint16_t cur = r ? r->parent : ZS_REGION_DEFAULT;
    for (int depth = 0; depth <= ZS_REGION_CHAIN_MAX && o < cap; depth++) {
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", depth ? " -> " : "",
                              ctl_regions_name(all, cur, nb, sizeof(nb)));
        if (cur == ZS_REGION_DEFAULT) {
            break;
        }
        r = find_id(all, cur);
        cur = r ? r->parent : ZS_REGION_DEFAULT;
    }
}

/* ---- region add / set ---- */

/*
 * Print the writer's refusal of a region edit: a code or network taken is
 * named by the option that gave it (d->file is the field), a zone check by
 * its zone, anything else by the command.
 */
static void region_diag(const char *cmd, const char *name, const diag_t *d)
{
    static const char *const fields[] = {"continent", "country", "subdivision", "cidr"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strcmp(d->file, fields[i]) == 0) {
            const char *colon = strchr(d->text, ':');
            int il = colon ? (int)(colon - d->text) : 0;
            ctl_err("--%s %.*s%s", d->file, il, d->text, colon ? colon : d->text);
            return;
        }
    }
    if (strncmp(d->file, "zone ", 5) == 0) {
        ctl_err("refused: %s: %s", d->file, d->text);
        return;
    }
    ctl_err("%s %s: %s", cmd, name, d->text[0] ? d->text : "refused");
}

static int region_put(ctl_t *c, bool add)
{
    const char *cmd = add ? "region add" : "region set";
    zs_store_t *s = NULL;
    zw_t w = {0};
    ctl_regions_t all = {0};
    zs_region_t *r = xcalloc(1, sizeof(*r));
    diag_t d = {0};
    char chain[ZS_REGION_CHAIN_MAX * (ZS_REGION_NAME_MAX + 4) + 16];
    int rc, err;

    if ((rc = ctl_check_args(c, cmd, CTL_OPT_REGION_DEF & ~(add ? CTL_OPT_NO_COORDS : 0u), 1,
                             1))) {
        goto out;
    }
    if ((c->opt_seen & CTL_OPT_COORDS) && (c->opt_seen & CTL_OPT_NO_COORDS)) {
        rc = ctl_usage("%s: --coords and --no-coords together", cmd);
        goto out;
    }
    if (!add && !(c->opt_seen & CTL_OPT_REGION_DEF)) {
        rc = ctl_usage("region set %s: nothing to change (give --continent, --country, "
                       "--subdivision, --cidr, --fallback, --coords or --no-coords)", c->argv[0]);
        goto out;
    }
    rc = CTL_FAIL;
    const char *name = c->argv[0];
    if (check_name(name) != CTL_OK) {
        goto out;
    }
    if (ctl_write_begin(c, add, &s, &w) != CTL_OK) {
        goto out;
    }
    if (ctl_regions_load(s, w.txn, &all) != CTL_OK) {
        goto out;
    }
    uint16_t id;
    const zs_region_t *old = ctl_regions_find(&all, name, &id);
    if (add && old) {
        ctl_err("region %s already exists (id %u; `dnsctl region set` changes it)", name, id);
        goto out;
    }
    if (!add && !old) {
        ctl_err("no such region: %s (see `dnsctl region list`)", name);
        goto out;
    }
    if (old) {
        *r = *old;
    } else {
        snprintf(r->name, sizeof(r->name), "%s", name);
    }
    if (apply_options(c, r) != CTL_OK) {
        goto out;
    }
    if (c->fallback) {
        uint16_t pid;
        ctl_regions_find(&all, c->fallback, &pid);
        if (pid == UINT16_MAX) {
            ctl_err("--fallback %s: no such region", c->fallback);
            goto out;
        }
        if (old && pid == old->id) {
            ctl_err("--fallback %s: a region cannot fall back to itself", c->fallback);
            goto out;
        }
        r->parent = pid;
    }
    /* the writer enforces the region rules (zs_regions_check(), zone re-checks) */
    if ((err = zw_region_put(&w, r, &d)) != 0) {
        region_diag(cmd, name, &d);
        goto out;
    }
    /* the chain as it will be committed */
    ctl_regions_fini(&all);
    if (ctl_regions_load(s, w.txn, &all) != CTL_OK) {
        goto out;
    }
    chain_str(&all, r->id, chain, sizeof(chain));
    if ((err = zw_commit(&w, NULL)) != 0) {
        ctl_err("cannot commit: %s", dnsd_strerror(err));
        goto out;
    }
    printf("%s region %s (id %u), falls back to %s\n", add ? "added" : "updated", r->name, r->id,
           chain);
    rc = CTL_OK;
out:
    zw_abort(&w);
    ctl_regions_fini(&all);
    zs_close(s);
    free(r);
    return rc;
}

/* ---- region del ---- */

/* a region's RRsets and records, in all zones (region del, region show) */
typedef struct count_ctx {
    uint16_t id;
    unsigned long rrsets, records, zones;
    unsigned long z_rrsets; /* in the zone being walked */
} count_ctx_t;

static int count_region_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    count_ctx_t *x = arg;
    (void)owner;
    if (rr->region == x->id) {
        x->z_rrsets++;
        x->rrsets++;
        x->records += rr->count;
    }
    return 0;
}

typedef struct zone_vec {
    zw_zone_t *z;
    size_t n, cap;
} zone_vec_t;

static int collect_zone_cb(const zw_zone_t *z, void *arg)
{
    zone_vec_t *v = arg;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->z = xrealloc(v->z, v->cap * sizeof(*v->z));
    }
    v->z[v->n++] = *z;
    return 0;
}

static int region_del(ctl_t *c)
{
    zs_store_t *s = NULL;
    zw_t w = {0};
    ctl_regions_t all = {0};
    zone_vec_t zones = {0};
    diag_t d = {0};
    int rc, err;

    if ((rc = ctl_check_args(c, "region del", 0, 1, 1))) {
        return rc;
    }
    rc = CTL_FAIL;
    const char *name = c->argv[0];
    if (strcmp(name, "default") == 0) {
        return ctl_err("the default region cannot be deleted (every chain ends in it)");
    }
    if (ctl_write_begin(c, false, &s, &w) != CTL_OK) {
        goto out;
    }
    if (ctl_regions_load(s, w.txn, &all) != CTL_OK) {
        goto out;
    }
    uint16_t id;
    if (!ctl_regions_find(&all, name, &id)) {
        ctl_err("no such region: %s (see `dnsctl region list`)", name);
        goto out;
    }
    for (size_t i = 0; i < all.n; i++) {
        if (all.rs[i].parent == id) {
            ctl_err("cannot delete region %s: region %s falls back to it (`dnsctl region set "
                    "%s --fallback ...` first)", name, all.rs[i].name, all.rs[i].name);
            goto out;
        }
    }
    /* its RRsets, zone by zone: counted, deleted, and the zone's serial bumped */
    count_ctx_t x = {id, 0, 0, 0, 0};
    if ((err = zw_foreach_zone(s, w.txn, collect_zone_cb, &zones)) != 0) {
        ctl_err("cannot list zones: %s", dnsd_strerror(err));
        goto out;
    }
    for (size_t i = 0; i < zones.n; i++) {
        char zn[CTL_NAME_STR_MAX];
        x.z_rrsets = 0;
        if ((err = zw_foreach_rrset(s, w.txn, &zones.z[i], count_region_cb, &x)) != 0) {
            ctl_err("zone %s: %s", ctl_name_str(zones.z[i].apex, zn), dnsd_strerror(err));
            goto out;
        }
        if (x.z_rrsets == 0) {
            continue;
        }
        x.zones++;
        /* the writer bumps the zone's serial and journals the removal at commit */
        if ((err = zw_zone_clear(&w, &zones.z[i], id, false)) != 0) {
            ctl_err("zone %s: cannot delete the region's records: %s",
                    ctl_name_str(zones.z[i].apex, zn), dnsd_strerror(err));
            goto out;
        }
    }
    if ((err = zw_region_del(&w, id, &d)) != 0) {
        ctl_err("cannot delete region %s: %s", name, d.text[0] ? d.text : dnsd_strerror(err));
        goto out;
    }
    if (ctl_commit(&w, "refused") != CTL_OK) {
        goto out;
    }
    rc = CTL_OK;
    if (x.rrsets == 0) {
        printf("deleted region %s (id %u); it had no records\n", name, id);
    } else {
        printf("deleted region %s (id %u) and its %lu RRset%s (%lu record%s) in %lu zone%s\n",
               name, id, x.rrsets, x.rrsets == 1 ? "" : "s", x.records,
               x.records == 1 ? "" : "s", x.zones, x.zones == 1 ? "" : "s");
    }
out:
    zw_abort(&w);
    ctl_regions_fini(&all);
    free(zones.z);
    zs_close(s);
    return rc;
}

/* ---- region list / show ---- */

/* "48.137" (no trailing zeros; also a valid JSON number) */
static void fmt_num(double v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.6f", v);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *e = buf + strlen(buf) - 1;
        while (e > dot && *e == '0') {
            *e-- = 0;
        }
        if (e == dot) {
            *e = 0;
        }
    }
    if (strcmp(buf, "-0") == 0) {
        snprintf(buf, cap, "0");
    }
}

typedef struct lists_text {
    char cont[ZS_REGION_LIST_MAX * 3 + 2];
    char country[ZS_REGION_LIST_MAX * 3 + 2];
    char subdiv[ZS_REGION_LIST_MAX * 8 + 2];
    char cidr[ZS_REGION_LIST_MAX * CIDR_STR_MAX + 2];
    char coords[64];
} lists_text_t;

static void join_codes(char *buf, size_t cap, int n, const char *first, size_t stride)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o < cap; i++) {
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "," : "", first + (size_t)i * stride);
    }
    if (n == 0) {
        snprintf(buf, cap, "-");
    }
}

static void lists_text(const zs_region_t *r, lists_text_t *t)
{
    join_codes(t->cont, sizeof(t->cont), r->ncont, r->cont[0], sizeof(r->cont[0]));
    join_codes(t->country, sizeof(t->country), r->ncountry, r->country[0], sizeof(r->country[0]));
    join_codes(t->subdiv, sizeof(t->subdiv), r->nsubdiv, r->subdiv[0], sizeof(r->subdiv[0]));
    size_t o = 0;
    t->cidr[0] = 0;
    for (int i = 0; i < r->ncidr; i++) {
        char cb[CIDR_STR_MAX];
        zs_cidr_str(&r->cidr[i], cb, sizeof(cb));
        o += (size_t)snprintf(t->cidr + o, sizeof(t->cidr) - o, "%s%s", i ? "," : "", cb);
    }
    if (r->ncidr == 0) {
        snprintf(t->cidr, sizeof(t->cidr), "-");
    }
    if (r->has_coords) {
        char la[32], lo[32];
        fmt_num(r->lat, la, sizeof(la));
        fmt_num(r->lon, lo, sizeof(lo));
        snprintf(t->coords, sizeof(t->coords), "%s,%s", la, lo);
    } else {
        snprintf(t->coords, sizeof(t->coords), "-");
    }
}

static void json_codes(int n, const char *first, size_t stride)
{
    printf("[");
    for (int i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        json_str(stdout, first + (size_t)i * stride);
    }
    printf("]");
}

/*
 * The region as a JSON object (no newline); @p r NULL: default. With @p x
 * (region show), also the regions that fall back to it and its record counts.
 * With @p open, the closing brace is left for the caller (more members follow).
 */
static void region_json(const ctl_regions_t *all, const zs_region_t *r, const count_ctx_t *x,
                        bool open)
{
    static const zs_region_t dflt = {.name = "default"};
    char nb[16];
    if (!r) {
        r = &dflt;
    }
    printf("{\"name\": ");
    json_str(stdout, r->name);
    printf(", \"id\": %u, \"fallback\": ", r->id);
    if (r == &dflt) {
        printf("null");
    } else {
        json_str(stdout, ctl_regions_name(all, r->parent, nb, sizeof(nb)));
    }
    printf(", \"chain\": [");
    json_str(stdout, r->name);
    uint16_t cur = r == &dflt ? ZS_REGION_DEFAULT : r->parent;
    for (int depth = 0; r != &dflt && depth <= ZS_REGION_CHAIN_MAX; depth++) {
        printf(", ");
        json_str(stdout, ctl_regions_name(all, cur, nb, sizeof(nb)));
        if (cur == ZS_REGION_DEFAULT) {
            break;
        }
        const zs_region_t *p = find_id(all, cur);
        cur = p ? p->parent : ZS_REGION_DEFAULT;
    }
    printf("], \"continents\": ");
    json_codes(r->ncont, r->cont[0], sizeof(r->cont[0]));
    printf(", \"countries\": ");
    json_codes(r->ncountry, r->country[0], sizeof(r->country[0]));
    printf(", \"subdivisions\": ");
    json_codes(r->nsubdiv, r->subdiv[0], sizeof(r->subdiv[0]));
    printf(", \"cidrs\": [");
    for (int i = 0; i < r->ncidr; i++) {
        char cb[CIDR_STR_MAX];
        zs_cidr_str(&r->cidr[i], cb, sizeof(cb));
        printf("%s", i ? ", " : "");
        json_str(stdout, cb);
    }
    printf("], \"coords\": ");
    if (r->has_coords) {
        char la[32], lo[32];
        fmt_num(r->lat, la, sizeof(la));
        fmt_num(r->lon, lo, sizeof(lo));
        printf("{\"lat\": %s, \"lon\": %s}", la, lo);
    } else {
        printf("null");
    }
    /* a canary region (zones/rollout.h): only a rollout's split sends clients there */
    printf(", \"canary\": %s", r != &dflt && zs_region_is_canary(r) ? "true" : "false");
    if (x) {
        printf(", \"fallback_of\": [");
        int k = 0;
        for (size_t i = 0; i < all->n; i++) {
            if (all->rs[i].parent == x->id) {
                printf("%s", k++ ? ", " : "");
                json_str(stdout, all->rs[i].name);
            }
        }
        printf("], \"rrsets\": %lu, \"records\": %lu, \"zones\": %lu", x->rrsets, x->records,
               x->zones);
    }
    if (!open) {
        printf("}");
    }
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const zs_region_t *)a)->name, ((const zs_region_t *)b)->name);
}

/* open read-only and load the regions: CTL_OK with *s, *txn, *all set */
static int read_begin(ctl_t *c, zs_store_t **s, MDB_txn **txn, ctl_regions_t *all)
{
    if (ctl_read_begin(c, s, txn) != CTL_OK) {
        return CTL_FAIL;
    }
    return ctl_regions_load(*s, *txn, all);
}

static int region_list(ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    ctl_regions_t all = {0};
    zs_region_t *sorted = NULL;
    int rc;

    if ((rc = ctl_check_args(c, "region list", CTL_OPT_JSON, 0, 0))) {
        return rc;
    }
    rc = CTL_FAIL;
    if (read_begin(c, &s, &txn, &all) != CTL_OK) {
        goto out;
    }
    /* by name, default first; the chains are computed on the id-ordered set */
    sorted = xmalloc((all.n + 1) * sizeof(*sorted));
    if (all.n) {
        memcpy(sorted, all.rs, all.n * sizeof(*sorted));
    }
    qsort(sorted, all.n, sizeof(*sorted), cmp_name);
    if (c->json) {
        printf("[\n  ");
        region_json(&all, NULL, NULL, false);
        for (size_t i = 0; i < all.n; i++) {
            printf(",\n  ");
            region_json(&all, &sorted[i], NULL, false);
        }
        printf("\n]\n");
        rc = CTL_OK;
        goto out;
    }
    ctl_table_t t;
    ctl_table_init(&t, 8);
    t.right[1] = true;
    const char *hdr[8] = {"NAME",      "ID",           "FALLBACK CHAIN", "CONTINENTS",
                          "COUNTRIES", "SUBDIVISIONS", "CIDRS",          "COORDS"};
    const char *drow[8] = {"default", "0", "-", "-", "-", "-", "-", "-"};
    ctl_table_add(&t, hdr);
    ctl_table_add(&t, drow);
    lists_text_t *lt = xmalloc(sizeof(*lt));
    for (size_t i = 0; i < all.n; i++) {
        char id[8], chain[ZS_REGION_CHAIN_MAX * (ZS_REGION_NAME_MAX + 4) + 16];
        snprintf(id, sizeof(id), "%u", sorted[i].id);
        chain_str(&all, sorted[i].id, chain, sizeof(chain));
        lists_text(&sorted[i], lt);
        char name[ZS_REGION_NAME_MAX + 16];
        snprintf(name, sizeof(name), "%s%s", sorted[i].name,
                 zs_region_is_canary(&sorted[i]) ? " (canary)" : "");
        const char *row[8] = {name, id, chain, lt->cont, lt->country, lt->subdiv, lt->cidr,
                              lt->coords};
        ctl_table_add(&t, row);
    }
    free(lt);
    ctl_table_print(&t, stdout);
    ctl_table_fini(&t);
    rc = CTL_OK;
out:
    if (txn) {
        mdb_txn_abort(txn);
    }
    free(sorted);
    ctl_regions_fini(&all);
    zs_close(s);
    return rc;
}

typedef struct show_zone_arg {
    zs_store_t *s;
    MDB_txn *txn;
    count_ctx_t *x;
} show_zone_arg_t;

static int show_zone_cb(const zw_zone_t *z, void *arg)
{
    show_zone_arg_t *a = arg;
    a->x->z_rrsets = 0;
    int err = zw_foreach_rrset(a->s, a->txn, z, count_region_cb, a->x);
    if (!err && a->x->z_rrsets) {
        a->x->zones++;
    }
    return err;
}

/* the canary splits (zones/rollout.h) into canary region @p id: one line each, or JSON */
typedef struct split_arg {
    uint16_t id;
    const zone_vec_t *zones;
    bool json;
    int n;
} split_arg_t;

static int split_cb(uint32_t zone, uint16_t region, const zs_rollout_t *r, void *arg)
{
    split_arg_t *a = arg;
    (void)region;
    if (r->canary != a->id) {
        return 0;
    }
    char zn[CTL_NAME_STR_MAX] = "?";
    for (size_t i = 0; i < a->zones->n; i++) {
        if (a->zones->z[i].id == zone) {
            ctl_name_str(a->zones->z[i].apex, zn);
        }
    }
    if (a->json) {
        printf("%s{\"zone\": ", a->n ? ", " : "");
        json_str(stdout, zn);
        printf(", \"permyriad\": %u, \"prefix4\": %u, \"prefix6\": %u}", r->permyriad,
               r->prefix4, r->prefix6);
    } else {
        printf("%s%s (p %u.%02u%%, by /%u and /%u)", a->n ? ", " : "", zn, r->permyriad / 100,
               r->permyriad % 100, r->prefix4, r->prefix6);
    }
    a->n++;
    return 0;
}

/* print the splits into canary region @p id (text: after "splits  "; JSON: an array) */
static int show_splits(zs_store_t *s, MDB_txn *txn, uint16_t id, bool json)
{
    zone_vec_t zones = {0};
    split_arg_t a = {id, &zones, json, 0};
    int err = zw_foreach_zone(s, txn, collect_zone_cb, &zones);
    if (json) {
        printf("[");
    }
    if (!err) {
        err = zw_rollout_foreach(s, txn, split_cb, &a);
    }
    printf(json ? "]" : a.n ? "\n" : "-\n");
    free(zones.z);
    return err;
}

static int region_show(ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    ctl_regions_t all = {0};
    int rc, err;

    if ((rc = ctl_check_args(c, "region show", CTL_OPT_JSON, 1, 1))) {
        return rc;
    }
    rc = CTL_FAIL;
    if (read_begin(c, &s, &txn, &all) != CTL_OK) {
        goto out;
    }
    uint16_t id;
    const zs_region_t *r = ctl_regions_find(&all, c->argv[0], &id);
    if (id == UINT16_MAX) {
        ctl_err("no such region: %s (see `dnsctl region list`)", c->argv[0]);
        goto out;
    }
    count_ctx_t x = {id, 0, 0, 0, 0};
    show_zone_arg_t za = {s, txn, &x};
    if ((err = zw_foreach_zone(s, txn, show_zone_cb, &za)) != 0) {
        ctl_err("cannot count the region's records: %s", dnsd_strerror(err));
        goto out;
    }
    rc = CTL_OK;
    bool canary = r && zs_region_is_canary(r);
    if (c->json) {
        region_json(&all, r, &x, canary);
        if (canary) {
            /* the canary splits into it (zones/rollout.h) close the object */
            printf(", \"splits\": ");
            if ((err = show_splits(s, txn, id, true)) != 0) {
                rc = ctl_err("cannot read the rollout splits: %s", dnsd_strerror(err));
            }
            printf("}");
        }
        printf("\n");
        goto out;
    }
    /* the regions whose next step is this one */
    char children[4096];
    size_t o = 0;
    children[0] = 0;
    for (size_t i = 0; i < all.n; i++) {
        if (all.rs[i].parent == id && o < sizeof(children)) {
            o += (size_t)snprintf(children + o, sizeof(children) - o, "%s%s", o ? "," : "",
                                  all.rs[i].name);
        }
    }
    static const zs_region_t dflt = {.name = "default"};
    lists_text_t *lt = xmalloc(sizeof(*lt));
    char chain[ZS_REGION_CHAIN_MAX * (ZS_REGION_NAME_MAX + 4) + 16];
    chain_str(&all, id, chain, sizeof(chain));
    lists_text(r ? r : &dflt, lt);
    printf("name          %s\n", r ? r->name : "default");
    if (r && zs_region_is_canary(r)) {
        char pb[16];
        printf("canary        yes: the canary pool of %s's certificate rollouts (only a split "
               "sends clients here)\n", ctl_regions_name(&all, r->parent, pb, sizeof(pb)));
    }
    printf("id            %u\n", id);
    printf("fallback      %s\n", chain);
    printf("continents    %s\n", lt->cont);
    printf("countries     %s\n", lt->country);
    printf("subdivisions  %s\n", lt->subdiv);
    printf("cidrs         %s\n", lt->cidr);
    printf("coords        %s\n", lt->coords);
    printf("fallback of   %s\n", children[0] ? children : "-");
    if (canary) {
        printf("splits        ");
        if ((err = show_splits(s, txn, id, false)) != 0) {
            rc = ctl_err("cannot read the rollout splits: %s", dnsd_strerror(err));
        }
    }
    printf("records       %lu RRset%s (%lu record%s) in %lu zone%s\n", x.rrsets,
           x.rrsets == 1 ? "" : "s", x.records, x.records == 1 ? "" : "s", x.zones,
           x.zones == 1 ? "" : "s");
    free(lt);
out:
    if (txn) {
        mdb_txn_abort(txn);
    }
    ctl_regions_fini(&all);
    zs_close(s);
    return rc;
}

int ctl_region(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "add") == 0) {
        return region_put(c, true);
    }
    if (strcmp(verb, "set") == 0) {
        return region_put(c, false);
    }
    if (strcmp(verb, "del") == 0 || strcmp(verb, "delete") == 0) {
        return region_del(c);
    }
    if (strcmp(verb, "list") == 0) {
        return region_list(c);
    }
    if (strcmp(verb, "show") == 0) {
        return region_show(c);
    }
    return ctl_usage("unknown command \"region %s\" (add, set, del, list, show)", verb);
}
