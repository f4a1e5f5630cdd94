/* SPDX-License-Identifier: MIT */
/*
 * stats.h -- the server's counters summed over the workers, for the
 * operator: a log line (SIGUSR1, and at shutdown), and a stats file of
 * "name value" lines (stats-file: every stats-interval seconds, on SIGUSR1
 * and at shutdown). Which counters there are, their names and help texts
 * come from the one table in counters.h; the workers' counters are
 * single-writer atomics (stat_t), so the main thread reads them live
 * without stopping anyone.
 * Main thread, slow path.
 */
#ifndef DNSD_STATS_H
#define DNSD_STATS_H

#include <stdint.h>

#include "dnsd/worker.h"

/** Every counter (counters.h) summed over the workers, indexed by counter_id_t. */
typedef struct stats_total {
    uint64_t v[CTR_N];
} stats_total_t;

/** Sum every worker's counters into @p t (workers may be running). */
void stats_collect(const server_t *srv, stats_total_t *t);

/**
 * One log line at info level, starting with @p what ("stats", "stopped"):
 * a sentence with the main counters (COUNTER_F_SUMMARY), then every other
 * counter that is not 0 as "name value".
 */
void stats_log(const char *what, const stats_total_t *t);

/**
 * Write @p t to @p path as "name value" lines (a temporary file renamed
 * over it, mode 0644), with @p uptime_s. @return 0 or a negated errno.
 */
int stats_write(const char *path, const stats_total_t *t, double uptime_s);

#endif
