/* SPDX-License-Identifier: MIT */
/*
 * handoff.c -- the worker -> consumer hand-off (see handoff.h): one bounded
 * FIFO per kind under one mutex, UDP replies by sendmsg on the worker's
 * socket, TCP connections owned by the consumer until ho_close.
 * Producer side: never blocks (a full queue is an error, not a wait);
 * reached only for messages that are not plain queries.
 */
#include "dnsd/handoff.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zones/base/xalloc.h"

typedef struct hq {
    _Atomic bool registered;
    unsigned max, n;
    ho_msg_t **ring; /* max entries, FIFO from head */
    unsigned head;
} hq_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static hq_t queues[HO_NKINDS];
static _Atomic bool stopping;

bool ho_wanted(ho_kind_t kind)
{
    return kind >= 0 && kind < HO_NKINDS &&
           atomic_load_explicit(&queues[kind].registered, memory_order_relaxed) &&
           !atomic_load_explicit(&stopping, memory_order_relaxed);
}

int ho_register(ho_kind_t kind, unsigned max_queued)
{
    int err = 0;
    pthread_mutex_lock(&mu);
    hq_t *q = &queues[kind];
    if (atomic_load(&q->registered)) {
        err = -EEXIST;
        goto out;
    }
    q->max = max_queued ? max_queued : HO_QUEUE_DEFAULT;
    free(q->ring);
    q->ring = xcalloc(q->max, sizeof(*q->ring));
    q->n = q->head = 0;
    atomic_store(&q->registered, true);
out:
    pthread_mutex_unlock(&mu);
    return err;
}

/* Take every queued message of @p q out (under mu); the caller closes them. */
static unsigned drain(hq_t *q, ho_msg_t **out, unsigned cap)
{
    unsigned k = 0;
    while (q->n > 0 && k < cap) {
        out[k++] = q->ring[q->head];
        q->head = (q->head + 1) % q->max;
        q->n--;
    }
    return k;
}

static void close_all(hq_t *q)
{
    for (;;) {
        ho_msg_t *batch[64];
        pthread_mutex_lock(&mu);
        unsigned k = q->ring ? drain(q, batch, 64) : 0;
        pthread_mutex_unlock(&mu);
        if (k == 0) {
            return;
        }
        for (unsigned i = 0; i < k; i++) {
            ho_close(batch[i]);
        }
    }
}

void ho_unregister(ho_kind_t kind)
{
    pthread_mutex_lock(&mu);
    atomic_store(&queues[kind].registered, false);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    close_all(&queues[kind]);
}

void ho_shutdown(void)
{
    pthread_mutex_lock(&mu);
    atomic_store(&stopping, true);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int k = 0; k < HO_NKINDS; k++) {
        close_all(&queues[k]);
    }
}

bool ho_stopping(void)
{
    return atomic_load_explicit(&stopping, memory_order_relaxed);
}

ho_msg_t *ho_pop(ho_kind_t kind, int timeout_ms)
{
    ho_msg_t *m = NULL;
    hq_t *q = &queues[kind];
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&mu);
    for (;;) {
        if (atomic_load(&stopping) || !atomic_load(&q->registered)) {
            break;
        }
        if (q->n > 0) {
            m = q->ring[q->head];
            q->head = (q->head + 1) % q->max;
            q->n--;
            break;
        }
        if (timeout_ms == 0) {
            break;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&cv, &mu);
        } else if (pthread_cond_timedwait(&cv, &mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    return m;
}

/* Queue @p m (or refuse: -EAGAIN full, -ENOENT no consumer). */
static int push(ho_msg_t *m)
{
    int err = 0;
    pthread_mutex_lock(&mu);
    hq_t *q = &queues[m->kind];
    if (!atomic_load(&q->registered) || atomic_load(&stopping)) {
        err = -ENOENT;
    } else if (q->n >= q->max) {
        err = -EAGAIN;
    } else {
        q->ring[(q->head + q->n) % q->max] = m;
        q->n++;
        pthread_cond_broadcast(&cv); /* consumers of other kinds wait on cv too */
    }
    pthread_mutex_unlock(&mu);
    return err;
}

/* The destination of the query, from the reply's pktinfo cmsg. */
static void local_from_ctl(ho_msg_t *m)
{
    struct msghdr h = {.msg_control = m->ctl, .msg_controllen = m->ctl_len};
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            struct sockaddr_in *sin = (struct sockaddr_in *)&m->local;
            sin->sin_family = AF_INET;
            sin->sin_addr = pi.ipi_spec_dst;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&m->local;
            sin6->sin6_family = AF_INET6;
            sin6->sin6_addr = pi.ipi6_addr;
        }
    }
}

int ho_push_udp(ho_kind_t kind, bool has_tsig, const uint8_t *pkt, size_t len, int fd,
                const struct sockaddr *peer, socklen_t peer_len, const void *ctl, size_t ctl_len)
{
    if (!ho_wanted(kind)) {
        return -ENOENT;
    }
    if (len > HO_UDP_MAX || ctl_len > sizeof(((ho_msg_t *)0)->ctl) ||
        peer_len > sizeof(struct sockaddr_storage)) {
        return -EMSGSIZE;
    }
    ho_msg_t *m = xcalloc(1, sizeof(*m) + len);
    m->buf = (uint8_t *)(m + 1);
    m->cap = len;
    memcpy(m->buf, pkt, len);
    m->msg = m->buf;
    m->len = len;
    m->kind = kind;
    m->has_tsig = has_tsig;
    m->fd = fd;
    memcpy(&m->peer, peer, peer_len);
    m->peer_len = peer_len;
    if (ctl_len) {
        memcpy(m->ctl, ctl, ctl_len);
        m->ctl_len = ctl_len;
        local_from_ctl(m);
    } else {
        socklen_t sl = sizeof(m->local);
        if (getsockname(fd, (struct sockaddr *)&m->local, &sl) != 0) {
            m->local.ss_family = 0;
        }
    }
    int err = push(m);
    if (err) {
        free(m);
    }
    return err;
}

