/* SPDX-License-Identifier: MIT */
/*
 * t_rollout_stats.c -- the rollout analyzer and decision rule
 * (acme/rollout_stats.c): Welford against two-pass figures, merge, window
 * expiry, the two-proportion z-test and Mann-Whitney U against reference
 * values computed independently (see each test), every rs_decide branch,
 * policy keys and their errors, the JSON round trip.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/rollout_ev.h"
#include "acme/rollout_stats.h"
#include "tests/tap.h"

/* counting allocations, as t_noalloc does (not under ASan, whose allocator is not glibc's) */
#if defined(__SANITIZE_ADDRESS__)
#define NOALLOC_SKIP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NOALLOC_SKIP 1
#endif
#endif
#ifndef NOALLOC_SKIP
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static volatile int counting;
static volatile unsigned long allocs;
void *malloc(size_t n)
{
    allocs += counting;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    allocs += counting;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    allocs += counting;
    return __libc_realloc(p, n);
}
#endif

static bool near(double got, double want, double rel)
{
    double d = fabs(got - want);
    return d <= rel * fabs(want) || d < 1e-12;
}

#define is_near(got, want, rel, ...)                                                                       \
    do {                                                                                                   \
        double g_ = (got), w_ = (want);                                                                    \
        if (!ok(near(g_, w_, rel), __VA_ARGS__)) {                                                         \
            printf("#   got %.12g, want %.12g\n", g_, w_);                                                 \
        }                                                                                                  \
    } while (0)

/* Welford: mean and sample deviation against the two-pass textbook formulas. */
static void test_welford(void)
{
    double x[1000];
    uint32_t s = 12345;
    for (int i = 0; i < 1000; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = 1e6 + (double)(s >> 8) / 65536.0; /* a large offset: naive sums lose digits here */
    }
    double sum = 0;
    for (int i = 0; i < 1000; i++) {
        sum += x[i];
    }
    double mean = sum / 1000, ss = 0;
    for (int i = 0; i < 1000; i++) {
        ss += (x[i] - mean) * (x[i] - mean);
    }
    double sd = sqrt(ss / 999);

    rs_welford_t w = {0, 0, 0}, a = {0, 0, 0}, b = {0, 0, 0}, e = {0, 0, 0};
    for (int i = 0; i < 1000; i++) {
        rs_welford_add(&w, x[i]);
        rs_welford_add(i < 300 ? &a : &b, x[i]);
    }
    is_int(w.n, 1000, "welford: n");
    is_near(w.mean, mean, 1e-12, "welford: mean = two-pass mean");
    is_near(rs_welford_sd(&w), sd, 1e-9, "welford: sd = two-pass sample sd");
    rs_welford_merge(&a, &b);
    is_int(a.n, 1000, "merge: n");
    is_near(a.mean, mean, 1e-12, "merge: mean = two-pass mean");
    is_near(rs_welford_sd(&a), sd, 1e-9, "merge: sd = two-pass sample sd");
    rs_welford_merge(&e, &w);
    is_near(e.mean, w.mean, 1e-15, "merge into empty: copy");
    rs_welford_t one = {0, 0, 0};
    rs_welford_add(&one, 5);
    is_near(rs_welford_sd(&one), 0, 0, "sd of one value: 0");
    /* {2,4,4,4,5,5,7,9}: mean 5, sample sd sqrt(32/7) (the classic example) */
    rs_welford_t c = {0, 0, 0};
    const double cl[] = {2, 4, 4, 4, 5, 5, 7, 9};
    for (int i = 0; i < 8; i++) {
        rs_welford_add(&c, cl[i]);
    }
    is_near(c.mean, 5, 1e-15, "classic set: mean 5");
    is_near(rs_welford_sd(&c), sqrt(32.0 / 7), 1e-12, "classic set: sd sqrt(32/7)");
}

