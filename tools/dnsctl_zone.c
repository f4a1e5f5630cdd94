/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_zone.c -- `dnsctl zone create|delete|list|import|export`. Each edit
 * is one write transaction that ends with zw_check_zone() and commits, or
 * aborts on any error (the store is then as before). list and export read
 * through a read-only transaction.
 *
 * Regions: `zone import` replaces the default region's records and those of
 * every region a "$REGION name" section of the file names; `zone import
 * --region R` replaces region R's records only, from a file of R's records
 * (an overlay: no SOA, no apex NS; the zone must exist). `zone export`
 * prints the default region then one $REGION section per region with
 * records; `zone export --region R` prints region R's records only.
 */
#include <stdlib.h>
#include <string.h>

#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/export.h"
#include "zones/journal.h"
#include "zones/import.h"
#include "zones/rrtype.h"

/*
 * SOA timers of a new zone (RFC 1912 2.2, RIPE-203): secondaries are kept
 * current by NOTIFY, so REFRESH can be long; EXPIRE is generous so a
 * secondary keeps serving through a long primary outage; MINIMUM is the
 * negative-caching TTL (RFC 2308), one hour.
 */
#define SOA_REFRESH 86400u
#define SOA_RETRY   7200u
#define SOA_EXPIRE  3600000u
#define SOA_MINIMUM 3600u
#define DEFAULT_TTL 3600u

/* RFC 1982: is serial a newer than b? (equal, or exactly 2^31 apart: no) */
/* "hostmaster@example.com" -> "hostmaster.example.com." (dots in the local part escaped) */
static int parse_email(const char *s, uint8_t *out, diag_t *d)
{
    const char *at = strchr(s, '@');
    if (!at) {
        return zf_name_parse(s, NULL, out, d);
    }
    if (at == s || !at[1] || strchr(at + 1, '@')) {
        diag_set(d, "", 0, "bad address \"%s\"", s);
        return DNSD_EMALFORMED;
    }
    size_t cap = 2 * strlen(s) + 2, o = 0;
    char *t = xmalloc(cap);
    for (const char *p = s; p < at; p++) {
        if (*p == '.' || *p == '\\') {
            t[o++] = '\\';
        }
        t[o++] = *p;
    }
    t[o++] = '.';
    strcpy(t + o, at + 1);
    int n = zf_name_parse(t, NULL, out, d);
    free(t);
    return n;
}

