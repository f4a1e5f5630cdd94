/* SPDX-License-Identifier: MIT */
/*
 * rollout_stats.h -- the analyzer and the decision rule of a certificate
 * rollout (issue #15). Pure computation: no I/O, no clock (times are
 * passed in, milliseconds), no allocation after rs_pool_init; used by the
 * controller (acme/rollout.h) and by `dnsctl rollout simulate`, so the
 * simulation runs the very code that steers real rollouts.
 *
 * Per pool (stable, canary) a sliding window of RS_BUCKETS time buckets
 * over policy.window_s: handshakes, failures, handshake time (Welford mean
 * and deviation), protocol mix and error counts; EWMAs of the failure rate
 * and handshake time; and the handshake times of the last RS_RESERVOIR
 * samples (with their times) for Mann-Whitney U.
 *
 * Comparison (rs_compare), canary against stable over the window, each
 * pool needing policy.min_samples:
 *   failures: one-sided two-proportion z-test of H0 "canary rate <= stable
 *     rate + fail_margin" (pooled standard error); worse when p < alpha;
 *   handshake time: Mann-Whitney U (normal approximation with tie
 *     correction) on the window's samples, one-sided "canary slower", and
 *     the mean ratio; worse when p < alpha AND canary mean > (1 +
 *     time_margin) x stable mean.
 * Decision (rs_decide): paused -> hold; short evidence -> hold (after
 * max_duration_s: hold, with why saying so); failures worse -> rollback;
 * only slower -> rollback if policy.slow_rollback else hold; not worse
 * over a whole window since the step began -> next step, and promote
 * after the last (10000). Urgent rollouts (a certificate near expiry) use
 * RS_URGENT_STEPS and a quarter of the window.
 */
#ifndef DNSD_ACME_ROLLOUT_STATS_H
#define DNSD_ACME_ROLLOUT_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RS_STEPS_MAX   8
#define RS_BUCKETS     30
#define RS_RESERVOIR   512
#define RS_ERRS        8   /* distinct error texts counted per pool (the rest: "other") */
#define RS_PROTOS      5   /* REV_TLS_UNKNOWN..REV_TLS13 */

/** Welford's running mean and variance. */
typedef struct rs_welford {
    uint64_t n;
    double mean, m2;
} rs_welford_t;
void rs_welford_add(rs_welford_t *w, double x);
void rs_welford_merge(rs_welford_t *into, const rs_welford_t *from);
double rs_welford_sd(const rs_welford_t *w); /* sample standard deviation, 0 when n < 2 */

/** A rollout's policy (stored as JSON in the shard's request: rs_policy_json). */
typedef struct rs_policy {
    uint16_t steps[RS_STEPS_MAX]; /* permyriad, strictly ascending, last 10000 */
    int nsteps;                   /* default 5: 500,1000,2500,5000,10000 */
    uint32_t window_s;            /* default 300 */
    uint32_t min_samples;         /* per pool within the window, default 200 */
    double fail_margin;           /* absolute, default 0.005 */
    double time_margin;           /* relative, default 0.5 (see ROLLOUT.md: clients differ between the pools) */
    double alpha;                 /* default 0.001 (see ROLLOUT.md: the test is repeated every tick) */
    uint32_t max_duration_s;      /* default 86400 */
    uint32_t ttl;                 /* pool records' TTL during a rollout, default 30 */
    uint32_t urgent_s;            /* less than this left on the current certificate: urgent, default 7 days */
    bool slow_rollback;           /* only slower: rollback (true) or hold (false, default) */
} rs_policy_t;

#define RS_URGENT_STEPS {2500, 10000}

void rs_policy_default(rs_policy_t *p);
/**
 * Set one key (steps=5,10,25,50,100 in percent with up to 2 decimals,
 * window=300, min-samples=200, fail-margin=0.5 in percent, time-margin=50 in
 * percent, alpha=0.001, max-duration=86400, ttl=30, urgent=604800,
 * slow=rollback|hold). Durations accept s/m/h/d suffixes.
 * @return 0, or -1 with @p why naming the key and what was wrong (p unchanged).
 */
