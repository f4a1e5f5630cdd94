/* SPDX-License-Identifier: MIT */
/*
 * rollout_stats.c -- the analyzer and the decision rule of a certificate
 * rollout (acme/rollout_stats.h). Pure computation: the controller
 * (acme/rollout.c) and `dnsctl rollout simulate` run the same code, so
 * what the simulation shows is what steers real rollouts.
 *
 * The policy's JSON form (rs_policy_json, stored in the shard request's
 * "rollout_policy"): {"steps": [permyriad...], "window": s, "min_samples": n,
 * "fail_margin": fraction, "time_margin": fraction, "alpha": a,
 * "max_duration": s, "ttl": s, "urgent": s, "slow": "hold"|"rollback"}.
 */
#include "acme/rollout_stats.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/rollout_ev.h" /* REV_TLS* only: this file links without rollout_ev.c */

#define RS_EWMA_ALPHA 0.05
#define RS_EMPTY_BUCKET INT64_MIN

/* ---- Welford ---- */

void rs_welford_add(rs_welford_t *w, double x)
{
    w->n++;
    double d = x - w->mean;
    w->mean += d / (double)w->n;
    w->m2 += d * (x - w->mean);
}

/* Chan et al.'s pairwise combination: exact for the union of both sets. */
void rs_welford_merge(rs_welford_t *into, const rs_welford_t *from)
{
    if (from->n == 0) {
        return;
    }
    if (into->n == 0) {
        *into = *from;
        return;
    }
    double na = (double)into->n, nb = (double)from->n, n = na + nb;
    double d = from->mean - into->mean;
    into->mean += d * nb / n;
    into->m2 += from->m2 + d * d * na * nb / n;
    into->n += from->n;
}

double rs_welford_sd(const rs_welford_t *w)
{
    if (w->n < 2 || w->m2 <= 0) {
        return 0;
    }
    return sqrt(w->m2 / (double)(w->n - 1));
}

/* ---- policy ---- */

static const uint16_t default_steps[] = {500, 1000, 2500, 5000, 10000};
static const uint16_t urgent_steps[] = RS_URGENT_STEPS;

void rs_policy_default(rs_policy_t *p)
{
    memset(p, 0, sizeof(*p));
    p->nsteps = (int)(sizeof(default_steps) / sizeof(default_steps[0]));
    memcpy(p->steps, default_steps, sizeof(default_steps));
    p->window_s = 300;
    p->min_samples = 200;
    p->fail_margin = 0.005;
    p->time_margin = 0.5;
    p->alpha = 0.001;
    p->max_duration_s = 86400;
    p->ttl = 30;
    p->urgent_s = 7 * 86400;
    p->slow_rollback = false;
}

#define WINDOW_MAX   86400u
#define DURATION_MAX (366u * 86400u)
#define SAMPLES_MAX  1000000u
#define TTL_MAX      86400u