static int zone_create(ctl_t *c)
{
    uint8_t apex[DNAME_MAXLEN + 1], ns[CTL_NS_MAX][DNAME_MAXLEN + 1], rname[DNAME_MAXLEN + 1];
    uint8_t soa[2 * (DNAME_MAXLEN + 1) + 20];
    char name[CTL_NAME_STR_MAX], nsn[CTL_NAME_STR_MAX];
    int nslen[CTL_NS_MAX], rlen, rc;
    uint32_t ttl = DEFAULT_TTL;
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    diag_t d = {0};
    int err;

    if ((rc = ctl_check_args(c, "zone create", CTL_OPT_NS | CTL_OPT_EMAIL | CTL_OPT_TTL, 1, 1))) {
        return rc;
    }
    if (c->nns == 0) {
        return ctl_usage("zone create needs at least one --ns NAME (the zone's name servers)");
    }
    if (ctl_zone_name(c->argv[0], apex) != CTL_OK) {
        return CTL_FAIL;
    }
    ctl_name_str(apex, name);
    if (c->ttl) {
        err = zf_ttl_parse(c->ttl, &ttl);
        if (err) {
            return ctl_err("bad --ttl \"%s\"%s", c->ttl,
                           err == DNSD_ELIMIT ? " (at most 2147483647)" : "");
        }
    }
    for (int i = 0; i < c->nns; i++) {
        if ((nslen[i] = zf_name_parse(c->ns[i], NULL, ns[i], &d)) < 0) {
            return ctl_err("--ns %s: %s", c->ns[i], d.text);
        }
        if (nslen[i] == 1) {
            return ctl_err("--ns %s: a name server cannot be the root", c->ns[i]);
        }
    }
    if (c->email) {
        if ((rlen = parse_email(c->email, rname, &d)) < 0) {
            return ctl_err("--email %s: %s", c->email, d.text);
        }
    } else {
        char hm[CTL_NAME_STR_MAX + 16];
        snprintf(hm, sizeof(hm), "hostmaster.%s", name);
        if ((rlen = zf_name_parse(hm, NULL, rname, &d)) < 0) {
            return ctl_err("zone %s: the name is too long for hostmaster.%s as SOA RNAME;"
                           " give --email", name, name);
        }
    }
    /* SOA: MNAME (the first --ns) RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM */
    size_t o = 0;
    memcpy(soa, ns[0], (size_t)nslen[0]);
    o += (size_t)nslen[0];
    memcpy(soa + o, rname, (size_t)rlen);
    o += (size_t)rlen;
    const uint32_t v[5] = {1, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, SOA_MINIMUM};
    for (int i = 0; i < 5; i++) {
        zs_put32(soa + o, v[i]);
        o += 4;
    }

    rc = CTL_FAIL;
    if (ctl_write_begin(c, true, &s, &w) != CTL_OK) {
        goto out;
    }
    err = zw_zone_create(&w, apex, &z);
    if (err == DNSD_EEXIST) {
        ctl_err("zone %s already exists", name);
        goto out;
    }
    if (err) {
        ctl_err("cannot create zone %s: %s", name, dnsd_strerror(err));
        goto out;
    }
    if ((err = zw_rr_add(&w, &z, apex, DNS_T_SOA, ZS_REGION_DEFAULT, ttl, soa, (uint16_t)o)) != 0) {
        ctl_err("zone %s: cannot add the SOA record: %s", name, dnsd_strerror(err));
        goto out;
    }
    for (int i = 0; i < c->nns; i++) {
        err = zw_rr_add(&w, &z, apex, DNS_T_NS, ZS_REGION_DEFAULT, ttl, ns[i], (uint16_t)nslen[i]);
        if (err && err != DNSD_EEXIST) {
            ctl_err("zone %s: cannot add NS %s: %s", name, c->ns[i], dnsd_strerror(err));
            goto out;
        }
    }
    if (ctl_commit(&w, "refused") != CTL_OK) {
        goto out;
    }
    rc = CTL_OK;
    printf("created zone %s (serial 1)\n", name);
    for (int i = 0; i < c->nns; i++) {
        if (dname_is_sub(ns[i], apex)) {
            dname_lower(ns[i]);
            fprintf(stderr, "dnsctl: note: name server %s is inside the zone: add its address "
                    "records (dnsctl record add %s '%s A ...')\n", ctl_name_str(ns[i], nsn),
                    name, nsn);
        }
    }
out:
    zw_abort(&w);
    zs_close(s);
    return rc;
}

static int zone_delete(ctl_t *c)
{
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    char name[CTL_NAME_STR_MAX];
    int rc, err;

    if ((rc = ctl_check_args(c, "zone delete", 0, 1, 1))) {
        return rc;
    }
    rc = CTL_FAIL;
    if (ctl_write_begin(c, false, &s, &w) != CTL_OK) {
        goto out;
    }
    if (ctl_zone_get(s, w.txn, c->argv[0], &z) != CTL_OK) {
        goto out;
    }
    ctl_name_str(z.apex, name);
    if ((err = zw_zone_delete(&w, &z)) != 0) {
        ctl_err("cannot delete zone %s: %s", name, dnsd_strerror(err));
        goto out;
    }
    if (ctl_commit(&w, NULL) != CTL_OK) {
        goto out;
    }
    rc = CTL_OK;
    printf("deleted zone %s\n", name);
out:
    zw_abort(&w);
    zs_close(s);
    return rc;
}

