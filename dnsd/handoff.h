/* SPDX-License-Identifier: MIT */
/*
 * handoff.h -- how a query worker hands a message it must not answer itself
 * to a slow-path consumer thread: zone transfers and TSIG-signed queries
 * (dnsd/xfrout.c), NOTIFY (dnsd/xfrin.c), UPDATE (dnsd/update.c).
 * Called by the workers (worker.c, tcp.c: the producer side) and by the
 * consumer threads (ho_pop, ho_reply, ho_next, ho_close).
 * A worker never blocks here and never waits on a consumer: a push either
 * takes a free place in a bounded queue at once or fails, and the worker
 * then answers SERVFAIL itself. Plain queries never come here, so the
 * per-query path stays free of malloc and locks (tests/unit/t_noalloc).
 *
 * DESIGN. One bounded FIFO per kind (HO_XFR, HO_NOTIFY, HO_UPDATE), process
 * wide, guarded by a mutex and a condition variable (taken only on the
 * hand-off path). A kind nobody registered is not handed off: the worker
 * answers as it always did (NOTIMP for NOTIFY and UPDATE, REFUSED for
 * transfers, an unsigned answer for a TSIG-signed query).
 *
 * UDP: the worker copies the message, the peer, the destination address
 * of the query (IP_PKTINFO/IPV6_PKTINFO) and the socket's fd into the
 * queue and sends nothing. The consumer answers later with ho_reply(),
 * which sendmsg()s from the address the query was sent to; the socket
 * stays the worker's (a UDP socket may be written from any thread). After
 * the workers' sockets close (shutdown) ho_reply fails harmlessly.
 *
 * TCP: the connection is DETACHED from the worker's pool: the pool stops
 * watching it, but it keeps its place in the server-wide connection count
 * (tcp-max-connections) until ho_close(). The consumer owns the socket:
 * ho_reply() writes one length-prefixed message (bounded by
 * HO_WRITE_TIMEOUT_MS), ho_next() reads the next message on the
 * connection (the bytes the worker had already read past the first
 * message come first), ho_close() closes it and gives the slot back.
 *
 * Consumers: a thread registers its kind (ho_register) once, then loops on
 * ho_pop(); every message it pops it must end with ho_close(), after any
 * ho_reply()/ho_next(). At shutdown, main calls ho_shutdown() (every
 * ho_pop returns NULL at once, queued messages are closed), then joins the
 * consumer threads, then stops the workers.
 */
#ifndef DNSD_HANDOFF_H
#define DNSD_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef enum ho_kind {
    HO_XFR = 0, /* AXFR/IXFR (TCP; IXFR over UDP too), and TSIG-signed queries (UDP, TCP) */
    HO_NOTIFY,  /* opcode NOTIFY (RFC 1996), UDP or TCP */
    HO_UPDATE,  /* opcode UPDATE (RFC 2136), UDP or TCP */
    HO_NKINDS,
} ho_kind_t;

#define HO_NONE (-1)                 /* ho_classify: not a hand-off */
#define HO_QUEUE_DEFAULT 64          /* ho_register's max_queued when 0 is given */
#define HO_WRITE_TIMEOUT_MS 10000    /* ho_reply on TCP gives up after this */
#define HO_UDP_MAX 4096              /* a UDP message longer than this is not handed off */
#define HO_TCP_MAX 65535             /* DNS over TCP: the 2-byte length's limit */

typedef struct ho_msg ho_msg_t;

/** One handed-off message (and, for TCP, the connection it came on). */
struct ho_msg {
    /* public, read-only for the consumer */
    ho_kind_t kind;
    bool is_tcp;
    bool has_tsig;                /* the message's last additional RR is a TSIG (type 250) */
    struct sockaddr_storage peer; /* the client (source address and port) */
    socklen_t peer_len;
    struct sockaddr_storage local; /* the address the message was sent to (family 0: unknown) */
    const uint8_t *msg;           /* the current message: the first, then what ho_next read */
    size_t len;
    /* private: handoff.c only */
    int fd;                       /* UDP: the worker's socket (not ours); TCP: the connection */
    void *tcp_slot;               /* TCP: the tcp_shared_t whose count holds our slot */
    void (*slot_release)(void *); /* TCP: gives @c tcp_slot back (tcp_slot_release) */
    uint8_t ctl[64];              /* UDP: the reply's IP(V6)_PKTINFO cmsg */
    size_t ctl_len;
    size_t rx_len, rx_off;        /* TCP: bytes in buf, where the unread ones start */
    size_t cap;
    uint8_t *buf;                 /* UDP: the message; TCP: read buffer (message + read-ahead) */
};