/* Buckets: a sample leaves the window exactly a window after its bucket began. */
static void test_window(void)
{
    rs_pool_t p;
    rs_summary_t s;
    rs_pool_init(&p, 30); /* 30 buckets of 1 s */
    is_int(p.bucket_ms, 1000, "window 30 s: buckets of 1000 ms");
    rs_pool_add(&p, 0, true, 10000, REV_TLS13, "");
    rs_pool_add(&p, 500, false, 0, REV_TLS12, "handshake failure");
    rs_pool_add(&p, 15000, true, 20000, REV_TLS13, "");
    rs_pool_summary(&p, 29999, &s);
    is_int(s.n, 3, "all three in the window at 29.999 s");
    is_int(s.fails, 1, "one failure");
    is_near(s.fail_rate, 1.0 / 3, 1e-12, "fail rate 1/3");
    is_near(s.mean_ms, 15, 1e-12, "mean of the timed ok handshakes (10, 20 ms)");
    is_int(s.proto[REV_TLS13], 2, "proto mix: 2 x TLSv1.3");
    is_int(s.proto[REV_TLS12], 1, "proto mix: 1 x TLSv1.2");
    rs_pool_summary(&p, 30000, &s);
    is_int(s.n, 1, "at 30 s the first second's bucket has left");
    is_near(s.mean_ms, 20, 1e-12, "mean of what is left");
    rs_pool_summary(&p, 45000, &s);
    is_int(s.n, 0, "at 45 s: empty");
    is_near(s.fail_rate, 0, 0, "empty: fail rate 0");
    is_int(p.total, 3, "totals since init kept");
    is_int(p.total_fails, 1, "failures since init kept");
    /* a late sample whose bucket was reused counts in the totals only */
    rs_pool_add(&p, 100000, true, 1000, REV_TLS13, "");
    rs_pool_add(&p, 70000, true, 1000, REV_TLS13, "");
    rs_pool_summary(&p, 100000, &s);
    is_int(s.n, 1, "late sample (a window old) not in the window");
    is_int(p.total, 5, "but in the totals");
    /* a window that does not divide: buckets round up to cover it */
    rs_pool_init(&p, 10);
    is_int(p.bucket_ms, 334, "window 10 s: buckets of 334 ms");
}

static void test_errs_ewma(void)
{
    rs_pool_t p;
    rs_pool_init(&p, 300);
    char e[16];
    for (int i = 0; i < RS_ERRS + 3; i++) {
        snprintf(e, sizeof(e), "err%d", i);
        rs_pool_add(&p, 1000, false, 0, REV_TLS13, e);
    }
    rs_pool_add(&p, 1000, false, 0, REV_TLS13, "err0");
    rs_pool_add(&p, 1000, false, 0, REV_TLS13, "");
    is_str(p.errs[0].err, "err0", "first error text kept");
    is_int(p.errs[0].n, 2, "counted twice");
    is_str(p.errs[RS_ERRS].err, "other", "last slot: other");
    is_int(p.errs[RS_ERRS].n, 4, "3 more texts and the empty one go to other");

    rs_pool_init(&p, 300);
    rs_pool_add(&p, 0, false, 0, REV_TLS13, "x");
    is_near(p.ewma_fail, 1, 0, "ewma starts at the first sample");
    rs_pool_add(&p, 0, true, 10000, REV_TLS13, "");
    is_near(p.ewma_fail, 0.95, 1e-12, "ewma: 1 + 0.05 (0 - 1)");
    is_near(p.ewma_ms, 10, 1e-12, "ewma_ms starts at the first timed sample");
    rs_pool_add(&p, 0, true, 20000, REV_TLS13, "");
    is_near(p.ewma_ms, 10.5, 1e-12, "ewma_ms: 10 + 0.05 (20 - 10)");
}

static void add_n(rs_pool_t *p, int64_t t, int n, int fails, uint32_t hs_us)
{
    for (int i = 0; i < n; i++) {
        rs_pool_add(p, t, i >= fails, i >= fails ? hs_us : 0, REV_TLS13, i >= fails ? "" : "bad certificate");
    }
}

