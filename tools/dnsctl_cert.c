/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_cert.c -- `dnsctl cert ...` and `dnsctl acme account`: certificate
 * requests for dnsd's ACME worker and what it made of them. A request is
 * one write transaction on the "req" half of a certificate record
 * (acme/certdb.h); dnsd notices it through the generation counter. --wait
 * polls the record until dnsd reports the outcome. Private keys are never
 * printed.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acme/certdb.h"
#include "acme/delegate.h"
#include "acme/dns01.h"
#include "acme/http01.h"
#include "acme/jws.h"
#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"

#define CERT_NAMES_MAX 100

static void cert_key(const char *id, char *buf, size_t cap)
{
    snprintf(buf, cap, ACME_DB_CERT "%s", id);
}

void ctl_cert_time(long long t, char *buf, size_t cap)
{
    if (t <= 0) {
        snprintf(buf, cap, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

long ctl_cert_wait_arg(const ctl_t *c)
{
    if (!c->wait) {
        return -1;
    }
    long long n;
    if (parse_num(c->wait, 0, 86400, &n) != 0) {
        return -2;
    }
    return (long)n;
}

/* the status as shown: dnsd has not seen a request yet -> "requested" */
const char *ctl_cert_status(json_t *rec)
{
    json_t *req = json_object_get(rec, "req"), *st = json_object_get(rec, "state");
    if (!st) {
        return "requested";
    }
    const char *s = acme_js(st, "status");
    if (strcmp(s, "valid") == 0 && acme_ji(req, "seq") > acme_ji(st, "seq_done")) {
        return "renewing";
    }
    return *s ? s : "requested";
}

/*
 * --wait: poll until dnsd's state shows the outcome of request @p seq
 * (issued: seq_done >= seq; revoked: revoked_seq >= seq), a final failure
 * newer than @p failures_before (state.last_failure "final": the CA judged
 * the order, or the operator must act), or the timeout. Transient failures
 * (no answer, 5xx, 429, the CA lost the order) are printed as progress.
 * CTL_OK when done, CTL_FAIL otherwise (printed).
 */
int ctl_cert_wait(const ctl_t *c, const char *id, long long seq, bool revoke, long secs,
                  long long failures_before)
{
    char key[ACME_CERT_ID_MAX + 16];
    cert_key(id, key, sizeof(key));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        zs_store_t *s = NULL;
        MDB_txn *txn = NULL;
        json_t *rec = NULL;
        int err = ctl_read_begin(c, &s, &txn);
        if (err == CTL_OK) {
            err = acme_db_get(s, txn, key, &rec);
            mdb_txn_abort(txn);
        }
        zs_close(s);
        if (err == DNSD_ENOTFOUND) {
            return ctl_err("cert %s: deleted while waiting", id);
        }
        if (err) {
            return ctl_err("cert %s: %s", id, dnsd_strerror(err));
        }
        json_t *st = json_object_get(rec, "state");
        bool done = revoke ? acme_ji(st, "revoked_seq") >= seq : acme_ji(st, "seq_done") >= seq;
        if (done) {
            json_t *cert = json_object_get(st, "cert");
            char na[40];
            ctl_cert_time(acme_ji(cert, "not_after"), na, sizeof(na));
            printf("cert %s: %s, serial %s, valid until %s\n", id, revoke ? "revoked" : "issued",
                   acme_js(cert, "serial"), na);
            json_decref(rec);
            return CTL_OK;
        }
        if (acme_ji(st, "failures") > failures_before && *acme_js(st, "last_error")) {
            char nt[40];
            ctl_cert_time(acme_ji(st, "next_try"), nt, sizeof(nt));
            if (strcmp(acme_js(st, "last_failure"), "transient") != 0) {
                /* the CA judged the order (or the operator must act): the outcome */
                int rc = ctl_err("cert %s: %s (dnsd retries at %s)", id,
                                 acme_js(st, "last_error"), nt);
                json_decref(rec);
                return rc;
            }
            /* dnsd keeps the order and retries: progress, not the outcome */
            fprintf(stderr, "dnsctl: cert %s: %s (transient; dnsd retries at %s, still waiting)\n",
                    id, acme_js(st, "last_error"), nt);
            failures_before = acme_ji(st, "failures");
        }
        json_decref(rec);
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec >= secs) {
            return ctl_err("cert %s: not done after %lds (is dnsd running with acme-directory "
                           "set?); see `dnsctl cert show %s`",
                           id, secs, id);
        }
        usleep(200 * 1000);
    }
}

/* "no such certificate" / "no such shard", or the store's error */
static int no_record(const char *what, const char *id, int err)
{
    return ctl_err("%s %s: %s", what, id,
                   err == DNSD_ENOTFOUND
                       ? (strcmp(what, "shard") == 0 ? "no such shard" : "no such certificate")
                       : dnsd_strerror(err));
}

int ctl_cert_load(const ctl_t *c, const char *what, const char *id, json_t **rec)
{
    char key[ACME_CERT_ID_MAX + 16];
    cert_key(id, key, sizeof(key));
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    int rc = ctl_read_begin(c, &s, &txn);
    if (rc != CTL_OK) {
        zs_close(s);
        return rc;
    }
    int err = acme_db_get(s, txn, key, rec);
    if (!err) {
        /* cluster: what every node deployed (ctl_cert_view shows it) */
        json_object_set_new(*rec, "sites", acme_db_sites(s, txn, id));
    }
    mdb_txn_abort(txn);
    zs_close(s);
    return err ? no_record(what, id, err) : CTL_OK;
}

int ctl_cert_edit(const ctl_t *c, const char *what, const char *id, zs_store_t **s, zw_t *w,
                  json_t **rec)
{
    char key[ACME_CERT_ID_MAX + 16];
    cert_key(id, key, sizeof(key));
    *s = NULL;
    int rc = ctl_write_begin(c, false, s, w);
    if (rc != CTL_OK) {
        zs_close(*s);
        *s = NULL;
        return rc;
    }
    int err = acme_db_get(*s, w->txn, key, rec);
    if (err) {
        zw_abort(w);
        zs_close(*s);
        *s = NULL;
        return no_record(what, id, err);
    }
    return CTL_OK;
}

int ctl_cert_challenge_arg(const char *arg, bool *http)
{
    if (strcmp(arg, "http-01") != 0 && strcmp(arg, "dns-01") != 0) {
        return ctl_usage("--challenge: \"%s\" is not dns-01 or http-01", arg);
    }
    *http = strcmp(arg, "http-01") == 0;
    return CTL_OK;
}

int ctl_cert_drop_challenges(zw_t *w, json_t *rec, diag_t *d)
{
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(json_object_get(json_object_get(rec, "state"), "order"),
                                       "challenges"),
                       i, ch)
    {
        uint8_t owner[DNAME_MAXLEN + 1];
        zw_zone_t z = {0};
        int err;
        if (strcmp(acme_js(ch, "type"), "http-01") == 0) {
            /* an HTTP-01 key authorization ("http01:<token>"), no TXT record */
            if ((err = acme_http01_del(w->s, w->txn, acme_js(ch, "token"))) != 0) {
                diag_set(d, "http01", 0, "%s", dnsd_strerror(err));
                return err;
            }
            continue;
        }
        if (acme_owner_parse(acme_js(ch, "owner"), owner) > 0 &&
            (err = acme_dns01_del(w, owner, acme_js(ch, "txt"), &z, d)) != 0) {
            return err;
        }
    }
    return 0;
}

