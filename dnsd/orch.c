/* SPDX-License-Identifier: MIT */
/* orch.c -- the orchestration loop (see orch.h). Slow path, main thread only. */
#include "dnsd/orch.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dnsd/counters.h"
#include "dnsd/dnssec_maint.h"
#include "dnsd/sdnotify.h"
#include "dnsd/stats.h"
#include "zones/base/err.h"
#include "zones/base/log.h"

static void reclaim_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    orch_t *o = t->data;
    (void)loop;
    (void)revents;
    int left = snap_reclaim(&o->srv->geo);
    left += snap_reclaim(&o->srv->settings);
    if (left == 0) {
        ev_timer_stop(o->loop, &o->reclaim);
    }
}

static void reclaim_arm(orch_t *o)
{
    if (o->loop && !ev_is_active(&o->reclaim) && o->reclaim.cb) {
        ev_timer_set(&o->reclaim, 0.01, 0.05);
        ev_timer_start(o->loop, &o->reclaim);
    }
}

void orch_publish(orch_t *o, geo_state_t *g, const char *why)
{
    bool retired = snap_publish(&o->srv->geo, g);
    CTR_SLOW_INC(GEO_RELOADS);
    if (g->table) {
        size_t v4, v6;
        geo_table_stats(g->table, &v4, &v6);
        log_info("geo (%s): %zu regions, %zu IPv4 and %zu IPv6 ranges, %zu KiB", why,
                 g->nregions, v4, v6, geo_table_memory(g->table) / 1024);
    } else {
        log_info("geo (%s): no regions defined, every client gets the default answers", why);
    }
    if (retired) {
        reclaim_arm(o);
    }
}

void orch_publish_settings(orch_t *o, settings_t *s)
{
    bool retired = snap_publish(&o->srv->settings, s);
    worker_settings_notify(o->srv);
    if (retired) {
        reclaim_arm(o);
    }
}

/* the geo database as seen from where we run (inside the chroot, if any) */
static const char *geo_path(const config_t *cfg)
{
    return config_in_chroot(cfg, cfg->geo_db);
}

static geo_state_t *build_geo(orch_t *o, const config_t *cfg, diag_t *d)
{
    return geo_state_build(o->srv->store, geo_path(cfg),
                           cfg->have_geo_paths ? &cfg->geo_paths.paths : NULL, d);
}

static void rebuild(orch_t *o, const char *why)
{
    diag_t d;
    geo_state_t *g = build_geo(o, o->srv->cfg, &d);
    if (!g) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s%s%s", d.file, d.file[0] ? ": " : "", d.text);
        log_err("geo (%s): rejected, still serving the previous data: %s", why, msg);
        CTR_SLOW_INC(GEO_FAILURES);
        return;
    }
    orch_publish(o, g, why);
}

static void geo_file_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
    orch_t *o = w->data;
    (void)loop;
    (void)revents;
    if (w->attr.st_nlink == 0) {
        log_warn("geo: %s disappeared; still serving the loaded data", w->path);
        return;
    }
    if (w->attr.st_ino == o->geo_seen.st_ino && w->attr.st_mtime == o->geo_seen.st_mtime &&
        w->attr.st_size == o->geo_seen.st_size) {
        return;
    }
    o->geo_seen = w->attr;
    rebuild(o, "database file changed");
}

/* a map grown by another process was adopted (by a worker, or here): say
 * so once per growth; the query path only counts */
static void map_check(orch_t *o)
{
    zs_store_t *s = o->srv->store;
    uint64_t n = zs_map_resizes(s);
    if (n != o->map_resizes) {
        log_info("store map grown by another process: now %zu MiB (was %zu MiB), adopted",
                 zs_map_size(s) >> 20, o->map_size >> 20);
        o->map_resizes = n;
    }
    o->map_size = zs_map_size(s);
}

