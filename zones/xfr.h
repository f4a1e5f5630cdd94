/* SPDX-License-Identifier: MIT */
/*
 * xfr.h -- outgoing zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995)
 * answers built as a stream of DNS messages from ONE read transaction that
 * the caller holds for the whole transfer. Called by dnsd's transfer
 * threads (dnsd/xfrout.c), which parse the request with xfr_query_parse(),
 * check their ACL on x->zone, then write each message xfr_out_next() makes
 * (TSIG-signing it first if the request was signed), and by tests and
 * tools/bench-xfr. Slow path: may allocate at begin (a cursor, the list of
 * journal entries of an IXFR), never per record; never called by a query
 * worker; never writes to the store.
 *
 * What goes out is the zone's DEFAULT view only (region 0): regional
 * overlays stay with dnsd nodes and are never transferred, and journal
 * records of other regions are skipped (a change that touched only
 * overlays is an empty difference: its serial moves, nothing else).
 * Occluded data below a delegation is zone data and is transferred.
 *
 * Answers (x->kind):
 * - AXFR: SOA, every other RRset of the default view in canonical order,
 *   SOA again (RFC 5936 2.2).
 * - IXFR, client serial in the journal: the differences oldest first, each
 *   "old SOA, deleted records, new SOA, added records", between the current
 *   SOA first and last (RFC 1995 4). Runs of overlay-only changes are
 *   folded into the next difference (one old SOA, one new SOA).
 * - IXFR, client serial equal to or newer than ours (RFC 1982): the
 *   current SOA alone (RFC 1995 2).
 * - IXFR, serial not in the journal (DNSD_ERANGE from zj_changes(): trimmed,
 *   never held, or ours went backwards): the AXFR-style answer (the AXFR
 *   records under an IXFR question, RFC 1995 4).
 * - IXFR over UDP (q->udp): the whole answer in one message of @p cap, or,
 *   when it does not fit, the current SOA alone so the client retries over
 *   TCP (RFC 1995 2).
 *
 * Messages: ID copied, QR and AA set, opcode QUERY, RD copied, RA/AD/CD
 * clear, RCODE NOERROR; the question is echoed in the FIRST message only
 * (RFC 5936 2.2.1 allows omitting it after the first); an OPT RR (no
 * options, DO clear) in every message when the request had one. As many
 * records per message as fit in @p cap; owner names and the RFC 1035 rdata
 * names that RFC 3597 section 4 allows compressing (NS, CNAME, SOA, MX, PTR,
 * ...; never SRV's target) are compressed against the names already in the
 * message. Records are copied byte for byte otherwise (names keep their
 * stored case: only identical bytes are pointed at).
 */
#ifndef DNSD_XFR_H
#define DNSD_XFR_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/journal.h"
#include "zones/names.h"
#include "zones/store.h"
#include "zones/writer.h"

#define XFR_MSG_MAX  65535u /* a TCP message (RFC 1035 4.2.2 length prefix) */
#define XFR_MSG_MIN  512u   /* smallest @p cap xfr_out_next() accepts */
#define XFR_COMP_MAX 16384u /* compression pointers reach only the first 16 KiB */

/** The transfer request, as xfr_query_parse() reads it (or a caller fills it). */
typedef struct xfr_query {
    uint16_t id;
    uint16_t qtype;  /* DNS_T_AXFR or DNS_T_IXFR */
    uint16_t qclass; /* 1 (IN); xfr_out_begin() refuses any other */
    bool rd;         /* the request's RD bit, copied into every answer */
    bool edns;       /* the request had an OPT RR: every answer message gets one */
    bool has_serial; /* IXFR: the client's SOA was in the authority section */
    uint32_t serial; /* ... and its serial */
    bool udp;        /* set by the caller: the request came over UDP */
    uint8_t qname[DNAME_MAXLEN + 1]; /* as sent (case kept), uncompressed wire form */
    size_t qname_len;
} xfr_query_t;

/** What xfr_out_begin() decided to send. */
typedef enum xfr_kind {
    XFR_AXFR = 1,      /* AXFR answer */
    XFR_IXFR,          /* IXFR: differences from the journal */
    XFR_IXFR_AXFR,     /* IXFR answered AXFR-style (serial not in the journal) */
    XFR_IXFR_UPTODATE, /* IXFR: the current SOA alone */
} xfr_kind_t;

struct xfr_ixfr; /* xfr.c: the journal entries of an IXFR */

/**
 * One outgoing transfer. Fields above "private" may be read by the caller
 * after xfr_out_begin() returned 0 (for the ACL check, logging, counters).
 */
