/* SPDX-License-Identifier: MIT */
/*
 * order.c -- the ACME worker's certificate state machine (see order.h).
 */
#include "acme/order.h"
#include "acme/order_int.h"
#include "acme/shard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acme/certdb.h"
#include "acme/client.h"
#include "acme/csr.h"
#include "acme/dns01.h"
#include "zones/base/err.h"
#include "zones/base/file.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"
#include "zones/writer.h"

extern char **environ;

void acme_cfg_defaults(acme_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    c->account_key = ACME_KEY_EC256;
    c->cert_key = ACME_KEY_EC256;
    c->backoff_min_s = 60;
    c->backoff_max_s = 6 * 3600;
    c->propagation_timeout_s = 120;
    c->http_timeout_s = 30;
    c->deploy_timeout_s = 120;
    c->check_ns = true;
    c->renew_fraction = 1.0 / 3.0;
    c->max_orders = 4;
    c->shard_alert_s = 14 * 86400;
    c->shard_probe_interval_s = 300;
}

acme_worker_t *acme_worker_new(zs_store_t *s, const acme_cfg_t *cfg)
{
    acme_worker_t *w = xcalloc(1, sizeof(*w));
    w->cfg = *cfg;
    w->s = s;
    return w;
}

void acme_worker_free(acme_worker_t *w)
{
    if (!w) {
        return;
    }
    for (int i = 0; i < w->ncas; i++) {
        acme_client_free(w->cas[i].c);
        EVP_PKEY_free(w->cas[i].key);
        free(w->cas[i].dir);
    }
    free(w);
}

void acme_worker_set_cfg(acme_worker_t *w, const acme_cfg_t *cfg)
{
    struct sockaddr_storage self[ACME_SELF_MAX];
    int nself = w->cfg.nself;
    memcpy(self, w->cfg.self, sizeof(self));
    w->cfg = *cfg;
    memcpy(w->cfg.self, self, sizeof(self));
    w->cfg.nself = nself;
    for (int i = 0; i < w->ncas; i++) {
        acme_client_free(w->cas[i].c);
        EVP_PKEY_free(w->cas[i].key);
        free(w->cas[i].dir);
    }
    w->ncas = 0;
}

time_t acme_worker_now(const acme_worker_t *w)
{
    return time(NULL) + (time_t)w->cfg.clock_offset_s;
}

void acme_worker_stats(const acme_worker_t *w, acme_stats_t *out)
{
    *out = w->st;
    for (int i = 0; i < w->ncas; i++) {
        out->bad_nonces += w->cas[i].c->bad_nonces;
        out->requests += w->cas[i].c->requests;
    }
}

/* ---- helpers ---- */

/* an error from the client: copy its text, classify it */
static int client_failure(step_t *st, acme_client_t *c, const char *what)
{
    snprintf(st->err, sizeof(st->err), "%s: %s", what, c->err);
    st->retry_after_s = c->retry_after_s;
    const char *type = c->prob.type;
    long status = c->prob.status;
    if (status == 0 || status >= 500 || strcmp(type, ACME_ERR_RATELIMITED) == 0 ||
        strcmp(type, ACME_ERR_BADNONCE) == 0 || status == 429) {
        return STEP_TRANSIENT;
    }
    if (strcmp(type, ACME_ERR_NOACCOUNT) == 0 || strcmp(type, ACME_ERR_UNAUTHORIZED) == 0) {
        st->reset_account = true; /* e.g. the CA forgot us: register again */
        st->ca_forgot = true;
    }
    if (status == 404) {
        st->ca_forgot = true; /* the CA lost the order (a restart): a new one will do */
    }
    /* any other 4xx inside an order: the CA will not go on with it */
    return STEP_FAIL;
}

/* ---- accounts ---- */

static json_t *contacts_json(const char *list)
{
    json_t *a = json_array();
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        json_array_append_new(a, json_string(t));
    }
    return a;
}

/*
 * Change the account record for @p dir in one txn: members of @p set
 * replace (the record is made if missing), members named in @p del go;
 * everything else (dnsctl's "req") is kept.
 */
static int account_update(acme_worker_t *w, const char *dir, json_t *set, const char *const *del)
{
    char dbkey[1200];
    snprintf(dbkey, sizeof(dbkey), ACME_DB_ACCOUNT "%s", dir);
    zw_t zw;
    int err = zw_begin(w->s, &zw);
    if (err) {
        return err;
    }
    json_t *cur = NULL;
    err = acme_db_get(w->s, zw.txn, dbkey, &cur);
    if (err == DNSD_ENOTFOUND) {
        cur = json_object();
        err = 0;
    }
    if (!err) {
        json_object_update(cur, set);
        for (int i = 0; del && del[i]; i++) {
            json_object_del(cur, del[i]);
        }
        err = acme_db_put(w->s, zw.txn, dbkey, cur);
    }
    json_decref(cur);
    return err ? (zw_abort(&zw), err) : zw_commit(&zw);
}

/* the account's key and URL (the rest of the record is kept) */
static int account_save(acme_worker_t *w, const char *dir, EVP_PKEY *key, const char *kid)
{
    char *pem = acme_key_pem(key);
    if (!pem) {
        return DNSD_ECRYPTO;
    }
    json_t *v = json_pack("{s:s, s:s, s:o, s:I, s:s}", "key", pem, "kid", kid ? kid : "",
                          "contact", contacts_json(w->cfg.contact), "updated",
                          (json_int_t)acme_worker_now(w), "key_type",
                          acme_keytype_name(acme_key_type(key)));
    acme_secret_free(pem);
    int err = account_update(w, dir, v, NULL);
    json_decref(v);
    return err;
}

/*
 * The client for directory @p dir with a registered account: the key comes
 * from the store (made and saved first if there is none, so a crash cannot
 * orphan an account at the CA), the account URL too, else newAccount.
 */
static int ca_ready(acme_worker_t *w, const char *dir, ca_t **out, step_t *st)
{
    /* returns a STEP_* code; STEP_NEXT with *out ready */
    ca_t *ca = NULL;
    for (int i = 0; i < w->ncas; i++) {
        if (strcmp(w->cas[i].dir, dir) == 0) {
            ca = &w->cas[i];
        }
    }
    if (!ca) {
        if (w->ncas == ACME_CAS_MAX) {
            snprintf(st->err, sizeof(st->err), "more than %d CA directories in use", ACME_CAS_MAX);
            return STEP_FAIL;
        }
        ca = &w->cas[w->ncas];
        memset(ca, 0, sizeof(*ca));
        ca->c = acme_client_new(dir, w->cfg.ca_bundle, w->cfg.http_timeout_s);
        if (!ca->c) {
            snprintf(st->err, sizeof(st->err), "cannot set up an HTTP client");
            return STEP_TRANSIENT;
        }
        ca->dir = xstrdup(dir);
        w->ncas++;
    }
    /* the directory first: every URL below comes from it, and an account
     * loaded from the store (a restart) never passes through newAccount */
    if (acme_client_directory(ca->c) != 0) {
        return client_failure(st, ca->c, "directory");
    }
    if (!ca->key) {
        char dbkey[1200];
        snprintf(dbkey, sizeof(dbkey), ACME_DB_ACCOUNT "%s", dir);
        MDB_txn *txn;
        json_t *acct = NULL;
        if (mdb_txn_begin(w->s->env, NULL, MDB_RDONLY, &txn) == 0) {
            int e = acme_db_get(w->s, txn, dbkey, &acct);
            mdb_txn_abort(txn);
            if (e && e != DNSD_ENOTFOUND) {
                snprintf(st->err, sizeof(st->err), "account record for %s: %s", dir,
                         dnsd_strerror(e));
                return STEP_FAIL;
            }
        }
        EVP_PKEY *key = NULL;
        if (acct && acme_key_from_pem(acme_js(acct, "key"), &key) == 0) {
            acme_client_set_account(ca->c, key, acme_js(acct, "kid"));
        } else {
            int e = acme_key_generate(w->cfg.account_key, &key);
            if (!e) {
                e = account_save(w, dir, key, NULL);
            }
            if (e) {
                EVP_PKEY_free(key);
                json_decref(acct);
                snprintf(st->err, sizeof(st->err), "cannot make the account key: %s",
                         dnsd_strerror(e));
                return STEP_TRANSIENT;
            }
            acme_client_set_account(ca->c, key, NULL);
            log_info("acme: new %s account key for %s", acme_keytype_name(w->cfg.account_key),
                     dir);
        }
        json_decref(acct);
        ca->key = key;
    }
    if (st->reset_account) {
        acme_client_set_account(ca->c, ca->key, NULL);
        st->reset_account = false;
    }
    if (!ca->c->kid) {
        json_t *contacts = contacts_json(w->cfg.contact);
        int e = acme_client_register(ca->c, contacts, w->cfg.agree_tos, w->cfg.eab_kid,
                                     w->cfg.eab_hmac);
        json_decref(contacts);
        if (e == -EPERM) {
            snprintf(st->err, sizeof(st->err), "newAccount: %s", ca->c->err);
            return STEP_FAIL; /* terms or EAB not configured: the operator must act */
        }
        if (e) {
            return client_failure(st, ca->c, "newAccount");
        }
        if ((e = account_save(w, dir, ca->key, ca->c->kid)) != 0) {
            snprintf(st->err, sizeof(st->err), "cannot save the account: %s", dnsd_strerror(e));
            return STEP_TRANSIENT;
        }
        log_info("acme: account %s at %s", ca->c->kid, dir);
    }
    *out = ca;
    return STEP_NEXT;
}