/*
 * --challenge-via: the targets of every name ({name without *.: target}),
 * after the store's target secret (made now, in its own commit, when this
 * store has none: the only thing a refused request leaves behind), then
 * the preflight. @return CTL_OK with *@p via set, else CTL_FAIL (printed).
 */
static int via_prepare(ctl_t *c, const char *id, json_t *names, json_t **via)
{
    char vname[300], why[2000];
    if (acme_name_check(c->challenge_via, vname, sizeof(vname), why, sizeof(why)) != 0 ||
        vname[0] == '*') {
        return ctl_err("--challenge-via: %s", vname[0] == '*' ? "no wildcard here" : why);
    }
    struct sockaddr_storage res = {0};
    long long port = 53;
    if (c->resolver && parse_hostport(c->resolver, 53, 1, &res, NULL) != 0) {
        return ctl_usage("--resolver: \"%s\" is not ADDR[:PORT]", c->resolver);
    }
    if (c->ns_port && parse_num(c->ns_port, 1, 65535, &port) != 0) {
        return ctl_usage("--ns-port: \"%s\" is not a port (1..65535)", c->ns_port);
    }
    zs_store_t *s = NULL;
    zw_t w = {0};
    int rc = ctl_write_begin(c, false, &s, &w);
    if (rc != CTL_OK) {
        zs_close(s);
        return rc;
    }
    /* the targets must land in a zone of this store */
    uint8_t vw[DNAME_MAXLEN + 1];
    zw_zone_t z;
    int err = acme_owner_parse(vname, vw);
    if (err > 0 && (err = acme_dns01_zone(s, w.txn, vw, &z)) == DNSD_ENOZONE) {
        zw_abort(&w);
        zs_close(s);
        return ctl_err("--challenge-via %s: no zone in this store holds it (the CNAME targets "
                       "must be names dnsd serves)",
                       vname);
    }
    uint8_t secret[ACME_DELEGATE_SECRET_LEN];
    bool had = err >= 0 && acme_delegate_secret(s, w.txn, false, secret) == 0;
    if (err >= 0 && !had) {
        err = acme_delegate_secret(s, w.txn, true, secret);
        if (err == 0) {
            err = zw_commit(&w, NULL); /* made once: every later target depends on it */
        }
    }
    zw_abort(&w); /* nothing to write when it was there already */
    zs_close(s);
    if (err < 0) {
        return ctl_err("--challenge-via %s: %s", vname, dnsd_strerror(err));
    }
    json_t *targets = json_object();
    size_t i;
    json_t *x;
    json_array_foreach(names, i, x)
    {
        const char *n = json_string_value(x);
        const char *base = strncmp(n, "*.", 2) == 0 ? n + 2 : n;
        char t[300];
        if (acme_delegate_target(secret, id, base, vname, t, sizeof(t)) != 0) {
            json_decref(targets);
            return ctl_err("%s: no CNAME target fits under %s", base, vname);
        }
        json_object_set_new(targets, base, json_string(t));
    }
    char vz[310];
    snprintf(vz, sizeof(vz), "%s.", vname);
    *via = json_pack("{s:s, s:o}", "zone", vz, "targets", targets);
    /* the check dnsd repeats before every order: refused now, nothing stored */
    json_t *req = json_pack("{s:O, s:O}", "names", names, "via", *via);
    err = acme_delegate_check_request(req, &res, (unsigned)port, 2000, why, sizeof(why));
    json_decref(req);
    if (err) {
        json_decref(*via);
        *via = NULL;
        return ctl_err("cert %s: %s%s", id, why,
                       err == DNSD_ENOTFOUND ? "" : " (nothing stored; retry when it answers)");
    }
    return CTL_OK;
}