/* The rules every policy obeys, whichever way it was made. */
static int policy_check(const rs_policy_t *p, char *why, size_t whycap)
{
    if (p->nsteps < 1 || p->nsteps > RS_STEPS_MAX) {
        snprintf(why, whycap, "steps: %d steps; give 1 to %d", p->nsteps, RS_STEPS_MAX);
        return -1;
    }
    for (int i = 0; i < p->nsteps; i++) {
        if (p->steps[i] == 0 || p->steps[i] > 10000 || (i > 0 && p->steps[i] <= p->steps[i - 1])) {
            snprintf(why, whycap, "steps: must be strictly ascending shares above 0 %%, at most 100 %%");
            return -1;
        }
    }
    if (p->steps[p->nsteps - 1] != 10000) {
        snprintf(why, whycap, "steps: the last step must be 100 %%");
        return -1;
    }
    if (p->window_s < 1 || p->window_s > WINDOW_MAX) {
        snprintf(why, whycap, "window: %" PRIu32 " s is out of range (1 s to 1 d)", p->window_s);
        return -1;
    }
    if (p->min_samples < 1 || p->min_samples > SAMPLES_MAX) {
        snprintf(why, whycap, "min-samples: %" PRIu32 " is out of range (1 to %u)", p->min_samples, SAMPLES_MAX);
        return -1;
    }
    if (!(p->fail_margin >= 0 && p->fail_margin <= 1)) {
        snprintf(why, whycap, "fail-margin: out of range (0 to 100 %%)");
        return -1;
    }
    if (!(p->time_margin >= 0 && p->time_margin <= 10)) {
        snprintf(why, whycap, "time-margin: out of range (0 to 1000 %%)");
        return -1;
    }
    if (!(p->alpha > 0 && p->alpha <= 0.5)) {
        snprintf(why, whycap, "alpha: out of range (above 0, at most 0.5)");
        return -1;
    }
    if (p->max_duration_s < 1 || p->max_duration_s > DURATION_MAX) {
        snprintf(why, whycap, "max-duration: %" PRIu32 " s is out of range (1 s to 366 d)", p->max_duration_s);
        return -1;
    }
    if (p->ttl < 1 || p->ttl > TTL_MAX) {
        snprintf(why, whycap, "ttl: %" PRIu32 " is out of range (1 to %u)", p->ttl, TTL_MAX);
        return -1;
    }
    if (p->urgent_s > DURATION_MAX) {
        snprintf(why, whycap, "urgent: %" PRIu32 " s is out of range (0 to 366 d)", p->urgent_s);
        return -1;
    }
    return 0;
}

/* "300", "5m", "2h", "1d": whole seconds. */
static int parse_duration(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0])) {
        return -1;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v > UINT32_MAX) {
        return -1;
    }
    uint64_t mul = 1;
    if (*end) {
        switch (*end) {
        case 's': mul = 1; break;
        case 'm': mul = 60; break;
        case 'h': mul = 3600; break;
        case 'd': mul = 86400; break;
        default: return -1;
        }
        if (end[1]) {
            return -1;
        }
    }
    *out = (uint64_t)v * mul;
    return 0;
}

/* A percentage with up to two decimals ("5", "12.5", "0.05") in permyriad. */
static int parse_pct2(const char *s, size_t len, uint32_t *out)
{
    uint32_t whole = 0, frac = 0;
    size_t i = 0;
    int digits = 0, fdigits = 0;
    for (; i < len && isdigit((unsigned char)s[i]); i++) {
        if (++digits > 3) {
            return -1;
        }
        whole = whole * 10 + (uint32_t)(s[i] - '0');
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && isdigit((unsigned char)s[i]); i++) {
            if (++fdigits > 2) {
                return -1;
            }
            frac = frac * 10 + (uint32_t)(s[i] - '0');
        }
        if (fdigits == 0) {
            return -1;
        }
        if (fdigits == 1) {
            frac *= 10;
        }
    }
    if (digits == 0 || i != len) {
        return -1;
    }
    *out = whole * 100 + frac;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    if (!*s || isspace((unsigned char)*s)) {
        return -1;
    }
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) {
        return -1;
    }
    *out = v;
    return 0;
}

/*
 * @p v made safe to print in a reason: printable ASCII as is (a quote as
 * \"), anything else as \xNN, cut to about 40 characters ("..." then).
 * The reason reaches terminals, logs and JSON strings.
 */
static const char *shown(const char *v, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && v[i]; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (o + 8 >= cap || i >= 40) {
            snprintf(out + o, cap - o, "...");
            return out;
        }
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch > 0x7e) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = 0;
    return out;
}
#define SHOWN_MAX 64