int rs_policy_set(rs_policy_t *p, const char *key, const char *value, char *why, size_t whycap);
json_t *rs_policy_json(const rs_policy_t *p);
/** From JSON written by rs_policy_json (missing keys: defaults). -1 with @p why when invalid. */
int rs_policy_from_json(rs_policy_t *p, const json_t *j, char *why, size_t whycap);

/** One pool's window. Plain data: copy it by value. */
typedef struct rs_bucket {
    int64_t start_ms; /* bucket's start, a multiple of the bucket length */
    uint32_t n, fails;
    rs_welford_t hs_ms; /* handshake times of completed handshakes with a time */
    uint32_t proto[RS_PROTOS];
} rs_bucket_t;

typedef struct rs_pool {
    uint32_t window_ms, bucket_ms;
    rs_bucket_t b[RS_BUCKETS];
    struct { char err[48]; uint32_t n; } errs[RS_ERRS + 1]; /* since init; last: "other" */
    double ewma_fail, ewma_ms; /* alpha 0.05 per sample */
    uint64_t total, total_fails;
    uint32_t res_next, res_n;
    struct { int64_t t_ms; float ms; } res[RS_RESERVOIR];
} rs_pool_t;

void rs_pool_init(rs_pool_t *p, uint32_t window_s);
/** Add one handshake (@p hs_us 0: no time). @p proto is REV_TLS*; @p err "" when ok. */
void rs_pool_add(rs_pool_t *p, int64_t t_ms, bool ok, uint32_t hs_us, uint8_t proto, const char *err);

/** A pool's figures over the window ending at now. */
typedef struct rs_summary {
    uint32_t n, fails;
    double fail_rate, mean_ms, sd_ms, ewma_fail, ewma_ms;
    uint32_t proto[RS_PROTOS];
} rs_summary_t;
void rs_pool_summary(const rs_pool_t *p, int64_t now_ms, rs_summary_t *out);

enum { RS_SHORT = 0, RS_NOT_WORSE = 1, RS_WORSE_FAIL = 2, RS_WORSE_TIME = 3 };
typedef struct rs_verdict {
    int outcome; /* RS_* */
    rs_summary_t stable, canary;
    double z_fail, p_fail;   /* two-proportion test (p 1 when not computed) */
    double u, z_time, p_time; /* Mann-Whitney */
    double time_ratio;       /* canary mean / stable mean (0: unknown) */
    char why[160];
} rs_verdict_t;
void rs_compare(const rs_policy_t *pol, const rs_pool_t *stable, const rs_pool_t *canary,
                int64_t now_ms, rs_verdict_t *out);

/** The controller's position. */
typedef struct rs_state {
    int step;                 /* index into the steps in use; -1 before the first */
    int64_t started_ms;       /* rollout start */
    int64_t step_started_ms;  /* when the current step began */
    int64_t ok_since_ms;      /* not worse continuously since (0: not now) */
    bool paused, urgent;
} rs_state_t;

typedef enum { RS_HOLD = 0, RS_STEP = 1, RS_ROLLBACK = 2, RS_PROMOTE = 3 } rs_action_t;
/**
 * Decide from @p v at @p now_ms; updates @p st->ok_since_ms. On RS_STEP,
 * *@p next is the new permyriad (the caller then sets step, step_started_ms).
 * @p why gets one sentence with the figures that decided.
 */
rs_action_t rs_decide(const rs_policy_t *pol, rs_state_t *st, const rs_verdict_t *v,
                      int64_t now_ms, uint16_t *next, char *why, size_t whycap);
/** The steps in use (urgent or not): count, and the array in @p out. */
int rs_steps(const rs_policy_t *pol, bool urgent, uint16_t out[RS_STEPS_MAX]);
/** The verdict's figures as JSON (a decision's evidence record, `rollout status`). */
json_t *rs_verdict_json(const rs_verdict_t *v);
const char *rs_action_name(rs_action_t a); /* "hold" "step" "rollback" "promote" */

#endif
