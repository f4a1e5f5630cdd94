/* SPDX-License-Identifier: MIT */
/* counters.c -- the counter table (see counters.h). Read on the slow path only. */
#include "dnsd/counters.h"

const counter_def_t counter_defs[CTR_N] = {
#define X(id, name, flags, help) [CTR_##id] = {name, help, COUNTER_TOTAL, flags},
    DNSD_COUNTERS(X)
#undef X
};
