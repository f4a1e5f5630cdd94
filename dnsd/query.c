/* SPDX-License-Identifier: MIT */
/*
 * query.c -- the query parser (see query.h). Hot path: no malloc, no lock,
 * no log. Every read is bounds-checked through rd_t; counts in the header
 * are never trusted beyond the bytes present.
 */
#include "dnsd/query.h"

#include <string.h>

#include "dnsd/pkt.h"

/* Skip a possibly compressed name in an RR. Pointers must point strictly
 * backwards (so they cannot loop) and stay inside the packet. */
static bool skip_name(rd_t *r, bool *is_root)
{
    const uint8_t *p = r->p;
    bool jumped = false;
    size_t total = 0;
    *is_root = false;
    for (int hops = 0; hops < 128; hops++) {
        if (p >= r->end) {
            return false;
        }
        uint8_t l = *p;
        if ((l & 0xC0) == 0xC0) {
            if (r->end - p < 2) {
                return false;
            }
            size_t target = (size_t)((l & 0x3F) << 8 | p[1]);
            if (target >= (size_t)(p - r->base)) {
                return false; /* forward or self pointer */
            }
            if (!jumped) {
                r->p = p + 2;
                jumped = true;
            }
            p = r->base + target;
            continue;
        }
        if (l & 0xC0) {
            return false; /* 0x40/0x80: obsolete/unknown label types */
        }
        total += 1u + l;
        if (total > DNAME_MAXLEN) {
            return false;
        }
        if (l == 0) {
            if (!jumped) {
                *is_root = (total == 1);
                r->p = p + 1;
            }
            return true;
        }
        if (r->end - p < 1 + l) {
            return false;
        }
        p += 1 + l;
    }
    return false;
}

/* RFC 7871 6: FAMILY 1/2, SOURCE within the address, exact length, no
 * bits set past SOURCE; a second ECS option is malformed too */
static int parse_ecs(const uint8_t *p, size_t len, query_t *q)
{
    if (q->ecs || len < 4) {
        return -1;
    }
    uint16_t family = get16(p);
    uint8_t source = p[2];
    unsigned max = family == 1 ? 32 : family == 2 ? 128 : 0;
    size_t alen = (source + 7u) / 8u;
    if (max == 0 || source > max || len != 4 + alen) {
        return -1;
    }
    if (alen > 0 && (source & 7) && (p[4 + alen - 1] & (0xFFu >> (source & 7)))) {
        return -1;
    }
    memset(q->ecs_addr, 0, sizeof(q->ecs_addr));
    memcpy(q->ecs_addr, p + 4, alen);
    q->ecs = true;
    q->ecs_family = (uint8_t)family;
    q->ecs_source = source;
    return 0;
}

static qp_result_t parse_opt(rd_t *r, query_t *q)
{
    uint16_t udp = rd_u16(r);
    uint8_t ext_rcode = rd_u8(r);
    uint8_t version = rd_u8(r);
    uint16_t flags = rd_u16(r);
    uint16_t rdlen = rd_u16(r);
    (void)ext_rcode;
    if (r->bad || rd_left(r) < rdlen) {
        return QP_FORMERR;
    }
    /* options: (code, len, data)*, each must fit exactly */
    rd_t o;
    rd_init(&o, r->p, rdlen);
    while (rd_left(&o) > 0) {
        uint16_t code = rd_u16(&o);
        uint16_t olen = rd_u16(&o);
        const uint8_t *data = o.p;
        rd_skip(&o, olen);
        if (o.bad) {
            return QP_FORMERR;
        }
        if (code == EDNS_OPT_ECS && parse_ecs(data, olen, q) != 0) {
            return QP_FORMERR;
        }
    }
    rd_skip(r, rdlen);
    q->edns = true;
    q->edns_udp = udp < 512 ? 512 : udp;
    q->edns_version = version;
    q->edns_do = flags & 0x8000u;
    return version > 0 ? QP_BADVERS : QP_OK;
}

/* Answer, authority and additional sections: skipped, but each RR must be
 * well formed; the one OPT (additional section only) is parsed. */
