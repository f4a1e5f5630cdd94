/* SPDX-License-Identifier: MIT */
/*
 * notify.h -- NOTIFY out (RFC 1996): tells each zone's configured
 * secondaries (dnsctl zone set ZONE --notify ADDR[:PORT][ key NAME]) that
 * the zone changed. Runs on the main thread's libev loop (orch.c); other
 * threads only wake it (notify_kick).
 * It never blocks: one non-blocking UDP socket per address family, timers
 * for the debounce and the retries.
 *
 * DESIGN. It watches the store, not the writers: the main loop looks at
 * the store generation (zs_generation) when the store file is written
 * (inotify) and on a timer; when it moved, one read
 * txn compares every zone's SOA serial with the serial last seen, and
 * every zone whose serial changed gets a NOTIFY to each of its targets,
 * at most one per target and tick (a burst of commits: one NOTIFY with
 * the newest serial per tick), and
 * is retried with backoff until the target answers (NOERROR with QR, the
 * same id; or any rcode: an answer is an acknowledgement that it is
 * alive) or the retries run out. So every writer -- dnsctl, ACME, UPDATE,
 * xfrin, a cluster replay -- triggers it without calling anything; a
 * writer in this process may call notify_kick() to cut the latency to the
 * debounce alone. A target with a TSIG key gets a signed NOTIFY.
 */
#ifndef DNSD_NOTIFY_H
#define DNSD_NOTIFY_H

#include <ev.h>

#include "zones/store.h"

typedef struct notify notify_t;

/**
 * Main thread, at start: make the NOTIFY sender on @p loop for @p store,
 * remembering every zone's current serial, and NOTIFY every zone's targets
 * once (dnsd is back: a secondary that missed something catches up).
 * @return NULL only if no socket could be opened (logged).
 */
notify_t *notify_new(struct ev_loop *loop, zs_store_t *store);
/** Main thread: stop it and free everything; NULL is fine. */
void notify_free(notify_t *n);

/**
 * Any thread: a write transaction that may have changed a zone's serial
 * just committed; look at the store now rather than at the next poll.
 * Cheap (ev_async_send); a no-op before notify_new or after notify_free.
 */
void notify_kick(void);

#endif