static const char *cert_dir_url(acme_worker_t *w, json_t *req)
{
    const char *d = acme_js(req, "directory");
    return *d ? d : w->cfg.directory;
}

static json_t *order_of(step_t *st)
{
    return json_object_get(st->state, "order");
}

static void txt_op(json_t *list, const char *owner, const char *value)
{
    json_array_append_new(list, json_pack("[s, s]", owner, value));
}

/* every challenge's TXT record goes when the order ends */
static void txt_remove_all(step_t *st)
{
    json_t *o = order_of(st);
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(o, "challenges"), i, ch)
    {
        txt_op(st->txt_del, acme_js(ch, "owner"), acme_js(ch, "txt"));
    }
}

static bool names_equal(json_t *a, const acme_cert_info_t *ci)
{
    if ((int)json_array_size(a) != ci->nsans) {
        return false;
    }
    size_t i;
    json_t *n;
    json_array_foreach(a, i, n)
    {
        bool found = false;
        for (int k = 0; k < ci->nsans && !found; k++) {
            found = strcasecmp(json_string_value(n), ci->sans[k]) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

static time_t renew_time(const acme_worker_t *w, json_t *cert);

/* ---- steps ---- */

static int step_new_order(acme_worker_t *w, step_t *st)
{
    ca_t *ca;
    const char *dir = cert_dir_url(w, st->req);
    if (!*dir) {
        snprintf(st->err, sizeof(st->err),
                 "no CA directory: set acme-directory in dnsd's config or --ca in the request");
        return STEP_FAIL;
    }
    json_t *names = json_object_get(st->req, "names");
    if (json_array_size(names) == 0) {
        snprintf(st->err, sizeof(st->err), "the request has no names");
        return STEP_FAIL;
    }
    int err, rc = ca_ready(w, dir, &ca, st);
    if (rc != STEP_NEXT) {
        return rc;
    }
    /* the certificate key: the previous one when asked to reuse it */
    EVP_PKEY *key = NULL;
    acme_keytype_t kt = acme_keytype_parse(acme_js(st->req, "key"));
    if (kt == ACME_KEY_NONE) {
        kt = w->cfg.cert_key;
    }
    json_t *cert = json_object_get(st->state, "cert");
    if (json_is_true(json_object_get(st->req, "reuse_key")) && cert &&
        acme_key_from_pem(acme_js(cert, "key"), &key) == 0 && acme_key_type(key) != kt) {
        EVP_PKEY_free(key); /* the key type changed: a new key after all */
        key = NULL;
    }
    if (!key && acme_shard_of(st->req)) {
        key = shard_order_key(st, kt); /* the key whose TLSA is already out */
    }
    if (!key && (err = acme_key_generate(kt, &key)) != 0) {
        snprintf(st->err, sizeof(st->err), "cannot generate a %s key", acme_keytype_name(kt));
        return STEP_FAIL;
    }
    json_t *ids = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        json_array_append_new(ids, json_pack("{s:s, s:O}", "type", "dns", "value", n));
    }
    json_t *p = json_pack("{s:o}", "identifiers", ids);
    /* RFC 9773 5: a renewal names the certificate it replaces */
    char *replaces = NULL;
    if (cert && acme_client_url(ca->c, "renewalInfo") &&
        acme_ari_cert_id(acme_js(cert, "pem"), &replaces) == 0) {
        json_object_set_new(p, "replaces", json_string(replaces));
    }
    free(replaces);
    char *payload = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    json_t *ord = NULL;
    acme_resp_t r;
    err = acme_client_post_json(ca->c, acme_client_url(ca->c, "newOrder"), payload, &ord, &r);
    free(payload);
    if (err) {
        EVP_PKEY_free(key);
        return client_failure(st, ca->c, "newOrder");
    }
    char loc[1024];
    snprintf(loc, sizeof(loc), "%s", r.location);
    acme_resp_fini(&r);
    const char *fin = acme_js(ord, "finalize");
    json_t *authz = json_object_get(ord, "authorizations");
    if (!loc[0] || !*fin || !json_is_array(authz)) {
        json_decref(ord);
        EVP_PKEY_free(key);
        snprintf(st->err, sizeof(st->err), "newOrder: answer lacks Location, finalize or "
                                           "authorizations");
        return STEP_TRANSIENT;
    }
    char *pem = acme_key_pem(key);
    EVP_PKEY_free(key);
    json_t *o = json_pack("{s:s, s:s, s:O, s:s, s:s, s:I, s:I, s:s, s:O, s:s}", "url", loc,
                          "finalize", fin, "authzs", authz, "step", "authz", "key",
                          pem ? pem : "", "started", (json_int_t)acme_worker_now(w), "seq",
                          (json_int_t)acme_ji(st->req, "seq"), "directory", dir, "names", names,
                          "key_type", acme_keytype_name(kt));
    acme_secret_free(pem);
    json_decref(ord);
    json_object_set_new(st->state, "order", o);
    set_str(st->state, "status", "ordering");
    w->st.orders++;
    log_info("acme: %s: order %s for %zu name(s)", st->id, loc, json_array_size(names));
    return STEP_NEXT;
}

/* the client of an order in flight (its CA), account ready */
static int order_ca(acme_worker_t *w, step_t *st, ca_t **ca)
{
    return ca_ready(w, acme_js(order_of(st), "directory"), ca, st);
}

int acme_authz_name(json_t *names, json_t *authz, char *name, size_t cap, char *why,
                    size_t whycap)
{
    json_t *id = json_object_get(authz, "identifier");
    const char *type = acme_js(id, "type"), *value = acme_js(id, "value");
    bool wild = json_is_true(json_object_get(authz, "wildcard"));
    char raw[300];
    if (strcmp(type, "dns") != 0) {
        snprintf(why, whycap, "identifier type \"%.40s\" is not dns", type);
        return DNSD_EMALFORMED;
    }
    int n = snprintf(raw, sizeof(raw), "%s%s", wild ? "*." : "", value);
    if (!*value || n < 0 || (size_t)n >= sizeof(raw)) {
        snprintf(why, whycap, "no usable identifier value");
        return DNSD_EMALFORMED;
    }
    if (acme_name_check(raw, name, cap, why, whycap) != 0) {
        return DNSD_EMALFORMED;
    }
    size_t i;
    json_t *x;
    json_array_foreach(names, i, x)
    {
        char want[300], w2[100];
        if (json_is_string(x) &&
            acme_name_check(json_string_value(x), want, sizeof(want), w2, sizeof(w2)) == 0 &&
            strcasecmp(want, name) == 0) {
            return 0;
        }
    }
    snprintf(why, whycap, "the CA's identifier %.260s was not ordered", name);
    return DNSD_EMALFORMED;
}

static int step_authz(acme_worker_t *w, step_t *st)
{
    ca_t *ca;
    int rc = order_ca(w, st, &ca);
    if (rc != STEP_NEXT) {
        return rc;
    }
    json_t *o = order_of(st);
    char *tp = acme_jwk_thumbprint(ca->key);
    if (!tp) {
        snprintf(st->err, sizeof(st->err), "cannot compute the account key thumbprint");
        return STEP_FAIL;
    }
    json_t *chs = json_array();
    size_t i;
    json_t *u;
    rc = STEP_NEXT;
    json_array_foreach(json_object_get(o, "authzs"), i, u)
    {
        json_t *az = NULL;
        acme_resp_t r;
        if (acme_client_post_json(ca->c, json_string_value(u), NULL, &az, &r) != 0) {
            rc = client_failure(st, ca->c, "authorization");
            break;
        }
        acme_resp_fini(&r);
        const char *status = acme_js(az, "status");
        const char *value = acme_js(json_object_get(az, "identifier"), "value");
        char name[300], why[300], keyauth[1024];
        if (acme_authz_name(json_object_get(o, "names"), az, name, sizeof(name), why,
                            sizeof(why)) != 0) {
            /* never write a TXT record for a name we did not order (RFC 8555 7.1.4) */
            snprintf(st->err, sizeof(st->err), "authorization %s refused: %s",
                     json_string_value(u), why);
            json_decref(az);
            rc = STEP_FAIL;
            break;
        }
        if (strcmp(status, "valid") == 0) {
            json_decref(az); /* reused from an earlier order */
            continue;
        }
        if (strcmp(status, "pending") != 0) {
            snprintf(st->err, sizeof(st->err), "authorization for %s is %s", value, status);
            json_decref(az);
            rc = STEP_FAIL;
            break;
        }
        json_t *ch = NULL, *c;
        size_t k;
        json_array_foreach(json_object_get(az, "challenges"), k, c)
        {
            if (strcmp(acme_js(c, "type"), "dns-01") == 0) {
                ch = c;
            }
        }
        if (!ch || !*acme_js(ch, "token") || !*acme_js(ch, "url")) {
            snprintf(st->err, sizeof(st->err), "the CA offers no dns-01 challenge for %s", value);
            json_decref(az);
            rc = STEP_FAIL;
            break;
        }
        uint8_t owner[DNAME_MAXLEN + 1];
        char ownertxt[1100];
        if (acme_dns01_owner(name, owner) < 0) {
            snprintf(st->err, sizeof(st->err), "no challenge owner for %s", name);
            json_decref(az);
            rc = STEP_FAIL;
            break;
        }
        dname_to_str(owner, ownertxt, sizeof(ownertxt));
        snprintf(keyauth, sizeof(keyauth), "%s.%s", acme_js(ch, "token"), tp);
        char *txt = acme_sha256_b64url(keyauth);
        json_array_append_new(chs, json_pack("{s:O, s:s, s:s, s:s, s:s}", "authz", u, "url",
                                             acme_js(ch, "url"), "name", name, "owner", ownertxt,
                                             "txt", txt));
        txt_op(st->txt_add, ownertxt, txt);
        free(txt);
        json_decref(az);
    }
    free(tp);
    if (rc != STEP_NEXT) {
        json_decref(chs);
        json_array_clear(st->txt_add);
        return rc;
    }
    json_object_set_new(o, "challenges", chs);
    if (json_array_size(json_object_get(o, "challenges")) == 0) {
        set_str(o, "step", "responded"); /* every authorization valid already */
    } else {
        set_str(o, "step", "published");
        set_int(o, "published", acme_worker_now(w));
        log_info("acme: %s: %zu challenge TXT record(s) written", st->id,
                 json_array_size(json_object_get(o, "challenges")));
    }
    return STEP_NEXT;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) {
        return false;
    }
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* our listen address as something to send to: a wildcard becomes loopback */
static void self_target(const struct sockaddr_storage *in, struct sockaddr_storage *out)
{
    *out = *in;
    if (in->ss_family == AF_INET) {
        struct sockaddr_in *a = (void *)out;
        if (a->sin_addr.s_addr == htonl(INADDR_ANY)) {
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
    } else if (in->ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (void *)out;
        if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr)) {
            a->sin6_addr = in6addr_loopback;
        }
    }
}

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)ss;
        inet_ntop(AF_INET, &x->sin_addr, a, sizeof(a));
        port = ntohs(x->sin_port);
        snprintf(buf, cap, "%s:%u", a, port);
    } else {
        const struct sockaddr_in6 *x = (const void *)ss;
        inet_ntop(AF_INET6, &x->sin6_addr, a, sizeof(a));
        port = ntohs(x->sin6_port);
        snprintf(buf, cap, "[%s]:%u", a, port);
    }
}

