/* SPDX-License-Identifier: MIT */
/*
 * metrics.h -- the ACME worker's counters for dnsd's metrics endpoint:
 * orders placed and how they ended, the time from newOrder to the
 * certificate (a histogram), and the problem documents CAs answered, by
 * RFC 8555 6.7 problem type. One set per process (acme_metrics): the ACME
 * thread bumps it (relaxed atomic adds, slow path), dnsd's HTTP thread
 * reads it at scrape time (relaxed loads). Never blocks, never allocates;
 * dnsctl links it too and simply never reads it.
 */
#ifndef DNSD_ACME_METRICS_H
#define DNSD_ACME_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

/* RFC 8555 6.7 error types (urn:ietf:params:acme:error:<name>), then "other" */
#define ACME_PROBLEM_TYPES(X)                                                                      \
    X(accountDoesNotExist) X(alreadyRevoked) X(badCSR) X(badNonce) X(badPublicKey)                \
    X(badRevocationReason) X(badSignatureAlgorithm) X(caa) X(compound) X(connection) X(dns)        \
    X(externalAccountRequired) X(incorrectResponse) X(invalidContact) X(malformed)                 \
    X(orderNotReady) X(rateLimited) X(rejectedIdentifier) X(serverInternal) X(tls)                 \
    X(unauthorized) X(unsupportedContact) X(unsupportedIdentifier) X(userActionRequired)

enum {
#define X(name) ACME_PROB_##name,
    ACME_PROBLEM_TYPES(X)
#undef X
    ACME_PROB_OTHER,
    ACME_PROB_N
};

/* issuance latency histogram: upper bounds in seconds (then +Inf) */
#define ACME_LATENCY_BOUNDS {5, 15, 30, 60, 120, 300, 600, 1800, 3600, 21600}
#define ACME_LATENCY_N      10

typedef struct acme_metrics {
    _Atomic uint64_t orders;           /* newOrder accepted by the CA */
    _Atomic uint64_t issued;           /* orders that ended with a certificate */
    _Atomic uint64_t failed;           /* orders that ended failed (final) */
    _Atomic uint64_t transient;        /* steps that failed and will be retried */
    _Atomic uint64_t revoked;          /* certificates revoked */
    _Atomic uint64_t problems[ACME_PROB_N];
    _Atomic uint64_t latency_le[ACME_LATENCY_N]; /* non-cumulative: bucket i only */
    _Atomic uint64_t latency_inf;                /* above the last bound */
    _Atomic uint64_t latency_sum_s;
} acme_metrics_t;

extern acme_metrics_t acme_metrics;
extern const char *const acme_problem_names[ACME_PROB_N];
extern const unsigned acme_latency_bounds[ACME_LATENCY_N];

#define ACME_METRIC_INC(field) atomic_fetch_add_explicit(&acme_metrics.field, 1, \
                                                         memory_order_relaxed)

/** Count a CA problem document of type @p type (full URN, or NULL/"": other). */
void acme_metrics_problem(const char *type);

/** Count an issued certificate whose order took @p seconds (negative: 0). */
void acme_metrics_issued(long seconds);

#endif
