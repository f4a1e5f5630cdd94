/* SPDX-License-Identifier: MIT */
/*
 * worker.h -- the query workers. Each worker is one thread with its own
 * libev loop, its own SO_REUSEPORT UDP and TCP sockets for every listen
 * address, its own LMDB read txn, buffers and counters: workers share
 * nothing writable, so the query path takes no lock.
 * UDP: recvmmsg/sendmmsg batches, one read snapshot per batch, response
 * rate limiting (rrl.h). TCP (tcp.h): RFC 7766 framing, pipelining, idle
 * and total timeouts, connection cap. Both answer through worker_answer().
 *
 * Settings the operator can change at run time (settings.h) and the geo
 * state reach a worker as immutable snapshots published by the main thread
 * (snap.h: one scheme for both). Settings: the worker is woken (ev_async)
 * and adopts the new snapshot on its own thread between events; the query
 * path reads w->set only. Geo: taken once per batch.
 */
#ifndef DNSD_WORKER_H
#define DNSD_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dnsd/answer.h"
#include "dnsd/config.h"
#include "dnsd/dnstap_ring.h"
#include "dnsd/geo_state.h"
#include "dnsd/settings.h"
#include "dnsd/snap.h"
#include "dnsd/tcp.h"
#include "zones/reader.h"
#include "zones/store.h"

#define UDP_BATCH 64
#define UDP_BUF   4096
#define UDP_CTL   64

typedef struct worker worker_t;

typedef struct server {
    const config_t *cfg;        /* the main thread's; workers never read it */
    zs_store_t *store;
    struct zc *cluster;         /* zones/cluster.h; NULL standalone; never read by workers */
    int nworkers;
    worker_t **w;
    snap_t geo;                 /* geo_state_t, published by the main thread */
    snap_t settings;            /* settings_t, published by the main thread */
    tcp_shared_t tcp;           /* every worker's TCP pool: the open count, wake-ups (tcp.h) */
    const counters_t *dnstap_st; /* the dnstap thread's counters (dnstap.h); NULL: off */
} server_t;

struct worker {
    int idx;
    server_t *srv;
    pthread_t th;
    struct ev_loop *loop;
    ev_async stop;
    int init_err;
    zr_t rd;
    answer_ctx_t actx;
    const settings_t *set;   /* the settings it uses (own thread only; held in srv->settings) */
    ev_async reconf;         /* main -> worker: new settings published */
    int nsock;
    lsock_t udp[CONF_LISTEN_MAX]; /* lsock_t: tcp.h */
    lsock_t tcp[CONF_LISTEN_MAX];
    /* UDP batch state, made once */
    struct mmsghdr rx[UDP_BATCH], tx[UDP_BATCH];
    struct iovec rx_iov[UDP_BATCH], tx_iov[UDP_BATCH];
    struct sockaddr_storage peer[UDP_BATCH];
    uint8_t rx_ctl[UDP_BATCH][UDP_CTL], tx_ctl[UDP_BATCH][UDP_CTL];
    uint8_t (*rxbuf)[UDP_BUF];
    uint8_t (*txbuf)[UDP_BUF];
    uint64_t now_us;       /* RRL clock for this batch; 0: not read yet */
    tcp_pool_t tcp_pool;
    /* dnstap (dnstap_ring.h): NULL when off. The server address a query was
     * sent to: each UDP socket's bound address, or the packet's destination
     * (pktinfo) on a wildcard one; TCP asks the connection (getsockname). */
    dnstap_tap_t *tap;
    struct sockaddr_storage udp_local[CONF_LISTEN_MAX];
    struct sockaddr_storage local; /* the current query's, when tap is set */
};

/** Main thread: make the worker (sockets already open in udp[]/tcp[]). */
worker_t *worker_new(server_t *srv, int idx);
/** Main thread, before worker_start: log the queries it answers to @p tap (dnstap.h). */
void worker_set_tap(worker_t *w, dnstap_tap_t *tap);
/** Start its thread; it opens its read txn and loop there. */
int worker_start(worker_t *w);
#define WORKER_DRAIN_S TCP_DRAIN_S /* at shutdown, TCP clients get this long to finish */

/**
 * Ask the worker to stop (main thread, any time after worker_start): it
 * answers the queries already received, closes its listening sockets and
 * gives open TCP connections up to WORKER_DRAIN_S to finish, then its
 * thread ends. worker_join() waits for that.
 */
void worker_stop(worker_t *w);
void worker_join(worker_t *w);
void worker_free(worker_t *w);

/** Main thread, before any worker starts: set up srv->geo and srv->settings. */
void worker_snaps_init(server_t *srv);

/** Main thread: wake every worker to adopt the settings just published. */
void worker_settings_notify(server_t *srv);

/**
 * Begin a batch of queries (one UDP recvmmsg batch, or one TCP query): take
 * the read snapshot of the store and the geo snapshot. Hot, lock-free.
 */
void worker_batch_begin(worker_t *w);
/** End the batch: release both snapshots. */
void worker_batch_end(worker_t *w);

/**
 * Answer one query, UDP or TCP alike, inside a batch: parse, answer
 * (answer_query, which counts), then, for UDP with rate limiting on, RRL;
 * with dnstap on, the query and the response sent go to the worker's ring
 * (w->local is the server address asked).
 * @return the length written to @p out (capacity @p cap); 0: send nothing.
 * Hot: no malloc, no lock, no log.
 */
size_t worker_answer(worker_t *w, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                     bool is_tcp, const struct sockaddr *peer);

#endif
