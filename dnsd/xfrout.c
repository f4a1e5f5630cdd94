/* SPDX-License-Identifier: MIT */
/*
 * xfrout.c -- the transfer-serving threads (see xfrout.h). Slow path: each
 * thread has its own buffers, its own query-engine context (for signed
 * plain queries) and, per request, its own read txn; it never touches a
 * worker's state. Every call that waits is bounded (ho_pop, ho_next,
 * ho_reply's write timeout).
 */
#include "dnsd/xfrout.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zones/base/clock.h"
#include "dnsd/counters.h"
#include "dnsd/answer.h"
#include "dnsd/handoff.h"
#include "dnsd/pkt.h"
#include "dnsd/query.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"
#include "zones/reader.h"
#include "zones/tsig.h"
#include "zones/xfr.h"
#include "zones/xfracl.h"

#define OUT_CAP XFR_MSG_MAX
#define XFROUT_PROGRESS_MS 2000 /* a long transfer out logs where it is at most this often */

typedef struct xthread {
    struct xfrout *x;
    pthread_t th;
    bool started;
    zr_t rd;              /* for signed plain queries (answer_query) */
    answer_ctx_t actx;
    uint8_t out[OUT_CAP];
} xthread_t;

struct xfrout {
    zs_store_t *s;
    unsigned n;
    xthread_t *t;
};

/* One request being served: the message, its TSIG state. */
typedef struct req {
    xthread_t *t;
    ho_msg_t *m;
    MDB_txn *txn;
    uint64_t now;
    bool is_signed;       /* verified: every answer is signed */
    bool keep;            /* served a client we trust: keep its connection for more */
    tsig_ctx_t tsig;
    char peer[INET6_ADDRSTRLEN + 8];
} req_t;

static void peer_str(const ho_msg_t *m, char *out, size_t cap)
{
    char a[INET6_ADDRSTRLEN];
    unsigned port = ho_peer_addr(m, a, sizeof(a));
    snprintf(out, cap, "%s#%u", a, port);
}

/* Room a TSIG RR takes for this exchange's key (RFC 8945 4.2), with room
 * for a BADTIME's 6 bytes of other data. */
static size_t tsig_room(const req_t *r)
{
    if (!r->is_signed) {
        return 0;
    }
    const uint8_t *alg = tsig_alg_wire(r->tsig.key.alg);
    size_t alen = alg ? (size_t)dname_wire_len(alg, DNAME_MAXLEN + 1) : 0;
    return r->tsig.key.name_len + 10u + alen + 16u + tsig_alg_mac_len(r->tsig.key.alg) + 6u;
}

/* Sign (when the request was signed) and send one message at t->out. */
static int send_msg(req_t *r, size_t len)
{
    if (r->is_signed) {
        int err = tsig_sign_response(&r->tsig, r->t->out, &len, OUT_CAP, r->now, 0);
        if (err) {
            log_warn("xfr: %s: cannot sign the answer: %s", r->peer, dnsd_strerror(err));
            return err;
        }
    }
    return ho_reply(r->m, r->t->out, len);
}

/* An error answer (rcode) to transfer request @p q. */
static void send_xfr_error(req_t *r, const xfr_query_t *q, int rcode)
{
    size_t len;
    if (xfr_error_msg(q, rcode, r->t->out, OUT_CAP - tsig_room(r), &len) == 0) {
        send_msg(r, len);
    }
}

/* The size limit of a UDP answer to @p m (RFC 6891: the client's payload
 * size, at most ours), minus the TSIG. */
static size_t udp_limit(const req_t *r)
{
    query_t q;
    size_t lim = 512;
    if (query_parse(r->m->msg, r->m->len, &q) == QP_OK && q.edns) {
        lim = q.edns_udp < ANSWER_UDP_MAX_DEFAULT ? q.edns_udp : ANSWER_UDP_MAX_DEFAULT;
    }
    size_t room = tsig_room(r);
    return lim > room + DNS_HDR_LEN + 300 ? lim - room : DNS_HDR_LEN + 300;
}

/* A signed query that is not a transfer (a secondary's SOA query): the
 * query engine answers it from the default view (no geo state: region
 * default), and the answer is signed. */
static void serve_query(req_t *r)
{
    xthread_t *t = r->t;
    size_t cap = r->m->is_tcp ? OUT_CAP - tsig_room(r) : udp_limit(r);
    t->actx.ho_mask = 0; /* answer it here */
    t->actx.rd_ok = zr_begin(&t->rd) == 0;
    size_t len = answer_query(&t->actx, r->m->msg, r->m->len, t->out, cap, r->m->is_tcp, NULL);
    zr_end(&t->rd);
    if (len > 0 && send_msg(r, len) == 0) {
        r->keep = r->is_signed; /* a verified key: a secondary, likely to transfer next */
    }
}

static const char *kind_name(xfr_kind_t k)
{
    switch (k) {
    case XFR_AXFR:
        return "AXFR";
    case XFR_IXFR:
        return "IXFR";
    case XFR_IXFR_AXFR:
        return "IXFR (AXFR-style: serial not in the journal)";
    case XFR_IXFR_UPTODATE:
        return "IXFR (up to date: SOA only)";
    }
    return "?";
}

