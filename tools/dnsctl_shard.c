/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_shard.c -- `dnsctl shard ...`: regional certificate shards
 * (acme/shard.h). A shard is a certificate request with id DOMAIN@REGION
 * plus the region's load balancers and deploy hook; `shard add` writes the
 * request and the region's pool (A/AAAA of the names) in ONE transaction,
 * and dnsd's ACME thread does the rest: issue, publish TLSA, deploy, probe,
 * renew.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/certdb.h"
#include "acme/dns01.h"
#include "acme/jws.h"
#include "acme/rollout.h"
#include "acme/shard.h"
#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"
#include "zones/regions.h"
#include "zones/rollout.h"

static void shard_id(const char *domain, const char *region, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s@%s", domain, region);
}

/* "a,b,c" -> JSON array of checked, lower-cased names under @p domain */
static int parse_names(const char *list, const char *domain, json_t **out)
{
    json_t *a = json_array();
    char buf[8192];
    snprintf(buf, sizeof(buf), "%s", list);
    size_t dl = strlen(domain);
    for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
        char n[300], why[400];
        if (acme_name_check(t, n, sizeof(n), why, sizeof(why)) != 0) {
            json_decref(a);
            return ctl_err("--names: %s", why);
        }
        const char *base = strncmp(n, "*.", 2) == 0 ? n + 2 : n;
        size_t bl = strlen(base);
        if (!(strcmp(base, domain) == 0 || (bl > dl && base[bl - dl - 1] == '.' &&
                                            strcmp(base + bl - dl, domain) == 0))) {
            json_decref(a);
            return ctl_err("--names: %s is not %s or below it", n, domain);
        }
        size_t i;
        json_t *x;
        json_array_foreach(a, i, x)
        {
            if (strcmp(json_string_value(x), n) == 0) {
                json_decref(a);
                return ctl_err("--names: %s named twice", n);
            }
        }
        json_array_append_new(a, json_string(n));
    }
    if (json_array_size(a) == 0) {
        json_decref(a);
        return ctl_err("--names: no name given");
    }
    *out = a;
    return CTL_OK;
}

static int parse_lbs(const char *list, const char *opt, json_t **out)
{
    json_t *a = json_array();
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
        struct sockaddr_storage ss;
        if (acme_shard_lb_parse(t, &ss) != 0) {
            json_decref(a);
            return ctl_err("%s: \"%s\" is not an address (192.0.2.1, 192.0.2.1:8443, "
                           "[2001:db8::1]:443)",
                           opt, t);
        }
        if (json_array_size(a) == ACME_SHARD_LB_MAX) {
            json_decref(a);
            return ctl_err("%s: at most %d load balancers", opt, ACME_SHARD_LB_MAX);
        }
        json_array_append_new(a, json_string(t));
    }
    *out = a;
    return CTL_OK;
}

/* add (@p create) or set: one transaction with the request and the pool */
/*
 * The hook command with its program made absolute when it is a relative
 * path ("tools/haproxy-deploy --socket S" run from the checkout): dnsd runs
 * hooks from its own working directory. A bare name ("deploy.sh") is found
 * through dnsd's PATH and is left alone; so is an absolute path.
 */
static int hook_absolute(const char *hook, char **out)
{
    const char *p = hook;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    size_t len = strcspn(p, " \t");
    char prog[4096];
    if (len == 0 || p[0] == '/' || memchr(p, '/', len) == NULL || len >= sizeof(prog)) {
        *out = xstrdup(hook);
        return CTL_OK;
    }
    memcpy(prog, p, len);
    prog[len] = '\0';
    char *abs = realpath(prog, NULL);
    if (!abs) {
        return ctl_err("--hook: %s: %s (a relative path is taken from the current directory)",
                       prog, strerror(errno));
    }
    size_t n = strlen(abs) + strlen(p + len) + 1;
    *out = xmalloc(n);
    snprintf(*out, n, "%s%s", abs, p + len);
    free(abs);
    return CTL_OK;
}

