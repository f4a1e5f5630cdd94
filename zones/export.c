/* SPDX-License-Identifier: MIT */
/*
 * export.c -- zones and records in presentation format (see export.h).
 * Slow path, dnsctl and tests only; ldns prints the rdata.
 *
 * Owner names are printed by dname_to_str() (names.c), which escapes every
 * byte that could mean something to a zone-file reader ("$" at the start of
 * a line, "@", ";", quotes, blanks) as \DDD. Rdata is printed by ldns and
 * parsed back with zf_parse_rr(), the importer's own path; a record whose
 * text does not give back the same wire bytes (a type ldns prints lossily,
 * rdata ldns cannot decode) is printed in RFC 3597 generic form instead.
 *
 * zf_export_all() prints the default region, then one "$REGION name"
 * section per other region with records in the zone, sections in name
 * order: region ids differ between stores, names do not, so a file
 * exported from one store reads back into another that defines the same
 * regions and exports to the same bytes.
 */
#include "zones/export.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/import.h"
#include "zones/regions.h"
#include "zones/rrtype.h"

static char *generic_rdata(const uint8_t *rdata, uint16_t rdlen)
{
    size_t cap = 16 + 2 * (size_t)rdlen;
    char *s = xmalloc(cap);
    size_t o = (size_t)snprintf(s, cap, "\\# %u%s", rdlen, rdlen ? " " : "");
    for (unsigned i = 0; i < rdlen; i++) {
        o += (size_t)snprintf(s + o, cap - o, "%02x", rdata[i]);
    }
    return s;
}

/* ldns's text of the rdata, or NULL if ldns cannot decode it */
static char *ldns_rdata_text(uint16_t type, const uint8_t *rdata, uint16_t rdlen)
{
    /* a whole RR in wire form, owner ".", for ldns_wire2rr() */
    size_t wl = 1 + 10 + (size_t)rdlen;
    uint8_t *wire = xmalloc(wl);
    ldns_rr *rr = NULL;
    char *line = NULL, *res = NULL;
    size_t pos = 0;
    wire[0] = 0;
    zs_put16(wire + 1, type);
    zs_put16(wire + 3, 1); /* IN */
    zs_put32(wire + 5, 0);
    zs_put16(wire + 9, rdlen);
    memcpy(wire + 11, rdata, rdlen);
    if (ldns_wire2rr(&rr, wire, wl, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK ||
        pos != wl) {
        goto out;
    }
    line = ldns_rr2str_fmt(ldns_output_format_nocomments, rr);
    if (!line) {
        goto out;
    }
    /* "owner\tttl\tclass\ttype\trdata\n": the rdata is after the fourth tab */
    char *p = line;
    for (int i = 0; i < 4 && p; i++) {
        p = strchr(p, '\t');
        if (p) {
            p++;
        }
    }
    if (!p) {
        goto out;
    }
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t')) {
        n--;
    }
    res = xmalloc(n + 1);
    memcpy(res, p, n);
    res[n] = 0;
out:
    free(line);
    if (rr) {
        ldns_rr_free(rr);
    }
    free(wire);
    return res;
}

/* does "@ 0 IN <type> <text>" parse back (as an import would) to the same wire rdata? */
static bool reads_back(const char *type, const char *text, const uint8_t *rdata, uint16_t rdlen)
{
    static const uint8_t root[1] = {0};
    zf_rr_t rr;
    diag_t d;
    size_t n = strlen(type) + strlen(text) + 16;
    char *line = xmalloc(n);
    snprintf(line, n, "@ 0 IN %s %s", type, text);
    bool same = zf_parse_rr(line, root, 0, &rr, &d) == 0 && rr.rdlen == rdlen &&
                memcmp(rr.rdata, rdata, rdlen) == 0;
    zf_rr_fini(&rr);
    free(line);
    return same;
}

int zf_rr_text(const uint8_t *owner, uint16_t type, const uint8_t *rdata, uint16_t rdlen,
               zf_rr_text_t *out)
{
    char name[4 * DNAME_MAXLEN + 2];
    memset(out, 0, sizeof(*out));
    dname_to_str(owner, name, sizeof(name));
    out->owner = xstrdup(name);
    zf_type_str(type, out->type, sizeof(out->type));
    out->rdata = ldns_rdata_text(type, rdata, rdlen);
    if (out->rdata && (!out->rdata[0] || !reads_back(out->type, out->rdata, rdata, rdlen))) {
        free(out->rdata);
        out->rdata = NULL;
    }
    if (!out->rdata) {
        out->rdata = generic_rdata(rdata, rdlen);
        out->generic = true;
    }
    return 0;
}

void zf_rr_text_fini(zf_rr_text_t *t)
{
    if (t) {
        free(t->owner);
        free(t->rdata);
        t->owner = t->rdata = NULL;
    }
}

static int print_rrset(FILE *out, const uint8_t *owner, const zs_rrset_t *rr)
{
    size_t off = 0;
    const uint8_t *rd;
    uint16_t rl;
    while (zf_rrset_next(rr, &off, &rd, &rl)) {
        zf_rr_text_t t;
        int err = zf_rr_text(owner, rr->type, rd, rl, &t);
        if (err) {
            return err;
        }
        fprintf(out, "%s\t%u\tIN\t%s\t%s\n", t.owner, rr->ttl, t.type, t.rdata);
        zf_rr_text_fini(&t);
    }
    return 0;
}

