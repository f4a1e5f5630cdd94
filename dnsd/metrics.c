/* SPDX-License-Identifier: MIT */
/*
 * metrics.c -- the Prometheus text exposition of dnsd's state (see
 * metrics.h). HTTP thread only; reads the workers' counters with relaxed
 * loads and the store in one read txn; never takes a lock a worker takes.
 * Text format 0.0.4: "# HELP", "# TYPE", then the samples of one family
 * together; label values escaped (\\, \", \n), HELP text (\\, \n).
 */
#include "dnsd/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acme/certdb.h"
#include "acme/metrics.h"
#include "acme/shard.h"
#include "dnsd/counters.h"
#include "zones/base/xalloc.h"
#include "zones/names.h"
#include "zones/regions.h"
#include "zones/schema.h"

struct metrics {
    server_t *srv;
    double start_s;            /* wall clock at start, seconds since the epoch */
    struct timespec start_mono;
    int statm_fd;              /* /proc/self/statm, or -1 */
    int fd_dir_fd;             /* /proc/self/fd, or -1 */
};

/* ---- a growing text buffer ---- */

typedef struct mb {
    char *p;
    size_t len, cap;
} mb_t;

__attribute__((format(printf, 2, 3))) static void mb_printf(mb_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            return;
        }
        if (b->p && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t want = b->len + (size_t)n + 1;
        b->cap = b->cap ? b->cap : 4096;
        while (b->cap < want) {
            b->cap *= 2;
        }
        b->p = xrealloc(b->p, b->cap);
    }
}

static void mb_append(mb_t *b, const mb_t *from)
{
    if (from->len) {
        mb_printf(b, "%.*s", (int)from->len, from->p);
    }
}

void metrics_label_escape(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 3 <= cap; in++) {
        char c = *in;
        if (c == '\\' || c == '"') {
            out[n++] = '\\';
            out[n++] = c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = c;
        }
    }
    if (cap) {
        out[n < cap ? n : cap - 1] = '\0';
    }
}