static int shard_put(ctl_t *c, bool create)
{
    const char *cmd = create ? "shard add" : "shard set";
    uint64_t opts = CTL_OPT_REGION | CTL_OPT_NAMES | CTL_OPT_LB | CTL_OPT_KEY | CTL_OPT_CA |
                    CTL_OPT_HOOK | CTL_OPT_TTL | CTL_OPT_WAIT | CTL_OPT_ALPN | CTL_OPT_CHALLENGE |
                    CTL_OPT_CANARY_LB | CTL_OPT_CANARY_HOOK | CTL_OPT_ROLLOUT;
    int rc = ctl_check_args(c, cmd, opts, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    bool http = false;
    if (c->challenge && (rc = ctl_cert_challenge_arg(c->challenge, &http)) != CTL_OK) {
        return rc;
    }
    if (!c->region) {
        return ctl_usage("%s needs --region", cmd);
    }
    if (create && !c->names) {
        return ctl_usage("shard add needs --names");
    }
    long wait = ctl_cert_wait_arg(c);
    if (wait == -2) {
        return ctl_usage("--wait: \"%s\" is not a number of seconds (0..86400)", c->wait);
    }
    if (c->key && acme_keytype_parse(c->key) == ACME_KEY_NONE) {
        return ctl_usage("--key: \"%s\" is not ec256|ec384|rsa2048|rsa3072|rsa4096", c->key);
    }
    if (c->ca && strncmp(c->ca, "https://", 8) != 0) {
        return ctl_usage("--ca: \"%s\" is not an https:// directory URL", c->ca);
    }
    long ttl = 0;
    if (c->ttl) {
        long long t;
        if (parse_num(c->ttl, 1, 86400, &t) != 0) {
            return ctl_usage("--ttl: \"%s\" is not seconds from 1 to 86400", c->ttl);
        }
        ttl = (long)t;
    }
    char domain[300], why[400];
    if (acme_name_check(c->argv[0], domain, sizeof(domain), why, sizeof(why)) != 0 ||
        domain[0] == '*') {
        return ctl_err("shard: %s", domain[0] == '*' ? "the domain cannot be a wildcard" : why);
    }
    json_t *names = NULL, *lbs = NULL;
    if (c->names && (rc = parse_names(c->names, domain, &names)) != CTL_OK) {
        return rc;
    }
    if (c->lb && (rc = parse_lbs(c->lb, "--lb", &lbs)) != CTL_OK) {
        json_decref(names);
        return rc;
    }
    json_t *clbs = NULL;
    if (c->canary_lb && *c->canary_lb &&
        (rc = parse_lbs(c->canary_lb, "--canary-lb", &clbs)) != CTL_OK) {
        json_decref(names);
        json_decref(lbs);
        return rc;
    }
    if (c->rollout && strcmp(c->rollout, "adaptive") != 0 && strcmp(c->rollout, "off") != 0) {
        json_decref(names);
        json_decref(lbs);
        json_decref(clbs);
        return ctl_usage("--rollout: \"%s\" is not adaptive|off", c->rollout);
    }
    zs_store_t *s = NULL;
    zw_t w = {0};
    json_t *rec = NULL, *req = NULL;
    if ((rc = ctl_write_begin(c, false, &s, &w)) != CTL_OK) {
        goto out;
    }
    zw_zone_t z;
    if ((rc = ctl_zone_get(s, w.txn, domain, &z)) != CTL_OK) {
        goto out;
    }
    uint16_t rid;
    if ((rc = ctl_region_get(s, w.txn, c->region, &rid)) != CTL_OK) {
        goto out;
    }
    char id[ACME_CERT_ID_MAX + 1], key[ACME_CERT_ID_MAX + 16];
    shard_id(domain, c->region, id, sizeof(id));
    snprintf(key, sizeof(key), ACME_DB_CERT "%s", id);
    int err = acme_db_get(s, w.txn, key, &rec);
    if (create && err == 0) {
        rc = ctl_err("shard %s exists (change it with `shard set`)", id);
        goto out;
    }
    if (!create && err) {
        rc = ctl_err("shard %s: %s", id, err == DNSD_ENOTFOUND ? "no such shard" : dnsd_strerror(err));
        goto out;
    }
    if (err && err != DNSD_ENOTFOUND) {
        rc = ctl_err("shard %s: %s", id, dnsd_strerror(err));
        goto out;
    }
    req = rec ? json_deep_copy(json_object_get(rec, "req")) : json_object();
    json_t *sh = acme_shard_of(req);
    if (!sh) {
        sh = json_pack("{s:s, s:s, s:[]}", "domain", domain, "region", c->region, "lb");
        json_object_set_new(req, "shard", sh);
    }
    /* changes that need a new certificate bump the request's sequence */
    bool reissue = create;
    if (names) {
        reissue = reissue || !json_equal(json_object_get(req, "names"), names);
        json_object_set(req, "names", names);
    }
    if (c->key) {
        reissue = reissue || strcmp(acme_js(req, "key"), c->key) != 0;
        json_object_set_new(req, "key", json_string(c->key));
    }
    if (c->ca) {
        reissue = reissue || strcmp(acme_js(req, "directory"), c->ca) != 0;
        json_object_set_new(req, "directory", json_string(c->ca));
    }
    if (c->challenge) {
        /* a shard may choose HTTP-01 (answered by any node's http01-listen) */
        bool was = strcmp(acme_js(req, "challenge"), "http-01") == 0;
        reissue = reissue || was != http;
        if (http) {
            json_object_set_new(req, "challenge", json_string("http-01"));
        } else {
            json_object_del(req, "challenge"); /* absent: dns-01 */
        }
    }
    http = strcmp(acme_js(req, "challenge"), "http-01") == 0;
    if (lbs) {
        json_object_set(sh, "lb", lbs);
    }
    if (c->hook) {
        /* dnsd runs the hook in its own working directory: a relative
         * program path ("tools/haproxy-deploy ...") is made absolute here */
        char *hook = NULL;
        if ((rc = hook_absolute(c->hook, &hook)) != CTL_OK) {
            goto out;
        }
        json_object_set_new(sh, "hook", json_string(hook));
        free(hook);
    }
    if (c->canary_lb) {
        /* acme/rollout.h: "" removes the canary pool (no more rollouts) */
        if (clbs) {
            json_object_set(sh, "canary_lb", clbs);
        } else {
            json_object_del(sh, "canary_lb");
        }
    }
    if (c->canary_hook) {
        char *hook = NULL;
        if ((rc = hook_absolute(c->canary_hook, &hook)) != CTL_OK) {
            goto out;
        }
        json_object_set_new(sh, "canary_hook", json_string(hook));
        free(hook);
    }
    if (c->rollout) {
        json_object_set_new(sh, "rollout", json_string(c->rollout));
    }
    if (*acme_js(sh, "canary_hook") && !json_array_size(json_object_get(sh, "canary_lb"))) {
        rc = ctl_err("--canary-hook without a canary pool (--canary-lb)");
        goto out;
    }
    if (ttl) {
        json_object_set_new(sh, "ttl", json_integer(ttl));
    }
    if (c->alpn) {
        json_object_set_new(sh, "alpn", json_string(c->alpn)); /* "" removes the HTTPS records */
    }
    long long seq = acme_ji(req, "seq") + (reissue ? 1 : 0);
    long long failures = acme_ji(json_object_get(rec, "state"), "failures");
    json_object_set_new(req, "seq", json_integer((json_int_t)seq));
    if (create) {
        json_object_set_new(req, "created", json_integer((json_int_t)time(NULL)));
    }
    /* DNS-01: every name's challenge record lands in a zone of this store;
     * HTTP-01: no wildcard (RFC 8555 8.3), any name */
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(req, "names"), i, x)
    {
        uint8_t owner[DNAME_MAXLEN + 1];
        zw_zone_t cz;
        if (http && json_string_value(x)[0] == '*') {
            rc = ctl_err("%s: a wildcard name cannot be proven with http-01 (RFC 8555 8.3); "
                         "use dns-01", json_string_value(x));
            goto out;
        }
        if (http) {
            continue;
        }
        if (acme_dns01_owner(json_string_value(x), owner) < 0 ||
            acme_dns01_zone(s, w.txn, owner, &cz) != 0) {
            rc = ctl_err("%s: no zone in this store holds its _acme-challenge name",
                         json_string_value(x));
            goto out;
        }
    }
    diag_t d = {0};
    /* the pool now (with the TLSA set the shard already has, if any) */
    if ((err = acme_shard_records(&w, req, json_object_get(rec, "state"), &d)) != 0) {
        rc = ctl_diag("refused", &d);
        goto out;
    }
    if ((err = acme_db_put_half(s, w.txn, key, "req", req, true)) != 0 ||
        (err = zw_commit(&w, &d)) != 0) {
        rc = d.text[0] ? ctl_diag("refused", &d) : ctl_err("cannot commit: %s", dnsd_strerror(err));
        goto out;
    }
    printf("shard %s: %s (%zu name(s), %zu load balancer(s))%s\n", id, create ? "added" : "changed",
           json_array_size(json_object_get(req, "names")),
           json_array_size(json_object_get(sh, "lb")), reissue ? "; a certificate is requested" : "");
    rc = CTL_OK;
    if (wait >= 0 && reissue) {
        zs_close(s);
        s = NULL;
        rc = ctl_cert_wait(c, id, seq, false, wait, failures);
    }
out:
    zw_abort(&w);
    zs_close(s);
    json_decref(rec);
    json_decref(req);
    json_decref(names);
    json_decref(lbs);
    json_decref(clbs);
    return rc;
}