int rs_policy_set(rs_policy_t *p, const char *key, const char *value, char *why, size_t whycap)
{
    rs_policy_t t = *p;
    char sv[SHOWN_MAX], sk[SHOWN_MAX];
    uint64_t u;
    double d;
    if (!key || !value) {
        snprintf(why, whycap, "a policy setting needs a key and a value");
        return -1;
    }
    const char *v = shown(value, strlen(value), sv, sizeof(sv));
    if (strcmp(key, "steps") == 0) {
        int n = 0;
        const char *s = value;
        for (;;) {
            const char *c = strchr(s, ',');
            size_t len = c ? (size_t)(c - s) : strlen(s);
            uint32_t pm;
            if (n == RS_STEPS_MAX) {
                snprintf(why, whycap, "steps: more than %d steps in \"%s\"", RS_STEPS_MAX, v);
                return -1;
            }
            if (parse_pct2(s, len, &pm) != 0 || pm == 0 || pm > 10000) {
                snprintf(why, whycap,
                         "steps: \"%s\" is not a share above 0 and at most 100 (percent, up to 2 decimals)",
                         shown(s, len, sk, sizeof(sk)));
                return -1;
            }
            t.steps[n++] = (uint16_t)pm;
            if (!c) {
                break;
            }
            s = c + 1;
        }
        t.nsteps = n;
    } else if (strcmp(key, "window") == 0) {
        if (parse_duration(value, &u) != 0 || u < 1 || u > WINDOW_MAX) {
            snprintf(why, whycap, "window: \"%s\" is not a duration from 1s to 1d (e.g. 300, 5m)", v);
            return -1;
        }
        t.window_s = (uint32_t)u;
    } else if (strcmp(key, "min-samples") == 0) {
        if (!isdigit((unsigned char)value[0]) || parse_double(value, &d) != 0 || d != floor(d) || d < 1 ||
            d > SAMPLES_MAX) {
            snprintf(why, whycap, "min-samples: \"%s\" is not a whole number from 1 to %u", v, SAMPLES_MAX);
            return -1;
        }
        t.min_samples = (uint32_t)d;
    } else if (strcmp(key, "fail-margin") == 0) {
        if (parse_double(value, &d) != 0 || d < 0 || d > 100) {
            snprintf(why, whycap, "fail-margin: \"%s\" is not a percentage from 0 to 100", v);
            return -1;
        }
        t.fail_margin = d / 100;
    } else if (strcmp(key, "time-margin") == 0) {
        if (parse_double(value, &d) != 0 || d < 0 || d > 1000) {
            snprintf(why, whycap, "time-margin: \"%s\" is not a percentage from 0 to 1000", v);
            return -1;
        }
        t.time_margin = d / 100;
    } else if (strcmp(key, "alpha") == 0) {
        if (parse_double(value, &d) != 0 || !(d > 0 && d <= 0.5)) {
            snprintf(why, whycap, "alpha: \"%s\" is not a significance level above 0 and at most 0.5", v);
            return -1;
        }
        t.alpha = d;
    } else if (strcmp(key, "max-duration") == 0) {
        if (parse_duration(value, &u) != 0 || u < 1 || u > DURATION_MAX) {
            snprintf(why, whycap, "max-duration: \"%s\" is not a duration from 1s to 366d", v);
            return -1;
        }
        t.max_duration_s = (uint32_t)u;
    } else if (strcmp(key, "ttl") == 0) {
        if (parse_duration(value, &u) != 0 || u < 1 || u > TTL_MAX) {
            snprintf(why, whycap, "ttl: \"%s\" is not a TTL from 1 to %u seconds", v, TTL_MAX);
            return -1;
        }
        t.ttl = (uint32_t)u;
    } else if (strcmp(key, "urgent") == 0) {
        if (parse_duration(value, &u) != 0 || u > DURATION_MAX) {
            snprintf(why, whycap, "urgent: \"%s\" is not a duration from 0 to 366d", v);
            return -1;
        }
        t.urgent_s = (uint32_t)u;
    } else if (strcmp(key, "slow") == 0) {
        if (strcmp(value, "rollback") == 0) {
            t.slow_rollback = true;
        } else if (strcmp(value, "hold") == 0) {
            t.slow_rollback = false;
        } else {
            snprintf(why, whycap, "slow: \"%s\" is neither rollback nor hold", v);
            return -1;
        }
    } else {
        snprintf(why, whycap,
                 "unknown policy key \"%s\" (steps, window, min-samples, fail-margin, time-margin, alpha, "
                 "max-duration, ttl, urgent, slow)",
                 shown(key, strlen(key), sk, sizeof(sk)));
        return -1;
    }
    if (policy_check(&t, why, whycap) != 0) {
        return -1;
    }
    *p = t;
    return 0;
}

