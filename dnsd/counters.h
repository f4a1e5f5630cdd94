/* SPDX-License-Identifier: MIT */
/*
 * counters.h -- the server's counters, each declared ONCE here (name, help
 * text, kind) in DNSD_COUNTERS; the stats file, the SIGUSR1/shutdown log
 * line and (later) the metrics endpoint all walk the same table
 * (counter_defs), so a new counter appears in each of them. Every worker
 * keeps its own counters_t (answer_ctx_t.st): one writer, bumped without a
 * locked instruction; the main thread sums them on read (stats.h).
 * Hot side (STAT_INC): inline, no lock, no allocation.
 */
#ifndef DNSD_COUNTERS_H
#define DNSD_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

typedef enum counter_kind {
    COUNTER_TOTAL, /* only grows: a Prometheus counter */
} counter_kind_t;

/* flags of a counter */
#define COUNTER_F_NONZERO 1u /* in the stats file only once it is not 0 */
#define COUNTER_F_SUMMARY 2u /* said in the log line's sentence (stats.c), not listed after it */

/*
 * X(ID, name, flags, help): ID names the enum constant CTR_ID; name is the
 * stats file's key (and, with '.' -> '_', the metric's). The rcode rows must
 * stay contiguous and in rcode order (CTR_RCODE_0 + rcode).
 */