/*
 * The z-test. Reference: stable 10/1000 failures, canary 20/500, margin
 * 0.5 %: pbar = 0.02, se = sqrt(0.02 * 0.98 * (1/1000 + 1/500)),
 * z = (0.04 - 0.01 - 0.005) / se = 3.2602533184831315, and the upper tail
 * from python3's statistics.NormalDist (its own inverse-CDF-free cdf, not
 * erfc): 1 - NormalDist().cdf(z) = 0.0005565637402240586.
 */
static void test_ztest(void)
{
    rs_policy_t pol;
    rs_policy_default(&pol);
    static rs_pool_t st, ca;
    rs_pool_init(&st, 300);
    rs_pool_init(&ca, 300);
    add_n(&st, 1000, 1000, 10, 0);
    add_n(&ca, 1000, 500, 20, 0);
    rs_verdict_t v;
    rs_compare(&pol, &st, &ca, 2000, &v);
    is_near(v.z_fail, 3.2602533184831315, 1e-9, "z of the two-proportion test");
    is_near(v.p_fail, 0.0005565637402240586, 1e-6, "its one-sided p");
    is_int(v.outcome, RS_WORSE_FAIL, "p < alpha 0.001: worse (failures)");
    ok(strstr(v.why, "canary fails more") != NULL, "why: %s", v.why);
    is_near(v.p_time, 1, 0, "no times: Mann-Whitney not computed (p 1)");

    /* the same rates with a 3.5 % margin: not worse */
    pol.fail_margin = 0.035;
    rs_compare(&pol, &st, &ca, 2000, &v);
    is_int(v.outcome, RS_NOT_WORSE, "within a 3.5 %% margin: not worse");
    ok(v.z_fail < 0, "z below 0");

    /* no failures anywhere: not computed, not worse */
    rs_policy_default(&pol);
    rs_pool_init(&st, 300);
    rs_pool_init(&ca, 300);
    add_n(&st, 1000, 300, 0, 0);
    add_n(&ca, 1000, 300, 0, 0);
    rs_compare(&pol, &st, &ca, 2000, &v);
    is_int(v.outcome, RS_NOT_WORSE, "no failures: not worse");
    is_near(v.p_fail, 1, 0, "no failures: p 1");

    /* min samples */
    rs_pool_init(&ca, 300);
    add_n(&ca, 1000, 199, 199, 0);
    rs_compare(&pol, &st, &ca, 2000, &v);
    is_int(v.outcome, RS_SHORT, "199 canary samples < 200: short, however bad");
    ok(strstr(v.why, "n=199") != NULL, "why names the count: %s", v.why);
    rs_pool_add(&ca, 1000, false, 0, REV_TLS13, "x");
    rs_compare(&pol, &st, &ca, 2000, &v);
    is_int(v.outcome, RS_WORSE_FAIL, "the 200th sample: judged, worse");
    rs_compare(&pol, &st, &ca, 1000 + 301000, &v);
    is_int(v.outcome, RS_SHORT, "a window later the evidence has expired: short");
}

/*
 * Mann-Whitney. Reference by a different method: U = the number of pairs
 * (canary x, stable y) with x > y plus half the ties, counted pair by pair
 * in python3 (87.5); tie-corrected variance n1 n2 / 12 ((n + 1) - sum(t^3 -
 * t) / (n (n - 1))), continuity correction 0.5: z = 2.260724096453436, p =
 * 1 - NormalDist().cdf(z) = 0.011888173684120207.
 */
