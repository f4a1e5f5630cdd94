/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_rollout_sim.c -- `dnsctl rollout simulate`: a deterministic
 * simulation of a certificate rollout (issue #15) that compares the
 * adaptive controller -- acme/rollout_stats.c's rs_compare and rs_decide,
 * the very code dnsd runs -- with fixed schedules, on the same seeded
 * client population and the same stream of handshakes.
 *
 * Model (every figure a constant below, documented in ROLLOUT.md):
 *   - N client /24 prefixes (--clients, default 20,000) in three regions
 *     (eu 40 %, us 35 %, ap 25 %), each with its own split entry and key;
 *     query weights Zipf-like (rank^-0.9, ranks shuffled), handshakes a
 *     Poisson stream of --rate per second over --hours;
 *   - client kinds: modern (TLS 1.3), old (8 %: TLS 1.2, RSA only, a
 *     handshake of two round trips; half of them lack the new CA's root),
 *     and in region ap 30 % of the clients behind a middlebox;
 *   - a client is in the canary when zs_rollout_bucket() of its prefix
 *     under its region's seeded key is below p: the production split;
 *   - handshake time: the client's round trip (log-normal per client
 *     around its region's median, jittered per handshake) plus the
 *     server's signature (0.5 ms ECDSA, 1.5 ms RSA 2048, 12 ms RSA 4096);
 *   - background failures 0.2 % of handshakes (noisy: 1 %, heavier jitter,
 *     and every 2 h a 10-minute burst failing half the handshakes of 3 %
 *     of the clients, on both pools).
 * Schedules: adaptive (policy defaults, changed by KEY=VALUE arguments as
 * `rollout policy` takes them; the controller ticks every 10 s of
 * simulated time on the handshakes seen), all-at-once, and 5, 25, 50,
 * 100 % ten minutes (about the adaptive's time to 100 % for a good
 * certificate), one hour or six hours apart. Every schedule also has an operator who
 * rolls a region back --operator-delay after the new certificate's first
 * failure there (default 2 h; 0: never).
 * Results per scenario and schedule: clients (and handshakes) that got the
 * new certificate, clients (and handshakes) it failed, when it reached
 * every client, and how each region ended.
 */
#include "tools/dnsctl.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acme/rollout_ev.h"
#include "acme/rollout_stats.h"
#include "zones/base/xalloc.h"
#include "zones/rollout.h"

/* ---- the model's constants ---- */

#define SIM_REGIONS 3
static const struct {
    const char *name;
    double share;   /* of the clients */
    double rtt_ms;  /* median round trip */
} sim_regions[SIM_REGIONS] = {{"eu", 0.40, 20}, {"us", 0.35, 30}, {"ap", 0.25, 45}};
#define SIM_MIDDLEBOX_REGION 2   /* ap */
#define SIM_MIDDLEBOX_SHARE  0.30
#define SIM_OLD_SHARE        0.08
#define SIM_NOROOT_SHARE     0.5 /* of the old clients */
#define SIM_ZIPF_S           0.9
#define SIM_RTT_SIGMA        0.35 /* per client, log-normal */
#define SIM_JITTER           0.25 /* per handshake, log-normal */
#define SIM_JITTER_NOISY     0.6
#define SIM_BG_FAIL          0.002
#define SIM_BG_FAIL_NOISY    0.01
#define SIM_BURST_EVERY_S    7200
#define SIM_BURST_LEN_S      600
#define SIM_BURST_SHARE      0.03
#define SIM_BURST_FAIL       0.5
#define SIM_MS_ECDSA         0.5
#define SIM_MS_RSA2048       1.5
#define SIM_MS_RSA4096       12.0
#define SIM_TICK_MS          10000
#define SIM_TRACE_MS         60000
#define SIM_DECISIONS_MAX    64

enum { CL_OLD = 1, CL_NOROOT = 2, CL_MIDDLEBOX = 4 };

static const struct scenario {
    const char *name, *what;
    bool bad_chain, slow, middlebox, noisy;
} scenarios[] = {
    {"good", "a good certificate", false, false, false, false},
    {"bad-chain", "a chain half of the old clients (TLS 1.2, RSA only) cannot validate", true, false, false, false},
    {"slow-key", "an RSA 4096 key: every handshake 12 ms of server time instead of 0.5-1.5", false, true, false,
     false},
    {"middlebox", "a middlebox in region ap failing its clients' handshakes with the new certificate", false, false,
     true, false},
    {"noisy-good", "a good certificate; 1 % background failures, heavy jitter, bursts of failures", false, false,
     false, true},
    {"noisy-bad", "bad-chain under the same noise", true, false, false, true},
};
#define NSCEN ((int)(sizeof(scenarios) / sizeof(scenarios[0])))

enum { SCH_ADAPTIVE = 0 };
static const struct schedule {
    const char *name, *what;
    uint32_t step_s; /* fixed: time between steps; 0 with fixed_all: at once */
    bool fixed_all;
} schedules[] = {
    {"adaptive", "the controller (rs_compare, rs_decide)", 0, false},
    {"all-at-once", "100 % at once", 0, true},
    {"fixed-10m", "5, 25, 50, 100 % ten minutes apart (about the adaptive's time to 100 %)", 600, false},
    {"fixed-1h", "5, 25, 50, 100 % one hour apart", 3600, false},
    {"fixed-6h", "5, 25, 50, 100 % six hours apart", 21600, false},
};
#define NSCHED ((int)(sizeof(schedules) / sizeof(schedules[0])))
static const uint16_t fixed_steps[] = {500, 2500, 5000, 10000};
#define NFIXED ((int)(sizeof(fixed_steps) / sizeof(fixed_steps[0])))

/* ---- a deterministic random stream: xoshiro256** seeded by splitmix64 ---- */

typedef struct rng {
    uint64_t s[4];
} rng_t;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix(&x);
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* [0, 1) */
static double rng_unif(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_normal(rng_t *r)
{
    double u1 = 1.0 - rng_unif(r), u2 = rng_unif(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ---- the population ---- */

typedef struct client {
    uint8_t addr[4]; /* the /24 prefix */
    uint8_t region, kind;
    uint16_t bucket; /* zs_rollout_bucket under its region's key */
    float rtt_ms;
} client_t;

typedef struct pop {
    uint32_t n;
    client_t *c;
    double *prob; /* Vose's alias table over the query weights */
    uint32_t *alias;
} pop_t;

static void alias_build(pop_t *p, const double *w)
{
    uint32_t n = p->n, *small = xcalloc(n, sizeof(*small)), *large = xcalloc(n, sizeof(*large));
    double sum = 0, *q = xcalloc(n, sizeof(*q));
    uint32_t ns = 0, nl = 0;
    for (uint32_t i = 0; i < n; i++) {
        sum += w[i];
    }
    for (uint32_t i = 0; i < n; i++) {
        q[i] = w[i] * n / sum;
        if (q[i] < 1) {
            small[ns++] = i;
        } else {
            large[nl++] = i;
        }
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[--nl];
        p->prob[s] = q[s];
        p->alias[s] = l;
        q[l] -= 1 - q[s];
        if (q[l] < 1) {
            small[ns++] = l;
        } else {
            large[nl++] = l;
        }
    }
    while (nl) {
        p->prob[large[--nl]] = 1;
    }
    while (ns) {
        p->prob[small[--ns]] = 1; /* rounding leftovers */
    }
    free(small);
    free(large);
    free(q);
}

static uint32_t pop_pick(const pop_t *p, double u)
{
    double x = u * p->n;
    uint32_t i = (uint32_t)x;
    if (i >= p->n) {
        i = p->n - 1;
    }
    return x - i < p->prob[i] ? i : p->alias[i];
}

/* The split entry of region @p r: the production layout with a seeded key. */
static void split_entry(uint64_t seed, int r, zs_rollout_t *e)
{
    uint64_t x = seed ^ (0x5b17u + (uint64_t)r * 0x9e37u);
    memset(e, 0, sizeof(*e));
    e->prefix4 = ZS_ROLLOUT_PREFIX4_DEFAULT;
    e->prefix6 = ZS_ROLLOUT_PREFIX6_DEFAULT;
    for (int i = 0; i < 2; i++) {
        uint64_t k = splitmix(&x);
        memcpy(e->key + 8 * i, &k, 8);
    }
}

static void pop_make(pop_t *p, uint32_t n, uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed, 1);
    p->n = n;
    p->c = xcalloc(n, sizeof(*p->c));
    p->prob = xcalloc(n, sizeof(*p->prob));
    p->alias = xcalloc(n, sizeof(*p->alias));
    zs_rollout_t split[SIM_REGIONS];
    for (int i = 0; i < SIM_REGIONS; i++) {
        split_entry(seed, i, &split[i]);
    }
    /* distinct prefixes: an odd multiplier is a bijection of the 24-bit space */
    uint32_t off = (uint32_t)rng_next(&r) & 0xffffffu;
    uint32_t *rank = xcalloc(n, sizeof(*rank));
    for (uint32_t i = 0; i < n; i++) {
        rank[i] = i + 1;
    }
    for (uint32_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        uint32_t j = (uint32_t)(rng_next(&r) % (i + 1));
        uint32_t t = rank[i];
        rank[i] = rank[j];
        rank[j] = t;
    }
    double *w = xcalloc(n, sizeof(*w));
    for (uint32_t i = 0; i < n; i++) {
        client_t *c = &p->c[i];
        uint32_t a = ((i * 0x9e3779u) + off) & 0xffffffu;
        c->addr[0] = (uint8_t)(a >> 16);
        c->addr[1] = (uint8_t)(a >> 8);
        c->addr[2] = (uint8_t)a;
        c->addr[3] = 0;
        double u = rng_unif(&r), acc = 0;
        c->region = SIM_REGIONS - 1;
        for (int k = 0; k < SIM_REGIONS; k++) {
            acc += sim_regions[k].share;
            if (u < acc) {
                c->region = (uint8_t)k;
                break;
            }
        }
        if (rng_unif(&r) < SIM_OLD_SHARE) {
            c->kind |= CL_OLD;
            if (rng_unif(&r) < SIM_NOROOT_SHARE) {
                c->kind |= CL_NOROOT;
            }
        }
        if (c->region == SIM_MIDDLEBOX_REGION && rng_unif(&r) < SIM_MIDDLEBOX_SHARE) {
            c->kind |= CL_MIDDLEBOX;
        }
        c->rtt_ms = (float)(sim_regions[c->region].rtt_ms * exp(SIM_RTT_SIGMA * rng_normal(&r)));
        c->bucket = zs_rollout_bucket(&split[c->region], AF_INET, c->addr);
        w[i] = pow((double)rank[i], -SIM_ZIPF_S);
    }
    alias_build(p, w);
    free(w);
    free(rank);
}

static void pop_free(pop_t *p)
{
    free(p->c);
    free(p->prob);
    free(p->alias);
}

/* ---- one run: a scenario under a schedule ---- */

enum { RG_RUNNING = 0, RG_PROMOTED, RG_ROLLED_BACK };

typedef struct region_run {
    uint16_t p, max_p;
    int status;
    int64_t full_ms;       /* when p reached 100 % (-1: not yet) */
    int64_t end_ms;        /* promoted or rolled back at (-1) */
    int64_t first_fail_ms; /* the new certificate's first failure here (-1) */
    bool by_operator;      /* rolled back by the operator model */
    char last[256];        /* the controller's latest why (adaptive) */
    rs_state_t st;
    rs_pool_t stable, canary;
} region_run_t;

typedef struct decision {
    int64_t t_ms;
    int region;
    rs_action_t action;
    uint16_t from, to;
    char why[256];
} decision_t;

typedef struct result {
    int scen, sched;
    uint64_t hs, exposed_hs, failed_hs;
    uint32_t active, exposed, harmed;
    int64_t full_ms; /* every region at 100 % (-1: never) */
    uint16_t max_p;
    region_run_t *rg; /* SIM_REGIONS */
    decision_t dec[SIM_DECISIONS_MAX];
    int ndec;
} result_t;

typedef struct sim {
    uint64_t seed;
    uint32_t clients;
    double hours, rate;
    int64_t operator_ms; /* 0: no operator */
    rs_policy_t pol;
    pop_t pop;
    FILE *trace;
} sim_t;

static bool served_new(const region_run_t *g, const client_t *c)
{
    return g->status == RG_PROMOTED || (g->status == RG_RUNNING && c->bucket < g->p);
}

static void set_p(region_run_t *g, uint16_t p, int64_t now)
{
    g->p = p;
    if (p > g->max_p) {
        g->max_p = p;
    }
    if (p == 10000 && g->full_ms < 0) {
        g->full_ms = now;
    }
}

static void log_decision(result_t *res, int64_t now, int r, rs_action_t a, uint16_t from, uint16_t to,
                         const char *why)
{
    if (res->ndec == SIM_DECISIONS_MAX) {
        return;
    }
    decision_t *d = &res->dec[res->ndec++];
    d->t_ms = now;
    d->region = r;
    d->action = a;
    d->from = from;
    d->to = to;
    snprintf(d->why, sizeof(d->why), "%s", why);
}

static void tick(sim_t *sim, result_t *res, int64_t now)
{
    const struct schedule *sc = &schedules[res->sched];
    for (int r = 0; r < SIM_REGIONS; r++) {
        region_run_t *g = &res->rg[r];
        if (g->status != RG_RUNNING) {
            continue;
        }
        if (sim->operator_ms && g->first_fail_ms >= 0 && now >= g->first_fail_ms + sim->operator_ms) {
            log_decision(res, now, r, RS_ROLLBACK, g->p, 0, "operator: failures seen for --operator-delay");
            g->status = RG_ROLLED_BACK;
            g->by_operator = true;
            g->end_ms = now;
            g->p = 0;
            continue;
        }
        if (res->sched != SCH_ADAPTIVE) {
            int k = sc->fixed_all ? NFIXED - 1 : (int)(now / 1000 / sc->step_s);
            set_p(g, fixed_steps[k < NFIXED ? k : NFIXED - 1], now);
            continue;
        }
        rs_verdict_t v;
        char why[256];
        uint16_t next = 0;
        rs_compare(&sim->pol, &g->stable, &g->canary, now, &v);
        rs_action_t a = rs_decide(&sim->pol, &g->st, &v, now, &next, why, sizeof(why));
        snprintf(g->last, sizeof(g->last), "%s", why);
        switch (a) {
        case RS_HOLD:
            break;
        case RS_STEP:
            log_decision(res, now, r, a, g->p, next, why);
            g->st.step++;
            g->st.step_started_ms = now;
            set_p(g, next, now);
            break;
        case RS_PROMOTE:
            log_decision(res, now, r, a, g->p, 10000, why);
            set_p(g, 10000, now);
            g->status = RG_PROMOTED;
            g->end_ms = now;
            break;
        case RS_ROLLBACK:
            log_decision(res, now, r, a, g->p, 0, why);
            g->status = RG_ROLLED_BACK;
            g->end_ms = now;
            g->p = 0;
            break;
        }
    }
    if (sim->trace && now % SIM_TRACE_MS == 0) {
        for (int r = 0; r < SIM_REGIONS; r++) {
            const region_run_t *g = &res->rg[r];
            fprintf(sim->trace, "%s,%s,%.4f,%s,%.2f\n", scenarios[res->scen].name, schedules[res->sched].name,
                    (double)now / 3600000.0, sim_regions[r].name,
                    (g->status == RG_PROMOTED ? 10000 : g->p) / 100.0);
        }
    }
}

static void run(sim_t *sim, result_t *res)
{
    const struct scenario *sc = &scenarios[res->scen];
    const pop_t *pop = &sim->pop;
    uint8_t *seen = xcalloc(pop->n, 1); /* 1 active, 2 exposed, 4 harmed */
    rng_t r;
    /* the same handshakes for every schedule of a scenario: a stream per
     * scenario, and every draw made whatever the handshake's pool */
    rng_seed(&r, sim->seed, 100 + (uint64_t)res->scen);
    res->rg = xcalloc(SIM_REGIONS, sizeof(*res->rg));
    for (int i = 0; i < SIM_REGIONS; i++) {
        region_run_t *g = &res->rg[i];
        g->full_ms = g->end_ms = g->first_fail_ms = -1;
        g->status = RG_RUNNING;
        /* the controller's start transaction puts the split at the first step */
        g->st.step = 0;
        g->st.started_ms = g->st.step_started_ms = 0;
        rs_pool_init(&g->stable, sim->pol.window_s);
        rs_pool_init(&g->canary, sim->pol.window_s);
        if (res->sched == SCH_ADAPTIVE) {
            set_p(g, sim->pol.steps[0], 0);
        }
    }
    int64_t horizon = (int64_t)(sim->hours * 3600000.0), next_tick = 0;
    uint32_t burst_n = (uint32_t)(pop->n * SIM_BURST_SHARE);
    double t = 0, bg = sc->noisy ? SIM_BG_FAIL_NOISY : SIM_BG_FAIL, jit = sc->noisy ? SIM_JITTER_NOISY : SIM_JITTER;
    for (;;) {
        t += -log(1.0 - rng_unif(&r)) / sim->rate * 1000.0;
        int64_t t_ms = (int64_t)t;
        while (next_tick <= t_ms && next_tick < horizon) {
            tick(sim, res, next_tick);
            next_tick += SIM_TICK_MS;
        }
        if (t_ms >= horizon) {
            break;
        }
        double u_client = rng_unif(&r), u_fail = rng_unif(&r), z = rng_normal(&r);
        uint32_t ci = pop_pick(pop, u_client);
        const client_t *c = &pop->c[ci];
        region_run_t *g = &res->rg[c->region];
        bool is_new = served_new(g, c);
        bool old = c->kind & CL_OLD;
        bool cert_fail = is_new && ((sc->bad_chain && (c->kind & CL_NOROOT)) ||
                                    (sc->middlebox && (c->kind & CL_MIDDLEBOX)));
        double fail_p = bg;
        if (sc->noisy) {
            /* every SIM_BURST_EVERY_S from 1 h on: one ISP (a run of clients) fails half its handshakes */
            int64_t k = (t_ms - 3600000) / (SIM_BURST_EVERY_S * 1000);
            if (t_ms >= 3600000 && t_ms - 3600000 - k * SIM_BURST_EVERY_S * 1000 < SIM_BURST_LEN_S * 1000) {
                uint64_t x = sim->seed ^ (uint64_t)k;
                uint32_t b0 = (uint32_t)(splitmix(&x) % pop->n);
                if ((ci + pop->n - b0) % pop->n < burst_n) {
                    fail_p += SIM_BURST_FAIL;
                }
            }
        }
        bool ok = !cert_fail && u_fail >= fail_p;
        const char *err = ok ? "" : cert_fail ? (sc->middlebox ? "handshake failure" : "unknown ca") : "connection reset";
        uint32_t hs_us = 0;
        if (ok) {
            double server = is_new && sc->slow ? SIM_MS_RSA4096 : old ? SIM_MS_RSA2048 : SIM_MS_ECDSA;
            double ms = c->rtt_ms * (old ? 2 : 1) * exp(jit * z) + server;
            hs_us = (uint32_t)(ms * 1000.0);
        }
        res->hs++;
        seen[ci] |= 1;
        if (is_new) {
            res->exposed_hs++;
            seen[ci] |= 2;
        }
        if (cert_fail) {
            res->failed_hs++;
            seen[ci] |= 4;
            if (g->first_fail_ms < 0) {
                g->first_fail_ms = t_ms;
            }
        }
        if (res->sched == SCH_ADAPTIVE && g->status == RG_RUNNING) {
            rs_pool_add(is_new ? &g->canary : &g->stable, t_ms, ok, hs_us, old ? REV_TLS12 : REV_TLS13, err);
        }
    }
    for (uint32_t i = 0; i < pop->n; i++) {
        res->active += seen[i] & 1;
        res->exposed += (seen[i] >> 1) & 1;
        res->harmed += (seen[i] >> 2) & 1;
    }
    res->full_ms = 0;
    for (int i = 0; i < SIM_REGIONS; i++) {
        const region_run_t *g = &res->rg[i];
        if (g->max_p > res->max_p) {
            res->max_p = g->max_p;
        }
        if (g->full_ms < 0 || g->status == RG_ROLLED_BACK) {
            res->full_ms = -1;
        } else if (res->full_ms >= 0 && g->full_ms > res->full_ms) {
            res->full_ms = g->full_ms;
        }
    }
    free(seen);
}

/* ---- output ---- */

static const char *region_outcome(const region_run_t *g)
{
    if (g->status == RG_ROLLED_BACK) {
        return g->by_operator ? "rolled-back-by-operator" : "rolled-back";
    }
    if (g->status == RG_PROMOTED) {
        return "promoted";
    }
    return g->p == 10000 ? "full" : "held";
}

/* "3 full", "2 full, 1 rolled back (max 5%)" */
static void outcome_text(const result_t *res, char *buf, size_t cap)
{
    int full = 0, back = 0, op = 0, held = 0;
    for (int i = 0; i < SIM_REGIONS; i++) {
        const region_run_t *g = &res->rg[i];
        if (g->status == RG_ROLLED_BACK) {
            back++;
            op += g->by_operator;
        } else if (g->status == RG_PROMOTED || g->p == 10000) {
            full++;
        } else {
            held++;
        }
    }
    size_t n = 0;
    buf[0] = 0;
    if (full) {
        n += (size_t)snprintf(buf + n, cap - n, "%d full", full);
    }
    if (back && n < cap) {
        n += (size_t)snprintf(buf + n, cap - n, "%s%d rolled back%s", n ? ", " : "", back,
                              op == back ? " by operator" : op ? " (some by operator)" : "");
    }
    if (held && n < cap) {
        n += (size_t)snprintf(buf + n, cap - n, "%s%d held", n ? ", " : "", held);
    }
    if (n < cap) {
        snprintf(buf + n, cap - n, " (max %g%%)", res->max_p / 100.0);
    }
}

static void hours_text(int64_t ms, char *buf, size_t cap)
{
    if (ms < 0) {
        snprintf(buf, cap, "never");
    } else {
        snprintf(buf, cap, "%.2f", (double)ms / 3600000.0);
    }
}

static void print_table(const sim_t *sim, result_t *res, int n)
{
    ctl_table_t t;
    ctl_table_init(&t, 8);
    for (int i = 2; i < 7; i++) {
        t.right[i] = true;
    }
    const char *head[] = {"SCENARIO", "SCHEDULE", "EXPOSED", "EXPOSED-HS", "HARMED", "FAILED-HS", "FULL-H",
                          "OUTCOME"};
    ctl_table_add(&t, head);
    for (int i = 0; i < n; i++) {
        char e[24], ehs[24], h[24], fhs[24], full[24], out[96];
        snprintf(e, sizeof(e), "%" PRIu32, res[i].exposed);
        snprintf(ehs, sizeof(ehs), "%" PRIu64, res[i].exposed_hs);
        snprintf(h, sizeof(h), "%" PRIu32, res[i].harmed);
        snprintf(fhs, sizeof(fhs), "%" PRIu64, res[i].failed_hs);
        hours_text(res[i].full_ms, full, sizeof(full));
        outcome_text(&res[i], out, sizeof(out));
        const char *row[] = {scenarios[res[i].scen].name, schedules[res[i].sched].name, e, ehs, h, fhs, full, out};
        ctl_table_add(&t, row);
    }
    char delay[32];
    if (sim->operator_ms) {
        snprintf(delay, sizeof(delay), "%g h", (double)sim->operator_ms / 3600000.0);
    } else {
        snprintf(delay, sizeof(delay), "none");
    }
    printf("seed %" PRIu64 ", %" PRIu32 " clients, %g handshakes/s for %g h, operator delay %s\n", sim->seed,
           sim->clients, sim->rate, sim->hours, delay);
    ctl_table_print(&t, stdout);
    ctl_table_fini(&t);
}

static void print_csv(result_t *res, int n)
{
    printf("scenario,schedule,handshakes,active_clients,exposed_clients,exposed_hs,harmed_clients,failed_hs,"
           "full_h,max_percent,promoted,full,rolled_back,held\n");
    for (int i = 0; i < n; i++) {
        int prom = 0, full = 0, back = 0, held = 0;
        for (int k = 0; k < SIM_REGIONS; k++) {
            const region_run_t *g = &res[i].rg[k];
            prom += g->status == RG_PROMOTED;
            full += g->status == RG_PROMOTED || (g->status == RG_RUNNING && g->p == 10000);
            back += g->status == RG_ROLLED_BACK;
            held += g->status == RG_RUNNING && g->p < 10000;
        }
        char fh[24];
        if (res[i].full_ms < 0) {
            snprintf(fh, sizeof(fh), "%s", "");
        } else {
            snprintf(fh, sizeof(fh), "%.4f", (double)res[i].full_ms / 3600000.0);
        }
        printf("%s,%s,%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",%" PRIu64 ",%" PRIu32 ",%" PRIu64 ",%s,%g,%d,%d,%d,%d\n",
               scenarios[res[i].scen].name, schedules[res[i].sched].name, res[i].hs, res[i].active, res[i].exposed,
               res[i].exposed_hs, res[i].harmed, res[i].failed_hs, fh, res[i].max_p / 100.0, prom, full, back,
               held);
    }
}

static json_t *result_json(const result_t *res)
{
    json_t *regions = json_array(), *dec = json_array();
    for (int k = 0; k < SIM_REGIONS; k++) {
        const region_run_t *g = &res->rg[k];
        json_array_append_new(
            regions, json_pack("{s:s, s:s, s:i, s:o, s:o, s:s}", "region", sim_regions[k].name, "outcome",
                               region_outcome(g), "max_permyriad", (int)g->max_p, "full_s",
                               g->full_ms < 0 ? json_null() : json_real((double)g->full_ms / 1000.0), "end_s",
                               g->end_ms < 0 ? json_null() : json_real((double)g->end_ms / 1000.0), "last",
                               g->last));
    }
    for (int i = 0; i < res->ndec; i++) {
        const decision_t *d = &res->dec[i];
        json_array_append_new(dec, json_pack("{s:f, s:s, s:s, s:i, s:i, s:s}", "t_s", (double)d->t_ms / 1000.0,
                                             "region", sim_regions[d->region].name, "action",
                                             rs_action_name(d->action), "from", (int)d->from, "to", (int)d->to,
                                             "why", d->why));
    }
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:i, s:o, s:o}", "scenario",
                     scenarios[res->scen].name, "schedule", schedules[res->sched].name, "handshakes",
                     (json_int_t)res->hs, "active_clients", (json_int_t)res->active, "exposed_clients",
                     (json_int_t)res->exposed, "exposed_hs", (json_int_t)res->exposed_hs, "harmed_clients",
                     (json_int_t)res->harmed, "failed_hs", (json_int_t)res->failed_hs, "full_s",
                     res->full_ms < 0 ? json_null() : json_real((double)res->full_ms / 1000.0), "max_permyriad",
                     (int)res->max_p, "regions", regions, "decisions", dec);
}

static int print_json(const sim_t *sim, result_t *res, int n)
{
    json_t *all = json_array();
    for (int i = 0; i < n; i++) {
        json_array_append_new(all, result_json(&res[i]));
    }
    json_t *j = json_pack("{s:s, s:I, s:I, s:f, s:f, s:f, s:o, s:o}", "seed_note", "the same seed gives the same output",
                          "seed", (json_int_t)sim->seed, "clients", (json_int_t)sim->clients, "hours", sim->hours,
                          "rate", sim->rate, "operator_delay_s", (double)sim->operator_ms / 1000.0, "policy",
                          rs_policy_json(&sim->pol), "results", all);
    int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) == 0 ? CTL_OK : CTL_FAIL;
    putchar('\n');
    json_decref(j);
    return rc;
}

/* ---- the command line ---- */

/* "a,b" of @p names into bit set @p out; "all": every one */
static int parse_list(const char *opt, const char *val, const char *const *names, int n, unsigned *out)
{
    *out = 0;
    if (strcmp(val, "all") == 0) {
        *out = (1u << n) - 1;
        return CTL_OK;
    }
    const char *s = val;
    for (;;) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        int k;
        for (k = 0; k < n && !(strlen(names[k]) == len && strncmp(names[k], s, len) == 0); k++) {
        }
        if (k == n) {
            char known[256];
            size_t kn = 0;
            known[0] = 0;
            for (int i = 0; i < n && kn < sizeof(known); i++) {
                kn += (size_t)snprintf(known + kn, sizeof(known) - kn, "%s%s", i ? ", " : "", names[i]);
            }
            return ctl_usage("%s: unknown name \"%.*s\" (all, %s)", opt, (int)(len > 40 ? 40 : len), s, known);
        }
        *out |= 1u << k;
        if (!c) {
            return CTL_OK;
        }
        s = c + 1;
    }
}

