/* SPDX-License-Identifier: MIT */
/*
 * deploy.c -- after an issuance, what leaves the store: PEM files in
 * cert-dir/<id>/, the deploy hook, a shard's HAProxy bundle and crt-list
 * in cert-dir/regions/<region>/ and its region hook; the outcome recorded
 * in the certificate's state (state.deploy) and a deployment cut short by
 * shutdown left pending for the next start. Called by worker.c after the
 * step's commit; hooks are processes (hook.c), bounded by deploy-timeout.
 * In cluster mode every node deploys on its own site whatever the cluster
 * issued (ord_deploy_sites) and records its outcome and its load balancer
 * probes under "deploy:<id>:<node>". Never writes a private key anywhere
 * but 0600 files.
 */
#include "acme/order.h"
#include "acme/order_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acme/certdb.h"
#include "acme/csr.h"
#include "acme/hook.h"
#include "acme/shard.h"
#include "zones/base/err.h"
#include "zones/base/file.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"
#include "zones/writer.h"

int ord_write_file(const char *dir, const char *name, const char *data, mode_t mode)
{
    char path[5200];
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

/* every shard of region @p region with a certificate: the crt-list lines */
/* a region's crt-list read back (the operator's lines); a longer one is cut */
#define ACME_CRTLIST_MAX (1024 * 1024)

typedef struct crtlist {
    const char *region;
    const char *dir;
    char *text;
    size_t len;
    const char *only; /* the canary directory: this shard's line alone */
} crtlist_t;

static int crtlist_cb(const char *key, json_t *v, void *arg)
{
    crtlist_t *cl = arg;
    json_t *req = json_object_get(v, "req");
    json_t *sh = acme_shard_of(req);
    if (!sh || strcmp(acme_js(sh, "region"), cl->region) != 0 ||
        (cl->only && strcmp(key + strlen(ACME_DB_CERT), cl->only) != 0) ||
        (!cl->only && !json_object_get(json_object_get(v, "state"), "cert"))) {
        return 0;
    }
    char line[8192];
    int n = snprintf(line, sizeof(line), "%s/%s.pem", cl->dir, acme_js(sh, "domain"));
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(req, "names"), i, x)
    {
        n += snprintf(line + n, sizeof(line) - (size_t)n, " %s", json_string_value(x));
        if (n >= (int)sizeof(line) - 300) {
            break;
        }
    }
    n += snprintf(line + n, sizeof(line) - (size_t)n, "\n");
    cl->text = xrealloc(cl->text, cl->len + (size_t)n + 1);
    memcpy(cl->text + cl->len, line, (size_t)n + 1);
    cl->len += (size_t)n;
    (void)key;
    return 0;
}

/*
 * After an issuance: the region's bundle and crt-list, then the shard's
 * hook. @return 0; -EINTR when the hook was cut short by shutdown; another
 * error with @p err set (@p hr says how the hook ended, text "" if none ran).
 */
static int shard_deploy(acme_worker_t *w, step_t *st, acme_hook_result_t *hr, char *err,
                        size_t errcap)
{
    return ord_shard_bundle(w, st->id, st->req, json_object_get(st->state, "cert"), false, hr,
                            err, errcap);
}