static void test_mann_whitney(void)
{
    const double canary[] = {12, 15, 15, 18, 20, 22, 22, 25, 30, 31};
    const double stable[] = {10, 11, 12, 12, 14, 15, 16, 17, 18, 19, 21};
    rs_policy_t pol;
    rs_policy_default(&pol);
    pol.min_samples = 5;
    static rs_pool_t st, ca;
    rs_pool_init(&st, 300);
    rs_pool_init(&ca, 300);
    for (size_t i = 0; i < sizeof(canary) / sizeof(canary[0]); i++) {
        rs_pool_add(&ca, 1000 + (int64_t)i, true, (uint32_t)(canary[i] * 1000), REV_TLS13, "");
    }
    for (size_t i = 0; i < sizeof(stable) / sizeof(stable[0]); i++) {
        rs_pool_add(&st, 1000 + (int64_t)i, true, (uint32_t)(stable[i] * 1000), REV_TLS13, "");
    }
    rs_verdict_t v;
    rs_compare(&pol, &st, &ca, 5000, &v);
    is_near(v.u, 87.5, 1e-12, "U = pairs counted one by one");
    is_near(v.z_time, 2.260724096453436, 1e-9, "z with tie and continuity correction");
    is_near(v.p_time, 0.011888173684120207, 1e-6, "one-sided p");
    is_near(v.time_ratio, 21.0 / (165.0 / 11), 1e-6, "mean ratio 21 / 15");
    is_int(v.outcome, RS_NOT_WORSE, "p 0.0119 > alpha 0.001: not worse");
    pol.alpha = 0.02;
    rs_compare(&pol, &st, &ca, 5000, &v);
    is_int(v.outcome, RS_NOT_WORSE, "alpha 0.02, ratio 1.4 within the default 50 %% margin: not worse");
    pol.time_margin = 0.25;
    rs_compare(&pol, &st, &ca, 5000, &v);
    is_int(v.outcome, RS_WORSE_TIME, "alpha 0.02 and ratio 1.4 > 1.25: worse (time)");
    ok(strstr(v.why, "slower") != NULL, "why: %s", v.why);
    pol.time_margin = 0.5;
    rs_compare(&pol, &st, &ca, 5000, &v);
    is_int(v.outcome, RS_NOT_WORSE, "ratio 1.4 within a 50 %% margin: not worse");

    /* the other way round: stable slower, never "canary slower" */
    rs_policy_default(&pol);
    pol.min_samples = 5;
    pol.alpha = 0.5;
    rs_compare(&pol, &ca, &st, 5000, &v);
    is_near(v.u, 110 - 87.5, 1e-12, "swapped: U' = n1 n2 - U");
    ok(v.p_time > 0.9, "swapped: p near 1 (%g)", v.p_time);
    is_int(v.outcome, RS_NOT_WORSE, "a faster canary is not worse");

    /* the reservoir keeps the last RS_RESERVOIR times, and only in the window */
    rs_pool_init(&st, 300);
    for (int i = 0; i < RS_RESERVOIR + 100; i++) {
        rs_pool_add(&st, i, true, 1000, REV_TLS13, "");
    }
    is_int(st.res_n, RS_RESERVOIR, "reservoir full");
    is_int(st.res_next, 100, "and wrapped");
}

/* Large samples: the rollback of a clearly worse canary, and no false alarm on equal pools. */
static void test_large(void)
{
    rs_policy_t pol;
    rs_policy_default(&pol);
    static rs_pool_t st, ca;
    rs_pool_init(&st, 300);
    rs_pool_init(&ca, 300);
    uint32_t s = 7;
    for (int i = 0; i < 5000; i++) {
        s = s * 1103515245u + 12345u;
        uint32_t t = 20000 + (s >> 16) % 10000;
        rs_pool_add(&st, i * 10, true, t, REV_TLS13, "");
        rs_pool_add(&ca, i * 10, true, t + 15000, REV_TLS13, ""); /* 15 ms slower, ~1.6 x */
    }
    rs_verdict_t v;
    rs_compare(&pol, &st, &ca, 50000, &v);
    is_int(v.outcome, RS_WORSE_TIME, "1.6 x slower over thousands: worse (time)");
    ok(v.p_time < 1e-10, "p tiny (%g)", v.p_time);
    rs_compare(&pol, &st, &st, 50000, &v);
    is_int(v.outcome, RS_NOT_WORSE, "a pool against itself: not worse");
    ok(v.p_time > 0.4 && v.p_time < 0.6, "itself: U p about 0.5 (%g)", v.p_time);
}

