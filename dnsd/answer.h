/* SPDX-License-Identifier: MIT */
/*
 * answer.h -- build the response to one query, straight into the caller's
 * send buffer: authoritative data, referrals, negative answers, CNAME
 * chains, wildcards (RFC 4592), EDNS0 (RFC 6891), truncation, name
 * compression. Called by the UDP and TCP paths of every worker thread, the
 * unit tests and the fuzz target.
 * Hot path: no malloc, no lock, no log; it counts into answer_stats_t.
 */
#ifndef DNSD_ANSWER_H
#define DNSD_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "dnsd/geo_state.h"
#include "zones/reader.h"

#define ANSWER_UDP_MAX_DEFAULT 1232 /* DNS flag day 2020 */
#define ANSWER_TCP_MAX 65535

typedef struct answer_stats {
    uint64_t queries;
    uint64_t rcode[17]; /* by rcode; [16] BADVERS */
    uint64_t dropped;
    uint64_t truncated;
    uint64_t referrals;
    uint64_t tcp;
} answer_stats_t;

typedef struct answer_ctx {
    zr_t *rd;            /* begun by the caller for this batch */
    bool rd_ok;          /* false: the store could not be read -> SERVFAIL */
    uint16_t udp_max;    /* our EDNS payload size and UDP response cap */
    const geo_state_t *geo; /* regions and geo table for this batch, or NULL */
    answer_stats_t st;
} answer_ctx_t;

/**
 * Answer the query in @p pkt/@p len into @p out (capacity @p cap: at least
 * udp_max for UDP, ANSWER_TCP_MAX for TCP). @p src is the packet's source
 * address (NULL: unknown); with ECS (RFC 7871) the option's subnet is the
 * client instead, unless the zone has ECS switched off.
 * @return the response length; 0 means send nothing.
 */
size_t answer_query(answer_ctx_t *a, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                    bool is_tcp, const struct sockaddr *src);

#endif
