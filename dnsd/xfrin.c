/* SPDX-License-Identifier: MIT */
/*
 * xfrin.c -- the incoming-transfer thread (see xfrin.h): refresh timers,
 * NOTIFY in, SOA query, IXFR with AXFR fallback, each transfer applied as
 * one write transaction. Started and stopped by main.c. Never called by a
 * query worker; never blocks one (the workers only queue NOTIFY messages
 * for it, dnsd/handoff.h).
 *
 * DESIGN. The thread keeps a table of the secondary zones (reloaded when
 * the store's generation moves: a `dnsctl zone set/add/delete`), each with
 * its settings and its transfer state (zones/secondary.h: serial, last
 * success, next refresh, expire deadline, last error; written back to the
 * store after every attempt, so `dnsctl zone show` and a restart see it).
 * A refresh tries each primary in order: one TCP connection, an SOA query;
 * if the primary's serial is newer (RFC 1982) than ours, an IXFR asking
 * from our serial (an AXFR when we have none), on the same connection. The
 * messages are parsed with ldns and the records copied into a compact
 * list; only when the closing SOA has arrived is the list applied, in one
 * write txn: an AXFR-style answer replaces the default view, an
 * incremental one applies each difference sequence after checking its
 * starting serial (a mismatch, a missing record to delete: the IXFR is
 * dropped and an AXFR asked for). The zone's serial becomes the primary's
 * (zw_serial_set); the writer journals the netted change, so dnsd can in
 * turn serve IXFR to its own secondaries. Timers come from the SOA the
 * zone holds (the primary's): REFRESH after a success, RETRY after a
 * failure, and EXPIRE after the last success flags the zone SERVFAIL.
 * Every network call has a timeout; a whole transfer is bounded in time
 * and bytes.
 */
#include "dnsd/xfrin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dnsd/counters.h"
#include "zones/base/clock.h"
#include "dnsd/handoff.h"
#include "dnsd/pkt.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"
#include "zones/rrtype.h"
#include "zones/secondary.h"
#include "zones/tsig.h"
#include "zones/writer.h"

#define XFRIN_POLL_MS        250     /* store generation check and NOTIFY wait */
#define XFRIN_CONNECT_MS     3000    /* TCP connect to a primary */
#define XFRIN_IO_MS          10000   /* any one read or write */
#define XFRIN_XFR_MAX_S      300     /* a whole transfer */
#define XFRIN_XFR_MAX_BYTES  ((size_t)1 << 30) /* a whole transfer's messages */
#define XFRIN_RETRY_NEW_S    10      /* retry of a zone never loaded (no SOA to read it from) */
#define XFRIN_TIMER_MIN_S    1       /* floor of REFRESH and RETRY */
#define RCODE_NOTAUTH        9       /* RFC 2845: not authoritative (for this zone) */
#define XFRIN_PROGRESS_MS    2000    /* a long transfer logs where it is at most this often */

/* one record of a transfer, copied out of ldns: owner | rdata in the list's arena */
typedef struct xrec {
    size_t owner_off, rd_off;
    uint16_t owner_len, type, rdlen;
    uint32_t ttl;
} xrec_t;

typedef struct xlist {
    xrec_t *r;
    size_t n, cap;
    uint8_t *arena;
    size_t alen, acap;
} xlist_t;

typedef struct sec_zone {
    uint32_t id;
    uint8_t apex[DNAME_MAXLEN + 1];
    char name[4 * 255 + 2];
    uint8_t flags;
    zsec_conf_t conf;
    zsec_state_t st;
    tsig_key_t key; /* the primary's TSIG key, copied from the store (conf.key_len != 0) */
    bool has_key;   /* found: requests are signed, answers and NOTIFY verified */
    uint64_t due;  /* next refresh, seconds (in memory; st.next is what was stored) */
    bool seen;     /* reload: still in the store */
} sec_zone_t;

struct xfrin {
    zs_store_t *s;
    pthread_t thread;
    volatile int stop;
    bool notify_registered;
    uint64_t gen; /* store generation the table was read at */
    sec_zone_t *z;
    size_t nz;
    uint64_t log_s;     /* refused-NOTIFY log lines: the second counted ... */
    unsigned log_n;     /* ... and how many in it (a peer can trigger them: capped) */
};

#define XFRIN_LOG_PER_S 10 /* refused-NOTIFY lines per second at most */

/* May a line a remote peer triggered be logged now? */
static bool log_ok(xfrin_t *x)
{
    uint64_t now = (uint64_t)time(NULL);
    if (now != x->log_s) {
        x->log_s = now;
        x->log_n = 0;
    }
    return x->log_n++ < XFRIN_LOG_PER_S;
}

static uint64_t now_s(void)
{
    return (uint64_t)time(NULL);
}

static uint64_t now_ms(void)
{
    return (uint64_t)clock_mono_ms();
}

__attribute__((format(printf, 2, 3))) static void set_err(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, ZSEC_ERROR_MAX, fmt, ap);
    va_end(ap);
}

/* ---- the zone table ---- */

static sec_zone_t *zone_by_id(xfrin_t *x, uint32_t id)
{
    for (size_t i = 0; i < x->nz; i++) {
        if (x->z[i].id == id) {
            return &x->z[i];
        }
    }
    return NULL;
}

typedef struct reload_ctx {
    xfrin_t *x;
    MDB_txn *txn;
    sec_zone_t *nz;
    size_t n, cap;
} reload_ctx_t;

static int reload_cb(const zw_zone_t *z, void *arg)
{
    reload_ctx_t *r = arg;
    if (!(z->flags & ZS_ZONE_F_SECONDARY)) {
        return 0;
    }
    zsec_conf_t conf;
    if (zsec_conf_get(r->x->s, r->txn, z->id, &conf) != 0) {
        return 0; /* flagged but no settings: nothing to refresh from */
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->nz = xrealloc(r->nz, r->cap * sizeof(*r->nz));
    }
    sec_zone_t *e = &r->nz[r->n++];
    memset(e, 0, sizeof(*e));
    e->id = z->id;
    memcpy(e->apex, z->apex, (size_t)z->apex_len);
    dname_to_str(z->apex, e->name, sizeof(e->name));
    e->flags = z->flags;
    e->conf = conf;
    zsec_state_get(r->x->s, r->txn, z->id, &e->st); /* absent or damaged: zeroed, start over */
    e->has_key = conf.key_len && tsig_key_get(r->x->s, r->txn, conf.key, &e->key) == 0;
    const sec_zone_t *old = zone_by_id(r->x, z->id);
    if (old && memcmp(&old->conf, &conf, sizeof(conf)) == 0 && old->has_key == e->has_key &&
        (!e->has_key || memcmp(&old->key, &e->key, sizeof(e->key)) == 0)) {
        e->due = old->due; /* unchanged settings: keep the timer */
    } else {
        e->due = 0; /* new zone or new primaries: refresh now */
        if (old) {
            log_info("xfrin: zone %s: settings changed, refreshing", e->name);
        }
    }
    return 0;
}

