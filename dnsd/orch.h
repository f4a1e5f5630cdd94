/* SPDX-License-Identifier: MIT */
/*
 * orch.h -- the orchestration loop, on the main thread (libev default
 * loop): signals (SIGTERM/SIGINT stop, SIGHUP re-reads the config file,
 * SIGUSR1 dumps the counters), the MMDB file watch and the regions poll
 * that rebuild and publish the geo snapshot, the settings snapshot the
 * workers run with, the stats file, and freeing retired snapshots once no
 * worker holds them. Later: the ACME worker and renewal scheduler. It
 * reaches the workers only through published snapshots, ev_async wake-ups
 * and LMDB; it never blocks them.
 */
#ifndef DNSD_ORCH_H
#define DNSD_ORCH_H

#include <ev.h>
#include <signal.h>
#include <sys/stat.h>

#include "dnsd/config.h"
#include "dnsd/certs.h"
#include "dnsd/geo_state.h"
#include "dnsd/settings.h"
#include "dnsd/worker.h"

typedef struct orch {
    server_t *srv;
    certs_t *certs; /* the ACME thread, told of reloaded certificate settings */
    struct notify *notify; /* NOTIFY out (notify.h), on this loop */
    struct ev_loop *loop;
    ev_signal sig_term, sig_int, sig_hup, sig_usr1;
    ev_stat geo_file;
    ev_timer regions_poll;
    ev_timer reclaim;
    ev_timer stats_timer;
    ev_timer dnssec_timer;        /* rollover steps and re-signing (dnssec_maint.h) */
    struct dnssec_maint *dnssec;
    struct stat geo_seen; /* the DB file the current snapshot was built from */
    /* SIGHUP: the file and command line dnsd was started with */
    const char *conf_file;        /* NULL: started without -c */
    const config_cli_t *cli;
    config_t *cfg_spare;          /* a reload is built here, then swapped with srv->cfg */
    ev_tstamp started;
    uint64_t rrl_limited_logged;  /* rrl.limited at the last periodic log line */
    uint64_t map_resizes;         /* zs_map_resizes() when last looked at (and logged) */
    size_t map_size;              /* ... and zs_map_size() */
} orch_t;

/** Publish @p g as the current snapshot (the old one is retired). */
void orch_publish(orch_t *o, geo_state_t *g, const char *why);
/** Publish @p s as the workers' settings (the old one is retired); wakes them. */
void orch_publish_settings(orch_t *o, settings_t *s);
/**
 * Re-read the config file (SIGHUP and `dnsctl reload`; see dnsd(8)), inside
 * systemd's RELOADING=1 ... READY=1. @return 0 with a summary in @p msg
 * ("config reloaded from F: N settings changed, M kept until restart"), or
 * DNSD_ECONFIG with the reason in @p msg (FILE:LINE: text); the running
 * configuration is kept then. Logs either way; @p why ("SIGHUP") starts
 * the line of a reload without a config file. Main thread.
 */
int orch_reload(orch_t *o, const char *why, char *msg, size_t cap);
/** Write the stats file (stats-file), if configured, with @p t. */
struct stats_total;
void orch_write_stats(orch_t *o, const struct stats_total *t);
/** Run until SIGTERM/SIGINT. */
void orch_run(orch_t *o);

/**
 * Fill @p set with every asynchronous signal (all but SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL, SIGABRT, SIGTRAP, SIGSYS). main() blocks them first thing, so every
 * thread inherits the mask; orch_run() unblocks, on the main thread, those it
 * has no watcher for. Any thread.
 */
void orch_sigset_async(sigset_t *set);
/** Free the current and retired snapshots (workers must be stopped). */
void orch_fini(orch_t *o);

#endif
