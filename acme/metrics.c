/* SPDX-License-Identifier: MIT */
/* metrics.c -- the ACME worker's counters (see metrics.h). Slow path, no allocation. */
#include "acme/metrics.h"

#include <string.h>

acme_metrics_t acme_metrics;

const char *const acme_problem_names[ACME_PROB_N] = {
#define X(name) [ACME_PROB_##name] = #name,
    ACME_PROBLEM_TYPES(X)
#undef X
    [ACME_PROB_OTHER] = "other",
};

const unsigned acme_latency_bounds[ACME_LATENCY_N] = ACME_LATENCY_BOUNDS;

#define ACME_ERR_URN "urn:ietf:params:acme:error:"

void acme_metrics_problem(const char *type)
{
    int k = ACME_PROB_OTHER;
    size_t ul = strlen(ACME_ERR_URN);
    if (type && strncmp(type, ACME_ERR_URN, ul) == 0) {
        for (int i = 0; i < ACME_PROB_OTHER; i++) {
            if (strcmp(type + ul, acme_problem_names[i]) == 0) {
                k = i;
                break;
            }
        }
    }
    ACME_METRIC_INC(problems[k]);
}

void acme_metrics_issued(long seconds)
{
    unsigned long s = seconds > 0 ? (unsigned long)seconds : 0;
    ACME_METRIC_INC(issued);
    atomic_fetch_add_explicit(&acme_metrics.latency_sum_s, s, memory_order_relaxed);
    for (int i = 0; i < ACME_LATENCY_N; i++) {
        if (s <= acme_latency_bounds[i]) {
            ACME_METRIC_INC(latency_le[i]);
            return;
        }
    }
    ACME_METRIC_INC(latency_inf);
}