/* # HELP and # TYPE of family @p name; the help text is ours (no '\\' or newline) */
static void head(mb_t *b, const char *name, const char *type, const char *help)
{
    mb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

#define U(x) ((unsigned long long)(x))

/* ---- the registry (counters.h): grouped families, else the default name ---- */

typedef struct ctr_family {
    int id;
    const char *family, *label, *value, *help;
} ctr_family_t;

static const ctr_family_t ctr_families[] = {
    {CTR_RRL_SLIPPED, "dnsd_rrl_actions_total", "action", "slip",
     "rate-limited responses by what was done: sent truncated (slip) or not sent (drop)"},
    {CTR_RRL_DROPPED, "dnsd_rrl_actions_total", "action", "drop", NULL},
    {CTR_TCP_ACCEPTED, "dnsd_tcp_connections_accepted_total", NULL, NULL,
     "TCP connections accepted"},
    {CTR_TCP_CLOSED_IDLE, "dnsd_tcp_connections_closed_total", "reason", "idle",
     "TCP connections closed, by reason: idle (tcp-idle-timeout), time "
     "(tcp-max-connection-time), peer (the client closed), error, limit (tcp-max-queries)"},
    {CTR_TCP_CLOSED_TIME, "dnsd_tcp_connections_closed_total", "reason", "time", NULL},
    {CTR_TCP_CLOSED_PEER, "dnsd_tcp_connections_closed_total", "reason", "peer", NULL},
    {CTR_TCP_CLOSED_ERROR, "dnsd_tcp_connections_closed_total", "reason", "error", NULL},
    {CTR_TCP_CLOSED_LIMIT, "dnsd_tcp_connections_closed_total", "reason", "limit", NULL},
    {CTR_TCP_FULL, "dnsd_tcp_accept_paused_total", NULL, NULL,
     "times a worker stopped accepting TCP connections: tcp-max-connections reached (new "
     "connections wait in the kernel's backlog)"},
    {CTR_XFR_OUT_DONE, "dnsd_xfr_out_total", "result", "done",
     "outgoing zone transfers (AXFR/IXFR) by result: done, refused, failed (cut short)"},
    {CTR_XFR_OUT_REFUSED, "dnsd_xfr_out_total", "result", "refused", NULL},
    {CTR_XFR_OUT_FAILED, "dnsd_xfr_out_total", "result", "failed", NULL},
    {CTR_XFR_IN_DONE, "dnsd_xfr_in_total", "result", "done",
     "secondary zone refreshes by result: done (a transfer applied), failed"},
    {CTR_XFR_IN_FAILED, "dnsd_xfr_in_total", "result", "failed", NULL},
    {CTR_UPDATE_COMMITTED, "dnsd_updates_total", "result", "committed",
     "RFC 2136 UPDATE messages by result: committed, refused (or failed)"},
    {CTR_UPDATE_REFUSED, "dnsd_updates_total", "result", "refused", NULL},
    {CTR_ROLLOUT_CANARY, "dnsd_rollout_answers_total", "pool", "canary",
     "answers decided by a certificate rollout's canary split, by pool: canary (the new "
     "certificate's load balancers), stable"},
    {CTR_ROLLOUT_STABLE, "dnsd_rollout_answers_total", "pool", "stable", NULL},
};

typedef struct sample {
    char family[96];
    const char *help;
    char labels[96]; /* "" or `name="value"` */
    uint64_t v;
    bool done;
} sample_t;

/* one sample per registry counter (rcodes that are 0 and flagged NONZERO left out) */
static int registry_samples(const uint64_t *v, sample_t *s)
{
    int n = 0;
    /* queries by transport: UDP is every query not over TCP */
    snprintf(s[n].family, sizeof(s[n].family), "dnsd_queries_total");
    s[n].help = "queries received, by transport";
    snprintf(s[n].labels, sizeof(s[n].labels), "transport=\"udp\"");
    s[n++].v = v[CTR_QUERIES] >= v[CTR_TCP] ? v[CTR_QUERIES] - v[CTR_TCP] : 0;
    snprintf(s[n].family, sizeof(s[n].family), "dnsd_queries_total");
    snprintf(s[n].labels, sizeof(s[n].labels), "transport=\"tcp\"");
    s[n++].v = v[CTR_TCP];
    for (int k = 0; k < CTR_N; k++) {
        if (k == CTR_QUERIES || k == CTR_TCP) {
            continue;
        }
        sample_t *x = &s[n];
        memset(x, 0, sizeof(*x));
        x->v = v[k];
        if (k >= CTR_RCODE_0 && k <= CTR_RCODE_16) {
            if ((counter_defs[k].flags & COUNTER_F_NONZERO) && !v[k]) {
                continue;
            }
            char rc[32];
            snprintf(rc, sizeof(rc), "%s", counter_defs[k].name + strlen("rcode."));
            for (char *c = rc; *c; c++) {
                *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
            }
            snprintf(x->family, sizeof(x->family), "dnsd_responses_total");
            x->help = "responses sent, by rcode (extended rcode BADVERS included)";
            snprintf(x->labels, sizeof(x->labels), "rcode=\"%s\"", rc);
            n++;
            continue;
        }
        const ctr_family_t *f = NULL;
        for (size_t i = 0; i < sizeof(ctr_families) / sizeof(ctr_families[0]); i++) {
            if (ctr_families[i].id == k) {
                f = &ctr_families[i];
            }
        }
        if (f) {
            snprintf(x->family, sizeof(x->family), "%s", f->family);
            x->help = f->help;
            if (f->label) {
                snprintf(x->labels, sizeof(x->labels), "%s=\"%s\"", f->label, f->value);
            }
        } else {
            int w = snprintf(x->family, sizeof(x->family), "dnsd_%s_total", counter_defs[k].name);
            (void)w;
            for (char *c = x->family; *c; c++) {
                if (*c == '.') {
                    *c = '_';
                }
            }
            x->help = counter_defs[k].help;
        }
        n++;
    }
    return n;
}

static void emit_registry(mb_t *b, const uint64_t *v)
{
    sample_t *s = xcalloc(CTR_N + 2, sizeof(*s));
    int n = registry_samples(v, s);
    for (int i = 0; i < n; i++) {
        if (s[i].done) {
            continue;
        }
        const char *help = s[i].help;
        for (int j = i; j < n && !help; j++) {
            if (strcmp(s[j].family, s[i].family) == 0) {
                help = s[j].help;
            }
        }
        head(b, s[i].family, "counter", help ? help : s[i].family);
        for (int j = i; j < n; j++) {
            if (s[j].done || strcmp(s[j].family, s[i].family) != 0) {
                continue;
            }
            s[j].done = true;
            if (s[j].labels[0]) {
                mb_printf(b, "%s{%s} %llu\n", s[j].family, s[j].labels, U(s[j].v));
            } else {
                mb_printf(b, "%s %llu\n", s[j].family, U(s[j].v));
            }
        }
    }
    free(s);
}

/* ---- the labelled families ---- */

typedef struct fam_sums {
    uint64_t v[CTR_N];
    uint64_t qtype[CTR_QTYPE_SLOTS];
    uint64_t zone[CTR_ZONE_SLOTS];
    uint64_t region[CTR_REGION_SLOTS];
    uint64_t ecs[2][CTR_ECS_SCOPES];
} fam_sums_t;

static void collect(const server_t *srv, fam_sums_t *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < srv->nworkers; i++) {
        const counters_t *c = &srv->w[i]->actx.st;
        /* TCP before all queries: the UDP share (all - TCP) never goes negative */
        for (int k = CTR_N - 1; k >= 0; k--) {
            t->v[k] += STAT_GET(c->c[k]);
        }
        for (int k = 0; k < CTR_QTYPE_SLOTS; k++) {
            t->qtype[k] += STAT_GET(c->qtype[k]);
        }
        for (int k = 0; k < CTR_ZONE_SLOTS; k++) {
            t->zone[k] += STAT_GET(c->zone[k]);
        }
        for (int k = 0; k < CTR_REGION_SLOTS; k++) {
            t->region[k] += STAT_GET(c->region[k]);
        }
        for (int f = 0; f < 2; f++) {
            for (int k = 0; k < CTR_ECS_SCOPES; k++) {
                t->ecs[f][k] += STAT_GET(c->ecs_scope[f][k]);
            }
        }
    }
    for (int k = 0; k < CTR_N; k++) {
        t->v[k] += STAT_GET(counters_slow.c[k]);
    }
}

