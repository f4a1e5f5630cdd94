/* SPDX-License-Identifier: MIT */
/*
 * dns01.h -- DNS-01 (RFC 8555 8.4) from our own store: certificate name
 * syntax, the "_acme-challenge" owner of an identifier, adding and removing
 * one TXT value inside the caller's write transaction (structure checked,
 * SOA serial bumped, so secondaries follow), and the visibility check that
 * asks an authoritative server over DNS whether it serves every value.
 * Slow path (ACME thread, dnsctl); ldns is used only for the check query.
 */
#ifndef DNSD_ACME_DNS01_H
#define DNSD_ACME_DNS01_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "zones/names.h"
#include "zones/writer.h"

#define ACME_TXT_TTL 60u /* short: resolvers between a CA and us must not keep stale values */

/**
 * Check a certificate name: a host name of LDH labels (1..63 bytes, 253 in
 * all, at least two labels), optionally "*." in front; lower-cases it into
 * @p out (cap >= 256). @return 0 or DNSD_EMALFORMED with @p why.
 */
int acme_name_check(const char *name, char *out, size_t cap, char *why, size_t whycap);

/** The wire owner "_acme-challenge.<name without *.>" of identifier @p name. @return length. */
int acme_dns01_owner(const char *name, uint8_t out[DNAME_MAXLEN + 1]);

/**
 * The zone that holds owner @p owner: the hosted zone with the longest apex
 * at or above it. @return 0, DNSD_ENOZONE, or a store error.
 */
int acme_dns01_zone(zs_store_t *s, MDB_txn *txn, const uint8_t *owner, zw_zone_t *z);

/**
 * Add TXT value @p value at @p owner (default region, ACME_TXT_TTL) in
 * write txn @p w; an identical value already there is fine. The zone is
 * copied to @p z; the writer checks it and bumps its serial once at commit. @return 0 or an error with @p d filled.
 */
int acme_dns01_add(zw_t *w, const uint8_t *owner, const char *value, zw_zone_t *z, diag_t *d);
/** Remove that value; already gone (or the zone gone: z->id 0) is fine. */
int acme_dns01_del(zw_t *w, const uint8_t *owner, const char *value, zw_zone_t *z, diag_t *d);

/**
 * Ask the server at @p addr (with port) for TXT @p owner (no recursion, one
 * UDP try of @p timeout_ms, then TCP within @p timeout_ms when truncated:
 * acme_dns_ask in dnsq.h).
 * @return 1 when the answer is authoritative and holds every one of the
 * @p n @p values; 0 when it is authoritative but lacks some (@p why says
 * which); DNSD_ENET when no authoritative answer came (no reply, refused,
 * not AA: @p why says).
 */
int acme_dns01_visible(const struct sockaddr *addr, socklen_t alen, const uint8_t *owner,
                       const char *const *values, int n, int timeout_ms, char *why, size_t cap);

/**
 * Addresses of the zone's NS hosts that this store knows (A/AAAA records
 * of the NS names, in any hosted zone, default region), port 53.
 * @return how many were written to @p out (at most @p max).
 */
int acme_dns01_ns_addrs(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z,
                        struct sockaddr_storage *out, int max);

#endif