/*
 * Published: is every TXT value served by every authoritative server we can
 * reach? Ourselves on each listen address always (a failure there is ours
 * and blocks), and the zone's NS hosts whose addresses we know (one that
 * does not answer authoritatively is logged and skipped: we cannot reach
 * it). Then answer the challenges.
 */
static int step_check(acme_worker_t *w, step_t *st)
{
    json_t *o = order_of(st);
    time_t now = acme_worker_now(w);
    time_t published = (time_t)acme_ji(o, "published");
    if (now < published + w->cfg.challenge_delay_s) {
        set_int(st->state, "next_try", published + w->cfg.challenge_delay_s);
        return STEP_WAIT;
    }
    json_t *chs = json_object_get(o, "challenges");
    struct sockaddr_storage targets[ACME_SELF_MAX + 32];
    bool is_self[ACME_SELF_MAX + 32];
    int nt = 0;
    for (int i = 0; i < w->cfg.nself; i++) {
        self_target(&w->cfg.self[i], &targets[nt]);
        is_self[nt++] = true;
    }
    if (w->cfg.check_ns) {
        MDB_txn *txn;
        if (mdb_txn_begin(w->s->env, NULL, MDB_RDONLY, &txn) == 0) {
            size_t i;
            json_t *ch;
            json_array_foreach(chs, i, ch)
            {
                uint8_t owner[DNAME_MAXLEN + 1];
                zw_zone_t z;
                struct sockaddr_storage ns[16];
                if (acme_dns01_owner(acme_js(ch, "name"), owner) < 0 ||
                    acme_dns01_zone(w->s, txn, owner, &z) != 0) {
                    continue;
                }
                int n = acme_dns01_ns_addrs(w->s, txn, &z, ns, 16);
                for (int k = 0; k < n && nt < (int)(sizeof(targets) / sizeof(targets[0])); k++) {
                    bool dup = false;
                    for (int m = 0; m < nt && !dup; m++) {
                        struct sockaddr_storage t = targets[m];
                        dup = same_addr(&t, &ns[k]);
                    }
                    if (!dup) {
                        targets[nt] = ns[k];
                        is_self[nt++] = false;
                    }
                }
            }
            mdb_txn_abort(txn);
        }
    }
    /* the values per owner (apex + wildcard share one owner) */
    size_t i;
    json_t *ch;
    bool all = true;
    int checked = 0;
    char why[600] = "";
    json_array_foreach(chs, i, ch)
    {
        const char *vals[ACME_CERT_SANS_MAX];
        int nv = 0;
        size_t k;
        json_t *c2;
        json_array_foreach(chs, k, c2)
        {
            if (strcmp(acme_js(c2, "owner"), acme_js(ch, "owner")) == 0 && nv < ACME_CERT_SANS_MAX) {
                vals[nv++] = acme_js(c2, "txt");
            }
        }
        uint8_t owner[DNAME_MAXLEN + 1];
        bool done_before = false;
        for (size_t k2 = 0; k2 < i && !done_before; k2++) {
            done_before = strcmp(acme_js(json_array_get(chs, k2), "owner"),
                                 acme_js(ch, "owner")) == 0;
        }
        if (done_before || acme_dns01_owner(acme_js(ch, "name"), owner) < 0) {
            continue;
        }
        for (int t = 0; t < nt && all; t++) {
            int v = acme_dns01_visible((const struct sockaddr *)&targets[t], sizeof(targets[t]),
                                       owner, vals, nv, 1000, why, sizeof(why));
            if (v == 1) {
                checked += i == 0;
                continue;
            }
            if (v < 0 && !is_self[t]) {
                char as[80];
                addr_str(&targets[t], as, sizeof(as));
                log_warn("acme: %s: NS %s not checked: %s", st->id, as, why);
                continue;
            }
            all = false;
        }
        if (!all) {
            break;
        }
    }
    if (!all) {
        if (now - published > w->cfg.propagation_timeout_s) {
            snprintf(st->err, sizeof(st->err), "challenge records not visible after %lds: %s",
                     w->cfg.propagation_timeout_s, why);
            return STEP_FAIL;
        }
        log_debug("acme: %s: waiting for TXT visibility: %s", st->id, why);
        set_int(st->state, "next_try", now + 1);
        return STEP_WAIT;
    }
    ca_t *ca;
    int rc = order_ca(w, st, &ca);
    if (rc != STEP_NEXT) {
        return rc;
    }
    json_array_foreach(chs, i, ch)
    {
        if (json_is_true(json_object_get(ch, "answered"))) {
            continue;
        }
        acme_resp_t r;
        if (acme_client_post(ca->c, acme_js(ch, "url"), "{}", false, &r) != 0) {
            return client_failure(st, ca->c, "challenge");
        }
        acme_resp_fini(&r);
        json_object_set_new(ch, "answered", json_true());
    }
    log_info("acme: %s: TXT visible on %d authoritative server(s) of %d; challenges answered",
             st->id, checked, nt);
    set_str(o, "step", "responded");
    set_int(o, "answered", now);
    return STEP_NEXT;
}

/* an invalid order: find the authorization's error for the log */
static void invalid_detail(ca_t *ca, json_t *o, json_t *ord, step_t *st)
{
    acme_problem_t p;
    char line[1400] = "";
    json_t *err = json_object_get(ord, "error");
    if (err) {
        acme_problem_from_json(err, 0, &p);
        acme_problem_format(&p, line, sizeof(line));
    }
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(o, "authzs"), i, u)
    {
        json_t *az = NULL;
        acme_resp_t r;
        if (acme_client_post_json(ca->c, json_string_value(u), NULL, &az, &r) != 0) {
            continue;
        }
        acme_resp_fini(&r);
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(az, "challenges"), k, c)
        {
            json_t *ce = json_object_get(c, "error");
            if (ce) {
                acme_problem_from_json(ce, 0, &p);
                acme_problem_format(&p, line, sizeof(line));
                snprintf(st->err, sizeof(st->err), "order invalid: %s: %s",
                         acme_js(json_object_get(az, "identifier"), "value"), line);
                json_decref(az);
                return;
            }
        }
        json_decref(az);
    }
    snprintf(st->err, sizeof(st->err), "order invalid%s%s", line[0] ? ": " : "", line);
}