/* ---- consumer side (slow path; the consumer's own thread) ---- */

/**
 * Register as the consumer of @p kind, with a queue of at most
 * @p max_queued waiting messages (0: HO_QUEUE_DEFAULT). From now on the
 * workers hand such messages off instead of answering them. Any thread,
 * any time (before or after the workers start).
 * @return 0; -EEXIST if the kind has a consumer already.
 */
int ho_register(ho_kind_t kind, unsigned max_queued);

/**
 * Stop consuming @p kind: the workers answer such messages themselves again;
 * messages still queued are closed unanswered (a UDP client retries); a
 * thread blocked in ho_pop(@p kind) returns NULL. Any thread.
 */
void ho_unregister(ho_kind_t kind);

/**
 * Wait up to @p timeout_ms (-1: no limit) for the next message of @p kind.
 * @return the message, now the caller's (end it with ho_close); NULL on
 * timeout, when the kind is not registered, or after ho_shutdown().
 */
ho_msg_t *ho_pop(ho_kind_t kind, int timeout_ms);

/**
 * Send @p len bytes at @p buf (one DNS message) as the reply to @p m: UDP:
 * one datagram from the address the query was sent to (@p len at most
 * 65535; keep it within what the client said it takes); TCP: the 2-byte
 * length and the message, waiting at most HO_WRITE_TIMEOUT_MS for the
 * socket to take it. May be called several times (a transfer's messages).
 * @return 0; -EMSGSIZE if @p len > 65535; -ETIMEDOUT; -ECANCELED after
 * ho_shutdown(); a negated errno. After a TCP failure the connection is
 * dead: ho_close it.
 */
int ho_reply(ho_msg_t *m, const uint8_t *buf, size_t len);

/**
 * TCP: read the next message on @p m's connection into m->msg/m->len
 * (replacing the current one), waiting at most @p timeout_ms for it to
 * arrive whole. @return 0; -ENOTCONN when the client closed the connection
 * (or sent a zero length); -ETIMEDOUT; -ECANCELED after ho_shutdown();
 * -EINVAL for a UDP message; a negated errno.
 */
int ho_next(ho_msg_t *m, int timeout_ms);

/** End @p m: TCP closes the connection and frees its connection slot. NULL is fine. */
void ho_close(ho_msg_t *m);

/**
 * Shutdown (main thread): every ho_pop returns NULL from now on, queued
 * messages are closed; a consumer should check ho_stopping() between the
 * messages of a long transfer. Call before the workers are stopped.
 */
void ho_shutdown(void);
/** true after ho_shutdown(). Any thread, cheap. */
bool ho_stopping(void);

/* ---- producer side (workers; no allocation unless a message is handed off) ---- */

/** Is a consumer registered for @p kind? Hot: one atomic load. */
bool ho_wanted(ho_kind_t kind);

/**
 * Consumer: the text of @p m's peer address (for log lines) into @p buf
 * ("?" if unknown); @return its port.
 */
unsigned ho_peer_addr(const ho_msg_t *m, char *buf, size_t cap);

/**
 * Worker, UDP: queue a copy of @p pkt/@p len from @p peer (@p peer_len)
 * received on socket @p fd, the reply's pktinfo cmsg @p ctl/@p ctl_len
 * (may be 0). @return 0 (handed off: send nothing); -EAGAIN if the queue is
 * full; -ENOENT if nobody consumes @p kind; -EMSGSIZE past HO_UDP_MAX.
 * Never blocks (it may malloc the copy).
 */
int ho_push_udp(ho_kind_t kind, bool has_tsig, const uint8_t *pkt, size_t len, int fd,
                const struct sockaddr *peer, socklen_t peer_len, const void *ctl, size_t ctl_len);

/**
 * Worker, TCP: hand off connection @p fd (its slot counted in
 * @p tcp_slot, a tcp_shared_t, given back by @p slot_release(tcp_slot) --
 * tcp_slot_release; passed in so this module does not include dnsd/tcp.h,
 * which would make answer -> handoff -> tcp -> settings -> config -> answer
 * a cycle) with the message @p pkt/@p len and the
 * @p rest_len bytes at @p rest already read past it. @return 0: the
 * handoff now owns @p fd and the slot (the pool must forget the
 * connection without closing it); -EAGAIN / -ENOENT as ho_push_udp, and
 * the worker still owns everything. Never blocks.
 */
int ho_push_tcp(ho_kind_t kind, bool has_tsig, const uint8_t *pkt, size_t len, int fd,
                void (*slot_release)(void *), void *tcp_slot, const struct sockaddr *peer,
                const uint8_t *rest, size_t rest_len);

#endif