static void regions_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    orch_t *o = t->data;
    (void)loop;
    (void)revents;
    MDB_txn *txn;
    uint64_t gen = 0;
    map_check(o);
    if (zs_read_begin(o->srv->store, &txn) != 0) {
        return;
    }
    int err = zs_regions_generation(o->srv->store, txn, &gen);
    zs_read_end(o->srv->store, txn);
    geo_state_t *cur = snap_current(&o->srv->geo);
    if (!err && cur && gen != cur->regions_gen) {
        rebuild(o, "regions edited");
    }
}

/* ---- counters ---- */

static void stats_file_write(orch_t *o, const stats_total_t *t)
{
    const config_t *cfg = o->srv->cfg;
    if (!cfg->stats_file[0]) {
        return;
    }
    const char *path = config_in_chroot(cfg, cfg->stats_file);
    int err = stats_write(path, t, ev_now(o->loop) - o->started);
    if (err) {
        log_warn("stats: cannot write %s: %s", path, dnsd_strerror(err));
    }
}

static void stats_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    orch_t *o = t->data;
    (void)loop;
    (void)revents;
    stats_total_t tot;
    stats_collect(o->srv, &tot);
    stats_file_write(o, &tot);
    /* rate limiting at work is worth a line; a quiet period is not */
    if (tot.v[CTR_RRL_LIMITED] > o->rrl_limited_logged) {
        log_info("rate limit: %llu responses limited in the last %u s; %llu since start "
                 "(%llu slipped, %llu dropped)",
                 (unsigned long long)(tot.v[CTR_RRL_LIMITED] - o->rrl_limited_logged),
                 o->srv->cfg->stats_interval_s, (unsigned long long)tot.v[CTR_RRL_LIMITED],
                 (unsigned long long)tot.v[CTR_RRL_SLIPPED],
                 (unsigned long long)tot.v[CTR_RRL_DROPPED]);
        o->rrl_limited_logged = tot.v[CTR_RRL_LIMITED];
    }
}

static void stats_timer_set(orch_t *o)
{
    ev_timer_stop(o->loop, &o->stats_timer);
    unsigned s = o->srv->cfg->stats_interval_s;
    if (s) {
        ev_timer_set(&o->stats_timer, s, s);
        ev_timer_start(o->loop, &o->stats_timer);
    }
}

static void geo_watch_set(orch_t *o)
{
    const config_t *cfg = o->srv->cfg;
    if (ev_is_active(&o->geo_file)) {
        ev_stat_stop(o->loop, &o->geo_file);
    }
    if (cfg->geo_db[0]) {
        /* polled stat (1 s) as well as inotify where libev has it; a
         * replaced file (rename over it) is what operators and updaters do */
        ev_stat_set(&o->geo_file, geo_path(cfg), 1.0);
        ev_stat_start(o->loop, &o->geo_file);
        o->geo_seen = o->geo_file.attr;
    }
}

/* ---- DNSSEC: rollover steps and re-sign batches (dnssec_maint.h) ---- */

static void dnssec_timer_set(orch_t *o, double after)
{
    double every = o->srv->cfg->dnssec_check_ms / 1000.0;
    ev_timer_stop(o->loop, &o->dnssec_timer);
    ev_timer_set(&o->dnssec_timer, after < every ? after : every, every);
    ev_timer_start(o->loop, &o->dnssec_timer);
}

static void dnssec_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    orch_t *o = t->data;
    (void)revents;
    ev_now_update(loop);
    if (dnssec_maint_run(o->dnssec, (uint64_t)ev_now(loop))) {
        dnssec_timer_set(o, 0.01); /* re-sign batches left: go on soon, between other events */
    }
}

/* ---- SIGHUP ---- */

static const char *level_name(int l)
{
    static const char *const n[] = {"error", "warning", "info", "debug"};
    return n[l & 3];
}

/* settings that need sockets, threads or the store made again: a reload
 * reports them and keeps the running value */
