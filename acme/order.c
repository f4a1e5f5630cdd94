/* SPDX-License-Identifier: MIT */
/*
 * order.c -- the steps of one certificate order (RFC 8555 7.4), each a few
 * HTTP exchanges that change the step's working set (step_t) for the
 * worker to persist in one transaction: newOrder, the authorizations and
 * their challenge TXT records (identifiers checked against the names
 * ordered), the visibility check, answering and polling, finalize,
 * download, revocation. Called by worker.c; blocking calls bounded by
 * acme-http-timeout (HTTP) and the DNS query timeouts (dns01.c).
 */
#include "acme/order.h"
#include "acme/order_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "acme/certdb.h"
#include "acme/client.h"
#include "acme/csr.h"
#include "acme/delegate.h"
#include "acme/dns01.h"
#include "acme/metrics.h"
#include "acme/shard.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"

const char *ord_cert_dir_url(acme_worker_t *w, json_t *req)
{
    const char *d = acme_js(req, "directory");
    return *d ? d : w->cfg.directory;
}

json_t *ord_order_of(step_t *st)
{
    return json_object_get(st->state, "order");
}

static void txt_op(json_t *list, const char *owner, const char *value)
{
    json_array_append_new(list, json_pack("[s, s]", owner, value));
}

/* every challenge's record (TXT, or HTTP-01 key authorization) goes when the order ends */
void ord_txt_remove_all(step_t *st)
{
    json_t *o = ord_order_of(st);
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(o, "challenges"), i, ch)
    {
        if (ord_ch_is_http(ch)) {
            json_array_append_new(st->http_del, json_string(acme_js(ch, "token")));
        } else {
            txt_op(st->txt_del, acme_js(ch, "owner"), acme_js(ch, "txt"));
        }
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

int ord_step_new_order(acme_worker_t *w, step_t *st)
{
    ca_t *ca;
    const char *dir = ord_cert_dir_url(w, st->req);
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
    /* DNS-01 through the customer's CNAME: checked before every new order
     * (renewals too), so a CNAME that went away fails with the record to add */
    char why[1600];
    int err = acme_delegate_check_request(st->req, &w->cfg.resolver, w->cfg.delegation_ns_port,
                                          2000, why, sizeof(why));
    if (err) {
        snprintf(st->err, sizeof(st->err), "challenge delegation: %s", why);
        return err == DNSD_ENET ? STEP_TRANSIENT : STEP_FAIL;
    }
    int rc = ord_ca_ready(w, dir, &ca, st);
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
        return ord_client_failure(st, ca->c, "newOrder");
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
    set_str(o, "challenge", ord_challenge_type(st->req)); /* a change restarts the order */
    json_object_set_new(st->state, "order", o);
    set_str(st->state, "status", "ordering");
    w->st.orders++;
    ACME_METRIC_INC(orders);
    log_info("acme: %s: order %s for %zu name(s)", st->id, loc, json_array_size(names));
    return STEP_NEXT;
}

/* the client of an order in flight (its CA), account ready */
static int order_ca(acme_worker_t *w, step_t *st, ca_t **ca)
{
    return ord_ca_ready(w, acme_js(ord_order_of(st), "directory"), ca, st);
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
    json_t *o = ord_order_of(st);
    char *tp = acme_jwk_thumbprint(ca->key);
    if (!tp) {
        snprintf(st->err, sizeof(st->err), "cannot compute the account key thumbprint");
        return STEP_FAIL;
    }
    json_t *chs = json_array();
    size_t i;
    json_t *u;
    bool http = strcmp(ord_challenge_type(st->req), "http-01") == 0;
    rc = STEP_NEXT;
    json_array_foreach(json_object_get(o, "authzs"), i, u)
    {
        json_t *az = NULL;
        acme_resp_t r;
        if (acme_client_post_json(ca->c, json_string_value(u), NULL, &az, &r) != 0) {
            rc = ord_client_failure(st, ca->c, "authorization");
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
        if (http) {
            json_t *hc = ord_http01_challenge(st, az, u, name, tp);
            json_decref(az);
            if (!hc) {
                rc = STEP_FAIL;
                break;
            }
            json_array_append_new(chs, hc);
            continue;
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
        /* _acme-challenge.<name>, or the CNAME target of a delegated name */
        if (acme_challenge_owner(st->req, name, owner, ownertxt, sizeof(ownertxt)) < 0) {
            snprintf(st->err, sizeof(st->err), "no challenge owner for %s", name);
            json_decref(az);
            rc = STEP_FAIL;
            break;
        }
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
        json_array_clear(st->http_add);
        return rc;
    }
    json_object_set_new(o, "challenges", chs);
    if (json_array_size(json_object_get(o, "challenges")) == 0) {
        set_str(o, "step", "responded"); /* every authorization valid already */
    } else {
        set_str(o, "step", "published");
        set_int(o, "published", acme_worker_now(w));
        log_info("acme: %s: %zu challenge %s record(s) written", st->id,
                 json_array_size(json_object_get(o, "challenges")), http ? "HTTP-01" : "TXT");
    }
    return STEP_NEXT;
}

/* the same IP address, whatever the port */
static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) {
        return false;
    }
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
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

/*
 * Published: is every TXT value served by every authoritative server we can
 * reach? Ourselves on each listen address always (a failure there is ours
 * and blocks), and the zone's NS hosts whose addresses we know (one that
 * does not answer authoritatively is logged and skipped: we cannot reach
 * it). Then answer the challenges.
 */
/* Is string @p v in JSON array @p a? */
static bool json_str_in(json_t *a, const char *v)
{
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x)
    {
        if (json_is_string(x) && strcmp(json_string_value(x), v) == 0) {
            return true;
        }
    }
    return false;
}

static int step_check(acme_worker_t *w, step_t *st)
{
    json_t *o = ord_order_of(st);
    time_t now = acme_worker_now(w);
    time_t published = (time_t)acme_ji(o, "published");
    if (now < published + w->cfg.challenge_delay_s) {
        set_int(st->state, "next_try", published + w->cfg.challenge_delay_s);
        return STEP_WAIT;
    }
    json_t *chs = json_object_get(o, "challenges");
    if (w->zc) {
        /* Cluster: every live node must hold the TXT records before the CA
         * looks. This store's applied position covers the entry that wrote
         * them (they are in the state just read), whichever node wrote it
         * -- also after a failover, when this node did not propose it. */
        uint64_t seq = zc_applied(w->zc);
        long left_s = published + w->cfg.propagation_timeout_s - now;
        long tmo_ms = (w->cfg.http_timeout_s > 0 ? w->cfg.http_timeout_s : 1) * 1000L;
        if (left_s * 1000L < tmo_ms) {
            tmo_ms = left_s > 0 ? left_s * 1000L : 1000L;
        }
        diag_t d = {0};
        int e = zc_wait_applied(w->zc, seq, tmo_ms, &d);
        if (e) {
            const char *why = d.text[0] ? d.text : dnsd_strerror(e);
            if (now + tmo_ms / 1000 - published >= w->cfg.propagation_timeout_s) {
                snprintf(st->err, sizeof(st->err), "challenge records not applied by every "
                         "cluster node after %lds: %s", w->cfg.propagation_timeout_s, why);
                return STEP_FAIL;
            }
            log_info("acme: %s: waiting for every cluster node to apply seq %llu: %s", st->id,
                     (unsigned long long)seq, why);
            set_int(st->state, "next_try", acme_worker_now(w) + 1);
            return STEP_WAIT;
        }
        if (!acme_ji(o, "applied_everywhere")) {
            log_info("acme: %s: every live cluster node applied seq %llu (challenge records)",
                     st->id, (unsigned long long)seq);
            set_int(o, "applied_everywhere", (long long)seq);
        }
    }
    if (ord_ch_is_http(json_array_get(chs, 0))) {
        return ord_http01_check(w, st); /* one type per order: the request's */
    }
    struct sockaddr_storage targets[ACME_SELF_MAX + 32];
    bool is_self[ACME_SELF_MAX + 32];
    int nt = 0;
    for (int i = 0; i < w->cfg.nself; i++) {
        self_target(&w->cfg.self[i], &targets[nt]);
        is_self[nt++] = true;
    }
    if (w->cfg.check_ns) {
        MDB_txn *txn;
        if (acme_db_read_begin(w->s, &txn) == 0) {
            size_t i;
            json_t *ch;
            json_array_foreach(chs, i, ch)
            {
                uint8_t owner[DNAME_MAXLEN + 1];
                zw_zone_t z;
                struct sockaddr_storage ns[16];
                if (acme_owner_parse(acme_js(ch, "owner"), owner) < 0 ||
                    acme_dns01_zone(w->s, txn, owner, &z) != 0) {
                    continue;
                }
                int n = acme_dns01_ns_addrs(w->s, txn, &z, ns, 16);
                for (int k = 0; k < n && nt < (int)(sizeof(targets) / sizeof(targets[0])); k++) {
                    bool dup = false;
                    for (int m = 0; m < nt && !dup; m++) {
                        /* an NS address that is one of our listen addresses is
                         * us: asked on the port we really listen on (above),
                         * not on 53, where another server may answer or none */
                        struct sockaddr_storage t = targets[m];
                        dup = is_self[m] ? same_ip(&t, &ns[k]) : sockaddr_same(&t, &ns[k]);
                    }
                    if (!dup) {
                        targets[nt] = ns[k];
                        is_self[nt++] = false;
                    }
                }
            }
            acme_db_read_end(w->s, txn);
        }
    }
    /* One pass stays within acme-http-timeout: the ACME thread never blocks
     * longer than that (a lease keep-alive may share it). The pairs (owner,
     * server) seen to hold the values are remembered in the order, so many
     * slow servers are worked through over several passes, each asked once. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long budget_ms = (w->cfg.http_timeout_s > 0 ? w->cfg.http_timeout_s : 1) * 1000;
    bool paused = false;
    int asked = 0;
    json_t *seen = json_object_get(o, "visible_on");
    if (!json_is_array(seen)) {
        seen = json_array();
        json_object_set_new(o, "visible_on", seen);
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
        if (done_before || acme_owner_parse(acme_js(ch, "owner"), owner) < 0) {
            continue;
        }
        for (int t = 0; t < nt && all; t++) {
            char as[80], pair[DNAME_MAXLEN * 4 + 100];
            sockaddr_text(&targets[t], as, sizeof(as));
            snprintf(pair, sizeof(pair), "%s %s", acme_js(ch, "owner"), as);
            if (json_str_in(seen, pair)) {
                checked += i == 0;
                continue;
            }
            struct timespec t1;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            long left = budget_ms - ((t1.tv_sec - t0.tv_sec) * 1000 +
                                     (t1.tv_nsec - t0.tv_nsec) / 1000000);
            /* a query (UDP, then TCP on truncation) takes at most 2 x q_ms: one
             * is started only if that fits in what is left, except the pass's
             * first, so every pass makes progress */
            int q_ms = budget_ms / 2 < 1000 ? (int)(budget_ms / 2) : 1000;
            if (asked > 0 && left < 2L * q_ms) {
                snprintf(why, sizeof(why), "%s: not asked yet (a pass stops at acme-http-timeout)",
                         as);
                paused = true;
                all = false;
                break;
            }
            asked++;
            int v = acme_dns01_visible((const struct sockaddr *)&targets[t], sizeof(targets[t]),
                                       owner, vals, nv, q_ms, why, sizeof(why));
            if (v == 1) {
                json_array_append_new(seen, json_string(pair));
                checked += i == 0;
                continue;
            }
            if (v < 0 && !is_self[t]) {
                /* an NS we cannot ask: said once per order, not once per
                 * owner and visit (the order remembers whom it warned about) */
                json_t *warned = json_object_get(o, "ns_unchecked");
                if (!json_is_array(warned)) {
                    warned = json_array();
                    json_object_set_new(o, "ns_unchecked", warned);
                }
                bool said = false;
                size_t wi;
                json_t *wv;
                json_array_foreach(warned, wi, wv)
                {
                    said = said || strcmp(json_string_value(wv), as) == 0;
                }
                if (!said) {
                    json_array_append_new(warned, json_string(as));
                    log_warn("acme: %s: NS %s not checked: %s", st->id, as, why);
                }
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
        if (paused) {
            log_info("acme: %s: TXT visibility: %zu check(s) confirmed; the pass stopped at "
                     "acme-http-timeout (%ld s) and goes on at the next",
                     st->id, json_array_size(seen), w->cfg.http_timeout_s);
        } else {
            log_debug("acme: %s: waiting for TXT visibility: %s", st->id, why);
        }
        set_int(st->state, "next_try", now + (paused ? 0 : 1));
        return STEP_WAIT;
    }
    int rc = ord_answer_challenges(w, st);
    if (rc == STEP_NEXT) {
        log_info("acme: %s: TXT visible on %d authoritative server(s) of %d; challenges answered",
                 st->id, checked, nt);
    }
    return rc;
}

int ord_answer_challenges(acme_worker_t *w, step_t *st)
{
    json_t *o = ord_order_of(st);
    ca_t *ca;
    int rc = order_ca(w, st, &ca);
    if (rc != STEP_NEXT) {
        return rc;
    }
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(o, "challenges"), i, ch)
    {
        if (json_is_true(json_object_get(ch, "answered"))) {
            continue;
        }
        acme_resp_t r;
        if (acme_client_post(ca->c, acme_js(ch, "url"), "{}", false, &r) != 0) {
            return ord_client_failure(st, ca->c, "challenge");
        }
        acme_resp_fini(&r);
        json_object_set_new(ch, "answered", json_true());
    }
    set_str(o, "step", "responded");
    set_int(o, "answered", acme_worker_now(w));
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
        acme_metrics_problem(p.type);
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
                acme_metrics_problem(p.type);
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
    json_t *o = ord_order_of(st);
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
            return ord_client_failure(st, ca->c, "order");
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
    json_t *o = ord_order_of(st);
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
        return ord_client_failure(st, ca->c, "finalize");
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
    json_t *o = ord_order_of(st);
    char *pem = NULL;
    acme_resp_t alts;
    memset(&alts, 0, sizeof(alts));
    if (fetch_chain(ca, acme_js(o, "certificate"), &pem, &alts) != 0) {
        return ord_client_failure(st, ca->c, "certificate download");
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
    bool candidate = rollout_wanted(w, st->req, st->state);
    if (acme_shard_of(st->req) && !candidate && shard_issued(w, st, key, ci->serial) != 0) {
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
                                          (json_int_t)ci->not_after, "outcome",
                                          candidate ? "candidate" : "issued", "at",
                                          (json_int_t)acme_worker_now(w), "order_url",
                                          acme_js(o, "url")));
    while (json_array_size(hist) > 50) {
        json_array_remove(hist, 0);
    }
    if (candidate) {
        /* a rollout's candidate (acme/rollout.h): the current certificate
         * stays; the controller deploys this one to the canary pool */
        log_info("acme: %s: issued serial %s by %s: the rollout's candidate", st->id, ci->serial,
                 ci->issuer);
        free(pem);
        free(ci);
        ord_txt_remove_all(st);
        set_int(st->state, "seq_done", acme_ji(st->req, "seq"));
        json_object_set_new(st->state, "candidate", cert);
        acme_metrics_issued((long)(acme_worker_now(w) - acme_ji(o, "started")));
        json_object_del(st->state, "order");
        set_str(st->state, "status", "valid");
        set_int(st->state, "failures", 0);
        set_str(st->state, "last_error", "");
        set_int(st->state, "next_try", 0);
        w->st.issued++;
        return STEP_NEXT;
    }
    char until[40];
    struct tm tm;
    gmtime_r(&ci->not_after, &tm);
    strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
    log_info("acme: %s: issued serial %s by %s, valid until %s", st->id, ci->serial, ci->issuer,
             until);
    free(pem);
    free(ci);
    ord_txt_remove_all(st);
    /* names and key type are those requested (else the order was restarted),
     * so this certificate also satisfies a renewal asked for meanwhile */
    set_int(st->state, "seq_done", acme_ji(st->req, "seq"));
    json_object_set_new(st->state, "cert", cert);
    acme_metrics_issued((long)(acme_worker_now(w) - acme_ji(o, "started")));
    json_object_del(st->state, "order");
    time_t ra = ord_renew_time(w, cert), now = acme_worker_now(w);
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
    if (!w->zc && (w->cfg.cert_dir[0] || acme_shard_of(st->req))) {
        /* cleared once the files are written and the hooks ran (a cluster
         * node records its own deployments: ord_deploy_sites) */
        json_object_set_new(st->state, "deploy", json_pack("{s:b}", "pending", 1));
    }
    w->st.issued++;
    return STEP_NEXT;
}