typedef struct xfr_out {
    zw_zone_t zone;    /* the zone transferred (copied out of the store) */
    uint32_t serial;   /* its current SOA serial, in the caller's txn */
    xfr_kind_t kind;
    uint64_t msgs;     /* messages made so far */
    uint64_t rrs;      /* records sent so far (both SOAs counted) */
    /* private to xfr.c */
    zs_store_t *s;
    MDB_txn *txn;
    MDB_cursor *cur;
    xfr_query_t q;
    int state;
    bool started;                /* the cursor was positioned */
    bool in_rrset;               /* rr/roff: the RRset being sent, next record at roff */
    zs_rrset_t rr;
    size_t roff;
    uint8_t full[DNAME_KEY_MAX * 2]; /* the apex key, then an owner's relative key */
    size_t aklen;
    uint8_t owner[DNAME_MAXLEN + 1];
    bool has_pending;            /* a record that did not fit in the last message */
    struct xfr_rec {
        const uint8_t *owner;
        uint16_t type;
        uint32_t ttl;
        const uint8_t *rdata;
        uint16_t rdlen;
    } pending;
    const uint8_t *soa_rd;       /* the current SOA (into the map) */
    uint16_t soa_rdlen;
    uint32_t soa_ttl;
    struct xfr_ixfr *ix;         /* IXFR differences, NULL otherwise */
    struct xfr_comp *comp;       /* compression table of the message being built */
} xfr_out_t;

/**
 * Parse a transfer request @p msg (@p len bytes; the caller strips a TSIG
 * RR first or not: additional records other than OPT are ignored): header
 * (QR clear, opcode QUERY, QDCOUNT 1), the question (an AXFR or IXFR qtype;
 * any other is DNSD_ENOTFOUND so a caller can tell "not a transfer"), for
 * IXFR the SOA in the authority section (its serial), an OPT in the
 * additional section. @p q->udp is set false (the caller sets it).
 * @return 0 and fills @p q; DNSD_EMALFORMED (answer FORMERR: truncated,
 * bad name, IXFR without an SOA, wrong counts); DNSD_ENOTFOUND (a valid
 * query that is not AXFR/IXFR). Untrusted input: bounds-checked, fuzzed
 * (tests/fuzz/fuzz_xfr.c). Any thread, no allocation.
 */
int xfr_query_parse(const uint8_t *msg, size_t len, xfr_query_t *q);

/**
 * Start the answer to @p q from read txn @p txn of store @p s. The txn is
 * the caller's and must stay open (unchanged) until xfr_out_fini(): every
 * message comes from that one snapshot. Looks the zone up by q->qname
 * (which must be a zone apex), reads its SOA, and for IXFR reads the
 * journal (zj_changes()) to choose the kind (see the file comment).
 * @return 0 (then call xfr_out_next() until it returns 1 or an error, and
 * xfr_out_fini() in every case); DNSD_ENOZONE (no zone at q->qname: answer
 * NOTAUTH, RFC 5936 2.2.1); DNSD_EMALFORMED (class not IN, IXFR without a
 * serial, qtype not AXFR/IXFR: FORMERR); -ENOTSUP (AXFR over UDP: answer
 * NOTIMP as Knot and NSD do); DNSD_EAPEX / DNSD_ESTORE (no SOA, damage:
 * SERVFAIL); an LMDB error. On error nothing needs freeing (xfr_out_fini()
 * is still fine to call). Allocates; slow path; the thread of the txn.
 */
int xfr_out_begin(xfr_out_t *x, zs_store_t *s, MDB_txn *txn, const xfr_query_t *q);

/**
 * Build the next message of the answer into @p buf: at most @p cap bytes
 * (XFR_MSG_MIN .. XFR_MSG_MAX; pass less than the buffer to leave room for
 * what the caller appends, e.g. a TSIG RR). *@p len gets its length.
 * @return 0: a message, more follow; 1: a message, the last one;
 * DNSD_ELIMIT: a single record does not fit in @p cap (the transfer must be
 * abandoned: answer SERVFAIL if nothing was sent yet, else close);
 * DNSD_ESTORE: a damaged stored value; -EINVAL: called after the last
 * message or with a bad @p cap. Never allocates. Work per call: one
 * message's records, plus the regional RRsets skipped on the way. Names
 * can only point at names in the first 16 KiB of a message (XFR_COMP_MAX),
 * so a @p cap above that trades a few percent of bytes for fewer messages
 * (Knot and NSD send about 16 KiB; BENCHMARKS.md has the figures).
 */
int xfr_out_next(xfr_out_t *x, uint8_t *buf, size_t cap, size_t *len);

/** Release what xfr_out_begin() took (before the caller ends its txn). Twice is fine. */
void xfr_out_fini(xfr_out_t *x);

/**
 * An error answer to @p q: header (ID, RD copied, QR, RCODE @p rcode, AA
 * clear), the question echoed, an OPT if the request had one. For FORMERR
 * to a request that could not be parsed, the caller makes its own.
 * @return 0 and *@p len, or DNSD_ESPACE if @p cap is too small.
 */
int xfr_error_msg(const xfr_query_t *q, int rcode, uint8_t *buf, size_t cap, size_t *len);

#endif
