/* SPDX-License-Identifier: MIT */
/*
 * update.c -- the update thread (see update.h): pops HO_UPDATE messages,
 * verifies TSIG, hands the message to zones/update.c (policy,
 * prerequisites, updates, one write transaction), then replies: after the
 * commit, signed with the request's key if it was signed. A TSIG failure
 * gets NOTAUTH with the TSIG error (RFC 8945 5.2); an unparsable message
 * FORMERR; a refusal REFUSED (or the RFC 2136 rcode), its reason logged.
 * After a commit it kicks the NOTIFY sender (notify.h), which would see the
 * commit in the store generation anyway, a poll later. One thread: UPDATEs
 * are serialised anyway by the LMDB write lock, and a worker never waits
 * on it. It never answers a plain query and never touches a worker's state.
 */
#include "dnsd/update.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsd/counters.h"
#include "dnsd/handoff.h"
#include "dnsd/notify.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/xalloc.h"
#include "zones/names.h"
#include "zones/schema.h"
#include "zones/tsig.h"
#include "zones/update.h"

#define REFUSAL_LOGS_PER_S 20 /* refusals a peer can make us log per second */
#define UPDATE_EDNS_UDP    1232 /* the payload size our OPT announces */

struct update_thread {
    zs_store_t *s;
    pthread_t th;
    atomic_bool stop;
    /* refusal log rate limit (this thread only) */
    time_t log_sec;
    unsigned log_n, log_dropped;
};

static void peer_str(const ho_msg_t *m, char *buf, size_t cap)
{
    char a[INET6_ADDRSTRLEN];
    unsigned port = ho_peer_addr(m, a, sizeof(a));
    snprintf(buf, cap, "%s#%u/%s", a, port, m->is_tcp ? "tcp" : "udp");
}

