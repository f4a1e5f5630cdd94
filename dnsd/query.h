/* SPDX-License-Identifier: MIT */
/*
 * query.h -- parse one DNS query (header, question, EDNS0) from a packet.
 * Called by the UDP and TCP paths for every query, and by the fuzz target.
 * Hot path: bounds-checked, no allocation, no lock, never trusts a count.
 */
#ifndef DNSD_QUERY_H
#define DNSD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/names.h"

typedef enum {
    QP_OK = 0,    /* a well-formed QUERY: answer it */
    QP_DROP,      /* no reply at all (too short for a header, or a response) */
    QP_FORMERR,   /* reply FORMERR */
    QP_NOTIMP,    /* reply NOTIMP (an opcode the query path does not answer: NOTIFY and
                     UPDATE with sections_ok may be handed off, handoff.h) */
    QP_BADVERS,   /* reply BADVERS (EDNS version > 0) */
} qp_result_t;

typedef struct query {
    uint16_t id;
    uint16_t flags;      /* the query's second header word */
    uint8_t opcode;
    bool has_question;   /* the question parsed (FORMERR/NOTIMP replies echo it) */
    bool sections_ok;    /* every section parsed (QP_NOTIMP: the message is well formed) */
    bool tsig;           /* the last additional RR is a TSIG (type 250): a signed message */
    uint8_t qname[DNAME_MAXLEN + 1]; /* wire form, case as received */
    uint16_t qname_len;
    uint16_t qtype;
    uint16_t qclass;
    /* EDNS0 (RFC 6891) */
    bool edns;           /* the query had one valid OPT */
    bool edns_do;        /* DO bit */
    uint8_t edns_version;
    uint16_t edns_udp;   /* the client's payload size, at least 512 */
    /* EDNS Client Subnet (RFC 7871), valid when ecs is true */
    bool ecs;
    uint8_t ecs_family;  /* 1 IPv4, 2 IPv6 (the option's FAMILY) */
    uint8_t ecs_source;  /* SOURCE PREFIX-LENGTH */
    uint8_t ecs_addr[16]; /* the address, zero past the prefix */
} query_t;

#define EDNS_OPT_ECS 8
#define DNS_OP_NOTIFY 4 /* RFC 1996 */
#define DNS_OP_UPDATE 5 /* RFC 2136 */

/**
 * Parse @p len bytes at @p pkt into @p q. On QP_FORMERR/QP_NOTIMP/QP_BADVERS
 * the id, flags, opcode and whatever parsed (has_question, edns) are filled
 * for the reply. Hot, allocates nothing.
 */
qp_result_t query_parse(const uint8_t *pkt, size_t len, query_t *q);

#endif
