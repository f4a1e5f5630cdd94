/* SPDX-License-Identifier: MIT */
/* counters.c -- the counter table (see counters.h). Read on the slow path only. */
#include "dnsd/counters.h"

const counter_def_t counter_defs[CTR_N] = {
#define X(id, name, flags, help) [CTR_##id] = {name, help, COUNTER_TOTAL, flags},
    DNSD_COUNTERS(X)
#undef X
};

const char *const counter_qtype_names[CTR_QTYPE_SLOTS] = {
#define X(name, code) [CTR_QT_##name] = #name,
    DNSD_QTYPES(X)
#undef X
    [CTR_QT_OTHER] = "other",
};

counters_t counters_slow;
