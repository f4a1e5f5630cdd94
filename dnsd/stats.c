/* SPDX-License-Identifier: MIT */
/* stats.c -- counters for the operator (see stats.h). Slow path, main thread. */
#include "dnsd/stats.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zones/base/file.h"
#include "zones/base/log.h"

void stats_collect(const server_t *srv, stats_total_t *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < srv->nworkers; i++) {
        const counters_t *c = &srv->w[i]->actx.st;
        for (int k = 0; k < CTR_N; k++) {
            t->v[k] += STAT_GET(c->c[k]);
        }
    }
    for (int k = 0; k < CTR_N; k++) {
        t->v[k] += STAT_GET(counters_slow.c[k]); /* the threads that are not workers */
    }
    for (int k = 0; srv->dnstap_st && k < CTR_N; k++) {
        t->v[k] += STAT_GET(srv->dnstap_st->c[k]); /* the dnstap thread's (dnstap.h) */
    }
}

#define U(x) ((unsigned long long)(x))
#define V(id) U(t->v[CTR_##id])

void stats_log(const char *what, const stats_total_t *t)
{
    /* the counters not in the sentence, when not 0 */
    char more[2048] = "";
    size_t n = 0;
    for (int k = 0; k < CTR_N && n < sizeof(more); k++) {
        if (!(counter_defs[k].flags & COUNTER_F_SUMMARY) && t->v[k]) {
            n += (size_t)snprintf(more + n, sizeof(more) - n, "%s%s %llu", n ? ", " : "; ",
                                  counter_defs[k].name, U(t->v[k]));
        }
    }
    log_info("%s: %llu queries (%llu TCP), %llu NOERROR, %llu NXDOMAIN, %llu REFUSED, "
             "%llu FORMERR, %llu SERVFAIL, %llu truncated, %llu dropped; "
             "rate limit: %llu limited (%llu slipped, %llu dropped); "
             "TCP: %llu accepted, %llu closed idle, %llu closed at the time limit%s",
             what, V(QUERIES), V(TCP), V(RCODE_0), V(RCODE_3), V(RCODE_5), V(RCODE_1),
             V(RCODE_2), V(TRUNCATED), V(DROPPED), V(RRL_LIMITED), V(RRL_SLIPPED),
             V(RRL_DROPPED), V(TCP_ACCEPTED), V(TCP_CLOSED_IDLE), V(TCP_CLOSED_TIME), more);
}

int stats_write(const char *path, const stats_total_t *t, double uptime_s)
{
    char text[8192];
    size_t n = 0;
#define P(...) n += (size_t)snprintf(text + n, n < sizeof(text) ? sizeof(text) - n : 0, __VA_ARGS__)
    P("uptime %.0f\n", uptime_s);
    for (int k = 0; k < CTR_N; k++) {
        if (!(counter_defs[k].flags & COUNTER_F_NONZERO) || t->v[k]) {
            P("%s %llu\n", counter_defs[k].name, U(t->v[k]));
        }
    }
#undef P
    if (n >= sizeof(text)) {
        return -ENOSPC;
    }
    return file_write_atomic(path, text, n, 0644);
}
