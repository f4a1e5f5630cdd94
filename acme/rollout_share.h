/* SPDX-License-Identifier: MIT */
/*
 * rollout_share.h -- rollout evidence between the nodes of a cluster
 * (issue 15): each node that does not steer a running rollout publishes
 * the newest samples its own evidence rings took for the rollout's shard
 * (all sources: syslog, JSON lines and beacons, its probes) as ONE etcd
 * value under its lease (zc_share_put, "ev/<cert id>"); the steering node
 * reads the other nodes' values each tick and feeds the samples it has not
 * taken yet into its windows.
 *
 * The value (JSON text, at most RSH_VALUE_MAX bytes):
 *   {"v": 1, "epoch": E, "cand": "SERIAL",
 *    "s": [[seq, pool, ok, hs_us, proto, source, "serial", "err"], ...]}
 * epoch   the publisher's run of this rollout (a fresh random number when it
 *         starts publishing it, e.g. after a restart): sequence numbers
 *         count within one epoch
 * cand    the rollout's candidate serial (upper-case hex): another
 *         candidate's batch is not read
 * s       at most RSH_MAX samples, oldest first, seq strictly increasing
 *         from 1 within the epoch; pool 0 stable, 1 canary; ok 0|1; hs_us
 *         the handshake in microseconds (0 unknown); proto REV_TLS*; source
 *         REV_SRC_*; serial the certificate presented ("" unknown); err the
 *         failure ("" exactly when ok)
 * The publisher keeps its newest RSH_MAX samples and republishes them with
 * each new one, so a reader that missed a put loses nothing unless more than
 * RSH_MAX samples arrived between two of its reads; it takes each
 * (epoch, seq) once.
 */
#ifndef DNSD_ACME_ROLLOUT_SHARE_H
#define DNSD_ACME_ROLLOUT_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "acme/rollout_ev.h"

#define RSH_MAX       512
#define RSH_VALUE_MAX (RSH_MAX * 260 + 256) /* bytes: a full batch of the longest samples */

typedef struct rsh_entry {
    uint64_t seq;
    uint8_t pool;    /* ACME_POOL_* */
    rev_sample_t s;  /* ok, hs_us, proto, source, serial, err (the rest zero) */
} rsh_entry_t;

typedef struct rsh_batch {
    uint64_t epoch;
    char cand[72];
    size_t n;
    rsh_entry_t e[RSH_MAX];
} rsh_batch_t;

/** Encode @p b (n <= RSH_MAX): a malloc'd NUL-ended JSON text, its length in *@p len. */
char *rsh_encode(const rsh_batch_t *b, size_t *len);

/**
 * Decode a value read from etcd (outside input: checked in full).
 * @return 0 with @p b filled, or -1 with @p why (a sentence naming what was
 * wrong) and @p b's n 0.
 */
int rsh_decode(const void *buf, size_t len, rsh_batch_t *b, char *why, size_t whycap);

#endif
