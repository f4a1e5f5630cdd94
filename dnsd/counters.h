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
#define COUNTER_F_SLOW    5u /* NONZERO, and bumped in counters_slow, not by the workers */

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
                                                      "or signing failed")                      \
    DNSD_COUNTERS_METRICS(X)

/*
 * Issue 16 (metrics): ECS, the TCP connections' other ends, and the slow
 * side's counters. The COUNTER_F_SLOW rows are bumped by threads that are not query
 * workers (main/orchestration, transfer, NOTIFY, UPDATE threads) into the
 * one shared counters_slow with CTR_SLOW_INC (a locked add: several
 * writers, none on the query path); the others by workers, as above.
 */
#define DNSD_COUNTERS_METRICS(X)                                                                   \
    X(ECS, "ecs.queries", COUNTER_F_NONZERO, "queries with an EDNS Client Subnet option")         \
    X(TCP_CLOSED_PEER, "tcp.closed.peer", COUNTER_F_NONZERO, "TCP connections closed by the "     \
                                                              "client")                            \
    X(TCP_CLOSED_ERROR, "tcp.closed.error", COUNTER_F_NONZERO, "TCP connections closed on a read " \
                                                                "or write error")                  \
    X(TCP_CLOSED_LIMIT, "tcp.closed.limit", COUNTER_F_NONZERO, "TCP connections closed at "       \
                                                                "tcp-max-queries or after a "      \
                                                                "zero-length message")             \
    X(TCP_FULL, "tcp.full", COUNTER_F_NONZERO, "times a worker stopped accepting TCP: "           \
                                               "tcp-max-connections reached")                      \
    X(TCP_ACCEPT_ERRORS, "tcp.accept.errors", COUNTER_F_NONZERO, "TCP accepts that failed for "   \
                                                                  "lack of descriptors or memory") \
    X(GEO_RELOADS, "geo.reloads", COUNTER_F_SLOW, "geo tables built and published "      \
                                                     "(start, MMDB or region edits, reload)")      \
    X(GEO_FAILURES, "geo.failures", COUNTER_F_SLOW, "geo table rebuilds rejected (the "  \
                                                       "previous table kept serving)")             \
    X(XFR_OUT_DONE, "xfr.out.done", COUNTER_F_SLOW, "AXFR/IXFR transfers served whole")  \
    X(XFR_OUT_REFUSED, "xfr.out.refused", COUNTER_F_SLOW, "AXFR/IXFR requests refused")  \
    X(XFR_OUT_FAILED, "xfr.out.failed", COUNTER_F_SLOW, "AXFR/IXFR transfers cut short") \
    X(XFR_IN_DONE, "xfr.in.done", COUNTER_F_SLOW, "secondary zone transfers in applied") \
    X(XFR_IN_FAILED, "xfr.in.failed", COUNTER_F_SLOW, "secondary zone refreshes that "   \
                                                         "failed")                                 \
    X(NOTIFY_IN, "notify.in", COUNTER_F_SLOW, "NOTIFY messages received that started a " \
                                                 "refresh")                                        \
    X(NOTIFY_SENT, "notify.sent", COUNTER_F_SLOW, "NOTIFY messages sent (each try)")     \
    X(NOTIFY_ACKED, "notify.acked", COUNTER_F_SLOW, "NOTIFY messages acknowledged")      \
    X(NOTIFY_FAILED, "notify.failed", COUNTER_F_SLOW, "NOTIFY messages given up (no "    \
                                                         "answer after every try)")                \
    X(UPDATE_COMMITTED, "update.committed", COUNTER_F_SLOW, "UPDATE messages committed") \
    X(UPDATE_REFUSED, "update.refused", COUNTER_F_SLOW, "UPDATE messages refused or "    \
                                                           "failed")                               \
    /* dnstap (dnstap.h): dropped is bumped by the workers (ring full, message over a slot)    \
     * and by the dnstap thread (fstrm's queue full); sent by the dnstap thread */              \
    X(DNSTAP_SENT, "dnstap.sent", COUNTER_F_NONZERO, "dnstap messages handed to fstrm")        \
    X(DNSTAP_DROPPED, "dnstap.dropped", COUNTER_F_NONZERO, "dnstap messages not logged: a "     \
                                                         "queue was full or the message too big") \
    /* issue 15: a rollout's canary split decided the answer (zones/rollout.h) */              \
    X(ROLLOUT_CANARY, "rollout.canary", COUNTER_F_NONZERO, "answers a rollout's split sent to "  \
                                                         "the canary pool")                      \
    X(ROLLOUT_STABLE, "rollout.stable", COUNTER_F_NONZERO, "answers a rollout's split kept in "  \
                                                         "the stable pool")

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