static int cert_request(ctl_t *c)
{
    int rc = ctl_check_args(c, "cert request",
                            CTL_OPT_KEY | CTL_OPT_ID | CTL_OPT_CA | CTL_OPT_WAIT |
                                CTL_OPT_REUSE_KEY | CTL_OPT_FORCE | CTL_OPT_CHALLENGE |
                                CTL_OPT_CHALLENGE_VIA | CTL_OPT_RESOLVER | CTL_OPT_NS_PORT,
                            1, CERT_NAMES_MAX);
    if (rc != CTL_OK) {
        return rc;
    }
    bool http = false;
    if (c->challenge && (rc = ctl_cert_challenge_arg(c->challenge, &http)) != CTL_OK) {
        return rc;
    }
    if (http && c->challenge_via) {
        return ctl_usage("--challenge-via delegates DNS-01: it does not go with --challenge "
                         "http-01");
    }
    if ((c->resolver || c->ns_port) && !c->challenge_via) {
        return ctl_usage("--resolver and --ns-port go with --challenge-via");
    }
    long wait = ctl_cert_wait_arg(c);
    if (wait == -2) {
        return ctl_usage("--wait: \"%s\" is not a number of seconds (0..86400)", c->wait);
    }
    acme_keytype_t kt = ACME_KEY_NONE;
    if (c->key && (kt = acme_keytype_parse(c->key)) == ACME_KEY_NONE) {
        return ctl_usage("--key: \"%s\" is not ec256|ec384|rsa2048|rsa3072|rsa4096", c->key);
    }
    if (c->ca && strncmp(c->ca, "https://", 8) != 0) {
        return ctl_usage("--ca: \"%s\" is not an https:// directory URL", c->ca);
    }
    /* names: checked, lower-cased, duplicates refused */
    json_t *names = json_array();
    for (int i = 0; i < c->argc; i++) {
        char n[300], why[400];
        if (acme_name_check(c->argv[i], n, sizeof(n), why, sizeof(why)) != 0) {
            json_decref(names);
            return ctl_err("%s", why);
        }
        if (http && n[0] == '*') {
            json_decref(names);
            return ctl_err("%s: a wildcard name cannot be proven with http-01 (RFC 8555 8.3); "
                           "use dns-01", n);
        }
        size_t k;
        json_t *x;
        json_array_foreach(names, k, x)
        {
            if (strcmp(json_string_value(x), n) == 0) {
                json_decref(names);
                return ctl_err("%s: named twice", n);
            }
        }
        json_array_append_new(names, json_string(n));
    }
    char id[ACME_CERT_ID_MAX + 1];
    const char *first = json_string_value(json_array_get(names, 0));
    snprintf(id, sizeof(id), "%s", c->id ? c->id : (strncmp(first, "*.", 2) == 0 ? first + 2 : first));
    if (!acme_cert_id_ok(id)) {
        json_decref(names);
        return ctl_err("--id: \"%s\" is not a certificate id (letters, digits, '.', '-', '_')", id);
    }
    json_t *via = NULL;
    if (c->challenge_via && (rc = via_prepare(c, id, names, &via)) != CTL_OK) {
        json_decref(names);
        return rc;
    }

    zs_store_t *s = NULL;
    zw_t w = {0};
    if ((rc = ctl_write_begin(c, false, &s, &w)) != CTL_OK) {
        json_decref(names);
        json_decref(via);
        zs_close(s);
        return rc;
    }
    /* DNS-01: every name's challenge record must land in a zone of this
     * store (delegated names: their CNAME targets do, checked above);
     * HTTP-01 names may live anywhere (their key authorizations are served
     * by dnsd's http01-listen, wherever the name's DNS is) */
    size_t i;
    json_t *x;
    json_array_foreach(http || via ? NULL : names, i, x)
    {
        uint8_t owner[DNAME_MAXLEN + 1];
        zw_zone_t z;
        const char *n = json_string_value(x);
        if (acme_dns01_owner(n, owner) < 0) {
            rc = ctl_err("%s: name too long for its challenge record", n);
            goto fail;
        }
        int err = acme_dns01_zone(s, w.txn, owner, &z);
        if (err == DNSD_ENOZONE) {
            rc = ctl_err("%s: no zone in this store holds _acme-challenge for it; create the zone "
                         "first (dnsd proves control over DNS-01 from its own zones)",
                         n);
            goto fail;
        }
        if (err) {
            rc = ctl_err("%s: %s", n, dnsd_strerror(err));
            goto fail;
        }
    }
    char key[ACME_CERT_ID_MAX + 16];
    cert_key(id, key, sizeof(key));
    json_t *rec = NULL;
    int err = acme_db_get(s, w.txn, key, &rec);
    if (err && err != DNSD_ENOTFOUND) {
        rc = ctl_err("cert %s: %s", id, dnsd_strerror(err));
        goto fail;
    }
    json_t *old = rec ? json_object_get(rec, "req") : NULL;
    const char *kname = kt != ACME_KEY_NONE ? acme_keytype_name(kt) : "";
    bool same = old && json_equal(json_object_get(old, "names"), names) &&
                strcmp(acme_js(old, "key"), kname) == 0 &&
                strcmp(acme_js(old, "directory"), c->ca ? c->ca : "") == 0 &&
                json_is_true(json_object_get(old, "reuse_key")) ==
                    !!(c->opt_seen & CTL_OPT_REUSE_KEY) &&
                (strcmp(acme_js(old, "challenge"), "http-01") == 0) == http &&
                json_equal(json_object_get(old, "via") ? json_object_get(old, "via") : json_null(),
                           via ? via : json_null());
    long long seq = old ? acme_ji(old, "seq") : 0;
    long long failures = acme_ji(json_object_get(rec, "state"), "failures");
    if (same && !(c->opt_seen & CTL_OPT_FORCE)) {
        printf("cert %s: already requested (%s); --force asks for a new certificate\n", id,
               ctl_cert_status(rec));
        json_decref(rec);
        zw_abort(&w);
        zs_close(s);
        json_decref(names);
        json_decref(via);
        return wait >= 0 ? ctl_cert_wait(c, id, seq, false, wait, failures) : CTL_OK;
    }
    json_decref(rec);
    json_t *req = json_pack("{s:O, s:I, s:I}", "names", names, "seq", (json_int_t)(seq + 1),
                            "created", (json_int_t)time(NULL));
    if (kt != ACME_KEY_NONE) {
        json_object_set_new(req, "key", json_string(kname));
    }
    if (c->ca) {
        json_object_set_new(req, "directory", json_string(c->ca));
    }
    if (c->opt_seen & CTL_OPT_REUSE_KEY) {
        json_object_set_new(req, "reuse_key", json_true());
    }
    if (http) {
        json_object_set_new(req, "challenge", json_string("http-01")); /* absent: dns-01 */
    }
    if (via) {
        json_object_set(req, "via", via);
    }
    err = acme_db_put_half(s, w.txn, key, "req", req, true);
    json_decref(req);
    if (err || (err = zw_commit(&w, NULL)) != 0) {
        rc = ctl_err("cannot commit: %s", dnsd_strerror(err));
        goto fail;
    }
    printf("cert %s: requested for %zu name(s)%s\n", id, json_array_size(names),
           old ? " (replaces the earlier request)" : "");
    const char *vn;
    json_t *vt;
    json_object_foreach(json_object_get(via, "targets"), vn, vt)
    {
        printf("cert %s: %s proven through %s (CNAME checked)\n", id, vn,
               json_string_value(vt));
    }
    zs_close(s);
    json_decref(names);
    json_decref(via);
    return wait >= 0 ? ctl_cert_wait(c, id, seq + 1, false, wait, failures) : CTL_OK;
fail:
    zw_abort(&w);
    zs_close(s);
    json_decref(names);
    json_decref(via);
    return rc;
}