static int parse_u64(const char *opt, const char *val, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 10);
    if (!*val || *val == '-' || *val == '+' || *end || errno || v < min || v > max) {
        return ctl_usage("%s: \"%s\" is not a whole number from %" PRIu64 " to %" PRIu64, opt, val, min, max);
    }
    *out = v;
    return CTL_OK;
}

static int parse_real(const char *opt, const char *val, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (!*val || *end || errno || !(v >= min && v <= max)) {
        return ctl_usage("%s: \"%s\" is not a number from %g to %g", opt, val, min, max);
    }
    *out = v;
    return CTL_OK;
}

/* 7200, 120m, 2h, 1d; 0 */
static int parse_delay(const char *opt, const char *val, int64_t *ms)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 10);
    uint64_t mul = 1;
    if (*end == 's' || *end == 'm' || *end == 'h' || *end == 'd') {
        mul = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400;
        end++;
    }
    if (!*val || *val == '-' || *val == '+' || *end || errno || v * mul > 30ull * 86400) {
        return ctl_usage("%s: \"%s\" is not a duration up to 30d (7200, 2h; 0: no operator)", opt, val);
    }
    *ms = (int64_t)(v * mul * 1000);
    return CTL_OK;
}

int ctl_rollout_simulate(ctl_t *c)
{
    sim_t sim = {.seed = 1, .clients = 20000, .hours = 24, .rate = 200, .operator_ms = 2 * 3600000LL};
    unsigned scen_set = (1u << NSCEN) - 1, sched_set = (1u << NSCHED) - 1;
    bool csv = false, json = c->json;
    const char *trace = NULL;
    const char *scen_names[NSCEN], *sched_names[NSCHED];
    int rc;
    char why[256];
    for (int i = 0; i < NSCEN; i++) {
        scen_names[i] = scenarios[i].name;
    }
    for (int i = 0; i < NSCHED; i++) {
        sched_names[i] = schedules[i].name;
    }
    rs_policy_default(&sim.pol);

    for (int i = 0; i < c->argc; i++) {
        const char *a = c->argv[i], *val = NULL, *eq = strchr(a, '=');
        static const char *const with_value[] = {"--scenario", "--schedule", "--seed", "--clients", "--hours",
                                                  "--rate", "--operator-delay", "--trace"};
        if (strcmp(a, "--csv") == 0) {
            csv = true;
            continue;
        }
        if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        }
        if (a[0] != '-') {
            /* KEY=VALUE: the adaptive schedule's policy, as `rollout policy` takes it */
            if (!eq || eq == a) {
                return ctl_usage("rollout simulate: \"%s\" is neither an option nor a policy KEY=VALUE", a);
            }
            char key[32];
            snprintf(key, sizeof(key), "%.*s", (int)(eq - a), a);
            if (rs_policy_set(&sim.pol, key, eq + 1, why, sizeof(why)) != 0) {
                return ctl_usage("rollout simulate: policy %s", why);
            }
            continue;
        }
        size_t k, nw = sizeof(with_value) / sizeof(with_value[0]);
        size_t alen = eq ? (size_t)(eq - a) : strlen(a);
        for (k = 0; k < nw && !(strlen(with_value[k]) == alen && strncmp(with_value[k], a, alen) == 0); k++) {
        }
        if (k == nw) {
            return ctl_usage("rollout simulate: unknown option %s", a);
        }
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < c->argc) {
            val = c->argv[++i];
        } else {
            return ctl_usage("rollout simulate: option %s needs a value", a);
        }
        const char *opt = with_value[k];
        uint64_t u;
        if (strcmp(opt, "--scenario") == 0) {
            rc = parse_list(opt, val, scen_names, NSCEN, &scen_set);
        } else if (strcmp(opt, "--schedule") == 0) {
            rc = parse_list(opt, val, sched_names, NSCHED, &sched_set);
        } else if (strcmp(opt, "--seed") == 0) {
            rc = parse_u64(opt, val, 0, UINT64_MAX, &sim.seed);
        } else if (strcmp(opt, "--clients") == 0) {
            rc = parse_u64(opt, val, 100, 1000000, &u);
            sim.clients = (uint32_t)u;
        } else if (strcmp(opt, "--hours") == 0) {
            rc = parse_real(opt, val, 0.1, 168, &sim.hours);
        } else if (strcmp(opt, "--rate") == 0) {
            rc = parse_real(opt, val, 1, 10000, &sim.rate);
        } else if (strcmp(opt, "--operator-delay") == 0) {
            rc = parse_delay(opt, val, &sim.operator_ms);
        } else {
            trace = val;
            rc = CTL_OK;
        }
        if (rc != CTL_OK) {
            return rc;
        }
    }
    if (csv && json) {
        return ctl_usage("rollout simulate: --csv and --json exclude each other");
    }
    if (trace && !(sim.trace = fopen(trace, "w"))) {
        return ctl_err("rollout simulate: --trace %s: %s", trace, strerror(errno));
    }
    if (sim.trace) {
        fprintf(sim.trace, "scenario,schedule,hours,region,percent\n");
    }

    pop_make(&sim.pop, sim.clients, sim.seed);
    result_t *res = xcalloc((size_t)NSCEN * NSCHED, sizeof(*res));
    int n = 0;
    for (int s = 0; s < NSCEN; s++) {
        for (int k = 0; k < NSCHED; k++) {
            if ((scen_set >> s & 1) && (sched_set >> k & 1)) {
                res[n].scen = s;
                res[n].sched = k;
                run(&sim, &res[n]);
                n++;
            }
        }
    }
    rc = CTL_OK;
    if (json) {
        rc = print_json(&sim, res, n);
    } else if (csv) {
        print_csv(res, n);
    } else {
        print_table(&sim, res, n);
    }
    if (sim.trace && fclose(sim.trace) != 0) {
        rc = ctl_err("rollout simulate: --trace %s: write error", trace);
    }
    for (int i = 0; i < n; i++) {
        free(res[i].rg);
    }
    free(res);
    pop_free(&sim.pop);
    return rc;
}