/* A transfer request @p q: ACL, then the whole answer, message by message. */
static void serve_xfr(req_t *r, xfr_query_t *q)
{
    xfr_out_t xo;
    char zname[DNAME_MAXLEN * 4 + 2];
    memset(&xo, 0, sizeof(xo));
    q->udp = !r->m->is_tcp;
    dname_to_str(q->qname, zname, sizeof(zname));
    int err = xfr_out_begin(&xo, r->t->x->s, r->txn, q);
    if (err) {
        int rcode = err == DNSD_ENOZONE      ? DNS_R_NOTAUTH
                    : err == DNSD_EMALFORMED ? DNS_R_FORMERR
                    : err == -ENOTSUP        ? DNS_R_NOTIMP
                                             : DNS_R_SERVFAIL;
        CTR_SLOW_INC(XFR_OUT_REFUSED);
        log_info("xfr: %s: %s %s: %s", r->peer, q->qtype == DNS_T_AXFR ? "AXFR" : "IXFR", zname,
                 dnsd_strerror(err));
        send_xfr_error(r, q, rcode);
        goto out;
    }
    if (xo.zone.flags & ZS_ZONE_F_SIGNED) {
        /* issue #14: a signed zone's denials are made online per view (compact
         * denial), so a copy holds no NSEC chain and would not validate on a
         * plain secondary: it is served by dnsd nodes only (README.md) */
        log_info("xfr: %s: %s %s refused: the zone is signed (DNSSEC with online denial: "
                 "served by dnsd nodes only, not transferred)",
                 r->peer, q->qtype == DNS_T_AXFR ? "AXFR" : "IXFR", zname);
        CTR_SLOW_INC(XFR_OUT_REFUSED);
        send_xfr_error(r, q, DNS_R_REFUSED);
        goto out;
    }
    xacl_t acl;
    err = xacl_get(r->t->x->s, r->txn, xo.zone.id, XACL_TRANSFER, &acl);
    if (err || !xacl_allows(&acl, (const struct sockaddr *)&r->m->peer,
                            r->is_signed ? r->tsig.key.name : NULL)) {
        char kn[DNAME_MAXLEN * 4 + 2] = "";
        if (r->is_signed) {
            dname_to_str(r->tsig.key.name, kn, sizeof(kn));
        }
        log_info("xfr: %s: %s %s refused: %s%s%s", r->peer,
                 q->qtype == DNS_T_AXFR ? "AXFR" : "IXFR", zname,
                 err ? dnsd_strerror(err) : "not allowed by allow-transfer",
                 r->is_signed ? ", key " : " (unsigned)", kn);
        CTR_SLOW_INC(XFR_OUT_REFUSED);
        send_xfr_error(r, q, DNS_R_REFUSED);
        goto out;
    }
    size_t cap = r->m->is_tcp ? OUT_CAP - tsig_room(r) : udp_limit(r);
    bool sent_any = false;
    /* a transfer still going XFROUT_PROGRESS_MS after the last report logs a
     * line (checked once per message: a slow secondary shows where it is) */
    uint64_t start = (uint64_t)clock_mono_ms(), reported = start, bytes = 0;
    for (;;) {
        size_t len;
        int rc = xfr_out_next(&xo, r->t->out, cap, &len);
        if (rc < 0) {
            log_warn("xfr: %s: %s %s serial %u: %s", r->peer, kind_name(xo.kind), zname,
                     xo.serial, dnsd_strerror(rc));
            if (!sent_any) {
                send_xfr_error(r, q, DNS_R_SERVFAIL);
            }
            CTR_SLOW_INC(XFR_OUT_FAILED);
            goto out;
        }
        if (send_msg(r, len) != 0) {
            log_info("xfr: %s: %s %s serial %u: the client went away after %llu messages",
                     r->peer, kind_name(xo.kind), zname, xo.serial,
                     (unsigned long long)xo.msgs);
            CTR_SLOW_INC(XFR_OUT_FAILED);
            goto out;
        }
        sent_any = true;
        bytes += len;
        if (rc == 1) {
            break;
        }
        uint64_t t = (uint64_t)clock_mono_ms();
        if (t - reported >= XFROUT_PROGRESS_MS) {
            double secs = (double)(t - start) / 1000.0;
            reported = t;
            log_info("xfr: %s: %s %s serial %u in progress: %llu records, %llu bytes in %llu "
                     "messages, %.1f s, %.0f records/s", r->peer, kind_name(xo.kind), zname,
                     xo.serial, (unsigned long long)xo.rrs, (unsigned long long)bytes,
                     (unsigned long long)xo.msgs, secs, (double)xo.rrs / secs);
        }
        if (ho_stopping()) {
            log_info("xfr: %s: %s %s: shutting down, transfer cut", r->peer,
                     kind_name(xo.kind), zname);
            CTR_SLOW_INC(XFR_OUT_FAILED);
            goto out;
        }
    }
    char from[40] = "";
    if (q->has_serial) {
        snprintf(from, sizeof(from), " (client has %u)", q->serial);
    }
    r->keep = true;
    CTR_SLOW_INC(XFR_OUT_DONE);
    log_info("xfr: %s: %s %s serial %u%s: %llu messages, %llu records%s", r->peer,
             kind_name(xo.kind), zname, xo.serial, from, (unsigned long long)xo.msgs, (unsigned long long)xo.rrs,
             r->is_signed ? ", TSIG-signed" : "");
out:
    xfr_out_fini(&xo);
}

