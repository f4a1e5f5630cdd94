/* SPDX-License-Identifier: MIT */
/*
 * tcp.c -- DNS over TCP per RFC 7766, on the worker's libev loop: 2-byte
 * length framing, several (pipelined) queries per connection answered in
 * order, an idle timeout, a total time cap, a per-worker cap on open
 * connections (accepting pauses at the cap and resumes when one closes)
 * and an optional cap on queries per connection. Connection objects and
 * their 64 KiB buffers are kept on a free list, so a busy server stops
 * allocating after warm-up; answering a query allocates nothing.
 *
 * Slow senders (slow-loris): the idle clock restarts only when a whole
 * query has arrived or an answer made progress going out -- a byte of a
 * query that never completes does not count -- so a connection that
 * trickles bytes is closed after tcp-idle-timeout like a silent one. A
 * client that does complete queries, however slowly, is still closed
 * tcp-max-connection-time after it connected, so no peer holds one of the
 * capped slots for ever.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsd/worker.h"
#include "zones/base/xalloc.h"

#define TCP_BUF (2 + 65535)

struct tcp_conn {
    tcp_conn_t *next, *prev;
    worker_t *w;
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

static void accept_pause(worker_t *w, bool pause)
{
    if (w->accepting == !pause) {
        return;
    }
    for (int i = 0; i < w->nsock; i++) {
        if (pause) {
            ev_io_stop(w->loop, &w->tcp[i].io);
        } else {
            ev_io_start(w->loop, &w->tcp[i].io);
        }
    }
    w->accepting = !pause;
}

static void conn_close(tcp_conn_t *c)
{
    worker_t *w = c->w;
    ev_io_stop(w->loop, &c->io);
    ev_timer_stop(w->loop, &c->timer);
    close(c->fd);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        w->tcp_live = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    c->next = w->tcp_free;
    c->prev = NULL;
    w->tcp_free = c;
    w->tcp_count--;
    if (w->draining) {
        if (!w->tcp_live) {
            ev_timer_stop(w->loop, &w->drain);
            ev_break(w->loop, EVBREAK_ALL); /* the last one: the worker is done */
        }
    } else if (w->tcp_count < w->set->tcp_max_per_worker) {
        accept_pause(w, false);
    }
}

static void set_events(tcp_conn_t *c, int ev)
{
    if (c->io.events != ev) {
        ev_io_stop(c->w->loop, &c->io);
        ev_io_set(&c->io, c->fd, ev);
        ev_io_start(c->w->loop, &c->io);
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
            conn_close(c);
            return false;
        }
        c->tx_off += (size_t)n;
        c->last = ev_now(c->w->loop);
    }
    c->tx_len = c->tx_off = 0;
    if (c->closing) {
        conn_close(c);
        return false;
    }
    set_events(c, EV_READ);
    return true;
}

/* Answer every complete query in rx while nothing waits to be written. */
static void process(tcp_conn_t *c)
{
    worker_t *w = c->w;
    const settings_t *set = w->set;
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
        w->actx.rd_ok = zr_begin(&w->rd) == 0;
        w->actx.geo = worker_geo_acquire(w);
        size_t len = answer_query(&w->actx, c->rx + off + 2, mlen, c->tx + 2, TCP_BUF - 2, true,
                                  (const struct sockaddr *)&c->peer);
        zr_end(&w->rd);
        worker_geo_release(w);
        w->actx.geo = NULL;
        off += 2 + mlen;
        c->nqueries++;
        c->last = ev_now(w->loop); /* a whole query: not idle */
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
    if (c->tx_len == 0 && (c->closing || (w->draining && c->rx_len == 0))) {
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
    worker_t *w = c->w;
    const settings_t *set = w->set;
    ev_tstamp now = ev_now(w->loop);
    ev_tstamp idle_left = c->last + (ev_tstamp)set->tcp_idle_timeout_s - now;
    ev_tstamp left = idle_left;
    if (set->tcp_max_conn_time_s) {
        ev_tstamp total_left = c->start + (ev_tstamp)set->tcp_max_conn_time_s - now;
        if (total_left <= 0) {
            STAT_INC(w->ws.tcp_closed_time);
            conn_close(c);
            return false;
        }
        if (total_left < left) {
            left = total_left;
        }
    }
    if (idle_left <= 0) {
        STAT_INC(w->ws.tcp_closed_idle);
        conn_close(c);
        return false;
    }
    c->timer.repeat = left;
    ev_timer_again(w->loop, &c->timer);
    return true;
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    check_time(t->data);
}

void tcp_settings_changed(worker_t *w)
{
    /* timeouts may have become shorter: re-arm every timer now */
    tcp_conn_t *c = w->tcp_live;
    while (c) {
        tcp_conn_t *next = c->next;
        check_time(c);
        c = next;
    }
    accept_pause(w, w->tcp_count >= w->set->tcp_max_per_worker);
}

void tcp_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    worker_t *w = io->data;
    (void)revents;
    unsigned max = w->set->tcp_max_per_worker;
    while (w->tcp_count < max) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(io->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            break; /* EAGAIN, or a connection that died before we took it */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        tcp_conn_t *c = w->tcp_free;
        if (c) {
            w->tcp_free = c->next;
        } else {
            c = xmalloc(sizeof(*c));
        }
        c->w = w;
        c->fd = fd;
        c->peer = peer;
        c->rx_len = c->tx_len = c->tx_off = 0;
        c->nqueries = 0;
        c->closing = false;
        c->start = c->last = ev_now(loop);
        c->prev = NULL;
        c->next = w->tcp_live;
        if (w->tcp_live) {
            w->tcp_live->prev = c;
        }
        w->tcp_live = c;
        w->tcp_count++;
        ev_io_init(&c->io, conn_cb, fd, EV_READ);
        c->io.data = c;
        ev_io_start(loop, &c->io);
        ev_init(&c->timer, timer_cb);
        c->timer.data = c;
        STAT_INC(w->ws.tcp_accepted);
        check_time(c);
    }
    if (w->tcp_count >= max) {
        accept_pause(w, true);
    }
}

static void drain_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    worker_t *w = t->data;
    (void)loop;
    (void)revents;
    tcp_close_all(w); /* time is up; the last close ends the loop */
}

void tcp_drain_start(worker_t *w)
{
    accept_pause(w, true);
    w->draining = true;
    tcp_conn_t *c = w->tcp_live;
    while (c) {
        tcp_conn_t *next = c->next;
        if (c->tx_len == 0) {
            /* read what the client has sent, answer it, close if that was all */
            conn_cb(w->loop, &c->io, EV_READ);
        }
        c = next;
    }
    if (w->tcp_live) {
        ev_timer_init(&w->drain, drain_cb, WORKER_DRAIN_S, 0);
        w->drain.data = w;
        ev_timer_start(w->loop, &w->drain);
    }
}

void tcp_close_all(worker_t *w)
{
    while (w->tcp_live) {
        conn_close(w->tcp_live);
    }
}

void tcp_free_pool(worker_t *w)
{
    while (w->tcp_free) {
        tcp_conn_t *c = w->tcp_free;
        w->tcp_free = c->next;
        free(c);
    }
}