/* The header's promise: no allocation after rs_pool_init (add, summary, compare, decide). */
static void test_noalloc(void)
{
#ifdef NOALLOC_SKIP
    ok(1, "# SKIP allocation counting does not work under ASan");
#else
    rs_policy_t pol;
    rs_policy_default(&pol);
    static rs_pool_t st, ca;
    rs_pool_init(&st, 300);
    rs_pool_init(&ca, 300);
    rs_state_t state = {.step = 0};
    rs_verdict_t v;
    rs_summary_t sum;
    char why[256];
    uint16_t next;
    uint32_t x = 1;
    counting = 1;
    for (int i = 0; i < 3000; i++) {
        x = x * 1103515245u + 12345u;
        rs_pool_add(&st, i * 100, (x >> 8) % 100 != 0, 20000 + (x >> 16) % 5000, REV_TLS13, "reset");
        rs_pool_add(&ca, i * 100, (x >> 9) % 50 != 0, 21000 + (x >> 17) % 5000, REV_TLS12, "unknown ca");
        if (i % 100 == 99) {
            rs_pool_summary(&ca, i * 100, &sum);
            rs_compare(&pol, &st, &ca, i * 100, &v);
            rs_decide(&pol, &state, &v, i * 100, &next, why, sizeof(why));
        }
    }
    counting = 0;
    is_int(allocs, 0, "3000 handshakes per pool, 30 comparisons (1024 times sorted) and decisions: no allocation");
#endif
}

static rs_verdict_t verdict(int outcome, uint32_t cn)
{
    rs_verdict_t v;
    memset(&v, 0, sizeof(v));
    v.outcome = outcome;
    v.canary.n = cn;
    v.p_fail = v.p_time = 1;
    snprintf(v.why, sizeof(v.why), "figures");
    return v;
}