/* renew / revoke: bump a sequence number in the request half */
static int cert_bump(ctl_t *c, bool revoke)
{
    const char *cmd = revoke ? "cert revoke" : "cert renew";
    int rc = ctl_check_args(c, cmd, CTL_OPT_WAIT | (revoke ? CTL_OPT_REASON : 0), 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    long wait = ctl_cert_wait_arg(c);
    if (wait == -2) {
        return ctl_usage("--wait: \"%s\" is not a number of seconds (0..86400)", c->wait);
    }
    long reason = 0;
    if (c->reason) {
        long long r = -1;
        /* RFC 5280 5.3.1; 7 is unused, 8 (removeFromCRL) is for delta CRLs only */
        int bad = parse_num(c->reason, 0, 10, &r) != 0 || r == 7 || r == 8;
        reason = (long)r;
        if (bad) {
            return ctl_usage("--reason: \"%s\" is not an RFC 5280 reason code (0-6, 9, 10; "
                             "e.g. 1 keyCompromise, 4 superseded, 5 cessationOfOperation)",
                             c->reason);
        }
    }
    const char *id = c->argv[0];
    char key[ACME_CERT_ID_MAX + 16];
    cert_key(id, key, sizeof(key));
    zs_store_t *s;
    zw_t w = {0};
    json_t *rec = NULL;
    if ((rc = ctl_cert_edit(c, "cert", id, &s, &w, &rec)) != CTL_OK) {
        return rc;
    }
    int err;
    json_t *req = json_deep_copy(json_object_get(rec, "req"));
    json_t *st = json_object_get(rec, "state");
    long long failures = acme_ji(st, "failures"), seq;
    if (revoke) {
        if (!json_object_get(st, "cert")) {
            json_decref(req);
            json_decref(rec);
            zw_abort(&w);
            zs_close(s);
            return ctl_err("cert %s: no certificate has been issued to revoke", id);
        }
        seq = acme_ji(json_object_get(req, "revoke"), "seq") + 1;
        json_object_set_new(req, "revoke", json_pack("{s:I, s:i}", "seq", (json_int_t)seq,
                                                     "reason", (int)reason));
    } else {
        seq = acme_ji(req, "seq") + 1;
        json_object_set_new(req, "seq", json_integer((json_int_t)seq));
    }
    json_decref(rec);
    err = acme_db_put_half(s, w.txn, key, "req", req, false);
    json_decref(req);
    if (err || (err = zw_commit(&w, NULL)) != 0) {
        zw_abort(&w);
        zs_close(s);
        return ctl_err("cannot commit: %s", dnsd_strerror(err));
    }
    zs_close(s);
    printf("cert %s: %s requested\n", id, revoke ? "revocation" : "renewal");
    return wait >= 0 ? ctl_cert_wait(c, id, seq, revoke, wait, failures) : CTL_OK;
}

static int cert_delete(ctl_t *c)
{
    int rc = ctl_check_args(c, "cert delete", 0, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    const char *id = c->argv[0];
    char key[ACME_CERT_ID_MAX + 16];
    cert_key(id, key, sizeof(key));
    zs_store_t *s;
    zw_t w = {0};
    json_t *rec = NULL;
    if ((rc = ctl_cert_edit(c, "cert", id, &s, &w, &rec)) != CTL_OK) {
        return rc;
    }
    /* an order in flight: its challenge records go in the same transaction */
    diag_t d = {0};
    int err = ctl_cert_drop_challenges(&w, rec, &d);
    json_decref(rec);
    if (!err) {
        err = acme_db_del(s, w.txn, key);
    }
    if (!err) {
        err = acme_db_sites_del(s, w.txn, id); /* cluster nodes' deployment records */
    }
    if (err || (err = zw_commit(&w, &d)) != 0) {
        zw_abort(&w);
        zs_close(s);
        return d.text[0] ? ctl_diag("cannot delete", &d)
                         : ctl_err("cannot commit: %s", dnsd_strerror(err));
    }
    zs_close(s);
    printf("cert %s: deleted (files in dnsd's cert-dir are left in place)\n", id);
    return CTL_OK;
}

char *ctl_cert_names(json_t *names)
{
    size_t cap = 1, i;
    json_t *x;
    json_array_foreach(names, i, x)
    {
        cap += strlen(json_string_value(x)) + 1;
    }
    char *s = xcalloc(1, cap);
    json_array_foreach(names, i, x)
    {
        if (i) {
            strcat(s, ",");
        }
        strcat(s, json_string_value(x));
    }
    return s;
}

/* the record as shown: no private keys, no PEM */
json_t *ctl_cert_view(const char *id, json_t *rec)
{
    json_t *req = json_object_get(rec, "req"), *st = json_object_get(rec, "state");
    json_t *cert = json_object_get(st, "cert"), *ord = json_object_get(st, "order");
    json_t *names = json_object_get(req, "names");
    json_t *o = json_pack("{s:s, s:o, s:s, s:s}", "id", id, "names",
                          names ? json_incref(names) : json_array(), "status", ctl_cert_status(rec),
                          "last_error", acme_js(st, "last_error"));
    json_object_set_new(o, "key_type",
                        json_string(cert ? acme_js(cert, "key_type")
                                         : (*acme_js(req, "key") ? acme_js(req, "key") : "")));
    if (*acme_js(req, "directory")) {
        json_object_set_new(o, "directory", json_string(acme_js(req, "directory")));
    }
    json_object_set_new(o, "challenge", json_string(strcmp(acme_js(req, "challenge"), "http-01")
                                                            ? "dns-01"
                                                            : "http-01"));
    if (cert) {
        json_object_set_new(
            o, "certificate",
            json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "serial", acme_js(cert, "serial"),
                      "issuer", acme_js(cert, "issuer"), "top_issuer",
                      acme_js(cert, "top_issuer"), "not_before",
                      (json_int_t)acme_ji(cert, "not_before"), "not_after",
                      (json_int_t)acme_ji(cert, "not_after"), "order_url",
                      acme_js(cert, "order_url"), "issued", (json_int_t)acme_ji(cert, "issued")));
    }
    if (ord) {
        json_object_set_new(o, "order",
                            json_pack("{s:s, s:s, s:I}", "url", acme_js(ord, "url"), "step",
                                      acme_js(ord, "step"), "started",
                                      (json_int_t)acme_ji(ord, "started")));
    }
    json_t *dep = json_object_get(st, "deploy");
    if (dep) {
        /* files and hooks after the last issuance: {pending, at, ok, hook, error, serial} */
        json_object_set_new(o, "deploy", json_incref(dep));
    }
    json_t *sites = json_object_get(rec, "sites");
    if (json_array_size(sites)) {
        /* cluster: one entry per node that deployed it {node, serial, at,
         * ok, hook, error, health, canary: {serial, ok, at, why} of a rollout's
         * candidate on its canary pool} */
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(sites, i, x)
        {
            json_t *y = json_deep_copy(x);
            json_object_del(y, "probe_at");
            json_array_append_new(a, y);
        }
        json_object_set_new(o, "sites", a);
    }
    json_t *via = json_object_get(req, "via");
    if (via) {
        /* DNS-01 through the customer's CNAME: which name is proven through which target */
        json_t *proofs = json_array();
        const char *vn;
        json_t *vt;
        json_object_foreach(json_object_get(via, "targets"), vn, vt)
        {
            char rr[600];
            acme_delegate_record(vn, json_string_value(vt), rr, sizeof(rr));
            json_array_append_new(proofs, json_pack("{s:s, s:s, s:s}", "name", vn, "target",
                                                    json_string_value(vt), "cname", rr));
        }
        json_object_set_new(o, "challenge_via",
                            json_pack("{s:s, s:o}", "zone", acme_js(via, "zone"), "proofs",
                                      proofs));
    }
    json_object_set_new(o, "failures", json_integer(acme_ji(st, "failures")));
    json_object_set_new(o, "next_try", json_integer(acme_ji(st, "next_try")));
    json_object_set_new(o, "request_seq", json_integer(acme_ji(req, "seq")));
    json_object_set_new(o, "history", json_object_get(st, "history")
                                          ? json_incref(json_object_get(st, "history"))
                                          : json_array());
    return o;
}

bool ctl_cert_deploy_line(json_t *view, char *buf, size_t cap)
{
    return ctl_cert_site_line(json_object_get(view, "deploy"), buf, cap);
}

bool ctl_cert_site_line(json_t *d, char *buf, size_t cap)
{
    if (!d) {
        return false;
    }
    if (json_is_true(json_object_get(d, "pending"))) {
        snprintf(buf, cap, "pending (files and hooks run next)");
        return true;
    }
    char at[40];
    ctl_cert_time(acme_ji(d, "at"), at, sizeof(at));
    const char *hook = acme_js(d, "hook"), *err = acme_js(d, "error");
    snprintf(buf, cap, "%s at %s, serial %s%s%s%s%s", json_is_true(json_object_get(d, "ok"))
                                                          ? "ok"
                                                          : "FAILED",
             at, acme_js(d, "serial"), *hook ? "; " : "", hook, *err ? "; " : "", err);
    return true;
}

void ctl_cert_sites_print(json_t *view, const char *label)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(view, "sites"), i, x)
    {
        char dl[600];
        ctl_cert_site_line(x, dl, sizeof(dl));
        printf("%s%s: %s\n", label, acme_js(x, "node"), dl);
        json_t *h = json_object_get(x, "health");
        size_t k;
        json_t *lb;
        json_array_foreach(json_object_get(h, "lbs"), k, lb)
        {
            printf("%s%s: probe %s %s %s%s%s\n", label, acme_js(x, "node"), acme_js(lb, "lb"),
                   json_is_true(json_object_get(lb, "ok")) ? "ok" : "FAIL",
                   acme_js(lb, "serial"), *acme_js(lb, "error") ? " " : "",
                   acme_js(lb, "error"));
        }
        json_t *c = json_object_get(x, "canary");
        if (c) {
            /* a rollout's candidate on this node's canary pool */
            printf("%s%s: canary %s %s%s%s\n", label, acme_js(x, "node"), acme_js(c, "serial"),
                   json_is_true(json_object_get(c, "ok")) ? "deployed" : "FAILED",
                   *acme_js(c, "why") ? ": " : "", acme_js(c, "why"));
        }
    }
}

