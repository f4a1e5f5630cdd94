/* SPDX-License-Identifier: MIT */
/*
 * evidence.h -- rollout evidence into dnsd (issue 15): TLS handshake
 * outcomes from HAProxy's syslog lines (rollout-syslog-listen), JSON lines
 * on a local socket (rollout-evidence-socket) and dnsd's own probes
 * (rollout-probe-interval), each mapped to the shard and pool of the load
 * balancer it names, kept in a bounded ring per (shard, pool) for the
 * rollout controller on the ACME thread (evidence_fn, acme/rollout.h).
 * Threads of its own (a receiver and a prober); never a query worker.
 */
#ifndef DNSD_EVIDENCE_H
#define DNSD_EVIDENCE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "acme/rollout.h"
#include "dnsd/config.h"
#include "zones/store.h"

#define EVIDENCE_SYSLOG_PORT CONF_ROLLOUT_SYSLOG_PORT
#define EVIDENCE_RING        8192 /* samples kept per (shard, pool) */
#define EVIDENCE_CLIENTS     16   /* evidence socket connections at once */

/* dnsd_rollout_evidence_total{source,result} */
enum { EV_R_OK, EV_R_FAIL, EV_R_MALFORMED, EV_R_UNMATCHED, EV_R_N };
extern _Atomic uint64_t evidence_counts[REV_SRC_PROBE + 1][EV_R_N];
extern const char *const evidence_source_names[REV_SRC_PROBE + 1]; /* [0] unused */
extern const char *const evidence_result_names[EV_R_N];

typedef struct evidence evidence_t;

/**
 * Bind the syslog ports and the evidence socket of @p c (as root, before
 * the privilege drop and the chroot). @return 0 with *@p out (NULL when
 * nothing is configured and probes are off), or DNSD_ECONFIG with @p d.
 */
int evidence_bind(const config_t *c, evidence_t **out, diag_t *d);

/** The UDP port bound for rollout-syslog-listen address @p i (kernel-chosen with port 0). */
uint16_t evidence_syslog_port(const evidence_t *ev, int i);

/** Start the threads (after the drop) reading @p store's shards. NULL: nothing. */
int evidence_start(evidence_t *ev, zs_store_t *store, diag_t *d);

/** Stop the threads, close and unlink the socket, free. NULL: nothing. */
void evidence_free(evidence_t *ev);

/** acme_evidence_fn (acme/rollout.h): @p arg is the evidence_t. */
size_t evidence_fn(void *arg, const char *shard_id, int pool, int64_t since_ms, rev_sample_t *out,
                   size_t max);

/**
 * For the metrics: @p cb for each ring of the running evidence ingest, with
 * the samples appended to it since it was made (a ring goes with its shard).
 */
void evidence_rings(void (*cb)(void *arg, const char *id, int pool, uint64_t ok, uint64_t fail),
                    void *arg);

/**
 * Take one sample (parsed, t_ms 0) as the receiver does: stamp it, map it
 * to its shards and pools, count it, append it. For tests and the prober.
 */
void evidence_add(evidence_t *ev, rev_sample_t *s);

#endif
