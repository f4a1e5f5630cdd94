/* SPDX-License-Identifier: MIT */
/*
 * account.c -- the ACME worker's accounts: the per-CA client with its
 * directory and registered account (key from the store, else made and saved
 * before newAccount), error classification, and the account operations
 * dnsctl asks for (key rollover, deactivation). Called by the worker's own
 * files (order_int.h); blocking HTTP bounded by acme-http-timeout.
 * In cluster mode one node at a time registers an account or carries out
 * an operation on it (task lock "account/<hash of the directory URL>"), and
 * every node adopts the key another node stored.
 */
#include "acme/order.h"
#include "acme/order_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/certdb.h"
#include "acme/client.h"
#include "acme/csr.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"
#include "zones/writer.h"

/* an error from the client: copy its text, classify it */
int ord_client_failure(step_t *st, acme_client_t *c, const char *what)
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
    return err ? (zw_abort(&zw), err) : zw_commit(&zw, NULL);
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

static int ca_account(acme_worker_t *w, const char *dir, const char *dbkey, ca_t *ca,
                      step_t *st);

/* cluster: the task lock of the account at @p dir, "account/<sha256 of the URL>" */
static void account_lock_name(const char *dir, char *buf, size_t cap)
{
    char *h = acme_sha256_b64url(dir);
    snprintf(buf, cap, "account/%s", h ? h : "");
    free(h);
}

/*
 * Cluster: another node may have made, rolled over or deactivated the
 * account since this client loaded it: take the stored key when it is not
 * the one in use. @return 0, or an error reading the store.
 */
static int account_refresh(acme_worker_t *w, ca_t *ca, const char *dbkey)
{
    MDB_txn *txn;
    json_t *acct = NULL;
    if (acme_db_read_begin(w->s, &txn) != 0) {
        return 0;
    }
    int e = acme_db_get(w->s, txn, dbkey, &acct);
    acme_db_read_end(w->s, txn);
    if (e && e != DNSD_ENOTFOUND) {
        return e;
    }
    EVP_PKEY *key = NULL;
    char *mine = acme_jwk_thumbprint(ca->key), *theirs = NULL;
    if (acct && acme_key_from_pem(acme_js(acct, "key"), &key) == 0) {
        theirs = acme_jwk_thumbprint(key);
    }
    if (!theirs || !mine || strcmp(theirs, mine) != 0) {
        /* gone (deactivated elsewhere): made again below; else adopted */
        EVP_PKEY_free(ca->key);
        ca->key = theirs ? key : NULL;
        key = NULL;
        acme_client_set_account(ca->c, ca->key, ca->key ? acme_js(acct, "kid") : NULL);
        log_info("acme: %s: account key changed on another node: %s", ca->dir,
                 ca->key ? "adopted" : "dropped");
    } else if (!ca->c->kid && *acme_js(acct, "kid")) {
        acme_client_set_account(ca->c, ca->key, acme_js(acct, "kid")); /* registered elsewhere */
    }
    EVP_PKEY_free(key);
    free(mine);
    free(theirs);
    json_decref(acct);
    return 0;
}

/*
 * The client for directory @p dir with a registered account: the key comes
 * from the store (made and saved first if there is none, so a crash cannot
 * orphan an account at the CA), the account URL too, else newAccount.
 */
int ord_ca_ready(acme_worker_t *w, const char *dir, ca_t **out, step_t *st)
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
        return ord_client_failure(st, ca->c, "directory");
    }
    char dbkey[1200], lname[128];
    snprintf(dbkey, sizeof(dbkey), ACME_DB_ACCOUNT "%s", dir);
    bool locked = false; /* cluster: the account lock taken here, released below */
    if (w->zc && ca->key && account_refresh(w, ca, dbkey) != 0) {
        snprintf(st->err, sizeof(st->err), "cannot read the account record for %s", dir);
        return STEP_TRANSIENT;
    }
    if (w->zc && (!ca->key || !ca->c->kid)) {
        /* one node makes and registers the account; the others wait for it */
        account_lock_name(dir, lname, sizeof(lname));
        bool held = json_object_get(w->locks, lname) != NULL;
        if (ord_cluster_lock(w, lname, dir) != 0) {
            snprintf(st->err, sizeof(st->err), "another cluster node registers the account at %s",
                     dir);
            if (st->state) {
                set_int(st->state, "next_try", acme_worker_now(w) + 2);
                return STEP_WAIT;
            }
            return STEP_TRANSIENT;
        }
        locked = !held;
        if (ca->key && account_refresh(w, ca, dbkey) != 0) {
            ord_cluster_unlock(w, lname, dir);
            snprintf(st->err, sizeof(st->err), "cannot read the account record for %s", dir);
            return STEP_TRANSIENT;
        }
    }
    int rc = ca_account(w, dir, dbkey, ca, st);
    if (locked) {
        ord_cluster_unlock(w, lname, dir);
    }
    if (rc == STEP_NEXT) {
        *out = ca;
    }
    return rc;
}

/* ord_ca_ready's second half: the account's key and registration */
static int ca_account(acme_worker_t *w, const char *dir, const char *dbkey, ca_t *ca, step_t *st)
{
    if (!ca->key) {
        MDB_txn *txn;
        json_t *acct = NULL;
        if (acme_db_read_begin(w->s, &txn) == 0) {
            int e = acme_db_get(w->s, txn, dbkey, &acct);
            acme_db_read_end(w->s, txn);
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
            return ord_client_failure(st, ca->c, "newAccount");
        }
        if ((e = account_save(w, dir, ca->key, ca->c->kid)) != 0) {
            snprintf(st->err, sizeof(st->err), "cannot save the account: %s", dnsd_strerror(e));
            return STEP_TRANSIENT;
        }
        log_info("acme: account %s at %s", ca->c->kid, dir);
    }
    return STEP_NEXT;
}

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
        return ord_client_failure(st, ca->c, "keyChange");
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
        return ord_client_failure(st, ca->c, "account deactivation");
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
    int rc = ord_ca_ready(w, dir, &ca, &st);
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
time_t ord_accounts_run(acme_worker_t *w)
{
    json_t *pending = json_array();
    MDB_txn *txn;
    if (acme_db_read_begin(w->s, &txn) == 0) {
        acme_db_foreach(w->s, txn, ACME_DB_ACCOUNT, acct_scan_cb, pending);
        acme_db_read_end(w->s, txn);
    }
    time_t next = 0;
    size_t i;
    json_t *d;
    json_array_foreach(pending, i, d)
    {
        char lname[128];
        if (w->zc) {
            /* one node carries out what dnsctl asked of the account */
            account_lock_name(json_string_value(d), lname, sizeof(lname));
            if (ord_cluster_lock(w, lname, json_string_value(d)) != 0) {
                time_t t = acme_worker_now(w) + 2;
                if (!next || t < next) {
                    next = t;
                }
                continue;
            }
        }
        for (int k = 0; k < 2; k++) { /* rollover, then deactivation if both */
            char key[1200];
            snprintf(key, sizeof(key), ACME_DB_ACCOUNT "%s", json_string_value(d));
            json_t *rec = NULL;
            if (acme_db_read_begin(w->s, &txn) != 0) {
                break;
            }
            int err = acme_db_get(w->s, txn, key, &rec);
            acme_db_read_end(w->s, txn);
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
        if (w->zc) {
            ord_cluster_unlock(w, lname, json_string_value(d));
        }
    }
    json_decref(pending);
    return next;
}
