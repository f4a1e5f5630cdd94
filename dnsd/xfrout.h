/* SPDX-License-Identifier: MIT */
/*
 * xfrout.h -- the transfer-serving threads: AXFR and IXFR (zones/xfr.h)
 * for secondaries, and TSIG-signed queries (a secondary's signed SOA
 * query), all handed off by the workers (handoff.h, kind HO_XFR). Started
 * and stopped by main.c. A worker never waits on them: a transfer runs on
 * one of these threads, on one read txn of its own from its first message
 * to its last.
 *
 * Per request: TSIG verification (zones/tsig.h; BADKEY/BADSIG/BADTIME are
 * answered as RFC 8945 5.2 says), the zone's transfer ACL (zones/xfracl.h:
 * anyone not allowed gets REFUSED), then every message of the answer,
 * each TSIG-signed when the request was. A signed plain query is answered
 * from the zone's default view and signed. Over TCP the thread keeps the
 * connection of a client it served (a transfer the ACL allowed, or a query
 * signed with a valid key) for its next request until it is idle
 * XFROUT_IDLE_MS; anyone else's is closed after the answer.
 */
#ifndef DNSD_XFROUT_H
#define DNSD_XFROUT_H

#include "zones/store.h"

#define XFROUT_THREADS_DEFAULT 4  /* xfr-max-transfers */
#define XFROUT_IDLE_MS 10000      /* a kept TCP connection's idle time */

typedef struct xfrout xfrout_t;

/**
 * Main thread, after the workers started or before: start @p nthreads
 * threads (at most that many transfers at a time; more requests wait in
 * the HO_XFR queue, which refuses with SERVFAIL when full) and register
 * the HO_XFR hand-off. @return the object, or NULL (logged).
 */
xfrout_t *xfrout_start(zs_store_t *s, unsigned nthreads);

/** Main thread, after ho_shutdown(): join the threads and free. NULL is fine. */
void xfrout_stop(xfrout_t *x);

#endif
