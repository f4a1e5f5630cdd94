/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_secondary.c -- secondary zones from the command line: `zone add
 * ZONE --primary ...` (a new zone, empty until its first transfer), zone
 * set's --primary / --tsig / --no-primary, and `zone show` (settings and
 * the transfer state dnsd's transfer thread records). One write txn per
 * edit, as every dnsctl command; the settings live in the store's
 * "secondary" sub-database (zones/secondary.h), the zone flags tell the
 * writer and the query path (ZS_ZONE_F_SECONDARY, ZS_ZONE_F_SERVFAIL).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/import.h"
#include "zones/secondary.h"
#include "zones/tsig.h"

/* --primary A,B,... into @p conf (the key is left alone) */
static int parse_primaries(const char *list, zsec_conf_t *conf)
{
    char *dup = strdup(list), *save = NULL;
    int rc = CTL_OK;
    conf->nprimaries = 0;
    if (!dup) {
        return ctl_err("out of memory");
    }
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        diag_t d = {0};
        if (conf->nprimaries == ZSEC_PRIMARY_MAX) {
            rc = ctl_usage("--primary: at most %d primaries", ZSEC_PRIMARY_MAX);
            goto out;
        }
        if (zsec_primary_parse(t, &conf->primary[conf->nprimaries], &d) != 0) {
            rc = ctl_usage("--primary: %s", d.text);
            goto out;
        }
        conf->nprimaries++;
    }
    if (conf->nprimaries == 0) {
        rc = ctl_usage("--primary needs at least one ADDR[:PORT]");
    }
out:
    free(dup);
    return rc;
}

/* --tsig NAME (or "none") into @p conf->key: wire form, lower case */
static int parse_key(const char *arg, zsec_conf_t *conf)
{
    if (strcmp(arg, "none") == 0 || !*arg) {
        conf->key_len = 0;
        return CTL_OK;
    }
    diag_t d = {0};
    int n = zf_name_parse(arg, NULL, conf->key, &d);
    if (n < 0) {
        return ctl_usage("--tsig %s: %s", arg, d.text);
    }
    if (n == 1) {
        return ctl_usage("--tsig: a key name cannot be the root");
    }
    dname_lower(conf->key);
    conf->key_len = (uint16_t)n;
    return CTL_OK;
}

/* Move the zone's key reference from @p old to @p now (either may have no key). */
static int key_refs(zw_t *w, const zw_zone_t *z, const zsec_conf_t *old, const zsec_conf_t *now)
{
    char label[TSIG_REF_MAX], kn[CTL_NAME_STR_MAX];
    int err;
    zsec_ref_label(z->id, z->apex, label, sizeof(label));
    if (old && old->key_len && (err = tsig_ref_del(w->s, w->txn, old->key, label)) != 0) {
        return ctl_err("cannot drop the reference to TSIG key %s: %s",
                       ctl_name_str(old->key, kn), dnsd_strerror(err));
    }
    if (now && now->key_len) {
        err = tsig_ref_add(w->s, w->txn, now->key, label);
        if (err == DNSD_ENOTFOUND) {
            return ctl_err("no TSIG key %s (add it first: dnsctl tsig add %s --secret ...)",
                           ctl_name_str(now->key, kn), kn);
        }
        if (err) {
            return ctl_err("TSIG key %s: %s", ctl_name_str(now->key, kn), dnsd_strerror(err));
        }
    }
    return CTL_OK;
}

int ctl_secondary_set(ctl_t *c, zw_t *w, zw_zone_t *z)
{
    char name[CTL_NAME_STR_MAX];
    uint32_t serial;
    zsec_conf_t conf, old;
    int err;

    ctl_name_str(z->apex, name);
    if (c->opt_seen & CTL_OPT_NO_PRIMARY) {
        if (c->opt_seen & (CTL_OPT_PRIMARY | CTL_OPT_TSIG)) {
            return ctl_usage("--no-primary takes neither --primary nor --tsig");
        }
        if (!(z->flags & ZS_ZONE_F_SECONDARY)) {
            return ctl_err("zone %s is not a secondary", name);
        }
        if (zw_soa_serial(w->s, w->txn, z, &serial) != 0) {
            return ctl_err("zone %s has had no transfer yet: it has no data to keep serving "
                           "(delete it instead: dnsctl zone delete %s)", name, name);
        }
        /* the default view becomes local data, from the serial the primary gave it */
        if ((err = zsec_zone_drop(w->s, w->txn, z->id, z->apex)) != 0 ||
            (err = zw_zone_set_flags(w, z, 0, ZS_ZONE_F_SECONDARY | ZS_ZONE_F_SERVFAIL)) != 0) {
            return ctl_err("zone %s: %s", name, dnsd_strerror(err));
        }
        return CTL_OK;
    }
    err = zsec_conf_get(w->s, w->txn, z->id, &old);
    if (err && err != DNSD_ENOTFOUND) {
        return ctl_err("zone %s: %s", name, dnsd_strerror(err));
    }
    bool had = err == 0;
    if (!(c->opt_seen & CTL_OPT_PRIMARY) && !had) {
        return ctl_usage("zone %s is not a secondary: --tsig goes with --primary", name);
    }
    conf = old;
    if (c->primary && parse_primaries(c->primary, &conf) != CTL_OK) {
        return CTL_USAGE;
    }
    if (c->opt_seen & CTL_OPT_PRIMARY) {
        conf.key_len = 0; /* a new primary list: its key is the --tsig given with it, or none */
    }
    if (c->tsig && parse_key(c->tsig, &conf) != CTL_OK) {
        return CTL_USAGE;
    }
    if (key_refs(w, z, had ? &old : NULL, &conf) != CTL_OK) {
        return CTL_FAIL;
    }
    if ((err = zsec_conf_put(w->s, w->txn, z->id, &conf)) != 0 ||
        (err = zw_zone_set_flags(w, z, ZS_ZONE_F_SECONDARY, 0)) != 0) {
        return ctl_err("zone %s: %s", name, dnsd_strerror(err));
    }
    return CTL_OK;
}

