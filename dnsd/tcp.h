/* SPDX-License-Identifier: MIT */
/*
 * tcp.h -- DNS over TCP (RFC 7766) for one worker: its pool of connections
 * and the accept side of its listening sockets. Called by worker.c (set
 * up, settings changes, shutdown) and by the worker's libev loop; each
 * query a connection completes is answered through worker_answer(), the
 * same function UDP uses.
 *
 * DESIGN. tcp-max-connections is ONE cap for the whole server: the workers
 * share a count of open connections (server_t.tcp_open, taken with a
 * compare-and-swap before accept, so it never overshoots). A worker that
 * finds the server full stops watching its listening sockets, so new
 * clients wait in the kernel's backlog; when a connection closes on a
 * full server, every worker is woken (ev_async) to look again. When
 * accept() fails for want of file descriptors (EMFILE, ENFILE) the
 * connection stays queued and the socket stays readable: the worker stops
 * watching it and retries on a timer (TCP_FD_RETRY_S) instead of spinning.
 * The shortage is logged once per episode, for the whole process.
 *
 * Connection objects and their 64 KiB buffers are kept on a free list, so
 * a busy server stops allocating after warm-up; answering a query
 * allocates nothing. Worker thread only, except where a function says.
 */
#ifndef DNSD_TCP_H
#define DNSD_TCP_H

#include <ev.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct tcp_conn tcp_conn_t;
struct worker;

#define TCP_FD_RETRY_S 0.25 /* out of descriptors: try accept() again after this */
#define TCP_FD_SPARE   64   /* descriptors beyond tcp-max-connections (store, sockets, logs) */

/** One worker's TCP connections: made with tcp_pool_init, in the worker. */
typedef struct tcp_pool {
    struct worker *w;
    unsigned count;        /* open connections of this worker */
    bool watching;         /* the listening sockets are watched */
    bool full;             /* paused: the server-wide cap is reached */
    bool fd_short;         /* paused: accept() ran out of file descriptors */
    bool fd_episode;       /* short since, and not yet drained the backlog */
    bool draining;         /* shutting down: no new connections, close when done */
    ev_timer drain;
    ev_timer fd_retry;
    ev_async wake;         /* another worker freed a slot of a full server */
    _Atomic bool started;  /* wake is running: other workers may send to it */
    tcp_conn_t *free;      /* reusable connections (buffers kept) */
    tcp_conn_t *live;      /* open connections, for shutdown */
} tcp_pool_t;

/** Set up @p p for worker @p w on its loop (the listening sockets are w->tcp[]). */
void tcp_pool_init(tcp_pool_t *p, struct worker *w);
/** Start accepting (the worker's loop is made, its thread not yet started). */
void tcp_pool_start(tcp_pool_t *p);
/** The worker adopted new settings: re-arm timers, apply the connection cap. */
void tcp_settings_changed(tcp_pool_t *p);
/** Shutdown: stop accepting; connections close once nothing is in flight. */
void tcp_drain_start(tcp_pool_t *p);
/** Close every connection at once; the pool accepts nothing after this. */
void tcp_close_all(tcp_pool_t *p);
/** Free the pooled connection objects (after tcp_close_all). */
void tcp_pool_fini(tcp_pool_t *p);

/**
 * Start-up, main thread: raise the soft RLIMIT_NOFILE (up to the hard
 * limit) to fit @p max_conn connections plus TCP_FD_SPARE; log a warning
 * when the hard limit is too low (accepting then pauses when descriptors
 * run out, as above).
 */
void tcp_fd_limit_raise(unsigned max_conn);

#endif
