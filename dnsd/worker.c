/* SPDX-License-Identifier: MIT */
/*
 * worker.c -- worker threads, the UDP path and the one function both UDP and
 * TCP answer through (see worker.h).
 * Hot path (udp_cb, udp_batch, worker_answer, tcp_answer): no malloc, no lock, no log.
 */
#include "dnsd/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsd/dnssec_online.h"
#include "dnsd/handoff.h"
#include "dnsd/pkt.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"

/* Turn the received destination-address cmsg into the source for the reply. */
static size_t reply_ctl(const struct msghdr *in, uint8_t *out)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)in); c;
         c = CMSG_NXTHDR((struct msghdr *)in, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            pi.ipi_spec_dst = pi.ipi_addr;
            pi.ipi_ifindex = 0;
            struct cmsghdr *o = (struct cmsghdr *)out;
            o->cmsg_level = IPPROTO_IP;
            o->cmsg_type = IP_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof(pi));
            memcpy(CMSG_DATA(o), &pi, sizeof(pi));
            return CMSG_SPACE(sizeof(pi));
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct cmsghdr *o = (struct cmsghdr *)out;
            o->cmsg_level = IPPROTO_IPV6;
            o->cmsg_type = IPV6_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
            memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(struct in6_pktinfo));
            return CMSG_SPACE(sizeof(struct in6_pktinfo));
        }
    }
    return 0;
}

/* Response rate limiting (rrl.h) of the response just built in @p buf.
 * @return its length to send, 0 for none. */
static size_t rate_limit(worker_t *w, const settings_t *set, const struct sockaddr *peer,
                         uint8_t *buf, size_t len)
{
    answer_ctx_t *a = &w->actx;
    bool evicted;
    if (w->now_us == 0) {
        w->now_us = rrl_clock_us(); /* one clock read per batch, only with RRL on */
    }
    rrl_verdict_t v = rrl_decide(set->rrl, peer, a->cls, a->cls_qtype, a->cls_name,
                                 a->cls_name_len, set->rrl_rate, set->rrl_slip, w->now_us,
                                 &evicted);
    if (evicted) {
        STAT_INC(CTR(&w->actx.st, RRL_EVICTED));
    }
    if (v == RRL_PASS) {
        return len;
    }
    STAT_INC(CTR(&w->actx.st, RRL_LIMITED));
    if (v == RRL_SLIP) {
        STAT_INC(CTR(&w->actx.st, RRL_SLIPPED));
        return answer_slip(a, buf, len);
    }
    STAT_INC(CTR(&w->actx.st, RRL_DROPPED));
    return 0;
}

void worker_batch_begin(worker_t *w)
{
    w->actx.rd_ok = zr_begin(&w->rd) == 0;
    w->actx.geo = snap_acquire(&w->srv->geo, w->idx);
    w->now_us = 0;
    unsigned mask = 0;
    for (int k = 0; k < HO_NKINDS; k++) {
        mask |= ho_wanted((ho_kind_t)k) ? 1u << k : 0u; /* one relaxed load each */
    }
    w->actx.ho_mask = mask;
}

void worker_batch_end(worker_t *w)
{
    zr_end(&w->rd);
    snap_release(&w->srv->geo, w->idx);
    w->actx.geo = NULL;
}

size_t worker_answer(worker_t *w, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                     bool is_tcp, const struct sockaddr *peer)
{
    const settings_t *set = w->set;
    size_t n = answer_query(&w->actx, pkt, len, out, cap, is_tcp, peer);
    /* RRL is for UDP: a TCP client's address is not spoofed (RFC 8906 ...) */
    if (n > 0 && !is_tcp && set->rrl) {
        n = rate_limit(w, set, peer, out, n);
    }
    if (w->tap) {
        dnstap_tap_exchange(w->tap, &w->actx.st, is_tcp, peer,
                            (const struct sockaddr *)&w->local, pkt, len, out, n);
    }
    return n;
}