/* ---- zone list ---- */

typedef struct zone_row {
    char name[CTL_NAME_STR_MAX];
    bool has_serial;
    bool ecs;
    uint32_t serial;
    unsigned long rrsets, records;
} zone_row_t;

typedef struct list_ctx {
    zs_store_t *s;
    MDB_txn *txn;
    zone_row_t *rows;
    size_t n, cap;
} list_ctx_t;

static int count_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    zone_row_t *r = arg;
    r->rrsets++;
    r->records += rr->count;
    return 0;
}

static int zone_cb(const zw_zone_t *z, void *arg)
{
    list_ctx_t *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->rows = xrealloc(l->rows, l->cap * sizeof(*l->rows));
    }
    zone_row_t *r = &l->rows[l->n++];
    memset(r, 0, sizeof(*r));
    ctl_name_str(z->apex, r->name);
    r->ecs = !(z->flags & ZS_ZONE_F_NO_ECS);
    r->has_serial = zw_soa_serial(l->s, l->txn, z, &r->serial) == 0;
    return zw_foreach_rrset(l->s, l->txn, z, count_cb, r);
}

static int zone_list(ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    list_ctx_t l = {0};
    int rc, err;

    if ((rc = ctl_check_args(c, "zone list", CTL_OPT_JSON, 0, 0))) {
        return rc;
    }
    rc = CTL_FAIL;
    if (ctl_read_begin(c, &s, &txn) != CTL_OK) {
        goto out;
    }
    l.s = s;
    l.txn = txn;
    if ((err = zw_foreach_zone(s, txn, zone_cb, &l)) != 0) {
        ctl_err("cannot list zones: %s", dnsd_strerror(err));
        goto out;
    }
    rc = CTL_OK;
    if (c->json) {
        printf("[");
        for (size_t i = 0; i < l.n; i++) {
            zone_row_t *r = &l.rows[i];
            printf("%s\n  {\"zone\": ", i ? "," : "");
            json_str(stdout, r->name);
            if (r->has_serial) {
                printf(", \"serial\": %u", r->serial);
            } else {
                printf(", \"serial\": null");
            }
            printf(", \"rrsets\": %lu, \"records\": %lu, \"ecs\": %s}", r->rrsets, r->records,
                   r->ecs ? "true" : "false");
        }
        printf("%s]\n", l.n ? "\n" : "");
        goto out;
    }
    ctl_table_t t;
    ctl_table_init(&t, 5);
    t.right[1] = t.right[2] = t.right[3] = true;
    const char *hdr[5] = {"ZONE", "SERIAL", "RRSETS", "RECORDS", "ECS"};
    ctl_table_add(&t, hdr);
    for (size_t i = 0; i < l.n; i++) {
        char serial[16] = "-", rrsets[24], records[24];
        if (l.rows[i].has_serial) {
            snprintf(serial, sizeof(serial), "%u", l.rows[i].serial);
        }
        snprintf(rrsets, sizeof(rrsets), "%lu", l.rows[i].rrsets);
        snprintf(records, sizeof(records), "%lu", l.rows[i].records);
        const char *row[5] = {l.rows[i].name, serial, rrsets, records,
                              l.rows[i].ecs ? "on" : "off"};
        ctl_table_add(&t, row);
    }
    ctl_table_print(&t, stdout);
    ctl_table_fini(&t);
out:
    if (txn) {
        mdb_txn_abort(txn);
    }
    free(l.rows);
    zs_close(s);
    return rc;
}

/* ---- zone import / export ---- */

static void import_progress(void *arg, unsigned long records, uint64_t done, uint64_t total)
{
    ctl_progress_records(arg, records, done, total);
}

