/* SPDX-License-Identifier: MIT */
/*
 * answer.h -- build the response to one query, straight into the caller's
 * send buffer: authoritative data, referrals, negative answers, CNAME
 * chains, DNAME substitution (RFC 6672), wildcards (RFC 4592), EDNS0
 * (RFC 6891), truncation, name compression, and for DO=1 queries to
 * signed zones the DNSSEC records (RRSIGs stored with the RRsets; NSECs
 * of compact denial signed online, dnssec_online.h). Called by the UDP and TCP
 * paths of every worker thread, the unit tests and the fuzz target.
 * Hot path: no malloc, no lock, no log; it counts into its counters_t
 * (counters.h). One exception: an online NSEC signature that is not in
 * the worker's cache (a cache miss signs with OpenSSL, which allocates).
 */
#ifndef DNSD_ANSWER_H
#define DNSD_ANSWER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "dnsd/counters.h"
#include "dnsd/geo_state.h"
#include "zones/reader.h"

#define ANSWER_UDP_MAX_DEFAULT 1232 /* DNS flag day 2020 */
#define ANSWER_TCP_MAX 65535

/*
 * What kind of response the last answer_query() built, and which name it is
 * about: the key response rate limiting (rrl.h) counts responses under, as
 * BIND's and Knot's RRL do -- identical responses share one key, so a flood
 * of random names under a zone or a wildcard is one flow, not millions.
 */
typedef enum answer_cls {
    ANSWER_CLS_NONE = 0, /* nothing is sent */
    ANSWER_CLS_ANSWER,   /* NOERROR with records: the qname and qtype */
    ANSWER_CLS_WILDCARD, /* synthesized from a wildcard: its parent name and the qtype;
                          * or rewritten by a DNAME: its owner and the qtype */
    ANSWER_CLS_NODATA,   /* NOERROR without records: the qname */
    ANSWER_CLS_NXDOMAIN, /* the zone's apex */
    ANSWER_CLS_REFERRAL, /* the delegation point */
    ANSWER_CLS_ERROR,    /* FORMERR, SERVFAIL, NOTIMP, REFUSED, BADVERS: no name */
} answer_cls_t;

typedef struct answer_ctx {
    zr_t *rd;            /* begun by the caller for this batch */
    bool rd_ok;          /* false: the store could not be read -> SERVFAIL */
    bool classify;       /* fill cls, cls_qtype and cls_name for each response */
    uint16_t udp_max;    /* our EDNS payload size and UDP response cap */
    const geo_state_t *geo; /* regions and geo table for this batch, or NULL */
    counters_t st;       /* this worker's counters (answer.c and the worker's own) */
    /* the last response (answer_query's result) */
    answer_cls_t cls;
    uint16_t cls_qtype;
    uint16_t cls_name_len;              /* 0: no name (errors) */
    uint8_t cls_name[DNAME_MAXLEN + 1]; /* wire form, lower case */
    uint16_t resp_qend;  /* where its question ends */
    uint16_t resp_opt;   /* where its OPT record starts; 0: none (always last) */
    /* hand-off (handoff.h): which kinds a consumer takes (bit 1 << ho_kind_t),
     * set by the worker per batch; 0 answers everything here as before */
    unsigned ho_mask;
    int ho_kind;         /* answer_query returned 0 to hand the message off: its kind; else -1 */
    bool ho_tsig;        /* ... and it carries a TSIG */
    /* online DNSSEC (dnssec_online.h): this worker's keys and signature cache;
     * NULL: signed zones get their stored RRSIGs but no online denial */
    struct don *don;
} answer_ctx_t;

/**
 * Answer the query in @p pkt/@p len into @p out (capacity @p cap: at least
 * udp_max for UDP, ANSWER_TCP_MAX for TCP). @p src is the packet's source
 * address (NULL: unknown); with ECS (RFC 7871) the option's subnet is the
 * client instead, unless the zone has ECS switched off.
 * @return the response length; 0 means send nothing.
 */
size_t answer_query(answer_ctx_t *a, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                    bool is_tcp, const struct sockaddr *src);

/**
 * answer_query() asks for a hand-off by returning 0 with a->ho_kind set
 * (HO_XFR: AXFR/IXFR over TCP, IXFR over UDP, a TSIG-signed query;
 * HO_NOTIFY, HO_UPDATE: those opcodes, well formed), only for a kind in
 * a->ho_mask. AXFR over UDP is NOTIMP (as Knot and NSD answer it).
 */

/**
 * Answer @p pkt with the error @p rcode (header, question, OPT echoed), e.g.
 * SERVFAIL when a hand-off queue is full. @return the length; 0 for a
 * packet that gets no reply at all. Hot-path safe, allocates nothing.
 */
size_t answer_error(answer_ctx_t *a, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                    uint8_t rcode);

/**
 * Turn the response answer_query() just wrote into @p out (@p len bytes)
 * into a "slip": the same header and question, no records but the OPT, and
 * TC=1, so a real client asks again over TCP (RFC 1035 4.2.1). Rcode and AA
 * are kept. @return the new length. In place; hot, allocates nothing.
 */
size_t answer_slip(const answer_ctx_t *a, uint8_t *out, size_t len);

#endif