/* One request on @p m (the current message). @return true to keep the
 * connection for the client's next request: only after a transfer it was
 * allowed, or a query signed with a valid key; anyone else's connection is
 * closed at once, so idle strangers cannot hold the transfer threads. */
static bool serve_one(xthread_t *t, ho_msg_t *m)
{
    req_t r = {.t = t, .m = m, .now = (uint64_t)time(NULL)};
    peer_str(m, r.peer, sizeof(r.peer));
    tsig_ctx_init(&r.tsig);
    int err = zs_read_begin(t->x->s, &r.txn);
    if (err) {
        size_t len = answer_error(&t->actx, m->msg, m->len, t->out, OUT_CAP, DNS_R_SERVFAIL);
        if (len) {
            ho_reply(m, t->out, len);
        }
        goto out;
    }
    if (m->has_tsig) {
        tsig_store_lookup_t lk = {t->x->s, r.txn};
        size_t wo;
        int v = tsig_verify_request(m->msg, m->len, tsig_store_lookup, &lk, r.now, &r.tsig, &wo);
        if (v > 0) {
            char kn[DNAME_MAXLEN * 4 + 2];
            dname_to_str(r.tsig.key.name, kn, sizeof(kn));
            log_info("xfr: %s: TSIG %s (key %s): answered NOTAUTH", r.peer, tsig_error_name(v),
                     kn);
            size_t len;
            if (tsig_answer_error(&r.tsig, m->msg, m->len, t->out, &len, OUT_CAP, r.now, v) ==
                0) {
                ho_reply(m, t->out, len);
            }
            goto out;
        }
        if (v == DNSD_EMALFORMED) {
            size_t len = answer_error(&t->actx, m->msg, m->len, t->out, OUT_CAP, DNS_R_FORMERR);
            if (len) {
                ho_reply(m, t->out, len);
            }
            goto out;
        }
        r.is_signed = v == 0;
    }
    xfr_query_t q;
    err = xfr_query_parse(m->msg, m->len, &q);
    if (err == DNSD_ENOTFOUND) {
        serve_query(&r);
    } else if (err) {
        size_t len = answer_error(&t->actx, m->msg, m->len, t->out, OUT_CAP, DNS_R_FORMERR);
        if (len) {
            ho_reply(m, t->out, len);
        }
    } else {
        serve_xfr(&r, &q);
    }
out:
    tsig_ctx_fini(&r.tsig);
    zs_read_end(t->x->s, r.txn);
    return r.keep;
}

static void *xthread_main(void *arg)
{
    xthread_t *t = arg;
    while (!ho_stopping()) {
        ho_msg_t *m = ho_pop(HO_XFR, 500);
        if (!m) {
            continue;
        }
        bool trusted = false; /* once served, the connection stays ours for a while */
        for (;;) {
            trusted |= serve_one(t, m);
            /* a secondary may ask again on the same connection (SOA, then IXFR) */
            if (!trusted || !m->is_tcp || ho_stopping() || ho_next(m, XFROUT_IDLE_MS) != 0) {
                break;
            }
        }
        ho_close(m);
    }
    return NULL;
}

xfrout_t *xfrout_start(zs_store_t *s, unsigned nthreads)
{
    xfrout_t *x = xcalloc(1, sizeof(*x));
    x->s = s;
    x->t = xcalloc(nthreads, sizeof(*x->t));
    for (unsigned i = 0; i < nthreads; i++) {
        xthread_t *t = &x->t[i];
        t->x = x;
        t->actx.rd = &t->rd;
        t->actx.udp_max = ANSWER_UDP_MAX_DEFAULT;
        int err = zr_init(&t->rd, s);
        if (err) {
            log_err("xfr: cannot open a reader: %s", dnsd_strerror(err));
            break;
        }
        if (pthread_create(&t->th, NULL, xthread_main, t) != 0) {
            zr_fini(&t->rd);
            log_err("xfr: cannot start a transfer thread");
            break;
        }
        t->started = true;
        x->n++;
    }
    if (x->n == 0) {
        free(x->t);
        free(x);
        return NULL;
    }
    /* twice the threads may wait: a burst of NOTIFY-driven IXFRs */
    ho_register(HO_XFR, 2 * x->n + 16);
    log_info("xfr: %u transfer threads", x->n);
    return x;
}

void xfrout_stop(xfrout_t *x)
{
    if (!x) {
        return;
    }
    ho_unregister(HO_XFR);
    for (unsigned i = 0; i < x->n; i++) {
        pthread_join(x->t[i].th, NULL);
        zr_fini(&x->t[i].rd);
    }
    free(x->t);
    free(x);
}