static int keep_restart_only(config_t *n, const config_t *c)
{
    int kept = 0;
#define KEEP_STR(field, key)                                                                      \
    if (strcmp(n->field, c->field) != 0) {                                                        \
        log_warn("config reload: %s changed (\"%s\" -> \"%s\"): needs restart; keeping \"%s\"",   \
                 key, c->field, n->field, c->field);                                              \
        memcpy(n->field, c->field, sizeof(n->field));                                             \
        kept++;                                                                                   \
    }
    KEEP_STR(store, "store")
    KEEP_STR(port_file, "port-file")
    KEEP_STR(pid_file, "pid-file")
    KEEP_STR(user, "user")
    KEEP_STR(group, "group")
    KEEP_STR(chroot, "chroot")
    KEEP_STR(control_socket, "control-socket")
    KEEP_STR(control_socket_owner, "control-socket-owner")
    KEEP_STR(control_socket_group, "control-socket-group")
    /* dnstap: its thread and fstrm's are set up once, at start */
    KEEP_STR(dnstap_socket, "dnstap-socket")
    KEEP_STR(dnstap_file, "dnstap-file")
    KEEP_STR(dnstap_identity, "dnstap-identity")
    KEEP_STR(dnstap_version, "dnstap-version")
    /* issue 15: rollout evidence -- sockets bound and threads started once */
    KEEP_STR(rollout_evidence_socket, "rollout-evidence-socket")
    KEEP_STR(rollout_probe_ca, "rollout-probe-ca")
#undef KEEP_STR
    if (n->rollout_probe_interval_s != c->rollout_probe_interval_s) {
        log_warn("config reload: rollout-probe-interval changed (%u -> %u): needs restart; "
                 "keeping %u", c->rollout_probe_interval_s, n->rollout_probe_interval_s,
                 c->rollout_probe_interval_s);
        n->rollout_probe_interval_s = c->rollout_probe_interval_s;
        kept++;
    }
    if (n->control_socket_mode != c->control_socket_mode) {
        log_warn("config reload: control-socket-mode changed (%04o -> %04o): needs restart; "
                 "keeping %04o", c->control_socket_mode, n->control_socket_mode,
                 c->control_socket_mode);
        n->control_socket_mode = c->control_socket_mode;
        kept++;
    }
    if (n->dnstap_log_queries != c->dnstap_log_queries ||
        n->dnstap_log_responses != c->dnstap_log_responses ||
        n->dnstap_sample != c->dnstap_sample) {
        log_warn("config reload: dnstap-log-queries, dnstap-log-responses or dnstap-sample "
                 "changed: needs restart; keeping the running values");
        n->dnstap_log_queries = c->dnstap_log_queries;
        n->dnstap_log_responses = c->dnstap_log_responses;
        n->dnstap_sample = c->dnstap_sample;
        kept++;
    }
    if (n->xfr_max_transfers != c->xfr_max_transfers) {
        log_warn("config reload: xfr-max-transfers changed (%u -> %u): needs restart; keeping %u",
                 c->xfr_max_transfers, n->xfr_max_transfers, c->xfr_max_transfers);
        n->xfr_max_transfers = c->xfr_max_transfers;
    }
    if (n->workers != c->workers) {
        log_warn("config reload: workers changed (%d -> %d): needs restart; keeping %d",
                 c->workers, n->workers, c->workers);
        n->workers = c->workers;
        kept++;
    }
    if (n->map_size != c->map_size) {
        log_warn("config reload: store-map-size changed: needs restart; keeping %zu MiB",
                 c->map_size >> 20);
        n->map_size = c->map_size;
        kept++;
    }
    bool same = n->nlisten == c->nlisten;
    for (int i = 0; same && i < n->nlisten; i++) {
        same = strcmp(n->listen[i].text, c->listen[i].text) == 0;
    }
    if (!same) {
        log_warn("config reload: listen changed: needs restart; keeping the %d address%s bound",
                 c->nlisten, c->nlisten == 1 ? "" : "es");
        memcpy(n->listen, c->listen, sizeof(n->listen));
        n->nlisten = c->nlisten;
        kept++;
    }
    same = n->nhttp01_listen == c->nhttp01_listen;
    for (int i = 0; same && i < n->nhttp01_listen; i++) {
        same = strcmp(n->http01_listen[i].text, c->http01_listen[i].text) == 0;
    }
    if (!same) {
        log_warn("config reload: http01-listen changed: needs restart; keeping the %d "
                 "address%s bound", c->nhttp01_listen, c->nhttp01_listen == 1 ? "" : "es");
        memcpy(n->http01_listen, c->http01_listen, sizeof(n->http01_listen));
        n->nhttp01_listen = c->nhttp01_listen;
        kept++;
    }
    same = n->nmetrics_listen == c->nmetrics_listen; /* issue 16, metrics */
    for (int i = 0; same && i < n->nmetrics_listen; i++) {
        same = strcmp(n->metrics_listen[i].text, c->metrics_listen[i].text) == 0;
    }
    if (!same) {
        log_warn("config reload: metrics-listen changed: needs restart; keeping the %d "
                 "address%s bound", c->nmetrics_listen, c->nmetrics_listen == 1 ? "" : "es");
        memcpy(n->metrics_listen, c->metrics_listen, sizeof(n->metrics_listen));
        n->nmetrics_listen = c->nmetrics_listen;
        kept++;
    }
    same = n->nrollout_syslog_listen == c->nrollout_syslog_listen; /* issue 15 */
    for (int i = 0; same && i < n->nrollout_syslog_listen; i++) {
        same = strcmp(n->rollout_syslog_listen[i].text, c->rollout_syslog_listen[i].text) == 0;
    }
    if (!same) {
        log_warn("config reload: rollout-syslog-listen changed: needs restart; keeping the %d "
                 "address%s bound", c->nrollout_syslog_listen,
                 c->nrollout_syslog_listen == 1 ? "" : "es");
        memcpy(n->rollout_syslog_listen, c->rollout_syslog_listen,
               sizeof(n->rollout_syslog_listen));
        n->nrollout_syslog_listen = c->nrollout_syslog_listen;
        kept++;
    }
    n->uid = c->uid; /* the reload did not look names up (it may run in a chroot) */
    n->gid = c->gid;
    return kept;
}

