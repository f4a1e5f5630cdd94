/* SPDX-License-Identifier: MIT */
/*
 * rollout.h -- the rollout controller of issue #15: a shard's new
 * certificate first reaches a canary share of its region's clients, and
 * the share moves on measured TLS handshakes (acme/rollout_stats.h) until
 * promotion, or rolls back. Runs on the ACME thread (it writes the store
 * and deploys); dnsd feeds it evidence through acme_cfg_t.evidence.
 *
 * Shard request (acme/shard.h "shard" object, written by dnsctl) gains:
 *   "canary_lb": ["addr[:port]", ...]  the canary pool (1..ACME_SHARD_LB_MAX)
 *   "canary_hook": "command"           deploys a bundle to the canary pool
 *   "rollout": "adaptive" | "off"      default adaptive when canary_lb is set
 *   "rollout_policy": {...}            rs_policy_json(); absent: defaults
 *
 * Store (certs sub-database, JSON, acme/certdb.h):
 *   "rollout:<shard id>" -> {"req": {...}, "state": {...}}
 *     req   -- dnsctl only: {"seq": n, "action": "pause"|"resume"|"abort"|
 *              "promote", "at": time} (the controller acts when seq >
 *              state.seq_done)
 *     state -- dnsd only: {"status": "running"|"paused"|"promoted"|
 *              "rolled-back"|"aborted", "seq_done", "serial_new",
 *              "serial_old", "cert": {...the candidate, as state.cert of
 *              certdb.h}, "step", "permyriad", "urgent", "started",
 *              "step_started", "ended", "last": rs_verdict_json() of the
 *              latest evaluation with "at"}
 *   "rollout-log:<shard id>:<%08u seq>" -> one decision: {"at", "action",
 *              "from", "to" (permyriad), "why", "evidence": rs_verdict_json}
 *
 * Flow. When a shard with a canary pool (and rollout not "off") gets a new
 * certificate, it becomes the rollout's candidate instead of the shard's
 * current certificate: written to cert-dir/regions/<R>/canary/, the
 * canary hook run with the same variables as the shard hook; then ONE
 * write transaction: the canary pool's A/AAAA records in R's canary region
 * (zones/rollout.h) with policy.ttl, the stable pool's records with
 * policy.ttl, the split entry at the first step with a fresh random key,
 * the rollout state "running" and a "start" log record. Each controller
 * tick (ACME_ROLLOUT_TICK_MS) takes new evidence, runs rs_compare and
 * rs_decide, and applies the action as one transaction (split, state, log
 * record together). Promotion: the candidate becomes the shard's current
 * certificate through the normal issuance/deploy path (stable pool, TLSA
 * and generation records), and in that transaction the split entry and the
 * canary records go and the TTLs return to the shard's ttl. Rollback and
 * abort: the split entry and canary records go, TTLs return, the candidate
 * is kept in the shard's history with outcome "rolled-back" (the shard
 * keeps its current certificate), an error line is logged, and no new
 * order is made for the shard before its next renewal time. An urgent
 * rollout (the current certificate has less than policy.urgent_s left, or
 * none) uses RS_URGENT_STEPS; a shard without a current certificate at all
 * (first issuance) is not rolled out.
 *
 * Cluster: the node holding task lock "rollout/<id>" steers. Every node
 * deploys the candidate to its own canary pool (cert-dir, canary hook) and
 * records {serial, ok, at, why} as "canary" in its "deploy:<id>:<node>"
 * record; the split opens once every live node recorded it (a failure on
 * any node rolls back; a node silent for 120 s is left out, logged). The
 * other nodes publish their evidence for the steering node through etcd
 * (acme/rollout_share.h).
 */
#ifndef DNSD_ACME_ROLLOUT_H
#define DNSD_ACME_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "acme/rollout_ev.h"

#define ACME_ROLLOUT_TICK_MS 2000
#define ACME_DB_ROLLOUT     "rollout:"
#define ACME_DB_ROLLOUT_LOG "rollout-log:"

enum { ACME_POOL_STABLE = 0, ACME_POOL_CANARY = 1 };

/**
 * Evidence source (set by dnsd in acme_cfg_t.evidence): copy at most @p max
 * samples of shard @p shard_id's pool @p pool received after @p since_ms
 * (oldest first) to @p out; @return how many. Called on the ACME thread;
 * the implementation may lock (never a query worker's lock).
 */
typedef size_t (*acme_evidence_fn)(void *arg, const char *shard_id, int pool, int64_t since_ms,
                                   rev_sample_t *out, size_t max);

#endif
