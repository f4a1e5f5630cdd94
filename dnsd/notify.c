/* SPDX-License-Identifier: MIT */
/*
 * notify.c -- NOTIFY out (RFC 1996), on the main loop (see notify.h).
 *
 * DESIGN. One function, run(), does all the work: it reads
 * the store generation in a short read txn; when it moved, it reads every
 * zone's SOA serial and, for each zone whose serial differs from the one
 * remembered, (re)starts a send to each of the zone's NOTIFY targets
 * (xfracl.h). A target gets at most one NOTIFY per tick (NOTIFY_TICK_S),
 * with the newest serial: that is the debounce. Then it (re)sends every send that is due; a send is
 * retried after 1, 2, 4, ... s (NOTIFY_TRIES in all) until an answer with
 * its id comes back from the target's address, which ends it (a rcode
 * other than NOERROR is logged; to a signed NOTIFY only an answer signed
 * with the same key counts). A newer serial of the same zone replaces
 * a send still waiting for its answer. run() is called by a repeating
 * timer (NOTIFY_TICK_S), by notify_kick() (a writer in this process), and
 * by an inotify watch on the store's data file: LMDB commits by write(2),
 * so a commit by another process (dnsctl, a cluster agent) wakes us within
 * microseconds instead of at the next tick. inotify is an accelerator, not
 * the mechanism: where it cannot be had (no inotify, a chroot hiding the
 * path) the timer alone does the job, up to NOTIFY_TICK_S later. Many
 * events in a row (a large import writes many pages) cost one read of the
 * generation each and are drained together.
 * At start-up every zone's targets get one NOTIFY (as BIND and Knot send
 * when a zone loads), so a secondary that missed a change or saw a
 * transfer cut while dnsd was down catches up at once.
 * Sockets: one non-blocking UDP socket per family, bound to the wildcard
 * address on an ephemeral port; answers are read by an ev_io watcher.
 */
#include "dnsd/notify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "dnsd/counters.h"
#include "dnsd/pkt.h"
#include "dnsd/query.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"
#include "zones/schema.h"
#include "zones/tsig.h"
#include "zones/writer.h"
#include "zones/xfracl.h"

#define NOTIFY_TICK_S    0.05 /* generation check and resend period: a read txn, microseconds */
#define NOTIFY_TRIES     6    /* sends per (zone, target, serial): 1+2+4+8+16 s of retries */
#define NOTIFY_RETRY0_S  1.0  /* first retry after this; doubles */
#define NOTIFY_SENDS_MAX 4096 /* pending sends at most (zones x targets) */
#define NOTIFY_ZONES_MAX 1000000

typedef struct nzone {
    uint32_t id;
    uint32_t serial;
    bool seen; /* still there at the last scan */
} nzone_t;

typedef struct nsend {
    uint32_t zone_id;
    uint8_t apex[DNAME_MAXLEN + 1];
    uint32_t serial;
    xacl_ent_t target;
    struct sockaddr_storage to;
    socklen_t to_len;
    uint16_t id;       /* the id of the last message sent */
    tsig_ctx_t tsig;   /* its TSIG exchange (a target with a key): the answer must verify */
    unsigned tries;    /* sent so far */
    ev_tstamp next_at; /* the next (re)send */
    ev_tstamp sent_at; /* the last send (0: none yet) */
} nsend_t;

struct notify {
    struct ev_loop *loop;
    zs_store_t *s;
    ev_timer tick;
    ev_async kick;
    int fd4, fd6;
    ev_io io4, io6;
    int ifd;           /* inotify on the store's data.mdb, or -1 */
    ev_io iio;
    uint64_t gen;      /* the generation scanned last */
    bool have_gen;
    nzone_t *z;        /* sorted by id */
    size_t nz, zcap;
    nsend_t *sends;
    size_t nsends;
};

static _Atomic(notify_t *) current;

void notify_kick(void)
{
    notify_t *n = atomic_load(&current);
    if (n) {
        ev_async_send(n->loop, &n->kick);
    }
}

static void target_str(const nsend_t *x, char *out, size_t cap)
{
    xacl_format(XACL_NOTIFY, &x->target, out, cap);
}