/* a refusal a remote peer caused: logged, at most REFUSAL_LOGS_PER_S a second */
__attribute__((format(printf, 2, 3))) static void log_refusal(update_thread_t *u,
                                                              const char *fmt, ...)
{
    time_t now = time(NULL);
    if (now != u->log_sec) {
        if (u->log_dropped) {
            log_warn("update: %u more refusals not logged", u->log_dropped);
        }
        u->log_sec = now;
        u->log_n = u->log_dropped = 0;
    }
    if (++u->log_n > REFUSAL_LOGS_PER_S) {
        u->log_dropped++;
        return;
    }
    if (log_level >= LOG_LVL_WARN) {
        char line[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        log_msg(LOG_LVL_WARN, "%s", line);
    }
}

/*
 * The reply header and zone section: the request's id and opcode, QR, the
 * rcode; the zone section echoed when the request had a readable one.
 */
static size_t reply_build(const uint8_t *req, size_t req_len, const upd_msg_t *pm, uint8_t rcode,
                          uint8_t *out)
{
    memset(out, 0, 12);
    memcpy(out, req, 2);
    uint16_t flags = (uint16_t)(0x8000 | (UPD_OPCODE << 11) | (rcode & 0xF));
    if (req_len >= 4) {
        flags |= (uint16_t)(zs_get16(req + 2) & 0x0100); /* RD, as it came */
    }
    zs_put16(out + 2, flags);
    size_t len = 12;
    if (pm) {
        int zl = dname_wire_len(pm->zone, sizeof(pm->zone));
        if (zl > 0 && pm->zclass) {
            memcpy(out + len, pm->zone, (size_t)zl);
            len += (size_t)zl;
            zs_put16(out + len, DNS_T_SOA);
            zs_put16(out + len + 2, pm->zclass);
            len += 4;
            zs_put16(out + 4, 1);
        }
    }
    if (pm && pm->has_opt) {
        /* RFC 6891 6.1.1: an OPT in the request gets one back (version 0,
         * our payload size; BADVERS for a version we do not know) */
        static const uint8_t opt[11] = {0, 0, 41, UPDATE_EDNS_UDP >> 8, UPDATE_EDNS_UDP & 0xFF};
        memcpy(out + len, opt, sizeof(opt));
        if (pm->edns_version > 0) {
            out[len + 5] = 1; /* extended rcode BADVERS (16) = 1 << 4 | 0 */
            zs_put16(out + 2, (uint16_t)(zs_get16(out + 2) & ~0xF));
        }
        len += sizeof(opt);
        zs_put16(out + 10, 1);
    }
    return len;
}

/*
 * Parse, judge and apply one UPDATE (TSIG already verified: @p key is the
 * key that signed it, or NULL), log the outcome and build the reply in
 * @p out. @return the reply's length.
 */
static size_t judge(update_thread_t *u, ho_msg_t *m, const uint8_t *msg, size_t len,
                    const uint8_t *key, const char *peer, uint8_t *out)
{
    char zn[4 * 255 + 2], kn[4 * 255 + 2];
    upd_msg_t pm;
    upd_result_t res;
    upol_who_t who;
    diag_t d = {0};
    size_t out_len;
    if (upd_parse(msg, len, &pm, &d) != 0) {
        CTR_SLOW_INC(UPDATE_REFUSED);
        log_refusal(u, "update from %s: FORMERR: %s", peer, d.text);
        out_len = reply_build(msg, len, NULL, UPD_R_FORMERR, out);
        goto out;
    }
    if (pm.has_opt && pm.edns_version > 0) {
        out_len = reply_build(msg, len, &pm, UPD_R_NOERROR, out); /* BADVERS, nothing applied */
        goto out;
    }
    dname_to_str(pm.zone, zn, sizeof(zn));
    if (key) {
        dname_to_str(key, kn, sizeof(kn));
    } else {
        snprintf(kn, sizeof(kn), "(unsigned)");
    }
    memset(&who, 0, sizeof(who));
    who.key = key;
    memcpy(&who.addr, &m->peer, sizeof(who.addr));
    if (upd_apply(u->s, &pm, &who, &res) != 0) {
        CTR_SLOW_INC(UPDATE_REFUSED);
        log_err("update of %s from %s key %s: SERVFAIL: %s", zn, peer, kn, res.reason);
    } else if (res.rcode != UPD_R_NOERROR) {
        CTR_SLOW_INC(UPDATE_REFUSED);
        log_refusal(u, "update of %s from %s key %s: %s: %s", zn, peer, kn,
                    upd_rcode_str(res.rcode), res.reason);
    } else if (res.changed) {
        CTR_SLOW_INC(UPDATE_COMMITTED);
        log_info("update of %s from %s key %s: committed, serial %u%s%s", zn, peer, kn,
                 res.serial, res.region[0] ? ", region " : "", res.region);
        notify_kick(); /* NOTIFY the secondaries now, not at the next store poll */
    } else {
        log_info("update of %s from %s key %s: nothing to change", zn, peer, kn);
    }
    out_len = reply_build(msg, len, &pm, res.rcode, out);
out:
    upd_msg_fini(&pm);
    return out_len;
}

/* One message: TSIG, then judge(), then the reply (signed when the request was). */
static void handle(update_thread_t *u, ho_msg_t *m)
{
    uint8_t out[12 + DNAME_MAXLEN + 1 + 4 + 11 + TSIG_RR_MAX];
    char peer[INET6_ADDRSTRLEN + 16], kn[4 * 255 + 2];
    const uint8_t *msg = m->msg;
    size_t len = m->len, out_len = 0;
    uint64_t now = (uint64_t)time(NULL);
    tsig_ctx_t ctx;
    bool signed_ok = false;
    int err = 0;

    tsig_ctx_init(&ctx);
    peer_str(m, peer, sizeof(peer));
    if (len < 12) {
        goto out; /* no header to answer with */
    }
    if (m->has_tsig) {
        MDB_txn *txn = NULL;
        size_t plain = len;
        if ((err = zs_read_begin(u->s, &txn)) != 0) {
            log_err("update from %s: cannot read the TSIG keys: %s", peer, dnsd_strerror(err));
            out_len = reply_build(msg, len, NULL, UPD_R_SERVFAIL, out);
            goto out;
        }
        tsig_store_lookup_t lk = {u->s, txn};
        err = tsig_verify_request(msg, len, tsig_store_lookup, &lk, now, &ctx, &plain);
        zs_read_end(u->s, txn);
        if (err > 0) {
            /* RFC 8945 5.2: NOTAUTH with the TSIG error (signed only for BADTIME) */
            if (ctx.key.name_len > 0) {
                dname_to_str(ctx.key.name, kn, sizeof(kn));
            } else {
                snprintf(kn, sizeof(kn), "?");
            }
            CTR_SLOW_INC(UPDATE_REFUSED);
            log_refusal(u, "update from %s refused: TSIG %s (key %s)", peer,
                        tsig_error_name(err), kn);
            tsig_answer_error(&ctx, msg, len, out, &out_len, sizeof(out), now, err);
            goto out;
        }
        if (err == DNSD_EMALFORMED) {
            log_refusal(u, "update from %s: malformed TSIG record: FORMERR", peer);
            out_len = reply_build(msg, len, NULL, UPD_R_FORMERR, out);
            goto out;
        }
        if (err == 0) {
            signed_ok = true;
            len = plain; /* parse without the TSIG RR */
        }
    }
    out_len = judge(u, m, msg, len, signed_ok ? ctx.key.name : NULL, peer, out);
    if (signed_ok &&
        (err = tsig_sign_response(&ctx, out, &out_len, sizeof(out), now, 0)) != 0) {
        log_err("update from %s: cannot sign the reply: %s", peer, dnsd_strerror(err));
        out_len = 0;
    }
out:
    if (out_len >= 12 && (err = ho_reply(m, out, out_len)) != 0) {
        log_info("update from %s: reply not sent: %s", peer, dnsd_strerror(err));
    }
    tsig_ctx_fini(&ctx);
}

static void *update_main(void *arg)
{
    update_thread_t *u = arg;
    while (!ho_stopping() && !atomic_load(&u->stop)) {
        ho_msg_t *m = ho_pop(HO_UPDATE, 1000);
        if (!m) {
            continue;
        }
        handle(u, m);
        /* TCP: the client may send more on the connection */
        while (m->is_tcp && !ho_stopping() && ho_next(m, UPDATE_TCP_IDLE_MS) == 0) {
            handle(u, m);
        }
        ho_close(m);
    }
    return NULL;
}

update_thread_t *update_start(zs_store_t *s)
{
    update_thread_t *u = xcalloc(1, sizeof(*u));
    u->s = s;
    int err = ho_register(HO_UPDATE, UPDATE_QUEUE);
    if (err) {
        log_err("cannot take UPDATE messages: %s", dnsd_strerror(err));
        free(u);
        return NULL;
    }
    if ((err = pthread_create(&u->th, NULL, update_main, u)) != 0) {
        log_err("cannot start the update thread: %s", strerror(err));
        ho_unregister(HO_UPDATE);
        free(u);
        return NULL;
    }
    return u;
}

void update_stop(update_thread_t *u)
{
    if (!u) {
        return;
    }
    atomic_store(&u->stop, true);
    ho_unregister(HO_UPDATE); /* wakes its ho_pop */
    pthread_join(u->th, NULL);
    free(u);
}
