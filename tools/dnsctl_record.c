/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_record.c -- `dnsctl record add|del|list [--region R]`. An edit is
 * one write transaction: the change (in the default region, or R), then
 * zw_commit(), which checks the zone (every region's view through its
 * fallback chain), bumps the SOA serial (unless the edit itself sets the
 * SOA) and journals the change; any error aborts it all.
 */
#include <stdlib.h>
#include <string.h>

#include "tools/dnsctl.h"
#include "tools/dnsctl_rrargs.h"
#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/export.h"
#include "zones/import.h"
#include "zones/rrtype.h"

/* open the store for an edit and begin: CTL_OK with *s, w, z and *region (--region) set */
static int edit_begin(ctl_t *c, zs_store_t **s, zw_t *w, zw_zone_t *z, uint16_t *region)
{
    if (ctl_write_begin(c, false, s, w) != CTL_OK) {
        return CTL_FAIL;
    }
    if (ctl_zone_get(*s, w->txn, c->argv[0], z) != CTL_OK) {
        return CTL_FAIL;
    }
    return ctl_region_get(*s, w->txn, c->region, region);
}

/* " in region eu" for messages, "" for the default region */
static const char *in_region(const ctl_t *c, uint16_t region, char *buf, size_t cap)
{
    if (region == ZS_REGION_DEFAULT) {
        return "";
    }
    snprintf(buf, cap, " in region %s", c->region);
    return buf;
}

/* "region eu, " before the serial in an edit's output line */
static const char *region_note(const ctl_t *c, uint16_t region, char *buf, size_t cap)
{
    if (region == ZS_REGION_DEFAULT) {
        return "";
    }
    snprintf(buf, cap, "region %s, ", c->region);
    return buf;
}

/*
 * Commit: the writer checks the zone and bumps its serial (unless the edit
 * wrote the SOA itself), journals the change. CTL_OK with the zone's new
 * serial in *@p serial, or CTL_FAIL (printed).
 */
static int edit_end(zw_t *w, const zw_zone_t *z, uint32_t *serial)
{
    diag_t d = {0};
    int err;
    if ((err = zw_prepare(w, &d)) != 0) {
        return ctl_diag("refused", &d);
    }
    if ((err = zw_soa_serial(w->s, w->txn, z, serial)) != 0) {
        return ctl_err("cannot read the SOA serial: %s", dnsd_strerror(err));
    }
    if ((err = zw_commit(w, &d)) != 0) {
        return ctl_err("cannot commit: %s", dnsd_strerror(err));
    }
    return CTL_OK;
}

static int owner_check(const zw_zone_t *z, const uint8_t *owner, uint8_t *lower)
{
    char on[CTL_NAME_STR_MAX], zn[CTL_NAME_STR_MAX];
    memcpy(lower, owner, (size_t)dname_wire_len(owner, DNAME_MAXLEN + 1));
    dname_lower(lower);
    if (!dname_is_sub(lower, z->apex)) {
        return ctl_err("%s is outside zone %s", ctl_name_str(lower, on),
                       ctl_name_str(z->apex, zn));
    }
    return CTL_OK;
}

static void print_rr(const char *verb, const uint8_t *owner, uint16_t type, uint32_t ttl,
                     const uint8_t *rd, uint16_t rl, const char *note, uint32_t serial)
{
    zf_rr_text_t t;
    zf_rr_text(owner, type, rd, rl, &t);
    printf("%s %s %u IN %s %s (%sserial %u)\n", verb, t.owner, ttl, t.type, t.rdata, note,
           serial);
    zf_rr_text_fini(&t);
}