/* Build and send the NOTIFY of @p x (a new id each time). */
static void send_one(notify_t *n, nsend_t *x, MDB_txn *txn)
{
    uint8_t buf[512 + TSIG_RR_MAX];
    size_t len = DNS_HDR_LEN;
    uint16_t id;
    if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
        id = (uint16_t)rand();
    }
    x->id = id;
    put16(buf, id);
    put16(buf + 2, (uint16_t)(DNS_OP_NOTIFY << 11 | DNS_F_AA));
    put16(buf + 4, 1);
    put16(buf + 6, 0);
    put16(buf + 8, 0);
    put16(buf + 10, 0);
    size_t al = (size_t)dname_wire_len(x->apex, sizeof(x->apex));
    memcpy(buf + len, x->apex, al);
    len += al;
    put16(buf + len, DNS_T_SOA);
    put16(buf + len + 2, DNS_C_IN);
    len += 4;
    char to[XACL_TEXT_MAX], zn[DNAME_MAXLEN * 4 + 2];
    target_str(x, to, sizeof(to));
    dname_to_str(x->apex, zn, sizeof(zn));
    if (x->target.key_len) {
        tsig_key_t key;
        int err = txn ? tsig_key_get(n->s, txn, x->target.key, &key) : DNSD_ENOTFOUND;
        tsig_ctx_fini(&x->tsig); /* the previous try's exchange */
        tsig_ctx_init(&x->tsig);
        if (!err) {
            err = tsig_sign_request(&x->tsig, &key, buf, &len, sizeof(buf), (uint64_t)time(NULL));
        }
        memset(&key, 0, sizeof(key));
        if (err) {
            log_warn("notify: %s serial %u to %s: cannot sign: %s", zn, x->serial, to,
                     dnsd_strerror(err));
            x->tries = NOTIFY_TRIES; /* nothing to retry with */
            return;
        }
    }
    int fd = x->to.ss_family == AF_INET6 ? n->fd6 : n->fd4;
    x->tries++;
    CTR_SLOW_INC(NOTIFY_SENT);
    if (fd < 0 || sendto(fd, buf, len, 0, (struct sockaddr *)&x->to, x->to_len) < 0) {
        log_info("notify: %s serial %u to %s: %s", zn, x->serial, to,
                 fd < 0 ? "no socket for its family" : strerror(errno));
    } else {
        log_info("notify: %s serial %u sent to %s (try %u)", zn, x->serial, to, x->tries);
    }
    x->sent_at = ev_now(n->loop);
    x->next_at = x->sent_at + NOTIFY_RETRY0_S * (double)(1u << (x->tries - 1));
}

/* Zone @p z changed to @p serial: (re)start a send to each of its targets. */
static void zone_changed(notify_t *n, MDB_txn *txn, const zw_zone_t *z, uint32_t serial)
{
    if (z->flags & ZS_ZONE_F_SIGNED) {
        return; /* a signed zone is not transferred (xfrout.c): no secondary to tell */
    }
    xacl_t l;
    int err = xacl_get(n->s, txn, z->id, XACL_NOTIFY, &l);
    if (err) {
        log_warn("notify: zone %u: cannot read its NOTIFY targets: %s", z->id, dnsd_strerror(err));
        return;
    }
    for (unsigned i = 0; i < l.n; i++) {
        nsend_t *x = NULL;
        for (size_t k = 0; k < n->nsends; k++) {
            if (n->sends[k].zone_id == z->id &&
                memcmp(&n->sends[k].target, &l.e[i], sizeof(l.e[i])) == 0) {
                x = &n->sends[k];
                break;
            }
        }
        if (!x) {
            if (n->nsends == NOTIFY_SENDS_MAX) {
                log_warn("notify: more than %d NOTIFYs pending: zone %u skipped",
                         NOTIFY_SENDS_MAX, z->id);
                return;
            }
            n->sends = xrealloc(n->sends, (n->nsends + 1) * sizeof(*n->sends));
            x = &n->sends[n->nsends++];
            memset(x, 0, sizeof(*x));
            tsig_ctx_init(&x->tsig);
        }
        x->zone_id = z->id;
        memcpy(x->apex, z->apex, (size_t)z->apex_len);
        x->serial = serial;
        x->target = l.e[i];
        memset(&x->to, 0, sizeof(x->to));
        if (l.e[i].family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&x->to;
            s4->sin_family = AF_INET;
            s4->sin_port = htons(l.e[i].port);
            memcpy(&s4->sin_addr, l.e[i].addr, 4);
            x->to_len = sizeof(*s4);
        } else {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&x->to;
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons(l.e[i].port);
            memcpy(&s6->sin6_addr, l.e[i].addr, 16);
            x->to_len = sizeof(*s6);
        }
        x->tries = 0;
        /* now, or one tick after the last send to this target: a burst of
         * commits gives a secondary at most one NOTIFY per tick, with the
         * newest serial (the debounce) */
        x->next_at = x->sent_at + NOTIFY_TICK_S;
    }
}