int ord_shard_bundle(acme_worker_t *w, const char *id, json_t *req, json_t *cert, bool canary,
                     acme_hook_result_t *hr, char *err, size_t errcap)
{
    memset(hr, 0, sizeof(*hr));
    json_t *sh = acme_shard_of(req);
    step_t stv = {.id = id, .req = req}, *st = &stv;
    if (!w->cfg.cert_dir[0]) {
        log_err("acme: %s: dnsd has no cert-dir: the shard's bundle and crt-list are not "
                "written and its hook does not run (set cert-dir in dnsd's config)", st->id);
        snprintf(err, errcap, "no cert-dir in dnsd's config: bundle not written, hook not run");
        return DNSD_ECONFIG;
    }
    char dir[4400], regions[4300];
    snprintf(regions, sizeof(regions), "%s/regions", w->cfg.cert_dir);
    snprintf(dir, sizeof(dir), "%s/%s", regions, acme_js(sh, "region"));
    mkdir(w->cfg.cert_dir, 0755);
    mkdir(regions, 0755);
    if (canary) {
        /* a rollout's candidate: cert-dir/regions/<R>/canary/ (acme/rollout.h) */
        mkdir(dir, 0750);
        size_t dl = strlen(dir);
        snprintf(dir + dl, sizeof(dir) - dl, "/canary");
    }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        int e = -errno;
        log_err("acme: %s: cannot make %s: %s", st->id, dir, strerror(errno));
        snprintf(err, errcap, "cannot make %.400s: %s", dir, strerror(-e));
        return e;
    }
    /* HAProxy's bundle: chain then key, one file, 0600 */
    const char *pem = acme_js(cert, "pem"), *key = acme_js(cert, "key");
    size_t n = strlen(pem) + strlen(key) + 2;
    char *bundle = xmalloc(n);
    snprintf(bundle, n, "%s%s", pem, key);
    char file[600];
    snprintf(file, sizeof(file), "%s.pem", acme_js(sh, "domain"));
    int e = ord_write_file(dir, file, bundle, 0600);
    acme_secret_free(bundle);
    if (e) {
        log_err("acme: %s: cannot write %s/%s: %s", st->id, dir, file, dnsd_strerror(e));
        snprintf(err, errcap, "cannot write the bundle in %.400s: %s", dir, dnsd_strerror(e));
        return e;
    }
    crtlist_t cl = {acme_js(sh, "region"), dir, xcalloc(1, 1), 0, canary ? id : NULL};
    MDB_txn *txn;
    if (acme_db_read_begin(w->s, &txn) == 0) {
        acme_db_foreach(w->s, txn, ACME_DB_CERT, crtlist_cb, &cl);
        acme_db_read_end(w->s, txn);
    }
    /* the operator's lines (a placeholder default certificate) stay first */
    char clpath[4500], *old = NULL;
    snprintf(clpath, sizeof(clpath), "%s/crt-list.txt", dir);
    FILE *f = fopen(clpath, "re");
    if (f) {
        old = xcalloc(1, ACME_CRTLIST_MAX + 1);
        size_t got = fread(old, 1, ACME_CRTLIST_MAX, f);
        old[got] = '\0';
        fclose(f);
    }
    char *text = acme_crtlist_merge(old, cl.text);
    free(old);
    free(cl.text);
    e = ord_write_file(dir, "crt-list.txt", text, 0644);
    free(text);
    if (e) {
        log_err("acme: %s: cannot write %s/crt-list.txt: %s", st->id, dir, dnsd_strerror(e));
        snprintf(err, errcap, "cannot write the crt-list in %.400s: %s", dir, dnsd_strerror(e));
        return e;
    }
    log_info("acme: %s: bundle and crt-list in %s", st->id, dir);
    const char *hook = acme_js(sh, canary ? "canary_hook" : "hook");
    if (!*hook) {
        return 0;
    }
    char names[4096] = "";
    size_t i, off = 0;
    json_t *x;
    json_array_foreach(json_object_get(st->req, "names"), i, x)
    {
        int k = snprintf(names + off, sizeof(names) - off, "%s%s", off ? " " : "",
                         json_string_value(x));
        if (k < 0 || (size_t)k >= sizeof(names) - off) {
            break;
        }
        off += (size_t)k;
    }
    char v1[600], v2[300], v3[5100], v4[4500], v5[200], v6[4200];
    snprintf(v1, sizeof(v1), "DNSD_SHARD_DOMAIN=%s", acme_js(sh, "domain"));
    snprintf(v2, sizeof(v2), "DNSD_SHARD_REGION=%s", acme_js(sh, "region"));
    snprintf(v3, sizeof(v3), "DNSD_SHARD_BUNDLE=%s/%s", dir, file);
    snprintf(v4, sizeof(v4), "DNSD_SHARD_CRTLIST=%s/crt-list.txt", dir);
    snprintf(v5, sizeof(v5), "DNSD_SHARD_SERIAL=%s", acme_js(cert, "serial"));
    snprintf(v6, sizeof(v6), "DNSD_SHARD_NAMES=%s", names);
    const char *vars[] = {v1, v2, v3, v4, v5, v6,
                          canary ? "DNSD_SHARD_POOL=canary" : "DNSD_SHARD_POOL=stable", NULL};
    e = ord_run_command(w, st->id, hook, vars, hr);
    return e == -EINTR ? e : 0; /* a failed hook is in @p hr, not an error of ours */
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
    return err ? (zw_abort(&zw), err) : zw_commit(&zw, NULL);
}