static void emit_qtypes(mb_t *b, const fam_sums_t *t)
{
    head(b, "dnsd_qtype_queries_total", "counter",
         "well-formed queries by QTYPE (common types; the rest are \"other\")");
    for (int k = 0; k < CTR_QTYPE_SLOTS; k++) {
        mb_printf(b, "dnsd_qtype_queries_total{qtype=\"%s\"} %llu\n", counter_qtype_names[k],
                  U(t->qtype[k]));
    }
}

static void emit_ecs(mb_t *b, const fam_sums_t *t)
{
    head(b, "dnsd_ecs_responses_total", "counter",
         "answers carrying an EDNS Client Subnet option, by family and the scope prefix length "
         "returned (0: the answer does not depend on the client's location)");
    for (int f = 0; f < 2; f++) {
        for (int k = 0; k < CTR_ECS_SCOPES; k++) {
            if (t->ecs[f][k]) {
                mb_printf(b, "dnsd_ecs_responses_total{family=\"%s\",scope=\"%d\"} %llu\n",
                          f ? "ipv6" : "ipv4", k, U(t->ecs[f][k]));
            }
        }
    }
}

/* zones (by store id, named from the store) and what the store holds */
static void emit_store(mb_t *b, zs_store_t *s, MDB_txn *txn, const fam_sums_t *t)
{
    mb_t zq = {0};
    uint64_t nzones = 0;
    head(&zq, "dnsd_zone_queries_total", "counter",
         "queries for a name in a zone served here, by zone (zones with store id 256 and up: "
         "\"other\")");
    MDB_cursor *c = NULL;
    if (txn && mdb_cursor_open(txn, s->zones, &c) == 0) {
        MDB_val k, v;
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            zs_zone_t z;
            if (!zs_zone_decode(v.mv_data, v.mv_size, &z)) {
                continue;
            }
            nzones++;
            if (z.id == 0 || z.id >= CTR_ZONE_SLOTS) {
                continue;
            }
            char name[DNAME_MAXLEN * 4 + 2], esc[sizeof(name) * 2];
            dname_to_str(z.apex, name, sizeof(name));
            metrics_label_escape(name, esc, sizeof(esc));
            mb_printf(&zq, "dnsd_zone_queries_total{zone=\"%s\"} %llu\n", esc,
                      U(t->zone[z.id]));
        }
        mdb_cursor_close(c);
    }
    mb_printf(&zq, "dnsd_zone_queries_total{zone=\"other\"} %llu\n", U(t->zone[0]));
    mb_append(b, &zq);
    free(zq.p);

    head(b, "dnsd_region_queries_total", "counter",
         "queries for a name in a zone served here, by the client's region (region ids 63 and "
         "up: \"other\")");
    mb_printf(b, "dnsd_region_queries_total{region=\"default\"} %llu\n", U(t->region[0]));
    zs_region_t *rs = NULL;
    size_t nr = 0;
    if (txn && zs_regions_load(s, txn, &rs, &nr) == 0) {
        for (size_t i = 0; i < nr; i++) {
            if (rs[i].id == 0 || rs[i].id >= CTR_REGION_SLOTS - 1) {
                continue;
            }
            char esc[2 * sizeof(rs[i].name)];
            metrics_label_escape(rs[i].name, esc, sizeof(esc));
            mb_printf(b, "dnsd_region_queries_total{region=\"%s\"} %llu\n", esc,
                      U(t->region[rs[i].id]));
        }
    }
    free(rs);
    mb_printf(b, "dnsd_region_queries_total{region=\"other\"} %llu\n",
              U(t->region[CTR_REGION_SLOTS - 1]));
    head(b, "dnsd_regions", "gauge", "regions defined in the store (default not counted)");
    mb_printf(b, "dnsd_regions %zu\n", nr);
    head(b, "dnsd_zones", "gauge", "zones in the store");
    mb_printf(b, "dnsd_zones %llu\n", U(nzones));

    uint64_t gen = 0;
    if (txn && zs_generation(s, txn, &gen) == 0) {
        head(b, "dnsd_store_generation", "gauge",
             "the store's generation counter (bumped by every write transaction)");
        mb_printf(b, "dnsd_store_generation %llu\n", U(gen));
    }
    MDB_stat st;
    if (txn && mdb_stat(txn, s->journal, &st) == 0) {
        head(b, "dnsd_store_journal_entries", "gauge", "changes held in the store's journal");
        mb_printf(b, "dnsd_store_journal_entries %llu\n", U(st.ms_entries));
        head(b, "dnsd_store_journal_bytes", "gauge", "size of the journal's pages in the store");
        mb_printf(b, "dnsd_store_journal_bytes %llu\n",
                  U((uint64_t)(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) *
                    st.ms_psize));
    }
    MDB_envinfo ei;
    MDB_stat es;
    if (mdb_env_info(s->env, &ei) == 0 && mdb_env_stat(s->env, &es) == 0) {
        head(b, "dnsd_store_map_bytes", "gauge", "the store's map size (its size limit)");
        mb_printf(b, "dnsd_store_map_bytes %llu\n", U(ei.me_mapsize));
        head(b, "dnsd_store_used_bytes", "gauge", "pages of the store in use");
        mb_printf(b, "dnsd_store_used_bytes %llu\n", U((uint64_t)(ei.me_last_pgno + 1) *
                                                         es.ms_psize));
    }
    head(b, "dnsd_store_map_resizes_total", "counter",
         "times this process adopted a larger store map");
    mb_printf(b, "dnsd_store_map_resizes_total %llu\n", U(zs_map_resizes(s)));
}