static int keys_cb(const char *key, json_t *v, void *arg)
{
    (void)v;
    json_array_append_new(arg, json_string(key));
    return 0;
}

/* a deleted shard's rollout (acme/rollout.h): the split entry, the rollout record and its log */
static int rollout_drop(zs_store_t *s, zw_t *w, json_t *req, const char *id, diag_t *d)
{
    json_t *sh = acme_shard_of(req);
    zw_zone_t z;
    uint16_t region;
    int err = 0;
    if (ctl_zone_get(s, w->txn, acme_js(sh, "domain"), &z) == CTL_OK &&
        zs_region_id(s, w->txn, acme_js(sh, "region"), &region) == 0) {
        err = zw_rollout_del(w, &z, region);
        if (err == DNSD_ENOTFOUND) {
            err = 0;
        } else if (err) {
            diag_set(d, "rollout", 0, "cannot delete the split entry: %s", dnsd_strerror(err));
            return err;
        }
    }
    char prefix[ACME_CERT_ID_MAX + 32];
    json_t *keys = json_array();
    snprintf(prefix, sizeof(prefix), ACME_DB_ROLLOUT "%s", id);
    json_array_append_new(keys, json_string(prefix));
    snprintf(prefix, sizeof(prefix), ACME_DB_ROLLOUT_LOG "%s:", id);
    acme_db_foreach(s, w->txn, prefix, keys_cb, keys);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        int e = acme_db_del(s, w->txn, json_string_value(k));
        if (e && e != DNSD_ENOTFOUND) {
            err = e;
            diag_set(d, "rollout", 0, "cannot delete %s: %s", json_string_value(k),
                     dnsd_strerror(e));
            break;
        }
    }
    json_decref(keys);
    return err;
}