/* Re-read the table when the store's generation moved. */
static void reload(xfrin_t *x)
{
    MDB_txn *txn;
    uint64_t gen;
    if (zs_read_begin(x->s, &txn) != 0) {
        return;
    }
    if (zs_generation(x->s, txn, &gen) != 0 || (gen == x->gen && x->z)) {
        zs_read_end(x->s, txn);
        return;
    }
    reload_ctx_t r = {x, txn, NULL, 0, 0};
    int err = zw_foreach_zone(x->s, txn, reload_cb, &r);
    zs_read_end(x->s, txn);
    if (err) {
        log_warn("xfrin: cannot read the secondary zones: %s", dnsd_strerror(err));
        free(r.nz);
        return;
    }
    for (size_t i = 0; i < r.n; i++) {
        if (!zone_by_id(x, r.nz[i].id)) {
            log_info("xfrin: zone %s: secondary, %u primar%s", r.nz[i].name,
                     r.nz[i].conf.nprimaries, r.nz[i].conf.nprimaries == 1 ? "y" : "ies");
        }
    }
    free(x->z);
    x->z = r.nz;
    x->nz = r.n;
    x->gen = gen;
}

/* ---- TCP with timeouts ---- */

static socklen_t primary_sa(const zsec_primary_t *p, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (p->family == 4) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(p->port);
        memcpy(&a->sin_addr, p->addr, 4);
        return sizeof(*a);
    }
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(p->port);
    memcpy(&a->sin6_addr, p->addr, 16);
    return sizeof(*a);
}

static int tcp_connect(const zsec_primary_t *p, char *err)
{
    struct sockaddr_storage ss;
    socklen_t sl = primary_sa(p, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_err(err, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
        set_err(err, "connect: %s", strerror(errno));
        close(fd);
        return -1;
    }
    int rc = clock_wait_fd(fd, POLLOUT, (long long)(now_ms() + XFRIN_CONNECT_MS)), soerr = 0;
    socklen_t el = sizeof(soerr);
    if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) == 0 && soerr) {
        rc = -soerr;
    }
    if (rc) {
        set_err(err, "connect: %s", strerror(-rc));
        close(fd);
        return -1;
    }
    return fd;
}

static int tcp_write_all(int fd, const uint8_t *p, size_t n, uint64_t deadline_ms)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            return -errno;
        }
        int rc = clock_wait_fd(fd, POLLOUT, (long long)deadline_ms);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static int tcp_read_all(int fd, uint8_t *p, size_t n, uint64_t deadline_ms)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (r == 0) {
            return -ECONNRESET;
        }
        if (errno != EAGAIN && errno != EINTR) {
            return -errno;
        }
        int rc = clock_wait_fd(fd, POLLIN, (long long)deadline_ms);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static int tcp_send_msg(int fd, const uint8_t *msg, size_t len)
{
    uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    uint64_t dl = now_ms() + XFRIN_IO_MS;
    int rc = tcp_write_all(fd, hdr, 2, dl);
    return rc ? rc : tcp_write_all(fd, msg, len, dl);
}

/* One message into @p buf (65535 bytes); bounded by the I/O timeout and @p end_ms. */
static int tcp_recv_msg(int fd, uint8_t *buf, size_t *len, uint64_t end_ms)
{
    uint64_t dl = now_ms() + XFRIN_IO_MS;
    if (dl > end_ms) {
        dl = end_ms;
    }
    uint8_t hdr[2];
    int rc = tcp_read_all(fd, hdr, 2, dl);
    if (rc) {
        return rc;
    }
    *len = (size_t)hdr[0] << 8 | hdr[1];
    if (*len < 12) {
        return -EPROTO;
    }
    return tcp_read_all(fd, buf, *len, dl);
}

/* ---- the records of a transfer ---- */

static void xlist_free(xlist_t *l)
{
    free(l->r);
    free(l->arena);
    memset(l, 0, sizeof(*l));
}

static const uint8_t *rec_owner(const xlist_t *l, const xrec_t *r)
{
    return l->arena + r->owner_off;
}

static const uint8_t *rec_rdata(const xlist_t *l, const xrec_t *r)
{
    return l->arena + r->rd_off;
}

/* The serial of an SOA record's rdata (0 if malformed: checked before use by soa_ok). */
static bool soa_ok(const xlist_t *l, const xrec_t *r)
{
    const uint8_t *rd = rec_rdata(l, r);
    int a = dname_wire_len(rd, r->rdlen);
    if (r->type != DNS_T_SOA || a < 0) {
        return false;
    }
    int b = dname_wire_len(rd + a, r->rdlen - (size_t)a);
    return b >= 0 && (size_t)a + (size_t)b + 20 == r->rdlen;
}

static uint32_t soa_field(const xlist_t *l, const xrec_t *r, int i)
{
    const uint8_t *rd = rec_rdata(l, r);
    return zs_get32(rd + r->rdlen - 20 + 4 * i); /* 0 serial, 1 refresh, 2 retry, 3 expire */
}

/* Copy one ldns record (class IN) into the list. */
static int add_rr(xlist_t *l, const ldns_rr *rr, char *err)
{
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
        set_err(err, "record of class %d in the transfer", (int)ldns_rr_get_class(rr));
        return DNSD_EMALFORMED;
    }
    const ldns_rdf *o = ldns_rr_owner(rr);
    uint8_t owner[DNAME_MAXLEN + 1];
    size_t ol = ldns_rdf_size(o);
    if (ol == 0 || ol > DNAME_MAXLEN + 1) {
        set_err(err, "bad owner name in the transfer");
        return DNSD_EMALFORMED;
    }
    memcpy(owner, ldns_rdf_data(o), ol);
    if (dname_wire_len(owner, ol) != (int)ol) {
        set_err(err, "bad owner name in the transfer");
        return DNSD_EMALFORMED;
    }
    dname_lower(owner);
    ldns_buffer *b = ldns_buffer_new(512);
    if (!b || ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK ||
        ldns_buffer_position(b) > 65535) {
        ldns_buffer_free(b);
        set_err(err, "cannot read a record's data");
        return DNSD_EMALFORMED;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->r = xrealloc(l->r, l->cap * sizeof(*l->r));
    }
    xrec_t *r = &l->r[l->n++];
    r->owner_len = (uint16_t)ol;
    r->owner_off = xappend(&l->arena, &l->alen, &l->acap, owner, ol);
    r->type = (uint16_t)ldns_rr_get_type(rr);
    r->ttl = ldns_rr_ttl(rr);
    r->rdlen = (uint16_t)ldns_buffer_position(b);
    r->rd_off = xappend(&l->arena, &l->alen, &l->acap, ldns_buffer_begin(b), r->rdlen);
    ldns_buffer_free(b);
    return 0;
}