json_t *rs_policy_json(const rs_policy_t *p)
{
    json_t *steps = json_array();
    for (int i = 0; i < p->nsteps; i++) {
        json_array_append_new(steps, json_integer(p->steps[i]));
    }
    return json_pack("{s:o, s:I, s:I, s:f, s:f, s:f, s:I, s:I, s:I, s:s}", "steps", steps, "window",
                     (json_int_t)p->window_s, "min_samples", (json_int_t)p->min_samples, "fail_margin",
                     p->fail_margin, "time_margin", p->time_margin, "alpha", p->alpha, "max_duration",
                     (json_int_t)p->max_duration_s, "ttl", (json_int_t)p->ttl, "urgent", (json_int_t)p->urgent_s,
                     "slow", p->slow_rollback ? "rollback" : "hold");
}

static int json_u32(const json_t *j, const char *key, uint32_t *out, char *why, size_t whycap)
{
    json_t *v = json_object_get(j, key);
    if (!v) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)UINT32_MAX) {
        snprintf(why, whycap, "rollout policy: \"%s\" is not a whole number", key);
        return -1;
    }
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

static int json_dbl(const json_t *j, const char *key, double *out, char *why, size_t whycap)
{
    json_t *v = json_object_get(j, key);
    if (!v) {
        return 0;
    }
    if (!json_is_number(v)) {
        snprintf(why, whycap, "rollout policy: \"%s\" is not a number", key);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

int rs_policy_from_json(rs_policy_t *p, const json_t *j, char *why, size_t whycap)
{
    rs_policy_t t;
    rs_policy_default(&t);
    if (!json_is_object(j)) {
        snprintf(why, whycap, "rollout policy: not a JSON object");
        return -1;
    }
    json_t *steps = json_object_get(j, "steps");
    if (steps) {
        if (!json_is_array(steps) || json_array_size(steps) < 1 || json_array_size(steps) > RS_STEPS_MAX) {
            snprintf(why, whycap, "rollout policy: \"steps\" is not an array of 1 to %d shares", RS_STEPS_MAX);
            return -1;
        }
        for (size_t i = 0; i < json_array_size(steps); i++) {
            json_t *v = json_array_get(steps, i);
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 10000) {
                snprintf(why, whycap, "rollout policy: \"steps\"[%zu] is not a permyriad from 1 to 10000", i);
                return -1;
            }
            t.steps[i] = (uint16_t)json_integer_value(v);
        }
        t.nsteps = (int)json_array_size(steps);
    }
    if (json_u32(j, "window", &t.window_s, why, whycap) || json_u32(j, "min_samples", &t.min_samples, why, whycap) ||
        json_dbl(j, "fail_margin", &t.fail_margin, why, whycap) ||
        json_dbl(j, "time_margin", &t.time_margin, why, whycap) || json_dbl(j, "alpha", &t.alpha, why, whycap) ||
        json_u32(j, "max_duration", &t.max_duration_s, why, whycap) || json_u32(j, "ttl", &t.ttl, why, whycap) ||
        json_u32(j, "urgent", &t.urgent_s, why, whycap)) {
        return -1;
    }
    json_t *slow = json_object_get(j, "slow");
    if (slow) {
        const char *s = json_string_value(slow);
        if (s && strcmp(s, "rollback") == 0) {
            t.slow_rollback = true;
        } else if (s && strcmp(s, "hold") == 0) {
            t.slow_rollback = false;
        } else {
            snprintf(why, whycap, "rollout policy: \"slow\" is neither \"rollback\" nor \"hold\"");
            return -1;
        }
    }
    if (policy_check(&t, why, whycap) != 0) {
        return -1;
    }
    *p = t;
    return 0;
}

/* ---- one pool's window ---- */

void rs_pool_init(rs_pool_t *p, uint32_t window_s)
{
    memset(p, 0, sizeof(*p));
    if (window_s < 1) {
        window_s = 1;
    } else if (window_s > 7 * 86400) {
        window_s = 7 * 86400; /* in milliseconds it must fit 32 bits */
    }
    p->window_ms = window_s * 1000u;
    /* round up, so the RS_BUCKETS buckets cover at least the window */
    p->bucket_ms = (p->window_ms + RS_BUCKETS - 1) / RS_BUCKETS;
    for (int i = 0; i < RS_BUCKETS; i++) {
        p->b[i].start_ms = RS_EMPTY_BUCKET;
    }
    snprintf(p->errs[RS_ERRS].err, sizeof(p->errs[RS_ERRS].err), "other");
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The first bucket start still inside the window ending at @p now_ms. */
static int64_t window_first(const rs_pool_t *p, int64_t now_ms)
{
    int64_t cur = floor_div(now_ms, p->bucket_ms) * p->bucket_ms;
    return cur - (int64_t)(RS_BUCKETS - 1) * p->bucket_ms;
}

static void count_err(rs_pool_t *p, const char *err)
{
    if (!err || !*err) {
        err = "unknown";
    }
    for (int i = 0; i < RS_ERRS; i++) {
        if (p->errs[i].n == 0) {
            snprintf(p->errs[i].err, sizeof(p->errs[i].err), "%s", err);
            p->errs[i].n = 1;
            return;
        }
        if (strncmp(p->errs[i].err, err, sizeof(p->errs[i].err) - 1) == 0) {
            p->errs[i].n++;
            return;
        }
    }
    p->errs[RS_ERRS].n++;
}

void rs_pool_add(rs_pool_t *p, int64_t t_ms, bool ok, uint32_t hs_us, uint8_t proto, const char *err)
{
    double ms = hs_us / 1000.0;
    bool timed = ok && hs_us > 0;

    p->ewma_fail = p->total == 0 ? (ok ? 0.0 : 1.0) : p->ewma_fail + RS_EWMA_ALPHA * ((ok ? 0.0 : 1.0) - p->ewma_fail);
    if (timed) {
        /* res_n counts the timed samples so far (capped): 0 means this is the first */
        p->ewma_ms = p->res_n == 0 ? ms : p->ewma_ms + RS_EWMA_ALPHA * (ms - p->ewma_ms);
    }
    p->total++;
    if (!ok) {
        p->total_fails++;
        count_err(p, err);
    }

    int64_t start = floor_div(t_ms, p->bucket_ms) * p->bucket_ms;
    rs_bucket_t *b = &p->b[floor_div(start, p->bucket_ms) % RS_BUCKETS];
    if (b->start_ms != start) {
        if (b->start_ms != RS_EMPTY_BUCKET && b->start_ms > start) {
            /* a late sample whose bucket has been reused: totals only */
            return;
        }
        memset(b, 0, sizeof(*b));
        b->start_ms = start;
    }
    b->n++;
    if (!ok) {
        b->fails++;
    }
    if (timed) {
        rs_welford_add(&b->hs_ms, ms);
    }
    b->proto[proto < RS_PROTOS ? proto : REV_TLS_UNKNOWN]++;

    if (timed) {
        p->res[p->res_next].t_ms = t_ms;
        p->res[p->res_next].ms = (float)ms;
        p->res_next = (p->res_next + 1) % RS_RESERVOIR;
        if (p->res_n < RS_RESERVOIR) {
            p->res_n++;
        }
    }
}

void rs_pool_summary(const rs_pool_t *p, int64_t now_ms, rs_summary_t *out)
{
    memset(out, 0, sizeof(*out));
    int64_t first = window_first(p, now_ms);
    rs_welford_t w = {0, 0, 0};
    for (int i = 0; i < RS_BUCKETS; i++) {
        const rs_bucket_t *b = &p->b[i];
        if (b->start_ms == RS_EMPTY_BUCKET || b->start_ms < first || b->start_ms > now_ms) {
            continue;
        }
        out->n += b->n;
        out->fails += b->fails;
        rs_welford_merge(&w, &b->hs_ms);
        for (int k = 0; k < RS_PROTOS; k++) {
            out->proto[k] += b->proto[k];
        }
    }
    out->fail_rate = out->n ? (double)out->fails / out->n : 0;
    out->mean_ms = w.n ? w.mean : 0;
    out->sd_ms = rs_welford_sd(&w);
    out->ewma_fail = p->ewma_fail;
    out->ewma_ms = p->ewma_ms;
}

/* ---- comparison ---- */

/* P(Z > z) for a standard normal Z. */
static double upper_tail(double z)
{
    return 0.5 * erfc(z / M_SQRT2);
}

typedef struct mw_item {
    float ms;
    uint8_t canary;
} mw_item_t;

/*
 * Heapsort by time: in place and without allocation (glibc's qsort may
 * malloc a buffer for arrays over 1 KiB, and the header promises none).
 */
static void mw_sift(mw_item_t *a, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) {
            return;
        }
        if (child + 1 < n && a[child + 1].ms > a[child].ms) {
            child++;
        }
        if (!(a[child].ms > a[root].ms)) {
            return;
        }
        mw_item_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void mw_sort(mw_item_t *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;) {
        mw_sift(a, i, n);
    }
    for (size_t end = n; end-- > 1;) {
        mw_item_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        mw_sift(a, 0, end);
    }
}

static size_t res_collect(const rs_pool_t *p, int64_t first, int64_t now_ms, uint8_t canary, mw_item_t *out,
                          size_t at)
{
    for (uint32_t i = 0; i < p->res_n; i++) {
        if (p->res[i].t_ms >= first && p->res[i].t_ms <= now_ms) {
            out[at].ms = p->res[i].ms;
            out[at].canary = canary;
            at++;
        }
    }
    return at;
}

/*
 * Mann-Whitney U of the canary's handshake times against the stable's,
 * normal approximation with tie correction and continuity correction,
 * one-sided "canary slower" (as scipy.stats.mannwhitneyu(canary, stable,
 * alternative='greater', method='asymptotic')). False when not computable.
 */
static bool mann_whitney(const rs_pool_t *stable, const rs_pool_t *canary, int64_t now_ms, double *u, double *z,
                         double *p)
{
    mw_item_t items[2 * RS_RESERVOIR];
    size_t n = res_collect(canary, window_first(canary, now_ms), now_ms, 1, items, 0);
    size_t n1 = n;
    n = res_collect(stable, window_first(stable, now_ms), now_ms, 0, items, n);
    size_t n2 = n - n1;
    if (n1 < 2 || n2 < 2) {
        return false;
    }
    mw_sort(items, n);
    double r1 = 0, ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && items[j].ms == items[i].ms) {
            j++;
        }
        double rank = (double)(i + 1 + j) / 2.0; /* the average of ranks i+1..j */
        double t = (double)(j - i);
        ties += t * t * t - t;
        for (size_t k = i; k < j; k++) {
            if (items[k].canary) {
                r1 += rank;
            }
        }
        i = j;
    }
    double dn1 = (double)n1, dn2 = (double)n2, dn = (double)n;
    *u = r1 - dn1 * (dn1 + 1) / 2;
    double mu = dn1 * dn2 / 2;
    double var = dn1 * dn2 / 12.0 * ((dn + 1) - ties / (dn * (dn - 1)));
    if (var <= 0) {
        return false;
    }
    *z = (*u - mu - 0.5) / sqrt(var);
    *p = upper_tail(*z);
    return true;
}

