/* SPDX-License-Identifier: MIT */
/* orch.c -- the orchestration loop (see orch.h). Slow path, main thread only. */
#include "dnsd/orch.h"

#include <signal.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/log.h"

static void reclaim_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    orch_t *o = t->data;
    (void)loop;
    (void)revents;
    int keep = 0;
    for (int i = 0; i < o->nretired; i++) {
        if (worker_geo_in_use(o->srv, o->retired[i])) {
            o->retired[keep++] = o->retired[i];
        } else {
            geo_state_free(o->retired[i]);
        }
    }
    o->nretired = keep;
    if (keep == 0) {
        ev_timer_stop(o->loop, &o->reclaim);
    }
}

void orch_publish(orch_t *o, geo_state_t *g, const char *why)
{
    geo_state_t *old = atomic_exchange_explicit(&o->srv->geo, g, memory_order_acq_rel);
    if (g->table) {
        size_t v4, v6;
        geo_table_stats(g->table, &v4, &v6);
        log_info("geo (%s): %zu regions, %zu IPv4 and %zu IPv6 ranges, %zu KiB", why,
                 g->nregions, v4, v6, geo_table_memory(g->table) / 1024);
    } else {
        log_info("geo (%s): no regions defined, every client gets the default answers", why);
    }
    if (!old) {
        return;
    }
    if (o->nretired == ORCH_RETIRED_MAX) {
        /* cannot happen unless workers are stuck; keep the memory rather than risk a use */
        log_warn("geo: too many retired snapshots; leaking one");
        return;
    }
    o->retired[o->nretired++] = old;
    if (o->loop && !ev_is_active(&o->reclaim)) {
        ev_timer_set(&o->reclaim, 0.01, 0.05);
        ev_timer_start(o->loop, &o->reclaim);
    }
}

static void rebuild(orch_t *o, const char *why)
{
    diag_t d;
    const config_t *cfg = o->srv->cfg;
    geo_state_t *g = geo_state_build(o->srv->store, cfg->geo_db,
                                     cfg->have_geo_paths ? &cfg->geo_paths.paths : NULL, &d);
    if (!g) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s%s%s", d.file, d.file[0] ? ": " : "", d.text);
        log_err("geo (%s): rejected, still serving the previous data: %s", why, msg);
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

static void regions_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    orch_t *o = t->data;
    (void)loop;
    (void)revents;
    MDB_txn *txn;
    uint64_t gen = 0;
    if (mdb_txn_begin(o->srv->store->env, NULL, MDB_RDONLY, &txn) != 0) {
        return;
    }
    int err = zs_regions_generation(o->srv->store, txn, &gen);
    mdb_txn_abort(txn);
    geo_state_t *cur = atomic_load_explicit(&o->srv->geo, memory_order_acquire);
    if (!err && cur && gen != cur->regions_gen) {
        rebuild(o, "regions edited");
    }
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    if (w->signum == SIGHUP) {
        log_warn("SIGHUP: configuration reload is not supported yet; store edits need no reload");
        return;
    }
    log_info("signal %d: shutting down", w->signum);
    ev_break(loop, EVBREAK_ALL);
}

void orch_run(orch_t *o)
{
    const config_t *cfg = o->srv->cfg;
    ev_signal_init(&o->sig_term, signal_cb, SIGTERM);
    ev_signal_init(&o->sig_int, signal_cb, SIGINT);
    ev_signal_init(&o->sig_hup, signal_cb, SIGHUP);
    ev_signal_start(o->loop, &o->sig_term);
    ev_signal_start(o->loop, &o->sig_int);
    ev_signal_start(o->loop, &o->sig_hup);
    ev_init(&o->reclaim, reclaim_cb);
    o->reclaim.data = o;
    if (o->nretired) {
        ev_timer_set(&o->reclaim, 0.01, 0.05);
        ev_timer_start(o->loop, &o->reclaim);
    }
    if (cfg->geo_db[0]) {
        /* polled stat (1 s) as well as inotify where libev has it; a
         * replaced file (rename over it) is what operators and updaters do */
        ev_stat_init(&o->geo_file, geo_file_cb, cfg->geo_db, 1.0);
        o->geo_file.data = o;
        ev_stat_start(o->loop, &o->geo_file);
        o->geo_seen = o->geo_file.attr;
    }
    ev_timer_init(&o->regions_poll, regions_cb, cfg->geo_check_ms / 1000.0,
                  cfg->geo_check_ms / 1000.0);
    o->regions_poll.data = o;
    ev_timer_start(o->loop, &o->regions_poll);
    ev_run(o->loop, 0);
}

void orch_fini(orch_t *o)
{
    for (int i = 0; i < o->nretired; i++) {
        geo_state_free(o->retired[i]);
    }
    o->nretired = 0;
}
