/* SPDX-License-Identifier: MIT */
/* settings.c -- worker settings snapshots (see settings.h). Slow path, main thread. */
#include "dnsd/settings.h"

#include <stdlib.h>

#include "zones/base/xalloc.h"

struct settings_rrl {
    rrl_t *table;
    int refs; /* snapshots holding it; main thread only */
    size_t size;
    unsigned v4, v6;
};

settings_t *settings_build(const config_t *c, int nworkers, const settings_t *prev)
{
    settings_t *s = xcalloc(1, sizeof(*s));
    s->tcp_idle_timeout_s = c->tcp_idle_timeout_s;
    s->tcp_max_conn_time_s = c->tcp_max_conn_time_s;
    s->tcp_max_queries = c->tcp_max_queries;
    (void)nworkers;
    s->tcp_max = c->tcp_max_connections;
    s->udp_payload = (uint16_t)c->udp_payload;
    s->rrl_rate = c->rrl_rate;
    s->rrl_slip = c->rrl_slip;
    if (c->rrl_rate == 0) {
        return s;
    }
    settings_rrl_t *pr = prev ? prev->rrl_ref : NULL;
    if (pr && pr->size == c->rrl_table_size && pr->v4 == c->rrl_ipv4_prefix &&
        pr->v6 == c->rrl_ipv6_prefix) {
        pr->refs++;
        s->rrl_ref = pr;
    } else {
        settings_rrl_t *r = xcalloc(1, sizeof(*r));
        r->table = rrl_new(c->rrl_table_size, c->rrl_ipv4_prefix, c->rrl_ipv6_prefix);
        r->refs = 1;
        r->size = c->rrl_table_size;
        r->v4 = c->rrl_ipv4_prefix;
        r->v6 = c->rrl_ipv6_prefix;
        s->rrl_ref = r;
    }
    s->rrl = s->rrl_ref->table;
    return s;
}

void settings_free(settings_t *s)
{
    if (!s) {
        return;
    }
    if (s->rrl_ref && --s->rrl_ref->refs == 0) {
        rrl_free(s->rrl_ref->table);
        free(s->rrl_ref);
    }
    free(s);
}