static void test_decide(void)
{
    rs_policy_t pol;
    rs_policy_default(&pol);
    rs_state_t st = {.step = -1, .started_ms = 0, .step_started_ms = 0};
    uint16_t next = 0;
    char why[256];
    rs_verdict_t notworse = verdict(RS_NOT_WORSE, 1000), shrt = verdict(RS_SHORT, 10),
                 fail = verdict(RS_WORSE_FAIL, 1000), slow = verdict(RS_WORSE_TIME, 1000),
                 shrt_c = verdict(RS_SHORT, 1000);

    is_int(rs_decide(&pol, &st, &shrt, 0, &next, why, sizeof(why)), RS_STEP, "step -1: the first step");
    is_int(next, 500, "to 5 %%");
    st.step = 0;
    st.step_started_ms = 0;

    st.paused = true;
    is_int(rs_decide(&pol, &st, &fail, 1000, &next, why, sizeof(why)), RS_HOLD, "paused: hold, even if worse");
    ok(strstr(why, "paused") != NULL, "why: %s", why);
    st.paused = false;

    is_int(rs_decide(&pol, &st, &shrt, 1000, &next, why, sizeof(why)), RS_HOLD, "short: hold");
    ok(strstr(why, "max-duration") == NULL, "not past max-duration: %s", why);
    is_int(rs_decide(&pol, &st, &shrt, 86400000, &next, why, sizeof(why)), RS_HOLD, "short past max-duration: hold");
    ok(strstr(why, "max-duration") != NULL, "why says so: %s", why);

    rs_state_t s2 = st;
    is_int(rs_decide(&pol, &s2, &fail, 1000, &next, why, sizeof(why)), RS_ROLLBACK, "worse failures: rollback");
    ok(strstr(why, "rollback") != NULL, "why: %s", why);
    s2 = st;
    is_int(rs_decide(&pol, &s2, &slow, 1000, &next, why, sizeof(why)), RS_HOLD, "only slower, slow=hold: hold");
    pol.slow_rollback = true;
    is_int(rs_decide(&pol, &s2, &slow, 1000, &next, why, sizeof(why)), RS_ROLLBACK, "only slower, slow=rollback");
    pol.slow_rollback = false;

    /* not worse: a whole window (300 s) of it before the next step */
    is_int(rs_decide(&pol, &st, &notworse, 10000, &next, why, sizeof(why)), RS_HOLD, "not worse at 10 s: hold");
    is_int(st.ok_since_ms, 10000, "ok since 10 s");
    is_int(rs_decide(&pol, &st, &notworse, 309999, &next, why, sizeof(why)), RS_HOLD, "299.999 s of it: hold");
    /* a short verdict in between restarts the count */
    rs_state_t s3 = st;
    rs_decide(&pol, &s3, &shrt, 200000, &next, why, sizeof(why));
    is_int(s3.ok_since_ms, 0, "short evidence breaks the run");
    is_int(rs_decide(&pol, &s3, &notworse, 310000, &next, why, sizeof(why)), RS_HOLD, "and it starts again");
    next = 0;
    is_int(rs_decide(&pol, &st, &notworse, 310000, &next, why, sizeof(why)), RS_STEP, "300 s not worse: step");
    is_int(next, 1000, "to 10 %%");
    ok(strstr(why, "5.00% -> 10.00%") != NULL, "why: %s", why);

    /* the last step: short stable evidence does not hold it; a window there promotes */
    st.step = 4;
    st.step_started_ms = 1000000;
    st.ok_since_ms = 0;
    is_int(rs_decide(&pol, &st, &shrt_c, 1200000, &next, why, sizeof(why)), RS_HOLD, "at 100 %% for 200 s: hold");
    is_int(rs_decide(&pol, &st, &shrt, 1300000, &next, why, sizeof(why)), RS_HOLD,
           "at 100 %%, canary short too: hold");
    is_int(rs_decide(&pol, &st, &shrt_c, 1300000, &next, why, sizeof(why)), RS_PROMOTE,
           "at 100 %% for 300 s, stable short: promote");
    is_int(next, 10000, "promote: 10000");
    s2 = st;
    is_int(rs_decide(&pol, &s2, &fail, 1300000, &next, why, sizeof(why)), RS_ROLLBACK, "at 100 %%, worse: rollback");

    /* urgent: 25 % then 100 %, a quarter of the window */
    rs_state_t u = {.step = 0, .started_ms = 0, .step_started_ms = 0, .urgent = true};
    uint16_t steps[RS_STEPS_MAX];
    is_int(rs_steps(&pol, true, steps), 2, "urgent: two steps");
    is_int(steps[0], 2500, "urgent: 25 %% first");
    is_int(rs_steps(&pol, false, steps), 5, "normal: five steps");
    rs_decide(&pol, &u, &notworse, 1000, &next, why, sizeof(why));
    is_int(rs_decide(&pol, &u, &notworse, 75999, &next, why, sizeof(why)), RS_HOLD, "urgent: 74.999 s: hold");
    is_int(rs_decide(&pol, &u, &notworse, 76000, &next, why, sizeof(why)), RS_STEP, "urgent: 75 s: step");
    is_int(next, 10000, "urgent: to 100 %%");

    is_str(rs_action_name(RS_HOLD), "hold", "name hold");
    is_str(rs_action_name(RS_STEP), "step", "name step");
    is_str(rs_action_name(RS_ROLLBACK), "rollback", "name rollback");
    is_str(rs_action_name(RS_PROMOTE), "promote", "name promote");
}