/* ---- queries ---- */

/* Build a query for (apex, type) with id @p id; for IXFR, our SOA @p soa in the authority. */
static int build_query(const sec_zone_t *z, uint16_t type, uint16_t id, const xlist_t *soal,
                       const xrec_t *soa, uint8_t **out, size_t *len)
{
    ldns_rdf *qn = ldns_dname_new_frm_data((uint16_t)dname_wire_len(z->apex, DNAME_MAXLEN + 1),
                                           z->apex);
    ldns_pkt *q = qn ? ldns_pkt_query_new(qn, (ldns_rr_type)type, LDNS_RR_CLASS_IN, 0) : NULL;
    if (!q) {
        ldns_rdf_deep_free(qn);
        return DNSD_EMALFORMED;
    }
    ldns_pkt_set_id(q, id);
    if (soa) {
        ldns_rr *rr = ldns_rr_new(); /* empty: _frm_type would pre-fill NULL fields */
        ldns_rr_set_type(rr, LDNS_RR_TYPE_SOA);
        ldns_rr_set_owner(rr, ldns_dname_new_frm_data(
                                  (uint16_t)dname_wire_len(z->apex, DNAME_MAXLEN + 1), z->apex));
        ldns_rr_set_ttl(rr, soa->ttl);
        ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
        size_t pos = 0;
        ldns_status st = LDNS_STATUS_OK;
        const uint8_t *rd = rec_rdata(soal, soa);
        for (int i = 0; i < 7 && st == LDNS_STATUS_OK; i++) {
            ldns_rdf *f = NULL;
            if (i < 2) {
                st = ldns_wire2dname(&f, rd, soa->rdlen, &pos);
            } else {
                f = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT32, 4, rd + pos);
                pos += 4;
            }
            if (st == LDNS_STATUS_OK && f) {
                ldns_rr_push_rdf(rr, f);
            }
        }
        ldns_pkt_push_rr(q, LDNS_SECTION_AUTHORITY, rr);
    }
    ldns_status st = ldns_pkt2wire(out, q, len);
    ldns_pkt_free(q);
    return st == LDNS_STATUS_OK ? 0 : DNSD_EMALFORMED;
}

/*
 * Send query @p q (@p qlen bytes, from build_query(); freed here) on @p fd,
 * TSIG-signed with the zone's key when it has one (@p ctx then holds the
 * exchange for the answers). @return 0, or an error with @p err set.
 */
static int send_query(const sec_zone_t *sz, int fd, uint8_t *q, size_t qlen, tsig_ctx_t *ctx,
                      const char *what, char *err)
{
    size_t cap = qlen + TSIG_RR_MAX;
    uint8_t *buf = xmalloc(cap);
    memcpy(buf, q, qlen);
    free(q);
    int rc = 0;
    if (sz->conf.key_len && !sz->has_key) {
        char kn[4 * 255 + 2];
        dname_to_str(sz->conf.key, kn, sizeof(kn));
        set_err(err, "TSIG key %s is not in the store (dnsctl tsig add)", kn);
        rc = DNSD_ENOTFOUND;
        goto out;
    }
    if (sz->has_key && (rc = tsig_sign_request(ctx, &sz->key, buf, &qlen, cap, now_s())) != 0) {
        set_err(err, "%s: cannot sign: %s", what, dnsd_strerror(rc));
        goto out;
    }
    if ((rc = tcp_send_msg(fd, buf, qlen)) != 0) {
        set_err(err, "%s: %s", what, strerror(-rc));
        rc = DNSD_ENET;
    }
out:
    free(buf);
    return rc;
}

/* Verify an answer's TSIG when the exchange is signed. @return 0 or an error, @p err set. */
static int verify_answer(const sec_zone_t *sz, tsig_ctx_t *ctx, const uint8_t *buf, size_t len,
                         char *err)
{
    if (!sz->has_key) {
        return 0;
    }
    size_t lw;
    int rc = tsig_verify_response(ctx, buf, len, now_s(), &lw);
    if (rc > 0) {
        set_err(err, "TSIG %s%s", tsig_error_name(rc),
                ctx->peer_error ? " (from the primary)" : " (the answer failed our check)");
        return DNSD_ECRYPTO;
    }
    if (rc < 0) {
        set_err(err, "TSIG: %s", dnsd_strerror(rc));
        return DNSD_ECRYPTO;
    }
    return 0;
}

static uint16_t new_id(void)
{
    uint16_t id;
    if (getentropy(&id, sizeof(id)) != 0) {
        id = (uint16_t)(now_ms() * 2654435761u >> 16);
    }
    return id;
}

/*
 * Parse one response message: header checks (id, QR, rcode, question),
 * answer records appended to @p l. @return 0, or an error with @p err set.
 */
static int take_msg(const sec_zone_t *z, const uint8_t *buf, size_t len, uint16_t id,
                    uint16_t qtype, bool first, xlist_t *l, int *rcode, char *err)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, buf, len) != LDNS_STATUS_OK) {
        set_err(err, "malformed answer");
        return DNSD_EMALFORMED;
    }
    int rc = 0;
    *rcode = ldns_pkt_get_rcode(p);
    if (ldns_pkt_id(p) != id || !ldns_pkt_qr(p)) {
        set_err(err, "answer with a wrong id");
        rc = DNSD_EMALFORMED;
        goto out;
    }
    if (*rcode != LDNS_RCODE_NOERROR) {
        char *s = ldns_pkt_rcode2str(ldns_pkt_get_rcode(p));
        set_err(err, "answered %s", s ? s : "?");
        free(s);
        rc = DNSD_ERANGE; /* an IXFR refused or not implemented: an AXFR may do */
        goto out;
    }
    ldns_rr_list *qs = ldns_pkt_question(p);
    if (first || ldns_rr_list_rr_count(qs) > 0) {
        ldns_rr *q = ldns_rr_list_rr_count(qs) == 1 ? ldns_rr_list_rr(qs, 0) : NULL;
        if (!q || ldns_rr_get_type(q) != (ldns_rr_type)qtype ||
            ldns_rdf_size(ldns_rr_owner(q)) != (size_t)dname_wire_len(z->apex, 256)) {
            set_err(err, "answer to another question");
            rc = DNSD_EMALFORMED;
            goto out;
        }
        uint8_t qn[DNAME_MAXLEN + 1];
        memcpy(qn, ldns_rdf_data(ldns_rr_owner(q)), ldns_rdf_size(ldns_rr_owner(q)));
        dname_lower(qn);
        if (!dname_eq(qn, z->apex)) {
            set_err(err, "answer to another question");
            rc = DNSD_EMALFORMED;
            goto out;
        }
    }
    ldns_rr_list *an = ldns_pkt_answer(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an) && rc == 0; i++) {
        rc = add_rr(l, ldns_rr_list_rr(an, i), err);
    }
