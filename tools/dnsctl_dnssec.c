/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_dnssec.c -- `dnsctl dnssec enable|disable|status|ds ZONE`: signing
 * a zone (zones/dnssec.h). enable and disable are each one write txn
 * through the writer (keys, policy, DNSKEY/CDS/CDNSKEY and every RRset's
 * signatures change together, journalled and replicated like any edit);
 * status and ds only read. Private key bytes are never printed: status
 * shows ids, tags, algorithms, roles, states and dates; ds prints the DS
 * records the parent (registrar) needs.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/dnssec.h"

static const char *alg_name(uint8_t alg)
{
    return alg == ZD_ALG_ECDSAP256SHA256 ? "ECDSAP256SHA256"
           : alg == ZD_ALG_ED25519       ? "ED25519"
                                         : "?";
}

static const char *role_name(uint8_t role)
{
    return role == ZD_ROLE_CSK ? "CSK" : role == ZD_ROLE_KSK ? "KSK" : "ZSK";
}

static const char *state_name(uint8_t st)
{
    switch (st) {
    case ZD_KS_PUBLISHED:
        return "published";
    case ZD_KS_ACTIVE:
        return "active";
    case ZD_KS_RETIRING:
        return "retiring";
    case ZD_KS_REMOVED:
        return "removed";
    default:
        return "?";
    }
}

/* --algorithm: 13, 15 or their mnemonics */
static int parse_alg(const char *s, uint8_t *alg)
{
    if (!s) {
        return CTL_OK;
    }
    if (strcmp(s, "13") == 0 || strcasecmp(s, "ecdsap256sha256") == 0) {
        *alg = ZD_ALG_ECDSAP256SHA256;
    } else if (strcmp(s, "15") == 0 || strcasecmp(s, "ed25519") == 0) {
        *alg = ZD_ALG_ED25519;
    } else {
        return ctl_usage("--algorithm: \"%s\" is not 13 (ECDSAP256SHA256) or 15 (ED25519)", s);
    }
    return CTL_OK;
}

/* One write txn on the zone named by the command's argument: @c apply
 * makes the change (0, or a DNSD_E* code with @p d saying why when it
 * can), @c done prints the result once it is committed. */
typedef struct zone_op {
    int (*apply)(zw_t *w, zw_zone_t *z, const char *name, diag_t *d, void *arg);
    void (*done)(const char *name, void *arg);
} zone_op_t;

static int zone_write(ctl_t *c, const zone_op_t *op, void *arg)
{
    zs_store_t *s = NULL;
    zw_t w;
    zw_zone_t z;
    diag_t d = {0};
    char name[CTL_NAME_STR_MAX];
    int rc;
    if ((rc = ctl_write_begin(c, false, &s, &w)) != CTL_OK ||
        (rc = ctl_zone_get(s, w.txn, c->argv[0], &z)) != CTL_OK) {
        goto out;
    }
    ctl_name_str(z.apex, name);
    int err = op->apply(&w, &z, name, &d, arg);
    if (err) {
        rc = d.text[0] ? ctl_diag(NULL, &d) : ctl_err("zone %s: %s", name, dnsd_strerror(err));
        goto out;
    }
    if ((rc = ctl_commit(&w, name)) == CTL_OK) {
        op->done(name, arg);
    }
out:
    zw_abort(&w);
    zs_close(s);
    return rc;
}

struct enable_arg {
    const ctl_t *c;
    uint8_t alg;
    zd_policy_t p;
};

static int enable_apply(zw_t *w, zw_zone_t *z, const char *name, diag_t *d, void *arg)
{
    struct enable_arg *a = arg;
    int err = zd_policy_get(w->s, w->txn, z->id, &a->p); /* a policy set beforehand is kept */
    if (err && err != DNSD_ENOTFOUND) {
        diag_set(d, "", 0, "zone %s: cannot read its DNSSEC policy: %s", name,
                 dnsd_strerror(err));
        return err;
    }
    if (a->alg) {
        a->p.alg = a->alg;
    }
    if (a->c->opt_seen & CTL_OPT_CSK) {
        a->p.split = false;
    } else if (a->c->opt_seen & CTL_OPT_KSK_ZSK) {
        a->p.split = true;
    }
    return zd_zone_enable(w, z, &a->p, d);
}