static int record_add(ctl_t *c)
{
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    zf_rr_t rr = {0};
    zs_rrset_t old = {0};
    diag_t d = {0};
    uint8_t lower[DNAME_MAXLEN + 1];
    char *text = NULL, on[CTL_NAME_STR_MAX];
    char rb[ZS_REGION_NAME_MAX + 16], nb[ZS_REGION_NAME_MAX + 16];
    uint32_t serial = 0;
    uint16_t region = ZS_REGION_DEFAULT;
    bool set_soa = false, ttl_only = false;
    int rc, err;

    if ((rc = ctl_check_args(c, "record add", CTL_OPT_REGION, 2, -1))) {
        return rc;
    }
    text = ctl_join(c->argc, c->argv, 1);
    rc = CTL_FAIL;
    if (edit_begin(c, &s, &w, &z, &region) != CTL_OK) {
        goto out;
    }
    if (ctl_rr_parse_add(text, z.apex, &rr, &d) != 0) {
        ctl_err("record \"%s\": %s", text, d.text);
        goto out;
    }
    if (owner_check(&z, rr.owner, lower) != CTL_OK) {
        goto out;
    }
    ctl_name_str(lower, on);
    if (region != ZS_REGION_DEFAULT && dname_eq(lower, z.apex) &&
        (rr.type == DNS_T_SOA || rr.type == DNS_T_NS)) {
        /* one SOA and one apex NS set for everybody: what the parent delegates to,
         * what secondaries serve (zw_check_zone() refuses it too) */
        ctl_err("refused: %s of %s %s in the default region only (leave out --region)",
                rr.type == DNS_T_SOA ? "the SOA record" : "the apex NS records", on,
                rr.type == DNS_T_SOA ? "is" : "are");
        goto out;
    }
    if (rr.type == DNS_T_SOA) {
        /* a zone has one SOA: adding one replaces it, and sets the serial itself */
        if (!dname_eq(lower, z.apex)) {
            ctl_err("SOA record at %s, which is not the zone apex", on);
            goto out;
        }
        err = zw_rr_del(&w, &z, rr.owner, DNS_T_SOA, ZS_REGION_DEFAULT, NULL, 0);
        if (err && err != DNSD_ENOTFOUND) {
            ctl_err("cannot replace the SOA record: %s", dnsd_strerror(err));
            goto out;
        }
        set_soa = true;
    }
    err = set_soa ? DNSD_ENOTFOUND
                  : zw_rrset_get(s, w.txn, &z, rr.owner, rr.type, region, &old);
    if (err == 0) {
        if (!rr.ttl_set) {
            rr.ttl = old.ttl; /* no TTL given: join the RRset with its TTL */
        } else if (rr.ttl != old.ttl) {
            fprintf(stderr, "dnsctl: note: the TTL of the %s %s RRset%s changes from %u to %u "
                    "(one TTL per RRset)\n", on, zf_type_str(rr.type, (char[32]){0}, 32),
                    in_region(c, region, rb, sizeof(rb)), old.ttl, rr.ttl);
        }
    } else if (err != DNSD_ENOTFOUND) {
        ctl_err("%s: %s", on, dnsd_strerror(err));
        goto out;
    }
    err = zw_rr_add(&w, &z, rr.owner, rr.type, region, rr.ttl, rr.rdata, rr.rdlen);
    if (err == DNSD_EEXIST) {
        if (!rr.ttl_set || rr.ttl == old.ttl) {
            fprintf(stderr, "dnsctl: note: the record is already there; nothing changed\n");
            rc = CTL_OK;
            goto out;
        }
        /* only the TTL changes: take the record out and put it back with it */
        ttl_only = true;
        err = zw_rr_del(&w, &z, rr.owner, rr.type, region, rr.rdata, rr.rdlen);
        if (!err) {
            err = zw_rr_add(&w, &z, rr.owner, rr.type, region, rr.ttl, rr.rdata, rr.rdlen);
        }
    }
    if (err == DNSD_ELIMIT) {
        ctl_err("the %s RRset at %s%s would be too large",
                zf_type_str(rr.type, (char[32]){0}, 32), on, in_region(c, region, rb, sizeof(rb)));
        goto out;
    }
    if (err) {
        ctl_err("cannot add the record: %s", dnsd_strerror(err));
        goto out;
    }
    if (edit_end(&w, &z, &serial) != CTL_OK) {
        goto out;
    }
    rc = CTL_OK;
    print_rr(ttl_only ? "updated" : "added", lower, rr.type, rr.ttl, rr.rdata, rr.rdlen,
             region_note(c, region, nb, sizeof(nb)), serial);
out:
    zw_abort(&w);
    zs_close(s);
    zf_rr_fini(&rr);
    free(text);
    return rc;
}