/* one line saying what the settings are now, after the commit */
static void print_conf(const char *name, const zsec_conf_t *conf)
{
    char a[64];
    printf("zone %s: secondary of", name);
    for (unsigned i = 0; i < conf->nprimaries; i++) {
        printf("%s %s", i ? "," : "", zsec_primary_str(&conf->primary[i], a, sizeof(a)));
    }
    if (conf->key_len) {
        char kn[CTL_NAME_STR_MAX];
        printf(" (TSIG key %s)", ctl_name_str(conf->key, kn));
    }
    printf("\n");
}

int ctl_zone_add(ctl_t *c)
{
    uint8_t apex[DNAME_MAXLEN + 1];
    char name[CTL_NAME_STR_MAX];
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    zsec_conf_t conf = {0};
    int rc, err;

    if ((rc = ctl_check_args(c, "zone add", CTL_OPT_PRIMARY | CTL_OPT_TSIG, 1, 1))) {
        return rc;
    }
    if (!c->primary) {
        return ctl_usage("zone add needs --primary ADDR[:PORT] (for a zone of your own: "
                         "zone create or zone import)");
    }
    if (parse_primaries(c->primary, &conf) != CTL_OK ||
        (c->tsig && parse_key(c->tsig, &conf) != CTL_OK)) {
        return CTL_USAGE;
    }
    if (ctl_zone_name(c->argv[0], apex) != CTL_OK) {
        return CTL_FAIL;
    }
    ctl_name_str(apex, name);
    rc = CTL_FAIL;
    if (ctl_write_begin(c, true, &s, &w) != CTL_OK) {
        goto out;
    }
    err = zw_zone_create(&w, apex, &z);
    if (err == DNSD_EEXIST) {
        ctl_err("zone %s already exists (make it a secondary with: dnsctl zone set %s "
                "--primary ...)", name, name);
        goto out;
    }
    if (err == 0) {
        err = zw_zone_set_flags(&w, &z, ZS_ZONE_F_SECONDARY | ZS_ZONE_F_SERVFAIL, 0);
    }
    if (err == 0) {
        err = zsec_conf_put(s, w.txn, z.id, &conf);
    }
    if (err) {
        ctl_err("cannot add zone %s: %s", name, dnsd_strerror(err));
        goto out;
    }
    if (key_refs(&w, &z, NULL, &conf) != CTL_OK) {
        goto out;
    }
    if (ctl_commit(&w, NULL) != CTL_OK) {
        goto out;
    }
    rc = CTL_OK;
    print_conf(name, &conf);
    printf("added zone %s: it answers SERVFAIL until the first transfer\n", name);
out:
    zw_abort(&w);
    zs_close(s);
    return rc;
}