/* log what a reload changes; @return how many settings */
static int log_changes(const config_t *n, const config_t *c)
{
    static const struct {
        const char *key;
        size_t off;
    } uints[] = {
        {"tcp-idle-timeout", offsetof(config_t, tcp_idle_timeout_s)},
        {"tcp-max-connection-time", offsetof(config_t, tcp_max_conn_time_s)},
        {"tcp-max-connections", offsetof(config_t, tcp_max_connections)},
        {"tcp-max-queries", offsetof(config_t, tcp_max_queries)},
        {"udp-payload", offsetof(config_t, udp_payload)},
        {"rrl-rate", offsetof(config_t, rrl_rate)},
        {"rrl-slip", offsetof(config_t, rrl_slip)},
        {"rrl-ipv4-prefix", offsetof(config_t, rrl_ipv4_prefix)},
        {"rrl-ipv6-prefix", offsetof(config_t, rrl_ipv6_prefix)},
        {"rrl-table-size", offsetof(config_t, rrl_table_size)},
        {"stats-interval", offsetof(config_t, stats_interval_s)},
        {"geo-check-interval-ms", offsetof(config_t, geo_check_ms)},
        {"dnssec-check-interval-ms", offsetof(config_t, dnssec_check_ms)},
    };
    int changed = 0;
    for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
        unsigned a = *(const unsigned *)((const char *)c + uints[i].off);
        unsigned b = *(const unsigned *)((const char *)n + uints[i].off);
        if (a != b) {
            log_info("config reload: %s %u -> %u", uints[i].key, a, b);
            changed++;
        }
    }
    if (n->log_level != c->log_level) {
        /* logged at the higher of the two levels, so it is seen either way */
        int lvl = n->log_level > c->log_level ? c->log_level : n->log_level;
        if (lvl >= LOG_LVL_INFO) {
            log_info("config reload: log-level %s -> %s", level_name(c->log_level),
                     level_name(n->log_level));
        } else {
            log_warn("config reload: log-level %s -> %s", level_name(c->log_level),
                     level_name(n->log_level));
        }
        changed++;
    }
    if (strcmp(n->stats_file, c->stats_file) != 0) {
        log_info("config reload: stats-file \"%s\" -> \"%s\"", c->stats_file, n->stats_file);
        changed++;
    }
    if (strcmp(n->geo_db, c->geo_db) != 0) {
        log_info("config reload: geo-database \"%s\" -> \"%s\"", c->geo_db, n->geo_db);
        changed++;
    }
    if (strcmp(n->geo_paths_spec, c->geo_paths_spec) != 0) {
        log_info("config reload: geo-paths \"%s\" -> \"%s\"", c->geo_paths_spec,
                 n->geo_paths_spec);
        changed++;
    }
    return changed;
}

