/* SPDX-License-Identifier: MIT */
/*
 * dnstap.h -- dnstap query and response logging (https://dnstap.info):
 * the one dnstap thread that empties every worker's ring (dnstap_ring.h),
 * encodes each message as a dnstap.Dnstap protobuf (protobuf-c, schema in
 * dnsd/dnstap.proto) and submits it to an fstrm I/O thread (libfstrm),
 * which writes Frame Streams to a Unix socket (bidirectional handshake;
 * reconnects by itself) or a file. Off unless dnstap-socket or dnstap-file
 * is set. Callers: main.c (start, stop), worker.c (the rings), stats.c (the
 * thread's counters). The workers never wait on it: when a ring or fstrm's
 * queue is full the message is dropped and counted (dnstap.dropped).
 * Start and stop: main thread, slow path.
 */
#ifndef DNSD_DNSTAP_H
#define DNSD_DNSTAP_H

#include "dnsd/config.h"
#include "dnsd/counters.h"
#include "dnsd/dnstap_ring.h"

typedef struct dnstap dnstap_t;

/**
 * Make the rings for @p nworkers workers and start the dnstap thread and
 * fstrm's I/O thread for @p c's dnstap-socket or dnstap-file (the path as
 * seen from inside the chroot: call after the privilege drop). The socket
 * need not exist yet: fstrm connects when it can and retries every few
 * seconds. @return NULL when dnstap is off (no error); aborts on OOM; on a
 * failure to start, NULL with @p d set (*@p err true).
 */
dnstap_t *dnstap_start(const config_t *c, int nworkers, diag_t *d, bool *err);

/** Worker @p idx's tap, for it to fill (worker.h). */
dnstap_tap_t *dnstap_tap(dnstap_t *dt, int idx);

/** The dnstap thread's own counters (dnstap.sent, dnstap.dropped), for stats_collect. */
const counters_t *dnstap_counters(const dnstap_t *dt);

/**
 * Stop: call once the workers have ended. The thread drains the rings a
 * last time, then fstrm flushes what it holds to the socket or file and
 * closes it. The counters stay readable until dnstap_free(). NULL is fine.
 */
void dnstap_stop(dnstap_t *dt);
void dnstap_free(dnstap_t *dt);

#endif