/* "2026-12-07T06:30:00Z", or "-" for 0 */
static const char *when(uint64_t t, char *buf, size_t cap)
{
    if (t == 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static const char *kind_str(uint8_t k)
{
    switch (k) {
    case ZSEC_KIND_AXFR:
        return "AXFR";
    case ZSEC_KIND_IXFR:
        return "IXFR";
    case ZSEC_KIND_UPTODATE:
        return "up to date";
    default:
        return "none";
    }
}

int ctl_zone_show(ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    zw_zone_t z;
    zsec_conf_t conf;
    zsec_state_t st;
    char name[CTL_NAME_STR_MAX], kn[CTL_NAME_STR_MAX], a[64], t1[32], t2[32], t3[32], t4[32];
    char t5[32];
    uint32_t serial = 0;
    int rc, err;

    if ((rc = ctl_check_args(c, "zone show", CTL_OPT_JSON, 1, 1))) {
        return rc;
    }
    rc = CTL_FAIL;
    if (ctl_read_begin(c, &s, &txn) != CTL_OK || ctl_zone_get(s, txn, c->argv[0], &z) != CTL_OK) {
        goto out;
    }
    ctl_name_str(z.apex, name);
    bool has_serial = zw_soa_serial(s, txn, &z, &serial) == 0;
    bool sec = z.flags & ZS_ZONE_F_SECONDARY;
    err = sec ? zsec_conf_get(s, txn, z.id, &conf) : DNSD_ENOTFOUND;
    if (err && err != DNSD_ENOTFOUND) {
        ctl_err("zone %s: %s", name, dnsd_strerror(err));
        goto out;
    }
    sec = sec && err == 0;
    err = sec ? zsec_state_get(s, txn, z.id, &st) : DNSD_ENOTFOUND;
    if (err && err != DNSD_ENOTFOUND) {
        ctl_err("zone %s: %s", name, dnsd_strerror(err));
        goto out;
    }
    if (err) {
        memset(&st, 0, sizeof(st));
    }
    const char *state = (z.flags & ZS_ZONE_F_SERVFAIL) ? (has_serial ? "expired (SERVFAIL)"
                                                                     : "not loaded (SERVFAIL)")
                                                       : "serving";
    rc = CTL_OK;
    if (c->json) {
        printf("{\"zone\": ");
        json_str(stdout, name);
        if (has_serial) {
            printf(", \"serial\": %u", serial);
        } else {
            printf(", \"serial\": null");
        }
        printf(", \"ecs\": %s, \"state\": ", (z.flags & ZS_ZONE_F_NO_ECS) ? "false" : "true");
        json_str(stdout, state);
        printf(", ");
        if ((rc = ctl_xfrout_print(c, s, txn, &z)) != CTL_OK) {
            goto out;
        }
        if (sec) {
            printf(", \"primaries\": [");
            for (unsigned i = 0; i < conf.nprimaries; i++) {
                printf("%s", i ? ", " : "");
                json_str(stdout, zsec_primary_str(&conf.primary[i], a, sizeof(a)));
            }
            printf("], \"tsig\": ");
            if (conf.key_len) {
                json_str(stdout, ctl_name_str(conf.key, kn));
            } else {
                printf("null");
            }
            printf(", \"last_refresh\": %llu, \"last_attempt\": %llu, \"next_refresh\": %llu, "
                   "\"expire\": %llu, \"last_transfer\": ",
                   (unsigned long long)st.last_ok, (unsigned long long)st.last_try,
                   (unsigned long long)st.next, (unsigned long long)st.expire_at);
            json_str(stdout, kind_str(st.kind));
            printf(", \"last_error\": ");
            json_str(stdout, st.error);
        }
        printf("}\n");
        goto out;
    }
    /* one "%-16s value" line per item, as the transfer part (dnsctl_xfrout.c) prints */
    printf("%-16s %s\n", "zone", name);
    printf("%-16s %s\n", "serial", has_serial ? (snprintf(t1, sizeof(t1), "%u", serial), t1) : "-");
    printf("%-16s %s\n", "ecs", (z.flags & ZS_ZONE_F_NO_ECS) ? "off" : "on");
    printf("%-16s %s\n", "state", state);
    if ((rc = ctl_xfrout_print(c, s, txn, &z)) != CTL_OK) {
        goto out;
    }
    if (!sec) {
        printf("%-16s %s\n", "primary", "(none: a zone of this store)");
        goto out;
    }
    printf("%-16s", "primary");
    for (unsigned i = 0; i < conf.nprimaries; i++) {
        printf("%s %s", i ? "," : "", zsec_primary_str(&conf.primary[i], a, sizeof(a)));
    }
    printf("\n%-16s %s\n", "tsig", conf.key_len ? ctl_name_str(conf.key, kn) : "(none)");
    printf("%-16s %s (%s)\n", "last refresh", when(st.last_ok, t2, sizeof(t2)), kind_str(st.kind));
    printf("%-16s %s\n", "last attempt", when(st.last_try, t3, sizeof(t3)));
    printf("%-16s %s\n", "next refresh", when(st.next, t4, sizeof(t4)));
    printf("%-16s %s\n", "expires", when(st.expire_at, t5, sizeof(t5)));
    if (st.error[0]) {
        printf("%-16s %s\n", "last error", st.error);
    }
out:
    if (txn) {
        mdb_txn_abort(txn);
    }
    zs_close(s);
    return rc;
}

void ctl_secondary_print(ctl_t *c, const char *name)
{
    if (c->opt_seen & CTL_OPT_NO_PRIMARY) {
        printf("zone %s: no longer a secondary; its records are local from now on "
               "(edits bump its serial)\n", name);
        return;
    }
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    zw_zone_t z;
    zsec_conf_t conf;
    if (ctl_read_begin(c, &s, &txn) == CTL_OK && ctl_zone_get(s, txn, name, &z) == CTL_OK &&
        zsec_conf_get(s, txn, z.id, &conf) == 0) {
        print_conf(name, &conf);
    }
    if (txn) {
        mdb_txn_abort(txn);
    }
    zs_close(s);
}
