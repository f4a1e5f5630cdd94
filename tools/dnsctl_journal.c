/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_journal.c -- `dnsctl zone journal ZONE [--from SERIAL] [--json]`
 * (the changes a zone's journal keeps, in IXFR order), `dnsctl zone
 * defaults` (the store-wide journal limits) and the --journal-max-* options
 * of `zone set`. Called by dnsctl_zone.c's dispatcher. Reads through
 * zones/journal.h only; never writes a zone's data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/export.h"
#include "zones/journal.h"
#include "zones/regions.h"

/* "N" (decimal) or "default" (ZJ_INHERIT, the zone takes the store's limit) */
static int limit_parse(const char *opt, const char *v, bool allow_default, uint64_t *out)
{
    if (allow_default && strcmp(v, "default") == 0) {
        *out = ZJ_INHERIT;
        return CTL_OK;
    }
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || v[0] == '-' || errno || n > INT64_MAX) {
        return ctl_usage("%s \"%s\": give a number of %s%s", opt, v,
                         strcmp(opt, "--journal-max-bytes") == 0 ? "bytes" : "records",
                         allow_default ? " or \"default\"" : "");
    }
    *out = n;
    return CTL_OK;
}

int ctl_journal_limits_set(ctl_t *c, zw_t *w, uint32_t zone_id)
{
    zj_limits_t set = {ZJ_KEEP, ZJ_KEEP};
    int rc;
    if (!c->jmax_changes && !c->jmax_bytes) {
        return CTL_OK;
    }
    if (c->jmax_changes && (rc = limit_parse("--journal-max-changes", c->jmax_changes,
                                             zone_id != 0, &set.max_changes)) != CTL_OK) {
        return rc;
    }
    if (c->jmax_bytes && (rc = limit_parse("--journal-max-bytes", c->jmax_bytes, zone_id != 0,
                                           &set.max_bytes)) != CTL_OK) {
        return rc;
    }
    int err = zj_limits_set(w->s, w->txn, zone_id, &set);
    if (err) {
        return ctl_err("cannot set the journal limits: %s", dnsd_strerror(err));
    }
    return CTL_OK;
}

int ctl_zone_defaults(ctl_t *c)
{
    zs_store_t *s = NULL;
    zw_t w = {0};
    MDB_txn *txn = NULL;
    zj_limits_t lim;
    int rc, err;
    if ((rc = ctl_check_args(c, "zone defaults",
                             CTL_OPT_JMAX_CHANGES | CTL_OPT_JMAX_BYTES | CTL_OPT_JSON, 0, 0))) {
        return rc;
    }
    bool set = c->jmax_changes || c->jmax_bytes;
    rc = CTL_FAIL;
    if (set) {
        if (ctl_write_begin(c, false, &s, &w) != CTL_OK) {
            goto out;
        }
        if ((rc = ctl_journal_limits_set(c, &w, 0)) != CTL_OK) {
            goto out;
        }
        rc = CTL_FAIL;
        txn = w.txn;
    } else if (ctl_read_begin(c, &s, &txn) != CTL_OK) {
        goto out;
    }
    if ((err = zj_limits_get(s, txn, 0, &lim, NULL)) != 0) {
        ctl_err("cannot read the journal limits: %s", dnsd_strerror(err));
        goto out;
    }
    if (set) {
        txn = NULL;
        if ((err = zw_commit(&w, NULL)) != 0) {
            ctl_err("cannot commit: %s", dnsd_strerror(err));
            goto out;
        }
    }
    if (c->json) {
        json_t *o = json_pack("{s:I,s:I}", "journal_max_changes", (json_int_t)lim.max_changes,
                              "journal_max_bytes", (json_int_t)lim.max_bytes);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
    } else {
        printf("journal-max-changes %llu\njournal-max-bytes %llu\n",
               (unsigned long long)lim.max_changes, (unsigned long long)lim.max_bytes);
    }
    rc = CTL_OK;
out:
    if (txn && !set) {
        mdb_txn_abort(txn);
    }
    zw_abort(&w);
    zs_close(s);
    return rc;
}

/* ---- zone journal ---- */

typedef struct jprint {
    const ctl_t *c;
    json_t *entries; /* --json */
    unsigned long n;
    const char *name; /* the text header, printed before the first entry */
    uint32_t serial;
    zj_limits_t lim;
} jprint_t;

static void header(const jprint_t *p)
{
    printf("; zone %s serial %u; journal keeps at most %llu records, %llu bytes\n", p->name,
           p->serial, (unsigned long long)p->lim.max_changes,
           (unsigned long long)p->lim.max_bytes);
}

static void time_str(uint64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, cap, "%llu", (unsigned long long)t);
    }
}

/* the region's name as recorded ("default" for the default region) */
static const char *rr_region(const zj_rr_t *rr, char *buf, size_t cap)
{
    if (rr->region_len == 0) {
        return "default";
    }
    snprintf(buf, cap, "%.*s", (int)rr->region_len, rr->region);
    return buf;
}

static json_t *rr_json(const zj_rr_t *rr, const zf_rr_text_t *t)
{
    char rb[ZS_REGION_NAME_MAX + 8];
    return json_pack("{s:s,s:I,s:s,s:s,s:s,s:s}", "owner", t->owner, "ttl", (json_int_t)rr->ttl,
                     "class", "IN", "type", t->type, "rdata", t->rdata, "region",
                     rr_region(rr, rb, sizeof(rb)));
}

static int entry_cb(const zj_entry_t *e, void *arg)
{
    jprint_t *p = arg;
    char ts[64], rb[ZS_REGION_NAME_MAX + 8];
    time_str(e->time_s, ts, sizeof(ts));
    json_t *rem = NULL, *add = NULL;
    if (p->entries) {
        rem = json_array();
        add = json_array();
    } else {
        if (p->n == 0) {
            header(p);
        }
        printf("serial %u -> %u at %s: %u removed, %u added\n", e->from, e->to, ts, e->ndel,
               e->nadd);
    }
    size_t off = 0;
    zj_rr_t rr;
    for (uint32_t i = 0; zj_rr_next(e, &off, &rr); i++) {
        bool removed = i < e->ndel + 1; /* old SOA, the removed ones; then new SOA, the added */
        zf_rr_text_t t;
        if (zf_rr_text(rr.owner, rr.type, rr.rdata, rr.rdlen, &t) != 0) {
            json_decref(rem);
            json_decref(add);
            return -ENOMEM;
        }
        if (p->entries) {
            json_array_append_new(removed ? rem : add, rr_json(&rr, &t));
        } else if (rr.region_len == 0) {
            printf("%c\t%s\t%u\tIN\t%s\t%s\n", removed ? '-' : '+', t.owner, rr.ttl, t.type,
                   t.rdata);
        } else {
            printf("%c\t%s\t%u\tIN\t%s\t%s\t; region %s\n", removed ? '-' : '+', t.owner, rr.ttl,
                   t.type, t.rdata, rr_region(&rr, rb, sizeof(rb)));
        }
        zf_rr_text_fini(&t);
    }
    if (p->entries) {
        json_array_append_new(p->entries,
                              json_pack("{s:I,s:I,s:s,s:I,s:o,s:o}", "from", (json_int_t)e->from,
                                        "to", (json_int_t)e->to, "time", ts, "time_s",
                                        (json_int_t)e->time_s, "removed", rem, "added", add));
    }
    p->n++;
    return 0;
}

int ctl_zone_journal(ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    zw_zone_t z;
    jprint_t p = {c, NULL, 0, NULL, 0, {0, 0}};
    char name[CTL_NAME_STR_MAX];
    uint32_t serial = 0, from = 0;
    zj_limits_t own, lim;
    int rc, err;

    if ((rc = ctl_check_args(c, "zone journal", CTL_OPT_FROM | CTL_OPT_JSON, 1, 1))) {
        return rc;
    }
    if (c->from) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(c->from, &end, 10);
        if (!*c->from || *end || c->from[0] == '-' || errno || v > UINT32_MAX) {
            return ctl_usage("--from \"%s\": give a SOA serial (0 to 4294967295)", c->from);
        }
        from = (uint32_t)v;
    }
    rc = CTL_FAIL;
    if (ctl_read_begin(c, &s, &txn) != CTL_OK || ctl_zone_get(s, txn, c->argv[0], &z) != CTL_OK) {
        goto out;
    }
    ctl_name_str(z.apex, name);
    if ((err = zw_soa_serial(s, txn, &z, &serial)) != 0 ||
        (err = zj_limits_get(s, txn, z.id, &own, &lim)) != 0) {
        ctl_err("zone %s: %s", name, dnsd_strerror(err));
        goto out;
    }
    p.name = name;
    p.serial = serial;
    p.lim = lim;
    if (c->json) {
        p.entries = json_array();
    }
    err = c->from ? zj_changes(s, txn, z.id, from, serial, entry_cb, &p)
                  : zj_foreach(s, txn, z.id, entry_cb, &p);
    if (err == DNSD_ERANGE) {
        ctl_err("zone %s: the journal does not hold the changes from serial %u to %u (it keeps "
                "only the newest; see --journal-max-changes): transfer the whole zone", name,
                from, serial);
        goto out;
    }
    if (err) {
        ctl_err("zone %s: cannot read the journal: %s", name, dnsd_strerror(err));
        goto out;
    }
    if (c->json) {
        json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:o}", "zone", name, "serial", (json_int_t)serial,
                              "journal_max_changes", (json_int_t)lim.max_changes,
                              "journal_max_bytes", (json_int_t)lim.max_bytes, "entries",
                              p.entries);
        p.entries = NULL;
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
    } else if (p.n == 0) {
        header(&p);
        printf("; no changes%s\n", c->from ? " since then" : " kept");
    }
    rc = CTL_OK;
out:
    json_decref(p.entries);
    if (txn) {
        mdb_txn_abort(txn);
    }
    zs_close(s);
    return rc;
}