/* poll the order: after answering (-> ready) and after finalizing (-> valid) */
static int step_poll(acme_worker_t *w, step_t *st)
{
    ca_t *ca;
    int rc = order_ca(w, st, &ca);
    if (rc != STEP_NEXT) {
        return rc;
    }
    json_t *o = order_of(st);
    json_t *ord = NULL;
    acme_resp_t r;
    long ra = -1;
    const char *status = "";
    /* a CA that names no Retry-After usually finishes within a second:
     * look again a few times at 150 ms before falling back to the
     * scheduler's whole seconds (this thread serves no queries) */
    for (int quick = 0; quick < 5; quick++) {
        if (quick) {
            json_decref(ord);
            ord = NULL;
            usleep(150 * 1000);
        }
        if (acme_client_post_json(ca->c, acme_js(o, "url"), NULL, &ord, &r) != 0) {
            return client_failure(st, ca->c, "order");
        }
        ra = r.retry_after_s;
        acme_resp_fini(&r);
        status = acme_js(ord, "status");
        if (ra >= 0 || (strcmp(status, "pending") != 0 && strcmp(status, "processing") != 0)) {
            break;
        }
    }
    time_t now = acme_worker_now(w);
    rc = STEP_NEXT;
    if (strcmp(status, "ready") == 0) {
        set_str(o, "step", "finalize");
    } else if (strcmp(status, "valid") == 0) {
        const char *cu = acme_js(ord, "certificate");
        if (!*cu) {
            snprintf(st->err, sizeof(st->err), "valid order without a certificate URL");
            rc = STEP_TRANSIENT;
        } else {
            set_str(o, "certificate", cu);
            set_str(o, "step", "download");
        }
    } else if (strcmp(status, "pending") == 0 || strcmp(status, "processing") == 0) {
        /* RFC 8555 7.5.1/7.4: poll, honouring Retry-After; bounded overall */
        time_t since = (time_t)acme_ji(o, "answered");
        if (since && now - since > 600) {
            snprintf(st->err, sizeof(st->err), "order still %s after 10 minutes", status);
            rc = STEP_FAIL;
        } else {
            long d = ra >= 0 ? ra : 1;
            set_int(st->state, "next_try", now + (d < 1 ? 1 : d > 60 ? 60 : d));
            rc = STEP_WAIT;
        }
    } else {
        invalid_detail(ca, o, ord, st);
        rc = STEP_FAIL;
    }
    json_decref(ord);
    return rc;
}

static int step_finalize(acme_worker_t *w, step_t *st)
{
    ca_t *ca;
    int rc = order_ca(w, st, &ca);
    if (rc != STEP_NEXT) {
        return rc;
    }
    json_t *o = order_of(st);
    EVP_PKEY *key = NULL;
    if (acme_key_from_pem(acme_js(o, "key"), &key) != 0) {
        snprintf(st->err, sizeof(st->err), "the order's key is damaged");
        return STEP_FAIL;
    }
    json_t *names = json_object_get(st->req, "names");
    const char *nv[ACME_CERT_SANS_MAX];
    int n = 0;
    size_t i;
    json_t *x;
    json_array_foreach(names, i, x)
    {
        if (n < ACME_CERT_SANS_MAX) {
            nv[n++] = json_string_value(x);
        }
    }
    uint8_t *der = NULL;
    size_t len = 0;
    if (acme_csr_der(key, nv, n, &der, &len) != 0) {
        EVP_PKEY_free(key);
        snprintf(st->err, sizeof(st->err), "cannot build the CSR");
        return STEP_FAIL;
    }
    EVP_PKEY_free(key);
    char *csr = acme_b64url(der, len);
    free(der);
    json_t *p = json_pack("{s:s}", "csr", csr);
    free(csr);
    char *payload = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    json_t *ord = NULL;
    acme_resp_t r;
    int err = acme_client_post_json(ca->c, acme_js(o, "finalize"), payload, &ord, &r);
    free(payload);
    if (err) {
        /* orderNotReady after a crash between finalize and saving: poll instead */
        if (strstr(ca->c->prob.type, "orderNotReady")) {
            set_str(o, "step", "processing");
            return STEP_NEXT;
        }
        return client_failure(st, ca->c, "finalize");
    }
    acme_resp_fini(&r);
    const char *status = acme_js(ord, "status");
    if (strcmp(status, "valid") == 0 && *acme_js(ord, "certificate")) {
        set_str(o, "certificate", acme_js(ord, "certificate"));
        set_str(o, "step", "download");
    } else if (strcmp(status, "processing") == 0 || strcmp(status, "valid") == 0) {
        set_str(o, "step", "processing");
    } else {
        invalid_detail(ca, o, ord, st);
        json_decref(ord);
        return STEP_FAIL;
    }
    set_int(o, "answered", acme_worker_now(w)); /* restart the 10-minute poll bound */
    json_decref(ord);
    return STEP_NEXT;
}

/* download one chain; @return 0 and a malloc'd PEM with its alternates' URLs in @p r */
static int fetch_chain(ca_t *ca, const char *url, char **pem, acme_resp_t *alts)
{
    acme_resp_t r;
    int err = acme_client_post(ca->c, url, NULL, false, &r);
    if (err) {
        return err;
    }
    *pem = r.body;
    r.body = NULL;
    if (alts) {
        *alts = r;
    }
    return 0;
}

static int step_download(acme_worker_t *w, step_t *st)
{
    ca_t *ca;
    int rc = order_ca(w, st, &ca);
    if (rc != STEP_NEXT) {
        return rc;
    }
    json_t *o = order_of(st);
    char *pem = NULL;
    acme_resp_t alts;
    memset(&alts, 0, sizeof(alts));
    if (fetch_chain(ca, acme_js(o, "certificate"), &pem, &alts) != 0) {
        return client_failure(st, ca->c, "certificate download");
    }
    acme_cert_info_t *ci = xmalloc(sizeof(*ci));
    if (acme_cert_info(pem, ci) != 0) {
        free(pem);
        free(ci);
        snprintf(st->err, sizeof(st->err), "the CA sent no certificate chain in PEM");
        return STEP_TRANSIENT;
    }
    /* RFC 8555 7.4.2: alternate chains; take the first whose top issuer is preferred */
    const char *pref = w->cfg.preferred_chain;
    if (*pref && strcmp(ci->top_issuer, pref) != 0) {
        for (int i = 0; i < alts.nalternates; i++) {
            char *alt = NULL;
            acme_cert_info_t *ai = xmalloc(sizeof(*ai));
            if (fetch_chain(ca, alts.alternates[i], &alt, NULL) == 0 &&
                acme_cert_info(alt, ai) == 0 && strcmp(ai->top_issuer, pref) == 0 &&
                strcmp(ai->serial, ci->serial) == 0) {
                free(pem);
                free(ci);
                pem = alt;
                ci = ai;
                log_info("acme: %s: alternate chain with top issuer \"%s\" chosen", st->id, pref);
                break;
            }
            free(alt);
            free(ai);
        }
    }
    EVP_PKEY *key = NULL;
    bool ok = acme_key_from_pem(acme_js(o, "key"), &key) == 0 && acme_cert_matches_key(pem, key);
    if (!ok || !names_equal(json_object_get(st->req, "names"), ci)) {
        snprintf(st->err, sizeof(st->err), "the certificate does not match %s",
                 ok ? "the requested names" : "the order's key");
        EVP_PKEY_free(key);
        free(pem);
        free(ci);
        return STEP_FAIL;
    }
    if (acme_shard_of(st->req) && shard_issued(w, st, key, ci->serial) != 0) {
        EVP_PKEY_free(key);
        free(pem);
        free(ci);
        return STEP_TRANSIENT;
    }
    EVP_PKEY_free(key);
    json_t *cert = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:I, s:s}", "pem", pem,
                             "key", acme_js(o, "key"), "serial", ci->serial, "issuer", ci->issuer,
                             "not_before", (json_int_t)ci->not_before, "not_after",
                             (json_int_t)ci->not_after, "key_type",
                             acme_keytype_name(ci->key_type), "order_url", acme_js(o, "url"),
                             "issued", (json_int_t)acme_worker_now(w), "top_issuer",
                             ci->top_issuer);
    json_t *hist = json_object_get(st->state, "history");
    if (!json_is_array(hist)) {
        hist = json_array();
        json_object_set_new(st->state, "history", hist);
    }
    json_array_append_new(hist, json_pack("{s:s, s:s, s:I, s:I, s:s, s:I, s:s}", "serial",
                                          ci->serial, "issuer", ci->issuer, "not_before",
                                          (json_int_t)ci->not_before, "not_after",
                                          (json_int_t)ci->not_after, "outcome", "issued", "at",
                                          (json_int_t)acme_worker_now(w), "order_url",
                                          acme_js(o, "url")));
    while (json_array_size(hist) > 50) {
        json_array_remove(hist, 0);
    }
    char until[40];
    struct tm tm;
    gmtime_r(&ci->not_after, &tm);
    strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
    log_info("acme: %s: issued serial %s by %s, valid until %s", st->id, ci->serial, ci->issuer,
             until);
    free(pem);
    free(ci);
    txt_remove_all(st);
    /* names and key type are those requested (else the order was restarted),
     * so this certificate also satisfies a renewal asked for meanwhile */
    set_int(st->state, "seq_done", acme_ji(st->req, "seq"));
    json_object_set_new(st->state, "cert", cert);
    json_object_del(st->state, "order");
    time_t ra = renew_time(w, cert), now = acme_worker_now(w);
    if (ra <= now + 60) {
        /* due already: a short lifetime or a clock far from the CA's; never
         * renew in a loop -- wait a tenth of the lifetime (at least a minute) */
        long life = (long)(acme_ji(cert, "not_after") - acme_ji(cert, "not_before"));
        ra = now + (life / 10 > 60 ? life / 10 : 60);
        log_warn("acme: %s: the new certificate is already due for renewal (clock skew or a "
                 "short lifetime?); next renewal not before %lds from now",
                 st->id, (long)(ra - now));
    }
    set_int(st->state, "renew_at", ra);
    set_str(st->state, "status", "valid");
    set_int(st->state, "failures", 0);
    set_str(st->state, "last_error", "");
    set_int(st->state, "next_try", 0);
    st->issued = true;
    if (w->cfg.cert_dir[0] || acme_shard_of(st->req)) {
        /* cleared once the files are written and the hooks ran */
        json_object_set_new(st->state, "deploy", json_pack("{s:b}", "pending", 1));
    }
    w->st.issued++;
    return STEP_NEXT;
}

