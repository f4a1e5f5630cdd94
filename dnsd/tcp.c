/* SPDX-License-Identifier: MIT */
/*
 * tcp.c -- DNS over TCP per RFC 7766 (see tcp.h), on the worker's libev
 * loop: 2-byte length framing, several (pipelined) queries per connection
 * answered in order, an idle timeout, a total time cap, the server-wide
 * cap on open connections and an optional cap on queries per connection.
 *
 * Slow senders (slow-loris): the idle clock restarts only when a whole
 * query has arrived or an answer made progress going out -- a byte of a
 * query that never completes does not count -- so a connection that
 * trickles bytes is closed after tcp-idle-timeout like a silent one. A
 * client that does complete queries, however slowly, is still closed
 * tcp-max-connection-time after it connected, so no peer holds one of the
 * capped slots for ever.
 * Hot path (process): no malloc, no lock, no log. It never includes
 * worker.h: what it needs of the worker comes through tcp_pool_init/start.
 */
#include "dnsd/tcp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zones/base/log.h"
#include "zones/base/xalloc.h"

#define TCP_BUF (2 + 65535)

struct tcp_conn {
    tcp_conn_t *next, *prev;
    tcp_pool_t *p;
    int fd;
    ev_io io;
    ev_timer timer;
    ev_tstamp start;    /* accepted */
    ev_tstamp last;     /* last whole query in, or answer bytes out */
    unsigned nqueries;
    struct sockaddr_storage peer;
    bool closing;       /* close once tx is flushed */
    size_t rx_len;
    size_t tx_len, tx_off;
    uint8_t rx[TCP_BUF];
    uint8_t tx[TCP_BUF];
};

/* Watch the listening sockets, or stop: at the server-wide cap, out of
 * descriptors or draining the worker stops; it watches again only when
 * none of those holds. */
static void watch_update(tcp_pool_t *p)
{
    bool on = !p->full && !p->fd_short && !p->draining;
    if (p->watching == on) {
        return;
    }
    for (int i = 0; i < p->nsock; i++) {
        if (p->socks[i].fd < 0) {
            continue;
        }
        if (on) {
            ev_io_start(p->loop, &p->socks[i].io);
        } else {
            ev_io_stop(p->loop, &p->socks[i].io);
        }
    }
    p->watching = on;
}