int ho_push_tcp(ho_kind_t kind, bool has_tsig, const uint8_t *pkt, size_t len, int fd,
                void (*slot_release)(void *), void *tcp_slot, const struct sockaddr *peer,
                const uint8_t *rest, size_t rest_len)
{
    if (!ho_wanted(kind)) {
        return -ENOENT;
    }
    size_t cap = 2 + HO_TCP_MAX;
    if (len > HO_TCP_MAX || len + rest_len > cap) {
        return -EMSGSIZE;
    }
    ho_msg_t *m = xcalloc(1, sizeof(*m) + cap);
    m->buf = (uint8_t *)(m + 1);
    m->cap = cap;
    memcpy(m->buf, pkt, len);
    if (rest_len) { /* memcpy from NULL is undefined even for 0 bytes (UBSan) */
        memcpy(m->buf + len, rest, rest_len);
    }
    m->msg = m->buf;
    m->len = len;
    m->rx_off = len;
    m->rx_len = len + rest_len;
    m->kind = kind;
    m->is_tcp = true;
    m->has_tsig = has_tsig;
    m->fd = fd;
    m->tcp_slot = tcp_slot;
    m->slot_release = slot_release;
    m->peer_len = peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                               : sizeof(struct sockaddr_in);
    memcpy(&m->peer, peer, m->peer_len);
    socklen_t sl = sizeof(m->local);
    if (getsockname(fd, (struct sockaddr *)&m->local, &sl) != 0) {
        m->local.ss_family = 0;
    }
    int err = push(m);
    if (err) {
        free(m);
    }
    return err;
}

#define HO_POLL_SLICE_MS 200 /* waits look at ho_stopping() this often */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write all of @p iov on the non-blocking TCP socket, by @p deadline. */
static int write_all(int fd, struct iovec *iov, int n, int64_t deadline)
{
    while (n > 0) {
        struct msghdr h = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(fd, &h, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                return -errno;
            }
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                return -ETIMEDOUT;
            }
            if (ho_stopping()) {
                return -ECANCELED;
            }
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, left > HO_POLL_SLICE_MS ? HO_POLL_SLICE_MS : (int)left) < 0 &&
                errno != EINTR) {
                return -errno;
            }
            continue;
        }
        size_t done = (size_t)w;
        while (n > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

int ho_reply(ho_msg_t *m, const uint8_t *buf, size_t len)
{
    if (len > HO_TCP_MAX) {
        return -EMSGSIZE;
    }
    if (m->is_tcp) {
        uint8_t pre[2] = {(uint8_t)(len >> 8), (uint8_t)len};
        struct iovec iov[2] = {{pre, 2}, {(void *)buf, len}};
        return write_all(m->fd, iov, 2, now_ms() + HO_WRITE_TIMEOUT_MS);
    }
    struct iovec iov = {(void *)buf, len};
    struct msghdr h = {.msg_name = &m->peer, .msg_namelen = m->peer_len, .msg_iov = &iov,
                       .msg_iovlen = 1};
    if (m->ctl_len) {
        h.msg_control = m->ctl;
        h.msg_controllen = m->ctl_len;
    }
    for (int tries = 0; tries < 3; tries++) {
        if (sendmsg(m->fd, &h, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
            return 0;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
    return -EINTR;
}

int ho_next(ho_msg_t *m, int timeout_ms)
{
    if (!m->is_tcp) {
        return -EINVAL;
    }
    /* drop the current message */
    memmove(m->buf, m->buf + m->rx_off, m->rx_len - m->rx_off);
    m->rx_len -= m->rx_off;
    m->rx_off = 0;
    m->msg = m->buf;
    m->len = 0;
    int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    for (;;) {
        if (m->rx_len >= 2) {
            size_t ml = (size_t)(m->buf[0] << 8 | m->buf[1]);
            if (ml == 0) {
                return -ENOTCONN;
            }
            if (m->rx_len >= 2 + ml) {
                /* the message at buf+2; it is consumed by the next ho_next */
                m->msg = m->buf + 2;
                m->len = ml;
                m->rx_off = 2 + ml;
                return 0;
            }
        }
        ssize_t r = recv(m->fd, m->buf + m->rx_len, m->cap - m->rx_len, MSG_DONTWAIT);
        if (r == 0) {
            return -ENOTCONN;
        }
        if (r > 0) {
            m->rx_len += (size_t)r;
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -errno;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        if (ho_stopping()) {
            return -ECANCELED; /* shutting down: do not hold the join */
        }
        struct pollfd p = {.fd = m->fd, .events = POLLIN};
        if (poll(&p, 1, left > HO_POLL_SLICE_MS ? HO_POLL_SLICE_MS : (int)left) < 0 &&
            errno != EINTR) {
            return -errno;
        }
    }
}

unsigned ho_peer_addr(const ho_msg_t *m, char *buf, size_t cap)
{
    snprintf(buf, cap, "?");
    if (m->peer.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&m->peer;
        inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)cap);
        return ntohs(s4->sin_port);
    }
    if (m->peer.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&m->peer;
        inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)cap);
        return ntohs(s6->sin6_port);
    }
    return 0;
}

void ho_close(ho_msg_t *m)
{
    if (!m) {
        return;
    }
    if (m->is_tcp) {
        close(m->fd);
        m->slot_release(m->tcp_slot);
    }
    free(m);
}