static int shard_del(ctl_t *c)
{
    int rc = ctl_check_args(c, "shard del", CTL_OPT_REGION, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    if (!c->region) {
        return ctl_usage("shard del needs --region");
    }
    char id[ACME_CERT_ID_MAX + 1], key[ACME_CERT_ID_MAX + 16];
    shard_id(c->argv[0], c->region, id, sizeof(id));
    snprintf(key, sizeof(key), ACME_DB_CERT "%s", id);
    zs_store_t *s;
    zw_t w = {0};
    json_t *rec = NULL;
    if ((rc = ctl_cert_edit(c, "shard", id, &s, &w, &rec)) != CTL_OK) {
        return rc;
    }
    int err;
    diag_t d = {0};
    /* the region's records, an order's challenge records, a rollout's
     * split entry and records, the record: one txn */
    if ((err = acme_shard_write(&w, json_object_get(rec, "req"), NULL, true, &d)) != 0 ||
        (err = ctl_cert_drop_challenges(&w, rec, &d)) != 0 ||
        (err = rollout_drop(s, &w, json_object_get(rec, "req"), id, &d)) != 0) {
        rc = ctl_diag("cannot delete", &d);
        goto out;
    }
    if ((err = acme_db_del(s, w.txn, key)) != 0 ||
        (err = acme_db_sites_del(s, w.txn, id)) != 0 || (err = zw_commit(&w, &d)) != 0) {
        rc = d.text[0] ? ctl_diag("cannot delete", &d)
                       : ctl_err("cannot commit: %s", dnsd_strerror(err));
        goto out;
    }
    printf("shard %s: deleted with its region records (bundle files are left in place)\n", id);
    rc = CTL_OK;
out:
    zw_abort(&w);
    zs_close(s);
    json_decref(rec);
    return rc;
}

/* the shard's state word: pending, valid, renewing, rolling-out, failed (or revoked) */
static const char *shard_state(json_t *rec)
{
    const char *st = ctl_cert_status(rec);
    bool has = json_object_get(json_object_get(rec, "state"), "cert") != NULL;
    if (json_object_get(json_object_get(rec, "state"), "candidate")) {
        return "rolling-out"; /* a new certificate on the canary pool (`rollout status`) */
    }
    if (strcmp(st, "ordering") == 0 || strcmp(st, "requested") == 0) {
        return has ? "renewing" : "pending";
    }
    return st;
}

typedef struct slist {
    const ctl_t *c;
    const char *domain; /* filter, or NULL */
    const char *region; /* filter, or NULL */
    ctl_table_t t;
    json_t *all;
    bool status;
    json_t *ids; /* shard renew: the ids matched */
    ctl_table_t sites; /* status: one row per shard and cluster node */
    int nsites;
} slist_t;

static json_t *shard_view(const char *id, json_t *rec)
{
    json_t *v = ctl_cert_view(id, rec);
    json_t *req = json_object_get(rec, "req"), *st = json_object_get(rec, "state");
    json_t *sh = acme_shard_of(req), *ss = json_object_get(st, "shard");
    json_object_set_new(v, "domain", json_string(acme_js(sh, "domain")));
    json_object_set_new(v, "region", json_string(acme_js(sh, "region")));
    json_object_set_new(v, "lb", json_incref(json_object_get(sh, "lb")));
    json_object_set_new(v, "hook", json_string(acme_js(sh, "hook")));
    json_object_set_new(v, "canary_lb", json_incref(json_object_get(sh, "canary_lb")
                                                        ? json_object_get(sh, "canary_lb")
                                                        : json_array()));
    json_object_set_new(v, "rollout", json_string(json_array_size(json_object_get(sh, "canary_lb"))
                                                      ? (*acme_js(sh, "rollout")
                                                             ? acme_js(sh, "rollout")
                                                             : "adaptive")
                                                      : "off"));
    json_object_set_new(v, "state", json_string(shard_state(rec)));
    json_object_set_new(v, "renew_at", json_integer(acme_ji(st, "renew_at")));
    if (ss) {
        json_object_set_new(v, "tlsa", json_incref(json_object_get(ss, "tlsa")));
        json_object_set_new(v, "generation", json_integer(acme_ji(ss, "gen")));
        json_t *h = json_object_get(ss, "health");
        json_object_set_new(v, "health", h ? json_incref(h) : json_object());
    }
    json_t *sites = json_object_get(rec, "sites");
    if (json_array_size(sites) && !json_object_size(json_object_get(v, "health"))) {
        /* cluster: healthy when every node deployed it and found its load balancers so */
        bool ok = true;
        size_t i;
        json_t *x;
        json_array_foreach(sites, i, x)
        {
            json_t *h = json_object_get(x, "health");
            ok = ok && json_is_true(json_object_get(x, "ok")) &&
                 (!h || json_is_true(json_object_get(h, "healthy")));
        }
        json_object_set_new(v, "health", json_pack("{s:b, s:I}", "healthy", ok, "sites",
                                                   (json_int_t)json_array_size(sites)));
    }
    return v;
}

static int slist_cb(const char *key, json_t *rec, void *arg)
{
    slist_t *sl = arg;
    json_t *req = json_object_get(rec, "req");
    json_t *sh = acme_shard_of(req);
    if (!sh || (sl->domain && strcmp(acme_js(sh, "domain"), sl->domain) != 0) ||
        (sl->region && strcmp(acme_js(sh, "region"), sl->region) != 0)) {
        return 0;
    }
    const char *id = key + strlen(ACME_DB_CERT);
    if (sl->ids) {
        json_array_append_new(sl->ids, json_pack("{s:s, s:I, s:I}", "id", id, "seq",
                                                 (json_int_t)acme_ji(req, "seq"), "failures",
                                                 (json_int_t)acme_ji(json_object_get(rec, "state"),
                                                                     "failures")));
        return 0;
    }
    if (sl->c->json) {
        json_array_append_new(sl->all, shard_view(id, rec));
        return 0;
    }
    json_t *st = json_object_get(rec, "state"), *cert = json_object_get(st, "cert");
    json_t *health = json_object_get(json_object_get(st, "shard"), "health");
    json_t *sites = json_object_get(rec, "sites");
    bool sites_ok = true;
    size_t si;
    json_t *site;
    json_array_foreach(sites, si, site)
    {
        /* cluster: healthy when every site that probed found it so */
        json_t *h = json_object_get(site, "health");
        sites_ok = sites_ok && (!h || json_is_true(json_object_get(h, "healthy"))) &&
                   json_is_true(json_object_get(site, "ok"));
        if (sl->status) {
            char dep[40] = "-", probe[16] = "-";
            ctl_cert_time(acme_ji(site, "at"), dep, sizeof(dep));
            if (h) {
                snprintf(probe, sizeof(probe), "%s",
                         json_is_true(json_object_get(h, "healthy")) ? "healthy" : "UNHEALTHY");
            }
            char errcol[700] = "";
            if (!json_is_true(json_object_get(site, "ok"))) {
                snprintf(errcol, sizeof(errcol), "deployment failed: %s%s%s",
                         acme_js(site, "hook"),
                         *acme_js(site, "error") && *acme_js(site, "hook") ? "; " : "",
                         acme_js(site, "error"));
            } else {
                size_t k;
                json_t *lb;
                json_array_foreach(json_object_get(h, "lbs"), k, lb)
                {
                    if (!errcol[0] && !json_is_true(json_object_get(lb, "ok"))) {
                        snprintf(errcol, sizeof(errcol), "%s: %s", acme_js(lb, "lb"),
                                 acme_js(lb, "error"));
                    }
                }
            }
            const char *row[7] = {acme_js(site, "node"), acme_js(sh, "region"),
                                  acme_js(sh, "domain"), acme_js(site, "serial"), dep, probe,
                                  errcol};
            ctl_table_add(&sl->sites, row);
            sl->nsites++;
        }
    }
    char *names = ctl_cert_names(json_object_get(req, "names"));
    char exp[64] = "-", next[40] = "-", hl[16] = "-";
    if (cert) {
        long long na = acme_ji(cert, "not_after");
        char t[40];
        ctl_cert_time(na, t, sizeof(t));
        snprintf(exp, sizeof(exp), "%.10s (%lldd)", t, (na - (long long)time(NULL)) / 86400);
        ctl_cert_time(acme_ji(st, "renew_at"), next, sizeof(next));
    }
    if (health) {
        snprintf(hl, sizeof(hl), "%s", json_is_true(json_object_get(health, "healthy"))
                                           ? "healthy"
                                           : "UNHEALTHY");
    } else if (json_array_size(sites)) {
        snprintf(hl, sizeof(hl), "%s", sites_ok ? "healthy" : "UNHEALTHY");
    }
    if (sl->status) {
        /* the last error, else a failed deployment (a hook exiting non-zero) */
        char errcol[700];
        json_t *dep = json_object_get(st, "deploy");
        snprintf(errcol, sizeof(errcol), "%s", acme_js(st, "last_error"));
        if (!errcol[0] && dep && !json_is_true(json_object_get(dep, "pending")) &&
            !json_is_true(json_object_get(dep, "ok"))) {
            snprintf(errcol, sizeof(errcol), "deployment failed: %s%s%s", acme_js(dep, "hook"),
                     *acme_js(dep, "error") && *acme_js(dep, "hook") ? "; " : "",
                     acme_js(dep, "error"));
        }
        const char *row[8] = {acme_js(sh, "region"), acme_js(sh, "domain"), names, exp,
                              shard_state(rec), hl, next, errcol};
        ctl_table_add(&sl->t, row);
    } else {
        char *lbs = ctl_cert_names(json_object_get(sh, "lb"));
        const char *row[6] = {id, acme_js(sh, "region"), shard_state(rec), names, lbs,
                              acme_js(sh, "hook")};
        ctl_table_add(&sl->t, row);
        free(lbs);
    }
    free(names);
    return 0;
}

static int shard_list(ctl_t *c, bool status)
{
    const char *cmd = status ? "shard status" : "shard list";
    int rc = ctl_check_args(c, cmd, CTL_OPT_JSON | CTL_OPT_DOMAIN, 0, 0);
    if (rc != CTL_OK) {
        return rc;
    }
    slist_t sl = {.c = c, .domain = c->domain, .all = json_array(), .status = status};
    ctl_table_init(&sl.sites, 7);
    const char *shdr[7] = {"SITE", "REGION", "DOMAIN", "SERIAL", "DEPLOYED", "PROBES", "ERROR"};
    ctl_table_add(&sl.sites, shdr);
    if (status) {
        ctl_table_init(&sl.t, 8);
        const char *hdr[8] = {"REGION", "DOMAIN", "NAMES", "EXPIRES", "STATE", "HEALTH",
                              "NEXT RENEWAL", "LAST ERROR"};
        ctl_table_add(&sl.t, hdr);
    } else {
        ctl_table_init(&sl.t, 6);
        const char *hdr[6] = {"SHARD", "REGION", "STATE", "NAMES", "LOAD BALANCERS", "HOOK"};
        ctl_table_add(&sl.t, hdr);
    }
    rc = ctl_cert_listing(c, ACME_DB_CERT, slist_cb, &sl, &sl.t, sl.all);
    if (rc == CTL_OK && !c->json && sl.nsites) {
        /* cluster: what each node (site) deployed and saw of its load balancers */
        fputc('\n', stdout);
        ctl_table_print(&sl.sites, stdout);
    }
    ctl_table_fini(&sl.sites);
    ctl_table_fini(&sl.t);
    json_decref(sl.all);
    return rc;
}

static int shard_show(ctl_t *c)
{
    int rc = ctl_check_args(c, "shard show", CTL_OPT_REGION | CTL_OPT_JSON, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    if (!c->region) {
        return ctl_usage("shard show needs --region");
    }
    char id[ACME_CERT_ID_MAX + 1];
    shard_id(c->argv[0], c->region, id, sizeof(id));
    json_t *rec = NULL;
    if ((rc = ctl_cert_load(c, "shard", id, &rec)) != CTL_OK) {
        return rc;
    }
    json_t *v = shard_view(id, rec);
    json_decref(rec);
    if (c->json) {
        json_dumpf(v, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        char *names = ctl_cert_names(json_object_get(v, "names"));
        char *lbs = ctl_cert_names(json_object_get(v, "lb"));
        char *tlsa = ctl_cert_names(json_object_get(v, "tlsa"));
        json_t *cert = json_object_get(v, "certificate");
        char na[40], next[40];
        ctl_cert_time(acme_ji(cert, "not_after"), na, sizeof(na));
        ctl_cert_time(acme_ji(v, "renew_at"), next, sizeof(next));
        printf("shard:        %s\nnames:        %s\nstate:        %s\nload bal.:    %s\n"
               "serial:       %s\nnot after:    %s\nnext renewal: %s\ngeneration:   %lld\n"
               "TLSA 3 1 1:   %s\nhealthy:      %s\nlast error:   %s\n",
               id, names, acme_js(v, "state"), lbs, acme_js(cert, "serial"), na, next,
               acme_ji(v, "generation"), tlsa,
               json_is_true(json_object_get(json_object_get(v, "health"), "healthy")) ? "yes"
                                                                                     : "no",
               acme_js(v, "last_error"));
        printf("challenge:    %s\n", acme_js(v, "challenge"));
        if (json_array_size(json_object_get(v, "canary_lb"))) {
            char *clbs = ctl_cert_names(json_object_get(v, "canary_lb"));
            printf("canary pool:  %s (rollout %s)\n", clbs, acme_js(v, "rollout"));
            free(clbs);
        }
        char dl[600];
        if (ctl_cert_deploy_line(v, dl, sizeof(dl))) {
            printf("deployment:   %s\n", dl);
        }
        ctl_cert_sites_print(v, "site ");
        size_t i;
        json_t *lb;
        json_array_foreach(json_object_get(json_object_get(v, "health"), "lbs"), i, lb)
        {
            printf("probe:        %s %s %s%s\n", acme_js(lb, "lb"),
                   json_is_true(json_object_get(lb, "ok")) ? "ok" : "FAIL",
                   acme_js(lb, "serial"), *acme_js(lb, "error") ? acme_js(lb, "error") : "");
        }
        free(names);
        free(lbs);
        free(tlsa);
    }
    json_decref(v);
    return CTL_OK;
}

/* shard renew R [--domain D]: a new certificate for each of region R's shards */
static int shard_renew(ctl_t *c)
{
    int rc = ctl_check_args(c, "shard renew", CTL_OPT_DOMAIN | CTL_OPT_WAIT, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    long wait = ctl_cert_wait_arg(c);
    if (wait == -2) {
        return ctl_usage("--wait: \"%s\" is not a number of seconds (0..86400)", c->wait);
    }
    zs_store_t *s = NULL;
    zw_t w = {0};
    if ((rc = ctl_write_begin(c, false, &s, &w)) != CTL_OK) {
        zs_close(s);
        return rc;
    }
    slist_t sl = {.c = c, .domain = c->domain, .region = c->argv[0], .ids = json_array()};
    int err = acme_db_foreach(s, w.txn, ACME_DB_CERT, slist_cb, &sl);
    size_t i;
    json_t *x;
    json_array_foreach(sl.ids, i, x)
    {
        if (err) {
            break;
        }
        char key[ACME_CERT_ID_MAX + 16];
        snprintf(key, sizeof(key), ACME_DB_CERT "%s", acme_js(x, "id"));
        json_t *rec = NULL;
        if ((err = acme_db_get(s, w.txn, key, &rec)) != 0) {
            break;
        }
        json_t *req = json_deep_copy(json_object_get(rec, "req"));
        json_object_set_new(req, "seq", json_integer(acme_ji(req, "seq") + 1));
        json_object_set_new(x, "seq", json_integer(acme_ji(req, "seq")));
        err = acme_db_put_half(s, w.txn, key, "req", req, false);
        json_decref(req);
        json_decref(rec);
    }
    if (!err && json_array_size(sl.ids) == 0) {
        zw_abort(&w);
        zs_close(s);
        json_decref(sl.ids);
        return ctl_err("no shard in region %s%s%s", c->argv[0], c->domain ? " for " : "",
                       c->domain ? c->domain : "");
    }
    if (err || (err = zw_commit(&w, NULL)) != 0) {
        zw_abort(&w);
        zs_close(s);
        json_decref(sl.ids);
        return ctl_err("cannot commit: %s", dnsd_strerror(err));
    }
    zs_close(s);
    rc = CTL_OK;
    json_array_foreach(sl.ids, i, x)
    {
        printf("shard %s: renewal requested\n", acme_js(x, "id"));
    }
    json_array_foreach(sl.ids, i, x)
    {
        if (wait >= 0 && ctl_cert_wait(c, acme_js(x, "id"), acme_ji(x, "seq"), false, wait,
                                       acme_ji(x, "failures")) != CTL_OK) {
            rc = CTL_FAIL;
        }
    }
    json_decref(sl.ids);
    return rc;
}

int ctl_shard(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "add") == 0) {
        return shard_put(c, true);
    }
    if (strcmp(verb, "set") == 0) {
        return shard_put(c, false);
    }
    if (strcmp(verb, "del") == 0) {
        return shard_del(c);
    }
    if (strcmp(verb, "list") == 0) {
        return shard_list(c, false);
    }
    if (strcmp(verb, "status") == 0) {
        return shard_list(c, true);
    }
    if (strcmp(verb, "show") == 0) {
        return shard_show(c);
    }
    if (strcmp(verb, "renew") == 0) {
        return shard_renew(c);
    }
    return ctl_usage("shard: unknown subcommand \"%s\"", verb);
}
