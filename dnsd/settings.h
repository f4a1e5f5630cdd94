/* SPDX-License-Identifier: MIT */
/*
 * settings.h -- what the worker threads read of the configuration, as one
 * immutable snapshot: TCP limits and timeouts, the UDP payload size, the
 * response rate limit and its table. The main thread builds a snapshot from
 * the config at start-up and after each SIGHUP reload, and publishes it
 * (snap.h, server_t.settings); each worker adopts the new one on its own
 * thread when woken (worker.c) and copies nothing back. A retired snapshot
 * is freed once no worker holds it, as geo snapshots are (the same
 * snap_t scheme). Build and free: main thread, slow path.
 */
#ifndef DNSD_SETTINGS_H
#define DNSD_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "dnsd/config.h"
#include "dnsd/rrl.h"

typedef struct settings_rrl settings_rrl_t; /* a table shared by snapshots, refcounted */

typedef struct settings {
    unsigned tcp_idle_timeout_s;
    unsigned tcp_max_conn_time_s; /* 0: no cap */
    unsigned tcp_max_queries;     /* 0: no cap */
    unsigned tcp_max;             /* tcp-max-connections, for all workers together */
    uint16_t udp_payload;
    unsigned rrl_rate;            /* responses per second; 0: off (rrl NULL) */
    unsigned rrl_slip;
    rrl_t *rrl;                   /* the shared table, or NULL */
    settings_rrl_t *rrl_ref;
} settings_t;

/**
 * A snapshot of @p c for @p nworkers workers. When rate limiting stays on
 * with the same table size and prefixes as in @p prev (NULL: none), the
 * new snapshot shares prev's table, so a reload that touches other settings
 * does not forget who was being limited. Aborts on OOM. Main thread.
 */
settings_t *settings_build(const config_t *c, int nworkers, const settings_t *prev);

/** Free @p s (and its table when no other snapshot shares it); NULL is fine. */
void settings_free(settings_t *s);

#endif