static qp_result_t parse_sections(rd_t *r, query_t *q, unsigned an, unsigned ns, unsigned ar)
{
    /* answer and authority: skipped, but must be well formed and hold no OPT */
    for (unsigned i = 0; i < (unsigned)an + ns; i++) {
        bool root;
        if (!skip_name(r, &root)) {
            return QP_FORMERR;
        }
        uint16_t type = rd_u16(r);
        rd_skip(r, 6);
        uint16_t rdlen = rd_u16(r);
        rd_skip(r, rdlen);
        if (r->bad || type == DNS_T_OPT) {
            return QP_FORMERR;
        }
    }
    qp_result_t res = QP_OK;
    bool seen_opt = false;
    for (unsigned i = 0; i < ar; i++) {
        bool root;
        if (!skip_name(r, &root)) {
            return QP_FORMERR;
        }
        uint16_t type = rd_u16(r);
        if (r->bad) {
            return QP_FORMERR;
        }
        q->tsig = type == DNS_T_TSIG && i + 1 == ar; /* RFC 8945 5.1: only as the last */
        if (type == DNS_T_OPT) {
            if (seen_opt || !root) {
                q->edns = false; /* RFC 6891 6.1.1: FORMERR, no OPT in reply */
                return QP_FORMERR;
            }
            seen_opt = true;
            res = parse_opt(r, q);
            if (res == QP_FORMERR) {
                q->edns = false;
                q->ecs = false;
                return res;
            }
            continue;
        }
        rd_skip(r, 6);
        uint16_t rdlen = rd_u16(r);
        rd_skip(r, rdlen);
        if (r->bad) {
            return QP_FORMERR;
        }
    }
    return res;
}

qp_result_t query_parse(const uint8_t *pkt, size_t len, query_t *q)
{
    rd_t r;
    q->has_question = false;
    q->sections_ok = false;
    q->tsig = false;
    q->edns = false;
    q->edns_do = false;
    q->edns_version = 0;
    q->edns_udp = 512;
    q->ecs = false;
    if (len < DNS_HDR_LEN) {
        return QP_DROP;
    }
    rd_init(&r, pkt, len);
    q->id = rd_u16(&r);
    q->flags = rd_u16(&r);
    uint16_t qd = rd_u16(&r), an = rd_u16(&r), ns = rd_u16(&r), ar = rd_u16(&r);
    if (q->flags & DNS_F_QR) {
        return QP_DROP; /* never answer a response: no reflection loops */
    }
    q->opcode = (uint8_t)((q->flags >> 11) & 0xF);

    /* the question, uncompressed: a pointer here could only point into the header */
    if (qd == 1) {
        size_t off = DNS_HDR_LEN;
        int nl = dname_wire_len(pkt + off, len - off);
        if (nl > 0 && len - off - (size_t)nl >= 4) {
            memcpy(q->qname, pkt + off, (size_t)nl);
            q->qname_len = (uint16_t)nl;
            rd_skip(&r, (size_t)nl);
            q->qtype = rd_u16(&r);
            q->qclass = rd_u16(&r);
            q->has_question = true;
        }
    }
    /* an opcode we do not implement still gets its OPT echoed (RFC 6891 7),
     * so the sections are parsed; any trouble there leaves it at NOTIMP */
    bool notimp = q->opcode != DNS_OP_QUERY;
    if (!notimp && (qd != 1 || !q->has_question)) {
        return QP_FORMERR;
    }
    if (notimp && qd > 1) {
        return QP_NOTIMP;
    }
    if (notimp && qd == 1 && !q->has_question) {
        return QP_NOTIMP;
    }
    qp_result_t res = parse_sections(&r, q, an, ns, ar);
    q->sections_ok = res != QP_FORMERR;
    if (!q->sections_ok) {
        q->tsig = false;
    }
    if (notimp) {
        if (res == QP_FORMERR) {
            q->edns = false;
            q->ecs = false;
            return QP_NOTIMP;
        }
        return res == QP_BADVERS ? QP_BADVERS : QP_NOTIMP;
    }
    if (res != QP_OK) {
        return res;
    }
    if (q->qtype == DNS_T_OPT) {
        return QP_FORMERR; /* RFC 6891 6.1.1: OPT is not a query type */
    }
    return QP_OK;
}