static int step_revoke(acme_worker_t *w, step_t *st)
{
    json_t *cert = json_object_get(st->state, "cert");
    json_t *rv = json_object_get(st->req, "revoke");
    const char *dir = cert_dir_url(w, st->req);
    ca_t *ca;
    int err = ca_ready(w, dir, &ca, st);
    if (err != STEP_NEXT) {
        return err;
    }
    uint8_t *der = NULL;
    size_t len = 0;
    if (acme_cert_leaf_der(acme_js(cert, "pem"), &der, &len) != 0) {
        snprintf(st->err, sizeof(st->err), "the stored certificate is damaged");
        return STEP_FAIL;
    }
    err = acme_client_revoke(ca->c, der, len, (int)acme_ji(rv, "reason"));
    free(der);
    if (err && !strstr(ca->c->prob.type, "alreadyRevoked")) {
        return client_failure(st, ca->c, "revokeCert");
    }
    json_t *hist = json_object_get(st->state, "history");
    if (!json_is_array(hist)) {
        hist = json_array();
        json_object_set_new(st->state, "history", hist);
    }
    json_array_append_new(hist, json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}", "serial",
                                          acme_js(cert, "serial"), "issuer",
                                          acme_js(cert, "issuer"), "not_after",
                                          (json_int_t)acme_ji(cert, "not_after"), "outcome",
                                          "revoked", "at", (json_int_t)acme_worker_now(w),
                                          "reason", (json_int_t)acme_ji(rv, "reason")));
    set_int(st->state, "revoked_seq", acme_ji(rv, "seq"));
    set_str(st->state, "status", "revoked");
    set_str(st->state, "last_error", "");
    set_int(st->state, "failures", 0);
    w->st.revoked++;
    log_info("acme: %s: serial %s revoked (reason %lld)", st->id, acme_js(cert, "serial"),
             acme_ji(rv, "reason"));
    return STEP_NEXT;
}

/* ---- scheduling ---- */

/*
 * When to renew @p cert: when renew-fraction of its lifetime remains, less
 * a random share of up to a tenth of that, so certificates issued together
 * do not all renew in the same second. Chosen once, at issuance.
 */
static time_t renew_time(const acme_worker_t *w, json_t *cert)
{
    time_t nb = (time_t)acme_ji(cert, "not_before"), na = (time_t)acme_ji(cert, "not_after");
    double window = (double)(na - nb) * w->cfg.renew_fraction;
    uint32_t rnd = 0;
    RAND_bytes((uint8_t *)&rnd, sizeof(rnd));
    double jitter = window * 0.1 * ((double)rnd / 4294967296.0);
    return na - (time_t)(window + jitter);
}

static time_t renew_at(const acme_worker_t *w, json_t *state, json_t *cert)
{
    time_t t = (time_t)acme_ji(state, "renew_at");
    if (!t) {
        time_t nb = (time_t)acme_ji(cert, "not_before"), na = (time_t)acme_ji(cert, "not_after");
        t = na - (time_t)((double)(na - nb) * w->cfg.renew_fraction);
    }
    return t;
}

static bool revoke_wanted(json_t *req, json_t *state)
{
    json_t *rv = json_object_get(req, "revoke");
    return rv && acme_ji(rv, "seq") > acme_ji(state, "revoked_seq") &&
           json_object_get(state, "cert") && !json_object_get(state, "order");
}

/* is a deployment (files, hooks) of the current certificate still to do? */
static bool deploy_pending(json_t *state)
{
    return json_is_true(json_object_get(json_object_get(state, "deploy"), "pending"));
}

/* when this certificate needs a step: 0 never (until a request changes) */
static time_t due_at(const acme_worker_t *w, json_t *req, json_t *state, time_t now)
{
    time_t next = (time_t)acme_ji(state, "next_try");
    time_t want = 0;
    json_t *cert = json_object_get(state, "cert");
    if (json_object_get(state, "order") || revoke_wanted(req, state) || deploy_pending(state) ||
        acme_ji(req, "seq") > acme_ji(state, "seq_done")) {
        want = now;
    } else if (cert && strcmp(acme_js(state, "status"), "valid") == 0) {
        want = renew_at(w, state, cert);
    }
    time_t ari = (time_t)acme_ji(state, "ari_next");
    if (cert && strcmp(acme_js(state, "status"), "valid") == 0 && (!want || ari < want)) {
        want = ari ? ari : now; /* 0: never asked yet */
    }
    time_t sd = shard_due(w, req, state);
    if (sd && (!want || sd < want)) {
        want = sd;
    }
    if (!want) {
        return 0;
    }
    return want > next ? want : next;
}

long ord_backoff_s(const acme_worker_t *w, long failures, long retry_after)
{
    if (retry_after >= 0) {
        /* the CA said when: honour it (floor 1 s, cap a day) */
        return retry_after < 1 ? 1 : retry_after > 86400 ? 86400 : retry_after;
    }
    long lo = w->cfg.backoff_min_s < 1 ? 1 : w->cfg.backoff_min_s;
    long d = lo;
    for (long i = 1; i < failures && d < w->cfg.backoff_max_s; i++) {
        d *= 2;
    }
    if (d > w->cfg.backoff_max_s) {
        d = w->cfg.backoff_max_s > lo ? w->cfg.backoff_max_s : lo;
    }
    /* jitter: [d/2, d], so many certificates failing together spread out */
    uint32_t rnd = 0;
    RAND_bytes((uint8_t *)&rnd, sizeof(rnd));
    long j = d / 2 + (long)(rnd % (uint32_t)(d / 2 + 1));
    return j < 1 ? 1 : j;
}

/* write the state half and the TXT changes in one transaction */
static int commit_step(acme_worker_t *w, step_t *st)
{
    char key[ACME_CERT_ID_MAX + 16];
    snprintf(key, sizeof(key), ACME_DB_CERT "%s", st->id);
    zw_t zw;
    diag_t d = {0};
    int err = zw_begin(w->s, &zw);
    if (err) {
        return err;
    }
    json_t *cur = NULL;
    if ((err = acme_db_get(w->s, zw.txn, key, &cur)) != 0) {
        zw_abort(&zw); /* deleted meanwhile (dnsctl cert delete cleans its TXT) */
        return err;
    }
    json_decref(cur);
    /* every zone touched: checked and its serial bumped once, at the end */
    acme_zones_t zones = {0};
    size_t i;
    json_t *op;
    for (int pass = 0; pass < 2 && !err; pass++) {
        json_array_foreach(pass ? st->txt_add : st->txt_del, i, op)
        {
            uint8_t owner[DNAME_MAXLEN + 1];
            const char *on = json_string_value(json_array_get(op, 0));
            const char *val = json_string_value(json_array_get(op, 1));
            char name[300], why[200];
            zw_zone_t z = {0};
            /* owners are kept in presentation form "_acme-challenge.x.y." */
            snprintf(name, sizeof(name), "%s", on + strlen("_acme-challenge."));
            if (acme_name_check(name, name, sizeof(name), why, sizeof(why)) != 0 ||
                acme_dns01_owner(name, owner) < 0) {
                diag_set(&d, on, 0, "%s", why);
                err = DNSD_EMALFORMED;
                break;
            }
            err = pass ? acme_dns01_add(&zw, owner, val, &z, &d)
                       : acme_dns01_del(&zw, owner, val, &z, &d);
            if (!err && (err = acme_zones_add(&zones, &z)) != 0) {
                diag_set(&d, on, 0, "challenge records in more than %d zones", ACME_ZONES_MAX);
            }
            if (err) {
                break;
            }
        }
    }
    if (!err && st->shard_rewrite) {
        /* the region's pool, TLSA and generation in this same transaction */
        err = acme_shard_write(&zw, st->req, st->state, false, &zones, &d);
    }
    if (!err) {
        err = acme_zones_finish(&zw, &zones, &d);
    }
    if (!err) {
        err = acme_db_put_half(w->s, zw.txn, key, "state", st->state, false);
    }
    if (err) {
        zw_abort(&zw);
        snprintf(st->err, sizeof(st->err), "store: %s%s%s", d.file[0] ? d.file : "",
                 d.file[0] ? ": " : "", d.text[0] ? d.text : dnsd_strerror(err));
        return err;
    }
    return zw_commit(&zw);
}

