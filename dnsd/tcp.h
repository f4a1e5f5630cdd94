/* SPDX-License-Identifier: MIT */
/*
 * tcp.h -- DNS over TCP (RFC 7766) for one worker: its pool of connections
 * and the accept side of its listening sockets. Called by worker.c (set
 * up, settings changes, shutdown) and by the worker's libev loop; each
 * query a connection completes is answered through the one answer
 * callback the worker gave tcp_pool_init (worker.c: worker_answer, the
 * same function UDP uses).
 * A lower module than worker: it never includes worker.h and knows no
 * worker_t -- the worker hands it its loop, listening sockets, settings
 * and counters, and the server's shared block (tcp_shared_t).
 *
 * DESIGN. tcp-max-connections is ONE cap for the whole server: the workers
 * share a count of open connections (tcp_shared_t.open, taken with a
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
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dnsd/counters.h"
#include "dnsd/settings.h"

typedef struct tcp_conn tcp_conn_t;
typedef struct tcp_pool tcp_pool_t;

#define TCP_FD_RETRY_S 0.25 /* out of descriptors: try accept() again after this */
#define TCP_FD_SPARE   64   /* descriptors beyond tcp-max-connections (store, sockets, logs) */
#define TCP_DRAIN_S    2.0  /* at shutdown, TCP clients get this long to finish */

/** A worker's listening socket, UDP or TCP (the worker owns and closes it). */
typedef struct lsock {
    int fd;       /* -1: closed */
    bool pktinfo; /* bound to a wildcard address: reply from the query's destination */
    int family;
    ev_io io;
} lsock_t;

/**
 * Shared by every pool of the server (one, in the server, zeroed before
 * any tcp_pool_init): the server-wide connection count and the pools to
 * wake when a slot frees on a full server.
 */
typedef struct tcp_shared {
    _Atomic unsigned open;  /* TCP connections open in all pools */
    _Atomic int fd_short;   /* pools out of descriptors for accept */
    tcp_pool_t *pools;      /* every pool (tcp_pool_t.next_pool); fixed once any starts */
} tcp_shared_t;

/**
 * The connection a query came on, for a hand-off (handoff.h): its socket,
 * the server's shared block (whose count holds the connection's slot), and
 * the bytes already read past the query.
 */
typedef struct tcp_conn_ref {
    int fd;
    tcp_shared_t *slot;
    const uint8_t *rest;
    size_t rest_len;
} tcp_conn_ref_t;

/* tcp_answer_fn: the query and its connection were handed off */
#define TCP_HANDED_OFF ((size_t)-1)

/**
 * Answer one query @p q (@p qlen bytes, from @p peer, on connection @p ref)
 * into @p out (capacity @p cap). @return the answer's length, 0: send
 * nothing, TCP_HANDED_OFF: the callback handed the connection off (with
 * ho_push_tcp): the pool forgets it without closing it or giving its slot
 * back. Hot: must not allocate, lock or log (a hand-off may).
 */
typedef size_t (*tcp_answer_fn)(void *ctx, const uint8_t *q, size_t qlen, uint8_t *out,
                                size_t cap, const struct sockaddr *peer,
                                const tcp_conn_ref_t *ref);

/** One worker's TCP connections: made with tcp_pool_init, in the worker. */
struct tcp_pool {
    tcp_shared_t *shared;
    tcp_pool_t *next_pool;            /* the next in shared->pools */
    const settings_t *const *set;     /* the worker's current settings (its own thread) */
    counters_t *st;                   /* the worker's counters */
    tcp_answer_fn answer;
    void *answer_ctx;
    struct ev_loop *loop;             /* from tcp_pool_start */
    lsock_t *socks;                   /* listening sockets, from tcp_pool_start */
    int nsock;
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
};

/**
 * Main thread, before any pool of @p sh starts: set up @p p and add it to
 * @p sh. It reads the settings through @p set (*set is the worker's
 * current snapshot), bumps @p st, and answers through @p answer(@p ctx).
 */
void tcp_pool_init(tcp_pool_t *p, tcp_shared_t *sh, const settings_t *const *set,
                   counters_t *st, tcp_answer_fn answer, void *ctx);
/**
 * Start accepting on @p loop from the TCP sockets @p socks[0..nsock) (fd
 * -1: skipped); the worker's loop is made, its thread not yet started.
 * The pool keeps @p socks: the worker may close one and set its fd to -1
 * only after tcp_drain_start.
 */
void tcp_pool_start(tcp_pool_t *p, struct ev_loop *loop, lsock_t *socks, int nsock);
/** The worker adopted new settings: re-arm timers, apply the connection cap. */
void tcp_settings_changed(tcp_pool_t *p);
/** Shutdown: stop accepting; connections close once nothing is in flight, or
 * after TCP_DRAIN_S; the last close ends the loop (ev_break). */
void tcp_drain_start(tcp_pool_t *p);
/** Close every connection at once; the pool accepts nothing after this. */
void tcp_close_all(tcp_pool_t *p);
/** Free the pooled connection objects (after tcp_close_all). */
void tcp_pool_fini(tcp_pool_t *p);

/**
 * Any thread: a connection handed off (TCP_HANDED_OFF) was closed by its
 * new owner: give its slot in @p sh (a tcp_shared_t) back and wake every
 * pool, so one paused on a full server looks again. The workers' loops
 * must still exist (consumers end before the workers stop).
 */
void tcp_slot_release(void *sh);

/**
 * Start-up, main thread: raise the soft RLIMIT_NOFILE (up to the hard
 * limit) to fit @p max_conn connections plus TCP_FD_SPARE; log a warning
 * when the hard limit is too low (accepting then pauses when descriptors
 * run out, as above).
 */
void tcp_fd_limit_raise(unsigned max_conn);

#endif