void rs_compare(const rs_policy_t *pol, const rs_pool_t *stable, const rs_pool_t *canary, int64_t now_ms,
                rs_verdict_t *out)
{
    memset(out, 0, sizeof(*out));
    out->p_fail = 1;
    out->p_time = 1;
    rs_pool_summary(stable, now_ms, &out->stable);
    rs_pool_summary(canary, now_ms, &out->canary);
    const rs_summary_t *s = &out->stable, *c = &out->canary;
    if (s->mean_ms > 0 && c->mean_ms > 0) {
        out->time_ratio = c->mean_ms / s->mean_ms;
    }
    if (s->n < pol->min_samples || c->n < pol->min_samples) {
        out->outcome = RS_SHORT;
        snprintf(out->why, sizeof(out->why), "short evidence: canary n=%" PRIu32 ", stable n=%" PRIu32 " (need %" PRIu32 " each)",
                 c->n, s->n, pol->min_samples);
        return;
    }

    /* failures: H0 canary rate <= stable rate + margin, pooled standard error */
    double pbar = (double)(s->fails + c->fails) / ((double)s->n + c->n);
    double se = sqrt(pbar * (1 - pbar) * (1.0 / s->n + 1.0 / c->n));
    if (se > 0) {
        out->z_fail = (c->fail_rate - s->fail_rate - pol->fail_margin) / se;
        out->p_fail = upper_tail(out->z_fail);
    }
    bool mw = mann_whitney(stable, canary, now_ms, &out->u, &out->z_time, &out->p_time);

    if (out->p_fail < pol->alpha) {
        out->outcome = RS_WORSE_FAIL;
        snprintf(out->why, sizeof(out->why), "canary fails more: %.2f%% vs %.2f%% (z=%.2f, p=%.2g < %.2g)",
                 100 * c->fail_rate, 100 * s->fail_rate, out->z_fail, out->p_fail, pol->alpha);
    } else if (mw && out->p_time < pol->alpha && out->time_ratio > 1 + pol->time_margin) {
        out->outcome = RS_WORSE_TIME;
        snprintf(out->why, sizeof(out->why), "canary slower: %.1f ms vs %.1f ms (x%.2f > x%.2f, U p=%.2g < %.2g)",
                 c->mean_ms, s->mean_ms, out->time_ratio, 1 + pol->time_margin, out->p_time, pol->alpha);
    } else {
        out->outcome = RS_NOT_WORSE;
        snprintf(out->why, sizeof(out->why),
                 "canary not worse: fails %.2f%% vs %.2f%% (p=%.2g), %.1f ms vs %.1f ms (p=%.2g)",
                 100 * c->fail_rate, 100 * s->fail_rate, out->p_fail, c->mean_ms, s->mean_ms, out->p_time);
    }
}