/* Take one of the server's connection slots (never past @p max). */
static bool slot_take(tcp_shared_t *sh, unsigned max)
{
    unsigned cur = atomic_load_explicit(&sh->open, memory_order_relaxed);
    do {
        if (cur >= max) {
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(&sh->open, &cur, cur + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}

/* Give a slot back; if the server was full, wake the workers that paused
 * for it (this one looks again at once). */
static void slot_give(tcp_pool_t *p)
{
    unsigned prev = atomic_fetch_sub_explicit(&p->shared->open, 1, memory_order_relaxed);
    if (prev < (*p->set)->tcp_max || p->draining) {
        return; /* not full; or shutting down: nobody accepts any more */
    }
    for (tcp_pool_t *o = p->shared->pools; o; o = o->next_pool) {
        /* a pool still being started (main thread) is not woken: it
         * starts watching anyway */
        if (o != p && atomic_load_explicit(&o->started, memory_order_acquire)) {
            ev_async_send(o->loop, &o->wake);
        }
    }
    p->full = false;
    watch_update(p);
}

void tcp_slot_release(void *shp)
{
    tcp_shared_t *sh = shp;
    atomic_fetch_sub_explicit(&sh->open, 1, memory_order_relaxed);
    for (tcp_pool_t *o = sh->pools; o; o = o->next_pool) {
        if (atomic_load_explicit(&o->started, memory_order_acquire)) {
            ev_async_send(o->loop, &o->wake);
        }
    }
}

/* Forget @p c: off the pool's lists and watchers; the fd is closed and
 * the slot given back unless it was @p handed_off (the new owner does). */
static void conn_drop(tcp_conn_t *c, bool handed_off)
{
    tcp_pool_t *p = c->p;
    ev_io_stop(p->loop, &c->io);
    ev_timer_stop(p->loop, &c->timer);
    if (!handed_off) {
        close(c->fd);
    }
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        p->live = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    c->next = p->free;
    c->prev = NULL;
    p->free = c;
    p->count--;
    if (!handed_off) {
        slot_give(p);
    }
    if (p->draining && !p->live) {
        ev_timer_stop(p->loop, &p->drain);
        ev_break(p->loop, EVBREAK_ALL); /* the last one: the worker is done */
    }
}

static void conn_close(tcp_conn_t *c)
{
    conn_drop(c, false);
}

static void set_events(tcp_conn_t *c, int ev)
{
    if (c->io.events != ev) {
        ev_io_stop(c->p->loop, &c->io);
        ev_io_set(&c->io, c->fd, ev);
        ev_io_start(c->p->loop, &c->io);
    }
}

/* Write what is pending. @return false if the connection was closed. */
static bool flush(tcp_conn_t *c)
{
    while (c->tx_off < c->tx_len) {
        ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_events(c, EV_WRITE);
                return true;
            }
            STAT_INC(CTR(c->p->st, TCP_CLOSED_ERROR));
            conn_close(c);
            return false;
        }
        c->tx_off += (size_t)n;
        c->last = ev_now(c->p->loop);
    }
    c->tx_len = c->tx_off = 0;
    if (c->closing) {
        STAT_INC(CTR(c->p->st, TCP_CLOSED_LIMIT));
        conn_close(c);
        return false;
    }
    set_events(c, EV_READ);
    return true;
}

/* Answer every complete query in rx while nothing waits to be written. */
static void process(tcp_conn_t *c)
{
    tcp_pool_t *p = c->p;
    const settings_t *set = *p->set;
    size_t off = 0;
    while (c->tx_len == 0 && c->rx_len - off >= 2) {
        size_t mlen = (size_t)(c->rx[off] << 8 | c->rx[off + 1]);
        if (mlen == 0) {
            c->closing = true; /* a zero-length message: nothing sane follows */
            break;
        }
        if (c->rx_len - off < 2 + mlen) {
            break;
        }
        tcp_conn_ref_t ref = {c->fd, p->shared, c->rx + off + 2 + mlen,
                              c->rx_len - off - 2 - mlen};
        size_t len = p->answer(p->answer_ctx, c->rx + off + 2, mlen, c->tx + 2, TCP_BUF - 2,
                               (const struct sockaddr *)&c->peer, &ref);
        if (len == TCP_HANDED_OFF) {
            conn_drop(c, true); /* the hand-off owns the socket, its slot and the rest */
            return;
        }
        off += 2 + mlen;
        c->nqueries++;
        c->last = ev_now(p->loop); /* a whole query: not idle */
        if (set->tcp_max_queries && c->nqueries >= set->tcp_max_queries) {
            c->closing = true;
        }
        if (len > 0) {
            c->tx[0] = (uint8_t)(len >> 8);
            c->tx[1] = (uint8_t)len;
            c->tx_len = 2 + len;
            c->tx_off = 0;
            if (!flush(c)) {
                return;
            }
        }
        if (c->closing) {
            break;
        }
    }
    if (off > 0) {
        memmove(c->rx, c->rx + off, c->rx_len - off);
        c->rx_len -= off;
    }
    if (c->tx_len == 0 && (c->closing || (p->draining && c->rx_len == 0))) {
        if (c->closing) {
            STAT_INC(CTR(p->st, TCP_CLOSED_LIMIT));
        }
        conn_close(c); /* draining: everything that was in flight is answered */
    }
}

static void conn_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    tcp_conn_t *c = io->data;
    (void)loop;
    if (revents & EV_WRITE) {
        if (!flush(c)) {
            return;
        }
        process(c); /* queries that arrived while we were blocked */
        return;
    }
    for (;;) {
        if (c->rx_len == TCP_BUF) {
            break; /* full: a whole max-size message is in; process makes room */
        }
        ssize_t n = recv(c->fd, c->rx + c->rx_len, TCP_BUF - c->rx_len, 0);
        if (n == 0) {
            STAT_INC(CTR(c->p->st, TCP_CLOSED_PEER));
            conn_close(c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            STAT_INC(CTR(c->p->st, TCP_CLOSED_ERROR));
            conn_close(c);
            return;
        }
        c->rx_len += (size_t)n; /* bytes alone do not reset the idle clock (top of file) */
    }
    process(c);
}

/* Close @p c if its idle or total time is up, else set its timer for the
 * nearer of the two. @return false if it was closed. */
static bool check_time(tcp_conn_t *c)
{
    tcp_pool_t *p = c->p;
    const settings_t *set = *p->set;
    ev_tstamp now = ev_now(p->loop);
    ev_tstamp idle_left = c->last + (ev_tstamp)set->tcp_idle_timeout_s - now;
    ev_tstamp left = idle_left;
    if (set->tcp_max_conn_time_s) {
        ev_tstamp total_left = c->start + (ev_tstamp)set->tcp_max_conn_time_s - now;
        if (total_left <= 0) {
            STAT_INC(CTR(p->st, TCP_CLOSED_TIME));
            conn_close(c);
            return false;
        }
        if (total_left < left) {
            left = total_left;
        }
    }
    if (idle_left <= 0) {
        STAT_INC(CTR(p->st, TCP_CLOSED_IDLE));
        conn_close(c);
        return false;
    }
    c->timer.repeat = left;
    ev_timer_again(p->loop, &c->timer);
    return true;
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    check_time(t->data);
}

void tcp_settings_changed(tcp_pool_t *p)
{
    /* timeouts may have become shorter: re-arm every timer now */
    tcp_conn_t *c = p->live;
    while (c) {
        tcp_conn_t *next = c->next;
        check_time(c);
        c = next;
    }
    /* the cap may have moved: look again (accept_cb pauses if still full) */
    p->full = false;
    watch_update(p);
}

/* Accepting ran out of descriptors (@p is_short, errno @p err) or drained
 * its backlog without (an episode ends). One log line per episode for the
 * process: from the first worker that runs short to the last that
 * recovers. */
static void fd_short_set(tcp_pool_t *p, bool is_short, int err)
{
    tcp_shared_t *sh = p->shared;
    if (is_short) {
        p->fd_short = true;
        if (!ev_is_active(&p->fd_retry)) {
            ev_timer_set(&p->fd_retry, TCP_FD_RETRY_S, 0);
            ev_timer_start(p->loop, &p->fd_retry);
        }
        if (!p->fd_episode) {
            p->fd_episode = true;
            if (atomic_fetch_add(&sh->fd_short, 1) == 0) {
                log_warn("TCP: out of file descriptors (accept: %s); accepting paused, "
                         "retrying every %.2f s",
                         strerror(err), TCP_FD_RETRY_S);
            }
        }
    } else if (p->fd_episode) {
        p->fd_episode = false;
        if (atomic_fetch_sub(&sh->fd_short, 1) == 1) {
            log_info("TCP: file descriptors available, accepting again");
        }
    }
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    tcp_pool_t *p = io->data;
    (void)revents;
    if (p->draining) {
        return;
    }
    unsigned max = (*p->set)->tcp_max;
    for (;;) {
        if (!slot_take(p->shared, max)) {
            if (!p->full) {
                STAT_INC(CTR(p->st, TCP_FULL));
            }
            p->full = true; /* wait in the backlog; slot_give wakes us */
            break;
        }
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(io->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            slot_give(p);
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                STAT_INC(CTR(p->st, TCP_ACCEPT_ERRORS));
                fd_short_set(p, true, err);
            } else if (err == EAGAIN || err == EWOULDBLOCK) {
                fd_short_set(p, false, 0); /* the backlog is drained: no shortage */
            }
            break; /* or a connection that died before we took it */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        tcp_conn_t *c = p->free;
        if (c) {
            p->free = c->next;
        } else {
            c = xmalloc(sizeof(*c));
        }
        c->p = p;
        c->fd = fd;
        c->peer = peer;
        c->rx_len = c->tx_len = c->tx_off = 0;
        c->nqueries = 0;
        c->closing = false;
        c->start = c->last = ev_now(loop);
        c->prev = NULL;
        c->next = p->live;
        if (p->live) {
            p->live->prev = c;
        }
        p->live = c;
        p->count++;
        ev_io_init(&c->io, conn_cb, fd, EV_READ);
        c->io.data = c;
        ev_io_start(loop, &c->io);
        ev_init(&c->timer, timer_cb);
        c->timer.data = c;
        STAT_INC(CTR(p->st, TCP_ACCEPTED));
        check_time(c);
    }
    watch_update(p);
}

/* Out of descriptors a while ago: try again (accept_cb pauses again if
 * still short). */
static void fd_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    tcp_pool_t *p = t->data;
    (void)revents;
    p->fd_short = false;
    for (int i = 0; i < p->nsock && !p->fd_short && !p->draining; i++) {
        if (p->socks[i].fd >= 0) {
            accept_cb(loop, &p->socks[i].io, EV_READ);
        }
    }
    watch_update(p);
}