out:
    ldns_pkt_free(p);
    return rc;
}

/* ---- refresh: SOA query, then IXFR or AXFR ---- */

typedef struct xfr {
    xlist_t l;
    bool ixfr;        /* incremental (second record an SOA) */
    bool uptodate;    /* a single SOA */
    bool asked_ixfr;  /* the request was an IXFR (an AXFR-style answer is logged so) */
    uint32_t serial;  /* the primary's */
} xfr_t;

/*
 * Is the stream in @p l complete? AXFR: SOA ... SOA. IXFR: the same when
 * AXFR-style; incremental: SOA (new), then pairs of difference sequences
 * each opened by an SOA, the "old" ones at odd SOA positions; the closing
 * SOA is an "old" position holding the new serial.
 */
static bool stream_done(const xlist_t *l, size_t *nsoa_seen, size_t from)
{
    if (l->n < 2) {
        return false;
    }
    uint32_t top = soa_field(l, &l->r[0], 0);
    bool incr = l->r[1].type == DNS_T_SOA;
    for (size_t i = from > 1 ? from : 1; i < l->n; i++) {
        if (l->r[i].type != DNS_T_SOA) {
            continue;
        }
        if (!incr) {
            return true; /* the second SOA of an AXFR(-style) stream */
        }
        (*nsoa_seen)++;
        if ((*nsoa_seen % 2) == 1 && soa_field(l, &l->r[i], 0) == top && i > 1) {
            return i == l->n - 1;
        }
    }
    return false;
}

/*
 * Receive a transfer answer (AXFR or IXFR) for the query with id @p id
 * from @p from. A transfer still running XFRIN_PROGRESS_MS after the last
 * report logs a progress line (records, bytes, messages, rate) at info
 * level: checked once per message, never per record.
 */
static int recv_xfr(const xfrin_t *xi, const sec_zone_t *z, const char *from, int fd, uint16_t id,
                    uint16_t qtype, tsig_ctx_t *ctx, xfr_t *x, char *err)
{
    uint8_t *buf = xmalloc(65536);
    uint64_t start = now_ms(), reported = start;
    uint64_t end = start + (uint64_t)XFRIN_XFR_MAX_S * 1000u;
    size_t total = 0, nsoa = 0, scanned = 0;
    int rc = 0, rcode;
    for (unsigned nmsg = 0;; nmsg++) {
        size_t len;
        if (xi->stop) {
            set_err(err, "stopped");
            rc = DNSD_ENET;
            break;
        }
        if ((rc = tcp_recv_msg(fd, buf, &len, end)) != 0) {
            set_err(err, "%s after %u message%s", rc == -ETIMEDOUT ? "timed out" : strerror(-rc),
                    nmsg, nmsg == 1 ? "" : "s");
            rc = DNSD_ENET;
            break;
        }
        if ((rc = verify_answer(z, ctx, buf, len, err)) != 0) {
            break;
        }
        total += len;
        if (total > XFRIN_XFR_MAX_BYTES) {
            set_err(err, "transfer larger than %zu bytes", XFRIN_XFR_MAX_BYTES);
            rc = DNSD_ELIMIT;
            break;
        }
        if ((rc = take_msg(z, buf, len, id, qtype, nmsg == 0, &x->l, &rcode, err)) != 0) {
            break;
        }
        if (x->l.n == 0) {
            set_err(err, "empty answer");
            rc = DNSD_EMALFORMED;
            break;
        }
        if (!soa_ok(&x->l, &x->l.r[0]) ||
            !dname_eq(rec_owner(&x->l, &x->l.r[0]), z->apex)) {
            set_err(err, "the answer does not start with the zone's SOA");
            rc = DNSD_EMALFORMED;
            break;
        }
        x->serial = soa_field(&x->l, &x->l.r[0], 0);
        if (x->l.n == 1 && nmsg == 0 && qtype == DNS_T_IXFR) {
            x->uptodate = true; /* RFC 1995 2: a lone SOA, the client is current */
            goto done;
        }
        for (size_t i = scanned; i < x->l.n; i++) {
            if (x->l.r[i].type == DNS_T_SOA && !soa_ok(&x->l, &x->l.r[i])) {
                set_err(err, "malformed SOA in the transfer");
                rc = DNSD_EMALFORMED;
                goto out;
            }
        }
        size_t from_i = scanned;
        scanned = x->l.n;
        if (stream_done(&x->l, &nsoa, from_i)) {
            x->ixfr = x->l.r[1].type == DNS_T_SOA;
            goto done;
        }
        uint64_t t = now_ms();
        if (t - reported >= XFRIN_PROGRESS_MS) {
            double secs = (double)(t - start) / 1000.0;
            reported = t;
            log_info("xfrin: zone %s: %s from %s in progress: %zu records, %zu bytes in %u "
                     "messages, %.1f s, %.0f records/s", z->name,
                     qtype == DNS_T_IXFR ? "IXFR" : "AXFR", from, x->l.n, total, nmsg + 1, secs,
                     (double)x->l.n / secs);
        }
    }
    goto out;
done:
    if (z->has_key && !tsig_ctx_complete(ctx)) {
        set_err(err, "TSIG: the last message is not signed (RFC 8945 5.3.1)");
        rc = DNSD_ECRYPTO;
    }
out:
    free(buf);
    return rc;
}

typedef struct soa_info {
    bool have;
    uint32_t serial, refresh, retry, expire;
} soa_info_t;

static void soa_info_read(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, soa_info_t *out)
{
    zs_rrset_t rr;
    memset(out, 0, sizeof(*out));
    if (zw_rrset_get(s, txn, z, z->apex, DNS_T_SOA, ZS_REGION_DEFAULT, &rr) != 0 ||
        rr.count != 1) {
        return;
    }
    size_t rl = zs_get16(rr.rdata);
    if (rl < 22) {
        return;
    }
    const uint8_t *f = rr.rdata + 2 + rl - 20;
    out->have = true;
    out->serial = zs_get32(f);
    out->refresh = zs_get32(f + 4);
    out->retry = zs_get32(f + 8);
    out->expire = zs_get32(f + 12);
}