/* ---- decision ---- */

int rs_steps(const rs_policy_t *pol, bool urgent, uint16_t out[RS_STEPS_MAX])
{
    if (urgent) {
        int n = (int)(sizeof(urgent_steps) / sizeof(urgent_steps[0]));
        memcpy(out, urgent_steps, sizeof(urgent_steps));
        return n;
    }
    memcpy(out, pol->steps, sizeof(pol->steps[0]) * (size_t)pol->nsteps);
    return pol->nsteps;
}

/*
 * The order of the rules is the header's: paused, short evidence, worse
 * failures, only slower, not worse for a whole window (urgent: a quarter).
 * At the last step (100 %) the stable pool gets no client handshakes (only
 * probes), so short STABLE evidence there does not hold the rollout: a
 * whole window at 100 % without a worse verdict, the canary having
 * min_samples, promotes. Before the first step (step -1) the answer is
 * the first step: there is no canary traffic yet to judge.
 */
rs_action_t rs_decide(const rs_policy_t *pol, rs_state_t *st, const rs_verdict_t *v, int64_t now_ms,
                      uint16_t *next, char *why, size_t whycap)
{
    uint16_t steps[RS_STEPS_MAX];
    int n = rs_steps(pol, st->urgent, steps);
    int64_t need_ms = (int64_t)pol->window_s * 1000 / (st->urgent ? 4 : 1);
    bool last = st->step >= n - 1;
    uint16_t cur = st->step >= 0 && st->step < n ? steps[st->step] : 0;

    if (st->paused) {
        st->ok_since_ms = 0;
        snprintf(why, whycap, "paused at %.2f%%", cur / 100.0);
        return RS_HOLD;
    }
    if (st->step < 0) {
        /* not started: no canary traffic to judge; the first step needs no evidence */
        *next = steps[0];
        st->ok_since_ms = 0;
        snprintf(why, whycap, "start at %.2f%%", steps[0] / 100.0);
        return RS_STEP;
    }
    if (v->outcome == RS_WORSE_FAIL) {
        st->ok_since_ms = 0;
        snprintf(why, whycap, "rollback at %.2f%%: %s", cur / 100.0, v->why);
        return RS_ROLLBACK;
    }
    if (v->outcome == RS_WORSE_TIME) {
        st->ok_since_ms = 0;
        if (pol->slow_rollback) {
            snprintf(why, whycap, "rollback at %.2f%% (slow=rollback): %s", cur / 100.0, v->why);
            return RS_ROLLBACK;
        }
        snprintf(why, whycap, "hold at %.2f%% (slow=hold): %s", cur / 100.0, v->why);
        return RS_HOLD;
    }
    if (v->outcome == RS_SHORT && (!last || v->canary.n < pol->min_samples)) {
        st->ok_since_ms = 0;
        if (now_ms - st->started_ms >= (int64_t)pol->max_duration_s * 1000) {
            snprintf(why, whycap, "hold at %.2f%%, past max-duration %" PRIu32 " s: %s", cur / 100.0,
                     pol->max_duration_s, v->why);
        } else {
            snprintf(why, whycap, "hold at %.2f%%: %s", cur / 100.0, v->why);
        }
        return RS_HOLD;
    }
    /* not worse (or, at the last step, short of stable evidence) */
    if (st->ok_since_ms == 0 || st->ok_since_ms < st->step_started_ms) {
        st->ok_since_ms = now_ms > st->step_started_ms ? now_ms : st->step_started_ms;
    }
    int64_t since = last ? st->step_started_ms : st->ok_since_ms;
    if (now_ms - since < need_ms) {
        snprintf(why, whycap, "hold at %.2f%% for %" PRId64 " s more: %s", cur / 100.0,
                 (need_ms - (now_ms - since) + 999) / 1000, v->why);
        return RS_HOLD;
    }
    if (last) {
        *next = 10000;
        snprintf(why, whycap, "promote after %" PRId64 " s at %.2f%%: %s", (now_ms - since) / 1000, cur / 100.0,
                 v->why);
        return RS_PROMOTE;
    }
    *next = steps[st->step + 1];
    st->ok_since_ms = 0;
    snprintf(why, whycap, "step %.2f%% -> %.2f%%: %s", cur / 100.0, *next / 100.0, v->why);
    return RS_STEP;
}