static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    tcp_pool_t *p = a->data;
    (void)loop;
    (void)revents;
    p->full = false;
    watch_update(p);
}

void tcp_pool_init(tcp_pool_t *p, tcp_shared_t *sh, const settings_t *const *set,
                   counters_t *st, tcp_answer_fn answer, void *ctx)
{
    memset(p, 0, sizeof(*p));
    atomic_init(&p->started, false);
    p->shared = sh;
    p->set = set;
    p->st = st;
    p->answer = answer;
    p->answer_ctx = ctx;
    p->next_pool = sh->pools;
    sh->pools = p;
}

void tcp_pool_start(tcp_pool_t *p, struct ev_loop *loop, lsock_t *socks, int nsock)
{
    p->loop = loop;
    p->socks = socks;
    p->nsock = nsock;
    for (int i = 0; i < nsock; i++) {
        ev_io_init(&socks[i].io, accept_cb, socks[i].fd, EV_READ);
        socks[i].io.data = p;
    }
    ev_init(&p->fd_retry, fd_retry_cb);
    p->fd_retry.data = p;
    ev_async_init(&p->wake, wake_cb);
    p->wake.data = p;
    ev_async_start(p->loop, &p->wake);
    watch_update(p);
    atomic_store_explicit(&p->started, true, memory_order_release);
}

