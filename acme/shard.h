/* SPDX-License-Identifier: MIT */
/*
 * shard.h -- regional certificate shards (issue #6): one certificate per
 * (domain, region), with the region's answers tied to it. A shard is a
 * certificate record (certdb.h) whose request carries
 *
 *   "shard": {"domain": D, "region": R, "lb": ["addr[:port]", ...],
 *             "hook": "command", "ttl": seconds, "alpn": "h2,http/1.1"}
 *
 * and id "D@R". What it owns in region R of D's zone, rewritten as ONE
 * desired state inside the write transaction that changes it (dnsctl's
 * `shard add/set`, the worker's issuance and TLSA retirement), so a query
 * sees all of a change or none of it:
 *
 *   NAME            A/AAAA  the region's load balancers (the pool)
 *   NAME            HTTPS   "1 . alpn=..." when the shard has "alpn" (RFC 9460)
 *   _443._tcp.NAME  TLSA    3 1 1 for the current key, the NEXT key (made
 *                           at issuance and published a whole lifetime
 *                           before it is used, RFC 7671 8.1) and, for a TTL
 *                           after a switch, the previous one
 *   _443._tcp.NAME  TXT     "dnsd-shard gen=G serial=S spki=H next=N": the
 *                           generation the TLSA set belongs to
 *
 * (NAME: each of the shard's names; TLSA and TXT only for names without
 * "*."). While a certificate rollout runs (acme/rollout.h: the state's
 * "shard" object has "rollout_ttl"), the pool records carry that TTL and
 * the request's "canary_lb" pool is written as A/AAAA of the same names in
 * the region's canary region ("<R>.canary", zones/rollout.h); otherwise the
 * canary region's A/AAAA of the names are removed when it exists.
 * Slow path: dnsctl and the ACME thread.
 */
#ifndef DNSD_ACME_SHARD_H
#define DNSD_ACME_SHARD_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "zones/base/diag.h"
#include "acme/dns01.h"
#include "zones/writer.h"

#define ACME_SHARD_TTL_DEFAULT 300u
#define ACME_SHARD_LB_MAX      16
#define ACME_SHARD_TLSA_PORT   443

/** The shard object of a certificate request, or NULL for a plain certificate. */
json_t *acme_shard_of(json_t *req);

/** Parse "192.0.2.1", "192.0.2.1:8443", "[2001:db8::1]:8443" or "2001:db8::1" (port 443). */
int acme_shard_lb_parse(const char *s, struct sockaddr_storage *out);

/** SHA-256 of the key's SubjectPublicKeyInfo, lower-case hex (TLSA 3 1 1). malloc'd. */
char *acme_spki_sha256(EVP_PKEY *k);

/**
 * Write the shard's desired region records (see above) for @p req and
 * worker state @p state (NULL or without "shard": the pool only) in write
 * txn @p w (the writer checks each zone and bumps its serial at commit).
 * @return 0 or an error with @p d filled.
 */
int acme_shard_records(zw_t *w, json_t *req, json_t *state, diag_t *d);

/**
 * The same; with @p clear it removes everything the shard may have written
 * instead (`shard del`).
 */
int acme_shard_write(zw_t *w, json_t *req, json_t *state, bool clear, diag_t *d);

/**
 * TLS probe: connect to @p lb, send SNI @p sni, and copy the presented
 * leaf's serial (hex, upper case) to @p serial; connect and handshake
 * together take at most @p timeout_ms (non-blocking socket, one deadline).
 * @return 0, or -1 with @p why set.
 */
int acme_tls_probe(const struct sockaddr_storage *lb, const char *sni, int timeout_ms,
                   char *serial, size_t cap, char *why, size_t whycap);

/** One probe of acme_tls_probe_all: fill lb and sni, rc 0 (or -1 with why to skip it). */
typedef struct acme_probe {
    struct sockaddr_storage lb;
    const char *sni;
    int timeout_ms;   /* set by acme_tls_probe_all */
    int rc;           /* out: 0, or -1 with why */
    char serial[128]; /* out: the presented leaf's serial */
    char why[256];
} acme_probe_t;

/**
 * Probe @p n (<= ACME_SHARD_LB_MAX) load balancers at once, one thread
 * each, every probe bounded by @p timeout_ms (connect and handshake), so
 * the whole call returns within about @p timeout_ms whatever the number of
 * load balancers and however they fail. Slow path (the ACME thread).
 */
void acme_tls_probe_all(acme_probe_t *p, int n, int timeout_ms);

/* the line in a region's crt-list.txt above which the operator's lines are kept */
#define ACME_CRTLIST_MARK "# dnsd: lines above are kept; lines below are rewritten by dnsd"

/**
 * A region's new crt-list from its current text @p old (NULL: none) and
 * dnsd's lines for its shards @p shard_lines: the operator's lines come
 * first and stay (the first line of a crt-list is HAProxy's default
 * certificate, e.g. a placeholder made before the first shard), then
 * ACME_CRTLIST_MARK, then @p shard_lines. In @p old, everything above the
 * mark is the operator's; without a mark, every line except comments and
 * those naming a bundle of @p shard_lines. @return malloc'd text.
 */
char *acme_crtlist_merge(const char *old, const char *shard_lines);

#endif
