/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_tsig.c -- `dnsctl tsig add|list|show|del`: the TSIG keys in the
 * store's "tsig" sub-database (zones/tsig.h), which dnsd's transfers,
 * NOTIFY, UPDATE and secondary zones use.
 *
 * A key edit is one write transaction through the writer (zw_begin ...
 * zw_commit): no zone is touched, so nothing is journalled, but the
 * generation is bumped, so a running dnsd sees the change on its next
 * read. The secret is printed once, by `tsig add`, and again only when the
 * operator asks for a key clause (`tsig show --format`); never by list or
 * plain show, never logged. `tsig del` refuses a key that something still
 * uses (the references other features record with tsig_ref_add()).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/tsig.h"

/* the key name argument; names needing escapes are refused, since BIND,
 * Knot and NSD configs would each quote them differently */
static int key_name(const char *arg, uint8_t *wire, char *text)
{
    tsig_key_t k;
    diag_t d = {0};
    /* any valid algorithm and secret: only the name is parsed here */
    if (tsig_key_parse(arg, "hmac-sha256", "AA==", &k, &d) != 0) {
        return ctl_err("%s", d.text);
    }
    if (k.name_len == 1) {
        return ctl_err("bad key name \"%s\": the root cannot name a key", arg);
    }
    ctl_name_str(k.name, text);
    if (strchr(text, '\\') || strchr(text, '*')) {
        return ctl_err("bad key name \"%s\": use letters, digits, '-' and '_' in its labels "
                       "(other servers' config files must be able to name it)",
                       arg);
    }
    memcpy(wire, k.name, k.name_len);
    return CTL_OK;
}

static int tsig_add(ctl_t *c)
{
    int rc = ctl_check_args(c, "tsig add", CTL_OPT_ALGORITHM | CTL_OPT_SECRET | CTL_OPT_JSON, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    uint8_t name[DNAME_MAXLEN + 1];
    char text[CTL_NAME_STR_MAX];
    if (key_name(c->argv[0], name, text) != CTL_OK) {
        return CTL_FAIL;
    }
    const char *alg = c->algorithm ? c->algorithm : "hmac-sha256";
    tsig_alg_t a = tsig_alg_from_name(alg);
    if (a == TSIG_ALG_NONE) {
        return ctl_err("--algorithm \"%s\": %s", alg, tsig_alg_error(alg));
    }
    tsig_key_t key;
    char b64[TSIG_SECRET_MAX * 2];
    if (c->secret) {
        diag_t d = {0};
        if (tsig_key_parse(text, alg, c->secret, &key, &d) != 0) {
            return ctl_err("--secret: %s", d.text);
        }
        unsigned got = key.secret_len;
        if (got < tsig_alg_mac_len(a) / 2) {
            OPENSSL_cleanse(&key, sizeof(key));
            return ctl_err("--secret: %u bytes is too short for %s (at least %u; "
                           "RFC 2104 3 recommends %u, the hash's length)",
                           got, tsig_alg_name(a), tsig_alg_mac_len(a) / 2, tsig_alg_mac_len(a));
        }
    } else {
        /* RFC 8945 6: a secret as long as the hash output */
        memset(&key, 0, sizeof(key));
        memcpy(key.name, name, (size_t)dname_wire_len(name, sizeof(name)));
        key.name_len = (uint16_t)dname_wire_len(name, sizeof(name));
        key.alg = a;
        key.secret_len = (uint16_t)tsig_alg_mac_len(a);
        if (RAND_bytes(key.secret, key.secret_len) != 1) {
            return ctl_err("cannot generate a secret (OpenSSL RAND_bytes failed)");
        }
    }
    zs_store_t *s = NULL;
    zw_t w;
    tsig_key_t old;
    rc = ctl_write_begin(c, false, &s, &w);
    if (rc != CTL_OK) {
        goto out;
    }
    int err = tsig_key_get(s, w.txn, key.name, &old);
    OPENSSL_cleanse(&old, sizeof(old));
    if (err == 0) {
        rc = ctl_err("key %s exists (tsig del it first, or choose another name)", text);
        goto out;
    }
    if (err != DNSD_ENOTFOUND || (err = tsig_key_put(s, w.txn, &key)) != 0) {
        rc = ctl_err("key %s: %s", text, dnsd_strerror(err));
        goto out;
    }
    if ((rc = ctl_commit(&w, text)) != CTL_OK) {
        goto out;
    }
    tsig_secret_b64(&key, b64, sizeof(b64));
    if (c->json) {
        printf("{\"name\":");
        json_str(stdout, text);
        printf(",\"algorithm\":\"%s\",\"secret\":\"%s\"}\n", tsig_alg_name(a), b64);
    } else {
        printf("key %s (%s) created; its secret, shown only now:\n%s\n", text, tsig_alg_name(a),
               b64);
        printf("(dnsctl tsig show %s --format bind|knot|nsd prints the other server's key "
               "clause)\n",
               text);
    }
out:
    OPENSSL_cleanse(&key, sizeof(key));
    OPENSSL_cleanse(b64, sizeof(b64));
    zw_abort(&w);
    zs_close(s);
    return rc;
}

/* the references of one key, as a list */
typedef struct refs {
    char **labels;
    size_t n;
} refs_t;

static int refs_cb(const char *label, void *arg)
{
    refs_t *r = arg;
    r->labels = xrealloc(r->labels, (r->n + 1) * sizeof(*r->labels));
    r->labels[r->n++] = xstrdup(label);
    return 0;
}

static void refs_fini(refs_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->labels[i]);
    }
    free(r->labels);
    r->labels = NULL;
    r->n = 0;
}