static int record_del(ctl_t *c)
{
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    ctl_rr_del_t a = {0};
    diag_t d = {0};
    uint8_t lower[DNAME_MAXLEN + 1];
    char *text = NULL;
    char on[CTL_NAME_STR_MAX], zn[CTL_NAME_STR_MAX], ts[32];
    char rb[ZS_REGION_NAME_MAX + 16], nb[ZS_REGION_NAME_MAX + 16];
    const uint8_t *rdata = NULL;
    uint16_t type = 0, rdlen = 0, region = ZS_REGION_DEFAULT;
    uint32_t serial = 0;
    int rc, err;

    if ((rc = ctl_check_args(c, "record del", CTL_OPT_REGION, 2, -1))) {
        return rc;
    }
    /* NAME [TTL] [IN] [TYPE [RDATA...]]: arguments, or one "record" argument */
    text = ctl_join(c->argc, c->argv, 1);
    if (ctl_rr_del_split(text, &a, &d) != 0) {
        /* nothing open yet: w and s are empty, which out: allows */
        if (a.bad == CTL_RR_BAD_SYNTAX) {
            rc = ctl_err("record \"%s\": %s", text, d.text);
        } else {
            rc = ctl_usage("record del: missing NAME");
        }
        goto out;
    }
    rc = CTL_FAIL;
    if (edit_begin(c, &s, &w, &z, &region) != CTL_OK) {
        goto out;
    }
    ctl_name_str(z.apex, zn);
    if (ctl_rr_del_parse(&a, z.apex, &d) != 0) {
        if (a.bad == CTL_RR_BAD_NAME) {
            ctl_err("name \"%s\": %s", a.name, d.text);
        } else if (a.bad == CTL_RR_BAD_TYPE) {
            ctl_err("%s", d.text);
        } else {
            ctl_err("record \"%s\": %s", a.full, d.text);
        }
        goto out;
    }
    type = a.qtype;
    if (a.full) {
        rdata = a.rr.rdata;
        rdlen = a.rr.rdlen;
    }
    if (owner_check(&z, a.owner, lower) != CTL_OK) {
        goto out;
    }
    ctl_name_str(lower, on);
    if (dname_eq(lower, z.apex) && type == 0 && region == ZS_REGION_DEFAULT) {
        ctl_err("refused: deleting every record at the apex of %s would remove its SOA and NS "
                "(give a TYPE, or use `dnsctl zone delete`)", zn);
        goto out;
    }
    if (dname_eq(lower, z.apex) && type == DNS_T_SOA && region == ZS_REGION_DEFAULT) {
        ctl_err("refused: the SOA record of %s cannot be deleted (a zone needs one; "
                "`dnsctl record add` replaces it, `dnsctl zone delete` removes the zone)", zn);
        goto out;
    }
    err = zw_rr_del(&w, &z, a.owner, type, region, rdata, rdlen);
    if (err == DNSD_ENOTFOUND) {
        const char *ir = in_region(c, region, rb, sizeof(rb));
        if (rdata) {
            ctl_err("no such record%s: %s", ir, a.full);
        } else if (type) {
            ctl_err("no %s records at %s%s", zf_type_str(type, ts, sizeof(ts)), on, ir);
        } else {
            ctl_err("no records at %s%s", on, ir);
        }
        goto out;
    }
    if (err) {
        ctl_err("cannot delete: %s", dnsd_strerror(err));
        goto out;
    }
    if (edit_end(&w, &z, &serial) != CTL_OK) {
        goto out;
    }
    rc = CTL_OK;
    const char *note = region_note(c, region, nb, sizeof(nb));
    if (rdata) {
        zf_rr_text_t t;
        zf_rr_text(lower, type, rdata, rdlen, &t);
        printf("deleted %s %s %s (%sserial %u)\n", t.owner, t.type, t.rdata, note, serial);
        zf_rr_text_fini(&t);
    } else if (type) {
        printf("deleted %s %s (%sserial %u)\n", on, zf_type_str(type, ts, sizeof(ts)), note,
               serial);
    } else {
        printf("deleted %s (%sserial %u)\n", on, note, serial);
    }
out:
    zw_abort(&w);
    zs_close(s);
    ctl_rr_del_fini(&a);
    free(text);
    return rc;
}

/* ---- record list ---- */

typedef struct rec_list {
    const uint8_t *only;        /* lower-case owner to show, or NULL: all */
    bool one_region;            /* --region: only RRsets of @p region */
    uint16_t region;
    const ctl_regions_t *names; /* region names for the REGION column and JSON */
    bool regional;              /* some RRset listed is outside the default region */
    ctl_table_t t;              /* NAME TTL TYPE DATA REGION, one row per record */
} rec_list_t;