/* `zone import --region R ZONE FILE`: replace region R's records of an existing zone */
static int region_import(ctl_t *c, zs_store_t *s, zw_t *w, const char *name, const char *file)
{
    zw_zone_t z;
    diag_t d = {0};
    zf_import_stats_t st;
    uint16_t region;
    uint32_t serial = 0;
    int err;

    if (ctl_zone_get(s, w->txn, c->argv[0], &z) != CTL_OK) {
        fprintf(stderr, "dnsctl: note: --region imports into an existing zone (import or create "
                "the zone first)\n");
        return CTL_FAIL;
    }
    if (ctl_region_get(s, w->txn, c->region, &region) != CTL_OK) {
        return CTL_FAIL;
    }
    /* touched even when the region was empty and the file is: the serial goes up */
    if ((err = zw_zone_clear(w, &z, region, false)) != 0 || (err = zw_touch(w, &z)) != 0) {
        return ctl_err("zone %s: cannot clear region %s: %s", name, c->region,
                       dnsd_strerror(err));
    }
    ctl_progress_t pg;
    ctl_progress_begin(&pg, c, "import", false);
    zf_import_opts_t o = {region, DEFAULT_TTL, ZF_NO_REGION, stderr, import_progress, &pg};
    err = zf_import(w, &z, file, &o, &st, &d);
    pg.records = st.records; /* the last call came up to ZF_PROGRESS_EVERY - 1 records ago */
    ctl_progress_end(&pg, err == 0);
    if (err) {
        return ctl_diag(NULL, &d);
    }
    /* the writer checks the zone, bumps its serial and journals the change */
    if ((err = zw_prepare(w, &d)) != 0) {
        return ctl_diag(file, &d);
    }
    if ((err = zw_soa_serial(s, w->txn, &z, &serial)) != 0) {
        return ctl_err("zone %s: cannot read the SOA serial: %s", name, dnsd_strerror(err));
    }
    if (ctl_commit(w, file) != CTL_OK) {
        return CTL_FAIL;
    }
    printf("replaced region %s of zone %s: %lu records", c->region, name, st.added);
    if (st.duplicates) {
        printf(" (%lu duplicates merged)", st.duplicates);
    }
    printf(", serial %u\n", serial);
    return CTL_OK;
}

