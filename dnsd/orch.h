/* SPDX-License-Identifier: MIT */
/*
 * orch.h -- the orchestration loop, on the main thread (libev default
 * loop): signals, the MMDB file watch and the regions poll that rebuild
 * and publish the geo snapshot, and freeing retired snapshots once no
 * worker holds them. Later: the ACME worker and renewal scheduler. It
 * reaches the workers only through the published snapshot and LMDB; it
 * never blocks them.
 */
#ifndef DNSD_ORCH_H
#define DNSD_ORCH_H

#include <ev.h>
#include <sys/stat.h>

#include "dnsd/geo_state.h"
#include "dnsd/worker.h"

#define ORCH_RETIRED_MAX 64

typedef struct orch {
    server_t *srv;
    struct ev_loop *loop;
    geo_state_t *retired[ORCH_RETIRED_MAX];
    int nretired;
    ev_signal sig_term, sig_int, sig_hup;
    ev_stat geo_file;
    ev_timer regions_poll;
    ev_timer reclaim;
    struct stat geo_seen; /* the DB file the current snapshot was built from */
    int pad;
} orch_t;

/** Publish @p g as the current snapshot (the old one is retired). */
void orch_publish(orch_t *o, geo_state_t *g, const char *why);
/** Run until SIGTERM/SIGINT. */
void orch_run(orch_t *o);
/** Free what is retired (workers must be stopped). */
void orch_fini(orch_t *o);

#endif