int ord_step_revoke(acme_worker_t *w, step_t *st)
{
    json_t *cert = json_object_get(st->state, "cert");
    json_t *rv = json_object_get(st->req, "revoke");
    const char *dir = ord_cert_dir_url(w, st->req);
    ca_t *ca;
    int err = ord_ca_ready(w, dir, &ca, st);
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
        return ord_client_failure(st, ca->c, "revokeCert");
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
    ACME_METRIC_INC(revoked);
    log_info("acme: %s: serial %s revoked (reason %lld)", st->id, acme_js(cert, "serial"),
             acme_ji(rv, "reason"));
    return STEP_NEXT;
}

int ord_step_order(acme_worker_t *w, step_t *st)
{
    const char *step = acme_js(ord_order_of(st), "step");
    if (strcmp(step, "authz") == 0) {
        return step_authz(w, st);
    }
    if (strcmp(step, "published") == 0) {
        return step_check(w, st);
    }
    if (strcmp(step, "responded") == 0 || strcmp(step, "processing") == 0) {
        return step_poll(w, st);
    }
    if (strcmp(step, "finalize") == 0) {
        return step_finalize(w, st);
    }
    if (strcmp(step, "download") == 0) {
        return step_download(w, st);
    }
    snprintf(st->err, sizeof(st->err), "unknown order step \"%s\"", step);
    return STEP_FAIL;
}