typedef struct list_arg {
    ctl_table_t t;
    json_t *all;
    bool json;
} list_arg_t;

static int list_cb(const char *key, json_t *v, void *arg)
{
    list_arg_t *la = arg;
    const char *id = key + strlen(ACME_DB_CERT);
    if (la->json) {
        json_array_append_new(la->all, ctl_cert_view(id, v));
        return 0;
    }
    json_t *st = json_object_get(v, "state"), *cert = json_object_get(st, "cert");
    char *names = ctl_cert_names(json_object_get(json_object_get(v, "req"), "names"));
    char na[40] = "-", left[32] = "-";
    if (cert) {
        long long t = acme_ji(cert, "not_after");
        ctl_cert_time(t, na, sizeof(na));
        snprintf(left, sizeof(left), "%lld", (t - (long long)time(NULL)) / 86400);
    }
    const char *row[6] = {id, ctl_cert_status(v), na, left, names, acme_js(st, "last_error")};
    ctl_table_add(&la->t, row);
    free(names);
    return 0;
}

/* a certificate listing's callback, with the record's "sites" attached */
typedef struct with_sites {
    zs_store_t *s;
    MDB_txn *txn;
    int (*cb)(const char *, json_t *, void *);
    void *arg;
} with_sites_t;

static int with_sites_cb(const char *key, json_t *v, void *arg)
{
    with_sites_t *ws = arg;
    json_object_set_new(v, "sites", acme_db_sites(ws->s, ws->txn, key + strlen(ACME_DB_CERT)));
    return ws->cb(key, v, ws->arg);
}

