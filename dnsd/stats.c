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
        answer_stats_t *a = &srv->w[i]->actx.st;
        worker_stats_t *w = &srv->w[i]->ws;
        t->queries += STAT_GET(a->queries);
        t->tcp += STAT_GET(a->tcp);
        t->truncated += STAT_GET(a->truncated);
        t->dropped += STAT_GET(a->dropped);
        t->referrals += STAT_GET(a->referrals);
        for (int r = 0; r < 17; r++) {
            t->rcode[r] += STAT_GET(a->rcode[r]);
        }
        t->rrl_limited += STAT_GET(w->rrl_limited);
        t->rrl_slipped += STAT_GET(w->rrl_slipped);
        t->rrl_dropped += STAT_GET(w->rrl_dropped);
        t->rrl_evicted += STAT_GET(w->rrl_evicted);
        t->tcp_accepted += STAT_GET(w->tcp_accepted);
        t->tcp_closed_idle += STAT_GET(w->tcp_closed_idle);
        t->tcp_closed_time += STAT_GET(w->tcp_closed_time);
    }
}

#define U(x) ((unsigned long long)(x))

void stats_log(const char *what, const stats_total_t *t)
{
    log_info("%s: %llu queries (%llu TCP), %llu NOERROR, %llu NXDOMAIN, %llu REFUSED, "
             "%llu FORMERR, %llu SERVFAIL, %llu truncated, %llu dropped; "
             "rate limit: %llu limited (%llu slipped, %llu dropped); "
             "TCP: %llu accepted, %llu closed idle, %llu closed at the time limit",
             what, U(t->queries), U(t->tcp), U(t->rcode[0]), U(t->rcode[3]), U(t->rcode[5]),
             U(t->rcode[1]), U(t->rcode[2]), U(t->truncated), U(t->dropped), U(t->rrl_limited),
             U(t->rrl_slipped), U(t->rrl_dropped), U(t->tcp_accepted), U(t->tcp_closed_idle),
             U(t->tcp_closed_time));
}

int stats_write(const char *path, const stats_total_t *t, double uptime_s)
{
    static const char *const rname[17] = {
        "noerror", "formerr", "servfail", "nxdomain", "notimp", "refused", "yxdomain", "yxrrset",
        "nxrrset", "notauth", "notzone", "rcode11", "rcode12", "rcode13", "rcode14", "rcode15",
        "badvers"};
    char text[4096];
    size_t n = 0;
#define P(...) n += (size_t)snprintf(text + n, n < sizeof(text) ? sizeof(text) - n : 0, __VA_ARGS__)
    P("uptime %.0f\n", uptime_s);
    P("queries %llu\n", U(t->queries));
    P("queries.tcp %llu\n", U(t->tcp));
    for (int r = 0; r < 17; r++) {
        if (r < 6 || r == 16 || t->rcode[r]) {
            P("rcode.%s %llu\n", rname[r], U(t->rcode[r]));
        }
    }
    P("truncated %llu\n", U(t->truncated));
    P("referrals %llu\n", U(t->referrals));
    P("dropped %llu\n", U(t->dropped));
    P("rrl.limited %llu\n", U(t->rrl_limited));
    P("rrl.slipped %llu\n", U(t->rrl_slipped));
    P("rrl.dropped %llu\n", U(t->rrl_dropped));
    P("rrl.evicted %llu\n", U(t->rrl_evicted));
    P("tcp.accepted %llu\n", U(t->tcp_accepted));
    P("tcp.closed.idle %llu\n", U(t->tcp_closed_idle));
    P("tcp.closed.time %llu\n", U(t->tcp_closed_time));
#undef P
    if (n >= sizeof(text)) {
        return -ENOSPC;
    }
    return file_write_atomic(path, text, n, 0644);
}
