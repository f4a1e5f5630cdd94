/* SPDX-License-Identifier: MIT */
/*
 * dnssec_maint.h -- dnsd's DNSSEC upkeep, run by the orchestration loop's
 * timer (dnsd/orch.c, every dnssec-check-interval-ms): for every signed
 * zone (ZS_ZONE_F_SIGNED), the key rollover steps (zones/dnssec_roll.h:
 * zd_roll_step, one write txn per key state change, each logged, never
 * key material) and the re-sign batches (zones/dnssec.h: zd_zone_resign,
 * DNSSEC_MAINT_BATCH RRsets per write txn). In a cluster only the node
 * holding the task lock "dnssec" does it (zones/cluster.h), so each step
 * is made once; the others see it through the log.
 *
 * Main thread only; slow path (allocates, signs, and in a cluster talks to
 * etcd within its timeouts). A zone is looked at again only when a step is
 * due, when the keys or policies change (meta "dnssec_gen"), or at least
 * hourly, so an idle zone costs one read txn per run.
 */
#ifndef DNSD_DNSSEC_MAINT_H
#define DNSD_DNSSEC_MAINT_H

#include <stdbool.h>
#include <stdint.h>

#include "zones/cluster.h"
#include "zones/store.h"

#define DNSSEC_MAINT_BATCH 1000u /* RRsets per re-sign txn */
#define DNSSEC_MAINT_BATCHES 20u /* re-sign txns per zone per run (then: another run soon) */
#define DNSSEC_MAINT_ROLL_STEPS 8u /* key state changes per zone per run */

typedef struct dnssec_maint dnssec_maint_t;

/** @p cluster: NULL standalone. */
dnssec_maint_t *dnssec_maint_new(zs_store_t *s, zc_t *cluster);
void dnssec_maint_free(dnssec_maint_t *m);

/**
 * One run at wall-clock time @p now (seconds). @return true when work was
 * left for lack of budget (re-sign batches): the caller runs again soon.
 */
bool dnssec_maint_run(dnssec_maint_t *m, uint64_t now);

#endif