int ctl_cert_listing(const ctl_t *c, const char *prefix, int (*cb)(const char *, json_t *, void *), void *arg,
                     const ctl_table_t *t, json_t *all)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    int rc = ctl_read_begin(c, &s, &txn);
    if (rc != CTL_OK) {
        zs_close(s);
        return rc;
    }
    int err;
    if (strcmp(prefix, ACME_DB_CERT) == 0) {
        with_sites_t ws = {s, txn, cb, arg};
        err = acme_db_foreach(s, txn, prefix, with_sites_cb, &ws);
    } else {
        err = acme_db_foreach(s, txn, prefix, cb, arg);
    }
    mdb_txn_abort(txn);
    zs_close(s);
    if (err) {
        return ctl_err("cannot read the store: %s", dnsd_strerror(err));
    }
    if (c->json) {
        json_dumpf(all, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        ctl_table_print(t, stdout);
    }
    return CTL_OK;
}

static int cert_list(ctl_t *c)
{
    int rc = ctl_check_args(c, "cert list", CTL_OPT_JSON, 0, 0);
    if (rc != CTL_OK) {
        return rc;
    }
    list_arg_t la = {.json = c->json, .all = json_array()};
    ctl_table_init(&la.t, 6);
    la.t.right[3] = true;
    const char *hdr[6] = {"ID", "STATUS", "NOT AFTER", "DAYS", "NAMES", "LAST ERROR"};
    ctl_table_add(&la.t, hdr);
    rc = ctl_cert_listing(c, ACME_DB_CERT, list_cb, &la, &la.t, la.all);
    ctl_table_fini(&la.t);
    json_decref(la.all);
    return rc;
}