static nzone_t *zone_find(notify_t *n, uint32_t id)
{
    size_t lo = 0, hi = n->nz;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (n->z[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n->nz && n->z[lo].id == id ? &n->z[lo] : NULL;
}

typedef struct scan {
    notify_t *n;
    MDB_txn *txn;
    bool initial;
    nzone_t *nz;   /* the new table */
    size_t count, cap;
} scan_t;

static int scan_cb(const zw_zone_t *z, void *arg)
{
    scan_t *sc = arg;
    uint32_t serial;
    if (zw_soa_serial(sc->n->s, sc->txn, z, &serial) != 0) {
        return 0; /* no SOA (being built): nothing to announce */
    }
    if (sc->count == sc->cap) {
        sc->cap = sc->cap ? 2 * sc->cap : 64;
        sc->nz = xrealloc(sc->nz, sc->cap * sizeof(*sc->nz));
    }
    sc->nz[sc->count++] = (nzone_t){z->id, serial, true};
    nzone_t *old = zone_find(sc->n, z->id);
    if (sc->initial || !old || old->serial != serial) {
        zone_changed(sc->n, sc->txn, z, serial); /* at start: tell them we are back */
    }
    return 0;
}

static int cmp_zone(const void *a, const void *b)
{
    uint32_t x = ((const nzone_t *)a)->id, y = ((const nzone_t *)b)->id;
    return x < y ? -1 : x > y;
}

/* Look at the store; send what is due. */
static void run(notify_t *n, bool initial)
{
    MDB_txn *txn = NULL;
    if (zs_read_begin(n->s, &txn) != 0) {
        return; /* a map resize under way: next tick */
    }
    uint64_t gen;
    if (zs_generation(n->s, txn, &gen) == 0 && (!n->have_gen || gen != n->gen)) {
        scan_t sc = {.n = n, .txn = txn, .initial = initial};
        if (zw_foreach_zone(n->s, txn, scan_cb, &sc) == 0) {
            if (sc.count) { /* qsort(NULL, 0) is undefined (UBSan): a store whose zones
                             * have no SOA yet, e.g. a secondary before its first transfer */
                qsort(sc.nz, sc.count, sizeof(*sc.nz), cmp_zone);
            }
            free(n->z);
            n->z = sc.nz;
            n->nz = sc.count;
            n->zcap = sc.cap;
            n->gen = gen;
            n->have_gen = true;
        } else {
            free(sc.nz);
        }
    }
    ev_tstamp now = ev_now(n->loop);
    size_t k = 0;
    for (size_t i = 0; i < n->nsends; i++) {
        nsend_t *x = &n->sends[i];
        if (x->tries < NOTIFY_TRIES && x->next_at <= now) {
            send_one(n, x, txn);
        } else if (x->tries >= NOTIFY_TRIES && x->next_at <= now) {
            char to[XACL_TEXT_MAX], zn[DNAME_MAXLEN * 4 + 2];
            target_str(x, to, sizeof(to));
            dname_to_str(x->apex, zn, sizeof(zn));
            log_warn("notify: %s serial %u to %s: no answer after %u tries, giving up", zn,
                     x->serial, to, x->tries);
            CTR_SLOW_INC(NOTIFY_FAILED);
            tsig_ctx_fini(&x->tsig);
            continue; /* dropped */
        }
        n->sends[k++] = *x;
    }
    n->nsends = k;
    zs_read_end(n->s, txn);
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    run(t->data, false);
}

/* The store's data file was written: maybe a commit. */
static void inotify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(w->fd, buf, sizeof(buf)) > 0) {
        /* drain: one look at the store covers every write so far */
    }
    run(w->data, false);
}

/* Watch @p n's store file for writes; -1 (and a debug line) if we cannot. */
static int watch_store(notify_t *n)
{
    char path[sizeof(n->s->path) + 16];
    snprintf(path, sizeof(path), "%s/data.mdb", n->s->path);
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        log_debug("notify: no inotify (%s): the store is checked every %g s", strerror(errno),
                  NOTIFY_TICK_S);
        return -1;
    }
    if (inotify_add_watch(fd, path, IN_MODIFY) < 0) {
        log_debug("notify: cannot watch %s (%s): the store is checked every %g s", path,
                  strerror(errno), NOTIFY_TICK_S);
        close(fd);
        return -1;
    }
    return fd;
}

static void kick_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)loop;
    (void)revents;
    run(a->data, false);
}