/*
 * Files and hooks for the certificate in st->state: the shard's bundle,
 * crt-list and region hook when st->shard_deploy, the PEM files and the
 * deploy hook when st->issued. @return the outcome {pending 0, at, ok,
 * hook, error, serial}, or NULL when shutdown cut it short (still to do).
 */
static json_t *deploy_run(acme_worker_t *w, step_t *st, time_t now)
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
        return NULL;
    }
    bool ok = !err[0] && hooks_ok;
    return json_pack("{s:b, s:I, s:b, s:s, s:s, s:s}", "pending", 0, "at", (json_int_t)now, "ok",
                     ok, "hook", hook, "error", err, "serial",
                     acme_js(json_object_get(st->state, "cert"), "serial"));
}

/*
 * After the commit that stored a new certificate (state.deploy.pending set
 * in it): PEM files and the deploy hook, the shard's bundle, crt-list and
 * region hook. The outcome goes to state.deploy (`cert show`, `shard
 * status`); a deployment cut short by shutdown stays pending and runs again
 * at the next start. Standalone only.
 */
void ord_deploy(acme_worker_t *w, step_t *st, time_t now)
{
    json_t *out = deploy_run(w, st, now);
    if (!out) {
        return; /* still pending in the store: the next start deploys */
    }
    json_object_set_new(st->state, "deploy", out);
    int e = state_save(w, st);
    if (e) {
        log_err("acme: %s: cannot save the deployment's outcome: %s", st->id, dnsd_strerror(e));
    }
}

/* ---- cluster mode: every node deploys and probes on its own site ---- */

static int sites_cb(const char *key, json_t *v, void *arg)
{
    (void)v;
    json_array_append_new(arg, json_string(key + strlen(ACME_DB_CERT)));
    return 0;
}

/* the value at @p key (a certificate, a node's "deploy:<id>:<node>"), or NULL */
static json_t *site_get(acme_worker_t *w, const char *key)
{
    MDB_txn *txn;
    json_t *v = NULL;
    if (acme_db_read_begin(w->s, &txn) == 0) {
        if (acme_db_get(w->s, txn, key, &v) != 0) {
            v = NULL;
        }
        acme_db_read_end(w->s, txn);
    }
    return v;
}

/*
 * Store this node's record @p v of certificate @p id, unless the
 * certificate was deleted (or issued anew) meanwhile: checked in the write
 * txn, which sees every committed entry, so `cert delete` leaves no record.
 */
static int site_put(acme_worker_t *w, const char *id, const char *key, json_t *v)
{
    char ckey[ACME_CERT_ID_MAX + 16];
    snprintf(ckey, sizeof(ckey), ACME_DB_CERT "%s", id);
    zw_t zw;
    json_t *rec = NULL;
    int err = zw_begin(w->s, &zw);
    if (err) {
        return err;
    }
    if ((err = acme_db_get(w->s, zw.txn, ckey, &rec)) == 0 &&
        strcmp(acme_js(json_object_get(json_object_get(rec, "state"), "cert"), "serial"),
               acme_js(v, "serial")) != 0) {
        err = DNSD_ENOTFOUND;
    }
    json_decref(rec);
    if (err == DNSD_ENOTFOUND) {
        zw_abort(&zw);
        log_info("acme: %s: gone or issued anew meanwhile: node %s's record not kept", id,
                 zc_node(w->zc));
        return 0;
    }
    if (!err) {
        err = acme_db_put(w->s, zw.txn, key, v);
    }
    return err ? (zw_abort(&zw), err) : zw_commit(&zw, NULL);
}