static int refs_load(zs_store_t *s, MDB_txn *txn, const uint8_t *name, refs_t *r)
{
    memset(r, 0, sizeof(*r));
    int err = tsig_ref_foreach(s, txn, name, refs_cb, r);
    if (err) {
        refs_fini(r);
        return ctl_err("cannot read the key's users: %s", dnsd_strerror(err));
    }
    return CTL_OK;
}

static int tsig_del(ctl_t *c)
{
    int rc = ctl_check_args(c, "tsig del", 0, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    uint8_t name[DNAME_MAXLEN + 1];
    char text[CTL_NAME_STR_MAX];
    if (key_name(c->argv[0], name, text) != CTL_OK) {
        return CTL_FAIL;
    }
    zs_store_t *s = NULL;
    zw_t w;
    refs_t r = {0};
    rc = ctl_write_begin(c, false, &s, &w);
    if (rc != CTL_OK) {
        goto out;
    }
    if ((rc = refs_load(s, w.txn, name, &r)) != CTL_OK) {
        goto out;
    }
    if (r.n > 0) {
        fprintf(stderr, "dnsctl: key %s is in use by:\n", text);
        for (size_t i = 0; i < r.n; i++) {
            fprintf(stderr, "  %s\n", r.labels[i]);
        }
        rc = ctl_err("key %s not deleted: remove those uses first", text);
        goto out;
    }
    int err = tsig_key_del(s, w.txn, name);
    if (err == DNSD_ENOTFOUND) {
        rc = ctl_err("no such key: %s", text);
        goto out;
    }
    if (err) {
        rc = ctl_err("key %s: %s", text, dnsd_strerror(err));
        goto out;
    }
    if ((rc = ctl_commit(&w, text)) == CTL_OK) {
        printf("key %s deleted\n", text);
    }
out:
    refs_fini(&r);
    zw_abort(&w);
    zs_close(s);
    return rc;
}

typedef struct list_ctx {
    zs_store_t *s;
    MDB_txn *txn;
    bool json;
    bool first;
    ctl_table_t t;
    int err;
} list_ctx_t;

static int list_cb(const tsig_key_t *k, void *arg)
{
    list_ctx_t *l = arg;
    char text[CTL_NAME_STR_MAX], bits[16], nref[16];
    refs_t r;
    if (refs_load(l->s, l->txn, k->name, &r) != CTL_OK) {
        l->err = CTL_FAIL;
        return 1;
    }
    ctl_name_str(k->name, text);
    snprintf(bits, sizeof(bits), "%u", k->secret_len * 8u);
    snprintf(nref, sizeof(nref), "%zu", r.n);
    if (l->json) {
        printf("%s{\"name\":", l->first ? "" : ",");
        json_str(stdout, text);
        printf(",\"algorithm\":\"%s\",\"secret_bits\":%s,\"used_by\":[", tsig_alg_name(k->alg),
               bits);
        for (size_t i = 0; i < r.n; i++) {
            printf("%s", i ? "," : "");
            json_str(stdout, r.labels[i]);
        }
        printf("]}");
    } else {
        const char *row[] = {text, tsig_alg_name(k->alg), bits, nref};
        ctl_table_add(&l->t, row);
    }
    l->first = false;
    refs_fini(&r);
    return 0;
}

static int tsig_list(ctl_t *c)
{
    int rc = ctl_check_args(c, "tsig list", CTL_OPT_JSON, 0, 0);
    if (rc != CTL_OK) {
        return rc;
    }
    list_ctx_t l = {.json = c->json, .first = true};
    ctl_table_init(&l.t, 4);
    l.t.right[2] = l.t.right[3] = true;
    const char *head[] = {"NAME", "ALGORITHM", "BITS", "USERS"};
    ctl_table_add(&l.t, head);
    rc = ctl_read_begin(c, &l.s, &l.txn);
    if (rc != CTL_OK) {
        goto out;
    }
    if (l.json) {
        printf("[");
    }
    int err = tsig_key_foreach(l.s, l.txn, list_cb, &l);
    if (l.err) {
        rc = l.err;
        goto out;
    }
    if (err) {
        rc = ctl_err("cannot read the keys: %s", dnsd_strerror(err));
        goto out;
    }
    if (l.json) {
        printf("]\n");
    } else {
        ctl_table_print(&l.t, stdout);
    }
out:
    ctl_table_fini(&l.t);
    if (l.txn) {
        mdb_txn_abort(l.txn);
    }
    zs_close(l.s);
    return rc;
}

/* the key clause of another server, with the secret */
static void print_clause(const char *fmt, const char *name, const tsig_key_t *k, const char *b64)
{
    const char *alg = tsig_alg_name(k->alg);
    if (strcmp(fmt, "bind") == 0) {
        printf("key \"%s\" {\n\talgorithm %s;\n\tsecret \"%s\";\n};\n", name, alg, b64);
    } else if (strcmp(fmt, "knot") == 0) {
        printf("key:\n  - id: %s\n    algorithm: %s\n    secret: %s\n", name, alg, b64);
    } else {
        printf("key:\n\tname: \"%s\"\n\talgorithm: %s\n\tsecret: \"%s\"\n", name, alg, b64);
    }
}

static int tsig_show(ctl_t *c)
{
    int rc = ctl_check_args(c, "tsig show", CTL_OPT_FORMAT | CTL_OPT_JSON, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    const char *fmt = c->format;
    if (fmt && strcmp(fmt, "bind") != 0 && strcmp(fmt, "knot") != 0 && strcmp(fmt, "nsd") != 0) {
        return ctl_usage("--format \"%s\": use bind, knot or nsd", fmt);
    }
    if (fmt && c->json) {
        return ctl_usage("tsig show: --format and --json do not go together");
    }
    uint8_t name[DNAME_MAXLEN + 1];
    char text[CTL_NAME_STR_MAX];
    if (key_name(c->argv[0], name, text) != CTL_OK) {
        return CTL_FAIL;
    }
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    tsig_key_t k;
    char b64[TSIG_SECRET_MAX * 2];
    refs_t r = {0};
    memset(&k, 0, sizeof(k));
    b64[0] = 0;
    rc = ctl_read_begin(c, &s, &txn);
    if (rc != CTL_OK) {
        goto out;
    }
    int err = tsig_key_get(s, txn, name, &k);
    if (err == DNSD_ENOTFOUND) {
        rc = ctl_err("no such key: %s", text);
        goto out;
    }
    if (err) {
        rc = ctl_err("key %s: %s", text, dnsd_strerror(err));
        goto out;
    }
    if ((rc = refs_load(s, txn, name, &r)) != CTL_OK) {
        goto out;
    }
    if (fmt) {
        tsig_secret_b64(&k, b64, sizeof(b64));
        print_clause(fmt, text, &k, b64);
    } else if (c->json) {
        printf("{\"name\":");
        json_str(stdout, text);
        printf(",\"algorithm\":\"%s\",\"secret_bits\":%u,\"used_by\":[", tsig_alg_name(k.alg),
               k.secret_len * 8u);
        for (size_t i = 0; i < r.n; i++) {
            printf("%s", i ? "," : "");
            json_str(stdout, r.labels[i]);
        }
        printf("]}\n");
    } else {
        printf("name:      %s\nalgorithm: %s\nsecret:    %u bits (printed by --format only)\n",
               text, tsig_alg_name(k.alg), k.secret_len * 8u);
        printf("used by:  %s\n", r.n ? "" : " nothing");
        for (size_t i = 0; i < r.n; i++) {
            printf("  %s\n", r.labels[i]);
        }
    }
out:
    OPENSSL_cleanse(&k, sizeof(k));
    OPENSSL_cleanse(b64, sizeof(b64));
    refs_fini(&r);
    if (txn) {
        mdb_txn_abort(txn);
    }
    zs_close(s);
    return rc;
}

int ctl_tsig(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "add") == 0) {
        return tsig_add(c);
    }
    if (strcmp(verb, "del") == 0 || strcmp(verb, "delete") == 0) {
        return tsig_del(c);
    }
    if (strcmp(verb, "list") == 0) {
        return tsig_list(c);
    }
    if (strcmp(verb, "show") == 0) {
        return tsig_show(c);
    }
    return ctl_usage("unknown command \"tsig %s\" (add, list, show, del)", verb);
}
