/* SPDX-License-Identifier: MIT */
/*
 * dnstap_ring.c -- the workers' dnstap rings (see dnstap_ring.h).
 * Hot path (dnstap_tap_exchange): no malloc, no lock, no log, no syscall.
 */
#include "dnsd/dnstap_ring.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "zones/base/xalloc.h"

void dnstap_tap_init(dnstap_tap_t *t, unsigned sample, bool log_queries, bool log_responses)
{
    memset(t, 0, sizeof(*t));
    t->slot = xcalloc(DNSTAP_RING_SLOTS, sizeof(*t->slot));
    t->sample = sample ? sample : 1;
    t->log_queries = log_queries;
    t->log_responses = log_responses;
}

void dnstap_tap_fini(dnstap_tap_t *t)
{
    free(t->slot);
    t->slot = NULL;
}

/* the address and port of @p sa into @p addr / @p port; @return its family, 0 if neither IP */
static int sock_parts(const struct sockaddr *sa, uint8_t addr[16], uint16_t *port)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memcpy(addr, &s4->sin_addr, 4);
        *port = ntohs(s4->sin_port);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(addr, &s6->sin6_addr, 16);
        *port = ntohs(s6->sin6_port);
        return AF_INET6;
    }
    return 0;
}

/* Put one message in the ring. @return false (nothing written) when it is
 * full or the message does not fit a slot. */
static bool put(dnstap_tap_t *t, uint8_t type, bool is_tcp, const struct sockaddr *client,
                const struct sockaddr *server, const struct timespec *now, const uint8_t *msg,
                size_t len)
{
    uint32_t head = atomic_load_explicit(&t->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&t->tail, memory_order_acquire);
    if (head - tail >= DNSTAP_RING_SLOTS || len > DNSTAP_MSG_MAX) {
        return false;
    }
    dnstap_slot_t *s = &t->slot[head & (DNSTAP_RING_SLOTS - 1)];
    s->type = type;
    s->is_tcp = is_tcp;
    s->family = (uint8_t)sock_parts(client, s->client, &s->client_port);
    s->have_server = server && server->sa_family == client->sa_family &&
                     sock_parts(server, s->server, &s->server_port) != 0;
    s->qtime = *now;
    s->rtime = *now;
    s->len = (uint16_t)len;
    memcpy(s->msg, msg, len);
    atomic_store_explicit(&t->head, head + 1, memory_order_release);
    return true;
}

void dnstap_tap_exchange(dnstap_tap_t *t, counters_t *st, bool is_tcp,
                         const struct sockaddr *client, const struct sockaddr *server,
                         const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen)
{
    if (++t->seen < t->sample) {
        return;
    }
    t->seen = 0;
    if (client->sa_family != AF_INET && client->sa_family != AF_INET6) {
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now); /* vDSO: no syscall */
    if (t->log_queries &&
        !put(t, DNSTAP_AUTH_QUERY, is_tcp, client, server, &now, q, qlen)) {
        STAT_INC(CTR(st, DNSTAP_DROPPED));
    }
    if (t->log_responses && rlen > 0 &&
        !put(t, DNSTAP_AUTH_RESPONSE, is_tcp, client, server, &now, r, rlen)) {
        STAT_INC(CTR(st, DNSTAP_DROPPED));
    }
}

const dnstap_slot_t *dnstap_tap_peek(dnstap_tap_t *t)
{
    uint32_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&t->head, memory_order_acquire);
    if (tail == head) {
        return NULL;
    }
    return &t->slot[tail & (DNSTAP_RING_SLOTS - 1)];
}

void dnstap_tap_pop(dnstap_tap_t *t)
{
    uint32_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
    atomic_store_explicit(&t->tail, tail + 1, memory_order_release);
}