static int cert_show(ctl_t *c)
{
    int rc = ctl_check_args(c, "cert show", CTL_OPT_JSON, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    const char *id = c->argv[0];
    json_t *rec = NULL;
    if ((rc = ctl_cert_load(c, "cert", id, &rec)) != CTL_OK) {
        return rc;
    }
    json_t *v = ctl_cert_view(id, rec);
    json_decref(rec);
    if (c->json) {
        json_dumpf(v, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(v);
        return CTL_OK;
    }
    char *names = ctl_cert_names(json_object_get(v, "names"));
    printf("id:          %s\nnames:       %s\nstatus:      %s\nkey type:    %s\n"
           "challenge:   %s\n",
           id, names, acme_js(v, "status"), acme_js(v, "key_type"), acme_js(v, "challenge"));
    free(names);
    json_t *cert = json_object_get(v, "certificate");
    if (cert) {
        char nb[40], na[40];
        ctl_cert_time(acme_ji(cert, "not_before"), nb, sizeof(nb));
        ctl_cert_time(acme_ji(cert, "not_after"), na, sizeof(na));
        printf("serial:      %s\nissuer:      %s\nchain top:   %s\nnot before:  %s\n"
               "not after:   %s\n",
               acme_js(cert, "serial"), acme_js(cert, "issuer"), acme_js(cert, "top_issuer"), nb,
               na);
    }
    size_t pi;
    json_t *pv;
    json_array_foreach(json_object_get(json_object_get(v, "challenge_via"), "proofs"), pi, pv)
    {
        printf("proven via:  %s through %s\n", acme_js(pv, "name"), acme_js(pv, "cname"));
    }
    json_t *ord = json_object_get(v, "order");
    if (ord) {
        printf("order:       %s (%s)\n", acme_js(ord, "url"), acme_js(ord, "step"));
    }
    if (*acme_js(v, "last_error")) {
        char nt[40];
        ctl_cert_time(acme_ji(v, "next_try"), nt, sizeof(nt));
        printf("last error:  %s\nfailures:    %lld\nnext try:    %s\n", acme_js(v, "last_error"),
               acme_ji(v, "failures"), nt);
    }
    char dl[600];
    if (ctl_cert_deploy_line(v, dl, sizeof(dl))) {
        printf("deployment:  %s\n", dl);
    }
    ctl_cert_sites_print(v, "site ");
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(v, "history"), i, h)
    {
        char at[40];
        ctl_cert_time(acme_ji(h, "at"), at, sizeof(at));
        printf("history:     %s %s serial %s\n", at, acme_js(h, "outcome"), acme_js(h, "serial"));
    }
    json_decref(v);
    return CTL_OK;
}

int ctl_cert(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "request") == 0) {
        return cert_request(c);
    }
    if (strcmp(verb, "renew") == 0) {
        return cert_bump(c, false);
    }
    if (strcmp(verb, "revoke") == 0) {
        return cert_bump(c, true);
    }
    if (strcmp(verb, "delete") == 0) {
        return cert_delete(c);
    }
    if (strcmp(verb, "list") == 0) {
        return cert_list(c);
    }
    if (strcmp(verb, "show") == 0) {
        return cert_show(c);
    }
    return ctl_usage("cert: unknown subcommand \"%s\"", verb);
}

/* the thumbprint of a stored account key ("" when there is none) */
static char *acct_thumbprint(json_t *v)
{
    EVP_PKEY *k = NULL;
    char *tp = NULL;
    if (*acme_js(v, "key") && acme_key_from_pem(acme_js(v, "key"), &k) == 0) {
        tp = acme_jwk_thumbprint(k);
        EVP_PKEY_free(k);
    }
    return tp ? tp : xstrdup("");
}

static const char *acct_status(json_t *v)
{
    if (*acme_js(v, "kid")) {
        return "valid";
    }
    json_t *st = json_object_get(v, "state");
    return acme_ji(st, "deactivate_done") > 0 ? "deactivated" : "unregistered";
}

static int acct_cb(const char *key, json_t *v, void *arg)
{
    list_arg_t *la = arg;
    const char *dir = key + strlen(ACME_DB_ACCOUNT);
    char *contact = NULL;
    size_t i;
    json_t *x;
    size_t cap = 1;
    json_array_foreach(json_object_get(v, "contact"), i, x)
    {
        cap += strlen(json_string_value(x)) + 1;
    }
    contact = xcalloc(1, cap);
    json_array_foreach(json_object_get(v, "contact"), i, x)
    {
        if (i) {
            strcat(contact, ",");
        }
        strcat(contact, json_string_value(x));
    }
    char *tp = acct_thumbprint(v);
    json_t *st = json_object_get(v, "state");
    if (la->json) {
        json_t *ct = json_object_get(v, "contact"), *h = json_object_get(st, "history");
        json_array_append_new(
            la->all, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o}", "directory", dir,
                               "account", acme_js(v, "kid"), "status", acct_status(v), "key_type",
                               acme_js(v, "key_type"), "thumbprint", tp, "contact",
                               ct ? json_incref(ct) : json_array(), "last_error",
                               acme_js(st, "last_error"), "history",
                               h ? json_incref(h) : json_array()));
    } else {
        const char *row[6] = {dir, *acme_js(v, "kid") ? acme_js(v, "kid") : "-", acct_status(v),
                              acme_js(v, "key_type"), contact, acme_js(st, "last_error")};
        ctl_table_add(&la->t, row);
    }
    free(tp);
    free(contact);
    return 0;
}

static int acme_list(ctl_t *c)
{
    int rc = ctl_check_args(c, "acme account", CTL_OPT_JSON, 0, 0);
    if (rc != CTL_OK) {
        return rc;
    }
    list_arg_t la = {.json = c->json, .all = json_array()};
    ctl_table_init(&la.t, 6);
    const char *hdr[6] = {"DIRECTORY", "ACCOUNT", "STATUS", "KEY", "CONTACT", "LAST ERROR"};
    ctl_table_add(&la.t, hdr);
    rc = ctl_cert_listing(c, ACME_DB_ACCOUNT, acct_cb, &la, &la.t, la.all);
    ctl_table_fini(&la.t);
    json_decref(la.all);
    return rc;
}