/* ---- certificates and shards, from the store ---- */

enum {
    CF_STATUS,
    CF_EXPIRY_TS,
    CF_EXPIRY,
    CF_RENEWED,
    CF_FAILURES,
    CF_DEPLOY_OK,
    CF_SHARD_HEALTHY,
    CF_SHARD_CHECKED,
    CF_LB_HEALTHY,
    CF_N
};

static const struct {
    const char *name, *help;
} cert_fams[CF_N] = {
    [CF_STATUS] = {"dnsd_cert_status", "1 for the certificate's current status (pending, "
                                       "ordering, valid, failed, revoked)"},
    [CF_EXPIRY_TS] = {"dnsd_cert_expiry_timestamp_seconds",
                      "when the certificate in use expires (notAfter), seconds since the epoch"},
    [CF_EXPIRY] = {"dnsd_cert_expiry_seconds",
                   "seconds until the certificate in use expires (negative: expired)"},
    [CF_RENEWED] = {"dnsd_cert_last_renewal_timestamp_seconds",
                    "when the certificate in use was issued to us, seconds since the epoch"},
    [CF_FAILURES] = {"dnsd_cert_failures", "failed attempts since the last success (0: none)"},
    [CF_DEPLOY_OK] = {"dnsd_cert_deploy_ok",
                      "1 if the last deployment (files and hooks) on the node succeeded"},
    [CF_SHARD_HEALTHY] = {"dnsd_shard_healthy",
                          "1 if the shard's last probe found every load balancer presenting "
                          "the current certificate and it is not near expiry"},
    [CF_SHARD_CHECKED] = {"dnsd_shard_probe_timestamp_seconds",
                          "when the shard's load balancers were last probed"},
    [CF_LB_HEALTHY] = {"dnsd_shard_lb_healthy",
                       "1 if the load balancer presented the shard's current certificate at the "
                       "last probe"},
};