/* the reload itself; orch_reload() wraps it in systemd's RELOADING=1/READY=1 */
static int reload(orch_t *o, const char *why, char *msg, size_t cap)
{
    const config_t *cur = o->srv->cfg;
    if (!o->conf_file) {
        snprintf(msg, cap, "dnsd was started without a config file (-c): nothing to re-read");
        log_warn("%s: %s", why, msg);
        return DNSD_ECONFIG;
    }
    const char *path = config_in_chroot(cur, o->conf_file);
    config_t *n = o->cfg_spare;
    diag_t d;
    bool cli_err;
    n->no_id_lookup = true;
    if (config_build(n, path, o->cli, &d, &cli_err) != 0) {
        if (d.file[0] && d.line > 0) {
            snprintf(msg, cap, "%s:%d: %s", d.file, d.line, d.text);
        } else {
            snprintf(msg, cap, "%s%s%s", d.file, d.file[0] ? ": " : "", d.text);
        }
        log_err("config reload: %s; keeping the running configuration", msg);
        return DNSD_ECONFIG;
    }
    int kept = keep_restart_only(n, cur);
    /* a new geo database is loaded before anything changes: if it does not
     * load, the reload is refused whole */
    geo_state_t *g = NULL;
    bool geo_changed = strcmp(n->geo_db, cur->geo_db) != 0 ||
                       strcmp(n->geo_paths_spec, cur->geo_paths_spec) != 0;
    if (geo_changed && !(g = build_geo(o, n, &d))) {
        CTR_SLOW_INC(GEO_FAILURES);
        snprintf(msg, cap, "geo-database: %s%s%s", d.file, d.file[0] ? ": " : "", d.text);
        log_err("config reload: %s; keeping the running configuration", msg);
        return DNSD_ECONFIG;
    }
    int changed = log_changes(n, cur);
    /* certificate settings apply live: the ACME thread takes them between runs */
    n->acme.nself = cur->acme.nself;
    memcpy(n->acme.self, cur->acme.self, sizeof(n->acme.self));
    n->acme.nhttp01_self = cur->acme.nhttp01_self;
    memcpy(n->acme.http01_self, cur->acme.http01_self, sizeof(n->acme.http01_self));
    n->acme.evidence = cur->acme.evidence; /* issue 15: the evidence threads live on */
    n->acme.evidence_arg = cur->acme.evidence_arg;
    bool acme_changed = memcmp(&n->acme, &cur->acme, sizeof(n->acme)) != 0;
    if (acme_changed) {
        log_info("config reload: certificate settings changed");
        changed++;
    }
    bool stats_changed = n->stats_interval_s != cur->stats_interval_s;
    bool regions_changed = n->geo_check_ms != cur->geo_check_ms;
    bool dnssec_changed = n->dnssec_check_ms != cur->dnssec_check_ms;
    /* commit: swap the buffers, then tell everyone */
    o->cfg_spare = (config_t *)cur;
    o->srv->cfg = n;
    log_level = n->log_level;
    settings_t *prev = snap_current(&o->srv->settings);
    orch_publish_settings(o, settings_build(n, o->srv->nworkers, prev));
    if (geo_changed) {
        orch_publish(o, g, "config reloaded");
        geo_watch_set(o);
    }
    if (regions_changed) {
        ev_timer_stop(o->loop, &o->regions_poll);
        ev_timer_set(&o->regions_poll, n->geo_check_ms / 1000.0, n->geo_check_ms / 1000.0);
        ev_timer_start(o->loop, &o->regions_poll);
    }
    if (stats_changed) {
        stats_timer_set(o);
    }
    if (dnssec_changed) {
        dnssec_timer_set(o, n->dnssec_check_ms / 1000.0);
    }
    if (acme_changed) {
        certs_update(o->certs, &n->acme);
    }
    snprintf(msg, cap, "config reloaded from %s: %d setting%s changed, %d kept until restart",
             path, changed, changed == 1 ? "" : "s", kept);
    log_info("%s", msg);
    return 0;
}