typedef struct acct_pick {
    const char *want; /* --ca, or NULL: the only account */
    char dir[1100];
    int n;
} acct_pick_t;

static int pick_cb(const char *key, json_t *v, void *arg)
{
    acct_pick_t *p = arg;
    const char *dir = key + strlen(ACME_DB_ACCOUNT);
    (void)v;
    if (!p->want || strcmp(p->want, dir) == 0) {
        snprintf(p->dir, sizeof(p->dir), "%s", dir);
        p->n++;
    }
    return 0;
}

/* acme rollover / deactivate: a request in the account record for dnsd */
static int acme_op(ctl_t *c, bool rollover)
{
    const char *cmd = rollover ? "acme rollover" : "acme deactivate";
    int rc = ctl_check_args(c, cmd, CTL_OPT_CA | CTL_OPT_WAIT | (rollover ? CTL_OPT_KEY : 0), 0, 0);
    if (rc != CTL_OK) {
        return rc;
    }
    long wait = ctl_cert_wait_arg(c);
    if (wait == -2) {
        return ctl_usage("--wait: \"%s\" is not a number of seconds (0..86400)", c->wait);
    }
    if (c->key && acme_keytype_parse(c->key) == ACME_KEY_NONE) {
        return ctl_usage("--key: \"%s\" is not ec256|ec384|rsa2048|rsa3072|rsa4096", c->key);
    }
    zs_store_t *s = NULL;
    zw_t w = {0};
    if ((rc = ctl_write_begin(c, false, &s, &w)) != CTL_OK) {
        zs_close(s);
        return rc;
    }
    acct_pick_t pk = {.want = c->ca};
    acme_db_foreach(s, w.txn, ACME_DB_ACCOUNT, pick_cb, &pk);
    if (pk.n != 1) {
        zw_abort(&w);
        zs_close(s);
        return pk.n == 0 ? ctl_err("no ACME account%s%s (dnsd registers one with the first order)",
                                   c->ca ? " for " : "", c->ca ? c->ca : "")
                         : ctl_err("%d accounts: name one with --ca DIRECTORY_URL", pk.n);
    }
    char key[1200];
    snprintf(key, sizeof(key), ACME_DB_ACCOUNT "%s", pk.dir);
    json_t *rec = NULL;
    int err = acme_db_get(s, w.txn, key, &rec);
    if (err) {
        zw_abort(&w);
        zs_close(s);
        return ctl_err("account %s: %s", pk.dir, dnsd_strerror(err));
    }
    if (!*acme_js(rec, "kid")) {
        json_decref(rec);
        zw_abort(&w);
        zs_close(s);
        return ctl_err("account at %s is not registered (nothing to %s)", pk.dir,
                       rollover ? "roll over" : "deactivate");
    }
    json_t *req = json_object_get(rec, "req") ? json_deep_copy(json_object_get(rec, "req"))
                                              : json_object();
    const char *field = rollover ? "rollover_seq" : "deactivate_seq";
    long long seq = acme_ji(req, field) + 1;
    long long failures = acme_ji(json_object_get(rec, "state"), "failures");
    json_object_set_new(req, field, json_integer((json_int_t)seq));
    if (rollover && c->key) {
        json_object_set_new(req, "rollover_key", json_string(c->key));
    }
    json_decref(rec);
    err = acme_db_put_half(s, w.txn, key, "req", req, false);
    json_decref(req);
    if (err || (err = zw_commit(&w, NULL)) != 0) {
        zw_abort(&w);
        zs_close(s);
        return ctl_err("cannot commit: %s", dnsd_strerror(err));
    }
    zs_close(s);
    printf("account at %s: %s requested\n", pk.dir, rollover ? "key rollover" : "deactivation");
    if (wait < 0) {
        return CTL_OK;
    }
    /* wait for dnsd: the done counter reaches seq, or a new failure */
    const char *done = rollover ? "rollover_done" : "deactivate_done";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        MDB_txn *txn = NULL;
        json_t *r2 = NULL;
        s = NULL;
        if (ctl_read_begin(c, &s, &txn) == CTL_OK) {
            acme_db_get(s, txn, key, &r2);
            mdb_txn_abort(txn);
        }
        zs_close(s);
        json_t *st = json_object_get(r2, "state");
        if (acme_ji(st, done) >= seq) {
            char *tp = acct_thumbprint(r2);
            if (rollover) {
                printf("account at %s: key rolled over, thumbprint %s\n", pk.dir, tp);
            } else {
                printf("account at %s: deactivated\n", pk.dir);
            }
            free(tp);
            json_decref(r2);
            return CTL_OK;
        }
        if (acme_ji(st, "failures") > failures && *acme_js(st, "last_error")) {
            rc = ctl_err("account at %s: %s", pk.dir, acme_js(st, "last_error"));
            json_decref(r2);
            return rc;
        }
        json_decref(r2);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec >= wait) {
            return ctl_err("account at %s: not done after %lds (is dnsd running?)", pk.dir, wait);
        }
        usleep(200 * 1000);
    }
}

int ctl_acme(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "account") == 0) {
        return acme_list(c);
    }
    if (strcmp(verb, "rollover") == 0) {
        return acme_op(c, true);
    }
    if (strcmp(verb, "deactivate") == 0) {
        return acme_op(c, false);
    }
    return ctl_usage("acme: unknown subcommand \"%s\"", verb);
}