typedef struct cert_walk {
    mb_t f[CF_N];
    time_t now;
} cert_walk_t;

static void esc_into(const char *in, char *out, size_t cap)
{
    metrics_label_escape(in ? in : "", out, cap);
}

/* health {checked, healthy, lbs [{lb, ok}]} of shard @p cert/@p region on @p node */
static void shard_health(cert_walk_t *cw, const char *cert, const char *region, const char *node,
                         json_t *health)
{
    if (!json_is_object(health)) {
        return;
    }
    mb_printf(&cw->f[CF_SHARD_HEALTHY], "%s{cert=\"%s\",region=\"%s\",node=\"%s\"} %d\n",
              cert_fams[CF_SHARD_HEALTHY].name, cert, region, node,
              json_is_true(json_object_get(health, "healthy")) ? 1 : 0);
    mb_printf(&cw->f[CF_SHARD_CHECKED], "%s{cert=\"%s\",region=\"%s\",node=\"%s\"} %lld\n",
              cert_fams[CF_SHARD_CHECKED].name, cert, region, node,
              acme_ji(health, "checked"));
    size_t i;
    json_t *lb;
    json_array_foreach(json_object_get(health, "lbs"), i, lb)
    {
        char l[160];
        esc_into(acme_js(lb, "lb"), l, sizeof(l));
        mb_printf(&cw->f[CF_LB_HEALTHY], "%s{cert=\"%s\",region=\"%s\",node=\"%s\",lb=\"%s\"} "
                                         "%d\n",
                  cert_fams[CF_LB_HEALTHY].name, cert, region, node, l,
                  json_is_true(json_object_get(lb, "ok")) ? 1 : 0);
    }
}

