/* SPDX-License-Identifier: MIT */
/*
 * dnstap_ring.h -- the query workers' side of dnstap logging: each worker
 * owns one dnstap_tap_t, a ring of fixed-size slots that it fills with the
 * messages it answers (query and response bytes, addresses, time) and that
 * the one dnstap thread (dnstap.h) empties, encodes and hands to fstrm.
 * Callers: worker.c (dnstap_tap_exchange, on the query path) and dnstap.c
 * (the consumer side). Must never block, lock, allocate or log on the
 * producer side: a full ring, or a message bigger than a slot, is counted
 * (dnstap.dropped) and skipped.
 *
 * DESIGN: a single-producer single-consumer ring of DNSTAP_RING_SLOTS
 * preallocated slots. The producer (the worker) owns `head`, the consumer
 * (the dnstap thread) owns `tail`; each reads the other's with acquire and
 * publishes its own with release, so a slot's bytes are visible before the
 * index that hands it over. Both indices only grow (uint32, wrapping), the
 * slot is index & (DNSTAP_RING_SLOTS - 1). A slot holds one DNS message
 * (AUTH_QUERY or AUTH_RESPONSE) of at most DNSTAP_MSG_MAX bytes; a bigger
 * one (a large TCP answer) is not logged and counts as dropped, because a
 * cut DNS message would be a malformed record in the log.
 * Sampling (dnstap-sample N): every Nth query a worker answers is logged,
 * with its response; the count is per worker, so with one worker exactly
 * one query in N is logged.
 */
#ifndef DNSD_DNSTAP_RING_H
#define DNSD_DNSTAP_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "dnsd/counters.h"

#define DNSTAP_RING_SLOTS 512u  /* per worker; a power of two */
#define DNSTAP_MSG_MAX    4096u /* bytes of one DNS message a slot holds */

enum { DNSTAP_AUTH_QUERY = 1, DNSTAP_AUTH_RESPONSE = 2 }; /* dnstap's Message.Type values */

typedef struct dnstap_slot {
    uint8_t type;         /* DNSTAP_AUTH_QUERY or DNSTAP_AUTH_RESPONSE */
    bool is_tcp;
    uint8_t family;       /* AF_INET or AF_INET6 */
    bool have_server;     /* server address known */
    uint16_t client_port, server_port;
    uint8_t client[16], server[16]; /* 4 octets used for AF_INET */
    struct timespec qtime;          /* when the query was answered */
    struct timespec rtime;          /* when the response was built (AUTH_RESPONSE) */
    uint16_t len;
    uint8_t msg[DNSTAP_MSG_MAX];
} dnstap_slot_t;

typedef struct dnstap_tap {
    _Alignas(64) _Atomic uint32_t head; /* next slot the worker fills (worker writes) */
    _Alignas(64) _Atomic uint32_t tail; /* next slot the dnstap thread reads (it writes) */
    _Alignas(64) dnstap_slot_t *slot;   /* DNSTAP_RING_SLOTS of them */
    unsigned sample;                    /* log 1 query in this many (1: all) */
    unsigned seen;                      /* queries since the last one logged (worker only) */
    bool log_queries, log_responses;
} dnstap_tap_t;

/**
 * Set up @p t with its slots (xcalloc: aborts on OOM), logging queries
 * and/or responses, one query in @p sample (0 is taken as 1). Slow path,
 * before the worker starts. dnstap_tap_fini() releases the slots.
 */
void dnstap_tap_init(dnstap_tap_t *t, unsigned sample, bool log_queries, bool log_responses);
void dnstap_tap_fini(dnstap_tap_t *t);

/**
 * Log one exchange: the query @p q (@p qlen bytes) from @p client, asked of
 * @p server (NULL: not known), and the response @p r (@p rlen bytes; 0: none
 * sent -- handed to another thread, or rate limited away), as the tap's
 * settings and sampling say. Each message takes one slot; a full ring or a
 * message over DNSTAP_MSG_MAX bytes bumps CTR_DNSTAP_DROPPED in @p st
 * instead. Worker thread (the tap's only producer); hot: no lock, no
 * allocation, no syscall (the clock is read through the vDSO).
 */
void dnstap_tap_exchange(dnstap_tap_t *t, counters_t *st, bool is_tcp,
                         const struct sockaddr *client, const struct sockaddr *server,
                         const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen);

/**
 * Consumer side (the dnstap thread only): the oldest filled slot, or NULL
 * when the ring is empty. It stays valid and unchanged until
 * dnstap_tap_pop(), which gives it back to the worker.
 */
const dnstap_slot_t *dnstap_tap_peek(dnstap_tap_t *t);
void dnstap_tap_pop(dnstap_tap_t *t);

#endif