static int zone_import(ctl_t *c)
{
    uint8_t apex[DNAME_MAXLEN + 1];
    char name[CTL_NAME_STR_MAX];
    const char *file;
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    diag_t d = {0};
    zf_import_stats_t st;
    uint32_t old_serial = 0, serial = 0;
    bool existed = false, had_serial = false;
    int rc, err;

    if ((rc = ctl_check_args(c, "zone import", CTL_OPT_REGION, 2, 2))) {
        return rc;
    }
    bool in_region = c->region && strcmp(c->region, "default") != 0;
    if (ctl_zone_name(c->argv[0], apex) != CTL_OK) {
        return CTL_FAIL;
    }
    ctl_name_str(apex, name);
    file = c->argv[1];
    rc = CTL_FAIL;
    if (ctl_write_begin(c, !in_region, &s, &w) != CTL_OK) {
        goto out;
    }
    if (in_region) {
        rc = region_import(c, s, &w, name, file);
        goto out;
    }
    err = zw_zone_get(s, w.txn, apex, &z);
    if (err == 0) {
        existed = true;
        had_serial = zw_soa_serial(s, w.txn, &z, &old_serial) == 0;
        /* replace: the default region's content goes; other regions stay unless
         * the file has a $REGION section for them (zf_import empties those) */
        if ((err = zw_zone_clear(&w, &z, ZS_REGION_DEFAULT, false)) != 0) {
            ctl_err("zone %s: cannot clear it: %s", name, dnsd_strerror(err));
            goto out;
        }
    } else if (err == DNSD_ENOZONE) {
        if ((err = zw_zone_create(&w, apex, &z)) != 0) {
            ctl_err("cannot create zone %s: %s", name, dnsd_strerror(err));
            goto out;
        }
    } else {
        ctl_err("zone %s: %s", name, dnsd_strerror(err));
        goto out;
    }
    ctl_progress_t pg;
    ctl_progress_begin(&pg, c, "import", false);
    zf_import_opts_t o = {ZS_REGION_DEFAULT, DEFAULT_TTL, 0, stderr, import_progress, &pg};
    err = zf_import(&w, &z, file, &o, &st, &d);
    pg.records = st.records; /* the last call came up to ZF_PROGRESS_EVERY - 1 records ago */
    ctl_progress_end(&pg, err == 0);
    if (err) {
        ctl_diag(NULL, &d);
        goto out;
    }
    if ((err = zw_soa_serial(s, w.txn, &z, &serial)) != 0) {
        /* no SOA in the file: the writer's check says so, with the file's name */
        if (zw_prepare(&w, &d) != 0) {
            ctl_diag(file, &d);
        } else {
            ctl_err("%s: cannot read the SOA serial: %s", file, dnsd_strerror(err));
        }
        goto out;
    }
    /* the file's SOA carries the serial; when it is not newer than the
     * stored one, the writer is told the next one instead */
    bool older = existed && had_serial && !zw_serial_gt(serial, old_serial);
    if (older && (err = zw_serial_set(&w, &z, old_serial + 1u)) != 0) {
        ctl_err("zone %s: cannot set the serial: %s", name, dnsd_strerror(err));
        goto out;
    }
    if (ctl_commit(&w, file) != CTL_OK) {
        goto out;
    }
    if (older) {
        fprintf(stderr, "dnsctl: note: serial %u in %s is not newer than the stored serial %u "
                "(RFC 1982); using %u\n", serial, file, old_serial, old_serial + 1u);
        serial = old_serial + 1u;
    }
    rc = CTL_OK;
    printf("%s zone %s: %lu records", existed ? "replaced" : "imported", name, st.added);
    if (st.duplicates) {
        printf(" (%lu duplicates merged)", st.duplicates);
    }
    printf(", serial %u\n", serial);
out:
    zw_abort(&w);
    zs_close(s);
    return rc;
}

static int zone_export(ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    zw_zone_t z;
    diag_t d = {0};
    int rc, err;

    if ((rc = ctl_check_args(c, "zone export", CTL_OPT_REGION, 1, 1))) {
        return rc;
    }
    rc = CTL_FAIL;
    if (ctl_read_begin(c, &s, &txn) != CTL_OK) {
        goto out;
    }
    if (ctl_zone_get(s, txn, c->argv[0], &z) != CTL_OK) {
        goto out;
    }
    if (c->region) {
        uint16_t region;
        if (ctl_region_get(s, txn, c->region, &region) != CTL_OK) {
            goto out;
        }
        err = zf_export(s, txn, &z, region, stdout, &d);
    } else {
        err = zf_export_all(s, txn, &z, stdout, &d);
    }
    if (err) {
        ctl_diag(NULL, &d);
        goto out;
    }
    rc = CTL_OK;
out:
    if (txn) {
        mdb_txn_abort(txn);
    }
    zs_close(s);
    return rc;
}

/* ---- zone set ---- */