static const char *shard_region(json_t *req)
{
    json_t *sh = acme_shard_of(req);
    return sh ? acme_js(sh, "region") : "";
}

static int cert_cb(const char *key, json_t *v, void *arg)
{
    cert_walk_t *cw = arg;
    char id[2 * ACME_CERT_ID_MAX + 2];
    esc_into(key + strlen(ACME_DB_CERT), id, sizeof(id));
    json_t *req = json_object_get(v, "req"), *state = json_object_get(v, "state");
    const char *status = acme_js(state, "status");
    char st[64];
    esc_into(status[0] ? status : "pending", st, sizeof(st));
    mb_printf(&cw->f[CF_STATUS], "%s{cert=\"%s\",status=\"%s\"} 1\n", cert_fams[CF_STATUS].name,
              id, st);
    mb_printf(&cw->f[CF_FAILURES], "%s{cert=\"%s\"} %lld\n", cert_fams[CF_FAILURES].name, id,
              acme_ji(state, "failures"));
    json_t *cert = json_object_get(state, "cert");
    if (json_is_object(cert) && acme_ji(cert, "not_after") > 0) {
        long long na = acme_ji(cert, "not_after");
        mb_printf(&cw->f[CF_EXPIRY_TS], "%s{cert=\"%s\"} %lld\n", cert_fams[CF_EXPIRY_TS].name,
                  id, na);
        mb_printf(&cw->f[CF_EXPIRY], "%s{cert=\"%s\"} %lld\n", cert_fams[CF_EXPIRY].name, id,
                  na - (long long)cw->now);
        if (acme_ji(cert, "issued") > 0) {
            mb_printf(&cw->f[CF_RENEWED], "%s{cert=\"%s\"} %lld\n",
                      cert_fams[CF_RENEWED].name, id, acme_ji(cert, "issued"));
        }
    }
    /* standalone: the outcome of the deployment and the shard's probes */
    json_t *dep = json_object_get(state, "deploy");
    if (json_is_object(dep) && !json_is_true(json_object_get(dep, "pending"))) {
        mb_printf(&cw->f[CF_DEPLOY_OK], "%s{cert=\"%s\",node=\"\"} %d\n",
                  cert_fams[CF_DEPLOY_OK].name, id,
                  json_is_true(json_object_get(dep, "ok")) ? 1 : 0);
    }
    char region[160];
    esc_into(shard_region(req), region, sizeof(region));
    if (region[0]) {
        shard_health(cw, id, region, "", json_object_get(json_object_get(state, "shard"),
                                                         "health"));
    }
    return 0;
}

/* cluster mode: "deploy:<cert id>:<node>" records, one per node */
typedef struct deploy_walk {
    cert_walk_t *cw;
    zs_store_t *s;
    MDB_txn *txn;
} deploy_walk_t;

static int deploy_cb(const char *key, json_t *v, void *arg)
{
    deploy_walk_t *dw = arg;
    const char *rest = key + strlen(ACME_DB_DEPLOY);
    const char *colon = strrchr(rest, ':');
    if (!colon || colon == rest) {
        return 0;
    }
    char cid[ACME_CERT_ID_MAX + 1], id[sizeof(cid) * 2], node[160];
    snprintf(cid, sizeof(cid), "%.*s", (int)(colon - rest), rest);
    esc_into(cid, id, sizeof(id));
    esc_into(colon + 1, node, sizeof(node));
    if (json_object_get(v, "ok")) {
        mb_printf(&dw->cw->f[CF_DEPLOY_OK], "%s{cert=\"%s\",node=\"%s\"} %d\n",
                  cert_fams[CF_DEPLOY_OK].name, id, node,
                  json_is_true(json_object_get(v, "ok")) ? 1 : 0);
    }
    json_t *health = json_object_get(v, "health");
    if (json_is_object(health)) {
        char ckey[sizeof(cid) + 8], region[160] = "";
        snprintf(ckey, sizeof(ckey), "%s%s", ACME_DB_CERT, cid);
        json_t *c = NULL;
        if (acme_db_get(dw->s, dw->txn, ckey, &c) == 0) {
            esc_into(shard_region(json_object_get(c, "req")), region, sizeof(region));
            json_decref(c);
        }
        shard_health(dw->cw, id, region, node, health);
    }
    return 0;
}

