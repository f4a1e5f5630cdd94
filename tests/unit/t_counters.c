/* SPDX-License-Identifier: MIT */
/*
 * t_counters.c -- the counter table (dnsd/counters.h) every output walks:
 * each counter has a unique stats-file name usable as a metric name and a
 * help text, the rcode rows sit at CTR_RCODE_0 + rcode, and the names the
 * tests and operators read are there.
 */
#include <stdbool.h>
#include <string.h>

#include "dnsd/counters.h"
#include "tests/tap.h"

int main(void)
{
    bool unique = true, named = true, metric_ok = true;
    for (int i = 0; i < CTR_N; i++) {
        const counter_def_t *d = &counter_defs[i];
        named = named && d->name && d->name[0] && d->help && d->help[0];
        for (int j = 0; d->name && j < i; j++) {
            unique = unique && strcmp(d->name, counter_defs[j].name) != 0;
        }
        for (const char *p = d->name; p && *p; p++) {
            /* [a-z0-9.]: '.' becomes '_' in a Prometheus name */
            metric_ok = metric_ok && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                                      *p == '.');
        }
    }
    ok(named, "every counter has a name and a help text");
    ok(unique, "no two counters share a name");
    ok(metric_ok, "names are lower case, digits and dots (metric names once '.' -> '_')");
    is_str(counter_defs[CTR_RCODE_0 + 0].name, "rcode.noerror", "rcode 0 at CTR_RCODE_0");
    is_str(counter_defs[CTR_RCODE_0 + 3].name, "rcode.nxdomain", "rcode 3 at CTR_RCODE_0 + 3");
    is_str(counter_defs[CTR_RCODE_0 + 16].name, "rcode.badvers", "BADVERS at CTR_RCODE_0 + 16");
    static const char *const known[] = {"queries", "queries.tcp", "truncated", "referrals",
                                        "dropped", "rrl.limited", "rrl.slipped", "rrl.dropped",
                                        "rrl.evicted", "tcp.accepted", "tcp.closed.idle",
                                        "tcp.closed.time"};
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
        bool found = false;
        for (int i = 0; i < CTR_N; i++) {
            found = found || strcmp(counter_defs[i].name, known[k]) == 0;
        }
        ok(found, "stats name %s is declared", known[k]);
    }
    return done_testing();
}