static uint32_t at_least(uint32_t v, uint32_t min)
{
    return v < min ? min : v;
}

/* Apply an AXFR(-style) stream: the default view becomes exactly its records. */
static int apply_axfr(zw_t *w, const zw_zone_t *z, const xlist_t *l, char *err)
{
    int rc = zw_zone_clear(w, z, ZS_REGION_DEFAULT, false);
    if (rc) {
        set_err(err, "cannot clear the zone: %s", dnsd_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i + 1 < l->n; i++) { /* the closing SOA repeats the first */
        const xrec_t *r = &l->r[i];
        rc = zw_rr_add(w, z, rec_owner(l, r), r->type, ZS_REGION_DEFAULT, r->ttl, rec_rdata(l, r),
                       r->rdlen);
        if (rc == DNSD_EEXIST) {
            continue; /* a duplicate in the stream: one copy is the set */
        }
        if (rc) {
            char on[4 * 255 + 2];
            dname_to_str(rec_owner(l, r), on, sizeof(on));
            set_err(err, "record %s type %u: %s", on, r->type, dnsd_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* Replace the zone's SOA by record @p r. */
static int put_soa(zw_t *w, const zw_zone_t *z, const xlist_t *l, const xrec_t *r)
{
    int rc = zw_rr_del(w, z, z->apex, DNS_T_SOA, ZS_REGION_DEFAULT, NULL, 0);
    if (rc && rc != DNSD_ENOTFOUND) {
        return rc;
    }
    return zw_rr_add(w, z, z->apex, DNS_T_SOA, ZS_REGION_DEFAULT, r->ttl, rec_rdata(l, r),
                     r->rdlen);
}

/*
 * Apply an incremental stream: for each difference sequence, its starting
 * serial must be the zone's, each record to delete must exist. @return 0,
 * or DNSD_ERANGE (the stream does not fit the zone: ask for an AXFR) or
 * another error, with @p err set.
 */
static int apply_ixfr(zw_t *w, const zw_zone_t *z, const xlist_t *l, unsigned *ndel,
                      unsigned *nadd, char *err)
{
    uint32_t cur;
    int rc = zw_soa_serial(w->s, w->txn, z, &cur);
    if (rc) {
        set_err(err, "no SOA to apply an IXFR to");
        return DNSD_ERANGE;
    }
    size_t i = 1;
    while (i < l->n - 1) {
        const xrec_t *old = &l->r[i];
        if (old->type != DNS_T_SOA || soa_field(l, old, 0) != cur) {
            set_err(err, "IXFR difference from serial %u, the zone has %u",
                    old->type == DNS_T_SOA ? soa_field(l, old, 0) : 0, cur);
            return DNSD_ERANGE;
        }
        for (i++; i < l->n && l->r[i].type != DNS_T_SOA; i++) {
            const xrec_t *r = &l->r[i];
            rc = zw_rr_del(w, z, rec_owner(l, r), r->type, ZS_REGION_DEFAULT, rec_rdata(l, r),
                           r->rdlen);
            if (rc) {
                char on[4 * 255 + 2];
                dname_to_str(rec_owner(l, r), on, sizeof(on));
                set_err(err, "IXFR deletes %s type %u: %s", on, r->type, dnsd_strerror(rc));
                return rc == DNSD_ENOTFOUND ? DNSD_ERANGE : rc;
            }
            (*ndel)++;
        }
        if (i >= l->n - 1) {
            set_err(err, "IXFR difference without its new SOA");
            return DNSD_ERANGE;
        }
        const xrec_t *nsoa = &l->r[i];
        for (i++; i < l->n && l->r[i].type != DNS_T_SOA; i++) {
            const xrec_t *r = &l->r[i];
            rc = zw_rr_add(w, z, rec_owner(l, r), r->type, ZS_REGION_DEFAULT, r->ttl,
                           rec_rdata(l, r), r->rdlen);
            if (rc && rc != DNSD_EEXIST) {
                char on[4 * 255 + 2];
                dname_to_str(rec_owner(l, r), on, sizeof(on));
                set_err(err, "IXFR adds %s type %u: %s", on, r->type, dnsd_strerror(rc));
                return rc;
            }
            (*nadd)++;
        }
        if ((rc = put_soa(w, z, l, nsoa)) != 0) {
            set_err(err, "cannot replace the SOA: %s", dnsd_strerror(rc));
            return rc;
        }
        cur = soa_field(l, nsoa, 0);
    }
    return 0;
}

/* The state after a success, from the SOA the zone now has. */
static void state_ok(sec_zone_t *sz, const soa_info_t *soa, uint8_t kind, uint64_t now)
{
    sz->st.has_serial = soa->have;
    sz->st.serial = soa->serial;
    sz->st.last_ok = now;
    sz->st.last_try = now;
    sz->st.kind = kind;
    sz->st.error[0] = 0;
    uint32_t refresh = at_least(soa->refresh, XFRIN_TIMER_MIN_S);
    uint32_t retry = at_least(soa->retry, XFRIN_TIMER_MIN_S);
    sz->st.next = now + refresh;
    /* RFC 1912 2.2: EXPIRE below REFRESH + RETRY would expire a zone between
     * two refreshes that both succeed: take at least that */
    sz->st.expire_at = now + (soa->expire > refresh + retry ? soa->expire : refresh + retry);
    sz->due = sz->st.next;
}

/*
 * Apply a received transfer (or record an up-to-date check) in one write
 * txn, with the new state and the SERVFAIL flag cleared. @return 0, or an
 * error with @p err set (the txn aborted: nothing changed).
 */
static int commit(xfrin_t *x, sec_zone_t *sz, xfr_t *t, const char *from, char *err)
{
    zw_t w;
    zw_zone_t z;
    diag_t d = {0};
    unsigned ndel = 0, nadd = 0;
    uint8_t kind = t->uptodate ? ZSEC_KIND_UPTODATE : t->ixfr ? ZSEC_KIND_IXFR : ZSEC_KIND_AXFR;
    int rc = zw_begin(x->s, &w);
    if (rc) {
        set_err(err, "cannot begin a transaction: %s", dnsd_strerror(rc));
        return rc;
    }
    w.xfr = true;
    if ((rc = zw_zone_get(x->s, w.txn, sz->apex, &z)) != 0 || z.id != sz->id ||
        !(z.flags & ZS_ZONE_F_SECONDARY)) {
        set_err(err, "the zone was deleted or is no longer a secondary");
        rc = rc ? rc : DNSD_ENOZONE;
        goto out;
    }
    if (kind == ZSEC_KIND_IXFR) {
        rc = apply_ixfr(&w, &z, &t->l, &ndel, &nadd, err);
    } else if (kind == ZSEC_KIND_AXFR) {
        rc = apply_axfr(&w, &z, &t->l, err);
    }
    if (rc == 0 && kind != ZSEC_KIND_UPTODATE) {
        rc = zw_serial_set(&w, &z, t->serial);
    }
    if (rc == 0 && (z.flags & ZS_ZONE_F_SERVFAIL)) {
        rc = zw_zone_set_flags(&w, &z, 0, ZS_ZONE_F_SERVFAIL);
    }
    if (rc) {
        if (!err[0]) {
            set_err(err, "%s", dnsd_strerror(rc));
        }
        goto out;
    }
    if ((rc = zw_prepare(&w, &d)) != 0) {
        set_err(err, "the zone as transferred is refused: %s", d.text[0] ? d.text :
                dnsd_strerror(rc));
        goto out;
    }
    soa_info_t soa;
    soa_info_read(x->s, w.txn, &z, &soa);
    zsec_state_t keep = sz->st;
    state_ok(sz, &soa, kind, now_s());
    if ((rc = zsec_state_put(x->s, w.txn, z.id, &sz->st)) != 0 ||
        (rc = zw_commit(&w, &d)) != 0) {
        sz->st = keep;
        set_err(err, "cannot commit: %s", dnsd_strerror(rc));
        goto out;
    }
    sz->flags = (uint8_t)(z.flags & ~ZS_ZONE_F_SERVFAIL);
    CTR_SLOW_INC(XFR_IN_DONE);
    if (kind == ZSEC_KIND_IXFR) {
        log_info("xfrin: zone %s: IXFR from %s: serial %u, %u records removed, %u added",
                 sz->name, from, t->serial, ndel, nadd);
    } else if (kind == ZSEC_KIND_AXFR) {
        log_info("xfrin: zone %s: AXFR%s from %s: serial %u, %zu records", sz->name,
                 t->asked_ixfr ? " (the primary's AXFR-style answer to IXFR)" : "", from,
                 t->serial, t->l.n - 1);
    } else {
        log_debug("xfrin: zone %s: up to date with %s (serial %u)", sz->name, from, t->serial);
    }
out:
    zw_abort(&w);
    return rc;
}

/* SOA query on @p fd: the primary's serial. */
static int soa_query(const sec_zone_t *sz, int fd, uint32_t *serial, char *err)
{
    uint8_t *q = NULL;
    size_t qlen;
    uint16_t id = new_id();
    int rc = build_query(sz, DNS_T_SOA, id, NULL, NULL, &q, &qlen);
    if (rc) {
        set_err(err, "cannot build the SOA query");
        return rc;
    }
    tsig_ctx_t ctx;
    tsig_ctx_init(&ctx);
    if ((rc = send_query(sz, fd, q, qlen, &ctx, "SOA query", err)) != 0) {
        tsig_ctx_fini(&ctx);
        return rc;
    }
    uint8_t *buf = xmalloc(65536);
    size_t len;
    xlist_t l = {0};
    int rcode;
    rc = tcp_recv_msg(fd, buf, &len, now_ms() + XFRIN_IO_MS);
    if (rc) {
        set_err(err, "SOA query: %s", rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
        rc = DNSD_ENET;
    } else if ((rc = verify_answer(sz, &ctx, buf, len, err)) != 0) {
        char e2[ZSEC_ERROR_MAX];
        snprintf(e2, sizeof(e2), "%s", err);
        set_err(err, "SOA query: %s", e2);
    } else if ((rc = take_msg(sz, buf, len, id, DNS_T_SOA, true, &l, &rcode, err)) == 0) {
        rc = DNSD_EMALFORMED;
        set_err(err, "SOA query: no SOA for the zone in the answer");
        for (size_t i = 0; i < l.n; i++) {
            if (soa_ok(&l, &l.r[i]) && dname_eq(rec_owner(&l, &l.r[i]), sz->apex)) {
                *serial = soa_field(&l, &l.r[i], 0);
                rc = 0;
                err[0] = 0;
                break;
            }
        }
    } else {
        char e2[ZSEC_ERROR_MAX];
        snprintf(e2, sizeof(e2), "%s", err);
        set_err(err, "SOA query: %s", e2);
    }
    free(buf);
    xlist_free(&l);
    tsig_ctx_fini(&ctx);
    return rc;
}

/* One transfer of @p qtype on @p fd (to primary @p from) into @p t. */
static int transfer(xfrin_t *x, const sec_zone_t *sz, const char *from, int fd, uint16_t qtype,
                    xfr_t *t, char *err)
{
    xlist_t cur = {0};
    const xrec_t *soa = NULL;
    if (qtype == DNS_T_IXFR) {
        /* our SOA as the client's version (RFC 1995 3) */
        MDB_txn *txn;
        zw_zone_t z;
        zs_rrset_t rr;
        if (zs_read_begin(x->s, &txn) == 0) {
            if (zw_zone_get(x->s, txn, sz->apex, &z) == 0 &&
                zw_rrset_get(x->s, txn, &z, z.apex, DNS_T_SOA, ZS_REGION_DEFAULT, &rr) == 0 &&
                rr.count == 1) {
                xrec_t r = {0};
                r.type = DNS_T_SOA;
                r.ttl = rr.ttl;
                r.rdlen = zs_get16(rr.rdata);
                r.rd_off = xappend(&cur.arena, &cur.alen, &cur.acap, rr.rdata + 2, r.rdlen);
                cur.r = xmalloc(sizeof(*cur.r));
                cur.r[0] = r;
                cur.n = cur.cap = 1;
                soa = soa_ok(&cur, &cur.r[0]) ? &cur.r[0] : NULL;
            }
            zs_read_end(x->s, txn);
        }
        if (!soa) {
            qtype = DNS_T_AXFR;
        }
    }
    uint8_t *q = NULL;
    size_t qlen;
    uint16_t id = new_id();
    int rc = build_query(sz, qtype, id, &cur, soa, &q, &qlen);
    xlist_free(&cur);
    if (rc) {
        set_err(err, "cannot build the %s query", qtype == DNS_T_IXFR ? "IXFR" : "AXFR");
        return rc;
    }
    tsig_ctx_t ctx;
    tsig_ctx_init(&ctx);
    memset(t, 0, sizeof(*t));
    rc = send_query(sz, fd, q, qlen, &ctx, qtype == DNS_T_IXFR ? "IXFR query" : "AXFR query",
                    err);
    if (rc) {
        tsig_ctx_fini(&ctx);
        return rc;
    }
    t->asked_ixfr = qtype == DNS_T_IXFR;
    rc = recv_xfr(x, sz, from, fd, id, qtype, &ctx, t, err);
    tsig_ctx_fini(&ctx);
    if (rc) {
        char e2[ZSEC_ERROR_MAX];
        snprintf(e2, sizeof(e2), "%s", err);
        set_err(err, "%s: %s", qtype == DNS_T_IXFR ? "IXFR" : "AXFR", e2);
    }
    return rc;
}

/* Refresh from one primary. @return 0 (the zone is current), or an error with @p err set. */
static int refresh_from(xfrin_t *x, sec_zone_t *sz, const zsec_primary_t *p, char *err)
{
    char from[64];
    zsec_primary_str(p, from, sizeof(from));
    int fd = tcp_connect(p, err);
    if (fd < 0) {
        return DNSD_ENET;
    }
    uint32_t serial;
    xfr_t t = {0};
    int rc = soa_query(sz, fd, &serial, err);
    if (rc) {
        goto out;
    }
    if (sz->st.has_serial && !(sz->flags & ZS_ZONE_F_SERVFAIL) &&
        !zw_serial_gt(serial, sz->st.serial)) {
        t.uptodate = true;
        t.serial = serial;
        rc = commit(x, sz, &t, from, err);
        goto out;
    }
    bool have = sz->st.has_serial;
    rc = transfer(x, sz, from, fd, have ? DNS_T_IXFR : DNS_T_AXFR, &t, err);
    if (rc == 0) {
        rc = commit(x, sz, &t, from, err);
    }
    if (have && rc != 0 && rc != DNSD_ENET && rc != DNSD_ECRYPTO && rc != DNSD_ENOTFOUND &&
        !x->stop) {
        /* the IXFR did not fit (or the primary could not give one): the whole zone */
        log_info("xfrin: zone %s: IXFR from %s failed (%s); trying AXFR", sz->name, from, err);
        xlist_free(&t.l);
        close(fd);
        err[0] = 0;
        if ((fd = tcp_connect(p, err)) < 0) {
            return DNSD_ENET;
        }
        rc = transfer(x, sz, from, fd, DNS_T_AXFR, &t, err);
        if (rc == 0) {
            rc = commit(x, sz, &t, from, err);
        }
    }
out:
    xlist_free(&t.l);
    close(fd);
    return rc;
}

/* Record a failed attempt: RETRY from the zone's SOA (or XFRIN_RETRY_NEW_S). */
static void state_failed(xfrin_t *x, sec_zone_t *sz, const char *why)
{
    uint64_t now = now_s();
    zw_t w;
    zw_zone_t z;
    soa_info_t soa = {0};
    sz->st.last_try = now;
    snprintf(sz->st.error, sizeof(sz->st.error), "%s", why);
    if (zw_begin(x->s, &w) != 0) {
        sz->due = now + XFRIN_RETRY_NEW_S;
        return;
    }
    if (zw_zone_get(x->s, w.txn, sz->apex, &z) == 0 && z.id == sz->id) {
        soa_info_read(x->s, w.txn, &z, &soa);
        uint32_t retry = soa.have ? at_least(soa.retry, XFRIN_TIMER_MIN_S) : XFRIN_RETRY_NEW_S;
        sz->st.next = now + retry;
        if (zsec_state_put(x->s, w.txn, z.id, &sz->st) == 0 && zw_commit(&w, NULL) == 0) {
            sz->due = sz->st.next;
            return;
        }
    }
    zw_abort(&w);
    sz->due = now + XFRIN_RETRY_NEW_S;
}

static void refresh(xfrin_t *x, sec_zone_t *sz)
{
    char err[ZSEC_ERROR_MAX] = "", all[ZSEC_ERROR_MAX] = "";
    for (unsigned i = 0; i < sz->conf.nprimaries && !x->stop; i++) {
        char from[64];
        err[0] = 0;
        if (refresh_from(x, sz, &sz->conf.primary[i], err) == 0) {
            return;
        }
        zsec_primary_str(&sz->conf.primary[i], from, sizeof(from));
        log_warn("xfrin: zone %s: refresh from %s failed: %s", sz->name, from, err);
        CTR_SLOW_INC(XFR_IN_FAILED);
        if (!all[0]) {
            snprintf(all, sizeof(all), "%s: %s", from, err);
        }
    }
    state_failed(x, sz, all);
}

/* The zone's EXPIRE passed without a successful refresh: answer SERVFAIL (RFC 1035 4.3.5). */
static void expire(xfrin_t *x, sec_zone_t *sz)
{
    zw_t w;
    zw_zone_t z;
    if (zw_begin(x->s, &w) != 0) {
        return;
    }
    if (zw_zone_get(x->s, w.txn, sz->apex, &z) == 0 && z.id == sz->id &&
        zw_zone_set_flags(&w, &z, ZS_ZONE_F_SERVFAIL, 0) == 0 && zw_commit(&w, NULL) == 0) {
        sz->flags |= ZS_ZONE_F_SERVFAIL;
        log_warn("xfrin: zone %s: expired (no successful refresh since %llu s ago): "
                 "answering SERVFAIL until a transfer succeeds", sz->name,
                 (unsigned long long)(now_s() - sz->st.last_ok));
        return;
    }
    zw_abort(&w);
}

/* ---- NOTIFY in ---- */

static bool from_primary(const sec_zone_t *sz, const ho_msg_t *m)
{
    for (unsigned i = 0; i < sz->conf.nprimaries; i++) {
        const zsec_primary_t *p = &sz->conf.primary[i];
        if (p->family == 4 && m->peer.ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&m->peer;
            if (memcmp(&a->sin_addr, p->addr, 4) == 0) {
                return true;
            }
        } else if (p->family == 6 && m->peer.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&m->peer;
            if (memcmp(&a->sin6_addr, p->addr, 16) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* The answer: the query's header and question, QR and AA set, @p rcode; signed with @p ctx. */
static void notify_reply(ho_msg_t *m, size_t qend, uint8_t rcode, tsig_ctx_t *ctx)
{
    uint8_t out[12 + DNAME_MAXLEN + 1 + 4 + TSIG_RR_MAX];
    size_t n = qend <= 12 + DNAME_MAXLEN + 1 + 4 ? qend : 12;
    memcpy(out, m->msg, n);
    out[2] = (uint8_t)((out[2] & 0x78) | 0x80 | 0x04); /* QR, opcode kept, AA; no TC/RD */
    out[3] = rcode & 0x0F;
    zs_put16(out + 4, n > 12 ? 1 : 0);
    zs_put16(out + 6, 0);
    zs_put16(out + 8, 0);
    zs_put16(out + 10, 0);
    if (ctx && tsig_sign_response(ctx, out, &n, sizeof(out), now_s(), 0) != 0) {
        return; /* cannot sign: no answer rather than an unsigned one */
    }
    ho_reply(m, out, n);
}

/* A tsig_lookup_fn that knows one key: the zone's. */
static int zone_key(const uint8_t *name, void *arg, tsig_key_t *out)
{
    const sec_zone_t *sz = arg;
    if (!sz->has_key || !dname_eq(name, sz->key.name)) {
        return DNSD_ENOTFOUND;
    }
    *out = sz->key;
    return 0;
}

static void notify_handle(xfrin_t *x, ho_msg_t *m)
{
    char peer[INET6_ADDRSTRLEN + 2], name[4 * 255 + 2];
    const uint8_t *p = m->msg;
    if (m->len < 12 || ((p[2] >> 3) & 0x0F) != 4 || (p[2] & 0x80) || zs_get16(p + 4) != 1) {
        if (m->len >= 12 && !(p[2] & 0x80)) {
            notify_reply(m, 12, DNS_R_FORMERR, NULL);
        }
        return; /* a response, or no question: nothing to answer */
    }
    int ql = dname_wire_len(p + 12, m->len - 12);
    if (ql < 0 || m->len - 12 - (size_t)ql < 4) {
        notify_reply(m, 12, DNS_R_FORMERR, NULL);
        return;
    }
    size_t qend = 12 + (size_t)ql + 4;
    uint8_t qn[DNAME_MAXLEN + 1];
    memcpy(qn, p + 12, (size_t)ql);
    dname_lower(qn);
    dname_to_str(qn, name, sizeof(name));
    ho_peer_addr(m, peer, sizeof(peer));
    sec_zone_t *sz = NULL;
    reload(x); /* a zone added a moment ago */
    for (size_t i = 0; i < x->nz; i++) {
        if (dname_eq(x->z[i].apex, qn)) {
            sz = &x->z[i];
        }
    }
    if (!sz) {
        /* Knot answers NOTAUTH for a zone it does not have as a secondary */
        if (log_ok(x)) {
            log_info("xfrin: NOTIFY for %s from %s: not a secondary zone here (NOTAUTH)", name,
                     peer);
        }
        notify_reply(m, qend, RCODE_NOTAUTH, NULL);
        return;
    }
    if (!from_primary(sz, m)) {
        if (log_ok(x)) {
            log_warn("xfrin: zone %s: NOTIFY from %s, not one of its primaries: REFUSED", name,
                     peer);
        }
        notify_reply(m, qend, DNS_R_REFUSED, NULL);
        return;
    }
    tsig_ctx_t ctx;
    tsig_ctx_init(&ctx);
    if (sz->conf.key_len) {
        /* the zone has a key: the NOTIFY must be signed with it (RFC 8945 5.2) */
        size_t lw;
        int rc = tsig_verify_request(m->msg, m->len, zone_key, sz, now_s(), &ctx, &lw);
        if (rc == DNSD_ENOTFOUND) {
            if (log_ok(x)) {
                log_warn("xfrin: zone %s: NOTIFY from %s without the zone's TSIG key: REFUSED",
                         name, peer);
            }
            notify_reply(m, qend, DNS_R_REFUSED, NULL);
            goto out;
        }
        if (rc != 0) {
            uint8_t out[12 + DNAME_MAXLEN + 1 + 4 + TSIG_RR_MAX];
            size_t n;
            if (log_ok(x)) {
                log_warn("xfrin: zone %s: NOTIFY from %s: TSIG %s: NOTAUTH", name, peer,
                         rc > 0 ? tsig_error_name(rc) : "malformed");
            }
            if (rc > 0 && tsig_answer_error(&ctx, m->msg, m->len, out, &n, sizeof(out), now_s(),
                                            rc) == 0) {
                ho_reply(m, out, n);
            } else {
                notify_reply(m, qend, rc > 0 ? RCODE_NOTAUTH : DNS_R_FORMERR, NULL);
            }
            goto out;
        }
    }
    CTR_SLOW_INC(NOTIFY_IN);
    log_info("xfrin: zone %s: NOTIFY from %s%s: refreshing now", name, peer,
             sz->conf.key_len ? " (TSIG verified)" : "");
    notify_reply(m, qend, DNS_R_NOERROR, sz->conf.key_len ? &ctx : NULL);
    sz->due = 0;
out:
    tsig_ctx_fini(&ctx);
}

/* ---- the thread ---- */

static void *run(void *arg)
{
    xfrin_t *x = arg;
    while (!x->stop) {
        reload(x);
        uint64_t now = now_s();
        for (size_t i = 0; i < x->nz && !x->stop; i++) {
            sec_zone_t *sz = &x->z[i];
            if (sz->due <= now) {
                refresh(x, sz);
                now = now_s();
            }
            if (sz->st.has_serial && sz->st.expire_at && now >= sz->st.expire_at &&
                !(sz->flags & ZS_ZONE_F_SERVFAIL)) {
                expire(x, sz);
            }
        }
        /* wait for a NOTIFY (or the next look at the store) */
        if (x->notify_registered) {
            ho_msg_t *m = ho_pop(HO_NOTIFY, XFRIN_POLL_MS);
            if (m) {
                notify_handle(x, m);
                ho_close(m);
            }
        } else {
            struct timespec ts = {0, XFRIN_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

xfrin_t *xfrin_start(zs_store_t *s)
{
    xfrin_t *x = xcalloc(1, sizeof(*x));
    x->s = s;
    int rc = ho_register(HO_NOTIFY, 0);
    x->notify_registered = rc == 0;
    if (rc) {
        log_warn("xfrin: cannot take NOTIFY messages: %s", strerror(-rc));
    }
    if ((rc = pthread_create(&x->thread, NULL, run, x)) != 0) {
        log_err("xfrin: cannot start the transfer thread: %s", strerror(rc));
        if (x->notify_registered) {
            ho_unregister(HO_NOTIFY);
        }
        free(x);
        return NULL;
    }
    return x;
}

void xfrin_stop(xfrin_t *x)
{
    if (!x) {
        return;
    }
    x->stop = 1;
    if (x->notify_registered) {
        ho_unregister(HO_NOTIFY); /* wakes a waiting ho_pop */
    }
    pthread_join(x->thread, NULL);
    free(x->z);
    free(x);
}