static void emit_certs(mb_t *b, zs_store_t *s, MDB_txn *txn)
{
    cert_walk_t cw;
    memset(&cw, 0, sizeof(cw));
    cw.now = time(NULL);
    if (txn) {
        acme_db_foreach(s, txn, ACME_DB_CERT, cert_cb, &cw);
        deploy_walk_t dw = {&cw, s, txn};
        acme_db_foreach(s, txn, ACME_DB_DEPLOY, deploy_cb, &dw);
    }
    for (int f = 0; f < CF_N; f++) {
        head(b, cert_fams[f].name, "gauge", cert_fams[f].help);
        mb_append(b, &cw.f[f]);
        free(cw.f[f].p);
    }
}

/* ---- the ACME worker (acme/metrics.h) ---- */

#define AGET(field) U(atomic_load_explicit(&acme_metrics.field, memory_order_relaxed))

static void emit_acme(mb_t *b)
{
    head(b, "dnsd_acme_orders_total", "counter", "ACME orders placed (newOrder accepted)");
    mb_printf(b, "dnsd_acme_orders_total %llu\n", AGET(orders));
    head(b, "dnsd_acme_orders_completed_total", "counter",
         "ACME orders that ended, by outcome: issued, failed (final; retried after a backoff)");
    mb_printf(b, "dnsd_acme_orders_completed_total{outcome=\"issued\"} %llu\n", AGET(issued));
    mb_printf(b, "dnsd_acme_orders_completed_total{outcome=\"failed\"} %llu\n", AGET(failed));
    head(b, "dnsd_acme_transient_errors_total", "counter",
         "ACME steps that failed and are retried (network, CA errors, rate limits)");
    mb_printf(b, "dnsd_acme_transient_errors_total %llu\n", AGET(transient));
    head(b, "dnsd_acme_revocations_total", "counter", "certificates revoked");
    mb_printf(b, "dnsd_acme_revocations_total %llu\n", AGET(revoked));
    head(b, "dnsd_acme_ca_problems_total", "counter",
         "problem documents received from CAs, by RFC 8555 error type (\"other\": not an ACME "
         "error type)");
    for (int k = 0; k < ACME_PROB_N; k++) {
        mb_printf(b, "dnsd_acme_ca_problems_total{type=\"%s\"} %llu\n", acme_problem_names[k],
                  AGET(problems[k]));
    }
    head(b, "dnsd_acme_issuance_duration_seconds", "histogram",
         "time from placing an ACME order to storing its certificate");
    uint64_t cum = 0;
    for (int k = 0; k < ACME_LATENCY_N; k++) {
        cum += AGET(latency_le[k]);
        mb_printf(b, "dnsd_acme_issuance_duration_seconds_bucket{le=\"%u\"} %llu\n",
                  acme_latency_bounds[k], U(cum));
    }
    cum += AGET(latency_inf);
    mb_printf(b, "dnsd_acme_issuance_duration_seconds_bucket{le=\"+Inf\"} %llu\n", U(cum));
    mb_printf(b, "dnsd_acme_issuance_duration_seconds_sum %llu\n", AGET(latency_sum_s));
    mb_printf(b, "dnsd_acme_issuance_duration_seconds_count %llu\n", U(cum));
}

/* ---- the process ---- */