/* dnstap: the server address of UDP packet @p i on socket @p si -- its
 * destination (pktinfo) on a wildcard socket, else the bound address */
static void udp_local(worker_t *w, int si, unsigned i)
{
    w->local = w->udp_local[si];
    if (!w->udp[si].pktinfo) {
        return;
    }
    const struct msghdr *h = &w->rx[i].msg_hdr;
    for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)h); c;
         c = CMSG_NXTHDR((struct msghdr *)h, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            w->local.ss_family == AF_INET) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            ((struct sockaddr_in *)&w->local)->sin_addr = pi.ipi_addr;
            return;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
            w->local.ss_family == AF_INET6) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            ((struct sockaddr_in6 *)&w->local)->sin6_addr = pi.ipi6_addr;
            return;
        }
    }
}

/* The TCP pool's answer callback (tcp.h): one TCP query is one batch. A
 * message for a consumer thread takes its connection along (handoff.h);
 * if its queue is full the client gets SERVFAIL here. */
static size_t tcp_answer(void *ctx, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap,
                         const struct sockaddr *peer, const tcp_conn_ref_t *ref)
{
    worker_t *w = ctx;
    worker_batch_begin(w);
    if (w->tap) {
        /* dnstap only: one syscall per TCP query, to name the address asked */
        socklen_t sl = sizeof(w->local);
        if (getsockname(ref->fd, (struct sockaddr *)&w->local, &sl) != 0) {
            w->local.ss_family = AF_UNSPEC;
        }
    }
    size_t n = worker_answer(w, q, qlen, out, cap, true, peer);
    if (n == 0 && w->actx.ho_kind != HO_NONE) {
        if (ho_push_tcp((ho_kind_t)w->actx.ho_kind, w->actx.ho_tsig, q, qlen, ref->fd,
                        tcp_slot_release, ref->slot, peer, ref->rest, ref->rest_len) == 0) {
            STAT_INC(CTR(&w->actx.st, HANDOFF));
            n = TCP_HANDED_OFF;
        } else {
            n = answer_error(&w->actx, q, qlen, out, cap, DNS_R_SERVFAIL);
        }
    }
    worker_batch_end(w);
    return n;
}

/* A UDP message answer_query handed off: queue it with what the reply
 * needs. @return 0 (sent later by its consumer) or the length of the
 * SERVFAIL written to @p out instead (queue full). */
static size_t udp_handoff(worker_t *w, lsock_t *s, unsigned i, uint8_t *out)
{
    uint8_t ctl[UDP_CTL];
    size_t cl = s->pktinfo ? reply_ctl(&w->rx[i].msg_hdr, ctl) : 0;
    if (ho_push_udp((ho_kind_t)w->actx.ho_kind, w->actx.ho_tsig, w->rxbuf[i], w->rx[i].msg_len,
                    s->fd, (const struct sockaddr *)&w->peer[i], w->rx[i].msg_hdr.msg_namelen,
                    ctl, cl) == 0) {
        STAT_INC(CTR(&w->actx.st, HANDOFF));
        return 0;
    }
    return answer_error(&w->actx, w->rxbuf[i], w->rx[i].msg_len, out, UDP_BUF, DNS_R_SERVFAIL);
}