/*
 * Counter families (issue 16): counters with a label, kept as per-worker
 * arrays indexed by a small integer beside the flat ones, bumped with
 * STAT_INC like them -- no allocation, no lock, no locked instruction. The
 * index is bounded, so each family has a fixed number of series:
 *  - qtype: the types in DNSD_QTYPES, then one slot "other";
 *  - zone:  by the zone's store id (ids are never reused); ids from
 *    CTR_ZONE_SLOTS up share slot 0, "other" (ids start at 1);
 *  - region: by the region id that decided (0: default); ids from
 *    CTR_REGION_SLOTS up share the last slot, "other";
 *  - ECS scope: responses carrying an ECS option, by family (IPv4, IPv6)
 *    and the scope prefix length returned (0-32, 0-128).
 * The metrics endpoint (metrics.c) names the zone and region slots from the
 * store at scrape time; counter_families lists them for any other reader.
 */
#define DNSD_QTYPES(X)                                                                             \
    X(A, 1) X(NS, 2) X(CNAME, 5) X(SOA, 6) X(PTR, 12) X(MX, 15) X(TXT, 16) X(AAAA, 28)            \
    X(SRV, 33) X(NAPTR, 35) X(DS, 43) X(DNSKEY, 48) X(TLSA, 52) X(SVCB, 64) X(HTTPS, 65)          \
    X(IXFR, 251) X(AXFR, 252) X(ANY, 255) X(CAA, 257)

enum {
#define X(name, code) CTR_QT_##name,
    DNSD_QTYPES(X)
#undef X
    CTR_QT_OTHER,
    CTR_QTYPE_SLOTS
};

#define CTR_ZONE_SLOTS   256 /* zone ids 1..255 labelled; slot 0 = "other" */
#define CTR_REGION_SLOTS 64  /* region ids 0..62 labelled; slot 63 = "other" */
#define CTR_ECS_SCOPES   129 /* scope 0..128 */

/** The qtype slot of @p qtype. Hot: a switch, nothing else. */
static inline unsigned counter_qtype_slot(uint16_t qtype)
{
    switch (qtype) {
#define X(name, code)                                                                              \
    case code:                                                                                     \
        return CTR_QT_##name;
        DNSD_QTYPES(X)
#undef X
    default:
        return CTR_QT_OTHER;
    }
}

/** The slot of zone id @p id, of region id @p id. Hot. */
static inline unsigned counter_zone_slot(uint32_t id)
{
    return id < CTR_ZONE_SLOTS ? id : 0;
}
static inline unsigned counter_region_slot(uint16_t id)
{
    return id < CTR_REGION_SLOTS - 1 ? id : CTR_REGION_SLOTS - 1;
}

/** The qtype slots' label values ("A", ..., "other"), indexed by slot. */
extern const char *const counter_qtype_names[CTR_QTYPE_SLOTS];

/** One worker's counters. */
typedef struct counters {
    stat_t c[CTR_N];
    stat_t qtype[CTR_QTYPE_SLOTS];         /* queries by qtype (question parsed) */
    stat_t zone[CTR_ZONE_SLOTS];           /* queries for a name in a zone we serve */
    stat_t region[CTR_REGION_SLOTS];       /* those queries by the client's region */
    stat_t ecs_scope[2][CTR_ECS_SCOPES];   /* [0] IPv4, [1] IPv6: responses with ECS by scope */
} counters_t;

#define CTR(cs, id) ((cs)->c[CTR_##id])

/**
 * The counters of every thread that is not a query worker (COUNTER_F_SLOW rows):
 * several writers, so they add with a locked instruction (CTR_SLOW_INC);
 * stats_collect() adds them to the workers' sums. Only the flat c[] is used.
 */
extern counters_t counters_slow;
#define CTR_SLOW_INC(id) atomic_fetch_add_explicit(&counters_slow.c[CTR_##id], 1, \
                                                   memory_order_relaxed)

#endif