/* ---- files and hook ---- */

int ord_write_file(const char *dir, const char *name, const char *data, mode_t mode)
{
    char path[4500];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return file_write_atomic(path, data, strlen(data), mode);
}

/* cert_dir/<id>/{fullchain,cert,chain,privkey}.pem; the key 0600 */
static int write_pem_files(acme_worker_t *w, const char *id, json_t *cert, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/%s", w->cfg.cert_dir, id);
    if (mkdir(w->cfg.cert_dir, 0755) != 0 && errno != EEXIST) {
        return -errno;
    }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        return -errno;
    }
    char *leaf = NULL, *rest = NULL;
    int err = acme_cert_split(acme_js(cert, "pem"), &leaf, &rest);
    if (err) {
        return err;
    }
    /* the key first: fullchain.pem appearing is the signal that a pair is complete */
    if ((err = ord_write_file(dir, "privkey.pem", acme_js(cert, "key"), 0600)) == 0 &&
        (err = ord_write_file(dir, "cert.pem", leaf, 0644)) == 0 &&
        (err = ord_write_file(dir, "chain.pem", rest, 0644)) == 0) {
        err = ord_write_file(dir, "fullchain.pem", acme_js(cert, "pem"), 0644);
    }
    free(leaf);
    free(rest);
    return err;
}

static int run_hook(acme_worker_t *w, const char *id, const char *dir, json_t *req, json_t *cert,
                    acme_hook_result_t *res)
{
    char names[4096] = "";
    size_t i, off = 0;
    json_t *n;
    json_array_foreach(json_object_get(req, "names"), i, n)
    {
        int k = snprintf(names + off, sizeof(names) - off, "%s%s", off ? " " : "",
                         json_string_value(n));
        if (k < 0 || (size_t)k >= sizeof(names) - off) {
            break;
        }
        off += (size_t)k;
    }
    char e1[600], e2[4600], e3[4200], e4[200];
    snprintf(e1, sizeof(e1), "DNSD_CERT_ID=%s", id);
    snprintf(e2, sizeof(e2), "DNSD_CERT_DIR=%s", dir);
    snprintf(e3, sizeof(e3), "DNSD_CERT_NAMES=%s", names);
    snprintf(e4, sizeof(e4), "DNSD_CERT_SERIAL=%s", acme_js(cert, "serial"));
    const char *vars[] = {e1, e2, e3, e4, NULL};
    return ord_run_command(w, id, w->cfg.deploy_hook, vars, res);
}

int ord_run_command(acme_worker_t *w, const char *id, const char *cmd, const char *const *vars,
                    acme_hook_result_t *res)
{
    int err = acme_hook_run(cmd, vars, w->cfg.deploy_timeout_s, w->stop, res);
    if (err == 0) {
        log_info("acme: %s: deploy hook done", id);
    } else if (err == -EINTR) {
        log_warn("acme: %s: deploy hook killed (process group): dnsd is stopping; the "
                 "deployment runs again at the next start", id);
    } else {
        log_err("acme: %s: deploy hook failed: %s", id, res->text);
    }
    return err;
}

/* ---- the driver ---- */

/* an RFC 3339 time ("2026-11-23T12:00:00Z", fractions and offsets allowed) */
static time_t rfc3339(const char *s)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) {
        return 0;
    }
    time_t t = timegm(&tm);
    if (*p == '.') {
        while (*++p >= '0' && *p <= '9') {
        }
    }
    if ((*p == '+' || *p == '-') && strlen(p) >= 6) {
        int off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
        t += *p == '+' ? -off : off;
    }
    return t;
}

/*
 * ARI (RFC 9773): when the CA offers renewalInfo, ask it when to renew and
 * take a random moment of its suggested window if that is earlier than our
 * own renewal time; asked again when its Retry-After says (6 hours when it
 * says nothing; between 1 hour and a day). A CA without ARI is noted and
 * looked at again daily.
 */
static void ari_check(acme_worker_t *w, step_t *st, time_t now)
{
    json_t *cert = json_object_get(st->state, "cert");
    if (!cert || strcmp(acme_js(st->state, "status"), "valid") != 0 ||
        acme_ji(st->state, "ari_next") > now) {
        return;
    }
    ca_t *ca;
    const char *dir = cert_dir_url(w, st->req);
    if (!*dir || ca_ready(w, dir, &ca, st) != STEP_NEXT) {
        set_int(st->state, "ari_next", now + 3600);
        st->err[0] = '\0';
        return;
    }
    const char *base = acme_client_url(ca->c, "renewalInfo");
    char *id = NULL;
    char url[2048];
    if (!base || !*base || acme_ari_cert_id(acme_js(cert, "pem"), &id) != 0 ||
        acme_ari_url(base, id, url, sizeof(url)) != 0) {
        free(id);
        set_int(st->state, "ari_next", now + 86400);
        json_object_set_new(st->state, "ari", json_pack("{s:b}", "offered", base && *base));
        return;
    }
    free(id);
    acme_resp_t r;
    long next = 6 * 3600;
    if (acme_http_do(ca->c->http, "GET", url, NULL, NULL, &r) == 0) {
        if (r.retry_after_s >= 0) {
            next = r.retry_after_s < 3600 ? 3600 : r.retry_after_s > 86400 ? 86400 : r.retry_after_s;
        }
        json_error_t je;
        json_t *j = r.status == 200 ? json_loads(r.body, 0, &je) : NULL;
        json_t *win = json_object_get(j, "suggestedWindow");
        time_t a = rfc3339(acme_js(win, "start")), b = rfc3339(acme_js(win, "end"));
        if (a && b && b >= a) {
            uint32_t rnd = 0;
            RAND_bytes((uint8_t *)&rnd, sizeof(rnd));
            time_t pick = a + (time_t)((double)(b - a) * ((double)rnd / 4294967296.0));
            json_object_set_new(st->state, "ari",
                                json_pack("{s:b, s:I, s:I, s:I, s:I}", "offered", 1, "start",
                                          (json_int_t)a, "end", (json_int_t)b, "chosen",
                                          (json_int_t)pick, "fetched", (json_int_t)now));
            if (pick < (time_t)acme_ji(st->state, "renew_at")) {
                log_info("acme: %s: the CA's renewal window (ARI) moves renewal to %lld", st->id,
                         (long long)pick);
                set_int(st->state, "renew_at", pick);
            }
        } else {
            log_warn("acme: %s: renewalInfo answered %ld without a usable window", st->id,
                     r.status);
        }
        json_decref(j);
        acme_resp_fini(&r);
    } else {
        log_warn("acme: %s: renewalInfo: %s", st->id, r.error);
    }
    set_int(st->state, "ari_next", now + next);
}

/* does the certificate need a new order now? */
static bool issue_wanted(const acme_worker_t *w, json_t *req, json_t *state, time_t now)
{
    if (acme_ji(req, "seq") > acme_ji(state, "seq_done")) {
        return true;
    }
    json_t *cert = json_object_get(state, "cert");
    return cert && strcmp(acme_js(state, "status"), "valid") == 0 &&
           renew_at(w, state, cert) <= now;
}

/* until when the CA at @p dir is backing off (0: it is not) */
static time_t ca_backoff(const acme_worker_t *w, const char *dir)
{
    for (int i = 0; i < w->ncas; i++) {
        if (strcmp(w->cas[i].dir, dir) == 0) {
            return w->cas[i].backoff_until;
        }
    }
    return 0;
}

/* the state half alone, in its own transaction (after a deployment) */
static int state_save(acme_worker_t *w, step_t *st)
{
    char key[ACME_CERT_ID_MAX + 16];
    snprintf(key, sizeof(key), ACME_DB_CERT "%s", st->id);
    zw_t zw;
    int err = zw_begin(w->s, &zw);
    if (err) {
        return err;
    }
    json_t *cur = NULL;
    if ((err = acme_db_get(w->s, zw.txn, key, &cur)) == 0) {
        json_decref(cur);
        err = acme_db_put_half(w->s, zw.txn, key, "state", st->state, false);
    }
    return err ? (zw_abort(&zw), err) : zw_commit(&zw);
}

/*
 * After the commit that stored a new certificate (state.deploy.pending set
 * in it): PEM files and the deploy hook, the shard's bundle, crt-list and
 * region hook. The outcome goes to state.deploy (`cert show`, `shard
 * status`); a deployment cut short by shutdown stays pending and runs again
 * at the next start.
 */