static time_t site_deploy(acme_worker_t *w, const char *id, json_t *req, json_t *state,
                          json_t *sh, const char *serial, time_t now);

/* one certificate on this node: deploy when new here, probe when due; @return next probe */
static time_t site_run(acme_worker_t *w, const char *id, time_t now)
{
    char key[ACME_CERT_ID_MAX + ZC_NODE_MAX + 16];
    snprintf(key, sizeof(key), ACME_DB_CERT "%s", id);
    json_t *rec = site_get(w, key); /* as it is now, not as the scan saw it */
    json_t *req = json_object_get(rec, "req"), *state = json_object_get(rec, "state");
    json_t *sh = acme_shard_of(req);
    const char *serial = acme_js(json_object_get(state, "cert"), "serial");
    if (!req || !*serial || strcmp(acme_js(state, "status"), "revoked") == 0 ||
        (!w->cfg.cert_dir[0] && !sh)) {
        /* nothing issued, or nothing to deploy here (as standalone: no
         * cert-dir, no shard) */
        json_decref(rec);
        return 0;
    }
    time_t t = site_deploy(w, id, req, state, sh, serial, now);
    json_decref(rec);
    return t;
}

/* site_run's work for the certificate's current @p req and @p state */
static time_t site_deploy(acme_worker_t *w, const char *id, json_t *req, json_t *state,
                          json_t *sh, const char *serial, time_t now)
{
    char key[ACME_CERT_ID_MAX + ZC_NODE_MAX + 16];
    snprintf(key, sizeof(key), ACME_DB_DEPLOY "%s:%s", id, zc_node(w->zc));
    json_t *cur = site_get(w, key);
    bool deploy = strcmp(acme_js(cur, "serial"), serial) != 0;
    bool probe = sh && (deploy || (acme_ji(cur, "probe_at") && acme_ji(cur, "probe_at") <= now));
    if (!deploy && !probe) {
        time_t t = sh ? (time_t)acme_ji(cur, "probe_at") : 0;
        json_decref(cur);
        return t;
    }
    json_t *rec2 = cur ? json_deep_copy(cur) : json_object();
    json_decref(cur);
    if (deploy) {
        step_t st = {0};
        st.id = id;
        st.req = req;
        st.state = state;
        st.issued = true;
        st.shard_deploy = sh != NULL;
        log_info("acme: %s: deploying serial %s on node %s", id, serial, zc_node(w->zc));
        json_t *out = deploy_run(w, &st, now);
        if (!out) {
            json_decref(rec2);
            return 0; /* shutdown: deployed at the next start */
        }
        json_object_update(rec2, out);
        json_object_del(rec2, "pending");
        json_decref(out);
    }
    set_str(rec2, "node", zc_node(w->zc));
    if (probe && !(w->stop && *w->stop)) {
        json_t *h = shard_probe_health(w, id, req, state, json_object_get(rec2, "health"), now);
        json_object_set_new(rec2, "health", h);
        set_int(rec2, "probe_at", now + w->cfg.shard_probe_interval_s);
    }
    int e = site_put(w, id, key, rec2);
    if (e) {
        log_err("acme: %s: cannot save node %s's deployment: %s", id, zc_node(w->zc),
                dnsd_strerror(e));
    }
    time_t t = sh ? (time_t)acme_ji(rec2, "probe_at") : 0;
    json_decref(rec2);
    return e ? now + ord_backoff_s(w, 1, -1) : t;
}

time_t ord_deploy_sites(acme_worker_t *w, time_t now)
{
    json_t *ids = json_array();
    MDB_txn *txn;
    if (acme_db_read_begin(w->s, &txn) != 0) {
        json_decref(ids);
        return now + 1;
    }
    acme_db_foreach(w->s, txn, ACME_DB_CERT, sites_cb, ids);
    acme_db_read_end(w->s, txn);
    time_t next = 0;
    size_t i;
    json_t *x;
    json_array_foreach(ids, i, x)
    {
        if (w->stop && *w->stop) {
            break;
        }
        time_t t = site_run(w, json_string_value(x), now);
        if (t && (!next || t < next)) {
            next = t;
        }
    }
    json_decref(ids);
    return next;
}