static void drain_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    tcp_pool_t *p = t->data;
    (void)loop;
    (void)revents;
    tcp_close_all(p); /* time is up; the last close ends the loop */
}

void tcp_drain_start(tcp_pool_t *p)
{
    p->draining = true;
    watch_update(p);
    ev_timer_stop(p->loop, &p->fd_retry);
    tcp_conn_t *c = p->live;
    while (c) {
        tcp_conn_t *next = c->next;
        if (c->tx_len == 0) {
            /* read what the client has sent, answer it, close if that was all */
            conn_cb(p->loop, &c->io, EV_READ);
        }
        c = next;
    }
    if (p->live) {
        ev_timer_init(&p->drain, drain_cb, TCP_DRAIN_S, 0);
        p->drain.data = p;
        ev_timer_start(p->loop, &p->drain);
    }
}

void tcp_close_all(tcp_pool_t *p)
{
    p->draining = true; /* the end: no slot given back wakes anyone */
    while (p->live) {
        conn_close(p->live);
    }
}

void tcp_pool_fini(tcp_pool_t *p)
{
    while (p->free) {
        tcp_conn_t *c = p->free;
        p->free = c->next;
        free(c);
    }
}

void tcp_fd_limit_raise(unsigned max_conn)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    rlim_t need = (rlim_t)max_conn + TCP_FD_SPARE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t soft = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (soft > rl.rlim_cur) {
            rl.rlim_cur = soft;
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
                getrlimit(RLIMIT_NOFILE, &rl);
            }
        }
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        log_warn("TCP: the file descriptor limit %llu (hard %llu) is below tcp-max-connections "
                 "%u + %d spare; when descriptors run out, accepting pauses until some close",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, max_conn,
                 TCP_FD_SPARE);
    }
}