static void udp_batch(worker_t *w, lsock_t *s, unsigned n)
{
    worker_batch_begin(w);
    unsigned out = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct sockaddr *peer = (const struct sockaddr *)&w->peer[i];
        if (w->tap) {
            udp_local(w, (int)(s - w->udp), i);
        }
        size_t len = worker_answer(w, w->rxbuf[i], w->rx[i].msg_len, w->txbuf[out], UDP_BUF,
                                   false, peer);
        if (len == 0 && w->actx.ho_kind != HO_NONE) {
            len = udp_handoff(w, s, i, w->txbuf[out]);
        }
        if (len == 0) {
            continue;
        }
        struct msghdr *h = &w->tx[out].msg_hdr;
        memset(h, 0, sizeof(*h));
        h->msg_name = &w->peer[i];
        h->msg_namelen = w->rx[i].msg_hdr.msg_namelen;
        w->tx_iov[out].iov_base = w->txbuf[out];
        w->tx_iov[out].iov_len = len;
        h->msg_iov = &w->tx_iov[out];
        h->msg_iovlen = 1;
        if (s->pktinfo) {
            size_t cl = reply_ctl(&w->rx[i].msg_hdr, w->tx_ctl[out]);
            if (cl) {
                h->msg_control = w->tx_ctl[out];
                h->msg_controllen = cl;
            }
        }
        out++;
    }
    worker_batch_end(w);
    unsigned sent = 0;
    while (sent < out) {
        int r = sendmmsg(s->fd, w->tx + sent, out - sent, 0);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            /* EAGAIN (socket buffer full) or a per-peer error: drop the
             * rest of this one, go on with the others */
            STAT_INC(CTR(&w->actx.st, DROPPED));
            sent++;
            continue;
        }
        sent += (unsigned)r;
    }
}

static void udp_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    worker_t *w = io->data;
    lsock_t *s = (lsock_t *)((char *)io - offsetof(lsock_t, io));
    (void)loop;
    (void)revents;
    /* a few batches per wakeup, then let TCP and timers run */
    for (int round = 0; round < 8; round++) {
        for (unsigned i = 0; i < UDP_BATCH; i++) {
            struct msghdr *h = &w->rx[i].msg_hdr;
            h->msg_name = &w->peer[i];
            h->msg_namelen = sizeof(w->peer[i]);
            h->msg_iov = &w->rx_iov[i];
            h->msg_iovlen = 1;
            h->msg_control = s->pktinfo ? w->rx_ctl[i] : NULL;
            h->msg_controllen = s->pktinfo ? UDP_CTL : 0;
            h->msg_flags = 0;
        }
        int n = recvmmsg(s->fd, w->rx, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            break;
        }
        udp_batch(w, s, (unsigned)n);
        if (n < UDP_BATCH) {
            break;
        }
    }
}

/* Take the published settings as this worker's own; it holds them (snap.h)
 * until it adopts the next ones, so the previous snapshot may go now. */
static void adopt_settings(worker_t *w)
{
    const settings_t *s = snap_acquire(&w->srv->settings, w->idx);
    w->set = s;
    w->actx.udp_max = s->udp_payload;
    w->actx.classify = s->rrl != NULL;
}

static void reconf_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    worker_t *w = a->data;
    (void)loop;
    (void)revents;
    adopt_settings(w);
    tcp_settings_changed(&w->tcp_pool);
}

void worker_settings_notify(server_t *srv)
{
    for (int i = 0; i < srv->nworkers; i++) {
        if (srv->w[i]->loop) { /* not started yet: it adopts at start */
            ev_async_send(srv->w[i]->loop, &srv->w[i]->reconf);
        }
    }
}

static void free_geo(void *p)
{
    geo_state_free(p);
}

static void free_settings(void *p)
{
    settings_free(p);
}

void worker_snaps_init(server_t *srv)
{
    snap_init(&srv->geo, "geo", srv->nworkers, free_geo);
    snap_init(&srv->settings, "settings", srv->nworkers, free_settings);
}

/* Shutdown (SIGTERM): answer what is already here, then stop. The queries
 * waiting in the UDP sockets are answered; the listening sockets are
 * closed, so new clients are refused at once instead of waiting on a
 * server that is leaving; every TCP connection gets its queries answered
 * and its answers written -- a query whose first bytes are in may finish
 * arriving -- for at most WORKER_DRAIN_S, then the loop ends. */