static void test_policy(void)
{
    rs_policy_t p, q;
    char why[256];
    rs_policy_default(&p);
    is_int(p.nsteps, 5, "default: 5 steps");
    is_int(p.steps[0], 500, "default: 5 %% first");
    is_int(p.window_s, 300, "default window");
    is_int(p.min_samples, 200, "default min samples");
    is_near(p.alpha, 0.001, 0, "default alpha 0.001");
    is_near(p.time_margin, 0.5, 0, "default time margin 50 %%");

    is_int(rs_policy_set(&p, "steps", "1,2.5,12.25,100", why, sizeof(why)), 0, "steps with decimals");
    is_int(p.nsteps, 4, "4 steps");
    is_int(p.steps[0], 100, "1 %% = 100");
    is_int(p.steps[1], 250, "2.5 %% = 250");
    is_int(p.steps[2], 1225, "12.25 %% = 1225");
    is_int(rs_policy_set(&p, "window", "5m", why, sizeof(why)), 0, "window 5m");
    is_int(p.window_s, 300, "= 300 s");
    is_int(rs_policy_set(&p, "window", "10s", why, sizeof(why)), 0, "window 10s");
    is_int(p.window_s, 10, "= 10 s");
    is_int(rs_policy_set(&p, "max-duration", "2d", why, sizeof(why)), 0, "max-duration 2d");
    is_int(p.max_duration_s, 172800, "= 172800 s");
    is_int(rs_policy_set(&p, "urgent", "0", why, sizeof(why)), 0, "urgent 0 (never)");
    is_int(rs_policy_set(&p, "fail-margin", "0.5", why, sizeof(why)), 0, "fail-margin");
    is_near(p.fail_margin, 0.005, 1e-15, "0.5 %% = 0.005");
    is_int(rs_policy_set(&p, "time-margin", "40", why, sizeof(why)), 0, "time-margin");
    is_near(p.time_margin, 0.4, 1e-15, "40 %% = 0.4");
    is_int(rs_policy_set(&p, "alpha", "0.002", why, sizeof(why)), 0, "alpha");
    is_int(rs_policy_set(&p, "min-samples", "20", why, sizeof(why)), 0, "min-samples");
    is_int(rs_policy_set(&p, "ttl", "60", why, sizeof(why)), 0, "ttl");
    is_int(rs_policy_set(&p, "slow", "rollback", why, sizeof(why)), 0, "slow rollback");
    ok(p.slow_rollback, "slow_rollback set");

    static const struct {
        const char *k, *v, *named;
    } bad[] = {
        {"steps", "5,10,50", "last step"},      {"steps", "10,5,100", "ascending"},
        {"steps", "0,100", "steps"},            {"steps", "5,101", "steps"},
        {"steps", "5,,100", "steps"},           {"steps", "1.234,100", "steps"},
        {"steps", "1,2,3,4,5,6,7,8,100", "more than 8"},
        {"window", "0", "window"},              {"window", "5x", "window"},
        {"window", "2d", "window"},             {"window", "", "window"},
        {"min-samples", "0", "min-samples"},    {"min-samples", "1.5", "min-samples"},
        {"min-samples", "-3", "min-samples"},   {"fail-margin", "abc", "fail-margin"},
        {"fail-margin", "101", "fail-margin"},  {"time-margin", "-1", "time-margin"},
        {"alpha", "0", "alpha"},                {"alpha", "0.9", "alpha"},
        {"max-duration", "0", "max-duration"},  {"ttl", "0", "ttl"},
        {"ttl", "2d", "ttl"},                   {"urgent", "-1", "urgent"},
        {"slow", "maybe", "slow"},              {"speed", "1", "speed"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        q = p;
        why[0] = 0;
        int rc = rs_policy_set(&q, bad[i].k, bad[i].v, why, sizeof(why));
        ok(rc == -1 && strstr(why, bad[i].named) && memcmp(&q, &p, sizeof(p)) == 0, "%s=%s refused: %s", bad[i].k,
           bad[i].v, why);
    }

    /* what the operator typed comes back printable (fuzz_rpolicy found raw bytes echoed) */
    q = p;
    rs_policy_set(&q, "fail-margin", "\xe1" "bc\n\"x", why, sizeof(why));
    is_str(why, "fail-margin: \"\\xe1bc\\x0a\\\"x\" is not a percentage from 0 to 100",
           "a bad value is shown with \\xNN escapes");
    rs_policy_set(&q, "sp\x1b[2Jeed", "1", why, sizeof(why));
    ok(strncmp(why, "unknown policy key \"sp\\x1b[2Jeed\"", 33) == 0, "an unknown key too: %s", why);
    char longv[200];
    memset(longv, '9', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = 0;
    rs_policy_set(&q, "window", longv, why, sizeof(why));
    ok(strstr(why, "...\" is not a duration") != NULL && strlen(why) < 120, "a long value is cut: %s", why);

    /* JSON round trip */
    json_t *j = rs_policy_json(&p);
    ok(j != NULL, "policy JSON");
    rs_policy_default(&q);
    is_int(rs_policy_from_json(&q, j, why, sizeof(why)), 0, "read back");
    ok(memcmp(&p, &q, sizeof(p)) == 0, "round trip: the same policy");
    char *txt = json_dumps(j, JSON_SORT_KEYS);
    ok(txt && strstr(txt, "\"steps\": [100, 250, 1225, 10000]"), "JSON: %s", txt);
    free(txt);
    json_decref(j);

    json_t *empty = json_object();
    is_int(rs_policy_from_json(&q, empty, why, sizeof(why)), 0, "{}: defaults");
    rs_policy_default(&p);
    ok(memcmp(&p, &q, sizeof(p)) == 0, "{}: equal to the defaults");
    json_decref(empty);

    static const struct {
        const char *json, *named;
    } badj[] = {
        {"[]", "not a JSON object"},
        {"{\"steps\": [500, 400, 10000]}", "ascending"},
        {"{\"steps\": []}", "steps"},
        {"{\"steps\": [500, 20000]}", "steps"},
        {"{\"steps\": \"5,100\"}", "steps"},
        {"{\"window\": \"300\"}", "window"},
        {"{\"window\": 0}", "window"},
        {"{\"min_samples\": -1}", "min_samples"},
        {"{\"alpha\": \"x\"}", "alpha"},
        {"{\"alpha\": 2}", "alpha"},
        {"{\"slow\": 1}", "slow"},
    };
    for (size_t i = 0; i < sizeof(badj) / sizeof(badj[0]); i++) {
        json_t *b = json_loads(badj[i].json, JSON_DECODE_ANY, NULL);
        q = p;
        why[0] = 0;
        int rc = rs_policy_from_json(&q, b, why, sizeof(why));
        ok(rc == -1 && strstr(why, badj[i].named) && memcmp(&q, &p, sizeof(p)) == 0, "%s refused: %s", badj[i].json,
           why);
        json_decref(b);
    }
}

static void test_verdict_json(void)
{
    rs_policy_t pol;
    rs_policy_default(&pol);
    static rs_pool_t st, ca;
    rs_pool_init(&st, 300);
    rs_pool_init(&ca, 300);
    add_n(&st, 1000, 1000, 10, 20000);
    add_n(&ca, 1000, 500, 20, 30000);
    rs_verdict_t v;
    rs_compare(&pol, &st, &ca, 2000, &v);
    json_t *j = rs_verdict_json(&v);
    ok(j != NULL, "verdict JSON");
    is_str(json_string_value(json_object_get(j, "outcome")), "worse-fail", "outcome");
    json_t *c = json_object_get(json_object_get(j, "pools"), "canary");
    is_int(json_integer_value(json_object_get(c, "n")), 500, "canary n");
    is_int(json_integer_value(json_object_get(c, "fails")), 20, "canary fails");
    is_near(json_real_value(json_object_get(c, "mean_ms")), 30, 1e-12, "canary mean");
    is_int(json_integer_value(json_object_get(json_object_get(c, "proto"), "TLSv1.3")), 500, "canary proto mix");
    is_near(json_real_value(json_object_get(j, "z_fail")), v.z_fail, 1e-15, "z_fail");
    is_near(json_real_value(json_object_get(j, "time_ratio")), 1.5, 1e-12, "time ratio");
    ok(json_string_value(json_object_get(j, "why")) != NULL, "why");
    json_decref(j);
}

int main(void)
{
    test_welford();
    test_window();
    test_errs_ewma();
    test_ztest();
    test_mann_whitney();
    test_large();
    test_noalloc();
    test_decide();
    test_policy();
    test_verdict_json();
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}
