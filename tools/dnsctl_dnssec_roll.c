/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_dnssec_roll.c -- `dnsctl dnssec rollover|ds-seen|policy`: the
 * operator's side of automatic key management (zones/dnssec_roll.h). A
 * rollover started here goes on in dnsd (its dnssec-check-interval-ms
 * timer); ds-seen tells it the parent serves a new key's DS; policy reads
 * or sets the zone's lifetimes, propagation delays and signature validity.
 * Each edit is one write txn, aborted on any error. Prints key tags, never
 * key material.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/base/parse.h"
#include "zones/dnssec.h"
#include "zones/dnssec_roll.h"

bool ctl_dnssec_roll_verb(const char *verb)
{
    return strcmp(verb, "rollover") == 0 || strcmp(verb, "ds-seen") == 0 ||
           strcmp(verb, "policy") == 0;
}

/* the zone, which must be signed */
static int signed_zone(zs_store_t *s, MDB_txn *txn, const char *arg, zw_zone_t *z)
{
    if (ctl_zone_get(s, txn, arg, z) != CTL_OK) {
        return CTL_FAIL;
    }
    if (!(z->flags & ZS_ZONE_F_SIGNED)) {
        char name[CTL_NAME_STR_MAX];
        return ctl_err("zone %s is not signed (dnsctl dnssec enable %s first)",
                       ctl_name_str(z->apex, name), name);
    }
    return CTL_OK;
}