static void stop_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    worker_t *w = a->data;
    (void)revents;
    for (int i = 0; i < w->nsock; i++) {
        if (w->udp[i].fd >= 0) {
            ev_io_stop(loop, &w->udp[i].io);
            udp_cb(loop, &w->udp[i].io, EV_READ);
            close(w->udp[i].fd);
            w->udp[i].fd = -1;
        }
    }
    tcp_drain_start(&w->tcp_pool);
    for (int i = 0; i < w->nsock; i++) {
        if (w->tcp[i].fd >= 0) {
            close(w->tcp[i].fd);
            w->tcp[i].fd = -1;
        }
    }
    if (!w->tcp_pool.live) {
        ev_break(loop, EVBREAK_ALL);
    }
}

worker_t *worker_new(server_t *srv, int idx)
{
    worker_t *w = xcalloc(1, sizeof(*w));
    w->idx = idx;
    w->srv = srv;
    w->rxbuf = xmalloc(sizeof(*w->rxbuf) * UDP_BATCH);
    w->txbuf = xmalloc(sizeof(*w->txbuf) * UDP_BATCH);
    for (unsigned i = 0; i < UDP_BATCH; i++) {
        w->rx_iov[i].iov_base = w->rxbuf[i];
        w->rx_iov[i].iov_len = UDP_BUF;
    }
    w->actx.rd = &w->rd;
    tcp_pool_init(&w->tcp_pool, &srv->tcp, &w->set, &w->actx.st, tcp_answer, w);
    return w;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    ev_run(w->loop, 0);
    return NULL;
}

void worker_set_tap(worker_t *w, dnstap_tap_t *tap)
{
    w->tap = tap;
    for (int i = 0; i < w->nsock; i++) {
        socklen_t sl = sizeof(w->udp_local[i]);
        if (getsockname(w->udp[i].fd, (struct sockaddr *)&w->udp_local[i], &sl) != 0) {
            w->udp_local[i].ss_family = AF_UNSPEC;
        }
    }
}

int worker_start(worker_t *w)
{
    /* the read txn is made here; MDB_NOTLS lets it serve the worker thread */
    int err = zr_init(&w->rd, w->srv->store);
    if (err) {
        return err;
    }
    /* online DNSSEC: keys and the signature cache, made once (dnssec_online.h) */
    w->actx.don = don_new();
    if (!w->actx.don) {
        return -ENOMEM;
    }
    w->loop = ev_loop_new(EVFLAG_AUTO);
    if (!w->loop) {
        return -ENOMEM;
    }
    ev_async_init(&w->stop, stop_cb);
    w->stop.data = w;
    ev_async_start(w->loop, &w->stop);
    adopt_settings(w); /* before the thread exists: it starts with these */
    ev_async_init(&w->reconf, reconf_cb);
    w->reconf.data = w;
    ev_async_start(w->loop, &w->reconf);
    for (int i = 0; i < w->nsock; i++) {
        ev_io_init(&w->udp[i].io, udp_cb, w->udp[i].fd, EV_READ);
        w->udp[i].io.data = w;
        ev_io_start(w->loop, &w->udp[i].io);
    }
    tcp_pool_start(&w->tcp_pool, w->loop, w->tcp, w->nsock);
    int rc = pthread_create(&w->th, NULL, worker_main, w);
    return rc ? -rc : 0;
}

void worker_stop(worker_t *w)
{
    ev_async_send(w->loop, &w->stop);
}

void worker_join(worker_t *w)
{
    pthread_join(w->th, NULL);
}

void worker_free(worker_t *w)
{
    if (!w) {
        return;
    }
    if (w->loop) {
        tcp_close_all(&w->tcp_pool);
        tcp_pool_fini(&w->tcp_pool);
        ev_loop_destroy(w->loop);
    }
    for (int i = 0; i < w->nsock; i++) {
        if (w->udp[i].fd >= 0) {
            close(w->udp[i].fd);
        }
        if (w->tcp[i].fd >= 0) {
            close(w->tcp[i].fd);
        }
    }
    zr_fini(&w->rd);
    don_free(w->actx.don);
    free(w->rxbuf);
    free(w->txbuf);
    free(w);
}