json_t *rs_verdict_json(const rs_verdict_t *v)
{
    static const char *outcomes[] = {"short", "not-worse", "worse-fail", "worse-time"};
    /* the names of rev_proto_name(), indexed by REV_TLS* */
    static const char *protos[RS_PROTOS] = {"unknown", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
    json_t *pools = json_object();
    const rs_summary_t *sums[2] = {&v->stable, &v->canary};
    const char *names[2] = {"stable", "canary"};
    for (int i = 0; i < 2; i++) {
        const rs_summary_t *s = sums[i];
        json_t *proto = json_object();
        for (uint8_t k = 0; k < RS_PROTOS; k++) {
            if (s->proto[k]) {
                json_object_set_new(proto, protos[k], json_integer(s->proto[k]));
            }
        }
        json_object_set_new(pools, names[i],
                            json_pack("{s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:o}", "n", (json_int_t)s->n, "fails",
                                      (json_int_t)s->fails, "fail_rate", s->fail_rate, "mean_ms", s->mean_ms, "sd_ms",
                                      s->sd_ms, "ewma_fail", s->ewma_fail, "ewma_ms", s->ewma_ms, "proto", proto));
    }
    json_t *j = json_pack("{s:s, s:o, s:f, s:f, s:f, s:f, s:f, s:f, s:s}", "outcome",
                          v->outcome >= 0 && v->outcome <= 3 ? outcomes[v->outcome] : "unknown", "pools", pools,
                          "z_fail", v->z_fail, "p_fail", v->p_fail, "u", v->u, "z_time", v->z_time, "p_time",
                          v->p_time, "time_ratio", v->time_ratio, "why", v->why);
    return j;
}

const char *rs_action_name(rs_action_t a)
{
    switch (a) {
    case RS_HOLD: return "hold";
    case RS_STEP: return "step";
    case RS_ROLLBACK: return "rollback";
    case RS_PROMOTE: return "promote";
    }
    return "unknown";
}
