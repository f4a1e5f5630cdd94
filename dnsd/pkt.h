/* SPDX-License-Identifier: MIT */
/*
 * pkt.h -- DNS wire constants and a bounds-checked packet reader whose error
 * sticks (code reads straight through and checks r.bad once). Hot: inline,
 * no allocation.
 */
#ifndef DNSD_PKT_H
#define DNSD_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/rrtype.h" /* the type numbers (DNS_T_*) and the type table */

#define DNS_HDR_LEN 12

enum { DNS_C_IN = 1, DNS_C_ANY = 255 };
enum {
    DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2, DNS_R_NXDOMAIN = 3,
    DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5, DNS_R_NOTAUTH = 9, DNS_R_BADVERS = 16,
};
enum { DNS_OP_QUERY = 0 };

/* header flag bits (second 16-bit word) */
#define DNS_F_QR 0x8000u
#define DNS_F_AA 0x0400u
#define DNS_F_TC 0x0200u
#define DNS_F_RD 0x0100u
#define DNS_F_RA 0x0080u
#define DNS_F_AD 0x0020u
#define DNS_F_CD 0x0010u

typedef struct rd {
    const uint8_t *base; /* packet start, for compression pointers */
    const uint8_t *p, *end;
    bool bad;
} rd_t;

static inline void rd_init(rd_t *r, const uint8_t *pkt, size_t len)
{
    r->base = r->p = pkt;
    r->end = pkt + len;
    r->bad = false;
}

static inline size_t rd_left(const rd_t *r)
{
    return r->bad ? 0 : (size_t)(r->end - r->p);
}

static inline uint8_t rd_u8(rd_t *r)
{
    if (r->bad || r->end - r->p < 1) {
        r->bad = true;
        return 0;
    }
    return *r->p++;
}

static inline uint16_t rd_u16(rd_t *r)
{
    if (r->bad || r->end - r->p < 2) {
        r->bad = true;
        return 0;
    }
    uint16_t v = (uint16_t)(r->p[0] << 8 | r->p[1]);
    r->p += 2;
    return v;
}

static inline uint32_t rd_u32(rd_t *r)
{
    uint32_t hi = rd_u16(r);
    return hi << 16 | rd_u16(r);
}

static inline void rd_skip(rd_t *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return;
    }
    r->p += n;
}

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