/* An answer: the matching send is done. */
static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    notify_t *n = w->data;
    (void)loop;
    (void)revents;
    for (int round = 0; round < 64; round++) {
        uint8_t buf[4096];
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t r = recvfrom(w->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (r < 0) {
            return;
        }
        if (r < DNS_HDR_LEN) {
            continue;
        }
        uint16_t id = get16(buf), flags = get16(buf + 2);
        if (!(flags & DNS_F_QR) || ((flags >> 11) & 0xF) != DNS_OP_NOTIFY) {
            continue;
        }
        for (size_t i = 0; i < n->nsends; i++) {
            nsend_t *x = &n->sends[i];
            if (x->id != id || !sockaddr_same(&x->to, &from)) {
                continue;
            }
            char to[XACL_TEXT_MAX], zn[DNAME_MAXLEN * 4 + 2];
            target_str(x, to, sizeof(to));
            dname_to_str(x->apex, zn, sizeof(zn));
            unsigned rcode = flags & 0xF;
            if (x->target.key_len) {
                /* signed NOTIFY: only an answer signed with the key counts */
                size_t wo;
                int v = tsig_verify_response(&x->tsig, buf, (size_t)r, (uint64_t)time(NULL), &wo);
                if (v != 0) {
                    log_warn("notify: %s serial %u: answer from %s fails TSIG (%s): ignored", zn,
                             x->serial, to, v > 0 ? tsig_error_name(v) : dnsd_strerror(v));
                    break;
                }
            }
            if (rcode == DNS_R_NOERROR) {
                CTR_SLOW_INC(NOTIFY_ACKED);
                log_info("notify: %s serial %u acknowledged by %s", zn, x->serial, to);
            } else {
                log_warn("notify: %s serial %u: %s answered rcode %u", zn, x->serial, to, rcode);
            }
            tsig_ctx_fini(&x->tsig);
            n->sends[i] = n->sends[--n->nsends];
            break;
        }
    }
}

static int open_sock(int family)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (family == AF_INET6) {
        int one = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    return fd; /* the kernel binds it to an ephemeral port at the first sendto */
}

notify_t *notify_new(struct ev_loop *loop, zs_store_t *store)
{
    notify_t *n = xcalloc(1, sizeof(*n));
    n->loop = loop;
    n->s = store;
    n->fd4 = open_sock(AF_INET);
    n->fd6 = open_sock(AF_INET6);
    if (n->fd4 < 0 && n->fd6 < 0) {
        log_err("notify: cannot open a UDP socket: %s; no NOTIFY will be sent", strerror(errno));
        free(n);
        return NULL;
    }
    run(n, true); /* at start every zone's targets hear from us (as BIND and Knot do): a
                   * secondary that missed a change while we were down catches up */
    ev_timer_init(&n->tick, tick_cb, NOTIFY_TICK_S, NOTIFY_TICK_S);
    n->tick.data = n;
    ev_timer_start(loop, &n->tick);
    ev_async_init(&n->kick, kick_cb);
    n->kick.data = n;
    ev_async_start(loop, &n->kick);
    if (n->fd4 >= 0) {
        ev_io_init(&n->io4, io_cb, n->fd4, EV_READ);
        n->io4.data = n;
        ev_io_start(loop, &n->io4);
    }
    if (n->fd6 >= 0) {
        ev_io_init(&n->io6, io_cb, n->fd6, EV_READ);
        n->io6.data = n;
        ev_io_start(loop, &n->io6);
    }
    n->ifd = watch_store(n);
    if (n->ifd >= 0) {
        ev_io_init(&n->iio, inotify_cb, n->ifd, EV_READ);
        n->iio.data = n;
        ev_io_start(loop, &n->iio);
    }
    atomic_store(&current, n);
    return n;
}

void notify_free(notify_t *n)
{
    if (!n) {
        return;
    }
    atomic_store(&current, NULL);
    ev_timer_stop(n->loop, &n->tick);
    ev_async_stop(n->loop, &n->kick);
    if (n->fd4 >= 0) {
        ev_io_stop(n->loop, &n->io4);
        close(n->fd4);
    }
    if (n->fd6 >= 0) {
        ev_io_stop(n->loop, &n->io6);
        close(n->fd6);
    }
    if (n->ifd >= 0) {
        ev_io_stop(n->loop, &n->iio);
        close(n->ifd);
    }
    for (size_t i = 0; i < n->nsends; i++) {
        tsig_ctx_fini(&n->sends[i].tsig);
    }
    free(n->z);
    free(n->sends);
    free(n);
}