static void enable_done(const char *name, void *arg)
{
    const struct enable_arg *a = arg;
    printf("zone %s signed: algorithm %u (%s), %s\n", name, a->p.alg, alg_name(a->p.alg),
           a->p.split ? "a KSK and a ZSK" : "one combined signing key (CSK)");
    printf("give the parent its DS records: dnsctl dnssec ds %s\n", name);
}

static int dnssec_enable(ctl_t *c)
{
    int rc = ctl_check_args(c, "dnssec enable", CTL_OPT_ALGORITHM | CTL_OPT_CSK | CTL_OPT_KSK_ZSK,
                            1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    if ((c->opt_seen & CTL_OPT_CSK) && (c->opt_seen & CTL_OPT_KSK_ZSK)) {
        return ctl_usage("dnssec enable: --csk and --ksk-zsk exclude each other");
    }
    struct enable_arg a = {.c = c};
    if ((rc = parse_alg(c->algorithm, &a.alg)) != CTL_OK) {
        return rc;
    }
    static const zone_op_t op = {enable_apply, enable_done};
    return zone_write(c, &op, &a);
}

static int disable_apply(zw_t *w, zw_zone_t *z, const char *name, diag_t *d, void *arg)
{
    (void)name;
    (void)arg;
    return zd_zone_disable(w, z, d);
}

static void disable_done(const char *name, void *arg)
{
    (void)arg;
    printf("zone %s is no longer signed: signatures, DNSKEY, CDS, CDNSKEY and keys removed\n",
           name);
}

static int dnssec_disable(ctl_t *c)
{
    int rc = ctl_check_args(c, "dnssec disable", 0, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    static const zone_op_t op = {disable_apply, disable_done};
    return zone_write(c, &op, NULL);
}

/* Re-sign every RRset of a signed zone now, with the current keys, in one
 * write txn (the SOA serial stays: no data changes). dnsd's upkeep re-signs
 * in batches before expiry by itself; this is for an operator who wants
 * fresh signatures at once (as knotc zone-sign) and for the benchmark. */
static int resign_apply(zw_t *w, zw_zone_t *z, const char *name, diag_t *d, void *arg)
{
    if (!(z->flags & ZS_ZONE_F_SIGNED)) {
        diag_set(d, "", 0, "zone %s is not signed (dnsctl dnssec enable %s)", name, name);
        return DNSD_ENOTFOUND;
    }
    zd_zone_t zz = {z->id, z->apex, z->apex_labels};
    return zd_sign_all(w->s, w->txn, &zz, false, (uint64_t)time(NULL), arg, d);
}

static void resign_done(const char *name, void *arg)
{
    printf("zone %s: %zu RRsets signed again\n", name, *(size_t *)arg);
}

static int dnssec_resign(ctl_t *c)
{
    int rc = ctl_check_args(c, "dnssec resign", 0, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    size_t n = 0;
    static const zone_op_t op = {resign_apply, resign_done};
    return zone_write(c, &op, &n);
}

struct sig_count {
    size_t nsigned, nunsigned;
    uint32_t next_exp;
    bool any_exp;
};

static int count_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    struct sig_count *sc = arg;
    (void)owner;
    if (rr->nsig == 0) {
        sc->nunsigned++;
        return 0;
    }
    sc->nsigned++;
    const uint8_t *p = rr->sigs;
    for (unsigned i = 0; i < rr->nsig; i++) {
        uint32_t exp = zs_get32(p + 2 + 8);
        if (!sc->any_exp || exp < sc->next_exp) {
            sc->next_exp = exp;
            sc->any_exp = true;
        }
        p += 2 + zs_get16(p);
    }
    return 0;
}

static void put_time(FILE *f, const char *key, uint64_t t, bool json)
{
    char buf[64];
    ctl_cert_time((long long)t, buf, sizeof(buf));
    if (json) {
        fprintf(f, ", \"%s\": ", key);
        if (t) {
            json_str(f, buf);
        } else {
            fputs("null", f);
        }
    }
}

static int dnssec_status(ctl_t *c)
{
    int rc = ctl_check_args(c, "dnssec status", CTL_OPT_JSON, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    zd_key_t *ks = NULL;
    size_t n = 0;
    zw_zone_t z;
    char name[CTL_NAME_STR_MAX];
    ctl_table_t t;
    ctl_table_init(&t, 8);
    t.right[0] = t.right[1] = true;
    if ((rc = ctl_read_begin(c, &s, &txn)) != CTL_OK ||
        (rc = ctl_zone_get(s, txn, c->argv[0], &z)) != CTL_OK) {
        goto out;
    }
    ctl_name_str(z.apex, name);
    bool is_signed = z.flags & ZS_ZONE_F_SIGNED;
    zd_policy_t p;
    int err = zd_policy_get(s, txn, z.id, &p);
    bool has_policy = err == 0;
    if (err && err != DNSD_ENOTFOUND) {
        rc = ctl_err("zone %s: cannot read its DNSSEC policy: %s", name, dnsd_strerror(err));
        goto out;
    }
    if ((err = zd_keys_list(s, txn, z.id, &ks, &n)) != 0) {
        rc = ctl_err("zone %s: cannot read its DNSSEC keys: %s", name, dnsd_strerror(err));
        goto out;
    }
    struct sig_count sc = {0};
    if ((err = zw_foreach_rrset(s, txn, &z, count_cb, &sc)) != 0) {
        rc = ctl_err("zone %s: %s", name, dnsd_strerror(err));
        goto out;
    }
    char exp[64];
    ctl_cert_time(sc.any_exp ? (long long)sc.next_exp : 0, exp, sizeof(exp));
    if (c->json) {
        printf("{\"zone\": ");
        json_str(stdout, name);
        printf(", \"signed\": %s, \"rrsets_signed\": %zu, \"rrsets_unsigned\": %zu",
               is_signed ? "true" : "false", sc.nsigned, sc.nunsigned);
        put_time(stdout, "next_expiry", sc.any_exp ? sc.next_exp : 0, true);
        printf(", \"policy\": ");
        if (has_policy) {
            printf("{\"algorithm\": %u, \"split\": %s, \"sig_validity\": %u, \"sig_refresh\": %u, "
                   "\"sig_jitter\": %u, \"zsk_lifetime\": %u, \"ksk_lifetime\": %u, "
                   "\"propagation\": %u, \"parent_ds_ttl\": %u, \"parent_propagation\": %u, "
                   "\"purge_keys\": %u}",
                   p.alg, p.split ? "true" : "false", p.sig_validity, p.sig_refresh,
                   p.sig_jitter, p.zsk_lifetime, p.ksk_lifetime, p.propagation,
                   p.parent_ds_ttl, p.parent_propagation, p.purge_keys);
        } else {
            printf("null");
        }
        printf(", \"keys\": [");
        for (size_t i = 0; i < n; i++) {
            const zd_key_t *k = &ks[i];
            printf("%s{\"id\": %u, \"tag\": %u, \"algorithm\": %u, \"role\": \"%s\", "
                   "\"state\": \"%s\", \"flags\": %u",
                   i ? ", " : "", k->id, k->tag, k->alg, role_name(k->role),
                   state_name(k->state), k->flags);
            put_time(stdout, "created", k->created, true);
            put_time(stdout, "published", k->published, true);
            put_time(stdout, "active", k->active, true);
            put_time(stdout, "retired", k->retired, true);
            put_time(stdout, "removed", k->removed, true);
            put_time(stdout, "ds_seen", k->ds_seen, true);
            printf("}");
        }
        printf("]}\n");
        goto out;
    }
    printf("zone %s: %s\n", name, is_signed ? "signed" : "not signed");
    if (has_policy) {
        printf("policy: algorithm %u (%s), %s, signatures valid %us, refreshed when < %us "
               "left, jitter %us; ZSK lifetime %us, KSK lifetime %us (0: no automatic "
               "rollover); propagation %us, parent DS TTL %us, parent propagation %us; "
               "removed keys purged after %us (0: kept)\n",
               p.alg, alg_name(p.alg), p.split ? "KSK + ZSK" : "CSK", p.sig_validity,
               p.sig_refresh, p.sig_jitter, p.zsk_lifetime, p.ksk_lifetime, p.propagation,
               p.parent_ds_ttl, p.parent_propagation, p.purge_keys);
    }
    printf("RRsets: %zu signed, %zu unsigned (delegations, glue%s); next signature expiry %s\n",
           sc.nsigned, sc.nunsigned, is_signed ? "" : ", or all when not signed", exp);
    if (n == 0) {
        printf("keys: none\n");
        goto out;
    }
    const char *head[] = {"ID", "TAG", "ALGORITHM", "ROLE", "STATE", "PUBLISHED", "ACTIVE",
                          "RETIRED/DS-SEEN"};
    ctl_table_add(&t, head);
    for (size_t i = 0; i < n; i++) {
        const zd_key_t *k = &ks[i];
        char id[16], tag[16], alg[32], pub[64], act[64], ret[64], ds[64], last[140];
        snprintf(id, sizeof(id), "%u", k->id);
        snprintf(tag, sizeof(tag), "%u", k->tag);
        snprintf(alg, sizeof(alg), "%u %s", k->alg, alg_name(k->alg));
        ctl_cert_time((long long)k->published, pub, sizeof(pub));
        ctl_cert_time((long long)k->active, act, sizeof(act));
        ctl_cert_time((long long)k->retired, ret, sizeof(ret));
        ctl_cert_time((long long)k->ds_seen, ds, sizeof(ds));
        snprintf(last, sizeof(last), "%s / %s", ret, ds);
        const char *row[] = {id, tag, alg, role_name(k->role), state_name(k->state), pub, act,
                             last};
        ctl_table_add(&t, row);
    }
    ctl_table_print(&t, stdout);
out:
    if (ks) {
        OPENSSL_cleanse(ks, n * sizeof(*ks));
    }
    free(ks);
    ctl_table_fini(&t);
    if (txn) {
        mdb_txn_abort(txn);
    }
    zs_close(s);
    return rc;
}

static int dnssec_ds(ctl_t *c)
{
    int rc = ctl_check_args(c, "dnssec ds", 0, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    zd_key_t *ks = NULL;
    size_t n = 0;
    zw_zone_t z;
    char name[CTL_NAME_STR_MAX];
    if ((rc = ctl_read_begin(c, &s, &txn)) != CTL_OK ||
        (rc = ctl_zone_get(s, txn, c->argv[0], &z)) != CTL_OK) {
        goto out;
    }
    ctl_name_str(z.apex, name);
    if (!(z.flags & ZS_ZONE_F_SIGNED)) {
        rc = ctl_err("zone %s is not signed (dnsctl dnssec enable %s)", name, name);
        goto out;
    }
    int err = zd_keys_list(s, txn, z.id, &ks, &n);
    if (err) {
        rc = ctl_err("zone %s: cannot read its DNSSEC keys: %s", name, dnsd_strerror(err));
        goto out;
    }
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        const zd_key_t *k = &ks[i];
        if (!(k->role & ZD_ROLE_KSK) ||
            (k->state != ZD_KS_PUBLISHED && k->state != ZD_KS_ACTIVE)) {
            continue;
        }
        uint8_t ds[64];
        if (zd_ds_rdata(k, z.apex, ds) != 36) {
            rc = ctl_err("zone %s: cannot compute the DS of key %u", name, k->id);
            goto out;
        }
        printf("%s IN DS %u %u 2 ", name, k->tag, k->alg);
        for (int j = 4; j < 36; j++) {
            printf("%02X", ds[j]);
        }
        printf("\n");
        shown++;
    }
    if (shown == 0) {
        rc = ctl_err("zone %s has no key-signing key published or active", name);
    }
out:
    if (ks) {
        OPENSSL_cleanse(ks, n * sizeof(*ks));
    }
    free(ks);
    if (txn) {
        mdb_txn_abort(txn);
    }
    zs_close(s);
    return rc;
}

int ctl_dnssec(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "enable") == 0) {
        return dnssec_enable(c);
    }
    if (strcmp(verb, "disable") == 0) {
        return dnssec_disable(c);
    }
    if (strcmp(verb, "status") == 0) {
        return dnssec_status(c);
    }
    if (strcmp(verb, "ds") == 0) {
        return dnssec_ds(c);
    }
    if (strcmp(verb, "resign") == 0) {
        return dnssec_resign(c);
    }
    return ctl_usage("unknown command \"dnssec %s\" (enable, disable, status, ds, resign)",
                     verb);
}
