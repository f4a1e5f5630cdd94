/* SPDX-License-Identifier: MIT */
/*
 * metrics.h -- the Prometheus exposition (text format 0.0.4) of dnsd's
 * state, served at GET /metrics on the `metrics-listen` addresses by
 * httpd.c: every counter of the registry (counters.h) summed over the
 * workers, the labelled families (qtype, zone, region, ECS scope), TCP and
 * process gauges, the store (generation, journal, zones), the ACME
 * worker's counters (acme/metrics.h) and, read from the store at scrape
 * time, each certificate's and shard's expiry, renewal and health.
 * Called on the HTTP thread only. It reads the workers' counters with
 * relaxed loads and the store in one read txn: it never takes a lock a
 * worker takes and never writes anything a worker reads.
 *
 * DESIGN. Names follow Prometheus' conventions: dnsd_<what>_total for
 * counters, base units (seconds, bytes), and labels whose values come
 * from bounded sets (counters.h says the bounds). A registry counter gets
 * the name "dnsd_" + its stats name with '.' -> '_' + "_total", unless the
 * table in metrics.c groups it under a family with a label (the rcodes
 * become dnsd_responses_total{rcode=...}); so a counter added to the
 * registry shows up here without touching this file. Zone and region
 * slots are named from the store at scrape time: a zone or region that is
 * deleted stops being reported (its series ends), a new one appears with
 * what its slot counted so far (always 0: ids are never reused).
 */
#ifndef DNSD_METRICS_H
#define DNSD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "dnsd/worker.h"

typedef struct metrics metrics_t;

/**
 * Make the exposition's state for @p srv: the process start time, and
 * descriptors on /proc/self/statm and /proc/self/fd opened now, so the
 * process gauges still work after the chroot and the privilege drop.
 * Main thread, before the privilege drop. Free with metrics_free.
 */
metrics_t *metrics_new(server_t *srv);
void metrics_free(metrics_t *m); /* NULL is fine */

/**
 * The whole exposition as text, malloc'd (free it), its length in *@p len.
 * HTTP thread; never NULL (aborts on OOM like xmalloc).
 */
char *metrics_render(metrics_t *m, size_t *len);

/** Escape @p in as a label value (\\, \", \n) into @p out of @p cap (cut, NUL-terminated). */
void metrics_label_escape(const char *in, char *out, size_t cap);

#endif