static int list_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    rec_list_t *l = arg;
    size_t off = 0;
    const uint8_t *rd;
    uint16_t rl;
    char nb[16];
    if ((l->only && !dname_eq(owner, l->only)) || (l->one_region && rr->region != l->region)) {
        return 0;
    }
    if (rr->region != ZS_REGION_DEFAULT) {
        l->regional = true;
    }
    const char *region = ctl_regions_name(l->names, rr->region, nb, sizeof(nb));
    while (zf_rrset_next(rr, &off, &rd, &rl)) {
        zf_rr_text_t t;
        char ttl[16];
        zf_rr_text(owner, rr->type, rd, rl, &t);
        snprintf(ttl, sizeof(ttl), "%u", rr->ttl);
        const char *row[5] = {t.owner, ttl, t.type, t.rdata, region};
        ctl_table_add(&l->t, row);
        zf_rr_text_fini(&t);
    }
    return 0;
}

static void list_json(const ctl_table_t *t)
{
    printf("[");
    for (size_t i = 0; i < t->nrows; i++) {
        char *const *r = &t->cells[i * 5];
        printf("%s\n  {\"name\": ", i ? "," : "");
        json_str(stdout, r[0]);
        printf(", \"ttl\": %s, \"class\": \"IN\", \"type\": ", r[1]);
        json_str(stdout, r[2]);
        printf(", \"rdata\": ");
        json_str(stdout, r[3]);
        printf(", \"region\": ");
        json_str(stdout, r[4]);
        printf("}");
    }
    printf("%s]\n", t->nrows ? "\n" : "");
}

static void list_table(const rec_list_t *l)
{
    /* the REGION column when records of a region other than default are listed
     * together with others (not with --region: they are all of that region) */
    int ncols = l->regional && !l->one_region ? 5 : 4;
    ctl_table_t v;
    const char *hdr[5] = {"NAME", "TTL", "TYPE", "DATA", "REGION"};
    ctl_table_init(&v, ncols);
    v.right[1] = true;
    ctl_table_add(&v, hdr);
    for (size_t i = 0; i < l->t.nrows; i++) {
        ctl_table_add(&v, (const char *const *)&l->t.cells[i * 5]);
    }
    ctl_table_print(&v, stdout);
    ctl_table_fini(&v);
}

static int record_list(ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    zw_zone_t z;
    diag_t d = {0};
    uint8_t only[DNAME_MAXLEN + 1];
    char on[CTL_NAME_STR_MAX], zn[CTL_NAME_STR_MAX], rb[ZS_REGION_NAME_MAX + 16];
    rec_list_t l = {0};
    ctl_regions_t names = {0};
    int rc, err;

    if ((rc = ctl_check_args(c, "record list", CTL_OPT_JSON | CTL_OPT_REGION, 1, 2))) {
        return rc;
    }
    rc = CTL_FAIL;
    ctl_table_init(&l.t, 5);
    if (ctl_read_begin(c, &s, &txn) != CTL_OK) {
        goto out;
    }
    if (ctl_zone_get(s, txn, c->argv[0], &z) != CTL_OK ||
        ctl_regions_load(s, txn, &names) != CTL_OK) {
        goto out;
    }
    l.names = &names;
    if (c->region) {
        if (ctl_region_get(s, txn, c->region, &l.region) != CTL_OK) {
            goto out;
        }
        l.one_region = true;
    }
    if (c->argc == 2) {
        if (zf_name_parse(c->argv[1], z.apex, only, &d) < 0) {
            ctl_err("name \"%s\": %s", c->argv[1], d.text);
            goto out;
        }
        dname_lower(only);
        ctl_name_str(only, on);
        if (!dname_is_sub(only, z.apex)) {
            ctl_err("%s is outside zone %s", on, ctl_name_str(z.apex, zn));
            goto out;
        }
        l.only = only;
    }
    if ((err = zw_foreach_rrset(s, txn, &z, list_cb, &l)) != 0) {
        ctl_err("cannot list: %s", dnsd_strerror(err));
        goto out;
    }
    if (l.only && l.t.nrows == 0) {
        ctl_err("no records at %s%s", on, in_region(c, l.region, rb, sizeof(rb)));
        goto out;
    }
    if (c->json) {
        list_json(&l.t);
    } else {
        list_table(&l);
    }
    rc = CTL_OK;
out:
    if (txn) {
        mdb_txn_abort(txn);
    }
    ctl_table_fini(&l.t);
    ctl_regions_fini(&names);
    zs_close(s);
    return rc;
}

int ctl_record(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "add") == 0) {
        return record_add(c);
    }
    if (strcmp(verb, "del") == 0 || strcmp(verb, "delete") == 0) {
        return record_del(c);
    }
    if (strcmp(verb, "list") == 0) {
        return record_list(c);
    }
    return ctl_usage("unknown command \"record %s\" (add, del, list)", verb);
}
