/* SPDX-License-Identifier: MIT */
/*
 * update.h -- the update thread: RFC 2136 UPDATE messages handed off by the
 * workers (handoff.h, kind HO_UPDATE; UDP and TCP), TSIG-verified
 * (zones/tsig.h), judged and applied by zones/update.c in one write
 * transaction, answered after the commit (signed with the request's key
 * when it was signed). Started and stopped by main.c. A worker never waits
 * on it: only this thread takes the LMDB write lock for an UPDATE.
 */
#ifndef DNSD_UPDATE_THREAD_H
#define DNSD_UPDATE_THREAD_H

#include "zones/store.h"

#define UPDATE_QUEUE     64    /* UPDATE messages waiting; more get SERVFAIL from the worker */
#define UPDATE_TCP_IDLE_MS 5000 /* a TCP client's next UPDATE on the connection */

typedef struct update_thread update_thread_t;

/**
 * Main thread: start the update thread for @p s and register the HO_UPDATE
 * hand-off (from then on the workers pass UPDATE on instead of answering
 * NOTIMP). @return the thread, or NULL (logged; UPDATE stays NOTIMP).
 */
update_thread_t *update_start(zs_store_t *s);

/** Main thread, after ho_shutdown(): join the thread and free. NULL is fine. */
void update_stop(update_thread_t *u);

#endif
