/* SPDX-License-Identifier: MIT */
/*
 * xfrin.h -- dnsd as a secondary: the incoming-transfer thread. For every
 * zone with primaries (`dnsctl zone set/add ZONE --primary ...`, kept in
 * the store's "secondary" sub-database, zones/secondary.h) it keeps the
 * zone's default view a copy of the primary's: SOA refresh/retry/expire
 * timers from the zone's SOA, NOTIFY in (handed over by the workers through
 * dnsd/handoff.h, kind HO_NOTIFY), an SOA query then IXFR (RFC 1995) with
 * AXFR fallback (RFC 5936) over TCP, each transfer applied as ONE write
 * transaction through the writer (zones/writer.h, zw_t.xfr set), so readers
 * never see half a transfer and a transfer that fails midway changes
 * nothing. After EXPIRE seconds without a successful refresh the zone is
 * flagged ZS_ZONE_F_SERVFAIL (answered SERVFAIL, as Knot and BIND do).
 *
 * Why a thread of its own: a refresh is blocking network I/O (connect,
 * query, a transfer of any size), each call bounded by a timeout; the main
 * loop and the query workers are never touched (they share only the LMDB
 * environment and the hand-off queue). Slow path: allocates, uses ldns.
 */
#ifndef DNSD_XFRIN_H
#define DNSD_XFRIN_H

#include "zones/store.h"

typedef struct xfrin xfrin_t;

/**
 * Start the thread on store @p s (and register as the NOTIFY consumer).
 * @return the thread's handle, or NULL (logged) if it could not start.
 */
xfrin_t *xfrin_start(zs_store_t *s);

/** Stop it (a refresh in progress ends within its timeouts) and free. NULL is fine. */
void xfrin_stop(xfrin_t *x);

#endif
