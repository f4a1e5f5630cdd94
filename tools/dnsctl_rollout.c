/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_rollout.c -- `dnsctl rollout ...` (issue #15): the certificate
 * rollouts of shards with a canary pool (acme/rollout.h). `policy` edits
 * the shard's request (its "rollout_policy", checked by rs_policy_set);
 * `status` and `history` read what dnsd's controller recorded;
 * `pause|resume|abort|promote` write a request into the rollout record's
 * "req" half, which the controller acts on at its next tick (a second or
 * two). `simulate` (tools/dnsctl_rollout_sim.c) runs the analyzer and
 * decision rule on a simulated client population and needs no store.
 * Subcommands are dispatched from one table.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/certdb.h"
#include "acme/rollout.h"
#include "acme/rollout_stats.h"
#include "acme/shard.h"
#include "tools/dnsctl.h"
#include "zones/base/err.h"

/* DOMAIN --region R -> "DOMAIN@R" (the shard's certificate id) */
static int rollout_id(ctl_t *c, const char *cmd, char *id, size_t cap)
{
    if (!c->region) {
        return ctl_usage("rollout %s needs --region", cmd);
    }
    const char *d = c->argv[0];
    size_t n = strlen(d);
    snprintf(id, cap, "%.*s@%s", (int)(n && d[n - 1] == '.' ? n - 1 : n), d, c->region);
    return CTL_OK;
}

static void fmt_time(long long t, char *buf, size_t cap)
{
    if (t <= 0) {
        snprintf(buf, cap, "-");
        return;
    }
    ctl_cert_time(t, buf, cap);
}

/* ---- policy ---- */

static int cmd_policy(ctl_t *c)
{
    int rc = ctl_check_args(c, "rollout policy", CTL_OPT_REGION | CTL_OPT_JSON, 1, -1);
    char id[ACME_CERT_ID_MAX + 1];
    if (rc != CTL_OK || (rc = rollout_id(c, "policy", id, sizeof(id))) != CTL_OK) {
        return rc;
    }
    zs_store_t *s = NULL;
    zw_t w = {0};
    json_t *rec = NULL;
    if ((rc = ctl_cert_edit(c, "shard", id, &s, &w, &rec)) != CTL_OK) {
        return rc;
    }
    json_t *req = json_deep_copy(json_object_get(rec, "req"));
    json_t *sh = acme_shard_of(req);
    rs_policy_t pol;
    char why[300];
    rs_policy_default(&pol);
    if (!sh) {
        rc = ctl_err("%s is not a shard", id);
        goto out;
    }
    json_t *pj = json_object_get(sh, "rollout_policy");
    if (pj && rs_policy_from_json(&pol, pj, why, sizeof(why)) != 0) {
        rc = ctl_err("%s: the stored policy is damaged: %s", id, why);
        goto out;
    }
    for (int i = 1; i < c->argc; i++) {
        char kv[512];
        snprintf(kv, sizeof(kv), "%s", c->argv[i]);
        char *eq = strchr(kv, '=');
        if (!eq) {
            rc = ctl_usage("rollout policy: \"%s\" is not KEY=VALUE", c->argv[i]);
            goto out;
        }
        *eq = '\0';
        if (rs_policy_set(&pol, kv, eq + 1, why, sizeof(why)) != 0) {
            rc = ctl_err("rollout policy: %s", why); /* nothing written */
            goto out;
        }
    }
    json_t *out = rs_policy_json(&pol);
    if (c->argc > 1) {
        json_object_set(sh, "rollout_policy", out);
        char key[ACME_CERT_ID_MAX + 16];
        snprintf(key, sizeof(key), ACME_DB_CERT "%s", id);
        int err = acme_db_put_half(s, w.txn, key, "req", req, false);
        if (err || (rc = ctl_commit(&w, "refused")) != CTL_OK) {
            json_decref(out);
            rc = err ? ctl_err("cannot write: %s", dnsd_strerror(err)) : rc;
            goto out;
        }
    }
    if (c->json) {
        json_dumpf(out, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        const char *k;
        json_t *v;
        printf("rollout policy of %s%s:\n", id, c->argc > 1 ? " (changed)" : "");
        json_object_foreach(out, k, v)
        {
            char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            printf("  %-14s %s\n", k, txt ? txt : "?");
            free(txt);
        }
    }
    json_decref(out);
    rc = CTL_OK;
out:
    zw_abort(&w);
    zs_close(s);
    json_decref(rec);
    json_decref(req);
    return rc;
}

/* ---- status ---- */

static int load_rollout(ctl_t *c, const char *id, json_t **ro)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    int rc = ctl_read_begin(c, &s, &txn);
    if (rc != CTL_OK) {
        zs_close(s);
        return rc;
    }
    char key[ACME_CERT_ID_MAX + 16];
    snprintf(key, sizeof(key), ACME_DB_ROLLOUT "%s", id);
    int err = acme_db_get(s, txn, key, ro);
    mdb_txn_abort(txn);
    zs_close(s);
    if (err == DNSD_ENOTFOUND) {
        return ctl_err("%s: no rollout yet (a shard with --canary-lb gets one at its next "
                       "renewal)", id);
    }
    return err ? ctl_err("%s: %s", id, dnsd_strerror(err)) : CTL_OK;
}

static void pool_line(const char *name, json_t *p)
{
    printf("  %-7s n=%lld fail=%lld rate=%.4f mean=%.2fms sd=%.2fms ewma_fail=%.4f\n", name,
           acme_ji(p, "n"), acme_ji(p, "fails"), json_number_value(json_object_get(p, "fail_rate")),
           json_number_value(json_object_get(p, "mean_ms")),
           json_number_value(json_object_get(p, "sd_ms")),
           json_number_value(json_object_get(p, "ewma_fail")));
}

static int cmd_status(ctl_t *c)
{
    int rc = ctl_check_args(c, "rollout status", CTL_OPT_REGION | CTL_OPT_JSON, 1, 1);
    char id[ACME_CERT_ID_MAX + 1];
    if (rc != CTL_OK || (rc = rollout_id(c, "status", id, sizeof(id))) != CTL_OK) {
        return rc;
    }
    json_t *ro = NULL;
    if ((rc = load_rollout(c, id, &ro)) != CTL_OK) {
        return rc;
    }
    json_t *st = json_object_get(ro, "state");
    if (c->json) {
        json_t *v = json_pack("{s:s, s:O, s:O}", "id", id, "state", st ? st : json_null(), "req",
                              json_object_get(ro, "req") ? json_object_get(ro, "req")
                                                         : json_null());
        json_object_del(json_object_get(v, "state"), "cert"); /* no private key on screen */
        json_t *cert = json_object_get(st, "cert");
        if (cert) {
            json_object_set_new(json_object_get(v, "state"), "candidate",
                                json_pack("{s:s, s:s, s:I}", "serial", acme_js(cert, "serial"),
                                          "issuer", acme_js(cert, "issuer"), "not_after",
                                          (json_int_t)acme_ji(cert, "not_after")));
        }
        json_dumpf(v, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(v);
        json_decref(ro);
        return CTL_OK;
    }
    char started[40], step[40], ended[40];
    fmt_time(acme_ji(st, "started"), started, sizeof(started));
    fmt_time(acme_ji(st, "step_started"), step, sizeof(step));
    fmt_time(acme_ji(st, "ended"), ended, sizeof(ended));
    long long pm = acme_ji(st, "permyriad");
    printf("rollout:      %s\nstatus:       %s%s\nshare:        %.2f %% (%lld permyriad), step "
           "%lld\ncandidate:    %s\ncurrent:      %s\nstarted:      %s\nstep since:   %s\n"
           "ended:        %s\n",
           id, acme_js(st, "status"), json_is_true(json_object_get(st, "urgent")) ? " (urgent)" : "",
           (double)pm / 100.0, pm, acme_ji(st, "step"), acme_js(st, "serial_new"),
           acme_js(st, "serial_old"), started, step, ended);
    if (*acme_js(st, "why")) {
        printf("why:          %s\n", acme_js(st, "why"));
    }
    json_t *last = json_object_get(st, "last");
    if (json_is_object(last)) {
        char at[40];
        fmt_time(acme_ji(last, "at"), at, sizeof(at));
        printf("latest verdict (%s): %s\n", at, acme_js(last, "why"));
        json_t *pools = json_object_get(last, "pools");
        pool_line("stable", json_object_get(pools, "stable"));
        pool_line("canary", json_object_get(pools, "canary"));
        printf("  z_fail=%.3f p_fail=%.4f  U=%.1f z_time=%.3f p_time=%.4f time_ratio=%.3f\n",
               json_number_value(json_object_get(last, "z_fail")),
               json_number_value(json_object_get(last, "p_fail")),
               json_number_value(json_object_get(last, "u")),
               json_number_value(json_object_get(last, "z_time")),
               json_number_value(json_object_get(last, "p_time")),
               json_number_value(json_object_get(last, "time_ratio")));
    }
    json_t *rq = json_object_get(ro, "req");
    if (acme_ji(rq, "seq") > acme_ji(st, "seq_done")) {
        printf("pending:      %s (asked, not acted on yet)\n", acme_js(rq, "action"));
    }
    json_decref(ro);
    return CTL_OK;
}

/* ---- history ---- */

typedef struct hist {
    const ctl_t *c;
    ctl_table_t t;
    json_t *all;
} hist_t;

static int hist_cb(const char *key, json_t *v, void *arg)
{
    hist_t *h = arg;
    (void)key;
    if (h->c->json) {
        json_array_append(h->all, v);
        return 0;
    }
    char at[40], from[16], to[16];
    fmt_time(acme_ji(v, "at"), at, sizeof(at));
    snprintf(from, sizeof(from), "%.2f%%", (double)acme_ji(v, "from") / 100.0);
    snprintf(to, sizeof(to), "%.2f%%", (double)acme_ji(v, "to") / 100.0);
    json_t *ev = json_object_get(v, "evidence");
    char evs[200] = "-";
    if (json_is_object(ev)) {
        json_t *pools = json_object_get(ev, "pools");
        json_t *sp = json_object_get(pools, "stable"), *cp = json_object_get(pools, "canary");
        snprintf(evs, sizeof(evs), "stable %lld/%lld canary %lld/%lld p_fail=%.4f p_time=%.4f",
                 acme_ji(sp, "fails"), acme_ji(sp, "n"), acme_ji(cp, "fails"), acme_ji(cp, "n"),
                 json_number_value(json_object_get(ev, "p_fail")),
                 json_number_value(json_object_get(ev, "p_time")));
    }
    const char *row[7] = {at, acme_js(v, "action"), from, to, acme_js(v, "serial"), evs,
                          acme_js(v, "why")};
    ctl_table_add(&h->t, row);
    return 0;
}

static int cmd_history(ctl_t *c)
{
    int rc = ctl_check_args(c, "rollout history", CTL_OPT_REGION | CTL_OPT_JSON, 1, 1);
    char id[ACME_CERT_ID_MAX + 1];
    if (rc != CTL_OK || (rc = rollout_id(c, "history", id, sizeof(id))) != CTL_OK) {
        return rc;
    }
    char prefix[ACME_CERT_ID_MAX + 32];
    snprintf(prefix, sizeof(prefix), ACME_DB_ROLLOUT_LOG "%s:", id);
    hist_t h = {.c = c, .all = json_array()};
    ctl_table_init(&h.t, 7);
    const char *hdr[7] = {"AT", "ACTION", "FROM", "TO", "SERIAL", "EVIDENCE", "WHY"};
    ctl_table_add(&h.t, hdr);
    rc = ctl_cert_listing(c, prefix, hist_cb, &h, &h.t, h.all);
    ctl_table_fini(&h.t);
    json_decref(h.all);
    return rc;
}

/* ---- pause, resume, abort, promote: a request for the controller ---- */

static int cmd_request(ctl_t *c, const char *action)
{
    char cmd[40];
    snprintf(cmd, sizeof(cmd), "rollout %s", action);
    int rc = ctl_check_args(c, cmd, CTL_OPT_REGION, 1, 1);
    char id[ACME_CERT_ID_MAX + 1];
    if (rc != CTL_OK || (rc = rollout_id(c, action, id, sizeof(id))) != CTL_OK) {
        return rc;
    }
    zs_store_t *s = NULL;
    zw_t w = {0};
    if ((rc = ctl_write_begin(c, false, &s, &w)) != CTL_OK) {
        zs_close(s);
        return rc;
    }
    char key[ACME_CERT_ID_MAX + 16];
    snprintf(key, sizeof(key), ACME_DB_ROLLOUT "%s", id);
    json_t *ro = NULL;
    int err = acme_db_get(s, w.txn, key, &ro);
    json_t *st = json_object_get(ro, "state");
    const char *status = acme_js(st, "status");
    bool live = strcmp(status, "running") == 0 || strcmp(status, "paused") == 0;
    if (err || !live) {
        rc = err == DNSD_ENOTFOUND || !err
                 ? ctl_err("%s: no rollout running%s%s%s", id, err ? "" : " (it is ",
                           err ? "" : status, err ? "" : ")")
                 : ctl_err("%s: %s", id, dnsd_strerror(err));
        goto out;
    }
    if ((strcmp(action, "pause") == 0 && strcmp(status, "paused") == 0) ||
        (strcmp(action, "resume") == 0 && strcmp(status, "running") == 0)) {
        rc = ctl_err("%s: the rollout is %s already", id, status);
        goto out;
    }
    long long seq = acme_ji(json_object_get(ro, "req"), "seq");
    if (acme_ji(st, "seq_done") > seq) {
        seq = acme_ji(st, "seq_done");
    }
    json_t *rq = json_pack("{s:I, s:s, s:I}", "seq", (json_int_t)(seq + 1), "action", action, "at",
                           (json_int_t)time(NULL));
    err = acme_db_put_half(s, w.txn, key, "req", rq, false);
    json_decref(rq);
    if (err || (rc = ctl_commit(&w, "refused")) != CTL_OK) {
        rc = err ? ctl_err("cannot write: %s", dnsd_strerror(err)) : rc;
        goto out;
    }
    printf("rollout %s: %s asked (dnsd acts on it within a few seconds)\n", id, action);
    rc = CTL_OK;
out:
    zw_abort(&w);
    zs_close(s);
    json_decref(ro);
    return rc;
}

static int cmd_pause(ctl_t *c)
{
    return cmd_request(c, "pause");
}
static int cmd_resume(ctl_t *c)
{
    return cmd_request(c, "resume");
}
static int cmd_abort(ctl_t *c)
{
    return cmd_request(c, "abort");
}
static int cmd_promote(ctl_t *c)
{
    return cmd_request(c, "promote");
}

static const struct {
    const char *verb;
    int (*fn)(ctl_t *c);
    /* the subcommand parses every argument after its verb itself (dnsctl's
     * own options must come before "rollout") */
    bool own_options;
} rollout_cmds[] = {
    {"simulate", ctl_rollout_simulate, true}, {"policy", cmd_policy, false},
    {"status", cmd_status, false},            {"history", cmd_history, false},
    {"pause", cmd_pause, false},              {"resume", cmd_resume, false},
    {"abort", cmd_abort, false},              {"promote", cmd_promote, false},
};

bool ctl_rollout_own_options(const char *cmd, const char *verb)
{
    if (strcmp(cmd, "rollout") != 0) {
        return false;
    }
    for (size_t i = 0; i < sizeof(rollout_cmds) / sizeof(rollout_cmds[0]); i++) {
        if (strcmp(verb, rollout_cmds[i].verb) == 0) {
            return rollout_cmds[i].own_options;
        }
    }
    return false;
}

int ctl_rollout(ctl_t *c, const char *verb)
{
    for (size_t i = 0; i < sizeof(rollout_cmds) / sizeof(rollout_cmds[0]); i++) {
        if (strcmp(verb, rollout_cmds[i].verb) == 0) {
            return rollout_cmds[i].fn(c);
        }
    }
    return ctl_usage("rollout: unknown subcommand \"%s\"", verb);
}