static long open_fds(const metrics_t *m)
{
    if (m->fd_dir_fd < 0) {
        return -1;
    }
    int fd = dup(m->fd_dir_fd);
    if (fd < 0) {
        return -1;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    rewinddir(d);
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n > 0 ? n - 1 : -1; /* not the descriptor that read the list */
}

static long long rss_bytes(const metrics_t *m)
{
    char buf[128];
    ssize_t n = m->statm_fd >= 0 ? pread(m->statm_fd, buf, sizeof(buf) - 1, 0) : -1;
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    unsigned long long size, res;
    if (sscanf(buf, "%llu %llu", &size, &res) != 2) {
        return -1;
    }
    return (long long)(res * (unsigned long long)sysconf(_SC_PAGESIZE));
}

static void emit_process(mb_t *b, const metrics_t *m)
{
    char ver[64];
    metrics_label_escape(PACKAGE_VERSION, ver, sizeof(ver));
    head(b, "dnsd_build_info", "gauge", "always 1; the version is a label");
    mb_printf(b, "dnsd_build_info{version=\"%s\"} 1\n", ver);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double up = (double)(now.tv_sec - m->start_mono.tv_sec) +
                (double)(now.tv_nsec - m->start_mono.tv_nsec) / 1e9;
    head(b, "dnsd_uptime_seconds", "gauge", "seconds since dnsd started");
    mb_printf(b, "dnsd_uptime_seconds %.3f\n", up);
    head(b, "process_start_time_seconds", "gauge",
         "start time of the process since unix epoch in seconds");
    mb_printf(b, "process_start_time_seconds %.3f\n", m->start_s);
    long long rss = rss_bytes(m);
    if (rss >= 0) {
        head(b, "process_resident_memory_bytes", "gauge", "resident memory size in bytes");
        mb_printf(b, "process_resident_memory_bytes %lld\n", rss);
    }
    long fds = open_fds(m);
    if (fds >= 0) {
        head(b, "process_open_fds", "gauge", "number of open file descriptors");
        mb_printf(b, "process_open_fds %ld\n", fds);
    }
    head(b, "dnsd_workers", "gauge", "query worker threads");
    mb_printf(b, "dnsd_workers %d\n", m->srv->nworkers);
    head(b, "dnsd_tcp_connections_open", "gauge", "TCP connections open now (all workers)");
    mb_printf(b, "dnsd_tcp_connections_open %u\n",
              atomic_load_explicit(&m->srv->tcp.open, memory_order_relaxed));
}

/* ---- the whole exposition ---- */

metrics_t *metrics_new(server_t *srv)
{
    metrics_t *m = xcalloc(1, sizeof(*m));
    m->srv = srv;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    m->start_s = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9;
    clock_gettime(CLOCK_MONOTONIC, &m->start_mono);
    m->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    m->fd_dir_fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return m;
}

void metrics_free(metrics_t *m)
{
    if (!m) {
        return;
    }
    if (m->statm_fd >= 0) {
        close(m->statm_fd);
    }
    if (m->fd_dir_fd >= 0) {
        close(m->fd_dir_fd);
    }
    free(m);
}

char *metrics_render(metrics_t *m, size_t *len)
{
    mb_t b = {0};
    mb_printf(&b, "%s", "");
    fam_sums_t *tp = xmalloc(sizeof(*tp)); /* ~4 KiB: not on the HTTP thread's stack */
    collect(m->srv, tp);
    emit_process(&b, m);
    emit_registry(&b, tp->v);
    emit_qtypes(&b, tp);
    emit_ecs(&b, tp);
    zs_store_t *s = m->srv->store;
    MDB_txn *txn = NULL;
    if (zs_read_begin(s, &txn) != 0) {
        txn = NULL;
    }
    emit_store(&b, s, txn, tp);
    emit_certs(&b, s, txn);
    if (txn) {
        zs_read_end(s, txn);
    }
    emit_acme(&b);
    free(tp);
    *len = b.len;
    return b.p;
}