int orch_reload(orch_t *o, const char *why, char *msg, size_t cap)
{
    sdn_reloading(); /* systemd: `systemctl reload` waits for the READY=1 */
    int err = reload(o, why, msg, cap);
    char status[sizeof(o->srv->cfg->store) + 32];
    snprintf(status, sizeof(status), "serving store %s", o->srv->cfg->store);
    sdn_ready(status);
    return err;
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    orch_t *o = w->data;
    (void)revents;
    if (w->signum == SIGHUP) {
        char msg[1200];
        orch_reload(o, "SIGHUP", msg, sizeof(msg)); /* it logs the outcome */
        return;
    }
    if (w->signum == SIGUSR1) {
        stats_total_t tot;
        stats_collect(o->srv, &tot);
        stats_log("stats", &tot);
        stats_file_write(o, &tot);
        return;
    }
    log_info("signal %d: shutting down", w->signum);
    ev_break(loop, EVBREAK_ALL);
}

void orch_sigset_async(sigset_t *set)
{
    sigfillset(set);
    /* synchronous ones: blocking them would not stop a fault, only hide it */
    int sync[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof(sync) / sizeof(sync[0]); i++) {
        sigdelset(set, sync[i]);
    }
}

void orch_run(orch_t *o)
{
    const config_t *cfg = o->srv->cfg;
    o->started = ev_now(o->loop);
    o->map_size = zs_map_size(o->srv->store);
    o->map_resizes = 0;
    map_check(o);
    ev_signal *sigs[] = {&o->sig_term, &o->sig_int, &o->sig_hup, &o->sig_usr1};
    int nums[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    for (int i = 0; i < 4; i++) {
        ev_signal_init(sigs[i], signal_cb, nums[i]);
        sigs[i]->data = o;
        ev_signal_start(o->loop, sigs[i]);
    }
    /* the handled ones stay blocked (libev reads them from a signalfd);
     * SIGCHLD stays blocked too: hooks are reaped by the ACME thread alone
     * (waitpid on their pid), and its default action is to ignore it anyway;
     * the rest get back their default action, on this thread only */
    sigset_t rest;
    orch_sigset_async(&rest);
    int handled[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD, SIGPIPE};
    for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
        sigdelset(&rest, handled[i]);
    }
    pthread_sigmask(SIG_UNBLOCK, &rest, NULL);
    ev_init(&o->reclaim, reclaim_cb);
    o->reclaim.data = o;
    if (o->srv->geo.nretired || o->srv->settings.nretired) {
        reclaim_arm(o);
    }
    ev_init(&o->geo_file, geo_file_cb);
    o->geo_file.data = o;
    geo_watch_set(o);
    ev_timer_init(&o->regions_poll, regions_cb, cfg->geo_check_ms / 1000.0,
                  cfg->geo_check_ms / 1000.0);
    o->regions_poll.data = o;
    ev_timer_start(o->loop, &o->regions_poll);
    ev_init(&o->stats_timer, stats_cb);
    o->stats_timer.data = o;
    stats_timer_set(o);
    o->dnssec = dnssec_maint_new(o->srv->store, o->srv->cluster);
    ev_init(&o->dnssec_timer, dnssec_cb);
    o->dnssec_timer.data = o;
    dnssec_timer_set(o, 1.0); /* the first run soon after the start */
    ev_run(o->loop, 0);
}

void orch_write_stats(orch_t *o, const stats_total_t *t)
{
    stats_file_write(o, t);
}

void orch_fini(orch_t *o)
{
    dnssec_maint_free(o->dnssec);
    o->dnssec = NULL;
    snap_fini(&o->srv->geo);
    snap_fini(&o->srv->settings);
}
