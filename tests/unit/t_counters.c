/* SPDX-License-Identifier: MIT */
/*
 * t_counters.c -- the counter table (dnsd/counters.h) every output walks:
 * each counter has a unique stats-file name usable as a metric name and a
 * help text, the rcode rows sit at CTR_RCODE_0 + rcode, and the names the
 * tests and operators read are there; the labelled families map qtypes,
 * zone ids and region ids to bounded slots.
 */
#include <stdbool.h>
#include <stdint.h>
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

    /* the labelled families (issue 16): bounded slots, one per label value */
    static const struct {
        const char *what;
        uint16_t qtype;
        const char *label;
    } qt[] = {
        {"A", 1, "A"},           {"AAAA", 28, "AAAA"},      {"HTTPS", 65, "HTTPS"},
        {"CAA (> 255)", 257, "CAA"}, {"AXFR", 252, "AXFR"}, {"unknown 65280", 65280, "other"},
        {"type 0", 0, "other"},  {"ANY", 255, "ANY"},
    };
    for (size_t k = 0; k < sizeof(qt) / sizeof(qt[0]); k++) {
        unsigned slot = counter_qtype_slot(qt[k].qtype);
        ok(slot < CTR_QTYPE_SLOTS && strcmp(counter_qtype_names[slot], qt[k].label) == 0,
           "qtype %s -> slot \"%s\"", qt[k].what, qt[k].label);
    }
    bool qt_unique = true;
    for (int i = 0; i < CTR_QTYPE_SLOTS; i++) {
        for (int j = 0; j < i; j++) {
            qt_unique = qt_unique && strcmp(counter_qtype_names[i], counter_qtype_names[j]) != 0;
        }
    }
    ok(qt_unique, "qtype label values are unique");
    is_int(counter_zone_slot(1), 1, "zone id 1 has its own slot");
    is_int(counter_zone_slot(CTR_ZONE_SLOTS - 1), CTR_ZONE_SLOTS - 1, "the last zone slot");
    is_int(counter_zone_slot(CTR_ZONE_SLOTS), 0, "zone ids past the bound share slot 0 (other)");
    is_int(counter_zone_slot(UINT32_MAX), 0, "... up to the largest id");
    is_int(counter_region_slot(0), 0, "region default: slot 0");
    is_int(counter_region_slot(CTR_REGION_SLOTS - 2), CTR_REGION_SLOTS - 2, "the last region slot");
    is_int(counter_region_slot(CTR_REGION_SLOTS - 1), CTR_REGION_SLOTS - 1,
           "region ids from the bound on: the last slot (other)");
    is_int(counter_region_slot(0xFFFE), CTR_REGION_SLOTS - 1, "... up to the largest id");
    return done_testing();
}
