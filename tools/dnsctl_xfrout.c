/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_xfrout.c -- `dnsctl zone set ZONE --allow-transfer SPEC ...
 * --notify TARGET ...` and the transfer part of `dnsctl zone show`: the
 * zone's outgoing-transfer settings in the "xfrout" sub-database
 * (zones/xfracl.h). Each option replaces its whole list; "none" empties it.
 * A TSIG key named in either list must exist (dnsctl tsig add) and gets a
 * reference ("xfrout ZONE."), so `dnsctl tsig del` refuses a key in use.
 */
#include <stdio.h>
#include <string.h>

#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/tsig.h"
#include "zones/xfracl.h"


/* Parse the values of one option into @p l; "none" (alone) gives an empty list. */
static int parse_list(const char *opt, const char *const *v, int nv, xacl_list_t which,
                      xacl_t *l)
{
    l->n = 0;
    if (nv == 1 && strcmp(v[0], "none") == 0) {
        return CTL_OK;
    }
    for (int i = 0; i < nv; i++) {
        if (strcmp(v[i], "none") == 0) {
            return ctl_usage("%s none: give it alone (it empties the list)", opt);
        }
        if (l->n == XACL_MAX) {
            return ctl_usage("%s: at most %d entries", opt, XACL_MAX);
        }
        diag_t d = {0};
        if (xacl_parse(which, v[i], &l->e[l->n], &d) != 0) {
            return ctl_usage("%s %s", opt, d.text);
        }
        l->n++;
    }
    return CTL_OK;
}

/* Drop the references of the keys in @p l (if any). */
static int refs_del(zs_store_t *s, MDB_txn *txn, const xacl_t *l, const char *label)
{
    for (unsigned i = 0; i < l->n; i++) {
        if (l->e[i].key_len) {
            int err = tsig_ref_del(s, txn, l->e[i].key, label);
            if (err) {
                return err;
            }
        }
    }
    return 0;
}

/* Check the keys of @p l exist and reference them. */
static int refs_add(zs_store_t *s, MDB_txn *txn, const xacl_t *l, const char *label,
                    const char *opt)
{
    for (unsigned i = 0; i < l->n; i++) {
        if (!l->e[i].key_len) {
            continue;
        }
        int err = tsig_ref_add(s, txn, l->e[i].key, label);
        if (err) {
            char kn[CTL_NAME_STR_MAX];
            ctl_name_str(l->e[i].key, kn);
            if (err == DNSD_ENOTFOUND) {
                ctl_err("%s: no TSIG key %s (add it first: dnsctl tsig add %s)", opt, kn, kn);
            } else {
                ctl_err("%s: key %s: %s", opt, kn, dnsd_strerror(err));
            }
            return CTL_FAIL;
        }
    }
    return CTL_OK;
}

int ctl_xfrout_set(ctl_t *c, zw_t *w, const zw_zone_t *z)
{
    zs_store_t *s = w->s;
    MDB_txn *txn = w->txn;
    char label[XACL_REF_LABEL_MAX];
    xacl_ref_label(z->apex, label, sizeof(label));
    xacl_t cur[2], neu[2];
    const xacl_list_t which[2] = {XACL_TRANSFER, XACL_NOTIFY};
    const char *opt[2] = {"--allow-transfer", "--notify"};
    const char *const *vals[2] = {c->allow_xfr, c->notify};
    int nvals[2] = {c->nallow_xfr, c->nnotify};
    int err;
    for (int k = 0; k < 2; k++) {
        if ((err = xacl_get(s, txn, z->id, which[k], &cur[k])) != 0) {
            return ctl_err("zone %s: %s", c->argv[0], dnsd_strerror(err));
        }
        neu[k] = cur[k];
        if (nvals[k] && parse_list(opt[k], vals[k], nvals[k], which[k], &neu[k]) != CTL_OK) {
            return CTL_USAGE;
        }
    }
    /* references: drop the old ones, then add what the lists hold now */
    for (int k = 0; k < 2; k++) {
        if ((err = refs_del(s, txn, &cur[k], label)) != 0) {
            return ctl_err("zone %s: %s", c->argv[0], dnsd_strerror(err));
        }
    }
    for (int k = 0; k < 2; k++) {
        if (refs_add(s, txn, &neu[k], label, opt[k]) != CTL_OK) {
            return CTL_FAIL;
        }
        if (nvals[k] && (err = xacl_put(s, txn, z->id, which[k], &neu[k])) != 0) {
            return ctl_err("zone %s: %s", c->argv[0], dnsd_strerror(err));
        }
    }
    return CTL_OK;
}

/* One list as text lines "  <title> <entry>" or "  <title> none". */
static void print_list(const char *title, xacl_list_t which, const xacl_t *l, const char *none)
{
    if (l->n == 0) {
        printf("%-16s %s\n", title, none);
    }
    for (unsigned i = 0; i < l->n; i++) {
        char t[XACL_TEXT_MAX];
        xacl_format(which, &l->e[i], t, sizeof(t));
        printf("%-16s %s\n", title, t);
    }
}

static void json_list(const char *title, xacl_list_t which, const xacl_t *l)
{
    printf("\"%s\": [", title);
    for (unsigned i = 0; i < l->n; i++) {
        char t[XACL_TEXT_MAX];
        xacl_format(which, &l->e[i], t, sizeof(t));
        printf("%s\"%s\"", i ? ", " : "", t); /* addresses, digits, [:.] and key names: no escapes */
    }
    printf("]");
}

int ctl_xfrout_print(ctl_t *c, zs_store_t *s, MDB_txn *txn, const zw_zone_t *z)
{
    xacl_t a, n;
    int err = xacl_get(s, txn, z->id, XACL_TRANSFER, &a);
    if (!err) {
        err = xacl_get(s, txn, z->id, XACL_NOTIFY, &n);
    }
    if (err) {
        return ctl_err("zone %s: transfer settings: %s", c->argc ? c->argv[0] : "?",
                       dnsd_strerror(err));
    }
    if (c->json) {
        json_list("allow_transfer", XACL_TRANSFER, &a);
        printf(", ");
        json_list("notify", XACL_NOTIFY, &n);
        return CTL_OK;
    }
    print_list("allow-transfer", XACL_TRANSFER, &a, "none (transfers refused)");
    print_list("notify", XACL_NOTIFY, &n, "none");
    return CTL_OK;
}

int ctl_xfrout_show(ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    zw_zone_t z;
    int rc;
    if ((rc = ctl_check_args(c, "zone show", CTL_OPT_JSON, 1, 1))) {
        return rc;
    }
    rc = CTL_FAIL;
    if (ctl_read_begin(c, &s, &txn) != CTL_OK || ctl_zone_get(s, txn, c->argv[0], &z) != CTL_OK) {
        goto out;
    }
    char zn[CTL_NAME_STR_MAX];
    ctl_name_str(z.apex, zn);
    uint32_t serial = 0;
    bool has_serial = zw_soa_serial(s, txn, &z, &serial) == 0;
    if (c->json) {
        char sv[16] = "null";
        if (has_serial) {
            snprintf(sv, sizeof(sv), "%u", serial);
        }
        printf("{\"zone\": \"%s\", \"serial\": %s, ", zn, sv);
    } else {
        printf("%-16s %s\n", "zone", zn);
        if (has_serial) {
            printf("%-16s %u\n", "serial", serial);
        }
    }
    rc = ctl_xfrout_print(c, s, txn, &z);
    if (c->json && rc == CTL_OK) {
        printf("}\n");
    }
out:
    if (txn) {
        mdb_txn_abort(txn);
    }
    zs_close(s);
    return rc;
}