static int zone_set(ctl_t *c)
{
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    int rc, err;
    if ((rc = ctl_check_args(c, "zone set",
                             CTL_OPT_ECS | CTL_OPT_JMAX_CHANGES | CTL_OPT_JMAX_BYTES |
                                 CTL_OPT_PRIMARY | CTL_OPT_TSIG | CTL_OPT_NO_PRIMARY,
                             1, 1))) {
        return rc;
    }
    bool xo = c->nallow_xfr || c->nnotify;
    bool sec = c->opt_seen & (CTL_OPT_PRIMARY | CTL_OPT_TSIG | CTL_OPT_NO_PRIMARY);
    if (!c->ecs && !c->jmax_changes && !c->jmax_bytes && !xo && !sec) {
        return ctl_usage("zone set needs a setting (--ecs on|off, --journal-max-changes N, "
                         "--journal-max-bytes N, --allow-transfer SPEC, --notify TARGET, "
                         "--primary ADDR[:PORT] [--tsig KEY], --no-primary)");
    }
    bool on = c->ecs && strcmp(c->ecs, "on") == 0;
    if (c->ecs && !on && strcmp(c->ecs, "off") != 0) {
        return ctl_usage("--ecs \"%s\": say on or off", c->ecs);
    }
    rc = CTL_FAIL;
    if (ctl_write_begin(c, false, &s, &w) != CTL_OK) {
        goto out;
    }
    if (ctl_zone_get(s, w.txn, c->argv[0], &z) != CTL_OK) {
        goto out;
    }
    zj_limits_t own, lim;
    if (ctl_journal_limits_set(c, &w, z.id) != CTL_OK) {
        goto out;
    }
    if ((err = zj_limits_get(s, w.txn, z.id, &own, &lim)) != 0) {
        ctl_err("zone %s: %s", c->argv[0], dnsd_strerror(err));
        goto out;
    }
    if (c->ecs &&
        (err = zw_zone_set_flags(&w, &z, on ? 0 : ZS_ZONE_F_NO_ECS, on ? ZS_ZONE_F_NO_ECS : 0)) != 0) {
        ctl_err("zone %s: %s", c->argv[0], dnsd_strerror(err));
        goto out;
    }
    if (xo && (rc = ctl_xfrout_set(c, &w, &z)) != CTL_OK) {
        goto out;
    }
    rc = CTL_FAIL;
    if (sec && ctl_secondary_set(c, &w, &z) != CTL_OK) {
        goto out;
    }
    if ((err = zw_commit(&w, NULL)) != 0) {
        ctl_err("zone %s: %s", c->argv[0], dnsd_strerror(err));
        goto out;
    }
    if (xo) {
        printf("zone %s: transfer settings saved\n", c->argv[0]);
    }
    if (c->ecs) {
        printf("zone %s: EDNS Client Subnet %s\n", c->argv[0],
               on ? "on (the subnet in a query picks the region)"
                  : "off (the query's source address picks the region; ECS is not echoed)");
    }
    if (c->jmax_changes || c->jmax_bytes) {
        printf("zone %s: journal keeps at most %llu records%s, %llu bytes%s\n", c->argv[0],
               (unsigned long long)lim.max_changes,
               own.max_changes == ZJ_INHERIT ? " (store default)" : "",
               (unsigned long long)lim.max_bytes,
               own.max_bytes == ZJ_INHERIT ? " (store default)" : "");
    }
    if (sec) {
        ctl_secondary_print(c, c->argv[0]);
    }
    rc = CTL_OK;
out:
    zw_abort(&w);
    zs_close(s);
    return rc;
}

int ctl_zone(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "set") == 0) {
        return zone_set(c);
    }
    if (strcmp(verb, "create") == 0) {
        return zone_create(c);
    }
    if (strcmp(verb, "show") == 0) {
        return ctl_zone_show(c);
    }
    if (strcmp(verb, "add") == 0) {
        return ctl_zone_add(c);
    }
    if (strcmp(verb, "delete") == 0) {
        return zone_delete(c);
    }
    if (strcmp(verb, "list") == 0) {
        return zone_list(c);
    }
    if (strcmp(verb, "import") == 0) {
        return zone_import(c);
    }
    if (strcmp(verb, "export") == 0) {
        return zone_export(c);
    }
    if (strcmp(verb, "journal") == 0) {
        return ctl_zone_journal(c);
    }
    if (strcmp(verb, "defaults") == 0) {
        return ctl_zone_defaults(c);
    }
    if (strcmp(verb, "policy") == 0) {
        return ctl_zone_policy(c);
    }
    return ctl_usage("unknown command \"zone %s\" (create, add, delete, list, show, set, "
                     "import, export, journal, defaults, policy)", verb);
}