static void deploy(acme_worker_t *w, step_t *st, time_t now)
{
    acme_hook_result_t hr;
    memset(&hr, 0, sizeof(hr));
    char err[600] = "", hook[400] = "";
    bool stopped = false, hooks_ok = true;
    if (st->shard_deploy) {
        int e = shard_deploy(w, st, &hr, err, sizeof(err));
        stopped = e == -EINTR;
        hooks_ok = !hr.text[0] || hr.ok;
        if (hr.text[0]) {
            snprintf(hook, sizeof(hook), "region hook: %s", hr.text);
        }
    }
    if (st->issued && w->cfg.cert_dir[0] && !stopped) {
        char dir[4400];
        json_t *cert = json_object_get(st->state, "cert");
        int e = write_pem_files(w, st->id, cert, dir, sizeof(dir));
        if (e) {
            log_err("acme: %s: cannot write PEM files to %s: %s", st->id, dir, dnsd_strerror(e));
            snprintf(err, sizeof(err), "cannot write PEM files to %.400s: %s", dir,
                     dnsd_strerror(e));
        } else {
            log_info("acme: %s: PEM files in %s", st->id, dir);
            if (w->cfg.deploy_hook[0]) {
                acme_hook_result_t dr;
                e = run_hook(w, st->id, dir, st->req, cert, &dr);
                stopped = stopped || e == -EINTR;
                hooks_ok = hooks_ok && dr.ok;
                size_t hl = strlen(hook);
                snprintf(hook + hl, sizeof(hook) - hl, "%sdeploy hook: %s", hl ? "; " : "",
                         dr.text);
            }
        }
    }
    if (stopped) {
        return; /* still pending in the store: the next start deploys */
    }
    bool ok = !err[0] && hooks_ok;
    json_object_set_new(st->state, "deploy",
                        json_pack("{s:b, s:I, s:b, s:s, s:s, s:s}", "pending", 0, "at",
                                  (json_int_t)now, "ok", ok, "hook", hook, "error", err,
                                  "serial", acme_js(json_object_get(st->state, "cert"),
                                                    "serial")));
    int e = state_save(w, st);
    if (e) {
        log_err("acme: %s: cannot save the deployment's outcome: %s", st->id, dnsd_strerror(e));
    }
}

/* one certificate: the next step, persisted; @return its next due time */
static time_t cert_step(acme_worker_t *w, const char *id, json_t *rec, time_t now)
{
    step_t st = {0};
    st.id = id;
    st.req = json_object_get(rec, "req");
    json_t *old = json_object_get(rec, "state");
    st.state = old ? json_deep_copy(old) : json_object();
    st.txt_add = json_array();
    st.txt_del = json_array();
    st.retry_after_s = -1;
    if (!json_object_get(st.state, "status")) {
        set_str(st.state, "status", "pending");
    }
    json_t *o = order_of(&st);
    int rc;
    if (o && (!json_equal(json_object_get(o, "names"), json_object_get(st.req, "names")) ||
              (*acme_js(st.req, "key") &&
               strcmp(acme_js(o, "key_type"), acme_js(st.req, "key")) != 0))) {
        /* the request changed (names, key type) while ordering: start over */
        txt_remove_all(&st);
        json_object_del(st.state, "order");
        rc = STEP_NEXT;
    } else if (!o && deploy_pending(st.state)) {
        /* a deployment cut short (shutdown, crash): do it again now */
        log_info("acme: %s: deploying serial %s (interrupted before)", id,
                 acme_js(json_object_get(st.state, "cert"), "serial"));
        st.issued = true;
        st.shard_deploy = acme_shard_of(st.req) != NULL;
        rc = STEP_NEXT;
    } else if (!o && revoke_wanted(st.req, st.state)) {
        rc = step_revoke(w, &st);
    } else if (!o && !issue_wanted(w, st.req, st.state, now)) {
        ari_check(w, &st, now);
        rc = shard_maintain(w, &st, now); /* TLSA retirement, load balancer probes */
    } else if (!o) {
        /* a new order: within the cap on orders in flight, and not while
         * its CA is backing off after an error */
        const char *dir = cert_dir_url(w, st.req);
        time_t ca_wait = ca_backoff(w, dir);
        if (w->inflight >= w->cfg.max_orders || ca_wait > now) {
            json_decref(st.state);
            json_decref(st.txt_add);
            json_decref(st.txt_del);
            return ca_wait > now ? ca_wait : now + 1;
        }
        w->inflight++;
        rc = step_new_order(w, &st);
    } else {
        const char *step = acme_js(o, "step");
        if (strcmp(step, "authz") == 0) {
            rc = step_authz(w, &st);
        } else if (strcmp(step, "published") == 0) {
            rc = step_check(w, &st);
        } else if (strcmp(step, "responded") == 0 || strcmp(step, "processing") == 0) {
            rc = step_poll(w, &st);
        } else if (strcmp(step, "finalize") == 0) {
            rc = step_finalize(w, &st);
        } else if (strcmp(step, "download") == 0) {
            rc = step_download(w, &st);
        } else {
            snprintf(st.err, sizeof(st.err), "unknown order step \"%s\"", step);
            rc = STEP_FAIL;
        }
    }
    if (rc == STEP_TRANSIENT || rc == STEP_FAIL) {
        long failures = acme_ji(st.state, "failures") + 1;
        long d = ord_backoff_s(w, failures, st.retry_after_s);
        set_int(st.state, "failures", failures);
        set_int(st.state, "next_try", now + d);
        set_str(st.state, "last_error", st.err);
        /* what `--wait` makes of it: a transient error is progress; an order
         * the CA judged (invalid, refused) or one we cannot place without
         * the operator is the outcome */
        set_str(st.state, "last_failure",
                rc == STEP_FAIL && !st.ca_forgot ? "final" : "transient");
        if (rc == STEP_FAIL) {
            if (order_of(&st)) {
                txt_remove_all(&st);
                json_object_del(st.state, "order");
            }
            set_str(st.state, "status", "failed");
            w->st.failed_orders++;
            log_err("acme: %s: order failed (retry in %lds): %s", id, d, st.err);
        } else {
            w->st.transient_errors++;
            log_warn("acme: %s: %s (retry in %lds)", id, st.err, d);
        }
        /* the CA itself failed (no answer, 5xx, rate limit): its other
         * certificates wait too instead of hammering it */
        json_t *ord = order_of(&st);
        const char *dir = ord ? acme_js(ord, "directory") : cert_dir_url(w, st.req);
        for (int i = 0; rc == STEP_TRANSIENT && i < w->ncas; i++) {
            if (strcmp(w->cas[i].dir, dir) == 0 && w->cas[i].backoff_until < now + d) {
                w->cas[i].backoff_until = now + d;
            }
        }
        if (st.reset_account) {
            /* registered again before the next order (ca_ready) */
            for (int i = 0; i < w->ncas; i++) {
                acme_client_set_account(w->cas[i].c, w->cas[i].key, NULL);
            }
        }
    } else if (rc == STEP_NEXT) {
        set_int(st.state, "next_try", 0);
    }
    int err = commit_step(w, &st);
    time_t due = 0;
    if (err) {
        log_err("acme: %s: cannot save progress: %s", id, st.err[0] ? st.err : dnsd_strerror(err));
        due = now + ord_backoff_s(w, 1, -1);
    } else {
        if (st.shard_deploy || st.issued) {
            deploy(w, &st, now);
        }
        due = due_at(w, st.req, st.state, now);
    }
    json_decref(st.state);
    json_decref(st.txt_add);
    json_decref(st.txt_del);
    return due;
}

/* ---- account operations asked for by dnsctl (rollover, deactivation) ---- */

static void account_history(json_t *state, const char *outcome, const char *kid, const char *tp,
                            time_t now)
{
    json_t *h = json_object_get(state, "history");
    if (!json_is_array(h)) {
        h = json_array();
        json_object_set_new(state, "history", h);
    }
    json_array_append_new(h, json_pack("{s:s, s:s, s:s, s:I}", "outcome", outcome, "account",
                                       kid ? kid : "", "thumbprint", tp ? tp : "", "at",
                                       (json_int_t)now));
}

static int account_put_state(acme_worker_t *w, const char *dir, json_t *state, json_t *also,
                             const char *const *del)
{
    json_t *set = also ? json_deep_copy(also) : json_object();
    json_object_set(set, "state", state);
    int err = account_update(w, dir, set, del);
    json_decref(set);
    return err;
}

/*
 * Key rollover (RFC 8555 7.3.5): the new key is saved in the record BEFORE
 * the CA hears of it, so a crash after the CA switched keys cannot lose the
 * account; if keyChange then fails because the old key is no longer the
 * account's, the saved key is tried with onlyReturnExisting and adopted.
 */