struct export_ctx {
    FILE *out;
    const zw_zone_t *z;
    uint16_t region;
};

static int export_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    struct export_ctx *c = arg;
    if (rr->region != c->region || (rr->type == DNS_T_SOA && dname_eq(owner, c->z->apex))) {
        return 0;
    }
    return print_rrset(c->out, owner, rr);
}

int zf_export(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, uint16_t region, FILE *out,
              diag_t *d)
{
    char name[4 * DNAME_MAXLEN + 2];
    zs_rrset_t soa;
    uint32_t serial;
    int err;

    dname_to_str(z->apex, name, sizeof(name));
    if (zw_soa_serial(s, txn, z, &serial) == 0) {
        fprintf(out, "; zone %s serial %u", name, serial);
    } else {
        fprintf(out, "; zone %s (no SOA)", name);
    }
    if (region != ZS_REGION_DEFAULT) {
        zs_region_t *rs = NULL;
        size_t n = 0;
        const char *rn = NULL;
        if (zs_regions_load(s, txn, &rs, &n) == 0) {
            for (size_t i = 0; i < n; i++) {
                if (rs[i].id == region) {
                    rn = rs[i].name;
                }
            }
        }
        if (rn) {
            fprintf(out, " region %s", rn);
        } else {
            fprintf(out, " region #%u", region);
        }
        free(rs);
    }
    fputc('\n', out);
    err = zw_rrset_get(s, txn, z, z->apex, DNS_T_SOA, region, &soa);
    if (err == 0) {
        err = print_rrset(out, z->apex, &soa);
    } else if (err == DNSD_ENOTFOUND) {
        err = 0;
    }
    if (!err) {
        struct export_ctx c = {out, z, region};
        err = zw_foreach_rrset(s, txn, z, export_cb, &c);
    }
    if (err == DNSD_ESTORE) {
        diag_set(d, "", 0, "zone %s: damaged value in the store", name);
        return err;
    }
    if (err) {
        diag_set(d, "", 0, "zone %s: %s", name, dnsd_strerror(err));
        return err;
    }
    if (fflush(out) != 0 || ferror(out)) {
        diag_set(d, "", 0, "write error: %s", strerror(errno));
        return -EIO;
    }
    return 0;
}

/* ---- every region ---- */

struct present_ctx {
    bool *has;            /* [65536]: the region has RRsets in the zone */
    unsigned long n_other; /* RRsets outside default */
};

static int present_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    struct present_ctx *c = arg;
    (void)owner;
    if (rr->region != ZS_REGION_DEFAULT) {
        c->has[rr->region] = true;
        c->n_other++;
    }
    return 0;
}

static int cmp_region_name(const void *a, const void *b)
{
    const zs_region_t *x = *(const zs_region_t *const *)a, *y = *(const zs_region_t *const *)b;
    return strcmp(x->name, y->name);
}

int zf_export_all(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, FILE *out, diag_t *d)
{
    char name[4 * DNAME_MAXLEN + 2];
    struct present_ctx pc = {xcalloc(65536, sizeof(bool)), 0};
    zs_region_t *rs = NULL;
    const zs_region_t **sorted = NULL;
    size_t n = 0;
    int err = zf_export(s, txn, z, ZS_REGION_DEFAULT, out, d);
    if (err) {
        goto out;
    }
    dname_to_str(z->apex, name, sizeof(name));
    if ((err = zw_foreach_rrset(s, txn, z, present_cb, &pc)) != 0) {
        diag_set(d, "", 0, "zone %s: %s", name, dnsd_strerror(err));
        goto out;
    }
    if (pc.n_other == 0) {
        goto out;
    }
    if ((err = zs_regions_load(s, txn, &rs, &n)) != 0) {
        diag_set(d, "", 0, "cannot read the regions: %s", dnsd_strerror(err));
        goto out;
    }
    sorted = xcalloc(n + 1, sizeof(*sorted));
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        if (pc.has[rs[i].id]) {
            sorted[ns++] = &rs[i];
            pc.has[rs[i].id] = false;
        }
    }
    qsort(sorted, ns, sizeof(*sorted), cmp_region_name);
    for (size_t i = 0; i < ns && !err; i++) {
        struct export_ctx c = {out, z, sorted[i]->id};
        fprintf(out, "\n$REGION %s\n", sorted[i]->name);
        err = zw_foreach_rrset(s, txn, z, export_cb, &c);
    }
    /* RRsets under an id that no region has: dnsd never serves them, and a
     * file cannot name them; say so rather than drop them silently */
    for (unsigned id = 1; id < 65536 && !err; id++) {
        if (pc.has[id]) {
            fprintf(out, "\n; RRsets under region id %u, which no region has, are not exported\n",
                    id);
        }
    }
    if (err == DNSD_ESTORE) {
        diag_set(d, "", 0, "zone %s: damaged value in the store", name);
    } else if (err) {
        diag_set(d, "", 0, "zone %s: %s", name, dnsd_strerror(err));
    } else if (fflush(out) != 0 || ferror(out)) {
        diag_set(d, "", 0, "write error: %s", strerror(errno));
        err = -EIO;
    }
out:
    free(pc.has);
    free(sorted);
    free(rs);
    return err;
}