#define DNSD_COUNTERS(X)                                                                           \
    X(QUERIES, "queries", COUNTER_F_SUMMARY, "queries received, UDP and TCP")                      \
    X(TCP, "queries.tcp", COUNTER_F_SUMMARY, "queries received over TCP")                          \
    X(RCODE_0, "rcode.noerror", COUNTER_F_SUMMARY, "responses with rcode NOERROR")                 \
    X(RCODE_1, "rcode.formerr", COUNTER_F_SUMMARY, "responses with rcode FORMERR")                 \
    X(RCODE_2, "rcode.servfail", COUNTER_F_SUMMARY, "responses with rcode SERVFAIL")               \
    X(RCODE_3, "rcode.nxdomain", COUNTER_F_SUMMARY, "responses with rcode NXDOMAIN")               \
    X(RCODE_4, "rcode.notimp", 0, "responses with rcode NOTIMP")                                   \
    X(RCODE_5, "rcode.refused", COUNTER_F_SUMMARY, "responses with rcode REFUSED")                 \
    X(RCODE_6, "rcode.yxdomain", COUNTER_F_NONZERO, "responses with rcode YXDOMAIN")               \
    X(RCODE_7, "rcode.yxrrset", COUNTER_F_NONZERO, "responses with rcode YXRRSET")                 \
    X(RCODE_8, "rcode.nxrrset", COUNTER_F_NONZERO, "responses with rcode NXRRSET")                 \
    X(RCODE_9, "rcode.notauth", COUNTER_F_NONZERO, "responses with rcode NOTAUTH")                 \
    X(RCODE_10, "rcode.notzone", COUNTER_F_NONZERO, "responses with rcode NOTZONE")                \
    X(RCODE_11, "rcode.rcode11", COUNTER_F_NONZERO, "responses with rcode 11")                     \
    X(RCODE_12, "rcode.rcode12", COUNTER_F_NONZERO, "responses with rcode 12")                     \
    X(RCODE_13, "rcode.rcode13", COUNTER_F_NONZERO, "responses with rcode 13")                     \
    X(RCODE_14, "rcode.rcode14", COUNTER_F_NONZERO, "responses with rcode 14")                     \
    X(RCODE_15, "rcode.rcode15", COUNTER_F_NONZERO, "responses with rcode 15")                     \
    X(RCODE_16, "rcode.badvers", 0, "responses with extended rcode BADVERS")                       \
    X(TRUNCATED, "truncated", COUNTER_F_SUMMARY, "responses with TC=1 (too big for UDP)")          \
    X(REFERRALS, "referrals", 0, "referrals to a delegated zone")                                  \
    X(DROPPED, "dropped", COUNTER_F_SUMMARY, "queries not answered: malformed beyond a reply, "    \
                                             "or the send failed")                                 \
    X(RRL_LIMITED, "rrl.limited", COUNTER_F_SUMMARY, "responses over the rate limit")              \
    X(RRL_SLIPPED, "rrl.slipped", COUNTER_F_SUMMARY, "limited responses sent as TC=1")             \
    X(RRL_DROPPED, "rrl.dropped", COUNTER_F_SUMMARY, "limited responses not sent")                 \
    X(RRL_EVICTED, "rrl.evicted", 0, "rate-limit buckets taken over while busy (table small)")     \
    X(TCP_ACCEPTED, "tcp.accepted", COUNTER_F_SUMMARY, "TCP connections accepted")                 \
    X(TCP_CLOSED_IDLE, "tcp.closed.idle", COUNTER_F_SUMMARY, "TCP connections closed at "          \
                                                              "tcp-idle-timeout")                  \
    X(TCP_CLOSED_TIME, "tcp.closed.time", COUNTER_F_SUMMARY, "TCP connections closed at "          \
                                                              "tcp-max-connection-time")  \
    X(HANDOFF, "handoff", COUNTER_F_NONZERO, "transfers, NOTIFY, UPDATE and signed queries "     \
                                             "handed to their thread")                          \
    X(SERVFAIL_HANDOFF, "handoff.full", COUNTER_F_NONZERO, "hand-offs refused (queue full): "   \
                                                          "answered SERVFAIL")            \
    X(DNSSEC_ANSWERS, "dnssec.answers", COUNTER_F_NONZERO, "responses with DNSSEC records (DO=1, " \
                                                        "signed zone)")                        \
    X(DNSSEC_SIGNED, "dnssec.signatures", COUNTER_F_NONZERO, "NSEC signatures made at query time") \
    X(DNSSEC_CACHE_HITS, "dnssec.cache.hits", COUNTER_F_NONZERO, "NSEC signatures found in the "  \
                                                              "worker's cache")                \
    X(DNSSEC_ERRORS, "dnssec.errors", COUNTER_F_NONZERO, "denials sent unsigned: no active key, " \
                                                      "or signing failed")                    \
    /* dnstap (dnstap.h): dropped is bumped by the workers (ring full, message over a slot)    \
     * and by the dnstap thread (fstrm's queue full); sent by the dnstap thread */              \
    X(DNSTAP_SENT, "dnstap.sent", COUNTER_F_NONZERO, "dnstap messages handed to fstrm")        \
    X(DNSTAP_DROPPED, "dnstap.dropped", COUNTER_F_NONZERO, "dnstap messages not logged: a "     \
                                                         "queue was full or the message too big")

typedef enum counter_id {
#define X(id, name, flags, help) CTR_##id,
    DNSD_COUNTERS(X)
#undef X
    CTR_N
} counter_id_t;

typedef struct counter_def {
    const char *name;
    const char *help;
    counter_kind_t kind;
    unsigned flags;
} counter_def_t;

/** The table, indexed by counter_id_t (counters.c). */
extern const counter_def_t counter_defs[CTR_N];

/*
 * A counter with one writer (the worker that owns it) and any number of
 * readers (the main thread's stats dump): relaxed atomics, bumped with a
 * plain load and store -- no locked instruction -- so the hot path pays
 * nothing over a plain increment and a live reader never sees a torn value.
 */
typedef _Atomic uint64_t stat_t;
#define STAT_INC(c) STAT_ADD(c, 1)
#define STAT_ADD(c, n)                                                                            \
    atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + (n),           \
                          memory_order_relaxed)
#define STAT_GET(c) atomic_load_explicit(&(c), memory_order_relaxed)

/** One worker's counters. */
typedef struct counters {
    stat_t c[CTR_N];
} counters_t;

#define CTR(cs, id) ((cs)->c[CTR_##id])

#endif