static int account_rollover(acme_worker_t *w, const char *dir, ca_t *ca, json_t *req,
                            json_t *state, step_t *st)
{
    EVP_PKEY *nk = NULL;
    const char *np = acme_js(state, "next_key");
    if (!*np || acme_key_from_pem(np, &nk) != 0) {
        acme_keytype_t t = acme_keytype_parse(acme_js(req, "rollover_key"));
        if (t == ACME_KEY_NONE) {
            t = w->cfg.account_key;
        }
        if (acme_key_generate(t, &nk) != 0) {
            snprintf(st->err, sizeof(st->err), "cannot generate the new account key");
            return STEP_TRANSIENT;
        }
        char *pem = acme_key_pem(nk);
        json_object_set_new(state, "next_key", json_string(pem ? pem : ""));
        acme_secret_free(pem);
        if (account_put_state(w, dir, state, NULL, NULL) != 0) {
            EVP_PKEY_free(nk);
            snprintf(st->err, sizeof(st->err), "cannot save the new account key");
            return STEP_TRANSIENT;
        }
    }
    char *old_tp = acme_jwk_thumbprint(ca->key);
    int err = acme_client_key_change(ca->c, nk);
    if (err && ca->c->prob.status >= 400 && ca->c->prob.status < 500) {
        /* did an earlier attempt switch the account already? */
        char *kid = ca->c->kid ? xstrdup(ca->c->kid) : NULL;
        acme_client_set_account(ca->c, nk, NULL);
        if (acme_client_lookup(ca->c) == 0 && kid && strcmp(ca->c->kid, kid) == 0) {
            err = 0;
            log_info("acme: %s: the account already uses the new key (an earlier rollover)", dir);
        } else {
            acme_client_set_account(ca->c, ca->key, kid);
        }
        free(kid);
    }
    if (err) {
        free(old_tp);
        EVP_PKEY_free(nk);
        return client_failure(st, ca->c, "keyChange");
    }
    EVP_PKEY_free(ca->key);
    ca->key = nk;
    acme_client_set_account(ca->c, nk, ca->c->kid);
    char *pem = acme_key_pem(nk), *tp = acme_jwk_thumbprint(nk);
    account_history(state, "key rolled over", ca->c->kid, tp, acme_worker_now(w));
    json_object_del(state, "next_key");
    set_int(state, "rollover_done", acme_ji(req, "rollover_seq"));
    json_t *also = json_pack("{s:s, s:s}", "key", pem ? pem : "", "key_type",
                             acme_keytype_name(acme_key_type(nk)));
    err = account_put_state(w, dir, state, also, NULL);
    json_decref(also);
    acme_secret_free(pem);
    log_info("acme: %s: account key rolled over (thumbprint %s -> %s)", dir, old_tp ? old_tp : "?",
             tp ? tp : "?");
    free(old_tp);
    free(tp);
    return err ? STEP_TRANSIENT : STEP_NEXT;
}

/* Deactivation (7.3.6): the key is retired with the account; a later order registers anew. */
static int account_deactivate(acme_worker_t *w, const char *dir, ca_t *ca, json_t *req,
                              json_t *state, step_t *st)
{
    if (acme_client_deactivate(ca->c) != 0) {
        return client_failure(st, ca->c, "account deactivation");
    }
    char *tp = acme_jwk_thumbprint(ca->key);
    account_history(state, "deactivated", ca->c->kid, tp, acme_worker_now(w));
    free(tp);
    set_int(state, "deactivate_done", acme_ji(req, "deactivate_seq"));
    log_info("acme: %s: account %s deactivated", dir, ca->c->kid);
    static const char *const del[] = {"key", "kid", "key_type", NULL};
    EVP_PKEY_free(ca->key);
    ca->key = NULL;
    acme_client_set_account(ca->c, NULL, NULL);
    return account_put_state(w, dir, state, NULL, del) ? STEP_TRANSIENT : STEP_NEXT;
}

/* one account's pending operation; @return when to come back (0: nothing pending) */
static time_t account_step(acme_worker_t *w, const char *dir, json_t *rec, time_t now)
{
    json_t *req = json_object_get(rec, "req");
    json_t *old = json_object_get(rec, "state");
    bool roll = acme_ji(req, "rollover_seq") > acme_ji(old, "rollover_done");
    bool deact = acme_ji(req, "deactivate_seq") > acme_ji(old, "deactivate_done");
    if (!roll && !deact) {
        return 0;
    }
    if (acme_ji(old, "next_try") > now) {
        return (time_t)acme_ji(old, "next_try");
    }
    json_t *state = old ? json_deep_copy(old) : json_object();
    step_t st = {0};
    st.id = dir;
    st.retry_after_s = -1;
    ca_t *ca;
    int rc = ca_ready(w, dir, &ca, &st);
    if (rc == STEP_NEXT) {
        rc = roll ? account_rollover(w, dir, ca, req, state, &st)
                  : account_deactivate(w, dir, ca, req, state, &st);
    }
    time_t next = 0;
    if (rc == STEP_NEXT) {
        set_int(state, "failures", 0);
        set_str(state, "last_error", "");
        set_int(state, "next_try", 0);
        next = now; /* the other operation, if both were asked */
    } else {
        long failures = acme_ji(state, "failures") + 1;
        long d = ord_backoff_s(w, failures, st.retry_after_s);
        set_int(state, "failures", failures);
        set_int(state, "next_try", now + d);
        set_str(state, "last_error", st.err);
        log_err("acme: account at %s: %s (retry in %lds)", dir, st.err, d);
        next = now + d;
    }
    if (account_put_state(w, dir, state, NULL, NULL) != 0) {
        log_err("acme: account at %s: cannot save its state", dir);
    }
    json_decref(state);
    return next;
}

static int acct_scan_cb(const char *key, json_t *v, void *arg)
{
    json_t *pending = arg;
    json_t *req = json_object_get(v, "req"), *st = json_object_get(v, "state");
    if (acme_ji(req, "rollover_seq") > acme_ji(st, "rollover_done") ||
        acme_ji(req, "deactivate_seq") > acme_ji(st, "deactivate_done")) {
        json_array_append_new(pending, json_string(key + strlen(ACME_DB_ACCOUNT)));
    }
    return 0;
}

/* run what dnsctl asked of accounts; @return the earliest retry time (0: none) */
static time_t accounts_run(acme_worker_t *w)
{
    json_t *pending = json_array();
    MDB_txn *txn;
    if (mdb_txn_begin(w->s->env, NULL, MDB_RDONLY, &txn) == 0) {
        acme_db_foreach(w->s, txn, ACME_DB_ACCOUNT, acct_scan_cb, pending);
        mdb_txn_abort(txn);
    }
    time_t next = 0;
    size_t i;
    json_t *d;
    json_array_foreach(pending, i, d)
    {
        for (int k = 0; k < 2; k++) { /* rollover, then deactivation if both */
            char key[1200];
            snprintf(key, sizeof(key), ACME_DB_ACCOUNT "%s", json_string_value(d));
            json_t *rec = NULL;
            if (mdb_txn_begin(w->s->env, NULL, MDB_RDONLY, &txn) != 0) {
                break;
            }
            int err = acme_db_get(w->s, txn, key, &rec);
            mdb_txn_abort(txn);
            if (err) {
                break;
            }
            time_t now = acme_worker_now(w);
            time_t t = account_step(w, json_string_value(d), rec, now);
            json_decref(rec);
            if (t != now) {
                if (t && (!next || t < next)) {
                    next = t;
                }
                break;
            }
        }
    }
    json_decref(pending);
    return next;
}

typedef struct scan {
    acme_worker_t *w;
    time_t now;
    time_t next;
    json_t *due; /* ids due now */
} scan_t;

static int scan_cb(const char *key, json_t *v, void *arg)
{
    scan_t *sc = arg;
    json_t *req = json_object_get(v, "req");
    json_t *state = json_object_get(v, "state");
    if (!req) {
        return 0;
    }
    if (json_object_get(state, "order")) {
        sc->w->inflight++;
    }
    time_t t = due_at(sc->w, req, state ? state : json_null(), sc->now);
    if (t && t <= sc->now) {
        json_array_append_new(sc->due, json_string(key + strlen(ACME_DB_CERT)));
    } else if (t && (!sc->next || t < sc->next)) {
        sc->next = t;
    }
    return 0;
}

time_t acme_worker_run(acme_worker_t *w, volatile int *stop)
{
    w->stop = stop;
    time_t acct_next = accounts_run(w);
    time_t next = 0;
    /* a few rounds: an order advances several steps per call while they are quick */
    for (int round = 0; round < 16 && !*stop; round++) {
        scan_t sc = {w, acme_worker_now(w), 0, json_array()};
        w->inflight = 0; /* counted by the scan */
        MDB_txn *txn;
        if (mdb_txn_begin(w->s->env, NULL, MDB_RDONLY, &txn) != 0) {
            json_decref(sc.due);
            return sc.now + 1;
        }
        int err = acme_db_foreach(w->s, txn, ACME_DB_CERT, scan_cb, &sc);
        mdb_txn_abort(txn);
        if (err) {
            log_err("acme: cannot read certificate requests: %s", dnsd_strerror(err));
        }
        next = sc.next;
        if (json_array_size(sc.due) == 0) {
            json_decref(sc.due);
            break;
        }
        size_t i;
        json_t *id;
        json_array_foreach(sc.due, i, id)
        {
            if (*stop) {
                break;
            }
            char key[ACME_CERT_ID_MAX + 16];
            snprintf(key, sizeof(key), ACME_DB_CERT "%s", json_string_value(id));
            json_t *rec = NULL;
            if (mdb_txn_begin(w->s->env, NULL, MDB_RDONLY, &txn) != 0) {
                continue;
            }
            err = acme_db_get(w->s, txn, key, &rec);
            mdb_txn_abort(txn);
            if (err) {
                continue;
            }
            time_t t = cert_step(w, json_string_value(id), rec, acme_worker_now(w));
            json_decref(rec);
            if (t && (!next || t < next)) {
                next = t;
            }
        }
        json_decref(sc.due);
    }
    if (acct_next && (!next || acct_next < next)) {
        next = acct_next;
    }
    return next;
}