static int cmd_rollover(ctl_t *c)
{
    if (c->opt_seen & CTL_OPT_KSK && c->opt_seen & CTL_OPT_ZSK) {
        return ctl_usage("dnssec rollover: --ksk or --zsk, not both");
    }
    int rc = ctl_check_args(c, "dnssec rollover", CTL_OPT_KSK | CTL_OPT_ZSK, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    uint8_t role = (c->opt_seen & CTL_OPT_KSK) ? ZD_ROLE_KSK
                   : (c->opt_seen & CTL_OPT_ZSK) ? ZD_ROLE_ZSK
                                                 : 0;
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    char what[512], name[CTL_NAME_STR_MAX];
    diag_t d = {0};
    rc = CTL_FAIL;
    if (ctl_write_begin(c, false, &s, &w) != CTL_OK || signed_zone(s, w.txn, c->argv[0], &z)) {
        goto out;
    }
    ctl_name_str(z.apex, name);
    if (zd_roll_start(&w, &z, role, (uint64_t)time(NULL), what, sizeof(what), &d) != 0) {
        rc = ctl_err("zone %s: %s", name, d.text);
        goto out;
    }
    if ((rc = ctl_commit(&w, name)) != CTL_OK) {
        goto out;
    }
    printf("zone %s: %s\n", name, what);
    printf("dnsd carries it on (every dnssec-check-interval-ms); "
           "dnsctl dnssec status %s shows where it is\n", name);
out:
    zw_abort(&w);
    zs_close(s);
    return rc;
}

static int cmd_ds_seen(ctl_t *c)
{
    int rc = ctl_check_args(c, "dnssec ds-seen", 0, 2, 2);
    if (rc != CTL_OK) {
        return rc;
    }
    long long tag;
    if (parse_num(c->argv[1], 0, 65535, &tag) != 0) {
        return ctl_usage("dnssec ds-seen: key tag \"%s\" is not a number from 0 to 65535",
                         c->argv[1]);
    }
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    char name[CTL_NAME_STR_MAX];
    diag_t d = {0};
    zd_policy_t p;
    rc = CTL_FAIL;
    if (ctl_write_begin(c, false, &s, &w) != CTL_OK || signed_zone(s, w.txn, c->argv[0], &z)) {
        goto out;
    }
    ctl_name_str(z.apex, name);
    int err = zd_roll_ds_seen(&w, &z, (uint16_t)tag, (uint64_t)time(NULL), &d);
    if (err == DNSD_EEXIST) {
        printf("zone %s: %s: nothing to do\n", name, d.text);
        rc = CTL_OK;
        goto out;
    }
    if (err) {
        rc = ctl_err("zone %s: %s", name, d.text);
        goto out;
    }
    err = zd_policy_get(s, w.txn, z.id, &p);
    if (err && err != DNSD_ENOTFOUND) {
        rc = ctl_err("zone %s: cannot read the policy: %s", name, dnsd_strerror(err));
        goto out;
    }
    if ((rc = ctl_commit(&w, name)) != CTL_OK) {
        goto out;
    }
    printf("zone %s: DS of key %lld seen at the parent; after %llu s (parent propagation "
           "%u s + DS TTL %u s) dnsd makes the key active, if it is waiting for that\n",
           name, tag, (unsigned long long)zd_roll_ids(&p), p.parent_propagation,
           p.parent_ds_ttl);
out:
    zw_abort(&w);
    zs_close(s);
    return rc;
}

/* ---- policy ---- */

typedef struct pfield {
    const char *key;
    size_t off;            /* uint32_t in zd_policy_t */
    long long min, max;    /* seconds */
    bool zero_never;       /* 0 (or "never") means: never (no automatic rollover, no purge) */
    const char *what;
} pfield_t;

#define PF(k, f, mn, mx, z, w) {k, offsetof(zd_policy_t, f), mn, mx, z, w}
static const pfield_t pfields[] = {
    PF("zsk-lifetime", zsk_lifetime, 0, 100LL * 365 * 86400, true,
       "ZSK (split keys) rolled automatically this long after it became active"),
    PF("ksk-lifetime", ksk_lifetime, 0, 100LL * 365 * 86400, true,
       "KSK or CSK rolled automatically this long after it became active"),
    PF("propagation", propagation, 0, 7LL * 86400, false,
       "time for a change to reach every authoritative server of the zone"),
    PF("parent-ds-ttl", parent_ds_ttl, 0, 7LL * 86400, false, "the TTL of the parent's DS"),
    PF("parent-propagation", parent_propagation, 0, 7LL * 86400, false,
       "time for a DS change to reach every server of the parent"),
    PF("purge-keys", purge_keys, 0, 100LL * 365 * 86400, true,
       "a removed key's record and private key are deleted this long after it left DNSKEY"),
    PF("sig-validity", sig_validity, 60, 365LL * 86400, false,
       "RRSIG expiration - inception"),
    PF("sig-refresh", sig_refresh, 1, 365LL * 86400, false,
       "re-sign when less than this is left before a signature expires"),
    PF("sig-jitter", sig_jitter, 0, 365LL * 86400, false,
       "expiration spread over RRsets (at most this much earlier)"),
};
#define NPF (sizeof(pfields) / sizeof(pfields[0]))

static uint32_t *pf_ptr(zd_policy_t *p, const pfield_t *f)
{
    return (uint32_t *)((char *)p + f->off);
}

/* "90d", "12h", "300", "5m", "2w", "never": seconds; -1 if malformed */
static long long duration_parse(const char *v, bool never_ok)
{
    if (never_ok && strcmp(v, "never") == 0) {
        return 0;
    }
    size_t n = strlen(v);
    if (n == 0 || n > 20) {
        return -1;
    }
    long long mult = 1;
    char num[24];
    memcpy(num, v, n + 1);
    switch (num[n - 1]) {
    case 's': mult = 1; break;
    case 'm': mult = 60; break;
    case 'h': mult = 3600; break;
    case 'd': mult = 86400; break;
    case 'w': mult = 7 * 86400; break;
    default: mult = 0; break;
    }
    if (mult) {
        num[--n] = 0;
    } else {
        mult = 1;
    }
    long long x;
    if (n == 0 || parse_num(num, 0, 200LL * 365 * 86400, &x) != 0) {
        return -1;
    }
    return x * mult;
}

static void policy_print(const char *name, const zd_policy_t *p, bool json)
{
    zd_policy_t q = *p;
    if (json) {
        printf("{\"zone\":");
        json_str(stdout, name);
        printf(",\"algorithm\":%u,\"split\":%s", p->alg, p->split ? "true" : "false");
        for (size_t i = 0; i < NPF; i++) {
            printf(",\"%s\":%u", pfields[i].key, *pf_ptr(&q, &pfields[i]));
        }
        printf("}\n");
        return;
    }
    printf("zone %s\n", name);
    printf("  %-20s %u (for new keys of dnssec enable; a rollover keeps the key's)\n",
           "algorithm", p->alg);
    printf("  %-20s %s\n", "keys", p->split ? "KSK + ZSK" : "CSK");
    for (size_t i = 0; i < NPF; i++) {
        uint32_t v = *pf_ptr(&q, &pfields[i]);
        if (pfields[i].zero_never && v == 0) {
            printf("  %-20s never  (%s)\n", pfields[i].key, pfields[i].what);
        } else {
            printf("  %-20s %u s  (%s)\n", pfields[i].key, v, pfields[i].what);
        }
    }
}

static int cmd_policy(ctl_t *c)
{
    int rc = ctl_check_args(c, "dnssec policy", CTL_OPT_JSON, 1, -1);
    if (rc != CTL_OK) {
        return rc;
    }
    bool set = c->argc > 1;
    zs_store_t *s = NULL;
    zw_t w = {0};
    MDB_txn *txn = NULL;
    zw_zone_t z;
    zd_policy_t p;
    char name[CTL_NAME_STR_MAX];
    rc = CTL_FAIL;
    if (set) {
        if (ctl_write_begin(c, false, &s, &w) != CTL_OK) {
            goto out;
        }
        txn = w.txn;
    } else if (ctl_read_begin(c, &s, &txn) != CTL_OK) {
        goto out;
    }
    /* an unsigned zone may get its policy first: dnssec enable keeps it */
    if (ctl_zone_get(s, txn, c->argv[0], &z) != CTL_OK) {
        goto out;
    }
    ctl_name_str(z.apex, name);
    int err = zd_policy_get(s, txn, z.id, &p);
    if (err && err != DNSD_ENOTFOUND) {
        ctl_err("zone %s: cannot read the policy: %s", name, dnsd_strerror(err));
        goto out;
    }
    for (int i = 1; i < c->argc; i++) {
        const char *a = c->argv[i], *eq = strchr(a, '=');
        size_t kl = eq ? (size_t)(eq - a) : strlen(a);
        const pfield_t *f = NULL;
        for (size_t k = 0; k < NPF && !f; k++) {
            if (strlen(pfields[k].key) == kl && strncmp(pfields[k].key, a, kl) == 0) {
                f = &pfields[k];
            }
        }
        if (!f) {
            char known[256] = "";
            size_t l = 0;
            for (size_t k = 0; k < NPF; k++) {
                l += (size_t)snprintf(known + l, sizeof(known) - l, "%s%s", k ? ", " : "",
                                      pfields[k].key);
            }
            rc = ctl_usage("dnssec policy: unknown setting \"%.*s\" (settings: %s)", (int)kl, a,
                           known);
            goto out;
        }
        if (!eq) {
            rc = ctl_usage("dnssec policy: %s needs a value (%s=DURATION)", f->key, f->key);
            goto out;
        }
        long long v = duration_parse(eq + 1, f->zero_never);
        if (v < 0) {
            rc = ctl_usage("dnssec policy: %s: \"%s\" is not a duration (seconds, or a number "
                           "followed by s, m, h, d or w%s)",
                           f->key, eq + 1, f->zero_never ? "; or never" : "");
            goto out;
        }
        if (v < f->min || v > f->max) {
            rc = ctl_usage("dnssec policy: %s: %s is out of range (%lld to %lld seconds)",
                           f->key, eq + 1, f->min, f->max);
            goto out;
        }
        *pf_ptr(&p, f) = (uint32_t)v;
    }
    if (set) {
        /* the relations that keep signatures valid and the signer from spinning */
        if (p.sig_refresh >= p.sig_validity) {
            ctl_err("zone %s: sig-refresh (%u s) must be less than sig-validity (%u s): "
                    "nothing changed", name, p.sig_refresh, p.sig_validity);
            goto out;
        }
        if ((uint64_t)p.sig_jitter + p.sig_refresh >= p.sig_validity) {
            ctl_err("zone %s: sig-jitter (%u s) + sig-refresh (%u s) must be less than "
                    "sig-validity (%u s), or a fresh signature would be due for re-signing "
                    "at once: nothing changed", name, p.sig_jitter, p.sig_refresh,
                    p.sig_validity);
            goto out;
        }
        err = zd_policy_put(s, w.txn, z.id, &p);
        if (err) {
            ctl_err("zone %s: policy refused: %s", name, dnsd_strerror(err));
            goto out;
        }
        txn = NULL;
        if (ctl_commit(&w, name) != CTL_OK) {
            goto out;
        }
    }
    policy_print(name, &p, c->json);
    rc = CTL_OK;
out:
    if (txn && !set) {
        mdb_txn_abort(txn);
    }
    zw_abort(&w);
    zs_close(s);
    return rc;
}

int ctl_dnssec_roll(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "rollover") == 0) {
        return cmd_rollover(c);
    }
    if (strcmp(verb, "ds-seen") == 0) {
        return cmd_ds_seen(c);
    }
    if (strcmp(verb, "policy") == 0) {
        return cmd_policy(c);
    }
    return ctl_usage("dnssec: unknown subcommand \"%s\"", verb);
}
